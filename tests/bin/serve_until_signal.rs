//! A server run as a child process by `tests/tests/server_shutdown.rs`: the test protocol,
//! served by `Server::serve` until a signal. Prints `listening on <addr>`, `closed <code>` from
//! the close hook of each connection, and `stopped` once `serve` returns.

use std::io::Write;

use wskit_tests::{demo_builder, probe};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    // `serve` binds an address of its own: find a free port first.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let (probe, _events) = probe();
    let server = demo_builder(&probe)
        .on_close(|_conn, reason| async move {
            println!("closed {}", reason.code);
            let _ = std::io::stdout().flush();
        })
        .build()
        .expect("valid server");
    println!("listening on {addr}");
    std::io::stdout().flush()?;
    server.serve(addr).await?;
    println!("stopped");
    Ok(())
}
