//! Connection states and the reconnect ("gap") notification.

use std::fmt;
use std::time::Duration;

/// The five states of a client connection (PROTOCOL.md section 7).
///
/// ```
/// use wskit::client::ConnectionState;
/// assert_eq!(ConnectionState::Reconnecting.to_string(), "reconnecting");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectionState {
    /// Not connected: before `connect`, after `close`, or after reconnecting gave up.
    Closed,
    /// A connection attempt is under way.
    Connecting,
    /// Connected: frames go straight to the socket.
    Open,
    /// A deliberate close is under way.
    Closing,
    /// Waiting out the backoff delay before the next attempt.
    Reconnecting,
}

impl fmt::Display for ConnectionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConnectionState::Closed => "closed",
            ConnectionState::Connecting => "connecting",
            ConnectionState::Open => "open",
            ConnectionState::Closing => "closing",
            ConnectionState::Reconnecting => "reconnecting",
        })
    }
}

/// A reconnect happened: the client was offline, so server events of that time are lost.
/// Catch up (refetch state) when you receive one.
///
/// ```
/// # async fn demo(client: wskit::client::Client) {
/// let mut gaps = client.gaps();
/// while let Ok(gap) = gaps.recv().await {
///     println!("reconnected after {:?}; re-sent {} subscriptions", gap.offline, gap.resubscribed);
/// }
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    /// How long the connection was down (from the unexpected close to the new open).
    pub offline: Duration,
    /// How many connection attempts the reconnect took.
    pub attempts: u32,
    /// Subscription messages sent again.
    pub resubscribed: usize,
    /// Idempotent requests that were in flight and were sent again.
    pub resent: usize,
}
