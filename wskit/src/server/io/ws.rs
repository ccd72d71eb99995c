//! A server connection's WebSocket stream: RFC 6455 over an async socket, read and written by the
//! connection's one task.
//!
//! The frames nearly all traffic is made of are read and written here; tungstenite keeps the
//! rest (the close handshake, fragmented messages, a client's pings, every error), and its state
//! exists only from the first frame or message that needs it on: most connections never create
//! it.
//!
//! Reading: the socket is read into a buffer on the stack, and a whole, masked, final text or
//! binary frame within the size limits (outside a fragmented message), or a pong, becomes its
//! message straight from there when it is all the read brought. A read of several frames is
//! kept in one allocation, and each frame is split off it as its message, unmasked in place
//! (no copy, no allocation per frame). The connection keeps bytes of its own only while a
//! frame is incomplete, or between the frames of one read: an idle connection holds no read
//! buffer (tungstenite's would be allocated for as long as the connection lives). Every other frame
//! (pings, close frames, fragments, bad headers, bytes after the peer's close, the end of the
//! stream) is handed to tungstenite byte for byte, exactly the bytes of that frame, so its state
//! (close handshake, fragmented message, automatic pongs) and its errors are what they would be
//! had it read everything itself (the test `differential::reads_what_tungstenite_reads`).
//!
//! Writing: text, binary and ping frames are written here while tungstenite's state does not
//! exist, byte for byte as it would write them and buffered as it buffers them; the buffer is
//! freed once the socket took it. Anything else (a close, a pong) creates tungstenite's state,
//! which writes everything from then on, after what was written here.
//!
//! tokio-tungstenite's `WebSocketStream` lets its reading and writing sides be polled from
//! different tasks, so each operation hands the caller's waker to two shared proxies (atomic
//! exchanges, and clones when the waker changes). A wskit connection is polled by its own task
//! only: here the socket is polled with that task's waker directly, kept beside the socket and
//! replaced only when a poll comes with a different one. `Stream` and `Sink` behave as
//! tokio-tungstenite's do (the same states, the same errors), so the connection loop and its
//! close handling read the same either way.
//!
//! The socket wrapper also keeps what tungstenite does not tell: the bytes written that the
//! socket has not taken ([`WsStream::owed`]: automatic pongs pile up in tungstenite's buffer
//! while a client does not read), and a [`Tally`] of the bytes read (the message not complete
//! yet).

use std::io::{self, Read, Write};
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use bytes::{Buf, BytesMut};
use futures_util::{Sink, Stream};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig, WebSocketContext};
use tokio_tungstenite::tungstenite::{Bytes, Error as WsError, Message, Utf8Bytes};

use super::spare;
use super::tally::Tally;
use crate::ws_frame::{FrameHead, frame_header, unmask};

/// The most bytes one read of the socket takes (into a buffer on the stack, left uninitialized:
/// its size costs nothing but stack). A frame of up to this size that is all there is read
/// whole, in one call: a 16 KiB frame takes one `recv`, not two.
const READ_CHUNK: usize = 64 * 1024;

/// The most room reserved at once for the rest of a frame that has begun: a header alone does
/// not make the server allocate a whole (large) frame's worth.
const RESERVE_AHEAD: usize = 64 * 1024;

/// The room the first frame written after an idle spell makes (the buffer is freed once the
/// socket took it): most batches fit, and it is one of the allocator's cached sizes.
const OUT_FIRST: usize = 1024;

/// tungstenite's read buffer (allocated with its state, on the connections that need it), and
/// so the most it copies from the bytes held here at a time.
const TUNGSTENITE_READ: usize = 256;

/// The socket as tungstenite's blocking-style `Read`/`Write`: a poll that would wait is
/// `WouldBlock`, and has the task (`waker`) woken when the socket is ready.
struct Io<S> {
    inner: S,
    /// The waker of the task that polls the stream (a no-op one until the first poll).
    waker: Waker,
    /// Bytes of tungstenite's write buffer the socket did not take at the last write.
    /// tungstenite hands its whole buffer to each `write` until the buffer is empty or the
    /// socket refuses, so after each of its writes this is what it still holds.
    owed: usize,
    /// The bytes read.
    tally: Tally,
    /// Bytes read and not yet consumed: the start of a frame not complete yet, or the frames
    /// of a read that brought more than one. A whole frame read here is split off as its
    /// message, sharing the allocation (the allocation is freed when the last of them is
    /// dropped). No allocation while nothing is held.
    held: BytesMut,
    /// Bytes tungstenite may still read: the rest of the frame handed to it (`usize::MAX`:
    /// everything, from the peer's close frame or the end of the stream on).
    feed: usize,
    /// The socket said end of stream (tungstenite reads it after the bytes held).
    eof: bool,
    /// The socket failed (tungstenite reads the error after the bytes held).
    error: Option<io::Error>,
    /// Frames written here (not by tungstenite), from `out_start` on not yet taken by the
    /// socket; they go before anything tungstenite writes. No allocation while there are none.
    out: Vec<u8>,
    out_start: usize,
}

/// Polls `op` on `inner` with `waker`: `WouldBlock` if it is pending.
fn poll_io<S: Unpin, T>(
    inner: &mut S,
    waker: &Waker,
    op: impl FnOnce(Pin<&mut S>, &mut Context<'_>) -> Poll<io::Result<T>>,
) -> io::Result<T> {
    let mut cx = Context::from_waker(waker);
    match op(Pin::new(inner), &mut cx) {
        Poll::Ready(result) => result,
        Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
    }
}

impl<S> Io<S> {
    /// The bytes held.
    fn held(&self) -> &[u8] {
        &self.held
    }

    /// Drops the first `n` bytes held (and the buffer once none are left).
    fn consume(&mut self, n: usize) {
        self.held.advance(n);
        self.release_if_empty();
    }

    /// Gives the read buffer back to the thread (`spare`) once nothing is held in it: an idle
    /// connection holds none.
    fn release_if_empty(&mut self) {
        if self.held.is_empty() {
            spare::keep_read(std::mem::take(&mut self.held));
        }
    }

    /// Keeps `bytes` after those held.
    fn hold(&mut self, bytes: &[u8]) {
        self.room();
        // Reclaims the room of the bytes consumed before it allocates more.
        self.held.extend_from_slice(bytes);
    }

    /// A buffer to hold bytes in, when none is allocated: one this thread kept (`spare`).
    fn room(&mut self) {
        if self.held.capacity() == 0 {
            self.held = spare::read_buffer();
        }
    }

    /// Bytes of the frames written here that the socket has not taken.
    fn out_len(&self) -> usize {
        self.out.len() - self.out_start
    }
}

impl<S: AsyncWrite + Unpin> Io<S> {
    /// Writes the frames written here; `Ok` once the socket took them all (the buffer freed).
    fn write_out(&mut self) -> io::Result<()> {
        while self.out_start < self.out.len() {
            let rest = &self.out[self.out_start..];
            let n = poll_io(&mut self.inner, &self.waker, |s, cx| s.poll_write(cx, rest))?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            self.out_start += n;
        }
        if self.out.capacity() > 0 {
            spare::keep_out(std::mem::take(&mut self.out));
            self.out_start = 0;
        }
        Ok(())
    }
}

impl<S: AsyncRead + Unpin> Read for Io<S> {
    /// tungstenite's reads: at most `feed` bytes, the held ones first.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = buf.len().min(self.feed);
        if want == 0 {
            // The frame handed to tungstenite is all read: the next one is not its (yet).
            return Err(io::ErrorKind::WouldBlock.into());
        }
        if self.held().is_empty() {
            if let Some(e) = self.error.take() {
                return Err(e);
            }
            if self.eof {
                return Ok(0);
            }
            // tungstenite reads in small pieces: the socket is read in big ones, into `held`.
            let mut chunk = [MaybeUninit::<u8>::uninit(); READ_CHUNK];
            let mut read = ReadBuf::uninit(&mut chunk);
            poll_io(&mut self.inner, &self.waker, |s, cx| {
                s.poll_read(cx, &mut read)
            })?;
            if read.filled().is_empty() {
                self.eof = true;
                return Ok(0);
            }
            self.tally.observe(read.filled());
            self.hold(read.filled());
        }
        let held = self.held();
        let n = want.min(held.len());
        buf[..n].copy_from_slice(&held[..n]);
        self.consume(n);
        self.feed -= n;
        Ok(n)
    }
}

impl<S: AsyncWrite + Unpin> Write for Io<S> {
    /// tungstenite's writes, after the frames written here.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self
            .write_out()
            .and_then(|()| poll_io(&mut self.inner, &self.waker, |s, cx| s.poll_write(cx, buf)));
        self.owed = match &written {
            Ok(n) => buf.len() - n,
            Err(_) => buf.len(),
        };
        written
    }

    fn flush(&mut self) -> io::Result<()> {
        self.write_out()?;
        poll_io(&mut self.inner, &self.waker, |s, cx| s.poll_flush(cx))
    }
}

/// What the bytes held start with.
enum Next {
    /// Not a whole frame header yet.
    Header,
    /// A frame read here, whole or not: its header and payload lengths, its opcode (text,
    /// binary or pong), its mask key.
    Own {
        head: usize,
        len: usize,
        op: u8,
        key: [u8; 4],
    },
    /// A frame for tungstenite, of this many bytes (header included), with its first byte.
    Theirs { total: usize, first: u8 },
}

/// Reads the frame header (RFC 6455 5.2) at the start of `b`. A frame is read here if it is
/// final, without reserved bits, masked, at most `max` bytes long, and either text or binary
/// outside a fragmented message, or a pong of at most 125 bytes (which tungstenite only hands
/// on); any other goes to tungstenite.
#[inline]
fn next_frame(b: &[u8], max: usize, fragmented: bool) -> Next {
    let Some(h) = FrameHead::read(b) else {
        return Next::Header;
    };
    let own = match h.first {
        0x81 | 0x82 => !fragmented,
        0x8a => h.len <= 125,
        _ => false,
    };
    match (h.key, h.len_within(max)) {
        (Some(key), Some(len)) if own => Next::Own {
            head: h.head,
            len,
            op: h.first & 0x0f,
            key,
        },
        _ => Next::Theirs {
            total: h.total(),
            first: h.first,
        },
    }
}

/// The message of a frame read here, from its masked payload: copied out, then unmasked in
/// place.
#[inline(never)]
fn own_message(masked: &[u8], op: u8, key: [u8; 4]) -> Result<Message, WsError> {
    let mut payload = masked.to_vec();
    let ascii = unmask(&mut payload, key);
    payload_message(Bytes::from(payload), op, ascii)
}

/// The message of a frame read here, from its unmasked payload (`ascii`: found ASCII while
/// unmasking).
#[inline]
fn payload_message(payload: Bytes, op: u8, ascii: bool) -> Result<Message, WsError> {
    match op {
        // SAFETY: ASCII text is UTF-8 (`unmask` checked every byte).
        0x1 if ascii => Ok(Message::Text(unsafe {
            Utf8Bytes::from_bytes_unchecked(payload)
        })),
        0x1 => Ok(Message::Text(Utf8Bytes::try_from(payload)?)),
        0x2 => Ok(Message::Binary(payload)),
        _ => Ok(Message::Pong(payload)),
    }
}

/// The limits of a server's streams, and what tungstenite is created with when a connection
/// first needs it: a `WebSocketConfig` in a fraction of its size, shared by the server's
/// connections (each holds a pointer, not a copy).
pub(crate) struct Config {
    max_frame: usize,
    max_message: usize,
    write_buffer: usize,
    max_write_buffer: usize,
    accept_unmasked: bool,
}

impl Config {
    pub(crate) fn new(c: &WebSocketConfig) -> Arc<Self> {
        let limit = |l: Option<usize>| l.unwrap_or(usize::MAX);
        Arc::new(Config {
            max_frame: limit(c.max_frame_size),
            max_message: limit(c.max_message_size),
            write_buffer: c.write_buffer_size,
            max_write_buffer: c.max_write_buffer_size,
            accept_unmasked: c.accept_unmasked_frames,
        })
    }

    /// tungstenite's configuration. Its read buffer is small (it only reads the frames handed
    /// to it, from the bytes held here, never from the socket itself) but not tiny: it reads
    /// at most that much at a time.
    fn tungstenite(&self) -> WebSocketConfig {
        WebSocketConfig::default()
            .read_buffer_size(TUNGSTENITE_READ)
            .write_buffer_size(self.write_buffer)
            .max_write_buffer_size(self.max_write_buffer)
            .max_frame_size(Some(self.max_frame))
            .max_message_size(Some(self.max_message))
            .accept_unmasked_frames(self.accept_unmasked)
    }
}

/// One server connection's WebSocket stream (see the module docs).
pub(crate) struct WsStream<S> {
    io: Io<S>,
    /// tungstenite's protocol state, from the first frame or message only it handles (a ping,
    /// a close, a fragment, a bad frame, the end of the stream) on. Boxed: most connections
    /// never need it.
    ctx: Option<Box<WebSocketContext>>,
    config: Arc<Config>,
    /// A fragmented message is in progress (its frames go to tungstenite).
    fragmented: bool,
    /// A pong tungstenite queued (for a ping handed to it) is not written yet.
    pong_owed: bool,
    /// Nothing is held back by a full socket: another message may be sent.
    ready: bool,
    /// Our close frame is queued; flushing drives the close handshake.
    closing: bool,
    /// The stream ended or failed: it yields nothing more.
    ended: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin> WsStream<S> {
    /// A stream over a socket whose handshake is done; `part` holds bytes already read past it.
    pub(crate) fn new(socket: S, part: Vec<u8>, config: Arc<Config>) -> Self {
        let mut tally = Tally::default();
        tally.observe(&part);
        let io = Io {
            inner: socket,
            waker: Waker::noop().clone(),
            owed: 0,
            tally,
            held: BytesMut::from(&part[..]),
            feed: 0,
            eof: false,
            error: None,
            out: Vec::new(),
            out_start: 0,
        };
        WsStream {
            io,
            ctx: None,
            config,
            fragmented: false,
            pong_owed: false,
            ready: true,
            closing: false,
            ended: false,
        }
    }

    /// The socket.
    pub(crate) fn get_mut(&mut self) -> &mut S {
        &mut self.io.inner
    }

    /// Bytes written that the socket has not taken (0 once a flush completed): the frames
    /// written here, and tungstenite's write buffer (automatic pongs pile up there).
    pub(crate) fn owed(&self) -> usize {
        self.io.owed + self.io.out_len()
    }

    /// The tally of the bytes read.
    pub(crate) fn tally(&self) -> &Tally {
        &self.io.tally
    }

    /// Bytes read and not consumed yet (none while the connection is idle).
    #[cfg(test)]
    pub(crate) fn held_capacity(&self) -> usize {
        self.io.held.capacity()
    }

    /// Whether tungstenite's state exists (see `ctx`).
    #[cfg(test)]
    pub(crate) fn has_tungstenite(&self) -> bool {
        self.ctx.is_some()
    }

    /// Has the socket polled on behalf of `cx`'s task.
    fn set_waker(&mut self, cx: &Context<'_>) {
        if !self.io.waker.will_wake(cx.waker()) {
            self.io.waker = cx.waker().clone();
        }
    }

    /// tungstenite's state, created when first needed, and the socket.
    fn tungstenite(&mut self) -> (&mut WebSocketContext, &mut Io<S>) {
        let config = &self.config;
        let ctx = self.ctx.get_or_insert_with(|| {
            Box::new(WebSocketContext::new(
                Role::Server,
                Some(config.tungstenite()),
            ))
        });
        (ctx, &mut self.io)
    }

    /// Writes everything written so far (tungstenite's or not), then flushes the socket.
    fn flush(&mut self) -> Result<(), WsError> {
        match &mut self.ctx {
            Some(ctx) => ctx.flush(&mut self.io),
            None => Ok(self.io.flush()?),
        }
    }

    /// The next message, `WouldBlock` while there is none.
    fn read(&mut self) -> Result<Message, WsError> {
        if self.pong_owed {
            // tungstenite would write it at its next read, as here.
            match self.flush() {
                Ok(()) => self.pong_owed = false,
                Err(WsError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        loop {
            if self.io.feed > 0 {
                let (ctx, io) = self.tungstenite();
                match ctx.read(io) {
                    Ok(msg) => {
                        if let Message::Ping(_) = msg {
                            self.pong_owed = true;
                        }
                        return Ok(msg);
                    }
                    // The frame it was handed is all read (a fragment, say): on to the next.
                    Err(WsError::Io(e))
                        if e.kind() == io::ErrorKind::WouldBlock && self.io.feed == 0 => {}
                    Err(e) => return Err(e),
                }
            }
            let max = self.config.max_frame.min(self.config.max_message);
            let io = &mut self.io;
            match next_frame(io.held(), max, self.fragmented) {
                Next::Own { head, len, op, key } if io.held().len() >= head + len => {
                    // Its bytes become the message's, unmasked in place, not copied.
                    let mut frame = io.held.split_to(head + len);
                    io.release_if_empty();
                    // The header advanced past rather than sliced off the frozen bytes: no
                    // second handle on the allocation (two atomic operations a frame).
                    frame.advance(head);
                    let ascii = unmask(&mut frame, key);
                    return payload_message(frame.freeze(), op, ascii);
                }
                Next::Own { head, len, .. } => {
                    // Room for the rest of the frame, up to 64 KiB at once: a header alone
                    // does not make the server allocate a whole frame's worth.
                    let need = head + len - io.held().len();
                    io.held.reserve(need.min(RESERVE_AHEAD));
                }
                Next::Theirs { total, first } => {
                    let data = first & 0x08 == 0;
                    if data && first & 0x80 == 0 {
                        self.fragmented = true;
                    } else if data && first & 0x0f == 0 {
                        self.fragmented = false;
                    }
                    // From the peer's close on, tungstenite reads everything.
                    io.feed = if first & 0x0f == 0x08 {
                        usize::MAX
                    } else {
                        total
                    };
                    continue;
                }
                Next::Header => {}
            }
            if let Some(msg) = self.read_socket(max)? {
                return msg;
            }
        }
    }

    /// Reads the socket (into a buffer on the stack) and keeps what it read, or, with nothing
    /// held before, makes a whole first frame read here its message at once and keeps the rest.
    /// At the end of the stream, or on an error, tungstenite is handed the rest: it reads what
    /// is held, then that.
    fn read_socket(&mut self, max: usize) -> Result<Option<Result<Message, WsError>>, WsError> {
        let io = &mut self.io;
        let mut chunk = [MaybeUninit::<u8>::uninit(); READ_CHUNK];
        let mut buf = ReadBuf::uninit(&mut chunk);
        match poll_io(&mut io.inner, &io.waker, |s, cx| s.poll_read(cx, &mut buf)) {
            Ok(()) if buf.filled().is_empty() => io.eof = true,
            Ok(()) => {
                let read = buf.filled();
                io.tally.observe(read);
                if io.held().is_empty()
                    && let Next::Own { head, len, op, key } = next_frame(read, max, self.fragmented)
                    && read.len() == head + len
                {
                    // One whole frame, nothing after it: copied out of the stack buffer. A read
                    // of several frames is held, and they are split off it (one allocation).
                    return Ok(Some(own_message(&read[head..], op, key)));
                }
                if io.held().is_empty()
                    && let Next::Own { head, len, .. } = next_frame(read, max, self.fragmented)
                    && read.len() < head + len
                {
                    // The start of a frame: room for (up to 64 KiB of) the rest at once.
                    io.room();
                    io.held.reserve((head + len).min(RESERVE_AHEAD));
                }
                io.hold(read);
                return Ok(None);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Err(WsError::Io(e)),
            Err(e) => io.error = Some(e),
        }
        io.feed = usize::MAX;
        Ok(None)
    }

    /// Writes frames the outbound queue wrote into one buffer (each its header, then its
    /// payload: `outbound::Sender::try_send_frame`), as [`Sink::start_send`] writes messages
    /// (call it when `poll_ready` said so). With nothing buffered, the buffer becomes the
    /// write buffer, without a copy. Once tungstenite's state exists, each frame goes through
    /// it as a message.
    pub(crate) fn send_frames(&mut self, frames: Vec<u8>) -> Result<(), WsError> {
        let written = match &self.ctx {
            None => {
                let io = &mut self.io;
                if io.out_len() == 0 {
                    spare::keep_out(std::mem::replace(&mut io.out, frames));
                    io.out_start = 0;
                } else {
                    io.out.extend_from_slice(&frames);
                    spare::keep_out(frames);
                }
                if io.out_len() > self.config.write_buffer {
                    io.write_out().map_err(WsError::Io)
                } else {
                    Ok(())
                }
            }
            Some(_) => {
                let written = self.frames_through_tungstenite(&frames);
                spare::keep_out(frames);
                written
            }
        };
        self.sent(written)
    }

    /// [`WsStream::send_frames`] once tungstenite's state exists: each frame as its message.
    fn frames_through_tungstenite(&mut self, mut frames: &[u8]) -> Result<(), WsError> {
        // A write the socket could not take yet still buffered its frame: the next ones are
        // buffered after it, and the caller hears of the full socket at the end.
        let mut blocked = None;
        // The queue's own unmasked frames.
        while let Some(h) = FrameHead::read(frames) {
            let Some(payload) = frames.get(h.head..h.total()) else {
                break;
            };
            let after = &frames[h.total()..];
            let payload = Bytes::copy_from_slice(payload);
            let msg = match h.first & 0x0f {
                0x1 => Message::Text(Utf8Bytes::try_from(payload)?),
                _ => Message::Binary(payload),
            };
            let (ctx, io) = self.tungstenite();
            match ctx.write(io, msg) {
                Ok(()) => {}
                Err(WsError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => blocked = Some(e),
                Err(e) => return Err(e),
            }
            frames = after;
        }
        blocked.map_or(Ok(()), |e| Err(WsError::Io(e)))
    }

    /// What `start_send` and `send_frames` answer for a write: queued but the socket is full
    /// is not an error (`poll_ready` flushes before the next one).
    fn sent(&mut self, written: Result<(), WsError>) -> Result<(), WsError> {
        match written {
            Ok(()) => {
                self.ready = true;
                Ok(())
            }
            Err(WsError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                self.ready = false;
                Ok(())
            }
            Err(e) => {
                self.ready = true;
                Err(e)
            }
        }
    }

    /// Writes a text, binary or ping frame here (tungstenite's state not needed): buffered
    /// as tungstenite buffers, written once more than `write_buffer_size` bytes are.
    fn write_own(&mut self, op: u8, payload: &[u8]) -> Result<(), WsError> {
        let (header, n) = frame_header(0x80 | op, payload.len());
        let io = &mut self.io;
        // A batch's first frame makes room for a few more (not one reallocation per frame);
        // the next ones grow the buffer only when they do not fit.
        let len = n + payload.len();
        if io.out.capacity() == 0 {
            io.out = spare::out_buffer(len.max(OUT_FIRST));
        }
        io.out.reserve(len);
        io.out.extend_from_slice(&header[..n]);
        io.out.extend_from_slice(payload);
        if io.out_len() > self.config.write_buffer {
            io.write_out()?;
        }
        Ok(())
    }
}

/// `WouldBlock` as `Pending`.
fn cvt<T>(r: Result<T, WsError>) -> Poll<Result<T, WsError>> {
    match r {
        Err(WsError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => Poll::Pending,
        r => Poll::Ready(r),
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Stream for WsStream<S> {
    type Item = Result<Message, WsError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.ended {
            return Poll::Ready(None);
        }
        let this = &mut *self;
        this.set_waker(cx);
        match std::task::ready!(cvt(this.read())) {
            Ok(msg) => Poll::Ready(Some(Ok(msg))),
            Err(e) => {
                self.ended = true;
                match e {
                    WsError::AlreadyClosed | WsError::ConnectionClosed => Poll::Ready(None),
                    e => Poll::Ready(Some(Err(e))),
                }
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Sink<Message> for WsStream<S> {
    type Error = WsError;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        if self.ready {
            return Poll::Ready(Ok(()));
        }
        // Held back by a full socket: flush that first.
        self.set_waker(cx);
        let flushed = std::task::ready!(cvt(self.flush()));
        self.ready = true;
        Poll::Ready(flushed)
    }

    fn start_send(mut self: Pin<&mut Self>, msg: Message) -> Result<(), WsError> {
        let this = &mut *self;
        let written = match (&this.ctx, msg) {
            (None, Message::Text(t)) => this.write_own(0x1, t.as_bytes()),
            (None, Message::Binary(b)) => this.write_own(0x2, &b),
            (None, Message::Ping(p)) => this.write_own(0x9, &p),
            (_, msg) => {
                let (ctx, io) = this.tungstenite();
                ctx.write(io, msg)
            }
        };
        this.sent(written)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        self.set_waker(cx);
        let flushed = std::task::ready!(cvt(self.flush()));
        self.ready = true;
        match flushed {
            // The close handshake just completed: flushed, not an error.
            Err(WsError::ConnectionClosed) => Poll::Ready(Ok(())),
            other => Poll::Ready(other),
        }
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        self.ready = true;
        self.set_waker(cx);
        let closing = self.closing;
        let (ctx, io) = self.tungstenite();
        let done = if closing {
            ctx.flush(io)
        } else {
            ctx.close(io, None)
        };
        match done {
            Ok(()) | Err(WsError::ConnectionClosed) => Poll::Ready(Ok(())),
            Err(WsError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                self.closing = true;
                Poll::Pending
            }
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use futures_util::{SinkExt, StreamExt};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// Unmasking says whether the payload is ASCII, wherever the one byte that is not lies
    /// (in a chunk, a word or the last few); so does the one-pass copy.
    #[test]
    fn unmasking_finds_the_one_byte_that_is_not_ascii() {
        let key = [0x80u8, 0x01, 0x7f, 0xff];
        let masked = |plain: &[u8]| -> Vec<u8> {
            plain
                .iter()
                .enumerate()
                .map(|(i, b)| b ^ key[i % 4])
                .collect()
        };
        for len in [1, 7, 8, 9, 31, 32, 33, 40, 45, 64, 100] {
            let ascii = vec![b'a'; len];
            assert!(unmask(&mut masked(&ascii), key), "{len} bytes");
            let own = own_message(&masked(&ascii), 0x1, key).unwrap();
            assert_eq!(own.into_data(), ascii);
            for at in 0..len {
                let mut plain = ascii.clone();
                plain[at] = 0xc3;
                assert!(
                    !unmask(&mut masked(&plain), key),
                    "{len} bytes, 0xc3 at {at}"
                );
                // Not UTF-8 either: the UTF-8 check, which the ASCII one spared, refuses it.
                assert!(
                    own_message(&masked(&plain), 0x1, key).is_err(),
                    "{len}, {at}"
                );
                // Not ASCII but UTF-8 (`é`, where it fits): refused as ASCII, accepted as text.
                if at + 1 < len {
                    plain[at..at + 2].copy_from_slice("é".as_bytes());
                    assert!(!unmask(&mut masked(&plain), key), "{len} bytes, é at {at}");
                    let own = own_message(&masked(&plain), 0x1, key).unwrap();
                    assert_eq!(own.into_data(), plain, "{len} bytes, é at {at}");
                    plain[at + 1] = b'a';
                }
                plain[at] = 0x7f;
                assert!(
                    unmask(&mut masked(&plain), key),
                    "{len} bytes, 0x7f at {at}"
                );
            }
        }
    }

    /// A masked client text frame (RFC 6455 5.3) with a short payload.
    fn client_text(payload: &[u8]) -> Vec<u8> {
        let key = [1u8, 2, 3, 4];
        let mut frame = vec![0x81, 0x80 | payload.len() as u8];
        frame.extend_from_slice(&key);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        frame
    }

    #[tokio::test]
    async fn reads_writes_and_closes_over_a_socket() {
        // A stream that loses its task's waker hangs: fail instead.
        tokio::time::timeout(std::time::Duration::from_secs(10), exchange())
            .await
            .expect("the stream woke its task");
    }

    async fn exchange() {
        let (server, mut client) = tokio::io::duplex(64);
        // Bytes read past the handshake come first.
        let first = client_text(b"one");
        let mut ws = WsStream::new(server, first, Config::new(&WebSocketConfig::default()));
        client.write_all(&client_text(b"two")).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), Message::text("one"));
        assert_eq!(ws.next().await.unwrap().unwrap(), Message::text("two"));

        // A reply bigger than the duplex buffer: sending waits until the client reads.
        let big = "x".repeat(1000);
        let reader = tokio::spawn(async move {
            let mut got = vec![0u8; 4 + 1000];
            client.read_exact(&mut got).await.unwrap();
            (client, got)
        });
        ws.send(Message::text(big.clone())).await.unwrap();
        let (mut client, got) = reader.await.unwrap();
        assert_eq!(got[..4], [0x81, 126, 0x03, 0xe8]);
        assert_eq!(&got[4..], big.as_bytes());

        // The client's close is answered, and the stream ends.
        let mut close = vec![0x88, 0x82, 0, 0, 0, 0];
        close.extend_from_slice(&1000u16.to_be_bytes());
        client.write_all(&close).await.unwrap();
        assert!(matches!(ws.next().await, Some(Ok(Message::Close(Some(_))))));
        SinkExt::close(&mut ws).await.unwrap();
        let mut answer = [0u8; 4];
        client.read_exact(&mut answer).await.unwrap();
        assert_eq!(answer, [0x88, 2, 0x03, 0xe8]);
        assert!(ws.next().await.is_none());
    }
}

/// The frames read here against tungstenite reading the same bytes itself: the same messages and
/// the same error, over a real socket, with the bytes arriving in pieces of every size.
#[cfg(test)]
mod differential {
    use futures_util::{SinkExt, StreamExt};
    use tokio::io::AsyncRead;
    use tokio::io::AsyncWriteExt;
    use tokio::net::{TcpListener, TcpStream};
    use tokio_tungstenite::tungstenite::WebSocket;
    use tokio_tungstenite::tungstenite::protocol::CloseFrame;

    use super::*;
    use crate::frame_check::{Memory, Pieces, block_on, server_frames, tungstenite_reads};

    /// A client frame: first byte `b0`, masked unless `unmasked`, with this payload.
    fn frame(b0: u8, payload: &[u8], masked: bool) -> Vec<u8> {
        let key = [0x37u8, 0xfa, 0x21, 0x3d];
        let m = if masked { 0x80 } else { 0 };
        let mut out = vec![b0];
        match payload.len() {
            n if n < 126 => out.push(m | n as u8),
            n if n <= 0xffff => {
                out.push(m | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(m | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        if masked {
            out.extend_from_slice(&key);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        } else {
            out.extend_from_slice(payload);
        }
        out
    }

    fn text(s: &str) -> Vec<u8> {
        frame(0x81, s.as_bytes(), true)
    }

    /// The streams compared: each a client's bytes, then the end of the stream.
    fn cases() -> Vec<(&'static str, Vec<u8>)> {
        let big: String = "abcdefghij".repeat(7_000);
        let mut cases = vec![
            (
                "small frames",
                [text("one"), text(""), text("{\"type\":\"X\"}")].concat(),
            ),
            (
                "every length form",
                [
                    text(&big[..125]),
                    text(&big[..126]),
                    frame(0x82, &[7u8; 65_535], true),
                    text(&big[..65_536]),
                    text(&big),
                ]
                .concat(),
            ),
            (
                "pings and pongs between frames",
                [
                    frame(0x89, b"p", true),
                    text("a"),
                    frame(0x8a, b"", true),
                    text("b"),
                ]
                .concat(),
            ),
            (
                "a fragmented message with a ping inside",
                [
                    text("before"),
                    frame(0x01, b"fr", true),
                    frame(0x89, b"", true),
                    frame(0x00, b"ag", true),
                    frame(0x80, &big.as_bytes()[..300], true),
                    text("after"),
                ]
                .concat(),
            ),
            (
                "a close frame, then more",
                [
                    text("x"),
                    frame(0x88, &1000u16.to_be_bytes(), true),
                    text("late"),
                ]
                .concat(),
            ),
            ("close without a code", [frame(0x88, b"", true)].concat()),
            (
                "unmasked",
                [text("ok"), frame(0x81, b"bad", false)].concat(),
            ),
            (
                "reserved bit",
                [text("ok"), frame(0xc1, b"bad", true)].concat(),
            ),
            (
                "reserved opcode",
                [text("ok"), frame(0x83, b"bad", true)].concat(),
            ),
            ("reserved control opcode", [frame(0x8b, b"", true)].concat()),
            ("continuation first", [frame(0x80, b"bad", true)].concat()),
            (
                "text inside a fragmented message",
                [frame(0x01, b"a", true), text("b")].concat(),
            ),
            (
                "invalid UTF-8",
                [text("ok"), frame(0x81, &[0xff, 0xfe], true)].concat(),
            ),
            (
                "invalid UTF-8 across fragments",
                [frame(0x01, &[0xe2, 0x82], true), frame(0x80, &[0x28], true)].concat(),
            ),
            (
                "UTF-8 split across fragments",
                [frame(0x01, &[0xe2, 0x82], true), frame(0x80, &[0xac], true)].concat(),
            ),
            (
                "binary not UTF-8",
                [frame(0x82, &[0xff, 0, 1], true)].concat(),
            ),
            (
                "control frame too big",
                [frame(0x89, &[1u8; 126], true)].concat(),
            ),
            (
                "fragmented control frame",
                [frame(0x09, b"", true)].concat(),
            ),
            (
                "frame over the limit",
                [text("ok"), text(&big[..2_000])].concat(),
            ),
            (
                "message over the limit",
                [
                    frame(0x01, &[b'a'; 1_000], true),
                    frame(0x80, &[b'a'; 1_000], true),
                ]
                .concat(),
            ),
            ("huge length", {
                let mut f = vec![0x81, 0xff];
                f.extend_from_slice(&u64::MAX.to_be_bytes());
                f.extend_from_slice(&[0, 0, 0, 0]);
                f
            }),
            ("a frame cut off", text("unfinished")[..8].to_vec()),
            ("a header cut off", text("unfinished")[..3].to_vec()),
        ];
        // Garbage: a pseudo-random stream after a valid frame.
        let mut x: u32 = 7;
        let mut garbage = text("ok");
        for _ in 0..64 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            garbage.push((x >> 16) as u8);
        }
        cases.push(("garbage", garbage));
        cases
    }

    fn config(limited: bool) -> WebSocketConfig {
        let max = if limited { 1_500 } else { 1 << 20 };
        WebSocketConfig::default()
            .max_frame_size(Some(max))
            .max_message_size(Some(max))
    }

    /// What a `WsStream` reads from `bytes`, sent over TCP in pieces of `step` bytes.
    async fn ours(bytes: &[u8], config: WebSocketConfig, step: usize) -> Vec<String> {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let bytes = bytes.to_vec();
        let writer = tokio::spawn(async move {
            let mut client = TcpStream::connect(addr).await.unwrap();
            client.set_nodelay(true).unwrap();
            for piece in bytes.chunks(step) {
                // The peer may have closed after an error: what it does not read is moot.
                if client.write_all(piece).await.is_err() {
                    return;
                }
                tokio::task::yield_now().await;
            }
            let _ = client.shutdown().await;
            // Keep the socket until the server is done with it.
            let mut sink = Vec::new();
            let _ = tokio::io::AsyncReadExt::read_to_end(&mut client, &mut sink).await;
        });
        let (socket, _) = listener.accept().await.unwrap();
        let mut ws = WsStream::new(socket, Vec::new(), Config::new(&config));
        let mut out = Vec::new();
        loop {
            match ws.next().await {
                Some(Ok(m)) => out.push(format!("{m:?}")),
                Some(Err(e)) => {
                    out.push(format!("error: {e}"));
                    break;
                }
                None => {
                    // tokio-tungstenite's stream ends (`None`) where tungstenite says closed.
                    out.push(format!("error: {}", WsError::ConnectionClosed));
                    break;
                }
            }
        }
        drop(ws);
        writer.await.unwrap();
        out
    }

    /// A connected pair over TCP: the server's stream and the client's socket.
    async fn pair() -> (WsStream<TcpStream>, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap());
        let (client, accepted) = tokio::join!(client, listener.accept());
        let ws = WsStream::new(accepted.unwrap().0, Vec::new(), Config::new(&config(false)));
        (ws, client.unwrap())
    }

    #[tokio::test]
    async fn an_idle_stream_holds_no_bytes() {
        let (mut ws, mut client) = pair().await;
        // Three frames in one write: the two after the first are held, then none.
        client
            .write_all(&[text("a"), text("b"), text("c")].concat())
            .await
            .unwrap();
        for want in ["a", "b", "c"] {
            assert_eq!(ws.next().await.unwrap().unwrap(), Message::text(want));
        }
        assert_eq!(ws.held_capacity(), 0);
        // Half a frame is held until the rest comes.
        let f = text(&"x".repeat(5_000));
        client.write_all(&f[..2_000]).await.unwrap();
        let waited = tokio::time::timeout(std::time::Duration::from_millis(200), ws.next()).await;
        assert!(waited.is_err(), "half a frame is no message");
        assert!(ws.held_capacity() >= f.len(), "room for the whole frame");
        client.write_all(&f[2_000..]).await.unwrap();
        let msg = ws.next().await.unwrap().unwrap();
        assert_eq!(msg.len(), 5_000);
        assert_eq!(ws.held_capacity(), 0);
        // The header of a big frame does not make it reserve the whole frame.
        let big = text(&"y".repeat(1_000_000));
        client.write_all(&big[..100]).await.unwrap();
        let waited = tokio::time::timeout(std::time::Duration::from_millis(200), ws.next()).await;
        assert!(waited.is_err(), "part of a frame is no message");
        assert!(ws.held_capacity() <= 128 * 1024, "{}", ws.held_capacity());
        client.write_all(&big[100..]).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap().len(), 1_000_000);
        assert_eq!(ws.held_capacity(), 0);
        // Data frames and pongs need no tungstenite state; a ping does.
        client.write_all(&frame(0x8a, b"", true)).await.unwrap();
        assert_eq!(
            ws.next().await.unwrap().unwrap(),
            Message::Pong(Bytes::new())
        );
        assert!(!ws.has_tungstenite());
        client.write_all(&frame(0x89, b"", true)).await.unwrap();
        assert_eq!(
            ws.next().await.unwrap().unwrap(),
            Message::Ping(Bytes::new())
        );
        assert!(ws.has_tungstenite());
    }

    #[tokio::test]
    async fn writes_what_tungstenite_writes() {
        let big = "z".repeat(70_000);
        let messages = vec![
            Message::text("a"),
            Message::binary(vec![9u8; 300]),
            Message::Ping("p".into()),
            Message::text(big),
            Message::text(""),
            Message::Close(Some(CloseFrame {
                code: 1000.into(),
                reason: "bye".into(),
            })),
        ];
        let want = written_by_tungstenite(messages.clone());
        let (mut ws, reader) = pair_read_to_end().await;
        for m in messages {
            let close = matches!(m, Message::Close(_));
            if close {
                // Everything before the close was written here, without tungstenite.
                assert!(!ws.has_tungstenite());
            }
            ws.feed(m).await.unwrap();
        }
        SinkExt::flush(&mut ws).await.unwrap();
        drop(ws);
        assert_eq!(reader.await.unwrap(), want);
    }

    /// The bytes tungstenite writes for `messages`.
    fn written_by_tungstenite(messages: Vec<Message>) -> Vec<u8> {
        let mut reference =
            WebSocket::from_raw_socket(Memory::new(&[]), Role::Server, Some(config(false)));
        for m in messages {
            reference.write(m).unwrap();
        }
        reference.flush().unwrap();
        reference.get_ref().written.clone()
    }

    /// A stream and the task that reads everything its peer receives.
    async fn pair_read_to_end() -> (WsStream<TcpStream>, tokio::task::JoinHandle<Vec<u8>>) {
        let (ws, mut client) = pair().await;
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            tokio::io::AsyncReadExt::read_to_end(&mut client, &mut got)
                .await
                .unwrap();
            got
        });
        (ws, reader)
    }

    /// Frames the outbound queue wrote into one buffer go out as tungstenite would write their
    /// messages: before tungstenite's state exists (the buffer taken as is, or appended) and
    /// after (each frame through it, the lengths of all three header forms).
    #[tokio::test]
    async fn queued_frames_are_written_as_tungstenite_writes_their_messages() {
        let queued = |texts: &[&str]| -> Vec<u8> {
            let mut out = Vec::new();
            for t in texts {
                let (header, n) = super::super::socket::text_frame_header(t.len());
                out.extend_from_slice(&header[..n]);
                out.extend_from_slice(t.as_bytes());
            }
            out
        };
        let (mid, big) = ("m".repeat(300), "z".repeat(70_000));
        let batches: [&[&str]; 4] = [&["a", "b"], &[&mid], &[&big, ""], &["c", &mid]];
        let mut messages = Vec::new();
        for (i, batch) in batches.iter().enumerate() {
            messages.extend(batch.iter().map(|t| Message::text(*t)));
            if i == 1 {
                messages.push(Message::Pong("p".into()));
            }
        }
        messages.push(Message::Close(None));
        let want = written_by_tungstenite(messages);

        let (mut ws, reader) = pair_read_to_end().await;
        for (i, batch) in batches.iter().enumerate() {
            std::future::poll_fn(|cx| ws.poll_ready_unpin(cx))
                .await
                .unwrap();
            ws.send_frames(queued(batch)).unwrap();
            assert_eq!(ws.has_tungstenite(), i >= 2);
            if i == 1 {
                // A pong creates tungstenite's state: the frames after it go through it.
                ws.feed(Message::Pong("p".into())).await.unwrap();
            }
        }
        ws.feed(Message::Close(None)).await.unwrap();
        SinkExt::flush(&mut ws).await.unwrap();
        drop(ws);
        assert_eq!(reader.await.unwrap(), want);
    }

    /// A socket that counts the reads that returned bytes.
    struct Counting(TcpStream, usize);

    impl AsyncRead for Counting {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let before = buf.filled().len();
            let polled = Pin::new(&mut self.0).poll_read(cx, buf);
            if buf.filled().len() > before {
                self.1 += 1;
            }
            polled
        }
    }

    impl AsyncWrite for Counting {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            Pin::new(&mut self.0).poll_write(cx, buf)
        }
        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.0).poll_flush(cx)
        }
        fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.0).poll_shutdown(cx)
        }
    }

    /// The pongs tungstenite owes for pings go out whole, however little of them each write
    /// takes, while the stream goes on reading and writes frames of its own (an echo of each
    /// text): no frame goes out inside another, none is lost; then the close's answer. (A pong
    /// for an older ping may be left out for a newer one's, as RFC 6455 5.5.3 allows.)
    #[test]
    fn pongs_go_out_whole_through_a_socket_that_takes_a_byte_a_write() {
        let bytes = [
            frame(0x89, b"a", true),
            frame(0x81, b"x", true),
            frame(0x89, b"bc", true),
            frame(0x81, b"y", true),
            frame(0x88, &[0x03, 0xe8], true),
        ]
        .concat();
        for step in [1, 3, 100] {
            let socket = Pieces::new(bytes.clone(), step).writes_of(1);
            let mut ws = WsStream::new(socket, Vec::new(), Config::new(&config(false)));
            let read = block_on(async {
                let mut read = Vec::new();
                while let Some(Ok(msg)) = ws.next().await {
                    if msg.is_text() {
                        ws.send(msg.clone()).await.unwrap();
                    }
                    read.push(msg);
                }
                read
            });
            assert_eq!(
                read,
                [
                    Message::Ping("a".into()),
                    Message::text("x"),
                    Message::Ping("bc".into()),
                    Message::text("y"),
                    Message::Close(Some(CloseFrame {
                        code: 1000.into(),
                        reason: "".into()
                    })),
                ],
                "step {step}"
            );
            let _ = block_on(SinkExt::close(&mut ws));
            // Whole frames from the server (unmasked, payloads under 126 bytes), to the last byte.
            let mut written = ws.get_mut().written.as_slice();
            let mut frames = Vec::new();
            while let [first, len, rest @ ..] = written {
                let len = usize::from(*len);
                assert!(len <= rest.len(), "step {step}: a frame cut short");
                frames.push((*first, rest[..len].to_vec()));
                written = &rest[len..];
            }
            assert!(written.is_empty(), "step {step}: {written:?} left over");
            let (close, rest) = frames.split_last().expect("frames were written");
            assert_eq!(*close, (0x88, vec![0x03, 0xe8]), "step {step}");
            let (texts, pongs): (Vec<_>, Vec<_>) =
                rest.iter().partition(|(first, _)| *first == 0x81);
            assert_eq!(
                texts,
                [&(0x81, b"x".to_vec()), &(0x81, b"y".to_vec())],
                "step {step}"
            );
            assert!(
                pongs
                    .iter()
                    .all(|(first, p)| *first == 0x8a && (p == b"a" || p == b"bc"))
            );
            assert_eq!(
                pongs.last().map(|p| p.1.as_slice()),
                Some(&b"bc"[..]),
                "step {step}"
            );
        }
    }

    /// A pong the socket could not take at once goes out without anything more to read: the
    /// stream's next poll writes what is owed, though the peer sent nothing since its ping.
    #[test]
    fn an_owed_pong_goes_out_while_the_peer_is_quiet() {
        let socket = Pieces::new(frame(0x89, b"are you there", true), 100)
            .then_silent()
            .writes_of(2);
        let mut ws = WsStream::new(socket, Vec::new(), Config::new(&config(false)));
        let ping = block_on(ws.next()).expect("a message").expect("read");
        assert_eq!(ping, Message::Ping("are you there".into()));
        let mut cx = Context::from_waker(Waker::noop());
        for _ in 0..64 {
            assert!(Pin::new(&mut ws).poll_next(&mut cx).is_pending());
        }
        assert_eq!(ws.get_mut().written, frame(0x8a, b"are you there", false));
        assert_eq!(ws.owed(), 0);
    }

    #[tokio::test]
    async fn frames_for_tungstenite_are_read_from_the_socket_in_big_pieces() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap());
        let (client, accepted) = tokio::join!(client, listener.accept());
        let mut client = client.unwrap();
        let socket = Counting(accepted.unwrap().0, 0);
        let mut ws = WsStream::new(socket, Vec::new(), Config::new(&config(false)));
        // A fragmented message of 400,000 bytes: tungstenite reads it, 256 bytes at a time from
        // what is held here, but the socket is read 16 KiB at a time (about 25 reads; some
        // more when the bytes come in smaller segments, not one per 256 or 14 bytes).
        let half = vec![b'a'; 200_000];
        let bytes = [frame(0x01, &half, true), frame(0x80, &half, true)].concat();
        let writer = tokio::spawn(async move {
            client.write_all(&bytes).await.unwrap();
            client
        });
        let msg = ws.next().await.unwrap().unwrap();
        assert_eq!(msg.len(), 400_000);
        let reads = ws.get_mut().1;
        assert!(reads < 400, "{reads} reads of the socket");
        drop(writer.await.unwrap());
    }

    #[tokio::test]
    async fn answers_a_ping_while_it_waits_for_frames() {
        let (mut ws, mut client) = pair().await;
        client.write_all(&frame(0x89, b"hi", true)).await.unwrap();
        assert_eq!(
            ws.next().await.unwrap().unwrap(),
            Message::Ping("hi".into())
        );
        // The stream is polled again (and waits): the pong goes out then, as tungstenite's does.
        let reader = async {
            let mut pong = [0u8; 4];
            tokio::io::AsyncReadExt::read_exact(&mut client, &mut pong)
                .await
                .unwrap();
            pong
        };
        let pong = tokio::time::timeout(std::time::Duration::from_secs(10), async {
            tokio::select! {
                pong = reader => pong,
                _ = ws.next() => panic!("no frame was sent"),
            }
        })
        .await
        .expect("the pong was written");
        assert_eq!(pong, [0x8a, 2, b'h', b'i']);
    }

    #[tokio::test]
    async fn reads_what_tungstenite_reads() {
        for (name, bytes) in cases() {
            for limited in [false, true] {
                let want = tungstenite_reads(&bytes, Role::Server, config(limited));
                for step in [1, 2, 3, 7, 14, 100, 4096, 1 << 20] {
                    let got = tokio::time::timeout(
                        std::time::Duration::from_secs(20),
                        ours(&bytes, config(limited), step),
                    )
                    .await
                    .unwrap_or_else(|_| panic!("{name}: step {step} hung"));
                    assert_eq!(got, want, "{name} (limited {limited}), step {step}");
                }
                // The same in memory, as the `ws_frames` fuzz target reads.
                let max = config(limited).max_frame_size.unwrap_or(usize::MAX);
                for step in [1, 7, 4096] {
                    if let Err(diff) = server_frames(&bytes, max, step) {
                        panic!("{name} (limited {limited}): {diff}");
                    }
                }
            }
        }
    }
}
