//! Hostile clients (issue 13): a ping flood that never reads, messages that never complete,
//! frames that cost much to refuse, and a connection over its inbound budget. Each is stopped
//! while another connection is still served.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use wskit::server::{ErrorCause, ErrorEvent};
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

/// A client that sends RFC 6455 pings and never reads: the pongs the server owes it count
/// against its outbound budget, so the server stops reading it once that is half full, and
/// closes it (1008, slow consumer) when the pongs are not written within the write timeout.
/// Before, the pongs piled up in tungstenite's write buffer without bound while every ping was
/// read. 131 MB of pings: more than the socket buffers hold (Linux caps a receive buffer at
/// `tcp_rmem`'s maximum, 32 MiB here, and a send buffer at `tcp_wmem`'s, 4 MiB), so the flood
/// can only all go out if the server reads it all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ping_flood_that_never_reads_is_stopped_and_closed() {
    const PINGS: usize = 1_000_000;
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
