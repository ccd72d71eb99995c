//! The header of a WebSocket frame (RFC 6455 5.2), as the server's and the client's own frame
//! readers read it; each decides which frames it reads itself and hands the rest to tungstenite.

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
    /// Reads the header at the start of `b`; `None` while it is not all there.
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

#[cfg(test)]
mod tests {
    use super::*;

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
