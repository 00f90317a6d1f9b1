//! Purpose: `TestWorld` — one end-to-end world per test: a fresh database, a Discord emulator on
//! port 0 with a fixture guild, and Umbra in-process (database, HTTP server, workers and the
//! real serenity/poise gateway client talking to the emulator over TLS with its rate limiter
//! on). Helpers invoke commands and click buttons as any user and read the replies; `finish`
//! fails the test on any gateway dispatch serenity could not parse and on any REST answer that
//! does not match Discord's OpenAPI spec.

use std::future::Future;
use std::time::Duration;

use discord_emulator::{
    BotMessage, Emulator, EmulatorConfig, Fixture, FixtureSpec, InteractionHandle,
    InteractionResponse,
};
use serde_json::Value;
use umbra::app::Running;
use umbra::config::{Config, Secret, Secrets};
use umbra::types::Data;

use super::db::TestDb;

/// How long a test waits for something that normally takes milliseconds.
pub const PATIENCE: Duration = Duration::from_secs(20);

type Configure = Box<dyn FnOnce(&mut Config) + Send>;

/// Builds a [`TestWorld`].
pub struct Builder {
    spec: FixtureSpec,
    emulator: EmulatorConfig,
    configure: Vec<Configure>,
    connect: bool,
    web: bool,
    billing: bool,
}

impl Builder {
    /// The fixture guild to build (default: `FixtureSpec::small()`).
    pub fn fixture(mut self, spec: FixtureSpec) -> Self {
        self.spec = spec;
        self
    }

    /// The emulator's configuration (default: no rate limits, responses recorded).
    pub fn emulator(mut self, config: EmulatorConfig) -> Self {
        self.emulator = config;
        self
    }

    /// A change to Umbra's configuration before it starts.
    pub fn configure(mut self, f: impl FnOnce(&mut Config) + Send + 'static) -> Self {
        self.configure.push(Box::new(f));
        self
    }

    /// Turn the web login on: the emulator's OAuth2 (its authorize page, the fixture
    /// application's client id and secret) and a fixed local port for `http.public_url`.
    pub fn web(mut self) -> Self {
        self.web = true;
        self
    }

    /// Turn billing on (`billing.provider = "toss"`) against a Toss emulator of the world's own
    /// (implies [`Builder::web`]: cards are registered on the web).
    pub fn billing(mut self) -> Self {
        self.web = true;
        self.billing = true;
        self
    }

    /// Build the world without starting Umbra (call `start_bot` later).
    pub fn without_bot(mut self) -> Self {
        self.connect = false;
        self
    }

    pub async fn start(self) -> TestWorld {
        let db = TestDb::empty().await;
        let emu = Emulator::start(self.emulator)
            .await
            .expect("the emulator starts");
        let fixture = emu.build_fixture(&self.spec);
        let operator_id = emu.create_user("operator");
        let mut config = Config::default();
        config.database.url = db.url.clone();
        if db.pooled {
            config.database.direct_url = db.direct_url.clone();
        }
        config.database.max_connections = 8;
        config.http.bind = "127.0.0.1:0".parse().expect("address");
        config.discord.api_address = emu.tls_addr().to_string();
        config.discord.ca_cert = emu.ca_cert_path().display().to_string();
        config.discord.operators = vec![operator_id];
        config.outbox.poll_interval_ms = 50;
        // The tests model a hosted instance with a free tier (plan limits are part of what
        // they check); the self-hosting default (the top plan) has its own test.
        config.licensing.default_plan = "free".into();
        if self.web {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            config.http.bind = format!("127.0.0.1:{port}").parse().expect("address");
            config.http.public_url = format!("http://127.0.0.1:{port}");
            config.discord.client_id = fixture.app.client_id;
            config.discord.authorize_url = format!("{}/oauth2/authorize", emu.http_base());
        }
        let toss = if self.billing {
            let toss = toss_emulator::TossEmulator::start(toss_emulator::TossConfig::default())
                .await
                .expect("the Toss emulator starts");
            config.billing.provider = "toss".into();
            config.billing.toss.client_key = toss.client_key().to_owned();
            config.billing.toss.api_url = toss.base_url();
            config.billing.toss.sdk_url = toss.sdk_url();
            config.billing.renewal_poll_seconds = 1;
            Some(toss)
        } else {
            None
        };
        for f in self.configure {
            f(&mut config);
        }
        let secrets = Secrets {
            discord_token: Some(Secret::new(fixture.app.bot_token.clone())),
            secret_key: Some(Secret::new(
                "dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktMzJieXQ=".into(),
            )),
            client_secret: self
                .web
                .then(|| Secret::new(fixture.app.client_secret.clone())),
            toss_secret_key: toss
                .as_ref()
                .map(|t| Secret::new(t.secret_key().to_owned())),
            toss_security_key: toss
                .as_ref()
                .map(|_| Secret::new(TOSS_SECURITY_KEY.to_owned())),
        };
        let mut world = TestWorld {
            db,
            emu,
            fixture,
            operator_id,
            config,
            secrets,
            toss,
            running: None,
        };
        if self.connect {
            world.start_bot().await;
        }
        world
    }
}

/// The Toss webhook security key of worlds that sell plans.
pub const TOSS_SECURITY_KEY: &str = "umbra-test-security-key";

/// A fresh database, an emulator with a fixture guild, and Umbra connected to both.
pub struct TestWorld {
    pub db: TestDb,
    pub emu: Emulator,
    pub fixture: Fixture,
    /// A user listed in `discord.operators`.
    pub operator_id: u64,
    pub config: Config,
    pub secrets: Secrets,
    /// The Toss emulator, when the world sells plans ([`Builder::billing`]).
    pub toss: Option<toss_emulator::TossEmulator>,
    running: Option<Running>,
}

/// The bot's answer to an interaction.
#[derive(Debug, Clone)]
pub struct Reply {
    pub handle: InteractionHandle,
    pub response: InteractionResponse,
    /// The message shown (the original response, or the first follow-up of a deferred one).
    pub message: Option<BotMessage>,
    /// Its text (content and embeds), empty for modals and autocomplete.
    pub text: String,
    pub ephemeral: bool,
}

impl std::fmt::Debug for TestWorld {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestWorld")
            .field("guild", &self.fixture.guild_id)
            .finish()
    }
}

impl TestWorld {
    pub fn builder() -> Builder {
        // `UMBRA_TEST_LOG=umbra=debug,info cargo nextest run ... --no-capture` shows the logs.
        if let Ok(filter) = std::env::var("UMBRA_TEST_LOG") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
                .with_test_writer()
                .try_init();
        }
        Builder {
            spec: FixtureSpec::small(),
            emulator: EmulatorConfig::unlimited(),
            configure: Vec::new(),
            connect: true,
            web: false,
            billing: false,
        }
    }

    /// The default world: a small fixture, no rate limits, Umbra connected.
    pub async fn start() -> Self {
        Self::builder().start().await
    }

    /// Umbra's shared services.
    pub fn data(&self) -> &Data {
        &self.running.as_ref().expect("Umbra is running").data
    }

    /// Where Umbra's HTTP server answers (`http://127.0.0.1:PORT`).
    pub fn web_base(&self) -> String {
        let addr = self.running.as_ref().expect("Umbra is running").http_addr;
        format!("http://{addr}")
    }

    pub fn guild_id(&self) -> u64 {
        self.fixture.guild_id
    }

    pub fn owner_id(&self) -> u64 {
        self.fixture.owner_id
    }

    /// Starts Umbra and waits until it is connected, has registered its commands and has
    /// recorded the fixture guild.
    pub async fn start_bot(&mut self) {
        assert!(self.running.is_none(), "Umbra is already running");
        let running = umbra::app::start(&self.config, &self.secrets)
            .await
            .expect("Umbra starts");
        self.running = Some(running);
        let app = self.fixture.app.application_id;
        assert!(
            self.emu.wait_for_sessions(app, 1, PATIENCE).await,
            "the bot did not connect to the emulator's gateway"
        );
        let guild = self.fixture.guild_id;
        let pool = self.db.pool.clone();
        self.eventually("the guild is recorded and the commands registered", || {
            let pool = pool.clone();
            let emu = self.emu.clone();
            async move {
                let known: Option<i64> = sqlx::query_scalar(
                    "SELECT 1::bigint FROM guild.guilds WHERE discord_guild_id = $1 AND status = 'active'",
                )
                .bind(guild as i64)
                .fetch_optional(&pool)
                .await
                .ok()
                .flatten();
                let registered = emu.with_world(|w| {
                    w.apps.get(&app).is_some_and(|a| {
                        !a.global_commands.is_empty() || a.guild_commands.values().any(|c| !c.is_empty())
                    })
                });
                known.is_some() && registered
            }
        })
        .await;
    }

    /// Stops Umbra (gateway, workers, pool) and waits for it.
    pub async fn stop_bot(&mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await.expect("Umbra stops cleanly");
        }
        let app = self.fixture.app.application_id;
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while self.emu.connected_sessions(app) > 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the gateway session did not close"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn restart_bot(&mut self) {
        self.stop_bot().await;
        self.start_bot().await;
    }

    /// Polls `check` until it returns true, failing the test after [`PATIENCE`].
    pub async fn eventually<F, Fut>(&self, what: &str, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = bool>,
    {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if check().await {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting until {what}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Invokes `command` (e.g. `"umbra status"`) as `user` in the fixture guild, in English.
    pub async fn command(&self, user: u64, command: &str, options: Value) -> Reply {
        self.command_with(user, Some(self.fixture.guild_id), command, options, "en-US")
            .await
    }

    /// Invokes `command` as `user` in `guild` (None: in a DM with the bot) with `locale`.
    pub async fn command_with(
        &self,
        user: u64,
        guild: Option<u64>,
        command: &str,
        options: Value,
        locale: &str,
    ) -> Reply {
        let handle = self
            .emu
            .invoke_command(user, guild, None, command, options, locale)
            .unwrap_or_else(|e| panic!("invoking /{command}: {e:?}"));
        Self::reply(handle).await
    }

    /// Clicks the button `custom_id` of `message` as `user`.
    pub async fn click(&self, user: u64, message: &BotMessage, custom_id: &str) -> Reply {
        let handle = self
            .emu
            .click_button(user, message.id, custom_id)
            .unwrap_or_else(|e| panic!("clicking {custom_id}: {e:?}"));
        Self::reply(handle).await
    }

    /// Submits the modal the bot opened in `to`, as `user`.
    pub async fn submit_modal(&self, user: u64, to: &Reply, fields: &[(&str, &str)]) -> Reply {
        let handle = self
            .emu
            .submit_modal(user, &to.handle, fields)
            .unwrap_or_else(|e| panic!("submitting the modal: {e:?}"));
        Self::reply(handle).await
    }

    /// Waits for the initial response and, for messages, their final content.
    pub async fn reply(handle: InteractionHandle) -> Reply {
        let response = handle
            .response()
            .await
            .unwrap_or_else(|e| panic!("the bot did not answer the interaction: {e}"));
        let message = match response.kind {
            4 | 7 => Some(
                handle
                    .message(PATIENCE)
                    .await
                    .unwrap_or_else(|e| panic!("no response message: {e}")),
            ),
            5 => {
                let view = handle
                    .wait_until(PATIENCE, "the deferred answer", |v| {
                        v.original.as_ref().is_some_and(|m| !m.loading) || !v.followups.is_empty()
                    })
                    .await
                    .unwrap_or_else(|e| panic!("no deferred answer: {e}"));
                view.original
                    .filter(|m| !m.loading)
                    .or_else(|| view.followups.first().cloned())
            }
            _ => None,
        };
        let text = message.as_ref().map(BotMessage::text).unwrap_or_default();
        let ephemeral = message.as_ref().is_some_and(|m| m.ephemeral);
        Reply {
            handle,
            response,
            message,
            text,
            ephemeral,
        }
    }

    /// Stops Umbra and checks what every end-to-end test must hold: no gateway dispatch
    /// serenity could not parse, and every REST answer shaped as Discord's spec says.
    pub async fn finish(mut self) {
        let unknown = self
            .running
            .as_ref()
            .map(|r| {
                r.data
                    .unknown_events
                    .lock()
                    .map(|l| l.clone())
                    .unwrap_or_default()
            })
            .unwrap_or_default();
        // Not `stop_bot`: after a non-resumable INVALID_SESSION, serenity 0.12 loses track of
        // its restarted shard runner (a race in its shard queuer), so that connection stays
        // open until the test's runtime ends. Restarts (`restart_bot`) do wait for it.
        if let Some(running) = self.running.take() {
            running.shutdown().await.expect("Umbra stops cleanly");
        }
        assert!(
            unknown.is_empty(),
            "serenity could not parse these dispatches:\n{}",
            unknown.join("\n")
        );
        crate::emulator::harness::assert_all_shapes(&self.emu);
    }
}
