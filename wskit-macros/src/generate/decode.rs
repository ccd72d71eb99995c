//! `wskit::validate::Decode` (strict, every issue at once) and `wskit::Validate` (constraints).
//!
//! Each field with constraints gets one hidden check function, called by both impls, so every
//! rule is generated once.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::Ident;

use super::{opt_f64, opt_u64, plain, rust_type};
use crate::model::{Constraint, Field, FieldType, Protocol, Rule, Shape, Variant};

pub fn generate(p: &Protocol) -> TokenStream {
    let mut out = TokenStream::new();
    for m in &p.messages {
        out.extend(strukt(&m.name, &m.fields));
    }
    for t in &p.types {
        out.extend(match &t.shape {
            Shape::Struct(fields) => strukt(&t.name, fields),
            Shape::Enum(variants) => enumeration(&t.name, variants),
        });
    }
    out
}

fn check_fn(f: &Field) -> Ident {
    format_ident!("__wskit_check_{}", plain(&f.name))
}

/// Whether validating the field means more than its own constraints (a nested declared type or
/// a user's own type, whose `Validate` impl has rules of its own).
fn nests(ty: &FieldType) -> bool {
    match ty {
        FieldType::Named(_) | FieldType::External(_) => true,
        FieldType::Option(t) | FieldType::Vec(t) | FieldType::Map(_, t) => nests(t),
        _ => false,
    }
}

pub fn strukt(name: &Ident, fields: &[Field]) -> TokenStream {
    let checks = fields
        .iter()
        .filter(|f| !f.constraints.is_empty())
        .map(|f| {
            let ident = check_fn(f);
            let ty = rust_type(&f.ty);
            let body = constraints(&f.constraints, &f.ty, &quote!(value), &quote!(path), 0);
            quote! {
                #[doc(hidden)]
                fn #ident(
                    value: &#ty,
                    path: &::wskit::__private::Path<'_>,
                    issues: &mut ::wskit::__private::Issues,
                ) {
                    #body
                }
            }
        });
    let slots: Vec<Ident> = fields
        .iter()
        .map(|f| format_ident!("__raw_{}", plain(&f.name)))
        .collect();
    let vars: Vec<Ident> = fields
        .iter()
        .map(|f| format_ident!("__field_{}", plain(&f.name)))
        .collect();
    let wires: Vec<&String> = fields.iter().map(|f| &f.wire).collect();
    let names: Vec<&Ident> = fields.iter().map(|f| &f.name).collect();
    let decode_fields = fields.iter().zip(&slots).map(|(f, slot)| {
        let ty = rust_type(&f.ty);
        let wire = &f.wire;
        let decode = if f.ty.has_external() {
            let absent = if matches!(f.ty, FieldType::Option(_)) {
                quote!(::std::option::Option::Some(::std::option::Option::None))
            } else {
                quote!({
                    issues.push(&__path, "required");
                    ::std::option::Option::None
                })
            };
            quote! {
                match #slot {
                    ::std::option::Option::Some(raw) => ::wskit::__private::decode_with_serde::<#ty>(raw, &__path, issues),
                    ::std::option::Option::None => #absent,
                }
            }
        } else {
            quote!(::wskit::__private::field::<#ty>(#slot, &__path, issues))
        };
        let check = (!f.constraints.is_empty()).then(|| {
            let ident = check_fn(f);
            quote! {
                if let ::std::option::Option::Some(v) = &__value {
                    Self::#ident(v, &__path, issues);
                }
            }
        });
        quote! {{
            let __path = path.field(#wire);
            let __value: ::std::option::Option<#ty> = #decode;
            #check
            __value
        }}
    });
    let validate_fields = fields.iter().map(|f| {
        let name = &f.name;
        let wire = &f.wire;
        let check = (!f.constraints.is_empty()).then(|| {
            let ident = check_fn(f);
            quote!(Self::#ident(&self.#name, &__path, issues);)
        });
        let nested = nests(&f.ty)
            .then(|| quote!(::wskit::Validate::validate(&self.#name, &__path, issues);));
        if check.is_none() && nested.is_none() {
            return quote!();
        }
        quote! {{
            let __path = path.field(#wire);
            #check
            #nested
        }}
    });
    quote! {
        impl #name {
            #( #checks )*
        }

        impl ::wskit::__private::Decode for #name {
            fn decode(
                raw: &::wskit::__private::RawValue,
                path: &::wskit::__private::Path<'_>,
                issues: &mut ::wskit::__private::Issues,
            ) -> ::std::option::Option<Self> {
                let __start = issues.len();
                let __entries = ::wskit::__private::object_entries(raw, path, issues)?;
                #( let mut #slots: ::std::option::Option<&::wskit::__private::RawValue> = ::std::option::Option::None; )*
                for (__key, __raw) in &__entries {
                    match &**__key {
                        #( #wires => #slots = ::std::option::Option::Some(*__raw), )*
                        __other => ::wskit::__private::unknown_key(&path.field(__other), issues),
                    }
                }
                #( let #vars = #decode_fields; )*
                if issues.len() != __start {
                    return ::std::option::Option::None;
                }
                ::std::option::Option::Some(Self { #( #names: #vars?, )* })
            }
        }

        impl ::wskit::Validate for #name {
            #[allow(unused_variables)]
            fn validate(
                &self,
                path: &::wskit::__private::Path<'_>,
                issues: &mut ::wskit::__private::Issues,
            ) {
                #( #validate_fields )*
            }
        }
    }
}

/// The checks of `cs` on `value` (an expression of type `&ty`) at `path` (`&Path`).
fn constraints(
    cs: &[Constraint],
    ty: &FieldType,
    value: &TokenStream,
    path: &TokenStream,
    depth: usize,
) -> TokenStream {
    if let FieldType::Option(inner) = ty {
        let v = format_ident!("__some{}", depth);
        let body = constraints(cs, inner, &quote!(#v), path, depth + 1);
        return quote! {
            if let ::std::option::Option::Some(#v) = #value {
                #body
            }
        };
    }
    let p = quote!(::wskit::__private);
    let checks = cs.iter().map(|c| match &c.rule {
        Rule::Length { min, max } => {
            let (min, max) = (opt_u64(*min), opt_u64(*max));
            if matches!(ty, FieldType::String) {
                quote!(#p::check_str_length(#value, #min, #max, #path, issues);)
            } else {
                quote!(#p::check_len(#value.len(), #min, #max, #path, issues);)
            }
        }
        Rule::Range { min, max } => {
            let (min, max) = (opt_f64(*min), opt_f64(*max));
            quote!(#p::check_range(*#value as f64, #min, #max, #path, issues);)
        }
        Rule::Pattern(lit) => quote! {{
            static PATTERN: #p::LazyLock<#p::Regex> = #p::LazyLock::new(|| {
                #p::Regex::new(#lit).expect("the pattern was checked by protocol!")
            });
            #p::check_pattern(#value, &PATTERN, #path, issues);
        }},
        Rule::Email => quote!(#p::check_email(#value, #path, issues);),
        Rule::Url => quote!(#p::check_url(#value, #path, issues);),
        Rule::Uuid => quote!(#p::check_uuid(#value, #path, issues);),
        Rule::Custom(f) => quote!(#p::check_custom(#value, #f, #path, issues);),
        Rule::Items(items) => {
            let item_ty = match ty {
                FieldType::Vec(t) | FieldType::Map(_, t) => t,
                _ => return quote!(),
            };
            let item = format_ident!("__item{}", depth);
            let item_path = format_ident!("__item_path{}", depth);
            let body = constraints(
                items,
                item_ty,
                &quote!(#item),
                &quote!(&#item_path),
                depth + 1,
            );
            if matches!(ty, FieldType::Vec(_)) {
                let i = format_ident!("__i{}", depth);
                quote! {
                    for (#i, #item) in #value.iter().enumerate() {
                        let #item_path = #path.index(#i);
                        #body
                    }
                }
            } else {
                let k = format_ident!("__key{}", depth);
                quote! {
                    for (#k, #item) in #value.iter() {
                        let #item_path = #path.field(#k);
                        #body
                    }
                }
            }
        }
    });
    quote!(#( #checks )*)
}

fn enumeration(name: &Ident, variants: &[Variant]) -> TokenStream {
    let wires: Vec<&String> = variants.iter().map(|v| &v.wire).collect();
    let idents = variants.iter().map(|v| &v.name);
    let expected = format!(
        "expected one of {}",
        wires
            .iter()
            .map(|w| format!("{w:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    quote! {
        impl ::wskit::__private::Decode for #name {
            fn decode(
                raw: &::wskit::__private::RawValue,
                path: &::wskit::__private::Path<'_>,
                issues: &mut ::wskit::__private::Issues,
            ) -> ::std::option::Option<Self> {
                let s = <::std::string::String as ::wskit::__private::Decode>::decode(raw, path, issues)?;
                match s.as_str() {
                    #( #wires => ::std::option::Option::Some(#name::#idents), )*
                    _ => {
                        issues.push(path, #expected);
                        ::std::option::Option::None
                    }
                }
            }
        }

        impl ::wskit::Validate for #name {
            fn validate(&self, _: &::wskit::__private::Path<'_>, _: &mut ::wskit::__private::Issues) {}
        }
    }
}
