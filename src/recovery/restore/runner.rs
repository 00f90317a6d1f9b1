//! Purpose: the restore runner worker. Polls (and is woken when a job is confirmed in this
//! process), claims a queued job or one whose lease expired (`UPDATE ... FOR UPDATE SKIP
//! LOCKED ... RETURNING`, fencing counter bumped), heartbeats its lease (which also reads
//! cancel requests), takes the pre-restore snapshot, reconciles creates a dead runner sent but
//! did not record, runs the executor with every result written only while its fencing counter
//! matches, shows progress by editing the confirmed preview message, and ends the job with its
//! per-item report and event. On shutdown it gives the lease back so another process resumes
//! at once; a killed process's lease simply expires.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use serde_json::json;
use tokio::sync::watch;
use tokio::task::JoinSet;
use uuid::Uuid;

use super::executor::{self, Control, Discord, ExecSettings, Halt, Shared, StateStore};
use super::model::{self, Plan, RunState};
use super::persistence::{self, JobRow};
use super::service::{RestoreService, parse_plan};
use super::view::{final_text, kind_name, progress_text};
use crate::discord::bot::Bot;
use crate::i18n::I18n;
use crate::i18n::{Locale, msg};

/// Writes a job's state with its fencing counter.
struct JobStore {
    db: sea_orm::DatabaseConnection,
    job: Uuid,
    fencing: i64,
    plan: Arc<Plan>,
}

#[async_trait]
impl StateStore for JobStore {
    async fn write(&self, state: &RunState) -> anyhow::Result<bool> {
        let done = i32::try_from(state.done.len()).unwrap_or(i32::MAX);
        let failed = i32::try_from(state.failed.len()).unwrap_or(i32::MAX);
        Ok(persistence::record(
            &self.db,
            self.job,
            self.fencing,
            state.progress_json(),
            state.id_map_json(&self.plan),
            done,
            failed,
        )
        .await?)
    }
}

/// The restore runner of this process.
pub struct Runner {
    restores: RestoreService,
    /// Restore calls and progress edits go out through the REST port.
    bot: Bot,
    i18n: Arc<I18n>,
    owner: String,
}

impl Runner {
    pub fn new(restores: RestoreService, bot: Bot, i18n: Arc<I18n>) -> Self {
        let owner = format!(
            "{}:{}",
            std::process::id(),
            Uuid::now_v7()
                .simple()
                .to_string()
                .get(20..)
                .unwrap_or_default()
        );
        Self {
            restores,
            bot,
            i18n,
            owner,
        }
    }

    fn service(&self) -> &RestoreService {
        &self.restores
    }

    /// The worker loop.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
        let settings = self.service().settings().clone();
        let this = Arc::new(self);
        let mut jobs: JoinSet<bool> = JoinSet::new();
        let mut dead = false;
        while !*shutdown.borrow() {
            if let Err(e) = persistence::expire_previews(this.service().db()).await {
                tracing::warn!(error = %e, "expiring restore previews failed; will retry");
            }
            if let Some(bot) = this.bot.user_id() {
                this.service().learn_bot(bot);
            }
            // Connected once the gateway said READY.
            let http_ready = this.bot.user_id().is_some();
            while !dead && http_ready && jobs.len() < settings.max_jobs.max(1) {
                match this.service().claim(&this.owner).await {
                    Ok(Some(row)) => {
                        let runner = this.clone();
                        let rx = shutdown.clone();
                        jobs.spawn(async move { runner.run_job(row, rx).await });
                    }
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "claiming a restore job failed; will retry");
                        break;
                    }
                }
            }
            tokio::select! {
                () = tokio::time::sleep(settings.poll_interval) => {}
                () = this.service().woken() => {}
                Some(joined) = jobs.join_next(), if !jobs.is_empty() => {
                    // `true`: the test hook stopped this runner like a killed process.
                    if matches!(joined, Ok(true)) {
                        dead = true;
                    }
                }
                _ = shutdown.changed() => {}
            }
        }
        while jobs.join_next().await.is_some() {}
        Ok(())
    }

    /// Runs one claimed job; `true` when the crash hook fired.
    #[tracing::instrument(name = "restore_job", skip_all, fields(job = %row.id, fencing = row.fencing, guild = tracing::field::Empty))]
    async fn run_job(self: Arc<Self>, row: JobRow, shutdown: watch::Receiver<bool>) -> bool {
        let job = row.id;
        match self.clone().run_job_inner(row, shutdown).await {
            Ok(crashed) => crashed,
            Err(e) => {
                tracing::error!(%job, error = format!("{e:#}"), "a restore job stopped with an error; its lease will expire and it resumes");
                false
            }
        }
    }

    async fn run_job_inner(
        self: Arc<Self>,
        row: JobRow,
        shutdown: watch::Receiver<bool>,
    ) -> anyhow::Result<bool> {
        let service = self.service().clone();
        let settings = service.settings().clone();
        let Some(record) = service.guilds().guild_by_row(row.guild_row).await? else {
            anyhow::bail!("the job's guild is gone");
        };
        tracing::Span::current().record("guild", record.discord_id);
        tracing::info!(steps = row.total_steps, "restore job started");
        let fencing = row.fencing;
        let plan = match parse_plan(&row.plan) {
            Ok(p) => Arc::new(p),
            Err(e) => {
                service
                    .finish(
                        &record,
                        &row,
                        Some(fencing),
                        "failed",
                        None,
                        json!([]),
                        json!({ "reason": e.to_string() }),
                    )
                    .await?;
                return Ok(false);
            }
        };
        if row.cancel_requested {
            service
                .finish(
                    &record,
                    &row,
                    Some(fencing),
                    "cancelled",
                    None,
                    json!([]),
                    json!({}),
                )
                .await?;
            return Ok(false);
        }
        let Some(bot) = self.bot.user_id() else {
            anyhow::bail!("the Discord client is not ready");
        };
        let exec = ExecSettings {
            bucket_concurrency: settings.bucket_concurrency,
            max_in_flight: settings.max_in_flight,
            retries: settings.retries,
            record_interval: settings.record_interval,
            sequential: settings.sequential,
        };
        let discord = Discord::new(self.bot.rest().clone(), plan.guild_id, row.id, &exec)
            .with_grants(self.restores.grants());
        let state = RunState::load(&plan, &row.progress, &row.id_map);
        let shared = Shared::new(
            state,
            Arc::new(JobStore {
                db: service.db().clone(),
                job: row.id,
                fencing,
                plan: plan.clone(),
            }),
        );
        let crash = service.take_crash_point();
        let cancel_rx = service.register(row.id, fencing);
        // Heartbeat: extends the lease and reads cancel requests.
        let (stop_tx, stop_rx) = watch::channel(false);
        let heartbeat = {
            let db = service.db().clone();
            let svc = service.clone();
            let shared = shared.clone();
            let id = row.id;
            let mut stop = stop_rx.clone();
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        () = tokio::time::sleep(settings.heartbeat) => {}
                        _ = stop.changed() => return,
                    }
                    match persistence::heartbeat(&db, id, fencing, settings.lease).await {
                        Ok(Some(true)) => svc.signal_run(id, fencing),
                        Ok(Some(false)) => {}
                        Ok(None) => {
                            // Only this run stops (fenced: no message, no event); the run that
                            // took over carries on.
                            tracing::warn!(job = %id, "the restore job was taken over; stopping");
                            shared.mark_fenced();
                            return;
                        }
                        Err(e) => {
                            tracing::warn!(job = %id, error = %e, "a restore heartbeat failed")
                        }
                    }
                }
            })
        };
        let result = async {
            // A pre-restore snapshot before anything changes.
            if row.pre_restore_snapshot_id.is_none() {
                let actor = row.confirmed_by.unwrap_or(row.requested_by);
                match service.snapshots().create_pre_restore(plan.guild_id, actor).await {
                    Ok(created) => {
                        if !persistence::set_pre_restore(service.db(), row.id, fencing, created.meta.id).await? {
                            return Ok(Halt::Fenced);
                        }
                    }
                    Err(e) => {
                        service
                            .finish(
                                &record,
                                &row,
                                Some(fencing),
                                "failed",
                                None,
                                json!([]),
                                json!({ "reason": format!("the pre-restore snapshot failed: {e}") }),
                            )
                            .await?;
                        return Ok(Halt::Cancelled);
                    }
                }
            }
            // A resumed job: adopt what the previous runner created but did not record.
            if row.done_steps + row.failed_steps > 0 || !row.progress.as_object().is_none_or(|m| m.is_empty()) || row.fencing > 1 {
                let started_ms = row
                    .started_at
                    .map(|t| u64::try_from(t.timestamp_millis()).unwrap_or(0))
                    .unwrap_or(0);
                // A failed read is retried, never taken for "nothing there".
                let mut wait = Duration::from_millis(250);
                let adopted = loop {
                    match discord.reconcile(&plan, &shared, Some(bot), started_ms).await {
                        Ok(n) => break n,
                        Err(e) => {
                            tracing::warn!(job = %row.id, error = %e, "reconciling a resumed restore failed; retrying");
                            let mut shutdown = shutdown.clone();
                            tokio::select! {
                                _ = tokio::time::sleep(wait) => {}
                                _ = shutdown.changed() => return Ok(Halt::Stopped),
                            }
                            wait = (wait * 2).min(Duration::from_secs(10));
                        }
                    }
                };
                if adopted > 0 {
                    tracing::info!(job = %row.id, adopted, "reconciled creates of a previous runner");
                }
                if let Err(e) = shared.flush().await {
                    anyhow::bail!("recording reconciled objects failed: {e}");
                }
            }
            // Progress display.
            let progress = self.clone().progress_task(row.clone(), plan.clone(), shared.clone(), stop_rx.clone());
            let (exec_stop_tx, exec_stop_rx) = watch::channel(false);
            let stopper = {
                let mut shutdown = shutdown.clone();
                tokio::spawn(async move {
                    let _ = shutdown.changed().await;
                    let _ = exec_stop_tx.send(true);
                })
            };
            let control = Control {
                cancel: cancel_rx.clone(),
                stop: exec_stop_rx,
                crash,
            };
            let halt = executor::execute(&discord, plan.clone(), shared.clone(), &exec, control).await;
            stopper.abort();
            progress.abort();
            Ok::<_, anyhow::Error>(halt)
        }
        .await;
        let _ = stop_tx.send(true);
        heartbeat.abort();
        service.unregister(row.id, fencing);
        let halt = result?;
        match halt {
            Halt::Finished => {
                // Nothing should be left; if something is, it counts as failed (and is written:
                // a completed job never reports fewer failures than it had).
                let not_run = shared.fail_unfinished(&plan, "not run");
                if not_run > 0 {
                    tracing::error!(job = %row.id, not_run, "a restore finished with steps that never ran");
                }
                shared.flush().await.ok();
                let state = shared.state().clone();
                tracing::info!(
                    done = state.done.len(),
                    failed = state.failed.len(),
                    "restore job completed"
                );
                let report = model::report(&plan, &state);
                let extra = self.finish_extra(&row, &plan, &state, &report);
                service
                    .finish(
                        &record,
                        &row,
                        Some(fencing),
                        "completed",
                        Some(&state),
                        serde_json::to_value(&report).unwrap_or_else(|_| json!([])),
                        extra,
                    )
                    .await?;
                self.show_final(&row, &plan, &state, "completed").await;
                self.send_webhook_urls(&row, &plan, &state).await;
                Ok(false)
            }
            Halt::Cancelled => {
                let status = persistence::get_any(service.db(), row.id).await?;
                if status.is_some_and(|r| r.status != "running") {
                    // Already ended (the pre-restore snapshot failed).
                    return Ok(false);
                }
                let state = shared.state().clone();
                let report = model::report(&plan, &state);
                service
                    .finish(
                        &record,
                        &row,
                        Some(fencing),
                        "cancelled",
                        Some(&state),
                        serde_json::to_value(&report).unwrap_or_else(|_| json!([])),
                        json!({}),
                    )
                    .await?;
                self.show_final(&row, &plan, &state, "cancelled").await;
                self.send_webhook_urls(&row, &plan, &state).await;
                Ok(false)
            }
            Halt::Stopped => {
                persistence::release(service.db(), row.id, fencing).await?;
                Ok(false)
            }
            Halt::Fenced => Ok(false),
            Halt::Crashed => {
                tracing::warn!(job = %row.id, "test hook: the restore runner stops as if killed");
                service.mark_crashed();
                Ok(true)
            }
            Halt::Store(e) => anyhow::bail!("{e}"),
        }
    }

    fn finish_extra(
        &self,
        row: &JobRow,
        plan: &Plan,
        state: &RunState,
        report: &[model::ReportItem],
    ) -> serde_json::Value {
        let seconds = row
            .started_at
            .map(|t| (Utc::now() - t).num_seconds().max(0))
            .unwrap_or(0);
        let mut details: Vec<String> = report
            .iter()
            .filter(|i| i.outcome != "note")
            .take(15)
            .map(|i| {
                format!(
                    "• {} `{}`: {} ({})",
                    kind_name(i.kind),
                    i.name,
                    i.outcome,
                    i.reason
                )
            })
            .collect();
        let more = report
            .iter()
            .filter(|i| i.outcome != "note")
            .count()
            .saturating_sub(15);
        if more > 0 {
            details.push(format!("… +{more}"));
        }
        if details.is_empty() {
            details.push("—".into());
        }
        json!({
            "seconds": seconds,
            "created": plan.counts.roles.create + plan.counts.channels.create,
            "skipped": plan.skipped.len(),
            "details": details.join("\n"),
            "pre_restore_snapshot_id": row.pre_restore_snapshot_id,
            "done": state.done.len(),
            "failed": state.failed.len(),
        })
    }

    /// The locale progress is shown in (stored with the message).
    fn locale_of(message: &serde_json::Value) -> Locale {
        message
            .get("locale")
            .and_then(|l| l.as_str())
            .and_then(Locale::from_discord)
            .unwrap_or(Locale::FALLBACK)
    }

    /// The interaction token to edit the progress message with, while it is valid.
    fn token_of(message: &serde_json::Value) -> Option<String> {
        let expires = message
            .get("expires_at")
            .and_then(|t| t.as_i64())
            .unwrap_or(0);
        (Utc::now().timestamp() < expires)
            .then(|| {
                message
                    .get("token")
                    .and_then(|t| t.as_str())
                    .map(str::to_owned)
            })
            .flatten()
    }

    async fn edit_message(
        &self,
        message: &serde_json::Value,
        content: String,
        buttons: bool,
        job: Uuid,
    ) {
        let locale = Self::locale_of(message);
        let components = if buttons {
            json!([{ "type": 1, "components": [{
                "type": 2, "style": 4,
                "label": self.i18n.text(locale, &msg::RESTORE_BUTTON_STOP, &[]),
                "custom_id": super::view::stop_id(job),
            }]}])
        } else {
            json!([])
        };
        let body = json!({ "content": content, "components": components });
        // The interaction's token lives 15 minutes; after that the message is Umbra's own and
        // is edited with the bot token (a long restore keeps talking, its Stop button too).
        let result = match Self::token_of(message) {
            Some(token) => self.bot.rest().edit_original(&token, body).await,
            None => {
                let id = |key: &str| {
                    message
                        .get(key)
                        .and_then(|v| v.as_str())
                        .and_then(|v| v.parse::<u64>().ok())
                };
                match (id("channel_id"), id("message_id")) {
                    (Some(channel), Some(message)) => {
                        self.bot.rest().edit_message(channel, message, body).await
                    }
                    _ => return,
                }
            }
        };
        if let Err(e) = result {
            tracing::debug!(error = %e, "editing the restore progress message failed");
        }
    }

    /// Edits the progress message every progress interval.
    fn progress_task(
        self: Arc<Self>,
        row: JobRow,
        plan: Arc<Plan>,
        shared: Arc<Shared>,
        mut stop: watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let interval = self.service().settings().progress_interval;
        tokio::spawn(async move {
            let mut last = String::new();
            loop {
                let message = persistence::get_any(self.service().db(), row.id)
                    .await
                    .ok()
                    .flatten()
                    .and_then(|r| r.progress_message);
                if let Some(message) = message {
                    let state = shared.state().clone();
                    let text = progress_text(&self.i18n, Self::locale_of(&message), &plan, &state);
                    if text != last {
                        self.edit_message(&message, text.clone(), true, row.id)
                            .await;
                        last = text;
                    }
                }
                tokio::select! {
                    () = tokio::time::sleep(interval) => {}
                    _ = stop.changed() => return,
                }
            }
        })
    }

    /// DMs who confirmed the restore the new URLs of the webhooks it made again (Discord gives
    /// a made-again webhook a new URL: the integrations that posted to the old one need it).
    /// Read from Discord now and sent directly: never stored, never logged. Best effort (a
    /// crash before it, closed DMs): the report says where else to find them.
    async fn send_webhook_urls(&self, row: &JobRow, plan: &Plan, state: &RunState) {
        if state.webhooks.is_empty() {
            return;
        }
        let rest = self.bot.rest();
        let mut lines = Vec::new();
        for (step, id) in &state.webhooks {
            let Some(model::Action::WebhookCreate { name, .. }) =
                plan.steps.get(*step as usize).map(|s| &s.action)
            else {
                continue;
            };
            match rest.webhook_url(*id).await {
                Ok(url) => lines.push(format!("• **{name}**: <{url}>")),
                Err(e) => {
                    tracing::warn!(job = %row.id, webhook = id, error = %e, "reading a made-again webhook failed")
                }
            }
        }
        if lines.is_empty() {
            return;
        }
        let locale = match persistence::get_any(self.service().db(), row.id).await {
            Ok(Some(fresh)) => fresh
                .progress_message
                .as_ref()
                .map_or(Locale::FALLBACK, Self::locale_of),
            _ => Locale::FALLBACK,
        };
        let head = self.i18n.text(
            locale,
            &msg::RESTORE_WEBHOOK_URLS,
            &[crate::i18n::arg("count", lines.len())],
        );
        // Discord's 2,000 characters per message.
        let mut messages = vec![head];
        for line in lines {
            match messages.last_mut() {
                Some(m) if m.chars().count() + line.chars().count() < 1_900 => {
                    m.push('\n');
                    m.push_str(&line);
                }
                _ => messages.push(line),
            }
        }
        let to = row.confirmed_by.unwrap_or(row.requested_by);
        for m in messages {
            if let Err(e) = rest.dm(to, json!({ "content": m })).await {
                tracing::warn!(job = %row.id, error = %e, "the new webhook URLs could not be sent by DM");
                return;
            }
        }
    }

    async fn show_final(&self, row: &JobRow, plan: &Plan, state: &RunState, status: &str) {
        let Ok(Some(fresh)) = persistence::get_any(self.service().db(), row.id).await else {
            return;
        };
        let Some(message) = fresh.progress_message else {
            return;
        };
        let locale = Self::locale_of(&message);
        let text = final_text(&self.i18n, locale, plan, state, status);
        self.edit_message(&message, text, false, row.id).await;
    }
}
