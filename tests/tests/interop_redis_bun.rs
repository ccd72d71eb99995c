//! wskit and ws-kit nodes on one Redis bus (PROTOCOL.md section 6, "Across servers"): a ws-kit
//! 0.10 server on Bun (`interop/redis_server.ts`, with the thin Redis adapter of
//! `interop/redis_pubsub.ts` on ws-kit's bus format) and a wskit server with `RedisPubSub`, the
//! same prefix. A publication on either reaches the clients of both; exclude-self holds across
//! them.
//!
//! Needs Bun and the npm packages in `interop/node_modules` (`npm ci` in `interop/`) and Redis on
//! 127.0.0.1:6379; `.ci/run` provides all three.

use std::path::PathBuf;

use wskit::Error;
use wskit::pubsub::RedisPubSub;
use wskit::server::{Context, PublishOptions, RpcContext, Server, http};
use wskit_tests::redis_server::{shared_redis_url, unique_prefix};
use wskit_tests::*;

use crate::interop_bun::{BunServer, start_bun_script};

wskit::protocol! {
    /// The protocol of `interop/redis_server.ts`.
    protocol Rooms {
        rpc Join(room: String) -> Joined { room: String }
        message Say { room: String, text: String, exclude_self: bool }
        event NewMessage { room: String, text: String, from: String }
    }
}

/// The wskit node: the same handlers as the ws-kit one.
struct RoomsApp;

impl RoomsHandler for RoomsApp {
    type Data = String;

    async fn join(&self, ctx: RpcContext<String, Join>, req: Join) -> Result<Joined, Error> {
        ctx.subscribe(&req.room)?;
        Ok(Joined { room: req.room })
    }

    async fn say(&self, ctx: Context<String>, msg: Say) -> Result<(), Error> {
        let from = ctx.data().clone();
        let event = NewMessage {
            room: msg.room.clone(),
            text: msg.text,
            from,
        };
        let options = PublishOptions {
            exclude_self: msg.exclude_self,
            ..PublishOptions::default()
        };
        ctx.publish(&msg.room, &event, options).await?;
        Ok(())
    }
}

/// The ws-kit node on the bus (`interop/redis_server.ts`), killed when dropped.
async fn start_bun_node(redis_url: &str, prefix: &str) -> BunServer {
    let interop = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../interop");
    assert!(
        interop.join("node_modules/redis").exists(),
        "the redis npm package is missing under {}: run `npm ci` in interop/ (as .ci/run does)",
        interop.display()
    );
    start_bun_script(
        "redis_server.ts",
        &[("REDIS_URL", redis_url), ("WSKIT_PREFIX", prefix)],
    )
    .await
}

fn name_of(req: &http::Request<()>) -> String {
    req.uri()
        .query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("name=")))
        .unwrap_or("anon")
        .to_owned()
}

/// Joins `room` and waits for the reply.
async fn join(c: &mut Client, room: &str) {
    c.send(&format!(
        r#"{{"type":"JOIN","meta":{{"correlationId":"j"}},"payload":{{"room":"{room}"}}}}"#
    ))
    .await;
    let reply = c.recv().await;
    assert!(reply.starts_with(r#"{"type":"JOINED""#), "{reply}");
}

fn say(room: &str, text: &str, exclude_self: bool) -> String {
    format!(
        r#"{{"type":"SAY","payload":{{"room":"{room}","text":"{text}","excludeSelf":{exclude_self}}}}}"#
    )
}

/// The next frame is this NEW_MESSAGE (compared as JSON: each side writes its own key order).
async fn expect_message(c: &mut Client, text: &str, from: &str) {
    let raw = c.recv().await;
    let frame: serde_json::Value =
        serde_json::from_str(&raw).unwrap_or_else(|e| panic!("not JSON ({e}): {raw:?}"));
    let want = serde_json::json!({
        "type": "NEW_MESSAGE",
        "payload": {"room": "room", "text": text, "from": from},
    });
    assert_eq!(frame, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Bun (npm ci in interop/) and Redis on 127.0.0.1:6379 (.ci/run provides both)"]
async fn wskit_and_ws_kit_nodes_share_one_redis_bus() {
    let url = shared_redis_url();
    let prefix = unique_prefix("interop");
    let bun = start_bun_node(&url, &prefix).await;
    let bus = RedisPubSub::connect(&url).prefix(&prefix);
    let stats = bus.stats();
    let builder = Server::<String>::builder()
        .service(Rooms::server(RoomsApp))
        .auth(|req: &http::Request<()>| std::future::ready(Ok(name_of(req))))
        .pubsub(bus);
    let wskit = start(builder).await;
    within("the wskit node on the bus", stats.subscribed()).await;

    let mut w1 = connect_to(wskit.url("/?name=w1")).await;
    let mut w2 = connect_to(wskit.url("/?name=w2")).await;
    let mut b1 = connect_to(format!("ws://{}/ws?name=b1", bun.addr)).await;
    let mut b2 = connect_to(format!("ws://{}/ws?name=b2", bun.addr)).await;
    for c in [&mut w1, &mut w2, &mut b1, &mut b2] {
        join(c, "room").await;
    }

    // A wskit client publishes: every client of both nodes gets it, the publisher included.
    w1.send(&say("room", "from wskit", false)).await;
    for c in [&mut w1, &mut w2, &mut b1, &mut b2] {
        expect_message(c, "from wskit", "w1").await;
    }
    // A ws-kit client publishes: the same.
    b1.send(&say("room", "from ws-kit", false)).await;
    for c in [&mut w1, &mut w2, &mut b1, &mut b2] {
        expect_message(c, "from ws-kit", "b1").await;
    }
    // Exclude-self from each side, then a last publication: each publisher's next frame is
    // that last one (frames come in bus order), so it did not get its own.
    w1.send(&say("room", "quiet wskit", true)).await;
    for c in [&mut w2, &mut b1, &mut b2] {
        expect_message(c, "quiet wskit", "w1").await;
    }
    b1.send(&say("room", "quiet ws-kit", true)).await;
    for c in [&mut w1, &mut w2, &mut b2] {
        expect_message(c, "quiet ws-kit", "b1").await;
    }
    w2.send(&say("room", "last", false)).await;
    for c in [&mut w1, &mut w2, &mut b1, &mut b2] {
        expect_message(c, "last", "w2").await;
    }
    assert_eq!(stats.malformed(), 0);
    assert_eq!(stats.received(), 5);

    // A cluster-wide count: a control message without a topic, which the ws-kit node ignores
    // (its clients get nothing; the next frame they see is the next publication).
    let count = wskit.handle.cluster_subscriber_count("room").await.unwrap();
    assert_eq!((count.subscribers, count.nodes_answered), (2, 1));
    assert!(
        count.is_complete(),
        "only wskit nodes are on the control channel"
    );
    w1.send(&say("room", "after the count", false)).await;
    for c in [&mut w1, &mut w2, &mut b1, &mut b2] {
        expect_message(c, "after the count", "w1").await;
    }
}
