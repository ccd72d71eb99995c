//! Many servers as one through Redis (PROTOCOL.md section 6, "Across servers"): wskit nodes in
//! this process, each with its own Redis connections, on the shared Redis (a prefix of its own
//! per test) or on a `redis-server` the test runs itself (to kill its connections or restart it).
//! Ignored unless asked for: `.ci/run` starts Redis and runs them with `--ignored`.

use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::mpsc;
use wskit::ErrorCode;
use wskit::pubsub::{BusEvent, BusStats, ClusterCount, Matched, PubSub, PubSubError, RedisPubSub};
use wskit::server::{
    BuildError, ErrorCause, ErrorEvent, PublishOptions, Server, SlowConsumerPolicy,
};
use wskit_tests::redis_server::*;
use wskit_tests::*;

const SHARED: &str = "needs Redis on 127.0.0.1:6379 (.ci/run starts one)";
const OWN: &str = "needs redis-server to run one of its own (.ci/run installs it)";

/// One wskit server on the bus.
pub(crate) struct Node {
    pub(crate) server: TestServer,
    pub(crate) stats: BusStats,
    errors: mpsc::UnboundedReceiver<ErrorEvent>,
}

impl Node {
    /// Starts a node and waits until it is subscribed on the bus.
    async fn start(probe: &Probe, url: &str, prefix: &str) -> Node {
        let node = Node::start_with(probe, bus(url, prefix)).await;
        within("the node to subscribe", node.stats.subscribed()).await;
        node
    }

    /// Starts a node on this backend without waiting for the bus.
    async fn start_with(probe: &Probe, bus: RedisPubSub) -> Node {
        let stats = bus.stats();
        Node::start_on(probe, bus, stats).await
    }

    /// Starts a node on any cluster backend without waiting for the bus.
    pub(crate) async fn start_on(probe: &Probe, bus: impl PubSub, stats: BusStats) -> Node {
        let (tx, errors) = mpsc::unbounded_channel();
        let builder = demo_builder(probe)
            .pubsub(bus)
            .outbound_queue(100_000, SlowConsumerPolicy::Close)
            .outbound_queue_bytes(256 << 20)
            .on_error(move |e| {
                let _ = tx.send(e.clone());
            });
        Node {
            server: start(builder).await,
            stats,
            errors,
        }
    }

    /// The bus events reported so far.
    pub(crate) fn bus_events(&mut self) -> Vec<(Option<String>, BusEvent)> {
        let mut out = Vec::new();
        while let Ok(e) = self.errors.try_recv() {
            if let ErrorCause::PubSub(event) = e.cause {
                out.push((e.client_id.map(|id| id.to_string()), event));
            }
        }
        out
    }
}

fn bus(url: &str, prefix: &str) -> RedisPubSub {
    RedisPubSub::connect(url)
        .prefix(prefix)
        .reconnect_backoff(Duration::from_millis(50), Duration::from_millis(400))
}

/// What each subscriber receives of publishers `a` and `b` publishing `<who><i>` for i in 0..n
/// each, asserting that each publisher's publications arrive in their order.
pub(crate) async fn receive_two_publishers(
    subscribers: &mut [Client],
    n: usize,
) -> Vec<Vec<String>> {
    let mut seen = Vec::new();
    for c in subscribers {
        let mut order = Vec::with_capacity(2 * n);
        let mut next = [0usize; 2];
        for _ in 0..2 * n {
            let frame = c.recv_json().await;
            let text = frame["payload"]["text"].as_str().unwrap().to_owned();
            let (who, i) = text.split_at(1);
            let who = usize::from(who == "b");
            assert_eq!(
                i.parse::<usize>().unwrap(),
                next[who],
                "out of order: {text}"
            );
            next[who] += 1;
            order.push(text);
        }
        seen.push(order);
    }
    seen
}

pub(crate) async fn join(c: &mut Client, events: &mut Events, room: &str) {
    c.send(&format!(
        r#"{{"type":"JOIN","payload":{{"room":"{room}"}}}}"#
    ))
    .await;
    assert_eq!(events.next().await, format!("joined:{room}"));
}

pub(crate) fn post(room: &str, text: &str, exclude_self: bool) -> String {
    format!(
        r#"{{"type":"POST","meta":{{"correlationId":"p"}},"payload":{{"room":"{room}","text":"{text}","excludeSelf":{exclude_self}}}}}"#
    )
}

pub(crate) fn new_message(text: &str) -> String {
    format!(r#"{{"type":"NEW_MESSAGE","payload":{{"text":"{text}"}}}}"#)
}

pub(crate) const POSTED: &str =
    r#"{"type":"POSTED","meta":{"correlationId":"p"},"payload":{"matched":0}}"#;

/// The publisher's own copy comes back from the bus, so it may come before or after its reply.
pub(crate) async fn own_copy_and_reply(c: &mut Client, frame: &str) {
    let mut got = vec![c.recv().await, c.recv().await];
    got.sort();
    let mut want = vec![frame.to_owned(), POSTED.to_owned()];
    want.sort();
    assert_eq!(got, want);
}

/// The next message on a raw pub/sub connection: (channel, text).
async fn next_on_bus(bus: &mut redis::aio::PubSub) -> (String, String) {
    let msg = within("a bus message", bus.on_message().next())
        .await
        .expect("bus connection closed");
    let text = String::from_utf8(msg.get_payload_bytes().to_vec()).unwrap();
    (msg.get_channel_name().to_owned(), text)
}

/// Waits until `cond` holds.
pub(crate) async fn eventually(what: &str, cond: impl Fn() -> bool) {
    within(what, async {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn a_bad_redis_url_fails_the_build() {
    let built = Server::<()>::builder()
        .pubsub(RedisPubSub::connect("no-such-scheme://x"))
        .build();
    match built {
        Err(BuildError::PubSub(e)) => assert!(e.to_string().contains("Redis URL"), "{e}"),
        Err(e) => panic!("expected a pub/sub build error, got {e}"),
        Ok(_) => panic!("expected a pub/sub build error"),
    }
}

#[tokio::test]
async fn the_memory_backend_counts_its_own_subscribers_as_the_cluster() {
    let (probe, mut events) = probe();
    let server = start(demo_builder(&probe)).await;
    let mut a = connect(&server).await;
    join(&mut a, &mut events, "room").await;
    let count = server
        .handle
        .cluster_subscriber_count("room")
        .await
        .unwrap();
    assert_eq!(count, ClusterCount::local(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Redis on 127.0.0.1:6379 (.ci/run starts one)"]
async fn two_nodes_publish_on_one_deliver_on_both_in_ws_kit_envelopes() {
    let _ = SHARED;
    let url = shared_redis_url();
    let prefix = unique_prefix("two");
    let mut bus = raw_psubscribe(&url, &format!("{prefix}*")).await;
    let (probe, mut events) = probe();
    let a = Node::start(&probe, &url, &prefix).await;
    let b = Node::start(&probe, &url, &prefix).await;
    let (mut a1, mut b1) = (connect(&a.server).await, connect(&b.server).await);
    join(&mut a1, &mut events, "room:1").await;
    join(&mut b1, &mut events, "room:1").await;

    a1.send(&post("room:1", "hello", false)).await;
    let frame = new_message("hello");
    own_copy_and_reply(&mut a1, &frame).await;
    assert_eq!(b1.recv().await, frame);
    // On the bus: ws-kit's envelope, on <prefix><topic>.
    assert_eq!(
        next_on_bus(&mut bus).await,
        (
            format!("{prefix}room:1"),
            r#"{"topic":"room:1","payload":{"text":"hello"},"type":"NEW_MESSAGE"}"#.to_owned()
        )
    );

    // From outside handlers, with meta; the result is cluster-wide: two nodes and the raw
    // connection got it.
    let mut meta = serde_json::Map::new();
    meta.insert("source".into(), "server".into());
    let msg = NewMessage {
        text: "from b".into(),
    };
    let matched = (b.server.handle)
        .publish("room:1", &msg, PublishOptions::default().with_meta(meta))
        .await
        .unwrap();
    assert_eq!(matched, Matched::Nodes(3));
    assert!(matched.is_cluster());
    let frame = r#"{"type":"NEW_MESSAGE","meta":{"source":"server"},"payload":{"text":"from b"}}"#;
    assert_eq!(a1.recv().await, frame);
    assert_eq!(b1.recv().await, frame);
    assert_eq!(
        next_on_bus(&mut bus).await.1,
        r#"{"topic":"room:1","payload":{"text":"from b"},"type":"NEW_MESSAGE","meta":{"source":"server"}}"#
    );
    // Local counts stay local.
    assert_eq!(a.server.handle.subscriber_count("room:1"), 1);
    assert_eq!((a.stats.received(), b.stats.received()), (2, 2));
    assert_eq!(a.stats.published() + b.stats.published(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Redis on 127.0.0.1:6379 (.ci/run starts one)"]
async fn three_nodes_exclude_self_across_nodes() {
    let url = shared_redis_url();
    let prefix = unique_prefix("three");
    let mut bus = raw_psubscribe(&url, &format!("{prefix}*")).await;
    let (probe, mut events) = probe();
    let a = Node::start(&probe, &url, &prefix).await;
    let b = Node::start(&probe, &url, &prefix).await;
    let c = Node::start(&probe, &url, &prefix).await;
    let mut a1 = connect(&a.server).await;
    let mut a2 = connect(&a.server).await;
    let mut b1 = connect(&b.server).await;
    let mut c1 = connect(&c.server).await;
    for client in [&mut a1, &mut a2, &mut b1, &mut c1] {
        join(client, &mut events, "room").await;
    }

    a1.send(&post("room", "meta:quiet", true)).await;
    assert_eq!(a1.recv().await, POSTED);
    let frame =
        r#"{"type":"NEW_MESSAGE","meta":{"source":"quiet"},"payload":{"text":"meta:quiet"}}"#;
    for other in [&mut a2, &mut b1, &mut c1] {
        assert_eq!(other.recv().await, frame);
    }
    // a2, on the same node, got it: a1 would have got it first.
    assert!(a1.frames_before_ack().await.is_empty());
    let (_, envelope) = next_on_bus(&mut bus).await;
    assert_eq!(
        envelope,
        format!(
            r#"{{"topic":"room","payload":{{"text":"meta:quiet"}},"type":"NEW_MESSAGE","meta":{{"source":"quiet","excludeClientId":"{}"}}}}"#,
            a1.client_id()
        )
    );

    // Publish on each node: everyone gets everything, the publisher's own included.
    b1.send(&post("room", "n0", false)).await;
    own_copy_and_reply(&mut b1, &new_message("n0")).await;
    assert_eq!(c1.recv().await, new_message("n0"));
    c1.send(&post("room", "n1", false)).await;
    own_copy_and_reply(&mut c1, &new_message("n1")).await;
    assert_eq!(b1.recv().await, new_message("n1"));
    for other in [&mut a1, &mut a2] {
        assert_eq!(other.recv().await, new_message("n0"));
        assert_eq!(other.recv().await, new_message("n1"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Redis on 127.0.0.1:6379 (.ci/run starts one)"]
async fn a_burst_of_10000_per_publisher_arrives_in_order_and_in_one_order_everywhere() {
    const N: usize = 10_000;
    let url = shared_redis_url();
    let prefix = unique_prefix("burst");
    let (probe, mut events) = probe();
    let nodes = [
        Node::start(&probe, &url, &prefix).await,
        Node::start(&probe, &url, &prefix).await,
        Node::start(&probe, &url, &prefix).await,
    ];
    let mut subscribers = Vec::new();
    for node in &nodes {
        let mut c = connect(&node.server).await;
        join(&mut c, &mut events, "burst").await;
        subscribers.push(c);
    }
    // Two publishers on two nodes at once, each with 10,000 publications in flight together.
    let publish_all = |handle: wskit::server::ServerHandle, name: &'static str| {
        tokio::spawn(async move {
            let futures: Vec<_> = (0..N)
                .map(|i| {
                    let msg = NewMessage {
                        text: format!("{name}{i}"),
                    };
                    handle.publish("burst", &msg, PublishOptions::default())
                })
                .collect();
            for result in futures_util::future::join_all(futures).await {
                assert!(matches!(result, Ok(Matched::Nodes(3))), "{result:?}");
            }
        })
    };
    let p1 = publish_all(nodes[0].server.handle.clone(), "a");
    let p2 = publish_all(nodes[1].server.handle.clone(), "b");
    let seen = receive_two_publishers(&mut subscribers, N).await;
    p1.await.unwrap();
    p2.await.unwrap();
    // Every subscriber saw Redis's one order of the two publishers.
    assert!(seen.windows(2).all(|w| w[0] == w[1]));
    for node in &nodes {
        assert_eq!(node.stats.received(), 2 * N as u64);
    }
}

/// A field that counts its serializations.
pub mod counted {
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// How many times a [`Counted`] was serialized.
    pub static SERIALIZED: AtomicUsize = AtomicUsize::new(0);

    #[derive(Debug, Clone, PartialEq, serde::Deserialize)]
    pub struct Counted(pub String);

    impl serde::Serialize for Counted {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            SERIALIZED.fetch_add(1, Ordering::SeqCst);
            s.serialize_str(&self.0)
        }
    }

    impl wskit::Validate for Counted {
        fn validate(&self, _: &wskit::validate::Path<'_>, _: &mut wskit::Issues) {}
    }
}

wskit::protocol! {
    protocol Counting {
        event Tally { text: crate::server_redis::counted::Counted }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Redis on 127.0.0.1:6379 (.ci/run starts one)"]
async fn a_publication_is_serialized_once_for_every_subscriber_on_every_node() {
    use std::sync::atomic::Ordering;
    let url = shared_redis_url();
    let prefix = unique_prefix("once");
    let (probe, mut events) = probe();
    let a = Node::start(&probe, &url, &prefix).await;
    let b = Node::start(&probe, &url, &prefix).await;
    let mut clients = Vec::new();
    for node in [&a, &b, &a, &b, &a, &b] {
        let mut c = connect(&node.server).await;
        join(&mut c, &mut events, "room:1").await;
        clients.push(c);
    }
    let before = counted::SERIALIZED.load(Ordering::SeqCst);
    let msg = Tally {
        text: counted::Counted("once".into()),
    };
    let matched = (a.server.handle)
        .publish("room:1", &msg, PublishOptions::default())
        .await
        .unwrap();
    assert_eq!(matched, Matched::Nodes(2));
    for c in &mut clients {
        assert_eq!(
            c.recv().await,
            r#"{"type":"TALLY","payload":{"text":"once"}}"#
        );
    }
    // Six subscribers on two nodes: one serialization, on the publishing node; the other node
    // made its one frame from the bus message (received once).
    assert_eq!(counted::SERIALIZED.load(Ordering::SeqCst) - before, 1);
    assert_eq!((a.stats.received(), b.stats.received()), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Redis on 127.0.0.1:6379 (.ci/run starts one)"]
async fn malformed_bus_messages_are_skipped_counted_and_reported() {
    let url = shared_redis_url();
    let prefix = unique_prefix("malformed");
    let (probe, mut events) = probe();
    let mut a = Node::start(&probe, &url, &prefix).await;
    let mut b = Node::start(&probe, &url, &prefix).await;
    let (mut a1, mut b1) = (connect(&a.server).await, connect(&b.server).await);
    join(&mut a1, &mut events, "room").await;
    join(&mut b1, &mut events, "room").await;
    let channel = format!("{prefix}room");
    let mut conn = raw_conn(&url).await;
    for bad in [
        &b"not json"[..],
        br#"{"type":"X","payload":{}}"#,
        br#"{"topic":"room","payload":1}"#,
        br#"{"topic":"room","type":"X","meta":[1]}"#,
    ] {
        let _: usize = redis::cmd("PUBLISH")
            .arg(&channel)
            .arg(bad)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    let _: usize = redis::cmd("PUBLISH")
        .arg(format!("{prefix}$wskit:ctl"))
        .arg(r#"{"wskit":"what?"}"#)
        .query_async(&mut conn)
        .await
        .unwrap();
    // What ws-kit would deliver as it is, an odd payload included, is delivered.
    let _: usize = redis::cmd("PUBLISH")
        .arg(&channel)
        .arg(r#"{"topic":"room","payload":"odd","type":"ODD","extra":true}"#)
        .query_async(&mut conn)
        .await
        .unwrap();
    for c in [&mut a1, &mut b1] {
        assert_eq!(c.recv().await, r#"{"type":"ODD","payload":"odd"}"#);
    }
    for node in [&mut a, &mut b] {
        // The bad ones came first on the same connection: all handled by now.
        eventually("the malformed count", || node.stats.malformed() == 5).await;
        let events = node.bus_events();
        assert_eq!(events.len(), 5, "{events:?}");
        assert!(
            events
                .iter()
                .all(|(_, e)| matches!(e, BusEvent::Malformed { .. })),
            "{events:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Redis on 127.0.0.1:6379 (.ci/run starts one)"]
async fn cluster_subscriber_count_asks_every_node_and_says_how_many_answered() {
    let url = shared_redis_url();
    let prefix = unique_prefix("count");
    let (probe, mut events) = probe();
    let a = Node::start(&probe, &url, &prefix).await;
    let b = Node::start(&probe, &url, &prefix).await;
    let c = Node::start_with(
        &probe,
        bus(&url, &prefix).count_timeout(Duration::from_millis(300)),
    )
    .await;
    within("c on the bus", c.stats.subscribed()).await;
    let mut clients = Vec::new();
    for server in [&a.server, &a.server, &b.server] {
        let mut client = connect(server).await;
        join(&mut client, &mut events, "room").await;
        clients.push(client);
    }
    let published = [&a, &b, &c].map(|n| n.stats.published());
    for node in [&a, &b, &c] {
        let count = node.server.handle.cluster_subscriber_count("room").await;
        let want = ClusterCount {
            subscribers: 3,
            nodes_answered: 3,
            nodes_expected: 3,
        };
        assert_eq!(count.unwrap(), want);
    }
    assert_eq!(
        a.server
            .handle
            .cluster_subscriber_count("other")
            .await
            .unwrap()
            .subscribers,
        0
    );
    assert_eq!(a.server.handle.subscriber_count("room"), 2);
    // Control messages (the requests and the answers) are not publications.
    assert_eq!([&a, &b, &c].map(|n| n.stats.published()), published);
    // A node that never answers (it only subscribes to the control channel): after the
    // timeout, the count says one node of four did not answer.
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut silent = client.get_async_pubsub().await.unwrap();
    silent
        .subscribe(format!("{prefix}$wskit:ctl"))
        .await
        .unwrap();
    let count = c
        .server
        .handle
        .cluster_subscriber_count("room")
        .await
        .unwrap();
    assert_eq!(
        count,
        ClusterCount {
            subscribers: 3,
            nodes_answered: 3,
            nodes_expected: 4
        }
    );
    assert!(!count.is_complete());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server to run one of its own (.ci/run installs it)"]
async fn redis_down_at_start_publish_fails_then_the_node_joins_when_redis_comes() {
    let _ = OWN;
    let port = free_port();
    let url = format!("redis://127.0.0.1:{port}");
    let prefix = unique_prefix("down");
    let (probe, mut events) = probe();
    // The server builds and serves without Redis.
    let mut a = Node::start_with(&probe, bus(&url, &prefix)).await;
    assert!(!a.stats.is_subscribed());
    let mut a1 = connect(&a.server).await;
    join(&mut a1, &mut events, "room").await;
    a1.send(&post("room", "lost", false)).await;
    let reply = a1.recv_json().await;
    assert_eq!(reply["type"], "RPC_ERROR");
    assert_eq!(code_of(&reply), ErrorCode::Unavailable);
    // Local subscribers do not get a publication that failed (delivery comes from the bus).
    assert!(a1.frames_before_ack().await.is_empty());
    let reported = a.bus_events();
    assert!(
        reported
            .iter()
            .any(|(_, e)| matches!(e, BusEvent::Disconnected { .. })),
        "{reported:?}"
    );
    let failed = reported
        .iter()
        .find(|(_, e)| matches!(e, BusEvent::PublishFailed { topic, .. } if topic == "room"));
    assert_eq!(failed.unwrap().0.as_deref(), Some(a1.client_id().as_str()));

    // Redis comes: the node subscribes, reports the gap since it started, and works.
    let _redis = RedisProcess::start_on(port).await;
    within("the node to subscribe", a.stats.subscribed()).await;
    assert_eq!(a.stats.gaps(), 1);
    post_until_accepted(&mut a1, "found").await;
    assert!(
        a.bus_events()
            .iter()
            .any(|(_, e)| matches!(e, BusEvent::Gap { .. }))
    );
}

/// Two nodes and a subscriber on each, on a Redis of the test's own.
async fn pair(
    probe: &Probe,
    events: &mut Events,
    url: &str,
    prefix: &str,
) -> (Node, Node, Client, Client) {
    let a = Node::start(probe, url, prefix).await;
    let b = Node::start(probe, url, prefix).await;
    let (mut a1, mut b1) = (connect(&a.server).await, connect(&b.server).await);
    join(&mut a1, events, "room").await;
    join(&mut b1, events, "room").await;
    (a, b, a1, b1)
}

/// Posts `text` from `a1` until it is accepted (the publisher connection may still be
/// reconnecting: `UNAVAILABLE` until then), and checks `a1` gets its own copy.
pub(crate) async fn post_until_accepted(a1: &mut Client, text: &str) {
    within("a publication after the outage", async {
        loop {
            a1.send(&post("room", text, false)).await;
            // The own copy may come before the reply.
            let mut own = false;
            let reply = loop {
                let frame = a1.recv_json().await;
                if frame["type"] != "NEW_MESSAGE" {
                    break frame;
                }
                assert_eq!(frame["payload"]["text"], text);
                own = true;
            };
            if reply["type"] == "POSTED" {
                if !own {
                    assert_eq!(a1.recv().await, new_message(text));
                }
                return;
            }
            assert_eq!(code_of(&reply), ErrorCode::Unavailable);
            assert!(!own, "a failed publication was delivered");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
}

/// [`post_until_accepted`], and `b1` gets it too.
async fn post_until_delivered(a1: &mut Client, b1: &mut Client, text: &str) {
    post_until_accepted(a1, text).await;
    assert_eq!(b1.recv().await, new_message(text));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server to run one of its own (.ci/run installs it)"]
async fn client_kill_of_the_subscriber_connections_is_a_gap_then_delivery_resumes() {
    let redis = RedisProcess::start().await;
    let url = redis.url();
    let prefix = unique_prefix("kill");
    let (probe, mut events) = probe();
    let (mut a, mut b, mut a1, mut b1) = pair(&probe, &mut events, &url, &prefix).await;
    a1.send(&post("room", "before", false)).await;
    own_copy_and_reply(&mut a1, &new_message("before")).await;
    assert_eq!(b1.recv().await, new_message("before"));

    let mut conn = raw_conn(&url).await;
    let killed: usize = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("pubsub")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(killed, 2);
    for node in [&a, &b] {
        eventually("the gap to be counted", || node.stats.gaps() == 1).await;
        within("the node to subscribe again", node.stats.subscribed()).await;
        assert_eq!(node.stats.disconnects(), 1);
    }
    for node in [&mut a, &mut b] {
        let events = node.bus_events();
        assert!(
            matches!(
                &events[..],
                [
                    (None, BusEvent::Disconnected { .. }),
                    (None, BusEvent::Gap { .. })
                ]
            ),
            "{events:?}"
        );
    }
    post_until_delivered(&mut a1, &mut b1, "after").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server to run one of its own (.ci/run installs it)"]
async fn a_real_redis_restart_fails_publishes_then_reports_the_gap_and_resumes() {
    let mut redis = RedisProcess::start().await;
    let url = redis.url();
    let prefix = unique_prefix("restart");
    let (probe, mut events) = probe();
    let (mut a, mut b, mut a1, mut b1) = pair(&probe, &mut events, &url, &prefix).await;
    a1.send(&post("room", "before", false)).await;
    own_copy_and_reply(&mut a1, &new_message("before")).await;
    assert_eq!(b1.recv().await, new_message("before"));

    redis.kill();
    eventually("both nodes off the bus", || {
        !a.stats.is_subscribed() && !b.stats.is_subscribed()
    })
    .await;
    // Redis is gone: the handler's publish fails, the client gets UNAVAILABLE, nobody (the
    // local subscriber included) gets the publication, and the error hooks hear of it.
    a1.send(&post("room", "lost", false)).await;
    let reply = a1.recv_json().await;
    assert_eq!(code_of(&reply), ErrorCode::Unavailable);
    assert!(a1.frames_before_ack().await.is_empty());
    let reported = a.bus_events();
    assert!(
        reported
            .iter()
            .any(|(id, e)| matches!(e, BusEvent::PublishFailed { .. }) && id.is_some()),
        "{reported:?}"
    );

    redis.restart().await;
    for node in [&a, &b] {
        eventually("the gap to be counted", || node.stats.gaps() == 1).await;
        within("the node to subscribe again", node.stats.subscribed()).await;
    }
    assert!(
        b.bus_events()
            .iter()
            .any(|(_, e)| matches!(e, BusEvent::Gap { missed_ms } if *missed_ms > 0))
    );
    post_until_delivered(&mut a1, &mut b1, "after").await;
    assert!(a.stats.publish_errors() >= 1);
}

/// A stream of publications numbered from 0 on topic `stream`, every 2 ms, from one node; each
/// must succeed.
struct Stream {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<u32>,
}

impl Stream {
    fn publish(node: &Node) -> Stream {
        let handle = node.server.handle.clone();
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            for n in 0u32.. {
                let msg = NewMessage {
                    text: n.to_string(),
                };
                handle
                    .publish("stream", &msg, PublishOptions::default())
                    .await
                    .unwrap();
                tokio::select! {
                    _ = &mut stopped => return n + 1,
                    _ = tokio::time::sleep(Duration::from_millis(2)) => {}
                }
            }
            unreachable!("four billion publications")
        });
        Stream { stop, task }
    }

    /// Stops the stream; how many were published.
    async fn stop(self) -> u32 {
        self.stop.send(()).unwrap();
        self.task.await.unwrap()
    }

    /// The number a frame of the stream carries.
    fn number(frame: serde_json::Value) -> u32 {
        frame["payload"]["text"].as_str().unwrap().parse().unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Redis on 127.0.0.1:6379 (.ci/run starts one)"]
async fn a_node_killed_and_restarted_mid_stream() {
    let url = shared_redis_url();
    let prefix = unique_prefix("node");
    let (probe, mut events) = probe();
    let a = Node::start(&probe, &url, &prefix).await;
    let mut b = Node::start(&probe, &url, &prefix).await;
    let mut a1 = connect(&a.server).await;
    let mut b1 = connect(&b.server).await;
    join(&mut a1, &mut events, "stream").await;
    join(&mut b1, &mut events, "stream").await;
    // A stream of numbered publications from node A.
    let publisher = Stream::publish(&a);
    for want in 0..50 {
        assert_eq!(Stream::number(b1.recv_json().await), want);
    }
    // Node B goes away mid-stream, and a new B comes up with a new client.
    b.server.signal_shutdown();
    within("B's shutdown", b.server.handle.shutdown()).await;
    let (close, _) = b1.recv_close().await;
    assert_eq!(close.map(|c| c.0), Some(1001));
    // Off the bus: a publish is refused at once, and counted as failed.
    let failed = b.stats.publish_errors();
    let late = NewMessage {
        text: "late".into(),
    };
    let refused = (b.server.handle)
        .publish("stream", &late, PublishOptions::default())
        .await;
    assert!(
        matches!(refused, Err(PubSubError::Backend(_))),
        "{refused:?}"
    );
    assert_eq!(b.stats.publish_errors(), failed + 1);
    drop(b);
    let b2 = Node::start(&probe, &url, &prefix).await;
    let mut b2c = connect(&b2.server).await;
    join(&mut b2c, &mut events, "stream").await;
    let first = Stream::number(b2c.recv_json().await);
    for want in first + 1..first + 50 {
        assert_eq!(Stream::number(b2c.recv_json().await), want);
    }
    let published = publisher.stop().await;
    // A's subscriber saw the whole stream, in order, without a gap.
    for want in 0..published {
        assert_eq!(Stream::number(a1.recv_json().await), want);
    }
    assert_eq!(a.stats.gaps(), 0);
}

/// A node that dies without a word (SIGKILL: no close frames, no unsubscribe, its Redis
/// connections cut by the kernel) takes only its own clients with it: the other node publishes
/// on without an error, its subscriber gets the whole stream in order with no gap, and a node
/// started again in its place delivers the stream to its new client.
#[cfg(unix)]
#[tokio::test]
#[ignore = "needs Redis on 127.0.0.1:6379 (.ci/run starts one)"]
async fn a_node_killed_with_sigkill_and_started_again() {
    let url = shared_redis_url();
    let prefix = unique_prefix("kill");
    let (probe, mut events) = probe();
    let mut a = Node::start(&probe, &url, &prefix).await;
    let mut a1 = connect(&a.server).await;
    join(&mut a1, &mut events, "stream").await;
    // Node B in a process of its own, on the same bus.
    let start_b = || async {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_serve_until_signal"));
        command
            .env("WSKIT_REDIS_URL", &url)
            .env("WSKIT_REDIS_PREFIX", &prefix);
        let (child, lines, addr) = crate::server_shutdown::start_child_server(command).await;
        // `serve` binds after printing: retry until it accepts.
        let mut client = None;
        for _ in 0..100 {
            let url = format!("ws://{addr}/");
            if let Ok((ws, response)) = tokio_tungstenite::connect_async(url).await {
                client = Some(Client { ws, response });
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mut client = client.expect("node B accepts");
        client
            .send(r#"{"type":"JOIN","payload":{"room":"stream"}}"#)
            .await;
        (child, lines, client)
    };
    let (mut b, _b_lines, mut b1) = start_b().await;
    // A dead node on the bus is no error for the publisher.
    let publisher = Stream::publish(&a);
    // B's client gets the stream from where its join took effect, in order.
    let first = Stream::number(b1.recv_json().await);
    for want in first + 1..first + 50 {
        assert_eq!(Stream::number(b1.recv_json().await), want);
    }
    b.start_kill().unwrap();
    let status = within("B to die", b.wait()).await.unwrap();
    assert!(!status.success(), "{status}");
    // B's client sees its connection end without a close frame.
    loop {
        match within("B's socket to end", b1.ws.next()).await {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Close(f))) => {
                panic!("a killed node sent a close frame: {f:?}")
            }
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => break,
        }
    }
    // A new B: its client gets the stream again.
    let (_b2, _b2_lines, mut b2c) = start_b().await;
    let first = Stream::number(b2c.recv_json().await);
    for want in first + 1..first + 50 {
        assert_eq!(Stream::number(b2c.recv_json().await), want);
    }
    let published = publisher.stop().await;
    // A's subscriber saw the whole stream, in order, without a gap; A's bus saw nothing wrong.
    for want in 0..published {
        assert_eq!(Stream::number(a1.recv_json().await), want);
    }
    assert_eq!(a.stats.gaps(), 0);
    assert_eq!(a.bus_events(), []);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Redis on 127.0.0.1:6379 (.ci/run starts one)"]
async fn two_chat_example_servers_form_one_chat() {
    let url = shared_redis_url();
    let prefix = unique_prefix("chat");
    let mut servers = Vec::new();
    for _ in 0..2 {
        let bus = RedisPubSub::connect(&url).prefix(&prefix);
        let stats = bus.stats();
        let server = crate::chat_server::chat_server_on(bus).unwrap();
        within("the chat server on the bus", stats.subscribed()).await;
        servers.push(start_server(server).await);
    }
    let mut alice = connect_to(servers[0].url("/?access_token=alice-token")).await;
    let mut bob = connect_to(servers[1].url("/?access_token=bob-token")).await;
    alice
        .send(r#"{"type":"JOIN_ROOM","payload":{"roomId":"general"}}"#)
        .await;
    // Alice's join has reached her server before Bob's join is published.
    alice
        .send(r#"{"type":"LIST_MEMBERS","meta":{"correlationId":"1"},"payload":{"roomId":"general"}}"#)
        .await;
    assert_eq!(alice.recv_json().await["type"], "MEMBERS");
    bob.send(r#"{"type":"JOIN_ROOM","payload":{"roomId":"general"}}"#)
        .await;
    assert_eq!(
        alice.recv().await,
        r#"{"type":"USER_JOINED","payload":{"roomId":"general","user":"bob"}}"#
    );
    bob.send(r#"{"type":"SEND_MESSAGE","payload":{"roomId":"general","text":"hi alice"}}"#)
        .await;
    let line =
        r#"{"type":"NEW_MESSAGE","payload":{"roomId":"general","user":"bob","text":"hi alice"}}"#;
    assert_eq!(alice.recv().await, line);
    assert_eq!(bob.recv().await, line);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Redis on 127.0.0.1:6379 (.ci/run starts one)"]
async fn a_node_cut_off_silently_finds_out_reports_the_gap_and_comes_back() {
    let url = shared_redis_url();
    let prefix = unique_prefix("silent");
    let upstream = url
        .trim_start_matches("redis://")
        .trim_end_matches('/')
        .to_owned();
    let proxy = SilentCut::start(&upstream).await;
    let (probe, mut events) = probe();
    // A reaches Redis through the proxy, B directly.
    let bus_a = bus(&proxy.url(), &prefix)
        .health_check(Duration::from_millis(100))
        .publish_timeout(Duration::from_millis(500));
    let mut a = Node::start_with(&probe, bus_a).await;
    within("A on the bus", a.stats.subscribed()).await;
    let b = Node::start(&probe, &url, &prefix).await;
    let (mut a1, mut b1) = (connect(&a.server).await, connect(&b.server).await);
    join(&mut a1, &mut events, "room").await;
    join(&mut b1, &mut events, "room").await;
    b1.send(&post("room", "before", false)).await;
    own_copy_and_reply(&mut b1, &new_message("before")).await;
    assert_eq!(a1.recv().await, new_message("before"));

    // The network between A and Redis goes silent: no close, no error, just nothing.
    proxy.set_cut(true);
    eventually("A to notice", || !a.stats.is_subscribed()).await;
    // Meanwhile B's publications reach B's subscribers, and are lost for A's (at most once).
    b1.send(&post("room", "lost for A", false)).await;
    own_copy_and_reply(&mut b1, &new_message("lost for A")).await;

    proxy.set_cut(false);
    eventually("the gap to be counted", || a.stats.gaps() == 1).await;
    within("A on the bus again", a.stats.subscribed()).await;
    b1.send(&post("room", "after", false)).await;
    own_copy_and_reply(&mut b1, &new_message("after")).await;
    assert_eq!(a1.recv().await, new_message("after"));
    let reported = a.bus_events();
    assert!(
        reported.iter().any(
            |(_, e)| matches!(e, BusEvent::Disconnected { reason } if reason.contains("PING"))
        ),
        "{reported:?}"
    );
    assert!(
        reported
            .iter()
            .any(|(_, e)| matches!(e, BusEvent::Gap { .. })),
        "{reported:?}"
    );
}
