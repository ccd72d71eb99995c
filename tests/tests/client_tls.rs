//! `wss://`: the client (feature `tls`) against a wskit server behind a TLS-terminating proxy on
//! 127.0.0.1, the way servers are usually deployed. The proxy's certificate is made here, signed
//! by a certificate authority made here too: a client that trusts that authority connects, calls
//! and receives events over TLS, and reconnects through it; one that does not (the default,
//! Mozilla's roots), or one connecting by a name the certificate is not for, is refused and not
//! retried.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{self, RootCertStore, ServerConfig};
use wskit::client::{Backoff, Client, ClientError, ConnectError, ConnectionState};
use wskit_tests::protocol::*;
use wskit_tests::{TestServer, demo_builder, probe, start, within};

/// A certificate authority and a certificate it signed for `names`, with the certificate's key.
struct Pki {
    ca: CertificateDer<'static>,
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
}

impl Pki {
    fn new(names: &[&str]) -> Pki {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "wskit test CA");
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        Pki {
            ca: ca.der().clone(),
            cert: cert.der().clone(),
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        }
    }

    /// A client configuration that trusts this authority only.
    fn client_config(&self) -> Arc<rustls::ClientConfig> {
        let mut roots = RootCertStore::empty();
        roots.add(self.ca.clone()).unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        Arc::new(config)
    }
}

/// A TLS-terminating proxy on 127.0.0.1: each connection's TLS handshake, then its bytes to and
/// from `upstream` (the wskit server). Counts the handshakes that succeeded; `cut()` drops every
/// connection it carries.
struct TlsProxy {
    addr: SocketAddr,
    handshakes: Arc<AtomicUsize>,
    attempts: Arc<AtomicUsize>,
    cut: watch::Sender<u64>,
}

impl TlsProxy {
    async fn start(pki: &Pki, upstream: SocketAddr) -> TlsProxy {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![pki.cert.clone()], pki.key.clone_key())
            .unwrap();
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let handshakes = Arc::new(AtomicUsize::new(0));
        let attempts = Arc::new(AtomicUsize::new(0));
        let (cut, cuts) = watch::channel(0u64);
        let (done, tried) = (handshakes.clone(), attempts.clone());
        tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                tried.fetch_add(1, Ordering::SeqCst);
                let (acceptor, done, mut cuts) = (acceptor.clone(), done.clone(), cuts.clone());
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(socket).await else {
                        return;
                    };
                    done.fetch_add(1, Ordering::SeqCst);
                    let mut server = TcpStream::connect(upstream).await.unwrap();
                    cuts.borrow_and_update();
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut tls, &mut server) => {}
                        _ = cuts.changed() => {}
                    }
                });
            }
        });
        TlsProxy {
            addr,
            handshakes,
            attempts,
            cut,
        }
    }

    fn url(&self, host: &str) -> String {
        format!("wss://{host}:{}/ws", self.addr.port())
    }

    /// Drops every connection the proxy carries (the client sees its connection lost).
    fn cut(&self) {
        self.cut.send_modify(|n| *n += 1);
    }
}

async fn demo_server() -> TestServer {
    let (probe, _events) = probe();
    start(demo_builder(&probe)).await
}

fn quick_backoff() -> Backoff {
    Backoff::ExponentialJitter {
        initial: Duration::from_millis(10),
        max: Duration::from_millis(50),
        max_attempts: None,
    }
}

/// Over TLS: an rpc, a publication received as a typed event, and after the proxy drops the
/// connection, a reconnect (a second handshake) and the same again.
#[tokio::test]
async fn a_wss_client_calls_receives_events_and_reconnects_over_tls() {
    let server = demo_server().await;
    let pki = Pki::new(&["127.0.0.1", "localhost"]);
    let proxy = TlsProxy::start(&pki, server.addr).await;
    let client = Client::builder(proxy.url("127.0.0.1"))
        .tls(pki.client_config())
        .backoff(quick_backoff())
        .build();
    let demo = DemoClient::new(client.clone());
    let mut events = demo.events();
    within("connect", client.connect()).await.unwrap();
    assert_eq!(proxy.handshakes.load(Ordering::SeqCst), 1);

    for round in 1..=2 {
        let user = within(
            "get_user",
            demo.get_user(GetUser {
                user_id: "u1".into(),
            })
            .into_future(),
        )
        .await
        .unwrap();
        assert_eq!(user.name, "Ada");
        demo.join(Join { room: "tls".into() }).unwrap();
        let text = format!("over TLS, round {round}");
        let posted = within(
            "post",
            demo.post(Post {
                room: "tls".into(),
                text: text.clone(),
                exclude_self: false,
            })
            .into_future(),
        )
        .await
        .unwrap();
        assert_eq!(posted.matched, 1);
        match within("the event", events.recv()).await {
            Some(DemoEvent::NewMessage(m)) => assert_eq!(m.text, text),
            other => panic!("{other:?}"),
        }
        if round == 1 {
            let mut states = client.watch_state();
            proxy.cut();
            within("the connection lost", async {
                while *states.borrow_and_update() == ConnectionState::Open {
                    states.changed().await.unwrap();
                }
            })
            .await;
            within("the reconnect", client.wait_open()).await.unwrap();
            assert_eq!(proxy.handshakes.load(Ordering::SeqCst), 2);
        }
    }
    client.close().await;
}

/// The default configuration trusts Mozilla's roots, not the test's authority: the handshake
/// fails on the certificate, `connect()` says so, and the client stops (one attempt only).
#[tokio::test]
async fn an_untrusted_certificate_is_refused_and_not_retried() {
    let server = demo_server().await;
    let pki = Pki::new(&["127.0.0.1"]);
    let proxy = TlsProxy::start(&pki, server.addr).await;
    let client = Client::builder(proxy.url("127.0.0.1"))
        .backoff(quick_backoff())
        .build();
    match within("connect", client.connect()).await {
        Err(ClientError::Connect(ConnectError::Tls(why))) => {
            assert!(why.contains("certificate"), "{why}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(client.state(), ConnectionState::Closed);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(proxy.attempts.load(Ordering::SeqCst), 1, "retried");
    assert_eq!(proxy.handshakes.load(Ordering::SeqCst), 0);
}

/// The certificate must be for the name the client connects by: one for `localhost` only is
/// refused at `127.0.0.1`, though its authority is trusted.
#[tokio::test]
async fn a_certificate_for_another_name_is_refused() {
    let server = demo_server().await;
    let pki = Pki::new(&["localhost"]);
    let proxy = TlsProxy::start(&pki, server.addr).await;
    let client = Client::builder(proxy.url("127.0.0.1"))
        .tls(pki.client_config())
        .build();
    match within("connect", client.connect()).await {
        Err(ClientError::Connect(ConnectError::Tls(why))) => {
            assert!(why.contains("not valid for name"), "{why}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(proxy.handshakes.load(Ordering::SeqCst), 0);
}

/// A `wss://` URL to a server that speaks plain WebSocket: the server's HTTP answer to the
/// TLS hello is not TLS, so the handshake fails as `Tls` (not a hang, not a garbled upgrade),
/// and, being the server's protocol and not the network, is not retried.
#[tokio::test]
async fn wss_to_a_plain_server_fails_the_handshake_and_is_not_retried() {
    let server = demo_server().await;
    let client = Client::builder(format!("wss://127.0.0.1:{}/ws", server.addr.port()))
        .tls(Pki::new(&["127.0.0.1"]).client_config())
        .backoff(quick_backoff())
        .build();
    match within("connect", client.connect()).await {
        Err(ClientError::Connect(ConnectError::Tls(why))) => {
            assert!(why.contains("corrupt message"), "{why}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(client.state(), ConnectionState::Closed);
}
