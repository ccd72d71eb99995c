//! Generated decoders of a protocol that uses every field type and constraint, in payloads and
//! in declared meta: serde's strict derive and the issue-collecting decoder agree, and accepted
//! values round-trip (`wskit_fuzz::check_payload`, `wskit_fuzz::check_meta`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        wskit_fuzz::check_payload_all(text);
        wskit_fuzz::check_meta_all(text);
    }
});
