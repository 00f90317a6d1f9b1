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

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock, RwLock};

use sea_orm::DatabaseConnection;
use sqlx::PgPool;

use crate::audit::AuditConsumer;
use crate::config::{Config, Secrets};
use crate::db::Database;
use crate::db::crypto::Keyring;
use crate::discord;
use crate::discord::bot::Bot;
use crate::discord::rest::{Pacer, Rest, SerenityRest};
use crate::guild::GuildService;
use crate::http::HttpState;
use crate::i18n::I18n;
use crate::identity::IdentityService;
use crate::licensing::LicensingService;
use crate::notification;
use crate::outbox::relay::{Consumer, Relay, RelaySettings};
use crate::types::Data;

/// How long tasks get to finish after a shutdown request.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// The application: every domain service, each built with exactly the ports it uses, and what
/// the gateway, the HTTP server and the workers share. Built once by [`start`].
pub struct App {
    pub config: Arc<Config>,
    pub db: DatabaseConnection,
    pub pool: PgPool,
    pub i18n: Arc<I18n>,
    pub keyring: Option<Arc<Keyring>>,
    /// Umbra on Discord: the REST port (one pacer), its user id, the gateway cache.
    pub bot: Bot,
    /// The REST port's adapter, connected to serenity's client once it exists.
    discord: Arc<SerenityRest>,
    /// serenity's client, once it exists (the framework's glue; domains use `bot.rest()`).
    pub http: OnceLock<Arc<serenity::Http>>,
    /// Web users and their sessions.
    pub identity: IdentityService,
    /// Plans people buy (`None`: `billing.provider = "none"`).
    pub billing: Option<crate::billing::BillingService>,
    /// Members' re-join links (`None` without the web login: they need Discord OAuth2).
    pub links: Option<crate::member::LinkService>,
    /// The permanent audit log, for the web's audit-log page.
    pub audit: crate::audit::AuditReader,
    pub guilds: GuildService,
    pub licensing: LicensingService,
    /// Guild members (the member domain).
    pub members: crate::member::MemberService,
    /// Live sync of every guild into PostgreSQL.
    pub sync: crate::recovery::sync::SyncService,
    /// Snapshots (triggers, retention, export/import).
    pub snapshots: crate::recovery::snapshot::SnapshotService,
    /// AntiNuke: in-memory detection on the event path, incidents, buttons.
    pub antinuke: crate::recovery::antinuke::AntinukeService,
    /// Restores (previews, jobs; the runner is a task).
    pub restores: crate::recovery::restore::RestoreService,
    /// Notification requests and preferences (the sender is a task).
    pub notifications: notification::NotificationService,
    /// Discord user ids allowed to run operator commands: `discord.operators` plus the
    /// application's owners (learned at start-up).
    pub operators: RwLock<HashSet<u64>>,
    /// Gateway dispatches serenity could not parse (it would otherwise drop them silently).
    pub unknown_events: Mutex<Vec<String>>,
}

impl App {
    /// Every lease queue of this process (their counts are in `/metrics`).
    pub fn queues(&self) -> [&'static crate::queue::QueueTable; 5] {
        [
            &crate::outbox::QUEUE,
            &crate::notification::QUEUE,
            &crate::recovery::restore::QUEUE,
            &crate::billing::QUEUE,
            &crate::identity::grants::QUEUE,
        ]
    }

    /// Connects the REST port and the services to the Discord client.
    pub fn connect(&self, client: &serenity::Client) {
        self.discord.connect(client.http.clone());
        let _ = self.http.set(client.http.clone());
        self.bot.learn_cache(client.cache.clone());
    }

    pub fn is_operator(&self, user: serenity::UserId) -> bool {
        self.operators
            .read()
            .map(|ops| ops.contains(&user.get()))
            .unwrap_or(false)
    }

    /// Builds every service with its ports. The REST port answers "not connected" until
    /// [`App::connect`] gives it serenity's client.
    pub fn build(
        config: Arc<Config>,
        db: &Database,
        keyring: Option<Arc<Keyring>>,
        secrets: &Secrets,
        oauth: Option<Arc<crate::discord::oauth::OAuthClient>>,
    ) -> anyhow::Result<Self> {
        let i18n =
            Arc::new(I18n::load().map_err(|e| anyhow::anyhow!("loading translations: {e}"))?);
        let pacer = Arc::new(Pacer::new(config.discord.global_requests_per_second));
        let discord = Arc::new(SerenityRest::new(
            pacer,
            crate::discord::client::reqwest_client(&config)?,
        ));
        let bot = Bot::new(Rest::new(discord.clone()));
        let identity = IdentityService::new(db.conn.clone());
        let guilds = GuildService::new(
            db.conn.clone(),
            Arc::new(identity.clone()),
            config.retention.removed_guild_grace_days,
        );
        // An empty default plan: the top plan for self-hosters, free when plans are sold.
        let default_plan = match config.licensing.default_plan.as_str() {
            "" if config.billing.provider != "none" => "free",
            plan => plan,
        };
        let licensing =
            LicensingService::new(db.conn.clone(), Arc::new(guilds.clone()), default_plan)
                .with_downgrade_grace(config.licensing.downgrade_grace_days);
        let billing = crate::billing::from_config(
            &config,
            secrets,
            keyring.as_ref(),
            &db.pool,
            Arc::new(licensing.clone()),
            Arc::new(guilds.clone()),
        )?;
        let (members, sync, snapshots) = crate::recovery::services(
            &config,
            &db.conn,
            &db.pool,
            &guilds,
            &licensing,
            bot.rest().clone(),
        )?;
        let restores = crate::recovery::restore::service(
            &config,
            &db.conn,
            &sync,
            &snapshots,
            &guilds,
            &licensing,
            Arc::new(crate::recovery::antinuke::Punishments::new(db.conn.clone())),
        );
        let antinuke = crate::recovery::antinuke::AntinukeService::new(
            config.antinuke.clone(),
            db.conn.clone(),
            crate::recovery::antinuke::Ports {
                guilds: guilds.clone(),
                licensing: Arc::new(licensing.clone()),
                sync: sync.clone(),
                snapshots: snapshots.clone(),
                restores: restores.clone(),
                bot: bot.clone(),
            },
        );
        // The re-join link needs the web's OAuth2 client and the key its grants are sealed with.
        let links = match (oauth, keyring.as_ref()) {
            (Some(oauth), Some(keyring)) => {
                let configured = config.discord.client_id;
                let learned = bot.clone();
                let client_id: Arc<dyn Fn() -> u64 + Send + Sync> =
                    Arc::new(move || match configured {
                        0 => learned.application_id().unwrap_or(0),
                        id => id,
                    });
                let grants = crate::identity::GrantStore::new(
                    db.pool.clone(),
                    keyring.clone(),
                    oauth,
                    client_id,
                );
                Some(crate::member::LinkService::new(
                    db.pool.clone(),
                    keyring.clone(),
                    grants,
                    guilds.clone(),
                    bot.clone(),
                    crate::member::LinkSettings {
                        refresh_before: Duration::from_secs(
                            u64::from(config.members.refresh_before_hours) * 3600,
                        ),
                        poll: Duration::from_secs(config.members.refresh_poll_seconds.max(1)),
                    },
                ))
            }
            _ => None,
        };
        if let Some(links) = &links {
            restores.set_grants(Arc::new(links.clone()));
        }
        let notifications = notification::NotificationService::new(
            db.conn.clone(),
            db.pool.clone(),
            identity.clone(),
        );
        Ok(Self {
            operators: RwLock::new(config.discord.operators.iter().copied().collect()),
            config,
            db: db.conn.clone(),
            pool: db.pool.clone(),
            i18n,
            keyring,
            bot,
            discord,
            http: OnceLock::new(),
            identity,
            billing,
            links,
            audit: crate::audit::AuditReader::new(db.conn.clone()),
            guilds,
            licensing,
            members,
            sync,
            snapshots,
            antinuke,
            restores,
            notifications,
            unknown_events: Mutex::new(Vec::new()),
        })
    }
}

/// Watches an external database: when it has not answered for `give_up`, fails (the process
/// then exits non-zero and a supervisor restarts it) with a message naming the key. Checked
/// every `give_up / 10` (1 s to 30 s), each check bounded by 5 s.
async fn database_watchdog(
    pool: PgPool,
    give_up: Duration,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let every = (give_up / 10).clamp(Duration::from_secs(1), Duration::from_secs(30));
    let mut failing_since: Option<(tokio::time::Instant, String)> = None;
    while !*shutdown.borrow() {
        let check = tokio::time::timeout(
            Duration::from_secs(5),
            sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&pool),
        )
        .await;
        match check {
            Ok(Ok(_)) => {
                if failing_since.take().is_some() {
                    tracing::info!("the database answers again");
                }
            }
            Ok(Err(e)) => {
                failing_since.get_or_insert_with(|| (tokio::time::Instant::now(), e.to_string()));
            }
            Err(_) => {
                failing_since.get_or_insert_with(|| {
                    (tokio::time::Instant::now(), "no answer within 5 s".into())
                });
            }
        }
        if let Some((since, why)) = &failing_since {
            let down = since.elapsed();
            if down >= give_up {
                anyhow::bail!(
                    "the database (database.url) has not answered for {} s \
                     (database.give_up_seconds = {}): {why}. Exiting so that a supervisor \
                     restarts Umbra once it is back",
                    down.as_secs(),
                    give_up.as_secs()
                );
            }
            tracing::warn!(
                down_s = down.as_secs(),
                give_up_s = give_up.as_secs(),
                "the database does not answer"
            );
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => {}
        }
    }
    Ok(())
}

/// A started Umbra: its tasks run until [`Running::shutdown`] or until one of them ends.
pub struct Running {
    pub http_addr: SocketAddr,
    /// The application the bot and workers share (tests inspect it).
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
    let config = Arc::new(config.clone());
    let web = Arc::new(crate::http::web::Web::new(
        &config,
        secrets,
        keyring.clone(),
    )?);
    let app = Arc::new(App::build(
        config.clone(),
        &db,
        keyring,
        secrets,
        web.oauth.clone(),
    )?);
    let default_plan = app.licensing.default_plan().await.map_err(|e| {
        anyhow::anyhow!(
            "`licensing.default_plan` (`{}`): {e}; use a plan code of licensing.plans (free, pro, \
             max) or leave it empty for the top plan",
            config.licensing.default_plan
        )
    })?;
    tracing::info!(
        plan = default_plan.code,
        "servers without a license get this plan (licensing.default_plan)"
    );
    let data = Data(app.clone());

    let (shutdown, shutdown_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();

    let listener = TcpListener::bind(config.http.bind)
        .await
        .with_context(|| format!("binding http.bind {}", config.http.bind))?;
    let http_addr = listener.local_addr()?;
    let metrics = crate::http::metrics_handle().context("installing the Prometheus recorder")?;
    let router = crate::http::router(HttpState {
        app: app.clone(),
        metrics,
        web,
        shutdown: shutdown_rx.clone(),
    });
    let rx = shutdown_rx.clone();
    tasks.spawn(async move { ("http", crate::http::serve(listener, router, rx).await) });

    // The embedded cluster is Umbra's own: if its postmaster dies, it is started again (the
    // pool reconnects by itself; the workers retry meanwhile).
    if let Some(reviver) = db.embedded().and_then(|pg| pg.reviver()) {
        let mut rx = shutdown_rx.clone();
        tasks.spawn(async move {
            while !*rx.borrow() {
                match reviver.revive().await {
                    Ok(true) => tracing::info!("the embedded PostgreSQL was started again"),
                    Ok(false) => {}
                    Err(e) => tracing::warn!(error = %e, "starting the embedded PostgreSQL again failed; trying again"),
                }
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                    _ = rx.changed() => {}
                }
            }
            ("embedded postgres watch", Ok(()))
        });
    }

    // An external database that never comes back ends Umbra (a supervisor restarts it); the
    // embedded one is Umbra's own.
    if !config.database.url.trim().is_empty() && config.database.give_up_seconds > 0 {
        let pool = db.pool.clone();
        let give_up = Duration::from_secs(config.database.give_up_seconds);
        let rx = shutdown_rx.clone();
        tasks.spawn(async move {
            (
                "database watchdog",
                database_watchdog(pool, give_up, rx).await,
            )
        });
    }

    let notify_wake = Arc::new(tokio::sync::Notify::new());
    let consumers: Vec<Arc<dyn Consumer>> = vec![
        Arc::new(AuditConsumer::new(db.pool.clone())),
        Arc::new(notification::NotificationConsumer::new(
            app.notifications.clone(),
            Arc::new(app.guilds.clone()),
            notify_wake.clone(),
        )),
        Arc::new(crate::recovery::antinuke::AntinukeConsumer::new(
            app.antinuke.clone(),
        )),
        Arc::new(crate::licensing::SubscriptionConsumer::new(
            app.licensing.clone(),
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
            app.notifications.clone(),
            Arc::new(app.guilds.clone()),
            app.bot.clone(),
            app.i18n.clone(),
            notification::SenderSettings::from(&config.notification),
            notify_wake,
        );
        let rx = shutdown_rx.clone();
        tasks.spawn(async move { ("notification sender", sender.run(rx).await) });
    }

    let live_sync = app.sync.clone();
    let rx = shutdown_rx.clone();
    tasks.spawn(async move { ("live sync", live_sync.run(rx).await) });
    let scheduler = app.snapshots.clone();
    let rx = shutdown_rx.clone();
    tasks.spawn(async move { ("snapshot scheduler", scheduler.run(rx).await) });

    let antinuke = app.antinuke.clone();
    let rx = shutdown_rx.clone();
    tasks.spawn(async move { ("AntiNuke", antinuke.run(rx).await) });

    if config.restore.runner_enabled {
        let runner = crate::recovery::restore::Runner::new(
            app.restores.clone(),
            app.bot.clone(),
            app.i18n.clone(),
        );
        let rx = shutdown_rx.clone();
        tasks.spawn(async move { ("restore runner", runner.run(rx).await) });
    }

    if let Some(links) = app.links.clone() {
        let rx = shutdown_rx.clone();
        tasks.spawn(async move { ("member link refresh", links.run(rx).await) });
    }
    if let Some(billing) = app.billing.clone() {
        let rx = shutdown_rx.clone();
        tasks.spawn(async move { ("billing renewals", billing.run(rx).await) });
    }

    let maintenance = maintenance(app.clone(), shutdown_rx.clone());
    tasks.spawn(async move { ("maintenance", maintenance.await) });

    if let Some(token) = &secrets.discord_token {
        let http = discord::client::http(&config, token)?;
        let framework = discord::framework::build(data.clone());
        let client = serenity::ClientBuilder::new_with_http(http, discord::client::intents())
            .cache_settings(discord::client::cache_settings())
            .shard_collector(discord::framework::shard_collector(&data))
            .framework(discord::framework::Traced(framework))
            .await
            .map_err(discord::client::explain)?;
        app.connect(&client);
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
async fn maintenance(data: Arc<App>, mut shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
    let interval = Duration::from_secs(data.config.retention.interval_minutes.max(1) * 60);
    while !*shutdown.borrow() {
        match data.guilds.purge_due().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "purged removed guilds after their grace period"),
            Err(e) => tracing::warn!(error = %e, "purging removed guilds failed; will retry"),
        }
        if let Some(billing) = &data.billing {
            match billing.purge_webhooks(90).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(purged = n, "purged payment webhooks older than 90 days"),
                Err(e) => tracing::warn!(error = %e, "purging payment webhooks failed; will retry"),
            }
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
