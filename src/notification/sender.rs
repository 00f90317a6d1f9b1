//! Purpose: the notification sender worker — claims due requests in short statements (a lease
//! with a fencing counter, `FOR UPDATE SKIP LOCKED`), sends each OUTSIDE any transaction through
//! the REST port (serenity's limiter handles per-route rate limits, the process pacer the global
//! one; requests go one at a time), and records the outcome only while the fencing counter
//! still matches.
//!
//! Delivery: a DM to the recipient in their language; the guild's log channel (mentioning them)
//! when their DMs are closed (Discord error 50007) or turned off in their preferences. A muted
//! category ends `skipped`. Other failures retry with exponential backoff and jitter and end
//! `dead` after `notification.max_attempts`. Every message carries a nonce derived from the
//! request id with `enforce_nonce`, so a resend after a crash between sending and recording
//! returns the message already sent instead of posting a second one.

use std::sync::Arc;
use std::time::Duration;

use poise::serenity_prelude as serenity;
use serenity::{ButtonStyle, CreateActionRow, CreateAllowedMentions, CreateButton, CreateMessage};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use super::model::{
    self, Category, ClaimedRequest, Outcome, RequestStatus, Route, SendFailure, Via,
};
use super::persistence;
use super::service::NotificationService;
use crate::config::NotificationConfig;
use crate::discord::bot::Bot;
use crate::discord::rest::{Rest, RestError, json_of};
use crate::guild::{GuildReader, GuildRecord, GuildSettings};
use crate::i18n::{I18n, arg, msg};

/// The sender's tuning, from `[notification]`.
pub type SenderSettings = crate::queue::WorkerSettings;

impl From<&NotificationConfig> for SenderSettings {
    fn from(c: &NotificationConfig) -> Self {
        Self {
            poll_interval: Duration::from_millis(c.poll_interval_ms),
            batch_size: c.batch_size,
            lease: Duration::from_secs(c.lease_seconds),
            max_attempts: c.max_attempts,
            backoff_base: Duration::from_millis(c.backoff_base_ms),
            backoff_max: Duration::from_secs(c.backoff_max_seconds),
            retention_days: c.retention_days,
        }
    }
}

/// What recording an outcome did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// The request is now in this state.
    Now(RequestStatus),
    /// Another sender claimed the request since (our lease expired): nothing was written.
    LeaseLost,
}

/// The sender worker.
pub struct Sender {
    service: NotificationService,
    /// The guild and its settings of a request (log channel, language).
    guilds: Arc<dyn GuildReader>,
    /// DMs and log-channel messages go out through the REST port.
    bot: Bot,
    i18n: Arc<I18n>,
    settings: SenderSettings,
    owner: String,
    wake: Arc<Notify>,
}

impl Sender {
    /// `wake` is shared with the consumer, which signals it when it enqueues requests.
    pub fn new(
        service: NotificationService,
        guilds: Arc<dyn GuildReader>,
        bot: Bot,
        i18n: Arc<I18n>,
        settings: SenderSettings,
        wake: Arc<Notify>,
    ) -> Self {
        let owner = format!(
            "{}:{}:{}",
            hostname(),
            std::process::id(),
            uuid::Uuid::now_v7().simple()
        );
        Self {
            service,
            guilds,
            bot,
            i18n,
            settings,
            owner,
            wake,
        }
    }

    /// The lease owner name this sender claims under.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Runs until `shutdown` turns true. Waits while the Discord client does not exist yet;
    /// database errors are logged and retried after the poll interval.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
        let mut last_purge: Option<Instant> = None;
        while !*shutdown.borrow() {
            if self.bot.user_id().is_none() {
                // Not connected yet (READY not seen).
                tokio::select! {
                    _ = tokio::time::sleep(self.settings.poll_interval) => {}
                    _ = shutdown.changed() => {}
                }
                continue;
            }
            let handled = match self.run_once(&shutdown).await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(
                        error = format!("{e:#}"),
                        "notification sender: a round failed; retrying"
                    );
                    0
                }
            };
            if last_purge.is_none_or(|t| t.elapsed() >= Duration::from_secs(3600)) {
                last_purge = Some(Instant::now());
                match persistence::purge_finished(self.service.db(), self.settings.retention_days)
                    .await
                {
                    Ok(0) => {}
                    Ok(n) => {
                        tracing::info!(deleted = n, "notification: purged old finished requests")
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "notification: purging old requests failed")
                    }
                }
            }
            if handled >= self.settings.batch_size as usize {
                continue;
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.settings.poll_interval) => {}
                _ = shutdown.changed() => {}
            }
        }
        Ok(())
    }

    /// Claims one batch and handles it, one request after the other. Returns how many were
    /// claimed. Requests left when `shutdown` turns true, or whose lease is nearly over, are
    /// given back untried.
    pub async fn run_once(&self, shutdown: &watch::Receiver<bool>) -> anyhow::Result<usize> {
        let started = Instant::now();
        let claimed = self.claim().await?;
        let count = claimed.len();
        for request in claimed {
            if *shutdown.borrow() || started.elapsed() > self.settings.lease.mul_f64(0.8) {
                tracing::debug!(request = %request.id, "notification: giving a claimed request back untried");
                if let Err(e) = persistence::release(self.service.pool(), request.lease()).await {
                    tracing::warn!(request = %request.id, error = %e, "notification: releasing a request failed; its lease will expire");
                }
                continue;
            }
            let outcome = self.attempt(&request).await;
            // Sent, not yet recorded: a crash here sends it again (the nonce absorbs it).
            crate::failpoint::hit("notification.sent", "");
            if let Err(e) = self.record(&request, &outcome).await {
                tracing::warn!(request = %request.id, error = format!("{e:#}"), "notification: recording the outcome failed; the lease will expire and the request retry");
            }
        }
        Ok(count)
    }

    /// Claims up to `batch_size` due requests (pending and due, or leased by a sender whose
    /// lease expired).
    pub async fn claim(&self) -> Result<Vec<ClaimedRequest>, sqlx::Error> {
        persistence::claim(
            self.service.pool(),
            &self.owner,
            self.settings.lease,
            self.settings.batch_size,
        )
        .await
    }

    /// Tries to deliver `request` once: reads what it needs, sends, and returns the outcome.
    /// Writes nothing to the queue (see [`Sender::record`]).
    #[tracing::instrument(name = "notification", skip_all, fields(request = %request.id, kind = %request.kind, recipient = request.recipient_discord_id, attempt = request.attempts))]
    pub async fn attempt(&self, request: &ClaimedRequest) -> Outcome {
        let Some(template) = crate::i18n::msg_by_key(&request.template_key) else {
            return Outcome::Failed(format!(
                "unknown message template `{}`",
                request.template_key
            ));
        };
        let recipient = request.recipient_discord_id;
        if recipient == 0 {
            return Outcome::Failed("the recipient's Discord id is not valid".into());
        }
        let preferences = match self.service.preferences(recipient).await {
            Ok(p) => p,
            Err(e) => return Outcome::Retry(format!("reading the recipient's preferences: {e}")),
        };
        let route = model::route(&preferences, Category::parse(&request.category));
        if route == Route::Skip {
            return Outcome::Skipped(format!(
                "muted by the recipient (category {})",
                request.category
            ));
        }
        let (guild, settings) = match self.guild_of(request).await {
            Ok(found) => found,
            Err(e) => return Outcome::Retry(format!("reading the server: {e}")),
        };
        let locale = model::choose_locale(
            preferences.locale,
            request.locale.as_deref(),
            settings.as_ref().and_then(|s| s.locale),
        );
        let i18n = &self.i18n;
        let args = model::render_args(&request.args, template, i18n, locale);
        let text = i18n.text(locale, template, &args);
        let nonce = model::nonce(request.id);
        let components = components(&model::buttons(&request.args, i18n, locale));

        let why_not_dm = if route == Route::Dm {
            match send_dm(
                self.bot.rest(),
                recipient,
                &text,
                &nonce,
                components.clone(),
            )
            .await
            {
                Ok(message) => {
                    return Outcome::Sent {
                        via: Via::Dm,
                        channel_id: message.channel_id.get(),
                        message_id: message.id.get(),
                    };
                }
                Err(e) => match failure_of(&e) {
                    SendFailure::DmClosed => "the recipient's DMs are closed (Discord error 50007)",
                    SendFailure::Permanent => {
                        return Outcome::Failed(format!("sending the DM: {e}"));
                    }
                    SendFailure::Transient => {
                        return Outcome::Retry(format!("sending the DM: {e}"));
                    }
                },
            }
        } else {
            "the recipient turned DMs off in /umbra notifications"
        };

        let Some(guild) = guild else {
            return Outcome::Failed(format!(
                "{why_not_dm}, and the notification belongs to no server whose log channel could be used"
            ));
        };
        let Some(channel) = settings.and_then(|s| s.log_channel_id).filter(|c| *c > 0) else {
            return Outcome::Retry(format!(
                "{why_not_dm}, and the server {} has no log channel (its owner can set one with /umbra settings log-channel)",
                guild.discord_id
            ));
        };
        let content = i18n.text(
            locale,
            &msg::NOTIFY_IN_LOG_CHANNEL,
            &[arg("owner", format!("<@{recipient}>")), arg("text", text)],
        );
        let message = CreateMessage::new()
            .content(content)
            .allowed_mentions(
                CreateAllowedMentions::new().users([serenity::UserId::new(recipient)]),
            )
            .nonce(serenity::Nonce::String(nonce))
            .enforce_nonce(true)
            .components(components);
        match self
            .bot
            .rest()
            .send_message(channel, json_of(&message))
            .await
        {
            Ok(m) => Outcome::Sent {
                via: Via::LogChannel,
                channel_id: m.channel_id.get(),
                message_id: m.id.get(),
            },
            Err(e) => {
                let error =
                    format!("{why_not_dm}; posting in the log channel {channel} failed: {e}");
                match failure_of(&e) {
                    SendFailure::Permanent => Outcome::Failed(error),
                    _ => Outcome::Retry(error),
                }
            }
        }
    }

    /// Records `outcome` for `request` if this sender still holds its lease.
    pub async fn record(
        &self,
        request: &ClaimedRequest,
        outcome: &Outcome,
    ) -> Result<Recorded, sqlx::Error> {
        let pool = self.service.pool();
        let (id, lease) = (request.id, request.lease());
        let written = match outcome {
            Outcome::Sent {
                via,
                channel_id,
                message_id,
            } => persistence::mark_sent(pool, lease, *via, *channel_id, *message_id)
                .await?
                .then_some(RequestStatus::Sent),
            Outcome::Skipped(reason) => {
                persistence::mark_final(pool, lease, RequestStatus::Skipped, reason)
                    .await?
                    .then_some(RequestStatus::Skipped)
            }
            Outcome::Failed(reason) => {
                persistence::mark_final(pool, lease, RequestStatus::Failed, reason)
                    .await?
                    .then_some(RequestStatus::Failed)
            }
            Outcome::Retry(error) => {
                let retry_in = self.settings.retry_delay(request.attempts);
                persistence::mark_retry(pool, lease, error, retry_in, self.settings.max_attempts)
                    .await?
            }
        };
        let Some(status) = written else {
            tracing::debug!(request = %id, "notification: lease lost; the new owner records the outcome");
            return Ok(Recorded::LeaseLost);
        };
        match (status, outcome) {
            (RequestStatus::Sent, Outcome::Sent { via, .. }) => {
                metrics::counter!("umbra_notifications_sent_total", "via" => via.as_str())
                    .increment(1);
                tracing::debug!(request = %id, kind = %request.kind, via = via.as_str(), "notification sent");
            }
            (RequestStatus::Skipped, _) => {
                metrics::counter!("umbra_notifications_skipped_total").increment(1);
            }
            (RequestStatus::Failed, Outcome::Failed(reason)) => {
                metrics::counter!("umbra_notifications_failed_total").increment(1);
                tracing::warn!(request = %id, kind = %request.kind, %reason, "notification cannot be delivered");
            }
            (RequestStatus::Dead, Outcome::Retry(error)) => {
                metrics::counter!("umbra_notifications_failed_total").increment(1);
                metrics::counter!("umbra_notifications_dead_total").increment(1);
                tracing::error!(request = %id, kind = %request.kind, attempts = request.attempts, %error, "notification is dead after its last attempt");
            }
            (_, Outcome::Retry(error)) => {
                metrics::counter!("umbra_notifications_failed_total").increment(1);
                tracing::info!(request = %id, kind = %request.kind, attempts = request.attempts, %error, "notification attempt failed; will retry");
            }
            _ => {}
        }
        Ok(Recorded::Now(status))
    }

    /// The request's server and its settings, when it belongs to one Umbra still knows.
    async fn guild_of(
        &self,
        request: &ClaimedRequest,
    ) -> Result<(Option<GuildRecord>, Option<GuildSettings>), crate::guild::GuildError> {
        let Some(row) = request.guild_id else {
            return Ok((None, None));
        };
        let Some(guild) = self.guilds.guild_by_row(row).await? else {
            return Ok((None, None));
        };
        let settings = self.guilds.settings(guild.discord_id).await?;
        Ok((Some(guild), Some(settings)))
    }
}

async fn send_dm(
    rest: &Rest,
    recipient: u64,
    text: &str,
    nonce: &str,
    components: Vec<CreateActionRow>,
) -> Result<serenity::Message, RestError> {
    let message = CreateMessage::new()
        .content(text)
        .allowed_mentions(CreateAllowedMentions::new())
        .nonce(serenity::Nonce::String(nonce.to_owned()))
        .enforce_nonce(true)
        .components(components);
    rest.dm(recipient, json_of(&message)).await
}

/// The request's buttons as one action row (none: no components).
fn components(buttons: &[model::Button]) -> Vec<CreateActionRow> {
    if buttons.is_empty() {
        return Vec::new();
    }
    vec![CreateActionRow::Buttons(
        buttons
            .iter()
            .map(|b| {
                CreateButton::new(b.custom_id.clone())
                    .label(b.label.clone())
                    .style(match b.style.as_str() {
                        "danger" => ButtonStyle::Danger,
                        "primary" => ButtonStyle::Primary,
                        _ => ButtonStyle::Secondary,
                    })
            })
            .collect(),
    )]
}

/// What a failed call means for the request.
fn failure_of(error: &RestError) -> SendFailure {
    model::classify(error.status(), error.code())
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "umbra".to_owned())
}
