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
    /// The outbound message failed its own validation, or could not be encoded (its `Serialize`
    /// impl failed), and was not sent.
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
    /// Connecting failed for good: the server refused the upgrade (401/403, unless
    /// [`retry_rejected`](super::ClientBuilder::retry_rejected) is set), or the backoff gave up.
    /// The last attempt's failure.
    Connect(ConnectError),
}

/// Why one connection attempt failed.
///
/// ```
/// use wskit::client::ConnectError;
/// let e = ConnectError::Rejected { status: 401, body: "Unauthorized".into() };
/// assert_eq!(e.to_string(), "the server refused the upgrade: HTTP 401 (Unauthorized)");
/// assert!(e.is_auth_rejection());
/// assert!(!ConnectError::Rejected { status: 503, body: String::new() }.is_auth_rejection());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectError {
    /// The server answered the upgrade with an HTTP status instead of 101 (401/403: the token
    /// was refused; 503: the server is full or shutting down).
    Rejected {
        /// The HTTP status code.
        status: u16,
        /// The response body, as text (lossy), if any.
        body: String,
    },
    /// The attempt (token, TCP, TLS, upgrade) took longer than the builder's `connect_timeout`.
    Timeout(std::time::Duration),
    /// The token provider panicked.
    TokenProvider,
    /// The URL, a header or a subprotocol is not valid in an upgrade request (a `wss://` URL
    /// among them when wskit is built without its `tls` feature). Not retried: the client
    /// stops, and [`Client::connect`](super::Client::connect) returns it.
    InvalidRequest(String),
    /// The TLS handshake of a `wss://` connection failed: the server's certificate is not
    /// trusted (an unknown issuer, a name it is not for, expired) or the server does not speak
    /// TLS. Not retried, as for [`InvalidRequest`](Self::InvalidRequest): the same certificate
    /// would be refused again.
    Tls(String),
    /// The network or the WebSocket handshake failed (connection refused or reset, a name that
    /// does not resolve, a response that is not a WebSocket upgrade).
    Transport(String),
}

impl ConnectError {
    /// A refusal by the server's authentication (HTTP 401 or 403): retrying with the same token
    /// would be refused again, so the client stops unless told otherwise.
    pub fn is_auth_rejection(&self) -> bool {
        matches!(
            self,
            ConnectError::Rejected {
                status: 401 | 403,
                ..
            }
        )
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::Rejected { status, body } if body.is_empty() => {
                write!(f, "the server refused the upgrade: HTTP {status}")
            }
            ConnectError::Rejected { status, body } => {
                write!(f, "the server refused the upgrade: HTTP {status} ({body})")
            }
            ConnectError::Timeout(after) => write!(f, "timed out after {after:?}"),
            ConnectError::TokenProvider => f.write_str("the token provider panicked"),
            ConnectError::InvalidRequest(why) => write!(f, "invalid upgrade request: {why}"),
            ConnectError::Tls(why) => write!(f, "TLS handshake failed: {why}"),
            ConnectError::Transport(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for ConnectError {}

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
            ClientError::Connect(e) => Some(e),
            _ => None,
        }
    }
}
