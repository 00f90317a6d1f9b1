//! Purpose: the only code that writes `recovery.guild_roles`, `guild_channels`,
//! `guild_permission_overrides` and `guild_settings` — versioned bulk writes on the caller's
//! connection (one transaction per sync batch) — and the "as of T" reads of them.
//!
//! Versioning (see the migration): a change closes the current row (`valid_to = now()`,
//! `ended_by = 'update'`) and inserts the new version; a delete closes it with
//! `ended_by = 'delete'` (the tombstone). A write reads the current rows of the given objects
//! (`= ANY` of their ids), compares them here, closes the changed ones by row id and inserts the
//! new versions through `UNNEST` arrays: unchanged rows are never touched, and a statement
//! carries a constant, small number of bind parameters (at most [`MAX_BINDS_PER_STATEMENT`], far
//! under PostgreSQL's 65,535) whatever the row count; rows still go in chunks of `chunk_rows`.
//! No statement joins a table to a parameter array (planned as a nested loop over a table whose
//! statistics are stale, e.g. right after a first load); statements carrying arrays are not kept
//! prepared (`persistent(false)`) so each is planned with its values.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Row};
use uuid::Uuid;

use super::model::{
    AutoModRuleState, ChannelState, EmojiState, EventState, OverwriteState, OverwriteTarget,
    RoleState, SettingsState, StickerState, SyncState, SyncStatus, ThreadState,
};
use crate::ids::{from_db, to_db};
use crate::member::WriteStats;

/// The most bind parameters any statement here uses (checked by a test).
#[cfg(test)]
pub const MAX_BINDS_PER_STATEMENT: usize = 39;

fn ids(v: &[u64]) -> Vec<i64> {
    v.iter().copied().map(to_db).collect()
}

fn json_text(v: &Option<Value>) -> Option<String> {
    v.as_ref().map(Value::to_string)
}

fn json_parse(v: Option<String>) -> Option<Value> {
    v.and_then(|s| serde_json::from_str(&s).ok())
}

/// Keeps the last entry per key (one current row per object).
fn last_per_key<T, K: std::hash::Hash + Eq>(items: &[T], key: impl Fn(&T) -> K) -> Vec<&T> {
    let mut last: HashMap<K, usize> = HashMap::with_capacity(items.len());
    for (i, it) in items.iter().enumerate() {
        last.insert(key(it), i);
    }
    items
        .iter()
        .enumerate()
        .filter(|(i, it)| last.get(&key(it)) == Some(i))
        .map(|(_, it)| it)
        .collect()
}

// ------------------------------------------------------------------------------------ roles

/// The versioned tables of the mirror (their close-by-row-id statements).
#[derive(Clone, Copy)]
enum Table {
    Roles,
    Channels,
    Overwrites,
}

impl Table {
    fn close_sql(self) -> &'static str {
        match self {
            Table::Roles => {
                "UPDATE recovery.guild_roles SET valid_to = GREATEST(now(), valid_from), ended_by = $2, synced_at = now() \
                  WHERE id = ANY($1::uuid[]) AND valid_to IS NULL"
            }
            Table::Channels => {
                "UPDATE recovery.guild_channels SET valid_to = GREATEST(now(), valid_from), ended_by = $2, synced_at = now() \
                  WHERE id = ANY($1::uuid[]) AND valid_to IS NULL"
            }
            Table::Overwrites => {
                "UPDATE recovery.guild_permission_overrides \
                    SET valid_to = GREATEST(now(), valid_from), ended_by = $2, synced_at = now() \
                  WHERE id = ANY($1::uuid[]) AND valid_to IS NULL"
            }
        }
    }
}

/// Closes current rows of `table` by row id (`ended_by` = `update` or `delete`).
async fn close_rows(
    conn: &mut PgConnection,
    table: Table,
    rows: &[Uuid],
    ended_by: &str,
) -> Result<u64, sqlx::Error> {
    if rows.is_empty() {
        return Ok(0);
    }
    Ok(sqlx::query(sqlx::AssertSqlSafe(table.close_sql()))
        .bind(rows)
        .bind(ended_by)
        .persistent(false)
        .execute(&mut *conn)
        .await?
        .rows_affected())
}

const ROLE_COLUMNS_SQL: &str = "\
SELECT id, discord_role_id, name, color, secondary_color, tertiary_color, hoist, position, permissions, mentionable,
       managed, icon, unicode_emoji, tags::text AS tags, flags
  FROM recovery.guild_roles
 WHERE guild_id = $1 AND valid_to IS NULL AND discord_role_id = ANY($2::bigint[])";

const ROLES_INSERT: &str = "\
INSERT INTO recovery.guild_roles
       (id, guild_id, discord_role_id, name, color, secondary_color, tertiary_color, hoist, position, permissions,
        mentionable, managed, icon, unicode_emoji, tags, flags, valid_from, synced_at)
SELECT i.id, $1, i.rid, i.name, i.color, i.secondary_color, i.tertiary_color, i.hoist, i.position, i.permissions,
       i.mentionable, i.managed, i.icon, i.unicode_emoji, i.tags::jsonb, i.flags, now(), now()
  FROM UNNEST($2::bigint[], $3::text[], $4::int[], $5::int[], $6::int[], $7::bool[], $8::int[], $9::bigint[],
              $10::bool[], $11::bool[], $12::text[], $13::text[], $14::text[], $15::int[], $16::uuid[])
       AS i(rid, name, color, secondary_color, tertiary_color, hoist, position, permissions, mentionable, managed,
            icon, unicode_emoji, tags, flags, id)";

/// Writes new and changed roles.
pub async fn upsert_roles(
    conn: &mut PgConnection,
    guild: Uuid,
    roles: &[RoleState],
    chunk_rows: usize,
) -> Result<WriteStats, sqlx::Error> {
    let roles = last_per_key(roles, |r| r.discord_role_id);
    let mut stats = WriteStats::default();
    for chunk in roles.chunks(chunk_rows.max(1)) {
        let wanted: Vec<i64> = chunk.iter().map(|r| to_db(r.discord_role_id)).collect();
        let mut current: HashMap<u64, (Uuid, RoleState)> = HashMap::new();
        for row in sqlx::query(ROLE_COLUMNS_SQL)
            .bind(guild)
            .bind(&wanted)
            .persistent(false)
            .fetch_all(&mut *conn)
            .await?
        {
            let role = role_from(&row)?;
            current.insert(role.discord_role_id, (row.try_get("id")?, role));
        }
        let mut closing = Vec::new();
        let mut chunk_out: Vec<&RoleState> = Vec::new();
        for r in chunk {
            let r: &RoleState = r;
            let normalized = RoleState {
                position: r.position.max(0),
                ..r.clone()
            };
            match current.get(&r.discord_role_id) {
                Some((_, stored)) if *stored == normalized => {}
                Some((row, _)) => {
                    closing.push(*row);
                    chunk_out.push(r);
                }
                None => chunk_out.push(r),
            }
        }
        let closed = close_rows(conn, Table::Roles, &closing, "update").await?;
        let chunk = chunk_out;
        if chunk.is_empty() {
            stats += WriteStats { written: 0, closed };
            continue;
        }
        let rid: Vec<i64> = chunk.iter().map(|r| to_db(r.discord_role_id)).collect();
        let name: Vec<&str> = chunk.iter().map(|r| r.name.as_str()).collect();
        let color: Vec<i32> = chunk.iter().map(|r| r.color).collect();
        let secondary: Vec<Option<i32>> = chunk.iter().map(|r| r.secondary_color).collect();
        let tertiary: Vec<Option<i32>> = chunk.iter().map(|r| r.tertiary_color).collect();
        let hoist: Vec<bool> = chunk.iter().map(|r| r.hoist).collect();
        let position: Vec<i32> = chunk.iter().map(|r| r.position.max(0)).collect();
        let permissions: Vec<i64> = chunk.iter().map(|r| r.permissions).collect();
        let mentionable: Vec<bool> = chunk.iter().map(|r| r.mentionable).collect();
        let managed: Vec<bool> = chunk.iter().map(|r| r.managed).collect();
        let icon: Vec<Option<&str>> = chunk.iter().map(|r| r.icon.as_deref()).collect();
        let emoji: Vec<Option<&str>> = chunk.iter().map(|r| r.unicode_emoji.as_deref()).collect();
        let tags: Vec<Option<String>> = chunk.iter().map(|r| json_text(&r.tags)).collect();
        let flags: Vec<i32> = chunk.iter().map(|r| r.flags).collect();
        let new_ids: Vec<Uuid> = chunk.iter().map(|_| Uuid::now_v7()).collect();
        let written = sqlx::query(ROLES_INSERT)
            .bind(guild)
            .bind(&rid)
            .bind(&name)
            .bind(&color)
            .bind(&secondary)
            .bind(&tertiary)
            .bind(&hoist)
            .bind(&position)
            .bind(&permissions)
            .bind(&mentionable)
            .bind(&managed)
            .bind(&icon)
            .bind(&emoji)
            .bind(&tags)
            .bind(&flags)
            .bind(&new_ids)
            .execute(&mut *conn)
            .await?
            .rows_affected();
        stats += WriteStats { written, closed };
    }
    Ok(stats)
}

/// Tombstones roles and the role overwrites that named them.
pub async fn delete_roles(
    conn: &mut PgConnection,
    guild: Uuid,
    roles: &[u64],
) -> Result<WriteStats, sqlx::Error> {
    if roles.is_empty() {
        return Ok(WriteStats::default());
    }
    let roles = ids(roles);
    let closed = sqlx::query(
        "UPDATE recovery.guild_roles SET valid_to = GREATEST(now(), valid_from), ended_by = 'delete', synced_at = now() \
          WHERE guild_id = $1 AND valid_to IS NULL AND discord_role_id = ANY($2::bigint[])",
    )
    .bind(guild)
    .bind(&roles)
    .persistent(false)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    let overwrites = sqlx::query(
        "UPDATE recovery.guild_permission_overrides \
            SET valid_to = GREATEST(now(), valid_from), ended_by = 'delete', synced_at = now() \
          WHERE guild_id = $1 AND valid_to IS NULL AND target_type = 0 AND target_id = ANY($2::bigint[])",
    )
    .bind(guild)
    .bind(&roles)
    .persistent(false)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(WriteStats {
        written: 0,
        closed: closed + overwrites,
    })
}

/// The current ids of `guild` in one of the mirror's tables that are not in `present` (the
/// difference is taken here: anti-joins against parameter arrays are planned as nested loops).
async fn current_except(
    conn: &mut PgConnection,
    sql: &'static str,
    guild: Uuid,
    present: &[u64],
) -> Result<Vec<u64>, sqlx::Error> {
    let current: Vec<i64> = sqlx::query_scalar(sql)
        .bind(guild)
        .fetch_all(&mut *conn)
        .await?;
    let present: HashSet<u64> = present.iter().copied().collect();
    let mut gone: Vec<u64> = current
        .into_iter()
        .map(from_db)
        .filter(|id| !present.contains(id))
        .collect();
    gone.sort_unstable();
    gone.dedup();
    Ok(gone)
}

/// Tombstones every current role not in `present` (and role overwrites naming them).
pub async fn retain_roles(
    conn: &mut PgConnection,
    guild: Uuid,
    present: &[u64],
) -> Result<WriteStats, sqlx::Error> {
    let gone = current_except(
        conn,
        "SELECT discord_role_id FROM recovery.guild_roles WHERE guild_id = $1 AND valid_to IS NULL",
        guild,
        present,
    )
    .await?;
    delete_roles(conn, guild, &gone).await
}

// --------------------------------------------------------------------------------- channels

const CHANNEL_COLUMNS_SQL: &str = "\
SELECT id, discord_channel_id, kind, name, parent_id, position, topic, nsfw, rate_limit_per_user, bitrate, user_limit,
       rtc_region, video_quality_mode, default_auto_archive_duration, default_thread_rate_limit_per_user,
       available_tags::text AS available_tags, default_reaction_emoji::text AS default_reaction_emoji,
       default_sort_order, default_forum_layout, flags
  FROM recovery.guild_channels
 WHERE guild_id = $1 AND valid_to IS NULL AND discord_channel_id = ANY($2::bigint[])";

const CHANNELS_INSERT: &str = "\
INSERT INTO recovery.guild_channels
       (id, guild_id, discord_channel_id, kind, name, parent_id, position, topic, nsfw, rate_limit_per_user, bitrate,
        user_limit, rtc_region, video_quality_mode, default_auto_archive_duration,
        default_thread_rate_limit_per_user, available_tags, default_reaction_emoji, default_sort_order,
        default_forum_layout, flags, valid_from, synced_at)
SELECT i.id, $1, i.cid, i.kind, i.name, i.parent_id, i.position, i.topic, i.nsfw, i.rate_limit_per_user, i.bitrate,
       i.user_limit, i.rtc_region, i.video_quality_mode, i.default_auto_archive_duration,
       i.default_thread_rate_limit_per_user, i.available_tags::jsonb, i.default_reaction_emoji::jsonb,
       i.default_sort_order, i.default_forum_layout, i.flags, now(), now()
  FROM UNNEST($2::bigint[], $3::smallint[], $4::text[], $5::bigint[], $6::int[], $7::text[], $8::bool[], $9::int[],
              $10::int[], $11::int[], $12::text[], $13::smallint[], $14::int[], $15::int[], $16::text[], $17::text[],
              $18::smallint[], $19::smallint[], $20::int[], $21::uuid[])
       AS i(cid, kind, name, parent_id, position, topic, nsfw, rate_limit_per_user, bitrate, user_limit, rtc_region,
            video_quality_mode, default_auto_archive_duration, default_thread_rate_limit_per_user, available_tags,
            default_reaction_emoji, default_sort_order, default_forum_layout, flags, id)";

const OVERWRITES_CURRENT: &str = "\
SELECT id, discord_channel_id, target_id, target_type, allow, deny FROM recovery.guild_permission_overrides
 WHERE guild_id = $1 AND valid_to IS NULL AND discord_channel_id = ANY($2::bigint[])";

const OVERWRITES_INSERT: &str = "\
INSERT INTO recovery.guild_permission_overrides
       (id, guild_id, discord_channel_id, target_id, target_type, allow, deny, valid_from, synced_at)
SELECT i.id, $1, i.cid, i.tid, i.target_type, i.allow, i.deny, now(), now()
  FROM UNNEST($2::bigint[], $3::bigint[], $4::smallint[], $5::bigint[], $6::bigint[], $7::uuid[])
       AS i(cid, tid, target_type, allow, deny, id)";

/// Writes new and changed channels, and makes each given channel's overwrites exactly the
/// given ones (new and changed written, missing ones tombstoned).
pub async fn upsert_channels(
    conn: &mut PgConnection,
    guild: Uuid,
    channels: &[ChannelState],
    chunk_rows: usize,
) -> Result<WriteStats, sqlx::Error> {
    let channels = last_per_key(channels, |c| c.discord_channel_id);
    let mut stats = WriteStats::default();
    for chunk in channels.chunks(chunk_rows.max(1)) {
        let cid: Vec<i64> = chunk.iter().map(|c| to_db(c.discord_channel_id)).collect();
        let mut current: HashMap<u64, (Uuid, ChannelState)> = HashMap::new();
        for row in sqlx::query(CHANNEL_COLUMNS_SQL)
            .bind(guild)
            .bind(&cid)
            .persistent(false)
            .fetch_all(&mut *conn)
            .await?
        {
            let channel = channel_from(&row)?;
            current.insert(channel.discord_channel_id, (row.try_get("id")?, channel));
        }
        let mut closing = Vec::new();
        let mut writing: Vec<&ChannelState> = Vec::new();
        for c in chunk {
            let c: &ChannelState = c;
            let without_overwrites = ChannelState {
                overwrites: Vec::new(),
                ..c.clone()
            };
            match current.get(&c.discord_channel_id) {
                Some((_, stored)) if *stored == without_overwrites => {}
                Some((row, _)) => {
                    closing.push(*row);
                    writing.push(c);
                }
                None => writing.push(c),
            }
        }
        let closed = close_rows(conn, Table::Channels, &closing, "update").await?;
        let mut written = 0;
        if !writing.is_empty() {
            let w = &writing;
            let kind: Vec<i16> = w.iter().map(|c| c.kind).collect();
            let ids: Vec<i64> = w.iter().map(|c| to_db(c.discord_channel_id)).collect();
            let name: Vec<&str> = w.iter().map(|c| c.name.as_str()).collect();
            let parent: Vec<Option<i64>> = w.iter().map(|c| c.parent_id.map(to_db)).collect();
            let position: Vec<i32> = w.iter().map(|c| c.position).collect();
            let topic: Vec<Option<&str>> = w.iter().map(|c| c.topic.as_deref()).collect();
            let nsfw: Vec<bool> = w.iter().map(|c| c.nsfw).collect();
            let slowmode: Vec<i32> = w.iter().map(|c| c.rate_limit_per_user).collect();
            let bitrate: Vec<Option<i32>> = w.iter().map(|c| c.bitrate).collect();
            let user_limit: Vec<Option<i32>> = w.iter().map(|c| c.user_limit).collect();
            let rtc: Vec<Option<&str>> = w.iter().map(|c| c.rtc_region.as_deref()).collect();
            let video: Vec<Option<i16>> = w.iter().map(|c| c.video_quality_mode).collect();
            let archive: Vec<Option<i32>> =
                w.iter().map(|c| c.default_auto_archive_duration).collect();
            let thread_slowmode: Vec<Option<i32>> = w
                .iter()
                .map(|c| c.default_thread_rate_limit_per_user)
                .collect();
            let tags: Vec<Option<String>> =
                w.iter().map(|c| json_text(&c.available_tags)).collect();
            let reaction: Vec<Option<String>> = w
                .iter()
                .map(|c| json_text(&c.default_reaction_emoji))
                .collect();
            let sort: Vec<Option<i16>> = w.iter().map(|c| c.default_sort_order).collect();
            let layout: Vec<Option<i16>> = w.iter().map(|c| c.default_forum_layout).collect();
            let flags: Vec<i32> = w.iter().map(|c| c.flags).collect();
            let new_ids: Vec<Uuid> = w.iter().map(|_| Uuid::now_v7()).collect();
            written = sqlx::query(CHANNELS_INSERT)
                .bind(guild)
                .bind(&ids)
                .bind(&kind)
                .bind(&name)
                .bind(&parent)
                .bind(&position)
                .bind(&topic)
                .bind(&nsfw)
                .bind(&slowmode)
                .bind(&bitrate)
                .bind(&user_limit)
                .bind(&rtc)
                .bind(&video)
                .bind(&archive)
                .bind(&thread_slowmode)
                .bind(&tags)
                .bind(&reaction)
                .bind(&sort)
                .bind(&layout)
                .bind(&flags)
                .bind(&new_ids)
                .execute(&mut *conn)
                .await?
                .rows_affected();
        }
        stats += WriteStats { written, closed };

        // The overwrites of these channels: exactly the given ones.
        let stored: Vec<(Uuid, i64, i64, i16, i64, i64)> = sqlx::query_as(OVERWRITES_CURRENT)
            .bind(guild)
            .bind(&cid)
            .persistent(false)
            .fetch_all(&mut *conn)
            .await?;
        let mut stored: HashMap<(i64, i64), (Uuid, i16, i64, i64)> = stored
            .into_iter()
            .map(|(row, c, t, kind, allow, deny)| ((c, t), (row, kind, allow, deny)))
            .collect();
        let mut changed_rows = Vec::new();
        let mut inserts: Vec<(i64, &OverwriteState)> = Vec::new();
        for c in chunk {
            let channel = to_db(c.discord_channel_id);
            for o in &c.overwrites {
                match stored.remove(&(channel, to_db(o.target_id))) {
                    Some((_, kind, allow, deny))
                        if (kind, allow, deny) == (o.target.num(), o.allow, o.deny) => {}
                    Some((row, ..)) => {
                        changed_rows.push(row);
                        inserts.push((channel, o));
                    }
                    None => inserts.push((channel, o)),
                }
            }
        }
        let removed_rows: Vec<Uuid> = stored.into_values().map(|(row, ..)| row).collect();
        let closed = close_rows(conn, Table::Overwrites, &changed_rows, "update").await?
            + close_rows(conn, Table::Overwrites, &removed_rows, "delete").await?;
        let mut written = 0;
        if !inserts.is_empty() {
            let o_cid: Vec<i64> = inserts.iter().map(|(c, _)| *c).collect();
            let o_tid: Vec<i64> = inserts.iter().map(|(_, o)| to_db(o.target_id)).collect();
            let o_type: Vec<i16> = inserts.iter().map(|(_, o)| o.target.num()).collect();
            let o_allow: Vec<i64> = inserts.iter().map(|(_, o)| o.allow).collect();
            let o_deny: Vec<i64> = inserts.iter().map(|(_, o)| o.deny).collect();
            let o_ids: Vec<Uuid> = inserts.iter().map(|_| Uuid::now_v7()).collect();
            written = sqlx::query(OVERWRITES_INSERT)
                .bind(guild)
                .bind(&o_cid)
                .bind(&o_tid)
                .bind(&o_type)
                .bind(&o_allow)
                .bind(&o_deny)
                .bind(&o_ids)
                .execute(&mut *conn)
                .await?
                .rows_affected();
        }
        stats += WriteStats { written, closed };
    }
    Ok(stats)
}

/// Tombstones channels and all their overwrites.
pub async fn delete_channels(
    conn: &mut PgConnection,
    guild: Uuid,
    channels: &[u64],
) -> Result<WriteStats, sqlx::Error> {
    if channels.is_empty() {
        return Ok(WriteStats::default());
    }
    let channels = ids(channels);
    let closed = sqlx::query(
        "UPDATE recovery.guild_channels SET valid_to = GREATEST(now(), valid_from), ended_by = 'delete', synced_at = now() \
          WHERE guild_id = $1 AND valid_to IS NULL AND discord_channel_id = ANY($2::bigint[])",
    )
    .bind(guild)
    .bind(&channels)
    .persistent(false)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    let overwrites = sqlx::query(
        "UPDATE recovery.guild_permission_overrides \
            SET valid_to = GREATEST(now(), valid_from), ended_by = 'delete', synced_at = now() \
          WHERE guild_id = $1 AND valid_to IS NULL AND discord_channel_id = ANY($2::bigint[])",
    )
    .bind(guild)
    .bind(&channels)
    .persistent(false)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    // A deleted channel's threads go with it (Discord sends no THREAD_DELETE for them).
    let threads = sqlx::query(
        "UPDATE recovery.guild_channels SET valid_to = GREATEST(now(), valid_from), ended_by = 'delete', synced_at = now() \
          WHERE guild_id = $1 AND valid_to IS NULL AND kind IN (10, 11, 12) AND parent_id = ANY($2::bigint[])",
    )
    .bind(guild)
    .bind(&channels)
    .persistent(false)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(WriteStats {
        written: 0,
        closed: closed + overwrites + threads,
    })
}

// --------------------------------------------------------------------------------- threads

fn thread_from(row: &PgRow) -> Result<ThreadState, sqlx::Error> {
    let meta: Option<serde_json::Value> = row.try_get("thread")?;
    let meta = meta.unwrap_or_default();
    let mut applied_tags: Vec<u64> = meta
        .get("applied_tags")
        .and_then(|t| t.as_array())
        .into_iter()
        .flatten()
        .filter_map(|t| t.as_str().and_then(|t| t.parse().ok()))
        .collect();
    applied_tags.sort_unstable();
    Ok(ThreadState {
        id: from_db(row.try_get("discord_channel_id")?),
        kind: row.try_get("kind")?,
        name: row.try_get("name")?,
        parent_id: row
            .try_get::<Option<i64>, _>("parent_id")?
            .map(from_db)
            .unwrap_or_default(),
        archived: meta
            .get("archived")
            .and_then(|v| v.as_bool())
            .unwrap_or(false),
        locked: meta
            .get("locked")
            .and_then(|v| v.as_bool())
            .unwrap_or(false),
        auto_archive_duration: meta
            .get("auto_archive_duration")
            .and_then(|v| v.as_i64())
            .and_then(|v| i32::try_from(v).ok())
            .unwrap_or(1440),
        invitable: meta
            .get("invitable")
            .and_then(|v| v.as_bool())
            .unwrap_or(true),
        rate_limit_per_user: row.try_get("rate_limit_per_user")?,
        flags: row.try_get("flags")?,
        applied_tags,
    })
}

/// Writes new and changed threads (a new version each; unchanged ones are left alone).
pub async fn upsert_threads(
    conn: &mut PgConnection,
    guild: Uuid,
    threads: &[ThreadState],
) -> Result<WriteStats, sqlx::Error> {
    let threads = last_per_key(threads, |t| t.id);
    if threads.is_empty() {
        return Ok(WriteStats::default());
    }
    let ids_now: Vec<i64> = threads.iter().map(|t| to_db(t.id)).collect();
    let mut current: HashMap<u64, (Uuid, ThreadState)> = HashMap::new();
    for row in sqlx::query(
        "SELECT id, discord_channel_id, kind, name, parent_id, rate_limit_per_user, flags, thread \
           FROM recovery.guild_channels \
          WHERE guild_id = $1 AND valid_to IS NULL AND kind IN (10, 11, 12) \
            AND discord_channel_id = ANY($2::bigint[])",
    )
    .bind(guild)
    .bind(&ids_now)
    .persistent(false)
    .fetch_all(&mut *conn)
    .await?
    {
        let t = thread_from(&row)?;
        current.insert(t.id, (row.try_get("id")?, t));
    }
    let mut closing = Vec::new();
    let mut writing: Vec<&ThreadState> = Vec::new();
    for t in threads {
        match current.get(&t.id) {
            Some((_, stored)) if stored == t => {}
            Some((row, _)) => {
                closing.push(*row);
                writing.push(t);
            }
            None => writing.push(t),
        }
    }
    let closed = close_rows(conn, Table::Channels, &closing, "update").await?;
    if writing.is_empty() {
        return Ok(WriteStats { written: 0, closed });
    }
    let w = &writing;
    let written = sqlx::query(
        "INSERT INTO recovery.guild_channels \
               (id, guild_id, discord_channel_id, kind, name, parent_id, position, rate_limit_per_user, flags, \
                thread, valid_from, synced_at) \
         SELECT i.id, $1, i.cid, i.kind, i.name, i.parent_id, 0, i.rate_limit_per_user, i.flags, i.thread::jsonb, \
                now(), now() \
           FROM UNNEST($2::bigint[], $3::smallint[], $4::text[], $5::bigint[], $6::int[], $7::int[], $8::text[], \
                       $9::uuid[]) AS i(cid, kind, name, parent_id, rate_limit_per_user, flags, thread, id)",
    )
    .bind(guild)
    .bind(w.iter().map(|t| to_db(t.id)).collect::<Vec<_>>())
    .bind(w.iter().map(|t| t.kind).collect::<Vec<_>>())
    .bind(w.iter().map(|t| t.name.as_str()).collect::<Vec<_>>())
    .bind(w.iter().map(|t| to_db(t.parent_id)).collect::<Vec<_>>())
    .bind(w.iter().map(|t| t.rate_limit_per_user.max(0)).collect::<Vec<_>>())
    .bind(w.iter().map(|t| t.flags).collect::<Vec<_>>())
    .bind(w.iter().map(|t| t.meta_json().to_string()).collect::<Vec<_>>())
    .bind(w.iter().map(|_| Uuid::now_v7()).collect::<Vec<_>>())
    .persistent(false)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(WriteStats { written, closed })
}

/// Tombstones threads.
pub async fn delete_threads(
    conn: &mut PgConnection,
    guild: Uuid,
    threads: &[u64],
) -> Result<WriteStats, sqlx::Error> {
    if threads.is_empty() {
        return Ok(WriteStats::default());
    }
    let closed = sqlx::query(
        "UPDATE recovery.guild_channels SET valid_to = GREATEST(now(), valid_from), ended_by = 'delete', synced_at = now() \
          WHERE guild_id = $1 AND valid_to IS NULL AND kind IN (10, 11, 12) AND discord_channel_id = ANY($2::bigint[])",
    )
    .bind(guild)
    .bind(ids(threads))
    .persistent(false)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(WriteStats { written: 0, closed })
}

/// Tombstones every current thread not in `present` (the complete set of a load).
pub async fn retain_threads(
    conn: &mut PgConnection,
    guild: Uuid,
    present: &[u64],
) -> Result<WriteStats, sqlx::Error> {
    let gone = current_except(
        conn,
        "SELECT discord_channel_id FROM recovery.guild_channels WHERE guild_id = $1 AND valid_to IS NULL \
                AND kind IN (10, 11, 12)",
        guild,
        present,
    )
    .await?;
    delete_threads(conn, guild, &gone).await
}

/// Tombstones every current channel not in `present`, with its overwrites (also overwrites
/// left on a channel without a current row).
pub async fn retain_channels(
    conn: &mut PgConnection,
    guild: Uuid,
    present: &[u64],
) -> Result<WriteStats, sqlx::Error> {
    let gone = current_except(
        conn,
        "SELECT discord_channel_id FROM recovery.guild_channels WHERE guild_id = $1 AND valid_to IS NULL \
                AND kind NOT IN (10, 11, 12) \
         UNION SELECT discord_channel_id FROM recovery.guild_permission_overrides WHERE guild_id = $1 AND valid_to IS NULL",
        guild,
        present,
    )
    .await?;
    delete_channels(conn, guild, &gone).await
}

// --------------------------------------------------------------------------------- settings

/// The emoji list as stored (`recovery.guild_settings.emojis`): `[{id, name, roles, animated}]`
/// by id, snowflakes as strings.
fn emojis_json(emojis: &[EmojiState]) -> serde_json::Value {
    serde_json::Value::Array(
        emojis
            .iter()
            .map(|e| {
                serde_json::json!({
                    "id": e.id.to_string(),
                    "name": e.name,
                    "roles": e.roles.iter().map(u64::to_string).collect::<Vec<_>>(),
                    "animated": e.animated,
                })
            })
            .collect(),
    )
}

/// The sticker list as stored (`recovery.guild_settings.stickers`).
fn stickers_json(stickers: &[StickerState]) -> serde_json::Value {
    serde_json::Value::Array(
        stickers
            .iter()
            .map(|s| {
                serde_json::json!({
                    "id": s.id.to_string(),
                    "name": s.name,
                    "description": s.description,
                    "tags": s.tags,
                    "format_type": s.format_type,
                })
            })
            .collect(),
    )
}

/// The rule list as stored (`recovery.guild_settings.automod`).
fn automod_json(rules: &[AutoModRuleState]) -> serde_json::Value {
    serde_json::Value::Array(rules.iter().map(AutoModRuleState::to_json).collect())
}

/// The event list as stored (`recovery.guild_settings.scheduled_events`).
fn events_json(events: &[EventState]) -> serde_json::Value {
    serde_json::Value::Array(events.iter().map(EventState::to_json).collect())
}

/// The stored event list back (`None`: not known; entries that do not read are dropped).
fn events_from(v: Option<serde_json::Value>) -> Option<Vec<EventState>> {
    Some(
        v?.as_array()?
            .iter()
            .filter_map(EventState::from_json)
            .collect(),
    )
}

/// The stored rule list back (`None`: not known; entries that do not read are dropped).
fn automod_from(v: Option<serde_json::Value>) -> Option<Vec<AutoModRuleState>> {
    Some(
        v?.as_array()?
            .iter()
            .filter_map(AutoModRuleState::from_json)
            .collect(),
    )
}

/// The stored sticker list back (entries that do not read are dropped).
fn stickers_from(v: serde_json::Value) -> Vec<StickerState> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| {
            Some(StickerState {
                id: s.get("id")?.as_str()?.parse().ok()?,
                name: s.get("name")?.as_str()?.to_owned(),
                description: s
                    .get("description")
                    .and_then(|d| d.as_str())
                    .map(str::to_owned),
                tags: s.get("tags")?.as_str()?.to_owned(),
                format_type: s
                    .get("format_type")
                    .and_then(|f| f.as_i64())
                    .and_then(|f| i16::try_from(f).ok())
                    .unwrap_or(1),
            })
        })
        .collect()
}

/// The stored emoji list back (entries that do not read are dropped).
fn emojis_from(v: serde_json::Value) -> Vec<EmojiState> {
    let id = |v: &serde_json::Value| v.as_str().and_then(|s| s.parse::<u64>().ok());
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| {
            Some(EmojiState {
                id: id(e.get("id")?)?,
                name: e.get("name")?.as_str()?.to_owned(),
                roles: e
                    .get("roles")
                    .and_then(|r| r.as_array())
                    .into_iter()
                    .flatten()
                    .filter_map(id)
                    .collect(),
                animated: e.get("animated").and_then(|a| a.as_bool()).unwrap_or(false),
            })
        })
        .collect()
}

const SETTINGS_CLOSE_CHANGED: &str = "\
UPDATE recovery.guild_settings AS s
   SET valid_to = GREATEST(now(), s.valid_from), ended_by = 'update', synced_at = now()
 WHERE s.guild_id = $1 AND s.valid_to IS NULL
   AND (s.name, s.icon, s.description, s.verification_level, s.default_message_notifications,
        s.explicit_content_filter, s.mfa_level, s.afk_channel_id, s.afk_timeout, s.system_channel_id,
        s.system_channel_flags, s.rules_channel_id, s.public_updates_channel_id, s.safety_alerts_channel_id,
        s.preferred_locale, s.premium_progress_bar_enabled, s.premium_tier, s.features, s.vanity_url_code, s.banner,
        s.splash, s.emojis, s.discovery_splash, s.stickers, s.automod, s.scheduled_events, s.welcome_screen,
        s.onboarding, s.webhooks)
       IS DISTINCT FROM
       ($2::text, $3::text, $4::text, $5::smallint, $6::smallint, $7::smallint, $8::smallint, $9::bigint, $10::int,
        $11::bigint, $12::int, $13::bigint, $14::bigint, $15::bigint, $16::text, $17::bool, $18::smallint,
        $19::text[], $20::text, $21::text, $22::text, $23::jsonb, $24::text, $25::jsonb,
        COALESCE($26::jsonb, s.automod), COALESCE($27::jsonb, s.scheduled_events),
        COALESCE($28::jsonb, s.welcome_screen), COALESCE($29::jsonb, s.onboarding),
        COALESCE($30::jsonb, s.webhooks))
RETURNING s.last_full_sync_at, s.sync_state, s.bans_known_since, s.automod, s.scheduled_events, s.welcome_screen,
          s.onboarding, s.webhooks";

const SETTINGS_INSERT_MISSING: &str = "\
INSERT INTO recovery.guild_settings
       (id, guild_id, name, icon, description, verification_level, default_message_notifications,
        explicit_content_filter, mfa_level, afk_channel_id, afk_timeout, system_channel_id, system_channel_flags,
        rules_channel_id, public_updates_channel_id, safety_alerts_channel_id, preferred_locale,
        premium_progress_bar_enabled, premium_tier, features, vanity_url_code, banner, splash, emojis,
        discovery_splash, stickers, automod, scheduled_events, welcome_screen, onboarding, webhooks,
        valid_from, synced_at, last_full_sync_at, sync_state, bans_known_since)
SELECT $31, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22,
       $23, $24, $25, COALESCE($26::jsonb, $35::jsonb), COALESCE($27::jsonb, $36::jsonb),
       COALESCE($28::jsonb, $37::jsonb), COALESCE($29::jsonb, $38::jsonb), COALESCE($30::jsonb, $39::jsonb),
       now(), now(), $32, $33, $34
 WHERE NOT EXISTS (SELECT 1 FROM recovery.guild_settings WHERE guild_id = $1 AND valid_to IS NULL)";

/// Writes the guild's settings when they changed (a new version carries the sync state and the
/// last full-load time over); a first row starts in `initial` state.
pub async fn upsert_settings(
    conn: &mut PgConnection,
    guild: Uuid,
    s: &SettingsState,
    initial: SyncState,
) -> Result<WriteStats, sqlx::Error> {
    macro_rules! bind_common {
        ($q:expr) => {
            $q.bind(guild)
                .bind(&s.name)
                .bind(&s.icon)
                .bind(&s.description)
                .bind(s.verification_level)
                .bind(s.default_message_notifications)
                .bind(s.explicit_content_filter)
                .bind(s.mfa_level)
                .bind(s.afk_channel_id.map(to_db))
                .bind(s.afk_timeout)
                .bind(s.system_channel_id.map(to_db))
                .bind(s.system_channel_flags)
                .bind(s.rules_channel_id.map(to_db))
                .bind(s.public_updates_channel_id.map(to_db))
                .bind(s.safety_alerts_channel_id.map(to_db))
                .bind(&s.preferred_locale)
                .bind(s.premium_progress_bar_enabled)
                .bind(s.premium_tier)
                .bind(&s.features)
                .bind(&s.vanity_url_code)
                .bind(&s.banner)
                .bind(&s.splash)
                .bind(emojis_json(&s.emojis))
                .bind(&s.discovery_splash)
                .bind(stickers_json(&s.stickers))
                .bind(s.automod.as_deref().map(automod_json))
                .bind(s.events.as_deref().map(events_json))
                .bind(
                    s.welcome
                        .as_ref()
                        .and_then(|w| serde_json::to_value(w).ok()),
                )
                .bind(
                    s.onboarding
                        .as_ref()
                        .and_then(|o| serde_json::to_value(o).ok()),
                )
                .bind(
                    s.webhooks
                        .as_ref()
                        .and_then(|w| serde_json::to_value(w).ok()),
                )
        };
    }
    /// The parts read by REST (AutoMod, events, welcome screen, onboarding, webhooks): a write
    /// that does not know them carries the stored ones over.
    const READ_BY_REST: usize = 5;
    type Carried = (
        Option<DateTime<Utc>>,
        Option<String>,
        Option<DateTime<Utc>>,
        [Option<serde_json::Value>; READ_BY_REST],
    );
    let carried: Option<Carried> = bind_common!(sqlx::query(SETTINGS_CLOSE_CHANGED))
        .fetch_optional(&mut *conn)
        .await?
        .map(|row| {
            let mut known: [Option<serde_json::Value>; READ_BY_REST] = Default::default();
            for (i, k) in known.iter_mut().enumerate() {
                *k = row.try_get(3 + i)?;
            }
            Ok::<_, sqlx::Error>((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?, known))
        })
        .transpose()?;
    let (full_sync, state, bans_known, known) = match carried.clone() {
        Some(c) => c,
        None => (
            None,
            Some(initial.as_str().to_owned()),
            None,
            Default::default(),
        ),
    };
    let mut insert = bind_common!(sqlx::query(SETTINGS_INSERT_MISSING))
        .bind(Uuid::now_v7())
        .bind(full_sync)
        .bind(state)
        .bind(bans_known);
    for k in known {
        insert = insert.bind(k);
    }
    let written = insert.execute(&mut *conn).await?.rows_affected();
    Ok(WriteStats {
        written,
        closed: u64::from(carried.is_some()),
    })
}

/// Sets the (not versioned) sync state of the current settings row; `full_sync_at` records the
/// end of a full load. Returns false when the guild has no settings row yet.
pub async fn set_sync_state(
    conn: &mut PgConnection,
    guild: Uuid,
    state: SyncState,
    full_sync_at: Option<DateTime<Utc>>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE recovery.guild_settings \
            SET sync_state = $2, last_full_sync_at = COALESCE($3, last_full_sync_at), synced_at = now() \
          WHERE guild_id = $1 AND valid_to IS NULL",
    )
    .bind(guild)
    .bind(state.as_str())
    .bind(full_sync_at)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// The whole ban list has been loaded: bans are known from now on (the first time counts).
pub async fn set_bans_known(conn: &mut PgConnection, guild: Uuid) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE recovery.guild_settings SET bans_known_since = COALESCE(bans_known_since, now()) \
          WHERE guild_id = $1 AND valid_to IS NULL",
    )
    .bind(guild)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Since when the guild's whole ban list is known (`None`: not yet).
pub async fn bans_known_since(
    pool: &PgPool,
    guild: Uuid,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    Ok(sqlx::query_scalar::<_, Option<DateTime<Utc>>>(
        "SELECT bans_known_since FROM recovery.guild_settings WHERE guild_id = $1 AND valid_to IS NULL",
    )
    .bind(guild)
    .fetch_optional(pool)
    .await?
    .flatten())
}

/// Deletes history (closed versions) of `guild` that ended before `before`.
pub async fn purge_history(
    conn: &mut PgConnection,
    guild: Uuid,
    before: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let mut n = 0;
    for sql in [
        "DELETE FROM recovery.guild_roles WHERE guild_id = $1 AND valid_to IS NOT NULL AND valid_to < $2",
        "DELETE FROM recovery.guild_channels WHERE guild_id = $1 AND valid_to IS NOT NULL AND valid_to < $2",
        "DELETE FROM recovery.guild_permission_overrides WHERE guild_id = $1 AND valid_to IS NOT NULL AND valid_to < $2",
        "DELETE FROM recovery.guild_settings WHERE guild_id = $1 AND valid_to IS NOT NULL AND valid_to < $2",
    ] {
        n += sqlx::query(sql)
            .bind(guild)
            .bind(before)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    }
    Ok(n)
}

// ------------------------------------------------------------------------------------ reads

fn role_from(row: &PgRow) -> Result<RoleState, sqlx::Error> {
    Ok(RoleState {
        discord_role_id: from_db(row.try_get("discord_role_id")?),
        name: row.try_get("name")?,
        color: row.try_get("color")?,
        secondary_color: row.try_get("secondary_color")?,
        tertiary_color: row.try_get("tertiary_color")?,
        hoist: row.try_get("hoist")?,
        position: row.try_get("position")?,
        permissions: row.try_get("permissions")?,
        mentionable: row.try_get("mentionable")?,
        managed: row.try_get("managed")?,
        icon: row.try_get("icon")?,
        unicode_emoji: row.try_get("unicode_emoji")?,
        tags: json_parse(row.try_get("tags")?),
        flags: row.try_get("flags")?,
    })
}

fn channel_from(row: &PgRow) -> Result<ChannelState, sqlx::Error> {
    Ok(ChannelState {
        discord_channel_id: from_db(row.try_get("discord_channel_id")?),
        kind: row.try_get("kind")?,
        name: row.try_get("name")?,
        parent_id: row.try_get::<Option<i64>, _>("parent_id")?.map(from_db),
        position: row.try_get("position")?,
        topic: row.try_get("topic")?,
        nsfw: row.try_get("nsfw")?,
        rate_limit_per_user: row.try_get("rate_limit_per_user")?,
        bitrate: row.try_get("bitrate")?,
        user_limit: row.try_get("user_limit")?,
        rtc_region: row.try_get("rtc_region")?,
        video_quality_mode: row.try_get("video_quality_mode")?,
        default_auto_archive_duration: row.try_get("default_auto_archive_duration")?,
        default_thread_rate_limit_per_user: row.try_get("default_thread_rate_limit_per_user")?,
        available_tags: json_parse(row.try_get("available_tags")?),
        default_reaction_emoji: json_parse(row.try_get("default_reaction_emoji")?),
        default_sort_order: row.try_get("default_sort_order")?,
        default_forum_layout: row.try_get("default_forum_layout")?,
        flags: row.try_get("flags")?,
        overwrites: Vec::new(),
    })
}

fn settings_from(row: &PgRow) -> Result<SettingsState, sqlx::Error> {
    Ok(SettingsState {
        name: row.try_get("name")?,
        icon: row.try_get("icon")?,
        description: row.try_get("description")?,
        verification_level: row.try_get("verification_level")?,
        default_message_notifications: row.try_get("default_message_notifications")?,
        explicit_content_filter: row.try_get("explicit_content_filter")?,
        mfa_level: row.try_get("mfa_level")?,
        afk_channel_id: row
            .try_get::<Option<i64>, _>("afk_channel_id")?
            .map(from_db),
        afk_timeout: row.try_get("afk_timeout")?,
        system_channel_id: row
            .try_get::<Option<i64>, _>("system_channel_id")?
            .map(from_db),
        system_channel_flags: row.try_get("system_channel_flags")?,
        rules_channel_id: row
            .try_get::<Option<i64>, _>("rules_channel_id")?
            .map(from_db),
        public_updates_channel_id: row
            .try_get::<Option<i64>, _>("public_updates_channel_id")?
            .map(from_db),
        safety_alerts_channel_id: row
            .try_get::<Option<i64>, _>("safety_alerts_channel_id")?
            .map(from_db),
        preferred_locale: row.try_get("preferred_locale")?,
        premium_progress_bar_enabled: row.try_get("premium_progress_bar_enabled")?,
        premium_tier: row.try_get("premium_tier")?,
        features: row.try_get("features")?,
        vanity_url_code: row.try_get("vanity_url_code")?,
        banner: row.try_get("banner")?,
        splash: row.try_get("splash")?,
        emojis: emojis_from(row.try_get("emojis")?),
        discovery_splash: row.try_get("discovery_splash")?,
        stickers: stickers_from(row.try_get("stickers")?),
        automod: automod_from(row.try_get("automod")?),
        events: events_from(row.try_get("scheduled_events")?),
        welcome: row
            .try_get::<Option<serde_json::Value>, _>("welcome_screen")?
            .and_then(|v| serde_json::from_value(v).ok()),
        onboarding: row
            .try_get::<Option<serde_json::Value>, _>("onboarding")?
            .and_then(|v| serde_json::from_value(v).ok()),
        webhooks: row
            .try_get::<Option<serde_json::Value>, _>("webhooks")?
            .and_then(|v| serde_json::from_value(v).ok()),
    })
}

/// The structure (settings, roles, channels with overwrites) of `guild` as of `at`, or the
/// current one for `None`. Lists are in no particular order.
/// Settings, roles, channels and threads of one time.
pub type Structure = (
    Option<SettingsState>,
    Vec<RoleState>,
    Vec<ChannelState>,
    Vec<ThreadState>,
);

pub async fn structure_as_of(
    pool: &PgPool,
    guild: Uuid,
    at: Option<DateTime<Utc>>,
) -> Result<Structure, sqlx::Error> {
    // $2 NULL = the current rows; otherwise the versions whose validity covers $2.
    let roles = sqlx::query(
        "SELECT discord_role_id, name, color, secondary_color, tertiary_color, hoist, position, permissions, \
                mentionable, managed, icon, unicode_emoji, tags::text AS tags, flags \
           FROM recovery.guild_roles \
          WHERE guild_id = $1 AND (($2::timestamptz IS NULL AND valid_to IS NULL) OR \
                ($2::timestamptz IS NOT NULL AND valid_from <= $2 AND (valid_to IS NULL OR valid_to > $2)))",
    )
    .bind(guild)
    .bind(at)
    .fetch_all(pool)
    .await?
    .iter()
    .map(role_from)
    .collect::<Result<Vec<_>, _>>()?;
    let mut channels = sqlx::query(
        "SELECT discord_channel_id, kind, name, parent_id, position, topic, nsfw, rate_limit_per_user, bitrate, \
                user_limit, rtc_region, video_quality_mode, default_auto_archive_duration, \
                default_thread_rate_limit_per_user, available_tags::text AS available_tags, \
                default_reaction_emoji::text AS default_reaction_emoji, default_sort_order, default_forum_layout, flags \
           FROM recovery.guild_channels \
          WHERE guild_id = $1 AND kind NOT IN (10, 11, 12) AND (($2::timestamptz IS NULL AND valid_to IS NULL) OR \
                ($2::timestamptz IS NOT NULL AND valid_from <= $2 AND (valid_to IS NULL OR valid_to > $2)))",
    )
    .bind(guild)
    .bind(at)
    .fetch_all(pool)
    .await?
    .iter()
    .map(channel_from)
    .collect::<Result<Vec<_>, _>>()?;
    let threads = sqlx::query(
        "SELECT discord_channel_id, kind, name, parent_id, rate_limit_per_user, flags, thread \
           FROM recovery.guild_channels \
          WHERE guild_id = $1 AND kind IN (10, 11, 12) AND (($2::timestamptz IS NULL AND valid_to IS NULL) OR \
                ($2::timestamptz IS NOT NULL AND valid_from <= $2 AND (valid_to IS NULL OR valid_to > $2)))",
    )
    .bind(guild)
    .bind(at)
    .fetch_all(pool)
    .await?
    .iter()
    .map(thread_from)
    .collect::<Result<Vec<_>, _>>()?;
    let overwrites: Vec<(i64, i64, i16, i64, i64)> = sqlx::query_as(
        "SELECT discord_channel_id, target_id, target_type, allow, deny \
           FROM recovery.guild_permission_overrides \
          WHERE guild_id = $1 AND (($2::timestamptz IS NULL AND valid_to IS NULL) OR \
                ($2::timestamptz IS NOT NULL AND valid_from <= $2 AND (valid_to IS NULL OR valid_to > $2)))",
    )
    .bind(guild)
    .bind(at)
    .fetch_all(pool)
    .await?;
    let mut by_channel: HashMap<u64, Vec<OverwriteState>> = HashMap::new();
    for (cid, tid, kind, allow, deny) in overwrites {
        let Some(target) = OverwriteTarget::from_num(kind) else {
            continue;
        };
        by_channel
            .entry(from_db(cid))
            .or_default()
            .push(OverwriteState {
                target_id: from_db(tid),
                target,
                allow,
                deny,
            });
    }
    for c in &mut channels {
        c.overwrites = by_channel.remove(&c.discord_channel_id).unwrap_or_default();
        c.overwrites.sort_by_key(|o| o.target_id);
    }
    let settings = sqlx::query(
        "SELECT name, icon, description, verification_level, default_message_notifications, explicit_content_filter, \
                mfa_level, afk_channel_id, afk_timeout, system_channel_id, system_channel_flags, rules_channel_id, \
                public_updates_channel_id, safety_alerts_channel_id, preferred_locale, premium_progress_bar_enabled, \
                premium_tier, features, vanity_url_code, banner, splash, emojis, discovery_splash, stickers, automod, scheduled_events, welcome_screen, onboarding, webhooks \
           FROM recovery.guild_settings \
          WHERE guild_id = $1 AND (($2::timestamptz IS NULL AND valid_to IS NULL) OR \
                ($2::timestamptz IS NOT NULL AND valid_from <= $2 AND (valid_to IS NULL OR valid_to > $2)))",
    )
    .bind(guild)
    .bind(at)
    .fetch_optional(pool)
    .await?
    .as_ref()
    .map(settings_from)
    .transpose()?;
    Ok((settings, roles, channels, threads))
}

/// Sync state, last full load and current counts of `guild` (members not included).
pub async fn status(pool: &PgPool, guild: Uuid) -> Result<SyncStatus, sqlx::Error> {
    let row: Option<(Option<String>, Option<DateTime<Utc>>)> = sqlx::query_as(
        "SELECT sync_state, last_full_sync_at FROM recovery.guild_settings WHERE guild_id = $1 AND valid_to IS NULL",
    )
    .bind(guild)
    .fetch_optional(pool)
    .await?;
    let (roles, channels): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM recovery.guild_roles WHERE guild_id = $1 AND valid_to IS NULL), \
                (SELECT count(*) FROM recovery.guild_channels WHERE guild_id = $1 AND valid_to IS NULL \
                    AND kind NOT IN (10, 11, 12))",
    )
    .bind(guild)
    .fetch_one(pool)
    .await?;
    let (state, last_full_sync_at) = row.unwrap_or((None, None));
    Ok(SyncStatus {
        state: state.as_deref().and_then(SyncState::parse),
        last_full_sync_at,
        roles: u64::try_from(roles).unwrap_or(0),
        channels: u64::try_from(channels).unwrap_or(0),
        members: 0,
    })
}

/// When the mirror of `guild` begins (the oldest settings version still stored), if any.
pub async fn history_start(
    pool: &PgPool,
    guild: Uuid,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar("SELECT min(valid_from) FROM recovery.guild_settings WHERE guild_id = $1")
        .bind(guild)
        .fetch_one(pool)
        .await
}

/// The newest start of a structure version (settings, roles, channels, threads) before `t`.
pub async fn last_change_before(
    pool: &PgPool,
    guild: Uuid,
    t: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT max(v) FROM ( \
            SELECT max(valid_from) AS v FROM recovery.guild_settings WHERE guild_id = $1 AND valid_from < $2 \
            UNION ALL SELECT max(valid_from) FROM recovery.guild_roles WHERE guild_id = $1 AND valid_from < $2 \
            UNION ALL SELECT max(valid_from) FROM recovery.guild_channels WHERE guild_id = $1 AND valid_from < $2) AS x",
    )
    .bind(guild)
    .bind(t)
    .fetch_one(pool)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_stay_far_below_the_bind_parameter_limit() {
        for sql in [
            ROLE_COLUMNS_SQL,
            ROLES_INSERT,
            CHANNEL_COLUMNS_SQL,
            CHANNELS_INSERT,
            OVERWRITES_CURRENT,
            OVERWRITES_INSERT,
            SETTINGS_CLOSE_CHANGED,
            SETTINGS_INSERT_MISSING,
        ] {
            let highest = (1..=99)
                .filter(|n| sql.contains(&format!("${n}")))
                .max()
                .unwrap_or(0);
            assert!(highest <= MAX_BINDS_PER_STATEMENT, "{highest} binds: {sql}");
        }
        const { assert!(MAX_BINDS_PER_STATEMENT < 65_535) };
    }

    #[test]
    fn every_statement_names_its_schema() {
        for sql in [
            ROLES_INSERT,
            CHANNELS_INSERT,
            OVERWRITES_INSERT,
            SETTINGS_INSERT_MISSING,
        ] {
            assert!(sql.contains("INSERT INTO recovery."), "{sql}");
        }
    }

    #[test]
    fn the_last_state_of_an_object_wins_within_one_write() {
        let items = [(1, "a"), (2, "b"), (1, "c")];
        let kept: Vec<_> = last_per_key(&items, |i| i.0)
            .into_iter()
            .map(|i| i.1)
            .collect();
        assert_eq!(kept, vec!["b", "c"]);
    }
}
