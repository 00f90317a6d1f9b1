//! Purpose: guild use cases — lifecycle from gateway events, settings changes by the owner, the
//! retention purge — each change committed with its outbox event.

use std::sync::Arc;

use async_trait::async_trait;
use sea_orm::DatabaseConnection;
use serde_json::json;

use super::model::{
    AntinukeChange, AntinukeSettings, Decision, GuildRecord, GuildSettings, InstallOutcome,
    InstalledGuild, MAX_TRUSTED, PendingChange, ProtectionChange, TrustTarget,
};
use super::persistence;
use super::ports::{GuildError, GuildReader};
use crate::i18n::Locale;
use crate::identity::{UserProfile, UserRecorder};
use crate::ids::to_db;
use crate::outbox::{self, NewEvent, event_types};

/// The custom id prefix of the protection buttons in the owner's DMs:
/// `umbra:guard:<approve|refuse>:<guild>:<pending id>` and `umbra:guard:undo:<guild>:<change>`.
pub const GUARD_PREFIX: &str = "umbra:guard:";

/// A removed guild that cannot be purged yet is looked at again after this many days.
pub const PURGE_POSTPONE_DAYS: i32 = 30;

/// At most this many AntiNuke changes wait for the owner's approval per guild.
pub const MAX_PENDING: usize = 20;

fn stored_message(key: &str, args: serde_json::Value) -> serde_json::Value {
    json!({ "type": "message", "value": { "key": key, "args": args } })
}

fn stored_text(text: String) -> serde_json::Value {
    json!({ "type": "text", "value": text })
}

fn stored_number(n: u32) -> serde_json::Value {
    json!({ "type": "number", "value": n })
}

/// The message key of an AntiNuke class name (`combined`: the combined score).
fn class_key(class: &str) -> String {
    format!("antinuke-class-{}", class.replace('_', "-"))
}

fn on_off(on: bool) -> serde_json::Value {
    stored_message(
        if on {
            "status-enabled"
        } else {
            "status-disabled"
        },
        json!({}),
    )
}

/// A protection change as the owner's notification shows it (a stored message argument,
/// rendered in the owner's language when sent).
pub fn describe(change: &ProtectionChange) -> serde_json::Value {
    match change {
        ProtectionChange::Antinuke(c) => match c {
            AntinukeChange::Enabled(on) => {
                stored_message("protection-change-enabled", json!({ "state": on_off(*on) }))
            }
            AntinukeChange::Threshold(class, Some(t)) => stored_message(
                "protection-change-threshold",
                json!({
                    "class": stored_message(&class_key(class), json!({})),
                    "count": stored_number(t.count),
                    "window": stored_number(t.window_seconds),
                }),
            ),
            AntinukeChange::Threshold(class, None) => stored_message(
                "protection-change-threshold-reset",
                json!({ "class": stored_message(&class_key(class), json!({})) }),
            ),
            AntinukeChange::Punishment(p) => stored_message(
                "protection-change-punishment",
                json!({ "punishment": stored_message(&format!("antinuke-punishment-{}", p.replace('_', "-")), json!({})) }),
            ),
            AntinukeChange::QuarantineRole(role) => stored_message(
                "protection-change-quarantine-role",
                json!({ "role": match role {
                    Some(r) => stored_text(format!("<@&{r}>")),
                    None => stored_message("status-none", json!({})),
                } }),
            ),
            AntinukeChange::Lockdown(on) => stored_message(
                "protection-change-lockdown",
                json!({ "state": on_off(*on) }),
            ),
            AntinukeChange::AutoRevert(on) => stored_message(
                "protection-change-auto-revert",
                json!({ "state": on_off(*on) }),
            ),
            AntinukeChange::Whitelist(t, add) => stored_message(
                if *add {
                    "protection-change-whitelist-add"
                } else {
                    "protection-change-whitelist-remove"
                },
                json!({ "target": stored_text(t.mention()) }),
            ),
        },
        ProtectionChange::Trust(t, add) => stored_message(
            if *add {
                "protection-change-trust-add"
            } else {
                "protection-change-trust-remove"
            },
            json!({ "target": stored_text(t.mention()) }),
        ),
    }
}

/// The Undo button of a change notification.
fn undo_button(guild: u64, inverse: &ProtectionChange) -> serde_json::Value {
    json!([{
        "custom_id": format!("{GUARD_PREFIX}undo:{guild}:{}", inverse.encode()),
        "label": "protection-button-undo",
        "style": "secondary",
    }])
}

/// `guild.protection_changed`: the owner's DM (who, what, Undo).
fn protection_event(
    guild: u64,
    actor: u64,
    approved_by: Option<u64>,
    change: &ProtectionChange,
    inverse: Option<&ProtectionChange>,
) -> NewEvent {
    let mut payload = json!({
        "actor": format!("<@{actor}>"),
        "actor_discord_id": actor.to_string(),
        "change": describe(change),
        "approved_by": approved_by.map(|a| format!("<@{a}>")),
    });
    if let Some(inverse) = inverse {
        payload["buttons"] = undo_button(guild, inverse);
    }
    NewEvent::new(
        event_types::GUILD_PROTECTION_CHANGED,
        "guild",
        guild.to_string(),
        payload,
    )
    .in_guild(to_db(guild))
}

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
    /// The re-join link: open or closed, and the role a member gets when they link.
    JoinLink {
        enabled: bool,
        role: Option<u64>,
    },
    /// Message backups: the channels whose last messages snapshots keep (empty: off) and how
    /// many per channel (`None`: the plan's most); the caller bounds both by the plan and
    /// checked the Message Content intent.
    Messages {
        channels: Vec<u64>,
        limit: Option<u32>,
    },
    Reset,
}

#[derive(Clone)]
pub struct GuildService {
    db: DatabaseConnection,
    users: Arc<dyn UserRecorder>,
    grace_days: u32,
}

impl GuildService {
    /// `users` records owners with their guild; `grace_days` before a removed guild is purged.
    pub fn new(db: DatabaseConnection, users: Arc<dyn UserRecorder>, grace_days: u32) -> Self {
        Self {
            db,
            users,
            grace_days,
        }
    }

    /// The bot is in this guild (GUILD_CREATE, also at start-up): record it, its owner and a
    /// default config; publish `guild.installed` on a first install or re-install and
    /// `guild.owner_changed` when the owner differs from the recorded one.
    pub async fn installed(
        &self,
        guild: &InstalledGuild,
    ) -> Result<(GuildRecord, InstallOutcome), GuildError> {
        let txn = crate::db::Tx::begin_on(&self.db).await?;
        let owner_id = self.users.ensure(&txn, &guild.owner).await?;
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
        let txn = crate::db::Tx::begin_on(&self.db).await?;
        let owner_id = self.users.ensure(&txn, owner).await?;
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
        let txn = crate::db::Tx::begin_on(&self.db).await?;
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

    /// How many guilds Umbra is active in.
    pub async fn active_count(&self) -> Result<u64, GuildError> {
        Ok(persistence::active_count(&self.db).await?)
    }

    /// Purges guilds whose grace period ended. Returns how many.
    ///
    /// Each guild goes in its own transaction with its `guild.purged` event. A guild that rows of
    /// another domain must outlive (billing history: their foreign keys restrict the delete) is
    /// kept and looked at again in [`PURGE_POSTPONE_DAYS`] days; the guild domain never reads
    /// those rows itself.
    pub async fn purge_due(&self) -> Result<usize, GuildError> {
        let mut purged = 0;
        for (id, discord_id) in persistence::due_for_purge(&self.db, 100).await? {
            let txn = crate::db::Tx::begin_on(&self.db).await?;
            match persistence::purge(&txn, id).await {
                Ok(true) => {
                    outbox::append(
                        &txn,
                        NewEvent::new(
                            event_types::GUILD_PURGED,
                            "guild",
                            discord_id.to_string(),
                            json!({}),
                        )
                        .in_guild(to_db(discord_id)),
                    )
                    .await?;
                    txn.commit().await?;
                    purged += 1;
                }
                Ok(false) => txn.rollback().await?,
                Err(e)
                    if matches!(
                        e.sql_err(),
                        Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_))
                    ) =>
                {
                    txn.rollback().await?;
                    tracing::info!(
                        guild = discord_id,
                        "a removed guild is kept: other records still refer to it"
                    );
                    persistence::postpone_purge(&self.db, id, PURGE_POSTPONE_DAYS).await?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(purged)
    }

    /// Applies a settings change by `actor` (already authorized by the caller).
    pub async fn change_settings(
        &self,
        discord_id: u64,
        actor: u64,
        change: SettingsChange,
    ) -> Result<(GuildSettings, TrustChange), GuildError> {
        let txn = crate::db::Tx::begin_on(&self.db).await?;
        let Some((config_id, version, mut settings)) =
            persistence::settings(&txn, discord_id, true).await?
        else {
            return Err(GuildError::UnknownGuild(discord_id));
        };
        let before = settings.clone();
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
            SettingsChange::JoinLink { enabled, role } => {
                settings.web_join_enabled = *enabled;
                settings.web_join_role_id = *role;
                (
                    "web_join",
                    json!({ "enabled": enabled, "role_id": role.map(|r| r.to_string()) }),
                )
            }
            SettingsChange::Messages { channels, limit } => {
                settings.message_channel_ids = channels.clone();
                settings.message_limit = *limit;
                (
                    "messages",
                    json!({
                        "channel_ids": channels.iter().map(u64::to_string).collect::<Vec<_>>(),
                        "limit": limit,
                    }),
                )
            }
            SettingsChange::Reset => {
                settings = GuildSettings {
                    snapshot_interval_minutes: settings.snapshot_interval_minutes,
                    message_channel_ids: settings.message_channel_ids.clone(),
                    message_limit: settings.message_limit,
                    antinuke_enabled: settings.antinuke_enabled,
                    web_join_enabled: true,
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
        // Trust is protection: the owner is told (with an Undo button).
        let trust = match &change {
            SettingsChange::Trust(t) => Some(ProtectionChange::Trust(*t, true)),
            SettingsChange::Untrust(t) => Some(ProtectionChange::Trust(*t, false)),
            _ => None,
        };
        if let Some(trust) = trust {
            let inverse = trust.inverse(&AntinukeSettings::default(), &before);
            outbox::append(
                &txn,
                protection_event(discord_id, actor, None, &trust, Some(&inverse)),
            )
            .await?;
        } else if change == SettingsChange::Reset
            && (!before.trusted_user_ids.is_empty() || !before.trusted_role_ids.is_empty())
        {
            // The reset cleared who is trusted: the owner hears of it too (no Undo: the
            // previous lists are in the audit log).
            outbox::append(
                &txn,
                NewEvent::new(
                    event_types::GUILD_PROTECTION_CHANGED,
                    "guild",
                    discord_id.to_string(),
                    json!({
                        "actor": format!("<@{actor}>"),
                        "actor_discord_id": actor.to_string(),
                        "change": stored_message("protection-change-trust-reset", json!({})),
                    }),
                )
                .in_guild(to_db(discord_id)),
            )
            .await?;
        }
        txn.commit().await?;
        Ok((settings, result))
    }

    /// Undoes a protection change (the owner's Undo button; the caller checked the owner):
    /// applies `change` (the inverse recorded with the notification) as `by`.
    pub async fn undo(
        &self,
        discord_id: u64,
        by: u64,
        change: ProtectionChange,
    ) -> Result<(), GuildError> {
        match change {
            ProtectionChange::Antinuke(c) => {
                self.change_antinuke(discord_id, by, c).await?;
            }
            ProtectionChange::Trust(t, true) => {
                self.change_settings(discord_id, by, SettingsChange::Trust(t))
                    .await?;
            }
            ProtectionChange::Trust(t, false) => {
                self.change_settings(discord_id, by, SettingsChange::Untrust(t))
                    .await?;
            }
        }
        Ok(())
    }

    /// An AntiNuke change by someone other than the owner: kept until the owner approves it in
    /// a DM (`guild.change_requested` carries Approve / Refuse), for `hours`; nothing changes
    /// before. The same change asked again by the same person is not asked twice.
    pub async fn request_antinuke_change(
        &self,
        discord_id: u64,
        actor: u64,
        change: AntinukeChange,
        hours: u32,
    ) -> Result<PendingChange, GuildError> {
        let txn = crate::db::Tx::begin_on(&self.db).await?;
        let Some((config_id, mut list)) =
            persistence::pending_changes(&txn, discord_id, true).await?
        else {
            return Err(GuildError::UnknownGuild(discord_id));
        };
        let now = chrono::Utc::now();
        list.retain(|p| p.expires_at > now);
        if let Some(same) = list
            .iter()
            .find(|p| p.change == change && p.actor_discord_id == actor.to_string())
        {
            let same = same.clone();
            txn.rollback().await?;
            return Ok(same);
        }
        if list.len() >= MAX_PENDING {
            return Err(GuildError::TooManyPending);
        }
        let pending = PendingChange {
            id: uuid::Uuid::now_v7(),
            actor_discord_id: actor.to_string(),
            change: change.clone(),
            requested_at: now,
            expires_at: now + chrono::Duration::hours(i64::from(hours.max(1))),
        };
        list.push(pending.clone());
        persistence::save_pending_changes(&txn, config_id, &list).await?;
        let id = pending.id.simple();
        outbox::append(
            &txn,
            NewEvent::new(
                event_types::GUILD_CHANGE_REQUESTED,
                "guild",
                discord_id.to_string(),
                json!({
                    "actor": format!("<@{actor}>"),
                    "actor_discord_id": actor.to_string(),
                    "change": describe(&ProtectionChange::Antinuke(change)),
                    "hours": hours,
                    "pending_id": pending.id,
                    "buttons": [
                        {"custom_id": format!("{GUARD_PREFIX}approve:{discord_id}:{id}"), "label": "protection-button-approve", "style": "danger"},
                        {"custom_id": format!("{GUARD_PREFIX}refuse:{discord_id}:{id}"), "label": "protection-button-refuse", "style": "secondary"},
                    ],
                }),
            )
            .in_guild(to_db(discord_id)),
        )
        .await?;
        txn.commit().await?;
        Ok(pending)
    }

    /// The owner's Approve (`approve`) or Refuse of a pending change (the caller checked the
    /// owner). A decided, lapsed or unknown change changes nothing.
    pub async fn decide_pending(
        &self,
        discord_id: u64,
        id: uuid::Uuid,
        approve: bool,
        by: u64,
    ) -> Result<Decision, GuildError> {
        let txn = crate::db::Tx::begin_on(&self.db).await?;
        let Some((config_id, mut list)) =
            persistence::pending_changes(&txn, discord_id, true).await?
        else {
            return Err(GuildError::UnknownGuild(discord_id));
        };
        let Some(index) = list.iter().position(|p| p.id == id) else {
            txn.rollback().await?;
            return Ok(Decision::Unknown);
        };
        let pending = list.remove(index);
        let now = chrono::Utc::now();
        list.retain(|p| p.expires_at > now);
        persistence::save_pending_changes(&txn, config_id, &list).await?;
        let decision = if pending.expires_at <= now {
            Decision::Lapsed
        } else if !approve {
            Decision::Refused(pending.change)
        } else {
            let requester = pending.actor_discord_id.parse().unwrap_or(by);
            Self::apply_antinuke(
                &txn,
                discord_id,
                requester,
                Some(by),
                pending.change.clone(),
            )
            .await?;
            Decision::Applied(pending.change)
        };
        txn.commit().await?;
        Ok(decision)
    }

    /// The AntiNuke changes waiting for the owner (lapsed ones left out).
    pub async fn pending(&self, discord_id: u64) -> Result<Vec<PendingChange>, GuildError> {
        let now = chrono::Utc::now();
        Ok(persistence::pending_changes(&self.db, discord_id, false)
            .await?
            .map(|(_, l)| l.into_iter().filter(|p| p.expires_at > now).collect())
            .unwrap_or_default())
    }

    /// Records the guild's protection health (an opaque document from AntiNuke with a
    /// `degraded` flag and the owner-facing `reasons`). When it changed, the owner is told:
    /// `guild.protection_degraded` (with why) or `guild.protection_restored`. Returns whether
    /// it changed.
    pub async fn record_protection_health(
        &self,
        discord_id: u64,
        health: serde_json::Value,
        reasons: serde_json::Value,
    ) -> Result<bool, GuildError> {
        let txn = crate::db::Tx::begin_on(&self.db).await?;
        let Some((previous, changed)) =
            persistence::swap_protection_health(&txn, discord_id, &health).await?
        else {
            txn.rollback().await?;
            return Ok(false);
        };
        if !changed {
            txn.rollback().await?;
            return Ok(false);
        }
        let degraded = |v: Option<&serde_json::Value>| {
            v.and_then(|v| v.get("degraded"))
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false)
        };
        let kind = match (degraded(previous.as_ref()), degraded(Some(&health))) {
            (_, true) => Some(event_types::GUILD_PROTECTION_DEGRADED),
            (true, false) => Some(event_types::GUILD_PROTECTION_RESTORED),
            (false, false) => None,
        };
        if let Some(kind) = kind {
            outbox::append(
                &txn,
                NewEvent::new(
                    kind,
                    "guild",
                    discord_id.to_string(),
                    json!({ "health": health, "reasons": reasons }),
                )
                .in_guild(to_db(discord_id)),
            )
            .await?;
        }
        txn.commit().await?;
        Ok(true)
    }
}

impl GuildService {
    /// Applies an AntiNuke settings change by `actor` (already authorized and validated by the
    /// caller, who also bounds it by the plan). Whitelist changes answer like trust changes;
    /// everything else answers `Added`. Publishes `guild.config_changed` with field `antinuke`
    /// and `guild.protection_changed` (the owner's DM with an Undo button).
    pub async fn change_antinuke(
        &self,
        discord_id: u64,
        actor: u64,
        change: AntinukeChange,
    ) -> Result<(AntinukeSettings, TrustChange), GuildError> {
        let txn = crate::db::Tx::begin_on(&self.db).await?;
        let result = Self::apply_antinuke(&txn, discord_id, actor, None, change).await?;
        match result.1 {
            TrustChange::AlreadyTrusted | TrustChange::NotTrusted | TrustChange::LimitReached => {
                txn.rollback().await?;
            }
            _ => txn.commit().await?,
        }
        Ok(result)
    }

    /// [`GuildService::change_antinuke`] inside the caller's transaction (`approved_by`: the
    /// owner who approved someone else's change).
    async fn apply_antinuke<C: sea_orm::ConnectionTrait>(
        txn: &C,
        discord_id: u64,
        actor: u64,
        approved_by: Option<u64>,
        change: AntinukeChange,
    ) -> Result<(AntinukeSettings, TrustChange), GuildError> {
        let Some((config_id, version, mut settings)) =
            persistence::antinuke(txn, discord_id, true).await?
        else {
            return Err(GuildError::UnknownGuild(discord_id));
        };
        let before = settings.clone();
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
            return Ok((settings, result));
        }
        if !persistence::save_antinuke(txn, config_id, version, &settings).await? {
            return Err(GuildError::Conflict);
        }
        outbox::append(
            txn,
            NewEvent::new(
                event_types::GUILD_CONFIG_CHANGED,
                "guild",
                discord_id.to_string(),
                json!({ "field": "antinuke", "value": value, "actor_discord_id": actor.to_string() }),
            )
            .in_guild(to_db(discord_id)),
        )
        .await?;
        let protection = ProtectionChange::Antinuke(change);
        let inverse = protection.inverse(&before, &GuildSettings::default());
        outbox::append(
            txn,
            protection_event(discord_id, actor, approved_by, &protection, Some(&inverse)),
        )
        .await?;
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

    async fn owned_by(&self, owner: u64) -> Result<Vec<GuildRecord>, GuildError> {
        Ok(persistence::owned_by(&self.db, owner).await?)
    }

    async fn active_rows(&self, ids: &[uuid::Uuid]) -> Result<Vec<GuildRecord>, GuildError> {
        Ok(persistence::active_rows(&self.db, ids).await?)
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
