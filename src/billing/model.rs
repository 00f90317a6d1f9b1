//! Purpose: the billing domain's rules without I/O — the deterministic order id of a charge
//! (one per subscription, period and attempt: a retry of the same attempt reuses it, so Toss's
//! idempotency and `DUPLICATED_ORDER_ID` make a second charge impossible), the dunning
//! schedule, and what a subscription is as the rest of Umbra sees it.

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

/// The order id of attempt `attempt` to pay the period starting at `period_start` (Toss: 6-64
/// letters, digits, `-`, `_`). The start is written to the microsecond (PostgreSQL's precision):
/// two periods never share an order id.
pub fn order_id(subscription: Uuid, period_start: DateTime<Utc>, attempt: i32) -> String {
    format!(
        "umb-{}-{}-{attempt}",
        subscription.simple(),
        period_start.format("%Y%m%d%H%M%S%6f")
    )
}

/// The order id of the subscription's `n`th upgrade charge (the attempt row keeps it, so a
/// crash is reconciled by charging the same order again).
pub fn upgrade_order_id(subscription: Uuid, n: i32) -> String {
    format!("umb-{}-up{n}", subscription.simple())
}

/// Toss's smallest card charge: a pro-rated difference below it is not charged (the upgrade is
/// free for the little that is left of the period).
pub const MIN_CHARGE_KRW: i64 = 100;

/// What an upgrade from `old` to `new` (prices per period) costs for what is left of the period
/// `start..end` at `now`: the difference times the share of the period left, rounded up to
/// the won. 0 for a downgrade or a period already over.
pub fn prorated(
    old: i64,
    new: i64,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    now: DateTime<Utc>,
) -> i64 {
    let total = (end - start).num_seconds();
    let left = (end - now).num_seconds().clamp(0, total.max(0));
    if new <= old || total <= 0 || left == 0 {
        return 0;
    }
    let (numerator, total) = (i128::from(new - old) * i128::from(left), i128::from(total));
    let cost = (numerator + total - 1) / total;
    i64::try_from(cost).unwrap_or(i64::MAX)
}

/// When a declined renewal is tried again: `days` after the day it was due, for each failure
/// in turn (`[1, 3, 5]`: one, three and five days after). `None`: no retry left (expire).
pub fn next_retry(days: &[u32], failures: i32, due: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let index = usize::try_from(failures).ok()?.checked_sub(1)?;
    days.get(index)
        .map(|d| due + TimeDelta::days(i64::from(*d)))
}

/// An amount as people read it: `₩4,900`.
pub fn won(amount: i64) -> String {
    let digits = amount.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && c.is_ascii_digit() && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    format!("₩{out}")
}

/// A subscription's state (`billing.subscriptions.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Active,
    PastDue,
    Cancelled,
    Expired,
}

impl Status {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Status::Active),
            "past_due" => Some(Status::PastDue),
            "cancelled" => Some(Status::Cancelled),
            "expired" => Some(Status::Expired),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::PastDue => "past_due",
            Status::Cancelled => "cancelled",
            Status::Expired => "expired",
        }
    }
}

/// A subscription as shown to its owner.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    pub id: Uuid,
    pub guild_row: Uuid,
    pub user_row: Uuid,
    pub plan_code: String,
    pub status: Status,
    pub price_krw: i64,
    pub current_period_start: DateTime<Utc>,
    pub current_period_end: DateTime<Utc>,
    pub next_charge_at: Option<DateTime<Utc>>,
    pub cancel_at_period_end: bool,
    pub failed_attempts: i32,
    /// The card charged (company and masked number), if any.
    pub card: Option<(String, String)>,
    /// The plan it changes to (a downgrade at the period's end; an upgrade being paid).
    pub next_plan: Option<String>,
}

/// One charge attempt as shown (receipts).
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    pub order_id: String,
    pub amount_krw: i64,
    pub status: String,
    pub failure_code: Option<String>,
    pub receipt_url: Option<String>,
    pub requested_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_are_shown_in_won_with_thousands_separators() {
        assert_eq!(won(4900), "₩4,900");
        assert_eq!(won(990), "₩990");
        assert_eq!(won(1_234_567), "₩1,234,567");
    }

    #[test]
    fn order_ids_are_deterministic_and_follow_tosss_rule() {
        let sub = Uuid::now_v7();
        let at = DateTime::parse_from_rfc3339("2026-12-06T05:00:00Z")
            .expect("a time")
            .with_timezone(&Utc);
        let id = order_id(sub, at, 1);
        assert_eq!(id, order_id(sub, at, 1));
        assert_ne!(id, order_id(sub, at, 2));
        assert!((6..=64).contains(&id.len()), "{id}");
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        let a_moment_later = at + TimeDelta::microseconds(1);
        assert_ne!(
            id,
            order_id(sub, a_moment_later, 1),
            "periods in one second differ"
        );
        assert!(order_id(sub, at, 999).len() <= 64);
    }

    #[test]
    fn an_upgrade_halfway_through_the_period_costs_half_the_difference() {
        let start = Utc::now();
        let end = start + TimeDelta::days(30);
        let half = start + TimeDelta::days(15);
        assert_eq!(prorated(4900, 9900, start, end, half), 2500);
        assert_eq!(prorated(4900, 9900, start, end, start), 5000);
    }

    #[test]
    fn a_downgrade_or_a_finished_period_costs_nothing_now() {
        let start = Utc::now();
        let end = start + TimeDelta::days(30);
        assert_eq!(prorated(9900, 4900, start, end, start), 0);
        assert_eq!(prorated(4900, 9900, start, end, end), 0);
        assert_eq!(
            prorated(4900, 9900, start, end, end + TimeDelta::days(1)),
            0
        );
    }

    #[test]
    fn pro_rated_amounts_round_up_to_the_won() {
        let start = Utc::now();
        let end = start + TimeDelta::seconds(3);
        assert_eq!(
            prorated(0, 100, start, end, start + TimeDelta::seconds(1)),
            67
        );
    }

    #[test]
    fn upgrade_order_ids_are_distinct_from_period_order_ids() {
        let sub = Uuid::now_v7();
        let up = upgrade_order_id(sub, 1);
        assert_ne!(up, order_id(sub, Utc::now(), 1));
        assert_ne!(up, upgrade_order_id(sub, 2));
        assert!((6..=64).contains(&up.len()), "{up}");
    }

    #[test]
    fn dunning_retries_one_three_and_five_days_after_the_due_date_then_gives_up() {
        let due = Utc::now();
        let days = [1, 3, 5];
        assert_eq!(next_retry(&days, 1, due), Some(due + TimeDelta::days(1)));
        assert_eq!(next_retry(&days, 3, due), Some(due + TimeDelta::days(5)));
        assert_eq!(next_retry(&days, 4, due), None);
        assert_eq!(next_retry(&days, 0, due), None);
    }
}
