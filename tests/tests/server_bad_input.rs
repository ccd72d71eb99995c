//! PROTOCOL.md section 3: every bad input is answered as the table says, and the connection
//! lives on (each test ends with a request that still works).

use wskit::{Error, ErrorCode};
use wskit_tests::*;

/// The answer to a frame that is not JSON.
fn not_json() -> String {
    error_frame(None, &Error::invalid_argument("frame is not valid JSON"))
}

/// The answer to JSON that is not an object with a string `type`.
fn not_object() -> String {
    error_frame(
        None,
        &Error::invalid_argument("frame must be a JSON object with a string \"type\""),
    )
}

async fn still_alive(c: &mut Client) {
    c.send(r#"{"type":"GET_USER","meta":{"correlationId":"alive"},"payload":{"userId":"u1"}}"#)
        .await;
    assert_eq!(
        c.recv().await,
        r#"{"type":"USER_DATA","meta":{"correlationId":"alive"},"payload":{"name":"Ada"}}"#
    );
}

#[tokio::test]
async fn not_json_not_object_or_no_string_type_is_invalid_argument() {
    let (probe, _events) = probe();
    let server = start(demo_builder(&probe)).await;
    let mut c = connect(&server).await;
    let (not_json, not_object) = (not_json(), not_object());
    for (input, expected) in [
        ("hello", &not_json),
        ("{\"type\":", &not_json),
        ("[1,2]", &not_object),
        ("42", &not_object),
        ("{}", &not_object),
        (r#"{"type":7}"#, &not_object),
        (r#"{"type":null,"meta":{"correlationId":"x"}}"#, &not_object),
    ] {
        c.send(input).await;
        assert_eq!(&c.recv().await, expected, "input {input}");
    }
    assert_eq!(
        not_json,
        r#"{"type":"ERROR","meta":{},"payload":{"code":"INVALID_ARGUMENT","message":"frame is not valid JSON"}}"#
    );
    still_alive(&mut c).await;
}

#[tokio::test]
async fn unknown_type_is_unimplemented_with_details() {
    let (probe, _events) = probe();
    let server = start(demo_builder(&probe)).await;
    let mut c = connect(&server).await;
    c.send(r#"{"type":"NOPE"}"#).await;
    assert_eq!(
        c.recv().await,
        r#"{"type":"ERROR","meta":{},"payload":{"code":"UNIMPLEMENTED","message":"Feature not supported or deployed","details":{"type":"NOPE"}}}"#
    );
    c.send(r#"{"type":"NOPE","meta":{"correlationId":"c-9"}}"#)
        .await;
    assert_eq!(
        c.recv().await,
        r#"{"type":"RPC_ERROR","meta":{"correlationId":"c-9"},"payload":{"code":"UNIMPLEMENTED","message":"Feature not supported or deployed","details":{"type":"NOPE"}}}"#
    );
    // Server-to-client types are not routable either.
    c.send(r#"{"type":"USER_DATA","payload":{"name":"x"}}"#)
        .await;
    assert_eq!(code_of(&c.recv_json().await), ErrorCode::Unimplemented);
    still_alive(&mut c).await;
}

#[tokio::test]
async fn reserved_type_is_invalid_argument() {
    let (probe, _events) = probe();
    let server = start(demo_builder(&probe)).await;
    let mut c = connect(&server).await;
    for ty in [
        "$ws:nope",
        "__secret",
        "$",
        "__heartbeat_ack",
        "$ws:rpc-progress",
    ] {
        c.send(&format!(r#"{{"type":"{ty}"}}"#)).await;
        let expected = format!(
            r#"{{"type":"ERROR","meta":{{}},"payload":{{"code":"INVALID_ARGUMENT","message":"type \"{}\" is reserved","details":{{"type":"{}"}}}}}}"#,
            ty, ty
        );
        assert_eq!(c.recv().await, expected);
    }
    still_alive(&mut c).await;
}

#[tokio::test]
async fn validation_failure_lists_every_issue() {
    let (probe, _events) = probe();
    let server = start(demo_builder(&probe)).await;
    let mut c = connect(&server).await;
    c.send(r#"{"type":"GET_USER","meta":{"correlationId":"v1"},"payload":{"userId":1,"x":true}}"#)
        .await;
    assert_eq!(
        c.recv().await,
        r#"{"type":"RPC_ERROR","meta":{"correlationId":"v1"},"payload":{"code":"INVALID_ARGUMENT","message":"Validation failed: payload.userId: expected string, got number (and 1 more)","details":{"issues":[{"path":"payload.userId","message":"expected string, got number"},{"path":"payload.x","message":"unknown key"}]}}}"#
    );
    // Without a correlationId: ERROR.
    c.send(r#"{"type":"SAY","payload":{}}"#).await;
    assert_eq!(
        c.recv().await,
        r#"{"type":"ERROR","meta":{},"payload":{"code":"INVALID_ARGUMENT","message":"Validation failed: payload.text: required","details":{"issues":[{"path":"payload.text","message":"required"}],"type":"SAY"}}}"#
    );
    still_alive(&mut c).await;
}

/// Frames that start `{"type":"<a routed type>"` are routed before they are parsed (the fast
/// path); whatever is wrong further on is answered exactly as on the parse-first path.
#[tokio::test]
async fn a_routed_frame_that_goes_bad_later_is_answered_as_a_parsed_one() {
    let (probe, _events) = probe();
    let server = start(demo_builder(&probe)).await;
    let mut c = connect(&server).await;
    let (not_json, not_object) = (not_json(), not_object());
    let array = |cid: Option<&str>, path: &str| {
        let meta = cid.map_or("{}".to_owned(), |c| format!(r#"{{"correlationId":"{c}"}}"#));
        // An `ERROR` (no correlationId) names the type it answers.
        let (ty, named) = match cid {
            Some(_) => ("RPC_ERROR", ""),
            None => ("ERROR", r#","type":"GET_USER""#),
        };
        format!(
            r#"{{"type":"{ty}","meta":{meta},"payload":{{"code":"INVALID_ARGUMENT","message":"Validation failed: {path}: expected object, got array","details":{{"issues":[{{"path":"{path}","message":"expected object, got array"}}]{named}}}}}}}"#
        )
    };
    let cases = [
        (
            r#"{"type":"GET_USER","meta":{"correlationId":"a"},"payload":{"userId":"u1"}"#,
            not_json.clone(),
        ),
        (
            r#"{"type":"GET_USER","meta":{"correlationId":"a"},"payload":{"userId":"u1"}} x"#,
            not_json.clone(),
        ),
        (
            r#"{"type":"GET_USER","meta":{"correlationId":"a"},"payload":{"userId":"u1"},"type":"GET_USER"}"#,
            not_object.clone(),
        ),
        // serde reads a struct from its array form; the wire does not.
        (
            r#"{"type":"GET_USER","meta":{"correlationId":"b"},"payload":["u1"]}"#,
            array(Some("b"), "payload"),
        ),
        (
            r#"{"type":"GET_USER","meta":["b"],"payload":{"userId":"u1"}}"#,
            array(None, "meta"),
        ),
    ];
    for (input, expected) in cases {
        c.send(input).await;
        assert_eq!(c.recv().await, expected, "input {input}");
    }
    // Any other layout goes the parse-first way to the same answer.
    for input in [
        r#"{"payload":{"userId":"u1"},"meta":{"correlationId":"c"},"type":"GET_USER"}"#,
        r#"{ "type" : "GET_USER", "meta":{"correlationId":"c"},"payload":{"userId":"u1"}}"#,
        r#"{"type":"GET_USER","meta":{"correlationId":"c"},"payload":{"userId":"u1"},"x":[1,{"y":2}]}"#,
    ] {
        c.send(input).await;
        assert_eq!(
            c.recv().await,
            r#"{"type":"USER_DATA","meta":{"correlationId":"c"},"payload":{"name":"Ada"}}"#,
            "input {input}"
        );
    }
    still_alive(&mut c).await;
}

#[tokio::test]
async fn payload_presence_rules_and_meta_are_validated() {
    let (probe, _events) = probe();
    let server = start(demo_builder(&probe)).await;
    let mut c = connect(&server).await;
    let cases = [
        // a non-empty payload on a message that declares no fields
        (
            r#"{"type":"PING","payload":{"x":1}}"#,
            "payload.x",
            "unknown key",
        ),
        // missing payload on one that declares some
        (r#"{"type":"SAY"}"#, "payload", "required"),
        // "payload": null
        (
            r#"{"type":"SAY","payload":null}"#,
            "payload",
            "expected object, got null",
        ),
        // undeclared meta key
        (
            r#"{"type":"PING","meta":{"traceId":"t"}}"#,
            "meta.traceId",
            "unknown key",
        ),
        // standard meta key of the wrong type
        (
            r#"{"type":"PING","meta":{"correlationId":5}}"#,
            "meta.correlationId",
            "expected string, got number",
        ),
    ];
    for (input, path, message) in cases {
        c.send(input).await;
        let v = c.recv_json().await;
        assert_eq!(v["type"], "ERROR", "{input}");
        assert_eq!(code_of(&v), ErrorCode::InvalidArgument, "{input}");
        assert_eq!(
            v["payload"]["details"]["issues"][0]["path"], path,
            "{input}"
        );
        assert_eq!(
            v["payload"]["details"]["issues"][0]["message"], message,
            "{input}"
        );
    }
    // A message without payload and without meta is fine.
    c.send(r#"{"type":"PING"}"#).await;
    assert!(c.frames_before_ack().await.is_empty());
    still_alive(&mut c).await;
}

#[tokio::test]
async fn handler_error_is_sent_as_returned() {
    let (probe, _events) = probe();
    let server = start(demo_builder(&probe)).await;
    let mut c = connect(&server).await;
    c.send(r#"{"type":"SAY","meta":{"correlationId":"h"},"payload":{"text":"fail"}}"#)
        .await;
    assert_eq!(
        c.recv().await,
        r#"{"type":"RPC_ERROR","meta":{"correlationId":"h"},"payload":{"code":"NOT_FOUND","message":"nothing here"}}"#
    );
    still_alive(&mut c).await;
}

#[tokio::test]
async fn handler_panic_is_internal_and_fails_only_that_request() {
    let (probe, mut events) = probe();
    let server = start(demo_builder(&probe)).await;
    let mut other = connect(&server).await;
    let mut c = connect(&server).await;
    c.send(r#"{"type":"SAY","meta":{"correlationId":"p"},"payload":{"text":"panic"}}"#)
        .await;
    // The panic message ("boom") is not sent.
    assert_eq!(
        c.recv().await,
        r#"{"type":"RPC_ERROR","meta":{"correlationId":"p"},"payload":{"code":"INTERNAL","message":"Unexpected server error (bug)","retryAfterMs":200}}"#
    );
    c.send(r#"{"type":"SAY","payload":{"text":"panic"}}"#).await;
    assert_eq!(
        c.recv().await,
        r#"{"type":"ERROR","meta":{},"payload":{"code":"INTERNAL","message":"Unexpected server error (bug)","details":{"type":"SAY"},"retryAfterMs":200}}"#
    );
    assert_eq!(events.next().await, "say:panic");
    still_alive(&mut c).await;
    still_alive(&mut other).await;
}

#[tokio::test]
async fn too_many_requests_in_flight_is_resource_exhausted() {
    let (probe, mut events) = probe();
    let server = start(demo_builder(&probe).max_in_flight(2)).await;
    let mut c = connect(&server).await;
    c.send(r#"{"type":"SLOW","meta":{"correlationId":"a"},"payload":{"ms":300}}"#)
        .await;
    c.send(r#"{"type":"SLOW","meta":{"correlationId":"b"},"payload":{"ms":300}}"#)
        .await;
    c.send(r#"{"type":"SLOW","meta":{"correlationId":"c"},"payload":{"ms":300}}"#)
        .await;
    assert_eq!(
        c.recv().await,
        r#"{"type":"RPC_ERROR","meta":{"correlationId":"c"},"payload":{"code":"RESOURCE_EXHAUSTED","message":"too many requests in flight on this connection (limit 2)","retryAfterMs":100}}"#
    );
    assert_eq!(events.next().await, "started:300");
    assert_eq!(events.next().await, "started:300");
    let mut replies = vec![c.recv().await, c.recv().await];
    replies.sort();
    assert_eq!(
        replies,
        [
            r#"{"type":"SLOW_DONE","meta":{"correlationId":"a"}}"#,
            r#"{"type":"SLOW_DONE","meta":{"correlationId":"b"}}"#
        ]
    );
    // Slots are free again.
    still_alive(&mut c).await;
}

#[tokio::test]
async fn frame_over_the_limit_closes_with_1009() {
    let (probe, _events) = probe();
    let server = start(demo_builder(&probe).max_frame_bytes(1024)).await;
    let mut other = connect(&server).await;
    let mut c = connect(&server).await;
    // At the limit: handled.
    let text = "y".repeat(1024 - r#"{"type":"SAY","payload":{"text":""}}"#.len());
    let frame = format!(r#"{{"type":"SAY","payload":{{"text":"{text}"}}}}"#);
    assert_eq!(frame.len(), 1024);
    c.send(&frame).await;
    assert_eq!(c.recv_json().await["payload"]["text"], text.as_str());
    // One byte over: closed with 1009.
    let frame = format!(r#"{{"type":"SAY","payload":{{"text":"{text}y"}}}}"#);
    c.send(&frame).await;
    let (close, texts) = c.recv_close().await;
    assert!(texts.is_empty());
    assert_eq!(close, Some((1009, "frame too big".to_owned())));
    still_alive(&mut other).await;
}

#[tokio::test]
async fn binary_frame_that_is_not_utf8_is_invalid_argument() {
    let (probe, _events) = probe();
    let server = start(demo_builder(&probe)).await;
    let mut c = connect(&server).await;
    c.send_binary(&[0xff, 0xfe, 0x00]).await;
    assert_eq!(
        c.recv().await,
        r#"{"type":"ERROR","meta":{},"payload":{"code":"INVALID_ARGUMENT","message":"binary frame is not valid UTF-8"}}"#
    );
    still_alive(&mut c).await;
}

#[tokio::test]
async fn panicking_validator_is_internal_and_the_connection_lives_on() {
    let (probe, _events) = probe();
    let server = start(demo_builder(&probe)).await;
    let mut c = connect(&server).await;
    c.send(r#"{"type":"CHECK","meta":{"correlationId":"k"},"payload":{"n":13}}"#)
        .await;
    assert_eq!(
        c.recv().await,
        r#"{"type":"RPC_ERROR","meta":{"correlationId":"k"},"payload":{"code":"INTERNAL","message":"Unexpected server error (bug)","retryAfterMs":200}}"#
    );
    c.send(r#"{"type":"CHECK","meta":{"correlationId":"k2"},"payload":{"n":101}}"#)
        .await;
    assert_eq!(
        c.recv_json().await["payload"]["details"]["issues"][0]["message"],
        "must be at most 100"
    );
    c.send(r#"{"type":"CHECK","meta":{"correlationId":"k3"},"payload":{"n":1}}"#)
        .await;
    assert_eq!(
        c.recv().await,
        r#"{"type":"CHECKED","meta":{"correlationId":"k3"}}"#
    );
    still_alive(&mut c).await;
}

#[tokio::test]
async fn panicking_error_hook_does_not_take_the_connection_down() {
    let (probe, _events) = probe();
    let builder = demo_builder(&probe).on_error(|_e| panic!("error hook bug"));
    let server = start(builder).await;
    let mut c = connect(&server).await;
    c.send("not json").await;
    assert_eq!(c.recv_json().await["payload"]["code"], "INVALID_ARGUMENT");
    still_alive(&mut c).await;
}

#[tokio::test]
async fn every_truncation_of_a_valid_frame_is_answered_and_nothing_breaks() {
    let (probe, _events) = probe();
    let server = start(demo_builder(&probe)).await;
    let mut c = connect(&server).await;
    let frame = r#"{"type":"GET_USER","meta":{"correlationId":"c-ü","timestamp":1764160000000},"payload":{"userId":"u1"}}"#;
    for (k, _) in frame.char_indices() {
        c.send(&frame[..k]).await;
        let v = c.recv_json().await;
        assert_eq!(v["type"], "ERROR", "prefix {k}");
        assert_eq!(v["payload"]["code"], "INVALID_ARGUMENT", "prefix {k}");
    }
    c.send(frame).await;
    assert_eq!(c.recv_json().await["payload"]["name"], "Ada");
}

/// RFC 6455 section 8.1: a text frame (or a close reason) that is not UTF-8 fails the connection with 1007
/// (PROTOCOL.md section 3); the same bytes in a binary frame are only bad input.
#[tokio::test]
async fn invalid_utf8_in_a_text_frame_closes_with_1007() {
    use tokio::io::AsyncWriteExt;
    use tokio_tungstenite::MaybeTlsStream;
    let (probe, _events) = probe();
    let server = start(demo_builder(&probe)).await;
    let mut c = connect(&server).await;
    c.send_binary(&[0xff, 0xfe, b'A']).await;
    assert_eq!(
        code_of(&c.recv_json().await),
        wskit::ErrorCode::InvalidArgument
    );
    // A masked text frame (mask key 0) written by hand: tungstenite will not send one.
    let MaybeTlsStream::Plain(tcp) = c.ws.get_mut() else {
        panic!("plain TCP");
    };
    tcp.write_all(&[0x81, 0x83, 0, 0, 0, 0, 0xff, 0xfe, b'A'])
        .await
        .unwrap();
    let (close, _) = c.recv_close().await;
    assert_eq!(close.map(|(code, _)| code), Some(1007));

    // A close frame whose reason is not UTF-8: 1007 too.
    let mut c = connect(&server).await;
    let MaybeTlsStream::Plain(tcp) = c.ws.get_mut() else {
        panic!("plain TCP");
    };
    tcp.write_all(&[0x88, 0x84, 0, 0, 0, 0, 0x03, 0xe8, 0xff, 0xfe])
        .await
        .unwrap();
    let (close, _) = c.recv_close().await;
    assert_eq!(close.map(|(code, _)| code), Some(1007));
}
