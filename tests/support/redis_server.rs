//! Redis for the scale-out tests: the shared server (`WSKIT_TEST_REDIS`, default
//! `redis://127.0.0.1:6379`), raw connections to look at the bus, and `redis-server` processes a
//! test starts (and kills, and restarts) itself on a free port.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::within;

/// The shared Redis the tests use unless they start their own.
pub fn shared_redis_url() -> String {
    std::env::var("WSKIT_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A prefix of its own for one test, so that tests on one Redis do not see each other.
pub fn unique_prefix(test: &str) -> String {
    format!("wskit-test:{test}:{}:", wskit::pubsub::ClientId::new())
}

/// A raw multiplexed connection (PUBLISH, PUBSUB, CLIENT).
pub async fn raw_conn(url: &str) -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(url).expect("Redis URL");
    within(
        "a Redis connection",
        client.get_multiplexed_async_connection(),
    )
    .await
    .unwrap_or_else(|e| panic!("cannot connect to Redis at {url}: {e}"))
}

/// `PUBLISH channel message` on a raw connection.
pub async fn raw_publish(url: &str, channel: &str, message: &[u8]) -> usize {
    let mut conn = raw_conn(url).await;
    redis::cmd("PUBLISH")
        .arg(channel)
        .arg(message)
        .query_async(&mut conn)
        .await
        .expect("PUBLISH")
}

/// A raw `PSUBSCRIBE pattern` connection: what is on the bus, byte for byte.
pub async fn raw_psubscribe(url: &str, pattern: &str) -> redis::aio::PubSub {
    let client = redis::Client::open(url).expect("Redis URL");
    let mut pubsub = within("a Redis pub/sub connection", client.get_async_pubsub())
        .await
        .expect("pub/sub connection");
    pubsub.psubscribe(pattern).await.expect("PSUBSCRIBE");
    pubsub
}

/// A `redis-server` this test runs on a free port of 127.0.0.1, without persistence. Killed on
/// drop.
pub struct RedisProcess {
    pub port: u16,
    child: Option<Child>,
}

impl RedisProcess {
    /// Starts one on a free port and waits until it answers.
    pub async fn start() -> RedisProcess {
        RedisProcess::start_on(free_port()).await
    }

    /// Starts one on this port and waits until it answers.
    pub async fn start_on(port: u16) -> RedisProcess {
        let mut redis = RedisProcess { port, child: None };
        redis.spawn().await;
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run redis-server ({e}): install it (apt-get install redis-server; .ci/run does)"
                )
            });
        self.child = Some(child);
        let url = self.url();
        within("redis-server to answer", async {
            loop {
                if let Ok(client) = redis::Client::open(url.as_str())
                    && let Ok(mut conn) = client.get_multiplexed_async_connection().await
                    && redis::cmd("PING")
                        .query_async::<String>(&mut conn)
                        .await
                        .is_ok()
                {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
    }

    /// Kills the process (SIGKILL: no goodbye to its clients) and waits for it to exit.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port.
    pub async fn restart(&mut self) {
        self.kill();
        self.spawn().await;
    }
}

impl Drop for RedisProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// A TCP proxy on 127.0.0.1 in front of Redis that can cut its connections off silently: while
/// `cut` is set, what either side sends is dropped and nothing is closed (a network partition,
/// not a closed connection).
pub struct SilentCut {
    pub port: u16,
    cut: std::sync::Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl SilentCut {
    /// Listens on a free port and forwards to `upstream` (`host:port`).
    pub async fn start(upstream: &str) -> SilentCut {
        use std::sync::atomic::Ordering;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let cut = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let upstream = upstream.to_owned();
        let flag = cut.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = tokio::net::TcpStream::connect(&upstream).await else {
                    continue;
                };
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                for (mut from, mut to, flag) in [
                    (
                        Box::new(cr) as Box<dyn tokio::io::AsyncRead + Send + Unpin>,
                        Box::new(sw) as Box<dyn tokio::io::AsyncWrite + Send + Unpin>,
                        flag.clone(),
                    ),
                    (Box::new(sr), Box::new(cw), flag.clone()),
                ] {
                    tokio::spawn(async move {
                        let mut buf = vec![0u8; 16 * 1024];
                        loop {
                            let n = match from.read(&mut buf).await {
                                Ok(0) | Err(_) => break,
                                Ok(n) => n,
                            };
                            if flag.load(Ordering::SeqCst) {
                                continue; // dropped on the floor
                            }
                            if to.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                        let _ = to.shutdown().await;
                    });
                }
            }
        });
        SilentCut { port, cut, task }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts or ends the cut.
    pub fn set_cut(&self, cut: bool) {
        self.cut.store(cut, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for SilentCut {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The shared NATS server the tests use (`WSKIT_TEST_NATS`, default `nats://127.0.0.1:4222`).
pub fn shared_nats_url() -> String {
    std::env::var("WSKIT_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned())
}

/// A `nats-server` this test runs on a free port of 127.0.0.1. Killed on drop.
pub struct NatsProcess {
    pub port: u16,
    child: Option<Child>,
}

impl NatsProcess {
    /// Starts one on a free port and waits until it accepts connections.
    pub async fn start() -> NatsProcess {
        let mut nats = NatsProcess {
            port: free_port(),
            child: None,
        };
        nats.spawn().await;
        nats
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    async fn spawn(&mut self) {
        let child = Command::new("nats-server")
            .args(["-a", "127.0.0.1", "-p", &self.port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run nats-server ({e}): install it (apt-get install nats-server; .ci/run does)")
            });
        self.child = Some(child);
        let addr = format!("127.0.0.1:{}", self.port);
        within("nats-server to listen", async {
            while tokio::net::TcpStream::connect(&addr).await.is_err() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
    }

    /// Kills the process (SIGKILL) and waits for it to exit.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port.
    pub async fn restart(&mut self) {
        self.kill();
        self.spawn().await;
    }
}

impl Drop for NatsProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
