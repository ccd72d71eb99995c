//! The `protocol!` macro of wskit. Use it as `wskit::protocol!`.

use proc_macro::TokenStream;

/// See `wskit::protocol!`.
#[proc_macro]
pub fn protocol(_input: TokenStream) -> TokenStream {
    TokenStream::new()
}
