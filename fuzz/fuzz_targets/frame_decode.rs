//! The server's reads of a whole frame agree: byte-matched, whole-frame serde, and the reference
//! path (`wskit_fuzz::check_frame`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        wskit_fuzz::check_frame_all(text);
    }
});
