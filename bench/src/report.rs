//! Aggregating the result lines of repeated runs: medians per scenario and server, and the
//! targets of the benchmark as ratios measured in one run of the script.

use serde_json::Value;

use crate::stats::{median, ratio};

/// The result lines of a benchmark run (one JSON object per line, as `loadgen` prints them).
///
/// ```
/// use wskit_bench::report::Runs;
/// let runs = Runs::parse(r#"{"server":"echo","scenario":"s","msgs_per_s":10.0}
/// {"server":"echo","scenario":"s","msgs_per_s":30.0}
/// {"server":"echo","scenario":"s","msgs_per_s":20.0}"#).unwrap();
/// assert_eq!(runs.median("s", "echo", "msgs_per_s"), Some(20.0));
/// ```
#[derive(Debug, Default)]
pub struct Runs {
    lines: Vec<Value>,
}

impl Runs {
    /// Reads one JSON object per non-empty line.
    pub fn parse(text: &str) -> Result<Self, serde_json::Error> {
        let lines = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(serde_json::from_str)
            .collect::<Result<_, _>>()?;
        Ok(Runs { lines })
    }

    /// The runs of one scenario on one server.
    pub fn of<'a>(
        &'a self,
        scenario: &'a str,
        server: &'a str,
    ) -> impl Iterator<Item = &'a Value> + 'a {
        self.lines
            .iter()
            .filter(move |v| v["scenario"] == scenario && v["server"] == server)
    }

    /// The metric at `path` (dot-separated: `latency.p99_us`) of every run of a scenario and server.
    pub fn values(&self, scenario: &str, server: &str, path: &str) -> Vec<f64> {
        self.of(scenario, server)
            .filter_map(|v| metric(v, path))
            .collect()
    }

    /// The lowest and highest, over the repeats of the script, of `value` of `server_a`'s run
    /// over `value` of `server_b`'s run of the same repeat number (each repeat runs every
    /// server once, in turn: a pair shares the machine's state of that moment); with
    /// `server_b` `None`, of `value` of `server_a`'s runs. `None` without such a run.
    ///
    /// ```
    /// use wskit_bench::report::{Runs, metric};
    /// let runs = Runs::parse(r#"{"server":"a","scenario":"s","repeat":1,"x":9.0}
    /// {"server":"b","scenario":"s","repeat":1,"x":10.0}
    /// {"server":"a","scenario":"s","repeat":2,"x":6.0}
    /// {"server":"b","scenario":"s","repeat":2,"x":5.0}"#).unwrap();
    /// let x = |v: &serde_json::Value| metric(v, "x");
    /// assert_eq!(runs.spread("s", "a", Some("b"), x), Some((0.9, 1.2)));
    /// assert_eq!(runs.spread("s", "a", None, x), Some((6.0, 9.0)));
    /// ```
    pub fn spread(
        &self,
        scenario: &str,
        server_a: &str,
        server_b: Option<&str>,
        value: impl Fn(&Value) -> Option<f64>,
    ) -> Option<(f64, f64)> {
        let by_repeat = |server| {
            self.of(scenario, server)
                .filter_map(|v| Some((v["repeat"].as_u64()?, value(v)?)))
                .collect::<Vec<_>>()
        };
        let a = by_repeat(server_a);
        let Some(server_b) = server_b else {
            return range(a.into_iter().map(|(_, v)| v));
        };
        let b = by_repeat(server_b);
        range(a.into_iter().filter_map(|(repeat, a)| {
            let (_, b) = b.iter().find(|(r, _)| *r == repeat)?;
            ratio(Some(a), Some(*b))
        }))
    }

    /// The median over runs of the metric at `path`.
    pub fn median(&self, scenario: &str, server: &str, path: &str) -> Option<f64> {
        median(&self.values(scenario, server, path))
    }

    /// Servers that ran `scenario`, in first-seen order.
    pub fn servers(&self, scenario: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for v in self.lines.iter().filter(|v| v["scenario"] == scenario) {
            if let Some(s) = v["server"].as_str()
                && !out.iter().any(|o| o == s)
            {
                out.push(s.to_owned());
            }
        }
        out
    }
}

/// The number at a dot-separated `path` in a JSON value.
///
/// ```
/// let v = serde_json::json!({"latency": {"p99_us": 12.5}});
/// assert_eq!(wskit_bench::report::metric(&v, "latency.p99_us"), Some(12.5));
/// assert_eq!(wskit_bench::report::metric(&v, "latency.p50_us"), None);
/// ```
pub fn metric(value: &Value, path: &str) -> Option<f64> {
    path.split('.')
        .try_fold(value, |v, key| v.get(key))?
        .as_f64()
}

/// The lowest and highest of `values`; `None` when there are none.
fn range(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values.fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((v.min(lo), v.max(hi))),
    })
}

/// How a measured value is compared with its goal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Goal {
    /// The value must be at least this.
    AtLeast(f64),
    /// The value must be at most this.
    AtMost(f64),
    /// No goal: the row is shown for information (a comparison with a floor, say), under this
    /// label in the goal column, and is never met or missed.
    Info(&'static str),
}

/// One target of the benchmark and what was measured for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// What is compared (`wskit / raw echo (batched), W=16 msgs/s`).
    pub what: String,
    /// The measured ratio or value; `None` when a run is missing.
    pub measured: Option<f64>,
    /// The lowest and highest of the same ratio (or value) run by run: the ratio within each
    /// repeat of the script, whose servers ran in turn. How much the machine moved it.
    pub spread: Option<(f64, f64)>,
    /// The goal.
    pub goal: Goal,
}

impl Target {
    /// Whether the goal is met; `None` when nothing was measured or the row is informational.
    ///
    /// ```
    /// use wskit_bench::report::{Goal, Target};
    /// let t = Target { what: "x".into(), measured: Some(0.6), spread: None, goal: Goal::AtLeast(0.5) };
    /// assert_eq!(t.met(), Some(true));
    /// let info = Target { what: "y".into(), measured: Some(0.6), spread: None, goal: Goal::Info("(floor)") };
    /// assert_eq!(info.met(), None);
    /// ```
    pub fn met(&self) -> Option<bool> {
        let m = self.measured?;
        match self.goal {
            Goal::AtLeast(g) => Some(m >= g),
            Goal::AtMost(g) => Some(m <= g),
            Goal::Info(_) => None,
        }
    }
}

/// Names of the servers and scenarios as `bench/run.sh` labels them.
pub mod names {
    /// Raw tokio-tungstenite echo, one flush per reply.
    pub const ECHO: &str = "echo";
    /// Raw tokio-tungstenite echo, feeding every reply then flushing once.
    pub const ECHO_BATCH: &str = "echo-batch";
    /// Raw tokio-tungstenite pub/sub: the frame encoded once, one direct write per subscriber.
    pub const RAW_PUBSUB: &str = "raw-pubsub";
    /// The wskit bench server.
    pub const WSKIT: &str = "wskit";
    /// ws-kit on Bun.
    pub const WS_KIT_BUN: &str = "ws-kit-bun";
    /// A raw `Bun.serve` WebSocket echo (the idle baseline of Bun itself).
    pub const BUN_ECHO: &str = "bun-echo";
    /// Two wskit bench servers, one cluster through Redis (`RedisPubSub`); the load generator
    /// spreads its connections over both.
    pub const WSKIT_REDIS: &str = "wskit-redis";
    /// Small validated rpc, C=50 W=1.
    pub const RPC_SMALL_W1: &str = "rpc-small-w1";
    /// Small validated rpc, C=50 W=16.
    pub const RPC_SMALL_W16: &str = "rpc-small-w16";
    /// 16 KiB rpc.
    pub const RPC_16K: &str = "rpc-16k";
    /// One publish to 10,000 subscribers.
    pub const FANOUT: &str = "fanout-10k";
    /// 10,000 idle connections.
    pub const IDLE: &str = "idle-10k";
    /// Publications per second: one publisher, 200 subscribers.
    pub const PUBRATE: &str = "pubrate-200";
    /// The load generator's raw client against the wskit server (client scenarios).
    pub const CLIENT_RAW: &str = "client-raw";
    /// wskit's generated client against the wskit server (client scenarios).
    pub const CLIENT_WSKIT: &str = "client-wskit";
    /// Client scenario: small rpc, C=50 W=1.
    pub const CLIENT_W1: &str = "client-w1";
    /// Client scenario: small rpc, C=50 W=16.
    pub const CLIENT_W16: &str = "client-w16";
}

/// The issue's targets, computed from the medians of `runs`, then informational rows
/// ([`Goal::Info`]).
pub fn targets(runs: &Runs) -> Vec<Target> {
    use names::*;
    let m = |scenario, server, path| runs.median(scenario, server, path);
    let at = |path: &'static str| move |v: &Value| metric(v, path);
    // Server CPU per reply (core-seconds per message), of one run.
    let cpu_per_msg = |v: &Value| ratio(metric(v, "cpu.server"), metric(v, "msgs_per_s"));
    let median_cpu_per_msg = |scenario, server| {
        ratio(
            m(scenario, server, "cpu.server"),
            m(scenario, server, "msgs_per_s"),
        )
    };
    // `path` of `a` over `path` of `b`: the ratio of the medians, and its spread run by run.
    let compare = |what: String, scenario, a, b, path: &'static str, goal| Target {
        what,
        measured: ratio(m(scenario, a, path), m(scenario, b, path)),
        spread: runs.spread(scenario, a, Some(b), at(path)),
        goal,
    };
    let value = |what: String, scenario, server, path: &'static str, goal| Target {
        what,
        measured: m(scenario, server, path),
        spread: runs.spread(scenario, server, None, at(path)),
        goal,
    };
    vec![
        compare(
            format!("{RPC_SMALL_W16}: {WSKIT} / {ECHO_BATCH} msgs/s"),
            RPC_SMALL_W16,
            WSKIT,
            ECHO_BATCH,
            "msgs_per_s",
            Goal::AtLeast(0.9),
        ),
        compare(
            format!("{RPC_SMALL_W16}: {WSKIT} p99 / {ECHO_BATCH} p99"),
            RPC_SMALL_W16,
            WSKIT,
            ECHO_BATCH,
            "latency.p99_us",
            Goal::AtMost(1.5),
        ),
        compare(
            format!("{RPC_SMALL_W1}: {WSKIT} / {ECHO} msgs/s"),
            RPC_SMALL_W1,
            WSKIT,
            ECHO,
            "msgs_per_s",
            Goal::AtLeast(0.95),
        ),
        Target {
            what: format!("{RPC_16K}: {WSKIT} / {ECHO} server CPU per request"),
            measured: ratio(
                median_cpu_per_msg(RPC_16K, WSKIT),
                median_cpu_per_msg(RPC_16K, ECHO),
            ),
            spread: runs.spread(RPC_16K, WSKIT, Some(ECHO), cpu_per_msg),
            goal: Goal::AtMost(1.3),
        },
        compare(
            format!("{FANOUT}: {WSKIT} / {RAW_PUBSUB} deliveries/s"),
            FANOUT,
            WSKIT,
            RAW_PUBSUB,
            "deliveries_per_s",
            Goal::AtLeast(0.95),
        ),
        value(
            format!("{IDLE}: {WSKIT} KiB per connection"),
            IDLE,
            WSKIT,
            "kib_per_conn",
            Goal::AtMost(2.0),
        ),
        compare(
            format!("{CLIENT_W16}: {CLIENT_WSKIT} / {CLIENT_RAW} msgs/s"),
            CLIENT_W16,
            CLIENT_WSKIT,
            CLIENT_RAW,
            "msgs_per_s",
            Goal::AtLeast(0.8),
        ),
        compare(
            format!("{CLIENT_W1}: {CLIENT_WSKIT} / {CLIENT_RAW} msgs/s"),
            CLIENT_W1,
            CLIENT_WSKIT,
            CLIENT_RAW,
            "msgs_per_s",
            Goal::Info("(W=1)"),
        ),
        compare(
            format!("{RPC_SMALL_W16}: {WSKIT} / {WS_KIT_BUN} msgs/s"),
            RPC_SMALL_W16,
            WSKIT,
            WS_KIT_BUN,
            "msgs_per_s",
            Goal::Info("(ws-kit on Bun)"),
        ),
        compare(
            format!("{FANOUT}: {WSKIT} / {WS_KIT_BUN} deliveries/s"),
            FANOUT,
            WSKIT,
            WS_KIT_BUN,
            "deliveries_per_s",
            Goal::Info("(ws-kit on Bun)"),
        ),
        value(
            format!("{IDLE}: {WS_KIT_BUN} KiB per connection"),
            IDLE,
            WS_KIT_BUN,
            "kib_per_conn",
            Goal::Info("(ws-kit on Bun)"),
        ),
        value(
            format!("{IDLE}: {BUN_ECHO} KiB per connection"),
            IDLE,
            BUN_ECHO,
            "kib_per_conn",
            Goal::Info("(raw Bun.serve echo)"),
        ),
        value(
            format!("{IDLE}: {ECHO} KiB per connection"),
            IDLE,
            ECHO,
            "kib_per_conn",
            Goal::Info("(raw tokio-tungstenite echo)"),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(server: &str, scenario: &str, rate: f64, p99: f64) -> String {
        serde_json::json!({"server": server, "scenario": scenario, "msgs_per_s": rate, "latency": {"p99_us": p99}})
            .to_string()
    }

    #[test]
    fn medians_are_taken_per_scenario_and_server() {
        let text = [
            line("a", "s", 1.0, 10.0),
            line("a", "s", 3.0, 30.0),
            line("a", "s", 2.0, 20.0),
            line("b", "s", 100.0, 1.0),
            line("a", "t", 50.0, 5.0),
        ]
        .join("\n");
        let runs = Runs::parse(&text).unwrap();
        assert_eq!(runs.median("s", "a", "msgs_per_s"), Some(2.0));
        assert_eq!(runs.median("s", "a", "latency.p99_us"), Some(20.0));
        assert_eq!(runs.median("s", "b", "msgs_per_s"), Some(100.0));
        assert_eq!(runs.median("s", "c", "msgs_per_s"), None);
        assert_eq!(runs.servers("s"), vec!["a", "b"]);
    }

    #[test]
    fn a_malformed_line_is_an_error() {
        assert!(Runs::parse("{\"a\":1}\nnot json").is_err());
    }

    #[test]
    fn targets_compare_medians_and_report_missing_runs() {
        use names::*;
        let text = [
            line(WSKIT, RPC_SMALL_W16, 950.0, 10.0),
            line(ECHO_BATCH, RPC_SMALL_W16, 1000.0, 5.0),
            line(WS_KIT_BUN, RPC_SMALL_W16, 50.0, 200.0),
        ]
        .join("\n");
        let t = targets(&Runs::parse(&text).unwrap());
        let find = |what: String| t.iter().find(|t| t.what == what).unwrap();
        let w16 = find(format!("{RPC_SMALL_W16}: {WSKIT} / {ECHO_BATCH} msgs/s"));
        assert_eq!(w16.measured, Some(0.95));
        assert_eq!(w16.met(), Some(true));
        let p99 = find(format!("{RPC_SMALL_W16}: {WSKIT} p99 / {ECHO_BATCH} p99"));
        assert_eq!(p99.measured, Some(2.0));
        assert_eq!(p99.met(), Some(false));
        let bun = find(format!("{RPC_SMALL_W16}: {WSKIT} / {WS_KIT_BUN} msgs/s"));
        assert_eq!(bun.measured, Some(19.0));
        assert_eq!(bun.met(), None);
        // No W=1 runs: nothing measured, nothing claimed.
        let w1 = find(format!("{RPC_SMALL_W1}: {WSKIT} / {ECHO} msgs/s"));
        assert_eq!(w1.measured, None);
        assert_eq!(w1.met(), None);
    }

    #[test]
    fn cpu_per_request_and_client_ratios() {
        use names::*;
        let run = |scenario: &str, server: &str, rate: f64, cpu: f64| {
            serde_json::json!({"server": server, "scenario": scenario, "msgs_per_s": rate, "cpu": {"server": cpu}})
                .to_string()
        };
        let text = [
            run(RPC_16K, WSKIT, 50_000.0, 0.9),
            run(RPC_16K, ECHO, 45_000.0, 0.54),
            run(CLIENT_W16, CLIENT_WSKIT, 70_000.0, 0.5),
            run(CLIENT_W16, CLIENT_RAW, 100_000.0, 0.5),
        ]
        .join("\n");
        let t = targets(&Runs::parse(&text).unwrap());
        let find = |what: String| t.iter().find(|t| t.what == what).unwrap();
        let cpu = find(format!(
            "{RPC_16K}: {WSKIT} / {ECHO} server CPU per request"
        ));
        // (0.9 / 50,000) / (0.54 / 45,000) = 1.5
        assert!((cpu.measured.unwrap() - 1.5).abs() < 1e-9);
        assert_eq!(cpu.met(), Some(false));
        let client = find(format!(
            "{CLIENT_W16}: {CLIENT_WSKIT} / {CLIENT_RAW} msgs/s"
        ));
        assert_eq!(client.measured, Some(0.7));
        assert_eq!(client.met(), Some(false));
    }

    #[test]
    fn fanout_floor_is_the_target_and_bun_is_information() {
        use names::*;
        let fanout = |server: &str, rate: f64| {
            serde_json::json!({"server": server, "scenario": FANOUT, "deliveries_per_s": rate})
                .to_string()
        };
        let text = [
            fanout(RAW_PUBSUB, 400_000.0),
            fanout(WSKIT, 380_000.0),
            fanout(WS_KIT_BUN, 200_000.0),
        ]
        .join("\n");
        let t = targets(&Runs::parse(&text).unwrap());
        let floor = t
            .iter()
            .find(|t| t.what == format!("{FANOUT}: {WSKIT} / {RAW_PUBSUB} deliveries/s"))
            .unwrap();
        assert_eq!(floor.measured, Some(0.95));
        assert_eq!(floor.met(), Some(true));
        let bun = t
            .iter()
            .find(|t| t.what == format!("{FANOUT}: {WSKIT} / {WS_KIT_BUN} deliveries/s"))
            .unwrap();
        assert_eq!(bun.measured, Some(1.9));
        assert_eq!(bun.met(), None);
    }

    #[test]
    fn targets_show_the_ratio_run_by_run() {
        use names::*;
        let run = |server: &str, repeat: u64, rate: f64| {
            serde_json::json!({"server": server, "scenario": RPC_SMALL_W16, "repeat": repeat, "msgs_per_s": rate})
                .to_string()
        };
        let text = [
            run(ECHO_BATCH, 1, 100.0),
            run(WSKIT, 1, 80.0),
            run(ECHO_BATCH, 2, 50.0),
            run(WSKIT, 2, 50.0),
            run(ECHO_BATCH, 3, 100.0),
            run(WSKIT, 3, 90.0),
            // A run without its pair counts in the median only.
            run(WSKIT, 4, 10.0),
        ]
        .join("\n");
        let t = targets(&Runs::parse(&text).unwrap());
        let w16 = &t[0];
        assert_eq!(
            w16.what,
            format!("{RPC_SMALL_W16}: {WSKIT} / {ECHO_BATCH} msgs/s")
        );
        assert_eq!(w16.measured, Some(0.65)); // medians 65 / 100
        assert_eq!(w16.spread, Some((0.8, 1.0)));
        assert_eq!(t[2].spread, None, "no W=1 runs");
    }

    #[test]
    fn at_most_goal_fails_above_the_bound() {
        let t = Target {
            what: "idle".into(),
            measured: Some(9.5),
            spread: None,
            goal: Goal::AtMost(8.0),
        };
        assert_eq!(t.met(), Some(false));
    }
}
