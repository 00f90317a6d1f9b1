//! Purpose: the only code that writes `member.members` — versioned bulk writes through `UNNEST`
//! arrays (a constant, small number of bind parameters per statement whatever the row count,
//! far under PostgreSQL's 65,535; rows are still sent in chunks of `chunk_rows`), and the
//! "as of T" read.
//!
//! A write reads the current versions of the given members (`= ANY` of their ids), compares
//! them here, closes the changed ones by row id (`ended_by = 'update'`) and inserts a version
//! for every new or changed member. Unchanged members are not touched. No statement joins the
//! table to a parameter array: with the statistics of a table that just grew (a first load),
//! the planner turns such joins into nested loops over the whole table; `= ANY` of a constant
//! array is at worst one scan. Statements that carry arrays are not kept prepared
//! (`persistent(false)`), so each is planned with its values.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU8, Ordering};

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::model::{BanState, MemberState, WriteStats};
use crate::ids::{from_db, to_db};

/// Bind parameters of the widest statement below (the insert): checked against PostgreSQL's
/// limit by a test.
/// The guilds (row ids) where `user` is a current member (by the current-member index).
pub async fn guilds_of(pool: &PgPool, user: u64) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT guild_id FROM member.members WHERE discord_user_id = $1 AND valid_to IS NULL AND NOT banned",
    )
    .bind(to_db(user))
    .fetch_all(pool)
    .await
}

#[cfg(test)]
pub const MAX_BINDS_PER_STATEMENT: usize = 10;

const CURRENT_OF: &str = "\
SELECT id, discord_user_id, username, global_name, nick, role_ids, is_bot, joined_at
  FROM member.members
 WHERE guild_id = $1 AND valid_to IS NULL AND NOT banned AND discord_user_id = ANY($2::bigint[])";

const CLOSE_ROWS: &str = "\
UPDATE member.members SET valid_to = GREATEST(now(), valid_from), ended_by = $2, synced_at = now()
 WHERE id = ANY($1::uuid[]) AND valid_to IS NULL";

/// The Umbra accounts the new versions link to.
const USER_LINKS: &str =
    "SELECT discord_user_id, id FROM identity.users WHERE discord_user_id = ANY($1::bigint[])";

/// The same, locked as the foreign key's check would lock them (see [`insert_new`]).
const USER_LINKS_LOCKED: &str = "SELECT discord_user_id, id FROM identity.users \
     WHERE discord_user_id = ANY($1::bigint[]) FOR KEY SHARE";

const INSERT_VERSIONS: &str = "\
INSERT INTO member.members
       (id, guild_id, discord_user_id, user_id, username, global_name, nick, role_ids, is_bot, joined_at,
        valid_from, synced_at)
SELECT i.id, $1, i.uid, i.user_id, i.username, i.global_name, i.nick, i.roles::bigint[], i.is_bot, i.joined_at,
       now(), now()
  FROM UNNEST($2::uuid[], $3::bigint[], $4::uuid[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bool[],
              $10::timestamptz[]) AS i(id, uid, user_id, username, global_name, nick, roles, is_bot, joined_at)";

/// Column arrays of a chunk of members.
struct Columns {
    ids: Vec<Uuid>,
    uids: Vec<i64>,
    user_ids: Vec<Option<Uuid>>,
    usernames: Vec<String>,
    global_names: Vec<Option<String>>,
    nicks: Vec<Option<String>>,
    roles: Vec<String>,
    bots: Vec<bool>,
    joined: Vec<Option<DateTime<Utc>>>,
}

impl Columns {
    fn of(members: &[&MemberState], links: &HashMap<i64, Uuid>) -> Self {
        let n = members.len();
        let mut c = Columns {
            ids: Vec::with_capacity(n),
            uids: Vec::with_capacity(n),
            user_ids: Vec::with_capacity(n),
            usernames: Vec::with_capacity(n),
            global_names: Vec::with_capacity(n),
            nicks: Vec::with_capacity(n),
            roles: Vec::with_capacity(n),
            bots: Vec::with_capacity(n),
            joined: Vec::with_capacity(n),
        };
        for m in members {
            c.ids.push(Uuid::now_v7());
            c.uids.push(to_db(m.discord_user_id));
            c.user_ids
                .push(links.get(&to_db(m.discord_user_id)).copied());
            c.usernames.push(m.username.clone());
            c.global_names.push(m.global_name.clone());
            c.nicks.push(m.nick.clone());
            c.roles.push(m.roles_literal());
            c.bots.push(m.is_bot);
            c.joined.push(m.joined_at);
        }
        c
    }
}

/// The last state given for each member, in input order (a member listed twice in one call
/// would otherwise violate the one-current-row rule).
fn deduplicated(members: &[MemberState]) -> Vec<&MemberState> {
    let mut last: HashMap<u64, usize> = HashMap::with_capacity(members.len());
    for (i, m) in members.iter().enumerate() {
        last.insert(m.discord_user_id, i);
    }
    members
        .iter()
        .enumerate()
        .filter(|(i, m)| last.get(&m.discord_user_id) == Some(i))
        .map(|(_, m)| m)
        .collect()
}

/// From this many new versions on, they go in by `COPY` (a first load: thousands per chunk)
/// rather than by `INSERT ... UNNEST`.
const COPY_THRESHOLD: usize = 256;

const COPY_VERSIONS: &str = "COPY member.members \
    (id, guild_id, discord_user_id, user_id, username, global_name, nick, role_ids, is_bot, joined_at) FROM STDIN";

/// Appends a COPY text-format field (`\N` for NULL; backslash, tab, newline, CR escaped).
fn copy_field(out: &mut String, value: Option<&str>) {
    match value {
        None => out.push_str("\\N"),
        Some(v) => {
            for ch in v.chars() {
                match ch {
                    '\\' => out.push_str("\\\\"),
                    '\t' => out.push_str("\\t"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    c => out.push(c),
                }
            }
        }
    }
}

/// The COPY text rows of new versions (`valid_from` and `synced_at` take their default, the
/// transaction's `now()`, like every other row of the batch).
fn copy_rows(guild: Uuid, members: &[&MemberState], links: &HashMap<i64, Uuid>) -> String {
    let guild = guild.to_string();
    let mut out = String::with_capacity(members.len() * 160);
    for m in members {
        let uid = to_db(m.discord_user_id);
        out.push_str(&Uuid::now_v7().to_string());
        out.push('\t');
        out.push_str(&guild);
        out.push('\t');
        out.push_str(&uid.to_string());
        out.push('\t');
        copy_field(&mut out, links.get(&uid).map(Uuid::to_string).as_deref());
        out.push('\t');
        copy_field(&mut out, Some(&m.username));
        out.push('\t');
        copy_field(&mut out, m.global_name.as_deref());
        out.push('\t');
        copy_field(&mut out, m.nick.as_deref());
        out.push('\t');
        out.push_str(&m.roles_literal());
        out.push('\t');
        out.push(if m.is_bot { 't' } else { 'f' });
        out.push('\t');
        copy_field(
            &mut out,
            m.joined_at
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
                .as_deref(),
        );
        out.push('\n');
    }
    out
}

/// Inserts new versions with `COPY` (on the caller's transaction).
async fn copy_versions(
    conn: &mut PgConnection,
    guild: Uuid,
    members: &[&MemberState],
    links: &HashMap<i64, Uuid>,
) -> Result<u64, sqlx::Error> {
    let text = copy_rows(guild, members, links);
    let mut copy = conn.copy_in_raw(COPY_VERSIONS).await?;
    for part in text.as_bytes().chunks(1 << 20) {
        if let Err(e) = copy.send(part).await {
            let _ = copy.abort("sending the rows failed").await;
            return Err(e);
        }
    }
    copy.finish().await
}

/// Closes current versions by row id, with `ended_by` = `update` or `delete`.
async fn close_rows(
    conn: &mut PgConnection,
    rows: &[Uuid],
    ended_by: &str,
) -> Result<u64, sqlx::Error> {
    if rows.is_empty() {
        return Ok(0);
    }
    Ok(sqlx::query(CLOSE_ROWS)
        .bind(rows)
        .bind(ended_by)
        .persistent(false)
        .execute(&mut *conn)
        .await?
        .rows_affected())
}

/// Writes new and changed members (see the module comment), `chunk_rows` rows per statement.
pub async fn upsert(
    conn: &mut PgConnection,
    guild: Uuid,
    members: &[MemberState],
    chunk_rows: usize,
) -> Result<WriteStats, sqlx::Error> {
    let members = deduplicated(members);
    let mut stats = WriteStats::default();
    for chunk in members.chunks(chunk_rows.max(1)) {
        let uids: Vec<i64> = chunk.iter().map(|m| to_db(m.discord_user_id)).collect();
        let current: HashMap<u64, (Uuid, MemberState)> = sqlx::query_as::<
            _,
            (
                Uuid,
                i64,
                String,
                Option<String>,
                Option<String>,
                Vec<i64>,
                bool,
                Option<DateTime<Utc>>,
            ),
        >(CURRENT_OF)
        .bind(guild)
        .bind(&uids)
        .persistent(false)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(
            |(id, uid, username, global_name, nick, roles, is_bot, joined_at)| {
                let m = member_from((uid, username, global_name, nick, roles, is_bot, joined_at));
                (m.discord_user_id, (id, m))
            },
        )
        .collect();
        let mut closing = Vec::new();
        let mut writing: Vec<&MemberState> = Vec::new();
        for m in chunk {
            match current.get(&m.discord_user_id) {
                Some((_, stored)) if stored == *m => {}
                Some((row, _)) => {
                    closing.push(*row);
                    writing.push(m);
                }
                None => writing.push(m),
            }
        }
        let closed = close_rows(conn, &closing, "update").await?;
        let written = write_versions(conn, guild, &writing, false).await?;
        stats += WriteStats { written, closed };
    }
    Ok(stats)
}

/// Writes members known to have no current version, without reading what is stored.
///
/// A first load COPYs thousands of rows per batch, and PostgreSQL checks both foreign keys of
/// every row with a query of its own (`guild_id` -> `guild.guilds`, `user_id` ->
/// `identity.users`): about half of the COPY's time, for the same guild row each time. When the
/// database role may (see [`BulkLoad`]), the batch checks them once instead: the guild row is
/// locked `FOR KEY SHARE` here (absent: the normal path runs, and its check reports the
/// violation), the linked users are locked by the query that finds them, and the row triggers
/// are left out of these inserts only (`session_replication_role`, transaction-local, restored
/// right after). Same locks, same guarantee; the constraints stay declared and every other
/// write checks them as usual.
pub async fn insert_new(
    conn: &mut PgConnection,
    guild: Uuid,
    members: &[MemberState],
    chunk_rows: usize,
    bulk: &BulkLoad,
) -> Result<WriteStats, sqlx::Error> {
    let members = deduplicated(members);
    let bypass = members.len() >= COPY_THRESHOLD && bulk.enter(conn, guild).await?;
    let mut written = 0;
    // COPY takes bigger slices well.
    for chunk in members.chunks(chunk_rows.max(1).saturating_mul(4)) {
        written += write_versions(conn, guild, chunk, bypass).await?;
    }
    if bypass {
        BulkLoad::leave(conn).await?;
    }
    Ok(WriteStats { written, closed: 0 })
}

/// Whether this database role may leave row triggers out of a first load's COPY (a superuser,
/// or `GRANT SET ON PARAMETER session_replication_role TO <role>` on PostgreSQL 15+). Learnt on
/// first use, by trying, and kept for the life of the process (0: not known yet).
#[derive(Debug, Default)]
pub struct BulkLoad(AtomicU8);

const BULK_ALLOWED: u8 = 1;
const BULK_DENIED: u8 = 2;

impl BulkLoad {
    /// `Some(allowed)` once known.
    pub fn allowed(&self) -> Option<bool> {
        match self.0.load(Ordering::Relaxed) {
            BULK_ALLOWED => Some(true),
            BULK_DENIED => Some(false),
            _ => None,
        }
    }

    /// Locks `guild`'s row and turns the row triggers off until [`Self::leave`] (or the
    /// transaction's end); `false`, triggers untouched, when the role may not or the guild row
    /// is missing.
    async fn enter(&self, conn: &mut PgConnection, guild: Uuid) -> Result<bool, sqlx::Error> {
        let allowed = match self.allowed() {
            Some(known) => known,
            None => self.probe(conn).await?,
        };
        if !allowed {
            return Ok(false);
        }
        let locked: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM guild.guilds WHERE id = $1 FOR KEY SHARE")
                .bind(guild)
                .fetch_optional(&mut *conn)
                .await?;
        if locked.is_none() {
            return Ok(false);
        }
        sqlx::raw_sql("SET LOCAL session_replication_role = replica")
            .execute(&mut *conn)
            .await?;
        Ok(true)
    }

    /// Finds out, once, by trying everything the bulk path does (the setting and both locks)
    /// in a savepoint that is then rolled back: a refusal must not abort the caller's
    /// transaction, and the setting goes back with the savepoint.
    async fn probe(&self, conn: &mut PgConnection) -> Result<bool, sqlx::Error> {
        let mut savepoint = sqlx::Connection::begin(&mut *conn).await?;
        let tried = sqlx::raw_sql(
            "SET LOCAL session_replication_role = replica; \
             SELECT 1 FROM guild.guilds WHERE false FOR KEY SHARE; \
             SELECT 1 FROM identity.users WHERE false FOR KEY SHARE",
        )
        .execute(&mut *savepoint)
        .await;
        savepoint.rollback().await?;
        match tried {
            Ok(_) => {
                self.0.store(BULK_ALLOWED, Ordering::Relaxed);
                Ok(true)
            }
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42501") => {
                self.0.store(BULK_DENIED, Ordering::Relaxed);
                tracing::info!(
                    "first loads check foreign keys row by row: the database role may not set \
                     session_replication_role (see README, \"The database\")"
                );
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    async fn leave(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        sqlx::raw_sql("SET LOCAL session_replication_role = DEFAULT")
            .execute(&mut *conn)
            .await?;
        Ok(())
    }
}

/// Whether `guild` has a current member.
pub async fn has_current(conn: &mut PgConnection, guild: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM member.members WHERE guild_id = $1 AND valid_to IS NULL AND NOT banned)",
    )
    .bind(guild)
    .fetch_one(&mut *conn)
    .await
}

/// Inserts new current versions (their Umbra account linked when one exists): `COPY` for many,
/// `INSERT ... UNNEST` for a few.
///
/// `lock_links`: the linked accounts are locked `FOR KEY SHARE` (the row triggers are off, see
/// [`insert_new`]).
async fn write_versions(
    conn: &mut PgConnection,
    guild: Uuid,
    writing: &[&MemberState],
    lock_links: bool,
) -> Result<u64, sqlx::Error> {
    if writing.is_empty() {
        return Ok(0);
    }
    let wanted: Vec<i64> = writing.iter().map(|m| to_db(m.discord_user_id)).collect();
    let links_query = if lock_links {
        USER_LINKS_LOCKED
    } else {
        USER_LINKS
    };
    let links: HashMap<i64, Uuid> = sqlx::query_as::<_, (i64, Uuid)>(links_query)
        .bind(&wanted)
        .persistent(false)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .collect();
    if writing.len() >= COPY_THRESHOLD {
        return copy_versions(conn, guild, writing, &links).await;
    }
    {
        let c = Columns::of(writing, &links);
        let written = sqlx::query(INSERT_VERSIONS)
            .bind(guild)
            .bind(&c.ids)
            .bind(&c.uids)
            .bind(&c.user_ids)
            .bind(&c.usernames)
            .bind(&c.global_names)
            .bind(&c.nicks)
            .bind(&c.roles)
            .bind(&c.bots)
            .bind(&c.joined)
            .execute(&mut *conn)
            .await?
            .rows_affected();
        Ok(written)
    }
}

/// Tombstones the current versions of `users`.
pub async fn remove(
    conn: &mut PgConnection,
    guild: Uuid,
    users: &[u64],
) -> Result<WriteStats, sqlx::Error> {
    if users.is_empty() {
        return Ok(WriteStats::default());
    }
    close_current(conn, guild, users, false).await
}

/// Closes (`ended_by = 'delete'`) the current memberships (`banned` false) or bans (true) of
/// `users`.
async fn close_current(
    conn: &mut PgConnection,
    guild: Uuid,
    users: &[u64],
    banned: bool,
) -> Result<WriteStats, sqlx::Error> {
    // Literal predicates (not `banned = $3`): a generic plan must still match the partial
    // current-row indexes.
    let sql = if banned {
        "UPDATE member.members \
            SET valid_to = GREATEST(now(), valid_from), ended_by = 'delete', synced_at = now() \
          WHERE guild_id = $1 AND valid_to IS NULL AND banned AND discord_user_id = ANY($2::bigint[])"
    } else {
        "UPDATE member.members \
            SET valid_to = GREATEST(now(), valid_from), ended_by = 'delete', synced_at = now() \
          WHERE guild_id = $1 AND valid_to IS NULL AND NOT banned AND discord_user_id = ANY($2::bigint[])"
    };
    let ids: Vec<i64> = users.iter().copied().map(to_db).collect();
    let closed = sqlx::query(sql)
        .bind(guild)
        .bind(&ids)
        .persistent(false)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(WriteStats { written: 0, closed })
}

/// The users with a current membership (`banned` false) or ban (true) in `guild`.
async fn current_users(
    conn: &mut PgConnection,
    guild: Uuid,
    banned: bool,
) -> Result<Vec<u64>, sqlx::Error> {
    let sql = if banned {
        "SELECT discord_user_id FROM member.members WHERE guild_id = $1 AND valid_to IS NULL AND banned"
    } else {
        "SELECT discord_user_id FROM member.members WHERE guild_id = $1 AND valid_to IS NULL AND NOT banned"
    };
    let ids: Vec<i64> = sqlx::query_scalar(sql)
        .bind(guild)
        .fetch_all(&mut *conn)
        .await?;
    Ok(ids.into_iter().map(from_db).collect())
}

/// Tombstones every current member of `guild` whose id is not in `present`. The difference is
/// taken here, not in SQL: an anti-join against a 100,000-element parameter array is planned as
/// a nested loop.
pub async fn retain_only(
    conn: &mut PgConnection,
    guild: Uuid,
    present: &[u64],
) -> Result<WriteStats, sqlx::Error> {
    let present: HashSet<u64> = present.iter().copied().collect();
    let gone: Vec<u64> = current_users(conn, guild, false)
        .await?
        .into_iter()
        .filter(|u| !present.contains(u))
        .collect();
    remove(conn, guild, &gone).await
}

type MemberRow = (
    i64,
    String,
    Option<String>,
    Option<String>,
    Vec<i64>,
    bool,
    Option<DateTime<Utc>>,
);

fn member_from(row: MemberRow) -> MemberState {
    let (uid, username, global_name, nick, roles, is_bot, joined_at) = row;
    MemberState {
        discord_user_id: from_db(uid),
        username,
        global_name,
        nick,
        role_ids: roles.into_iter().map(from_db).collect(),
        is_bot,
        joined_at,
    }
}

/// New versions without `role` for the current members holding it.
pub async fn strip_role(
    conn: &mut PgConnection,
    guild: Uuid,
    role: u64,
    chunk_rows: usize,
) -> Result<WriteStats, sqlx::Error> {
    let rows: Vec<MemberRow> = sqlx::query_as(
        "SELECT discord_user_id, username, global_name, nick, role_ids, is_bot, joined_at \
           FROM member.members \
          WHERE guild_id = $1 AND valid_to IS NULL AND NOT banned AND role_ids @> ARRAY[$2::bigint]",
    )
    .bind(guild)
    .bind(to_db(role))
    .fetch_all(&mut *conn)
    .await?;
    let changed: Vec<MemberState> = rows
        .into_iter()
        .map(member_from)
        .map(|mut m| {
            m.role_ids.retain(|r| *r != role);
            m
        })
        .collect();
    upsert(conn, guild, &changed, chunk_rows).await
}

/// Deletes closed versions of `guild` that ended before `before`.
pub async fn purge_history(
    conn: &mut PgConnection,
    guild: Uuid,
    before: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "DELETE FROM member.members WHERE guild_id = $1 AND valid_to IS NOT NULL AND valid_to < $2",
    )
    .bind(guild)
    .bind(before)
    .execute(&mut *conn)
    .await?
    .rows_affected())
}

/// The members of `guild` as of `at`, by user id: current versions that started by then, and
/// closed versions whose validity covers `at` (each half served by its partial index).
pub async fn members_as_of(
    pool: &PgPool,
    guild: Uuid,
    at: DateTime<Utc>,
) -> Result<Vec<MemberState>, sqlx::Error> {
    let rows: Vec<MemberRow> = sqlx::query_as(
        "SELECT discord_user_id, username, global_name, nick, role_ids, is_bot, joined_at \
           FROM member.members WHERE guild_id = $1 AND valid_to IS NULL AND NOT banned AND valid_from <= $2 \
         UNION ALL \
         SELECT discord_user_id, username, global_name, nick, role_ids, is_bot, joined_at \
           FROM member.members \
          WHERE guild_id = $1 AND valid_to IS NOT NULL AND NOT banned AND valid_to > $2 AND valid_from <= $2 \
         ORDER BY discord_user_id",
    )
    .bind(guild)
    .bind(at)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(member_from).collect())
}

/// Current members of `guild`.
pub async fn current_count(pool: &PgPool, guild: Uuid) -> Result<u64, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM member.members WHERE guild_id = $1 AND valid_to IS NULL AND NOT banned",
    )
    .bind(guild)
    .fetch_one(pool)
    .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// One current member.
pub async fn member(
    pool: &PgPool,
    guild: Uuid,
    user: u64,
) -> Result<Option<MemberState>, sqlx::Error> {
    let row: Option<MemberRow> = sqlx::query_as(
        "SELECT discord_user_id, username, global_name, nick, role_ids, is_bot, joined_at \
           FROM member.members WHERE guild_id = $1 AND valid_to IS NULL AND NOT banned AND discord_user_id = $2",
    )
    .bind(guild)
    .bind(to_db(user))
    .fetch_optional(pool)
    .await?;
    Ok(row.map(member_from))
}

// ---------------------------------------------------------------- bans
// A ban is a `member.members` version with `banned = true` (see the migration
// `m20261206_000600_bans`): the same versioning as membership, its own current-row index.

type BanRow = (i64, String, Option<String>);

fn ban_from((uid, username, reason): BanRow) -> BanState {
    BanState {
        discord_user_id: from_db(uid),
        username,
        reason,
    }
}

/// Writes these bans (new or changed ones: a changed reason closes the old version).
pub async fn upsert_bans(
    conn: &mut PgConnection,
    guild: Uuid,
    bans: &[BanState],
) -> Result<WriteStats, sqlx::Error> {
    let mut last: HashMap<u64, &BanState> = HashMap::with_capacity(bans.len());
    for b in bans {
        last.insert(b.discord_user_id, b);
    }
    if last.is_empty() {
        return Ok(WriteStats::default());
    }
    let ids: Vec<i64> = last.keys().copied().map(to_db).collect();
    let current: Vec<(Uuid, i64, String, Option<String>)> = sqlx::query_as(
        "SELECT id, discord_user_id, username, ban_reason FROM member.members \
          WHERE guild_id = $1 AND valid_to IS NULL AND banned AND discord_user_id = ANY($2::bigint[])",
    )
    .bind(guild)
    .bind(&ids)
    .persistent(false)
    .fetch_all(&mut *conn)
    .await?;
    let mut close = Vec::new();
    let mut unchanged = HashSet::new();
    for (row, uid, username, reason) in current {
        let user = from_db(uid);
        match last.get(&user) {
            Some(b) if b.username == username && b.reason == reason => {
                unchanged.insert(user);
            }
            _ => close.push(row),
        }
    }
    let mut stats = WriteStats::default();
    if !close.is_empty() {
        stats.closed = sqlx::query(CLOSE_ROWS)
            .bind(&close)
            .bind("update")
            .persistent(false)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    }
    let writing: Vec<&BanState> = last
        .values()
        .filter(|b| !unchanged.contains(&b.discord_user_id))
        .copied()
        .collect();
    if writing.is_empty() {
        return Ok(stats);
    }
    let rows: Vec<Uuid> = writing.iter().map(|_| Uuid::now_v7()).collect();
    let uids: Vec<i64> = writing.iter().map(|b| to_db(b.discord_user_id)).collect();
    let names: Vec<&str> = writing.iter().map(|b| b.username.as_str()).collect();
    let reasons: Vec<Option<&str>> = writing.iter().map(|b| b.reason.as_deref()).collect();
    stats.written = sqlx::query(
        "INSERT INTO member.members (id, guild_id, discord_user_id, username, banned, ban_reason, valid_from, synced_at) \
         SELECT i.id, $1, i.uid, i.username, true, i.reason, now(), now() \
           FROM UNNEST($2::uuid[], $3::bigint[], $4::text[], $5::text[]) AS i(id, uid, username, reason)",
    )
    .bind(guild)
    .bind(&rows)
    .bind(&uids)
    .bind(&names)
    .bind(&reasons)
    .persistent(false)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(stats)
}

/// Sets the reason of current bans in place when it is not known yet (the audit-log entry of
/// a ban may come after the ban event; a reason is part of the ban, not a change of it).
pub async fn set_ban_reasons(
    conn: &mut PgConnection,
    guild: Uuid,
    reasons: &[(u64, String)],
) -> Result<u64, sqlx::Error> {
    if reasons.is_empty() {
        return Ok(0);
    }
    let uids: Vec<i64> = reasons.iter().map(|(u, _)| to_db(*u)).collect();
    let texts: Vec<&str> = reasons.iter().map(|(_, r)| r.as_str()).collect();
    Ok(sqlx::query(
        "UPDATE member.members AS m SET ban_reason = i.reason \
           FROM UNNEST($2::bigint[], $3::text[]) AS i(uid, reason) \
          WHERE m.guild_id = $1 AND m.valid_to IS NULL AND m.banned \
            AND m.discord_user_id = i.uid AND m.ban_reason IS NULL",
    )
    .bind(guild)
    .bind(&uids)
    .bind(&texts)
    .persistent(false)
    .execute(&mut *conn)
    .await?
    .rows_affected())
}

/// Closes the current bans of `users` (they were unbanned).
pub async fn remove_bans(
    conn: &mut PgConnection,
    guild: Uuid,
    users: &[u64],
) -> Result<WriteStats, sqlx::Error> {
    if users.is_empty() {
        return Ok(WriteStats::default());
    }
    close_current(conn, guild, users, true).await
}

/// Closes every current ban of `guild` whose user is not in `present` (a full ban list).
pub async fn retain_bans(
    conn: &mut PgConnection,
    guild: Uuid,
    present: &HashSet<u64>,
) -> Result<WriteStats, sqlx::Error> {
    let gone: Vec<u64> = current_users(conn, guild, true)
        .await?
        .into_iter()
        .filter(|u| !present.contains(u))
        .collect();
    remove_bans(conn, guild, &gone).await
}

/// The bans of `guild` as of `at`, by user id.
pub async fn bans_as_of(
    pool: &PgPool,
    guild: Uuid,
    at: DateTime<Utc>,
) -> Result<Vec<BanState>, sqlx::Error> {
    let rows: Vec<BanRow> = sqlx::query_as(
        "SELECT discord_user_id, username, ban_reason \
           FROM member.members WHERE guild_id = $1 AND valid_to IS NULL AND banned AND valid_from <= $2 \
         UNION ALL \
         SELECT discord_user_id, username, ban_reason \
           FROM member.members \
          WHERE guild_id = $1 AND valid_to IS NOT NULL AND banned AND valid_to > $2 AND valid_from <= $2 \
         ORDER BY discord_user_id",
    )
    .bind(guild)
    .bind(at)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(ban_from).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_stay_far_below_the_bind_parameter_limit() {
        for sql in [
            CURRENT_OF,
            CLOSE_ROWS,
            USER_LINKS,
            USER_LINKS_LOCKED,
            INSERT_VERSIONS,
            COPY_VERSIONS,
        ] {
            let highest = (1..=64)
                .filter(|n| sql.contains(&format!("${n}")))
                .max()
                .unwrap_or(0);
            assert!(highest <= MAX_BINDS_PER_STATEMENT, "{sql}");
        }
        const { assert!(MAX_BINDS_PER_STATEMENT < 65_535) };
    }

    #[test]
    fn copy_rows_escape_what_copy_text_format_needs() {
        let m = MemberState {
            discord_user_id: 7,
            username: "tab\there\\slash\nline".into(),
            global_name: None,
            nick: Some("ok".into()),
            role_ids: vec![1, 2],
            is_bot: true,
            joined_at: DateTime::from_timestamp(1_700_000_000, 123_456_000),
        };
        let guild = Uuid::nil();
        let row = copy_rows(guild, &[&m], &HashMap::new());
        let fields: Vec<&str> = row.trim_end_matches('\n').split('\t').collect();
        assert_eq!(fields.len(), 10, "{row}");
        assert_eq!(fields[3], "\\N");
        assert_eq!(fields[4], "tab\\there\\\\slash\\nline");
        assert_eq!(fields[5], "\\N");
        assert_eq!(&fields[7..], ["{1,2}", "t", "2023-11-14T22:13:20.123456Z"]);
    }

    #[test]
    fn a_member_given_twice_keeps_its_last_state() {
        let m = |nick: &str| MemberState {
            discord_user_id: 7,
            username: "u".into(),
            global_name: None,
            nick: Some(nick.into()),
            role_ids: vec![],
            is_bot: false,
            joined_at: None,
        };
        let input = vec![m("first"), m("second")];
        let kept = deduplicated(&input);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].nick.as_deref(), Some("second"));
    }
}
