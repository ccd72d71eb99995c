//! The server's and the client's WebSocket frame readers read any stream of bytes, however it
//! arrives, as tungstenite alone reads it (the same messages, in order, and the same end), and
//! never panic. See `wskit_fuzz::check_ws_frames`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wskit_fuzz::check_ws_frames(data));
