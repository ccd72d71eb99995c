//! Robustness of the client (found in review): calls dropped unpolled, frames sent just before a
//! close, a server that stops reading, connect timeouts, bounded progress, dead queue entries,
//! panicking hooks, `send` while closing, the connect/give-up race. Against a raw peer on
//! 127.0.0.1.

use wskit_tests::client_peer as peer;
use wskit_tests::client_peer::{connected, id_of};

use std::future::IntoFuture;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use peer::*;
use serde_json::json;
use wskit::client::{
    Backoff, Client, ClientError, ConnectError, ConnectionState, ErrorReport, PROGRESS_BUFFER,
    QueuePolicy,
};

fn get_user() -> GetUser {
    GetUser {
        user_id: "u1".into(),
    }
}

fn chat(text: &str) -> Chat {
    Chat { text: text.into() }
}

#[tokio::test]
async fn a_call_dropped_before_its_first_poll_is_forgotten() {
    let peer = Peer::bind().await;
    let (client, mut conn) = connected(&peer).await;
    // Started by into_future, dropped before the connection task wrote it: never sent.
    drop(client.request(get_user()).into_future());
    assert_eq!(client.pending_requests(), 0, "pending entry leaked");
    client.send(chat("marker")).unwrap();
    assert_eq!(
        conn.recv().await["type"],
        "CHAT",
        "nothing before the marker"
    );
}

#[tokio::test]
async fn a_written_call_dropped_unpolled_is_aborted_on_the_server() {
    let peer = Peer::bind().await;
    let (client, mut conn) = connected(&peer).await;
    let call = client.request(get_user()).into_future();
    let frame = conn.recv().await;
    assert_eq!(frame["type"], "GET_USER");
    drop(call);
    assert_eq!(client.pending_requests(), 0);
    let abort = conn.recv().await;
    assert_eq!(abort["type"], "$ws:abort");
    assert_eq!(id_of(&abort), id_of(&frame));
}

#[tokio::test]
async fn a_call_dropped_after_its_reply_arrived_sends_no_abort() {
    let peer = Peer::bind().await;
    let (client, mut conn) = connected(&peer).await;
    let mut events = client.events::<TestEvent>();
    let call = client.request(get_user()).into_future();
    let frame = conn.recv().await;
    conn.send(
        json!({"type":"USER_DATA","meta":{"correlationId":id_of(&frame)},"payload":{"name":"Ada"}}),
    )
    .await;
    // Inbound frames are handled in order: once this event is out, the reply was taken.
    conn.send(json!({"type":"NOTICE","meta":{},"payload":{"text":"after"}}))
        .await;
    assert!(matches!(
        within("the event", events.recv()).await,
        Some(TestEvent::Notice(_))
    ));
    assert_eq!(client.pending_requests(), 0);
    drop(call);
    client.send(chat("marker")).unwrap();
    assert_eq!(
        conn.recv().await["type"],
        "CHAT",
        "no abort before the marker"
    );
}

#[tokio::test]
async fn frames_sent_before_close_are_written_before_the_close_frame() {
    let peer = Peer::bind().await;
    let (client, mut conn) = connected(&peer).await;
    for i in 0..50 {
        client.send(chat(&format!("m{i}"))).unwrap();
    }
    let reader = tokio::spawn(async move {
        let mut got = Vec::new();
        while let Some(frame) = within("a frame or the close", conn.recv_any_or_close()).await {
            got.push(frame["payload"]["text"].as_str().unwrap_or("").to_owned());
        }
        got
    });
    within("close", client.close()).await;
    let got = reader.await.unwrap();
    let expected: Vec<String> = (0..50).map(|i| format!("m{i}")).collect();
    assert_eq!(got, expected, "every frame send() accepted, in order");
}

#[tokio::test]
async fn frames_queued_offline_are_written_when_a_close_follows_the_open() {
    let peer = Peer::bind().await;
    let client = Client::builder(peer.url()).build();
    for i in 0..50 {
        client.send(chat(&format!("q{i}"))).unwrap();
    }
    let (conn, opened) = tokio::join!(peer.accept(), client.connect());
    opened.unwrap();
    let mut conn = conn;
    // Closed right after the open, while the queue may still be on its way to the socket.
    // (The reader owns the connection: dropping it at the end answers the close.)
    let ((), got) = tokio::join!(client.close(), async move {
        let mut got = Vec::new();
        while let Some(frame) = within("a frame or the close", conn.recv_any_or_close()).await {
            got.push(frame["payload"]["text"].as_str().unwrap_or("").to_owned());
        }
        got
    });
    let expected: Vec<String> = (0..50).map(|i| format!("q{i}")).collect();
    assert_eq!(got, expected);
}

// Multi-threaded, so that the connection task is (most likely) stuck in a write when the
// close comes, as well as in the close's own writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_does_not_hang_on_a_server_that_stopped_reading() {
    let peer = Peer::bind().await;
    let client = Client::builder(peer.url())
        .write_timeout(Duration::from_millis(300))
        .close_timeout(Duration::from_millis(500))
        .queue(QueuePolicy::DropNewest, 100)
        .build();
    let (conn, opened) = tokio::join!(peer.accept(), client.connect());
    opened.unwrap();
    // The peer never reads: 64 MiB outgrow every socket buffer, so a write stalls.
    let big = "x".repeat(1 << 20);
    for _ in 0..64 {
        if client.send(chat(&big)).is_err() {
            break;
        }
    }
    within("close", client.close()).await;
    assert_eq!(client.state(), ConnectionState::Closed);
    drop(conn);
}

#[tokio::test]
async fn a_server_that_stopped_reading_is_treated_as_lost() {
    let peer = Peer::bind().await;
    let client = Client::builder(peer.url())
        .write_timeout(Duration::from_millis(300))
        .backoff(Backoff::Never)
        .build();
    let (conn, opened) = tokio::join!(peer.accept(), client.connect());
    opened.unwrap();
    let mut states = client.watch_state();
    let big = "x".repeat(1 << 20);
    for _ in 0..64 {
        client.send(chat(&big)).unwrap();
    }
    within(
        "the connection given up",
        states.wait_for(|s| *s == ConnectionState::Closed),
    )
    .await
    .unwrap();
    drop(conn);
}

#[tokio::test]
async fn a_connection_attempt_that_never_upgrades_times_out_and_the_backoff_goes_on() {
    // The kernel completes the TCP handshake (backlog); nobody answers the upgrade.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let attempts = Arc::new(AtomicU32::new(0));
    let counter = attempts.clone();
    let mut reports = Seen::new();
    let client = Client::builder(format!("ws://{}/ws", listener.local_addr().unwrap()))
        .token(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            async { None }
        })
        .connect_timeout(Duration::from_millis(200))
        .backoff(Backoff::ExponentialJitter {
            initial: Duration::from_millis(10),
            max: Duration::from_millis(10),
            max_attempts: Some(1),
        })
        .on_error(reports.hook())
        .build();
    match within("connect", client.connect()).await {
        Err(ClientError::Connect(ConnectError::Timeout(_))) => {}
        other => panic!("expected a connect timeout, got {other:?}"),
    }
    assert_eq!(
        attempts.load(Ordering::SeqCst),
        2,
        "retried after the timeout"
    );
    let timeouts = reports
        .drain()
        .into_iter()
        .filter(|r| matches!(r, ErrorReport::Connect(ConnectError::Timeout(_))))
        .count();
    assert_eq!(timeouts, 2);
}

#[tokio::test]
async fn progress_is_bounded_and_its_overflow_reported() {
    let peer = Peer::bind().await;
    let mut reports = Seen::new();
    let client = Client::builder(peer.url()).on_error(reports.hook()).build();
    let (conn, opened) = tokio::join!(peer.accept(), client.connect());
    opened.unwrap();
    let mut conn = conn;
    let mut call = client.request(Export { rows: 1 });
    let mut progress = call.progress();
    let call = tokio::spawn(call.into_future());
    let id = id_of(&conn.recv().await);
    let sent = PROGRESS_BUFFER + 10;
    for i in 0..sent {
        conn.send(
            json!({"type":"$ws:rpc-progress","meta":{"correlationId":id},"payload":{"done":i}}),
        )
        .await;
    }
    conn.send(json!({"type":"EXPORT_DONE","meta":{"correlationId":id},"payload":{"total":1}}))
        .await;
    assert_eq!(within("the reply", call).await.unwrap().unwrap().total, 1);
    let mut got = 0;
    while let Some(update) = progress.recv().await {
        assert_eq!(update.done as usize, got, "the first updates, in order");
        got += 1;
    }
    assert_eq!(got, PROGRESS_BUFFER);
    let overflows = reports
        .drain()
        .into_iter()
        .filter(|r| matches!(r, ErrorReport::EventOverflow { ty } if ty == "$ws:rpc-progress"))
        .count();
    assert_eq!(overflows, sent - PROGRESS_BUFFER);
}

#[tokio::test]
async fn requests_given_up_while_queued_free_their_place() {
    let refused = RefusedPort::new();
    let client = Client::builder(refused.url())
        .queue(QueuePolicy::DropNewest, 1)
        .build();
    // Not connected: requests wait in the queue.
    drop(client.request(get_user()).into_future());
    assert_eq!(client.queued(), 0, "a dropped request leaves the queue");

    let call = client.request(get_user());
    let cancel = call.cancel_handle();
    let call = tokio::spawn(call.into_future());
    assert_eq!(client.queued(), 1);
    cancel.cancel();
    assert_eq!(
        within("cancel", call).await.unwrap(),
        Err(ClientError::Cancelled)
    );
    assert_eq!(client.queued(), 0, "a cancelled request leaves the queue");

    let call = client
        .request(get_user())
        .timeout(Duration::from_millis(1))
        .into_future();
    assert_eq!(client.queued(), 1, "there is room again");
    drop(call);
}

#[tokio::test]
async fn a_request_failed_by_giving_up_leaves_the_queue() {
    let refused = RefusedPort::new();
    let client = Client::builder(refused.url())
        .queue(QueuePolicy::DropNewest, 1)
        .backoff(Backoff::Never)
        .build();
    let call = tokio::spawn(client.request(get_user()).into_future());
    assert!(matches!(
        within("connect", client.connect()).await,
        Err(ClientError::Connect(_))
    ));
    assert_eq!(
        within("the call", call).await.unwrap(),
        Err(ClientError::ConnectionClosed)
    );
    assert_eq!(client.queued(), 0);
}

#[tokio::test]
async fn a_panicking_hook_does_not_take_the_connection_down() {
    let peer = Peer::bind().await;
    let mut reports = Seen::new();
    let client = Client::builder(peer.url())
        .on_unhandled(|_| panic!("hook bug (expected by the test)"))
        .on_error(reports.hook())
        .build();
    let (conn, opened) = tokio::join!(peer.accept(), client.connect());
    opened.unwrap();
    let mut conn = conn;
    conn.send(json!({"type":"WHAT","meta":{}})).await;
    assert!(matches!(
        reports.next().await,
        ErrorReport::HookPanicked {
            hook: "on_unhandled"
        }
    ));
    // Still open and working.
    let call = tokio::spawn(client.request(get_user()).into_future());
    let id = id_of(&conn.recv().await);
    conn.send(json!({"type":"USER_DATA","meta":{"correlationId":id},"payload":{"name":"Ada"}}))
        .await;
    assert_eq!(
        within("the reply", call).await.unwrap().unwrap().name,
        "Ada"
    );
    assert_eq!(client.state(), ConnectionState::Open);
}

#[tokio::test]
async fn a_panicking_token_provider_fails_one_attempt_only() {
    let peer = Peer::bind().await;
    let calls = Arc::new(AtomicU32::new(0));
    let counter = calls.clone();
    let client = Client::builder(peer.url())
        .token(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                if n == 0 {
                    panic!("token provider bug (expected by the test)");
                }
                Some("t".to_owned())
            }
        })
        .backoff(Backoff::ExponentialJitter {
            initial: Duration::from_millis(10),
            max: Duration::from_millis(10),
            max_attempts: None,
        })
        .build();
    let (conn, opened) = tokio::join!(peer.accept(), client.connect());
    opened.unwrap();
    assert_eq!(conn.upgrade.uri, "/ws?access_token=t");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn send_while_closing_fails_with_closed() {
    let peer = Peer::bind().await;
    let client = Client::builder(peer.url())
        .close_timeout(Duration::from_secs(3))
        .build();
    let (conn, opened) = tokio::join!(peer.accept(), client.connect());
    opened.unwrap();
    let mut states = client.watch_state();
    // The peer does not answer the close frame: the close lasts.
    let closing = tokio::spawn({
        let client = client.clone();
        async move { client.close().await }
    });
    within(
        "closing",
        states.wait_for(|s| *s == ConnectionState::Closing),
    )
    .await
    .unwrap();
    assert_eq!(client.send(chat("late")), Err(ClientError::Closed));
    assert_eq!(client.request(get_user()).await, Err(ClientError::Closed));
    drop(conn);
    within("close", closing).await.unwrap();
    // Closed, not closing: sending queues again for the next connect.
    assert_eq!(client.send(chat("later")), Ok(()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quick_give_up_is_reported_as_a_connect_error() {
    let refused = RefusedPort::new();
    for _ in 0..100 {
        let client = Client::builder(refused.url())
            .backoff(Backoff::Never)
            .build();
        match within("connect", client.connect()).await {
            Err(ClientError::Connect(_)) => {}
            other => panic!("expected a connect error, got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_while_reconnecting_ends_closed_and_connect_reports_the_close() {
    let refused = RefusedPort::new();
    for _ in 0..100 {
        let client = Client::builder(refused.url())
            .backoff(Backoff::ExponentialJitter {
                initial: Duration::from_millis(1),
                max: Duration::from_millis(1),
                max_attempts: None,
            })
            .build();
        let mut states = client.watch_state();
        let connecting = tokio::spawn({
            let client = client.clone();
            async move { client.connect().await }
        });
        within(
            "reconnecting",
            states.wait_for(|s| *s == ConnectionState::Reconnecting),
        )
        .await
        .unwrap();
        let seen = tokio::spawn(async move {
            let mut seen = Vec::new();
            while states.changed().await.is_ok() {
                let s = *states.borrow_and_update();
                seen.push(s);
                if s == ConnectionState::Closed {
                    break;
                }
            }
            seen
        });
        within("close", client.close()).await;
        let seen = within("the states", seen).await.unwrap();
        if let Some(at) = seen.iter().position(|s| *s == ConnectionState::Closing) {
            assert!(
                seen[at + 1..] == [ConnectionState::Closed],
                "after closing: {seen:?}"
            );
        }
        assert_eq!(
            within("connect", connecting).await.unwrap(),
            Err(ClientError::Closed)
        );
    }
}
