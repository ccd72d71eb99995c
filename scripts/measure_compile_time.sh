#!/usr/bin/env bash
# Compile-time cost of protocol!: `cargo build` (dev profile) of a crate with a 100-message,
# 30-rpc protocol beside an empty crate, both depending on wskit, measured in the same run.
#
#   bash scripts/measure_compile_time.sh [RUNS]      (default 3; prints the medians)
#
# Dependencies (wskit and everything below it) are built once first; each measured run rebuilds
# only the final crate from scratch (its source touched, incremental compilation off). Runs of the
# two crates alternate, so both see the same machine load. Wall-clock time is what a developer
# waits; CPU time (user + system) is steadier on a busy machine.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
out=target/compile-time
python3 scripts/gen_big_protocol.py "$out" >/dev/null
export CARGO_TARGET_DIR="$out/target" CARGO_INCREMENTAL=0
manifest="$out/Cargo.toml"

cargo build --quiet --offline --manifest-path "$manifest" -p empty -p big

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

time_crate() { # crate -> "wall cpu" seconds of one clean build of just that crate
    touch "$out/$1/src/lib.rs"
    local TIMEFORMAT='%R %U %S' t
    t=$({ time cargo build --quiet --offline --manifest-path "$manifest" -p "$1" >/dev/null 2>&1; } 2>&1)
    awk '{ printf "%.2f %.2f\n", $1, $2 + $3 }' <<<"$t"
}

declare -a empty_wall empty_cpu big_wall big_cpu
for ((i = 0; i < runs; i++)); do
    read -r w c < <(time_crate empty)
    empty_wall+=("$w") empty_cpu+=("$c")
    read -r w c < <(time_crate big)
    big_wall+=("$w") big_cpu+=("$c")
done
m() { printf '%s\n' "$@" | median; }
echo "runs: $runs (cargo build, dev profile, $(rustc --version), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
printf '%-36s wall %s s (median %s s), cpu %s s (median %s s)\n' \
    "empty crate:" "${empty_wall[*]}" "$(m "${empty_wall[@]}")" "${empty_cpu[*]}" "$(m "${empty_cpu[@]}")"
printf '%-36s wall %s s (median %s s), cpu %s s (median %s s)\n' \
    "protocol of 100 messages, 30 rpcs:" "${big_wall[*]}" "$(m "${big_wall[@]}")" "${big_cpu[*]}" "$(m "${big_cpu[@]}")"
