//! The embedded server's socket: the connection's WebSocket stream reads and writes it, and a
//! publication may also be written to it directly, without waking the connection's task, while
//! the connection is idle (see [`Conn::deliver`](super::connection::Conn)).
//!
//! A direct write is one `writev` of a ready frame (header and the publication's shared bytes).
//! It happens only at a frame boundary: every byte tungstenite handed to the socket went
//! out (`clean`) and no earlier direct write is still owed (`rest`). The outbound queue decides
//! the rest (nothing queued, nothing fed to tungstenite and not yet flushed), under its
//! lock, so a direct frame never overtakes a queued one.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

/// Frames up to this size are written from one copied buffer rather than two slices.
const SMALL_FRAME: usize = 1024;

/// What became of a direct write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direct {
    /// The whole frame went out.
    Written,
    /// Part of it went out; the rest is owed and goes out before anything else, when the
    /// connection's task flushes.
    Partial,
    /// Nothing was written: queue the frame instead.
    Refused,
}

/// The write half of one connection's TCP socket, shared by tungstenite (through
/// [`Socket`]) and direct writers.
pub(crate) struct SocketWriter {
    gate: Mutex<Gate>,
    /// `gate.rest` is set: the connection's task must flush.
    owed: AtomicBool,
}

struct Gate {
    /// `None` once the connection ended ([`SocketWriter::release`]).
    write: Option<OwnedWriteHalf>,
    /// Every byte tungstenite handed to `poll_write` went out: the stream is between
    /// frames.
    clean: bool,
    /// The unwritten end of a direct write.
    rest: Vec<u8>,
}

impl SocketWriter {
    fn gate(&self) -> MutexGuard<'_, Gate> {
        self.gate.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Loads what [`SocketWriter::write_text_frame`] reads first: the lock word (through the poison
    /// flag beside it) and the gate (for a fan-out's `FrameSink::warm`).
    pub(crate) fn warm(&self) {
        std::hint::black_box((self.gate.is_poisoned(), self.owes()));
    }

    /// Whether part of a direct write is still owed.
    pub(crate) fn owes(&self) -> bool {
        self.owed.load(Ordering::Acquire)
    }

    /// Writes one unmasked text frame with this payload, if the stream is between frames and the
    /// socket takes at least part of it at once. The caller holds the outbound queue's lock and
    /// has checked that nothing is queued or unflushed.
    pub(crate) fn write_text_frame(&self, payload: &[u8]) -> Direct {
        let mut gate = self.gate();
        if !gate.clean || !gate.rest.is_empty() {
            return Direct::Refused;
        }
        let Some(write) = &gate.write else {
            return Direct::Refused;
        };
        let (header, header_len) = text_frame_header(payload.len());
        let header = &header[..header_len];
        let total = header.len() + payload.len();
        // A small frame goes out as one buffer: cheaper in the kernel than two.
        let written = if total <= SMALL_FRAME {
            let mut buf = [0u8; SMALL_FRAME];
            buf[..header.len()].copy_from_slice(header);
            buf[header.len()..total].copy_from_slice(payload);
            write.try_write(&buf[..total])
        } else {
            let slices = [IoSlice::new(header), IoSlice::new(payload)];
            write.try_write_vectored(&slices)
        };
        match written {
            Ok(n) if n == total => Direct::Written,
            Ok(0) | Err(_) => Direct::Refused,
            Ok(n) => {
                // The rest goes out first when the connection's task next writes.
                let mut rest = Vec::with_capacity(total - n);
                if n < header.len() {
                    rest.extend_from_slice(&header[n..]);
                    rest.extend_from_slice(payload);
                } else {
                    rest.extend_from_slice(&payload[n - header.len()..]);
                }
                gate.rest = rest;
                self.owed.store(true, Ordering::Release);
                Direct::Partial
            }
        }
    }

    /// Drops the write half: the socket closes once the connection's task is gone too, however
    /// long handles to the connection live on.
    pub(crate) fn release(&self) {
        let write = self.gate().write.take();
        drop(write);
    }

    /// Writes what is owed of a direct write; `Ready(Ok)` once nothing is.
    fn poll_rest(&self, gate: &mut Gate, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !gate.rest.is_empty() {
            let write = gate.write.as_mut().ok_or_else(not_connected)?;
            let n = ready!(Pin::new(write).poll_write(cx, &gate.rest))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            gate.rest.drain(..n);
        }
        if self.owed.load(Ordering::Relaxed) {
            gate.rest = Vec::new();
            self.owed.store(false, Ordering::Release);
        }
        Poll::Ready(Ok(()))
    }
}

fn not_connected() -> io::Error {
    io::ErrorKind::NotConnected.into()
}

/// The header of an unmasked, final text frame of `len` payload bytes (RFC 6455 5.2).
pub(crate) fn text_frame_header(len: usize) -> ([u8; 10], usize) {
    crate::ws_frame::frame_header(0x81, len)
}

/// The stream the connection's [`WsStream`](super::ws::WsStream) runs on: the read half, and the
/// shared write half.
pub(crate) struct Socket {
    read: OwnedReadHalf,
    write: Arc<SocketWriter>,
}

impl Socket {
    /// Wraps an accepted TCP stream; returns the stream and the handle for direct writes.
    pub(crate) fn new(tcp: TcpStream) -> (Socket, Arc<SocketWriter>) {
        let (read, write) = tcp.into_split();
        let shared = Arc::new(SocketWriter {
            gate: Mutex::new(Gate {
                write: Some(write),
                clean: true,
                rest: Vec::new(),
            }),
            owed: AtomicBool::new(false),
        });
        let socket = Socket {
            read,
            write: shared.clone(),
        };
        (socket, shared)
    }
}

impl AsyncRead for Socket {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.read).poll_read(cx, buf)
    }
}

impl AsyncWrite for Socket {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let shared = &*self.write;
        let mut gate = shared.gate();
        // tungstenite holds unwritten bytes until this call takes all of them.
        gate.clean = false;
        ready!(shared.poll_rest(&mut gate, cx))?;
        let write = gate.write.as_mut().ok_or_else(not_connected)?;
        let n = ready!(Pin::new(write).poll_write(cx, buf))?;
        gate.clean = n == buf.len();
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let shared = &*self.write;
        if !shared.owes() {
            return Poll::Ready(Ok(()));
        }
        let mut gate = shared.gate();
        shared.poll_rest(&mut gate, cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let shared = &*self.write;
        let mut gate = shared.gate();
        ready!(shared.poll_rest(&mut gate, cx))?;
        match gate.write.as_mut() {
            Some(write) => Pin::new(write).poll_shutdown(cx),
            None => Poll::Ready(Ok(())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_headers_use_the_shortest_length() {
        assert_eq!(text_frame_header(0), ([0x81, 0, 0, 0, 0, 0, 0, 0, 0, 0], 2));
        assert_eq!(text_frame_header(125).0[..2], [0x81, 125]);
        assert_eq!(text_frame_header(126).0[..4], [0x81, 126, 0, 126]);
        assert_eq!(text_frame_header(65535).0[..4], [0x81, 126, 0xff, 0xff]);
        let (h, n) = text_frame_header(65536);
        assert_eq!(n, 10);
        assert_eq!(h[..10], [0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0]);
    }
}
