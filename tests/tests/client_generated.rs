//! The stubs `protocol!` generates (`ChatClient`, `ChatEvent`) on the client runtime, against a
//! raw WebSocket peer on 127.0.0.1: `#[subscription]` and `#[idempotent]` drive what a reconnect
//! sends again; progress and events are typed.

use wskit_tests::client_peer as peer;
use wskit_tests::client_peer::id_of;

use std::time::Duration;

use peer::{Peer, within};
use serde_json::json;
use wskit::client::{Backoff, Client, ClientError};

wskit::protocol! {
    pub protocol Chat {
        #[subscription]
        message JoinRoom { room_id: String }
        message Say { text: String }
        message Tagged { text: String } meta { trace_id: Option<String> }
        message Ping;
        message Touch {}
        event Poked {}
        rpc Nudge() -> Nudged {}
        rpc Bare -> BareDone
        event UserJoined { room_id: String, user_id: String }
        #[idempotent]
        rpc GetUser(user_id: String) -> UserData { name: String, email: Option<String> }
        rpc Export(file_id: String) -> ExportDone { url: String } progress ExportProgress { percent: u8 }
    }
}

#[tokio::test]
async fn generated_client_end_to_end_with_a_reconnect() {
    let peer = Peer::bind().await;
    let client = Client::builder(peer.url())
        .backoff(Backoff::ExponentialJitter {
            initial: Duration::from_millis(10),
            max: Duration::from_millis(50),
            max_attempts: None,
        })
        .build();
    let chat = ChatClient::new(client.clone());
    let mut events = chat.events();
    let (conn, opened) = tokio::join!(peer.accept(), client.connect());
    opened.unwrap();
    let mut conn = conn;

    chat.join_room(JoinRoom {
        room_id: "general".into(),
    })
    .unwrap();
    assert_eq!(
        conn.recv().await,
        json!({"type":"JOIN_ROOM","meta":{},"payload":{"roomId":"general"}})
    );
    conn.send(json!({"type":"USER_JOINED","payload":{"roomId":"general","userId":"u9"}}))
        .await;
    assert_eq!(
        within("the event", events.recv()).await,
        Some(ChatEvent::UserJoined(UserJoined {
            room_id: "general".into(),
            user_id: "u9".into()
        }))
    );

    // Progress of a streaming rpc, typed.
    let mut call = chat.export(Export {
        file_id: "f1".into(),
    });
    let mut progress = call.progress();
    let export = tokio::spawn(call.into_future());
    let id = id_of(&conn.recv().await);
    for percent in [10, 60] {
        conn.send(json!({"type":"$ws:rpc-progress","meta":{"correlationId":id},"payload":{"percent":percent},"data":{"percent":percent}}))
            .await;
    }
    conn.send(json!({"type":"EXPORT_DONE","meta":{"correlationId":id},"payload":{"url":"u"}}))
        .await;
    assert_eq!(within("export", export).await.unwrap().unwrap().url, "u");
    assert_eq!(progress.recv().await, Some(ExportProgress { percent: 10 }));
    assert_eq!(progress.recv().await, Some(ExportProgress { percent: 60 }));
    assert_eq!(progress.recv().await, None);

    // In flight across a reconnect: the idempotent get_user is sent again, export is not.
    let get = tokio::spawn(
        chat.get_user(GetUser {
            user_id: "u1".into(),
        })
        .into_future(),
    );
    let get_frame = conn.recv().await;
    let export = tokio::spawn(
        chat.export(Export {
            file_id: "f2".into(),
        })
        .into_future(),
    );
    assert_eq!(conn.recv().await["type"], "EXPORT");
    conn.close(1001).await;
    assert_eq!(
        within("export", export).await.unwrap(),
        Err(ClientError::ConnectionClosed)
    );
    let mut conn = peer.accept().await;
    assert_eq!(conn.recv().await["type"], "JOIN_ROOM");
    assert_eq!(conn.recv().await, get_frame);
    chat.say(Say {
        text: "back".into(),
    })
    .unwrap();
    assert_eq!(conn.recv().await["type"], "SAY");
    let id = id_of(&get_frame);
    conn.send(json!({"type":"USER_DATA","meta":{"correlationId":id},"payload":{"name":"Ada"}}))
        .await;
    assert_eq!(
        within("get_user", get).await.unwrap().unwrap(),
        UserData {
            name: "Ada".into(),
            email: None
        }
    );
}

#[tokio::test]
async fn declared_meta_and_messages_without_fields() {
    let peer = Peer::bind().await;
    let client = Client::builder(peer.url()).build();
    let (conn, opened) = tokio::join!(peer.accept(), client.connect());
    opened.unwrap();
    let mut conn = conn;
    client
        .send_with_meta(
            Tagged { text: "x".into() },
            TaggedMeta {
                trace_id: Some("t-1".into()),
            },
        )
        .unwrap();
    let frame = conn.recv().await;
    assert_eq!(frame["meta"]["traceId"], "t-1");
    assert!(frame["meta"]["timestamp"].is_u64());
    assert_eq!(frame["payload"], json!({"text": "x"}));
    ChatClient::new(client.clone()).ping(Ping {}).unwrap();
    let frame = conn.recv().await;
    assert_eq!(frame["type"], "PING");
    assert!(frame.get("payload").is_none(), "no payload key: {frame}");
}

/// The client writes exactly the declared form: no `payload` key for `message Ping;` and
/// `rpc Bare`, `"payload":{}` for `message Touch {}` and `rpc Nudge()`; it reads an empty reply
/// or event with `{}` or without a payload.
#[tokio::test]
async fn empty_and_absent_payloads_are_written_as_declared() {
    let peer = Peer::bind().await;
    let (client, mut conn) = peer::connected(&peer).await;
    let chat = ChatClient::new(client.clone());
    let mut events = chat.events();
    chat.ping(Ping {}).unwrap();
    let sent = conn.recv().await;
    assert_eq!(sent["type"], "PING");
    assert!(sent.get("payload").is_none(), "{sent}");
    chat.touch(Touch {}).unwrap();
    let sent = conn.recv().await;
    assert_eq!(
        (&sent["type"], &sent["payload"]),
        (&json!("TOUCH"), &json!({}))
    );

    for reply in [json!({}), serde_json::Value::Null] {
        let call = tokio::spawn(chat.nudge(Nudge {}).into_future());
        let sent = conn.recv().await;
        assert_eq!(sent["type"], "NUDGE");
        assert_eq!(sent["payload"], json!({}));
        let mut frame = json!({"type":"NUDGED","meta":{"correlationId": id_of(&sent)}});
        if !reply.is_null() {
            frame["payload"] = reply;
        }
        conn.send(frame).await;
        assert_eq!(within("NUDGED", call).await.unwrap(), Ok(Nudged {}));
    }
    let call = tokio::spawn(chat.bare(Bare {}).into_future());
    let sent = conn.recv().await;
    assert_eq!(sent["type"], "BARE");
    assert!(sent.get("payload").is_none(), "{sent}");
    conn.send(json!({"type":"BARE_DONE","meta":{"correlationId": id_of(&sent)}}))
        .await;
    assert_eq!(within("BARE_DONE", call).await.unwrap(), Ok(BareDone {}));

    conn.send(json!({"type":"POKED","payload":{}})).await;
    conn.send(json!({"type":"POKED"})).await;
    for _ in 0..2 {
        assert_eq!(
            within("POKED", events.recv()).await,
            Some(ChatEvent::Poked(Poked {}))
        );
    }
}
