//! From the syntax tree to the model, reporting every mistake of the block at once: each problem
//! is a `syn::Error` spanned on the user's token, and all of them are combined into one.

mod attrs;
mod types;
mod unique;

use std::collections::{HashMap, HashSet};

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Ident, LitStr};

use crate::model::{
    Constraint, Docs, Field, FieldType, Kind, Message, PayloadForm, Protocol, Shape, TypeDecl,
    Variant,
};
use crate::names;
use crate::parse::{FieldAst, ItemAst, ItemKindAst, NamedFieldsAst, ProtocolAst};

/// Meta keys the server owns (PROTOCOL.md section 1).
use wskit_core::wire::RESERVED_META_KEYS as RESERVED_META;
/// Meta keys every message already carries.
use wskit_core::wire::STANDARD_META_KEYS as STANDARD_META;
/// Wire types of the runtime's own frames (PROTOCOL.md section 2) that do not start with `$`/`__`.
const RUNTIME_TYPES: [&str; 2] = [
    wskit_core::wire::types::RPC_ERROR,
    wskit_core::wire::types::ERROR,
];
/// Type names the DSL resolves itself: a declaration may not shadow them.
const BUILT_IN_TYPES: [&str; 7] = [
    "String", "Option", "Vec", "HashMap", "BTreeMap", "Value", "Box",
];
/// Methods of the generated client besides one per message.
pub const CLIENT_METHODS: [&str; 3] = ["new", "events", "inner"];

/// A message from its interpreted attributes; `fields` is `None` when declared without braces (or
/// parentheses): no payload.
fn message(
    kind: Kind,
    attrs: Attrs,
    name: &Ident,
    fields: Option<Vec<Field>>,
    meta: Option<Vec<Field>>,
) -> Message {
    Message {
        kind,
        name: name.clone(),
        wire: attrs
            .wire
            .as_ref()
            .map_or_else(|| names::screaming_snake(&name.to_string()), LitStr::value),
        docs: attrs.docs,
        payload: match &fields {
            None => PayloadForm::None,
            Some(f) if f.is_empty() => PayloadForm::Empty,
            Some(_) => PayloadForm::Fields,
        },
        fields: fields.unwrap_or_default(),
        meta,
        subscription: attrs.subscription,
        idempotent: attrs.idempotent,
        response: None,
        progress: None,
        shared: false,
    }
}

/// Collected diagnostics.
#[derive(Default)]
pub struct Errors(Option<syn::Error>);

impl Errors {
    pub fn push(&mut self, span: Span, message: impl std::fmt::Display) {
        self.add(syn::Error::new(span, message));
    }

    /// An error spanning all of `tokens` (a whole type, not only its first token).
    pub fn spanned(&mut self, tokens: impl quote::ToTokens, message: impl std::fmt::Display) {
        self.add(syn::Error::new_spanned(tokens, message));
    }

    pub fn add(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub fn into_result(self) -> Result<(), syn::Error> {
        self.0.map_or(Ok(()), Err)
    }
}

/// Checks the block: the model to generate from, with every error found. When there are errors,
/// the model is still one that generates code which compiles (a best effort: an unresolved field
/// type reads as a JSON value, a duplicate keeps the first, a constraint that does not fit is left
/// out, an rpc without response replies with `wskit::NoProgress`), so that the user's code around
/// the block gets no follow-on errors.
pub fn check(ast: &ProtocolAst) -> (Protocol, Option<syn::Error>) {
    let mut cx = Checker {
        errors: Errors::default(),
        declared: HashMap::new(),
        structs: HashMap::new(),
        shared: HashSet::new(),
        method_clashes: HashSet::new(),
    };
    for e in &ast.errors {
        cx.errors.add(e.clone());
    }
    let protocol = cx.protocol(ast);
    (protocol, cx.errors.into_result().err())
}

struct Checker {
    errors: Errors,
    /// Names of `type`/`enum` declarations.
    declared: HashMap<String, Ident>,
    /// The `type` declarations (the first of each name), with their `#[wire]` if any.
    structs: HashMap<String, (Ident, Option<LitStr>)>,
    /// The `type`s an rpc replies with (`-> Todo`), already in the messages.
    shared: HashSet<String>,
    /// Messages reported for taking the handler method of an earlier one.
    method_clashes: HashSet<String>,
}

/// The attributes of one item, field or variant, interpreted.
#[derive(Default)]
struct Attrs {
    docs: Docs,
    wire: Option<LitStr>,
    subscription: bool,
    idempotent: bool,
    constraints: Vec<Constraint>,
}

/// Where an attribute appears, for the list of attributes allowed there.
#[derive(Clone, Copy, PartialEq)]
enum Place {
    Protocol,
    Message,
    Event,
    Rpc,
    RpcPart,
    /// A `type`.
    Struct,
    /// An `enum`.
    TypeDecl,
    Field,
    Variant,
}

impl Place {
    fn allowed(self) -> &'static [&'static str] {
        match self {
            Place::Protocol | Place::TypeDecl => &["doc"],
            Place::Message => &["doc", "wire", "subscription"],
            Place::Event | Place::RpcPart | Place::Struct | Place::Variant => &["doc", "wire"],
            Place::Rpc => &["doc", "wire", "idempotent"],
            Place::Field => &["doc", "wire", "validate"],
        }
    }
}

impl Checker {
    fn protocol(&mut self, ast: &ProtocolAst) -> Protocol {
        let docs = self.attrs(&ast.attrs, Place::Protocol).docs;
        for item in &ast.items {
            if matches!(
                item.kind,
                ItemKindAst::Type { .. } | ItemKindAst::Enum { .. }
            ) {
                self.declared
                    .entry(item.name.to_string())
                    .or_insert_with(|| item.name.clone());
            }
            if matches!(item.kind, ItemKindAst::Type { .. }) {
                // Read here without diagnostics: `attrs` reports a bad `#[wire]` with the item.
                let wire = item.attrs.iter().find_map(|a| match &a.meta {
                    syn::Meta::NameValue(nv) if nv.path.is_ident("wire") => match &nv.value {
                        syn::Expr::Lit(syn::ExprLit {
                            lit: syn::Lit::Str(s),
                            ..
                        }) => Some(s.clone()),
                        _ => None,
                    },
                    _ => None,
                });
                self.structs
                    .entry(item.name.to_string())
                    .or_insert_with(|| (item.name.clone(), wire));
            }
        }
        let mut messages = Vec::new();
        let mut types = Vec::new();
        for item in &ast.items {
            self.item(item, &mut messages, &mut types);
        }
        let mut protocol = Protocol {
            vis: ast.vis.clone(),
            name: ast.name.clone(),
            docs,
            messages,
            types,
        };
        self.names(&mut protocol);
        self.shared_types(&mut protocol);
        self.wire_types(&protocol, ast);
        // A request whose response or progress was left out replies with `wskit::NoProgress`.
        let names: std::collections::HashSet<String> = protocol
            .messages
            .iter()
            .map(|m| m.name.to_string())
            .collect();
        for m in &mut protocol.messages {
            for part in [&mut m.response, &mut m.progress] {
                if part
                    .as_ref()
                    .is_some_and(|r| !names.contains(&r.to_string()))
                {
                    *part = None;
                }
            }
        }
        protocol
    }

    fn item(&mut self, item: &ItemAst, messages: &mut Vec<Message>, types: &mut Vec<TypeDecl>) {
        match &item.kind {
            ItemKindAst::Message { fields, meta } | ItemKindAst::Event { fields, meta } => {
                let (kind, place) = match item.kind {
                    ItemKindAst::Message { .. } => (Kind::Message, Place::Message),
                    _ => (Kind::Event, Place::Event),
                };
                let attrs = self.attrs(&item.attrs, place);
                let fields = fields.as_ref().map(|f| self.fields(f));
                let meta = meta.as_ref().map(|m| self.meta_fields(m));
                messages.push(message(kind, attrs, &item.name, fields, meta));
            }
            ItemKindAst::Rpc {
                fields,
                response,
                progress,
                meta,
            } => {
                let attrs = self.attrs(&item.attrs, Place::Rpc);
                let fields = fields.as_ref().map(|f| self.fields(f));
                let meta = meta.as_ref().map(|m| self.meta_fields(m));
                let request = message(Kind::Request, attrs, &item.name, fields, meta);
                if response.is_none() && !item.recovered {
                    self.errors.push(
                        item.name.span(),
                        format!(
                            "rpc `{}` has no response: add `-> Reply {{ ... }}` after its arguments (or `-> Reply` for a declared `type Reply`, or a reply without payload)",
                            item.name
                        ),
                    );
                }
                let at = messages.len();
                messages.push(request);
                let response = response
                    .as_ref()
                    .and_then(|r| self.rpc_part(r, Kind::Response, messages));
                let progress = progress
                    .as_ref()
                    .and_then(|p| self.rpc_part(p, Kind::Progress, messages));
                messages[at].response = response;
                messages[at].progress = progress;
            }
            ItemKindAst::Type { fields } => {
                let docs = self.attrs(&item.attrs, Place::Struct).docs;
                let fields = self.fields(fields);
                types.push(TypeDecl {
                    name: item.name.clone(),
                    docs,
                    shape: Shape::Struct(fields),
                });
            }
            ItemKindAst::Enum { variants } => {
                let docs = self.attrs(&item.attrs, Place::TypeDecl).docs;
                if variants.is_empty() && !item.recovered {
                    self.errors.push(
                        item.name.span(),
                        format!(
                            "enum `{}` has no variants: a string enum needs at least one",
                            item.name
                        ),
                    );
                }
                let mut seen: HashMap<String, &Ident> = HashMap::new();
                let mut names_seen = std::collections::HashSet::new();
                let mut kept = Vec::new();
                for (i, v) in variants.iter().enumerate() {
                    let attrs = self.attrs(&v.attrs, Place::Variant);
                    let mut wire = attrs
                        .wire
                        .as_ref()
                        .map_or_else(|| names::camel_variant(&v.name.to_string()), LitStr::value);
                    if !names_seen.insert(v.name.to_string()) {
                        self.errors
                            .push(v.name.span(), format!("duplicate variant `{}`", v.name));
                        continue;
                    }
                    if let Some(first) = seen.insert(wire.clone(), &v.name) {
                        let span = attrs.wire.as_ref().map_or(v.name.span(), LitStr::span);
                        self.errors.push(
                            span,
                            format!(
                                "duplicate wire name \"{wire}\": variant `{first}` already uses it"
                            ),
                        );
                        wire = format!("{wire} (duplicate {i})");
                    }
                    kept.push(Variant {
                        name: v.name.clone(),
                        wire,
                        docs: attrs.docs,
                    });
                }
                let variants = kept;
                types.push(TypeDecl {
                    name: item.name.clone(),
                    docs,
                    shape: Shape::Enum(variants),
                });
            }
        }
    }

    fn fields(&mut self, fields: &[FieldAst]) -> Vec<Field> {
        let mut by_name: HashMap<String, &Ident> = HashMap::new();
        let mut by_wire: HashMap<String, &Ident> = HashMap::new();
        let mut out = Vec::new();
        for f in fields {
            if let Some(e) = &f.error {
                self.errors.add(e.clone());
            }
            let attrs = self.attrs(&f.attrs, Place::Field);
            let rust = syn::ext::IdentExt::unraw(&f.name).to_string();
            let name = self.field_name(&f.name, &rust);
            let wire = attrs
                .wire
                .as_ref()
                .map_or_else(|| names::camel_field(&rust), LitStr::value);
            if let Some(lit) = attrs.wire.as_ref().filter(|_| wire.is_empty()) {
                self.errors
                    .push(lit.span(), "the wire name cannot be empty");
            }
            let mut wire = wire;
            let duplicate = by_name.insert(rust.clone(), &f.name).is_some();
            if duplicate {
                self.errors
                    .push(f.name.span(), format!("duplicate field `{rust}`"));
            } else if let Some(first) = by_wire.insert(wire.clone(), &f.name) {
                let span = attrs.wire.as_ref().map_or(f.name.span(), LitStr::span);
                self.errors.push(
                    span,
                    format!("duplicate wire name \"{wire}\": field `{first}` already uses it"),
                );
                // A wire name no key can have, so the generated code stays valid.
                wire = format!("{wire} (duplicate {})", out.len());
            }
            let ty = self.resolve(&f.ty);
            let constraints = match &ty {
                Some(ty) => attrs
                    .constraints
                    .into_iter()
                    .filter(|c| self.applies(c, ty))
                    .collect(),
                None => Vec::new(),
            };
            let Some(name) = name.filter(|_| !duplicate) else {
                continue;
            };
            out.push(Field {
                name,
                wire,
                docs: attrs.docs,
                ty: ty.unwrap_or(FieldType::Json),
                constraints,
            });
        }
        out
    }

    /// The response or progress of an rpc: inline (`-> Done { .. }`), a `type` of the block
    /// (`-> Todo`), or a new message without payload (`-> Done`). Pushes it to `messages` unless
    /// it is there already; the name the rpc refers to, if any.
    fn rpc_part(
        &mut self,
        ast: &NamedFieldsAst,
        kind: Kind,
        messages: &mut Vec<Message>,
    ) -> Option<Ident> {
        let name = ast.name.to_string();
        let what = if kind == Kind::Response {
            "response"
        } else {
            "progress"
        };
        let is_struct = self.structs.contains_key(&name);
        let is_enum = !is_struct && self.declared.contains_key(&name);
        let target = match &ast.fields {
            None if is_struct => name,
            None if is_enum => {
                self.attrs(&ast.attrs, Place::RpcPart);
                self.errors.push(
                    ast.name.span(),
                    format!("`{name}` is an `enum`: a {what} is an object; declare a `type` or write its fields (`-> {name}Reply {{ ... }}`)"),
                );
                return None;
            }
            None => match self.suggest_struct(&name) {
                Some(close) => {
                    self.errors.push(
                        ast.name.span(),
                        format!("no `type {name}` is declared: did you mean `{close}`? (a {what} without payload needs a name not this close to a declared type)"),
                    );
                    close
                }
                None => {
                    let attrs = self.attrs(&ast.attrs, Place::RpcPart);
                    messages.push(message(kind, attrs, &ast.name, None, None));
                    return Some(ast.name.clone());
                }
            },
            Some(fields) if is_struct || is_enum => {
                self.fields(fields);
                let declared = self.declared[&name].clone();
                let keyword = if is_struct { "type" } else { "enum" };
                self.errors.push(
                    ast.name.span(),
                    format!("`{name}` is declared twice, here and as `{keyword} {name}`: write `-> {name}` to reply with the declared type, or rename one"),
                );
                self.errors.push(
                    declared.span(),
                    format!("`{keyword} {name}` is declared here; the {what} `{name} {{ ... }}` repeats its name"),
                );
                if is_enum {
                    return None;
                }
                name
            }
            Some(fields) => {
                let attrs = self.attrs(&ast.attrs, Place::RpcPart);
                let fields = self.fields(fields);
                messages.push(message(kind, attrs, &ast.name, Some(fields), None));
                return Some(ast.name.clone());
            }
        };
        // A `type` of the block: one message for every rpc that replies with it.
        let attrs = self.attrs(&ast.attrs, Place::RpcPart);
        if let Some(lit) = &attrs.wire {
            self.errors.push(
                lit.span(),
                format!("the wire type of `{target}` goes on its declaration: `#[wire = \"...\"] type {target} {{ ... }}`"),
            );
        }
        let (ident, wire) = self.structs[&target].clone();
        if self.shared.insert(target) {
            let attrs = Attrs {
                wire,
                ..Attrs::default()
            };
            let mut m = message(kind, attrs, &ident, Some(Vec::new()), None);
            m.shared = true;
            messages.push(m);
        }
        Some(ident)
    }

    /// The messages of `type`s an rpc replies with get the type's fields and docs (or go, when the
    /// type was left out); a `#[wire]` on a `type` no rpc replies with is reported.
    fn shared_types(&mut self, p: &mut Protocol) {
        let types = &p.types;
        p.messages.retain_mut(|m| {
            if !m.shared {
                return true;
            }
            let Some(t) = types.iter().find(|t| t.name == m.name) else {
                return false;
            };
            let Shape::Struct(fields) = &t.shape else {
                return false;
            };
            m.fields = fields.clone();
            m.docs = t.docs.clone();
            m.payload = if fields.is_empty() {
                PayloadForm::Empty
            } else {
                PayloadForm::Fields
            };
            true
        });
        let mut unused: Vec<_> = self
            .structs
            .iter()
            .filter(|(name, (_, wire))| wire.is_some() && !self.shared.contains(*name))
            .map(|(name, (_, wire))| (name.clone(), wire.clone().unwrap()))
            .collect();
        unused.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, lit) in unused {
            self.errors.push(
                lit.span(),
                format!("`#[wire]` on `type {name}` is its wire type as a response or progress, but no rpc replies with it (`-> {name}`)"),
            );
        }
    }

    /// A field's Rust name: a keyword must be written raw (`r#type`); the model goes on with the
    /// raw name, or without the field for the keywords no Rust field can have (`self`).
    fn field_name(&mut self, name: &Ident, rust: &str) -> Option<Ident> {
        if name.to_string().starts_with("r#") || !names::is_keyword(rust) {
            return Some(name.clone());
        }
        if matches!(rust, "self" | "Self" | "super" | "crate") {
            self.errors.push(
                name.span(),
                format!(
                    "`{rust}` cannot name a field, even as a raw identifier: choose another name and keep the key with `#[wire = \"{rust}\"]`"
                ),
            );
            return None;
        }
        self.errors.push(
            name.span(),
            format!("`{rust}` is a Rust keyword: write `r#{rust}` (its wire key stays `{rust}`)"),
        );
        Some(Ident::new_raw(rust, name.span()))
    }

    fn meta_fields(&mut self, fields: &[FieldAst]) -> Vec<Field> {
        let out = self.fields(fields);
        for (field, ast) in out.iter().zip(fields) {
            let span = ast
                .attrs
                .iter()
                .find(|a| a.path().is_ident("wire"))
                .and_then(|a| a.meta.require_name_value().ok())
                .map_or(ast.name.span(), |nv| nv.value.span());
            if RESERVED_META.contains(&field.wire.as_str()) {
                self.errors.push(
                    span,
                    format!(
                        "`{}` is a reserved meta key: the server sets it and clients cannot",
                        field.wire
                    ),
                );
            } else if STANDARD_META.contains(&field.wire.as_str()) {
                self.errors.push(
                    span,
                    format!(
                        "`{}` is a standard meta key: every message already carries it",
                        field.wire
                    ),
                );
            }
        }
        out
    }
}
