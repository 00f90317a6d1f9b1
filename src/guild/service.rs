//! Purpose: guild use cases — lifecycle from gateway events, settings changes by the owner, the
//! retention purge — each change committed with its outbox event.

use async_trait::async_trait;
use sea_orm::{DatabaseConnection, TransactionTrait};
use serde_json::json;

use super::model::{
    AntinukeChange, AntinukeSettings, GuildRecord, GuildSettings, InstallOutcome, InstalledGuild,
    MAX_TRUSTED, TrustTarget,
};
use super::persistence;
use super::ports::{GuildError, GuildReader};
use crate::i18n::Locale;
use crate::identity::{self, UserProfile};
use crate::ids::to_db;
use crate::outbox::{self, NewEvent, event_types};

/// The result of a trust change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustChange {
    Added,
    Removed,
    AlreadyTrusted,
    NotTrusted,
    LimitReached,
}

/// A settings change requested by someone.
#[derive(Debug, Clone, PartialEq)]
pub enum SettingsChange {
    Locale(Option<Locale>),
    LogChannel(Option<u64>),
    Trust(TrustTarget),
    Untrust(TrustTarget),
    /// Minutes between scheduled snapshots (`None`: off); the caller bounds it by the plan.
    SnapshotInterval(Option<i32>),
    Reset,
}

#[derive(Clone)]
pub struct GuildService {
    db: DatabaseConnection,
    grace_days: u32,
}

impl GuildService {
    pub fn new(db: DatabaseConnection, grace_days: u32) -> Self {
        Self { db, grace_days }
    }

    /// The bot is in this guild (GUILD_CREATE, also at start-up): record it, its owner and a
    /// default config; publish `guild.installed` on a first install or re-install and
    /// `guild.owner_changed` when the owner differs from the recorded one.
    pub async fn installed(
        &self,
        guild: &InstalledGuild,
    ) -> Result<(GuildRecord, InstallOutcome), GuildError> {
        let txn = self.db.begin().await?;
        let owner_id = identity::ensure_user(&txn, &guild.owner).await?;
        let (record, outcome, previous_owner) =
            persistence::upsert_installed(&txn, guild, owner_id).await?;
        if outcome != InstallOutcome::Refreshed {
            outbox::append(
                &txn,
                NewEvent::new(
                    event_types::GUILD_INSTALLED,
                    "guild",
                    guild.discord_id.to_string(),
                    json!({
                        "name": guild.name,
                        "owner_discord_id": guild.owner.discord_id.to_string(),
                        "reinstalled": outcome == InstallOutcome::Reinstalled,
                    }),
                )
                .in_guild(to_db(guild.discord_id)),
            )
            .await?;
        }
        if let Some(previous) = previous_owner {
            append_owner_changed(&txn, guild.discord_id, previous, guild.owner.discord_id).await?;
        }
        txn.commit().await?;
        Ok((record, outcome))
    }

    /// GUILD_UPDATE: name and owner.
    pub async fn updated(
        &self,
        discord_id: u64,
        name: &str,
        owner: &UserProfile,
    ) -> Result<(), GuildError> {
        let txn = self.db.begin().await?;
        let owner_id = identity::ensure_user(&txn, owner).await?;
        if let Some((_, Some(previous))) =
            persistence::update_details(&txn, discord_id, name, owner_id, owner.discord_id).await?
        {
            append_owner_changed(&txn, discord_id, previous, owner.discord_id).await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// The bot left or was removed: keep the data for the grace period, then purge.
    pub async fn removed(&self, discord_id: u64) -> Result<bool, GuildError> {
        let txn = self.db.begin().await?;
        let Some((record, purge_after)) =
            persistence::mark_removed(&txn, discord_id, self.grace_days).await?
        else {
            txn.rollback().await?;
            return Ok(false);
        };
        outbox::append(
            &txn,
            NewEvent::new(
                event_types::GUILD_REMOVED,
                "guild",
                discord_id.to_string(),
                json!({
                    "name": record.name,
                    "owner_discord_id": record.owner_discord_id.to_string(),
                    "purge_after": purge_after,
                }),
            )
            .in_guild(to_db(discord_id)),
        )
        .await?;
        txn.commit().await?;
        Ok(true)
    }

    /// Purges guilds whose grace period ended. Returns how many.
    pub async fn purge_due(&self) -> Result<usize, GuildError> {
        let txn = self.db.begin().await?;
        let purged = persistence::purge_due(&txn, 100).await?;
        for discord_id in &purged {
            outbox::append(
                &txn,
                NewEvent::new(
                    event_types::GUILD_PURGED,
                    "guild",
                    discord_id.to_string(),
                    json!({}),
                )
                .in_guild(to_db(*discord_id)),
            )
            .await?;
        }
        txn.commit().await?;
        Ok(purged.len())
    }

    /// Applies a settings change by `actor` (already authorized by the caller).
    pub async fn change_settings(
        &self,
        discord_id: u64,
        actor: u64,
        change: SettingsChange,
    ) -> Result<(GuildSettings, TrustChange), GuildError> {
        let txn = self.db.begin().await?;
        let Some((config_id, version, mut settings)) =
            persistence::settings(&txn, discord_id, true).await?
        else {
            return Err(GuildError::UnknownGuild(discord_id));
        };
        let mut result = TrustChange::Added;
        let (field, value) = match &change {
            SettingsChange::Locale(locale) => {
                settings.locale = *locale;
                ("locale", json!(locale.map(|l| l.code())))
            }
            SettingsChange::LogChannel(channel) => {
                settings.log_channel_id = *channel;
                ("log_channel_id", json!(channel.map(|c| c.to_string())))
            }
            SettingsChange::Trust(target) => {
                let list = match target {
                    TrustTarget::User(_) => &mut settings.trusted_user_ids,
                    TrustTarget::Role(_) => &mut settings.trusted_role_ids,
                };
                let id = match target {
                    TrustTarget::User(id) | TrustTarget::Role(id) => *id,
                };
                if list.contains(&id) {
                    result = TrustChange::AlreadyTrusted;
                } else if list.len() >= MAX_TRUSTED {
                    result = TrustChange::LimitReached;
                } else {
                    list.push(id);
                }
                ("trusted_add", json!(target.mention()))
            }
            SettingsChange::Untrust(target) => {
                let (list, id) = match target {
                    TrustTarget::User(id) => (&mut settings.trusted_user_ids, *id),
                    TrustTarget::Role(id) => (&mut settings.trusted_role_ids, *id),
                };
                let before = list.len();
                list.retain(|x| *x != id);
                result = if list.len() < before {
                    TrustChange::Removed
                } else {
                    TrustChange::NotTrusted
                };
                ("trusted_remove", json!(target.mention()))
            }
            SettingsChange::SnapshotInterval(minutes) => {
                settings.snapshot_interval_minutes = minutes.filter(|m| *m > 0);
                (
                    "snapshot_interval_minutes",
                    json!(settings.snapshot_interval_minutes),
                )
            }
            SettingsChange::Reset => {
                settings = GuildSettings {
                    snapshot_interval_minutes: settings.snapshot_interval_minutes,
                    antinuke_enabled: settings.antinuke_enabled,
                    ..GuildSettings::default()
                };
                ("reset", json!(true))
            }
        };
        if matches!(
            result,
            TrustChange::AlreadyTrusted | TrustChange::NotTrusted | TrustChange::LimitReached
        ) {
            txn.rollback().await?;
            return Ok((settings, result));
        }
        if !persistence::save_settings(&txn, config_id, version, &settings).await? {
            return Err(GuildError::Conflict);
        }
        outbox::append(
            &txn,
            NewEvent::new(
                event_types::GUILD_CONFIG_CHANGED,
                "guild",
                discord_id.to_string(),
                json!({ "field": field, "value": value, "actor_discord_id": actor.to_string() }),
            )
            .in_guild(to_db(discord_id)),
        )
        .await?;
        txn.commit().await?;
        Ok((settings, result))
    }
}

impl GuildService {
    /// Applies an AntiNuke settings change by `actor` (already authorized and validated by the
    /// caller, who also bounds it by the plan). Whitelist changes answer like trust changes;
    /// everything else answers `Added`. Publishes `guild.config_changed` with field `antinuke`.
    pub async fn change_antinuke(
        &self,
        discord_id: u64,
        actor: u64,
        change: AntinukeChange,
    ) -> Result<(AntinukeSettings, TrustChange), GuildError> {
        let txn = self.db.begin().await?;
        let Some((config_id, version, mut settings)) =
            persistence::antinuke(&txn, discord_id, true).await?
        else {
            return Err(GuildError::UnknownGuild(discord_id));
        };
        let mut result = TrustChange::Added;
        let value = match &change {
            AntinukeChange::Enabled(on) => {
                settings.enabled = *on;
                json!({ "enabled": on })
            }
            AntinukeChange::Threshold(class, threshold) => {
                match threshold {
                    Some(t) => {
                        settings.thresholds.insert(class.clone(), *t);
                    }
                    None => {
                        settings.thresholds.remove(class);
                    }
                }
                json!({ "threshold": class, "value": threshold })
            }
            AntinukeChange::Punishment(p) => {
                settings.punishment = p.clone();
                json!({ "punishment": p })
            }
            AntinukeChange::QuarantineRole(role) => {
                settings.quarantine_role_id = *role;
                json!({ "quarantine_role_id": role.map(|r| r.to_string()) })
            }
            AntinukeChange::Lockdown(on) => {
                settings.lockdown = *on;
                json!({ "lockdown": on })
            }
            AntinukeChange::AutoRevert(on) => {
                settings.auto_revert = *on;
                json!({ "auto_revert": on })
            }
            AntinukeChange::Whitelist(target, add) => {
                let (list, id) = match target {
                    TrustTarget::User(id) => (&mut settings.whitelist_user_ids, *id),
                    TrustTarget::Role(id) => (&mut settings.whitelist_role_ids, *id),
                };
                if *add {
                    if list.contains(&id) {
                        result = TrustChange::AlreadyTrusted;
                    } else if list.len() >= MAX_TRUSTED {
                        result = TrustChange::LimitReached;
                    } else {
                        list.push(id);
                    }
                } else {
                    let before = list.len();
                    list.retain(|x| *x != id);
                    result = if list.len() < before {
                        TrustChange::Removed
                    } else {
                        TrustChange::NotTrusted
                    };
                }
                json!({ "whitelist": target.mention(), "add": add })
            }
        };
        if matches!(
            result,
            TrustChange::AlreadyTrusted | TrustChange::NotTrusted | TrustChange::LimitReached
        ) {
            txn.rollback().await?;
            return Ok((settings, result));
        }
        if !persistence::save_antinuke(&txn, config_id, version, &settings).await? {
            return Err(GuildError::Conflict);
        }
        outbox::append(
            &txn,
            NewEvent::new(
                event_types::GUILD_CONFIG_CHANGED,
                "guild",
                discord_id.to_string(),
                json!({ "field": "antinuke", "value": value, "actor_discord_id": actor.to_string() }),
            )
            .in_guild(to_db(discord_id)),
        )
        .await?;
        txn.commit().await?;
        Ok((settings, result))
    }
}

async fn append_owner_changed<C: sea_orm::ConnectionTrait>(
    txn: &C,
    guild: u64,
    previous: u64,
    owner: u64,
) -> Result<(), GuildError> {
    outbox::append(
        txn,
        NewEvent::new(
            event_types::GUILD_OWNER_CHANGED,
            "guild",
            guild.to_string(),
            json!({
                "previous_owner_discord_id": previous.to_string(),
                "owner_discord_id": owner.to_string(),
            }),
        )
        .in_guild(to_db(guild)),
    )
    .await?;
    Ok(())
}

#[async_trait]
impl GuildReader for GuildService {
    async fn guild(&self, discord_id: u64) -> Result<Option<GuildRecord>, GuildError> {
        Ok(persistence::find(&self.db, discord_id, false).await?)
    }

    async fn search(&self, query: &str, limit: u32) -> Result<Vec<GuildRecord>, GuildError> {
        Ok(persistence::search(&self.db, query, limit).await?)
    }

    async fn guild_by_row(&self, id: uuid::Uuid) -> Result<Option<GuildRecord>, GuildError> {
        Ok(persistence::find_by_row(&self.db, id).await?)
    }

    async fn settings(&self, discord_id: u64) -> Result<GuildSettings, GuildError> {
        match persistence::settings(&self.db, discord_id, false).await? {
            Some((_, _, settings)) => Ok(settings),
            None if persistence::find(&self.db, discord_id, false)
                .await?
                .is_some() =>
            {
                Ok(GuildSettings::default())
            }
            None => Err(GuildError::UnknownGuild(discord_id)),
        }
    }

    async fn antinuke(&self, discord_id: u64) -> Result<AntinukeSettings, GuildError> {
        match persistence::antinuke(&self.db, discord_id, false).await? {
            Some((_, _, settings)) => Ok(settings),
            None if persistence::find(&self.db, discord_id, false)
                .await?
                .is_some() =>
            {
                Ok(AntinukeSettings {
                    punishment: "strip_roles".into(),
                    ..AntinukeSettings::default()
                })
            }
            None => Err(GuildError::UnknownGuild(discord_id)),
        }
    }
}
