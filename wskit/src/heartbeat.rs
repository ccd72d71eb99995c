//! Heartbeat settings, one type for both sides (PROTOCOL.md section 5): the server pings (RFC 6455
//! pings with a pong timeout), the client sends `__heartbeat` frames; each gives the other side
//! `timeout` after a beat to show a sign of life. The server always answers a client's
//! `__heartbeat` with `__heartbeat_ack`, whatever its own setting.

use std::time::Duration;

/// Heartbeat settings: a beat every `interval`, and `timeout` for the other side to show a sign
/// of life after one. The default is 30 s / 5 s on both sides.
///
/// On the server ([`ServerBuilder::heartbeat`](crate::server::ServerBuilder::heartbeat), on by
/// default) a beat is a ping; a connection that stays silent for `timeout` after it is closed
/// (close code 1001, reason "ping timeout"; its close hook runs).
///
/// ```
/// use std::time::Duration;
/// let hb = wskit::server::Heartbeat::default();
/// assert_eq!(hb.interval, Duration::from_secs(30));
/// assert_eq!(hb.timeout, Duration::from_secs(5));
/// ```
///
/// On the client ([`ClientBuilder::heartbeat`](crate::client::ClientBuilder::heartbeat), off by
/// default) a beat is a `__heartbeat` frame; when nothing at all arrives from the server within
/// `timeout` after one, the connection is treated as gone and the client reconnects.
///
/// ```
/// use std::time::Duration;
/// let hb = wskit::client::Heartbeat::default();
/// assert_eq!((hb.interval, hb.timeout), (Duration::from_secs(30), Duration::from_secs(5)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heartbeat {
    /// Time between beats (default 30 s).
    pub interval: Duration,
    /// Time the other side has to show a sign of life after a beat: a pong, or any frame
    /// (default 5 s).
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
