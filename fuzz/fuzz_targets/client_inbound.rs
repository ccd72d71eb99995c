//! The client's handling of one inbound frame (replies, progress, `ERROR`, events, unhandled
//! frames) never panics, whatever the server sends (`wskit_fuzz::check_client_inbound`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        wskit_fuzz::check_client_inbound(text);
    }
});
