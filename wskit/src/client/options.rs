//! The client builder and its options, with their defaults.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;

use super::backoff::Backoff;
use super::queue::QueuePolicy;
use super::report::{ErrorReport, Unhandled};
use super::state::Gap;
use crate::heartbeat::Heartbeat;

/// Where the auth token goes on the upgrade request (PROTOCOL.md section 5).
///
/// ```
/// use wskit::client::{AuthTransport, ProtocolPosition};
/// assert_eq!(AuthTransport::default(), AuthTransport::Query { param: "access_token".into() });
/// let sub = AuthTransport::Subprotocol { prefix: "bearer.".into(), position: ProtocolPosition::Append };
/// # let _ = sub;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthTransport {
    /// A query parameter (default `access_token`), as `@ws-kit/client` does by default.
    Query {
        /// The parameter name.
        param: String,
    },
    /// A `Sec-WebSocket-Protocol` value `<prefix><token>` (default prefix `bearer.`).
    Subprotocol {
        /// The prefix before the token.
        prefix: String,
        /// Before or after the application's own subprotocols.
        position: ProtocolPosition,
    },
}

impl Default for AuthTransport {
    fn default() -> Self {
        AuthTransport::Query {
            param: "access_token".into(),
        }
    }
}

/// Where the token subprotocol goes among the offered subprotocols.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ProtocolPosition {
    /// After the application's subprotocols (the default, as `@ws-kit/client`).
    #[default]
    Append,
    /// Before them.
    Prepend,
}

pub(crate) type TokenProvider = Arc<dyn Fn() -> BoxFuture<'static, Option<String>> + Send + Sync>;
pub(crate) type Hook<T> = Arc<dyn Fn(T) + Send + Sync>;

/// Everything the builder sets.
#[derive(Clone)]
pub(crate) struct Options {
    pub url: String,
    pub token: Option<TokenProvider>,
    pub auth: AuthTransport,
    pub protocols: Vec<String>,
    pub headers: Vec<(String, String)>,
    pub backoff: Backoff,
    pub retry_rejected: bool,
    pub jitter_seed: Option<u64>,
    pub queue_policy: QueuePolicy,
    pub queue_size: usize,
    pub request_timeout: Duration,
    pub max_pending: usize,
    pub heartbeat: Option<Heartbeat>,
    pub event_buffer: usize,
    pub close_timeout: Duration,
    pub connect_timeout: Duration,
    pub write_timeout: Duration,
    pub on_error: Option<Hook<ErrorReport>>,
    pub on_unhandled: Option<Hook<Unhandled>>,
    pub on_gap: Option<Hook<Gap>>,
    /// The TLS configuration of `wss://` connections; `None`: `transport::default_tls_config`.
    #[cfg(feature = "tls")]
    pub tls: Option<std::sync::Arc<tokio_rustls::rustls::ClientConfig>>,
}

/// Builds a [`Client`](super::Client). Defaults (PROTOCOL.md section 7):
///
/// | option | default |
/// |---|---|
/// | [`backoff`](Self::backoff) | exponential with full jitter, 300 ms to 10 s, unlimited attempts |
/// | [`retry_rejected`](Self::retry_rejected) | off: a 401/403 at the upgrade stops the client |
/// | [`queue`](Self::queue) | [`QueuePolicy::DropNewest`], 1000 frames |
/// | [`request_timeout`](Self::request_timeout) | 30 s, counted from the moment the request frame is written |
/// | [`max_pending`](Self::max_pending) | 1000 requests |
/// | [`auth`](Self::auth) | token (if any) as query parameter `access_token` |
/// | [`heartbeat`](Self::heartbeat) | off |
/// | [`event_buffer`](Self::event_buffer) | 1024 events per [`Events`](super::Events) stream |
/// | [`close_timeout`](Self::close_timeout) | 5 s for a deliberate close (flush, close frame, the server's answer) |
/// | [`connect_timeout`](Self::connect_timeout) | 10 s per connection attempt (token, TCP, TLS, upgrade) |
/// | [`write_timeout`](Self::write_timeout) | 10 s for the socket to take one frame |
/// | `tls` (feature `tls`) | for `wss://`: rustls's safe defaults, Mozilla's root certificates, no client certificate |
///
/// ```no_run
/// use std::time::Duration;
/// use wskit::client::{Backoff, Client, QueuePolicy};
/// # async fn demo() -> Result<(), wskit::client::ClientError> {
/// let client = Client::builder("ws://127.0.0.1:3000/ws")
///     .token(|| async { Some("secret".to_owned()) })
///     .queue(QueuePolicy::DropOldest, 100)
///     .request_timeout(Duration::from_secs(5))
///     .backoff(Backoff::ExponentialJitter {
///         initial: Duration::from_millis(100),
///         max: Duration::from_secs(5),
///         max_attempts: Some(10),
///     })
///     .on_error(|report| eprintln!("client: {report}"))
///     .build();
/// client.connect().await?;
/// # Ok(()) }
/// ```
pub struct ClientBuilder {
    pub(super) opts: Options,
}

impl ClientBuilder {
    pub(crate) fn new(url: impl Into<String>) -> Self {
        ClientBuilder {
            opts: Options {
                url: url.into(),
                token: None,
                auth: AuthTransport::default(),
                protocols: Vec::new(),
                headers: Vec::new(),
                backoff: Backoff::default(),
                retry_rejected: false,
                jitter_seed: None,
                queue_policy: QueuePolicy::default(),
                queue_size: 1000,
                request_timeout: Duration::from_secs(30),
                max_pending: 1000,
                heartbeat: None,
                event_buffer: 1024,
                close_timeout: Duration::from_secs(5),
                connect_timeout: Duration::from_secs(10),
                write_timeout: Duration::from_secs(10),
                on_error: None,
                on_unhandled: None,
                on_gap: None,
                #[cfg(feature = "tls")]
                tls: None,
            },
        }
    }

    /// The token provider, asked again before every connection attempt; `None` sends no token.
    pub fn token<F, Fut>(mut self, provider: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Option<String>> + Send + 'static,
    {
        self.opts.token = Some(Arc::new(move || Box::pin(provider())));
        self
    }

    /// Where the token goes (default: query parameter `access_token`).
    pub fn auth(mut self, transport: AuthTransport) -> Self {
        self.opts.auth = transport;
        self
    }

    /// The application's own subprotocols, offered in this order.
    pub fn protocols<I, S>(mut self, protocols: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.opts.protocols = protocols.into_iter().map(Into::into).collect();
        self
    }

    /// An extra header on the upgrade request.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.opts.headers.push((name.into(), value.into()));
        self
    }

    /// The TLS configuration of `wss://` connections (feature `tls`), instead of the default:
    /// rustls's safe defaults with its default provider (aws-lc-rs), trusting Mozilla's root
    /// certificates (webpki-roots), no client certificate. Give one to trust your own
    /// certificate authority (a staging server, a private network) or to present a client
    /// certificate. Leave its ALPN protocols empty (or `http/1.1`): the upgrade is an HTTP/1.1
    /// request.
    ///
    /// ```no_run
    /// use std::sync::Arc;
    /// use wskit::client::Client;
    /// use wskit::client::rustls::{ClientConfig, RootCertStore, crypto::aws_lc_rs};
    /// use wskit::client::rustls::pki_types::{CertificateDer, pem::PemObject};
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut roots = RootCertStore::empty();
    /// roots.add(CertificateDer::from_pem_file("my-ca.pem")?)?;
    /// let config = ClientConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
    ///     .with_safe_default_protocol_versions()?
    ///     .with_root_certificates(roots)
    ///     .with_no_client_auth();
    /// let client = Client::builder("wss://chat.internal:8443/ws").tls(Arc::new(config)).build();
    /// client.connect().await?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "tls")]
    pub fn tls(mut self, config: Arc<tokio_rustls::rustls::ClientConfig>) -> Self {
        self.opts.tls = Some(config);
        self
    }

    /// The reconnect strategy.
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.opts.backoff = backoff;
        self
    }

    /// Whether to go on reconnecting (per the backoff) after the server refused the upgrade
    /// with 401 or 403. Off by default: a refused token is refused again, so the client stops
    /// (`Closed`) and [`Client::connect`](super::Client::connect) fails with
    /// [`ClientError::Connect`](super::ClientError::Connect)`(`[`ConnectError::Rejected`](super::ConnectError::Rejected)`)`.
    /// Turn it on when the [`token`](Self::token) provider fetches a fresh token each attempt.
    ///
    /// ```
    /// # async fn demo() {
    /// use wskit::client::{Client, ClientError, ConnectError};
    /// let client = Client::builder("ws://127.0.0.1:9/ws")
    ///     .token(|| async { Some("expired".to_owned()) })
    ///     .build();
    /// match client.connect().await {
    ///     Err(ClientError::Connect(ConnectError::Rejected { status: 401, .. })) => { /* log in again */ }
    ///     _ => {}
    /// }
    /// # }
    /// ```
    pub fn retry_rejected(mut self, retry: bool) -> Self {
        self.opts.retry_rejected = retry;
        self
    }

    /// Seeds the jitter generator ([`JitterRng`](super::JitterRng)), for reproducible delays.
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.opts.jitter_seed = Some(seed);
        self
    }

    /// The offline queue's policy and size.
    pub fn queue(mut self, policy: QueuePolicy, size: usize) -> Self {
        self.opts.queue_policy = policy;
        self.opts.queue_size = size;
        self
    }

    /// The default request timeout; [`Call::timeout`](super::Call::timeout) overrides it per call.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.opts.request_timeout = timeout;
        self
    }

    /// The most requests awaiting a reply at once; more fail with [`ClientError::TooManyPending`](super::ClientError::TooManyPending).
    pub fn max_pending(mut self, max: usize) -> Self {
        self.opts.max_pending = max;
        self
    }

    /// Turns the heartbeat on.
    pub fn heartbeat(mut self, heartbeat: Heartbeat) -> Self {
        self.opts.heartbeat = Some(heartbeat);
        self
    }

    /// How many undelivered events one [`Events`](super::Events) stream buffers before it
    /// drops (and reports) new ones.
    pub fn event_buffer(mut self, size: usize) -> Self {
        self.opts.event_buffer = size.max(1);
        self
    }

    /// How long a deliberate close may take in all: writing the frames sent before it, the
    /// close frame, and waiting for the server's close frame.
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.opts.close_timeout = timeout;
        self
    }

    /// How long one connection attempt may take, from asking the token provider to the end of
    /// the upgrade. An attempt that takes longer fails (reported as
    /// [`ErrorReport::Connect`]) and the backoff goes on.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.opts.connect_timeout = timeout;
        self
    }

    /// How long the socket may take to accept one frame. A server that stopped reading makes
    /// writes stall: past this the connection is treated as lost (and the client reconnects).
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.opts.write_timeout = timeout;
        self
    }

    /// Called with every problem that concerns no call: unparsable frames, events or progress
    /// that fail validation, `ERROR` frames, overflows. Runs on the connection task: keep it short.
    /// A panic in any hook is caught (and reported here as
    /// [`ErrorReport::HookPanicked`]); the connection goes on. Without a hook, each report is
    /// logged through `tracing` at WARN (target `wskit::client`), so that a client that cannot
    /// connect is not silent.
    pub fn on_error(mut self, hook: impl Fn(ErrorReport) + Send + Sync + 'static) -> Self {
        self.opts.on_error = Some(Arc::new(hook));
        self
    }

    /// Called with every frame that answers no request and matches no event of any
    /// [`Events`](super::Events) stream.
    pub fn on_unhandled(mut self, hook: impl Fn(Unhandled) + Send + Sync + 'static) -> Self {
        self.opts.on_unhandled = Some(Arc::new(hook));
        self
    }

    /// Called after every reconnect (see [`Client::gaps`](super::Client::gaps)).
    pub fn on_gap(mut self, hook: impl Fn(Gap) + Send + Sync + 'static) -> Self {
        self.opts.on_gap = Some(Arc::new(hook));
        self
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("url", &self.opts.url)
            .field("backoff", &self.opts.backoff)
            .field("queue_policy", &self.opts.queue_policy)
            .field("queue_size", &self.opts.queue_size)
            .finish_non_exhaustive()
    }
}
