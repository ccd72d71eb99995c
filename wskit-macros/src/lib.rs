//! The `protocol!` macro of wskit. Use it as `wskit::protocol!`; the DSL is documented there and
//! in the README.
//!
//! The pipeline: `parse` reads the block into a syntax tree, `check` turns it into the small
//! `model` while collecting every mistake (each spanned on the user's token), and `generate`
//! writes the code, one file per output. An invalid block expands to its errors plus empty stubs
//! of the declared items, so that one mistake does not cascade.

use proc_macro::TokenStream;

mod check;
mod generate;
mod model;
mod names;
mod parse;
#[cfg(test)]
mod tests;

/// See `wskit::protocol!`.
#[proc_macro]
pub fn protocol(input: TokenStream) -> TokenStream {
    expand(input.into()).into()
}

/// The expansion of a block, as tokens (testable without a compiler session).
fn expand(input: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    let ast: parse::ProtocolAst = match syn::parse2(input) {
        Ok(ast) => ast,
        Err(e) => return e.to_compile_error(),
    };
    match check::check(&ast) {
        Ok(model) => generate::generate(&model),
        Err(failed) => {
            let (errors, partial) = *failed;
            let mut out = errors.to_compile_error();
            out.extend(generate::stubs(&partial));
            out
        }
    }
}
