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
