//! The client's socket under tungstenite: the frames nearly all traffic is made of are read and
//! written by the connection task itself; tungstenite keeps the rest (pings and pongs, the close
//! handshake, fragmented and binary messages, every error) and the upgrade.
//!
//! Writing: the text frames of requests and messages are masked, as RFC 6455 asks of a client,
//! into a buffer that goes out before anything tungstenite writes. Frames are added only while
//! tungstenite holds no partly written bytes ([`ClientIo::can_add`]), and every write of
//! tungstenite's first drains what is here: either side's frames reach the socket whole.
//!
//! Reading: the socket is read into a buffer of this type's own (no zeroing of a read buffer
//! before every read, as tungstenite does), and each whole, final, unmasked text frame within the
//! size limit, outside a fragmented message, is handed to the connection task as `&str`, straight
//! from that buffer ([`ClientIo::poll_frames`]). Any other frame is handed to tungstenite byte
//! for byte, exactly that frame's bytes, so its state and its errors are what they would be had
//! it read everything itself; after the end of the stream or an error it reads everything.
//! During the upgrade tungstenite reads exactly the response's head: the frames a server sends
//! right behind it stay here (a refusal goes to tungstenite whole: what follows its head is
//! the body it reports).

use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::ws_frame::{FrameHead, frame_header, unmask};

/// Most of a buffer's room kept once it is empty (a larger one is freed).
const KEEP: usize = 64 * 1024;

/// The most bytes one read of the socket takes (into a buffer on the stack, left uninitialized).
const READ_CHUNK: usize = 16 * 1024;

/// The longest response head looked for during the upgrade; a longer one goes to tungstenite,
/// which refuses it.
const HEAD_LIMIT: usize = 64 * 1024;

/// A socket read and written by the connection task and tungstenite (see the module docs).
pub(crate) struct ClientIo<S> {
    inner: S,
    /// Frames added here; from `start` on not yet taken by the socket.
    out: Vec<u8>,
    start: usize,
    /// Bytes of tungstenite's write buffer the socket did not take at its last write.
    /// tungstenite hands its whole buffer to each `write` until the buffer is empty or the
    /// socket refuses, so after each of its writes this is what it still holds.
    owed: usize,
    /// Bytes read, from `held_start` on not yet consumed: the start of a frame not complete yet,
    /// or frames of a read not handled yet.
    held: Vec<u8>,
    held_start: usize,
    /// Bytes tungstenite may still read: the rest of the frame (or response head) handed to it;
    /// `usize::MAX`: everything from now on.
    feed: usize,
    /// The upgrade's response head is not here yet.
    upgrading: bool,
    /// The bytes held that were looked at for a line end already (the head is parsed again
    /// only when a read brought one).
    head_searched: usize,
    /// A fragmented message has begun (its frames, to its last, go to tungstenite).
    fragmented: bool,
    /// The socket said end of stream (tungstenite reads it after the bytes held).
    eof: bool,
    /// The socket failed (tungstenite reads the error after the bytes held).
    error: Option<io::Error>,
}

/// What [`ClientIo::poll_frames`] stopped at.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// A frame for tungstenite: poll the stream for what it makes of it.
    Theirs,
    /// The handler of a text frame asked to stop.
    Stop,
}

impl<S> ClientIo<S> {
    /// The socket of a connection about to be upgraded.
    pub(crate) fn new(inner: S) -> Self {
        ClientIo {
            inner,
            out: Vec::new(),
            start: 0,
            owed: 0,
            held: Vec::new(),
            held_start: 0,
            feed: 0,
            upgrading: true,
            head_searched: 0,
            fragmented: false,
            eof: false,
            error: None,
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

    /// Whether tungstenite has part of the frame handed to it still to read.
    pub(crate) fn feeding(&self) -> bool {
        self.feed > 0
    }

    /// tungstenite reads everything from now on (the close handshake).
    pub(crate) fn feed_all(&mut self) {
        self.feed = usize::MAX;
    }

    /// The bytes read and not consumed.
    fn held(&self) -> &[u8] {
        &self.held[self.held_start..]
    }

    /// Drops the first `n` bytes held (the buffer's room kept, up to [`KEEP`]).
    fn consume(&mut self, n: usize) {
        self.held_start += n;
        if self.held_start == self.held.len() {
            self.held.clear();
            self.held_start = 0;
            if self.held.capacity() > KEEP {
                self.held = Vec::new();
            }
        }
    }

    /// Hands the frame at the start of the bytes held to tungstenite: `total` bytes, the first
    /// of them `first`.
    fn hand_over(&mut self, total: usize, first: u8) {
        self.feed = total;
        let fin = first & 0x80 != 0;
        match first & 0x0f {
            0x1 | 0x2 => self.fragmented = !fin,
            0x0 if fin => self.fragmented = false,
            _ => {}
        }
    }
}

/// What the bytes held start with.
#[derive(Debug, PartialEq, Eq)]
enum Head {
    /// Not a whole frame header yet.
    Incomplete,
    /// A frame read here, whole or not: its header and payload lengths.
    Own { head: usize, len: usize },
    /// A frame for tungstenite, of this many bytes (header included), with its first byte.
    Theirs { total: usize, first: u8 },
}

/// Reads the frame header (RFC 6455 5.2) at the start of `b`. A frame is read here if it is a
/// final text frame without reserved bits, unmasked (as a server's are), at most `max` bytes
/// long, outside a fragmented message; any other goes to tungstenite.
fn next_frame(b: &[u8], max: usize, fragmented: bool) -> Head {
    let Some(h) = FrameHead::read(b) else {
        return Head::Incomplete;
    };
    match h.len_within(max) {
        Some(len) if h.first == 0x81 && h.key.is_none() && !fragmented => {
            Head::Own { head: h.head, len }
        }
        _ => Head::Theirs {
            total: h.total(),
            first: h.first,
        },
    }
}

/// The most header lines a response head may have (tungstenite's own limit, so that both read
/// the same heads).
const MAX_HEADERS: usize = 124;

/// What the bytes at the start of `b` are as an HTTP response head, read by httparse as
/// tungstenite reads it (bare `\n` line ends included): `Some((length, is_101))` once it is all
/// there, `None` while it is not; an error (not a response head) as `Some((usize::MAX, false))`.
fn response_head(b: &[u8]) -> Option<(usize, bool)> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    match response.parse(b) {
        Ok(httparse::Status::Complete(len)) => Some((len, response.code == Some(101))),
        Ok(httparse::Status::Partial) => None,
        Err(_) => Some((usize::MAX, false)),
    }
}

impl<S: AsyncRead + Unpin> ClientIo<S> {
    /// Reads the socket once, after the bytes held: ready when it brought bytes, the end of the
    /// stream or an error (kept for tungstenite), pending when it has nothing.
    fn fill(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let mut chunk = [MaybeUninit::<u8>::uninit(); READ_CHUNK];
        let mut read = ReadBuf::uninit(&mut chunk);
        match ready!(Pin::new(&mut self.inner).poll_read(cx, &mut read)) {
            Err(e) => self.error = Some(e),
            Ok(()) if read.filled().is_empty() => self.eof = true,
            Ok(()) => {
                if self.held_start > 0 {
                    // The start of an incomplete frame moves to the front.
                    self.held.drain(..self.held_start);
                    self.held_start = 0;
                }
                self.held.extend_from_slice(read.filled());
            }
        }
        Poll::Ready(())
    }

    /// Hands each whole text frame the socket has (see [`next_frame`]) to `on_text`, until it
    /// returns false ([`Step::Stop`]), until a frame for tungstenite ([`Step::Theirs`]: then
    /// poll the stream; also while tungstenite has part of its frame still to read, and after
    /// the end of the stream or an error, which tungstenite reports), or until the socket has
    /// nothing more (pending). Text that is not UTF-8 goes to tungstenite too, which refuses it.
    pub(crate) fn poll_frames(
        &mut self,
        cx: &mut Context<'_>,
        max: usize,
        on_text: &mut dyn FnMut(&str) -> bool,
    ) -> Poll<Step> {
        loop {
            if self.feed > 0 || self.upgrading {
                return Poll::Ready(Step::Theirs);
            }
            let held = self.held();
            match next_frame(held, max, self.fragmented) {
                Head::Own { head, len } if held.len() >= head + len => {
                    let Ok(text) = std::str::from_utf8(&held[head..head + len]) else {
                        self.hand_over(head + len, 0x81);
                        return Poll::Ready(Step::Theirs);
                    };
                    let more = on_text(text);
                    self.consume(head + len);
                    if !more {
                        return Poll::Ready(Step::Stop);
                    }
                    continue;
                }
                Head::Theirs { total, first } => {
                    self.hand_over(total, first);
                    return Poll::Ready(Step::Theirs);
                }
                Head::Own { .. } | Head::Incomplete => {}
            }
            if self.eof || self.error.is_some() {
                self.feed_all();
                return Poll::Ready(Step::Theirs);
            }
            ready!(self.fill(cx));
        }
    }

    /// During the upgrade: waits for the response's head, then lets tungstenite read exactly
    /// that head (a `101`), or everything (a refusal, a head too long or malformed, the end of
    /// the stream).
    fn poll_head(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            // A head can only have ended in a read that brought a line end: the head is parsed
            // again only then (httparse parses from the start; a head trickling in a byte at a
            // time costs a parse per line, and there are at most `MAX_HEADERS` of those).
            let new_line = self.held()[self.head_searched..].contains(&b'\n');
            self.head_searched = self.held().len();
            if new_line && let Some((end, switching)) = response_head(self.held()) {
                self.feed = if switching { end } else { usize::MAX };
                break;
            }
            if self.held().len() > HEAD_LIMIT || self.eof || self.error.is_some() {
                self.feed_all();
                break;
            }
            ready!(self.fill(cx));
        }
        self.upgrading = false;
        Poll::Ready(())
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

/// tungstenite's reads: at most `feed` bytes, the held ones first (pending once its frame is
/// all read: what follows is not its, yet).
impl<S: AsyncRead + Unpin> AsyncRead for ClientIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.upgrading {
            ready!(this.poll_head(cx));
        }
        loop {
            let want = buf.remaining().min(this.feed);
            if want == 0 {
                return if this.feed == 0 {
                    Poll::Pending
                } else {
                    Poll::Ready(Ok(()))
                };
            }
            let held = this.held();
            if held.is_empty() {
                if let Some(e) = this.error.take() {
                    return Poll::Ready(Err(e));
                }
                if this.eof {
                    return Poll::Ready(Ok(()));
                }
                ready!(this.fill(cx));
                continue;
            }
            let n = want.min(held.len());
            buf.put_slice(&held[..n]);
            this.consume(n);
            if this.feed != usize::MAX {
                this.feed -= n;
            }
            return Poll::Ready(Ok(()));
        }
    }
}

/// Appends a final frame of opcode `op` whose payload is `payload` masked with `key`.
fn write_masked_frame(out: &mut Vec<u8>, op: u8, payload: &[u8], key: [u8; 4]) {
    const MASKED: u8 = 0x80;
    let (mut header, n) = frame_header(0x80 | op, payload.len());
    header[1] |= MASKED;
    out.reserve(n + 4 + payload.len());
    out.extend_from_slice(&header[..n]);
    out.extend_from_slice(&key);
    let at = out.len();
    out.extend_from_slice(payload);
    // Masking and unmasking are the same exclusive or (whether it is ASCII does not matter).
    let _ = unmask(&mut out[at..], key);
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

#[cfg(any(test, feature = "__fuzz"))]
impl<S> ClientIo<S> {
    /// The socket of a connection upgraded already.
    pub(crate) fn upgraded(inner: S) -> Self {
        ClientIo {
            upgrading: false,
            ..ClientIo::new(inner)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame_check::{Pieces, Respond, client_frames, client_read_all, tungstenite_reads};
    use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
    use tokio_tungstenite::tungstenite::{Error as WsError, Message, WebSocket};

    /// What a server's tungstenite reads from `bytes`, up to the end.
    fn server_reads(bytes: Vec<u8>) -> Vec<Message> {
        let mut ws = WebSocket::from_raw_socket(io::Cursor::new(bytes), Role::Server, None);
        let mut read = Vec::new();
        while let Ok(msg) = ws.read() {
            read.push(msg);
        }
        read
    }

    /// A frame as a server writes it (unmasked), or masked with `key`.
    fn frame(first: u8, payload: &[u8], key: Option<[u8; 4]>) -> Vec<u8> {
        let mut out = Vec::new();
        match key {
            Some(key) => write_masked_frame(&mut out, 0, payload, key),
            None => {
                write_masked_frame(&mut out, 0, payload, [0; 4]);
                // Without the mask bit and key (a zero key left the payload as it was).
                out[1] &= 0x7f;
                let head = out.len() - payload.len();
                out.drain(head - 4..head);
            }
        }
        out[0] = first;
        out
    }

    /// The frame-size limit of both readers in the comparison.
    const MAX: usize = 1000;

    fn config() -> WebSocketConfig {
        WebSocketConfig::default().max_frame_size(Some(MAX))
    }

    /// Every stream of frames (well formed or not) reads as tungstenite alone reads it, however
    /// the bytes arrive: the same messages, in order, and the same error.
    #[test]
    fn reads_what_tungstenite_reads() {
        let text = |s: &str| frame(0x81, s.as_bytes(), None);
        let long = "x".repeat(MAX);
        let streams: Vec<(&str, Vec<u8>)> = vec![
            (
                "texts of every length encoding",
                [
                    text(""),
                    text("a"),
                    text(&"y".repeat(125)),
                    text(&"z".repeat(126)),
                    text(&long),
                    text("é€😀"),
                ]
                .concat(),
            ),
            (
                "binary, ping and pong among texts",
                [
                    text("1"),
                    frame(0x82, b"bin", None),
                    frame(0x89, b"ping", None),
                    text("2"),
                    frame(0x8a, b"pong", None),
                    text("3"),
                ]
                .concat(),
            ),
            (
                "a fragmented message, a ping inside it, a text after it",
                [
                    frame(0x01, b"ab", None),
                    frame(0x00, b"cd", None),
                    frame(0x89, b"p", None),
                    frame(0x80, b"ef", None),
                    text("after"),
                ]
                .concat(),
            ),
            (
                "a close frame, then more",
                [
                    text("before"),
                    frame(0x88, &[0x03, 0xe8], None),
                    text("after"),
                ]
                .concat(),
            ),
            (
                "a masked frame",
                [text("ok"), frame(0x81, b"m", Some([1, 2, 3, 4]))].concat(),
            ),
            (
                "reserved bits",
                [text("ok"), frame(0xc1, b"r", None)].concat(),
            ),
            (
                "text that is not UTF-8",
                [text("ok"), frame(0x81, &[0xff, 0xfe], None)].concat(),
            ),
            (
                "a text inside a fragmented message",
                [frame(0x01, b"ab", None), text("x")].concat(),
            ),
            (
                "a continuation of nothing",
                [text("ok"), frame(0x80, b"x", None)].concat(),
            ),
            (
                "a frame over the limit",
                [text("ok"), text(&format!("{long}!"))].concat(),
            ),
            (
                "a length beyond any limit",
                [
                    text("ok"),
                    vec![0x81, 127, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
                ]
                .concat(),
            ),
            (
                "a frame cut short by the end",
                [text("ok"), text("abcdef")[..5].to_vec()].concat(),
            ),
            (
                "a header cut short by the end",
                [text("ok"), vec![0x81, 126, 0x01]].concat(),
            ),
            ("nothing", Vec::new()),
        ];
        for (name, bytes) in &streams {
            let expected = tungstenite_reads(bytes, Role::Client, config());
            assert!(!expected.is_empty() || bytes.is_empty(), "{name}");
            for step in [1, 2, 3, 7, 64, usize::MAX] {
                if let Err(diff) = client_frames(bytes, MAX, step) {
                    panic!("{name}: {diff}");
                }
            }
        }
    }

    /// The server's answer to the upgrade, its lines ended by `eol`: `101` and a text frame
    /// (with a blank line in it) and a ping right behind it.
    fn answer(request: &[u8], eol: &str) -> Vec<u8> {
        let request = std::str::from_utf8(request).unwrap();
        let key = request
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
            .unwrap();
        let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
        let head = format!(
            "HTTP/1.1 101 Switching Protocols{eol}Upgrade: websocket{eol}Connection: Upgrade{eol}Sec-WebSocket-Accept: {accept}{eol}{eol}"
        );
        [
            head.into_bytes(),
            frame(0x81, b"a\r\n\r\nb", None),
            frame(0x89, b"p", None),
        ]
        .concat()
    }

    fn switching(request: &[u8]) -> Vec<u8> {
        answer(request, "\r\n")
    }

    /// As httparse (and so tungstenite) reads it too: bare `\n` line ends.
    fn switching_lf(request: &[u8]) -> Vec<u8> {
        answer(request, "\n")
    }

    fn refusal(_: &[u8]) -> Vec<u8> {
        b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 6\r\n\r\nno way".to_vec()
    }

    /// tungstenite reads exactly the upgrade's head: the frames right behind it are read here,
    /// however the bytes arrive; a refusal keeps its body.
    #[tokio::test]
    async fn the_upgrade_leaves_the_frames_behind_it_here() {
        for (step, respond) in [1, 5, usize::MAX]
            .into_iter()
            .flat_map(|step| [(step, switching as Respond), (step, switching_lf)])
        {
            let mut socket = Pieces::new(Vec::new(), step);
            socket.respond = Some(respond);
            let (ws, _) = tokio_tungstenite::client_async_with_config(
                "ws://127.0.0.1/ws",
                ClientIo::new(socket),
                Some(config()),
            )
            .await
            .unwrap();
            assert!(!ws.get_ref().feeding(), "tungstenite read the head alone");
            if step == usize::MAX {
                assert_eq!(
                    ws.get_ref().held().len(),
                    11,
                    "the text frame and the ping wait here"
                );
            }
            assert_eq!(
                client_read_all(ws, MAX).await,
                [
                    r#"Text(Utf8Bytes(b"a\r\n\r\nb"))"#,
                    r#"Ping(b"p")"#,
                    "error: WebSocket protocol error: Connection reset without closing handshake"
                ],
                "step {step}"
            );
        }
        let mut socket = Pieces::new(Vec::new(), usize::MAX);
        socket.respond = Some(refusal);
        match tokio_tungstenite::client_async("ws://127.0.0.1/ws", ClientIo::new(socket)).await {
            Err(WsError::Http(response)) => {
                assert_eq!(response.status(), 401);
                assert_eq!(response.body().as_deref(), Some(b"no way".as_slice()));
            }
            other => panic!("{:?}", other.map(|_| ())),
        }
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

    /// Frames added here and tungstenite's own (a ping and a close here), through a socket that
    /// takes a few bytes at a time: the server reads every one whole, in the order written, and
    /// `can_add` is false exactly while tungstenite holds part of a frame.
    #[tokio::test]
    async fn frames_from_both_writers_arrive_whole_through_a_slow_socket() {
        use futures_util::SinkExt;
        use tokio_tungstenite::WebSocketStream;
        for step in [1, 3, 7, 64] {
            let io = ClientIo::new(Pieces::new(Vec::new(), 1).writes_of(step));
            let mut ws = WebSocketStream::from_raw_socket(io, Role::Client, None).await;
            let mut expected = Vec::new();
            for i in 0..20 {
                if i % 3 == 0 {
                    // tungstenite's: a ping (fed, written by the flush below).
                    let msg = Message::Ping(vec![i as u8; 5].into());
                    ws.feed(msg.clone()).await.unwrap();
                    expected.push(msg);
                } else {
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
        // The first write is taken.
        let mut io = ClientIo::new(Pieces::new(Vec::new(), 1).writes_of(4));
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
