//! What a server does with one inbound text frame, whatever host serves it: the steps before a
//! request's own handler (runtime frame types, reserved names, routing) and a routed request's
//! decode, with the error each refusal answers.
//!
//! The tokio server (`wskit::server`) and the single-threaded host engine (`wskit::local`) both
//! go through these functions, so that they answer every frame alike.

use std::any::Any;

use serde_json::value::RawValue;

use super::decode::{
    collect_payload_of, decode_frame_keeping_envelope, decode_meta_as, fast_payload, parse_payload,
};
use super::error::{Error, ErrorCode};
use super::frame::{FrameParts, InboundFrame, Meta, is_reserved_type, meta_keys, peek_type, types};
use crate::protocol::Message;
use crate::validate::issues::{Issue, Issues};

/// What to do with one inbound text frame ([`classify`]).
#[derive(Debug)]
pub enum Inbound<R> {
    /// A frame of a routed type: hand it to the route's service. `parts` is `None` when the
    /// frame was routed on its peeked type and is not parsed yet (the service's decoder reads it
    /// whole, [`decode_request`]).
    Route {
        /// What the lookup returned.
        route: R,
        /// Where meta and payload are, when the envelope was parsed.
        parts: Option<FrameParts>,
    },
    /// `__heartbeat`: answer with the heartbeat ack (`encode_heartbeat_ack`).
    Heartbeat,
    /// `$ws:abort`: cancel the RPC with this correlationId (none: nothing to do).
    Abort(Option<String>),
    /// A frame no request owns: answer it (`ERROR`, or `RPC_ERROR` when it carried a
    /// correlationId: `Refusal::answer`).
    Refuse(Refusal),
}

/// A frame refused before any request owns it: its answer and why.
#[derive(Debug)]
pub struct Refusal {
    /// Why the frame was refused.
    pub kind: RefusalKind,
    /// The frame's wire type, when it had one.
    pub wire_type: Option<String>,
    /// The frame's correlationId, when it had one.
    pub correlation_id: Option<String>,
    /// The error to answer, before [`Error::answering`].
    pub error: Error,
}

/// Why a frame was refused before routing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefusalKind {
    /// Not JSON, not an object, or without a string `type`.
    BadFrame,
    /// A type reserved for the runtime (`$ws:` and `__` prefixes) that is not one of its frames.
    ReservedType,
    /// No route for the type.
    UnknownType,
}

impl Refusal {
    fn bad_frame(error: Error) -> Self {
        Refusal {
            kind: RefusalKind::BadFrame,
            wire_type: None,
            correlation_id: None,
            error,
        }
    }
}

/// Classifies one inbound text frame. `route` looks a wire type up in the server's route table:
/// the route, and whether its service decodes unparsed frames itself (then a frame that starts
/// `{"type":"<that type>"` is routed before it is parsed at all).
///
/// ```
/// use wskit::wire::inbound::{Inbound, RefusalKind, classify};
/// let routes = |ty: &str| (ty == "PING").then_some(("ping route", true));
/// assert!(matches!(classify(r#"{"type":"PING"}"#, routes), Inbound::Route { parts: None, .. }));
/// assert!(matches!(classify(r#"{"type":"__heartbeat"}"#, routes), Inbound::Heartbeat));
/// let Inbound::Refuse(r) = classify(r#"{"type":"NOPE","meta":{"correlationId":"c"}}"#, routes)
/// else { panic!() };
/// assert_eq!((r.kind, r.correlation_id.as_deref()), (RefusalKind::UnknownType, Some("c")));
/// ```
#[inline]
pub fn classify<R>(text: &str, route: impl Fn(&str) -> Option<(R, bool)>) -> Inbound<R> {
    // Fast path: routed on the peeked type, parsed once later by the message's own decoder.
    if let Some(ty) = peek_type(text).filter(|ty| !is_reserved_type(ty))
        && let Some((found, true)) = route(ty)
    {
        return Inbound::Route {
            route: found,
            parts: None,
        };
    }
    let frame = match InboundFrame::parse(text) {
        Ok(frame) => frame,
        Err(error) => return Inbound::Refuse(Refusal::bad_frame(error)),
    };
    match &*frame.ty {
        types::HEARTBEAT => Inbound::Heartbeat,
        types::ABORT => Inbound::Abort(frame.correlation_id()),
        ty if is_reserved_type(ty) => Inbound::Refuse(Refusal {
            kind: RefusalKind::ReservedType,
            wire_type: Some(ty.to_owned()),
            correlation_id: None,
            error: reserved_type(ty),
        }),
        ty => match route(ty) {
            Some((found, _)) => Inbound::Route {
                route: found,
                parts: Some(FrameParts::of(text, &frame)),
            },
            None => Inbound::Refuse(Refusal {
                kind: RefusalKind::UnknownType,
                wire_type: Some(ty.to_owned()),
                correlation_id: frame.correlation_id(),
                error: unknown_type(ty),
            }),
        },
    }
}

/// The answer to a frame of a type nobody serves: `UNIMPLEMENTED` naming the type.
pub fn unknown_type(ty: &str) -> Error {
    Error::from_code(ErrorCode::Unimplemented).with_details(serde_json::json!({ "type": ty }))
}

/// The answer to a binary frame that is not UTF-8 (PROTOCOL.md section 3: answered, the
/// connection goes on; a text frame that is not UTF-8 breaks RFC 6455 and closes it with 1007).
pub fn binary_not_utf8() -> Error {
    Error::invalid_argument("binary frame is not valid UTF-8")
}

/// The answer to a frame of a reserved type that is not one of the runtime's frames.
pub fn reserved_type(ty: &str) -> Error {
    Error::invalid_argument(format!("type {ty:?} is reserved"))
}

/// The answer to an RPC whose correlationId is already in flight on its connection (sent as
/// `ERROR`, without the id: an `RPC_ERROR` under it would be taken for the first request's answer).
pub fn duplicate_correlation_id(correlation_id: &str) -> Error {
    Error::invalid_argument("duplicate correlationId in flight")
        .with_details(serde_json::json!({ meta_keys::CORRELATION_ID: correlation_id }))
}

/// The answer to a request beyond the connection's limit of requests in flight.
pub fn too_many_in_flight(limit: usize) -> Error {
    Error::resource_exhausted(format!(
        "too many requests in flight on this connection (limit {limit})"
    ))
}

/// Why a routed frame was not decoded ([`decode_request`]).
#[derive(Debug)]
pub enum DecodeError {
    /// The frame is not a valid envelope: answered as a bad frame (`ERROR`).
    BadFrame(Error),
    /// Meta or payload is not the message's: `INVALID_ARGUMENT` with every issue, answered under
    /// the frame's correlationId when it had one.
    Invalid {
        /// The frame's correlationId, read without validating the rest.
        correlation_id: Option<String>,
        /// The answer.
        error: Error,
    },
}

/// Decodes a routed frame as message `M`: its standard meta, its declared meta and its payload,
/// strictly. `parts` is the frame's envelope if it was parsed ([`Inbound::Route`]); a frame not
/// parsed yet is first read in one pass, and anything that pass refuses is read again the
/// issue-collecting way for its exact answer (`parts` then holds the envelope): from the envelope
/// the second fast read parsed, if it got that far, so that a big frame is not parsed again.
pub fn decode_request<M: Message>(
    text: &str,
    parts: &mut Option<FrameParts>,
) -> Result<(Meta, M::Meta, M), DecodeError> {
    let mut parsed = None;
    if parts.is_none()
        && let Some(decoded) = decode_frame_keeping_envelope::<M>(text, &mut parsed)
    {
        return Ok(decoded);
    }
    let (found, meta, payload) = issue_inputs(text, parts, parsed.as_ref())?;
    // Decoding checks the constraints too (`Validate`): no second pass.
    let meta = decode_meta_as::<M::Meta>(meta);
    let payload = match payload {
        PayloadInput::Refused(raw) => collect_payload_of::<M>(Ok(raw)),
        PayloadInput::Text(payload) => match fast_payload::<M>(payload) {
            Some(msg) => Ok(msg),
            None => collect_payload_of::<M>(parse_payload(payload)),
        },
    };
    match (meta, payload) {
        (Ok((meta, typed)), Ok(msg)) => Ok((meta, typed, msg)),
        (meta, payload) => Err(invalid(found, text, meta.err(), payload.err())),
    }
}

/// The payload the issue-collecting path of [`decode_request`] reads.
enum PayloadInput<'t> {
    /// As the fast read's parse of the envelope left it: its fast read refused it already.
    Refused(Option<&'t RawValue>),
    /// A slice of a parsed frame (valid JSON), its fast read still to try.
    Text(Option<&'t str>),
}

/// What the issue-collecting path of [`decode_request`] reads, for every message type: the
/// envelope's parts (kept in `parts`: those of the envelope the fast read `parsed`, or parsed
/// now), the meta's text and the payload.
fn issue_inputs<'t, 'p>(
    text: &'t str,
    parts: &'p mut Option<FrameParts>,
    parsed: Option<&InboundFrame<'t>>,
) -> Result<(&'p FrameParts, Option<&'t str>, PayloadInput<'t>), DecodeError> {
    Ok(match parsed {
        Some(frame) => (
            parts.insert(FrameParts::of(text, frame)),
            frame.meta.map(RawValue::get),
            PayloadInput::Refused(frame.payload),
        ),
        None => {
            let found = FrameParts::get_or_parse(parts, text).map_err(DecodeError::BadFrame)?;
            (
                found,
                found.meta(text),
                PayloadInput::Text(found.payload(text)),
            )
        }
    })
}

/// A routed request's handler waiting for its message: what a host keeps between decoding the
/// frame ([`Pending::decode`], the only step that needs the message's type) and calling the
/// handler ([`Pending::take`]). Hosts hand it to the rest of a request's life as a trait object,
/// so that code is compiled once, not once per message type.
///
/// ```
/// use wskit::wire::inbound::Pending;
/// wskit::protocol! { protocol P { message Say { text: String } } }
/// let mut pending = Pending::<_, Say>::Ready("handler");
/// let (meta, _declared) = pending
///     .decode(r#"{"type":"SAY","meta":{"correlationId":"c"},"payload":{"text":"hi"}}"#, &mut None)
///     .unwrap();
/// assert_eq!(meta.correlation_id.as_deref(), Some("c"));
/// let (handler, msg) = pending.take().unwrap();
/// assert_eq!((handler, msg.text.as_str()), ("handler", "hi"));
/// assert!(pending.take().is_none(), "taken once");
/// ```
#[derive(Debug)]
pub enum Pending<H, M> {
    /// Not decoded yet.
    Ready(H),
    /// Decoded: the handler and its message.
    Decoded(H, M),
    /// Taken, or its decode failed.
    Spent,
}

impl<H, M: Message> Pending<H, M> {
    /// Decodes the frame as `M` ([`decode_request`]) and keeps the message; returns the frame's
    /// standard meta and its declared meta (`M::Meta`, boxed).
    #[allow(clippy::type_complexity)]
    pub fn decode(
        &mut self,
        text: &str,
        parts: &mut Option<FrameParts>,
    ) -> Result<(Meta, Box<dyn Any + Send + Sync>), DecodeError> {
        let decoded = decode_request::<M>(text, parts);
        let handler = std::mem::replace(self, Pending::Spent);
        let (meta, typed, msg) = decoded?;
        if let Pending::Ready(handler) = handler {
            *self = Pending::Decoded(handler, msg);
        }
        Ok((meta, Box::new(typed)))
    }

    /// The handler and its message, once decoded; `None` before, or after a first `take`.
    pub fn take(&mut self) -> Option<(H, M)> {
        match std::mem::replace(self, Pending::Spent) {
            Pending::Decoded(handler, msg) => Some((handler, msg)),
            _ => None,
        }
    }
}

/// The answer to a frame whose meta or payload has issues: all of them, meta's first, under the
/// frame's correlationId.
fn invalid(
    parts: &FrameParts,
    text: &str,
    meta: Option<Issues>,
    payload: Option<Issues>,
) -> DecodeError {
    let all: Vec<Issue> = meta.into_iter().chain(payload).flatten().collect();
    DecodeError::Invalid {
        correlation_id: parts.correlation_id(text),
        error: Issues::from(all).into_error(),
    }
}
