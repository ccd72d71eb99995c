//! Heartbeats: `__heartbeat` is always acknowledged; RFC 6455 pings close a silent connection.

use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use wskit::server::{Heartbeat, Server};
use wskit_tests::*;

fn with_close_probe(probe: &Probe, hb: Option<Heartbeat>) -> wskit::server::ServerBuilder<String> {
    let p = probe.clone();
    demo_builder(probe)
        .heartbeat(hb)
        .on_close(move |_c, reason| {
            let p = p.clone();
            async move { p.note(format!("close:{reason}")) }
        })
}

#[tokio::test(start_paused = true)]
async fn ping_timeout_closes_a_silent_client_and_runs_its_close_hook() {
    let (probe, mut events) = probe();
    let hb = Heartbeat {
        interval: Duration::from_secs(30),
        timeout: Duration::from_secs(5),
    };
    let server = start(with_close_probe(&probe, Some(hb))).await;
    // This client never reads, so it never answers the ping.
    let mut silent = connect(&server).await;
    let started = tokio::time::Instant::now();
    assert_eq!(
        events.next_within(Duration::from_secs(120)).await,
        "close:1001 ping timeout"
    );
    // Ping at 30 s, timeout at 35 s, then the close handshake grace (2 s) as the client is silent.
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_secs(35),
        "closed after {elapsed:?}"
    );
    // What the silent client was sent: a ping, then the close frame.
    match silent.ws.next().await {
        Some(Ok(Message::Ping(_))) => {}
        other => panic!("expected a ping, got {other:?}"),
    }
    match silent.ws.next().await {
        Some(Ok(Message::Close(Some(f)))) => assert_eq!(
            (u16::from(f.code), f.reason.as_str()),
            (1001, "ping timeout")
        ),
        other => panic!("expected the close frame, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_client_that_answers_pings_stays_connected() {
    let (probe, mut events) = probe();
    let hb = Heartbeat {
        interval: Duration::from_secs(1),
        timeout: Duration::from_millis(500),
    };
    let server = start(with_close_probe(&probe, Some(hb))).await;
    let mut c = connect(&server).await;
    // Reading answers pings (tokio-tungstenite replies with a pong); ten intervals pass.
    let mut pings = 0;
    while pings < 10 {
        match within("a ping", c.ws.next()).await {
            Some(Ok(Message::Ping(_))) => pings += 1,
            other => panic!("expected a ping, got {other:?}"),
        }
    }
    c.send(r#"{"type":"GET_USER","meta":{"correlationId":"a"},"payload":{"userId":"u1"}}"#)
        .await;
    assert_eq!(c.recv_json().await["type"], "USER_DATA");
    assert!(events.drain().is_empty(), "no close");
}

#[tokio::test]
async fn client_heartbeat_is_acknowledged_even_without_server_pings() {
    let (probe, _events) = probe();
    let server = start(with_close_probe(&probe, None)).await;
    let mut c = connect(&server).await;
    c.send(r#"{"type":"__heartbeat"}"#).await;
    let ack = c.recv_json().await;
    assert_eq!(ack["type"], "__heartbeat_ack");
    assert!(ack["meta"]["ts"].as_u64().unwrap() > 1_700_000_000_000);
    assert!(ack.get("payload").is_none());
}

#[tokio::test(start_paused = true)]
async fn pings_go_out_on_time_while_the_client_keeps_sending() {
    let (probe, _events) = probe();
    let hb = Heartbeat {
        interval: Duration::from_secs(10),
        timeout: Duration::from_secs(5),
    };
    let server = start(with_close_probe(&probe, Some(hb))).await;
    let mut c = connect(&server).await;
    // 25 s of frames, one every 100 ms, each waking the connection's task; the client reads
    // nothing meanwhile. Each frame is a sign of life, so the ping after a ping's frame comes one
    // interval later: pings at about 10 s and 20 s.
    for _ in 0..250 {
        c.send(r#"{"type":"__heartbeat"}"#).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (mut acks, mut pings) = (0, 0);
    while acks < 250 {
        match within("a frame", c.ws.next()).await {
            Some(Ok(Message::Ping(_))) => pings += 1,
            Some(Ok(Message::Text(t))) if t.contains("__heartbeat_ack") => acks += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(pings, 2);
}

/// Found in review: a connection whose first frames came with its upgrade request used up the
/// task's cooperative budget before the heartbeat timer's first poll, which then registered
/// nothing; the timer counted as registered and no ping ever went out.
#[tokio::test(start_paused = true)]
async fn pings_go_out_after_a_burst_sent_with_the_upgrade() {
    let hb = Heartbeat {
        interval: Duration::from_secs(10),
        timeout: Duration::from_secs(5),
    };
    let server = start(Server::<()>::builder().heartbeat(Some(hb))).await;
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    let mut out = b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        .to_vec();
    // 400 masked empty pongs, pipelined after the request.
    for _ in 0..400 {
        out.extend_from_slice(&[0x8a, 0x80, 1, 2, 3, 4]);
    }
    tcp.write_all(&out).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    let end = tokio::time::Instant::now() + Duration::from_secs(60);
    while let Ok(Ok(n)) = tokio::time::timeout_at(end, tcp.read(&mut buf)).await {
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
        if got.windows(2).any(|w| w == [0x89, 0x00]) {
            break;
        }
    }
    let head_end = got
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response")
        + 4;
    assert!(got.starts_with(b"HTTP/1.1 101"));
    assert_eq!(
        &got[head_end..],
        &[0x89, 0x00],
        "a ping within 60 s (interval 10 s)"
    );
}
