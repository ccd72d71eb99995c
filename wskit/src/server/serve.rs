//! The server and its handle: serving on a TCP listener until a shutdown signal, then shutting
//! down gracefully; publishing from outside handlers.

use std::fmt;
use std::future::Future;
use std::io;
use std::sync::Arc;

use tokio::net::{TcpListener, ToSocketAddrs};

use super::publish::{PublishOptions, encode_publication};
use super::runtime::Runtime;
use super::state::ServerState;
use super::upgrade;
use crate::pubsub::{ClusterCount, Matched, PubSubError};
use wskit_core::Message;

/// A wskit server: serve it on an address, or mount it in an axum router (feature `axum`).
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use wskit::server::Server;
/// let server = Server::<()>::builder() /* .service(Chat::server(handler)) */
///     .build()
///     .expect("valid server");
/// server.serve("127.0.0.1:3000").await // until Ctrl-C or SIGTERM
/// # }
/// ```
pub struct Server<D> {
    pub(crate) shared: Arc<ServerState<D>>,
}

impl<D> Clone for Server<D> {
    fn clone(&self) -> Self {
        Server {
            shared: self.shared.clone(),
        }
    }
}

impl<D: Send + Sync + 'static> Server<D> {
    /// A handle to publish from outside handlers, count connections and shut down.
    pub fn handle(&self) -> ServerHandle {
        ServerHandle {
            rt: self.shared.rt.clone(),
        }
    }
}

/// Publishes from outside handlers, counts connections, shuts the server down. Cheap to clone.
///
/// ```
/// use wskit::server::{PublishOptions, ServerHandle};
/// async fn announce<M: wskit::Message>(handle: &ServerHandle, msg: &M) {
///     let matched = handle.publish("news", msg, PublishOptions::default()).await;
///     println!("{matched:?} subscribers; {} connections", handle.connection_count());
/// }
/// ```
#[derive(Clone)]
pub struct ServerHandle {
    rt: Arc<Runtime>,
}

impl fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerHandle")
            .field("connections", &self.connection_count())
            .finish()
    }
}

impl ServerHandle {
    /// Publishes `msg` to `topic` (no connection to exclude; `exclude_self` is ignored). The
    /// backend takes the publication when this is called, so publications go out in call order
    /// even when their futures are awaited later or together; the future gives the result.
    pub fn publish<M: Message>(
        &self,
        topic: &str,
        msg: &M,
        options: PublishOptions,
    ) -> impl Future<Output = Result<Matched, PubSubError>> + Send + 'static + use<M> {
        let publication = encode_publication(topic, msg, options.meta.as_ref(), None);
        let published = publication.map(|p| self.rt.publish(p, None));
        async move { published?.await }
    }

    /// Open connections.
    pub fn connection_count(&self) -> usize {
        self.rt.open_connections()
    }

    /// Local subscribers of a topic (this server's).
    pub fn subscriber_count(&self, topic: &str) -> usize {
        self.rt.pubsub.subscriber_count(topic)
    }

    /// Subscribers of a topic across the cluster. With a cluster backend
    /// ([`RedisPubSub`](crate::pubsub::RedisPubSub)) this asks the other wskit nodes on the bus
    /// and waits for as many as the bus reports, or for the backend's count timeout (default
    /// 5 s); [`ClusterCount`] says how many answered. With the in-memory backend it is
    /// [`subscriber_count`](Self::subscriber_count), one node of one. The NATS backend has no
    /// cluster-wide count: [`PubSubError::Backend`].
    ///
    /// ```
    /// # async fn demo(handle: wskit::server::ServerHandle) -> Result<(), wskit::pubsub::PubSubError> {
    /// let count = handle.cluster_subscriber_count("room:1").await?;
    /// if !count.is_complete() {
    ///     println!("at least {} ({} of {} nodes answered)", count.subscribers, count.nodes_answered, count.nodes_expected);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn cluster_subscriber_count(&self, topic: &str) -> Result<ClusterCount, PubSubError> {
        self.rt.pubsub.cluster_subscriber_count(topic).await
    }

    /// Graceful shutdown: stop accepting, wait for handlers in flight (up to
    /// [`Limits::shutdown_timeout`](super::Limits::shutdown_timeout)), close every socket with 1001, wait for the connections.
    pub async fn shutdown(&self) {
        self.rt.shutdown().await
    }

    /// Whether a shutdown has started.
    pub fn is_shutting_down(&self) -> bool {
        self.rt.shutdown.is_cancelled()
    }
}

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
    /// [`ServerHandle::shutdown`]: ServerHandle::shutdown
    pub async fn serve_with_shutdown(
        self,
        listener: TcpListener,
        signal: impl Future<Output = ()> + Send,
    ) -> io::Result<()> {
        let rt = self.shared.rt.clone();
        tokio::pin!(signal);
        let mut out_of_fds = OutOfFds::new();
        loop {
            tokio::select! {
                biased;
                _ = &mut signal => break,
                _ = rt.shutdown.cancelled() => break,
                accepted = listener.accept() => match accepted {
                    Ok((tcp, peer)) => {
                        if out_of_fds.refusing {
                            // Accepted with the spare descriptor: refuse, then take it back.
                            upgrade::refuse_out_of_fds(tcp).await;
                            out_of_fds.recovered();
                            continue;
                        }
                        out_of_fds.ok();
                        let shared = Arc::clone(&self.shared);
                        let span = tracing::debug_span!("ws.accept", %peer);
                        rt.tracker.spawn(tracing::Instrument::instrument(
                            upgrade::serve_tcp(shared, tcp),
                            span,
                        ));
                    }
                    Err(e) => {
                        out_of_fds.accept_failed(&e).await;
                    }
                },
            }
        }
        drop(listener);
        rt.shutdown().await;
        Ok(())
    }
}

/// What the accept loop does when `accept` fails. Out of file descriptors (EMFILE, ENFILE) or
/// memory, the listen queue keeps the clients waiting: the loop gives up one spare descriptor
/// it holds for this, so that the next accept succeeds and that client gets `503` at once, and
/// backs off (10 ms, doubling to 1 s) while it cannot take the spare back. Warnings are
/// limited to one a second, with the number of failures since the last. Other accept errors
/// concern one connection (reset before it was accepted): the loop goes on at once.
struct OutOfFds {
    /// A descriptor held in reserve (`/dev/null`); `None` while given up.
    spare: Option<std::fs::File>,
    /// The spare was given up: the next accepted socket is refused.
    refusing: bool,
    backoff: std::time::Duration,
    failures: u64,
    last_warning: Option<tokio::time::Instant>,
}

impl OutOfFds {
    fn new() -> Self {
        OutOfFds {
            spare: std::fs::File::open("/dev/null").ok(),
            refusing: false,
            backoff: std::time::Duration::ZERO,
            failures: 0,
            last_warning: None,
        }
    }

    /// An accept succeeded normally.
    fn ok(&mut self) {
        self.backoff = std::time::Duration::ZERO;
        if self.spare.is_none() {
            self.spare = std::fs::File::open("/dev/null").ok();
        }
    }

    /// The refused socket is closed: take the spare back (it may fail while still out).
    fn recovered(&mut self) {
        self.refusing = false;
        if self.spare.is_none() {
            self.spare = std::fs::File::open("/dev/null").ok();
        }
    }

    /// Handles one failed accept; whether it logged a warning.
    async fn accept_failed(&mut self, e: &io::Error) -> bool {
        // EMFILE 24, ENFILE 23, ENOBUFS 105, ENOMEM 12 (Linux numbers; elsewhere only the
        // backoff applies).
        let exhausted = matches!(e.raw_os_error(), Some(24 | 23 | 105 | 12));
        if !exhausted {
            tracing::debug!(error = %e, "accept failed");
            return false;
        }
        self.failures += 1;
        let now = tokio::time::Instant::now();
        let mut warned = false;
        if self
            .last_warning
            .is_none_or(|at| now.duration_since(at) >= std::time::Duration::from_secs(1))
        {
            tracing::warn!(
                error = %e,
                failures = self.failures,
                "accept failed: out of resources; refusing new connections with 503 (raise the \
                 file descriptor limit, `ulimit -n`, above max_connections)"
            );
            self.failures = 0;
            self.last_warning = Some(now);
            warned = true;
        }
        if let Some(spare) = self.spare.take() {
            drop(spare);
            self.refusing = true;
            return warned;
        }
        self.backoff = (self.backoff * 2).clamp(
            std::time::Duration::from_millis(10),
            std::time::Duration::from_secs(1),
        );
        tokio::time::sleep(self.backoff).await;
        self.spare = std::fs::File::open("/dev/null").ok();
        warned
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::time::Instant;

    use super::*;

    /// Out of descriptors, every other failure gives up the spare (so that the next client is
    /// answered 503) and the others back off, 10 ms doubling to 1 s; at most one warning a
    /// second is logged. Any other accept error costs neither a wait nor a warning.
    #[tokio::test(start_paused = true)]
    async fn out_of_fds_backs_off_and_warns_at_most_once_a_second() {
        let emfile = io::Error::from_raw_os_error(24);
        let mut fds = OutOfFds::new();
        let started = Instant::now();
        let mut warnings = Vec::new();
        for _ in 0..20 {
            if fds.accept_failed(&emfile).await {
                warnings.push(started.elapsed());
            }
        }
        // Ten waits: 10, 20, 40, ..., 640 ms, then 1 s three times.
        assert_eq!(started.elapsed(), Duration::from_millis(4270));
        assert_eq!(warnings.len(), 4, "{warnings:?}");
        assert_eq!(warnings[0], Duration::ZERO);
        for pair in warnings.windows(2) {
            assert!(pair[1] - pair[0] >= Duration::from_secs(1), "{warnings:?}");
        }
        // Accepting again resets the backoff.
        fds.ok();
        fds.recovered();
        let at = Instant::now();
        fds.accept_failed(&emfile).await;
        fds.accept_failed(&emfile).await;
        assert_eq!(at.elapsed(), Duration::from_millis(10));

        let aborted = io::Error::from(io::ErrorKind::ConnectionAborted);
        let at = Instant::now();
        assert!(!fds.accept_failed(&aborted).await);
        assert_eq!(at.elapsed(), Duration::ZERO);
    }
}
