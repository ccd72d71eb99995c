//! Validation: the issue type and decoding that reports every issue of a payload at once. The
//! helpers that generated code calls (the constraint checks, `field`, `decode_with_serde`,
//! `object_entries`) are not part of the public API: generated code reaches them through
//! `wskit::__private`.
//!
//! Decoding is strict, as PROTOCOL.md section 1 asks: unknown keys, missing required keys and
//! wrong types are issues, each with a JSON path such as `payload.userId` or `payload.tags[2]`.

pub(crate) mod check;
pub(crate) mod decode;
pub(crate) mod issues;

pub use crate::wire::decode::{decode_meta, decode_payload};
pub use decode::Decode;
pub use issues::{Issue, Issues, Path, Validate};
