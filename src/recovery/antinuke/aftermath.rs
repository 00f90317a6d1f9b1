//! Purpose: what follows a punishment, off the event path — the incident row (retried until the
//! database answers: a punishment is never left unrecorded while the process lives), an
//! emergency snapshot of the state just before the first counted action (one per incident, also
//! across a crash), the last earlier snapshot pinned, the clean-up of what the actor does after
//! the detection, the owner's DM (through the outbox and the notification domain), and the
//! optional automatic revert. After a crash (kill -9, SIGTERM, a database outage) nothing is
//! lost: every punishment carries its incident in Discord's audit-log reason, and on start-up
//! and on every new session [`AntinukeService::reconcile_guild`] records the incidents Discord
//! knows and Umbra does not (rebuilding what the actor did from the audit log), then finishes
//! every incident not yet notified.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use poise::serenity_prelude as serenity;
use serde_json::json;
use tokio::sync::watch;
use uuid::Uuid;

use super::detector::Detection;
use super::model::{self, AuditChange, Destroyed, Punishment};
use super::persistence::{self, Incident, NewIncident};
use super::responder::{self, Blocker, Outcome};
use super::service::{AntinukeError, AntinukeService, audit_change, snapshot_of};
use super::{false_positive_button, restore_button};
use crate::guild::{GuildError, GuildReader};
use crate::ids::to_db;
use crate::outbox::{self, NewEvent, event_types};

/// Retries of a failed write back off from this...
const RETRY_FIRST: Duration = Duration::from_millis(200);
/// ...to this.
const RETRY_MAX: Duration = Duration::from_secs(5);
/// How far back start-up looks for punishments Umbra did not record.
const RECONCILE_HOURS: i64 = 24;

/// Marks an incident as handled by a live task of this process until dropped.
struct Handling<'a> {
    service: &'a AntinukeService,
    id: Uuid,
}

impl Drop for Handling<'_> {
    fn drop(&mut self) {
        if let Ok(mut set) = self.service.inner.handling.lock() {
            set.remove(&self.id);
        }
    }
}

impl AntinukeService {
    fn handle(&self, id: Uuid) -> Handling<'_> {
        if let Ok(mut set) = self.inner.handling.lock() {
            set.insert(id);
        }
        Handling { service: self, id }
    }

    fn handled(&self, id: Uuid) -> bool {
        self.inner
            .handling
            .lock()
            .map(|s| s.contains(&id))
            .unwrap_or(false)
    }

    #[tracing::instrument(name = "incident", skip_all, fields(incident = %detection.incident.id, guild = detection.guild, actor = detection.actor))]
    pub(super) async fn after_detection(
        &self,
        detection: Detection,
        outcome: Outcome,
        actor_is_bot: bool,
    ) {
        let _handling = self.handle(detection.incident.id);
        let guild = detection.guild;
        let incident = detection.incident.id;
        let mut destroyed = snapshot_of(&detection.incident.destroyed);
        for (role, before) in &outcome.locked_roles {
            destroyed.roles_locked.insert(*role, *before);
        }
        if let Ok(mut shared) = detection.incident.destroyed.lock() {
            shared.roles_locked = destroyed.roles_locked.clone();
        }
        let punishment = outcome
            .punishment
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| "none".to_owned());
        let mut response = outcome.steps_json();
        if let (Some(array), Some(blocker)) = (response.as_array_mut(), &outcome.blocker) {
            array.push(match blocker {
                Blocker::Hierarchy { role } => json!({
                    "step": "cannot_punish", "ok": false, "blocker_role": role.to_string(),
                    "detail": "move Umbra's role above this role in Server Settings -> Roles",
                }),
                Blocker::Refused(e) => json!({ "step": "cannot_punish", "ok": false, "detail": e }),
            });
        }
        cleanup_step(&mut response, &destroyed);
        // 1. The incident row: the durable record of what was done. Retried until the database
        // answers (an outage of any length); a crash meanwhile is reconciled from Discord's
        // audit log at the next start.
        let new = |record_id: Uuid| NewIncident {
            id: incident,
            guild_row: record_id,
            actor: detection.actor,
            actor_is_bot,
            action_class: detection.crossed.as_str().to_owned(),
            action_count: i32::try_from(detection.crossed.count()).unwrap_or(i32::MAX),
            first_action_at: detection.first_action_at,
            detected_at: detection.detected_at.max(detection.first_action_at),
            dedupe_slot: model::dedupe_slot(
                detection.detected_at,
                self.inner.config.dedupe_slot_seconds,
            ),
            slot_seconds: i64::try_from(self.inner.config.dedupe_slot_seconds).unwrap_or(i64::MAX),
            punishment: punishment.clone(),
            response: response.clone(),
            stripped_role_ids: outcome.stripped.clone(),
            destroyed: destroyed.clone(),
        };
        let recorded = self
            .retrying("recording the incident", || async {
                let record = self
                    .inner
                    .guilds
                    .guild(guild)
                    .await?
                    .ok_or(GuildError::UnknownGuild(guild))?;
                Ok(persistence::record(&self.inner.db, &new(record.id)).await?)
            })
            .await;
        let Some((id, inserted)) = recorded else {
            tracing::error!(guild, %incident, "AntiNuke: Umbra stopped before the incident was recorded (the punishment stands; the next start reconciles it from Discord's audit log)");
            return;
        };
        if !inserted {
            tracing::info!(guild, %id, "AntiNuke: detection merged into an open incident");
            self.watch_followups(id, &detection).await;
            return;
        }
        // 2. Let the attacker's in-flight requests land (the snapshot is "as of" before the
        // attack, so waiting costs nothing), then — a few incidents at a time, so that a wave
        // of nukes in many guilds does not starve the event path of CPU — the emergency
        // snapshot, the pin, what the actor did after the detection, and the owner's DM.
        self.settle(&detection).await;
        {
            let _permit = self.inner.heavy.acquire().await;
            self.snapshot_step(guild, id, detection.first_action_at)
                .await;
            let more = snapshot_of(&detection.incident.destroyed);
            self.retrying("recording follow-ups", || async {
                Ok(persistence::merge_destroyed(&self.inner.db, id, &more).await?)
            })
            .await;
            self.retrying("notifying the owner", || async {
                self.notify_detected(id).await
            })
            .await;
        }
        // 3. Automatic revert (plan and settings permitting).
        if detection.policy.auto_revert {
            let bot = self.inner.bot.user_id().unwrap_or(0);
            match self.restore_destroyed(id, bot).await {
                Ok(started) => {
                    tracing::info!(%id, ?started, "AntiNuke: automatic revert started")
                }
                Err(e) => tracing::warn!(%id, error = %e, "AntiNuke: automatic revert failed"),
            }
        }
        self.watch_followups(id, &detection).await;
    }

    /// Runs `step` until it succeeds or Umbra stops (`None`), backing off with jitter.
    async fn retrying<T, F, Fut>(&self, what: &str, mut step: F) -> Option<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, AntinukeError>>,
    {
        let mut wait = RETRY_FIRST;
        loop {
            match step().await {
                Ok(v) => return Some(v),
                Err(e) => {
                    if self.inner.closed() {
                        return None;
                    }
                    tracing::warn!(error = %e, "AntiNuke: {what} failed; retrying");
                    let jitter = rand::random_range(0..=wait.as_millis() as u64 / 4);
                    tokio::time::sleep(wait + Duration::from_millis(jitter)).await;
                    wait = (wait * 2).min(RETRY_MAX);
                }
            }
        }
    }

    /// Waits until the actor has been quiet for the settle time (at most ten times as long).
    async fn settle(&self, detection: &Detection) {
        let quiet = Duration::from_secs(self.inner.config.auto_revert_settle_seconds)
            .max(Duration::from_millis(500));
        let deadline = Instant::now() + quiet * 10;
        loop {
            let last = detection
                .incident
                .last_action
                .lock()
                .map(|l| *l)
                .unwrap_or_else(|_| Instant::now());
            let wait = quiet.saturating_sub(last.elapsed());
            if wait.is_zero() || Instant::now() >= deadline {
                return;
            }
            let _ = tokio::time::timeout(wait, detection.incident.wake.notified()).await;
        }
    }

    /// Records the actor's later actions (and their clean-up) with the incident until its
    /// window ends.
    async fn watch_followups(&self, id: Uuid, detection: &Detection) {
        let window = Duration::from_secs(self.inner.config.dedupe_slot_seconds.max(1));
        let end = detection.detected + window;
        let mut recorded = Destroyed::default();
        // Until the incident's window ends, or Umbra stops (its pool closes).
        while Instant::now() < end && !self.inner.closed() {
            let left = end.saturating_duration_since(Instant::now());
            let _ = tokio::time::timeout(
                left.min(Duration::from_secs(30)),
                detection.incident.wake.notified(),
            )
            .await;
            tokio::time::sleep(Duration::from_millis(250)).await;
            let now = snapshot_of(&detection.incident.destroyed);
            if now != recorded {
                if let Err(e) = persistence::merge_destroyed(&self.inner.db, id, &now).await {
                    tracing::warn!(%id, error = %e, "AntiNuke: recording follow-ups failed");
                } else {
                    recorded = now;
                }
            }
        }
    }

    /// The emergency snapshot (the state just before `first`) and the pin of the last earlier
    /// snapshot. Idempotent: an emergency snapshot made for this incident before a crash is
    /// linked instead of made again.
    pub(super) async fn snapshot_step(&self, guild: u64, id: Uuid, first: DateTime<Utc>) {
        let mut at = first
            - chrono::Duration::milliseconds(
                i64::try_from(self.inner.config.snapshot_margin_ms).unwrap_or(0),
            );
        // A guild synced moments before the attack: the newest state the mirror had before
        // it (the full load, and what is read by REST after it: archived threads, AutoMod
        // rules), never one older than the mirror's first.
        if let Ok(Some(start)) = self.inner.sync.history_start(guild).await
            && start > at
            && start < first
        {
            at = match self.inner.sync.last_change_before(guild, first).await {
                Ok(Some(last)) if last > start => last,
                _ => start,
            };
        }
        let reason = format!("AntiNuke incident {id}");
        let mut steps = Vec::new();
        let emergency = match self
            .inner
            .snapshots
            .create_emergency(guild, at, &reason)
            .await
        {
            Ok(created) => {
                steps.push(json!({"step": "emergency_snapshot", "ok": true, "snapshot_id": created.meta.id, "as_of": at}));
                Some(created.meta.id)
            }
            Err(e) => {
                steps.push(
                    json!({"step": "emergency_snapshot", "ok": false, "detail": e.to_string()}),
                );
                None
            }
        };
        let pinned = match self
            .inner
            .snapshots
            .pin_last_before(guild, at, &reason)
            .await
        {
            Ok(Some(meta)) => {
                steps.push(json!({"step": "pin", "ok": true, "snapshot_id": meta.id}));
                Some(meta.id)
            }
            Ok(None) => {
                steps.push(
                    json!({"step": "pin", "ok": true, "detail": "no snapshot before the incident"}),
                );
                None
            }
            Err(e) => {
                steps.push(json!({"step": "pin", "ok": false, "detail": e.to_string()}));
                None
            }
        };
        let r = async {
            persistence::set_snapshots(&self.inner.db, id, emergency, pinned).await?;
            persistence::append_response(&self.inner.db, id, json!(steps)).await
        }
        .await;
        if let Err(e) = r {
            tracing::warn!(%id, error = %e, "AntiNuke: linking the incident's snapshots failed");
        }
    }

    /// Publishes `recovery.incident_detected` (the owner's DM with the buttons comes from it)
    /// and marks the incident notified, in one transaction. Does nothing the second time.
    pub(super) async fn notify_detected(&self, id: Uuid) -> Result<bool, AntinukeError> {
        let incident = self
            .incident(id)
            .await?
            .ok_or(AntinukeError::UnknownIncident)?;
        let record = self.inner.guilds.guild(incident.guild_discord_id).await?;
        let (outcome, blocker) = super::decisions::outcome_of(&incident);
        let cleaned = &incident.destroyed.cleaned;
        let payload = json!({
            "incident_id": id,
            "guild_name": record.as_ref().map(|r| r.name.clone()),
            "owner_discord_id": record.as_ref().map(|r| r.owner_discord_id.to_string()),
            "actor_discord_id": incident.actor.to_string(),
            "actor": format!("<@{}>", incident.actor),
            "class": incident.action_class,
            "count": incident.action_count,
            "destroyed": i64::try_from(incident.destroyed.total()).unwrap_or(i64::MAX),
            "outcome": outcome,
            "blocker": blocker,
            "cleaned": i64::try_from(
                cleaned.bots_removed.len()
                    + cleaned.roles_taken_back.values().map(|r| r.len()).sum::<usize>(),
            )
            .unwrap_or(i64::MAX),
            "emergency_snapshot_id": incident.emergency_snapshot_id,
            "pinned_snapshot_id": incident.pinned_snapshot_id,
            "buttons": [
                {"custom_id": restore_button(id), "label": "antinuke-button-restore", "style": "danger"},
                {"custom_id": false_positive_button(id), "label": "antinuke-button-false-positive", "style": "secondary"},
            ],
        });
        let txn = crate::db::Tx::begin_on(&self.inner.db).await?;
        if !persistence::mark_notified(&txn, id).await? {
            txn.rollback().await?;
            return Ok(false);
        }
        outbox::append(
            &txn,
            NewEvent::new(
                event_types::INCIDENT_DETECTED,
                "antinuke_incident",
                id.to_string(),
                payload,
            )
            .in_guild(to_db(incident.guild_discord_id)),
        )
        .await?;
        txn.commit().await?;
        Ok(true)
    }

    // ------------------------------------------------------------------ after a crash

    /// Records the punishments Discord's audit log shows for `guild` that Umbra has no incident
    /// for (the process died between the punishment and its record), rebuilding what the actor
    /// did from their own audit-log entries; then finishes every incident of the guild not yet
    /// notified (snapshot, pin, DM). Safe to run any number of times.
    #[tracing::instrument(name = "incident_reconcile", skip_all, fields(guild))]
    pub async fn reconcile_guild(&self, guild: u64) {
        if let Err(e) = self.reconcile_from_audit_log(guild).await {
            tracing::warn!(guild, error = %e, "AntiNuke: reading Discord's audit log for unrecorded punishments failed; retrying at the next session");
        }
        self.finish_unfinished(Some(guild)).await;
    }

    async fn reconcile_from_audit_log(&self, guild: u64) -> Result<(), AntinukeError> {
        let Some(bot) = self.inner.bot.user_id() else {
            return Ok(());
        };
        let Some(record) = self.inner.guilds.guild(guild).await? else {
            return Ok(());
        };
        let rest = self.inner.bot.rest();
        let since = Utc::now() - chrono::Duration::hours(RECONCILE_HOURS);
        let mine = rest.audit_logs(guild, Some(bot), 100).await?;
        for entry in &mine.entries {
            let at = snowflake_time(entry.id.get());
            if at < since {
                continue;
            }
            let Some(reason) = entry.reason.as_deref() else {
                continue;
            };
            let Some(found) = model::parse_punishment_reason(reason) else {
                continue;
            };
            let Some(actor) = entry.target_id.map(|t| t.get()) else {
                continue;
            };
            if persistence::find(&self.inner.db, found.incident)
                .await?
                .is_some()
            {
                continue;
            }
            let punishment = match entry.action.num() {
                model::audit::MEMBER_KICK => Punishment::Kick,
                model::audit::MEMBER_BAN_ADD => Punishment::Ban,
                _ => {
                    let quarantine = self.policy(guild).and_then(|p| p.quarantine_role_id);
                    let added: Vec<u64> = entry
                        .changes
                        .iter()
                        .flatten()
                        .filter_map(|c| match audit_change(c) {
                            AuditChange::RolesAdded(r) => Some(r),
                            _ => None,
                        })
                        .flatten()
                        .collect();
                    if quarantine.is_some_and(|q| added.contains(&q)) {
                        Punishment::Quarantine
                    } else {
                        Punishment::StripRoles
                    }
                }
            };
            let (destroyed, first) = self.rebuild(guild, actor, at).await?;
            let is_bot = mine
                .users
                .get(&serenity::UserId::new(actor))
                .map(|u| u.bot)
                .unwrap_or(punishment == Punishment::Kick);
            let new = NewIncident {
                id: found.incident,
                guild_row: record.id,
                actor,
                actor_is_bot: is_bot,
                action_class: found.crossed.clone(),
                action_count: i32::try_from(found.count.max(1)).unwrap_or(i32::MAX),
                first_action_at: first.min(at),
                detected_at: at,
                dedupe_slot: model::dedupe_slot(at, self.inner.config.dedupe_slot_seconds),
                slot_seconds: i64::try_from(self.inner.config.dedupe_slot_seconds)
                    .unwrap_or(i64::MAX),
                punishment: punishment.as_str().to_owned(),
                response: json!([
                    {"step": "punish", "ok": true, "detail": format!("{} ({} roles taken)", punishment.as_str(), found.stripped.len())},
                    {"step": "reconciled", "ok": true, "detail": "recorded after a restart from Discord's audit log"},
                ]),
                stripped_role_ids: found.stripped.clone(),
                destroyed,
            };
            let (id, inserted) = persistence::record(&self.inner.db, &new).await?;
            tracing::warn!(guild, %id, inserted, actor, "AntiNuke: recorded a punishment found in Discord's audit log");
        }
        Ok(())
    }

    /// What `actor` did around `punished_at`, from their own audit-log entries: the record of
    /// the incident and the time of its first counted action.
    async fn rebuild(
        &self,
        guild: u64,
        actor: u64,
        punished_at: DateTime<Utc>,
    ) -> Result<(Destroyed, DateTime<Utc>), AntinukeError> {
        let policy = self.policy(guild);
        let longest = policy
            .as_ref()
            .map(|p| p.thresholds.longest_window())
            .unwrap_or(Duration::from_secs(600));
        let from = punished_at
            - chrono::Duration::from_std(longest).unwrap_or(chrono::Duration::seconds(600));
        let to = punished_at
            + chrono::Duration::seconds(
                i64::try_from(self.inner.config.dedupe_slot_seconds).unwrap_or(600),
            );
        let theirs = self
            .inner
            .bot
            .rest()
            .audit_logs(guild, Some(actor), 100)
            .await?;
        let mut destroyed = Destroyed::default();
        let mut first = punished_at;
        for entry in &theirs.entries {
            let at = snowflake_time(entry.id.get());
            if at < from || at > to {
                continue;
            }
            let changes: Vec<AuditChange> =
                entry.changes.iter().flatten().map(audit_change).collect();
            let classified = model::classify(
                entry.action.num(),
                &changes,
                |_| Some(model::perm::DANGEROUS),
                |r| policy.as_ref().is_some_and(|p| p.confers_trust(r)),
            );
            let mut roles = classified.dangerous_roles.clone();
            roles.extend(&classified.trust_roles);
            for class in &classified.classes {
                destroyed.add(&model::Action {
                    class: *class,
                    target: entry.target_id.map(|t| t.get()),
                    at,
                    role_target: matches!(
                        entry.action,
                        serenity::model::guild::audit_log::Action::Role(_)
                    ),
                    roles: roles.clone(),
                });
                if at <= punished_at {
                    first = first.min(at);
                }
            }
        }
        Ok((destroyed, first))
    }

    /// Incidents (of `guild`, or of every guild this process serves) whose owner was never
    /// notified and that no live task of this process handles: snapshot (if missing) and DM.
    async fn finish_unfinished(&self, guild: Option<u64>) {
        let since = Utc::now() - chrono::Duration::days(1);
        let stored = match persistence::unfinished(&self.inner.db, since).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "AntiNuke: listing unfinished incidents failed");
                return;
            }
        };
        // Each incident with its guild's Discord id (asked of the guild domain once per guild).
        let mut guilds: HashMap<Uuid, Option<u64>> = HashMap::new();
        let mut list = Vec::with_capacity(stored.len());
        for m in stored {
            let discord = match guilds.get(&m.guild_id) {
                Some(known) => *known,
                None => {
                    let found = match self.inner.guilds.guild_by_row(m.guild_id).await {
                        Ok(r) => r.map(|r| r.discord_id),
                        Err(e) => {
                            tracing::warn!(error = %e, "AntiNuke: reading an incident's guild failed");
                            return;
                        }
                    };
                    guilds.insert(m.guild_id, found);
                    found
                }
            };
            if let Some(discord) = discord {
                list.push(persistence::incident(m, discord));
            }
        }
        let served: HashSet<u64> = self.inner.sync.guilds().into_iter().collect();
        for incident in list {
            let mine = match guild {
                Some(g) => incident.guild_discord_id == g,
                // Guilds live on one shard: another process finishes its own.
                None => served.is_empty() || served.contains(&incident.guild_discord_id),
            };
            if !mine || self.handled(incident.id) {
                continue;
            }
            self.finish(&incident).await;
        }
    }

    async fn finish(&self, incident: &Incident) {
        let _handling = self.handle(incident.id);
        if incident.emergency_snapshot_id.is_none() {
            self.snapshot_step(
                incident.guild_discord_id,
                incident.id,
                incident.first_action_at,
            )
            .await;
        }
        // What a crash may have left undone of the clean-up.
        {
            let protect: HashSet<u64> = self.inner.bot.user_id().into_iter().collect();
            let cleaned = responder::clean_up(
                self.inner.bot.rest(),
                incident.guild_discord_id,
                incident.actor,
                incident.id,
                &incident.destroyed,
                &protect,
            )
            .await;
            if !cleaned.bots_removed.is_empty() || !cleaned.roles_taken_back.is_empty() {
                let more = Destroyed {
                    cleaned,
                    ..Default::default()
                };
                if let Err(e) =
                    persistence::merge_destroyed(&self.inner.db, incident.id, &more).await
                {
                    tracing::warn!(id = %incident.id, error = %e, "AntiNuke: recording the clean-up failed");
                }
            }
        }
        match self.notify_detected(incident.id).await {
            Ok(_) => {
                tracing::info!(id = %incident.id, "AntiNuke: finished an interrupted incident")
            }
            Err(e) => {
                tracing::warn!(id = %incident.id, error = %e, "AntiNuke: finishing an interrupted incident failed")
            }
        }
    }

    /// Incidents this process serves whose owner was never notified (the process died after
    /// the punishment): snapshot (if missing) and notify now.
    pub async fn resume(&self) {
        self.finish_unfinished(None).await;
    }

    /// The worker: finishes incidents a crash interrupted, then refreshes every guild's policy
    /// and protection health and forgets idle actors periodically.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
        let every = Duration::from_secs(self.inner.config.config_refresh_seconds.max(1));
        let mut next_resume = Instant::now();
        while !*shutdown.borrow() {
            if Instant::now() >= next_resume {
                self.resume().await;
                next_resume = Instant::now() + Duration::from_secs(60);
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = shutdown.changed() => break,
            }
            for guild in self
                .inner
                .sync
                .guilds()
                .into_iter()
                .chain(self.inner.detector.guilds())
            {
                if *shutdown.borrow() {
                    break;
                }
                self.reload_logged(guild).await;
            }
            self.check_all_health().await;
            let dropped = self.inner.detector.sweep(Instant::now());
            if dropped > 0 {
                tracing::debug!(dropped, "AntiNuke: forgot idle actors");
            }
        }
        Ok(())
    }
}

/// The clean-up's step in the incident's response.
fn cleanup_step(response: &mut serde_json::Value, destroyed: &Destroyed) {
    let c = &destroyed.cleaned;
    if c.bots_removed.is_empty() && c.roles_taken_back.is_empty() {
        return;
    }
    if let Some(array) = response.as_array_mut() {
        array.push(json!({
            "step": "clean_up", "ok": true,
            "bots_removed": c.bots_removed.iter().map(u64::to_string).collect::<Vec<_>>(),
            "roles_taken_back": c.roles_taken_back.iter()
                .map(|(m, r)| (m.to_string(), r.iter().map(u64::to_string).collect::<Vec<_>>()))
                .collect::<std::collections::BTreeMap<_, _>>(),
        }));
    }
}

/// The creation time of a snowflake.
fn snowflake_time(id: u64) -> DateTime<Utc> {
    const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;
    let ms = (id >> 22) + DISCORD_EPOCH_MS;
    DateTime::from_timestamp_millis(i64::try_from(ms).unwrap_or(0)).unwrap_or_default()
}
