//! serde helpers that read exactly the wire form. serde's derive alone also reads a struct from
//! its array form (`["x", 5]`) and a unit variant from `{"red": null}`; the wire allows neither.
//! Generated types, the fast decoding paths and the correlationId peek read through these.

use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};

/// A derived struct read only from a JSON object (see [`deserialize_object`]).
pub(crate) struct ObjectOnly<T>(pub T);

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for ObjectOnly<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_object(d).map(ObjectOnly)
    }
}

/// Deserializes a derived struct from a JSON object only. serde's derive also reads a struct
/// from its array form (`["x", 5]`), which the wire does not allow; generated types read
/// themselves through this.
pub fn deserialize_object<'de, D, T>(deserializer: D) -> Result<T, D::Error>
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
