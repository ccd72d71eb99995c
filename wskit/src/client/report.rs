//! What the `on_error` and `on_unhandled` hooks receive.

use std::fmt;

use wskit_core::validate::Issues;

/// A problem that concerns no particular call, given to the `on_error` hook.
///
/// ```
/// use wskit::client::ErrorReport;
/// let r = ErrorReport::QueueOverflow { ty: "CHAT".into() };
/// assert_eq!(r.to_string(), "offline queue full: dropped a CHAT frame");
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ErrorReport {
    /// An inbound frame that is not a JSON object with a string `type`.
    Parse {
        /// Why it was refused.
        error: wskit_core::Error,
        /// The frame's text.
        text: String,
    },
    /// An event or progress frame whose payload failed validation.
    Invalid {
        /// The frame's type.
        ty: String,
        /// What is wrong.
        issues: Issues,
    },
    /// An `ERROR` frame from the server (an error that answers no request).
    Server(wskit_core::Error),
    /// The offline queue overflowed and dropped a frame of this type.
    QueueOverflow {
        /// The dropped frame's type.
        ty: String,
    },
    /// An [`Events`](super::Events) stream was full and dropped an event of this type.
    EventOverflow {
        /// The dropped event's type.
        ty: String,
    },
    /// A connection attempt failed (the client retries if its backoff allows, and unless the
    /// server refused the token: see [`ConnectError::is_auth_rejection`](super::ConnectError::is_auth_rejection)).
    Connect(super::error::ConnectError),
    /// A user hook (`on_unhandled`, `on_gap`) panicked; the client caught it and went on.
    HookPanicked {
        /// The hook's builder method.
        hook: &'static str,
    },
}

impl fmt::Display for ErrorReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorReport::Parse { error, .. } => write!(f, "unreadable frame: {error}"),
            ErrorReport::Invalid { ty, issues } => write!(f, "invalid {ty} frame: {issues}"),
            ErrorReport::Server(e) => write!(f, "server error: {e}"),
            ErrorReport::QueueOverflow { ty } => {
                write!(f, "offline queue full: dropped a {ty} frame")
            }
            ErrorReport::EventOverflow { ty } => {
                write!(f, "event stream full: dropped a {ty} event")
            }
            ErrorReport::Connect(why) => write!(f, "connection attempt failed: {why}"),
            ErrorReport::HookPanicked { hook } => write!(f, "the {hook} hook panicked"),
        }
    }
}

/// A frame that answers no request and matches no event of any [`Events`](super::Events) stream.
///
/// ```
/// let u = wskit::client::Unhandled { ty: "PING".into(), text: r#"{"type":"PING"}"#.into() };
/// assert_eq!(u.ty, "PING");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unhandled {
    /// The frame's type.
    pub ty: String,
    /// The whole frame.
    pub text: String,
}
