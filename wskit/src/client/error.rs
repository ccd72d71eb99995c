//! The client's error type.

use std::fmt;

use wskit_core::validate::Issues;

/// Errors of the client: of a call, a send, or the connection.
///
/// ```
/// use wskit::client::ClientError;
/// let e = ClientError::Rpc(wskit::Error::not_found("no such user"));
/// assert_eq!(e.to_string(), "server error: NOT_FOUND: no such user");
/// assert!(ClientError::Timeout.to_string().contains("timed out"));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ClientError {
    /// No reply within the request's timeout (counted from the moment its frame was written).
    Timeout,
    /// The connection closed while the request was in flight (or the client was closed while it
    /// was queued). Non-idempotent requests fail this way on a reconnect, so they never run twice.
    ConnectionClosed,
    /// The call was cancelled through its [`CancelHandle`](super::CancelHandle).
    Cancelled,
    /// The server answered with `RPC_ERROR`: code, message, details, retryable, retryAfterMs.
    Rpc(wskit_core::Error),
    /// The reply failed validation against the response type.
    InvalidReply(Issues),
    /// The outbound message failed its own validation and was not sent.
    InvalidMessage(Issues),
    /// Not open, and the offline queue is off.
    NotConnected,
    /// The client is closed (deliberately, or reconnecting gave up).
    Closed,
    /// Too many requests await a reply.
    TooManyPending {
        /// The configured limit.
        limit: usize,
    },
    /// The offline queue is full (drop-newest), or evicted this request (drop-oldest).
    QueueFull,
    /// Connecting failed and the backoff gave up; the last failure.
    Connect(String),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Timeout => f.write_str("request timed out"),
            ClientError::ConnectionClosed => f.write_str("connection closed before the reply"),
            ClientError::Cancelled => f.write_str("request cancelled"),
            ClientError::Rpc(e) => write!(f, "server error: {e}"),
            ClientError::InvalidReply(issues) => write!(f, "invalid reply: {issues}"),
            ClientError::InvalidMessage(issues) => write!(f, "invalid message: {issues}"),
            ClientError::NotConnected => f.write_str("not connected (offline queue off)"),
            ClientError::Closed => f.write_str("client closed"),
            ClientError::TooManyPending { limit } => {
                write!(f, "too many pending requests (limit {limit})")
            }
            ClientError::QueueFull => f.write_str("offline queue full"),
            ClientError::Connect(why) => write!(f, "could not connect: {why}"),
        }
    }
}

impl std::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ClientError::Rpc(e) => Some(e),
            ClientError::InvalidReply(i) | ClientError::InvalidMessage(i) => Some(i),
            _ => None,
        }
    }
}
