//! Field types: from Rust syntax to the model's `FieldType`, with a diagnostic for each type the
//! DSL does not support.

use syn::{GenericArgument, PathArguments, Type};

use super::{BUILT_IN_TYPES, Checker};
use crate::model::{FieldType, MapKind, path_string};
use crate::names;

/// The type names the DSL resolves itself, for "did you mean" suggestions.
const BUILT_IN_NAMES: [&str; 17] = [
    "String", "bool", "u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64", "f32", "f64", "Value",
    "Option", "Vec", "HashMap", "BTreeMap",
];

fn sorted(s: &str) -> Vec<char> {
    let mut v: Vec<char> = s.to_lowercase().chars().collect();
    v.sort_unstable();
    v
}

impl Checker {
    /// The declared or built-in type name closest to `name`, if it is close enough to be a typo
    /// (case aside, at most 2 edits and fewer than half of its letters).
    fn suggest(&self, name: &str) -> Option<String> {
        let candidates = self
            .declared
            .keys()
            .map(String::as_str)
            .chain(BUILT_IN_NAMES);
        closest(candidates, name)
    }

    /// The declared `type` closest to `name`, if close enough to be a typo.
    pub(super) fn suggest_struct(&self, name: &str) -> Option<String> {
        closest(self.structs.keys().map(String::as_str), name)
    }
}

/// The candidate closest to `name`, if it is close enough to be a typo (case aside, at most 2
/// edits and fewer than half of its letters).
fn closest<'a>(candidates: impl Iterator<Item = &'a str>, name: &str) -> Option<String> {
    let lower = name.to_lowercase();
    let close = |d: &str| {
        let n = names::distance(&d.to_lowercase(), &lower);
        (n <= 2 && 2 * n < name.chars().count()).then_some(n)
    };
    candidates
        // Ties go to the same letters in another order (`u46`: `u64`, not `u16`), then to the
        // closer case, then by name.
        .filter_map(|d| {
            let not_anagram = sorted(d) != sorted(name);
            Some((close(d)?, not_anagram, names::distance(d, name), d))
        })
        .min()
        .map(|(_, _, _, d)| d.to_owned())
}

impl Checker {
    /// A field's Rust type into the model; a diagnostic (and `None`) when it is not supported.
    pub(super) fn resolve(&mut self, ty: &Type) -> Option<FieldType> {
        let path = match ty {
            Type::Path(p) if p.qself.is_none() => &p.path,
            Type::Group(g) => return self.resolve(&g.elem),
            Type::Paren(p) => return self.resolve(&p.elem),
            other => {
                let why = match other {
                    Type::Reference(_) => {
                        "references cannot be decoded from JSON; use an owned type such as `String`"
                    }
                    Type::Tuple(t) if t.elems.is_empty() => {
                        "`()` carries nothing; leave the field out"
                    }
                    Type::Tuple(_) => {
                        "tuples have no named keys; declare a `type` with named fields"
                    }
                    Type::Array(_) | Type::Slice(_) => "use `Vec<T>` for a JSON array",
                    Type::ImplTrait(_) | Type::TraitObject(_) => "a field needs a concrete type",
                    Type::BareFn(_) => "functions cannot travel in JSON",
                    Type::Ptr(_) => "pointers cannot travel in JSON",
                    _ => "see the DSL's list of field types",
                };
                self.errors
                    .spanned(ty, format!("unsupported field type: {why}"));
                return None;
            }
        };
        let last = path.segments.last()?;
        let std_prefix = path.segments.len() == 1 && path.leading_colon.is_none() || {
            let first = path.segments[0].ident.to_string();
            matches!(first.as_str(), "std" | "alloc" | "core" | "serde_json")
        };
        if !std_prefix {
            return Some(FieldType::External(path.clone()));
        }
        let name = last.ident.to_string();
        let args: Vec<&Type> = match &last.arguments {
            PathArguments::None => Vec::new(),
            PathArguments::AngleBracketed(a) => a
                .args
                .iter()
                .filter_map(|g| match g {
                    GenericArgument::Type(t) => Some(t),
                    _ => None,
                })
                .collect(),
            PathArguments::Parenthesized(_) => {
                self.errors.spanned(
                    ty,
                    format!("unsupported field type `{}`", path_string(path)),
                );
                return None;
            }
        };
        // Lifetimes and other arguments count too: `Vec<'a, T>` has two.
        let all = match &last.arguments {
            PathArguments::AngleBracketed(a) => a.args.len(),
            _ => 0,
        };
        let arity = |n: usize| all == n && args.len() == n && last.arguments.is_empty() == (n == 0);
        let simple = match name.as_str() {
            "String" => Some(FieldType::String),
            "bool" => Some(FieldType::Bool),
            "u8" => Some(FieldType::Int("u8")),
            "u16" => Some(FieldType::Int("u16")),
            "u32" => Some(FieldType::Int("u32")),
            "u64" => Some(FieldType::Int("u64")),
            "i8" => Some(FieldType::Int("i8")),
            "i16" => Some(FieldType::Int("i16")),
            "i32" => Some(FieldType::Int("i32")),
            "i64" => Some(FieldType::Int("i64")),
            "f32" => Some(FieldType::Float("f32")),
            "f64" => Some(FieldType::Float("f64")),
            "Value" => Some(FieldType::Json),
            _ => None,
        };
        if let Some(simple) = simple {
            if arity(0) {
                return Some(simple);
            }
            self.errors
                .spanned(&last.arguments, format!("`{name}` takes no type arguments"));
            return None;
        }
        match name.as_str() {
            "Option" | "Vec" => {
                if !arity(1) {
                    self.errors
                        .spanned(ty, format!("`{name}` takes one type argument: `{name}<T>`"));
                    return None;
                }
                let inner = Box::new(self.resolve(args[0])?);
                Some(if name == "Option" {
                    FieldType::Option(inner)
                } else {
                    FieldType::Vec(inner)
                })
            }
            "HashMap" | "BTreeMap" => {
                if !arity(2) {
                    self.errors.spanned(
                        ty,
                        format!("`{name}` takes two type arguments: `{name}<String, T>`"),
                    );
                    return None;
                }
                let key = self.resolve(args[0]);
                let value = self.resolve(args[1]);
                if key.is_some() && !matches!(key, Some(FieldType::String)) {
                    self.errors.spanned(
                        args[0],
                        "unsupported map key: JSON object keys are strings, so a map key must be `String`",
                    );
                    return None;
                }
                let kind = if name == "HashMap" {
                    MapKind::Hash
                } else {
                    MapKind::BTree
                };
                Some(FieldType::Map(kind, Box::new(value?)))
            }
            _ if path.segments.len() == 1 && self.declared.contains_key(&name) => {
                if BUILT_IN_TYPES.contains(&name.as_str()) {
                    // A declaration named like a built-in type (`enum Box`) was reported and
                    // left out: the field reads as a JSON value, without a second error.
                    return None;
                }
                if !last.arguments.is_empty() {
                    self.errors
                        .spanned(&last.arguments, format!("`{name}` takes no type arguments"));
                    return None;
                }
                Some(FieldType::Named(last.ident.clone()))
            }
            "Box" | "Rc" | "Arc" | "Cow" => {
                self.errors.spanned(
                    ty,
                    format!("unsupported field type `{name}`: write the type inside it directly"),
                );
                None
            }
            "HashSet" | "BTreeSet" | "VecDeque" | "LinkedList" | "BinaryHeap" => {
                self.errors.spanned(
                    ty,
                    format!("unsupported field type `{name}`: use `Vec<T>` for a JSON array"),
                );
                None
            }
            _ if path.segments.len() == 1 && name.starts_with(|c: char| c.is_uppercase()) => {
                let msg = match self.suggest(&name) {
                    Some(d) => format!("unknown type `{name}`: did you mean `{d}`?"),
                    None => format!(
                        "unknown type `{name}`: declare it in the protocol (`type {name} {{ ... }}`), or name a type of your own by its path (`crate::{name}`)"
                    ),
                };
                self.errors.push(last.ident.span(), msg);
                None
            }
            _ => {
                let hint = match name.as_str() {
                    "usize" | "isize" | "u128" | "i128" => {
                        ": use one of u8, u16, u32, u64, i8, i16, i32, i64"
                    }
                    "str" => ": use `String`",
                    "char" => ": use `String` with `#[validate(length(min = 1, max = 1))]`",
                    _ if path.segments.len() == 1 => {
                        if let Some(d) = self.suggest(&name) {
                            self.errors.push(
                                last.ident.span(),
                                format!("unknown type `{name}`: did you mean `{d}`?"),
                            );
                            return None;
                        }
                        ""
                    }
                    _ => "",
                };
                self.errors.spanned(
                    ty,
                    format!("unsupported field type `{}`{hint}", path_string(path)),
                );
                None
            }
        }
    }
}
