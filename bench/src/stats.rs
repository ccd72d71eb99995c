//! Latency histograms, percentiles, rates and medians of repeated runs.
//!
//! Latencies are recorded in nanoseconds into an HDR histogram (3 significant digits: every
//! percentile is within 0.1% of the exact value) and reported in microseconds.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// The largest latency the histogram tracks exactly (60 s); longer ones are clamped to it.
pub const MAX_TRACKED: Duration = Duration::from_secs(60);

/// A latency histogram (1 ns .. 60 s, 3 significant digits).
///
/// ```
/// use std::time::Duration;
/// use wskit_bench::stats::Latencies;
/// let mut l = Latencies::new();
/// for us in 1..=100 {
///     l.record(Duration::from_micros(us));
/// }
/// let s = l.summary();
/// assert_eq!(s.count, 100);
/// assert!((s.p50_us - 50.0).abs() < 0.1);
/// ```
#[derive(Debug, Clone)]
pub struct Latencies {
    hist: Histogram<u64>,
}

impl Default for Latencies {
    fn default() -> Self {
        Self::new()
    }
}

impl Latencies {
    /// An empty histogram.
    pub fn new() -> Self {
        let max = MAX_TRACKED.as_nanos() as u64;
        // Bounds and precision are constants that hdrhistogram accepts.
        let hist = Histogram::new_with_bounds(1, max, 3).expect("valid histogram bounds");
        Latencies { hist }
    }

    /// Records one latency (clamped to 1 ns ..= [`MAX_TRACKED`]).
    pub fn record(&mut self, latency: Duration) {
        let max = MAX_TRACKED.as_nanos() as u64;
        let ns = (latency.as_nanos().min(max as u128) as u64).max(1);
        // In range by construction.
        let _ = self.hist.record(ns);
    }

    /// Adds every sample of `other`.
    pub fn merge(&mut self, other: &Latencies) {
        // Same bounds on both sides: cannot fail.
        let _ = self.hist.add(&other.hist);
    }

    /// How many latencies were recorded.
    pub fn len(&self) -> u64 {
        self.hist.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.hist.is_empty()
    }

    /// The value at quantile `q` (0..=1) in microseconds; 0 when empty.
    pub fn quantile_us(&self, q: f64) -> f64 {
        if self.hist.is_empty() {
            return 0.0;
        }
        self.hist.value_at_quantile(q) as f64 / 1000.0
    }

    /// Count, p50, p90, p99 and max.
    pub fn summary(&self) -> LatencySummary {
        LatencySummary {
            count: self.hist.len(),
            p50_us: self.quantile_us(0.50),
            p90_us: self.quantile_us(0.90),
            p99_us: self.quantile_us(0.99),
            max_us: if self.hist.is_empty() {
                0.0
            } else {
                self.hist.max() as f64 / 1000.0
            },
        }
    }
}

/// Percentiles of one run, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct LatencySummary {
    /// Number of samples.
    pub count: u64,
    /// Median.
    pub p50_us: f64,
    /// 90th percentile.
    pub p90_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// Largest sample.
    pub max_us: f64,
}

/// Events per second: `count / elapsed`; 0 when no time passed.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(wskit_bench::stats::rate(500, Duration::from_millis(250)), 2000.0);
/// ```
pub fn rate(count: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs <= 0.0 {
        0.0
    } else {
        count as f64 / secs
    }
}

/// The median of `values` (the mean of the middle two for an even count); `None` when empty.
/// NaNs sort last.
///
/// ```
/// assert_eq!(wskit_bench::stats::median(&[3.0, 1.0, 2.0]), Some(2.0));
/// assert_eq!(wskit_bench::stats::median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
/// assert_eq!(wskit_bench::stats::median(&[]), None);
/// ```
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    })
}

/// `numerator / denominator`, or `None` when the denominator is zero or either is missing.
///
/// ```
/// assert_eq!(wskit_bench::stats::ratio(Some(10.0), Some(4.0)), Some(2.5));
/// assert_eq!(wskit_bench::stats::ratio(Some(1.0), Some(0.0)), None);
/// ```
pub fn ratio(numerator: Option<f64>, denominator: Option<f64>) -> Option<f64> {
    match (numerator, denominator) {
        (Some(n), Some(d)) if d != 0.0 && d.is_finite() && n.is_finite() => Some(n / d),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_uniform_samples_are_within_hdr_precision() {
        let mut l = Latencies::new();
        for us in 1..=10_000u64 {
            l.record(Duration::from_micros(us));
        }
        let s = l.summary();
        assert_eq!(s.count, 10_000);
        for (got, want) in [
            (s.p50_us, 5000.0),
            (s.p90_us, 9000.0),
            (s.p99_us, 9900.0),
            (s.max_us, 10_000.0),
        ] {
            assert!(
                (got - want).abs() <= want * 0.001 + 0.001,
                "got {got}, want {want}"
            );
        }
    }

    #[test]
    fn a_single_outlier_shows_in_max_but_not_p99() {
        let mut l = Latencies::new();
        for _ in 0..999 {
            l.record(Duration::from_micros(100));
        }
        l.record(Duration::from_millis(50));
        let s = l.summary();
        assert!((s.p99_us - 100.0).abs() < 0.1, "{s:?}");
        assert!((s.max_us - 50_000.0).abs() < 50.0, "{s:?}");
    }

    #[test]
    fn empty_histogram_summarises_to_zeroes() {
        let l = Latencies::new();
        assert!(l.is_empty());
        assert_eq!(l.summary(), LatencySummary::default());
    }

    #[test]
    fn out_of_range_latencies_are_clamped_not_dropped() {
        let mut l = Latencies::new();
        l.record(Duration::ZERO);
        l.record(Duration::from_secs(3600));
        assert_eq!(l.len(), 2);
        assert!(l.summary().max_us >= MAX_TRACKED.as_micros() as f64 * 0.999);
    }

    #[test]
    fn merge_adds_samples_of_both() {
        let mut a = Latencies::new();
        let mut b = Latencies::new();
        a.record(Duration::from_micros(10));
        b.record(Duration::from_micros(1000));
        b.record(Duration::from_micros(1000));
        a.merge(&b);
        assert_eq!(a.len(), 3);
        assert!((a.quantile_us(0.5) - 1000.0).abs() < 1.0);
    }

    #[test]
    fn rate_divides_by_seconds() {
        assert_eq!(rate(0, Duration::from_secs(1)), 0.0);
        assert_eq!(rate(10, Duration::ZERO), 0.0);
        assert!((rate(3, Duration::from_millis(1500)) - 2.0).abs() < 1e-9);
    }

    #[test]
    fn median_of_odd_even_and_unsorted_runs() {
        assert_eq!(median(&[5.0]), Some(5.0));
        assert_eq!(median(&[9.0, 1.0, 5.0]), Some(5.0));
        assert_eq!(median(&[10.0, 2.0]), Some(6.0));
        assert_eq!(median(&[f64::NAN, 1.0, 2.0]), Some(2.0));
    }

    #[test]
    fn ratio_refuses_zero_and_missing() {
        assert_eq!(ratio(None, Some(1.0)), None);
        assert_eq!(ratio(Some(1.0), None), None);
        assert_eq!(ratio(Some(3.0), Some(1.5)), Some(2.0));
    }
}
