//! Purpose: a lane's rate-limit state as Discord's answers describe it (remaining calls in
//! the bucket's window, when it resets), merged across answers that arrive out of order.

use std::time::Duration;

use tokio::time::Instant;

use crate::discord::rest::RateHeaders;

/// A response's rate-limit headers: how much of its bucket's window is left.
#[derive(Debug, Clone, PartialEq)]
pub struct Rate {
    /// `X-RateLimit-Bucket`.
    pub bucket: Option<String>,
    /// `X-RateLimit-Remaining`.
    pub remaining: u32,
    /// `X-RateLimit-Reset` (epoch seconds): the same in every answer of one window.
    pub reset: f64,
    /// When the window ends (`X-RateLimit-Reset-After` from the answer), on this clock.
    pub reset_at: Instant,
}

/// Two `X-RateLimit-Reset` values this close (seconds) name the same window.
pub(super) const SAME_WINDOW: f64 = 0.004;

impl Rate {
    pub(super) fn from_headers(h: RateHeaders) -> Option<Self> {
        Some(Self {
            bucket: h.bucket,
            remaining: h.remaining,
            reset: h.reset,
            reset_at: Instant::now() + Duration::try_from_secs_f64(h.reset_after).ok()?,
        })
    }

    /// Folds a later-arriving answer of the same lane in. Answers arrive out of order: within
    /// one window the smallest `remaining` is the true one; an answer from an older window
    /// says nothing about the current one.
    pub(super) fn merge(&mut self, other: Rate) {
        if self.bucket != other.bucket || other.reset > self.reset + SAME_WINDOW {
            *self = other;
        } else if (other.reset - self.reset).abs() <= SAME_WINDOW {
            self.remaining = self.remaining.min(other.remaining);
        }
    }

    /// Whether one more request may go out while `in_flight` others of the lane are unanswered
    /// (they are not in `remaining` yet).
    pub(super) fn admits(&self, in_flight: usize, now: Instant) -> bool {
        now >= self.reset_at || self.remaining as usize > in_flight
    }
}
