//! wskit's load generator and baselines.
//!
//! The binaries are `loadgen` (drives any server that speaks the bench protocol of [`frames`]),
//! `echo` (raw tokio-tungstenite echo servers, the transport's ceiling), `raw_pubsub` (the
//! fan-out floor: one direct socket write per subscriber), `wskit_server` (the same protocol on
//! wskit, declared in [`protocol`]) and `report` (turns the runs of `bench/run.sh` into `BENCHMARKS.md`). The ws-kit peer
//! on Bun is `interop/bench_server.ts`.

pub mod args;
pub mod frames;
pub mod proc_status;
pub mod protocol;
pub mod report;
pub mod stats;
pub mod transport;
