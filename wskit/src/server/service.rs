//! What the server routes frames to: a [`Service`] (one protocol's handlers, as `protocol!`
//! generates it) and the [`Request`] it is called with.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use futures_util::future::BoxFuture;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::connection::Conn;
use super::middleware::Chain;
use super::request::Received;
use wskit_core::describe::ProtocolDesc;
use wskit_core::wire::FrameParts as Parts;

/// One protocol's handlers, ready to be served: what `Chat::server(handler)` returns.
///
/// `D` is the typed connection data that authentication produced; every service of one server shares it.
pub trait Service<D>: Send + Sync + 'static {
    /// The protocol this service implements.
    fn description(&self) -> &'static ProtocolDesc;
    /// Handles one routed inbound frame whose type belongs to this protocol (a client-to-server
    /// message or rpc request).
    fn call(&self, request: Request<D>) -> BoxFuture<'static, ()>;
    /// Whether `call` parses and validates the whole frame itself (the generated services do, through
    /// `serve_message`/`serve_rpc`), so that the server may route a frame on its peeked type
    /// before parsing it. A hand-written service keeps `false`: it only sees parsed frames.
    #[doc(hidden)]
    fn __decodes_unparsed(&self) -> bool {
        false
    }
}

/// One inbound frame routed to a service, with its connection.
pub struct Request<D> {
    pub(super) ty: &'static str,
    pub(super) text: Utf8Bytes,
    /// Where `meta` and `payload` are in `text`; `None` for a frame routed on its peeked type,
    /// whose envelope is parsed together with its meta and payload (`wire::decode_frame_text`).
    pub(super) parts: Option<Parts>,
    pub(super) received: Received,
    /// The route's middleware; `None` when there is none.
    pub(super) chain: Option<Chain<D>>,
    pub(super) guard: InFlight<D>,
}

impl<D> Request<D> {
    /// The frame's wire type.
    pub fn wire_type(&self) -> &str {
        self.ty
    }
}

/// Counts a request in flight on its connection and on the server until dropped.
pub(crate) struct InFlight<D> {
    pub conn: Arc<Conn<D>>,
}

impl<D> Drop for InFlight<D> {
    fn drop(&mut self) {
        self.conn.in_flight.fetch_sub(1, Ordering::AcqRel);
        self.conn.rt.request_done();
    }
}
