//! One connection: its shared state, the outbound queue, and its life from open hooks to close
//! hooks (the loop that reads, dispatches and writes is in `driver`).

use std::collections::{HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use futures_util::FutureExt;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::builder::{ConnSlot, Shared};
use super::context::{Connection, ReqState, SendError, utf8};
use super::dispatch;
use super::driver;
use super::hooks::{CloseReason, ErrorCause, ErrorEvent, app_close_code};
use super::limits::SlowConsumerPolicy;
use super::outbound;
use super::socket::{self, Direct};
use super::ws::WsStream;
use crate::Error;
use crate::pubsub::{ClientId, FrameSink};
use crate::wire;

/// Close code and reason for a slow consumer.
const SLOW_CONSUMER_CODE: u16 = 1008;
const SLOW_CONSUMER_REASON: &str = "slow consumer";
/// Close code and reason of a graceful shutdown.
pub(crate) const SHUTDOWN_CODE: u16 = 1001;
pub(crate) const SHUTDOWN_REASON: &str = "server shutting down";

/// The state of one connection, shared by its loop, handlers and subscriptions.
pub(crate) struct Conn<D> {
    pub id: ClientId,
    pub data: RwLock<D>,
    pub shared: Arc<Shared<D>>,
    pub(super) out: outbound::Sender<Message>,
    /// The socket, for direct writes of publications (connections of the embedded server).
    pub(super) socket: Option<Arc<socket::Shared>>,
    /// Bytes queued in `out` and not yet taken by the connection loop.
    queued_bytes: AtomicUsize,
    /// Fires when the connection starts closing; parent of every request's cancellation.
    pub closing: CancellationToken,
    /// The close frame the server sends (the first close wins).
    close_reason: Mutex<Option<CloseReason>>,
    /// Closed as a slow consumer: the frames still queued are dropped, not written.
    pub(super) slow: AtomicBool,
    pub topics: Mutex<HashSet<String>>,
    /// RPCs in flight by correlationId, for `$ws:abort` and duplicate detection. Only requests
    /// that did not finish in their first (inline) poll are here.
    pub requests: Registry,
    pub in_flight: AtomicUsize,
}

impl<D: Send + Sync + 'static> Conn<D> {
    /// Queues a frame, applying the slow-consumer policy when the queue is full.
    pub(crate) fn push(&self, frame: Utf8Bytes) -> Result<(), SendError> {
        self.push_message(Message::Text(frame))
    }

    pub(super) fn push_message(&self, msg: Message) -> Result<(), SendError> {
        if self.is_closing() {
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
    pub(super) fn close_slow(&self) {
        tracing::warn!(client_id = %self.id, "slow consumer: closing");
        self.slow.store(true, Ordering::Release);
        self.close(SLOW_CONSUMER_CODE, SLOW_CONSUMER_REASON.into());
    }

    /// The connection loop took this frame off the queue.
    pub(super) fn dequeued(&self, msg: &Message) {
        self.queued_bytes.fetch_sub(msg.len(), Ordering::AcqRel);
    }

    /// Whether the outbound queue has room for the answers of another inbound frame (more than
    /// half of both its frame and its byte budget free).
    pub(super) fn has_room(&self) -> bool {
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
        self.shut();
    }

    /// Marks the connection closing (its queue closes: nothing more is queued or written
    /// directly), cancels its handlers and wakes its loop, which then finds the queue closed.
    pub(super) fn shut(&self) {
        self.out.close();
        self.closing.cancel();
        self.out.wake();
    }

    /// Whether the connection is closing or closed (its outbound queue is closed).
    pub(crate) fn is_closing(&self) -> bool {
        self.out.is_closed()
    }

    pub(super) fn close_reason(&self) -> Option<CloseReason> {
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
        let error = match (wire_type, correlation_id) {
            (Some(ty), None) => error.answering(ty),
            _ => error,
        };
        let answered = send
            && self
                .push(utf8(wire::encode_error(correlation_id, &error)))
                .is_ok();
        self.report_request(wire_type, correlation_id, error, cause, answered);
    }

    /// `$ws:abort`: cancels the RPC with this correlationId; no terminal frame is owed.
    pub(crate) fn abort(&self, correlation_id: &str) {
        if let Some(req) = self.requests.get(correlation_id) {
            req.mark_terminal();
            req.cancel(&self.closing);
        }
    }
}

/// The RPCs of one connection still running after their first poll, by correlationId.
#[derive(Default)]
pub(crate) struct Registry {
    map: Mutex<HashMap<Arc<str>, Arc<ReqState>>>,
    /// `map.len()`, kept beside it so that the common case (nothing registered: every RPC so far
    /// finished in its first poll) is seen without taking the lock.
    len: AtomicUsize,
}

impl Registry {
    fn map(&self) -> MutexGuard<'_, HashMap<Arc<str>, Arc<ReqState>>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The request registered under this correlationId.
    pub(crate) fn get(&self, correlation_id: &str) -> Option<Arc<ReqState>> {
        if self.len.load(Ordering::Acquire) == 0 {
            return None;
        }
        self.map().get(correlation_id).cloned()
    }

    /// Whether a request is registered under this correlationId.
    pub(crate) fn contains(&self, correlation_id: &str) -> bool {
        self.len.load(Ordering::Acquire) != 0 && self.map().contains_key(correlation_id)
    }

    pub(crate) fn insert(&self, correlation_id: Arc<str>, req: Arc<ReqState>) {
        let mut map = self.map();
        map.insert(correlation_id, req);
        self.len.store(map.len(), Ordering::Release);
    }

    /// Removes the entry of this correlationId if it is still `req`'s.
    pub(crate) fn remove(&self, correlation_id: &str, req: &Arc<ReqState>) {
        let mut map = self.map();
        if map.get(correlation_id).is_some_and(|r| Arc::ptr_eq(r, req)) {
            map.remove(correlation_id);
            self.len.store(map.len(), Ordering::Release);
        }
    }
}

impl<D: Send + Sync + 'static> FrameSink for Conn<D> {
    /// A publication: written straight to the socket when the connection is idle (nothing
    /// queued or unwritten), which spares a fan-out a wake-up of every subscriber's task; queued
    /// otherwise.
    fn deliver(&self, frame: Utf8Bytes) {
        if let Some(socket) = &self.socket
            && !self.is_closing()
        {
            let direct = self
                .out
                .try_direct(|| socket.write_text_frame(frame.as_bytes()));
            if direct != Direct::Refused {
                return;
            }
        }
        let _ = self.push(frame);
    }

    /// Loads what `deliver` reads first, from each of the objects it touches: the connection,
    /// its outbound queue and its socket.
    fn warm(&self) {
        if let Some(socket) = &self.socket {
            socket.warm();
        }
        self.out.warm();
    }
}

/// Releases the socket's write half when dropped.
struct ReleaseOnDrop(Arc<socket::Shared>);

impl Drop for ReleaseOnDrop {
    fn drop(&mut self) {
        self.0.release();
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

/// Runs one upgraded connection to its end: open hooks, the connection loop, cleanup, close
/// hooks. Not an `async fn`: the returned future, which lives as long as the connection, holds
/// `run_inner`'s state alone, without a copy of the arguments.
pub(crate) fn run<D, S>(
    shared: Arc<Shared<D>>,
    ws: WsStream<S>,
    socket: Option<Arc<socket::Shared>>,
    id: ClientId,
    data: D,
    slot: ConnSlot,
) -> impl Future<Output = ()> + Send
where
    D: Send + Sync + 'static,
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let span = tracing::info_span!("ws.connection", client_id = %id);
    run_inner(shared, ws, socket, id, data, slot).instrument(span)
}

async fn run_inner<D, S>(
    shared: Arc<Shared<D>>,
    mut ws: WsStream<S>,
    socket: Option<Arc<socket::Shared>>,
    id: ClientId,
    data: D,
    slot: ConnSlot,
) where
    D: Send + Sync + 'static,
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (tx, mut rx) = outbound::channel(shared.rt.limits.outbound_queue);
    // However this future ends (even dropped mid-way), the socket closes with it, not with the
    // last handle to the connection.
    let release = socket.clone().map(ReleaseOnDrop);
    let conn = Arc::new(Conn {
        id,
        data: RwLock::new(data),
        shared: shared.clone(),
        out: tx,
        socket,
        queued_bytes: AtomicUsize::new(0),
        closing: shared.rt.shutdown_now.child_token(),
        close_reason: Mutex::new(None),
        slow: AtomicBool::new(false),
        topics: Mutex::new(HashSet::new()),
        requests: Registry::default(),
        in_flight: AtomicUsize::new(0),
    });
    shared.rt.register(id, conn.clone());
    if shared.rt.shutdown.is_cancelled() {
        // Registered after shutdown took its snapshot of the connections to close.
        conn.close(SHUTDOWN_CODE, SHUTDOWN_REASON.into());
    }
    tracing::debug!("connection open");

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

    let end = driver::run_loop(&conn, &mut ws, &mut rx).await;

    // The end: cancel handlers, drop subscriptions, write what is left and the close frame.
    conn.shut();
    {
        let mut topics = conn.topics.lock().unwrap_or_else(|e| e.into_inner());
        for topic in topics.drain() {
            shared.rt.pubsub.unsubscribe(&topic, id);
        }
    }
    shared.rt.unregister(id);
    let writable = driver::finish(&conn, &mut ws, &mut rx, &end).await;
    if end.broken && writable {
        // The peer may still be sending (a frame over the limit): let it see our close frame
        // before the socket goes, instead of a reset.
        let close_timeout = shared.rt.limits.close_timeout;
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

    let reason = conn
        .close_reason()
        .or(end.peer_close)
        .unwrap_or_else(|| CloseReason::new(1006, ""));
    tracing::debug!(code = reason.code, reason = %reason.reason, "connection closed");
    // The slot is free once the socket is gone, before the close hooks run.
    drop(release);
    drop(ws);
    drop(slot);
    for hook in &shared.hooks.close {
        let _ = AssertUnwindSafe(hook(connection.clone(), reason.clone()))
            .catch_unwind()
            .await;
    }
}
