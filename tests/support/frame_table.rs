//! Tables of frames: every meta shape the server must tell apart, times the payloads of several
//! message types, plus envelope oddities. `demo_frames` is the `Demo` protocol's: the fast-path
//! test sends each with `type` first and last; the local-host test sends each to the tokio server
//! and to `wskit::local` and compares the answers.

/// The meta shapes sent with every payload of a table (`None`: no `meta` key).
fn meta_shapes() -> Vec<Option<String>> {
    // The shape past the meta caps (below).
    let received_at = format!(
        r#"{{"correlationId":"a","receivedAt":[{}]}}"#,
        ["0"; 300].join(",")
    );
    let shapes: [Option<&str>; 42] = [
        None,
        Some(r#"{}"#),
        Some(r#"{"correlationId":"a"}"#),
        Some(r#"{"correlationId":"a","correlationId":"b"}"#),
        Some(r#"{"correlationId":"a","clientId":"x","receivedAt":5}"#),
        Some(r#"{"correlationId":"a","clientId":null}"#),
        Some(r#"{"correlationId":"a","clientId":1,"clientId":2}"#),
        // A reserved key holding more than a scalar: within the meta caps, and past them.
        Some(r#"{"correlationId":"a","clientId":{"x":[1,2]}}"#),
        Some(received_at.as_str()),
        Some(r#"{"correlationId":null}"#),
        Some(r#"{"correlationId":"a","timestamp":null}"#),
        // The layout of ws-kit's and wskit's clients: a plain number after the id, or alone.
        Some(r#"{"correlationId":"a","timestamp":1733490000123}"#),
        Some(r#"{"correlationId":"a","timestamp":-0}"#),
        Some(r#"{"correlationId":"a","timestamp":1.5e3}"#),
        Some(r#"{"correlationId":"a","timestamp":1e400}"#),
        Some(r#"{"correlationId":"a","timestamp":01}"#),
        Some(r#"{"correlationId":"a","timestamp":1.}"#),
        Some(r#"{"correlationId":"a","timestamp":}"#),
        Some(r#"{"correlationId":"a","timestamp":1,"x":2}"#),
        Some(r#"{"correlationId":"a""timestamp":1}"#),
        Some(r#"{"correlationId":"a",}"#),
        Some(r#"{"timestamp":7}"#),
        Some(r#"{"timestamp":7,"correlationId":"a"}"#),
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
    shapes.iter().map(|m| m.map(str::to_owned)).collect()
}

/// Each meta shape times each payload of each type (`None`: no `payload` key), `type` first.
fn frames_of(payloads: &[(&str, &[Option<&str>])]) -> Vec<String> {
    let metas = meta_shapes();
    let mut frames = Vec::new();
    for (ty, ps) in payloads {
        for meta in &metas {
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
    frames
}

/// Envelope-level oddities of a frame of type `ty` with this payload (and the meta
/// `{"correlationId":"a"}`): keys repeated, escaped, unknown, out of order, spaces, a frame cut
/// short.
fn envelope_oddities(ty: &str, payload: &str) -> Vec<String> {
    [
        r#"{"type":"TYPE","meta":{"correlationId":"a"},"meta":{"correlationId":"b"},"payload":PAYLOAD}"#,
        r#"{"type":"TYPE","meta":{"correlationId":"a"},"payload":PAYLOAD,"payload":PAYLOAD}"#,
        r#"{"type":"TYPE","meta":{"correlationId":"a"},"payload":PAYLOAD,"x":1,"x":2}"#,
        r#"{"type":"TYPE","meta":{"correlationId":"a"},"payload":PAYLOAD,"typ\u0065":"TYPE"}"#,
        r#"{"type":"TYPE","meta":{"correlationId":"a"},"p\u0061yload":PAYLOAD}"#,
        r#"{"type":"TYPE","meta":{"correlationId":"a"},"payload":PAYLOAD}  "#,
        r#"{"type":"TYPE","meta":{"correlationId":"a"},"payload":PAYLOAD,"x":1e400}"#,
        r#"{"type":"TYPE","meta":{"correlationId":"a"},"payload": PAYLOAD }"#,
        r#"{"type":"TYPE","payload":PAYLOAD,"meta":{"correlationId":"a"}}"#,
        r#"{"type":"TYPE","meta":{"correlationId":"a"},"payload":PAYLOAD"#,
        r#"{"type":"TYPE","meta":{"correlationId":"a"},"payload":PAYLOAD , "x":1}"#,
        r#"{"type":"TYPE", "meta":{"correlationId":"a"},"payload":PAYLOAD}"#,
    ]
    .iter()
    .map(|f| f.replace("TYPE", ty).replace("PAYLOAD", payload))
    .collect()
}

/// The `Demo` protocol's frames, as text.
pub fn demo_frames() -> Vec<String> {
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
    let mut frames = frames_of(payloads);
    frames.extend(envelope_oddities("GET_USER", r#"{"userId":"u1"}"#));
    frames
}
