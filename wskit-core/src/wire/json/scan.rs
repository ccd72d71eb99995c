//! Finding the bytes a JSON string cannot hold as they are (a quote, a backslash, a control
//! character), many at a time: for the writer, whether a string has any; for the reader, where
//! a string's plain run ends.

/// 0 for a byte a JSON string cannot hold as it is, more for any other: written with
/// operations that have vector forms (exclusive or, saturating subtraction, minimum), so that a
/// chunk of bytes is checked many at a time.
#[inline(always)]
fn stop(b: u8) -> u8 {
    (b ^ b'"').min(b ^ b'\\').min(b.saturating_sub(0x1f))
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

/// Whether any byte of `bytes` needs escaping, every byte looked at (the loop is vectorized;
/// the cheapest form for the short strings most frames hold).
#[inline]
fn any_needs_escape(bytes: &[u8]) -> bool {
    bytes.iter().fold(false, |found, &b| {
        found | (b < 0x20) | (b == b'"') | (b == b'\\')
    })
}

/// Whether any byte of `bytes` is one a JSON string cannot hold as it is; a long string 32
/// bytes at a time.
#[inline]
pub(super) fn needs_escape(bytes: &[u8]) -> bool {
    if bytes.len() < 64 {
        return any_needs_escape(bytes);
    }
    let (chunks, rest) = bytes.as_chunks::<32>();
    chunks.iter().any(chunk_needs_escape) || any_needs_escape(rest)
}

/// The index of the first byte from `i` on that ends a string's plain run (a quote, a
/// backslash or a control character), or where the bytes end: whole chunks of 32 bytes first,
/// each checked in a few vector instructions, then single bytes.
#[inline]
pub(super) fn plain_run_end(bytes: &[u8], mut i: usize) -> usize {
    while let Some(chunk) = bytes.get(i..).and_then(<[u8]>::first_chunk::<32>) {
        if chunk_needs_escape(chunk) {
            break;
        }
        i += 32;
    }
    while let Some(&b) = bytes.get(i) {
        if b == b'"' || b == b'\\' || b < 0x20 {
            break;
        }
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bytes_a_string_cannot_hold_are_found_wherever_they_are() {
        for b in 0..=255u8 {
            let want = b < 0x20 || b == b'"' || b == b'\\';
            assert_eq!(stop(b) == 0, want, "{b:#x}");
            for len in [1, 16, 31, 32, 33, 63, 64, 70, 100] {
                for at in [0, len / 2, len - 1] {
                    let mut bytes = vec![b'a'; len];
                    bytes[at] = b;
                    assert_eq!(needs_escape(&bytes), want, "{b:#x} at {at} of {len}");
                    let end = if want { at } else { len };
                    assert_eq!(plain_run_end(&bytes, 0), end, "{b:#x} at {at} of {len}");
                }
            }
        }
        assert!(!needs_escape(b""));
        assert_eq!(plain_run_end(b"", 0), 0);
        assert_eq!(plain_run_end(b"ab", 5), 5);
    }
}
