//! The mapping of the TypeScript and JSON Schema export, field by field. The generated code is
//! also compiled by `tsc --strict` and run against wskit's decoder in
//! `tests/tests/export_ts.rs` (ignored: it needs Node).

use serde_json::Value;
use wskit::Protocol;

wskit::protocol! {
    /// Mapping cases.
    protocol Map {
        /// A point. Ends with */ on purpose.
        type Point { x: i32, y: i32 }
        enum Color { Red, #[wire = "dark-blue"] DarkBlue }
        type Node { name: String, next: Vec<Node> }
        message Fields {
            /// The text.
            #[validate(length(min = 1, max = 3))] text: String,
            #[validate(pattern = "^[a-z]+$")] word: String,
            #[validate(pattern = "(?mR)^a")] crlf: String,
            #[validate(email)] mail: String,
            #[validate(uuid)] id: String,
            #[validate(range(min = 1, max = 10))] small: u8,
            big: u64,
            signed: i64,
            #[validate(range(min = 0.5))] ratio: f64,
            #[validate(range(min = 0.1, max = 1.1))] tiny: f32,
            free: f32,
            maybe: Option<u16>,
            #[validate(length(max = 2), items(range(max = 3)))] list: Vec<u8>,
            #[validate(length(min = 1))] map: std::collections::HashMap<String, bool>,
            any: serde_json::Value,
            point: Point,
            color: Option<Color>,
            own: crate::Own,
        } meta { #[wire = "trace"] trace_id: Option<String> }
        #[subscription]
        message Nothing;
        message Blank {}
        event Ticked { at: f64 }
        rpc Build(n: u32) -> Built { ok: bool } progress Building { done: u32 }
        #[idempotent]
        rpc Where() -> Point
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Own(u8);

impl wskit::Validate for Own {
    fn validate(&self, _: &wskit::validate::Path<'_>, _: &mut wskit::Issues) {}
}

fn ts() -> String {
    wskit::export::typescript(Map::description())
}

fn schema() -> Value {
    serde_json::from_str(&wskit::export::json_schema(Map::description())).unwrap()
}

#[test]
fn typescript_maps_each_field_type_and_constraint() {
    let ts = ts();
    let has = |s: &str| assert!(ts.contains(s), "missing {s:?} in\n{ts}");
    has("import { z } from \"zod\";\n");
    has(
        r#"text: z.string().refine((s) => $length(s) >= 1, "must have at least 1 character").refine((s) => $length(s) <= 3, "must have at most 3 characters"),"#,
    );
    has(r#"word: z.string().regex(/^[a-z]+$/u, "must match pattern ^[a-z]+$"),"#);
    has(
        "crlf: z.string() /* pattern `(?mR)^a` not checked here: it uses the CRLF line mode `(?R)` */,",
    );
    has(
        r#"id: z.string().regex(/^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/u, "must be a UUID"),"#,
    );
    has("small: z.int().min(1).max(10),");
    has(
        "big: z.int().min(0) /* u64: JavaScript numbers hold integers exactly only up to 2^53 - 1 */,",
    );
    has("signed: z.int() /* i64:");
    has("ratio: z.number().min(0.5),");
    // wskit rounds an f32 field's value to f32 before checking its range.
    has(
        r#"tiny: z.number().refine((v) => Math.fround(v) >= 0.1, "must be at least 0.1").refine((v) => Math.fround(v) <= 1.1, "must be at most 1.1"),"#,
    );
    // An f32 without a range: what rounds to an infinite f32 is refused.
    has(
        r#"free: z.number().refine((v) => Number.isFinite(Math.fround(v)), "expected number from -3.4028235e38 to 3.4028235e38"),"#,
    );
    has("maybe: z.int().min(0).max(65535).nullish(),");
    has("list: z.array(z.int().min(0).max(3)).max(2),");
    has(
        r#"map: z.record(z.string(), z.boolean()).refine((m) => Object.keys(m).length >= 1, "must have at least 1 item"),"#,
    );
    has("any: z.json(),");
    has("point: Point.payload,");
    has("color: Color.nullish(),");
    has(
        "own: z.unknown() /* `crate::Own`: a type of the application's own, not described: not checked here */,",
    );
    has("  meta: z.strictObject({\n    trace: z.string().nullish(),\n  }),");
    has("export const Color = z.enum([\"red\", \"dark-blue\"]);");
    // Docs as JSDoc, with `*/` made harmless.
    has("/** A point. Ends with *\\/ on purpose. */");
    has("    /** The text. */\n    text:");
    // Recursion through a getter.
    has(
        "export const Node = z.strictObject({\n  name: z.string(),\n  get next() {\n    return z.array(Node);\n  },\n});",
    );
}

#[test]
fn typescript_descriptors_follow_the_contract() {
    let ts = ts();
    let has = |s: &str| assert!(ts.contains(s), "missing {s:?} in\n{ts}");
    has(
        "export const Nothing = {\n  name: \"Nothing\",\n  type: \"NOTHING\",\n  kind: \"message\",\n  payloadForm: \"none\",\n  payload: z.undefined(),\n  meta: z.strictObject({}),\n  subscription: true,\n  idempotent: false,\n} as const;\nexport type Nothing = z.infer<typeof Nothing.payload>;",
    );
    has("  payloadForm: \"empty\",\n  payload: z.strictObject({}),");
    has(
        "  kind: \"event\",\n  payloadForm: \"fields\",\n  payload: z.strictObject({\n    at: z.number(),\n  }),\n  meta: z.strictObject({}),\n  subscription: false,",
    );
    has("  kind: \"request\",");
    has("  idempotent: true,\n  response: Point,\n  progress: undefined,\n} as const;");
    has("  response: Built,\n  progress: Building,\n} as const;");
    has(
        "export const Map = {\n  name: \"Map\",\n  messages: [Fields, Nothing, Blank],\n  events: [Ticked],\n  requests: [Build, Where],\n} as const;",
    );
    has("export const ErrorCode = z.enum([\"UNAUTHENTICATED\",");
    // Each descriptor comes after the ones it names.
    let at = |s: &str| ts.find(s).unwrap_or_else(|| panic!("no {s}"));
    assert!(at("export const Built = {") < at("export const Build = {"));
    assert!(at("export const Building = {") < at("export const Build = {"));
    assert!(at("export const Point = {") < at("export const Fields = {"));
    assert!(at("export const Color = ") < at("export const Fields = {"));
    // Frames and unions.
    has(
        "export const FieldsFrame = z.object({\n  type: z.literal(Fields.type),\n  meta: z.strictObject({ ...$meta, ...Fields.meta.shape }).nullish(),\n  payload: Fields.payload,\n});",
    );
    has(
        "export const NothingFrame = z.object({\n  type: z.literal(Nothing.type),\n  meta: z.strictObject({ ...$meta, ...Nothing.meta.shape }).nullish(),\n  payload: z.strictObject({}).optional(),\n});",
    );
    has(
        "export const ClientMessage = z.discriminatedUnion(\"type\", [\n  FieldsFrame,\n  NothingFrame,\n  BlankFrame,\n  BuildFrame,\n  WhereFrame,\n  z.object({ type: z.literal(\"$ws:abort\")",
    );
    has(
        "export const ServerMessage = z.discriminatedUnion(\"type\", [\n  TickedFrame,\n  BuiltFrame,\n  PointFrame,\n  z.object({ type: z.literal(\"RPC_ERROR\")",
    );
    has("const $progress = Building.payload;");
    assert!(
        !ts.contains("BuildingFrame"),
        "progress travels in $ws:rpc-progress frames"
    );
}

#[test]
fn json_schema_maps_each_field_type_and_constraint() {
    let s = schema();
    assert_eq!(s["$schema"], "https://json-schema.org/draft/2020-12/schema");
    let f = &s["$defs"]["Fields"];
    let p = &f["properties"];
    assert_eq!(f["additionalProperties"], false);
    assert_eq!(
        p["text"],
        serde_json::json!({"type": "string", "minLength": 1, "maxLength": 3, "description": "The text."})
    );
    assert_eq!(p["word"]["pattern"], "^[a-z]+$");
    assert!(p["crlf"]["$comment"].as_str().unwrap().contains("CRLF"));
    assert_eq!(
        p["small"],
        serde_json::json!({"type": "integer", "minimum": 1, "maximum": 10})
    );
    assert_eq!(p["big"]["maximum"], serde_json::json!(u64::MAX));
    assert_eq!(p["signed"]["minimum"], serde_json::json!(i64::MIN));
    assert_eq!(
        p["ratio"],
        serde_json::json!({"type": "number", "minimum": 0.5})
    );
    // The f64 thresholds of "rounded to f32, then within 0.1..=1.1".
    assert_eq!(
        p["tiny"],
        serde_json::json!({"type": "number", "exclusiveMinimum": 0.09999999776482582, "maximum": 1.0999999642372131})
    );
    // 2^128 - 2^103: the least number that rounds to an infinite f32.
    assert_eq!(
        p["free"],
        serde_json::json!({"type": "number", "exclusiveMaximum": 3.4028235677973366e38, "exclusiveMinimum": -3.4028235677973366e38})
    );
    assert_eq!(p["maybe"]["anyOf"][1], serde_json::json!({"type": "null"}));
    assert_eq!(
        p["list"],
        serde_json::json!({"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 3}, "maxItems": 2})
    );
    assert_eq!(
        p["map"],
        serde_json::json!({"type": "object", "additionalProperties": {"type": "boolean"}, "minProperties": 1})
    );
    assert_eq!(p["any"], serde_json::json!({}));
    assert_eq!(p["point"], serde_json::json!({"$ref": "#/$defs/Point"}));
    assert_eq!(
        p["color"]["anyOf"][0],
        serde_json::json!({"$ref": "#/$defs/Color"})
    );
    // Every field but the Options is required (an External one too: wskit requires it).
    let required: Vec<&str> = f["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        required.contains(&"own") && !required.contains(&"maybe") && !required.contains(&"color")
    );
    assert_eq!(
        s["$defs"]["Color"]["enum"],
        serde_json::json!(["red", "dark-blue"])
    );
    // Each payload carries its descriptor as an annotation.
    assert_eq!(
        s["$defs"]["Build"]["x-wskit"],
        serde_json::json!({"name": "Build", "type": "BUILD", "kind": "request", "payloadForm": "fields",
            "subscription": false, "idempotent": false, "response": "#/$defs/Built", "progress": "#/$defs/Building"})
    );
    assert_eq!(s["$defs"]["Nothing"]["x-wskit"]["subscription"], true);
    assert_eq!(s["$defs"]["Point"]["x-wskit"]["kind"], "response");
    // Frames: the type as a constant; meta with the standard keys and the declared ones.
    let frame = &s["$defs"]["FieldsFrame"];
    assert_eq!(frame["properties"]["type"]["const"], "FIELDS");
    assert_eq!(frame["required"], serde_json::json!(["type", "payload"]));
    let meta = &frame["properties"]["meta"];
    assert_eq!(meta["additionalProperties"], false);
    for key in [
        "correlationId",
        "timestamp",
        "timeoutMs",
        "clientId",
        "receivedAt",
        "trace",
    ] {
        assert!(meta["properties"].get(key).is_some(), "{key}");
    }
    assert_eq!(
        s["$defs"]["NothingFrame"]["required"],
        serde_json::json!(["type"])
    );
    let client = s["$defs"]["ClientMessage"]["oneOf"].as_array().unwrap();
    assert_eq!(client.len(), 5 + 2);
    let server = s["$defs"]["ServerMessage"]["oneOf"].as_array().unwrap();
    assert_eq!(server.len(), 3 + 4);
}

#[test]
fn output_is_deterministic() {
    assert_eq!(ts(), ts());
    assert_eq!(
        wskit::export::json_schema(Map::description()),
        wskit::export::json_schema(Map::description())
    );
}

wskit::protocol! {
    protocol Clash {
        type ErrorCode { code: String }
        message Ping {}
    }
}

#[test]
#[should_panic(
    expected = "the name `ErrorCode` is used by both the export's own `ErrorCode` and the type `ErrorCode`"
)]
fn a_clashing_name_is_named() {
    wskit::export::typescript(Clash::description());
}
