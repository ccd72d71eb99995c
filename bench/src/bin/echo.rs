//! Raw tokio-tungstenite echo servers: the baselines wskit is measured against.
//!
//! ```text
//! echo [--port 0] [--batch]
//! ```
//!
//! Every text or binary frame is sent back unchanged (the load generator matches replies by the
//! correlationId in meta, so an echoed request counts as its reply). Without `--batch` each reply
//! is written and flushed on its own (`SinkExt::send`); with `--batch` the server feeds a reply
//! for every frame already read and flushes once: the ceiling of the transport. One thread
//! (`current_thread` runtime), 4 KiB read and write buffers, like the load generator.

use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use wskit_bench::args::Args;
use wskit_bench::transport;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::from_env()?;
    let port: u16 = args.get("port", 0)?;
    let batch = args.flag("batch");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = transport::listen(port).await?;
        loop {
            let (stream, _) = listener.accept().await?;
            tokio::spawn(async move {
                let _ = stream.set_nodelay(true);
                // A failed handshake or a reset connection ends only that connection.
                let _ = if batch {
                    echo_batched(stream).await
                } else {
                    echo_each(stream).await
                };
            });
        }
    })
}

/// Echoes every frame with its own write and flush.
async fn echo_each(stream: TcpStream) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    let mut ws =
        tokio_tungstenite::accept_async_with_config(stream, Some(transport::ws_config())).await?;
    while let Some(msg) = ws.next().await {
        match msg? {
            m @ (Message::Text(_) | Message::Binary(_)) => ws.send(m).await?,
            Message::Close(_) => break,
            _ => {}
        }
    }
    Ok(())
}

/// Echoes every frame already read, then flushes once.
async fn echo_batched(stream: TcpStream) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    let mut ws =
        tokio_tungstenite::accept_async_with_config(stream, Some(transport::ws_config())).await?;
    'conn: while let Some(msg) = ws.next().await {
        let mut next = Some(msg);
        // Feed a reply for this frame and every one that can be read without waiting.
        while let Some(msg) = next {
            match msg? {
                m @ (Message::Text(_) | Message::Binary(_)) => ws.feed(m).await?,
                Message::Close(_) => break 'conn,
                _ => {}
            }
            next = ws.next().now_or_never().flatten();
        }
        ws.flush().await?;
    }
    Ok(())
}
