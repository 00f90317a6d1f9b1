//! Purpose: the only code that writes `notification.requests` and `notification.preferences`:
//! enqueueing (idempotent on the producer's dedupe key), the sender's side of the lease queue
//! ([`QUEUE`]: claim, fenced results, release), the retention purge, and preference reads and
//! atomic changes.

use std::time::Duration;

use entity::notification::{preferences, requests};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter,
    QueryOrder, Statement,
};
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
pub async fn insert_request<C: ConnectionTrait>(
    conn: &C,
    request: &NewRequest,
) -> Result<bool, DbErr> {
    let row = requests::ActiveModel {
        id: Set(Uuid::now_v7()),
        guild_id: Set(request.guild_id),
        recipient_discord_id: Set(to_db(request.recipient_discord_id)),
        kind: Set(request.kind.clone()),
        category: Set(request.category.as_str().to_owned()),
        template_key: Set(request.template_key.clone()),
        args: Set(request.args.clone()),
        locale: Set(request.locale.clone()),
        dedupe_key: Set(request.dedupe_key.clone()),
        ..Default::default()
    };
    let done = requests::Entity::insert(row)
        .on_conflict_do_nothing_on([requests::Column::DedupeKey])
        .exec_without_returning(conn)
        .await?;
    Ok(matches!(done, sea_orm::TryInsertResult::Inserted(1)))
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
pub async fn purge_finished<C: ConnectionTrait>(conn: &C, days: u32) -> Result<u64, DbErr> {
    let done = requests::Entity::delete_many()
        .filter(requests::Column::Status.is_in(["sent", "skipped", "failed", "dead"]))
        .filter(
            Expr::col(requests::Column::UpdatedAt).lt(Expr::cust_with_values(
                "now() - make_interval(days => $1)",
                [i32::try_from(days).unwrap_or(i32::MAX)],
            )),
        )
        .exec(conn)
        .await?;
    Ok(done.rows_affected)
}

impl From<requests::Model> for RequestView {
    fn from(m: requests::Model) -> Self {
        RequestView {
            id: m.id,
            guild_id: m.guild_id,
            recipient_discord_id: from_db(m.recipient_discord_id),
            kind: m.kind,
            category: m.category,
            template_key: m.template_key,
            args: m.args,
            status: m.status,
            attempts: m.attempts,
            next_attempt_at: m.next_attempt_at.with_timezone(&chrono::Utc),
            last_error: m.last_error,
            delivered_via: m.delivered_via,
            sent_channel_id: m.sent_channel_id.map(from_db),
            sent_message_id: m.sent_message_id.map(from_db),
            dedupe_key: m.dedupe_key,
            fencing: m.fencing,
        }
    }
}

/// The requests to `recipient`, oldest first.
pub async fn requests_to<C: ConnectionTrait>(
    conn: &C,
    recipient: u64,
) -> Result<Vec<RequestView>, DbErr> {
    let rows = requests::Entity::find()
        .filter(requests::Column::RecipientDiscordId.eq(to_db(recipient)))
        .order_by_asc(requests::Column::Id)
        .all(conn)
        .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// One request by id.
pub async fn request<C: ConnectionTrait>(conn: &C, id: Uuid) -> Result<Option<RequestView>, DbErr> {
    Ok(requests::Entity::find_by_id(id)
        .one(conn)
        .await?
        .map(Into::into))
}

fn stmt(sql: &str, values: Vec<sea_orm::Value>) -> Statement {
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

fn preferences_of(locale: Option<&str>, dm_enabled: bool, muted: &[String]) -> Preferences {
    let mut muted: Vec<Category> = muted.iter().filter_map(|c| Category::parse(c)).collect();
    muted.sort();
    muted.dedup();
    Preferences {
        locale: locale.and_then(Locale::from_discord),
        dm_enabled,
        muted,
    }
}

/// The preferences of user row `user_id` (`None`: never set).
pub async fn preferences<C: ConnectionTrait>(
    conn: &C,
    user_id: Uuid,
) -> Result<Option<Preferences>, DbErr> {
    let row = preferences::Entity::find()
        .filter(preferences::Column::UserId.eq(user_id))
        .one(conn)
        .await?;
    Ok(row.map(|p| preferences_of(p.locale.as_deref(), p.dm_enabled, &p.muted_categories)))
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
    preferences::Entity::insert(preferences::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        ..Default::default()
    })
    .on_conflict_do_nothing_on([preferences::Column::UserId])
    .exec_without_returning(conn)
    .await?;
    // Raw SQL: the change is computed from the row's current value in one statement
    // (`array_append` / `array_remove`), so concurrent changes never lose each other.
    let sql = format!(
        "UPDATE notification.preferences AS p SET {set}, updated_at = now() \
          WHERE p.user_id = $1 \
         RETURNING p.locale, p.dm_enabled, p.muted_categories"
    );
    let row = conn
        .query_one_raw(stmt(&sql, vec![user_id.into(), value]))
        .await?
        .ok_or(DbErr::RecordNotFound("notification preferences".into()))?;
    let locale: Option<String> = row.try_get("", "locale")?;
    let muted: Vec<String> = row.try_get("", "muted_categories")?;
    Ok(preferences_of(
        locale.as_deref(),
        row.try_get("", "dm_enabled")?,
        &muted,
    ))
}
