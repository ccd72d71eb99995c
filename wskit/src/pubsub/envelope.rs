//! The bus message of the cluster backends (PROTOCOL.md section 6, "Across servers"): ws-kit's envelope
//! `{"topic":..,"payload":..,"type":..,"meta":{..}}`, written from a publication's frame and
//! read back into the frame subscribers receive.

use std::borrow::Cow;

use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::backend::{ClientId, Frame, PubSubError, Publication};
use wskit_core::wire::{self, InboundFrame};

/// The meta key that carries exclude-self across nodes (the last key of `meta`).
pub(crate) const EXCLUDE_KEY: &str = "excludeClientId";

/// The bus message of a publication, assembled from the frame's own text: the payload and
/// meta are copied as they are, not serialized again.
pub(crate) fn encode(publication: &Publication) -> Result<Vec<u8>, PubSubError> {
    let text = publication.frame.as_str();
    let frame = InboundFrame::parse(text)
        .map_err(|e| PubSubError::Encode(format!("publication frame: {}", e.message)))?;
    let meta = meta_without_exclusion(frame.meta)?;
    let mut out = Vec::with_capacity(text.len() + publication.topic.len() + 64);
    out.extend_from_slice(b"{\"topic\":");
    write_str(&mut out, &publication.topic);
    if let Some(payload) = frame.payload {
        out.extend_from_slice(b",\"payload\":");
        out.extend_from_slice(payload.get().as_bytes());
    }
    out.extend_from_slice(b",\"type\":");
    write_str(&mut out, &frame.ty);
    // `meta` only when the publisher gave some or excludes itself; the exclusion is its last key.
    let exclude = publication.exclude.map(|id| id.to_string());
    match (meta.as_deref(), exclude) {
        (None, None) => {}
        (Some(meta), None) => {
            out.extend_from_slice(b",\"meta\":");
            out.extend_from_slice(meta.as_bytes());
        }
        (meta, Some(id)) => {
            out.extend_from_slice(b",\"meta\":");
            match meta {
                // `{...}` without its closing brace, then the key.
                Some(meta) => {
                    out.extend_from_slice(&meta.as_bytes()[..meta.len() - 1]);
                    out.push(b',');
                }
                None => out.push(b'{'),
            }
            write_str(&mut out, EXCLUDE_KEY);
            out.push(b':');
            write_str(&mut out, &id);
            out.push(b'}');
        }
    }
    out.push(b'}');
    Ok(out)
}

/// The frame's meta as text, `None` when absent or empty; a user's own `excludeClientId` is
/// removed (only the publish option may exclude anyone).
fn meta_without_exclusion(meta: Option<&RawValue>) -> Result<Option<Cow<'_, str>>, PubSubError> {
    let Some(meta) = meta else {
        return Ok(None);
    };
    let text = meta.get();
    if !text.contains(EXCLUDE_KEY) {
        return Ok((text != "{}").then_some(Cow::Borrowed(text)));
    }
    // Rare: parse, remove, write again.
    let mut map: Map<String, Value> = serde_json::from_str(text)
        .map_err(|e| PubSubError::Encode(format!("publication meta: {e}")))?;
    map.remove(EXCLUDE_KEY);
    if map.is_empty() {
        return Ok(None);
    }
    let text = serde_json::to_string(&map).map_err(|e| PubSubError::Encode(e.to_string()))?;
    Ok(Some(Cow::Owned(text)))
}

/// Writes `s` as a JSON string.
fn write_str(out: &mut Vec<u8>, s: &str) {
    // Serializing a `str` into a `Vec` cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// One bus message, read: where it goes and the frame subscribers get.
#[derive(Debug)]
pub(crate) struct Delivery<'a> {
    /// The envelope's topic (which decides delivery, not the channel).
    pub topic: Cow<'a, str>,
    /// `{"type":..,"meta":..,"payload":..}`, `meta` without the exclusion (absent when empty).
    pub frame: Frame,
    /// The connection that must not get it.
    pub exclude: Option<ClientId>,
}

/// ws-kit's envelope. Unknown keys are ignored.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(default, borrow)]
    topic: Option<Cow<'a, str>>,
    #[serde(rename = "type", default, borrow)]
    ty: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "present")]
    payload: Option<&'a RawValue>,
    #[serde(default)]
    meta: Option<Map<String, Value>>,
}

fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&'de RawValue>::deserialize(d).map(Some)
}

/// Reads a bus message: an object with a string `topic` and `type`, an object or absent (or
/// `null`) `meta`, any `payload`. Anything else is refused with the reason (the caller skips and
/// counts it).
pub(crate) fn decode(message: &[u8]) -> Result<Delivery<'_>, String> {
    let envelope: Envelope<'_> = serde_json::from_slice(message).map_err(|e| {
        if e.is_syntax() || e.is_eof() {
            "not JSON".to_owned()
        } else {
            format!("not an envelope: {e}")
        }
    })?;
    let topic = envelope.topic.ok_or("no \"topic\"")?;
    let ty = envelope.ty.ok_or("no \"type\"")?;
    let mut meta = envelope.meta.unwrap_or_default();
    // An id that is not one of ours (a ws-kit client's, an empty string) excludes nobody here.
    let exclude = match meta.remove(EXCLUDE_KEY) {
        Some(Value::String(id)) => uuid::Uuid::parse_str(&id).ok().map(ClientId::from_uuid),
        _ => None,
    };
    let meta = (!meta.is_empty()).then_some(&meta);
    let frame = wire::encode_frame(&ty, meta, envelope.payload).map_err(|e| e.to_string())?;
    let frame = String::from_utf8(frame).map_err(|e| e.to_string())?;
    Ok(Delivery {
        topic,
        frame: Frame::from(frame),
        exclude,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn publication(frame: &str, exclude: Option<ClientId>) -> Publication {
        Publication {
            topic: "room:1".into(),
            wire_type: "NEW_MESSAGE",
            frame: frame.into(),
            exclude,
        }
    }

    fn encoded(frame: &str, exclude: Option<ClientId>) -> String {
        String::from_utf8(encode(&publication(frame, exclude)).unwrap()).unwrap()
    }

    #[test]
    fn envelope_keys_in_ws_kit_order_with_optional_keys() {
        assert_eq!(
            encoded(r#"{"type":"NEW_MESSAGE","payload":{"text":"hi"}}"#, None),
            r#"{"topic":"room:1","payload":{"text":"hi"},"type":"NEW_MESSAGE"}"#
        );
        // No payload: no key.
        assert_eq!(
            encoded(r#"{"type":"PING"}"#, None),
            r#"{"topic":"room:1","type":"PING"}"#
        );
        assert_eq!(
            encoded(r#"{"type":"X","meta":{"a":1},"payload":[1,2]}"#, None),
            r#"{"topic":"room:1","payload":[1,2],"type":"X","meta":{"a":1}}"#
        );
    }

    #[test]
    fn exclusion_is_the_last_meta_key_and_a_users_own_is_dropped() {
        let id = ClientId::new();
        assert_eq!(
            encoded(r#"{"type":"X","payload":{}}"#, Some(id)),
            format!(
                r#"{{"topic":"room:1","payload":{{}},"type":"X","meta":{{"excludeClientId":"{id}"}}}}"#
            )
        );
        assert_eq!(
            encoded(r#"{"type":"X","meta":{"a":"b"},"payload":1}"#, Some(id)),
            format!(
                r#"{{"topic":"room:1","payload":1,"type":"X","meta":{{"a":"b","excludeClientId":"{id}"}}}}"#
            )
        );
        // A user's own key never travels: it would exclude someone.
        assert_eq!(
            encoded(r#"{"type":"X","meta":{"excludeClientId":"x","a":2}}"#, None),
            r#"{"topic":"room:1","type":"X","meta":{"a":2}}"#
        );
        assert_eq!(
            encoded(r#"{"type":"X","meta":{"excludeClientId":"x"}}"#, None),
            r#"{"topic":"room:1","type":"X"}"#
        );
    }

    #[test]
    fn read_back_into_the_subscribers_frame() {
        let id = ClientId::new();
        let bus = encoded(
            r#"{"type":"X","meta":{"a":"b"},"payload":{"n":1.5}}"#,
            Some(id),
        );
        let d = decode(bus.as_bytes()).unwrap();
        assert_eq!(d.topic, "room:1");
        assert_eq!(d.exclude, Some(id));
        assert_eq!(
            d.frame.as_str(),
            r#"{"type":"X","meta":{"a":"b"},"payload":{"n":1.5}}"#
        );
        // The exclusion alone: no meta at all.
        let bus = encoded(r#"{"type":"X","payload":{}}"#, Some(id));
        assert_eq!(
            decode(bus.as_bytes()).unwrap().frame.as_str(),
            r#"{"type":"X","payload":{}}"#
        );
        // ws-kit's key order is not required, and an empty or foreign id excludes nobody.
        let d = decode(br#"{"type":"Y","meta":{"excludeClientId":""},"topic":"t"}"#).unwrap();
        assert_eq!((d.topic.as_ref(), d.exclude), ("t", None));
        assert_eq!(d.frame.as_str(), r#"{"type":"Y"}"#);
        let d = decode(br#"{"topic":"t","type":"Y","meta":{"excludeClientId":"ws-kit-id"}}"#);
        assert_eq!(d.unwrap().exclude, None);
        // A payload is copied as it is, null included.
        let d = decode(br#"{"topic":"t","payload":null,"type":"Y","meta":null}"#).unwrap();
        assert_eq!(d.frame.as_str(), r#"{"type":"Y","payload":null}"#);
    }

    #[test]
    fn malformed_bus_messages_are_refused_with_a_reason() {
        for (bad, why) in [
            (&b"not json"[..], "not JSON"),
            (b"\xff\xfe", "not JSON"),
            (b"[1,2]", "not an envelope"),
            (b"{\"type\":\"X\"}", "no \"topic\""),
            (b"{\"topic\":\"t\"}", "no \"type\""),
            (b"{\"topic\":1,\"type\":\"X\"}", "not an envelope"),
            (b"{\"topic\":\"t\",\"type\":[]}", "not an envelope"),
            (
                b"{\"topic\":\"t\",\"type\":\"X\",\"meta\":[]}",
                "not an envelope",
            ),
            (b"{\"topic\":\"t\",\"type\":\"X\",\"meta\":{}", "not JSON"),
        ] {
            let err = decode(bad).unwrap_err();
            assert!(err.starts_with(why), "{bad:?}: {err}");
        }
    }
}
