//! One connection: its shared state, the outbound queue, and the socket loop (a reader that
//! dispatches frames and a writer that batches the outbound queue).

use std::collections::{HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{Notify, mpsc};
use tokio::time::{Instant, sleep_until, timeout};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::error::{CapacityError, ProtocolError};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message, Utf8Bytes};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::builder::{ConnSlot, Shared};
use super::context::{Connection, ReqState, SendError, utf8};
use super::dispatch;
use super::heartbeat::{PING_TIMEOUT_CODE, PING_TIMEOUT_REASON};
use super::hooks::{CloseReason, ErrorCause, ErrorEvent, app_close_code};
use super::limits::SlowConsumerPolicy;
use super::outbound;
use crate::Error;
use crate::pubsub::{ClientId, FrameSink};
use crate::wire;

/// Close code and reason for a slow consumer.
const SLOW_CONSUMER_CODE: u16 = 1008;
const SLOW_CONSUMER_REASON: &str = "slow consumer";
/// Close code and reason of a graceful shutdown.
pub(crate) const SHUTDOWN_CODE: u16 = 1001;
pub(crate) const SHUTDOWN_REASON: &str = "server shutting down";

/// The state of one connection, shared by its reader, writer, handlers and subscriptions.
pub(crate) struct Conn<D> {
    pub id: ClientId,
    pub data: RwLock<D>,
    pub shared: Arc<Shared<D>>,
    out: outbound::Sender<Message>,
    /// Bytes queued in `out` and not yet taken by the writer.
    queued_bytes: AtomicUsize,
    /// Fires when the connection starts closing; parent of every request's cancellation.
    pub closing: CancellationToken,
    /// The close frame the server sends (the first close wins).
    close_reason: Mutex<Option<CloseReason>>,
    /// Closed as a slow consumer: the frames still queued are dropped, not written.
    slow: AtomicBool,
    pub topics: Mutex<HashSet<String>>,
    /// RPCs in flight by correlationId, for `$ws:abort` and duplicate detection. Only requests
    /// that did not finish in their first (inline) poll are here.
    pub requests: Mutex<HashMap<Arc<str>, Arc<ReqState>>>,
    pub in_flight: AtomicUsize,
    /// Signalled by the writer after each batch: the reader waits on it while the queue is
    /// too full to take the answers of another frame.
    drained: Notify,
}

impl<D: Send + Sync + 'static> Conn<D> {
    /// Queues a frame, applying the slow-consumer policy when the queue is full.
    pub(crate) fn push(&self, frame: Utf8Bytes) -> Result<(), SendError> {
        self.push_message(Message::Text(frame))
    }

    fn push_message(&self, msg: Message) -> Result<(), SendError> {
        if self.closing.is_cancelled() {
            return Err(SendError::Closed);
        }
        let len = msg.len();
        let budget = self.shared.rt.limits.outbound_queue_bytes;
        let before = self.queued_bytes.fetch_add(len, Ordering::AcqRel);
        // A frame bigger than the whole budget still goes out alone.
        if before > 0 && before + len > budget {
            self.queued_bytes.fetch_sub(len, Ordering::AcqRel);
            return Err(self.queue_full());
        }
        match self.out.try_send(msg) {
            Ok(()) => Ok(()),
            Err(e) => {
                self.queued_bytes.fetch_sub(len, Ordering::AcqRel);
                match e {
                    mpsc::error::TrySendError::Closed(_) => Err(SendError::Closed),
                    mpsc::error::TrySendError::Full(_) => Err(self.queue_full()),
                }
            }
        }
    }

    /// Applies the slow-consumer policy to a frame that did not fit.
    fn queue_full(&self) -> SendError {
        self.report(
            Error::resource_exhausted("outbound queue full"),
            ErrorCause::SlowConsumer,
        );
        if self.shared.rt.limits.slow_consumer == SlowConsumerPolicy::Close {
            self.close_slow();
        }
        SendError::QueueFull
    }

    /// Closes as a slow consumer: 1008, and the frames still queued are dropped.
    fn close_slow(&self) {
        tracing::warn!(client_id = %self.id, "slow consumer: closing");
        self.slow.store(true, Ordering::Release);
        self.close(SLOW_CONSUMER_CODE, SLOW_CONSUMER_REASON.into());
    }

    /// The writer took this frame off the queue.
    fn dequeued(&self, msg: &Message) {
        self.queued_bytes.fetch_sub(msg.len(), Ordering::AcqRel);
    }

    /// Whether the outbound queue has room for the answers of another inbound frame (more than
    /// half of both its frame and its byte budget free).
    fn has_room(&self) -> bool {
        let limits = &self.shared.rt.limits;
        self.out.capacity() >= (limits.outbound_queue / 2).max(1)
            && self.queued_bytes.load(Ordering::Acquire) <= limits.outbound_queue_bytes / 2
    }

    /// Starts closing with this code and reason (the first close wins).
    pub(crate) fn close(&self, code: u16, reason: String) {
        {
            let mut slot = self.close_reason.lock().unwrap_or_else(|e| e.into_inner());
            if slot.is_none() {
                *slot = Some(CloseReason { code, reason });
            }
        }
        self.closing.cancel();
    }

    fn close_reason(&self) -> Option<CloseReason> {
        self.close_reason
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Reports an error of the connection (no request, nothing sent) to the error hook.
    pub(crate) fn report(&self, error: Error, cause: ErrorCause) {
        self.report_request(None, None, error, cause, false);
    }

    /// Reports an error, of a request when `wire_type` is given, to the error hook.
    fn report_request(
        &self,
        wire_type: Option<&str>,
        correlation_id: Option<&str>,
        error: Error,
        cause: ErrorCause,
        answered: bool,
    ) {
        self.shared.hooks.report(ErrorEvent {
            client_id: Some(self.id),
            wire_type: wire_type.map(str::to_owned),
            correlation_id: correlation_id.map(str::to_owned),
            error,
            cause,
            answered,
        });
    }

    /// Answers an error (`RPC_ERROR` with a correlationId, else `ERROR`) when `send`, and
    /// reports it: the one place an error answer is encoded, queued and reported.
    pub(crate) fn send_error(
        &self,
        wire_type: Option<&str>,
        correlation_id: Option<&str>,
        error: Error,
        cause: ErrorCause,
        send: bool,
    ) {
        let answered = send
            && self
                .push(utf8(wire::encode_error(correlation_id, &error)))
                .is_ok();
        self.report_request(wire_type, correlation_id, error, cause, answered);
    }

    /// `$ws:abort`: cancels the RPC with this correlationId; no terminal frame is owed.
    pub(crate) fn abort(&self, correlation_id: &str) {
        let req = self
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(correlation_id)
            .cloned();
        if let Some(req) = req {
            req.mark_terminal();
            req.cancel(&self.closing);
        }
    }
}

impl<D: Send + Sync + 'static> FrameSink for Conn<D> {
    fn deliver(&self, frame: Utf8Bytes) {
        let _ = self.push(frame);
    }
}

/// What the server registry needs to close a connection on shutdown.
pub(crate) trait Closer: Send + Sync {
    fn close_with(&self, code: u16, reason: &str);
}

impl<D: Send + Sync + 'static> Closer for Conn<D> {
    fn close_with(&self, code: u16, reason: &str) {
        self.close(code, reason.to_owned());
    }
}

/// Runs one upgraded connection to its end: open hooks, the read loop, cleanup, close hooks.
/// Not an `async fn`, and the socket is split here: the returned future, which lives as long as
/// the connection, holds `run_inner`'s state alone, without a copy of the arguments or the
/// (unsplit) socket.
pub(crate) fn run<D, S>(
    shared: Arc<Shared<D>>,
    ws: WebSocketStream<S>,
    id: ClientId,
    data: D,
    slot: ConnSlot,
) -> impl Future<Output = ()> + Send
where
    D: Send + Sync + 'static,
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let span = tracing::info_span!("ws.connection", client_id = %id);
    let (sink, stream) = ws.split();
    run_inner(shared, sink, stream, id, data, slot).instrument(span)
}

async fn run_inner<D, S>(
    shared: Arc<Shared<D>>,
    sink: Sink<S>,
    mut stream: SplitStream<WebSocketStream<S>>,
    id: ClientId,
    data: D,
    slot: ConnSlot,
) where
    D: Send + Sync + 'static,
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (tx, rx) = outbound::channel(shared.rt.limits.outbound_queue);
    let conn = Arc::new(Conn {
        id,
        data: RwLock::new(data),
        shared: shared.clone(),
        out: tx,
        queued_bytes: AtomicUsize::new(0),
        closing: shared.rt.shutdown_now.child_token(),
        close_reason: Mutex::new(None),
        slow: AtomicBool::new(false),
        topics: Mutex::new(HashSet::new()),
        requests: Mutex::new(HashMap::new()),
        in_flight: AtomicUsize::new(0),
        drained: Notify::new(),
    });
    shared.rt.register(id, conn.clone());
    if shared.rt.shutdown.is_cancelled() {
        // Registered after shutdown took its snapshot of the connections to close.
        conn.close(SHUTDOWN_CODE, SHUTDOWN_REASON.into());
    }
    tracing::debug!("connection open");
    let writer = tokio::spawn(write_loop(sink, rx, conn.clone()).in_current_span());

    let connection = Connection { conn: conn.clone() };
    for hook in &shared.hooks.open {
        match AssertUnwindSafe(hook(connection.clone()))
            .catch_unwind()
            .await
        {
            Ok(Ok(())) => {}
            Ok(Err(reason)) => {
                conn.close(app_close_code(reason.code), reason.reason);
                break;
            }
            Err(panic) => {
                let message = dispatch::panic_message(&panic);
                conn.report(
                    Error::from_code(crate::ErrorCode::Internal),
                    ErrorCause::OpenHookPanic(message),
                );
                conn.close(1011, "internal error".into());
                break;
            }
        }
    }

    let (peer_close, broken) = read_loop(&conn, &mut stream).await;

    // The end: cancel handlers, drop subscriptions, stop the writer.
    conn.closing.cancel();
    {
        let mut topics = conn.topics.lock().unwrap_or_else(|e| e.into_inner());
        for topic in topics.drain() {
            shared.rt.pubsub.unsubscribe(&topic, id);
        }
    }
    shared.rt.unregister(id);
    let close_timeout = shared.rt.limits.close_timeout;
    let sink = match timeout(close_timeout, writer).await {
        Ok(Ok(sink)) => sink,
        _ => None,
    };
    if broken && let Some(sink) = sink {
        // The peer may still be sending (a frame over the limit): let it see our close frame
        // before the socket goes, instead of a reset.
        if let Ok(mut ws) = stream.reunite(sink) {
            let io = ws.get_mut();
            let _ = timeout(close_timeout, async {
                let _ = io.shutdown().await;
                let mut buf = vec![0u8; 4096];
                while let Ok(n) = io.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                }
            })
            .await;
        }
    }

    let reason = conn
        .close_reason()
        .or(peer_close)
        .unwrap_or_else(|| CloseReason::new(1006, ""));
    tracing::debug!(code = reason.code, reason = %reason.reason, "connection closed");
    // The slot is free once the socket is gone, before the close hooks run.
    drop(slot);
    for hook in &shared.hooks.close {
        let _ = AssertUnwindSafe(hook(connection.clone(), reason.clone()))
            .catch_unwind()
            .await;
    }
}

/// What the single timer of the read loop waits for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Timer {
    Off,
    Ping(Instant),
    Pong(Instant),
    CloseGrace(Instant),
}

/// Reads and dispatches frames until the peer closes or the close grace passes. Returns the
/// peer's close frame, and whether the stream broke (an error) rather than ended.
async fn read_loop<D, S>(
    conn: &Arc<Conn<D>>,
    stream: &mut SplitStream<WebSocketStream<S>>,
) -> (Option<CloseReason>, bool)
where
    D: Send + Sync + 'static,
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let rt = &conn.shared.rt;
    let heartbeat = conn.shared.heartbeat;
    let mut state = match heartbeat {
        Some(hb) => Timer::Ping(Instant::now() + hb.interval),
        None => Timer::Off,
    };
    let far = Instant::now() + std::time::Duration::from_secs(86400 * 365);
    let timer = sleep_until(far);
    tokio::pin!(timer);
    let mut armed = state;
    let arm = |timer: std::pin::Pin<&mut tokio::time::Sleep>, state: Timer| match state {
        Timer::Off => timer.reset(far),
        Timer::Ping(at) | Timer::Pong(at) | Timer::CloseGrace(at) => timer.reset(at),
    };
    arm(timer.as_mut(), state);
    let mut closing = false;
    let closed = conn.closing.cancelled();
    tokio::pin!(closed);
    // Backpressure: a client that sends faster than it reads is not a slow consumer to close;
    // the reader stops reading while the outbound queue lacks room for another frame's answers,
    // and the slow-consumer policy applies only to frames pushed from elsewhere (pub/sub, other
    // connections' handlers, spawned tasks).
    loop {
        if state != armed {
            arm(timer.as_mut(), state);
            armed = state;
        }
        let room = conn.has_room();
        tokio::select! {
            biased;
            _ = &mut closed, if !closing => {
                closing = true;
                state = Timer::CloseGrace(Instant::now() + rt.limits.close_timeout);
            }
            _ = conn.drained.notified(), if !room => {}
            msg = stream.next(), if room || closing => {
                let msg = match msg {
                    None => return (None, false),
                    Some(Ok(msg)) => msg,
                    Some(Err(e)) => return (None, read_error(conn, e)),
                };
                if let (Some(hb), Timer::Pong(_)) = (heartbeat, state) {
                    state = Timer::Ping(Instant::now() + hb.interval);
                }
                match msg {
                    Message::Text(text) if !closing => dispatch::frame(conn, text, received()),
                    Message::Binary(bytes) if !closing => match Utf8Bytes::try_from(bytes) {
                        Ok(text) => dispatch::frame(conn, text, received()),
                        Err(_) => dispatch::answer_bad_frame(
                            conn,
                            Error::invalid_argument("binary frame is not valid UTF-8"),
                            ErrorCause::NotUtf8,
                        ),
                    },
                    Message::Close(frame) => {
                        let reason = frame.map(|f| CloseReason::new(f.code.into(), f.reason.as_str()));
                        return (Some(reason.unwrap_or_else(|| CloseReason::new(1005, ""))), false);
                    }
                    _ => {}
                }
            }
            _ = &mut timer => match state {
                Timer::Ping(_) => {
                    let hb = heartbeat.unwrap_or_default();
                    let _ = conn.push_message(Message::Ping(Default::default()));
                    state = Timer::Pong(Instant::now() + hb.timeout);
                }
                Timer::Pong(_) => {
                    tracing::debug!("ping timeout");
                    conn.report(Error::deadline_exceeded(PING_TIMEOUT_REASON), ErrorCause::PingTimeout);
                    conn.close(PING_TIMEOUT_CODE, PING_TIMEOUT_REASON.into());
                }
                Timer::CloseGrace(_) => return (None, false),
                Timer::Off => {}
            }
        }
    }
}

/// When a frame was received: the wall clock (for `receivedAt`) and the monotonic clock (the
/// origin of its deadline).
fn received() -> dispatch::Received {
    dispatch::Received {
        at: SystemTime::now(),
        instant: Instant::now(),
    }
}

/// Handles a read error; whether the stream is broken (the peer may still be sending).
fn read_error<D: Send + Sync + 'static>(conn: &Arc<Conn<D>>, e: tungstenite::Error) -> bool {
    match e {
        tungstenite::Error::Capacity(CapacityError::MessageTooLong { .. }) => {
            let limit = conn.shared.rt.limits.max_frame_bytes;
            conn.report(
                Error::resource_exhausted(format!("frame larger than {limit} bytes")),
                ErrorCause::FrameTooBig,
            );
            conn.close(1009, "frame too big".into());
            true
        }
        tungstenite::Error::ConnectionClosed
        | tungstenite::Error::AlreadyClosed
        | tungstenite::Error::Protocol(ProtocolError::ResetWithoutClosingHandshake) => false,
        other => {
            tracing::debug!(error = %other, "read failed");
            conn.report(
                Error::unavailable(other.to_string()),
                ErrorCause::Transport(other.to_string()),
            );
            if let tungstenite::Error::Protocol(_) = other {
                conn.close(1002, "protocol error".into());
                return true;
            }
            false
        }
    }
}

type Sink<S> = SplitSink<WebSocketStream<S>, Message>;

/// How the writer's loop ended.
enum WriterEnd {
    /// The connection is closing (or the queue is gone): send the close frame.
    Closing,
    /// A batch did not go out within the write timeout: a slow consumer.
    TimedOut,
    /// The socket failed.
    Failed(tungstenite::Error),
}

/// Drains the outbound queue: feeds every ready frame, flushes once, each batch within the write
/// timeout. On close, sends the close frame (or the reply to the peer's). Returns the sink unless
/// it failed. A failure or timeout closes the connection.
async fn write_loop<D, S>(
    mut sink: Sink<S>,
    mut rx: outbound::Receiver<Message>,
    conn: Arc<Conn<D>>,
) -> Option<Sink<S>>
where
    D: Send + Sync + 'static,
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let closed = conn.closing.cancelled();
    tokio::pin!(closed);
    let write_timeout = conn.shared.rt.limits.write_timeout;
    let end = async {
        loop {
            let first = tokio::select! {
                biased;
                _ = &mut closed => return WriterEnd::Closing,
                m = rx.recv() => match m {
                    Some(m) => m,
                    None => return WriterEnd::Closing,
                },
            };
            let batch = async {
                conn.dequeued(&first);
                sink.feed(first).await?;
                while let Ok(m) = rx.try_recv() {
                    conn.dequeued(&m);
                    sink.feed(m).await?;
                }
                sink.flush().await
            };
            tokio::select! {
                biased;
                r = timeout(write_timeout, batch) => match r {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => return WriterEnd::Failed(e),
                    Err(_) => return WriterEnd::TimedOut,
                },
                _ = &mut closed => return WriterEnd::Closing,
            }
            conn.drained.notify_one();
        }
    }
    .await;
    match end {
        WriterEnd::Closing => {}
        WriterEnd::TimedOut => {
            conn.report(
                Error::resource_exhausted(format!(
                    "outbound frames not written within {write_timeout:?}"
                )),
                ErrorCause::SlowConsumer,
            );
            conn.close_slow();
        }
        WriterEnd::Failed(e) => {
            tracing::debug!(error = %e, "write failed");
            conn.report(
                Error::unavailable(e.to_string()),
                ErrorCause::Transport(e.to_string()),
            );
            // The socket is gone: no close frame can follow; the reader and handlers stop.
            conn.closing.cancel();
            return None;
        }
    }
    let slow = conn.slow.load(Ordering::Acquire);
    let close_timeout = conn.shared.rt.limits.close_timeout;
    let reason = conn.close_reason();
    let finished = timeout(close_timeout, async {
        if !slow {
            // Frames queued before the close still go out (replies of finished handlers).
            while let Ok(m) = rx.try_recv() {
                sink.feed(m).await?;
            }
        }
        match reason {
            Some(r) => {
                let frame = CloseFrame {
                    code: r.code.into(),
                    reason: r.reason.into(),
                };
                sink.send(Message::Close(Some(frame))).await
            }
            None => sink.close().await,
        }
    })
    .await;
    match finished {
        Ok(Ok(())) => Some(sink),
        _ => None,
    }
}
