//! The inbound path of one frame: parse, runtime frame types, route, limits, then (in the
//! generated `Service::call`) validation, middleware and the handler.

use std::any::Any;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::Range;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context as TaskContext, Waker};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Utf8Bytes;
use tracing::Instrument;

use super::connection::Conn;
use super::context::{Connection, Context, ReqState, RpcContext};
use super::hooks::ErrorCause;
use super::middleware::{Chain, Endpoint, Next};
use crate::validate::{decode_meta_text, decode_payload_text};
use crate::wire::{self, InboundFrame, types};
use crate::{Error, ErrorCode, Issues, Message, Rpc};

/// `retryAfterMs` of the `UNAVAILABLE` answer to a request that arrives during shutdown.
const SHUTDOWN_RETRY_AFTER_MS: u64 = 1000;

/// When a frame was received.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Received {
    /// The wall clock (`Context::received_at`).
    pub at: SystemTime,
    /// The monotonic clock: `meta.timeoutMs` counts from here.
    pub instant: Instant,
}

/// One inbound frame routed to a service, with its connection.
pub struct Request<D> {
    ty: &'static str,
    text: Utf8Bytes,
    meta: Option<Range<usize>>,
    payload: Option<Range<usize>>,
    received: Received,
    /// The route's middleware; `None` when there is none.
    chain: Option<Chain<D>>,
    guard: InFlight<D>,
}

impl<D> Request<D> {
    /// The frame's wire type.
    pub fn wire_type(&self) -> &str {
        self.ty
    }
}

/// Counts a request in flight on its connection and on the server until dropped.
struct InFlight<D> {
    conn: Arc<Conn<D>>,
}

impl<D> Drop for InFlight<D> {
    fn drop(&mut self) {
        self.conn.in_flight.fetch_sub(1, Ordering::AcqRel);
        self.conn.shared.rt.request_done();
    }
}

/// Keeps an RPC in the abort registry until it ends.
struct Registered<D> {
    conn: Arc<Conn<D>>,
    correlation_id: Arc<str>,
    req: Arc<ReqState>,
}

impl<D> Registered<D> {
    fn new(ctx: &Context<D>, correlation_id: &str) -> Self {
        let correlation_id: Arc<str> = correlation_id.into();
        let conn = ctx.conn.conn.clone();
        conn.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(correlation_id.clone(), ctx.req.clone());
        Registered {
            conn,
            correlation_id,
            req: ctx.req.clone(),
        }
    }
}

impl<D> Drop for Registered<D> {
    fn drop(&mut self) {
        let mut requests = self.conn.requests.lock().unwrap_or_else(|e| e.into_inner());
        if requests
            .get(&self.correlation_id)
            .is_some_and(|r| Arc::ptr_eq(r, &self.req))
        {
            requests.remove(&self.correlation_id);
        }
    }
}

fn range_in(text: &str, part: &str) -> Range<usize> {
    let start = part.as_ptr() as usize - text.as_ptr() as usize;
    start..start + part.len()
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Answers a frame that has no request (yet): `RPC_ERROR` when it carried a correlationId,
/// else `ERROR`, and reports it.
fn answer<D: Send + Sync + 'static>(
    conn: &Conn<D>,
    wire_type: Option<&str>,
    correlation_id: Option<&str>,
    error: Error,
    cause: ErrorCause,
) {
    conn.send_error(wire_type, correlation_id, error, cause, true);
}

pub(crate) fn answer_bad_frame<D: Send + Sync + 'static>(
    conn: &Arc<Conn<D>>,
    error: Error,
    cause: ErrorCause,
) {
    answer(conn, None, None, error, cause);
}

/// Handles one inbound text frame.
pub(crate) fn frame<D: Send + Sync + 'static>(
    conn: &Arc<Conn<D>>,
    text: Utf8Bytes,
    received: Received,
) {
    let frame = match InboundFrame::parse(&text) {
        Ok(f) => f,
        Err(e) => return answer_bad_frame(conn, e, ErrorCause::BadFrame),
    };
    let shared = &conn.shared;
    match &*frame.ty {
        types::HEARTBEAT => {
            let ack = format!(
                r#"{{"type":"{}","meta":{{"ts":{}}}}}"#,
                types::HEARTBEAT_ACK,
                now_ms()
            );
            let _ = conn.push(ack.into());
        }
        types::ABORT => {
            if let Some(cid) = frame.correlation_id() {
                tracing::debug!(correlation_id = %cid, "abort");
                conn.abort(&cid);
            }
        }
        ty if wire::is_reserved_type(ty) => {
            let error = Error::invalid_argument(format!("type {ty:?} is reserved"));
            answer(conn, Some(ty), None, error, ErrorCause::ReservedType);
        }
        ty => {
            let Some(route) = shared.routes.get(ty) else {
                let error = Error::from_code(ErrorCode::Unimplemented)
                    .with_details(serde_json::json!({ "type": ty }));
                let cid = frame.correlation_id();
                return answer(
                    conn,
                    Some(ty),
                    cid.as_deref(),
                    error,
                    ErrorCause::UnknownType,
                );
            };
            if shared.rt.shutdown.is_cancelled() {
                let error = Error::unavailable("server shutting down")
                    .with_retry_after_ms(SHUTDOWN_RETRY_AFTER_MS);
                let cid = frame.correlation_id();
                return answer(
                    conn,
                    Some(ty),
                    cid.as_deref(),
                    error,
                    ErrorCause::ShuttingDown,
                );
            }
            let limit = shared.rt.limits.max_in_flight;
            if conn.in_flight.fetch_add(1, Ordering::AcqRel) >= limit {
                let correlation_id = frame.correlation_id();
                conn.in_flight.fetch_sub(1, Ordering::AcqRel);
                let error = Error::resource_exhausted(format!(
                    "too many requests in flight on this connection (limit {limit})"
                ));
                return answer(
                    conn,
                    Some(ty),
                    correlation_id.as_deref(),
                    error,
                    ErrorCause::TooManyInFlight,
                );
            }
            shared.rt.request_started();
            let meta = frame.meta.map(|m| range_in(&text, m.get()));
            let payload = frame.payload.map(|p| range_in(&text, p.get()));
            drop(frame);
            let static_ty = route.ty;
            let request = Request {
                ty: static_ty,
                text,
                meta,
                payload,
                received,
                chain: route.chain.clone(),
                guard: InFlight { conn: conn.clone() },
            };
            let call = std::panic::catch_unwind(AssertUnwindSafe(|| {
                shared.services[route.service].call(request)
            }));
            match call {
                Ok(fut) => run_inline_or_spawn(shared, fut),
                Err(panic) => answer(
                    conn,
                    Some(static_ty),
                    None,
                    Error::from_code(ErrorCode::Internal),
                    ErrorCause::Panic(panic_message(&panic)),
                ),
            }
        }
    }
}

/// Polls a handler future once on the connection task: most handlers finish at once, and then no
/// task is spawned. A pending one goes on as its own task.
fn run_inline_or_spawn<D: Send + Sync + 'static>(
    shared: &super::builder::Shared<D>,
    fut: BoxFuture<'static, ()>,
) {
    // Backstop: panics of decoding, middleware and handlers are caught (and answered) inside
    // the request; this one keeps the connection alive whatever a `Service` impl does.
    let mut fut = AssertUnwindSafe(fut).catch_unwind().map(|r| {
        if let Err(panic) = r {
            tracing::error!(panic = %panic_message(&panic), "request panicked outside its handler");
        }
    });
    let mut cx = TaskContext::from_waker(Waker::noop());
    if Pin::new(&mut fut).poll(&mut cx).is_pending() {
        shared.rt.tracker.spawn(fut);
    }
}

/// The text of a caught panic.
pub(crate) fn panic_message(panic: &Box<dyn Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_owned()
    }
}

impl<D: Send + Sync + 'static> Request<D> {
    fn text_part(&self, range: &Option<Range<usize>>) -> Option<&str> {
        range.clone().map(|r| &self.text[r])
    }

    /// The correlationId in the frame's meta, read without validating the rest (for answers
    /// before or instead of validation).
    fn correlation_id(&self) -> Option<String> {
        wire::peek_correlation_id(&self.text[self.meta.clone()?])
    }

    /// [`Self::decode`], with a panic of a `Decode`/`Validate` impl answered `INTERNAL`.
    fn decode_guarded<M: Message>(self, is_rpc: bool) -> Option<(Context<D>, M, InFlight<D>)> {
        let conn = self.guard.conn.clone();
        let ty = self.ty;
        let (text, meta_range) = (self.text.clone(), self.meta.clone());
        match std::panic::catch_unwind(AssertUnwindSafe(move || self.decode::<M>(is_rpc))) {
            Ok(decoded) => decoded,
            Err(panic) => {
                let cid = meta_range.and_then(|r| wire::peek_correlation_id(&text[r]));
                let error = Error::from_code(ErrorCode::Internal);
                let cause = ErrorCause::Panic(panic_message(&panic));
                answer(&conn, Some(ty), cid.as_deref(), error, cause);
                None
            }
        }
    }

    /// Validates meta and payload as message `M`; on failure answers `INVALID_ARGUMENT` with
    /// every issue and returns `None`.
    fn decode<M: Message>(self, is_rpc: bool) -> Option<(Context<D>, M, InFlight<D>)> {
        // The ranges are slices of the frame parsed in `frame()`: valid JSON, read once more here.
        let meta = decode_meta_text::<M>(self.text_part(&self.meta));
        // Decoding checks the constraints too (`Validate`): no second pass.
        let payload = decode_payload_text::<M>(self.text_part(&self.payload));
        let conn = self.guard.conn.clone();
        let (meta, typed, msg) = match (meta, payload) {
            (Ok((meta, typed)), Ok(msg)) => (meta, typed, msg),
            (meta, payload) => {
                let mut all: Vec<crate::Issue> = Vec::new();
                if let Err(issues) = meta {
                    all.extend(issues);
                }
                if let Err(issues) = payload {
                    all.extend(issues);
                }
                let error = Issues::from(all).into_error();
                let cid = self.correlation_id();
                answer(
                    &conn,
                    Some(self.ty),
                    cid.as_deref(),
                    error,
                    ErrorCause::Validation,
                );
                return None;
            }
        };
        // Counted from the receive instant; one too far to represent is no deadline.
        let deadline = meta
            .timeout_ms
            .and_then(|ms| self.received.instant.checked_add(Duration::from_millis(ms)));
        let req = Arc::new(ReqState::new(
            self.ty,
            meta,
            Box::new(typed),
            self.received.at,
            deadline,
            is_rpc,
        ));
        let ctx = Context {
            conn: Connection { conn },
            req,
        };
        Some((ctx, msg, self.guard))
    }
}

/// How a request ended.
enum Outcome {
    Done(Result<(), Error>),
    Panicked(String),
    Cancelled,
    DeadlineExceeded,
}

/// Runs middleware and handler with panics caught, cancellation and the deadline; answers errors.
async fn run<D: Send + Sync + 'static>(
    ctx: Context<D>,
    chain: Option<Chain<D>>,
    endpoint: Endpoint<D>,
) {
    let handler = match chain {
        Some(chain) => Next::new(chain, endpoint).run(ctx.clone()),
        None => endpoint(ctx.clone()),
    };
    let guarded = AssertUnwindSafe(handler).catch_unwind();
    let req = &ctx.req;
    let closing = &ctx.conn.conn.closing;
    let deadline = async {
        match req.deadline {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    };
    let outcome = tokio::select! {
        biased;
        r = guarded => match r {
            Ok(result) => Outcome::Done(result),
            Err(panic) => Outcome::Panicked(panic_message(&panic)),
        },
        _ = closing.cancelled() => Outcome::Cancelled,
        _ = req.wake.notified() => Outcome::Cancelled,
        _ = deadline => Outcome::DeadlineExceeded,
    };
    match outcome {
        Outcome::Done(Ok(())) => {
            if req.is_rpc && !req.is_terminal() {
                ctx.fail(
                    Error::internal("the request was not answered"),
                    ErrorCause::NoReply,
                );
            }
        }
        Outcome::Done(Err(e)) => ctx.fail(e, ErrorCause::Handler),
        Outcome::Panicked(message) => {
            tracing::error!(panic = %message, "handler panicked");
            ctx.fail(
                Error::from_code(ErrorCode::Internal),
                ErrorCause::Panic(message),
            )
        }
        Outcome::Cancelled => tracing::debug!("request cancelled"),
        Outcome::DeadlineExceeded => {
            req.cancel(closing);
            ctx.fail(
                Error::from_code(ErrorCode::DeadlineExceeded),
                ErrorCause::DeadlineExceeded,
            );
        }
    }
}

fn request_span(ty: &str) -> tracing::Span {
    tracing::debug_span!(
        "ws.request",
        r#type = ty,
        correlation_id = tracing::field::Empty
    )
}

/// Records the request's correlationId on its span.
fn record_correlation_id(span: &tracing::Span, meta: &wire::Meta) {
    if let Some(cid) = &meta.correlation_id
        && !span.is_disabled()
    {
        span.record("correlation_id", cid.as_str());
    }
}

/// The start every routed request shares: decode (answering a failure), then name the request's
/// correlationId on its span. Also hands back the middleware chain of its route.
#[allow(clippy::type_complexity)]
fn begin<D: Send + Sync + 'static, M: Message>(
    mut request: Request<D>,
    is_rpc: bool,
    span: &tracing::Span,
) -> Option<(Context<D>, M, InFlight<D>, Option<Chain<D>>)> {
    let chain = request.chain.take();
    let (ctx, msg, guard) = request.decode_guarded::<M>(is_rpc)?;
    record_correlation_id(span, &ctx.req.meta);
    Some((ctx, msg, guard, chain))
}

#[doc(hidden)]
pub fn __serve_message<D, M, F, Fut>(request: Request<D>, handler: F) -> BoxFuture<'static, ()>
where
    D: Send + Sync + 'static,
    M: Message,
    F: FnOnce(Context<D>, M) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), Error>> + Send + 'static,
{
    let span = request_span(request.ty);
    let this_span = span.clone();
    Box::pin(
        async move {
            let Some((ctx, msg, _guard, chain)) = begin::<D, M>(request, false, &this_span) else {
                return;
            };
            let endpoint: Endpoint<D> = Box::new(move |ctx| Box::pin(handler(ctx, msg)));
            run(ctx, chain, endpoint).await;
        }
        .instrument(span),
    )
}

#[doc(hidden)]
pub fn __serve_rpc<D, R, F, Fut>(request: Request<D>, handler: F) -> BoxFuture<'static, ()>
where
    D: Send + Sync + 'static,
    R: Rpc,
    F: FnOnce(RpcContext<D, R>, R) -> Fut + Send + 'static,
    Fut: Future<Output = Result<R::Response, Error>> + Send + 'static,
{
    let span = request_span(request.ty);
    let this_span = span.clone();
    Box::pin(
        async move {
            let Some((ctx, req, _guard, chain)) = begin::<D, R>(request, true, &this_span) else {
                return;
            };
            if let Some(cid) = ctx.correlation_id()
                && ctx
                    .conn
                    .conn
                    .requests
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .contains_key(cid)
            {
                let error = Error::invalid_argument("duplicate correlationId in flight");
                ctx.fail(error, ErrorCause::DuplicateCorrelationId);
                return;
            }
            let endpoint: Endpoint<D> = Box::new(move |ctx| {
                let rpc = RpcContext::<D, R> {
                    ctx,
                    _rpc: PhantomData,
                };
                Box::pin(async move {
                    let response = handler(rpc.clone(), req).await?;
                    rpc.reply(&response);
                    Ok(())
                })
            });
            // Most RPCs finish in their first poll (inline on the connection task): only one that
            // does not goes in the abort registry, before the next frame is read.
            let mut running = std::pin::pin!(run(ctx.clone(), chain, endpoint));
            let mut registered: Option<Registered<D>> = None;
            std::future::poll_fn(|cx| {
                let poll = running.as_mut().poll(cx);
                if poll.is_pending()
                    && registered.is_none()
                    && let Some(cid) = ctx.correlation_id()
                {
                    registered = Some(Registered::new(&ctx, cid));
                }
                poll
            })
            .await;
            drop(registered);
        }
        .instrument(span),
    )
}

#[doc(hidden)]
pub fn __serve_unknown<D: Send + Sync + 'static>(request: Request<D>) -> BoxFuture<'static, ()> {
    let conn = request.guard.conn.clone();
    let error = Error::from_code(ErrorCode::Unimplemented)
        .with_details(serde_json::json!({ "type": request.ty }));
    let cid = request.correlation_id();
    answer(
        &conn,
        Some(request.ty),
        cid.as_deref(),
        error,
        ErrorCause::UnknownType,
    );
    Box::pin(std::future::ready(()))
}
