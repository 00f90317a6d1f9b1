//! Purpose: what people decide about incidents — listing them, who may decide (the owner,
//! trusted users and holders of trusted roles, never with a trust-conferring role someone other
//! than the owner gave them), "Restore what was destroyed" (a restore job from the emergency
//! snapshot scoped to what the attacker changed, plus the unbans, re-bans, timeouts lifted and
//! webhook deletions a restore does not do), "False positive" (roles, ban and lockdown given
//! back, and the clean-up undone), and the resolution with its event. Also the outbox consumer
//! that keeps every process's policy cache fresh and resolves incidents whose restore ended.

use std::collections::{BTreeSet, HashSet};

use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::json;
use uuid::Uuid;

use super::model::{self, IncidentStatus, Punishment};
use super::persistence::{self, Incident};
use super::service::{AntinukeError, AntinukeService, GivenBack, RestoreStarted};
use crate::discord::rest::Priority;
use crate::guild::GuildReader;
use crate::ids::to_db;
use crate::outbox::relay::Consumer;
use crate::outbox::{self, NewEvent, OutboxEvent, event_types};

impl AntinukeService {
    // ------------------------------------------------------------------ incidents

    /// Records a detection (see the persistence's merge rules): the incident's id and whether
    /// it is new. Idempotent on `new.id`.
    pub async fn record_incident(
        &self,
        new: &super::persistence::NewIncident,
    ) -> Result<(Uuid, bool), AntinukeError> {
        Ok(super::persistence::record(&self.inner.db, new).await?)
    }

    /// One incident (`None`: unknown, or its guild is gone).
    pub async fn incident(&self, id: Uuid) -> Result<Option<Incident>, AntinukeError> {
        let Some(stored) = persistence::find(&self.inner.db, id).await? else {
            return Ok(None);
        };
        let Some(record) = self.inner.guilds.guild_by_row(stored.guild_id).await? else {
            return Ok(None);
        };
        Ok(Some(persistence::incident(stored, record.discord_id)))
    }

    pub async fn incidents(&self, guild: u64, limit: u32) -> Result<Vec<Incident>, AntinukeError> {
        let Some(record) = self.inner.guilds.guild(guild).await? else {
            return Ok(Vec::new());
        };
        let stored = persistence::list(&self.inner.db, record.id, limit).await?;
        Ok(stored
            .into_iter()
            .map(|m| persistence::incident(m, record.discord_id))
            .collect())
    }

    /// Whether `user` may decide about an incident of `guild`: its owner or a trusted user or
    /// holder of a trusted role.
    pub async fn may_decide(&self, guild: u64, user: u64) -> Result<bool, AntinukeError> {
        let Some(record) = self.inner.guilds.guild(guild).await? else {
            return Ok(false);
        };
        if record.owner_discord_id == user {
            return Ok(true);
        }
        let settings = self.inner.guilds.settings(guild).await?;
        if settings.trusted_user_ids.contains(&user) {
            return Ok(true);
        }
        if settings.trusted_role_ids.is_empty() {
            return Ok(false);
        }
        let roles: Vec<u64> = match self.inner.bot.rest().member_roles(guild, user).await {
            Ok(roles) => roles,
            Err(_) => return Ok(false),
        };
        // A trust-conferring role someone other than the owner gave them confers nothing.
        let roles = self.trusted_roles(guild, user, &roles);
        Ok(settings.trusts(user, &roles))
    }

    /// "Restore what was destroyed": a restore job from the emergency snapshot limited to what
    /// the incident destroyed or changed, plus the unbans and webhook deletions a restore does
    /// not do. `by`: who asked (Umbra itself for an automatic revert).
    pub async fn restore_destroyed(
        &self,
        id: Uuid,
        by: u64,
    ) -> Result<RestoreStarted, AntinukeError> {
        let incident = self.open_incident(id).await?;
        let Some(snapshot) = incident.emergency_snapshot_id else {
            return Err(AntinukeError::NotReady);
        };
        if !persistence::set_status(
            &self.inner.db,
            id,
            &[IncidentStatus::Open],
            IncidentStatus::Restoring,
            None,
        )
        .await?
        {
            return Err(AntinukeError::AlreadyHandled("restoring"));
        }
        let started = super::restore::start(
            &self.inner.snapshots,
            &self.inner.restores,
            &incident,
            snapshot,
            by,
        )
        .await;
        let mut started = match started {
            Ok(s) => s,
            Err(e) => {
                let _ = persistence::set_status(
                    &self.inner.db,
                    id,
                    &[IncidentStatus::Restoring],
                    IncidentStatus::Open,
                    None,
                )
                .await;
                return Err(e);
            }
        };
        // What the restore job does not bring back: timeouts and webhooks the attacker created,
        // and bans and unbans when the snapshot has no ban list (then at once: re-sent
        // safely if pressed again, banning a banned member or unbanning an unbanned one
        // changes nothing).
        {
            let rest = self.inner.bot.rest();
            let guild = incident.guild_discord_id;
            let reason = model::action_reason(id, "restore");
            let bans_by_caller = started.bans_by_job == 0;
            let no_users = std::collections::BTreeSet::new();
            let (unbanned, banned) = if bans_by_caller {
                (&incident.destroyed.unbanned, &incident.destroyed.banned)
            } else {
                (&no_users, &no_users)
            };
            for user in unbanned {
                match rest
                    .ban(guild, *user, Some(&reason), Priority::Normal)
                    .await
                {
                    Ok(()) => started.rebanned += 1,
                    Err(e) => {
                        tracing::warn!(%id, user, error = %e, "AntiNuke: banning again failed")
                    }
                }
            }
            for user in &incident.destroyed.timed_out {
                match rest
                    .edit_member(
                        guild,
                        *user,
                        json!({ "communication_disabled_until": null }),
                        Some(&reason),
                        Priority::Normal,
                    )
                    .await
                {
                    Ok(_) => started.timeouts_lifted += 1,
                    Err(e) => {
                        tracing::debug!(%id, user, error = %e, "AntiNuke: lifting a timeout failed")
                    }
                }
            }
            for user in banned {
                match rest.unban(guild, *user, Some(&reason)).await {
                    Ok(()) => started.unbanned += 1,
                    Err(e) => tracing::warn!(%id, user, error = %e, "AntiNuke: unban failed"),
                }
            }
            for hook in &incident.destroyed.webhooks_created {
                match rest.delete_webhook(*hook, Some(&reason)).await {
                    Ok(()) => started.webhooks_deleted += 1,
                    Err(e) => {
                        tracing::debug!(%id, hook, error = %e, "AntiNuke: webhook already gone")
                    }
                }
            }
        }
        persistence::append_response(
            &self.inner.db,
            id,
            json!([{"step": "restore_started", "ok": true, "by": by.to_string(),
                    "job_id": started.job, "bans_by_job": started.bans_by_job,
                    "unbanned": started.unbanned,
                    "rebanned": started.rebanned, "timeouts_lifted": started.timeouts_lifted,
                    "webhooks_deleted": started.webhooks_deleted}]),
        )
        .await?;
        if started.job.is_none() {
            // Nothing for the restore engine to do: resolved at once.
            self.resolve(
                id,
                IncidentStatus::Restoring,
                IncidentStatus::Resolved,
                by,
                "restored",
            )
            .await?;
        }
        self.inner
            .detector
            .close(incident.guild_discord_id, incident.actor);
        Ok(started)
    }

    /// The incident `id` while the owner can still act on it: `UnknownIncident` when there is
    /// none, `AlreadyHandled` once it is restoring, resolved or a false positive.
    async fn open_incident(&self, id: Uuid) -> Result<Incident, AntinukeError> {
        let incident = self
            .incident(id)
            .await?
            .ok_or(AntinukeError::UnknownIncident)?;
        match incident.status {
            IncidentStatus::Open => Ok(incident),
            IncidentStatus::Restoring => Err(AntinukeError::AlreadyHandled("restoring")),
            IncidentStatus::Resolved => Err(AntinukeError::AlreadyHandled("resolved")),
            IncidentStatus::FalsePositive => Err(AntinukeError::AlreadyHandled("false_positive")),
        }
    }

    /// "False positive": gives the actor their roles back (and lifts a ban and the lockdown).
    pub async fn false_positive(&self, id: Uuid, by: u64) -> Result<GivenBack, AntinukeError> {
        let incident = self.open_incident(id).await?;
        let rest = self.inner.bot.rest();
        let (guild, user) = (incident.guild_discord_id, incident.actor);
        let reason = model::action_reason(id, "false positive");
        let punishment = Punishment::parse(&incident.punishment);
        let mut given = GivenBack {
            roles: 0,
            unbanned: false,
            kicked: punishment == Some(Punishment::Kick),
            roles_unlocked: 0,
            grants_restored: 0,
            bots_removed: incident.destroyed.cleaned.bots_removed.len(),
        };
        let existing: HashSet<u64> = rest.role_ids(guild).await?.into_iter().collect();
        if punishment == Some(Punishment::Ban) {
            rest.unban(guild, user, Some(&reason)).await?;
            given.unbanned = true;
        }
        if matches!(
            punishment,
            Some(Punishment::StripRoles | Punishment::Quarantine)
        ) {
            let policy = self.inner.detector.policy(incident.guild_discord_id);
            let quarantine = policy.and_then(|p| p.quarantine_role_id);
            let mut roles: BTreeSet<u64> = rest
                .member_roles(guild, user)
                .await?
                .into_iter()
                .filter(|r| Some(*r) != quarantine)
                .collect();
            for r in &incident.stripped_role_ids {
                if existing.contains(r) && roles.insert(*r) {
                    given.roles += 1;
                }
            }
            let ids: Vec<String> = roles.iter().map(u64::to_string).collect();
            rest.edit_member(
                guild,
                user,
                json!({ "roles": ids }),
                Some(&reason),
                Priority::Normal,
            )
            .await?;
        }
        for (role, permissions) in &incident.destroyed.roles_locked {
            if existing.contains(role)
                && rest
                    .edit_role(
                        guild,
                        *role,
                        json!({ "permissions": permissions.to_string() }),
                        Some(&reason),
                        Priority::Normal,
                    )
                    .await
                    .is_ok()
            {
                given.roles_unlocked += 1;
            }
        }
        // The clean-up undone: the roles taken back from other members are given back (bots
        // that were removed must be invited again; the answer says so).
        for (member, roles) in &incident.destroyed.cleaned.roles_taken_back {
            for role in roles {
                if existing.contains(role)
                    && rest
                        .member_role(guild, *member, *role, true, Some(&reason))
                        .await
                        .is_ok()
                {
                    given.grants_restored += 1;
                }
            }
        }
        if !incident.destroyed.roles_locked.is_empty() {
            let _ = rest
                .incident_actions(
                    guild,
                    json!({ "invites_disabled_until": null, "dms_disabled_until": null }),
                    Priority::Normal,
                )
                .await;
        }
        persistence::append_response(
            &self.inner.db,
            id,
            json!([{"step": "false_positive", "ok": true, "by": by.to_string(),
                    "roles_given_back": given.roles, "unbanned": given.unbanned,
                    "grants_restored": given.grants_restored}]),
        )
        .await?;
        self.resolve(
            id,
            IncidentStatus::Open,
            IncidentStatus::FalsePositive,
            by,
            "false_positive",
        )
        .await?;
        self.inner
            .detector
            .close(incident.guild_discord_id, incident.actor);
        Ok(given)
    }

    /// Moves the incident to a resolved state and publishes `recovery.incident_resolved` in the
    /// same transaction. False when it was no longer in `from`.
    pub async fn resolve(
        &self,
        id: Uuid,
        from: IncidentStatus,
        to: IncidentStatus,
        by: u64,
        resolution: &str,
    ) -> Result<bool, AntinukeError> {
        let incident = self
            .incident(id)
            .await?
            .ok_or(AntinukeError::UnknownIncident)?;
        let record = self.inner.guilds.guild(incident.guild_discord_id).await?;
        let txn = crate::db::Tx::begin_on(&self.inner.db).await?;
        if !persistence::set_status(&txn, id, &[from], to, Some(by)).await? {
            txn.rollback().await?;
            return Ok(false);
        }
        outbox::append(
            &txn,
            NewEvent::new(
                event_types::INCIDENT_RESOLVED,
                "antinuke_incident",
                id.to_string(),
                json!({
                    "incident_id": id,
                    "guild_name": record.as_ref().map(|r| r.name.clone()),
                    "owner_discord_id": record.as_ref().map(|r| r.owner_discord_id.to_string()),
                    "actor_discord_id": by.to_string(),
                    "actor": format!("<@{}>", incident.actor),
                    "by": format!("<@{by}>"),
                    "resolution": resolution,
                }),
            )
            .in_guild(to_db(incident.guild_discord_id)),
        )
        .await?;
        txn.commit().await?;
        Ok(true)
    }
}

/// The outcome code and blocker text an incident's notification shows.
pub fn outcome_of(incident: &Incident) -> (String, String) {
    let cannot = incident
        .response
        .as_array()
        .and_then(|steps| steps.iter().find(|s| s["step"] == "cannot_punish"));
    match (Punishment::parse(&incident.punishment), cannot) {
        (Some(p), _) => (p.as_str().to_owned(), String::new()),
        (None, Some(step)) => match step["blocker_role"].as_str() {
            Some(role) => ("hierarchy".to_owned(), format!("<@&{role}>")),
            None => ("failed".to_owned(), String::new()),
        },
        (None, None) => ("failed".to_owned(), String::new()),
    }
}

/// Keeps every process's policy cache fresh after settings and plan changes, and resolves
/// incidents whose restore finished.
pub struct AntinukeConsumer {
    antinuke: AntinukeService,
}

impl AntinukeConsumer {
    pub const NAME: &'static str = "antinuke";

    pub fn new(antinuke: AntinukeService) -> Self {
        Self { antinuke }
    }
}

impl Consumer for AntinukeConsumer {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn wants(&self, event_type: &str) -> bool {
        matches!(
            event_type,
            event_types::GUILD_CONFIG_CHANGED
                | event_types::GUILD_OWNER_CHANGED
                | event_types::LICENSE_GRANTED
                | event_types::LICENSE_REVOKED
                | event_types::LICENSE_EXPIRED
                | event_types::RESTORE_COMPLETED
                | event_types::RESTORE_FAILED
                | event_types::RESTORE_CANCELLED
        )
    }

    fn handle<'a>(&'a self, event: &'a OutboxEvent) -> BoxFuture<'a, anyhow::Result<()>> {
        async move {
            let antinuke = &self.antinuke;
            match event.event_type.as_str() {
                event_types::RESTORE_COMPLETED
                | event_types::RESTORE_FAILED
                | event_types::RESTORE_CANCELLED => {
                    let Some(id) = event.payload["incident_id"]
                        .as_str()
                        .and_then(|s| Uuid::parse_str(s).ok())
                    else {
                        return Ok(());
                    };
                    let by = event
                        .actor_discord_id()
                        .map(crate::ids::from_db)
                        .unwrap_or(0);
                    if event.event_type == event_types::RESTORE_COMPLETED {
                        antinuke
                            .resolve(
                                id,
                                IncidentStatus::Restoring,
                                IncidentStatus::Resolved,
                                by,
                                "restored",
                            )
                            .await?;
                    } else {
                        // The owner can try again.
                        persistence::set_status(
                            &antinuke.inner.db,
                            id,
                            &[IncidentStatus::Restoring],
                            IncidentStatus::Open,
                            None,
                        )
                        .await?;
                    }
                }
                _ => {
                    if let Some(guild) = event.guild_discord_id {
                        antinuke.reload(crate::ids::from_db(guild)).await?;
                    }
                }
            }
            Ok(())
        }
        .boxed()
    }
}
