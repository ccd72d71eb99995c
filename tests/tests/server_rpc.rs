//! PROTOCOL.md section 4: one terminal frame per RPC, progress before the reply, abort, deadline
//! and disconnect cancel the handler.

use std::time::Duration;

use wskit::ErrorCode;
use wskit_tests::*;

#[tokio::test]
async fn exactly_one_terminal_frame_per_rpc() {
    let (probe, _events) = probe();
    let server = start(demo_builder(&probe)).await;
    let mut c = connect(&server).await;
    for (mode, expected) in [
        (
            "reply",
            r#"{"type":"TWICE_DONE","meta":{"correlationId":"t"},"payload":{"n":1}}"#,
        ),
        (
            "error-then-reply",
            r#"{"type":"RPC_ERROR","meta":{"correlationId":"t"},"payload":{"code":"ABORTED","message":"first","retryAfterMs":50}}"#,
        ),
        (
            "reply-then-error",
            r#"{"type":"TWICE_DONE","meta":{"correlationId":"t"},"payload":{"n":1}}"#,
        ),
    ] {
        c.send(&format!(
            r#"{{"type":"TWICE","meta":{{"correlationId":"t"}},"payload":{{"mode":"{mode}"}}}}"#
        ))
        .await;
        assert_eq!(c.recv().await, expected, "{mode}");
        // Nothing else for this request: the next frame answers the heartbeat sent after it.
        assert!(c.frames_before_ack().await.is_empty(), "{mode}");
    }
}

#[tokio::test]
async fn progress_comes_before_the_reply_in_call_order() {
    let (probe, _events) = probe();
    let server = start(demo_builder(&probe)).await;
    let mut c = connect(&server).await;
    c.send(r#"{"type":"COUNT","meta":{"correlationId":"p"},"payload":{"to":20}}"#)
        .await;
    for n in 1..=20 {
        let f = c.recv_json().await;
        assert_eq!(f["type"], "$ws:rpc-progress");
        assert_eq!(f["payload"]["n"], n);
        assert_eq!(f["data"]["n"], n);
    }
    assert_eq!(
        c.recv().await,
        r#"{"type":"COUNTED","meta":{"correlationId":"p"},"payload":{"total":20}}"#
    );
}

/// Moves tokio's clock past every handler's `sleep` (the runtime is current-thread), so that a
/// handler future that was not dropped would finish now.
async fn run_past_the_handlers_sleep() {
    tokio::time::pause();
    tokio::time::advance(Duration::from_secs(61)).await;
    tokio::time::resume();
}

#[tokio::test]
async fn abort_cancels_the_handler_and_owes_no_terminal_frame() {
    let (probe, mut events) = probe();
    let server = start(demo_builder(&probe)).await;
    let mut c = connect(&server).await;
    c.send(r#"{"type":"SLOW","meta":{"correlationId":"a-1"},"payload":{"ms":60000}}"#)
        .await;
    assert_eq!(events.next().await, "started:60000");
    c.send(r#"{"type":"$ws:abort","meta":{"correlationId":"a-1"}}"#)
        .await;
    assert_eq!(events.next().await, "cancelled:60000");
    run_past_the_handlers_sleep().await;
    // No terminal frame: the next frame answers the heartbeat sent after the abort.
    assert!(c.frames_before_ack().await.is_empty());
    // The handler future was dropped: its sleep passed, yet it never finished.
    assert!(c.frames_before_ack().await.is_empty());
    assert_eq!(events.drain(), Vec::<String>::new());
    // An abort for an unknown id is ignored.
    c.send(r#"{"type":"$ws:abort","meta":{"correlationId":"nope"}}"#)
        .await;
    assert!(c.frames_before_ack().await.is_empty());
}

#[tokio::test]
async fn deadline_answers_deadline_exceeded_and_cancels_the_handler() {
    let (probe, mut events) = probe();
    let server = start(demo_builder(&probe)).await;
    let mut c = connect(&server).await;
    c.send(r#"{"type":"SLOW","meta":{"correlationId":"d","timeoutMs":50},"payload":{"ms":60000}}"#)
        .await;
    assert_eq!(events.next().await, "started:60000");
    assert_eq!(
        c.recv().await,
        r#"{"type":"RPC_ERROR","meta":{"correlationId":"d"},"payload":{"code":"DEADLINE_EXCEEDED","message":"RPC timed out","retryAfterMs":50}}"#
    );
    assert_eq!(events.next().await, "cancelled:60000");
}

#[tokio::test]
async fn a_request_that_finishes_before_its_deadline_is_answered_normally() {
    let (probe, _events) = probe();
    let server = start(demo_builder(&probe)).await;
    let mut c = connect(&server).await;
    c.send(r#"{"type":"SLOW","meta":{"correlationId":"d","timeoutMs":60000},"payload":{"ms":1}}"#)
        .await;
    assert_eq!(
        c.recv().await,
        r#"{"type":"SLOW_DONE","meta":{"correlationId":"d"}}"#
    );
}

#[tokio::test]
async fn disconnect_cancels_the_handler() {
    let (probe, mut events) = probe();
    let server = start(demo_builder(&probe)).await;
    let mut c = connect(&server).await;
    c.send(r#"{"type":"SLOW","meta":{"correlationId":"x"},"payload":{"ms":60000}}"#)
        .await;
    assert_eq!(events.next().await, "started:60000");
    c.close(1000).await;
    assert_eq!(events.next().await, "cancelled:60000");
    run_past_the_handlers_sleep().await;
    // A round trip on another connection lets a surviving handler run; none finishes.
    let mut other = connect(&server).await;
    assert!(other.frames_before_ack().await.is_empty());
    assert_eq!(events.drain(), Vec::<String>::new());
}

/// `cancelled()` first asked after the connection started closing (by a task the handler
/// spawned, the handler long finished) resolves at once: the connection's token, made only
/// when first asked for, is made cancelled.
#[tokio::test]
async fn cancelled_asked_after_the_disconnect_has_already_fired() {
    let (probe, mut events) = probe();
    let server = start(demo_builder(&probe)).await;
    let mut c = connect(&server).await;
    c.send(r#"{"type":"SAY","payload":{"text":"watch-late"}}"#)
        .await;
    assert_eq!(events.next().await, "say:watch-late");
    c.close(1000).await;
    assert_eq!(events.next().await, "late: cancelled");
}

#[tokio::test]
async fn concurrent_rpcs_are_answered_independently() {
    let (probe, _events) = probe();
    let server = start(demo_builder(&probe)).await;
    let mut c = connect(&server).await;
    c.send(r#"{"type":"SLOW","meta":{"correlationId":"long"},"payload":{"ms":200}}"#)
        .await;
    c.send(r#"{"type":"GET_USER","meta":{"correlationId":"quick"},"payload":{"userId":"u1"}}"#)
        .await;
    assert_eq!(
        c.recv().await,
        r#"{"type":"USER_DATA","meta":{"correlationId":"quick"},"payload":{"name":"Ada"}}"#
    );
    assert_eq!(
        c.recv().await,
        r#"{"type":"SLOW_DONE","meta":{"correlationId":"long"}}"#
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_clients_on_a_multi_threaded_runtime_get_their_own_answers() {
    let (probe, _events) = probe();
    // All 100 requests of a client may be in flight at once.
    let server = start(demo_builder(&probe).max_in_flight(100)).await;
    let mut tasks = Vec::new();
    for client in 0..8 {
        let url = server.url(&format!("/?access_token=user{client}"));
        tasks.push(tokio::spawn(async move {
            let mut c = connect_to(url).await;
            for i in 0..100 {
                let req = format!(
                    r#"{{"type":"COUNT","meta":{{"correlationId":"{client}-{i}"}},"payload":{{"to":2}}}}"#
                );
                c.send(&req).await;
            }
            // Requests run concurrently: per request, progress 1, progress 2, then the reply.
            let mut seen: std::collections::HashMap<String, Vec<String>> = Default::default();
            for _ in 0..300 {
                let f = c.recv_json().await;
                let cid = f["meta"]["correlationId"].as_str().unwrap().to_owned();
                let step = match f["type"].as_str().unwrap() {
                    "$ws:rpc-progress" => format!("p{}", f["payload"]["n"]),
                    other => format!("{other}:{}", f["payload"]["total"]),
                };
                seen.entry(cid).or_default().push(step);
            }
            assert_eq!(seen.len(), 100);
            for i in 0..100 {
                assert_eq!(seen[&format!("{client}-{i}")], ["p1", "p2", "COUNTED:2"]);
            }
        }));
    }
    for t in tasks {
        within("a client", t).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_after_the_terminal_frame_is_dropped() {
    let (probe, mut events) = probe();
    let server = start(demo_builder(&probe).max_in_flight(200)).await;
    let mut c = connect(&server).await;
    // A spawned task sends progress while the handler replies, and after: on two threads the
    // two race; whatever the interleaving, no progress frame follows the reply.
    for i in 0..100 {
        c.send(&format!(
            r#"{{"type":"LATE","meta":{{"correlationId":"{i}"}},"payload":{{"n":50}}}}"#
        ))
        .await;
    }
    let mut replied = std::collections::HashSet::new();
    while replied.len() < 100 {
        let f = c.recv_json().await;
        let cid = f["meta"]["correlationId"].as_str().unwrap().to_owned();
        match f["type"].as_str().unwrap() {
            "$ws:rpc-progress" => assert!(!replied.contains(&cid), "progress after reply: {f}"),
            "LATE_DONE" => assert!(replied.insert(cid), "two replies: {f}"),
            other => panic!("unexpected {other}: {f}"),
        }
    }
    for _ in 0..100 {
        assert_eq!(events.next().await, "late:done");
    }
    assert!(c.frames_before_ack().await.is_empty());
}

/// A request that sent its reply is over for the client, which may reuse the id at once, even
/// while its handler still runs (or its task has not left the abort registry yet).
#[tokio::test]
async fn an_id_may_be_reused_as_soon_as_its_reply_was_sent() {
    let (probe, _events) = probe();
    let server = start(demo_builder(&probe)).await;
    let mut c = connect(&server).await;
    c.send(r#"{"type":"TWICE","meta":{"correlationId":"r"},"payload":{"mode":"reply-then-wait"}}"#)
        .await;
    assert_eq!(
        c.recv().await,
        r#"{"type":"TWICE_DONE","meta":{"correlationId":"r"},"payload":{"n":1}}"#
    );
    c.send(r#"{"type":"GET_USER","meta":{"correlationId":"r"},"payload":{"userId":"u1"}}"#)
        .await;
    assert!(
        c.recv()
            .await
            .starts_with(r#"{"type":"USER_DATA","meta":{"correlationId":"r"}"#)
    );
}

#[tokio::test]
async fn a_duplicate_correlation_id_in_flight_is_an_error_that_names_it() {
    let (probe, mut events) = probe();
    let server = start(demo_builder(&probe)).await;
    let mut c = connect(&server).await;
    c.send(r#"{"type":"SLOW","meta":{"correlationId":"d"},"payload":{"ms":60000}}"#)
        .await;
    assert_eq!(events.next().await, "started:60000");
    c.send(r#"{"type":"SLOW","meta":{"correlationId":"d"},"payload":{"ms":1}}"#)
        .await;
    // Answered with `ERROR`, the id in its details: an `RPC_ERROR` under "d" would be taken for
    // the first request's answer.
    assert_eq!(
        c.recv().await,
        r#"{"type":"ERROR","meta":{},"payload":{"code":"INVALID_ARGUMENT","message":"duplicate correlationId in flight","details":{"correlationId":"d","type":"SLOW"}}}"#
    );
    // The duplicate's handler did not run, and the first request is still the one registered:
    // aborting "d" cancels it.
    c.send(r#"{"type":"$ws:abort","meta":{"correlationId":"d"}}"#)
        .await;
    assert_eq!(events.next().await, "cancelled:60000");
    assert!(c.frames_before_ack().await.is_empty());
    // Once it ended, the id may be used again.
    c.send(r#"{"type":"GET_USER","meta":{"correlationId":"d"},"payload":{"userId":"u1"}}"#)
        .await;
    assert_eq!(
        c.recv().await,
        r#"{"type":"USER_DATA","meta":{"correlationId":"d"},"payload":{"name":"Ada"}}"#
    );
}

#[tokio::test]
async fn a_negative_timeout_is_invalid_argument() {
    let (probe, mut events) = probe();
    let server = start(demo_builder(&probe)).await;
    let mut c = connect(&server).await;
    c.send(r#"{"type":"SLOW","meta":{"correlationId":"n","timeoutMs":-5},"payload":{"ms":1}}"#)
        .await;
    let f = c.recv_json().await;
    assert_eq!(f["type"], "RPC_ERROR");
    assert_eq!(f["meta"]["correlationId"], "n");
    assert_eq!(code_of(&f), ErrorCode::InvalidArgument);
    assert!(events.drain().is_empty(), "the handler must not run");
}

#[tokio::test]
async fn a_timeout_too_far_to_represent_is_no_deadline() {
    let (probe, _events) = probe();
    let server = start(demo_builder(&probe)).await;
    let mut c = connect(&server).await;
    // 1e300 ms does not fit an Instant: no deadline, and the request is answered normally.
    c.send(r#"{"type":"SLOW","meta":{"correlationId":"f","timeoutMs":1e300},"payload":{"ms":1}}"#)
        .await;
    assert_eq!(
        c.recv().await,
        r#"{"type":"SLOW_DONE","meta":{"correlationId":"f"}}"#
    );
}

wskit::protocol! {
    protocol Clock {
        /// Waits `wait_ms`, then answers `ctx.received_at()` twice (microseconds since the epoch).
        rpc WhenReceived(wait_ms: u64) -> ReceivedAt { micros: u64, again: u64 }
    }
}

struct ClockApp;

fn micros(t: std::time::SystemTime) -> u64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_micros() as u64
}

impl ClockHandler for ClockApp {
    type Data = ();

    async fn when_received(
        &self,
        ctx: wskit::server::RpcContext<(), WhenReceived>,
        req: WhenReceived,
    ) -> Result<ReceivedAt, wskit::Error> {
        tokio::time::sleep(Duration::from_millis(req.wait_ms)).await;
        let first = micros(ctx.received_at());
        std::hint::black_box((0..1000).sum::<u64>());
        Ok(ReceivedAt {
            micros: first,
            again: micros(ctx.received_at()),
        })
    }
}

/// Asks a fresh clock server for `received_at` after the handler waits `wait_ms`; returns the
/// wall clock when the frame was sent, the answer's payload, and the wall clock when it came.
async fn when_received(wait_ms: u64) -> (u64, serde_json::Value, u64) {
    let builder = wskit::server::Server::<()>::builder().service(Clock::server(ClockApp));
    let server = start(builder).await;
    let mut c = connect(&server).await;
    let sent = micros(std::time::SystemTime::now());
    c.send(&format!(
        r#"{{"type":"WHEN_RECEIVED","meta":{{"correlationId":"w"}},"payload":{{"waitMs":{wait_ms}}}}}"#
    ))
    .await;
    let payload = c.recv_json().await["payload"].clone();
    (sent, payload, micros(std::time::SystemTime::now()))
}

#[tokio::test]
async fn received_at_is_when_the_frame_arrived_not_when_asked() {
    let (sent, payload, answered) = when_received(300).await;
    let received = payload["micros"].as_u64().expect("micros");
    assert!(received >= sent, "received {received} before sent {sent}");
    // Asked 300 ms after the frame arrived, at the earliest: the answer is the arrival time.
    assert!(
        received + 250_000 <= answered,
        "received {received} is not the arrival (answered {answered})"
    );
    // One value, however often it is asked.
    assert_eq!(payload["again"], payload["micros"]);
}

/// Found in review: derived from the monotonic clock, `received_at` moved with tokio's paused
/// clock (seconds before the frame was sent, after a handler's virtual sleep).
#[tokio::test(start_paused = true)]
async fn received_at_is_the_wall_clock_under_a_paused_runtime_clock() {
    let (sent, payload, answered) = when_received(5000).await;
    let received = payload["micros"].as_u64().expect("micros");
    assert!(
        (sent..=answered).contains(&received),
        "received {received} outside [{sent}, {answered}]"
    );
}

mod keeping {
    wskit::protocol! {
        /// An rpc whose handler keeps its context after replying.
        pub protocol Keeping {
            rpc Keep(n: u32) -> Kept { n: u32 }
        }
    }
}

/// The contexts a [`Keeper`] kept, with the `n` of each request.
type Kept =
    std::sync::Arc<std::sync::Mutex<Vec<(u32, wskit::server::RpcContext<(), keeping::Keep>)>>>;

/// Keeps each request's context, as a handler that hands it to a task of its own does.
struct Keeper(Kept);

impl keeping::KeepingHandler for Keeper {
    type Data = ();
    async fn keep(
        &self,
        ctx: wskit::server::RpcContext<(), keeping::Keep>,
        req: keeping::Keep,
    ) -> Result<keeping::Kept, wskit::Error> {
        self.0.lock().unwrap().push((req.n, ctx));
        Ok(keeping::Kept { n: req.n })
    }
}

/// A request's state (its meta, its cancellation) outlives its reply while a context of it is
/// held: the next requests, which finish at once as this one did, get states of their own
/// (the server reuses a finished request's state only when nothing holds it).
#[tokio::test]
async fn a_context_kept_after_the_reply_keeps_its_own_request() {
    let kept: Kept = Default::default();
    let server = start(
        wskit::server::Server::<()>::builder()
            .service(keeping::Keeping::server(Keeper(kept.clone()))),
    )
    .await;
    let mut c = connect(&server).await;
    for n in 0..20u32 {
        c.send(&format!(
            r#"{{"type":"KEEP","meta":{{"correlationId":"k-{n}"}},"payload":{{"n":{n}}}}}"#
        ))
        .await;
        assert_eq!(
            c.recv().await,
            format!(
                r#"{{"type":"KEPT","meta":{{"correlationId":"k-{n}"}},"payload":{{"n":{n}}}}}"#
            )
        );
    }
    let kept = kept.lock().unwrap();
    assert_eq!(kept.len(), 20);
    for (n, ctx) in kept.iter() {
        assert_eq!(ctx.correlation_id(), Some(format!("k-{n}").as_str()));
        assert_eq!(ctx.message_type(), "KEEP");
        // Its reply was sent: replying again is refused (the request's own terminal mark).
        assert!(!ctx.reply(&keeping::Kept { n: *n }));
    }
}
