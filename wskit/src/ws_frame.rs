//! A WebSocket frame's header (RFC 6455 5.2) and masking (5.3), as the server's and the client's
//! own frame readers and writers read and write them; each decides which frames it handles
//! itself and hands the rest to tungstenite.

/// A frame header read at the start of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FrameHead {
    /// The first byte: FIN, the reserved bits, the opcode.
    pub first: u8,
    /// The header's length, the masking key included.
    pub head: usize,
    /// The payload's length, as the header says.
    pub len: u64,
    /// The masking key, when the frame is masked.
    pub key: Option<[u8; 4]>,
}

impl FrameHead {
    /// Reads the header at the start of `b`; `None` while it is not all there. (One match on
    /// the length byte gives both the header's size and the payload's length: on every frame's
    /// path, `header_size` and `payload_len` in one.)
    #[inline]
    pub fn read(b: &[u8]) -> Option<FrameHead> {
        let (&first, &second) = (b.first()?, b.get(1)?);
        let extra = match second & 0x7f {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        let masked = second & 0x80 != 0;
        let head = 2 + extra + if masked { 4 } else { 0 };
        if b.len() < head {
            return None;
        }
        let len = match extra {
            0 => u64::from(second & 0x7f),
            2 => u64::from(u16::from_be_bytes([b[2], b[3]])),
            _ => {
                let mut be = [0u8; 8];
                be.copy_from_slice(&b[2..10]);
                u64::from_be_bytes(be)
            }
        };
        let key = masked.then(|| {
            let mut key = [0u8; 4];
            key.copy_from_slice(&b[head - 4..head]);
            key
        });
        Some(FrameHead {
            first,
            head,
            len,
            key,
        })
    }

    /// The payload's length when it is at most `max` (and `head` plus it cannot overflow).
    #[inline]
    pub fn len_within(&self, max: usize) -> Option<usize> {
        usize::try_from(self.len)
            .ok()
            .filter(|&len| len <= max.min(usize::MAX / 2))
    }

    /// The frame's length, header included (`usize::MAX` when it does not fit).
    pub fn total(&self) -> usize {
        usize::try_from(self.len)
            .ok()
            .and_then(|len| len.checked_add(self.head))
            .unwrap_or(usize::MAX)
    }
}

/// The size of a header that starts with `head`, the masking key included (2 until its second
/// byte is known): what a reader gathering a header across reads waits for.
#[cfg(feature = "server")]
#[inline]
pub(crate) fn header_size(head: &[u8]) -> usize {
    let Some(&second) = head.get(1) else {
        return 2;
    };
    let extra = match second & 0x7f {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    let key = if second & 0x80 != 0 { 4 } else { 0 };
    2 + extra + key
}

/// The payload length a whole header (at least [`header_size`] bytes) says.
#[cfg(feature = "server")]
#[inline]
pub(crate) fn payload_len(head: &[u8]) -> u64 {
    match head[1] & 0x7f {
        126 => u64::from(u16::from_be_bytes([head[2], head[3]])),
        127 => {
            let mut be = [0u8; 8];
            be.copy_from_slice(&head[2..10]);
            u64::from_be_bytes(be)
        }
        n => u64::from(n),
    }
}

/// The header of an unmasked frame of `len` payload bytes whose first byte is `first` (final
/// bit and opcode; RFC 6455 5.2), and its length.
pub(crate) fn frame_header(first: u8, len: usize) -> ([u8; 10], usize) {
    let mut h = [0u8; 10];
    h[0] = first;
    if len < 126 {
        h[1] = len as u8;
        (h, 2)
    } else if let Ok(len) = u16::try_from(len) {
        h[1] = 126;
        h[2..4].copy_from_slice(&len.to_be_bytes());
        (h, 4)
    } else {
        h[1] = 127;
        h[2..10].copy_from_slice(&(len as u64).to_be_bytes());
        (h, 10)
    }
}

/// Unmasks 8 bytes with the key repeated over them, ORing the plain bytes into `high`.
#[inline(always)]
fn xor_word(word: &mut [u8; 8], key8: u64, high: &mut u64) {
    let plain = u64::from_ne_bytes(*word) ^ key8;
    *high |= plain;
    *word = plain.to_ne_bytes();
}

/// Unmasks a client frame's payload in place (RFC 6455 5.3), or masks one (the same exclusive
/// or: the client's writer): 32 bytes at a time (an exclusive
/// or with the key repeated, in vector registers), then 8 at a time, then the last few.
/// Returns whether the payload is ASCII, found on the way (nearly every frame is: JSON escapes
/// what it does not write as is) by ORing the plain bytes together, which spares text frames
/// the UTF-8 check, a second pass over their bytes.
///
/// Not inlined: inside the read loop the compiler no longer keeps the chunks in vector
/// registers.
#[inline(never)]
pub(crate) fn unmask(payload: &mut [u8], key: [u8; 4]) -> bool {
    let wide = wide_key(key);
    let mut high = [0u8; 32];
    let (chunks, rest) = payload.as_chunks_mut::<32>();
    for chunk in chunks {
        *chunk = unmask_chunk(chunk, &wide, &mut high);
    }
    unmask_rest(rest, key) && all_ascii(&high)
}

/// A masking key repeated over 32 bytes.
#[inline(always)]
fn wide_key(key: [u8; 4]) -> [u8; 32] {
    let mut wide = [0u8; 32];
    for (b, k) in wide.iter_mut().zip(key.iter().cycle()) {
        *b = *k;
    }
    wide
}

/// 32 masked bytes unmasked with the key repeated over them (`wide`), ORed into `high` too.
#[inline(always)]
fn unmask_chunk(chunk: &[u8; 32], wide: &[u8; 32], high: &mut [u8; 32]) -> [u8; 32] {
    let mut plain = [0u8; 32];
    for ((p, c), k) in plain.iter_mut().zip(chunk).zip(wide) {
        *p = c ^ k;
    }
    for (h, p) in high.iter_mut().zip(&plain) {
        *h |= p;
    }
    plain
}

/// Whether no byte ORed into `high` had its high bit set.
#[inline(always)]
fn all_ascii(high: &[u8; 32]) -> bool {
    high.iter().fold(0, |all, &h| all | h) < 0x80
}

/// [`unmask`] of the fewer than 32 bytes after its chunks, which start over with the key's
/// first byte: 8 at a time, then the last few.
#[inline(always)]
fn unmask_rest(rest: &mut [u8], key: [u8; 4]) -> bool {
    let key4 = u64::from(u32::from_ne_bytes(key));
    let key8 = key4 | key4 << 32;
    let mut high8 = 0;
    let (words, last) = rest.as_chunks_mut::<8>();
    for word in words {
        xor_word(word, key8, &mut high8);
    }
    let mut more = high8.to_ne_bytes().iter().fold(0, |all, &b| all | b);
    for (b, k) in last.iter_mut().zip(key.iter().cycle()) {
        *b ^= k;
        more |= *b;
    }
    more < 0x80
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unmasking_xors_every_byte_with_its_key_byte_whatever_the_length() {
        let key = [0x12u8, 0x34, 0x56, 0x78];
        for len in [0, 1, 3, 4, 7, 31, 32, 33, 63, 64, 65, 100, 1000] {
            let plain: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let mut bytes: Vec<u8> = plain
                .iter()
                .enumerate()
                .map(|(i, b)| b ^ key[i % 4])
                .collect();
            assert_eq!(unmask(&mut bytes, key), plain.is_ascii(), "{len} bytes");
            assert_eq!(bytes, plain, "{len} bytes");
        }
    }

    #[test]
    fn every_length_encoding_with_and_without_a_key() {
        assert_eq!(FrameHead::read(&[0x81]), None);
        let short = FrameHead::read(&[0x81, 5]).unwrap();
        assert_eq!(
            (short.head, short.len, short.key, short.total()),
            (2, 5, None, 7)
        );
        assert_eq!(
            FrameHead::read(&[0x81, 0x80 | 5, 1, 2, 3]),
            None,
            "key cut short"
        );
        let keyed = FrameHead::read(&[0x82, 0x80 | 5, 1, 2, 3, 4]).unwrap();
        assert_eq!(
            (keyed.first, keyed.head, keyed.key),
            (0x82, 6, Some([1, 2, 3, 4]))
        );
        let medium = FrameHead::read(&[0x81, 126, 0x01, 0x00]).unwrap();
        assert_eq!((medium.head, medium.len), (4, 256));
        let long = FrameHead::read(&[0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0]).unwrap();
        assert_eq!((long.head, long.len), (10, 65_536));
        let huge = FrameHead::read(&[0x81, 127, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        let huge = huge.unwrap();
        assert_eq!(
            (huge.total(), huge.len_within(usize::MAX)),
            (usize::MAX, None)
        );
        assert_eq!(long.len_within(65_536), Some(65_536));
        assert_eq!(long.len_within(65_535), None);
    }
}
