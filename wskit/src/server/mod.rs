//! The server: the socket loop that decodes frames, routes them to generated handlers and writes
//! their answers (PROTOCOL.md sections 1-6).
//!
//! SKELETON: the contract between generated code and the server runtime. The server-runtime work
//! fills in the bodies; the signatures used by generated code (`Service`, `Request`, `Context`,
//! `RpcContext`, `__serve_message`, `__serve_rpc`) stay as they are.

use std::future::Future;
use std::marker::PhantomData;

use futures_util::future::BoxFuture;

use crate::describe::ProtocolDesc;
use crate::{Error, Message, Rpc};

/// One protocol's handlers, ready to be served: what `Chat::server(handler)` returns.
///
/// `D` is the typed connection data that authentication produced; every service of one server shares it.
pub trait Service<D>: Send + Sync + 'static {
    /// The protocol this service implements.
    fn description(&self) -> &'static ProtocolDesc;
    /// Handles one routed inbound frame whose type belongs to this protocol (a client-to-server
    /// message or rpc request).
    fn call(&self, request: Request<D>) -> BoxFuture<'static, ()>;
}

/// One inbound frame routed to a service, with its connection.
pub struct Request<D> {
    _data: PhantomData<fn() -> D>,
    ty: String,
}

impl<D> Request<D> {
    /// The frame's wire type.
    pub fn wire_type(&self) -> &str {
        &self.ty
    }
}

/// What a handler knows and can do: the connection, the frame's meta, sending and pub/sub.
pub struct Context<D> {
    _data: PhantomData<fn() -> D>,
}

/// The context of an RPC handler: everything [`Context`] has, plus typed progress.
pub struct RpcContext<D, R: Rpc> {
    ctx: Context<D>,
    _rpc: PhantomData<fn() -> R>,
}

impl<D, R: Rpc> std::ops::Deref for RpcContext<D, R> {
    type Target = Context<D>;
    fn deref(&self) -> &Context<D> {
        &self.ctx
    }
}

impl<D, R: Rpc> RpcContext<D, R> {
    /// Sends a progress update (before the reply; dropped after it).
    pub fn progress(&self, _update: R::Progress) {
        todo!()
    }
}

#[doc(hidden)]
pub fn __serve_message<D, M, F, Fut>(_request: Request<D>, _handler: F) -> BoxFuture<'static, ()>
where
    D: Send + Sync + 'static,
    M: Message,
    F: FnOnce(Context<D>, M) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), Error>> + Send + 'static,
{
    todo!()
}

#[doc(hidden)]
pub fn __serve_rpc<D, R, F, Fut>(_request: Request<D>, _handler: F) -> BoxFuture<'static, ()>
where
    D: Send + Sync + 'static,
    R: Rpc,
    F: FnOnce(RpcContext<D, R>, R) -> Fut + Send + 'static,
    Fut: Future<Output = Result<R::Response, Error>> + Send + 'static,
{
    todo!()
}

#[doc(hidden)]
pub fn __serve_unknown<D: Send + Sync + 'static>(_request: Request<D>) -> BoxFuture<'static, ()> {
    todo!()
}
