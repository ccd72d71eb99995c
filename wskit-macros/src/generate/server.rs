//! The server side: the handler trait, the service that dispatches to it, and `Chat::server`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::{docs, method_name};
use crate::model::{Docs, Kind, Protocol};

pub fn generate(p: &Protocol) -> TokenStream {
    let vis = &p.vis;
    let proto = &p.name;
    let handler = format_ident!("{}Handler", proto);
    let service = format_ident!("{}Service", proto);
    let incoming = super::served(p);
    let methods = incoming.iter().map(|m| {
        let method = method_name(&m.name);
        let name = &m.name;
        let mut doc = m.docs.clone();
        if doc.0.is_empty() {
            doc = Docs(vec![format!("Handles [`{name}`].")]);
        }
        let doc = docs(&doc);
        if m.kind == Kind::Request {
            let response = super::response_type(m);
            quote! {
                #doc
                fn #method(
                    &self,
                    ctx: ::wskit::server::RpcContext<Self::Data, #name>,
                    req: #name,
                ) -> impl ::std::future::Future<Output = ::std::result::Result<#response, ::wskit::Error>> + ::std::marker::Send;
            }
        } else {
            quote! {
                #doc
                fn #method(
                    &self,
                    ctx: ::wskit::server::Context<Self::Data>,
                    msg: #name,
                ) -> impl ::std::future::Future<Output = ::std::result::Result<(), ::wskit::Error>> + ::std::marker::Send;
            }
        }
    });
    let arms = super::first_per_wire(&incoming).into_iter().map(|m| {
        let method = method_name(&m.name);
        let name = &m.name;
        let wire = &m.wire;
        let serve = if m.kind == Kind::Request {
            quote!(serve_rpc::<H::Data, #name, _, _>)
        } else {
            quote!(serve_message::<H::Data, #name, _, _>)
        };
        quote! {
            #wire => {
                let handler = ::std::sync::Arc::clone(&self.handler);
                ::wskit::__private::#serve(request, move |ctx, msg| async move {
                    handler.#method(ctx, msg).await
                })
            }
        }
    });
    let handler_doc = format!(
        " The handlers of protocol [`{proto}`]: one method per client-to-server message and rpc, \
         the context first. Implementors may write `async fn`."
    );
    let service_doc =
        format!(" The handlers of [`{proto}`] ready to be served: made by [`{proto}::server`].");
    let server_doc = " Serves this protocol with `handler`: add the result to a server.";
    // Only with wskit's `server` feature: `if_server!` keeps or drops it.
    quote! { ::wskit::__private::if_server! {
        #[doc = #handler_doc]
        #vis trait #handler: ::std::marker::Send + ::std::marker::Sync + 'static {
            /// The connection data produced by authentication (`()` if none).
            type Data: ::std::marker::Send + ::std::marker::Sync + 'static;
            #( #methods )*
        }

        #[doc = #service_doc]
        #vis struct #service<H> {
            handler: ::std::sync::Arc<H>,
        }

        impl<H> ::std::clone::Clone for #service<H> {
            fn clone(&self) -> Self {
                #service { handler: ::std::sync::Arc::clone(&self.handler) }
            }
        }

        impl #proto {
            #[doc = #server_doc]
            #vis fn server<H: #handler>(handler: H) -> #service<H> {
                #service { handler: ::std::sync::Arc::new(handler) }
            }
        }

        impl<H: #handler> ::wskit::server::Service<H::Data> for #service<H> {
            fn description(&self) -> &'static ::wskit::describe::ProtocolDesc {
                <#proto as ::wskit::Protocol>::description()
            }

            fn __decodes_unparsed(&self) -> bool {
                true
            }

            fn call(
                &self,
                request: ::wskit::server::Request<H::Data>,
            ) -> ::wskit::__private::BoxFuture<'static, ()> {
                let wire_type: &str = request.wire_type();
                match wire_type {
                    #( #arms )*
                    _ => ::wskit::__private::serve_unknown(request),
                }
            }
        }
    }}
}
