//! Validation: the issue type, decoding that reports every issue of a payload at once, and the
//! constraint checks that generated code calls.
//!
//! Decoding is strict, as PROTOCOL.md section 1 asks: unknown keys, missing required keys and
//! wrong types are issues, each with a JSON path such as `payload.userId` or `payload.tags[2]`.

pub(crate) mod check;
pub(crate) mod decode;
pub(crate) mod issues;

pub use crate::wire::decode::{decode_meta, decode_payload};
pub use check::*;
pub use decode::{Decode, decode_with_serde, field, object_entries, object_entries_within};
pub use issues::{Issue, Issues, Path, Validate};
