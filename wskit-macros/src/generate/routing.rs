//! Which messages get a handler method and which a `match` arm, shared by the server's and the
//! client's generators: the first of each method name and of each wire type (`check` reports the
//! others).

use crate::model::{Message, Protocol};

use super::spelling::method_name;

/// The client-to-server messages that get a handler method, in order: the first of each method
/// name (`check` reports the others).
pub(super) fn served(p: &Protocol) -> Vec<&Message> {
    let mut methods = std::collections::HashSet::new();
    p.messages
        .iter()
        .filter(|m| m.kind.client_to_server() && methods.insert(method_name(&m.name).to_string()))
        .collect()
}

/// The first message of each wire type among `messages` (`check` reports the others), for
/// `match` arms.
pub(super) fn first_per_wire<'a>(messages: &[&'a Message]) -> Vec<&'a Message> {
    let mut wires = std::collections::HashSet::new();
    messages
        .iter()
        .copied()
        .filter(|m| wires.insert(m.wire.clone()))
        .collect()
}
