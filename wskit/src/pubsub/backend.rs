//! The backend trait and what it handles: topics, subscribers, publications, client ids.

use std::fmt;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use wskit_core::Error;

/// The longest topic name accepted, in characters.
pub const MAX_TOPIC_LEN: usize = 128;

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
    if topic.is_empty() {
        return Err(PubSubError::InvalidTopic("empty topic name".into()));
    }
    if topic.len() > MAX_TOPIC_LEN {
        return Err(PubSubError::InvalidTopic(format!(
            "topic names have at most {MAX_TOPIC_LEN} characters"
        )));
    }
    if let Some(c) = topic
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '.' | '/' | '-')))
    {
        return Err(PubSubError::InvalidTopic(format!(
            "character {c:?} is not allowed (allowed: A-Z a-z 0-9 : _ . / -)"
        )));
    }
    Ok(())
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

    /// The frame as the server's socket writes it.
    pub(crate) fn into_text(self) -> Utf8Bytes {
        self.0
    }
}

impl From<Utf8Bytes> for Frame {
    fn from(text: Utf8Bytes) -> Self {
        Frame(text)
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

/// How many subscribers a publication reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matched {
    /// Exactly this many local subscribers (the in-memory backend).
    Exact(usize),
    /// Unknown (a cluster backend cannot count the other nodes' subscribers).
    Unknown,
}

impl Matched {
    /// The exact count, if known.
    pub fn exact(self) -> Option<usize> {
        match self {
            Matched::Exact(n) => Some(n),
            Matched::Unknown => None,
        }
    }
}

/// A pub/sub backend: stores subscriptions and delivers publications.
///
/// [`MemoryPubSub`](super::MemoryPubSub) is the default. A cluster backend (Redis, PROTOCOL.md section 6) implements
/// the same trait: it keeps the local subscribers as the memory backend does (it can wrap one),
/// and `publish` sends the publication over its bus instead of delivering it directly; every
/// node, the publisher's included, delivers what arrives on the bus to its own subscribers,
/// skipping [`Publication::exclude`], and `publish` returns [`Matched::Unknown`]. The bus message
/// is built from [`Publication::frame`] (parse it with [`wskit_core::wire::InboundFrame::parse`] for
/// its `meta` and `payload`), and a received one is turned back into a frame with
/// [`wskit_core::wire::encode_frame`].
pub trait PubSub: Send + Sync + 'static {
    /// Adds `subscriber` to `topic` (idempotent).
    fn subscribe(&self, topic: &str, subscriber: Subscriber) -> Result<(), PubSubError>;
    /// Removes a connection from `topic`; whether it was subscribed.
    fn unsubscribe(&self, topic: &str, client_id: ClientId) -> bool;
    /// Delivers a publication to the topic's subscribers.
    fn publish(&self, publication: Publication) -> BoxFuture<'_, Result<Matched, PubSubError>>;
    /// How many local subscribers a topic has.
    fn subscriber_count(&self, topic: &str) -> usize;
}
