//! Correlation ids: version-4 UUIDs (PROTOCOL.md section 7), made without a system call each and
//! kept as numbers (the pending table's keys), written and read in their one text form.

use std::sync::atomic::{AtomicU64, Ordering};

/// The bits a version-4 UUID leaves free in its low half (its top two are the variant, `10`).
const LOW_FREE: u64 = (1 << 62) - 1;

/// One client's correlation ids: a random UUID from the system once, then that UUID with a
/// counter, scrambled by a bijection of 62 bits, in its low bits. Distinct for 2^62 requests,
/// random to look at, a version-4 UUID in form. Only the low half varies: it is the id's key
/// (the pending table's), and reading an id back parses only that half and compares the rest.
pub(crate) struct IdGen {
    base: u128,
    /// The text of the high half, the same in every id: `xxxxxxxx-xxxx-4xxx-`.
    prefix: [u8; PREFIX],
    next: AtomicU64,
}

/// The length of an id's text that [`IdGen::prefix`] holds.
const PREFIX: usize = 19;

impl IdGen {
    pub fn new() -> Self {
        let base = uuid::Uuid::new_v4().as_u128();
        let mut text: IdText = [0; 36];
        uuid::Uuid::from_u128(base)
            .hyphenated()
            .encode_lower(&mut text);
        let mut prefix = [0; PREFIX];
        prefix.copy_from_slice(&text[..PREFIX]);
        IdGen {
            base,
            prefix,
            next: AtomicU64::new(0),
        }
    }

    /// The key of the next id.
    pub fn next(&self) -> u64 {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        self.base as u64 ^ scramble(n & LOW_FREE)
    }

    /// Whether the id of `key` is one this client made already (answered, abandoned or still
    /// pending): the counter read back from it, without remembering any.
    pub fn issued(&self, key: u64) -> bool {
        let low = key ^ self.base as u64;
        low <= LOW_FREE && unscramble(low) < self.next.load(Ordering::Relaxed) & LOW_FREE
    }

    /// Writes the id of `key` as the client writes it in `meta.correlationId`.
    pub fn write<'b>(&self, key: u64, buf: &'b mut IdText) -> &'b str {
        let id = self.base >> 64 << 64 | u128::from(key);
        uuid::Uuid::from_u128(id).hyphenated().encode_lower(buf)
    }

    /// The key of the id written as `text`, when it is exactly in the client's form (lowercase,
    /// hyphenated) and one of this client's: any other text is not.
    pub fn parse(&self, text: &str) -> Option<u64> {
        let b: &[u8; 36] = text.as_bytes().try_into().ok()?;
        if b[..PREFIX] != self.prefix || b[23] != b'-' {
            return None;
        }
        let mut key: u64 = 0;
        // Any byte that is no lowercase hex digit sets the high bit.
        let mut bad = 0u8;
        // The 16 digits of the low half gathered first: one plain loop over them is about half
        // the instructions of the loop over the two runs chained.
        let mut digits = [0u8; 16];
        digits[..4].copy_from_slice(&b[PREFIX..23]);
        digits[4..].copy_from_slice(&b[24..]);
        for c in digits {
            let digit = HEX[usize::from(c)];
            bad |= digit;
            key = key << 4 | u64::from(digit & 0x0f);
        }
        (bad & 0x80 == 0).then_some(key)
    }
}

const K1: u64 = 0x9E37_79B9_7F4A_7C15;
const K2: u64 = 0xBF58_476D_1CE4_E5B9;

/// A bijection of the 62-bit numbers (odd multipliers and right xor-shifts are each one), so
/// distinct counters give distinct ids.
fn scramble(mut x: u64) -> u64 {
    x = x.wrapping_mul(K1) & LOW_FREE;
    x ^= x >> 29;
    x = x.wrapping_mul(K2) & LOW_FREE;
    x ^ (x >> 32)
}

/// The inverse of [`scramble`].
fn unscramble(mut x: u64) -> u64 {
    x ^= x >> 32;
    x = x.wrapping_mul(inverse(K2)) & LOW_FREE;
    x ^= (x >> 29) ^ (x >> 58);
    x.wrapping_mul(inverse(K1)) & LOW_FREE
}

/// The inverse of odd `k` modulo 2^64 (Newton's iteration doubles the correct bits).
const fn inverse(k: u64) -> u64 {
    let mut inv = k;
    let mut i = 0;
    while i < 5 {
        inv = inv.wrapping_mul(2u64.wrapping_sub(k.wrapping_mul(inv)));
        i += 1;
    }
    inv
}

/// The text of an id: 36 bytes, lowercase, hyphenated.
pub(crate) type IdText = [u8; uuid::fmt::Hyphenated::LENGTH];

/// The value of each lowercase hex digit; 0x80 for every other byte.
const HEX: [u8; 256] = {
    let mut table = [0x80u8; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

/// The pending table's hasher: keys are random already, so one multiply spreads
/// them (the ids are this client's own: no peer chooses the keys).
#[derive(Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, key: u64) {
        self.0 = key.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// [`IdHasher`] for maps and sets keyed by id.
pub(crate) type IdBuild = std::hash::BuildHasherDefault<IdHasher>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_distinct_v4_uuids_that_read_back() {
        let ids = IdGen::new();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..10_000 {
            let key = ids.next();
            assert!(seen.insert(key));
            let mut buf = [0; 36];
            let text = ids.write(key, &mut buf).to_owned();
            let uuid = uuid::Uuid::parse_str(&text).unwrap();
            assert_eq!(uuid.get_version_num(), 4, "{text}");
            assert_eq!(uuid.get_variant(), uuid::Variant::RFC4122, "{text}");
            assert_eq!(ids.parse(&text), Some(key));
        }
        // Issued ids are known; the next one, and another client's, are not.
        assert!(seen.iter().all(|&key| ids.issued(key)));
        let upcoming = ids.base as u64 ^ scramble(ids.next.load(Ordering::Relaxed));
        assert!(!ids.issued(upcoming));
        let other = IdGen::new();
        let theirs = other.next();
        let mut buf = [0; 36];
        let text = other.write(theirs, &mut buf).to_owned();
        assert!(other.issued(theirs));
        assert_eq!(ids.parse(&text), None);
        assert!(!ids.issued(ids.base as u64 ^ 1 << 63));
        // Other spellings of a UUID are not this client's ids.
        let text = ids.write(ids.next(), &mut buf).to_owned();
        assert!(ids.parse(&text).is_some());
        assert_eq!(ids.parse(&text.to_uppercase()), None);
        assert_eq!(ids.parse(&text.replace('-', "")), None);
        assert_eq!(ids.parse(&format!("{{{text}}}")), None);
        assert_eq!(ids.parse(&text.replacen('-', "0", 4)), None);
        let mut bad = text.clone().into_bytes();
        bad[30] = b'g';
        assert_eq!(ids.parse(std::str::from_utf8(&bad).unwrap()), None);
        assert_eq!(ids.parse("other"), None);
    }

    #[test]
    fn scramble_is_a_bijection_on_small_ranges() {
        let mut seen = std::collections::HashSet::new();
        for n in (0..100_000u64).chain([LOW_FREE, LOW_FREE - 1, 1 << 61]) {
            let s = scramble(n);
            assert!(s <= LOW_FREE);
            assert!(seen.insert(s));
            assert_eq!(unscramble(s), n);
        }
    }
}
