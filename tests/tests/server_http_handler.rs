//! `ServerBuilder::http_handler`: plain HTTP requests on the embedded server's port.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wskit::server::{Server, http};
use wskit_tests::*;

async fn exchange(addr: std::net::SocketAddr, request: &str) -> String {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut out))
        .await
        .expect("the server closes after its answer")
        .unwrap();
    String::from_utf8(out).unwrap()
}

/// Without a handler a plain request is refused as before; with one, the handler sees the
/// request head (path, query, headers) and its response goes out as it made it.
#[tokio::test]
async fn handler_answers_plain_requests_only() {
    let plain = "GET /health?verbose=1 HTTP/1.1\r\nHost: x\r\nX-Probe: yes\r\n\r\n";
    let without = start_server(Server::<()>::builder().build().unwrap()).await;
    assert!(
        exchange(without.addr, plain)
            .await
            .starts_with("HTTP/1.1 400 ")
    );

    let server = Server::<()>::builder()
        .http_handler(|req: http::Request<()>| async move {
            let probe = req
                .headers()
                .get("x-probe")
                .map(|v| v.to_str().unwrap().to_owned());
            let body = format!("{} {:?} {:?}", req.uri().path(), req.uri().query(), probe);
            http::Response::builder()
                .status(http::StatusCode::IM_A_TEAPOT)
                .header("x-answer", "42")
                .header("connection", "keep-alive") // the server's own: dropped
                .body(body.into_bytes())
                .unwrap()
        })
        .build()
        .unwrap();
    let server = start_server(server).await;
    let answer = exchange(server.addr, plain).await;
    assert_eq!(
        answer,
        "HTTP/1.1 418 I'm a teapot\r\nx-answer: 42\r\ncontent-length: 37\r\nconnection: close\r\n\r\n/health Some(\"verbose=1\") Some(\"yes\")"
    );
    // A WebSocket upgrade is not the handler's.
    connect_to(server.url("/health")).await;
}

/// A handler slower than the upgrade timeout is answered 503 for it.
#[tokio::test]
async fn slow_handler_gets_503() {
    let server = Server::<()>::builder()
        .upgrade_timeout(Duration::from_millis(200))
        .http_handler(|_req: http::Request<()>| async move {
            tokio::time::sleep(Duration::from_secs(30)).await;
            http::Response::new(Vec::new())
        })
        .build()
        .unwrap();
    let server = start_server(server).await;
    let answer = exchange(server.addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(
        answer.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
        "{answer}"
    );
}

/// A handler that panics (before or inside its future) is answered 500 and the server goes on.
#[tokio::test]
async fn panicking_handler_gets_500() {
    let server = Server::<()>::builder()
        .http_handler(|req: http::Request<()>| {
            if req.uri().path() == "/early" {
                panic!("before the future");
            }
            async move {
                if req.uri().path() == "/late" {
                    panic!("inside the future");
                }
                http::Response::new(b"fine".to_vec())
            }
        })
        .build()
        .unwrap();
    let server = start_server(server).await;
    for path in ["/early", "/late"] {
        let answer = exchange(
            server.addr,
            &format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n"),
        )
        .await;
        assert!(
            answer.starts_with("HTTP/1.1 500 Internal Server Error\r\n"),
            "{answer}"
        );
    }
    let fine = exchange(server.addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(fine.ends_with("\r\n\r\nfine"), "{fine}");
}
