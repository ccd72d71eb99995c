#!/usr/bin/env bash
# Soak test (not part of `cargo test`): mixed load on the chat example, then quiet, with the
# server's RSS and open fds every 10 s (bench/src/bin/soak.rs says what the load is).
#
#   bash bench/soak.sh                       # 10 minutes of load, 1 minute quiet
#   SECS=60 QUIET_SECS=30 bash bench/soak.sh # a short run
#   CYCLES=2 bash bench/soak.sh              # load and quiet twice (retention or leak?)
set -euo pipefail
cd "$(dirname "$0")/.."

SECS=${SECS:-600}
QUIET_SECS=${QUIET_SECS:-60}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
cargo build --release -p wskit-examples --example chat
cargo build --release -p wskit-bench --bin soak

# Churn opens many connections: the load generator needs the fds (the server too).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
log=$(mktemp)
WSKIT_ADDR=127.0.0.1:0 RUST_LOG=warn "$TARGET_DIR/release/examples/chat" >"$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 100); do
    addr=$(sed -n 's|^chat server on ws://\([0-9.:]*\).*|\1|p' "$log")
    [ -n "$addr" ] && break
    sleep 0.1
done
[ -n "$addr" ] || { cat "$log"; echo "the chat server did not start" >&2; exit 1; }
echo "chat server pid $server on $addr; ${SECS}s of load, then ${QUIET_SECS}s quiet"
"$TARGET_DIR/release/soak" --addr "$addr" --pid "$server" --secs "$SECS" --quiet-secs "$QUIET_SECS" \
    ${CHURN:+--churn "$CHURN"} ${STEADY:+--steady "$STEADY"} ${CYCLES:+--cycles "$CYCLES"}
kill -0 $server 2>/dev/null && echo "the server is still running" || { echo "the server died" >&2; exit 1; }
echo "server warnings during the run: $(grep -c WARN "$log" || true)"
