//! Code generation: one file per output. Generated code reaches the runtime only through
//! `::wskit::__private` and public `wskit` paths.

mod client;
mod decode;
mod describe;
mod server;
mod types;

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};
use syn::Ident;

use crate::model::{Constraint, Docs, FieldType, MapKind, Message, Protocol, Rule, path_string};

/// Everything a `protocol!` block expands to (for an invalid block, `check`'s best-effort model).
pub fn generate(p: &Protocol) -> TokenStream {
    let types = types::generate(p);
    let decode = decode::generate(p);
    let describe = describe::generate(p);
    let server = server::generate(p);
    let client = client::generate(p);
    quote! {
        #types
        #decode
        #describe
        #server
        #client
    }
}

/// `#[doc = "..."]` lines.
fn docs(d: &Docs) -> TokenStream {
    let lines = d.0.iter().map(|l| format!(" {l}"));
    quote! { #( #[doc = #lines] )* }
}

/// The Rust type of a field, with paths that resolve whatever the user imported.
fn rust_type(ty: &FieldType) -> TokenStream {
    match ty {
        FieldType::String => quote!(::std::string::String),
        FieldType::Bool => quote!(bool),
        FieldType::Int(n) | FieldType::Float(n) => {
            let id = format_ident!("{}", n);
            quote!(#id)
        }
        FieldType::Json => quote!(::wskit::__private::serde_json::Value),
        FieldType::Option(t) => {
            let t = rust_type(t);
            quote!(::std::option::Option<#t>)
        }
        FieldType::Vec(t) => {
            let t = rust_type(t);
            quote!(::std::vec::Vec<#t>)
        }
        FieldType::Map(kind, t) => {
            let t = rust_type(t);
            match kind {
                MapKind::Hash => {
                    quote!(::std::collections::HashMap<::std::string::String, #t>)
                }
                MapKind::BTree => {
                    quote!(::std::collections::BTreeMap<::std::string::String, #t>)
                }
            }
        }
        FieldType::Named(n) => quote!(#n),
        FieldType::External(p) => quote!(#p),
    }
}

/// A field's name without `r#`, for building other identifiers and strings.
fn plain(name: &Ident) -> String {
    syn::ext::IdentExt::unraw(name).to_string()
}

/// A method name from a message name (`GetUser` -> `get_user`), raw when it is a keyword.
fn method_name(name: &Ident) -> Ident {
    let snake = crate::names::snake(&name.to_string());
    if crate::names::is_keyword(&snake) {
        Ident::new_raw(&snake, name.span())
    } else {
        Ident::new(&snake, name.span())
    }
}

fn opt_u64(v: Option<u64>) -> TokenStream {
    match v {
        Some(v) => quote!(::std::option::Option::Some(#v)),
        None => quote!(::std::option::Option::None),
    }
}

fn opt_f64(v: Option<f64>) -> TokenStream {
    match v {
        Some(v) => {
            let lit = Literal::f64_suffixed(v.abs());
            if v < 0.0 {
                quote!(::std::option::Option::Some(-#lit))
            } else {
                quote!(::std::option::Option::Some(#lit))
            }
        }
        None => quote!(::std::option::Option::None),
    }
}

/// One line for a field's rustdoc listing its constraints (`Constraints: length 1..=200, custom
/// `not_blank``), if it has any.
fn constraints_doc(cs: &[Constraint]) -> Option<String> {
    (!cs.is_empty()).then(|| format!("Constraints: {}.", constraint_list(cs)))
}

fn constraint_list(cs: &[Constraint]) -> String {
    let bounds = |min: Option<String>, max: Option<String>| match (min, max) {
        (Some(lo), Some(hi)) => format!("{lo}..={hi}"),
        (Some(lo), None) => format!("{lo}.."),
        (None, Some(hi)) => format!("..={hi}"),
        (None, None) => "..".to_owned(),
    };
    // Inline code that may itself hold backticks.
    let code = |s: String| {
        if s.contains('`') {
            format!("`` {s} ``")
        } else {
            format!("`{s}`")
        }
    };
    cs.iter()
        .map(|c| match &c.rule {
            Rule::Length { min, max } => format!(
                "length {}",
                bounds(min.map(|v| v.to_string()), max.map(|v| v.to_string()))
            ),
            Rule::Range { min, max } => format!(
                "range {}",
                bounds(min.map(|v| v.to_string()), max.map(|v| v.to_string()))
            ),
            Rule::Pattern(lit) => format!("pattern {}", code(lit.value())),
            Rule::Email => "email".to_owned(),
            Rule::Url => "url".to_owned(),
            Rule::Uuid => "uuid".to_owned(),
            Rule::Items(items) => format!("items({})", constraint_list(items)),
            Rule::Custom(f) => format!("custom {}", code(path_string(f))),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The client-to-server messages that get a handler method, in order: the first of each method
/// name (`check` reports the others).
fn served(p: &Protocol) -> Vec<&Message> {
    let mut methods = std::collections::HashSet::new();
    p.messages
        .iter()
        .filter(|m| m.kind.client_to_server() && methods.insert(method_name(&m.name).to_string()))
        .collect()
}

/// The first message of each wire type among `messages` (`check` reports the others), for
/// `match` arms.
fn first_per_wire<'a>(messages: &[&'a Message]) -> Vec<&'a Message> {
    let mut wires = std::collections::HashSet::new();
    messages
        .iter()
        .copied()
        .filter(|m| wires.insert(m.wire.clone()))
        .collect()
}

/// A request's response type (`wskit::NoProgress` for an rpc whose response `check` reported).
fn response_type(m: &Message) -> TokenStream {
    match &m.response {
        Some(r) => quote!(#r),
        None => quote!(::wskit::NoProgress),
    }
}
