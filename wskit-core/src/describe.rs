//! A walkable description of a protocol: every message with its wire names, fields, types,
//! constraints, direction and docs. `protocol!` builds one per protocol as a `static`; tools (the
//! TypeScript and JSON Schema export, docs) and the server's routing table read it.
//!
//! ```
//! wskit::protocol! {
//!     /// A chat.
//!     protocol Chat {
//!         message JoinRoom { #[validate(length(min = 1))] room_id: String }
//!     }
//! }
//! use wskit::Protocol;
//! let desc = Chat::description();
//! assert_eq!(desc.name, "Chat");
//! let join = desc.message("JOIN_ROOM").unwrap();
//! assert_eq!(join.fields[0].wire_name, "roomId");
//! assert_eq!(join.fields[0].constraints, &[wskit::describe::Constraint::Length { min: Some(1), max: None }]);
//! ```

/// One protocol.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProtocolDesc {
    /// The Rust name (`Chat`).
    pub name: &'static str,
    /// Doc comment lines, joined by newlines.
    pub docs: &'static str,
    /// Messages, events, RPC requests, responses and progress types, in declaration order. A
    /// `type` that an rpc replies with (`-> Todo`) is here once too, at its first use, with the
    /// type's fields and docs.
    pub messages: &'static [MessageDesc],
    /// Shared nested types (`type` and `enum` declarations), including those an rpc replies with.
    pub types: &'static [TypeDesc],
}

impl ProtocolDesc {
    /// The message with this wire type.
    pub fn message(&self, wire_type: &str) -> Option<&'static MessageDesc> {
        self.messages.iter().find(|m| m.wire_type == wire_type)
    }

    /// The nested type with this Rust name.
    pub fn ty(&self, name: &str) -> Option<&'static TypeDesc> {
        self.types.iter().find(|t| t.name == name)
    }
}

/// What a message is and which way it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// `message`: client to server, fire and forget.
    Message,
    /// `event`: server to client.
    Event,
    /// `rpc` request: client to server, answered.
    Request,
    /// An RPC's response: server to client.
    Response,
    /// An RPC's progress update: server to client.
    Progress,
}

impl MessageKind {
    /// Which way frames of this kind travel.
    pub fn direction(self) -> Direction {
        match self {
            MessageKind::Message | MessageKind::Request => Direction::ClientToServer,
            _ => Direction::ServerToClient,
        }
    }
}

/// Which way a message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Sent by clients, handled by the server.
    ClientToServer,
    /// Sent by the server (unicast or published).
    ServerToClient,
}

/// One message type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MessageDesc {
    /// The Rust name (`GetUser`).
    pub name: &'static str,
    /// The wire type (`GET_USER`).
    pub wire_type: &'static str,
    /// What it is.
    pub kind: MessageKind,
    /// Doc comment lines, joined by newlines.
    pub docs: &'static str,
    /// How frames carry `payload`: not at all, as `{}`, or as an object of [`fields`](Self::fields).
    pub payload: PayloadForm,
    /// The payload's fields.
    pub fields: &'static [FieldDesc],
    /// Declared extra meta fields.
    pub meta: &'static [FieldDesc],
    /// For a request: the Rust name of its response.
    pub response: Option<&'static str>,
    /// For a streaming request: the Rust name of its progress type.
    pub progress: Option<&'static str>,
    /// For a request: marked `#[idempotent]`.
    pub idempotent: bool,
    /// For a message: marked `#[subscription]`.
    pub subscription: bool,
}

/// One field of a payload, meta or nested type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FieldDesc {
    /// The Rust name (`user_id`).
    pub name: &'static str,
    /// The JSON key (`userId`).
    pub wire_name: &'static str,
    /// The type.
    pub ty: TypeRef,
    /// Doc comment lines, joined by newlines.
    pub docs: &'static str,
    /// The constraints checked by validation.
    pub constraints: &'static [Constraint],
}

/// A field's type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TypeRef {
    /// `String`.
    String,
    /// `bool`.
    Bool,
    /// An integer type, with its Rust name (`u8`, `i64`).
    Integer(&'static str),
    /// A float type, with its Rust name (`f32`, `f64`): an `f32` field's value is rounded to `f32`
    /// before its `range` is checked.
    Float(&'static str),
    /// `serde_json::Value`: any JSON.
    Json,
    /// `Option<T>`: may be omitted or `null`.
    Option(&'static TypeRef),
    /// `Vec<T>`.
    List(&'static TypeRef),
    /// A map with string keys.
    Map(&'static TypeRef),
    /// A `type` or `enum` declared in the protocol, by Rust name.
    Named(&'static str),
    /// A user's own type, by its Rust path as written.
    External(&'static str),
}

/// A validation rule on a field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Constraint {
    /// Length of a string (characters) or a collection (items), both ends inclusive.
    Length {
        /// Lower bound.
        min: Option<u64>,
        /// Upper bound.
        max: Option<u64>,
    },
    /// Numeric range, both ends inclusive.
    Range {
        /// Lower bound.
        min: Option<f64>,
        /// Upper bound.
        max: Option<f64>,
    },
    /// A regular expression the whole string must match (as written).
    Pattern(&'static str),
    /// An email address.
    Email,
    /// An absolute URL.
    Url,
    /// A UUID.
    Uuid,
    /// Constraints on every item of a collection (values of a map).
    Items(&'static [Constraint]),
    /// A user function, by its path as written.
    Custom(&'static str),
}

/// A shared nested type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TypeDesc {
    /// The Rust name (`Address`).
    pub name: &'static str,
    /// Doc comment lines, joined by newlines.
    pub docs: &'static str,
    /// Its shape.
    pub shape: TypeShape,
}

/// The shape of a nested type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TypeShape {
    /// An object with these fields.
    Struct(&'static [FieldDesc]),
    /// A string enum with these variants.
    Enum(&'static [VariantDesc]),
}

/// One variant of a string enum.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VariantDesc {
    /// The Rust name (`Admin`).
    pub name: &'static str,
    /// The string on the wire.
    pub wire_name: &'static str,
    /// Doc comment lines, joined by newlines.
    pub docs: &'static str,
}

/// How the frames of a message carry `payload` (PROTOCOL.md section 1).
///
/// ws-kit tells apart a message declared without a payload (`message("PING")`: no `payload` key)
/// and one whose payload is an empty object (`message("PING", {})`: `"payload":{}`). wskit writes
/// exactly the declared form and, inbound, accepts either for a message without fields.
///
/// ```
/// wskit::protocol! {
///     protocol Demo { message Ping; message Pong {} message Say { text: String } }
/// }
/// use wskit::{Message, PayloadForm};
/// assert_eq!(Ping::PAYLOAD, PayloadForm::None);
/// assert_eq!(Pong::PAYLOAD, PayloadForm::Empty);
/// assert_eq!(Say::PAYLOAD, PayloadForm::Fields);
/// assert!(!Ping::PAYLOAD.is_written() && Ping::PAYLOAD.may_be_absent());
/// assert!(Pong::PAYLOAD.is_written() && Pong::PAYLOAD.may_be_absent());
/// assert!(Say::PAYLOAD.is_written() && !Say::PAYLOAD.may_be_absent());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PayloadForm {
    /// Declared without a payload (`message Ping;`): frames have no `payload` key.
    None,
    /// Declared with an empty payload (`message Ping {}`): frames carry `"payload":{}`.
    Empty,
    /// A payload object with at least one field.
    Fields,
}

impl PayloadForm {
    /// Whether outbound frames carry a `payload` key.
    pub const fn is_written(self) -> bool {
        !matches!(self, PayloadForm::None)
    }

    /// Whether an inbound frame may leave `payload` out (the message has no fields).
    pub const fn may_be_absent(self) -> bool {
        !matches!(self, PayloadForm::Fields)
    }
}
