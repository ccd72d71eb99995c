//! The structs and enums, their serde form (exactly the wire form), and the `Message` / `Rpc` impls.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::spelling::{constraints_doc, docs, response_type, rust_type};
use crate::model::{Docs, Field, FieldType, Kind, Message, Protocol, Shape, TypeDecl};

pub fn generate(p: &Protocol) -> TokenStream {
    let mut out = TokenStream::new();
    for m in &p.messages {
        out.extend(message(p, m));
    }
    for t in &p.types {
        out.extend(type_decl(p, t));
    }
    out
}

/// A struct whose serde form is the JSON object of PROTOCOL.md: camelCase (or renamed) keys,
/// unknown keys refused, `None` left out.
///
/// `Serialize` is serde's derive; `Deserialize` is generated here (`deserialize_struct`).
pub fn strukt(p: &Protocol, name: &syn::Ident, doc: &Docs, fields: &[Field]) -> TokenStream {
    let vis = &p.vis;
    let doc = docs_or(doc, || format!("Type `{name}` of the protocol."));
    let serde_attr = |f: &Field| {
        let wire = &f.wire;
        let skip = matches!(f.ty, FieldType::Option(_))
            .then(|| quote!(, default, skip_serializing_if = "::std::option::Option::is_none"));
        quote!(#[serde(rename = #wire #skip)])
    };
    let pub_fields = fields.iter().map(|f| {
        let name = &f.name;
        let ty = rust_type(&f.ty);
        let attr = serde_attr(f);
        let mut doc = f.docs.clone();
        if doc.0.is_empty() {
            doc.0.push(format!("`{}` on the wire.", f.wire));
        }
        if let Some(line) = constraints_doc(&f.constraints) {
            doc.0.extend([String::new(), line]);
        }
        let doc = docs(&doc);
        quote! {
            #doc
            #attr
            pub #name: #ty
        }
    });
    let deserialize = deserialize_struct(name, fields);
    let write_json = (!fields
        .iter()
        .any(|f| has_external(p, &f.ty, &mut Vec::new())))
    .then(|| write_json_struct(name, fields));
    quote! {
        #write_json
        #doc
        #[derive(
            ::std::fmt::Debug,
            ::std::clone::Clone,
            ::std::cmp::PartialEq,
            ::wskit::__private::serde::Serialize,
        )]
        #[serde(crate = "::wskit::__private::serde")]
        #vis struct #name {
            #( #pub_fields, )*
        }

        #deserialize
    }
}

/// `Deserialize` of a struct: what serde's derive with `deny_unknown_fields` reads, from a JSON
/// object only (the derive also reads a struct's array form, which the wire does not allow).
/// Its visitor reads keys and values through `wskit::__private::{next_field, field_value,
/// required}`, which hold what the derive would generate for every struct (the key lookup, the
/// duplicate check, the errors): checking the derive's output took about half of a 100-message
/// protocol crate's compile time.
fn deserialize_struct(name: &syn::Ident, fields: &[Field]) -> TokenStream {
    let wires: Vec<&String> = fields.iter().map(|f| &f.wire).collect();
    let slots: Vec<_> = (0..fields.len())
        .map(|i| format_ident!("__field{}", i))
        .collect();
    let types = fields.iter().map(|f| rust_type(&f.ty));
    // The last field's arm is the wildcard: `next_field` gives only the fields' indexes.
    let indexes = (0..fields.len()).map(|i| {
        if i + 1 == fields.len() {
            quote!(_)
        } else {
            quote!(#i)
        }
    });
    let values = fields.iter().zip(&slots).map(|(f, slot)| {
        let name = &f.name;
        let wire = &f.wire;
        if matches!(f.ty, FieldType::Option(_)) {
            quote!(#name: #slot.unwrap_or(::std::option::Option::None))
        } else {
            quote!(#name: ::wskit::__private::required(#slot, #wire)?)
        }
    });
    let read = if fields.is_empty() {
        quote!(::wskit::__private::next_field(&mut __map, __FIELDS)?;)
    } else {
        quote! {
            #( let mut #slots: ::std::option::Option<#types> = ::std::option::Option::None; )*
            while let ::std::option::Option::Some(__index) = ::wskit::__private::next_field(&mut __map, __FIELDS)? {
                match __index {
                    #( #indexes => ::wskit::__private::field_value(&mut __map, &mut #slots, #wires)?, )*
                }
            }
        }
    };
    quote! {
        impl<'de> ::wskit::__private::serde::Deserialize<'de> for #name {
            fn deserialize<__D>(__deserializer: __D) -> ::std::result::Result<Self, __D::Error>
            where
                __D: ::wskit::__private::serde::Deserializer<'de>,
            {
                struct __Visitor;
                impl<'de> ::wskit::__private::serde::de::Visitor<'de> for __Visitor {
                    type Value = #name;
                    fn expecting(&self, __f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        __f.write_str("an object")
                    }
                    fn visit_map<__A>(self, mut __map: __A) -> ::std::result::Result<#name, __A::Error>
                    where
                        __A: ::wskit::__private::serde::de::MapAccess<'de>,
                    {
                        const __FIELDS: &[&str] = &[#( #wires ),*];
                        #read
                        ::std::result::Result::Ok(#name { #( #values, )* })
                    }
                }
                __deserializer.deserialize_map(__Visitor)
            }
        }
    }
}

/// `WriteJson` of a struct whose fields are all types `protocol!` knows: each field written as
/// `,"key":value` (a `None` left out), its key a constant escaped here; the first comma becomes
/// the brace (`close_object`), or, when the first field is always there, the brace is in its
/// constant.
fn write_json_struct(name: &syn::Ident, fields: &[Field]) -> TokenStream {
    let first_always = fields
        .first()
        .is_some_and(|f| !matches!(f.ty, FieldType::Option(_)));
    let writes = fields.iter().enumerate().map(|(i, f)| {
        let lead = if i == 0 && first_always { "{" } else { "," };
        let prefix = proc_macro2::Literal::byte_string(
            format!("{lead}{}:", json_string(&f.wire)).as_bytes(),
        );
        let field = &f.name;
        match f.ty {
            FieldType::Option(_) => quote! {
                if let ::std::option::Option::Some(__value) = &self.#field {
                    __out.extend_from_slice(#prefix);
                    ::wskit::__private::WriteJson::write_json(__value, __out)?;
                }
            },
            _ => quote! {
                __out.extend_from_slice(#prefix);
                ::wskit::__private::WriteJson::write_json(&self.#field, __out)?;
            },
        }
    });
    let (start, close) = if first_always {
        (quote!(), quote!(__out.push(b'}');))
    } else {
        (
            quote!(let __start = __out.len();),
            quote!(::wskit::__private::close_object(__out, __start);),
        )
    };
    impl_write_json(
        name,
        quote! {
            #start
            #( #writes )*
            #close
        },
    )
}

/// `impl WriteJson for #name` writing with `body` (into `__out`). `#[inline]`: compiled where
/// messages are encoded (a protocol crate without a server compiles none of it; measured with
/// `scripts/measure_compile_time.sh`, the protocol crate took 1.75x the hand-written one's CPU
/// time without it, 1.40x with it).
fn impl_write_json(name: &syn::Ident, body: TokenStream) -> TokenStream {
    quote! {
        impl ::wskit::__private::WriteJson for #name {
            #[inline]
            fn write_json(
                &self,
                __out: &mut ::std::vec::Vec<u8>,
            ) -> ::std::result::Result<(), ::wskit::__private::serde_json::Error> {
                #body
                ::std::result::Result::Ok(())
            }
        }
    }
}

/// `s` as a JSON string, quoted and escaped: serde_json's own bytes, which the runtime's
/// writer matches byte for byte.
fn json_string(s: &str) -> String {
    serde_json::to_string(s).expect("a string is always JSON")
}

/// The declared docs, or one line of default docs (so that `missing_docs` stays quiet).
fn docs_or(d: &Docs, default: impl FnOnce() -> String) -> TokenStream {
    if d.0.is_empty() {
        docs(&Docs(vec![default()]))
    } else {
        docs(d)
    }
}

fn message(p: &Protocol, m: &Message) -> TokenStream {
    let name = &m.name;
    let mut doc = m.docs.clone();
    if doc.0.is_empty() {
        doc.0.push(default_doc(p, m));
    }
    // A `type` an rpc replies with has its struct already.
    let mut out = if m.shared {
        TokenStream::new()
    } else {
        strukt(p, name, &doc, &m.fields)
    };
    let wire = &m.wire;
    let type_doc = format!(" The wire type of [`{name}`]: `\"{wire}\"`.");
    let payload = m.payload.variant();
    let subscription = m.subscription;
    let meta = match &m.meta {
        Some(fields) => {
            let meta_name = format_ident!("{}Meta", name);
            let meta_doc = Docs(vec![format!(
                "The extra meta fields of [`{name}`], beside `correlationId` and `timestamp`."
            )]);
            out.extend(strukt(p, &meta_name, &meta_doc, fields));
            out.extend(super::decode::strukt(&meta_name, fields));
            quote!(#meta_name)
        }
        None => quote!(::wskit::NoMeta),
    };
    // serde keeps the last of a map's repeated keys, where the strict decoder refuses them: a
    // message with a map anywhere in it is decoded by the strict decoder only.
    let serde_strict = !m.fields.iter().any(|f| has_map(p, &f.ty, &mut Vec::new()));
    // A user's own type may serialize as anything (serde_json's `RawValue`, say): a message
    // with one anywhere in it is written by serde_json only; the others by `WriteJson`.
    let known_shape = !m
        .fields
        .iter()
        .any(|f| has_external(p, &f.ty, &mut Vec::new()));
    let write_json = known_shape.then(|| {
        quote! {
            fn __write_json(
                &self,
                __out: &mut ::std::vec::Vec<u8>,
            ) -> ::std::result::Result<(), ::wskit::__private::serde_json::Error> {
                ::wskit::__private::WriteJson::write_json(self, __out)
            }
        }
    });
    let read_json = read_json(&m.fields);
    out.extend(quote! {
        impl ::wskit::Message for #name {
            #[doc = #type_doc]
            const TYPE: &'static str = #wire;
            const PAYLOAD: ::wskit::PayloadForm = ::wskit::PayloadForm::#payload;
            const SUBSCRIPTION: bool = #subscription;
            const __SERDE_STRICT: bool = #serde_strict;
            type Meta = #meta;
            #write_json
            #read_json
        }
    });
    if m.kind == Kind::Request {
        let response = response_type(m);
        let progress = match &m.progress {
            Some(pr) => quote!(#pr),
            None => quote!(::wskit::NoProgress),
        };
        let idempotent = m.idempotent;
        out.extend(quote! {
            impl ::wskit::Rpc for #name {
                type Response = #response;
                type Progress = #progress;
                const IDEMPOTENT: bool = #idempotent;
            }
        });
    }
    out
}

/// `Message::__read_json`: the payload object read entry by entry (`Fields`), each key matched
/// against the fields' keys as JSON text (in declared order: clients write them so), each value
/// read by serde; a key repeated, unknown or written with escapes, or a field missing, refuses
/// the fast read. Written without closures or `Result` conversions, which cost the protocol's
/// crate type-checking time. `#[inline]`: compiled where frames are decoded.
/// None for a message without fields (serde's derive reads `{}` as cheaply).
fn read_json(fields: &[Field]) -> TokenStream {
    if fields.is_empty() {
        return TokenStream::new();
    }
    let slots: Vec<_> = (0..fields.len())
        .map(|i| format_ident!("__field{}", i))
        .collect();
    let types = fields.iter().map(|f| rust_type(&f.ty));
    let keys = fields
        .iter()
        .map(|f| proc_macro2::Literal::byte_string(json_string(&f.wire).as_bytes()));
    // Required fields: all present or the read refuses (one `let ... else` for them all);
    // options: absent is `None` (serde's `default`).
    let (required, optional): (Vec<_>, Vec<_>) = fields
        .iter()
        .zip(&slots)
        .partition(|(f, _)| !matches!(f.ty, FieldType::Option(_)));
    let required_names = required.iter().map(|(f, _)| &f.name);
    let required_slots: Vec<_> = required.iter().map(|(_, slot)| slot).collect();
    let optional_names = optional.iter().map(|(f, _)| &f.name);
    let optional_slots = optional.iter().map(|(_, slot)| slot);
    let all_present = (!required_slots.is_empty()).then(|| {
        quote! {
            let ( #( ::std::option::Option::Some(#required_slots), )* ) = ( #( #required_slots, )* ) else {
                return ::std::option::Option::None;
            };
        }
    });
    quote! {
        #[inline]
        fn __read_json(__text: &str) -> ::std::option::Option<Self> {
            let mut __fields = ::wskit::__private::Fields::new(__text)?;
            #( let mut #slots: ::std::option::Option<#types> = ::std::option::Option::None; )*
            while __fields.next_key()? {
                #( if __fields.key(#keys) {
                    if __fields.value(&mut #slots) {
                        continue;
                    }
                    return ::std::option::Option::None;
                } )*
                return ::std::option::Option::None;
            }
            __fields.end()?;
            #all_present
            ::std::option::Option::Some(Self {
                #( #required_names: #required_slots, )*
                #( #optional_names: #optional_slots.unwrap_or(::std::option::Option::None), )*
            })
        }
    }
}

/// Whether a field type holds a `HashMap`/`BTreeMap`, through options, lists and the block's own
/// types (`seen` stops a recursive type).
fn has_map(p: &Protocol, ty: &FieldType, seen: &mut Vec<syn::Ident>) -> bool {
    match ty {
        FieldType::Map(..) => true,
        FieldType::Option(inner) | FieldType::Vec(inner) => has_map(p, inner, seen),
        FieldType::Named(name) if !seen.contains(name) => {
            seen.push(name.clone());
            p.types.iter().any(|t| {
                &t.name == name
                    && matches!(&t.shape, Shape::Struct(fields)
                        if fields.iter().any(|f| has_map(p, &f.ty, seen)))
            })
        }
        _ => false,
    }
}

/// Whether `ty` has a user's own type (by path) anywhere in it.
fn has_external(p: &Protocol, ty: &FieldType, seen: &mut Vec<syn::Ident>) -> bool {
    match ty {
        FieldType::External(_) => true,
        FieldType::Option(inner) | FieldType::Vec(inner) | FieldType::Map(_, inner) => {
            has_external(p, inner, seen)
        }
        FieldType::Named(name) if !seen.contains(name) => {
            seen.push(name.clone());
            p.types.iter().any(|t| {
                &t.name == name
                    && matches!(&t.shape, Shape::Struct(fields)
                        if fields.iter().any(|f| has_external(p, &f.ty, seen)))
            })
        }
        _ => false,
    }
}

fn default_doc(p: &Protocol, m: &Message) -> String {
    let req = |what: &str| {
        let rpc = p
            .messages
            .iter()
            .find(|r| r.response.as_ref() == Some(&m.name) || r.progress.as_ref() == Some(&m.name))
            .map(|r| r.name.to_string())
            .unwrap_or_default();
        format!("The {what} of the rpc [`{rpc}`].")
    };
    match m.kind {
        Kind::Message => format!("Message `{}` (client to server).", m.wire),
        Kind::Event => format!("Event `{}` (server to client).", m.wire),
        Kind::Request => format!("Rpc request `{}`.", m.wire),
        Kind::Response => req("response"),
        Kind::Progress => req("progress update"),
    }
}

fn type_decl(p: &Protocol, t: &TypeDecl) -> TokenStream {
    let name = &t.name;
    match &t.shape {
        Shape::Struct(fields) => strukt(p, name, &t.docs, fields),
        Shape::Enum(variants) => {
            let vis = &p.vis;
            let doc = docs_or(&t.docs, || format!("Type `{name}` of the protocol."));
            let decl = variants.iter().map(|v| {
                let vname = &v.name;
                let wire = &v.wire;
                let doc = docs_or(&v.docs, || format!("`\"{wire}\"` on the wire."));
                quote! {
                    #doc
                    #[serde(rename = #wire)]
                    #vname
                }
            });
            let vnames: Vec<_> = variants.iter().map(|v| &v.name).collect();
            let wires: Vec<_> = variants.iter().map(|v| &v.wire).collect();
            let quoted = variants
                .iter()
                .map(|v| proc_macro2::Literal::byte_string(json_string(&v.wire).as_bytes()));
            // An enum without variants (reported by `check`) has no value to write.
            let write_json = impl_write_json(
                name,
                if variants.is_empty() {
                    quote!()
                } else {
                    quote! {
                        let __text: &'static [u8] = match self {
                            #( #name::#vnames => #quoted, )*
                        };
                        __out.extend_from_slice(__text);
                    }
                },
            );
            // Read from a JSON string only: serde's derive also accepts `{"red": null}`.
            quote! {
                #doc
                #[derive(
                    ::std::fmt::Debug,
                    ::std::clone::Clone,
                    ::std::marker::Copy,
                    ::std::cmp::PartialEq,
                    ::std::cmp::Eq,
                    ::std::hash::Hash,
                    ::wskit::__private::serde::Serialize,
                )]
                #[serde(crate = "::wskit::__private::serde")]
                #vis enum #name {
                    #( #decl, )*
                }

                impl<'de> ::wskit::__private::serde::Deserialize<'de> for #name {
                    fn deserialize<__D>(__deserializer: __D) -> ::std::result::Result<Self, __D::Error>
                    where
                        __D: ::wskit::__private::serde::Deserializer<'de>,
                    {
                        const __VARIANTS: &[#name] = &[#( #name::#vnames ),*];
                        let __i = ::wskit::__private::deserialize_unit_variant(__deserializer, &[#( #wires ),*])?;
                        ::std::result::Result::Ok(__VARIANTS[__i])
                    }
                }

                #write_json
            }
        }
    }
}
