//! What the TypeScript and the JSON Schema export share: the bounds of each integer type, the
//! names both give to a protocol's parts, and numbers written as JSON.

use crate::describe::{Constraint, MessageDesc, MessageKind, ProtocolDesc, TypeShape};

/// The smallest and largest values of a Rust integer type, as JSON numbers (exact).
pub(crate) fn int_bounds(int: &str) -> (i128, i128) {
    match int {
        "u8" => (0, u8::MAX.into()),
        "u16" => (0, u16::MAX.into()),
        "u32" => (0, u32::MAX.into()),
        "u64" => (0, u64::MAX.into()),
        "i8" => (i8::MIN.into(), i8::MAX.into()),
        "i16" => (i16::MIN.into(), i16::MAX.into()),
        "i32" => (i32::MIN.into(), i32::MAX.into()),
        _ => (i64::MIN.into(), i64::MAX.into()),
    }
}

/// Whether an `f32` field needs a check that its number does not round to an infinite `f32`
/// (which wskit refuses): unless a range bounds it on both sides within `f32::MAX`.
pub(crate) fn f32_needs_finite_check(constraints: &[Constraint]) -> bool {
    let within = |b: &Option<f64>| b.is_some_and(|b| b.abs() <= f64::from(f32::MAX));
    !constraints
        .iter()
        .any(|c| matches!(c, Constraint::Range { min, max } if within(min) && within(max)))
}

/// JavaScript's `Number.MAX_SAFE_INTEGER`: zod's `z.int()` refuses integers beyond it.
pub(crate) const MAX_SAFE_INTEGER: i128 = (1 << 53) - 1;

/// A finite `f64` as a JSON/JavaScript number literal (`100`, `0.5`, `1e300`).
pub(crate) fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e21 {
        format!("{}", v as i128)
    } else {
        format!("{v:?}")
    }
}

/// The frames sent by clients (messages and requests) and by the server (events and responses;
/// progress travels in `$ws:rpc-progress` frames), each in declaration order.
pub(crate) fn directions(desc: &ProtocolDesc) -> (Vec<&MessageDesc>, Vec<&MessageDesc>) {
    let of = |kinds: &[MessageKind]| -> Vec<&MessageDesc> {
        desc.messages
            .iter()
            .filter(|m| kinds.contains(&m.kind))
            .collect()
    };
    (
        of(&[MessageKind::Message, MessageKind::Request]),
        of(&[MessageKind::Event, MessageKind::Response]),
    )
}

/// The progress messages, in declaration order.
pub(crate) fn progress(desc: &ProtocolDesc) -> Vec<&MessageDesc> {
    desc.messages
        .iter()
        .filter(|m| m.kind == MessageKind::Progress)
        .collect()
}

/// The name of the schema of a message's whole frame.
pub(crate) fn frame_name(m: &MessageDesc) -> String {
    format!("{}Frame", m.name)
}

/// Names the exports give to parts of their own, beside the protocol's.
pub(crate) const OWN_NAMES: [&str; 4] = [
    "ClientMessage",
    "ServerMessage",
    "ErrorCode",
    "ErrorPayload",
];

/// Panics (naming both) when a name of the protocol is one the export gives to something else.
pub(crate) fn check_names(desc: &ProtocolDesc) {
    let mut taken: Vec<(String, String)> = Vec::new();
    let mut claim = |name: String, what: String| {
        if let Some((_, first)) = taken.iter().find(|(n, _)| *n == name) {
            panic!(
                "wskit::export: the name `{name}` is used by both {first} and {what}; rename one in the protocol"
            );
        }
        taken.push((name, what));
    };
    for own in OWN_NAMES {
        claim(own.to_owned(), format!("the export's own `{own}`"));
    }
    claim(desc.name.to_owned(), "the protocol".to_owned());
    for m in desc.messages {
        // A `type` an rpc replies with is a message and a type under one name: one export.
        if desc.ty(m.name).is_none() {
            claim(m.name.to_owned(), format!("the message `{}`", m.name));
        }
        if m.kind != MessageKind::Progress {
            claim(frame_name(m), format!("the frame schema of `{}`", m.name));
        }
    }
    for t in desc.types {
        let what = match t.shape {
            TypeShape::Struct(_) => "type",
            TypeShape::Enum(_) => "enum",
        };
        claim(t.name.to_owned(), format!("the {what} `{}`", t.name));
    }
}

/// Whether `key` can be written unquoted as a property name.
pub(crate) fn is_identifier(key: &str) -> bool {
    let mut chars = key.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

/// A string as a JSON (and JavaScript) string literal.
pub(crate) fn string(s: &str) -> String {
    serde_json::to_string(s).expect("a string serializes")
}
