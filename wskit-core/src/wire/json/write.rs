//! JSON text of the values `protocol!` knows, written byte for byte as serde_json's compact
//! output (`tests/tests/encode_parity.rs` checks it), faster than serde_json on the frames a
//! server writes most: strings are copied whole when nothing in them needs escaping (checked
//! many bytes at a time), and escaped a run at a time otherwise; struct keys are written as
//! strings without a detour through a map-key serializer.
//!
//! serde_json's own types that write raw JSON (`RawValue`, and `Number` with serde_json's
//! `arbitrary_precision` feature) serialize as a struct of a reserved name, which serde_json's
//! serializer (and this one, the same way) writes as the raw text of its one field.

use serde::ser::{self, Impossible, Serialize};

use super::scan::{copy_plain_chunks, needs_escape};

/// The error of a value that has no JSON text (a map key that is not a string, say), with
/// serde_json's message.
pub(crate) type Error = serde_json::Error;

/// Writes `value` as serde_json's `to_writer` would.
pub(crate) fn to_writer<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<(), Error> {
    value.serialize(Writer { out })
}

/// What follows a backslash for each byte that serde_json escapes (`u`: `\u00XX`), 0 for the
/// bytes it writes as they are.
static ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = b'u';
        b += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

/// Writes `s` as a JSON string, the bytes serde_json writes.
pub(crate) fn write_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let rest = if bytes.len() < 32 {
        bytes
    } else {
        &bytes[copy_plain_chunks(out, bytes)..]
    };
    if needs_escape(rest) {
        write_escaped(out, rest);
    } else {
        out.extend_from_slice(rest);
    }
    out.push(b'"');
}

/// The contents of a string that has bytes to escape: the runs between them copied whole, 16
/// bytes looked at a time.
#[cold]
fn write_escaped(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut run = 0;
    let mut i = 0;
    while i < bytes.len() {
        if i + 16 <= bytes.len() && !needs_escape(&bytes[i..i + 16]) {
            i += 16;
            continue;
        }
        let b = bytes[i];
        let escape = ESCAPE[b as usize];
        if escape != 0 {
            out.extend_from_slice(&bytes[run..i]);
            match escape {
                b'u' => out.extend_from_slice(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[usize::from(b >> 4)],
                    HEX[usize::from(b & 0xf)],
                ]),
                c => out.extend_from_slice(&[b'\\', c]),
            }
            run = i + 1;
        }
        i += 1;
    }
    out.extend_from_slice(&bytes[run..]);
}

/// The methods both serializers (values and map keys) write alike: integers (with
/// `self.int`), characters and unit variants as strings, newtype structs as what they wrap.
macro_rules! shared_methods {
    () => {
        fn serialize_char(self, v: char) -> Result<(), Error> {
            self.serialize_str(v.encode_utf8(&mut [0u8; 4]))
        }
        fn serialize_unit_variant(
            self,
            _: &'static str,
            _: u32,
            variant: &'static str,
        ) -> Result<(), Error> {
            self.serialize_str(variant)
        }
        fn serialize_newtype_struct<T: Serialize + ?Sized>(
            self,
            _: &'static str,
            value: &T,
        ) -> Result<(), Error> {
            value.serialize(self)
        }
        shared_methods! {
            serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
            serialize_i128: i128, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32,
            serialize_u64: u64, serialize_u128: u128,
        }
    };
    ($($method:ident: $ty:ty,)*) => {$(
        fn $method(self, v: $ty) -> Result<(), Error> {
            self.int(v)
        }
    )*};
}

/// serde's serializer of JSON text into a `Vec`.
struct Writer<'a> {
    out: &'a mut Vec<u8>,
}

/// The struct names under which serde_json's `RawValue` and (with `arbitrary_precision`)
/// `Number` serialize their raw JSON text, the one field's string.
const RAW_TOKENS: [&str; 2] = [
    "$serde_json::private::RawValue",
    "$serde_json::private::Number",
];

/// A sequence or map being written: whether an element was written yet.
pub(crate) struct Compound<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
    /// A struct of [`RAW_TOKENS`]: its field is written as it is.
    raw: bool,
    /// What closes it: `]`, `}`, or `]}` / `}}` for a variant's.
    close: &'static [u8],
}

impl Compound<'_> {
    #[inline]
    fn comma(&mut self) {
        if !std::mem::take(&mut self.first) {
            self.out.push(b',');
        }
    }

    #[inline]
    fn end(self) -> Result<(), Error> {
        self.out.extend_from_slice(self.close);
        Ok(())
    }

    #[inline]
    fn key(&mut self, key: &str) {
        self.comma();
        write_str(self.out, key);
        self.out.push(b':');
    }
}

impl<'a> Writer<'a> {
    #[inline]
    fn raw(self, text: &[u8]) -> Result<(), Error> {
        self.out.extend_from_slice(text);
        Ok(())
    }

    #[inline]
    fn int(self, n: impl itoa::Integer) -> Result<(), Error> {
        self.raw(itoa::Buffer::new().format(n).as_bytes())
    }

    /// Opens a sequence or map (`open`), inside `{"variant":` for a variant's.
    fn compound(self, open: u8, variant: Option<&str>) -> Compound<'a> {
        let close: &'static [u8] = match (open, variant) {
            (b'[', None) => b"]",
            (b'[', Some(_)) => b"]}",
            (_, None) => b"}",
            (_, Some(_)) => b"}}",
        };
        if let Some(variant) = variant {
            self.out.push(b'{');
            write_str(self.out, variant);
            self.out.push(b':');
        }
        self.out.push(open);
        Compound {
            out: self.out,
            first: true,
            raw: false,
            close,
        }
    }
}

impl<'a> ser::Serializer for Writer<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Compound<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = Compound<'a>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = Compound<'a>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.raw(if v { b"true" } else { b"false" })
    }
    shared_methods!();
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        if v.is_finite() {
            self.raw(zmij::Buffer::new().format_finite(v).as_bytes())
        } else {
            self.raw(b"null")
        }
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        if v.is_finite() {
            self.raw(zmij::Buffer::new().format_finite(v).as_bytes())
        } else {
            self.raw(b"null")
        }
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        write_str(self.out, v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        use ser::SerializeSeq;
        let mut seq = self.serialize_seq(Some(v.len()))?;
        for b in v {
            seq.serialize_element(b)?;
        }
        seq.end()
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.raw(b"null")
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.raw(b"null")
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        self.raw(b"null")
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.out.push(b'{');
        write_str(self.out, variant);
        self.out.push(b':');
        value.serialize(Writer {
            out: &mut *self.out,
        })?;
        self.raw(b"}")
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Compound<'a>, Error> {
        Ok(self.compound(b'[', None))
    }
    fn serialize_tuple(self, _: usize) -> Result<Compound<'a>, Error> {
        Ok(self.compound(b'[', None))
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Compound<'a>, Error> {
        Ok(self.compound(b'[', None))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'a>, Error> {
        Ok(self.compound(b'[', Some(variant)))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Compound<'a>, Error> {
        Ok(self.compound(b'{', None))
    }
    fn serialize_struct(self, name: &'static str, _: usize) -> Result<Compound<'a>, Error> {
        if RAW_TOKENS.contains(&name) {
            return Ok(Compound {
                out: self.out,
                first: true,
                raw: true,
                close: b"",
            });
        }
        Ok(self.compound(b'{', None))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'a>, Error> {
        Ok(self.compound(b'{', Some(variant)))
    }
}

impl Compound<'_> {
    #[inline]
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.comma();
        value.serialize(Writer {
            out: &mut *self.out,
        })
    }

    #[inline]
    fn field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        if self.raw {
            return self.raw_text(value);
        }
        self.key(key);
        value.serialize(Writer {
            out: &mut *self.out,
        })
    }

    /// The field of a [`RAW_TOKENS`] struct: its string, as it is.
    #[cold]
    fn raw_text<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        match value.serialize(serde_json::value::Serializer)? {
            serde_json::Value::String(text) => {
                self.out.extend_from_slice(text.as_bytes());
                Ok(())
            }
            _ => Err(ser::Error::custom("raw JSON that is not a string")),
        }
    }
}

/// The `Serialize*` traits of sequences (each element after a comma) and of structs (each
/// field a key, then its value): one `Compound` writes them all.
macro_rules! compound {
    ($($trait:ident::$method:ident;)*) => {$(
        impl ser::$trait for Compound<'_> {
            type Ok = ();
            type Error = Error;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
                self.element(value)
            }
            fn end(self) -> Result<(), Error> {
                Compound::end(self)
            }
        }
    )*};
    ($($trait:ident;)*) => {$(
        impl ser::$trait for Compound<'_> {
            type Ok = ();
            type Error = Error;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), Error> {
                self.field(key, value)
            }
            fn end(self) -> Result<(), Error> {
                Compound::end(self)
            }
        }
    )*};
}

compound! {
    SerializeSeq::serialize_element;
    SerializeTuple::serialize_element;
    SerializeTupleStruct::serialize_field;
    SerializeTupleVariant::serialize_field;
}

compound! {
    SerializeStruct;
    SerializeStructVariant;
}

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.comma();
        key.serialize(MapKey {
            out: &mut *self.out,
        })?;
        self.out.push(b':');
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(Writer {
            out: &mut *self.out,
        })
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self)
    }
}

/// A map key, as serde_json writes one: strings as they are, numbers, booleans and characters
/// quoted; anything else refused with serde_json's error.
struct MapKey<'a> {
    out: &'a mut Vec<u8>,
}

impl MapKey<'_> {
    fn quoted(self, text: &[u8]) -> Result<(), Error> {
        self.out.push(b'"');
        self.out.extend_from_slice(text);
        self.out.push(b'"');
        Ok(())
    }

    fn int(self, n: impl itoa::Integer) -> Result<(), Error> {
        self.quoted(itoa::Buffer::new().format(n).as_bytes())
    }

    fn float(self, text: Option<&str>) -> Result<(), Error> {
        match text {
            Some(text) => self.quoted(text.as_bytes()),
            None => Err(ser::Error::custom(
                "float key must be finite (got NaN or +/-inf)",
            )),
        }
    }
}

/// serde_json's error for a key it cannot write.
fn key_must_be_a_string() -> Error {
    ser::Error::custom("key must be a string")
}

impl ser::Serializer for MapKey<'_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Impossible<(), Error>;
    type SerializeStructVariant = Impossible<(), Error>;

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        write_str(self.out, v);
        Ok(())
    }
    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.quoted(if v { b"true" } else { b"false" })
    }
    shared_methods!();
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        let mut buf = zmij::Buffer::new();
        self.float(v.is_finite().then(|| buf.format_finite(v)))
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        let mut buf = zmij::Buffer::new();
        self.float(v.is_finite().then(|| buf.format_finite(v)))
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_none(self) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit(self) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(key_must_be_a_string())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    fn ours<T: serde::Serialize + ?Sized>(value: &T) -> String {
        let mut out = Vec::new();
        super::to_writer(&mut out, value).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// Every character up to U+00FF and some beyond, alone and in runs longer than a chunk.
    #[test]
    fn strings_are_serde_jsons() {
        let mut cases: Vec<String> = (0u32..0x100)
            .chain([0x7ff, 0x800, 0xffff, 0x10000, 0x10ffff])
            .filter_map(char::from_u32)
            .map(String::from)
            .collect();
        let all: String = (0u32..0x100).filter_map(char::from_u32).collect();
        cases.push(all.clone());
        cases.push(format!(
            "{}\n{}\"{}",
            "a".repeat(40),
            "b".repeat(17),
            "c".repeat(3)
        ));
        cases.push(format!("{all}{}{all}", "x".repeat(100)));
        // Plain runs copied 32 bytes at a time, then handed to the escaper: a byte to escape
        // (or a character of several bytes) at every place of the first chunks and the rest.
        for len in [31, 32, 33, 63, 64, 65, 100] {
            for at in 0..len {
                for odd in ["\"", "\\", "\u{1}", "\u{7f}", "é", "\u{10ffff}"] {
                    let mut s = "p".repeat(len);
                    s.replace_range(at..at + 1, odd);
                    cases.push(s);
                }
            }
        }
        for s in &cases {
            assert_eq!(ours(s), serde_json::to_string(s).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn values_are_serde_jsons() {
        let value = json!({
            "n": [0, -1, u64::MAX, i64::MIN, 1.5, 1e300, -0.0, 0.1, 1e-7],
            "s": "x\u{1}y", "b": [true, false, null], "o": {"": {}, "a": []},
        });
        assert_eq!(ours(&value), serde_json::to_string(&value).unwrap());
        let floats = [f32::MIN_POSITIVE, f32::MAX, 0.3, f32::NAN, f32::INFINITY];
        assert_eq!(ours(&floats), serde_json::to_string(&floats).unwrap());
        let map: BTreeMap<i32, Option<char>> = [(-3, Some('"')), (7, None)].into();
        assert_eq!(ours(&map), serde_json::to_string(&map).unwrap());
        let bools: BTreeMap<bool, ()> = [(true, ())].into();
        assert_eq!(ours(&bools), serde_json::to_string(&bools).unwrap());
        let bytes = serde_bytes_like(&[1, 2, 255]);
        assert_eq!(ours(&bytes), serde_json::to_string(&bytes).unwrap());
        let unkeyable: BTreeMap<Vec<u8>, u8> = [(vec![1], 1)].into();
        let mut out = Vec::new();
        let err = super::to_writer(&mut out, &unkeyable).unwrap_err();
        assert_eq!(
            err.to_string(),
            serde_json::to_string(&unkeyable).unwrap_err().to_string()
        );
    }

    /// serde_json's raw values (a user's type may hold one) are written as they are.
    #[test]
    fn raw_values_are_written_as_they_are() {
        #[derive(serde::Serialize)]
        struct WithRaw<'a> {
            a: u8,
            #[serde(borrow)]
            raw: &'a serde_json::value::RawValue,
            list: Vec<Box<serde_json::value::RawValue>>,
        }
        let raw = serde_json::value::RawValue::from_string(r#"{"x": [1, 2.50]}"#.into()).unwrap();
        let value = WithRaw {
            a: 1,
            raw: &raw,
            list: vec![raw.clone(), serde_json::value::to_raw_value(&"s").unwrap()],
        };
        assert_eq!(ours(&value), serde_json::to_string(&value).unwrap());
    }

    #[test]
    fn enums_are_serde_jsons() {
        #[derive(serde::Serialize)]
        enum E {
            Unit,
            New(u8),
            Tuple(u8, String),
            Struct { a: Option<u8>, b: Vec<u8> },
        }
        let all = [
            E::Unit,
            E::New(1),
            E::Tuple(2, "t".into()),
            E::Struct { a: None, b: vec![] },
        ];
        assert_eq!(ours(&all), serde_json::to_string(&all).unwrap());
        #[derive(serde::Serialize)]
        struct Unit;
        #[derive(serde::Serialize)]
        struct Wrapped(u8);
        assert_eq!(
            ours(&(Unit, Wrapped(3), ())),
            serde_json::to_string(&(Unit, Wrapped(3), ())).unwrap()
        );
    }

    /// Serializes as bytes (serde's `serialize_bytes`), as `serde_bytes` would.
    fn serde_bytes_like(bytes: &[u8]) -> impl serde::Serialize + '_ {
        struct Bytes<'a>(&'a [u8]);
        impl serde::Serialize for Bytes<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(self.0)
            }
        }
        Bytes(bytes)
    }
}
