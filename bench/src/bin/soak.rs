//! Soak load for the chat example (issue 13): mixed traffic for a while, then quiet, with the
//! server's resident memory and open file descriptors sampled every 10 s throughout, so a leak
//! shows as figures that do not return to their baseline. Run by `bench/soak.sh`.
//!
//! ```text
//! soak --addr 127.0.0.1:3000 --pid <server pid> [--secs 600] [--quiet-secs 60] [--churn 1000]
//!      [--steady 200] [--slow 5] [--hostile 5] [--cycles 1]
//! ```
//!
//! With `--cycles N` the load and quiet phases repeat N times: memory the allocator keeps after
//! the first cycle (freed, but not given back to the kernel) is reused by the next, so a quiet
//! RSS that stays put from cycle to cycle is retention, and one that climbs is a leak.
//!
//! The load, all on 127.0.0.1 (client sockets bound to 127.0.0.2-127.0.0.250 so that churn does
//! not run out of ephemeral ports):
//! - `steady` connections that each join a room, say something and ask for the room's members,
//!   every 50 ms (the example's rate limit refuses some: counted, not failures);
//! - `churn` new connections a second that join a room, say one line and close;
//! - `slow` readers that join the busiest room and never read (the server must close them);
//! - `hostile` connections sending malformed frames (not JSON, wrong types, unknown and reserved
//!   types, deep nesting, many meta keys, invalid UTF-8 in binary frames), reconnecting when
//!   closed.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{WebSocketStream, client_async};
use wskit_bench::proc_status::rss_kib;

const TOKENS: [&str; 3] = ["alice-token", "bob-token", "carol-token"];
const ROOMS: usize = 20;

#[derive(Default)]
struct Counters {
    answers: AtomicU64,
    refused: AtomicU64,
    churned: AtomicU64,
    connect_failures: AtomicU64,
    slow_closed: AtomicU64,
    hostile_frames: AtomicU64,
    hostile_reconnects: AtomicU64,
    deliveries: AtomicU64,
}

struct Opts {
    addr: SocketAddr,
    pid: u32,
    secs: u64,
    quiet_secs: u64,
    churn: u64,
    steady: usize,
    slow: usize,
    hostile: usize,
    cycles: u64,
}

fn opts() -> Opts {
    let mut o = Opts {
        addr: "127.0.0.1:3000".parse().unwrap(),
        pid: 0,
        secs: 600,
        quiet_secs: 60,
        churn: 1000,
        steady: 200,
        slow: 5,
        hostile: 5,
        cycles: 1,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair.get(1).map(String::as_str).unwrap_or_default();
        let number = || {
            value
                .parse::<u64>()
                .unwrap_or_else(|_| panic!("{} takes a number", pair[0]))
        };
        match pair[0].as_str() {
            "--addr" => o.addr = value.parse().expect("--addr host:port"),
            "--pid" => o.pid = number() as u32,
            "--secs" => o.secs = number(),
            "--quiet-secs" => o.quiet_secs = number(),
            "--churn" => o.churn = number(),
            "--steady" => o.steady = number() as usize,
            "--slow" => o.slow = number() as usize,
            "--hostile" => o.hostile = number() as usize,
            "--cycles" => o.cycles = number().max(1),
            other => panic!("unknown option {other}"),
        }
    }
    assert!(o.pid != 0, "--pid <server pid> is required");
    o
}

type Ws = WebSocketStream<TcpStream>;

/// A connection from a loopback address of its own (127.0.0.2-250), authenticated by `token`.
async fn connect(addr: SocketAddr, token: &str, n: u64) -> Option<Ws> {
    let local = Ipv4Addr::new(127, 0, 0, 2 + (n % 249) as u8);
    let socket = TcpSocket::new_v4().ok()?;
    socket.bind(SocketAddr::new(IpAddr::V4(local), 0)).ok()?;
    let tcp = tokio::time::timeout(Duration::from_secs(10), socket.connect(addr))
        .await
        .ok()?
        .ok()?;
    let url = format!("ws://{addr}/?access_token={token}");
    let (ws, _) = tokio::time::timeout(Duration::from_secs(10), client_async(url, tcp))
        .await
        .ok()?
        .ok()?;
    Some(ws)
}

fn join(room: usize) -> Message {
    Message::text(format!(
        r#"{{"type":"JOIN_ROOM","payload":{{"roomId":"room-{room}"}}}}"#
    ))
}

fn say(room: usize, text: &str) -> Message {
    Message::text(format!(
        r#"{{"type":"SEND_MESSAGE","payload":{{"roomId":"room-{room}","text":"{text}"}}}}"#
    ))
}

fn list(room: usize, id: u64) -> Message {
    Message::text(format!(
        r#"{{"type":"LIST_MEMBERS","meta":{{"correlationId":"{id}"}},"payload":{{"roomId":"room-{room}"}}}}"#
    ))
}

/// One steady connection: join, say, list members, every 50 ms, reading everything it gets.
async fn steady(o: Arc<Opts>, c: Arc<Counters>, stop: Arc<AtomicBool>, n: u64) {
    let room = n as usize % ROOMS;
    while !stop.load(Ordering::Relaxed) {
        let Some(ws) = connect(o.addr, TOKENS[n as usize % 3], n).await else {
            c.connect_failures.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let (mut tx, mut rx) = ws.split();
        let reader = {
            let c = c.clone();
            tokio::spawn(async move {
                while let Some(Ok(msg)) = rx.next().await {
                    if let Message::Text(t) = msg {
                        if t.contains("\"MEMBERS\"") {
                            c.answers.fetch_add(1, Ordering::Relaxed);
                        } else if t.contains("RESOURCE_EXHAUSTED") {
                            c.refused.fetch_add(1, Ordering::Relaxed);
                        } else {
                            c.deliveries.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            })
        };
        if tx.send(join(room)).await.is_err() {
            continue;
        }
        let mut i = 0u64;
        while !stop.load(Ordering::Relaxed) {
            i += 1;
            let ok =
                tx.send(say(room, "steady")).await.is_ok() && tx.send(list(room, i)).await.is_ok();
            if !ok {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = tx.send(Message::Close(None)).await;
        let _ = tokio::time::timeout(Duration::from_secs(2), reader).await;
    }
}

/// One short-lived connection: join, say one line, close.
async fn churn_one(o: Arc<Opts>, c: Arc<Counters>, n: u64) {
    let Some(mut ws) = connect(o.addr, TOKENS[n as usize % 3], n).await else {
        c.connect_failures.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let room = n as usize % ROOMS;
    let _ = ws.send(join(room)).await;
    let _ = ws.send(say(room, "churn")).await;
    let _ = ws.close(None).await;
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
    c.churned.fetch_add(1, Ordering::Relaxed);
}

/// A reader that joins the busiest room and never reads; waits until the server closes it.
async fn slow(o: Arc<Opts>, c: Arc<Counters>, stop: Arc<AtomicBool>, n: u64) {
    while !stop.load(Ordering::Relaxed) {
        let Some(mut ws) = connect(o.addr, TOKENS[0], n).await else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        let _ = ws.send(join(0)).await;
        // Never read; find out the server closed us by writing now and then.
        while !stop.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(500)).await;
            if tokio::time::timeout(
                Duration::from_secs(1),
                ws.send(Message::Ping(vec![].into())),
            )
            .await
            .is_ok_and(|r| r.is_err())
            {
                c.slow_closed.fetch_add(1, Ordering::Relaxed);
                break;
            }
        }
    }
}

/// Malformed frames, one after another, reconnecting when the server closes the connection.
async fn hostile(o: Arc<Opts>, c: Arc<Counters>, stop: Arc<AtomicBool>, n: u64) {
    let many_keys = {
        let keys: Vec<String> = (0..5000).map(|i| format!(r#""k{i}":{i}"#)).collect();
        format!(
            r#"{{"type":"LIST_MEMBERS","meta":{{{}}},"payload":{{"roomId":"x"}}}}"#,
            keys.join(",")
        )
    };
    let deep = format!(
        r#"{{"type":"SEND_MESSAGE","payload":{}{}}}"#,
        "[".repeat(100),
        "]".repeat(100)
    );
    let frames: Vec<Message> = vec![
        Message::text("not json"),
        Message::text("[1,2,3]"),
        Message::text(r#"{"type":7}"#),
        Message::text(r#"{"type":"NOPE","meta":{"correlationId":"h"}}"#),
        Message::text(r#"{"type":"$ws:nope"}"#),
        Message::text(r#"{"type":"SEND_MESSAGE","payload":{"roomId":1,"text":null,"x":{}}}"#),
        Message::text(many_keys),
        Message::text(deep),
        Message::binary(vec![0xff, 0xfe, b'{']),
        Message::text(
            r#"{"type":"LIST_MEMBERS","meta":{"correlationId":"d"},"payload":{"roomId":"r"}}"#,
        ),
        Message::text(
            r#"{"type":"LIST_MEMBERS","meta":{"correlationId":"d"},"payload":{"roomId":"r"}}"#,
        ),
    ];
    while !stop.load(Ordering::Relaxed) {
        let Some(ws) = connect(o.addr, TOKENS[1], n).await else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        c.hostile_reconnects.fetch_add(1, Ordering::Relaxed);
        let (mut tx, mut rx) = ws.split();
        let reader = tokio::spawn(async move { while let Some(Ok(_)) = rx.next().await {} });
        'frames: while !stop.load(Ordering::Relaxed) {
            for f in &frames {
                if tx.send(f.clone()).await.is_err() {
                    break 'frames;
                }
                c.hostile_frames.fetch_add(1, Ordering::Relaxed);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        reader.abort();
    }
}

fn fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

fn sample(o: &Opts, c: &Counters, start: Instant, phase: &str) {
    let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
    println!(
        "{:>5} s  {phase:<5}  rss {:>7} KiB  fds {:>5}  rpc answers {:>8}  rate-limited {:>8}  deliveries {:>9}  churned {:>7}  slow closed {:>4}  hostile frames {:>8} ({} connections)  connect failures {}",
        start.elapsed().as_secs(),
        rss_kib(o.pid).unwrap_or(0),
        fds(o.pid),
        load(&c.answers),
        load(&c.refused),
        load(&c.deliveries),
        load(&c.churned),
        load(&c.slow_closed),
        load(&c.hostile_frames),
        load(&c.hostile_reconnects),
        load(&c.connect_failures),
    );
}

#[tokio::main]
async fn main() {
    let o = Arc::new(opts());
    let c = Arc::new(Counters::default());
    let start = Instant::now();
    sample(&o, &c, start, "base");
    for _ in 0..o.cycles {
        cycle(&o, &c, start).await;
    }
}

/// One load phase of `secs`, then a quiet one of `quiet_secs`, sampling every 10 s.
async fn cycle(o: &Arc<Opts>, c: &Arc<Counters>, start: Instant) {
    let stop = Arc::new(AtomicBool::new(false));
    let phase_start = Instant::now();

    let mut tasks = Vec::new();
    let mut n = 0u64;
    for _ in 0..o.steady {
        n += 1;
        tasks.push(tokio::spawn(steady(o.clone(), c.clone(), stop.clone(), n)));
    }
    for _ in 0..o.slow {
        n += 1;
        tasks.push(tokio::spawn(slow(o.clone(), c.clone(), stop.clone(), n)));
    }
    for _ in 0..o.hostile {
        n += 1;
        tasks.push(tokio::spawn(hostile(o.clone(), c.clone(), stop.clone(), n)));
    }
    let churn = {
        let (o, c, stop) = (o.clone(), c.clone(), stop.clone());
        tokio::spawn(async move {
            let limit = Arc::new(tokio::sync::Semaphore::new(2000));
            let mut tick = tokio::time::interval(Duration::from_millis(10));
            let per_tick = (o.churn / 100).max(1);
            let mut n = 1_000_000u64;
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                for _ in 0..per_tick {
                    let Ok(permit) = limit.clone().try_acquire_owned() else {
                        break;
                    };
                    n += 1;
                    let (o, c) = (o.clone(), c.clone());
                    tokio::spawn(async move {
                        churn_one(o, c, n).await;
                        drop(permit);
                    });
                }
            }
            // Until every churned connection is done.
            let _ = limit.acquire_many(2000).await;
        })
    };

    let mut every = tokio::time::interval(Duration::from_secs(10));
    every.tick().await;
    while phase_start.elapsed() < Duration::from_secs(o.secs) {
        every.tick().await;
        sample(o, c, start, "load");
    }
    stop.store(true, Ordering::Relaxed);
    let _ = churn.await;
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
    }
    let quiet = Instant::now();
    while quiet.elapsed() < Duration::from_secs(o.quiet_secs) {
        every.tick().await;
        sample(o, c, start, "quiet");
    }
}
