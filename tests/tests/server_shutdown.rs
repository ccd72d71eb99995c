//! Graceful shutdown: stop accepting, let handlers in flight finish (up to a limit), close every
//! socket with 1001.

use std::time::Duration;

use wskit_tests::*;

#[tokio::test]
async fn graceful_shutdown_finishes_handlers_in_flight_then_closes_with_1001() {
    let (probe, mut events) = probe();
    let mut server = start(demo_builder(&probe)).await;
    let mut busy = connect(&server).await;
    let mut idle = connect(&server).await;
    busy.send(r#"{"type":"SLOW","meta":{"correlationId":"s"},"payload":{"ms":200}}"#)
        .await;
    assert_eq!(events.next().await, "started:200");
    server.signal_shutdown();
    // The handler in flight finishes and its reply goes out before the close.
    let (close, texts) = busy.recv_close().await;
    assert_eq!(
        texts,
        [r#"{"type":"SLOW_DONE","meta":{"correlationId":"s"}}"#]
    );
    assert_eq!(close, Some((1001, "server shutting down".to_owned())));
    assert_eq!(
        idle.recv_close().await.0,
        Some((1001, "server shutting down".to_owned()))
    );
    assert_eq!(events.next().await, "finished:200");
    // serve_with_shutdown returns, and nothing listens any more.
    within("serve to return", &mut server.task)
        .await
        .unwrap()
        .unwrap();
    assert!(tokio::net::TcpStream::connect(server.addr).await.is_err());
}

#[tokio::test(start_paused = true)]
async fn shutdown_cancels_handlers_still_running_after_the_timeout() {
    let (probe, mut events) = probe();
    let server = start(demo_builder(&probe).shutdown_timeout(Duration::from_secs(1))).await;
    let mut c = connect(&server).await;
    c.send(r#"{"type":"SLOW","meta":{"correlationId":"s"},"payload":{"ms":3600000}}"#)
        .await;
    assert_eq!(events.next().await, "started:3600000");
    let handle = server.handle.clone();
    let shutdown = tokio::spawn(async move { handle.shutdown().await });
    let (close, texts) = c.recv_close().await;
    assert!(texts.is_empty());
    assert_eq!(close, Some((1001, "server shutting down".to_owned())));
    assert_eq!(events.next().await, "cancelled:3600000");
    within("shutdown", shutdown).await.unwrap();
    assert!(server.handle.is_shutting_down());
    assert_eq!(server.handle.connection_count(), 0);
}

#[tokio::test]
async fn requests_arriving_during_a_graceful_shutdown_are_unavailable() {
    let (probe, mut events) = probe();
    let server = start(demo_builder(&probe)).await;
    let mut c = connect(&server).await;
    c.send(r#"{"type":"SLOW","meta":{"correlationId":"s"},"payload":{"ms":300}}"#)
        .await;
    assert_eq!(events.next().await, "started:300");
    // The shutdown begins on its first poll, then waits for the handler in flight.
    let handle = server.handle.clone();
    let mut shutdown = Box::pin(async move { handle.shutdown().await });
    assert!(futures_util::poll!(&mut shutdown).is_pending());
    assert!(server.handle.is_shutting_down());
    let shutdown = tokio::spawn(shutdown);
    // The client keeps sending: each request is refused, the handler does not run.
    for i in 0..3 {
        c.send(&format!(
            r#"{{"type":"GET_USER","meta":{{"correlationId":"late-{i}"}},"payload":{{"userId":"u1"}}}}"#
        ))
        .await;
        assert_eq!(
            c.recv().await,
            format!(
                r#"{{"type":"RPC_ERROR","meta":{{"correlationId":"late-{i}"}},"payload":{{"code":"UNAVAILABLE","message":"server shutting down","retryAfterMs":1000}}}}"#
            )
        );
    }
    c.send(r#"{"type":"SAY","payload":{"text":"hi"}}"#).await;
    assert_eq!(
        c.recv_json().await["payload"]["code"],
        "UNAVAILABLE",
        "a message without correlationId gets ERROR"
    );
    // The request in flight still finishes and is answered before the close.
    let (close, texts) = c.recv_close().await;
    assert_eq!(
        texts,
        [r#"{"type":"SLOW_DONE","meta":{"correlationId":"s"}}"#]
    );
    assert_eq!(close, Some((1001, "server shutting down".to_owned())));
    within("shutdown", shutdown).await.unwrap();
    assert_eq!(events.next().await, "finished:300");
}
