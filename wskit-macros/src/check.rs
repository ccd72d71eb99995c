//! From the syntax tree to the model, reporting every mistake of the block at once: each problem
//! is a `syn::Error` spanned on the user's token, and all of them are combined into one.

use std::collections::HashMap;

use proc_macro2::Span;
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, GenericArgument, Ident, Lit, LitStr, PathArguments, Token, Type};

use crate::model::{
    Constraint, Docs, Field, FieldType, Kind, MapKind, Message, Protocol, Rule, Shape, TypeDecl,
    Variant, path_string,
};
use crate::names;
use crate::parse::{FieldAst, ItemAst, ItemKindAst, NamedFieldsAst, ProtocolAst};

/// Meta keys the server owns (PROTOCOL.md section 1).
const RESERVED_META: [&str; 2] = ["clientId", "receivedAt"];
/// Meta keys every message already carries.
const STANDARD_META: [&str; 3] = ["correlationId", "timestamp", "timeoutMs"];
/// Wire types of the runtime's own frames (PROTOCOL.md section 2) that do not start with `$`/`__`.
const RUNTIME_TYPES: [&str; 2] = ["RPC_ERROR", "ERROR"];
/// Methods of the generated client besides one per message.
pub const CLIENT_METHODS: [&str; 3] = ["new", "events", "inner"];

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

/// Checks the block; on success the model to generate from.
pub fn check(ast: &ProtocolAst) -> Result<Protocol, syn::Error> {
    let mut cx = Checker {
        errors: Errors::default(),
        declared: HashMap::new(),
    };
    let protocol = cx.protocol(ast);
    cx.errors.into_result().map(|()| protocol)
}

struct Checker {
    errors: Errors,
    /// Names of `type`/`enum` declarations.
    declared: HashMap<String, Ident>,
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
    TypeDecl,
    Field,
    Variant,
}

impl Place {
    fn allowed(self) -> &'static [&'static str] {
        match self {
            Place::Protocol | Place::TypeDecl => &["doc"],
            Place::Message => &["doc", "wire", "subscription"],
            Place::Event | Place::RpcPart | Place::Variant => &["doc", "wire"],
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
        }
        let mut messages = Vec::new();
        let mut types = Vec::new();
        for item in &ast.items {
            self.item(item, &mut messages, &mut types);
        }
        let protocol = Protocol {
            vis: ast.vis.clone(),
            name: ast.name.clone(),
            docs,
            messages,
            types,
        };
        self.names(&protocol);
        self.wire_types(&protocol, ast);
        protocol
    }

    fn item(&mut self, item: &ItemAst, messages: &mut Vec<Message>, types: &mut Vec<TypeDecl>) {
        let message = |kind, attrs: Attrs, name: &Ident, fields, meta| Message {
            kind,
            name: name.clone(),
            wire: attrs
                .wire
                .as_ref()
                .map_or_else(|| names::screaming_snake(&name.to_string()), LitStr::value),
            docs: attrs.docs,
            fields,
            meta,
            subscription: attrs.subscription,
            idempotent: attrs.idempotent,
            response: None,
            progress: None,
        };
        match &item.kind {
            ItemKindAst::Message { fields, meta } | ItemKindAst::Event { fields, meta } => {
                let (kind, place) = match item.kind {
                    ItemKindAst::Message { .. } => (Kind::Message, Place::Message),
                    _ => (Kind::Event, Place::Event),
                };
                let attrs = self.attrs(&item.attrs, place);
                let fields = self.fields(fields);
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
                let fields = self.fields(fields);
                let meta = meta.as_ref().map(|m| self.meta_fields(m));
                let mut request = message(Kind::Request, attrs, &item.name, fields, meta);
                if response.is_none() {
                    self.errors.push(
                        item.name.span(),
                        format!(
                            "rpc `{}` has no response: add `-> ResponseName {{ ... }}` after its arguments",
                            item.name
                        ),
                    );
                }
                let mut part = |ast: &NamedFieldsAst, kind| {
                    let attrs = self.attrs(&ast.attrs, Place::RpcPart);
                    let fields = self.fields(&ast.fields);
                    message(kind, attrs, &ast.name, fields, None)
                };
                let response = response.as_ref().map(|r| part(r, Kind::Response));
                let progress = progress.as_ref().map(|p| part(p, Kind::Progress));
                request.response = response.as_ref().map(|r| r.name.clone());
                request.progress = progress.as_ref().map(|p| p.name.clone());
                messages.push(request);
                messages.extend(response);
                messages.extend(progress);
            }
            ItemKindAst::Type { fields } => {
                let docs = self.attrs(&item.attrs, Place::TypeDecl).docs;
                let fields = self.fields(fields);
                types.push(TypeDecl {
                    name: item.name.clone(),
                    docs,
                    shape: Shape::Struct(fields),
                });
            }
            ItemKindAst::Enum { variants } => {
                let docs = self.attrs(&item.attrs, Place::TypeDecl).docs;
                if variants.is_empty() {
                    self.errors.push(
                        item.name.span(),
                        format!(
                            "enum `{}` has no variants: a string enum needs at least one",
                            item.name
                        ),
                    );
                }
                let mut seen: HashMap<String, &Ident> = HashMap::new();
                let variants = variants
                    .iter()
                    .map(|v| {
                        let attrs = self.attrs(&v.attrs, Place::Variant);
                        let wire = attrs
                            .wire
                            .as_ref()
                            .map_or_else(|| names::camel_variant(&v.name.to_string()), LitStr::value);
                        if let Some(first) = seen.insert(wire.clone(), &v.name) {
                            let span = attrs.wire.as_ref().map_or(v.name.span(), LitStr::span);
                            self.errors.push(
                                span,
                                format!("duplicate wire name \"{wire}\": variant `{first}` already uses it"),
                            );
                        }
                        Variant {
                            name: v.name.clone(),
                            wire,
                            docs: attrs.docs,
                        }
                    })
                    .collect();
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
            let attrs = self.attrs(&f.attrs, Place::Field);
            let rust = syn::ext::IdentExt::unraw(&f.name).to_string();
            let wire = attrs
                .wire
                .as_ref()
                .map_or_else(|| names::camel_field(&rust), LitStr::value);
            if by_name.insert(rust.clone(), &f.name).is_some() {
                self.errors
                    .push(f.name.span(), format!("duplicate field `{rust}`"));
            } else if let Some(first) = by_wire.insert(wire.clone(), &f.name) {
                let span = attrs.wire.as_ref().map_or(f.name.span(), LitStr::span);
                self.errors.push(
                    span,
                    format!("duplicate wire name \"{wire}\": field `{first}` already uses it"),
                );
            }
            let ty = self.resolve(&f.ty);
            if let Some(ty) = &ty {
                for c in &attrs.constraints {
                    self.applies(c, ty);
                }
            }
            out.push(Field {
                name: f.name.clone(),
                wire,
                docs: attrs.docs,
                ty: ty.unwrap_or(FieldType::Json),
                constraints: attrs.constraints,
            });
        }
        out
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

    /// Rust names: unique, not reserved, not taken by a generated item.
    fn names(&mut self, p: &Protocol) {
        let proto = p.name.to_string();
        let mut generated: HashMap<String, String> = [
            (proto.clone(), "the protocol's marker type".to_owned()),
            (format!("{proto}Handler"), "the handler trait".to_owned()),
            (format!("{proto}Service"), "the service type".to_owned()),
            (format!("{proto}Client"), "the client type".to_owned()),
            (format!("{proto}Event"), "the event enum".to_owned()),
        ]
        .into_iter()
        .collect();
        for m in &p.messages {
            if m.meta.is_some() {
                generated.insert(
                    format!("{}Meta", m.name),
                    format!("the meta type of `{}`", m.name),
                );
            }
        }
        let mut seen: HashMap<String, &Ident> = HashMap::new();
        let all = p
            .messages
            .iter()
            .map(|m| &m.name)
            .chain(p.types.iter().map(|t| &t.name));
        for name in all {
            let s = name.to_string();
            if let Some(what) = generated.get(&s) {
                self.errors.push(
                    name.span(),
                    format!("`{s}` collides with {what} that `protocol!` generates for `{proto}`"),
                );
            }
            if s.starts_with("__") {
                self.errors.push(
                    name.span(),
                    format!("`{s}` is reserved: names starting with `__` belong to the runtime"),
                );
            }
            if seen.insert(s.clone(), name).is_some() {
                self.errors
                    .push(name.span(), format!("`{s}` is declared more than once"));
            }
        }
        for m in p.messages.iter().filter(|m| m.kind.client_to_server()) {
            let method = names::snake(&m.name.to_string());
            if CLIENT_METHODS.contains(&method.as_str()) {
                self.errors.push(
                    m.name.span(),
                    format!(
                        "`{}` collides with the method `{proto}Client::{method}` that `protocol!` generates; rename it",
                        m.name
                    ),
                );
            }
        }
    }

    /// Wire types: unique and not reserved.
    fn wire_types(&mut self, p: &Protocol, ast: &ProtocolAst) {
        // The span of each message's wire type: its `#[wire]` literal, else its name.
        let mut spans: HashMap<String, Span> = HashMap::new();
        for item in &ast.items {
            let mut note = |attrs: &[Attribute], name: &Ident| {
                let span = attrs
                    .iter()
                    .find(|a| a.path().is_ident("wire"))
                    .and_then(|a| a.meta.require_name_value().ok())
                    .map_or(name.span(), |nv| nv.value.span());
                spans.entry(name.to_string()).or_insert(span);
            };
            note(&item.attrs, &item.name);
            if let ItemKindAst::Rpc {
                response, progress, ..
            } = &item.kind
            {
                for part in response.iter().chain(progress) {
                    note(&part.attrs, &part.name);
                }
            }
        }
        let mut seen: HashMap<&str, &Ident> = HashMap::new();
        for m in &p.messages {
            let span = spans
                .get(&m.name.to_string())
                .copied()
                .unwrap_or(m.name.span());
            let wire = m.wire.as_str();
            if wire.is_empty() {
                self.errors.push(span, "the wire type cannot be empty");
            } else if wire.starts_with('$') || wire.starts_with("__") {
                self.errors.push(
                    span,
                    format!("wire type `{wire}` is reserved: types starting with `$` or `__` belong to the runtime"),
                );
            } else if RUNTIME_TYPES.contains(&wire) {
                self.errors.push(
                    span,
                    format!("wire type `{wire}` is reserved for the runtime's error frames; rename the message or set `#[wire = \"...\"]`"),
                );
            }
            if let Some(first) = seen.insert(wire, &m.name) {
                if first != &m.name {
                    self.errors.push(
                        span,
                        format!("duplicate wire type `{wire}`: `{first}` already uses it"),
                    );
                }
            }
        }
    }

    fn attrs(&mut self, attrs: &[Attribute], place: Place) -> Attrs {
        let mut out = Attrs::default();
        for attr in attrs {
            let path = attr.path();
            let name = path
                .get_ident()
                .map(Ident::to_string)
                .unwrap_or_else(|| path_string(path));
            if !place.allowed().contains(&name.as_str()) {
                let msg = match name.as_str() {
                    "subscription" => "`#[subscription]` applies to a `message` only".to_owned(),
                    "idempotent" => "`#[idempotent]` applies to an `rpc` only".to_owned(),
                    "validate" => "`#[validate(...)]` applies to a field only".to_owned(),
                    "wire" => "`#[wire]` does not apply here".to_owned(),
                    _ => format!(
                        "unknown attribute `{name}`; expected one of: {}",
                        place
                            .allowed()
                            .iter()
                            .map(|a| if *a == "doc" {
                                "doc comments".to_owned()
                            } else {
                                format!("`{a}`")
                            })
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                self.errors.push(path.span(), msg);
                continue;
            }
            match name.as_str() {
                "doc" => {
                    if let Ok(nv) = attr.meta.require_name_value() {
                        if let Expr::Lit(syn::ExprLit {
                            lit: Lit::Str(s), ..
                        }) = &nv.value
                        {
                            let v = s.value();
                            out.docs
                                .0
                                .push(v.strip_prefix(' ').unwrap_or(&v).to_owned());
                        }
                    }
                }
                "wire" => match attr.meta.require_name_value() {
                    Ok(nv) => match &nv.value {
                        Expr::Lit(syn::ExprLit {
                            lit: Lit::Str(s), ..
                        }) => out.wire = Some(s.clone()),
                        other => self
                            .errors
                            .push(other.span(), "expected a string: `#[wire = \"NAME\"]`"),
                    },
                    Err(_) => self
                        .errors
                        .push(attr.span(), "expected `#[wire = \"NAME\"]`"),
                },
                "subscription" | "idempotent" => {
                    if let Err(e) = attr.meta.require_path_only() {
                        self.errors.add(e);
                    }
                    if name == "subscription" {
                        out.subscription = true;
                    } else {
                        out.idempotent = true;
                    }
                }
                _ => {
                    let mut found = Vec::new();
                    let result = attr.parse_nested_meta(|meta| self.constraint(meta, &mut found));
                    if let Err(e) = result {
                        self.errors.add(e);
                    }
                    out.constraints.extend(found);
                }
            }
        }
        out
    }

    /// One constraint inside `#[validate(...)]` (or `items(...)`).
    fn constraint(&mut self, meta: ParseNestedMeta, out: &mut Vec<Constraint>) -> syn::Result<()> {
        let span = meta.path.span();
        let name = meta
            .path
            .get_ident()
            .map(Ident::to_string)
            .unwrap_or_else(|| path_string(&meta.path));
        let rule = match name.as_str() {
            "length" => {
                let (mut min, mut max) = (None, None);
                meta.parse_nested_meta(|b| {
                    let v = b.value()?.parse::<syn::LitInt>()?.base10_parse::<u64>()?;
                    bound(&b, &mut min, &mut max, v)
                })?;
                if let (Some(lo), Some(hi)) = (min, max) {
                    if lo > hi {
                        self.errors
                            .push(span, format!("`min` ({lo}) is greater than `max` ({hi})"));
                    }
                }
                Rule::Length { min, max }
            }
            "range" => {
                let (mut min, mut max) = (None, None);
                meta.parse_nested_meta(|b| {
                    let v = number(b.value()?)?;
                    bound(&b, &mut min, &mut max, v)
                })?;
                if let (Some(lo), Some(hi)) = (min, max) {
                    if lo > hi {
                        self.errors
                            .push(span, format!("`min` ({lo}) is greater than `max` ({hi})"));
                    }
                }
                Rule::Range { min, max }
            }
            "pattern" => {
                let lit: LitStr = meta.value()?.parse()?;
                if let Err(e) = regex::Regex::new(&lit.value()) {
                    self.errors
                        .push(lit.span(), format!("invalid regex: {}", regex_error(&e)));
                }
                Rule::Pattern(lit)
            }
            "email" => Rule::Email,
            "url" => Rule::Url,
            "uuid" => Rule::Uuid,
            "items" => {
                let mut inner = Vec::new();
                meta.parse_nested_meta(|m| self.constraint(m, &mut inner))?;
                Rule::Items(inner)
            }
            "custom" => Rule::Custom(meta.value()?.parse()?),
            _ => {
                self.errors.push(
                    span,
                    format!(
                        "unknown constraint `{name}`; expected one of: length, range, pattern, email, url, uuid, items, custom"
                    ),
                );
                // Skip its arguments so the following constraints are still read.
                if meta.input.peek(Token![=]) {
                    meta.value()?.parse::<Expr>()?;
                } else if meta.input.peek(syn::token::Paren) {
                    meta.input.parse::<proc_macro2::Group>()?;
                }
                return Ok(());
            }
        };
        if matches!(rule, Rule::Email | Rule::Url | Rule::Uuid)
            && !meta.input.is_empty()
            && !meta.input.peek(Token![,])
        {
            return Err(meta.error(format!("`{name}` takes no arguments")));
        }
        out.push(Constraint { span, rule });
        Ok(())
    }

    /// Whether a constraint fits the field's type; a diagnostic if not.
    fn applies(&mut self, c: &Constraint, ty: &FieldType) {
        let inner = ty.unwrap_option();
        let (ok, wants) = match (&c.rule, inner) {
            (Rule::Length { .. }, FieldType::String | FieldType::Vec(_) | FieldType::Map(..)) => {
                (true, "")
            }
            (Rule::Length { .. }, _) => (false, "a String or a collection"),
            (Rule::Range { .. }, FieldType::Int(_) | FieldType::Float(_)) => (true, ""),
            (Rule::Range { .. }, _) => (false, "a number"),
            (Rule::Pattern(_) | Rule::Email | Rule::Url | Rule::Uuid, FieldType::String) => {
                (true, "")
            }
            (Rule::Pattern(_) | Rule::Email | Rule::Url | Rule::Uuid, _) => (false, "a String"),
            (Rule::Items(items), FieldType::Vec(item) | FieldType::Map(_, item)) => {
                for c in items {
                    self.applies(c, item);
                }
                (true, "")
            }
            (Rule::Items(_), _) => (false, "a Vec or a map"),
            (Rule::Custom(_), _) => (true, ""),
        };
        if !ok {
            let name = match c.rule {
                Rule::Length { .. } => "length",
                Rule::Range { .. } => "range",
                Rule::Pattern(_) => "pattern",
                Rule::Email => "email",
                Rule::Url => "url",
                Rule::Uuid => "uuid",
                Rule::Items(_) => "items",
                Rule::Custom(_) => "custom",
            };
            self.errors.push(
                c.span,
                format!("`{name}` applies to {wants}, not to `{}`", inner.display()),
            );
        }
    }

    /// A field's Rust type into the model; a diagnostic (and `None`) when it is not supported.
    fn resolve(&mut self, ty: &Type) -> Option<FieldType> {
        let path = match ty {
            Type::Path(p) if p.qself.is_none() => &p.path,
            Type::Group(g) => return self.resolve(&g.elem),
            Type::Paren(p) => return self.resolve(&p.elem),
            other => {
                let why = match other {
                    Type::Reference(_) => {
                        "references cannot be decoded from JSON; use an owned type such as `String`"
                    }
                    Type::Tuple(t) if t.elems.is_empty() => {
                        "`()` carries nothing; leave the field out"
                    }
                    Type::Tuple(_) => {
                        "tuples have no named keys; declare a `type` with named fields"
                    }
                    Type::Array(_) | Type::Slice(_) => "use `Vec<T>` for a JSON array",
                    Type::ImplTrait(_) | Type::TraitObject(_) => "a field needs a concrete type",
                    Type::BareFn(_) => "functions cannot travel in JSON",
                    Type::Ptr(_) => "pointers cannot travel in JSON",
                    _ => "see the DSL's list of field types",
                };
                self.errors
                    .spanned(ty, format!("unsupported field type: {why}"));
                return None;
            }
        };
        let last = path.segments.last()?;
        let std_prefix = path.segments.len() == 1 && path.leading_colon.is_none() || {
            let first = path.segments[0].ident.to_string();
            matches!(first.as_str(), "std" | "alloc" | "core" | "serde_json")
        };
        if !std_prefix {
            return Some(FieldType::External(path.clone()));
        }
        let name = last.ident.to_string();
        let args: Vec<&Type> = match &last.arguments {
            PathArguments::None => Vec::new(),
            PathArguments::AngleBracketed(a) => a
                .args
                .iter()
                .filter_map(|g| match g {
                    GenericArgument::Type(t) => Some(t),
                    _ => None,
                })
                .collect(),
            PathArguments::Parenthesized(_) => {
                self.errors.spanned(
                    ty,
                    format!("unsupported field type `{}`", path_string(path)),
                );
                return None;
            }
        };
        let arity = |n: usize| args.len() == n && last.arguments.is_empty() == (n == 0);
        let simple = match name.as_str() {
            "String" => Some(FieldType::String),
            "bool" => Some(FieldType::Bool),
            "u8" => Some(FieldType::Int("u8")),
            "u16" => Some(FieldType::Int("u16")),
            "u32" => Some(FieldType::Int("u32")),
            "u64" => Some(FieldType::Int("u64")),
            "i8" => Some(FieldType::Int("i8")),
            "i16" => Some(FieldType::Int("i16")),
            "i32" => Some(FieldType::Int("i32")),
            "i64" => Some(FieldType::Int("i64")),
            "f32" => Some(FieldType::Float("f32")),
            "f64" => Some(FieldType::Float("f64")),
            "Value" => Some(FieldType::Json),
            _ => None,
        };
        if let Some(simple) = simple {
            if arity(0) {
                return Some(simple);
            }
            self.errors
                .spanned(&last.arguments, format!("`{name}` takes no type arguments"));
            return None;
        }
        match name.as_str() {
            "Option" | "Vec" => {
                if !arity(1) {
                    self.errors
                        .spanned(ty, format!("`{name}` takes one type argument: `{name}<T>`"));
                    return None;
                }
                let inner = Box::new(self.resolve(args[0])?);
                Some(if name == "Option" {
                    FieldType::Option(inner)
                } else {
                    FieldType::Vec(inner)
                })
            }
            "HashMap" | "BTreeMap" => {
                if !arity(2) {
                    self.errors.spanned(
                        ty,
                        format!("`{name}` takes two type arguments: `{name}<String, T>`"),
                    );
                    return None;
                }
                let key = self.resolve(args[0]);
                let value = self.resolve(args[1]);
                if key.is_some() && !matches!(key, Some(FieldType::String)) {
                    self.errors.spanned(
                        args[0],
                        "unsupported map key: JSON object keys are strings, so a map key must be `String`",
                    );
                    return None;
                }
                let kind = if name == "HashMap" {
                    MapKind::Hash
                } else {
                    MapKind::BTree
                };
                Some(FieldType::Map(kind, Box::new(value?)))
            }
            _ if path.segments.len() == 1 && self.declared.contains_key(&name) => {
                if !last.arguments.is_empty() {
                    self.errors
                        .spanned(&last.arguments, format!("`{name}` takes no type arguments"));
                    return None;
                }
                Some(FieldType::Named(last.ident.clone()))
            }
            _ if path.segments.len() == 1 && name.starts_with(|c: char| c.is_uppercase()) => {
                let close = self
                    .declared
                    .keys()
                    .filter(|d| names::distance(&d.to_lowercase(), &name.to_lowercase()) <= 2)
                    .min_by_key(|d| names::distance(d, &name));
                let msg = match close {
                    Some(d) => format!("unknown type `{name}`: did you mean `{d}`?"),
                    None => format!(
                        "unknown type `{name}`: declare it in the protocol (`type {name} {{ ... }}`), or name a type of your own by its path (`crate::{name}`)"
                    ),
                };
                self.errors.push(last.ident.span(), msg);
                None
            }
            _ => {
                let hint = match name.as_str() {
                    "usize" | "isize" | "u128" | "i128" => {
                        ": use one of u8, u16, u32, u64, i8, i16, i32, i64"
                    }
                    "str" => ": use `String`",
                    "char" => ": use `String` with `#[validate(length(min = 1, max = 1))]`",
                    _ => "",
                };
                self.errors.spanned(
                    ty,
                    format!("unsupported field type `{}`{hint}", path_string(path)),
                );
                None
            }
        }
    }
}

fn bound<T>(
    b: &ParseNestedMeta,
    min: &mut Option<T>,
    max: &mut Option<T>,
    v: T,
) -> syn::Result<()> {
    if b.path.is_ident("min") {
        *min = Some(v);
    } else if b.path.is_ident("max") {
        *max = Some(v);
    } else {
        return Err(b.error("expected `min = ...` or `max = ...`"));
    }
    Ok(())
}

/// A number literal, possibly negative.
fn number(input: syn::parse::ParseStream) -> syn::Result<f64> {
    let neg = input.parse::<Option<Token![-]>>()?.is_some();
    let v = match input.parse::<Lit>()? {
        Lit::Int(i) => i.base10_parse::<f64>()?,
        Lit::Float(f) => f.base10_parse::<f64>()?,
        other => return Err(syn::Error::new(other.span(), "expected a number")),
    };
    Ok(if neg { -v } else { v })
}

/// The regex crate's error on one line: its last line says what is wrong.
fn regex_error(e: &regex::Error) -> String {
    let text = e.to_string();
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.trim().trim_start_matches("error: ").to_owned())
        .unwrap_or(text)
}
