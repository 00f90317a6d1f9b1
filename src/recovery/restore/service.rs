//! Purpose: restore use cases — preview (plan a snapshot against the live state and store it
//! with its hash and expiry), confirm (re-plan: an expired or changed preview is shown again,
//! never run blindly; one queued/running job per guild), cancel (a preview, or a running job),
//! status and history, the AntiNuke entry point [`RestoreService::start`] (no preview), and the
//! job lifecycle events (started / completed / failed / cancelled) written with their status
//! change. Guild, plan and member data come through ports and live sync.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, DbErr};
use serde_json::json;
use tokio::sync::{Notify, watch};
use uuid::Uuid;

use super::executor::CrashPoint;
use super::model::{Components, Mode, Plan, RunState, Scope};
use super::persistence::{self, JobRow, NewJob};
use super::planner::{self, PlanInput};
use super::ports::PunishedActors;
use crate::guild::{GuildError, GuildReader, GuildRecord};
use crate::ids::to_db;
use crate::licensing::{LicensingError, LicensingReader};
use crate::outbox::{self, NewEvent, event_types};
use crate::recovery::snapshot::{SnapshotError, SnapshotMeta, SnapshotService};
use crate::recovery::sync::{SyncError, SyncService, SyncState};

/// Jobs shown by `/restore history`.
pub const HISTORY_LIMIT: u32 = 10;

#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("guild {0} is not known to Umbra")]
    UnknownGuild(u64),
    #[error("the guild's mirror is not live yet")]
    NotSynced,
    #[error("no such snapshot in this guild")]
    SnapshotNotFound,
    #[error("the snapshot is damaged")]
    SnapshotCorrupt,
    #[error("no such restore job in this guild")]
    NotFound,
    #[error("a restore is already queued or running in this guild")]
    AlreadyActive,
    #[error("the restore is {0}, not a preview waiting for confirmation")]
    NotPreview(String),
    #[error("the stored plan cannot be read: {0}")]
    BadPlan(String),
    #[error(transparent)]
    Database(#[from] DbErr),
    #[error(transparent)]
    Snapshot(SnapshotError),
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    Guild(#[from] GuildError),
    #[error(transparent)]
    Licensing(#[from] LicensingError),
    #[error("a background task failed: {0}")]
    Join(String),
    #[error("member pulls need re-join links, which need the web login")]
    NoLinks,
    #[error("members of another server are brought only by the owner of both servers")]
    NotOwnerOfBoth,
    #[error("reading the re-join links failed: {0}")]
    Links(String),
}

impl From<SnapshotError> for RestoreError {
    fn from(e: SnapshotError) -> Self {
        match e {
            SnapshotError::NotFound => RestoreError::SnapshotNotFound,
            SnapshotError::Corrupt(_) => RestoreError::SnapshotCorrupt,
            SnapshotError::UnknownGuild(g) => RestoreError::UnknownGuild(g),
            other => RestoreError::Snapshot(other),
        }
    }
}

/// Restore tuning (from `[restore]`).
#[derive(Debug, Clone)]
pub struct RestoreSettings {
    pub preview_ttl: Duration,
    pub lease: Duration,
    pub heartbeat: Duration,
    pub poll_interval: Duration,
    pub progress_interval: Duration,
    pub record_interval: Duration,
    pub bucket_concurrency: usize,
    pub max_in_flight: usize,
    pub retries: u32,
    pub max_jobs: usize,
    pub runner_enabled: bool,
    /// One call at a time (the benchmark's naive baseline).
    pub sequential: bool,
    /// How long a risky restore waits for the owner's approval.
    pub approval_ttl: Duration,
}

/// What AntiNuke (or any caller) asks for: a restore queued at once, without a preview.
#[derive(Debug, Clone)]
pub struct RestoreRequest {
    pub guild: u64,
    pub snapshot_id: Uuid,
    pub mode: Mode,
    pub components: Components,
    /// Only these original role/channel ids and member ids (`None`: everything).
    pub scope: Option<Scope>,
    pub requested_by: u64,
    pub incident_id: Option<Uuid>,
    /// Must be true: the caller takes responsibility for skipping the preview.
    pub confirmed: bool,
}

/// A stored preview.
#[derive(Debug, Clone)]
pub struct Preview {
    pub job_id: Uuid,
    pub plan: Arc<Plan>,
    pub plan_hash: [u8; 32],
    pub expires_at: DateTime<Utc>,
    pub snapshot: SnapshotMeta,
}

/// The answer to a Confirm click.
#[derive(Debug, Clone)]
pub enum Confirmed {
    /// Queued for the runner.
    Queued(Uuid),
    /// The preview expired or the guild changed: this is the new plan, to confirm again.
    Replanned(Box<Preview>),
    /// A risky restore confirmed by someone other than the owner: the owner was asked (why).
    AwaitingApproval(Vec<ApprovalReason>),
}

/// Why a restore needs the owner's approval when someone else confirms it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalReason {
    /// It restores an imported file (or another server's snapshot).
    Import,
    /// Mirror mode: it deletes what the snapshot lacks.
    Mirror,
    /// It grants dangerous permissions.
    Grants,
}

impl ApprovalReason {
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalReason::Import => "import",
            ApprovalReason::Mirror => "mirror",
            ApprovalReason::Grants => "grants",
        }
    }

    /// The reasons a restore of `snapshot` with `plan` needs the owner's approval.
    pub fn of(plan: &Plan, snapshot: &SnapshotMeta) -> Vec<ApprovalReason> {
        let mut out = Vec::new();
        if snapshot.trigger == crate::recovery::snapshot::Trigger::Import
            || plan.snapshot_guild_id != plan.guild_id
        {
            out.push(ApprovalReason::Import);
        }
        if plan.mode == Mode::Mirror {
            out.push(ApprovalReason::Mirror);
        }
        if plan.risks.grants() {
            out.push(ApprovalReason::Grants);
        }
        out
    }
}

/// The owner's decision on a risky restore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApprovalDecision {
    /// Approved: queued.
    Queued(Uuid),
    Refused,
    /// The guild changed since (a new preview is needed), or the request lapsed.
    Stale,
    /// Nothing was waiting (decided already).
    Unknown,
}

/// A job for display.
#[derive(Debug, Clone)]
pub struct JobView {
    pub row: JobRow,
    pub plan: Option<Arc<Plan>>,
}

struct Inner {
    db: DatabaseConnection,
    sync: SyncService,
    snapshots: SnapshotService,
    guilds: Arc<dyn GuildReader>,
    licensing: Arc<dyn LicensingReader>,
    punished: Arc<dyn PunishedActors>,
    settings: RestoreSettings,
    /// A job was queued (wakes this process's runner).
    wake: Notify,
    /// Cancel signals of the jobs this process runs.
    /// Keyed by job, with the fencing counter of the run: a process that took its own job
    /// over (a late heartbeat let the lease lapse) has two runs of it, and the old one's
    /// signals and clean-up must never reach the new one.
    running: Mutex<HashMap<Uuid, (i64, watch::Sender<bool>)>>,
    /// Test hook: the runner stops like a killed process at this point.
    crash: Mutex<Option<CrashPoint>>,
    /// The bot's user id, learned by the runner once the gateway is ready.
    bot: std::sync::OnceLock<u64>,
    /// Test hook: the crash point fired (the runner stopped like a killed process).
    crashed: std::sync::atomic::AtomicBool,
    /// Members' re-join grants (member pulls), given once the member domain is built.
    grants: std::sync::OnceLock<Arc<dyn super::ports::MemberGrants>>,
}

/// Restores. Cheap to clone.
#[derive(Clone)]
pub struct RestoreService {
    inner: Arc<Inner>,
}

impl RestoreService {
    pub fn new(
        db: DatabaseConnection,
        sync: SyncService,
        snapshots: SnapshotService,
        guilds: Arc<dyn GuildReader>,
        licensing: Arc<dyn LicensingReader>,
        punished: Arc<dyn PunishedActors>,
        settings: RestoreSettings,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                db,
                sync,
                snapshots,
                guilds,
                licensing,
                punished,
                settings,
                wake: Notify::new(),
                running: Mutex::new(HashMap::new()),
                crash: Mutex::new(None),
                bot: std::sync::OnceLock::new(),
                crashed: std::sync::atomic::AtomicBool::new(false),
                grants: std::sync::OnceLock::new(),
            }),
        }
    }

    /// Gives the restores members' re-join grants (member pulls).
    pub fn set_grants(&self, grants: Arc<dyn super::ports::MemberGrants>) {
        let _ = self.inner.grants.set(grants);
    }

    pub(super) fn grants(&self) -> Option<Arc<dyn super::ports::MemberGrants>> {
        self.inner.grants.get().cloned()
    }

    pub fn settings(&self) -> &RestoreSettings {
        &self.inner.settings
    }

    pub(super) fn db(&self) -> &DatabaseConnection {
        &self.inner.db
    }

    pub(super) fn snapshots(&self) -> &SnapshotService {
        &self.inner.snapshots
    }

    pub(super) fn guilds(&self) -> &Arc<dyn GuildReader> {
        &self.inner.guilds
    }

    pub(super) async fn woken(&self) {
        self.inner.wake.notified().await;
    }

    /// Test hook: make this process's runner stop like a killed process (no clean-up, lease
    /// kept) at `point` of the next job it runs.
    pub fn crash_at(&self, point: Option<CrashPoint>) {
        if let Ok(mut c) = self.inner.crash.lock() {
            *c = point;
        }
    }

    /// Test hook: whether the crash point fired in this process.
    pub fn crashed(&self) -> bool {
        self.inner.crashed.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub(super) fn mark_crashed(&self) {
        self.inner
            .crashed
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub(super) fn take_crash_point(&self) -> Option<CrashPoint> {
        self.inner.crash.lock().ok().and_then(|mut c| c.take())
    }

    /// Registers the run of `job` under claim `fencing` (a newer claim replaces an older one,
    /// whose channel then closes: the old run stops). Returns its cancel signal.
    pub(super) fn register(&self, job: Uuid, fencing: i64) -> watch::Receiver<bool> {
        let (tx, rx) = watch::channel(false);
        if let Ok(mut map) = self.inner.running.lock()
            && map.get(&job).is_none_or(|(f, _)| *f <= fencing)
        {
            map.insert(job, (fencing, tx));
        }
        rx
    }

    /// Ends the registration of the run `fencing` of `job` (a newer run's stays).
    pub(super) fn unregister(&self, job: Uuid, fencing: i64) {
        if let Ok(mut map) = self.inner.running.lock()
            && map.get(&job).is_some_and(|(f, _)| *f == fencing)
        {
            map.remove(&job);
        }
    }

    /// A person (or a rule) cancels `job`: its current run stops.
    pub(super) fn signal_cancel(&self, job: Uuid) {
        if let Ok(map) = self.inner.running.lock()
            && let Some((_, tx)) = map.get(&job)
        {
            let _ = tx.send(true);
        }
    }

    /// Stops the run `fencing` of `job` only (its heartbeat saw a cancel request, or saw the
    /// job taken over).
    pub(super) fn signal_run(&self, job: Uuid, fencing: i64) {
        if let Ok(map) = self.inner.running.lock()
            && let Some((f, tx)) = map.get(&job)
            && *f == fencing
        {
            let _ = tx.send(true);
        }
    }

    async fn record(&self, guild: u64) -> Result<GuildRecord, RestoreError> {
        self.inner
            .guilds
            .guild(guild)
            .await?
            .ok_or(RestoreError::UnknownGuild(guild))
    }

    /// Plans `snapshot` against the guild now.
    #[allow(clippy::too_many_arguments)]
    async fn make_plan(
        &self,
        guild: u64,
        record: &GuildRecord,
        snapshot: Uuid,
        mode: Mode,
        components: Components,
        scope: Option<Scope>,
        bot_user_id: u64,
        source: Option<&GuildRecord>,
    ) -> Result<(SnapshotMeta, Plan), RestoreError> {
        let status = self.inner.sync.status(guild).await?;
        if status.state != Some(SyncState::Live) {
            return Err(RestoreError::NotSynced);
        }
        // A pull from another server reads that server's snapshot (this server's own, e.g. an
        // import, is found first).
        let (meta, doc) = match self.inner.snapshots.document(guild, snapshot).await {
            Err(SnapshotError::NotFound) if source.is_some() => {
                let from = source.map_or(guild, |s| s.discord_id);
                self.inner.snapshots.document(from, snapshot).await?
            }
            other => other?,
        };
        let state = self
            .inner
            .sync
            .state_as_of(guild, None)
            .await?
            .ok_or(RestoreError::NotSynced)?;
        let member_limit = self
            .inner
            .licensing
            .entitlements(guild)
            .await?
            .plan
            .member_restore_limit;
        // The punished attacker of an open incident keeps their punishment, whatever restore.
        let excluded_members = self
            .inner
            .punished
            .punished_actors(record.id)
            .await?
            .into_iter()
            .collect();
        // A member pull adds back the members with a live re-join link.
        let linked = if components.has(super::model::Component::Pull) {
            let grants = self.grants().ok_or(RestoreError::NoLinks)?;
            grants
                .linked(source.unwrap_or(record).id)
                .await
                .map_err(RestoreError::Links)?
                .into_iter()
                .collect()
        } else {
            std::collections::BTreeSet::new()
        };
        let owner = record.owner_discord_id;
        let plan = tokio::task::spawn_blocking(move || {
            planner::plan(&PlanInput {
                snapshot_id: meta_id(snapshot),
                doc: &doc,
                current: &state,
                owner_id: owner,
                bot_user_id,
                mode,
                components,
                scope,
                member_limit,
                excluded_members,
                linked,
            })
        })
        .await
        .map_err(|e| RestoreError::Join(e.to_string()))?;
        Ok((meta, plan))
    }

    /// `/restore preview`: plans the snapshot (found by id, short id or label among this
    /// guild's snapshots: another guild's snapshot is not found unless imported here) and
    /// stores the preview.
    pub async fn preview(
        &self,
        guild: u64,
        snapshot_ref: &str,
        mode: Mode,
        components: Components,
        requested_by: u64,
        bot_user_id: u64,
    ) -> Result<Preview, RestoreError> {
        let record = self.record(guild).await?;
        let meta = self.inner.snapshots.find(guild, snapshot_ref).await?;
        self.store_preview(
            &record,
            meta.id,
            mode,
            components,
            requested_by,
            bot_user_id,
            None,
        )
        .await
    }

    /// The snapshot a pull takes roles and nicknames from by default: the newest one taken
    /// before the first linked member who is gone left (a later one — the pre-restore
    /// snapshot of a restore, a scheduled one after the nuke — no longer has them), else the
    /// newest.
    async fn snapshot_before_they_left(&self, guild: u64) -> Result<SnapshotMeta, RestoreError> {
        let record = self.record(guild).await?;
        let grants = self.grants().ok_or(RestoreError::NoLinks)?;
        let left = grants
            .first_left(record.id)
            .await
            .map_err(RestoreError::Links)?;
        let list = self.inner.snapshots.list(guild).await?;
        let before = left.and_then(|t| list.iter().find(|m| m.as_of <= t).cloned());
        before
            .or_else(|| list.into_iter().next())
            .ok_or(RestoreError::SnapshotNotFound)
    }

    /// The server a stored pull's members come from, when it is not `guild` (a pull into a
    /// new server: the snapshot and the links are the old server's).
    async fn pull_source(
        &self,
        plan: &Plan,
        guild: u64,
    ) -> Result<Option<GuildRecord>, RestoreError> {
        if !plan.components.has(super::model::Component::Pull) || plan.snapshot_guild_id == guild {
            return Ok(None);
        }
        Ok(self.inner.guilds.guild(plan.snapshot_guild_id).await?)
    }

    /// Plans `snapshot` against `record`'s guild now and stores the preview.
    #[allow(clippy::too_many_arguments)]
    async fn store_preview(
        &self,
        record: &GuildRecord,
        snapshot: Uuid,
        mode: Mode,
        components: Components,
        requested_by: u64,
        bot_user_id: u64,
        source: Option<&GuildRecord>,
    ) -> Result<Preview, RestoreError> {
        let guild = record.discord_id;
        let (meta, plan) = self
            .make_plan(
                guild,
                record,
                snapshot,
                mode,
                components,
                None,
                bot_user_id,
                source,
            )
            .await?;
        let hash = plan_hash(&plan)?;
        let job_id = Uuid::now_v7();
        persistence::insert(
            &self.inner.db,
            &NewJob {
                id: job_id,
                guild_row: record.id,
                snapshot_id: meta.id,
                incident_id: None,
                requested_by,
                confirmed_by: None,
                mode: mode.as_str().into(),
                components: plan.components.names(),
                plan: plan_json(&plan)?,
                plan_hash: hash.to_vec(),
                total_steps: total(&plan),
                ttl: self.inner.settings.preview_ttl,
            },
        )
        .await?;
        let row = persistence::get(&self.inner.db, record.id, job_id)
            .await?
            .ok_or(RestoreError::NotFound)?;
        Ok(Preview {
            job_id,
            plan: Arc::new(plan),
            plan_hash: hash,
            expires_at: row.expires_at,
            snapshot: meta,
        })
    }

    /// `/members pull`: the preview of adding back the members who left but linked their
    /// account, with the roles and nickname `snapshot_ref` (default: the newest snapshot taken
    /// before they left) has for them; members still there get theirs back too.
    pub async fn preview_pull(
        &self,
        guild: u64,
        source: Option<u64>,
        snapshot_ref: Option<&str>,
        requested_by: u64,
        bot_user_id: u64,
    ) -> Result<Preview, RestoreError> {
        if self.grants().is_none() {
            return Err(RestoreError::NoLinks);
        }
        let record = self.record(guild).await?;
        // Members of another server (the old one, when a server moved): the owner of both.
        let source = match source.filter(|s| *s != guild) {
            Some(s) => {
                let from = self.record(s).await?;
                if from.owner_discord_id != requested_by || record.owner_discord_id != requested_by
                {
                    return Err(RestoreError::NotOwnerOfBoth);
                }
                Some(from)
            }
            None => None,
        };
        let from = source.as_ref().map_or(guild, |s| s.discord_id);
        let snapshot = match snapshot_ref.map(str::trim).filter(|s| !s.is_empty()) {
            Some(r) => self.inner.snapshots.find(from, r).await?,
            None => self.snapshot_before_they_left(from).await?,
        };
        let components = Components::of(&[
            super::model::Component::Members,
            super::model::Component::Pull,
        ])
        .ok_or(RestoreError::NoLinks)?;
        self.store_preview(
            &record,
            snapshot.id,
            Mode::Merge,
            components,
            requested_by,
            bot_user_id,
            source.as_ref(),
        )
        .await
    }

    /// The Confirm button: re-plans against the guild now; runs only what was previewed.
    pub async fn confirm(
        &self,
        guild: u64,
        job_id: Uuid,
        actor: u64,
        bot_user_id: u64,
    ) -> Result<Confirmed, RestoreError> {
        let record = self.record(guild).await?;
        let row = persistence::get(&self.inner.db, record.id, job_id)
            .await?
            .ok_or(RestoreError::NotFound)?;
        if !matches!(row.status.as_str(), "previewed" | "expired") {
            return Err(RestoreError::NotPreview(row.status));
        }
        let old = parse_plan(&row.plan)?;
        let snapshot = row.snapshot_id.ok_or(RestoreError::SnapshotNotFound)?;
        let source = self.pull_source(&old, guild).await?;
        if source.as_ref().is_some_and(|s| s.owner_discord_id != actor) {
            // Members of another server are brought only by the owner of both.
            return Err(RestoreError::NotOwnerOfBoth);
        }
        let (meta, plan) = self
            .make_plan(
                guild,
                &record,
                snapshot,
                old.mode,
                old.components.clone(),
                old.scope.clone(),
                bot_user_id,
                source.as_ref(),
            )
            .await?;
        let hash = plan_hash(&plan)?;
        let expired = row.status == "expired" || row.expires_at <= Utc::now();
        if expired || hash.as_slice() != row.plan_hash.as_slice() {
            let ttl = self.inner.settings.preview_ttl;
            let id = if row.status == "expired" {
                // An expired preview is closed: a new one takes its place.
                let id = Uuid::now_v7();
                persistence::insert(
                    &self.inner.db,
                    &NewJob {
                        id,
                        guild_row: record.id,
                        snapshot_id: meta.id,
                        incident_id: row.incident_id,
                        requested_by: actor,
                        confirmed_by: None,
                        mode: plan.mode.as_str().into(),
                        components: plan.components.names(),
                        plan: plan_json(&plan)?,
                        plan_hash: hash.to_vec(),
                        total_steps: total(&plan),
                        ttl,
                    },
                )
                .await?;
                id
            } else {
                persistence::replan(
                    &self.inner.db,
                    job_id,
                    plan_json(&plan)?,
                    hash.to_vec(),
                    total(&plan),
                    ttl,
                )
                .await?;
                job_id
            };
            let row = persistence::get(&self.inner.db, record.id, id)
                .await?
                .ok_or(RestoreError::NotFound)?;
            return Ok(Confirmed::Replanned(Box::new(Preview {
                job_id: id,
                plan: Arc::new(plan),
                plan_hash: hash,
                expires_at: row.expires_at,
                snapshot: meta,
            })));
        }
        // A risky restore by someone other than the owner waits for the owner.
        let reasons = ApprovalReason::of(&plan, &meta);
        if actor != record.owner_discord_id && !reasons.is_empty() {
            let names: Vec<&str> = reasons.iter().map(|r| r.as_str()).collect();
            let txn = crate::db::Tx::begin_on(&self.inner.db).await?;
            if persistence::request_approval(
                &txn,
                job_id,
                actor,
                &hash,
                &names,
                self.inner.settings.approval_ttl,
            )
            .await?
            {
                outbox::append(
                    &txn,
                    approval_event(&record, &row, &plan, &meta, actor, &reasons),
                )
                .await?;
            }
            txn.commit().await?;
            return Ok(Confirmed::AwaitingApproval(reasons));
        }
        match persistence::confirm(&self.inner.db, job_id, actor, &hash).await {
            Ok(true) => {
                self.inner.wake.notify_one();
                Ok(Confirmed::Queued(job_id))
            }
            Ok(false) => Err(RestoreError::NotPreview("changed".into())),
            Err(e) if persistence::is_active_conflict(&e) => Err(RestoreError::AlreadyActive),
            Err(e) => Err(e.into()),
        }
    }

    /// The owner's Approve or Refuse of a risky restore someone else confirmed (the caller
    /// checked that `owner` is the guild's owner). Approval re-plans first: a guild that
    /// changed since needs a new preview.
    pub async fn decide_approval(
        &self,
        guild: u64,
        job_id: Uuid,
        owner: u64,
        approve: bool,
        bot_user_id: u64,
    ) -> Result<ApprovalDecision, RestoreError> {
        let record = self.record(guild).await?;
        let row = persistence::get(&self.inner.db, record.id, job_id)
            .await?
            .ok_or(RestoreError::NotFound)?;
        if row.status != "previewed" || row.approval_state() != Some("pending") {
            return Ok(ApprovalDecision::Unknown);
        }
        if !approve {
            persistence::decide_approval(&self.inner.db, job_id, owner, false, &row.plan_hash)
                .await?;
            return Ok(ApprovalDecision::Refused);
        }
        let old = parse_plan(&row.plan)?;
        let snapshot = row.snapshot_id.ok_or(RestoreError::SnapshotNotFound)?;
        let source = self.pull_source(&old, guild).await?;
        let (_, plan) = self
            .make_plan(
                guild,
                &record,
                snapshot,
                old.mode,
                old.components.clone(),
                old.scope.clone(),
                bot_user_id,
                source.as_ref(),
            )
            .await?;
        let hash = plan_hash(&plan)?;
        if hash.as_slice() != row.plan_hash.as_slice() || row.expires_at <= Utc::now() {
            return Ok(ApprovalDecision::Stale);
        }
        match persistence::decide_approval(&self.inner.db, job_id, owner, true, &hash).await {
            Ok(true) => {
                self.inner.wake.notify_one();
                Ok(ApprovalDecision::Queued(job_id))
            }
            Ok(false) => Ok(ApprovalDecision::Stale),
            Err(e) if persistence::is_active_conflict(&e) => Err(RestoreError::AlreadyActive),
            Err(e) => Err(e.into()),
        }
    }

    /// The preview's Cancel button.
    pub async fn cancel_preview(&self, guild: u64, job_id: Uuid) -> Result<(), RestoreError> {
        let record = self.record(guild).await?;
        let row = persistence::get(&self.inner.db, record.id, job_id)
            .await?
            .ok_or(RestoreError::NotFound)?;
        if row.status != "previewed" {
            return Err(RestoreError::NotPreview(row.status));
        }
        persistence::close_preview(&self.inner.db, job_id, "cancelled").await?;
        Ok(())
    }

    /// `/restore cancel` (or the progress message's button): asks the guild's queued or running
    /// job to stop; in-flight calls finish, nothing new starts. Returns the job.
    pub async fn cancel(&self, guild: u64, job: Option<Uuid>) -> Result<Uuid, RestoreError> {
        let record = self.record(guild).await?;
        let id = persistence::request_cancel(&self.inner.db, record.id, job)
            .await?
            .ok_or(RestoreError::NotFound)?;
        self.signal_cancel(id);
        self.inner.wake.notify_one();
        Ok(id)
    }

    /// AntiNuke's entry point: queues a restore at once (no preview, no buttons).
    pub async fn start(&self, request: RestoreRequest) -> Result<Uuid, RestoreError> {
        if !request.confirmed {
            return Err(RestoreError::NotPreview("not confirmed".into()));
        }
        let record = self.record(request.guild).await?;
        let (meta, plan) = self
            .make_plan(
                request.guild,
                &record,
                request.snapshot_id,
                request.mode,
                request.components.clone(),
                request.scope.clone(),
                self.bot_user_id_hint(),
                None,
            )
            .await?;
        let hash = plan_hash(&plan)?;
        let id = Uuid::now_v7();
        let result = persistence::insert(
            &self.inner.db,
            &NewJob {
                id,
                guild_row: record.id,
                snapshot_id: meta.id,
                incident_id: request.incident_id,
                requested_by: request.requested_by,
                confirmed_by: Some(request.requested_by),
                mode: plan.mode.as_str().into(),
                components: plan.components.names(),
                plan: plan_json(&plan)?,
                plan_hash: hash.to_vec(),
                total_steps: total(&plan),
                ttl: self.inner.settings.preview_ttl,
            },
        )
        .await;
        match result {
            Ok(()) => {
                self.inner.wake.notify_one();
                Ok(id)
            }
            Err(e) if persistence::is_active_conflict(&e) => Err(RestoreError::AlreadyActive),
            Err(e) => Err(e.into()),
        }
    }

    /// The bot's user id for planning a job nobody previewed (0 = not known yet: Discord
    /// decides about the hierarchy at execution).
    fn bot_user_id_hint(&self) -> u64 {
        self.inner.bot.get().copied().unwrap_or(0)
    }

    pub(super) fn learn_bot(&self, id: u64) {
        let _ = self.inner.bot.set(id);
    }

    /// The guild's running or queued job, else its latest one.
    pub async fn status(&self, guild: u64) -> Result<Option<JobView>, RestoreError> {
        let record = self.record(guild).await?;
        let row = match persistence::active(&self.inner.db, record.id).await? {
            Some(r) => Some(r),
            None => persistence::list(&self.inner.db, record.id, 1)
                .await?
                .into_iter()
                .next(),
        };
        Ok(row.map(|row| JobView {
            plan: parse_plan(&row.plan).ok().map(Arc::new),
            row,
        }))
    }

    /// One job of the guild.
    pub async fn job(&self, guild: u64, id: Uuid) -> Result<JobView, RestoreError> {
        let record = self.record(guild).await?;
        let row = persistence::get(&self.inner.db, record.id, id)
            .await?
            .ok_or(RestoreError::NotFound)?;
        Ok(JobView {
            plan: parse_plan(&row.plan).ok().map(Arc::new),
            row,
        })
    }

    /// The guild's last jobs, newest first.
    pub async fn history(&self, guild: u64) -> Result<Vec<JobRow>, RestoreError> {
        let record = self.record(guild).await?;
        Ok(persistence::list(&self.inner.db, record.id, HISTORY_LIMIT).await?)
    }

    /// Where the job's progress is shown (the confirmed preview message).
    pub async fn show_progress_in(
        &self,
        job: Uuid,
        message: serde_json::Value,
    ) -> Result<(), RestoreError> {
        persistence::set_progress_message(&self.inner.db, job, message).await?;
        Ok(())
    }

    /// The outbox event of a job's lifecycle.
    pub(super) fn event(
        kind: &'static str,
        record: &GuildRecord,
        row: &JobRow,
        state: Option<&RunState>,
        extra: serde_json::Value,
    ) -> NewEvent {
        let (done, failed) = state.map_or((row.done_steps, row.failed_steps), |s| {
            (
                i32::try_from(s.done.len()).unwrap_or(i32::MAX),
                i32::try_from(s.failed.len()).unwrap_or(i32::MAX),
            )
        });
        let mut payload = json!({
            "job_id": row.id,
            "snapshot_id": row.snapshot_id,
            "incident_id": row.incident_id,
            "mode": row.mode,
            "components": row.components.join(", "),
            "total": row.total_steps,
            "done": done,
            "failed": failed,
            "guild_name": record.name,
            "owner_discord_id": record.owner_discord_id.to_string(),
            "actor_discord_id": row.confirmed_by.unwrap_or(row.requested_by).to_string(),
        });
        if let (Some(map), Some(extra)) = (payload.as_object_mut(), extra.as_object()) {
            map.extend(extra.clone());
        }
        NewEvent::new(kind, "restore_job", row.id.to_string(), payload)
            .in_guild(to_db(record.discord_id))
    }

    /// Ends a job with its status, report and event in one transaction (fenced).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn finish(
        &self,
        record: &GuildRecord,
        row: &JobRow,
        fencing: Option<i64>,
        status: &str,
        state: Option<&RunState>,
        report: serde_json::Value,
        extra: serde_json::Value,
    ) -> Result<bool, RestoreError> {
        let kind = match status {
            "completed" => event_types::RESTORE_COMPLETED,
            "cancelled" => event_types::RESTORE_CANCELLED,
            _ => event_types::RESTORE_FAILED,
        };
        let txn = crate::db::Tx::begin_on(&self.inner.db).await?;
        if !persistence::finish(&txn, row.id, fencing, status, report).await? {
            txn.rollback().await?;
            return Ok(false);
        }
        outbox::append(&txn, Self::event(kind, record, row, state, extra)).await?;
        txn.commit().await?;
        Ok(true)
    }

    /// Claims a job for `owner` (and writes its `started` event on its first claim).
    pub(super) async fn claim(&self, owner: &str) -> Result<Option<JobRow>, RestoreError> {
        let txn = crate::db::Tx::begin_on(&self.inner.db).await?;
        let Some((row, first)) = persistence::claim(&txn, owner, self.inner.settings.lease).await?
        else {
            txn.rollback().await?;
            return Ok(None);
        };
        if first && !row.cancel_requested {
            let record = self.inner.guilds.guild_by_row(row.guild_row).await?;
            if let Some(record) = record {
                outbox::append(
                    &txn,
                    Self::event(event_types::RESTORE_STARTED, &record, &row, None, json!({})),
                )
                .await?;
            }
        }
        txn.commit().await?;
        Ok(Some(row))
    }
}

/// The owner's DM asking to approve a risky restore: who, which snapshot, why, and what it
/// would grant and delete, with Approve / Refuse buttons (the guild in the id: it is pressed in
/// a DM).
fn approval_event(
    record: &GuildRecord,
    row: &JobRow,
    plan: &Plan,
    meta: &SnapshotMeta,
    actor: u64,
    reasons: &[ApprovalReason],
) -> NewEvent {
    let reason_items: Vec<serde_json::Value> = reasons
        .iter()
        .map(|r| {
            json!({"type": "message", "value": {"key": format!("restore-reason-{}", r.as_str()), "args": {}}})
        })
        .collect();
    let list = |items: &[String]| {
        let mut shown: Vec<String> = items.iter().take(10).cloned().collect();
        if items.len() > 10 {
            shown.push(format!("+{}", items.len() - 10));
        }
        shown.join(", ")
    };
    let mut risks = Vec::new();
    let grants = plan.risks.grant_items();
    if !grants.is_empty() {
        risks.push(format!("⚠️ {}", list(&grants)));
    }
    let r = &plan.risks;
    for deleted in [
        &r.deletions,
        &r.emoji_deletions,
        &r.sticker_deletions,
        &r.automod_deletions,
        &r.thread_deletions,
        &r.event_deletions,
        &r.webhook_deletions,
    ] {
        if !deleted.is_empty() {
            risks.push(format!("🗑️ {}", list(deleted)));
        }
    }
    if !plan.risks.unbans.is_empty() {
        risks.push(format!("🔓 {}", list(&plan.risks.unbans)));
    }
    let job = row.id.simple();
    let guild = record.discord_id;
    NewEvent::new(
        event_types::RESTORE_APPROVAL_REQUESTED,
        "restore_job",
        row.id.to_string(),
        json!({
            "job_id": row.id,
            "actor": format!("<@{actor}>"),
            "actor_discord_id": actor.to_string(),
            "snapshot": meta.display_name(),
            "reasons": {"type": "list", "value": reason_items},
            "risks": risks.join(" "),
            "guild_name": record.name,
            "owner_discord_id": record.owner_discord_id.to_string(),
            "buttons": [
                {"custom_id": format!("{}approve:{job}:{guild}", super::view::COMPONENT_PREFIX), "label": "protection-button-approve", "style": "danger"},
                {"custom_id": format!("{}refuse:{job}:{guild}", super::view::COMPONENT_PREFIX), "label": "protection-button-refuse", "style": "secondary"},
            ],
        }),
    )
    .in_guild(to_db(guild))
}

fn meta_id(id: Uuid) -> Uuid {
    id
}

fn total(plan: &Plan) -> i32 {
    i32::try_from(plan.total_steps()).unwrap_or(i32::MAX)
}

fn plan_hash(plan: &Plan) -> Result<[u8; 32], RestoreError> {
    plan.hash()
        .map_err(|e| RestoreError::BadPlan(e.to_string()))
}

fn plan_json(plan: &Plan) -> Result<serde_json::Value, RestoreError> {
    serde_json::to_value(plan).map_err(|e| RestoreError::BadPlan(e.to_string()))
}

/// Reads a stored plan.
pub fn parse_plan(value: &serde_json::Value) -> Result<Plan, RestoreError> {
    serde_json::from_value(value.clone()).map_err(|e| RestoreError::BadPlan(e.to_string()))
}
