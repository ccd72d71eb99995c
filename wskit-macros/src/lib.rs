//! The `protocol!` macro of wskit. Use it as `wskit::protocol!`; the DSL is documented there and
//! in the README.
//!
//! The pipeline: `parse` reads the block into a syntax tree, `check` turns it into the small
//! `model` while collecting every mistake (each spanned on the user's token), and `generate`
//! writes the code, one file per output. An invalid block expands to its errors plus the code of
//! the best-effort model `check` still builds (everything but the broken parts), so that one
//! mistake gives one error, not a cascade at every use of the protocol.

use proc_macro2::TokenStream;

mod check;
mod generate;
mod model;
mod names;
mod parse;
#[cfg(test)]
mod tests;

/// See `wskit::protocol!`.
#[proc_macro]
pub fn protocol(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    expand(input.into()).into()
}

/// The expansion of a block, as tokens (testable without a compiler session).
fn expand(input: TokenStream) -> TokenStream {
    let block: parse::BlockAst = match syn::parse2(input) {
        Ok(block) => block,
        Err(e) => return e.to_compile_error(),
    };
    let mut out = TokenStream::new();
    for ast in &block.protocols {
        let (model, errors) = check::check(ast);
        out.extend(errors.map(|e| e.to_compile_error()));
        out.extend(generate::generate(&model));
    }
    out
}
