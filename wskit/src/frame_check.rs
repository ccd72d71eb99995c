//! The WebSocket frame readers of the server (`server::io::ws`) and of the client
//! (`client::socket`) against tungstenite's, on the same bytes: what each reads from a stream of
//! bytes arriving in pieces, message by message, and how it ends (an error, the end of the
//! stream, a close frame). Those readers handle the common frames themselves and leave the rest
//! to tungstenite, so for every stream of bytes they must read what tungstenite alone reads.
//! Their tests run these comparisons on chosen streams; the `ws_frames` fuzz target (`fuzz/`, through
//! `__private::fuzz`, behind the hidden `__fuzz` feature) runs them on any.
// Built with either runtime; some of the socket's parts serve only the client's tests.
#![cfg_attr(not(feature = "client"), allow(dead_code))]

use std::future::Future;
use std::io;
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message, WebSocket};

/// A server's answer to what was written to a [`Pieces`] socket (an upgrade's response, say).
pub(crate) type Respond = fn(&[u8]) -> Vec<u8>;

/// A socket in memory that reads its bytes `step` at a time, pending before each piece (so a
/// reader's pending path is taken at every piece; it wakes its task at once), and keeps what is
/// written to it, whole or (see [`Pieces::writes_of`]) a few bytes a write. With `respond`, its
/// bytes are made from what was written, once the head of an HTTP request is all there.
pub(crate) struct Pieces {
    pub(crate) bytes: Vec<u8>,
    at: usize,
    step: usize,
    ready: bool,
    pub(crate) written: Vec<u8>,
    /// The most bytes a write takes (`usize::MAX`: all of them, never pending).
    write_step: usize,
    /// The last write was taken (the next is refused).
    write_taken: bool,
    /// Once its bytes are read, reads stay pending instead of ending the stream.
    silent_after: bool,
    pub(crate) respond: Option<Respond>,
}

impl Pieces {
    pub(crate) fn new(bytes: Vec<u8>, step: usize) -> Self {
        Pieces {
            bytes,
            at: 0,
            step: step.max(1),
            ready: false,
            written: Vec::new(),
            write_step: usize::MAX,
            write_taken: false,
            silent_after: false,
            respond: None,
        }
    }

    /// The socket staying open once its bytes are read: every later read is pending (and wakes
    /// its task), where it would otherwise end the stream: a peer that went quiet.
    #[cfg(all(test, feature = "server"))]
    pub(crate) fn then_silent(self) -> Self {
        Pieces {
            silent_after: true,
            ..self
        }
    }

    /// The socket taking at most `step` bytes a write and refusing every other write (pending;
    /// the first is taken): a socket whose send buffer is nearly full.
    #[cfg(test)]
    pub(crate) fn writes_of(self, step: usize) -> Self {
        Pieces {
            write_step: step.max(1),
            ..self
        }
    }
}

/// Where the HTTP head at the start of `b` ends (after its blank line), if it is all there.
pub(crate) fn head_end(b: &[u8]) -> Option<usize> {
    b.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

impl AsyncRead for Pieces {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Some(respond) = self.respond
            && head_end(&self.written).is_some()
        {
            self.bytes = respond(&self.written);
            self.respond = None;
        }
        self.ready = !self.ready;
        let quiet = self.silent_after && self.at == self.bytes.len();
        if !self.ready || self.respond.is_some() || quiet {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let n = self
            .step
            .min(self.bytes.len() - self.at)
            .min(buf.remaining());
        let at = self.at;
        buf.put_slice(&self.bytes[at..at + n]);
        self.at += n;
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Pieces {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.write_step != usize::MAX {
            self.write_taken = !self.write_taken;
            if !self.write_taken {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
        }
        let n = buf.len().min(self.write_step);
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

/// Runs `future` to its end on this thread, polling it again whenever it is pending: for
/// futures over [`Pieces`], which is never pending for long (it wakes its task at once).
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

/// A socket for tungstenite's blocking reader and writer: its bytes, then the end; what is
/// written is kept.
pub(crate) struct Memory<'a> {
    read: &'a [u8],
    pub(crate) written: Vec<u8>,
}

impl<'a> Memory<'a> {
    pub(crate) fn new(read: &'a [u8]) -> Self {
        Memory {
            read,
            written: Vec::new(),
        }
    }
}

impl io::Read for Memory<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        io::Read::read(&mut self.read, buf)
    }
}

impl io::Write for Memory<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.written.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// What tungstenite alone reads from `bytes` as `role`: each message (`Debug`), to the error
/// that ends them, or to the first close frame as a client (`(end)`: the client stops there).
pub(crate) fn tungstenite_reads(bytes: &[u8], role: Role, config: WebSocketConfig) -> Vec<String> {
    let mut ws = WebSocket::from_raw_socket(Memory::new(bytes), role, Some(config));
    let mut seen = Vec::new();
    loop {
        match ws.read() {
            Ok(msg @ Message::Close(_)) if role == Role::Client => {
                seen.push(format!("{msg:?} (end)"));
                return seen;
            }
            Ok(msg) => seen.push(format!("{msg:?}")),
            Err(WsError::ConnectionClosed | WsError::AlreadyClosed) if role == Role::Client => {
                return seen;
            }
            // A server's stream ends (`None`) where tungstenite says closed.
            Err(WsError::AlreadyClosed) => {
                seen.push(format!("error: {}", WsError::ConnectionClosed));
                return seen;
            }
            Err(e) => {
                seen.push(format!("error: {e}"));
                return seen;
            }
        }
    }
}

/// What the server's stream (`WsStream`) reads from `bytes` arriving `step` at a time, as
/// [`tungstenite_reads`] writes it.
#[cfg(feature = "server")]
pub(crate) fn server_reads(bytes: &[u8], config: &WebSocketConfig, step: usize) -> Vec<String> {
    use crate::server::io::ws::{Config, WsStream};
    use futures_util::StreamExt;
    let mut ws = WsStream::new(
        Pieces::new(bytes.to_vec(), step),
        Vec::new(),
        Config::new(config),
    );
    block_on(async {
        let mut seen = Vec::new();
        loop {
            match ws.next().await {
                Some(Ok(m)) => seen.push(format!("{m:?}")),
                Some(Err(e)) => {
                    seen.push(format!("error: {e}"));
                    return seen;
                }
                None => {
                    seen.push(format!("error: {}", WsError::ConnectionClosed));
                    return seen;
                }
            }
        }
    })
}

/// Whether the server's stream reads `bytes`, arriving `step` at a time, as tungstenite alone
/// does, with frames and messages limited to `max` bytes; the two readings when it does not.
#[cfg(feature = "server")]
pub fn server_frames(bytes: &[u8], max: usize, step: usize) -> Result<(), String> {
    let config = WebSocketConfig::default()
        .max_frame_size(Some(max))
        .max_message_size(Some(max));
    let want = tungstenite_reads(bytes, Role::Server, config);
    same_reading(server_reads(bytes, &config, step), want, step)
}

/// `Ok` when a reader read what tungstenite did, else both readings.
fn same_reading(got: Vec<String>, want: Vec<String>, step: usize) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("step {step}: read {got:?}, tungstenite {want:?}"))
    }
}

/// What the client's connection task reads from `bytes` arriving `step` at a time, frames and
/// messages limited to `max` bytes: text frames by `ClientIo::poll_frames`, the rest through
/// tungstenite, as `read_burst` does; as [`tungstenite_reads`] writes it.
#[cfg(feature = "client")]
pub(crate) fn client_reads(bytes: &[u8], max: usize, step: usize) -> Vec<String> {
    use crate::client::socket::ClientIo;
    let config = WebSocketConfig::default().max_frame_size(Some(max));
    let io = ClientIo::upgraded(Pieces::new(bytes.to_vec(), step));
    block_on(async {
        let ws =
            tokio_tungstenite::WebSocketStream::from_raw_socket(io, Role::Client, Some(config))
                .await;
        client_read_all(ws, max).await
    })
}

/// Every message the client's connection task reads from `ws`, to its end (see
/// [`client_reads`]).
#[cfg(feature = "client")]
pub(crate) async fn client_read_all(
    mut ws: tokio_tungstenite::WebSocketStream<crate::client::socket::ClientIo<Pieces>>,
    max: usize,
) -> Vec<String> {
    use crate::client::socket::Step;
    use futures_util::StreamExt;
    let mut seen = Vec::new();
    std::future::poll_fn(|cx| {
        loop {
            let step = ws.get_mut().poll_frames(cx, max, &mut |text| {
                seen.push(format!("{:?}", Message::text(text)));
                true
            });
            match step {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Step::Stop) => unreachable!("the handler above never stops"),
                Poll::Ready(Step::Theirs) => match ws.poll_next_unpin(cx) {
                    Poll::Ready(read) => {
                        let end = match read {
                            Some(Ok(msg @ Message::Close(_))) => format!("{msg:?} (end)"),
                            Some(Ok(msg)) => {
                                seen.push(format!("{msg:?}"));
                                continue;
                            }
                            None
                            | Some(Err(WsError::ConnectionClosed | WsError::AlreadyClosed)) => {
                                return Poll::Ready(());
                            }
                            Some(Err(e)) => format!("error: {e}"),
                        };
                        seen.push(end);
                        return Poll::Ready(());
                    }
                    Poll::Pending if ws.get_ref().feeding() => return Poll::Pending,
                    Poll::Pending => {}
                },
            }
        }
    })
    .await;
    seen
}

/// Whether the client reads `bytes`, arriving `step` at a time, as tungstenite's client alone
/// does, with frames limited to `max` bytes; the two readings when it does not.
#[cfg(feature = "client")]
pub fn client_frames(bytes: &[u8], max: usize, step: usize) -> Result<(), String> {
    let config = WebSocketConfig::default().max_frame_size(Some(max));
    let want = tungstenite_reads(bytes, Role::Client, config);
    same_reading(client_reads(bytes, max, step), want, step)
}
