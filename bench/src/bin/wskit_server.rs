//! The bench protocol (`wskit_bench::frames`) served by wskit: the server the benchmark measures.
//!
//! ```text
//! wskit_server [--port 0] [--redis redis://127.0.0.1:6379 --prefix bench:]
//! ```
//!
//! Binds 127.0.0.1 (an ephemeral port unless `--port`), prints `listening on 127.0.0.1:<port>`,
//! and serves on one thread (`current_thread` runtime; pin it with `taskset`) until Ctrl-C.
//! Limits are wskit's defaults except the connection limit, raised for the 10,000-subscriber
//! scenario. With `--redis`, topics go through Redis (`RedisPubSub`, prefix `--prefix`): several
//! of these servers are one cluster; it announces its port once it is subscribed on the bus.

use wskit::server::{PublishOptions, RpcContext, Server};
use wskit_bench::args::Args;
use wskit_bench::protocol::*;
use wskit_bench::transport;

/// The bench handlers.
struct App;

impl BenchHandler for App {
    type Data = ();

    async fn echo(&self, _ctx: RpcContext<(), Echo>, req: Echo) -> Result<EchoReply, wskit::Error> {
        Ok(EchoReply {
            text: req.text,
            n: req.n,
        })
    }

    async fn subscribe(
        &self,
        ctx: RpcContext<(), Subscribe>,
        req: Subscribe,
    ) -> Result<Subscribed, wskit::Error> {
        ctx.subscribe(&req.topic)?;
        Ok(Subscribed { topic: req.topic })
    }

    async fn publish(
        &self,
        ctx: RpcContext<(), Publish>,
        req: Publish,
    ) -> Result<Published, wskit::Error> {
        let matched = ctx
            .publish(
                &req.topic,
                &News { text: req.text },
                PublishOptions::default(),
            )
            .await?;
        Ok(Published {
            matched: matched.exact().unwrap_or(0) as u64,
        })
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::from_env()?;
    let port: u16 = args.get("port", 0)?;
    let redis: String = args.get("redis", String::new())?;
    let prefix: String = args.get("prefix", "wskit-bench:".to_owned())?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let mut builder = Server::<()>::builder()
            .service(Bench::server(App))
            .max_connections(20_000);
        let mut on_bus = None;
        if !redis.is_empty() {
            let bus = wskit::pubsub::RedisPubSub::connect(&redis).prefix(prefix);
            on_bus = Some(bus.stats());
            builder = builder.pubsub(bus);
        }
        let server = builder.build().map_err(std::io::Error::other)?;
        if let Some(stats) = on_bus {
            stats.subscribed().await;
        }
        let listener = transport::listen(port).await?;
        server
            .serve_with_shutdown(listener, async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
    })?;
    Ok(())
}
