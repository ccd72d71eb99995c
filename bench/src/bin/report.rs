//! Writes `BENCHMARKS.md` from the result lines of `bench/run.sh`.
//!
//! ```text
//! report --results target/bench/results.jsonl --machine target/bench/machine.txt \
//!        --command "bash bench/run.sh" --out BENCHMARKS.md
//! ```

use std::fmt::Write;

use wskit_bench::args::Args;
use wskit_bench::report::{Goal, Runs, names, targets};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::from_env()?;
    let results: String = args.require("results")?;
    let machine: String = args.require("machine")?;
    let command: String = args.require("command")?;
    let out: String = args.get("out", "BENCHMARKS.md".to_owned())?;
    let runs = Runs::parse(&std::fs::read_to_string(results)?)?;
    let machine = std::fs::read_to_string(machine)?;
    std::fs::write(&out, render(&runs, &machine, &command))?;
    Ok(())
}

fn num(v: Option<f64>, digits: usize) -> String {
    match v {
        Some(v) if v >= 10_000.0 => group(v.round() as u64),
        Some(v) => format!("{v:.digits$}"),
        None => "-".into(),
    }
}

/// 1234567 -> "1,234,567".
fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ms(us: Option<f64>) -> String {
    num(us.map(|u| u / 1000.0), 2)
}

/// Median CPU use of server and load generator, in percent of one core, and (in parentheses)
/// how often per second each was preempted.
fn cpu(runs: &Runs, scenario: &str, server: &str) -> String {
    let m = |p| runs.median(scenario, server, p);
    let pct = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{:.0}%", v * 100.0));
    let per_s = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.0}/s"));
    format!(
        "{} ({}) / {} ({})",
        pct(m("cpu.server")),
        per_s(m("cpu.server_preempted_per_s")),
        pct(m("cpu.loadgen")),
        per_s(m("cpu.loadgen_preempted_per_s"))
    )
}

fn describe(server: &str) -> &'static str {
    match server {
        names::ECHO => "raw tokio-tungstenite echo, one flush per reply",
        names::ECHO_BATCH => "raw tokio-tungstenite echo, feed all replies, flush once",
        names::RAW_PUBSUB => {
            "raw tokio-tungstenite, frame encoded once, one direct write per subscriber: the floor of the transport"
        }
        names::WSKIT => "wskit (protocol! server, validated rpc)",
        names::WS_KIT_BUN => "ws-kit on Bun (zod validation, memory pub/sub)",
        names::BUN_ECHO => "raw `Bun.serve` WebSocket echo, no router, no validation",
        names::WSKIT_REDIS => {
            "two wskit servers on one core, one cluster through Redis, connections alternating between them"
        }
        names::CLIENT_RAW => {
            "raw tokio-tungstenite client: frames written by hand, replies matched by substring"
        }
        names::CLIENT_WSKIT => {
            "wskit's generated client (`BenchClient::echo`; its frames carry a UUID correlationId and a timestamp)"
        }
        _ => "",
    }
}

fn render(runs: &Runs, machine: &str, command: &str) -> String {
    let mut md = String::new();
    let w = &mut md;
    let _ = writeln!(w, "# Benchmarks\n");
    let _ = writeln!(
        w,
        "Written by `bench/run.sh`; do not edit by hand. Every figure is the **median of the runs** \
         listed (each run is a fresh server process, and the servers of a scenario take turns run after \
         run, in the reverse order every other repeat, so that a machine getting busier or quieter \
         shifts them alike); percentiles are the medians of each run's \
         percentile; CPU is the fraction of one core each process used during the measured window, and \
         (preempted) how often per second it lost its core to another process \
         (`nonvoluntary_ctxt_switches`): more than a handful means the machine was not quiet and \
         the figures are pessimistic. The server runs on one core and the load generator (`bench/src/bin/loadgen.rs`, \
         one thread) on the other, both pinned with `taskset`. Latency is measured by the load \
         generator from writing a request to reading its reply (matched by correlationId).\n"
    );
    let _ = writeln!(w, "Command:\n\n```sh\n{command}\n```\n");

    let _ = writeln!(w, "## Targets (ratios of medians measured in this run)\n");
    let _ = writeln!(
        w,
        "`measured` is the ratio of the two servers' medians; `run by run` the lowest and highest \
         of the same ratio within one repeat of the script (whose servers run in turn, so a pair \
         shares the machine's state of that moment): how far this machine moved it.\n"
    );
    let _ = writeln!(
        w,
        "| target | measured | run by run | goal | met |\n|---|---|---|---|---|"
    );
    for t in targets(runs) {
        let goal = match t.goal {
            Goal::AtLeast(g) => format!(">= {g}"),
            Goal::AtMost(g) => format!("<= {g}"),
            Goal::Info(label) => label.to_owned(),
        };
        let met = match (t.goal, t.met()) {
            (Goal::Info(_), _) => "—",
            (_, Some(true)) => "yes",
            (_, Some(false)) => "**no**",
            (_, None) => "not run",
        };
        let spread = t.spread.map_or_else(
            || "—".to_owned(),
            |(lo, hi)| format!("{} – {}", num(Some(lo), 3), num(Some(hi), 3)),
        );
        let _ = writeln!(
            w,
            "| {} | {} | {spread} | {goal} | {met} |",
            t.what,
            num(t.measured, 3)
        );
    }
    let _ = writeln!(w);

    let rpc = [
        (
            names::RPC_SMALL_W1,
            "Small validated rpc (`ECHO`, about 80-byte frames), C=50, W=1",
        ),
        (
            names::RPC_SMALL_W16,
            "Small validated rpc, C=50, W=16 in flight per connection",
        ),
        (names::RPC_16K, "16 KiB rpc, C=50, W=1"),
        (
            names::CLIENT_W1,
            "The client: small rpc through wskit's generated client and through raw frames, against the wskit server, C=50, W=1 (the CPU that matters is the load generator's: it is the client)",
        ),
        (
            names::CLIENT_W16,
            "The client: the same, W=16 in flight per connection",
        ),
    ];
    for (scenario, title) in rpc {
        let servers = runs.servers(scenario);
        if servers.is_empty() {
            continue;
        }
        let _ = writeln!(w, "## {title}\n\nScenario `{scenario}`.\n");
        let _ = writeln!(
            w,
            "| server | msgs/s | p50 ms | p90 ms | p99 ms | max ms | frame bytes | CPU server (preempted) / loadgen (preempted) | runs (msgs/s) |\n|---|---|---|---|---|---|---|---|---|"
        );
        for s in &servers {
            let m = |p| runs.median(scenario, s, p);
            let each: Vec<String> = runs
                .values(scenario, s, "msgs_per_s")
                .into_iter()
                .map(|v| num(Some(v), 0))
                .collect();
            let _ = writeln!(
                w,
                "| `{s}` {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                describe(s),
                num(m("msgs_per_s"), 0),
                ms(m("latency.p50_us")),
                ms(m("latency.p90_us")),
                ms(m("latency.p99_us")),
                ms(m("latency.max_us")),
                num(m("frame_bytes"), 0),
                cpu(runs, scenario, s),
                each.join(" / "),
            );
        }
        let failures: f64 = servers
            .iter()
            .map(|s| {
                runs.values(scenario, s, "errors").iter().sum::<f64>()
                    + runs.values(scenario, s, "unmatched").iter().sum::<f64>()
            })
            .sum();
        if failures > 0.0 {
            let _ = writeln!(w, "\nError or unmatched replies in these runs: {failures}.");
        }
        let _ = writeln!(w);
    }

    let servers = runs.servers(names::FANOUT);
    if !servers.is_empty() {
        let _ = writeln!(
            w,
            "## One publish to 10,000 subscribers\n\nScenario `{}`: 10,000 connections subscribe to one topic; \
             one more connection asks the server (rpc `PUBLISH`) to publish a `NEWS` message, round after \
             round; each round ends when every subscriber has it. Deliveries/s = deliveries / time from \
             the publish request to the last delivery. The load generator reads all 10,000 sockets on \
             one core, so it bounds what can be observed. `{}` is the floor: it encodes the `NEWS` \
             frame once and writes the same bytes straight to each subscriber's socket, one TCP write \
             per subscriber and nothing else, so its deliveries/s is what one write per subscriber \
             allows on this machine (on loopback the kernel's receive-side work for each write runs \
             on the server's core too). The `{} / {}` row of the targets compares wskit with it.\n",
            names::FANOUT,
            names::RAW_PUBSUB,
            names::WSKIT,
            names::RAW_PUBSUB,
        );
        let _ = writeln!(
            w,
            "| server | deliveries/s | round (all delivered) p50 ms | delivery latency p50 ms | p99 ms | matched | CPU server (preempted) / loadgen (preempted) | runs (deliveries/s) |\n|---|---|---|---|---|---|---|---|"
        );
        for s in &servers {
            let m = |p| runs.median(names::FANOUT, s, p);
            let each: Vec<String> = runs
                .values(names::FANOUT, s, "deliveries_per_s")
                .into_iter()
                .map(|v| num(Some(v), 0))
                .collect();
            let _ = writeln!(
                w,
                "| `{s}` {} | {} | {} | {} | {} | {} | {} | {} |",
                describe(s),
                num(m("deliveries_per_s"), 0),
                ms(m("round.p50_us")),
                ms(m("latency.p50_us")),
                ms(m("latency.p99_us")),
                num(m("matched"), 0),
                cpu(runs, names::FANOUT, s),
                each.join(" / "),
            );
        }
        let _ = writeln!(w);
    }

    let servers = runs.servers(names::PUBRATE);
    if !servers.is_empty() {
        let _ = writeln!(
            w,
            "## Publish rate\n\nScenario `{}`: one connection keeps 64 `PUBLISH` rpcs in flight while 200 \
             subscribers (with `{}`: 100 on each node) read; publications acknowledged per second, \
             deliveries per second, the rpc's round trip. Out of order must be 0 (one publisher's order). \
             CPU: the first server only.\n",
            names::PUBRATE,
            names::WSKIT_REDIS,
        );
        let _ = writeln!(
            w,
            "| server | publications/s | deliveries/s | publish p50 ms | p99 ms | out of order | CPU server (preempted) / loadgen (preempted) | runs (publications/s) |\n|---|---|---|---|---|---|---|---|"
        );
        for s in &servers {
            let m = |p| runs.median(names::PUBRATE, s, p);
            let each: Vec<String> = runs
                .values(names::PUBRATE, s, "publications_per_s")
                .into_iter()
                .map(|v| num(Some(v), 0))
                .collect();
            let _ = writeln!(
                w,
                "| `{s}` {} | {} | {} | {} | {} | {} | {} | {} |",
                describe(s),
                num(m("publications_per_s"), 0),
                num(m("deliveries_per_s"), 0),
                ms(m("latency.p50_us")),
                ms(m("latency.p99_us")),
                num(
                    Some(runs.values(names::PUBRATE, s, "out_of_order").iter().sum()),
                    0
                ),
                cpu(runs, names::PUBRATE, s),
                each.join(" / "),
            );
        }
        let _ = writeln!(w);
    }

    let servers = runs.servers(names::IDLE);
    if !servers.is_empty() {
        let _ = writeln!(
            w,
            "## 10,000 idle connections\n\nScenario `{}`: each connection does one rpc and stays open; the \
             server's VmRSS (`/proc/PID/status`) before and after, divided by the connections.\n",
            names::IDLE
        );
        let _ = writeln!(
            w,
            "| server | KiB per connection | RSS before KiB | RSS after KiB | runs (KiB/conn) |\n|---|---|---|---|---|"
        );
        for s in &servers {
            let m = |p| runs.median(names::IDLE, s, p);
            let each: Vec<String> = runs
                .values(names::IDLE, s, "kib_per_conn")
                .into_iter()
                .map(|v| num(Some(v), 2))
                .collect();
            let _ = writeln!(
                w,
                "| `{s}` | {} | {} | {} | {} |",
                num(m("kib_per_conn"), 2),
                num(m("rss_before_kib"), 0),
                num(m("rss_after_kib"), 0),
                each.join(" / "),
            );
        }
        let _ = writeln!(w);
    }

    let _ = writeln!(w, "## Machine\n\n```text\n{}\n```", machine.trim_end());
    md
}
