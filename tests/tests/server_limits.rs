//! Limits: slow consumers, the connection limit, the upgrade timeout.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wskit::server::{ErrorCause, Limits, PublishOptions, SlowConsumerPolicy};
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

#[tokio::test]
async fn the_outbound_queue_has_a_byte_budget() {
    let (probe, mut events) = probe();
    // Room for 1024 frames but only 64 KiB.
    let builder = demo_builder(&probe).outbound_queue_bytes(64 * 1024);
    let server = start(builder).await;
    let mut c = connect(&server).await;
    // 100 frames of ~10 KB queued at once: 6 fit in 64 KiB.
    c.send(r#"{"type":"FLOOD","payload":{"count":100,"size":10000}}"#)
        .await;
    assert_eq!(events.next().await, "flood:sent=6");
    let (close, texts) = c.recv_close().await;
    assert_eq!(close, Some((1008, "slow consumer".to_owned())));
    assert!(texts.len() <= 6);
}

#[tokio::test]
async fn a_frame_bigger_than_the_inbound_limit_and_64_kib_goes_out() {
    let (probe, mut events) = probe();
    let server = start(demo_builder(&probe).max_frame_bytes(1024)).await;
    let mut c = connect(&server).await;
    c.send(r#"{"type":"FLOOD","payload":{"count":1,"size":200000}}"#)
        .await;
    assert_eq!(events.next().await, "flood:sent=1");
    let said = c.recv_json().await;
    assert_eq!(said["type"], "SAID");
    assert_eq!(said["payload"]["text"].as_str().unwrap().len(), 200_000);
    // The connection lives on.
    assert!(c.frames_before_ack().await.is_empty());
}

#[tokio::test]
async fn a_slow_subscriber_is_closed_by_a_publication_fan_out() {
    let (probe, mut events) = probe();
    let reported = Arc::new(Mutex::new(0));
    let r = reported.clone();
    let builder = demo_builder(&probe)
        .outbound_queue(4, SlowConsumerPolicy::Close)
        .on_error(move |e| {
            if e.cause == ErrorCause::SlowConsumer {
                *r.lock().unwrap() += 1;
            }
        });
    let server = start(builder).await;
    let mut slow = connect(&server).await;
    slow.send(r#"{"type":"JOIN","payload":{"room":"news"}}"#)
        .await;
    assert_eq!(events.next().await, "joined:news");
    // 64 publications of 256 KiB without a yield in between, to a subscriber that does not
    // read: the first go straight to its socket until the kernel's buffers are full (one of
    // them in part), then 4 are queued, and the next overflows the queue.
    const COUNT: usize = 64;
    let padding = "x".repeat(256 * 1024);
    for i in 0..COUNT {
        let msg = NewMessage {
            text: format!("n{i}:{padding}"),
        };
        server
            .handle
            .publish("news", &msg, PublishOptions::default())
            .await
            .unwrap();
    }
    assert_eq!(*reported.lock().unwrap(), 1);
    let (close, texts) = slow.recv_close().await;
    assert_eq!(close, Some((1008, "slow consumer".to_owned())));
    // Whole frames, in order, and not all of them: the queued ones were dropped at the close.
    assert!(texts.len() < COUNT, "{} of {COUNT} delivered", texts.len());
    // More than the queue holds: the first ones went straight to the socket.
    assert!(texts.len() > 4, "{} delivered", texts.len());
    for (i, text) in texts.iter().enumerate() {
        let msg: serde_json::Value = serde_json::from_str(text).expect("a whole frame");
        let text = msg["payload"]["text"].as_str().unwrap();
        assert!(
            text.starts_with(&format!("n{i}:")),
            "frame {i} out of order"
        );
        assert_eq!(text.len(), format!("n{i}:").len() + padding.len());
    }
}

#[tokio::test]
async fn a_client_that_stops_reading_is_closed_after_the_write_timeout() {
    let (probe, mut events) = probe();
    let p = probe.clone();
    let timeouts = Arc::new(Mutex::new(0));
    let t = timeouts.clone();
    let limits = Limits {
        // Neither queue limit stops the flood: only the socket does.
        outbound_queue: 100_000,
        outbound_queue_bytes: 1 << 30,
        write_timeout: Duration::from_millis(300),
        close_timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let builder = demo_builder(&probe)
        .limits(limits)
        .heartbeat(None)
        .on_error(move |e| {
            if e.cause == ErrorCause::SlowConsumer {
                *t.lock().unwrap() += 1;
            }
        })
        .on_close(move |_c, r| {
            let p = p.clone();
            async move { p.note(format!("closed:{}", r.code)) }
        });
    let server = start(builder).await;
    let mut c = connect(&server).await;
    // 64 MB that the client never reads: far more than the socket buffers hold.
    c.send(r#"{"type":"FLOOD","payload":{"count":64,"size":1000000}}"#)
        .await;
    assert_eq!(events.next().await, "flood:sent=64");
    assert_eq!(events.next().await, "closed:1008");
    assert_eq!(*timeouts.lock().unwrap(), 1);
    assert_eq!(server.handle.connection_count(), 0);
}

/// Sockets that never finish their upgrade request (slowloris, or idle sockets by the
/// thousand) count against `max_pending_upgrades`, not `max_connections`, so they cannot take
/// the slots of real clients; and when their places are all taken, a new socket pushes out the
/// oldest (answered 503), so they cannot keep new clients out either.
#[tokio::test]
async fn sockets_still_upgrading_neither_take_slots_nor_keep_new_clients_out() {
    let (probe, _events) = probe();
    let server = start(
        demo_builder(&probe)
            .max_connections(1)
            .max_pending_upgrades(2),
    )
    .await;
    async fn stall(server: &TestServer) -> tokio::net::TcpStream {
        let mut tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        tcp.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        tcp
    }
    async fn answer(tcp: &mut tokio::net::TcpStream) -> String {
        let mut out = String::new();
        within("the answer", tcp.read_to_string(&mut out))
            .await
            .unwrap();
        out
    }
    let mut first = stall(&server).await;
    let _second = stall(&server).await;
    let _third = stall(&server).await;
    // The third pushed the first out.
    assert!(
        answer(&mut first)
            .await
            .starts_with("HTTP/1.1 503 Service Unavailable\r\n")
    );
    // A real client gets in (pushing out the second) and takes the one connection slot.
    let mut c = connect(&server).await;
    assert!(c.frames_before_ack().await.is_empty());
    // The slot is the limit for upgraded connections.
    assert_eq!(refused(server.url("/")).await.0, 503);
}

#[tokio::test]
async fn a_policy_close_1008_still_sends_the_frames_queued_before_it() {
    let (probe, mut events) = probe();
    let server = start(demo_builder(&probe)).await;
    let mut c = connect(&server).await;
    c.send(r#"{"type":"SAY","payload":{"text":"kick"}}"#).await;
    assert_eq!(events.next().await, "say:kick");
    let (close, texts) = c.recv_close().await;
    assert_eq!(close, Some((1008, "revoked".to_owned())));
    assert_eq!(
        texts,
        [r#"{"type":"SAID","meta":{},"payload":{"text":"kick"}}"#]
    );
}
