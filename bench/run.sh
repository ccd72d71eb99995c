#!/usr/bin/env bash
# Runs every benchmark scenario and writes BENCHMARKS.md.
#
#   bash bench/run.sh                 # everything, 5 repeats of 5 s (about 16 minutes)
#   REPEATS=1 DURATION=2 bash bench/run.sh   # a quick look (do not commit its BENCHMARKS.md)
#   SERVERS="echo wskit" SCENARIOS="rpc-small-w1" bash bench/run.sh   # a subset
#
# Builds in release mode; each run starts a fresh server pinned to core $SERVER_CPU (default 0)
# and the load generator pinned to core $LOAD_CPU (default 1). Servers bind 127.0.0.1 only.
# Needs Bun and ws-kit in interop/node_modules (installed with `npm ci` there if missing).
set -euo pipefail
cd "$(dirname "$0")/.."

REPEATS=${REPEATS:-5}
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
# Server and load generator run under this scheduling policy: `other` (default; the normal
# policy, as users run servers) or `fifo` (the main thread of each gets real-time SCHED_FIFO
# priority 1 via chrt, which needs root; --reset-on-fork keeps helper threads at the normal
# policy). `fifo` cuts the noise of other work on a shared machine but is unfair to Bun: its
# garbage-collector and JIT helper threads share the pinned core with a real-time main thread
# that never yields it, and a main thread waiting for them stalls until the kernel's real-time
# throttling (50 ms a second) lets them run: rounds of about a second in the fan-out, maxima of
# hundreds of ms in the rpc runs. The report shows how often each process was preempted.
SCHED=${SCHED:-other}
case $SCHED in
fifo) PRIO=(chrt --reset-on-fork -f 1) ;;
other) PRIO=(chrt -o 0) ;;
*) echo "SCHED must be fifo or other" >&2; exit 1 ;;
esac
# client-raw and client-wskit are load generators, not servers: in the client-* scenarios both
# drive the wskit server, one with raw frames and one through wskit's generated client.
SERVERS=${SERVERS:-"echo echo-batch raw-pubsub wskit wskit-redis ws-kit-bun bun-echo client-raw client-wskit"}
SCENARIOS=${SCENARIOS:-"rpc-small-w1 rpc-small-w16 rpc-16k fanout-10k pubrate-200 idle-10k client-w1 client-w16"}
# The Redis of the wskit-redis cluster (two wskit servers through RedisPubSub).
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
OUT_MD=${OUT_MD:-BENCHMARKS.md}
COMMAND="REPEATS=$REPEATS DURATION=$DURATION SERVER_CPU=$SERVER_CPU LOAD_CPU=$LOAD_CPU SCHED=$SCHED bash bench/run.sh"

TARGET_DIR=${CARGO_TARGET_DIR:-target}
WORK=$TARGET_DIR/bench
mkdir -p "$WORK"
RESULTS=$WORK/results.jsonl
: >"$RESULTS"

# 10,000 connections: one descriptor each on both sides, plus slack.
ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 10100 ]; then
    echo "need at least 10100 open files (ulimit -Hn is $(ulimit -Hn))" >&2
    exit 1
fi

# The machine may be shared: wait (up to $QUIET_WAIT s) for the 1-minute load average to drop.
QUIET_WAIT=${QUIET_WAIT:-0}
for _ in $(seq "$QUIET_WAIT"); do
    awk '{ exit !($1 < 0.5) }' /proc/loadavg && break
    sleep 1
done
echo "== load average before the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

echo "== build (release)"
cargo build --release -p wskit-bench --bins
BIN=$TARGET_DIR/release
BUN=interop/node_modules/@oven/bun-linux-x64/bin/bun
if [ ! -x "$BUN" ]; then
    (cd interop && npm ci --no-audit --no-fund --loglevel=error)
fi

SERVER_PID=
SERVER_PORT=
# wskit-redis: its second node (the load generator's --addr2).
SERVER2_PID=
SERVER2_PORT=

# Servers are started as simple background commands (chrt and taskset exec the server), so $! is
# the server's own PID: the idle scenario reads its memory.

# start_server NAME: starts server NAME pinned to $SERVER_CPU and waits for its "listening on" line.
start_server() {
    local name=$1 log=$WORK/server-$1.log prefix="wskit-bench:$$:$RANDOM:"
    : >"$log" # truncate here, so the wait below never reads the previous run's port
    if [ "$name" = wskit-redis ]; then
        # The second node of the cluster, on the same core (each node announces its port once it
        # is subscribed on the bus).
        local log2=$WORK/server-$name-2.log
        : >"$log2"
        "${PRIO[@]}" taskset -c "$SERVER_CPU" "$BIN/wskit_server" --redis "$REDIS_URL" --prefix "$prefix" >"$log2" 2>&1 &
        SERVER2_PID=$!
        for _ in $(seq 100); do
            SERVER2_PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$log2")
            [ -n "$SERVER2_PORT" ] && break
            sleep 0.1
        done
        if [ -z "$SERVER2_PORT" ]; then
            echo "second node of $name did not start (is Redis at $REDIS_URL?); its log:" >&2
            cat "$log2" >&2
            return 1
        fi
    fi
    case $name in
    echo) "${PRIO[@]}" taskset -c "$SERVER_CPU" "$BIN/echo" >"$log" 2>&1 & ;;
    echo-batch) "${PRIO[@]}" taskset -c "$SERVER_CPU" "$BIN/echo" --batch >"$log" 2>&1 & ;;
    raw-pubsub) "${PRIO[@]}" taskset -c "$SERVER_CPU" "$BIN/raw_pubsub" >"$log" 2>&1 & ;;
    wskit | client-raw | client-wskit) "${PRIO[@]}" taskset -c "$SERVER_CPU" "$BIN/wskit_server" >"$log" 2>&1 & ;;
    wskit-redis) "${PRIO[@]}" taskset -c "$SERVER_CPU" "$BIN/wskit_server" --redis "$REDIS_URL" --prefix "$prefix" >"$log" 2>&1 & ;;
    ws-kit-bun) "${PRIO[@]}" taskset -c "$SERVER_CPU" "$BUN" interop/bench_server.ts >"$log" 2>&1 & ;;
    bun-echo) "${PRIO[@]}" taskset -c "$SERVER_CPU" "$BUN" interop/bun_echo.ts >"$log" 2>&1 & ;;
    *) echo "unknown server $name" >&2; return 1 ;;
    esac
    SERVER_PID=$!
    for _ in $(seq 100); do
        SERVER_PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$log")
        [ -n "$SERVER_PORT" ] && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "server $name did not start; its log:" >&2
    cat "$log" >&2
    return 1
}

stop_server() {
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
    if [ -n "$SERVER2_PID" ]; then
        kill "$SERVER2_PID" 2>/dev/null || true
        wait "$SERVER2_PID" 2>/dev/null || true
    fi
    SERVER2_PID=
    SERVER2_PORT=
}
trap 'for pid in $SERVER_PID $SERVER2_PID; do kill "$pid" 2>/dev/null || true; done' EXIT

# loadgen ARGS...: the load generator pinned to $LOAD_CPU against the running server.
loadgen() {
    "${PRIO[@]}" taskset -c "$LOAD_CPU" "$BIN/loadgen" --addr "127.0.0.1:$SERVER_PORT" \
        ${SERVER2_PORT:+--addr2 "127.0.0.1:$SERVER2_PORT"} "$@"
}

# Which servers speak each scenario (the raw echoes have no pub/sub, raw-pubsub has only pub/sub;
# for memory, one raw echo of each runtime: Rust's and Bun's).
servers_for() {
    case $1 in
    fanout-10k) echo "raw-pubsub wskit wskit-redis ws-kit-bun" ;;
    pubrate-200) echo "wskit wskit-redis" ;;
    idle-10k) echo "echo wskit ws-kit-bun bun-echo" ;;
    client-*) echo "client-raw client-wskit" ;;
    *) echo "echo echo-batch wskit ws-kit-bun" ;;
    esac
}

run_one() {
    local scenario=$1 server=$2 repeat=$3
    local labels=(--server "$server" --scenario "$scenario" --repeat "$repeat" --pid "$SERVER_PID")
    case $scenario in
    rpc-small-w1) loadgen "${labels[@]}" --mode rpc --conns 50 --window 1 --frame-bytes 64 --duration "$DURATION" --warmup "$WARMUP" ;;
    rpc-small-w16) loadgen "${labels[@]}" --mode rpc --conns 50 --window 16 --frame-bytes 64 --duration "$DURATION" --warmup "$WARMUP" ;;
    rpc-16k) loadgen "${labels[@]}" --mode rpc --conns 50 --window 1 --frame-bytes 16384 --duration "$DURATION" --warmup "$WARMUP" ;;
    fanout-10k) loadgen "${labels[@]}" --mode fanout --subs 10000 --rounds 50 --duration "$DURATION" ;;
    pubrate-200) loadgen "${labels[@]}" --mode pubrate --subs 200 --window 64 --duration "$DURATION" --warmup "$WARMUP" ;;
    idle-10k) loadgen "${labels[@]}" --mode idle --conns 10000 --settle 2 ;;
    client-w1) loadgen "${labels[@]}" --mode rpc --client "${server#client-}" --conns 50 --window 1 --frame-bytes 64 --duration "$DURATION" --warmup "$WARMUP" ;;
    client-w16) loadgen "${labels[@]}" --mode rpc --client "${server#client-}" --conns 50 --window 16 --frame-bytes 64 --duration "$DURATION" --warmup "$WARMUP" ;;
    *) echo "unknown scenario $scenario" >&2; return 1 ;;
    esac
}

# The servers of a scenario take turns, run after run (not all runs of one server, then the
# next): a machine that gets busier or quieter during the script shifts every server alike, so
# the ratios stay fair. Every other repeat takes them in the reverse order, so that no server
# always runs right after the same other one (Bun, say) or first after a scenario's start.
for scenario in $SCENARIOS; do
    for repeat in $(seq "$REPEATS"); do
        order=$(servers_for "$scenario")
        if [ $((repeat % 2)) = 0 ]; then
            order=$(echo "$order" | tr ' ' '\n' | tac | tr '\n' ' ')
        fi
        for server in $order; do
            case " $SERVERS " in *" $server "*) ;; *) continue ;; esac
            echo "== $scenario on $server, run $repeat/$REPEATS"
            start_server "$server"
            if line=$(run_one "$scenario" "$server" "$repeat"); then
                echo "$line" | tee -a "$RESULTS"
            else
                echo "   (run failed; see $WORK/server-$server.log)" >&2
            fi
            stop_server
        done
    done
done

MACHINE=$WORK/machine.txt
{
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "code: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':!BENCHMARKS.md' || echo ' with uncommitted changes')"
    echo "kernel: $(uname -srm)"
    echo "rustc: $(rustc --version)"
    echo "bun: $("$BUN" --version); ws-kit: $(node -p "require('./interop/package.json').dependencies['@ws-kit/core']")"
    echo "pinning: server taskset -c $SERVER_CPU, load generator taskset -c $LOAD_CPU, both $SCHED (${PRIO[*]})"
    echo "load average before the runs: $LOAD_BEFORE"
    echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    lscpu | grep -E '^(Architecture|CPU\(s\)|Model name|Thread|Core|Socket|CPU max MHz|CPU MHz|L1d|L2|L3|Hypervisor)'
} >"$MACHINE"

# The sections measured by other scripts are kept as they are: instruction counts
# (bench/instructions.sh, copied in by hand) and compile time (scripts/measure_compile_time.sh).
kept=$WORK/kept-sections.md
: >"$kept"
if [ -f "$OUT_MD" ]; then
    for section in instructions compile-time; do
        text=$(sed -n "/^<!-- $section -->\$/,/^<!-- \/$section -->\$/p" "$OUT_MD")
        if [ -n "$text" ]; then printf '%s\n\n' "$text" >>"$kept"; fi
    done
fi
"$BIN/report" --results "$RESULTS" --machine "$MACHINE" --command "$COMMAND" --out "$OUT_MD"
[ -s "$kept" ] && { echo; sed '$ { /^$/d }' "$kept"; } >>"$OUT_MD"
echo "== wrote $OUT_MD"
