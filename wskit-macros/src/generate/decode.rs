//! `wskit::validate::Decode` (strict, every issue at once) and `wskit::Validate` (constraints).
//!
//! Each field with constraints gets one hidden check function, called by both impls, so every
//! rule is generated once.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::Ident;

use super::spelling::{opt_f64, opt_u64, plain, rust_type};
use crate::model::{Constraint, Field, FieldType, Protocol, Rule, Shape, Variant};

pub fn generate(p: &Protocol) -> TokenStream {
    let mut out = TokenStream::new();
    for m in p.messages.iter().filter(|m| !m.shared) {
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
    let checks: Vec<TokenStream> = fields
        .iter()
        .filter(|f| !f.constraints.is_empty())
        .map(|f| {
            let ident = check_fn(f);
            let ty = rust_type(&f.ty);
            // Parameter names that cannot shadow a user's `custom = function`.
            let body = constraints(&f.constraints, &f.ty, &quote!(__value), &quote!(__path), 0);
            quote! {
                #[doc(hidden)]
                #[allow(clippy::ptr_arg)]
                #[inline]
                fn #ident(
                    __value: &#ty,
                    __path: &::wskit::__private::Path<'_>,
                    __issues: &mut ::wskit::__private::Issues,
                ) {
                    #body
                }
            }
        })
        .collect();
    let checks = (!checks.is_empty()).then(|| quote!(impl #name { #( #checks )* }));
    let slots: Vec<Ident> = fields
        .iter()
        .map(|f| format_ident!("__raw_{}", plain(&f.name)))
        .collect();
    let vars: Vec<Ident> = fields
        .iter()
        .map(|f| format_ident!("__field_{}", plain(&f.name)))
        .collect();
    let wires: Vec<&String> = fields.iter().map(|f| &f.wire).collect();
    let field_count = fields.len();
    let names: Vec<&Ident> = fields.iter().map(|f| &f.name).collect();
    // Present keys are decoded in document order, so issues come in the order of the JSON text;
    // absent keys are settled after (`required`, or `None` for an `Option`).
    let present = fields.iter().map(|f| {
        let ty = rust_type(&f.ty);
        let wire = &f.wire;
        let decode = if f.ty.has_external() {
            quote!(::wskit::__private::decode_with_serde::<#ty>(*__raw, &__path, issues))
        } else {
            quote!(<#ty as ::wskit::__private::Decode>::decode(*__raw, &__path, issues))
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
    let absent = fields.iter().map(|f| {
        let ty = rust_type(&f.ty);
        let wire = &f.wire;
        if !f.ty.has_external() {
            quote!(::wskit::__private::field::<#ty>(::std::option::Option::None, &path.field(#wire), issues))
        } else if matches!(f.ty, FieldType::Option(_)) {
            quote!(::std::option::Option::Some(::std::option::Option::None))
        } else {
            quote!({
                issues.push(&path.field(#wire), "required");
                ::std::option::Option::None
            })
        }
    });
    let tys: Vec<TokenStream> = fields.iter().map(|f| rust_type(&f.ty)).collect();
    let validate_fields = fields.iter().map(|f| {
        let name = &f.name;
        let wire = &f.wire;
        let check = (!f.constraints.is_empty()).then(|| {
            let ident = check_fn(f);
            quote!(Self::#ident(&self.#name, &__path, issues);)
        });
        // Named by its type, so that a user's type without `Validate` is reported on that type.
        let ty = rust_type(&f.ty);
        let nested = nests(&f.ty)
            .then(|| quote!(<#ty as ::wskit::Validate>::validate(&self.#name, &__path, issues);));
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
        #checks

        impl ::wskit::__private::Decode for #name {
            #[inline]
            fn decode(
                raw: &::wskit::__private::RawValue,
                path: &::wskit::__private::Path<'_>,
                issues: &mut ::wskit::__private::Issues,
            ) -> ::std::option::Option<Self> {
                let __start = issues.len();
                // More keys than fields: refused whatever follows the first of them.
                let __entries = ::wskit::__private::object_entries_within(
                    raw,
                    path,
                    issues,
                    #field_count + ::wskit::__private::Issues::LIMIT + 1,
                )?;
                #( let mut #slots: ::std::option::Option<::std::option::Option<#tys>> = ::std::option::Option::None; )*
                for (__key, __raw) in &__entries {
                    match &**__key {
                        #( #wires => #slots = ::std::option::Option::Some(#present), )*
                        __other => ::wskit::__private::unknown_key(&path.field(__other), issues),
                    }
                }
                #(
                    let #vars = match #slots {
                        ::std::option::Option::Some(v) => v,
                        ::std::option::Option::None => #absent,
                    };
                )*
                if issues.len() != __start {
                    return ::std::option::Option::None;
                }
                ::std::option::Option::Some(Self { #( #names: #vars?, )* })
            }
        }

        impl ::wskit::Validate for #name {
            #[allow(unused_variables)]
            #[inline]
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
                quote!(#p::check_str_length(#value, #min, #max, #path, __issues);)
            } else {
                quote!(#p::check_len(#value.len(), #min, #max, #path, __issues);)
            }
        }
        Rule::Range { min, max } => {
            let (min, max) = (opt_f64(*min), opt_f64(*max));
            quote!(#p::check_range(*#value as f64, #min, #max, #path, __issues);)
        }
        Rule::Pattern(lit) => quote! {{
            static PATTERN: #p::LazyLock<#p::Regex> = #p::LazyLock::new(|| {
                #p::Regex::new(#lit).expect("the pattern was checked by protocol!")
            });
            #p::check_pattern(#value, &PATTERN, #path, __issues);
        }},
        Rule::Email => quote!(#p::check_email(#value, #path, __issues);),
        Rule::Url => quote!(#p::check_url(#value, #path, __issues);),
        Rule::Uuid => quote!(#p::check_uuid(#value, #path, __issues);),
        // Strings and lists reach the user's function as `&str` and `&[T]`, as clippy likes them.
        Rule::Custom(f) => match ty {
            FieldType::String => quote!(#p::check_custom(#value.as_str(), #f, #path, __issues);),
            FieldType::Vec(_) => quote!(#p::check_custom(#value.as_slice(), #f, #path, __issues);),
            _ => quote!(#p::check_custom(#value, #f, #path, __issues);),
        },
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
            #[inline]
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
