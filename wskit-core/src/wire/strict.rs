//! serde helpers that read exactly the wire form. serde's derive alone also reads a struct from
//! its array form (`["x", 5]`) and a unit variant from `{"red": null}`; the wire allows neither.
//! Generated types, the fast decoding paths and the correlationId peek read through these.
//!
//! A generated struct's `Deserialize` is a visitor of its own whose `visit_map` reads each key
//! with [`next_field`] and each value with [`field_value`], and takes each required field with
//! [`required`]: serde's derive, less what the wire does not allow (the array form) and with
//! the key lookup shared here instead of generated per struct (a 100-message protocol took
//! about 2 of its crate's 4 seconds of compile time to check serde's derive; this form, a
//! fraction of it). Errors are serde's own (`unknown field`, `duplicate field`, `missing field`).

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};

/// A derived struct read only from a JSON object (see [`deserialize_object`]).
pub(crate) struct ObjectOnly<T>(pub T);

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for ObjectOnly<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_object(d).map(ObjectOnly)
    }
}

/// Deserializes a derived struct from a JSON object only. serde's derive also reads a struct
/// from its array form (`["x", 5]`), which the wire does not allow; the standard meta is read
/// through this.
pub(crate) fn deserialize_object<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    struct ObjectVisitor<T>(std::marker::PhantomData<T>);
    impl<'de, T: serde::Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
            T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
        }
    }
    deserializer.deserialize_map(ObjectVisitor(std::marker::PhantomData))
}

/// The next key of a struct's object, as the index of its field in `fields` (the keys on the
/// wire, in declared order); `None` after the last key. Any other key is an `unknown field`
/// error, as with serde's `deny_unknown_fields`.
///
/// Not public API: `protocol!` calls it (through `wskit::__private`).
///
/// ```
/// use serde::de::{Deserializer, MapAccess, Visitor};
/// use wskit::__private::{field_value, next_field, required};
///
/// struct Point { x: i32, label: Option<String> }
/// struct PointVisitor;
/// impl<'de> Visitor<'de> for PointVisitor {
///     type Value = Point;
///     fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         f.write_str("an object")
///     }
///     fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Point, A::Error> {
///         let (mut x, mut label) = (None, None);
///         while let Some(i) = next_field(&mut map, &["x", "label"])? {
///             match i {
///                 0 => field_value(&mut map, &mut x, "x")?,
///                 _ => field_value(&mut map, &mut label, "label")?,
///             }
///         }
///         Ok(Point { x: required(x, "x")?, label: label.unwrap_or(None) })
///     }
/// }
/// let read = |text| serde_json::Deserializer::from_str(text).deserialize_map(PointVisitor);
/// assert_eq!(read(r#"{"x":1,"label":"a"}"#).unwrap().label.as_deref(), Some("a"));
/// let err = |text| read(text).err().unwrap().to_string();
/// assert!(err(r#"{"x":1,"y":2}"#).starts_with("unknown field `y`, expected `x` or `label`"));
/// assert!(err(r#"{"x":1,"x":2}"#).starts_with("duplicate field `x`"));
/// assert!(err(r#"{"label":null}"#).starts_with("missing field `x`"));
/// ```
#[inline]
pub fn next_field<'de, A: MapAccess<'de>>(
    map: &mut A,
    fields: &'static [&'static str],
) -> Result<Option<usize>, A::Error> {
    map.next_key_seed(FieldKey(fields))
}

/// Reads the value of the field `name` (whose key [`next_field`] just read) into `slot`: a
/// `duplicate field` error when it holds one already.
///
/// Not public API: `protocol!` calls it (through `wskit::__private`); see [`next_field`].
#[inline]
pub fn field_value<'de, A: MapAccess<'de>, T: de::Deserialize<'de>>(
    map: &mut A,
    slot: &mut Option<T>,
    name: &'static str,
) -> Result<(), A::Error> {
    if slot.is_some() {
        return Err(de::Error::duplicate_field(name));
    }
    *slot = Some(map.next_value()?);
    Ok(())
}

/// The value of a required field: a `missing field` error when its key was absent.
///
/// Not public API: `protocol!` calls it (through `wskit::__private`); see [`next_field`].
#[inline]
pub fn required<T, E: de::Error>(slot: Option<T>, name: &'static str) -> Result<T, E> {
    match slot {
        Some(value) => Ok(value),
        None => Err(E::missing_field(name)),
    }
}

/// A struct's key read as the index of its field (see [`next_field`]).
struct FieldKey(&'static [&'static str]);

impl<'de> DeserializeSeed<'de> for FieldKey {
    type Value = usize;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl Visitor<'_> for FieldKey {
    type Value = usize;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field's key")
    }
    fn visit_str<E: de::Error>(self, key: &str) -> Result<usize, E> {
        self.0
            .iter()
            .position(|f| *f == key)
            .ok_or_else(|| E::unknown_field(key, self.0))
    }
    fn visit_bytes<E: de::Error>(self, key: &[u8]) -> Result<usize, E> {
        self.0
            .iter()
            .position(|f| f.as_bytes() == key)
            .ok_or_else(|| E::unknown_field(&String::from_utf8_lossy(key), self.0))
    }
}

/// Deserializes a unit-only enum from a JSON string: the index of `s` in `wires`. serde's derive
/// also reads `{"red": null}`, which the wire does not allow; generated enums read themselves
/// through this.
pub fn deserialize_unit_variant<'de, D: Deserializer<'de>>(
    deserializer: D,
    wires: &'static [&'static str],
) -> Result<usize, D::Error> {
    struct VariantVisitor(&'static [&'static str]);
    impl Visitor<'_> for VariantVisitor {
        type Value = usize;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("one of the enum's strings")
        }
        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<usize, E> {
            self.0
                .iter()
                .position(|w| *w == s)
                .ok_or_else(|| E::unknown_variant(s, self.0))
        }
    }
    deserializer.deserialize_str(VariantVisitor(wires))
}
