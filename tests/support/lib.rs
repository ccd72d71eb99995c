//! Helpers shared by wskit's integration tests: the test protocol (`protocol`), a handler for it that reports what
//! it sees on a probe, servers on ephemeral ports of 127.0.0.1, and raw WebSocket peers that
//! send and receive exact text.

pub mod client_peer;
pub mod frame_table;
pub mod protocol;
pub mod redis_server;

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use wskit::server::{
    Context, PublishOptions, RpcContext, Server, ServerBuilder, ServerHandle, auth,
};
use wskit::{Error, ErrorCode};

pub use protocol::*;

/// Upper bound for anything a test awaits: a broken test fails instead of hanging.
pub const LIMIT: Duration = Duration::from_secs(10);

/// Awaits `fut`, failing the test if it takes longer than [`LIMIT`].
pub async fn within<F: std::future::Future>(what: &str, fut: F) -> F::Output {
    tokio::time::timeout(LIMIT, fut)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// What handlers and hooks report to the test.
#[derive(Clone)]
pub struct Probe(mpsc::UnboundedSender<String>);

impl Probe {
    pub fn note(&self, event: impl Into<String>) {
        let _ = self.0.send(event.into());
    }
}

/// The test's end of a [`Probe`].
pub struct Events(mpsc::UnboundedReceiver<String>);

impl Events {
    /// The next event.
    pub async fn next(&mut self) -> String {
        within("a probe event", self.0.recv())
            .await
            .expect("probe closed")
    }

    /// The next event, waiting at most `limit` (for tests on tokio's paused clock, where
    /// timers of the server fire in order before this one).
    pub async fn next_within(&mut self, limit: Duration) -> String {
        tokio::time::timeout(limit, self.0.recv())
            .await
            .expect("timed out waiting for a probe event")
            .expect("probe closed")
    }

    /// Waits for this exact event, returning the ones seen before it.
    pub async fn until(&mut self, event: &str) -> Vec<String> {
        let mut before = Vec::new();
        loop {
            let e = self.next().await;
            if e == event {
                return before;
            }
            before.push(e);
        }
    }

    /// Events already reported, without waiting.
    pub fn drain(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        while let Ok(e) = self.0.try_recv() {
            out.push(e);
        }
        out
    }
}

pub fn probe() -> (Probe, Events) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Probe(tx), Events(rx))
}

/// The test application: its behaviour is chosen by what the client sends.
pub struct DemoApp {
    pub probe: Probe,
}

impl DemoHandler for DemoApp {
    type Data = String;

    async fn say(&self, ctx: Context<String>, msg: Say) -> Result<(), Error> {
        self.probe.note(format!("say:{}", msg.text));
        match msg.text.as_str() {
            "fail" => Err(Error::not_found("nothing here")),
            "panic" => panic!("boom"),
            "kick" => {
                // A frame, then a policy close (1008) that is not a slow consumer: the frame
                // still goes out before the close frame.
                ctx.send(&Said { text: msg.text })?;
                ctx.close(1008, "revoked");
                Ok(())
            }
            "watch-late" => {
                // A task that outlives its handler and asks for the request's cancellation
                // only once the connection is closing: the token is made after the close, and
                // must be cancelled already.
                let probe = self.probe.clone();
                tokio::spawn(async move {
                    let seen = tokio::time::timeout(Duration::from_secs(10), async {
                        while !ctx.is_cancelled() {
                            tokio::time::sleep(Duration::from_millis(5)).await;
                        }
                    });
                    if seen.await.is_err() {
                        return probe.note("late: the close was never seen");
                    }
                    match tokio::time::timeout(Duration::from_secs(5), ctx.cancelled()).await {
                        Ok(()) => probe.note("late: cancelled"),
                        Err(_) => probe.note("late: never cancelled"),
                    }
                });
                Ok(())
            }
            close if close.starts_with("close:") => {
                let code = close["close:".len()..].parse().unwrap_or(0);
                ctx.close(code, "asked");
                Ok(())
            }
            _ => {
                ctx.send(&Said { text: msg.text })?;
                Ok(())
            }
        }
    }

    async fn ping(&self, _ctx: Context<String>, _msg: Ping) -> Result<(), Error> {
        self.probe.note("ping");
        Ok(())
    }

    async fn touch(&self, _ctx: Context<String>, _msg: Touch) -> Result<(), Error> {
        self.probe.note("touch");
        Ok(())
    }

    async fn nudge(&self, ctx: RpcContext<String, Nudge>, _req: Nudge) -> Result<Nudged, Error> {
        self.probe.note("nudge");
        ctx.send(&Poked {})?;
        Ok(Nudged {})
    }

    async fn join(&self, ctx: Context<String>, msg: Join) -> Result<(), Error> {
        ctx.subscribe(&msg.room)?;
        self.probe.note(format!("joined:{}", msg.room));
        Ok(())
    }

    async fn leave(&self, ctx: Context<String>, msg: Leave) -> Result<(), Error> {
        let was = ctx.unsubscribe(&msg.room);
        self.probe.note(format!("left:{}:{was}", msg.room));
        Ok(())
    }

    async fn flood(&self, ctx: Context<String>, msg: Flood) -> Result<(), Error> {
        let text = "x".repeat(msg.size as usize);
        let mut sent = 0;
        for _ in 0..msg.count {
            if ctx.send(&Said { text: text.clone() }).is_ok() {
                sent += 1;
            }
        }
        self.probe.note(format!("flood:sent={sent}"));
        Ok(())
    }

    async fn get_user(
        &self,
        _ctx: RpcContext<String, GetUser>,
        req: GetUser,
    ) -> Result<UserData, Error> {
        match req.user_id.as_str() {
            "u1" => Ok(UserData {
                name: "Ada".into(),
                email: None,
            }),
            "u2" => Ok(UserData {
                name: "Bob".into(),
                email: Some("bob@example.com".into()),
            }),
            _ => Err(Error::not_found("no such user")),
        }
    }

    async fn slow(&self, ctx: RpcContext<String, Slow>, req: Slow) -> Result<SlowDone, Error> {
        let probe = self.probe.clone();
        let cancelled = ctx.cancelled();
        let ms = req.ms;
        tokio::spawn(async move {
            cancelled.await;
            probe.note(format!("cancelled:{ms}"));
        });
        self.probe.note(format!("started:{ms}"));
        tokio::time::sleep(Duration::from_millis(ms)).await;
        self.probe.note(format!("finished:{ms}"));
        Ok(SlowDone {})
    }

    async fn count(&self, ctx: RpcContext<String, Count>, req: Count) -> Result<Counted, Error> {
        for n in 1..=req.to {
            ctx.progress(CountProgress { n });
            tokio::task::yield_now().await;
        }
        Ok(Counted { total: req.to })
    }

    async fn twice(&self, ctx: RpcContext<String, Twice>, req: Twice) -> Result<TwiceDone, Error> {
        match req.mode.as_str() {
            "reply" => {
                ctx.reply(&TwiceDone { n: 1 });
                Ok(TwiceDone { n: 2 })
            }
            "error-then-reply" => {
                ctx.error(Error::aborted("first"));
                Ok(TwiceDone { n: 2 })
            }
            "reply-then-error" => {
                ctx.reply(&TwiceDone { n: 1 });
                Err(Error::internal("too late"))
            }
            // Replies, then goes on running (until cancelled): the request is still registered
            // after its reply.
            "reply-then-wait" => {
                ctx.reply(&TwiceDone { n: 1 });
                tokio::time::sleep(Duration::from_secs(60)).await;
                Ok(TwiceDone { n: 2 })
            }
            _ => Err(Error::invalid_argument("unknown mode")),
        }
    }

    async fn post(&self, ctx: RpcContext<String, Post>, req: Post) -> Result<Posted, Error> {
        let mut options = PublishOptions {
            exclude_self: req.exclude_self,
            ..PublishOptions::default()
        };
        if let Some(source) = req.text.strip_prefix("meta:") {
            let mut meta = serde_json::Map::new();
            meta.insert("source".into(), source.into());
            options.meta = Some(meta);
        }
        let matched = ctx
            .publish(&req.room, &NewMessage { text: req.text }, options)
            .await?;
        Ok(Posted {
            matched: matched.exact().unwrap_or(0) as u32,
        })
    }

    async fn check(&self, _ctx: RpcContext<String, Check>, _req: Check) -> Result<Checked, Error> {
        Ok(Checked {})
    }

    async fn echo_meta(
        &self,
        ctx: RpcContext<String, EchoMeta>,
        _req: EchoMeta,
    ) -> Result<MetaSeen, Error> {
        let mut keys: Vec<String> = ctx.meta().extra.keys().cloned().collect();
        keys.sort();
        Ok(MetaSeen { keys })
    }

    async fn late(&self, ctx: RpcContext<String, Late>, req: Late) -> Result<LateDone, Error> {
        // A task that outlives the request sends progress while the handler replies (on a
        // multi-threaded runtime, at the same time) and after it.
        let probe = self.probe.clone();
        let rpc = ctx.clone();
        tokio::spawn(async move {
            for n in 0..req.n {
                rpc.progress(LateProgress { n });
                tokio::task::yield_now().await;
            }
            probe.note("late:done");
        });
        tokio::task::yield_now().await;
        Ok(LateDone {})
    }

    async fn who_am_i(&self, ctx: RpcContext<String, WhoAmI>, _req: WhoAmI) -> Result<Me, Error> {
        Ok(Me {
            client_id: ctx.client_id().to_string(),
            user: ctx.data().clone(),
        })
    }
}

/// The test application's builder: the `Demo` service, and auth that accepts everyone (the
/// connection data is the token, or `anon`) except the token `bad`.
pub fn demo_builder(probe: &Probe) -> ServerBuilder<String> {
    Server::<String>::builder()
        .service(demo_server(DemoApp {
            probe: probe.clone(),
        }))
        .auth(|req: &http::Request<()>| {
            let token = auth::token(req);
            async move {
                match token {
                    Some(t) if t == "bad" => Err(auth::Rejection::unauthorized()),
                    Some(t) => Ok(t),
                    None => Ok("anon".to_owned()),
                }
            }
        })
}

/// A server on an ephemeral port of 127.0.0.1.
pub struct TestServer {
    pub addr: SocketAddr,
    pub handle: ServerHandle,
    stop: Option<oneshot::Sender<()>>,
    pub task: JoinHandle<std::io::Result<()>>,
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("ws://{}{}", self.addr, path)
    }

    /// Fires the shutdown signal given to `serve_with_shutdown`.
    pub fn signal_shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub async fn start<D: Send + Sync + 'static>(builder: ServerBuilder<D>) -> TestServer {
    start_server(builder.build().expect("valid server")).await
}

/// Serves a built server on an ephemeral port of 127.0.0.1.
pub async fn start_server<D: Send + Sync + 'static>(server: Server<D>) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let handle = server.handle();
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(server.serve_with_shutdown(listener, async {
        let _ = rx.await;
    }));
    TestServer {
        addr,
        handle,
        stop: Some(tx),
        task,
    }
}

pub type RawWs = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A raw WebSocket peer.
pub struct Client {
    pub ws: RawWs,
    pub response: http::Response<Option<Vec<u8>>>,
}

pub async fn connect(server: &TestServer) -> Client {
    connect_to(server.url("/")).await
}

pub async fn connect_to(request: impl IntoClientRequest + Unpin) -> Client {
    let (ws, response) = within("the upgrade", tokio_tungstenite::connect_async(request))
        .await
        .expect("upgrade");
    Client { ws, response }
}

/// Tries an upgrade that should fail; returns the HTTP status and body.
pub async fn refused(request: impl IntoClientRequest + Unpin) -> (u16, String) {
    match within("the upgrade", tokio_tungstenite::connect_async(request)).await {
        Err(tungstenite::Error::Http(resp)) => {
            let status = resp.status().as_u16();
            let body = resp
                .body()
                .clone()
                .map(|b| String::from_utf8(b).unwrap())
                .unwrap_or_default();
            (status, body)
        }
        Err(e) => panic!("expected an HTTP refusal, got {e}"),
        Ok(_) => panic!("expected the upgrade to be refused"),
    }
}

impl Client {
    pub async fn send(&mut self, text: &str) {
        within("send", self.ws.send(Message::text(text)))
            .await
            .expect("send");
    }

    pub async fn send_binary(&mut self, bytes: &[u8]) {
        within("send", self.ws.send(Message::binary(bytes.to_vec())))
            .await
            .expect("send");
    }

    /// The next text frame (pings and pongs skipped); panics on close.
    pub async fn recv(&mut self) -> String {
        loop {
            match within("a frame", self.ws.next()).await {
                Some(Ok(Message::Text(t))) => return t.to_string(),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    /// The next text frame parsed as JSON.
    pub async fn recv_json(&mut self) -> serde_json::Value {
        serde_json::from_str(&self.recv().await).expect("JSON frame")
    }

    /// Waits for the close frame (text frames before it are returned too).
    pub async fn recv_close(&mut self) -> (Option<(u16, String)>, Vec<String>) {
        let mut texts = Vec::new();
        loop {
            match within("the close frame", self.ws.next()).await {
                Some(Ok(Message::Close(frame))) => {
                    // Send the queued close reply, completing the closing handshake.
                    let _ = self.ws.flush().await;
                    let f = frame.map(|f| (u16::from(f.code), f.reason.to_string()));
                    return (f, texts);
                }
                Some(Ok(Message::Text(t))) => texts.push(t.to_string()),
                Some(Ok(_)) => continue,
                Some(Err(e)) => panic!("expected a close frame, got error {e}"),
                None => panic!("expected a close frame, got the end of the stream"),
            }
        }
    }

    /// Sends `n` frames at once that the server answers without routing them (heartbeats and
    /// text that is not JSON, by turns: what a rate-limit middleware never sees); returns when
    /// the first was sent. [`answers_until`](Self::answers_until) counts their answers.
    pub async fn send_unrouted_burst(&mut self, n: usize) -> std::time::Instant {
        let sent = std::time::Instant::now();
        for i in 0..n {
            let text = if i % 2 == 0 {
                r#"{"type":"__heartbeat"}"#
            } else {
                "not JSON"
            };
            self.send(text).await;
        }
        sent
    }

    /// How many answers to a [`send_unrouted_burst`](Self::send_unrouted_burst) arrive before
    /// `deadline` (each checked to be one: a heartbeat ack or an `INVALID_ARGUMENT`).
    pub async fn answers_until(&mut self, deadline: std::time::Instant) -> usize {
        let mut answered = 0;
        while let Ok(frame) = tokio::time::timeout_at(deadline.into(), self.recv()).await {
            assert!(frame.contains("__heartbeat_ack") || frame.contains("INVALID_ARGUMENT"));
            answered += 1;
        }
        answered
    }

    /// Sends a heartbeat and returns every text frame received before its ack: proves that
    /// nothing else was sent in between (frames are answered in order).
    pub async fn frames_before_ack(&mut self) -> Vec<String> {
        self.send(r#"{"type":"__heartbeat"}"#).await;
        let mut before = Vec::new();
        loop {
            let f = self.recv().await;
            if f.starts_with(r#"{"type":"__heartbeat_ack""#) {
                return before;
            }
            before.push(f);
        }
    }

    pub async fn close(mut self, code: u16) {
        let frame = tungstenite::protocol::CloseFrame {
            code: CloseCode::from(code),
            reason: "bye".into(),
        };
        let _ = self.ws.close(Some(frame)).await;
        while let Some(Ok(_)) = self.ws.next().await {}
    }

    /// The `x-client-id` header of the upgrade response.
    pub fn client_id(&self) -> String {
        self.response
            .headers()
            .get("x-client-id")
            .expect("x-client-id header")
            .to_str()
            .unwrap()
            .to_owned()
    }
}

/// An `ERROR`/`RPC_ERROR` frame as the server writes it, for exact comparisons.
pub fn error_frame(correlation_id: Option<&str>, error: &Error) -> String {
    String::from_utf8(wskit::wire::encode_error(correlation_id, error)).unwrap()
}

/// The error code of an error frame.
pub fn code_of(frame: &serde_json::Value) -> ErrorCode {
    ErrorCode::parse(frame["payload"]["code"].as_str().expect("error code"))
}
