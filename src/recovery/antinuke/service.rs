//! Purpose: AntiNuke's use cases. On the event path (GUILD_AUDIT_LOG_ENTRY_CREATE): exempt
//! checks and classification from serenity's cache, the detector's windows, and — when a
//! threshold is crossed — the punishment request at once. After the fact, in a task of its
//! own: the incident row (deduplicated across processes), an emergency snapshot of the state
//! just before the first counted action, the last earlier snapshot pinned, the owner notified
//! with "Restore what was destroyed" / "False positive" buttons (through the outbox and the
//! notification domain), and the optional automatic revert. Also the buttons themselves, the
//! policy cache refresh, and the resumption of incidents a crash interrupted.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::FutureExt;
use futures::future::BoxFuture;
use poise::serenity_prelude as serenity;
use sea_orm::{DatabaseConnection, TransactionTrait};
use serde_json::json;
use serenity::FullEvent;
use tokio::sync::watch;
use uuid::Uuid;

use super::detector::{Detection, Detector, Verdict};
use super::model::{
    self, AuditChange, Destroyed, IncidentStatus, Policy, Punishment, Rank, RoleInfo,
};
use super::persistence::{self, Incident, NewIncident};
use super::responder::{self, Blocker, Outcome, Target};
use crate::config::AntinukeConfig;
use crate::guild::{GuildError, GuildReader};
use crate::ids::to_db;
use crate::licensing::LicensingReader;
use crate::outbox::relay::Consumer;
use crate::outbox::{self, NewEvent, OutboxEvent, event_types};
use crate::types::Data;

/// Custom id prefix of the incident buttons: `umbra:antinuke:<restore|fp>:<incident id>`.
pub const COMPONENT_PREFIX: &str = "umbra:antinuke:";

/// The incident buttons' custom ids.
pub fn restore_button(incident: Uuid) -> String {
    format!("{COMPONENT_PREFIX}restore:{incident}")
}

pub fn false_positive_button(incident: Uuid) -> String {
    format!("{COMPONENT_PREFIX}fp:{incident}")
}

#[derive(Debug, thiserror::Error)]
pub enum AntinukeError {
    #[error("no such incident")]
    UnknownIncident,
    #[error("the incident is {0}")]
    AlreadyHandled(&'static str),
    #[error("the emergency snapshot is not ready yet")]
    NotReady,
    #[error("the person is not the owner or trusted")]
    NotAllowed,
    #[error("the restore could not start: {0}")]
    Restore(String),
    #[error("reading the plan failed: {0}")]
    Licensing(String),
    #[error(transparent)]
    Database(#[from] sea_orm::DbErr),
    #[error(transparent)]
    Guild(#[from] GuildError),
    #[error(transparent)]
    Discord(#[from] serenity::Error),
}

/// What "Restore what was destroyed" started.
#[derive(Debug, Clone, PartialEq)]
pub struct RestoreStarted {
    pub job: Option<Uuid>,
    /// Objects in the restore's scope.
    pub items: usize,
    pub unbanned: usize,
    pub webhooks_deleted: usize,
}

/// What "False positive" gave back.
#[derive(Debug, Clone, PartialEq)]
pub struct GivenBack {
    pub roles: usize,
    pub unbanned: bool,
    /// The punishment was a kick: the member must be invited again.
    pub kicked: bool,
    pub roles_unlocked: usize,
}

struct Inner {
    detector: Detector,
    config: AntinukeConfig,
    db: DatabaseConnection,
    /// Bounds the after-the-fact work (snapshots) running at once.
    heavy: tokio::sync::Semaphore,
}

/// AntiNuke: cheap to clone.
#[derive(Clone)]
pub struct AntinukeService {
    inner: Arc<Inner>,
}

impl AntinukeService {
    pub fn new(config: AntinukeConfig, db: DatabaseConnection) -> Self {
        let window = Duration::from_secs(config.dedupe_slot_seconds.max(1));
        Self {
            inner: Arc::new(Inner {
                detector: Detector::new(window),
                config,
                db,
                heavy: tokio::sync::Semaphore::new(2),
            }),
        }
    }

    pub fn config(&self) -> &AntinukeConfig {
        &self.inner.config
    }

    pub fn detector(&self) -> &Detector {
        &self.inner.detector
    }

    /// The policy in force in `guild` (what the event path uses), if loaded.
    pub fn policy(&self, guild: u64) -> Option<Arc<Policy>> {
        self.inner.detector.policy(guild)
    }

    // ------------------------------------------------------------------ event path

    /// Handles a gateway event. Audit-log entries are decided from memory; when one crosses a
    /// threshold the punishment request is sent before this returns, and the rest of the
    /// response is spawned.
    pub async fn on_event(&self, ctx: &serenity::Context, data: &Data, event: &FullEvent) {
        match event {
            FullEvent::GuildAuditLogEntryCreate { entry, guild_id } => {
                self.on_audit_entry(ctx, data, *guild_id, entry).await;
            }
            FullEvent::GuildCreate { guild, .. } => {
                let (this, data, id) = (self.clone(), data.clone(), guild.id.get());
                tokio::spawn(async move { this.reload_logged(&data, id).await });
            }
            FullEvent::GuildUpdate { new_data, .. } => {
                let (this, data, id) = (self.clone(), data.clone(), new_data.id.get());
                tokio::spawn(async move { this.reload_logged(&data, id).await });
            }
            FullEvent::GuildDelete { incomplete, .. } if !incomplete.unavailable => {
                self.inner.detector.forget(incomplete.id.get());
            }
            _ => {}
        }
    }

    async fn on_audit_entry(
        &self,
        ctx: &serenity::Context,
        data: &Data,
        guild_id: serenity::GuildId,
        entry: &serenity::AuditLogEntry,
    ) {
        let now = Instant::now();
        let at = Utc::now();
        let guild = guild_id.get();
        let Some(policy) = self.inner.detector.policy(guild) else {
            return;
        };
        if !policy.enabled {
            return;
        }
        let actor = entry.user_id.get();
        let bot = data.bot_user_id.get().map(|u| u.get());
        if Some(actor) == bot {
            // Umbra itself: its punishments, lockdowns and restores.
            return;
        }
        let action_type = entry.action.num();
        let changes: Vec<AuditChange> = entry.changes.iter().flatten().map(audit_change).collect();
        let target = entry.target_id.map(|t| t.get());
        // Everything the decision needs from the cache, read without awaiting.
        let (exempt, classes) = {
            let Some(g) = ctx.cache.guild(guild_id) else {
                return;
            };
            let roles: Vec<u64> = g
                .members
                .get(&entry.user_id)
                .map(|m| m.roles.iter().map(|r| r.get()).collect())
                .unwrap_or_default();
            let exempt = policy.exempts(actor, &roles) || g.owner_id.get() == actor;
            let classes = model::classify(action_type, &changes, |r| {
                g.roles
                    .get(&serenity::RoleId::new(r))
                    .map(|role| role.permissions.bits())
            });
            (exempt, classes)
        };
        if exempt || classes.is_empty() {
            return;
        }
        let role_target = matches!(
            entry.action,
            serenity::model::guild::audit_log::Action::Role(_)
        );
        let verdict =
            self.inner
                .detector
                .observe(guild, actor, &classes, target, role_target, now, at);
        let Verdict::Detected(detection) = verdict else {
            return;
        };
        let Some(responder_target) = cache_target(ctx, guild_id, entry.user_id, bot) else {
            tracing::warn!(
                guild,
                actor,
                "AntiNuke: the guild left the cache; cannot punish"
            );
            return;
        };
        let policy = detection.policy.clone();
        let lockdown = policy.lockdown.then(|| {
            let mut exempt = policy.exempt_roles.clone();
            exempt.extend(policy.quarantine_role_id);
            (exempt, self.inner.config.lockdown_minutes)
        });
        let outcome = responder::respond(
            &ctx.http,
            &responder_target,
            policy.punishment,
            policy.quarantine_role_id,
            lockdown,
            detection.incident.id,
            detection.class,
            detection.count,
            detection.detected,
        )
        .await;
        tracing::warn!(
            guild,
            actor,
            class = detection.class.as_str(),
            count = detection.count,
            punishment = ?outcome.punishment,
            blocker = ?outcome.blocker,
            elapsed_ms = now.elapsed().as_millis() as u64,
            "AntiNuke: threshold crossed, actor punished"
        );
        let this = self.clone();
        let data = data.clone();
        let is_bot = responder_target.actor_is_bot;
        tokio::spawn(async move {
            this.after_detection(&data, *detection, outcome, is_bot)
                .await;
        });
    }

    // ------------------------------------------------------------------ after the fact

    async fn after_detection(
        &self,
        data: &Data,
        detection: Detection,
        outcome: Outcome,
        actor_is_bot: bool,
    ) {
        let guild = detection.guild;
        let incident = detection.incident.id;
        let mut destroyed = detection
            .incident
            .destroyed
            .lock()
            .map(|d| d.clone())
            .unwrap_or_default();
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
        // 1. The incident row: the durable record of what was done (roles taken included).
        let mut attempt = 0u32;
        let (id, inserted) = loop {
            attempt += 1;
            let result = async {
                let record = data
                    .guilds
                    .guild(guild)
                    .await?
                    .ok_or(GuildError::UnknownGuild(guild))?;
                let new = NewIncident {
                    id: incident,
                    guild_row: record.id,
                    actor: detection.actor,
                    actor_is_bot,
                    action_class: detection.class.as_str().to_owned(),
                    action_count: i32::try_from(detection.count).unwrap_or(i32::MAX),
                    first_action_at: detection.first_action_at,
                    detected_at: detection.detected_at.max(detection.first_action_at),
                    dedupe_slot: model::dedupe_slot(
                        detection.detected_at,
                        self.inner.config.dedupe_slot_seconds,
                    ),
                    slot_seconds: i64::try_from(self.inner.config.dedupe_slot_seconds)
                        .unwrap_or(i64::MAX),
                    punishment: punishment.clone(),
                    response: response.clone(),
                    stripped_role_ids: outcome.stripped.clone(),
                    destroyed: destroyed.clone(),
                };
                Ok::<_, AntinukeError>(persistence::record(&self.inner.db, &new).await?)
            }
            .await;
            match result {
                Ok(done) => break done,
                Err(e) if attempt < 5 => {
                    tracing::warn!(guild, %incident, error = %e, "AntiNuke: recording the incident failed; retrying");
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
                }
                Err(e) => {
                    tracing::error!(guild, %incident, error = %e, "AntiNuke: the incident could not be recorded (the punishment stands; see Discord's audit log)");
                    return;
                }
            }
        };
        if !inserted {
            tracing::info!(guild, %id, "AntiNuke: detection merged into an existing incident");
            self.watch_followups(data, id, &detection).await;
            return;
        }
        // 2. Let the attacker's in-flight requests land (the snapshot is "as of" before the
        // attack, so waiting costs nothing), then — a few incidents at a time, so that a wave
        // of nukes in many guilds does not starve the event path of CPU — the emergency
        // snapshot, the pin, what the actor did after the detection, and the owner's DM.
        self.settle(&detection).await;
        {
            let _permit = self.inner.heavy.acquire().await;
            self.snapshot_step(data, guild, id, detection.first_action_at)
                .await;
            let more = detection
                .incident
                .destroyed
                .lock()
                .map(|d| d.clone())
                .unwrap_or_default();
            if let Err(e) = persistence::merge_destroyed(&self.inner.db, id, &more).await {
                tracing::warn!(%id, error = %e, "AntiNuke: recording follow-ups failed");
            }
            if let Err(e) = self.notify_detected(data, id).await {
                tracing::warn!(%id, error = %e, "AntiNuke: notifying the owner failed; the worker retries");
            }
        }
        // 4. Automatic revert (plan and settings permitting).
        if detection.policy.auto_revert {
            let bot = data.bot_user_id.get().map(|u| u.get()).unwrap_or(0);
            match self.restore_destroyed(data, id, bot).await {
                Ok(started) => {
                    tracing::info!(%id, ?started, "AntiNuke: automatic revert started")
                }
                Err(e) => tracing::warn!(%id, error = %e, "AntiNuke: automatic revert failed"),
            }
        }
        self.watch_followups(data, id, &detection).await;
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

    /// Records the actor's later actions with the incident until its window ends.
    async fn watch_followups(&self, data: &Data, id: Uuid, detection: &Detection) {
        let window = Duration::from_secs(self.inner.config.dedupe_slot_seconds.max(1));
        let end = detection.detected + window;
        let mut recorded = Destroyed::default();
        // Until the incident's window ends, or Umbra stops (its pool closes).
        while Instant::now() < end && !data.pool.is_closed() {
            let left = end.saturating_duration_since(Instant::now());
            let _ = tokio::time::timeout(
                left.min(Duration::from_secs(30)),
                detection.incident.wake.notified(),
            )
            .await;
            tokio::time::sleep(Duration::from_millis(250)).await;
            let now = detection
                .incident
                .destroyed
                .lock()
                .map(|d| d.clone())
                .unwrap_or_default();
            if now != recorded {
                if let Err(e) = persistence::merge_destroyed(&self.inner.db, id, &now).await {
                    tracing::warn!(%id, error = %e, "AntiNuke: recording follow-ups failed");
                } else {
                    recorded = now;
                }
            }
        }
    }

    async fn snapshot_step(&self, data: &Data, guild: u64, id: Uuid, first: DateTime<Utc>) {
        let mut at = first
            - chrono::Duration::milliseconds(
                i64::try_from(self.inner.config.snapshot_margin_ms).unwrap_or(0),
            );
        // A guild synced moments before the attack: the mirror's first state is still from
        // before it.
        if let Ok(Some(start)) = data.sync.history_start(guild).await
            && start > at
            && start < first
        {
            at = start;
        }
        let reason = format!("AntiNuke incident {id}");
        let mut steps = Vec::new();
        let emergency = match data.snapshots.create_emergency(guild, at, &reason).await {
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
        let pinned = match data.snapshots.pin_last_before(guild, at, &reason).await {
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
    async fn notify_detected(&self, data: &Data, id: Uuid) -> Result<bool, AntinukeError> {
        let incident = persistence::find(&self.inner.db, id)
            .await?
            .ok_or(AntinukeError::UnknownIncident)?;
        let record = data.guilds.guild(incident.guild_discord_id).await?;
        let (outcome, blocker) = outcome_of(&incident);
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
            "emergency_snapshot_id": incident.emergency_snapshot_id,
            "pinned_snapshot_id": incident.pinned_snapshot_id,
            "buttons": [
                {"custom_id": restore_button(id), "label": "antinuke-button-restore", "style": "danger"},
                {"custom_id": false_positive_button(id), "label": "antinuke-button-false-positive", "style": "secondary"},
            ],
        });
        let txn = self.inner.db.begin().await?;
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

    // ------------------------------------------------------------------ policy cache

    /// Reads the guild's settings, AntiNuke settings and plan, and installs the policy.
    pub async fn reload(&self, data: &Data, guild: u64) -> Result<(), AntinukeError> {
        let record = match data.guilds.guild(guild).await? {
            Some(r) => r,
            None => return Ok(()),
        };
        let settings = match data.guilds.settings(guild).await {
            Ok(s) => s,
            Err(GuildError::UnknownGuild(_)) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let antinuke = data.guilds.antinuke(guild).await?;
        let features = data
            .licensing
            .entitlements(guild)
            .await
            .map(|e| e.plan.antinuke)
            .map_err(|e| AntinukeError::Licensing(e.to_string()))?;
        let policy = Policy::resolve(
            record.owner_discord_id,
            &settings,
            &antinuke,
            &features,
            &self.inner.config,
        );
        self.inner.detector.set_policy(guild, policy);
        Ok(())
    }

    async fn reload_logged(&self, data: &Data, guild: u64) {
        if let Err(e) = self.reload(data, guild).await {
            tracing::warn!(guild, error = %e, "AntiNuke: loading the guild's settings failed; retrying at the next refresh");
        }
    }

    /// The worker: finishes incidents a crash interrupted, then refreshes every guild's policy
    /// and forgets idle actors periodically.
    pub async fn run(self, data: Data, mut shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
        let every = Duration::from_secs(self.inner.config.config_refresh_seconds.max(1));
        let mut next_resume = Instant::now();
        while !*shutdown.borrow() {
            if Instant::now() >= next_resume {
                self.resume(&data).await;
                next_resume = Instant::now() + Duration::from_secs(60);
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = shutdown.changed() => break,
            }
            for guild in data
                .sync
                .guilds()
                .into_iter()
                .chain(self.inner.detector.guilds())
            {
                if *shutdown.borrow() {
                    break;
                }
                self.reload_logged(&data, guild).await;
            }
            let dropped = self.inner.detector.sweep(Instant::now());
            if dropped > 0 {
                tracing::debug!(dropped, "AntiNuke: forgot idle actors");
            }
        }
        Ok(())
    }

    /// Incidents detected in the last day whose owner was never notified (the process died
    /// after the punishment): snapshot (if missing) and notify now.
    pub async fn resume(&self, data: &Data) {
        let since = Utc::now() - chrono::Duration::days(1);
        let list = match persistence::unfinished(&self.inner.db, since).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "AntiNuke: listing unfinished incidents failed");
                return;
            }
        };
        for incident in list {
            // Still being handled by a live task of this process?
            if Utc::now() - incident.detected_at < chrono::Duration::seconds(60) {
                continue;
            }
            if incident.emergency_snapshot_id.is_none() && !incident.has_step("emergency_snapshot")
            {
                self.snapshot_step(
                    data,
                    incident.guild_discord_id,
                    incident.id,
                    incident.first_action_at,
                )
                .await;
            }
            match self.notify_detected(data, incident.id).await {
                Ok(_) => {
                    tracing::info!(id = %incident.id, "AntiNuke: finished an interrupted incident")
                }
                Err(e) => {
                    tracing::warn!(id = %incident.id, error = %e, "AntiNuke: finishing an interrupted incident failed")
                }
            }
        }
    }

    // ------------------------------------------------------------------ incidents

    pub async fn incident(&self, id: Uuid) -> Result<Option<Incident>, AntinukeError> {
        Ok(persistence::find(&self.inner.db, id).await?)
    }

    pub async fn incidents(
        &self,
        data: &Data,
        guild: u64,
        limit: u32,
    ) -> Result<Vec<Incident>, AntinukeError> {
        let Some(record) = data.guilds.guild(guild).await? else {
            return Ok(Vec::new());
        };
        Ok(persistence::list(&self.inner.db, record.id, limit).await?)
    }

    /// Whether `user` may decide about an incident of `guild`: its owner or a trusted user or
    /// holder of a trusted role.
    pub async fn may_decide(
        &self,
        data: &Data,
        guild: u64,
        user: u64,
    ) -> Result<bool, AntinukeError> {
        let Some(record) = data.guilds.guild(guild).await? else {
            return Ok(false);
        };
        if record.owner_discord_id == user {
            return Ok(true);
        }
        let settings = data.guilds.settings(guild).await?;
        if settings.trusted_user_ids.contains(&user) {
            return Ok(true);
        }
        if settings.trusted_role_ids.is_empty() {
            return Ok(false);
        }
        let Some(http) = data.http.get() else {
            return Ok(false);
        };
        let roles: Vec<u64> = match http
            .get_member(serenity::GuildId::new(guild), serenity::UserId::new(user))
            .await
        {
            Ok(m) => m.roles.iter().map(|r| r.get()).collect(),
            Err(_) => return Ok(false),
        };
        Ok(settings.trusts(user, &roles))
    }

    /// "Restore what was destroyed": a restore job from the emergency snapshot limited to what
    /// the incident destroyed or changed, plus the unbans and webhook deletions a restore does
    /// not do. `by`: who asked (Umbra itself for an automatic revert).
    pub async fn restore_destroyed(
        &self,
        data: &Data,
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
        let started = super::restore::start(data, &incident, snapshot, by).await;
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
        // What a restore does not bring back: bans, webhooks the attacker created.
        if let Some(http) = data.http.get() {
            let guild = serenity::GuildId::new(incident.guild_discord_id);
            let reason = format!("{}: restore of incident {id}", model::REASON_PREFIX);
            for user in &incident.destroyed.banned {
                match http
                    .remove_ban(guild, serenity::UserId::new(*user), Some(&reason))
                    .await
                {
                    Ok(()) => started.unbanned += 1,
                    Err(e) => tracing::warn!(%id, user, error = %e, "AntiNuke: unban failed"),
                }
            }
            for hook in &incident.destroyed.webhooks_created {
                match http
                    .delete_webhook(serenity::WebhookId::new(*hook), Some(&reason))
                    .await
                {
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
                    "job_id": started.job, "unbanned": started.unbanned,
                    "webhooks_deleted": started.webhooks_deleted}]),
        )
        .await?;
        if started.job.is_none() {
            // Nothing for the restore engine to do: resolved at once.
            self.resolve(
                data,
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
        let incident = persistence::find(&self.inner.db, id)
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
    pub async fn false_positive(
        &self,
        data: &Data,
        id: Uuid,
        by: u64,
    ) -> Result<GivenBack, AntinukeError> {
        let incident = self.open_incident(id).await?;
        let Some(http) = data.http.get() else {
            return Err(AntinukeError::Restore("not connected to Discord".into()));
        };
        let guild = serenity::GuildId::new(incident.guild_discord_id);
        let user = serenity::UserId::new(incident.actor);
        let reason = format!("{}: false positive, incident {id}", model::REASON_PREFIX);
        let punishment = Punishment::parse(&incident.punishment);
        let mut given = GivenBack {
            roles: 0,
            unbanned: false,
            kicked: punishment == Some(Punishment::Kick),
            roles_unlocked: 0,
        };
        let existing: HashSet<u64> = http
            .get_guild_roles(guild)
            .await?
            .iter()
            .map(|r| r.id.get())
            .collect();
        if punishment == Some(Punishment::Ban) {
            http.remove_ban(guild, user, Some(&reason)).await?;
            given.unbanned = true;
        }
        if matches!(
            punishment,
            Some(Punishment::StripRoles | Punishment::Quarantine)
        ) {
            let policy = self.inner.detector.policy(incident.guild_discord_id);
            let quarantine = policy.and_then(|p| p.quarantine_role_id);
            let member = http.get_member(guild, user).await?;
            let mut roles: BTreeSet<u64> = member
                .roles
                .iter()
                .map(|r| r.get())
                .filter(|r| Some(*r) != quarantine)
                .collect();
            for r in &incident.stripped_role_ids {
                if existing.contains(r) && roles.insert(*r) {
                    given.roles += 1;
                }
            }
            let ids: Vec<String> = roles.iter().map(u64::to_string).collect();
            http.edit_member(guild, user, &json!({ "roles": ids }), Some(&reason))
                .await?;
        }
        for (role, permissions) in &incident.destroyed.roles_locked {
            if existing.contains(role)
                && http
                    .edit_role(
                        guild,
                        serenity::RoleId::new(*role),
                        &json!({ "permissions": permissions.to_string() }),
                        Some(&reason),
                    )
                    .await
                    .is_ok()
            {
                given.roles_unlocked += 1;
            }
        }
        if !incident.destroyed.roles_locked.is_empty() {
            let _ = http
                .edit_guild_incident_actions(
                    guild,
                    &json!({ "invites_disabled_until": null, "dms_disabled_until": null }),
                )
                .await;
        }
        persistence::append_response(
            &self.inner.db,
            id,
            json!([{"step": "false_positive", "ok": true, "by": by.to_string(),
                    "roles_given_back": given.roles, "unbanned": given.unbanned}]),
        )
        .await?;
        self.resolve(
            data,
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
        data: &Data,
        id: Uuid,
        from: IncidentStatus,
        to: IncidentStatus,
        by: u64,
        resolution: &str,
    ) -> Result<bool, AntinukeError> {
        let incident = persistence::find(&self.inner.db, id)
            .await?
            .ok_or(AntinukeError::UnknownIncident)?;
        let record = data.guilds.guild(incident.guild_discord_id).await?;
        let txn = self.inner.db.begin().await?;
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

fn audit_change(change: &serenity::model::guild::audit_log::Change) -> AuditChange {
    use serenity::model::guild::audit_log::Change;
    match change {
        Change::Permissions { old, new } => AuditChange::Permissions {
            old: old.map(|p| p.bits()),
            new: new.map(|p| p.bits()),
        },
        Change::RolesAdded { new, .. } => {
            AuditChange::RolesAdded(new.iter().flatten().map(|r| r.id.get()).collect())
        }
        Change::Name { .. } => AuditChange::Name,
        Change::VanityUrlCode { .. } => AuditChange::VanityUrlCode,
        _ => AuditChange::Other,
    }
}

/// What the responder needs, read from the cache.
fn cache_target(
    ctx: &serenity::Context,
    guild_id: serenity::GuildId,
    actor: serenity::UserId,
    bot: Option<u64>,
) -> Option<Target> {
    let g = ctx.cache.guild(guild_id)?;
    let member = g.members.get(&actor);
    let actor_is_bot = member
        .map(|m| m.user.bot)
        .or_else(|| ctx.cache.user(actor).map(|u| u.bot))
        .unwrap_or(false);
    let roles = g
        .roles
        .values()
        .map(|r| RoleInfo {
            id: r.id.get(),
            permissions: r.permissions.bits(),
            managed: r.managed,
            rank: Rank::of(i64::from(r.position), r.id.get()),
        })
        .collect();
    let bot_roles = bot
        .and_then(|b| g.members.get(&serenity::UserId::new(b)))
        .map(|m| m.roles.iter().map(|r| r.get()).collect())
        .unwrap_or_default();
    Some(Target {
        guild: guild_id.get(),
        actor: actor.get(),
        actor_is_bot,
        member_roles: member.map(|m| m.roles.iter().map(|r| r.get()).collect()),
        roles,
        bot_roles,
        everyone_role: guild_id.get(),
    })
}

/// Keeps every process's policy cache fresh after settings and plan changes, and resolves
/// incidents whose restore finished.
pub struct AntinukeConsumer {
    data: Data,
}

impl AntinukeConsumer {
    pub const NAME: &'static str = "antinuke";

    pub fn new(data: Data) -> Self {
        Self { data }
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
            let antinuke = &self.data.antinuke;
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
                                &self.data,
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
                        antinuke
                            .reload(&self.data, crate::ids::from_db(guild))
                            .await?;
                    }
                }
            }
            Ok(())
        }
        .boxed()
    }
}
