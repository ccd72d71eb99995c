//! A table of frames of the `Demo` protocol: every meta shape the server must tell apart, times
//! the payloads of several message types, plus envelope oddities. The fast-path test sends each
//! with `type` first and last; the local-host test sends each to the tokio server and to
//! `wskit::local` and compares the answers.

/// The frames, as text.
pub fn demo_frames() -> Vec<String> {
    let metas = [
        None,
        Some(r#"{}"#),
        Some(r#"{"correlationId":"a"}"#),
        Some(r#"{"correlationId":"a","correlationId":"b"}"#),
        Some(r#"{"correlationId":"a","clientId":"x","receivedAt":5}"#),
        Some(r#"{"correlationId":"a","clientId":null}"#),
        Some(r#"{"correlationId":"a","clientId":1,"clientId":2}"#),
        // A reserved key holding more than a scalar: within the meta caps, and past them.
        Some(r#"{"correlationId":"a","clientId":{"x":[1,2]}}"#),
        Some(Box::leak(
            format!(
                r#"{{"correlationId":"a","receivedAt":[{}]}}"#,
                ["0"; 300].join(",")
            )
            .into_boxed_str(),
        )),
        Some(r#"{"correlationId":null}"#),
        Some(r#"{"correlationId":"a","timestamp":null}"#),
        Some(r#"{"correlationId":"a","timestamp":"x"}"#),
        Some(r#"{"correlationId":"a","timeoutMs":-1}"#),
        Some(r#"{"correlationId":"a","timeoutMs":1.5}"#),
        Some(r#"{"correlationId":"a","timeoutMs":1e400}"#),
        Some(r#"{"correlationId":"a","timeoutMs":null}"#),
        Some(r#"{"correlationId":"a","traceId":"t"}"#),
        Some(r#"{"correlationId":"a","trace":"t"}"#),
        Some(r#"{"correlationId":"\u0061"}"#),
        Some(r#"null"#),
        Some(r#"[]"#),
        Some(r#"["a"]"#),
        Some(r#""a""#),
        // Ids the byte-matching read of the common layout must leave to the parser.
        Some("{\"correlationId\":\"a\tb\"}"),
        Some(r#"{"correlationId":"a\"b"}"#),
        Some(r#"{"correlationId":"a\\"}"#),
        Some("{\"correlationId\":\"\u{e9}\u{7f}\"}"),
        Some(r#"{"correlationId":""}"#),
        Some(r#"{"correlationId":"a"} "#),
        Some(r#"{ "correlationId":"a"}"#),
    ];
    let payloads: &[(&str, &[Option<&str>])] = &[
        (
            "GET_USER",
            &[
                None,
                Some(r#"{"userId":"u1"}"#),
                Some(r#"{"userId":"u\u0031"}"#),
                Some(r#"{"userId":"u1","userId":"u2"}"#),
                Some(r#"{"userId":null}"#),
                Some(r#"{"user_id":"u1"}"#),
                Some(r#"{}"#),
                Some(r#"null"#),
                Some(r#"["u1"]"#),
                Some(r#""u1""#),
            ],
        ),
        ("PING", &[None, Some("{}"), Some("null"), Some("[]")]),
        ("WHO_AM_I", &[None, Some("{}"), Some("null"), Some("[]")]),
        ("ECHO_META", &[None, Some("{}")]),
        (
            "FLOOD",
            &[
                Some(r#"{"count":1,"size":1}"#),
                Some(r#"{"count":1.0,"size":1}"#),
                Some(r#"{"count":1e0,"size":1}"#),
                Some(r#"{"count":-1,"size":1}"#),
                Some(r#"{"count":4294967296,"size":1}"#),
                Some(r#"{"count":1.5,"size":1}"#),
                Some(r#"[1,1]"#),
            ],
        ),
        (
            "CHECK",
            &[
                Some(r#"{"n":1}"#),
                Some(r#"{"n":101}"#),
                Some(r#"{"n":1.0}"#),
            ],
        ),
        (
            "POST",
            &[
                Some(r#"{"room":"r","text":"t","excludeSelf":true}"#),
                Some(r#"{"room":"r","text":"t","excludeSelf":1}"#),
                Some(r#"{"room":"r","text":"t"}"#),
            ],
        ),
    ];
    let mut frames = Vec::new();
    for (ty, ps) in payloads {
        for meta in metas {
            for p in *ps {
                let mut f = format!(r#"{{"type":"{ty}""#);
                if let Some(m) = meta {
                    f += &format!(r#","meta":{m}"#);
                }
                if let Some(p) = p {
                    f += &format!(r#","payload":{p}"#);
                }
                f += "}";
                frames.push(f);
            }
        }
    }
    // Envelope-level oddities.
    for extra in [
        r#"{"type":"GET_USER","meta":{"correlationId":"a"},"meta":{"correlationId":"b"},"payload":{"userId":"u1"}}"#,
        r#"{"type":"GET_USER","meta":{"correlationId":"a"},"payload":{"userId":"u1"},"payload":{"userId":"u1"}}"#,
        r#"{"type":"GET_USER","meta":{"correlationId":"a"},"payload":{"userId":"u1"},"x":1,"x":2}"#,
        r#"{"type":"GET_USER","meta":{"correlationId":"a"},"payload":{"userId":"u1"},"typ\u0065":"GET_USER"}"#,
        r#"{"type":"GET_USER","meta":{"correlationId":"a"},"p\u0061yload":{"userId":"u1"}}"#,
        r#"{"type":"GET_USER","meta":{"correlationId":"a"},"payload":{"userId":"u1"}}  "#,
        r#"{"type":"GET_USER","meta":{"correlationId":"a"},"payload":{"userId":"u1"},"x":1e400}"#,
        r#"{"type":"GET_USER","meta":{"correlationId":"a"},"payload": {"userId":"u1"} }"#,
        r#"{"type":"GET_USER","payload":{"userId":"u1"},"meta":{"correlationId":"a"}}"#,
        r#"{"type":"GET_USER","meta":{"correlationId":"a"},"payload":{"userId":"u1"}"#,
        r#"{"type":"GET_USER","meta":{"correlationId":"a"},"payload":{"userId":"u1"} , "x":1}"#,
        r#"{"type":"GET_USER", "meta":{"correlationId":"a"},"payload":{"userId":"u1"}}"#,
    ] {
        frames.push(extra.to_owned());
    }
    frames
}
