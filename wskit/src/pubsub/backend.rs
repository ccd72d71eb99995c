//! The backend trait and what it handles: topics, subscribers, publications, client ids.

use std::fmt;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use wskit_core::Error;

pub use wskit_core::topic::MAX_TOPIC_LEN;

/// The number of topics one connection may hold unless configured otherwise.
pub const DEFAULT_MAX_TOPICS_PER_CONNECTION: usize = 1000;

/// A connection's id: a UUID, sent in the `x-client-id` upgrade response header.
///
/// ```
/// let id = wskit::pubsub::ClientId::new();
/// assert_eq!(id.to_string().len(), 36);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(uuid::Uuid);

impl ClientId {
    /// A fresh random (v4) id.
    pub fn new() -> Self {
        ClientId(uuid::Uuid::new_v4())
    }

    /// The UUID.
    pub fn as_uuid(&self) -> uuid::Uuid {
        self.0
    }

    /// The id of this UUID (as read back from a cluster bus).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn from_uuid(id: uuid::Uuid) -> Self {
        ClientId(id)
    }
}

impl Default for ClientId {
    fn default() -> Self {
        ClientId::new()
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// Why a topic operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PubSubError {
    /// The topic name breaks the rules of [`check_topic`].
    InvalidTopic(String),
    /// The connection already holds its maximum number of topics.
    TooManyTopics {
        /// The limit in force.
        limit: usize,
    },
    /// The connection is closed or closing.
    ConnectionClosed,
    /// The backend failed (a cluster backend lost its bus, for instance).
    Backend(String),
    /// The message could not be encoded (its `Serialize` impl failed): nothing was published.
    Encode(String),
}

impl fmt::Display for PubSubError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PubSubError::InvalidTopic(why) => write!(f, "invalid topic: {why}"),
            PubSubError::TooManyTopics { limit } => {
                write!(f, "this connection already holds {limit} topics")
            }
            PubSubError::ConnectionClosed => f.write_str("connection closed"),
            PubSubError::Backend(why) => write!(f, "pub/sub backend failed: {why}"),
            PubSubError::Encode(why) => write!(f, "message could not be encoded: {why}"),
        }
    }
}

impl std::error::Error for PubSubError {}

impl From<PubSubError> for Error {
    /// `INVALID_ARGUMENT` for a bad topic, `RESOURCE_EXHAUSTED` for a full set, `UNAVAILABLE`
    /// for a closed connection or a failed backend (PROTOCOL.md section 6), `INTERNAL` for a
    /// message that could not be encoded.
    fn from(e: PubSubError) -> Error {
        match &e {
            PubSubError::InvalidTopic(_) => Error::invalid_argument(e.to_string()),
            PubSubError::TooManyTopics { .. } => Error::resource_exhausted(e.to_string()),
            PubSubError::ConnectionClosed | PubSubError::Backend(_) => {
                Error::unavailable(e.to_string())
            }
            PubSubError::Encode(_) => Error::internal(e.to_string()),
        }
    }
}

/// Checks a topic name: 1 to 128 characters of `[A-Za-z0-9:_./-]`.
///
/// ```
/// use wskit::pubsub::{check_topic, PubSubError};
/// assert!(matches!(check_topic(&"a".repeat(129)), Err(PubSubError::InvalidTopic(_))));
/// ```
pub fn check_topic(topic: &str) -> Result<(), PubSubError> {
    wskit_core::topic::check(topic).map_err(PubSubError::InvalidTopic)
}

/// One encoded text frame, as a backend hands it to subscribers: a clone shares the bytes (a
/// fan-out copies nothing). wskit's own type, so that a backend does not depend on the
/// WebSocket library the server uses.
///
/// ```
/// let frame = wskit::pubsub::Frame::from(r#"{"type":"X"}"#);
/// let copy = frame.clone();
/// assert_eq!(copy.as_str(), r#"{"type":"X"}"#);
/// assert_eq!(frame.as_str().as_ptr(), copy.as_str().as_ptr());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame(Utf8Bytes);

impl Frame {
    /// The frame's text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The frame's bytes (UTF-8).
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// A frame of this text, as the server's socket writes it.
    pub(crate) fn from_text(text: Utf8Bytes) -> Frame {
        Frame(text)
    }

    /// The frame as the server's socket writes it.
    pub(crate) fn into_text(self) -> Utf8Bytes {
        self.0
    }
}

impl From<String> for Frame {
    fn from(text: String) -> Self {
        Frame(text.into())
    }
}

impl From<&str> for Frame {
    fn from(text: &str) -> Self {
        Frame(text.into())
    }
}

/// Where a backend delivers frames for one subscriber: the connection.
///
/// `deliver` must not block; the server's implementation writes the frame straight to the
/// socket when the connection has nothing queued (a non-blocking write), else queues it and
/// applies the slow-consumer policy.
pub trait FrameSink: Send + Sync + 'static {
    /// Hands one encoded frame to the subscriber.
    fn deliver(&self, frame: Frame);

    /// Reads what [`deliver`](Self::deliver) reads first. A fan-out calls it for a batch of
    /// subscribers before delivering to each of them: their state is then fetched into the
    /// cache together, instead of one cache miss after another between socket writes. The
    /// default does nothing.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use wskit::pubsub::{Frame, FrameSink};
    ///
    /// struct Counter(AtomicUsize);
    /// impl FrameSink for Counter {
    ///     fn deliver(&self, _frame: Frame) {
    ///         self.0.fetch_add(1, Ordering::Relaxed);
    ///     }
    ///     fn warm(&self) {
    ///         // A load of what `deliver` updates, ahead of it.
    ///         std::hint::black_box(self.0.load(Ordering::Relaxed));
    ///     }
    /// }
    /// let sink = Counter(AtomicUsize::new(0));
    /// sink.warm();
    /// sink.deliver("{}".into());
    /// assert_eq!(sink.0.load(Ordering::Relaxed), 1);
    /// ```
    fn warm(&self) {}
}

/// One local subscriber: its connection id and where its frames go.
#[derive(Clone)]
pub struct Subscriber {
    /// The subscribing connection.
    pub client_id: ClientId,
    /// Its outbound queue.
    pub sink: Arc<dyn FrameSink>,
}

impl fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscriber")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// One publication, already encoded as the frame subscribers receive
/// (`{"type":..,"meta":..,"payload":..}`; the topic is not on the wire).
#[derive(Debug, Clone)]
pub struct Publication {
    /// The topic.
    pub topic: String,
    /// The message's wire type (a cluster backend writes it on its bus).
    pub wire_type: &'static str,
    /// The frame, shared by every subscriber.
    pub frame: Frame,
    /// A subscriber that must not receive it (the publisher, when it excluded itself).
    pub exclude: Option<ClientId>,
}

/// How many subscribers a publication reached, and whether that is a local or a cluster-wide
/// figure.
///
/// ```
/// use wskit::pubsub::Matched;
/// assert_eq!(Matched::Exact(3).exact(), Some(3));
/// // Through Redis: the bus handed it to two nodes; their subscribers are not counted.
/// assert_eq!(Matched::Nodes(2).exact(), None);
/// assert!(Matched::Nodes(2).is_cluster() && !Matched::Exact(3).is_cluster());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Matched {
    /// Local: exactly this many subscribers on this server, which is all there is (the
    /// in-memory backend).
    Exact(usize),
    /// Unknown.
    Unknown,
    /// Cluster-wide: the bus handed the publication to this many nodes (Redis's reply to
    /// `PUBLISH`: wskit and ws-kit nodes alike, the publisher's own included). How many
    /// subscribers they have is not known at publish time: ask
    /// [`PubSub::cluster_subscriber_count`].
    Nodes(usize),
}

impl Matched {
    /// The exact count, if known.
    pub fn exact(self) -> Option<usize> {
        match self {
            Matched::Exact(n) => Some(n),
            Matched::Unknown | Matched::Nodes(_) => None,
        }
    }

    /// Whether the figure is cluster-wide ([`Matched::Nodes`]) rather than this server's.
    pub fn is_cluster(self) -> bool {
        matches!(self, Matched::Nodes(_))
    }
}

/// A topic's subscribers across a cluster, as the nodes that answered in time reported them.
///
/// ```
/// use wskit::pubsub::ClusterCount;
/// let count = ClusterCount { subscribers: 7, nodes_answered: 2, nodes_expected: 3 };
/// assert!(!count.is_complete()); // one node did not answer: 7 is a lower bound
/// assert!(ClusterCount::local(4).is_complete());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClusterCount {
    /// The subscribers on the nodes that answered (this one included).
    pub subscribers: usize,
    /// The nodes that answered, this one included.
    pub nodes_answered: usize,
    /// The nodes the bus reported when asked (this one included).
    pub nodes_expected: usize,
}

impl ClusterCount {
    /// One node, which is the whole cluster (what a single-server backend answers).
    pub fn local(subscribers: usize) -> Self {
        ClusterCount {
            subscribers,
            nodes_answered: 1,
            nodes_expected: 1,
        }
    }

    /// Whether every node the bus reported answered (then `subscribers` is the cluster's count).
    pub fn is_complete(&self) -> bool {
        self.nodes_answered >= self.nodes_expected
    }
}

/// Something a cluster backend reports about its bus, outside any request: given to the
/// server's error hooks as [`ErrorCause::PubSub`](crate::server::ErrorCause::PubSub).
///
/// ```
/// use wskit::pubsub::BusEvent;
/// let gap = BusEvent::Gap { missed_ms: 1200 };
/// assert!(gap.to_string().contains("1200 ms"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BusEvent {
    /// A publication did not reach the bus; the publisher got [`PubSubError::Backend`] too.
    PublishFailed {
        /// The topic.
        topic: String,
        /// Why.
        reason: String,
    },
    /// The node's subscriber connection to the bus was lost or could not be made; it is being
    /// retried with backoff. Until it is back, this node's subscribers get nothing from the bus.
    Disconnected {
        /// Why.
        reason: String,
    },
    /// The subscriber connection is back (subscribed again) after being down this long:
    /// publications made in that time did not reach this node's subscribers and never will
    /// (delivery is at most once).
    Gap {
        /// How long the node was off the bus, in milliseconds.
        missed_ms: u64,
    },
    /// A bus message that is not a well-formed envelope was skipped (and counted).
    Malformed {
        /// The channel it came on.
        channel: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl fmt::Display for BusEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BusEvent::PublishFailed { topic, reason } => {
                write!(
                    f,
                    "publication to {topic:?} did not reach the bus: {reason}"
                )
            }
            BusEvent::Disconnected { reason } => {
                write!(f, "off the bus (reconnecting): {reason}")
            }
            BusEvent::Gap { missed_ms } => write!(
                f,
                "back on the bus after {missed_ms} ms: publications in that time were lost for this node"
            ),
            BusEvent::Malformed { channel, reason } => {
                write!(
                    f,
                    "skipped a malformed bus message on {channel:?}: {reason}"
                )
            }
        }
    }
}

/// Where a backend reports [`BusEvent`]s: the server passes its error hooks
/// ([`PubSub::start`]).
pub trait BusEvents: Send + Sync + 'static {
    /// Reports one event. Must not block.
    fn report(&self, event: BusEvent);
}

/// A pub/sub backend: stores subscriptions and delivers publications.
///
/// [`MemoryPubSub`](super::MemoryPubSub) is the default. A cluster backend
/// ([`RedisPubSub`](super::RedisPubSub) with feature `redis`, PROTOCOL.md section 6) implements the
/// same trait: it keeps the local subscribers as the memory backend does (it wraps one), and
/// `publish` sends the publication over its bus instead of delivering it directly; every node,
/// the publisher's included, delivers what arrives on the bus to its own subscribers, skipping
/// [`Publication::exclude`], and `publish` returns [`Matched::Nodes`]. It starts its connections
/// in [`start`](Self::start), reports what happens on its bus there ([`BusEvents`]), and answers
/// [`cluster_subscriber_count`](Self::cluster_subscriber_count) by asking the other nodes.
pub trait PubSub: Send + Sync + 'static {
    /// Adds `subscriber` to `topic` (idempotent).
    fn subscribe(&self, topic: &str, subscriber: Subscriber) -> Result<(), PubSubError>;
    /// Removes a connection from `topic`; whether it was subscribed.
    fn unsubscribe(&self, topic: &str, client_id: ClientId) -> bool;
    /// Delivers a publication to the topic's subscribers.
    fn publish(&self, publication: Publication) -> BoxFuture<'_, Result<Matched, PubSubError>>;
    /// How many local subscribers a topic has.
    fn subscriber_count(&self, topic: &str) -> usize;

    /// How many subscribers a topic has across the cluster. The default (a single-server
    /// backend): [`subscriber_count`](Self::subscriber_count), one node of one.
    fn cluster_subscriber_count(
        &self,
        topic: &str,
    ) -> BoxFuture<'_, Result<ClusterCount, PubSubError>> {
        let count = ClusterCount::local(self.subscriber_count(topic));
        Box::pin(std::future::ready(Ok(count)))
    }

    /// Called once, when the server is built (inside the tokio runtime that will serve it):
    /// a cluster backend starts its connections here and keeps `events` to report what happens
    /// on its bus. An error fails the build ([`BuildError::PubSub`](crate::server::BuildError::PubSub)).
    /// The default does nothing.
    fn start(&self, events: Arc<dyn BusEvents>) -> Result<(), PubSubError> {
        let _ = events;
        Ok(())
    }

    /// Called at the end of a graceful shutdown: a cluster backend leaves its bus. The default
    /// does nothing.
    fn stop(&self) {}
}
