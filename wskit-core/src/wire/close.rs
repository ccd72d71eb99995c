//! The WebSocket close codes and reasons of PROTOCOL.md section 5, in one place: the server sends
//! them, the client sends [`NORMAL`], and an application's own code goes through
//! [`for_application`]; [`is_sendable`] tells which codes a close frame may carry at all.
//!
//! ```
//! use wskit::wire::close;
//! assert_eq!(close::for_application(4001), 4001);
//! assert_eq!(close::for_application(1005), close::INTERNAL_ERROR);
//! ```

/// 1000: a deliberate close (the client's `close()`).
pub const NORMAL: u16 = 1000;
/// 1001: the server is shutting down, or the peer missed its pong.
pub const GOING_AWAY: u16 = 1001;
/// 1002: the peer broke the WebSocket protocol.
pub const PROTOCOL_ERROR: u16 = 1002;
/// 1005: the peer's close frame carried no code (never sent; what a close hook is told).
pub const NO_STATUS: u16 = 1005;
/// 1006: the connection ended without a close frame (never sent; what a close hook is told).
pub const ABNORMAL: u16 = 1006;
/// 1007: a text frame (or a close reason) that is not valid UTF-8.
pub const INVALID_PAYLOAD: u16 = 1007;
/// 1008: a policy violation (a slow consumer, a message that does not complete in time, too
/// many bytes in incomplete messages across the server).
pub const POLICY_VIOLATION: u16 = 1008;
/// 1009: a frame larger than the server's limit.
pub const MESSAGE_TOO_BIG: u16 = 1009;
/// 1011: an internal error (an open hook that panicked, or an application code not allowed).
pub const INTERNAL_ERROR: u16 = 1011;

/// The reason sent with [`GOING_AWAY`] on a graceful shutdown.
pub const SHUTDOWN_REASON: &str = "server shutting down";
/// The reason sent with [`GOING_AWAY`] to a connection that missed its pong.
pub const PING_TIMEOUT_REASON: &str = "ping timeout";
/// The reason sent with [`POLICY_VIOLATION`] to a slow consumer.
pub const SLOW_CONSUMER_REASON: &str = "slow consumer";
/// The reason sent with [`POLICY_VIOLATION`] when a message does not complete in time.
pub const MESSAGE_TIMEOUT_REASON: &str = "message not completed in time";
/// The reason sent with [`POLICY_VIOLATION`] when an incomplete message that holds many bytes
/// stops receiving them.
pub const MESSAGE_STALLED_REASON: &str = "message stalled";
/// The reason sent with [`POLICY_VIOLATION`] when the bytes held in incomplete messages across
/// the server go over their budget.
pub const PARTIAL_BUDGET_REASON: &str = "partial messages over budget";
/// The reason sent with [`PROTOCOL_ERROR`].
pub const PROTOCOL_ERROR_REASON: &str = "protocol error";
/// The reason sent with [`INVALID_PAYLOAD`].
pub const INVALID_PAYLOAD_REASON: &str = "invalid UTF-8";
/// The reason sent with [`MESSAGE_TOO_BIG`].
pub const MESSAGE_TOO_BIG_REASON: &str = "frame too big";
/// The reason sent with [`INTERNAL_ERROR`] when an open hook panicked.
pub const INTERNAL_ERROR_REASON: &str = "internal error";

/// The close code actually sent for a code an application asked for: 1000, 1001, 1008, 1011
/// and 3000-4999 as given; any other (reserved by RFC 6455, or a transport condition the server
/// reports itself) as [`INTERNAL_ERROR`].
pub const fn for_application(code: u16) -> u16 {
    match code {
        NORMAL | GOING_AWAY | POLICY_VIOLATION | INTERNAL_ERROR | 3000..=4999 => code,
        _ => INTERNAL_ERROR,
    }
}

/// Whether an endpoint may put `code` in a close frame (RFC 6455 section 7.4): 1000-1003,
/// 1007-1011 and 3000-4999. Not 1004 (reserved), 1005, 1006 and 1015 (they only report what
/// happened, never sent), 0-999 (unused) nor 1012-2999 and 5000 on (not defined by RFC 6455). A
/// host that echoes a peer's close code checks it with this.
///
/// ```
/// use wskit::wire::close;
/// assert!(close::is_sendable(close::NORMAL));
/// assert!(close::is_sendable(4001));
/// assert!(!close::is_sendable(close::NO_STATUS));
/// assert!(!close::is_sendable(1004));
/// ```
pub const fn is_sendable(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1011 | 3000..=4999)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sendable_codes_are_those_of_rfc_6455() {
        let sendable: Vec<u16> = (0..=u16::MAX).filter(|&c| is_sendable(c)).collect();
        let expected: Vec<u16> = (1000..=1003)
            .chain(1007..=1011)
            .chain(3000..=4999)
            .collect();
        assert_eq!(sendable, expected);
        for code in [NO_STATUS, ABNORMAL, 1004, 1015, 999, 1012, 2999, 5000] {
            assert!(!is_sendable(code), "{code}");
        }
    }

    #[test]
    fn every_code_wskit_sends_is_sendable() {
        let sent = [
            NORMAL,
            GOING_AWAY,
            PROTOCOL_ERROR,
            INVALID_PAYLOAD,
            POLICY_VIOLATION,
            MESSAGE_TOO_BIG,
            INTERNAL_ERROR,
        ];
        for code in sent {
            assert!(is_sendable(code), "{code}");
        }
        for code in 0..=u16::MAX {
            assert!(is_sendable(for_application(code)), "{code}");
        }
    }
}
