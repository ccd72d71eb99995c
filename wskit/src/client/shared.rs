//! The state every clone of a client shares with its connection task, and the operations on it
//! that must happen under one lock (so that ordering between queue, socket and pending table holds).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{broadcast, mpsc, oneshot, watch};

use super::error::ClientError;
use super::events::EventSink;
use super::options::Options;
use super::queue::{OfflineQueue, Outbound, Pushed};
use super::report::ErrorReport;
use super::state::{ConnectionState, Gap};

use wskit_core::wire::{FrameParts, OutMeta, encode_frame, types};

/// A request awaiting its reply.
pub(crate) struct Pending {
    /// Order of creation, to re-send in-flight requests in their original order.
    pub seq: u64,
    /// The request's wire type (for overflow reports).
    pub ty: &'static str,
    pub frame: Arc<str>,
    pub idempotent: bool,
    /// Whether the frame was handed to the socket (the request is "in flight").
    pub written: bool,
    pub written_tx: Option<oneshot::Sender<()>>,
    pub reply_tx: oneshot::Sender<Result<Reply, ClientError>>,
    pub progress_tx: Option<mpsc::Sender<String>>,
}

/// What a started request gives its call future.
pub(crate) struct Started {
    pub id: Arc<str>,
    pub written_rx: oneshot::Receiver<()>,
    pub reply_rx: oneshot::Receiver<Result<Reply, ClientError>>,
}

/// Correlation ids answered or abandoned lately, so late replies are dropped quietly.
#[derive(Default)]
pub(crate) struct RecentIds {
    order: VecDeque<Arc<str>>,
    set: HashSet<Arc<str>>,
}

impl RecentIds {
    const KEEP: usize = 1024;

    pub fn remember(&mut self, id: Arc<str>) {
        if self.set.insert(id.clone()) {
            self.order.push_back(id);
            if self.order.len() > Self::KEEP
                && let Some(old) = self.order.pop_front()
            {
                self.set.remove(&old);
            }
        }
    }

    pub fn contains(&self, id: &str) -> bool {
        self.set.contains(id)
    }
}

pub(crate) struct Shared {
    /// The open connection's writer; `None` while not open.
    pub outbox: Option<mpsc::UnboundedSender<Outbound>>,
    pub queue: OfflineQueue,
    pub pending: HashMap<Arc<str>, Pending>,
    pub next_seq: u64,
    /// Frames of subscription messages, sent again on every open.
    pub subscriptions: Vec<Arc<str>>,
    pub sinks: Vec<EventSink>,
    pub recent: RecentIds,
    /// Whether a connection task runs.
    pub running: bool,
    /// Tells the connection task to close; taken by `close`.
    pub close_tx: Option<oneshot::Sender<()>>,
    /// Why the last connection attempt failed.
    pub last_error: Option<super::error::ConnectError>,
    /// `close()` was called (or every handle dropped) and the task has not finished yet: sends
    /// are refused and the task sets no state but `Closed`.
    pub closing: bool,
}

pub(crate) struct Inner {
    pub opts: Options,
    shared: Mutex<Shared>,
    pub state_tx: watch::Sender<ConnectionState>,
    pub gaps_tx: broadcast::Sender<Gap>,
}

/// Reports collected under the lock, delivered after it is released (hooks may call the client).
#[derive(Default)]
pub(crate) struct Reports(Vec<ErrorReport>);

impl Reports {
    pub fn push(&mut self, r: ErrorReport) {
        self.0.push(r);
    }
}

pub(crate) fn frame_text(bytes: Vec<u8>) -> Arc<str> {
    match String::from_utf8(bytes) {
        Ok(s) => s.into(),
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into(),
    }
}

/// The terminal frame of a call, parsed once by the connection task: its type, its text and
/// where its meta and payload are in that text.
#[derive(Debug)]
pub(crate) struct Reply {
    pub ty: String,
    pub text: String,
    pub parts: FrameParts,
}

pub(crate) fn abort_frame(id: &str) -> Arc<str> {
    let meta = OutMeta {
        correlation_id: Some(id.into()),
        ..OutMeta::default()
    };
    // A type and a correlationId, no payload: nothing that can fail to serialize.
    frame_text(encode_frame(types::ABORT, Some(&meta), None::<&()>).expect("abort frame"))
}

/// Calls a user hook; a panic in it is caught so that it cannot take the connection task down.
/// Returns whether the hook returned normally.
pub(crate) fn call_hook<T>(hook: &(dyn Fn(T) + Send + Sync), value: T) -> bool {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hook(value))).is_ok()
}

impl Inner {
    pub fn new(opts: Options) -> Self {
        let queue = OfflineQueue::new(opts.queue_policy, opts.queue_size);
        Inner {
            opts,
            shared: Mutex::new(Shared {
                outbox: None,
                queue,
                pending: HashMap::new(),
                next_seq: 0,
                subscriptions: Vec::new(),
                sinks: Vec::new(),
                recent: RecentIds::default(),
                running: false,
                close_tx: None,
                last_error: None,
                closing: false,
            }),
            state_tx: watch::Sender::new(ConnectionState::Closed),
            gaps_tx: broadcast::channel(64).0,
        }
    }

    /// The shared state. A panic elsewhere never leaves it unusable: poisoning is ignored,
    /// every critical section keeps it consistent.
    pub fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn set_state(&self, state: ConnectionState) {
        self.state_tx.send_if_modified(|s| {
            let changed = *s != state;
            *s = state;
            changed
        });
    }

    /// A state set by the connection task: ignored once a close is under way (`Closing` stays
    /// until the task sets `Closed` itself). Call under the lock.
    pub fn set_task_state(&self, sh: &Shared, state: ConnectionState) {
        if !sh.closing {
            self.set_state(state);
        }
    }

    pub fn state(&self) -> ConnectionState {
        *self.state_tx.borrow()
    }

    pub fn report(&self, reports: Reports) {
        if let Some(hook) = &self.opts.on_error {
            for r in reports.0 {
                // A panicking on_error hook cannot report itself: it is skipped.
                call_hook(&**hook, r);
            }
        }
    }

    /// Hands `item` to the socket when open, else to the offline queue.
    pub fn enqueue(
        &self,
        sh: &mut Shared,
        item: Outbound,
        reports: &mut Reports,
    ) -> Result<(), ClientError> {
        if let Some(outbox) = &sh.outbox
            && outbox.send(item.clone()).is_ok()
        {
            return Ok(());
        }
        match sh.queue.push(item) {
            Pushed::Queued => Ok(()),
            Pushed::Evicted(evicted) => {
                let ty = match &evicted {
                    Outbound::Frame { ty, .. } => Some(*ty),
                    Outbound::Request(id) => sh.pending.remove(id).map(|p| {
                        sh.recent.remember(id.clone());
                        let _ = p.reply_tx.send(Err(ClientError::QueueFull));
                        p.ty
                    }),
                    Outbound::Abort(_) => None,
                };
                if let Some(ty) = ty {
                    reports.push(ErrorReport::QueueOverflow { ty: ty.to_owned() });
                }
                Ok(())
            }
            Pushed::Refused if sh.queue.policy() == super::queue::QueuePolicy::Off => {
                Err(ClientError::NotConnected)
            }
            Pushed::Refused => Err(ClientError::QueueFull),
        }
    }

    /// Sends (or queues) a message frame; subscription frames are remembered and sent on every open.
    pub fn send_frame(
        &self,
        ty: &'static str,
        frame: Arc<str>,
        subscription: bool,
    ) -> Result<(), ClientError> {
        let mut reports = Reports::default();
        let result = {
            let mut sh = self.lock();
            if sh.closing {
                return Err(ClientError::Closed);
            }
            if subscription {
                if !sh.subscriptions.contains(&frame) {
                    sh.subscriptions.push(frame.clone());
                }
                if sh.outbox.is_none() {
                    // Sent when the connection opens, with the other subscriptions.
                    return Ok(());
                }
            }
            let r = self.enqueue(&mut sh, Outbound::Frame { ty, text: frame }, &mut reports);
            if matches!(r, Err(ClientError::QueueFull)) {
                reports.push(ErrorReport::QueueOverflow { ty: ty.to_owned() });
            }
            r
        };
        self.report(reports);
        result
    }

    /// Registers a request and sends (or queues) its frame.
    pub fn start_request(
        &self,
        id: Arc<str>,
        ty: &'static str,
        frame: Arc<str>,
        idempotent: bool,
        progress_tx: Option<mpsc::Sender<String>>,
    ) -> Result<Started, ClientError> {
        let mut reports = Reports::default();
        let result = {
            let mut sh = self.lock();
            if sh.closing {
                return Err(ClientError::Closed);
            }
            if sh.pending.len() >= self.opts.max_pending {
                return Err(ClientError::TooManyPending {
                    limit: self.opts.max_pending,
                });
            }
            let (written_tx, written_rx) = oneshot::channel();
            let (reply_tx, reply_rx) = oneshot::channel();
            let seq = sh.next_seq;
            sh.next_seq += 1;
            sh.pending.insert(
                id.clone(),
                Pending {
                    seq,
                    ty,
                    frame,
                    idempotent,
                    written: false,
                    written_tx: Some(written_tx),
                    reply_tx,
                    progress_tx,
                },
            );
            match self.enqueue(&mut sh, Outbound::Request(id.clone()), &mut reports) {
                Ok(()) => Ok(Started {
                    id,
                    written_rx,
                    reply_rx,
                }),
                Err(e) => {
                    sh.pending.remove(&id);
                    if e == ClientError::QueueFull {
                        reports.push(ErrorReport::QueueOverflow { ty: ty.to_owned() });
                    }
                    Err(e)
                }
            }
        };
        self.report(reports);
        result
    }

    /// Gives up on a request (dropped, cancelled or timed out): forgets it, and tells the server
    /// with `$ws:abort` when its frame went out on the open connection.
    pub fn abandon_request(&self, id: &Arc<str>) {
        let mut sh = self.lock();
        if let Some(p) = sh.pending.remove(id) {
            sh.recent.remember(id.clone());
            if p.written {
                if let Some(outbox) = &sh.outbox {
                    let _ = outbox.send(Outbound::Abort(id.clone()));
                }
            } else {
                sh.queue.remove_request(id);
            }
        }
    }

    /// Fails every pending request matching `pred` with `err`.
    pub fn fail_pending(sh: &mut Shared, mut pred: impl FnMut(&Pending) -> bool, err: ClientError) {
        let ids: Vec<Arc<str>> = sh
            .pending
            .iter()
            .filter(|(_, p)| pred(p))
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            sh.queue.remove_request(&id);
            if let Some(p) = sh.pending.remove(&id) {
                sh.recent.remember(id);
                let _ = p.reply_tx.send(Err(err.clone()));
            }
        }
    }
}
