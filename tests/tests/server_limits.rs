//! Limits: slow consumers, the connection limit, the upgrade timeout.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wskit::server::{ErrorCause, SlowConsumerPolicy};
use wskit_tests::*;

#[tokio::test]
async fn slow_consumer_is_closed_by_default_policy() {
    let (probe, mut events) = probe();
    let builder = demo_builder(&probe).outbound_queue(4, SlowConsumerPolicy::Close);
    let server = start(builder).await;
    let mut c = connect(&server).await;
    // The handler queues 100 frames at once: more than the queue holds.
    c.send(r#"{"type":"FLOOD","payload":{"count":100,"size":10}}"#)
        .await;
    assert_eq!(events.next().await, "flood:sent=4");
    let (close, texts) = c.recv_close().await;
    assert_eq!(close, Some((1008, "slow consumer".to_owned())));
    assert!(texts.len() <= 4);
}

#[tokio::test]
async fn slow_consumer_drop_policy_drops_and_reports() {
    let (probe, mut events) = probe();
    let dropped = Arc::new(Mutex::new(0));
    let d = dropped.clone();
    let builder = demo_builder(&probe)
        .outbound_queue(4, SlowConsumerPolicy::Drop)
        .on_error(move |e| {
            if e.cause == ErrorCause::SlowConsumer {
                *d.lock().unwrap() += 1;
            }
        });
    let server = start(builder).await;
    let mut c = connect(&server).await;
    c.send(r#"{"type":"FLOOD","payload":{"count":10,"size":10}}"#)
        .await;
    assert_eq!(events.next().await, "flood:sent=4");
    assert_eq!(*dropped.lock().unwrap(), 6);
    // The connection lives on: the 4 queued frames, then the heartbeat's ack.
    let frames = c.frames_before_ack().await;
    assert_eq!(frames.len(), 4);
    assert!(
        frames
            .iter()
            .all(|f| f == r#"{"type":"SAID","meta":{},"payload":{"text":"xxxxxxxxxx"}}"#)
    );
}

#[tokio::test]
async fn connection_limit_answers_503_at_the_upgrade() {
    let (probe, mut events) = probe();
    let p = probe.clone();
    let builder = demo_builder(&probe)
        .max_connections(2)
        .on_close(move |_c, _r| {
            let p = p.clone();
            async move { p.note("closed") }
        });
    let server = start(builder).await;
    let a = connect(&server).await;
    let _b = connect(&server).await;
    assert_eq!(
        refused(server.url("/")).await,
        (503, "Service Unavailable".to_owned())
    );
    // A slot frees up when a connection ends (before its close hooks run).
    a.close(1000).await;
    assert_eq!(events.next().await, "closed");
    let _c = connect(&server).await;
    assert_eq!(server.handle.connection_count(), 2);
    assert_eq!(refused(server.url("/")).await.0, 503);
}

#[tokio::test(start_paused = true)]
async fn upgrade_timeout_answers_408() {
    let (probe, _events) = probe();
    let server = start(demo_builder(&probe).upgrade_timeout(Duration::from_secs(3))).await;
    let mut tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap(); // never finished
    let started = tokio::time::Instant::now();
    let mut out = String::new();
    within("the answer", tcp.read_to_string(&mut out))
        .await
        .unwrap();
    assert!(out.starts_with("HTTP/1.1 408 Request Timeout\r\n"), "{out}");
    assert!(started.elapsed() >= Duration::from_secs(3));
}

#[tokio::test]
async fn a_client_that_pipelines_requests_gets_backpressure_not_a_close() {
    let (probe, _events) = probe();
    let builder = demo_builder(&probe).outbound_queue(4, SlowConsumerPolicy::Close);
    let server = start(builder).await;
    let mut c = connect(&server).await;
    // 500 requests before reading any answer: the server stops reading while its outbound queue
    // is full instead of treating the client as a slow consumer.
    for i in 0..500 {
        let req = format!(
            r#"{{"type":"GET_USER","meta":{{"correlationId":"{i}"}},"payload":{{"userId":"u1"}}}}"#
        );
        c.send(&req).await;
    }
    for i in 0..500 {
        let expected = format!(
            r#"{{"type":"USER_DATA","meta":{{"correlationId":"{i}"}},"payload":{{"name":"Ada"}}}}"#
        );
        assert_eq!(c.recv().await, expected);
    }
}
