//! Strict decoding from borrowed JSON that records every issue instead of stopping at the first.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::BuildHasher;

use serde::de::{DeserializeOwned, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Number, Value};

use super::{Issues, Path, Validate};
use crate::protocol::Message;
use crate::wire::strict::ObjectOnly;
use crate::wire::{Meta, RESERVED_META_KEYS};

/// A type that decodes from wire JSON, recording every issue under `path`.
///
/// Implemented for the field types the `protocol!` DSL accepts and for every generated type.
///
/// ```
/// use wskit::validate::{Decode, Issues, Path};
/// let raw = serde_json::value::RawValue::from_string("[1, \"x\", 3]".into()).unwrap();
/// let mut issues = Issues::new();
/// let v = Vec::<u8>::decode(&raw, &Path::root("payload"), &mut issues);
/// assert!(v.is_none());
/// assert_eq!(issues.to_string(), "payload[1]: expected integer, got string");
/// ```
pub trait Decode: Sized {
    /// Decodes `raw`; `None` when any issue was recorded for it.
    fn decode(raw: &RawValue, path: &Path<'_>, issues: &mut Issues) -> Option<Self>;

    /// The value of an absent key, or `None` when the key is required.
    fn absent() -> Option<Self> {
        None
    }
}

/// The JSON kind of a raw value, for "expected X, got Y" messages.
fn kind(raw: &RawValue) -> &'static str {
    match raw.get().as_bytes().first() {
        Some(b'"') => "string",
        Some(b'{') => "object",
        Some(b'[') => "array",
        Some(b't' | b'f') => "boolean",
        Some(b'n') => "null",
        _ => "number",
    }
}

fn mismatch(expected: &str, raw: &RawValue, path: &Path<'_>, issues: &mut Issues) {
    issues.push(path, format!("expected {expected}, got {}", kind(raw)));
}

impl Decode for String {
    fn decode(raw: &RawValue, path: &Path<'_>, issues: &mut Issues) -> Option<Self> {
        match serde_json::from_str::<Cow<'_, str>>(raw.get()) {
            Ok(s) => Some(s.into_owned()),
            Err(_) => {
                mismatch("string", raw, path, issues);
                None
            }
        }
    }
}

impl Decode for bool {
    fn decode(raw: &RawValue, path: &Path<'_>, issues: &mut Issues) -> Option<Self> {
        match raw.get() {
            "true" => Some(true),
            "false" => Some(false),
            _ => {
                mismatch("boolean", raw, path, issues);
                None
            }
        }
    }
}

fn number(raw: &RawValue, expected: &str, path: &Path<'_>, issues: &mut Issues) -> Option<Number> {
    if kind(raw) != "number" {
        mismatch(expected, raw, path, issues);
        return None;
    }
    match serde_json::from_str::<Number>(raw.get()) {
        Ok(n) => Some(n),
        Err(_) => {
            mismatch(expected, raw, path, issues);
            None
        }
    }
}

macro_rules! integers {
    ($($t:ty),*) => {$(
        impl Decode for $t {
            fn decode(raw: &RawValue, path: &Path<'_>, issues: &mut Issues) -> Option<Self> {
                let n = number(raw, "integer", path, issues)?;
                let exact = if let Some(i) = n.as_i64() {
                    <$t>::try_from(i).ok()
                } else if let Some(u) = n.as_u64() {
                    <$t>::try_from(u).ok()
                } else {
                    let f = n.as_f64().unwrap_or(f64::NAN);
                    if f.fract() == 0.0 && f >= <$t>::MIN as f64 && f <= <$t>::MAX as f64 {
                        Some(f as $t)
                    } else if f.fract() != 0.0 {
                        issues.push(path, "expected integer, got number");
                        return None;
                    } else {
                        None
                    }
                };
                if exact.is_none() {
                    issues.push(
                        path,
                        format!("expected integer from {} to {}", <$t>::MIN, <$t>::MAX),
                    );
                }
                exact
            }
        }
    )*};
}

integers!(u8, u16, u32, u64, i8, i16, i32, i64);

impl Decode for f64 {
    fn decode(raw: &RawValue, path: &Path<'_>, issues: &mut Issues) -> Option<Self> {
        number(raw, "number", path, issues)?.as_f64()
    }
}

impl Decode for f32 {
    fn decode(raw: &RawValue, path: &Path<'_>, issues: &mut Issues) -> Option<Self> {
        f64::decode(raw, path, issues).map(|v| v as f32)
    }
}

impl Decode for Value {
    fn decode(raw: &RawValue, path: &Path<'_>, issues: &mut Issues) -> Option<Self> {
        match serde_json::from_str(raw.get()) {
            Ok(v) => Some(v),
            Err(e) => {
                issues.push(path, format!("invalid JSON: {e}"));
                None
            }
        }
    }
}

impl<T: Decode> Decode for Option<T> {
    fn decode(raw: &RawValue, path: &Path<'_>, issues: &mut Issues) -> Option<Self> {
        if raw.get() == "null" {
            Some(None)
        } else {
            T::decode(raw, path, issues).map(Some)
        }
    }

    fn absent() -> Option<Self> {
        Some(None)
    }
}

impl<T: Decode> Decode for Vec<T> {
    fn decode(raw: &RawValue, path: &Path<'_>, issues: &mut Issues) -> Option<Self> {
        let Ok(items) = serde_json::from_str::<Vec<&RawValue>>(raw.get()) else {
            mismatch("array", raw, path, issues);
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, item) in items.into_iter().enumerate() {
            if issues.is_full() {
                issues.truncate();
                return None;
            }
            match T::decode(item, &path.index(i), issues) {
                Some(v) if ok => out.push(v),
                Some(_) => {}
                None => ok = false,
            }
        }
        ok.then_some(out)
    }
}

impl<T: Decode, S: BuildHasher + Default> Decode for HashMap<String, T, S> {
    fn decode(raw: &RawValue, path: &Path<'_>, issues: &mut Issues) -> Option<Self> {
        decode_map(raw, path, issues)
    }
}

impl<T: Decode> Decode for BTreeMap<String, T> {
    fn decode(raw: &RawValue, path: &Path<'_>, issues: &mut Issues) -> Option<Self> {
        decode_map(raw, path, issues)
    }
}

fn decode_map<T: Decode, C: FromIterator<(String, T)>>(
    raw: &RawValue,
    path: &Path<'_>,
    issues: &mut Issues,
) -> Option<C> {
    let entries = object_entries(raw, path, issues)?;
    let mut out = Vec::with_capacity(entries.len());
    let mut ok = true;
    for (k, v) in entries {
        if issues.is_full() {
            issues.truncate();
            return None;
        }
        match T::decode(v, &path.field(&k), issues) {
            Some(v) if ok => out.push((k.into_owned(), v)),
            Some(_) => {}
            None => ok = false,
        }
    }
    ok.then(|| out.into_iter().collect())
}

impl<T: Decode> Decode for Box<T> {
    fn decode(raw: &RawValue, path: &Path<'_>, issues: &mut Issues) -> Option<Self> {
        T::decode(raw, path, issues).map(Box::new)
    }
}

/// The keys and raw values of a JSON object, in document order; an issue when `raw` is not an
/// object or repeats a key.
pub fn object_entries<'a>(
    raw: &'a RawValue,
    path: &Path<'_>,
    issues: &mut Issues,
) -> Option<Vec<(Cow<'a, str>, &'a RawValue)>> {
    struct Entries<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);
    impl<'de> serde::Deserialize<'de> for Entries<'de> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Entries<'de>;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                    let mut out = Vec::with_capacity(map.size_hint().unwrap_or(4));
                    while let Some(k) = map.next_key::<Cow<'de, str>>()? {
                        let v: &'de RawValue = map.next_value()?;
                        out.push((k, v));
                    }
                    Ok(Entries(out))
                }
            }
            d.deserialize_map(V)
        }
    }
    let Ok(Entries(entries)) = serde_json::from_str::<Entries<'a>>(raw.get()) else {
        mismatch("object", raw, path, issues);
        return None;
    };
    if let Some(k) = first_duplicate(&entries) {
        issues.push(&path.field(k), "duplicate key");
        return None;
    }
    Some(entries)
}

/// The first key that appears twice: a linear scan for the usual small object, a hash set for a
/// large one (a hostile frame may carry many thousands of keys).
fn first_duplicate<'e>(entries: &'e [(Cow<'_, str>, &RawValue)]) -> Option<&'e str> {
    if entries.len() <= 16 {
        return entries
            .iter()
            .enumerate()
            .find(|(i, (k, _))| entries[..*i].iter().any(|(prev, _)| prev == k))
            .map(|(_, (k, _))| &**k);
    }
    let mut seen = std::collections::HashSet::with_capacity(entries.len());
    entries
        .iter()
        .find(|(k, _)| !seen.insert(&**k))
        .map(|(k, _)| &**k)
}

/// Decodes one field of an object: an absent key is `T::absent()` or a "required" issue.
pub fn field<T: Decode>(raw: Option<&RawValue>, path: &Path<'_>, issues: &mut Issues) -> Option<T> {
    match raw {
        Some(raw) => T::decode(raw, path, issues),
        None => {
            let v = T::absent();
            if v.is_none() {
                issues.push(path, "required");
            }
            v
        }
    }
}

/// Decodes a user's own field type through serde, then runs its [`Validate`] impl.
pub fn decode_with_serde<T: DeserializeOwned + Validate>(
    raw: &RawValue,
    path: &Path<'_>,
    issues: &mut Issues,
) -> Option<T> {
    match serde_json::from_str::<T>(raw.get()) {
        Ok(v) => {
            let before = issues.len();
            v.validate(path, issues);
            (issues.len() == before).then_some(v)
        }
        Err(e) => {
            issues.push(path, e.to_string());
            None
        }
    }
}

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
    decode_payload_text(raw.map(RawValue::get))
}

/// [`decode_payload`] from the payload's JSON text, which the caller knows to be one valid JSON
/// value (a slice of a frame it parsed): the fast path reads it once, without re-checking it.
pub(crate) fn decode_payload_text<M: Message>(text: Option<&str>) -> Result<M, Issues> {
    let path = Path::root("payload");
    // Fast path: serde's strict derive (`deny_unknown_fields`) and the constraints. It accepts
    // only what the issue-collecting path below accepts; anything it refuses goes there, so the
    // answer lists every issue.
    let fast = match text {
        Some(text) => text,
        None if M::PAYLOAD.may_be_absent() => "{}",
        None => "",
    };
    if !fast.is_empty()
        && M::__SERDE_STRICT
        && let Ok(value) = serde_json::from_str::<M>(fast)
    {
        let mut issues = Issues::new();
        value.validate(&path, &mut issues);
        if issues.is_empty() {
            return Ok(value);
        }
    }
    let mut issues = Issues::new();
    let raw = match text.map(serde_json::from_str::<&RawValue>) {
        Some(Ok(raw)) => Some(raw),
        Some(Err(e)) => {
            issues.push(&path, format!("invalid JSON: {e}"));
            return Err(issues);
        }
        None => None,
    };
    let value = match raw {
        None if !M::PAYLOAD.may_be_absent() => {
            issues.push(&path, "required");
            None
        }
        Some(raw) => M::decode(raw, &path, &mut issues),
        None => M::decode(empty_object(), &path, &mut issues),
    };
    match value {
        Some(v) if issues.is_empty() => Ok(v),
        _ => Err(issues),
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
pub(crate) fn decode_meta_text<M: Message>(text: Option<&str>) -> Result<(Meta, M::Meta), Issues> {
    if let Some(fast) = standard_meta::<M>(text) {
        return Ok(fast);
    }
    let path = Path::root("meta");
    let mut issues = Issues::new();
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
            "correlationId" => meta.correlation_id = String::decode(value, &at, &mut issues),
            "timestamp" => meta.timestamp = f64::decode(value, &at, &mut issues),
            "timeoutMs" => {
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
    let typed = if declared.is_empty() {
        M::Meta::decode(empty_object(), &path, &mut issues)
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
            Ok(raw) => M::Meta::decode(&raw, &path, &mut issues),
            Err(_) => None,
        }
    };
    match typed {
        Some(typed) if issues.is_empty() => Ok((meta, typed)),
        _ => Err(issues),
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
    _client_id: Option<serde::de::IgnoredAny>,
    #[serde(rename = "receivedAt", default)]
    _received_at: Option<serde::de::IgnoredAny>,
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
            correlation_id: self.correlation_id.map(Cow::into_owned),
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

/// `M::Meta` when it is [`crate::NoMeta`] (the message declares no meta): only then do the fast
/// paths apply, since declared meta fields go through `M::Meta`'s own decoder.
fn no_meta<M: Message>() -> Option<M::Meta> {
    use std::any::Any;
    let mut no_meta = Some(crate::NoMeta {});
    (&mut no_meta as &mut dyn Any)
        .downcast_mut::<Option<M::Meta>>()?
        .take()
}

/// The fast path of [`decode_meta`] for a message that declares no meta: serde reads the
/// standard keys (and skips the reserved ones). `None` sends the frame down the
/// issue-collecting path.
fn standard_meta<M: Message>(text: Option<&str>) -> Option<(Meta, M::Meta)> {
    let typed = no_meta::<M>()?;
    let Some(text) = text else {
        return Some((Meta::default(), typed));
    };
    let ObjectOnly(standard) = serde_json::from_str::<ObjectOnly<StandardMeta<'_>>>(text).ok()?;
    Some((standard.into_meta()?, typed))
}

/// Splits a frame of type `ty` laid out exactly as
/// `{"type":"<ty>","meta":{"correlationId":"<id>"},"payload":<payload>}` into the id and the
/// payload's text, without a JSON parser. The meta may also be `{}` or absent; the id must be a
/// plain JSON string (no escapes, no control characters). `None` for any other layout. The
/// payload's text is everything up to the frame's closing brace: it is a valid frame of this
/// layout exactly when that text parses as one JSON value.
fn split_common<'a>(text: &'a str, ty: &str) -> Option<(Option<&'a str>, &'a str)> {
    let rest = text
        .strip_prefix(r#"{"type":""#)?
        .strip_prefix(ty)?
        .strip_prefix(r#"","#)?;
    let (correlation_id, rest) =
        if let Some(meta) = rest.strip_prefix(r#""meta":{"correlationId":""#) {
            let end = meta.find('"')?;
            let id = &meta[..end];
            if id.bytes().any(|b| b == b'\\' || b < 0x20) {
                return None;
            }
            (Some(id), meta[end..].strip_prefix(r#""},"#)?)
        } else {
            (None, rest.strip_prefix(r#""meta":{},"#).unwrap_or(rest))
        };
    let payload = rest.strip_prefix(r#""payload":"#)?.strip_suffix('}')?;
    Some((correlation_id, payload))
}

/// A whole frame of message `M`, read in one pass: the fast path of the server's inbound frames.
#[derive(serde::Deserialize)]
#[serde(bound(deserialize = "M: DeserializeOwned"))]
struct WholeFrame<'a, M> {
    /// Routed on before this parse; required here, and refused when repeated.
    #[serde(rename = "type")]
    _ty: serde::de::IgnoredAny,
    /// `"meta": null` reads as no meta.
    #[serde(default, borrow)]
    meta: Option<ObjectOnly<StandardMeta<'a>>>,
    #[serde(default, deserialize_with = "some")]
    payload: Option<M>,
}

/// The reference path's answer for a frame of message `M`, as the server gives it to a frame it
/// parsed first: the envelope ([`InboundFrame::parse`](crate::wire::InboundFrame::parse)), then
/// meta and payload, each issue collected. `None` when the frame is not of type `M`. What the
/// fast reads ([`decode_frame_common`], [`decode_frame_whole`]) must agree with.
#[allow(clippy::type_complexity)]
pub fn decode_frame_reference<M: Message>(
    text: &str,
) -> Option<Result<(Meta, M::Meta, M), Issues>> {
    let frame = crate::wire::InboundFrame::parse(text).ok()?;
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
/// Accepts exactly what [`crate::wire::InboundFrame::parse`] followed by [`decode_meta`] and
/// [`decode_payload`] accept, for messages that declare no meta; `None` for anything else (invalid
/// JSON, a bad envelope, a message with declared meta, any issue), which then goes down that
/// path for its exact answer.
pub(crate) fn decode_frame_text<M: Message>(text: &str) -> Option<(Meta, M::Meta, M)> {
    decode_frame_common::<M>(text).or_else(|| decode_frame_whole::<M>(text))
}

/// The first read of [`decode_frame_text`]: the layout clients write (ws-kit's and ours), its
/// envelope read by matching bytes ([`split_common`]) and only the payload by serde. `None` for
/// any other layout, a payload that does not parse, or any issue.
pub fn decode_frame_common<M: Message>(text: &str) -> Option<(Meta, M::Meta, M)> {
    if !M::__SERDE_STRICT {
        return None;
    }
    let typed = no_meta::<M>()?;
    let (correlation_id, payload) = split_common(text, M::TYPE)?;
    let msg = serde_json::from_str::<M>(payload).ok()?;
    let meta = Meta {
        correlation_id: correlation_id.map(str::to_owned),
        ..Meta::default()
    };
    validated(meta, typed, msg)
}

/// The second read of [`decode_frame_text`]: the whole frame by serde, in one pass. `None` for
/// anything the reference path must answer.
pub fn decode_frame_whole<M: Message>(text: &str) -> Option<(Meta, M::Meta, M)> {
    if !M::__SERDE_STRICT {
        return None;
    }
    let typed = no_meta::<M>()?;
    let whole: WholeFrame<'_, M> = serde_json::from_str(text).ok()?;
    let meta = match whole.meta {
        Some(ObjectOnly(standard)) => standard.into_meta()?,
        None => Meta::default(),
    };
    let msg = match whole.payload {
        Some(msg) => msg,
        None if M::PAYLOAD.may_be_absent() => serde_json::from_str::<M>("{}").ok()?,
        None => return None,
    };
    validated(meta, typed, msg)
}

/// The decoded frame, if the message passes its constraints.
fn validated<M: Message>(meta: Meta, typed: M::Meta, msg: M) -> Option<(Meta, M::Meta, M)> {
    let mut issues = Issues::new();
    msg.validate(&Path::root("payload"), &mut issues);
    issues.is_empty().then_some((meta, typed, msg))
}
