//! The client side: the protocol's marker type, `ChatEvent` and `ChatClient`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::routing::{first_per_wire, served};
use super::spelling::{docs, method_name};
use crate::model::{Kind, Protocol};

pub fn generate(p: &Protocol) -> TokenStream {
    let vis = &p.vis;
    let proto = &p.name;
    let client = format_ident!("{}Client", proto);
    let event = format_ident!("{}Event", proto);
    let proto_docs = if p.docs.0.is_empty() {
        let line = format!(" The `{proto}` protocol.");
        quote!(#[doc = #line])
    } else {
        docs(&p.docs)
    };
    let events: Vec<_> = p
        .messages
        .iter()
        .filter(|m| m.kind == Kind::Event)
        .collect();
    let variants = events.iter().map(|m| {
        let name = &m.name;
        let doc = format!(" [`{name}`]");
        quote!(#[doc = #doc] #name(#name))
    });
    let event_arms = first_per_wire(&events).into_iter().map(|m| {
        let name = &m.name;
        let wire = &m.wire;
        quote! {
            #wire => ::std::option::Option::Some(
                ::wskit::__private::decode_payload::<#name>(frame.payload).map(#event::#name),
            ),
        }
    });
    let froms = events.iter().map(|m| {
        let name = &m.name;
        quote! {
            impl ::std::convert::From<#name> for #event {
                #[inline]
                fn from(event: #name) -> Self {
                    #event::#name(event)
                }
            }
        }
    });
    // A message whose method would be one of the client's own (`check` reports it) gets none.
    let served = served(p);
    let methods = served.iter().filter(|m| {
        !crate::check::CLIENT_METHODS.contains(&method_name(&m.name).to_string().as_str())
    });
    let methods = methods.map(|m| {
        let method = method_name(&m.name);
        let name = &m.name;
        if m.kind == Kind::Request {
            let doc = format!(" Calls [`{name}`]; await the returned call for the reply.");
            quote! {
                #[doc = #doc]
                #[inline]
                #vis fn #method(&self, req: #name) -> ::wskit::client::Call<#name> {
                    self.inner.request(req)
                }
            }
        } else {
            let doc = format!(" Sends [`{name}`] (queued while offline).");
            quote! {
                #[doc = #doc]
                #[inline]
                #vis fn #method(&self, msg: #name) -> ::std::result::Result<(), ::wskit::client::ClientError> {
                    self.inner.send(msg)
                }
            }
        }
    });
    let event_doc = format!(" The server events of [`{proto}`], as the client receives them.");
    let client_doc = format!(" A typed client of [`{proto}`]: one method per message and rpc.");
    let events_doc = format!(" The server events of [`{proto}`], as a stream of [`{event}`].");
    quote! {
        #proto_docs
        #[derive(::std::fmt::Debug, ::std::clone::Clone, ::std::marker::Copy, ::std::default::Default)]
        #vis struct #proto;

        #[doc = #event_doc]
        #[derive(::std::fmt::Debug, ::std::clone::Clone, ::std::cmp::PartialEq)]
        #vis enum #event {
            #( #variants, )*
        }

        #( #froms )*

        impl ::wskit::EventSet for #event {
            #[inline]
            fn decode_event(
                frame: &::wskit::wire::InboundFrame<'_>,
            ) -> ::std::option::Option<::std::result::Result<Self, ::wskit::Issues>> {
                match &*frame.ty {
                    #( #event_arms )*
                    _ => ::std::option::Option::None,
                }
            }
        }

        // Only with wskit's `client` feature: `if_client!` keeps or drops it.
        ::wskit::__private::if_client! {
        #[doc = #client_doc]
        #[derive(::std::clone::Clone)]
        #vis struct #client {
            inner: ::wskit::client::Client,
        }

        impl #client {
            /// Wraps a connected client.
            #[inline]
            #vis fn new(client: ::wskit::client::Client) -> Self {
                #client { inner: client }
            }

            /// The untyped client underneath.
            #[inline]
            #vis fn inner(&self) -> &::wskit::client::Client {
                &self.inner
            }

            #[doc = #events_doc]
            #[inline]
            #vis fn events(&self) -> ::wskit::client::Events<#event> {
                self.inner.events::<#event>()
            }

            #( #methods )*
        }

        impl ::std::convert::From<::wskit::client::Client> for #client {
            #[inline]
            fn from(client: ::wskit::client::Client) -> Self {
                #client::new(client)
            }
        }
        }
    }
}
