//! Plain HTTP requests to the embedded server (no WebSocket upgrade asked for): handed to the
//! builder's [`http_handler`](super::ServerBuilder::http_handler), answered once, then the
//! socket is closed.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::http;

/// The application's handler of plain HTTP requests.
pub(crate) type HttpFn =
    Arc<dyn Fn(http::Request<()>) -> BoxFuture<'static, http::Response<Vec<u8>>> + Send + Sync>;

pub(crate) fn boxed<F, Fut>(f: F) -> HttpFn
where
    F: Fn(http::Request<()>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = http::Response<Vec<u8>>> + Send + 'static,
{
    Arc::new(move |req| Box::pin(f(req)))
}

/// Whether a request asks for a WebSocket: an `Upgrade` header naming `websocket`. Any other
/// request is plain HTTP.
pub(crate) fn wants_websocket(req: &http::Request<()>) -> bool {
    req.headers()
        .get_all(http::header::UPGRADE)
        .iter()
        .any(|v| {
            v.as_bytes()
                .split(|b| *b == b',')
                .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"websocket"))
        })
}

/// Headers the server writes itself; the handler's own are dropped.
const OWN_HEADERS: [http::HeaderName; 3] = [
    http::header::CONTENT_LENGTH,
    http::header::CONNECTION,
    http::header::TRANSFER_ENCODING,
];

/// The bytes of `response` as HTTP/1.1, `Content-Length` set, `Connection: close`; no body
/// for `HEAD`.
pub(crate) fn encode(method: &http::Method, response: &http::Response<Vec<u8>>) -> Vec<u8> {
    let status = response.status();
    let body = response.body();
    let mut out = Vec::with_capacity(256 + body.len());
    out.extend_from_slice(
        format!(
            "HTTP/1.1 {} {}\r\n",
            status.as_u16(),
            status.canonical_reason().unwrap_or("")
        )
        .as_bytes(),
    );
    for (name, value) in response.headers() {
        if OWN_HEADERS.contains(name) {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(
        format!(
            "content-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    if method != http::Method::HEAD {
        out.extend_from_slice(body);
    }
    out
}

fn status_only(status: http::StatusCode) -> http::Response<Vec<u8>> {
    let mut r = http::Response::new(status.canonical_reason().unwrap_or("").as_bytes().to_vec());
    *r.status_mut() = status;
    r
}

/// Answers one plain request with the handler (503 when it takes longer than `limit`, 500
/// when it panics), then closes the socket.
pub(crate) async fn serve(
    handler: &HttpFn,
    req: http::Request<()>,
    mut tcp: TcpStream,
    limit: std::time::Duration,
) {
    let method = req.method().clone();
    let call = std::panic::catch_unwind(AssertUnwindSafe(|| handler(req)));
    let answer = match call {
        Ok(future) => tokio::time::timeout(limit, AssertUnwindSafe(future).catch_unwind()).await,
        Err(panic) => Ok(Err(panic)),
    };
    let response = match answer {
        Ok(Ok(response)) => response,
        Ok(Err(_)) => {
            tracing::warn!("plain HTTP handler panicked");
            status_only(http::StatusCode::INTERNAL_SERVER_ERROR)
        }
        Err(_) => {
            tracing::debug!("plain HTTP handler timed out");
            status_only(http::StatusCode::SERVICE_UNAVAILABLE)
        }
    };
    let bytes = encode(&method, &response);
    let write = async {
        tcp.write_all(&bytes).await?;
        tcp.shutdown().await
    };
    let _ = tokio::time::timeout(limit, write).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(upgrade: Option<&str>) -> http::Request<()> {
        let mut b = http::Request::builder().uri("/");
        if let Some(u) = upgrade {
            b = b.header("upgrade", u);
        }
        b.body(()).unwrap()
    }

    #[test]
    fn upgrade_detection() {
        assert!(wants_websocket(&req(Some("websocket"))));
        assert!(wants_websocket(&req(Some("h2c, WebSocket"))));
        assert!(!wants_websocket(&req(Some("h2c"))));
        assert!(!wants_websocket(&req(None)));
    }

    #[test]
    fn encoding() {
        let r = http::Response::builder()
            .status(404)
            .header("content-type", "text/plain")
            .header("content-length", "999")
            .body(b"nope".to_vec())
            .unwrap();
        let text = String::from_utf8(encode(&http::Method::GET, &r)).unwrap();
        assert_eq!(
            text,
            "HTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\ncontent-length: 4\r\nconnection: close\r\n\r\nnope"
        );
        let head = String::from_utf8(encode(&http::Method::HEAD, &r)).unwrap();
        assert!(head.ends_with("content-length: 4\r\nconnection: close\r\n\r\n"));
    }
}
