//! The subscriber task: holds the node's `PSUBSCRIBE <prefix>*` connection (plus `SUBSCRIBE` of
//! the control channel), delivers each bus message to the local subscribers as one frame shared
//! by all of them, and reconnects with backoff, reporting the gap.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use redis::Msg;

use super::super::backend::BusEvent;
use super::super::envelope;
use super::control::Control;
use super::node::Node;

/// Runs until the node stops.
pub(super) async fn run(node: Arc<Node>, client: redis::Client, pattern: String) {
    let mut backoff = node.options.backoff_min;
    // Since when the node has been off the bus: `None` while on it and before the first
    // attempt (a node that could not subscribe at start has a gap too).
    let mut off_since: Option<Instant> = None;
    loop {
        let attempt = tokio::select! {
            biased;
            _ = node.stop.cancelled() => break,
            attempt = connect(&node, &client, &pattern) => attempt,
        };
        let pubsub = match attempt {
            Ok(pubsub) => pubsub,
            Err(why) => {
                if off_since.is_none() {
                    // Reported once per outage, not at every retry.
                    off_since = Some(Instant::now());
                    tracing::warn!(error = %why, "Redis pub/sub: cannot subscribe; retrying");
                    node.events.report(BusEvent::Disconnected { reason: why });
                } else {
                    tracing::debug!(error = %why, "Redis pub/sub: still cannot subscribe");
                }
                let wait = jittered(backoff);
                backoff = (backoff * 2).min(node.options.backoff_max);
                tokio::select! {
                    _ = node.stop.cancelled() => break,
                    _ = tokio::time::sleep(wait) => continue,
                }
            }
        };
        backoff = node.options.backoff_min;
        // The gap is counted and reported before the node says it is on the bus again.
        if let Some(since) = off_since.take() {
            let missed_ms = since.elapsed().as_millis() as u64;
            node.stats.count_gap();
            tracing::warn!(missed_ms, "Redis pub/sub: back on the bus after a gap");
            node.events.report(BusEvent::Gap { missed_ms });
        }
        node.stats.set_subscribed(true);
        // A connection that died without a word (no RST: a partition, a host gone) is found by
        // a PING every few seconds; the messages keep flowing meanwhile.
        let (mut sink, mut messages) = pubsub.split();
        let (every, timeout) = (node.options.health_every, node.options.publish_timeout);
        let health = async move {
            loop {
                tokio::time::sleep(every).await;
                match tokio::time::timeout(timeout, sink.ping::<redis::Value>()).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => return format!("PING failed: {e}"),
                    Err(_) => return format!("no answer to PING within {timeout:?}"),
                }
            }
        };
        tokio::pin!(health);
        let reason = loop {
            tokio::select! {
                biased;
                _ = node.stop.cancelled() => break None,
                msg = messages.next() => match msg {
                    Some(msg) => on_message(&node, &msg),
                    None => break Some("the subscriber connection was closed".to_owned()),
                },
                why = &mut health => break Some(why),
            }
        };
        drop(messages);
        node.stats.set_subscribed(false);
        let Some(reason) = reason else {
            break;
        };
        off_since = Some(Instant::now());
        tracing::warn!("Redis pub/sub: {reason}; reconnecting");
        node.events.report(BusEvent::Disconnected { reason });
    }
    node.stats.set_subscribed(false);
}

/// One subscriber connection, subscribed.
async fn connect(
    node: &Node,
    client: &redis::Client,
    pattern: &str,
) -> Result<redis::aio::PubSub, String> {
    let subscribe = async {
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(&node.ctl_channel).await?;
        pubsub.psubscribe(pattern).await?;
        Ok::<_, redis::RedisError>(pubsub)
    };
    match tokio::time::timeout(node.options.publish_timeout, subscribe).await {
        Ok(Ok(pubsub)) => Ok(pubsub),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("no answer from Redis".to_owned()),
    }
}

/// Between 75% and 100% of `wait`, so that nodes cut off together do not retry together.
fn jittered(wait: Duration) -> Duration {
    let r = (uuid::Uuid::new_v4().as_u128() % 1000) as u32;
    wait.mul_f64(0.75 + f64::from(r) / 4000.0)
}

/// One message from Redis.
fn on_message(node: &Node, msg: &Msg) {
    let channel = msg.get_channel_name();
    if channel == node.ctl_channel {
        // Control messages are read from the channel subscription; the same message also comes
        // through the pattern.
        if !msg.from_pattern() {
            match Control::decode(msg.get_payload_bytes()) {
                Ok(control) => node.on_control(control),
                Err(reason) => malformed(node, channel, reason),
            }
        }
        return;
    }
    match envelope::decode(msg.get_payload_bytes()) {
        Ok(delivery) => {
            node.stats.count_received();
            node.local
                .deliver(&delivery.topic, &delivery.frame, delivery.exclude);
        }
        Err(reason) => malformed(node, channel, reason),
    }
}

fn malformed(node: &Node, channel: &str, reason: String) {
    node.stats.count_malformed();
    tracing::debug!(
        channel,
        reason,
        "Redis pub/sub: skipped a malformed bus message"
    );
    node.events.report(BusEvent::Malformed {
        channel: channel.to_owned(),
        reason,
    });
}
