//! One request in flight: when its frame was received, the state
//! its contexts share (meta, deadline, cancellation, the terminal-frame rule), and the table of
//! a connection's RPCs still running (for `$ws:abort` and duplicate correlationIds).

use std::any::Any;
use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::SystemTime;

use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use wskit_core::wire::Meta;

/// When a frame was read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Received {
    /// The wall clock (`Context::received_at`).
    pub at: SystemTime,
    /// The monotonic clock: `meta.timeoutMs` counts from here.
    pub instant: Instant,
}

impl Received {
    pub(crate) fn now() -> Self {
        Received {
            at: SystemTime::now(),
            instant: Instant::now(),
        }
    }
}

thread_local! {
    /// The allocation of the last request that finished on this thread, for the next one.
    static SPARE: Cell<Option<Arc<ReqState>>> = const { Cell::new(None) };
}

/// The per-request state shared by a request's contexts.
pub(crate) struct ReqState {
    pub ty: &'static str,
    pub meta: Meta,
    pub typed_meta: Box<dyn Any + Send + Sync>,
    pub received_at: SystemTime,
    pub deadline: Option<Instant>,
    /// Set by `$ws:abort` or the deadline.
    aborted: AtomicBool,
    /// Wakes the request's runner on abort.
    pub wake: Notify,
    /// The token handed to `cancelled()`, created on first use (most handlers never ask).
    token: OnceLock<CancellationToken>,
    /// A terminal frame (reply or error) was sent, or none is owed any more. Set under
    /// `progress`.
    terminal: AtomicBool,
    /// Held while a progress frame is checked and queued, and while `terminal` is set: no
    /// progress frame follows the terminal frame, even when a spawned task sends it.
    progress: Mutex<()>,
    pub is_rpc: bool,
}

impl ReqState {
    pub(crate) fn new(
        ty: &'static str,
        meta: Meta,
        typed_meta: Box<dyn Any + Send + Sync>,
        received_at: SystemTime,
        deadline: Option<Instant>,
        is_rpc: bool,
    ) -> Self {
        ReqState {
            ty,
            meta,
            typed_meta,
            received_at,
            deadline,
            aborted: AtomicBool::new(false),
            wake: Notify::new(),
            token: OnceLock::new(),
            terminal: AtomicBool::new(false),
            progress: Mutex::new(()),
            is_rpc,
        }
    }

    /// `state` in an allocation of its own: the one a request that finished on this thread left
    /// (see [`ReqState::recycle`]) when there is one, else a new one. Most requests finish in
    /// their handler's first poll, on the connection's task; each leaves its allocation to the
    /// next, which then costs no allocation and no free.
    pub(crate) fn shared(state: ReqState) -> Arc<ReqState> {
        if let Ok(Some(mut spare)) = SPARE.try_with(Cell::take)
            && let Some(slot) = Arc::get_mut(&mut spare)
        {
            *slot = state;
            return spare;
        }
        Arc::new(state)
    }

    /// Leaves a finished request's allocation for the next request on this thread
    /// ([`ReqState::shared`]), when nothing else holds it (a task the handler spawned may) and
    /// it holds no cancellation token (a child of its connection's, which should not outlive
    /// the request). What it holds (its meta) is dropped when the next request takes it.
    pub(crate) fn recycle(mut req: Arc<ReqState>) {
        if Arc::get_mut(&mut req).is_some_and(|state| state.token.get().is_none()) {
            let _ = SPARE.try_with(|spare| spare.set(Some(req)));
        }
    }

    /// Cancels the request (`$ws:abort` or the deadline). `closing` is the connection's token.
    pub(crate) fn cancel(&self, closing: &CancellationToken) {
        self.aborted.store(true, Ordering::Release);
        self.wake.notify_one();
        // Through the one token, whoever creates it: a concurrent `cancelled()` cannot miss it.
        self.token(closing).cancel();
    }

    /// Whether the request was cancelled; `closing`: whether its connection is closing.
    pub(crate) fn is_cancelled(&self, closing: bool) -> bool {
        self.aborted.load(Ordering::Acquire) || closing
    }

    pub(crate) fn token(&self, closing: &CancellationToken) -> &CancellationToken {
        self.token.get_or_init(|| closing.child_token())
    }

    pub(crate) fn progress_lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.progress.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Marks the terminal frame as sent (or not owed); whether this call was the first.
    pub(crate) fn mark_terminal(&self) -> bool {
        if self.is_terminal() {
            return false;
        }
        let _progress = self.progress_lock();
        !self.terminal.swap(true, Ordering::AcqRel)
    }

    /// Whether the terminal frame was sent (or is not owed).
    pub(crate) fn is_terminal(&self) -> bool {
        self.terminal.load(Ordering::Acquire)
    }
}

/// The RPCs of one connection still running after their first poll, by correlationId.
#[derive(Default)]
pub(crate) struct Registry {
    /// Boxed, and only once a request was registered: most connections never register one
    /// (every RPC finishes in its first poll), and this lives as long as the connection (8
    /// bytes, not the 48 of an empty map and its hasher's keys).
    map: Mutex<Option<Box<Requests>>>,
    /// The number of requests in `map`, kept beside it so that the common case (nothing
    /// registered: every RPC so far finished in its first poll) is seen without taking the lock.
    len: AtomicUsize,
}

type Requests = HashMap<Arc<str>, Arc<ReqState>>;

impl Registry {
    fn map(&self) -> MutexGuard<'_, Option<Box<Requests>>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The request registered under this correlationId.
    pub(crate) fn get(&self, correlation_id: &str) -> Option<Arc<ReqState>> {
        if self.len.load(Ordering::Acquire) == 0 {
            return None;
        }
        self.map().as_ref()?.get(correlation_id).cloned()
    }

    /// Whether a request is registered under this correlationId and still owes its terminal
    /// frame. One that sent it is over for the client, which may reuse its id at once: the
    /// request's task may not have left the registry yet (the reply is queued before), and a new
    /// request under the id replaces it there.
    pub(crate) fn contains(&self, correlation_id: &str) -> bool {
        self.len.load(Ordering::Acquire) != 0
            && self
                .map()
                .as_ref()
                .and_then(|map| map.get(correlation_id))
                .is_some_and(|req| !req.is_terminal())
    }

    pub(crate) fn insert(&self, correlation_id: Arc<str>, req: Arc<ReqState>) {
        let mut slot = self.map();
        let map = slot.get_or_insert_with(Box::default);
        map.insert(correlation_id, req);
        self.len.store(map.len(), Ordering::Release);
    }

    /// Removes the entry of this correlationId if it is still `req`'s.
    pub(crate) fn remove(&self, correlation_id: &str, req: &Arc<ReqState>) {
        let mut slot = self.map();
        let Some(map) = slot.as_mut() else { return };
        if map.get(correlation_id).is_some_and(|r| Arc::ptr_eq(r, req)) {
            map.remove(correlation_id);
            self.len.store(map.len(), Ordering::Release);
        }
    }
}
