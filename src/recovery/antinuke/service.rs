//! Purpose: AntiNuke's event path and shared state. On GUILD_AUDIT_LOG_ENTRY_CREATE: who the
//! actor is and how they are counted (the owner and Umbra never; trusted and whitelisted people
//! not, judged with the roles they held BEFORE the entry and never with a trust-conferring role
//! someone other than the owner gave them; whitelisted bots with higher thresholds), what the
//! entry counts for (classification from serenity's cache), the detector's windows, and — when a
//! threshold is crossed — the punishment and the clean-up (trust and dangerous grants taken
//! back, bots the attacker added removed) at once. The after-the-fact work lives in
//! [`super::aftermath`], the owner's buttons in [`super::decisions`], protection health in
//! [`super::health`].

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use poise::serenity_prelude as serenity;
use sea_orm::DatabaseConnection;
use serenity::FullEvent;
use uuid::Uuid;

use super::detector::{Detector, Observation, Verdict};
use super::model::{self, AuditChange, Destroyed, Policy, Rank, RoleInfo, Standing};
use super::responder::{self, Target};
use crate::config::AntinukeConfig;
use crate::discord::bot::Bot;
use crate::discord::members::MemberIndex;
use crate::guild::{GuildError, GuildService};
use crate::licensing::LicensingReader;
use crate::recovery::restore::RestoreService;
use crate::recovery::snapshot::SnapshotService;
use crate::recovery::sync::SyncService;

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
    Discord(#[from] crate::discord::rest::RestError),
}

/// What "Restore what was destroyed" started.
#[derive(Debug, Clone, PartialEq)]
pub struct RestoreStarted {
    pub job: Option<Uuid>,
    /// Objects in the restore's scope.
    pub items: usize,
    /// Members whose ban the job makes the snapshot's (banned or unbanned by the attacker).
    pub bans_by_job: usize,
    /// Members the attacker banned, unbanned here (the snapshot had no ban list).
    pub unbanned: usize,
    pub webhooks_deleted: usize,
    /// Members the attacker unbanned, banned again.
    pub rebanned: usize,
    /// Timeouts the attacker gave, lifted.
    pub timeouts_lifted: usize,
}

/// What "False positive" gave back.
#[derive(Debug, Clone, PartialEq)]
pub struct GivenBack {
    pub roles: usize,
    pub unbanned: bool,
    /// The punishment was a kick: the member must be invited again.
    pub kicked: bool,
    pub roles_unlocked: usize,
    /// Roles the clean-up had taken back from other members, given back.
    pub grants_restored: usize,
    /// Bots the clean-up removed (they must be invited again).
    pub bots_removed: usize,
}

/// What AntiNuke uses of the rest of Umbra.
#[derive(Clone)]
pub struct Ports {
    /// Guild records, settings and AntiNuke settings; protection health is recorded there.
    pub guilds: GuildService,
    pub licensing: Arc<dyn LicensingReader>,
    /// The mirror's history (emergency snapshots "as of" before an attack).
    pub sync: SyncService,
    pub snapshots: SnapshotService,
    /// "Restore what was destroyed".
    pub restores: RestoreService,
    /// Punishments and clean-up go out through the REST port; the cache feeds health checks.
    pub bot: Bot,
}

pub(super) struct Inner {
    pub(super) detector: Detector,
    pub(super) config: AntinukeConfig,
    pub(super) db: DatabaseConnection,
    pub(super) guilds: GuildService,
    pub(super) licensing: Arc<dyn LicensingReader>,
    pub(super) sync: SyncService,
    pub(super) snapshots: SnapshotService,
    pub(super) restores: RestoreService,
    pub(super) bot: Bot,
    /// Bounds the after-the-fact work (snapshots) running at once.
    pub(super) heavy: tokio::sync::Semaphore,
    /// Incidents a live task of this process is handling (the periodic resume leaves them).
    pub(super) handling: Mutex<HashSet<Uuid>>,
}

impl Inner {
    /// Whether Umbra is stopping (its database pool closed).
    pub(super) fn closed(&self) -> bool {
        self.db.get_postgres_connection_pool().is_closed()
    }
}

/// AntiNuke: cheap to clone.
#[derive(Clone)]
pub struct AntinukeService {
    pub(super) inner: Arc<Inner>,
}

impl AntinukeService {
    pub fn new(config: AntinukeConfig, db: DatabaseConnection, ports: Ports) -> Self {
        let window = Duration::from_secs(config.dedupe_slot_seconds.max(1));
        Self {
            inner: Arc::new(Inner {
                detector: Detector::new(window),
                config,
                db,
                guilds: ports.guilds,
                licensing: ports.licensing,
                sync: ports.sync,
                snapshots: ports.snapshots,
                restores: ports.restores,
                bot: ports.bot,
                heavy: tokio::sync::Semaphore::new(2),
                handling: Mutex::new(HashSet::new()),
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

    /// `roles` of `member` without the trust-conferring ones someone other than the owner gave
    /// them (they confer nothing: for commands and buttons as for AntiNuke).
    pub fn trusted_roles(&self, guild: u64, member: u64, roles: &[u64]) -> Vec<u64> {
        self.inner.detector.untainted(guild, member, roles)
    }

    // ------------------------------------------------------------------ event path

    /// Handles a gateway event. Audit-log entries are decided from memory; when one crosses a
    /// threshold the punishment request is sent before this returns, and the rest of the
    /// response is spawned.
    pub async fn on_event(&self, ctx: &serenity::Context, event: &FullEvent) {
        match event {
            FullEvent::GuildAuditLogEntryCreate { entry, guild_id } => {
                self.on_audit_entry(ctx, *guild_id, entry).await;
            }
            FullEvent::GuildCreate { guild, .. } => {
                // Start-up and every new session: the policy, then what a crash may have left
                // unrecorded (from Discord's audit log), then the protection health.
                let (this, id) = (self.clone(), guild.id.get());
                let cache = ctx.cache.clone();
                tokio::spawn(async move {
                    this.reload_logged(id).await;
                    if this.policy(id).is_some_and(|p| p.enabled) {
                        this.reconcile_guild(id).await;
                    }
                    this.check_health(&cache, id).await;
                });
            }
            FullEvent::GuildUpdate { new_data, .. } => {
                let (this, id) = (self.clone(), new_data.id.get());
                tokio::spawn(async move { this.reload_logged(id).await });
            }
            FullEvent::GuildRoleCreate { new } => {
                self.health_soon(ctx, new.guild_id.get());
            }
            FullEvent::GuildRoleUpdate { new, .. } => {
                self.health_soon(ctx, new.guild_id.get());
            }
            FullEvent::GuildRoleDelete { guild_id, .. } => {
                self.health_soon(ctx, guild_id.get());
            }
            FullEvent::GuildMemberUpdate { event, .. }
                if self.inner.bot.user_id() == Some(event.user.id.get()) =>
            {
                self.health_soon(ctx, event.guild_id.get());
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
        let bot = self.inner.bot.user_id();
        if Some(actor) == bot {
            // Umbra itself: its punishments, lockdowns and restores.
            return;
        }
        let action_type = entry.action.num();
        let changes: Vec<AuditChange> = entry.changes.iter().flatten().map(audit_change).collect();
        let target = entry.target_id.map(|t| t.get());
        // Everything the decision needs from the cache, read without awaiting.
        let (standing, classified, owner) = {
            let Some(g) = ctx.cache.guild(guild_id) else {
                return;
            };
            // The actor as the gateway last said (the member index: serenity's cache keeps no
            // members).
            let member = self.inner.sync.members().member(guild, actor);
            let mut roles: Vec<u64> = member
                .as_ref()
                .map(|m| m.roles.to_vec())
                .unwrap_or_default();
            // Judged with the roles held BEFORE this entry: a change of the actor's own roles is
            // undone, and trust-conferring roles someone else gave them confer nothing.
            if action_type == model::audit::MEMBER_ROLE_UPDATE && target == Some(actor) {
                for c in &changes {
                    match c {
                        AuditChange::RolesAdded(added) => roles.retain(|r| !added.contains(r)),
                        AuditChange::RolesRemoved(removed) => roles.extend(removed),
                        _ => {}
                    }
                }
            }
            let roles = self.inner.detector.untainted(guild, actor, &roles);
            let is_bot = member.map(|m| m.bot).unwrap_or(false);
            let owner = g.owner_id.get() == actor || policy.owner_id == actor;
            let standing = if owner {
                Standing::Exempt
            } else {
                policy.standing(actor, &roles, is_bot)
            };
            let classified = model::classify(
                action_type,
                &changes,
                |r| {
                    g.roles
                        .get(&serenity::RoleId::new(r))
                        .map(|role| role.permissions.bits())
                },
                |r| policy.confers_trust(r),
            );
            (standing, classified, owner)
        };
        // Trust bookkeeping: a trust-conferring role given by anyone but the owner confers
        // nothing until it is taken back; taking it back (or the owner giving it) clears that.
        if action_type == model::audit::MEMBER_ROLE_UPDATE
            && let Some(member) = target
        {
            for c in &changes {
                if let AuditChange::RolesRemoved(removed) = c {
                    self.inner.detector.untaint(guild, member, removed);
                }
            }
            if !classified.trust_roles.is_empty() {
                if owner {
                    self.inner
                        .detector
                        .untaint(guild, member, &classified.trust_roles);
                } else {
                    self.inner
                        .detector
                        .taint(guild, member, &classified.trust_roles);
                }
            }
        }
        let (classes, factor) = match standing {
            Standing::Counted(factor) => (classified.classes.clone(), factor),
            // Giving out trust is counted for everyone but the owner.
            Standing::Exempt
                if !owner && classified.classes.contains(&model::ActionClass::TrustGrant) =>
            {
                (vec![model::ActionClass::TrustGrant], 1)
            }
            Standing::Exempt => return,
        };
        if classes.is_empty() {
            return;
        }
        let mut roles = classified.dangerous_roles.clone();
        roles.extend(&classified.trust_roles);
        let seen = Observation {
            classes,
            target,
            role_target: matches!(
                entry.action,
                serenity::model::guild::audit_log::Action::Role(_)
            ),
            roles,
            factor,
        };
        let verdict = self.inner.detector.observe(guild, actor, &seen, now, at);
        let detection = match verdict {
            Verdict::Detected(d) => d,
            Verdict::FollowUp(_) => {
                // A grant or a bot after the detection is cleaned up too.
                if seen.classes.iter().any(|c| {
                    matches!(
                        c,
                        model::ActionClass::TrustGrant
                            | model::ActionClass::PermissionGrant
                            | model::ActionClass::BotAdd
                    )
                }) {
                    let this = self.clone();
                    tokio::spawn(async move { this.clean_up_open(guild, actor).await });
                }
                return;
            }
            _ => return,
        };
        let Some(responder_target) =
            cache_target(ctx, self.inner.sync.members(), guild_id, actor, bot)
        else {
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
        let before = detection
            .incident
            .destroyed
            .lock()
            .map(|d| d.clone())
            .unwrap_or_default();
        let protect: HashSet<u64> = bot.into_iter().collect();
        let (outcome, cleaned) = tokio::join!(
            responder::respond(
                self.inner.bot.rest(),
                &responder_target,
                policy.punishment,
                policy.quarantine_role_id,
                lockdown,
                detection.incident.id,
                detection.crossed,
                detection.detected,
            ),
            responder::clean_up(
                self.inner.bot.rest(),
                guild,
                actor,
                detection.incident.id,
                &before,
                &protect
            ),
        );
        if let Ok(mut shared) = detection.incident.destroyed.lock() {
            shared.cleaned.bots_removed.extend(&cleaned.bots_removed);
            for (member, roles) in &cleaned.roles_taken_back {
                shared
                    .cleaned
                    .roles_taken_back
                    .entry(*member)
                    .or_default()
                    .extend(roles);
            }
        }
        tracing::warn!(
            guild,
            actor,
            crossed = detection.crossed.as_str(),
            count = detection.crossed.count(),
            punishment = ?outcome.punishment,
            blocker = ?outcome.blocker,
            elapsed_ms = now.elapsed().as_millis() as u64,
            "AntiNuke: threshold crossed, actor punished"
        );
        let this = self.clone();
        let is_bot = responder_target.actor_is_bot;
        tokio::spawn(async move {
            this.after_detection(*detection, outcome, is_bot).await;
        });
    }

    /// Takes back what an actor with an open incident granted after the detection (and removes
    /// the bots they added), recording it with the incident.
    async fn clean_up_open(&self, guild: u64, actor: u64) {
        let Some(open) = self.inner.detector.open_incident(guild, actor) else {
            return;
        };
        let destroyed = open.destroyed.lock().map(|d| d.clone()).unwrap_or_default();
        let protect: HashSet<u64> = self.inner.bot.user_id().into_iter().collect();
        let cleaned = responder::clean_up(
            self.inner.bot.rest(),
            guild,
            actor,
            open.id,
            &destroyed,
            &protect,
        )
        .await;
        if let Ok(mut shared) = open.destroyed.lock() {
            shared.cleaned.bots_removed.extend(&cleaned.bots_removed);
            for (member, roles) in &cleaned.roles_taken_back {
                shared
                    .cleaned
                    .roles_taken_back
                    .entry(*member)
                    .or_default()
                    .extend(roles);
            }
        }
        open.wake.notify_one();
    }

    // ------------------------------------------------------------------ policy cache

    /// Reads the guild's settings, AntiNuke settings and plan, and installs the policy.
    pub async fn reload(&self, guild: u64) -> Result<(), AntinukeError> {
        use crate::guild::GuildReader;
        let record = match self.inner.guilds.guild(guild).await? {
            Some(r) => r,
            None => return Ok(()),
        };
        let settings = match self.inner.guilds.settings(guild).await {
            Ok(s) => s,
            Err(GuildError::UnknownGuild(_)) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let antinuke = self.inner.guilds.antinuke(guild).await?;
        let features = self
            .inner
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

    pub(super) async fn reload_logged(&self, guild: u64) {
        if let Err(e) = self.reload(guild).await {
            tracing::warn!(guild, error = %e, "AntiNuke: loading the guild's settings failed; retrying at the next refresh");
        }
    }
}

pub(super) fn audit_change(change: &serenity::model::guild::audit_log::Change) -> AuditChange {
    use serenity::model::guild::audit_log::Change;
    match change {
        Change::Permissions { old, new } => AuditChange::Permissions {
            old: old.map(|p| p.bits()),
            new: new.map(|p| p.bits()),
        },
        Change::Allow { old, new } => AuditChange::Allow {
            old: old.map(|p| p.bits()),
            new: new.map(|p| p.bits()),
        },
        Change::PermissionOverwrites { new, .. } => {
            AuditChange::Overwrites(new.iter().flatten().map(|o| o.allow.bits()).collect())
        }
        Change::RolesAdded { new, .. } => {
            AuditChange::RolesAdded(new.iter().flatten().map(|r| r.id.get()).collect())
        }
        Change::RolesRemove { new, .. } => {
            AuditChange::RolesRemoved(new.iter().flatten().map(|r| r.id.get()).collect())
        }
        Change::CommunicationDisabledUntil { new, .. } => AuditChange::TimeoutUntil(
            new.and_then(|t| chrono::DateTime::from_timestamp(t.unix_timestamp(), 0)),
        ),
        Change::Enabled { new, .. } => AuditChange::Enabled(*new),
        Change::Name { .. } => AuditChange::Name,
        Change::VanityUrlCode { .. } => AuditChange::VanityUrlCode,
        _ => AuditChange::Other,
    }
}

/// What the responder needs, read from the cache (roles) and the member index (members).
fn cache_target(
    ctx: &serenity::Context,
    members: &MemberIndex,
    guild_id: serenity::GuildId,
    actor: u64,
    bot: Option<u64>,
) -> Option<Target> {
    let g = ctx.cache.guild(guild_id)?;
    let member = members.member(guild_id.get(), actor);
    let actor_is_bot = member.as_ref().is_some_and(|m| m.bot);
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
        .and_then(|b| members.member(guild_id.get(), b))
        .map(|m| m.roles.to_vec())
        .unwrap_or_default();
    Some(Target {
        guild: guild_id.get(),
        actor,
        actor_is_bot,
        member_roles: member.map(|m| m.roles.to_vec()),
        roles,
        bot_roles,
        everyone_role: guild_id.get(),
    })
}

/// What the actor destroyed, as recorded so far (shared with the incident's task).
pub(super) fn snapshot_of(d: &Arc<Mutex<Destroyed>>) -> Destroyed {
    d.lock().map(|d| d.clone()).unwrap_or_default()
}
