//! Raw pub/sub baseline: the floor of one publish to many subscribers.
//!
//! ```text
//! raw_pubsub [--port 0]
//! ```
//!
//! Speaks just enough of the bench protocol (`wskit_bench::frames`) for the fan-out scenario:
//! `SUBSCRIBE` is answered `SUBSCRIBED` `{"topic":..}`; `PUBLISH` encodes the `NEWS` frame once,
//! as ready WebSocket frame bytes, writes those same bytes straight to every subscriber's TCP
//! socket in one loop (one `write` per subscriber: no task, no framing, no copy per subscriber),
//! then answers `PUBLISHED` `{"matched":n}`. Anything else gets an `RPC_ERROR`. Requests are parsed
//! with serde_json: they are not on the fan-out path. One thread (`current_thread` runtime),
//! 4 KiB read and write buffers and Nagle disabled, like the raw echo servers.
//!
//! The `NEWS` frame is the one wskit sends, `{"type":"NEWS","payload":{"text":".."}}` (no meta);
//! the load generator only reads `payload.text` of a delivery.
//!
//! Each socket is shared (`Arc<TcpStream>`) between its connection task, which reads requests
//! and writes replies through tokio-tungstenite, and any publisher, which writes `NEWS` frames
//! to it directly. Frames never interleave mid-frame because every write to a socket, raw or
//! through the WebSocket, happens while holding the topics lock, and each is a whole frame by
//! the time the lock is released: a connection is registered and its `SUBSCRIBED` is flushed
//! under the lock; a publisher's loop finishes every frame (waiting on a socket that is not
//! writable) and flushes its own `PUBLISHED` before releasing it. The one write that escapes the
//! lock is tungstenite's automatic answer to a ping or close, sent while reading: the load
//! generator's subscribers send nothing after subscribing, so it never happens in the benchmark
//! (this is a baseline, not a server for arbitrary clients).

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::json;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{Mutex, MutexGuard};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use wskit_bench::args::Args;
use wskit_bench::transport;

/// The subscribers of each topic.
type Subscriptions = HashMap<String, Vec<Arc<TcpStream>>>;
/// Shared by every connection. Every write to a socket happens while holding this lock.
type Topics = Arc<Mutex<Subscriptions>>;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::from_env()?;
    let port: u16 = args.get("port", 0)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = transport::listen(port).await?;
        let topics = Topics::default();
        loop {
            let (stream, _) = listener.accept().await?;
            let topics = topics.clone();
            tokio::spawn(async move {
                let _ = stream.set_nodelay(true);
                // A failed handshake or a reset connection ends only that connection.
                let _ = serve(Arc::new(stream), topics).await;
            });
        }
    })
}

/// A request of the bench protocol, as far as this server reads it.
#[derive(Deserialize)]
struct Request {
    #[serde(rename = "type")]
    ty: String,
    #[serde(default)]
    meta: Meta,
    #[serde(default)]
    payload: Payload,
}

#[derive(Deserialize, Default)]
struct Meta {
    #[serde(rename = "correlationId")]
    correlation_id: Option<String>,
}

#[derive(Deserialize, Default)]
struct Payload {
    topic: Option<String>,
    text: Option<String>,
}

/// One connection: reads requests and answers them; a `PUBLISH` runs its fan-out here.
async fn serve(socket: Arc<TcpStream>, topics: Topics) -> Result<(), WsError> {
    let mut ws = tokio_tungstenite::accept_async_with_config(
        Shared(socket.clone()),
        Some(transport::ws_config()),
    )
    .await?;
    while let Some(msg) = ws.next().await {
        let req = match msg? {
            Message::Text(t) => serde_json::from_str::<Request>(t.as_str()),
            Message::Binary(b) => serde_json::from_slice::<Request>(&b),
            Message::Close(_) => break,
            _ => continue,
        };
        let Ok(req) = req else {
            let topics = topics.lock().await;
            send(&mut ws, &topics, error(None, "INVALID_ARGUMENT")).await?;
            continue;
        };
        let id = req.meta.correlation_id;
        let mut topics = topics.lock().await;
        let reply = match (req.ty.as_str(), req.payload.topic, req.payload.text) {
            ("SUBSCRIBE", Some(topic), _) => {
                let reply = envelope("SUBSCRIBED", id.as_deref(), json!({ "topic": topic }));
                topics.entry(topic).or_default().push(socket.clone());
                reply
            }
            ("PUBLISH", Some(topic), Some(text)) => {
                let frame = news_frame(&text);
                let subscribers = topics.entry(topic).or_default();
                let matched = fan_out(subscribers, &frame).await;
                envelope("PUBLISHED", id.as_deref(), json!({ "matched": matched }))
            }
            _ => error(id.as_deref(), "UNIMPLEMENTED"),
        };
        // Still under the lock: no publisher writes to this socket until the reply is flushed.
        send(&mut ws, &topics, reply).await?;
    }
    Ok(())
}

/// Sends (and flushes) a reply; the guard argument shows that the caller holds the topics lock.
async fn send(
    ws: &mut WebSocketStream<Shared>,
    _locked: &MutexGuard<'_, Subscriptions>,
    frame: String,
) -> Result<(), WsError> {
    ws.send(Message::text(frame)).await
}

/// `{"type":..,"meta":{"correlationId":..},"payload":..}` (`"meta":{}` without an id), keys in
/// this order (a `json!` object would sort them).
fn envelope(ty: &str, id: Option<&str>, payload: serde_json::Value) -> String {
    let meta = match id {
        Some(id) => format!(r#"{{"correlationId":{}}}"#, json!(id)),
        None => "{}".to_owned(),
    };
    format!(
        r#"{{"type":{},"meta":{meta},"payload":{payload}}}"#,
        json!(ty)
    )
}

/// An error frame: `RPC_ERROR` when the request had a correlationId, else `ERROR`.
fn error(id: Option<&str>, code: &str) -> String {
    let ty = if id.is_some() { "RPC_ERROR" } else { "ERROR" };
    let message = "raw-pubsub serves SUBSCRIBE and PUBLISH only";
    envelope(ty, id, json!({ "code": code, "message": message }))
}

/// The `NEWS` event as a complete server-to-client WebSocket frame, encoded once per publish:
/// `{"type":"NEWS","payload":{"text":..}}`, byte for byte what wskit publishes.
fn news_frame(text: &str) -> Vec<u8> {
    let json = format!(r#"{{"type":"NEWS","payload":{{"text":{}}}}}"#, json!(text));
    text_frame(json.as_bytes())
}

/// An unmasked (server-to-client), final text frame: FIN + opcode 1, the 7-, 16- or 64-bit
/// payload length, the payload.
fn text_frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 10);
    out.push(0x81);
    match payload.len() {
        n @ 0..=125 => out.push(n as u8),
        n @ 126..=0xFFFF => {
            out.push(126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
    out
}

/// Writes `frame` to every subscriber, one after the other; returns how many got it. A
/// subscriber whose write fails is dropped from the list.
async fn fan_out(subscribers: &mut Vec<Arc<TcpStream>>, frame: &[u8]) -> usize {
    let mut i = 0;
    while i < subscribers.len() {
        if write_all(&subscribers[i], frame).await.is_ok() {
            i += 1;
        } else {
            subscribers.swap_remove(i);
        }
    }
    subscribers.len()
}

/// Writes all of `bytes` to `socket`: one `write` when the socket has room (always, in the
/// benchmark), else waits until it is writable and continues where the last write stopped.
async fn write_all(socket: &TcpStream, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        match socket.try_write(bytes) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => socket.writable().await?,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A TCP socket shared between its connection's WebSocket and the publishers' direct writes.
///
/// Reads and writes go through tokio's readiness API (`poll_*_ready` then `try_*`), which works
/// on a shared reference. Only the connection task polls it, so the single waker per direction
/// that `poll_read_ready` / `poll_write_ready` keep is enough; publishers wait with `writable()`,
/// which has its own list of waiters.
struct Shared(Arc<TcpStream>);

impl AsyncRead for Shared {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            ready!(self.0.poll_read_ready(cx))?;
            match self.0.try_read(buf.initialize_unfilled()) {
                Ok(n) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                // The readiness was stale; `try_read` cleared it, so polling again registers.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for Shared {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.0.poll_write_ready(cx))?;
            match self.0.try_write(buf) {
                Ok(n) => return Poll::Ready(Ok(n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // A TCP socket has no user-space buffer to flush.
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // The socket is shared: it closes when its last owner (connection or topic list) drops it.
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;
    use tokio_tungstenite::tungstenite::WebSocket;
    use tokio_tungstenite::tungstenite::protocol::Role;

    /// Reads one message from `bytes` as a client would.
    fn client_reads(bytes: Vec<u8>) -> Message {
        let mut ws = WebSocket::from_raw_socket(Cursor::new(bytes), Role::Client, None);
        ws.read().unwrap()
    }

    #[test]
    fn text_frames_of_every_length_class_are_read_by_a_client() {
        for len in [0, 1, 125, 126, 65535, 65536, 70_000] {
            let payload = "x".repeat(len);
            let frame = text_frame(payload.as_bytes());
            assert_eq!(client_reads(frame), Message::text(payload), "length {len}");
        }
    }

    #[test]
    fn news_frame_is_what_wskit_sends_and_what_the_load_generator_reads() {
        let Message::Text(t) = client_reads(news_frame("r7")) else {
            panic!("not a text frame");
        };
        assert_eq!(t.as_str(), r#"{"type":"NEWS","payload":{"text":"r7"}}"#);
        assert_eq!(wskit_bench::frames::frame_type(&t), Some("NEWS"));
        assert_eq!(wskit_bench::frames::text(&t), Some("r7"));
    }

    #[test]
    fn replies_carry_the_correlation_id() {
        let r = envelope("SUBSCRIBED", Some("s1"), json!({"topic": "bench"}));
        assert_eq!(
            r,
            r#"{"type":"SUBSCRIBED","meta":{"correlationId":"s1"},"payload":{"topic":"bench"}}"#
        );
        let e = error(Some("x"), "UNIMPLEMENTED");
        assert!(wskit_bench::frames::is_error(
            wskit_bench::frames::frame_type(&e).unwrap()
        ));
        assert!(error(None, "INVALID_ARGUMENT").starts_with(r#"{"type":"ERROR","meta":{},"#));
    }
}
