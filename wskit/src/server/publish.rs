//! Publishing: the options of a publication and the one place its frame is encoded.

use serde_json::{Map, Value};

use crate::encoded;
use crate::pubsub::{ClientId, Frame, PubSubError, Publication};
use wskit_core::Message;
use wskit_core::topic::{self, PublicationError};

pub use wskit_core::topic::PublishOptions;

/// Encodes a publication frame: `meta` only when given and not empty.
pub(crate) fn encode_publication<M: Message>(
    topic: &str,
    msg: &M,
    meta: Option<&Map<String, Value>>,
    exclude: Option<ClientId>,
) -> Result<Publication, PubSubError> {
    let frame = topic::encode_publication(topic, msg, meta).map_err(|e| match e {
        PublicationError::InvalidTopic(why) => PubSubError::InvalidTopic(why),
        PublicationError::Encode(why) => PubSubError::Encode(why),
    })?;
    Ok(Publication {
        topic: topic.to_owned(),
        wire_type: M::TYPE,
        frame: Frame::from_text(encoded::text(frame)),
        exclude,
    })
}
