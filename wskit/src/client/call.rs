//! One RPC: the [`Call`] future, its progress stream and its cancel handle.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures_util::Stream;
use tokio::sync::mpsc;

use super::error::ClientError;
use super::handle::Client;
use super::report::ErrorReport;
use super::shared::{Inner, Reply, Reports, Waiter};
use wskit_core::validate::{Issues, Path, decode_payload};
use wskit_core::wire::{decode_payload_text, error_payload, progress_update, types};
use wskit_core::{Message, Rpc};

/// How many undelivered updates one [`Progress`] stream buffers before it drops new ones.
///
/// ```
/// assert_eq!(wskit::client::PROGRESS_BUFFER, 1024);
/// ```
pub const PROGRESS_BUFFER: usize = 1024;

/// An RPC. Await it for the reply; it is sent when turned into a future
/// ([`IntoFuture::into_future`], which `.await` does), before the first poll. Dropping that
/// future, polled or not, abandons the request (see below).
///
/// - the timeout (default from the builder, 30 s) runs from the moment the frame is written to the
///   socket, not while it waits in the offline queue;
/// - dropping the future before the reply (even unpolled), a timeout, or [`CancelHandle::cancel`] sends
///   `$ws:abort` to the server (when the frame went out), which cancels the handler;
/// - only the first reply counts.
///
/// ```no_run
/// use std::time::Duration;
/// use futures_util::StreamExt;
/// # async fn demo<R: wskit::Rpc>(client: wskit::client::Client, req: R) -> Result<(), wskit::client::ClientError>
/// # where R::Progress: std::fmt::Debug {
/// let mut call = client.request(req).timeout(Duration::from_secs(5));
/// let mut progress = call.progress();
/// let cancel = call.cancel_handle();
/// let reply = tokio::spawn(call.into_future());
/// while let Some(update) = progress.next().await {
///     println!("{update:?}");
/// }
/// # let _ = (reply, cancel);
/// # Ok(()) }
/// # use std::future::IntoFuture;
/// ```
#[must_use = "a call does nothing until awaited"]
pub struct Call<R: Rpc> {
    client: Client,
    request: R,
    meta: Option<R::Meta>,
    timeout: Duration,
    progress_tx: Option<mpsc::Sender<String>>,
    /// Made when first asked for ([`Call::cancel_handle`]).
    cancel: OnceLock<CancelHandle>,
}

impl Client {
    /// Starts an RPC; await the returned call for the reply.
    ///
    /// ```no_run
    /// # async fn demo<R: wskit::Rpc>(client: wskit::client::Client, req: R) -> Result<(), wskit::client::ClientError> {
    /// let reply = client.request(req).timeout(std::time::Duration::from_secs(2)).await?;
    /// # let _ = reply; Ok(()) }
    /// ```
    pub fn request<R: Rpc>(&self, req: R) -> Call<R> {
        Call::new(self.clone(), req)
    }
}

impl<R: Rpc> Call<R> {
    pub(crate) fn new(client: Client, request: R) -> Self {
        let timeout = client.inner.opts.request_timeout;
        Call {
            client,
            request,
            meta: None,
            timeout,
            progress_tx: None,
            cancel: OnceLock::new(),
        }
    }

    /// This call's timeout, counted from the moment its frame is written.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The request's declared extra meta fields.
    pub fn with_meta(mut self, meta: R::Meta) -> Self {
        self.meta = Some(meta);
        self
    }

    /// The progress updates of a streaming RPC, in the order sent; the stream ends with the
    /// call. Calling it again replaces the earlier stream (which then ends).
    ///
    /// The stream buffers [`PROGRESS_BUFFER`] updates; while it is that far behind, new updates
    /// are dropped and reported to `on_error` as
    /// [`ErrorReport::EventOverflow`](super::ErrorReport::EventOverflow) of type
    /// `$ws:rpc-progress`.
    pub fn progress(&mut self) -> Progress<R> {
        let (tx, rx) = mpsc::channel(PROGRESS_BUFFER);
        self.progress_tx = Some(tx);
        Progress {
            rx,
            inner: self.client.inner.clone(),
            _rpc: std::marker::PhantomData,
        }
    }

    /// A handle that cancels this call from elsewhere.
    pub fn cancel_handle(&self) -> CancelHandle {
        self.cancel.get_or_init(CancelHandle::default).clone()
    }
}

impl<R: Rpc> IntoFuture for Call<R> {
    type Output = Result<R::Response, ClientError>;
    type IntoFuture = CallFuture<R>;

    fn into_future(self) -> CallFuture<R> {
        let Call {
            client,
            request,
            meta,
            timeout,
            progress_tx,
            cancel,
        } = self;
        let cancel = cancel.into_inner().map(|c| c.0);
        if cancel
            .as_ref()
            .is_some_and(|c| c.cancelled.load(Ordering::SeqCst))
        {
            return CallFuture {
                state: State::Failed(Some(ClientError::Cancelled)),
            };
        }
        let slot = Arc::new(Slot::<R>::default());
        // The request is registered (and maybe written) now, so what forgets it must exist now
        // too: dropping the future unpolled still abandons the request.
        let state = match client.start_request(request, meta, timeout, slot.clone(), progress_tx) {
            Ok(id) => State::Waiting {
                client,
                id,
                slot,
                cancel,
            },
            Err(e) => State::Failed(Some(e)),
        };
        CallFuture { state }
    }
}

/// The future of a [`Call`] (what `.await` on it polls): the reply, decoded and validated, or why
/// there is none. Dropping it before it is ready abandons the request (`$ws:abort` to the
/// server when the frame went out).
///
/// ```no_run
/// use std::future::IntoFuture;
/// # async fn demo<R: wskit::Rpc>(client: wskit::client::Client, req: R) -> Result<(), wskit::client::ClientError> {
/// // Sent now; the reply is awaited elsewhere.
/// let future: wskit::client::CallFuture<R> = client.request(req).into_future();
/// let reply = tokio::spawn(future);
/// # let _ = reply; Ok(()) }
/// ```
#[must_use = "dropping the future abandons the request"]
pub struct CallFuture<R: Rpc> {
    state: State<R>,
}

enum State<R: Rpc> {
    /// Refused before it was registered (or cancelled before it was sent); `None` once returned.
    Failed(Option<ClientError>),
    /// Registered: the connection task (or a timeout, a loss, a close) fills `slot`.
    Waiting {
        /// Keeps the connection open while the call waits.
        client: Client,
        id: u64,
        slot: Arc<Slot<R>>,
        cancel: Option<Arc<CancelState>>,
    },
    /// Returned its output.
    Done,
}

impl<R: Rpc> Future for CallFuture<R> {
    type Output = Result<R::Response, ClientError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let State::Waiting { slot, cancel, .. } = &this.state else {
            return match &mut this.state {
                State::Failed(e) => {
                    let e = e.take().unwrap_or(ClientError::ConnectionClosed);
                    this.state = State::Done;
                    Poll::Ready(Err(e))
                }
                _ => Poll::Ready(Err(ClientError::ConnectionClosed)),
            };
        };
        let outcome = {
            let mut inner = slot.lock();
            match inner.outcome.take() {
                Some(outcome) => Some(outcome),
                None => {
                    match &inner.waker {
                        Some(w) if w.will_wake(cx.waker()) => {}
                        _ => inner.waker = Some(cx.waker().clone()),
                    }
                    None
                }
            }
        };
        if let Some(outcome) = outcome {
            // Answered: nothing to abandon.
            this.state = State::Done;
            return Poll::Ready(match outcome {
                Outcome::Decoded(response) => Ok(response),
                Outcome::Reply(reply) => decode_reply::<R>(&reply),
                Outcome::Failed(e) => Err(e),
            });
        }
        if let Some(cancel) = cancel {
            cancel.register(cx.waker());
            if cancel.cancelled.load(Ordering::SeqCst) {
                this.abandon_now();
                return Poll::Ready(Err(ClientError::Cancelled));
            }
        }
        Poll::Pending
    }
}

impl<R: Rpc> CallFuture<R> {
    /// Forgets the request if it still waits (and aborts it on the server).
    fn abandon_now(&mut self) {
        if let State::Waiting { client, id, .. } = std::mem::replace(&mut self.state, State::Done) {
            client.inner.abandon_request(id);
        }
    }
}

impl<R: Rpc> Drop for CallFuture<R> {
    fn drop(&mut self) {
        self.abandon_now();
    }
}

impl<R: Rpc> std::fmt::Debug for CallFuture<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallFuture").finish_non_exhaustive()
    }
}

/// How a call ended, as its slot holds it until the future takes it.
enum Outcome<R: Rpc> {
    /// Read on the connection task's fast path.
    Decoded(R::Response),
    /// Read on the reference path: decoded by the call.
    Reply(Reply),
    Failed(ClientError),
}

/// Where the connection task leaves a call's reply.
struct Slot<R: Rpc>(Mutex<SlotInner<R>>);

struct SlotInner<R: Rpc> {
    outcome: Option<Outcome<R>>,
    waker: Option<Waker>,
}

impl<R: Rpc> Default for Slot<R> {
    fn default() -> Self {
        Slot(Mutex::new(SlotInner {
            outcome: None,
            waker: None,
        }))
    }
}

impl<R: Rpc> Slot<R> {
    fn lock(&self) -> std::sync::MutexGuard<'_, SlotInner<R>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn finish(&self, outcome: Outcome<R>) {
        let waker = {
            let mut inner = self.lock();
            // Only the first ending counts.
            if inner.outcome.is_some() {
                return;
            }
            inner.outcome = Some(outcome);
            inner.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<R: Rpc> Waiter for Slot<R> {
    fn deliver(&self, ty: &str, payload: &str, claim: &mut dyn FnMut() -> bool) -> bool {
        if ty != <R::Response as Message>::TYPE {
            return false;
        }
        // The reference path answers exactly this when the payload decodes (see
        // `wire::split_reply`); a decode that panics (a hand-written `Message`) leaves it to
        // the reference path, on the call's task.
        let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            decode_payload_text::<R::Response>(Some(payload)).ok()
        }));
        let Ok(Some(response)) = decoded else {
            return false;
        };
        if claim() {
            self.finish(Outcome::Decoded(response));
        }
        true
    }

    fn complete(&self, outcome: Result<Reply, ClientError>) {
        self.finish(match outcome {
            Ok(reply) => Outcome::Reply(reply),
            Err(e) => Outcome::Failed(e),
        });
    }
}

fn one_issue(root: &str, message: String) -> Issues {
    let mut issues = Issues::new();
    issues.push(&Path::root(root), message);
    issues
}

/// Reads the terminal frame of a call, parsed once already by the connection task: the response,
/// or an `RPC_ERROR`.
fn decode_reply<R: Rpc>(reply: &Reply) -> Result<R::Response, ClientError> {
    let ty = reply.ty.as_str();
    let payload = reply.parts.payload(&reply.text);
    if ty == types::RPC_ERROR || ty == types::ERROR {
        return match error_payload(payload) {
            Ok(e) => Err(ClientError::Rpc(e)),
            Err(why) => Err(ClientError::InvalidReply(one_issue("payload", why))),
        };
    }
    let expected = <R::Response as Message>::TYPE;
    if ty != expected {
        return Err(ClientError::InvalidReply(one_issue(
            "type",
            format!("expected {expected}, got {ty}"),
        )));
    }
    // A slice of a frame the connection task parsed: valid JSON, read once more here.
    decode_payload_text::<R::Response>(payload).map_err(ClientError::InvalidReply)
}

/// Cancels a call from anywhere: the call resolves to [`ClientError::Cancelled`] and the server
/// gets `$ws:abort` when the request went out. Cancelling before the call is turned into a
/// future (awaited) means it is never sent.
///
/// ```no_run
/// # async fn demo<R: wskit::Rpc>(client: wskit::client::Client, req: R) {
/// let call = client.request(req);
/// let cancel = call.cancel_handle();
/// let task = tokio::spawn(async move { call.await });
/// cancel.cancel();
/// assert!(matches!(task.await.unwrap(), Err(wskit::client::ClientError::Cancelled)));
/// # }
/// ```
#[derive(Clone, Default)]
pub struct CancelHandle(Arc<CancelState>);

#[derive(Default)]
struct CancelState {
    cancelled: AtomicBool,
    /// The call's future, waiting.
    waker: Mutex<Option<Waker>>,
}

impl CancelState {
    fn register(&self, waker: &Waker) {
        let mut slot = self.waker.lock().unwrap_or_else(|e| e.into_inner());
        match &*slot {
            Some(w) if w.will_wake(waker) => {}
            _ => *slot = Some(waker.clone()),
        }
    }
}

impl CancelHandle {
    /// Cancels the call (idempotent).
    pub fn cancel(&self) {
        if !self.0.cancelled.swap(true, Ordering::SeqCst) {
            let waker = self
                .0
                .waker
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take();
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::SeqCst)
    }
}

impl std::fmt::Debug for CancelHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CancelHandle")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

/// The progress updates of one call ([`Call::progress`]). Updates that fail validation are
/// skipped and reported to `on_error`.
pub struct Progress<R: Rpc> {
    rx: mpsc::Receiver<String>,
    inner: Arc<Inner>,
    _rpc: std::marker::PhantomData<fn() -> R>,
}

/// Reads the update of a `$ws:rpc-progress` frame from `payload`, else `data`.
fn decode_progress<R: Rpc>(text: &str) -> Result<R::Progress, Issues> {
    let update = progress_update(text).map_err(|why| one_issue("frame", why))?;
    decode_payload::<R::Progress>(update)
}

impl<R: Rpc> Progress<R> {
    /// The next update; `None` once the call has finished.
    pub async fn recv(&mut self) -> Option<R::Progress> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }
}

impl<R: Rpc> Stream for Progress<R> {
    type Item = R::Progress;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<R::Progress>> {
        loop {
            match self.rx.poll_recv(cx) {
                Poll::Ready(Some(text)) => match decode_progress::<R>(&text) {
                    Ok(update) => return Poll::Ready(Some(update)),
                    Err(issues) => {
                        let mut reports = Reports::default();
                        reports.push(ErrorReport::Invalid {
                            ty: types::RPC_PROGRESS.to_owned(),
                            issues,
                        });
                        self.inner.report(reports);
                    }
                },
                other => return other.map(|_| None),
            }
        }
    }
}

impl<R: Rpc> std::fmt::Debug for Progress<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Progress").finish_non_exhaustive()
    }
}
