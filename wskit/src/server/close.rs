//! Closing a connection: the reason hooks give and receive, and what the server needs to close
//! every connection on shutdown. The codes and reasons themselves are
//! [`wskit_core::wire::close`]'s.

use std::fmt;

/// A close code and reason: what the open hook returns to refuse a connection, and what the close
/// hook receives.
///
/// An application may close with 1000, 1001, 1008, 1011 or a code of 3000-4999; any other code
/// given to the open hook's `Err` (or to [`Connection::close`](super::Connection::close)) is sent as 1011 (the others are
/// reserved by RFC 6455 or describe transport conditions the server reports itself).
///
/// ```
/// let c = wskit::server::CloseReason::new(4001, "banned");
/// assert_eq!((c.code, c.reason.as_str()), (4001, "banned"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseReason {
    /// The WebSocket close code (1006 when the connection dropped without a close frame).
    pub code: u16,
    /// The reason text.
    pub reason: String,
}

impl CloseReason {
    /// A code and a reason.
    pub fn new(code: u16, reason: impl Into<String>) -> Self {
        CloseReason {
            code,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code, self.reason)
    }
}

/// What the server registry needs to close a connection on shutdown.
pub(crate) trait Closer: Send + Sync {
    fn close_with(&self, code: u16, reason: &str);
}
