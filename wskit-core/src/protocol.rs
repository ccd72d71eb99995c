//! The traits that tie generated protocol types to the runtime.
//!
//! `protocol!` implements these; you rarely name them yourself except as bounds.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::describe::{PayloadForm, ProtocolDesc};
use crate::validate::check::unknown_key;
use crate::validate::decode::{Decode, object_entries};
use crate::validate::issues::{Issues, Path, Validate};
use crate::wire::frame::InboundFrame;

/// A message type: one struct per `message`, `event`, `rpc` request, response and progress.
///
/// ```
/// wskit::protocol! {
///     protocol Demo { message JoinRoom { room_id: String } }
/// }
/// use wskit::Message;
/// assert_eq!(JoinRoom::TYPE, "JOIN_ROOM");
/// assert_eq!(JoinRoom::PAYLOAD, wskit::PayloadForm::Fields);
/// ```
pub trait Message:
    Serialize + DeserializeOwned + Decode + Validate + Send + Sync + 'static
{
    /// The wire type name (`"JOIN_ROOM"`).
    const TYPE: &'static str;
    /// How frames of this type carry `payload`: not at all, as `{}`, or as an object of fields.
    const PAYLOAD: PayloadForm;
    /// Client-to-server messages marked `#[subscription]`: re-sent by the client after a reconnect.
    const SUBSCRIPTION: bool = false;
    /// Whether serde's derive accepts only what the strict decoder accepts, so that decoding may
    /// try it first (false for a message with a map in it: serde keeps a repeated key's last
    /// value, the strict decoder refuses it).
    #[doc(hidden)]
    const __SERDE_STRICT: bool = true;
    /// Writes the message as its frame's `payload`: serde_json's bytes. The default is
    /// serde_json; `protocol!` writes a message whose fields are all types it knows (strings,
    /// numbers, booleans, JSON values, options, lists, maps and the block's own `type`s and
    /// `enum`s; no user type by its path) with the same bytes directly (`WriteJson`: keys as
    /// constants, strings checked for escapes many bytes at a time).
    #[doc(hidden)]
    fn __write_json(&self, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        serde_json::to_writer(out, self)
    }
    /// Reads the message from its payload's JSON text on the decoders' fast path: `Some` only
    /// where `serde_json::from_str` gives the same message, `None` for anything else (the
    /// caller then takes the issue-collecting path). The default is serde's derive over
    /// wskit's fast JSON reader; `protocol!` reads each key by matching its JSON text
    /// (`Fields`), without serde's field visitor.
    #[doc(hidden)]
    fn __read_json(text: &str) -> Option<Self> {
        crate::wire::json::from_str(text)
    }
    /// The extra meta fields the message declares ([`NoMeta`] when none).
    type Meta: Serialize + Decode + Send + Sync + 'static;
}

/// An RPC: its request type is the message, with a response and optionally progress updates.
///
/// ```
/// wskit::protocol! {
///     protocol Demo { rpc GetUser(user_id: String) -> UserData { name: String } }
/// }
/// fn response_type<R: wskit::Rpc>() -> &'static str { <R::Response as wskit::Message>::TYPE }
/// assert_eq!(response_type::<GetUser>(), "USER_DATA");
/// ```
pub trait Rpc: Message {
    /// The reply.
    type Response: Message;
    /// Progress updates of a streaming RPC ([`NoProgress`] when it declares none).
    type Progress: Message;
    /// Marked `#[idempotent]`: the client may re-send it after a reconnect.
    const IDEMPOTENT: bool = false;
}

/// A protocol declared with `protocol!`: a marker type that describes it.
pub trait Protocol: 'static {
    /// The protocol's description: every message, field, type and constraint.
    fn description() -> &'static ProtocolDesc;
}

/// The server-to-client events of a protocol as one enum (`ChatEvent`), decoded by the client.
pub trait EventSet: Sized + Send + 'static {
    /// Decodes `frame` if its type is one of these events: `None` for other types,
    /// `Some(Err)` when the payload fails validation.
    fn decode_event(frame: &InboundFrame<'_>) -> Option<Result<Self, Issues>>;
}

/// The meta type of a message that declares no extra meta fields: only the standard keys.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct NoMeta {}

impl Decode for NoMeta {
    fn decode(
        raw: &serde_json::value::RawValue,
        path: &Path<'_>,
        issues: &mut Issues,
    ) -> Option<Self> {
        let entries = object_entries(raw, path, issues)?;
        for (k, _) in &entries {
            unknown_key(&path.field(k), issues);
        }
        entries.is_empty().then_some(NoMeta {})
    }
}

impl Validate for NoMeta {
    fn validate(&self, _: &Path<'_>, _: &mut Issues) {}
}

/// The progress type of an RPC that declares none: it has no values, so progress cannot be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NoProgress {}

impl Decode for NoProgress {
    fn decode(
        _: &serde_json::value::RawValue,
        path: &Path<'_>,
        issues: &mut Issues,
    ) -> Option<Self> {
        issues.push(path, "this RPC sends no progress");
        None
    }
}

impl Validate for NoProgress {
    fn validate(&self, _: &Path<'_>, _: &mut Issues) {
        match *self {}
    }
}

impl Message for NoProgress {
    const TYPE: &'static str = "$ws:rpc-progress";
    const PAYLOAD: PayloadForm = PayloadForm::Fields;
    type Meta = NoMeta;
}
