//! PROTOCOL.md section 5: auth at the upgrade, token transports, subprotocol selection,
//! `x-client-id`.

use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http;
use wskit::server::{Server, auth};
use wskit_tests::*;

fn with_protocols(url: String, protocols: &str) -> http::Request<()> {
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("sec-websocket-protocol", protocols.parse().unwrap());
    req
}

async fn who_am_i(c: &mut Client) -> serde_json::Value {
    c.send(r#"{"type":"WHO_AM_I","meta":{"correlationId":"w"}}"#)
        .await;
    c.recv_json().await
}

#[tokio::test]
async fn token_from_query_is_accepted_and_becomes_connection_data() {
    let (probe, _events) = probe();
    let server = start(demo_builder(&probe)).await;
    let mut c = connect_to(server.url("/?access_token=alice%20smith")).await;
    assert_eq!(who_am_i(&mut c).await["payload"]["user"], "alice smith");
}

#[tokio::test]
async fn token_from_bearer_subprotocol_is_accepted_and_a_subprotocol_selected() {
    let (probe, _events) = probe();
    let server = start(demo_builder(&probe)).await;
    let mut c = connect_to(with_protocols(server.url("/"), "bearer.bob")).await;
    // No application subprotocol: the first offered one is selected (as ws-kit on Bun does).
    assert_eq!(c.response.headers()["sec-websocket-protocol"], "bearer.bob");
    assert_eq!(who_am_i(&mut c).await["payload"]["user"], "bob");
}

/// \[beyond\] A client that can set headers may send `Authorization: Bearer <token>`; the query
/// and the subprotocol come first.
#[tokio::test]
async fn token_from_authorization_header_is_accepted_after_query_and_subprotocol() {
    let (probe, _events) = probe();
    let server = start(demo_builder(&probe)).await;
    let with_header = |url: String, value: &str| {
        let mut req = url.into_client_request().unwrap();
        req.headers_mut()
            .insert("authorization", value.parse().unwrap());
        req
    };
    let mut c = connect_to(with_header(server.url("/"), "Bearer carol")).await;
    assert_eq!(who_am_i(&mut c).await["payload"]["user"], "carol");
    let mut c = connect_to(with_header(server.url("/"), "bearer  dave ")).await;
    assert_eq!(who_am_i(&mut c).await["payload"]["user"], "dave");
    let mut c = connect_to(with_header(server.url("/?access_token=q"), "Bearer h")).await;
    assert_eq!(who_am_i(&mut c).await["payload"]["user"], "q");
    // The subprotocol comes before the header too.
    let mut req = with_header(server.url("/"), "Bearer h");
    req.headers_mut().insert(
        "sec-websocket-protocol",
        "chat.v1, bearer.sub".parse().unwrap(),
    );
    let mut c = connect_to(req).await;
    assert_eq!(who_am_i(&mut c).await["payload"]["user"], "sub");
    // Another scheme is not a bearer token.
    let mut c = connect_to(with_header(server.url("/"), "Basic Ym9iOng=")).await;
    assert_eq!(who_am_i(&mut c).await["payload"]["user"], "anon");
    assert_eq!(
        refused(with_header(server.url("/"), "Bearer bad")).await.0,
        401
    );
}

#[tokio::test]
async fn supported_subprotocol_is_preferred_over_the_first_offered() {
    let (probe, _events) = probe();
    let server = start(demo_builder(&probe).subprotocols(["chat.v2", "chat.v1"])).await;
    let c = connect_to(with_protocols(
        server.url("/"),
        "bearer.bob, chat.v1, chat.v2",
    ))
    .await;
    assert_eq!(c.response.headers()["sec-websocket-protocol"], "chat.v1");
    let c = connect_to(with_protocols(server.url("/"), "bearer.bob, other")).await;
    assert_eq!(c.response.headers()["sec-websocket-protocol"], "bearer.bob");
    let c = connect_to(server.url("/")).await;
    assert!(c.response.headers().get("sec-websocket-protocol").is_none());
}

#[tokio::test]
async fn refused_upgrade_is_401_unauthorized_and_no_handler_runs() {
    let (probe, mut events) = probe();
    let builder = demo_builder(&probe).on_open({
        let probe = probe.clone();
        move |_conn| {
            let probe = probe.clone();
            async move {
                probe.note("open");
                Ok(())
            }
        }
    });
    let server = start(builder).await;
    assert_eq!(
        refused(server.url("/?access_token=bad")).await,
        (401, "Unauthorized".to_owned())
    );
    assert_eq!(
        refused(with_protocols(server.url("/"), "bearer.bad"))
            .await
            .0,
        401
    );
    // The next connection is the first to open.
    let _c = connect(&server).await;
    assert_eq!(events.next().await, "open");
}

#[tokio::test]
async fn rejection_status_and_body_are_configurable() {
    let (probe, _events) = probe();
    let builder = Server::<String>::builder()
        .service(demo_server(DemoApp { probe }))
        .auth(|req: &http::Request<()>| {
            let token = auth::token_from_query(req);
            async move {
                match token.as_deref() {
                    Some("ok") => Ok("user".to_owned()),
                    Some(_) => Err(auth::Rejection::new(http::StatusCode::FORBIDDEN, "banned")),
                    None => Err(auth::Rejection::unauthorized()),
                }
            }
        });
    let server = start(builder).await;
    assert_eq!(
        refused(server.url("/?access_token=x")).await,
        (403, "banned".to_owned())
    );
    assert_eq!(
        refused(server.url("/")).await,
        (401, "Unauthorized".to_owned())
    );
    connect_to(server.url("/?access_token=ok")).await;
}

#[tokio::test]
async fn client_id_header_is_a_uuid_and_matches_the_context() {
    let (probe, _events) = probe();
    let server = start(demo_builder(&probe)).await;
    let mut a = connect(&server).await;
    let mut b = connect(&server).await;
    let id = a.client_id();
    assert_eq!(id.len(), 36);
    assert_eq!(id.matches('-').count(), 4);
    assert!(id.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
    assert_ne!(id, b.client_id());
    assert_eq!(who_am_i(&mut a).await["payload"]["clientId"], id.as_str());
    assert_eq!(
        who_am_i(&mut b).await["payload"]["clientId"],
        b.client_id().as_str()
    );
}

#[tokio::test]
async fn a_request_that_is_not_an_upgrade_is_400() {
    let (probe, _events) = probe();
    let server = start(demo_builder(&probe)).await;
    let mut tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    tcp.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut out = String::new();
    within("the answer", tcp.read_to_string(&mut out))
        .await
        .unwrap();
    assert!(out.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{out}");
}

/// The raw answer of the server to an upgrade request `head`.
async fn answer_to(server: &TestServer, head: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(head.as_bytes()).await.unwrap();
    let mut out = String::new();
    within("the answer", tcp.read_to_string(&mut out))
        .await
        .unwrap();
    out
}

/// RFC 6455 section 4.2.2: a version the server does not speak gets 426 with the version it
/// does; section 4.2.1: a request without `Host` gets 400. Neither reaches auth.
#[tokio::test]
async fn wrong_version_is_426_and_a_missing_host_is_400() {
    let (probe, _events) = probe();
    let server = start(demo_builder(&probe)).await;
    let upgrade = |version: &str, host: &str| {
        format!(
            "GET / HTTP/1.1\r\n{host}upgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: {version}\r\n\r\n"
        )
    };
    let out = answer_to(&server, &upgrade("8", "host: 127.0.0.1\r\n")).await;
    assert!(
        out.starts_with("HTTP/1.1 426 Upgrade Required\r\n"),
        "{out}"
    );
    assert!(out.contains("\r\nsec-websocket-version: 13\r\n"), "{out}");
    let out = answer_to(&server, &upgrade("13", "")).await;
    assert!(out.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{out}");
    assert!(out.ends_with("Missing Host header"), "{out}");
    // With a Host and version 13, the upgrade goes through.
    let mut c = connect_to(server.url("/")).await;
    c.send(r#"{"type":"PING"}"#).await;
}

/// An origin policy is checked before auth: a refused origin is 403 and auth never runs.
#[tokio::test]
async fn origin_policy_refuses_other_origins_with_403_before_auth() {
    let (probe, _events) = probe();
    let auth_calls = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let builder = Server::<String>::builder()
        .service(demo_server(DemoApp {
            probe: probe.clone(),
        }))
        .origins(auth::OriginPolicy::allow(["https://app.example"]));
    let counted = {
        let calls = auth_calls.clone();
        builder.auth(move |_req: &http::Request<()>| {
            calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async { Ok("anon".to_owned()) }
        })
    };
    let server = start(counted).await;
    let from = |origin: &str| {
        let mut req = server.url("/").into_client_request().unwrap();
        req.headers_mut().insert("origin", origin.parse().unwrap());
        req
    };
    assert_eq!(
        refused(from("https://evil.example")).await,
        (403, "Origin not allowed".to_owned())
    );
    assert_eq!(auth_calls.load(std::sync::atomic::Ordering::SeqCst), 0);
    connect_to(from("https://APP.example")).await;
    connect_to(server.url("/")).await; // no Origin: not a browser
    assert_eq!(auth_calls.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[tokio::test]
async fn no_auth_is_allowed_only_for_unit_data() {
    assert!(Server::<()>::builder().build().is_ok());
    assert!(matches!(
        Server::<String>::builder().build().err(),
        Some(wskit::server::BuildError::MissingAuth)
    ));
}
