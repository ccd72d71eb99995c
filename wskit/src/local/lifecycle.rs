//! A routed request's life on a local host, called by the generated `*LocalService`: decode,
//! the handler raced against cancellation and the deadline, and what its end owes (the reply,
//! the error, or an error in place of a missing reply).
//!
//! As on the tokio server (`server/lifecycle.rs`), only the typed half (decoding the message,
//! making the handler's future: [`Typed`], on `wire::inbound::Pending`) is compiled once per
//! message type; `serve` and what follows once per host.

use std::any::Any;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::AssertUnwindSafe;
use std::pin::{Pin, pin};
use std::rc::Rc;

use futures_util::FutureExt;
use futures_util::future::{Either, LocalBoxFuture, select};

use super::context::{Context, RpcContext};
use super::request::ReqState;
use super::routed::{InFlight, Request};
use super::server::answer;
use super::session::Session;
use wskit_core::wire::inbound::{self, DecodeError, Pending};
use wskit_core::wire::{FrameParts, Meta};
use wskit_core::{Error, ErrorCode, Message, Rpc};

/// A handler's future, as a request's life awaits it.
type Handling = Pin<Box<dyn Future<Output = Result<(), Error>>>>;

/// The typed half of a routed request: what differs from one message type to the next.
trait Typed<D> {
    /// Decodes the frame as the message and keeps it; returns the frame's standard meta and its
    /// declared meta.
    #[allow(clippy::type_complexity)]
    fn decode(
        &mut self,
        text: &str,
        parts: &mut Option<FrameParts>,
    ) -> Result<(Meta, Box<dyn Any + Send + Sync>), DecodeError>;

    /// The handler's future on the decoded message; `None` before a successful decode.
    fn call(&mut self, ctx: &Context<D>) -> Option<Handling>;
}

impl<D, M: Message, I: Invoke<D, M>> Typed<D> for Pending<I, M> {
    fn decode(
        &mut self,
        text: &str,
        parts: &mut Option<FrameParts>,
    ) -> Result<(Meta, Box<dyn Any + Send + Sync>), DecodeError> {
        Pending::decode(self, text, parts)
    }

    fn call(&mut self, ctx: &Context<D>) -> Option<Handling> {
        let (handler, msg) = self.take()?;
        Some(handler.invoke(ctx, msg))
    }
}

/// How a decoded message of type `M` reaches its handler.
trait Invoke<D, M> {
    fn invoke(self, ctx: &Context<D>, msg: M) -> Handling;
}

/// A client-to-server message's handler.
struct OnMessage<F>(F);

impl<D, M, F, Fut> Invoke<D, M> for OnMessage<F>
where
    D: 'static,
    M: Message,
    F: FnOnce(Context<D>, M) -> Fut + 'static,
    Fut: Future<Output = Result<(), Error>> + 'static,
{
    fn invoke(self, ctx: &Context<D>, msg: M) -> Handling {
        Box::pin((self.0)(ctx.clone(), msg))
    }
}

/// An rpc's handler: its response is the reply.
struct OnRpc<F>(F);

impl<D, R, F, Fut> Invoke<D, R> for OnRpc<F>
where
    D: 'static,
    R: Rpc,
    F: FnOnce(RpcContext<D, R>, R) -> Fut + 'static,
    Fut: Future<Output = Result<R::Response, Error>> + 'static,
{
    fn invoke(self, ctx: &Context<D>, req: R) -> Handling {
        let rpc = RpcContext::<D, R> {
            ctx: ctx.clone(),
            _rpc: PhantomData,
        };
        let handler = self.0;
        Box::pin(async move {
            let response = handler(rpc.clone(), req).await?;
            rpc.reply(&response);
            Ok(())
        })
    }
}

impl<D: 'static> Request<D> {
    /// Decodes meta and payload as the job's message, which the job keeps; on failure answers
    /// `INVALID_ARGUMENT` with every issue (or the bad envelope) and returns `None`.
    fn decode(mut self, job: &mut dyn Typed<D>, is_rpc: bool) -> Option<(Context<D>, InFlight<D>)> {
        let (meta, typed) = match job.decode(&self.text, &mut self.parts) {
            Ok(decoded) => decoded,
            Err(DecodeError::BadFrame(e)) => {
                answer(&self.session, None, None, e);
                return None;
            }
            Err(DecodeError::Invalid {
                correlation_id,
                error,
            }) => {
                answer(
                    &self.session,
                    Some(self.ty),
                    correlation_id.as_deref(),
                    error,
                );
                return None;
            }
        };
        let req = ReqState::new(self.ty, meta, typed, self.received_ms, is_rpc);
        let ctx = Context {
            session: self.session,
            req: Rc::new(req),
        };
        Some((ctx, self.guard))
    }
}

/// How a request ended.
enum Outcome {
    Done(Result<(), Error>),
    Panicked,
    Cancelled,
    DeadlineExceeded,
}

/// Runs a handler to its end, or until its request is cancelled or its deadline passes.
async fn run<D: 'static>(ctx: &Context<D>, handler: Handling) -> Outcome {
    let handler = pin!(AssertUnwindSafe(handler).catch_unwind());
    let cancelled = ctx.req.cancelled();
    let deadline = match ctx.meta().timeout_ms {
        Some(ms) => {
            let elapsed = ctx
                .session
                .host()
                .now_ms()
                .saturating_sub(ctx.req.received_ms);
            Either::Left(ctx.session.host().sleep(ms.saturating_sub(elapsed)))
        }
        None => Either::Right(std::future::pending::<()>()),
    };
    let stop = pin!(select(cancelled, deadline));
    match select(handler, stop).await {
        Either::Left((Ok(result), _)) => Outcome::Done(result),
        Either::Left((Err(_panic), _)) => Outcome::Panicked,
        Either::Right((Either::Left(_), _)) => Outcome::Cancelled,
        Either::Right((Either::Right(_), _)) => Outcome::DeadlineExceeded,
    }
}

/// Answers what a request's outcome owes: the handler's error, or for an RPC that ended without
/// a terminal frame, an error in its place.
fn conclude<D: 'static>(ctx: &Context<D>, outcome: Outcome) {
    match outcome {
        Outcome::Done(Ok(())) => {
            if ctx.req.is_rpc && !ctx.req.is_terminal() {
                ctx.fail(Error::internal("the request was not answered"));
            }
        }
        Outcome::Done(Err(e)) => ctx.fail(e),
        Outcome::Panicked => {
            tracing::error!(r#type = ctx.req.ty, "handler panicked");
            ctx.fail(Error::from_code(ErrorCode::Internal));
        }
        Outcome::Cancelled => tracing::debug!(r#type = ctx.req.ty, "request cancelled"),
        Outcome::DeadlineExceeded => {
            ctx.req.cancel();
            ctx.fail(Error::from_code(ErrorCode::DeadlineExceeded));
        }
    }
}

/// Keeps an RPC in its connection's table (for `$ws:abort`) until dropped.
struct Registered<D> {
    session: Rc<Session<D>>,
    correlation_id: String,
    req: Rc<ReqState>,
}

impl<D> Drop for Registered<D> {
    fn drop(&mut self) {
        let mut requests = self.session.requests.borrow_mut();
        if requests
            .get(&self.correlation_id)
            .is_some_and(|r| Rc::ptr_eq(r, &self.req))
        {
            requests.remove(&self.correlation_id);
        }
    }
}

/// A routed request's life, the same for every message type: decode (answering a failure),
/// refuse an rpc's correlationId already in flight or register it (for `$ws:abort`), then run
/// the handler and conclude.
fn serve<D: 'static>(
    request: Request<D>,
    is_rpc: bool,
    job: &mut dyn Typed<D>,
) -> LocalBoxFuture<'static, ()> {
    let Some((ctx, guard)) = request.decode(job, is_rpc) else {
        return Box::pin(async {});
    };
    let registered = match ctx.correlation_id() {
        // One that sent its terminal frame is over for the client, which may reuse its id.
        Some(cid)
            if is_rpc
                && (ctx.session.requests.borrow().get(cid)).is_some_and(|r| !r.is_terminal()) =>
        {
            // Answered as `ERROR`, not under the id (see `inbound::duplicate_correlation_id`).
            let error = inbound::duplicate_correlation_id(cid);
            answer(&ctx.session, Some(ctx.req.ty), None, error);
            return Box::pin(async {});
        }
        Some(cid) if is_rpc => {
            let correlation_id = cid.to_owned();
            let session = &ctx.session;
            let before =
                (session.requests.borrow_mut()).insert(correlation_id.clone(), ctx.req.clone());
            if let Some(before) = before {
                // Its reply was sent (see above), but it still runs.
                let mut replaced = session.replaced.borrow_mut();
                replaced.retain(|r| r.strong_count() > 0);
                replaced.push(Rc::downgrade(&before));
            }
            Some(Registered {
                session: ctx.session.clone(),
                correlation_id,
                req: ctx.req.clone(),
            })
        }
        _ => None,
    };
    let Some(handler) = job.call(&ctx) else {
        return Box::pin(async {});
    };
    Box::pin(async move {
        let outcome = run(&ctx, handler).await;
        conclude(&ctx, outcome);
        drop(registered);
        drop(guard);
    })
}

#[doc(hidden)]
pub fn __serve_message<D, M, F, Fut>(request: Request<D>, handler: F) -> LocalBoxFuture<'static, ()>
where
    D: 'static,
    M: Message,
    F: FnOnce(Context<D>, M) -> Fut + 'static,
    Fut: Future<Output = Result<(), Error>> + 'static,
{
    serve(
        request,
        false,
        &mut Pending::<_, M>::Ready(OnMessage(handler)),
    )
}

#[doc(hidden)]
pub fn __serve_rpc<D, R, F, Fut>(request: Request<D>, handler: F) -> LocalBoxFuture<'static, ()>
where
    D: 'static,
    R: Rpc,
    F: FnOnce(RpcContext<D, R>, R) -> Fut + 'static,
    Fut: Future<Output = Result<R::Response, Error>> + 'static,
{
    serve(request, true, &mut Pending::<_, R>::Ready(OnRpc(handler)))
}

#[doc(hidden)]
pub fn __serve_unknown<D: 'static>(request: Request<D>) -> LocalBoxFuture<'static, ()> {
    let mut parts = request.parts.clone();
    match wskit_core::wire::FrameParts::get_or_parse(&mut parts, &request.text) {
        Ok(p) => {
            let cid = p.correlation_id(&request.text);
            let error = inbound::unknown_type(request.ty);
            answer(&request.session, Some(request.ty), cid.as_deref(), error);
        }
        Err(e) => answer(&request.session, None, None, e),
    }
    Box::pin(async {})
}
