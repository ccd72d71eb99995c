//! Requests: correlation, replies, typed errors, timeouts, the pending limit, cancellation
//! (`$ws:abort`), first reply wins, progress. Against a raw WebSocket peer on 127.0.0.1.

use wskit_tests::client_peer as peer;
use wskit_tests::client_peer::{connected, id_of, spawn_request};

use std::future::IntoFuture;
use std::time::Duration;

use futures_util::StreamExt;
use peer::*;
use serde_json::json;
use wskit::ErrorCode;
use wskit::client::{Client, ClientError, ErrorReport};

#[tokio::test]
async fn request_carries_uuid_and_timestamp_and_gets_its_reply() {
    let peer = Peer::bind().await;
    let (client, mut conn) = connected(&peer).await;
    let call = tokio::spawn(
        client
            .request(GetUser {
                user_id: "u1".into(),
            })
            .into_future(),
    );
    let frame = conn.recv().await;
    assert_eq!(frame["type"], "GET_USER");
    assert_eq!(frame["payload"], json!({"userId": "u1"}));
    let id = id_of(&frame);
    assert!(is_uuid_v4(&id), "{id}");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let ts = frame["meta"]["timestamp"].as_u64().expect("timestamp");
    assert!(
        ts <= now && now - ts < 60_000,
        "timestamp {ts} vs now {now}"
    );
    // A reply to another id is not ours.
    conn.send(json!({"type":"USER_DATA","meta":{"correlationId":"other"},"payload":{"name":"X"}}))
        .await;
    conn.send(json!({"type":"USER_DATA","meta":{"correlationId":id},"payload":{"name":"Ada"}}))
        .await;
    let reply = within("the reply", call).await.unwrap().unwrap();
    assert_eq!(reply, UserData { name: "Ada".into() });
    assert_eq!(client.pending_requests(), 0);
}

#[tokio::test]
async fn rpc_error_is_typed() {
    let peer = Peer::bind().await;
    let (client, mut conn) = connected(&peer).await;
    let (call, id) = spawn_request(
        &client,
        &mut conn,
        GetUser {
            user_id: "u1".into(),
        },
    )
    .await;
    conn.send(
        json!({"type":"RPC_ERROR","meta":{"correlationId":id},"payload":{
        "code":"RESOURCE_EXHAUSTED","message":"slow down","details":{"limit":5},
        "retryable":true,"retryAfterMs":250}}),
    )
    .await;
    let Err(ClientError::Rpc(e)) = within("the reply", call).await.unwrap() else {
        panic!("expected an RPC error")
    };
    assert_eq!(e.code, ErrorCode::ResourceExhausted);
    assert_eq!(e.message, "slow down");
    assert_eq!(e.details.unwrap()["limit"], 5);
    assert_eq!(e.retryable, Some(true));
    assert_eq!(e.retry_after_ms, Some(250));
}

#[tokio::test]
async fn reply_that_fails_validation_is_invalid_reply() {
    let peer = Peer::bind().await;
    let (client, mut conn) = connected(&peer).await;
    let (call, id) = spawn_request(
        &client,
        &mut conn,
        GetUser {
            user_id: "u1".into(),
        },
    )
    .await;
    conn.send(json!({"type":"USER_DATA","meta":{"correlationId":id},"payload":{"name":7}}))
        .await;
    match within("the reply", call).await.unwrap() {
        Err(ClientError::InvalidReply(issues)) => {
            assert_eq!(
                issues.to_string(),
                "payload.name: expected string, got number"
            );
        }
        other => panic!("expected InvalidReply, got {other:?}"),
    }
    // A reply of the wrong type for this request.
    let (call, id) = spawn_request(
        &client,
        &mut conn,
        GetUser {
            user_id: "u2".into(),
        },
    )
    .await;
    conn.send(json!({"type":"NOTICE","meta":{"correlationId":id},"payload":{"text":"?"}}))
        .await;
    match within("the reply", call).await.unwrap() {
        Err(ClientError::InvalidReply(issues)) => {
            assert_eq!(issues.to_string(), "type: expected USER_DATA, got NOTICE");
        }
        other => panic!("expected InvalidReply, got {other:?}"),
    }
}

#[tokio::test]
async fn only_the_first_reply_counts() {
    let peer = Peer::bind().await;
    let unhandled = Seen::new();
    let mut errors = Seen::new();
    let client = Client::builder(peer.url())
        .on_unhandled(unhandled.hook())
        .on_error(errors.hook())
        .build();
    let (conn, opened) = tokio::join!(peer.accept(), client.connect());
    opened.unwrap();
    let mut conn = conn;
    let (call, id) = spawn_request(
        &client,
        &mut conn,
        GetUser {
            user_id: "u1".into(),
        },
    )
    .await;
    conn.send(json!({"type":"USER_DATA","meta":{"correlationId":id},"payload":{"name":"first"}}))
        .await;
    conn.send(json!({"type":"USER_DATA","meta":{"correlationId":id},"payload":{"name":"second"}}))
        .await;
    conn.send(
        json!({"type":"RPC_ERROR","meta":{"correlationId":id},"payload":{"code":"INTERNAL"}}),
    )
    .await;
    // A marker frame after the late ones: once it is seen, the late ones were processed.
    conn.send(json!({"type":"MARKER"})).await;
    let reply = within("the reply", call).await.unwrap().unwrap();
    assert_eq!(reply.name, "first");
    let mut unhandled = unhandled;
    let seen = unhandled.next().await;
    assert_eq!(seen.ty, "MARKER", "late replies must be dropped quietly");
    assert!(errors.drain().is_empty());
}

#[tokio::test]
async fn timeout_fails_the_call_and_aborts_it_on_the_server() {
    let peer = Peer::bind().await;
    let (client, mut conn) = connected(&peer).await;
    let call = client
        .request(GetUser {
            user_id: "u1".into(),
        })
        .timeout(Duration::from_millis(100));
    let call = tokio::spawn(call.into_future());
    let id = id_of(&conn.recv().await);
    assert_eq!(
        within("the timeout", call).await.unwrap(),
        Err(ClientError::Timeout)
    );
    let abort = conn.recv().await;
    assert_eq!(
        abort,
        json!({"type":"$ws:abort","meta":{"correlationId":id}})
    );
    assert_eq!(client.pending_requests(), 0);
    // A reply after the timeout goes nowhere and breaks nothing.
    conn.send(json!({"type":"USER_DATA","meta":{"correlationId":id},"payload":{"name":"late"}}))
        .await;
    let (call, id2) = spawn_request(
        &client,
        &mut conn,
        GetUser {
            user_id: "u2".into(),
        },
    )
    .await;
    conn.send(json!({"type":"USER_DATA","meta":{"correlationId":id2},"payload":{"name":"ok"}}))
        .await;
    assert_eq!(within("the reply", call).await.unwrap().unwrap().name, "ok");
}

#[tokio::test(start_paused = true)]
async fn timeout_does_not_run_while_the_request_waits_in_the_queue() {
    // Never connected: the request waits in the offline queue; no socket is involved.
    let client = Client::builder("ws://127.0.0.1:9/never")
        .request_timeout(Duration::from_secs(1))
        .build();
    let call = tokio::spawn(
        client
            .request(GetUser {
                user_id: "u1".into(),
            })
            .into_future(),
    );
    tokio::task::yield_now().await;
    assert_eq!(client.queued(), 1);
    tokio::time::advance(Duration::from_secs(3600)).await;
    tokio::task::yield_now().await;
    assert!(!call.is_finished(), "a queued request must not time out");
    assert_eq!(client.pending_requests(), 1);
    call.abort();
}

#[tokio::test]
async fn pending_limit_refuses_more_requests() {
    let peer = Peer::bind().await;
    let client = Client::builder(peer.url()).max_pending(2).build();
    let (conn, opened) = tokio::join!(peer.accept(), client.connect());
    opened.unwrap();
    let mut conn = conn;
    let a = tokio::spawn(
        client
            .request(GetUser {
                user_id: "a".into(),
            })
            .into_future(),
    );
    let (b, ida) = spawn_request(
        &client,
        &mut conn,
        GetUser {
            user_id: "b".into(),
        },
    )
    .await;
    let _idb = id_of(&conn.recv().await);
    let third = client
        .request(GetUser {
            user_id: "c".into(),
        })
        .await;
    assert_eq!(third, Err(ClientError::TooManyPending { limit: 2 }));
    // Once one is answered there is room again.
    conn.send(json!({"type":"USER_DATA","meta":{"correlationId":ida},"payload":{"name":"A"}}))
        .await;
    within("a", a).await.unwrap().unwrap();
    let c = tokio::spawn(
        client
            .request(GetUser {
                user_id: "c".into(),
            })
            .into_future(),
    );
    let frame = conn.recv().await;
    assert_eq!(frame["payload"]["userId"], "c");
    b.abort();
    c.abort();
}

#[tokio::test]
async fn dropping_the_call_sends_abort() {
    let peer = Peer::bind().await;
    let (client, mut conn) = connected(&peer).await;
    let (call, id) = spawn_request(
        &client,
        &mut conn,
        CreateOrder {
            item: "book".into(),
        },
    )
    .await;
    call.abort(); // drops the call's future
    let abort = conn.recv().await;
    assert_eq!(abort["type"], "$ws:abort");
    assert_eq!(abort["meta"]["correlationId"], id.as_str());
    assert!(abort.get("payload").is_none());
    assert_eq!(client.pending_requests(), 0);
}

#[tokio::test]
async fn cancel_handle_cancels_and_aborts() {
    let peer = Peer::bind().await;
    let (client, mut conn) = connected(&peer).await;
    let call = client.request(CreateOrder {
        item: "book".into(),
    });
    let cancel = call.cancel_handle();
    let task = tokio::spawn(call.into_future());
    let id = id_of(&conn.recv().await);
    cancel.cancel();
    assert_eq!(
        within("the call", task).await.unwrap(),
        Err(ClientError::Cancelled)
    );
    let abort = conn.recv().await;
    assert_eq!(
        abort,
        json!({"type":"$ws:abort","meta":{"correlationId":id}})
    );

    // Cancelled before it is awaited: nothing is sent at all.
    let call = client.request(CreateOrder {
        item: "never".into(),
    });
    call.cancel_handle().cancel();
    assert_eq!(call.await, Err(ClientError::Cancelled));
    client
        .send(Chat {
            text: "after".into(),
        })
        .unwrap();
    assert_eq!(conn.recv().await["type"], "CHAT");
}

#[tokio::test]
async fn progress_is_delivered_in_order_from_payload_or_data() {
    let peer = Peer::bind().await;
    let mut errors = Seen::new();
    let client = Client::builder(peer.url()).on_error(errors.hook()).build();
    let (conn, opened) = tokio::join!(peer.accept(), client.connect());
    opened.unwrap();
    let mut conn = conn;
    let mut call = client.request(Export { rows: 3 });
    let mut progress = call.progress();
    let task = tokio::spawn(call.into_future());
    let id = id_of(&conn.recv().await);
    let p = wskit::wire::types::RPC_PROGRESS;
    conn.send(json!({"type":p,"meta":{"correlationId":id},"payload":{"done":1},"data":{"done":1}}))
        .await;
    // ws-kit's own server writes the update under `data` only.
    conn.send(json!({"type":p,"meta":{"correlationId":id},"data":{"done":2}}))
        .await;
    conn.send(json!({"type":p,"meta":{"correlationId":id},"payload":{"done":"x"}}))
        .await;
    conn.send(json!({"type":p,"meta":{"correlationId":id},"payload":{"done":3}}))
        .await;
    conn.send(json!({"type":"EXPORT_DONE","meta":{"correlationId":id},"payload":{"total":3}}))
        .await;
    // Progress after the reply is dropped.
    conn.send(json!({"type":p,"meta":{"correlationId":id},"payload":{"done":4}}))
        .await;
    let done = within("the reply", task).await.unwrap().unwrap();
    assert_eq!(done.total, 3);
    let updates: Vec<u32> = within("progress", progress.by_ref().map(|u| u.done).collect()).await;
    assert_eq!(updates, [1, 2, 3]);
    match errors.next().await {
        ErrorReport::Invalid { ty, issues } => {
            assert_eq!(ty, "$ws:rpc-progress");
            assert!(issues.to_string().starts_with("payload"), "{issues}");
        }
        other => panic!("expected an invalid progress report, got {other:?}"),
    }
}

wskit::protocol! {
    protocol Loud {
        /// A message with a constraint: `text` must not be empty.
        message Shout { #[validate(length(min = 1))] text: String }
    }
}

#[tokio::test]
async fn invalid_outbound_message_is_refused_and_queue_off_gives_not_connected() {
    let client = Client::builder("ws://127.0.0.1:9/never")
        .queue(wskit::client::QueuePolicy::Off, 10)
        .build();
    match client.send(Shout {
        text: String::new(),
    }) {
        Err(ClientError::InvalidMessage(issues)) => {
            assert_eq!(
                issues.to_string(),
                "payload.text: must have at least 1 character"
            )
        }
        other => panic!("expected InvalidMessage, got {other:?}"),
    }
    assert_eq!(
        client.send(Shout { text: "hi".into() }),
        Err(ClientError::NotConnected)
    );
    assert_eq!(
        client
            .request(GetUser {
                user_id: "u".into()
            })
            .await,
        Err(ClientError::NotConnected)
    );
    assert_eq!(client.pending_requests(), 0);
}

/// What one reply frame did to its call: the call's result (or still waiting), and the kinds of
/// the reports `on_error` got.
async fn outcome_of_reply(
    client: &Client,
    conn: &mut Conn,
    unhandled: &mut Seen<wskit::client::Unhandled>,
    errors: &mut Seen<ErrorReport>,
    frame: impl Fn(&str) -> String,
) -> (String, Vec<String>) {
    let (call, id) = spawn_request(
        client,
        conn,
        GetUser {
            user_id: "u".into(),
        },
    )
    .await;
    conn.send_text(&frame(&id)).await;
    // Frames are handled in order: once the marker is seen, the reply was.
    conn.send(json!({"type":"MARKER"})).await;
    assert_eq!(unhandled.next().await.ty, "MARKER");
    let reports: Vec<String> = errors
        .drain()
        .iter()
        .map(|r| {
            format!("{r:?}")
                .split([' ', '(', '{'])
                .next()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    let result = if call.is_finished() {
        format!("{:?}", within("the call", call).await.unwrap())
    } else {
        // Still waiting: a good reply ends it.
        conn.send(
            json!({"type":"USER_DATA","meta":{"correlationId":id},"payload":{"name":"later"}}),
        )
        .await;
        format!(
            "waiting, then {:?}",
            within("the call", call).await.unwrap()
        )
    };
    (result, reports)
}

/// A reply in the layout servers write is read on the client's fast path (split by matching
/// bytes, the payload decoded once); the same frame with one space more takes the reference
/// path. Every outcome, reports included, must be the same.
#[tokio::test]
async fn replies_read_on_the_fast_path_match_the_reference_path() {
    let peer = Peer::bind().await;
    let mut unhandled = Seen::new();
    let mut errors = Seen::new();
    let client = Client::builder(peer.url())
        .on_unhandled(unhandled.hook())
        .on_error(errors.hook())
        .build();
    let (conn, opened) = tokio::join!(peer.accept(), client.connect());
    opened.unwrap();
    let mut conn = conn;
    let payloads = [
        r#"{"name":"Ada"}"#,
        r#" {"name":"Ada"} "#,
        r#"{"name":"A\u0041\"\\"}"#,
        r#"{"name":7}"#,
        r#"{"name":"Ada","x":1}"#,
        r#"{}"#,
        r#"null"#,
        r#"[]"#,
        r#"{"name":"Ada"},"extra":1"#,
        r#"{"name":"Ada"},"payload":{"name":"Bob"}"#,
        r#"{"name":"Ada"},"type":"USER_DATA""#,
        r#"{"name":"Ada"}}"#,
        r#"{"name":"Ada""#,
        r#"{"name":"Ada"#,
        r#""#,
    ];
    let types = [
        "USER_DATA",
        "ORDER_CREATED",
        "RPC_ERROR",
        "ERROR",
        "$ws:rpc-progress",
    ];
    let mut fast_path_results = 0;
    for ty in types {
        for payload in payloads {
            let fast = |id: &str| {
                format!(
                    r#"{{"type":"{ty}","meta":{{"correlationId":"{id}"}},"payload":{payload}}}"#
                )
            };
            let reference = |id: &str| {
                format!(
                    r#"{{ "type":"{ty}","meta":{{"correlationId":"{id}"}},"payload":{payload}}}"#
                )
            };
            let a = outcome_of_reply(&client, &mut conn, &mut unhandled, &mut errors, fast).await;
            let b =
                outcome_of_reply(&client, &mut conn, &mut unhandled, &mut errors, reference).await;
            assert_eq!(a, b, "type {ty}, payload {payload}");
            if a.0.starts_with("Ok") {
                fast_path_results += 1;
            }
        }
    }
    // Not a vacuous comparison: good replies were among them.
    assert_eq!(fast_path_results, 4);
    assert_eq!(client.pending_requests(), 0);
    assert!(errors.drain().is_empty());
}
