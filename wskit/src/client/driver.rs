//! The connection task: connects, runs the open connection, reconnects with backoff, closes.

use std::sync::Arc;

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, sleep, sleep_until};
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, client::IntoClientRequest};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

use super::backoff::JitterRng;
use super::error::{ClientError, ConnectError};
use super::events::Dispatch;
use super::options::{AuthTransport, Options, ProtocolPosition};
use super::queue::Outbound;
use super::report::{ErrorReport, Unhandled};
use super::shared::{Inner, Reply, Reports, abort_frame, call_hook, frame_text};
use super::state::{ConnectionState, Gap};
use crate::percent;
use wskit_core::wire::{
    FrameParts, InboundFrame, OutMeta, close, encode_frame, error_payload, types,
};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How an open connection ended.
enum End {
    /// `close()` was called (or every client handle dropped).
    Deliberate,
    /// The server went away, the socket failed, or the heartbeat found it silent.
    Lost,
}

/// Runs until a deliberate close or until the backoff gives up.
pub(crate) async fn run(inner: Arc<Inner>, mut close_rx: oneshot::Receiver<()>) {
    // Whatever way this task ends (return, a panic, the runtime dropping it), the client is
    // left `Closed` and usable: pending requests fail, `connect` can start a new task.
    let mut finish = Finish {
        inner: inner.clone(),
        deliberate: false,
    };
    let mut rng = inner
        .opts
        .jitter_seed
        .map_or_else(JitterRng::from_time, JitterRng::new);
    // Failed attempts since the last open.
    let mut attempt: u32 = 0;
    // When the last open connection was lost (a reconnect then reports a gap).
    let mut lost_at: Option<Instant> = None;
    let connect_timeout = inner.opts.connect_timeout;
    loop {
        inner.set_task_state(&inner.lock(), ConnectionState::Connecting);
        let connected = tokio::select! {
            r = tokio::time::timeout(connect_timeout, connect(&inner.opts)) => {
                r.unwrap_or(Err(ConnectError::Timeout(connect_timeout)))
            }
            _ = &mut close_rx => {
                finish.deliberate = true;
                return;
            }
        };
        match connected {
            Ok(ws) => {
                let gap = lost_at.map(|at| (at, attempt));
                attempt = 0;
                match session(&inner, ws, &mut close_rx, gap).await {
                    End::Deliberate => {
                        finish.deliberate = true;
                        return;
                    }
                    End::Lost => {
                        connection_lost(&inner);
                        lost_at = Some(Instant::now());
                    }
                }
            }
            Err(why) => {
                // A refused token stays refused: stop (a token provider that refreshes may
                // opt into retrying).
                let stop = why.is_auth_rejection() && !inner.opts.retry_rejected;
                inner.lock().last_error = Some(why.clone());
                let mut reports = Reports::default();
                reports.push(ErrorReport::Connect(why));
                inner.report(reports);
                if stop {
                    return;
                }
            }
        }
        attempt = attempt.saturating_add(1);
        let Some(delay) = inner.opts.backoff.delay(attempt, rng.next_unit()) else {
            return; // gave up
        };
        inner.set_task_state(&inner.lock(), ConnectionState::Reconnecting);
        tokio::select! {
            _ = sleep(delay) => {}
            _ = &mut close_rx => {
                finish.deliberate = true;
                return;
            }
        }
    }
}

/// Runs the end of the connection task when it is dropped (see [`finish`]).
struct Finish {
    inner: Arc<Inner>,
    /// A deliberate close, rather than giving up (or a panic).
    deliberate: bool,
}

impl Drop for Finish {
    fn drop(&mut self) {
        finish(&self.inner, self.deliberate);
    }
}

/// The token from the provider; a panicking provider fails the attempt.
async fn token(opts: &Options) -> Result<Option<String>, ConnectError> {
    let Some(provider) = &opts.token else {
        return Ok(None);
    };
    let panicked = || ConnectError::TokenProvider;
    let future =
        std::panic::catch_unwind(AssertUnwindSafe(|| provider())).map_err(|_| panicked())?;
    AssertUnwindSafe(future)
        .catch_unwind()
        .await
        .map_err(|_| panicked())
}

/// The upgrade request: URL (with the token as a query parameter), subprotocols, headers.
async fn connect(opts: &Options) -> Result<Socket, ConnectError> {
    let invalid = |e: &dyn std::fmt::Display| ConnectError::InvalidRequest(e.to_string());
    let token = token(opts).await?;
    let mut url = opts.url.clone();
    let mut protocols = opts.protocols.clone();
    if let Some(token) = token {
        match &opts.auth {
            AuthTransport::Query { param } => url = with_query(&url, param, &token),
            AuthTransport::Subprotocol { prefix, position } => {
                let value = format!("{prefix}{token}");
                match position {
                    ProtocolPosition::Append => protocols.push(value),
                    ProtocolPosition::Prepend => protocols.insert(0, value),
                }
            }
        }
    }
    let mut request = url.into_client_request().map_err(|e| invalid(&e))?;
    let headers = request.headers_mut();
    for (name, value) in &opts.headers {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| invalid(&e))?;
        let value = HeaderValue::from_str(value).map_err(|e| invalid(&e))?;
        headers.append(name, value);
    }
    if !protocols.is_empty() {
        let value = HeaderValue::from_str(&protocols.join(", ")).map_err(|e| invalid(&e))?;
        headers.insert("sec-websocket-protocol", value);
    }
    let (ws, _response) = connect_async(request).await.map_err(|e| match e {
        tungstenite::Error::Http(response) => ConnectError::Rejected {
            status: response.status().as_u16(),
            body: response
                .body()
                .as_deref()
                .map(|b| String::from_utf8_lossy(b).trim().to_owned())
                .unwrap_or_default(),
        },
        tungstenite::Error::Url(e) => invalid(&e),
        e => ConnectError::Transport(e.to_string()),
    })?;
    Ok(ws)
}

/// `url` with `name=value` added to its query (and the `/` path it needs when it has none).
fn with_query(url: &str, name: &str, value: &str) -> String {
    let (base, fragment) = url
        .split_once('#')
        .map_or((url, None), |(b, f)| (b, Some(f)));
    let mut out = base.to_owned();
    let after_scheme = out.find("://").map_or(0, |i| i + 3);
    let path_start = out[after_scheme..]
        .find(['/', '?'])
        .map(|i| i + after_scheme);
    match path_start {
        Some(i) if out.as_bytes()[i] == b'?' => out.insert(i, '/'),
        None => out.push('/'),
        Some(_) => {}
    }
    out.push(if out.contains('?') { '&' } else { '?' });
    out.push_str(&percent::encode(name));
    out.push('=');
    out.push_str(&percent::encode(value));
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

/// Runs one open connection until it ends.
async fn session(
    inner: &Arc<Inner>,
    mut ws: Socket,
    close_rx: &mut oneshot::Receiver<()>,
    gap: Option<(Instant, u32)>,
) -> End {
    let (tx, mut rx) = mpsc::unbounded_channel::<Outbound>();
    let gap = open(inner, &tx, gap);
    if let Some(gap) = gap {
        let _ = inner.gaps_tx.send(gap);
        if let Some(hook) = &inner.opts.on_gap
            && !call_hook(&**hook, gap)
        {
            report_panic(inner, "on_gap");
        }
    }
    drop(tx);

    let heartbeat = inner.opts.heartbeat;
    let write_timeout = inner.opts.write_timeout;
    let far = || Instant::now() + std::time::Duration::from_secs(86_400 * 365);
    let mut next_ping = heartbeat.map(|h| Instant::now() + h.interval);
    let mut silent_deadline: Option<Instant> = None;
    let timer = sleep_until(next_ping.unwrap_or_else(far));
    tokio::pin!(timer);

    loop {
        tokio::select! {
            biased;
            _ = &mut *close_rx => {
                close_gracefully(inner, &mut ws, rx).await;
                return End::Deliberate;
            }
            msg = ws.next() => {
                if heartbeat.is_some() {
                    silent_deadline = None;
                    timer.as_mut().reset(next_ping.unwrap_or_else(far));
                }
                match msg {
                    Some(Ok(tungstenite::Message::Text(text))) => handle_inbound(inner, text.as_str()),
                    Some(Ok(tungstenite::Message::Binary(bytes))) => {
                        handle_inbound(inner, &String::from_utf8_lossy(&bytes))
                    }
                    Some(Ok(tungstenite::Message::Close(_))) | Some(Err(_)) | None => {
                        return lost(inner, rx);
                    }
                    Some(Ok(_)) => {} // ping (answered by tungstenite), pong, raw frame
                }
            }
            item = rx.recv() => {
                // Every sender is gone only once the connection is being torn down.
                let Some(item) = item else { return lost(inner, rx) };
                let Some(text) = take_for_write(inner, item) else { continue };
                if !write(&mut ws, &text, write_timeout).await {
                    return lost(inner, rx);
                }
            }
            _ = &mut timer, if heartbeat.is_some() => {
                let (Some(hb), Some(ping_at)) = (heartbeat, next_ping) else { continue };
                let now = Instant::now();
                if silent_deadline.is_some_and(|d| now >= d) {
                    return lost(inner, rx);
                }
                if now >= ping_at {
                    let frame = encode_frame(types::HEARTBEAT, None::<&OutMeta>, None::<&()>)
                        .expect("a frame of a type alone always encodes");
                    if !write(&mut ws, &frame_text(frame), write_timeout).await {
                        return lost(inner, rx);
                    }
                    silent_deadline.get_or_insert(now + hb.timeout);
                    next_ping = Some(now + hb.interval);
                }
                let wake = match (silent_deadline, next_ping) {
                    (Some(d), Some(p)) => d.min(p),
                    (d, p) => d.or(p).unwrap_or_else(far),
                };
                timer.as_mut().reset(wake);
            }
        }
    }
}

/// On open: subscriptions, then in-flight idempotent requests, then the offline queue, all
/// before anything sent later; the state becomes `Open` under the same lock.
fn open(
    inner: &Arc<Inner>,
    tx: &mpsc::UnboundedSender<Outbound>,
    gap: Option<(Instant, u32)>,
) -> Option<Gap> {
    let mut sh = inner.lock();
    sh.last_error = None;
    let subscriptions = sh.subscriptions.clone();
    for frame in &subscriptions {
        // The type only names frames evicted from the queue; subscriptions never go there.
        let _ = tx.send(Outbound::Frame {
            ty: "",
            text: frame.clone(),
        });
    }
    let mut resend: Vec<(u64, Arc<str>)> = sh
        .pending
        .iter()
        .filter(|(_, p)| p.written)
        .map(|(id, p)| (p.seq, id.clone()))
        .collect();
    resend.sort_unstable();
    for (_, id) in &resend {
        let _ = tx.send(Outbound::Request(id.clone()));
    }
    for item in sh.queue.drain() {
        let _ = tx.send(item);
    }
    sh.outbox = Some(tx.clone());
    inner.set_task_state(&sh, ConnectionState::Open);
    gap.map(|(lost_at, attempts)| Gap {
        offline: lost_at.elapsed(),
        attempts,
        resubscribed: subscriptions.len(),
        resent: resend.len(),
    })
}

/// Writes one text frame; false when the socket failed or did not take it within `limit` (a
/// peer that stopped reading): the connection is then treated as lost.
async fn write(ws: &mut Socket, text: &str, limit: Duration) -> bool {
    let send = ws.send(tungstenite::Message::text(text.to_owned()));
    matches!(tokio::time::timeout(limit, send).await, Ok(Ok(())))
}

/// The text to write for an outbound item; a request is marked written (its clock starts).
fn take_for_write(inner: &Inner, item: Outbound) -> Option<Arc<str>> {
    match item {
        Outbound::Frame { text, .. } => Some(text),
        Outbound::Abort(id) => Some(abort_frame(&id)),
        Outbound::Request(id) => {
            let mut sh = inner.lock();
            let p = sh.pending.get_mut(&id)?; // cancelled meanwhile
            p.written = true;
            if let Some(tx) = p.written_tx.take() {
                let _ = tx.send(());
            }
            Some(p.frame.clone())
        }
    }
}

/// The connection was lost: stop writing; what never reached the socket goes back to the front
/// of the queue, except what the next open sends anyway (subscriptions, requests in flight) and
/// what is moot (aborts, requests gone meanwhile). Returns [`End::Lost`].
fn lost(inner: &Inner, mut rx: mpsc::UnboundedReceiver<Outbound>) -> End {
    let mut sh = inner.lock();
    sh.outbox = None;
    rx.close();
    let mut unsent = Vec::new();
    while let Ok(item) = rx.try_recv() {
        let keep = match &item {
            Outbound::Abort(_) => false,
            Outbound::Frame { text, .. } => !sh.subscriptions.contains(text),
            Outbound::Request(id) => sh.pending.get(id).is_some_and(|p| !p.written),
        };
        if keep {
            unsent.push(item);
        }
    }
    sh.queue.requeue_front(unsent);
    End::Lost
}

/// After a lost connection: requests in flight fail unless idempotent (those are sent again).
fn connection_lost(inner: &Inner) {
    let mut sh = inner.lock();
    Inner::fail_pending(
        &mut sh,
        |p| p.written && !p.idempotent,
        ClientError::ConnectionClosed,
    );
}

/// Deliberate close of an open connection, all within `close_timeout`: the frames `send`
/// accepted before the close are written, then the close frame, then we wait for the server's.
/// Requests not written yet are not (they fail with `ConnectionClosed`).
async fn close_gracefully(
    inner: &Inner,
    ws: &mut Socket,
    mut rx: mpsc::UnboundedReceiver<Outbound>,
) {
    inner.lock().outbox = None;
    rx.close();
    let write_timeout = inner.opts.write_timeout;
    let work = async {
        while let Ok(item) = rx.try_recv() {
            if matches!(item, Outbound::Request(_)) {
                continue;
            }
            let Some(text) = take_for_write(inner, item) else {
                continue;
            };
            if !write(ws, &text, write_timeout).await {
                return;
            }
        }
        let frame = CloseFrame {
            code: close::NORMAL.into(),
            reason: "".into(),
        };
        let close = ws.send(tungstenite::Message::Close(Some(frame)));
        if !matches!(tokio::time::timeout(write_timeout, close).await, Ok(Ok(()))) {
            return;
        }
        // Until the server's close frame (or the end of the stream).
        while let Some(Ok(msg)) = ws.next().await {
            if msg.is_close() {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(inner.opts.close_timeout, work).await;
}

/// The connection task ends. Pending requests fail, the client is `Closed`. A deliberate
/// close also clears the queue and forgets subscriptions; giving up keeps them for a later
/// `connect`.
fn finish(inner: &Inner, deliberate: bool) {
    let mut sh = inner.lock();
    sh.outbox = None;
    if deliberate {
        sh.queue.drain();
        sh.subscriptions.clear();
        // `connect` then reports the close, not an earlier failed attempt.
        sh.last_error = None;
    }
    Inner::fail_pending(&mut sh, |_| true, ClientError::ConnectionClosed);
    sh.running = false;
    sh.closing = false;
    sh.close_tx = None;
    inner.set_state(ConnectionState::Closed);
}

/// A user hook panicked: reported to `on_error` (unless that is the one).
fn report_panic(inner: &Inner, hook: &'static str) {
    let mut reports = Reports::default();
    reports.push(ErrorReport::HookPanicked { hook });
    inner.report(reports);
}

/// Routes one inbound frame: a reply or progress of a pending request, an `ERROR`, an event.
pub(crate) fn handle_inbound(inner: &Inner, text: &str) {
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
    if let Some(id) = frame.correlation_id() {
        let mut sh = inner.lock();
        if let Some(p) = sh.pending.get(id.as_str()) {
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
            if let Some((id, p)) = sh.pending.remove_entry(id.as_str()) {
                sh.recent.remember(id);
                drop(sh);
                let reply = Reply {
                    ty: ty.to_owned(),
                    text: text.to_owned(),
                    parts: FrameParts::of(text, &frame),
                };
                let _ = p.reply_tx.send(Ok(reply));
            }
            return;
        }
        // Late: for a request answered, timed out or cancelled already. Only the first counts.
        if sh.recent.contains(&id) || is_progress {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::ClientBuilder;

    fn inner() -> Inner {
        Inner::new(ClientBuilder::new("ws://127.0.0.1:1/ws").opts)
    }

    /// The texts (request ids for requests) an open connection would write, in order.
    fn written_on_open(inner: &Arc<Inner>) -> Vec<String> {
        let (tx, mut rx) = mpsc::unbounded_channel();
        open(inner, &tx, None);
        let mut out = Vec::new();
        while let Ok(item) = rx.try_recv() {
            out.push(match item {
                Outbound::Frame { text, .. } => text.to_string(),
                Outbound::Request(id) => format!("request {id}"),
                Outbound::Abort(id) => format!("abort {id}"),
            });
        }
        inner.lock().outbox = None;
        out
    }

    #[test]
    fn two_losses_in_a_row_send_nothing_twice() {
        let inner = Arc::new(inner());
        inner
            .send_frame("JOIN", "subscription".into(), true)
            .unwrap();
        let _written = inner
            .start_request("w".into(), "GET", "W".into(), true, None)
            .unwrap();
        inner.lock().pending.get_mut("w").unwrap().written = true;
        inner.lock().queue.drain(); // it went out on an earlier connection
        let _unwritten = inner
            .start_request("u".into(), "GET", "U".into(), true, None)
            .unwrap();
        inner.send_frame("CHAT", "chat".into(), false).unwrap();
        // Two connections lost before they wrote anything.
        for _ in 0..2 {
            let (tx, rx) = mpsc::unbounded_channel();
            open(&inner, &tx, None);
            tx.send(Outbound::Abort("w".into())).unwrap();
            let _ = lost(&inner, rx);
        }
        assert_eq!(
            written_on_open(&inner),
            ["subscription", "request w", "request u", "chat"]
        );
    }

    #[test]
    fn the_task_does_not_overwrite_closing() {
        let inner = Arc::new(inner());
        inner.lock().closing = true;
        inner.set_state(ConnectionState::Closing);
        let _ = written_on_open(&inner);
        inner.set_task_state(&inner.lock(), ConnectionState::Reconnecting);
        assert_eq!(inner.state(), ConnectionState::Closing);
        finish(&inner, true);
        assert_eq!(inner.state(), ConnectionState::Closed);
    }

    #[test]
    fn query_token() {
        use super::with_query;
        assert_eq!(with_query("ws://h:1", "t", "a"), "ws://h:1/?t=a");
        assert_eq!(with_query("ws://h:1?x=1", "t", "a"), "ws://h:1/?x=1&t=a");
        assert_eq!(with_query("ws://h:1/ws", "t", "a b"), "ws://h:1/ws?t=a%20b");
        assert_eq!(
            with_query("ws://h:1/ws?x=1#f", "t", "a"),
            "ws://h:1/ws?x=1&t=a#f"
        );
    }
}
