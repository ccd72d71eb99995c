//! wskit's own JSON for the hot paths, beside serde_json: a writer of serde_json's exact
//! compact bytes (`write`, a serde serializer; `known`, the types `protocol!` knows written
//! without serde), and a reader for the decoders' fast path that accepts only what
//! serde_json accepts, giving the same values (`read`). Both look at many bytes of a string at
//! a time where serde_json looks at one (writing) or eight (reading).

mod known;
mod read;
mod scan;
mod write;

pub use known::{WriteJson, close_object};
pub use read::Fields;
pub(crate) use read::from_str;
pub(crate) use scan::is_plain;
pub(crate) use write::{to_writer, write_str};
