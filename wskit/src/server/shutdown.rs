//! Serving on a TCP listener until a shutdown signal, then shutting down gracefully.

use std::future::Future;
use std::io;
use std::sync::Arc;

use tokio::net::{TcpListener, ToSocketAddrs};

use super::Server;
use super::upgrade;

impl<D: Send + Sync + 'static> Server<D> {
    /// Binds `addr` and serves until Ctrl-C (SIGINT), then shuts down gracefully.
    pub async fn serve(self, addr: impl ToSocketAddrs) -> io::Result<()> {
        let listener = TcpListener::bind(addr).await?;
        tracing::info!(addr = ?listener.local_addr().ok(), "wskit server listening");
        self.serve_with_shutdown(listener, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
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
