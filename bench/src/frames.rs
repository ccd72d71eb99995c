//! The benchmark protocol's frames, written and read without a JSON parser on the hot path.
//!
//! Every server under test speaks the same protocol:
//!
//! | frame | direction | shape |
//! |---|---|---|
//! | `ECHO` rpc | client -> server | `{"type":"ECHO","meta":{"correlationId":"<id>"},"payload":{"text":"..","n":1}}` |
//! | `ECHO_REPLY` | server -> client | same meta and payload (the raw echo servers return the request itself) |
//! | `SUBSCRIBE` rpc | client -> server | `{"type":"SUBSCRIBE","meta":{"correlationId":"<id>"},"payload":{"topic":".."}}`, answered `SUBSCRIBED` |
//! | `PUBLISH` rpc | client -> server | `{"type":"PUBLISH","meta":{"correlationId":"<id>"},"payload":{"topic":"..","text":".."}}`, answered `PUBLISHED` `{"matched":n}` after the server published `NEWS` `{"text":".."}` to the topic |
//!
//! The load generator writes correlation ids and texts from `[A-Za-z0-9-]` only, so the ids can be
//! found in a reply by a plain substring search.

/// The wire type of the bench rpc request.
pub const ECHO: &str = "ECHO";
/// The wire type of the bench rpc reply.
pub const ECHO_REPLY: &str = "ECHO_REPLY";
/// Wire types that carry an error instead of a reply.
pub const ERROR_TYPES: [&str; 2] = ["RPC_ERROR", "ERROR"];
/// The topic every fan-out subscriber joins.
pub const TOPIC: &str = "bench";

/// The bytes of an `ECHO` request around its correlation id and text.
const ECHO_OVERHEAD: usize =
    r#"{"type":"ECHO","meta":{"correlationId":""},"payload":{"text":"","n":1}}"#.len();

/// Writes an `ECHO` request whose text pads the frame to `frame_bytes` (at least one character).
///
/// ```
/// let f = wskit_bench::frames::echo_request("c1-7", 64);
/// assert!(f.starts_with(r#"{"type":"ECHO","meta":{"correlationId":"c1-7"},"payload":{"text":"x"#));
/// assert_eq!(f.len(), 64.max(wskit_bench::frames::echo_request("c1-7", 0).len()));
/// ```
pub fn echo_request(correlation_id: &str, frame_bytes: usize) -> String {
    let text_len = frame_bytes
        .saturating_sub(ECHO_OVERHEAD + correlation_id.len())
        .max(1);
    let mut out = String::with_capacity(ECHO_OVERHEAD + correlation_id.len() + text_len);
    out.push_str(r#"{"type":"ECHO","meta":{"correlationId":""#);
    out.push_str(correlation_id);
    out.push_str(r#""},"payload":{"text":""#);
    out.extend(std::iter::repeat_n('x', text_len));
    out.push_str(r#"","n":1}}"#);
    out
}

/// Writes a `SUBSCRIBE` request for `topic`.
///
/// ```
/// assert_eq!(
///     wskit_bench::frames::subscribe_request("s1", "bench"),
///     r#"{"type":"SUBSCRIBE","meta":{"correlationId":"s1"},"payload":{"topic":"bench"}}"#
/// );
/// ```
pub fn subscribe_request(correlation_id: &str, topic: &str) -> String {
    format!(
        r#"{{"type":"SUBSCRIBE","meta":{{"correlationId":"{correlation_id}"}},"payload":{{"topic":"{topic}"}}}}"#
    )
}

/// Writes a `PUBLISH` request asking the server to publish `text` to `topic`.
///
/// ```
/// assert_eq!(
///     wskit_bench::frames::publish_request("p1", "bench", "r3"),
///     r#"{"type":"PUBLISH","meta":{"correlationId":"p1"},"payload":{"topic":"bench","text":"r3"}}"#
/// );
/// ```
pub fn publish_request(correlation_id: &str, topic: &str, text: &str) -> String {
    format!(
        r#"{{"type":"PUBLISH","meta":{{"correlationId":"{correlation_id}"}},"payload":{{"topic":"{topic}","text":"{text}"}}}}"#
    )
}

/// The string value that follows `"<key>":` in `frame`, if it is a string without escapes.
fn string_after<'a>(frame: &'a str, key: &str) -> Option<&'a str> {
    let mut search = frame;
    loop {
        let at = search.find(key)?;
        let rest = &search[at + key.len()..];
        // The key must be a whole JSON key: preceded by a quote and followed by `":`.
        let quoted = search[..at].ends_with('"') && rest.starts_with('"');
        if quoted {
            let rest = rest[1..].trim_start();
            if let Some(rest) = rest.strip_prefix(':') {
                let value = rest.trim_start().strip_prefix('"')?;
                let end = value.find(['"', '\\'])?;
                return (value.as_bytes()[end] == b'"').then(|| &value[..end]);
            }
        }
        search = &search[at + key.len()..];
    }
}

/// The `correlationId` in a frame's meta, found without parsing the JSON.
///
/// ```
/// let f = r#"{"type":"ECHO_REPLY","meta":{"correlationId":"c3-9"},"payload":{"text":"x","n":1}}"#;
/// assert_eq!(wskit_bench::frames::correlation_id(f), Some("c3-9"));
/// ```
pub fn correlation_id(frame: &str) -> Option<&str> {
    string_after(frame, "correlationId")
}

/// The frame's `type`, found without parsing the JSON.
///
/// ```
/// assert_eq!(wskit_bench::frames::frame_type(r#"{"type":"NEWS","payload":{"text":"r1"}}"#), Some("NEWS"));
/// ```
pub fn frame_type(frame: &str) -> Option<&str> {
    string_after(frame, "type")
}

/// The `text` of a frame's payload, found without parsing the JSON.
///
/// ```
/// assert_eq!(wskit_bench::frames::text(r#"{"type":"NEWS","payload":{"text":"r1"}}"#), Some("r1"));
/// ```
pub fn text(frame: &str) -> Option<&str> {
    string_after(frame, "text")
}

/// Whether `ty` is an error frame (`RPC_ERROR` or `ERROR`).
pub fn is_error(ty: &str) -> bool {
    ERROR_TYPES.contains(&ty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_request_is_valid_json_of_the_requested_size() {
        for size in [100, 200, 16 * 1024] {
            let f = echo_request("c12-345", size);
            assert_eq!(f.len(), size);
            let v: serde_json::Value = serde_json::from_str(&f).unwrap();
            assert_eq!(v["type"], "ECHO");
            assert_eq!(v["meta"]["correlationId"], "c12-345");
            assert_eq!(v["payload"]["n"], 1);
        }
    }

    #[test]
    fn echo_request_keeps_at_least_one_text_character() {
        let f = echo_request("a-very-long-correlation-id", 8);
        let v: serde_json::Value = serde_json::from_str(&f).unwrap();
        assert_eq!(v["payload"]["text"], "x");
    }

    #[test]
    fn correlation_id_is_found_in_any_key_order_and_spacing() {
        let f = r#"{"payload":{"text":"x"}, "meta" : { "correlationId" : "id-1" }, "type":"ECHO_REPLY"}"#;
        assert_eq!(correlation_id(f), Some("id-1"));
        assert_eq!(frame_type(f), Some("ECHO_REPLY"));
    }

    #[test]
    fn a_key_inside_a_string_value_is_not_mistaken_for_the_key() {
        let f = r#"{"type":"NEWS","payload":{"text":"correlationId type"},"meta":{"correlationId":"c1"}}"#;
        assert_eq!(correlation_id(f), Some("c1"));
        assert_eq!(frame_type(f), Some("NEWS"));
    }

    #[test]
    fn missing_escaped_or_non_string_values_yield_none() {
        assert_eq!(correlation_id(r#"{"type":"NEWS","meta":{}}"#), None);
        assert_eq!(correlation_id(r#"{"meta":{"correlationId":"a\"b"}}"#), None);
        assert_eq!(correlation_id(r#"{"meta":{"correlationId":7}}"#), None);
        assert_eq!(frame_type("not json"), None);
    }

    #[test]
    fn error_types_are_recognised() {
        assert!(is_error("RPC_ERROR"));
        assert!(is_error("ERROR"));
        assert!(!is_error("ECHO_REPLY"));
    }
}
