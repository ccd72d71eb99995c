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
