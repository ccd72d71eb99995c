//! Every kind of generated type serializes to exactly its wire form (PROTOCOL.md), and decodes back.

use std::collections::{BTreeMap, HashMap};

use serde_json::value::RawValue;
use wskit::describe::{Constraint, MessageKind, TypeRef, TypeShape};
use wskit::validate::{Decode, Issues, Path};
use wskit::wire::{InboundFrame, OutMeta, encode_frame};
use wskit::{EventSet, Message, Protocol, Rpc};

/// A user's own type: serde and `Validate` by hand.
mod money {
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    pub struct Money {
        pub cents: i64,
        pub currency: String,
    }

    impl wskit::Validate for Money {
        fn validate(&self, path: &wskit::validate::Path<'_>, issues: &mut wskit::Issues) {
            if self.currency.len() != 3 {
                issues.push(&path.field("currency"), "must be a 3-letter code");
            }
        }
    }
}

wskit::protocol! {
    /// A chat.
    /// Second line.
    pub protocol Chat {
        /// Joins a room.
        #[subscription]
        message JoinRoom { room_id: String } meta { trace_id: Option<String> }
        event UserJoined { room_id: String, user_id: String }
        message Ping;
        #[wire = "SAY"]
        message SendText {
            #[wire = "txt"] text: String,
            tags: Vec<String>,
            scores: HashMap<String, f64>,
            counts: BTreeMap<String, u32>,
            extra: serde_json::Value,
            price: Option<money::Money>,
            flag: bool,
            small: i8,
            big: u64,
        }
        #[idempotent]
        rpc GetUser(user_id: String) -> UserData {
            name: String,
            email: Option<String>,
            role: Role,
            address: Option<Address>,
        }
        rpc Export(file_id: String) -> ExportDone { url: String } progress ExportProgress { percent: u8 }
        type Address { city: String, zip: String }
        enum Role { Admin, SuperAdmin, #[wire = "member"] Member }
    }
}

fn raw(s: &str) -> Box<RawValue> {
    RawValue::from_string(s.to_owned()).unwrap()
}

/// Serializes `v`, compares with `json`, and decodes `json` back strictly into an equal value.
fn round_trip<T: serde::Serialize + Decode + PartialEq + std::fmt::Debug>(v: &T, json: &str) {
    assert_eq!(serde_json::to_string(v).unwrap(), json);
    let mut issues = Issues::new();
    let back = T::decode(&raw(json), &Path::root("payload"), &mut issues);
    assert!(issues.is_empty(), "{issues}");
    assert_eq!(back.as_ref(), Some(v));
}

#[test]
fn request_payload_is_protocol_md_example() {
    let req = GetUser {
        user_id: "u1".into(),
    };
    round_trip(&req, r#"{"userId":"u1"}"#);
    let meta = OutMeta {
        correlation_id: Some("c-1".into()),
        timestamp: Some(1764160000000),
        ..OutMeta::default()
    };
    assert_eq!(
        encode_frame(GetUser::TYPE, Some(&meta), Some(&req)).unwrap(),
        br#"{"type":"GET_USER","meta":{"correlationId":"c-1","timestamp":1764160000000},"payload":{"userId":"u1"}}"#
    );
}

#[test]
fn event_frame_is_protocol_md_form() {
    let ev = UserJoined {
        room_id: "r".into(),
        user_id: "u".into(),
    };
    round_trip(&ev, r#"{"roomId":"r","userId":"u"}"#);
    assert_eq!(
        encode_frame(UserJoined::TYPE, Some(&OutMeta::default()), Some(&ev)).unwrap(),
        br#"{"type":"USER_JOINED","meta":{},"payload":{"roomId":"r","userId":"u"}}"#
    );
}

#[test]
fn message_without_fields_has_no_payload() {
    const { assert!(!Ping::PAYLOAD.is_written()) };
    assert_eq!(Ping::TYPE, "PING");
    round_trip(&Ping {}, "{}");
    let payload = Ping::PAYLOAD.is_written().then_some(&Ping {});
    assert_eq!(
        encode_frame(Ping::TYPE, None::<&OutMeta>, payload).unwrap(),
        br#"{"type":"PING"}"#
    );
}

#[test]
fn response_with_nested_type_enum_and_omitted_option() {
    let data = UserData {
        name: "Ada".into(),
        email: None,
        role: Role::SuperAdmin,
        address: Some(Address {
            city: "Paris".into(),
            zip: "75001".into(),
        }),
    };
    round_trip(
        &data,
        r#"{"name":"Ada","role":"superAdmin","address":{"city":"Paris","zip":"75001"}}"#,
    );
    let data = UserData {
        email: Some("ada@example.com".into()),
        role: Role::Member,
        address: None,
        ..data
    };
    round_trip(
        &data,
        r#"{"name":"Ada","email":"ada@example.com","role":"member"}"#,
    );
    assert_eq!(UserData::TYPE, "USER_DATA");
    let meta = OutMeta {
        correlation_id: Some("c-1".into()),
        ..OutMeta::default()
    };
    assert_eq!(
        encode_frame(UserData::TYPE, Some(&meta), Some(&data)).unwrap(),
        br#"{"type":"USER_DATA","meta":{"correlationId":"c-1"},"payload":{"name":"Ada","email":"ada@example.com","role":"member"}}"#
    );
}

#[test]
fn enums_are_strings() {
    round_trip(&Role::Admin, r#""admin""#);
    round_trip(&Role::SuperAdmin, r#""superAdmin""#);
    round_trip(&Role::Member, r#""member""#);
}

#[test]
fn renamed_wire_type_and_field_and_every_field_type() {
    assert_eq!(SendText::TYPE, "SAY");
    let msg = SendText {
        text: "hi".into(),
        tags: vec!["a".into(), "b".into()],
        scores: HashMap::from([("x".to_owned(), 1.5)]),
        counts: BTreeMap::from([("a".to_owned(), 1), ("b".to_owned(), 2)]),
        extra: serde_json::json!({"k":[1,null]}),
        price: Some(money::Money {
            cents: 250,
            currency: "EUR".into(),
        }),
        flag: true,
        small: -3,
        big: u64::MAX,
    };
    round_trip(
        &msg,
        r#"{"txt":"hi","tags":["a","b"],"scores":{"x":1.5},"counts":{"a":1,"b":2},"extra":{"k":[1,null]},"price":{"cents":250,"currency":"EUR"},"flag":true,"small":-3,"big":18446744073709551615}"#,
    );
}

#[test]
fn progress_and_rpc_types() {
    round_trip(&ExportProgress { percent: 42 }, r#"{"percent":42}"#);
    round_trip(
        &ExportDone {
            url: "https://x.test/f".into(),
        },
        r#"{"url":"https://x.test/f"}"#,
    );
    assert_eq!(ExportProgress::TYPE, "EXPORT_PROGRESS");
    assert_eq!(<Export as Rpc>::Progress::TYPE, "EXPORT_PROGRESS");
    assert_eq!(<GetUser as Rpc>::Response::TYPE, "USER_DATA");
    assert_eq!(<GetUser as Rpc>::Progress::TYPE, wskit::NoProgress::TYPE);
    const { assert!(GetUser::IDEMPOTENT && !Export::IDEMPOTENT) };
    const { assert!(JoinRoom::SUBSCRIPTION && !Ping::SUBSCRIPTION) };
}

#[test]
fn declared_meta_round_trips() {
    let meta = JoinRoomMeta {
        trace_id: Some("t-1".into()),
    };
    round_trip(&meta, r#"{"traceId":"t-1"}"#);
    round_trip(&JoinRoomMeta { trace_id: None }, "{}");
    let frame = raw(r#"{"correlationId":"c","traceId":"t-1","clientId":"spoof"}"#);
    let (meta, typed) = wskit::validate::decode_meta::<JoinRoom>(Some(&frame)).unwrap();
    assert_eq!(meta.correlation_id.as_deref(), Some("c"));
    assert_eq!(typed.trace_id.as_deref(), Some("t-1"));
}

#[test]
fn events_decode_into_the_event_enum() {
    let f = InboundFrame::parse(r#"{"type":"USER_JOINED","payload":{"roomId":"r","userId":"u"}}"#)
        .unwrap();
    let ev = ChatEvent::decode_event(&f).unwrap().unwrap();
    assert_eq!(
        ev,
        ChatEvent::UserJoined(UserJoined {
            room_id: "r".into(),
            user_id: "u".into()
        })
    );
    let other = InboundFrame::parse(r#"{"type":"USER_DATA","payload":{}}"#).unwrap();
    assert!(ChatEvent::decode_event(&other).is_none());
    let bad = InboundFrame::parse(r#"{"type":"USER_JOINED","payload":{"roomId":1}}"#).unwrap();
    assert_eq!(
        ChatEvent::decode_event(&bad)
            .unwrap()
            .unwrap_err()
            .to_string(),
        "payload.roomId: expected string, got number; payload.userId: required"
    );
}

#[test]
fn description_lists_everything_in_order() {
    let d = Chat::description();
    assert_eq!(d.name, "Chat");
    assert_eq!(d.docs, "A chat.\nSecond line.");
    let order: Vec<(&str, &str, MessageKind)> = d
        .messages
        .iter()
        .map(|m| (m.name, m.wire_type, m.kind))
        .collect();
    assert_eq!(
        order,
        [
            ("JoinRoom", "JOIN_ROOM", MessageKind::Message),
            ("UserJoined", "USER_JOINED", MessageKind::Event),
            ("Ping", "PING", MessageKind::Message),
            ("SendText", "SAY", MessageKind::Message),
            ("GetUser", "GET_USER", MessageKind::Request),
            ("UserData", "USER_DATA", MessageKind::Response),
            ("Export", "EXPORT", MessageKind::Request),
            ("ExportDone", "EXPORT_DONE", MessageKind::Response),
            ("ExportProgress", "EXPORT_PROGRESS", MessageKind::Progress),
        ]
    );
    let join = d.message("JOIN_ROOM").unwrap();
    assert_eq!(join.docs, "Joins a room.");
    assert!(join.subscription);
    assert_eq!(join.meta[0].wire_name, "traceId");
    assert_eq!(join.meta[0].ty, TypeRef::Option(&TypeRef::String));
    let get = d.message("GET_USER").unwrap();
    assert_eq!(
        (get.response, get.progress, get.idempotent),
        (Some("UserData"), None, true)
    );
    assert_eq!(
        d.message("EXPORT").unwrap().progress,
        Some("ExportProgress")
    );
    let say = d.message("SAY").unwrap();
    let tys: Vec<(&str, &str, TypeRef)> = say
        .fields
        .iter()
        .map(|f| (f.name, f.wire_name, f.ty))
        .collect();
    assert_eq!(
        tys,
        [
            ("text", "txt", TypeRef::String),
            ("tags", "tags", TypeRef::List(&TypeRef::String)),
            ("scores", "scores", TypeRef::Map(&TypeRef::Float("f64"))),
            ("counts", "counts", TypeRef::Map(&TypeRef::Integer("u32"))),
            ("extra", "extra", TypeRef::Json),
            (
                "price",
                "price",
                TypeRef::Option(&TypeRef::External("money::Money"))
            ),
            ("flag", "flag", TypeRef::Bool),
            ("small", "small", TypeRef::Integer("i8")),
            ("big", "big", TypeRef::Integer("u64")),
        ]
    );
    let data = d.message("USER_DATA").unwrap();
    assert_eq!(data.fields[2].ty, TypeRef::Named("Role"));
    let TypeShape::Enum(variants) = d.ty("Role").unwrap().shape else {
        panic!("Role is an enum")
    };
    let wires: Vec<_> = variants.iter().map(|v| (v.name, v.wire_name)).collect();
    assert_eq!(
        wires,
        [
            ("Admin", "admin"),
            ("SuperAdmin", "superAdmin"),
            ("Member", "member")
        ]
    );
    assert!(matches!(d.ty("Address").unwrap().shape, TypeShape::Struct(f) if f.len() == 2));
    assert!(d.messages.iter().all(|m| {
        m.fields
            .iter()
            .all(|f| f.constraints == [] as [Constraint; 0])
    }));
}

#[test]
fn published_event_and_progress_frames() {
    // PROTOCOL.md section 6: a subscriber's frame has no meta unless the publisher gave some.
    let ev = UserJoined {
        room_id: "r".into(),
        user_id: "u".into(),
    };
    assert_eq!(
        encode_frame(UserJoined::TYPE, None::<&OutMeta>, Some(&ev)).unwrap(),
        br#"{"type":"USER_JOINED","payload":{"roomId":"r","userId":"u"}}"#
    );
    // Section 2: progress goes under both `payload` and `data`.
    assert_eq!(
        wskit::wire::encode_progress(Some("c-1"), &ExportProgress { percent: 5 }).unwrap(),
        br#"{"type":"$ws:rpc-progress","meta":{"correlationId":"c-1"},"payload":{"percent":5},"data":{"percent":5}}"#
    );
}

#[test]
fn declared_meta_goes_into_the_frame_meta() {
    let meta = JoinRoomMeta {
        trace_id: Some("t-1".into()),
    };
    let serde_json::Value::Object(extra) = serde_json::to_value(&meta).unwrap() else {
        panic!("meta serializes to an object")
    };
    let out = OutMeta {
        correlation_id: Some("c-1".into()),
        extra,
        ..OutMeta::default()
    };
    let join = JoinRoom {
        room_id: "general".into(),
    };
    assert_eq!(
        encode_frame(JoinRoom::TYPE, Some(&out), Some(&join)).unwrap(),
        br#"{"type":"JOIN_ROOM","meta":{"correlationId":"c-1","traceId":"t-1"},"payload":{"roomId":"general"}}"#
    );
}

/// Names the generated code uses inside its `Deserialize` impls (its private shadow struct, its
/// generic parameter) do not clash with protocol types of the same names.
mod generated_names {
    mod shadow {
        wskit::protocol! {
            pub protocol Names {
                message Hello { s: Shadow }
                type Shadow { x: u32 }
            }
        }
    }
    mod structs {
        wskit::protocol! {
            pub protocol Letters {
                message Hello { d: D }
                type D { x: u32 }
            }
        }
    }
    mod enums {
        wskit::protocol! {
            pub protocol Letters2 {
                message Hello2 { d: D }
                enum D { A, B }
            }
        }
    }

    #[test]
    fn types_named_like_generated_helpers_roundtrip() {
        let h: shadow::Hello = serde_json::from_str(r#"{"s":{"x":1}}"#).unwrap();
        assert_eq!(h.s.x, 1);
        let h: structs::Hello = serde_json::from_str(r#"{"d":{"x":1}}"#).unwrap();
        assert_eq!(h.d.x, 1);
        let h: enums::Hello2 = serde_json::from_str(r#"{"d":"a"}"#).unwrap();
        assert_eq!(h.d, enums::D::A);
    }
}

/// Braces tell an empty payload (`{}` on the wire) from none (no `payload` key), for every kind.
mod forms {
    wskit::protocol! {
        pub protocol Forms {
            message Ping;
            message Touch {}
            message Say { text: String }
            message Traced meta { trace: String }
            event Tick
            event Tock {};
            rpc Poke -> Poked
            rpc Nudge() -> Nudged {} progress NudgeStep {}
            rpc Beat(n: u8) -> Beaten progress BeatStep;
        }
    }
}

#[test]
fn payload_forms_follow_the_braces() {
    use forms::*;
    use wskit::PayloadForm as F;
    let consts = [
        ("PING", Ping::PAYLOAD),
        ("TOUCH", Touch::PAYLOAD),
        ("SAY", Say::PAYLOAD),
        ("TRACED", Traced::PAYLOAD),
        ("TICK", Tick::PAYLOAD),
        ("TOCK", Tock::PAYLOAD),
        ("POKE", Poke::PAYLOAD),
        ("POKED", Poked::PAYLOAD),
        ("NUDGE", Nudge::PAYLOAD),
        ("NUDGED", Nudged::PAYLOAD),
        ("NUDGE_STEP", NudgeStep::PAYLOAD),
        ("BEAT", Beat::PAYLOAD),
        ("BEATEN", Beaten::PAYLOAD),
        ("BEAT_STEP", BeatStep::PAYLOAD),
    ];
    let expected = [
        F::None,
        F::Empty,
        F::Fields,
        F::None,
        F::None,
        F::Empty,
        F::None,
        F::None,
        F::Empty,
        F::Empty,
        F::Empty,
        F::Fields,
        F::None,
        F::None,
    ];
    let forms: Vec<_> = consts.iter().map(|(_, f)| *f).collect();
    assert_eq!(forms, expected);
    // The description says the same.
    let d = Forms::description();
    for (wire, form) in consts {
        assert_eq!(d.message(wire).unwrap().payload, form, "{wire}");
    }
    assert_eq!(d.message("TRACED").unwrap().meta[0].wire_name, "trace");
    // Both forms are braced structs whose serde form is `{}`.
    round_trip(&Touch {}, "{}");
    round_trip(&Tick {}, "{}");
    // Frames: `"payload":{}` for the empty form, no key for none.
    let frame = |ty: &str, form: wskit::PayloadForm| {
        encode_frame(ty, None::<&OutMeta>, form.is_written().then_some(&Touch {})).unwrap()
    };
    assert_eq!(
        frame(Touch::TYPE, Touch::PAYLOAD),
        br#"{"type":"TOUCH","payload":{}}"#
    );
    assert_eq!(
        frame(Nudged::TYPE, Nudged::PAYLOAD),
        br#"{"type":"NUDGED","payload":{}}"#
    );
    assert_eq!(frame(Ping::TYPE, Ping::PAYLOAD), br#"{"type":"PING"}"#);
    assert_eq!(frame(Poked::TYPE, Poked::PAYLOAD), br#"{"type":"POKED"}"#);
    // Both an absent payload and `{}` decode, whichever form was declared.
    for text in [None, Some(raw("{}"))] {
        assert_eq!(
            wskit::validate::decode_payload::<Touch>(text.as_deref()).unwrap(),
            Touch {}
        );
        assert_eq!(
            wskit::validate::decode_payload::<Ping>(text.as_deref()).unwrap(),
            Ping {}
        );
    }
    // The rpc types line up.
    fn response<R: Rpc>() -> &'static str {
        <R::Response as Message>::TYPE
    }
    assert_eq!(
        (response::<Poke>(), response::<Nudge>(), response::<Beat>()),
        ("POKED", "NUDGED", "BEATEN")
    );
}

/// Found by the `payload_decode` fuzz target: a number read into an `f64` is the nearest double
/// to what was written, so a value written back out reads as the same value (serde_json's
/// default float parsing is not always correctly rounded; wskit enables `float_roundtrip`).
#[test]
fn floats_are_read_correctly_rounded_and_round_trip() {
    for text in [
        "2200000000000000000000000000000000000000005",
        "2.1999999999999998e42",
        "0.30000000000000004",
        "1e-320",
        "179769313486231570000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    ] {
        let payload = format!(
            r#"{{"txt":"t","tags":[],"scores":{{"s":{text}}},"counts":{{}},"extra":null,"flag":true,"small":0,"big":0}}"#
        );
        let msg = wskit::validate::decode_payload::<SendText>(Some(&raw(&payload))).unwrap();
        let expected: f64 = text.parse().unwrap();
        assert_eq!(msg.scores["s"].to_bits(), expected.to_bits(), "{text}");
        let again = wskit::validate::decode_payload::<SendText>(Some(&raw(
            &serde_json::to_string(&msg).unwrap(),
        )))
        .unwrap();
        assert_eq!(again, msg, "{text}");
    }
}

mod f32_fields {
    wskit::protocol! {
        pub protocol Floats {
            message Gauge { level: f32, maybe: Option<f32>, many: Vec<f32> }
        }
    }
}

/// An `f32` holds numbers up to `f32::MAX`: beyond it (what would read as infinity and be
/// written back as `null`) every path refuses alike, and the largest ones are kept as read.
#[test]
fn an_f32_beyond_its_range_is_refused_on_every_path() {
    use f32_fields::Gauge;
    use wskit::wire::{decode_frame_common, decode_frame_reference, decode_frame_whole};
    let frame = |level: &str, maybe: &str, many: &str| {
        format!(
            r#"{{"type":"GAUGE","payload":{{"level":{level},"maybe":{maybe},"many":[{many}]}}}}"#
        )
    };
    for (text, at) in [
        (frame("1e39", "null", ""), "payload.level"),
        // Its nearest f64 is 2^128 - 2^103, the least number that rounds to an infinite f32.
        (frame("3.4028235677973366e38", "null", ""), "payload.level"),
        (frame("1", "-3.5e38", ""), "payload.maybe"),
        (frame("1", "null", "1,2e200"), "payload.many[1]"),
    ] {
        assert!(decode_frame_common::<Gauge>(&text).is_none(), "{text}");
        assert!(decode_frame_whole::<Gauge>(&text).is_none(), "{text}");
        let issues = decode_frame_reference::<Gauge>(&text).unwrap().unwrap_err();
        let listed = issues.to_string();
        assert!(
            listed.contains(at)
                && listed.contains("expected number from -3.4028235e38 to 3.4028235e38"),
            "{text}: {listed}"
        );
    }
    let text = frame("3.4028235677973362e38", "-3.4028235e38", "1e-50,0.1");
    for (_, _, msg) in [
        decode_frame_common::<Gauge>(&text).unwrap(),
        decode_frame_whole::<Gauge>(&text).unwrap(),
        decode_frame_reference::<Gauge>(&text).unwrap().unwrap(),
    ] {
        assert_eq!(msg.level, f32::MAX);
        assert_eq!(msg.maybe, Some(f32::MIN));
        assert_eq!(msg.many, [0.0, 0.1]);
        let again = serde_json::to_string(&msg).unwrap();
        assert_eq!(serde_json::from_str::<Gauge>(&again).unwrap(), msg);
    }
}
