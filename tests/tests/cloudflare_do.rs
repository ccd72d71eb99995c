//! The chat protocol served from a Cloudflare Durable Object per room
//! (`examples/cloudflare-chat`, on `wskit-cloudflare`), run locally on workerd through miniflare
//! (`examples/cloudflare-chat/serve.mjs`), against the Rust client and raw sockets: auth refused
//! and accepted, frames answered exactly as the tokio chat server answers them (the same
//! `protocol!` block, `examples/chat_protocol.rs`, serves both; every frame of
//! `frame_table::chat_frames` among them), the limits (a frame over `max_frame_bytes` closes the
//! socket with 1009 as on the tokio server; a request past `max_in_flight` is refused), an rpc
//! with progress, two
//! clients of one room receiving each other's publications, and all of these again after the
//! object hibernated, with the same connected Rust clients (local workerd evicts an object whose
//! sockets have been idle for about 10 s; the example's `/stats` tells which instance answers
//! and how many were built).
//!
//! Needs the Worker built and Node: `worker-build --release --no-opt` and `npm ci` in
//! `examples/cloudflare-chat` (`.ci/run` does both). Run with
//! `cargo test -p wskit-tests -- --ignored cloudflare_do`.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use wskit::ErrorCode;
use wskit::client::{
    AuthTransport, Backoff, Client, ClientError, ConnectError, ConnectionState, ProtocolPosition,
};
use wskit_tests::*;

use crate::chat_protocol::NewMessage;
use crate::chat_protocol::*;
use crate::chat_server;

/// The example Worker on workerd (miniflare), stopped when dropped: serve.mjs disposes of
/// workerd and exits when its stdin closes (also when this process dies). Not killed: a killed
/// node would leave its workerd child running.
struct Workerd {
    _child: Child,
    _stdin: ChildStdin,
    /// `127.0.0.1:<port>`.
    addr: String,
}

impl Workerd {
    async fn start() -> Workerd {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/cloudflare-chat");
        for needed in ["build/index.js", "node_modules/miniflare"] {
            assert!(
                dir.join(needed).exists(),
                "{} is missing: in examples/cloudflare-chat, `npm ci` and \
                 `worker-build --release --no-opt` (see its README; .ci/run does both)",
                dir.join(needed).display()
            );
        }
        let mut child = Command::new("node")
            .arg("serve.mjs")
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start node serve.mjs");
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let line = within("workerd to listen", lines.next_line())
            .await
            .expect("read serve.mjs stdout")
            .expect("serve.mjs printed nothing");
        let addr = line
            .strip_prefix("listening on http://")
            .and_then(|rest| rest.strip_suffix('/'))
            .unwrap_or_else(|| panic!("unexpected first line from serve.mjs: {line}"))
            .to_owned();
        // The rest of its output (workerd's logs) goes on to be read, so that it never blocks.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Workerd {
            _child: child,
            _stdin: stdin,
            addr,
        }
    }

    /// The WebSocket endpoint of `room`, with `query` appended (`access_token=..`).
    fn url(&self, room: &str, query: &str) -> String {
        let sep = if query.is_empty() { "" } else { "&" };
        format!("ws://{}/ws?room={room}{sep}{query}", self.addr)
    }

    /// `GET /stats?room=..`: which instance of the room's object answers, how many instances
    /// of the object class this isolate built, how many sockets the object holds.
    async fn stats(&self, room: &str) -> Value {
        let mut tcp = tokio::net::TcpStream::connect(&self.addr).await.unwrap();
        let request = format!(
            "GET /stats?room={room} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        );
        tcp.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        within("GET /stats", tcp.read_to_string(&mut response))
            .await
            .unwrap();
        let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
        assert!(head.starts_with("HTTP/1.1 200"), "GET /stats: {head}");
        serde_json::from_str(body.trim()).unwrap_or_else(|e| panic!("{e}: {body:?}"))
    }
}

/// Sends an upgrade request over a plain socket and reads the refusal: status and body (read
/// whole, by its `Content-Length`: a WebSocket client library may stop at the head).
async fn upgrade_refused(addr: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = within("the refusal", tcp.read(&mut chunk)).await.unwrap();
        received.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&received).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                })
                .expect("a refusal with a Content-Length");
            if body.len() >= length {
                let status = head
                    .split(' ')
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .expect("a status line");
                return (status, body[..length].to_owned());
            }
        }
        assert!(
            n > 0,
            "connection closed before the whole refusal: {text:?}"
        );
    }
}

/// A chat client of `url` with this token (query parameter unless told otherwise).
fn chat_client(url: String, token: &'static str, transport: AuthTransport) -> (Client, ChatClient) {
    let client = Client::builder(url)
        .token(move || async move { Some(token.to_owned()) })
        .auth(transport)
        .backoff(Backoff::Never)
        .build();
    let chat = ChatClient::new(client.clone());
    (client, chat)
}

#[tokio::test]
#[ignore = "needs the Worker built and Node: run by .ci/run"]
async fn auth_refused_and_accepted_as_by_the_tokio_server() {
    let cf = Workerd::start().await;
    let tokio_server = start_server(chat_server::chat_server().unwrap()).await;
    let tokio_url = |query: &str| tokio_server.url(&format!("/?{query}"));

    // Refused: no token, an unknown one, tokens where they do not count. Same status and body
    // from both.
    let tokio_addr = tokio_server.addr.to_string();
    let refusals: [(&str, &[(&str, &str)]); 4] = [
        ("", &[]),
        ("access_token=nobody", &[]),
        ("", &[("sec-websocket-protocol", "chat.v1, alice-token")]),
        ("", &[("authorization", "Basic YWxpY2UtdG9rZW4=")]),
    ];
    for (query, headers) in refusals {
        let on_cf =
            upgrade_refused(&cf.addr, &format!("/ws?room=auth-room&{query}"), headers).await;
        assert_eq!(
            on_cf,
            (401, "Unauthorized".to_owned()),
            "{query:?} {headers:?}"
        );
        let on_tokio = upgrade_refused(&tokio_addr, &format!("/?{query}"), headers).await;
        assert_eq!(on_cf, on_tokio, "{query:?} {headers:?}");
    }

    // Accepted by each token transport, with the same subprotocol chosen and a client id.
    let offers: [(&str, Option<&str>, Option<&str>); 4] = [
        ("access_token=alice-token", None, None),
        ("", Some("bearer.bob-token"), None),
        ("", Some("chat.v1, bearer.bob-token"), None),
        ("", None, Some("Bearer carol-token")),
    ];
    for (query, protocols, authorization) in offers {
        let request = |url: String| {
            let mut req = url.into_client_request().unwrap();
            if let Some(p) = protocols {
                req.headers_mut()
                    .insert("sec-websocket-protocol", p.parse().unwrap());
            }
            if let Some(a) = authorization {
                req.headers_mut()
                    .insert("authorization", a.parse().unwrap());
            }
            req
        };
        let mut on_cf = connect_to(request(cf.url("auth-room", query))).await;
        let on_tokio = connect_to(request(tokio_url(query))).await;
        let chosen = |c: &wskit_tests::Client| {
            c.response
                .headers()
                .get("sec-websocket-protocol")
                .map(|v| v.to_str().unwrap().to_owned())
        };
        assert_eq!(chosen(&on_cf), chosen(&on_tokio), "{protocols:?}");
        assert_eq!(on_cf.client_id().len(), 36, "a UUID: {}", on_cf.client_id());
        // The connection works: an rpc is answered.
        on_cf
            .send(r#"{"type":"LIST_MEMBERS","meta":{"correlationId":"m"},"payload":{"roomId":"none"}}"#)
            .await;
        assert_eq!(code_of(&on_cf.recv_json().await), ErrorCode::NotFound);
    }

    // The Rust client, by query and by subprotocol.
    let subprotocol = AuthTransport::Subprotocol {
        prefix: "bearer.".into(),
        position: ProtocolPosition::Append,
    };
    for transport in [AuthTransport::default(), subprotocol] {
        let (client, chat) = chat_client(cf.url("auth-room", ""), "alice-token", transport);
        within("the client to connect", client.connect())
            .await
            .unwrap();
        match within(
            "LIST_MEMBERS",
            chat.list_members(ListMembers {
                room_id: "none".into(),
            })
            .into_future(),
        )
        .await
        {
            Err(ClientError::Rpc(e)) => assert_eq!(e.code, ErrorCode::NotFound),
            other => panic!("expected NOT_FOUND, got {other:?}"),
        }
    }
}

/// One step of a conversation: a frame sent by one of two users (0 alice, 1 bob), text or binary.
enum Step<S = &'static str> {
    Text(usize, S),
    Binary(usize, &'static [u8]),
}

/// A raw peer whose socket sends at once (`TCP_NODELAY`): a step writes its frame and then the
/// heartbeat, and with Nagle's algorithm the heartbeat would wait for the server to acknowledge the
/// frame, which it delays (by 40 ms on Linux) when it has no answer to send.
async fn connect_without_nagle(url: String) -> wskit_tests::Client {
    let upgrade = tokio_tungstenite::connect_async_with_config(url, None, true);
    let (ws, response) = within("the upgrade", upgrade).await.expect("upgrade");
    wskit_tests::Client { ws, response }
}

/// What each user received after each step: the frames before the heartbeat ack that follows
/// the step on every connection (frames are answered in order; the ack itself, which carries
/// the server's time, is left out).
async fn transcript<S: AsRef<str>>(
    url: impl Fn(&str) -> String,
    steps: &[Step<S>],
) -> Vec<[Vec<String>; 2]> {
    let mut users = [
        connect_without_nagle(url("access_token=alice-token")).await,
        connect_without_nagle(url("access_token=bob-token")).await,
    ];
    let mut out = Vec::new();
    for step in steps {
        match step {
            Step::Text(who, text) => users[*who].send(text.as_ref()).await,
            Step::Binary(who, bytes) => users[*who].send_binary(bytes).await,
        }
        let mut received = [Vec::new(), Vec::new()];
        for (who, user) in users.iter_mut().enumerate() {
            received[who] = user.frames_before_ack().await;
        }
        out.push(received);
    }
    out
}

#[tokio::test]
#[ignore = "needs the Worker built and Node: run by .ci/run"]
async fn frames_answered_as_by_the_tokio_server() {
    use Step::*;
    let steps = [
        Text(0, "not json"),
        Text(0, "[]"),
        Text(0, r#"{"type":7}"#),
        Text(0, r#"{"type":"NO_SUCH_TYPE","payload":{}}"#),
        Text(0, r#"{"type":"$ws:nope"}"#),
        Text(0, r#"{"type":"JOIN_ROOM"}"#),
        Text(0, r#"{"type":"JOIN_ROOM","payload":{"roomId":""}}"#),
        Text(
            0,
            r#"{"type":"JOIN_ROOM","payload":{"roomId":"r","extra":1}}"#,
        ),
        Text(
            0,
            r#"{"type":"JOIN_ROOM","meta":{"correlationId":5},"payload":{"roomId":"r"}}"#,
        ),
        Text(
            0,
            r#"{"type":"SEND_MESSAGE","payload":{"roomId":"r","text":"too early"}}"#,
        ),
        Text(0, r#"{"type":"LIST_MEMBERS","payload":{"roomId":"r"}}"#),
        Text(
            0,
            r#"{"type":"LIST_MEMBERS","meta":{"correlationId":"1"},"payload":{"roomId":"r"}}"#,
        ),
        Text(
            0,
            r#"{"type":"$ws:abort","meta":{"correlationId":"nothing-running"}}"#,
        ),
        Binary(0, br#"{"type":"JOIN_ROOM","payload":{"roomId":"r"}}"#),
        Text(1, r#"{"type":"JOIN_ROOM","payload":{"roomId":"r"}}"#),
        Text(
            1,
            r#"{"type":"SEND_MESSAGE","meta":{"clientTs":1},"payload":{"roomId":"r","text":"hi"}}"#,
        ),
        Text(
            1,
            r#"{"type":"SEND_MESSAGE","payload":{"roomId":"r","text":"hi"}}"#,
        ),
        Text(
            0,
            r#"{"type":"LIST_MEMBERS","meta":{"correlationId":"2"},"payload":{"roomId":"r"}}"#,
        ),
        // A room without history: no page to wait for (a page's wait would race the ack).
        Text(
            0,
            r#"{"type":"HISTORY","meta":{"correlationId":"3"},"payload":{"roomId":"quiet"}}"#,
        ),
        Text(1, r#"{"type":"LEAVE_ROOM","payload":{"roomId":"r"}}"#),
        Text(1, r#"{"type":"LEAVE_ROOM","payload":{"roomId":"r"}}"#),
    ];
    let cf = Workerd::start().await;
    let tokio_server = start_server(chat_server::chat_server().unwrap()).await;
    let on_cf = transcript(|q| cf.url("frames-room", q), &steps).await;
    let on_tokio = transcript(|q| tokio_server.url(&format!("/?{q}")), &steps).await;
    for (i, (cf_step, tokio_step)) in on_cf.iter().zip(&on_tokio).enumerate() {
        assert_eq!(cf_step, tokio_step, "step {i}");
    }
    // The heartbeat ack carries the object's clock (Date.now() on workerd).
    let mut alice = connect_to(cf.url("frames-room", "access_token=alice-token")).await;
    alice.send(r#"{"type":"__heartbeat","extra":1}"#).await;
    let ack = alice.recv_json().await;
    assert_eq!(ack["type"], "__heartbeat_ack", "{ack}");
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let ts = ack["meta"]["ts"].as_i64().expect("meta.ts, a number");
    assert!((ts - now_ms).abs() < 60_000, "ts {ts}, now {now_ms}");
    // Not vacuous: every bad frame got an answer, and bob's line reached both.
    assert!(on_cf[..12].iter().all(|[alice, _]| alice.len() == 1));
    let line = r#"{"type":"NEW_MESSAGE","payload":{"roomId":"r","user":"bob","text":"hi"}}"#;
    assert_eq!(on_cf[16], [[line], [line]]);
}

/// Frames of the chat table sent over one pair of connections: the tokio chat server lets a
/// connection make 20 requests at once (then 5 a second, `RateLimit::per_connection(20, 5.0)`;
/// the Durable Object has no rate limit), and alice's requests in a batch are at most this many
/// frames, her join and her leaves (16).
const TABLE_BATCH: usize = 10;

/// At most this many characters of a frame in a report of differences.
fn shortened(frame: &str) -> String {
    match frame.char_indices().nth(300) {
        Some((at, _)) => format!("{}... ({} bytes)", &frame[..at], frame.len()),
        None => frame.to_owned(),
    }
}

/// Every frame of the chat table (`frame_table::chat_frames`: each meta shape times payloads of
/// every chat type, and the envelope oddities) answered by the Durable Object exactly as by the
/// tokio chat server: what the sender receives and what a listener in the same room receives.
///
/// Deterministic by construction: the frames go in batches, each on a new pair of connections
/// (alice sends, bob listens) that starts the same way (both join `r`) and ends the same way
/// (alice leaves every room a frame of the table can join, bob leaves `r`: these answers are
/// compared too), so that every batch finds the same rooms and members on both servers. The
/// answers carry no time or client id (the heartbeat acks, which carry the server's time, are
/// not part of a transcript), so nothing is normalised.
#[tokio::test]
#[ignore = "needs the Worker built and Node: run by .ci/run"]
async fn every_frame_of_the_chat_table_answered_as_by_the_tokio_server() {
    let frames = frame_table::chat_frames();
    let json = |room: &str| serde_json::to_string(room).unwrap();
    let join = |room: &str| {
        format!(
            r#"{{"type":"JOIN_ROOM","payload":{{"roomId":{}}}}}"#,
            json(room)
        )
    };
    let leave = |room: &str| {
        format!(
            r#"{{"type":"LEAVE_ROOM","payload":{{"roomId":{}}}}}"#,
            json(room)
        )
    };
    let cf = Workerd::start().await;
    let tokio_server = start_server(chat_server::chat_server().unwrap()).await;
    let started = std::time::Instant::now();
    let mut differences = Vec::new();
    let mut seen = BTreeSet::new();
    for batch in frames.chunks(TABLE_BATCH) {
        let mut steps = vec![Step::Text(0, join("r")), Step::Text(1, join("r"))];
        steps.extend(batch.iter().map(|f| Step::Text(0, f.clone())));
        steps.extend(
            frame_table::chat_rooms()
                .iter()
                .map(|r| Step::Text(0, leave(r))),
        );
        steps.push(Step::Text(1, leave("r")));
        let (on_cf, on_tokio) = tokio::join!(
            transcript(|q| cf.url("table-room", q), &steps),
            transcript(|q| tokio_server.url(&format!("/?{q}")), &steps),
        );
        for ((step, cf_step), tokio_step) in steps.iter().zip(&on_cf).zip(&on_tokio) {
            for frame in cf_step.iter().flatten() {
                let value: Value = serde_json::from_str(frame).unwrap();
                seen.insert(value["type"].as_str().unwrap_or_default().to_owned());
            }
            if cf_step != tokio_step {
                let Step::Text(who, sent) = step else {
                    unreachable!("text steps only")
                };
                let show = |answers: &[Vec<String>; 2]| {
                    answers
                        .each_ref()
                        .map(|a| a.iter().map(|f| shortened(f)).collect::<Vec<_>>())
                };
                differences.push(format!(
                    "{} sent {}\n  durable object: {:?}\n  tokio:          {:?}",
                    ["alice", "bob"][*who],
                    shortened(sent),
                    show(cf_step),
                    show(tokio_step)
                ));
            }
        }
    }
    eprintln!(
        "{} frames of the chat table in {:?}",
        frames.len(),
        started.elapsed()
    );
    assert!(
        differences.is_empty(),
        "{} answers differ ({} frames):\n{}",
        differences.len(),
        frames.len(),
        differences.join("\n")
    );
    assert!(frames.len() > 2000, "the table has {} frames", frames.len());
    // Not vacuous: every kind of answer and publication came up.
    let expected = [
        "$ws:rpc-progress",
        "ERROR",
        "HISTORY_PAGE",
        "MEMBERS",
        "NEW_MESSAGE",
        "RPC_ERROR",
        "USER_JOINED",
        "USER_LEFT",
    ];
    assert_eq!(seen, BTreeSet::from(expected.map(str::to_owned)));
}

/// PROTOCOL.md section 3: a binary frame that is not UTF-8 is bad input like any other (the
/// connection lives on).
#[tokio::test]
#[ignore = "needs the Worker built and Node: run by .ci/run"]
async fn binary_frame_not_utf8_answered_as_by_the_tokio_server() {
    let steps = [
        Step::Binary(0, b"\xff\xfe"),
        Step::Text(0, r#"{"type":"JOIN_ROOM","payload":{"roomId":"r"}}"#),
    ];
    let cf = Workerd::start().await;
    let tokio_server = start_server(chat_server::chat_server().unwrap()).await;
    let on_tokio = transcript(|q| tokio_server.url(&format!("/?{q}")), &steps).await;
    let on_cf = transcript(|q| cf.url("binary-room", q), &steps).await;
    assert_eq!(on_cf, on_tokio);
}

#[tokio::test]
#[ignore = "needs the Worker built and Node: run by .ci/run"]
async fn rpc_with_progress_on_the_durable_object() {
    let cf = Workerd::start().await;
    let (client, chat) = chat_client(
        cf.url("progress-room", ""),
        "alice-token",
        AuthTransport::default(),
    );
    within("connect", client.connect()).await.unwrap();
    let mut events = chat.events();
    chat.join_room(JoinRoom {
        room_id: "r".into(),
    })
    .unwrap();
    for i in 0..12 {
        chat.send_message(SendMessage {
            room_id: "r".into(),
            text: format!("line {i}"),
        })
        .unwrap();
    }
    // The sender receives its own lines; the last one means all are in the history.
    for i in 0..12 {
        match within("own line", events.recv()).await {
            Some(ChatEvent::NewMessage(m)) => assert_eq!(m.text, format!("line {i}")),
            other => panic!("expected NEW_MESSAGE, got {other:?}"),
        }
    }
    let mut call = chat.history(History {
        room_id: "r".into(),
    });
    let mut progress = call.progress();
    let page = within("HISTORY", call.into_future()).await.unwrap();
    let texts: Vec<_> = page.lines.iter().map(|l| l.text.as_str()).collect();
    let expected: Vec<_> = (0..12).map(|i| format!("line {i}")).collect();
    assert_eq!(texts, expected);
    let mut updates = Vec::new();
    while let Some(u) = within("progress", progress.recv()).await {
        updates.push((u.done, u.total));
    }
    assert_eq!(updates, [(0, 12), (5, 12), (10, 12), (12, 12)]);
}

/// Deadlines and aborts of a running rpc on the object: its timer (`Host::sleep`, a workerd
/// `setTimeout`) and a frame handled while another's handler waits.
#[tokio::test]
#[ignore = "needs the Worker built and Node: run by .ci/run"]
async fn rpc_deadline_and_abort_on_the_durable_object() {
    let cf = Workerd::start().await;
    let mut alice = connect_to(cf.url("deadline-room", "access_token=alice-token")).await;
    alice
        .send(r#"{"type":"JOIN_ROOM","payload":{"roomId":"r"}}"#)
        .await;
    for i in 0..12 {
        let say = format!(r#"{{"type":"SEND_MESSAGE","payload":{{"roomId":"r","text":"{i}"}}}}"#);
        alice.send(&say).await;
        assert_eq!(alice.recv_json().await["type"], "NEW_MESSAGE");
    }
    // Three pages of 20 ms: a 30 ms deadline passes first.
    alice
        .send(r#"{"type":"HISTORY","meta":{"correlationId":"d","timeoutMs":30},"payload":{"roomId":"r"}}"#)
        .await;
    let mut frames = Vec::new();
    loop {
        let frame = alice.recv_json().await;
        let end = frame["type"] != "$ws:rpc-progress";
        frames.push(frame);
        if end {
            break;
        }
    }
    let last = frames.last().unwrap();
    assert_eq!(
        (last["type"].as_str(), code_of(last)),
        (Some("RPC_ERROR"), ErrorCode::DeadlineExceeded),
        "{frames:?}"
    );
    assert!(
        frames.len() < 4,
        "not every page before the deadline: {frames:?}"
    );
    // Nothing more for that request: the next frame is the ack of a later heartbeat.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(alice.frames_before_ack().await.is_empty());

    // Aborted while it waits: progress 0 only, no terminal frame.
    alice
        .send(r#"{"type":"HISTORY","meta":{"correlationId":"a"},"payload":{"roomId":"r"}}"#)
        .await;
    let first = alice.recv_json().await;
    assert_eq!(
        first["payload"],
        serde_json::json!({"done": 0, "total": 12})
    );
    alice
        .send(r#"{"type":"$ws:abort","meta":{"correlationId":"a"}}"#)
        .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(alice.frames_before_ack().await.is_empty());
}

/// A `LIST_MEMBERS` frame of exactly `len` bytes (its room id fills it): answered `NOT_FOUND`.
fn list_members_of_len(len: usize) -> String {
    let (head, tail) = (
        r#"{"type":"LIST_MEMBERS","meta":{"correlationId":"big"},"payload":{"roomId":""#,
        r#""}}"#,
    );
    let frame = format!("{head}{}{tail}", "x".repeat(len - head.len() - tail.len()));
    assert_eq!(frame.len(), len);
    frame
}

/// The example's `max_frame_bytes` (64 KiB, the tokio chat server's `MAX_FRAME_BYTES`) on
/// workerd: a frame at the limit is answered, one byte more (text or binary) closes the socket
/// with 1009 "frame too big", as on the tokio chat server.
#[tokio::test]
#[ignore = "needs the Worker built and Node: run by .ci/run"]
async fn a_frame_over_max_frame_bytes_closes_with_1009_as_on_the_tokio_server() {
    let cf = Workerd::start().await;
    let tokio_server = start_server(chat_server::chat_server().unwrap()).await;
    let limit = chat_server::MAX_FRAME_BYTES;
    let at = list_members_of_len(limit);
    let over = list_members_of_len(limit + 1);
    for binary in [false, true] {
        let mut closes = Vec::new();
        let mut answers = Vec::new();
        for url in [
            cf.url("limit-room", "access_token=alice-token"),
            tokio_server.url("/?access_token=alice-token"),
        ] {
            let mut c = connect_to(url).await;
            c.send(&at).await;
            let answered = c.frames_before_ack().await;
            assert_eq!(answered.len(), 1, "{binary}");
            let frame: Value = serde_json::from_str(&answered[0]).unwrap();
            assert_eq!(code_of(&frame), ErrorCode::NotFound, "{binary}");
            answers.push(answered);
            if binary {
                c.send_binary(over.as_bytes()).await;
            } else {
                c.send(&over).await;
            }
            closes.push(c.recv_close().await);
        }
        let expected = (Some((1009, "frame too big".to_owned())), Vec::new());
        assert_eq!(closes[0], expected, "binary: {binary}");
        assert_eq!(closes[1], expected, "binary: {binary}");
        assert_eq!(answers[0], answers[1], "binary: {binary}");
    }
}

/// The Durable Object's limit of requests in flight on one connection (64, the default of both
/// hosts): with 64 `HISTORY` rpcs waiting for their pages (100 lines: 20 pages of 20 ms, 400 ms
/// each), a 65th is refused at once with the frame the tokio server writes for it; the 64 are
/// answered, and the connection then takes requests again. (The tokio chat server refuses the
/// 21st request of a burst first, by its rate limit: it cannot be compared on this.)
#[tokio::test]
#[ignore = "needs the Worker built and Node: run by .ci/run"]
async fn the_request_past_max_in_flight_is_refused_on_the_durable_object() {
    let cf = Workerd::start().await;
    let mut alice = connect_to(cf.url("busy-room", "access_token=alice-token")).await;
    alice
        .send(r#"{"type":"JOIN_ROOM","payload":{"roomId":"r"}}"#)
        .await;
    for i in 0..100 {
        let say = format!(r#"{{"type":"SEND_MESSAGE","payload":{{"roomId":"r","text":"{i}"}}}}"#);
        alice.send(&say).await;
    }
    for _ in 0..100 {
        assert_eq!(alice.recv_json().await["type"], "NEW_MESSAGE");
    }
    let limit = wskit::limits::DEFAULT_MAX_IN_FLIGHT;
    let history = |i: usize| {
        format!(
            r#"{{"type":"HISTORY","meta":{{"correlationId":"h{i}"}},"payload":{{"roomId":"r"}}}}"#
        )
    };
    for i in 0..=limit {
        alice.send(&history(i)).await;
    }
    let refusal = error_frame(
        Some(&format!("h{limit}")),
        &wskit::wire::inbound::too_many_in_flight(limit),
    );
    // Every frame until the 64 pages: the refusal comes before the first page.
    let mut pages = BTreeSet::new();
    let mut refused_at = None;
    let mut received = 0;
    while pages.len() < limit {
        let frame = alice.recv().await;
        if frame == refusal {
            refused_at = Some(received);
        } else {
            let value: Value = serde_json::from_str(&frame).unwrap();
            match value["type"].as_str() {
                Some("$ws:rpc-progress") => {}
                Some("HISTORY_PAGE") => {
                    assert!(refused_at.is_some(), "a page before the refusal");
                    assert_eq!(
                        value["payload"]["lines"].as_array().map(Vec::len),
                        Some(100)
                    );
                    pages.insert(value["meta"]["correlationId"].as_str().unwrap().to_owned());
                }
                _ => panic!("unexpected {frame}"),
            }
        }
        received += 1;
    }
    assert!(refused_at.is_some(), "no refusal");
    assert_eq!(pages, (0..limit).map(|i| format!("h{i}")).collect());
    // Nothing more, and the slots are free again: one more is answered.
    assert!(alice.frames_before_ack().await.is_empty());
    alice.send(&history(limit)).await;
    loop {
        let value = alice.recv_json().await;
        if value["type"] != "$ws:rpc-progress" {
            assert_eq!(value["type"], "HISTORY_PAGE", "{value}");
            break;
        }
    }
}

/// Topics live in the socket's attachment (workerd: at most 16 KiB): a subscription that would
/// not fit is refused with an answer, and the connection goes on with the topics it has.
#[tokio::test]
#[ignore = "needs the Worker built and Node: run by .ci/run"]
async fn a_subscription_past_the_attachment_limit_is_refused() {
    let cf = Workerd::start().await;
    let mut alice = connect_to(cf.url("full-room", "access_token=alice-token")).await;
    // 64 characters: `"room:<id>",` among the topics and `"<id>",` among the connection
    // data's rooms are 139 bytes of the attachment a room: 16384 / 139 = 117.
    let room = |i: usize| format!("{i:0>64}");
    let join = |i: usize| {
        format!(
            r#"{{"type":"JOIN_ROOM","payload":{{"roomId":"{}"}}}}"#,
            room(i)
        )
    };
    let mut refused_at = None;
    for i in 0..400 {
        alice.send(&join(i)).await;
        if let Some(answer) = alice.frames_before_ack().await.first() {
            let frame: Value = serde_json::from_str(answer).unwrap();
            assert_eq!(code_of(&frame), ErrorCode::ResourceExhausted, "{answer}");
            assert!(answer.contains("attachment"), "{answer}");
            refused_at = Some(i);
            break;
        }
    }
    let joined = refused_at.expect("a subscription refused");
    assert!(
        (110..=117).contains(&joined),
        "refused after {joined} rooms"
    );
    // The rooms joined before still work, the refused one does not.
    let say = |i: usize| {
        format!(
            r#"{{"type":"SEND_MESSAGE","payload":{{"roomId":"{}","text":"hi"}}}}"#,
            room(i)
        )
    };
    alice.send(&say(0)).await;
    let line = alice.recv_json().await;
    assert_eq!(
        (line["type"].as_str(), line["payload"]["roomId"].as_str()),
        (Some("NEW_MESSAGE"), Some(room(0).as_str()))
    );
    alice.send(&say(joined)).await;
    let refused = alice.recv_json().await;
    assert_eq!(
        code_of(&refused),
        ErrorCode::FailedPrecondition,
        "{refused}"
    );
}

/// A client's typed event stream.
type ChatEvents = wskit::client::Events<ChatEvent>;

/// The next event of `events` (failing the test after [`LIMIT`] or if the stream ended).
async fn next_event(events: &mut ChatEvents, what: &str) -> ChatEvent {
    within(what, events.recv())
        .await
        .unwrap_or_else(|| panic!("the event stream ended, waiting for {what}"))
}

/// A line of the room `general`, as its subscribers receive it.
fn said(user: &str, text: &str) -> ChatEvent {
    ChatEvent::NewMessage(NewMessage {
        room_id: "general".into(),
        user: user.into(),
        text: text.into(),
    })
}

/// `user` says `text` in `general`; every one of `hearers` (the speaker among them) receives
/// it as its next event.
async fn say(speaker: &ChatClient, user: &str, text: &str, hearers: &mut [&mut ChatEvents]) {
    speaker
        .send_message(SendMessage {
            room_id: "general".into(),
            text: text.into(),
        })
        .unwrap();
    for (i, events) in hearers.iter_mut().enumerate() {
        assert_eq!(
            next_event(events, &format!("{user}'s {text:?} at hearer {i}")).await,
            said(user, text)
        );
    }
}

/// Alice and bob (Rust clients) in `general`, `rounds` times each saying a line in turn: each
/// receives the other's lines and their own. Returns the lines said, as the history keeps them.
async fn converse(
    alice: (&ChatClient, &mut ChatEvents),
    bob: (&ChatClient, &mut ChatEvents),
    tag: &str,
    rounds: usize,
) -> Vec<Line> {
    let (alice, alice_events) = alice;
    let (bob, bob_events) = bob;
    let mut lines = Vec::new();
    for i in 0..rounds {
        // Alice, then bob: the other hears it first, then the speaker.
        for alice_speaks in [true, false] {
            let (speaker, user, other, mut hearers) = if alice_speaks {
                (
                    alice,
                    "alice",
                    "bob",
                    [&mut *bob_events, &mut *alice_events],
                )
            } else {
                (bob, "bob", "alice", [&mut *alice_events, &mut *bob_events])
            };
            let text = format!("hi {other}, {tag} {i}");
            say(speaker, user, &text, &mut hearers).await;
            lines.push(Line {
                user: user.into(),
                text,
            });
        }
    }
    lines
}

/// Members of `general`, by a `LIST_MEMBERS` rpc of `chat`.
async fn members_of_general(chat: &ChatClient) -> Vec<String> {
    let call = chat.list_members(ListMembers {
        room_id: "general".into(),
    });
    within("LIST_MEMBERS", call.into_future())
        .await
        .expect("the members of general")
        .members
}

/// Bad frames sent by a connection holding no room: each is answered by one error frame.
const BAD_FRAMES: [&str; 3] = [
    "not json",
    r#"{"type":"JOIN_ROOM","payload":{"roomId":""}}"#,
    r#"{"type":"SEND_MESSAGE","payload":{"roomId":"general","text":"not joined"}}"#,
];

/// Sends each of [`BAD_FRAMES`] and returns what answered each (before the heartbeat ack).
async fn answers_to_bad_frames(socket: &mut wskit_tests::Client) -> Vec<Vec<String>> {
    let mut answers = Vec::new();
    for frame in BAD_FRAMES {
        socket.send(frame).await;
        answers.push(socket.frames_before_ack().await);
    }
    answers
}

/// Issue 16's whole list on one room, before and after its object hibernates, with the same
/// connected Rust clients throughout: publications both ways, then, once a new instance of the
/// object answers (rebuilt from the sockets' attachments and its storage), publications both
/// ways again, an rpc with progress, bad frames answered (on a raw socket held through the
/// hibernation), a new connection refused (401) and another accepted into the same room.
#[tokio::test]
#[ignore = "needs the Worker built and Node: run by .ci/run"]
async fn two_clients_in_a_room_before_and_after_hibernation() {
    let cf = Workerd::start().await;
    let tokio_server = start_server(chat_server::chat_server().unwrap()).await;
    let room = "hibernation-room";
    let connected = |token: &'static str, transport: AuthTransport| {
        let (client, chat) = chat_client(cf.url(room, ""), token, transport);
        async move {
            within("the client to connect", client.connect())
                .await
                .unwrap_or_else(|e| panic!("{token}: {e:?}"));
            let events = chat.events();
            (client, chat, events)
        }
    };
    let general = || JoinRoom {
        room_id: "general".into(),
    };
    let (_alice_client, alice, mut alice_events) =
        connected("alice-token", AuthTransport::default()).await;
    let (bob_client, bob, mut bob_events) = connected("bob-token", AuthTransport::default()).await;
    alice.join_room(general()).unwrap();
    assert_eq!(members_of_general(&alice).await, ["alice"]);
    bob.join_room(general()).unwrap();
    assert_eq!(
        next_event(&mut alice_events, "bob joining").await,
        ChatEvent::UserJoined(UserJoined {
            room_id: "general".into(),
            user: "bob".into(),
        })
    );
    let mut history = converse(
        (&alice, &mut alice_events),
        (&bob, &mut bob_events),
        "before",
        3,
    )
    .await;
    // A raw socket of the room that joins nothing, idle through the hibernation: the bad frames
    // go there after it.
    let mut raw = connect_to(cf.url(room, "access_token=carol-token")).await;
    assert!(raw.frames_before_ack().await.is_empty());
    // A room of another object does not hear any of it.
    let mut elsewhere = connect_to(cf.url("another-room", "access_token=carol-token")).await;
    elsewhere
        .send(r#"{"type":"JOIN_ROOM","payload":{"roomId":"general"}}"#)
        .await;
    assert!(elsewhere.frames_before_ack().await.is_empty());

    let before = cf.stats(room).await;
    assert_eq!(before["sockets"], 3, "{before}");

    // Idle: local workerd evicts the object after about 10 s without events on its sockets (11 s
    // was enough on an idle machine; 15 s leaves room for a loaded one). The one wait of the
    // test: everything below runs on the object that hibernated.
    tokio::time::sleep(Duration::from_secs(15)).await;

    // The same clients, on the sockets that stayed open: the connection data (who, which rooms:
    // SEND_MESSAGE refuses a room not joined) and the subscriptions come back from the
    // attachments. Alice's first line is the event that wakes the object.
    history.extend(
        converse(
            (&alice, &mut alice_events),
            (&bob, &mut bob_events),
            "after",
            1,
        )
        .await,
    );
    let after = cf.stats(room).await;
    assert_ne!(
        after["instance"], before["instance"],
        "the object was not evicted: {before} {after}"
    );
    assert!(
        after["constructed"].as_u64() > before["constructed"].as_u64(),
        "{before} {after}"
    );
    assert_eq!(after["sockets"], 3, "{after}");

    // An rpc with progress: the history (kept in the object's storage) of all 8 lines, in pages
    // of 5, with an update before the first page and after each.
    let mut call = bob.history(History {
        room_id: "general".into(),
    });
    let mut progress = call.progress();
    let page = within("HISTORY", call.into_future()).await.unwrap();
    assert_eq!(page.room_id, "general");
    assert_eq!(page.lines, history);
    let mut updates = Vec::new();
    while let Some(u) = within("progress", progress.recv()).await {
        updates.push((u.done, u.total));
    }
    assert_eq!(updates, [(0, 8), (5, 8), (8, 8)]);
    assert_eq!(members_of_general(&bob).await, ["alice", "bob"]);

    // Bad frames on the socket held through the hibernation: answered, each by one error frame,
    // exactly as the tokio chat server answers them.
    let on_cf = answers_to_bad_frames(&mut raw).await;
    let mut on_tokio_socket = connect_to(tokio_server.url("/?access_token=carol-token")).await;
    let on_tokio = answers_to_bad_frames(&mut on_tokio_socket).await;
    assert_eq!(on_cf, on_tokio);
    let codes: Vec<_> = on_cf
        .iter()
        .map(|answers| {
            assert_eq!(answers.len(), 1, "{answers:?}");
            let frame: Value = serde_json::from_str(&answers[0]).unwrap();
            assert_eq!(frame["type"], "ERROR", "{frame}");
            code_of(&frame)
        })
        .collect();
    assert_eq!(
        codes,
        [
            ErrorCode::InvalidArgument,
            ErrorCode::InvalidArgument,
            ErrorCode::FailedPrecondition
        ]
    );

    // A new connection to the room: refused with a token nobody has, accepted with carol's
    // (by subprotocol this time), into the same room as alice and bob.
    let (refused, _) = chat_client(cf.url(room, ""), "nobody-token", AuthTransport::default());
    // The client's `body` is only what arrived with the response's head (tungstenite reads no
    // further), and workerd sends the body after it: the body is checked on a plain socket.
    match within("the refusal", refused.connect()).await {
        Err(ClientError::Connect(ConnectError::Rejected { status, .. })) => {
            assert_eq!(status, 401);
        }
        other => panic!("expected a 401, got {other:?}"),
    }
    assert_eq!(refused.state(), ConnectionState::Closed);
    let path = format!("/ws?room={room}&access_token=nobody-token");
    assert_eq!(
        upgrade_refused(&cf.addr, &path, &[]).await,
        (401, "Unauthorized".to_owned())
    );
    let subprotocol = AuthTransport::Subprotocol {
        prefix: "bearer.".into(),
        position: ProtocolPosition::Append,
    };
    let (_carol_client, carol, mut carol_events) = connected("carol-token", subprotocol).await;
    carol.join_room(general()).unwrap();
    let joined = ChatEvent::UserJoined(UserJoined {
        room_id: "general".into(),
        user: "carol".into(),
    });
    assert_eq!(next_event(&mut alice_events, "carol joining").await, joined);
    assert_eq!(next_event(&mut bob_events, "carol joining").await, joined);
    assert_eq!(members_of_general(&carol).await, ["alice", "bob", "carol"]);
    say(
        &carol,
        "carol",
        "hi both",
        &mut [&mut alice_events, &mut bob_events, &mut carol_events],
    )
    .await;
    say(
        &alice,
        "alice",
        "hi carol",
        &mut [&mut carol_events, &mut bob_events, &mut alice_events],
    )
    .await;
    // All of it on the instance that woke up (no second eviction in between).
    let last = cf.stats(room).await;
    assert_eq!(last["instance"], after["instance"], "{after} {last}");
    assert_eq!(last["sockets"], 4, "{last}");
    assert!(elsewhere.frames_before_ack().await.is_empty());

    // A leave after hibernation is published to the room as well.
    bob_client.close().await;
    let left = ChatEvent::UserLeft(UserLeft {
        room_id: "general".into(),
        user: "bob".into(),
    });
    assert_eq!(next_event(&mut alice_events, "bob leaving").await, left);
    assert_eq!(next_event(&mut carol_events, "bob leaving").await, left);
}
