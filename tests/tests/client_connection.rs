//! Connecting and closing (idempotent), the states, waiting until open, and auth on the upgrade
//! request: token by query parameter or `bearer.` subprotocol, extra headers.

use wskit_tests::client_peer as peer;
use wskit_tests::client_peer::record_states;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use peer::*;
use wskit::client::{
    AuthTransport, Client, ClientError, ConnectError, ConnectionState, ProtocolPosition,
};

#[tokio::test]
async fn connect_and_close_are_idempotent_and_states_are_watched() {
    let peer = Peer::bind().await;
    // The token provider is asked once per connection attempt: it counts them.
    let attempts = Arc::new(AtomicU32::new(0));
    let counter = attempts.clone();
    let client = Client::builder(peer.url())
        .token(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            async { None }
        })
        .build();
    assert_eq!(client.state(), ConnectionState::Closed);
    assert_eq!(client.wait_open().await, Err(ClientError::NotConnected));
    let watcher = record_states(&client, 5);
    let (conn, a, b) = tokio::join!(peer.accept(), client.connect(), client.connect());
    a.unwrap();
    b.unwrap();
    let mut conn = conn;
    client.connect().await.unwrap(); // already open: returns at once
    client.wait_open().await.unwrap();
    assert_eq!(client.state(), ConnectionState::Open);

    let closer = client.clone();
    let (code, (), ()) = tokio::join!(conn.expect_close(), closer.close(), client.close());
    assert_eq!(code, Some(1000));
    client.close().await;
    assert_eq!(client.state(), ConnectionState::Closed);
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
    // Only one connection was made by the concurrent connects.
    assert_eq!(attempts.load(Ordering::SeqCst), 1);
    let (_conn, again) = tokio::join!(peer.accept(), client.connect());
    again.unwrap();
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn wait_open_fails_when_closed_while_connecting() {
    // A listener that never completes the handshake keeps the client connecting.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/ws", listener.local_addr().unwrap());
    // No connect timeout within the test: only the close ends the attempt.
    let client = Client::builder(url).connect_timeout(LIMIT * 10).build();
    let connecting = tokio::spawn({
        let client = client.clone();
        async move { client.connect().await }
    });
    let (_tcp, _) = within("the tcp connection", listener.accept())
        .await
        .unwrap();
    assert_eq!(client.state(), ConnectionState::Connecting);
    // `join!` polls `wait_open` first: it is waiting when the close begins.
    let (waited, ()) = within("close", async {
        tokio::join!(client.wait_open(), client.close())
    })
    .await;
    assert_eq!(waited, Err(ClientError::Closed));
    assert_eq!(
        within("connect", connecting).await.unwrap(),
        Err(ClientError::Closed)
    );
}

#[tokio::test]
async fn token_as_query_parameter_asked_again_before_every_attempt() {
    let peer = Peer::bind().await;
    let asked = Arc::new(AtomicU32::new(0));
    let counter = asked.clone();
    let client = Client::builder(format!("{}?room=a", peer.url()))
        .token(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            async move { Some(format!("tok {n}/x")) }
        })
        .header("x-app", "demo")
        .build();
    let (conn, opened) = tokio::join!(peer.accept(), client.connect());
    opened.unwrap();
    assert_eq!(conn.upgrade.uri, "/ws?room=a&access_token=tok%201%2Fx");
    assert_eq!(conn.upgrade.header("x-app"), Some("demo"));
    assert_eq!(conn.upgrade.header("sec-websocket-protocol"), None);
    // The server drops the connection: the reconnect asks for a fresh token.
    conn.close(1001).await;
    let conn = peer.accept().await;
    assert_eq!(conn.upgrade.uri, "/ws?room=a&access_token=tok%202%2Fx");
    assert_eq!(asked.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn token_as_bearer_subprotocol_appended_or_prepended() {
    for (position, expected) in [
        (ProtocolPosition::Append, "chat.v1, bearer.s3cret"),
        (ProtocolPosition::Prepend, "bearer.s3cret, chat.v1"),
    ] {
        let peer = Peer::bind().await;
        let client = Client::builder(peer.url())
            .token(|| async { Some("s3cret".to_owned()) })
            .auth(AuthTransport::Subprotocol {
                prefix: "bearer.".into(),
                position,
            })
            .protocols(["chat.v1"])
            .build();
        let (conn, opened) = tokio::join!(peer.accept(), client.connect());
        opened.unwrap();
        assert_eq!(
            conn.upgrade.header("sec-websocket-protocol"),
            Some(expected)
        );
        assert_eq!(conn.upgrade.uri, "/ws", "no token in the query");
    }
}

#[tokio::test]
async fn dropping_every_handle_closes_the_connection() {
    let peer = Peer::bind().await;
    let client = Client::builder(peer.url()).build();
    let (conn, opened) = tokio::join!(peer.accept(), client.connect());
    opened.unwrap();
    let mut conn = conn;
    drop(client);
    assert_eq!(conn.expect_close().await, Some(1000));
}

#[tokio::test]
async fn query_token_on_a_url_without_a_path() {
    let peer = Peer::bind().await;
    let client = Client::builder(format!("ws://{}", peer.addr))
        .token(|| async { Some("t".to_owned()) })
        .build();
    let (conn, opened) = tokio::join!(peer.accept(), client.connect());
    opened.unwrap();
    assert_eq!(conn.upgrade.uri, "/?access_token=t");
}

/// A request that cannot be made (an `http://` URL: the client speaks `ws://` and `wss://`; a
/// header that is not one) is not retried: `connect()` returns why at once and the client is
/// closed. (`wss://` without the `tls` feature: the unit tests of `client::transport`.)
#[tokio::test]
async fn a_request_that_cannot_be_made_is_not_retried() {
    let refused = RefusedPort::new();
    let http = Client::builder(format!("http://{}/ws", refused.addr)).build();
    let bad_header = Client::builder(refused.url())
        .header("x-bad", "line\nbreak")
        .build();
    for client in [http, bad_header] {
        match within("connect", client.connect()).await {
            Err(ClientError::Connect(ConnectError::InvalidRequest(why))) => {
                assert!(!why.is_empty())
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(client.state(), ConnectionState::Closed);
    }
}
