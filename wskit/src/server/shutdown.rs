//! Serving on a TCP listener until a shutdown signal, then shutting down gracefully.

use std::future::Future;
use std::io;
use std::sync::Arc;

use tokio::net::{TcpListener, ToSocketAddrs};

use super::Server;
use super::upgrade;

/// Resolves when the process is asked to stop: SIGINT (Ctrl-C) or SIGTERM (what docker,
/// systemd and Kubernetes send) on Unix, Ctrl-C elsewhere. [`Server::serve`] stops gracefully
/// on it; pass it to [`Server::serve_with_shutdown`] to do the same with your own listener.
///
/// ```no_run
/// # async fn demo(server: wskit::server::Server<()>) -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// server.serve_with_shutdown(listener, wskit::server::shutdown_signal()).await
/// # }
/// ```
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; stopping on Ctrl-C only");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

impl<D: Send + Sync + 'static> Server<D> {
    /// Binds `addr` and serves until Ctrl-C (SIGINT) or SIGTERM ([`shutdown_signal`]), then shuts down gracefully.
    pub async fn serve(self, addr: impl ToSocketAddrs) -> io::Result<()> {
        let listener = TcpListener::bind(addr).await?;
        tracing::info!(addr = ?listener.local_addr().ok(), "wskit server listening");
        self.serve_with_shutdown(listener, shutdown_signal()).await
    }

    /// Serves on `listener` until `signal` resolves or [`ServerHandle::shutdown`] is called; then
    /// stops accepting, waits for handlers in flight (up to the shutdown timeout), closes every
    /// socket with 1001 and waits for the connections to end.
    ///
    /// [`ServerHandle::shutdown`]: super::ServerHandle::shutdown
    pub async fn serve_with_shutdown(
        self,
        listener: TcpListener,
        signal: impl Future<Output = ()> + Send,
    ) -> io::Result<()> {
        let rt = self.shared.rt.clone();
        tokio::pin!(signal);
        loop {
            tokio::select! {
                biased;
                _ = &mut signal => break,
                _ = rt.shutdown.cancelled() => break,
                accepted = listener.accept() => match accepted {
                    Ok((tcp, peer)) => {
                        let shared = Arc::clone(&self.shared);
                        let span = tracing::debug_span!("ws.accept", %peer);
                        rt.tracker.spawn(tracing::Instrument::instrument(
                            upgrade::serve_tcp(shared, tcp),
                            span,
                        ));
                    }
                    Err(e) => {
                        // Out of file descriptors and the like: keep serving.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    }
                },
            }
        }
        drop(listener);
        rt.shutdown().await;
        Ok(())
    }
}
