#!/usr/bin/env bash
# Compile-time cost of protocol!: `cargo build` (dev profile) of a crate with a 100-message,
# 30-rpc protocol beside an empty crate, both depending on wskit, measured in the same run.
#
#   bash scripts/measure_compile_time.sh [RUNS]      (default 3; prints the median)
#
# Dependencies (wskit and everything below it) are built once first; each measured run rebuilds
# only the final crate from scratch (its source touched, incremental compilation off).
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
out=target/compile-time
python3 scripts/gen_big_protocol.py "$out" >/dev/null
export CARGO_TARGET_DIR="$out/target" CARGO_INCREMENTAL=0
manifest="$out/Cargo.toml"

cargo build --quiet --offline --manifest-path "$manifest" -p empty -p big

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

time_crate() { # crate -> seconds of one clean build of just that crate
    touch "$out/$1/src/lib.rs"
    local start end
    start=$(date +%s.%N)
    cargo build --quiet --offline --manifest-path "$manifest" -p "$1"
    end=$(date +%s.%N)
    printf '%.2f\n' "$(echo "$end - $start" | bc)"
}

declare -a empty big
for ((i = 0; i < runs; i++)); do
    empty+=("$(time_crate empty)")
    big+=("$(time_crate big)")
done
empty_median=$(printf '%s\n' "${empty[@]}" | median)
big_median=$(printf '%s\n' "${big[@]}" | median)
echo "runs: $runs (cargo build, dev profile, $(rustc --version))"
echo "empty crate:                       ${empty[*]} s -> median ${empty_median} s"
echo "protocol of 100 messages, 30 rpcs: ${big[*]} s -> median ${big_median} s"
