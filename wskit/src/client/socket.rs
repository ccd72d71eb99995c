//! The client's socket under tungstenite: the text frames of requests and messages are written
//! by the connection task itself, masked as RFC 6455 asks of a client, into a buffer that goes
//! out before anything tungstenite writes.
//!
//! tungstenite keeps everything else (reading, pongs, the close handshake, errors); writing a
//! frame through it costs about as much as encoding the request (the message copied into a
//! frame, a waker handed to its proxies, its buffer checks), so the connection task writes
//! whole batches here instead. The rule that keeps the byte stream well formed: frames are
//! added here only while tungstenite holds no partly written bytes ([`ClientIo::owed`] is
//! zero), and every write of tungstenite's first drains what is here. Either side's frames
//! then reach the socket whole, each after those added before it.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Most of the buffer's room kept between batches (a larger one is freed once written).
const KEEP: usize = 64 * 1024;

/// A socket with frames written ahead of tungstenite's (see the module docs).
pub(crate) struct ClientIo<S> {
    inner: S,
    /// Frames added here; from `start` on not yet taken by the socket.
    out: Vec<u8>,
    start: usize,
    /// Bytes of tungstenite's write buffer the socket did not take at its last write.
    /// tungstenite hands its whole buffer to each `write` until the buffer is empty or the
    /// socket refuses, so after each of its writes this is what it still holds.
    owed: usize,
}

impl<S> ClientIo<S> {
    pub(crate) fn new(inner: S) -> Self {
        ClientIo {
            inner,
            out: Vec::new(),
            start: 0,
            owed: 0,
        }
    }

    /// Whether a frame may be added now: tungstenite holds no partly written bytes.
    pub(crate) fn can_add(&self) -> bool {
        self.owed == 0
    }

    /// Adds a final text frame of `payload`, masked with `key`, after the frames added before.
    /// Call only when [`can_add`](Self::can_add); it is written by the next flush.
    pub(crate) fn add_text(&mut self, payload: &[u8], key: [u8; 4]) {
        debug_assert!(self.can_add());
        write_masked_frame(&mut self.out, 0x1, payload, key);
    }
}

/// Appends a final frame of opcode `op` whose payload is `payload` masked with `key`.
fn write_masked_frame(out: &mut Vec<u8>, op: u8, payload: &[u8], key: [u8; 4]) {
    const FIN: u8 = 0x80;
    const MASKED: u8 = 0x80;
    out.reserve(payload.len() + 14);
    out.push(FIN | op);
    match payload.len() {
        len @ 0..=125 => out.push(MASKED | len as u8),
        len @ 126..=0xFFFF => {
            out.push(MASKED | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            out.push(MASKED | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&key);
    let at = out.len();
    out.extend_from_slice(payload);
    mask(&mut out[at..], key);
}

/// XORs `bytes` with `key` repeated (the first byte with the key's first), 8 bytes at a time.
fn mask(bytes: &mut [u8], key: [u8; 4]) {
    let key8 = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let (words, rest) = bytes.as_chunks_mut::<8>();
    for word in words {
        *word = (u64::from_ne_bytes(*word) ^ key8).to_ne_bytes();
    }
    // `rest` starts at a multiple of 8, so with the key's first byte.
    for (b, k) in rest.iter_mut().zip(key.iter().cycle()) {
        *b ^= k;
    }
}

impl<S: AsyncWrite + Unpin> ClientIo<S> {
    /// Writes the frames added here until the socket took them all.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.start < self.out.len() {
            match ready!(Pin::new(&mut self.inner).poll_write(cx, &self.out[self.start..])) {
                Ok(0) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Ok(n) => self.start += n,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        self.out.clear();
        self.start = 0;
        if self.out.capacity() > KEEP {
            self.out = Vec::new();
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for ClientIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

/// tungstenite's writes: the frames added here go first.
impl<S: AsyncWrite + Unpin> AsyncWrite for ClientIo<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        // Until a write of its returns, tungstenite holds all of `buf`.
        this.owed = buf.len();
        ready!(this.poll_drain(cx))?;
        let n = ready!(Pin::new(&mut this.inner).poll_write(cx, buf))?;
        this.owed = buf.len() - n;
        Poll::Ready(Ok(n))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_drain(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_drain(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_tungstenite::tungstenite::protocol::Role;
    use tokio_tungstenite::tungstenite::{Message, WebSocket};

    /// What a server's tungstenite reads from `bytes`, up to the end.
    fn server_reads(bytes: Vec<u8>) -> Vec<Message> {
        let mut ws = WebSocket::from_raw_socket(io::Cursor::new(bytes), Role::Server, None);
        let mut read = Vec::new();
        while let Ok(msg) = ws.read() {
            read.push(msg);
        }
        read
    }

    #[test]
    fn frames_are_masked_text_frames_a_server_reads_at_every_length_encoding() {
        let key = [0x9c, 0x01, 0xff, 0x42];
        let lengths = [0, 1, 7, 8, 9, 125, 126, 127, 1000, 0xFFFF, 0x10000, 70_001];
        let payloads: Vec<String> = lengths
            .iter()
            .map(|&n| (0..n).map(|i| char::from(b'a' + (i % 26) as u8)).collect())
            .collect();
        let mut out = Vec::new();
        for p in &payloads {
            let at = out.len();
            write_masked_frame(&mut out, 0x1, p.as_bytes(), key);
            assert_eq!(out[at + 1] & 0x80, 0x80, "the mask bit");
        }
        let read = server_reads(out);
        let texts: Vec<&str> = read.iter().map(|m| m.to_text().unwrap()).collect();
        assert_eq!(
            texts,
            payloads.iter().map(String::as_str).collect::<Vec<_>>()
        );
    }

    /// A socket that takes at most `step` bytes a write and refuses every other write.
    struct Trickle {
        written: Vec<u8>,
        step: usize,
        refuse: bool,
    }

    impl AsyncWrite for Trickle {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.refuse = !self.refuse;
            if self.refuse {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let n = buf.len().min(self.step);
            self.written.extend_from_slice(&buf[..n]);
            Poll::Ready(Ok(n))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    impl AsyncRead for Trickle {
        fn poll_read(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            _: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            Poll::Pending
        }
    }

    /// Frames added here and tungstenite's own (a ping and a close here), through a socket that
    /// takes a few bytes at a time: the server reads every one whole, in the order written, and
    /// `can_add` is false exactly while tungstenite holds part of a frame.
    #[tokio::test]
    async fn frames_from_both_writers_arrive_whole_through_a_slow_socket() {
        use futures_util::SinkExt;
        use tokio_tungstenite::WebSocketStream;
        for step in [1, 3, 7, 64] {
            let io = ClientIo::new(Trickle {
                written: Vec::new(),
                step,
                refuse: false,
            });
            let mut ws = WebSocketStream::from_raw_socket(io, Role::Client, None).await;
            let mut expected = Vec::new();
            for i in 0..20 {
                if i % 3 == 0 {
                    // tungstenite's: a ping (fed, written by the flush below).
                    let msg = Message::Ping(vec![i as u8; 5].into());
                    ws.feed(msg.clone()).await.unwrap();
                    expected.push(msg);
                } else if ws.get_ref().can_add() {
                    let text = format!("frame {i} {}", "x".repeat(i * 13));
                    ws.get_mut().add_text(text.as_bytes(), [i as u8, 2, 3, 4]);
                    expected.push(Message::text(text));
                }
                ws.flush().await.unwrap();
                assert!(ws.get_ref().can_add(), "flushed: nothing owed");
            }
            ws.close(None).await.unwrap();
            expected.push(Message::Close(None));
            let written = std::mem::take(&mut ws.get_mut().inner.written);
            assert_eq!(server_reads(written), expected, "step {step}");
        }
    }

    #[test]
    fn owed_follows_tungstenite_s_partial_writes() {
        let mut io = ClientIo::new(Trickle {
            written: Vec::new(),
            step: 4,
            refuse: true, // the first write is taken
        });
        let waker = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        let frame = [1u8; 10];
        let n = match Pin::new(&mut io).poll_write(&mut cx, &frame) {
            Poll::Ready(Ok(n)) => n,
            other => panic!("{other:?}"),
        };
        assert_eq!(n, 4);
        assert!(!io.can_add(), "6 bytes of tungstenite's frame not written");
        assert!(
            Pin::new(&mut io)
                .poll_write(&mut cx, &frame[4..])
                .is_pending()
        );
        assert!(!io.can_add(), "refused: all 6 still owed");
        assert!(matches!(
            Pin::new(&mut io).poll_write(&mut cx, &frame[4..]),
            Poll::Ready(Ok(4))
        ));
        assert!(!io.can_add());
        let _ = Pin::new(&mut io).poll_write(&mut cx, &frame[8..]);
        assert!(matches!(
            Pin::new(&mut io).poll_write(&mut cx, &frame[8..]),
            Poll::Ready(Ok(2))
        ));
        assert!(io.can_add());
    }
}
