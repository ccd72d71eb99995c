//! A server connection's WebSocket stream: tungstenite's protocol over an async socket, read and
//! written by the connection's one task.
//!
//! tokio-tungstenite's `WebSocketStream` lets its reading and writing sides be polled from
//! different tasks, so each operation hands the caller's waker to two shared proxies (atomic
//! exchanges, and clones when the waker changes). A wskit connection is polled by its own task
//! only: here the socket is polled with that task's waker directly, kept beside the socket and
//! replaced only when a poll comes with a different one. `Stream` and `Sink` behave as
//! tokio-tungstenite's do (the same states, the same errors), so the connection loop and its
//! close handling read the same either way.
//!
//! The socket wrapper also keeps what tungstenite does not tell: the bytes of its write buffer
//! the socket has not taken ([`WsStream::owed`]: automatic pongs pile up there while a client
//! does not read), and a [`Tally`] of the bytes read (the message not complete yet).

use std::io::{self, Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use futures_util::{Sink, Stream};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message, WebSocket};

use super::tally::Tally;

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
}

impl<S> Io<S> {
    fn poll<T>(
        &mut self,
        op: impl FnOnce(Pin<&mut S>, &mut Context<'_>) -> Poll<io::Result<T>>,
    ) -> io::Result<T>
    where
        S: Unpin,
    {
        let mut cx = Context::from_waker(&self.waker);
        match op(Pin::new(&mut self.inner), &mut cx) {
            Poll::Ready(result) => result,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }
}

impl<S: AsyncRead + Unpin> Read for Io<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut buf = ReadBuf::new(buf);
        self.poll(|s, cx| s.poll_read(cx, &mut buf))?;
        self.tally.observe(buf.filled());
        Ok(buf.filled().len())
    }
}

impl<S: AsyncWrite + Unpin> Write for Io<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.poll(|s, cx| s.poll_write(cx, buf));
        self.owed = match &written {
            Ok(n) => buf.len() - n,
            Err(_) => buf.len(),
        };
        written
    }

    fn flush(&mut self) -> io::Result<()> {
        self.poll(|s, cx| s.poll_flush(cx))
    }
}

/// One server connection's WebSocket stream (see the module docs).
pub(crate) struct WsStream<S> {
    ws: WebSocket<Io<S>>,
    /// Nothing is held back by a full socket: another message may be sent.
    ready: bool,
    /// Our close frame is queued; flushing drives the close handshake.
    closing: bool,
    /// The stream ended or failed: it yields nothing more.
    ended: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin> WsStream<S> {
    /// A stream over a socket whose handshake is done; `part` holds bytes already read past it.
    pub(crate) fn new(socket: S, part: Vec<u8>, config: WebSocketConfig) -> Self {
        let mut tally = Tally::default();
        tally.observe(&part);
        let io = Io {
            inner: socket,
            waker: Waker::noop().clone(),
            owed: 0,
            tally,
        };
        WsStream {
            ws: WebSocket::from_partially_read(io, part, Role::Server, Some(config)),
            ready: true,
            closing: false,
            ended: false,
        }
    }

    /// The socket.
    pub(crate) fn get_mut(&mut self) -> &mut S {
        &mut self.ws.get_mut().inner
    }

    /// Bytes tungstenite holds that the socket would not take (0 once a flush completed).
    pub(crate) fn owed(&self) -> usize {
        self.ws.get_ref().owed
    }

    /// The tally of the bytes read.
    pub(crate) fn tally(&self) -> &Tally {
        &self.ws.get_ref().tally
    }

    /// Runs `op` with the socket polled on behalf of `cx`'s task.
    fn with_cx<R>(&mut self, cx: &Context<'_>, op: impl FnOnce(&mut WebSocket<Io<S>>) -> R) -> R {
        let io = self.ws.get_mut();
        if !io.waker.will_wake(cx.waker()) {
            io.waker = cx.waker().clone();
        }
        op(&mut self.ws)
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
        match std::task::ready!(self.with_cx(cx, |ws| cvt(ws.read()))) {
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
        let flushed = std::task::ready!(self.with_cx(cx, |ws| cvt(ws.flush())));
        self.ready = true;
        Poll::Ready(flushed)
    }

    fn start_send(mut self: Pin<&mut Self>, msg: Message) -> Result<(), WsError> {
        match self.ws.write(msg) {
            Ok(()) => {
                self.ready = true;
                Ok(())
            }
            // Queued, but the socket is full: `poll_ready` flushes before the next one.
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

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        let flushed = std::task::ready!(self.with_cx(cx, |ws| cvt(ws.flush())));
        self.ready = true;
        match flushed {
            // The close handshake just completed: flushed, not an error.
            Err(WsError::ConnectionClosed) => Poll::Ready(Ok(())),
            other => Poll::Ready(other),
        }
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        self.ready = true;
        let closing = self.closing;
        let done = self.with_cx(cx, |ws| if closing { ws.flush() } else { ws.close(None) });
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
        let mut ws = WsStream::new(server, first, WebSocketConfig::default());
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
