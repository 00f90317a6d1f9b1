//! Purpose: the outbox's SQL — appending inside a caller's transaction, and the relay's side of
//! the lease queue ([`QUEUE`]): claim, acknowledge, fail (all fenced) and purge.

use std::time::Duration;

use entity::events::outbox;
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};
use uuid::Uuid;

use super::model::{NewEvent, OutboxEvent};
use crate::queue::{Lease, QueueTable, Retry};

/// Appends `event` through `conn` — pass the domain's open transaction so the change and its
/// event commit or roll back together. Returns the event id (UUID v7, also the consumers'
/// idempotency key). A trigger on `events.outbox` sends the relay a NOTIFY wake-up at commit.
pub async fn append<C: ConnectionTrait>(conn: &C, event: NewEvent) -> Result<Uuid, DbErr> {
    let id = Uuid::now_v7();
    // occurred_at and available_at default to the database's now().
    outbox::Entity::insert(outbox::ActiveModel {
        id: Set(id),
        event_type: Set(event.event_type.to_owned()),
        aggregate_type: Set(event.aggregate_type.to_owned()),
        aggregate_id: Set(event.aggregate_id),
        guild_discord_id: Set(event.guild_discord_id),
        payload: Set(event.payload),
        ..Default::default()
    })
    .exec_without_returning(conn)
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

/// `events.outbox` as a lease queue: an event is due until every consumer had it (published)
/// or its last attempt failed (dead).
pub static QUEUE: QueueTable = QueueTable {
    name: "outbox",
    table: "events.outbox",
    claimable: "published_at IS NULL AND dead_at IS NULL AND available_at <= now() \
                AND (lease_until IS NULL OR lease_until < now())",
    order: "available_at, id",
    on_claim: "",
    held: "published_at IS NULL AND dead_at IS NULL",
    on_release: "",
    retry: Some(Retry {
        due_column: "available_at",
        on_failure: "dead_at = CASE WHEN attempts >= $5 THEN now() END",
        is_dead: "dead_at IS NOT NULL",
    }),
    waiting: "published_at IS NULL AND dead_at IS NULL \
              AND (lease_until IS NULL OR lease_until < now())",
    leased: "published_at IS NULL AND dead_at IS NULL AND lease_until >= now()",
    dead: "published_at IS NULL AND dead_at IS NOT NULL",
};

/// Claims up to `limit` due events for `owner` for `lease` (fencing counter and attempt count
/// bumped). Events come back oldest first.
pub async fn claim(
    pool: &PgPool,
    owner: &str,
    lease: Duration,
    limit: u32,
) -> Result<Vec<OutboxEvent>, sqlx::Error> {
    let rows = QUEUE
        .claim(pool, owner, lease, limit, EVENT_COLUMNS)
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
    lease: Lease,
    consumer: &str,
) -> Result<bool, sqlx::Error> {
    let sql = format!(
        "UPDATE events.outbox SET delivered_to = array_append(delivered_to, $3) \
          WHERE {} AND NOT ($3 = ANY(delivered_to))",
        QUEUE.fenced()
    );
    let done = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(lease.id)
        .bind(lease.fencing)
        .bind(consumer)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks the event published (every consumer done) and ends the lease.
pub async fn mark_published(pool: &PgPool, lease: Lease) -> Result<bool, sqlx::Error> {
    let sql = format!(
        "UPDATE events.outbox SET published_at = now(), last_error = NULL, {} WHERE {}",
        QueueTable::END_LEASE,
        QUEUE.fenced()
    );
    let done = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(lease.id)
        .bind(lease.fencing)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a failed delivery: the event becomes due again after `retry_in`, or dead once it
/// has been attempted `max_attempts` times. Returns whether it is now dead.
pub async fn mark_failed(
    pool: &PgPool,
    lease: Lease,
    error: &str,
    retry_in: Duration,
    max_attempts: u32,
) -> Result<bool, sqlx::Error> {
    Ok(QUEUE
        .retry(pool, lease, error, retry_in, max_attempts)
        .await?
        .unwrap_or(false))
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

/// Counts of pending (waiting or leased) and dead events.
pub async fn backlog(pool: &PgPool) -> Result<(i64, i64), sqlx::Error> {
    let c = QUEUE.counts(pool).await?;
    Ok((c.waiting + c.leased, c.dead))
}
