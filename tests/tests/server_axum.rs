//! Mounting the server in an axum router (feature `axum`).

use wskit_tests::*;

async fn serve_app(
    server: wskit::server::Server<String>,
) -> (std::net::SocketAddr, wskit::server::ServerHandle) {
    let handle = server.handle();
    let app = axum::Router::new()
        .route("/health", axum::routing::get(|| async { "ok" }))
        .merge(server.into_axum_router("/ws"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, handle)
}

#[tokio::test]
async fn mounted_under_axum_serves_rpcs_and_keeps_other_routes() {
    let (probe, _events) = probe();
    let server = demo_builder(&probe).build().unwrap();
    let (addr, _handle) = serve_app(server).await;
    let mut c = connect_to(format!("ws://{addr}/ws?access_token=axel")).await;
    assert_eq!(c.client_id().len(), 36);
    c.send(r#"{"type":"WHO_AM_I","meta":{"correlationId":"w"}}"#)
        .await;
    let me = c.recv_json().await;
    assert_eq!(me["payload"]["user"], "axel");
    c.send(r#"{"type":"GET_USER","meta":{"correlationId":"c-1"},"payload":{"userId":"u1"}}"#)
        .await;
    assert_eq!(
        c.recv().await,
        r#"{"type":"USER_DATA","meta":{"correlationId":"c-1"},"payload":{"name":"Ada"}}"#
    );
    // Bad input is answered the same way under axum.
    c.send("nope").await;
    assert_eq!(c.recv_json().await["payload"]["code"], "INVALID_ARGUMENT");

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(b"GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = String::new();
    within("health", tcp.read_to_string(&mut out))
        .await
        .unwrap();
    assert!(out.starts_with("HTTP/1.1 200 OK"), "{out}");
    assert!(out.ends_with("ok"), "{out}");
}

#[tokio::test]
async fn auth_refusal_and_shutdown_work_under_axum() {
    let (probe, _events) = probe();
    let server = demo_builder(&probe).build().unwrap();
    let (addr, handle) = serve_app(server).await;
    assert_eq!(
        refused(format!("ws://{addr}/ws?access_token=bad")).await,
        (401, "Unauthorized".to_owned())
    );
    let mut c = connect_to(format!("ws://{addr}/ws")).await;
    assert_eq!(handle.connection_count(), 1);
    let h = handle.clone();
    tokio::spawn(async move { h.shutdown().await });
    assert_eq!(
        c.recv_close().await.0,
        Some((1001, "server shutting down".to_owned()))
    );
}
