//! Node-to-node control messages (PROTOCOL.md section 6): JSON objects without a `topic` key, on
//! the channel `<prefix>$wskit:ctl`, which every wskit node SUBSCRIBEs (so that `PUBSUB NUMSUB`
//! of it counts the wskit nodes) besides its `<prefix>*` pattern. A ws-kit node on the same bus
//! sees them through its pattern and ignores them (no topic).
//!
//! The cluster-wide subscriber count: a node asks
//! `{"wskit":"count?","id":<request>,"from":<node>,"t":<topic>}`, and every other wskit node
//! answers `{"wskit":"count","id":<request>,"from":<node>,"n":<local subscribers>}`.

use serde::{Deserialize, Serialize};

/// The control channel's name after the prefix.
pub(super) const CHANNEL: &str = "$wskit:ctl";

/// One control message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "wskit")]
pub(super) enum Control {
    /// How many subscribers has topic `t`?
    #[serde(rename = "count?")]
    CountRequest {
        /// The request.
        id: String,
        /// The asking node.
        from: String,
        /// The topic.
        t: String,
    },
    /// A node's answer.
    #[serde(rename = "count")]
    CountReply {
        /// The request answered.
        id: String,
        /// The answering node.
        from: String,
        /// Its local subscribers of the topic.
        n: usize,
    },
}

impl Control {
    /// The message's JSON.
    pub(super) fn encode(&self) -> Vec<u8> {
        // A derived `Serialize` of strings and numbers cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads a control message; what is not one is refused with the reason.
    pub(super) fn decode(message: &[u8]) -> Result<Control, String> {
        serde_json::from_slice(message).map_err(|e| format!("not a control message: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_messages_have_no_topic_key_and_read_back() {
        let ask = Control::CountRequest {
            id: "r1".into(),
            from: "n1".into(),
            t: "room".into(),
        };
        let text = String::from_utf8(ask.encode()).unwrap();
        assert_eq!(
            text,
            r#"{"wskit":"count?","id":"r1","from":"n1","t":"room"}"#
        );
        assert!(!serde_json::from_str::<serde_json::Value>(&text).unwrap()["topic"].is_string());
        assert_eq!(Control::decode(text.as_bytes()).unwrap(), ask);
        let reply = Control::CountReply {
            id: "r1".into(),
            from: "n2".into(),
            n: 3,
        };
        assert_eq!(Control::decode(&reply.encode()).unwrap(), reply);
        assert!(Control::decode(br#"{"wskit":"other"}"#).is_err());
        assert!(Control::decode(b"nope").is_err());
    }
}
