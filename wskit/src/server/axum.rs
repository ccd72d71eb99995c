//! Mounting a server in an axum 0.8 router (feature `axum`).
//!
//! The upgrade goes through the same checks as the embedded server (connection limit, handshake
//! headers, auth, subprotocol, `x-client-id`), then hyper hands over the connection and the same
//! socket loop runs on it.

use std::sync::Arc;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;

use super::io::ws::WsStream;
use super::serve::Server;
use super::state::ServerState;
use super::{session, upgrade};
use tokio_tungstenite::tungstenite::http;

impl<D: Send + Sync + 'static> Server<D> {
    /// A router that serves WebSocket upgrades at `path`; merge or nest it into your app.
    ///
    /// ```no_run
    /// # async fn demo(server: wskit::server::Server<()>) -> std::io::Result<()> {
    /// let handle = server.handle();
    /// let app = axum::Router::new()
    ///     .route("/health", axum::routing::get(|| async { "ok" }))
    ///     .merge(server.into_axum_router("/ws"));
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    /// axum::serve(listener, app)
    ///     .with_graceful_shutdown(async move { handle.shutdown().await })
    ///     .await
    /// # }
    /// ```
    pub fn into_axum_router<S: Clone + Send + Sync + 'static>(self, path: &str) -> axum::Router<S> {
        axum::Router::new().route(path, self.axum_route())
    }

    /// The `GET` route that upgrades, to mount at a path of your choice.
    pub fn axum_route<S: Clone + Send + Sync + 'static>(self) -> axum::routing::MethodRouter<S> {
        let shared = self.shared;
        axum::routing::get(move |req: axum::extract::Request| {
            let shared = shared.clone();
            async move { upgrade_request(shared, req).await }
        })
    }
}

async fn upgrade_request<D: Send + Sync + 'static>(
    shared: Arc<ServerState<D>>,
    mut req: axum::extract::Request,
) -> Response {
    let on_upgrade = req.extensions_mut().remove::<hyper::upgrade::OnUpgrade>();
    let (parts, _body) = req.into_parts();
    let head = http::Request::from_parts(parts, ());
    let accepted = match upgrade::prepare(&shared, &head).await {
        Ok(a) => a,
        Err(refused) => {
            let mut response = (refused.status, refused.body).into_response();
            if let Some((name, value)) = refused.header {
                response.headers_mut().insert(name, value);
            }
            return response;
        }
    };
    let Some(on_upgrade) = on_upgrade else {
        return (
            http::StatusCode::UPGRADE_REQUIRED,
            "the connection cannot be upgraded",
        )
            .into_response();
    };
    let config = shared.rt.ws_config.clone();
    let tracker = shared.rt.tracker.clone();
    let upgrade::Accepted {
        response,
        id,
        data,
        slot,
    } = accepted;
    tracker.spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let io = TokioIo::new(upgraded);
                let ws = WsStream::new(io, Vec::new(), config);
                session::run(shared, ws, None, id, data, slot).await;
            }
            Err(e) => tracing::debug!(error = %e, "upgrade failed"),
        }
    });
    let (parts, ()) = response.into_parts();
    Response::from_parts(parts, Body::empty())
}
