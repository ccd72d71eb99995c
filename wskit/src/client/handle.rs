//! [`Client`]: the cheap-to-clone handle applications hold: connecting and closing, sending,
//! requests, events and state.

use std::sync::Arc;

use tokio::sync::{broadcast, oneshot, watch};

use super::driver;
use super::error::ClientError;
use super::events::{EventSink, Events};
use super::id::IdText;
use super::options;
use super::options::ClientBuilder;
use super::queue::FrameText;
use super::shared::{Inner, NewRequest, Waiter};
use super::state::{ConnectionState, Gap};
use crate::clock::now_ms;
use crate::encoded;

use wskit_core::wire::{self, OutMeta};
use wskit_core::{EventSet, Message, Rpc};

/// A connection to a server, shared by every clone. When the last clone (and every call it
/// started) is dropped, the connection closes.
///
/// ```no_run
/// # async fn demo() -> Result<(), wskit::client::ClientError> {
/// let client = wskit::client::Client::builder("ws://127.0.0.1:3000").build();
/// client.connect().await?;
/// assert_eq!(client.state(), wskit::client::ConnectionState::Open);
/// client.close().await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    pub(super) inner: Arc<Inner>,
    _life: Arc<Life>,
}

/// Closes the connection when the last client handle goes.
struct Life(Arc<Inner>);

impl Drop for Life {
    fn drop(&mut self) {
        let mut sh = self.0.lock();
        if let Some(tx) = sh.close_tx.take() {
            sh.closing = true;
            let _ = tx.send(());
        }
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("url", &self.inner.opts.url)
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

/// The frame of a message, or why it cannot be one (its `Serialize` impl failed): an issue at
/// `payload`, as [`ClientError::InvalidMessage`] reports it.
fn encode_message<M: Message>(
    msg: &M,
    meta: &(impl serde::Serialize + ?Sized),
) -> Result<FrameText, ClientError> {
    encoded(wire::encode_message(Some(meta), msg))
}

/// An encoded frame as the client keeps it, or the encoding's failure as an invalid message.
fn encoded(frame: Result<Vec<u8>, serde_json::Error>) -> Result<FrameText, ClientError> {
    frame.map(encoded::text).map_err(|e| {
        let mut issues = wskit_core::Issues::new();
        let why = format!("could not be encoded: {e}");
        issues.push(&wskit_core::validate::Path::root("payload"), why);
        ClientError::InvalidMessage(issues)
    })
}

/// Declared meta fields as JSON object entries for [`OutMeta::extra`].
fn extra_meta<T: serde::Serialize>(meta: &T) -> serde_json::Map<String, serde_json::Value> {
    match serde_json::to_value(meta) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    }
}

impl ClientBuilder {
    /// The client, not connected yet: call [`Client::connect`].
    pub fn build(self) -> Client {
        Client::from_options(self.opts)
    }
}

impl Client {
    /// A builder for a client of `url` (`ws://host:port/path`); see [`ClientBuilder`] for the defaults.
    ///
    /// ```
    /// let client = wskit::client::Client::builder("ws://127.0.0.1:3000").build();
    /// assert_eq!(client.state(), wskit::client::ConnectionState::Closed);
    /// ```
    pub fn builder(url: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(url)
    }

    /// One inbound frame, handled as the connection task handles it (for the fuzz targets).
    pub(crate) fn handle_inbound_text(&self, text: &str) {
        super::inbound::handle_inbound(&self.inner, text);
    }

    pub(crate) fn from_options(opts: options::Options) -> Client {
        let inner = Arc::new(Inner::new(opts));
        Client {
            _life: Arc::new(Life(inner.clone())),
            inner,
        }
    }

    /// Connects (reconnecting per the backoff until open) and waits until open. Idempotent:
    /// while connecting or open it only waits. Needs a tokio runtime.
    ///
    /// Fails with [`ClientError::Connect`] when the server refused the upgrade with 401 or 403
    /// (the client is then `Closed`; see [`ClientBuilder::retry_rejected`]), when the upgrade
    /// request cannot be made ([`ConnectError::InvalidRequest`](super::ConnectError::InvalidRequest):
    /// a `wss://` URL, a header that is not one; `Closed` too) or the backoff gave up, with
    /// [`ClientError::Closed`] when [`close`](Self::close) was called meanwhile.
    pub async fn connect(&self) -> Result<(), ClientError> {
        let mut states = loop {
            let (mut states, closing) = {
                let mut sh = self.inner.lock();
                // Subscribed before the task can run, so that a quick give-up is seen as
                // `Closed` (with its reason), not mistaken for "never connected".
                let states = self.inner.state_tx.subscribe();
                if !sh.running {
                    let (tx, rx) = oneshot::channel();
                    sh.running = true;
                    sh.closing = false;
                    sh.close_tx = Some(tx);
                    sh.last_error = None;
                    self.inner.set_state(ConnectionState::Connecting);
                    tokio::spawn(driver::run(self.inner.clone(), rx));
                }
                (states, sh.closing)
            };
            if !closing {
                break states;
            }
            let _ = states.wait_for(|s| *s == ConnectionState::Closed).await;
        };
        let opened = states
            .wait_for(|s| matches!(s, ConnectionState::Open | ConnectionState::Closed))
            .await
            .is_ok_and(|s| *s == ConnectionState::Open);
        if opened {
            return Ok(());
        }
        match self.inner.lock().last_error.clone() {
            Some(why) => Err(ClientError::Connect(why)),
            None => Err(ClientError::Closed),
        }
    }

    /// Closes deliberately and waits until closed: messages [`send`](Self::send) accepted
    /// while open are written first, then the close frame (all within the builder's
    /// `close_timeout`); the offline queue is cleared, pending requests fail with
    /// [`ClientError::ConnectionClosed`], subscriptions are forgotten. While closing, `send`
    /// and `request` fail with [`ClientError::Closed`]. Idempotent.
    pub async fn close(&self) {
        let tx = {
            let mut sh = self.inner.lock();
            if !sh.running {
                return;
            }
            sh.closing = true;
            self.inner.set_state(ConnectionState::Closing);
            sh.close_tx.take()
        };
        if let Some(tx) = tx {
            let _ = tx.send(());
        }
        self.wait_for(ConnectionState::Closed).await;
    }

    async fn wait_for(&self, state: ConnectionState) {
        let mut rx = self.inner.state_tx.subscribe();
        let _ = rx.wait_for(|s| *s == state).await;
    }

    /// The current state.
    pub fn state(&self) -> ConnectionState {
        self.inner.state()
    }

    /// Every state change, as a watch channel.
    ///
    /// ```no_run
    /// # async fn demo(client: wskit::client::Client) {
    /// let mut states = client.watch_state();
    /// while states.changed().await.is_ok() {
    ///     println!("now {}", *states.borrow());
    /// }
    /// # }
    /// ```
    pub fn watch_state(&self) -> watch::Receiver<ConnectionState> {
        self.inner.state_tx.subscribe()
    }

    /// Waits until open. Fails with [`ClientError::NotConnected`] when not connecting at all,
    /// [`ClientError::Closed`] when the client closes (deliberately or giving up) first.
    pub async fn wait_open(&self) -> Result<(), ClientError> {
        let mut rx = self.inner.state_tx.subscribe();
        if *rx.borrow_and_update() == ConnectionState::Closed {
            return Err(ClientError::NotConnected);
        }
        match rx
            .wait_for(|s| matches!(s, ConnectionState::Open | ConnectionState::Closed))
            .await
        {
            Ok(s) if *s == ConnectionState::Open => Ok(()),
            _ => Err(ClientError::Closed),
        }
    }

    /// Reconnects after they happened ([`Gap`]): catch up on what you missed.
    pub fn gaps(&self) -> broadcast::Receiver<Gap> {
        self.inner.gaps_tx.subscribe()
    }

    /// Sends a fire-and-forget message (queued while not open). A message marked as a
    /// subscription is also remembered and sent again on every reconnect. Fails with
    /// [`ClientError::Closed`] while a [`close`](Self::close) is under way.
    ///
    /// ```no_run
    /// # fn demo<M: wskit::Message>(client: &wskit::client::Client, msg: M) -> Result<(), wskit::client::ClientError> {
    /// client.send(msg)?;
    /// # Ok(()) }
    /// ```
    pub fn send<M: Message>(&self, msg: M) -> Result<(), ClientError> {
        self.send_meta_map(msg, serde_json::Map::new())
    }

    /// [`send`](Self::send) with the message's declared meta fields.
    pub fn send_with_meta<M: Message>(&self, msg: M, meta: M::Meta) -> Result<(), ClientError> {
        self.send_meta_map(msg, extra_meta(&meta))
    }

    fn send_meta_map<M: Message>(
        &self,
        msg: M,
        extra: serde_json::Map<String, serde_json::Value>,
    ) -> Result<(), ClientError> {
        msg.check().map_err(ClientError::InvalidMessage)?;
        let meta = OutMeta {
            // A subscription frame is sent again as it is: no timestamp, so that sending the
            // same subscription twice is recognised as one.
            timestamp: (!M::SUBSCRIPTION).then(now_ms),
            extra,
            ..OutMeta::default()
        };
        let frame = encode_message(&msg, &meta)?;
        self.inner.send_frame(M::TYPE, frame, M::SUBSCRIPTION)
    }

    /// Stops sending a subscription message again on reconnects (after leaving a room, say).
    /// Returns whether it was remembered. `msg` must equal the one sent (payload and meta).
    ///
    /// ```no_run
    /// # fn demo<M: wskit::Message + Clone>(client: &wskit::client::Client, join: M) -> Result<(), wskit::client::ClientError> {
    /// client.send(join.clone())?;
    /// // ... later, after telling the server you left:
    /// client.forget_subscription(&join);
    /// # Ok(()) }
    /// ```
    pub fn forget_subscription<M: Message>(&self, msg: &M) -> bool {
        encode_message(msg, &OutMeta::default())
            .is_ok_and(|frame| self.forget_subscription_frame(frame))
    }

    /// [`forget_subscription`](Self::forget_subscription) of a message sent with declared meta.
    pub fn forget_subscription_with_meta<M: Message>(&self, msg: &M, meta: &M::Meta) -> bool {
        let meta = OutMeta {
            extra: extra_meta(meta),
            ..OutMeta::default()
        };
        encode_message(msg, &meta).is_ok_and(|frame| self.forget_subscription_frame(frame))
    }

    fn forget_subscription_frame(&self, frame: FrameText) -> bool {
        let mut sh = self.inner.lock();
        let before = sh.subscriptions.len();
        sh.subscriptions.retain(|s| *s != frame);
        sh.subscriptions.len() != before
    }

    /// Registers and sends (or queues) a request whose reply goes to `waiter`; its id.
    pub(crate) fn start_request<R: Rpc>(
        &self,
        req: R,
        meta: Option<R::Meta>,
        timeout: std::time::Duration,
        waiter: Arc<dyn Waiter>,
        progress_tx: Option<tokio::sync::mpsc::Sender<String>>,
    ) -> Result<u64, ClientError> {
        req.check().map_err(ClientError::InvalidMessage)?;
        let id = self.inner.ids.next();
        let mut text: IdText = [0; 36];
        let id_text = self.inner.ids.write(id, &mut text);
        let timestamp = now_ms();
        let frame = match &meta {
            None => encoded(wire::encode_request(id_text, timestamp, &req))?,
            Some(meta) => encode_message(
                &req,
                &OutMeta {
                    correlation_id: Some(id_text.into()),
                    timestamp: Some(timestamp),
                    extra: extra_meta(meta),
                    ..OutMeta::default()
                },
            )?,
        };
        self.inner.start_request(NewRequest {
            id,
            ty: R::TYPE,
            frame,
            idempotent: R::IDEMPOTENT,
            timeout,
            waiter,
            progress_tx,
        })?;
        Ok(id)
    }

    /// The server events of one protocol, as a stream (from now on).
    pub fn events<E: EventSet>(&self) -> Events<E> {
        let (sink, events) = EventSink::new::<E>(self.inner.opts.event_buffer);
        self.inner.lock().sinks.push(sink);
        events
    }

    /// How many requests await a reply.
    pub fn pending_requests(&self) -> usize {
        self.inner.lock().pending.len()
    }

    /// How many frames wait in the offline queue.
    pub fn queued(&self) -> usize {
        self.inner.lock().queue.len()
    }
}
