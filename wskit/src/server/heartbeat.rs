//! Server heartbeat: RFC 6455 pings with a pong timeout (PROTOCOL.md section 5).
//!
//! The client heartbeat (`__heartbeat` -> `__heartbeat_ack`) is always answered; see the socket loop.

use std::time::Duration;

/// Ping settings. The default pings every 30 s and closes a connection that stays silent for 5 s
/// after a ping (close code 1001, reason "ping timeout"; its close hook runs).
///
/// ```
/// use std::time::Duration;
/// let hb = wskit::server::Heartbeat::default();
/// assert_eq!(hb.interval, Duration::from_secs(30));
/// assert_eq!(hb.timeout, Duration::from_secs(5));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heartbeat {
    /// Time between pings.
    pub interval: Duration,
    /// Time a client has to show a sign of life (a pong or any frame) after a ping.
    pub timeout: Duration,
}

impl Default for Heartbeat {
    fn default() -> Self {
        Heartbeat {
            interval: Duration::from_secs(30),
            timeout: Duration::from_secs(5),
        }
    }
}
