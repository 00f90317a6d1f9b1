//! Purpose: the process-wide pacing of Discord REST calls under the global limit (Discord allows
//! a bot token 50 requests a second; `discord.global_requests_per_second` is this process's
//! share). Calls get evenly spaced slots at a little under the configured rate, first come first
//! served; an urgent call (an AntiNuke punishment) takes the next instant and pushes the waiting
//! ones back by one slot, so the long-run rate still holds.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::Priority;

/// Slots are spaced for this share of the configured rate (headroom for clock edges and
/// the urgent calls that jump the queue).
const HEADROOM: f64 = 0.96;

#[derive(Debug)]
pub struct Pacer {
    interval: Option<Duration>,
    next: Mutex<Instant>,
}

impl Pacer {
    /// `per_second` = 0: no pacing.
    pub fn new(per_second: u32) -> Self {
        Self {
            interval: (per_second > 0)
                .then(|| Duration::from_secs_f64(1.0 / (f64::from(per_second) * HEADROOM))),
            next: Mutex::new(Instant::now()),
        }
    }

    /// When a call of `priority` asked at `now` may go (and books it).
    pub fn book(&self, priority: Priority, now: Instant) -> Instant {
        let Some(interval) = self.interval else {
            return now;
        };
        let mut next = self
            .next
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let free = (*next).max(now);
        match priority {
            Priority::Urgent => {
                *next = free + interval;
                now
            }
            Priority::Normal => {
                *next = free + interval;
                free
            }
        }
    }

    /// Waits for the call's slot.
    pub async fn acquire(&self, priority: Priority) {
        let at = self.book(priority, Instant::now());
        tokio::time::sleep_until(at).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_spaced_at_a_little_under_the_rate_and_an_urgent_one_goes_at_once() {
        let pacer = Pacer::new(50);
        let t0 = Instant::now();
        let slots: Vec<Instant> = (0..100).map(|_| pacer.book(Priority::Normal, t0)).collect();
        let span = slots[99].duration_since(slots[0]).as_secs_f64();
        // 100 calls at 48 a second: the last one ~2.06 s after the first.
        assert!((2.0..2.1).contains(&span), "{span}");
        // In any one second, at most 50 calls.
        for (i, s) in slots.iter().enumerate() {
            let in_window = slots[i..]
                .iter()
                .take_while(|x| x.duration_since(*s) < Duration::from_secs(1))
                .count();
            assert!(in_window <= 50, "{in_window} calls within a second");
        }
        // An urgent call does not wait behind them, and pushes the next one back.
        let urgent = pacer.book(Priority::Urgent, t0);
        assert_eq!(urgent, t0);
        let after = pacer.book(Priority::Normal, t0);
        assert!(after.duration_since(slots[99]) >= Duration::from_millis(40));
    }

    #[test]
    fn no_rate_means_no_waiting() {
        let pacer = Pacer::new(0);
        let t0 = Instant::now();
        assert!((0..10).all(|_| pacer.book(Priority::Normal, t0) == t0));
    }
}
