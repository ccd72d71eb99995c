//! The fast path (a frame that starts `{"type":"<routed type>"` is routed, then parsed once)
//! answers every frame exactly as the parse-first path does: the same frames with `type` moved
//! last always take the parse-first path, and both answers (and handler events) are compared.

use wskit_tests::*;

/// `{"type":"X",REST}` -> `{REST,"type":"X"}` (or `{"type":"X"}` -> `{"a":0,"type":"X"}`).
fn reordered(frame: &str) -> String {
    let rest = frame.strip_prefix(r#"{"type":""#).unwrap();
    let end = rest.find('"').unwrap();
    let ty = &rest[..end];
    let after = &rest[end + 1..];
    if let Some(body) = after.strip_prefix(',') {
        // body ends with '}' (maybe followed by trailing junk)
        let close = body.rfind('}').unwrap();
        format!(
            r#"{{{},"type":"{ty}"}}{}"#,
            &body[..close],
            &body[close + 1..]
        )
    } else {
        format!(r#"{{"zz":0,"type":"{ty}"{after}"#)
    }
}

async fn answers(c: &mut Client, events: &mut Events, frame: &str) -> (Vec<String>, Vec<String>) {
    c.send(frame).await;
    let frames = c.frames_before_ack().await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    (frames, events.drain())
}

#[tokio::test]
async fn fast_and_parse_first_paths_agree() {
    let (probe, mut events) = probe();
    let server = start(demo_builder(&probe)).await;
    let mut c = connect(&server).await;
    let frames = frame_table::demo_frames();
    let mut bad = Vec::new();
    for f in &frames {
        let fast = answers(&mut c, &mut events, f).await;
        let slow_frame = reordered(f);
        let slow = answers(&mut c, &mut events, &slow_frame).await;
        if fast != slow {
            bad.push(format!(
                "{f}\n  fast: {fast:?}\n  slow ({slow_frame}): {slow:?}"
            ));
        }
    }
    assert!(
        bad.is_empty(),
        "{} differences:\n{}",
        bad.len(),
        bad.join("\n")
    );
    // Junk after a frame of the common layout (which `reordered` cannot move `type` past).
    for f in [
        r#"{"type":"GET_USER","meta":{"correlationId":"a"},"payload":{"userId":"u1"}}}"#,
        r#"{"type":"GET_USER","meta":{"correlationId":"a"},"payload":{"userId":"u1"}}{}"#,
    ] {
        let (answered, handled) = answers(&mut c, &mut events, f).await;
        assert!(handled.is_empty(), "{f}: {handled:?}");
        assert!(
            answered.len() == 1 && answered[0].contains("frame is not valid JSON"),
            "{f}: {answered:?}"
        );
    }
}

#[tokio::test]
async fn over_the_in_flight_limit_fast_and_slow_agree() {
    let (probe, mut events) = probe();
    let server = start(demo_builder(&probe).max_in_flight(1)).await;
    let mut c = connect(&server).await;
    c.send(r#"{"type":"SLOW","meta":{"correlationId":"s"},"payload":{"ms":400}}"#)
        .await;
    assert_eq!(events.next().await, "started:400");
    let mut got = Vec::new();
    for f in [
        r#"{"type":"GET_USER","meta":{"correlationId":"a"},"payload":{"userId":1}}"#,
        r#"{"payload":{"userId":1},"meta":{"correlationId":"a"},"type":"GET_USER"}"#,
        r#"{"type":"GET_USER","meta":{"correlationId":"a"},"payload":{"userId":1}"#,
        r#"{"payload":{"userId":1},"meta":{"correlationId":"a"},"type":"GET_USER""#,
        r#"{"type":"GET_USER","meta":["a"],"payload":{"userId":"u1"}}"#,
        r#"{"meta":["a"],"payload":{"userId":"u1"},"type":"GET_USER"}"#,
    ] {
        c.send(f).await;
        got.push(c.recv().await);
    }
    assert_eq!(got[0], got[1]);
    assert_eq!(got[2], got[3]);
    assert_eq!(got[4], got[5]);
    assert!(
        got[0].contains(r#""correlationId":"a""#) && got[0].contains("RESOURCE_EXHAUSTED"),
        "{}",
        got[0]
    );
    assert!(got[2].contains("not valid JSON"), "{}", got[2]);
}

/// A hand-written `Service` (public trait) that serves one of its types itself: before the fast
/// path it only ever saw frames the server had parsed; a malformed frame was answered by the server.
struct Filter<S>(S);

impl<S: wskit::server::Service<String>> wskit::server::Service<String> for Filter<S> {
    fn description(&self) -> &'static wskit::describe::ProtocolDesc {
        self.0.description()
    }
    fn call(
        &self,
        request: wskit::server::Request<String>,
    ) -> futures_util::future::BoxFuture<'static, ()> {
        if request.wire_type() == "PING" {
            // e.g. a feature switched off: swallow.
            return Box::pin(std::future::ready(()));
        }
        self.0.call(request)
    }
}

#[tokio::test]
async fn a_custom_service_never_sees_a_malformed_frame() {
    let (probe, _events) = probe();
    let builder = wskit::server::Server::<String>::builder()
        .service(Filter(demo_server(DemoApp {
            probe: probe.clone(),
        })))
        .auth(|_req: &wskit::server::http::Request<()>| async move {
            Ok::<_, wskit::server::auth::Rejection>("anon".to_owned())
        });
    let server = start(builder).await;
    let mut c = connect(&server).await;
    for f in [r#"{"PING""#, r#"{"type":"PING","#] {
        c.send(f).await;
        assert_eq!(
            c.frames_before_ack().await,
            [
                r#"{"type":"ERROR","meta":{},"payload":{"code":"INVALID_ARGUMENT","message":"frame is not valid JSON"}}"#
            ],
            "input {f}"
        );
    }
}
