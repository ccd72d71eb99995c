#!/usr/bin/env bash
# User-space instructions per request of each rpc server, counted by valgrind's callgrind.
#
#   bash bench/instructions.sh                 # echo, echo-batch, wskit; 64-byte rpc, C=50, W=16
#   SERVERS="wskit" WINDOW=1 bash bench/instructions.sh
#   SERVERS="echo wskit" WINDOW=1 FRAME_BYTES=16384 bash bench/instructions.sh   # the 16 KiB rpc
#   CLIENTS="raw wskit" bash bench/instructions.sh   # the load generator's clients instead, each
#                                                    # against a release wskit server
#
# Unlike the throughput figures of bench/run.sh, an instruction count does not move with the
# machine's load: the same binary and input give the same count, so it shows what a code change
# costs or saves. It counts only the server's own code and libraries (not the kernel, where most
# of the time goes), and the whole process: start-up and the 50 connections' handshakes are
# included, spread over the requests (under 1% at these counts). Needs valgrind.
set -euo pipefail
cd "$(dirname "$0")/.."

SERVERS=${SERVERS:-"echo echo-batch wskit"}
WINDOW=${WINDOW:-16}
FRAME_BYTES=${FRAME_BYTES:-64}
DURATION=${DURATION:-8}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
BIN=$TARGET_DIR/release
WORK=$TARGET_DIR/bench
mkdir -p "$WORK"

command -v valgrind >/dev/null || { echo "needs valgrind" >&2; exit 1; }
cargo build --release -p wskit-bench --bins

# port_of NAME LOG: waits for the "listening on" line of process NAME in LOG; prints its port.
port_of() {
    local port=
    for _ in $(seq 100); do
        port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$2")
        [ -n "$port" ] && { echo "$port"; return 0; }
        sleep 0.2
    done
    echo "$1 did not start:" >&2
    cat "$2" >&2
    return 1
}

# row NAME RESULT OUT: the table row of NAME from the load generator's RESULT line and the
# counts callgrind wrote to OUT.
row() {
    local sent total
    sent=$(echo "$2" | sed -n 's/.*"sent":\([0-9]*\).*/\1/p')
    total=$(callgrind_annotate "$3" 2>/dev/null | sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d ,)
    printf '| `%s` | %s | %s | %s |\n' "$1" "$sent" "$total" "$((total / sent))"
}

if [ -n "${CLIENTS:-}" ]; then
    echo "| client | requests | instructions | instructions per request |"
    echo "|---|---|---|---|"
    for client in $CLIENTS; do
        log=$WORK/callgrind-server-for-$client.log out=$WORK/callgrind-client-$client.out
        : >"$log"
        taskset -c 0 "$BIN/wskit_server" >"$log" 2>&1 &
        pid=$!
        port=$(port_of wskit_server "$log")
        result=$(taskset -c 1 valgrind --tool=callgrind --callgrind-out-file="$out" \
            "$BIN/loadgen" --addr "127.0.0.1:$port" --mode rpc --client "$client" --conns 50 \
            --window "$WINDOW" --frame-bytes "$FRAME_BYTES" --duration "$DURATION" --warmup 0 2>/dev/null)
        kill -INT "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        row "$client" "$result" "$out"
    done
    exit 0
fi

echo "| server | requests | instructions | instructions per request |"
echo "|---|---|---|---|"
for server in $SERVERS; do
    case $server in
    echo) cmd=("$BIN/echo") ;;
    echo-batch) cmd=("$BIN/echo" --batch) ;;
    wskit) cmd=("$BIN/wskit_server") ;;
    *) echo "unknown server $server" >&2; exit 1 ;;
    esac
    out=$WORK/callgrind-$server.out log=$WORK/callgrind-$server.log
    : >"$log"
    taskset -c 0 valgrind --tool=callgrind --callgrind-out-file="$out" "${cmd[@]}" >"$log" 2>&1 &
    pid=$!
    port=$(port_of "$server" "$log")
    result=$(taskset -c 1 "$BIN/loadgen" --addr "127.0.0.1:$port" --mode rpc --conns 50 \
        --window "$WINDOW" --frame-bytes "$FRAME_BYTES" --duration "$DURATION" --warmup 0)
    # The wskit server stops on SIGINT; the raw echo servers on SIGTERM. Either way callgrind
    # writes its counts as the process exits.
    kill -INT "$pid" 2>/dev/null || true
    sleep 1
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    row "$server" "$result" "$out"
done
