//! What a node's tasks share: its options, the local subscribers, the queue to the publisher,
//! the cluster counts waiting for answers, and the control messages' handling.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::aio::ConnectionManager;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::super::backend::{BusEvents, ClusterCount, PubSub, PubSubError};
use super::super::bus_stats::BusStats;
use super::super::memory::MemoryPubSub;
use super::control::Control;

/// The options of a [`RedisPubSub`].
#[derive(Debug, Clone)]
pub(super) struct Options {
    pub prefix: String,
    pub count_timeout: Duration,
    pub publish_timeout: Duration,
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// How often the subscriber connection is checked with a PING.
    pub health_every: Duration,
    pub max_queued: usize,
}

/// A [`PubSubError::Backend`] with this text.
pub(super) fn backend(why: impl fmt::Display) -> PubSubError {
    PubSubError::Backend(format!("Redis: {why}"))
}

/// One queued `PUBLISH`.
pub(super) struct Outgoing {
    pub channel: String,
    pub message: Vec<u8>,
    /// A publication (counted in [`BusStats`]), not a control message.
    pub publication: bool,
    /// Gets Redis's reply (subscribers of the channel that got it), or why it failed.
    pub reply: oneshot::Sender<Result<usize, String>>,
}

/// What the node's tasks share.
pub(super) struct Node {
    pub options: Options,
    /// This node's id on the control channel.
    pub id: String,
    /// `<prefix>$wskit:ctl`.
    pub ctl_channel: String,
    pub local: Arc<MemoryPubSub>,
    pub stats: BusStats,
    pub events: Arc<dyn BusEvents>,
    pub stop: CancellationToken,
    /// To the publisher task, in publish order.
    pub outgoing: mpsc::UnboundedSender<Outgoing>,
    /// Publications in `outgoing` not yet taken by the publisher task.
    pub queued: AtomicUsize,
    /// The publisher connection, shared for commands whose order does not matter (NUMSUB).
    pub conn: ConnectionManager,
    /// Cluster counts waiting for answers, by request id.
    pub counts: Mutex<HashMap<String, mpsc::UnboundedSender<(String, usize)>>>,
}

impl Node {
    /// Queues one publication's `PUBLISH`; the receiver gets Redis's reply (how many
    /// subscribers of the channel got it). A refusal counts as a failed publication.
    pub(super) fn publish(
        &self,
        channel: String,
        message: Vec<u8>,
    ) -> Result<oneshot::Receiver<Result<usize, String>>, PubSubError> {
        self.send(channel, message, true).inspect_err(|_| {
            self.stats.count_published(false);
        })
    }

    /// Queues one control message's `PUBLISH` (not counted in [`BusStats`]).
    fn send_control(
        &self,
        message: Vec<u8>,
    ) -> Result<oneshot::Receiver<Result<usize, String>>, PubSubError> {
        self.send(self.ctl_channel.clone(), message, false)
    }

    fn send(
        &self,
        channel: String,
        message: Vec<u8>,
        publication: bool,
    ) -> Result<oneshot::Receiver<Result<usize, String>>, PubSubError> {
        if self.stop.is_cancelled() {
            return Err(backend("the node has left the bus (server shut down)"));
        }
        if self.queued.load(Ordering::Relaxed) >= self.options.max_queued {
            return Err(backend(format!(
                "{} publications already wait for Redis",
                self.options.max_queued
            )));
        }
        let (reply, rx) = oneshot::channel();
        self.queued.fetch_add(1, Ordering::Relaxed);
        let out = Outgoing {
            channel,
            message,
            publication,
            reply,
        };
        if self.outgoing.send(out).is_err() {
            self.queued.fetch_sub(1, Ordering::Relaxed);
            return Err(backend("the publisher stopped"));
        }
        Ok(rx)
    }

    /// Answers a control message from the bus.
    pub(super) fn on_control(&self, control: Control) {
        match control {
            Control::CountRequest { id, from, t } if from != self.id => {
                let n = self.local.subscriber_count(&t);
                let reply = Control::CountReply {
                    id,
                    from: self.id.clone(),
                    n,
                };
                // Nobody waits for this reply's acknowledgement.
                let _ = self.send_control(reply.encode());
            }
            Control::CountRequest { .. } => {}
            Control::CountReply { id, from, n } => {
                let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(waiting) = counts.get(&id) {
                    let _ = waiting.send((from, n));
                }
            }
        }
    }

    /// The subscribers of `topic` on every wskit node that answers within the count timeout.
    pub(super) async fn cluster_count(&self, topic: &str) -> Result<ClusterCount, PubSubError> {
        if !self.stats.is_subscribed() {
            return Err(backend("this node is not on the bus (reconnecting)"));
        }
        let mut conn = self.conn.clone();
        let mut numsub = redis::cmd("PUBSUB");
        numsub.arg("NUMSUB").arg(&self.ctl_channel);
        let numsub = numsub.query_async::<(String, usize)>(&mut conn);
        let (_, nodes) = tokio::time::timeout(self.options.publish_timeout, numsub)
            .await
            .map_err(|_| backend("no answer to PUBSUB NUMSUB"))?
            .map_err(backend)?;
        let id = uuid::Uuid::new_v4().to_string();
        let (tx, mut answers) = mpsc::unbounded_channel();
        self.counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone(), tx);
        let forget = Forget {
            node: self,
            id: &id,
        };
        let ask = Control::CountRequest {
            id: id.clone(),
            from: self.id.clone(),
            t: topic.to_owned(),
        };
        let sent = self.send_control(ask.encode())?;
        let mut subscribers = 0;
        let mut answered = HashSet::new();
        let others = nodes.saturating_sub(1);
        let collect = async {
            match sent.await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(backend(e)),
                Err(_) => return Err(backend("the publisher stopped")),
            }
            while answered.len() < others {
                let Some((from, n)) = answers.recv().await else {
                    break;
                };
                if answered.insert(from) {
                    subscribers += n;
                }
            }
            Ok(())
        };
        // A timeout is an answer too: the nodes that answered, and how many did not.
        if let Ok(Err(e)) = tokio::time::timeout(self.options.count_timeout, collect).await {
            return Err(e);
        }
        drop(forget);
        // This node's own count is taken last, as the others took theirs after the request.
        let nodes_answered = answered.len() + 1;
        Ok(ClusterCount {
            subscribers: subscribers + self.local.subscriber_count(topic),
            nodes_answered,
            nodes_expected: nodes.max(nodes_answered),
        })
    }
}

/// Removes a cluster count's entry when it ends (or its future is dropped).
struct Forget<'a> {
    node: &'a Node,
    id: &'a str,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        let mut counts = self.node.counts.lock().unwrap_or_else(|e| e.into_inner());
        counts.remove(self.id);
    }
}
