//! The embedded server's socket: tokio-tungstenite reads and writes it, and a publication may
//! also be written to it directly, without waking the connection's task, while the connection
//! is idle (see [`Conn::deliver`](super::connection::Conn)).
//!
//! A direct write is one `writev` of a ready frame (header and the publication's shared bytes).
//! It happens only at a frame boundary: every byte tokio-tungstenite handed to the socket went
//! out (`clean`) and no earlier direct write is still owed (`rest`). The outbound queue decides
//! the rest (nothing queued, nothing fed to tokio-tungstenite and not yet flushed), under its
//! lock, so a direct frame never overtakes a queued one.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

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

/// The TCP socket of one connection, shared by tokio-tungstenite (through [`Socket`]) and
/// direct writers.
pub(crate) struct Shared {
    tcp: TcpStream,
    gate: Mutex<Gate>,
    /// `gate.rest` is set: the connection's task must flush.
    owed: AtomicBool,
}

struct Gate {
    /// Every byte tokio-tungstenite handed to `poll_write` went out: the stream is between
    /// frames.
    clean: bool,
    /// The unwritten end of a direct write.
    rest: Vec<u8>,
}

impl Shared {
    fn gate(&self) -> MutexGuard<'_, Gate> {
        self.gate.lock().unwrap_or_else(|e| e.into_inner())
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
        let (header, header_len) = text_frame_header(payload.len());
        let header = &header[..header_len];
        let total = header.len() + payload.len();
        // A small frame goes out as one buffer: cheaper in the kernel than two.
        let written = if total <= SMALL_FRAME {
            let mut buf = [0u8; SMALL_FRAME];
            buf[..header.len()].copy_from_slice(header);
            buf[header.len()..total].copy_from_slice(payload);
            self.tcp.try_write(&buf[..total])
        } else {
            let slices = [IoSlice::new(header), IoSlice::new(payload)];
            self.tcp.try_write_vectored(&slices)
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

    /// Writes what is owed of a direct write; `Ready(Ok)` once nothing is.
    fn poll_rest(&self, gate: &mut Gate, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !gate.rest.is_empty() {
            ready!(self.tcp.poll_write_ready(cx))?;
            match self.tcp.try_write(&gate.rest) {
                Ok(0) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Ok(n) => {
                    gate.rest.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        if self.owed.load(Ordering::Relaxed) {
            gate.rest = Vec::new();
            self.owed.store(false, Ordering::Release);
        }
        Poll::Ready(Ok(()))
    }
}

/// The header of an unmasked, final text frame of `len` payload bytes (RFC 6455 5.2).
fn text_frame_header(len: usize) -> ([u8; 10], usize) {
    let mut h = [0u8; 10];
    h[0] = 0x81;
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

/// The stream tokio-tungstenite runs on: the shared socket.
pub(crate) struct Socket(Arc<Shared>);

impl Socket {
    /// Wraps an accepted TCP stream; returns the stream and the handle for direct writes.
    pub(crate) fn new(tcp: TcpStream) -> (Socket, Arc<Shared>) {
        let shared = Arc::new(Shared {
            tcp,
            gate: Mutex::new(Gate {
                clean: true,
                rest: Vec::new(),
            }),
            owed: AtomicBool::new(false),
        });
        (Socket(shared.clone()), shared)
    }
}

impl AsyncRead for Socket {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let tcp = &self.0.tcp;
        loop {
            ready!(tcp.poll_read_ready(cx))?;
            match tcp.try_read(buf.initialize_unfilled()) {
                Ok(n) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for Socket {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let shared = &*self.0;
        let mut gate = shared.gate();
        // tokio-tungstenite holds unwritten bytes until this call takes all of them.
        gate.clean = false;
        ready!(shared.poll_rest(&mut gate, cx))?;
        loop {
            ready!(shared.tcp.poll_write_ready(cx))?;
            match shared.tcp.try_write(buf) {
                Ok(n) => {
                    gate.clean = n == buf.len();
                    return Poll::Ready(Ok(n));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let shared = &*self.0;
        if !shared.owes() {
            return Poll::Ready(Ok(()));
        }
        let mut gate = shared.gate();
        shared.poll_rest(&mut gate, cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.as_mut().poll_flush(cx))?;
        let sock = socket2::SockRef::from(&self.0.tcp);
        match sock.shutdown(std::net::Shutdown::Write) {
            Err(e) if e.kind() != io::ErrorKind::NotConnected => Poll::Ready(Err(e)),
            _ => Poll::Ready(Ok(())),
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
