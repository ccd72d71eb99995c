//! The client's handling of one inbound frame (replies, progress, `ERROR`, events, unhandled
//! frames) never panics, whatever the server sends.
#![no_main]

use std::sync::LazyLock;

use wskit::client::Client;
use wskit_fuzz::FuzzEvent;

struct Peer {
    client: Client,
    /// A live stream: events are decoded and offered to it (once its buffer is full, further
    /// events take the overflow path, which is fuzzed too).
    _events: std::sync::Mutex<wskit::client::Events<FuzzEvent>>,
}

static PEER: LazyLock<Peer> = LazyLock::new(|| {
    let client = Client::builder("ws://127.0.0.1:9/")
        .on_error(|report| drop(report.to_string()))
        .on_unhandled(drop)
        .event_buffer(16)
        .build();
    let _events = std::sync::Mutex::new(client.events::<FuzzEvent>());
    Peer { client, _events }
});

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    wskit::__private::fuzz::client_inbound(&PEER.client, text);
});
