//! The connection task: connects, runs the open connection, reconnects with backoff, closes.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::sync::oneshot;
use tokio::time::{Instant, sleep, sleep_until};
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, client::IntoClientRequest};
use tokio_tungstenite::{WebSocketStream, client_async_with_config};

use super::backoff::JitterRng;
use super::error::{ClientError, ConnectError};
use super::inbound::{handle_inbound, report_panic};
use super::options::{AuthTransport, Options, ProtocolPosition};
use super::queue::{FrameText, Outbound};
use super::report::ErrorReport;
use super::shared::{Inner, Outbox, Reports, abort_frame, call_hook};
use super::socket::{ClientIo, Step};
use super::state::{ConnectionState, Gap};
use super::transport::{self, Transport};
use crate::encoded;
use crate::percent;
use wskit_core::wire::{OutMeta, close, encode_frame, types};

/// The connection: tungstenite over the TCP (or TLS) stream, with the text frames written here
/// ahead of its own ([`ClientIo`]).
type Socket = WebSocketStream<ClientIo<Transport>>;

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
    // The earliest deadline of a request written and still pending: requests time out while
    // the connection is lost too (an idempotent one waits to be sent again).
    let mut expiry: Option<Instant> = None;
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
            never = expire_forever(&inner, &mut expiry) => match never {},
        };
        match connected {
            Ok(ws) => {
                let gap = lost_at.map(|at| (at, attempt));
                attempt = 0;
                match session(&inner, ws, &mut close_rx, gap, &mut expiry).await {
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
                // opt into retrying). So does a request that cannot be made, and a TLS
                // handshake that failed on the certificate or the protocol.
                let stop = (why.is_auth_rejection() && !inner.opts.retry_rejected)
                    || matches!(why, ConnectError::InvalidRequest(_) | ConnectError::Tls(_));
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
            never = expire_forever(&inner, &mut expiry) => match never {},
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
    let (ws, _response) = upgrade(request, opts).await?;
    Ok(ws)
}

/// The connection (TCP, and TLS for `wss`: `transport::open`) and the upgrade on it, as
/// tokio-tungstenite's `connect_async` makes them, with the socket under [`ClientIo`].
async fn upgrade(
    request: tungstenite::handshake::client::Request,
    opts: &Options,
) -> Result<(Socket, tungstenite::handshake::client::Response), ConnectError> {
    let transport = transport::open(request.uri(), opts).await?;
    client_async_with_config(request, ClientIo::new(transport), Some(websocket_config()))
        .await
        .map_err(|e| match e {
            tungstenite::Error::Http(response) => ConnectError::Rejected {
                status: response.status().as_u16(),
                body: response
                    .body()
                    .as_deref()
                    .map(|b| String::from_utf8_lossy(b).trim().to_owned())
                    .unwrap_or_default(),
            },
            tungstenite::Error::Url(e) => ConnectError::InvalidRequest(e.to_string()),
            e => ConnectError::Transport(e.to_string()),
        })
}

/// The socket's buffers. tungstenite zeroes its whole read buffer before every read: its default
/// of 128 KiB cost about as much as everything else a small reply needs (callgrind: 88% of the
/// client's instructions at C=50, W=16). A larger frame still arrives whole (the buffer grows to
/// the frame's length), in reads of this size.
fn websocket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
}

/// Bytes read from the socket at most at once (see [`websocket_config`]).
const READ_BUFFER_BYTES: usize = 4 * 1024;
/// Frames fed to tungstenite wait in its write buffer until it holds this much or is flushed.
const WRITE_BUFFER_BYTES: usize = 64 * 1024;

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

/// Times out the requests whose deadline passes, from `next` on; never returns.
async fn expire_forever(inner: &Inner, next: &mut Option<Instant>) -> Infallible {
    loop {
        match *next {
            None => std::future::pending::<()>().await,
            Some(at) => {
                sleep_until(at).await;
                *next = inner.expire(Instant::now());
            }
        }
    }
}

/// Inbound frames handled at most before the queued outbound ones are written.
const READ_BURST: usize = 64;

/// Runs one open connection until it ends.
async fn session(
    inner: &Arc<Inner>,
    mut ws: Socket,
    close_rx: &mut oneshot::Receiver<()>,
    gap: Option<(Instant, u32)>,
    expiry: &mut Option<Instant>,
) -> End {
    let gap = open(inner, gap);
    if let Some(gap) = gap {
        let _ = inner.gaps_tx.send(gap);
        if let Some(hook) = &inner.opts.on_gap
            && !call_hook(&**hook, gap)
        {
            report_panic(inner, "on_gap");
        }
    }

    let heartbeat = inner.opts.heartbeat;
    let write_timeout = inner.opts.write_timeout;
    let far = || Instant::now() + std::time::Duration::from_secs(86_400 * 365);
    let mut next_ping = heartbeat.map(|h| Instant::now() + h.interval);
    let mut silent_deadline: Option<Instant> = None;
    let timer = sleep_until(far());
    tokio::pin!(timer);
    // What the timer is set to (`None`: to be set).
    let mut timer_at: Option<Option<Instant>> = None;
    // Reused between writes: the items taken from the outbox, their frames.
    let mut batch = VecDeque::new();
    let mut frames = Vec::new();
    let max_frame = websocket_config().max_frame_size.unwrap_or(usize::MAX);

    loop {
        // The timer: the next ping, the heartbeat's silence limit, the next request deadline.
        let wake = [next_ping, silent_deadline, *expiry]
            .into_iter()
            .flatten()
            .min();
        if timer_at != Some(wake) {
            timer.as_mut().reset(wake.unwrap_or_else(far));
            timer_at = Some(wake);
        }
        tokio::select! {
            biased;
            _ = &mut *close_rx => {
                close_gracefully(inner, &mut ws).await;
                return End::Deliberate;
            }
            open = std::future::poll_fn(|cx| read_burst(inner, &mut ws, max_frame, cx)) => {
                if heartbeat.is_some() {
                    silent_deadline = None;
                }
                if !open {
                    return lost(inner);
                }
                // Then what the replies queued.
                if take_outbox(inner, &mut batch, None) == Poll::Ready(false) {
                    return lost(inner);
                }
                take_frames(inner, &mut batch, &mut frames, expiry);
                if !write_all(&mut ws, &mut frames, write_timeout).await {
                    return lost(inner);
                }
            }
            open = std::future::poll_fn(|cx| take_outbox(inner, &mut batch, Some(cx))) => {
                if !open {
                    return lost(inner);
                }
                take_frames(inner, &mut batch, &mut frames, expiry);
                if !write_all(&mut ws, &mut frames, write_timeout).await {
                    return lost(inner);
                }
            }
            _ = &mut timer => {
                timer_at = None;
                let now = Instant::now();
                if expiry.is_some_and(|d| d <= now) {
                    *expiry = inner.expire(now);
                }
                let (Some(hb), Some(ping_at)) = (heartbeat, next_ping) else { continue };
                if silent_deadline.is_some_and(|d| now >= d) {
                    return lost(inner);
                }
                if now >= ping_at {
                    let frame = encode_frame(types::HEARTBEAT, None::<&OutMeta>, None::<&()>)
                        .expect("a frame of a type alone always encodes");
                    frames.push(encoded::text(frame));
                    if !write_all(&mut ws, &mut frames, write_timeout).await {
                        return lost(inner);
                    }
                    silent_deadline.get_or_insert(now + hb.timeout);
                    next_ping = Some(now + hb.interval);
                }
            }
        }
    }
}

/// Handles the frames the socket has, up to [`READ_BURST`] (those read here, as `&str` straight
/// from the socket's buffer, and those tungstenite reads): ready with false when the connection
/// is over, with true when some were handled; pending (the task woken by the socket) when there
/// were none.
fn read_burst(
    inner: &Inner,
    ws: &mut Socket,
    max_frame: usize,
    cx: &mut std::task::Context<'_>,
) -> Poll<bool> {
    // A pong tungstenite queued (for a ping read below) or did not write all of: it would
    // write it at its next read or write, and the frames after the ping may all be read here.
    let mut pong = !ws.get_ref().can_add();
    let mut handled = 0;
    let open = loop {
        let step = ws.get_mut().poll_frames(cx, max_frame, &mut |text| {
            handle_inbound(inner, text);
            handled += 1;
            handled < READ_BURST
        });
        match step {
            Poll::Pending => break true,
            Poll::Ready(Step::Stop) => break true,
            // Polled with this task's own waker: tokio-tungstenite keeps the last one, and a
            // different one each time costs a clone and a drop.
            Poll::Ready(Step::Theirs) => match ws.poll_next_unpin(cx) {
                Poll::Ready(msg) => {
                    pong |= matches!(msg, Some(Ok(tungstenite::Message::Ping(_))));
                    if !handle_message(inner, msg) {
                        break false;
                    }
                    handled += 1;
                    if handled >= READ_BURST {
                        break true;
                    }
                }
                // Its frame is not all here yet: the socket wakes the task.
                Poll::Pending if ws.get_ref().feeding() => break true,
                // It read its frame (a fragment, say) and waits for more: the next frames
                // are read here again.
                Poll::Pending => {}
            },
        }
    };
    if open && pong {
        // Written now (what the socket does not take yet goes when the task is next woken,
        // and a failed socket shows at the next read or write).
        let _ = ws.poll_flush_unpin(cx);
    }
    if !open {
        Poll::Ready(false)
    } else if handled > 0 {
        Poll::Ready(true)
    } else {
        Poll::Pending
    }
}

/// Handles what tungstenite read; false when the connection is over.
fn handle_message(
    inner: &Inner,
    msg: Option<Result<tungstenite::Message, tungstenite::Error>>,
) -> bool {
    match msg {
        Some(Ok(tungstenite::Message::Text(text))) => handle_inbound(inner, text.as_str()),
        Some(Ok(tungstenite::Message::Binary(bytes))) => {
            handle_inbound(inner, &String::from_utf8_lossy(&bytes))
        }
        Some(Ok(tungstenite::Message::Close(_))) | Some(Err(_)) | None => return false,
        Some(Ok(_)) => {} // ping (answered by tungstenite), pong, raw frame
    }
    true
}

/// Moves the outbox's items into `batch` (empty): ready with true when there were some, with
/// false when the connection is no longer open; pending (the task's waker left for the next
/// item when `cx` is given) when there are none.
fn take_outbox(
    inner: &Inner,
    batch: &mut VecDeque<Outbound>,
    cx: Option<&mut std::task::Context<'_>>,
) -> Poll<bool> {
    let mut sh = inner.lock();
    let Some(outbox) = &mut sh.outbox else {
        return Poll::Ready(false);
    };
    if !outbox.items.is_empty() {
        std::mem::swap(&mut outbox.items, batch);
        return Poll::Ready(true);
    }
    if let Some(cx) = cx {
        match &outbox.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => outbox.waker = Some(cx.waker().clone()),
        }
    }
    Poll::Pending
}

/// On open: subscriptions, then in-flight idempotent requests, then the offline queue, all
/// before anything sent later; the state becomes `Open` under the same lock.
fn open(inner: &Arc<Inner>, gap: Option<(Instant, u32)>) -> Option<Gap> {
    let mut sh = inner.lock();
    sh.last_error = None;
    let mut items = VecDeque::new();
    for frame in &sh.subscriptions {
        // The type only names frames evicted from the queue; subscriptions never go there.
        items.push_back(Outbound::Frame {
            ty: "",
            text: frame.clone(),
        });
    }
    let resubscribed = items.len();
    let mut resend: Vec<(u64, u64)> = sh
        .pending
        .iter()
        .filter(|(_, p)| p.written)
        .map(|(&id, p)| (p.seq, id))
        .collect();
    resend.sort_unstable();
    for &(_, id) in &resend {
        items.push_back(Outbound::Request(id));
    }
    items.extend(sh.queue.drain());
    sh.outbox = Some(Outbox { items, waker: None });
    inner.set_task_state(&sh, ConnectionState::Open);
    gap.map(|(lost_at, attempts)| Gap {
        offline: lost_at.elapsed(),
        attempts,
        resubscribed,
        resent: resend.len(),
    })
}

/// The frames of the items in `batch` (which it empties), in order, into `frames`; requests
/// are marked written, and the first write starts their clock (`expiry` follows).
fn take_frames(
    inner: &Inner,
    batch: &mut VecDeque<Outbound>,
    frames: &mut Vec<FrameText>,
    expiry: &mut Option<Instant>,
) {
    if batch.is_empty() {
        return;
    }
    let now = Instant::now();
    let mut sh = inner.lock();
    for item in batch.drain(..) {
        match item {
            Outbound::Frame { text, .. } => frames.push(text),
            Outbound::Abort(id) => frames.push(abort_frame(&inner.ids, id)),
            Outbound::Request(id) => {
                let Some(p) = sh.pending.get_mut(&id) else {
                    continue; // cancelled meanwhile
                };
                if !p.written {
                    p.written = true;
                    p.deadline = now.checked_add(p.timeout);
                    if let Some(d) = p.deadline {
                        *expiry = Some(expiry.map_or(d, |e| e.min(d)));
                    }
                }
                // Only an idempotent request is ever sent again.
                let frame = if p.idempotent {
                    p.frame.clone()
                } else {
                    p.frame.take()
                };
                frames.extend(frame);
            }
        }
    }
}

/// Writes `frames` (which it empties) and flushes once; false when the socket failed or did not
/// take them within `limit` (a peer that stopped reading): the connection is then treated as
/// lost.
async fn write_all(ws: &mut Socket, frames: &mut Vec<FrameText>, limit: Duration) -> bool {
    if frames.is_empty() {
        return true;
    }
    let work = async {
        if ws.get_ref().can_add() {
            // Masked and added ahead of tungstenite's bytes, written by the flush.
            let io = ws.get_mut();
            for frame in frames.drain(..) {
                io.add_text(frame.as_bytes(), rand::random());
            }
        } else {
            // tungstenite holds part of a frame of its own: everything goes after it.
            for frame in frames.drain(..) {
                ws.feed(tungstenite::Message::Text(frame)).await?;
            }
        }
        ws.flush().await
    };
    let mut work = std::pin::pin!(work);
    // The clock only when the socket does not take it all at once (polled with this task's own
    // waker, as the timeout then polls it).
    let first = std::future::poll_fn(|cx| Poll::Ready(work.as_mut().poll(cx))).await;
    match first {
        Poll::Ready(result) => result.is_ok(),
        Poll::Pending => matches!(tokio::time::timeout(limit, work).await, Ok(Ok(()))),
    }
}

/// The connection was lost: stop writing; what never reached the socket goes back to the front
/// of the queue, except what the next open sends anyway (subscriptions, requests in flight) and
/// what is moot (aborts, requests gone meanwhile). Returns [`End::Lost`].
fn lost(inner: &Inner) -> End {
    let mut sh = inner.lock();
    let Some(outbox) = sh.outbox.take() else {
        return End::Lost;
    };
    let unsent: Vec<Outbound> = outbox
        .items
        .into_iter()
        .filter(|item| match item {
            Outbound::Abort(_) => false,
            Outbound::Frame { text, .. } => !sh.subscriptions.contains(text),
            Outbound::Request(id) => sh.pending.get(id).is_some_and(|p| !p.written),
        })
        .collect();
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
async fn close_gracefully(inner: &Inner, ws: &mut Socket) {
    let mut batch: VecDeque<Outbound> = inner
        .lock()
        .outbox
        .take()
        .map(|o| o.items)
        .unwrap_or_default();
    batch.retain(|item| !matches!(item, Outbound::Request(_)));
    let write_timeout = inner.opts.write_timeout;
    let work = async {
        let mut frames = Vec::new();
        // No request among them: no clock starts.
        take_frames(inner, &mut batch, &mut frames, &mut None);
        if !write_all(ws, &mut frames, write_timeout).await {
            return;
        }
        let frame = CloseFrame {
            code: close::NORMAL.into(),
            reason: "".into(),
        };
        let close = ws.send(tungstenite::Message::Close(Some(frame)));
        if !matches!(tokio::time::timeout(write_timeout, close).await, Ok(Ok(()))) {
            return;
        }
        // Until the server's close frame (or the end of the stream), all read by tungstenite.
        ws.get_mut().feed_all();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::ClientBuilder;
    use crate::client::shared::{NewRequest, Waiter};

    fn inner() -> Inner {
        Inner::new(ClientBuilder::new("ws://127.0.0.1:1/ws").opts)
    }

    /// A call that nobody awaits.
    struct Nobody;

    impl Waiter for Nobody {
        fn deliver(&self, _: &str, _: &str, _: &mut dyn FnMut() -> bool) -> bool {
            false
        }
        fn complete(&self, _: Result<super::super::shared::Reply, ClientError>) {}
    }

    fn request(inner: &Inner, id: u64, frame: &str) {
        inner
            .start_request(NewRequest {
                id,
                ty: "GET",
                frame: frame.into(),
                idempotent: true,
                timeout: Duration::from_secs(30),
                waiter: Arc::new(Nobody),
                progress_tx: None,
            })
            .unwrap();
    }

    /// The texts (request ids for requests) an open connection would write, in order.
    fn written_on_open(inner: &Arc<Inner>) -> Vec<String> {
        open(inner, None);
        let items = inner.lock().outbox.take().unwrap().items;
        items
            .into_iter()
            .map(|item| match item {
                Outbound::Frame { text, .. } => text.to_string(),
                Outbound::Request(id) => format!("request {id}"),
                Outbound::Abort(id) => format!("abort {id}"),
            })
            .collect()
    }

    #[test]
    fn two_losses_in_a_row_send_nothing_twice() {
        let inner = Arc::new(inner());
        inner
            .send_frame("JOIN", "subscription".into(), true)
            .unwrap();
        request(&inner, 1, "W");
        inner.lock().pending.get_mut(&1).unwrap().written = true;
        inner.lock().queue.drain(); // it went out on an earlier connection
        request(&inner, 2, "U");
        inner.send_frame("CHAT", "chat".into(), false).unwrap();
        // Two connections lost before they wrote anything.
        for _ in 0..2 {
            open(&inner, None);
            inner
                .lock()
                .outbox
                .as_mut()
                .unwrap()
                .items
                .push_back(Outbound::Abort(1));
            let _ = lost(&inner);
        }
        assert_eq!(
            written_on_open(&inner),
            ["subscription", "request 1", "request 2", "chat"]
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
