//! Regression tests for closes that race the connection loop and direct writes: a close from
//! another thread at the worst moment, a publication or an answer that passed its closing check
//! just before the close.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;

use crate::pubsub::ClientId;
use crate::server::io::ws::WsStream;
use crate::server::{Connection, ErrorCause, Server};

type Slot = Arc<Mutex<Option<Connection<()>>>>;

/// A stream that, once armed, calls `close()` on the connection the first time a read finds
/// nothing: as if another thread closed it at that instant (after the task's `is_closing()`
/// check at the top of `poll_event`, before it registers its waker with the queue).
struct Hook {
    inner: DuplexStream,
    armed: Arc<AtomicBool>,
    conn: Slot,
}

impl AsyncRead for Hook {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if r.is_pending()
            && self.armed.swap(false, Ordering::SeqCst)
            && let Some(c) = self.conn.lock().unwrap().as_ref()
        {
            c.close(1000, "bye");
        }
        r
    }
}

impl AsyncWrite for Hook {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

fn server(
    slot: &Slot,
    errors: &Arc<Mutex<Vec<String>>>,
    closed: &Arc<Mutex<Option<Instant>>>,
) -> Server<()> {
    let s2 = slot.clone();
    let e2 = errors.clone();
    let c2 = closed.clone();
    Server::<()>::builder()
        .heartbeat(None)
        .on_open(move |c| {
            *s2.lock().unwrap() = Some(c);
            async { Ok(()) }
        })
        .on_error(move |ev| {
            if let ErrorCause::Transport(t) = &ev.cause {
                e2.lock().unwrap().push(t.clone());
            }
        })
        .on_close(move |_c, _r| {
            *c2.lock().unwrap() = Some(Instant::now());
            async {}
        })
        .build()
        .unwrap()
}

async fn read_for(s: &mut (impl AsyncRead + Unpin), d: Duration) -> Vec<u8> {
    let mut out = Vec::new();
    let end = tokio::time::Instant::now() + d;
    let mut buf = [0u8; 256];
    while let Ok(Ok(n)) = tokio::time::timeout_at(end, s.read(&mut buf)).await {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    out
}

/// A `close()` between the loop's first `is_closing()` check and the queue registration of its
/// write pass (which then finds no waker to wake) still sends the close frame.
#[tokio::test]
async fn a_close_between_the_check_and_the_registration_is_seen() {
    let slot: Slot = Default::default();
    let errors = Default::default();
    let closed = Default::default();
    let server = server(&slot, &errors, &closed);
    let shared = server.shared.clone();
    let (a, mut client) = tokio::io::duplex(64 * 1024);
    let armed = Arc::new(AtomicBool::new(false));
    let io = Hook {
        inner: a,
        armed: armed.clone(),
        conn: slot.clone(),
    };
    let ws = WsStream::new(io, Vec::new(), shared.rt.ws_config.clone());
    let cslot = shared.rt.reserve().unwrap();
    let _task = tokio::spawn(crate::server::session::run(
        shared.clone(),
        ws,
        None,
        ClientId::new(),
        (),
        cslot,
    ));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(slot.lock().unwrap().is_some());
    armed.store(true, Ordering::SeqCst);
    // A masked empty ping, then the first byte of another frame: the task reads the ping
    // (event; the loop unregisters its queue waker), comes back, the read of the next frame
    // finds nothing -> close() runs right then.
    client
        .write_all(&[0x89, 0x80, 1, 2, 3, 4, 0x81])
        .await
        .unwrap();
    let got = read_for(&mut client, Duration::from_secs(1)).await;
    eprintln!(
        "server wrote {got:02x?}; armed left = {}",
        armed.load(Ordering::SeqCst)
    );
    assert!(!armed.load(Ordering::SeqCst), "hook fired");
    assert!(
        slot.lock().unwrap().as_ref().unwrap().is_closed(),
        "close() was called"
    );
    assert!(
        got.contains(&0x88),
        "no close frame within 1s of close(): {got:02x?}"
    );
}

async fn tcp_conn(slot: &Slot, server: &Server<()>) -> TcpStream {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shared = server.shared.clone();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        crate::server::upgrade::serve_tcp(shared, tcp).await;
    });
    let mut c = TcpStream::connect(addr).await.unwrap();
    c.write_all(
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .await
    .unwrap();
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        c.read_exact(&mut b).await.unwrap();
        head.push(b[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    for _ in 0..100 {
        if slot.lock().unwrap().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    c
}

/// A publisher that passed its `is_closing()` check before the close cannot write a data frame
/// after the close frame: the closed queue refuses the direct write.
#[tokio::test]
async fn no_direct_write_follows_the_close_frame() {
    let slot: Slot = Default::default();
    let errors = Default::default();
    let closed = Default::default();
    let server = server(&slot, &errors, &closed);
    let mut c = tcp_conn(&slot, &server).await;
    let conn = slot.lock().unwrap().clone().unwrap().conn;
    // The publisher: `!conn.is_closing()` passed here ...
    assert!(!conn.is_closing());
    conn.close(1000, "bye".into());
    tokio::time::sleep(Duration::from_millis(100)).await; // the task writes the close frame
    // ... and it resumes with `try_direct`.
    let r = conn
        .out
        .try_direct(|| conn.socket.as_ref().unwrap().write_text_frame(b"late"));
    assert_eq!(r, crate::server::io::socket::Direct::Refused);
    let got = read_for(&mut c, Duration::from_millis(300)).await;
    let close_at = got.iter().position(|&b| b == 0x88).expect("close frame");
    assert!(
        !got[close_at..]
            .windows(6)
            .any(|w| w == [0x81, 4, b'l', b'a', b't', b'e']),
        "a text frame followed the close frame: {got:02x?}"
    );
}

/// A push that passed its `is_closing()` check before the close is refused by the closed
/// queue, instead of reaching tokio-tungstenite after the close frame (a spurious write failure
/// that cut the close handshake short).
#[tokio::test]
async fn a_push_after_the_close_is_refused_not_a_write_failure() {
    let slot: Slot = Default::default();
    let errors: Arc<Mutex<Vec<String>>> = Default::default();
    let closed: Arc<Mutex<Option<Instant>>> = Default::default();
    let server = server(&slot, &errors, &closed);
    let mut c = tcp_conn(&slot, &server).await;
    let conn = slot.lock().unwrap().clone().unwrap().conn;
    assert!(!conn.is_closing()); // the pusher's check
    conn.close(1000, "bye".into());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let start = Instant::now();
    let r = conn.out.try_send(Message::Text("late".into()));
    assert!(r.is_err(), "the closed queue refuses the push");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = read_for(&mut c, Duration::from_millis(100)).await;
    let closed_after = closed
        .lock()
        .unwrap()
        .map(|t| t.saturating_duration_since(start));
    assert!(
        errors.lock().unwrap().is_empty(),
        "spurious transport error"
    );
    assert!(got.contains(&0x88), "the close frame went out: {got:02x?}");
    // The server still waits for the peer's close answer (the close grace), as it should.
    assert_eq!(closed_after, None, "the close handshake was cut short");
}
