//! When to reconcile next: the interval with Flux's ±5% jitter, exponential backoff after failures.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use rand::Rng;

/// Flux's default `--interval-jitter-percentage`.
pub const JITTER_PERCENT: f64 = 5.0;
/// Flux's default `--min-retry-delay`.
pub const MIN_RETRY_DELAY: Duration = Duration::from_millis(750);
/// Flux's default `--max-retry-delay`.
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(15 * 60);

/// `interval` moved randomly by up to ±`JITTER_PERCENT`, so objects created together spread out.
pub fn jittered(interval: Duration) -> Duration {
    let spread = interval.as_secs_f64() * JITTER_PERCENT / 100.0;
    let offset = rand::rng().random_range(-spread..=spread);
    Duration::from_secs_f64((interval.as_secs_f64() + offset).max(0.0))
}

/// The delay after the `failures`-th consecutive failure: doubling from `min`, capped at `max`.
pub fn backoff(failures: u32, min: Duration, max: Duration) -> Duration {
    let exp = failures.saturating_sub(1).min(32);
    min.saturating_mul(2u32.saturating_pow(exp)).min(max)
}

/// Consecutive failures per object; only failing objects take memory.
#[derive(Debug, Default)]
pub struct FailureCounts {
    counts: Mutex<HashMap<(String, String), u32>>,
}

impl FailureCounts {
    /// Counts one more failure; returns the new count.
    pub fn fail(&self, namespace: &str, name: &str) -> u32 {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let n = counts
            .entry((namespace.to_string(), name.to_string()))
            .or_insert(0);
        *n = n.saturating_add(1);
        *n
    }

    /// Forgets the object's failures (after a success or deletion).
    pub fn clear(&self, namespace: &str, name: &str) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.remove(&(namespace.to_string(), name.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_five_percent() {
        for _ in 0..1000 {
            let d = jittered(Duration::from_secs(60)).as_secs_f64();
            assert!((57.0..=63.0).contains(&d), "{d}");
        }
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let (min, max) = (MIN_RETRY_DELAY, MAX_RETRY_DELAY);
        assert_eq!(backoff(1, min, max), Duration::from_millis(750));
        assert_eq!(backoff(2, min, max), Duration::from_millis(1500));
        assert_eq!(backoff(4, min, max), Duration::from_millis(6000));
        assert_eq!(backoff(40, min, max), max);
    }

    #[test]
    fn failure_counts_reset() {
        let f = FailureCounts::default();
        assert_eq!(f.fail("ns", "a"), 1);
        assert_eq!(f.fail("ns", "a"), 2);
        f.clear("ns", "a");
        assert_eq!(f.fail("ns", "a"), 1);
    }
}
