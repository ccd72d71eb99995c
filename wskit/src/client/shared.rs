//! The state every clone of a client shares with its connection task, and the operations on it
//! that must happen under one lock (so that ordering between queue, socket and pending table holds).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::time::Instant;

use super::error::ClientError;
use super::events::EventSink;
use super::id::{IdBuild, IdGen, IdText};
use super::options::Options;
use super::queue::{FrameText, OfflineQueue, Outbound, Pushed};
use super::report::ErrorReport;
use super::state::{ConnectionState, Gap};
use crate::encoded;

use wskit_core::wire::{FrameParts, OutMeta, encode_frame, types};

/// The call waiting for a request's reply (a `CallFuture`), as the pending table holds it:
/// type-erased, so that the connection task can decode the reply into the call's own type.
pub(crate) trait Waiter: Send + Sync {
    /// Decodes a reply read on the fast path (its type, its payload's text); once it decodes,
    /// calls `claim` (which takes the request out of the pending table) and, when that returns
    /// true, hands the response to the call and wakes it. False, without calling `claim`, when
    /// the frame needs the reference read instead (a payload that does not decode, another type,
    /// an error).
    fn deliver(&self, ty: &str, payload: &str, claim: &mut dyn FnMut() -> bool) -> bool;
    /// Ends the call: a reply read on the reference path, or an error.
    fn complete(&self, outcome: Result<Reply, ClientError>);
}

/// A request awaiting its reply.
pub(crate) struct Pending {
    /// Order of creation, to re-send in-flight requests in their original order.
    pub seq: u64,
    /// The request's wire type (for overflow reports).
    pub ty: &'static str,
    /// The frame, until written (kept after that only to send an idempotent request again).
    pub frame: Option<FrameText>,
    pub idempotent: bool,
    /// Whether the frame was handed to the socket (the request is "in flight").
    pub written: bool,
    /// The call's timeout, counted from the first write.
    pub timeout: Duration,
    /// When the call times out: set by the first write (`None` before, or for a timeout too far
    /// to count).
    pub deadline: Option<Instant>,
    pub waiter: Arc<dyn Waiter>,
    pub progress_tx: Option<mpsc::Sender<String>>,
}

/// The open connection's outbound items, which its task writes together: everything queued
/// since its last write goes out in one flush.
#[derive(Default)]
pub(crate) struct Outbox {
    pub items: VecDeque<Outbound>,
    /// The connection task, waiting for items.
    pub waker: Option<Waker>,
}

/// A client's mutable state, behind [`Inner`]'s lock: what its handles and its connection task
/// share.
pub(crate) struct ClientState {
    /// What the open connection is to write; `None` while not open.
    pub outbox: Option<Outbox>,
    pub queue: OfflineQueue,
    pub pending: HashMap<u64, Pending, IdBuild>,
    pub next_seq: u64,
    /// Frames of subscription messages, sent again on every open.
    pub subscriptions: Vec<FrameText>,
    pub sinks: Vec<EventSink>,
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
    pub ids: IdGen,
    shared: Mutex<ClientState>,
    pub state_tx: watch::Sender<ConnectionState>,
    pub gaps_tx: broadcast::Sender<Gap>,
}

/// What is done once the lock is released: reports delivered (hooks may call the client), the
/// connection task woken.
#[derive(Default)]
pub(crate) struct Reports {
    list: Vec<ErrorReport>,
    wake: Option<Waker>,
}

impl Reports {
    pub fn push(&mut self, r: ErrorReport) {
        self.list.push(r);
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

pub(crate) fn abort_frame(ids: &IdGen, id: u64) -> FrameText {
    let mut buf: IdText = [0; 36];
    let meta = OutMeta {
        correlation_id: Some(ids.write(id, &mut buf).into()),
        ..OutMeta::default()
    };
    // A type and a correlationId, no payload: nothing that can fail to serialize.
    encoded::text(encode_frame(types::ABORT, Some(&meta), None::<&()>).expect("abort frame"))
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
            ids: IdGen::new(),
            shared: Mutex::new(ClientState {
                outbox: None,
                queue,
                pending: HashMap::default(),
                next_seq: 0,
                subscriptions: Vec::new(),
                sinks: Vec::new(),
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
    pub fn lock(&self) -> MutexGuard<'_, ClientState> {
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
    pub fn set_task_state(&self, sh: &ClientState, state: ConnectionState) {
        if !sh.closing {
            self.set_state(state);
        }
    }

    pub fn state(&self) -> ConnectionState {
        *self.state_tx.borrow()
    }

    /// Call after releasing the lock.
    pub fn report(&self, reports: Reports) {
        if let Some(waker) = reports.wake {
            waker.wake();
        }
        if reports.list.is_empty() {
            return;
        }
        match &self.opts.on_error {
            Some(hook) => {
                for r in reports.list {
                    // A panicking on_error hook cannot report itself: it is skipped.
                    call_hook(&**hook, r);
                }
            }
            None => {
                for r in reports.list {
                    tracing::warn!(target: "wskit::client", "{r}");
                }
            }
        }
    }

    /// Hands `item` to the socket when open (the connection task is woken, once reported),
    /// else to the offline queue.
    pub fn enqueue(
        &self,
        sh: &mut ClientState,
        item: Outbound,
        reports: &mut Reports,
    ) -> Result<(), ClientError> {
        if let Some(outbox) = &mut sh.outbox {
            outbox.items.push_back(item);
            if let Some(waker) = outbox.waker.take() {
                reports.wake = Some(waker);
            }
            return Ok(());
        }
        match sh.queue.push(item) {
            Pushed::Queued => Ok(()),
            Pushed::Evicted(evicted) => {
                let ty = match &evicted {
                    Outbound::Frame { ty, .. } => Some(*ty),
                    Outbound::Request(id) => sh.pending.remove(id).map(|p| {
                        p.waiter.complete(Err(ClientError::QueueFull));
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
        frame: FrameText,
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

    /// Registers a request and sends (or queues) its frame; its reply goes to `waiter`.
    pub fn start_request(&self, request: NewRequest) -> Result<(), ClientError> {
        let NewRequest {
            id,
            ty,
            frame,
            idempotent,
            timeout,
            waiter,
            progress_tx,
        } = request;
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
            let seq = sh.next_seq;
            sh.next_seq += 1;
            sh.pending.insert(
                id,
                Pending {
                    seq,
                    ty,
                    frame: Some(frame),
                    idempotent,
                    written: false,
                    timeout,
                    deadline: None,
                    waiter,
                    progress_tx,
                },
            );
            match self.enqueue(&mut sh, Outbound::Request(id), &mut reports) {
                Ok(()) => Ok(()),
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
    pub fn abandon_request(&self, id: u64) {
        let mut reports = Reports::default();
        {
            let mut sh = self.lock();
            Self::abandon(&mut sh, id, &mut reports);
        }
        self.report(reports);
    }

    /// [`abandon_request`](Self::abandon_request) under the lock: the entry, if still there.
    fn abandon(sh: &mut ClientState, id: u64, reports: &mut Reports) -> Option<Pending> {
        let p = sh.pending.remove(&id)?;
        if p.written {
            if let Some(outbox) = &mut sh.outbox {
                outbox.items.push_back(Outbound::Abort(id));
                if let Some(waker) = outbox.waker.take() {
                    reports.wake = Some(waker);
                }
            }
        } else {
            sh.queue.remove_request(id);
        }
        Some(p)
    }

    /// Fails the requests whose deadline is past `now` with [`ClientError::Timeout`] (and aborts
    /// them, as a dropped call would be). Returns the next deadline of the requests left.
    pub fn expire(&self, now: Instant) -> Option<Instant> {
        let mut reports = Reports::default();
        let mut next: Option<Instant> = None;
        {
            let mut sh = self.lock();
            let mut expired = Vec::new();
            for (&id, p) in &sh.pending {
                match p.deadline {
                    Some(d) if d <= now => expired.push(id),
                    Some(d) => next = Some(next.map_or(d, |n| n.min(d))),
                    None => {}
                }
            }
            for id in expired {
                if let Some(p) = Self::abandon(&mut sh, id, &mut reports) {
                    p.waiter.complete(Err(ClientError::Timeout));
                }
            }
        }
        self.report(reports);
        next
    }

    /// Fails every pending request matching `pred` with `err`.
    pub fn fail_pending(
        sh: &mut ClientState,
        mut pred: impl FnMut(&Pending) -> bool,
        err: ClientError,
    ) {
        let ClientState { pending, queue, .. } = sh;
        pending.retain(|&id, p| {
            if !pred(p) {
                return true;
            }
            queue.remove_request(id);
            p.waiter.complete(Err(err.clone()));
            false
        });
    }
}

/// What [`Inner::start_request`] registers.
pub(crate) struct NewRequest {
    pub id: u64,
    pub ty: &'static str,
    pub frame: FrameText,
    pub idempotent: bool,
    pub timeout: Duration,
    pub waiter: Arc<dyn Waiter>,
    pub progress_tx: Option<mpsc::Sender<String>>,
}
