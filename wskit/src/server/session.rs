//! One connection's life, from the open hooks to the close hooks: it registers the connection,
//! runs its socket loop (`driver`), cleans up and writes the close frame.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use futures_util::FutureExt;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::timeout;
use tracing::Instrument;

use super::close::CloseReason;
use super::connection::{Conn, Connection};
use super::driver;
use super::io::outbound;
use super::io::socket;
use super::io::ws::WsStream;
use super::report::{ErrorCause, panic_message};
use super::request::Registry;
use super::runtime::ConnSlot;
use super::state::ServerState;
use crate::pubsub::ClientId;
use wskit_core::Error;
use wskit_core::wire::close;

/// Releases the socket's write half when dropped.
struct ReleaseOnDrop(Arc<socket::SocketWriter>);

impl Drop for ReleaseOnDrop {
    fn drop(&mut self) {
        self.0.release();
    }
}

/// Runs one upgraded connection to its end: open hooks, the connection loop, cleanup, close
/// hooks. Not an `async fn`: the returned future, which lives as long as the connection, holds
/// `run_inner`'s state alone, without a copy of the arguments.
pub(crate) fn run<D, S>(
    shared: Arc<ServerState<D>>,
    ws: WsStream<S>,
    socket: Option<Arc<socket::SocketWriter>>,
    id: ClientId,
    data: D,
    slot: ConnSlot,
) -> impl Future<Output = ()> + Send
where
    D: Send + Sync + 'static,
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let span = tracing::info_span!("ws.connection", client_id = %id);
    run_inner(shared, ws, socket, id, data, slot).instrument(span)
}

fn run_inner<D, S>(
    shared: Arc<ServerState<D>>,
    mut ws: WsStream<S>,
    socket: Option<Arc<socket::SocketWriter>>,
    id: ClientId,
    data: D,
    slot: ConnSlot,
) -> impl Future<Output = ()> + Send
where
    D: Send + Sync + 'static,
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // The connection's state is made here, before the `async` block: the block keeps what it
    // captures for as long as the connection lives, so it captures the `Arc`, not the id, the
    // socket and the application's data that went into it.
    let (tx, mut rx) = outbound::channel(shared.rt.limits.outbound_queue);
    // However the future ends (even dropped mid-way), the socket closes with it, not with the
    // last handle to the connection.
    let release = socket.clone().map(ReleaseOnDrop);
    let conn = Arc::new(Conn {
        id,
        data: RwLock::new(data),
        rt: shared.rt.clone(),
        out: tx,
        socket,
        queued_bytes: AtomicUsize::new(0),
        unwritten: AtomicUsize::new(0),
        closing: OnceLock::new(),
        close_reason: Mutex::new(None),
        slow: AtomicBool::new(false),
        topics: Mutex::new(None),
        requests: Registry::default(),
        in_flight: AtomicUsize::new(0),
    });
    async move {
        shared.rt.register(conn.id, conn.clone());
        if shared.rt.shutdown.is_cancelled() {
            // Registered after shutdown took its snapshot of the connections to close.
            conn.close(close::GOING_AWAY, close::SHUTDOWN_REASON.into());
        }
        tracing::debug!("connection open");

        for hook in &shared.hooks.open {
            let connection = Connection { conn: conn.clone() };
            match AssertUnwindSafe(hook(connection)).catch_unwind().await {
                Ok(Ok(())) => {}
                Ok(Err(reason)) => {
                    conn.close(close::for_application(reason.code), reason.reason);
                    break;
                }
                Err(panic) => {
                    let message = panic_message(&panic);
                    conn.report(
                        Error::from_code(wskit_core::ErrorCode::Internal),
                        ErrorCause::OpenHookPanic(message),
                    );
                    conn.close(close::INTERNAL_ERROR, close::INTERNAL_ERROR_REASON.into());
                    break;
                }
            }
        }

        let end = driver::run_loop(&shared, &conn, &mut ws, &mut rx).await;
        // Boxed: the connection's future, which lives as long as the connection, would
        // otherwise be as big as the largest of these steps.
        Box::pin(end_connection(shared, conn, ws, rx, end, release, slot)).await;
    }
}

/// The end of a connection: cancel handlers, drop subscriptions, write what is left and the
/// close frame, free the slot, run the close hooks.
async fn end_connection<D, S>(
    shared: Arc<ServerState<D>>,
    conn: Arc<Conn<D>>,
    mut ws: WsStream<S>,
    mut rx: outbound::Receiver<tokio_tungstenite::tungstenite::Message>,
    end: driver::LoopEnd,
    release: Option<ReleaseOnDrop>,
    slot: ConnSlot,
) where
    D: Send + Sync + 'static,
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let id = conn.id;
    conn.shut();
    {
        let mut topics = conn.topics.lock().unwrap_or_else(|e| e.into_inner());
        for topic in topics.take().into_iter().flat_map(|t| *t) {
            shared.rt.pubsub.unsubscribe(&topic, id);
        }
    }
    shared.rt.unregister(id);
    let writable = driver::finish(&conn, &mut ws, &mut rx, &end).await;
    if end.broken && writable {
        // The peer may still be sending (a frame over the limit): let it see our close frame
        // before the socket goes, instead of a reset.
        let close_timeout = shared.rt.limits.close_timeout;
        let io = ws.get_mut();
        let _ = timeout(close_timeout, async {
            let _ = io.shutdown().await;
            let mut buf = vec![0u8; 4096];
            while let Ok(n) = io.read(&mut buf).await {
                if n == 0 {
                    break;
                }
            }
        })
        .await;
    }

    let reason = conn
        .close_reason()
        .or(end.peer_close)
        .unwrap_or_else(|| CloseReason::new(close::ABNORMAL, ""));
    tracing::debug!(code = reason.code, reason = %reason.reason, "connection closed");
    // The slot is free once the socket is gone, before the close hooks run.
    drop(release);
    drop(ws);
    drop(slot);
    let connection = Connection { conn };
    for hook in &shared.hooks.close {
        let _ = AssertUnwindSafe(hook(connection.clone(), reason.clone()))
            .catch_unwind()
            .await;
    }
}
