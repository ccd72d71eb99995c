//! The server: the socket loop that decodes frames, routes them to generated handlers and writes
//! their answers (PROTOCOL.md sections 1-6).
//!
//! Build a [`Server`] from one or more protocols' services with [`Server::builder`], then
//! [`serve`](Server::serve) it or mount it in an axum router (feature `axum`). Handlers get a
//! [`Context`] (or an [`RpcContext`]); hooks get a [`Connection`].
//!
//! ```no_run
//! use wskit::server::{auth, http, Context, RpcContext, Server, PublishOptions};
//!
//! wskit::protocol! {
//!     pub protocol Chat {
//!         message JoinRoom { room_id: String }
//!         event UserJoined { room_id: String, user: String }
//!         rpc GetUser(user_id: String) -> UserData { name: String }
//!     }
//! }
//!
//! struct App;
//!
//! impl ChatHandler for App {
//!     type Data = String; // the user name, from auth
//!
//!     async fn join_room(&self, ctx: Context<String>, msg: JoinRoom) -> Result<(), wskit::Error> {
//!         let topic = format!("room:{}", msg.room_id);
//!         ctx.subscribe(&topic)?;
//!         let joined = UserJoined { room_id: msg.room_id, user: ctx.data().clone() };
//!         ctx.publish(&topic, &joined, PublishOptions::default().exclude_self()).await?;
//!         Ok(())
//!     }
//!
//!     async fn get_user(&self, _ctx: RpcContext<String, GetUser>, req: GetUser) -> Result<UserData, wskit::Error> {
//!         Ok(UserData { name: req.user_id })
//!     }
//! }
//!
//! # async fn demo() -> std::io::Result<()> {
//! let server = Server::<String>::builder()
//!     .service(Chat::server(App))
//!     .auth(|req: &http::Request<()>| {
//!         let token = auth::token(req);
//!         async move { token.ok_or_else(auth::Rejection::unauthorized) }
//!     })
//!     .on_open(|conn| async move {
//!         println!("{} connected", conn.client_id());
//!         Ok(())
//!     })
//!     .max_frame_bytes(64 * 1024)
//!     .build()
//!     .expect("valid configuration");
//! let handle = server.handle(); // publish from outside handlers, shut down
//! server.serve("127.0.0.1:3000").await
//! # }
//! ```

pub mod auth;
#[cfg(feature = "axum")]
mod axum;
mod budget;
mod builder;
mod close;
mod connection;
mod context;
mod dispatch;
mod driver;
mod hooks;
pub(crate) mod io;
pub(crate) mod lifecycle;
mod limits;
mod middleware;
mod plain;
mod publish;
mod report;
mod request;
mod runtime;
mod serve;
mod service;
mod session;
mod state;
#[cfg(test)]
mod tests;
mod upgrade;

pub use crate::heartbeat::Heartbeat;
pub use budget::InboundBudget;
pub use builder::{BuildError, ServerBuilder};
pub use close::CloseReason;
pub use connection::{Connection, SendError};
pub use context::{Context, RpcContext};
pub use limits::{Limits, SlowConsumerPolicy};
pub use middleware::{Middleware, Next, RateLimit};
pub use publish::PublishOptions;
pub use report::{ErrorCause, ErrorEvent};
pub use serve::{Server, ServerHandle, shutdown_signal};
pub use service::{Request, Service};
/// The `http` crate (requests given to `auth`, status codes of rejections).
pub use tokio_tungstenite::tungstenite::http;
