//! PROTOCOL.md section 6: fan-out, exclude-self, meta, match counts, topic rules and limits,
//! cleanup on disconnect, publishing from outside handlers.

use wskit::server::PublishOptions;
use wskit_tests::*;

async fn join(c: &mut Client, events: &mut Events, room: &str) {
    c.send(&format!(
        r#"{{"type":"JOIN","payload":{{"room":"{room}"}}}}"#
    ))
    .await;
    assert_eq!(events.next().await, format!("joined:{room}"));
}

fn post(room: &str, text: &str, exclude_self: bool) -> String {
    format!(
        r#"{{"type":"POST","meta":{{"correlationId":"p"}},"payload":{{"room":"{room}","text":"{text}","excludeSelf":{exclude_self}}}}}"#
    )
}

#[tokio::test]
async fn publication_fans_out_to_every_subscriber_including_the_publisher() {
    let (probe, mut events) = probe();
    let server = start(demo_builder(&probe)).await;
    let (mut a, mut b, mut c) = (
        connect(&server).await,
        connect(&server).await,
        connect(&server).await,
    );
    join(&mut a, &mut events, "room:1").await;
    join(&mut b, &mut events, "room:1").await;
    join(&mut c, &mut events, "room:2").await;
    a.send(&post("room:1", "hello", false)).await;
    let frame = r#"{"type":"NEW_MESSAGE","payload":{"text":"hello"}}"#;
    // The publisher gets its own publication, then its reply with the match count.
    assert_eq!(a.recv().await, frame);
    assert_eq!(
        a.recv().await,
        r#"{"type":"POSTED","meta":{"correlationId":"p"},"payload":{"matched":2}}"#
    );
    assert_eq!(b.recv().await, frame);
    // Not subscribed to room:1: nothing.
    assert!(c.frames_before_ack().await.is_empty());
}

#[tokio::test]
async fn exclude_self_skips_the_publisher() {
    let (probe, mut events) = probe();
    let server = start(demo_builder(&probe)).await;
    let (mut a, mut b) = (connect(&server).await, connect(&server).await);
    join(&mut a, &mut events, "room:1").await;
    join(&mut b, &mut events, "room:1").await;
    a.send(&post("room:1", "quiet", true)).await;
    assert_eq!(
        a.recv().await,
        r#"{"type":"POSTED","meta":{"correlationId":"p"},"payload":{"matched":1}}"#
    );
    assert!(a.frames_before_ack().await.is_empty());
    assert_eq!(
        b.recv().await,
        r#"{"type":"NEW_MESSAGE","payload":{"text":"quiet"}}"#
    );
}

#[tokio::test]
async fn publisher_meta_is_passed_through() {
    let (probe, mut events) = probe();
    let server = start(demo_builder(&probe)).await;
    let (mut a, mut b) = (connect(&server).await, connect(&server).await);
    join(&mut b, &mut events, "news").await;
    a.send(&post("news", "meta:wire", false)).await;
    assert_eq!(a.recv_json().await["payload"]["matched"], 1);
    assert_eq!(
        b.recv().await,
        r#"{"type":"NEW_MESSAGE","meta":{"source":"wire"},"payload":{"text":"meta:wire"}}"#
    );
}

#[tokio::test]
async fn bad_topic_names_are_invalid_argument() {
    let (probe, _events) = probe();
    let server = start(demo_builder(&probe)).await;
    let mut a = connect(&server).await;
    let long = "a".repeat(129);
    for room in ["", "has space", "ünïcode", long.as_str()] {
        a.send(&format!(
            r#"{{"type":"JOIN","meta":{{"correlationId":"j"}},"payload":{{"room":"{room}"}}}}"#
        ))
        .await;
        let v = a.recv_json().await;
        assert_eq!(v["type"], "RPC_ERROR", "{room}");
        assert_eq!(v["payload"]["code"], "INVALID_ARGUMENT", "{room}");
    }
    a.send(&post("bad topic", "x", false)).await;
    assert_eq!(a.recv_json().await["payload"]["code"], "INVALID_ARGUMENT");
    // The longest allowed name and every allowed character.
    let ok = format!("{}:_./-Z9", "a".repeat(121));
    assert_eq!(ok.len(), 128);
    a.send(&format!(r#"{{"type":"JOIN","payload":{{"room":"{ok}"}}}}"#))
        .await;
    assert!(a.frames_before_ack().await.is_empty());
}

#[tokio::test]
async fn topic_limit_is_resource_exhausted() {
    let (probe, mut events) = probe();
    let server = start(demo_builder(&probe).max_topics_per_connection(2)).await;
    let mut a = connect(&server).await;
    join(&mut a, &mut events, "t1").await;
    join(&mut a, &mut events, "t2").await;
    // Joining a held topic again is fine.
    join(&mut a, &mut events, "t1").await;
    a.send(r#"{"type":"JOIN","meta":{"correlationId":"j3"},"payload":{"room":"t3"}}"#)
        .await;
    assert_eq!(
        a.recv().await,
        r#"{"type":"RPC_ERROR","meta":{"correlationId":"j3"},"payload":{"code":"RESOURCE_EXHAUSTED","message":"this connection already holds 2 topics","retryAfterMs":100}}"#
    );
    a.send(r#"{"type":"LEAVE","payload":{"room":"t2"}}"#).await;
    assert_eq!(events.next().await, "left:t2:true");
    join(&mut a, &mut events, "t3").await;
}

#[tokio::test]
async fn unsubscribe_stops_delivery() {
    let (probe, mut events) = probe();
    let server = start(demo_builder(&probe)).await;
    let (mut a, mut b) = (connect(&server).await, connect(&server).await);
    join(&mut b, &mut events, "r").await;
    b.send(r#"{"type":"LEAVE","payload":{"room":"r"}}"#).await;
    assert_eq!(events.next().await, "left:r:true");
    a.send(&post("r", "x", false)).await;
    assert_eq!(a.recv_json().await["payload"]["matched"], 0);
    assert!(b.frames_before_ack().await.is_empty());
}

#[tokio::test]
async fn subscriptions_are_removed_on_disconnect() {
    let (probe, mut events) = probe();
    let p = probe.clone();
    let builder = demo_builder(&probe).on_close(move |_c, _r| {
        let p = p.clone();
        async move { p.note("closed") }
    });
    let server = start(builder).await;
    let mut b = connect(&server).await;
    join(&mut b, &mut events, "gone").await;
    assert_eq!(server.handle.subscriber_count("gone"), 1);
    b.close(1000).await;
    assert_eq!(events.next().await, "closed");
    assert_eq!(server.handle.subscriber_count("gone"), 0);
    let mut a = connect(&server).await;
    a.send(&post("gone", "x", false)).await;
    assert_eq!(a.recv_json().await["payload"]["matched"], 0);
}

#[tokio::test]
async fn publish_from_outside_handlers_through_the_handle() {
    let (probe, mut events) = probe();
    let server = start(demo_builder(&probe)).await;
    let (mut a, mut b) = (connect(&server).await, connect(&server).await);
    join(&mut a, &mut events, "alerts").await;
    join(&mut b, &mut events, "alerts").await;
    let matched = server
        .handle
        .publish(
            "alerts",
            &NewMessage {
                text: "from outside".into(),
            },
            PublishOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(matched.exact(), Some(2));
    let frame = r#"{"type":"NEW_MESSAGE","payload":{"text":"from outside"}}"#;
    assert_eq!(a.recv().await, frame);
    assert_eq!(b.recv().await, frame);
    assert!(
        server
            .handle
            .publish(
                "bad topic",
                &NewMessage { text: "x".into() },
                PublishOptions::default()
            )
            .await
            .is_err()
    );
}
