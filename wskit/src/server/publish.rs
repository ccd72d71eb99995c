//! Publishing: the options of a publication and the one place its frame is encoded.

use serde_json::{Map, Value};

use super::io::utf8;
use crate::pubsub::{self, ClientId, PubSubError, Publication};
use wskit_core::Message;
use wskit_core::wire;

/// Options of a publication.
///
/// ```
/// let opts = wskit::server::PublishOptions::default().exclude_self();
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

/// Encodes a publication frame: `meta` only when given and not empty.
pub(crate) fn encode_publication<M: Message>(
    topic: &str,
    msg: &M,
    meta: Option<&Map<String, Value>>,
    exclude: Option<ClientId>,
) -> Result<Publication, PubSubError> {
    pubsub::check_topic(topic)?;
    let meta = meta.filter(|m| !m.is_empty());
    let frame = wire::encode_frame(M::TYPE, meta, M::PAYLOAD.is_written().then_some(msg))
        .map_err(|e| PubSubError::Encode(e.to_string()))?;
    Ok(Publication {
        topic: topic.to_owned(),
        wire_type: M::TYPE,
        frame: utf8(frame).into(),
        exclude,
    })
}
