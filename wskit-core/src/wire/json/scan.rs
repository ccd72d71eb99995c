//! Finding the bytes a JSON string cannot hold as they are (a quote, a backslash, a control
//! character), many at a time: for the writer, whether a string has any; for the reader, where
//! a string's plain run ends. Long strings go 32 bytes at a time (vector instructions), short
//! ones and what is left of long ones 8 bytes at a time in a word.

/// 0 for a byte a JSON string cannot hold as it is, more for any other: written with
/// operations that have vector forms (exclusive or, saturating subtraction, minimum), so that a
/// chunk of bytes is checked many at a time.
#[inline(always)]
const fn stop(b: u8) -> u8 {
    let quote = b ^ b'"';
    let backslash = b ^ b'\\';
    let control = b.saturating_sub(0x1f);
    let min = if quote < backslash { quote } else { backslash };
    if min < control { min } else { control }
}

/// Whether any byte of a 32-byte chunk is one a JSON string cannot hold as it is: 16 lanes of
/// two bytes each, then one comparison of the lanes with 0 (about 20 instructions in all).
#[inline]
fn chunk_needs_escape(chunk: &[u8; 32]) -> bool {
    let mut lanes = [0u8; 16];
    for (j, lane) in lanes.iter_mut().enumerate() {
        *lane = stop(chunk[j]).min(stop(chunk[j + 16]));
    }
    lanes.iter().fold(false, |found, &lane| found | (lane == 0))
}

/// Each byte of `w`'s 8 (little-endian: the first in memory is the lowest) that a JSON string
/// cannot hold as it is marked by its high bit; a marked byte may be followed by falsely
/// marked ones, never preceded, so the lowest mark is exact (the classic "has a zero byte" and
/// "has a byte less than n" tests of a word, for the quote, the backslash and 0x00-0x1f).
#[inline(always)]
fn word_stops(w: u64) -> u64 {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGH: u64 = ONES << 7;
    let quote = w ^ (ONES * u64::from(b'"'));
    let backslash = w ^ (ONES * u64::from(b'\\'));
    let zero = |x: u64| x.wrapping_sub(ONES) & !x;
    (zero(quote) | zero(backslash) | (w.wrapping_sub(ONES * 0x20) & !w)) & HIGH
}

/// The index in its word of the first byte [`word_stops`] marked (`stops` not 0).
#[inline(always)]
fn first_marked(stops: u64) -> usize {
    (stops.trailing_zeros() / 8) as usize
}

/// The 8 bytes at `at` as a little-endian word.
#[inline(always)]
fn word(bytes: &[u8], at: usize) -> u64 {
    let mut w = [0; 8];
    w.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(w)
}

/// Whether no byte of `s` needs escaping, in a `const` context (one byte at a time).
pub(crate) const fn is_plain(s: &str) -> bool {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if stop(bytes[i]) == 0 {
            return false;
        }
        i += 1;
    }
    true
}

/// Copies `bytes` to the end of `out` in whole 32-byte chunks for as long as no byte needs
/// escaping, checking and copying each chunk in one pass; returns how many bytes it copied (a
/// multiple of 32). The caller makes the room and writes the rest.
///
/// Not `memcpy` after a check: a long plain string is read once, and `memcpy`'s `rep movsb`
/// is many times slower on some processors when the destination lies a few bytes past the
/// source in its page (4K aliasing), which is where a reply's copy of a string of its request
/// tends to land (the 16 KiB rpc of `bench/run.sh` spent 22% of the server's CPU time in it).
/// Not inlined: for long strings only, it would make short strings' writes slower.
#[inline(never)]
pub(super) fn copy_plain_chunks(out: &mut Vec<u8>, bytes: &[u8]) -> usize {
    let (chunks, _) = bytes.as_chunks::<32>();
    let mut copied = 0;
    for chunk in chunks {
        if chunk_needs_escape(chunk) {
            break;
        }
        out.extend_from_slice(chunk);
        copied += 32;
    }
    copied
}

/// Whether any byte of `bytes` needs escaping: 32-byte chunks, then 8-byte words, the last of
/// either overlapping the one before it rather than going byte by byte.
#[inline]
pub(super) fn needs_escape(bytes: &[u8]) -> bool {
    let len = bytes.len();
    if len >= 32 {
        let (chunks, _) = bytes.as_chunks::<32>();
        let last = bytes.last_chunk::<32>().is_some_and(chunk_needs_escape);
        return last || chunks.iter().any(chunk_needs_escape);
    }
    if len >= 8 {
        let mut i = 0;
        while i + 8 < len {
            if word_stops(word(bytes, i)) != 0 {
                return true;
            }
            i += 8;
        }
        return word_stops(word(bytes, len - 8)) != 0;
    }
    if len >= 4 {
        let half = |at: usize| {
            u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        let w = u64::from(half(0)) | u64::from(half(len - 4)) << 32;
        return word_stops(w) != 0;
    }
    bytes.iter().any(|&b| stop(b) == 0)
}

/// The index of the first byte from `i` on that ends a string's plain run (a quote, a
/// backslash or a control character), or where the bytes end: one 8-byte word here, inlined
/// (most keys and short values end in it), then [`plain_run_end_after`].
#[inline]
pub(super) fn plain_run_end(bytes: &[u8], i: usize) -> usize {
    if let Some(first) = bytes.get(i..).and_then(<[u8]>::first_chunk::<8>) {
        let stops = word_stops(u64::from_le_bytes(*first));
        if stops != 0 {
            return i + first_marked(stops);
        }
        return plain_run_end_after(bytes, i + 8);
    }
    plain_run_end_after(bytes, i)
}

/// [`plain_run_end`] past its first word: chunks of 32 bytes, each checked in a few vector
/// instructions, then 8-byte words, the last one overlapping.
#[inline(never)]
fn plain_run_end_after(bytes: &[u8], mut i: usize) -> usize {
    let len = bytes.len();
    while let Some(chunk) = bytes.get(i..).and_then(<[u8]>::first_chunk::<32>) {
        if chunk_needs_escape(chunk) {
            break;
        }
        i += 32;
    }
    while i + 8 <= len {
        let stops = word_stops(word(bytes, i));
        if stops != 0 {
            return i + first_marked(stops);
        }
        i += 8;
    }
    if i >= len {
        return i;
    }
    if len >= 8 {
        // The last 8 bytes, of which those before `i` (already passed) are shifted out.
        let start = len - 8;
        let stops = word_stops(word(bytes, start)) >> ((i - start) * 8);
        return if stops == 0 {
            len
        } else {
            i + first_marked(stops)
        };
    }
    while let Some(&b) = bytes.get(i) {
        if stop(b) == 0 {
            break;
        }
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first byte from `from` on that ends a plain run, one byte at a time.
    fn naive_run_end(bytes: &[u8], from: usize) -> usize {
        (from..bytes.len())
            .find(|&i| stop(bytes[i]) == 0)
            .unwrap_or(bytes.len().max(from))
    }

    #[test]
    fn the_bytes_a_string_cannot_hold_are_found_wherever_they_are() {
        for b in 0..=255u8 {
            let want = b < 0x20 || b == b'"' || b == b'\\';
            assert_eq!(stop(b) == 0, want, "{b:#x}");
            // Every length through two chunks and a word (each path of both scans, and each
            // overlap), the byte first, in the middle and last, the run's scan from starts
            // about it (every place: the next test).
            for len in 1..=72 {
                for at in [0, len / 2, len - 1] {
                    let mut bytes = vec![b'a'; len];
                    bytes[at] = b;
                    assert_eq!(needs_escape(&bytes), want, "{b:#x} at {at} of {len}");
                    if let Ok(s) = std::str::from_utf8(&bytes) {
                        assert_eq!(is_plain(s), !want, "{b:#x} at {at} of {len}");
                    }
                    let near = [
                        0,
                        1,
                        7,
                        8,
                        9,
                        31,
                        32,
                        33,
                        at.saturating_sub(1),
                        at,
                        at + 1,
                        len,
                    ];
                    for from in near.into_iter().filter(|&from| from <= len) {
                        let end = plain_run_end(&bytes, from);
                        assert_eq!(
                            end,
                            naive_run_end(&bytes, from),
                            "{b:#x} at {at} of {len} from {from}"
                        );
                    }
                }
            }
        }
        assert!(!needs_escape(b""));
        assert_eq!(plain_run_end(b"", 0), 0);
        assert_eq!(plain_run_end(b"ab", 5), 5);
    }

    /// A byte that needs escaping ahead of plain bytes whose word arithmetic borrows (0x80 and
    /// up, 0x20, 0x21): the first one is found, not a neighbour.
    #[test]
    fn the_first_stop_is_found_among_bytes_that_borrow() {
        for neighbour in [0x20u8, 0x21, 0x23, 0x5b, 0x5d, 0x7f, 0x80, 0x9f, 0xa0, 0xff] {
            for stop_byte in [0u8, 0x1f, b'"', b'\\'] {
                for len in 1..=72 {
                    for at in 0..len {
                        let mut bytes = vec![neighbour; len];
                        bytes[at] = stop_byte;
                        assert!(needs_escape(&bytes));
                        assert_eq!(
                            plain_run_end(&bytes, 0),
                            at,
                            "{stop_byte:#x} in {neighbour:#x}s at {at} of {len}"
                        );
                    }
                    assert!(!needs_escape(&vec![neighbour; len]));
                }
            }
        }
    }
}
