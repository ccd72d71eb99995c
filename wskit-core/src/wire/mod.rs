//! The wire format (`../shared/PROTOCOL.md`): the envelope, the runtime's own frame types, and errors.
//!
//! Server and client both read and write frames through this module only.

pub mod close;
mod correlation_id;
pub(crate) mod decode;
pub(crate) mod encode;
pub(crate) mod error;
pub(crate) mod frame;
pub mod inbound;
pub(crate) mod json;
pub(crate) mod strict;

pub use correlation_id::CorrelationId;
#[doc(hidden)]
pub use decode::check_meta_shape;
#[doc(hidden)]
pub use decode::{
    decode_frame_common, decode_frame_reference, decode_frame_text, decode_frame_whole,
    decode_meta_text, decode_payload_text, split_reply,
};
#[doc(hidden)]
pub use encode::encode_progress_message;
pub use encode::{
    encode_message, encode_message_then, encode_reply, encode_reply_then, encode_request,
};
pub use error::{Error, ErrorCode};
#[doc(hidden)]
pub use frame::{Correlated, peek_type};
pub use frame::{
    FrameParts, InboundFrame, Meta, OutMeta, RESERVED_META_KEYS, STANDARD_META_KEYS, encode_error,
    encode_frame, encode_heartbeat_ack, encode_progress, error_payload, is_reserved_type,
    meta_keys, peek_correlation_id, progress_update, types,
};
#[doc(hidden)]
pub use frame::{MAX_META_DEPTH, MAX_META_VALUES};
