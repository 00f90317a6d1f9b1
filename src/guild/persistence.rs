//! Purpose: the only code that writes `guild.guilds` and `guild.guild_configs`.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, QueryResult, Statement};
use uuid::Uuid;

use super::model::{
    AntinukeSettings, GuildRecord, GuildSettings, GuildStatus, InstallOutcome, InstalledGuild,
    PendingChange,
};
use crate::i18n::Locale;
use crate::ids::{from_db, to_db};

const GUILD_COLUMNS: &str = "g.id, g.discord_guild_id, u.discord_user_id AS owner_discord_id, \
                             g.name, g.status, g.installed_at, g.removed_at";

fn record(row: &QueryResult) -> Result<GuildRecord, DbErr> {
    Ok(GuildRecord {
        id: row.try_get("", "id")?,
        discord_id: from_db(row.try_get("", "discord_guild_id")?),
        owner_discord_id: from_db(row.try_get("", "owner_discord_id")?),
        name: row.try_get("", "name")?,
        status: GuildStatus::parse(&row.try_get::<String>("", "status")?),
        installed_at: row.try_get::<DateTime<Utc>>("", "installed_at")?,
        removed_at: row.try_get::<Option<DateTime<Utc>>>("", "removed_at")?,
    })
}

fn stmt(sql: &str, values: Vec<sea_orm::Value>) -> Statement {
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

/// The guild with this Discord id (`lock`: `FOR UPDATE` of the guild row, inside a transaction).
pub async fn find<C: ConnectionTrait>(
    conn: &C,
    discord_id: u64,
    lock: bool,
) -> Result<Option<GuildRecord>, DbErr> {
    let sql = format!(
        "SELECT {GUILD_COLUMNS} FROM guild.guilds AS g \
           JOIN identity.users AS u ON u.id = g.owner_user_id \
          WHERE g.discord_guild_id = $1 {}",
        if lock { "FOR UPDATE OF g" } else { "" }
    );
    let row = conn
        .query_one_raw(stmt(&sql, vec![to_db(discord_id).into()]))
        .await?;
    row.as_ref().map(record).transpose()
}

/// Active guilds matching `query` by name or id prefix.
pub async fn search<C: ConnectionTrait>(
    conn: &C,
    query: &str,
    limit: u32,
) -> Result<Vec<GuildRecord>, DbErr> {
    let sql = format!(
        "SELECT {GUILD_COLUMNS} FROM guild.guilds AS g \
           JOIN identity.users AS u ON u.id = g.owner_user_id \
          WHERE g.status = 'active' \
            AND (g.name ILIKE '%' || $1 || '%' OR g.discord_guild_id::text LIKE $1 || '%') \
          ORDER BY g.name LIMIT $2"
    );
    let escaped = query
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    let rows = conn
        .query_all_raw(stmt(&sql, vec![escaped.into(), i64::from(limit).into()]))
        .await?;
    rows.iter().map(record).collect()
}

/// The guild with this row id.
pub async fn find_by_row<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
) -> Result<Option<GuildRecord>, DbErr> {
    let sql = format!(
        "SELECT {GUILD_COLUMNS} FROM guild.guilds AS g \
           JOIN identity.users AS u ON u.id = g.owner_user_id WHERE g.id = $1"
    );
    let row = conn.query_one_raw(stmt(&sql, vec![id.into()])).await?;
    row.as_ref().map(record).transpose()
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
            txn.execute_raw(stmt(
                "INSERT INTO guild.guilds (id, discord_guild_id, owner_user_id, name, icon, status) \
                 VALUES ($1, $2, $3, $4, $5, 'active')",
                vec![
                    Uuid::now_v7().into(),
                    to_db(guild.discord_id).into(),
                    owner_user_id.into(),
                    guild.name.clone().into(),
                    guild.icon.clone().into(),
                ],
            ))
            .await?;
            (InstallOutcome::Installed, None)
        }
        Some(found) => {
            let reinstall = found.status == GuildStatus::Removed;
            txn.execute_raw(stmt(
                "UPDATE guild.guilds SET owner_user_id = $2, name = $3, icon = $4, \
                        status = 'active', removed_at = NULL, purge_after = NULL, \
                        installed_at = CASE WHEN $5 THEN now() ELSE installed_at END, \
                        updated_at = now() \
                  WHERE id = $1",
                vec![
                    found.id.into(),
                    owner_user_id.into(),
                    guild.name.clone().into(),
                    guild.icon.clone().into(),
                    reinstall.into(),
                ],
            ))
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
    txn.execute_raw(stmt(
        "INSERT INTO guild.guild_configs (id, guild_id) VALUES ($1, $2) ON CONFLICT (guild_id) DO NOTHING",
        vec![Uuid::now_v7().into(), record.id.into()],
    ))
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
    txn.execute_raw(stmt(
        "UPDATE guild.guilds SET name = $2, owner_user_id = $3, updated_at = now() WHERE id = $1",
        vec![found.id.into(), name.into(), owner_user_id.into()],
    ))
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
    let row = txn
        .query_one_raw(stmt(
            "UPDATE guild.guilds SET status = 'removed', removed_at = now(), \
                    purge_after = now() + make_interval(days => $2), updated_at = now() \
              WHERE discord_guild_id = $1 AND status = 'active' \
             RETURNING purge_after",
            vec![
                to_db(discord_id).into(),
                i32::try_from(grace_days).unwrap_or(i32::MAX).into(),
            ],
        ))
        .await?;
    let Some(row) = row else { return Ok(None) };
    let purge_after: DateTime<Utc> = row.try_get("", "purge_after")?;
    let record = find(txn, discord_id, false)
        .await?
        .ok_or(DbErr::RecordNotFound("guild just removed".into()))?;
    Ok(Some((record, purge_after)))
}

/// Deletes removed guilds whose grace period is over (and, by cascade, their operational
/// data). Guilds with billing history are kept (the billing rows' foreign keys restrict).
/// Returns the Discord ids purged.
pub async fn purge_due<C: ConnectionTrait>(conn: &C, limit: u32) -> Result<Vec<u64>, DbErr> {
    let rows = conn
        .query_all_raw(stmt(
            "DELETE FROM guild.guilds AS g \
              WHERE g.id IN (SELECT id FROM guild.guilds \
                              WHERE status = 'removed' AND purge_after < now() \
                                AND NOT EXISTS (SELECT 1 FROM billing.subscriptions AS s WHERE s.guild_id = guild.guilds.id) \
                              ORDER BY purge_after LIMIT $1 FOR UPDATE SKIP LOCKED) \
             RETURNING g.discord_guild_id",
            vec![i64::from(limit).into()],
        ))
        .await?;
    rows.iter()
        .map(|r| r.try_get::<i64>("", "discord_guild_id").map(from_db))
        .collect()
}

fn settings_from(row: &QueryResult) -> Result<(Uuid, i32, GuildSettings), DbErr> {
    let locale: Option<String> = row.try_get("", "locale")?;
    let settings = GuildSettings {
        locale: locale.as_deref().and_then(Locale::from_discord),
        log_channel_id: row
            .try_get::<Option<i64>>("", "log_channel_id")?
            .map(from_db),
        trusted_user_ids: row
            .try_get::<Vec<i64>>("", "trusted_user_ids")?
            .into_iter()
            .map(from_db)
            .collect(),
        trusted_role_ids: row
            .try_get::<Vec<i64>>("", "trusted_role_ids")?
            .into_iter()
            .map(from_db)
            .collect(),
        snapshot_interval_minutes: row.try_get("", "snapshot_interval_minutes")?,
        antinuke_enabled: row.try_get("", "antinuke_enabled")?,
    };
    Ok((
        row.try_get("", "id")?,
        row.try_get("", "version")?,
        settings,
    ))
}

/// The guild's settings with the config row's id and version (`None`: unknown guild or no row).
pub async fn settings<C: ConnectionTrait>(
    conn: &C,
    discord_id: u64,
    lock: bool,
) -> Result<Option<(Uuid, i32, GuildSettings)>, DbErr> {
    let sql = format!(
        "SELECT c.id, c.version, c.locale, c.log_channel_id, c.trusted_user_ids, c.trusted_role_ids, \
                c.snapshot_interval_minutes, c.antinuke_enabled \
           FROM guild.guild_configs AS c JOIN guild.guilds AS g ON g.id = c.guild_id \
          WHERE g.discord_guild_id = $1 {}",
        if lock { "FOR UPDATE OF c" } else { "" }
    );
    let row = conn
        .query_one_raw(stmt(&sql, vec![to_db(discord_id).into()]))
        .await?;
    row.as_ref().map(settings_from).transpose()
}

/// Writes the owner-editable settings of config row `id` if its version is still `version`.
/// Returns false on a concurrent change.
pub async fn save_settings<C: ConnectionTrait>(
    txn: &C,
    id: Uuid,
    version: i32,
    s: &GuildSettings,
) -> Result<bool, DbErr> {
    let done = txn
        .execute_raw(stmt(
            "UPDATE guild.guild_configs SET locale = $3, log_channel_id = $4, trusted_user_ids = $5, \
                    trusted_role_ids = $6, snapshot_interval_minutes = $7, version = version + 1, updated_at = now() \
              WHERE id = $1 AND version = $2",
            vec![
                id.into(),
                version.into(),
                s.locale.map(|l| l.code().to_owned()).into(),
                s.log_channel_id.map(to_db).into(),
                s.trusted_user_ids.iter().copied().map(to_db).collect::<Vec<i64>>().into(),
                s.trusted_role_ids.iter().copied().map(to_db).collect::<Vec<i64>>().into(),
                s.snapshot_interval_minutes.into(),
            ],
        ))
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The guild's AntiNuke settings with the config row's id and version (`None`: unknown guild or
/// no row). Unreadable stored thresholds count as none (the defaults apply).
pub async fn antinuke<C: ConnectionTrait>(
    conn: &C,
    discord_id: u64,
    lock: bool,
) -> Result<Option<(Uuid, i32, AntinukeSettings)>, DbErr> {
    let sql = format!(
        "SELECT c.id, c.version, c.antinuke_enabled, c.antinuke_thresholds, c.antinuke_punishment, \
                c.antinuke_quarantine_role_id, c.antinuke_lockdown, c.antinuke_auto_revert, \
                c.antinuke_whitelist_user_ids, c.antinuke_whitelist_role_ids \
           FROM guild.guild_configs AS c JOIN guild.guilds AS g ON g.id = c.guild_id \
          WHERE g.discord_guild_id = $1 {}",
        if lock { "FOR UPDATE OF c" } else { "" }
    );
    let Some(row) = conn
        .query_one_raw(stmt(&sql, vec![to_db(discord_id).into()]))
        .await?
    else {
        return Ok(None);
    };
    let ids = |col: &str| -> Result<Vec<u64>, DbErr> {
        Ok(row
            .try_get::<Vec<i64>>("", col)?
            .into_iter()
            .map(from_db)
            .collect())
    };
    let thresholds: serde_json::Value = row.try_get("", "antinuke_thresholds")?;
    let settings = AntinukeSettings {
        enabled: row.try_get("", "antinuke_enabled")?,
        thresholds: serde_json::from_value(thresholds).unwrap_or_default(),
        punishment: row.try_get("", "antinuke_punishment")?,
        quarantine_role_id: row
            .try_get::<Option<i64>>("", "antinuke_quarantine_role_id")?
            .map(from_db),
        lockdown: row.try_get("", "antinuke_lockdown")?,
        auto_revert: row.try_get("", "antinuke_auto_revert")?,
        whitelist_user_ids: ids("antinuke_whitelist_user_ids")?,
        whitelist_role_ids: ids("antinuke_whitelist_role_ids")?,
    };
    Ok(Some((
        row.try_get("", "id")?,
        row.try_get("", "version")?,
        settings,
    )))
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
    let done = txn
        .execute_raw(stmt(
            "UPDATE guild.guild_configs SET antinuke_enabled = $3, antinuke_thresholds = $4, \
                    antinuke_punishment = $5, antinuke_quarantine_role_id = $6, antinuke_lockdown = $7, \
                    antinuke_auto_revert = $8, antinuke_whitelist_user_ids = $9, \
                    antinuke_whitelist_role_ids = $10, version = version + 1, updated_at = now() \
              WHERE id = $1 AND version = $2",
            vec![
                id.into(),
                version.into(),
                s.enabled.into(),
                thresholds.into(),
                s.punishment.clone().into(),
                s.quarantine_role_id.map(to_db).into(),
                s.lockdown.into(),
                s.auto_revert.into(),
                s.whitelist_user_ids.iter().copied().map(to_db).collect::<Vec<i64>>().into(),
                s.whitelist_role_ids.iter().copied().map(to_db).collect::<Vec<i64>>().into(),
            ],
        ))
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The guild's AntiNuke changes waiting for the owner's approval, with the config row's id
/// (`None`: unknown guild or no row). `lock`: `FOR UPDATE` (inside a transaction). Unreadable
/// entries are dropped.
pub async fn pending_changes<C: ConnectionTrait>(
    conn: &C,
    discord_id: u64,
    lock: bool,
) -> Result<Option<(Uuid, Vec<PendingChange>)>, DbErr> {
    let sql = format!(
        "SELECT c.id, c.pending_changes FROM guild.guild_configs AS c \
           JOIN guild.guilds AS g ON g.id = c.guild_id \
          WHERE g.discord_guild_id = $1 {}",
        if lock { "FOR UPDATE OF c" } else { "" }
    );
    let Some(row) = conn
        .query_one_raw(stmt(&sql, vec![to_db(discord_id).into()]))
        .await?
    else {
        return Ok(None);
    };
    let stored: serde_json::Value = row.try_get("", "pending_changes")?;
    let list = stored
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| serde_json::from_value(v.clone()).ok())
        .collect();
    Ok(Some((row.try_get("", "id")?, list)))
}

/// Replaces the pending changes of config row `id`.
pub async fn save_pending_changes<C: ConnectionTrait>(
    txn: &C,
    id: Uuid,
    list: &[PendingChange],
) -> Result<(), DbErr> {
    let value = serde_json::to_value(list)
        .map_err(|e| DbErr::Custom(format!("encoding pending changes: {e}")))?;
    txn.execute_raw(stmt(
        "UPDATE guild.guild_configs SET pending_changes = $2, updated_at = now() WHERE id = $1",
        vec![id.into(), value.into()],
    ))
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
    let Some(row) = txn
        .query_one_raw(stmt(
            "SELECT c.id, c.protection_health FROM guild.guild_configs AS c \
               JOIN guild.guilds AS g ON g.id = c.guild_id \
              WHERE g.discord_guild_id = $1 FOR UPDATE OF c",
            vec![to_db(discord_id).into()],
        ))
        .await?
    else {
        return Ok(None);
    };
    let id: Uuid = row.try_get("", "id")?;
    let previous: Option<serde_json::Value> = row.try_get("", "protection_health")?;
    if previous.as_ref() == Some(health) {
        return Ok(Some((previous, false)));
    }
    txn.execute_raw(stmt(
        "UPDATE guild.guild_configs SET protection_health = $2, updated_at = now() WHERE id = $1",
        vec![id.into(), health.clone().into()],
    ))
    .await?;
    Ok(Some((previous, true)))
}
