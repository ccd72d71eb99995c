//! Lifecycle hooks: order, refusing in the open hook, the error hook's reports, connection data.

use std::sync::{Arc, Mutex};

use wskit::server::{CloseReason, ErrorCause, ErrorEvent};
use wskit_tests::*;

fn hooked(probe: &Probe) -> wskit::server::ServerBuilder<String> {
    let (p1, p2) = (probe.clone(), probe.clone());
    demo_builder(probe)
        .on_open(move |conn| {
            let p = p1.clone();
            async move {
                p.note(format!("open:{}", *conn.data()));
                Ok(())
            }
        })
        .on_close(move |conn, reason| {
            let p = p2.clone();
            async move {
                p.note(format!(
                    "close:{}:{}:{}",
                    *conn.data(),
                    reason.code,
                    reason.reason
                ));
            }
        })
}

#[tokio::test]
async fn hooks_run_in_order_open_handlers_close() {
    let (probe, mut events) = probe();
    let server = start(hooked(&probe)).await;
    let mut c = connect_to(server.url("/?access_token=ann")).await;
    c.send(r#"{"type":"PING"}"#).await;
    c.send(r#"{"type":"SAY","payload":{"text":"x"}}"#).await;
    c.recv().await;
    c.close(4000).await;
    assert_eq!(events.next().await, "open:ann");
    assert_eq!(events.next().await, "ping");
    assert_eq!(events.next().await, "say:x");
    assert_eq!(events.next().await, "close:ann:4000:bye");
}

#[tokio::test]
async fn open_hook_may_close_the_socket_with_code_and_reason() {
    let (probe, mut events) = probe();
    let p = probe.clone();
    let builder = demo_builder(&probe)
        .on_open(|conn| async move {
            if conn.data().as_str() == "kicked" {
                return Err(CloseReason::new(4003, "go away"));
            }
            Ok(())
        })
        .on_close(move |_conn, reason| {
            let p = p.clone();
            async move { p.note(format!("close:{reason}")) }
        });
    let server = start(builder).await;
    let mut c = connect_to(server.url("/?access_token=kicked")).await;
    // Frames sent meanwhile are not handled.
    c.send(r#"{"type":"PING"}"#).await;
    let (close, texts) = c.recv_close().await;
    assert_eq!(close, Some((4003, "go away".to_owned())));
    assert!(texts.is_empty());
    assert_eq!(events.next().await, "close:4003 go away");
}

#[tokio::test]
async fn open_hook_panic_closes_with_1011() {
    let (probe, _events) = probe();
    let builder = demo_builder(&probe).on_open(|_conn| async move {
        panic!("open hook bug");
    });
    let server = start(builder).await;
    let mut c = connect(&server).await;
    assert_eq!(
        c.recv_close().await.0,
        Some((1011, "internal error".to_owned()))
    );
}

#[tokio::test]
async fn close_hook_sees_1006_when_the_peer_vanishes() {
    let (probe, mut events) = probe();
    let server = start(hooked(&probe)).await;
    let c = connect(&server).await;
    assert_eq!(events.next().await, "open:anon");
    drop(c); // no close frame
    assert_eq!(events.next().await, "close:anon:1006:");
}

#[tokio::test]
async fn open_hook_can_send_and_update_data() {
    let (probe, _events) = probe();
    let builder = demo_builder(&probe).on_open(|conn| async move {
        conn.update_data(|d| d.push_str("+verified"));
        conn.send(&Said {
            text: format!("welcome {}", *conn.data()),
        })
        .unwrap();
        Ok(())
    });
    let server = start(builder).await;
    let mut c = connect_to(server.url("/?access_token=zoe")).await;
    assert_eq!(
        c.recv().await,
        r#"{"type":"SAID","meta":{},"payload":{"text":"welcome zoe+verified"}}"#
    );
    c.send(r#"{"type":"WHO_AM_I","meta":{"correlationId":"w"}}"#)
        .await;
    assert_eq!(c.recv_json().await["payload"]["user"], "zoe+verified");
}

#[tokio::test]
async fn error_hook_receives_every_answered_error_with_its_context() {
    let (probe, mut events) = probe();
    let seen: Arc<Mutex<Vec<ErrorEvent>>> = Arc::default();
    let sink = seen.clone();
    let builder = demo_builder(&probe).on_error(move |e| sink.lock().unwrap().push(e.clone()));
    let server = start(builder).await;
    let mut c = connect(&server).await;
    for frame in [
        "oops",
        r#"{"type":"NOPE","meta":{"correlationId":"u"}}"#,
        r#"{"type":"$bad"}"#,
        r#"{"type":"SAY","payload":{}}"#,
        r#"{"type":"SAY","meta":{"correlationId":"f"},"payload":{"text":"fail"}}"#,
        r#"{"type":"SAY","payload":{"text":"panic"}}"#,
    ] {
        c.send(frame).await;
        c.recv().await;
    }
    events.until("say:panic").await;
    let seen = seen.lock().unwrap().clone();
    let causes: Vec<ErrorCause> = seen.iter().map(|e| e.cause.clone()).collect();
    assert_eq!(
        causes,
        [
            ErrorCause::BadFrame,
            ErrorCause::UnknownType,
            ErrorCause::ReservedType,
            ErrorCause::Validation,
            ErrorCause::Handler,
            ErrorCause::Panic("boom".into()),
        ]
    );
    let id = c.client_id();
    assert!(
        seen.iter()
            .all(|e| e.answered && e.client_id.unwrap().to_string() == id)
    );
    assert_eq!(seen[1].wire_type.as_deref(), Some("NOPE"));
    assert_eq!(seen[1].correlation_id.as_deref(), Some("u"));
    assert_eq!(seen[4].correlation_id.as_deref(), Some("f"));
    assert_eq!(seen[4].error, wskit::Error::not_found("nothing here"));
}

#[tokio::test]
async fn close_codes_an_application_may_not_send_become_1011() {
    let (probe, _events) = probe();
    let builder = demo_builder(&probe).on_open(|conn| async move {
        match conn.data().as_str() {
            // 1006 may never be sent in a close frame.
            "reserved" => Err(CloseReason::new(1006, "nope")),
            _ => Ok(()),
        }
    });
    let server = start(builder).await;
    let mut c = connect_to(server.url("/?access_token=reserved")).await;
    assert_eq!(c.recv_close().await.0, Some((1011, "nope".to_owned())));
    // From a handler: 1005 and 2999 are mapped, 1000 and 3000-4999 pass.
    for (asked, sent) in [
        (1005, 1011),
        (2999, 1011),
        (1000, 1000),
        (3000, 3000),
        (4999, 4999),
    ] {
        let mut c = connect(&server).await;
        c.send(&format!(
            r#"{{"type":"SAY","payload":{{"text":"close:{asked}"}}}}"#
        ))
        .await;
        assert_eq!(
            c.recv_close().await.0,
            Some((sent, "asked".to_owned())),
            "{asked}"
        );
    }
}

#[tokio::test]
async fn a_connection_handle_kept_by_the_app_does_not_keep_the_socket_open() {
    use futures_util::StreamExt;
    use tokio::io::AsyncReadExt;
    use tokio_tungstenite::MaybeTlsStream;

    let (probe, _events) = probe();
    let kept = Arc::new(Mutex::new(Vec::new()));
    let k = kept.clone();
    let builder = demo_builder(&probe).on_open(move |conn| {
        k.lock().unwrap().push(conn);
        async { Ok(()) }
    });
    let server = start(builder).await;
    let mut c = connect(&server).await;
    within("the close handshake", async {
        let _ = c.ws.close(None).await;
        while let Some(Ok(_)) = c.ws.next().await {}
    })
    .await;
    // The server closes its end of the TCP connection although the app still holds a handle.
    let MaybeTlsStream::Plain(tcp) = c.ws.get_mut() else {
        panic!("plain TCP expected");
    };
    let mut buf = [0u8; 64];
    let n = within("the server's FIN", tcp.read(&mut buf)).await;
    assert!(matches!(n, Ok(0)), "{n:?}");
    assert_eq!(kept.lock().unwrap().len(), 1);
}
