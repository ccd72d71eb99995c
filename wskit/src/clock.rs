//! The wall clock in milliseconds since the epoch: `timestamp` of the client's frames, `ts` of the
//! server's heartbeat ack.

/// Now, in milliseconds since the Unix epoch (0 for a clock set before it).
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
