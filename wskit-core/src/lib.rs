//! # wskit-core
//!
//! The runtime-free half of [wskit](https://docs.rs/wskit): everything about a protocol that
//! needs no socket, no timer and no async runtime. The wire envelope (read and written), errors
//! and error codes, the close codes and standard meta keys, validation, the traits generated
//! types implement, the walkable protocol description and its export to TypeScript and JSON
//! Schema. It builds for any target with `std`
//! (`cargo build -p wskit-core --target wasm32-unknown-unknown`), so a host other than tokio (a
//! Cloudflare Durable Object, an in-memory transport) can speak the protocol with it.
//!
//! Applications depend on `wskit`, which re-exports all of this under the same paths
//! (`wskit::wire::Error`, `wskit::validate::Issue`, `wskit::Message`).
#![warn(missing_docs)]

pub mod describe;
pub mod export;
mod protocol;
pub mod validate;
pub mod wire;

pub use describe::PayloadForm;
pub use protocol::{EventSet, Message, NoMeta, NoProgress, Protocol, Rpc};
pub use validate::{Issue, Issues, Validate};
pub use wire::{Error, ErrorCode};
