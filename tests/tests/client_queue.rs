//! The offline queue: policies, size, order of the flush, kept on an unexpected close, cleared
//! by a deliberate one, overflow reported.

use wskit_tests::client_peer as peer;

use std::future::IntoFuture;

use peer::*;
use wskit::client::{Client, ClientError, ErrorReport, QueuePolicy};

fn texts(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("m{i}")).collect()
}

async fn received_texts(conn: &mut Conn, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..n {
        let f = conn.recv().await;
        out.push(f["payload"]["text"].as_str().unwrap_or("?").to_owned());
    }
    out
}

#[tokio::test]
async fn drop_newest_is_the_default_refuses_and_reports_and_flushes_in_order() {
    let peer = Peer::bind().await;
    let mut errors = Seen::new();
    let client = Client::builder(peer.url()).on_error(errors.hook()).build();
    for t in texts(1000) {
        client.send(Chat { text: t }).unwrap();
    }
    assert_eq!(client.queued(), 1000, "default size 1000");
    assert_eq!(
        client.send(Chat {
            text: "overflow".into()
        }),
        Err(ClientError::QueueFull)
    );
    assert!(matches!(errors.next().await, ErrorReport::QueueOverflow { ty } if ty == "CHAT"));
    assert_eq!(
        client
            .request(GetUser {
                user_id: "u".into()
            })
            .await,
        Err(ClientError::QueueFull)
    );
    let (conn, opened) = tokio::join!(peer.accept(), client.connect());
    opened.unwrap();
    let mut conn = conn;
    assert_eq!(received_texts(&mut conn, 1000).await, texts(1000));
    assert_eq!(client.queued(), 0);
}

#[tokio::test]
async fn drop_oldest_evicts_and_reports() {
    let peer = Peer::bind().await;
    let mut errors = Seen::new();
    let client = Client::builder(peer.url())
        .queue(QueuePolicy::DropOldest, 3)
        .on_error(errors.hook())
        .build();
    // A queued request evicted by overflow fails with QueueFull.
    let evicted = tokio::spawn(
        client
            .request(GetUser {
                user_id: "u".into(),
            })
            .into_future(),
    );
    within("queued", async {
        while client.queued() == 0 {
            tokio::task::yield_now().await;
        }
    })
    .await;
    for t in texts(5) {
        client.send(Chat { text: t }).unwrap();
    }
    assert_eq!(
        within("evicted", evicted).await.unwrap(),
        Err(ClientError::QueueFull)
    );
    let mut dropped = Vec::new();
    for _ in 0..3 {
        match errors.next().await {
            ErrorReport::QueueOverflow { ty } => dropped.push(ty),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(dropped, ["GET_USER", "CHAT", "CHAT"]);
    let (conn, opened) = tokio::join!(peer.accept(), client.connect());
    opened.unwrap();
    let mut conn = conn;
    assert_eq!(received_texts(&mut conn, 3).await, ["m2", "m3", "m4"]);
}

#[tokio::test]
async fn off_refuses_while_not_open() {
    let peer = Peer::bind().await;
    let client = Client::builder(peer.url())
        .queue(QueuePolicy::Off, 1000)
        .build();
    assert_eq!(
        client.send(Chat { text: "x".into() }),
        Err(ClientError::NotConnected)
    );
    let (conn, opened) = tokio::join!(peer.accept(), client.connect());
    opened.unwrap();
    let mut conn = conn;
    client
        .send(Chat {
            text: "open".into(),
        })
        .unwrap();
    assert_eq!(received_texts(&mut conn, 1).await, ["open"]);
}

#[tokio::test]
async fn kept_on_unexpected_close_cleared_by_deliberate_close() {
    let peer = Peer::bind().await;
    let client = Client::builder(peer.url())
        .backoff(wskit::client::Backoff::Never)
        .build();
    let (conn, opened) = tokio::join!(peer.accept(), client.connect());
    opened.unwrap();
    conn.close(1001).await;
    let mut states = client.watch_state();
    within(
        "closed",
        states.wait_for(|s| *s == wskit::client::ConnectionState::Closed),
    )
    .await
    .unwrap();
    client
        .send(Chat {
            text: "kept".into(),
        })
        .unwrap();
    client
        .send(JoinRoom {
            room_id: "r".into(),
        })
        .unwrap();
    assert_eq!(
        client.queued(),
        1,
        "subscriptions are not queued: they go out on every open"
    );
    let (conn, opened) = tokio::join!(peer.accept(), client.connect());
    opened.unwrap();
    let mut conn = conn;
    assert_eq!(conn.recv().await["type"], "JOIN_ROOM");
    assert_eq!(received_texts(&mut conn, 1).await, ["kept"]);

    // A deliberate close forgets the queue (and the subscriptions).
    let (_, ()) = tokio::join!(conn.expect_close(), client.close());
    client.send(Chat { text: "x".into() }).unwrap();
    assert_eq!(client.queued(), 1);
    let pending = tokio::spawn(
        client
            .request(GetUser {
                user_id: "u".into(),
            })
            .into_future(),
    );
    within("queued", async {
        while client.queued() < 2 {
            tokio::task::yield_now().await;
        }
    })
    .await;
    // Closing an already closed client clears nothing new; connect then close clears.
    let (conn, opened) = tokio::join!(peer.accept(), client.connect());
    opened.unwrap();
    let mut conn = conn;
    assert_eq!(received_texts(&mut conn, 1).await, ["x"]);
    assert_eq!(conn.recv().await["type"], "GET_USER");
    let (_, ()) = tokio::join!(conn.expect_close(), client.close());
    assert_eq!(
        within("pending", pending).await.unwrap(),
        Err(ClientError::ConnectionClosed)
    );
}

#[tokio::test]
async fn deliberate_close_while_reconnecting_clears_the_queue() {
    let peer = Peer::bind().await;
    let addr = peer.addr;
    let client = Client::builder(peer.url()).build();
    let (conn, opened) = tokio::join!(peer.accept(), client.connect());
    opened.unwrap();
    drop(peer);
    conn.close(1001).await;
    let mut states = client.watch_state();
    within(
        "offline",
        states.wait_for(|s| *s != wskit::client::ConnectionState::Open),
    )
    .await
    .unwrap();
    client
        .send(Chat {
            text: "dropped".into(),
        })
        .unwrap();
    client
        .send(JoinRoom {
            room_id: "r".into(),
        })
        .unwrap();
    assert_eq!(client.queued(), 1);
    client.close().await;
    assert_eq!(client.queued(), 0);
    let peer = Peer::bind_at(addr).await;
    let (conn, opened) = tokio::join!(peer.accept(), client.connect());
    opened.unwrap();
    let mut conn = conn;
    client
        .send(Chat {
            text: "fresh".into(),
        })
        .unwrap();
    assert_eq!(
        received_texts(&mut conn, 1).await,
        ["fresh"],
        "no old frame, no old subscription"
    );
}
