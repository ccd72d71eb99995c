//! [`BusStats`]: a cluster node's counters and whether it is on the bus (Redis, NATS).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::watch;

/// A cluster node's counters and bus state. Cheap to clone; obtained with
/// `RedisPubSub::stats` or `NatsPubSub::stats` (features `redis`, `nats`).
///
/// ```
/// # #[cfg(feature = "redis")] {
/// let stats = wskit::pubsub::RedisPubSub::connect("redis://127.0.0.1:6379").stats();
/// assert_eq!((stats.gaps(), stats.malformed(), stats.published()), (0, 0, 0));
/// assert!(!stats.is_subscribed()); // not started
/// # }
/// ```
#[derive(Clone)]
pub struct BusStats(Arc<Counters>);

struct Counters {
    published: AtomicU64,
    publish_errors: AtomicU64,
    received: AtomicU64,
    malformed: AtomicU64,
    gaps: AtomicU64,
    disconnects: AtomicU64,
    subscribed: watch::Sender<bool>,
}

impl fmt::Debug for BusStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BusStats")
            .field("published", &self.published())
            .field("publish_errors", &self.publish_errors())
            .field("received", &self.received())
            .field("malformed", &self.malformed())
            .field("gaps", &self.gaps())
            .field("disconnects", &self.disconnects())
            .field("subscribed", &self.is_subscribed())
            .finish()
    }
}

impl BusStats {
    pub(crate) fn new() -> Self {
        BusStats(Arc::new(Counters {
            published: AtomicU64::new(0),
            publish_errors: AtomicU64::new(0),
            received: AtomicU64::new(0),
            malformed: AtomicU64::new(0),
            gaps: AtomicU64::new(0),
            disconnects: AtomicU64::new(0),
            subscribed: watch::Sender::new(false),
        }))
    }

    /// Publications the bus acknowledged (control messages, such as a cluster count's, are not
    /// counted).
    pub fn published(&self) -> u64 {
        self.0.published.load(Ordering::Relaxed)
    }

    /// Publications that failed: refused at once (the node stopped, too many waiting for the
    /// bus) or not acknowledged (bus down, timeout). One that timed out may still have reached
    /// the bus.
    pub fn publish_errors(&self) -> u64 {
        self.0.publish_errors.load(Ordering::Relaxed)
    }

    /// Publications received from the bus and delivered to this node's subscribers (each
    /// turned into one frame for all of them).
    pub fn received(&self) -> u64 {
        self.0.received.load(Ordering::Relaxed)
    }

    /// Bus messages skipped because they were not well-formed envelopes.
    pub fn malformed(&self) -> u64 {
        self.0.malformed.load(Ordering::Relaxed)
    }

    /// Times the node came back on the bus after being off it (publications in between lost).
    pub fn gaps(&self) -> u64 {
        self.0.gaps.load(Ordering::Relaxed)
    }

    /// Times the subscriber connection was lost.
    pub fn disconnects(&self) -> u64 {
        self.0.disconnects.load(Ordering::Relaxed)
    }

    /// Whether the node is subscribed on the bus now.
    pub fn is_subscribed(&self) -> bool {
        *self.0.subscribed.borrow()
    }

    /// Waits until the node is subscribed on the bus (publications from then on reach it).
    pub async fn subscribed(&self) {
        let mut rx = self.0.subscribed.subscribe();
        let _ = rx.wait_for(|up| *up).await;
    }

    pub(crate) fn count_published(&self, ok: bool) {
        let counter = if ok {
            &self.0.published
        } else {
            &self.0.publish_errors
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_received(&self) {
        self.0.received.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_malformed(&self) {
        self.0.malformed.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_gap(&self) {
        self.0.gaps.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn set_subscribed(&self, up: bool) {
        if !up && *self.0.subscribed.borrow() {
            self.0.disconnects.fetch_add(1, Ordering::Relaxed);
        }
        self.0.subscribed.send_replace(up);
    }
}
