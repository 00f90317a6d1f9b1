//! Purpose: the only code that writes `guild.guilds` and `guild.guild_configs`, through the
//! `entity` crate. A guild's record carries its owner's Discord id, read with a join to
//! `identity.users` (the owner foreign key the seed draws).

use chrono::{DateTime, Utc};
use entity::guild::{guild_configs, guilds};
use entity::identity::users;
use sea_orm::sea_query::extension::postgres::PgExpr;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, LikeExpr, LockType};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, FromQueryResult,
    JoinType, QueryFilter, QueryOrder, QuerySelect, QueryTrait, RelationTrait, Select,
};
use uuid::Uuid;

use super::model::{
    AntinukeSettings, GuildRecord, GuildSettings, GuildStatus, InstallOutcome, InstalledGuild,
    PendingChange,
};
use crate::i18n::Locale;
use crate::ids::{from_db, to_db};

fn now() -> Expr {
    Expr::cust("now()")
}

/// A guild with its owner's Discord id.
#[derive(Debug, FromQueryResult)]
struct GuildRow {
    id: Uuid,
    discord_guild_id: i64,
    owner_discord_id: i64,
    name: String,
    status: String,
    installed_at: DateTime<Utc>,
    removed_at: Option<DateTime<Utc>>,
}

impl From<GuildRow> for GuildRecord {
    fn from(r: GuildRow) -> Self {
        GuildRecord {
            id: r.id,
            discord_id: from_db(r.discord_guild_id),
            owner_discord_id: from_db(r.owner_discord_id),
            name: r.name,
            status: GuildStatus::parse(&r.status),
            installed_at: r.installed_at,
            removed_at: r.removed_at,
        }
    }
}

fn records() -> Select<guilds::Entity> {
    guilds::Entity::find()
        .select_only()
        .columns([
            guilds::Column::Id,
            guilds::Column::DiscordGuildId,
            guilds::Column::Name,
            guilds::Column::Status,
            guilds::Column::InstalledAt,
            guilds::Column::RemovedAt,
        ])
        .column_as(users::Column::DiscordUserId, "owner_discord_id")
        .join(JoinType::InnerJoin, guilds::Relation::Owner.def())
}

/// `FOR UPDATE OF <table>` (PostgreSQL wants the unqualified name there).
fn lock_rows_of<Q: QueryTrait<QueryStatement = sea_orm::sea_query::SelectStatement>>(
    mut query: Q,
    table: &str,
    lock: bool,
) -> Q {
    if lock {
        query
            .query()
            .lock_with_tables(LockType::Update, [Alias::new(table)]);
    }
    query
}

/// The guild with this Discord id (`lock`: `FOR UPDATE` of the guild row, inside a transaction).
pub async fn find<C: ConnectionTrait>(
    conn: &C,
    discord_id: u64,
    lock: bool,
) -> Result<Option<GuildRecord>, DbErr> {
    let query = records().filter(guilds::Column::DiscordGuildId.eq(to_db(discord_id)));
    let row = lock_rows_of(query, "guilds", lock)
        .into_model::<GuildRow>()
        .one(conn)
        .await?;
    Ok(row.map(Into::into))
}

/// Active guilds matching `query` by name or id prefix (`%` and `_` in it match themselves).
pub async fn search<C: ConnectionTrait>(
    conn: &C,
    query: &str,
    limit: u32,
) -> Result<Vec<GuildRecord>, DbErr> {
    let escaped = query
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    let name = Expr::col((guilds::Entity, guilds::Column::Name))
        .ilike(LikeExpr::new(format!("%{escaped}%")).escape('\\'));
    let id = Expr::col((guilds::Entity, guilds::Column::DiscordGuildId))
        .cast_as(Alias::new("text"))
        .like(LikeExpr::new(format!("{escaped}%")).escape('\\'));
    let rows = records()
        .filter(guilds::Column::Status.eq("active"))
        .filter(Condition::any().add(name).add(id))
        .order_by_asc(guilds::Column::Name)
        .limit(u64::from(limit))
        .into_model::<GuildRow>()
        .all(conn)
        .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// The guild with this row id.
pub async fn find_by_row<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
) -> Result<Option<GuildRecord>, DbErr> {
    let row = records()
        .filter(guilds::Column::Id.eq(id))
        .into_model::<GuildRow>()
        .one(conn)
        .await?;
    Ok(row.map(Into::into))
}

/// Active guilds owned by the Discord user `owner`, by name.
pub async fn owned_by<C: ConnectionTrait>(conn: &C, owner: u64) -> Result<Vec<GuildRecord>, DbErr> {
    let rows = records()
        .filter(users::Column::DiscordUserId.eq(to_db(owner)))
        .filter(guilds::Column::Status.eq("active"))
        .order_by_asc(guilds::Column::Name)
        .into_model::<GuildRow>()
        .all(conn)
        .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// How many guilds are active (the operator page).
pub async fn active_count<C: ConnectionTrait>(conn: &C) -> Result<u64, DbErr> {
    use sea_orm::PaginatorTrait;
    guilds::Entity::find()
        .filter(guilds::Column::Status.eq("active"))
        .count(conn)
        .await
}

/// Active guilds among these row ids, by name.
pub async fn active_rows<C: ConnectionTrait>(
    conn: &C,
    ids: &[Uuid],
) -> Result<Vec<GuildRecord>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = records()
        .filter(guilds::Column::Id.is_in(ids.iter().copied()))
        .filter(guilds::Column::Status.eq("active"))
        .order_by_asc(guilds::Column::Name)
        .into_model::<GuildRow>()
        .all(conn)
        .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// Records the guild as installed (insert, re-activate, or refresh name/icon/owner) and makes
/// sure it has a config row. Returns the record, what happened, and the previous owner when
/// the owner changed. Call inside a transaction.
pub async fn upsert_installed<C: ConnectionTrait>(
    txn: &C,
    guild: &InstalledGuild,
    owner_user_id: Uuid,
) -> Result<(GuildRecord, InstallOutcome, Option<u64>), DbErr> {
    let existing = find(txn, guild.discord_id, true).await?;
    let (outcome, previous_owner) = match &existing {
        None => {
            guilds::Entity::insert(guilds::ActiveModel {
                id: Set(Uuid::now_v7()),
                discord_guild_id: Set(to_db(guild.discord_id)),
                owner_user_id: Set(owner_user_id),
                name: Set(guild.name.clone()),
                icon: Set(guild.icon.clone()),
                status: Set("active".into()),
                ..Default::default()
            })
            .exec_without_returning(txn)
            .await?;
            (InstallOutcome::Installed, None)
        }
        Some(found) => {
            let reinstall = found.status == GuildStatus::Removed;
            let mut update = guilds::Entity::update_many()
                .col_expr(guilds::Column::OwnerUserId, Expr::value(owner_user_id))
                .col_expr(guilds::Column::Name, Expr::value(guild.name.clone()))
                .col_expr(guilds::Column::Icon, Expr::value(guild.icon.clone()))
                .col_expr(guilds::Column::Status, Expr::value("active"))
                .col_expr(
                    guilds::Column::RemovedAt,
                    Expr::value(None::<DateTime<Utc>>),
                )
                .col_expr(
                    guilds::Column::PurgeAfter,
                    Expr::value(None::<DateTime<Utc>>),
                )
                .col_expr(guilds::Column::UpdatedAt, now());
            if reinstall {
                update = update.col_expr(guilds::Column::InstalledAt, now());
            }
            update
                .filter(guilds::Column::Id.eq(found.id))
                .exec(txn)
                .await?;
            let previous = (found.owner_discord_id != guild.owner.discord_id)
                .then_some(found.owner_discord_id);
            let outcome = if reinstall {
                InstallOutcome::Reinstalled
            } else {
                InstallOutcome::Refreshed
            };
            (outcome, previous)
        }
    };
    let record = find(txn, guild.discord_id, false)
        .await?
        .ok_or(DbErr::RecordNotFound("guild just written".into()))?;
    guild_configs::Entity::insert(guild_configs::ActiveModel {
        id: Set(Uuid::now_v7()),
        guild_id: Set(record.id),
        ..Default::default()
    })
    .on_conflict_do_nothing_on([guild_configs::Column::GuildId])
    .exec_without_returning(txn)
    .await?;
    Ok((record, outcome, previous_owner))
}

/// Updates name and owner from a GUILD_UPDATE. Returns the previous owner when it changed.
pub async fn update_details<C: ConnectionTrait>(
    txn: &C,
    discord_id: u64,
    name: &str,
    owner_user_id: Uuid,
    owner_discord_id: u64,
) -> Result<Option<(GuildRecord, Option<u64>)>, DbErr> {
    let Some(found) = find(txn, discord_id, true).await? else {
        return Ok(None);
    };
    guilds::Entity::update_many()
        .col_expr(guilds::Column::Name, Expr::value(name))
        .col_expr(guilds::Column::OwnerUserId, Expr::value(owner_user_id))
        .col_expr(guilds::Column::UpdatedAt, now())
        .filter(guilds::Column::Id.eq(found.id))
        .exec(txn)
        .await?;
    let previous = (found.owner_discord_id != owner_discord_id).then_some(found.owner_discord_id);
    Ok(Some((found, previous)))
}

/// Marks the guild removed; its data is purged after `grace_days`. `None` if it was not active.
pub async fn mark_removed<C: ConnectionTrait>(
    txn: &C,
    discord_id: u64,
    grace_days: u32,
) -> Result<Option<(GuildRecord, DateTime<Utc>)>, DbErr> {
    let days = i32::try_from(grace_days).unwrap_or(i32::MAX);
    let removed = guilds::Entity::update_many()
        .col_expr(guilds::Column::Status, Expr::value("removed"))
        .col_expr(guilds::Column::RemovedAt, now())
        .col_expr(
            guilds::Column::PurgeAfter,
            Expr::cust_with_values("now() + make_interval(days => $1)", [days]),
        )
        .col_expr(guilds::Column::UpdatedAt, now())
        .filter(guilds::Column::DiscordGuildId.eq(to_db(discord_id)))
        .filter(guilds::Column::Status.eq("active"))
        .exec_with_returning(txn)
        .await?;
    let Some(purge_after) = removed.first().and_then(|g| g.purge_after) else {
        return Ok(None);
    };
    let record = find(txn, discord_id, false)
        .await?
        .ok_or(DbErr::RecordNotFound("guild just removed".into()))?;
    Ok(Some((record, purge_after.with_timezone(&Utc))))
}

/// Up to `limit` removed guilds whose grace period is over: (row id, Discord id), oldest first.
pub async fn due_for_purge<C: ConnectionTrait>(
    conn: &C,
    limit: u32,
) -> Result<Vec<(Uuid, u64)>, DbErr> {
    let rows = guilds::Entity::find()
        .filter(guilds::Column::Status.eq("removed"))
        .filter(Expr::col((guilds::Entity, guilds::Column::PurgeAfter)).lt(now()))
        .order_by_asc(guilds::Column::PurgeAfter)
        .limit(u64::from(limit))
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|g| (g.id, from_db(g.discord_guild_id)))
        .collect())
}

/// Deletes the removed guild `id` if its grace period is still over (and, by cascade, its
/// operational data). `false` when it was re-installed or purged meanwhile. Rows that must
/// outlive the guild (billing history) make the delete fail on their foreign key.
pub async fn purge<C: ConnectionTrait>(txn: &C, id: Uuid) -> Result<bool, DbErr> {
    let done = guilds::Entity::delete_many()
        .filter(guilds::Column::Id.eq(id))
        .filter(guilds::Column::Status.eq("removed"))
        .filter(Expr::col((guilds::Entity, guilds::Column::PurgeAfter)).lt(now()))
        .exec(txn)
        .await?;
    Ok(done.rows_affected == 1)
}

/// Moves a removed guild's purge `days` later (it is kept: something still refers to it).
pub async fn postpone_purge<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    days: i32,
) -> Result<(), DbErr> {
    guilds::Entity::update_many()
        .col_expr(
            guilds::Column::PurgeAfter,
            Expr::cust_with_values("now() + make_interval(days => $1)", [days]),
        )
        .col_expr(guilds::Column::UpdatedAt, now())
        .filter(guilds::Column::Id.eq(id))
        .filter(guilds::Column::Status.eq("removed"))
        .exec(conn)
        .await?;
    Ok(())
}

/// The config row of the guild with this Discord id (`lock`: `FOR UPDATE` of the config row).
async fn config<C: ConnectionTrait>(
    conn: &C,
    discord_id: u64,
    lock: bool,
) -> Result<Option<guild_configs::Model>, DbErr> {
    let query = guild_configs::Entity::find()
        .join(JoinType::InnerJoin, guild_configs::Relation::Guild.def())
        .filter(guilds::Column::DiscordGuildId.eq(to_db(discord_id)));
    lock_rows_of(query, "guild_configs", lock).one(conn).await
}

fn ids(stored: &[i64]) -> Vec<u64> {
    stored.iter().copied().map(from_db).collect()
}

fn stored_ids(ids: &[u64]) -> Vec<i64> {
    ids.iter().copied().map(to_db).collect()
}

/// The guild's settings with the config row's id and version (`None`: unknown guild or no row).
pub async fn settings<C: ConnectionTrait>(
    conn: &C,
    discord_id: u64,
    lock: bool,
) -> Result<Option<(Uuid, i32, GuildSettings)>, DbErr> {
    Ok(config(conn, discord_id, lock).await?.map(|c| {
        let settings = GuildSettings {
            locale: c.locale.as_deref().and_then(Locale::from_discord),
            log_channel_id: c.log_channel_id.map(from_db),
            trusted_user_ids: ids(&c.trusted_user_ids),
            trusted_role_ids: ids(&c.trusted_role_ids),
            snapshot_interval_minutes: c.snapshot_interval_minutes,
            antinuke_enabled: c.antinuke_enabled,
            web_join_enabled: c.web_join_enabled,
            web_join_role_id: c.web_join_role_id.map(from_db),
            message_channel_ids: ids(&c.message_channel_ids),
            message_limit: c.message_limit.and_then(|n| u32::try_from(n).ok()),
        };
        (c.id, c.version, settings)
    }))
}

/// An update of config row `id` only while its version is still `version` (optimistic
/// concurrency); it bumps the version.
fn versioned(id: Uuid, version: i32) -> sea_orm::UpdateMany<guild_configs::Entity> {
    guild_configs::Entity::update_many()
        .col_expr(
            guild_configs::Column::Version,
            Expr::col(guild_configs::Column::Version).add(1),
        )
        .col_expr(guild_configs::Column::UpdatedAt, now())
        .filter(guild_configs::Column::Id.eq(id))
        .filter(guild_configs::Column::Version.eq(version))
}

/// Writes the owner-editable settings of config row `id` if its version is still `version`.
/// Returns false on a concurrent change.
pub async fn save_settings<C: ConnectionTrait>(
    txn: &C,
    id: Uuid,
    version: i32,
    s: &GuildSettings,
) -> Result<bool, DbErr> {
    let done = versioned(id, version)
        .col_expr(
            guild_configs::Column::Locale,
            Expr::value(s.locale.map(|l| l.code().to_owned())),
        )
        .col_expr(
            guild_configs::Column::LogChannelId,
            Expr::value(s.log_channel_id.map(to_db)),
        )
        .col_expr(
            guild_configs::Column::TrustedUserIds,
            Expr::value(stored_ids(&s.trusted_user_ids)),
        )
        .col_expr(
            guild_configs::Column::TrustedRoleIds,
            Expr::value(stored_ids(&s.trusted_role_ids)),
        )
        .col_expr(
            guild_configs::Column::SnapshotIntervalMinutes,
            Expr::value(s.snapshot_interval_minutes),
        )
        .col_expr(
            guild_configs::Column::WebJoinEnabled,
            Expr::value(s.web_join_enabled),
        )
        .col_expr(
            guild_configs::Column::WebJoinRoleId,
            Expr::value(s.web_join_role_id.map(to_db)),
        )
        .col_expr(
            guild_configs::Column::MessageChannelIds,
            Expr::value(stored_ids(&s.message_channel_ids)),
        )
        .col_expr(
            guild_configs::Column::MessageLimit,
            Expr::value(s.message_limit.and_then(|n| i32::try_from(n).ok())),
        )
        .exec(txn)
        .await?;
    Ok(done.rows_affected == 1)
}

/// The guild's AntiNuke settings with the config row's id and version (`None`: unknown guild or
/// no row). Unreadable stored thresholds count as none (the defaults apply).
pub async fn antinuke<C: ConnectionTrait>(
    conn: &C,
    discord_id: u64,
    lock: bool,
) -> Result<Option<(Uuid, i32, AntinukeSettings)>, DbErr> {
    Ok(config(conn, discord_id, lock).await?.map(|c| {
        let settings = AntinukeSettings {
            enabled: c.antinuke_enabled,
            thresholds: serde_json::from_value(c.antinuke_thresholds).unwrap_or_default(),
            punishment: c.antinuke_punishment,
            quarantine_role_id: c.antinuke_quarantine_role_id.map(from_db),
            lockdown: c.antinuke_lockdown,
            auto_revert: c.antinuke_auto_revert,
            whitelist_user_ids: ids(&c.antinuke_whitelist_user_ids),
            whitelist_role_ids: ids(&c.antinuke_whitelist_role_ids),
        };
        (c.id, c.version, settings)
    }))
}

/// Writes the AntiNuke settings of config row `id` if its version is still `version`.
/// Returns false on a concurrent change.
pub async fn save_antinuke<C: ConnectionTrait>(
    txn: &C,
    id: Uuid,
    version: i32,
    s: &AntinukeSettings,
) -> Result<bool, DbErr> {
    let thresholds = serde_json::to_value(&s.thresholds)
        .map_err(|e| DbErr::Custom(format!("encoding AntiNuke thresholds: {e}")))?;
    let done = versioned(id, version)
        .col_expr(
            guild_configs::Column::AntinukeEnabled,
            Expr::value(s.enabled),
        )
        .col_expr(
            guild_configs::Column::AntinukeThresholds,
            Expr::value(thresholds),
        )
        .col_expr(
            guild_configs::Column::AntinukePunishment,
            Expr::value(s.punishment.clone()),
        )
        .col_expr(
            guild_configs::Column::AntinukeQuarantineRoleId,
            Expr::value(s.quarantine_role_id.map(to_db)),
        )
        .col_expr(
            guild_configs::Column::AntinukeLockdown,
            Expr::value(s.lockdown),
        )
        .col_expr(
            guild_configs::Column::AntinukeAutoRevert,
            Expr::value(s.auto_revert),
        )
        .col_expr(
            guild_configs::Column::AntinukeWhitelistUserIds,
            Expr::value(stored_ids(&s.whitelist_user_ids)),
        )
        .col_expr(
            guild_configs::Column::AntinukeWhitelistRoleIds,
            Expr::value(stored_ids(&s.whitelist_role_ids)),
        )
        .exec(txn)
        .await?;
    Ok(done.rows_affected == 1)
}

/// The guild's AntiNuke changes waiting for the owner's approval, with the config row's id
/// (`None`: unknown guild or no row). `lock`: `FOR UPDATE` (inside a transaction). Unreadable
/// entries are dropped.
pub async fn pending_changes<C: ConnectionTrait>(
    conn: &C,
    discord_id: u64,
    lock: bool,
) -> Result<Option<(Uuid, Vec<PendingChange>)>, DbErr> {
    Ok(config(conn, discord_id, lock).await?.map(|c| {
        let list = c
            .pending_changes
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| serde_json::from_value(v.clone()).ok())
            .collect();
        (c.id, list)
    }))
}

/// Replaces the pending changes of config row `id`.
pub async fn save_pending_changes<C: ConnectionTrait>(
    txn: &C,
    id: Uuid,
    list: &[PendingChange],
) -> Result<(), DbErr> {
    let value = serde_json::to_value(list)
        .map_err(|e| DbErr::Custom(format!("encoding pending changes: {e}")))?;
    guild_configs::Entity::update_many()
        .col_expr(guild_configs::Column::PendingChanges, Expr::value(value))
        .col_expr(guild_configs::Column::UpdatedAt, now())
        .filter(guild_configs::Column::Id.eq(id))
        .exec(txn)
        .await?;
    Ok(())
}

/// Stores the guild's protection health when it differs from the stored one; returns the
/// previous value (`Ok(None)`: unknown guild; `Some(None)`: never checked) and whether it was
/// written.
pub async fn swap_protection_health<C: ConnectionTrait>(
    txn: &C,
    discord_id: u64,
    health: &serde_json::Value,
) -> Result<Option<(Option<serde_json::Value>, bool)>, DbErr> {
    let Some(c) = config(txn, discord_id, true).await? else {
        return Ok(None);
    };
    let previous = c.protection_health;
    if previous.as_ref() == Some(health) {
        return Ok(Some((previous, false)));
    }
    guild_configs::Entity::update_many()
        .col_expr(
            guild_configs::Column::ProtectionHealth,
            Expr::value(health.clone()),
        )
        .col_expr(guild_configs::Column::UpdatedAt, now())
        .filter(guild_configs::Column::Id.eq(c.id))
        .exec(txn)
        .await?;
    Ok(Some((previous, true)))
}
