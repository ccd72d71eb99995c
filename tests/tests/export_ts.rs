//! The TypeScript and JSON Schema export of a protocol that uses every field type and constraint,
//! checked by real tools: `tsc --strict` type-checks the generated zod module (and a file that
//! uses its types, `tests/ts-export/usage.ts`), and a table of frames goes to Node, where the zod
//! unions and the JSON Schema (ajv 8, `Ajv2020`) must accept exactly the frames wskit's decoder
//! accepts (`decode_frame_reference`), apart from the documented limits of JavaScript numbers and
//! `JSON.parse`.
//!
//! Needs Node and the npm packages of `tests/ts-export/` (`npm ci` there; `.ci/run` does it). Run
//! with `cargo test -p wskit-tests --test main export_ts -- --ignored`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use wskit::Protocol;
use wskit::describe::{FieldDesc, MessageDesc, MessageKind, TypeRef};
use wskit::validate::decode_payload;
use wskit::wire::{InboundFrame, decode_frame_reference, error_payload, progress_update, types};

pub mod money {
    /// A type of the application's own: exported as `z.unknown()`.
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    pub struct Money {
        pub cents: i64,
    }

    impl wskit::Validate for Money {
        fn validate(&self, _: &wskit::validate::Path<'_>, _: &mut wskit::Issues) {}
    }

    /// A custom rule: the export leaves it to the server.
    pub fn even(v: &u32) -> Result<(), String> {
        if v.is_multiple_of(2) {
            Ok(())
        } else {
            Err("must be even".into())
        }
    }
}

wskit::protocol! {
    /// Every field type and constraint the DSL has. A doc with a */ in it.
    pub protocol Everything {
        /// A tree, recursive through a list.
        type Tree { label: String, children: Vec<Tree> }
        /// A role.
        enum Role {
            /// Can do everything.
            Admin,
            #[wire = "plain-user"] User,
        }
        type Address {
            #[validate(length(min = 2, max = 3))] country: String,
            street: Option<String>,
        }
        /// All strings and their rules.
        #[subscription]
        message Strings {
            plain: String,
            #[validate(length(min = 1, max = 3))] short: String,
            #[validate(pattern = r"^\d{2}-[a-z]+$")] digits: String,
            #[validate(pattern = "(?i)^ab")] prefix: String,
            #[validate(pattern = r"\bcat\b")] word: String,
            #[validate(pattern = "^a.c$")] dot: String,
            #[validate(email)] email: String,
            #[validate(url)] url: String,
            #[validate(uuid)] id: String,
            #[validate(length(max = 5), pattern = "^[^x]*$")] both: Option<String>,
            #[wire = "odd-key"] odd: bool,
        }
        /// All numbers.
        message Numbers {
            a: u8, b: u16, c: u32, d: u64, e: i8, f: i16, g: i32, h: i64, x: f32, y: f64,
            #[validate(range(min = 1, max = 10))] ranged: u32,
            #[validate(range(min = -1.5, max = 2.5))] ratio: f64,
            #[validate(range(min = 0.1, max = 1.1))] small: f32,
            #[validate(custom = crate::export_ts::money::even)] even: u32,
        }
        /// Collections and nesting.
        message Nested {
            #[validate(length(min = 1, max = 2), items(length(max = 2)))] tags: Vec<String>,
            #[validate(length(max = 2), items(range(max = 5)))] counts: HashMap<String, u8>,
            sorted: BTreeMap<String, Vec<Option<u32>>>,
            tree: Tree,
            role: Role,
            home: Option<Address>,
            homes: Vec<Address>,
            raw: serde_json::Value,
            total: crate::export_ts::money::Money,
        } meta { #[validate(length(min = 1))] trace_id: String, tenant: Option<u32> }
        message Bare;
        message Empty {}
        event Happened { role: Role, at: Option<f64> } meta { region: Option<String> }
        event Quiet {}
        /// A reply that is a shared type.
        #[idempotent]
        rpc Fetch(id: u32) -> Address
        rpc Export(rows: u8) -> Exported { done: u8 } progress Step { done: u8, of: u8 }
        rpc Ping() -> Pong {}
    }
}

/// The Node package of this check, with its dependencies installed.
fn package() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("ts-export");
    assert!(
        dir.join("node_modules/typescript").exists() && dir.join("node_modules/ajv").exists(),
        "run `npm ci` in {} first (.ci/run does)",
        dir.display()
    );
    dir
}

fn run(dir: &Path, program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{program} {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The generated module and schema, written to `tests/ts-export/gen/` and compiled by `tsc
/// --strict` together with `usage.ts`.
fn generate_and_compile() -> PathBuf {
    let dir = package();
    let gen_dir = dir.join("gen");
    std::fs::create_dir_all(&gen_dir).unwrap();
    let d = Everything::description();
    std::fs::write(gen_dir.join("everything.ts"), wskit::export::typescript(d)).unwrap();
    std::fs::write(
        gen_dir.join("everything.schema.json"),
        wskit::export::json_schema(d),
    )
    .unwrap();
    run(
        &dir,
        "node",
        &["node_modules/typescript/bin/tsc", "-p", "tsconfig.json"],
    );
    dir
}

/// Which side may disagree with wskit on a frame, and why (the limits the export documents).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Limit {
    None,
    /// An integer beyond 2^53 - 1: `z.int()` refuses it (JSON.parse cannot hold it exactly).
    ZodBigInt,
    /// A type of the application's own or a custom rule: not checked by either export.
    Unchecked,
    /// An External field left out: `z.unknown()` is optional; the JSON Schema requires it.
    ZodExternalAbsent,
    /// A repeated key: `JSON.parse` keeps the last value, wskit refuses the frame.
    DuplicateKey,
}

struct Frame {
    dir: &'static str,
    text: String,
    limit: Limit,
    what: String,
}

/// Candidate values (JSON text) for a field of type `ty`, each with the limit it may hit.
fn candidates(ty: &TypeRef, depth: usize) -> Vec<(String, Limit)> {
    let plain = |v: &[&str]| {
        v.iter()
            .map(|s| (s.to_string(), Limit::None))
            .collect::<Vec<_>>()
    };
    let mut out = match ty {
        TypeRef::String => plain(&[
            r#""""#,
            r#""a""#,
            r#""ab""#,
            r#""abc""#,
            r#""abcd""#,
            r#""abcdef""#,
            r#""😀""#,
            r#""😀😀😀""#,
            r#""😀😀😀😀""#,
            r#""12-abc""#,
            r#""١٢-abc""#,
            r#""1-abc""#,
            r#""AB""#,
            r#""Abc""#,
            r#""xab""#,
            r#""cat""#,
            r#""a cat!""#,
            r#""concat""#,
            r#""caté""#,
            r#""écat""#,
            r#""a\nc""#,
            r#""a\rc""#,
            r#""a😀c""#,
            r#""a\u2028c""#,
            r#""ada@example.com""#,
            r#""ada@""#,
            r#""a b@c.de""#,
            r#""ada@ex-.com""#,
            r#""https://example.com/a?b""#,
            r#""example.com""#,
            r#""http://ex ample.com""#,
            r#""http://u@h/p""#,
            r#""67e55044-10b1-426f-9247-bb680e5fe0c8""#,
            r#""67E55044-10B1-026F-0247-BB680E5FE0C8""#,
            r#""67e55044""#,
            r#""xx""#,
            r#""x""#,
            "null",
            "1",
            "true",
            "[]",
            "{}",
        ]),
        TypeRef::Bool => plain(&["true", "false", "null", "0", r#""true""#]),
        TypeRef::Integer(int) => {
            let mut v = plain(&[
                "0",
                "1",
                "-1",
                "2",
                "3",
                "5",
                "6",
                "10",
                "11",
                "127",
                "128",
                "-128",
                "-129",
                "255",
                "256",
                "65535",
                "65536",
                "4294967295",
                "4294967296",
                "2147483647",
                "-2147483648",
                "-2147483649",
                "1.0",
                "1.5",
                "1e2",
                "-0",
                r#""1""#,
                "null",
                "true",
                "9007199254740991",
            ]);
            let big = if matches!(*int, "u64" | "i64") {
                Limit::ZodBigInt
            } else {
                Limit::None
            };
            for n in ["9007199254740992", "9007199254740993", "-9007199254740993"] {
                v.push((n.to_string(), big));
            }
            v
        }
        TypeRef::Float(_) => plain(&[
            "0",
            "-1.5",
            "-1.6",
            "2.5",
            "2.6",
            "1e308",
            "1e39",
            "-1e39",
            // Around the least number that rounds to an infinite f32 (2^128 - 2^103).
            "3.4028235677973366e38",
            "3.4028235677973362e38",
            "-3.4028235677973366e38",
            "3.4028235e38",
            "1.5",
            r#""1""#,
            "null",
            // Around the f32 bounds 0.1 and 1.1: an f32 field's value is rounded to f32 first.
            "0.1",
            "0.09999999776482582",
            "0.09999999776482583",
            "0.0999999977648258",
            "0.099999994",
            "1.1",
            "1.0999999642372131",
            "1.0999999642372132",
            "1.09999996",
            "1.0999999",
        ]),
        TypeRef::Json => plain(&["null", "1", r#""s""#, r#"[1,{"a":null}]"#, "{}"]),
        TypeRef::Option(inner) => {
            let mut v = candidates(inner, depth);
            v.push(("null".into(), Limit::None));
            v
        }
        TypeRef::List(item) => {
            let mut v = plain(&["[]", "null", "{}", r#""x""#]);
            if depth < 1 {
                for (c, limit) in candidates(item, depth + 1) {
                    v.push((format!("[{c}]"), limit));
                    v.push((format!("[{c},{c}]"), limit));
                    v.push((format!("[{c},{c},{c}]"), limit));
                }
            }
            v
        }
        TypeRef::Map(value) => {
            let mut v = plain(&["{}", "null", "[]"]);
            v.push((r#"{"a":1,"a":2}"#.into(), Limit::DuplicateKey));
            if depth < 1 {
                for (c, limit) in candidates(value, depth + 1) {
                    v.push((format!(r#"{{"k":{c}}}"#), limit));
                    v.push((format!(r#"{{"a":{c},"b":{c},"c":{c}}}"#), limit));
                }
            }
            v
        }
        TypeRef::Named("Tree") => plain(&[
            r#"{"label":"r","children":[]}"#,
            r#"{"label":"r","children":[{"label":"c","children":[]}]}"#,
            r#"{"label":"r"}"#,
            r#"{"label":"r","children":[{"label":1,"children":[]}]}"#,
            r#"{"label":"r","children":[{"label":"c","children":[],"x":1}]}"#,
            r#"{"label":"r","children":null}"#,
        ]),
        TypeRef::Named("Address") => plain(&[
            r#"{"country":"fr"}"#,
            r#"{"country":"f"}"#,
            r#"{"country":"😀😀"}"#,
            r#"{"country":"fr","street":null}"#,
            r#"{"country":"fr","street":1}"#,
            r#"{"country":"fr","x":1}"#,
            r#"{}"#,
        ]),
        TypeRef::Named("Role") => plain(&[
            r#""admin""#,
            r#""plain-user""#,
            r#""Admin""#,
            r#""user""#,
            "1",
            r#"{"admin":null}"#,
        ]),
        TypeRef::Named(other) => panic!("no candidates for {other}"),
        TypeRef::External(_) => vec![
            (r#"{"cents":1}"#.into(), Limit::None),
            (r#"{"cents":"x"}"#.into(), Limit::Unchecked),
            ("null".into(), Limit::Unchecked),
        ],
    };
    // Named types and the rest are also not objects/strings.
    if matches!(ty, TypeRef::Named(_)) {
        out.extend([("null".into(), Limit::None), (r#""x""#.into(), Limit::None)]);
    }
    out
}

/// A valid payload of each message, as (key, JSON text) pairs.
fn base(m: &MessageDesc) -> Vec<(&'static str, &'static str)> {
    match m.wire_type {
        "STRINGS" => vec![
            ("plain", r#""p""#),
            ("short", r#""ab""#),
            ("digits", r#""12-ab""#),
            ("prefix", r#""abc""#),
            ("word", r#""a cat""#),
            ("dot", r#""abc""#),
            ("email", r#""ada@example.com""#),
            ("url", r#""https://example.com""#),
            ("id", r#""67e55044-10b1-426f-9247-bb680e5fe0c8""#),
            ("both", r#""ok""#),
            ("odd-key", "true"),
        ],
        "NUMBERS" => vec![
            ("a", "1"),
            ("b", "1"),
            ("c", "1"),
            ("d", "1"),
            ("e", "1"),
            ("f", "1"),
            ("g", "1"),
            ("h", "1"),
            ("x", "1.5"),
            ("y", "1.5"),
            ("ranged", "5"),
            ("ratio", "0"),
            ("small", "0.5"),
            ("even", "2"),
        ],
        "NESTED" => vec![
            ("tags", r#"["a"]"#),
            ("counts", r#"{"k":1}"#),
            ("sorted", r#"{"k":[1,null]}"#),
            (
                "tree",
                r#"{"label":"r","children":[{"label":"c","children":[]}]}"#,
            ),
            ("role", r#""admin""#),
            ("home", r#"{"country":"fr"}"#),
            ("homes", "[]"),
            ("raw", r#"{"any":[1]}"#),
            ("total", r#"{"cents":5}"#),
        ],
        "HAPPENED" => vec![("role", r#""plain-user""#), ("at", "1.5")],
        "FETCH" => vec![("id", "1")],
        "ADDRESS" => vec![("country", r#""fr""#), ("street", r#""x""#)],
        "EXPORT" => vec![("rows", "3")],
        "EXPORTED" | "STEP" => vec![("done", "3"), ("of", "3")]
            .into_iter()
            .filter(|(k, _)| m.fields.iter().any(|f| f.wire_name == *k))
            .collect(),
        _ => vec![],
    }
}

fn object(pairs: &[(&str, String)]) -> String {
    let body: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}:{v}", serde_json::to_string(k).unwrap()))
        .collect();
    format!("{{{}}}", body.join(","))
}

fn base_meta(m: &MessageDesc) -> &'static str {
    match m.wire_type {
        "NESTED" => r#"{"correlationId":"c-1","traceId":"t"}"#,
        _ => r#"{"correlationId":"c-1"}"#,
    }
}

/// The field's limit when left out.
fn absent_limit(f: &FieldDesc) -> Limit {
    if matches!(f.ty, TypeRef::External(_)) {
        Limit::ZodExternalAbsent
    } else {
        Limit::None
    }
}

fn field_limit(f: &FieldDesc, limit: Limit) -> Limit {
    let custom = f
        .constraints
        .iter()
        .any(|c| matches!(c, wskit::describe::Constraint::Custom(_)));
    if custom && limit == Limit::None {
        Limit::Unchecked
    } else {
        limit
    }
}

/// Every frame of the table: each message's valid frame, each field replaced by each candidate
/// or left out, and variations of the envelope, meta and payload.
fn table() -> Vec<Frame> {
    let d = Everything::description();
    let mut frames = Vec::new();
    for m in d.messages {
        let dir = match m.kind {
            MessageKind::Message | MessageKind::Request => "client",
            _ => "server",
        };
        let pairs: Vec<(&str, String)> = base(m)
            .into_iter()
            .map(|(k, v)| (k, v.to_owned()))
            .collect();
        let payload = object(&pairs);
        let frame = |meta: Option<&str>, payload: Option<&str>| {
            let mut s = format!(
                r#"{{"type":{}"#,
                serde_json::to_string(m.wire_type).unwrap()
            );
            if let Some(meta) = meta {
                s.push_str(&format!(r#","meta":{meta}"#));
            }
            if let Some(p) = payload {
                s.push_str(&format!(r#","payload":{p}"#));
            }
            s.push('}');
            s
        };
        if m.kind == MessageKind::Progress {
            // Progress travels in `$ws:rpc-progress` frames, under `payload`, else `data`.
            let progress = |payload: Option<&str>, data: Option<&str>| {
                let mut s = format!(
                    r#"{{"type":"{}","meta":{{"correlationId":"c-1"}}"#,
                    types::RPC_PROGRESS
                );
                if let Some(p) = payload {
                    s.push_str(&format!(r#","payload":{p}"#));
                }
                if let Some(p) = data {
                    s.push_str(&format!(r#","data":{p}"#));
                }
                s.push('}');
                s
            };
            let bad = r#"{"done":"x"}"#;
            for (p, dd) in [
                (Some(payload.as_str()), None),
                (None, Some(payload.as_str())),
                (Some(payload.as_str()), Some(payload.as_str())),
                (Some(payload.as_str()), Some(bad)),
                (Some(bad), Some(payload.as_str())),
                (Some("null"), Some(payload.as_str())),
                (Some("null"), Some(bad)),
                (None, None),
                (Some("{}"), None),
            ] {
                frames.push(Frame {
                    dir,
                    text: progress(p, dd),
                    limit: Limit::None,
                    what: format!("{} progress", m.name),
                });
            }
            for f in m.fields {
                for (v, limit) in candidates(&f.ty, 0) {
                    let mut changed = pairs.clone();
                    changed
                        .iter_mut()
                        .filter(|(k, _)| *k == f.wire_name)
                        .for_each(|(_, old)| *old = v.clone());
                    frames.push(Frame {
                        dir,
                        text: progress(Some(&object(&changed)), None),
                        limit,
                        what: format!("{}.{}", m.name, f.wire_name),
                    });
                }
            }
            continue;
        }
        let has_fields = !m.fields.is_empty();
        let body = if m.payload == wskit::PayloadForm::None {
            None
        } else {
            Some(payload.as_str())
        };
        let meta = base_meta(m);
        let mut push = |text: String, limit: Limit, what: &str| {
            frames.push(Frame {
                dir,
                text,
                limit,
                what: format!("{}: {what}", m.name),
            });
        };
        push(frame(Some(meta), body), Limit::None, "valid");
        for v in [
            "null",
            "{}",
            "[]",
            r#""x""#,
            r#"{"correlationId":1}"#,
            r#"{"correlationId":null}"#,
            r#"{"timestamp":1.5}"#,
            r#"{"timestamp":"x"}"#,
            r#"{"timeoutMs":5}"#,
            r#"{"timeoutMs":-1}"#,
            r#"{"clientId":"x","receivedAt":1}"#,
            r#"{"other":1}"#,
            r#"{"traceId":"t"}"#,
            r#"{"traceId":""}"#,
            r#"{"traceId":"t","tenant":null}"#,
            r#"{"traceId":"t","tenant":-1}"#,
            r#"{"region":"eu"}"#,
            r#"{"region":null}"#,
            r#"{"region":1}"#,
        ] {
            push(frame(Some(v), body), Limit::None, &format!("meta {v}"));
        }
        push(frame(None, body), Limit::None, "no meta");
        push(frame(Some(meta), None), Limit::None, "no payload");
        for p in ["null", "{}", "[]", "1"] {
            push(
                frame(Some(meta), Some(p)),
                Limit::None,
                &format!("payload {p}"),
            );
        }
        let mut extra = pairs.clone();
        extra.push(("zzz", "1".into()));
        push(
            frame(Some(meta), Some(&object(&extra))),
            Limit::None,
            "unknown payload key",
        );
        push(
            format!(
                r#"{{"extra":1,"payload":{payload},"type":"{}","meta":{meta}}}"#,
                m.wire_type
            ),
            Limit::None,
            "extra top-level key, other order",
        );
        if !has_fields {
            continue;
        }
        for f in m.fields {
            let without: Vec<(&str, String)> = pairs
                .iter()
                .filter(|(k, _)| *k != f.wire_name)
                .cloned()
                .collect();
            push(
                frame(Some(meta), Some(&object(&without))),
                absent_limit(f),
                &format!("without {}", f.wire_name),
            );
            for (v, limit) in candidates(&f.ty, 0) {
                let mut changed = pairs.clone();
                changed
                    .iter_mut()
                    .filter(|(k, _)| *k == f.wire_name)
                    .for_each(|(_, old)| *old = v.clone());
                push(
                    frame(Some(meta), Some(&object(&changed))),
                    field_limit(f, limit),
                    &format!("{} = {v}", f.wire_name),
                );
            }
        }
    }
    // Error frames.
    for ty in [types::RPC_ERROR, types::ERROR] {
        for p in [
            Some(r#"{"code":"NOT_FOUND","message":"x"}"#),
            Some(r#"{"code":"QUOTA"}"#),
            Some(r#"{"code":1}"#),
            Some("{}"),
            Some("null"),
            None,
            Some(r#"{"code":"X","details":{"a":1},"retryAfterMs":5,"retryable":true}"#),
            Some(r#"{"code":"X","message":null,"details":5,"retryAfterMs":null}"#),
            Some(r#"{"code":"X","extra":1}"#),
            Some(r#"{"code":"X","retryAfterMs":"5"}"#),
            Some(r#"{"code":"X","retryable":"yes"}"#),
        ] {
            let text = match p {
                Some(p) => {
                    format!(r#"{{"type":"{ty}","meta":{{"correlationId":"c-1"}},"payload":{p}}}"#)
                }
                None => format!(r#"{{"type":"{ty}","meta":{{"correlationId":"c-1"}}}}"#),
            };
            frames.push(Frame {
                dir: "server",
                text,
                limit: Limit::None,
                what: format!("{ty} {p:?}"),
            });
        }
    }
    frames
}

/// wskit's answer for a frame: the server's reference decoder for what clients send, the client's
/// readers for what the server sends (events, responses, errors, progress).
fn wskit_accepts(text: &str) -> Result<(), String> {
    macro_rules! decode {
        ($($m:ty),*) => {$(
            if let Some(r) = decode_frame_reference::<$m>(text) {
                return r.map(|_| ()).map_err(|i| i.to_string());
            }
        )*};
    }
    // What clients send: the server's decoder.
    decode!(Strings, Numbers, Nested, Bare, Empty, Fetch, Export, Ping);
    // What the server sends: as wskit's client reads it (the payload; meta only to route).
    let frame = InboundFrame::parse(text).map_err(|e| e.to_string())?;
    let payload = |r: Result<(), wskit::Issues>| r.map_err(|i| i.to_string());
    match frame.ty.as_ref() {
        "HAPPENED" => payload(decode_payload::<Happened>(frame.payload).map(drop)),
        "QUIET" => payload(decode_payload::<Quiet>(frame.payload).map(drop)),
        "ADDRESS" => payload(decode_payload::<Address>(frame.payload).map(drop)),
        "EXPORTED" => payload(decode_payload::<Exported>(frame.payload).map(drop)),
        "PONG" => payload(decode_payload::<Pong>(frame.payload).map(drop)),
        types::RPC_ERROR | types::ERROR => {
            error_payload(frame.payload.map(|p| p.get())).map(|_| ())
        }
        types::RPC_PROGRESS => {
            let update = progress_update(text)?;
            decode_payload::<Step>(update)
                .map(|_| ())
                .map_err(|i| i.to_string())
        }
        other => Err(format!("unknown type {other}")),
    }
}

struct PatternCheck {
    pattern: &'static str,
    source: String,
    input: &'static str,
    rust: bool,
}

/// Patterns whose meaning differs between Rust and JavaScript, each on strings that tell the
/// meanings apart; the verdict of the regex crate, and the source the export writes.
fn pattern_table() -> Vec<PatternCheck> {
    const PATTERNS: &[&str] = &[
        r"^\d+$",
        r"^\w+$",
        r"^\s*$",
        r"^\D\W\S$",
        r"\bfoo\b",
        r"\Bo",
        r"\b{start}ab",
        r"(?i)straße",
        r"(?i)^k$",
        r"(?i)^[a-z]+$",
        r"^.$",
        r"^.{3}$",
        r"(?s)^.$",
        r"(?m)^b$",
        r"(?m)a$",
        r"^[^a-z]+$",
        r"^\p{Greek}+$",
        r"^\p{L}\p{N}$",
        r"^\pN$",
        r"^[[:alpha:]]+$",
        r"(?x) a b # a comment",
        r"^a{2,}$",
        r"^(?:ab|cd)*$",
        r"^\x{1F600}$",
        r"(?U)^a+?$",
        r"^[a-z&&[^aeiou]]+$",
        r"^[\-\]]+$",
        r"(?-u:\w)+$",
        r"^\$\^\.\*$",
        r"^[/]$",
        r"a/b",
        r"^\u{2028}$",
        r"^[\p{Lu}--[A-Z]]+$",
        r"^\p{Script=Latin}+$",
        r"",
        r"^$",
        r"^(a|)$",
        r"^\\$",
        r"\A\z",
        r"^\{\}$",
    ];
    const INPUTS: &[&str] = &[
        "",
        "a",
        "ab",
        "abc",
        "A",
        "K",
        "k",
        "\u{212a}",
        "ß",
        "STRASSE",
        "straße",
        "STRAẞE",
        "١٢٣",
        "123",
        "x y",
        " ",
        "\u{a0}",
        "\u{2028}",
        "\n",
        "a\nb\r",
        "a\nb",
        "a\r\nb",
        "foo",
        "a foo b",
        "afoob",
        "éfooé",
        "😀",
        "😀😀😀",
        "aa",
        "aaa",
        "abab",
        "abcd",
        "αβγ",
        "Ωmega",
        "ÀÉ",
        "-]",
        "$^.*",
        "/",
        "a/b",
        "x",
        "ax",
        "bcd",
        "é",
        "e\u{301}",
        "_",
        "\t",
        "\u{feff}",
        "a1",
        "Ω٣",
        "\\",
        "{}",
        "ab ",
        "abx",
        "\u{10000}",
    ];
    let mut out = Vec::new();
    for &pattern in PATTERNS {
        let re = regex::Regex::new(pattern).expect("a valid pattern");
        let source = wskit::export::ecmascript_pattern(pattern).unwrap_or_else(|e| panic!("{e}"));
        for &input in INPUTS {
            out.push(PatternCheck {
                pattern,
                source: source.clone(),
                input,
                rust: re.is_match(input),
            });
        }
    }
    out
}

#[test]
#[ignore = "needs node and npm packages (.ci/run installs them)"]
fn generated_typescript_and_json_schema_agree_with_wskit() {
    let dir = generate_and_compile();
    let frames = table();
    let verdicts: Vec<Result<(), String>> = frames.iter().map(|f| wskit_accepts(&f.text)).collect();
    let input: Vec<Value> = frames
        .iter()
        .map(|f| serde_json::json!({ "dir": f.dir, "text": f.text }))
        .collect();
    std::fs::write(
        dir.join("gen/frames.json"),
        serde_json::to_string(&input).unwrap(),
    )
    .unwrap();
    let patterns = pattern_table();
    let input: Vec<Value> = patterns
        .iter()
        .map(|p| serde_json::json!({ "source": p.source, "input": p.input }))
        .collect();
    std::fs::write(
        dir.join("gen/patterns.json"),
        serde_json::to_string(&input).unwrap(),
    )
    .unwrap();
    let out = run(
        &dir,
        "node",
        &[
            "check.mjs",
            "gen/out/gen/everything.js",
            "gen/everything.schema.json",
            "gen/frames.json",
            "gen/patterns.json",
        ],
    );
    let out: Value = serde_json::from_str(&out).expect("check.mjs prints JSON");
    let results = out["frames"].as_array().unwrap();
    assert_eq!(results.len(), frames.len());

    // Each pattern, as JavaScript runs the exported source, matches what the regex crate matches.
    let js = out["patterns"].as_array().unwrap();
    assert_eq!(js.len(), patterns.len());
    let wrong: Vec<String> = patterns
        .iter()
        .zip(js)
        .filter(|(p, js)| js.as_bool() != Some(p.rust))
        .map(|(p, js)| {
            format!(
                "{:?} on {:?}: regex {}, JavaScript {js}",
                p.pattern, p.input, p.rust
            )
        })
        .collect();
    let matched = patterns.iter().filter(|p| p.rust).count();
    println!(
        "{} pattern checks: the regex crate matches {matched}, refuses {}",
        patterns.len(),
        patterns.len() - matched
    );
    assert!(
        wrong.is_empty(),
        "{} pattern checks differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert!(matched > 100 && patterns.len() - matched > 100);

    let (mut accepted, mut refused, mut limited) = (0, 0, 0);
    let mut mismatches = Vec::new();
    for ((f, rust), js) in frames.iter().zip(&verdicts).zip(results) {
        let (zod, ajv) = (js["zod"].as_bool().unwrap(), js["ajv"].as_bool().unwrap());
        match rust {
            Ok(()) => accepted += 1,
            Err(_) => refused += 1,
        }
        let r = rust.is_ok();
        let (zod_may_differ, ajv_may_differ) = match f.limit {
            Limit::None => (false, false),
            Limit::ZodBigInt | Limit::ZodExternalAbsent => (true, false),
            Limit::Unchecked | Limit::DuplicateKey => (true, true),
        };
        if (zod != r && zod_may_differ) || (ajv != r && ajv_may_differ) {
            limited += 1;
        }
        if (zod != r && !zod_may_differ) || (ajv != r && !ajv_may_differ) {
            mismatches.push(format!(
                "{} [{}] {}\n  wskit: {:?}\n  zod: {} {}\n  ajv: {} {}",
                f.what, f.dir, f.text, rust, zod, js["zodIssues"], ajv, js["ajvErrors"]
            ));
        }
    }
    println!(
        "{} frames: wskit accepts {accepted}, refuses {refused}; {limited} differ within the documented limits",
        frames.len()
    );
    assert!(
        mismatches.is_empty(),
        "{} of {} frames get another answer from the generated schemas than from wskit:\n{}",
        mismatches.len(),
        frames.len(),
        mismatches.join("\n")
    );
    // The table must exercise both answers, and the documented limits must be real.
    assert!(
        accepted > 200 && refused > 200,
        "accepted {accepted}, refused {refused}"
    );
    assert!(limited > 0);
}

/// The generated files are deterministic and mention what they cannot check.
#[test]
fn export_is_deterministic_and_names_its_limits() {
    let d = Everything::description();
    let ts = wskit::export::typescript(d);
    assert_eq!(ts, wskit::export::typescript(d));
    assert_eq!(wskit::export::json_schema(d), wskit::export::json_schema(d));
    assert!(ts.contains("`crate::export_ts::money::Money`: a type of the application's own"));
    assert!(ts.contains("custom rule `crate::export_ts::money::even`: checked by the server only"));
    // Recursion goes through a getter; the rpc replying with a shared type uses its descriptor.
    assert!(ts.contains("get children() {\n    return z.array(Tree);\n  },"));
    assert!(ts.contains("  response: Address,\n"));
}
