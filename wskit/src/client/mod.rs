//! The client: a typed, reconnecting WebSocket client (PROTOCOL.md section 7).
//!
//! - [`Client::connect`] / [`Client::close`] (both idempotent), the five [`ConnectionState`]s
//!   ([`Client::watch_state`]), [`Client::wait_open`];
//! - reconnect with [`Backoff`] (exponential, full jitter, seedable), the token provider asked
//!   again before every attempt;
//! - an offline queue ([`QueuePolicy`]) flushed in order on open;
//! - requests ([`Call`]) with a timeout counted from the write, cancellation that reaches the
//!   server (`$ws:abort`), typed errors ([`ClientError`]), progress ([`Progress`]);
//! - after a reconnect, idempotent in-flight requests and subscription messages are sent again
//!   and a [`Gap`] is reported;
//! - typed server events ([`Events`]) and hooks for everything else ([`ErrorReport`],
//!   [`Unhandled`]); an optional [`Heartbeat`];
//! - `ws://`, and with the `tls` feature `wss://` (rustls; [`ClientBuilder::tls`] for your own
//!   root certificates or client certificate).
//!
//! ```no_run
//! use wskit::client::Client;
//! # async fn demo() -> Result<(), wskit::client::ClientError> {
//! let client = Client::builder("ws://127.0.0.1:3000/ws").build();
//! client.connect().await?;
//! // client.send(JoinRoom { .. })?; client.request(GetUser { .. }).await?;
//! client.close().await;
//! # Ok(()) }
//! ```

mod backoff;
mod call;
mod driver;
mod error;
mod events;
mod handle;
mod id;
mod inbound;
mod options;
mod queue;
mod report;
mod shared;
pub(crate) mod socket;
mod state;
mod transport;

pub use crate::heartbeat::Heartbeat;
pub use backoff::{Backoff, JitterRng};
pub use call::{Call, CallFuture, CancelHandle, PROGRESS_BUFFER, Progress};
pub use error::{ClientError, ConnectError};
pub use events::Events;
pub use handle::Client;
pub use options::{AuthTransport, ClientBuilder, ProtocolPosition};
pub use queue::QueuePolicy;
pub use report::{ErrorReport, Unhandled};
pub use state::{ConnectionState, Gap};
/// The rustls the `tls` feature builds on (re-exported so that a [`ClientBuilder::tls`]
/// configuration is made with the same version).
#[cfg(feature = "tls")]
pub use tokio_rustls::rustls;
