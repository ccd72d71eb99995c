//! One RPC: the [`Call`] future, its progress stream and its cancel handle.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::Stream;
use tokio::sync::{Notify, mpsc};

use super::error::ClientError;
use super::handle::Client;
use super::report::ErrorReport;
use super::shared::{Inner, Reply, Reports};
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
    cancel: CancelHandle,
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
            cancel: CancelHandle::default(),
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
        self.cancel.clone()
    }
}

impl<R: Rpc> IntoFuture for Call<R> {
    type Output = Result<R::Response, ClientError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        let Call {
            client,
            request,
            meta,
            timeout,
            progress_tx,
            cancel,
        } = self;
        let started = if cancel.is_cancelled() {
            Err(ClientError::Cancelled)
        } else {
            client.start_request(request, meta, progress_tx)
        };
        // The request is registered (and maybe written) now, so the guard that forgets it must
        // exist now too: dropping this future unpolled still abandons the request.
        let started = started.map(|s| {
            let guard = Abandon {
                inner: client.inner.clone(),
                id: s.id,
                armed: true,
            };
            (guard, s.written_rx, s.reply_rx)
        });
        Box::pin(async move {
            let _client = client;
            let (mut guard, mut written_rx, mut reply_rx) = started?;
            let cancelled = cancel.0.notify.notified();
            tokio::pin!(cancelled);
            // Until the frame is written: no clock runs.
            let mut written = false;
            while !written {
                tokio::select! {
                    reply = &mut reply_rx => {
                        guard.armed = false;
                        return finish::<R>(reply);
                    }
                    w = &mut written_rx => {
                        // An error means the entry left the table: its reply is coming.
                        if w.is_err() {
                            let reply = (&mut reply_rx).await;
                            guard.armed = false;
                            return finish::<R>(reply);
                        }
                        written = true;
                    }
                    _ = &mut cancelled => return Err(ClientError::Cancelled),
                }
            }
            tokio::select! {
                reply = &mut reply_rx => {
                    guard.armed = false;
                    finish::<R>(reply)
                }
                _ = tokio::time::sleep(timeout) => Err(ClientError::Timeout),
                _ = &mut cancelled => Err(ClientError::Cancelled),
            }
        })
    }
}

/// Forgets the request (and aborts it on the server) unless disarmed by a reply.
struct Abandon {
    inner: Arc<Inner>,
    id: Arc<str>,
    armed: bool,
}

impl Drop for Abandon {
    fn drop(&mut self) {
        if self.armed {
            self.inner.abandon_request(&self.id);
        }
    }
}

fn finish<R: Rpc>(
    reply: Result<Result<Reply, ClientError>, tokio::sync::oneshot::error::RecvError>,
) -> Result<R::Response, ClientError> {
    match reply {
        Ok(Ok(reply)) => decode_reply::<R>(&reply),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(ClientError::ConnectionClosed),
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
    notify: Notify,
}

impl CancelHandle {
    /// Cancels the call (idempotent).
    pub fn cancel(&self) {
        if !self.0.cancelled.swap(true, Ordering::SeqCst) {
            self.0.notify.notify_one();
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
