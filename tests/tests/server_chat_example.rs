//! The chat example (`cargo run --example chat`) behaves as the README's walkthrough shows.

use crate::chat_server;
use wskit_tests::*;

#[tokio::test]
async fn readme_walkthrough() {
    let server = start_server(chat_server::chat_server().unwrap()).await;
    let mut alice = connect_to(server.url("/?access_token=alice-token")).await;
    alice
        .send(r#"{"type":"JOIN_ROOM","payload":{"roomId":"general"}}"#)
        .await;
    alice
        .send(r#"{"type":"SEND_MESSAGE","payload":{"roomId":"general","text":"hello"}}"#)
        .await;
    assert_eq!(
        alice.recv().await,
        r#"{"type":"NEW_MESSAGE","payload":{"roomId":"general","user":"alice","text":"hello"}}"#
    );
    alice
        .send(r#"{"type":"LIST_MEMBERS","meta":{"correlationId":"1"},"payload":{"roomId":"general"}}"#)
        .await;
    assert_eq!(
        alice.recv().await,
        r#"{"type":"MEMBERS","meta":{"correlationId":"1"},"payload":{"roomId":"general","members":["alice"]}}"#
    );
    alice
        .send(r#"{"type":"SEND_MESSAGE","payload":{"roomId":"elsewhere","text":"hi"}}"#)
        .await;
    assert_eq!(
        alice.recv().await,
        r#"{"type":"ERROR","meta":{},"payload":{"code":"FAILED_PRECONDITION","message":"join the room first","details":{"type":"SEND_MESSAGE"}}}"#
    );

    // A second user, through the bearer subprotocol, sees joins, messages and leaves.
    let mut req = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
        server.url("/"),
    )
    .unwrap();
    req.headers_mut().insert(
        "sec-websocket-protocol",
        "bearer.bob-token".parse().unwrap(),
    );
    let mut bob = connect_to(req).await;
    bob.send(r#"{"type":"JOIN_ROOM","payload":{"roomId":"general"}}"#)
        .await;
    assert_eq!(
        alice.recv().await,
        r#"{"type":"USER_JOINED","payload":{"roomId":"general","user":"bob"}}"#
    );
    bob.send(r#"{"type":"SEND_MESSAGE","payload":{"roomId":"general","text":"hi alice"}}"#)
        .await;
    let line =
        r#"{"type":"NEW_MESSAGE","payload":{"roomId":"general","user":"bob","text":"hi alice"}}"#;
    assert_eq!(alice.recv().await, line);
    assert_eq!(bob.recv().await, line);
    bob.close(1000).await;
    assert_eq!(
        alice.recv().await,
        r#"{"type":"USER_LEFT","payload":{"roomId":"general","user":"bob"}}"#
    );

    assert_eq!(
        refused(server.url("/?access_token=mallory")).await,
        (401, "Unauthorized".to_owned())
    );
}

/// The example's origin policy: a page of another site is refused with 403 before auth; pages
/// served from this machine and clients that send no Origin (not browsers) connect.
#[tokio::test]
async fn chat_example_refuses_other_sites_pages() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let server = start_server(chat_server::chat_server().unwrap()).await;
    let from = |origin: &str| {
        let mut req = server
            .url("/?access_token=alice-token")
            .into_client_request()
            .unwrap();
        req.headers_mut().insert("origin", origin.parse().unwrap());
        req
    };
    assert_eq!(
        refused(from("https://evil.example")).await,
        (403, "Origin not allowed".to_owned())
    );
    assert_eq!(refused(from("http://127.0.0.1.evil.example")).await.0, 403);
    connect_to(from("http://127.0.0.1:3000")).await;
    connect_to(from("http://localhost")).await;
    connect_to(server.url("/?access_token=alice-token")).await;
}

/// The example budgets every inbound frame, bad ones and heartbeats included (which its rate
/// limit, a middleware, never sees): a client sending 150 frames at once has at most one
/// second's worth (50) and what refills read at first, gets every one answered in the end,
/// and does not keep another client waiting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_example_budgets_every_inbound_frame() {
    const FRAMES: usize = 150;
    let server = start_server(chat_server::chat_server().unwrap()).await;
    let mut flooder = connect_to(server.url("/?access_token=alice-token")).await;
    let sent = flooder.send_unrouted_burst(FRAMES).await;
    let window = sent + std::time::Duration::from_millis(500);
    let mut answered = flooder.answers_until(window).await;
    assert!(
        answered <= 50 + 25,
        "{answered} of {FRAMES} frames answered within 500 ms at 50 a second"
    );
    let mut bob = connect_to(server.url("/?access_token=bob-token")).await;
    bob.send(r#"{"type":"LIST_MEMBERS","meta":{"correlationId":"1"},"payload":{"roomId":"r"}}"#)
        .await;
    // (No such room: the answer is an error, but an answer.)
    let answer = bob.recv().await;
    assert!(answer.contains(r#""correlationId":"1""#), "{answer}");
    while answered < FRAMES {
        flooder.recv().await;
        answered += 1;
    }
    // 100 frames past the burst take 2 s at 50 a second.
    assert!(sent.elapsed() >= std::time::Duration::from_millis(1900));
}

/// One plain HTTP exchange with the embedded server: the whole answer, read until it closes.
async fn http_exchange(addr: std::net::SocketAddr, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        tcp.read_to_end(&mut out),
    )
    .await
    .expect("the server closes after its answer")
    .unwrap();
    String::from_utf8(out).unwrap()
}

/// The chat example serves its page through `http_handler` on the WebSocket's port: the page,
/// the bundle, `/whoami`; 404 and 405 otherwise; HEAD without a body; upgrades still work.
#[tokio::test]
async fn chat_example_serves_the_page() {
    let server = start_server(chat_server::chat_server().unwrap()).await;
    let get = |path: &str| format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");

    let page = http_exchange(server.addr, &get("/")).await;
    let (head, body) = page.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(head.contains("content-type: text/html; charset=utf-8"));
    assert!(head.contains(&format!("content-length: {}", body.len())));
    assert!(head.contains("connection: close"));
    assert_eq!(body, include_str!("../../examples/web/index.html"));

    let script = http_exchange(server.addr, &get("/chat.js")).await;
    assert!(script.starts_with("HTTP/1.1 200 OK\r\n"));
    assert!(script.ends_with(include_str!("../../examples/web/dist/chat.js")));

    let who = http_exchange(server.addr, &get("/whoami?access_token=carol-token")).await;
    assert!(
        who.starts_with("HTTP/1.1 200 OK\r\n") && who.ends_with("\r\n\r\ncarol"),
        "{who}"
    );
    let bad = http_exchange(
        server.addr,
        "GET /whoami HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer nope\r\n\r\n",
    )
    .await;
    assert!(bad.starts_with("HTTP/1.1 401 Unauthorized\r\n"), "{bad}");
    let missing = http_exchange(server.addr, &get("/nope")).await;
    assert!(missing.starts_with("HTTP/1.1 404 Not Found\r\n"));
    let post = http_exchange(server.addr, "POST / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(post.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"));
    let head = http_exchange(server.addr, "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(head.ends_with("connection: close\r\n\r\n"), "{head}");
    assert!(head.contains(&format!(
        "content-length: {}",
        include_str!("../../examples/web/index.html").len()
    )));

    // Upgrades on the same port and path are untouched.
    let mut alice = connect_to(server.url("/?access_token=alice-token")).await;
    alice
        .send(r#"{"type":"LIST_MEMBERS","meta":{"correlationId":"1"},"payload":{"roomId":"none"}}"#)
        .await;
    assert!(alice.recv().await.contains(r#""code":"NOT_FOUND""#));
}
