//! The server-wide state that does not depend on the connection data type: limits, the pub/sub
//! backend, the open connections, the requests in flight, the error hooks and shutdown.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::io::ws;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::auth::OriginPolicy;
use super::close::Closer;
use super::limits::Limits;
use super::report::{self, ErrorEvent, ErrorHook};
use crate::pubsub::{BusEvent, ClientId, Matched, PubSub, PubSubError, Publication};
use wskit_core::wire::close;

/// The server state that does not depend on the connection data type.
pub(crate) struct Runtime {
    pub limits: Limits,
    pub ws_config: Arc<ws::Config>,
    pub pubsub: Arc<dyn PubSub>,
    pub subprotocols: Vec<String>,
    pub origins: OriginPolicy,
    /// The error hooks (`ServerBuilder::on_error`).
    pub errors: Vec<ErrorHook>,
    pub(crate) connections: Mutex<HashMap<ClientId, Arc<dyn Closer>>>,
    /// Connections open or being upgraded (counted against `max_connections`).
    pub(crate) reserved: AtomicUsize,
    /// Sockets whose upgrade request is being read, oldest first (at most
    /// `max_pending_upgrades` live ones; finished ones are skipped and pruned).
    pub(crate) upgrading: Mutex<PendingUpgrades>,
    pub(crate) in_flight: AtomicUsize,
    /// Bytes held in incomplete inbound messages, all connections together (bounded by
    /// `limits.max_partial_message_bytes`).
    pub(crate) partial_bytes: AtomicUsize,
    /// A shutdown has started (set just before `shutdown` is cancelled). It waits for
    /// `in_flight` to reach 0: only then is `idle` notified.
    pub(crate) draining: AtomicBool,
    pub(crate) idle: Notify,
    /// Stop accepting.
    pub shutdown: CancellationToken,
    pub tracker: TaskTracker,
}

impl Runtime {
    /// Reports an error to the error hooks.
    pub(crate) fn report(&self, event: ErrorEvent) {
        report::report(&self.errors, event);
    }

    pub(crate) fn register(&self, id: ClientId, conn: Arc<dyn Closer>) {
        self.connections
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, conn);
    }

    pub(crate) fn unregister(&self, id: ClientId) {
        self.connections
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
    }

    /// Whether a shutdown has started: new requests are refused. An atomic, read for every
    /// request, rather than `shutdown.is_cancelled()`, which takes a lock.
    pub(crate) fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    pub(crate) fn request_started(&self) {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn request_done(&self) {
        // SeqCst with the shutdown's store of `draining` and load of `in_flight`: one of the
        // two sees the other.
        if self.in_flight.fetch_sub(1, Ordering::SeqCst) == 1
            && self.draining.load(Ordering::SeqCst)
        {
            self.idle.notify_waiters();
        }
    }

    /// Takes a connection slot, or `None` at the limit.
    pub(crate) fn reserve(self: &Arc<Self>) -> Option<ConnSlot> {
        let before = self.reserved.fetch_add(1, Ordering::AcqRel);
        if before >= self.limits.max_connections {
            self.reserved.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(ConnSlot { rt: self.clone() })
    }

    /// A place among the sockets whose upgrade request is being read. When
    /// `max_pending_upgrades` are, the oldest of them is evicted (its [`UpgradeSlot::evicted`]
    /// fires and it is answered 503): sockets that hold a place without sending a request are
    /// pushed out by new ones, instead of keeping every new client out.
    pub(crate) fn reserve_upgrade(self: &Arc<Self>) -> UpgradeSlot {
        let entry = Arc::new(PendingEntry::default());
        let mut pending = self.upgrading.lock().unwrap_or_else(|e| e.into_inner());
        pending.live += 1;
        pending.queue.push_back(entry.clone());
        while pending.live > self.limits.max_pending_upgrades.max(1) {
            let Some(oldest) = pending.queue.pop_front() else {
                break;
            };
            if !oldest.done.load(Ordering::Acquire) && !oldest.evict.is_cancelled() {
                oldest.evict.cancel();
                pending.live -= 1;
            }
        }
        // Entries that finished behind the front: prune now and then.
        if pending.queue.len() > 2 * self.limits.max_pending_upgrades.max(16) {
            pending
                .queue
                .retain(|e| !e.done.load(Ordering::Acquire) && !e.evict.is_cancelled());
        }
        UpgradeSlot {
            rt: self.clone(),
            entry,
        }
    }

    pub(crate) fn open_connections(&self) -> usize {
        self.connections
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    /// Graceful shutdown: stop accepting, wait for handlers in flight up to the limit, close
    /// every socket with 1001, wait for the connections to end.
    pub(crate) async fn shutdown(&self) {
        self.draining.store(true, Ordering::SeqCst);
        self.shutdown.cancel();
        let wait_idle = async {
            loop {
                let idle = self.idle.notified();
                if self.in_flight.load(Ordering::SeqCst) == 0 {
                    return;
                }
                idle.await;
            }
        };
        if tokio::time::timeout(self.limits.shutdown_timeout, wait_idle)
            .await
            .is_err()
        {
            tracing::warn!("shutdown: handlers still in flight after the timeout; cancelling them");
        }
        let conns: Vec<Arc<dyn Closer>> = self
            .connections
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        for conn in conns {
            conn.close_with(close::GOING_AWAY, close::SHUTDOWN_REASON);
        }
        self.tracker.close();
        let grace = self.limits.close_timeout * 2 + Duration::from_millis(100);
        let _ = tokio::time::timeout(grace, self.tracker.wait()).await;
        // Off the bus last: handlers that were finishing could still publish.
        self.pubsub.stop();
    }

    /// Publishes through the backend: the backend takes the publication now (a cluster backend
    /// queues it, so publications go out in call order); the future waits for the result. A
    /// backend failure is reported to the error hooks too.
    pub(crate) fn publish(
        self: &Arc<Self>,
        publication: Publication,
        client_id: Option<ClientId>,
    ) -> impl Future<Output = Result<Matched, PubSubError>> + Send + 'static + use<> {
        let topic = publication.topic.clone();
        // The backend's future borrows it: it travels with an owner.
        let rt = self.clone();
        let published = async move {
            let result = rt.pubsub.publish(publication).await;
            (rt, result)
        };
        let mut published = Box::pin(published);
        // Polled once here, so that the backend takes the publication before this returns.
        let first = futures_util::FutureExt::now_or_never(&mut published);
        async move {
            let (rt, result) = match first {
                Some(done) => done,
                None => published.await,
            };
            if let Err(PubSubError::Backend(reason)) = &result {
                let event = BusEvent::PublishFailed {
                    topic,
                    reason: reason.clone(),
                };
                rt.report(report::bus_event(client_id, event));
            }
            result
        }
    }
}

/// A connection slot; released on drop.
pub(crate) struct ConnSlot {
    rt: Arc<Runtime>,
}

impl Drop for ConnSlot {
    fn drop(&mut self) {
        self.rt.reserved.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The sockets whose upgrade request is being read.
#[derive(Default)]
pub(crate) struct PendingUpgrades {
    /// Oldest first; may hold finished entries.
    queue: std::collections::VecDeque<Arc<PendingEntry>>,
    /// Entries neither finished nor evicted.
    live: usize,
}

#[derive(Default)]
struct PendingEntry {
    done: AtomicBool,
    evict: CancellationToken,
}

/// A socket's place among those whose upgrade request is being read; released when dropped.
pub(crate) struct UpgradeSlot {
    rt: Arc<Runtime>,
    entry: Arc<PendingEntry>,
}

impl UpgradeSlot {
    /// Fires when a newer socket pushed this one out.
    pub(crate) async fn evicted(&self) {
        self.entry.evict.cancelled().await;
    }
}

impl Drop for UpgradeSlot {
    fn drop(&mut self) {
        let mut pending = self.rt.upgrading.lock().unwrap_or_else(|e| e.into_inner());
        if !self.entry.evict.is_cancelled() {
            pending.live -= 1;
        }
        self.entry.done.store(true, Ordering::Release);
        if pending
            .queue
            .front()
            .is_some_and(|e| Arc::ptr_eq(e, &self.entry))
        {
            pending.queue.pop_front();
        }
    }
}
