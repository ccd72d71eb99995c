//! A connection's outbound queue: a bounded single-producer-handle, single-consumer queue that
//! allocates only when frames are queued.
//!
//! It has the interface of the part of `tokio::sync::mpsc` the connection uses (`try_send`,
//! `capacity`, `recv`, `try_recv`, with tokio's error types) and the same semantics: at most
//! `capacity` items queued, a slot freed as soon as the receiver takes an item, `Closed` once
//! the other side is gone. Unlike tokio's bounded channel, which allocates a block of 32 slots
//! (and cache-padded bookkeeping) up front, an idle connection's queue is an empty `VecDeque`.
//! Queueing and taking an item each take an uncontended lock.
//!
//! Besides its items, the queue holds frames written into one buffer ([`Sender::try_send_frame`]:
//! a frame's header and payload, as they go on the wire), so that the answers a connection
//! queues between two writes cost one allocation together, not one each, and reach the socket's
//! write buffer without another copy. They come before every item: a frame joins the buffer
//! only while no item is queued.

use std::collections::VecDeque;
#[cfg(test)]
use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use tokio::sync::mpsc::error::{TryRecvError, TrySendError};

use super::socket::Direct;
use super::spare;

/// Slots kept while the queue is idle (more are freed when the receiver finds it empty; so is a
/// single one).
const SHRINK_ABOVE: usize = 64;

/// Creates a queue that holds at most `capacity` items (at least one).
pub(crate) fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Queue {
        state: Mutex::new(State {
            items: VecDeque::new(),
            frames: Frames::default(),
            waker: None,
            sender_gone: false,
            receiver_gone: false,
        }),
        capacity: capacity.max(1),
        queued: AtomicUsize::new(0),
        direct: AtomicBool::new(false),
        closed: AtomicBool::new(false),
        waiting: AtomicBool::new(false),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}

/// The queue both halves hold: its contents under the lock, and what is read without it.
struct Queue<T> {
    state: Mutex<State<T>>,
    capacity: usize,
    /// `items.len()` and the frames of `frames`, written under the lock, so that `capacity`
    /// (asked for every inbound frame) need not take it.
    queued: AtomicUsize,
    /// The receiver holds nothing it has not written ([`Receiver::mark_idle`]): while the queue
    /// is empty, an item may bypass it ([`Sender::try_direct`]). Cleared by every `try_send`
    /// and every item taken; `try_direct` checks the queue itself under the lock, so a stale
    /// `true` with items queued lets nothing overtake them.
    direct: AtomicBool,
    /// [`Sender::close`] was called: nothing more is queued or written past the queue. Set
    /// under the lock; read under it where a push or direct write is decided.
    closed: AtomicBool,
    /// The receiver waits for `waker` to be woken. Set under the lock; cleared under it by a
    /// waking sender, or without it by the receiver's own running task ([`Receiver::unregister`]),
    /// which keeps the waker: registering the same task again then clones nothing.
    waiting: AtomicBool,
}

struct State<T> {
    items: VecDeque<T>,
    /// Frames written into one buffer; they go before `items`.
    frames: Frames,
    /// The receiver's task, woken while `waiting`.
    waker: Option<Waker>,
    sender_gone: bool,
    receiver_gone: bool,
}

/// Frames written into one buffer, each its header then its payload.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Frames {
    pub bytes: Vec<u8>,
    /// How many frames `bytes` holds.
    pub count: usize,
    /// The payload bytes among them (what the connection's byte budget counts).
    pub payload: usize,
}

/// What the receiver takes, in the order it was queued.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Taken<T> {
    /// Frames queued with [`Sender::try_send_frame`].
    Frames(Frames),
    Item(T),
}

/// Why [`Sender::try_send_frame`] did not queue a frame.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum FrameRefused {
    Closed,
    Full,
    /// Items are queued: a frame would overtake them. Queue it as an item instead.
    Behind,
}

/// The room the first frame of an empty buffer makes: most batches of answers fit.
const FRAMES_FIRST: usize = 1024;

impl<T> State<T> {
    /// Frames and items queued.
    fn len(&self) -> usize {
        self.frames.count + self.items.len()
    }

    /// Takes the frames if there are any, else the next item.
    fn take(&mut self) -> Option<Taken<T>> {
        if self.frames.count > 0 {
            return Some(Taken::Frames(std::mem::take(&mut self.frames)));
        }
        self.items.pop_front().map(Taken::Item)
    }
}

impl<T> Queue<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // Nothing panics while holding the lock, but a poisoned queue is still consistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Has the receiver's task woken by the next item (call under the lock).
    fn register(&self, state: &mut State<T>, cx: &Context<'_>) {
        match &state.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => state.waker = Some(cx.waker().clone()),
        }
        self.waiting.store(true, Ordering::Release);
    }

    /// Wakes the receiver if it waits (call under the lock). `waiting` is set only under the
    /// lock, so a load that finds it clear is final: most frames are queued while the receiver
    /// runs, and cost no read-modify-write here.
    fn wake(&self, state: &State<T>) {
        if self.waiting.load(Ordering::Acquire)
            && self.waiting.swap(false, Ordering::AcqRel)
            && let Some(waker) = &state.waker
        {
            waker.wake_by_ref();
        }
    }
}

/// The sending half.
pub(crate) struct Sender<T> {
    shared: Arc<Queue<T>>,
}

impl<T> Sender<T> {
    /// Queues `item` unless the queue is full or the receiver is gone.
    pub(crate) fn try_send(&self, item: T) -> Result<(), TrySendError<T>> {
        let mut state = self.shared.lock();
        if state.receiver_gone || self.shared.closed.load(Ordering::Relaxed) {
            return Err(TrySendError::Closed(item));
        }
        if state.len() >= self.shared.capacity {
            return Err(TrySendError::Full(item));
        }
        if state.items.capacity() == 0 {
            // One slot, not the four a first push would get: most connections queue one
            // frame at a time (the receiver frees a single slot once it finds the queue empty).
            state.items.reserve_exact(1);
        }
        state.items.push_back(item);
        self.shared.direct.store(false, Ordering::Release);
        self.shared.queued.store(state.len(), Ordering::Release);
        self.shared.wake(&state);
        Ok(())
    }

    /// Queues one frame, `header` then `payload`, by copying it into the queue's frame buffer,
    /// unless the queue is full or the receiver is gone, or items are queued (it would overtake
    /// them).
    pub(crate) fn try_send_frame(&self, header: &[u8], payload: &[u8]) -> Result<(), FrameRefused> {
        let mut state = self.shared.lock();
        if state.receiver_gone || self.shared.closed.load(Ordering::Relaxed) {
            return Err(FrameRefused::Closed);
        }
        if state.len() >= self.shared.capacity {
            return Err(FrameRefused::Full);
        }
        if !state.items.is_empty() {
            return Err(FrameRefused::Behind);
        }
        let frames = &mut state.frames;
        let len = header.len() + payload.len();
        if frames.bytes.capacity() == 0 {
            frames.bytes = spare::out_buffer(len.max(FRAMES_FIRST));
        }
        frames.bytes.reserve(len);
        frames.bytes.extend_from_slice(header);
        frames.bytes.extend_from_slice(payload);
        frames.count += 1;
        frames.payload += payload.len();
        self.shared.direct.store(false, Ordering::Release);
        self.shared.queued.store(state.len(), Ordering::Release);
        self.shared.wake(&state);
        Ok(())
    }

    /// Runs `write` (a direct write to the socket) instead of queueing, if the queue is empty
    /// and the receiver said it holds nothing unwritten ([`Receiver::mark_idle`]).
    /// Under the queue's lock: no item queued meanwhile can be overtaken. After a partial write
    /// the receiver is woken to finish it, and nothing bypasses the queue until it has.
    pub(crate) fn try_direct(&self, write: impl FnOnce() -> Direct) -> Direct {
        let state = self.shared.lock();
        let direct = self.shared.direct.load(Ordering::Acquire);
        let closed = self.shared.closed.load(Ordering::Relaxed);
        if !direct || state.len() > 0 || state.receiver_gone || closed {
            return Direct::Refused;
        }
        let done = write();
        if done == Direct::Partial {
            self.shared.direct.store(false, Ordering::Release);
            self.shared.wake(&state);
        }
        done
    }

    /// Takes no more items (`try_send` answers `Closed`, `try_direct` refuses); the items
    /// already queued stay for the receiver.
    pub(crate) fn close(&self) {
        let _state = self.shared.lock();
        self.shared.closed.store(true, Ordering::Release);
        self.shared.direct.store(false, Ordering::Release);
    }

    /// Loads what [`Sender::try_direct`] reads first: the lock word (through the poison flag
    /// beside it) and the flags (for a fan-out's `FrameSink::warm`).
    pub(crate) fn warm(&self) {
        let flags = (
            self.shared.closed.load(Ordering::Relaxed),
            self.shared.direct.load(Ordering::Relaxed),
        );
        std::hint::black_box((self.shared.state.is_poisoned(), flags));
    }

    /// Whether [`Sender::close`] was called.
    pub(crate) fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::Acquire)
    }

    /// Wakes the receiver's task, if it waits, without queueing anything.
    pub(crate) fn wake(&self) {
        let state = self.shared.lock();
        self.shared.wake(&state);
    }

    /// Free slots: the capacity less the items queued and not yet taken.
    pub(crate) fn capacity(&self) -> usize {
        self.shared.capacity - self.shared.queued.load(Ordering::Acquire)
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.sender_gone = true;
        self.shared.wake(&state);
    }
}

/// The receiving half.
pub(crate) struct Receiver<T> {
    shared: Arc<Queue<T>>,
}

impl<T> Receiver<T> {
    /// The next item; `None` once the queue is empty and the sender gone. Cancel-safe.
    #[cfg(test)]
    pub(crate) async fn recv(&mut self) -> Option<Taken<T>> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Polls for the next item; on `Pending` the task is woken by the next `try_send`, by
    /// [`Sender::wake`] or when the sender goes.
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Taken<T>>> {
        let mut state = self.shared.lock();
        if let Some(taken) = state.take() {
            self.shared.direct.store(false, Ordering::Release);
            self.shared.queued.store(state.len(), Ordering::Release);
            return Poll::Ready(Some(taken));
        }
        if state.sender_gone {
            return Poll::Ready(None);
        }
        let slots = state.items.capacity();
        if slots == 1 || slots > SHRINK_ABOVE {
            // Idle: give the slots back. A connection that queues one frame at a time (and an
            // idle one) holds none; one that queues a few at a time keeps its slots (growing
            // them again for every burst would cost an allocation per doubling); after a
            // burst of more, they go.
            state.items = VecDeque::new();
        }
        self.shared.register(&mut state, cx);
        Poll::Pending
    }

    /// Says the receiver holds nothing it has not written: until the next item is queued,
    /// items may bypass the queue ([`Sender::try_direct`]).
    pub(crate) fn mark_idle(&self) {
        if self.shared.queued.load(Ordering::Acquire) == 0 {
            self.shared.direct.store(true, Ordering::Release);
        }
    }

    /// Stops waiting: the receiver's own task is running and will look at the queue before it
    /// waits again, so the items it queues itself need not wake it.
    pub(crate) fn unregister(&self) {
        self.shared.waiting.store(false, Ordering::Release);
    }

    /// Has the task woken by the next `try_send` or [`Sender::wake`] without taking an item
    /// (for a task that cannot take items now but must hear of new ones).
    pub(crate) fn register(&self, cx: &mut Context<'_>) {
        let mut state = self.shared.lock();
        self.shared.register(&mut state, cx);
    }

    /// The next item if one is queued.
    pub(crate) fn try_recv(&mut self) -> Result<Taken<T>, TryRecvError> {
        let mut state = self.shared.lock();
        match state.take() {
            Some(taken) => {
                self.shared.queued.store(state.len(), Ordering::Release);
                Ok(taken)
            }
            None if state.sender_gone => Err(TryRecvError::Disconnected),
            None => Err(TryRecvError::Empty),
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.receiver_gone = true;
        // Items still queued go now, as with tokio's channel.
        state.items = VecDeque::new();
        state.frames = Frames::default();
        self.shared.queued.store(0, Ordering::Release);
        state.waker = None;
        self.shared.waiting.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt;

    use super::*;

    #[test]
    fn bounded_and_frees_a_slot_per_item_taken() {
        let (tx, mut rx) = channel::<u32>(2);
        assert_eq!(tx.capacity(), 2);
        tx.try_send(1).unwrap();
        tx.try_send(2).unwrap();
        assert_eq!(tx.capacity(), 0);
        assert!(matches!(tx.try_send(3), Err(TrySendError::Full(3))));
        assert_eq!(rx.try_recv().unwrap(), Taken::Item(1));
        assert_eq!(tx.capacity(), 1);
        tx.try_send(3).unwrap();
        assert_eq!(rx.try_recv().unwrap(), Taken::Item(2));
        assert_eq!(rx.try_recv().unwrap(), Taken::Item(3));
        assert!(matches!(rx.try_recv(), Err(TryRecvError::Empty)));
    }

    #[test]
    fn allocates_nothing_until_an_item_is_queued() {
        let (tx, _rx) = channel::<u32>(1024);
        assert_eq!(tx.shared.lock().items.capacity(), 0);
        tx.try_send(1).unwrap();
        assert_eq!(tx.shared.lock().items.capacity(), 1);
    }

    #[test]
    fn an_idle_queue_keeps_a_few_slots_only() {
        let (tx, mut rx) = channel::<usize>(1024);
        // One frame at a time: its slot goes once the queue is found empty.
        tx.try_send(0).unwrap();
        assert_eq!(rx.try_recv().unwrap(), Taken::Item(0));
        assert!(rx.recv().now_or_never().is_none());
        assert_eq!(tx.shared.lock().items.capacity(), 0);
        // A few at a time: kept for the next few.
        for i in 0..16 {
            tx.try_send(i).unwrap();
        }
        while rx.try_recv().is_ok() {}
        assert!(rx.recv().now_or_never().is_none());
        assert!(tx.shared.lock().items.capacity() >= 16);
        // A burst: its slots go.
        for i in 0..100 {
            tx.try_send(i).unwrap();
        }
        while rx.try_recv().is_ok() {}
        assert!(tx.shared.lock().items.capacity() >= 100);
        // The receiver waits on the empty queue: the slots go.
        assert!(rx.recv().now_or_never().is_none());
        assert_eq!(tx.shared.lock().items.capacity(), 0);
    }

    #[test]
    fn frames_share_one_buffer_and_never_overtake_items() {
        let (tx, mut rx) = channel::<u32>(4);
        tx.try_send_frame(b"h1", b"one").unwrap();
        tx.try_send_frame(b"h2", b"two").unwrap();
        assert_eq!(tx.capacity(), 2, "each frame takes a slot");
        tx.try_send(7).unwrap();
        assert_eq!(
            tx.try_send_frame(b"h3", b"three"),
            Err(FrameRefused::Behind),
            "behind the item"
        );
        tx.try_send(8).unwrap();
        assert_eq!(tx.try_send_frame(b"h", b"x"), Err(FrameRefused::Full));
        assert_eq!(
            rx.try_recv().unwrap(),
            Taken::Frames(Frames {
                bytes: b"h1oneh2two".to_vec(),
                count: 2,
                payload: 6
            })
        );
        assert_eq!(rx.try_recv().unwrap(), Taken::Item(7));
        assert_eq!(rx.try_recv().unwrap(), Taken::Item(8));
        // Nothing queued: frames again, in a buffer of their own.
        tx.try_send_frame(b"h4", b"four").unwrap();
        assert!(matches!(rx.try_recv(), Ok(Taken::Frames(f)) if f.bytes == b"h4four"));
        assert!(matches!(rx.try_recv(), Err(TryRecvError::Empty)));
        tx.close();
        assert_eq!(tx.try_send_frame(b"h", b"x"), Err(FrameRefused::Closed));
    }

    #[test]
    fn closed_when_the_other_side_is_gone() {
        let (tx, rx) = channel::<u32>(4);
        drop(rx);
        assert!(matches!(tx.try_send(1), Err(TrySendError::Closed(1))));

        let (tx, mut rx) = channel::<u32>(4);
        tx.try_send(1).unwrap();
        drop(tx);
        assert_eq!(rx.try_recv().unwrap(), Taken::Item(1));
        assert!(matches!(rx.try_recv(), Err(TryRecvError::Disconnected)));
    }

    #[tokio::test]
    async fn recv_wakes_on_send_and_ends_when_the_sender_goes() {
        let (tx, mut rx) = channel::<u32>(4);
        let waiter = tokio::spawn(async move {
            let first = rx.recv().await;
            let second = rx.recv().await;
            (first, second)
        });
        tokio::task::yield_now().await;
        tx.try_send(7).unwrap();
        drop(tx);
        let (first, second) = tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .expect("recv woke")
            .unwrap();
        assert_eq!(first, Some(Taken::Item(7)));
        assert_eq!(second, None);
    }

    #[test]
    fn a_running_receiver_is_not_woken_and_its_waker_is_kept() {
        struct Count(AtomicUsize);
        impl std::task::Wake for Count {
            fn wake(self: Arc<Self>) {
                self.wake_by_ref();
            }
            fn wake_by_ref(self: &Arc<Self>) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        let wakes = || count.0.load(Ordering::SeqCst);
        let (tx, mut rx) = channel::<u32>(4);

        assert!(rx.poll_recv(&mut cx).is_pending());
        // `count`, `waker` and the queue's clone.
        assert_eq!(Arc::strong_count(&count), 3);
        tx.try_send(1).unwrap();
        tx.try_send(2).unwrap();
        assert_eq!(wakes(), 1, "woken once, by the first item");

        // The task runs: it takes the items and waits again, with the waker it already gave.
        rx.unregister();
        assert!(matches!(
            rx.poll_recv(&mut cx),
            Poll::Ready(Some(Taken::Item(1)))
        ));
        assert!(matches!(
            rx.poll_recv(&mut cx),
            Poll::Ready(Some(Taken::Item(2)))
        ));
        assert!(rx.poll_recv(&mut cx).is_pending());
        assert_eq!(
            Arc::strong_count(&count),
            3,
            "the waker was not cloned again"
        );

        // While it runs, what it queues itself does not wake it.
        rx.unregister();
        tx.try_send(3).unwrap();
        assert_eq!(wakes(), 1);
        assert!(matches!(rx.try_recv(), Ok(Taken::Item(3))));

        // Registered without taking an item: woken by `wake` and by the sender going.
        rx.register(&mut cx);
        tx.wake();
        assert_eq!(wakes(), 2);
        rx.register(&mut cx);
        drop(tx);
        assert_eq!(wakes(), 3);
        assert!(matches!(rx.poll_recv(&mut cx), Poll::Ready(None)));
    }
}
