//! Purpose: live sync's use cases — the per-guild queue fed by gateway events (see `events`),
//! the worker that flushes it in batches (one transaction per batch, on size or after the flush
//! interval, several guilds at once, each guild's batches in order), full loads and their
//! completion, retries that never lose a change, history purge, and the reads other parts of
//! recovery need: "the state of guild G as of time T" and the sync status.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use poise::serenity_prelude as serenity;
use sqlx::PgPool;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use uuid::Uuid;

use super::model::{GuildState, SyncStatus};
use super::persistence;
use super::queue::{Pending, StateChange};
use crate::db::Tx;
use crate::discord::members::MemberIndex;
use crate::discord::rest::Rest;
use crate::guild::{GuildError, GuildReader};
use crate::member::{BanChanges, MemberError, MemberReader, MemberWriter, WriteStats};

/// Batches flushed at once (different guilds; one guild's batches never overlap).
const MAX_CONCURRENT_FLUSHES: usize = 4;
/// Longest wait between retries of a failed batch.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(30);
/// How often history older than the retention is purged.
const PURGE_EVERY: Duration = Duration::from_secs(3600);

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("guild {0} is not known to Umbra")]
    UnknownGuild(u64),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Member(#[from] MemberError),
    #[error(transparent)]
    Guild(#[from] GuildError),
    #[error(transparent)]
    Transaction(#[from] sea_orm::DbErr),
}

/// Live sync's tuning (from `[recovery]` in the configuration).
#[derive(Debug, Clone)]
pub struct SyncSettings {
    /// Queued rows of one guild that trigger a flush at once.
    pub batch_rows: usize,
    /// Longest time a change waits in the queue.
    pub flush_interval: Duration,
    /// Rows per bulk statement.
    pub statement_rows: usize,
    /// A full load whose member chunks have not all arrived by then is requested again.
    pub load_timeout: Duration,
    /// Closed versions are kept this long ("as of T" works back to it).
    pub history_retention: Duration,
}

/// A finished full load (for the status and the benchmark).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadReport {
    pub finished_at: DateTime<Utc>,
    pub duration: Duration,
    pub members: usize,
    /// The member chunks were requested from the shard's event path (see
    /// `SyncService::hook_shard`), not by the GUILD_CREATE handler.
    pub early_request: bool,
}

/// Member chunks of a full load being received.
pub(super) struct Load {
    pub nonce: String,
    pub started: Instant,
    pub requested: Instant,
    pub seen: HashSet<u32>,
    pub messenger: serenity::ShardMessenger,
    pub attempts: u32,
    /// Requested from the shard's event path before the GUILD_CREATE was handled (see
    /// `events::SyncService::hook_shard`) ...
    pub early: bool,
    /// ... and since adopted by the GUILD_CREATE handler (instead of asking again).
    pub adopted: bool,
}

impl Load {
    /// A load whose member chunks are asked for now (under a fresh nonce).
    pub fn start(
        guild: u64,
        messenger: serenity::ShardMessenger,
        started: Instant,
        early: bool,
    ) -> Self {
        let load = Self {
            nonce: new_nonce(),
            started,
            requested: started,
            seen: HashSet::new(),
            messenger,
            attempts: 1,
            early,
            adopted: false,
        };
        load.request(guild);
        load
    }

    /// Asks the shard for every member of `guild` under this load's nonce (a channel send to
    /// the shard runner: never blocks).
    pub fn request(&self, guild: u64) {
        self.messenger.chunk_guild(
            serenity::GuildId::new(guild),
            None,
            false,
            serenity::ChunkGuildFilter::None,
            Some(self.nonce.clone()),
        );
    }
}

#[derive(Default)]
pub(super) struct GuildSync {
    pub row: Option<Uuid>,
    /// The latest settings seen on the gateway (GUILD_CREATE, GUILD_UPDATE): serenity's cache
    /// does not follow GUILD_UPDATE, so later changes (a deleted AFK channel) start from this.
    pub settings: Option<super::model::SettingsState>,
    pub pending: Pending,
    pub first_pending: Option<Instant>,
    pub flushing: bool,
    pub failures: u32,
    pub retry_at: Option<Instant>,
    pub load: Option<Load>,
    pub last_load: Option<LoadReport>,
    pub last_purge: Option<Instant>,
    /// A full load starts: its first batch checks whether the guild has stored members.
    pub check_first_load: bool,
    /// During a load of a guild that had no stored member: who was written since (everyone
    /// else is known to be new and goes in without reading what is stored).
    pub first_load: Option<HashSet<u64>>,
    /// Since when a GUILD_CREATE's members were queued by the shard's collector, or its member
    /// chunks requested early, before its handler ran: nothing is written before the
    /// GUILD_CREATE handler has recorded the guild and queued its structure (a first load's
    /// batches need both). A handler that never comes (it failed) is given up on after the
    /// member-load timeout, and what was queued is written.
    pub awaiting_guild: Option<Instant>,
    /// While the ban list is being fetched: the ban events seen meanwhile (they are newer
    /// than the list and win over it).
    pub ban_events: Option<HashMap<u64, Option<crate::member::BanState>>>,
    /// Lists being read by REST (see [`Listed`]); `true`: it changed meanwhile, read it
    /// again when this read is done (reads never overlap, so the newest list is written last).
    pub listed_reads: HashMap<Listed, bool>,
    /// While the archived threads are being read: the thread events seen meanwhile (newer
    /// than the read; they win over it).
    pub thread_events: Option<HashMap<u64, Option<super::model::ThreadState>>>,
}

/// Parts of the settings live sync reads by REST (serenity's cache does not follow them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Listed {
    AutoMod,
    Events,
    /// No gateway event announces it: its audit entry (GUILD_UPDATE) does.
    Welcome,
    /// No gateway event either: its audit entries (ONBOARDING_*) do.
    Onboarding,
    /// WEBHOOKS_UPDATE says a channel's webhooks changed: the guild's list is read again.
    Webhooks,
}

/// What a read of a [`Listed`] part gave.
pub(super) enum ListedValue {
    AutoMod(Vec<super::model::AutoModRuleState>),
    Events(Vec<super::model::EventState>),
    Welcome(super::model::WelcomeState),
    Onboarding(super::model::OnboardingState),
    Webhooks(Vec<super::model::WebhookState>),
}

/// The event-path hook of a shard's current session (see `events::SyncService::hook_shard`).
pub(super) struct ShardHook {
    pub generation: u64,
    pub messenger: serenity::ShardMessenger,
}

pub(super) struct Inner {
    pub pool: PgPool,
    pub guilds: Arc<dyn GuildReader>,
    pub member_writer: Arc<dyn MemberWriter>,
    pub member_reader: Arc<dyn MemberReader>,
    /// Reads the ban list and the AutoMod rules on a full load (neither comes with
    /// GUILD_CREATE).
    pub rest: Rest,
    pub settings: SyncSettings,
    pub state: Mutex<HashMap<u64, GuildSync>>,
    pub wake: Notify,
    pub hooks: Mutex<HashMap<u32, ShardHook>>,
    /// Background reads by REST (ban lists, archived threads, the [`Listed`] parts) running at
    /// once: the full loads of a thousand guilds queue their seven-odd reads each here, as small
    /// tasks, rather than as thousands of requests waiting in the pacer, each holding its
    /// request's future (issue 17: ~20 MB at 1,000 guilds). The pacer stays busy with
    /// [`BACKGROUND_READS`] in flight.
    pub reads: tokio::sync::Semaphore,
    /// Umbra's application id (0 until the first event): the webhooks a restore made again
    /// are Umbra's, and kept like those people made.
    pub own_application: std::sync::atomic::AtomicU64,
    /// The members of the guilds followed, kept in gateway order (the only writer: see
    /// `events::SyncService::on_shard_event`).
    pub members: MemberIndex,
}

/// Background REST reads of live sync in flight at once (see [`Inner::reads`]).
pub(super) const BACKGROUND_READS: usize = 8;

/// Live sync of every guild the bot is in. Cheap to clone.
#[derive(Clone)]
pub struct SyncService {
    pub(super) inner: Arc<Inner>,
}

impl SyncService {
    pub fn new(
        pool: PgPool,
        guilds: Arc<dyn GuildReader>,
        member_writer: Arc<dyn MemberWriter>,
        member_reader: Arc<dyn MemberReader>,
        rest: Rest,
        settings: SyncSettings,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                pool,
                guilds,
                member_writer,
                member_reader,
                rest,
                settings,
                state: Mutex::new(HashMap::new()),
                wake: Notify::new(),
                hooks: Mutex::new(HashMap::new()),
                reads: tokio::sync::Semaphore::new(BACKGROUND_READS),
                own_application: std::sync::atomic::AtomicU64::new(0),
                members: MemberIndex::default(),
            }),
        }
    }

    /// The members of the guilds this process follows, as the gateway last said (read-only
    /// for everyone but live sync).
    pub fn members(&self) -> &MemberIndex {
        &self.inner.members
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, HashMap<u64, GuildSync>> {
        // A panic while holding the lock cannot leave the map half-updated in a way that
        // matters more than stopping sync would: keep going with its content.
        self.inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues changes of `guild` (called from the gateway handlers, never across an await).
    pub(super) fn enqueue(&self, guild: u64, change: impl FnOnce(&mut GuildSync)) {
        let due = {
            let mut map = self.lock();
            let g = map.entry(guild).or_default();
            change(g);
            if g.first_pending.is_none() && !g.pending.is_empty() {
                g.first_pending = Some(Instant::now());
            }
            g.pending.rows() >= self.inner.settings.batch_rows
                || matches!(g.pending.state, Some(StateChange::Live { .. }))
        };
        if due {
            self.inner.wake.notify_one();
        }
    }

    /// Guilds whose mirror this process keeps.
    pub fn guilds(&self) -> Vec<u64> {
        self.lock().keys().copied().collect()
    }

    /// The last finished full load of `guild` in this process.
    pub fn last_load(&self, guild: u64) -> Option<LoadReport> {
        self.lock().get(&guild).and_then(|g| g.last_load)
    }

    /// Whether nothing of `guild` is queued or being written (and no load is in progress).
    pub fn is_idle(&self, guild: u64) -> bool {
        self.lock().get(&guild).is_none_or(|g| {
            g.pending.is_empty()
                && !g.flushing
                && g.load.is_none()
                && g.ban_events.is_none()
                && g.listed_reads.is_empty()
                && g.thread_events.is_none()
        })
    }

    async fn row(&self, guild: u64) -> Result<Uuid, SyncError> {
        if let Some(row) = self.lock().get(&guild).and_then(|g| g.row) {
            return Ok(row);
        }
        let record = self
            .inner
            .guilds
            .guild(guild)
            .await?
            .ok_or(SyncError::UnknownGuild(guild))?;
        if let Some(g) = self.lock().get_mut(&guild) {
            g.row = Some(record.id);
        }
        Ok(record.id)
    }

    /// The guild's row id (`guild.guilds.id`), if Umbra knows the guild.
    pub async fn guild_row(&self, guild: u64) -> Result<Option<Uuid>, SyncError> {
        match self.row(guild).await {
            Ok(row) => Ok(Some(row)),
            Err(SyncError::UnknownGuild(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The state of `guild` as of `at` (`None`: now), rebuilt from the versioned tables:
    /// `Ok(None)` when the mirror has nothing for that time (never synced, or history purged).
    pub async fn state_as_of(
        &self,
        guild: u64,
        at: Option<DateTime<Utc>>,
    ) -> Result<Option<GuildState>, SyncError> {
        let Some(row) = self.guild_row(guild).await? else {
            return Ok(None);
        };
        let (settings, roles, channels, threads) =
            persistence::structure_as_of(&self.inner.pool, row, at).await?;
        if settings.is_none() {
            return Ok(None);
        }
        let when = at.unwrap_or_else(Utc::now);
        let members = self.inner.member_reader.members_as_of(row, when).await?;
        let bans = match persistence::bans_known_since(&self.inner.pool, row).await? {
            Some(since) if since <= when => {
                Some(self.inner.member_reader.bans_as_of(row, when).await?)
            }
            _ => None,
        };
        Ok(Some(
            GuildState {
                guild_id: guild,
                as_of: when,
                settings,
                roles,
                channels,
                members,
                bans,
                threads,
            }
            .sorted(),
        ))
    }

    /// Since when "as of T" can answer for `guild` (its oldest stored version).
    pub async fn history_start(&self, guild: u64) -> Result<Option<DateTime<Utc>>, SyncError> {
        let Some(row) = self.guild_row(guild).await? else {
            return Ok(None);
        };
        Ok(persistence::history_start(&self.inner.pool, row).await?)
    }

    /// The newest start of a structure version of `guild` before `t` (what the mirror last
    /// learned before then).
    pub async fn last_change_before(
        &self,
        guild: u64,
        t: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, SyncError> {
        let Some(row) = self.guild_row(guild).await? else {
            return Ok(None);
        };
        Ok(persistence::last_change_before(&self.inner.pool, row, t).await?)
    }

    /// What `/umbra status` shows.
    pub async fn status(&self, guild: u64) -> Result<SyncStatus, SyncError> {
        let Some(row) = self.guild_row(guild).await? else {
            return Ok(SyncStatus {
                state: None,
                last_full_sync_at: None,
                roles: 0,
                channels: 0,
                members: 0,
            });
        };
        let mut status = persistence::status(&self.inner.pool, row).await?;
        status.members = self.inner.member_reader.current_count(row).await?;
        Ok(status)
    }

    /// Writes one batch of `guild` in one transaction.
    ///
    /// `first_load`: see [`GuildSync::first_load`]; `check_first_load`: find out first.
    async fn write(
        &self,
        guild: u64,
        batch: &Pending,
        first_load: &mut Option<HashSet<u64>>,
        check_first_load: bool,
    ) -> Result<WriteStats, SyncError> {
        let row = self.row(guild).await?;
        let rows = self.inner.settings.statement_rows;
        let tx = Tx::begin(&self.inner.pool).await?;
        let mut stats = WriteStats::default();
        let writer = &self.inner.member_writer;
        if check_first_load && !writer.has_current(&tx, row).await? {
            *first_load = Some(HashSet::new());
        }
        if let Some(settings) = &batch.settings {
            stats += persistence::upsert_settings(
                &mut **tx.lock().await,
                row,
                settings,
                super::model::SyncState::Loading,
            )
            .await?;
        }
        // Upserts before deletes: a delete also tombstones what depends on the object (a role's
        // overwrites), which an upsert of an older state in the same batch must not revive.
        let (role_up, role_del) = split(&batch.roles);
        stats += persistence::upsert_roles(&mut **tx.lock().await, row, &role_up, rows).await?;
        let (channel_up, channel_del) = split(&batch.channels);
        stats +=
            persistence::upsert_channels(&mut **tx.lock().await, row, &channel_up, rows).await?;
        // Threads before channel deletes: a deleted channel tombstones its threads, which an
        // older thread state in the same batch must not revive.
        let (thread_up, thread_del) = split(&batch.threads);
        stats += persistence::upsert_threads(&mut **tx.lock().await, row, &thread_up).await?;
        stats += persistence::delete_threads(&mut **tx.lock().await, row, &thread_del).await?;
        if let Some(present) = &batch.threads_present {
            let present: Vec<u64> = present.iter().copied().collect();
            stats += persistence::retain_threads(&mut **tx.lock().await, row, &present).await?;
        }
        stats += persistence::delete_channels(&mut **tx.lock().await, row, &channel_del).await?;
        if batch.channels_complete {
            let present: Vec<u64> = channel_up.iter().map(|c| c.discord_channel_id).collect();
            stats += persistence::retain_channels(&mut **tx.lock().await, row, &present).await?;
        }
        stats += persistence::delete_roles(&mut **tx.lock().await, row, &role_del).await?;
        if batch.roles_complete {
            let present: Vec<u64> = role_up.iter().map(|r| r.discord_role_id).collect();
            stats += persistence::retain_roles(&mut **tx.lock().await, row, &present).await?;
        }
        let (member_up, member_del) = split(&batch.members);
        match first_load.as_ref() {
            Some(written) => {
                let (new, known): (Vec<_>, Vec<_>) = member_up
                    .iter()
                    .cloned()
                    .partition(|m| !written.contains(&m.discord_user_id));
                stats += writer.insert_new(&tx, row, &new).await?;
                stats += writer.upsert(&tx, row, &known).await?;
            }
            None => stats += writer.upsert(&tx, row, &member_up).await?,
        }
        stats += writer.remove(&tx, row, &member_del).await?;
        for role in &batch.stripped_roles {
            stats += writer.strip_role(&tx, row, *role).await?;
        }
        if let Some(present) = &batch.members_present {
            match first_load.as_ref() {
                // Every current member row of a first load was written by it: the difference
                // needs no read of the (by now large) table.
                Some(written) => {
                    let ids = member_up.iter().map(|m| m.discord_user_id);
                    let gone = gone_after_first_load(written, ids, present);
                    stats += writer.remove(&tx, row, &gone).await?;
                }
                None => {
                    let present: Vec<u64> = present.iter().copied().collect();
                    stats += writer.retain_only(&tx, row, &present).await?;
                }
            }
        }
        let (ban_up, ban_del) = split(&batch.bans);
        let bans = BanChanges {
            upsert: ban_up,
            removed: ban_del,
            complete: batch.bans_present.clone(),
            reasons: batch
                .ban_reasons
                .iter()
                .map(|(u, r)| (*u, r.clone()))
                .collect(),
        };
        if !bans.is_empty() {
            stats += writer.write_bans(&tx, row, &bans).await?;
        }
        if batch.bans_present.is_some() {
            persistence::set_bans_known(&mut **tx.lock().await, row).await?;
        }
        if let Some(change) = batch.state {
            let full = match change {
                StateChange::Live { full_sync_at, .. } => Some(full_sync_at),
                _ => None,
            };
            persistence::set_sync_state(&mut **tx.lock().await, row, change.state(), full).await?;
        }
        tx.commit().await?;
        if let Some(written) = first_load.as_mut() {
            written.extend(member_up.iter().map(|m| m.discord_user_id));
        }
        if matches!(batch.state, Some(StateChange::Live { .. })) {
            *first_load = None;
        }
        Ok(stats)
    }

    /// Flushes `guild`'s batch and records the outcome.
    #[tracing::instrument(name = "sync_flush", skip_all, fields(guild))]
    async fn flush(self, guild: u64, batch: Pending) {
        let started = Instant::now();
        let (mut first_load, check) = {
            let mut map = self.lock();
            map.get_mut(&guild)
                .map(|g| (g.first_load.take(), std::mem::take(&mut g.check_first_load)))
                .unwrap_or_default()
        };
        let result = self.write(guild, &batch, &mut first_load, check).await;
        let mut map = self.lock();
        let Some(g) = map.get_mut(&guild) else {
            return;
        };
        g.flushing = false;
        // A load that started meanwhile decides again; after a failure, the safe path.
        if !g.check_first_load && result.is_ok() {
            g.first_load = first_load;
        }
        match result {
            Ok(stats) => {
                g.failures = 0;
                g.retry_at = None;
                if let Some(StateChange::Live {
                    full_sync_at,
                    load_started,
                    early_request,
                }) = batch.state
                {
                    g.last_load = Some(LoadReport {
                        finished_at: full_sync_at,
                        duration: load_started.elapsed(),
                        members: batch.members_present.as_ref().map_or(0, HashSet::len),
                        early_request,
                    });
                }
                metrics::counter!("umbra_sync_rows_written_total").increment(stats.written);
                metrics::histogram!("umbra_sync_batch_seconds")
                    .record(started.elapsed().as_secs_f64());
                tracing::debug!(
                    guild,
                    written = stats.written,
                    closed = stats.closed,
                    ms = started.elapsed().as_millis() as u64,
                    "sync batch written"
                );
            }
            Err(e) => {
                g.failures += 1;
                let delay = crate::queue::jittered(
                    g.failures.saturating_add(1),
                    Duration::from_millis(200),
                    MAX_RETRY_DELAY,
                );
                g.retry_at = Some(Instant::now() + delay);
                g.pending.merge_older(batch);
                g.first_pending.get_or_insert_with(Instant::now);
                metrics::counter!("umbra_sync_batch_failures_total").increment(1);
                tracing::warn!(guild, attempt = g.failures, retry_in_ms = delay.as_millis() as u64, error = %e, "writing a sync batch failed; it will be retried");
            }
        }
        drop(map);
        self.inner.wake.notify_one();
    }

    /// Takes the batches that are due and returns when the next one will be.
    fn take_due(&self, running: usize) -> (Vec<(u64, Pending)>, Option<Instant>) {
        let now = Instant::now();
        let interval = self.inner.settings.flush_interval;
        let batch_rows = self.inner.settings.batch_rows;
        let mut due = Vec::new();
        let mut next: Option<Instant> = None;
        let mut map = self.lock();
        for (guild, g) in map.iter_mut() {
            if g.flushing || g.pending.is_empty() || g.awaiting_guild.is_some() {
                continue;
            }
            let ready_at = match g.retry_at {
                Some(retry) => retry,
                None if g.pending.rows() >= batch_rows
                    || matches!(g.pending.state, Some(StateChange::Live { .. })) =>
                {
                    now
                }
                None => g.first_pending.map_or(now, |t| t + interval),
            };
            if ready_at <= now && running + due.len() < MAX_CONCURRENT_FLUSHES {
                g.flushing = true;
                g.first_pending = None;
                due.push((*guild, std::mem::take(&mut g.pending)));
            } else {
                next = Some(next.map_or(ready_at, |n| n.min(ready_at)));
            }
        }
        (due, next)
    }

    /// Member loads whose chunks did not all arrive in time are requested again; queues held
    /// for a GUILD_CREATE handler that never ran are let go (see [`GuildSync::awaiting_guild`]).
    fn retry_stalled_loads(&self) {
        let timeout = self.inner.settings.load_timeout;
        let mut map = self.lock();
        for (guild, g) in map.iter_mut() {
            if g.awaiting_guild
                .is_some_and(|since| since.elapsed() >= timeout)
            {
                g.awaiting_guild = None;
                tracing::warn!(
                    guild,
                    "the GUILD_CREATE of a guild was not handled in time; its queued changes are written without it"
                );
            }
            if let Some(load) = &mut g.load
                && load.requested.elapsed() >= timeout
                && g.awaiting_guild.is_none()
            {
                load.attempts += 1;
                load.requested = Instant::now();
                load.seen.clear();
                load.nonce = new_nonce();
                tracing::warn!(
                    guild,
                    attempt = load.attempts,
                    "member chunks of a full load did not all arrive; requesting them again"
                );
                load.request(*guild);
            }
        }
    }

    /// Purges history older than the retention, one guild at a time.
    async fn purge_history(&self) {
        let retention = chrono::Duration::from_std(self.inner.settings.history_retention)
            .unwrap_or(chrono::Duration::days(14));
        let due: Vec<(u64, Uuid)> = {
            let mut map = self.lock();
            map.iter_mut()
                .filter(|(_, g)| g.last_purge.is_none_or(|t| t.elapsed() >= PURGE_EVERY))
                .filter_map(|(id, g)| {
                    g.last_purge = Some(Instant::now());
                    g.row.map(|row| (*id, row))
                })
                .collect()
        };
        for (guild, row) in due {
            let before = Utc::now() - retention;
            let result: Result<u64, SyncError> = async {
                let tx = Tx::begin(&self.inner.pool).await?;
                let mut n = persistence::purge_history(&mut **tx.lock().await, row, before).await?;
                n += self
                    .inner
                    .member_writer
                    .purge_history(&tx, row, before)
                    .await?;
                tx.commit().await?;
                Ok(n)
            }
            .await;
            match result {
                Ok(0) => {}
                Ok(n) => tracing::info!(
                    guild,
                    rows = n,
                    "purged sync history older than the retention"
                ),
                Err(e) => {
                    tracing::warn!(guild, error = %e, "purging sync history failed; will retry")
                }
            }
        }
    }

    /// The worker: flushes queued batches until shutdown, then flushes what is left.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
        let mut flushing: JoinSet<()> = JoinSet::new();
        let mut last_purge = Instant::now();
        loop {
            let (due, next) = self.take_due(flushing.len());
            for (guild, batch) in due {
                flushing.spawn(self.clone().flush(guild, batch));
            }
            self.retry_stalled_loads();
            if last_purge.elapsed() >= Duration::from_secs(60) {
                last_purge = Instant::now();
                self.purge_history().await;
            }
            let sleep_until = next.unwrap_or_else(|| Instant::now() + Duration::from_secs(1));
            tokio::select! {
                () = self.inner.wake.notified() => {}
                () = tokio::time::sleep_until(sleep_until.into()) => {}
                Some(_) = flushing.join_next(), if !flushing.is_empty() => {}
                _ = shutdown.changed() => break,
            }
            if *shutdown.borrow() {
                break;
            }
        }
        // Write what is queued before stopping (bounded by the shutdown grace of the caller).
        while flushing.join_next().await.is_some() {}
        loop {
            let (due, _) = {
                let mut map = self.lock();
                for g in map.values_mut() {
                    g.retry_at = None;
                    g.first_pending = Some(Instant::now() - self.inner.settings.flush_interval);
                }
                drop(map);
                self.take_due(0)
            };
            if due.is_empty() {
                break;
            }
            for (guild, batch) in due {
                self.clone().flush(guild, batch).await;
            }
            if self
                .lock()
                .values()
                .all(|g| g.failures > 0 || g.pending.is_empty())
            {
                break;
            }
        }
        Ok(())
    }
}

/// Members a first load wrote (in earlier batches, `written`, or in this one) that the complete
/// member set no longer has, sorted. Some may be tombstoned already (a leave seen meanwhile):
/// closing them again changes nothing.
fn gone_after_first_load(
    written: &HashSet<u64>,
    this_batch: impl Iterator<Item = u64>,
    present: &HashSet<u64>,
) -> Vec<u64> {
    let mut gone: Vec<u64> = written
        .iter()
        .copied()
        .chain(this_batch)
        .filter(|u| !present.contains(u))
        .collect();
    gone.sort_unstable();
    gone.dedup();
    gone
}

fn split<T: Clone>(map: &HashMap<u64, Option<T>>) -> (Vec<T>, Vec<u64>) {
    let mut up = Vec::new();
    let mut gone = Vec::new();
    for (id, state) in map {
        match state {
            Some(s) => up.push(s.clone()),
            None => gone.push(*id),
        }
    }
    gone.sort_unstable();
    (up, gone)
}

/// A member-request nonce (Discord allows 32 bytes).
fn new_nonce() -> String {
    Uuid::now_v7().simple().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_first_load_closes_exactly_the_members_it_wrote_that_the_complete_set_lacks() {
        let written: HashSet<u64> = [1, 2, 3].into();
        let present: HashSet<u64> = [1, 3, 5].into();
        let gone = gone_after_first_load(&written, [4, 5, 2].into_iter(), &present);
        assert_eq!(gone, vec![2, 4]);
    }
}
