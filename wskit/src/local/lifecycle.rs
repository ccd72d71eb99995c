//! A routed request's life on a local host, called by the generated `*LocalService`: decode,
//! the handler raced against cancellation and the deadline, and what its end owes (the reply,
//! the error, or an error in place of a missing reply).

use std::future::Future;
use std::marker::PhantomData;
use std::panic::AssertUnwindSafe;
use std::pin::pin;
use std::rc::Rc;

use futures_util::FutureExt;
use futures_util::future::{Either, LocalBoxFuture, select};

use super::context::{Context, RpcContext};
use super::request::ReqState;
use super::routed::{InFlight, Request};
use super::server::answer;
use super::session::Session;
use wskit_core::wire::inbound::{self, DecodeError};
use wskit_core::{Error, ErrorCode, Message, Rpc};

impl<D: 'static> Request<D> {
    /// Decodes meta and payload as message `M`; on failure answers `INVALID_ARGUMENT` with every
    /// issue (or the bad envelope) and returns `None`.
    fn decode<M: Message>(mut self, is_rpc: bool) -> Option<(Context<D>, M, InFlight<D>)> {
        let decoded = inbound::decode_request::<M>(&self.text, &mut self.parts);
        let (meta, typed, msg) = match decoded {
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
        let req = ReqState::new(self.ty, meta, Box::new(typed), self.received_ms, is_rpc);
        let ctx = Context {
            session: self.session,
            req: Rc::new(req),
        };
        Some((ctx, msg, self.guard))
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
async fn run<D: 'static>(
    ctx: &Context<D>,
    handler: impl Future<Output = Result<(), Error>>,
) -> Outcome {
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

#[doc(hidden)]
pub fn __serve_message<D, M, F, Fut>(request: Request<D>, handler: F) -> LocalBoxFuture<'static, ()>
where
    D: 'static,
    M: Message,
    F: FnOnce(Context<D>, M) -> Fut + 'static,
    Fut: Future<Output = Result<(), Error>> + 'static,
{
    Box::pin(async move {
        let Some((ctx, msg, _guard)) = request.decode::<M>(false) else {
            return;
        };
        let outcome = run(&ctx, handler(ctx.clone(), msg)).await;
        conclude(&ctx, outcome);
    })
}

#[doc(hidden)]
pub fn __serve_rpc<D, R, F, Fut>(request: Request<D>, handler: F) -> LocalBoxFuture<'static, ()>
where
    D: 'static,
    R: Rpc,
    F: FnOnce(RpcContext<D, R>, R) -> Fut + 'static,
    Fut: Future<Output = Result<R::Response, Error>> + 'static,
{
    Box::pin(async move {
        let Some((ctx, req, _guard)) = request.decode::<R>(true) else {
            return;
        };
        let _registered = match ctx.correlation_id() {
            Some(cid) if ctx.session.requests.borrow().contains_key(cid) => {
                // Answered as `ERROR`, not under the id (see `inbound::duplicate_correlation_id`).
                let error = inbound::duplicate_correlation_id(cid);
                answer(&ctx.session, Some(ctx.req.ty), None, error);
                return;
            }
            Some(cid) => {
                let correlation_id = cid.to_owned();
                ctx.session
                    .requests
                    .borrow_mut()
                    .insert(correlation_id.clone(), ctx.req.clone());
                Some(Registered {
                    session: ctx.session.clone(),
                    correlation_id,
                    req: ctx.req.clone(),
                })
            }
            None => None,
        };
        let rpc = RpcContext::<D, R> {
            ctx: ctx.clone(),
            _rpc: PhantomData,
        };
        let handler = async {
            let response = handler(rpc.clone(), req).await?;
            rpc.reply(&response);
            Ok(())
        };
        let outcome = run(&ctx, handler).await;
        conclude(&ctx, outcome);
    })
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
