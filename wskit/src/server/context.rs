//! What a handler sees: the request ([`Context`], which derefs to the [`Connection`]) and, for an
//! RPC, typed progress and reply ([`RpcContext`]).

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::SystemTime;

use tokio::time::Instant;

use super::connection::Connection;
use super::report::ErrorCause;
use super::request::ReqState;
use crate::encoded;
use wskit_core::wire::{self, Meta};
use wskit_core::{Error, Rpc};

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
            .token(self.conn.conn.closing())
            .clone()
            .cancelled_owned()
    }

    /// Whether the request is cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.req.is_cancelled(self.conn.conn.is_closing())
    }

    /// Sends the terminal error for this request once (`RPC_ERROR` with its correlationId, or
    /// `ERROR`), and reports it to the error hook.
    pub(crate) fn fail(&self, error: Error, cause: ErrorCause) {
        let first = self.req.mark_terminal();
        let (ty, cid) = (Some(self.req.ty), self.correlation_id());
        self.conn.conn.send_error(ty, cid, error, cause, first);
    }

    /// Sends `frame` (copied into the outbound queue) as this request's terminal frame unless
    /// one was sent; whether it was.
    pub(crate) fn finish(&self, frame: &[u8]) -> bool {
        if !self.req.mark_terminal() {
            return false;
        }
        let _ = self.conn.conn.push_encoded(frame);
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
    /// Sends a progress update (before the reply; dropped after it). An update that cannot be
    /// encoded (its `Serialize` impl failed) is dropped and reported to the error hook.
    pub fn progress(&self, update: R::Progress) {
        let frame = match wire::encode_progress_message(self.ctx.correlation_id(), &update) {
            Ok(frame) => frame,
            Err(e) => {
                let error = Error::internal(format!("progress update could not be encoded: {e}"));
                return self.ctx.conn.conn.report(error, ErrorCause::Handler);
            }
        };
        // Never after the reply.
        self.ctx.req.send_progress(|| {
            let _ = self.ctx.conn.conn.push(encoded::text(frame));
        });
    }

    /// Replies now; whether this was the first terminal frame. The handler's own return value is
    /// then dropped. A response that cannot be encoded (its `Serialize` impl failed) is answered
    /// `INTERNAL` instead.
    pub fn reply(&self, response: &R::Response) -> bool {
        if self.ctx.req.is_terminal() {
            return false;
        }
        let mut sent = false;
        let encoded = wire::encode_reply_then(self.ctx.correlation_id(), response, &mut |frame| {
            sent = self.ctx.finish(frame)
        });
        match encoded {
            Ok(()) => sent,
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
