//! Purpose: wiring — config -> database -> adapters -> domains -> supervised tasks. Every task
//! runs next to the others; one ending (error or not) before shutdown is logged with its reason
//! and stops the process with a non-zero code, so a supervisor restarts it: never a silent,
//! half-alive bot.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use poise::serenity_prelude as serenity;

use crate::audit::AuditConsumer;
use crate::config::{Config, Secrets};
use crate::db::Database;
use crate::db::crypto::Keyring;
use crate::discord;
use crate::guild::GuildService;
use crate::http::{self, HttpState};
use crate::i18n::I18n;
use crate::licensing::LicensingService;
use crate::notification;
use crate::outbox::relay::{Consumer, Relay, RelaySettings};
use crate::types::{Data, Services};

/// How long tasks get to finish after a shutdown request.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// A started Umbra: its tasks run until [`Running::shutdown`] or until one of them ends.
pub struct Running {
    pub http_addr: SocketAddr,
    /// The services the bot and workers share (tests inspect them).
    pub data: Data,
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<(&'static str, anyhow::Result<()>)>,
    db: Option<Database>,
}

/// Checks what `umbra run` needs before anything starts.
pub fn preflight(secrets: &Secrets) -> anyhow::Result<()> {
    if secrets.discord_token.is_none() {
        anyhow::bail!(
            "DISCORD_TOKEN is not set. Umbra needs its bot token to connect to Discord: create an \
             application at https://discord.com/developers/applications, open Bot -> Reset Token, \
             and start Umbra with DISCORD_TOKEN=<token> in its environment. (To try Umbra without \
             Discord, point it at the local emulator: see README.)"
        );
    }
    if let Some(key) = &secrets.secret_key {
        Keyring::parse(key)?;
    }
    Ok(())
}

/// Connects the database (starting the embedded one when no URL is set), migrates, and starts
/// the HTTP server, the workers and — when a token is given — the Discord gateway.
pub async fn start(config: &Config, secrets: &Secrets) -> anyhow::Result<Running> {
    let db = Database::connect(config).await?;
    let applied = db.migrate().await?;
    if !applied.is_empty() {
        tracing::info!(count = applied.len(), "applied database migrations");
    }
    let keyring = secrets
        .secret_key
        .as_ref()
        .map(Keyring::parse)
        .transpose()?
        .map(Arc::new);
    let i18n = Arc::new(I18n::load().map_err(|e| anyhow::anyhow!("loading translations: {e}"))?);
    let config = Arc::new(config.clone());
    let guilds = GuildService::new(db.conn.clone(), config.retention.removed_guild_grace_days);
    let licensing = LicensingService::new(db.conn.clone(), Arc::new(guilds.clone()));
    let (members, sync, snapshots) =
        crate::recovery::services(&config, &db.conn, &db.pool, &guilds, &licensing)?;
    let restores = crate::recovery::restore::service(
        &config, &db.conn, &sync, &snapshots, &guilds, &licensing,
    );
    let data = Data(Arc::new(Services {
        config: config.clone(),
        db: db.conn.clone(),
        pool: db.pool.clone(),
        i18n,
        keyring,
        guilds,
        licensing,
        members,
        sync,
        snapshots,
        antinuke: crate::recovery::antinuke::AntinukeService::new(
            config.antinuke.clone(),
            db.conn.clone(),
        ),
        restores,
        operators: std::sync::RwLock::new(config.discord.operators.iter().copied().collect()),
        bot_user_id: std::sync::OnceLock::new(),
        http: std::sync::OnceLock::new(),
        cache: std::sync::OnceLock::new(),
        unknown_events: std::sync::Mutex::new(Vec::new()),
    }));

    let (shutdown, shutdown_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();

    let listener = TcpListener::bind(config.http.bind)
        .await
        .with_context(|| format!("binding http.bind {}", config.http.bind))?;
    let http_addr = listener.local_addr()?;
    let metrics = http::metrics_handle().context("installing the Prometheus recorder")?;
    let router = http::router(HttpState {
        pool: db.pool.clone(),
        metrics,
    });
    let rx = shutdown_rx.clone();
    tasks.spawn(async move { ("http", http::serve(listener, router, rx).await) });

    let notify_wake = Arc::new(tokio::sync::Notify::new());
    let consumers: Vec<Arc<dyn Consumer>> = vec![
        Arc::new(AuditConsumer::new(db.pool.clone())),
        Arc::new(notification::NotificationConsumer::new(
            notification::NotificationService::of(&data),
            Arc::new(data.guilds.clone()),
            notify_wake.clone(),
        )),
        Arc::new(crate::recovery::antinuke::AntinukeConsumer::new(
            data.clone(),
        )),
    ];
    let relay = Relay::new(
        db.pool.clone(),
        db.direct.clone(),
        consumers,
        RelaySettings::from(&config.outbox),
    );
    let rx = shutdown_rx.clone();
    tasks.spawn(async move { ("outbox relay", relay.run(rx).await) });

    if config.notification.sender_enabled {
        let sender = notification::Sender::new(
            data.clone(),
            notification::SenderSettings::from(&config.notification),
            notify_wake,
        );
        let rx = shutdown_rx.clone();
        tasks.spawn(async move { ("notification sender", sender.run(rx).await) });
    }

    let live_sync = data.sync.clone();
    let rx = shutdown_rx.clone();
    tasks.spawn(async move { ("live sync", live_sync.run(rx).await) });
    let scheduler = data.snapshots.clone();
    let rx = shutdown_rx.clone();
    tasks.spawn(async move { ("snapshot scheduler", scheduler.run(rx).await) });

    let antinuke = data.antinuke.clone();
    let (rx, antinuke_data) = (shutdown_rx.clone(), data.clone());
    tasks.spawn(async move { ("AntiNuke", antinuke.run(antinuke_data, rx).await) });

    if config.restore.runner_enabled {
        let runner = crate::recovery::restore::Runner::new(data.clone());
        let rx = shutdown_rx.clone();
        tasks.spawn(async move { ("restore runner", runner.run(rx).await) });
    }

    let maintenance = maintenance(data.clone(), shutdown_rx.clone());
    tasks.spawn(async move { ("maintenance", maintenance.await) });

    if let Some(token) = &secrets.discord_token {
        let http = discord::client::http(&config, token)?;
        let framework = discord::framework::build(data.clone());
        let client = serenity::ClientBuilder::new_with_http(http, discord::client::intents())
            .framework(framework)
            .raw_event_handler(discord::framework::RawEventGuard { data: data.clone() })
            .await
            .map_err(discord::client::explain)?;
        let _ = data.http.set(client.http.clone());
        let _ = data.cache.set(client.cache.clone());
        let rx = shutdown_rx.clone();
        let gateway_config = config.clone();
        tasks.spawn(async move {
            (
                "Discord gateway",
                discord::client::run_gateway(client, gateway_config, rx).await,
            )
        });
    }

    tracing::info!(%http_addr, "umbra is running");
    Ok(Running {
        http_addr,
        data,
        shutdown,
        tasks,
        db: Some(db),
    })
}

/// Periodic housekeeping: purge removed guilds after their grace period, expire licenses.
/// Safe with several processes (each step claims its rows or is idempotent).
async fn maintenance(data: Data, mut shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
    let interval = Duration::from_secs(data.config.retention.interval_minutes.max(1) * 60);
    while !*shutdown.borrow() {
        match data.guilds.purge_due().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "purged removed guilds after their grace period"),
            Err(e) => tracing::warn!(error = %e, "purging removed guilds failed; will retry"),
        }
        match data.licensing.expire_due().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(expired = n, "expired licenses"),
            Err(e) => tracing::warn!(error = %e, "expiring licenses failed; will retry"),
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => {}
        }
    }
    Ok(())
}

impl Running {
    /// Waits until `signal` resolves (then shuts down cleanly) or a task ends on its own (then
    /// stops the others and returns an error naming it).
    pub async fn run_until(
        mut self,
        signal: impl std::future::Future<Output = ()>,
    ) -> anyhow::Result<()> {
        let outcome = tokio::select! {
            () = signal => {
                tracing::info!("shutting down");
                Ok(())
            }
            Some(joined) = self.tasks.join_next() => {
                let (name, result) = match joined {
                    Ok(pair) => pair,
                    Err(e) => ("a task", Err(anyhow::anyhow!("it panicked or was cancelled: {e}"))),
                };
                let error = match result {
                    Ok(()) => anyhow::anyhow!("the {name} task ended unexpectedly"),
                    Err(e) => e.context(format!("the {name} task failed")),
                };
                tracing::error!(error = format!("{error:#}"), "stopping Umbra");
                Err(error)
            }
        };
        let stopped = self.stop().await;
        outcome.and(stopped)
    }

    /// Asks every task to stop, waits for them, closes the database.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        self.stop().await
    }

    async fn stop(&mut self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(true);
        let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
            while let Some(joined) = self.tasks.join_next().await {
                match joined {
                    Ok((name, Err(e))) => tracing::warn!(
                        task = name,
                        error = format!("{e:#}"),
                        "task ended with an error during shutdown"
                    ),
                    Ok((_, Ok(()))) => {}
                    Err(e) => tracing::warn!(error = %e, "task panicked during shutdown"),
                }
            }
        })
        .await;
        if drained.is_err() {
            tracing::warn!("tasks did not stop within {SHUTDOWN_GRACE:?}; aborting them");
            self.tasks.abort_all();
        }
        if let Some(db) = self.db.take() {
            db.close().await?;
        }
        Ok(())
    }
}
