//! The offline queue: frames sent while the connection is not open, flushed in order on open.

use std::collections::VecDeque;

/// An encoded frame's text, ready for the socket (cloned without copying).
pub(crate) type FrameText = tokio_tungstenite::tungstenite::Utf8Bytes;

/// What the offline queue does while the connection is not open (PROTOCOL.md section 7).
///
/// ```
/// use wskit::client::QueuePolicy;
/// assert_eq!(QueuePolicy::default(), QueuePolicy::DropNewest);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum QueuePolicy {
    /// Queue; when full, refuse the new frame (`ClientError::QueueFull`). The default.
    #[default]
    DropNewest,
    /// Queue; when full, evict the oldest frame to make room (reported to `on_error`).
    DropOldest,
    /// Do not queue: sending while not open fails with `ClientError::NotConnected`.
    Off,
}

/// One outbound item, queued or on its way to the socket.
#[derive(Debug, Clone)]
pub(crate) enum Outbound {
    /// A ready message frame and its wire type (for overflow reports).
    Frame {
        /// The message type.
        ty: &'static str,
        /// The frame.
        text: FrameText,
    },
    /// `$ws:abort` for this correlation id (never queued, never sent again after a loss).
    Abort(u64),
    /// A request: its frame lives in the pending table under this correlation id.
    Request(u64),
}

/// What pushing into a full queue did.
#[derive(Debug)]
pub(crate) enum Pushed {
    /// Queued.
    Queued,
    /// Queued after evicting this oldest item.
    Evicted(Outbound),
    /// Refused: the queue is full (drop-newest) or off.
    Refused,
}

/// A bounded FIFO with an overflow policy.
#[derive(Debug)]
pub(crate) struct OfflineQueue {
    items: VecDeque<Outbound>,
    policy: QueuePolicy,
    capacity: usize,
}

impl OfflineQueue {
    pub(crate) fn new(policy: QueuePolicy, capacity: usize) -> Self {
        OfflineQueue {
            items: VecDeque::new(),
            policy,
            capacity,
        }
    }

    pub(crate) fn policy(&self) -> QueuePolicy {
        self.policy
    }

    /// Appends `item` following the policy.
    pub(crate) fn push(&mut self, item: Outbound) -> Pushed {
        match self.policy {
            QueuePolicy::Off => Pushed::Refused,
            _ if self.capacity == 0 => Pushed::Refused,
            QueuePolicy::DropNewest if self.items.len() >= self.capacity => Pushed::Refused,
            QueuePolicy::DropOldest if self.items.len() >= self.capacity => {
                let evicted = self.items.pop_front();
                self.items.push_back(item);
                evicted.map_or(Pushed::Queued, Pushed::Evicted)
            }
            _ => {
                self.items.push_back(item);
                Pushed::Queued
            }
        }
    }

    /// Puts items that never reached the socket back at the front, in their order, ignoring the
    /// capacity (they were accepted already).
    pub(crate) fn requeue_front(&mut self, items: Vec<Outbound>) {
        for item in items.into_iter().rev() {
            self.items.push_front(item);
        }
    }

    /// Removes a request's entry (cancelled, dropped or failed while queued), so it no longer
    /// takes a place.
    pub(crate) fn remove_request(&mut self, id: u64) {
        if self.items.is_empty() {
            return;
        }
        self.items
            .retain(|item| !matches!(item, Outbound::Request(r) if *r == id));
    }

    /// Takes every item, oldest first.
    pub(crate) fn drain(&mut self) -> Vec<Outbound> {
        self.items.drain(..).collect()
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(s: &str) -> Outbound {
        Outbound::Frame {
            ty: "T",
            text: s.into(),
        }
    }

    fn texts(q: &mut OfflineQueue) -> Vec<String> {
        q.drain()
            .into_iter()
            .map(|o| match o {
                Outbound::Frame { text, .. } => text.to_string(),
                Outbound::Request(id) | Outbound::Abort(id) => id.to_string(),
            })
            .collect()
    }

    #[test]
    fn policies() {
        let mut q = OfflineQueue::new(QueuePolicy::DropNewest, 2);
        assert!(matches!(q.push(frame("a")), Pushed::Queued));
        assert!(matches!(q.push(frame("b")), Pushed::Queued));
        assert!(matches!(q.push(frame("c")), Pushed::Refused));
        assert_eq!(texts(&mut q), ["a", "b"]);

        let mut q = OfflineQueue::new(QueuePolicy::DropOldest, 2);
        q.push(frame("a"));
        q.push(frame("b"));
        assert!(
            matches!(q.push(frame("c")), Pushed::Evicted(Outbound::Frame { text, .. }) if &*text == "a")
        );
        q.requeue_front(vec![frame("x"), frame("y")]);
        assert_eq!(texts(&mut q), ["x", "y", "b", "c"]);

        let mut q = OfflineQueue::new(QueuePolicy::DropNewest, 3);
        q.push(frame("a"));
        q.push(Outbound::Request(7));
        q.push(frame("b"));
        q.remove_request(7);
        assert_eq!(q.len(), 2);
        assert!(matches!(q.push(Outbound::Request(8)), Pushed::Queued));

        let mut q = OfflineQueue::new(QueuePolicy::Off, 2);
        assert!(matches!(q.push(frame("a")), Pushed::Refused));
        assert_eq!(q.len(), 0);
    }
}
