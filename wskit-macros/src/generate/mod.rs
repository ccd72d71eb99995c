//! Code generation: one file per output. Generated code reaches the runtime only through
//! `::wskit::__private` and public `wskit` paths.

mod client;
mod decode;
mod describe;
mod routing;
mod server;
mod spelling;
mod types;

use proc_macro2::TokenStream;
use quote::quote;

use crate::model::Protocol;

/// Everything a `protocol!` block expands to (for an invalid block, `check`'s best-effort model).
pub fn generate(p: &Protocol) -> TokenStream {
    let types = types::generate(p);
    let decode = decode::generate(p);
    let describe = describe::generate(p);
    let server = server::generate(p);
    let client = client::generate(p);
    quote! {
        #types
        #decode
        #describe
        #server
        #client
    }
}
