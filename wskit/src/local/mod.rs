//! Serving a protocol on a single-threaded host other than tokio: a Cloudflare Durable Object
//! (through the `wskit-cloudflare` crate), an in-memory transport, a test harness. Feature
//! `local`; runtime-free (it builds for `wasm32-unknown-unknown` with `default-features = false`).
//!
//! The host owns the sockets; wskit decides every answer. For each connection the host makes a
//! [`Session`] around its own [`Host`] (send, close, clock, timers, topics), and hands each
//! inbound frame to [`LocalServer::on_text`], whose future it drives to its end. Frames are
//! classified, routed and decoded by the same functions as the tokio server's
//! (`wskit::wire::inbound`), so both answer every frame alike: heartbeat ack, `$ws:abort`,
//! reserved and unknown types, validation with every issue, the in-flight limit, duplicate
//! correlationIds, RPC terminal rules (one reply or error; no progress after it), deadlines
//! (`meta.timeoutMs`).
//!
//! `protocol!` generates, with this feature, a handler trait whose futures need not be `Send`
//! (`ChatLocalHandler`, taking [`Context`] / [`RpcContext`] first) and `Chat::local_server`.
//!
//! The host interface is [`Host`]: no `spawn` in it, since a host drives each frame's future
//! itself (a Durable Object awaits it in its `websocket_message` event; the tokio server polls it
//! once on the connection's task and spawns it only when it is still pending).
//!
//! ```
//! use std::{cell::RefCell, rc::Rc};
//! use wskit::local::{Context, Host, HostError, LocalServer, RpcContext, Session};
//!
//! wskit::protocol! {
//!     pub protocol Echo {
//!         rpc Shout(text: String) -> Shouted { text: String }
//!     }
//! }
//!
//! struct App;
//! impl EchoLocalHandler for App {
//!     type Data = ();
//!     async fn shout(&self, _: RpcContext<(), Shout>, req: Shout) -> Result<Shouted, wskit::Error> {
//!         Ok(Shouted { text: req.text.to_uppercase() })
//!     }
//! }
//!
//! /// A host that keeps what it is asked to send.
//! #[derive(Default)]
//! struct Recorder(RefCell<Vec<String>>);
//! impl Host for Recorder {
//!     fn send(&self, frame: &str) -> Result<(), HostError> {
//!         self.0.borrow_mut().push(frame.to_owned());
//!         Ok(())
//!     }
//!     fn close(&self, _code: u16, _reason: &str) {}
//!     fn now_ms(&self) -> u64 { 0 }
//!     fn sleep(&self, _ms: u64) -> wskit::local::LocalBoxFuture<'static, ()> {
//!         Box::pin(std::future::pending())
//!     }
//!     fn publish(&self, _: &str, _: &str, _: bool) -> Result<usize, HostError> { Ok(0) }
//!     fn subscribe(&self, _: &str) -> Result<(), HostError> { Ok(()) }
//!     fn unsubscribe(&self, _: &str) -> Result<(), HostError> { Ok(()) }
//! }
//!
//! let server = LocalServer::builder().service(Echo::local_server(App)).build().unwrap();
//! let host = Rc::new(Recorder::default());
//! let session = Session::new("c1", (), host.clone());
//! let frame = r#"{"type":"SHOUT","meta":{"correlationId":"1"},"payload":{"text":"hi"}}"#;
//! futures_executor_block_on(server.on_text(&session, frame));
//! assert_eq!(host.0.borrow()[0], r#"{"type":"SHOUTED","meta":{"correlationId":"1"},"payload":{"text":"HI"}}"#);
//! # fn futures_executor_block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     let mut f = std::pin::pin!(f);
//! #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
//! #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
//! # }
//! ```

mod context;
mod host;
pub(crate) mod lifecycle;
mod request;
mod routed;
mod server;
mod session;

pub use context::{Context, RpcContext};
pub use futures_util::future::LocalBoxFuture;
pub use host::{Host, HostError};
pub use routed::Request;
pub use server::{
    BuildError, DEFAULT_MAX_FRAME_BYTES, DEFAULT_MAX_IN_FLIGHT, LocalServer, LocalServerBuilder,
    Service,
};
pub use session::Session;
