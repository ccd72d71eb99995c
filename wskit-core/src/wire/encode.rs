//! Writing a protocol's messages: the serializer is chosen by what `protocol!` knows of the
//! message's types ([`encode_message`]).

use serde::Serialize;

use super::frame::{Encoder, MetaOut, encode_then, encode_with, progress_with, write_frame};
use crate::protocol::Message;

/// Writes a message of a protocol: `{"type":M::TYPE,"meta":..,"payload":..}`, the payload as
/// `M::PAYLOAD` says (none for a message declared without braces). Fails only when a `Serialize`
/// impl fails.
///
/// The bytes are those [`encode_frame`](super::encode_frame) writes. A message whose fields are all types
/// `protocol!` knows (no user type named by its path) is written by wskit's own serializer
/// (`wire::json`), which checks strings for characters to escape many bytes at a time and
/// copies them whole (serde_json: one byte at a time; many times faster on a 16 KiB string)
/// and writes those types exactly as serde_json does (`tests/tests/encode_parity.rs`); other
/// messages by serde_json.
///
/// ```
/// wskit::protocol! { pub protocol P { event Said { text: String } } }
/// let meta = wskit::wire::OutMeta::default();
/// let frame = wskit::wire::encode_message(Some(&meta), &Said { text: "hi".into() }).unwrap();
/// assert_eq!(frame, br#"{"type":"SAID","meta":{},"payload":{"text":"hi"}}"#);
/// ```
pub fn encode_message<M: Message, X: Serialize + ?Sized>(
    meta: Option<&X>,
    msg: &M,
) -> Result<Vec<u8>, serde_json::Error> {
    let payload = M::PAYLOAD.is_written().then_some(msg);
    let encoder = encoder_for::<M>();
    encode_with(|out| write_frame(out, M::TYPE, meta.into(), payload, None::<&()>, encoder))
}

/// [`encode_message`] handing the frame to `then` instead of returning a copy (as
/// [`encode_reply_then`] does for replies). `then` is not called when encoding fails.
///
/// ```
/// wskit::protocol! { pub protocol P { event Said { text: String } } }
/// let mut sent = Vec::new();
/// let meta = wskit::wire::OutMeta::default();
/// wskit::wire::encode_message_then(Some(&meta), &Said { text: "hi".into() }, &mut |frame| {
///     sent = frame.to_vec()
/// })
/// .unwrap();
/// assert_eq!(sent, br#"{"type":"SAID","meta":{},"payload":{"text":"hi"}}"#);
/// ```
pub fn encode_message_then<M: Message, X: Serialize + ?Sized>(
    meta: Option<&X>,
    msg: &M,
    then: &mut dyn FnMut(&[u8]),
) -> Result<(), serde_json::Error> {
    let payload = M::PAYLOAD.is_written().then_some(msg);
    let encoder = encoder_for::<M>();
    encode_then(
        |out| write_frame(out, M::TYPE, meta.into(), payload, None::<&()>, encoder),
        then,
    )
}

/// Writes the reply to an rpc: message `M` under `{"correlationId":..}` (`{}` without one), the
/// bytes [`encode_message`] writes with [`Correlated`](super::Correlated) as the meta.
///
/// ```
/// wskit::protocol! { pub protocol P { rpc Get(id: u32) -> Got { name: String } } }
/// let frame = wskit::wire::encode_reply(Some("c-1"), &Got { name: "x".into() }).unwrap();
/// assert_eq!(frame, br#"{"type":"GOT","meta":{"correlationId":"c-1"},"payload":{"name":"x"}}"#);
/// ```
pub fn encode_reply<M: Message>(
    correlation_id: Option<&str>,
    msg: &M,
) -> Result<Vec<u8>, serde_json::Error> {
    let payload = M::PAYLOAD.is_written().then_some(msg);
    let meta = MetaOut::<()>::Correlated(correlation_id);
    let encoder = encoder_for::<M>();
    encode_with(|out| write_frame(out, M::TYPE, meta, payload, None::<&()>, encoder))
}

/// [`encode_reply`] handing the frame to `then` instead of returning a copy: the bytes are in a
/// buffer the thread reuses, so nothing is allocated for them (a server copies them into the
/// connection's outbound buffer). `then` is not called when encoding fails.
///
/// ```
/// wskit::protocol! { pub protocol P { rpc Get(id: u32) -> Got { name: String } } }
/// let mut sent = Vec::new();
/// wskit::wire::encode_reply_then(Some("c-1"), &Got { name: "x".into() }, &mut |frame| {
///     sent = frame.to_vec()
/// })
/// .unwrap();
/// assert_eq!(sent, br#"{"type":"GOT","meta":{"correlationId":"c-1"},"payload":{"name":"x"}}"#);
/// ```
pub fn encode_reply_then<M: Message>(
    correlation_id: Option<&str>,
    msg: &M,
    then: &mut dyn FnMut(&[u8]),
) -> Result<(), serde_json::Error> {
    let payload = M::PAYLOAD.is_written().then_some(msg);
    let meta = MetaOut::<()>::Correlated(correlation_id);
    let encoder = encoder_for::<M>();
    encode_then(
        |out| write_frame(out, M::TYPE, meta, payload, None::<&()>, encoder),
        then,
    )
}

fn encoder_for<M: Message>() -> Encoder {
    if M::__KNOWN_SHAPE {
        Encoder::Known
    } else {
        Encoder::SerdeJson
    }
}

/// [`encode_progress`](super::encode_progress) of a protocol's progress message, written as [`encode_message`] writes
/// payloads.
#[doc(hidden)]
pub fn encode_progress_message<P: Message>(
    correlation_id: Option<&str>,
    update: &P,
) -> Result<Vec<u8>, serde_json::Error> {
    progress_with(correlation_id, update, encoder_for::<P>())
}
