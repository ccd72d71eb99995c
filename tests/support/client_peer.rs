//! A tiny WebSocket peer on 127.0.0.1 for the client tests (raw tokio-tungstenite), and the
//! protocol it speaks.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self, Message as WsMessage};

pub use crate::{LIMIT, within};

/// A listening peer.
pub struct Peer {
    listener: TcpListener,
    pub addr: SocketAddr,
}

/// What the client sent in its upgrade request.
#[derive(Debug, Clone, Default)]
pub struct Upgrade {
    pub uri: String,
    pub headers: Vec<(String, String)>,
}

impl Upgrade {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl Peer {
    /// Binds 127.0.0.1 on an ephemeral port.
    pub async fn bind() -> Peer {
        Peer::bind_at("127.0.0.1:0".parse().unwrap()).await
    }

    /// Binds a given address (to start a peer again on the port of a stopped one).
    pub async fn bind_at(addr: SocketAddr) -> Peer {
        let listener = TcpListener::bind(addr).await.expect("bind 127.0.0.1");
        let addr = listener.local_addr().unwrap();
        Peer { listener, addr }
    }

    pub fn url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// Accepts one WebSocket connection; selects the first offered subprotocol (as ws-kit on Bun).
    pub async fn accept(&self) -> Conn {
        within("a connection", async {
            let (tcp, _) = self.listener.accept().await.expect("accept");
            let seen = Arc::new(Mutex::new(Upgrade::default()));
            let record = seen.clone();
            #[allow(clippy::result_large_err)] // tungstenite's callback signature
            let callback = move |req: &Request, mut resp: Response| {
                let mut up = record.lock().unwrap();
                up.uri = req.uri().to_string();
                up.headers = req
                    .headers()
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_owned()))
                    .collect();
                if let Some(first) = req
                    .headers()
                    .get("sec-websocket-protocol")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.split(',').next())
                {
                    resp.headers_mut().insert(
                        "sec-websocket-protocol",
                        HeaderValue::from_str(first.trim()).unwrap(),
                    );
                }
                Ok(resp)
            };
            let ws = tokio_tungstenite::accept_hdr_async(tcp, callback)
                .await
                .expect("handshake");
            let upgrade = seen.lock().unwrap().clone();
            Conn { ws, upgrade }
        })
        .await
    }
}

/// A port on 127.0.0.1 where connections are refused at once: a socket is bound to it (so no
/// one else can take the port while the test runs) but never listens, so the kernel answers
/// every connection attempt with a reset.
pub struct RefusedPort {
    _socket: tokio::net::TcpSocket,
    pub addr: SocketAddr,
}

impl Default for RefusedPort {
    fn default() -> Self {
        Self::new()
    }
}

impl RefusedPort {
    pub fn new() -> RefusedPort {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket
            .bind("127.0.0.1:0".parse().unwrap())
            .expect("bind 127.0.0.1");
        let addr = socket.local_addr().unwrap();
        RefusedPort {
            _socket: socket,
            addr,
        }
    }

    pub fn url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }
}

/// One accepted connection.
pub struct Conn {
    ws: WebSocketStream<TcpStream>,
    pub upgrade: Upgrade,
}

impl Conn {
    /// The next JSON frame from the client (heartbeats included).
    pub async fn recv_any(&mut self) -> Value {
        within("a frame", async {
            loop {
                match self.ws.next().await {
                    Some(Ok(WsMessage::Text(t))) => {
                        return serde_json::from_str(t.as_str()).expect("client sent JSON");
                    }
                    Some(Ok(WsMessage::Close(_))) | None => panic!("client closed"),
                    Some(Err(e)) => panic!("socket error: {e}"),
                    Some(Ok(_)) => {}
                }
            }
        })
        .await
    }

    /// The next JSON frame from the client (heartbeats included), or `None` once it closed.
    pub async fn recv_any_or_close(&mut self) -> Option<Value> {
        loop {
            match self.ws.next().await {
                Some(Ok(WsMessage::Text(t))) => {
                    return Some(serde_json::from_str(t.as_str()).expect("client sent JSON"));
                }
                Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => {}
            }
        }
    }

    /// The next JSON frame from the client that is not a heartbeat.
    pub async fn recv(&mut self) -> Value {
        loop {
            let v = self.recv_any().await;
            if v["type"] != "__heartbeat" {
                return v;
            }
        }
    }

    /// Waits for the client's close frame (or the end of the stream), answering it.
    pub async fn expect_close(&mut self) -> Option<u16> {
        within("the close", async {
            loop {
                match self.ws.next().await {
                    Some(Ok(WsMessage::Close(frame))) => {
                        // Reading on sends tungstenite's close reply and ends the stream.
                        while let Some(Ok(_)) = self.ws.next().await {}
                        return frame.map(|f| u16::from(f.code));
                    }
                    None | Some(Err(_)) => return None,
                    Some(Ok(_)) => {}
                }
            }
        })
        .await
    }

    pub async fn send(&mut self, v: Value) {
        self.send_text(&v.to_string()).await;
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws
            .send(WsMessage::text(text.to_owned()))
            .await
            .expect("send to client");
    }

    /// Sends `text` as a fragmented message: its first `split` bytes, a ping, then the rest.
    pub async fn send_fragmented(&mut self, text: &str, split: usize) {
        use tungstenite::protocol::frame::Frame;
        use tungstenite::protocol::frame::coding::{Data, OpCode};
        let (first, rest) = text.as_bytes().split_at(split);
        let frames = [
            WsMessage::Frame(Frame::message(
                first.to_vec(),
                OpCode::Data(Data::Text),
                false,
            )),
            WsMessage::Ping(b"between".to_vec().into()),
            WsMessage::Frame(Frame::message(
                rest.to_vec(),
                OpCode::Data(Data::Continue),
                true,
            )),
        ];
        for frame in frames {
            self.ws.send(frame).await.expect("send to client");
        }
    }

    /// Pings the client and waits for its pong (text frames meanwhile are dropped).
    pub async fn ping_until_pong(&mut self, payload: &[u8]) {
        self.ws
            .send(WsMessage::Ping(payload.to_vec().into()))
            .await
            .expect("ping the client");
        within("the pong", async {
            loop {
                match self.ws.next().await {
                    Some(Ok(WsMessage::Pong(p))) if p.as_ref() == payload => return,
                    Some(Ok(WsMessage::Close(_))) | None => panic!("client closed"),
                    Some(Err(e)) => panic!("socket error: {e}"),
                    Some(Ok(_)) => {}
                }
            }
        })
        .await
    }

    /// Closes with a close frame (as a server that shuts down).
    pub async fn close(mut self, code: u16) {
        let frame = tungstenite::protocol::CloseFrame {
            code: code.into(),
            reason: "".into(),
        };
        let _ = self.ws.close(Some(frame)).await;
    }
}

wskit::protocol! {
    /// What the raw peer and the client tests speak.
    pub protocol PeerProtocol {
        message Chat { text: String }
        /// Re-sent by the client after every reconnect.
        #[subscription]
        message JoinRoom { room_id: String }
        /// Idempotent: re-sent after a reconnect.
        #[idempotent]
        rpc GetUser(user_id: String) -> UserData { name: String }
        /// Not idempotent: fails with ConnectionClosed when the connection drops while in flight.
        rpc CreateOrder(item: String) -> OrderCreated { order_id: String }
        /// Streams progress.
        rpc Export(rows: u32) -> ExportDone { total: u32 } progress ExportProgress { done: u32 }
        event UserJoined { room_id: String, user_id: String }
        event Notice { text: String }
    }
}

/// The server events of [`PeerProtocol`].
pub type TestEvent = PeerProtocolEvent;

/// Collects what a hook receives, and lets a test await the next one.
pub struct Seen<T> {
    tx: tokio::sync::mpsc::UnboundedSender<T>,
    rx: tokio::sync::mpsc::UnboundedReceiver<T>,
}

impl<T: Send + 'static> Default for Seen<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Send + 'static> Seen<T> {
    pub fn new() -> Self {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        Seen { tx, rx }
    }

    /// A hook that records into this.
    pub fn hook(&self) -> impl Fn(T) + Send + Sync + 'static {
        let tx = self.tx.clone();
        move |v| {
            let _ = tx.send(v);
        }
    }

    pub async fn next(&mut self) -> T {
        within("a hook call", self.rx.recv())
            .await
            .expect("hook sender alive")
    }

    /// What was recorded so far, without waiting.
    pub fn drain(&mut self) -> Vec<T> {
        let mut out = Vec::new();
        while let Ok(v) = self.rx.try_recv() {
            out.push(v);
        }
        out
    }
}

/// Whether `s` looks like a v4 UUID.
pub fn is_uuid_v4(s: &str) -> bool {
    let b = s.as_bytes();
    s.len() == 36
        && [8, 13, 18, 23].iter().all(|&i| b[i] == b'-')
        && b[14] == b'4'
        && s.chars()
            .filter(|c| *c != '-')
            .all(|c| c.is_ascii_hexdigit())
}

/// A client connected to `peer`, and the peer's end of the connection.
pub async fn connected(peer: &Peer) -> (wskit::client::Client, Conn) {
    let client = wskit::client::Client::builder(peer.url()).build();
    let (conn, opened) = tokio::join!(peer.accept(), client.connect());
    opened.expect("connect");
    (client, conn)
}

/// Starts `request` on `client` as a task and reads the request frame at the peer: the shape of
/// most request tests (spawn the call, read the request, answer or not, check the outcome).
/// Returns the call's task and the frame's correlationId.
pub async fn spawn_request<R: wskit::Rpc>(
    client: &wskit::client::Client,
    conn: &mut Conn,
    request: R,
) -> (
    tokio::task::JoinHandle<Result<R::Response, wskit::client::ClientError>>,
    String,
) {
    let call = tokio::spawn(std::future::IntoFuture::into_future(
        client.request(request),
    ));
    let id = id_of(&conn.recv().await);
    (call, id)
}

/// The correlationId of a frame the client sent.
pub fn id_of(frame: &Value) -> String {
    frame["meta"]["correlationId"]
        .as_str()
        .expect("correlationId")
        .to_owned()
}

/// Records the client's states, the current one first, until `n` are seen or the client is gone.
pub fn record_states(
    client: &wskit::client::Client,
    n: usize,
) -> tokio::task::JoinHandle<Vec<wskit::client::ConnectionState>> {
    let mut states = client.watch_state();
    let first = *states.borrow_and_update();
    tokio::spawn(async move {
        let mut all = vec![first];
        while all.len() < n && states.changed().await.is_ok() {
            all.push(*states.borrow_and_update());
        }
        all
    })
}
