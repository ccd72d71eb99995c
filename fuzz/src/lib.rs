//! What the fuzz targets share: a protocol that uses every field type and constraint (in
//! payloads and in declared meta), and the properties each target checks. The properties are
//! plain functions, so a crash the fuzzer finds becomes a unit test here (`tests` below) that
//! runs on stable.

use std::collections::HashSet;
use std::fmt;
use std::sync::LazyLock;

use serde::Serialize;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use wskit::__private::fuzz::{
    client_frames, decode_frame_common, decode_frame_reference, decode_frame_text,
    decode_frame_whole, server_frames,
};
use wskit::client::Client;
use wskit::validate::{Decode, Issues, Path, decode_meta};
use wskit::wire::inbound::{DecodeError, decode_request};
use wskit::wire::{InboundFrame, Meta, RESERVED_META_KEYS, check_meta_shape, meta_keys};
use wskit::{Message, NoMeta};

/// A user's own type, named by path: decoded by serde, then validated.
pub mod money {
    /// Cents, never negative.
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    pub struct Money {
        /// The amount.
        pub cents: i64,
    }

    impl wskit::Validate for Money {
        fn validate(&self, path: &wskit::validate::Path<'_>, issues: &mut wskit::Issues) {
            if self.cents < 0 {
                issues.push(path, "must not be negative");
            }
        }
    }
}

/// A custom validator.
pub fn not_blank(s: &str) -> Result<(), String> {
    if s.trim().is_empty() {
        Err("must not be blank".into())
    } else {
        Ok(())
    }
}

wskit::protocol! {
    /// Every field type and every constraint.
    pub protocol Fuzz {
        rpc GetUser(#[validate(uuid)] user_id: String) -> UserData { name: String, email: Option<String> }
        message Ping {}
        message Everything {
            #[validate(length(min = 1, max = 8), pattern = "^[a-z]+$")] name: String,
            #[validate(email)] email: Option<String>,
            #[validate(url)] site: Option<String>,
            #[validate(custom = crate::not_blank)] note: String,
            flag: bool,
            #[validate(range(min = 1, max = 200))] a: u8,
            b: u16, c: u32, d: u64,
            #[validate(range(min = -5, max = 5))] e: i8,
            f: i16, g: i32, h: i64,
            #[validate(range(min = -1.5, max = 1.5))] x: f32,
            y: f64,
            raw: serde_json::Value,
            #[validate(length(max = 4), items(range(min = 1, max = 99)))] nums: Vec<u32>,
            nested: Vec<Option<Vec<Line>>>,
            #[validate(length(max = 3), items(length(min = 1)))] tags: HashMap<String, String>,
            sorted: BTreeMap<String, Line>,
            total: crate::money::Money,
            status: Status,
            address: Option<Address>,
        }
        /// No map: served by the fast path, with JSON values of any shape in it.
        message Loose { v: serde_json::Value, line: Option<Line>, n: u32 }
        event Told { text: String }
        rpc Count(to: u32) -> Counted { total: u32 } progress CountStep { n: u32 }
        /// Declared meta beside a payload: field types and constraints, optional and required
        /// (no map in it: its serde form reads what its decoder reads).
        message Tagged { #[validate(length(min = 1))] label: String } meta {
            #[validate(length(min = 1, max = 8), pattern = "^[a-z0-9-]+$")] trace_id: Option<String>,
            #[validate(range(min = 1, max = 16))] shard: u8,
            #[wire = "tenant"] #[validate(custom = crate::not_blank)] tenant_id: String,
            #[validate(range(min = -1.5, max = 1.5))] weight: Option<f64>,
            #[validate(length(max = 3), items(range(min = -5, max = 5)))] steps: Option<Vec<i16>>,
            #[validate(email)] by: Option<String>,
            big: Option<u64>,
            // Unbounded: a number beyond f32's range is refused on every path (it read as
            // infinity, which serializes as `null`, until the fuzzer found it).
            ratio: Option<f32>,
            urgent: Option<bool>,
            line: Option<Line>,
            status: Option<Status>,
            raw: Option<serde_json::Value>,
            total: Option<crate::money::Money>,
        }
        /// Declared meta and no payload.
        message Traced meta { #[validate(uuid)] trace: String, depth: Option<i32> }
        /// An rpc with declared meta, a map in it (serde keeps a repeated key's last value there,
        /// the decoder refuses it).
        rpc Lookup(#[validate(length(min = 1, max = 16))] key: String) -> Found { value: Option<String> } meta {
            #[validate(url)] origin: Option<String>,
            attempt: u32,
            #[validate(length(max = 2), items(range(min = 0, max = 9)))] weights: Option<BTreeMap<String, u16>>,
            at: Option<Address>,
        }
        type Line { #[validate(length(min = 1))] sku: String, qty: u32 }
        type Address { city: String, #[validate(pattern = "^[0-9]{5}$")] zip: String }
        enum Status { Open, #[wire = "done"] Closed, SuperSeded }
    }
}

/// A message's meta type (declared, or [`NoMeta`]) as the checks read it beside its decoder.
pub trait DeclaredMeta: Decode + Serialize + PartialEq + fmt::Debug + Sized {
    /// Whether its serde form reads only what its decoder reads (no map in it: serde keeps a
    /// repeated key's last value, the decoder refuses it), as `Message::__SERDE_STRICT` says of a
    /// payload.
    const SERDE_STRICT: bool;
    /// serde's read of the declared keys (the text of one object), constraints checked.
    fn serde_read(text: &str) -> Option<Self>;
}

impl DeclaredMeta for NoMeta {
    const SERDE_STRICT: bool = true;
    fn serde_read(text: &str) -> Option<Self> {
        let keys = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(text).ok()?;
        keys.is_empty().then_some(NoMeta {})
    }
}

macro_rules! declared_meta {
    ($($meta:ty: $strict:expr),* $(,)?) => {$(
        impl DeclaredMeta for $meta {
            const SERDE_STRICT: bool = $strict;
            fn serde_read(text: &str) -> Option<Self> {
                let meta: Self = serde_json::from_str(text).ok()?;
                let mut issues = Issues::new();
                wskit::Validate::validate(&meta, &Path::root("meta"), &mut issues);
                issues.is_empty().then_some(meta)
            }
        }
    )*};
}

declared_meta!(TaggedMeta: true, TracedMeta: true, LookupMeta: false);

/// serde's read of a frame's `meta` (`None`: the frame has none) for meta type `T`: within the
/// caps (`check_meta_shape`), an object without a repeated key whose standard keys read as
/// serde reads their types (`correlationId` a string, `timestamp` a number, `timeoutMs` a
/// finite non-negative number, as whole milliseconds), reserved keys dropped, and the other keys
/// read by `T`'s serde form, constraints checked ([`DeclaredMeta::serde_read`]). `None` where any
/// of that refuses.
pub fn serde_meta<T: DeclaredMeta>(text: Option<&str>) -> Option<(Meta, T)> {
    let mut meta = Meta::default();
    let Some(text) = text else {
        return Some((meta, T::serde_read("{}")?));
    };
    check_meta_shape(text).ok()?;
    let Entries(entries) = serde_json::from_str(text).ok()?;
    let mut declared = Vec::new();
    for (key, value) in entries {
        match key.as_str() {
            k if RESERVED_META_KEYS.contains(&k) => {}
            meta_keys::CORRELATION_ID => {
                meta.correlation_id = Some(serde_json::from_str::<String>(value.get()).ok()?.into())
            }
            meta_keys::TIMESTAMP => meta.timestamp = Some(serde_json::from_str(value.get()).ok()?),
            meta_keys::TIMEOUT_MS => {
                let ms: f64 = serde_json::from_str(value.get()).ok()?;
                if !(ms.is_finite() && ms >= 0.0) {
                    return None;
                }
                meta.timeout_ms = Some(ms as u64);
            }
            _ => declared.push((key, value)),
        }
    }
    let mut object = serde_json::Map::new();
    let mut keys = Vec::new();
    for (key, value) in &declared {
        keys.push(format!(
            "{}:{}",
            serde_json::to_string(key).ok()?,
            value.get()
        ));
        object.insert(key.clone(), serde_json::from_str(value.get()).ok()?);
    }
    let typed = T::serde_read(&format!("{{{}}}", keys.join(",")))?;
    meta.extra = object;
    Some((meta, typed))
}

/// An object's entries in order, its values as JSON text; a repeated key refuses it.
struct Entries(Vec<(String, Box<RawValue>)>);

impl<'de> serde::Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Read;
        impl<'de> Visitor<'de> for Read {
            type Value = Entries;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries, A::Error> {
                let mut entries: Vec<(String, Box<RawValue>)> = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    if entries.iter().any(|(k, _)| *k == key) {
                        return Err(serde::de::Error::custom(format!("duplicate key {key}")));
                    }
                    entries.push((key, map.next_value()?));
                }
                Ok(Entries(entries))
            }
        }
        d.deserialize_map(Read)
    }
}

/// Whether an object anywhere in `text` repeats a key (also true for text serde does not read
/// through, so that nothing is compared on it).
fn repeats_a_key(text: &str) -> bool {
    struct Scan;
    impl<'de> DeserializeSeed<'de> for Scan {
        type Value = bool;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
            d.deserialize_any(self)
        }
    }
    impl<'de> Visitor<'de> for Scan {
        type Value = bool;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("JSON")
        }
        fn visit_bool<E>(self, _: bool) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_i64<E>(self, _: i64) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_u64<E>(self, _: u64) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_f64<E>(self, _: f64) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_str<E>(self, _: &str) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_unit<E>(self) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
            let mut repeats = false;
            while let Some(inner) = seq.next_element_seed(Scan)? {
                repeats |= inner;
            }
            Ok(repeats)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
            let mut keys = HashSet::new();
            let mut repeats = false;
            while let Some(key) = map.next_key::<String>()? {
                repeats |= !keys.insert(key);
                repeats |= map.next_value_seed(Scan)?;
            }
            Ok(repeats)
        }
    }
    let mut de = serde_json::Deserializer::from_str(text);
    Scan.deserialize(&mut de)
        .and_then(|repeats| de.end().map(|()| repeats))
        .unwrap_or(true)
}

/// serde's read of a payload for message `M`: its serde form (`{}` for an absent payload that
/// may be absent), constraints checked.
fn serde_payload<M: Message>(raw: Option<&RawValue>) -> Option<M> {
    let text = match raw {
        Some(raw) => raw.get(),
        None if M::PAYLOAD.may_be_absent() => "{}",
        None => return None,
    };
    let msg: M = serde_json::from_str(text).ok()?;
    let mut issues = Issues::new();
    msg.validate(&Path::root("payload"), &mut issues);
    issues.is_empty().then_some(msg)
}

/// The reference path's answer to a frame (`decode_frame_reference`): `None` when the frame is
/// not of type `M`.
type Answer<M> = Option<Result<(Meta, <M as Message>::Meta, M), Issues>>;

/// What serde reads of a frame of message `M` (the envelope as the reference path parses it,
/// then the meta by [`serde_meta`] and the payload by `M`'s serde form, constraints checked),
/// the reference path accepts, with the same value, wherever serde's forms read only what the
/// decoders read (the message's and its meta's forms are strict, or no object in the frame
/// repeats a key). For a frame whose meta is declared this is the only read compared with the
/// reference path: the fast reads leave such frames to it. (The other way does not hold: the
/// decoders also accept, say, `1.0` for an integer.)
fn check_serde_frame<M>(text: &str, reference: &Answer<M>)
where
    M: Message + PartialEq + fmt::Debug,
    M::Meta: DeclaredMeta,
{
    let Ok(frame) = InboundFrame::parse(text) else {
        return;
    };
    if frame.ty != M::TYPE || !(M::__SERDE_STRICT && M::Meta::SERDE_STRICT) && repeats_a_key(text) {
        return;
    }
    let Some((meta, typed)) = serde_meta::<M::Meta>(frame.meta.map(RawValue::get)) else {
        return;
    };
    let Some(msg) = serde_payload::<M>(frame.payload) else {
        return;
    };
    match reference {
        Some(Ok(reference)) => assert_eq!(
            reference,
            &(meta, typed, msg),
            "reference vs serde read of {text}"
        ),
        other => panic!("serde reads {text} but the reference path answers {other:?}"),
    }
}

/// Whether the server would route `text` to `M` before parsing it: it starts
/// `{"type":"<M::TYPE>"` (the fast path's peek).
fn routed_to<M: Message>(text: &str) -> bool {
    text.strip_prefix(r#"{"type":""#)
        .and_then(|rest| rest.strip_prefix(M::TYPE))
        .is_some_and(|rest| rest.starts_with('"'))
}

/// The server's reads of a frame agree: what the byte-matched read accepts, the whole-frame
/// serde read accepts too, with the same value; the server's one-pass read (`decode_frame_text`,
/// the two in turn) gives what the first of them that accepts gives; and what either fast read
/// accepts, the reference path (envelope, then meta and payload with every issue collected)
/// accepts, with the same value; what serde reads of the frame, the reference path accepts,
/// with the same value ([`check_serde_frame`], the only read compared for a frame whose meta is
/// declared); and the server's decode of a routed frame (`wire::inbound::decode_request`) answers as
/// the reference path does.
pub fn check_frame<M: Message + PartialEq + fmt::Debug>(text: &str)
where
    M::Meta: DeclaredMeta,
{
    let reference = decode_frame_reference::<M>(text);
    check_serde_frame::<M>(text, &reference);
    if !routed_to::<M>(text) {
        return;
    }
    let common = decode_frame_common::<M>(text);
    let whole = decode_frame_whole::<M>(text);
    if let Some(common) = &common {
        assert_eq!(
            Some(common),
            whole.as_ref(),
            "byte-matched vs whole-frame read of {text}"
        );
    }
    let fast = common.or(whole);
    assert_eq!(
        decode_frame_text::<M>(text),
        fast,
        "one-pass read vs the byte-matched and whole-frame reads of {text}"
    );
    // The server's whole decode (the fast reads, then the issue-collecting path, from the
    // envelope the second fast read parsed when it got that far) answers as the reference path.
    match (&reference, decode_request::<M>(text, &mut None)) {
        (Some(Ok(reference)), Ok(served)) => {
            assert_eq!(&served, reference, "server vs reference read of {text}")
        }
        (Some(Err(issues)), Err(DecodeError::Invalid { error, .. })) => assert_eq!(
            error,
            issues.clone().into_error(),
            "server vs reference answer to {text}"
        ),
        (None, Err(DecodeError::BadFrame(_))) => {}
        (reference, served) => {
            panic!("the server answers {text} with {served:?}, the reference path {reference:?}")
        }
    }
    if let Some(fast) = fast {
        match reference {
            Some(Ok(reference)) => assert_eq!(fast, reference, "fast vs reference read of {text}"),
            other => {
                panic!("the fast path accepted {text} but the reference path answers {other:?}")
            }
        }
    }
}

/// Every frame type of the fuzz protocol, through [`check_frame`].
pub fn check_frame_all(text: &str) {
    check_frame::<GetUser>(text);
    check_frame::<Ping>(text);
    check_frame::<Everything>(text);
    check_frame::<Loose>(text);
    check_frame::<Count>(text);
    check_frame::<Tagged>(text);
    check_frame::<Traced>(text);
    check_frame::<Lookup>(text);
}

/// A payload's two decoders agree: what serde's strict derive accepts and the constraints pass,
/// the issue-collecting decoder accepts, with the same value (for messages whose serde form is
/// strict). An accepted value written out and read again is the same value.
pub fn check_payload<M: Message + PartialEq + fmt::Debug>(text: &str) {
    let Ok(raw) = serde_json::from_str::<&RawValue>(text) else {
        return;
    };
    let path = Path::root("payload");
    let mut issues = wskit::Issues::new();
    let decoded = M::decode(raw, &path, &mut issues);
    let decoded = decoded.filter(|_| issues.is_empty());
    if M::__SERDE_STRICT
        && let Ok(value) = serde_json::from_str::<M>(text)
    {
        let mut problems = wskit::Issues::new();
        value.validate(&path, &mut problems);
        if problems.is_empty() {
            assert_eq!(
                decoded.as_ref(),
                Some(&value),
                "serde vs strict decoder on {text}"
            );
        }
    }
    if let Some(value) = decoded {
        let written = serde_json::to_string(&value).expect("a decoded value serializes");
        let again = wskit::validate::decode_payload::<M>(Some(
            &RawValue::from_string(written.clone()).expect("serde writes JSON"),
        ));
        assert_eq!(
            again.as_ref(),
            Ok(&value),
            "round trip of {text} through {written}"
        );
    }
}

/// Every payload type of the fuzz protocol, through [`check_payload`].
pub fn check_payload_all(text: &str) {
    check_payload::<GetUser>(text);
    check_payload::<UserData>(text);
    check_payload::<Ping>(text);
    check_payload::<Everything>(text);
    check_payload::<Loose>(text);
    check_payload::<Counted>(text);
    check_payload::<Tagged>(text);
    check_payload::<Traced>(text);
    check_payload::<Lookup>(text);
    check_payload::<Found>(text);
}

/// A frame's meta (`text`, the value of its `meta` key) read for message `M`: what serde reads
/// ([`serde_meta`]), the issue-collecting decoder (`decode_meta`, the server's
/// `decode_meta_as::<M::Meta>`) accepts, with the same value, wherever serde's form reads only
/// what the decoder reads (the meta's form is strict, or no object in `text` repeats a key). An
/// accepted declared meta written out and read again is the same value.
pub fn check_meta<M: Message>(text: &str)
where
    M::Meta: DeclaredMeta,
{
    let Ok(raw) = serde_json::from_str::<&RawValue>(text) else {
        return;
    };
    let decoded = decode_meta::<M>(Some(raw));
    if (M::Meta::SERDE_STRICT || !repeats_a_key(text))
        && let Some(read) = serde_meta::<M::Meta>(Some(text))
    {
        assert_eq!(
            decoded.as_ref(),
            Ok(&read),
            "decoder vs serde read of meta {text}"
        );
    }
    if let Ok((_, typed)) = decoded {
        let written = serde_json::to_string(&typed).expect("a decoded meta serializes");
        let again = decode_meta::<M>(Some(
            &RawValue::from_string(written.clone()).expect("serde writes JSON"),
        ));
        assert_eq!(
            again.map(|(_, typed)| typed).as_ref(),
            Ok(&typed),
            "round trip of meta {text} through {written}"
        );
    }
}

/// The meta types of the fuzz protocol (each declared one, and [`NoMeta`]), through
/// [`check_meta`].
pub fn check_meta_all(text: &str) {
    check_meta::<Tagged>(text);
    check_meta::<Traced>(text);
    check_meta::<Lookup>(text);
    check_meta::<Ping>(text);
}

/// The client the `client_inbound` target feeds: events are decoded and offered to a live stream
/// (once its buffer is full, further events take the overflow path, which is fuzzed too).
struct Peer {
    client: Client,
    _events: std::sync::Mutex<wskit::client::Events<FuzzEvent>>,
}

static PEER: LazyLock<Peer> = LazyLock::new(|| {
    let client = Client::builder("ws://127.0.0.1:9/")
        .on_error(|report| drop(report.to_string()))
        .on_unhandled(drop)
        .event_buffer(16)
        .build();
    let _events = std::sync::Mutex::new(client.events::<FuzzEvent>());
    Peer { client, _events }
});

/// The client's handling of one inbound text frame (replies, progress, `ERROR`, events,
/// unhandled frames) never panics, whatever the server sends.
pub fn check_client_inbound(text: &str) {
    wskit::__private::fuzz::client_inbound(&PEER.client, text);
}

/// The server's and the client's WebSocket frame readers read the bytes after `data`'s first as
/// tungstenite alone reads them: the same messages, in order, and the same end (panics with
/// both readings otherwise). The first byte says how the bytes arrive (its low 6 bits: that many
/// at a time, each piece after a pending read; 0: all at once) and the limit of a frame
/// (bit 0x40: 64 bytes, else 64 KiB).
pub fn check_ws_frames(data: &[u8]) {
    let Some((&first, bytes)) = data.split_first() else {
        return;
    };
    let step = match first & 0x3f {
        0 => usize::MAX,
        n => usize::from(n),
    };
    let max = if first & 0x40 != 0 { 64 } else { 1 << 16 };
    if let Err(diff) = server_frames(bytes, max, step) {
        panic!("the server's reader: {diff}");
    }
    if let Err(diff) = client_frames(bytes, max, step) {
        panic!("the client's reader: {diff}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Repeated keys: in a field of a declared type both reads refuse them; inside a
    /// `serde_json::Value` both keep the last (a JSON value is taken as serde reads it).
    #[test]
    fn repeated_keys_get_one_answer_on_every_path() {
        for payload in [
            r#"{"v":{"a":1,"a":2},"n":1}"#,
            r#"{"v":1,"n":1,"n":2}"#,
            r#"{"v":1,"n":1,"line":{"sku":"s","qty":1,"qty":2}}"#,
            r#"{"v":[{"k":1,"k":{"k":2}}],"n":3}"#,
        ] {
            let frame = format!(r#"{{"type":"LOOSE","meta":{{}},"payload":{payload}}}"#);
            check_frame_all(&frame);
            check_payload_all(payload);
        }
        let accepted = |payload: &str| {
            let frame = format!(r#"{{"type":"LOOSE","meta":{{}},"payload":{payload}}}"#);
            decode_frame_reference::<Loose>(&frame).is_some_and(|r| r.is_ok())
        };
        assert!(accepted(r#"{"v":{"a":1,"a":2},"n":1}"#));
        assert!(!accepted(r#"{"v":1,"n":1,"n":2}"#));
        assert!(!accepted(
            r#"{"v":1,"n":1,"line":{"sku":"s","qty":1,"qty":2}}"#
        ));
    }

    /// Seed frames of the messages with declared meta (each kept in `corpus/frame_decode` and
    /// `corpus/client_inbound`, its meta and payload texts in `corpus/payload_decode`, named as
    /// the other seeds: the first 16 hex digits of the text's SHA-1), and whether the server
    /// accepts each.
    const META_SEEDS: &[(&str, bool)] = &[
        (
            r#"{"type":"TAGGED","meta":{"correlationId":"c-1","timestamp":1764160000000,"traceId":"ab-1","shard":3,"tenant":"acme","weight":-0.5,"steps":[1,-5,5],"by":"a@b.co","big":18446744073709551615,"ratio":0.25,"urgent":true,"line":{"sku":"s","qty":2},"status":"done","raw":{"a":[1,null,"x"],"a":2},"total":{"cents":100}},"payload":{"label":"l"}}"#,
            true,
        ),
        (
            r#"{"type":"TAGGED","meta":{"shard":1,"tenant":"t"},"payload":{"label":"l"}}"#,
            true,
        ),
        (
            r#"{"type":"TAGGED","meta":{"traceId":null,"shard":16,"tenant":"t","weight":null,"steps":null,"raw":null,"status":"superSeded"},"payload":{"label":"x"}}"#,
            true,
        ),
        (
            r#"{"meta":{"clientId":"spoofed","receivedAt":1,"tenant":"t","shard":2,"timeoutMs":500.5},"payload":{"label":"l"},"type":"TAGGED"}"#,
            true,
        ),
        (
            r#"{"type":"TAGGED","meta":{"shard":1.0,"tenant":"t","big":1e3},"payload":{"label":"l"}}"#,
            true,
        ),
        (
            r#"{"type":"TAGGED","meta":{"traceId":"UPPER CASE!","shard":0,"tenant":"  ","weight":2,"steps":[1,2,3,9],"by":"nope","total":{"cents":-1}},"payload":{"label":""}}"#,
            false,
        ),
        (
            r#"{"type":"TAGGED","meta":{"shard":"1","urgent":1,"status":"closed","line":{"sku":"s"},"other":1},"payload":{"label":"l"}}"#,
            false,
        ),
        (
            r#"{"type":"TAGGED","meta":{"shard":1,"shard":2,"tenant":"t"},"payload":{"label":"l"}}"#,
            false,
        ),
        (r#"{"type":"TAGGED","payload":{"label":"l"}}"#, false),
        (
            r#"{"type":"TAGGED","meta":null,"payload":{"label":"l"}}"#,
            false,
        ),
        (
            r#"{"type":"TRACED","meta":{"correlationId":"c","trace":"67e55044-10b1-426f-9247-bb680e5fe0c8","depth":-3}}"#,
            true,
        ),
        (
            r#"{"type":"TRACED","meta":{"trace":"67e55044-10b1-426f-9247-bb680e5fe0c8"},"payload":{}}"#,
            true,
        ),
        (
            r#"{"type":"TRACED","meta":{"trace":"not-a-uuid","depth":2147483648}}"#,
            false,
        ),
        (
            r#"{"type":"TRACED","meta":{"trace":"67e55044-10b1-426f-9247-bb680e5fe0c8"},"payload":{"x":1}}"#,
            false,
        ),
        (
            r#"{"type":"TRACED","meta":{"trace":"67e55044-10b1-426f-9247-bb680e5fe0c8","timestamp":"now"}}"#,
            false,
        ),
        (
            r#"{"type":"LOOKUP","meta":{"correlationId":"c-2","timestamp":1,"origin":"https://example.com/x","attempt":2,"weights":{"a":1,"b":9},"at":{"city":"Paris","zip":"75001"}},"payload":{"key":"k"}}"#,
            true,
        ),
        (
            r#"{"type":"LOOKUP","meta":{"correlationId":"c-2","attempt":0},"payload":{"key":"k"}}"#,
            true,
        ),
        (
            r#"{"type":"LOOKUP","meta":{"correlationId":"c","attempt":1,"weights":{"a":1,"a":2}},"payload":{"key":"k"}}"#,
            false,
        ),
        (
            r#"{"type":"LOOKUP","meta":{"correlationId":"c","attempt":-1,"origin":"not a url","weights":{"a":10,"b":1,"c":2},"at":{"city":"x","zip":"1"}},"payload":{"key":""}}"#,
            false,
        ),
        (
            r#"{"type":"LOOKUP","meta":{"correlationId":"c","attempt":1,"timeoutMs":-1},"payload":{"key":"k"}}"#,
            false,
        ),
    ];

    /// The texts of a corpus's inputs.
    fn corpus(target: &str) -> Vec<Vec<u8>> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("corpus")
            .join(target);
        let inputs: Vec<_> = std::fs::read_dir(&dir)
            .expect("corpus")
            .map(|entry| std::fs::read(entry.unwrap().path()).unwrap())
            .collect();
        assert!(
            inputs.len() > 10,
            "{} holds {} inputs",
            dir.display(),
            inputs.len()
        );
        inputs
    }

    /// Frames with declared meta get the answer the table says, on every path; their meta and
    /// payload texts pass the payload target's checks; and each is a seed of the corpora.
    #[test]
    fn declared_meta_seeds_are_answered_and_kept() {
        let have = |target: &str| -> HashSet<Vec<u8>> { corpus(target).into_iter().collect() };
        let (frames, payloads, client) = (
            have("frame_decode"),
            have("payload_decode"),
            have("client_inbound"),
        );
        for &(frame, accepted) in META_SEEDS {
            check_frame_all(frame);
            let answer = match serde_json::from_str::<serde_json::Value>(frame).unwrap()["type"]
                .as_str()
                .unwrap()
            {
                "TAGGED" => decode_request::<Tagged>(frame, &mut None).map(drop),
                "TRACED" => decode_request::<Traced>(frame, &mut None).map(drop),
                "LOOKUP" => decode_request::<Lookup>(frame, &mut None).map(drop),
                other => panic!("{other}"),
            };
            assert_eq!(answer.is_ok(), accepted, "{frame}: {answer:?}");
            let parts = InboundFrame::parse(frame).unwrap();
            for part in [parts.meta, parts.payload].into_iter().flatten() {
                check_payload_all(part.get());
                check_meta_all(part.get());
                assert!(
                    payloads.contains(part.get().as_bytes()),
                    "corpus/payload_decode lacks {}",
                    part.get()
                );
            }
            for (target, corpus) in [("frame_decode", &frames), ("client_inbound", &client)] {
                assert!(
                    corpus.contains(frame.as_bytes()),
                    "corpus/{target} lacks {frame}"
                );
            }
            assert!(payloads.contains(frame.as_bytes()));
        }
        // serde's read of each meta accepts some of them: the comparison is not vacuous.
        let serde_read = |frame: &str| {
            let meta = InboundFrame::parse(frame).unwrap().meta.map(RawValue::get);
            serde_meta::<TaggedMeta>(meta).is_some()
                || serde_meta::<TracedMeta>(meta).is_some()
                || serde_meta::<LookupMeta>(meta).is_some()
        };
        let read = META_SEEDS.iter().filter(|(f, _)| serde_read(f)).count();
        assert!(read >= 5, "serde reads {read} seeds' meta");
    }

    /// The seed corpus of each target, with the cases the fuzzer found kept in it (such as
    /// `corpus/payload_decode/crash-float-roundtrip`), passes the target's property.
    #[test]
    fn seed_corpora_hold() {
        for target in ["frame_decode", "payload_decode"] {
            for bytes in corpus(target) {
                if let Ok(text) = std::str::from_utf8(&bytes) {
                    check_frame_all(text);
                    check_payload_all(text);
                    check_meta_all(text);
                }
            }
        }
        for bytes in corpus("client_inbound") {
            if let Ok(text) = std::str::from_utf8(&bytes) {
                check_client_inbound(text);
            }
        }
        for bytes in corpus("ws_frames") {
            check_ws_frames(&bytes);
        }
    }
}
