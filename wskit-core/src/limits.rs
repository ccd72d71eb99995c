//! The defaults every host shares: the tokio server's `Limits::default()` and `wskit::local`'s
//! builder both start from these, so that a protocol served on either host refuses the same
//! frames and requests.

/// The largest inbound frame, in bytes, unless configured otherwise: 1 MiB. A bigger one closes
/// the connection with 1009 ("frame too big").
///
/// ```
/// assert_eq!(wskit::limits::DEFAULT_MAX_FRAME_BYTES, 1024 * 1024);
/// ```
pub const DEFAULT_MAX_FRAME_BYTES: usize = 1024 * 1024;

/// The requests one connection may have running at once unless configured otherwise; beyond it
/// a request is answered `RESOURCE_EXHAUSTED`.
///
/// ```
/// assert_eq!(wskit::limits::DEFAULT_MAX_IN_FLIGHT, 64);
/// ```
pub const DEFAULT_MAX_IN_FLIGHT: usize = 64;
