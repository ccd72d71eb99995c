//! The JSON envelope of PROTOCOL.md section 1: parsing inbound frames, writing outbound ones.

use std::borrow::Cow;
use std::ops::Range;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::correlation_id::CorrelationId;
use super::error::Error;
use super::json::write_str;

/// Frame types the runtime itself uses (PROTOCOL.md section 2).
pub mod types {
    /// An error that answers a request (carries a correlationId).
    pub const RPC_ERROR: &str = "RPC_ERROR";
    /// An error that answers no request.
    pub const ERROR: &str = "ERROR";
    /// A progress update of a streaming RPC.
    pub const RPC_PROGRESS: &str = "$ws:rpc-progress";
    /// Client heartbeat.
    pub const HEARTBEAT: &str = "__heartbeat";
    /// Server answer to a heartbeat.
    pub const HEARTBEAT_ACK: &str = "__heartbeat_ack";
    /// Client cancellation of an RPC.
    pub const ABORT: &str = "$ws:abort";
}

/// Whether a wire type name is reserved for the runtime (`$...` or `__...`).
///
/// ```
/// assert!(wskit::wire::is_reserved_type("$ws:abort"));
/// assert!(wskit::wire::is_reserved_type("__heartbeat"));
/// assert!(!wskit::wire::is_reserved_type("GET_USER"));
/// ```
#[inline]
pub fn is_reserved_type(ty: &str) -> bool {
    ty.starts_with('$') || ty.starts_with("__")
}

/// The meta keys PROTOCOL.md section 1 defines, spelled once. (serde attributes in this crate spell
/// them too, since an attribute cannot name a constant; the tests of this module pin both.)
pub mod meta_keys {
    /// Pairs a reply, error or progress frame with its request.
    pub const CORRELATION_ID: &str = "correlationId";
    /// When the sender wrote the frame (milliseconds since the epoch).
    pub const TIMESTAMP: &str = "timestamp";
    /// The request's deadline, counted from its receipt.
    pub const TIMEOUT_MS: &str = "timeoutMs";
    /// Reserved: the server's id of the connection.
    pub const CLIENT_ID: &str = "clientId";
    /// Reserved: when the server received the frame.
    pub const RECEIVED_AT: &str = "receivedAt";
}

/// The concatenation of string constants, as a `&'static str` made when compiling.
macro_rules! concat_str {
    ($($part:expr),+ $(,)?) => {{
        const LEN: usize = 0 $(+ $part.len())+;
        const BYTES: [u8; LEN] = $crate::wire::frame::concat_bytes::<LEN>(&[$($part),+]);
        match ::core::str::from_utf8(&BYTES) {
            Ok(s) => s,
            Err(_) => panic!("the parts are strings"),
        }
    }};
}

/// The bytes of `parts` one after the other; `N` must be their total length.
pub(crate) const fn concat_bytes<const N: usize>(parts: &[&str]) -> [u8; N] {
    let mut out = [0u8; N];
    let (mut at, mut i) = (0, 0);
    while i < parts.len() {
        let bytes = parts[i].as_bytes();
        let mut j = 0;
        while j < bytes.len() {
            out[at] = bytes[j];
            at += 1;
            j += 1;
        }
        i += 1;
    }
    assert!(at == N, "N is the parts' total length");
    out
}

/// The JSON text around meta keys that the byte-matching readers of an envelope look for
/// (`decode.rs`), made from [`meta_keys`] when compiling: the keys stay spelled once.
pub(crate) mod meta_key_text {
    use super::meta_keys::{CORRELATION_ID, TIMESTAMP};

    /// `"correlationId":"`: the key and the opening quote of its string value.
    pub(crate) const CORRELATION_ID_STR: &str = concat_str!("\"", CORRELATION_ID, "\":\"");
    /// `"timestamp":`, a meta's first key.
    pub(crate) const TIMESTAMP_FIRST: &str = concat_str!("\"", TIMESTAMP, "\":");
    /// `,"timestamp":`, after another key.
    pub(crate) const TIMESTAMP_NEXT: &str = concat_str!(",\"", TIMESTAMP, "\":");
}

/// Meta keys a sender may never set (the server owns them).
pub const RESERVED_META_KEYS: [&str; 2] = [meta_keys::CLIENT_ID, meta_keys::RECEIVED_AT];

/// Meta keys every message may carry.
pub const STANDARD_META_KEYS: [&str; 3] = [
    meta_keys::CORRELATION_ID,
    meta_keys::TIMESTAMP,
    meta_keys::TIMEOUT_MS,
];

/// An inbound frame split into its parts, borrowing from the text it was read from.
///
/// `payload` is `Some` whenever the key is present, even when its value is `null`.
///
/// ```
/// use wskit::wire::InboundFrame;
/// let f = InboundFrame::parse(r#"{"type":"PING","payload":null,"extra":1}"#).unwrap();
/// assert_eq!(f.ty, "PING");
/// assert_eq!(f.payload.unwrap().get(), "null");
/// assert!(InboundFrame::parse("[1]").is_err());
/// // `"meta": null` reads as no meta.
/// assert!(InboundFrame::parse(r#"{"type":"PING","meta":null}"#).unwrap().meta.is_none());
/// ```
#[derive(Debug, Deserialize)]
pub struct InboundFrame<'a> {
    /// The routing key.
    #[serde(rename = "type", borrow)]
    pub ty: Cow<'a, str>,
    /// The raw `meta` value, if present and not `null` (`"meta":null` reads as no meta, as
    /// ws-kit reads it).
    #[serde(default, borrow, deserialize_with = "present_not_null")]
    pub meta: Option<&'a RawValue>,
    /// The raw `payload` value, if present.
    #[serde(default, borrow, deserialize_with = "present")]
    pub payload: Option<&'a RawValue>,
}

fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&'de RawValue>::deserialize(d).map(Some)
}

fn present_not_null<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    let raw = <&'de RawValue>::deserialize(d)?;
    Ok((raw.get() != "null").then_some(raw))
}

impl<'a> InboundFrame<'a> {
    /// Parses one frame. The error is the `INVALID_ARGUMENT` answer PROTOCOL.md section 3 asks for.
    pub fn parse(text: &'a str) -> Result<Self, Error> {
        serde_json::from_str(text).map_err(|e| {
            let why = if e.is_syntax() || e.is_eof() {
                "frame is not valid JSON"
            } else {
                "frame must be a JSON object with a string \"type\""
            };
            Error::invalid_argument(why)
        })
    }

    /// The correlationId in `meta`, if there is a string one (read without validating the rest).
    pub fn correlation_id(&self) -> Option<String> {
        peek_correlation_id(self.meta?.get())
    }
}

/// Where the `meta` and `payload` values of a parsed frame are in its text: owned byte ranges, so
/// that the text can travel on (to a request, to the call waiting for its reply) and its parts be
/// read again without a second parse of the frame.
///
/// ```
/// use wskit::wire::{FrameParts, InboundFrame};
/// let text = r#"{"type":"X","meta":{"correlationId":"c"},"payload":{"a":1}}"#;
/// let parts = FrameParts::of(text, &InboundFrame::parse(text).unwrap());
/// assert_eq!(parts.payload(text), Some(r#"{"a":1}"#));
/// assert_eq!(parts.correlation_id(text).as_deref(), Some("c"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FrameParts {
    /// The bytes of the `meta` value (`None`: absent or `null`).
    pub meta: Option<Range<usize>>,
    /// The bytes of the `payload` value (`None`: absent).
    pub payload: Option<Range<usize>>,
}

impl FrameParts {
    /// The parts of `frame`, parsed from `text`.
    #[inline]
    pub fn of(text: &str, frame: &InboundFrame<'_>) -> Self {
        let range_in = |part: &str| {
            let start = part.as_ptr() as usize - text.as_ptr() as usize;
            start..start + part.len()
        };
        FrameParts {
            meta: frame.meta.map(|m| range_in(m.get())),
            payload: frame.payload.map(|p| range_in(p.get())),
        }
    }

    /// The parts of `text`, parsing its envelope unless `parts` already holds them; the
    /// `INVALID_ARGUMENT` answer for a frame that is not a valid envelope.
    pub fn get_or_parse<'p>(parts: &'p mut Option<Self>, text: &str) -> Result<&'p Self, Error> {
        if parts.is_none() {
            let frame = InboundFrame::parse(text)?;
            *parts = Some(FrameParts::of(text, &frame));
        }
        Ok(parts.get_or_insert_default())
    }

    /// The text of the `meta` value.
    #[inline]
    pub fn meta<'t>(&self, text: &'t str) -> Option<&'t str> {
        self.meta.clone().map(|r| &text[r])
    }

    /// The text of the `payload` value.
    #[inline]
    pub fn payload<'t>(&self, text: &'t str) -> Option<&'t str> {
        self.payload.clone().map(|r| &text[r])
    }

    /// The correlationId in the frame's meta, read without validating the rest (for answers
    /// before or instead of validation).
    pub fn correlation_id(&self, text: &str) -> Option<String> {
        peek_correlation_id(self.meta(text)?)
    }
}

/// The error in the payload of an `ERROR` / `RPC_ERROR` frame, or why it is not one.
///
/// ```
/// let e = wskit::wire::error_payload(Some(r#"{"code":"NOT_FOUND","message":"gone"}"#)).unwrap();
/// assert_eq!(e.code, wskit::ErrorCode::NotFound);
/// assert!(wskit::wire::error_payload(None).is_err());
/// ```
pub fn error_payload(payload: Option<&str>) -> Result<Error, String> {
    serde_json::from_str::<Error>(payload.unwrap_or("null"))
        .map_err(|e| format!("not an error payload: {e}"))
}

/// The update of a `$ws:rpc-progress` frame: its `payload`, else its `data` (ws-kit writes both).
///
/// ```
/// let text = r#"{"type":"$ws:rpc-progress","meta":{"correlationId":"c"},"data":{"percent":5}}"#;
/// assert_eq!(wskit::wire::progress_update(text).unwrap().unwrap().get(), r#"{"percent":5}"#);
/// ```
pub fn progress_update(text: &str) -> Result<Option<&RawValue>, String> {
    #[derive(Deserialize)]
    struct ProgressFrame<'a> {
        #[serde(borrow, default)]
        payload: Option<&'a RawValue>,
        #[serde(borrow, default)]
        data: Option<&'a RawValue>,
    }
    let frame: ProgressFrame<'_> =
        serde_json::from_str(text).map_err(|e| format!("unreadable progress frame: {e}"))?;
    Ok(frame.payload.or(frame.data))
}

/// The most values a frame's `meta` may hold: its keys and those of objects in it, and the items
/// of arrays in it. A frame with more is refused (`INVALID_ARGUMENT`) without its meta being
/// decoded: meta carries a few ids, and reading many thousands of keys, each an issue, cost a
/// 1 MiB frame ~100 ms to refuse.
pub const MAX_META_VALUES: usize = 256;

/// How deep values may nest in a frame's `meta` (the meta object itself is level 1).
pub const MAX_META_DEPTH: usize = 16;

/// How a frame in the layout clients and servers write begins: `{"type":"`, for the readers that
/// match bytes ([`peek_type`], `decode.rs`).
pub(crate) const TYPE_OPEN: &str = r#"{"type":""#;

/// The type of a frame that starts exactly `{"type":"<name>"` with no escape in the name (how
/// ws-kit and wskit clients write frames), read without parsing the rest. A fast path only: the
/// caller must still parse the whole frame before trusting it, and falls back to
/// [`InboundFrame::parse`] for any other layout.
#[inline]
pub fn peek_type(text: &str) -> Option<&str> {
    let rest = text.strip_prefix(TYPE_OPEN)?;
    let end = rest.find(['"', '\\'])?;
    (rest.as_bytes()[end] == b'"').then(|| &rest[..end])
}

/// The correlationId in the text of a frame's `meta`, if it is an object with a string
/// `correlationId` (read without validating the rest): the one place that peeks it. A key
/// that appears twice gives none. Only the first [`MAX_META_VALUES`](MAX_META_VALUES)
/// keys are read: a meta with more is refused anyway, and its answer should cost no more than
/// the check that refuses it.
///
/// ```
/// assert_eq!(wskit::wire::peek_correlation_id(r#"{"correlationId":"c-1","x":[1]}"#).as_deref(), Some("c-1"));
/// assert_eq!(wskit::wire::peek_correlation_id(r#"{"correlationId":7}"#), None);
/// assert_eq!(wskit::wire::peek_correlation_id(r#"{"correlationId":"a","correlationId":"a"}"#), None);
/// assert_eq!(wskit::wire::peek_correlation_id(r#"["c-1"]"#), None);
/// ```
pub fn peek_correlation_id(meta: &str) -> Option<String> {
    use serde::de::{Error as _, IgnoredAny, MapAccess, Visitor};

    /// What the peek found in the keys it read.
    #[derive(Default)]
    struct Peeked {
        id: Option<Value>,
        keys: usize,
        /// Stopped at the key cap (not an error of the text).
        capped: bool,
    }
    /// A key, compared with `correlationId` without being copied.
    struct IsId(bool);
    impl<'de> Deserialize<'de> for IsId {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl Visitor<'_> for V {
                type Value = IsId;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("a key")
                }
                fn visit_str<E>(self, s: &str) -> Result<IsId, E> {
                    Ok(IsId(s == meta_keys::CORRELATION_ID))
                }
            }
            d.deserialize_str(V)
        }
    }
    struct Peek<'p>(&'p mut Peeked);
    impl<'de> Visitor<'de> for Peek<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(IsId(is_id)) = map.next_key()? {
                self.0.keys += 1;
                if self.0.keys > MAX_META_VALUES {
                    self.0.capped = true;
                    return Err(A::Error::custom("key cap"));
                }
                if !is_id {
                    map.next_value::<IgnoredAny>()?;
                } else if self.0.id.is_some() {
                    return Err(A::Error::duplicate_field(meta_keys::CORRELATION_ID));
                } else {
                    self.0.id = Some(map.next_value()?);
                }
            }
            Ok(())
        }
    }
    let mut peeked = Peeked::default();
    let mut de = serde_json::Deserializer::from_str(meta);
    let read = de
        .deserialize_map(Peek(&mut peeked))
        .and_then(|()| de.end());
    if read.is_err() && !peeked.capped {
        return None;
    }
    match peeked.id? {
        Value::String(s) => Some(s),
        _ => None,
    }
}

/// Writes one outbound frame: `{"type":..,"meta":..,"payload":..}`.
///
/// `meta` is written when `Some` (pass an empty map for `"meta":{}`); `payload` when `Some`.
/// Fails only when a `Serialize` impl of `meta` or `payload` fails (a map with non-string keys,
/// a user's own impl): then no frame is written at all, rather than a truncated one.
///
/// ```
/// let bytes = wskit::wire::encode_frame("USER_JOINED", Some(&wskit::wire::OutMeta::default()), Some(&serde_json::json!({"roomId":"r"})));
/// assert_eq!(bytes.unwrap(), br#"{"type":"USER_JOINED","meta":{},"payload":{"roomId":"r"}}"#);
/// // A payload that cannot be JSON (a map keyed by a pair) is an error, not half a frame:
/// let bad: std::collections::BTreeMap<(u8, u8), u8> = [((1, 2), 3)].into();
/// assert!(wskit::wire::encode_frame("X", None::<&()>, Some(&bad)).is_err());
/// ```
pub fn encode_frame<M: Serialize + ?Sized, P: Serialize + ?Sized>(
    ty: &str,
    meta: Option<&M>,
    payload: Option<&P>,
) -> Result<Vec<u8>, serde_json::Error> {
    let ty = TypeName::Any(ty);
    encode_with(|out| write_frame(out, ty, meta.into(), payload, false, serde_json_write))
}

/// A payload's writer for any `Serialize` impl: serde_json (its `RawValue` included).
pub(crate) fn serde_json_write<T: Serialize + ?Sized>(
    value: &T,
    out: &mut Vec<u8>,
) -> serde_json::Result<()> {
    serde_json::to_writer(out, value)
}

/// The largest scratch buffer a thread keeps between frames.
const SCRATCH_KEPT: usize = 64 * 1024;

/// Runs `write` on this thread's reused buffer and returns an exactly-sized copy of what it
/// wrote: one allocation per frame and none spent growing a buffer. (An exactly-sized `Vec` also
/// becomes `Bytes` without another allocation.)
pub(crate) fn encode_with(
    write: impl FnOnce(&mut Vec<u8>) -> serde_json::Result<()>,
) -> serde_json::Result<Vec<u8>> {
    let mut copy = Vec::new();
    encode_then(write, &mut |frame| copy = frame.to_vec())?;
    Ok(copy)
}

/// Runs `write` on this thread's reused buffer, then `then` on what it wrote (unless `write`
/// failed): a frame handed on without an allocation of its own.
pub(crate) fn encode_then(
    write: impl FnOnce(&mut Vec<u8>) -> serde_json::Result<()>,
    then: &mut dyn FnMut(&[u8]),
) -> serde_json::Result<()> {
    thread_local! {
        static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let mut write = Some(write);
    let mut written = None;
    let _ = SCRATCH.try_with(|scratch| {
        // Taken only when free: a `Serialize` impl that encodes a frame re-enters here, and so
        // may `then`.
        if let Ok(mut buf) = scratch.try_borrow_mut()
            && let Some(write) = write.take()
        {
            buf.clear();
            written = Some(write(&mut buf).map(|()| std::mem::take(&mut *buf)));
        }
    });
    let buf = match written {
        Some(written) => written?,
        // Re-entered, or the thread is exiting: a buffer of its own.
        None => {
            let mut out = Vec::new();
            if let Some(write) = write {
                write(&mut out)?;
            }
            out
        }
    };
    then(&buf);
    // The buffer goes back for the next frame (unless it grew too big to keep).
    if buf.capacity() <= SCRATCH_KEPT {
        let _ = SCRATCH.try_with(|scratch| {
            if let Ok(mut kept) = scratch.try_borrow_mut()
                && kept.capacity() < buf.capacity()
            {
                *kept = buf;
            }
        });
    }
    Ok(())
}

/// A frame's `type` as [`write_frame`] writes it.
#[derive(Clone, Copy)]
pub(crate) enum TypeName<'a> {
    /// Checked for characters to escape as it is written.
    Any(&'a str),
    /// Known to have none (checked when compiled: a message's `TYPE`, the runtime's own types):
    /// copied between quotes as it is.
    Plain(&'a str),
}

impl TypeName<'static> {
    /// `ty`, checked now: in a `const` block, when the program is compiled.
    pub(crate) const fn checked(ty: &'static str) -> Self {
        if super::json::is_plain(ty) {
            TypeName::Plain(ty)
        } else {
            TypeName::Any(ty)
        }
    }
}

/// Like [`encode_frame`], the payload written by `write` (a message's own writer, or
/// [`serde_json_write`]); a progress frame (`data`) writes it again under `"data"`.
pub(crate) fn write_frame<M: Serialize + ?Sized, P: ?Sized>(
    out: &mut Vec<u8>,
    ty: TypeName<'_>,
    meta: MetaOut<'_, M>,
    payload: Option<&P>,
    data: bool,
    write: impl Fn(&P, &mut Vec<u8>) -> serde_json::Result<()>,
) -> serde_json::Result<()> {
    match ty {
        TypeName::Any(ty) => {
            out.extend_from_slice(b"{\"type\":");
            write_str(out, ty);
        }
        TypeName::Plain(ty) => {
            out.extend_from_slice(b"{\"type\":\"");
            out.extend_from_slice(ty.as_bytes());
            out.push(b'"');
        }
    }
    match meta {
        MetaOut::Absent => {}
        MetaOut::Correlated(correlation_id) => {
            out.extend_from_slice(b",\"meta\":");
            write_correlated(out, correlation_id);
        }
        MetaOut::Request {
            correlation_id,
            timestamp,
        } => {
            out.extend_from_slice(b",\"meta\":");
            open_correlated(out, correlation_id);
            out.extend_from_slice(b",\"");
            out.extend_from_slice(meta_keys::TIMESTAMP.as_bytes());
            out.extend_from_slice(b"\":");
            out.extend_from_slice(itoa::Buffer::new().format(timestamp).as_bytes());
            out.push(b'}');
        }
        // Writing into a Vec cannot fail; a `Serialize` impl can.
        MetaOut::Value(meta) => {
            out.extend_from_slice(b",\"meta\":");
            super::json::to_writer(out, meta)?;
        }
    }
    if let Some(payload) = payload {
        out.extend_from_slice(b",\"payload\":");
        write(payload, out)?;
        if data {
            out.extend_from_slice(b",\"data\":");
            write(payload, out)?;
        }
    }
    out.push(b'}');
    Ok(())
}

/// The `meta` of a frame [`write_frame`] writes.
pub(crate) enum MetaOut<'a, M: ?Sized> {
    /// No `meta` key.
    Absent,
    /// What [`Correlated`] serializes to, written without serde.
    Correlated(Option<&'a str>),
    /// A client's request without declared meta: what [`OutMeta`] with only these two
    /// serializes to, written without serde.
    Request {
        correlation_id: &'a str,
        timestamp: u64,
    },
    /// Any `Serialize` value (written by `json`: serde_json's bytes, its raw values included).
    Value(&'a M),
}

impl<'a, M: ?Sized> From<Option<&'a M>> for MetaOut<'a, M> {
    fn from(meta: Option<&'a M>) -> Self {
        meta.map_or(MetaOut::Absent, MetaOut::Value)
    }
}

/// Opens a meta object with its correlationId: `{"correlationId":".."`.
fn open_correlated(out: &mut Vec<u8>, correlation_id: &str) {
    out.extend_from_slice(b"{\"");
    out.extend_from_slice(meta_keys::CORRELATION_ID.as_bytes());
    out.extend_from_slice(b"\":");
    write_str(out, correlation_id);
}

/// Writes what [`Correlated`] serializes to: `{"correlationId":".."}`, or `{}`.
fn write_correlated(out: &mut Vec<u8>, correlation_id: Option<&str>) {
    match correlation_id {
        Some(id) => {
            open_correlated(out, id);
            out.push(b'}');
        }
        None => out.extend_from_slice(b"{}"),
    }
}

/// The `meta` of an outbound frame: a correlationId, a timestamp, and any declared extras.
///
/// ```
/// use wskit::wire::OutMeta;
/// let meta = OutMeta { correlation_id: Some("c-1".into()), ..OutMeta::default() };
/// assert_eq!(serde_json::to_string(&meta).unwrap(), r#"{"correlationId":"c-1"}"#);
/// // A reply borrows the request's id instead of copying it:
/// let id = String::from("c-2");
/// assert_eq!(serde_json::to_string(&OutMeta::correlated(Some(&id))).unwrap(), r#"{"correlationId":"c-2"}"#);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OutMeta<'a> {
    /// Correlates a request with its reply (borrowed or owned).
    #[serde(rename = "correlationId", skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<Cow<'a, str>>,
    /// Sender's clock in ms (clients set it on requests; the server does not).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<u64>,
    /// \[beyond\] The request's deadline, relative, in ms.
    #[serde(rename = "timeoutMs", skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// Declared extra meta fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl<'a> OutMeta<'a> {
    /// Meta with only this (borrowed) correlationId. (The runtime writes its own replies, errors
    /// and progress through `Correlated`, the same bytes without building an `OutMeta`.)
    pub fn correlated(correlation_id: Option<&'a str>) -> Self {
        OutMeta {
            correlation_id: correlation_id.map(Cow::Borrowed),
            ..OutMeta::default()
        }
    }
}

/// `{"correlationId":..}`, or `{}` without one: the meta of replies, errors and progress, as
/// [`OutMeta::correlated`] writes it. Building an `OutMeta` builds its `extra` map (an
/// `IndexMap`, which seeds a hasher): measured at about 130 instructions per reply.
pub struct Correlated<'a>(pub Option<&'a str>);

impl Serialize for Correlated<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut meta = serializer.serialize_struct("Meta", usize::from(self.0.is_some()))?;
        if let Some(correlation_id) = self.0 {
            meta.serialize_field(meta_keys::CORRELATION_ID, correlation_id)?;
        }
        meta.end()
    }
}

/// Writes an `RPC_ERROR` (when there is a correlationId) or `ERROR` frame.
///
/// ```
/// let f = wskit::wire::encode_error(Some("c-1"), &wskit::Error::not_found("gone"));
/// assert_eq!(f, br#"{"type":"RPC_ERROR","meta":{"correlationId":"c-1"},"payload":{"code":"NOT_FOUND","message":"gone"}}"#);
/// ```
pub fn encode_error(correlation_id: Option<&str>, error: &Error) -> Vec<u8> {
    let ty = if correlation_id.is_some() {
        const { TypeName::checked(types::RPC_ERROR) }
    } else {
        const { TypeName::checked(types::ERROR) }
    };
    let encode = |error: &Error| {
        let meta = MetaOut::<()>::Correlated(correlation_id);
        encode_with(|out| write_frame(out, ty, meta, Some(error), false, serde_json_write))
    };
    // An `Error` is strings and JSON values: it always serializes. Were that ever to break, the
    // answer would still be a well-formed frame.
    encode(error).unwrap_or_else(|_| {
        encode(&Error::from_code(super::error::ErrorCode::Internal)).unwrap_or_default()
    })
}

/// Writes a `$ws:rpc-progress` frame; the update goes under both `payload` and `data`. Fails
/// only when the update's `Serialize` impl fails.
pub fn encode_progress<P: Serialize + ?Sized>(
    correlation_id: Option<&str>,
    update: &P,
) -> Result<Vec<u8>, serde_json::Error> {
    progress_with(correlation_id, update, serde_json_write)
}

pub(crate) fn progress_with<P: ?Sized>(
    correlation_id: Option<&str>,
    update: &P,
    write: impl Fn(&P, &mut Vec<u8>) -> serde_json::Result<()>,
) -> Result<Vec<u8>, serde_json::Error> {
    let meta = MetaOut::<()>::Correlated(correlation_id);
    let ty = const { TypeName::checked(types::RPC_PROGRESS) };
    encode_with(|out| write_frame(out, ty, meta, Some(update), true, write))
}

/// Writes the `__heartbeat_ack` that answers a client's `__heartbeat`: `{"type":"__heartbeat_ack","meta":{"ts":<ms>}}`.
///
/// ```
/// assert_eq!(wskit::wire::encode_heartbeat_ack(7), br#"{"type":"__heartbeat_ack","meta":{"ts":7}}"#);
/// ```
pub fn encode_heartbeat_ack(now_ms: u64) -> Vec<u8> {
    format!(
        r#"{{"type":"{}","meta":{{"ts":{now_ms}}}}}"#,
        types::HEARTBEAT_ACK
    )
    .into_bytes()
}

/// The validated `meta` of an inbound frame.
///
/// The reserved keys `clientId` and `receivedAt` never appear here: the server removes them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Meta {
    /// `meta.correlationId`: set on requests; echoed on the reply.
    pub correlation_id: Option<CorrelationId>,
    /// `meta.timestamp`: the sender's clock in ms.
    pub timestamp: Option<f64>,
    /// \[beyond\] `meta.timeoutMs`: the request's deadline, relative to its arrival.
    pub timeout_ms: Option<u64>,
    /// The extra keys the message declares, as sent.
    pub extra: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The byte-matched text of the meta keys, made from `meta_keys` when compiling.
    #[test]
    fn meta_key_text_is_the_keys_json() {
        assert_eq!(meta_key_text::CORRELATION_ID_STR, r#""correlationId":""#);
        assert_eq!(meta_key_text::TIMESTAMP_FIRST, r#""timestamp":"#);
        assert_eq!(meta_key_text::TIMESTAMP_NEXT, r#","timestamp":"#);
    }

    #[test]
    fn correlated_meta_is_written_as_out_meta_writes_it() {
        for cid in [None, Some("c-1"), Some("a \"quoted\" \\ id\n\u{7f}é")] {
            assert_eq!(
                serde_json::to_string(&Correlated(cid)).unwrap(),
                serde_json::to_string(&OutMeta::correlated(cid)).unwrap(),
            );
        }
        let mut extra = Map::new();
        extra.insert("trace".into(), Value::from("t"));
        let full = OutMeta {
            correlation_id: Some("c".into()),
            timestamp: Some(5),
            timeout_ms: Some(100),
            extra,
        };
        assert_eq!(
            serde_json::to_string(&full).unwrap(),
            r#"{"correlationId":"c","timestamp":5,"timeoutMs":100,"trace":"t"}"#
        );
    }

    /// Every string the fast writer copies as it is, and every one it hands to serde_json,
    /// comes out as serde_json writes it; and so does the correlated meta.
    #[test]
    fn strings_and_correlated_meta_are_written_as_serde_json_writes_them() {
        let mut strings: Vec<String> = [
            "",
            "RPC_ERROR",
            "c-1",
            "é ü 日本",
            "\u{7f}",
            "a/b",
            "\u{2028}",
        ]
        .map(String::from)
        .into();
        strings.extend((0u8..0x80).map(|b| format!("x{}y", b as char)));
        for s in &strings {
            let mut out = Vec::new();
            write_str(&mut out, s);
            assert_eq!(out, serde_json::to_vec(s).unwrap(), "{s:?}");
            let mut out = Vec::new();
            write_correlated(&mut out, Some(s));
            assert_eq!(
                out,
                serde_json::to_vec(&Correlated(Some(s))).unwrap(),
                "{s:?}"
            );
        }
        let mut out = Vec::new();
        write_correlated(&mut out, None);
        assert_eq!(out, serde_json::to_vec(&Correlated(None)).unwrap());
    }

    #[test]
    fn progress_has_payload_and_data() {
        let f = encode_progress(Some("c-1"), &serde_json::json!({"percent":5})).unwrap();
        assert_eq!(
            f,
            br#"{"type":"$ws:rpc-progress","meta":{"correlationId":"c-1"},"payload":{"percent":5},"data":{"percent":5}}"#
        );
    }

    #[test]
    fn bad_frames_are_invalid_argument() {
        for text in ["nope", "[]", "{}", r#"{"type":1}"#, "\"x\""] {
            let e = InboundFrame::parse(text).unwrap_err();
            assert_eq!(e.code, crate::ErrorCode::InvalidArgument, "{text}");
        }
        let f = InboundFrame::parse(r#"{"type":"A"}"#).unwrap();
        assert!(f.meta.is_none() && f.payload.is_none());
    }

    /// The peek reads no further than the meta key cap: a correlationId among the first keys is
    /// found even when what follows the cap is not JSON; one past the cap is not looked for.
    #[test]
    fn the_correlation_id_peek_reads_at_most_the_key_cap() {
        let keys: Vec<String> = (0..300).map(|i| format!(r#""k{i}":0"#)).collect();
        let keys = keys.join(",");
        let early = format!(r#"{{"correlationId":"c",{keys},!!! not JSON"#);
        assert_eq!(peek_correlation_id(&early).as_deref(), Some("c"));
        let late = format!(r#"{{{keys},"correlationId":"c"}}"#);
        assert_eq!(peek_correlation_id(&late), None);
        // Within the cap the whole text is read: not JSON, no id.
        assert_eq!(peek_correlation_id(r#"{"correlationId":"c",!}"#), None);
        assert_eq!(peek_correlation_id(r#"{"correlationId":"c"} x"#), None);
    }

    #[test]
    fn peek_type_reads_only_the_plain_leading_type() {
        assert_eq!(peek_type(r#"{"type":"ECHO","payload":{}}"#), Some("ECHO"));
        assert_eq!(peek_type(r#"{"type":"","x":1}"#), Some(""));
        assert_eq!(peek_type(r#"{"type":"A\"B"}"#), None);
        assert_eq!(peek_type(r#"{ "type":"ECHO"}"#), None);
        assert_eq!(peek_type(r#"{"payload":{},"type":"ECHO"}"#), None);
        assert_eq!(peek_type(r#"{"type":"ECHO"#), None);
    }

    /// A `Serialize` impl that encodes a frame itself re-enters the scratch buffer: it gets a
    /// buffer of its own, and both frames come out whole.
    #[test]
    fn encoding_inside_encoding_gets_its_own_buffer() {
        struct Nested;
        impl Serialize for Nested {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let inner = encode_frame("INNER", None::<&()>, Some(&1)).unwrap();
                s.serialize_str(std::str::from_utf8(&inner).expect("UTF-8"))
            }
        }
        assert_eq!(
            encode_frame("OUTER", None::<&()>, Some(&Nested)).unwrap(),
            br#"{"type":"OUTER","payload":"{\"type\":\"INNER\",\"payload\":1}"}"#
        );
        assert_eq!(
            encode_frame("AFTER", None::<&()>, Some(&2)).unwrap(),
            br#"{"type":"AFTER","payload":2}"#
        );
    }

    #[test]
    fn error_without_correlation_is_error() {
        assert_eq!(
            encode_error(None, &crate::Error::from_code(crate::ErrorCode::Unimplemented)),
            br#"{"type":"ERROR","meta":{},"payload":{"code":"UNIMPLEMENTED","message":"Feature not supported or deployed"}}"#
        );
    }
}
