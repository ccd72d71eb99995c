//! What a handler on a local host sees: [`Context`] and, for an RPC, [`RpcContext`].

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::rc::Rc;

use super::host::HostError;
use super::request::ReqState;
use super::session::Session;
use wskit_core::topic::{self, PublicationError, PublishOptions};
use wskit_core::wire::{self, Meta, OutMeta};
use wskit_core::{Error, Message, Rpc};

/// What a handler knows and can do: the connection (its id, data, sending, topics), the
/// frame's meta, the receive time and cancellation. Cheap to clone.
///
/// ```
/// use wskit::local::Context;
/// wskit::protocol! { pub protocol Room { event Joined { who: String } } }
/// async fn join(ctx: Context<String>, room: &str) -> Result<(), wskit::Error> {
///     ctx.subscribe(room)?; // a bad name becomes the answered error
///     let joined = Joined { who: ctx.data().clone() };
///     ctx.publish(room, &joined, Default::default())?;
///     Ok(())
/// }
/// ```
pub struct Context<D> {
    pub(super) session: Rc<Session<D>>,
    pub(super) req: Rc<ReqState>,
}

impl<D> Clone for Context<D> {
    fn clone(&self) -> Self {
        Context {
            session: self.session.clone(),
            req: self.req.clone(),
        }
    }
}

impl<D> fmt::Debug for Context<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("session", &self.session)
            .field("type", &self.req.ty)
            .field("meta", &self.req.meta)
            .finish_non_exhaustive()
    }
}

impl<D: 'static> Context<D> {
    /// The connection.
    pub fn session(&self) -> &Rc<Session<D>> {
        &self.session
    }

    /// The connection's id.
    pub fn client_id(&self) -> &str {
        self.session.client_id()
    }

    /// The connection's data.
    pub fn data(&self) -> &D {
        self.session.data()
    }

    /// The inbound frame's wire type.
    pub fn message_type(&self) -> &'static str {
        self.req.ty
    }

    /// The frame's validated meta.
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

    /// When the host received the frame, in milliseconds since the Unix epoch.
    pub fn received_at_ms(&self) -> u64 {
        self.req.received_ms
    }

    /// Whether the request is cancelled (`$ws:abort`, its deadline, or the connection closed).
    pub fn is_cancelled(&self) -> bool {
        self.req.is_cancelled()
    }

    /// Resolves when the request is cancelled. The handler future itself is dropped then.
    pub fn cancelled(&self) -> impl Future<Output = ()> + 'static {
        self.req.cancelled()
    }

    /// Sends a message to this connection (`"meta":{}`, as the tokio server writes it).
    pub fn send<M: Message>(&self, msg: &M) -> Result<(), HostError> {
        self.send_with_meta(msg, OutMeta::default())
    }

    /// Sends a message with meta (`correlationId`, `timestamp`, declared keys).
    pub fn send_with_meta<M: Message>(&self, msg: &M, meta: OutMeta<'_>) -> Result<(), HostError> {
        let frame =
            wire::encode_message(Some(&meta), msg).map_err(|e| HostError::Encode(e.to_string()))?;
        let text = std::str::from_utf8(&frame).map_err(|e| HostError::Encode(e.to_string()))?;
        self.session.host().send(text)
    }

    /// Publishes `msg` to `topic` among the host's connections: every subscriber receives
    /// `{"type":..,"payload":..}` (with `meta` only when given). How many it reached.
    pub fn publish<M: Message>(
        &self,
        topic: &str,
        msg: &M,
        options: PublishOptions,
    ) -> Result<usize, HostError> {
        let frame =
            topic::encode_publication(topic, msg, options.meta.as_ref()).map_err(|e| match e {
                PublicationError::InvalidTopic(why) => HostError::InvalidTopic(why),
                PublicationError::Encode(why) => HostError::Encode(why),
            })?;
        let text = std::str::from_utf8(&frame).map_err(|e| HostError::Encode(e.to_string()))?;
        self.session
            .host()
            .publish(topic, text, options.exclude_self)
    }

    /// Subscribes this connection to `topic`.
    pub fn subscribe(&self, topic: &str) -> Result<(), HostError> {
        topic::check(topic).map_err(HostError::InvalidTopic)?;
        self.session.host().subscribe(topic)
    }

    /// Unsubscribes this connection from `topic`.
    pub fn unsubscribe(&self, topic: &str) -> Result<(), HostError> {
        topic::check(topic).map_err(HostError::InvalidTopic)?;
        self.session.host().unsubscribe(topic)
    }

    /// Closes the connection with this code and reason (requests in flight are cancelled).
    /// Codes an application may use: 1000, 1001, 1008, 1011 and 3000-4999; any other is sent
    /// as 1011.
    pub fn close(&self, code: u16, reason: &str) {
        self.session.close_requests();
        self.session
            .host()
            .close(wire::close::for_application(code), reason);
    }

    /// Sends the terminal error for this request once (`RPC_ERROR` with its correlationId, or
    /// `ERROR`).
    pub(super) fn fail(&self, error: Error) {
        if self.req.mark_terminal() {
            let (ty, cid) = (Some(self.req.ty), self.correlation_id());
            super::server::answer(&self.session, ty, cid, error);
        }
    }

    /// Sends `frame` as this request's terminal frame unless one was sent; whether it was.
    fn finish(&self, frame: &[u8]) -> bool {
        self.req.mark_terminal() && self.session.send_frame(frame)
    }
}

/// The context of an RPC handler: everything [`Context`] has (through `Deref`), plus typed
/// progress and an early reply or error. The first terminal frame (reply or error) wins; later
/// ones and later progress are dropped.
///
/// ```
/// use wskit::local::RpcContext;
/// fn report_all<R: wskit::Rpc>(ctx: &RpcContext<(), R>, updates: Vec<R::Progress>) {
///     for update in updates {
///         ctx.progress(update);
///     }
/// }
/// ```
pub struct RpcContext<D, R: Rpc> {
    pub(super) ctx: Context<D>,
    pub(super) _rpc: PhantomData<fn() -> R>,
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

impl<D, R: Rpc> fmt::Debug for RpcContext<D, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.ctx.fmt(f)
    }
}

impl<D: 'static, R: Rpc> RpcContext<D, R> {
    /// Sends a progress update (before the reply; dropped after it). An update that cannot be
    /// encoded is dropped and logged.
    pub fn progress(&self, update: R::Progress) {
        if self.ctx.req.is_terminal() {
            return;
        }
        match wire::encode_progress_message(self.ctx.correlation_id(), &update) {
            Ok(frame) => {
                self.ctx.session.send_frame(&frame);
            }
            Err(e) => tracing::warn!(error = %e, "progress update could not be encoded"),
        }
    }

    /// Replies now; whether this was the first terminal frame. The handler's own return value is
    /// then dropped. A response that cannot be encoded is answered `INTERNAL` instead.
    pub fn reply(&self, response: &R::Response) -> bool {
        if self.ctx.req.is_terminal() {
            return false;
        }
        let frame = wire::encode_reply(self.ctx.correlation_id(), response);
        match frame {
            Ok(frame) => self.ctx.finish(&frame),
            Err(e) => self.error(Error::internal(format!("reply could not be encoded: {e}"))),
        }
    }

    /// Answers with an error now; whether this was the first terminal frame.
    pub fn error(&self, error: Error) -> bool {
        let cid = self.ctx.correlation_id();
        let error = error.answering(Some(self.ctx.req.ty), cid);
        self.ctx.finish(&wire::encode_error(cid, &error))
    }
}
