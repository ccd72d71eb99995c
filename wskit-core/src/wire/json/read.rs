//! The JSON reader of the decoders' fast path: a serde `Deserializer` over a frame's text that
//! accepts only what `serde_json::from_str` accepts, and gives the same value.
//!
//! It exists for speed where serde_json is slow: a string's plain run is found 32 bytes at a
//! time (serde_json looks at 8), so a frame with a large string costs a fraction of what it
//! did. Where exactness is subtle, it asks serde_json itself: a number that is not a plain
//! non-negative integer is read by serde_json from its own text, and so is a string with
//! escapes (its `\u` rules, surrogates included). Anything else unusual it refuses: bytes, raw
//! values, a map key that is not meant as a string, nesting deeper than serde_json allows. A
//! refusal costs only speed: the caller then takes its exact path, which answers as serde_json
//! does. Its tests check it against serde_json on a corpus of accepted and refused texts, and
//! the frame-decoding fuzz target checks the fast path it serves against the exact one.

use std::fmt;

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer as _, Visitor};
use serde::forward_to_deserialize_any;

use super::scan::plain_run_end;

/// Nesting deeper than this is refused (serde_json's own limit: it refuses a 128th level).
const MAX_DEPTH: u32 = 127;

/// The name serde_json gives `RawValue`'s newtype (it then reads the value's raw text).
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

/// Reads `text` as one JSON value of type `T`: `Some` only when `serde_json::from_str` gives
/// `Ok` with the same value; `None` for every input serde_json refuses, and for the few it
/// accepts that this reader leaves to it (see the module docs).
pub(crate) fn from_str<'de, T: Deserialize<'de>>(text: &'de str) -> Option<T> {
    let mut reader = Reader {
        text,
        pos: 0,
        depth: 0,
    };
    let value = T::deserialize(&mut reader).ok()?;
    reader.skip_whitespace();
    (reader.pos == text.len()).then_some(value)
}

/// A JSON object read entry by entry, each key matched against the JSON text of the keys a
/// struct declares, byte for byte, and each value read by serde from the same reader as the
/// rest of the fast path: what `protocol!` generates as a message's `Message::__read_json`.
/// Each step says when the fast read stops (`None`, or `false` from [`Fields::value`]); the caller
/// then takes the exact path.
///
/// Not public API: `protocol!` calls it (through `wskit::__private`).
///
/// ```
/// use wskit::__private::Fields;
/// fn read(text: &str) -> Option<(u32, Option<bool>)> {
///     let mut fields = Fields::new(text)?;
///     let (mut n, mut on) = (None, None);
///     while fields.next_key()? {
///         if fields.key(b"\"n\"") {
///             if fields.value(&mut n) {
///                 continue;
///             }
///         } else if fields.key(b"\"on\"") && fields.value(&mut on) {
///             continue;
///         }
///         return None;
///     }
///     fields.end()?;
///     Some((n?, on.unwrap_or(None)))
/// }
/// assert_eq!(read(r#" { "on" : true, "n" : 7 } "#), Some((7, Some(true))));
/// assert_eq!(read(r#"{"n":7}"#), Some((7, None)));
/// assert_eq!(read(r#"{"n":7,"n":8}"#), None, "a repeated key");
/// assert_eq!(read(r#"{"\u006e":7}"#), None, "an escaped key: left to serde_json");
/// assert_eq!(read(r#"{"n":7,"m":1}"#), None, "an unknown key");
/// assert_eq!(read(r#"{"n" 7}"#), None);
/// assert_eq!(read(r#"{"n":7} x"#), None);
/// ```
pub struct Fields<'de> {
    reader: Reader<'de>,
    first: bool,
    /// A key matched without the colon after it: the value's read refuses.
    no_colon: bool,
}

impl<'de> Fields<'de> {
    /// Starts reading `text`, which must be an object.
    #[inline]
    pub fn new(text: &'de str) -> Option<Self> {
        let mut reader = Reader {
            text,
            pos: 0,
            depth: 1,
        };
        reader.eat(b'{').ok()?;
        Some(Fields {
            reader,
            first: true,
            no_colon: false,
        })
    }

    /// Moves to the next entry's key (past the comma before it): `Some(false)` at the end of
    /// the object, `None` where the text is not an object's next entry.
    #[inline]
    pub fn next_key(&mut self) -> Option<bool> {
        match self.reader.next_item(&mut self.first, b'}').ok()? {
            None => Some(false),
            Some(b'"') => Some(true),
            // A key that is not a string, or a trailing comma (`,}`).
            Some(_) => None,
        }
    }

    /// Whether the entry's key is `quoted` (a key's JSON text, its quotes included); if it is,
    /// the key and the colon after it are consumed. A key written with escapes matches none
    /// (the caller refuses it, and serde_json reads the frame).
    #[inline]
    pub fn key(&mut self, quoted: &[u8]) -> bool {
        let reader = &mut self.reader;
        if !reader.bytes()[reader.pos..].starts_with(quoted) {
            return false;
        }
        reader.pos += quoted.len();
        self.no_colon = reader.eat(b':').is_err();
        true
    }

    /// Reads the entry's value into `slot`: `false` when the key came before (serde's derive
    /// refuses a repeated field), no colon followed it, or the value is not a `T`.
    #[inline]
    pub fn value<T: Deserialize<'de>>(&mut self, slot: &mut Option<T>) -> bool {
        if slot.is_some() || self.no_colon {
            return false;
        }
        *slot = T::deserialize(&mut self.reader).ok();
        slot.is_some()
    }

    /// Ends the object (after [`Fields::next_key`] reached its end): `None` unless nothing
    /// but whitespace follows it.
    #[inline]
    pub fn end(mut self) -> Option<()> {
        self.reader.eat(b'}').ok()?;
        self.reader.skip_whitespace();
        (self.reader.pos == self.reader.text.len()).then_some(())
    }
}

/// Why a read stopped. The caller only needs to know that it did: no message is built.
#[derive(Debug)]
pub(crate) struct Refused;

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("refused by the fast JSON reader")
    }
}

impl std::error::Error for Refused {}

impl de::Error for Refused {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Refused
    }
}

struct Reader<'de> {
    text: &'de str,
    pos: usize,
    depth: u32,
}

/// A string read: borrowed from the text when it has no escapes, else unescaped.
enum Str<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl<'de> Str<'de> {
    /// Hands the string to `visitor` as serde_json's `from_str` does (`visit_borrowed_str`
    /// when it has no escapes).
    fn visit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        match self {
            Str::Borrowed(s) => visitor.visit_borrowed_str(s),
            Str::Owned(s) => visitor.visit_string(s),
        }
    }
}

/// Reads a number as an `f64` rounded to `f32`.
struct F32Visitor;

impl Visitor<'_> for F32Visitor {
    type Value = f32;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number")
    }

    fn visit_f64<E>(self, v: f64) -> Result<f32, E> {
        Ok(v as f32)
    }

    fn visit_u64<E>(self, v: u64) -> Result<f32, E> {
        Ok(v as f32)
    }

    fn visit_i64<E>(self, v: i64) -> Result<f32, E> {
        Ok(v as f32)
    }
}

/// A plain non-negative integer that fits a `u64` (no sign, fraction or exponent, no leading
/// zero, at most 19 digits): serde_json visits those as `u64`, with or without its
/// `arbitrary_precision` feature.
#[inline]
fn plain_u64(token: &str) -> Option<u64> {
    let digits = token.as_bytes();
    if digits.is_empty() || digits.len() > 19 || (digits.len() > 1 && digits[0] == b'0') {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &d| {
        d.is_ascii_digit().then(|| n * 10 + u64::from(d - b'0'))
    })
}

type JsonDe<'de> = serde_json::Deserializer<serde_json::de::StrRead<'de>>;

impl<'de> Reader<'de> {
    fn bytes(&self) -> &'de [u8] {
        self.text.as_bytes()
    }

    fn skip_whitespace(&mut self) {
        let bytes = self.bytes();
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    /// The next byte that is not whitespace, not consumed.
    fn peek(&mut self) -> Result<u8, Refused> {
        self.skip_whitespace();
        self.bytes().get(self.pos).copied().ok_or(Refused)
    }

    /// Consumes `byte`, after whitespace.
    fn eat(&mut self, byte: u8) -> Result<(), Refused> {
        if self.peek()? != byte {
            return Err(Refused);
        }
        self.pos += 1;
        Ok(())
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), Refused> {
        if !self.bytes()[self.pos..].starts_with(word) {
            return Err(Refused);
        }
        self.pos += word.len();
        Ok(())
    }

    /// An object or array (its first byte at `pos`) read by `read`, then its `close` byte.
    fn nested<T>(
        &mut self,
        close: u8,
        read: impl FnOnce(&mut Self) -> Result<T, Refused>,
    ) -> Result<T, Refused> {
        if self.depth >= MAX_DEPTH {
            return Err(Refused);
        }
        self.depth += 1;
        self.pos += 1;
        let value = read(self)?;
        self.eat(close)?;
        self.depth -= 1;
        Ok(value)
    }

    /// A string whose opening quote is at `pos`.
    fn string(&mut self) -> Result<Str<'de>, Refused> {
        let bytes = self.bytes();
        let start = self.pos + 1;
        let mut i = plain_run_end(bytes, start);
        match bytes.get(i) {
            Some(b'"') => {
                self.pos = i + 1;
                return Ok(Str::Borrowed(&self.text[start..i]));
            }
            Some(b'\\') => {}
            // A control character, or the end of the text.
            _ => return Err(Refused),
        }
        // Escapes: find the closing quote, then let serde_json unescape the string.
        loop {
            match bytes.get(i) {
                Some(b'\\') => i += 2,
                Some(b'"') => break,
                _ => return Err(Refused),
            }
            i = plain_run_end(bytes, i);
        }
        self.pos = i + 1;
        serde_json::from_str(&self.text[start - 1..=i])
            .map(Str::Owned)
            .map_err(|_| Refused)
    }

    /// A string value, refused if the next value is not one.
    fn string_value<V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value, Refused> {
        if self.peek()? != b'"' {
            return Err(Refused);
        }
        self.string()?.visit(visitor)
    }

    /// A number whose first byte is at `pos`: a plain `u64` read here, anything else read by
    /// serde_json (`read`, the same hint) from the number's text.
    fn number<V: Visitor<'de>>(
        &mut self,
        visitor: V,
        read: impl FnOnce(&mut JsonDe<'de>, V) -> Result<V::Value, serde_json::Error>,
    ) -> Result<V::Value, Refused> {
        let bytes = self.bytes();
        let start = self.pos;
        let mut end = start;
        while let Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') = bytes.get(end) {
            end += 1;
        }
        self.pos = end;
        let token = &self.text[start..end];
        if let Some(n) = plain_u64(token) {
            return visitor.visit_u64(n);
        }
        let mut de = serde_json::Deserializer::from_str(token);
        let value = read(&mut de, visitor).map_err(|_| Refused)?;
        de.end().map_err(|_| Refused)?;
        Ok(value)
    }

    /// Before an object's entry or an array's element: `None` at the `close` byte, else the
    /// first byte of the item (the comma before it consumed, unless it is the `first`).
    fn next_item(&mut self, first: &mut bool, close: u8) -> Result<Option<u8>, Refused> {
        let mut next = self.peek()?;
        if next == close {
            return Ok(None);
        }
        if !std::mem::replace(first, false) {
            if next != b',' {
                return Err(Refused);
            }
            self.pos += 1;
            next = self.peek()?;
        }
        Ok(Some(next))
    }

    /// Refuses unless the next value starts with one of `starts`.
    fn expect(&mut self, starts: &[u8]) -> Result<(), Refused> {
        if starts.contains(&self.peek()?) {
            Ok(())
        } else {
            Err(Refused)
        }
    }
}

/// Numeric hints: a number read as serde_json reads it with the same hint; anything else
/// refused (serde_json answers it with a type error).
macro_rules! numbers {
    ($($method:ident)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
                match self.peek()? {
                    b'-' | b'0'..=b'9' => self.number(visitor, |de, v| de.$method(v)),
                    _ => Err(Refused),
                }
            }
        )*
    };
}

/// Hints serde_json answers with a type error unless the value starts with one of these bytes;
/// a value that does is read as by `deserialize_any`.
macro_rules! starting_with {
    ($($method:ident($($arg:ident: $ty:ty),*) $starts:expr;)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, $(_: $ty,)* visitor: V) -> Result<V::Value, Refused> {
                self.expect($starts)?;
                self.deserialize_any(visitor)
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for &mut Reader<'de> {
    type Error = Refused;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        match self.peek()? {
            b'{' => self.nested(b'}', |reader| visitor.visit_map(Items::new(reader))),
            b'[' => self.nested(b']', |reader| visitor.visit_seq(Items::new(reader))),
            b'"' => self.string()?.visit(visitor),
            b't' => {
                self.literal(b"true")?;
                visitor.visit_bool(true)
            }
            b'f' => {
                self.literal(b"false")?;
                visitor.visit_bool(false)
            }
            b'n' => {
                self.literal(b"null")?;
                visitor.visit_unit()
            }
            b'-' | b'0'..=b'9' => self.number(visitor, |de, v| de.deserialize_any(v)),
            _ => Err(Refused),
        }
    }

    numbers! {
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f64
    }

    /// As the issue-collecting decoder reads an `f32`: the number read as an `f64`, then
    /// rounded to `f32` (serde_json would round the number to `f32` once, which differs in rare
    /// ties); refused where that is infinite (beyond `f32::MAX`), which that decoder refuses.
    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        match self.peek()? {
            b'-' | b'0'..=b'9' => {
                let n: f32 = self.number(F32Visitor, |de, v| de.deserialize_f64(v))?;
                if n.is_infinite() {
                    return Err(Refused);
                }
                visitor.visit_f32(n)
            }
            _ => Err(Refused),
        }
    }

    starting_with! {
        deserialize_bool() b"tf";
        deserialize_unit() b"n";
        deserialize_unit_struct(name: &'static str) b"n";
        deserialize_seq() b"[";
        deserialize_tuple(len: usize) b"[";
        deserialize_tuple_struct(name: &'static str, len: usize) b"[";
        deserialize_map() b"{";
        deserialize_struct(name: &'static str, fields: &'static [&'static str]) b"{[";
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        self.string_value(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        self.string_value(visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        self.string_value(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        self.string_value(visitor)
    }

    /// Left to serde_json (which reads a string's bytes as they are, escapes and all).
    fn deserialize_bytes<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Refused> {
        Err(Refused)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Refused> {
        Err(Refused)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        if self.peek()? == b'n' {
            self.literal(b"null")?;
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Refused> {
        if name == RAW_VALUE_TOKEN {
            return Err(Refused);
        }
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Refused> {
        match self.peek()? {
            b'"' => match self.string()? {
                Str::Borrowed(s) => {
                    visitor.visit_enum(de::value::BorrowedStrDeserializer::<Refused>::new(s))
                }
                Str::Owned(s) => {
                    visitor.visit_enum(de::value::StringDeserializer::<Refused>::new(s))
                }
            },
            b'{' => self.nested(b'}', |reader| visitor.visit_enum(Variant { reader })),
            _ => Err(Refused),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        self.deserialize_any(visitor)
    }
}

/// An object's entries or an array's elements, read one by one.
struct Items<'a, 'de> {
    reader: &'a mut Reader<'de>,
    first: bool,
}

impl<'a, 'de> Items<'a, 'de> {
    fn new(reader: &'a mut Reader<'de>) -> Self {
        Items {
            reader,
            first: true,
        }
    }
}

impl<'de> de::MapAccess<'de> for Items<'_, 'de> {
    type Error = Refused;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Refused> {
        match self.reader.next_item(&mut self.first, b'}')? {
            None => Ok(None),
            Some(b'"') => {
                let key = seed.deserialize(Key(self.reader.string()?))?;
                self.reader.eat(b':')?;
                Ok(Some(key))
            }
            // A key that is not a string, or a trailing comma (`,}`).
            Some(_) => Err(Refused),
        }
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, Refused> {
        seed.deserialize(&mut *self.reader)
    }
}

impl<'de> de::SeqAccess<'de> for Items<'_, 'de> {
    type Error = Refused;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, Refused> {
        if self.reader.next_item(&mut self.first, b']')?.is_none() {
            return Ok(None);
        }
        // After a trailing comma (`,]`), no value starts with `]`: refused by the value's read.
        seed.deserialize(&mut *self.reader).map(Some)
    }
}

/// A map key: always a string. Hints that serde_json reads from a key's text (numbers, bools)
/// get the string, which their visitors refuse: such maps take serde_json's path.
struct Key<'de>(Str<'de>);

impl<'de> de::Deserializer<'de> for Key<'de> {
    type Error = Refused;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        self.0.visit(visitor)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

/// An enum written as an object of one entry, `{"Variant": value}`.
struct Variant<'a, 'de> {
    reader: &'a mut Reader<'de>,
}

impl<'de> de::EnumAccess<'de> for Variant<'_, 'de> {
    type Error = Refused;
    type Variant = Self;

    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Self), Refused> {
        if self.reader.peek()? != b'"' {
            return Err(Refused);
        }
        let variant = seed.deserialize(Key(self.reader.string()?))?;
        self.reader.eat(b':')?;
        Ok((variant, self))
    }
}

impl<'de> de::VariantAccess<'de> for Variant<'_, 'de> {
    type Error = Refused;

    fn unit_variant(self) -> Result<(), Refused> {
        <()>::deserialize(&mut *self.reader)
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, Refused> {
        seed.deserialize(&mut *self.reader)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, Refused> {
        self.reader.deserialize_seq(visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Refused> {
        self.reader.deserialize_struct("", fields, visitor)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::fmt::Debug;

    use serde::Deserialize;
    use serde_json::Value;

    use super::*;

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Strict {
        text: String,
        #[serde(default)]
        n: Option<u32>,
        #[serde(default)]
        list: Vec<i64>,
        #[serde(default)]
        ratio: f64,
        #[serde(default)]
        kind: Option<Kind>,
        #[serde(default)]
        flag: bool,
        #[serde(default)]
        letter: Option<char>,
        #[serde(default)]
        any: Option<Value>,
        #[serde(default)]
        small: Option<u8>,
        #[serde(default)]
        nested: Option<Box<Strict>>,
        #[serde(default)]
        map: BTreeMap<String, i32>,
        #[serde(default)]
        pair: Option<(u16, String)>,
        #[serde(default)]
        wrapped: Option<Wrapped>,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    enum Kind {
        Plain,
        One(String),
        Two(u8, u8),
        Named { x: i32 },
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Wrapped(u64);

    #[derive(Debug, PartialEq, Deserialize)]
    struct Borrowing<'a> {
        s: &'a str,
    }

    /// What serde_json accepts and refuses, on every kind of value, its corners included.
    fn corpus() -> Vec<String> {
        let long = "x".repeat(70);
        let mut texts: Vec<String> = [
            r#"{"text":"hi"}"#,
            r#" { "text" : "hi" , "n" : 7 } "#,
            "{\"text\":\"hi\"}\n",
            r#"{"text":"hi","n":null}"#,
            r#"{"text":"hi","n":-1}"#,
            r#"{"text":"hi","n":4294967296}"#,
            r#"{"text":"hi","n":1.0}"#,
            r#"{"text":"hi","n":01}"#,
            r#"{"text":"hi","n":1e2}"#,
            r#"{"text":"hi","small":255}"#,
            r#"{"text":"hi","small":256}"#,
            r#"{"text":"hi","list":[1,-2,3,-9223372036854775808]}"#,
            r#"{"text":"hi","list":[1,2,]}"#,
            r#"{"text":"hi","list":[]}"#,
            r#"{"text":"hi","list":[1 2]}"#,
            r#"{"text":"hi","ratio":1.5e-3}"#,
            r#"{"text":"hi","ratio":-0}"#,
            r#"{"text":"hi","ratio":-0.0}"#,
            r#"{"text":"hi","ratio":1e400}"#,
            r#"{"text":"hi","ratio":2.2250738585072011e-308}"#,
            r#"{"text":"hi","ratio":.5}"#,
            r#"{"text":"hi","ratio":5.}"#,
            r#"{"text":"hi","ratio":-}"#,
            r#"{"text":"hi","ratio":18446744073709551616}"#,
            r#"{"text":"hi","kind":"Plain"}"#,
            r#"{"text":"hi","kind":{"One":"a"}}"#,
            r#"{"text":"hi","kind":{"Two":[1,2]}}"#,
            r#"{"text":"hi","kind":{"Named":{"x":-4}}}"#,
            r#"{"text":"hi","kind":{"Plain":null}}"#,
            r#"{"text":"hi","kind":{"One":"a","Two":[1,2]}}"#,
            r#"{"text":"hi","kind":"Nope"}"#,
            r#"{"text":"hi","kind":{"On\u0065":"a"}}"#,
            r#"{"text":"hi","flag":true}"#,
            r#"{"text":"hi","flag":tru}"#,
            r#"{"text":"hi","flag":1}"#,
            r#"{"text":"hi","letter":"é"}"#,
            r#"{"text":"hi","letter":"ab"}"#,
            r#"{"text":"hi","any":{"a":[1,2.5,"x",null,true,{"b":{}}],"c":-3}}"#,
            r#"{"text":"hi","any":{"a":1,"a":2}}"#,
            r#"{"text":"hi","any":123456789012345678901234567890}"#,
            r#"{"text":"hi","nested":{"text":"deep","nested":{"text":"deeper"}}}"#,
            r#"{"text":"hi","map":{"a":1,"b":-2}}"#,
            r#"{"text":"hi","map":{"a":1,}}"#,
            r#"{"text":"hi","map":{1:1}}"#,
            r#"{"text":"hi","pair":[1,"x"]}"#,
            r#"{"text":"hi","pair":[1,"x",2]}"#,
            r#"{"text":"hi","wrapped":5}"#,
            r#"{"text":"hi","unknown":1}"#,
            r#"{"text":"hi","text":"again"}"#,
            r#"{"text":"hi"} x"#,
            r#"{"text":"hi"}}"#,
            r#"{"text":"hi""#,
            r#"{"text":"h"#,
            r#"{"text":"a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00"}"#,
            r#"{"text":"\ud800"}"#,
            r#"{"text":"\udc00\ud800"}"#,
            r#"{"text":"\u12"}"#,
            r#"{"text":"\x"}"#,
            "{\"text\":\"tab\there\"}",
            "{\"text\":\"nul\u{0}\"}",
            r#"{"text":1}"#,
            r#"{"text":null}"#,
            r#"["hi"]"#,
            r#"["hi",null,[],0.5,false]"#,
            r#"[]"#,
            r#""hi""#,
            r#"{}"#,
            r#"{,}"#,
            r#"{"text":"hi",}"#,
            r#"{"text" "hi"}"#,
            r#"{text:"hi"}"#,
            r#"null"#,
            "",
            "   ",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        texts.push(format!(r#"{{"text":"{long}"}}"#));
        texts.push(format!(r#"{{"text":"{long}\n{long}\"{long}"}}"#));
        texts.push(format!("{{\"text\":\"{long}\u{1f}{long}\"}}"));
        texts.push(format!(r#"{{"text":"{long}é{long}"}}"#));
        texts.push(format!(r#"{{"text":"{long}\"}}"#));
        texts.push(format!(r#"{{"text":"{long}\\"}}"#));
        // Nesting at and past serde_json's limit.
        for depth in [120, 127, 128, 129, 200] {
            let any = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
            texts.push(format!(r#"{{"text":"hi","any":{any}}}"#));
        }
        texts
    }

    /// What the reader accepts, serde_json accepts with the same value.
    fn agrees<'de, T: Deserialize<'de> + PartialEq + Debug>(text: &'de str) -> bool {
        let ours = from_str::<T>(text);
        let theirs = serde_json::from_str::<T>(text).ok();
        if let Some(ours) = &ours {
            assert_eq!(Some(ours), theirs.as_ref(), "{text}");
        }
        ours.is_some() || theirs.is_none()
    }

    #[test]
    fn accepts_only_what_serde_json_accepts_with_the_same_value() {
        let corpus = corpus();
        // What serde_json accepts that the reader leaves to it (see the module docs).
        let mut left = Vec::new();
        for text in &corpus {
            if !agrees::<Strict>(text) {
                left.push(format!("Strict {text}"));
            }
            if !agrees::<Value>(text) {
                left.push(format!("Value {text}"));
            }
            if !agrees::<Vec<Value>>(text) {
                left.push(format!("Vec {text}"));
            }
            if !agrees::<String>(text) {
                left.push(format!("String {text}"));
            }
            agrees::<Borrowing<'_>>(text);
        }
        // The corpus is not all refusals: most of its objects are read.
        let read = corpus.iter().filter(|t| from_str::<Strict>(t).is_some());
        assert!(read.count() >= 30);
        // Serde_json's keys read as numbers (a map of u32 keys, say) are the only ones left.
        assert_eq!(left, Vec::<String>::new());
        let keyed = r#"{"1":2}"#;
        assert!(agrees::<BTreeMap<String, u8>>(keyed));
        assert_eq!(from_str::<BTreeMap<u32, u8>>(keyed), None);
        assert!(serde_json::from_str::<BTreeMap<u32, u8>>(keyed).is_ok());
    }

    #[test]
    fn strings_without_escapes_are_borrowed_from_the_text() {
        let text = r#"{"s":"plain"}"#;
        assert_eq!(
            from_str::<Borrowing<'_>>(text),
            Some(Borrowing { s: "plain" })
        );
        // serde_json refuses to borrow an escaped string, and so does the reader.
        assert_eq!(from_str::<Borrowing<'_>>(r#"{"s":"a\nb"}"#), None);
    }

    #[test]
    fn raw_values_and_bytes_are_left_to_serde_json() {
        let text = r#"{"a":1}"#;
        assert!(from_str::<Box<serde_json::value::RawValue>>(text).is_none());
        assert!(from_str::<serde_bytes_like::Bytes>(r#""ab""#).is_none());
    }

    mod serde_bytes_like {
        /// A type that asks for bytes, as `serde_bytes` does.
        #[derive(Debug)]
        pub struct Bytes;

        impl<'de> serde::Deserialize<'de> for Bytes {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl serde::de::Visitor<'_> for V {
                    type Value = Bytes;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str("bytes")
                    }
                    fn visit_bytes<E>(self, _: &[u8]) -> Result<Bytes, E> {
                        Ok(Bytes)
                    }
                    fn visit_str<E>(self, _: &str) -> Result<Bytes, E> {
                        Ok(Bytes)
                    }
                }
                d.deserialize_bytes(V)
            }
        }
    }

    #[test]
    fn plain_integers_are_read_here_and_the_rest_left_to_serde_json() {
        assert_eq!(plain_u64("0"), Some(0));
        assert_eq!(
            plain_u64("1234567890123456789"),
            Some(1_234_567_890_123_456_789)
        );
        for token in ["", "01", "-1", "1.0", "1e3", "12345678901234567890", "1-"] {
            assert_eq!(plain_u64(token), None, "{token:?}");
        }
    }
}
