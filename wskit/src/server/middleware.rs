//! Middleware around handlers (onion order) and the token-bucket rate limiter.
//!
//! A middleware sees the request's [`Context`], may stop with an error (answered as the handler's
//! error would be) and may run code after the handler:
//!
//! ```
//! use wskit::server::{Context, Next};
//! async fn log<D: Send + Sync + 'static>(ctx: Context<D>, next: Next<D>) -> Result<(), wskit::Error> {
//!     let ty = ctx.message_type().to_owned();
//!     let result = next.run(ctx).await; // the handler (and inner middleware) runs here
//!     println!("{ty}: {}", if result.is_ok() { "ok" } else { "error" });
//!     result
//! }
//! let _builder = wskit::server::Server::<()>::builder().middleware(log);
//! ```

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::time::Instant;

use super::context::Context;
use wskit_core::Error;

/// A middleware: implemented for every `Fn(Context<D>, Next<D>) -> impl Future<Output =
/// Result<(), Error>>`.
pub trait Middleware<D>: Send + Sync + 'static {
    /// Handles one request; call `next.run(ctx)` to go on to the handler.
    fn handle(&self, ctx: Context<D>, next: Next<D>) -> BoxFuture<'static, Result<(), Error>>;
}

impl<D, F, Fut> Middleware<D> for F
where
    F: Fn(Context<D>, Next<D>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), Error>> + Send + 'static,
{
    fn handle(&self, ctx: Context<D>, next: Next<D>) -> BoxFuture<'static, Result<(), Error>> {
        Box::pin(self(ctx, next))
    }
}

pub(crate) type Chain<D> = Arc<[Arc<dyn Middleware<D>>]>;
pub(crate) type Endpoint<D> =
    Box<dyn FnOnce(Context<D>) -> BoxFuture<'static, Result<(), Error>> + Send>;

/// The rest of the chain: inner middleware, then the handler.
pub struct Next<D> {
    chain: Chain<D>,
    index: usize,
    endpoint: Endpoint<D>,
}

impl<D: Send + Sync + 'static> Next<D> {
    pub(crate) fn new(chain: Chain<D>, endpoint: Endpoint<D>) -> Self {
        Next {
            chain,
            index: 0,
            endpoint,
        }
    }

    /// Runs the rest of the chain and the handler; its result is the handler's.
    pub fn run(self, ctx: Context<D>) -> BoxFuture<'static, Result<(), Error>> {
        match self.chain.get(self.index).cloned() {
            Some(mw) => mw.handle(
                ctx,
                Next {
                    chain: self.chain,
                    index: self.index + 1,
                    endpoint: self.endpoint,
                },
            ),
            None => (self.endpoint)(ctx),
        }
    }
}

/// A token-bucket rate limiter. Over the limit, a request is answered `RESOURCE_EXHAUSTED` with
/// `retryAfterMs` = the time until the next token, and its handler does not run.
///
/// ```
/// use wskit::server::{RateLimit, Server};
/// // 20 requests at once, then 5 per second, per connection:
/// let per_conn = RateLimit::per_connection(20, 5.0);
/// // or per user, with a key computed from the context:
/// let per_user = RateLimit::keyed(20, 5.0, |ctx: &wskit::server::Context<String>| ctx.data().clone());
/// let _b = Server::<String>::builder().middleware(per_conn).middleware(per_user);
/// ```
pub struct RateLimit<D> {
    capacity: f64,
    refill_per_sec: f64,
    key: KeyFn<D>,
    buckets: Mutex<HashMap<String, Bucket>>,
}

/// Computes a rate-limit key from a request's context.
type KeyFn<D> = Box<dyn Fn(&Context<D>) -> String + Send + Sync>;

struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Buckets kept before full (idle) ones are pruned.
const PRUNE_AT: usize = 4096;

impl<D: Send + Sync + 'static> RateLimit<D> {
    /// `capacity` requests in a burst, refilled at `refill_per_sec`, one bucket per connection.
    pub fn per_connection(capacity: u32, refill_per_sec: f64) -> Self {
        RateLimit::keyed(capacity, refill_per_sec, |ctx: &Context<D>| {
            ctx.client_id().to_string()
        })
    }

    /// One bucket per key computed by `key` (a user id, an IP, a message type...).
    pub fn keyed(
        capacity: u32,
        refill_per_sec: f64,
        key: impl Fn(&Context<D>) -> String + Send + Sync + 'static,
    ) -> Self {
        RateLimit {
            capacity: f64::from(capacity.max(1)),
            refill_per_sec: refill_per_sec.max(f64::MIN_POSITIVE),
            key: Box::new(key),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `key`: `Err(wait)` when there is none.
    fn take(&self, key: String) -> Result<(), Duration> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= PRUNE_AT {
            let (cap, rate) = (self.capacity, self.refill_per_sec);
            buckets
                .retain(|_, b| b.tokens + now.duration_since(b.updated).as_secs_f64() * rate < cap);
        }
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: self.capacity,
            updated: now,
        });
        let elapsed = now.duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.refill_per_sec).min(self.capacity);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let missing = 1.0 - bucket.tokens;
            Err(Duration::from_secs_f64(missing / self.refill_per_sec))
        }
    }
}

impl<D: Send + Sync + 'static> Middleware<D> for RateLimit<D> {
    fn handle(&self, ctx: Context<D>, next: Next<D>) -> BoxFuture<'static, Result<(), Error>> {
        match self.take((self.key)(&ctx)) {
            Ok(()) => next.run(ctx),
            Err(wait) => {
                let ms = (wait.as_secs_f64() * 1000.0).ceil() as u64;
                Box::pin(std::future::ready(Err(Error::resource_exhausted(
                    "Rate limit exceeded",
                )
                .with_retry_after_ms(ms.max(1)))))
            }
        }
    }
}
