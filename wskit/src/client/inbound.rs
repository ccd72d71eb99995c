//! One inbound frame: a reply (on a fast path for the common layout), progress, an `ERROR`, an
//! event, or something unhandled.

use std::sync::Arc;

use tokio::sync::mpsc::error::TrySendError;

use super::events::Dispatch;
use super::report::{ErrorReport, Unhandled};
use super::shared::{Inner, Reply, Reports, call_hook};
use wskit_core::wire::{FrameParts, InboundFrame, error_payload, split_reply, types};

/// The fast path of a reply: the payload decoded once, straight into the call's response type,
/// with the answer the reference path would give (a decode that succeeds proves the layout
/// [`split_reply`] assumed). False, with nothing changed, when the reference path must read the
/// frame: no request of that id waits, or its payload does not decode as the response (an
/// error, another type, invalid).
fn fast_reply(inner: &Inner, ty: &str, id: &str, payload: &str) -> bool {
    let Some(id) = inner.ids.parse(id) else {
        return false;
    };
    let waiter = match inner.lock().pending.get(&id) {
        Some(p) => p.waiter.clone(),
        None => return false,
    };
    // Decoded without the lock held; then the request leaves the table, unless it ended
    // meanwhile (abandoned, timed out, failed): then this is a late reply, dropped quietly as
    // the reference path drops it.
    waiter.deliver(ty, payload, &mut || {
        let mut sh = inner.lock();
        let mine = sh
            .pending
            .get(&id)
            .is_some_and(|p| Arc::ptr_eq(&p.waiter, &waiter));
        if mine {
            sh.pending.remove(&id);
        }
        mine
    })
}

/// A user hook panicked: reported to `on_error` (unless that is the one).
pub(crate) fn report_panic(inner: &Inner, hook: &'static str) {
    let mut reports = Reports::default();
    reports.push(ErrorReport::HookPanicked { hook });
    inner.report(reports);
}

/// Routes one inbound frame: a reply or progress of a pending request, an `ERROR`, an event.
pub(crate) fn handle_inbound(inner: &Inner, text: &str) {
    if let Some((ty, id, payload)) = split_reply(text)
        && fast_reply(inner, ty, id, payload)
    {
        return;
    }
    let mut reports = Reports::default();
    let frame = match InboundFrame::parse(text) {
        Ok(frame) => frame,
        Err(error) => {
            reports.push(ErrorReport::Parse {
                error,
                text: text.to_owned(),
            });
            return inner.report(reports);
        }
    };
    let ty = frame.ty.as_ref();
    if ty == types::HEARTBEAT_ACK {
        return;
    }
    let is_progress = ty == types::RPC_PROGRESS;
    if let Some(id_text) = frame.correlation_id() {
        // Any other spelling is no id of this client's.
        let id = inner.ids.parse(&id_text);
        let mut sh = inner.lock();
        if let Some(id) = id
            && let Some(p) = sh.pending.get(&id)
        {
            if is_progress {
                let full = p.progress_tx.as_ref().is_some_and(|tx| {
                    matches!(tx.try_send(text.to_owned()), Err(TrySendError::Full(_)))
                });
                drop(sh);
                if full {
                    reports.push(ErrorReport::EventOverflow {
                        ty: types::RPC_PROGRESS.to_owned(),
                    });
                    inner.report(reports);
                }
                return;
            }
            if let Some(p) = sh.pending.remove(&id) {
                drop(sh);
                let reply = Reply {
                    ty: ty.to_owned(),
                    text: text.to_owned(),
                    parts: FrameParts::of(text, &frame),
                };
                p.waiter.complete(Ok(reply));
            }
            return;
        }
        drop(sh);
        // Late: for a request answered, timed out or cancelled already. Only the first counts.
        if id.is_some_and(|id| inner.ids.issued(id)) || is_progress {
            return;
        }
    } else if is_progress {
        return;
    }
    if ty == types::ERROR || ty == types::RPC_ERROR {
        match error_payload(frame.payload.map(|p| p.get())) {
            Ok(e) => reports.push(ErrorReport::Server(e)),
            Err(why) => reports.push(ErrorReport::Parse {
                error: wskit_core::Error::invalid_argument(why),
                text: text.to_owned(),
            }),
        }
        return inner.report(reports);
    }
    let mut handled = false;
    {
        let mut sh = inner.lock();
        let mut invalid = None;
        sh.sinks.retain_mut(|sink| match sink.offer(&frame) {
            Dispatch::NoMatch => true,
            Dispatch::Delivered => {
                handled = true;
                true
            }
            Dispatch::Invalid(issues) => {
                handled = true;
                invalid.get_or_insert(issues);
                true
            }
            Dispatch::Full => {
                handled = true;
                reports.push(ErrorReport::EventOverflow { ty: ty.to_owned() });
                true
            }
            Dispatch::Gone => false,
        });
        if let Some(issues) = invalid {
            reports.push(ErrorReport::Invalid {
                ty: ty.to_owned(),
                issues,
            });
        }
    }
    inner.report(reports);
    if !handled && let Some(hook) = &inner.opts.on_unhandled {
        let unhandled = Unhandled {
            ty: ty.to_owned(),
            text: text.to_owned(),
        };
        if !call_hook(&**hook, unhandled) {
            report_panic(inner, "on_unhandled");
        }
    }
}
