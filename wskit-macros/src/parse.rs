//! The syntax tree of the DSL, as written: no meaning is checked here beyond the grammar, so that
//! `check` can report every mistake of a block at once.
//!
//! ```text
//! protocol  := attrs vis "protocol" Ident "{" ( item ";"? )* "}"
//! item      := attrs ( "message" | "event" ) Ident fields? meta?
//!            | attrs "rpc" Ident args? ( "->" attrs Ident fields? )? ( "progress" attrs Ident fields? )? meta?
//!            | attrs "type" Ident fields
//!            | attrs "enum" Ident "{" ( attrs Ident ),* "}"
//! fields    := "{" ( attrs Ident ":" Type ),* "}"
//! args      := "(" ( attrs Ident ":" Type ),* ")"
//! meta      := "meta" fields
//! ```
//!
//! Braces (parentheses for an rpc request) make a payload object, possibly empty (`"payload":{}`
//! on the wire); without them the message has no payload (no `payload` key). A `;` may end any
//! declaration. `-> Name` without braces names a `type` of the block when there is one.

use syn::parse::discouraged::Speculative;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Attribute, Ident, Token, Type, Visibility, braced, parenthesized};

mod kw {
    syn::custom_keyword!(protocol);
    syn::custom_keyword!(message);
    syn::custom_keyword!(event);
    syn::custom_keyword!(rpc);
    syn::custom_keyword!(progress);
    syn::custom_keyword!(meta);
}

/// A whole `protocol!` block.
pub struct ProtocolAst {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub name: Ident,
    pub items: Vec<ItemAst>,
    /// Grammar errors inside the block: each bad declaration is skipped and reported, so the
    /// others are still checked and generated (a bad one as an empty item when its kind and name
    /// are known).
    pub errors: Vec<syn::Error>,
}

/// One declaration inside the block.
pub struct ItemAst {
    pub attrs: Vec<Attribute>,
    pub name: Ident,
    pub kind: ItemKindAst,
    /// A declaration with a grammar error (reported): only its kind and name are known, so that
    /// the item still exists, empty, and uses of it do not add errors.
    pub recovered: bool,
}

/// What a declaration declares.
pub enum ItemKindAst {
    Message {
        /// `None`: declared without braces (no payload).
        fields: Option<Vec<FieldAst>>,
        meta: Option<Vec<FieldAst>>,
    },
    Event {
        fields: Option<Vec<FieldAst>>,
        meta: Option<Vec<FieldAst>>,
    },
    Rpc {
        /// `None`: declared without parentheses (no payload).
        fields: Option<Vec<FieldAst>>,
        response: Option<NamedFieldsAst>,
        progress: Option<NamedFieldsAst>,
        meta: Option<Vec<FieldAst>>,
    },
    Type {
        fields: Vec<FieldAst>,
    },
    Enum {
        variants: Vec<VariantAst>,
    },
}

/// The response or progress type of an rpc: inline (with braces), or without braces (a `type` of
/// the block, or else a message without payload).
pub struct NamedFieldsAst {
    pub attrs: Vec<Attribute>,
    pub name: Ident,
    pub fields: Option<Vec<FieldAst>>,
}

/// `attrs name: Type`.
pub struct FieldAst {
    pub attrs: Vec<Attribute>,
    pub name: Ident,
    pub ty: Type,
    /// A grammar error of the field, reported by `check`: when its name parsed but not its type,
    /// the field stays typed as a JSON value, so uses of it add no errors; a missing comma after
    /// it is reported here too.
    pub error: Option<syn::Error>,
}

/// `attrs Name` inside an `enum`.
pub struct VariantAst {
    pub attrs: Vec<Attribute>,
    pub name: Ident,
}

impl Parse for ProtocolAst {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        input.parse::<kw::protocol>()?;
        let name = input.parse()?;
        let body;
        braced!(body in input);
        let mut items = Vec::new();
        let mut errors = Vec::new();
        while !body.is_empty() {
            // Each declaration is parsed on a fork, so that a bad one leaves no trace behind.
            let fork = body.fork();
            match fork.parse() {
                Ok(item) => {
                    body.advance_to(&fork);
                    items.push(item);
                    body.parse::<Option<Token![;]>>()?;
                }
                Err(e) => {
                    let start = body.fork();
                    let attrs = body.fork();
                    let attr_tokens = match attrs.call(Attribute::parse_outer) {
                        Ok(attrs_read) => {
                            body.advance_to(&attrs);
                            quote::quote!(#(#attrs_read)*)
                        }
                        Err(_) => proc_macro2::TokenStream::new(),
                    };
                    // `messgae Join { .. }` or `struct Room { .. }`: one error, and the
                    // declaration is read as the one meant.
                    let meant = body
                        .cursor()
                        .ident()
                        .and_then(|(word, _)| Some((meant_keyword(&word)?, word)));
                    let mut corrected = None;
                    match meant {
                        Some(((keyword, message), word)) => {
                            errors.push(syn::Error::new(word.span(), message));
                            let rest: proc_macro2::TokenStream = body.fork().parse()?;
                            let total = rest.clone().into_iter().count();
                            let mut tokens = attr_tokens;
                            tokens.extend([proc_macro2::TokenTree::Ident(Ident::new(
                                keyword,
                                word.span(),
                            ))]);
                            tokens.extend(rest.into_iter().skip(1));
                            let (item, left) =
                                syn::parse::Parser::parse2(read_item, tokens.clone())?;
                            match item {
                                Ok(item) => {
                                    items.push(item);
                                    for _ in left..total {
                                        body.parse::<proc_macro2::TokenTree>()?;
                                    }
                                    continue;
                                }
                                Err(e) => {
                                    errors.push(e);
                                    corrected = Some(tokens);
                                }
                            }
                        }
                        None => errors.push(e),
                    }
                    let recovered = match corrected {
                        Some(tokens) => syn::parse::Parser::parse2(
                            |input: ParseStream| {
                                let item = recover(input);
                                input.parse::<proc_macro2::TokenStream>()?;
                                Ok(item)
                            },
                            tokens,
                        )
                        .ok()
                        .flatten(),
                        None => recover(&start),
                    };
                    items.extend(recovered);
                    // Skip the bad declaration on `body` itself (the fork holds the half-parsed
                    // state): its keyword, then up to the next declaration.
                    if !body.is_empty() {
                        body.parse::<proc_macro2::TokenTree>()?;
                    }
                    while !body.is_empty() && !starts_item(&body) {
                        if body.parse::<Option<Token![;]>>()?.is_some() {
                            break;
                        }
                        body.parse::<proc_macro2::TokenTree>()?;
                    }
                }
            }
        }
        Ok(ProtocolAst {
            attrs,
            vis,
            name,
            items,
            errors,
        })
    }
}

/// A whole `protocol!` invocation: one protocol. Another one after it is reported (with its own
/// errors) and still read, so that its items exist too and uses of them add no errors.
pub struct BlockAst {
    pub protocols: Vec<ProtocolAst>,
}

impl Parse for BlockAst {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut protocols = vec![input.parse::<ProtocolAst>()?];
        while !input.is_empty() {
            let at = input.span();
            let fork = input.fork();
            match fork.parse::<ProtocolAst>() {
                Ok(mut next) => {
                    input.advance_to(&fork);
                    let e = syn::Error::new(
                        at,
                        format!(
                            "expected one `protocol` per `protocol!` block: declare `{}` in a `protocol!` block of its own",
                            next.name
                        ),
                    );
                    next.errors.insert(0, e);
                    protocols.push(next);
                }
                Err(_) => {
                    let e = syn::Error::new(
                        at,
                        "expected one `protocol` per `protocol!` block, and nothing after it",
                    );
                    input.parse::<proc_macro2::TokenStream>()?;
                    protocols.last_mut().expect("one at least").errors.push(e);
                }
            }
        }
        Ok(BlockAst { protocols })
    }
}

/// The kind and name of a declaration that does not parse, as an empty item.
fn recover(input: ParseStream) -> Option<ItemAst> {
    input.call(Attribute::parse_outer).ok()?;
    let kind = if input.parse::<Option<kw::message>>().ok()?.is_some() {
        ItemKindAst::Message {
            fields: None,
            meta: None,
        }
    } else if input.parse::<Option<kw::event>>().ok()?.is_some() {
        ItemKindAst::Event {
            fields: None,
            meta: None,
        }
    } else if input.parse::<Option<kw::rpc>>().ok()?.is_some() {
        ItemKindAst::Rpc {
            fields: None,
            response: None,
            progress: None,
            meta: None,
        }
    } else if input.parse::<Option<Token![type]>>().ok()?.is_some() {
        ItemKindAst::Type { fields: Vec::new() }
    } else if input.parse::<Option<Token![enum]>>().ok()?.is_some() {
        ItemKindAst::Enum {
            variants: Vec::new(),
        }
    } else {
        return None;
    };
    Some(ItemAst {
        attrs: Vec::new(),
        name: input.parse().ok()?,
        kind,
        recovered: true,
    })
}

/// One declaration and its `;` if it parses, and how many tokens are left after it.
fn read_item(input: ParseStream) -> syn::Result<(syn::Result<ItemAst>, usize)> {
    let fork = input.fork();
    let item = fork.parse::<ItemAst>();
    if item.is_ok() {
        input.advance_to(&fork);
        input.parse::<Option<Token![;]>>()?;
    }
    let left: proc_macro2::TokenStream = input.parse()?;
    Ok((item, left.into_iter().count()))
}

/// The keyword a declaration that starts with `word` means, with the error to report: a
/// misspelt keyword (`messgae`), or `struct` for `type`.
fn meant_keyword(word: &Ident) -> Option<(&'static str, String)> {
    let word = word.to_string();
    if word == "struct" {
        return Some((
            "type",
            "`struct` is not a declaration of `protocol!`: write `type Name { ... }`".to_owned(),
        ));
    }
    let n = word.chars().count();
    ["message", "event", "rpc", "type", "enum"]
        .into_iter()
        .map(|k| (crate::names::distance(&word.to_lowercase(), k), k))
        .filter(|&(d, k)| d <= 2 && 2 * d < n && word != k)
        .min()
        .map(|(_, k)| {
            (
                k,
                format!("unknown declaration `{word}`: did you mean `{k}`?"),
            )
        })
}

/// Whether a declaration (or its attributes) starts here, a misspelt one included: a lowercase
/// word read as a keyword (`messgae`, `struct`) before a name.
fn starts_item(input: ParseStream) -> bool {
    let misspelt = || {
        let Some((word, next)) = input.cursor().ident() else {
            return false;
        };
        word.to_string().starts_with(|c: char| c.is_lowercase())
            && next.ident().is_some()
            && meant_keyword(&word).is_some()
    };
    input.peek(Token![#])
        || input.peek(kw::message)
        || input.peek(kw::event)
        || input.peek(kw::rpc)
        || input.peek(Token![type])
        || input.peek(Token![enum])
        || misspelt()
}

impl Parse for ItemAst {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let look = input.lookahead1();
        let (name, kind) = if look.peek(kw::message) {
            input.parse::<kw::message>()?;
            let name = input.parse()?;
            let fields = parse_opt_fields(input)?;
            let meta = parse_meta(input)?;
            (name, ItemKindAst::Message { fields, meta })
        } else if look.peek(kw::event) {
            input.parse::<kw::event>()?;
            let name = input.parse()?;
            let fields = parse_opt_fields(input)?;
            let meta = parse_meta(input)?;
            (name, ItemKindAst::Event { fields, meta })
        } else if look.peek(kw::rpc) {
            input.parse::<kw::rpc>()?;
            let name = input.parse()?;
            let fields = if input.peek(syn::token::Paren) {
                let args;
                parenthesized!(args in input);
                Some(field_list(&args)?)
            } else {
                None
            };
            let response = if input.peek(Token![->]) {
                input.parse::<Token![->]>()?;
                Some(input.parse()?)
            } else {
                None
            };
            let progress = if input.peek(kw::progress) {
                input.parse::<kw::progress>()?;
                Some(input.parse()?)
            } else {
                None
            };
            let meta = parse_meta(input)?;
            let kind = ItemKindAst::Rpc {
                fields,
                response,
                progress,
                meta,
            };
            (name, kind)
        } else if look.peek(Token![type]) {
            input.parse::<Token![type]>()?;
            let name = input.parse()?;
            let fields = parse_fields(input)?;
            (name, ItemKindAst::Type { fields })
        } else if look.peek(Token![enum]) {
            input.parse::<Token![enum]>()?;
            let name = input.parse()?;
            let body;
            braced!(body in input);
            let variants = Punctuated::<VariantAst, Token![,]>::parse_terminated(&body)?
                .into_iter()
                .collect();
            (name, ItemKindAst::Enum { variants })
        } else {
            return Err(look.error());
        };
        Ok(ItemAst {
            attrs,
            name,
            kind,
            recovered: false,
        })
    }
}

impl Parse for NamedFieldsAst {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        Ok(NamedFieldsAst {
            attrs: input.call(Attribute::parse_outer)?,
            name: input.parse().map_err(|e: syn::Error| {
                syn::Error::new(
                    e.span(),
                    "expected the name of a response or progress type: `-> Reply { ... }`, `-> Reply`, `progress Step { ... }`",
                )
            })?,
            fields: parse_opt_fields(input)?,
        })
    }
}

impl Parse for FieldAst {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let name = input.call(<Ident as syn::ext::IdentExt>::parse_any)?;
        input.parse::<Token![:]>()?;
        let ty = input.parse()?;
        Ok(FieldAst {
            attrs,
            name,
            ty,
            error: None,
        })
    }
}

impl Parse for VariantAst {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        Ok(VariantAst {
            attrs: input.call(Attribute::parse_outer)?,
            name: input.parse()?,
        })
    }
}

fn parse_fields(input: ParseStream) -> syn::Result<Vec<FieldAst>> {
    let body;
    braced!(body in input);
    field_list(&body)
}

/// Fields separated by commas. A field whose name parses but not the rest is kept with its error
/// (see `FieldAst::error`), skipping to the next comma outside `<...>`; a missing comma between
/// two fields is reported with the first and both are kept.
fn field_list(body: ParseStream) -> syn::Result<Vec<FieldAst>> {
    let mut out = Vec::new();
    while !body.is_empty() {
        let fork = body.fork();
        match fork.parse::<FieldAst>() {
            Ok(field) => {
                body.advance_to(&fork);
                out.push(field);
            }
            Err(e) => {
                let named = body.fork();
                let _ = named.call(Attribute::parse_outer);
                let name = named
                    .call(<Ident as syn::ext::IdentExt>::parse_any)
                    .map_err(|_| e.clone())?;
                let mut depth = 0usize;
                let at_comma = |b: ParseStream, depth: usize| depth == 0 && b.peek(Token![,]);
                while !body.is_empty() && !at_comma(body, depth) {
                    match body.parse::<proc_macro2::TokenTree>()? {
                        proc_macro2::TokenTree::Punct(p) if p.as_char() == '<' => depth += 1,
                        proc_macro2::TokenTree::Punct(p) if p.as_char() == '>' => {
                            depth = depth.saturating_sub(1);
                        }
                        _ => {}
                    }
                }
                out.push(FieldAst {
                    attrs: Vec::new(),
                    name,
                    ty: syn::parse_quote!(serde_json::Value),
                    error: Some(e),
                });
            }
        }
        if body.is_empty() {
            break;
        }
        if body.peek(Token![,]) {
            body.parse::<Token![,]>()?;
            continue;
        }
        // A missing comma before another field: reported with the field before it.
        let e = body.error("expected `,`");
        let next = body.fork();
        let starts_field = next.call(Attribute::parse_outer).is_ok()
            && next.call(<Ident as syn::ext::IdentExt>::parse_any).is_ok()
            && next.peek(Token![:]);
        match out.last_mut() {
            Some(field) if starts_field => match &mut field.error {
                Some(first) => first.combine(e),
                none => *none = Some(e),
            },
            _ => return Err(e),
        }
    }
    Ok(out)
}

/// Braced fields if the braces are there (`None`: no payload).
fn parse_opt_fields(input: ParseStream) -> syn::Result<Option<Vec<FieldAst>>> {
    if input.peek(syn::token::Brace) {
        parse_fields(input).map(Some)
    } else {
        Ok(None)
    }
}

fn parse_meta(input: ParseStream) -> syn::Result<Option<Vec<FieldAst>>> {
    if input.peek(kw::meta) {
        input.parse::<kw::meta>()?;
        Ok(Some(parse_fields(input)?))
    } else {
        Ok(None)
    }
}
