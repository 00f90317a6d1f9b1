//! Purpose: Umbra's configuration — defaults, then `config.toml`, then `UMBRA_...` environment
//! variables (and `DATABASE_URL`) — with unknown keys rejected, secrets read only from the
//! environment, and validation errors that name the key, where it came from, and the fix.
//!
//! Environment names are derived from key paths: `database.embedded.user` is
//! `UMBRA_DATABASE_EMBEDDED_USER`, `data_dir` is `UMBRA_DATA_DIR`. Lists use TOML syntax
//! (`UMBRA_DISCORD_OPERATORS='[123, 456]'`).

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Format, Serialized, Toml};
use figment::value::Value;
use figment::{Figment, Profile};
use serde::{Deserialize, Serialize};

/// Environment variables that start with `UMBRA_` but are not configuration keys.
const NON_CONFIG_ENV: [&str; 2] = ["UMBRA_SECRET_KEY", "UMBRA_CONFIG"];
/// Prefix of environment variables reserved for the test suite.
const TEST_ENV_PREFIX: &str = "UMBRA_TEST_";

/// Every configuration key (see `config.toml` for the documentation of each).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub data_dir: PathBuf,
    pub log: LogConfig,
    pub database: DatabaseConfig,
    pub http: HttpConfig,
    pub discord: DiscordConfig,
    pub outbox: OutboxConfig,
    pub notification: NotificationConfig,
    pub recovery: RecoveryConfig,
    pub antinuke: AntinukeConfig,
    pub restore: RestoreConfig,
    pub retention: RetentionConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A tracing `EnvFilter` directive, e.g. `info` or `umbra=debug,sqlx=warn`.
    pub level: String,
    pub format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// Pooled connection URL; empty = the embedded PostgreSQL under `data_dir`.
    pub url: String,
    /// Optional direct (non-pooled) URL for LISTEN/NOTIFY wake-ups and migrations.
    pub direct_url: String,
    pub max_connections: u32,
    pub min_connections: u32,
    pub acquire_timeout_seconds: u64,
    /// Prepared statements cached per connection; 0 for poolers without prepared-statement
    /// support (PgBouncer < 1.21 in transaction mode).
    pub statement_cache_capacity: usize,
    pub embedded: EmbeddedConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmbeddedConfig {
    /// The unprivileged user postgres runs as when Umbra runs as root; empty = first of
    /// `umbra`, `postgres`, `nobody` that exists.
    pub user: String,
    /// Directory of `initdb` and `postgres`; empty = PATH, then /usr/lib/postgresql/*/bin.
    pub bin_dir: String,
    /// The database Umbra uses inside the embedded cluster.
    pub database: String,
    pub max_connections: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    pub bind: SocketAddr,
    /// The address people reach Umbra at (OAuth redirects, links in DMs).
    pub public_url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DiscordConfig {
    /// `host:port` that `discord.com` resolves to (a local emulator); empty = the real Discord.
    pub api_address: String,
    /// PEM file of the CA that signed the emulator's `discord.com` certificate.
    pub ca_cert: String,
    /// When non-zero, commands are registered in this guild only (instant updates while
    /// developing) instead of globally.
    pub dev_guild_id: u64,
    /// Discord user ids allowed to run operator commands (besides the application's owners).
    pub operators: Vec<u64>,
    pub total_shards: u32,
    /// Inclusive `[first, last]` shard ids this process runs.
    pub shard_range: [u32; 2],
    /// This process's share of Discord's global limit (requests a second, all REST calls
    /// outside interaction replies; 0 = no pacing). Several processes on one token split 50.
    pub global_requests_per_second: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutboxConfig {
    pub poll_interval_ms: u64,
    pub batch_size: u32,
    pub lease_seconds: u64,
    pub max_attempts: u32,
    pub backoff_base_ms: u64,
    pub backoff_max_seconds: u64,
    pub retention_days: u32,
}

/// The notification sender (`[notification]`): DMs to owners with a log-channel fallback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotificationConfig {
    /// Run the sender worker in this process (the outbox consumer always runs).
    pub sender_enabled: bool,
    pub poll_interval_ms: u64,
    pub batch_size: u32,
    pub lease_seconds: u64,
    pub max_attempts: u32,
    pub backoff_base_ms: u64,
    pub backoff_max_seconds: u64,
    pub retention_days: u32,
}

/// Live sync and snapshots (`[recovery]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecoveryConfig {
    /// Queued rows of one guild that make live sync write a batch at once.
    pub sync_batch_rows: usize,
    /// Longest time a change waits before its batch is written (milliseconds).
    pub sync_flush_interval_ms: u64,
    /// Rows per bulk statement inside a batch.
    pub sync_statement_rows: usize,
    /// A full load whose member chunks have not all arrived by then is requested again.
    pub member_load_timeout_seconds: u64,
    /// Days of history (previous versions, tombstones) kept for "state as of T".
    pub history_retention_days: u32,
    /// How often the snapshot scheduler looks for due scheduled snapshots (seconds).
    pub snapshot_poll_seconds: u64,
    /// Largest snapshot file `/backup import` accepts (bytes).
    pub import_max_bytes: u64,
    /// Largest snapshot file `/backup export` sends (bytes; Discord's upload limit).
    pub export_max_bytes: u64,
    /// Largest snapshot document read back from storage (bytes, uncompressed).
    pub max_document_bytes: u64,
}

/// AntiNuke (`[antinuke]`): the default threshold of each action class, the bounds of what a
/// guild may configure, and the timings of the response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AntinukeConfig {
    /// Highest count a guild may set for an action class.
    pub max_count: u32,
    /// Longest window a guild may set for an action class (seconds).
    pub max_window_seconds: u32,
    /// Detections of one actor within this many seconds are one incident (one punishment),
    /// also across processes.
    pub dedupe_slot_seconds: u64,
    /// The emergency snapshot holds the guild as it was this long before the first counted
    /// action (milliseconds; covers clock skew between Umbra and PostgreSQL).
    pub snapshot_margin_ms: u64,
    /// How often every guild's AntiNuke settings are read again (seconds); changes made through
    /// Umbra apply at once in the process that made them.
    pub config_refresh_seconds: u64,
    /// An automatic revert starts once the punished actor has been quiet this long (seconds).
    pub auto_revert_settle_seconds: u64,
    /// Lockdown pauses invites for this long (minutes; Discord allows at most 24 h).
    pub lockdown_minutes: u32,
    /// Highest combined score a guild may set (`/antinuke thresholds` "combined").
    pub max_score: u32,
    /// A whitelisted (or trusted) bot is counted, never exempt: its thresholds and the combined
    /// score's threshold are multiplied by this.
    pub whitelisted_bot_factor: u32,
    /// A change to AntiNuke settings by someone other than the owner waits this long for the
    /// owner's approval (hours), then lapses (nothing changes).
    pub approval_hours: u32,
    pub thresholds: AntinukeThresholds,
    /// The combined per-actor score over every class.
    pub score: ScoreConfig,
    /// Each class's points in the combined score.
    pub weights: AntinukeWeights,
}

/// The combined score: an actor whose weighted actions of every class add up to `threshold`
/// within `window_seconds` is a nuker even when no single class crossed its own threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScoreConfig {
    pub threshold: u32,
    pub window_seconds: u32,
}

impl Default for ScoreConfig {
    fn default() -> Self {
        Self {
            threshold: 100,
            window_seconds: 10,
        }
    }
}

/// The default threshold of each AntiNuke action class: `count` actions by one actor within
/// `window_seconds` make an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AntinukeThresholds {
    pub channel_delete: ThresholdConfig,
    pub channel_create: ThresholdConfig,
    pub role_delete: ThresholdConfig,
    pub role_create: ThresholdConfig,
    pub ban: ThresholdConfig,
    pub kick: ThresholdConfig,
    pub prune: ThresholdConfig,
    pub webhook_create: ThresholdConfig,
    pub permission_grant: ThresholdConfig,
    pub bot_add: ThresholdConfig,
    pub guild_update: ThresholdConfig,
    pub timeout: ThresholdConfig,
    pub role_remove: ThresholdConfig,
    pub permission_remove: ThresholdConfig,
    pub webhook_change: ThresholdConfig,
    pub expression_delete: ThresholdConfig,
    pub integration_delete: ThresholdConfig,
    pub automod_change: ThresholdConfig,
    pub message_bulk_delete: ThresholdConfig,
    pub unban: ThresholdConfig,
}

/// Each class's points in the combined score (`[antinuke.weights]`; 0 = not in the score).
/// Giving a member a role that confers trust or a whitelist is not listed: it is a nuke on its
/// own (threshold 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AntinukeWeights {
    pub channel_delete: u32,
    pub channel_create: u32,
    pub role_delete: u32,
    pub role_create: u32,
    pub ban: u32,
    pub kick: u32,
    pub prune: u32,
    pub webhook_create: u32,
    pub permission_grant: u32,
    pub bot_add: u32,
    pub guild_update: u32,
    pub timeout: u32,
    pub role_remove: u32,
    pub permission_remove: u32,
    pub webhook_change: u32,
    pub expression_delete: u32,
    pub integration_delete: u32,
    pub automod_change: u32,
    pub message_bulk_delete: u32,
    pub unban: u32,
}

impl Default for AntinukeWeights {
    fn default() -> Self {
        Self {
            channel_delete: 25,
            channel_create: 10,
            role_delete: 25,
            role_create: 10,
            ban: 25,
            kick: 25,
            prune: 100,
            webhook_create: 15,
            permission_grant: 50,
            bot_add: 25,
            guild_update: 20,
            timeout: 10,
            role_remove: 10,
            permission_remove: 20,
            webhook_change: 15,
            expression_delete: 15,
            integration_delete: 25,
            automod_change: 25,
            message_bulk_delete: 15,
            unban: 10,
        }
    }
}

impl AntinukeWeights {
    /// Every class's weight with the class's configuration name.
    pub fn entries(&self) -> [(&'static str, u32); 20] {
        [
            ("channel_delete", self.channel_delete),
            ("channel_create", self.channel_create),
            ("role_delete", self.role_delete),
            ("role_create", self.role_create),
            ("ban", self.ban),
            ("kick", self.kick),
            ("prune", self.prune),
            ("webhook_create", self.webhook_create),
            ("permission_grant", self.permission_grant),
            ("bot_add", self.bot_add),
            ("guild_update", self.guild_update),
            ("timeout", self.timeout),
            ("role_remove", self.role_remove),
            ("permission_remove", self.permission_remove),
            ("webhook_change", self.webhook_change),
            ("expression_delete", self.expression_delete),
            ("integration_delete", self.integration_delete),
            ("automod_change", self.automod_change),
            ("message_bulk_delete", self.message_bulk_delete),
            ("unban", self.unban),
        ]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdConfig {
    pub count: u32,
    pub window_seconds: u32,
}

impl ThresholdConfig {
    pub const fn new(count: u32, window_seconds: u32) -> Self {
        Self {
            count,
            window_seconds,
        }
    }
}

impl Default for AntinukeConfig {
    fn default() -> Self {
        Self {
            max_count: 100,
            max_window_seconds: 3600,
            dedupe_slot_seconds: 600,
            snapshot_margin_ms: 1000,
            config_refresh_seconds: 60,
            auto_revert_settle_seconds: 3,
            lockdown_minutes: 60,
            max_score: 1000,
            whitelisted_bot_factor: 5,
            approval_hours: 24,
            thresholds: AntinukeThresholds::default(),
            score: ScoreConfig::default(),
            weights: AntinukeWeights::default(),
        }
    }
}

impl Default for AntinukeThresholds {
    fn default() -> Self {
        Self {
            channel_delete: ThresholdConfig::new(3, 10),
            channel_create: ThresholdConfig::new(6, 10),
            role_delete: ThresholdConfig::new(3, 10),
            role_create: ThresholdConfig::new(6, 10),
            ban: ThresholdConfig::new(3, 10),
            kick: ThresholdConfig::new(3, 10),
            prune: ThresholdConfig::new(1, 60),
            webhook_create: ThresholdConfig::new(3, 30),
            permission_grant: ThresholdConfig::new(1, 10),
            bot_add: ThresholdConfig::new(2, 600),
            guild_update: ThresholdConfig::new(2, 60),
            timeout: ThresholdConfig::new(5, 10),
            role_remove: ThresholdConfig::new(5, 10),
            permission_remove: ThresholdConfig::new(3, 10),
            webhook_change: ThresholdConfig::new(3, 30),
            expression_delete: ThresholdConfig::new(3, 10),
            integration_delete: ThresholdConfig::new(2, 60),
            automod_change: ThresholdConfig::new(2, 60),
            message_bulk_delete: ThresholdConfig::new(3, 10),
            unban: ThresholdConfig::new(5, 10),
        }
    }
}

impl AntinukeThresholds {
    /// Every class's threshold with the class's configuration name.
    pub fn entries(&self) -> [(&'static str, ThresholdConfig); 20] {
        [
            ("channel_delete", self.channel_delete),
            ("channel_create", self.channel_create),
            ("role_delete", self.role_delete),
            ("role_create", self.role_create),
            ("ban", self.ban),
            ("kick", self.kick),
            ("prune", self.prune),
            ("webhook_create", self.webhook_create),
            ("permission_grant", self.permission_grant),
            ("bot_add", self.bot_add),
            ("guild_update", self.guild_update),
            ("timeout", self.timeout),
            ("role_remove", self.role_remove),
            ("permission_remove", self.permission_remove),
            ("webhook_change", self.webhook_change),
            ("expression_delete", self.expression_delete),
            ("integration_delete", self.integration_delete),
            ("automod_change", self.automod_change),
            ("message_bulk_delete", self.message_bulk_delete),
            ("unban", self.unban),
        ]
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Days a removed guild's data is kept before the retention job purges it.
    pub removed_guild_grace_days: u32,
    /// How often the retention job runs.
    pub interval_minutes: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
            log: LogConfig::default(),
            database: DatabaseConfig::default(),
            http: HttpConfig::default(),
            discord: DiscordConfig::default(),
            outbox: OutboxConfig::default(),
            notification: NotificationConfig::default(),
            recovery: RecoveryConfig::default(),
            antinuke: AntinukeConfig::default(),
            restore: RestoreConfig::default(),
            retention: RetentionConfig::default(),
        }
    }
}

/// The restore engine (`[restore]`): previews, the runner's lease and pacing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RestoreConfig {
    /// How long a preview can be confirmed (seconds).
    pub preview_ttl_seconds: u64,
    /// Run the restore runner in this process.
    pub runner_enabled: bool,
    /// How often the runner looks for queued jobs (milliseconds).
    pub poll_interval_ms: u64,
    /// A running job's lease; another process resumes it when it expires (seconds).
    pub lease_seconds: u64,
    /// How often the lease is extended (milliseconds).
    pub heartbeat_ms: u64,
    /// Requests in flight per rate-limit bucket.
    pub bucket_concurrency: usize,
    /// Requests in flight per job.
    pub max_in_flight: usize,
    /// Attempts for a call that failed transiently.
    pub retries: u32,
    /// Jobs (of different guilds) one process runs at once.
    pub max_jobs: usize,
    /// Longest wait before a step result is written (milliseconds).
    pub record_interval_ms: u64,
    /// How often the progress message is edited (milliseconds).
    pub progress_interval_ms: u64,
    /// One call at a time, in plan order (only to measure the naive baseline).
    pub sequential: bool,
}

impl Default for RestoreConfig {
    fn default() -> Self {
        Self {
            preview_ttl_seconds: 900,
            runner_enabled: true,
            poll_interval_ms: 1000,
            lease_seconds: 30,
            heartbeat_ms: 5000,
            bucket_concurrency: 2,
            max_in_flight: 16,
            retries: 5,
            max_jobs: 4,
            record_interval_ms: 250,
            progress_interval_ms: 3000,
            sequential: false,
        }
    }
}

impl Default for RecoveryConfig {
    fn default() -> Self {
        Self {
            sync_batch_rows: 5000,
            sync_flush_interval_ms: 200,
            sync_statement_rows: 5000,
            member_load_timeout_seconds: 120,
            history_retention_days: 14,
            snapshot_poll_seconds: 60,
            import_max_bytes: 8 * 1024 * 1024,
            export_max_bytes: 10 * 1024 * 1024,
            max_document_bytes: 256 * 1024 * 1024,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info,serenity=warn".into(),
            format: LogFormat::Text,
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            direct_url: String::new(),
            max_connections: 10,
            min_connections: 1,
            acquire_timeout_seconds: 10,
            statement_cache_capacity: 100,
            embedded: EmbeddedConfig::default(),
        }
    }
}

impl Default for EmbeddedConfig {
    fn default() -> Self {
        Self {
            user: String::new(),
            bin_dir: String::new(),
            database: "umbra".into(),
            max_connections: 100,
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: "http://127.0.0.1:8080".into(),
        }
    }
}

impl Default for DiscordConfig {
    fn default() -> Self {
        Self {
            api_address: String::new(),
            ca_cert: String::new(),
            dev_guild_id: 0,
            operators: Vec::new(),
            total_shards: 1,
            shard_range: [0, 0],
            global_requests_per_second: 50,
        }
    }
}

impl Default for OutboxConfig {
    fn default() -> Self {
        Self {
            poll_interval_ms: 1000,
            batch_size: 50,
            lease_seconds: 30,
            max_attempts: 10,
            backoff_base_ms: 500,
            backoff_max_seconds: 600,
            retention_days: 30,
        }
    }
}

impl Default for NotificationConfig {
    fn default() -> Self {
        Self {
            sender_enabled: true,
            poll_interval_ms: 1000,
            batch_size: 10,
            lease_seconds: 60,
            max_attempts: 10,
            backoff_base_ms: 10_000,
            backoff_max_seconds: 3600,
            retention_days: 90,
        }
    }
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            removed_guild_grace_days: 30,
            interval_minutes: 60,
        }
    }
}

/// A value that must never be printed or logged.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The secret itself; call only where it is used, never to log or display.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// Secrets, read only from the environment.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    /// `DISCORD_TOKEN`: the bot token.
    pub discord_token: Option<Secret<String>>,
    /// `UMBRA_SECRET_KEY`: key material for encryption at rest (see `crypto`).
    pub secret_key: Option<Secret<String>>,
}

/// Names of the secret environment variables, with what each is for.
pub const SECRET_VARIABLES: [(&str, &str); 2] = [
    (
        "DISCORD_TOKEN",
        "the bot token (Discord developer portal -> your application -> Bot)",
    ),
    (
        "UMBRA_SECRET_KEY",
        "32 random bytes, base64, for encryption at rest (`openssl rand -base64 32`)",
    ),
];

impl Secrets {
    pub fn from_env() -> Self {
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .map(|v| Secret::new(v.trim().to_owned()))
        };
        Self {
            discord_token: var("DISCORD_TOKEN"),
            secret_key: var("UMBRA_SECRET_KEY"),
        }
    }
}

/// A configuration problem, phrased for the person fixing it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
    #[error("invalid configuration:\n{}", .0.iter().map(|e| format!("  - {e}")).collect::<Vec<_>>().join("\n"))]
    Many(Vec<String>),
}

/// Where the configuration file is: `--config`, else `UMBRA_CONFIG`, else `./config.toml` when
/// it exists (no file at all is fine: defaults and the environment apply).
pub fn config_path(cli: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = cli {
        return Some(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os("UMBRA_CONFIG").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let default = PathBuf::from("config.toml");
    default.exists().then_some(default)
}

/// Keys that hold secrets: rejected in files, with a pointer to the environment variable.
const SECRET_KEYS_IN_FILES: [(&str, &str); 6] = [
    ("discord.token", "DISCORD_TOKEN"),
    ("token", "DISCORD_TOKEN"),
    ("secret_key", "UMBRA_SECRET_KEY"),
    ("discord.client_secret", "DISCORD_CLIENT_SECRET"),
    ("billing.secret_key", "TOSS_SECRET_KEY"),
    ("database.password", "DATABASE_URL"),
];

impl Config {
    /// Loads defaults -> file -> environment, then validates.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        Self::load_from(path, &env)
    }

    /// As [`Config::load`], with an explicit environment (for tests).
    pub fn load_from(path: Option<&Path>, env: &[(String, String)]) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = path {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.to_path_buf(),
                source,
            })?;
            let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
                ConfigError::Invalid(format!("{} is not valid TOML: {e}", path.display()))
            })?;
            for (key, var) in SECRET_KEYS_IN_FILES {
                if toml_has(&table, key) {
                    return Err(ConfigError::Invalid(format!(
                        "`{key}` in {}: secrets are read only from the environment; remove it \
                         from the file and set {var} instead",
                        path.display()
                    )));
                }
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        for provider in env_providers(env)? {
            figment = figment.merge(provider);
        }
        let config: Config = figment.extract().map_err(|e| describe_figment_error(&e))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks values that deserialize but make no sense. Every message names the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut errors = Vec::new();
        let mut check = |ok: bool, msg: String| {
            if !ok {
                errors.push(msg);
            }
        };
        check(
            !self.data_dir.as_os_str().is_empty(),
            "`data_dir` (UMBRA_DATA_DIR) is empty: set a directory Umbra may write to, e.g. ./data"
                .into(),
        );
        for (key, var, url) in [
            (
                "database.url",
                "DATABASE_URL or UMBRA_DATABASE_URL",
                &self.database.url,
            ),
            (
                "database.direct_url",
                "UMBRA_DATABASE_DIRECT_URL",
                &self.database.direct_url,
            ),
        ] {
            check(
                url.is_empty()
                    || url.starts_with("postgres://")
                    || url.starts_with("postgresql://"),
                format!(
                    "`{key}` ({var}) must be a postgres:// or postgresql:// URL, or empty for the \
                     embedded database; got `{}`",
                    redact_url(url)
                ),
            );
        }
        check(
            self.database.max_connections >= 2,
            "`database.max_connections` must be at least 2 (workers and the gateway share the pool)".into(),
        );
        check(
            self.database.min_connections <= self.database.max_connections,
            "`database.min_connections` must not exceed `database.max_connections`".into(),
        );
        check(
            !self.database.embedded.database.is_empty()
                && self
                    .database
                    .embedded
                    .database
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "`database.embedded.database` must be a plain name (letters, digits, _)".into(),
        );
        check(
            self.http.public_url.starts_with("http://")
                || self.http.public_url.starts_with("https://"),
            format!(
                "`http.public_url` must start with http:// or https://; got `{}`",
                self.http.public_url
            ),
        );
        let api_ok = self.discord.api_address.is_empty()
            || self.discord.api_address.parse::<SocketAddr>().is_ok();
        check(
            api_ok,
            format!(
                "`discord.api_address` must be host:port of a local Discord emulator (e.g. \
                 127.0.0.1:8443) or empty for the real Discord; got `{}`",
                self.discord.api_address
            ),
        );
        check(
            self.discord.api_address.is_empty() || !self.discord.ca_cert.is_empty(),
            "`discord.ca_cert` is required with `discord.api_address`: the PEM file of the CA that \
             signed the emulator's certificate (the emulator prints its path)"
                .into(),
        );
        check(
            self.discord.total_shards >= 1,
            "`discord.total_shards` must be at least 1".into(),
        );
        let [first, last] = self.discord.shard_range;
        check(
            first <= last && last < self.discord.total_shards.max(1),
            format!(
                "`discord.shard_range` [{first}, {last}] must be an inclusive range inside \
                 0..{} (discord.total_shards)",
                self.discord.total_shards
            ),
        );
        let o = &self.outbox;
        check(
            o.poll_interval_ms >= 10,
            "`outbox.poll_interval_ms` must be at least 10".into(),
        );
        check(
            (1..=1000).contains(&o.batch_size),
            "`outbox.batch_size` must be between 1 and 1000".into(),
        );
        check(
            o.lease_seconds >= 1,
            "`outbox.lease_seconds` must be at least 1".into(),
        );
        check(
            o.max_attempts >= 1,
            "`outbox.max_attempts` must be at least 1".into(),
        );
        check(
            o.retention_days >= 1,
            "`outbox.retention_days` must be at least 1".into(),
        );
        let n = &self.notification;
        check(
            n.poll_interval_ms >= 10,
            "`notification.poll_interval_ms` must be at least 10".into(),
        );
        check(
            (1..=100).contains(&n.batch_size),
            "`notification.batch_size` must be between 1 and 100".into(),
        );
        check(
            n.lease_seconds >= 1,
            "`notification.lease_seconds` must be at least 1".into(),
        );
        check(
            n.max_attempts >= 1,
            "`notification.max_attempts` must be at least 1".into(),
        );
        check(
            n.backoff_base_ms >= 1
                && n.backoff_base_ms <= n.backoff_max_seconds.saturating_mul(1000),
            "`notification.backoff_base_ms` must be at least 1 and at most \
             `notification.backoff_max_seconds` (in milliseconds)"
                .into(),
        );
        check(
            n.retention_days >= 1,
            "`notification.retention_days` must be at least 1".into(),
        );
        check(
            self.retention.interval_minutes >= 1,
            "`retention.interval_minutes` must be at least 1".into(),
        );
        let r = &self.recovery;
        check(
            r.sync_batch_rows >= 1 && r.sync_statement_rows >= 1,
            "`recovery.sync_batch_rows` and `recovery.sync_statement_rows` must be at least 1"
                .into(),
        );
        check(
            r.sync_flush_interval_ms >= 1
                && r.snapshot_poll_seconds >= 1
                && r.member_load_timeout_seconds >= 1,
            "`recovery.sync_flush_interval_ms`, `recovery.snapshot_poll_seconds` and \
             `recovery.member_load_timeout_seconds` must be at least 1"
                .into(),
        );
        check(
            r.history_retention_days >= 1,
            "`recovery.history_retention_days` must be at least 1 (emergency snapshots read the recent past)".into(),
        );
        check(
            r.import_max_bytes >= 1024
                && r.export_max_bytes >= 1024
                && r.max_document_bytes >= 1024 * 1024,
            "`recovery.import_max_bytes` and `recovery.export_max_bytes` must be at least 1024, \
             `recovery.max_document_bytes` at least 1048576"
                .into(),
        );
        let rs = &self.restore;
        check(
            rs.preview_ttl_seconds >= 10
                && rs.poll_interval_ms >= 10
                && rs.heartbeat_ms >= 10
                && rs.record_interval_ms >= 1
                && rs.progress_interval_ms >= 100,
            "`restore.preview_ttl_seconds` must be at least 10, `restore.poll_interval_ms`, \
             `restore.heartbeat_ms` at least 10, `restore.record_interval_ms` at least 1 and \
             `restore.progress_interval_ms` at least 100"
                .into(),
        );
        check(
            rs.lease_seconds >= 1 && rs.heartbeat_ms < rs.lease_seconds.saturating_mul(1000),
            "`restore.lease_seconds` must be at least 1 and longer than `restore.heartbeat_ms`"
                .into(),
        );
        check(
            rs.bucket_concurrency >= 1 && rs.max_in_flight >= 1 && rs.max_jobs >= 1,
            "`restore.bucket_concurrency`, `restore.max_in_flight` and `restore.max_jobs` must be at least 1"
                .into(),
        );
        let a = &self.antinuke;
        check(
            (1..=10_000).contains(&a.max_count) && (1..=86_400).contains(&a.max_window_seconds),
            "`antinuke.max_count` must be between 1 and 10000, `antinuke.max_window_seconds` \
             between 1 and 86400"
                .into(),
        );
        for (name, t) in a.thresholds.entries() {
            check(
                t.count >= 1
                    && t.count <= a.max_count
                    && t.window_seconds >= 1
                    && t.window_seconds <= a.max_window_seconds,
                format!(
                    "`antinuke.thresholds.{name}` needs a count between 1 and \
                     `antinuke.max_count` and a window_seconds between 1 and \
                     `antinuke.max_window_seconds`"
                ),
            );
        }
        check(
            a.dedupe_slot_seconds >= 1 && a.config_refresh_seconds >= 1,
            "`antinuke.dedupe_slot_seconds` and `antinuke.config_refresh_seconds` must be at least 1"
                .into(),
        );
        check(
            (1..=a.max_score).contains(&a.score.threshold)
                && (1..=a.max_window_seconds).contains(&a.score.window_seconds),
            "`antinuke.score.threshold` must be between 1 and `antinuke.max_score`, and \
             `antinuke.score.window_seconds` between 1 and `antinuke.max_window_seconds`"
                .into(),
        );
        check(
            (1..=100).contains(&a.whitelisted_bot_factor) && (1..=168).contains(&a.approval_hours),
            "`antinuke.whitelisted_bot_factor` must be between 1 and 100 and \
             `antinuke.approval_hours` between 1 and 168"
                .into(),
        );
        check(
            (1..=1440).contains(&a.lockdown_minutes),
            "`antinuke.lockdown_minutes` must be between 1 and 1440 (Discord pauses invites for 24 h at most)"
                .into(),
        );
        match errors.len() {
            0 => Ok(()),
            _ => Err(ConfigError::Many(errors)),
        }
    }

    /// The effective configuration as TOML, with passwords in URLs redacted.
    pub fn to_redacted_toml(&self) -> String {
        let mut copy = self.clone();
        copy.database.url = redact_url(&copy.database.url);
        copy.database.direct_url = redact_url(&copy.database.direct_url);
        toml::to_string_pretty(&copy).unwrap_or_else(|e| format!("# cannot render: {e}\n"))
    }
}

fn toml_has(table: &toml::Table, dotted: &str) -> bool {
    let mut parts = dotted.split('.').peekable();
    let mut current = table;
    while let Some(part) = parts.next() {
        match current.get(part) {
            Some(_) if parts.peek().is_none() => return true,
            Some(toml::Value::Table(t)) => current = t,
            _ => return false,
        }
    }
    false
}

/// Replaces the password of a URL with `***`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            let redacted = if userinfo.contains(':') {
                format!("{user}:***")
            } else {
                user.to_owned()
            };
            format!("{scheme}://{redacted}@{host}{tail}")
        }
        None => url.to_owned(),
    }
}

/// All leaf key paths of the configuration, e.g. `database.embedded.user`.
pub fn key_paths() -> Vec<String> {
    fn walk(prefix: &str, value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    let path = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&path, v, out);
                }
            }
            _ => out.push(prefix.to_owned()),
        }
    }
    let mut out = Vec::new();
    if let Ok(value) = serde_json::to_value(Config::default()) {
        walk("", &value, &mut out);
    }
    out
}

/// The environment variable that sets `key` (`database.url` -> `UMBRA_DATABASE_URL`).
pub fn env_name(key: &str) -> String {
    format!("UMBRA_{}", key.replace('.', "_").to_ascii_uppercase())
}

/// One provider per configuration variable found in `env`, named after the variable so errors
/// can say where a bad value came from. Unknown `UMBRA_` variables are an error (typos).
fn env_providers(env: &[(String, String)]) -> Result<Vec<Serialized<Value>>, ConfigError> {
    let by_env: BTreeMap<String, String> = key_paths()
        .into_iter()
        .map(|key| (env_name(&key), key))
        .collect();
    let mut unknown = Vec::new();
    let mut providers = Vec::new();
    let umbra_url_set = env.iter().any(|(n, _)| n == "UMBRA_DATABASE_URL");
    for (name, value) in env {
        let key = if let Some(key) = by_env.get(name) {
            key.clone()
        } else if name == "DATABASE_URL" && !umbra_url_set {
            // DATABASE_URL is honoured as database.url unless UMBRA_DATABASE_URL is also set.
            "database.url".to_owned()
        } else {
            if name.starts_with("UMBRA_")
                && !NON_CONFIG_ENV.contains(&name.as_str())
                && !name.starts_with(TEST_ENV_PREFIX)
            {
                unknown.push(name.clone());
            }
            continue;
        };
        let parsed: Value = value.parse().unwrap_or_else(|_| Value::from(value.clone()));
        // URLs and paths stay strings even when they look like something else.
        let parsed = match (&parsed, key.as_str()) {
            (_, "database.url" | "database.direct_url" | "data_dir") => Value::from(value.clone()),
            _ => parsed,
        };
        providers.push(Serialized::default(&key, parsed).profile(Profile::Default));
    }
    if !unknown.is_empty() {
        unknown.sort();
        return Err(ConfigError::Invalid(format!(
            "unknown environment variable(s) {}: not configuration keys (each key of config.toml \
             is UMBRA_ + its path in capitals with `_`, e.g. UMBRA_DATABASE_URL)",
            unknown.join(", ")
        )));
    }
    Ok(providers)
}

fn describe_figment_error(error: &figment::Error) -> ConfigError {
    let mut lines = Vec::new();
    for e in error.clone() {
        let key = if e.path.is_empty() {
            String::new()
        } else {
            e.path.join(".")
        };
        let source = match e.metadata.as_ref() {
            Some(md) if md.name.contains("Serialized") && key == "database.url" => {
                " (from DATABASE_URL or UMBRA_DATABASE_URL)".to_owned()
            }
            Some(md) if md.name.contains("Serialized") && !key.is_empty() => {
                format!(" (from {} or the defaults)", env_name(&key))
            }
            Some(md) => format!(" (in {})", md.name),
            None => String::new(),
        };
        let what = match &e.kind {
            figment::error::Kind::UnknownField(field, expected) => format!(
                "unknown key `{}`{source}; known keys here: {}",
                if key.is_empty() {
                    field.clone()
                } else {
                    format!("{key}.{field}")
                },
                expected.join(", ")
            ),
            kind => format!("`{key}`{source}: {kind}"),
        };
        lines.push(what);
    }
    ConfigError::Many(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn repo_config() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("config.toml")
    }

    #[test]
    fn the_shipped_config_toml_equals_the_built_in_defaults() {
        let loaded = Config::load_from(Some(&repo_config()), &[]).expect("config.toml is valid");
        assert_eq!(loaded, Config::default());
    }

    #[test]
    fn the_shipped_config_toml_documents_every_key() {
        let text = std::fs::read_to_string(repo_config()).expect("config.toml exists");
        let table: toml::Table = text.parse().expect("config.toml is TOML");
        for key in key_paths() {
            assert!(toml_has(&table, &key), "config.toml lacks `{key}`");
        }
    }

    #[test]
    fn environment_variables_override_nested_keys_by_their_path() {
        let config = Config::load_from(
            None,
            &env(&[
                ("UMBRA_DATABASE_EMBEDDED_USER", "pgrunner"),
                ("UMBRA_DATA_DIR", "/var/lib/umbra"),
                ("UMBRA_DISCORD_OPERATORS", "[1, 2]"),
                ("UMBRA_LOG_FORMAT", "json"),
            ]),
        )
        .expect("valid");
        assert_eq!(config.database.embedded.user, "pgrunner");
        assert_eq!(config.data_dir, PathBuf::from("/var/lib/umbra"));
        assert_eq!(config.discord.operators, vec![1, 2]);
        assert_eq!(config.log.format, LogFormat::Json);
    }

    #[test]
    fn database_url_is_honoured_unless_the_umbra_variable_is_set() {
        let only =
            Config::load_from(None, &env(&[("DATABASE_URL", "postgres://a@h/db")])).expect("valid");
        assert_eq!(only.database.url, "postgres://a@h/db");
        let both = Config::load_from(
            None,
            &env(&[
                ("DATABASE_URL", "postgres://a@h/db"),
                ("UMBRA_DATABASE_URL", "postgres://b@h/db"),
            ]),
        )
        .expect("valid");
        assert_eq!(both.database.url, "postgres://b@h/db");
    }

    #[test]
    fn an_unknown_umbra_variable_is_rejected_by_name() {
        let err = Config::load_from(None, &env(&[("UMBRA_OUTBOX_BATCHSIZE", "3")]))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("UMBRA_OUTBOX_BATCHSIZE"), "{err}");
    }

    #[test]
    fn secret_and_test_variables_are_not_configuration_keys() {
        let config = Config::load_from(
            None,
            &env(&[
                ("UMBRA_SECRET_KEY", "x"),
                ("UMBRA_TEST_DATABASE_URL", "y"),
                ("UMBRA_CONFIG", "z"),
            ]),
        );
        assert!(config.is_ok());
    }

    #[test]
    fn a_shard_range_outside_the_shard_count_names_both_keys() {
        let err = Config::load_from(
            None,
            &env(&[
                ("UMBRA_DISCORD_TOTAL_SHARDS", "2"),
                ("UMBRA_DISCORD_SHARD_RANGE", "[1, 2]"),
            ]),
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(
            err.contains("discord.shard_range") && err.contains("discord.total_shards"),
            "{err}"
        );
    }

    #[test]
    fn the_emulator_address_requires_its_ca_certificate() {
        let err = Config::load_from(
            None,
            &env(&[("UMBRA_DISCORD_API_ADDRESS", "127.0.0.1:8443")]),
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(err.contains("discord.ca_cert"), "{err}");
    }

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(
            redact_url("postgres://u:pw@h:5432/db?sslmode=require"),
            "postgres://u:***@h:5432/db?sslmode=require"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url(""), "");
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let secret = Secret::new("hunter2".to_owned());
        assert!(!format!("{secret:?}").contains("hunter2"));
    }
}
