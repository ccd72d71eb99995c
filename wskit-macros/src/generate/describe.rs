//! The protocol's description: a `static wskit::describe::ProtocolDesc`.

use proc_macro2::TokenStream;
use quote::quote;

use super::spelling::{opt_f64, opt_u64, plain};
use crate::model::{
    Constraint, Field, FieldType, Kind, Message, Protocol, Rule, Shape, TypeDecl, path_string,
};

pub fn generate(p: &Protocol) -> TokenStream {
    let name = &p.name;
    let name_str = name.to_string();
    let docs = p.docs.joined();
    let messages = p.messages.iter().map(message);
    let types = p.types.iter().map(type_decl);
    quote! {
        impl ::wskit::Protocol for #name {
            fn description() -> &'static ::wskit::describe::ProtocolDesc {
                static DESCRIPTION: ::wskit::describe::ProtocolDesc = ::wskit::describe::ProtocolDesc {
                    name: #name_str,
                    docs: #docs,
                    messages: &[ #( #messages, )* ],
                    types: &[ #( #types, )* ],
                };
                &DESCRIPTION
            }
        }
    }
}

fn opt_str(v: Option<String>) -> TokenStream {
    match v {
        Some(v) => quote!(::std::option::Option::Some(#v)),
        None => quote!(::std::option::Option::None),
    }
}

fn message(m: &Message) -> TokenStream {
    let d = quote!(::wskit::describe);
    let name = m.name.to_string();
    let wire = &m.wire;
    let kind = match m.kind {
        Kind::Message => quote!(Message),
        Kind::Event => quote!(Event),
        Kind::Request => quote!(Request),
        Kind::Response => quote!(Response),
        Kind::Progress => quote!(Progress),
    };
    let docs = m.docs.joined();
    let fields = m.fields.iter().map(field);
    let payload = m.payload.variant();
    let meta = m.meta.iter().flatten().map(field);
    let response = opt_str(m.response.as_ref().map(ToString::to_string));
    let progress = opt_str(m.progress.as_ref().map(ToString::to_string));
    let idempotent = m.idempotent;
    let subscription = m.subscription;
    quote! {
        #d::MessageDesc {
            name: #name,
            wire_type: #wire,
            kind: #d::MessageKind::#kind,
            docs: #docs,
            payload: ::wskit::PayloadForm::#payload,
            fields: &[ #( #fields, )* ],
            meta: &[ #( #meta, )* ],
            response: #response,
            progress: #progress,
            idempotent: #idempotent,
            subscription: #subscription,
        }
    }
}

fn field(f: &Field) -> TokenStream {
    let name = plain(&f.name);
    let wire = &f.wire;
    let ty = type_ref(&f.ty);
    let docs = f.docs.joined();
    let constraints = f.constraints.iter().map(constraint);
    quote! {
        ::wskit::describe::FieldDesc {
            name: #name,
            wire_name: #wire,
            ty: #ty,
            docs: #docs,
            constraints: &[ #( #constraints, )* ],
        }
    }
}

fn type_ref(ty: &FieldType) -> TokenStream {
    let d = quote!(::wskit::describe::TypeRef);
    match ty {
        FieldType::String => quote!(#d::String),
        FieldType::Bool => quote!(#d::Bool),
        FieldType::Int(n) => quote!(#d::Integer(#n)),
        FieldType::Float(n) => quote!(#d::Float(#n)),
        FieldType::Json => quote!(#d::Json),
        FieldType::Option(t) => {
            let t = type_ref(t);
            quote!(#d::Option(&#t))
        }
        FieldType::Vec(t) => {
            let t = type_ref(t);
            quote!(#d::List(&#t))
        }
        FieldType::Map(_, t) => {
            let t = type_ref(t);
            quote!(#d::Map(&#t))
        }
        FieldType::Named(n) => {
            let n = n.to_string();
            quote!(#d::Named(#n))
        }
        FieldType::External(p) => {
            let p = path_string(p);
            quote!(#d::External(#p))
        }
    }
}

fn constraint(c: &Constraint) -> TokenStream {
    let d = quote!(::wskit::describe::Constraint);
    match &c.rule {
        Rule::Length { min, max } => {
            let (min, max) = (opt_u64(*min), opt_u64(*max));
            quote!(#d::Length { min: #min, max: #max })
        }
        Rule::Range { min, max } => {
            let (min, max) = (opt_f64(*min), opt_f64(*max));
            quote!(#d::Range { min: #min, max: #max })
        }
        Rule::Pattern(lit) => quote!(#d::Pattern(#lit)),
        Rule::Email => quote!(#d::Email),
        Rule::Url => quote!(#d::Url),
        Rule::Uuid => quote!(#d::Uuid),
        Rule::Items(items) => {
            let items = items.iter().map(constraint);
            quote!(#d::Items(&[ #( #items, )* ]))
        }
        Rule::Custom(f) => {
            let f = path_string(f);
            quote!(#d::Custom(#f))
        }
    }
}

fn type_decl(t: &TypeDecl) -> TokenStream {
    let d = quote!(::wskit::describe);
    let name = t.name.to_string();
    let docs = t.docs.joined();
    let shape = match &t.shape {
        Shape::Struct(fields) => {
            let fields = fields.iter().map(field);
            quote!(#d::TypeShape::Struct(&[ #( #fields, )* ]))
        }
        Shape::Enum(variants) => {
            let variants = variants.iter().map(|v| {
                let name = v.name.to_string();
                let wire = &v.wire;
                let docs = v.docs.joined();
                quote!(#d::VariantDesc { name: #name, wire_name: #wire, docs: #docs })
            });
            quote!(#d::TypeShape::Enum(&[ #( #variants, )* ]))
        }
    };
    quote!(#d::TypeDesc { name: #name, docs: #docs, shape: #shape })
}
