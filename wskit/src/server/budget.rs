//! The per-connection inbound budget: frames and bytes per second, a token bucket each, that
//! every inbound frame draws on before it is decoded (unlike [`RateLimit`](super::RateLimit),
//! a middleware, which sees only frames routed to a handler). Past it the connection is not read
//! until the buckets refill.

use std::time::Duration;

use tokio::time::Instant;

/// How much one connection may send: frames per second and bytes per second, with bursts of
/// one second's worth of each. Set it with
/// [`ServerBuilder::inbound_budget`](super::ServerBuilder::inbound_budget); there is none by
/// default.
///
/// Every inbound frame counts (text, binary, RFC 6455 ping and pong; a fragmented message counts
/// as one frame of its whole size), whether it turns out valid or not. A connection over its
/// budget is not read until it is within it again: its frames wait in the socket buffers (TCP
/// then slows the client down), none is dropped or refused, and other connections do not
/// notice.
///
/// ```
/// use wskit::server::{InboundBudget, Server};
/// let budget = InboundBudget::new(200, 1024 * 1024);
/// assert_eq!(budget.frames_per_sec, 200);
/// let _b = Server::<()>::builder().inbound_budget(budget);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InboundBudget {
    /// Frames per second (at least 1).
    pub frames_per_sec: u32,
    /// Bytes per second (at least 1).
    pub bytes_per_sec: u64,
}

impl InboundBudget {
    /// A budget of `frames_per_sec` frames and `bytes_per_sec` bytes a second (each at least 1).
    pub fn new(frames_per_sec: u32, bytes_per_sec: u64) -> Self {
        InboundBudget {
            frames_per_sec: frames_per_sec.max(1),
            bytes_per_sec: bytes_per_sec.max(1),
        }
    }
}

/// One connection's buckets. A frame is read while both hold at least one token (a frame, a
/// byte); reading it takes its frame and all its bytes, which may leave the byte bucket in debt
/// (a big frame then pauses the connection for as long as its bytes take to refill).
#[derive(Debug)]
pub(crate) struct Bucket {
    budget: InboundBudget,
    frames: f64,
    bytes: f64,
    /// When the buckets were last refilled.
    at: Instant,
}

impl Bucket {
    /// Full buckets.
    pub(crate) fn new(budget: InboundBudget, now: Instant) -> Self {
        let budget = InboundBudget::new(budget.frames_per_sec, budget.bytes_per_sec);
        Bucket {
            budget,
            frames: f64::from(budget.frames_per_sec),
            bytes: budget.bytes_per_sec as f64,
            at: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let secs = now.saturating_duration_since(self.at).as_secs_f64();
        self.at = self.at.max(now);
        let (frames, bytes) = (
            f64::from(self.budget.frames_per_sec),
            self.budget.bytes_per_sec as f64,
        );
        self.frames = (self.frames + secs * frames).min(frames);
        self.bytes = (self.bytes + secs * bytes).min(bytes);
    }

    /// A frame of `len` bytes was read at `now`.
    pub(crate) fn take(&mut self, len: usize, now: Instant) {
        self.refill(now);
        self.frames -= 1.0;
        self.bytes -= len as f64;
    }

    /// `None` when another frame may be read; else when it may (the buckets are refilled to
    /// now first, only then: tokens only grow while nothing is read).
    pub(crate) fn wait(&mut self) -> Option<Instant> {
        if self.frames >= 1.0 && self.bytes >= 1.0 {
            return None;
        }
        self.refill(Instant::now());
        let frames = (1.0 - self.frames) / f64::from(self.budget.frames_per_sec);
        let bytes = (1.0 - self.bytes) / self.budget.bytes_per_sec as f64;
        let secs = frames.max(bytes);
        (secs > 0.0).then(|| self.at + Duration::from_secs_f64(secs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_of_one_seconds_worth_then_the_rate() {
        let t0 = Instant::now();
        let mut b = Bucket::new(InboundBudget::new(10, 1_000_000), t0);
        for _ in 0..10 {
            assert_eq!(b.wait(), None);
            b.take(10, t0);
        }
        // Empty: the next frame may come a tenth of a second later.
        let at = b.wait().expect("throttled");
        assert!(at >= t0 + Duration::from_millis(99), "{:?}", at - t0);
        assert!(at <= Instant::now() + Duration::from_millis(101));
        b.take(10, at);
        assert!(b.wait().is_some());
    }

    #[test]
    fn a_big_frame_pauses_for_its_bytes() {
        let t0 = Instant::now();
        let mut b = Bucket::new(InboundBudget::new(1000, 1000), t0);
        b.take(3000, t0);
        // 2001 bytes of debt at 1000 a second.
        let at = b.wait().expect("throttled");
        assert!(at >= t0 + Duration::from_millis(2000), "{:?}", at - t0);
    }

    #[test]
    fn refilled_never_above_one_seconds_worth() {
        let t0 = Instant::now();
        let mut b = Bucket::new(InboundBudget::new(5, 100), t0);
        b.take(1, t0 + Duration::from_secs(3600));
        assert_eq!(b.frames, 4.0);
        assert_eq!(b.bytes, 99.0);
        // Zero rates are taken as 1.
        let z = Bucket::new(InboundBudget::new(0, 0), t0);
        assert_eq!((z.frames, z.bytes), (1.0, 1.0));
    }
}
