//! The bench protocol as a `protocol!` block: served by `wskit_server`, called by the load
//! generator's wskit client (`loadgen --client wskit`). Its frames are those of [`crate::frames`].

wskit::protocol! {
    /// The benchmark protocol.
    pub protocol Bench {
        /// The small (and 16 KiB) validated rpc: answered with its text and number.
        rpc Echo(#[validate(length(min = 1, max = 65536))] text: String, n: i64) -> EchoReply { text: String, n: i64 }
        /// Subscribes the connection to a topic.
        rpc Subscribe(topic: String) -> Subscribed { topic: String }
        /// Publishes `News { text }` to a topic; answers how many subscribers matched.
        rpc Publish(topic: String, #[validate(length(max = 65536))] text: String) -> Published { matched: u64 }
        /// What subscribers receive.
        event News { text: String }
    }
}
