//! `wire::encode_message` writes a protocol's messages with wskit's own JSON writer
//! (`wire::json`: strings copied whole when nothing needs escaping, keys written directly) when
//! `protocol!` knows every field's type, and with serde_json otherwise: the bytes must be
//! serde_json's, byte for byte. Each message below is
//! written both ways (`wire::encode_frame` is serde_json) over strings of every character up to
//! U+07FF and beyond, awkward floats, integer extremes, nested types, maps and JSON values.

use wskit::Message;
use wskit::wire::{self, OutMeta};

/// A user's own type that serializes as raw JSON: only serde_json knows what to do with it.
pub mod raw {
    #[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
    pub struct Embedded(pub Box<serde_json::value::RawValue>);
    impl PartialEq for Embedded {
        fn eq(&self, other: &Self) -> bool {
            self.0.get() == other.0.get()
        }
    }
    impl wskit::validate::Decode for Embedded {
        fn decode(
            raw: &serde_json::value::RawValue,
            _: &wskit::validate::Path<'_>,
            _: &mut wskit::Issues,
        ) -> Option<Self> {
            Some(Embedded(raw.to_owned()))
        }
    }
    impl wskit::Validate for Embedded {
        fn validate(&self, _: &wskit::validate::Path<'_>, _: &mut wskit::Issues) {}
    }
}

wskit::protocol! {
    pub protocol Parity {
        event Everything {
            text: String,
            flag: bool,
            small: i8,
            big: u64,
            neg: i64,
            single: f32,
            double: f64,
            maybe: Option<String>,
            list: Vec<Option<f64>>,
            ordered: BTreeMap<String, Inner>,
            hashed: HashMap<String, Vec<String>>,
            json: serde_json::Value,
            inner: Inner,
            kind: Kind,
            sparse: Vec<Sparse>,
        }
        event Nothing;
        event Empty {}
        event WithRaw { text: String, raw: crate::encode_parity::raw::Embedded }
        rpc Work(n: u8) -> Done progress Step { name: String, score: Option<f64> }
        type Inner { name: String, score: Option<f64>, tags: Vec<Kind> }
        type Sparse { first: Option<String>, #[wire = "sec\"ond\\\n\u{1}é"] second: Option<u8>, third: Option<Option<bool>> }
        enum Kind { Plain, #[wire = "odd\u{e9}"] Odd }
    }
}

fn strings() -> Vec<String> {
    let mut out: Vec<String> = (0u32..0x800)
        .filter_map(char::from_u32)
        .collect::<Vec<_>>()
        .chunks(64)
        .map(|c| c.iter().collect())
        .collect();
    out.push("\u{2028}\u{2029}\u{fffd}\u{10ffff}\u{1f600} / \\ \" \u{7f}".into());
    out.push(
        (0..20_000)
            .map(|i| char::from_u32(0x20 + i % 0x5f).unwrap())
            .collect(),
    );
    out.push("x".repeat(16384) + "\"\n" + &"y".repeat(100));
    out.push(String::new());
    out
}

const FLOATS: [f64; 18] = [
    0.0,
    -0.0,
    1.0,
    1.5,
    1e21,
    1e-7,
    123456789.125,
    f64::MAX,
    f64::MIN_POSITIVE,
    5e-324,
    0.1,
    1e15,
    1e16,
    1e17,
    3.0e20,
    -2.5e-300,
    f64::NAN,
    f64::INFINITY,
];

fn assert_parity<M: Message>(msg: &M) {
    let meta = OutMeta::default();
    let fast = wire::encode_message(Some(&meta), msg).unwrap();
    let payload = M::PAYLOAD.is_written().then_some(msg);
    let reference = wire::encode_frame(M::TYPE, Some(&meta), payload).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&fast),
        String::from_utf8_lossy(&reference)
    );
}

#[test]
fn protocol_messages_are_written_as_serde_json_writes_them() {
    // Written by `WriteJson` (every field a type `protocol!` knows); `WithRaw` by serde_json.
    fn written_directly<T: wskit::__private::WriteJson>() {}
    written_directly::<Everything>();
    let strings = strings();
    for (i, s) in strings.iter().enumerate() {
        let f = FLOATS[i % FLOATS.len()];
        let inner = Inner {
            name: s.clone(),
            score: (i % 2 == 0).then_some(f),
            tags: vec![Kind::Plain, Kind::Odd],
        };
        let msg = Everything {
            text: s.clone(),
            flag: i % 3 == 0,
            small: i8::MIN + (i % 7) as i8,
            big: u64::MAX - i as u64,
            neg: i64::MIN + i as i64,
            single: f as f32,
            double: f,
            maybe: (i % 2 == 1).then(|| s.clone()),
            list: vec![Some(f), None, Some(-f / 3.0)],
            ordered: [(s.clone(), inner.clone()), ("k".into(), inner.clone())].into(),
            hashed: [(s.clone(), vec![s.clone()]), ("a".into(), vec![])].into(),
            json: serde_json::json!({ "s": s, "n": [f, i, -1, null, true], "o": { "deep": [{}] } }),
            inner,
            kind: if i % 2 == 0 { Kind::Plain } else { Kind::Odd },
            sparse: vec![
                Sparse {
                    first: None,
                    second: None,
                    third: None,
                },
                Sparse {
                    first: Some(s.clone()),
                    second: None,
                    third: Some(None),
                },
                Sparse {
                    first: None,
                    second: Some(i as u8),
                    third: Some(Some(true)),
                },
            ],
        };
        assert_parity(&msg);
    }
    assert_parity(&Nothing {});
    assert_parity(&Empty {});
}

#[test]
fn a_message_with_a_users_own_type_is_written_by_serde_json() {
    let raw = serde_json::value::RawValue::from_string(r#"{"a": [1, 2]}"#.into()).unwrap();
    let msg = WithRaw {
        text: "t".into(),
        raw: raw::Embedded(raw),
    };
    let frame = wire::encode_message(None::<&OutMeta>, &msg).unwrap();
    assert_eq!(
        String::from_utf8(frame).unwrap(),
        r#"{"type":"WITH_RAW","payload":{"text":"t","raw":{"a": [1, 2]}}}"#
    );
}

#[test]
fn progress_updates_are_written_alike() {
    for s in strings() {
        let update = Step {
            name: s,
            score: Some(0.1),
        };
        assert_eq!(
            wire::encode_progress_message(Some("c"), &update).unwrap(),
            wire::encode_progress(Some("c"), &update).unwrap()
        );
    }
}

/// A client's request without declared meta (`wire::encode_request`, meta written without
/// serde) is the frame `encode_message` writes with an `OutMeta` of its id and timestamp.
#[test]
fn requests_are_written_as_with_out_meta() {
    let ids = [
        "0e4f2c1a-9b7d-4c3e-8a21-5f6b7c8d9e0f",
        "",
        "a \"quoted\" \\ id\n\u{7f}é",
    ];
    for (id, timestamp) in ids.into_iter().zip([0, 1_764_160_000_000, u64::MAX]) {
        let msg = Work { n: 7 };
        let meta = OutMeta {
            correlation_id: Some(id.into()),
            timestamp: Some(timestamp),
            ..OutMeta::default()
        };
        assert_eq!(
            String::from_utf8(wire::encode_request(id, timestamp, &msg).unwrap()).unwrap(),
            String::from_utf8(wire::encode_message(Some(&meta), &msg).unwrap()).unwrap()
        );
    }
}
