//! Decoding one frame of a known message type: its `meta` and `payload`, strictly (every issue at
//! once, PROTOCOL.md section 1), and the one-pass read of a whole frame that the server's fast path
//! uses; and [`split_reply`], the client's byte-matched split of a reply, beside the server's
//! (`split_common`), with which it shares the pieces of the layout.
//!
//! Per-frame code, deliberately clever: [`decode_frame_text`] reads the envelope of the layout
//! clients write (`{"type":..,"meta":{"correlationId":".."},"payload":..}`) by matching bytes,
//! that of any other layout by serde over the whole frame, and the payload by the message's
//! `Message::__read_json` (for a `protocol!` message with fields, generated: keys matched as JSON
//! text); anything those refuse goes to the issue-collecting path. `tests/tests/server_fast_path.rs` sends every frame both ways.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Map;
use serde_json::value::RawValue;

use super::frame::{
    InboundFrame, MAX_META_DEPTH, MAX_META_VALUES, Meta, RESERVED_META_KEYS, TYPE_OPEN,
    meta_key_text, meta_keys,
};
use super::strict::ObjectOnly;
use crate::protocol::{Message, NoMeta};
use crate::validate::decode::{Decode, object_entries};
use crate::validate::issues::{Issues, Path};

/// Decodes the `payload` of a frame of message `M`, as PROTOCOL.md section 1 says: present exactly
/// when `M` has fields, never `null`, strict.
///
/// ```
/// wskit::protocol! {
///     protocol Demo { message Ping {} message Say { text: String } }
/// }
/// use serde_json::value::RawValue;
/// let raw = RawValue::from_string(r#"{"text":1,"x":true}"#.into()).unwrap();
/// let issues = wskit::validate::decode_payload::<Say>(Some(&raw)).unwrap_err();
/// assert_eq!(issues.to_string(), "payload.text: expected string, got number; payload.x: unknown key");
/// assert!(wskit::validate::decode_payload::<Ping>(None).is_ok());
/// ```
pub fn decode_payload<M: Message>(raw: Option<&RawValue>) -> Result<M, Issues> {
    match fast_payload::<M>(raw.map(RawValue::get)) {
        Some(value) => Ok(value),
        None => collect_payload_of::<M>(Ok(raw)),
    }
}

/// [`decode_payload`] from the payload's JSON text, which the caller knows to be one valid JSON
/// value (a slice of a frame it parsed): the fast path reads it once, without re-checking it.
pub fn decode_payload_text<M: Message>(text: Option<&str>) -> Result<M, Issues> {
    match fast_payload::<M>(text) {
        Some(value) => Ok(value),
        None => collect_payload_of::<M>(parse_payload(text)),
    }
}

/// A payload's text as a raw value (`None`: absent), or why it is not JSON.
pub(crate) fn parse_payload(text: Option<&str>) -> Result<Option<&RawValue>, serde_json::Error> {
    text.map(serde_json::from_str::<&RawValue>).transpose()
}

/// The fast path of [`decode_payload`]: `M::__read_json` (keys matched as JSON text, values read
/// by serde) and the constraints. It accepts only what the issue-collecting path accepts;
/// anything it refuses goes there, so the answer lists every issue.
pub(crate) fn fast_payload<M: Message>(text: Option<&str>) -> Option<M> {
    if !M::__SERDE_STRICT {
        return None;
    }
    let value = M::__read_json(fast_payload_text(text, M::PAYLOAD.may_be_absent())?)?;
    valid(&value).then_some(value)
}

/// The issue-collecting path of [`decode_payload`]: the payload as a raw value (`None`: absent),
/// or why its text is not JSON.
pub(crate) fn collect_payload_of<M: Message>(
    raw: Result<Option<&RawValue>, serde_json::Error>,
) -> Result<M, Issues> {
    let mut value = None;
    collect_payload(raw, M::PAYLOAD.may_be_absent(), &mut |raw, path, issues| {
        value = M::decode(raw, path, issues);
        value.is_some()
    })?;
    value.ok_or_else(Issues::new)
}

/// The text the fast path of [`decode_payload_text`] reads: the payload, or `{}` for an absent
/// payload that may be absent; `None` when there is nothing to read.
fn fast_payload_text(text: Option<&str>, may_be_absent: bool) -> Option<&str> {
    match text {
        Some(text) => Some(text),
        None if may_be_absent => Some("{}"),
        None => None,
    }
}

/// Whether `value` passes its constraints.
fn valid<M: Message>(value: &M) -> bool {
    let mut issues = Issues::new();
    value.validate(&Path::root("payload"), &mut issues);
    issues.is_empty()
}

/// The issue-collecting path of [`decode_payload_text`], for every message type: `decode` reads
/// the payload (or `{}` for an absent one that may be absent) and says whether it produced a
/// value. `Ok` when it did, with no issue.
fn collect_payload(
    raw: Result<Option<&RawValue>, serde_json::Error>,
    may_be_absent: bool,
    decode: &mut dyn FnMut(&RawValue, &Path<'_>, &mut Issues) -> bool,
) -> Result<(), Issues> {
    let path = Path::root("payload");
    let mut issues = Issues::new();
    let decoded = match raw {
        Ok(Some(raw)) => decode(raw, &path, &mut issues),
        Err(e) => {
            issues.push(&path, format!("invalid JSON: {e}"));
            return Err(issues);
        }
        Ok(None) if may_be_absent => decode(empty_object(), &path, &mut issues),
        Ok(None) => {
            issues.push(&path, "required");
            false
        }
    };
    if decoded && issues.is_empty() {
        Ok(())
    } else {
        Err(issues)
    }
}

fn empty_object() -> &'static RawValue {
    static EMPTY: std::sync::LazyLock<Box<RawValue>> =
        std::sync::LazyLock::new(|| RawValue::from_string("{}".to_owned()).expect("valid JSON"));
    &EMPTY
}

/// Decodes the `meta` of a frame of message `M`: the standard keys, the keys `M` declares, and
/// nothing else. The reserved keys `clientId` and `receivedAt` are removed first, not refused.
///
/// Returns the meta with its declared keys kept as JSON in [`Meta::extra`], and their typed form.
pub fn decode_meta<M: Message>(raw: Option<&RawValue>) -> Result<(Meta, M::Meta), Issues> {
    decode_meta_text::<M>(raw.map(RawValue::get))
}

/// [`decode_meta`] from the meta's JSON text, which the caller knows to be one valid JSON value.
pub fn decode_meta_text<M: Message>(text: Option<&str>) -> Result<(Meta, M::Meta), Issues> {
    decode_meta_as::<M::Meta>(text)
}

/// [`decode_meta_text`] for declared meta of type `T`: compiled once per meta type (every
/// message without declared meta shares [`NoMeta`]'s), not once per message.
pub(crate) fn decode_meta_as<T: Decode + 'static>(text: Option<&str>) -> Result<(Meta, T), Issues> {
    // The fast path (serde reads the standard keys) applies to a message without declared meta.
    if let Some(plain) = no_meta_of::<T>()
        && let Some(meta) = standard_meta(text)
    {
        return Ok((meta, plain));
    }
    let mut typed = None;
    let meta = collect_meta(text, &mut |raw, path, issues| {
        typed = T::decode(raw, path, issues);
        typed.is_some()
    })?;
    typed.map(|typed| (meta, typed)).ok_or_else(Issues::new)
}

/// The issue-collecting path of [`decode_meta_text`], for every message type: reads the
/// standard keys, drops the reserved ones and hands the others (as one object, `{}` if none) to
/// `declared_meta`, which says whether it decoded them. `Ok` when it did, with no issue.
fn collect_meta(
    text: Option<&str>,
    declared_meta: &mut dyn FnMut(&RawValue, &Path<'_>, &mut Issues) -> bool,
) -> Result<Meta, Issues> {
    let path = Path::root("meta");
    let mut issues = Issues::new();
    if let Some(Err(too_big)) = text.map(check_meta_shape) {
        issues.push(&path, too_big);
        return Err(issues);
    }
    let raw = match text.map(serde_json::from_str::<&RawValue>) {
        Some(Ok(raw)) => Some(raw),
        Some(Err(e)) => {
            issues.push(&path, format!("invalid JSON: {e}"));
            return Err(issues);
        }
        None => None,
    };
    let mut meta = Meta::default();
    let mut declared: Vec<(Cow<'_, str>, &RawValue)> = Vec::new();
    let entries = match raw {
        Some(raw) => object_entries(raw, &path, &mut issues).unwrap_or_default(),
        None => Vec::new(),
    };
    for (key, value) in entries {
        let at = path.field(&key);
        match &*key {
            k if RESERVED_META_KEYS.contains(&k) => {}
            meta_keys::CORRELATION_ID => {
                meta.correlation_id = String::decode(value, &at, &mut issues).map(Into::into)
            }
            meta_keys::TIMESTAMP => meta.timestamp = f64::decode(value, &at, &mut issues),
            meta_keys::TIMEOUT_MS => {
                meta.timeout_ms = f64::decode(value, &at, &mut issues).and_then(|ms| {
                    if ms.is_finite() && ms >= 0.0 {
                        Some(ms as u64)
                    } else {
                        issues.push(&at, "must be a non-negative number of milliseconds");
                        None
                    }
                })
            }
            _ => declared.push((key, value)),
        }
    }
    let decoded = if declared.is_empty() {
        declared_meta(empty_object(), &path, &mut issues)
    } else {
        let mut text = String::from("{");
        for (i, (k, v)) in declared.iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            text.push_str(&serde_json::to_string(k).unwrap_or_default());
            text.push(':');
            text.push_str(v.get());
        }
        text.push('}');
        let mut extra = Map::new();
        for (k, v) in &declared {
            if let Ok(v) = serde_json::from_str(v.get()) {
                extra.insert(k.to_string(), v);
            }
        }
        meta.extra = extra;
        match RawValue::from_string(text) {
            Ok(raw) => declared_meta(&raw, &path, &mut issues),
            Err(_) => false,
        }
    };
    if decoded && issues.is_empty() {
        Ok(meta)
    } else {
        Err(issues)
    }
}

/// Checks the size of a frame's `meta` before it is decoded: at most [`MAX_META_VALUES`] values
/// nested at most [`MAX_META_DEPTH`] deep. It reads the text once and stops at the first value
/// or level past a cap, so a refused meta costs no more than an accepted one of the cap's size.
/// The error is the issue to report (at `meta`); text that is not JSON passes (the decoder
/// reports that).
///
/// ```
/// use wskit::wire::{check_meta_shape, MAX_META_VALUES};
/// assert!(check_meta_shape(r#"{"correlationId":"c","trace":{"id":[1,2]}}"#).is_ok());
/// let many = (0..=MAX_META_VALUES).map(|i| format!(r#""k{i}":0"#)).collect::<Vec<_>>().join(",");
/// assert_eq!(check_meta_shape(&format!("{{{many}}}")).unwrap_err(), "more than 256 values");
/// assert_eq!(check_meta_shape(&format!("{}{}", "[".repeat(17), "]".repeat(17))).unwrap_err(), "nested deeper than 16 levels");
/// ```
pub fn check_meta_shape(text: &str) -> Result<(), &'static str> {
    let mut shape = Shape {
        values: 0,
        refused: None,
    };
    let mut de = serde_json::Deserializer::from_str(text);
    let _ = Level {
        depth: 0,
        shape: &mut shape,
    }
    .deserialize(&mut de);
    match shape.refused {
        Some(why) => Err(why),
        None => Ok(()),
    }
}

const TOO_MANY_VALUES: &str = "more than 256 values";
const TOO_DEEP: &str = "nested deeper than 16 levels";

/// What [`check_meta_shape`] found so far.
struct Shape {
    values: usize,
    refused: Option<&'static str>,
}

/// One value of the meta, `depth` levels deep (the meta itself at 0).
struct Level<'s> {
    depth: usize,
    shape: &'s mut Shape,
}

impl Level<'_> {
    /// Stops the parse: the verdict is in `shape`.
    fn refuse<E: serde::de::Error>(&mut self, why: &'static str) -> E {
        self.shape.refused = Some(why);
        E::custom(why)
    }

    /// The level of the values inside an object or array at this one.
    fn inner<E: serde::de::Error>(&mut self) -> Result<usize, E> {
        if self.depth + 1 > MAX_META_DEPTH {
            return Err(self.refuse(TOO_DEEP));
        }
        Ok(self.depth + 1)
    }

    /// Counts one more value inside an object or array, before it is read.
    fn count<E: serde::de::Error>(&mut self) -> Result<(), E> {
        self.shape.values += 1;
        if self.shape.values > MAX_META_VALUES {
            return Err(self.refuse(TOO_MANY_VALUES));
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for Level<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(mut self, d: D) -> Result<(), D::Error> {
        if self.depth > 0 {
            self.count()?;
        }
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Level<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        let depth = self.inner()?;
        while seq
            .next_element_seed(Level {
                depth,
                shape: &mut *self.shape,
            })?
            .is_some()
        {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        let depth = self.inner()?;
        while map.next_key::<serde::de::IgnoredAny>()?.is_some() {
            map.next_value_seed(Level {
                depth,
                shape: &mut *self.shape,
            })?;
        }
        Ok(())
    }
}

/// The standard meta keys, read by serde on the fast paths (`deny_unknown_fields`: a declared or
/// unknown key sends the frame down the issue-collecting path).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct StandardMeta<'a> {
    #[serde(rename = "correlationId", default, borrow, deserialize_with = "some")]
    correlation_id: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "some")]
    timestamp: Option<f64>,
    #[serde(rename = "timeoutMs", default, deserialize_with = "some")]
    timeout_ms: Option<f64>,
    #[serde(rename = "clientId", default)]
    _client_id: Option<Scalar>,
    #[serde(rename = "receivedAt", default)]
    _received_at: Option<Scalar>,
}

/// A reserved meta key's value on the fast paths, skipped: only a scalar. An object or array
/// there sends the frame down the issue-collecting path, which applies [`check_meta_shape`]
/// (the fast paths would otherwise accept a reserved key holding more values, or nesting
/// deeper, than that path allows).
struct Scalar;

impl<'de> serde::Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, number, boolean or null")
            }
            fn visit_bool<E>(self, _: bool) -> Result<Scalar, E> {
                Ok(Scalar)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Scalar, E> {
                Ok(Scalar)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Scalar, E> {
                Ok(Scalar)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Scalar, E> {
                Ok(Scalar)
            }
            fn visit_str<E>(self, _: &str) -> Result<Scalar, E> {
                Ok(Scalar)
            }
            fn visit_unit<E>(self) -> Result<Scalar, E> {
                Ok(Scalar)
            }
        }
        d.deserialize_any(V)
    }
}

impl StandardMeta<'_> {
    /// The validated meta; `None` when `timeoutMs` is out of range.
    fn into_meta(self) -> Option<Meta> {
        let timeout_ms = match self.timeout_ms {
            Some(ms) if ms.is_finite() && ms >= 0.0 => Some(ms as u64),
            Some(_) => return None,
            None => None,
        };
        Some(Meta {
            correlation_id: self.correlation_id.map(|id| match id {
                Cow::Borrowed(id) => id.into(),
                Cow::Owned(id) => id.into(),
            }),
            timestamp: self.timestamp,
            timeout_ms,
            extra: Map::new(),
        })
    }
}

/// A present key must hold a value of its type: `null` is refused, not read as absent.
fn some<'de, D: Deserializer<'de>, T: serde::Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// `M::Meta` when it is [`NoMeta`] (the message declares no meta): only then do the fast
/// paths apply, since declared meta fields go through `M::Meta`'s own decoder.
fn no_meta<M: Message>() -> Option<M::Meta> {
    no_meta_of::<M::Meta>()
}

/// `T` when it is [`NoMeta`].
fn no_meta_of<T: 'static>() -> Option<T> {
    use std::any::Any;
    let mut no_meta = Some(NoMeta {});
    (&mut no_meta as &mut dyn Any)
        .downcast_mut::<Option<T>>()?
        .take()
}

/// The fast path of [`decode_meta`] for a message that declares no meta: serde reads the
/// standard keys (and skips the reserved ones). `None` sends the frame down the
/// issue-collecting path.
fn standard_meta(text: Option<&str>) -> Option<Meta> {
    let Some(text) = text else {
        return Some(Meta::default());
    };
    let ObjectOnly(standard) = serde_json::from_str::<ObjectOnly<StandardMeta<'_>>>(text).ok()?;
    standard.into_meta()
}

/// `"meta":{`, after the type.
const META_OPEN: &str = r#""meta":{"#;
/// `"payload":`, the last key of those layouts.
const PAYLOAD_KEY: &str = r#""payload":"#;

/// Splits a frame of type `ty` laid out exactly as
/// `{"type":"<ty>","meta":{"correlationId":"<id>","timestamp":<ms>},"payload":<payload>}` into
/// the id, the timestamp and the payload's text, without a JSON parser (ws-kit's client and
/// wskit's write requests so). Either meta key may be left out, the meta too; the id must be a
/// plain JSON string (no escapes, no control characters), the timestamp a plain JSON number.
/// `None` for any other layout. The
/// payload's text is everything up to the frame's closing brace: it is a valid frame of this
/// layout exactly when that text parses as one JSON value.
#[inline]
fn split_common<'a>(text: &'a str, ty: &str) -> Option<Common<'a>> {
    let rest = text
        .strip_prefix(TYPE_OPEN)?
        .strip_prefix(ty)?
        .strip_prefix(r#"","#)?;
    let Some(meta) = rest.strip_prefix(META_OPEN) else {
        return Some(Common {
            correlation_id: None,
            timestamp: None,
            payload: payload_to_end(rest)?,
        });
    };
    let (correlation_id, meta) = match meta.strip_prefix(meta_key_text::CORRELATION_ID_STR) {
        Some(id) => {
            let (id, after) = plain_string(id)?;
            (Some(id), after)
        }
        None => (None, meta),
    };
    // `timestamp` comes second when there is an id, first otherwise.
    let timestamp_key = if correlation_id.is_some() {
        meta_key_text::TIMESTAMP_NEXT
    } else {
        meta_key_text::TIMESTAMP_FIRST
    };
    let (timestamp, meta) = match meta.strip_prefix(timestamp_key) {
        Some(number) => {
            let end = number.find('}')?;
            let (number, after) = (&number[..end], &number[end..]);
            // A plain JSON number, read as the issue-collecting path reads `timestamp`
            // (`f64::decode`: a `Number`, then `as_f64`); anything else takes that path.
            if !number
                .bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
            {
                return None;
            }
            let number: serde_json::Number = serde_json::from_str(number).ok()?;
            (Some(number.as_f64()?), after)
        }
        None => (None, meta),
    };
    Some(Common {
        correlation_id,
        timestamp,
        payload: payload_to_end(meta.strip_prefix("},")?)?,
    })
}

/// Splits a frame laid out exactly as a server writes a reply,
/// `{"type":"<ty>","meta":{"correlationId":"<id>"},"payload":<payload>}`, into its type, id and
/// the payload's text, by matching bytes: no JSON parser (the client's fast path for replies).
/// The type and the id must be plain JSON strings (no escapes, no control characters). The
/// payload's text is everything up to the frame's closing brace: the frame is one of this layout
/// exactly when that text is one JSON value, which decoding it proves. `None` for any other
/// layout.
///
/// ```
/// use wskit::wire::split_reply;
/// let frame = r#"{"type":"USER","meta":{"correlationId":"c-1"},"payload":{"name":"a"}}"#;
/// assert_eq!(split_reply(frame), Some(("USER", "c-1", r#"{"name":"a"}"#)));
/// assert_eq!(split_reply(r#"{"type":"USER","meta":{},"payload":1}"#), None);
/// ```
#[inline]
pub fn split_reply(text: &str) -> Option<(&str, &str, &str)> {
    let (ty, rest) = plain_string(text.strip_prefix(TYPE_OPEN)?)?;
    let meta = rest
        .strip_prefix(',')?
        .strip_prefix(META_OPEN)?
        .strip_prefix(meta_key_text::CORRELATION_ID_STR)?;
    let (id, rest) = plain_string(meta)?;
    Some((ty, id, payload_to_end(rest.strip_prefix("},")?)?))
}

/// The text of a plain JSON string (no escapes, no control characters) that `text` begins
/// with, its opening quote already read: the text up to the closing quote, and what follows
/// that quote. `None` when an escape or a control character comes first.
#[inline]
fn plain_string(text: &str) -> Option<(&str, &str)> {
    // Up to the closing quote, in one pass. (Types and ids are short: a byte loop beats a
    // memchr search.)
    let end = text
        .bytes()
        .position(|b| b == b'"' || b == b'\\' || b < 0x20)
        .filter(|&end| text.as_bytes()[end] == b'"')?;
    Some((&text[..end], &text[end + 1..]))
}

/// The payload's text of `"payload":<payload>}`: everything up to the frame's closing brace.
#[inline]
fn payload_to_end(text: &str) -> Option<&str> {
    text.strip_prefix(PAYLOAD_KEY)?.strip_suffix('}')
}

/// What `split_common` reads of a frame: the standard meta keys of its layout, and the
/// payload's text.
struct Common<'a> {
    correlation_id: Option<&'a str>,
    timestamp: Option<f64>,
    payload: &'a str,
}

impl Common<'_> {
    /// The standard meta it read.
    fn meta(&self) -> Meta {
        Meta {
            correlation_id: self.correlation_id.map(Into::into),
            timestamp: self.timestamp,
            ..Meta::default()
        }
    }
}

/// The reference path's answer for a frame of message `M`, as the server gives it to a frame it
/// parsed first: the envelope ([`InboundFrame::parse`](super::frame::InboundFrame::parse)), then
/// meta and payload, each issue collected. `None` when the frame is not of type `M`. What the
/// fast reads ([`decode_frame_common`], [`decode_frame_whole`]) must agree with.
#[allow(clippy::type_complexity)]
pub fn decode_frame_reference<M: Message>(
    text: &str,
) -> Option<Result<(Meta, M::Meta, M), Issues>> {
    let frame = super::frame::InboundFrame::parse(text).ok()?;
    if frame.ty != M::TYPE {
        return None;
    }
    let meta = decode_meta::<M>(frame.meta);
    let payload = decode_payload::<M>(frame.payload);
    Some(match (meta, payload) {
        (Ok((meta, typed)), Ok(msg)) => Ok((meta, typed, msg)),
        (meta, payload) => {
            let mut all = Vec::new();
            all.extend(meta.err().into_iter().flatten());
            all.extend(payload.err().into_iter().flatten());
            Err(Issues::from(all))
        }
    })
}

/// Decodes a whole frame of message `M` (envelope, meta and payload) in one pass, for a frame
/// routed on its type before its envelope was parsed.
///
/// Accepts exactly what [`InboundFrame::parse`](super::frame::InboundFrame::parse) followed by [`decode_meta`] and
/// [`decode_payload`] accept, for messages that declare no meta; `None` for anything else (invalid
/// JSON, a bad envelope, a message with declared meta, any issue), which then goes down that
/// path for its exact answer.
pub fn decode_frame_text<M: Message>(text: &str) -> Option<(Meta, M::Meta, M)> {
    fast_read::<M>(text, Reads::Both, &mut None)
}

/// [`decode_frame_text`], leaving the envelope in `parsed` when its second read parsed it (so
/// that the issue-collecting path may read the meta and payload of a frame the fast reads refuse
/// as they are, without parsing the frame again).
#[inline]
pub(crate) fn decode_frame_keeping_envelope<'a, M: Message>(
    text: &'a str,
    parsed: &mut Option<InboundFrame<'a>>,
) -> Option<(Meta, M::Meta, M)> {
    fast_read::<M>(text, Reads::Both, parsed)
}

/// The first read of [`decode_frame_text`]: the layout clients write (ws-kit's and ours), its
/// envelope read by matching bytes (`split_common`) and the payload by `M::__read_json`. `None` for
/// any other layout, a payload that does not parse, or any issue.
pub fn decode_frame_common<M: Message>(text: &str) -> Option<(Meta, M::Meta, M)> {
    fast_read::<M>(text, Reads::Common, &mut None)
}

/// The second read of [`decode_frame_text`]: the envelope by serde over the whole frame, in one
/// pass ([`InboundFrame::parse`], as the reference path reads it), the standard meta from the
/// meta's text, then the payload by `M::__read_json`. `None` for anything the reference path must
/// answer.
pub fn decode_frame_whole<M: Message>(text: &str) -> Option<(Meta, M::Meta, M)> {
    fast_read::<M>(text, Reads::Whole, &mut None)
}

/// Which of the fast reads [`fast_read`] tries.
#[derive(Clone, Copy, PartialEq)]
enum Reads {
    Common,
    Whole,
    Both,
}

/// The fast reads of a frame of message `M`: the byte-matched envelope, then (if that refuses)
/// the whole-frame serde read of the envelope, with one read of `M`'s payload
/// (`M::__read_json`) between them, so that its code is compiled once per message type. The
/// second read leaves the envelope in `parsed`.
fn fast_read<'a, M: Message>(
    text: &'a str,
    reads: Reads,
    parsed: &mut Option<InboundFrame<'a>>,
) -> Option<(Meta, M::Meta, M)> {
    if !M::__SERDE_STRICT {
        return None;
    }
    let typed = no_meta::<M>()?;
    let common = (reads != Reads::Whole)
        .then(|| split_common(text, M::TYPE))
        .flatten()
        .and_then(|common| {
            let msg = M::__read_json(common.payload)?;
            Some((common.meta(), msg))
        });
    let (meta, msg) = match common {
        Some(decoded) => decoded,
        None if reads != Reads::Common => {
            let (meta, payload) = read_whole(text, M::PAYLOAD.may_be_absent(), parsed)?;
            (meta, M::__read_json(payload)?)
        }
        None => return None,
    };
    validated(meta, typed, msg)
}

/// The envelope of the second fast read: the frame parsed as the reference path parses it (left
/// in `parsed`), its standard meta and its payload's text; `None` for anything the reference
/// path must answer (not JSON, a bad envelope, a meta key that is not a standard one). Out of
/// line, for every message type: the fast path of the layout clients write does not need it.
#[inline(never)]
fn read_whole<'a>(
    text: &'a str,
    may_be_absent: bool,
    parsed: &mut Option<InboundFrame<'a>>,
) -> Option<(Meta, &'a str)> {
    let frame = parsed.insert(InboundFrame::parse(text).ok()?);
    let meta = standard_meta(frame.meta.map(RawValue::get))?;
    let payload = fast_payload_text(frame.payload.map(RawValue::get), may_be_absent)?;
    Some((meta, payload))
}

/// The decoded frame, if the message passes its constraints.
fn validated<M: Message>(meta: Meta, typed: M::Meta, msg: M) -> Option<(Meta, M::Meta, M)> {
    valid(&msg).then_some((meta, typed, msg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_reply_reads_only_the_reply_layout() {
        let id = "00000000-0000-4000-8000-000000000001";
        let frame =
            format!(r#"{{"type":"T","meta":{{"correlationId":"{id}"}},"payload":[1,{{}}]}}"#);
        assert_eq!(split_reply(&frame), Some(("T", id, "[1,{}]")));
        // The payload is everything up to the last brace, whatever it is: decoding proves it.
        assert_eq!(
            split_reply(r#"{"type":"T","meta":{"correlationId":"c"},"payload":x}"#),
            Some(("T", "c", "x"))
        );
        for other in [
            r#"{"type":"T\"","meta":{"correlationId":"c"},"payload":1}"#,
            "{\"type\":\"T\u{1}\",\"meta\":{\"correlationId\":\"c\"},\"payload\":1}",
            r#"{"type":"T","meta":{"correlationId":"c\u0041"},"payload":1}"#,
            r#"{"type":"T","meta":{"correlationId":"c","timestamp":1},"payload":1}"#,
            r#"{"type":"T","meta":{},"payload":1}"#,
            r#"{"type":"T","payload":1}"#,
            r#"{"type":"T","meta":{"correlationId":"c"},"payload":1"#,
            r#"{"meta":{"correlationId":"c"},"type":"T","payload":1}"#,
            r#" {"type":"T","meta":{"correlationId":"c"},"payload":1}"#,
        ] {
            assert_eq!(split_reply(other), None, "{other}");
        }
    }

    /// `n` keys `"k0":0,...` (no braces).
    fn keys(n: usize) -> String {
        (0..n)
            .map(|i| format!(r#""k{i}":0"#))
            .collect::<Vec<_>>()
            .join(",")
    }

    #[test]
    fn meta_up_to_the_caps_passes() {
        assert_eq!(
            check_meta_shape(&format!("{{{}}}", keys(MAX_META_VALUES))),
            Ok(())
        );
        let items = vec!["1"; MAX_META_VALUES - 1].join(",");
        assert_eq!(check_meta_shape(&format!(r#"{{"a":[{items}]}}"#)), Ok(()));
        let deep = format!(
            "{}{}",
            "[".repeat(MAX_META_DEPTH),
            "]".repeat(MAX_META_DEPTH)
        );
        assert_eq!(check_meta_shape(&deep), Ok(()));
        // Not JSON, or not an object: for the decoder to answer.
        assert_eq!(check_meta_shape("nope"), Ok(()));
        assert_eq!(check_meta_shape("7"), Ok(()));
    }

    /// The check stops at the first value past the cap: what follows it is never read (here,
    /// text that is not JSON, which would otherwise be the answer).
    #[test]
    fn the_check_stops_at_the_first_value_past_a_cap() {
        let many = format!("{{{},\"k\":!!! not JSON", keys(MAX_META_VALUES));
        assert_eq!(check_meta_shape(&many), Err(TOO_MANY_VALUES));
        let items = vec!["0"; MAX_META_VALUES].join(",");
        assert_eq!(
            check_meta_shape(&format!(r#"{{"a":[{items},!!!"#)),
            Err(TOO_MANY_VALUES),
            "an array's items count"
        );
        let deep = format!("{}!!!", "[".repeat(MAX_META_DEPTH + 1));
        assert_eq!(check_meta_shape(&deep), Err(TOO_DEEP));
        assert_eq!(
            TOO_MANY_VALUES,
            format!("more than {MAX_META_VALUES} values")
        );
        assert_eq!(
            TOO_DEEP,
            format!("nested deeper than {MAX_META_DEPTH} levels")
        );
    }
}
