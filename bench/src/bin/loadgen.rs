//! The load generator: drives any server that speaks the bench protocol (`wskit_bench::frames`)
//! on 127.0.0.1 and prints one JSON line of results.
//!
//! ```text
//! loadgen --addr 127.0.0.1:PORT --mode rpc    [--conns 50] [--window 1] [--frame-bytes 64]
//!                                             [--duration 5] [--warmup 1] [--client raw|wskit]
//! loadgen --addr 127.0.0.1:PORT --mode fanout [--subs 10000] [--rounds 20] [--duration 5] [--addr2 127.0.0.1:PORT2]
//! loadgen --addr 127.0.0.1:PORT --mode pubrate [--subs 200] [--window 64] [--duration 5] [--addr2 ..]
//! loadgen --addr 127.0.0.1:PORT --mode idle   --pid SERVER_PID [--conns 10000] [--settle 2]
//! rpc and fanout: [--pid SERVER_PID] also reports the server's CPU use (fraction of one core)
//! common: [--path /] [--sources 8] (connections spread over 127.0.0.1..127.0.0.<sources>)
//!         [--server NAME] [--scenario NAME] [--repeat N] (copied into the result line as labels)
//! ```
//!
//! - rpc: `conns` connections each keep `window` `ECHO` requests in flight, every one with a unique
//!   correlationId matched on its reply. Throughput counts the replies received during the measured
//!   `duration` (after `warmup`); latencies (HDR histogram) are those of requests sent and answered
//!   within it. `--client raw` (default) writes the frames itself on tokio-tungstenite and finds
//!   each reply's id by a substring search; `--client wskit` makes the same calls through wskit's
//!   generated client (`BenchClient::echo`: a UUID correlationId and a timestamp in meta, the
//!   reply parsed and validated), `window` calls in flight per connection, to measure the client:
//!   one task per connection polling its `window` calls in flight on each wake (as the raw
//!   client's one task per connection; `select_all`'s way), or with `--unordered true` awaiting
//!   them through a `FuturesUnordered`, or with `--task-per-call true` one task per call.
//! - fanout: `subs` connections subscribe to one topic, then one more connection asks the server to
//!   publish, round after round, each round waiting until every subscriber has the message.
//!   Deliveries per second are deliveries over the time from the publish request to the last
//!   delivery; latency is publish-request-to-delivery per subscriber. The first round is warm-up.
//! - idle: `conns` connections each do one rpc and then stay open; the server's resident memory
//!   (`/proc/PID/status` VmRSS) before and after gives the cost per connection.
//!
//! One thread (`current_thread` runtime): pin it to a core with `taskset`.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use std::future::IntoFuture;

use futures_util::stream::FuturesUnordered;
use futures_util::{FutureExt, SinkExt, StreamExt};
use serde_json::json;
use tokio::net::TcpStream;
use tokio::sync::{Notify, Semaphore};
use tokio::task::LocalSet;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use wskit_bench::args::Args;
use wskit_bench::protocol::{BenchClient, Echo, EchoReply};
use wskit_bench::stats::{Latencies, rate};
use wskit_bench::{frames, proc_status, transport};

type Ws = WebSocketStream<TcpStream>;
type BoxError = Box<dyn std::error::Error>;

/// Connections opened at the same time while setting up (keeps the accept backlog from overflowing).
const CONNECT_CONCURRENCY: usize = 256;
/// Upper bound for one connection attempt, and for any single wait on the server.
const WAIT_LIMIT: Duration = Duration::from_secs(20);

/// Where and how to connect.
#[derive(Clone)]
struct Target {
    addr: SocketAddr,
    /// A second server (`--addr2`): connections alternate between the two (fan-out over two
    /// nodes of one cluster).
    addr2: Option<SocketAddr>,
    path: Rc<str>,
    sources: u8,
}

fn main() -> Result<(), BoxError> {
    let args = Args::from_env()?;
    let mode: String = args.require("mode")?;
    let target = Target {
        addr: args.require("addr")?,
        addr2: args
            .get::<String>("addr2", String::new())
            .ok()
            .and_then(|a| a.parse().ok()),
        path: args.get::<String>("path", "/".into())?.into(),
        sources: args.get("sources", 8)?,
    };
    let labels = json!({
        "server": args.get::<String>("server", String::new())?,
        "scenario": args.get::<String>("scenario", String::new())?,
        "repeat": args.get::<u32>("repeat", 0)?,
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut result = LocalSet::new().block_on(&rt, async move {
        match mode.as_str() {
            "rpc" => rpc(&args, target).await,
            "fanout" => fanout(&args, target).await,
            "idle" => idle(&args, target).await,
            "pubrate" => pubrate(&args, target).await,
            other => Err(format!("unknown --mode {other:?} (rpc, fanout, idle, pubrate)").into()),
        }
    })?;
    if let (Some(out), serde_json::Value::Object(labels)) = (result.as_object_mut(), labels) {
        out.extend(labels);
    }
    println!("{result}");
    Ok(())
}

/// Opens `n` WebSocket connections, `CONNECT_CONCURRENCY` at a time.
async fn connect_all(target: &Target, n: usize) -> Result<Vec<Ws>, BoxError> {
    let gate = Rc::new(Semaphore::new(CONNECT_CONCURRENCY));
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let (gate, target) = (gate.clone(), target.clone());
        tasks.push(tokio::task::spawn_local(async move {
            let _permit = gate.acquire().await;
            let source = transport::source_address(i, target.sources);
            let addr = match target.addr2 {
                Some(addr2) if i % 2 == 1 => addr2,
                _ => target.addr,
            };
            tokio::time::timeout(
                WAIT_LIMIT,
                transport::ws_connect(source, addr, &target.path),
            )
            .await
            .map_err(|_| format!("connection {i}: timed out"))?
            .map_err(|e| format!("connection {i} from {source}: {e}"))
        }));
    }
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.push(t.await??);
    }
    Ok(out)
}

/// The text of a data frame; `None` for control frames.
fn text_of(msg: &Message) -> Option<&str> {
    match msg {
        Message::Text(t) => Some(t.as_str()),
        Message::Binary(b) => std::str::from_utf8(b).ok(),
        _ => None,
    }
}

/// Sends one request and waits for the frame answering its correlationId.
async fn call(ws: &mut Ws, id: &str, request: String) -> Result<String, BoxError> {
    ws.send(Message::text(request)).await?;
    loop {
        let msg = tokio::time::timeout(WAIT_LIMIT, ws.next())
            .await
            .map_err(|_| format!("no answer to {id}"))?
            .ok_or("connection closed")??;
        if let Some(text) = text_of(&msg)
            && frames::correlation_id(text) == Some(id)
        {
            let ty = frames::frame_type(text).unwrap_or("");
            if frames::is_error(ty) {
                return Err(format!("{id} answered with an error: {text}").into());
            }
            return Ok(text.to_owned());
        }
    }
}

/// CPU used by the load generator and (with `--pid`) the server over a stretch of wall time.
struct CpuMeter {
    server: Option<u32>,
    start: Instant,
    own: Duration,
    own_preempted: u64,
    server_start: Option<(Duration, u64)>,
}

impl CpuMeter {
    fn start(server: Option<u32>) -> Self {
        CpuMeter {
            server,
            start: Instant::now(),
            own: proc_status::cpu_time(std::process::id()).unwrap_or_default(),
            own_preempted: proc_status::preemptions(std::process::id()).unwrap_or_default(),
            server_start: server.and_then(|p| {
                Some((
                    proc_status::cpu_time(p).ok()?,
                    proc_status::preemptions(p).ok()?,
                ))
            }),
        }
    }

    /// Since `start`: CPU used by the load generator and the server (fractions of one core), and
    /// how often per second each was preempted (other processes competing for its core).
    fn stop(&self) -> serde_json::Value {
        let wall = self.start.elapsed().as_secs_f64();
        let me = std::process::id();
        let own = proc_status::cpu_time(me)
            .unwrap_or_default()
            .saturating_sub(self.own);
        let own_preempted = proc_status::preemptions(me)
            .unwrap_or_default()
            .saturating_sub(self.own_preempted);
        let (server, server_preempted) = match (self.server, self.server_start) {
            (Some(pid), Some((cpu, preempted))) => (
                proc_status::cpu_time(pid)
                    .ok()
                    .map(|now| now.saturating_sub(cpu).as_secs_f64() / wall),
                proc_status::preemptions(pid)
                    .ok()
                    .map(|now| now.saturating_sub(preempted) as f64 / wall),
            ),
            _ => (None, None),
        };
        json!({
            "loadgen": own.as_secs_f64() / wall,
            "server": server,
            "loadgen_preempted_per_s": own_preempted as f64 / wall,
            "server_preempted_per_s": server_preempted,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// rpc

/// Counters shared by every connection of an rpc run.
#[derive(Default)]
struct RpcTally {
    sent: Cell<u64>,
    replies: Cell<u64>,
    errors: Cell<u64>,
    unmatched: Cell<u64>,
    latencies: RefCell<Latencies>,
}

/// The measured window of a run.
#[derive(Clone, Copy)]
struct Window {
    start: Instant,
    end: Instant,
}

impl Window {
    /// `duration` long, starting `warmup` from now.
    fn after(warmup: Duration, duration: Duration) -> Self {
        let start = Instant::now() + warmup;
        Window {
            start,
            end: start + duration,
        }
    }
}

async fn rpc(args: &Args, target: Target) -> Result<serde_json::Value, BoxError> {
    let conns: usize = args.get("conns", 50)?;
    let window: usize = args.get("window", 1)?;
    let frame_bytes: usize = args.get("frame-bytes", 64)?;
    let duration = Duration::from_secs_f64(args.get("duration", 5.0)?);
    let warmup = Duration::from_secs_f64(args.get("warmup", 1.0)?);
    let client: String = args.get("client", "raw".to_owned())?;

    let tally = Rc::new(RpcTally::default());
    // Connect first, then start the clock: warm-up and measured window follow the set-up.
    let (measured, tasks): (Window, Vec<tokio::task::JoinHandle<Result<(), BoxError>>>) =
        match client.as_str() {
            "raw" => {
                let sockets = connect_all(&target, conns).await?;
                let measured = Window::after(warmup, duration);
                let tasks = sockets
                    .into_iter()
                    .enumerate()
                    .map(|(i, ws)| {
                        let tally = tally.clone();
                        tokio::task::spawn_local(async move {
                            rpc_connection(i, ws, window, frame_bytes, measured, tally).await?;
                            Ok(())
                        })
                    })
                    .collect();
                (measured, tasks)
            }
            "wskit" => {
                let clients = wskit_connect_all(&target, conns).await?;
                let measured = Window::after(warmup, duration);
                // The same text as the raw client's frame of `frame_bytes` carries.
                let text: Rc<str> = frames::text(&frames::echo_request("0-0", frame_bytes))
                    .ok_or("echo_request has a text")?
                    .into();
                let tasks = if args.get("task-per-call", false)? {
                    clients
                        .iter()
                        .flat_map(|client| (0..window).map(move |_| client.clone()))
                        .map(|client| {
                            let (tally, text) = (tally.clone(), text.clone());
                            tokio::task::spawn_local(wskit_caller(client, text, measured, tally))
                        })
                        .collect()
                } else {
                    let unordered = args.get("unordered", false)?;
                    clients
                        .into_iter()
                        .map(|client| {
                            let (tally, text) = (tally.clone(), text.clone());
                            tokio::task::spawn_local(wskit_connection(
                                client, window, unordered, text, measured, tally,
                            ))
                        })
                        .collect()
                };
                (measured, tasks)
            }
            other => return Err(format!("unknown --client {other:?} (raw, wskit)").into()),
        };
    // CPU use over the measured window (the connection tasks run while this one sleeps).
    tokio::time::sleep_until(measured.start.into()).await;
    let meter = CpuMeter::start(args.get::<u32>("pid", 0).ok().filter(|&p| p != 0));
    tokio::time::sleep_until(measured.end.into()).await;
    let cpu = meter.stop();
    let mut failures = Vec::new();
    for t in tasks {
        if let Err(e) = t.await? {
            failures.push(e.to_string());
        }
    }
    let lat = tally.latencies.borrow().summary();
    Ok(json!({
        "mode": "rpc",
        "client": client,
        "conns": conns,
        "window": window,
        "frame_bytes": frames::echo_request(&format!("{:x}-{:x}", conns, 1_000_000), frame_bytes).len(),
        "duration_s": duration.as_secs_f64(),
        "sent": tally.sent.get(),
        "replies": tally.replies.get(),
        "errors": tally.errors.get(),
        "unmatched": tally.unmatched.get(),
        "failed_connections": failures.len(),
        "first_failure": failures.first(),
        "msgs_per_s": rate(tally.replies.get(), duration),
        "latency": lat,
        "cpu": cpu,
    }))
}

/// Opens `n` wskit clients of the bench protocol, `CONNECT_CONCURRENCY` at a time.
async fn wskit_connect_all(target: &Target, n: usize) -> Result<Vec<BenchClient>, BoxError> {
    let url = format!("ws://{}{}", target.addr, target.path);
    let gate = Rc::new(Semaphore::new(CONNECT_CONCURRENCY));
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let (gate, url) = (gate.clone(), url.clone());
        tasks.push(tokio::task::spawn_local(async move {
            let _permit = gate.acquire().await;
            let client = wskit::client::Client::builder(url)
                .max_pending(100_000)
                .request_timeout(WAIT_LIMIT)
                .build();
            tokio::time::timeout(WAIT_LIMIT, client.connect())
                .await
                .map_err(|_| format!("client {i}: timed out"))?
                .map_err(|e| format!("client {i}: {e}"))?;
            Ok::<_, BoxError>(BenchClient::new(client))
        }));
    }
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.push(t.await??);
    }
    Ok(out)
}

/// One wskit client's calls, one task per connection as with the raw client: `window` `ECHO`
/// calls in flight, each answered one followed by a new one until the window ends. Polled all
/// on each wake by default; through a `FuturesUnordered` with `unordered` (measured at 15% more
/// load-generator CPU per request: an allocation and a waker of its own per call).
async fn wskit_connection(
    client: BenchClient,
    window: usize,
    unordered: bool,
    text: Rc<str>,
    measured: Window,
    tally: Rc<RpcTally>,
) -> Result<(), BoxError> {
    let call = || {
        let sent_at = Instant::now();
        tally.sent.set(tally.sent.get() + 1);
        // No timer per call: the client's own timeout (`WAIT_LIMIT`) bounds the wait.
        client
            .echo(Echo {
                text: String::from(&*text),
                n: 1,
            })
            .into_future()
            .map(move |reply| (sent_at, reply))
    };
    if unordered {
        let mut calls: FuturesUnordered<_> = (0..window).map(|_| call()).collect();
        while let Some((sent_at, reply)) = calls.next().await {
            let now = Instant::now();
            tally_reply(&tally, measured, sent_at, now, reply);
            // The last calls end after the window, uncounted.
            if now < measured.end {
                calls.push(call());
            }
        }
        return Ok(());
    }
    // Every call in flight polled on each wake (as `select_all` does): no allocation or waker
    // of its own per call.
    let mut calls: Vec<Option<_>> = (0..window).map(|_| Some(call())).collect();
    std::future::poll_fn(|cx| {
        let mut in_flight = 0;
        for slot in calls.iter_mut() {
            // A new call is polled at once too, so that its reply wakes this task.
            while let Some(pending) = slot {
                match pending.poll_unpin(cx) {
                    std::task::Poll::Pending => {
                        in_flight += 1;
                        break;
                    }
                    std::task::Poll::Ready((sent_at, reply)) => {
                        let now = Instant::now();
                        tally_reply(&tally, measured, sent_at, now, reply);
                        // The last calls end after the window, uncounted.
                        *slot = (now < measured.end).then(call);
                    }
                }
            }
        }
        if in_flight == 0 {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    Ok(())
}

/// Counts one reply of the wskit client.
fn tally_reply(
    tally: &RpcTally,
    measured: Window,
    sent_at: Instant,
    now: Instant,
    reply: Result<EchoReply, wskit::client::ClientError>,
) {
    match reply {
        Ok(reply) if reply.n == 1 => {
            if now >= measured.start && now <= measured.end {
                tally.replies.set(tally.replies.get() + 1);
                if sent_at >= measured.start {
                    tally.latencies.borrow_mut().record(now - sent_at);
                }
            }
        }
        Ok(_) => tally.unmatched.set(tally.unmatched.get() + 1),
        Err(_) => tally.errors.set(tally.errors.get() + 1),
    }
}

/// One of a wskit client's `window` callers (`--task-per-call`): one `ECHO` call after another until the window
/// ends (so each connection has `window` requests in flight, as with the raw client).
async fn wskit_caller(
    client: BenchClient,
    text: Rc<str>,
    measured: Window,
    tally: Rc<RpcTally>,
) -> Result<(), BoxError> {
    loop {
        let sent_at = Instant::now();
        if sent_at >= measured.end {
            break;
        }
        tally.sent.set(tally.sent.get() + 1);
        // No timer per call: the client's own timeout (`WAIT_LIMIT`) bounds the wait, as the
        // raw client's one timer per batch of replies does. The last call ends after the
        // window, uncounted.
        let reply = client
            .echo(Echo {
                text: String::from(&*text),
                n: 1,
            })
            .await;
        tally_reply(&tally, measured, sent_at, Instant::now(), reply);
    }
    Ok(())
}

/// One connection of an rpc run: keeps `window` requests in flight until the window ends.
async fn rpc_connection(
    conn: usize,
    mut ws: Ws,
    window: usize,
    frame_bytes: usize,
    measured: Window,
    tally: Rc<RpcTally>,
) -> Result<(), WsError> {
    let prefix = format!("{conn:x}-");
    let mut pending: HashMap<u64, Instant> = HashMap::with_capacity(window * 2);
    let mut seq: u64 = 0;
    let mut id = String::with_capacity(24);
    'run: loop {
        if Instant::now() >= measured.end {
            break;
        }
        while pending.len() < window {
            use std::fmt::Write;
            id.clear();
            let _ = write!(id, "{prefix}{seq:x}");
            let request = frames::echo_request(&id, frame_bytes);
            pending.insert(seq, Instant::now());
            seq += 1;
            ws.feed(Message::text(request)).await?;
            tally.sent.set(tally.sent.get() + 1);
        }
        ws.flush().await?;
        let first = match tokio::time::timeout_at(measured.end.into(), ws.next()).await {
            Err(_) => break,
            Ok(None) => break,
            Ok(Some(m)) => m?,
        };
        let mut next = Some(first);
        while let Some(msg) = next {
            let Some(text) = text_of(&msg) else {
                if let Message::Close(_) = msg {
                    break 'run;
                }
                next = ws.next().now_or_never().flatten().transpose()?;
                continue;
            };
            let now = Instant::now();
            let sent_at = frames::correlation_id(text)
                .and_then(|id| id.strip_prefix(prefix.as_str()))
                .and_then(|s| u64::from_str_radix(s, 16).ok())
                .and_then(|s| pending.remove(&s));
            match sent_at {
                None => tally.unmatched.set(tally.unmatched.get() + 1),
                Some(sent_at) => {
                    let in_window = now >= measured.start && now <= measured.end;
                    if frames::frame_type(text).is_some_and(frames::is_error) {
                        tally.errors.set(tally.errors.get() + 1);
                    } else if in_window {
                        tally.replies.set(tally.replies.get() + 1);
                        if sent_at >= measured.start {
                            tally.latencies.borrow_mut().record(now - sent_at);
                        }
                    }
                }
            }
            next = ws.next().now_or_never().flatten().transpose()?;
        }
    }
    let _ = ws.close(None).await;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// fanout

/// State shared by the subscribers of a fan-out run.
struct Round {
    /// The round's text (`r<round>`), matched on delivery.
    text: RefCell<String>,
    /// When the publish request of the current round was sent.
    published_at: Cell<Instant>,
    /// Deliveries of the current round so far.
    delivered: Cell<usize>,
    /// When the last delivery of the current round arrived.
    last_at: Cell<Instant>,
    /// Whether the round's deliveries are recorded (false during warm-up).
    recording: Cell<bool>,
    /// Rings when every subscriber has the current round.
    complete: Notify,
    latencies: RefCell<Latencies>,
    /// Frames that were neither the current round's delivery nor ignorable.
    stray: Cell<u64>,
}

async fn fanout(args: &Args, target: Target) -> Result<serde_json::Value, BoxError> {
    let subs: usize = args.get("subs", 10_000)?;
    let max_rounds: usize = args.get("rounds", 20)?;
    let duration = Duration::from_secs_f64(args.get("duration", 5.0)?);

    let mut sockets = connect_all(&target, subs + 1).await?;
    let mut publisher = sockets.pop().ok_or("no publisher connection")?;
    // Subscribe everyone (concurrently), waiting for every acknowledgement.
    let mut joins = Vec::with_capacity(subs);
    for (i, mut ws) in sockets.into_iter().enumerate() {
        joins.push(tokio::task::spawn_local(async move {
            let id = format!("s{i:x}");
            call(&mut ws, &id, frames::subscribe_request(&id, frames::TOPIC))
                .await
                .map(|_| ws)
                .map_err(|e| e.to_string())
        }));
    }
    let mut subscribers = Vec::with_capacity(subs);
    for j in joins {
        subscribers.push(j.await??);
    }

    let now = Instant::now();
    let round = Rc::new(Round {
        text: RefCell::new(String::new()),
        published_at: Cell::new(now),
        delivered: Cell::new(0),
        last_at: Cell::new(now),
        recording: Cell::new(false),
        complete: Notify::new(),
        latencies: RefCell::new(Latencies::new()),
        stray: Cell::new(0),
    });
    let readers: Vec<_> = subscribers
        .into_iter()
        .map(|ws| tokio::task::spawn_local(subscriber(ws, round.clone(), subs)))
        .collect();

    let mut rounds_done = 0usize;
    let mut deliveries = 0u64;
    let mut busy = Duration::ZERO;
    let mut round_times = Latencies::new();
    let mut matched = None;
    let deadline = Instant::now() + duration;
    let mut meter = None;
    // Round 0 is warm-up; then rounds until `max_rounds` or the duration is used up.
    for r in 0..=max_rounds {
        if r > 1 && Instant::now() >= deadline {
            break;
        }
        let text = format!("r{r}");
        *round.text.borrow_mut() = text.clone();
        round.delivered.set(0);
        round.recording.set(r > 0);
        if r == 1 {
            meter = Some(CpuMeter::start(
                args.get::<u32>("pid", 0).ok().filter(|&p| p != 0),
            ));
        }
        let id = format!("p{r}");
        let complete = round.complete.notified();
        tokio::pin!(complete);
        complete.as_mut().enable();
        let t0 = Instant::now();
        round.published_at.set(t0);
        let reply = call(
            &mut publisher,
            &id,
            frames::publish_request(&id, frames::TOPIC, &text),
        )
        .await?;
        if matched.is_none() {
            matched = matched_count(&reply);
        }
        tokio::time::timeout(WAIT_LIMIT, complete)
            .await
            .map_err(|_| format!("round {r}: {} of {subs} deliveries", round.delivered.get()))?;
        if r > 0 {
            let took = round.last_at.get() - t0;
            busy += took;
            round_times.record(took);
            deliveries += subs as u64;
            rounds_done += 1;
        }
    }
    let cpu = meter.map(|m| m.stop());
    for t in readers {
        t.abort();
    }
    let lat = round.latencies.borrow().summary();
    Ok(json!({
        "mode": "fanout",
        "subs": subs,
        "rounds": rounds_done,
        "matched": matched,
        "deliveries": deliveries,
        "stray_frames": round.stray.get(),
        "deliveries_per_s": rate(deliveries, busy),
        "round": round_times.summary(),
        "latency": lat,
        "cpu": cpu,
    }))
}

/// The `matched` count in a `PUBLISHED` reply, if the server reports one.
fn matched_count(reply: &str) -> Option<u64> {
    let v: serde_json::Value = serde_json::from_str(reply).ok()?;
    v["payload"]["matched"].as_u64()
}

/// One subscriber: counts the deliveries of the current round.
async fn subscriber(mut ws: Ws, round: Rc<Round>, subs: usize) {
    while let Some(Ok(msg)) = ws.next().await {
        let Some(text) = text_of(&msg) else { continue };
        let now = Instant::now();
        if frames::text(text) != Some(round.text.borrow().as_str()) {
            round.stray.set(round.stray.get() + 1);
            continue;
        }
        if round.recording.get() {
            round
                .latencies
                .borrow_mut()
                .record(now - round.published_at.get());
        }
        round.last_at.set(now);
        let n = round.delivered.get() + 1;
        round.delivered.set(n);
        if n == subs {
            round.complete.notify_one();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// pubrate

/// Counters shared by the subscribers of a publish-rate run.
#[derive(Default)]
struct PubTally {
    /// Deliveries inside the measured window.
    delivered: Cell<u64>,
    /// Deliveries whose number was not above the subscriber's previous one.
    out_of_order: Cell<u64>,
}

/// The publish rate: one publisher keeps `window` publish requests in flight (pipelined on one
/// connection) while `subs` subscribers (alternating over `--addr` and `--addr2`) count what
/// they receive; publications per second (acknowledged), deliveries per second, the publish
/// round trip, and deliveries out of order (must be 0: one publisher's order).
async fn pubrate(args: &Args, target: Target) -> Result<serde_json::Value, BoxError> {
    let subs: usize = args.get("subs", 200)?;
    let window: usize = args.get("window", 64)?;
    let duration = Duration::from_secs_f64(args.get("duration", 5.0)?);
    let warmup = Duration::from_secs_f64(args.get("warmup", 1.0)?);

    let mut sockets = connect_all(&target, subs + 1).await?;
    let mut publisher = sockets.pop().ok_or("no publisher connection")?;
    let mut subscribers = Vec::with_capacity(subs);
    for (i, mut ws) in sockets.into_iter().enumerate() {
        let id = format!("s{i:x}");
        call(&mut ws, &id, frames::subscribe_request(&id, frames::TOPIC)).await?;
        subscribers.push(ws);
    }
    let start = Instant::now() + warmup;
    let measured = Window {
        start,
        end: start + duration,
    };
    let tally = Rc::new(PubTally::default());
    let readers: Vec<_> = subscribers
        .into_iter()
        .map(|mut ws| {
            let tally = tally.clone();
            tokio::task::spawn_local(async move {
                let mut last: Option<u64> = None;
                while let Some(Ok(msg)) = ws.next().await {
                    let Some(n) = text_of(&msg)
                        .and_then(frames::text)
                        .and_then(|t| t.parse::<u64>().ok())
                    else {
                        continue;
                    };
                    if last.is_some_and(|l| n <= l) {
                        tally.out_of_order.set(tally.out_of_order.get() + 1);
                    }
                    last = Some(n);
                    let now = Instant::now();
                    if now >= measured.start && now <= measured.end {
                        tally.delivered.set(tally.delivered.get() + 1);
                    }
                }
            })
        })
        .collect();

    let mut pending: HashMap<u64, Instant> = HashMap::with_capacity(window * 2);
    let (mut seq, mut acked, mut errors) = (0u64, 0u64, 0u64);
    let mut latencies = Latencies::new();
    let mut meter = None;
    'run: loop {
        let now = Instant::now();
        if now >= measured.end {
            break;
        }
        if meter.is_none() && now >= measured.start {
            meter = Some(CpuMeter::start(
                args.get::<u32>("pid", 0).ok().filter(|&p| p != 0),
            ));
        }
        while pending.len() < window {
            let id = format!("p{seq:x}");
            pending.insert(seq, Instant::now());
            publisher
                .feed(Message::text(frames::publish_request(
                    &id,
                    frames::TOPIC,
                    &seq.to_string(),
                )))
                .await?;
            seq += 1;
        }
        publisher.flush().await?;
        let first = match tokio::time::timeout_at(measured.end.into(), publisher.next()).await {
            Err(_) | Ok(None) => break,
            Ok(Some(m)) => m?,
        };
        let mut next = Some(first);
        while let Some(msg) = next {
            if let Message::Close(_) = msg {
                break 'run;
            }
            if let Some(text) = text_of(&msg)
                && let Some(sent_at) = frames::correlation_id(text)
                    .and_then(|id| id.strip_prefix('p'))
                    .and_then(|s| u64::from_str_radix(s, 16).ok())
                    .and_then(|s| pending.remove(&s))
            {
                let now = Instant::now();
                if frames::frame_type(text).is_some_and(frames::is_error) {
                    errors += 1;
                } else if now >= measured.start && now <= measured.end {
                    acked += 1;
                    if sent_at >= measured.start {
                        latencies.record(now - sent_at);
                    }
                }
            }
            next = publisher.next().now_or_never().flatten().transpose()?;
        }
    }
    let cpu = meter.map(|m| m.stop());
    // Deliveries still on their way when the window closed are not counted.
    tokio::time::sleep(Duration::from_millis(200)).await;
    for t in readers {
        t.abort();
    }
    Ok(json!({
        "mode": "pubrate",
        "subs": subs,
        "window": window,
        "duration_s": duration.as_secs_f64(),
        "publications": acked,
        "errors": errors,
        "publications_per_s": rate(acked, duration),
        "deliveries": tally.delivered.get(),
        "deliveries_per_s": rate(tally.delivered.get(), duration),
        "out_of_order": tally.out_of_order.get(),
        "latency": latencies.summary(),
        "cpu": cpu,
    }))
}

// ---------------------------------------------------------------------------------------------
// idle

async fn idle(args: &Args, target: Target) -> Result<serde_json::Value, BoxError> {
    let conns: usize = args.get("conns", 10_000)?;
    let pid: u32 = args.require("pid")?;
    let settle = Duration::from_secs_f64(args.get("settle", 2.0)?);

    let before = proc_status::rss_kib(pid)?;
    let sockets = connect_all(&target, conns).await?;
    // One rpc per connection, so every connection is fully set up on the server.
    let mut tasks = Vec::with_capacity(conns);
    for (i, mut ws) in sockets.into_iter().enumerate() {
        tasks.push(tokio::task::spawn_local(async move {
            let id = format!("i{i:x}");
            call(&mut ws, &id, frames::echo_request(&id, 64))
                .await
                .map(|_| ws)
                .map_err(|e| e.to_string())
        }));
    }
    let mut held = Vec::with_capacity(conns);
    for t in tasks {
        held.push(t.await??);
    }
    // Let the server finish whatever the last frames started (a measurement pause, not a sync).
    tokio::time::sleep(settle).await;
    let after = proc_status::rss_kib(pid)?;
    drop(held);
    let per_conn = after.saturating_sub(before) as f64 / conns as f64;
    Ok(json!({
        "mode": "idle",
        "conns": conns,
        "rss_before_kib": before,
        "rss_after_kib": after,
        "kib_per_conn": per_conn,
    }))
}
