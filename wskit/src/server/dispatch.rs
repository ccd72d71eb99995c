//! The inbound path of one frame: parse, runtime frame types, route, limits, then (in the
//! generated `Service::call`) validation, middleware and the handler.

use std::any::Any;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::Range;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context as TaskContext, Waker};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use serde_json::value::RawValue;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Utf8Bytes;
use tracing::Instrument;

use super::connection::Conn;
use super::context::{Connection, Context, ReqState, RpcContext, utf8};
use super::hooks::{ErrorCause, ErrorEvent};
use super::middleware::{Endpoint, Next};
use crate::validate::{decode_meta, decode_payload};
use crate::wire::{self, InboundFrame, types};
use crate::{Error, ErrorCode, Issues, Message, Rpc};

/// One inbound frame routed to a service, with its connection.
pub struct Request<D> {
    ty: &'static str,
    text: Utf8Bytes,
    meta: Option<Range<usize>>,
    payload: Option<Range<usize>>,
    received_at: SystemTime,
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

/// Removes an RPC from the abort registry when it ends.
struct Registered<D> {
    conn: Arc<Conn<D>>,
    correlation_id: String,
    req: Arc<ReqState>,
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
    conn: &Arc<Conn<D>>,
    wire_type: Option<&str>,
    correlation_id: Option<String>,
    error: Error,
    cause: ErrorCause,
) {
    let frame = wire::encode_error(correlation_id.as_deref(), &error);
    let answered = conn.push(utf8(frame)).is_ok();
    conn.shared.hooks.report(ErrorEvent {
        client_id: Some(conn.id),
        wire_type: wire_type.map(str::to_owned),
        correlation_id,
        error,
        cause,
        answered,
    });
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
    received_at: SystemTime,
) {
    let frame = match InboundFrame::parse(&text) {
        Ok(f) => f,
        Err(e) => return answer_bad_frame(conn, e, ErrorCause::BadFrame),
    };
    let shared = &conn.shared;
    match &*frame.ty {
        types::HEARTBEAT => {
            let ack = wire::encode_frame(
                types::HEARTBEAT_ACK,
                Some(&serde_json::json!({ "ts": now_ms() })),
                None::<&()>,
            );
            let _ = conn.push(utf8(ack));
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
            let Some(&(static_ty, service)) = shared.routes.get(ty) else {
                let error = Error::from_code(ErrorCode::Unimplemented)
                    .with_details(serde_json::json!({ "type": ty }));
                let cid = frame.correlation_id();
                return answer(conn, Some(ty), cid, error, ErrorCause::UnknownType);
            };
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
                    correlation_id,
                    error,
                    ErrorCause::TooManyInFlight,
                );
            }
            shared.rt.request_started();
            let meta = frame.meta.map(|m| range_in(&text, m.get()));
            let payload = frame.payload.map(|p| range_in(&text, p.get()));
            drop(frame);
            let request = Request {
                ty: static_ty,
                text,
                meta,
                payload,
                received_at,
                guard: InFlight { conn: conn.clone() },
            };
            let call = std::panic::catch_unwind(AssertUnwindSafe(|| {
                shared.services[service].call(request)
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

/// Polls a handler future once on the reader: most handlers finish at once, and then no task is
/// spawned. A pending one goes on as its own task.
fn run_inline_or_spawn<D: Send + Sync + 'static>(
    shared: &super::builder::Shared<D>,
    fut: BoxFuture<'static, ()>,
) {
    // Backstop: panics of decoding, middleware and handlers are caught (and answered) inside
    // the request; this one keeps the reader alive whatever a `Service` impl does.
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
    fn part(&self, range: &Option<Range<usize>>) -> Option<&RawValue> {
        let r = range.clone()?;
        serde_json::from_str::<&RawValue>(&self.text[r]).ok()
    }

    /// The correlationId in the frame's meta, read without validating the rest (for answers
    /// before or instead of validation).
    fn peek_correlation_id(&self) -> Option<String> {
        InboundFrame {
            ty: std::borrow::Cow::Borrowed(self.ty),
            meta: self.part(&self.meta),
            payload: None,
        }
        .correlation_id()
    }

    /// [`Self::decode`], with a panic of a `Decode`/`Validate` impl answered `INTERNAL`.
    fn decode_guarded<M: Message>(self, is_rpc: bool) -> Option<(Context<D>, M, InFlight<D>)> {
        let conn = self.guard.conn.clone();
        let ty = self.ty;
        let (text, meta_range) = (self.text.clone(), self.meta.clone());
        match std::panic::catch_unwind(AssertUnwindSafe(move || self.decode::<M>(is_rpc))) {
            Ok(decoded) => decoded,
            Err(panic) => {
                let cid = meta_range.and_then(|r| peek_cid(ty, &text[r]));
                let error = Error::from_code(ErrorCode::Internal);
                let cause = ErrorCause::Panic(panic_message(&panic));
                answer(&conn, Some(ty), cid, error, cause);
                None
            }
        }
    }

    /// Validates meta and payload as message `M`; on failure answers `INVALID_ARGUMENT` with
    /// every issue and returns `None`.
    fn decode<M: Message>(self, is_rpc: bool) -> Option<(Context<D>, M, InFlight<D>)> {
        let meta = decode_meta::<M>(self.part(&self.meta));
        let payload =
            decode_payload::<M>(self.part(&self.payload)).and_then(|m| m.check().map(|()| m));
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
                let cid = self.peek_correlation_id();
                answer(&conn, Some(self.ty), cid, error, ErrorCause::Validation);
                return None;
            }
        };
        let deadline = meta
            .timeout_ms
            .map(|ms| Instant::now() + Duration::from_millis(ms));
        let req = Arc::new(ReqState {
            ty: self.ty,
            meta,
            typed_meta: Box::new(typed),
            received_at: self.received_at,
            deadline,
            closing: conn.closing.clone(),
            aborted: AtomicBool::new(false),
            wake: Notify::new(),
            token: OnceLock::new(),
            terminal: AtomicBool::new(false),
            is_rpc,
        });
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
async fn run<D: Send + Sync + 'static>(ctx: Context<D>, endpoint: Endpoint<D>) {
    let chain = ctx.conn.conn.shared.chain_for(ctx.req.ty);
    let guarded = AssertUnwindSafe(Next::new(chain, endpoint).run(ctx.clone())).catch_unwind();
    let req = &ctx.req;
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
        _ = req.closing.cancelled() => Outcome::Cancelled,
        _ = req.wake.notified() => Outcome::Cancelled,
        _ = deadline => Outcome::DeadlineExceeded,
    };
    match outcome {
        Outcome::Done(Ok(())) => {
            if req.is_rpc && !req.terminal.load(Ordering::Acquire) {
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
            req.cancel();
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

fn peek_cid(ty: &str, meta: &str) -> Option<String> {
    InboundFrame {
        ty: std::borrow::Cow::Borrowed(ty),
        meta: serde_json::from_str(meta).ok(),
        payload: None,
    }
    .correlation_id()
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
            let Some((ctx, msg, _guard)) = request.decode_guarded::<M>(false) else {
                return;
            };
            record_correlation_id(&this_span, &ctx.req.meta);
            let endpoint: Endpoint<D> = Box::new(move |ctx| Box::pin(handler(ctx, msg)));
            run(ctx, endpoint).await;
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
            let Some((ctx, req, _guard)) = request.decode_guarded::<R>(true) else {
                return;
            };
            record_correlation_id(&this_span, &ctx.req.meta);
            let _registered = ctx.req.meta.correlation_id.clone().map(|cid| {
                let conn = ctx.conn.conn.clone();
                conn.requests
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(cid.clone(), ctx.req.clone());
                Registered {
                    conn,
                    correlation_id: cid,
                    req: ctx.req.clone(),
                }
            });
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
            run(ctx, endpoint).await;
        }
        .instrument(span),
    )
}

#[doc(hidden)]
pub fn __serve_unknown<D: Send + Sync + 'static>(request: Request<D>) -> BoxFuture<'static, ()> {
    let conn = request.guard.conn.clone();
    let error = Error::from_code(ErrorCode::Unimplemented)
        .with_details(serde_json::json!({ "type": request.ty }));
    answer(
        &conn,
        Some(request.ty),
        request.peek_correlation_id(),
        error,
        ErrorCause::UnknownType,
    );
    Box::pin(std::future::ready(()))
}
