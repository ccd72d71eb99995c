//! The JSON Schema 2020-12 export (see [`json_schema`](super::json_schema)).

use serde_json::{Map, Value, json};

use super::regex_js;
use super::shape::{
    check_names, directions, f32_needs_finite_check, frame_name, int_bounds, progress,
};
use crate::describe::{
    Constraint, Direction, FieldDesc, MessageDesc, MessageKind, PayloadForm, ProtocolDesc, TypeRef,
    TypeShape,
};
use crate::validate::check::{EMAIL_PATTERN, URL_PATTERN, UUID_PATTERN};
use crate::wire::{ErrorCode, meta_keys, types};

pub(crate) fn generate(desc: &ProtocolDesc) -> Value {
    check_names(desc);
    let mut defs = Map::new();
    for t in desc.types {
        let mut schema = match t.shape {
            TypeShape::Struct(fields) => object(fields),
            TypeShape::Enum(variants) => {
                json!({ "enum": variants.iter().map(|v| v.wire_name).collect::<Vec<_>>() })
            }
        };
        described(&mut schema, t.name, t.docs);
        defs.insert(t.name.to_owned(), schema);
    }
    for m in desc.messages {
        if defs.contains_key(m.name) {
            // A `type` an rpc replies with: one definition.
            continue;
        }
        let mut schema = match m.payload {
            PayloadForm::Fields => object(m.fields),
            _ => object(&[]),
        };
        described(&mut schema, m.name, m.docs);
        defs.insert(m.name.to_owned(), schema);
    }
    // What the TypeScript descriptors say beyond the payload, as an annotation on each payload.
    for m in desc.messages {
        if let Some(Value::Object(def)) = defs.get_mut(m.name) {
            def.insert(DESCRIPTOR_KEYWORD.into(), descriptor(m));
        }
    }
    let (client, server) = directions(desc);
    for m in client.iter().chain(&server) {
        defs.insert(frame_name(m), frame(m));
    }
    defs.insert(
        "ErrorCode".into(),
        json!({
            "description": "The standard error codes (PROTOCOL.md section 3).",
            "enum": ErrorCode::STANDARD.iter().map(ErrorCode::as_str).collect::<Vec<_>>(),
        }),
    );
    defs.insert(
        "ErrorPayload".into(),
        json!({
            "description": "The payload of RPC_ERROR and ERROR frames: a standard code or an application's own.",
            "type": "object",
            "properties": {
                "code": { "anyOf": [{ "$ref": "#/$defs/ErrorCode" }, { "type": "string" }] },
                "message": { "type": ["string", "null"] },
                "details": {},
                "retryAfterMs": { "type": ["number", "null"] },
                "retryable": { "type": ["boolean", "null"] },
            },
            "required": ["code"],
        }),
    );
    let correlated = json!({
        "description": "wskit's client reads only a string correlationId here (to route the frame) and refuses no frame for its meta.",
    });
    let mut client_frames: Vec<Value> = client
        .iter()
        .map(|m| json!({ "$ref": format!("#/$defs/{}", frame_name(m)) }))
        .collect();
    client_frames.push(json!({
        "type": "object",
        "properties": {
            "type": { "const": types::ABORT },
            "meta": { "type": "object", "properties": { meta_keys::CORRELATION_ID: { "type": "string" } }, "required": [meta_keys::CORRELATION_ID] },
        },
        "required": ["type", "meta"],
    }));
    client_frames.push(json!({
        "type": "object",
        "properties": { "type": { "const": types::HEARTBEAT } },
        "required": ["type"],
    }));
    let mut server_frames: Vec<Value> = server
        .iter()
        .map(|m| json!({ "$ref": format!("#/$defs/{}", frame_name(m)) }))
        .collect();
    for ty in [types::RPC_ERROR, types::ERROR] {
        server_frames.push(json!({
            "type": "object",
            "properties": {
                "type": { "const": ty },
                "meta": correlated,
                "payload": { "$ref": "#/$defs/ErrorPayload" },
            },
            "required": ["type", "payload"],
        }));
    }
    let updates: Vec<Value> = progress(desc)
        .iter()
        .map(|m| json!({ "$ref": format!("#/$defs/{}", m.name) }))
        .collect();
    let update = if updates.is_empty() {
        json!({})
    } else {
        json!({ "anyOf": updates })
    };
    server_frames.push(json!({
        "description": "An rpc's progress: the update under `payload`, else (null or absent) under `data`.",
        "type": "object",
        "properties": {
            "type": { "const": types::RPC_PROGRESS },
            "meta": correlated,
            "payload": { "anyOf": [update, { "type": "null" }] },
        },
        "required": ["type"],
        "anyOf": [
            { "required": ["payload"], "properties": { "payload": { "not": { "type": "null" } } } },
            { "required": ["data"], "properties": { "data": update } },
        ],
    }));
    server_frames.push(json!({
        "type": "object",
        "properties": {
            "type": { "const": types::HEARTBEAT_ACK },
            "meta": { "description": "{\"ts\": <server time in ms>}" },
        },
        "required": ["type"],
    }));
    defs.insert(
        "ClientMessage".into(),
        json!({ "description": "Every frame a client sends.", "oneOf": client_frames }),
    );
    defs.insert(
        "ServerMessage".into(),
        json!({ "description": "Every frame the server sends.", "oneOf": server_frames }),
    );
    let mut root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": format!("urn:wskit:protocol:{}", desc.name),
        "title": desc.name,
    });
    if !desc.docs.is_empty() {
        root["description"] = desc.docs.into();
    }
    root["$comment"] = "Generated by wskit::export::json_schema: do not edit. A frame is one of $defs/ClientMessage or $defs/ServerMessage; patterns are ECMAScript with the u flag. Each message's payload carries its descriptor under the annotation keyword x-wskit (name, wire type, kind, payloadForm, subscription, idempotent; a request's response and progress).".into();
    root["anyOf"] =
        json!([{ "$ref": "#/$defs/ClientMessage" }, { "$ref": "#/$defs/ServerMessage" }]);
    root["$defs"] = Value::Object(defs);
    root
}

/// The annotation keyword that carries a message's descriptor (validators ignore it; ajv's strict
/// mode wants it declared: `ajv.addKeyword("x-wskit")`).
pub(crate) const DESCRIPTOR_KEYWORD: &str = "x-wskit";

fn descriptor(m: &MessageDesc) -> Value {
    let kind = match m.kind {
        MessageKind::Message => "message",
        MessageKind::Event => "event",
        MessageKind::Request => "request",
        MessageKind::Response => "response",
        MessageKind::Progress => "progress",
    };
    let form = match m.payload {
        PayloadForm::None => "none",
        PayloadForm::Empty => "empty",
        PayloadForm::Fields => "fields",
    };
    let mut d = json!({
        "name": m.name,
        "type": m.wire_type,
        "kind": kind,
        "payloadForm": form,
        "subscription": m.subscription,
        "idempotent": m.idempotent,
    });
    if m.kind == MessageKind::Request {
        d["response"] = m
            .response
            .map_or(Value::Null, |r| format!("#/$defs/{r}").into());
        d["progress"] = m
            .progress
            .map_or(Value::Null, |p| format!("#/$defs/{p}").into());
    }
    d
}

fn described(schema: &mut Value, title: &str, docs: &str) {
    if let Value::Object(map) = schema {
        let mut out = Map::new();
        out.insert("title".into(), title.into());
        if !docs.is_empty() {
            out.insert("description".into(), docs.into());
        }
        out.append(map);
        *map = out;
    }
}

/// A frame of message `m`: its type, meta (standard keys and declared ones), payload; other
/// top-level keys are allowed (and ignored by the server).
fn frame(m: &MessageDesc) -> Value {
    let mut meta_props = Map::new();
    meta_props.insert(
        meta_keys::CORRELATION_ID.into(),
        json!({ "type": "string" }),
    );
    meta_props.insert(meta_keys::TIMESTAMP.into(), json!({ "type": "number" }));
    meta_props.insert(
        meta_keys::TIMEOUT_MS.into(),
        json!({ "type": "number", "minimum": 0 }),
    );
    meta_props.insert(meta_keys::CLIENT_ID.into(), json!({}));
    meta_props.insert(meta_keys::RECEIVED_AT.into(), json!({}));
    let mut meta_required = Vec::new();
    for f in m.meta {
        meta_props.insert(f.wire_name.into(), field_schema(f));
        if !matches!(f.ty, TypeRef::Option(_)) {
            meta_required.push(f.wire_name);
        }
    }
    let server = m.kind.direction() == Direction::ServerToClient;
    let meta = if server {
        // wskit's client reads no meta of a server frame but the correlationId that routes a
        // reply: meta never makes it refuse one.
        let keys: Vec<&str> = [meta_keys::CORRELATION_ID, meta_keys::TIMESTAMP]
            .into_iter()
            .chain(m.meta.iter().map(|f| f.wire_name))
            .collect();
        json!({
            "description": format!(
                "Any value: wskit's client refuses no server frame for its meta. Written as an object with the keys {}.",
                keys.join(", ")
            ),
        })
    } else {
        json!({
            "type": if meta_required.is_empty() { json!(["object", "null"]) } else { json!("object") },
            "properties": meta_props,
            "required": meta_required,
            "additionalProperties": false,
        })
    };
    let mut required = vec!["type"];
    if !meta_required.is_empty() && !server {
        required.push("meta");
    }
    if m.payload == PayloadForm::Fields {
        required.push("payload");
    }
    json!({
        "title": frame_name(m),
        "description": format!("A {} frame as on the wire.", m.wire_type),
        "type": "object",
        "properties": {
            "type": { "const": m.wire_type },
            "meta": meta,
            "payload": { "$ref": format!("#/$defs/{}", m.name) },
        },
        "required": required,
    })
}

/// A strict object of these fields.
fn object(fields: &[FieldDesc]) -> Value {
    let mut props = Map::new();
    let mut required = Vec::new();
    for f in fields {
        props.insert(f.wire_name.into(), field_schema(f));
        if !matches!(f.ty, TypeRef::Option(_)) {
            required.push(f.wire_name);
        }
    }
    json!({
        "type": "object",
        "properties": props,
        "required": required,
        "additionalProperties": false,
    })
}

fn field_schema(f: &FieldDesc) -> Value {
    let mut s = schema(&f.ty, f.constraints);
    if !f.docs.is_empty()
        && let Value::Object(map) = &mut s
    {
        map.insert("description".into(), f.docs.into());
    }
    s
}

/// The schema of a value of type `ty` under `constraints`.
fn schema(ty: &TypeRef, constraints: &[Constraint]) -> Value {
    let mut s = Map::new();
    let mut notes: Vec<String> = Vec::new();
    match ty {
        TypeRef::Option(inner) => {
            return json!({ "anyOf": [schema(inner, constraints), { "type": "null" }] });
        }
        TypeRef::String => {
            s.insert("type".into(), "string".into());
            let mut patterns = Vec::new();
            for c in constraints {
                let pattern = match c {
                    Constraint::Length { min, max } => {
                        // JSON Schema counts code points, as wskit does.
                        if let Some(min) = min {
                            s.insert("minLength".into(), (*min).into());
                        }
                        if let Some(max) = max {
                            s.insert("maxLength".into(), (*max).into());
                        }
                        continue;
                    }
                    Constraint::Pattern(p) => *p,
                    Constraint::Email => EMAIL_PATTERN,
                    Constraint::Url => URL_PATTERN,
                    Constraint::Uuid => UUID_PATTERN,
                    _ => continue,
                };
                match regex_js::to_js(pattern) {
                    Ok(js) => patterns.push(js),
                    Err(e) => {
                        notes.push(format!("pattern `{pattern}` not checked here: it {}", e.0))
                    }
                }
            }
            match patterns.len() {
                0 => {}
                1 => {
                    s.insert("pattern".into(), patterns.remove(0).into());
                }
                _ => {
                    let all: Vec<Value> = patterns
                        .into_iter()
                        .map(|p| json!({ "pattern": p }))
                        .collect();
                    s.insert("allOf".into(), all.into());
                }
            }
        }
        TypeRef::Bool => {
            s.insert("type".into(), "boolean".into());
        }
        TypeRef::Integer(int) => {
            s.insert("type".into(), "integer".into());
            let (lo, hi) = int_bounds(int);
            let (mut min, mut max): (Value, Value) = (json_int(lo), json_int(hi));
            for c in constraints {
                if let Constraint::Range {
                    min: rmin,
                    max: rmax,
                } = c
                {
                    if let Some(r) = rmin.filter(|r| *r > lo as f64) {
                        min = json_f64(r);
                    }
                    if let Some(r) = rmax.filter(|r| *r < hi as f64) {
                        max = json_f64(r);
                    }
                }
            }
            s.insert("minimum".into(), min);
            s.insert("maximum".into(), max);
        }
        TypeRef::Float(float) => {
            s.insert("type".into(), "number".into());
            for c in constraints {
                if let Constraint::Range { min, max } = c {
                    let f32 = *float == "f32";
                    if let Some(min) = min {
                        let (bound, inclusive) = if f32 { f32_lower(*min) } else { (*min, true) };
                        let key = if inclusive {
                            "minimum"
                        } else {
                            "exclusiveMinimum"
                        };
                        s.insert(key.into(), json_f64(bound));
                    }
                    if let Some(max) = max {
                        let (bound, inclusive) = if f32 { f32_upper(*max) } else { (*max, true) };
                        let key = if inclusive {
                            "maximum"
                        } else {
                            "exclusiveMaximum"
                        };
                        s.insert(key.into(), json_f64(bound));
                    }
                }
            }
            if *float == "f32" && f32_needs_finite_check(constraints) {
                // Beyond these a number rounds to an infinite f32, which wskit refuses.
                let limit = f32_overflow();
                s.entry("exclusiveMaximum").or_insert(json_f64(limit));
                s.entry("exclusiveMinimum").or_insert(json_f64(-limit));
            }
        }
        TypeRef::Json => {}
        TypeRef::List(item) => {
            s.insert("type".into(), "array".into());
            s.insert("items".into(), schema(item, items_of(constraints)));
            for c in constraints {
                if let Constraint::Length { min, max } = c {
                    if let Some(min) = min {
                        s.insert("minItems".into(), (*min).into());
                    }
                    if let Some(max) = max {
                        s.insert("maxItems".into(), (*max).into());
                    }
                }
            }
        }
        TypeRef::Map(value) => {
            s.insert("type".into(), "object".into());
            s.insert(
                "additionalProperties".into(),
                schema(value, items_of(constraints)),
            );
            for c in constraints {
                if let Constraint::Length { min, max } = c {
                    if let Some(min) = min {
                        s.insert("minProperties".into(), (*min).into());
                    }
                    if let Some(max) = max {
                        s.insert("maxProperties".into(), (*max).into());
                    }
                }
            }
        }
        TypeRef::Named(name) => {
            s.insert("$ref".into(), format!("#/$defs/{name}").into());
        }
        TypeRef::External(path) => {
            notes.push(format!(
                "`{path}`: a type of the application's own, not described: not checked here"
            ));
        }
    }
    for c in constraints {
        if let Constraint::Custom(path) = c {
            notes.push(format!("custom rule `{path}`: checked by the server only"));
        }
    }
    if !notes.is_empty() {
        s.insert("$comment".into(), notes.join("; ").into());
    }
    Value::Object(s)
}

/// For an `f32` field, whose value wskit rounds to `f32` before checking `min <= value`: the
/// `f64` threshold that says the same of the JSON number, and whether it is inclusive. A number
/// rounds to the smallest `f32` at or above `min` (or higher) exactly when it is above the
/// midpoint below that `f32`, or on it when the tie goes to it (an even mantissa).
fn f32_lower(min: f64) -> (f64, bool) {
    if min.is_nan() || min.abs() > f64::from(f32::MAX) {
        return (min, true);
    }
    let mut m = min as f32;
    if f64::from(m) < min {
        m = m.next_up();
    }
    let mid = (f64::from(m.next_down()) + f64::from(m)) / 2.0;
    (mid, m.to_bits().is_multiple_of(2))
}

/// The least number that rounds to an infinite `f32`: the midpoint between `f32::MAX` and the
/// next power of two, 2^128 - 2^103 (the tie goes to the even mantissa, infinity's).
fn f32_overflow() -> f64 {
    let max = f64::from(f32::MAX);
    max + (2f64.powi(128) - max) / 2.0
}

/// [`f32_lower`] for `value <= max`.
fn f32_upper(max: f64) -> (f64, bool) {
    let (mid, inclusive) = f32_lower(-max);
    (-mid, inclusive)
}

fn json_int(v: i128) -> Value {
    match (i64::try_from(v), u64::try_from(v)) {
        (Ok(i), _) => i.into(),
        (_, Ok(u)) => u.into(),
        _ => Value::Null,
    }
}

fn json_f64(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        (v as i64).into()
    } else {
        serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
    }
}

/// The constraints on the items of a collection.
fn items_of(constraints: &[Constraint]) -> &'static [Constraint] {
    constraints
        .iter()
        .find_map(|c| match c {
            Constraint::Items(items) => Some(*items),
            _ => None,
        })
        .unwrap_or(&[])
}
