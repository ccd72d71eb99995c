//! Per-server limits and their defaults.

use std::time::Duration;

use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::budget::InboundBudget;

/// What to do with a connection whose outbound queue is full (a slow consumer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SlowConsumerPolicy {
    /// Close the connection with 1008 "slow consumer" (the default): it has fallen behind and
    /// would otherwise miss frames silently.
    #[default]
    Close,
    /// Drop the frame that does not fit and report it to the error hook; the connection lives on.
    Drop,
}

/// The limits a server enforces. Every field has a documented default; set them through
/// [`ServerBuilder`](super::ServerBuilder).
///
/// ```
/// let limits = wskit::server::Limits::default();
/// assert_eq!(limits.max_frame_bytes, 1024 * 1024);
/// assert_eq!(limits.max_topics_per_connection, 1000);
/// assert_eq!(limits.outbound_queue_bytes, 4 * 1024 * 1024);
/// assert_eq!(limits.message_timeout, std::time::Duration::from_secs(10));
/// assert_eq!(limits.max_partial_message_bytes, 64 * 1024 * 1024);
/// assert_eq!(limits.max_stalled_message_bytes, 64 * 1024);
/// assert_eq!(limits.message_stall_timeout, std::time::Duration::from_secs(2));
/// assert!(limits.inbound_budget.is_none());
/// ```
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest inbound message in bytes; a bigger one closes the connection with 1009.
    /// Default 1 MiB.
    pub max_frame_bytes: usize,
    /// Requests (messages and RPCs) one connection may have in flight at once; one more is
    /// answered `RESOURCE_EXHAUSTED`. Default 64.
    pub max_in_flight: usize,
    /// Frames one connection's outbound queue holds. While it is more than half full the
    /// connection's own frames are not read (backpressure on a client that sends faster than it
    /// reads); frames pushed from elsewhere (publications, other tasks) that do not fit meet the
    /// slow-consumer policy. Default 1024.
    pub outbound_queue: usize,
    /// Bytes the server may owe one connection: frames queued but not yet written, and the
    /// bytes the socket has not taken yet (automatic pongs included). Like
    /// [`outbound_queue`](Self::outbound_queue), more than half of it pauses reading the
    /// connection's frames (pings included: a client that sends pings and never reads is not
    /// read either, and the write timeout closes it), and a frame from elsewhere that would
    /// go over it meets the slow-consumer policy. A single frame bigger than the budget is still
    /// queued when the queue is empty. Default 4 MiB.
    pub outbound_queue_bytes: usize,
    /// What happens when the outbound queue is full. Default [`SlowConsumerPolicy::Close`].
    pub slow_consumer: SlowConsumerPolicy,
    /// How long the socket may take to accept one batch of outbound frames; a client that stops
    /// reading (with the heartbeat off, nothing else notices) is closed with 1008 "slow consumer"
    /// then. Default 10 s.
    pub write_timeout: Duration,
    /// Open connections; one more upgrade is answered 503. Default 10 000.
    pub max_connections: usize,
    /// Time a client has to send its whole upgrade request. Default 5 s.
    pub upgrade_timeout: Duration,
    /// Sockets accepted whose upgrade request has not arrived yet. They do not hold connection
    /// slots (a socket counts against [`max_connections`](Self::max_connections) once its
    /// request is read); one more pushes out the oldest (answered 503), so sockets that never
    /// send a request cannot keep real clients out. Default 1000.
    pub max_pending_upgrades: usize,
    /// How long an inbound message may stay incomplete (a fragmented message whose last frame
    /// has not come, or a frame not all read): past it, counted from when the server first
    /// waits for the rest, the connection is closed with 1008. Time while the server itself
    /// does not read the connection (backpressure, the inbound budget) does not count.
    /// Default 10 s.
    pub message_timeout: Duration,
    /// Bytes an incomplete inbound message may hold while it is not progressing: one that
    /// holds more and receives no byte for [`message_stall_timeout`](Self::message_stall_timeout)
    /// closes the connection with 1008 "message stalled". So a connection holds at most this
    /// much of a stalled message (well below [`max_frame_bytes`](Self::max_frame_bytes)), and
    /// only a message whose bytes keep coming can grow to the frame limit (within
    /// [`message_timeout`](Self::message_timeout)). Default 64 KiB.
    pub max_stalled_message_bytes: usize,
    /// How long an incomplete inbound message holding more than
    /// [`max_stalled_message_bytes`](Self::max_stalled_message_bytes) may go without a byte of
    /// it arriving; as for the message timeout, time the server itself does not read the
    /// connection does not count. Default 2 s.
    pub message_stall_timeout: Duration,
    /// Bytes held in incomplete inbound messages across the whole server (each connection
    /// holds at most [`max_frame_bytes`](Self::max_frame_bytes) of them; a message counts once
    /// it holds more than the 4 KiB read buffer every connection has). The connection whose
    /// bytes go over it is closed with 1008 "partial messages over budget". Default 64 MiB.
    pub max_partial_message_bytes: usize,
    /// Frames and bytes per second one connection may send, counted for every inbound frame
    /// before it is decoded (invalid frames, `__heartbeat` and RFC 6455 pings included). Past
    /// it the server stops reading the connection until the budget refills (backpressure: no
    /// frame is dropped or refused). Default `None`: no budget.
    pub inbound_budget: Option<InboundBudget>,
    /// Topics one connection may hold. Default 1000.
    pub max_topics_per_connection: usize,
    /// How long a graceful shutdown waits for handlers in flight before it closes the sockets.
    /// Default 10 s.
    pub shutdown_timeout: Duration,
    /// How long the server waits for the peer's answer to its close frame. Default 2 s.
    pub close_timeout: Duration,
}

/// Bytes of an incomplete inbound message not charged to [`Limits::max_partial_message_bytes`]
/// (the frames of one read are held for a moment anyway). A connection has no read buffer of
/// its own: `io/ws.rs` reads into a per-task scratch buffer and gives tungstenite none.
pub(crate) const READ_BUFFER_BYTES: usize = 4 * 1024;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame_bytes: wskit_core::limits::DEFAULT_MAX_FRAME_BYTES,
            max_in_flight: wskit_core::limits::DEFAULT_MAX_IN_FLIGHT,
            outbound_queue: 1024,
            outbound_queue_bytes: 4 * 1024 * 1024,
            write_timeout: Duration::from_secs(10),
            slow_consumer: SlowConsumerPolicy::Close,
            max_connections: 10_000,
            upgrade_timeout: Duration::from_secs(5),
            max_pending_upgrades: 1000,
            message_timeout: Duration::from_secs(10),
            max_stalled_message_bytes: 64 * 1024,
            message_stall_timeout: Duration::from_secs(2),
            max_partial_message_bytes: 64 * 1024 * 1024,
            inbound_budget: None,
            max_topics_per_connection: crate::pubsub::DEFAULT_MAX_TOPICS_PER_CONNECTION,
            shutdown_timeout: Duration::from_secs(10),
            close_timeout: Duration::from_secs(2),
        }
    }
}

impl Limits {
    /// The tokio-tungstenite configuration: small buffers, so an idle connection costs little
    /// memory, and the inbound frame limit. The write buffer has no cap of tungstenite's own
    /// (a cap would refuse a reply bigger than it): what it holds unwritten counts against
    /// `outbound_queue_bytes` with the queue (`WsStream::owed`), and the connection's frames are
    /// not read while that is over half the budget, so neither replies nor automatic pongs
    /// pile up there.
    pub(crate) fn websocket_config(&self) -> WebSocketConfig {
        WebSocketConfig::default()
            .read_buffer_size(READ_BUFFER_BYTES)
            .write_buffer_size(8 * 1024)
            .max_write_buffer_size(usize::MAX)
            .max_message_size(Some(self.max_frame_bytes))
            .max_frame_size(Some(self.max_frame_bytes))
    }
}
