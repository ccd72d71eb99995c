//! The client against a real wskit server on 127.0.0.1: a server stopped and started again
//! mid-test, aborts that reach the server's handler, timeouts, the pending limit, errors,
//! progress, pub/sub, auth and heartbeat.

use std::net::SocketAddr;
use std::time::Duration;
use wskit_tests::client_peer::record_states;

use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use wskit::client::{
    AuthTransport, Backoff, Client, ClientError, ConnectError, ConnectionState, Heartbeat,
    ProtocolPosition,
};
use wskit::server::{Context, PublishOptions, RpcContext, Server, ServerHandle, auth, http};
use wskit::{Error, ErrorCode};

wskit::protocol! {
    pub protocol Shop {
        /// Watches a room: the server subscribes the connection to topic `room:<room>`.
        #[subscription]
        message Watch { room: String }
        message Note { text: String }
        event Announced { text: String }
        #[idempotent]
        rpc GetPrice(item: String) -> Price { cents: u32 }
        /// Never answers: waits until cancelled.
        rpc Buy(item: String) -> Bought { order: String }
        rpc Fail(code: String) -> Failed {}
        rpc Count(to: u32) -> Counted { total: u32 } progress CountProgress { n: u32 }
        rpc Announce(room: String, text: String) -> Announcement { matched: u32 }
        rpc WhoAmI() -> Me { user: String }
    }
}

/// What the handlers saw, in order.
type Probe = mpsc::UnboundedSender<String>;

struct Shopkeeper {
    probe: Probe,
    /// Whether `get_price` hangs (the first server) or answers (the restarted one).
    hang_prices: bool,
}

impl Shopkeeper {
    fn note(&self, s: impl Into<String>) {
        let _ = self.probe.send(s.into());
    }
}

impl ShopHandler for Shopkeeper {
    type Data = String;

    async fn watch(&self, ctx: Context<String>, msg: Watch) -> Result<(), Error> {
        ctx.subscribe(&format!("room:{}", msg.room))?;
        self.note(format!("watch {}", msg.room));
        Ok(())
    }

    async fn note(&self, _ctx: Context<String>, msg: Note) -> Result<(), Error> {
        self.note(format!("note {}", msg.text));
        Ok(())
    }

    async fn get_price(
        &self,
        ctx: RpcContext<String, GetPrice>,
        req: GetPrice,
    ) -> Result<Price, Error> {
        self.note(format!("price {}", req.item));
        if self.hang_prices {
            ctx.cancelled().await;
            self.note(format!("price {} cancelled", req.item));
            return Err(Error::from_code(ErrorCode::Cancelled));
        }
        Ok(Price { cents: 250 })
    }

    async fn buy(&self, ctx: RpcContext<String, Buy>, req: Buy) -> Result<Bought, Error> {
        self.note(format!("buy {}", req.item));
        ctx.cancelled().await;
        self.note(format!("buy {} cancelled", req.item));
        Err(Error::from_code(ErrorCode::Cancelled))
    }

    async fn fail(&self, _ctx: RpcContext<String, Fail>, req: Fail) -> Result<Failed, Error> {
        Err(Error::new(ErrorCode::parse(&req.code), "refused")
            .with_details(serde_json::json!({"why": "test"}))
            .with_retry_after_ms(1500))
    }

    async fn count(&self, ctx: RpcContext<String, Count>, req: Count) -> Result<Counted, Error> {
        for n in 1..=req.to {
            ctx.progress(CountProgress { n });
        }
        Ok(Counted { total: req.to })
    }

    async fn announce(
        &self,
        ctx: RpcContext<String, Announce>,
        req: Announce,
    ) -> Result<Announcement, Error> {
        let topic = format!("room:{}", req.room);
        let matched = ctx
            .publish(
                &topic,
                &Announced { text: req.text },
                PublishOptions::default(),
            )
            .await?;
        Ok(Announcement {
            matched: matched.exact().unwrap_or(0) as u32,
        })
    }

    async fn who_am_i(&self, ctx: RpcContext<String, WhoAmI>, _req: WhoAmI) -> Result<Me, Error> {
        Ok(Me {
            user: ctx.data().clone(),
        })
    }
}

/// A wskit server on 127.0.0.1; stopped gracefully by [`Running::stop`].
struct Running {
    addr: SocketAddr,
    handle: ServerHandle,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Running {
    fn url(&self) -> String {
        format!("ws://{}/shop", self.addr)
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        within("the server to stop", self.task)
            .await
            .unwrap()
            .unwrap();
    }
}

/// Auth: the token (query or `bearer.` subprotocol) is the user; no token or `bad` is refused.
async fn start_at(addr: SocketAddr, probe: &Probe, hang_prices: bool) -> Running {
    let server = Server::<String>::builder()
        .service(Shop::server(Shopkeeper {
            probe: probe.clone(),
            hang_prices,
        }))
        .auth(|req: &http::Request<()>| {
            let token = auth::token(req);
            async move {
                match token.as_deref() {
                    Some("banned") => Err(auth::Rejection::new(
                        http::StatusCode::FORBIDDEN,
                        "Forbidden",
                    )),
                    Some(t) if t != "bad" => Ok(t.to_owned()),
                    _ => Err(auth::Rejection::unauthorized()),
                }
            }
        })
        .shutdown_timeout(Duration::from_millis(100))
        .build()
        .expect("valid server");
    let listener = TcpListener::bind(addr).await.expect("bind 127.0.0.1");
    let addr = listener.local_addr().unwrap();
    let handle = server.handle();
    let (stop, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(server.serve_with_shutdown(listener, async {
        let _ = rx.await;
    }));
    Running {
        addr,
        handle,
        stop,
        task,
    }
}

async fn start(probe: &Probe, hang_prices: bool) -> Running {
    start_at("127.0.0.1:0".parse().unwrap(), probe, hang_prices).await
}

const LIMIT: Duration = Duration::from_secs(10);

async fn within<F: std::future::Future>(what: &str, fut: F) -> F::Output {
    match tokio::time::timeout(LIMIT, fut).await {
        Ok(v) => v,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

struct Seen(mpsc::UnboundedReceiver<String>);

impl Seen {
    async fn next(&mut self) -> String {
        within("the handler", self.0.recv())
            .await
            .expect("probe alive")
    }
}

fn probe() -> (Probe, Seen) {
    let (tx, rx) = mpsc::unbounded_channel();
    (tx, Seen(rx))
}

fn client_for(server: &Running, user: &str) -> ShopClient {
    let user = user.to_owned();
    let client = Client::builder(server.url())
        .token(move || {
            let user = user.clone();
            async move { Some(user) }
        })
        .backoff(Backoff::ExponentialJitter {
            initial: Duration::from_millis(20),
            max: Duration::from_millis(100),
            max_attempts: None,
        })
        .build();
    ShopClient::new(client)
}

async fn connected(server: &Running, user: &str) -> ShopClient {
    let shop = client_for(server, user);
    within("connect", shop.inner().connect()).await.unwrap();
    shop
}

#[tokio::test]
async fn server_restart_mid_test() {
    let (tx, mut seen) = probe();
    let server = start(&tx, true).await;
    let addr = server.addr;
    let shop = connected(&server, "alice").await;
    let client = shop.inner().clone();
    let mut gaps = client.gaps();
    let mut events = shop.events();

    shop.watch(Watch { room: "r1".into() }).unwrap();
    assert_eq!(seen.next().await, "watch r1");
    let price = tokio::spawn(
        shop.get_price(GetPrice { item: "tea".into() })
            .into_future(),
    );
    assert_eq!(seen.next().await, "price tea");
    let buy = tokio::spawn(shop.buy(Buy { item: "car".into() }).into_future());
    assert_eq!(seen.next().await, "buy car");

    // The server stops: the handlers in flight are cancelled, the sockets closed with 1001.
    server.stop().await;
    let mut cancelled = vec![seen.next().await, seen.next().await];
    cancelled.sort();
    assert_eq!(cancelled, ["buy car cancelled", "price tea cancelled"]);
    // Not idempotent: fails, never sent again.
    assert_eq!(
        within("buy", buy).await.unwrap(),
        Err(ClientError::ConnectionClosed)
    );
    let mut states = client.watch_state();
    within("offline", states.wait_for(|s| *s != ConnectionState::Open))
        .await
        .unwrap();
    for text in ["1", "2", "3"] {
        shop.note(Note { text: text.into() }).unwrap();
    }

    // The server starts again on the same port; this time prices are answered.
    let server = start_at(addr, &tx, false).await;
    assert_eq!(seen.next().await, "watch r1", "the subscription first");
    assert_eq!(
        seen.next().await,
        "price tea",
        "then the idempotent request"
    );
    for text in ["1", "2", "3"] {
        assert_eq!(
            seen.next().await,
            format!("note {text}"),
            "then the queue, in order"
        );
    }
    assert_eq!(
        within("price", price).await.unwrap().unwrap(),
        Price { cents: 250 }
    );
    shop.note(Note { text: "end".into() }).unwrap();
    assert_eq!(
        seen.next().await,
        "note end",
        "nothing else reached the server"
    );

    let gap = within("the gap", gaps.recv()).await.unwrap();
    assert_eq!((gap.resubscribed, gap.resent), (1, 1));
    // The re-sent subscription is live on the new server.
    let announcer = connected(&server, "bob").await;
    let matched = within(
        "announce",
        announcer
            .announce(Announce {
                room: "r1".into(),
                text: "back".into(),
            })
            .into_future(),
    )
    .await
    .unwrap();
    assert_eq!(matched.matched, 1);
    assert_eq!(
        within("the event", events.recv()).await,
        Some(ShopEvent::Announced(Announced {
            text: "back".into()
        }))
    );
}

#[tokio::test]
async fn aborts_reach_the_handler() {
    let (tx, mut seen) = probe();
    let server = start(&tx, true).await;
    let shop = connected(&server, "alice").await;

    // Dropping the call.
    let call = tokio::spawn(shop.buy(Buy { item: "a".into() }).into_future());
    assert_eq!(seen.next().await, "buy a");
    call.abort();
    assert_eq!(seen.next().await, "buy a cancelled");

    // An explicit cancel.
    let call = shop.buy(Buy { item: "b".into() });
    let cancel = call.cancel_handle();
    let task = tokio::spawn(call.into_future());
    assert_eq!(seen.next().await, "buy b");
    cancel.cancel();
    assert_eq!(seen.next().await, "buy b cancelled");
    assert_eq!(
        within("the call", task).await.unwrap(),
        Err(ClientError::Cancelled)
    );

    // A timeout.
    let call = shop
        .buy(Buy { item: "c".into() })
        .timeout(Duration::from_millis(50));
    let task = tokio::spawn(call.into_future());
    assert_eq!(seen.next().await, "buy c");
    assert_eq!(
        within("the call", task).await.unwrap(),
        Err(ClientError::Timeout)
    );
    assert_eq!(seen.next().await, "buy c cancelled");
    assert_eq!(shop.inner().pending_requests(), 0);
}

#[tokio::test]
async fn pending_limit_against_the_server() {
    let (tx, mut seen) = probe();
    let server = start(&tx, true).await;
    let client = Client::builder(server.url())
        .token(|| async { Some("alice".to_owned()) })
        .max_pending(2)
        .build();
    within("connect", client.connect()).await.unwrap();
    let shop = ShopClient::new(client.clone());
    let a = tokio::spawn(shop.buy(Buy { item: "a".into() }).into_future());
    let b = tokio::spawn(shop.buy(Buy { item: "b".into() }).into_future());
    let mut started = vec![seen.next().await, seen.next().await];
    started.sort();
    assert_eq!(started, ["buy a", "buy b"]);
    assert_eq!(
        shop.buy(Buy { item: "c".into() }).await,
        Err(ClientError::TooManyPending { limit: 2 })
    );
    a.abort();
    assert_eq!(seen.next().await, "buy a cancelled");
    // Room again: this one reaches the server.
    let c = tokio::spawn(shop.buy(Buy { item: "c".into() }).into_future());
    assert_eq!(seen.next().await, "buy c");
    b.abort();
    c.abort();
}

#[tokio::test]
async fn errors_progress_and_auth() {
    let (tx, _seen) = probe();
    let server = start(&tx, false).await;
    let shop = connected(&server, "alice").await;

    match shop
        .fail(Fail {
            code: "RESOURCE_EXHAUSTED".into(),
        })
        .await
    {
        Err(ClientError::Rpc(e)) => {
            assert_eq!(e.code, ErrorCode::ResourceExhausted);
            assert_eq!(e.message, "refused");
            assert_eq!(e.details.unwrap()["why"], "test");
            assert_eq!(e.retry_after_ms, Some(1500));
        }
        other => panic!("expected an RPC error, got {other:?}"),
    }

    let mut call = shop.count(Count { to: 5 });
    let mut progress = call.progress();
    assert_eq!(within("count", call.into_future()).await.unwrap().total, 5);
    let mut updates = Vec::new();
    while let Some(p) = progress.recv().await {
        updates.push(p.n);
    }
    assert_eq!(updates, [1, 2, 3, 4, 5]);

    let me = within("who", shop.who_am_i(WhoAmI {}).into_future())
        .await
        .unwrap();
    assert_eq!(me.user, "alice");

    for position in [ProtocolPosition::Append, ProtocolPosition::Prepend] {
        let client = Client::builder(server.url())
            .token(|| async { Some("carol".to_owned()) })
            .auth(AuthTransport::Subprotocol {
                prefix: "bearer.".into(),
                position,
            })
            .protocols(["shop.v1"])
            .build();
        within("connect", client.connect()).await.unwrap();
        let me = within(
            "who",
            ShopClient::new(client).who_am_i(WhoAmI {}).into_future(),
        )
        .await
        .unwrap();
        assert_eq!(me.user, "carol");
    }

    let refused = Client::builder(server.url())
        .token(|| async { Some("bad".to_owned()) })
        .backoff(Backoff::Never)
        .build();
    match within("refusal", refused.connect()).await {
        Err(ClientError::Connect(ConnectError::Rejected { status: 401, .. })) => {}
        other => panic!("expected a refused upgrade, got {other:?}"),
    }
}

/// A 401 at the upgrade is not transient: with the default backoff (unlimited attempts),
/// `connect()` returns the rejection after one attempt and the client is `Closed`; only a
/// client that opts in (a token provider that refreshes) keeps trying.
#[tokio::test]
async fn a_refused_token_stops_the_client_unless_it_opts_into_retrying() {
    let (tx, _seen) = probe();
    let server = start(&tx, false).await;
    let attempts = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let counting = |attempts: &std::sync::Arc<std::sync::atomic::AtomicU32>| {
        let attempts = attempts.clone();
        move || {
            attempts.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async { Some("bad".to_owned()) }
        }
    };
    let reports = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let client = Client::builder(server.url())
        .token(counting(&attempts))
        .on_error({
            let reports = reports.clone();
            move |r| reports.lock().unwrap().push(r.to_string())
        })
        .build();
    match within("refusal", client.connect()).await {
        Err(ClientError::Connect(ConnectError::Rejected { status, body })) => {
            assert_eq!((status, body.as_str()), (401, "Unauthorized"));
        }
        other => panic!("expected a refused upgrade, got {other:?}"),
    }
    assert_eq!(client.state(), ConnectionState::Closed);
    assert_eq!(attempts.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(
        *reports.lock().unwrap(),
        ["connection attempt failed: the server refused the upgrade: HTTP 401 (Unauthorized)"]
    );

    // Opted in: the token is asked for again on every attempt, until the backoff gives up.
    let attempts = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let client = Client::builder(server.url())
        .token(counting(&attempts))
        .retry_rejected(true)
        .backoff(Backoff::ExponentialJitter {
            initial: Duration::from_millis(1),
            max: Duration::from_millis(2),
            max_attempts: Some(3),
        })
        .build();
    match within("refusals", client.connect()).await {
        Err(ClientError::Connect(ConnectError::Rejected { status: 401, .. })) => {}
        other => panic!("expected a refused upgrade, got {other:?}"),
    }
    assert_eq!(attempts.load(std::sync::atomic::Ordering::SeqCst), 4);
}

/// A 403 at the upgrade stops the client as a 401 does: one attempt, `connect()` returns the
/// status, the client is `Closed`. Any other refusal (a 503) is retried.
#[tokio::test]
async fn a_forbidden_upgrade_stops_the_client_and_a_503_is_retried() {
    let (tx, _seen) = probe();
    let server = start(&tx, false).await;
    let attempts = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let client = Client::builder(server.url())
        .token({
            let attempts = attempts.clone();
            move || {
                attempts.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                async { Some("banned".to_owned()) }
            }
        })
        .build();
    match within("refusal", client.connect()).await {
        Err(ClientError::Connect(ConnectError::Rejected { status, body })) => {
            assert_eq!((status, body.as_str()), (403, "Forbidden"));
        }
        other => panic!("expected a refused upgrade, got {other:?}"),
    }
    assert_eq!(client.state(), ConnectionState::Closed);
    assert_eq!(attempts.load(std::sync::atomic::Ordering::SeqCst), 1);

    // A server at its connection limit answers 503: transient, so the client tries again.
    let full = Server::<String>::builder()
        .service(Shop::server(Shopkeeper {
            probe: tx.clone(),
            hang_prices: false,
        }))
        .auth(|_: &http::Request<()>| async { Ok("anyone".to_owned()) })
        .max_connections(1)
        .build()
        .expect("valid server");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    tokio::spawn(full.serve_with_shutdown(listener, std::future::pending::<()>()));
    let first = Client::builder(&url).build();
    within("connect", first.connect()).await.unwrap();
    let attempts = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let second = Client::builder(&url)
        .token({
            let attempts = attempts.clone();
            move || {
                attempts.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                async { None }
            }
        })
        .backoff(Backoff::ExponentialJitter {
            initial: Duration::from_millis(1),
            max: Duration::from_millis(2),
            max_attempts: Some(2),
        })
        .build();
    match within("refusals", second.connect()).await {
        Err(ClientError::Connect(ConnectError::Rejected { status: 503, .. })) => {}
        other => panic!("expected a 503, got {other:?}"),
    }
    assert_eq!(attempts.load(std::sync::atomic::Ordering::SeqCst), 3);
}

#[tokio::test]
async fn heartbeat_against_the_server_keeps_the_connection() {
    let (tx, _seen) = probe();
    let server = start(&tx, false).await;
    let client = Client::builder(server.url())
        .token(|| async { Some("alice".to_owned()) })
        .heartbeat(Heartbeat {
            interval: Duration::from_millis(20),
            timeout: Duration::from_millis(150),
        })
        .build();
    let mut states = client.watch_state();
    within("connect", client.connect()).await.unwrap();
    states.borrow_and_update();
    // Four times the heartbeat timeout with no other traffic: only the server's heartbeat
    // answers keep the connection.
    let watched = tokio::time::timeout(Duration::from_millis(600), states.changed()).await;
    assert!(
        watched.is_err(),
        "the server answers heartbeats: no reconnect ({:?})",
        client.state()
    );
    assert_eq!(client.state(), ConnectionState::Open);
    // And requests still work.
    let shop = ShopClient::new(client.clone());
    assert_eq!(
        within(
            "price",
            shop.get_price(GetPrice { item: "x".into() }).into_future()
        )
        .await
        .unwrap()
        .cents,
        250
    );
    drop(server.handle);
}

wskit::protocol! {
    /// Another protocol, which the shop server does not serve.
    pub protocol Other {
        message Unknown { x: u32 }
        event Elsewhere { y: u32 }
    }
}

#[tokio::test]
async fn connect_close_and_hooks_against_the_server() {
    let (tx, mut seen) = probe();
    let server = start(&tx, false).await;
    let (report_tx, mut reports) = mpsc::unbounded_channel();
    let (unhandled_tx, mut unhandled) = mpsc::unbounded_channel();
    let client = Client::builder(server.url())
        .token(|| async { Some("alice".to_owned()) })
        .on_error(move |r| {
            let _ = report_tx.send(r);
        })
        .on_unhandled(move |u| {
            let _ = unhandled_tx.send(u);
        })
        .build();
    let watcher = record_states(&client, 5);
    let (a, b) = within("connect", async {
        tokio::join!(client.connect(), client.connect())
    })
    .await;
    a.unwrap();
    b.unwrap();
    assert_eq!(
        server.handle.connection_count(),
        1,
        "one connection for both connects"
    );

    // A message the server does not serve: its ERROR reaches on_error.
    client.send(Unknown { x: 1 }).unwrap();
    match within("the report", reports.recv()).await.unwrap() {
        wskit::client::ErrorReport::Server(e) => assert_eq!(e.code, ErrorCode::Unimplemented),
        other => panic!("expected the server's ERROR, got {other:?}"),
    }
    // An event only another protocol's stream could take: unhandled.
    let _other = client.events::<OtherEvent>();
    let shop = ShopClient::new(client.clone());
    shop.watch(Watch { room: "h".into() }).unwrap();
    assert_eq!(seen.next().await, "watch h");
    let announced = within(
        "announce",
        shop.announce(Announce {
            room: "h".into(),
            text: "hey".into(),
        })
        .into_future(),
    )
    .await
    .unwrap();
    assert_eq!(announced.matched, 1);
    assert_eq!(
        within("unhandled", unhandled.recv()).await.unwrap().ty,
        "ANNOUNCED"
    );

    let (_, ()) = tokio::join!(client.close(), client.close());
    client.close().await;
    assert_eq!(
        within("states", watcher).await.unwrap(),
        [
            ConnectionState::Closed,
            ConnectionState::Connecting,
            ConnectionState::Open,
            ConnectionState::Closing,
            ConnectionState::Closed
        ]
    );
    within("the server to see the close", async {
        while server.handle.connection_count() != 0 {
            tokio::task::yield_now().await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_calls_each_get_their_own_reply_and_progress() {
    let (tx, _seen) = probe();
    let server = start(&tx, false).await;
    let shop = connected(&server, "alice").await;
    // Fewer than the server's default 64 requests in flight, so none is refused.
    let calls: Vec<_> = (0..60u32)
        .map(|i| {
            let mut call = shop.count(Count { to: i % 7 });
            let mut progress = call.progress();
            tokio::spawn(async move {
                let reply = call.await;
                let mut updates = Vec::new();
                while let Some(p) = progress.recv().await {
                    updates.push(p.n);
                }
                (i, reply, updates)
            })
        })
        .collect();
    for call in calls {
        let (i, reply, updates) = within("a call", call).await.unwrap();
        assert_eq!(reply.unwrap().total, i % 7);
        assert_eq!(updates, (1..=i % 7).collect::<Vec<_>>());
    }
    assert_eq!(shop.inner().pending_requests(), 0);
}
