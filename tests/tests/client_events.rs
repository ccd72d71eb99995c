//! Server events: typed delivery per protocol, and the hooks for everything else (frames that
//! match nothing, unparsable frames, events that fail validation, `ERROR` frames, overflow).

use wskit_tests::client_peer as peer;

use futures_util::StreamExt;
use peer::*;
use serde_json::json;
use wskit::ErrorCode;
use wskit::client::{Client, ErrorReport};

#[tokio::test]
async fn events_are_typed_and_the_rest_goes_to_the_hooks() {
    let peer = Peer::bind().await;
    let mut errors = Seen::new();
    let mut unhandled = Seen::new();
    let client = Client::builder(peer.url())
        .on_error(errors.hook())
        .on_unhandled(unhandled.hook())
        .build();
    let mut events = client.events::<TestEvent>();
    let mut second = client.events::<TestEvent>();
    let (conn, opened) = tokio::join!(peer.accept(), client.connect());
    opened.unwrap();
    let mut conn = conn;

    conn.send(json!({"type":"USER_JOINED","payload":{"roomId":"r1","userId":"u1"}}))
        .await;
    conn.send(json!({"type":"NOTICE","meta":{},"payload":{"text":"hi"}}))
        .await;
    let joined = TestEvent::UserJoined(UserJoined {
        room_id: "r1".into(),
        user_id: "u1".into(),
    });
    let notice = TestEvent::Notice(Notice { text: "hi".into() });
    assert_eq!(within("event", events.recv()).await, Some(joined.clone()));
    assert_eq!(within("event", events.next()).await, Some(notice.clone()));
    assert_eq!(within("event", second.recv()).await, Some(joined));
    assert_eq!(within("event", second.recv()).await, Some(notice));

    // A frame of no known type.
    conn.send(json!({"type":"SOMETHING_ELSE","payload":{"x":1}}))
        .await;
    let u = unhandled.next().await;
    assert_eq!(u.ty, "SOMETHING_ELSE");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&u.text).unwrap()["payload"]["x"],
        1
    );

    // Not a frame at all.
    conn.send_text("not json").await;
    match errors.next().await {
        ErrorReport::Parse { error, text } => {
            assert_eq!(error.code, ErrorCode::InvalidArgument);
            assert_eq!(text, "not json");
        }
        other => panic!("expected a parse report, got {other:?}"),
    }
    // An event that fails validation: reported once, delivered to no stream.
    conn.send(json!({"type":"NOTICE","payload":{"text":"x","extra":true}}))
        .await;
    match errors.next().await {
        ErrorReport::Invalid { ty, issues } => {
            assert_eq!(ty, "NOTICE");
            assert!(issues.to_string().contains("extra"), "{issues}");
        }
        other => panic!("expected a validation report, got {other:?}"),
    }
    // An ERROR frame from the server.
    conn.send(json!({"type":"ERROR","meta":{},"payload":{"code":"UNIMPLEMENTED","message":"no","details":{"type":"X"}}}))
        .await;
    match errors.next().await {
        ErrorReport::Server(e) => {
            assert_eq!(e.code, ErrorCode::Unimplemented);
            assert_eq!(e.details.unwrap()["type"], "X");
        }
        other => panic!("expected a server error report, got {other:?}"),
    }
    // The streams were not fed anything by the bad frames.
    conn.send(json!({"type":"NOTICE","payload":{"text":"last"}}))
        .await;
    let last = TestEvent::Notice(Notice {
        text: "last".into(),
    });
    assert_eq!(within("event", events.recv()).await, Some(last.clone()));
    assert_eq!(within("event", second.recv()).await, Some(last));
    assert!(errors.drain().is_empty());
    assert!(unhandled.drain().is_empty());
}

#[tokio::test]
async fn events_without_a_stream_are_unhandled_and_a_full_stream_reports_overflow() {
    let peer = Peer::bind().await;
    let mut errors = Seen::new();
    let mut unhandled = Seen::new();
    let client = Client::builder(peer.url())
        .event_buffer(2)
        .on_error(errors.hook())
        .on_unhandled(unhandled.hook())
        .build();
    let (conn, opened) = tokio::join!(peer.accept(), client.connect());
    opened.unwrap();
    let mut conn = conn;
    conn.send(json!({"type":"NOTICE","payload":{"text":"nobody listens"}}))
        .await;
    assert_eq!(unhandled.next().await.ty, "NOTICE");

    let mut events = client.events::<TestEvent>();
    for i in 0..3 {
        conn.send(json!({"type":"NOTICE","payload":{"text":format!("n{i}")}}))
            .await;
    }
    assert!(matches!(errors.next().await, ErrorReport::EventOverflow { ty } if ty == "NOTICE"));
    let got: Vec<_> = vec![events.recv().await.unwrap(), events.recv().await.unwrap()];
    assert_eq!(
        got,
        [
            TestEvent::Notice(Notice { text: "n0".into() }),
            TestEvent::Notice(Notice { text: "n1".into() })
        ]
    );
    // A dropped stream no longer counts: its events are unhandled again.
    drop(events);
    conn.send(json!({"type":"USER_JOINED","payload":{"roomId":"r","userId":"u"}}))
        .await;
    assert_eq!(unhandled.next().await.ty, "USER_JOINED");
}

/// Frames the client's connection task hands to tungstenite: a server's ping is answered while
/// the client writes nothing, and a fragmented event (a ping between its fragments) arrives
/// whole, in order with the events around it.
#[tokio::test]
async fn pings_are_answered_at_once_and_a_fragmented_event_arrives_whole() {
    let peer = Peer::bind().await;
    let client = Client::builder(peer.url()).build();
    let mut events = client.events::<TestEvent>();
    let (conn, opened) = tokio::join!(peer.accept(), client.connect());
    opened.unwrap();
    let mut conn = conn;
    conn.ping_until_pong(b"idle").await;
    let notice = |text: &str| json!({"type":"NOTICE","meta":{},"payload":{"text":text}});
    conn.send(notice("one")).await;
    conn.send_fragmented(&notice("two").to_string(), 10).await;
    conn.send(notice("three")).await;
    for text in ["one", "two", "three"] {
        let expected = TestEvent::Notice(Notice { text: text.into() });
        assert_eq!(within("event", events.recv()).await, Some(expected));
    }
    conn.ping_until_pong(b"after").await;
    let (_, code) = tokio::join!(client.close(), conn.expect_close());
    assert_eq!(code, Some(1000));
}
