//! Purpose: loading the configuration — defaults, then `config.toml`, then `UMBRA_...`
//! environment variables — and checking it, with errors that name the key and the fix.

use super::*;

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
            check_file(&text, &path.display().to_string())?;
            figment = figment.merge(Toml::file_exact(path));
        }
        Self::extract(figment, env)
    }

    /// The configuration from a file's text and an environment, without reading a file (the
    /// `config` fuzz target's entry; `load_from` does the same with the file named).
    pub fn from_toml(text: &str, env: &[(String, String)]) -> Result<Self, ConfigError> {
        check_file(text, "the configuration")?;
        let figment =
            Figment::from(Serialized::defaults(Config::default())).merge(Toml::string(text));
        Self::extract(figment, env)
    }

    /// Defaults and the file in `figment`, the environment over them, then the checks.
    fn extract(mut figment: Figment, env: &[(String, String)]) -> Result<Self, ConfigError> {
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
        match self.billing.provider.as_str() {
            "none" => {}
            "toss" => {
                let t = &self.billing.toss;
                check(
                    t.client_key.starts_with("test_ck_") || t.client_key.starts_with("live_ck_"),
                    format!(
                        "`billing.toss.client_key` (UMBRA_BILLING_TOSS_CLIENT_KEY) must be Toss's \
                         client key (test_ck_... or live_ck_...) with billing.provider = \"toss\"; \
                         got `{}`",
                        t.client_key
                    ),
                );
                for (key, url) in [
                    ("billing.toss.api_url", &t.api_url),
                    ("billing.toss.sdk_url", &t.sdk_url),
                ] {
                    check(
                        url.starts_with("https://") || url.starts_with("http://"),
                        format!("`{key}` must be an http(s) URL; got `{url}`"),
                    );
                }
                check(
                    (1..=120).contains(&t.timeout_seconds),
                    "`billing.toss.timeout_seconds` must be between 1 and 120".into(),
                );
            }
            other => check(
                false,
                format!(
                    "`billing.provider` must be \"none\" (no payments; self-hosting) or \"toss\"; \
                     got `{other}`"
                ),
            ),
        }
        check(
            self.billing.lease_seconds >= 1,
            "`billing.lease_seconds` must be at least 1".into(),
        );
        check(
            !self.billing.dunning_days.is_empty()
                && self.billing.dunning_days.windows(2).all(|w| w[0] < w[1]),
            "`billing.dunning_days` must list increasing day counts, e.g. [1, 3, 5]".into(),
        );
        let plan = &self.licensing.default_plan;
        check(
            plan.is_empty() || crate::licensing::PlanCode::parse(plan).is_ok(),
            format!(
                "`licensing.default_plan` must be a plan code (free, pro, max) or empty for the \
                 top plan; got `{plan}`"
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

pub(crate) fn toml_has(table: &toml::Table, dotted: &str) -> bool {
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

/// A configuration file's text must be TOML and hold no secret (`origin` names it).
fn check_file(text: &str, origin: &str) -> Result<(), ConfigError> {
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        ConfigError::Invalid(format!("{origin} is not valid TOML: {e}"))
    })?;
    for (key, var) in SECRET_KEYS_IN_FILES {
        if toml_has(&table, key) {
            return Err(ConfigError::Invalid(format!(
                "`{key}` in {origin}: secrets are read only from the environment; remove it \
                 from the file and set {var} instead"
            )));
        }
    }
    Ok(())
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
