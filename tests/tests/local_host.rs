//! `wskit::local` (the engine a single-threaded host such as a Cloudflare Durable Object drives)
//! answers every frame as the tokio server does: the fast-path frame table and the runtime's own
//! cases are sent to a tokio server over a socket and to a `LocalServer` on an in-memory host
//! serving the same handlers, and the answers compared. Then what needs concurrency on one
//! connection: abort, deadline, duplicate correlationIds, the in-flight limit.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;
use std::time::Duration;

use wskit::Error;
use wskit::local::{Context, Host, HostError, LocalBoxFuture, LocalServer, RpcContext, Session};
use wskit::topic::PublishOptions;
use wskit_tests::*;

/// An in-memory host: keeps what it is asked to send, the topics, the close.
#[derive(Default)]
struct MemoryHost {
    sent: RefCell<Vec<String>>,
    topics: RefCell<BTreeSet<String>>,
    closed: RefCell<Option<(u16, String)>>,
}

impl MemoryHost {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.sent.borrow_mut())
    }
}

impl Host for MemoryHost {
    fn send(&self, frame: &str) -> Result<(), HostError> {
        if self.closed.borrow().is_some() {
            return Err(HostError::Closed);
        }
        self.sent.borrow_mut().push(frame.to_owned());
        Ok(())
    }
    fn close(&self, code: u16, reason: &str) {
        *self.closed.borrow_mut() = Some((code, reason.to_owned()));
    }
    fn now_ms(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    }
    fn sleep(&self, ms: u64) -> LocalBoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(Duration::from_millis(ms)))
    }
    /// The one connection of this host receives its own publication unless excluded.
    fn publish(&self, topic: &str, frame: &str, exclude_self: bool) -> Result<usize, HostError> {
        if exclude_self || !self.topics.borrow().contains(topic) {
            return Ok(0);
        }
        self.send(frame)?;
        Ok(1)
    }
    fn subscribe(&self, topic: &str) -> Result<(), HostError> {
        self.topics.borrow_mut().insert(topic.to_owned());
        Ok(())
    }
    fn unsubscribe(&self, topic: &str) -> Result<(), HostError> {
        self.topics.borrow_mut().remove(topic);
        Ok(())
    }
}

/// `DemoApp`'s answers (`support/lib.rs`), on the local host: what the client sees is the same.
struct LocalDemo;

impl DemoLocalHandler for LocalDemo {
    type Data = String;

    async fn say(&self, ctx: Context<String>, msg: Say) -> Result<(), Error> {
        match msg.text.as_str() {
            "fail" => Err(Error::not_found("nothing here")),
            "panic" => panic!("boom"),
            _ => {
                ctx.send(&Said { text: msg.text })?;
                Ok(())
            }
        }
    }
    async fn ping(&self, _: Context<String>, _: Ping) -> Result<(), Error> {
        Ok(())
    }
    async fn touch(&self, _: Context<String>, _: Touch) -> Result<(), Error> {
        Ok(())
    }
    async fn nudge(&self, ctx: RpcContext<String, Nudge>, _: Nudge) -> Result<Nudged, Error> {
        ctx.send(&Poked {})?;
        Ok(Nudged {})
    }
    async fn join(&self, ctx: Context<String>, msg: Join) -> Result<(), Error> {
        ctx.subscribe(&msg.room)?;
        Ok(())
    }
    async fn leave(&self, ctx: Context<String>, msg: Leave) -> Result<(), Error> {
        ctx.unsubscribe(&msg.room)?;
        Ok(())
    }
    async fn flood(&self, ctx: Context<String>, msg: Flood) -> Result<(), Error> {
        let text = "x".repeat(msg.size as usize);
        for _ in 0..msg.count {
            let _ = ctx.send(&Said { text: text.clone() });
        }
        Ok(())
    }
    async fn get_user(
        &self,
        _: RpcContext<String, GetUser>,
        req: GetUser,
    ) -> Result<UserData, Error> {
        match req.user_id.as_str() {
            "u1" => Ok(UserData {
                name: "Ada".into(),
                email: None,
            }),
            "u2" => Ok(UserData {
                name: "Bob".into(),
                email: Some("bob@example.com".into()),
            }),
            _ => Err(Error::not_found("no such user")),
        }
    }
    async fn slow(&self, _: RpcContext<String, Slow>, req: Slow) -> Result<SlowDone, Error> {
        tokio::time::sleep(Duration::from_millis(req.ms)).await;
        Ok(SlowDone {})
    }
    async fn count(&self, ctx: RpcContext<String, Count>, req: Count) -> Result<Counted, Error> {
        for n in 1..=req.to {
            ctx.progress(CountProgress { n });
            tokio::task::yield_now().await;
        }
        Ok(Counted { total: req.to })
    }
    async fn twice(&self, ctx: RpcContext<String, Twice>, req: Twice) -> Result<TwiceDone, Error> {
        match req.mode.as_str() {
            "reply" => {
                ctx.reply(&TwiceDone { n: 1 });
                Ok(TwiceDone { n: 2 })
            }
            "error-then-reply" => {
                ctx.error(Error::aborted("first"));
                Ok(TwiceDone { n: 2 })
            }
            "reply-then-error" => {
                ctx.reply(&TwiceDone { n: 1 });
                Err(Error::internal("too late"))
            }
            // Replies, then goes on running (until cancelled): the request is still registered
            // after its reply.
            "reply-then-wait" => {
                ctx.reply(&TwiceDone { n: 1 });
                tokio::time::sleep(Duration::from_secs(60)).await;
                Ok(TwiceDone { n: 2 })
            }
            _ => Err(Error::invalid_argument("unknown mode")),
        }
    }
    async fn post(&self, ctx: RpcContext<String, Post>, req: Post) -> Result<Posted, Error> {
        let mut options = PublishOptions {
            exclude_self: req.exclude_self,
            ..Default::default()
        };
        if let Some(source) = req.text.strip_prefix("meta:") {
            let mut meta = serde_json::Map::new();
            meta.insert("source".into(), source.into());
            options.meta = Some(meta);
        }
        let matched = ctx.publish(&req.room, &NewMessage { text: req.text }, options)?;
        Ok(Posted {
            matched: matched as u32,
        })
    }
    async fn who_am_i(&self, ctx: RpcContext<String, WhoAmI>, _: WhoAmI) -> Result<Me, Error> {
        Ok(Me {
            client_id: ctx.client_id().to_owned(),
            user: ctx.data().clone(),
        })
    }
    async fn check(&self, _: RpcContext<String, Check>, _: Check) -> Result<Checked, Error> {
        Ok(Checked {})
    }
    async fn echo_meta(
        &self,
        ctx: RpcContext<String, EchoMeta>,
        _: EchoMeta,
    ) -> Result<MetaSeen, Error> {
        let mut keys: Vec<String> = ctx.meta().extra.keys().cloned().collect();
        keys.sort();
        Ok(MetaSeen { keys })
    }
    async fn late(&self, ctx: RpcContext<String, Late>, req: Late) -> Result<LateDone, Error> {
        for n in 0..req.n {
            ctx.progress(LateProgress { n });
        }
        Ok(LateDone {})
    }
}

fn local_server(max_in_flight: usize) -> LocalServer<String> {
    LocalServer::builder()
        .service(Demo::local_server(LocalDemo))
        .max_in_flight(max_in_flight)
        .build()
        .expect("local server")
}

/// Frames beyond the fast-path table (not `COUNT` and `LATE`, whose handlers yield: the tokio
/// server finishes them after the heartbeat ack this comparison waits for; see
/// `progress_goes_out_before_the_reply_and_never_after`): the runtime's own types, refusals, handler outcomes, RPC
/// terminal rules, progress and pub/sub, in an order where each depends on the one before.
const RUNTIME_FRAMES: &[&str] = &[
    r#"{"type":"$ws:abort","meta":{"correlationId":"nobody"}}"#,
    r#"{"type":"$ws:abort"}"#,
    r#"{"type":"$ws:other","meta":{"correlationId":"c"}}"#,
    r#"{"type":"__mine"}"#,
    r#"{"type":"NOPE","meta":{"correlationId":"c"},"payload":{}}"#,
    r#"{"type":"NOPE"}"#,
    r#"{"type":"SAID","payload":{"text":"server to client"}}"#,
    "not json",
    "[]",
    r#"{"type":1}"#,
    r#"{"meta":{}}"#,
    r#"{"type":"SAY","payload":{"text":"hi"}}"#,
    r#"{"type":"SAY","meta":{"correlationId":"s1"},"payload":{"text":"fail"}}"#,
    r#"{"type":"SAY","payload":{"text":"panic"}}"#,
    r#"{"type":"NUDGE","meta":{"correlationId":"n"},"payload":{}}"#,
    r#"{"type":"TWICE","meta":{"correlationId":"t1"},"payload":{"mode":"reply"}}"#,
    r#"{"type":"TWICE","meta":{"correlationId":"t2"},"payload":{"mode":"error-then-reply"}}"#,
    r#"{"type":"TWICE","meta":{"correlationId":"t3"},"payload":{"mode":"reply-then-error"}}"#,
    r#"{"type":"TWICE","meta":{"correlationId":"t4"},"payload":{"mode":"?"}}"#,
    r#"{"type":"TWICE","payload":{"mode":"reply"}}"#,
    r#"{"type":"CHECK","meta":{"correlationId":"k"},"payload":{"n":13}}"#,
    r#"{"type":"WHO_AM_I","meta":{"correlationId":"w"}}"#,
    r#"{"type":"ECHO_META","meta":{"correlationId":"e","trace":"t","x":1}}"#,
    r#"{"type":"JOIN","payload":{"room":"r1"}}"#,
    r#"{"type":"JOIN","payload":{"room":"bad room"}}"#,
    r#"{"type":"POST","meta":{"correlationId":"p1"},"payload":{"room":"r1","text":"hi","excludeSelf":false}}"#,
    r#"{"type":"POST","meta":{"correlationId":"p2"},"payload":{"room":"r1","text":"meta:x","excludeSelf":false}}"#,
    r#"{"type":"POST","meta":{"correlationId":"p3"},"payload":{"room":"r1","text":"hi","excludeSelf":true}}"#,
    r#"{"type":"POST","meta":{"correlationId":"p4"},"payload":{"room":"bad room","text":"hi","excludeSelf":false}}"#,
    r#"{"type":"LEAVE","payload":{"room":"r1"}}"#,
    r#"{"type":"POST","meta":{"correlationId":"p5"},"payload":{"room":"r1","text":"hi","excludeSelf":false}}"#,
    r#"{"type":"FLOOD","payload":{"count":2,"size":3}}"#,
];

#[tokio::test]
async fn the_local_host_answers_every_frame_as_the_tokio_server() {
    let (probe, _events) = probe();
    let server = start(demo_builder(&probe)).await;
    let mut c = connect(&server).await;
    let local = local_server(64);
    let host = Rc::new(MemoryHost::default());
    let session = Session::new(c.client_id(), "anon".to_owned(), host.clone());

    let mut frames = frame_table::demo_frames();
    frames.extend(RUNTIME_FRAMES.iter().map(|f| f.to_string()));
    let mut differences = Vec::new();
    for frame in &frames {
        c.send(frame).await;
        let tokio_answers = c.frames_before_ack().await;
        local.on_text(&session, frame).await;
        let local_answers = host.take();
        if tokio_answers != local_answers {
            differences.push(format!(
                "{frame}\n  tokio: {tokio_answers:?}\n  local: {local_answers:?}"
            ));
        }
    }
    assert!(
        differences.is_empty(),
        "{} of {} frames answered differently:\n{}",
        differences.len(),
        frames.len(),
        differences.join("\n")
    );
    assert!(frames.len() > 700, "the table has {} frames", frames.len());
}

#[tokio::test]
async fn progress_goes_out_before_the_reply_and_never_after() {
    let local = local_server(64);
    let host = Rc::new(MemoryHost::default());
    let session = Session::new("c", String::new(), host.clone());
    local
        .on_text(
            &session,
            r#"{"type":"COUNT","meta":{"correlationId":"p"},"payload":{"to":2}}"#,
        )
        .await;
    assert_eq!(
        host.take(),
        [
            r#"{"type":"$ws:rpc-progress","meta":{"correlationId":"p"},"payload":{"n":1},"data":{"n":1}}"#,
            r#"{"type":"$ws:rpc-progress","meta":{"correlationId":"p"},"payload":{"n":2},"data":{"n":2}}"#,
            r#"{"type":"COUNTED","meta":{"correlationId":"p"},"payload":{"total":2}}"#,
        ]
    );
    // `TWICE` replies early, then returns a second answer: dropped, as is progress after it.
    local
        .on_text(&session, r#"{"type":"TWICE","meta":{"correlationId":"t"},"payload":{"mode":"reply-then-error"}}"#)
        .await;
    assert_eq!(
        host.take(),
        [r#"{"type":"TWICE_DONE","meta":{"correlationId":"t"},"payload":{"n":1}}"#]
    );
}

#[tokio::test]
async fn heartbeat_ack_carries_the_hosts_clock() {
    let local = local_server(64);
    let host = Rc::new(MemoryHost::default());
    let session = Session::new("c", String::new(), host.clone());
    let before = host.now_ms();
    local.on_text(&session, r#"{"type":"__heartbeat"}"#).await;
    let sent = host.take();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let ack: serde_json::Value = serde_json::from_str(&sent[0]).unwrap();
    assert_eq!(ack["type"], "__heartbeat_ack");
    assert!(ack["meta"]["ts"].as_u64().unwrap() >= before, "{ack}");
}

#[tokio::test]
async fn abort_cancels_an_rpc_in_flight_and_nothing_is_answered() {
    let local = local_server(64);
    let host = Rc::new(MemoryHost::default());
    let session = Session::new("c", String::new(), host.clone());
    let slow = local.on_text(
        &session,
        r#"{"type":"SLOW","meta":{"correlationId":"s"},"payload":{"ms":60000}}"#,
    );
    let abort = async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(session.in_flight(), 1);
        // A second request under the same id while the first runs: refused, without the id.
        local
            .on_text(
                &session,
                r#"{"type":"SLOW","meta":{"correlationId":"s"},"payload":{"ms":1}}"#,
            )
            .await;
        local
            .on_text(
                &session,
                r#"{"type":"$ws:abort","meta":{"correlationId":"s"}}"#,
            )
            .await;
    };
    tokio::time::timeout(Duration::from_secs(10), async { tokio::join!(slow, abort) })
        .await
        .expect("the aborted request ended");
    let sent = host.take();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].starts_with(r#"{"type":"ERROR","meta":{},"payload":{"code":"INVALID_ARGUMENT","message":"duplicate correlationId in flight""#), "{sent:?}");
    assert_eq!(session.in_flight(), 0);
}

/// As on the tokio server: an id may be reused once its request sent its reply, while the
/// handler still runs.
#[tokio::test]
async fn an_id_may_be_reused_as_soon_as_its_reply_was_sent() {
    let local = local_server(64);
    let host = Rc::new(MemoryHost::default());
    let session = Session::new("c", String::new(), host.clone());
    let first = local.on_text(
        &session,
        r#"{"type":"TWICE","meta":{"correlationId":"r"},"payload":{"mode":"reply-then-wait"}}"#,
    );
    let second = async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(session.in_flight(), 1);
        local
            .on_text(
                &session,
                r#"{"type":"GET_USER","meta":{"correlationId":"r"},"payload":{"userId":"u1"}}"#,
            )
            .await;
        session.close_requests();
    };
    tokio::time::timeout(Duration::from_secs(10), async {
        tokio::join!(first, second)
    })
    .await
    .expect("the waiting request was cancelled");
    let sent = host.take();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(
        sent[0],
        r#"{"type":"TWICE_DONE","meta":{"correlationId":"r"},"payload":{"n":1}}"#
    );
    assert!(
        sent[1].starts_with(r#"{"type":"USER_DATA","meta":{"correlationId":"r"}"#),
        "{sent:?}"
    );
}

#[tokio::test]
async fn a_deadline_answers_deadline_exceeded() {
    let local = local_server(64);
    let host = Rc::new(MemoryHost::default());
    let session = Session::new("c", String::new(), host.clone());
    let frame =
        r#"{"type":"SLOW","meta":{"correlationId":"d","timeoutMs":30},"payload":{"ms":60000}}"#;
    tokio::time::timeout(Duration::from_secs(10), local.on_text(&session, frame))
        .await
        .expect("the deadline ended the request");
    let sent = host.take();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].starts_with(r#"{"type":"RPC_ERROR","meta":{"correlationId":"d"},"payload":{"code":"DEADLINE_EXCEEDED""#), "{sent:?}");
}

#[tokio::test]
async fn over_the_in_flight_limit_is_resource_exhausted() {
    let local = local_server(1);
    let host = Rc::new(MemoryHost::default());
    let session = Session::new("c", String::new(), host.clone());
    let slow = local.on_text(
        &session,
        r#"{"type":"SLOW","meta":{"correlationId":"s"},"payload":{"ms":50}}"#,
    );
    let second = async {
        tokio::time::sleep(Duration::from_millis(10)).await;
        local
            .on_text(
                &session,
                r#"{"type":"GET_USER","meta":{"correlationId":"a"},"payload":{"userId":"u1"}}"#,
            )
            .await;
    };
    tokio::join!(slow, second);
    let sent = host.take();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(
        sent[0].contains("RESOURCE_EXHAUSTED") && sent[0].contains(r#""correlationId":"a""#),
        "{sent:?}"
    );
    assert_eq!(
        sent[1],
        r#"{"type":"SLOW_DONE","meta":{"correlationId":"s"}}"#
    );
}

#[tokio::test]
async fn a_binary_frame_is_read_as_text_or_answered() {
    let local = local_server(64);
    let host = Rc::new(MemoryHost::default());
    let session = Session::new("c", String::new(), host.clone());
    local
        .on_binary(
            &session,
            br#"{"type":"GET_USER","meta":{"correlationId":"a"},"payload":{"userId":"u1"}}"#,
        )
        .await;
    assert_eq!(
        host.take(),
        [r#"{"type":"USER_DATA","meta":{"correlationId":"a"},"payload":{"name":"Ada"}}"#]
    );
    // Not UTF-8: answered as the tokio server answers it (`server_bad_input`), the connection
    // goes on.
    local.on_binary(&session, b"\xff\xfe").await;
    assert_eq!(
        host.take(),
        [
            r#"{"type":"ERROR","meta":{},"payload":{"code":"INVALID_ARGUMENT","message":"binary frame is not valid UTF-8"}}"#
        ]
    );
    assert!(host.closed.borrow().is_none());
}

/// A frame over the limit closes the connection with 1009 "frame too big", text or binary, as
/// the tokio server closes it (`server_bad_input`); one at the limit is answered.
#[tokio::test]
async fn a_frame_over_the_limit_closes_the_connection_with_1009() {
    let frame = r#"{"type":"GET_USER","meta":{"correlationId":"a"},"payload":{"userId":"u1"}}"#;
    let local = LocalServer::builder()
        .service(Demo::local_server(LocalDemo))
        .max_frame_bytes(frame.len())
        .build()
        .expect("local server");
    let host = Rc::new(MemoryHost::default());
    let session = Session::new("c", String::new(), host.clone());
    local.on_text(&session, frame).await;
    assert_eq!(host.take().len(), 1);
    assert!(host.closed.borrow().is_none());
    let over = frame.replace("u1", "u12");
    local.on_binary(&session, over.as_bytes()).await;
    assert_eq!(host.take(), Vec::<String>::new());
    assert_eq!(
        host.closed.borrow().clone(),
        Some((1009, "frame too big".to_owned()))
    );
    let host = Rc::new(MemoryHost::default());
    let session = Session::new("d", String::new(), host.clone());
    local.on_text(&session, &over).await;
    assert_eq!(
        host.closed.borrow().clone(),
        Some((1009, "frame too big".to_owned()))
    );
}

#[test]
fn two_services_of_one_type_do_not_build() {
    let built = LocalServer::<String>::builder()
        .service(Demo::local_server(LocalDemo))
        .service(Demo::local_server(LocalDemo))
        .build();
    assert!(
        matches!(built, Err(wskit::local::BuildError::DuplicateType(_))),
        "{built:?}"
    );
}
