//! The wire format (`../shared/PROTOCOL.md`): the envelope, the runtime's own frame types, and errors.
//!
//! Server and client both read and write frames through this module only.

mod error;
mod frame;
pub(crate) mod strict;

pub use error::{Error, ErrorCode};
pub(crate) use frame::{Correlated, peek_type};
pub use frame::{
    InboundFrame, Meta, OutMeta, RESERVED_META_KEYS, STANDARD_META_KEYS, encode_error,
    encode_frame, encode_progress, is_reserved_type, peek_correlation_id, types,
};
