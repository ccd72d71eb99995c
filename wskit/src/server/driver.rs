//! The connection task: one task per connection reads frames, dispatches them, and writes the
//! outbound queue, so that the answers of the frames read in one go leave in one write.
//!
//! Each wake-up of the task ([`Driver::poll_event`]) reads first, while frames are there (up to
//! [`READ_STREAK`] of them), then feeds every queued frame to the socket and flushes once, then
//! checks the timer. Reading pauses while the outbound queue lacks room for another frame's
//! answers (backpressure on a client that sends faster than it reads); the slow-consumer policy
//! applies to frames pushed from elsewhere (pub/sub, other connections' handlers) and to a batch
//! that is not written within the write timeout. The bytes the socket has not taken count with
//! the queue: automatic pongs to a client that sends pings and never reads pause reading too.
//!
//! Reading also pauses while the connection is over its inbound budget (if the server has one),
//! and the bytes of an incomplete inbound message count against the server-wide budget for them
//! and time out (`Limits::message_timeout`); one that holds more than
//! `Limits::max_stalled_message_bytes` must keep receiving bytes (`Limits::message_stall_timeout`).

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::{Instant, Sleep, sleep_until};
use tokio_tungstenite::tungstenite::error::{CapacityError, ProtocolError};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message, Utf8Bytes};

use super::budget::Bucket;
use super::close::CloseReason;
use super::connection::Conn;
use super::dispatch;
use super::io::outbound::{self, Taken};
use super::io::ws::WsStream;
use super::limits::READ_BUFFER_BYTES;
use super::report::ErrorCause;
use super::request::Received;
use super::runtime::Runtime;
use super::state::ServerState;
use wskit_core::Error;
use wskit_core::wire::close;

/// Frames read in a row before the answers queued so far are written.
const READ_STREAK: u32 = 32;

/// How the connection's loop ended.
pub(crate) struct LoopEnd {
    /// The peer's close frame, if it sent one.
    pub peer_close: Option<CloseReason>,
    /// The stream broke (a frame over the limit, a protocol error): the peer may still be
    /// sending, so it should see our close frame before the socket goes.
    pub broken: bool,
    /// Writing failed: the socket is gone, nothing more can be written.
    pub write_failed: bool,
    /// Our close frame was fed to the socket.
    pub close_sent: bool,
}

/// What the heartbeat and close timer waits for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Timer {
    Off,
    Ping(Instant),
    Pong(Instant),
    CloseGrace(Instant),
}

impl Timer {
    fn at(self) -> Option<Instant> {
        match self {
            Timer::Off => None,
            Timer::Ping(at) | Timer::Pong(at) | Timer::CloseGrace(at) => Some(at),
        }
    }
}

/// What woke the connection task.
enum Event {
    /// A frame, the end of the stream, or a read error.
    Inbound(Option<Result<Message, tungstenite::Error>>),
    /// [`Conn::close`] was called: stop dispatching, send the close frame, wait for the peer's.
    Closing,
    /// The heartbeat or close-grace timer is due.
    Timer,
    /// A batch was not written within the write timeout.
    WriteTimedOut,
    /// An inbound message stayed incomplete past the message timeout.
    MessageTimedOut,
    /// An incomplete inbound message holding many bytes received none for the stall timeout.
    MessageStalled,
    /// The inbound budget lets another frame be read.
    Resume,
    /// Writing failed.
    WriteFailed(tungstenite::Error),
}

/// The state of one connection's loop.
struct Driver<'a, D, S> {
    conn: &'a Arc<Conn<D>>,
    ws: &'a mut WsStream<S>,
    rx: &'a mut outbound::Receiver<Message>,
    /// `Conn::close` was seen.
    closing: bool,
    /// Our close frame was fed to the socket.
    close_sent: bool,
    /// Frames read since the last write pass.
    streak: u32,
    /// When the frames of the current streak were read: one clock reading for them all.
    stamp: Option<Received>,
    /// The task's waker is registered with the outbound queue (it waits for frames to write).
    rx_registered: bool,
    /// Frames fed to the socket and not yet flushed.
    unflushed: bool,
    /// The heartbeat or close-grace state.
    timer: Timer,
    /// When the batch being written times out; set while a write waits for the socket.
    write_deadline: Option<Instant>,
    /// The one timer of the connection, armed for the earliest of `timer` and
    /// `write_deadline` (or later: it is re-armed when it fires early).
    sleep: Pin<&'a mut Sleep>,
    /// The waker `sleep` was polled with (pending, not for want of budget) since it was last
    /// armed: it wakes that task when it fires, so until it has (`is_elapsed`) there is no need
    /// to poll it again.
    sleep_waker: Option<Waker>,
    /// The incomplete inbound message: its bytes charged to the server, its deadline.
    partial: Partial<'a>,
    /// The inbound budget, if the server has one (boxed: most servers have none, and this
    /// state lives as long as the connection).
    throttle: Option<Box<Throttle>>,
    /// `ws.owed()` as last stored in `conn.unwritten`.
    unwritten: usize,
}

/// One connection's inbound budget: its buckets and, while it holds reading back, when it lets
/// the next frame be read.
struct Throttle {
    bucket: Bucket,
    until: Option<Instant>,
}

/// One connection's incomplete inbound message: its bytes, charged to the server-wide count
/// (given back when the message completes or the connection ends), and its deadline.
struct Partial<'a> {
    rt: &'a Runtime,
    /// Bytes counted in `rt.partial_bytes`.
    charged: usize,
    /// The tally's number of the incomplete message, if there is one.
    message: Option<u64>,
    /// When `message` times out; set when the connection first waits with it incomplete.
    deadline: Option<Instant>,
    /// The bytes of `message` read so far (the tally's `held`, charged or not).
    held: usize,
    /// When `message` counts as stalled: set when the connection waits with it holding more
    /// than `max_stalled_message_bytes`, cleared by every byte of it read.
    stall: Option<Instant>,
}

impl Partial<'_> {
    /// Charges `held` bytes in place of those charged; whether the server-wide count is over
    /// its budget.
    fn charge(&mut self, held: usize) -> bool {
        let before = std::mem::replace(&mut self.charged, held);
        // Unchanged (nearly every frame: nothing held before or after) touches no shared
        // counter: the server-wide atomic is written only when this connection's share moves.
        match held.cmp(&before) {
            std::cmp::Ordering::Greater => {
                let add = held - before;
                let total = self.rt.partial_bytes.fetch_add(add, Ordering::AcqRel) + add;
                total > self.rt.limits.max_partial_message_bytes
            }
            std::cmp::Ordering::Less => {
                self.rt
                    .partial_bytes
                    .fetch_sub(before - held, Ordering::AcqRel);
                false
            }
            std::cmp::Ordering::Equal => false,
        }
    }
}

impl Drop for Partial<'_> {
    fn drop(&mut self) {
        self.charge(0);
    }
}

/// A deadline that never comes (a year away).
fn far() -> Instant {
    Instant::now() + Duration::from_secs(86400 * 365)
}

/// Runs the connection until the peer closes, the stream ends or breaks, the close grace passes,
/// or writing fails.
#[expect(
    clippy::manual_async_fn,
    reason = "an async fn keeps copies of its arguments in its future"
)]
pub(crate) fn run_loop<D, S>(
    shared: &ServerState<D>,
    conn: &Arc<Conn<D>>,
    ws: &mut WsStream<S>,
    rx: &mut outbound::Receiver<Message>,
) -> impl Future<Output = LoopEnd>
where
    D: Send + Sync + 'static,
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // An `async` block: an `async fn` would keep copies of its arguments beside them.
    async move {
        let timer = match shared.heartbeat {
            Some(hb) => Timer::Ping(Instant::now() + hb.interval),
            None => Timer::Off,
        };
        let sleep = sleep_until(timer.at().unwrap_or_else(far));
        tokio::pin!(sleep);
        let mut driver = Driver {
            conn,
            ws,
            rx,
            closing: false,
            close_sent: false,
            streak: 0,
            stamp: None,
            rx_registered: false,
            unflushed: false,
            timer,
            write_deadline: None,
            sleep,
            sleep_waker: None,
            partial: Partial {
                rt: &conn.rt,
                charged: 0,
                message: None,
                deadline: None,
                held: 0,
                stall: None,
            },
            throttle: (conn.rt.limits.inbound_budget).map(|b| {
                Box::new(Throttle {
                    bucket: Bucket::new(b, Instant::now()),
                    until: None,
                })
            }),
            unwritten: 0,
        };
        let end = |driver: &Driver<'_, D, S>, peer_close, broken| LoopEnd {
            peer_close,
            broken,
            write_failed: false,
            close_sent: driver.close_sent,
        };
        loop {
            let event = std::future::poll_fn(|cx| driver.poll_event(cx)).await;
            if driver.rx_registered {
                // The task runs now: answers queued while handling the event must not wake it.
                driver.rx.unregister();
                driver.rx_registered = false;
            }
            match event {
                Event::Inbound(msg) => {
                    let msg = match msg {
                        None => return end(&driver, None, false),
                        Some(Ok(msg)) => msg,
                        Some(Err(e)) => return end(&driver, None, read_error(conn, e)),
                    };
                    if let (Some(hb), Timer::Pong(_)) = (shared.heartbeat, driver.timer) {
                        driver.timer = Timer::Ping(Instant::now() + hb.interval);
                    }
                    let closing = driver.closing;
                    let at = *driver.stamp.get_or_insert_with(Received::now);
                    if let Some(throttle) = &mut driver.throttle {
                        throttle.bucket.take(msg.len(), at.instant);
                    }
                    match msg {
                        Message::Text(text) if !closing => dispatch::frame(shared, conn, text, at),
                        Message::Binary(bytes) if !closing => match Utf8Bytes::try_from(bytes) {
                            Ok(text) => dispatch::frame(shared, conn, text, at),
                            Err(_) => dispatch::answer_bad_frame(
                                conn,
                                wskit_core::wire::inbound::binary_not_utf8(),
                                ErrorCause::NotUtf8,
                            ),
                        },
                        Message::Close(frame) => {
                            let reason = frame
                                .map(|f| CloseReason::new(f.code.into(), f.reason.as_str()))
                                .unwrap_or_else(|| CloseReason::new(close::NO_STATUS, ""));
                            return end(&driver, Some(reason), false);
                        }
                        _ => {}
                    }
                }
                Event::Closing => {
                    driver.closing = true;
                    // A closing connection's incomplete message will not be handled: its bytes
                    // (bounded by the close grace) no longer count against other connections.
                    driver.partial.charge(0);
                    driver.partial.deadline = None;
                    driver.partial.stall = None;
                    // A write stuck at close is bounded by the close grace, not the write timeout.
                    driver.write_deadline = None;
                    driver.timer = Timer::CloseGrace(Instant::now() + conn.rt.limits.close_timeout);
                }
                Event::Timer => match driver.timer {
                    Timer::Ping(_) => {
                        let hb = shared.heartbeat.unwrap_or_default();
                        let _ = conn.push_message(Message::Ping(Default::default()));
                        driver.timer = Timer::Pong(Instant::now() + hb.timeout);
                    }
                    Timer::Pong(_) => {
                        tracing::debug!("ping timeout");
                        conn.report(
                            Error::deadline_exceeded(close::PING_TIMEOUT_REASON),
                            ErrorCause::PingTimeout,
                        );
                        conn.close(close::GOING_AWAY, close::PING_TIMEOUT_REASON.into());
                        driver.timer = Timer::Off;
                    }
                    Timer::CloseGrace(_) => return end(&driver, None, false),
                    Timer::Off => {}
                },
                Event::WriteTimedOut => {
                    let write_timeout = conn.rt.limits.write_timeout;
                    conn.report(
                        Error::resource_exhausted(format!(
                            "outbound frames not written within {write_timeout:?}"
                        )),
                        ErrorCause::SlowConsumer,
                    );
                    conn.close_slow();
                }
                Event::MessageTimedOut => {
                    if !driver.closing {
                        let limit = conn.rt.limits.message_timeout;
                        conn.report(
                            Error::deadline_exceeded(format!(
                                "inbound message not completed within {limit:?}"
                            )),
                            ErrorCause::IncompleteMessage,
                        );
                        conn.close(
                            close::POLICY_VIOLATION,
                            close::MESSAGE_TIMEOUT_REASON.into(),
                        );
                    }
                }
                Event::MessageStalled => {
                    if !driver.closing {
                        let limits = &conn.rt.limits;
                        conn.report(
                            Error::deadline_exceeded(format!(
                                "inbound message holding {} bytes received none for {:?}",
                                driver.partial.held, limits.message_stall_timeout
                            )),
                            ErrorCause::IncompleteMessage,
                        );
                        conn.close(
                            close::POLICY_VIOLATION,
                            close::MESSAGE_STALLED_REASON.into(),
                        );
                    }
                }
                Event::Resume => {}
                Event::WriteFailed(e) => {
                    tracing::debug!(error = %e, "write failed");
                    conn.report(
                        Error::unavailable(e.to_string()),
                        ErrorCause::Transport(e.to_string()),
                    );
                    return LoopEnd {
                        write_failed: true,
                        ..end(&driver, None, false)
                    };
                }
            }
        }
    }
}

impl<D, S> Driver<'_, D, S>
where
    D: Send + Sync + 'static,
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    /// Whether another frame may be read now: the queue and the socket have room for its
    /// answers, and the inbound budget allows it (else its `until` says when it will).
    /// While closing, frames are read (the peer's close frame among them) whatever they cost.
    fn may_read(&mut self) -> bool {
        if self.closing {
            return true;
        }
        let owed = self.ws.owed();
        if owed != self.unwritten {
            // For frames pushed from elsewhere, which check the budget themselves.
            self.unwritten = owed;
            self.conn.unwritten.store(owed, Ordering::Relaxed);
        }
        if !self.conn.has_room(owed) {
            return false;
        }
        let Some(throttle) = &mut self.throttle else {
            return true;
        };
        throttle.until = throttle.bucket.wait();
        throttle.until.is_none()
    }

    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Event> {
        if !self.closing && self.conn.is_closing() {
            return Poll::Ready(Event::Closing);
        }
        // 1. Read while frames are there: their answers are queued, and written together below.
        let mut read_polled = false;
        if self.streak < READ_STREAK && self.may_read() {
            if let Poll::Ready(msg) = self.poll_read(cx) {
                self.streak += 1;
                return Poll::Ready(Event::Inbound(msg));
            }
            read_polled = true;
        }
        self.streak = 0;
        // The next frames are a new streak, read at a new time.
        self.stamp = None;
        // 2. Write what is queued.
        match self.poll_write(cx) {
            Poll::Ready(Ok(())) => self.write_deadline = None,
            Poll::Ready(Err(e)) => return Poll::Ready(Event::WriteFailed(e)),
            Poll::Pending => {
                // Waiting for the socket; the queue must still wake the task on a close.
                self.rx.register(cx);
                self.rx_registered = true;
                if self.write_deadline.is_none() && !self.closing {
                    let limit = self.conn.rt.limits.write_timeout;
                    self.write_deadline = Some(Instant::now() + limit);
                }
            }
        }
        // 3. Read again if the streak ended or the write pass made room.
        if !read_polled
            && self.may_read()
            && let Poll::Ready(msg) = self.poll_read(cx)
        {
            self.streak = 1;
            return Poll::Ready(Event::Inbound(msg));
        }
        // 4. A close from another thread between the check above and the queue registration
        // of the write pass found no waker to wake: look again before waiting.
        if !self.closing && self.conn.is_closing() {
            return Poll::Ready(Event::Closing);
        }
        // 5. The timers.
        self.poll_timer(cx)
    }

    /// The next frame. Each frame takes a unit of the task's cooperative budget, as a socket
    /// read does: frames already buffered would otherwise be read and dispatched without end,
    /// starving the other tasks (and the handlers a frame spawned).
    fn poll_read(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Message, tungstenite::Error>>> {
        let coop = std::task::ready!(tokio::task::coop::poll_proceed(cx));
        let msg = self.ws.poll_next_unpin(cx);
        self.follow_partial();
        let msg = std::task::ready!(msg);
        coop.made_progress();
        Poll::Ready(msg)
    }

    /// After a read: charges the bytes of the incomplete message (if any) to the server-wide
    /// count, closing the connection that takes it over its budget, and starts a new deadline
    /// for a new incomplete message. Two comparisons when nothing changed.
    #[inline]
    fn follow_partial(&mut self) {
        let tally = self.ws.tally();
        let (held, message) = match self.closing {
            false => (tally.held(), tally.in_progress()),
            true => (0, None),
        };
        // The first `READ_BUFFER_BYTES` of a message are not counted (the frames of one read
        // are held for a moment, and a small frame split across two reads costs no atomic
        // operation).
        let charged = if held > READ_BUFFER_BYTES { held } else { 0 };
        if charged != self.partial.charged
            && self.partial.charge(charged)
            && !self.conn.is_closing()
        {
            let limit = self.conn.rt.limits.max_partial_message_bytes;
            self.conn.report(
                Error::resource_exhausted(format!(
                    "incomplete inbound messages hold more than {limit} bytes across the server"
                )),
                ErrorCause::PartialMessageBudget,
            );
            self.conn
                .close(close::POLICY_VIOLATION, close::PARTIAL_BUDGET_REASON.into());
        }
        if message != self.partial.message {
            self.partial.message = message;
            self.partial.deadline = None;
            self.partial.stall = None;
        } else if held > self.partial.held {
            // The message is progressing: its stall clock starts again when it next waits.
            self.partial.stall = None;
        }
        self.partial.held = held;
    }

    /// Feeds every queued frame (then, when closing, the close frame) and flushes. `Ready(Ok)`
    /// once everything is written; `Pending` while the socket is full.
    fn poll_write(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), tungstenite::Error>> {
        let slow = self.conn.slow.load(Ordering::Acquire);
        loop {
            std::task::ready!(self.ws.poll_ready_unpin(cx))?;
            match self.rx.poll_recv(cx) {
                Poll::Ready(Some(taken)) => {
                    self.conn.dequeued(&taken);
                    // Nothing is queued after the close (the queue is closed first), and
                    // nothing may follow our close frame.
                    if !slow && !self.close_sent {
                        match taken {
                            Taken::Item(m) => self.ws.start_send_unpin(m)?,
                            Taken::Frames(frames) => self.ws.send_frames(frames.bytes)?,
                        }
                        self.unflushed = true;
                    }
                }
                Poll::Ready(None) => break,
                Poll::Pending => {
                    self.rx_registered = true;
                    break;
                }
            }
        }
        if self.closing && !self.close_sent {
            // Frames queued before the close went first; no more are queued after it.
            let frame = self.conn.close_reason().map(|r| CloseFrame {
                code: r.code.into(),
                reason: r.reason.into(),
            });
            self.ws.start_send_unpin(Message::Close(frame))?;
            self.close_sent = true;
            self.unflushed = true;
        }
        let socket = self.conn.socket.as_ref();
        // `owed`: bytes the socket refused before, automatic pongs among them.
        if self.unflushed || socket.is_some_and(|s| s.owes()) || self.ws.owed() > 0 {
            std::task::ready!(self.ws.poll_flush_unpin(cx))?;
            self.unflushed = false;
        }
        if socket.is_some() && !self.closing {
            // Nothing is unwritten: until the next frame is queued, publications may go
            // straight to the socket.
            self.rx.mark_idle();
        }
        Poll::Ready(Ok(()))
    }

    /// Polls the one timer for the earliest of the heartbeat (or close grace), the write
    /// deadline, the incomplete message's deadline and the end of a throttle.
    fn poll_timer(&mut self, cx: &mut Context<'_>) -> Poll<Event> {
        if self.partial.message.is_some() && self.partial.deadline.is_none() {
            // The connection waits with a message incomplete: its time starts now.
            self.partial.deadline = Some(Instant::now() + self.conn.rt.limits.message_timeout);
        }
        if self.partial.held > self.conn.rt.limits.max_stalled_message_bytes
            && self.partial.stall.is_none()
            && self.partial.message.is_some()
        {
            // It waits holding many bytes: they must keep coming.
            let limit = self.conn.rt.limits.message_stall_timeout;
            self.partial.stall = Some(Instant::now() + limit);
        }
        loop {
            let mut due = match (self.timer.at(), self.write_deadline) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            // Rarely set: a branch each rather than a fold over all four deadlines.
            if let Some(at) = self.partial.deadline {
                due = Some(due.map_or(at, |d| d.min(at)));
            }
            if let Some(at) = self.partial.stall {
                due = Some(due.map_or(at, |d| d.min(at)));
            }
            if let Some(at) = self.throttle.as_ref().and_then(|t| t.until) {
                due = Some(due.map_or(at, |d| d.min(at)));
            }
            match due {
                Some(at) if at < self.sleep.deadline() => self.arm(at),
                _ => {}
            }
            let registered = (self.sleep_waker.as_ref()).is_some_and(|w| w.will_wake(cx.waker()));
            if registered && !self.sleep.is_elapsed() {
                return Poll::Pending;
            }
            // A poll refused for want of the task's cooperative budget registers nothing (the
            // timer may not even exist yet): only a poll that ran counts as registered.
            let ran = tokio::task::coop::has_budget_remaining();
            if self.sleep.as_mut().poll(cx).is_pending() {
                if !registered && ran {
                    self.sleep_waker = Some(cx.waker().clone());
                }
                return Poll::Pending;
            }
            let now = Instant::now();
            if self.write_deadline.is_some_and(|at| at <= now) {
                self.write_deadline = None;
                return Poll::Ready(Event::WriteTimedOut);
            }
            if self.partial.deadline.is_some_and(|at| at <= now) {
                if self.may_read() {
                    self.partial.deadline = None;
                    return Poll::Ready(Event::MessageTimedOut);
                }
                // The server itself does not read the connection now: that time is not the
                // client's to answer for.
                self.partial.deadline = Some(now + self.conn.rt.limits.message_timeout);
            }
            if self.partial.stall.is_some_and(|at| at <= now) {
                if self.may_read() {
                    self.partial.stall = None;
                    return Poll::Ready(Event::MessageStalled);
                }
                self.partial.stall = Some(now + self.conn.rt.limits.message_stall_timeout);
            }
            if let Some(throttle) = &mut self.throttle
                && throttle.until.is_some_and(|at| at <= now)
            {
                throttle.until = None;
                return Poll::Ready(Event::Resume);
            }
            if self.timer.at().is_some_and(|at| at <= now) {
                self.arm(far());
                return Poll::Ready(Event::Timer);
            }
            // Fired for a deadline that was pushed back: wait for the next one.
            self.arm(due.unwrap_or_else(far));
        }
    }

    /// Arms the timer for `at` (it must be polled again to wake the task).
    fn arm(&mut self, at: Instant) {
        self.sleep.as_mut().reset(at);
        self.sleep_waker = None;
    }
}

/// Handles a read error; whether the stream is broken (the peer may still be sending).
fn read_error<D: Send + Sync + 'static>(conn: &Arc<Conn<D>>, e: tungstenite::Error) -> bool {
    match e {
        tungstenite::Error::Capacity(CapacityError::MessageTooLong { .. }) => {
            let limit = conn.rt.limits.max_frame_bytes;
            conn.report(
                Error::resource_exhausted(format!("frame larger than {limit} bytes")),
                ErrorCause::FrameTooBig,
            );
            conn.close(close::MESSAGE_TOO_BIG, close::MESSAGE_TOO_BIG_REASON.into());
            true
        }
        // A text frame (or a close reason) that is not UTF-8 breaks RFC 6455: 1007 (section
        // 7.4.1), as PROTOCOL.md section 3 says. A binary frame that is not UTF-8 is only bad
        // input (answered where frames are handled).
        tungstenite::Error::Utf8(why) => {
            conn.report(
                Error::invalid_argument(format!("text frame is not valid UTF-8: {why}")),
                ErrorCause::NotUtf8,
            );
            conn.close(close::INVALID_PAYLOAD, close::INVALID_PAYLOAD_REASON.into());
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
                conn.close(close::PROTOCOL_ERROR, close::PROTOCOL_ERROR_REASON.into());
                return true;
            }
            false
        }
    }
}

/// After the loop: writes what is still queued (unless the peer is a slow consumer) and our close
/// frame if it has not gone yet (or the answer to the peer's), within the close timeout.
/// Whether the socket is still good for a graceful shutdown.
pub(crate) async fn finish<D, S>(
    conn: &Arc<Conn<D>>,
    ws: &mut WsStream<S>,
    rx: &mut outbound::Receiver<Message>,
    end: &LoopEnd,
) -> bool
where
    D: Send + Sync + 'static,
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    if end.write_failed {
        return false;
    }
    let slow = conn.slow.load(Ordering::Acquire);
    let reason = conn.close_reason();
    let finished = tokio::time::timeout(conn.rt.limits.close_timeout, async {
        // Frames queued before the close still go out (replies of finished handlers), unless
        // the peer closed first: no data frame may follow its close, only the answer to it.
        if !slow && end.peer_close.is_none() {
            while let Ok(taken) = rx.try_recv() {
                match taken {
                    Taken::Item(m) => ws.feed(m).await?,
                    Taken::Frames(frames) => {
                        std::future::poll_fn(|cx| ws.poll_ready_unpin(cx)).await?;
                        ws.send_frames(frames.bytes)?;
                    }
                }
            }
        }
        match reason {
            Some(r) if end.peer_close.is_none() && !end.close_sent => {
                let frame = CloseFrame {
                    code: r.code.into(),
                    reason: r.reason.into(),
                };
                ws.send(Message::Close(Some(frame))).await
            }
            _ => SinkExt::close(ws).await,
        }
    })
    .await;
    matches!(finished, Ok(Ok(())))
}
