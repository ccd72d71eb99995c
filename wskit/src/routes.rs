//! The table a server routes inbound frames by: wire type -> route, looked up once per frame.
//!
//! The standard `HashMap` hashes with SipHash, keyed per map so that a peer cannot choose keys
//! that collide; on a short wire type that costs more than the rest of the lookup. A route
//! table needs none of it: it is built once, from the protocols' declarations, and never grows
//! afterwards, so a peer's wire types are only ever looked up, and a lookup probes at most the
//! table's few entries whatever their hashes. Here a word-at-a-time multiplicative hash does
//! the job.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Wire type -> `V`, built once when a server is built, then only read.
pub(crate) type RouteTable<V> = HashMap<&'static str, V, BuildHasherDefault<WireTypeHasher>>;

/// The hasher of [`RouteTable`]: eight bytes at a time, rotate, xor, multiply (as rustc's
/// FxHash does). Not for tables a peer can add keys to.
#[derive(Default)]
pub(crate) struct WireTypeHasher(u64);

const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl WireTypeHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(K);
    }
}

impl Hasher for WireTypeHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(last));
        }
    }

    #[inline]
    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }

    #[inline]
    fn finish(&self) -> u64 {
        // hashbrown takes the bucket from the low bits and a tag from the top seven: fold the
        // well-mixed high half into the low one.
        self.0 ^ (self.0 >> 32)
    }
}

#[cfg(test)]
mod tests {
    use super::RouteTable;

    #[test]
    fn finds_every_type_and_nothing_else() {
        let types: Vec<&'static str> = (0..500)
            .map(|i| &*format!("TYPE_{i}").leak())
            .chain([
                "A",
                "AB",
                "ABCDEFGH",
                "ABCDEFGHI",
                "",
                "GET_USER",
                "GET_USERS",
            ])
            .collect();
        let table: RouteTable<usize> = types.iter().enumerate().map(|(i, &t)| (t, i)).collect();
        assert_eq!(table.len(), types.len());
        for (i, t) in types.iter().enumerate() {
            assert_eq!(table.get(t), Some(&i), "{t}");
        }
        for missing in [
            "TYPE_500",
            "TYPE_",
            "ABCDEFG",
            "ABCDEFGH\0",
            "a",
            "GET_USER ",
        ] {
            assert_eq!(table.get(missing), None, "{missing}");
        }
    }
}
