//! Purpose: the only code that writes `recovery.snapshots` — insert (scheduled ones deduplicated
//! by `(guild_id, schedule_slot)`), delete, pin/unpin, plan retention — and its reads (lists
//! select a column subset: payloads are large). Writes run in the caller's transaction so each
//! change commits with its outbox event.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, QueryResult, Statement, Value};
use uuid::Uuid;

use super::model::{Encoded, SnapshotMeta, Trigger};
use crate::ids::{from_db, to_db};

const META_COLUMNS: &str = "id, trigger, label, format_version, checksum, content_hash, size_bytes, uncompressed_bytes, \
                            role_count, channel_count, overwrite_count, member_count, pinned, pin_reason, as_of, \
                            schedule_slot, created_by_discord_id, created_at";

fn stmt(sql: &str, values: Vec<Value>) -> Statement {
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

fn meta(row: &QueryResult) -> Result<SnapshotMeta, DbErr> {
    let trigger: String = row.try_get("", "trigger")?;
    Ok(SnapshotMeta {
        id: row.try_get("", "id")?,
        trigger: Trigger::parse(&trigger)
            .ok_or_else(|| DbErr::Type(format!("unknown snapshot trigger {trigger}")))?,
        label: row.try_get("", "label")?,
        format_version: row.try_get("", "format_version")?,
        checksum: row.try_get("", "checksum")?,
        content_hash: row.try_get("", "content_hash")?,
        size_bytes: i64::from(row.try_get::<i32>("", "size_bytes")?),
        uncompressed_bytes: i64::from(row.try_get::<i32>("", "uncompressed_bytes")?),
        role_count: row.try_get("", "role_count")?,
        channel_count: row.try_get("", "channel_count")?,
        overwrite_count: row.try_get("", "overwrite_count")?,
        member_count: row.try_get("", "member_count")?,
        pinned: row.try_get("", "pinned")?,
        pin_reason: row.try_get("", "pin_reason")?,
        as_of: row.try_get("", "as_of")?,
        schedule_slot: row.try_get("", "schedule_slot")?,
        created_by: row
            .try_get::<Option<i64>>("", "created_by_discord_id")?
            .map(from_db),
        created_at: row.try_get("", "created_at")?,
    })
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Serializes snapshot writes of one guild until the transaction ends (retention counts stay
/// exact with several processes). A transaction-scoped lock: safe behind a pooler.
pub async fn lock_guild<C: ConnectionTrait>(txn: &C, guild_row: Uuid) -> Result<(), DbErr> {
    txn.execute_raw(stmt(
        "SELECT pg_advisory_xact_lock(hashtextextended('recovery.snapshots:' || $1::text, 0))",
        vec![guild_row.into()],
    ))
    .await?;
    Ok(())
}

/// What to insert.
pub struct NewSnapshot<'a> {
    pub guild_row: Uuid,
    pub trigger: Trigger,
    pub label: Option<String>,
    pub format_version: u32,
    pub encoded: &'a Encoded,
    pub pinned: bool,
    pub pin_reason: Option<String>,
    pub as_of: DateTime<Utc>,
    pub schedule_slot: Option<i64>,
    pub created_by: Option<u64>,
}

/// Inserts a snapshot; `None` when a scheduled snapshot of that slot exists already.
pub async fn insert<C: ConnectionTrait>(
    txn: &C,
    s: NewSnapshot<'_>,
) -> Result<Option<SnapshotMeta>, DbErr> {
    let sql = format!(
        "INSERT INTO recovery.snapshots \
           (id, guild_id, trigger, label, format_version, payload, checksum, content_hash, size_bytes, \
            uncompressed_bytes, role_count, channel_count, overwrite_count, member_count, pinned, pin_reason, as_of, \
            schedule_slot, created_by_discord_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, octet_length($6), $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) \
         ON CONFLICT (guild_id, schedule_slot) DO NOTHING \
         RETURNING {META_COLUMNS}"
    );
    let e = s.encoded;
    let row = txn
        .query_one_raw(stmt(
            &sql,
            vec![
                Uuid::now_v7().into(),
                s.guild_row.into(),
                s.trigger.as_str().into(),
                s.label.into(),
                i32::try_from(s.format_version).unwrap_or(i32::MAX).into(),
                e.payload.clone().into(),
                e.checksum.to_vec().into(),
                e.content_hash.to_vec().into(),
                count(e.uncompressed_bytes).into(),
                count(e.roles).into(),
                count(e.channels).into(),
                count(e.overwrites).into(),
                count(e.members).into(),
                s.pinned.into(),
                s.pin_reason.into(),
                s.as_of.into(),
                s.schedule_slot.into(),
                s.created_by.map(to_db).into(),
            ],
        ))
        .await?;
    row.as_ref().map(meta).transpose()
}

/// The guild's snapshots, newest first.
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    guild_row: Uuid,
    limit: u32,
) -> Result<Vec<SnapshotMeta>, DbErr> {
    let sql = format!(
        "SELECT {META_COLUMNS} FROM recovery.snapshots WHERE guild_id = $1 \
          ORDER BY created_at DESC, id DESC LIMIT $2"
    );
    let rows = conn
        .query_all_raw(stmt(&sql, vec![guild_row.into(), i64::from(limit).into()]))
        .await?;
    rows.iter().map(meta).collect()
}

/// One snapshot of the guild (`lock`: FOR UPDATE, inside a transaction).
pub async fn find<C: ConnectionTrait>(
    conn: &C,
    guild_row: Uuid,
    id: Uuid,
    lock: bool,
) -> Result<Option<SnapshotMeta>, DbErr> {
    let sql = format!(
        "SELECT {META_COLUMNS} FROM recovery.snapshots WHERE guild_id = $1 AND id = $2 {}",
        if lock { "FOR UPDATE" } else { "" }
    );
    let row = conn
        .query_one_raw(stmt(&sql, vec![guild_row.into(), id.into()]))
        .await?;
    row.as_ref().map(meta).transpose()
}

/// The newest snapshot of the guild with this exact label.
pub async fn find_by_label<C: ConnectionTrait>(
    conn: &C,
    guild_row: Uuid,
    label: &str,
) -> Result<Option<SnapshotMeta>, DbErr> {
    let sql = format!(
        "SELECT {META_COLUMNS} FROM recovery.snapshots WHERE guild_id = $1 AND label = $2 \
          ORDER BY created_at DESC, id DESC LIMIT 1"
    );
    let row = conn
        .query_one_raw(stmt(&sql, vec![guild_row.into(), label.into()]))
        .await?;
    row.as_ref().map(meta).transpose()
}

/// The emergency snapshot made with `reason` (one per incident: found again after a crash).
pub async fn find_emergency<C: ConnectionTrait>(
    conn: &C,
    guild_row: Uuid,
    reason: &str,
) -> Result<Option<SnapshotMeta>, DbErr> {
    let sql = format!(
        "SELECT {META_COLUMNS} FROM recovery.snapshots \
          WHERE guild_id = $1 AND trigger = 'emergency' AND pin_reason = $2 \
          ORDER BY created_at LIMIT 1"
    );
    let row = conn
        .query_one_raw(stmt(&sql, vec![guild_row.into(), reason.into()]))
        .await?;
    row.as_ref().map(meta).transpose()
}

/// A snapshot with its payload.
pub async fn with_payload<C: ConnectionTrait>(
    conn: &C,
    guild_row: Uuid,
    id: Uuid,
) -> Result<Option<(SnapshotMeta, Vec<u8>)>, DbErr> {
    let sql = format!(
        "SELECT {META_COLUMNS}, payload FROM recovery.snapshots WHERE guild_id = $1 AND id = $2"
    );
    let Some(row) = conn
        .query_one_raw(stmt(&sql, vec![guild_row.into(), id.into()]))
        .await?
    else {
        return Ok(None);
    };
    Ok(Some((meta(&row)?, row.try_get("", "payload")?)))
}

/// Deletes one snapshot; returns it when it existed.
pub async fn delete<C: ConnectionTrait>(
    txn: &C,
    guild_row: Uuid,
    id: Uuid,
) -> Result<Option<SnapshotMeta>, DbErr> {
    let sql = format!(
        "DELETE FROM recovery.snapshots WHERE guild_id = $1 AND id = $2 RETURNING {META_COLUMNS}"
    );
    let row = txn
        .query_one_raw(stmt(&sql, vec![guild_row.into(), id.into()]))
        .await?;
    row.as_ref().map(meta).transpose()
}

/// Pins (with a reason) or unpins a snapshot.
pub async fn set_pinned<C: ConnectionTrait>(
    txn: &C,
    guild_row: Uuid,
    id: Uuid,
    reason: Option<&str>,
) -> Result<Option<SnapshotMeta>, DbErr> {
    let sql = format!(
        "UPDATE recovery.snapshots SET pinned = $3::text IS NOT NULL, pin_reason = $3, \
                expires_at = CASE WHEN $3::text IS NOT NULL THEN NULL ELSE expires_at END \
          WHERE guild_id = $1 AND id = $2 RETURNING {META_COLUMNS}"
    );
    let row = txn
        .query_one_raw(stmt(
            &sql,
            vec![
                guild_row.into(),
                id.into(),
                reason.map(str::to_owned).into(),
            ],
        ))
        .await?;
    row.as_ref().map(meta).transpose()
}

/// How many snapshots of the guild are pinned.
pub async fn pinned_count<C: ConnectionTrait>(conn: &C, guild_row: Uuid) -> Result<i64, DbErr> {
    let row = conn
        .query_one_raw(stmt(
            "SELECT count(*) AS n FROM recovery.snapshots WHERE guild_id = $1 AND pinned",
            vec![guild_row.into()],
        ))
        .await?;
    row.map(|r| r.try_get::<i64>("", "n"))
        .transpose()
        .map(|n| n.unwrap_or(0))
}

/// Deletes the oldest unpinned snapshots beyond `keep` (pinned ones never count nor expire).
/// Never the source of a restore that is previewed, queued or running, nor a snapshot an open
/// AntiNuke incident refers to (e.g. after its owner unpinned it): they wait for the next pass.
/// Returns what was deleted.
pub async fn enforce_retention<C: ConnectionTrait>(
    txn: &C,
    guild_row: Uuid,
    keep: u32,
) -> Result<Vec<SnapshotMeta>, DbErr> {
    let sql = format!(
        "DELETE FROM recovery.snapshots WHERE id IN ( \
            SELECT over.id FROM ( \
                SELECT id FROM recovery.snapshots WHERE guild_id = $1 AND NOT pinned \
                 ORDER BY created_at DESC, id DESC OFFSET $2) AS over \
             WHERE NOT EXISTS (SELECT 1 FROM recovery.restore_jobs AS j \
                                WHERE j.snapshot_id = over.id \
                                  AND j.status IN ('previewed', 'queued', 'running')) \
               AND NOT EXISTS (SELECT 1 FROM recovery.antinuke_incidents AS i \
                                WHERE (i.pinned_snapshot_id = over.id OR i.emergency_snapshot_id = over.id) \
                                  AND i.status IN ('open', 'restoring'))) \
         RETURNING {META_COLUMNS}"
    );
    let rows = txn
        .query_all_raw(stmt(&sql, vec![guild_row.into(), i64::from(keep).into()]))
        .await?;
    let mut deleted: Vec<SnapshotMeta> = rows.iter().map(meta).collect::<Result<_, _>>()?;
    deleted.sort_by_key(|m| m.created_at);
    Ok(deleted)
}

/// Whether the guild has a scheduled snapshot for `slot`.
pub async fn slot_taken<C: ConnectionTrait>(
    conn: &C,
    guild_row: Uuid,
    slot: i64,
) -> Result<bool, DbErr> {
    let row = conn
        .query_one_raw(stmt(
            "SELECT 1 AS one FROM recovery.snapshots WHERE guild_id = $1 AND schedule_slot = $2",
            vec![guild_row.into(), slot.into()],
        ))
        .await?;
    Ok(row.is_some())
}

/// The newest scheduled snapshot of the guild.
pub async fn latest_scheduled<C: ConnectionTrait>(
    conn: &C,
    guild_row: Uuid,
) -> Result<Option<SnapshotMeta>, DbErr> {
    let sql = format!(
        "SELECT {META_COLUMNS} FROM recovery.snapshots WHERE guild_id = $1 AND trigger = 'scheduled' \
          ORDER BY schedule_slot DESC LIMIT 1"
    );
    let row = conn
        .query_one_raw(stmt(&sql, vec![guild_row.into()]))
        .await?;
    row.as_ref().map(meta).transpose()
}

/// Moves a scheduled snapshot to a later slot (its state is unchanged in that slot). False when
/// the slot was taken meanwhile (another process).
pub async fn reslot<C: ConnectionTrait>(
    txn: &C,
    guild_row: Uuid,
    id: Uuid,
    slot: i64,
) -> Result<bool, DbErr> {
    let done = txn
        .execute_raw(stmt(
            "UPDATE recovery.snapshots SET schedule_slot = $3 \
              WHERE guild_id = $1 AND id = $2 AND schedule_slot < $3 \
                AND NOT EXISTS (SELECT 1 FROM recovery.snapshots WHERE guild_id = $1 AND schedule_slot = $3)",
            vec![guild_row.into(), id.into(), slot.into()],
        ))
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The newest snapshot of the guild (for the status).
pub async fn latest<C: ConnectionTrait>(
    conn: &C,
    guild_row: Uuid,
) -> Result<Option<SnapshotMeta>, DbErr> {
    Ok(list(conn, guild_row, 1).await?.into_iter().next())
}

/// The last snapshot taken at or before `at` (what an incident pins).
pub async fn last_before<C: ConnectionTrait>(
    conn: &C,
    guild_row: Uuid,
    at: DateTime<Utc>,
) -> Result<Option<SnapshotMeta>, DbErr> {
    let sql = format!(
        "SELECT {META_COLUMNS} FROM recovery.snapshots WHERE guild_id = $1 AND created_at <= $2 AND as_of <= $2 \
          ORDER BY created_at DESC, id DESC LIMIT 1 FOR UPDATE"
    );
    let row = conn
        .query_one_raw(stmt(&sql, vec![guild_row.into(), at.into()]))
        .await?;
    row.as_ref().map(meta).transpose()
}

/// Whether the snapshot is an AntiNuke incident's pin or emergency snapshot.
pub async fn is_incident_snapshot<C: ConnectionTrait>(conn: &C, id: Uuid) -> Result<bool, DbErr> {
    Ok(conn
        .query_one_raw(stmt(
            "SELECT 1 AS used FROM recovery.antinuke_incidents \
              WHERE pinned_snapshot_id = $1 OR emergency_snapshot_id = $1 LIMIT 1",
            vec![id.into()],
        ))
        .await?
        .is_some())
}
