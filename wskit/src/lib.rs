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
//! Serve it and call it (a server on an ephemeral port of 127.0.0.1, and a client):
//!
//! ```
//! # wskit::protocol! {
//! #     pub protocol Chat {
//! #         message JoinRoom { room_id: String }
//! #         event UserJoined { room_id: String, user_id: String }
//! #         rpc GetUser(user_id: String) -> UserData { name: String, email: Option<String> }
//! #     }
//! # }
//! use wskit::server::{Context, RpcContext, Server};
//!
//! struct App;
//!
//! impl ChatHandler for App {
//!     type Data = ();
//!
//!     async fn join_room(&self, ctx: Context<()>, msg: JoinRoom) -> Result<(), wskit::Error> {
//!         let joined = UserJoined { room_id: msg.room_id, user_id: ctx.client_id().to_string() };
//!         ctx.send(&joined).map_err(|e| wskit::Error::internal(e.to_string()))
//!     }
//!
//!     async fn get_user(&self, _: RpcContext<(), GetUser>, req: GetUser) -> Result<UserData, wskit::Error> {
//!         match req.user_id.as_str() {
//!             "u1" => Ok(UserData { name: "Ada".into(), email: None }),
//!             _ => Err(wskit::Error::not_found("no such user")),
//!         }
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let server = Server::builder().service(Chat::server(App)).build()?;
//! let handle = server.handle();
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let url = format!("ws://{}", listener.local_addr()?);
//! let serving = tokio::spawn(server.serve_with_shutdown(listener, std::future::pending()));
//!
//! let client = wskit::client::Client::builder(url).build();
//! let chat = ChatClient::new(client.clone());
//! client.connect().await?;
//! assert_eq!(chat.get_user(GetUser { user_id: "u1".into() }).await?.name, "Ada");
//! match chat.get_user(GetUser { user_id: "u2".into() }).await {
//!     Err(wskit::client::ClientError::Rpc(e)) => assert_eq!(e.code, wskit::ErrorCode::NotFound),
//!     other => panic!("{other:?}"),
//! }
//! let mut events = chat.events();
//! chat.join_room(JoinRoom { room_id: "general".into() })?;
//! let Some(ChatEvent::UserJoined(joined)) = events.recv().await else { panic!() };
//! assert_eq!(joined.room_id, "general");
//!
//! client.close().await;
//! handle.shutdown().await;
//! serving.await??;
//! # Ok(())
//! # }
//! ```
//!
//! See the README for the DSL, the server and the client.
//!
//! ## Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `server` | yes | [`server`], [`pubsub`], and in each `protocol!` the handler trait and service |
//! | `client` | yes | [`client`], and in each `protocol!` the typed client stub |
//! | `axum` | no | mounting a server in an axum 0.8 router (implies `server`) |
//! | `local` | no | [`local`]: serving on a single-threaded host other than tokio (a Cloudflare Durable Object), and in each `protocol!` the `*LocalHandler` trait (futures need not be `Send`) and `*LocalService`; runtime-free, builds for `wasm32-unknown-unknown` |
//!
//! A crate that only calls a server (or only serves) can turn the other side off:
//! `wskit = { version = "0.1", default-features = false, features = ["client"] }`. The message
//! types, validation, the protocol description and the event enum are generated either way.
#![warn(missing_docs)]

pub mod auth;
#[cfg(feature = "client")]
pub mod client;
#[cfg(any(feature = "server", feature = "client"))]
mod clock;
#[cfg(any(feature = "server", feature = "client"))]
mod encoded;
#[cfg(all(
    any(test, feature = "__fuzz"),
    any(feature = "server", feature = "client")
))]
mod frame_check;
#[cfg(any(feature = "server", feature = "client"))]
mod heartbeat;
#[cfg(feature = "local")]
pub mod local;
mod percent;
#[cfg(feature = "server")]
pub mod pubsub;
#[cfg(any(feature = "server", feature = "local"))]
mod routes;
#[cfg(feature = "server")]
pub mod server;
#[cfg(any(feature = "server", feature = "client"))]
mod ws_frame;

pub use wskit_core::{describe, export, limits, topic, validate, wire};

pub use wskit_core::{Error, ErrorCode};
pub use wskit_core::{EventSet, Message, NoMeta, NoProgress, PayloadForm, Protocol, Rpc};
pub use wskit_core::{Issue, Issues, Validate};
/// Declares a protocol: its messages, events, rpcs and shared types, with validation rules.
///
/// ```
/// wskit::protocol! {
///     /// A chat.
///     pub protocol Chat {
///         #[subscription]
///         message JoinRoom { #[validate(length(min = 1, max = 64))] room_id: String }
///         event UserJoined { room_id: String, user_id: String }
///         #[idempotent]
///         rpc GetUser(#[validate(uuid)] user_id: String) -> UserData { name: String, role: Role }
///         rpc Export(file_id: String) -> ExportDone { url: String } progress ExportProgress { percent: u8 }
///         type Address { city: String, zip: String }
///         enum Role { Admin, #[wire = "member"] Member }
///     }
/// }
/// use wskit::Message;
/// assert_eq!(GetUser::TYPE, "GET_USER");
/// let issues = wskit::validate::decode_payload::<JoinRoom>(Some(
///     &serde_json::value::RawValue::from_string(r#"{"roomId":"","x":1}"#.into()).unwrap(),
/// ))
/// .unwrap_err();
/// assert_eq!(issues.to_string(), "payload.roomId: must have at least 1 character; payload.x: unknown key");
/// ```
///
/// It generates one struct per message, event, request, response, progress and `type` (an enum
/// per `enum`) whose serde form is the wire form, strict decoding and validation, the protocol's
/// marker type (`Chat`, with its description), the handler trait (`ChatHandler`), its service
/// (`ChatService`), the event enum (`ChatEvent`) and the typed client (`ChatClient`). The README's
/// "protocol DSL" section describes the grammar, the field types and the constraints.
pub use wskit_macros::protocol;

/// Every Rust block of the README, compiled (and run, unless marked `no_run`) as a doctest.
#[cfg(all(doctest, feature = "server", feature = "client"))]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

/// What generated code reaches the runtime through. Not public API: no stability promise.
#[doc(hidden)]
pub mod __private {
    #[cfg(feature = "client")]
    pub use crate::client::Client;
    #[cfg(feature = "server")]
    pub use crate::server::lifecycle::{
        __serve_message as serve_message, __serve_rpc as serve_rpc,
        __serve_unknown as serve_unknown,
    };
    pub use crate::{
        __wskit_if_client as if_client, __wskit_if_local as if_local,
        __wskit_if_server as if_server,
    };
    /// What the generated `*LocalService` calls (feature `local`).
    #[cfg(feature = "local")]
    pub mod local {
        pub use crate::local::lifecycle::{
            __serve_message as serve_message, __serve_rpc as serve_rpc,
            __serve_unknown as serve_unknown,
        };
        pub use futures_util::future::LocalBoxFuture;
    }
    pub use futures_util::future::BoxFuture;
    pub use regex::Regex;
    pub use serde;
    pub use serde_json;
    pub use serde_json::value::RawValue;
    pub use std::sync::LazyLock;
    pub use wskit_core::__private::*;
    pub use wskit_core::validate::*;

    /// Entry points of the fuzz targets (`fuzz/`): each decode path of the server on its own,
    /// and the client's handling of one inbound frame.
    pub mod fuzz {
        pub use wskit_core::wire::{
            decode_frame_common, decode_frame_reference, decode_frame_text, decode_frame_whole,
        };

        #[cfg(feature = "__fuzz")]
        pub use crate::frame_check::{client_frames, server_frames};

        /// Handles one inbound text frame as the client's connection task does (replies,
        /// progress, `ERROR`, events, unhandled frames), without a socket.
        #[cfg(feature = "client")]
        pub fn client_inbound(client: &crate::client::Client, text: &str) {
            client.handle_inbound_text(text);
        }
    }
}

// What `protocol!` generates for the server (the handler trait, the service) and for the client
// (the typed stub) is wrapped in these: a proc macro cannot see the features of the crate it
// expands in, but wskit's own macros can, so a build without the `server` or `client` feature
// gets neither the code nor errors about the missing module.

#[cfg(feature = "server")]
#[doc(hidden)]
#[macro_export]
macro_rules! __wskit_if_server {
    ($($item:tt)*) => { $($item)* };
}

#[cfg(not(feature = "server"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __wskit_if_server {
    ($($item:tt)*) => {};
}

#[cfg(feature = "client")]
#[doc(hidden)]
#[macro_export]
macro_rules! __wskit_if_client {
    ($($item:tt)*) => { $($item)* };
}

#[cfg(not(feature = "client"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __wskit_if_client {
    ($($item:tt)*) => {};
}

#[cfg(feature = "local")]
#[doc(hidden)]
#[macro_export]
macro_rules! __wskit_if_local {
    ($($item:tt)*) => { $($item)* };
}

#[cfg(not(feature = "local"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __wskit_if_local {
    ($($item:tt)*) => {};
}
