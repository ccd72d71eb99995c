//! Strict decoding from borrowed JSON that records every issue instead of stopping at the first.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::BuildHasher;

use serde::de::{DeserializeOwned, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Number, Value};

use super::issues::{Issues, Path, Validate};

/// A type that decodes from wire JSON, recording every issue under `path`.
///
/// Implemented for the field types the `protocol!` DSL accepts and for every generated type.
///
/// ```
/// use wskit::validate::{Decode, Issues, Path};
/// let raw = serde_json::value::RawValue::from_string("[1, \"x\", 3]".into()).unwrap();
/// let mut issues = Issues::new();
/// let v = Vec::<u8>::decode(&raw, &Path::root("payload"), &mut issues);
/// assert!(v.is_none());
/// assert_eq!(issues.to_string(), "payload[1]: expected integer, got string");
/// ```
pub trait Decode: Sized {
    /// Decodes `raw`; `None` when any issue was recorded for it.
    fn decode(raw: &RawValue, path: &Path<'_>, issues: &mut Issues) -> Option<Self>;

    /// The value of an absent key, or `None` when the key is required.
    fn absent() -> Option<Self> {
        None
    }
}

/// The JSON kind of a raw value, for "expected X, got Y" messages.
fn kind(raw: &RawValue) -> &'static str {
    match raw.get().as_bytes().first() {
        Some(b'"') => "string",
        Some(b'{') => "object",
        Some(b'[') => "array",
        Some(b't' | b'f') => "boolean",
        Some(b'n') => "null",
        _ => "number",
    }
}

fn mismatch(expected: &str, raw: &RawValue, path: &Path<'_>, issues: &mut Issues) {
    issues.push(path, format!("expected {expected}, got {}", kind(raw)));
}

impl Decode for String {
    fn decode(raw: &RawValue, path: &Path<'_>, issues: &mut Issues) -> Option<Self> {
        match serde_json::from_str::<Cow<'_, str>>(raw.get()) {
            Ok(s) => Some(s.into_owned()),
            Err(_) => {
                mismatch("string", raw, path, issues);
                None
            }
        }
    }
}

impl Decode for bool {
    fn decode(raw: &RawValue, path: &Path<'_>, issues: &mut Issues) -> Option<Self> {
        match raw.get() {
            "true" => Some(true),
            "false" => Some(false),
            _ => {
                mismatch("boolean", raw, path, issues);
                None
            }
        }
    }
}

fn number(raw: &RawValue, expected: &str, path: &Path<'_>, issues: &mut Issues) -> Option<Number> {
    if kind(raw) != "number" {
        mismatch(expected, raw, path, issues);
        return None;
    }
    match serde_json::from_str::<Number>(raw.get()) {
        Ok(n) => Some(n),
        Err(_) => {
            mismatch(expected, raw, path, issues);
            None
        }
    }
}

macro_rules! integers {
    ($($t:ty),*) => {$(
        impl Decode for $t {
            fn decode(raw: &RawValue, path: &Path<'_>, issues: &mut Issues) -> Option<Self> {
                let n = number(raw, "integer", path, issues)?;
                let exact = if let Some(i) = n.as_i64() {
                    <$t>::try_from(i).ok()
                } else if let Some(u) = n.as_u64() {
                    <$t>::try_from(u).ok()
                } else {
                    let f = n.as_f64().unwrap_or(f64::NAN);
                    if f.fract() == 0.0 && f >= <$t>::MIN as f64 && f <= <$t>::MAX as f64 {
                        Some(f as $t)
                    } else if f.fract() != 0.0 {
                        issues.push(path, "expected integer, got number");
                        return None;
                    } else {
                        None
                    }
                };
                if exact.is_none() {
                    issues.push(
                        path,
                        format!("expected integer from {} to {}", <$t>::MIN, <$t>::MAX),
                    );
                }
                exact
            }
        }
    )*};
}

integers!(u8, u16, u32, u64, i8, i16, i32, i64);

impl Decode for f64 {
    fn decode(raw: &RawValue, path: &Path<'_>, issues: &mut Issues) -> Option<Self> {
        number(raw, "number", path, issues)?.as_f64()
    }
}

impl Decode for f32 {
    /// The number read as an `f64`, then rounded to the nearest `f32` (as JavaScript's
    /// `Math.fround` does, so that a schema exported for the browser agrees); a number beyond
    /// `f32::MAX` (which would read as infinity, and be written back as `null`) is an issue.
    fn decode(raw: &RawValue, path: &Path<'_>, issues: &mut Issues) -> Option<Self> {
        let v = f64::decode(raw, path, issues)? as f32;
        if v.is_infinite() {
            let range = format!("expected number from {:e} to {:e}", f32::MIN, f32::MAX);
            issues.push(path, range);
            return None;
        }
        Some(v)
    }
}

impl Decode for Value {
    fn decode(raw: &RawValue, path: &Path<'_>, issues: &mut Issues) -> Option<Self> {
        match serde_json::from_str(raw.get()) {
            Ok(v) => Some(v),
            Err(e) => {
                issues.push(path, format!("invalid JSON: {e}"));
                None
            }
        }
    }
}

impl<T: Decode> Decode for Option<T> {
    fn decode(raw: &RawValue, path: &Path<'_>, issues: &mut Issues) -> Option<Self> {
        if raw.get() == "null" {
            Some(None)
        } else {
            T::decode(raw, path, issues).map(Some)
        }
    }

    fn absent() -> Option<Self> {
        Some(None)
    }
}

impl<T: Decode> Decode for Vec<T> {
    fn decode(raw: &RawValue, path: &Path<'_>, issues: &mut Issues) -> Option<Self> {
        let Ok(items) = serde_json::from_str::<Vec<&RawValue>>(raw.get()) else {
            mismatch("array", raw, path, issues);
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, item) in items.into_iter().enumerate() {
            if issues.is_full() {
                issues.truncate();
                return None;
            }
            match T::decode(item, &path.index(i), issues) {
                Some(v) if ok => out.push(v),
                Some(_) => {}
                None => ok = false,
            }
        }
        ok.then_some(out)
    }
}

impl<T: Decode, S: BuildHasher + Default> Decode for HashMap<String, T, S> {
    fn decode(raw: &RawValue, path: &Path<'_>, issues: &mut Issues) -> Option<Self> {
        decode_map(raw, path, issues)
    }
}

impl<T: Decode> Decode for BTreeMap<String, T> {
    fn decode(raw: &RawValue, path: &Path<'_>, issues: &mut Issues) -> Option<Self> {
        decode_map(raw, path, issues)
    }
}

fn decode_map<T: Decode, C: FromIterator<(String, T)>>(
    raw: &RawValue,
    path: &Path<'_>,
    issues: &mut Issues,
) -> Option<C> {
    let entries = object_entries(raw, path, issues)?;
    let mut out = Vec::with_capacity(entries.len());
    let mut ok = true;
    for (k, v) in entries {
        if issues.is_full() {
            issues.truncate();
            return None;
        }
        match T::decode(v, &path.field(&k), issues) {
            Some(v) if ok => out.push((k.into_owned(), v)),
            Some(_) => {}
            None => ok = false,
        }
    }
    ok.then(|| out.into_iter().collect())
}

impl<T: Decode> Decode for Box<T> {
    fn decode(raw: &RawValue, path: &Path<'_>, issues: &mut Issues) -> Option<Self> {
        T::decode(raw, path, issues).map(Box::new)
    }
}

/// The keys and raw values of a JSON object, in document order; an issue when `raw` is not an
/// object or repeats a key.
pub fn object_entries<'a>(
    raw: &'a RawValue,
    path: &Path<'_>,
    issues: &mut Issues,
) -> Option<Vec<(Cow<'a, str>, &'a RawValue)>> {
    object_entries_within(raw, path, issues, usize::MAX)
}

/// [`object_entries`], reading no more than `max` entries: the decoder of a struct with `n`
/// fields asks for `n + Issues::LIMIT + 1`. An object with more keys than its fields has an
/// unknown or repeated key among its first `n + 1`, so it is refused whatever follows, and the
/// first issues are the same; what follows the `max`th entry is not read at all (a payload of
/// 100 000 unknown keys cost ~19 ms to refuse when every key was collected). Reading stops
/// early is recorded with [`Issues::truncate`].
pub fn object_entries_within<'a>(
    raw: &'a RawValue,
    path: &Path<'_>,
    issues: &mut Issues,
    max: usize,
) -> Option<Vec<(Cow<'a, str>, &'a RawValue)>> {
    /// The entries read, and whether reading stopped at `max`.
    struct Read<'a> {
        entries: Vec<(Cow<'a, str>, &'a RawValue)>,
        max: usize,
        cut: bool,
    }
    struct Entries<'r, 'a>(&'r mut Read<'a>);
    impl<'a> Visitor<'a> for Entries<'_, 'a> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'a>>(self, mut map: A) -> Result<(), A::Error> {
            let hint = map.size_hint().unwrap_or(4).min(self.0.max);
            self.0.entries.reserve(hint);
            while let Some(k) = map.next_key::<Cow<'a, str>>()? {
                if self.0.entries.len() == self.0.max {
                    self.0.cut = true;
                    return Err(serde::de::Error::custom("entry cap"));
                }
                let v: &'a RawValue = map.next_value()?;
                self.0.entries.push((k, v));
            }
            Ok(())
        }
    }
    let mut read = Read {
        entries: Vec::new(),
        max,
        cut: false,
    };
    let mut de = serde_json::Deserializer::from_str(raw.get());
    let parsed =
        serde::Deserializer::deserialize_map(&mut de, Entries(&mut read)).and_then(|()| de.end());
    if parsed.is_err() && !read.cut {
        mismatch("object", raw, path, issues);
        return None;
    }
    if read.cut {
        issues.truncate();
    }
    let entries = read.entries;
    if let Some(k) = first_duplicate(&entries) {
        issues.push(&path.field(k), "duplicate key");
        return None;
    }
    Some(entries)
}

/// The first key that appears twice: a linear scan for the usual small object, a hash set for a
/// large one (a hostile frame may carry many thousands of keys).
fn first_duplicate<'e>(entries: &'e [(Cow<'_, str>, &RawValue)]) -> Option<&'e str> {
    if entries.len() <= 16 {
        return entries
            .iter()
            .enumerate()
            .find(|(i, (k, _))| entries[..*i].iter().any(|(prev, _)| prev == k))
            .map(|(_, (k, _))| &**k);
    }
    let mut seen = std::collections::HashSet::with_capacity(entries.len());
    entries
        .iter()
        .find(|(k, _)| !seen.insert(&**k))
        .map(|(k, _)| &**k)
}

/// Decodes one field of an object: an absent key is `T::absent()` or a "required" issue.
pub fn field<T: Decode>(raw: Option<&RawValue>, path: &Path<'_>, issues: &mut Issues) -> Option<T> {
    match raw {
        Some(raw) => T::decode(raw, path, issues),
        None => {
            let v = T::absent();
            if v.is_none() {
                issues.push(path, "required");
            }
            v
        }
    }
}

/// Decodes a user's own field type through serde, then runs its [`Validate`] impl.
pub fn decode_with_serde<T: DeserializeOwned + Validate>(
    raw: &RawValue,
    path: &Path<'_>,
    issues: &mut Issues,
) -> Option<T> {
    match serde_json::from_str::<T>(raw.get()) {
        Ok(v) => {
            let before = issues.len();
            v.validate(path, issues);
            (issues.len() == before).then_some(v)
        }
        Err(e) => {
            issues.push(path, e.to_string());
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> &RawValue {
        serde_json::from_str(text).expect("valid JSON")
    }

    #[test]
    fn entries_within_a_cap_stop_reading_at_it() {
        let path = Path::root("payload");
        let keys: Vec<String> = (0..1000).map(|i| format!(r#""k{i}":{i}"#)).collect();
        let text = format!("{{{}}}", keys.join(","));
        let mut issues = Issues::new();
        let all = object_entries(raw(&text), &path, &mut issues).unwrap();
        assert_eq!(all.len(), 1000);
        assert!(issues.is_empty());

        let mut capped = Issues::new();
        let first = object_entries_within(raw(&text), &path, &mut capped, 25).unwrap();
        let texts = |e: &[(Cow<'_, str>, &RawValue)]| -> Vec<(String, String)> {
            e.iter()
                .map(|(k, v)| (k.to_string(), v.get().to_owned()))
                .collect()
        };
        assert_eq!(texts(&first), texts(&all[..25]));
        // Recorded as truncated (counted, not listed): the answer says there is more.
        assert!(capped.is_empty());
        let mut one = Issues::new();
        one.push(&path, "x");
        let mut with_cut = one.clone();
        let _ = object_entries_within(raw(&text), &path, &mut with_cut, 25);
        assert_ne!(with_cut, one);

        // Exactly at the cap: all of it, nothing truncated.
        let mut exact = Issues::new();
        let small = r#"{"a":1,"b":2}"#;
        assert_eq!(
            object_entries_within(raw(small), &path, &mut exact, 2)
                .unwrap()
                .len(),
            2
        );
        assert_eq!(exact, Issues::new());

        // Not an object, or a repeated key among the entries read: an issue, as before.
        let mut bad = Issues::new();
        assert!(object_entries_within(raw("[1]"), &path, &mut bad, 5).is_none());
        assert!(object_entries_within(raw(r#"{"a":1,"a":2}"#), &path, &mut bad, 5).is_none());
        assert_eq!(bad.len(), 2);
    }
}
