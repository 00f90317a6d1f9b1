//! Purpose: the process-wide pacing of Discord REST calls under the global limit (Discord allows
//! a bot token 50 requests a second; `discord.global_requests_per_second` is this process's
//! share). Every call that goes is recorded; in any one window ([`WINDOW`], a little over a
//! second) at most the configured number go. Ordinary calls take evenly spaced tickets, first
//! come first served, and go only while fewer than [`NORMAL_SHARE`] of the limit went in the
//! window; an urgent call (an AntiNuke punishment) goes at once while the window holds fewer
//! than the whole limit. So a punishment never waits behind queued calls and never meets
//! Discord's global 429, however busy the process is (issue 17: with a thousand guilds' full
//! loads queued, punishments were answered 429 and went ~300 ms late).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::Priority;

/// The span the limit is counted over: a second, and a little more for the time a request
/// takes to reach Discord (two calls sent a second apart may arrive a little closer).
const WINDOW: Duration = Duration::from_millis(1020);

/// The share of the limit ordinary calls may use in a window; the rest (10 of Discord's 50) is
/// always free for urgent calls, so a burst of punishments goes at once. Ordinary traffic is
/// bound by its routes' own buckets far more often than by the global limit (a restore's
/// benchmark ratio did not move); a thousand guilds' full loads read ~20 % slower.
const NORMAL_SHARE: f64 = 0.8;

#[derive(Debug)]
struct State {
    /// The next ordinary call's ticket.
    next: Instant,
    /// When the calls of the last window went, oldest first.
    sent: VecDeque<Instant>,
}

#[derive(Debug)]
pub struct Pacer {
    /// Calls per window, all priorities (0: no pacing).
    limit: usize,
    /// Calls per window for ordinary calls.
    normal_limit: usize,
    /// Spacing of ordinary calls' tickets.
    interval: Duration,
    state: Mutex<State>,
    /// Urgent calls that must wait for room wait in line (tokio's mutex is first come first
    /// served): one punishment is not passed over again and again by later ones.
    urgent_line: tokio::sync::Mutex<()>,
}

impl Pacer {
    /// `per_second` = 0: no pacing.
    pub fn new(per_second: u32) -> Self {
        let limit = per_second as usize;
        let normal_limit = ((f64::from(per_second) * NORMAL_SHARE).floor() as usize)
            .clamp(1.min(limit), limit.saturating_sub(1).max(1));
        let interval = if per_second == 0 {
            Duration::ZERO
        } else {
            WINDOW / u32::try_from(normal_limit).unwrap_or(u32::MAX).max(1)
        };
        Self {
            limit,
            normal_limit,
            interval,
            state: Mutex::new(State {
                next: Instant::now(),
                sent: VecDeque::new(),
            }),
            urgent_line: tokio::sync::Mutex::new(()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// An ordinary call's ticket, asked at `now`: the time before which it does not try to go
    /// (tickets are evenly spaced, so waiting calls wake one at a time).
    pub fn ticket(&self, now: Instant) -> Instant {
        if self.limit == 0 {
            return now;
        }
        let mut st = self.state();
        let at = st.next.max(now);
        st.next = at + self.interval;
        at
    }

    /// Whether a call of `priority` may go at `now`: `Ok` records it as gone; `Err(at)` is when
    /// the window will have room for it.
    pub fn try_go(&self, priority: Priority, now: Instant) -> Result<(), Instant> {
        if self.limit == 0 {
            return Ok(());
        }
        let cap = match priority {
            Priority::Urgent => self.limit,
            Priority::Normal => self.normal_limit,
        };
        let mut st = self.state();
        while st.sent.front().is_some_and(|t| *t + WINDOW <= now) {
            st.sent.pop_front();
        }
        if st.sent.len() < cap {
            // In order (callers read the clock before taking the lock).
            let at = st.sent.partition_point(|t| *t <= now);
            st.sent.insert(at, now);
            return Ok(());
        }
        // Room once all but cap - 1 of the recorded calls have left the window.
        let oldest_to_leave = st.sent.len() - cap;
        Err(st
            .sent
            .get(oldest_to_leave)
            .map_or(now, |t| *t + WINDOW)
            .max(now))
    }

    /// Waits until a call of `priority` may go (and records it).
    pub async fn acquire(&self, priority: Priority) {
        let _line = match priority {
            Priority::Normal => {
                tokio::time::sleep_until(self.ticket(Instant::now())).await;
                None
            }
            Priority::Urgent => Some(self.urgent_line.lock().await),
        };
        loop {
            match self.try_go(priority, Instant::now()) {
                Ok(()) => return,
                Err(at) => tokio::time::sleep_until(at).await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sends `n` ordinary calls from `t0` as `acquire` would, on a simulated clock; their times.
    fn ordinary(pacer: &Pacer, t0: Instant, n: usize) -> Vec<Instant> {
        (0..n)
            .map(|_| {
                let mut at = pacer.ticket(t0);
                loop {
                    match pacer.try_go(Priority::Normal, at) {
                        Ok(()) => break at,
                        Err(next) => at = next,
                    }
                }
            })
            .collect()
    }

    fn most_in_a_window(times: &[Instant]) -> usize {
        let mut sorted = times.to_vec();
        sorted.sort();
        (0..sorted.len())
            .map(|i| {
                sorted[i..]
                    .iter()
                    .take_while(|x| x.duration_since(sorted[i]) < WINDOW)
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn ordinary_calls_are_spaced_under_the_limit_and_leave_room_for_urgent_ones() {
        let pacer = Pacer::new(50);
        let t0 = Instant::now();
        let slots = ordinary(&pacer, t0, 100);
        // 40 a window (80 % of 50), evenly spaced: the 100th 99 spaces after the first.
        assert_eq!(pacer.normal_limit, 40);
        let span = slots[99].duration_since(slots[0]);
        assert!(
            span >= pacer.interval * 99 && span < pacer.interval * 101,
            "{span:?}"
        );
        assert_eq!(most_in_a_window(&slots), 40);
        // With the window full of ordinary calls, ten punishments go at once, and the next as
        // soon as the oldest call leaves the window.
        let busy = slots[99];
        for _ in 0..10 {
            assert_eq!(pacer.try_go(Priority::Urgent, busy), Ok(()));
        }
        let next = pacer.try_go(Priority::Urgent, busy);
        assert!(
            matches!(next, Err(at) if at > busy && at - busy <= pacer.interval),
            "{next:?}"
        );
    }

    #[test]
    fn urgent_calls_never_take_the_window_over_the_limit_and_ordinary_ones_wait_for_them() {
        let pacer = Pacer::new(50);
        let t0 = Instant::now();
        let mut times = ordinary(&pacer, t0, 60);
        let now = times[59];
        // A burst of 20 punishments: at once while the window has room, then each as soon as
        // a call leaves it (ordinary calls meanwhile wait: the punishments go first).
        let mut urgent = Vec::new();
        for _ in 0..20 {
            let mut at = now;
            loop {
                match pacer.try_go(Priority::Urgent, at) {
                    Ok(()) => break,
                    Err(next) => {
                        assert!(next > at, "a later time");
                        at = next;
                    }
                }
            }
            urgent.push(at);
        }
        assert_eq!(urgent.iter().filter(|t| **t == now).count(), 10);
        let last = urgent.iter().max().copied().unwrap_or(now);
        assert!(
            last - now < Duration::from_millis(500),
            "the 20th punishment went {:?} after the first",
            last - now
        );
        times.extend(&urgent);
        times.extend(ordinary(&pacer, now, 30));
        assert_eq!(most_in_a_window(&times), 50);
    }

    #[test]
    fn no_rate_means_no_waiting() {
        let pacer = Pacer::new(0);
        let t0 = Instant::now();
        assert!((0..10).all(|_| pacer.ticket(t0) == t0));
        assert!((0..10).all(|_| pacer.try_go(Priority::Normal, t0).is_ok()));
    }

    #[test]
    fn a_small_share_still_lets_ordinary_calls_through_and_keeps_one_for_punishments() {
        let pacer = Pacer::new(2);
        let t0 = Instant::now();
        let slots = ordinary(&pacer, t0, 4);
        assert_eq!(most_in_a_window(&slots), 1);
        assert_eq!(pacer.try_go(Priority::Urgent, slots[3]), Ok(()));
    }
}
