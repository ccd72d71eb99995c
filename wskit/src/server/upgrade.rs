//! The HTTP upgrade: connection limit, handshake checks, auth, subprotocol, `x-client-id`; and
//! the embedded server's own reading and writing of the HTTP/1.1 exchange.

use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::handshake::server::{create_response, write_response};

use super::auth::{offered_subprotocols, select_subprotocol};
use super::io::socket::{self, Socket};
use super::io::ws::WsStream;
use super::plain;
use super::runtime::ConnSlot;
use super::session;
use super::state::ServerState;
use crate::pubsub::ClientId;
use tokio_tungstenite::tungstenite::http;

/// The largest upgrade request head read.
const MAX_HEAD_BYTES: usize = 16 * 1024;
const MAX_HEADERS: usize = 64;

/// An accepted upgrade: the 101 response to send and what the connection starts with.
pub(crate) struct Accepted<D> {
    pub response: http::Response<()>,
    pub id: ClientId,
    pub data: D,
    pub slot: ConnSlot,
}

/// A refused upgrade: status, text body, and a header the status calls for.
pub(crate) struct Refused {
    pub status: http::StatusCode,
    pub body: String,
    /// `Sec-WebSocket-Version: 13` on a 426 (RFC 6455 section 4.2.2).
    pub header: Option<(http::HeaderName, http::HeaderValue)>,
}

impl Refused {
    fn new(status: http::StatusCode, body: impl Into<String>) -> Self {
        Refused {
            status,
            body: body.into(),
            header: None,
        }
    }
}

/// The WebSocket version this server speaks.
const WS_VERSION: &str = "13";

/// What RFC 6455 section 4.2.1 asks of the request beyond what tungstenite checks: a `Host`
/// header (400 without one), and version 13 (426 with `Sec-WebSocket-Version: 13` otherwise,
/// so that a client can retry with a version the server speaks).
fn check_request(req: &http::Request<()>) -> Result<(), Refused> {
    let version = req.headers().get(http::header::SEC_WEBSOCKET_VERSION);
    if version.is_some_and(|v| v.as_bytes() != WS_VERSION.as_bytes()) {
        let mut refused = Refused::new(
            http::StatusCode::UPGRADE_REQUIRED,
            "Unsupported WebSocket version: this server speaks version 13",
        );
        refused.header = Some((
            http::header::SEC_WEBSOCKET_VERSION,
            http::HeaderValue::from_static(WS_VERSION),
        ));
        return Err(refused);
    }
    let host = req.headers().get(http::header::HOST);
    if host.is_none_or(|h| h.as_bytes().trim_ascii().is_empty()) {
        return Err(Refused::new(
            http::StatusCode::BAD_REQUEST,
            "Missing Host header",
        ));
    }
    Ok(())
}

/// The refusal of a connection over `max_connections`.
fn over_limit() -> Refused {
    tracing::warn!("connection limit reached: refusing upgrade");
    Refused::new(http::StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable")
}

/// Answers a socket accepted with the spare file descriptor while the process is out of them:
/// `503 Service Unavailable`, without reading its request, so the client learns at once
/// instead of waiting in the listen queue.
pub(crate) async fn refuse_out_of_fds(mut tcp: TcpStream) {
    let refused = Refused::new(
        http::StatusCode::SERVICE_UNAVAILABLE,
        "Service Unavailable: the server is out of file descriptors",
    );
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(1),
        write_refusal(&mut tcp, &refused),
    )
    .await;
}

/// Decides on one upgrade request; a connection slot is reserved here (the socket counts
/// against `max_connections` from its request on).
pub(crate) async fn prepare<D: Send + Sync + 'static>(
    shared: &Arc<ServerState<D>>,
    req: &http::Request<()>,
) -> Result<Accepted<D>, Refused> {
    let rt = &shared.rt;
    if rt.shutdown.is_cancelled() {
        return Err(Refused::new(
            http::StatusCode::SERVICE_UNAVAILABLE,
            "Server shutting down",
        ));
    }
    check_request(req)?;
    let origin = req
        .headers()
        .get(http::header::ORIGIN)
        .map(|o| o.to_str().unwrap_or(""));
    if !rt.origins.allows(origin) {
        tracing::debug!(?origin, "upgrade refused: origin not allowed");
        return Err(Refused::new(
            http::StatusCode::FORBIDDEN,
            "Origin not allowed",
        ));
    }
    let Some(slot) = rt.reserve() else {
        return Err(over_limit());
    };
    let mut response = create_response(req)
        .map_err(|e| Refused::new(http::StatusCode::BAD_REQUEST, e.to_string()))?;
    let data = match (shared.auth)(req).await {
        Ok(data) => data,
        Err(rejection) => {
            tracing::debug!(status = %rejection.status(), "upgrade refused by auth");
            return Err(Refused::new(rejection.status(), rejection.body()));
        }
    };
    let id = ClientId::new();
    let headers = response.headers_mut();
    if let Some(p) = select_subprotocol(&offered_subprotocols(req), &rt.subprotocols)
        && let Ok(value) = http::HeaderValue::from_str(p)
    {
        headers.insert(http::header::SEC_WEBSOCKET_PROTOCOL, value);
    }
    if let Ok(value) = http::HeaderValue::from_str(&id.to_string()) {
        headers.insert("x-client-id", value);
    }
    Ok(Accepted {
        response,
        id,
        data,
        slot,
    })
}

/// Serves one accepted TCP connection: the upgrade, then the socket loop. The connection counts
/// against `max_pending_upgrades` until its request has arrived, then against `max_connections`.
///
/// The socket loop runs as a task of its own, spawned once the handshake is done: this task (and
/// with it the handshake's state: the request, the response, the head buffers) ends there, so a
/// long-lived connection keeps only its connection future. (That task's span, `ws.connection`,
/// is created here, inside this task's `ws.accept` span, so it stays its child.)
pub(crate) async fn serve_tcp<D: Send + Sync + 'static>(
    shared: Arc<ServerState<D>>,
    tcp: TcpStream,
) {
    let Some((ws, socket, id, data, slot)) = handshake(&shared, tcp).await else {
        return;
    };
    let tracker = shared.rt.tracker.clone();
    tracker.spawn(session::run(shared, ws, Some(socket), id, data, slot));
}

/// The embedded server's upgrade: reads the request, decides on it, writes the answer. Returns
/// the upgraded socket (and its handle for direct writes) and what the connection starts with,
/// or `None` once a refusal is sent.
async fn handshake<D: Send + Sync + 'static>(
    shared: &Arc<ServerState<D>>,
    mut tcp: TcpStream,
) -> Option<(
    WsStream<Socket>,
    Arc<socket::SocketWriter>,
    ClientId,
    D,
    ConnSlot,
)> {
    // Until its request has arrived, a socket holds only a place among the pending upgrades,
    // not a connection slot; when they are all taken, the oldest is pushed out. Sockets that
    // never send a request cannot starve real clients.
    let pending = shared.rt.reserve_upgrade();
    let _ = tcp.set_nodelay(true);
    let limit = shared.rt.limits.upgrade_timeout;
    let head = tokio::select! {
        head = tokio::time::timeout(limit, read_head(&mut tcp)) => head,
        () = pending.evicted() => {
            tracing::debug!("pending upgrade pushed out by a newer one");
            let refused = Refused::new(http::StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable");
            let _ = write_refusal(&mut tcp, &refused).await;
            return None;
        }
    };
    let (req, rest) = match head {
        Ok(Ok(head)) => head,
        Ok(Err(refused)) => {
            let _ = write_refusal(&mut tcp, &refused).await;
            return None;
        }
        Err(_) => {
            tracing::debug!("upgrade timed out");
            let refused = Refused::new(http::StatusCode::REQUEST_TIMEOUT, "Request Timeout");
            let _ = write_refusal(&mut tcp, &refused).await;
            return None;
        }
    };
    drop(pending);
    if let Some(handler) = &shared.http
        && !plain::wants_websocket(&req)
    {
        plain::serve(handler, req, tcp, limit).await;
        return None;
    }
    let accepted = match prepare(shared, &req).await {
        Ok(a) => a,
        Err(refused) => {
            let _ = write_refusal(&mut tcp, &refused).await;
            return None;
        }
    };
    drop(req);
    let Accepted {
        response,
        id,
        data,
        slot,
    } = accepted;
    let mut out = Vec::with_capacity(256);
    if write_response(&mut out, &response).is_err() {
        return None;
    }
    drop(response);
    if tcp.write_all(&out).await.is_err() {
        return None;
    }
    drop(out);
    let (tcp, direct) = Socket::new(tcp);
    let ws = WsStream::new(tcp, rest, shared.rt.ws_config.clone());
    Some((ws, direct, id, data, slot))
}

/// Reads the request head; returns it and any bytes read past it.
async fn read_head(tcp: &mut TcpStream) -> Result<(http::Request<()>, Vec<u8>), Refused> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = tcp
            .read(&mut chunk)
            .await
            .map_err(|e| Refused::new(http::StatusCode::BAD_REQUEST, e.to_string()))?;
        if n == 0 {
            return Err(Refused::new(http::StatusCode::BAD_REQUEST, "Bad Request"));
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut parsed = httparse::Request::new(&mut headers);
        match parsed.parse(&buf) {
            Ok(httparse::Status::Complete(len)) => {
                let req = to_http(&parsed)?;
                return Ok((req, buf[len..].to_vec()));
            }
            Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD_BYTES => continue,
            Ok(httparse::Status::Partial) => {
                return Err(Refused::new(
                    http::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                    "Request Header Fields Too Large",
                ));
            }
            Err(e) => return Err(Refused::new(http::StatusCode::BAD_REQUEST, e.to_string())),
        }
    }
}

fn to_http(parsed: &httparse::Request<'_, '_>) -> Result<http::Request<()>, Refused> {
    let bad = |why: &str| Refused::new(http::StatusCode::BAD_REQUEST, why.to_owned());
    let mut builder = http::Request::builder()
        .method(parsed.method.unwrap_or("GET"))
        .uri(parsed.path.unwrap_or("/"))
        .version(match parsed.version {
            Some(0) => http::Version::HTTP_10,
            _ => http::Version::HTTP_11,
        });
    for h in parsed.headers.iter() {
        builder = builder.header(h.name, h.value);
    }
    builder.body(()).map_err(|e| bad(&e.to_string()))
}

async fn write_refusal(tcp: &mut TcpStream, refused: &Refused) -> std::io::Result<()> {
    let extra = match &refused.header {
        Some((name, value)) => format!("{name}: {}\r\n", value.to_str().unwrap_or_default()),
        None => String::new(),
    };
    let head = format!(
        "HTTP/1.1 {} {}\r\n{extra}content-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        refused.status.as_u16(),
        refused.status.canonical_reason().unwrap_or(""),
        refused.body.len()
    );
    tcp.write_all(head.as_bytes()).await?;
    tcp.write_all(refused.body.as_bytes()).await?;
    tcp.shutdown().await
}
