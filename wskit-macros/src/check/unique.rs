//! Names: Rust names unique and free of generated items, wire types unique and not reserved.

use std::collections::{HashMap, HashSet};

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Attribute, Ident};

use super::{BUILT_IN_TYPES, CLIENT_METHODS, Checker, RUNTIME_TYPES};
use crate::model::Protocol;
use crate::names;
use crate::parse::{ItemKindAst, ProtocolAst};

impl Checker {
    /// Rust names: unique, not reserved, not taken by a generated item. A declaration whose name
    /// is taken (by an earlier declaration, a generated item or a built-in type) is left out of the
    /// model, so the generated code keeps compiling.
    pub(super) fn names(&mut self, p: &mut Protocol) {
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
        // The message of a `type` an rpc replies with is that type: its name is checked once.
        let all = p
            .messages
            .iter()
            .map(|m| (&m.name, m.shared))
            .chain(p.types.iter().map(|t| (&t.name, false)));
        // Indexes into messages then types.
        let mut dropped = HashSet::new();
        for (i, (name, shared)) in all.enumerate() {
            if shared {
                continue;
            }
            let s = name.to_string();
            let mut drop = false;
            if let Some(what) = generated.get(&s) {
                self.errors.push(
                    name.span(),
                    format!("`{s}` collides with {what} that `protocol!` generates for `{proto}`"),
                );
                drop = true;
            }
            if s.starts_with("__") {
                self.errors.push(
                    name.span(),
                    format!("`{s}` is reserved: names starting with `__` belong to the runtime"),
                );
            }
            if BUILT_IN_TYPES.contains(&s.as_str()) {
                self.errors.push(
                    name.span(),
                    format!("`{s}` is a built-in field type of the DSL; choose another name"),
                );
                drop = true;
            }
            if seen.insert(s.clone(), name).is_some() {
                self.errors
                    .push(name.span(), format!("`{s}` is declared more than once"));
                drop = true;
            }
            if drop {
                dropped.insert(i);
            }
        }
        let n = p.messages.len();
        let mut i = 0;
        p.messages.retain(|_| {
            i += 1;
            !dropped.contains(&(i - 1))
        });
        let mut i = n;
        p.types.retain(|_| {
            i += 1;
            !dropped.contains(&(i - 1))
        });
        let mut methods: HashMap<String, &Ident> = HashMap::new();
        for m in p.messages.iter().filter(|m| m.kind.client_to_server()) {
            let method = names::snake(&m.name.to_string());
            if let Some(first) = methods.insert(method.clone(), &m.name)
                && first != &m.name
            {
                self.method_clashes.insert(m.name.to_string());
                self.errors.push(
                        m.name.span(),
                        format!("`{}` and `{first}` would both be handled by the method `{method}`; rename one", m.name),
                    );
            }
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
    pub(super) fn wire_types(&mut self, p: &Protocol, ast: &ProtocolAst) {
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
            // Names that give one method give one default wire type (`HttpGet`, `HTTPGet`:
            // `http_get`, `HTTP_GET`): that mistake is reported once, as the method's.
            let default_wire = |name: &Ident| m.wire == names::screaming_snake(&name.to_string());
            if let Some(first) = seen.insert(wire, &m.name)
                && first != &m.name
                && !(self.method_clashes.contains(&m.name.to_string())
                    && default_wire(first)
                    && default_wire(&m.name))
            {
                self.errors.push(
                    span,
                    format!("duplicate wire type `{wire}`: `{first}` already uses it"),
                );
            }
        }
    }
}
