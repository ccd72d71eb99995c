//! How the model's pieces are spelled in generated code, shared by the generators: field types,
//! method names, rustdoc lines, optional bounds, a request's response type.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};
use syn::Ident;

use crate::model::{Constraint, Docs, FieldType, MapKind, Message, Rule, path_string};

/// `#[doc = "..."]` lines.
pub(super) fn docs(d: &Docs) -> TokenStream {
    let lines = d.0.iter().map(|l| format!(" {l}"));
    quote! { #( #[doc = #lines] )* }
}

/// The Rust type of a field, with paths that resolve whatever the user imported.
pub(super) fn rust_type(ty: &FieldType) -> TokenStream {
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
pub(super) fn plain(name: &Ident) -> String {
    syn::ext::IdentExt::unraw(name).to_string()
}

/// A method name from a message name (`GetUser` -> `get_user`), raw when it is a keyword.
pub(super) fn method_name(name: &Ident) -> Ident {
    let snake = crate::names::snake(&name.to_string());
    if crate::names::is_keyword(&snake) {
        Ident::new_raw(&snake, name.span())
    } else {
        Ident::new(&snake, name.span())
    }
}

pub(super) fn opt_u64(v: Option<u64>) -> TokenStream {
    match v {
        Some(v) => quote!(::std::option::Option::Some(#v)),
        None => quote!(::std::option::Option::None),
    }
}

pub(super) fn opt_f64(v: Option<f64>) -> TokenStream {
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
pub(super) fn constraints_doc(cs: &[Constraint]) -> Option<String> {
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

/// A request's response type (`wskit::NoProgress` for an rpc whose response `check` reported).
pub(super) fn response_type(m: &Message) -> TokenStream {
    match &m.response {
        Some(r) => quote!(#r),
        None => quote!(::wskit::NoProgress),
    }
}
