//! The checked protocol: what `generate` turns into code. Built by `check` from the syntax tree.

use proc_macro2::Span;
use syn::{Ident, LitStr, Visibility};

/// One protocol.
pub struct Protocol {
    pub vis: Visibility,
    pub name: Ident,
    pub docs: Docs,
    /// Messages, events, requests, responses and progress types, in declaration order.
    pub messages: Vec<Message>,
    /// `type` and `enum` declarations.
    pub types: Vec<TypeDecl>,
}

/// Doc comment lines, as written (without the leading space of `/// x`).
#[derive(Default, Clone)]
pub struct Docs(pub Vec<String>);

impl Docs {
    /// The lines joined by newlines, as the description carries them.
    pub fn joined(&self) -> String {
        self.0.join("\n")
    }
}

/// What a message is, mirroring `wskit::describe::MessageKind`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Message,
    Event,
    Request,
    Response,
    Progress,
}

impl Kind {
    pub fn client_to_server(self) -> bool {
        matches!(self, Kind::Message | Kind::Request)
    }
}

/// One message type (a struct that implements `wskit::Message`).
pub struct Message {
    pub kind: Kind,
    pub name: Ident,
    pub wire: String,
    pub docs: Docs,
    pub fields: Vec<Field>,
    /// How its frames carry `payload`.
    pub payload: PayloadForm,
    /// Declared extra meta fields (`None`: the message declares none).
    pub meta: Option<Vec<Field>>,
    pub subscription: bool,
    pub idempotent: bool,
    /// For a request: its response.
    pub response: Option<Ident>,
    /// For a request: its progress type.
    pub progress: Option<Ident>,
    /// A `type` of the block that an rpc replies with (`-> Todo`): its struct, `Decode` and
    /// `Validate` come from the `type`; this adds its `impl Message` and its description entry.
    pub shared: bool,
}

/// How a message's frames carry `payload`, mirroring `wskit::PayloadForm`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PayloadForm {
    /// Declared without braces: no `payload` key.
    None,
    /// Declared with empty braces: `"payload":{}`.
    Empty,
    /// At least one field.
    Fields,
}

impl PayloadForm {
    /// The variant's name in `wskit::PayloadForm`.
    pub fn variant(self) -> proc_macro2::Ident {
        let name = match self {
            PayloadForm::None => "None",
            PayloadForm::Empty => "Empty",
            PayloadForm::Fields => "Fields",
        };
        proc_macro2::Ident::new(name, proc_macro2::Span::call_site())
    }
}

/// One field of a payload, meta or `type`.
#[derive(Clone)]
pub struct Field {
    pub name: Ident,
    pub wire: String,
    pub docs: Docs,
    pub ty: FieldType,
    pub constraints: Vec<Constraint>,
}

/// A field's type, resolved.
#[derive(Clone, Debug)]
pub enum FieldType {
    String,
    Bool,
    /// An integer type, by its Rust name.
    Int(&'static str),
    /// `f32` or `f64`.
    Float(&'static str),
    /// `serde_json::Value`.
    Json,
    Option(Box<FieldType>),
    Vec(Box<FieldType>),
    Map(MapKind, Box<FieldType>),
    /// A `type` or `enum` of the block.
    Named(Ident),
    /// A user's own type, by path.
    External(syn::Path),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapKind {
    Hash,
    BTree,
}

impl FieldType {
    /// The type below any `Option`s: what constraints apply to.
    pub fn unwrap_option(&self) -> &FieldType {
        match self {
            FieldType::Option(inner) => inner.unwrap_option(),
            other => other,
        }
    }

    /// Whether a user's own type appears anywhere in it (decoded through serde, then).
    pub fn has_external(&self) -> bool {
        match self {
            FieldType::External(_) => true,
            FieldType::Option(t) | FieldType::Vec(t) | FieldType::Map(_, t) => t.has_external(),
            _ => false,
        }
    }

    /// How the type is named in messages (`Vec<String>`).
    pub fn display(&self) -> String {
        match self {
            FieldType::String => "String".into(),
            FieldType::Bool => "bool".into(),
            FieldType::Int(n) | FieldType::Float(n) => (*n).into(),
            FieldType::Json => "serde_json::Value".into(),
            FieldType::Option(t) => format!("Option<{}>", t.display()),
            FieldType::Vec(t) => format!("Vec<{}>", t.display()),
            FieldType::Map(MapKind::Hash, t) => format!("HashMap<String, {}>", t.display()),
            FieldType::Map(MapKind::BTree, t) => format!("BTreeMap<String, {}>", t.display()),
            FieldType::Named(n) => n.to_string(),
            FieldType::External(p) => path_string(p),
        }
    }
}

/// A path as written, without the spaces `quote` puts between tokens.
pub fn path_string(p: &syn::Path) -> String {
    quote::quote!(#p).to_string().replace(' ', "")
}

/// A validation rule, with the span of its name for diagnostics.
#[derive(Clone)]
pub struct Constraint {
    pub span: Span,
    pub rule: Rule,
}

#[derive(Clone)]
pub enum Rule {
    Length { min: Option<u64>, max: Option<u64> },
    Range { min: Option<f64>, max: Option<f64> },
    Pattern(LitStr),
    Email,
    Url,
    Uuid,
    Items(Vec<Constraint>),
    Custom(syn::Path),
}

/// A `type` or `enum`.
pub struct TypeDecl {
    pub name: Ident,
    pub docs: Docs,
    pub shape: Shape,
}

pub enum Shape {
    Struct(Vec<Field>),
    Enum(Vec<Variant>),
}

pub struct Variant {
    pub name: Ident,
    pub wire: String,
    pub docs: Docs,
}
