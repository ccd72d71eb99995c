//! What an invalid block still expands to, beside its errors: the items the user declared, empty,
//! so that one mistake does not cascade into "cannot find type" errors at every use.

use std::collections::HashSet;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::Ident;

use crate::parse::{ItemKindAst, ProtocolAst};

pub fn stubs(ast: &ProtocolAst) -> TokenStream {
    let vis = &ast.vis;
    let proto = &ast.name;
    let mut taken = HashSet::new();
    let mut out = TokenStream::new();
    let strukt = |name: &Ident, out: &mut TokenStream, taken: &mut HashSet<String>| {
        if taken.insert(name.to_string()) {
            out.extend(quote!(#[allow(dead_code)] #vis struct #name {}));
        }
    };
    let generated = [
        proto.clone(),
        format_ident!("{}Handler", proto),
        format_ident!("{}Service", proto),
        format_ident!("{}Client", proto),
        format_ident!("{}Event", proto),
    ];
    taken.extend(generated.iter().map(ToString::to_string));
    for item in &ast.items {
        match &item.kind {
            ItemKindAst::Message { meta, .. } | ItemKindAst::Event { meta, .. } => {
                strukt(&item.name, &mut out, &mut taken);
                if meta.is_some() {
                    strukt(&format_ident!("{}Meta", item.name), &mut out, &mut taken);
                }
            }
            ItemKindAst::Rpc {
                response,
                progress,
                meta,
                ..
            } => {
                strukt(&item.name, &mut out, &mut taken);
                for part in response.iter().chain(progress) {
                    strukt(&part.name, &mut out, &mut taken);
                }
                if meta.is_some() {
                    strukt(&format_ident!("{}Meta", item.name), &mut out, &mut taken);
                }
            }
            ItemKindAst::Type { .. } => strukt(&item.name, &mut out, &mut taken),
            ItemKindAst::Enum { variants } => {
                if taken.insert(item.name.to_string()) {
                    let name = &item.name;
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
