//! A chat server on ws://127.0.0.1:3000: rooms through pub/sub, an RPC, token auth.
//!
//! ```sh
//! cargo run --example chat
//! websocat 'ws://127.0.0.1:3000/?access_token=alice-token'
//! {"type":"JOIN_ROOM","payload":{"roomId":"general"}}
//! {"type":"SEND_MESSAGE","payload":{"roomId":"general","text":"hello"}}
//! {"type":"LIST_MEMBERS","meta":{"correlationId":"1"},"payload":{"roomId":"general"}}
//! ```
//!
//! The same port serves the browser chat page: open http://127.0.0.1:3000/ (`examples/web`).
//!
//! Set `WSKIT_ADDR` to listen elsewhere (`WSKIT_ADDR=127.0.0.1:0` picks a free port).
//!
//! Several chat servers form one chat through Redis with `--redis URL` (or `REDIS_URL`):
//!
//! ```sh
//! WSKIT_ADDR=127.0.0.1:3000 cargo run --example chat -- --redis redis://127.0.0.1:6379
//! WSKIT_ADDR=127.0.0.1:3001 cargo run --example chat -- --redis redis://127.0.0.1:6379
//! ```

#[path = "chat_protocol.rs"]
mod chat_protocol;
#[path = "chat_server.rs"]
mod chat_server;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,wskit=debug".into()),
        )
        .init();

    let server = match redis_url() {
        Some(url) => {
            println!("one chat with every server on {url} (channels wskit-chat:*)");
            let bus = wskit::pubsub::RedisPubSub::connect(&url).prefix("wskit-chat:");
            chat_server::chat_server_on(bus)
        }
        None => chat_server::chat_server(),
    }
    .expect("valid server configuration");

    let addr = std::env::var("WSKIT_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let local = listener.local_addr()?;
    println!("chat server on ws://{local}  (Ctrl-C or SIGTERM to stop)");
    println!("the chat page: http://{local}/");
    println!("tokens: alice-token, bob-token, carol-token; try:");
    println!("  websocat 'ws://{local}/?access_token=alice-token'");
    println!(r#"  {{"type":"JOIN_ROOM","payload":{{"roomId":"general"}}}}"#);
    // Ctrl-C or SIGTERM: close every connection with 1001, run the close hooks, drain.
    server
        .serve_with_shutdown(listener, wskit::server::shutdown_signal())
        .await
}

/// `--redis URL` on the command line, else `REDIS_URL`.
fn redis_url() -> Option<String> {
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if let Some(url) = arg.strip_prefix("--redis=") {
            return Some(url.to_owned());
        }
        if arg == "--redis" {
            return args.next();
        }
    }
    std::env::var("REDIS_URL")
        .ok()
        .filter(|url| !url.is_empty())
}
