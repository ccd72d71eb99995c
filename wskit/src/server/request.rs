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
    /// A terminal frame (reply or error) was sent, or none is owed any more.
    terminal: AtomicBool,
    /// Progress frames being checked and queued ([`ReqState::send_progress`]): the terminal
    /// frame waits for them, so that none follows it, even when a spawned task sends it.
    progress_sending: AtomicUsize,
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
            progress_sending: AtomicUsize::new(0),
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

    /// Runs `send` (which queues a progress frame) unless the terminal frame was sent: a
    /// progress frame never follows it. With [`ReqState::mark_terminal`], a Dekker-style pair
    /// of sequentially consistent operations instead of a lock: either this call sees the
    /// terminal flag and sends nothing, or `mark_terminal` sees this call under way and waits
    /// for its frame to be queued.
    pub(crate) fn send_progress(&self, send: impl FnOnce()) {
        /// Ends the call's turn even if `send` panics: the terminal frame would wait forever.
        struct Sending<'a>(&'a AtomicUsize);
        impl Drop for Sending<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::Release);
            }
        }
        self.progress_sending.fetch_add(1, Ordering::SeqCst);
        let _turn = Sending(&self.progress_sending);
        if !self.terminal.load(Ordering::SeqCst) {
            send();
        }
    }

    /// Marks the terminal frame as sent (or not owed); whether this call was the first.
    pub(crate) fn mark_terminal(&self) -> bool {
        if self.is_terminal() || self.terminal.swap(true, Ordering::SeqCst) {
            return false;
        }
        // Progress frames already past their check are queued first (a push: brief).
        let mut spins = 0u32;
        while self.progress_sending.load(Ordering::SeqCst) != 0 {
            spins += 1;
            if spins < 64 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
        true
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::panic::AssertUnwindSafe;
    use std::sync::mpsc;
    use std::time::Duration;

    fn state() -> Arc<ReqState> {
        let meta = Meta::default();
        Arc::new(ReqState::new(
            "T",
            meta,
            Box::new(()),
            SystemTime::now(),
            None,
            true,
        ))
    }

    #[test]
    fn the_terminal_frame_waits_for_a_progress_frame_under_way() {
        let req = state();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (started, wait_started) = mpsc::channel();
        let sender = std::thread::spawn({
            let (req, log) = (req.clone(), log.clone());
            move || {
                req.send_progress(|| {
                    started.send(()).unwrap();
                    // A slow push: the terminal frame is marked meanwhile.
                    std::thread::sleep(Duration::from_millis(50));
                    log.lock().unwrap().push("progress");
                });
            }
        });
        wait_started.recv().unwrap();
        assert!(req.mark_terminal(), "the first terminal frame");
        log.lock().unwrap().push("terminal");
        sender.join().unwrap();
        assert_eq!(*log.lock().unwrap(), ["progress", "terminal"]);
    }

    #[test]
    fn no_progress_frame_follows_the_terminal_one() {
        let req = state();
        assert!(req.mark_terminal());
        assert!(!req.mark_terminal(), "only the first is terminal");
        let mut sent = false;
        req.send_progress(|| sent = true);
        assert!(!sent);
    }

    #[test]
    fn a_progress_send_that_panics_does_not_hold_the_terminal_frame_back() {
        let req = state();
        let panicked =
            std::panic::catch_unwind(AssertUnwindSafe(|| req.send_progress(|| panic!("push"))));
        assert!(panicked.is_err());
        assert!(req.mark_terminal(), "returns: nothing under way");
    }
}
