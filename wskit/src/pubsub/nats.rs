//! The NATS backend (feature `nats`): many wskit servers as one through NATS core pub/sub.
//!
//! The same design as the Redis backend, on NATS: each publication is the envelope of
//! PROTOCOL.md section 6 (`{"topic","payload","type","meta"}`) published on the subject
//! `<prefix><topic>`; each node subscribes to `<prefix>>` and delivers what arrives (its own
//! publications included: NATS echoes them) to its local subscribers. It is **not** a bus
//! ws-kit nodes share (ws-kit has no NATS adapter); use [`RedisPubSub`](super::RedisPubSub) for
//! a mixed cluster.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use async_nats::connection::State;
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::backend::{
    BusEvent, BusEvents, ClientId, ClusterCount, Matched, PubSub, PubSubError, Publication,
    Subscriber,
};
use super::bus_stats::BusStats;
use super::envelope;
use super::memory::MemoryPubSub;

/// The most publications sent before one flush.
const MAX_BATCH: usize = 512;

/// The NATS pub/sub backend: several wskit servers act as one through a NATS server (core
/// pub/sub, no JetStream). **Not compatible with ws-kit** (which has no NATS adapter): a cluster
/// that mixes wskit and ws-kit nodes uses [`RedisPubSub`](super::RedisPubSub).
///
/// Semantics as the Redis backend's: delivery only from the bus (NATS echoes a node's own
/// publications to it), so every subscriber sees one order per topic and a publisher's
/// publications in call order; `publish` returns once the NATS server has them (a flush) with
/// [`Matched::Unknown`] (NATS does not say how many received them); while the node is
/// disconnected `publish` fails at once with [`PubSubError::Backend`] (and is reported to the
/// error hooks) rather than being buffered for later; the client reconnects by itself and
/// subscribes again, and the node reports the gap ([`BusEvent::Gap`], [`BusStats::gaps`]) as it
/// does for messages the client dropped because this node fell behind (slow consumer). NATS
/// down at start: the server builds and the client keeps trying. The cluster-wide subscriber
/// count is not implemented for NATS (the trait's default: this node's count).
///
/// Subjects: `<prefix><topic>`, the prefix ending in `.` (one is added); a topic's `.` separate
/// NATS tokens, so a topic with an empty token (`a..b`, `a.`) cannot be published.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use wskit::pubsub::NatsPubSub;
/// let bus = NatsPubSub::connect("nats://127.0.0.1:4222").prefix("app");
/// let stats = bus.stats();
/// let server = wskit::server::Server::<()>::builder().pubsub(bus).build()?;
/// stats.subscribed().await;
/// # let _ = server; Ok(())
/// # }
/// ```
pub struct NatsPubSub {
    url: String,
    prefix: String,
    publish_timeout: Duration,
    max_queued: usize,
    local: Arc<MemoryPubSub>,
    stats: BusStats,
    outgoing: OnceLock<mpsc::UnboundedSender<Outgoing>>,
    queued: Arc<AtomicUsize>,
    stop: CancellationToken,
}

impl fmt::Debug for NatsPubSub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NatsPubSub")
            .field("url", &self.url)
            .field("prefix", &self.prefix)
            .field("started", &self.outgoing.get().is_some())
            .finish_non_exhaustive()
    }
}

/// One queued publication.
struct Outgoing {
    subject: String,
    message: Vec<u8>,
    reply: oneshot::Sender<Result<(), String>>,
}

impl NatsPubSub {
    /// A backend for the NATS server at `url` (`nats://host:port`); nothing is connected until
    /// the server is built.
    pub fn connect(url: &str) -> Self {
        NatsPubSub {
            url: url.to_owned(),
            prefix: "wskit.".to_owned(),
            publish_timeout: Duration::from_secs(5),
            max_queued: 100_000,
            local: Arc::new(MemoryPubSub::new()),
            stats: BusStats::new(),
            outgoing: OnceLock::new(),
            queued: Arc::new(AtomicUsize::new(0)),
            stop: CancellationToken::new(),
        }
    }

    /// The subject prefix (default `wskit.`; a `.` is added when missing): nodes of one
    /// application share it.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        let mut prefix = prefix.into();
        if !prefix.is_empty() && !prefix.ends_with('.') {
            prefix.push('.');
        }
        self.prefix = prefix;
        self
    }

    /// How long `publish` waits for the NATS server (default 5 s).
    pub fn publish_timeout(mut self, timeout: Duration) -> Self {
        self.publish_timeout = timeout;
        self
    }

    /// The node's counters and bus state (a cheap handle that stays valid after the backend
    /// moved into the server).
    pub fn stats(&self) -> BusStats {
        self.stats.clone()
    }
}

impl Drop for NatsPubSub {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

fn backend(why: impl fmt::Display) -> PubSubError {
    PubSubError::Backend(format!("NATS: {why}"))
}

impl PubSub for NatsPubSub {
    fn subscribe(&self, topic: &str, subscriber: Subscriber) -> Result<(), PubSubError> {
        self.local.subscribe(topic, subscriber)
    }

    fn unsubscribe(&self, topic: &str, client_id: ClientId) -> bool {
        self.local.unsubscribe(topic, client_id)
    }

    /// Not supported on NATS: an error rather than this node's count, which would claim to be
    /// the whole cluster's ([`subscriber_count`](PubSub::subscriber_count) is this node's).
    fn cluster_subscriber_count(
        &self,
        _topic: &str,
    ) -> BoxFuture<'_, Result<ClusterCount, PubSubError>> {
        let why =
            backend("no cluster-wide subscriber count on NATS (subscriber_count is this node's)");
        Box::pin(std::future::ready(Err(why)))
    }

    fn publish(&self, publication: Publication) -> BoxFuture<'_, Result<Matched, PubSubError>> {
        // Queued now, in call order.
        let queued = (|| {
            let outgoing = self.outgoing.get().ok_or_else(|| {
                backend("the NATS backend is not started (build the server first)")
            })?;
            if self.stop.is_cancelled() {
                return Err(backend("the node has left the bus (server shut down)"));
            }
            if self.queued.load(Ordering::Relaxed) >= self.max_queued {
                return Err(backend(format!(
                    "{} publications already wait for NATS",
                    self.max_queued
                )));
            }
            let message = envelope::encode(&publication)?;
            let (reply, rx) = oneshot::channel();
            let out = Outgoing {
                subject: format!("{}{}", self.prefix, publication.topic),
                message,
                reply,
            };
            self.queued.fetch_add(1, Ordering::Relaxed);
            outgoing
                .send(out)
                .map_err(|_| backend("the publisher stopped"))?;
            Ok(rx)
        })();
        if let Err(PubSubError::Backend(_)) = &queued {
            self.stats.count_published(false);
        }
        Box::pin(async move {
            match queued?.await {
                Ok(Ok(())) => Ok(Matched::Unknown),
                Ok(Err(why)) => Err(backend(why)),
                Err(_) => Err(backend("the publisher stopped")),
            }
        })
    }

    fn subscriber_count(&self, topic: &str) -> usize {
        self.local.subscriber_count(topic)
    }

    fn start(&self, events: Arc<dyn BusEvents>) -> Result<(), PubSubError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(backend(
                "the backend connects when the server is built: build it inside a tokio runtime",
            ));
        }
        let (tx, rx) = mpsc::unbounded_channel();
        if self.outgoing.set(tx).is_err() {
            return Err(backend(
                "this backend is already started (one server per backend)",
            ));
        }
        let node = Node {
            url: self.url.clone(),
            prefix: self.prefix.clone(),
            publish_timeout: self.publish_timeout,
            local: self.local.clone(),
            stats: self.stats.clone(),
            events,
            queued: self.queued.clone(),
            stop: self.stop.clone(),
        };
        tokio::spawn(node.run(rx));
        Ok(())
    }

    fn stop(&self) {
        self.stop.cancel();
    }
}

/// What the node's task holds.
struct Node {
    url: String,
    prefix: String,
    publish_timeout: Duration,
    local: Arc<MemoryPubSub>,
    stats: BusStats,
    events: Arc<dyn BusEvents>,
    queued: Arc<AtomicUsize>,
    stop: CancellationToken,
}

impl Node {
    /// Connects (retrying in the background), subscribes, then publishes, delivers and reports
    /// until the node stops.
    async fn run(self, mut outgoing: mpsc::UnboundedReceiver<Outgoing>) {
        let (event_tx, mut nats_events) = mpsc::unbounded_channel();
        let options = async_nats::ConnectOptions::new()
            .retry_on_initial_connect()
            .connection_timeout(self.publish_timeout)
            .event_callback(move |event| {
                let tx = event_tx.clone();
                async move {
                    let _ = tx.send(event);
                }
            });
        let connected = tokio::select! {
            _ = self.stop.cancelled() => return,
            c = options.connect(self.url.as_str()) => c,
        };
        let client = match connected {
            Ok(client) => client,
            Err(e) => {
                self.events.report(BusEvent::Disconnected {
                    reason: format!("cannot connect to NATS: {e}"),
                });
                return;
            }
        };
        let mut messages = match client.subscribe(format!("{}>", self.prefix)).await {
            Ok(sub) => sub,
            Err(e) => {
                self.events.report(BusEvent::Disconnected {
                    reason: format!("cannot subscribe: {e}"),
                });
                return;
            }
        };
        // Since when the node has been off the bus (`None` while on it).
        let mut off_since = Some(Instant::now());
        let mut first = true;
        if client.connection_state() == State::Connected && client.flush().await.is_ok() {
            off_since = None;
            self.stats.set_subscribed(true);
        }
        let mut batch = Vec::with_capacity(MAX_BATCH);
        loop {
            tokio::select! {
                biased;
                _ = self.stop.cancelled() => break,
                event = nats_events.recv() => match event {
                    Some(async_nats::Event::Disconnected) => {
                        if off_since.is_none() {
                            off_since = Some(Instant::now());
                            self.stats.set_subscribed(false);
                            self.events.report(BusEvent::Disconnected {
                                reason: "disconnected from NATS".to_owned(),
                            });
                        }
                    }
                    Some(async_nats::Event::Connected) => {
                        // The client subscribes again on reconnection; a flush makes sure the
                        // server has the subscription before the node says it is on the bus.
                        let _ = tokio::time::timeout(self.publish_timeout, client.flush()).await;
                        if let Some(since) = off_since.take() {
                            if !first {
                                let missed_ms = since.elapsed().as_millis() as u64;
                                self.stats.count_gap();
                                self.events.report(BusEvent::Gap { missed_ms });
                            }
                            self.stats.set_subscribed(true);
                        }
                        first = false;
                    }
                    Some(async_nats::Event::SlowConsumer(_)) => {
                        // The client dropped messages for this node: a gap too.
                        self.stats.count_gap();
                        self.events.report(BusEvent::Gap { missed_ms: 0 });
                    }
                    Some(_) => {}
                    None => break,
                },
                message = messages.next() => match message {
                    Some(message) => match envelope::decode(&message.payload) {
                        Ok(delivery) => {
                            self.stats.count_received();
                            self.local.deliver(&delivery.topic, &delivery.frame, delivery.exclude);
                        }
                        Err(reason) => {
                            self.stats.count_malformed();
                            self.events.report(BusEvent::Malformed {
                                channel: message.subject.to_string(),
                                reason,
                            });
                        }
                    },
                    None => break,
                },
                n = outgoing.recv_many(&mut batch, MAX_BATCH) => {
                    if n == 0 {
                        break;
                    }
                    first = false;
                    self.queued.fetch_sub(n, Ordering::Relaxed);
                    self.publish(&client, &mut batch).await;
                }
            }
        }
        self.stats.set_subscribed(false);
        let _ = messages.unsubscribe().await;
        outgoing.close();
        while let Ok(out) = outgoing.try_recv() {
            let _ = out
                .reply
                .send(Err("the node has left the bus (server shut down)".into()));
        }
    }

    /// Publishes a batch in order and flushes once; while disconnected the batch fails at once
    /// (the client would otherwise buffer it and send it after reconnecting, out of time).
    async fn publish(&self, client: &async_nats::Client, batch: &mut Vec<Outgoing>) {
        let sent = async {
            if client.connection_state() != State::Connected {
                return Err("not connected to NATS".to_owned());
            }
            for out in batch.iter() {
                client
                    .publish(out.subject.clone(), out.message.clone().into())
                    .await
                    .map_err(|e| e.to_string())?;
            }
            client.flush().await.map_err(|e| e.to_string())
        };
        let result = match tokio::time::timeout(self.publish_timeout, sent).await {
            Ok(result) => result,
            Err(_) => Err(format!("no answer within {:?}", self.publish_timeout)),
        };
        for out in batch.drain(..) {
            self.stats.count_published(result.is_ok());
            let _ = out.reply.send(result.clone());
        }
    }
}
