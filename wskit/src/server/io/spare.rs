//! Buffers a worker thread keeps between one batch of frames and the next, whichever of its
//! connections the batches belong to.
//!
//! A connection holds no buffer while it is idle (its read buffer and its outbound frames are
//! freed once empty), so a busy one would allocate both anew for every batch: a read of several
//! frames, a batch of answers. Those buffers are a few KiB, past the sizes the allocator keeps
//! per thread, and each costs an allocation and a free that show in the instructions per
//! request. Here the emptied buffers wait, a few per thread, for the next batch that needs one:
//! memory per worker thread (at most [`KEPT`] buffers of at most [`KEPT_CAPACITY`] bytes each),
//! none per connection.
//!
//! ```text
//! batch of answers: spare::out_buffer() -> filled -> written to the socket -> spare::keep_out()
//! read of frames:   spare::read_buffer() -> frames split off it -> emptied -> spare::keep_read()
//! ```

use std::cell::RefCell;

use bytes::BytesMut;

/// The most buffers of each kind a thread keeps.
const KEPT: usize = 4;

/// Bigger buffers are freed, not kept: one huge batch must not pin its memory to the thread.
const KEPT_CAPACITY: usize = 64 * 1024;

#[derive(Default)]
struct Kept {
    out: Vec<Vec<u8>>,
    read: Vec<BytesMut>,
}

thread_local! {
    static KEPT_HERE: RefCell<Kept> = RefCell::default();
}

/// Runs `f` on this thread's kept buffers; `None` while the thread is exiting, or when re-entered.
fn with_kept<R>(f: impl FnOnce(&mut Kept) -> R) -> Option<R> {
    KEPT_HERE
        .try_with(|kept| kept.try_borrow_mut().ok().map(|mut kept| f(&mut kept)))
        .ok()
        .flatten()
}

/// Whether a buffer of `capacity` bytes is worth keeping.
fn worth_keeping(capacity: usize) -> bool {
    capacity > 0 && capacity <= KEPT_CAPACITY
}

/// Pushes `buf` on `stack` unless enough are kept.
fn push<T>(stack: &mut Vec<T>, buf: T) {
    if stack.len() < KEPT {
        stack.push(buf);
    }
}

/// An empty buffer for outbound frames: one this thread kept, else a new one with room for
/// `first` bytes.
pub(crate) fn out_buffer(first: usize) -> Vec<u8> {
    with_kept(|kept| kept.out.pop())
        .flatten()
        .unwrap_or_else(|| Vec::with_capacity(first))
}

/// Keeps an outbound buffer the socket is done with (its bytes are dropped) for this thread's
/// next batch, unless it is too big or enough are kept.
pub(crate) fn keep_out(mut buf: Vec<u8>) {
    if worth_keeping(buf.capacity()) {
        buf.clear();
        with_kept(|kept| push(&mut kept.out, buf));
    }
}

/// An empty read buffer: one this thread kept (its room is reused once the messages split off
/// it are dropped: `BytesMut::reserve` reclaims it then), else an unallocated one.
pub(crate) fn read_buffer() -> BytesMut {
    with_kept(|kept| kept.read.pop())
        .flatten()
        .unwrap_or_default()
}

/// Keeps an emptied read buffer for this thread's next read of several frames, unless it is too
/// big or enough are kept.
pub(crate) fn keep_read(buf: BytesMut) {
    debug_assert!(buf.is_empty(), "only an emptied buffer is kept");
    if buf.is_empty() && worth_keeping(buf.capacity()) {
        with_kept(|kept| push(&mut kept.read, buf));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_out_buffer_comes_back_empty_with_its_room() {
        let mut buf = out_buffer(100);
        assert!(buf.capacity() >= 100);
        buf.extend_from_slice(&[7; 300]);
        let (ptr, cap) = (buf.as_ptr(), buf.capacity());
        keep_out(buf);
        let again = out_buffer(100);
        assert_eq!(
            (again.as_ptr(), again.capacity(), again.len()),
            (ptr, cap, 0)
        );
    }

    #[test]
    fn big_buffers_and_more_than_kept_are_freed() {
        keep_out(Vec::with_capacity(KEPT_CAPACITY + 1));
        assert_eq!(out_buffer(0).capacity(), 0, "the big one was not kept");
        for _ in 0..KEPT + 2 {
            keep_out(Vec::with_capacity(64));
        }
        let taken: Vec<_> = (0..KEPT + 2).map(|_| out_buffer(0)).collect();
        assert_eq!(taken.iter().filter(|b| b.capacity() >= 64).count(), KEPT);
    }

    #[test]
    fn a_read_buffer_is_reused_once_its_messages_are_gone() {
        let mut held = read_buffer();
        held.extend_from_slice(&[1; 1500]);
        let start = held.as_ptr();
        let message = held.split_to(1500).freeze();
        keep_read(held);
        drop(message);
        let mut again = read_buffer();
        again.reserve(1500);
        assert_eq!(again.as_ptr(), start, "the same allocation, reclaimed");
        // A message still alive keeps its bytes: the next buffer is a new allocation.
        again.extend_from_slice(&[2; 10]);
        let alive = again.split_to(10).freeze();
        keep_read(again);
        let mut third = read_buffer();
        third.extend_from_slice(&[3; 10]);
        assert_eq!(&alive[..], &[2; 10]);
        assert_eq!(&third[..], &[3; 10]);
    }
}
