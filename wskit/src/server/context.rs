//! What a handler sees: the connection ([`Connection`]), the request ([`Context`]) and, for an
//! RPC, typed progress and reply ([`RpcContext`]).

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLockReadGuard};
use std::time::SystemTime;

use serde_json::{Map, Value};
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::connection::Conn;
use super::hooks::{ErrorCause, app_close_code};
use crate::pubsub::{self, ClientId, Matched, PubSubError, Publication, Subscriber};
use crate::wire::{self, Meta, OutMeta};
use crate::{Error, Message, Rpc};

/// Why a frame could not be queued for a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// The connection is closed or closing.
    Closed,
    /// The outbound queue is full (a slow consumer); the slow-consumer policy was applied.
    QueueFull,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SendError::Closed => "connection closed",
            SendError::QueueFull => "outbound queue full (slow consumer)",
        })
    }
}

impl std::error::Error for SendError {}

impl From<SendError> for Error {
    fn from(e: SendError) -> Error {
        Error::unavailable(e.to_string())
    }
}

/// Options of a publication.
///
/// ```
/// let opts = wskit::server::PublishOptions::default().exclude_self();
/// assert!(opts.exclude_self && opts.meta.is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PublishOptions {
    /// Do not deliver to the publishing connection (default: it receives its own publication).
    pub exclude_self: bool,
    /// `meta` for the frame; without it (or when empty) the frame has no `meta` key.
    pub meta: Option<Map<String, Value>>,
}

impl PublishOptions {
    /// Sets `exclude_self`.
    pub fn exclude_self(mut self) -> Self {
        self.exclude_self = true;
        self
    }

    /// Sets the frame's meta.
    pub fn with_meta(mut self, meta: Map<String, Value>) -> Self {
        self.meta = Some(meta);
        self
    }
}

/// Turns a frame the runtime encoded with `wire::encode_*` into shareable bytes, without
/// validating it again.
pub(crate) fn utf8(bytes: Vec<u8>) -> tokio_tungstenite::tungstenite::Utf8Bytes {
    debug_assert!(
        std::str::from_utf8(&bytes).is_ok(),
        "encoded frame is not UTF-8"
    );
    // SAFETY: every caller passes the output of `wire::encode_*`: serde_json writes only UTF-8,
    // and the envelope around it is ASCII.
    unsafe { String::from_utf8_unchecked(bytes) }.into()
}

/// Encodes a publication frame: `meta` only when given and not empty.
pub(crate) fn encode_publication<M: Message>(
    topic: &str,
    msg: &M,
    meta: Option<&Map<String, Value>>,
    exclude: Option<ClientId>,
) -> Result<Publication, PubSubError> {
    pubsub::check_topic(topic)?;
    let meta = meta.filter(|m| !m.is_empty());
    let frame = wire::encode_frame(M::TYPE, meta, M::PAYLOAD.is_written().then_some(msg));
    Ok(Publication {
        topic: topic.to_owned(),
        wire_type: M::TYPE,
        frame: utf8(frame),
        exclude,
    })
}

/// One connection: its id, its data, sending, pub/sub and closing. Cheap to clone.
///
/// Lifecycle hooks receive it; handlers reach it through [`Context`] (which derefs to it).
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
        let frame =
            wire::encode_frame(M::TYPE, Some(&meta), M::PAYLOAD.is_written().then_some(msg));
        self.conn.push(utf8(frame))
    }

    /// Subscribes this connection to `topic` (idempotent). Fails for a bad topic name
    /// (`INVALID_ARGUMENT` as a [`crate::Error`]) or a full topic set (`RESOURCE_EXHAUSTED`).
    pub fn subscribe(&self, topic: &str) -> Result<(), PubSubError> {
        pubsub::check_topic(topic)?;
        let limit = self.conn.shared.rt.limits.max_topics_per_connection;
        // Under the topics lock, so that a subscription cannot slip past the cleanup of a
        // closing connection (which takes the same lock after `closing` fires).
        let mut topics = self.conn.topics.lock().unwrap_or_else(|e| e.into_inner());
        if self.conn.is_closing() {
            return Err(PubSubError::ConnectionClosed);
        }
        if topics.contains(topic) {
            return Ok(());
        }
        if topics.len() >= limit {
            return Err(PubSubError::TooManyTopics { limit });
        }
        let subscriber = Subscriber {
            client_id: self.conn.id,
            sink: self.conn.clone(),
        };
        self.conn.shared.rt.pubsub.subscribe(topic, subscriber)?;
        topics.insert(topic.to_owned());
        Ok(())
    }

    /// Unsubscribes from `topic`; whether the connection was subscribed.
    pub fn unsubscribe(&self, topic: &str) -> bool {
        let mut topics = self.conn.topics.lock().unwrap_or_else(|e| e.into_inner());
        let held = topics.remove(topic);
        if held {
            self.conn.shared.rt.pubsub.unsubscribe(topic, self.conn.id);
        }
        held
    }

    /// The topics this connection holds.
    pub fn topics(&self) -> Vec<String> {
        let topics = self.conn.topics.lock().unwrap_or_else(|e| e.into_inner());
        topics.iter().cloned().collect()
    }

    /// Publishes `msg` to `topic`: every subscriber receives `{"type":..,"payload":..}` (with
    /// `meta` only when given). Returns how many subscribers it reached.
    pub fn publish<M: Message>(
        &self,
        topic: &str,
        msg: &M,
        options: PublishOptions,
    ) -> impl Future<Output = Result<Matched, PubSubError>> + Send + 'static {
        let exclude = options.exclude_self.then_some(self.conn.id);
        let publication = encode_publication(topic, msg, options.meta.as_ref(), exclude);
        let bus = self.conn.shared.rt.pubsub.clone();
        async move { bus.publish(publication?).await }
    }

    /// Closes the connection with this code and reason (handlers in flight are cancelled).
    /// Codes an application may use: 1000, 1001, 1008, 1011 and 3000-4999; any other is sent
    /// as 1011.
    pub fn close(&self, code: u16, reason: impl Into<String>) {
        self.conn.close(app_close_code(code), reason.into());
    }

    /// Whether the connection is closed or closing.
    pub fn is_closed(&self) -> bool {
        self.conn.is_closing()
    }
}

/// The per-request state shared by a request's contexts.
pub(crate) struct ReqState {
    pub ty: &'static str,
    pub meta: Meta,
    pub typed_meta: Box<dyn Any + Send + Sync>,
    pub received_at: SystemTime,
    pub deadline: Option<Instant>,
    /// Set by `$ws:abort` or the deadline.
    aborted: AtomicBool,
    /// Wakes the request's runner on abort.
    pub wake: Notify,
    /// The token handed to `cancelled()`, created on first use (most handlers never ask).
    token: OnceLock<CancellationToken>,
    /// A terminal frame (reply or error) was sent, or none is owed any more. Set under
    /// `progress`.
    terminal: AtomicBool,
    /// Held while a progress frame is checked and queued, and while `terminal` is set: no
    /// progress frame follows the terminal frame, even when a spawned task sends it.
    progress: Mutex<()>,
    pub is_rpc: bool,
}

impl ReqState {
    pub(crate) fn new(
        ty: &'static str,
        meta: Meta,
        typed_meta: Box<dyn Any + Send + Sync>,
        received_at: SystemTime,
        deadline: Option<Instant>,
        is_rpc: bool,
    ) -> Self {
        ReqState {
            ty,
            meta,
            typed_meta,
            received_at,
            deadline,
            aborted: AtomicBool::new(false),
            wake: Notify::new(),
            token: OnceLock::new(),
            terminal: AtomicBool::new(false),
            progress: Mutex::new(()),
            is_rpc,
        }
    }

    /// Cancels the request (`$ws:abort` or the deadline). `closing` is the connection's token.
    pub(crate) fn cancel(&self, closing: &CancellationToken) {
        self.aborted.store(true, Ordering::Release);
        self.wake.notify_one();
        // Through the one token, whoever creates it: a concurrent `cancelled()` cannot miss it.
        self.token(closing).cancel();
    }

    fn is_cancelled(&self, closing: &CancellationToken) -> bool {
        self.aborted.load(Ordering::Acquire) || closing.is_cancelled()
    }

    fn token(&self, closing: &CancellationToken) -> &CancellationToken {
        self.token.get_or_init(|| closing.child_token())
    }

    fn progress_lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.progress.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Marks the terminal frame as sent (or not owed); whether this call was the first.
    pub(crate) fn mark_terminal(&self) -> bool {
        if self.is_terminal() {
            return false;
        }
        let _progress = self.progress_lock();
        !self.terminal.swap(true, Ordering::AcqRel)
    }

    /// Whether the terminal frame was sent (or is not owed).
    pub(crate) fn is_terminal(&self) -> bool {
        self.terminal.load(Ordering::Acquire)
    }
}

/// What a handler knows and can do: the connection (through `Deref` to [`Connection`]), the
/// frame's meta, the receive time, the deadline and cancellation. Cheap to clone.
///
/// ```
/// use wskit::server::Context;
/// async fn join(ctx: Context<String>, room: &str) -> Result<(), wskit::Error> {
///     ctx.subscribe(room)?; // a bad name or a full set becomes the answered error
///     let who = ctx.data().clone();
///     tracing::info!(%who, client = %ctx.client_id(), cid = ?ctx.correlation_id(), "joined {room}");
///     if ctx.is_cancelled() {
///         return Err(wskit::Error::cancelled("gone"));
///     }
///     Ok(())
/// }
/// ```
pub struct Context<D> {
    pub(crate) conn: Connection<D>,
    pub(crate) req: Arc<ReqState>,
}

impl<D> Clone for Context<D> {
    fn clone(&self) -> Self {
        Context {
            conn: self.conn.clone(),
            req: self.req.clone(),
        }
    }
}

impl<D> std::ops::Deref for Context<D> {
    type Target = Connection<D>;
    fn deref(&self) -> &Connection<D> {
        &self.conn
    }
}

impl<D> fmt::Debug for Context<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("client_id", &self.conn.conn.id)
            .field("type", &self.req.ty)
            .field("meta", &self.req.meta)
            .finish_non_exhaustive()
    }
}

impl<D: Send + Sync + 'static> Context<D> {
    /// The connection.
    pub fn connection(&self) -> &Connection<D> {
        &self.conn
    }

    /// The inbound frame's wire type.
    pub fn message_type(&self) -> &'static str {
        self.req.ty
    }

    /// The frame's validated meta (`clientId`/`receivedAt` removed).
    pub fn meta(&self) -> &Meta {
        &self.req.meta
    }

    /// The typed declared meta of the message (`M::Meta`), if `T` is that type.
    pub fn declared_meta<T: 'static>(&self) -> Option<&T> {
        self.req.typed_meta.downcast_ref()
    }

    /// The request's correlationId, if it had one.
    pub fn correlation_id(&self) -> Option<&str> {
        self.req.meta.correlation_id.as_deref()
    }

    /// When the server received the frame (the wall clock, read once for the frames read
    /// together).
    pub fn received_at(&self) -> SystemTime {
        self.req.received_at
    }

    /// The deadline from `meta.timeoutMs`, if given. When it passes an RPC is answered
    /// `DEADLINE_EXCEEDED` and its handler cancelled.
    pub fn deadline(&self) -> Option<Instant> {
        self.req.deadline
    }

    /// Resolves when the request is cancelled: `$ws:abort`, deadline, or disconnect. The handler
    /// future itself is dropped then; tasks it spawned can watch this.
    pub fn cancelled(&self) -> impl Future<Output = ()> + Send + 'static {
        self.req
            .token(&self.conn.conn.closing)
            .clone()
            .cancelled_owned()
    }

    /// Whether the request is cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.req.is_cancelled(&self.conn.conn.closing)
    }

    /// Sends the terminal error for this request once (`RPC_ERROR` with its correlationId, or
    /// `ERROR`), and reports it to the error hook.
    pub(crate) fn fail(&self, error: Error, cause: ErrorCause) {
        let first = self.req.mark_terminal();
        let (ty, cid) = (Some(self.req.ty), self.correlation_id());
        self.conn.conn.send_error(ty, cid, error, cause, first);
    }

    /// Sends `frame` as this request's terminal frame unless one was sent; whether it was.
    pub(crate) fn finish(&self, frame: Vec<u8>) -> bool {
        if !self.req.mark_terminal() {
            return false;
        }
        let _ = self.conn.conn.push(utf8(frame));
        true
    }
}

/// The context of an RPC handler: everything [`Context`] has, plus typed progress and an early
/// reply or error. The first terminal frame (reply or error) wins; later ones and later progress
/// are dropped.
///
/// ```
/// use wskit::server::RpcContext;
/// // Works for any RPC: progress updates go out in call order, before the reply.
/// fn report_all<R: wskit::Rpc>(ctx: &RpcContext<(), R>, updates: Vec<R::Progress>) {
///     for update in updates {
///         ctx.progress(update);
///     }
/// }
/// ```
pub struct RpcContext<D, R: Rpc> {
    pub(crate) ctx: Context<D>,
    pub(crate) _rpc: PhantomData<fn() -> R>,
}

impl<D, R: Rpc> Clone for RpcContext<D, R> {
    fn clone(&self) -> Self {
        RpcContext {
            ctx: self.ctx.clone(),
            _rpc: PhantomData,
        }
    }
}

impl<D, R: Rpc> std::ops::Deref for RpcContext<D, R> {
    type Target = Context<D>;
    fn deref(&self) -> &Context<D> {
        &self.ctx
    }
}

impl<D: Send + Sync + 'static, R: Rpc> RpcContext<D, R> {
    /// Sends a progress update (before the reply; dropped after it).
    pub fn progress(&self, update: R::Progress) {
        let frame = wire::encode_progress(self.ctx.correlation_id(), &update);
        // Checked and queued under the terminal lock: never after the reply.
        let _progress = self.ctx.req.progress_lock();
        if !self.ctx.req.is_terminal() {
            let _ = self.ctx.conn.conn.push(utf8(frame));
        }
    }

    /// Replies now; whether this was the first terminal frame. The handler's own return value is
    /// then dropped.
    pub fn reply(&self, response: &R::Response) -> bool {
        if self.ctx.req.is_terminal() {
            return false;
        }
        let meta = wire::Correlated(self.ctx.correlation_id());
        let frame = wire::encode_frame(
            <R::Response as Message>::TYPE,
            Some(&meta),
            <R::Response as Message>::PAYLOAD
                .is_written()
                .then_some(response),
        );
        self.ctx.finish(frame)
    }

    /// Answers with an error now; whether this was the first terminal frame.
    pub fn error(&self, error: Error) -> bool {
        let cid = self.ctx.correlation_id();
        let error = match cid {
            None => error.answering(self.ctx.req.ty),
            Some(_) => error,
        };
        let frame = wire::encode_error(cid, &error);
        self.ctx.finish(frame)
    }
}
