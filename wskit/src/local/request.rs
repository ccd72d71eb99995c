//! One request in flight: the state its contexts share (cancellation, the terminal rule).

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context as TaskContext, Poll, Waker};

use wskit_core::wire::Meta;

/// The state a request's contexts share: meta, receive time, deadline, cancellation and the
/// terminal-frame rule (one reply or error; no progress after it).
pub(crate) struct ReqState {
    pub ty: &'static str,
    pub meta: Meta,
    pub typed_meta: Box<dyn Any>,
    pub received_ms: u64,
    pub is_rpc: bool,
    cancelled: Cell<bool>,
    terminal: Cell<bool>,
    /// Woken on cancellation: the runner waiting on the handler, and `Context::cancelled`.
    wakers: RefCell<Vec<Waker>>,
}

impl ReqState {
    pub(super) fn new(
        ty: &'static str,
        meta: Meta,
        typed_meta: Box<dyn Any>,
        received_ms: u64,
        is_rpc: bool,
    ) -> Self {
        ReqState {
            ty,
            meta,
            typed_meta,
            received_ms,
            is_rpc,
            cancelled: Cell::new(false),
            terminal: Cell::new(false),
            wakers: RefCell::new(Vec::new()),
        }
    }

    /// Marks the terminal frame as sent (or not owed); whether this call was the first.
    pub(super) fn mark_terminal(&self) -> bool {
        !self.terminal.replace(true)
    }

    pub(super) fn is_terminal(&self) -> bool {
        self.terminal.get()
    }

    pub(super) fn cancel(&self) {
        self.cancelled.set(true);
        let wakers = std::mem::take(&mut *self.wakers.borrow_mut());
        for waker in wakers {
            waker.wake();
        }
    }

    pub(super) fn is_cancelled(&self) -> bool {
        self.cancelled.get()
    }

    /// Resolves once the request is cancelled.
    pub(super) fn cancelled(self: &Rc<Self>) -> Cancelled {
        Cancelled(self.clone())
    }
}

/// The future of [`ReqState::cancelled`].
pub(crate) struct Cancelled(Rc<ReqState>);

impl Future for Cancelled {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<()> {
        if self.0.is_cancelled() {
            return Poll::Ready(());
        }
        let mut wakers = self.0.wakers.borrow_mut();
        if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
            wakers.push(cx.waker().clone());
        }
        Poll::Pending
    }
}
