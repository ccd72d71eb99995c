//! Hostile clients (issue 13): a ping flood that never reads, messages that never complete,
//! frames that cost much to refuse, and a connection over its inbound budget. Each is stopped
//! while another connection is still served.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use wskit::server::{ErrorCause, ErrorEvent, InboundBudget};
use wskit_tests::*;

/// A masked client frame (RFC 6455 5.2): `fin`, `opcode`, this payload.
fn frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let key = [0x37u8, 0xfa, 0x21, 0x3d];
    let mut out = vec![(u8::from(fin) << 7) | opcode];
    match payload.len() {
        n if n < 126 => out.push(0x80 | n as u8),
        n if n <= 0xffff => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&key);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    out
}

/// `socket`, connected and upgraded by hand (no WebSocket library: it sends exactly what the
/// test writes).
async fn raw_upgrade(server: &TestServer, socket: TcpSocket) -> TcpStream {
    let mut tcp = within("connect", socket.connect(server.addr))
        .await
        .unwrap();
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        server.addr
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    // The response, byte by byte, so that nothing after it is read.
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut b = [0u8; 1];
        within("the upgrade response", tcp.read_exact(&mut b))
            .await
            .unwrap();
        head.push(b[0]);
    }
    let head = String::from_utf8(head).unwrap();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    tcp
}

/// The error hook's events, kept for the test.
fn recorder() -> (
    Arc<Mutex<Vec<ErrorEvent>>>,
    impl Fn(&ErrorEvent) + Send + Sync + 'static,
) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    (seen, move |e: &ErrorEvent| {
        s.lock().unwrap().push(e.clone())
    })
}

/// An RPC on a connection of its own is answered.
async fn another_connection_is_served(server: &TestServer) {
    let mut c = connect(server).await;
    c.send(r#"{"type":"WHO_AM_I","meta":{"correlationId":"w"}}"#)
        .await;
    let reply = c.recv_json().await;
    assert_eq!(reply["type"], "ME", "{reply}");
}

/// A client that sends RFC 6455 pings without end and never reads: the pongs the server owes
/// it are bounded (a pong not written yet is replaced by the next one, and what is owed counts
/// against the outbound budget), and once the socket stops taking them the server closes the
/// connection (1008, slow consumer) within the write timeout. Before, the pongs piled up in
/// tungstenite's write buffer without bound while every ping was read. The flood is capped at
/// 40M pings (5 GB), far more than the socket buffers hold (Linux caps a receive buffer at
/// `tcp_rmem`'s maximum, 32 MiB here, and a send buffer at `tcp_wmem`'s, 4 MiB): it can only all
/// go out if the server reads it all and never closes. (A cap of 1M pings was read whole, before
/// the close, by a server that reads frames quickly: the close is what is checked.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ping_flood_that_never_reads_is_stopped_and_closed() {
    const PINGS: usize = 40_000_000;
    const PER_WRITE: usize = 1000;
    let (probe, _events) = probe();
    let (seen, hook) = recorder();
    let builder = demo_builder(&probe)
        .heartbeat(None)
        .outbound_queue_bytes(64 * 1024)
        .write_timeout(Duration::from_secs(1))
        .on_error(hook);
    let server = start(builder).await;
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.set_send_buffer_size(4096).unwrap();
    let mut flooder = raw_upgrade(&server, socket).await;
    let flood = tokio::spawn(async move {
        let ping = frame(true, 0x9, &[b'p'; 125]);
        let batch: Vec<u8> = ping.repeat(PER_WRITE);
        let mut sent = 0;
        while sent < PINGS {
            if let Err(e) = flooder.write_all(&batch).await {
                return (sent, Some(e));
            }
            sent += PER_WRITE;
        }
        (sent, None)
    });
    another_connection_is_served(&server).await;
    let (sent, error) = tokio::time::timeout(Duration::from_secs(60), flood)
        .await
        .expect("the flood ended: the server closed the connection")
        .unwrap();
    let causes: Vec<ErrorCause> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|e| e.cause.clone())
        .collect();
    assert!(
        error.is_some() && sent < PINGS,
        "the server read every ping ({sent} sent) and kept the connection; errors: {causes:?}"
    );
    assert!(
        causes.contains(&ErrorCause::SlowConsumer),
        "closed as a slow consumer: {causes:?}"
    );
    another_connection_is_served(&server).await;
}

/// Reads server frames from a raw socket until a close frame: its code and reason. Pongs and
/// other frames before it are skipped.
async fn raw_close(tcp: &mut (impl AsyncRead + Unpin)) -> (u16, String) {
    loop {
        let mut head = [0u8; 2];
        within("a frame", tcp.read_exact(&mut head)).await.unwrap();
        let len = match head[1] & 0x7f {
            126 => {
                let mut b = [0u8; 2];
                tcp.read_exact(&mut b).await.unwrap();
                u16::from_be_bytes(b) as usize
            }
            127 => {
                let mut b = [0u8; 8];
                tcp.read_exact(&mut b).await.unwrap();
                u64::from_be_bytes(b) as usize
            }
            n => n as usize,
        };
        let mut payload = vec![0u8; len];
        tcp.read_exact(&mut payload).await.unwrap();
        if head[0] & 0x0f == 0x8 {
            let code = u16::from_be_bytes([payload[0], payload[1]]);
            return (code, String::from_utf8(payload[2..].to_vec()).unwrap());
        }
    }
}

/// Reads server frames from a raw socket until a text frame, which it returns.
async fn raw_text(tcp: &mut TcpStream) -> String {
    loop {
        let mut head = [0u8; 2];
        within("a frame", tcp.read_exact(&mut head)).await.unwrap();
        let len = match head[1] & 0x7f {
            126 => {
                let mut b = [0u8; 2];
                tcp.read_exact(&mut b).await.unwrap();
                u16::from_be_bytes(b) as usize
            }
            n => n as usize,
        };
        let mut payload = vec![0u8; len];
        tcp.read_exact(&mut payload).await.unwrap();
        match head[0] & 0x0f {
            0x1 => return String::from_utf8(payload).unwrap(),
            0x8 => panic!("closed: {payload:?}"),
            _ => continue,
        }
    }
}

/// A `WHO_AM_I` request padded (with a top-level key, which the server ignores) to `len` bytes.
fn padded_request(id: &str, len: usize) -> Vec<u8> {
    let head = format!(r#"{{"type":"WHO_AM_I","meta":{{"correlationId":"{id}"}},"pad":""#);
    let mut text = head.into_bytes();
    text.resize(len - 2, b'x');
    text.extend_from_slice(b"\"}");
    text
}

/// Pings every 200 ms (a busy client) until the server closes; its close code and reason.
async fn close_while_pinging(tcp: TcpStream) -> (u16, String) {
    let (mut read, mut write) = tcp.into_split();
    let pinger = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if write.write_all(&frame(true, 0x9, b"busy")).await.is_err() {
                return;
            }
        }
    });
    let close = within("the close", raw_close(&mut read)).await;
    pinger.abort();
    close
}

/// A message whose last fragment never comes is closed (1008) after the message timeout, even
/// while its client keeps the connection busy with pings. Fragmented messages that do complete
/// are answered as any other.
#[tokio::test]
async fn a_message_that_never_completes_is_closed_after_the_message_timeout() {
    let (probe, _events) = probe();
    let (seen, hook) = recorder();
    let builder = demo_builder(&probe)
        .heartbeat(None)
        .message_timeout(Duration::from_millis(1500))
        .on_error(hook);
    let server = start(builder).await;
    let mut tcp = raw_upgrade(&server, TcpSocket::new_v4().unwrap()).await;
    let started = std::time::Instant::now();

    // A message in three fragments, a ping between two of them: answered.
    let text = padded_request("frag", 300);
    let mut bytes = frame(false, 0x1, &text[..100]);
    bytes.extend(frame(false, 0x0, &text[100..200]));
    bytes.extend(frame(true, 0x9, b"hi"));
    bytes.extend(frame(true, 0x0, &text[200..]));
    tcp.write_all(&bytes).await.unwrap();
    let reply = raw_text(&mut tcp).await;
    assert!(
        reply.starts_with(r#"{"type":"ME","meta":{"correlationId":"frag"}"#),
        "{reply}"
    );

    // Its first fragment only, then pings every 200 ms: busy, but the message never ends.
    tcp.write_all(&frame(false, 0x1, &text[..100]))
        .await
        .unwrap();
    let close = close_while_pinging(tcp).await;
    assert_eq!(close, (1008, "message not completed in time".to_owned()));
    assert!(started.elapsed() >= Duration::from_millis(1500));
    let causes: Vec<ErrorCause> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|e| e.cause.clone())
        .collect();
    assert_eq!(causes, [ErrorCause::IncompleteMessage]);
    another_connection_is_served(&server).await;
}

/// A message may hold many bytes only while they keep coming: one that holds more than the
/// stall limit and receives none for the stall timeout is closed (1008 "message stalled"), long
/// before its message timeout, even while its client answers with pings. A big message whose
/// fragments keep arriving for longer than the stall timeout, and a small one that waits, are
/// both answered.
#[tokio::test]
async fn a_big_message_that_stalls_is_closed_while_one_that_progresses_is_answered() {
    let (probe, _events) = probe();
    let (seen, hook) = recorder();
    let stall = Duration::from_millis(600);
    let builder = demo_builder(&probe)
        .heartbeat(None)
        .message_timeout(Duration::from_secs(20))
        .stalled_message(16 * 1024, stall)
        .on_error(hook);
    let server = start(builder).await;
    let text = padded_request("slow", 100_000);

    // 100 kB in 25 fragments, one every 100 ms: 2.5 s, four stall timeouts, but never still.
    let mut a = raw_upgrade(&server, TcpSocket::new_v4().unwrap()).await;
    for (i, chunk) in text.chunks(text.len().div_ceil(25)).enumerate() {
        let last = (i + 1) * text.len().div_ceil(25) >= text.len();
        let opcode = if i == 0 { 0x1 } else { 0x0 };
        a.write_all(&frame(last, opcode, chunk)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let reply = raw_text(&mut a).await;
    assert!(
        reply.starts_with(r#"{"type":"ME","meta":{"correlationId":"slow"}"#),
        "{reply}"
    );

    // 10 kB (under the stall limit) that waits 1.5 s before its last fragment: answered.
    let small = padded_request("small", 12_000);
    let mut b = raw_upgrade(&server, TcpSocket::new_v4().unwrap()).await;
    b.write_all(&frame(false, 0x1, &small[..10_000]))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    b.write_all(&frame(true, 0x0, &small[10_000..]))
        .await
        .unwrap();
    let reply = raw_text(&mut b).await;
    assert!(
        reply.starts_with(r#"{"type":"ME","meta":{"correlationId":"small"}"#),
        "{reply}"
    );
    assert!(seen.lock().unwrap().is_empty());

    // 40 kB, then only pings: closed after the stall timeout, not the 20 s message timeout.
    let mut c = raw_upgrade(&server, TcpSocket::new_v4().unwrap()).await;
    c.write_all(&frame(false, 0x1, &text[..40_000]))
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let close = close_while_pinging(c).await;
    assert_eq!(close, (1008, "message stalled".to_owned()));
    let waited = started.elapsed();
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    let causes: Vec<ErrorCause> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|e| e.cause.clone())
        .collect();
    assert_eq!(causes, [ErrorCause::IncompleteMessage]);
    another_connection_is_served(&server).await;
}

/// The bytes held in incomplete messages are bounded across the server: the connection whose
/// bytes go over the budget is closed (1008); the others complete their messages, and once
/// they have, the budget is free again.
#[tokio::test]
async fn incomplete_messages_have_a_server_wide_budget() {
    let (probe, _events) = probe();
    let (seen, hook) = recorder();
    let builder = demo_builder(&probe)
        .heartbeat(None)
        .max_partial_message_bytes(100_000)
        .on_error(hook);
    let server = start(builder).await;
    let text = padded_request("big", 80_000);

    // A: 60 kB of a message, held (a ping answered after it shows the server read it all).
    let mut a = raw_upgrade(&server, TcpSocket::new_v4().unwrap()).await;
    let mut bytes = frame(false, 0x1, &text[..60_000]);
    bytes.extend(frame(true, 0x9, b"a"));
    a.write_all(&bytes).await.unwrap();
    raw_pong(&mut a).await;

    // B: 60 kB more would hold 120 kB: B is closed.
    let mut b = raw_upgrade(&server, TcpSocket::new_v4().unwrap()).await;
    b.write_all(&frame(false, 0x1, &text[..60_000]))
        .await
        .unwrap();
    assert_eq!(
        raw_close(&mut b).await,
        (1008, "partial messages over budget".to_owned())
    );
    let causes: Vec<ErrorCause> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|e| e.cause.clone())
        .collect();
    assert_eq!(causes, [ErrorCause::PartialMessageBudget]);

    // A completes its message and is answered.
    a.write_all(&frame(true, 0x0, &text[60_000..]))
        .await
        .unwrap();
    let reply = raw_text(&mut a).await;
    assert!(
        reply.starts_with(r#"{"type":"ME","meta":{"correlationId":"big"}"#),
        "{reply}"
    );

    // With A's message done (and B gone), 80 kB in two fragments fit again.
    let mut c = raw_upgrade(&server, TcpSocket::new_v4().unwrap()).await;
    c.write_all(&frame(false, 0x1, &text[..60_000]))
        .await
        .unwrap();
    c.write_all(&frame(true, 0x0, &text[60_000..]))
        .await
        .unwrap();
    let reply = raw_text(&mut c).await;
    assert!(reply.starts_with(r#"{"type":"ME""#), "{reply}");
    assert_eq!(seen.lock().unwrap().len(), 1);
}

/// Reads server frames from a raw socket until a pong.
async fn raw_pong(tcp: &mut TcpStream) {
    loop {
        let mut head = [0u8; 2];
        within("a frame", tcp.read_exact(&mut head)).await.unwrap();
        let mut payload = vec![0u8; usize::from(head[1] & 0x7f)];
        tcp.read_exact(&mut payload).await.unwrap();
        match head[0] & 0x0f {
            0xa => return,
            0x8 => panic!("closed: {payload:?}"),
            _ => continue,
        }
    }
}

/// A frame whose meta holds 100 000 keys is refused with one issue, read no further than the
/// cap: the answer names the cap, not 20 of the keys.
#[tokio::test]
async fn a_frame_with_100k_meta_keys_is_refused_at_the_cap() {
    let (probe, _events) = probe();
    let server = start(demo_builder(&probe).max_frame_bytes(4 * 1024 * 1024)).await;
    let mut c = connect(&server).await;
    let keys: Vec<String> = (0..100_000).map(|i| format!(r#""k{i}":0"#)).collect();
    let frame = format!(
        r#"{{"type":"WHO_AM_I","meta":{{"correlationId":"m",{}}}}}"#,
        keys.join(",")
    );
    assert!(frame.len() > 1_000_000);
    c.send(&frame).await;
    let reply = c.recv().await;
    let expected = r#"{"type":"RPC_ERROR","meta":{"correlationId":"m"},"payload":{"code":"INVALID_ARGUMENT","message":"Validation failed: meta: more than 256 values","details":{"issues":[{"path":"meta","message":"more than 256 values"}]}}}"#;
    assert_eq!(reply, expected);
    // Deeper than the cap: refused the same way.
    let deep = format!(
        r#"{{"type":"WHO_AM_I","meta":{{"correlationId":"d","x":{}0{}}}}}"#,
        "[".repeat(16),
        "]".repeat(16)
    );
    c.send(&deep).await;
    let reply = c.recv_json().await;
    assert_eq!(
        reply["payload"]["details"]["issues"][0]["message"], "nested deeper than 16 levels",
        "{reply}"
    );
    // The connection lives on.
    c.send(r#"{"type":"WHO_AM_I","meta":{"correlationId":"ok"}}"#)
        .await;
    assert_eq!(c.recv_json().await["type"], "ME");
}

/// A connection over its inbound budget is not read until the budget refills: every frame
/// counts, invalid ones and heartbeats included (they bypass any middleware), and none is
/// dropped, while another connection is served at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_over_its_inbound_budget_is_throttled() {
    const FRAMES: usize = 30;
    let (probe, _events) = probe();
    let builder = demo_builder(&probe)
        .heartbeat(None)
        .inbound_budget(InboundBudget::new(10, 1024 * 1024));
    let server = start(builder).await;
    let mut c = connect(&server).await;
    let sent = c.send_unrouted_burst(FRAMES).await;
    // In the first 600 ms, at most the burst (10) and 6 more frames are read and answered.
    let mut answered = c.answers_until(sent + Duration::from_millis(600)).await;
    assert!(
        answered <= 16,
        "{answered} of {FRAMES} frames answered within 600 ms at 10 a second"
    );
    // Meanwhile another connection is answered.
    another_connection_is_served(&server).await;
    // Every frame is answered in the end.
    while answered < FRAMES {
        c.recv().await;
        answered += 1;
    }
    // 20 frames past the burst take 2 s at 10 a second.
    assert!(sent.elapsed() >= Duration::from_millis(1900));
}

/// The bytes the socket has not taken count with the queue for frames pushed from elsewhere
/// too: a publication to a client that pings and never reads (so the server owes it more than
/// half its byte budget in pongs, and stopped reading it) meets the slow-consumer policy at
/// once, not only at the write timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publication_counts_the_pongs_the_socket_has_not_taken() {
    let (probe, mut events) = probe();
    let (seen, hook) = recorder();
    let builder = demo_builder(&probe)
        .heartbeat(None)
        .outbound_queue_bytes(64 * 1024)
        .write_timeout(Duration::from_secs(120))
        .on_error(hook);
    let server = start(builder).await;
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.set_send_buffer_size(4096).unwrap();
    let mut flooder = raw_upgrade(&server, socket).await;
    let join = frame(true, 0x1, br#"{"type":"JOIN","payload":{"room":"r"}}"#);
    flooder.write_all(&join).await.unwrap();
    assert_eq!(events.next().await, "joined:r");
    // Pings until the server stops reading them (a write that does not finish in a second).
    let batch = frame(true, 0x9, &[b'p'; 125]).repeat(100);
    let mut written = 0usize;
    loop {
        match tokio::time::timeout(Duration::from_secs(1), flooder.write_all(&batch)).await {
            Ok(result) => result.unwrap(),
            Err(_) => break,
        }
        written += batch.len();
        assert!(written < 200_000_000, "the server kept reading the pings");
    }
    assert!(seen.lock().unwrap().is_empty());
    // 40 kB to the room: with the pongs owed, over the 64 KiB budget.
    let mut other = connect(&server).await;
    let post = format!(
        r#"{{"type":"POST","meta":{{"correlationId":"p"}},"payload":{{"room":"r","text":"{}","excludeSelf":true}}}}"#,
        "x".repeat(40_000)
    );
    other.send(&post).await;
    let reply = other.recv_json().await;
    assert_eq!(reply["type"], "POSTED", "{reply}");
    within("the slow-consumer report", async {
        while !seen
            .lock()
            .unwrap()
            .iter()
            .any(|e| e.cause == ErrorCause::SlowConsumer)
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    drop(flooder);
}
