//! The server side: the handler trait, the service that dispatches to it, and `Chat::server`;
//! and the same for a single-threaded host (`ChatLocalHandler`, `Chat::local_server`: futures
//! need not be `Send`).

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::routing::{first_per_wire, served};
use super::spelling::{docs, method_name, response_type};
use crate::model::{Docs, Kind, Protocol};

/// Which runtime a handler trait is served on.
#[derive(Clone, Copy, PartialEq)]
enum Host {
    /// `wskit::server` (tokio, multi-threaded: `Send` futures), feature `server`.
    Tokio,
    /// `wskit::local` (one thread: futures need not be `Send`), feature `local`.
    Local,
}

pub fn generate(p: &Protocol) -> TokenStream {
    let tokio = generate_for(p, Host::Tokio);
    let local = generate_for(p, Host::Local);
    quote! { #tokio #local }
}

fn generate_for(p: &Protocol, host: Host) -> TokenStream {
    let vis = &p.vis;
    let proto = &p.name;
    let local = host == Host::Local;
    let (handler, service) = if local {
        (
            format_ident!("{}LocalHandler", proto),
            format_ident!("{}LocalService", proto),
        )
    } else {
        (
            format_ident!("{}Handler", proto),
            format_ident!("{}Service", proto),
        )
    };
    // What differs between the two hosts: where the contexts and the service trait live, how
    // the handler is shared, and whether futures and the handler must be `Send`.
    let module = if local { quote!(local) } else { quote!(server) };
    let send = if local {
        quote!()
    } else {
        quote!(+ ::std::marker::Send)
    };
    let shared = if local {
        quote!(::std::rc::Rc)
    } else {
        quote!(::std::sync::Arc)
    };
    let serve_path = if local {
        quote!(::wskit::__private::local)
    } else {
        quote!(::wskit::__private)
    };
    let boxed = if local {
        quote!(::wskit::__private::local::LocalBoxFuture)
    } else {
        quote!(::wskit::__private::BoxFuture)
    };
    let constructor = if local {
        format_ident!("local_server")
    } else {
        format_ident!("server")
    };
    let incoming = served(p);
    let methods = incoming.iter().map(|m| {
        let method = method_name(&m.name);
        let name = &m.name;
        let mut doc = m.docs.clone();
        if doc.0.is_empty() {
            doc = Docs(vec![format!("Handles [`{name}`].")]);
        }
        let doc = docs(&doc);
        if m.kind == Kind::Request {
            let response = response_type(m);
            quote! {
                #doc
                fn #method(
                    &self,
                    ctx: ::wskit::#module::RpcContext<Self::Data, #name>,
                    req: #name,
                ) -> impl ::std::future::Future<Output = ::std::result::Result<#response, ::wskit::Error>> #send;
            }
        } else {
            quote! {
                #doc
                fn #method(
                    &self,
                    ctx: ::wskit::#module::Context<Self::Data>,
                    msg: #name,
                ) -> impl ::std::future::Future<Output = ::std::result::Result<(), ::wskit::Error>> #send;
            }
        }
    });
    let arms = first_per_wire(&incoming).into_iter().map(|m| {
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
                let handler = #shared::clone(&self.handler);
                #serve_path::#serve(request, move |ctx, msg| async move {
                    handler.#method(ctx, msg).await
                })
            }
        }
    });
    let (handler_doc, service_doc, server_doc) = if local {
        (
            format!(
                " The handlers of protocol [`{proto}`] on a single-threaded host (`wskit::local`, \
                 a Cloudflare Durable Object): one method per client-to-server message and rpc, the \
                 context first; the futures need not be `Send`. Implementors may write `async fn`."
            ),
            format!(
                " The handlers of [`{proto}`] ready to be served on a single-threaded host: made \
                 by [`{proto}::local_server`]."
            ),
            " Serves this protocol with `handler` on a single-threaded host: add the result to a \
             `wskit::local::LocalServer`.",
        )
    } else {
        (
            format!(
                " The handlers of protocol [`{proto}`]: one method per client-to-server message \
                 and rpc, the context first. Implementors may write `async fn`."
            ),
            format!(
                " The handlers of [`{proto}`] ready to be served: made by [`{proto}::server`]."
            ),
            " Serves this protocol with `handler`: add the result to a server.",
        )
    };
    let (bounds, data_bounds) = if local {
        (quote!('static), quote!('static))
    } else {
        (
            quote!(::std::marker::Send + ::std::marker::Sync + 'static),
            quote!(::std::marker::Send + ::std::marker::Sync + 'static),
        )
    };
    let decodes_unparsed = if local {
        quote!()
    } else {
        quote! {
            fn __decodes_unparsed(&self) -> bool {
                true
            }
        }
    };
    let items = quote! {
        #[doc = #handler_doc]
        #vis trait #handler: #bounds {
            /// The connection data produced by authentication (`()` if none).
            type Data: #data_bounds;
            #( #methods )*
        }

        #[doc = #service_doc]
        #vis struct #service<H> {
            handler: #shared<H>,
        }

        impl<H> ::std::clone::Clone for #service<H> {
            fn clone(&self) -> Self {
                #service { handler: #shared::clone(&self.handler) }
            }
        }

        impl #proto {
            #[doc = #server_doc]
            #vis fn #constructor<H: #handler>(handler: H) -> #service<H> {
                #service { handler: #shared::new(handler) }
            }
        }

        impl<H: #handler> ::wskit::#module::Service<H::Data> for #service<H> {
            fn description(&self) -> &'static ::wskit::describe::ProtocolDesc {
                <#proto as ::wskit::Protocol>::description()
            }

            #decodes_unparsed

            fn call(
                &self,
                request: ::wskit::#module::Request<H::Data>,
            ) -> #boxed<'static, ()> {
                let wire_type: &str = request.wire_type();
                match wire_type {
                    #( #arms )*
                    _ => #serve_path::serve_unknown(request),
                }
            }
        }
    };
    // Only with wskit's `server` (`local`) feature: `if_server!` (`if_local!`) keeps or drops it.
    if local {
        quote! { ::wskit::__private::if_local! { #items } }
    } else {
        quote! { ::wskit::__private::if_server! { #items } }
    }
}
