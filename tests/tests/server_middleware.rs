//! Middleware: onion order (global outermost, then per message, then the handler), stopping
//! with an error, code after the handler, and the rate limiter.

use wskit::Error;
use wskit::server::{Context, Next, RateLimit};
use wskit_tests::*;

fn layer(
    probe: &Probe,
    name: &'static str,
) -> impl Fn(
    Context<String>,
    Next<String>,
) -> futures_util::future::BoxFuture<'static, Result<(), Error>>
+ Send
+ Sync
+ 'static {
    let probe = probe.clone();
    move |ctx: Context<String>, next: Next<String>| {
        let probe = probe.clone();
        Box::pin(async move {
            probe.note(format!("{name}:before:{}", ctx.message_type()));
            let result = next.run(ctx).await;
            probe.note(format!(
                "{name}:after:{}",
                if result.is_ok() { "ok" } else { "err" }
            ));
            result
        })
    }
}

#[tokio::test]
async fn middleware_runs_in_onion_order() {
    let (probe, mut events) = probe();
    let builder = demo_builder(&probe)
        .middleware(layer(&probe, "outer"))
        .middleware(layer(&probe, "inner"))
        .middleware_for_message::<Say>(layer(&probe, "say-only"));
    let server = start(builder).await;
    let mut c = connect(&server).await;
    c.send(r#"{"type":"SAY","payload":{"text":"hi"}}"#).await;
    c.recv().await;
    let mut got = Vec::new();
    for _ in 0..7 {
        got.push(events.next().await);
    }
    assert_eq!(
        got,
        [
            "outer:before:SAY",
            "inner:before:SAY",
            "say-only:before:SAY",
            "say:hi",
            "say-only:after:ok",
            "inner:after:ok",
            "outer:after:ok",
        ]
    );
    // Per-message middleware wraps only its message.
    c.send(r#"{"type":"PING"}"#).await;
    let mut got = Vec::new();
    for _ in 0..5 {
        got.push(events.next().await);
    }
    assert_eq!(
        got,
        [
            "outer:before:PING",
            "inner:before:PING",
            "ping",
            "inner:after:ok",
            "outer:after:ok"
        ]
    );
}

#[tokio::test]
async fn middleware_can_stop_with_an_error_and_the_handler_does_not_run() {
    let (probe, mut events) = probe();
    let builder = demo_builder(&probe)
        .middleware(layer(&probe, "outer"))
        .middleware(|ctx: Context<String>, next: Next<String>| async move {
            if ctx.data().as_str() == "guest" {
                return Err(Error::permission_denied("guests may not do that"));
            }
            next.run(ctx).await
        });
    let server = start(builder).await;
    let mut c = connect_to(server.url("/?access_token=guest")).await;
    c.send(r#"{"type":"GET_USER","meta":{"correlationId":"g"},"payload":{"userId":"u1"}}"#)
        .await;
    assert_eq!(
        c.recv().await,
        r#"{"type":"RPC_ERROR","meta":{"correlationId":"g"},"payload":{"code":"PERMISSION_DENIED","message":"guests may not do that"}}"#
    );
    c.send(r#"{"type":"PING"}"#).await;
    assert_eq!(
        c.recv().await,
        r#"{"type":"ERROR","meta":{},"payload":{"code":"PERMISSION_DENIED","message":"guests may not do that","details":{"type":"PING"}}}"#
    );
    assert_eq!(events.next().await, "outer:before:GET_USER");
    assert_eq!(events.next().await, "outer:after:err");
    assert_eq!(events.next().await, "outer:before:PING");
    // The PING handler never ran: the outer layer saw the error.
    assert_eq!(events.next().await, "outer:after:err");
}

#[tokio::test]
async fn a_middleware_that_swallows_an_rpc_still_yields_one_terminal_frame() {
    let (probe, _events) = probe();
    let builder = demo_builder(&probe)
        .middleware(|_ctx: Context<String>, _next: Next<String>| async move { Ok(()) });
    let server = start(builder).await;
    let mut c = connect(&server).await;
    c.send(r#"{"type":"GET_USER","meta":{"correlationId":"s"},"payload":{"userId":"u1"}}"#)
        .await;
    assert_eq!(
        c.recv().await,
        r#"{"type":"RPC_ERROR","meta":{"correlationId":"s"},"payload":{"code":"INTERNAL","message":"the request was not answered","retryAfterMs":200}}"#
    );
}

/// Found in review: a middleware that panics before it returns its future (synchronous code in
/// `handle`) was answered `ERROR` without the request's correlationId.
#[tokio::test]
async fn a_middleware_that_panics_before_its_future_answers_rpc_error_internal() {
    let (probe, _events) = probe();
    let builder = demo_builder(&probe).middleware(
        |ctx: Context<String>,
         next: Next<String>|
         -> futures_util::future::BoxFuture<'static, Result<(), Error>> {
            if ctx.message_type() == "GET_USER" {
                panic!("middleware bug (expected by the test)");
            }
            next.run(ctx)
        },
    );
    let server = start(builder).await;
    let mut c = connect(&server).await;
    c.send(r#"{"type":"GET_USER","meta":{"correlationId":"m"},"payload":{"userId":"u1"}}"#)
        .await;
    let f = c.recv_json().await;
    assert_eq!(f["type"], "RPC_ERROR");
    assert_eq!(f["meta"]["correlationId"], "m");
    assert_eq!(code_of(&f), wskit::ErrorCode::Internal);
    // The connection goes on.
    c.send(r#"{"type":"SLOW","meta":{"correlationId":"n"},"payload":{"ms":1}}"#)
        .await;
    assert_eq!(
        c.recv().await,
        r#"{"type":"SLOW_DONE","meta":{"correlationId":"n"}}"#
    );
}

#[tokio::test(start_paused = true)]
async fn rate_limit_answers_resource_exhausted_with_retry_after() {
    let (probe, _events) = probe();
    // A burst of 2, then one token every 250 ms.
    let builder = demo_builder(&probe).middleware(RateLimit::per_connection(2, 4.0));
    let server = start(builder).await;
    let mut c = connect(&server).await;
    let mut other = connect(&server).await;
    let req = r#"{"type":"GET_USER","meta":{"correlationId":"r"},"payload":{"userId":"u1"}}"#;
    let ok = r#"{"type":"USER_DATA","meta":{"correlationId":"r"},"payload":{"name":"Ada"}}"#;
    for _ in 0..2 {
        c.send(req).await;
        assert_eq!(c.recv().await, ok);
    }
    c.send(req).await;
    assert_eq!(
        c.recv().await,
        r#"{"type":"RPC_ERROR","meta":{"correlationId":"r"},"payload":{"code":"RESOURCE_EXHAUSTED","message":"Rate limit exceeded","retryAfterMs":250}}"#
    );
    // Another connection has its own bucket.
    other.send(req).await;
    assert_eq!(other.recv().await, ok);
    // After the advertised wait, a token is back.
    tokio::time::advance(std::time::Duration::from_millis(250)).await;
    c.send(req).await;
    assert_eq!(c.recv().await, ok);
}

#[tokio::test]
async fn rate_limit_keyed_by_a_user_function_shares_a_bucket() {
    let (probe, _events) = probe();
    let builder =
        demo_builder(&probe).middleware(RateLimit::keyed(1, 0.001, |ctx: &Context<String>| {
            ctx.data().clone()
        }));
    let server = start(builder).await;
    let mut a = connect_to(server.url("/?access_token=sam")).await;
    let mut b = connect_to(server.url("/?access_token=sam")).await;
    let mut c = connect_to(server.url("/?access_token=kim")).await;
    a.send(r#"{"type":"GET_USER","payload":{"userId":"u1"}}"#)
        .await;
    assert_eq!(a.recv_json().await["type"], "USER_DATA");
    b.send(r#"{"type":"GET_USER","payload":{"userId":"u1"}}"#)
        .await;
    let limited = b.recv_json().await;
    assert_eq!(limited["type"], "ERROR");
    assert_eq!(limited["payload"]["code"], "RESOURCE_EXHAUSTED");
    assert!(limited["payload"]["retryAfterMs"].as_u64().unwrap() > 0);
    c.send(r#"{"type":"GET_USER","payload":{"userId":"u1"}}"#)
        .await;
    assert_eq!(c.recv_json().await["type"], "USER_DATA");
}
