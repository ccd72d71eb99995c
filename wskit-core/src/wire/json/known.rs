//! The JSON text of the types `protocol!` knows, written without serde: [`WriteJson`], which
//! the macro implements for a block's structs and enums when every field is one of these types
//! (their keys become byte-string constants when it expands), and which a message's
//! `Message::__write_json` calls for its frame's payload. The bytes are serde_json's compact
//! output (`tests/tests/encode_parity.rs`): strings go through [`write_str`], floats and JSON
//! values through the serde writer beside it.

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

use serde_json::Error;

use super::write::{to_writer, write_str};

/// Writes a value's JSON text as serde_json's `to_writer` would, without serde's visitor calls.
///
/// Not public API: `protocol!` implements it (through `wskit::__private`).
///
/// ```
/// use wskit::__private::WriteJson;
/// wskit::protocol! { pub protocol P { event Said { text: String, n: Option<u8> } } }
/// let mut out = Vec::new();
/// Said { text: "hi".into(), n: None }.write_json(&mut out).unwrap();
/// assert_eq!(out, br#"{"text":"hi"}"#);
/// ```
pub trait WriteJson {
    /// Appends the value's JSON text to `out`; fails only where serde_json would (never, for
    /// the types `protocol!` knows, whose map keys are strings).
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), Error>;
}

/// Ends an object whose fields were each written as `,"key":value` from `start` on: the first
/// comma becomes the opening brace, or the object is `{}` when no field was written (every
/// field optional and absent).
///
/// ```
/// use wskit::__private::close_object;
/// let mut out = b"[".to_vec();
/// close_object(&mut out, 1);
/// assert_eq!(out, b"[{}");
/// let mut out = b"[,\"a\":1,\"b\":2".to_vec();
/// close_object(&mut out, 1);
/// assert_eq!(out, br#"[{"a":1,"b":2}"#);
/// ```
#[inline]
pub fn close_object(out: &mut Vec<u8>, start: usize) {
    match out.get_mut(start) {
        Some(comma) => {
            *comma = b'{';
            out.push(b'}');
        }
        None => out.extend_from_slice(b"{}"),
    }
}

impl WriteJson for String {
    #[inline]
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        write_str(out, self);
        Ok(())
    }
}

impl WriteJson for bool {
    #[inline]
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        out.extend_from_slice(if *self { b"true" } else { b"false" });
        Ok(())
    }
}

macro_rules! integers {
    ($($ty:ty)*) => {$(
        impl WriteJson for $ty {
            #[inline]
            fn write_json(&self, out: &mut Vec<u8>) -> Result<(), Error> {
                out.extend_from_slice(itoa::Buffer::new().format(*self).as_bytes());
                Ok(())
            }
        }
    )*};
}

// The integer types the DSL accepts.
integers!(i8 i16 i32 i64 u8 u16 u32 u64);

/// Floats as the serde writer writes them (`null` when not finite).
macro_rules! floats {
    ($($ty:ty)*) => {$(
        impl WriteJson for $ty {
            #[inline]
            fn write_json(&self, out: &mut Vec<u8>) -> Result<(), Error> {
                to_writer(out, self)
            }
        }
    )*};
}

floats!(f32 f64);

/// A JSON value through the serde writer (its numbers may be raw text, with serde_json's
/// `arbitrary_precision`).
impl WriteJson for serde_json::Value {
    #[inline]
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        to_writer(out, self)
    }
}

/// `null` for `None` (a struct leaves out a field that is `None`; this is an `Option` inside a
/// list, a map or another `Option`).
impl<T: WriteJson> WriteJson for Option<T> {
    #[inline]
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        match self {
            Some(value) => value.write_json(out),
            None => {
                out.extend_from_slice(b"null");
                Ok(())
            }
        }
    }
}

impl<T: WriteJson> WriteJson for Vec<T> {
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        out.push(b'[');
        for (i, item) in self.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            item.write_json(out)?;
        }
        out.push(b']');
        Ok(())
    }
}

/// A map's entries in its iteration order, as serde writes them.
fn write_map<'a, T: WriteJson + 'a>(
    out: &mut Vec<u8>,
    entries: impl Iterator<Item = (&'a String, &'a T)>,
) -> Result<(), Error> {
    let start = out.len();
    for (key, value) in entries {
        out.push(b',');
        write_str(out, key);
        out.push(b':');
        value.write_json(out)?;
    }
    close_object(out, start);
    Ok(())
}

impl<T: WriteJson, S: BuildHasher> WriteJson for HashMap<String, T, S> {
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        write_map(out, self.iter())
    }
}

impl<T: WriteJson> WriteJson for BTreeMap<String, T> {
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        write_map(out, self.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours<T: WriteJson>(value: &T) -> String {
        let mut out = Vec::new();
        value.write_json(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn values_are_serde_jsons() {
        let same = |ours: String, value: &dyn erased::Json| assert_eq!(ours, value.serde_json());
        let text = String::from("a\"\\\n\u{1f}é");
        same(ours(&text), &text);
        same(ours(&true), &true);
        same(ours(&i64::MIN), &i64::MIN);
        same(ours(&u64::MAX), &u64::MAX);
        same(ours(&f64::NAN), &f64::NAN);
        same(ours(&-1.5e-300f64), &-1.5e-300f64);
        same(ours(&0.1f32), &0.1f32);
        same(ours(&vec![Some(1u8), None]), &vec![Some(1u8), None]);
        same(ours(&Vec::<u8>::new()), &Vec::<u8>::new());
        let map: BTreeMap<String, Vec<bool>> =
            [("b".into(), vec![]), ("a\"".into(), vec![true])].into();
        same(ours(&map), &map);
        same(
            ours(&BTreeMap::<String, u8>::new()),
            &BTreeMap::<String, u8>::new(),
        );
        let hashed: HashMap<String, u8> = [("x".into(), 1), ("y".into(), 2)].into();
        same(ours(&hashed), &hashed);
        let json = serde_json::json!({"a": [1, 2.5, null, {"b": "c"}], "d": true});
        same(ours(&json), &json);
    }

    /// A value written by serde_json, whatever its type.
    mod erased {
        pub trait Json {
            fn serde_json(&self) -> String;
        }
        impl<T: serde::Serialize + ?Sized> Json for T {
            fn serde_json(&self) -> String {
                serde_json::to_string(self).unwrap()
            }
        }
    }
}
