//! The wskit client against a real ws-kit server on Bun (`interop/server.ts`): a message, request
//! and reply, `RPC_ERROR`, progress, pub/sub delivery, auth by query and by subprotocol.
//!
//! Needs Bun and the ws-kit packages in `interop/node_modules` (`npm ci` in `interop/`; `.ci/run`
//! does it). Run with `cargo test -p wskit-tests --test main -- --ignored interop_bun`.

use std::path::PathBuf;
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use wskit::ErrorCode;
use wskit::client::{AuthTransport, Backoff, Client, ClientError, ConnectError, ProtocolPosition};
use wskit_tests::client_peer::within;

wskit::protocol! {
    /// The protocol of `interop/server.ts` (zod schemas there), declared on the Rust side.
    protocol Interop {
        message Chat { text: String }
        event Echoed { text: String, user: String }
        rpc GetUser(user_id: String) -> UserData { name: String }
        rpc WhoAmI(probe: bool) -> YouAre { user: String }
        /// ws-kit validates progress against the response schema: both share one shape.
        rpc Export(rows: u32) -> Exported { done: u32 } progress ExportUpdate { done: u32 }
        rpc Join(room: String) -> Joined { room: String }
        message Say { room: String, text: String }
        event NewMessage { room: String, text: String, from: String }
        /// ws-kit's `message("PING_NONE")` and `message("PING_EMPTY", {})`: each takes only
        /// its own form.
        message PingNone;
        event PongNone;
        message PingEmpty {}
        event PongEmpty {}
        rpc Touch() -> Touched {}
    }
}

/// The ws-kit server, killed when dropped.
pub(crate) struct BunServer {
    _child: Child,
    /// `host:port` it listens on.
    pub(crate) addr: String,
    /// Its WebSocket endpoint (`ws://<addr>/ws`).
    pub(crate) url: String,
}

async fn start_bun() -> BunServer {
    start_bun_script("server.ts", &[]).await
}

/// A ws-kit server on Bun: `interop/<script>` with environment `env`, which prints
/// `listening on <addr>` first.
pub(crate) async fn start_bun_script(script: &str, env: &[(&str, &str)]) -> BunServer {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let interop = root.join("interop");
    let bun = interop.join("node_modules/@oven/bun-linux-x64/bin/bun");
    assert!(
        bun.exists(),
        "Bun is missing at {}: run `npm ci` in interop/ (as .ci/run does)",
        bun.display()
    );
    let mut child = Command::new(&bun)
        .arg(script)
        .current_dir(&interop)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("start bun");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let line = within("the Bun server to listen", lines.next_line())
        .await
        .expect("read bun stdout")
        .expect("bun printed nothing");
    let addr = line
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line from bun: {line}"))
        .to_owned();
    BunServer {
        _child: child,
        url: format!("ws://{addr}/ws"),
        addr,
    }
}

fn client(server: &BunServer, token: &'static str, auth: AuthTransport) -> Client {
    Client::builder(server.url.clone())
        .token(move || async move { Some(token.to_owned()) })
        .auth(auth)
        .backoff(Backoff::Never)
        .build()
}

#[tokio::test]
#[ignore = "needs Bun: run by .ci/run"]
async fn wskit_client_talks_to_ws_kit_on_bun() {
    let server = start_bun().await;

    // Auth by query parameter.
    let alice = client(&server, "alice-token", AuthTransport::default());
    within("alice to connect", alice.connect()).await.unwrap();
    let me = within(
        "WHO_AM_I",
        alice.request(WhoAmI { probe: true }).into_future(),
    )
    .await;
    assert_eq!(me.unwrap().user, "alice");

    // Auth by subprotocol (appended after the application's own, and prepended).
    let bob = Client::builder(server.url.clone())
        .token(|| async { Some("bob-token".to_owned()) })
        .auth(AuthTransport::Subprotocol {
            prefix: "bearer.".into(),
            position: ProtocolPosition::Prepend,
        })
        .backoff(Backoff::Never)
        .build();
    within("bob to connect", bob.connect()).await.unwrap();
    let me = within(
        "WHO_AM_I",
        bob.request(WhoAmI { probe: true }).into_future(),
    )
    .await;
    assert_eq!(me.unwrap().user, "bob");
    let carol = Client::builder(server.url.clone())
        .token(|| async { Some("alice-token".to_owned()) })
        .auth(AuthTransport::Subprotocol {
            prefix: "bearer.".into(),
            position: ProtocolPosition::Append,
        })
        .protocols(["chat.v1"])
        .backoff(Backoff::Never)
        .build();
    within("carol to connect", carol.connect()).await.unwrap();
    let me = within(
        "WHO_AM_I",
        carol.request(WhoAmI { probe: true }).into_future(),
    )
    .await;
    assert_eq!(me.unwrap().user, "alice");
    carol.close().await;

    // A wrong token is refused at the upgrade, and `connect()` returns the refusal even with
    // the default backoff (unlimited attempts): a 401 is not retried.
    let mallory = Client::builder(server.url.clone())
        .token(|| async { Some("nope".to_owned()) })
        .build();
    match within("mallory to be refused", mallory.connect()).await {
        Err(ClientError::Connect(ConnectError::Rejected { status: 401, .. })) => {}
        other => panic!("expected a refused upgrade, got {other:?}"),
    }

    // From here on through the generated typed client.
    let api = InteropClient::new(alice.clone());

    // A message, answered with an event.
    let mut alice_events = api.events();
    api.chat(Chat {
        text: "hello".into(),
    })
    .unwrap();
    assert_eq!(
        within("ECHOED", alice_events.recv()).await,
        Some(InteropEvent::Echoed(Echoed {
            text: "hello".into(),
            user: "alice".into()
        }))
    );

    // Request and reply; RPC_ERROR.
    let user = within(
        "GET_USER",
        api.get_user(GetUser {
            user_id: "u1".into(),
        })
        .into_future(),
    )
    .await;
    assert_eq!(user.unwrap(), UserData { name: "Ada".into() });
    match within(
        "GET_USER",
        api.get_user(GetUser {
            user_id: "zz".into(),
        })
        .into_future(),
    )
    .await
    {
        Err(ClientError::Rpc(e)) => {
            assert_eq!(e.code, ErrorCode::NotFound);
            assert_eq!(e.message, "no such user");
            assert_eq!(e.details.unwrap()["userId"], "zz");
        }
        other => panic!("expected NOT_FOUND, got {other:?}"),
    }

    // Progress, in order, before the reply.
    let mut call = api.export(Export { rows: 4 });
    let mut progress = call.progress();
    let done = within("EXPORT", call.into_future()).await.unwrap();
    assert_eq!(done.done, 4);
    let mut updates = Vec::new();
    while let Some(u) = within("progress", progress.recv()).await {
        updates.push(u.done);
    }
    assert_eq!(updates, [1, 2, 3, 4]);

    // Pub/sub: both join, alice says something, both receive it (the publisher included).
    let mut bob_events = bob.events::<InteropEvent>();
    for c in [&alice, &bob] {
        let joined = within("JOIN", c.request(Join { room: "r1".into() }).into_future()).await;
        assert_eq!(joined.unwrap().room, "r1");
    }
    alice
        .send(Say {
            room: "r1".into(),
            text: "hi all".into(),
        })
        .unwrap();
    let expected = InteropEvent::NewMessage(NewMessage {
        room: "r1".into(),
        text: "hi all".into(),
        from: "alice".into(),
    });
    assert_eq!(
        within("bob's delivery", bob_events.recv()).await,
        Some(expected.clone())
    );
    assert_eq!(
        within("alice's delivery", alice_events.recv()).await,
        Some(expected)
    );

    // Both empty forms, written as declared: ws-kit drops the other form silently, so each
    // answer shows that the frame had the form the ws-kit server was declared with.
    api.ping_none(PingNone {}).unwrap();
    assert_eq!(
        within("PONG_NONE", alice_events.recv()).await,
        Some(InteropEvent::PongNone(PongNone {}))
    );
    api.ping_empty(PingEmpty {}).unwrap();
    assert_eq!(
        within("PONG_EMPTY", alice_events.recv()).await,
        Some(InteropEvent::PongEmpty(PongEmpty {}))
    );
    let touched = within("TOUCH", api.touch(Touch {}).into_future()).await;
    assert_eq!(touched.unwrap(), Touched {});

    alice.close().await;
    bob.close().await;
}

/// The frame forms ws-kit tells apart, read off the real peer with a raw socket: `"meta": null`
/// reads as `{}`; a message declared without a payload (`message("PING_NONE")`) and one declared
/// with an empty object (`message("PING_EMPTY", {})`) each take only their own form (ws-kit drops
/// the other silently), which is why wskit writes exactly the declared form.
#[tokio::test]
#[ignore = "needs Bun: run by .ci/run"]
async fn ws_kit_reads_null_meta_and_tells_no_payload_from_an_empty_one() {
    let server = start_bun().await;
    let mut c = wskit_tests::connect_to(format!("{}?access_token=alice-token", server.url)).await;
    c.send(r#"{"type":"CHAT","meta":null,"payload":{"text":"m"}}"#)
        .await;
    assert_eq!(
        c.recv().await,
        r#"{"type":"ECHOED","meta":{},"payload":{"text":"m","user":"alice"}}"#
    );
    // Each declared form is answered in its own form.
    c.send(r#"{"type":"PING_NONE"}"#).await;
    assert_eq!(c.recv().await, r#"{"type":"PONG_NONE","meta":{}}"#);
    c.send(r#"{"type":"PING_EMPTY","payload":{}}"#).await;
    assert_eq!(
        c.recv().await,
        r#"{"type":"PONG_EMPTY","meta":{},"payload":{}}"#
    );
    c.send(r#"{"type":"TOUCH","meta":{"correlationId":"t"},"payload":{}}"#)
        .await;
    assert_eq!(
        c.recv().await,
        r#"{"type":"TOUCHED","meta":{"correlationId":"t"},"payload":{}}"#
    );
    // The other form is dropped: the answer that comes next is the next frame's.
    c.send(r#"{"type":"PING_EMPTY"}"#).await;
    c.send(r#"{"type":"PING_NONE","payload":{}}"#).await;
    c.send(r#"{"type":"CHAT","payload":{"text":"after"}}"#)
        .await;
    assert_eq!(
        c.recv().await,
        r#"{"type":"ECHOED","meta":{},"payload":{"text":"after","user":"alice"}}"#
    );
}
