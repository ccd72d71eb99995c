//! One connection: its shared state (`Conn`, read by its socket loop, its handlers and its
//! subscriptions) and the handle hooks and handlers get ([`Connection`]).

use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{self, AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock, RwLockReadGuard};

use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::{Message as WsMessage, Utf8Bytes};
use tokio_util::sync::CancellationToken;

use super::close::{CloseReason, Closer};
use super::io::outbound;
use super::io::socket::{self, Direct};
use super::limits::SlowConsumerPolicy;
use super::publish::{PublishOptions, encode_publication};
use super::report::{ErrorCause, ErrorEvent};
use super::request::Registry;
use super::runtime::Runtime;
use crate::encoded;
use crate::pubsub::{
    self, ClientId, ClusterCount, Frame, FrameSink, Matched, PubSubError, Subscriber,
};
use wskit_core::wire::{self, OutMeta, close};
use wskit_core::{Error, Message};

/// Why a frame could not be queued for a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// The connection is closed or closing.
    Closed,
    /// The outbound queue is full (a slow consumer); the slow-consumer policy was applied.
    QueueFull,
    /// The message could not be encoded (its `Serialize` impl failed): nothing was queued.
    Encode,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SendError::Closed => "connection closed",
            SendError::QueueFull => "outbound queue full (slow consumer)",
            SendError::Encode => "message could not be encoded",
        })
    }
}

impl std::error::Error for SendError {}

impl From<SendError> for Error {
    /// `UNAVAILABLE`, or `INTERNAL` for a message that could not be encoded.
    fn from(e: SendError) -> Error {
        match e {
            SendError::Encode => Error::internal(e.to_string()),
            _ => Error::unavailable(e.to_string()),
        }
    }
}

/// The state of one connection, shared by its loop, handlers and subscriptions.
pub(crate) struct Conn<D> {
    pub id: ClientId,
    pub data: RwLock<D>,
    /// The server-wide state (limits, pub/sub, error hooks).
    pub rt: Arc<Runtime>,
    pub(super) out: outbound::Sender<WsMessage>,
    /// The socket, for direct writes of publications (connections of the embedded server).
    pub(super) socket: Option<Arc<socket::SocketWriter>>,
    /// Bytes queued in `out` and not yet taken by the connection loop.
    pub(super) queued_bytes: AtomicUsize,
    /// Bytes handed to the socket that it has not taken (automatic pongs among them), as the
    /// connection loop last saw them: they count against the byte budget with `queued_bytes`.
    pub(super) unwritten: AtomicUsize,
    /// Fires when the connection starts closing; parent of every request's cancellation. Made
    /// on first use ([`Conn::closing`]: a request that outlives its first poll, a handler that
    /// asks for its cancellation), so that an idle connection holds none (a token is a
    /// 112-byte node of its own).
    pub(super) closing: OnceLock<CancellationToken>,
    /// The close frame the server sends (the first close wins).
    /// Boxed: most connections end without one set, and this lives as long as the connection.
    pub(super) close_reason: Mutex<Option<Box<CloseReason>>>,
    /// Closed as a slow consumer: the frames still queued are dropped, not written.
    pub(super) slow: AtomicBool,
    /// The topics subscribed to; boxed and only while there are some (most connections have
    /// none, and this lives as long as the connection: 8 bytes, not the 48 of an empty set and
    /// its hasher's keys).
    #[expect(
        clippy::box_collection,
        reason = "8 bytes while empty instead of 48, for as long as the connection lives"
    )]
    pub topics: Mutex<Option<Box<HashSet<String>>>>,
    /// RPCs in flight by correlationId, for `$ws:abort` and duplicate detection. Only requests
    /// that did not finish in their first (inline) poll are here.
    pub requests: Registry,
    pub in_flight: AtomicUsize,
}

impl<D: Send + Sync + 'static> Conn<D> {
    /// Queues a frame, applying the slow-consumer policy when the queue is full.
    pub(crate) fn push(&self, frame: Utf8Bytes) -> Result<(), SendError> {
        self.push_message(WsMessage::Text(frame))
    }

    /// Queues a text frame the runtime encoded (`wire::encode_*`) by copying it into the
    /// queue's frame buffer: no allocation of its own, and no copy when the socket's write
    /// buffer takes the queue's (see `io::outbound`). Queued as an item, like [`Conn::push`],
    /// behind items already queued.
    pub(crate) fn push_encoded(&self, frame: &[u8]) -> Result<(), SendError> {
        let len = frame.len();
        self.charge(len)?;
        let (header, n) = socket::text_frame_header(len);
        match self.out.try_send_frame(&header[..n], frame) {
            Ok(()) => Ok(()),
            Err(refused) => {
                self.queued_bytes.fetch_sub(len, Ordering::AcqRel);
                match refused {
                    outbound::FrameRefused::Behind => self.push(encoded::text(frame.to_vec())),
                    outbound::FrameRefused::Closed => Err(SendError::Closed),
                    outbound::FrameRefused::Full => Err(self.queue_full()),
                }
            }
        }
    }

    /// Counts `len` more bytes queued, unless the connection is closing or they do not fit its
    /// byte budget (counting the bytes the socket has not taken).
    fn charge(&self, len: usize) -> Result<(), SendError> {
        if self.is_closing() {
            return Err(SendError::Closed);
        }
        let budget = self.rt.limits.outbound_queue_bytes;
        let before = self.queued_bytes.fetch_add(len, Ordering::AcqRel);
        let owed = before + self.unwritten.load(Ordering::Relaxed);
        // A frame bigger than the whole budget still goes out alone.
        if owed > 0 && owed + len > budget {
            self.queued_bytes.fetch_sub(len, Ordering::AcqRel);
            return Err(self.queue_full());
        }
        Ok(())
    }

    pub(super) fn push_message(&self, msg: WsMessage) -> Result<(), SendError> {
        let len = msg.len();
        self.charge(len)?;
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
        if self.rt.limits.slow_consumer == SlowConsumerPolicy::Close {
            self.close_slow();
        }
        SendError::QueueFull
    }

    /// Closes as a slow consumer: 1008, and the frames still queued are dropped.
    pub(super) fn close_slow(&self) {
        tracing::warn!(client_id = %self.id, "slow consumer: closing");
        self.slow.store(true, Ordering::Release);
        self.close(close::POLICY_VIOLATION, close::SLOW_CONSUMER_REASON.into());
    }

    /// The connection loop took this frame (or these frames) off the queue.
    pub(super) fn dequeued(&self, taken: &outbound::Taken<WsMessage>) {
        let len = match taken {
            outbound::Taken::Frames(frames) => frames.payload,
            outbound::Taken::Item(msg) => msg.len(),
        };
        self.queued_bytes.fetch_sub(len, Ordering::AcqRel);
    }

    /// Whether the outbound queue has room for the answers of another inbound frame (more than
    /// half of both its frame and its byte budget free), counting `owed`, the bytes handed to
    /// the socket that it has not taken yet.
    pub(super) fn has_room(&self, owed: usize) -> bool {
        let limits = &self.rt.limits;
        self.out.capacity() >= (limits.outbound_queue / 2).max(1)
            && self.queued_bytes.load(Ordering::Acquire) + owed <= limits.outbound_queue_bytes / 2
    }

    /// Starts closing with this code and reason (the first close wins).
    pub(crate) fn close(&self, code: u16, reason: String) {
        {
            let mut slot = self.close_reason.lock().unwrap_or_else(|e| e.into_inner());
            if slot.is_none() {
                *slot = Some(Box::new(CloseReason { code, reason }));
            }
        }
        self.shut();
    }

    /// Marks the connection closing (its queue closes: nothing more is queued or written
    /// directly), cancels its handlers and wakes its loop, which then finds the queue closed.
    pub(super) fn shut(&self) {
        self.out.close();
        // Pairs with the fence in `closing`: either the token is seen here, or the closed queue
        // there.
        atomic::fence(Ordering::SeqCst);
        if let Some(token) = self.closing.get() {
            token.cancel();
        }
        self.out.wake();
    }

    /// The token that fires when the connection starts closing (made now if it was not yet,
    /// cancelled at once if the connection is already closing).
    pub(crate) fn closing(&self) -> &CancellationToken {
        if let Some(token) = self.closing.get() {
            return token;
        }
        let token = self.closing.get_or_init(CancellationToken::new);
        atomic::fence(Ordering::SeqCst);
        if self.is_closing() {
            token.cancel();
        }
        token
    }

    /// Whether the connection is closing or closed (its outbound queue is closed).
    pub(crate) fn is_closing(&self) -> bool {
        self.out.is_closed()
    }

    pub(super) fn close_reason(&self) -> Option<CloseReason> {
        let slot = self.close_reason.lock().unwrap_or_else(|e| e.into_inner());
        slot.as_deref().cloned()
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
        self.rt.report(ErrorEvent {
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
        let error = error.answering(wire_type, correlation_id);
        let answered = send
            && self
                .push(encoded::text(wire::encode_error(correlation_id, &error)))
                .is_ok();
        self.report_request(wire_type, correlation_id, error, cause, answered);
    }

    /// `$ws:abort`: cancels the RPC with this correlationId; no terminal frame is owed.
    pub(crate) fn abort(&self, correlation_id: &str) {
        if let Some(req) = self.requests.get(correlation_id) {
            req.mark_terminal();
            req.cancel(self.closing());
        }
    }
}

impl<D: Send + Sync + 'static> FrameSink for Conn<D> {
    /// A publication: written straight to the socket when the connection is idle (nothing
    /// queued or unwritten), which spares a fan-out a wake-up of every subscriber's task; queued
    /// otherwise.
    fn deliver(&self, frame: Frame) {
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
        let _ = self.push(frame.into_text());
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

impl<D: Send + Sync + 'static> Closer for Conn<D> {
    fn close_with(&self, code: u16, reason: &str) {
        self.close(code, reason.to_owned());
    }
}

/// One connection: its id, its data, sending, pub/sub and closing. Cheap to clone.
///
/// Lifecycle hooks receive it; handlers reach it through [`Context`](super::Context) (which derefs to it).
///
/// ```
/// use wskit::server::{CloseReason, Server};
/// let _b = Server::<String>::builder().on_open(|conn| async move {
///     if conn.data().is_empty() {
///         return Err(CloseReason::new(4001, "no name"));
///     }
///     conn.subscribe(&format!("user:{}", *conn.data())).map_err(|_| CloseReason::new(1011, "topic"))?;
///     Ok(())
/// });
/// ```
pub struct Connection<D> {
    pub(crate) conn: Arc<Conn<D>>,
}

impl<D> Clone for Connection<D> {
    fn clone(&self) -> Self {
        Connection {
            conn: self.conn.clone(),
        }
    }
}

impl<D> fmt::Debug for Connection<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("client_id", &self.conn.id)
            .finish_non_exhaustive()
    }
}

impl<D: Send + Sync + 'static> Connection<D> {
    /// The connection's id (also in the `x-client-id` upgrade response header).
    pub fn client_id(&self) -> ClientId {
        self.conn.id
    }

    /// The connection data that authentication produced. Do not hold the guard across an
    /// `.await` (it is not `Send`).
    pub fn data(&self) -> RwLockReadGuard<'_, D> {
        self.conn.data.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the connection data; returns what `f` returns.
    pub fn update_data<R>(&self, f: impl FnOnce(&mut D) -> R) -> R {
        let mut guard = self.conn.data.write().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
    }

    /// Sends a message to this client (`"meta":{}`).
    pub fn send<M: Message>(&self, msg: &M) -> Result<(), SendError> {
        self.send_with_meta(msg, OutMeta::default())
    }

    /// Sends a message to this client with this meta (declared meta fields in `extra`).
    pub fn send_with_meta<M: Message>(&self, msg: &M, meta: OutMeta) -> Result<(), SendError> {
        let mut sent = Ok(());
        wire::encode_message_then(Some(&meta), msg, &mut |frame| {
            sent = self.conn.push_encoded(frame)
        })
        .map_err(|_| SendError::Encode)?;
        sent
    }

    /// Subscribes this connection to `topic` (idempotent). Fails for a bad topic name
    /// (`INVALID_ARGUMENT` as a [`wskit_core::Error`]) or a full topic set (`RESOURCE_EXHAUSTED`).
    pub fn subscribe(&self, topic: &str) -> Result<(), PubSubError> {
        pubsub::check_topic(topic)?;
        let limit = self.conn.rt.limits.max_topics_per_connection;
        // Under the topics lock, so that a subscription cannot slip past the cleanup of a
        // closing connection (which takes the same lock after `closing` fires).
        let mut topics = self.conn.topics.lock().unwrap_or_else(|e| e.into_inner());
        if self.conn.is_closing() {
            return Err(PubSubError::ConnectionClosed);
        }
        if topics.as_ref().is_some_and(|t| t.contains(topic)) {
            return Ok(());
        }
        if topics.as_ref().map_or(0, |t| t.len()) >= limit {
            return Err(PubSubError::TooManyTopics { limit });
        }
        let subscriber = Subscriber {
            client_id: self.conn.id,
            sink: self.conn.clone(),
        };
        self.conn.rt.pubsub.subscribe(topic, subscriber)?;
        topics
            .get_or_insert_with(Default::default)
            .insert(topic.to_owned());
        Ok(())
    }

    /// Unsubscribes from `topic`; whether the connection was subscribed.
    pub fn unsubscribe(&self, topic: &str) -> bool {
        let mut topics = self.conn.topics.lock().unwrap_or_else(|e| e.into_inner());
        let held = topics.as_mut().is_some_and(|t| t.remove(topic));
        if topics.as_ref().is_some_and(|t| t.is_empty()) {
            *topics = None;
        }
        if held {
            self.conn.rt.pubsub.unsubscribe(topic, self.conn.id);
        }
        held
    }

    /// The topics this connection holds.
    pub fn topics(&self) -> Vec<String> {
        let topics = self.conn.topics.lock().unwrap_or_else(|e| e.into_inner());
        topics.iter().flat_map(|t| t.iter()).cloned().collect()
    }

    /// Publishes `msg` to `topic`: every subscriber receives `{"type":..,"payload":..}` (with
    /// `meta` only when given). Returns how many subscribers it reached ([`Matched`]: this
    /// server's, or with a cluster backend the nodes the bus handed it to). A backend failure is
    /// also reported to the error hooks. The backend takes the publication when this is called:
    /// publications go out in call order.
    pub fn publish<M: Message>(
        &self,
        topic: &str,
        msg: &M,
        options: PublishOptions,
    ) -> impl Future<Output = Result<Matched, PubSubError>> + Send + 'static {
        let exclude = options.exclude_self.then_some(self.conn.id);
        let publication = encode_publication(topic, msg, options.meta.as_ref(), exclude);
        let published = publication.map(|p| self.conn.rt.publish(p, Some(self.conn.id)));
        async move { published?.await }
    }

    /// Subscribers of a topic across the cluster (see
    /// [`ServerHandle::cluster_subscriber_count`](crate::server::ServerHandle::cluster_subscriber_count)).
    pub fn cluster_subscriber_count(
        &self,
        topic: &str,
    ) -> impl Future<Output = Result<ClusterCount, PubSubError>> + Send + 'static {
        let rt = self.conn.rt.clone();
        let topic = topic.to_owned();
        async move { rt.pubsub.cluster_subscriber_count(&topic).await }
    }

    /// Closes the connection with this code and reason (handlers in flight are cancelled).
    /// Codes an application may use: 1000, 1001, 1008, 1011 and 3000-4999; any other is sent
    /// as 1011.
    pub fn close(&self, code: u16, reason: impl Into<String>) {
        self.conn.close(close::for_application(code), reason.into());
    }

    /// Whether the connection is closed or closing.
    pub fn is_closed(&self) -> bool {
        self.conn.is_closing()
    }
}
