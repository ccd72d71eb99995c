//! Reconnect delays: exponential backoff with full jitter (PROTOCOL.md section 7), or your own.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// How long to wait before reconnect attempt `n` (1-based), and when to give up.
///
/// The default is [`Backoff::exponential`]: `min(max, initial * 2^(n-1))` with full jitter
/// (uniform in `0..=delay`, whole milliseconds), initial 300 ms, max 10 s, unlimited attempts.
///
/// ```
/// use std::time::Duration;
/// use wskit::client::Backoff;
/// let b = Backoff::ExponentialJitter {
///     initial: Duration::from_millis(100),
///     max: Duration::from_secs(1),
///     max_attempts: Some(5),
/// };
/// // With the random draw fixed at its top, the cap is visible: 100, 200, 400, 800, 1000 ms.
/// assert_eq!(b.delay(4, 1.0), Some(Duration::from_millis(800)));
/// assert_eq!(b.delay(5, 1.0), Some(Duration::from_millis(1000)));
/// assert_eq!(b.delay(6, 1.0), None); // gave up
/// let fixed = Backoff::custom(|n| (n <= 3).then(|| Duration::from_millis(50)));
/// assert_eq!(fixed.delay(2, 0.3), Some(Duration::from_millis(50)));
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub enum Backoff {
    /// `min(max, initial * 2^(n-1))`, then a uniform draw in `0..=` that (full jitter).
    ExponentialJitter {
        /// The cap of the first delay.
        initial: Duration,
        /// The largest cap.
        max: Duration,
        /// Attempts before giving up; `None` for unlimited.
        max_attempts: Option<u32>,
    },
    /// Your own strategy: the delay before attempt `n` (1-based), or `None` to give up.
    Custom(Arc<dyn Fn(u32) -> Option<Duration> + Send + Sync>),
    /// Never reconnect: an unexpected close leaves the client closed.
    Never,
}

impl Backoff {
    /// The default strategy: 300 ms initial, 10 s max, unlimited attempts.
    pub fn exponential() -> Self {
        Backoff::ExponentialJitter {
            initial: Duration::from_millis(300),
            max: Duration::from_secs(10),
            max_attempts: None,
        }
    }

    /// A custom strategy from a function of the attempt number (1-based).
    pub fn custom(f: impl Fn(u32) -> Option<Duration> + Send + Sync + 'static) -> Self {
        Backoff::Custom(Arc::new(f))
    }

    /// The delay before attempt `attempt` (1-based), given a random draw `unit` in `[0, 1]`;
    /// `None` when the strategy gives up. The jittered delay is whole milliseconds:
    /// `floor(unit * cap_ms)`.
    pub fn delay(&self, attempt: u32, unit: f64) -> Option<Duration> {
        match self {
            Backoff::ExponentialJitter {
                initial,
                max,
                max_attempts,
            } => {
                if max_attempts.is_some_and(|m| attempt > m) {
                    return None;
                }
                let cap = exponential_cap(*initial, *max, attempt);
                let ms = (cap.as_millis() as f64 * unit.clamp(0.0, 1.0)).floor() as u64;
                Some(Duration::from_millis(ms))
            }
            Backoff::Custom(f) => f(attempt),
            Backoff::Never => None,
        }
    }
}

/// `min(max, initial * 2^(n-1))` without overflow.
fn exponential_cap(initial: Duration, max: Duration, attempt: u32) -> Duration {
    let shift = attempt.saturating_sub(1).min(63);
    let factor = 1u64 << shift;
    let ms = (initial.as_millis() as u64).saturating_mul(factor);
    Duration::from_millis(ms).min(max)
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::exponential()
    }
}

impl fmt::Debug for Backoff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Backoff::ExponentialJitter {
                initial,
                max,
                max_attempts,
            } => f
                .debug_struct("ExponentialJitter")
                .field("initial", initial)
                .field("max", max)
                .field("max_attempts", max_attempts)
                .finish(),
            Backoff::Custom(_) => f.write_str("Custom(..)"),
            Backoff::Never => f.write_str("Never"),
        }
    }
}

/// The jitter source: SplitMix64, seedable so tests can predict every delay.
///
/// The client draws one number per reconnect attempt from the generator seeded with
/// [`ClientBuilder::jitter_seed`](super::ClientBuilder::jitter_seed) (a time-based seed by default).
///
/// ```
/// use wskit::client::JitterRng;
/// let mut a = JitterRng::new(7);
/// let mut b = JitterRng::new(7);
/// let x = a.next_unit();
/// assert!((0.0..1.0).contains(&x));
/// assert_eq!(x, b.next_unit());
/// ```
#[derive(Debug, Clone)]
pub struct JitterRng {
    state: u64,
}

impl JitterRng {
    /// A generator with this seed.
    pub fn new(seed: u64) -> Self {
        JitterRng { state: seed }
    }

    /// A generator seeded from the system clock.
    pub fn from_time() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x5EED);
        JitterRng::new(nanos)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// The next draw, uniform in `[0, 1)`.
    pub fn next_unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_doubles_then_saturates() {
        let b = Backoff::exponential();
        let caps: Vec<_> = (1..=8)
            .map(|n| b.delay(n, 1.0).unwrap().as_millis())
            .collect();
        assert_eq!(caps, [300, 600, 1200, 2400, 4800, 9600, 10000, 10000]);
        assert_eq!(b.delay(1000, 1.0), Some(Duration::from_secs(10)));
        assert_eq!(b.delay(3, 0.5), Some(Duration::from_millis(600)));
        assert_eq!(b.delay(3, 0.0), Some(Duration::ZERO));
        assert_eq!(Backoff::Never.delay(1, 0.5), None);
    }
}
