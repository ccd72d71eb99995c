//! Every constraint kind, accepting and refusing, with exact issue paths and messages; strict
//! decoding (unknown keys, missing keys, wrong types), all issues at once, payload and meta rules.

use serde_json::value::RawValue;
use wskit::validate::{decode_meta, decode_payload};
use wskit::{Issues, Validate};

/// A rule the DSL cannot express.
fn even(v: &u32) -> Result<(), String> {
    if v.is_multiple_of(2) {
        Ok(())
    } else {
        Err(format!("must be even, got {v}"))
    }
}

mod money {
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    pub struct Code(pub String);

    impl wskit::Validate for Code {
        fn validate(&self, path: &wskit::validate::Path<'_>, issues: &mut wskit::Issues) {
            if self.0.len() != 3 {
                issues.push(path, "must be a 3-letter code");
            }
        }
    }
}

wskit::protocol! {
    protocol Rules {
        message Profile {
            #[validate(length(min = 2, max = 5))] name: String,
            #[validate(range(min = 1, max = 120))] age: u8,
            #[validate(range(min = -1.5, max = 1.5))] ratio: f64,
            #[validate(pattern = "^[a-z]+$")] slug: String,
            #[validate(email)] email: Option<String>,
            #[validate(url)] site: Option<String>,
            #[validate(uuid)] user_id: String,
            #[validate(length(max = 2), items(length(min = 1), pattern = "^#"))] tags: Vec<String>,
            #[validate(items(range(max = 10)))] limits: BTreeMap<String, i32>,
            #[validate(custom = crate::even)] count: u32,
            address: Option<Address>,
            addresses: Vec<Address>,
            currency: Option<money::Code>,
        }
        message Ping;
        message Tagged { label: String } meta { #[validate(length(max = 3))] trace_id: Option<String>, shard: u8 }
        type Address { city: String, #[validate(pattern = "^[0-9]{5}$")] zip: String }
        enum Role { Admin, Member }
        event Promoted { role: Role }
    }
}

const GOOD: &str = r##"{"name":"Ada","age":36,"ratio":0.5,"slug":"ada","email":"ada@example.com","site":"https://ada.dev","userId":"67e55044-10b1-426f-9247-bb680e5fe0c8","tags":["#a","#b"],"limits":{"x":3},"count":4,"address":{"city":"Paris","zip":"75001"},"addresses":[],"currency":"EUR"}"##;

fn raw(s: &str) -> Box<RawValue> {
    RawValue::from_string(s.to_owned()).unwrap()
}

/// The issues of decoding `json` as a `Profile` payload, as `path: message` strings.
fn profile_issues(json: &str) -> Vec<String> {
    match decode_payload::<Profile>(Some(&raw(json))) {
        Ok(_) => Vec::new(),
        Err(issues) => issues.into_iter().map(|i| i.to_string()).collect(),
    }
}

/// `GOOD` with one key replaced (keys keep their order: serde_json preserves it here).
fn with(key: &str, value: &str) -> String {
    let mut v: serde_json::Map<String, serde_json::Value> = serde_json::from_str(GOOD).unwrap();
    v.insert(key.to_owned(), serde_json::from_str(value).unwrap());
    serde_json::to_string(&v).unwrap()
}

fn good() -> Profile {
    decode_payload::<Profile>(Some(&raw(GOOD))).unwrap()
}

#[test]
fn a_valid_payload_passes_decode_and_validate() {
    let p = good();
    assert_eq!(p.name, "Ada");
    assert_eq!(p.check(), Ok(()));
    // Absent optional fields are fine; present `null` is `None`.
    let p = decode_payload::<Profile>(Some(&raw(&with("email", "null")))).unwrap();
    assert_eq!(p.email, None);
}

#[test]
fn length_of_strings_counts_characters() {
    assert_eq!(
        profile_issues(&with("name", r#""A""#)),
        ["payload.name: must have at least 2 characters"]
    );
    assert_eq!(
        profile_issues(&with("name", r#""Adaaaa""#)),
        ["payload.name: must have at most 5 characters"]
    );
    assert_eq!(
        profile_issues(&with("name", r#""éééé""#)),
        Vec::<String>::new()
    );
}

#[test]
fn range_on_integers_and_floats() {
    assert_eq!(
        profile_issues(&with("age", "0")),
        ["payload.age: must be at least 1"]
    );
    assert_eq!(
        profile_issues(&with("age", "121")),
        ["payload.age: must be at most 120"]
    );
    assert_eq!(profile_issues(&with("age", "120")), Vec::<String>::new());
    assert_eq!(
        profile_issues(&with("ratio", "-1.6")),
        ["payload.ratio: must be at least -1.5"]
    );
    assert_eq!(profile_issues(&with("ratio", "1.5")), Vec::<String>::new());
}

#[test]
fn pattern_email_url_uuid() {
    assert_eq!(
        profile_issues(&with("slug", r#""Ada""#)),
        ["payload.slug: must match pattern ^[a-z]+$"]
    );
    assert_eq!(
        profile_issues(&with("email", r#""ada@""#)),
        ["payload.email: must be an email address"]
    );
    assert_eq!(
        profile_issues(&with("site", r#""ada.dev""#)),
        ["payload.site: must be a URL"]
    );
    assert_eq!(
        profile_issues(&with("userId", r#""u1""#)),
        ["payload.userId: must be a UUID"]
    );
}

#[test]
fn collection_length_and_item_constraints() {
    assert_eq!(
        profile_issues(&with("tags", r##"["#a","#b","#c"]"##)),
        ["payload.tags: must have at most 2 items"]
    );
    assert_eq!(
        profile_issues(&with("tags", r##"["#a","b"]"##)),
        ["payload.tags[1]: must match pattern ^#"]
    );
    assert_eq!(
        profile_issues(&with("tags", r#"["",""]"#)),
        [
            "payload.tags[0]: must have at least 1 character",
            "payload.tags[0]: must match pattern ^#",
            "payload.tags[1]: must have at least 1 character",
            "payload.tags[1]: must match pattern ^#",
        ]
    );
    assert_eq!(
        profile_issues(&with("limits", r#"{"a":10,"b":11}"#)),
        ["payload.limits.b: must be at most 10"]
    );
}

#[test]
fn custom_rule() {
    assert_eq!(
        profile_issues(&with("count", "3")),
        ["payload.count: must be even, got 3"]
    );
}

#[test]
fn nested_types_report_their_own_paths() {
    assert_eq!(
        profile_issues(&with("address", r#"{"city":"Paris","zip":"7500"}"#)),
        ["payload.address.zip: must match pattern ^[0-9]{5}$"]
    );
    assert_eq!(
        profile_issues(&with(
            "addresses",
            r#"[{"city":"A","zip":"12345"},{"city":1,"zip":"1","x":0}]"#
        )),
        [
            "payload.addresses[1].city: expected string, got number",
            "payload.addresses[1].zip: must match pattern ^[0-9]{5}$",
            "payload.addresses[1].x: unknown key",
        ]
    );
}

#[test]
fn users_own_type_is_decoded_with_serde_and_validated() {
    assert_eq!(
        profile_issues(&with("currency", r#""EURO""#)),
        ["payload.currency: must be a 3-letter code"]
    );
    let issues = profile_issues(&with("currency", "5"));
    assert_eq!(issues.len(), 1);
    assert!(
        issues[0].starts_with("payload.currency: invalid type: integer `5`"),
        "{issues:?}"
    );
}

#[test]
fn every_issue_of_a_payload_at_once() {
    // In document order: the unknown key, last in the text, comes last.
    let json = r#"{"name":"A","age":200,"ratio":"x","slug":"ok","userId":"nope","tags":[1],"limits":{},"count":1,"addresses":[],"extra":true}"#;
    assert_eq!(
        profile_issues(json),
        [
            "payload.name: must have at least 2 characters",
            "payload.age: must be at most 120",
            "payload.ratio: expected number, got string",
            "payload.userId: must be a UUID",
            "payload.tags[0]: expected string, got number",
            "payload.count: must be even, got 1",
            "payload.extra: unknown key",
        ]
    );
}

#[test]
fn issues_follow_document_order_then_missing_keys() {
    let json = r#"{"count":1,"x":0,"name":"A","ratio":0,"slug":"a","userId":"67e55044-10b1-426f-9247-bb680e5fe0c8","tags":[],"limits":{},"addresses":[]}"#;
    assert_eq!(
        profile_issues(json),
        [
            "payload.count: must be even, got 1",
            "payload.x: unknown key",
            "payload.name: must have at least 2 characters",
            "payload.age: required",
        ]
    );
}

#[test]
fn unknown_missing_and_wrong_types() {
    assert_eq!(
        profile_issues(r#"{"name":"Ada"}"#),
        [
            "payload.age: required",
            "payload.ratio: required",
            "payload.slug: required",
            "payload.userId: required",
            "payload.tags: required",
            "payload.limits: required",
            "payload.count: required",
            "payload.addresses: required",
        ]
    );
    assert_eq!(
        profile_issues(&with("age", "1.5")),
        ["payload.age: expected integer, got number"]
    );
    assert_eq!(
        profile_issues(&with("age", "300")),
        ["payload.age: expected integer from 0 to 255"]
    );
    assert_eq!(
        profile_issues(&with("limits", "[]")),
        ["payload.limits: expected object, got array"]
    );
    assert_eq!(
        profile_issues("[]"),
        ["payload: expected object, got array"]
    );
}

#[test]
fn string_enums_refuse_other_strings() {
    let issues = decode_payload::<Promoted>(Some(&raw(r#"{"role":"owner"}"#))).unwrap_err();
    assert_eq!(
        issues.to_string(),
        r#"payload.role: expected one of "admin", "member""#
    );
    let ok = decode_payload::<Promoted>(Some(&raw(r#"{"role":"member"}"#))).unwrap();
    assert_eq!(ok.role, Role::Member);
}

#[test]
fn payload_presence_rules() {
    let text = |r: Result<Ping, Issues>| r.err().map(|i| i.to_string());
    assert_eq!(text(decode_payload::<Ping>(None)), None);
    // A message without fields accepts `{}` too (ws-kit's client sends it for `message("X", {})`).
    assert_eq!(text(decode_payload::<Ping>(Some(&raw("{}")))), None);
    assert_eq!(
        text(decode_payload::<Ping>(Some(&raw(r#"{"x":1}"#)))),
        Some("payload.x: unknown key".into())
    );
    assert_eq!(
        decode_payload::<Tagged>(None).unwrap_err().to_string(),
        "payload: required"
    );
    assert_eq!(
        decode_payload::<Tagged>(Some(&raw("null")))
            .unwrap_err()
            .to_string(),
        "payload: expected object, got null"
    );
}

#[test]
fn declared_meta_is_decoded_and_checked() {
    let (meta, typed) = decode_meta::<Tagged>(Some(&raw(
        r#"{"correlationId":"c","traceId":"abc","shard":2}"#,
    )))
    .unwrap();
    assert_eq!(meta.correlation_id.as_deref(), Some("c"));
    assert_eq!((typed.trace_id.as_deref(), typed.shard), (Some("abc"), 2));
    assert_eq!(
        decode_meta::<Tagged>(Some(&raw(r#"{"traceId":"abcd","other":1}"#)))
            .unwrap_err()
            .to_string(),
        "meta.traceId: must have at most 3 characters; meta.other: unknown key; meta.shard: required"
    );
    assert_eq!(
        decode_meta::<Ping>(Some(&raw(r#"{"traceId":"x"}"#)))
            .unwrap_err()
            .to_string(),
        "meta.traceId: unknown key"
    );
}

#[test]
fn validate_checks_constructed_values() {
    let mut p = good();
    p.name = "A".into();
    p.tags = vec!["x".into()];
    p.address = Some(Address {
        city: "B".into(),
        zip: "1".into(),
    });
    let issues: Vec<String> = p
        .check()
        .unwrap_err()
        .into_iter()
        .map(|i| i.to_string())
        .collect();
    assert_eq!(
        issues,
        [
            "payload.name: must have at least 2 characters",
            "payload.tags[0]: must match pattern ^#",
            "payload.address.zip: must match pattern ^[0-9]{5}$",
        ]
    );
}

#[test]
fn description_records_constraints() {
    use wskit::Protocol;
    use wskit::describe::Constraint;
    let d = Rules::description();
    let profile = d.message("PROFILE").unwrap();
    let constraints = |name: &str| {
        profile
            .fields
            .iter()
            .find(|f| f.name == name)
            .unwrap()
            .constraints
    };
    assert_eq!(
        constraints("name"),
        [Constraint::Length {
            min: Some(2),
            max: Some(5)
        }]
    );
    assert_eq!(
        constraints("ratio"),
        [Constraint::Range {
            min: Some(-1.5),
            max: Some(1.5)
        }]
    );
    assert_eq!(
        constraints("age"),
        [Constraint::Range {
            min: Some(1.0),
            max: Some(120.0)
        }]
    );
    assert_eq!(constraints("slug"), [Constraint::Pattern("^[a-z]+$")]);
    assert_eq!(constraints("email"), [Constraint::Email]);
    assert_eq!(constraints("site"), [Constraint::Url]);
    assert_eq!(constraints("user_id"), [Constraint::Uuid]);
    assert_eq!(
        constraints("tags"),
        [
            Constraint::Length {
                min: None,
                max: Some(2)
            },
            Constraint::Items(&[
                Constraint::Length {
                    min: Some(1),
                    max: None
                },
                Constraint::Pattern("^#")
            ]),
        ]
    );
    assert_eq!(constraints("count"), [Constraint::Custom("crate::even")]);
}

#[test]
fn issues_are_capped_so_a_hostile_payload_gets_a_small_answer() {
    // 100,000 numbers where strings are expected: at most `Issues::LIMIT` are kept.
    let many = format!("[{}]", vec!["1"; 100_000].join(","));
    let issues = match decode_payload::<Profile>(Some(&raw(&with("tags", &many)))) {
        Ok(_) => panic!("accepted"),
        Err(issues) => issues,
    };
    assert_eq!(issues.len(), Issues::LIMIT);
    assert_eq!(
        issues.as_slice()[0].to_string(),
        "payload.tags[0]: expected string, got number"
    );
    assert!(issues.to_string().ends_with("; and more"), "{issues}");
    let err = issues.into_error();
    assert!(err.message.ends_with("(and more)"), "{}", err.message);
    assert!(serde_json::to_string(&err).unwrap().len() < 4096);
}

#[test]
fn a_duplicate_key_is_found_and_a_huge_object_is_refused_early() {
    // A duplicate among an object's first keys is named.
    assert_eq!(
        profile_issues(r#"{"name":"a","name":"b"}"#),
        ["payload.name: duplicate key"]
    );
    let mut keys: Vec<String> = (0..10).map(|i| format!("\"k{i}\":0")).collect();
    keys.push("\"k7\":1".to_owned());
    let some = profile_issues(&format!("{{{}}}", keys.join(",")));
    assert!(
        some.contains(&"payload.k7: duplicate key".to_owned()),
        "{some:?}"
    );
    // A struct's decoder reads no more than its field count + `Issues::LIMIT` + 1 keys (issue 13:
    // a refused frame costs about what an accepted one does): of 50,000 keys with the duplicate
    // last, the first `Issues::LIMIT` unknown keys are what it reports, and the rest is not read.
    let mut keys: Vec<String> = (0..50_000).map(|i| format!("\"k{i}\":0")).collect();
    keys.push("\"k7\":1".to_owned());
    let many = profile_issues(&format!("{{{}}}", keys.join(",")));
    assert_eq!(many.len(), Issues::LIMIT);
    assert_eq!(many[0], "payload.k0: unknown key");
    assert!(many.iter().all(|i| i.ends_with("unknown key")), "{many:?}");
}

#[test]
fn standard_meta_takes_the_same_rules_on_the_fast_and_the_slow_path() {
    let meta = |json: &str| match decode_meta::<Ping>(Some(&raw(json))) {
        Ok((meta, _)) => Ok((meta.correlation_id, meta.timestamp, meta.timeout_ms)),
        Err(issues) => Err(issues.to_string()),
    };
    assert_eq!(
        meta(
            r#"{"correlationId":"c-1","timestamp":5,"timeoutMs":100,"clientId":"spoof","receivedAt":1}"#
        ),
        Ok((Some("c-1".into()), Some(5.0), Some(100)))
    );
    assert_eq!(meta("{}"), Ok((None, None, None)));
    assert_eq!(
        meta(r#"{"correlationId":null}"#),
        Err("meta.correlationId: expected string, got null".to_owned())
    );
    assert_eq!(
        meta(r#"{"timeoutMs":-1}"#),
        Err("meta.timeoutMs: must be a non-negative number of milliseconds".to_owned())
    );
    assert_eq!(
        meta(r#"{"traceId":"x"}"#),
        Err("meta.traceId: unknown key".to_owned())
    );
    assert_eq!(
        meta(r#"{"correlationId":"a","correlationId":"b"}"#),
        Err("meta.correlationId: duplicate key".to_owned())
    );
}

/// serde's derive reads a struct from its array form and a unit variant from `{"name": null}`;
/// the wire allows neither, and the fast decoding path must refuse them as the strict one does.
#[test]
fn array_and_map_forms_of_structs_and_enums_are_refused() {
    wskit::protocol! {
        protocol Forms {
            message Pair { a: String, b: i64 }
            message Painted { color: Color, at: Point }
            enum Color { Red, Green }
            type Point { x: i64, y: i64 }
        }
    }
    fn issues<T>(r: Result<T, Issues>) -> String {
        r.map(|_| ()).unwrap_err().to_string()
    }
    assert_eq!(
        issues(decode_payload::<Pair>(Some(&raw(r#"["x", 5]"#)))),
        "payload: expected object, got array"
    );
    assert_eq!(
        issues(decode_payload::<Painted>(Some(&raw(
            r#"{"color":"red","at":[1,2]}"#
        )))),
        "payload.at: expected object, got array"
    );
    assert_eq!(
        issues(decode_payload::<Painted>(Some(&raw(
            r#"{"color":{"red":null},"at":{"x":1,"y":2}}"#
        )))),
        "payload.color: expected string, got object"
    );
    assert_eq!(
        issues(decode_meta::<Pair>(Some(&raw(r#"["c-1"]"#)))),
        "meta: expected object, got array"
    );
    let ok = decode_payload::<Painted>(Some(&raw(r#"{"color":"green","at":{"x":1,"y":2}}"#)));
    assert_eq!(ok.unwrap().color, Color::Green);
}

mod serde_form {
    wskit::protocol! {
        pub protocol SerdeForm {
            message Entry { first_name: String, n: Option<u8>, at: Spot }
            message Empty {}
            type Spot { x: i64 }
        }
    }

    /// What a user would write by hand for `Entry`: serde's derive.
    #[derive(Debug, PartialEq, serde::Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct DerivedEntry {
        pub first_name: String,
        #[serde(default)]
        pub n: Option<u8>,
        pub at: DerivedSpot,
    }

    #[derive(Debug, PartialEq, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct DerivedSpot {
        pub x: i64,
    }
}

/// A generated struct's `Deserialize` (its own visitor, not serde's derive) reads what serde's
/// derive with `deny_unknown_fields` reads, the same values and the same errors, except the
/// array form (`["Ada", 1, {"x": 2}]`), which the wire does not allow.
#[test]
fn generated_deserialize_reads_and_refuses_what_serde_derive_does() {
    use serde_form::{DerivedEntry, Empty, Entry};
    let ours = |text: &str| {
        serde_json::from_str::<Entry>(text)
            .map(|e| (e.first_name, e.n, e.at.x))
            .map_err(|e| e.to_string())
    };
    // Ours expects "an object" where the derive names its struct.
    let derived = |text: &str| {
        serde_json::from_str::<DerivedEntry>(text)
            .map(|e| (e.first_name, e.n, e.at.x))
            .map_err(|e| {
                e.to_string()
                    .replace("struct DerivedEntry", "an object")
                    .replace("struct DerivedSpot", "an object")
            })
    };
    let texts = [
        r#"{"firstName":"Ada","n":3,"at":{"x":1}}"#,
        r#"{"at":{"x":-1},"firstName":"Ada"}"#,
        r#"{"firstName":"Ada","n":null,"at":{"x":1}}"#,
        r#"{"first\u004eame":"Ada","at":{"x":1}}"#,
        r#"{"firstName":"Ada","firstName":"Bo","at":{"x":1}}"#,
        r#"{"firstName":"Ada","n":1,"n":2,"at":{"x":1}}"#,
        r#"{"firstName":"Ada","at":{"x":1},"extra":true}"#,
        r#"{"firstName":"Ada","at":{"x":1,"y":2}}"#,
        r#"{"firstName":"Ada","at":{"x":1,"x":2}}"#,
        r#"{"firstName":"Ada"}"#,
        r#"{"n":1,"at":{"x":1}}"#,
        r#"{"firstName":"Ada","at":{}}"#,
        r#"{"firstName":1,"at":{"x":1}}"#,
        r#"{"firstName":"Ada","n":300,"at":{"x":1}}"#,
        r#"{"firstName":"Ada","at":{"x":1}"#,
        r#"{}"#,
        r#""Ada""#,
        r#"null"#,
        r#"{"firstName":"Ada","at":5}"#,
    ];
    for text in texts {
        assert_eq!(ours(text), derived(text), "{text}");
    }
    assert!(ours(r#"{"firstName":"Ada","at":{"x":1}}"#).is_ok());
    assert!(ours(r#"{"firstName":"Ada","n":1,"n":2,"at":{"x":1}}"#).is_err());
    // The array form: serde's derive reads it; the wire does not.
    let array = r#"["Ada",1,{"x":2}]"#;
    assert!(derived(array).is_ok());
    assert_eq!(
        ours(array),
        Err("invalid type: sequence, expected an object at line 1 column 0".to_owned())
    );
    // A struct without fields: `{}` and nothing else.
    assert!(serde_json::from_str::<Empty>("{}").is_ok());
    assert_eq!(
        serde_json::from_str::<Empty>(r#"{"a":1}"#)
            .unwrap_err()
            .to_string(),
        "unknown field `a`, there are no fields at line 1 column 4"
    );
}

/// serde keeps the last value of a map's repeated key; the strict decoder refuses it, and a
/// message with a map anywhere in it is decoded by the strict decoder only.
#[test]
fn duplicate_key_in_a_map_field_is_refused() {
    wskit::protocol! {
        protocol Maps {
            message Limits { limits: std::collections::BTreeMap<String, i32> }
            message Nested { items: Vec<Holder> }
            type Holder { tags: Option<std::collections::HashMap<String, bool>> }
        }
    }
    assert_eq!(
        decode_payload::<Limits>(Some(&raw(r#"{"limits":{"x":1,"x":2}}"#)))
            .unwrap_err()
            .to_string(),
        "payload.limits.x: duplicate key"
    );
    assert_eq!(
        decode_payload::<Nested>(Some(&raw(r#"{"items":[{"tags":{"a":true,"a":false}}]}"#)))
            .unwrap_err()
            .to_string(),
        "payload.items[0].tags.a: duplicate key"
    );
    let ok = decode_payload::<Limits>(Some(&raw(r#"{"limits":{"x":1,"y":2}}"#))).unwrap();
    assert_eq!(ok.limits.len(), 2);
}

mod keys {
    wskit::protocol! {
        pub protocol Keys {
            message Pair { first_name: String, n: Option<u8>, tags: Vec<String> }
        }
    }
}

/// The fast read of a payload (`Message::__read_json`, generated: keys matched by their JSON
/// text) takes the usual forms in any order and gives serde's value; what it refuses (an
/// escaped, repeated or unknown key, a missing field, junk) gets the strict decoder's answer,
/// which is the same value or the issues.
#[test]
fn payload_keys_are_matched_by_their_json_text_and_the_rest_is_answered_exactly() {
    use keys::Pair;
    use wskit::Message;
    let pair = |n| Pair {
        first_name: "Ada".into(),
        n,
        tags: vec!["x".into()],
    };
    for (text, value) in [
        (r#"{"firstName":"Ada","n":3,"tags":["x"]}"#, pair(Some(3))),
        (r#"{"tags":["x"],"n":3,"firstName":"Ada"}"#, pair(Some(3))),
        (
            " { \"firstName\" : \"Ada\" ,\n\"tags\":[ \"x\" ] } ",
            pair(None),
        ),
        (r#"{"firstName":"Ada","n":null,"tags":["x"]}"#, pair(None)),
    ] {
        assert_eq!(Pair::__read_json(text), Some(value.clone()), "{text}");
        assert_eq!(
            serde_json::from_str::<Pair>(text).ok(),
            Some(value),
            "{text}"
        );
    }
    // Refused by the fast read; the strict decoder answers.
    let exact = |text: &str| {
        assert_eq!(Pair::__read_json(text), None, "{text}");
        decode_payload::<Pair>(Some(&raw(text))).map_err(|e| e.to_string())
    };
    assert_eq!(
        exact(r#"{"first\u004eame":"Ada","n":3,"tags":["x"]}"#),
        Ok(pair(Some(3))),
        "an escaped key is the key it spells"
    );
    assert_eq!(
        exact(r#"{"firstName":"Ada","n":3,"n":4,"tags":["x"]}"#),
        Err("payload.n: duplicate key".into())
    );
    assert_eq!(
        exact(r#"{"firstName":"Ada","firstNames":1,"tags":["x"]}"#),
        Err("payload.firstNames: unknown key".into())
    );
    assert_eq!(
        exact(r#"{"firstName":"Ada"}"#),
        Err("payload.tags: required".into())
    );
    assert_eq!(
        exact(r#"["Ada",null,[]]"#),
        Err("payload: expected object, got array".into())
    );
    // Not JSON: refused here as by serde_json (the frame is answered as a bad frame).
    for text in [
        r#"{"firstName":"Ada","tags":[],}"#,
        r#"{"firstName":"Ada","tags":[]} {}"#,
        r#"{"firstName":"Ada","tags":[]"#,
        r#"{"firstName" "Ada","tags":[]}"#,
    ] {
        assert_eq!(Pair::__read_json(text), None, "{text}");
        assert!(serde_json::from_str::<Pair>(text).is_err(), "{text}");
    }
}
