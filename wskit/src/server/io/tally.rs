//! The tally of a connection's inbound bytes: the frames (RFC 6455 5.2) in the byte stream, read
//! as tungstenite reads it, so the server knows what tungstenite does not tell: how many bytes
//! of a message not complete yet the connection holds (a fragmented message, or a frame not all
//! read), which count against the server-wide budget for them, and whether the same message
//! is still incomplete (it times out).
//!
//! It reads only frame headers and skips payloads: per-frame code, a few instructions a frame.
//! tungstenite itself checks the frames (and closes the connection on a bad one); this tally
//! only follows their lengths, and cannot fail.

use crate::ws_frame::{header_size, payload_len};

/// The largest frame header: 2 bytes, an 8-byte length, a 4-byte mask.
const MAX_HEADER: usize = 14;

/// The tally of one connection's inbound bytes (see the module docs).
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Tally {
    /// The start of a header split across reads.
    head: [u8; MAX_HEADER],
    /// The bytes of `head` read (a `u8` beside it: at most `MAX_HEADER`).
    head_len: u8,
    /// Payload bytes of the current frame still to come.
    payload_left: u64,
    /// The current frame is a control frame (ping, pong, close): no part of a message.
    control: bool,
    /// The current frame is the last of its message.
    fin: bool,
    /// A message's first frame has begun and its last has not ended.
    in_message: bool,
    /// Bytes of the message in progress read so far (its frames' headers and payloads).
    held: usize,
    /// Messages begun: which one is in progress.
    begun: u64,
}

impl Tally {
    /// Follows `buf`, the next bytes read from the socket.
    pub(crate) fn observe(&mut self, buf: &[u8]) {
        let rest = self.whole_messages(buf);
        self.observe_frames(rest);
    }

    /// The fast path of [`Tally::observe`]: from a frame boundary outside any message, skips
    /// the whole frames at the start of `buf` that are each a message of their own (final, not
    /// control, a length under 126), the frames nearly every read brings; returns the rest.
    /// Each leaves the tally as [`Tally::observe_frames`] would: one more message begun and
    /// ended, nothing held.
    #[inline]
    fn whole_messages<'b>(&mut self, mut buf: &'b [u8]) -> &'b [u8] {
        if self.head_len != 0 || self.payload_left != 0 || self.in_message {
            return buf;
        }
        let mut skipped = 0;
        while let [first, second, ..] = *buf {
            let len = usize::from(second & 0x7f);
            let size = 2 + if second & 0x80 != 0 { 4 } else { 0 } + len;
            if first & 0x88 != 0x80 || len >= 126 || buf.len() < size {
                break;
            }
            skipped += 1;
            buf = &buf[size..];
        }
        if skipped > 0 {
            self.begun += skipped;
            self.fin = true;
            self.control = false;
        }
        buf
    }

    /// Follows `buf` frame by frame, whatever it holds.
    fn observe_frames(&mut self, mut buf: &[u8]) {
        while !buf.is_empty() {
            if self.payload_left > 0 {
                let n = self.payload_left.min(buf.len() as u64);
                self.payload_left -= n;
                buf = &buf[n as usize..];
                if !self.control {
                    self.held += n as usize;
                }
                if self.payload_left == 0 {
                    self.frame_ended();
                }
                continue;
            }
            // A header: read in place when it is all there, else gathered across reads.
            if self.head_len == 0 {
                let size = header_size(buf);
                if buf.len() >= size {
                    let (head, rest) = buf.split_at(size);
                    self.header(head);
                    buf = rest;
                    continue;
                }
            }
            let have = usize::from(self.head_len);
            let want = header_size(&self.head[..have]);
            let n = (want - have).min(buf.len());
            self.head[have..have + n].copy_from_slice(&buf[..n]);
            let size = have + n;
            // At most MAX_HEADER (14): `header_size` is at most that.
            self.head_len = size as u8;
            buf = &buf[n..];
            if size == header_size(&self.head[..size]) {
                let head = self.head;
                self.head_len = 0;
                self.header(&head[..size]);
            }
        }
    }

    /// A whole frame header.
    fn header(&mut self, head: &[u8]) {
        let len = payload_len(head);
        self.fin = head[0] & 0x80 != 0;
        let control = head[0] & 0x08 != 0;
        self.control = control;
        if !control {
            if !self.in_message {
                self.in_message = true;
                self.begun += 1;
            }
            self.held += head.len();
        }
        self.payload_left = len;
        if len == 0 {
            self.frame_ended();
        }
    }

    fn frame_ended(&mut self) {
        if !self.control && self.fin {
            self.in_message = false;
            self.held = 0;
        }
    }

    /// Bytes of the message in progress read so far; 0 when none is.
    pub(crate) fn held(&self) -> usize {
        self.held
    }

    /// Which message is in progress (a new number for each message), if one is.
    pub(crate) fn in_progress(&self) -> Option<u64> {
        self.in_message.then_some(self.begun)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A masked frame with this first byte and payload length (the payload is zeros).
    fn frame(b0: u8, len: usize) -> Vec<u8> {
        let mut out = vec![b0];
        if len < 126 {
            out.push(0x80 | len as u8);
        } else if len <= 0xffff {
            out.push(0x80 | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            out.push(0x80 | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
        out.extend_from_slice(&[1, 2, 3, 4]);
        out.resize(out.len() + len, 0);
        out
    }

    #[test]
    fn whole_frames_leave_nothing_held() {
        let mut t = Tally::default();
        let mut bytes = frame(0x81, 5);
        bytes.extend(frame(0x82, 300));
        bytes.extend(frame(0x89, 0));
        bytes.extend(frame(0x81, 70_000));
        t.observe(&bytes);
        assert_eq!(t.held(), 0);
        assert_eq!(t.in_progress(), None);
    }

    #[test]
    fn any_split_of_the_stream_reads_the_same() {
        let mut bytes = frame(0x81, 200);
        bytes.extend(frame(0x01, 130)); // a fragmented message: first frame,
        bytes.extend(frame(0x89, 3)); // a ping between its fragments,
        bytes.extend(frame(0x80, 70_000)); // and its last frame
        bytes.extend(frame(0x88, 2));
        for step in [1, 2, 3, 5, 13, 14, 100, 4096] {
            let mut t = Tally::default();
            let mut max_held = 0;
            for chunk in bytes.chunks(step) {
                t.observe(chunk);
                max_held = max_held.max(t.held());
            }
            assert_eq!(t.held(), 0, "step {step}");
            // The fragmented message's two data frames, headers included; not the ping.
            let fragmented = 8 + 130 + 14 + 70_000;
            assert!(max_held < fragmented, "step {step}: {max_held}");
            assert!(max_held > 136, "step {step}: {max_held}");
        }
    }

    #[test]
    fn an_unfinished_message_is_held_until_its_last_frame() {
        let mut t = Tally::default();
        t.observe(&frame(0x01, 100));
        assert_eq!(t.held(), 106);
        let first = t.in_progress().expect("in progress");
        // A control frame in between is not part of it.
        t.observe(&frame(0x8a, 4));
        assert_eq!(t.held(), 106);
        t.observe(&frame(0x00, 50));
        assert_eq!(t.held(), 162);
        assert_eq!(t.in_progress(), Some(first));
        // The last frame, half of it.
        let last = frame(0x80, 1000);
        t.observe(&last[..500]);
        assert_eq!(t.held(), 162 + 500);
        t.observe(&last[500..]);
        assert_eq!(t.held(), 0);
        assert_eq!(t.in_progress(), None);
        // The next message is another one.
        t.observe(&frame(0x81, 10)[..8]);
        assert!(t.in_progress().is_some_and(|n| n != first));
    }

    /// The fast path ([`Tally::whole_messages`]) ends every read where following the frames
    /// one by one does, over streams of every kind of frame split at every step.
    #[test]
    fn whole_messages_are_skipped_as_frame_by_frame_reading_would() {
        let mut bytes = Vec::new();
        for len in [0, 1, 5, 125, 126, 200] {
            bytes.extend(frame(0x81, len));
            bytes.extend(frame(0x82, len));
        }
        bytes.extend(frame(0x01, 10)); // a message's first fragment,
        bytes.extend(frame(0x81, 3)); // whole-looking frames inside it,
        bytes.extend(frame(0x89, 2)); // a ping,
        bytes.extend(frame(0x80, 7)); // its last fragment,
        bytes.extend(frame(0x8a, 0)); // a pong,
        bytes.extend(frame(0x81, 9)); // then whole ones again
        let mut unmasked = frame(0x81, 4);
        unmasked[1] &= 0x7f; // and an unmasked one (tungstenite refuses it, the tally follows)
        unmasked.truncate(unmasked.len() - 4);
        bytes.extend(unmasked);
        bytes.extend(frame(0x81, 30));
        for step in 1..=bytes.len() {
            let (mut fast, mut slow) = (Tally::default(), Tally::default());
            for chunk in bytes.chunks(step) {
                fast.observe(chunk);
                slow.observe_frames(chunk);
                assert_eq!(fast, slow, "step {step}");
            }
        }
    }

    #[test]
    fn garbage_never_panics() {
        let mut t = Tally::default();
        let mut x: u32 = 12345;
        for _ in 0..10_000 {
            let mut chunk = [0u8; 37];
            for b in &mut chunk {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                *b = (x >> 16) as u8;
            }
            t.observe(&chunk);
        }
        assert!(t.held() <= 370_000);
    }
}
