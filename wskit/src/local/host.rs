//! What a host provides one connection: [`Host`], and the error its operations return.

use std::fmt;

use futures_util::future::LocalBoxFuture;
use wskit_core::Error;

/// One connection's side of the host: how wskit writes to its socket, closes it, reads the
/// clock, waits, and reaches the topics of the host's connections. Not `Send`: a host runs on
/// one thread (a Durable Object, a browser-like event loop).
///
/// ```
/// use wskit::local::{Host, HostError, LocalBoxFuture};
/// /// A connection that is already gone: every operation says so.
/// struct Gone;
/// impl Host for Gone {
///     fn send(&self, _: &str) -> Result<(), HostError> { Err(HostError::Closed) }
///     fn close(&self, _: u16, _: &str) {}
///     fn now_ms(&self) -> u64 { 0 }
///     fn sleep(&self, _: u64) -> LocalBoxFuture<'static, ()> { Box::pin(async {}) }
///     fn publish(&self, _: &str, _: &str, _: bool) -> Result<usize, HostError> { Err(HostError::Closed) }
///     fn subscribe(&self, _: &str) -> Result<(), HostError> { Err(HostError::Closed) }
///     fn unsubscribe(&self, _: &str) -> Result<(), HostError> { Err(HostError::Closed) }
/// }
/// assert_eq!(Gone.send("{}"), Err(HostError::Closed));
/// ```
pub trait Host: 'static {
    /// Writes one text frame to this connection's socket.
    fn send(&self, frame: &str) -> Result<(), HostError>;
    /// Closes this connection's socket with a close code and reason.
    fn close(&self, code: u16, reason: &str);
    /// The wall clock, in milliseconds since the Unix epoch (`std::time::SystemTime::now`
    /// panics on `wasm32-unknown-unknown`: the host knows the time).
    fn now_ms(&self) -> u64;
    /// Completes after `ms` milliseconds: RPC deadlines (`meta.timeoutMs`).
    fn sleep(&self, ms: u64) -> LocalBoxFuture<'static, ()>;
    /// Delivers a publication frame to the subscribers of `topic` among the host's connections
    /// (not to this one when `exclude_self`); how many it reached.
    fn publish(&self, topic: &str, frame: &str, exclude_self: bool) -> Result<usize, HostError>;
    /// Subscribes this connection to `topic` (a valid name: checked before). The host keeps the
    /// connection's topics (a Durable Object: in the socket's attachment, across hibernation).
    fn subscribe(&self, topic: &str) -> Result<(), HostError>;
    /// Unsubscribes this connection from `topic`.
    fn unsubscribe(&self, topic: &str) -> Result<(), HostError>;
}

/// Why a host operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HostError {
    /// The connection is closed or closing.
    Closed,
    /// The topic name breaks the rules of [`wskit::topic::check`](crate::topic::check).
    InvalidTopic(String),
    /// The message could not be encoded (its `Serialize` impl failed): nothing was sent.
    Encode(String),
    /// The host failed otherwise.
    Failed(String),
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostError::Closed => f.write_str("connection closed"),
            HostError::InvalidTopic(why) => write!(f, "invalid topic: {why}"),
            HostError::Encode(why) => write!(f, "message could not be encoded: {why}"),
            HostError::Failed(why) => write!(f, "host failed: {why}"),
        }
    }
}

impl std::error::Error for HostError {}

impl From<HostError> for Error {
    /// `INVALID_ARGUMENT` for a bad topic, `INTERNAL` for a message that could not be encoded,
    /// else `UNAVAILABLE`.
    fn from(e: HostError) -> Error {
        match e {
            HostError::InvalidTopic(_) => Error::invalid_argument(e.to_string()),
            HostError::Encode(_) => Error::internal(e.to_string()),
            _ => Error::unavailable(e.to_string()),
        }
    }
}
