//! Attributes: doc comments, `#[wire]`, `#[subscription]`, `#[idempotent]` and the constraints of
//! `#[validate(...)]`, with whether each constraint fits its field's type.

use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, Ident, Lit, LitStr, Token};

use super::{Attrs, Checker, Place};
use crate::model::{Constraint, FieldType, Rule, path_string};

impl Checker {
    pub(super) fn attrs(&mut self, attrs: &[Attribute], place: Place) -> Attrs {
        let mut out = Attrs::default();
        for attr in attrs {
            let path = attr.path();
            let name = path
                .get_ident()
                .map(Ident::to_string)
                .unwrap_or_else(|| path_string(path));
            if !place.allowed().contains(&name.as_str()) {
                let msg = match name.as_str() {
                    "subscription" => "`#[subscription]` applies to a `message` only".to_owned(),
                    "idempotent" => "`#[idempotent]` applies to an `rpc` only".to_owned(),
                    "validate" => "`#[validate(...)]` applies to a field only".to_owned(),
                    // Only a protocol and an enum have no wire name of their own.
                    "wire" if place == Place::Protocol => {
                        "`#[wire]` does not apply to a protocol: its messages have wire types"
                            .to_owned()
                    }
                    "wire" => "`#[wire]` does not apply to an `enum`: its variants have wire names"
                        .to_owned(),
                    _ => format!(
                        "unknown attribute `{name}`; expected one of: {}",
                        place
                            .allowed()
                            .iter()
                            .map(|a| if *a == "doc" {
                                "doc comments".to_owned()
                            } else {
                                format!("`{a}`")
                            })
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                self.errors.push(path.span(), msg);
                continue;
            }
            match name.as_str() {
                "doc" => {
                    if let Ok(nv) = attr.meta.require_name_value()
                        && let Expr::Lit(syn::ExprLit {
                            lit: Lit::Str(s), ..
                        }) = &nv.value
                    {
                        let v = s.value();
                        out.docs
                            .0
                            .push(v.strip_prefix(' ').unwrap_or(&v).to_owned());
                    }
                }
                "wire" => match attr.meta.require_name_value() {
                    Ok(nv) => match &nv.value {
                        Expr::Lit(syn::ExprLit {
                            lit: Lit::Str(s), ..
                        }) => out.wire = Some(s.clone()),
                        other => self
                            .errors
                            .push(other.span(), "expected a string: `#[wire = \"NAME\"]`"),
                    },
                    Err(_) => self
                        .errors
                        .spanned(&attr.meta, "expected `#[wire = \"NAME\"]`"),
                },
                "subscription" | "idempotent" => {
                    if !matches!(attr.meta, syn::Meta::Path(_)) {
                        self.errors
                            .spanned(&attr.meta, format!("`#[{name}]` takes no arguments"));
                    }
                    if name == "subscription" {
                        out.subscription = true;
                    } else {
                        out.idempotent = true;
                    }
                }
                _ => {
                    let mut found = Vec::new();
                    if matches!(attr.meta, syn::Meta::List(_)) {
                        let result =
                            attr.parse_nested_meta(|meta| self.constraint(meta, &mut found));
                        if let Err(e) = result {
                            self.errors.add(e);
                        }
                    } else {
                        self.errors.spanned(
                            &attr.meta,
                            "expected constraints: `#[validate(length(max = 50), ...)]`",
                        );
                    }
                    out.constraints.extend(found);
                }
            }
        }
        out
    }

    /// One constraint inside `#[validate(...)]` (or `items(...)`). A malformed one is reported
    /// and skipped, so that the constraints after it are still read.
    fn constraint(&mut self, meta: ParseNestedMeta, out: &mut Vec<Constraint>) -> syn::Result<()> {
        if let Err(e) = self.one_constraint(&meta, out) {
            self.errors.add(e);
            while !meta.input.is_empty() && !meta.input.peek(Token![,]) {
                meta.input.parse::<proc_macro2::TokenTree>()?;
            }
        }
        Ok(())
    }

    fn one_constraint(
        &mut self,
        meta: &ParseNestedMeta,
        out: &mut Vec<Constraint>,
    ) -> syn::Result<()> {
        let span = meta.path.span();
        let name = meta
            .path
            .get_ident()
            .map(Ident::to_string)
            .unwrap_or_else(|| path_string(&meta.path));
        // The form of its arguments, before what is inside them.
        let form = match name.as_str() {
            "length" | "range" => Some((
                meta.input.peek(syn::token::Paren),
                format!("`{name}` takes bounds: `{name}(min = 1, max = 50)`"),
            )),
            "items" => Some((
                meta.input.peek(syn::token::Paren),
                "`items` takes the constraints of each item: `items(length(max = 20))`".to_owned(),
            )),
            "pattern" => Some((
                meta.input.peek(Token![=]),
                "`pattern` takes a regex: `pattern = \"^[a-z]+$\"`".to_owned(),
            )),
            "custom" => Some((
                meta.input.peek(Token![=]),
                "`custom` takes a function: `custom = path::to::check`".to_owned(),
            )),
            _ => None,
        };
        if let Some((false, msg)) = form {
            return Err(syn::Error::new(span, msg));
        }
        let rule = match name.as_str() {
            "length" => {
                let (mut min, mut max) = (None, None);
                meta.parse_nested_meta(|b| {
                    let v = length_bound(b.value()?)?;
                    bound(&b, &mut min, &mut max, v)
                })?;
                self.check_order(span, min, max);
                Rule::Length { min, max }
            }
            "range" => {
                let (mut min, mut max) = (None, None);
                meta.parse_nested_meta(|b| {
                    let v = number(b.value()?)?;
                    bound(&b, &mut min, &mut max, v)
                })?;
                self.check_order(span, min, max);
                Rule::Range { min, max }
            }
            "pattern" => {
                let lit: LitStr = meta.value()?.parse()?;
                if let Err(e) = regex::Regex::new(&lit.value()) {
                    self.errors
                        .push(lit.span(), format!("invalid regex: {}", regex_error(&e)));
                }
                Rule::Pattern(lit)
            }
            "email" => Rule::Email,
            "url" => Rule::Url,
            "uuid" => Rule::Uuid,
            "items" => {
                let mut inner = Vec::new();
                meta.parse_nested_meta(|m| self.constraint(m, &mut inner))?;
                Rule::Items(inner)
            }
            "custom" => Rule::Custom(meta.value()?.parse()?),
            _ => {
                self.errors.push(
                    span,
                    format!(
                        "unknown constraint `{name}`; expected one of: length, range, pattern, email, url, uuid, items, custom"
                    ),
                );
                // Skip its arguments so the following constraints are still read.
                while !meta.input.is_empty() && !meta.input.peek(Token![,]) {
                    meta.input.parse::<proc_macro2::TokenTree>()?;
                }
                return Ok(());
            }
        };
        if matches!(rule, Rule::Email | Rule::Url | Rule::Uuid)
            && !meta.input.is_empty()
            && !meta.input.peek(Token![,])
        {
            return Err(meta.error(format!("`{name}` takes no arguments")));
        }
        out.push(Constraint { span, rule });
        Ok(())
    }

    /// Whether a constraint fits the field's type (its `items` too); a diagnostic if not. The
    /// model keeps only the constraints that fit, so that the generated checks compile.
    pub(super) fn applies(&mut self, c: &Constraint, ty: &FieldType) -> bool {
        let inner = ty.unwrap_option();
        let (ok, wants) = match (&c.rule, inner) {
            (Rule::Length { .. }, FieldType::String | FieldType::Vec(_) | FieldType::Map(..)) => {
                (true, "")
            }
            (Rule::Length { .. }, _) => (false, "a String or a collection"),
            (Rule::Range { min, max }, FieldType::Int(int)) => {
                let (lo, hi) = int_bounds(int);
                for bound in [min, max].into_iter().flatten() {
                    if *bound < lo || *bound > hi || bound.fract() != 0.0 {
                        self.errors.push(
                            c.span,
                            format!(
                                "`range` bound {bound} is not a value of `{int}` ({lo} to {hi})"
                            ),
                        );
                    }
                }
                (true, "")
            }
            (Rule::Range { .. }, FieldType::Float(_)) => (true, ""),
            (Rule::Range { .. }, _) => (false, "a number"),
            (Rule::Pattern(_) | Rule::Email | Rule::Url | Rule::Uuid, FieldType::String) => {
                (true, "")
            }
            (Rule::Pattern(_) | Rule::Email | Rule::Url | Rule::Uuid, _) => (false, "a String"),
            (Rule::Items(items), FieldType::Vec(item) | FieldType::Map(_, item)) => {
                let mut all = true;
                for c in items {
                    all &= self.applies(c, item);
                }
                (all, "")
            }
            (Rule::Items(_), _) => (false, "a Vec or a map"),
            (Rule::Custom(_), _) => (true, ""),
        };
        if !ok {
            let name = match c.rule {
                Rule::Length { .. } => "length",
                Rule::Range { .. } => "range",
                Rule::Pattern(_) => "pattern",
                Rule::Email => "email",
                Rule::Url => "url",
                Rule::Uuid => "uuid",
                Rule::Items(_) => "items",
                Rule::Custom(_) => "custom",
            };
            if !wants.is_empty() {
                self.errors.push(
                    c.span,
                    format!("`{name}` applies to {wants}, not to `{}`", inner.display()),
                );
            }
        }
        ok
    }
}

/// The smallest and largest values of an integer type.
fn int_bounds(int: &str) -> (f64, f64) {
    match int {
        "u8" => (0.0, u8::MAX as f64),
        "u16" => (0.0, u16::MAX as f64),
        "u32" => (0.0, u32::MAX as f64),
        "u64" => (0.0, u64::MAX as f64),
        "i8" => (i8::MIN as f64, i8::MAX as f64),
        "i16" => (i16::MIN as f64, i16::MAX as f64),
        "i32" => (i32::MIN as f64, i32::MAX as f64),
        _ => (i64::MIN as f64, i64::MAX as f64),
    }
}

impl Checker {
    /// `min` greater than `max` in `length(..)` or `range(..)`.
    fn check_order<T: PartialOrd + std::fmt::Display>(
        &mut self,
        span: proc_macro2::Span,
        min: Option<T>,
        max: Option<T>,
    ) {
        if let (Some(lo), Some(hi)) = (min, max)
            && lo > hi
        {
            self.errors
                .push(span, format!("`min` ({lo}) is greater than `max` ({hi})"));
        }
    }
}

fn bound<T>(
    b: &ParseNestedMeta,
    min: &mut Option<T>,
    max: &mut Option<T>,
    v: T,
) -> syn::Result<()> {
    if b.path.is_ident("min") {
        *min = Some(v);
    } else if b.path.is_ident("max") {
        *max = Some(v);
    } else {
        let name = path_string(&b.path);
        return Err(syn::Error::new(
            b.path.span(),
            format!("unknown bound `{name}`: expected `min = ...` or `max = ...`"),
        ));
    }
    Ok(())
}

/// A `length` bound: a whole number, at least 0.
fn length_bound(input: syn::parse::ParseStream) -> syn::Result<u64> {
    let value: Expr = input.parse()?;
    match &value {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Int(i), ..
        }) => i.base10_parse::<u64>().ok(),
        _ => None,
    }
    .ok_or_else(|| syn::Error::new_spanned(&value, "a `length` bound is a whole number, 0 or more"))
}

/// A `range` bound: a number literal, possibly negative.
fn number(input: syn::parse::ParseStream) -> syn::Result<f64> {
    let value: Expr = input.parse()?;
    let (neg, lit) = match &value {
        Expr::Unary(syn::ExprUnary {
            op: syn::UnOp::Neg(_),
            expr,
            ..
        }) => (true, &**expr),
        other => (false, other),
    };
    let v = match lit {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Int(i), ..
        }) => i.base10_parse::<f64>().ok(),
        Expr::Lit(syn::ExprLit {
            lit: Lit::Float(f), ..
        }) => f.base10_parse::<f64>().ok(),
        _ => None,
    };
    match v {
        Some(v) => Ok(if neg { -v } else { v }),
        None => Err(syn::Error::new_spanned(
            &value,
            "a `range` bound is a number: `range(min = -5, max = 2.5)`",
        )),
    }
}

/// The regex crate's error on one line: its last line says what is wrong.
fn regex_error(e: &regex::Error) -> String {
    let text = e.to_string();
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.trim().trim_start_matches("error: ").to_owned())
        .unwrap_or(text)
}
