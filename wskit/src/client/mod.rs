//! The client: a typed, reconnecting WebSocket client (PROTOCOL.md section 7).
//!
//! SKELETON: the contract between generated client stubs and the client runtime. The
//! client-runtime work fills in the bodies; the signatures used by generated code (`Client::send`,
//! `Client::request`, `Client::events`, `Call`, `Events`, `ClientError`) stay as they are.

use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;

use crate::{EventSet, Message, Rpc};

/// Errors of the client.
#[derive(Debug)]
#[non_exhaustive]
pub enum ClientError {
    /// The server answered with `RPC_ERROR`.
    Rpc(crate::Error),
}

/// A connection to a server, shared by every clone.
#[derive(Clone)]
pub struct Client {}

impl Client {
    /// Sends a fire-and-forget message (queued while offline).
    pub fn send<M: Message>(&self, _msg: M) -> Result<(), ClientError> {
        todo!()
    }

    /// Starts an RPC; await the returned call for the reply.
    pub fn request<R: Rpc>(&self, _req: R) -> Call<R> {
        todo!()
    }

    /// The server events of one protocol, as a stream.
    pub fn events<E: EventSet>(&self) -> Events<E> {
        todo!()
    }
}

/// An RPC in flight. Await it for the reply; dropping it before the reply cancels the call.
pub struct Call<R: Rpc> {
    _rpc: PhantomData<R>,
}

impl<R: Rpc> IntoFuture for Call<R> {
    type Output = Result<R::Response, ClientError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;
    fn into_future(self) -> Self::IntoFuture {
        todo!()
    }
}

/// A stream of the server events of one protocol.
pub struct Events<E: EventSet> {
    _events: PhantomData<E>,
}
