//! Tables of frames: every meta shape the server must tell apart, times the payloads of several
//! message types, plus envelope oddities. `demo_frames` is the `Demo` protocol's: the fast-path
//! test sends each with `type` first and last; the local-host test sends each to the tokio server
//! and to `wskit::local` and compares the answers. `chat_frames` is the chat example's (the same
//! meta shapes and oddities): the Cloudflare test sends each to the chat Durable Object and to the
//! tokio chat server and compares the answers.

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

/// A room id of `n` times `c`.
fn room_of(c: char, n: usize) -> String {
    std::iter::repeat_n(c, n).collect()
}

/// Every room a frame of [`chat_frames`] can join: `r`, `s` (in a repeated key), 64 `x`, 64 `é`
/// and `😀` (escaped as a surrogate pair).
pub fn chat_rooms() -> Vec<String> {
    vec![
        "r".to_owned(),
        "s".to_owned(),
        room_of('x', 64),
        room_of('é', 64),
        "😀".to_owned(),
    ]
}

/// The chat example's frames (`examples/chat_protocol.rs`), as text: every meta shape times
/// payloads of each type a client sends, and of types only the server sends, plus the envelope
/// oddities. The room a `SEND_MESSAGE` names is `r` (joined first: the sender and a listener are
/// in it), `HISTORY` asks for a room nobody speaks in (so that it is answered at once: a page
/// waits 20 ms, which would race the heartbeat that ends a step).
pub fn chat_frames() -> Vec<String> {
    let x64 = room_of('x', 64);
    let x65 = room_of('x', 65);
    let e64 = room_of('é', 64);
    let e65 = room_of('é', 65);
    let join = [
        r#"{"roomId":"r"}"#.to_owned(),
        r#"{"roomId":"\u0072"}"#.to_owned(),
        r#"{"roomId":"r","roomId":"s"}"#.to_owned(),
        format!(r#"{{"roomId":"{x64}"}}"#),
        format!(r#"{{"roomId":"{x65}"}}"#),
        format!(r#"{{"roomId":"{e64}"}}"#),
        format!(r#"{{"roomId":"{e65}"}}"#),
        r#"{"roomId":"\ud83d\ude00"}"#.to_owned(),
        r#"{"roomId":"\ud800"}"#.to_owned(),
        r#"{"roomId":""}"#.to_owned(),
        r#"{"roomId":null}"#.to_owned(),
        r#"{"roomId":1}"#.to_owned(),
        r#"{"room_id":"r"}"#.to_owned(),
        r#"{"roomId":"r","extra":1}"#.to_owned(),
        r#"{}"#.to_owned(),
        r#"["r"]"#.to_owned(),
        r#""r""#.to_owned(),
        r#"null"#.to_owned(),
    ];
    let text2000 = "t".repeat(2000);
    let text2001 = "t".repeat(2001);
    let e2000 = "é".repeat(2000);
    let e2001 = "é".repeat(2001);
    let send = [
        r#"{"roomId":"r","text":"hi"}"#.to_owned(),
        r#"{"roomId":"\u0072","text":"h\u0069 \"there\"\n\\ \ud83d\ude00"}"#.to_owned(),
        r#"{"text":"hi","roomId":"r"}"#.to_owned(),
        format!(r#"{{"roomId":"r","text":"{text2000}"}}"#),
        format!(r#"{{"roomId":"r","text":"{text2001}"}}"#),
        format!(r#"{{"roomId":"r","text":"{e2000}"}}"#),
        format!(r#"{{"roomId":"r","text":"{e2001}"}}"#),
        r#"{"roomId":"r","text":""}"#.to_owned(),
        r#"{"roomId":"r","text":" \t "}"#.to_owned(),
        r#"{"roomId":"elsewhere","text":"hi"}"#.to_owned(),
        r#"{"roomId":"r","text":"a","text":"b"}"#.to_owned(),
        r#"{"roomId":"r","text":"hi","extra":1}"#.to_owned(),
        r#"{"roomId":"r","text":null}"#.to_owned(),
        r#"{"roomId":"r","text":5}"#.to_owned(),
        r#"{"roomId":"r"}"#.to_owned(),
        r#"{"text":"hi"}"#.to_owned(),
        r#"[]"#.to_owned(),
    ];
    let leave = [
        r#"{"roomId":"r"}"#,
        r#"{"roomId":"\u0072"}"#,
        r#"{"roomId":"nowhere"}"#,
        r#"{"roomId":""}"#,
        r#"{"roomId":null}"#,
        r#"{"roomId":"r","extra":1}"#,
        r#"{}"#,
    ];
    let members = [
        r#"{"roomId":"r"}"#,
        r#"{"roomId":"\u0072"}"#,
        r#"{"roomId":"nobody"}"#,
        r#"{"roomId":null}"#,
        r#"{"roomId":"r","extra":1}"#,
        r#"{}"#,
        r#""r""#,
    ];
    let history = [
        r#"{"roomId":"quiet"}"#,
        r#"{"roomId":"qu\u0069et"}"#,
        r#"{"roomId":7}"#,
        r#"{"roomId":"quiet","extra":1}"#,
    ];
    // Types only the server sends.
    let new_message = [r#"{"roomId":"r","user":"alice","text":"hi"}"#, r#"{}"#];
    let members_reply = [r#"{"roomId":"r","members":["alice"]}"#];
    let some = |ps: &[&'static str]| -> Vec<Option<&'static str>> {
        std::iter::once(None)
            .chain(ps.iter().map(|p| Some(*p)))
            .collect()
    };
    let join: Vec<Option<&str>> = std::iter::once(None)
        .chain(join.iter().map(|p| Some(p.as_str())))
        .collect();
    let send: Vec<Option<&str>> = std::iter::once(None)
        .chain(send.iter().map(|p| Some(p.as_str())))
        .collect();
    let (leave, members, history) = (some(&leave), some(&members), some(&history));
    let (new_message, members_reply) = (some(&new_message), some(&members_reply));
    let mut frames = frames_of(&[
        ("JOIN_ROOM", &join),
        ("SEND_MESSAGE", &send),
        ("LIST_MEMBERS", &members),
        ("HISTORY", &history),
        ("LEAVE_ROOM", &leave),
        ("NEW_MESSAGE", &new_message),
        ("MEMBERS", &members_reply),
    ]);
    frames.extend(envelope_oddities("LIST_MEMBERS", r#"{"roomId":"r"}"#));
    frames.extend(envelope_oddities(
        "SEND_MESSAGE",
        r#"{"roomId":"r","text":"hi"}"#,
    ));
    frames
}
