//! The byte stream under a client connection: TCP for `ws://`; for `wss://`, TLS over TCP (the
//! `tls` feature: rustls with its default provider, aws-lc-rs, and Mozilla's root certificates
//! unless `ClientBuilder::tls` gives a configuration).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::http::Uri;

#[cfg(feature = "tls")]
use std::sync::{Arc, OnceLock};
#[cfg(feature = "tls")]
use tokio_rustls::TlsConnector;
#[cfg(feature = "tls")]
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore, pki_types::ServerName};

use super::error::ConnectError;
use super::options::Options;

/// The connection's bytes: plain TCP, or TLS over it.
pub(crate) enum Transport {
    Plain(TcpStream),
    #[cfg(feature = "tls")]
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

/// Opens the transport `uri` asks for: TCP to its host and port (80 or 443 by default), then
/// the TLS handshake for `wss`. The request's own errors (a scheme other than `ws`/`wss`, no
/// host, `wss` without the `tls` feature) are `InvalidRequest`; a certificate the client does
/// not trust, or a server that does not speak TLS, is `Tls`; the network's, `Transport`.
pub(crate) async fn open(uri: &Uri, opts: &Options) -> Result<Transport, ConnectError> {
    let invalid = |why: &str| ConnectError::InvalidRequest(why.to_owned());
    let tls = match uri.scheme_str() {
        Some("ws") => false,
        Some("wss") => true,
        _ => return Err(invalid("URL scheme not supported (ws:// or wss://)")),
    };
    if tls && cfg!(not(feature = "tls")) {
        return Err(invalid(
            "wss:// needs TLS: enable wskit's `tls` feature (or put TLS in a proxy)",
        ));
    }
    let host = uri
        .host()
        .ok_or_else(|| invalid("no host name in the URL"))?;
    // An IPv6 address without its brackets.
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let transport = |e: io::Error| ConnectError::Transport(e.to_string());
    let socket = TcpStream::connect((host, port)).await.map_err(transport)?;
    // Nagle off: a request is written as soon as the queue is drained (frames written together
    // go out in one write anyway).
    socket.set_nodelay(true).map_err(transport)?;
    #[cfg(feature = "tls")]
    if tls {
        return tls_handshake(socket, host, opts).await;
    }
    #[cfg(not(feature = "tls"))]
    let _ = opts;
    Ok(Transport::Plain(socket))
}

/// The configuration used when the builder was given none: rustls's safe defaults with its
/// default provider (aws-lc-rs), trusting Mozilla's root certificates (webpki-roots), no client
/// certificate. Built once.
#[cfg(feature = "tls")]
fn default_tls_config() -> Arc<ClientConfig> {
    static CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            let config = ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .expect("aws-lc-rs supports rustls's default protocol versions")
                .with_root_certificates(roots)
                .with_no_client_auth();
            Arc::new(config)
        })
        .clone()
}

/// The TLS handshake with `host` (a DNS name or an IP address, which the certificate must be
/// for) on `socket`.
#[cfg(feature = "tls")]
async fn tls_handshake(
    socket: TcpStream,
    host: &str,
    opts: &Options,
) -> Result<Transport, ConnectError> {
    let name = ServerName::try_from(host.to_owned()).map_err(|e| {
        ConnectError::InvalidRequest(format!("{host:?} is not a TLS server name: {e}"))
    })?;
    let config = opts.tls.clone().unwrap_or_else(default_tls_config);
    match TlsConnector::from(config).connect(name, socket).await {
        Ok(stream) => Ok(Transport::Tls(Box::new(stream))),
        Err(e) => {
            // rustls's own errors (an untrusted certificate, a protocol error) come wrapped in
            // the io::Error; anything else is the network's.
            let refused = e
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<rustls::Error>());
            Err(match refused {
                Some(why) => ConnectError::Tls(why.to_string()),
                None => ConnectError::Transport(e.to_string()),
            })
        }
    }
}

impl AsyncRead for Transport {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_read(cx, buf),
            #[cfg(feature = "tls")]
            Transport::Tls(s) => Pin::new(&mut **s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Transport {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_write(cx, buf),
            #[cfg(feature = "tls")]
            Transport::Tls(s) => Pin::new(&mut **s).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            #[cfg(feature = "tls")]
            Transport::Tls(s) => Pin::new(&mut **s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Transport::Plain(s) => s.is_write_vectored(),
            #[cfg(feature = "tls")]
            Transport::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_flush(cx),
            #[cfg(feature = "tls")]
            Transport::Tls(s) => Pin::new(&mut **s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_shutdown(cx),
            #[cfg(feature = "tls")]
            Transport::Tls(s) => Pin::new(&mut **s).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::options::ClientBuilder;

    async fn open_url(url: &str) -> Result<Transport, ConnectError> {
        let opts = ClientBuilder::new(url).opts;
        let uri: Uri = url.parse().unwrap();
        open(&uri, &opts).await
    }

    #[tokio::test]
    async fn a_scheme_other_than_ws_or_wss_is_an_invalid_request() {
        match open_url("http://127.0.0.1:1/").await {
            Err(ConnectError::InvalidRequest(why)) => assert!(why.contains("ws://"), "{why}"),
            Err(other) => panic!("{other:?}"),
            Ok(_) => panic!("opened"),
        }
    }

    /// Refused before any connection is made (port 1 would refuse one: the error would then
    /// be `Transport`), naming the feature that is missing.
    #[cfg(not(feature = "tls"))]
    #[tokio::test]
    async fn wss_without_the_tls_feature_is_an_invalid_request_naming_it() {
        match open_url("wss://127.0.0.1:1/").await {
            Err(ConnectError::InvalidRequest(why)) => assert!(why.contains("`tls`"), "{why}"),
            Err(other) => panic!("{other:?}"),
            Ok(_) => panic!("opened"),
        }
    }
}
