//! Building a server: services, auth, hooks, middleware, limits, checked into a route table.

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::auth::{self, AuthFn, Rejection};
use super::budget::InboundBudget;
use super::close::CloseReason;
use super::connection::Connection;
use super::hooks::{self, Hooks};
use super::io::ws;
use super::limits::{Limits, SlowConsumerPolicy};
use super::middleware::{Chain, Middleware};
use super::plain::{self, HttpFn};
use super::report::{ErrorEvent, ErrorHook, HookEvents};
use super::runtime::{PendingUpgrades, Runtime};
use super::serve::Server;
use super::service::Service;
use super::state::{Route, ServerState};
use crate::heartbeat::Heartbeat;
use crate::pubsub::{MemoryPubSub, PubSub, PubSubError};
use crate::routes::RouteTable;
use tokio_tungstenite::tungstenite::http;
use wskit_core::Message;
use wskit_core::describe::MessageKind;

/// Why a server could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildError {
    /// Two services claim the same wire type.
    DuplicateType {
        /// The wire type.
        wire_type: &'static str,
        /// The protocol that claimed it first.
        first: &'static str,
        /// The protocol that claimed it again.
        second: &'static str,
    },
    /// The connection data type is not `()` and no `auth` function produces it.
    MissingAuth,
    /// A limit is zero where it must not be.
    InvalidLimit(&'static str),
    /// The pub/sub backend could not start (a bad Redis URL, no tokio runtime).
    PubSub(PubSubError),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::DuplicateType {
                wire_type,
                first,
                second,
            } => write!(
                f,
                "wire type {wire_type:?} is handled by both protocol {first} and protocol {second}"
            ),
            BuildError::MissingAuth => f.write_str(
                "the connection data is not `()`: set an `auth` function that produces it",
            ),
            BuildError::InvalidLimit(which) => write!(f, "limit {which} must be at least 1"),
            BuildError::PubSub(e) => write!(f, "pub/sub backend: {e}"),
        }
    }
}

impl std::error::Error for BuildError {}

impl<D: Send + Sync + 'static> Server<D> {
    /// A builder with the defaults of [`Limits`] and [`Heartbeat`], the in-memory pub/sub, and
    /// no auth (every upgrade accepted, allowed only when `D` is `()`).
    pub fn builder() -> ServerBuilder<D> {
        ServerBuilder {
            services: Vec::new(),
            auth: None,
            hooks: Hooks::default(),
            errors: Vec::new(),
            middleware: Vec::new(),
            per_type: Vec::new(),
            limits: Limits::default(),
            heartbeat: Some(Heartbeat::default()),
            pubsub: None,
            subprotocols: Vec::new(),
            origins: auth::OriginPolicy::Any,
            http: None,
        }
    }
}

/// Builds a [`Server`]. Defaults: see [`Limits`] (1 MiB frames, 64 requests in flight, 1024
/// queued frames / 4 MiB with [`SlowConsumerPolicy::Close`], 10 s write timeout, 10 000 connections, 10 s upgrade timeout,
/// 1000 topics per connection, 10 s shutdown timeout) and [`Heartbeat`] (30 s / 5 s).
pub struct ServerBuilder<D> {
    services: Vec<Box<dyn Service<D>>>,
    auth: Option<AuthFn<D>>,
    hooks: Hooks<D>,
    errors: Vec<ErrorHook>,
    middleware: Vec<Arc<dyn Middleware<D>>>,
    per_type: Vec<(&'static str, Arc<dyn Middleware<D>>)>,
    limits: Limits,
    heartbeat: Option<Heartbeat>,
    pubsub: Option<Arc<dyn PubSub>>,
    subprotocols: Vec<String>,
    origins: auth::OriginPolicy,
    http: Option<HttpFn>,
}

impl<D: Send + Sync + 'static> ServerBuilder<D> {
    /// Adds one protocol's handlers (`Chat::server(handler)`).
    pub fn service(mut self, service: impl Service<D>) -> Self {
        self.services.push(Box::new(service));
        self
    }

    /// Authenticates each upgrade: the connection data, or a [`Rejection`] (401 by default).
    /// Extract what you need from the request before the `async` block.
    ///
    /// ```
    /// use wskit::server::{auth, Server, http};
    /// let _b = Server::<String>::builder().auth(|req: &http::Request<()>| {
    ///     let token = auth::token(req);
    ///     async move {
    ///         match token.as_deref() {
    ///             Some("s3cret") => Ok("alice".to_owned()),
    ///             _ => Err(auth::Rejection::unauthorized()),
    ///         }
    ///     }
    /// });
    /// ```
    pub fn auth<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(&http::Request<()>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<D, Rejection>> + Send + 'static,
    {
        self.auth = Some(auth::boxed(f));
        self
    }

    /// Which browser origins may connect ([`OriginPolicy`](auth::OriginPolicy); default: any).
    /// Checked before auth; a refused origin is answered `403 Forbidden`. Set it when auth
    /// relies on cookies.
    ///
    /// ```
    /// use wskit::server::{auth::OriginPolicy, Server};
    /// let _b = Server::<()>::builder().origins(OriginPolicy::allow(["https://app.example"]));
    /// ```
    pub fn origins(mut self, policy: auth::OriginPolicy) -> Self {
        self.origins = policy;
        self
    }

    /// Answers plain HTTP requests to the embedded server ([`Server::serve`]): a request
    /// without an `Upgrade: websocket` header goes to `f` instead of being refused (400), so one
    /// port can serve a page, its scripts and a health check beside the WebSocket endpoint.
    ///
    /// `f` gets the request head (the body, if any, is not read) and returns the response; the
    /// server sets `Content-Length`, answers `HEAD` without the body, and closes the connection
    /// after the response (no keep-alive). The response must come within the
    /// [`upgrade_timeout`](Self::upgrade_timeout) (else 503); a panic in `f` is answered 500.
    /// Auth, the origin policy and the
    /// connection limit are not applied: they guard upgrades. With axum, route plain requests
    /// in your router instead.
    ///
    /// ```
    /// use wskit::server::{http, Server};
    /// let _b = Server::<()>::builder().http_handler(|req: http::Request<()>| async move {
    ///     match req.uri().path() {
    ///         "/health" => http::Response::new(b"ok".to_vec()),
    ///         _ => http::Response::builder()
    ///             .status(http::StatusCode::NOT_FOUND)
    ///             .body(b"Not Found".to_vec())
    ///             .unwrap(),
    ///     }
    /// });
    /// ```
    pub fn http_handler<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(http::Request<()>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = http::Response<Vec<u8>>> + Send + 'static,
    {
        self.http = Some(plain::boxed(f));
        self
    }

    /// Subprotocols the application supports (PROTOCOL.md section 5). The server selects the
    /// first subprotocol in the *client's* offer that is in this list; the order of this list
    /// does not matter.
    pub fn subprotocols<I: IntoIterator<Item = S>, S: Into<String>>(mut self, names: I) -> Self {
        self.subprotocols = names.into_iter().map(Into::into).collect();
        self
    }

    /// Runs after the upgrade, before any frame is handled; `Err` closes the socket with that
    /// code and reason (the close hooks still run). A panic closes it with 1011.
    pub fn on_open<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(Connection<D>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), CloseReason>> + Send + 'static,
    {
        self.hooks.open.push(hooks::open_hook(f));
        self
    }

    /// Runs once per connection after it closed, with the close code and reason (1006 when the
    /// peer vanished without a close frame), after its requests were cancelled and its
    /// subscriptions removed.
    pub fn on_close<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(Connection<D>, CloseReason) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.hooks.close.push(hooks::close_hook(f));
        self
    }

    /// Receives every error the server answers or swallows, with its context.
    pub fn on_error(mut self, f: impl Fn(&ErrorEvent) + Send + Sync + 'static) -> Self {
        self.errors.push(Arc::new(f));
        self
    }

    /// Adds a middleware around every handler; the first added is the outermost.
    pub fn middleware(mut self, mw: impl Middleware<D>) -> Self {
        self.middleware.push(Arc::new(mw));
        self
    }

    /// Adds a middleware around the handler of one wire type (inside the global ones).
    pub fn middleware_for(mut self, wire_type: &'static str, mw: impl Middleware<D>) -> Self {
        self.per_type.push((wire_type, Arc::new(mw)));
        self
    }

    /// Adds a middleware around the handler of message `M` (inside the global ones).
    pub fn middleware_for_message<M: Message>(self, mw: impl Middleware<D>) -> Self {
        self.middleware_for(M::TYPE, mw)
    }

    /// Replaces every limit at once.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Largest inbound message in bytes (default 1 MiB); bigger closes with 1009.
    pub fn max_frame_bytes(mut self, bytes: usize) -> Self {
        self.limits.max_frame_bytes = bytes;
        self
    }

    /// Requests in flight per connection (default 64).
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.limits.max_in_flight = n;
        self
    }

    /// Outbound queue size in frames (default 1024) and the slow-consumer policy (default close).
    pub fn outbound_queue(mut self, frames: usize, policy: SlowConsumerPolicy) -> Self {
        self.limits.outbound_queue = frames;
        self.limits.slow_consumer = policy;
        self
    }

    /// Outbound queue size in bytes (default 4 MiB); see [`Limits::outbound_queue_bytes`].
    pub fn outbound_queue_bytes(mut self, bytes: usize) -> Self {
        self.limits.outbound_queue_bytes = bytes;
        self
    }

    /// How long one batch of outbound frames may take to write (default 10 s); a slower client
    /// is closed with 1008 "slow consumer".
    pub fn write_timeout(mut self, t: Duration) -> Self {
        self.limits.write_timeout = t;
        self
    }

    /// Open connections (default 10 000); one more upgrade gets 503.
    pub fn max_connections(mut self, n: usize) -> Self {
        self.limits.max_connections = n;
        self
    }

    /// Time to complete the upgrade request (default 5 s); past it, HTTP 408.
    pub fn upgrade_timeout(mut self, t: Duration) -> Self {
        self.limits.upgrade_timeout = t;
        self
    }

    /// Sockets whose upgrade request has not arrived yet (default 1000); one more pushes out
    /// the oldest (answered 503). They do not count against
    /// [`max_connections`](Self::max_connections).
    pub fn max_pending_upgrades(mut self, n: usize) -> Self {
        self.limits.max_pending_upgrades = n;
        self
    }

    /// How long an inbound message may stay incomplete (default 10 s); past it, 1008. See
    /// [`Limits::message_timeout`].
    pub fn message_timeout(mut self, t: Duration) -> Self {
        self.limits.message_timeout = t;
        self
    }

    /// Bytes an incomplete inbound message may hold without progressing (default 64 KiB), and
    /// how long it may go without a byte of it arriving while it holds more (default 2 s);
    /// past both, 1008 "message stalled". See [`Limits::max_stalled_message_bytes`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use wskit::server::Server;
    /// let _b = Server::<()>::builder().stalled_message(16 * 1024, Duration::from_secs(5));
    /// ```
    pub fn stalled_message(mut self, bytes: usize, timeout: Duration) -> Self {
        self.limits.max_stalled_message_bytes = bytes;
        self.limits.message_stall_timeout = timeout;
        self
    }

    /// Bytes held in incomplete inbound messages across the server (default 64 MiB); the
    /// connection that goes over it is closed with 1008. See
    /// [`Limits::max_partial_message_bytes`].
    pub fn max_partial_message_bytes(mut self, bytes: usize) -> Self {
        self.limits.max_partial_message_bytes = bytes;
        self
    }

    /// Frames and bytes per second each connection may send, every frame counted before it is
    /// decoded (default: no budget); a connection over it is not read until it is within it
    /// again. See [`InboundBudget`].
    ///
    /// ```
    /// use wskit::server::{InboundBudget, Server};
    /// let _b = Server::<()>::builder().inbound_budget(InboundBudget::new(100, 256 * 1024));
    /// ```
    pub fn inbound_budget(mut self, budget: InboundBudget) -> Self {
        self.limits.inbound_budget = Some(budget);
        self
    }

    /// Topics per connection (default 1000).
    pub fn max_topics_per_connection(mut self, n: usize) -> Self {
        self.limits.max_topics_per_connection = n;
        self
    }

    /// How long a graceful shutdown waits for handlers in flight (default 10 s).
    pub fn shutdown_timeout(mut self, t: Duration) -> Self {
        self.limits.shutdown_timeout = t;
        self
    }

    /// RFC 6455 pings (default every 30 s, 5 s pong timeout); `None` turns them off.
    pub fn heartbeat(mut self, heartbeat: Option<Heartbeat>) -> Self {
        self.heartbeat = heartbeat;
        self
    }

    /// The pub/sub backend (default: [`MemoryPubSub`]; many servers as one:
    /// [`RedisPubSub`](crate::pubsub::RedisPubSub), feature `redis`). `build` starts it (a
    /// cluster backend connects then, in the background).
    pub fn pubsub(mut self, backend: impl PubSub) -> Self {
        self.pubsub = Some(Arc::new(backend));
        self
    }

    /// Checks the configuration and builds the route table.
    pub fn build(self) -> Result<Server<D>, BuildError> {
        let limits = self.limits;
        for (value, name) in [
            (limits.max_frame_bytes, "max_frame_bytes"),
            (limits.max_in_flight, "max_in_flight"),
            (limits.outbound_queue, "outbound_queue"),
            (limits.outbound_queue_bytes, "outbound_queue_bytes"),
            (limits.max_connections, "max_connections"),
            (
                limits.max_partial_message_bytes,
                "max_partial_message_bytes",
            ),
        ] {
            if value == 0 {
                return Err(BuildError::InvalidLimit(name));
            }
        }
        let mut routes: RouteTable<Route<D>> = RouteTable::default();
        for (i, service) in self.services.iter().enumerate() {
            let desc = service.description();
            for msg in desc.messages {
                if !matches!(msg.kind, MessageKind::Message | MessageKind::Request) {
                    continue;
                }
                if let Some(route) = routes.get(msg.wire_type) {
                    return Err(BuildError::DuplicateType {
                        wire_type: msg.wire_type,
                        first: self.services[route.service].description().name,
                        second: desc.name,
                    });
                }
                let route = Route {
                    ty: msg.wire_type,
                    service: i,
                    chain: None,
                    fast: service.__decodes_unparsed(),
                };
                routes.insert(msg.wire_type, route);
            }
        }
        let auth = match self.auth {
            Some(auth) => auth,
            None => unit_auth::<D>().ok_or(BuildError::MissingAuth)?,
        };
        let global_chain: Option<Chain<D>> =
            (!self.middleware.is_empty()).then(|| self.middleware.clone().into());
        let mut per: HashMap<&'static str, Vec<Arc<dyn Middleware<D>>>> = HashMap::new();
        for (ty, mw) in self.per_type {
            per.entry(ty)
                .or_insert_with(|| self.middleware.clone())
                .push(mw);
        }
        for (ty, route) in routes.iter_mut() {
            route.chain = match per.remove(ty) {
                Some(chain) => Some(chain.into()),
                None => global_chain.clone(),
            };
        }
        let pubsub = self.pubsub.unwrap_or_else(|| Arc::new(MemoryPubSub::new()));
        pubsub
            .start(Arc::new(HookEvents(self.errors.clone())))
            .map_err(BuildError::PubSub)?;
        let rt = Arc::new(Runtime {
            ws_config: ws::Config::new(&limits.websocket_config()),
            limits,
            pubsub,
            subprotocols: self.subprotocols,
            origins: self.origins,
            errors: self.errors,
            connections: Mutex::new(HashMap::new()),
            reserved: AtomicUsize::new(0),
            upgrading: Mutex::new(PendingUpgrades::default()),
            in_flight: AtomicUsize::new(0),
            partial_bytes: AtomicUsize::new(0),
            draining: AtomicBool::new(false),
            idle: Notify::new(),
            shutdown: CancellationToken::new(),
            tracker: TaskTracker::new(),
        });
        Ok(Server {
            shared: Arc::new(ServerState {
                rt,
                services: self.services,
                routes,
                auth,
                hooks: self.hooks,
                heartbeat: self.heartbeat,
                http: self.http,
            }),
        })
    }
}

/// Accept-everyone auth, available when the connection data is `()`.
fn unit_auth<D: Send + Sync + 'static>() -> Option<AuthFn<D>> {
    let probe: Box<dyn Any> = Box::new(());
    probe.downcast::<D>().ok()?;
    Some(auth::boxed(|_req: &http::Request<()>| {
        let unit: Box<dyn Any + Send> = Box::new(());
        let data = unit
            .downcast::<D>()
            .map(|d| *d)
            .map_err(|_| Rejection::unauthorized());
        std::future::ready(data)
    }))
}
