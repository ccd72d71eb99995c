//! Errors the server answered or swallowed, as the error hook receives them.

use std::any::Any;
use std::sync::Arc;

use crate::pubsub::{BusEvent, BusEvents, ClientId};
use wskit_core::Error;

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
    /// An inbound message stayed incomplete longer than `Limits::message_timeout`, or held
    /// more than `Limits::max_stalled_message_bytes` with no byte of it arriving for
    /// `Limits::message_stall_timeout` (the connection was closed with 1008).
    IncompleteMessage,
    /// The bytes held in incomplete messages across the server went over
    /// `Limits::max_partial_message_bytes` with this connection's (closed with 1008).
    PartialMessageBudget,
    /// The client missed its pong (the connection was closed).
    PingTimeout,
    /// The open hook panicked (the connection was closed with 1011).
    OpenHookPanic(String),
    /// The socket failed.
    Transport(String),
    /// The pub/sub backend's bus (Redis): a publication that did not reach it, the node off the
    /// bus, the gap once it is back, a malformed bus message.
    PubSub(BusEvent),
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

/// An error hook, as `ServerBuilder::on_error` registers it.
pub(crate) type ErrorHook = Arc<dyn Fn(&ErrorEvent) + Send + Sync>;

/// Hands one error event to every error hook (a panicking hook is caught), after a debug trace.
pub(crate) fn report(hooks: &[ErrorHook], event: ErrorEvent) {
    tracing::debug!(
        client_id = ?event.client_id,
        wire_type = event.wire_type.as_deref(),
        correlation_id = event.correlation_id.as_deref(),
        code = %event.error.code,
        cause = ?event.cause,
        "request error"
    );
    for hook in hooks {
        // A panicking error hook must not take the connection down.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hook(&event)));
    }
}

/// The error hooks, as a pub/sub backend reports its bus events to them.
pub(crate) struct HookEvents(pub Vec<ErrorHook>);

impl BusEvents for HookEvents {
    fn report(&self, event: BusEvent) {
        report(&self.0, bus_event(None, event));
    }
}

/// The error event of a bus event (`INVALID_ARGUMENT` for a malformed bus message,
/// `UNAVAILABLE` otherwise).
pub(crate) fn bus_event(client_id: Option<ClientId>, event: BusEvent) -> ErrorEvent {
    let error = match &event {
        BusEvent::Malformed { .. } => Error::invalid_argument(event.to_string()),
        _ => Error::unavailable(event.to_string()),
    };
    ErrorEvent {
        client_id,
        wire_type: None,
        correlation_id: None,
        error,
        cause: ErrorCause::PubSub(event),
        answered: false,
    }
}

/// The text of a caught panic.
pub(crate) fn panic_message(panic: &Box<dyn Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_owned()
    }
}
