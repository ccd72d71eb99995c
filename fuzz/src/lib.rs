//! What the fuzz targets share: a protocol that uses every field type and constraint, and the
//! properties each target checks. The properties are plain functions, so a crash the fuzzer
//! finds becomes a unit test here (`tests` below) that runs on stable.

use std::sync::LazyLock;

use serde_json::value::RawValue;
use wskit::__private::fuzz::{
    client_frames, decode_frame_common, decode_frame_reference, decode_frame_text,
    decode_frame_whole, server_frames,
};
use wskit::Message;
use wskit::client::Client;
use wskit::validate::Path;
use wskit::wire::inbound::{DecodeError, decode_request};

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
        type Line { #[validate(length(min = 1))] sku: String, qty: u32 }
        type Address { city: String, #[validate(pattern = "^[0-9]{5}$")] zip: String }
        enum Status { Open, #[wire = "done"] Closed, SuperSeded }
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
/// accepts, with the same value; and the server's decode of a routed frame
/// (`wire::inbound::decode_request`) answers as the reference path does.
pub fn check_frame<M: Message + PartialEq + std::fmt::Debug>(text: &str)
where
    M::Meta: PartialEq + std::fmt::Debug,
{
    let reference = decode_frame_reference::<M>(text);
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
}

/// A payload's two decoders agree: what serde's strict derive accepts and the constraints pass,
/// the issue-collecting decoder accepts, with the same value (for messages whose serde form is
/// strict). An accepted value written out and read again is the same value.
pub fn check_payload<M: Message + PartialEq + std::fmt::Debug>(text: &str) {
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

    /// The seed corpus of each target, with the cases the fuzzer found kept in it (such as
    /// `corpus/payload_decode/crash-float-roundtrip`), passes the target's property.
    #[test]
    fn seed_corpora_hold() {
        for target in ["frame_decode", "payload_decode"] {
            for bytes in corpus(target) {
                if let Ok(text) = std::str::from_utf8(&bytes) {
                    check_frame_all(text);
                    check_payload_all(text);
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
