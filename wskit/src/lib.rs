//! # wskit
//!
//! Type-safe WebSocket routing and RPC for Rust, wire-compatible with the TypeScript library ws-kit.
//!
//! Declare a protocol once with [`protocol!`]; share it between server and client:
//!
//! ```
//! wskit::protocol! {
//!     /// A tiny chat.
//!     pub protocol Chat {
//!         message JoinRoom { room_id: String }
//!         event UserJoined { room_id: String, user_id: String }
//!         rpc GetUser(user_id: String) -> UserData { name: String, email: Option<String> }
//!     }
//! }
//! let join = JoinRoom { room_id: "general".into() };
//! assert_eq!(serde_json::to_string(&join).unwrap(), r#"{"roomId":"general"}"#);
//! ```
//!
//! See the README for the DSL, the server and the client.
#![warn(missing_docs)]

pub mod client;
pub mod describe;
mod protocol;
pub mod pubsub;
pub mod server;
pub mod validate;
pub mod wire;

pub use protocol::{EventSet, Message, NoMeta, NoProgress, Protocol, Rpc};
pub use validate::{Issue, Issues, Validate};
pub use wire::{Error, ErrorCode};
pub use wskit_macros::protocol;

/// What generated code reaches the runtime through. Not public API: no stability promise.
#[doc(hidden)]
pub mod __private {
    pub use crate::client::Client;
    pub use crate::server::{
        __serve_message as serve_message, __serve_rpc as serve_rpc, __serve_unknown as serve_unknown,
    };
    pub use crate::validate::*;
    pub use futures_util::future::BoxFuture;
    pub use regex::Regex;
    pub use serde;
    pub use serde_json;
    pub use serde_json::value::RawValue;
    pub use std::sync::LazyLock;
}
