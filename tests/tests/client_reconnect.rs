//! Reconnecting: backoff delays under a paused clock, a server stopped and started again mid-test
//! (queue flushed in order, only idempotent in-flight requests and subscriptions re-sent, a gap
//! reported), giving up, the attempt counter, the heartbeat.

use wskit_tests::client_peer as peer;

use std::future::IntoFuture;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use peer::*;
use serde_json::json;
use wskit::client::{
    Backoff, Client, ClientError, ConnectError, ConnectionState, Heartbeat, JitterRng,
};

#[tokio::test(start_paused = true)]
async fn backoff_delays_follow_the_formula_under_a_paused_clock() {
    let refused = RefusedPort::new();
    let addr = refused.addr;
    let attempts: Arc<Mutex<Vec<tokio::time::Instant>>> = Arc::default();
    let seen = attempts.clone();
    let (initial, max) = (Duration::from_millis(300), Duration::from_secs(10));
    let client = Client::builder(format!("ws://{addr}/ws"))
        .backoff(Backoff::ExponentialJitter {
            initial,
            max,
            max_attempts: Some(8),
        })
        .jitter_seed(42)
        // The token provider is asked before every attempt: it records when.
        .token(move || {
            seen.lock().unwrap().push(tokio::time::Instant::now());
            async { None }
        })
        .build();
    let mut states = client.watch_state();
    let first = *states.borrow_and_update();
    let watcher = tokio::spawn(async move {
        let mut all = vec![first];
        while states.changed().await.is_ok() {
            all.push(*states.borrow_and_update());
            if all.last() == Some(&ConnectionState::Closed) {
                break;
            }
        }
        all
    });
    let err = client.connect().await.unwrap_err();
    assert!(matches!(err, ClientError::Connect(_)), "{err:?}");
    assert_eq!(client.state(), ConnectionState::Closed);

    let times = attempts.lock().unwrap().clone();
    assert_eq!(times.len(), 9, "the first attempt and 8 retries");
    let mut rng = JitterRng::new(42);
    for n in 1..=8u32 {
        // min(max, initial * 2^(n-1)), full jitter in whole milliseconds.
        let cap = (initial.as_millis() as u64 * 2u64.pow(n - 1)).min(max.as_millis() as u64);
        let expected = Duration::from_millis((rng.next_unit() * cap as f64).floor() as u64);
        let actual = times[n as usize] - times[n as usize - 1];
        assert_eq!(actual, expected, "delay before attempt {n}");
    }
    let states = watcher.await.unwrap();
    // A watch shows the latest state: quick transitions may merge, the order may not change.
    assert_eq!(states[0], ConnectionState::Closed);
    assert!(
        states.contains(&ConnectionState::Reconnecting),
        "{states:?}"
    );
    assert_eq!(states.last(), Some(&ConnectionState::Closed));
    for pair in states.windows(2) {
        assert_ne!(pair[0], pair[1], "{states:?}");
        assert_ne!(pair[1], ConnectionState::Open, "{states:?}");
    }
}

fn quick_backoff() -> Backoff {
    Backoff::ExponentialJitter {
        initial: Duration::from_millis(20),
        max: Duration::from_millis(100),
        max_attempts: None,
    }
}

#[tokio::test]
async fn server_restart_resends_subscriptions_and_idempotent_requests_and_flushes_the_queue() {
    let peer = Peer::bind().await;
    let addr = peer.addr;
    let client = Client::builder(peer.url()).backoff(quick_backoff()).build();
    let mut gaps = client.gaps();
    let (conn, opened) = tokio::join!(peer.accept(), client.connect());
    opened.unwrap();
    let mut conn = conn;

    client
        .send(JoinRoom {
            room_id: "r1".into(),
        })
        .unwrap();
    assert_eq!(conn.recv().await["type"], "JOIN_ROOM");
    let get = tokio::spawn(
        client
            .request(GetUser {
                user_id: "u1".into(),
            })
            .into_future(),
    );
    let get_frame = conn.recv().await;
    let order = tokio::spawn(
        client
            .request(CreateOrder {
                item: "book".into(),
            })
            .into_future(),
    );
    assert_eq!(conn.recv().await["type"], "CREATE_ORDER");

    // The server goes away: its connection closes ("going away") and its port refuses.
    drop(peer);
    conn.close(1001).await;
    let mut states = client.watch_state();
    within(
        "leaving open",
        states.wait_for(|s| *s != ConnectionState::Open),
    )
    .await
    .unwrap();
    // The non-idempotent request in flight fails: it must never run twice.
    assert_eq!(
        within("the order", order).await.unwrap(),
        Err(ClientError::ConnectionClosed)
    );
    // Sent while offline: queued.
    for text in ["1", "2", "3"] {
        client.send(Chat { text: text.into() }).unwrap();
    }
    assert_eq!(client.queued(), 3);

    // The server starts again on the same port.
    let peer = Peer::bind_at(addr).await;
    let mut conn = peer.accept().await;
    let join = conn.recv().await;
    assert_eq!(join["type"], "JOIN_ROOM");
    assert_eq!(join["payload"], json!({"roomId": "r1"}));
    let again = conn.recv().await;
    assert_eq!(
        again, get_frame,
        "the idempotent request is sent again, same correlationId"
    );
    for text in ["1", "2", "3"] {
        let chat = conn.recv().await;
        assert_eq!(chat["type"], "CHAT");
        assert_eq!(chat["payload"]["text"], text);
    }
    client
        .send(Chat {
            text: "after".into(),
        })
        .unwrap();
    assert_eq!(
        conn.recv().await["payload"]["text"],
        "after",
        "nothing else was re-sent"
    );
    assert_eq!(client.queued(), 0);

    let id = again["meta"]["correlationId"].as_str().unwrap();
    conn.send(json!({"type":"USER_DATA","meta":{"correlationId":id},"payload":{"name":"Ada"}}))
        .await;
    assert_eq!(within("the reply", get).await.unwrap().unwrap().name, "Ada");

    let gap = within("the gap", gaps.recv()).await.unwrap();
    assert_eq!((gap.resubscribed, gap.resent), (1, 1));
    assert!(gap.attempts >= 1);
}

#[tokio::test]
async fn attempt_counter_resets_on_open_and_backoff_can_give_up() {
    let peer = Peer::bind().await;
    let addr = peer.addr;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<u32>();
    let client = Client::builder(peer.url())
        .backoff(Backoff::custom(move |n| {
            let _ = tx.send(n);
            Some(Duration::from_millis(5))
        }))
        // The peer below never reads again, so it never answers the close frame.
        .close_timeout(Duration::from_millis(50))
        .build();
    let (conn, opened) = tokio::join!(peer.accept(), client.connect());
    opened.unwrap();
    drop(peer);
    conn.close(1001).await;
    // Attempts 1 and 2 fail against the closed port; then the server is back.
    assert_eq!(within("attempt 1", rx.recv()).await, Some(1));
    assert_eq!(within("attempt 2", rx.recv()).await, Some(2));
    let peer = Peer::bind_at(addr).await;
    let conn = peer.accept().await;
    within("open", client.wait_open()).await.unwrap();
    while let Ok(n) = rx.try_recv() {
        assert!(n > 2, "attempts only grow until open");
    }
    conn.close(1001).await;
    assert_eq!(
        within("attempt after reopen", rx.recv()).await,
        Some(1),
        "counter reset on open"
    );
    let _conn = peer.accept().await;
    within("open again", client.wait_open()).await.unwrap();
    client.close().await;

    // A strategy that gives up leaves the client closed with the last failure.
    let refused = RefusedPort::new();
    let client = Client::builder(refused.url())
        .backoff(Backoff::ExponentialJitter {
            initial: Duration::from_millis(1),
            max: Duration::from_millis(2),
            max_attempts: Some(2),
        })
        .build();
    let err = within("giving up", client.connect()).await.unwrap_err();
    assert!(
        matches!(err, ClientError::Connect(ConnectError::Transport(ref why)) if why.contains("refused")),
        "{err:?}"
    );
    assert_eq!(client.state(), ConnectionState::Closed);
    assert_eq!(client.wait_open().await, Err(ClientError::NotConnected));
}

#[tokio::test]
async fn never_reconnect_fails_pending_requests_and_keeps_the_queue() {
    let peer = Peer::bind().await;
    let client = Client::builder(peer.url()).backoff(Backoff::Never).build();
    let (conn, opened) = tokio::join!(peer.accept(), client.connect());
    opened.unwrap();
    let mut conn = conn;
    let get = tokio::spawn(
        client
            .request(GetUser {
                user_id: "u1".into(),
            })
            .into_future(),
    );
    conn.recv().await;
    conn.close(1000).await;
    assert_eq!(
        within("the call", get).await.unwrap(),
        Err(ClientError::ConnectionClosed)
    );
    let mut states = client.watch_state();
    within("closed", states.wait_for(|s| *s == ConnectionState::Closed))
        .await
        .unwrap();
    // Not a deliberate close: what is sent now waits for the next connect.
    client
        .send(Chat {
            text: "later".into(),
        })
        .unwrap();
    let (conn, opened) = tokio::join!(peer.accept(), client.connect());
    opened.unwrap();
    let mut conn = conn;
    assert_eq!(conn.recv().await["payload"]["text"], "later");
}

#[tokio::test]
async fn heartbeat_keeps_an_answering_server_and_drops_a_silent_one() {
    let peer = Peer::bind().await;
    let client = Client::builder(peer.url())
        .heartbeat(Heartbeat {
            interval: Duration::from_millis(20),
            timeout: Duration::from_millis(150),
        })
        .backoff(quick_backoff())
        .build();
    let mut states = client.watch_state();
    let (conn, opened) = tokio::join!(peer.accept(), client.connect());
    opened.unwrap();
    let mut conn = conn;
    states.borrow_and_update();
    // An answering server, watched for four times the timeout: every heartbeat acknowledged,
    // the client stays open.
    let watched = tokio::time::Instant::now() + Duration::from_millis(600);
    let mut answered = 0;
    while tokio::time::Instant::now() < watched {
        let hb = conn.recv_any().await;
        assert_eq!(hb, json!({"type": "__heartbeat"}));
        conn.send(json!({"type":"__heartbeat_ack","meta":{"ts":1}}))
            .await;
        answered += 1;
    }
    assert!(answered >= 4, "{answered} heartbeats in the watch");
    assert!(
        !states.has_changed().unwrap(),
        "an answering server is kept"
    );
    assert_eq!(client.state(), ConnectionState::Open);
    // A silent server: heartbeats go unanswered, the client gives up on it and reconnects.
    assert_eq!(conn.recv_any().await["type"], "__heartbeat");
    let _second = peer.accept().await;
    within("open again", client.wait_open()).await.unwrap();
    drop(conn);
}

#[tokio::test]
async fn a_subscription_is_remembered_once_and_can_be_forgotten() {
    let peer = Peer::bind().await;
    let client = Client::builder(peer.url()).backoff(quick_backoff()).build();
    let (conn, opened) = tokio::join!(peer.accept(), client.connect());
    opened.unwrap();
    let mut conn = conn;
    let r1 = JoinRoom {
        room_id: "r1".into(),
    };
    let r2 = JoinRoom {
        room_id: "r2".into(),
    };
    client.send(r1.clone()).unwrap();
    client.send(r1.clone()).unwrap();
    client.send(r2.clone()).unwrap();
    for _ in 0..3 {
        assert_eq!(conn.recv().await["type"], "JOIN_ROOM");
    }
    assert!(client.forget_subscription(&r2));
    assert!(!client.forget_subscription(&r2));
    conn.close(1001).await;
    let mut conn = peer.accept().await;
    let again = conn.recv().await;
    assert_eq!(again["payload"]["roomId"], "r1");
    client
        .send(Chat {
            text: "next".into(),
        })
        .unwrap();
    assert_eq!(conn.recv().await["type"], "CHAT", "r1 once, r2 not at all");
}
