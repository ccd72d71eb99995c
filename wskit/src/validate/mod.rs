//! Validation: the issue type, decoding that reports every issue of a payload at once, and the
//! constraint checks that generated code calls.
//!
//! Decoding is strict, as PROTOCOL.md section 1 asks: unknown keys, missing required keys and
//! wrong types are issues, each with a JSON path such as `payload.userId` or `payload.tags[2]`.

mod check;
mod decode;

use std::fmt;

pub use check::*;
pub use decode::{Decode, decode_meta, decode_payload, decode_with_serde, field, object_entries};
pub(crate) use decode::{decode_frame_text, decode_meta_text, decode_payload_text};
/// The fast and reference reads of a whole frame, for the fuzz targets (`wskit::__private::fuzz`).
pub(crate) mod frame_reads {
    pub use super::decode::{decode_frame_common, decode_frame_reference, decode_frame_whole};
}

/// One problem found in an inbound value.
///
/// ```
/// let issue = wskit::Issue { path: "payload.userId".into(), message: "required".into() };
/// assert_eq!(issue.to_string(), "payload.userId: required");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Issue {
    /// Where: `payload.userId`, `payload.items[0].name`, `meta.traceId`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Every issue found in one value, in document order, up to [`Issues::LIMIT`].
///
/// Past the limit further issues are only counted, and decoders stop early: a hostile frame
/// cannot make the answer larger than a few KiB.
///
/// ```
/// use wskit::validate::{Issues, Path};
/// let mut issues = Issues::new();
/// let root = Path::root("payload");
/// issues.push(&root.field("name"), "required");
/// assert_eq!(issues.len(), 1);
/// let err: wskit::Error = issues.into_error();
/// assert_eq!(err.code, wskit::ErrorCode::InvalidArgument);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Issues {
    list: Vec<Issue>,
    /// Issues found past the limit (not kept).
    more: usize,
}

impl Issues {
    /// How many issues are kept; more are counted, not recorded.
    pub const LIMIT: usize = 20;

    /// No issues yet.
    pub fn new() -> Self {
        Issues::default()
    }

    /// Records an issue at `path` (only counted once [`Issues::is_full`]).
    pub fn push(&mut self, path: &Path<'_>, message: impl Into<String>) {
        if self.is_full() {
            self.more += 1;
            return;
        }
        self.list.push(Issue {
            path: path.to_string(),
            message: message.into(),
        });
    }

    /// Records that a decoder stopped early because [`Issues::is_full`]: more issues may exist.
    pub fn truncate(&mut self) {
        self.more += 1;
    }

    /// Whether the limit is reached: decoders stop looking for more.
    pub fn is_full(&self) -> bool {
        self.list.len() >= Self::LIMIT
    }

    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// How many issues were recorded (at most [`Issues::LIMIT`]).
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// The recorded issues.
    pub fn as_slice(&self) -> &[Issue] {
        &self.list
    }

    /// Into the `INVALID_ARGUMENT` error that answers a failed validation,
    /// with details `{"issues":[{"path":..,"message":..}]}`.
    ///
    /// ```
    /// use wskit::validate::{Issues, Path};
    /// let mut issues = Issues::new();
    /// for i in 0..100 {
    ///     issues.push(&Path::root("payload").index(i), "expected string, got number");
    /// }
    /// let err = issues.into_error();
    /// assert_eq!(err.message, "Validation failed: payload[0]: expected string, got number (and more)");
    /// assert_eq!(err.details.unwrap()["issues"].as_array().unwrap().len(), 20);
    /// ```
    pub fn into_error(self) -> crate::Error {
        let summary = match self.list.first() {
            Some(first) if self.more > 0 => format!("Validation failed: {first} (and more)"),
            Some(first) if self.list.len() == 1 => format!("Validation failed: {first}"),
            Some(first) => format!(
                "Validation failed: {first} (and {} more)",
                self.list.len() - 1
            ),
            None => "Validation failed".to_owned(),
        };
        let issues = self
            .list
            .into_iter()
            .map(|issue| {
                let mut entry = serde_json::Map::with_capacity(2);
                entry.insert("path".to_owned(), issue.path.into());
                entry.insert("message".to_owned(), issue.message.into());
                serde_json::Value::Object(entry)
            })
            .collect();
        let mut details = serde_json::Map::with_capacity(1);
        details.insert("issues".to_owned(), serde_json::Value::Array(issues));
        crate::Error::invalid_argument(summary).with_details(serde_json::Value::Object(details))
    }
}

impl IntoIterator for Issues {
    type Item = Issue;
    type IntoIter = std::vec::IntoIter<Issue>;
    fn into_iter(self) -> Self::IntoIter {
        self.list.into_iter()
    }
}

impl From<Vec<Issue>> for Issues {
    fn from(list: Vec<Issue>) -> Self {
        Issues { list, more: 0 }
    }
}

impl fmt::Display for Issues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, issue) in self.list.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{issue}")?;
        }
        if self.more > 0 {
            f.write_str("; and more")?;
        }
        Ok(())
    }
}

impl std::error::Error for Issues {}

/// A JSON path, built on the stack while decoding and turned into a string only when an issue is
/// recorded.
///
/// ```
/// use wskit::validate::Path;
/// let root = Path::root("payload");
/// let items = root.field("items");
/// assert_eq!(items.index(2).field("name").to_string(), "payload.items[2].name");
/// ```
#[derive(Debug, Clone, Copy)]
pub enum Path<'a> {
    /// The start: `payload` or `meta`.
    Root(&'a str),
    /// A key of an object.
    Field(&'a Path<'a>, &'a str),
    /// An element of an array.
    Index(&'a Path<'a>, usize),
}

impl<'a> Path<'a> {
    /// A path that starts at `name`.
    pub const fn root(name: &'a str) -> Self {
        Path::Root(name)
    }

    /// The path of key `name` below this one.
    pub fn field(&'a self, name: &'a str) -> Path<'a> {
        Path::Field(self, name)
    }

    /// The path of element `i` below this one.
    pub fn index(&'a self, i: usize) -> Path<'a> {
        Path::Index(self, i)
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root(name) => f.write_str(name),
            Path::Field(parent, name) => write!(f, "{parent}.{name}"),
            Path::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

/// Checks a decoded value against its constraints. Generated types implement it; so must a user's
/// own type used as a field.
///
/// ```
/// use wskit::validate::{Issues, Path, Validate};
/// struct Even(u32);
/// impl Validate for Even {
///     fn validate(&self, path: &Path<'_>, issues: &mut Issues) {
///         if self.0 % 2 != 0 {
///             issues.push(path, "must be even");
///         }
///     }
/// }
/// let mut issues = Issues::new();
/// Even(3).validate(&Path::root("payload"), &mut issues);
/// assert_eq!(issues.as_slice()[0].to_string(), "payload: must be even");
/// ```
pub trait Validate {
    /// Records every issue of `self`, with paths below `path`.
    fn validate(&self, path: &Path<'_>, issues: &mut Issues);

    /// All issues of `self` as a payload, or `Ok`.
    fn check(&self) -> Result<(), Issues> {
        let mut issues = Issues::new();
        self.validate(&Path::root("payload"), &mut issues);
        if issues.is_empty() {
            Ok(())
        } else {
            Err(issues)
        }
    }
}

macro_rules! no_constraints {
    ($($t:ty),*) => {
        $(impl Validate for $t {
            fn validate(&self, _: &Path<'_>, _: &mut Issues) {}
        })*
    };
}

no_constraints!(
    String,
    bool,
    u8,
    u16,
    u32,
    u64,
    i8,
    i16,
    i32,
    i64,
    f32,
    f64,
    serde_json::Value
);

impl<T: Validate> Validate for Option<T> {
    fn validate(&self, path: &Path<'_>, issues: &mut Issues) {
        if let Some(v) = self {
            v.validate(path, issues);
        }
    }
}

impl<T: Validate> Validate for Vec<T> {
    fn validate(&self, path: &Path<'_>, issues: &mut Issues) {
        for (i, v) in self.iter().enumerate() {
            v.validate(&path.index(i), issues);
        }
    }
}

impl<T: Validate, S> Validate for std::collections::HashMap<String, T, S> {
    fn validate(&self, path: &Path<'_>, issues: &mut Issues) {
        for (k, v) in self {
            v.validate(&path.field(k), issues);
        }
    }
}

impl<T: Validate> Validate for std::collections::BTreeMap<String, T> {
    fn validate(&self, path: &Path<'_>, issues: &mut Issues) {
        for (k, v) in self {
            v.validate(&path.field(k), issues);
        }
    }
}

impl<T: Validate + ?Sized> Validate for Box<T> {
    fn validate(&self, path: &Path<'_>, issues: &mut Issues) {
        (**self).validate(path, issues);
    }
}
