//! Building a server: services, auth, hooks, middleware, limits; and the state they share.

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::auth::{self, AuthFn, Rejection};
use super::connection::{Closer, SHUTDOWN_CODE, SHUTDOWN_REASON};
use super::context::{Connection, PublishOptions, encode_publication};
use super::heartbeat::Heartbeat;
use super::hooks::{self, CloseReason, ErrorEvent, Hooks};
use super::limits::{Limits, SlowConsumerPolicy};
use super::middleware::{Chain, Middleware};
use super::{Service, http};
use crate::Message;
use crate::describe::MessageKind;
use crate::pubsub::{ClientId, Matched, MemoryPubSub, PubSub, PubSubError};

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
        }
    }
}

impl std::error::Error for BuildError {}

/// The server state that does not depend on the connection data type.
pub(crate) struct Runtime {
    pub limits: Limits,
    pub ws_config: WebSocketConfig,
    pub pubsub: Arc<dyn PubSub>,
    pub subprotocols: Vec<String>,
    pub origins: auth::OriginPolicy,
    connections: Mutex<HashMap<ClientId, Arc<dyn Closer>>>,
    /// Connections open or being upgraded (counted against `max_connections`).
    reserved: AtomicUsize,
    /// Sockets whose upgrade request is being read, oldest first (at most
    /// `max_pending_upgrades` live ones; finished ones are skipped and pruned).
    upgrading: Mutex<PendingUpgrades>,
    in_flight: AtomicUsize,
    /// A shutdown has started (set just before `shutdown` is cancelled). It waits for
    /// `in_flight` to reach 0: only then is `idle` notified.
    draining: AtomicBool,
    idle: Notify,
    /// Stop accepting.
    pub shutdown: CancellationToken,
    /// Parent of every connection's closing token.
    pub shutdown_now: CancellationToken,
    pub tracker: TaskTracker,
}

impl Runtime {
    pub(crate) fn register(&self, id: ClientId, conn: Arc<dyn Closer>) {
        self.connections
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, conn);
    }

    pub(crate) fn unregister(&self, id: ClientId) {
        self.connections
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
    }

    /// Whether a shutdown has started: new requests are refused. An atomic, read for every
    /// request, rather than `shutdown.is_cancelled()`, which takes a lock.
    pub(crate) fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    pub(crate) fn request_started(&self) {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn request_done(&self) {
        // SeqCst with the shutdown's store of `draining` and load of `in_flight`: one of the
        // two sees the other.
        if self.in_flight.fetch_sub(1, Ordering::SeqCst) == 1
            && self.draining.load(Ordering::SeqCst)
        {
            self.idle.notify_waiters();
        }
    }

    /// Takes a connection slot, or `None` at the limit.
    pub(crate) fn reserve(self: &Arc<Self>) -> Option<ConnSlot> {
        let before = self.reserved.fetch_add(1, Ordering::AcqRel);
        if before >= self.limits.max_connections {
            self.reserved.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(ConnSlot { rt: self.clone() })
    }

    /// A place among the sockets whose upgrade request is being read. When
    /// `max_pending_upgrades` are, the oldest of them is evicted (its [`UpgradeSlot::evicted`]
    /// fires and it is answered 503): sockets that hold a place without sending a request are
    /// pushed out by new ones, instead of keeping every new client out.
    pub(crate) fn reserve_upgrade(self: &Arc<Self>) -> UpgradeSlot {
        let entry = Arc::new(PendingEntry::default());
        let mut pending = self.upgrading.lock().unwrap_or_else(|e| e.into_inner());
        pending.live += 1;
        pending.queue.push_back(entry.clone());
        while pending.live > self.limits.max_pending_upgrades.max(1) {
            let Some(oldest) = pending.queue.pop_front() else {
                break;
            };
            if !oldest.done.load(Ordering::Acquire) && !oldest.evict.is_cancelled() {
                oldest.evict.cancel();
                pending.live -= 1;
            }
        }
        // Entries that finished behind the front: prune now and then.
        if pending.queue.len() > 2 * self.limits.max_pending_upgrades.max(16) {
            pending
                .queue
                .retain(|e| !e.done.load(Ordering::Acquire) && !e.evict.is_cancelled());
        }
        UpgradeSlot {
            rt: self.clone(),
            entry,
        }
    }

    fn open_connections(&self) -> usize {
        self.connections
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    /// Graceful shutdown: stop accepting, wait for handlers in flight up to the limit, close
    /// every socket with 1001, wait for the connections to end.
    pub(crate) async fn shutdown(&self) {
        self.draining.store(true, Ordering::SeqCst);
        self.shutdown.cancel();
        let wait_idle = async {
            loop {
                let idle = self.idle.notified();
                if self.in_flight.load(Ordering::SeqCst) == 0 {
                    return;
                }
                idle.await;
            }
        };
        if tokio::time::timeout(self.limits.shutdown_timeout, wait_idle)
            .await
            .is_err()
        {
            tracing::warn!("shutdown: handlers still in flight after the timeout; cancelling them");
        }
        let conns: Vec<Arc<dyn Closer>> = self
            .connections
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        for conn in conns {
            conn.close_with(SHUTDOWN_CODE, SHUTDOWN_REASON);
        }
        self.shutdown_now.cancel();
        self.tracker.close();
        let grace = self.limits.close_timeout * 2 + Duration::from_millis(100);
        let _ = tokio::time::timeout(grace, self.tracker.wait()).await;
    }
}

/// A connection slot; released on drop.
pub(crate) struct ConnSlot {
    rt: Arc<Runtime>,
}

impl Drop for ConnSlot {
    fn drop(&mut self) {
        self.rt.reserved.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The sockets whose upgrade request is being read.
#[derive(Default)]
pub(crate) struct PendingUpgrades {
    /// Oldest first; may hold finished entries.
    queue: std::collections::VecDeque<Arc<PendingEntry>>,
    /// Entries neither finished nor evicted.
    live: usize,
}

#[derive(Default)]
struct PendingEntry {
    done: AtomicBool,
    evict: CancellationToken,
}

/// A socket's place among those whose upgrade request is being read; released when dropped.
pub(crate) struct UpgradeSlot {
    rt: Arc<Runtime>,
    entry: Arc<PendingEntry>,
}

impl UpgradeSlot {
    /// Fires when a newer socket pushed this one out.
    pub(crate) async fn evicted(&self) {
        self.entry.evict.cancelled().await;
    }
}

impl Drop for UpgradeSlot {
    fn drop(&mut self) {
        let mut pending = self.rt.upgrading.lock().unwrap_or_else(|e| e.into_inner());
        if !self.entry.evict.is_cancelled() {
            pending.live -= 1;
        }
        self.entry.done.store(true, Ordering::Release);
        if pending
            .queue
            .front()
            .is_some_and(|e| Arc::ptr_eq(e, &self.entry))
        {
            pending.queue.pop_front();
        }
    }
}

/// Where one wire type goes.
pub(crate) struct Route<D> {
    /// The wire type, with a static lifetime.
    pub ty: &'static str,
    /// Index of the service in `Shared::services`.
    pub service: usize,
    /// The middleware around its handler (global, then per type); `None` when there is none.
    pub chain: Option<Chain<D>>,
    /// Whether its service decodes frames the server has not parsed ([`Service::__decodes_unparsed`]):
    /// only then may a frame be routed on its peeked type.
    pub fast: bool,
}

/// Everything a server's connections share.
pub(crate) struct Shared<D> {
    pub rt: Arc<Runtime>,
    pub services: Vec<Box<dyn Service<D>>>,
    pub routes: HashMap<&'static str, Route<D>>,
    pub auth: AuthFn<D>,
    pub hooks: Hooks<D>,
    pub heartbeat: Option<Heartbeat>,
}

/// A wskit server: serve it on an address, or mount it in an axum router (feature `axum`).
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use wskit::server::Server;
/// let server = Server::<()>::builder() /* .service(Chat::server(handler)) */
///     .build()
///     .expect("valid server");
/// server.serve("127.0.0.1:3000").await // until Ctrl-C or SIGTERM
/// # }
/// ```
pub struct Server<D> {
    pub(crate) shared: Arc<Shared<D>>,
}

impl<D> Clone for Server<D> {
    fn clone(&self) -> Self {
        Server {
            shared: self.shared.clone(),
        }
    }
}

impl<D: Send + Sync + 'static> Server<D> {
    /// A builder with the defaults of [`Limits`] and [`Heartbeat`], the in-memory pub/sub, and
    /// no auth (every upgrade accepted, allowed only when `D` is `()`).
    pub fn builder() -> ServerBuilder<D> {
        ServerBuilder {
            services: Vec::new(),
            auth: None,
            hooks: Hooks::default(),
            middleware: Vec::new(),
            per_type: Vec::new(),
            limits: Limits::default(),
            heartbeat: Some(Heartbeat::default()),
            pubsub: None,
            subprotocols: Vec::new(),
            origins: auth::OriginPolicy::Any,
        }
    }

    /// A handle to publish from outside handlers, count connections and shut down.
    pub fn handle(&self) -> ServerHandle {
        ServerHandle {
            rt: self.shared.rt.clone(),
        }
    }
}

/// Publishes from outside handlers, counts connections, shuts the server down. Cheap to clone.
///
/// ```
/// use wskit::server::{PublishOptions, ServerHandle};
/// async fn announce<M: wskit::Message>(handle: &ServerHandle, msg: &M) {
///     let matched = handle.publish("news", msg, PublishOptions::default()).await;
///     println!("{matched:?} subscribers; {} connections", handle.connection_count());
/// }
/// ```
#[derive(Clone)]
pub struct ServerHandle {
    rt: Arc<Runtime>,
}

impl fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerHandle")
            .field("connections", &self.connection_count())
            .finish()
    }
}

impl ServerHandle {
    /// Publishes `msg` to `topic` (no connection to exclude; `exclude_self` is ignored).
    pub async fn publish<M: Message>(
        &self,
        topic: &str,
        msg: &M,
        options: PublishOptions,
    ) -> Result<Matched, PubSubError> {
        let publication = encode_publication(topic, msg, options.meta.as_ref(), None)?;
        self.rt.pubsub.publish(publication).await
    }

    /// Open connections.
    pub fn connection_count(&self) -> usize {
        self.rt.open_connections()
    }

    /// Local subscribers of a topic.
    pub fn subscriber_count(&self, topic: &str) -> usize {
        self.rt.pubsub.subscriber_count(topic)
    }

    /// Graceful shutdown: stop accepting, wait for handlers in flight (up to
    /// [`Limits::shutdown_timeout`]), close every socket with 1001, wait for the connections.
    pub async fn shutdown(&self) {
        self.rt.shutdown().await
    }

    /// Whether a shutdown has started.
    pub fn is_shutting_down(&self) -> bool {
        self.rt.shutdown.is_cancelled()
    }
}

/// Builds a [`Server`]. Defaults: see [`Limits`] (1 MiB frames, 64 requests in flight, 1024
/// queued frames / 4 MiB with [`SlowConsumerPolicy::Close`], 10 s write timeout, 10 000 connections, 10 s upgrade timeout,
/// 1000 topics per connection, 10 s shutdown timeout) and [`Heartbeat`] (30 s / 5 s).
pub struct ServerBuilder<D> {
    services: Vec<Box<dyn Service<D>>>,
    auth: Option<AuthFn<D>>,
    hooks: Hooks<D>,
    middleware: Vec<Arc<dyn Middleware<D>>>,
    per_type: Vec<(&'static str, Arc<dyn Middleware<D>>)>,
    limits: Limits,
    heartbeat: Option<Heartbeat>,
    pubsub: Option<Arc<dyn PubSub>>,
    subprotocols: Vec<String>,
    origins: auth::OriginPolicy,
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
        self.hooks.error.push(Arc::new(f));
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

    /// The pub/sub backend (default: [`MemoryPubSub`]).
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
        ] {
            if value == 0 {
                return Err(BuildError::InvalidLimit(name));
            }
        }
        let mut routes: HashMap<&'static str, Route<D>> = HashMap::new();
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
        let rt = Arc::new(Runtime {
            ws_config: limits.websocket_config(),
            limits,
            pubsub: self.pubsub.unwrap_or_else(|| Arc::new(MemoryPubSub::new())),
            subprotocols: self.subprotocols,
            origins: self.origins,
            connections: Mutex::new(HashMap::new()),
            reserved: AtomicUsize::new(0),
            upgrading: Mutex::new(PendingUpgrades::default()),
            in_flight: AtomicUsize::new(0),
            draining: AtomicBool::new(false),
            idle: Notify::new(),
            shutdown: CancellationToken::new(),
            shutdown_now: CancellationToken::new(),
            tracker: TaskTracker::new(),
        });
        Ok(Server {
            shared: Arc::new(Shared {
                rt,
                services: self.services,
                routes,
                auth,
                hooks: self.hooks,
                heartbeat: self.heartbeat,
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
