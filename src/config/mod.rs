//! Purpose: Umbra's configuration — defaults, then `config.toml`, then `UMBRA_...` environment
//! variables (and `DATABASE_URL`) — with unknown keys rejected, secrets read only from the
//! environment, and validation errors that name the key, where it came from, and the fix.
//!
//! Environment names are derived from key paths: `database.embedded.user` is
//! `UMBRA_DATABASE_EMBEDDED_USER`, `data_dir` is `UMBRA_DATA_DIR`. Lists use TOML syntax
//! (`UMBRA_DISCORD_OPERATORS='[123, 456]'`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Format, Serialized, Toml};
use figment::value::Value;
use figment::{Figment, Profile};
use serde::{Deserialize, Serialize};

mod antinuke;
mod load;
mod secrets;

pub use antinuke::*;
pub use load::*;
pub use secrets::*;

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
    pub billing: BillingConfig,
    pub licensing: LicensingConfig,
    pub members: MembersConfig,
}

/// Member re-join (`[members]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MembersConfig {
    /// Members' `guilds.join` grants expiring within this many hours are refreshed (Discord's
    /// access tokens live 7 days).
    pub refresh_before_hours: u32,
    /// How often the refresh worker looks for grants to refresh (seconds).
    pub refresh_poll_seconds: u64,
}

impl Default for MembersConfig {
    fn default() -> Self {
        Self {
            refresh_before_hours: 24,
            refresh_poll_seconds: 300,
        }
    }
}

/// Selling plans (`[billing]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BillingConfig {
    /// `none`: no payments (self-hosting; every guild without a license gets
    /// `licensing.default_plan`). `toss`: Toss Payments recurring card billing.
    pub provider: String,
    /// Days after a renewal's due date on which a declined charge is tried again.
    pub dunning_days: Vec<u32>,
    /// Days a paid license outlasts its period (covers the dunning retries).
    pub grace_days: u32,
    /// How often the renewal worker looks for due subscriptions (seconds).
    pub renewal_poll_seconds: u64,
    /// How long a worker holds a subscription it charges (a dead worker's is taken over after).
    pub lease_seconds: u64,
    pub toss: TossBillingConfig,
}

impl Default for BillingConfig {
    fn default() -> Self {
        Self {
            provider: "none".into(),
            dunning_days: vec![1, 3, 5],
            grace_days: 7,
            renewal_poll_seconds: 30,
            lease_seconds: 120,
            toss: TossBillingConfig::default(),
        }
    }
}

/// Toss Payments (`[billing.toss]`); the secret key is `TOSS_SECRET_KEY` (env only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TossBillingConfig {
    /// The client key the card page uses (`test_ck_...` or `live_ck_...`).
    pub client_key: String,
    /// Toss's API (the emulator's in tests).
    pub api_url: String,
    /// Toss's JS SDK v2 (the emulator's stand-in in tests).
    pub sdk_url: String,
    /// Per request to Toss (seconds).
    pub timeout_seconds: u64,
}

impl Default for TossBillingConfig {
    fn default() -> Self {
        Self {
            client_key: String::new(),
            api_url: "https://api.tosspayments.com".into(),
            sdk_url: "https://js.tosspayments.com/v2/standard".into(),
            timeout_seconds: 10,
        }
    }
}

/// Licenses and plans (`[licensing]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LicensingConfig {
    /// The plan of every guild without a license (a plan code: `free`, `pro`, `max`); empty =
    /// the top plan with `billing.provider = "none"` (a self-hoster gets everything), `free`
    /// with a payment provider.
    pub default_plan: String,
    /// Days the snapshots a lapsed plan kept are still kept (extra ones are deleted only after).
    pub downgrade_grace_days: u32,
}

impl Default for LicensingConfig {
    fn default() -> Self {
        Self {
            default_plan: String::new(),
            downgrade_grace_days: 14,
        }
    }
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
    /// With an external database (`url` set): seconds it may stay unreachable before Umbra
    /// exits non-zero, so that a supervisor restarts it; 0 = never give up.
    pub give_up_seconds: u64,
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
    /// A web session ends this many hours after login.
    pub session_hours: u32,
    /// ... or after this many hours without a request.
    pub session_idle_hours: u32,
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
    /// The OAuth2 client id for the web login; 0 = the bot's application id.
    pub client_id: u64,
    /// Where browsers are sent to authorize (Discord's page; the emulator's in tests).
    pub authorize_url: String,
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
            billing: BillingConfig::default(),
            licensing: LicensingConfig::default(),
            members: MembersConfig::default(),
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
            give_up_seconds: 600,
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
            session_hours: 24 * 14,
            session_idle_hours: 72,
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
            client_id: 0,
            authorize_url: "https://discord.com/oauth2/authorize".into(),
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
    fn billing_is_off_by_default_and_a_half_filled_or_unknown_provider_is_refused_by_name() {
        let config = Config::default();
        assert_eq!(config.billing.provider, "none");
        assert_eq!(
            config.licensing.default_plan, "",
            "the top plan for self-hosters"
        );
        let toss = Config::load_from(None, &env(&[("UMBRA_BILLING_PROVIDER", "toss")]))
            .expect_err("no client key")
            .to_string();
        assert!(toss.contains("billing.toss.client_key"), "{toss}");
        let ok = Config::load_from(
            None,
            &env(&[
                ("UMBRA_BILLING_PROVIDER", "toss"),
                ("UMBRA_BILLING_TOSS_CLIENT_KEY", "test_ck_abc"),
            ]),
        )
        .expect("a complete Toss configuration");
        assert_eq!(ok.billing.provider, "toss");
        let other = Config::load_from(None, &env(&[("UMBRA_BILLING_PROVIDER", "stripe")]))
            .expect_err("unknown")
            .to_string();
        assert!(other.contains("billing.provider"), "{other}");
        let plan = Config::load_from(
            None,
            &env(&[("UMBRA_LICENSING_DEFAULT_PLAN", "Gold Plan!")]),
        )
        .expect_err("not a plan code")
        .to_string();
        assert!(plan.contains("licensing.default_plan"), "{plan}");
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
