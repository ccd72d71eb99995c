//! Graceful shutdown: stop accepting, let handlers in flight finish (up to a limit), close every
//! socket with 1001.

use std::time::Duration;

use wskit_tests::*;

#[tokio::test]
async fn graceful_shutdown_finishes_handlers_in_flight_then_closes_with_1001() {
    let (probe, mut events) = probe();
    let mut server = start(demo_builder(&probe)).await;
    let mut busy = connect(&server).await;
    let mut idle = connect(&server).await;
    busy.send(r#"{"type":"SLOW","meta":{"correlationId":"s"},"payload":{"ms":200}}"#)
        .await;
    assert_eq!(events.next().await, "started:200");
    server.signal_shutdown();
    // The handler in flight finishes and its reply goes out before the close.
    let (close, texts) = busy.recv_close().await;
    assert_eq!(
        texts,
        [r#"{"type":"SLOW_DONE","meta":{"correlationId":"s"}}"#]
    );
    assert_eq!(close, Some((1001, "server shutting down".to_owned())));
    assert_eq!(
        idle.recv_close().await.0,
        Some((1001, "server shutting down".to_owned()))
    );
    assert_eq!(events.next().await, "finished:200");
    // serve_with_shutdown returns, and nothing listens any more.
    within("serve to return", &mut server.task)
        .await
        .unwrap()
        .unwrap();
    assert!(tokio::net::TcpStream::connect(server.addr).await.is_err());
}

#[tokio::test(start_paused = true)]
async fn shutdown_cancels_handlers_still_running_after_the_timeout() {
    let (probe, mut events) = probe();
    let server = start(demo_builder(&probe).shutdown_timeout(Duration::from_secs(1))).await;
    let mut c = connect(&server).await;
    c.send(r#"{"type":"SLOW","meta":{"correlationId":"s"},"payload":{"ms":3600000}}"#)
        .await;
    assert_eq!(events.next().await, "started:3600000");
    let handle = server.handle.clone();
    let shutdown = tokio::spawn(async move { handle.shutdown().await });
    let (close, texts) = c.recv_close().await;
    assert!(texts.is_empty());
    assert_eq!(close, Some((1001, "server shutting down".to_owned())));
    assert_eq!(events.next().await, "cancelled:3600000");
    within("shutdown", shutdown).await.unwrap();
    assert!(server.handle.is_shutting_down());
    assert_eq!(server.handle.connection_count(), 0);
}

#[tokio::test]
async fn requests_arriving_during_a_graceful_shutdown_are_unavailable() {
    let (probe, mut events) = probe();
    let server = start(demo_builder(&probe)).await;
    let mut c = connect(&server).await;
    c.send(r#"{"type":"SLOW","meta":{"correlationId":"s"},"payload":{"ms":300}}"#)
        .await;
    assert_eq!(events.next().await, "started:300");
    // The shutdown begins on its first poll, then waits for the handler in flight.
    let handle = server.handle.clone();
    let mut shutdown = Box::pin(async move { handle.shutdown().await });
    assert!(futures_util::poll!(&mut shutdown).is_pending());
    assert!(server.handle.is_shutting_down());
    let shutdown = tokio::spawn(shutdown);
    // The client keeps sending: each request is refused, the handler does not run.
    for i in 0..3 {
        c.send(&format!(
            r#"{{"type":"GET_USER","meta":{{"correlationId":"late-{i}"}},"payload":{{"userId":"u1"}}}}"#
        ))
        .await;
        assert_eq!(
            c.recv().await,
            format!(
                r#"{{"type":"RPC_ERROR","meta":{{"correlationId":"late-{i}"}},"payload":{{"code":"UNAVAILABLE","message":"server shutting down","retryAfterMs":1000}}}}"#
            )
        );
    }
    c.send(r#"{"type":"SAY","payload":{"text":"hi"}}"#).await;
    assert_eq!(
        c.recv_json().await["payload"]["code"],
        "UNAVAILABLE",
        "a message without correlationId gets ERROR"
    );
    // The request in flight still finishes and is answered before the close.
    let (close, texts) = c.recv_close().await;
    assert_eq!(
        texts,
        [r#"{"type":"SLOW_DONE","meta":{"correlationId":"s"}}"#]
    );
    assert_eq!(close, Some((1001, "server shutting down".to_owned())));
    within("shutdown", shutdown).await.unwrap();
    assert_eq!(events.next().await, "finished:300");
}

/// Starts `tests/bin/serve_until_signal.rs` (through `command`) in a child process, killed
/// when dropped: the child, the rest of its output, and the address it listens on.
#[cfg(unix)]
pub(crate) async fn start_child_server(
    mut command: tokio::process::Command,
) -> (
    tokio::process::Child,
    tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
    String,
) {
    use tokio::io::AsyncBufReadExt;
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the server");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = within("the server to start", lines.next_line())
        .await
        .unwrap()
        .expect("a first line");
    let addr = first
        .strip_prefix("listening on ")
        .expect(&first)
        .to_owned();
    (child, lines, addr)
}

/// SIGTERM (what docker, systemd and Kubernetes send) stops `Server::serve` gracefully, as
/// Ctrl-C does: every client gets close 1001, the close hooks run, and `serve` returns.
#[cfg(unix)]
#[tokio::test]
async fn sigterm_stops_serve_gracefully() {
    let (mut child, mut lines, addr) = start_child_server(tokio::process::Command::new(env!(
        "CARGO_BIN_EXE_serve_until_signal"
    )))
    .await;
    // `serve` binds after printing: retry until it accepts.
    let mut clients = Vec::new();
    for _ in 0..2 {
        let url = format!("ws://{addr}/");
        let client = within("the upgrade", async {
            loop {
                if let Ok((ws, response)) = tokio_tungstenite::connect_async(url.as_str()).await {
                    break Client { ws, response };
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        })
        .await;
        clients.push(client);
    }
    for c in &mut clients {
        c.send(r#"{"type":"PING"}"#).await;
    }
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().unwrap().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    for c in &mut clients {
        let (close, _) = c.recv_close().await;
        assert_eq!(close.map(|(code, _)| code), Some(1001));
    }
    let mut rest = Vec::new();
    while let Some(line) = within("the server's output", lines.next_line())
        .await
        .unwrap()
    {
        rest.push(line);
    }
    assert_eq!(rest, ["closed 1001", "closed 1001", "stopped"]);
    let exit = within("the server to exit", child.wait()).await.unwrap();
    assert!(exit.success(), "{exit:?}");
}

/// Out of file descriptors (a server under `ulimit -n 48`), a new client gets `503` at once
/// instead of waiting in the listen queue, the server goes on, and once connections close a
/// new client is served again.
#[cfg(unix)]
#[tokio::test]
async fn out_of_file_descriptors_new_clients_get_503_and_the_server_recovers() {
    let bin = env!("CARGO_BIN_EXE_serve_until_signal");
    let mut sh = tokio::process::Command::new("sh");
    sh.args(["-c", &format!("ulimit -n 48 && exec '{bin}'")]);
    let (_child, _lines, addr) = start_child_server(sh).await;
    let url = format!("ws://{addr}/");
    let mut open = Vec::new();
    let mut refused = None;
    for _ in 0..100 {
        match within(
            "an upgrade or a refusal",
            tokio_tungstenite::connect_async(url.as_str()),
        )
        .await
        {
            Ok((ws, response)) => open.push(Client { ws, response }),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                refused = Some(response.status().as_u16());
                break;
            }
            // Before serve binds: try again.
            Err(_) if open.is_empty() => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("expected an upgrade or a 503, got {e}"),
        }
    }
    assert_eq!(refused, Some(503), "after {} connections", open.len());
    assert!(
        open.len() > 10,
        "{} connections before running out",
        open.len()
    );
    // The connections open before still work.
    for c in open.iter_mut().take(3) {
        c.send(r#"{"type":"GET_USER","meta":{"correlationId":"a"},"payload":{"userId":"u1"}}"#)
            .await;
        assert!(c.recv().await.starts_with(r#"{"type":"USER_DATA""#));
    }
    drop(open);
    // Served again once descriptors are free (the server notices the closes first).
    let again = within("a new upgrade", async {
        loop {
            match tokio_tungstenite::connect_async(url.as_str()).await {
                Ok(ok) => break ok,
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    })
    .await;
    drop(again);
}
