//! [`LocalServer`]: the services of one host, their route table, and what it does with each
//! inbound frame.

use std::fmt;
use std::panic::AssertUnwindSafe;
use std::rc::Rc;

use futures_util::FutureExt;
use futures_util::future::LocalBoxFuture;

use super::routed::{InFlight, Request};
use super::session::Session;
use crate::routes::RouteTable;
use wskit_core::describe::{Direction, ProtocolDesc};
use wskit_core::wire::inbound::{self, Inbound, Refusal};
use wskit_core::wire::{self, FrameParts};
use wskit_core::{Error, ErrorCode};

/// One protocol's handlers on a local host: what `Chat::local_server(handler)` returns.
///
/// `call` gets each frame of the protocol's client-to-server types as received: its envelope may
/// not be parsed yet (the generated services decode it whole, `wskit::wire::inbound::decode_request`).
pub trait Service<D>: 'static {
    /// The protocol this service implements.
    fn description(&self) -> &'static ProtocolDesc;
    /// Handles one routed inbound frame, to its end.
    fn call(&self, request: Request<D>) -> LocalBoxFuture<'static, ()>;
}

/// Why a [`LocalServer`] was not built.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildError {
    /// Two services handle the same wire type.
    DuplicateType(&'static str),
    /// `max_in_flight` is 0: no request could run.
    NoInFlight,
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::DuplicateType(ty) => {
                write!(f, "two services handle the message type {ty:?}")
            }
            BuildError::NoInFlight => f.write_str("max_in_flight must be at least 1"),
        }
    }
}

impl std::error::Error for BuildError {}

pub use wskit_core::limits::{DEFAULT_MAX_FRAME_BYTES, DEFAULT_MAX_IN_FLIGHT};

/// Builds a [`LocalServer`].
///
/// ```
/// wskit::protocol! { pub protocol P { message Ping; } }
/// struct App;
/// impl PLocalHandler for App {
///     type Data = ();
///     async fn ping(&self, _: wskit::local::Context<()>, _: Ping) -> Result<(), wskit::Error> { Ok(()) }
/// }
/// let server = wskit::local::LocalServer::builder()
///     .service(P::local_server(App))
///     .max_in_flight(16)
///     .max_frame_bytes(64 * 1024)
///     .build()
///     .unwrap();
/// # let _ = server;
/// ```
pub struct LocalServerBuilder<D> {
    services: Vec<Box<dyn Service<D>>>,
    max_in_flight: usize,
    max_frame_bytes: usize,
}

impl<D: 'static> LocalServerBuilder<D> {
    /// Adds a protocol's service.
    pub fn service(mut self, service: impl Service<D>) -> Self {
        self.services.push(Box::new(service));
        self
    }

    /// The requests one connection may have running at once (default
    /// [`DEFAULT_MAX_IN_FLIGHT`]); beyond it a request is answered `RESOURCE_EXHAUSTED`.
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = n;
        self
    }

    /// The largest inbound frame in bytes (default [`DEFAULT_MAX_FRAME_BYTES`]); a bigger one
    /// closes the connection with 1009 "frame too big", as on the tokio server. The host's own
    /// limit, if lower, comes first.
    pub fn max_frame_bytes(mut self, bytes: usize) -> Self {
        self.max_frame_bytes = bytes;
        self
    }

    /// Checks the options into a server: every client-to-server type routed to one service.
    pub fn build(self) -> Result<LocalServer<D>, BuildError> {
        if self.max_in_flight == 0 {
            return Err(BuildError::NoInFlight);
        }
        let mut routes = RouteTable::default();
        for (index, service) in self.services.iter().enumerate() {
            let served = service
                .description()
                .messages
                .iter()
                .filter(|m| m.kind.direction() == Direction::ClientToServer);
            for message in served {
                if routes.insert(message.wire_type, index).is_some() {
                    return Err(BuildError::DuplicateType(message.wire_type));
                }
            }
        }
        Ok(LocalServer {
            services: self.services,
            routes,
            max_in_flight: self.max_in_flight,
            max_frame_bytes: self.max_frame_bytes,
        })
    }
}

/// Serves protocols on a single-threaded host: hand it each inbound frame of each connection's
/// [`Session`]; it writes every answer through the session's [`Host`](super::Host).
/// See [the module](super) for a whole example.
pub struct LocalServer<D> {
    services: Vec<Box<dyn Service<D>>>,
    /// Wire type -> index in `services`.
    routes: RouteTable<usize>,
    max_in_flight: usize,
    max_frame_bytes: usize,
}

impl<D> fmt::Debug for LocalServer<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalServer")
            .field("routes", &self.routes.len())
            .field("max_in_flight", &self.max_in_flight)
            .field("max_frame_bytes", &self.max_frame_bytes)
            .finish_non_exhaustive()
    }
}

impl<D: 'static> LocalServer<D> {
    /// A builder with no services and the default limits.
    pub fn builder() -> LocalServerBuilder<D> {
        LocalServerBuilder {
            services: Vec::new(),
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
        }
    }

    /// Handles one inbound text frame of `session`, to its end: its answer, or its request's
    /// handler and reply. Frames of one connection may be handled concurrently (a host that
    /// awaits one frame's future while the next arrives): `$ws:abort` reaches an RPC in flight.
    pub async fn on_text(&self, session: &Rc<Session<D>>, text: &str) {
        if self.too_big(session, text.len()) {
            return;
        }
        let route = |ty: &str| {
            self.routes
                .get_key_value(ty)
                .map(|(&ty, &i)| ((ty, i), true))
        };
        match inbound::classify(text, route) {
            Inbound::Route { route, parts } => self.routed(session, route, text, parts).await,
            Inbound::Heartbeat => {
                let ack = wire::encode_heartbeat_ack(session.host().now_ms());
                session.send_frame(&ack);
            }
            Inbound::Abort(cid) => {
                if let Some(cid) = cid {
                    session.abort(&cid);
                }
            }
            Inbound::Refuse(refusal) => answer_refusal(session, refusal),
        }
    }

    /// Handles one inbound binary frame: decoded as UTF-8 and handled like a text frame; one
    /// that is not UTF-8 is answered `INVALID_ARGUMENT` and the connection goes on (PROTOCOL.md
    /// section 3; a text frame that is not UTF-8 is refused by the host's WebSocket itself).
    pub async fn on_binary(&self, session: &Rc<Session<D>>, bytes: &[u8]) {
        if self.too_big(session, bytes.len()) {
            return;
        }
        match std::str::from_utf8(bytes) {
            Ok(text) => self.on_text(session, text).await,
            Err(_) => answer(session, None, None, inbound::binary_not_utf8()),
        }
    }

    /// Whether a frame of `len` bytes is over the limit; if so, the connection is closed with
    /// 1009, as the tokio server closes it.
    fn too_big(&self, session: &Session<D>, len: usize) -> bool {
        if len <= self.max_frame_bytes {
            return false;
        }
        tracing::debug!(client_id = %session.client_id(), len, "frame too big");
        let reason = wskit_core::wire::close::MESSAGE_TOO_BIG_REASON;
        session
            .host()
            .close(wskit_core::wire::close::MESSAGE_TOO_BIG, reason);
        true
    }

    /// A frame of a routed type: the in-flight limit, then the route's service.
    async fn routed(
        &self,
        session: &Rc<Session<D>>,
        (ty, service): (&'static str, usize),
        text: &str,
        mut parts: Option<FrameParts>,
    ) {
        let service = &self.services[service];
        if session.in_flight() >= self.max_in_flight {
            // The refusal names the frame's correlationId: its envelope is parsed for it, and a
            // bad envelope is answered as such.
            match FrameParts::get_or_parse(&mut parts, text) {
                Ok(p) => {
                    let error = inbound::too_many_in_flight(self.max_in_flight);
                    answer(session, Some(ty), p.correlation_id(text).as_deref(), error);
                }
                Err(e) => answer(session, None, None, e),
            }
            return;
        }
        let request = Request {
            ty,
            text: text.into(),
            parts,
            received_ms: session.host().now_ms(),
            session: session.clone(),
            guard: InFlight::new(session),
        };
        let call = std::panic::catch_unwind(AssertUnwindSafe(|| service.call(request)));
        let done = match call {
            Ok(fut) => AssertUnwindSafe(fut).catch_unwind().await,
            Err(panic) => Err(panic),
        };
        if done.is_err() {
            // A `Decode`/`Validate` impl that panicked (handler panics are answered inside the
            // request): `INTERNAL` under the frame's correlationId, as the tokio server answers.
            tracing::error!(client_id = %session.client_id(), "request panicked outside its handler");
            let cid = FrameParts::get_or_parse(&mut None, text)
                .ok()
                .and_then(|p| p.correlation_id(text));
            let error = Error::from_code(ErrorCode::Internal);
            answer(session, Some(ty), cid.as_deref(), error);
        }
    }
}

/// Answers a frame no request owns (`RPC_ERROR` with a correlationId, else `ERROR`).
pub(super) fn answer<D: 'static>(
    session: &Session<D>,
    wire_type: Option<&str>,
    correlation_id: Option<&str>,
    error: Error,
) {
    let error = error.answering(wire_type, correlation_id);
    tracing::debug!(client_id = %session.client_id(), ?wire_type, code = ?error.code, "answered an error");
    session.send_frame(&wire::encode_error(correlation_id, &error));
}

fn answer_refusal<D: 'static>(session: &Session<D>, refusal: Refusal) {
    let (ty, cid) = (
        refusal.wire_type.as_deref(),
        refusal.correlation_id.as_deref(),
    );
    answer(session, ty, cid, refusal.error);
}
