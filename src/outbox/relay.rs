//! Purpose: the outbox relay worker — claims due events, hands each to every subscribed
//! consumer, records progress fenced by the lease, retries with backoff, ends in a dead state.
//!
//! Several relays (in one or many processes) can run at once: a claim takes rows with
//! `FOR UPDATE SKIP LOCKED` and bumps their fencing counter, so a relay whose lease expired
//! cannot overwrite the newer owner's progress. A consumer already recorded in `delivered_to`
//! is not called again when another consumer's failure makes the event retry. LISTEN/NOTIFY on
//! the direct connection is only a wake-up hint: the relay always polls too.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use tokio::sync::{Notify, watch};

use super::model::OutboxEvent;
use super::persistence;
use crate::config::OutboxConfig;

/// The NOTIFY channel the outbox trigger signals on commit.
pub const CHANNEL: &str = "umbra_outbox";

/// Something that reacts to outbox events. `handle` must be idempotent on `event.id`: it may
/// run more than once for the same event (at-least-once delivery).
pub trait Consumer: Send + Sync {
    /// A stable name, stored in `events.outbox.delivered_to`.
    fn name(&self) -> &'static str;
    /// Whether this consumer wants events of this type.
    fn wants(&self, event_type: &str) -> bool;
    /// Reacts to one event. An error makes the event retry later (for this consumer only).
    fn handle<'a>(&'a self, event: &'a OutboxEvent) -> BoxFuture<'a, anyhow::Result<()>>;
}

/// The relay's tuning, from `[outbox]`.
pub type RelaySettings = crate::queue::WorkerSettings;

impl From<&OutboxConfig> for RelaySettings {
    fn from(c: &OutboxConfig) -> Self {
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

/// The relay worker.
pub struct Relay {
    pool: PgPool,
    direct: Option<PgConnectOptions>,
    consumers: Vec<Arc<dyn Consumer>>,
    settings: RelaySettings,
    owner: String,
    wake: Arc<Notify>,
}

impl Relay {
    pub fn new(
        pool: PgPool,
        direct: Option<PgConnectOptions>,
        consumers: Vec<Arc<dyn Consumer>>,
        settings: RelaySettings,
    ) -> Self {
        let owner = format!(
            "{}:{}:{}",
            hostname(),
            std::process::id(),
            uuid::Uuid::now_v7().simple()
        );
        Self {
            pool,
            direct,
            consumers,
            settings,
            owner,
            wake: Arc::new(Notify::new()),
        }
    }

    /// Wakes the relay now (e.g. right after a local commit).
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Runs until `shutdown` turns true. Database errors are logged and retried after the poll
    /// interval; only the shutdown signal ends the loop.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
        let listener = self.direct.clone().map(|opts| {
            let wake = self.wake.clone();
            let stop = shutdown.clone();
            tokio::spawn(listen(opts, wake, stop))
        });
        let mut last_purge = tokio::time::Instant::now() - Duration::from_secs(3600);
        while !*shutdown.borrow() {
            let handled = match self.run_once().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "outbox relay: claiming events failed; retrying");
                    0
                }
            };
            if last_purge.elapsed() >= Duration::from_secs(3600) {
                last_purge = tokio::time::Instant::now();
                match persistence::purge_published(&self.pool, self.settings.retention_days).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(deleted = n, "outbox: purged old published events"),
                    Err(e) => tracing::warn!(error = %e, "outbox: purging published events failed"),
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
        if let Some(task) = listener {
            task.abort();
        }
        Ok(())
    }

    /// Claims one batch and delivers it. Returns how many events were claimed.
    pub async fn run_once(&self) -> anyhow::Result<usize> {
        let events = persistence::claim(
            &self.pool,
            &self.owner,
            self.settings.lease,
            self.settings.batch_size,
        )
        .await?;
        let count = events.len();
        for event in events {
            self.deliver(event).await;
        }
        Ok(count)
    }

    #[tracing::instrument(name = "outbox_event", skip_all, fields(event = %event.id, event_type = %event.event_type, guild = event.guild_discord_id))]
    async fn deliver(&self, event: OutboxEvent) {
        let mut failure: Option<String> = None;
        for consumer in &self.consumers {
            if !consumer.wants(&event.event_type)
                || event.delivered_to.iter().any(|d| d == consumer.name())
            {
                continue;
            }
            match consumer.handle(&event).await {
                Ok(()) => {
                    // Delivered, not yet marked: a crash here delivers it again.
                    crate::failpoint::hit("outbox.delivered", consumer.name());
                    match persistence::mark_delivered(&self.pool, event.lease(), consumer.name())
                        .await
                    {
                        Ok(true) => {}
                        Ok(false) => {
                            tracing::debug!(event = %event.id, "outbox: lease lost; leaving the event to its new owner");
                            return;
                        }
                        Err(e) => {
                            failure =
                                Some(format!("recording delivery to {}: {e}", consumer.name()));
                            break;
                        }
                    }
                }
                Err(e) => {
                    failure = Some(format!("{}: {e:#}", consumer.name()));
                    break;
                }
            }
        }
        let result = match &failure {
            None => persistence::mark_published(&self.pool, event.lease())
                .await
                .map(|_| false),
            Some(error) => {
                let retry_in = self.settings.retry_delay(event.attempts);
                persistence::mark_failed(
                    &self.pool,
                    event.lease(),
                    error,
                    retry_in,
                    self.settings.max_attempts,
                )
                .await
            }
        };
        match (result, failure) {
            (Ok(false), None) => {
                metrics::counter!("umbra_outbox_published_total").increment(1);
            }
            (Ok(dead), Some(error)) => {
                metrics::counter!("umbra_outbox_failed_deliveries_total").increment(1);
                if dead {
                    metrics::counter!("umbra_outbox_dead_total").increment(1);
                    tracing::error!(event = %event.id, event_type = %event.event_type, attempts = event.attempts, %error, "outbox: event is dead after its last attempt");
                } else {
                    tracing::warn!(event = %event.id, event_type = %event.event_type, attempts = event.attempts, %error, "outbox: delivery failed; will retry");
                }
            }
            (Ok(_), None) => {}
            (Err(e), _) => {
                tracing::warn!(event = %event.id, error = %e, "outbox: recording the delivery result failed; the lease will expire and the event retry");
            }
        }
    }
}

async fn listen(options: PgConnectOptions, wake: Arc<Notify>, shutdown: watch::Receiver<bool>) {
    let mut delay = Duration::from_millis(500);
    while !*shutdown.borrow() {
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .connect_lazy_with(options.clone());
        match PgListener::connect_with(&pool).await {
            Ok(mut listener) => {
                if let Err(e) = listener.listen(CHANNEL).await {
                    tracing::debug!(error = %e, "outbox: LISTEN failed; polling only for now");
                } else {
                    delay = Duration::from_millis(500);
                    // LISTEN first, then poll once: nothing committed meanwhile is missed.
                    wake.notify_one();
                    loop {
                        match listener.recv().await {
                            Ok(_) => wake.notify_one(),
                            Err(e) => {
                                tracing::debug!(error = %e, "outbox: LISTEN connection lost; reconnecting");
                                break;
                            }
                        }
                    }
                }
            }
            Err(e) => tracing::debug!(error = %e, "outbox: cannot open the LISTEN connection"),
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(30));
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "umbra".to_owned())
}
