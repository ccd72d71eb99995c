//! Many servers as one through NATS (`NatsPubSub`, feature `nats`): the Redis backend's
//! semantics on NATS core pub/sub (not a bus ws-kit shares). Ignored unless asked for: `.ci/run`
//! starts nats-server.

use std::time::Duration;

use wskit::ErrorCode;
use wskit::pubsub::{BusEvent, Matched, NatsPubSub};
use wskit::server::PublishOptions;
use wskit_tests::redis_server::*;
use wskit_tests::*;

use crate::server_redis::{
    Node, eventually, join, new_message, own_copy_and_reply, post, post_until_accepted,
    receive_two_publishers,
};

async fn node(probe: &Probe, bus: NatsPubSub) -> Node {
    let stats = bus.stats();
    let node = Node::start_on(probe, bus, stats).await;
    within("the node to subscribe", node.stats.subscribed()).await;
    node
}

/// A subject prefix of its own for one test.
fn prefix(test: &str) -> String {
    format!("wskit-test.{test}.{}", wskit::pubsub::ClientId::new())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs nats-server on 127.0.0.1:4222 (.ci/run starts one)"]
async fn two_nats_nodes_deliver_everywhere_with_exclude_self() {
    let (url, prefix) = (shared_nats_url(), prefix("two"));
    let (probe, mut events) = probe();
    let a = node(&probe, NatsPubSub::connect(&url).prefix(&prefix)).await;
    let mut b = node(&probe, NatsPubSub::connect(&url).prefix(&prefix)).await;
    let mut a1 = connect(&a.server).await;
    let mut a2 = connect(&a.server).await;
    let mut b1 = connect(&b.server).await;
    for c in [&mut a1, &mut a2, &mut b1] {
        join(c, &mut events, "room:1").await;
    }
    a1.send(&post("room:1", "hello", false)).await;
    own_copy_and_reply(&mut a1, &new_message("hello")).await;
    assert_eq!(a2.recv().await, new_message("hello"));
    assert_eq!(b1.recv().await, new_message("hello"));
    // Exclude-self: a2 (same node) and b1 get it, a1 does not.
    a1.send(&post("room:1", "quiet", true)).await;
    assert_eq!(a1.recv().await, crate::server_redis::POSTED);
    assert_eq!(a2.recv().await, new_message("quiet"));
    assert_eq!(b1.recv().await, new_message("quiet"));
    assert!(a1.frames_before_ack().await.is_empty());
    let msg = NewMessage {
        text: "server".into(),
    };
    let matched = (b.server.handle)
        .publish("room:1", &msg, PublishOptions::default())
        .await
        .unwrap();
    assert_eq!(matched, Matched::Unknown);
    for c in [&mut a1, &mut a2, &mut b1] {
        assert_eq!(c.recv().await, new_message("server"));
    }
    // No cluster-wide count on NATS: an error, not this node's count passed off as complete.
    assert_eq!(a.server.handle.subscriber_count("room:1"), 2);
    let count = a.server.handle.cluster_subscriber_count("room:1").await;
    match count {
        Err(wskit::pubsub::PubSubError::Backend(why)) => {
            assert!(why.contains("no cluster-wide"), "{why}")
        }
        other => panic!("{other:?}"),
    }
    // Off the bus after its shutdown: a publish is refused at once, and counted as failed.
    b.server.signal_shutdown();
    within("B's shutdown", b.server.handle.shutdown()).await;
    let failed = b.stats.publish_errors();
    let refused = (b.server.handle)
        .publish("room:1", &msg, PublishOptions::default())
        .await;
    assert!(
        matches!(refused, Err(wskit::pubsub::PubSubError::Backend(_))),
        "{refused:?}"
    );
    assert_eq!(b.stats.publish_errors(), failed + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs nats-server on 127.0.0.1:4222 (.ci/run starts one)"]
async fn a_nats_burst_arrives_in_each_publishers_order_on_every_node() {
    const N: usize = 10_000;
    let (url, prefix) = (shared_nats_url(), prefix("burst"));
    let (probe, mut events) = probe();
    let nodes = [
        node(&probe, NatsPubSub::connect(&url).prefix(&prefix)).await,
        node(&probe, NatsPubSub::connect(&url).prefix(&prefix)).await,
    ];
    let mut subscribers = Vec::new();
    for n in &nodes {
        let mut c = connect(&n.server).await;
        join(&mut c, &mut events, "burst").await;
        subscribers.push(c);
    }
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
                assert!(result.is_ok(), "{result:?}");
            }
        })
    };
    let p1 = publish_all(nodes[0].server.handle.clone(), "a");
    let p2 = publish_all(nodes[1].server.handle.clone(), "b");
    // Each subscriber gets all 2N, each publisher's in its publish order (checked as they
    // arrive). Unlike Redis, NATS does not give every subscription one interleaving of two
    // publishers: it delivers from each publishing connection to each subscription on its own
    // (two nodes were seen to differ, with each publisher's order kept).
    let seen = receive_two_publishers(&mut subscribers, N).await;
    p1.await.unwrap();
    p2.await.unwrap();
    assert!(seen.iter().all(|s| s.len() == 2 * N));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs nats-server to run one of its own (.ci/run installs it)"]
async fn a_nats_restart_fails_publishes_then_reports_the_gap_and_resumes() {
    let mut nats = NatsProcess::start().await;
    let (probe, mut events) = probe();
    let bus = |p: &str| {
        NatsPubSub::connect(&nats.url())
            .prefix(p)
            .publish_timeout(Duration::from_secs(2))
    };
    let prefix = prefix("restart");
    let mut a = node(&probe, bus(&prefix)).await;
    let mut b = node(&probe, bus(&prefix)).await;
    let (mut a1, mut b1) = (connect(&a.server).await, connect(&b.server).await);
    join(&mut a1, &mut events, "room").await;
    join(&mut b1, &mut events, "room").await;
    a1.send(&post("room", "before", false)).await;
    own_copy_and_reply(&mut a1, &new_message("before")).await;
    assert_eq!(b1.recv().await, new_message("before"));

    nats.kill();
    eventually("both nodes off the bus", || {
        !a.stats.is_subscribed() && !b.stats.is_subscribed()
    })
    .await;
    a1.send(&post("room", "lost", false)).await;
    let reply = a1.recv_json().await;
    assert_eq!(code_of(&reply), ErrorCode::Unavailable);
    assert!(a1.frames_before_ack().await.is_empty());

    nats.restart().await;
    for n in [&a, &b] {
        eventually("the gap to be counted", || n.stats.gaps() == 1).await;
        within("the node on the bus again", n.stats.subscribed()).await;
    }
    post_until_accepted(&mut a1, "after").await;
    assert_eq!(b1.recv().await, new_message("after"));
    for n in [&mut a, &mut b] {
        let reported = n.bus_events();
        assert!(
            reported
                .iter()
                .any(|(_, e)| matches!(e, BusEvent::Gap { .. })),
            "{reported:?}"
        );
    }
}
