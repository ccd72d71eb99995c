//! What an invalid block still expands to, beside its errors: the items the user declared, with
//! their fields but without impls, so that one mistake does not cascade into "cannot find type"
//! or "no field" errors at every use. A field whose type could not be resolved is a JSON value.

use std::collections::HashSet;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::Ident;

use super::rust_type;
use crate::model::{Field, Protocol, Shape};

pub fn stubs(p: &Protocol) -> TokenStream {
    let vis = &p.vis;
    let proto = &p.name;
    let generated = [
        proto.clone(),
        format_ident!("{}Handler", proto),
        format_ident!("{}Service", proto),
        format_ident!("{}Client", proto),
        format_ident!("{}Event", proto),
    ];
    let mut taken: HashSet<String> = generated.iter().map(ToString::to_string).collect();
    let mut out = TokenStream::new();
    let strukt =
        |name: &Ident, fields: &[Field], out: &mut TokenStream, taken: &mut HashSet<String>| {
            if taken.insert(name.to_string()) {
                let mut seen = HashSet::new();
                let fields = fields
                    .iter()
                    .filter(|f| seen.insert(f.name.to_string()))
                    .map(|f| {
                        let name = &f.name;
                        let ty = rust_type(&f.ty);
                        quote!(pub #name: #ty)
                    });
                out.extend(quote!(#[allow(dead_code)] #vis struct #name { #( #fields, )* }));
            }
        };
    for m in &p.messages {
        strukt(&m.name, &m.fields, &mut out, &mut taken);
        if let Some(meta) = &m.meta {
            strukt(&format_ident!("{}Meta", m.name), meta, &mut out, &mut taken);
        }
    }
    for t in &p.types {
        match &t.shape {
            Shape::Struct(fields) => strukt(&t.name, fields, &mut out, &mut taken),
            Shape::Enum(variants) => {
                if taken.insert(t.name.to_string()) {
                    let name = &t.name;
                    let mut seen = HashSet::new();
                    let vs = variants
                        .iter()
                        .map(|v| &v.name)
                        .filter(|v| seen.insert(v.to_string()));
                    out.extend(quote!(#[allow(dead_code)] #vis enum #name { #( #vs, )* }));
                }
            }
        }
    }
    let [proto, handler, service, client, event] = &generated;
    out.extend(quote! {
        #[allow(dead_code)]
        #vis struct #proto;
        #[allow(dead_code)]
        #vis trait #handler {}
        #[allow(dead_code)]
        #vis struct #service<H>(::std::marker::PhantomData<H>);
        #[allow(dead_code)]
        #vis struct #client {}
        #[allow(dead_code)]
        #vis enum #event {}
    });
    out
}
