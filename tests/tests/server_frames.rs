//! The exact bytes of every frame type of PROTOCOL.md sections 1-3, over a real socket.

use wskit_tests::*;

#[tokio::test]
async fn rpc_reply_is_the_response_type_with_the_correlation_id() {
    let (probe, _events) = probe();
    let server = start(demo_builder(&probe)).await;
    let mut c = connect(&server).await;
    c.send(r#"{"type":"GET_USER","meta":{"correlationId":"c-1","timestamp":1764160000000},"payload":{"userId":"u1"}}"#).await;
    assert_eq!(
        c.recv().await,
        r#"{"type":"USER_DATA","meta":{"correlationId":"c-1"},"payload":{"name":"Ada"}}"#
    );
    c.send(r#"{"type":"GET_USER","meta":{"correlationId":"c-2"},"payload":{"userId":"u2"}}"#)
        .await;
    assert_eq!(
        c.recv().await,
        r#"{"type":"USER_DATA","meta":{"correlationId":"c-2"},"payload":{"name":"Bob","email":"bob@example.com"}}"#
    );
}

#[tokio::test]
async fn request_without_correlation_id_is_answered_with_empty_meta() {
    let (probe, _events) = probe();
    let server = start(demo_builder(&probe)).await;
    let mut c = connect(&server).await;
    c.send(r#"{"type":"GET_USER","payload":{"userId":"u1"}}"#)
        .await;
    assert_eq!(
        c.recv().await,
        r#"{"type":"USER_DATA","meta":{},"payload":{"name":"Ada"}}"#
    );
}

#[tokio::test]
async fn response_without_fields_has_no_payload_key() {
    let (probe, _events) = probe();
    let server = start(demo_builder(&probe)).await;
    let mut c = connect(&server).await;
    c.send(r#"{"type":"SLOW","meta":{"correlationId":"s"},"payload":{"ms":0}}"#)
        .await;
    assert_eq!(
        c.recv().await,
        r#"{"type":"SLOW_DONE","meta":{"correlationId":"s"}}"#
    );
}

#[tokio::test]
async fn rpc_error_carries_the_correlation_id() {
    let (probe, _events) = probe();
    let server = start(demo_builder(&probe)).await;
    let mut c = connect(&server).await;
    c.send(r#"{"type":"GET_USER","meta":{"correlationId":"c-1"},"payload":{"userId":"nobody"}}"#)
        .await;
    assert_eq!(
        c.recv().await,
        r#"{"type":"RPC_ERROR","meta":{"correlationId":"c-1"},"payload":{"code":"NOT_FOUND","message":"no such user"}}"#
    );
}

#[tokio::test]
async fn error_of_a_message_without_correlation_id_is_error() {
    let (probe, _events) = probe();
    let server = start(demo_builder(&probe)).await;
    let mut c = connect(&server).await;
    c.send(r#"{"type":"SAY","payload":{"text":"fail"}}"#).await;
    assert_eq!(
        c.recv().await,
        r#"{"type":"ERROR","meta":{},"payload":{"code":"NOT_FOUND","message":"nothing here","details":{"type":"SAY"}}}"#
    );
}

#[tokio::test]
async fn unicast_send_has_empty_meta() {
    let (probe, _events) = probe();
    let server = start(demo_builder(&probe)).await;
    let mut c = connect(&server).await;
    c.send(r#"{"type":"SAY","meta":{"timestamp":1},"payload":{"text":"hi"}}"#)
        .await;
    assert_eq!(
        c.recv().await,
        r#"{"type":"SAID","meta":{},"payload":{"text":"hi"}}"#
    );
}

#[tokio::test]
async fn progress_frames_carry_payload_and_data() {
    let (probe, _events) = probe();
    let server = start(demo_builder(&probe)).await;
    let mut c = connect(&server).await;
    c.send(r#"{"type":"COUNT","meta":{"correlationId":"p"},"payload":{"to":2}}"#)
        .await;
    assert_eq!(
        c.recv().await,
        r#"{"type":"$ws:rpc-progress","meta":{"correlationId":"p"},"payload":{"n":1},"data":{"n":1}}"#
    );
    assert_eq!(
        c.recv().await,
        r#"{"type":"$ws:rpc-progress","meta":{"correlationId":"p"},"payload":{"n":2},"data":{"n":2}}"#
    );
    assert_eq!(
        c.recv().await,
        r#"{"type":"COUNTED","meta":{"correlationId":"p"},"payload":{"total":2}}"#
    );
}

#[tokio::test]
async fn heartbeat_is_acknowledged_with_server_time() {
    let (probe, _events) = probe();
    let server = start(demo_builder(&probe)).await;
    let mut c = connect(&server).await;
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    // Other keys on a heartbeat are ignored.
    c.send(r#"{"type":"__heartbeat","meta":{"x":1},"payload":{"y":2}}"#)
        .await;
    let ack = c.recv().await;
    let v: serde_json::Value = serde_json::from_str(&ack).unwrap();
    let ts = v["meta"]["ts"].as_u64().expect("meta.ts");
    assert!(ts >= before, "ts {ts} is server time in ms");
    assert_eq!(
        ack,
        format!(r#"{{"type":"__heartbeat_ack","meta":{{"ts":{ts}}}}}"#)
    );
}

#[tokio::test]
async fn binary_frames_are_handled_like_text() {
    let (probe, _events) = probe();
    let server = start(demo_builder(&probe)).await;
    let mut c = connect(&server).await;
    c.send_binary(br#"{"type":"GET_USER","meta":{"correlationId":"b"},"payload":{"userId":"u1"}}"#)
        .await;
    assert_eq!(
        c.recv().await,
        r#"{"type":"USER_DATA","meta":{"correlationId":"b"},"payload":{"name":"Ada"}}"#
    );
}

#[tokio::test]
async fn reserved_meta_keys_are_removed_not_refused() {
    let (probe, _events) = probe();
    let server = start(demo_builder(&probe)).await;
    let mut c = connect(&server).await;
    c.send(
        r#"{"type":"WHO_AM_I","meta":{"correlationId":"w","clientId":"spoofed","receivedAt":1}}"#,
    )
    .await;
    let me = c.recv_json().await;
    assert_eq!(me["type"], "ME");
    assert_eq!(me["payload"]["clientId"], c.client_id().as_str());
    // The handler echoes the meta keys it sees beyond the standard ones: the spoofed reserved
    // keys are gone, the declared one is there.
    c.send(
        r#"{"type":"ECHO_META","meta":{"correlationId":"e","clientId":"spoofed","receivedAt":1,"trace":"t"}}"#,
    )
    .await;
    assert_eq!(
        c.recv().await,
        r#"{"type":"META_SEEN","meta":{"correlationId":"e"},"payload":{"keys":["trace"]}}"#
    );
}

#[tokio::test]
async fn extra_top_level_keys_are_ignored() {
    let (probe, _events) = probe();
    let server = start(demo_builder(&probe)).await;
    let mut c = connect(&server).await;
    c.send(r#"{"type":"GET_USER","extra":[1,2],"meta":{"correlationId":"e"},"payload":{"userId":"u1"}}"#).await;
    assert_eq!(
        c.recv().await,
        r#"{"type":"USER_DATA","meta":{"correlationId":"e"},"payload":{"name":"Ada"}}"#
    );
}

#[tokio::test]
async fn a_peer_that_closes_with_answers_still_queued_gets_the_close_answer() {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::protocol::CloseFrame;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

    let (probe, _events) = probe();
    let server = start(demo_builder(&probe)).await;
    let mut c = connect(&server).await;
    // One write: the server reads both frames in one go, so the 50 answers of the first are
    // still queued when it reads the close.
    let flood = r#"{"type":"FLOOD","payload":{"count":50,"size":10}}"#;
    let close = CloseFrame {
        code: CloseCode::from(4001),
        reason: "bye".into(),
    };
    within("the frames", async {
        c.ws.feed(Message::text(flood)).await.unwrap();
        c.ws.feed(Message::Close(Some(close))).await.unwrap();
        c.ws.flush().await.unwrap();
    })
    .await;
    let (close, _texts) = c.recv_close().await;
    assert_eq!(close, Some((4001, "bye".to_owned())));
}

/// ws-kit reads `"meta": null` as `{}`; so does wskit, on both the routed and the parsed path.
#[tokio::test]
async fn null_meta_reads_as_empty_meta() {
    let (probe, mut events) = probe();
    let server = start(demo_builder(&probe)).await;
    let mut c = connect(&server).await;
    c.send(r#"{"type":"GET_USER","meta":null,"payload":{"userId":"u1"}}"#)
        .await;
    assert_eq!(
        c.recv().await,
        r#"{"type":"USER_DATA","meta":{},"payload":{"name":"Ada"}}"#
    );
    // Another key order: not the layout the routed path reads by bytes.
    c.send(r#"{"payload":{"userId":"u1"},"meta":null,"type":"GET_USER"}"#)
        .await;
    assert_eq!(
        c.recv().await,
        r#"{"type":"USER_DATA","meta":{},"payload":{"name":"Ada"}}"#
    );
    c.send(r#"{"type":"PING","meta":null}"#).await;
    assert_eq!(events.next().await, "ping");
}

/// ws-kit's `message("X", {})`: frames carry `"payload":{}`. The server writes that form for an
/// event and a response declared with empty braces (`event Poked {}`, `-> Nudged {}`), and
/// reads a request declared so with `{}` or without a payload; a message declared without one
/// (`message Ping;`) is read with either too, and its siblings written without a payload key.
#[tokio::test]
async fn empty_payloads_are_written_as_declared_and_read_either_way() {
    let (probe, mut events) = probe();
    let server = start(demo_builder(&probe)).await;
    let mut c = connect(&server).await;
    for request in [
        r#"{"type":"NUDGE","meta":{"correlationId":"n"},"payload":{}}"#,
        r#"{"type":"NUDGE","meta":{"correlationId":"n"}}"#,
        r#"{"payload":{},"type":"NUDGE","meta":{"correlationId":"n"}}"#,
    ] {
        c.send(request).await;
        assert_eq!(c.recv().await, r#"{"type":"POKED","meta":{},"payload":{}}"#);
        assert_eq!(
            c.recv().await,
            r#"{"type":"NUDGED","meta":{"correlationId":"n"},"payload":{}}"#
        );
        assert_eq!(events.next().await, "nudge");
    }
    for (frame, note) in [
        (r#"{"type":"TOUCH","payload":{}}"#, "touch"),
        (r#"{"type":"TOUCH"}"#, "touch"),
        (r#"{"type":"PING"}"#, "ping"),
        (r#"{"type":"PING","payload":{}}"#, "ping"),
    ] {
        c.send(frame).await;
        assert_eq!(events.next().await, note, "{frame}");
    }
    // Only `{}`: anything in it is an unknown key.
    c.send(r#"{"type":"TOUCH","payload":{"x":1}}"#).await;
    assert_eq!(
        c.recv().await,
        r#"{"type":"ERROR","meta":{},"payload":{"code":"INVALID_ARGUMENT","message":"Validation failed: payload.x: unknown key","details":{"issues":[{"path":"payload.x","message":"unknown key"}],"type":"TOUCH"}}}"#
    );
}
