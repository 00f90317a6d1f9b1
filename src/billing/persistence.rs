//! Purpose: the only writer of `billing.*` — billing keys (the key sealed with the keyring,
//! bound to its row and column), subscriptions worked as a lease queue (renewals), and payment
//! attempts written `pending` before Toss is called, so a crash leaves a row to reconcile.
//!
//! Raw SQL: every write to a subscription is fenced by its lease (the queue's SQL fragments),
//! and the claim needs `FOR UPDATE SKIP LOCKED`.

use chrono::{DateTime, Utc};
use sqlx::{PgExecutor, Row};
use uuid::Uuid;

use super::model::{Attempt, Status, Subscription};
use crate::queue::{Lease, QueueTable};

/// Renewals: live subscriptions whose next charge is due, not held by a live lease.
pub static QUEUE: QueueTable = QueueTable {
    name: "billing",
    table: "billing.subscriptions",
    claimable: "status IN ('active', 'past_due') AND next_charge_at <= now() \
                AND (lease_until IS NULL OR lease_until < now())",
    order: "next_charge_at, id",
    on_claim: "",
    held: "lease_until >= now()",
    on_release: "",
    retry: None,
    waiting: "status IN ('active', 'past_due') AND next_charge_at <= now() \
              AND (lease_until IS NULL OR lease_until < now())",
    leased: "lease_until >= now()",
    dead: "false",
};

/// The column the billing key is sealed for (the associated data names it).
pub const KEY_COLUMN: &str = "billing_key_enc";

/// A stored card.
pub struct StoredKey {
    pub id: Uuid,
    pub customer_key: Uuid,
    pub key_id: String,
    pub sealed: Vec<u8>,
}

/// Stores a new card for `user` and retires the user's previous ones (their keys wiped); the
/// user's live subscriptions are charged on the new card from now on (a past-due one at once).
#[allow(clippy::too_many_arguments)]
pub async fn replace_key(
    conn: &mut sqlx::PgConnection,
    id: Uuid,
    user: Uuid,
    customer_key: Uuid,
    key_id: &str,
    sealed: &[u8],
    company: Option<&str>,
    masked: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE billing.billing_keys SET status = 'deleted', deleted_at = now(), \
                billing_key_enc = NULL \
          WHERE user_id = $1 AND status = 'active'",
    )
    .bind(user)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO billing.billing_keys \
           (id, user_id, provider, customer_key, billing_key_enc, key_id, card_company, \
            card_number_masked, status) \
         VALUES ($1, $2, 'toss', $3, $4, $5, $6, $7, 'active')",
    )
    .bind(id)
    .bind(user)
    .bind(customer_key)
    .bind(sealed)
    .bind(key_id)
    .bind(company)
    .bind(masked)
    .execute(&mut *conn)
    .await?;
    // A renewal that failed on the old card is tried again at once on the new one.
    sqlx::query(
        "UPDATE billing.subscriptions SET billing_key_id = $2, updated_at = now(), \
                next_charge_at = CASE WHEN status = 'past_due' THEN now() ELSE next_charge_at END \
          WHERE user_id = $1 AND status IN ('active', 'past_due')",
    )
    .bind(user)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The user's active card.
pub async fn active_key<'e>(
    exec: impl PgExecutor<'e>,
    user: Uuid,
) -> Result<Option<StoredKey>, sqlx::Error> {
    key_where(exec, "user_id = $1", user).await
}

/// The card of a subscription (`None`: deleted or none).
pub async fn key_of_subscription<'e>(
    exec: impl PgExecutor<'e>,
    subscription: Uuid,
) -> Result<Option<StoredKey>, sqlx::Error> {
    key_where(
        exec,
        "id = (SELECT s.billing_key_id FROM billing.subscriptions AS s WHERE s.id = $1)",
        subscription,
    )
    .await
}

async fn key_where<'e>(
    exec: impl PgExecutor<'e>,
    condition: &'static str,
    id: Uuid,
) -> Result<Option<StoredKey>, sqlx::Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT id, customer_key, key_id, billing_key_enc FROM billing.billing_keys \
          WHERE {condition} AND status = 'active' ORDER BY created_at DESC LIMIT 1"
    )))
    .bind(id)
    .fetch_optional(exec)
    .await?;
    row.map(|r| {
        Ok(StoredKey {
            id: r.try_get("id")?,
            customer_key: r.try_get("customer_key")?,
            key_id: r.try_get("key_id")?,
            sealed: r.try_get("billing_key_enc")?,
        })
    })
    .transpose()
}

/// Whether an error is the "one live subscription per guild" index refusing a second one.
pub fn is_live_conflict(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.constraint())
        .is_some_and(|c| c == "subscriptions_one_live_per_guild")
}

/// A new subscription, held by `owner`'s lease while its first charge runs.
#[allow(clippy::too_many_arguments)]
pub async fn insert_subscription<'e>(
    exec: impl PgExecutor<'e>,
    id: Uuid,
    user: Uuid,
    guild: Uuid,
    plan: Uuid,
    key: Uuid,
    price: i64,
    period_days: i32,
    owner: &str,
    lease_seconds: f64,
) -> Result<Lease, sqlx::Error> {
    let fencing: i64 = sqlx::query_scalar(
        "INSERT INTO billing.subscriptions \
           (id, user_id, guild_id, plan_id, billing_key_id, status, price_krw, \
            current_period_start, current_period_end, next_charge_at, lease_owner, lease_until, \
            fencing) \
         VALUES ($1, $2, $3, $4, $5, 'active', $6, now(), now() + make_interval(days => $7), \
                 now(), $8, now() + make_interval(secs => $9), 1) \
         RETURNING fencing",
    )
    .bind(id)
    .bind(user)
    .bind(guild)
    .bind(plan)
    .bind(key)
    .bind(price)
    .bind(period_days)
    .bind(owner)
    .bind(lease_seconds)
    .fetch_one(exec)
    .await?;
    Ok(Lease { id, fencing })
}

const SUBSCRIPTION: &str = "s.id, s.guild_id, s.user_id, p.code, s.status, s.price_krw, \
     s.current_period_start, s.current_period_end, s.next_charge_at, s.cancel_at_period_end, \
     s.failed_attempts, k.card_company, k.card_number_masked, p.billing_period_days, \
     np.code AS next_code";

const FROM: &str = "billing.subscriptions AS s \
     JOIN licensing.plans AS p ON p.id = s.plan_id \
     LEFT JOIN licensing.plans AS np ON np.id = s.next_plan_id \
     LEFT JOIN billing.billing_keys AS k ON k.id = s.billing_key_id AND k.status = 'active'";

fn subscription(r: &sqlx::postgres::PgRow) -> Result<(Subscription, i32), sqlx::Error> {
    let status: String = r.try_get("status")?;
    let company: Option<String> = r.try_get("card_company")?;
    let masked: Option<String> = r.try_get("card_number_masked")?;
    Ok((
        Subscription {
            id: r.try_get("id")?,
            guild_row: r.try_get("guild_id")?,
            user_row: r.try_get("user_id")?,
            plan_code: r.try_get("code")?,
            status: Status::parse(&status).unwrap_or(Status::Expired),
            price_krw: r.try_get("price_krw")?,
            current_period_start: r.try_get("current_period_start")?,
            current_period_end: r.try_get("current_period_end")?,
            next_charge_at: r.try_get("next_charge_at")?,
            cancel_at_period_end: r.try_get("cancel_at_period_end")?,
            failed_attempts: r.try_get("failed_attempts")?,
            card: company.zip(masked),
            next_plan: r.try_get("next_code")?,
        },
        r.try_get::<Option<i32>, _>("billing_period_days")?
            .unwrap_or(30),
    ))
}

/// A subscription and its plan's period in days.
pub async fn get<'e>(
    exec: impl PgExecutor<'e>,
    id: Uuid,
) -> Result<Option<(Subscription, i32)>, sqlx::Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {SUBSCRIPTION} FROM {FROM} WHERE s.id = $1"
    )))
    .bind(id)
    .fetch_optional(exec)
    .await?;
    row.as_ref().map(subscription).transpose()
}

/// The guild's live subscription, else its latest one.
pub async fn of_guild<'e>(
    exec: impl PgExecutor<'e>,
    guild: Uuid,
) -> Result<Option<Subscription>, sqlx::Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {SUBSCRIPTION} FROM {FROM} WHERE s.guild_id = $1 \
          ORDER BY (s.status IN ('active', 'past_due')) DESC, s.created_at DESC LIMIT 1"
    )))
    .bind(guild)
    .fetch_optional(exec)
    .await?;
    Ok(row.as_ref().map(subscription).transpose()?.map(|(s, _)| s))
}

/// Claims up to `limit` due subscriptions for `owner`.
pub async fn claim<'e>(
    exec: impl PgExecutor<'e>,
    owner: &str,
    lease: std::time::Duration,
    limit: u32,
) -> Result<Vec<Lease>, sqlx::Error> {
    let rows = QUEUE
        .claim(exec, owner, lease, limit, "id, fencing")
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Lease {
                id: r.try_get("id")?,
                fencing: r.try_get("fencing")?,
            })
        })
        .collect()
}

/// Whether `lease` still holds its subscription (checked inside a transaction before writing).
pub async fn holds(conn: &mut sqlx::PgConnection, lease: Lease) -> Result<bool, sqlx::Error> {
    let held = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT 1 FROM billing.subscriptions WHERE {} FOR UPDATE",
        QUEUE.fenced()
    )))
    .bind(lease.id)
    .bind(lease.fencing)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(held.is_some())
}

/// The attempt to pay the period starting at `period_start`: the pending one (to reconcile),
/// else a new one numbered after those that failed. Returns (order id, attempt number).
pub async fn attempt_for(
    conn: &mut sqlx::PgConnection,
    subscription: Uuid,
    period_start: DateTime<Utc>,
    amount: i64,
) -> Result<(String, i32), sqlx::Error> {
    let pending: Option<(String, i32)> = sqlx::query_as(
        "SELECT order_id, attempt_no FROM billing.payment_attempts \
          WHERE subscription_id = $1 AND period_start = $2 AND status = 'pending' \
            AND kind = 'period'",
    )
    .bind(subscription)
    .bind(period_start)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(p) = pending {
        return Ok(p);
    }
    let next: i32 = sqlx::query_scalar(
        "SELECT COALESCE(max(attempt_no), 0) + 1 FROM billing.payment_attempts \
          WHERE subscription_id = $1 AND period_start = $2 AND kind = 'period'",
    )
    .bind(subscription)
    .bind(period_start)
    .fetch_one(&mut *conn)
    .await?;
    let order = super::model::order_id(subscription, period_start, next);
    sqlx::query(
        "INSERT INTO billing.payment_attempts \
           (id, subscription_id, order_id, idempotency_key, amount_krw, period_start, attempt_no) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(Uuid::now_v7())
    .bind(subscription)
    .bind(&order)
    .bind(super::toss::idempotency_key(&order))
    .bind(amount)
    .bind(period_start)
    .bind(next)
    .execute(&mut *conn)
    .await?;
    Ok((order, next))
}

/// Takes the lease of the guild's active subscription for `owner` (a plan change), unless
/// another worker holds it. Returns the lease and the subscription's id.
pub async fn take<'e>(
    exec: impl PgExecutor<'e>,
    guild: Uuid,
    owner: &str,
    lease: std::time::Duration,
) -> Result<Option<Lease>, sqlx::Error> {
    let row: Option<(Uuid, i64)> = sqlx::query_as(
        "UPDATE billing.subscriptions \
            SET lease_owner = $2, lease_until = now() + make_interval(secs => $3), \
                fencing = fencing + 1 \
          WHERE guild_id = $1 AND status = 'active' \
            AND (lease_until IS NULL OR lease_until < now()) \
            AND NOT EXISTS (SELECT 1 FROM billing.payment_attempts AS a \
                             WHERE a.subscription_id = billing.subscriptions.id \
                               AND a.status = 'pending') \
         RETURNING id, fencing",
    )
    .bind(guild)
    .bind(owner)
    .bind(lease.as_secs_f64())
    .fetch_optional(exec)
    .await?;
    Ok(row.map(|(id, fencing)| Lease { id, fencing }))
}

/// A plan upgrade whose pro-rated charge is recorded but not settled.
#[derive(Debug, Clone)]
pub struct PendingUpgrade {
    pub order_id: String,
    pub amount: i64,
    pub plan_code: String,
    pub plan_price: i64,
}

/// Records an upgrade of the subscription `lease` holds to `plan`: its charge of `amount` as a
/// pending attempt (order id kept), the plan as the next one, and the subscription due now (so
/// a crash before the charge is settled leaves it to the renewal worker). Fenced; returns the
/// order id, or `None` when the lease was lost.
pub async fn begin_upgrade(
    conn: &mut sqlx::PgConnection,
    lease: Lease,
    plan: Uuid,
    amount: i64,
    at: DateTime<Utc>,
) -> Result<Option<String>, sqlx::Error> {
    if !holds(conn, lease).await? {
        return Ok(None);
    }
    // The subscription's row is locked (`holds`): counting its upgrades cannot race.
    let n: i32 = sqlx::query_scalar(
        "SELECT count(*)::int + 1 FROM billing.payment_attempts \
          WHERE subscription_id = $1 AND kind = 'upgrade'",
    )
    .bind(lease.id)
    .fetch_one(&mut *conn)
    .await?;
    let order = super::model::upgrade_order_id(lease.id, n);
    sqlx::query(
        "INSERT INTO billing.payment_attempts \
           (id, subscription_id, order_id, idempotency_key, amount_krw, period_start, attempt_no, \
            kind, plan_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $8, 'upgrade', $7)",
    )
    .bind(Uuid::now_v7())
    .bind(lease.id)
    .bind(&order)
    .bind(super::toss::idempotency_key(&order))
    .bind(amount)
    .bind(at)
    .bind(plan)
    .bind(n)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE billing.subscriptions SET next_plan_id = $2, next_charge_at = now(), \
                updated_at = now() WHERE id = $1",
    )
    .bind(lease.id)
    .bind(plan)
    .execute(&mut *conn)
    .await?;
    Ok(Some(order))
}

/// Moves the subscription `lease` holds to `plan` at once, with no charge (an upgrade with too
/// little of the period left to charge). Fenced: `false` when the lease was lost.
pub async fn begin_free_upgrade(
    conn: &mut sqlx::PgConnection,
    lease: Lease,
    plan: Uuid,
) -> Result<bool, sqlx::Error> {
    if !holds(conn, lease).await? {
        return Ok(false);
    }
    sqlx::query("UPDATE billing.subscriptions SET next_plan_id = $2 WHERE id = $1")
        .bind(lease.id)
        .bind(plan)
        .execute(&mut *conn)
        .await?;
    Ok(switch_plan(conn, lease.id).await?.is_some())
}

/// The subscription's upgrade waiting for its charge to be settled, if any.
pub async fn pending_upgrade<'e>(
    exec: impl PgExecutor<'e>,
    subscription: Uuid,
) -> Result<Option<PendingUpgrade>, sqlx::Error> {
    let row: Option<(String, i64, String, i64)> = sqlx::query_as(
        "SELECT a.order_id, a.amount_krw, p.code, p.price_krw \
           FROM billing.payment_attempts AS a JOIN licensing.plans AS p ON p.id = a.plan_id \
          WHERE a.subscription_id = $1 AND a.kind = 'upgrade' AND a.status = 'pending'",
    )
    .bind(subscription)
    .fetch_optional(exec)
    .await?;
    Ok(
        row.map(|(order_id, amount, plan_code, plan_price)| PendingUpgrade {
            order_id,
            amount,
            plan_code,
            plan_price,
        }),
    )
}

/// Moves the subscription to its next plan (the plan and its price from now on), clearing the
/// change. Run inside the transaction that holds its lease. Returns the plan's code, price and
/// period in days (`None`: no change was scheduled).
pub async fn switch_plan(
    conn: &mut sqlx::PgConnection,
    subscription: Uuid,
) -> Result<Option<(String, i64, i32)>, sqlx::Error> {
    let row: Option<(String, i64, Option<i32>)> = sqlx::query_as(
        "UPDATE billing.subscriptions AS s \
            SET plan_id = p.id, price_krw = p.price_krw, next_plan_id = NULL, updated_at = now() \
           FROM licensing.plans AS p \
          WHERE s.id = $1 AND p.id = s.next_plan_id \
         RETURNING p.code, p.price_krw, p.billing_period_days",
    )
    .bind(subscription)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|(code, price, days)| (code, price, days.unwrap_or(30))))
}

/// Clears the subscription's next plan (an upgrade that was declined).
pub async fn clear_next_plan(
    conn: &mut sqlx::PgConnection,
    subscription: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE billing.subscriptions SET next_plan_id = NULL, updated_at = now() WHERE id = $1",
    )
    .bind(subscription)
    .execute(conn)
    .await?;
    Ok(())
}

/// Schedules (`Some`) or takes back (`None`) a change of the guild's live subscription to
/// `plan` at its period's end. Refused (`false`) while a charge is in flight (its amount was
/// set by the plan as it was) or when there is no live subscription.
pub async fn schedule_plan<'e>(
    exec: impl PgExecutor<'e>,
    guild: Uuid,
    plan: Option<Uuid>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE billing.subscriptions AS s SET next_plan_id = $2, updated_at = now() \
          WHERE s.guild_id = $1 AND s.status IN ('active', 'past_due') \
            AND NOT EXISTS (SELECT 1 FROM billing.payment_attempts AS a \
                             WHERE a.subscription_id = s.id AND a.status = 'pending')",
    )
    .bind(guild)
    .bind(plan)
    .execute(exec)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Opens a new subscribe link for the Discord user `user` (`nonce`), closing any earlier one.
/// `false`: Umbra has no record of the user. (`identity.users.subscribe_link_nonce` is billing's
/// one column outside its schema.)
pub async fn open_link<'e>(
    exec: impl PgExecutor<'e>,
    user: i64,
    nonce: Uuid,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE identity.users SET subscribe_link_nonce = $2 WHERE discord_user_id = $1 \
            AND deleted_at IS NULL",
    )
    .bind(user)
    .bind(nonce)
    .execute(exec)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Uses the Discord user `user`'s subscribe link `nonce`: `true` once, `false` for a link used
/// already or replaced by a newer one.
pub async fn use_link<'e>(
    exec: impl PgExecutor<'e>,
    user: i64,
    nonce: Uuid,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE identity.users SET subscribe_link_nonce = NULL \
          WHERE discord_user_id = $1 AND subscribe_link_nonce = $2",
    )
    .bind(user)
    .bind(nonce)
    .execute(exec)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Whether the subscription was ever paid (its first charge went through).
pub async fn ever_paid<'e>(
    exec: impl PgExecutor<'e>,
    subscription: Uuid,
) -> Result<bool, sqlx::Error> {
    let done: Option<i32> = sqlx::query_scalar(
        "SELECT 1 FROM billing.payment_attempts \
          WHERE subscription_id = $1 AND status = 'done' LIMIT 1",
    )
    .bind(subscription)
    .fetch_optional(exec)
    .await?;
    Ok(done.is_some())
}

/// Records an attempt's outcome (`done` or `failed`).
pub async fn finish_attempt(
    conn: &mut sqlx::PgConnection,
    order_id: &str,
    status: &str,
    payment_key: Option<&str>,
    failure: Option<(&str, &str)>,
    response: Option<&serde_json::Value>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE billing.payment_attempts SET status = $2, payment_key = $3, failure_code = $4, \
                failure_message = $5, response = $6, completed_at = now() \
          WHERE order_id = $1 AND status = 'pending'",
    )
    .bind(order_id)
    .bind(status)
    .bind(payment_key)
    .bind(failure.map(|f| f.0))
    .bind(failure.map(|f| f.1))
    .bind(response)
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes a subscription's new state and ends the lease (fenced: `false` when the lease was
/// lost, and nothing is written).
#[allow(clippy::too_many_arguments)]
pub async fn settle(
    conn: &mut sqlx::PgConnection,
    lease: Lease,
    status: Status,
    period: Option<(DateTime<Utc>, DateTime<Utc>)>,
    next_charge_at: Option<DateTime<Utc>>,
    failed_attempts: i32,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE billing.subscriptions SET status = $3, \
                current_period_start = COALESCE($4, current_period_start), \
                current_period_end = COALESCE($5, current_period_end), \
                next_charge_at = $6, failed_attempts = $7, \
                cancelled_at = CASE WHEN $3 = 'cancelled' THEN now() ELSE cancelled_at END, \
                updated_at = now(), {} \
          WHERE {}",
        QueueTable::END_LEASE,
        QUEUE.fenced()
    )))
    .bind(lease.id)
    .bind(lease.fencing)
    .bind(status.as_str())
    .bind(period.map(|p| p.0))
    .bind(period.map(|p| p.1))
    .bind(next_charge_at)
    .bind(failed_attempts)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Sets or clears "cancel at the end of the period" on the guild's live subscription. Returns
/// whether there was one.
pub async fn set_cancel_at_end<'e>(
    exec: impl PgExecutor<'e>,
    guild: Uuid,
    cancel: bool,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE billing.subscriptions SET cancel_at_period_end = $2, updated_at = now() \
          WHERE guild_id = $1 AND status IN ('active', 'past_due')",
    )
    .bind(guild)
    .bind(cancel)
    .execute(exec)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The subscription's last attempts, newest first.
pub async fn attempts<'e>(
    exec: impl PgExecutor<'e>,
    subscription: Uuid,
    limit: i64,
) -> Result<Vec<Attempt>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT order_id, amount_krw, status, failure_code, response #>> '{receipt,url}' AS receipt, \
                requested_at \
           FROM billing.payment_attempts WHERE subscription_id = $1 \
          ORDER BY requested_at DESC LIMIT $2",
    )
    .bind(subscription)
    .bind(limit)
    .fetch_all(exec)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Attempt {
                order_id: r.try_get("order_id")?,
                amount_krw: r.try_get("amount_krw")?,
                status: r.try_get("status")?,
                failure_code: r.try_get("failure_code")?,
                receipt_url: r.try_get("receipt")?,
                requested_at: r.try_get("requested_at")?,
            })
        })
        .collect()
}

/// The attempt of `order_id`: its subscription, status, payment key, and the payment's balance
/// as last recorded (`None`: not an order of ours).
pub async fn attempt_by_order<'e>(
    exec: impl PgExecutor<'e>,
    order_id: &str,
) -> Result<Option<(Uuid, String, Option<String>, Option<i64>)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT subscription_id, status, payment_key, (response->>'balanceAmount')::bigint \
           FROM billing.payment_attempts WHERE order_id = $1",
    )
    .bind(order_id)
    .fetch_optional(exec)
    .await
}

/// Records a refund of a paid attempt: the payment as it is now (`response`), and the attempt
/// `cancelled` when nothing is left of it. `false` when that state was recorded already.
pub async fn record_refund(
    conn: &mut sqlx::PgConnection,
    order_id: &str,
    full: bool,
    response: &serde_json::Value,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE billing.payment_attempts \
            SET status = CASE WHEN $2 THEN 'cancelled' ELSE status END, response = $3 \
          WHERE order_id = $1 AND status IN ('done', 'cancelled') \
            AND (response->>'balanceAmount') IS DISTINCT FROM ($3->>'balanceAmount')",
    )
    .bind(order_id)
    .bind(full)
    .bind(response)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A failing subscription as the operator page lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct Failing {
    pub guild_row: Uuid,
    pub plan_code: String,
    pub status: String,
    pub failed_attempts: i32,
    pub next_charge_at: Option<DateTime<Utc>>,
    pub last_failure: Option<String>,
}

/// Subscriptions whose renewal is failing (past due), newest trouble first.
pub async fn failing<'e>(
    exec: impl PgExecutor<'e>,
    limit: i64,
) -> Result<Vec<Failing>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT s.guild_id, p.code, s.status, s.failed_attempts, s.next_charge_at, \
                (SELECT a.failure_code FROM billing.payment_attempts AS a \
                  WHERE a.subscription_id = s.id AND a.status = 'failed' \
                  ORDER BY a.requested_at DESC LIMIT 1) AS last_failure \
           FROM billing.subscriptions AS s JOIN licensing.plans AS p ON p.id = s.plan_id \
          WHERE s.status = 'past_due' ORDER BY s.updated_at DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(exec)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Failing {
                guild_row: r.try_get("guild_id")?,
                plan_code: r.try_get("code")?,
                status: r.try_get("status")?,
                failed_attempts: r.try_get("failed_attempts")?,
                next_charge_at: r.try_get("next_charge_at")?,
                last_failure: r.try_get("last_failure")?,
            })
        })
        .collect()
}
