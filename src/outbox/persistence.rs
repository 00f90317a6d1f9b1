//! Purpose: the outbox's SQL — appending inside a caller's transaction, and the relay's claim,
//! acknowledge, fail and purge statements (each fenced by the lease's counter).

use std::time::Duration;

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};
use uuid::Uuid;

use super::model::{NewEvent, OutboxEvent};

/// Appends `event` through `conn` — pass the domain's open transaction so the change and its
/// event commit or roll back together. Returns the event id (UUID v7, also the consumers'
/// idempotency key). A trigger on `events.outbox` sends the relay a NOTIFY wake-up at commit.
pub async fn append<C: ConnectionTrait>(conn: &C, event: NewEvent) -> Result<Uuid, DbErr> {
    let id = Uuid::now_v7();
    conn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "INSERT INTO events.outbox \
           (id, event_type, aggregate_type, aggregate_id, guild_discord_id, payload, occurred_at, available_at) \
         VALUES ($1, $2, $3, $4, $5, $6, now(), now())",
        [
            id.into(),
            event.event_type.into(),
            event.aggregate_type.into(),
            event.aggregate_id.into(),
            event.guild_discord_id.into(),
            event.payload.into(),
        ],
    ))
    .await?;
    Ok(id)
}

const EVENT_COLUMNS: &str = "id, event_type, aggregate_type, aggregate_id, guild_discord_id, \
                             payload, occurred_at, attempts, fencing, delivered_to";

fn event_from_row(row: &PgRow) -> Result<OutboxEvent, sqlx::Error> {
    Ok(OutboxEvent {
        id: row.try_get("id")?,
        event_type: row.try_get("event_type")?,
        aggregate_type: row.try_get("aggregate_type")?,
        aggregate_id: row.try_get("aggregate_id")?,
        guild_discord_id: row.try_get("guild_discord_id")?,
        payload: row.try_get("payload")?,
        occurred_at: row.try_get("occurred_at")?,
        attempts: row.try_get("attempts")?,
        fencing: row.try_get("fencing")?,
        delivered_to: row.try_get("delivered_to")?,
    })
}

/// Claims up to `limit` due events for `owner` for `lease`: bumps each one's fencing counter and
/// attempt count in one short statement. Events come back oldest first.
pub async fn claim(
    pool: &PgPool,
    owner: &str,
    lease: Duration,
    limit: u32,
) -> Result<Vec<OutboxEvent>, sqlx::Error> {
    let sql = format!(
        "UPDATE events.outbox AS o \
            SET lease_owner = $1, \
                lease_until = now() + make_interval(secs => $2), \
                fencing = o.fencing + 1, \
                attempts = o.attempts + 1 \
          WHERE o.id IN ( \
                SELECT id FROM events.outbox \
                 WHERE published_at IS NULL AND dead_at IS NULL AND available_at <= now() \
                   AND (lease_until IS NULL OR lease_until < now()) \
                 ORDER BY available_at, id \
                 LIMIT $3 \
                 FOR UPDATE SKIP LOCKED) \
         RETURNING {EVENT_COLUMNS}"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(owner)
        .bind(lease.as_secs_f64())
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?;
    let mut events = rows
        .iter()
        .map(event_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    events.sort_by_key(|e| e.id);
    Ok(events)
}

/// Records that `consumer` handled the event. False when the lease was lost (another relay
/// claimed the event since): the caller stops working on it.
pub async fn mark_delivered(
    pool: &PgPool,
    id: Uuid,
    fencing: i64,
    consumer: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE events.outbox SET delivered_to = array_append(delivered_to, $3) \
          WHERE id = $1 AND fencing = $2 AND NOT ($3 = ANY(delivered_to))",
    )
    .bind(id)
    .bind(fencing)
    .bind(consumer)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks the event published (every consumer done) and releases the lease.
pub async fn mark_published(pool: &PgPool, id: Uuid, fencing: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE events.outbox \
            SET published_at = now(), lease_owner = NULL, lease_until = NULL, last_error = NULL \
          WHERE id = $1 AND fencing = $2",
    )
    .bind(id)
    .bind(fencing)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a failed delivery: the event becomes due again after `retry_in`, or dead once it
/// has been attempted `max_attempts` times. Returns whether it is now dead.
pub async fn mark_failed(
    pool: &PgPool,
    id: Uuid,
    fencing: i64,
    error: &str,
    retry_in: Duration,
    max_attempts: u32,
) -> Result<bool, sqlx::Error> {
    let row = sqlx::query(
        "UPDATE events.outbox \
            SET last_error = $3, lease_owner = NULL, lease_until = NULL, \
                available_at = now() + make_interval(secs => $4), \
                dead_at = CASE WHEN attempts >= $5 THEN now() END \
          WHERE id = $1 AND fencing = $2 \
         RETURNING dead_at IS NOT NULL AS dead",
    )
    .bind(id)
    .bind(fencing)
    .bind(error)
    .bind(retry_in.as_secs_f64())
    .bind(i64::from(max_attempts))
    .fetch_optional(pool)
    .await?;
    Ok(match row {
        Some(row) => row.try_get("dead")?,
        None => false,
    })
}

/// Deletes events published more than `days` ago. Returns how many.
pub async fn purge_published(pool: &PgPool, days: u32) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "DELETE FROM events.outbox \
          WHERE published_at IS NOT NULL AND published_at < now() - make_interval(days => $1)",
    )
    .bind(i32::try_from(days).unwrap_or(i32::MAX))
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// Counts of pending and dead events (for /metrics).
pub async fn backlog(pool: &PgPool) -> Result<(i64, i64), sqlx::Error> {
    let row = sqlx::query(
        "SELECT count(*) FILTER (WHERE dead_at IS NULL) AS pending, \
                count(*) FILTER (WHERE dead_at IS NOT NULL) AS dead \
           FROM events.outbox WHERE published_at IS NULL",
    )
    .fetch_one(pool)
    .await?;
    Ok((row.try_get("pending")?, row.try_get("dead")?))
}
