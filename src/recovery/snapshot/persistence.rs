//! Purpose: the only code that writes `recovery.snapshots` — insert (scheduled ones deduplicated
//! by `(guild_id, schedule_slot)`), delete, pin/unpin, plan retention — and its reads, through
//! the `entity` crate (metadata reads select a column subset: payloads are large). Writes run
//! in the caller's transaction so each change commits with its outbox event.

use chrono::{DateTime, Utc};
use entity::recovery::{antinuke_incidents, snapshots};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbBackend, DbErr, EntityTrait,
    FromQueryResult, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Select, Statement,
    Value,
};
use uuid::Uuid;

use super::model::{Encoded, SnapshotMeta, Trigger};
use crate::ids::{from_db, to_db};

const META_COLUMNS: &str = "id, trigger, label, format_version, checksum, content_hash, size_bytes, uncompressed_bytes, \
                            role_count, channel_count, overwrite_count, member_count, ban_count, pinned, pin_reason, as_of, \
                            schedule_slot, created_by_discord_id, created_at";

fn stmt(sql: &str, values: Vec<Value>) -> Statement {
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

/// A snapshot's metadata columns (everything but the payload).
#[derive(Debug, FromQueryResult)]
struct MetaRow {
    id: Uuid,
    trigger: String,
    label: Option<String>,
    format_version: i32,
    checksum: Vec<u8>,
    content_hash: Vec<u8>,
    size_bytes: i32,
    uncompressed_bytes: i32,
    role_count: i32,
    channel_count: i32,
    overwrite_count: i32,
    member_count: i32,
    ban_count: Option<i32>,
    pinned: bool,
    pin_reason: Option<String>,
    as_of: DateTime<Utc>,
    schedule_slot: Option<i64>,
    created_by_discord_id: Option<i64>,
    created_at: DateTime<Utc>,
}

impl TryFrom<MetaRow> for SnapshotMeta {
    type Error = DbErr;

    fn try_from(r: MetaRow) -> Result<Self, DbErr> {
        Ok(SnapshotMeta {
            id: r.id,
            trigger: Trigger::parse(&r.trigger)
                .ok_or_else(|| DbErr::Type(format!("unknown snapshot trigger {}", r.trigger)))?,
            label: r.label,
            format_version: r.format_version,
            checksum: r.checksum,
            content_hash: r.content_hash,
            size_bytes: i64::from(r.size_bytes),
            uncompressed_bytes: i64::from(r.uncompressed_bytes),
            role_count: r.role_count,
            channel_count: r.channel_count,
            overwrite_count: r.overwrite_count,
            member_count: r.member_count,
            ban_count: r.ban_count,
            pinned: r.pinned,
            pin_reason: r.pin_reason,
            as_of: r.as_of,
            schedule_slot: r.schedule_slot,
            created_by: r.created_by_discord_id.map(from_db),
            created_at: r.created_at,
        })
    }
}

fn meta(row: &sea_orm::QueryResult) -> Result<SnapshotMeta, DbErr> {
    MetaRow::from_query_result(row, "")?.try_into()
}

/// The metadata columns of the guild's snapshots.
fn metas(guild_row: Uuid) -> Select<snapshots::Entity> {
    use snapshots::Column as C;
    snapshots::Entity::find()
        .select_only()
        .columns([
            C::Id,
            C::Trigger,
            C::Label,
            C::FormatVersion,
            C::Checksum,
            C::ContentHash,
            C::SizeBytes,
            C::UncompressedBytes,
            C::RoleCount,
            C::ChannelCount,
            C::OverwriteCount,
            C::MemberCount,
            C::BanCount,
            C::Pinned,
            C::PinReason,
            C::AsOf,
            C::ScheduleSlot,
            C::CreatedByDiscordId,
            C::CreatedAt,
        ])
        .filter(C::GuildId.eq(guild_row))
}

async fn one<C: ConnectionTrait>(
    conn: &C,
    query: Select<snapshots::Entity>,
) -> Result<Option<SnapshotMeta>, DbErr> {
    query
        .into_model::<MetaRow>()
        .one(conn)
        .await?
        .map(TryInto::try_into)
        .transpose()
}

fn newest_first(query: Select<snapshots::Entity>) -> Select<snapshots::Entity> {
    query
        .order_by_desc(snapshots::Column::CreatedAt)
        .order_by_desc(snapshots::Column::Id)
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Serializes snapshot writes of one guild until the transaction ends (retention counts stay
/// exact with several processes). A transaction-scoped lock: safe behind a pooler. Raw SQL:
/// an advisory lock is a function call, not a table query.
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
    let e = s.encoded;
    let id = Uuid::now_v7();
    let row = snapshots::ActiveModel {
        id: Set(id),
        guild_id: Set(s.guild_row),
        trigger: Set(s.trigger.as_str().into()),
        label: Set(s.label),
        format_version: Set(i32::try_from(e.format_version).unwrap_or(i32::MAX)),
        payload: Set(e.payload.clone()),
        checksum: Set(e.checksum.to_vec()),
        content_hash: Set(e.content_hash.to_vec()),
        size_bytes: Set(count(e.payload.len())),
        uncompressed_bytes: Set(count(e.uncompressed_bytes)),
        role_count: Set(count(e.roles)),
        channel_count: Set(count(e.channels)),
        overwrite_count: Set(count(e.overwrites)),
        member_count: Set(count(e.members)),
        ban_count: Set(e.bans.map(count)),
        pinned: Set(s.pinned),
        pin_reason: Set(s.pin_reason),
        as_of: Set(s.as_of.into()),
        schedule_slot: Set(s.schedule_slot),
        created_by_discord_id: Set(s.created_by.map(to_db)),
        ..Default::default()
    };
    let inserted = snapshots::Entity::insert(row)
        .on_conflict_do_nothing_on([snapshots::Column::GuildId, snapshots::Column::ScheduleSlot])
        .exec_without_returning(txn)
        .await?;
    match inserted {
        sea_orm::TryInsertResult::Inserted(1) => find(txn, s.guild_row, id, false).await,
        _ => Ok(None),
    }
}

/// The guild's snapshots, newest first.
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    guild_row: Uuid,
    limit: u32,
) -> Result<Vec<SnapshotMeta>, DbErr> {
    newest_first(metas(guild_row))
        .limit(u64::from(limit))
        .into_model::<MetaRow>()
        .all(conn)
        .await?
        .into_iter()
        .map(TryInto::try_into)
        .collect()
}

/// One snapshot of the guild (`lock`: FOR UPDATE, inside a transaction).
pub async fn find<C: ConnectionTrait>(
    conn: &C,
    guild_row: Uuid,
    id: Uuid,
    lock: bool,
) -> Result<Option<SnapshotMeta>, DbErr> {
    let query = metas(guild_row).filter(snapshots::Column::Id.eq(id));
    one(conn, if lock { query.lock_exclusive() } else { query }).await
}

/// The newest snapshot of the guild with this exact label.
pub async fn find_by_label<C: ConnectionTrait>(
    conn: &C,
    guild_row: Uuid,
    label: &str,
) -> Result<Option<SnapshotMeta>, DbErr> {
    one(
        conn,
        newest_first(metas(guild_row).filter(snapshots::Column::Label.eq(label))),
    )
    .await
}

/// The emergency snapshot made with `reason` (one per incident: found again after a crash).
pub async fn find_emergency<C: ConnectionTrait>(
    conn: &C,
    guild_row: Uuid,
    reason: &str,
) -> Result<Option<SnapshotMeta>, DbErr> {
    let query = metas(guild_row)
        .filter(snapshots::Column::Trigger.eq("emergency"))
        .filter(snapshots::Column::PinReason.eq(reason))
        .order_by_asc(snapshots::Column::CreatedAt);
    one(conn, query).await
}

/// A snapshot with its payload.
pub async fn with_payload<C: ConnectionTrait>(
    conn: &C,
    guild_row: Uuid,
    id: Uuid,
) -> Result<Option<(SnapshotMeta, Vec<u8>)>, DbErr> {
    let Some(m) = snapshots::Entity::find_by_id(id)
        .filter(snapshots::Column::GuildId.eq(guild_row))
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    let payload = m.payload.clone();
    let meta = MetaRow {
        id: m.id,
        trigger: m.trigger,
        label: m.label,
        format_version: m.format_version,
        checksum: m.checksum,
        content_hash: m.content_hash,
        size_bytes: m.size_bytes,
        uncompressed_bytes: m.uncompressed_bytes,
        role_count: m.role_count,
        channel_count: m.channel_count,
        overwrite_count: m.overwrite_count,
        member_count: m.member_count,
        ban_count: m.ban_count,
        pinned: m.pinned,
        pin_reason: m.pin_reason,
        as_of: m.as_of.with_timezone(&Utc),
        schedule_slot: m.schedule_slot,
        created_by_discord_id: m.created_by_discord_id,
        created_at: m.created_at.with_timezone(&Utc),
    };
    Ok(Some((meta.try_into()?, payload)))
}

/// Deletes one snapshot; returns it when it existed.
pub async fn delete<C: ConnectionTrait>(
    txn: &C,
    guild_row: Uuid,
    id: Uuid,
) -> Result<Option<SnapshotMeta>, DbErr> {
    let Some(found) = find(txn, guild_row, id, true).await? else {
        return Ok(None);
    };
    snapshots::Entity::delete_by_id(id).exec(txn).await?;
    Ok(Some(found))
}

/// Pins (with a reason) or unpins a snapshot.
pub async fn set_pinned<C: ConnectionTrait>(
    txn: &C,
    guild_row: Uuid,
    id: Uuid,
    reason: Option<&str>,
) -> Result<Option<SnapshotMeta>, DbErr> {
    let mut update = snapshots::Entity::update_many()
        .col_expr(snapshots::Column::Pinned, Expr::value(reason.is_some()))
        .col_expr(
            snapshots::Column::PinReason,
            Expr::value(reason.map(str::to_owned)),
        );
    if reason.is_some() {
        update = update.col_expr(
            snapshots::Column::ExpiresAt,
            Expr::value(None::<DateTime<Utc>>),
        );
    }
    update
        .filter(snapshots::Column::GuildId.eq(guild_row))
        .filter(snapshots::Column::Id.eq(id))
        .exec(txn)
        .await?;
    find(txn, guild_row, id, false).await
}

/// How many snapshots of the guild are pinned.
pub async fn pinned_count<C: ConnectionTrait>(conn: &C, guild_row: Uuid) -> Result<i64, DbErr> {
    let n = snapshots::Entity::find()
        .filter(snapshots::Column::GuildId.eq(guild_row))
        .filter(snapshots::Column::Pinned.eq(true))
        .count(conn)
        .await?;
    Ok(i64::try_from(n).unwrap_or(i64::MAX))
}

/// Deletes the oldest unpinned snapshots beyond `keep` (pinned ones never count nor expire).
/// Never the source of a restore that is previewed, queued or running, nor a snapshot an open
/// AntiNuke incident refers to (e.g. after its owner unpinned it): they wait for the next pass.
/// Returns what was deleted.
///
/// Raw SQL: one `DELETE` over an `OFFSET` window with two `NOT EXISTS` guards, which the query
/// builder cannot say as one statement (and two statements would race another process).
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
    let n = snapshots::Entity::find()
        .filter(snapshots::Column::GuildId.eq(guild_row))
        .filter(snapshots::Column::ScheduleSlot.eq(slot))
        .count(conn)
        .await?;
    Ok(n > 0)
}

/// The newest scheduled snapshot of the guild.
pub async fn latest_scheduled<C: ConnectionTrait>(
    conn: &C,
    guild_row: Uuid,
) -> Result<Option<SnapshotMeta>, DbErr> {
    let query = metas(guild_row)
        .filter(snapshots::Column::Trigger.eq("scheduled"))
        .order_by_desc(snapshots::Column::ScheduleSlot);
    one(conn, query).await
}

/// Moves a scheduled snapshot to a later slot (its state is unchanged in that slot). False when
/// the slot was taken meanwhile (another process).
///
/// Raw SQL: the guard is a `NOT EXISTS` on the same table in the same statement.
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

/// The last snapshot taken at or before `at` (what an incident pins), locked.
pub async fn last_before<C: ConnectionTrait>(
    conn: &C,
    guild_row: Uuid,
    at: DateTime<Utc>,
) -> Result<Option<SnapshotMeta>, DbErr> {
    let query = newest_first(
        metas(guild_row).filter(
            Condition::all()
                .add(snapshots::Column::CreatedAt.lte(at))
                .add(snapshots::Column::AsOf.lte(at)),
        ),
    )
    .lock_exclusive();
    one(conn, query).await
}

/// Whether the snapshot is an AntiNuke incident's pin or emergency snapshot.
pub async fn is_incident_snapshot<C: ConnectionTrait>(conn: &C, id: Uuid) -> Result<bool, DbErr> {
    let n = antinuke_incidents::Entity::find()
        .filter(
            Condition::any()
                .add(antinuke_incidents::Column::PinnedSnapshotId.eq(id))
                .add(antinuke_incidents::Column::EmergencySnapshotId.eq(id)),
        )
        .count(conn)
        .await?;
    Ok(n > 0)
}
