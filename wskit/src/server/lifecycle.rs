//! A routed request's life, from what the generated services call (`__serve_message`,
//! `__serve_rpc`, `__serve_unknown`): decode (`wire::inbound::decode_request`), middleware, the
//! handler polled once inline and, if pending, watched as a task of its own (cancellation,
//! deadline, the abort registry), and what its end owes (`conclude`).
//!
//! Only the typed half of a request ([`Typed`], on `wire::inbound::Pending`: decoding its
//! message, making its handler's future) is compiled once per message type; the rest (`serve`) is compiled once per server,
//! which keeps what a protocol of many messages costs to compile close to what its handlers and
//! decoders themselves cost.

use std::any::Any;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, Waker};
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use tracing::Instrument;

use super::connection::{Conn, Connection};
use super::context::{Context, RpcContext};
use super::dispatch::{answer, answer_bad_frame};
use super::middleware::{Chain, Endpoint, Next};
use super::report::{ErrorCause, panic_message};
use super::request::ReqState;
use super::service::{InFlight, Request};
use wskit_core::wire::FrameParts as Parts;
use wskit_core::wire::inbound::{self, DecodeError, Pending};
use wskit_core::wire::{self};
use wskit_core::{Error, ErrorCode, Message, Rpc};

/// A handler's future with its panics caught, as the request's life polls it.
type Guarded = Pin<Box<dyn Future<Output = std::thread::Result<Result<(), Error>>> + Send>>;

/// The typed half of a routed request: what differs from one message type to the next.
trait Typed<D> {
    /// Decodes the frame as the message (strictly: `wire::inbound::decode_request`) and keeps
    /// the message; returns the frame's standard meta and its declared meta.
    #[allow(clippy::type_complexity)]
    fn decode(
        &mut self,
        text: &str,
        parts: &mut Option<Parts>,
    ) -> Result<(wire::Meta, Box<dyn Any + Send + Sync>), DecodeError>;

    /// The handler's future on the decoded message, inside `chain` (the route's middleware) if
    /// there is one; `None` before a successful [`Typed::decode`].
    fn call(&mut self, ctx: &Context<D>, chain: Option<Chain<D>>) -> Option<Guarded>;
}

impl<D, M: Message, I: Invoke<D, M>> Typed<D> for Pending<I, M> {
    fn decode(
        &mut self,
        text: &str,
        parts: &mut Option<Parts>,
    ) -> Result<(wire::Meta, Box<dyn Any + Send + Sync>), DecodeError> {
        Pending::decode(self, text, parts)
    }

    fn call(&mut self, ctx: &Context<D>, chain: Option<Chain<D>>) -> Option<Guarded> {
        let (handler, msg) = self.take()?;
        Some(handler.invoke(ctx, chain, msg))
    }
}

/// How a decoded message of type `M` reaches its handler.
trait Invoke<D, M> {
    fn invoke(self, ctx: &Context<D>, chain: Option<Chain<D>>, msg: M) -> Guarded;
}

/// A client-to-server message's handler.
struct OnMessage<F>(F);

impl<D, M, F, Fut> Invoke<D, M> for OnMessage<F>
where
    D: Send + Sync + 'static,
    M: Message,
    F: FnOnce(Context<D>, M) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), Error>> + Send + 'static,
{
    fn invoke(self, ctx: &Context<D>, chain: Option<Chain<D>>, msg: M) -> Guarded {
        let handler = self.0;
        guarded(ctx, chain, move |ctx| handler(ctx, msg))
    }
}

/// An rpc's handler: its response is the reply.
struct OnRpc<F>(F);

impl<D, R, F, Fut> Invoke<D, R> for OnRpc<F>
where
    D: Send + Sync + 'static,
    R: Rpc,
    F: FnOnce(RpcContext<D, R>, R) -> Fut + Send + 'static,
    Fut: Future<Output = Result<R::Response, Error>> + Send + 'static,
{
    fn invoke(self, ctx: &Context<D>, chain: Option<Chain<D>>, req: R) -> Guarded {
        let handler = self.0;
        guarded(ctx, chain, move |ctx| {
            let rpc = RpcContext::<D, R> {
                ctx,
                _rpc: PhantomData,
            };
            async move {
                let response = handler(rpc.clone(), req).await?;
                rpc.reply(&response);
                Ok(())
            }
        })
    }
}

/// `call`'s future inside the route's middleware (`chain`), or `call`'s own future when there
/// is none; boxed once, with its panics caught.
fn guarded<D, F, Fut>(ctx: &Context<D>, chain: Option<Chain<D>>, call: F) -> Guarded
where
    D: Send + Sync + 'static,
    F: FnOnce(Context<D>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), Error>> + Send + 'static,
{
    match chain {
        Some(chain) => {
            let endpoint: Endpoint<D> = Box::new(move |ctx| Box::pin(call(ctx)));
            Box::pin(AssertUnwindSafe(Next::new(chain, endpoint).run(ctx.clone())).catch_unwind())
        }
        None => Box::pin(AssertUnwindSafe(call(ctx.clone())).catch_unwind()),
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
        self.conn.requests.remove(&self.correlation_id, &self.req);
    }
}

impl<D: Send + Sync + 'static> Request<D> {
    /// The envelope's parts (`FrameParts::get_or_parse`).
    fn parts(&mut self) -> Result<&Parts, Error> {
        Parts::get_or_parse(&mut self.parts, &self.text)
    }

    /// The correlationId in the frame's meta, `None` too for a frame that is not a valid envelope.
    fn correlation_id(&mut self) -> Option<String> {
        Parts::get_or_parse(&mut self.parts, &self.text)
            .ok()?
            .correlation_id(&self.text)
    }

    /// Validates meta and payload as the job's message (`wire::inbound::decode_request`), which
    /// the job keeps; on failure answers `INVALID_ARGUMENT` with every issue (or the bad
    /// envelope, or `INTERNAL` for a panic of a `Decode`/`Validate` impl) and returns `None`.
    fn decode(mut self, job: &mut dyn Typed<D>, is_rpc: bool) -> Option<(Context<D>, InFlight<D>)> {
        let conn = self.guard.conn.clone();
        let decoded =
            std::panic::catch_unwind(AssertUnwindSafe(|| job.decode(&self.text, &mut self.parts)));
        let (meta, typed) = match decoded {
            Ok(Ok(decoded)) => decoded,
            Ok(Err(DecodeError::BadFrame(e))) => {
                answer_bad_frame(&conn, e, ErrorCause::BadFrame);
                return None;
            }
            Ok(Err(DecodeError::Invalid {
                correlation_id,
                error,
            })) => {
                let (ty, cid) = (Some(self.ty), correlation_id.as_deref());
                answer(&conn, ty, cid, error, ErrorCause::Validation);
                return None;
            }
            Err(panic) => {
                let cid = self.correlation_id();
                let error = Error::from_code(ErrorCode::Internal);
                let cause = ErrorCause::Panic(panic_message(&panic));
                answer(&conn, Some(self.ty), cid.as_deref(), error, cause);
                return None;
            }
        };
        // Counted from the receive instant; one too far to represent is no deadline.
        let deadline = meta
            .timeout_ms
            .and_then(|ms| self.received.instant.checked_add(Duration::from_millis(ms)));
        let req = ReqState::shared(ReqState::new(
            self.ty,
            meta,
            typed,
            self.received.at,
            deadline,
            is_rpc,
        ));
        let ctx = Context {
            conn: Connection { conn },
            req,
        };
        Some((ctx, self.guard))
    }
}

/// How a request ended.
enum Outcome {
    Done(Result<(), Error>),
    Panicked(String),
    Cancelled,
    DeadlineExceeded,
}

impl Outcome {
    /// The outcome of a handler that ran to its end (or panicked).
    fn of(result: std::thread::Result<Result<(), Error>>) -> Self {
        match result {
            Ok(result) => Outcome::Done(result),
            Err(panic) => Outcome::Panicked(panic_message(&panic)),
        }
    }
}

/// The future of a request that is already over (it allocates nothing when boxed).
struct Over;

impl Future for Over {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _: &mut TaskContext<'_>) -> Poll<()> {
        Poll::Ready(())
    }
}

fn over() -> BoxFuture<'static, ()> {
    Box::pin(Over)
}

/// Runs a decoded request's handler (middleware included), with panics caught: the job builds
/// its future (which may run middleware's or a handler's synchronous code).
///
/// The handler is polled once here, on the connection task: most finish in that poll, and are
/// answered at once, with nothing allocated but the handler's own future. One that does not
/// finish goes on in the returned future, which also ends it on cancellation (an abort, the
/// connection closing) or at its deadline; an RPC among them goes in the abort registry first,
/// before the next frame is read.
fn start<D: Send + Sync + 'static>(
    ctx: Context<D>,
    guard: InFlight<D>,
    span: tracing::Span,
    chain: Option<Chain<D>>,
    job: &mut dyn Typed<D>,
) -> BoxFuture<'static, ()> {
    let made =
        span.in_scope(|| std::panic::catch_unwind(AssertUnwindSafe(|| job.call(&ctx, chain))));
    let mut guarded = match made {
        Ok(Some(guarded)) => guarded,
        // Not decoded: `serve` calls the job only after its decode succeeded.
        Ok(None) => return over(),
        Err(panic) => {
            span.in_scope(|| conclude(&ctx, Outcome::Panicked(panic_message(&panic))));
            return over();
        }
    };
    let first = span.in_scope(|| {
        guarded
            .as_mut()
            .poll(&mut TaskContext::from_waker(Waker::noop()))
    });
    if let Poll::Ready(result) = first {
        span.in_scope(|| conclude(&ctx, Outcome::of(result)));
        drop(guard);
        // The handler's future holds a clone of the context: dropped first.
        drop(guarded);
        ReqState::recycle(ctx.req);
        return over();
    }
    let registered = match ctx.correlation_id() {
        Some(cid) if ctx.req.is_rpc => Some(Registered::new(&ctx, cid)),
        _ => None,
    };
    Box::pin(
        async move {
            let outcome = watch(&ctx, guarded).await;
            conclude(&ctx, outcome);
            drop(registered);
            drop(guard);
        }
        .instrument(span),
    )
}

/// Waits for a handler that did not finish in its first poll, or for its cancellation or
/// deadline (the handler first, each time it is woken).
async fn watch<D: Send + Sync + 'static>(ctx: &Context<D>, guarded: Guarded) -> Outcome {
    let req = &ctx.req;
    let deadline = async {
        match req.deadline {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        biased;
        r = guarded => Outcome::of(r),
        _ = ctx.conn.conn.closing().cancelled() => Outcome::Cancelled,
        _ = req.wake.notified() => Outcome::Cancelled,
        _ = deadline => Outcome::DeadlineExceeded,
    }
}

/// Answers what a request's outcome owes: the handler's error, or for an RPC that ended without
/// a terminal frame, an error in its place.
fn conclude<D: Send + Sync + 'static>(ctx: &Context<D>, outcome: Outcome) {
    let req = &ctx.req;
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
            req.cancel(ctx.conn.conn.closing());
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

/// A routed request's life, the same for every message type: decode (answering a failure), name
/// the request's correlationId on its span, refuse an rpc's correlationId already in flight,
/// then start the handler.
fn serve<D: Send + Sync + 'static>(
    mut request: Request<D>,
    is_rpc: bool,
    job: &mut dyn Typed<D>,
) -> BoxFuture<'static, ()> {
    let span = request_span(request.ty);
    let chain = request.chain.take();
    let decoded = span.in_scope(|| {
        let (ctx, guard) = request.decode(job, is_rpc)?;
        record_correlation_id(&span, &ctx.req.meta);
        Some((ctx, guard))
    });
    let Some((ctx, guard)) = decoded else {
        return over();
    };
    if is_rpc
        && let Some(cid) = ctx.correlation_id()
        && ctx.conn.conn.requests.contains(cid)
    {
        // Answered as `ERROR`, not under the id: an `RPC_ERROR` with it would reach the client
        // before the first request's reply and be taken for that request's answer.
        let error = inbound::duplicate_correlation_id(cid);
        let cause = ErrorCause::DuplicateCorrelationId;
        let conn = &ctx.conn.conn;
        span.in_scope(|| conn.send_error(Some(ctx.req.ty), None, error, cause, true));
        return over();
    }
    start(ctx, guard, span, chain, job)
}

#[doc(hidden)]
pub fn __serve_message<D, M, F, Fut>(request: Request<D>, handler: F) -> BoxFuture<'static, ()>
where
    D: Send + Sync + 'static,
    M: Message,
    F: FnOnce(Context<D>, M) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), Error>> + Send + 'static,
{
    serve(
        request,
        false,
        &mut Pending::<_, M>::Ready(OnMessage(handler)),
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
    serve(request, true, &mut Pending::<_, R>::Ready(OnRpc(handler)))
}

#[doc(hidden)]
pub fn __serve_unknown<D: Send + Sync + 'static>(request: Request<D>) -> BoxFuture<'static, ()> {
    let mut request = request;
    let conn = request.guard.conn.clone();
    if let Err(e) = request.parts() {
        answer_bad_frame(&conn, e, ErrorCause::BadFrame);
        return over();
    }
    let error = inbound::unknown_type(request.ty);
    let cid = request.correlation_id();
    answer(
        &conn,
        Some(request.ty),
        cid.as_deref(),
        error,
        ErrorCause::UnknownType,
    );
    over()
}
