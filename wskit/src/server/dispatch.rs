//! The inbound path of one frame up to its service: classified by `wire::inbound` (runtime frame
//! types, reserved and unknown types answered), then shutdown and in-flight checks, then the
//! route's `Service::call`, polled once inline and spawned only if pending. What the call does
//! (decode, middleware, handler, reply) is `lifecycle.rs`.

use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context as TaskContext, Waker};

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::connection::Conn;
use super::report::{ErrorCause, panic_message};
use super::request::Received;
use super::runtime::Runtime;
use super::service::{InFlight, Request};
use super::state::{Route, ServerState};
use crate::clock::now_ms;
use crate::encoded;
use wskit_core::wire::FrameParts as Parts;
use wskit_core::wire::inbound::{self, Inbound, Refusal, RefusalKind};
use wskit_core::wire::{self};
use wskit_core::{Error, ErrorCode};

/// `retryAfterMs` of the `UNAVAILABLE` answer to a request that arrives during shutdown.
const SHUTDOWN_RETRY_AFTER_MS: u64 = 1000;

/// Answers a frame that has no request (yet): `RPC_ERROR` when it carried a correlationId,
/// else `ERROR`, and reports it.
pub(super) fn answer<D: Send + Sync + 'static>(
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

/// Answers a frame refused before routing.
fn answer_refusal<D: Send + Sync + 'static>(conn: &Conn<D>, refusal: Refusal) {
    let cause = match refusal.kind {
        RefusalKind::ReservedType => ErrorCause::ReservedType,
        RefusalKind::UnknownType => ErrorCause::UnknownType,
        _ => ErrorCause::BadFrame,
    };
    let (ty, cid) = (
        refusal.wire_type.as_deref(),
        refusal.correlation_id.as_deref(),
    );
    answer(conn, ty, cid, refusal.error, cause);
}

/// Handles one inbound text frame: classified by `wire::inbound` (what every host does), then
/// answered or routed here.
pub(crate) fn frame<D: Send + Sync + 'static>(
    shared: &ServerState<D>,
    conn: &Arc<Conn<D>>,
    text: Utf8Bytes,
    received: Received,
) {
    let step = inbound::classify(&text, |ty| {
        shared.routes.get(ty).map(|route| (route, route.fast))
    });
    match step {
        Inbound::Route { route, parts } => routed(shared, conn, route, text, parts, received),
        Inbound::Heartbeat => {
            let _ = conn.push(encoded::text(wire::encode_heartbeat_ack(now_ms())));
        }
        Inbound::Abort(cid) => {
            if let Some(cid) = cid {
                tracing::debug!(correlation_id = %cid, "abort");
                conn.abort(&cid);
            }
        }
        Inbound::Refuse(refusal) => answer_refusal(conn, refusal),
    }
}
/// A frame of a routed type: the shutdown and in-flight checks, then the route's service.
/// `parts` is `None` when the envelope is not parsed yet.
fn routed<D: Send + Sync + 'static>(
    shared: &ServerState<D>,
    conn: &Arc<Conn<D>>,
    route: &Route<D>,
    text: Utf8Bytes,
    parts: Option<Parts>,
    received: Received,
) {
    let ty = route.ty;
    // The refusals below name the frame's correlationId, which needs its envelope parsed: a bad
    // envelope is answered as such first, as on the parse-first path.
    let refuse =
        |mut parts: Option<Parts>, error: Error, cause: ErrorCause| match Parts::get_or_parse(
            &mut parts, &text,
        ) {
            Ok(parts) => {
                let cid = parts.correlation_id(&text);
                answer(conn, Some(ty), cid.as_deref(), error, cause);
            }
            Err(e) => answer_bad_frame(conn, e, ErrorCause::BadFrame),
        };
    if shared.rt.is_draining() {
        let error =
            Error::unavailable("server shutting down").with_retry_after_ms(SHUTDOWN_RETRY_AFTER_MS);
        return refuse(parts, error, ErrorCause::ShuttingDown);
    }
    let limit = shared.rt.limits.max_in_flight;
    if conn.in_flight.fetch_add(1, Ordering::AcqRel) >= limit {
        conn.in_flight.fetch_sub(1, Ordering::AcqRel);
        let error = inbound::too_many_in_flight(limit);
        return refuse(parts, error, ErrorCause::TooManyInFlight);
    }
    shared.rt.request_started();
    let request = Request {
        ty,
        text,
        parts,
        received,
        chain: route.chain.clone(),
        guard: InFlight { conn: conn.clone() },
    };
    let call = std::panic::catch_unwind(AssertUnwindSafe(|| {
        shared.services[route.service].call(request)
    }));
    match call {
        Ok(fut) => run_inline_or_spawn(&shared.rt, fut),
        Err(panic) => answer(
            conn,
            Some(ty),
            None,
            Error::from_code(ErrorCode::Internal),
            ErrorCause::Panic(panic_message(&panic)),
        ),
    }
}

/// Polls a handler future once on the connection task: most handlers finish at once, and then no
/// task is spawned. A pending one goes on as its own task.
fn run_inline_or_spawn(rt: &Runtime, fut: BoxFuture<'static, ()>) {
    // Backstop: panics of decoding, middleware and handlers are caught (and answered) inside
    // the request; this one keeps the connection alive whatever a `Service` impl does.
    let mut fut = AssertUnwindSafe(fut).catch_unwind().map(|r| {
        if let Err(panic) = r {
            tracing::error!(panic = %panic_message(&panic), "request panicked outside its handler");
        }
    });
    let mut cx = TaskContext::from_waker(Waker::noop());
    if Pin::new(&mut fut).poll(&mut cx).is_pending() {
        rt.tracker.spawn(fut);
    }
}
