//! Purpose: the only code that writes `notification.requests` and `notification.preferences`:
//! enqueueing (idempotent on the producer's dedupe key), the sender's side of the lease queue
//! ([`QUEUE`]: claim, fenced results, release), the retention purge, and preference reads and
//! atomic changes.

use std::time::Duration;

use sea_orm::{ConnectionTrait, DbBackend, DbErr, QueryResult, Statement};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};
use uuid::Uuid;

use super::model::{
    Category, ClaimedRequest, NewRequest, PreferenceChange, Preferences, RequestStatus,
    RequestView, Via,
};
use crate::i18n::Locale;
use crate::ids::{from_db, to_db};
use crate::queue::{Lease, QueueTable, Retry};

/// Enqueues `request` unless one with the same dedupe key exists. Returns whether it was new.
pub async fn insert_request(pool: &PgPool, request: &NewRequest) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO notification.requests \
           (id, guild_id, recipient_discord_id, kind, category, template_key, args, locale, dedupe_key) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(Uuid::now_v7())
    .bind(request.guild_id)
    .bind(to_db(request.recipient_discord_id))
    .bind(&request.kind)
    .bind(request.category.as_str())
    .bind(&request.template_key)
    .bind(&request.args)
    .bind(&request.locale)
    .bind(&request.dedupe_key)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

const CLAIM_COLUMNS: &str = "id, guild_id, recipient_discord_id, kind, category, template_key, \
                             args, locale, attempts, fencing";

fn claimed_from_row(row: &PgRow) -> Result<ClaimedRequest, sqlx::Error> {
    Ok(ClaimedRequest {
        id: row.try_get("id")?,
        guild_id: row.try_get("guild_id")?,
        recipient_discord_id: from_db(row.try_get("recipient_discord_id")?),
        kind: row.try_get("kind")?,
        category: row.try_get("category")?,
        template_key: row.try_get("template_key")?,
        args: row.try_get("args")?,
        locale: row.try_get("locale")?,
        attempts: row.try_get("attempts")?,
        fencing: row.try_get("fencing")?,
    })
}

/// `notification.requests` as a lease queue: `pending` until due, `sending` under a lease,
/// then `sent`, `skipped`, `failed` or (after its last attempt) `dead`.
pub static QUEUE: QueueTable = QueueTable {
    name: "notification",
    table: "notification.requests",
    claimable: "(status = 'pending' AND next_attempt_at <= now()) \
                OR (status = 'sending' AND lease_until < now())",
    order: "next_attempt_at, id",
    on_claim: "status = 'sending', updated_at = now()",
    held: "status = 'sending'",
    on_release: "status = 'pending', updated_at = now()",
    retry: Some(Retry {
        due_column: "next_attempt_at",
        on_failure: "status = CASE WHEN attempts >= $5 THEN 'dead' ELSE 'pending' END, \
                     updated_at = now()",
        is_dead: "status = 'dead'",
    }),
    waiting: "status = 'pending' OR (status = 'sending' AND lease_until < now())",
    leased: "status = 'sending' AND lease_until >= now()",
    dead: "status = 'dead'",
};

/// Claims up to `limit` due requests for `owner` for `lease`: pending ones whose next attempt is
/// due, and `sending` ones whose lease expired (their sender died). Each claim bumps the fencing
/// counter and the attempt count. Oldest first.
pub async fn claim(
    pool: &PgPool,
    owner: &str,
    lease: Duration,
    limit: u32,
) -> Result<Vec<ClaimedRequest>, sqlx::Error> {
    let rows = QUEUE
        .claim(pool, owner, lease, limit, CLAIM_COLUMNS)
        .await?;
    let mut claimed = rows
        .iter()
        .map(claimed_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    claimed.sort_by_key(|r| r.id);
    Ok(claimed)
}

/// Records a delivery. False when the lease was lost (another sender claimed the request since).
pub async fn mark_sent(
    pool: &PgPool,
    lease: Lease,
    via: Via,
    channel_id: u64,
    message_id: u64,
) -> Result<bool, sqlx::Error> {
    let sql = format!(
        "UPDATE notification.requests \
            SET status = 'sent', delivered_via = $3, sent_channel_id = $4, sent_message_id = $5, \
                sent_at = now(), last_error = NULL, updated_at = now(), {} \
          WHERE {}",
        QueueTable::END_LEASE,
        QUEUE.fenced()
    );
    let done = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(lease.id)
        .bind(lease.fencing)
        .bind(via.as_str())
        .bind(to_db(channel_id))
        .bind(to_db(message_id))
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Ends the request without delivery (`failed` or `skipped`) with `reason`. False when the
/// lease was lost.
pub async fn mark_final(
    pool: &PgPool,
    lease: Lease,
    status: RequestStatus,
    reason: &str,
) -> Result<bool, sqlx::Error> {
    let sql = format!(
        "UPDATE notification.requests \
            SET status = $3, last_error = $4, updated_at = now(), {} WHERE {}",
        QueueTable::END_LEASE,
        QUEUE.fenced()
    );
    let done = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(lease.id)
        .bind(lease.fencing)
        .bind(status.as_str())
        .bind(reason)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a failed attempt: the request becomes pending again after `retry_in`, or dead once it
/// has been attempted `max_attempts` times. Returns the new status (`None`: the lease was lost).
pub async fn mark_retry(
    pool: &PgPool,
    lease: Lease,
    error: &str,
    retry_in: Duration,
    max_attempts: u32,
) -> Result<Option<RequestStatus>, sqlx::Error> {
    let dead = QUEUE
        .retry(pool, lease, error, retry_in, max_attempts)
        .await?;
    Ok(dead.map(|dead| {
        if dead {
            RequestStatus::Dead
        } else {
            RequestStatus::Pending
        }
    }))
}

/// Gives a claimed request back untried (shutdown, or too little lease left): pending again at
/// once, the claim's attempt not counted. False when the lease was lost.
pub async fn release(pool: &PgPool, lease: Lease) -> Result<bool, sqlx::Error> {
    QUEUE.release(pool, lease).await
}

/// Deletes requests that ended (sent, skipped, failed, dead) more than `days` ago. Returns how
/// many.
pub async fn purge_finished(pool: &PgPool, days: u32) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "DELETE FROM notification.requests \
          WHERE status IN ('sent', 'skipped', 'failed', 'dead') \
            AND updated_at < now() - make_interval(days => $1)",
    )
    .bind(i32::try_from(days).unwrap_or(i32::MAX))
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

const VIEW_COLUMNS: &str = "id, guild_id, recipient_discord_id, kind, category, template_key, args, \
                            status, attempts, next_attempt_at, last_error, delivered_via, \
                            sent_channel_id, sent_message_id, dedupe_key, fencing";

fn view_from_row(row: &PgRow) -> Result<RequestView, sqlx::Error> {
    Ok(RequestView {
        id: row.try_get("id")?,
        guild_id: row.try_get("guild_id")?,
        recipient_discord_id: from_db(row.try_get("recipient_discord_id")?),
        kind: row.try_get("kind")?,
        category: row.try_get("category")?,
        template_key: row.try_get("template_key")?,
        args: row.try_get("args")?,
        status: row.try_get("status")?,
        attempts: row.try_get("attempts")?,
        next_attempt_at: row.try_get("next_attempt_at")?,
        last_error: row.try_get("last_error")?,
        delivered_via: row.try_get("delivered_via")?,
        sent_channel_id: row
            .try_get::<Option<i64>, _>("sent_channel_id")?
            .map(from_db),
        sent_message_id: row
            .try_get::<Option<i64>, _>("sent_message_id")?
            .map(from_db),
        dedupe_key: row.try_get("dedupe_key")?,
        fencing: row.try_get("fencing")?,
    })
}

/// The requests to `recipient`, oldest first.
pub async fn requests_to(pool: &PgPool, recipient: u64) -> Result<Vec<RequestView>, sqlx::Error> {
    let sql = format!(
        "SELECT {VIEW_COLUMNS} FROM notification.requests \
          WHERE recipient_discord_id = $1 ORDER BY id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(to_db(recipient))
        .fetch_all(pool)
        .await?;
    rows.iter().map(view_from_row).collect()
}

/// One request by id.
pub async fn request(pool: &PgPool, id: Uuid) -> Result<Option<RequestView>, sqlx::Error> {
    let sql = format!("SELECT {VIEW_COLUMNS} FROM notification.requests WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(view_from_row).transpose()
}

fn stmt(sql: &str, values: Vec<sea_orm::Value>) -> Statement {
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

fn preferences_from(row: &QueryResult) -> Result<Preferences, DbErr> {
    let locale: Option<String> = row.try_get("", "locale")?;
    let muted: Vec<String> = row.try_get("", "muted_categories")?;
    let mut muted: Vec<Category> = muted.iter().filter_map(|c| Category::parse(c)).collect();
    muted.sort();
    muted.dedup();
    Ok(Preferences {
        locale: locale.as_deref().and_then(Locale::from_discord),
        dm_enabled: row.try_get("", "dm_enabled")?,
        muted,
    })
}

/// The preferences of user row `user_id` (`None`: never set).
pub async fn preferences<C: ConnectionTrait>(
    conn: &C,
    user_id: Uuid,
) -> Result<Option<Preferences>, DbErr> {
    let row = conn
        .query_one_raw(stmt(
            "SELECT locale, dm_enabled, muted_categories FROM notification.preferences \
              WHERE user_id = $1",
            vec![user_id.into()],
        ))
        .await?;
    row.as_ref().map(preferences_from).transpose()
}

/// Applies `change` to the preferences of user row `user_id` (creating the row with defaults
/// first when there is none). The change is one `UPDATE` computed from the row's current value,
/// so concurrent changes never lose each other. Run both statements in one transaction.
pub async fn change_preferences<C: ConnectionTrait>(
    conn: &C,
    user_id: Uuid,
    change: PreferenceChange,
) -> Result<Preferences, DbErr> {
    let (set, value): (&str, sea_orm::Value) = match change {
        PreferenceChange::Dms(on) => ("dm_enabled = $2::boolean", on.into()),
        PreferenceChange::Locale(locale) => (
            "locale = $2::text",
            locale.map(|l| l.code().to_owned()).into(),
        ),
        PreferenceChange::Mute(c) => (
            "muted_categories = CASE WHEN $2::text = ANY(p.muted_categories) THEN p.muted_categories \
                                     ELSE array_append(p.muted_categories, $2::text) END",
            c.as_str().into(),
        ),
        PreferenceChange::Unmute(c) => (
            "muted_categories = array_remove(p.muted_categories, $2::text)",
            c.as_str().into(),
        ),
    };
    conn.execute_raw(stmt(
        "INSERT INTO notification.preferences (id, user_id) VALUES ($1, $2) \
         ON CONFLICT (user_id) DO NOTHING",
        vec![Uuid::now_v7().into(), user_id.into()],
    ))
    .await?;
    let sql = format!(
        "UPDATE notification.preferences AS p SET {set}, updated_at = now() \
          WHERE p.user_id = $1 \
         RETURNING p.locale, p.dm_enabled, p.muted_categories"
    );
    let row = conn
        .query_one_raw(stmt(&sql, vec![user_id.into(), value]))
        .await?
        .ok_or(DbErr::RecordNotFound("notification preferences".into()))?;
    preferences_from(&row)
}
