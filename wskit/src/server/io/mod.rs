//! The socket side of a connection: the WebSocket stream (`ws`), the TCP socket it shares with
//! direct writes of publications (`socket`), the outbound queue (`outbound`), and the tally of
//! the bytes read (`tally`).

pub(crate) mod outbound;
pub(crate) mod socket;
pub(crate) mod tally;
pub(crate) mod ws;

/// Turns a frame the runtime encoded with `wire::encode_*` into shareable bytes, without
/// validating it again.
pub(crate) fn utf8(bytes: Vec<u8>) -> tokio_tungstenite::tungstenite::Utf8Bytes {
    debug_assert!(
        std::str::from_utf8(&bytes).is_ok(),
        "encoded frame is not UTF-8"
    );
    // SAFETY: every caller passes the output of `wire::encode_*`: serde_json writes only UTF-8,
    // and the envelope around it is ASCII.
    unsafe { String::from_utf8_unchecked(bytes) }.into()
}
