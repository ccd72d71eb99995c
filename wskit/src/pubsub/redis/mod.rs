//! The Redis backend (feature `redis`): many servers as one, on ws-kit's bus
//! (PROTOCOL.md section 6, "Across servers").
//!
//! `backend.rs` holds [`RedisPubSub`] (the options and the [`PubSub`](super::PubSub) impl),
//! `node.rs` what the node's tasks share; `publisher.rs` the task
//! that PUBLISHes, in order and pipelined;
//! `subscriber.rs` the task that holds the node's `PSUBSCRIBE <prefix>*` connection, reconnects
//! it and delivers; `control.rs` the node-to-node messages.

mod backend;
mod control;
mod node;
mod publisher;
mod subscriber;

pub use backend::RedisPubSub;
