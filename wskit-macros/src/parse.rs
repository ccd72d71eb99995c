//! The syntax tree of the DSL, as written: no meaning is checked here beyond the grammar, so that
//! `check` can report every mistake of a block at once.
//!
//! ```text
//! protocol  := attrs vis "protocol" Ident "{" item* "}"
//! item      := attrs ( "message" | "event" ) Ident fields meta?
//!            | attrs "rpc" Ident "(" field,* ")" ( "->" attrs Ident fields )? ( "progress" attrs Ident fields )? meta?
//!            | attrs "type" Ident fields
//!            | attrs "enum" Ident "{" ( attrs Ident ),* "}"
//! fields    := "{" ( attrs Ident ":" Type ),* "}"
//! meta      := "meta" fields
//! ```

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
}

/// One declaration inside the block.
pub struct ItemAst {
    pub attrs: Vec<Attribute>,
    pub name: Ident,
    pub kind: ItemKindAst,
}

/// What a declaration declares.
pub enum ItemKindAst {
    Message {
        fields: Vec<FieldAst>,
        meta: Option<Vec<FieldAst>>,
    },
    Event {
        fields: Vec<FieldAst>,
        meta: Option<Vec<FieldAst>>,
    },
    Rpc {
        fields: Vec<FieldAst>,
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

/// The inline response or progress type of an rpc.
pub struct NamedFieldsAst {
    pub attrs: Vec<Attribute>,
    pub name: Ident,
    pub fields: Vec<FieldAst>,
}

/// `attrs name: Type`.
pub struct FieldAst {
    pub attrs: Vec<Attribute>,
    pub name: Ident,
    pub ty: Type,
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
        while !body.is_empty() {
            items.push(body.parse()?);
        }
        if !input.is_empty() {
            return Err(input.error("expected one `protocol` per `protocol!` block"));
        }
        Ok(ProtocolAst {
            attrs,
            vis,
            name,
            items,
        })
    }
}

impl Parse for ItemAst {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let look = input.lookahead1();
        let (name, kind) = if look.peek(kw::message) {
            input.parse::<kw::message>()?;
            let name = input.parse()?;
            let fields = parse_fields(input)?;
            let meta = parse_meta(input)?;
            (name, ItemKindAst::Message { fields, meta })
        } else if look.peek(kw::event) {
            input.parse::<kw::event>()?;
            let name = input.parse()?;
            let fields = parse_fields(input)?;
            let meta = parse_meta(input)?;
            (name, ItemKindAst::Event { fields, meta })
        } else if look.peek(kw::rpc) {
            input.parse::<kw::rpc>()?;
            let name = input.parse()?;
            let args;
            parenthesized!(args in input);
            let fields = Punctuated::<FieldAst, Token![,]>::parse_terminated(&args)?
                .into_iter()
                .collect();
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
        Ok(ItemAst { attrs, name, kind })
    }
}

impl Parse for NamedFieldsAst {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        Ok(NamedFieldsAst {
            attrs: input.call(Attribute::parse_outer)?,
            name: input.parse()?,
            fields: parse_fields(input)?,
        })
    }
}

impl Parse for FieldAst {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let name = input.call(<Ident as syn::ext::IdentExt>::parse_any)?;
        input.parse::<Token![:]>()?;
        let ty = input.parse()?;
        Ok(FieldAst { attrs, name, ty })
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
    Ok(Punctuated::<FieldAst, Token![,]>::parse_terminated(&body)?
        .into_iter()
        .collect())
}

fn parse_meta(input: ParseStream) -> syn::Result<Option<Vec<FieldAst>>> {
    if input.peek(kw::meta) {
        input.parse::<kw::meta>()?;
        Ok(Some(parse_fields(input)?))
    } else {
        Ok(None)
    }
}
