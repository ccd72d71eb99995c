//! [`RedisPubSub`]: the options, and the [`PubSub`] impl that starts the node's tasks.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use futures_util::future::BoxFuture;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::super::backend::{
    BusEvents, ClientId, ClusterCount, Matched, PubSub, PubSubError, Publication, Subscriber,
};
use super::super::bus_stats::BusStats;
use super::super::envelope;
use super::super::memory::MemoryPubSub;
use super::control;
use super::node::{Node, Options, backend};
use super::{publisher, subscriber};

/// Publications waiting for the publisher connection, at most, before `publish` fails at once.
const DEFAULT_MAX_QUEUED: usize = 100_000;

/// The Redis pub/sub backend: many wskit servers (and ws-kit nodes) behind a load balancer act as
/// one, through one Redis, on ws-kit's bus format (PROTOCOL.md section 6, "Across servers").
///
/// Each server (node) keeps its own subscribers in memory and holds two Redis connections: one
/// `PSUBSCRIBE <prefix>*` connection that receives every publication of the cluster, and one
/// that `PUBLISH`es ws-kit's envelope `{"topic","payload","type","meta"}` to `<prefix><topic>`.
///
/// **Delivery comes only from the bus**, as in ws-kit: the publishing node does not deliver to
/// its own subscribers at once, it delivers what comes back from Redis like every other node.
/// So every subscriber, on any node (ws-kit's included), sees the publications of a topic in one
/// order, Redis's; a subscriber gets each publication exactly once while the bus is up (one
/// pattern subscription per node, no echo to filter, nothing in the envelope that ws-kit nodes
/// would pass on to their clients); a publisher's publications arrive in the order it called
/// `publish` (they go out in that order on one connection, pipelined); and a publication Redis
/// refused or never received reached nobody, local subscribers included (no half-delivered
/// publication). One whose acknowledgement was lost (the reply timed out, or the connection
/// dropped after the `PUBLISH` went out) fails too but may have reached every node: a failed
/// `publish` means "not known to be delivered". The cost is one round trip to Redis before local
/// subscribers get a publication.
///
/// **Failures.**
/// - *Redis down at start*: the server still builds and starts; both connections are retried in
///   the background (backoff from 100 ms to 5 s), each `publish` fails with
///   [`PubSubError::Backend`] until Redis answers, and the error hooks get
///   [`BusEvent::Disconnected`](super::super::BusEvent::Disconnected). To refuse to start
///   instead, check first with [`RedisPubSub::ping`].
/// - *Redis lost while serving*: `publish` returns [`PubSubError::Backend`] (a handler sees it
///   as `UNAVAILABLE` through `?`) and the server reports it to its error hooks
///   ([`BusEvent::PublishFailed`](super::super::BusEvent::PublishFailed)); local subscribers do
///   not get it either (delivery comes only from the bus).
/// - *The subscriber connection drops* (Redis restarted, `CLIENT KILL`, network; a silent one is
///   found by a `PING` every 5 s, [`RedisPubSub::health_check`]): it is reconnected with backoff
///   and subscribes again; what the cluster published meanwhile is
///   lost for this node (delivery is at most once), and the node reports the gap:
///   [`BusEvent::Gap`](super::super::BusEvent::Gap) to the error hooks, and
///   [`BusStats::gaps`].
/// - *A malformed bus message* (not a well-formed envelope) is skipped, counted
///   ([`BusStats::malformed`]) and reported
///   ([`BusEvent::Malformed`](super::super::BusEvent::Malformed)).
///
/// `publish` returns [`Matched::Nodes`]: how many nodes Redis handed the publication to.
/// [`ServerHandle::cluster_subscriber_count`](crate::server::ServerHandle::cluster_subscriber_count)
/// asks the other wskit nodes over control messages that ws-kit nodes ignore.
///
/// Only classic `PUBLISH`/`PSUBSCRIBE` is used: no Redis Cluster sharded pub/sub.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use wskit::pubsub::RedisPubSub;
/// use wskit::server::Server;
///
/// let bus = RedisPubSub::connect("redis://127.0.0.1:6379").prefix("app:");
/// bus.ping().await?; // optional: refuse to start without Redis
/// let stats = bus.stats(); // gaps, malformed messages, publications
/// let server = Server::<()>::builder() /* .service(Chat::server(handler)) */
///     .pubsub(bus)
///     .build()?;
/// stats.subscribed().await; // on the bus
/// server.serve("127.0.0.1:3000").await?;
/// # Ok(())
/// # }
/// ```
pub struct RedisPubSub {
    client: Result<redis::Client, String>,
    options: Options,
    local: Arc<MemoryPubSub>,
    stats: BusStats,
    node: OnceLock<Arc<Node>>,
    stop: CancellationToken,
}

impl fmt::Debug for RedisPubSub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisPubSub")
            .field("options", &self.options)
            .field("started", &self.node.get().is_some())
            .finish_non_exhaustive()
    }
}

impl RedisPubSub {
    /// A backend for the Redis at `url` (`redis://[user:password@]host:port[/db]`). Nothing is
    /// connected until the server is built; a bad URL fails the build
    /// ([`BuildError::PubSub`](crate::server::BuildError::PubSub)).
    pub fn connect(url: &str) -> Self {
        let client = redis::Client::open(url).map_err(|e| format!("Redis URL {url:?}: {e}"));
        RedisPubSub {
            client,
            options: Options {
                prefix: String::new(),
                count_timeout: Duration::from_secs(5),
                publish_timeout: Duration::from_secs(5),
                backoff_min: Duration::from_millis(100),
                backoff_max: Duration::from_secs(5),
                health_every: Duration::from_secs(5),
                max_queued: DEFAULT_MAX_QUEUED,
            },
            local: Arc::new(MemoryPubSub::new()),
            stats: BusStats::new(),
            node: OnceLock::new(),
            stop: CancellationToken::new(),
        }
    }

    /// The channel prefix (default `""`): a topic's channel is `<prefix><topic>`, and the node
    /// receives `<prefix>*`. Nodes of one application share it; ws-kit's adapter takes the same.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.options.prefix = prefix.into();
        self
    }

    /// How long a cluster-wide subscriber count waits for the other nodes (default 5 s).
    pub fn count_timeout(mut self, timeout: Duration) -> Self {
        self.options.count_timeout = timeout;
        self
    }

    /// How long `publish` waits for Redis's reply (default 5 s) before it fails.
    pub fn publish_timeout(mut self, timeout: Duration) -> Self {
        self.options.publish_timeout = timeout;
        self
    }

    /// The subscriber connection's reconnection backoff: from `min`, doubling, up to `max`
    /// (default 100 ms to 5 s).
    pub fn reconnect_backoff(mut self, min: Duration, max: Duration) -> Self {
        self.options.backoff_min = min;
        self.options.backoff_max = max.max(min);
        self
    }

    /// How often the subscriber connection is checked with a `PING` (default every 5 s; no
    /// answer within the publish timeout counts as a lost connection). A connection that died
    /// without a word (a network partition, a host gone) is found this way.
    pub fn health_check(mut self, every: Duration) -> Self {
        self.options.health_every = every.max(Duration::from_millis(10));
        self
    }

    /// The counters and bus state of this node; a cheap handle that stays valid after the
    /// backend moved into the server.
    pub fn stats(&self) -> BusStats {
        self.stats.clone()
    }

    /// Connects once and sends `PING`: whether Redis answers now. For applications that would
    /// rather not start without Redis (the backend itself retries in the background).
    pub async fn ping(&self) -> Result<(), PubSubError> {
        let client = self.client.as_ref().map_err(backend)?;
        let ping = async {
            let mut conn = client.get_multiplexed_async_connection().await?;
            redis::cmd("PING").query_async::<String>(&mut conn).await
        };
        match tokio::time::timeout(self.options.publish_timeout, ping).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(backend(e)),
            Err(_) => Err(backend("no answer from Redis")),
        }
    }

    fn node(&self) -> Result<&Arc<Node>, PubSubError> {
        self.node
            .get()
            .ok_or_else(|| backend("the Redis backend is not started (build the server first)"))
    }
}

impl Drop for RedisPubSub {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Escapes Redis glob characters, so that the prefix matches only itself.
fn glob_escape(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl PubSub for RedisPubSub {
    fn subscribe(&self, topic: &str, subscriber: Subscriber) -> Result<(), PubSubError> {
        // Local only: the node's pattern subscription already receives every topic.
        self.local.subscribe(topic, subscriber)
    }

    fn unsubscribe(&self, topic: &str, client_id: ClientId) -> bool {
        self.local.unsubscribe(topic, client_id)
    }

    fn publish(&self, publication: Publication) -> BoxFuture<'_, Result<Matched, PubSubError>> {
        // Encoded and queued now, in call order, before the future is first polled.
        let queued = self.node().and_then(|node| {
            let message = envelope::encode(&publication)?;
            let channel = format!("{}{}", node.options.prefix, publication.topic);
            node.publish(channel, message)
        });
        Box::pin(async move {
            match queued?.await {
                Ok(Ok(nodes)) => Ok(Matched::Nodes(nodes)),
                Ok(Err(why)) => Err(backend(why)),
                Err(_) => Err(backend("the publisher stopped")),
            }
        })
    }

    fn subscriber_count(&self, topic: &str) -> usize {
        self.local.subscriber_count(topic)
    }

    fn cluster_subscriber_count(
        &self,
        topic: &str,
    ) -> BoxFuture<'_, Result<ClusterCount, PubSubError>> {
        let topic = topic.to_owned();
        Box::pin(async move { self.node()?.cluster_count(&topic).await })
    }

    fn start(&self, events: Arc<dyn BusEvents>) -> Result<(), PubSubError> {
        let client = self.client.clone().map_err(backend)?;
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(backend(
                "the backend starts its connections when the server is built: build it inside a tokio runtime",
            ));
        }
        let options = self.options.clone();
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.publish_timeout))
            .set_response_timeout(Some(options.publish_timeout))
            .set_number_of_retries(1)
            .set_min_delay(options.backoff_min)
            .set_max_delay(options.backoff_max);
        let conn =
            ConnectionManager::new_lazy_with_config(client.clone(), config).map_err(backend)?;
        let (outgoing, rx) = mpsc::unbounded_channel();
        let node = Arc::new(Node {
            id: uuid::Uuid::new_v4().to_string(),
            ctl_channel: format!("{}{}", options.prefix, control::CHANNEL),
            options,
            local: self.local.clone(),
            stats: self.stats.clone(),
            events,
            stop: self.stop.clone(),
            outgoing,
            queued: AtomicUsize::new(0),
            conn: conn.clone(),
            counts: Mutex::new(HashMap::new()),
        });
        if self.node.set(node.clone()).is_err() {
            return Err(backend(
                "this backend is already started (one server per backend)",
            ));
        }
        let pattern = format!("{}*", glob_escape(&node.options.prefix));
        tokio::spawn(publisher::run(node.clone(), conn, rx));
        tokio::spawn(subscriber::run(node, client, pattern));
        Ok(())
    }

    fn stop(&self) {
        self.stop.cancel();
    }
}
