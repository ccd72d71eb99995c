//! The publisher task: takes queued `PUBLISH`es in the order `publish` was called and sends them
//! on one connection, as many as are waiting in one pipeline, one pipeline at a time (so a
//! publisher's publications reach Redis, and every subscriber, in its order).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use redis::aio::ConnectionManager;
use tokio::sync::mpsc;

use super::node::{Node, Outgoing};

/// The most `PUBLISH`es in one pipeline.
const MAX_BATCH: usize = 512;

/// Runs until the node stops or every sender is gone.
pub(super) async fn run(
    node: Arc<Node>,
    mut conn: ConnectionManager,
    mut rx: mpsc::UnboundedReceiver<Outgoing>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        let n = tokio::select! {
            biased;
            _ = node.stop.cancelled() => break,
            n = rx.recv_many(&mut batch, MAX_BATCH) => n,
        };
        if n == 0 {
            break;
        }
        node.queued.fetch_sub(n, Ordering::Relaxed);
        let mut pipe = redis::pipe();
        for out in &batch {
            pipe.cmd("PUBLISH").arg(&out.channel).arg(&out.message);
        }
        let sent = tokio::time::timeout(
            node.options.publish_timeout,
            pipe.query_async::<Vec<usize>>(&mut conn),
        )
        .await;
        let replies = match sent {
            Ok(Ok(replies)) if replies.len() == n => Ok(replies),
            Ok(Ok(replies)) => Err(format!("{} replies to {n} PUBLISH", replies.len())),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!(
                "no reply to PUBLISH within {:?}",
                node.options.publish_timeout
            )),
        };
        for (i, out) in batch.drain(..).enumerate() {
            let reply = match &replies {
                Ok(replies) => Ok(replies[i]),
                Err(why) => Err(why.clone()),
            };
            if out.publication {
                node.stats.count_published(reply.is_ok());
            }
            let _ = out.reply.send(reply);
        }
    }
    // Whatever is still queued fails now rather than waiting forever.
    rx.close();
    while let Ok(out) = rx.try_recv() {
        if out.publication {
            node.stats.count_published(false);
        }
        let _ = (out.reply).send(Err("the node has left the bus (server shut down)".into()));
    }
}
