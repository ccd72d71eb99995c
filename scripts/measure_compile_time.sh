#!/usr/bin/env bash
# Compile-time cost of protocol!: `cargo build` (dev profile) of a crate with a 100-message,
# 30-rpc protocol, beside the same protocol written by hand (serde derives, a handler trait and a
# dispatch function) and an empty crate, all depending on wskit (default features), and the
# protocol again with wskit's `server` feature only (no typed client, which the hand-written
# crate lacks too) and with no feature (no handler trait, service or client), measured in the
# same run. Then, since both leave their generic dispatch to be compiled where it is used, a
# crate of each that implements the handler trait and instantiates the dispatch (as a server
# crate does): the protocol crate plus its handler crate is what a user's build pays.
# scripts/gen_big_protocol.py writes the crates.
#
#   bash scripts/measure_compile_time.sh [RUNS]      (default 3; RUNS env var too; prints the medians)
#   WRITE_MD=0 bash scripts/measure_compile_time.sh  (print only; by default the figures also
#                                                     become BENCHMARKS.md's compile-time section,
#                                                     which bench/run.sh keeps)
#
# Dependencies (wskit and everything below it) are built once first; each measured run rebuilds
# only the final crate from scratch (its source touched, incremental compilation off). Runs of the
# crates alternate, so all see the same machine load. CPU time (user + system) is the figure:
# steadier than the wall clock on a machine other builds share; the load average is printed with
# it, before and after the runs.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-${RUNS:-3}}"
out=target/compile-time
python3 scripts/gen_big_protocol.py "$out" >/dev/null
export CARGO_TARGET_DIR="$out/target" CARGO_INCREMENTAL=0
manifest="$out/Cargo.toml"
crates=(big big_server big_bare hand empty big_served hand_served)

# One crate at a time, as measured: together they would unify wskit's features (big_server
# asks for `server` only).
for c in "${crates[@]}"; do
    cargo build --quiet --offline --manifest-path "$manifest" -p "$c"
done

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

time_crate() { # crate -> "wall cpu" seconds of one clean build of just that crate
    touch "$out/$1/src/lib.rs"
    local TIMEFORMAT='%R %U %S' t
    t=$({ time cargo build --quiet --offline --manifest-path "$manifest" -p "$1" >/dev/null 2>&1; } 2>&1)
    awk '{ printf "%.2f %.2f\n", $1, $2 + $3 }' <<<"$t"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A wall cpu
for ((i = 0; i < runs; i++)); do
    for c in "${crates[@]}"; do
        read -r w u < <(time_crate "$c")
        wall[$c]+="$w " cpu[$c]+="$u "
    done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
m() { printf '%s\n' $1 | median; }
summary() {
echo "runs: $runs (cargo build, dev profile, $(rustc --version), $(nproc) cores," \
    "load average $load_before before, $load_after after)"
declare -A label=(
    [big]="protocol! (100 messages, 30 rpcs):"
    [big_server]="protocol!, wskit without client:"
    [big_bare]="protocol!, no server, no client:"
    [hand]="the same written by hand:"
    [empty]="empty crate:"
    [big_served]="a handler of protocol!'s:"
    [hand_served]="a handler of the hand-written:"
)
for c in "${crates[@]}"; do
    printf '%-36s wall %s s (median %s s), cpu %s s (median %s s)\n' \
        "${label[$c]}" "${wall[$c]% }" "$(m "${wall[$c]}")" "${cpu[$c]% }" "$(m "${cpu[$c]}")"
done
awk -v b="$(m "${cpu[big]}")" -v s="$(m "${cpu[big_server]}")" -v n="$(m "${cpu[big_bare]}")" \
    -v h="$(m "${cpu[hand]}")" -v bs="$(m "${cpu[big_served]}")" -v hs="$(m "${cpu[hand_served]}")" 'BEGIN {
        printf "CPU medians / the hand-written crate: protocol! %.2fx, without client %.2fx, bare %.2fx\n",
            b / h, s / h, n / h
        printf "the handler crates: protocol!'"'"'s / the hand-written'"'"'s %.2fx\n", bs / hs
        printf "protocol crate + handler crate: protocol! %.2f s, by hand %.2f s: %.2fx\n",
            b + bs, h + hs, (b + bs) / (h + hs) }'
}
summary | tee "$out/summary.txt"

[ "${WRITE_MD:-1}" = 1 ] || exit 0
# The record: BENCHMARKS.md's section between the compile-time markers, replaced (or appended).
python3 - "$out/summary.txt" "$runs" <<'PY'
import sys, datetime, pathlib
summary, runs = pathlib.Path(sys.argv[1]).read_text(), sys.argv[2]
start, end = "<!-- compile-time -->", "<!-- /compile-time -->"
when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
block = f"""{start}
## Compile time: `protocol!` against the same protocol written by hand

Written by `scripts/measure_compile_time.sh` ({when}; `bench/run.sh` keeps this section as it
is). Command: `bash scripts/measure_compile_time.sh {runs}`. A generated 100-message, 30-rpc
protocol (`scripts/gen_big_protocol.py`) beside the same structs written by hand with serde
derives, a hand-written handler trait and dispatch, and an empty crate; then a crate of each
that implements the handler and so compiles the dispatch. CPU time (user + system) of a clean
`cargo build` (dev profile, incremental off) of just that crate, medians of {runs} runs taken in
turns. Differences under about 0.15x are within this machine's noise.

```text
{summary.rstrip()}
```
{end}
"""
md = pathlib.Path("BENCHMARKS.md")
text = md.read_text() if md.exists() else ""
if start in text and end in text:
    text = text[:text.index(start)] + block.rstrip("\n") + text[text.index(end) + len(end):]
else:
    text = text.rstrip("\n") + "\n\n" + block
md.write_text(text)
print("== wrote the compile-time section of BENCHMARKS.md")
PY
