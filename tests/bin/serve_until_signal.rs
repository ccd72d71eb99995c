//! A server run as a child process by `tests/tests/server_shutdown.rs` and
//! `tests/tests/server_redis.rs`: the test protocol, served by `Server::serve` until a signal
//! (or a SIGKILL). Prints `listening on <addr>`, `closed <code>` from the close hook of each
//! connection, and `stopped` once `serve` returns. With `WSKIT_REDIS_URL` (and
//! `WSKIT_REDIS_PREFIX`) set, it is a node on that Redis bus, subscribed before it prints its
//! address.

use std::io::Write;

use wskit::pubsub::RedisPubSub;
use wskit_tests::{demo_builder, probe};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    // `serve` binds an address of its own: find a free port first.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let (probe, _events) = probe();
    let mut builder = demo_builder(&probe).on_close(|_conn, reason| async move {
        println!("closed {}", reason.code);
        let _ = std::io::stdout().flush();
    });
    let mut subscribed = None;
    if let Ok(url) = std::env::var("WSKIT_REDIS_URL") {
        let prefix = std::env::var("WSKIT_REDIS_PREFIX").unwrap_or_default();
        let bus = RedisPubSub::connect(&url).prefix(&prefix);
        subscribed = Some(bus.stats());
        builder = builder.pubsub(bus);
    }
    let server = builder.build().expect("valid server");
    if let Some(stats) = subscribed {
        stats.subscribed().await;
    }
    println!("listening on {addr}");
    std::io::stdout().flush()?;
    server.serve(addr).await?;
    println!("stopped");
    Ok(())
}
