//! Export a protocol's description to TypeScript (zod 4) and to JSON Schema 2020-12, so that a
//! browser or Node app, or a ws-kit server, shares the Rust declaration instead of a copy.
//!
//! ```
//! wskit::protocol! {
//!     /// A chat.
//!     pub protocol Chat {
//!         /// Enter a room.
//!         message JoinRoom { #[validate(length(min = 1, max = 64))] room_id: String }
//!         event UserJoined { room_id: String, user: String }
//!     }
//! }
//! use wskit::Protocol;
//! let ts = wskit::export::typescript(Chat::description());
//! assert!(ts.contains("export const JoinRoom = {"));
//! assert!(ts.contains(r#"type: "JOIN_ROOM","#));
//! let schema: serde_json::Value =
//!     serde_json::from_str(&wskit::export::json_schema(Chat::description())).unwrap();
//! assert_eq!(schema["$defs"]["JoinRoom"]["properties"]["roomId"]["maxLength"], 64);
//! ```
//!
//! # The TypeScript file
//!
//! One `import { z } from "zod"` (zod 4), then, each after what it names:
//!
//! - every `type` as a strict object schema and every `enum` as `z.enum`, with its inferred type;
//! - a descriptor per message, event, rpc request, response and progress type:
//!   `{ name, type, kind, payloadForm, payload, meta, subscription, idempotent }` (requests also
//!   `response` and `progress`: the descriptors themselves), `as const`, and the payload's
//!   inferred type under the same name;
//! - the protocol, `{ name, messages, events, requests }`;
//! - `ErrorCode`, `ErrorPayload`, a schema per frame (`JoinRoomFrame`: `{type, meta, payload}` as
//!   on the wire, other top-level keys ignored), and the unions on `type`: `ClientMessage`
//!   (messages, requests, `$ws:abort`, `__heartbeat`) and `ServerMessage` (events, responses,
//!   `RPC_ERROR`, `ERROR`, `$ws:rpc-progress`, `__heartbeat_ack`).
//!
//! A client frame is checked as the server checks it (strict meta: the standard keys and the
//! declared ones); a server frame as wskit's client reads it: its payload strictly, its meta
//! never a reason to refuse it (typed when it fits, `undefined` otherwise), since the client
//! reads only the correlationId that routes a reply and a publication's meta is the publisher's.
//!
//! Field keys are the wire names; doc comments become JSDoc. Mapping, chosen so that a schema
//! accepts what wskit's decoder accepts:
//!
//! | Rust | zod | JSON Schema |
//! |---|---|---|
//! | `String`, `length` | `z.string()`, a check in Unicode code points (zod's `min`/`max` count UTF-16 units) | `minLength`/`maxLength` |
//! | `pattern` | `.regex(/../u)`: the `regex` crate's meaning written as ECMAScript, anchored only as written (wskit's check is `is_match`) | `pattern` |
//! | `email`, `url`, `uuid` | `.regex(..)` with wskit's own rule (zod's `z.uuid()` refuses ids wskit accepts) | `pattern` |
//! | integers, `range` | `z.int()` with the bounds of the type and of `range` | `integer`, `minimum`/`maximum` |
//! | `f32`, `f64`, `range` | `z.number()` with the bounds; for `f32`, checked on `Math.fround(v)` (wskit rounds the value to `f32` first) | `number`, `minimum`/`maximum` (for `f32`, the thresholds of the rounded value) |
//! | `Option<T>` | `.nullish()` (omitted or `null`) | not required, `anyOf [T, null]` |
//! | `Vec<T>`, maps | `z.array`, `z.record(z.string(), ..)` | `array`, `object` with `additionalProperties` |
//! | `serde_json::Value` | `z.json()` | `{}` |
//! | a type of your own (External), `custom` rules | `z.unknown()` / no check, with a comment | `{}` / a `$comment` |
//!
//! What cannot agree, because of JavaScript itself: integers beyond 2^53 - 1 (`u64`, `i64`) lose
//! precision in `JSON.parse` and `z.int()` refuses them; a repeated key in an object keeps its last
//! value in `JSON.parse` while wskit refuses the frame; a value of an External type may be left out
//! on the zod side (`z.unknown()` is optional); a lone UTF-16 surrogate (`"\ud800"`) is a string
//! to `JSON.parse` but not to wskit; zod cannot check a key named `__proto__` (it reads the
//! object's prototype where the key is absent), so do not give a field that wire name. A pattern with no ECMAScript equivalent (the CRLF mode
//! `(?R)`) is left unchecked with a comment saying so ([`ecmascript_pattern`]). The regex crate
//! never backtracks; a browser's RegExp may, so a pattern that is slow to reject there (nested
//! quantifiers) is slow on the client only.
//!
//! # Panics
//!
//! Both functions panic, naming both, when a name of the protocol is one the export gives to
//! something else (`ClientMessage`, `ServerMessage`, `ErrorCode`, `ErrorPayload`, the protocol's
//! own name, or `<Message>Frame`).

mod json_schema;
mod regex_js;
mod shape;
mod typescript;

use crate::describe::ProtocolDesc;

/// The protocol as a TypeScript module of zod 4 schemas and descriptors (see the
/// [module docs](self)). Deterministic: the same description gives the same text.
///
/// ```
/// wskit::protocol! {
///     protocol Demo { #[idempotent] rpc GetUser(user_id: u32) -> User { name: String } }
/// }
/// use wskit::Protocol;
/// let ts = wskit::export::typescript(Demo::description());
/// assert!(ts.starts_with("// Generated by wskit::export::typescript"));
/// assert!(ts.contains("userId: z.int().min(0).max(4294967295),"));
/// assert!(ts.contains("  response: User,\n"));
/// ```
///
/// # Panics
///
/// When a name of the protocol is one the export gives to something else (see the
/// [module docs](self#panics)); the message names both.
pub fn typescript(desc: &ProtocolDesc) -> String {
    typescript::generate(desc)
}

/// The protocol as a JSON Schema (draft 2020-12) document, pretty-printed: `$defs` holds each
/// type, each message's payload, each frame and the unions `ClientMessage` and `ServerMessage`;
/// the root accepts any frame of either. Deterministic.
///
/// ```
/// wskit::protocol! {
///     protocol Demo { message Say { #[validate(pattern = "^[a-z]+$")] text: String } }
/// }
/// use wskit::Protocol;
/// let schema: serde_json::Value =
///     serde_json::from_str(&wskit::export::json_schema(Demo::description())).unwrap();
/// assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
/// assert_eq!(schema["$defs"]["Say"]["properties"]["text"]["pattern"], "^[a-z]+$");
/// ```
///
/// # Panics
///
/// As [`typescript`]: when a name of the protocol is one the export gives to something else.
pub fn json_schema(desc: &ProtocolDesc) -> String {
    let mut text = serde_json::to_string_pretty(&json_schema::generate(desc))
        .expect("a JSON value serializes");
    text.push('\n');
    text
}

/// A `regex` pattern (as `#[validate(pattern = "..")]` takes it) as the source of an ECMAScript
/// `RegExp`, to compile with the `u` flag, that matches exactly the strings
/// `regex::Regex::new(pattern)?.is_match` matches: what both exports write for `pattern`.
///
/// Written from the `regex` crate's own parse of the pattern (flags applied, character classes as
/// explicit ranges of code points), so Rust's meaning survives: Unicode `\d`, `\w`, `\s` and
/// `\b`, `(?i)`, `(?m)`, `(?s)`, `.` (which excludes only `\n`). `/` is escaped, so the source can
/// go between slashes; non-ASCII characters are written as `\u{..}`.
///
/// ```
/// assert_eq!(wskit::export::ecmascript_pattern("^[a-z]+$").unwrap(), "^[a-z]+$");
/// assert_eq!(wskit::export::ecmascript_pattern("(?i)ok").unwrap(), "[Oo][Kk\\u{212a}]");
/// assert!(wskit::export::ecmascript_pattern("(").is_err());
/// ```
pub fn ecmascript_pattern(pattern: &str) -> Result<String, UntranslatablePattern> {
    regex_js::to_js(pattern).map_err(|e| UntranslatablePattern {
        pattern: pattern.to_owned(),
        reason: e.0,
    })
}

/// A pattern with no ECMAScript equivalent (or not a valid pattern at all).
///
/// ```
/// let e = wskit::export::ecmascript_pattern("(?mR)^a").unwrap_err();
/// assert_eq!(e.to_string(), "pattern `(?mR)^a` has no ECMAScript equivalent: it uses the CRLF line mode `(?R)`");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UntranslatablePattern {
    /// The pattern as given.
    pub pattern: String,
    /// Why, as a phrase after "it" ("uses the CRLF line mode `(?R)`").
    pub reason: String,
}

impl std::fmt::Display for UntranslatablePattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pattern `{}` has no ECMAScript equivalent: it {}",
            self.pattern, self.reason
        )
    }
}

impl std::error::Error for UntranslatablePattern {}
