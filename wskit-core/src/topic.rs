//! Topics and publications, whatever host delivers them: the rule a topic name follows, the
//! options of a publication and the one place its frame is encoded.

use serde_json::{Map, Value};

use crate::protocol::Message;
use crate::wire::encode::encode_message;

/// The longest topic name accepted, in characters.
pub const MAX_TOPIC_LEN: usize = 128;

/// Checks a topic name: 1 to [`MAX_TOPIC_LEN`] characters of `A-Z a-z 0-9 : _ . / -`; why not.
///
/// ```
/// assert!(wskit::topic::check("room:general/1").is_ok());
/// assert_eq!(wskit::topic::check("").unwrap_err(), "empty topic name");
/// assert!(wskit::topic::check("has space").is_err());
/// ```
pub fn check(topic: &str) -> Result<(), String> {
    if topic.is_empty() {
        return Err("empty topic name".into());
    }
    if topic.len() > MAX_TOPIC_LEN {
        return Err(format!(
            "topic names have at most {MAX_TOPIC_LEN} characters"
        ));
    }
    if let Some(c) = topic
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '.' | '/' | '-')))
    {
        return Err(format!(
            "character {c:?} is not allowed (allowed: A-Z a-z 0-9 : _ . / -)"
        ));
    }
    Ok(())
}

/// Options of a publication.
///
/// ```
/// let opts = wskit::topic::PublishOptions::default().exclude_self();
/// assert!(opts.exclude_self && opts.meta.is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PublishOptions {
    /// Do not deliver to the publishing connection (default: it receives its own publication).
    pub exclude_self: bool,
    /// `meta` for the frame; without it (or when empty) the frame has no `meta` key.
    pub meta: Option<Map<String, Value>>,
}

impl PublishOptions {
    /// Sets `exclude_self`.
    pub fn exclude_self(mut self) -> Self {
        self.exclude_self = true;
        self
    }

    /// Sets the frame's meta.
    pub fn with_meta(mut self, meta: Map<String, Value>) -> Self {
        self.meta = Some(meta);
        self
    }
}

/// Why a publication was not encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicationError {
    /// The topic name breaks the rules of [`check`].
    InvalidTopic(String),
    /// The message could not be encoded (its `Serialize` impl failed).
    Encode(String),
}

/// Checks `topic` and encodes the frame every subscriber receives: `{"type":..,"payload":..}`,
/// with `meta` only when given and not empty.
///
/// ```
/// wskit::protocol! { pub protocol P { event Said { text: String } } }
/// let frame = wskit::topic::encode_publication("room", &Said { text: "hi".into() }, None).unwrap();
/// assert_eq!(frame, br#"{"type":"SAID","payload":{"text":"hi"}}"#);
/// ```
pub fn encode_publication<M: Message>(
    topic: &str,
    msg: &M,
    meta: Option<&Map<String, Value>>,
) -> Result<Vec<u8>, PublicationError> {
    check(topic).map_err(PublicationError::InvalidTopic)?;
    let meta = meta.filter(|m| !m.is_empty());
    encode_message(meta, msg).map_err(|e| PublicationError::Encode(e.to_string()))
}
