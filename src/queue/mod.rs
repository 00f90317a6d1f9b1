//! Purpose: what Umbra's database-backed work queues share (the outbox relay, the notification
//! sender, the restore runner; next renewals and member pulls): the lease protocol
//! ([`QueueTable`]), their tuning and the retry backoff with jitter.

mod lease;

pub use lease::{Lease, QueueCounts, QueueTable, Retry};

use std::time::Duration;

use rand::Rng;

/// A queue worker's tuning (from its config section).
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerSettings {
    /// How often to look for work when no wake-up arrives.
    pub poll_interval: Duration,
    /// Items claimed per round.
    pub batch_size: u32,
    /// How long a claim lasts before another worker may take the item over.
    pub lease: Duration,
    /// Attempts before an item is given up (dead).
    pub max_attempts: u32,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Finished items are deleted after this many days.
    pub retention_days: u32,
}

impl WorkerSettings {
    /// The delay before retry number `attempts` (1 = the first retry), with a random jitter
    /// that only shortens it (so workers that failed together do not retry together).
    pub fn retry_delay(&self, attempts: i32) -> Duration {
        backoff(
            attempts,
            self.backoff_base,
            self.backoff_max,
            rand::rng().random_range(0.5..=1.0),
        )
    }
}

/// The delay before retry number `attempts` of in-process work (a REST read, a stalled load):
/// `base * 2^(attempts-1)` capped at `max`, with the same shortening jitter.
pub fn jittered(attempts: u32, base: Duration, max: Duration) -> Duration {
    backoff(
        i32::try_from(attempts).unwrap_or(i32::MAX),
        base,
        max,
        rand::rng().random_range(0.5..=1.0),
    )
}

/// Exponential backoff: `base * 2^(attempts-1)`, capped at `max`, times `jitter` (0..=1).
pub fn backoff(attempts: i32, base: Duration, max: Duration, jitter: f64) -> Duration {
    let exp = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    let raw = base.saturating_mul(2u32.saturating_pow(exp)).min(max);
    raw.mul_f64(jitter.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_per_attempt_up_to_the_cap_and_jitter_only_shortens_it() {
        let base = Duration::from_secs(10);
        let max = Duration::from_secs(300);
        assert_eq!(backoff(1, base, max, 1.0), Duration::from_secs(10));
        assert_eq!(backoff(2, base, max, 1.0), Duration::from_secs(20));
        assert_eq!(backoff(4, base, max, 1.0), Duration::from_secs(80));
        assert_eq!(backoff(30, base, max, 1.0), max);
        assert_eq!(backoff(2, base, max, 0.5), Duration::from_secs(10));
        assert_eq!(backoff(0, base, max, 1.0), base);
        assert_eq!(backoff(i32::MAX, base, max, 1.0), max);
    }
}
