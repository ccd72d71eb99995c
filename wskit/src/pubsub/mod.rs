//! Pub/sub topics (PROTOCOL.md section 6): the backend trait, the topic rules and the in-memory
//! backend.
//!
//! A publication is encoded once into a wire frame ([`Publication::frame`]); every subscriber's
//! outbound queue receives a cheap clone of the same bytes. The server checks topic names and the
//! per-connection topic limit before it reaches the backend, so a backend only stores and delivers.
//!
//! ```
//! use wskit::pubsub::check_topic;
//! assert!(check_topic("room:general/1").is_ok());
//! assert!(check_topic("").is_err());
//! assert!(check_topic("has space").is_err());
//! ```

mod backend;
mod memory;

#[cfg(any(feature = "redis", feature = "nats"))]
mod bus_stats;
#[cfg(any(feature = "redis", feature = "nats"))]
mod envelope;
#[cfg(feature = "nats")]
mod nats;
#[cfg(feature = "redis")]
mod redis;

pub use backend::{
    BusEvent, BusEvents, ClientId, ClusterCount, DEFAULT_MAX_TOPICS_PER_CONNECTION, Frame,
    FrameSink, MAX_TOPIC_LEN, Matched, PubSub, PubSubError, Publication, Subscriber, check_topic,
};
#[cfg(any(feature = "redis", feature = "nats"))]
pub use bus_stats::BusStats;
pub use memory::MemoryPubSub;
#[cfg(feature = "nats")]
pub use nats::NatsPubSub;
#[cfg(feature = "redis")]
pub use redis::RedisPubSub;
