//! Lifecycle hooks (open, close, error) and the error reports the error hook receives.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use futures_util::future::BoxFuture;

use super::Connection;
use crate::pubsub::ClientId;
use wskit_core::Error;

/// A close code and reason: what the open hook returns to refuse a connection, and what the close
/// hook receives.
///
/// An application may close with 1000, 1001, 1008, 1011 or a code of 3000-4999; any other code
/// given to the open hook's `Err` (or to [`Connection::close`]) is sent as 1011 (the others are
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

/// The close code actually sent for a code an application asked for (see [`CloseReason`]).
pub(crate) fn app_close_code(code: u16) -> u16 {
    match code {
        1000 | 1001 | 1008 | 1011 | 3000..=4999 => code,
        _ => 1011,
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code, self.reason)
    }
}

/// Why the server answered or swallowed an error.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ErrorCause {
    /// The frame was not JSON, not an object, or had no string `type`.
    BadFrame,
    /// A binary frame that is not UTF-8.
    NotUtf8,
    /// A reserved type (`$x`, `__x`) the runtime does not handle.
    ReservedType,
    /// No service handles this type.
    UnknownType,
    /// The meta or payload failed validation.
    Validation,
    /// A handler or middleware returned this error.
    Handler,
    /// A handler panicked; the panic message (never sent to the client).
    Panic(String),
    /// Too many requests in flight on the connection.
    TooManyInFlight,
    /// An RPC reused the correlationId of one still in flight on the connection (answered
    /// `INVALID_ARGUMENT`; the handler did not run).
    DuplicateCorrelationId,
    /// A request arrived during a graceful shutdown (answered `UNAVAILABLE`).
    ShuttingDown,
    /// The request's deadline (`meta.timeoutMs`) passed.
    DeadlineExceeded,
    /// An RPC handler finished without answering (a middleware returned `Ok` without running
    /// the handler).
    NoReply,
    /// A frame for a slow consumer did not fit in its outbound queue, or the socket did not take
    /// a batch of frames within the write timeout.
    SlowConsumer,
    /// An inbound frame was larger than the limit (the connection was closed with 1009).
    FrameTooBig,
    /// The client missed its pong (the connection was closed).
    PingTimeout,
    /// The open hook panicked (the connection was closed with 1011).
    OpenHookPanic(String),
    /// The socket failed.
    Transport(String),
}

/// One error the server answered or swallowed, with its context. Given to the error hook.
#[derive(Debug, Clone)]
pub struct ErrorEvent {
    /// The connection, if there is one yet.
    pub client_id: Option<ClientId>,
    /// The inbound frame's type, if known.
    pub wire_type: Option<String>,
    /// The inbound frame's correlationId, if any.
    pub correlation_id: Option<String>,
    /// The error (as sent to the client when one was sent).
    pub error: Error,
    /// Why.
    pub cause: ErrorCause,
    /// Whether an error frame was sent to the client.
    pub answered: bool,
}

pub(crate) type OpenHook<D> =
    Arc<dyn Fn(Connection<D>) -> BoxFuture<'static, Result<(), CloseReason>> + Send + Sync>;
pub(crate) type CloseHook<D> =
    Arc<dyn Fn(Connection<D>, CloseReason) -> BoxFuture<'static, ()> + Send + Sync>;
pub(crate) type ErrorHook = Arc<dyn Fn(&ErrorEvent) + Send + Sync>;

/// The hooks of one server.
pub(crate) struct Hooks<D> {
    pub open: Vec<OpenHook<D>>,
    pub close: Vec<CloseHook<D>>,
    pub error: Vec<ErrorHook>,
}

impl<D> Default for Hooks<D> {
    fn default() -> Self {
        Hooks {
            open: Vec::new(),
            close: Vec::new(),
            error: Vec::new(),
        }
    }
}

impl<D> Hooks<D> {
    pub(crate) fn report(&self, event: ErrorEvent) {
        tracing::debug!(
            client_id = ?event.client_id,
            wire_type = event.wire_type.as_deref(),
            correlation_id = event.correlation_id.as_deref(),
            code = %event.error.code,
            cause = ?event.cause,
            "request error"
        );
        for hook in &self.error {
            // A panicking error hook must not take the connection down.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hook(&event)));
        }
    }
}

pub(crate) fn open_hook<D, F, Fut>(f: F) -> OpenHook<D>
where
    F: Fn(Connection<D>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), CloseReason>> + Send + 'static,
{
    Arc::new(move |c| Box::pin(f(c)))
}

pub(crate) fn close_hook<D, F, Fut>(f: F) -> CloseHook<D>
where
    F: Fn(Connection<D>, CloseReason) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Arc::new(move |c, r| Box::pin(f(c, r)))
}
