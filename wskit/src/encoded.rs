//! A frame the runtime encoded, as text for the socket: the one `unsafe` of the server and the
//! client, whose promise `wskit_core::wire` keeps.

/// Turns a frame encoded with `wire::encode_*` into tungstenite's text, without validating it
/// again (a second pass over every byte the server or client writes).
pub(crate) fn text(bytes: Vec<u8>) -> tokio_tungstenite::tungstenite::Utf8Bytes {
    debug_assert!(
        std::str::from_utf8(&bytes).is_ok(),
        "encoded frame is not UTF-8"
    );
    // SAFETY: every caller passes the output of `wire::encode_*`: serde_json and wskit's JSON
    // writer write only UTF-8 (a `str` with ASCII escapes), and the envelope around it is ASCII.
    unsafe { String::from_utf8_unchecked(bytes) }.into()
}
