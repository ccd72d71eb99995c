//! Writing a protocol's messages: the serializer is chosen by what `protocol!` knows of the
//! message's types ([`encode_message`]).

use serde::Serialize;

use super::frame::{MetaOut, TypeName, encode_then, encode_with, progress_with, write_frame};
use crate::protocol::Message;

/// Writes a message of a protocol: `{"type":M::TYPE,"meta":..,"payload":..}`, the payload as
/// `M::PAYLOAD` says (none for a message declared without braces). Fails only when a `Serialize`
/// impl fails.
///
/// The bytes are those [`encode_frame`](super::encode_frame) writes. A message whose fields are all types
/// `protocol!` knows (no user type named by its path) is written by code the macro generates
/// (`wire::json::WriteJson`: keys as constants, strings checked for characters to escape many
/// bytes at a time and copied whole, where serde_json looks at one byte at a time), exactly as
/// serde_json writes it (`tests/tests/encode_parity.rs`); other messages by serde_json.
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
    encode_with(|out| write_message(out, meta.into(), msg))
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
    encode_then(|out| write_message(out, meta.into(), msg), then)
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
    let meta = MetaOut::<()>::Correlated(correlation_id);
    encode_with(|out| write_message(out, meta, msg))
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
    let meta = MetaOut::<()>::Correlated(correlation_id);
    encode_then(|out| write_message(out, meta, msg), then)
}

/// Writes a client's request that declares no extra meta: message `M` under
/// `{"correlationId":..,"timestamp":..}`, the bytes [`encode_message`] writes with an
/// [`OutMeta`](super::OutMeta) of those two, without building it.
///
/// ```
/// use wskit::wire::OutMeta;
/// wskit::protocol! { pub protocol P { rpc Get(id: u32) -> Got { name: String } } }
/// let frame = wskit::wire::encode_request("c-1", 7, &Get { id: 3 }).unwrap();
/// assert_eq!(frame, br#"{"type":"GET","meta":{"correlationId":"c-1","timestamp":7},"payload":{"id":3}}"#);
/// let meta = OutMeta { correlation_id: Some("c-1".into()), timestamp: Some(7), ..OutMeta::default() };
/// assert_eq!(frame, wskit::wire::encode_message(Some(&meta), &Get { id: 3 }).unwrap());
/// ```
pub fn encode_request<M: Message>(
    correlation_id: &str,
    timestamp: u64,
    msg: &M,
) -> Result<Vec<u8>, serde_json::Error> {
    let meta: MetaOut<'_, ()> = MetaOut::Request {
        correlation_id,
        timestamp,
    };
    encode_with(|out| write_message(out, meta, msg))
}

/// Writes message `M`'s frame: its type (checked for characters to escape when compiled), `meta`,
/// and the payload as `M::PAYLOAD` says, by `M`'s own writer.
fn write_message<M: Message, X: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    meta: MetaOut<'_, X>,
    msg: &M,
) -> serde_json::Result<()> {
    let ty = const { TypeName::checked(M::TYPE) };
    let payload = M::PAYLOAD.is_written().then_some(msg);
    write_frame(out, ty, meta, payload, false, M::__write_json)
}

/// [`encode_progress`](super::encode_progress) of a protocol's progress message, written as [`encode_message`] writes
/// payloads.
#[doc(hidden)]
pub fn encode_progress_message<P: Message>(
    correlation_id: Option<&str>,
    update: &P,
) -> Result<Vec<u8>, serde_json::Error> {
    progress_with(correlation_id, update, P::__write_json)
}
