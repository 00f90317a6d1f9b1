//! Purpose: the `web` benchmark scenario — the dashboard's server time for the 100,000-member
//! guild: the overview, the time machine at a moment one hour back with its diff against now,
//! and the audit-log page (50 of 100,000 events), p50/p99 over repeated requests.
//!
//! Set-up: the guild is loaded by live sync, its history is moved two hours back (as if Umbra
//! had been mirroring it for two hours), then 20 channels are deleted and 1,000 members lose a
//! role, so that "one hour back" differs from now. The owner logs in through the emulator's
//! OAuth2 like a browser. Each request is timed from sending it to the last byte of the answer
//! on loopback (the server's time plus a few microseconds of local HTTP).
//!
//! Last line: `{"members", "overview_p50_ms", "overview_p99_ms", "timemachine_p50_ms",
//! "timemachine_p99_ms", "timemachine_changes", "audit_p50_ms", "audit_p99_ms",
//! "audit_events"}` (`timemachine_changes`: the diff rows the page shows — member changes are
//! capped at 200, the rest counted). Targets: overview p99 <= 50 ms; time machine with diff <= 1 s.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use discord_emulator::{Emulator, EmulatorConfig, FixtureSpec};
use serde_json::json;
use umbra::config::{Config, Secret, Secrets};

const MEMBERS: usize = 100_000;
const OVERVIEW_RUNS: usize = 200;
const TIMEMACHINE_RUNS: usize = 15;
const AUDIT_RUNS: usize = 200;
const AUDIT_EVENTS: i64 = 100_000;
const PATIENCE: Duration = Duration::from_secs(900);

pub async fn run() -> anyhow::Result<serde_json::Value> {
    let mut config = Config::default();
    config.log.level = "error".into();
    config.notification.sender_enabled = false;
    let db = super::database(&mut config).await?;
    let result = scenario(&mut config).await;
    super::drop_database(db).await;
    result
}

/// A client that keeps cookies and follows no redirects (like the e2e tests' `WebClient`).
struct Client {
    http: reqwest::Client,
    base: String,
    cookies: HashMap<String, String>,
}

impl Client {
    async fn get(&mut self, url: &str) -> anyhow::Result<(u16, Option<String>, String)> {
        let url = if url.starts_with("http") {
            url.to_owned()
        } else {
            format!("{}{url}", self.base)
        };
        let cookie: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let answer = self
            .http
            .get(&url)
            .header("Cookie", cookie.join("; "))
            .send()
            .await
            .with_context(|| format!("GET {url}"))?;
        let status = answer.status().as_u16();
        let location = answer
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        for c in answer.headers().get_all("set-cookie") {
            let Ok(c) = c.to_str() else { continue };
            if let Some((k, v)) = c.split(';').next().and_then(|p| p.split_once('=')) {
                self.cookies.insert(k.to_owned(), v.to_owned());
            }
        }
        Ok((status, location, answer.text().await.unwrap_or_default()))
    }

    /// Times `runs` GETs of `path` (each must answer 200 with `marker`), in milliseconds.
    async fn timed(&mut self, path: &str, runs: usize, marker: &str) -> anyhow::Result<Vec<f64>> {
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            let started = Instant::now();
            let (status, _, body) = self.get(path).await?;
            times.push(started.elapsed().as_secs_f64() * 1000.0);
            if status != 200 || !body.contains(marker) {
                bail!("GET {path} answered {status} without `{marker}`");
            }
        }
        Ok(times)
    }
}

fn percentile(times: &[f64], p: f64) -> f64 {
    let mut sorted = times.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    let v = sorted[rank.clamp(1, sorted.len()) - 1];
    (v * 100.0).round() / 100.0
}

async fn scenario(config: &mut Config) -> anyhow::Result<serde_json::Value> {
    let emu = Emulator::start(EmulatorConfig {
        record_responses: false,
        record_dispatch_payloads: false,
        ..EmulatorConfig::unlimited()
    })
    .await?;
    let fixture = emu.build_fixture(&FixtureSpec::large().with_members(MEMBERS - 4));
    let guild = fixture.guild_id;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    config.http.bind = format!("127.0.0.1:{port}").parse()?;
    config.http.public_url = format!("http://127.0.0.1:{port}");
    config.discord.api_address = emu.tls_addr().to_string();
    config.discord.ca_cert = emu.ca_cert_path().display().to_string();
    config.discord.client_id = fixture.app.client_id;
    config.discord.authorize_url = format!("{}/oauth2/authorize", emu.http_base());
    emu.set_oauth_user(Some(fixture.owner_id));
    let secrets = Secrets {
        toss_security_key: None,
        discord_token: Some(Secret::new(fixture.app.bot_token.clone())),
        secret_key: Some(Secret::new(umbra::discord::oauth::random_key())),
        client_secret: Some(Secret::new(fixture.app.client_secret.clone())),
        toss_secret_key: None,
    };
    let running = umbra::app::start(config, &secrets).await?;
    let started = Instant::now();
    let data = running.data.clone();
    let deadline = Instant::now() + PATIENCE;
    while data.sync.last_load(guild).is_none() {
        if Instant::now() > deadline {
            bail!("the guild was not loaded within {PATIENCE:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!("loaded in {:.1} s", started.elapsed().as_secs_f64());
    let pool = sqlx::PgPool::connect(&config.database.url)
        .await
        .context("connecting to the benchmark database")?;
    // Two hours of history: every version moves two hours back.
    for table in [
        "recovery.guild_settings",
        "recovery.guild_roles",
        "recovery.guild_channels",
        "recovery.guild_permission_overrides",
        "member.members",
    ] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "UPDATE {table} SET valid_from = valid_from - interval '2 hours', \
                    valid_to = valid_to - interval '2 hours'"
        )))
        .execute(&pool)
        .await
        .with_context(|| format!("moving {table} back"))?;
    }
    // Changes since: 20 channels deleted, 1,000 members lose a role.
    let owner = emu.as_user(fixture.owner_id);
    for channel in fixture.channel_ids.iter().skip(1).take(20) {
        owner
            .delete_channel(*channel)
            .with_context(|| format!("deleting channel {channel}"))?;
    }
    let view = emu.guild_view(guild).context("the guild")?;
    let mut edited = 0;
    let managed: std::collections::HashSet<u64> = view
        .roles
        .iter()
        .filter(|r| r.managed)
        .map(|r| r.id)
        .collect();
    for m in &view.members {
        if edited == 1_000 {
            break;
        }
        if let Some(role) = m.roles.iter().find(|r| !managed.contains(r)) {
            owner
                .remove_member_role(guild, m.user_id, *role)
                .with_context(|| format!("taking role {role} from {}", m.user_id))?;
            edited += 1;
        }
    }
    // 100,000 audit events of the guild.
    sqlx::query(
        "INSERT INTO audit.events (id, outbox_id, event_type, aggregate_type, aggregate_id, \
            guild_id, guild_discord_id, actor_discord_id, payload, occurred_at) \
         SELECT gen_random_uuid(), gen_random_uuid(), \
                (ARRAY['snapshot.created','restore.completed','antinuke.incident_opened'])[1 + i % 3], \
                'guild', $1::text, g.id, $1, $2, jsonb_build_object('n', i), \
                now() - make_interval(secs => i) \
           FROM generate_series(1, $3) AS i, guild.guilds AS g WHERE g.discord_guild_id = $1",
    )
    .bind(guild as i64)
    .bind(fixture.owner_id as i64)
    .bind(AUDIT_EVENTS)
    .execute(&pool)
    .await
    .context("recording audit events")?;
    // The mirror follows the changes.
    let deadline = Instant::now() + PATIENCE;
    loop {
        let status = data.sync.status(guild).await?;
        let live = emu.guild_view(guild).context("the guild")?;
        if status.channels as usize == live.channels.len() {
            break;
        }
        if Instant::now() > deadline {
            bail!("the mirror did not follow the deletions");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    eprintln!("set-up done: {edited} members edited, 20 channels deleted");

    // Log in like a browser.
    let mut client = Client {
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?,
        base: config.http.public_url.clone(),
        cookies: HashMap::new(),
    };
    let (_, to_discord, _) = client.get("/auth/login").await?;
    let (_, back, _) = client
        .get(&to_discord.context("no redirect to Discord")?)
        .await?;
    let (_, home, body) = client.get(&back.context("no redirect back")?).await?;
    if home.as_deref() != Some("/guilds") {
        bail!("the login failed: {body}");
    }

    let overview = client
        .timed(&format!("/guilds/{guild}"), OVERVIEW_RUNS, "id=\"sync\"")
        .await?;
    let at = (chrono::Utc::now() - chrono::TimeDelta::hours(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let tm_path = format!("/guilds/{guild}/timemachine?at={at}");
    let (_, _, tm_body) = client.get(&tm_path).await?;
    let changes = tm_body.matches("class=\"change ").count();
    if changes == 0 {
        bail!("the time machine shows no change one hour back");
    }
    let timemachine = client
        .timed(&tm_path, TIMEMACHINE_RUNS, "id=\"diff\"")
        .await?;
    let audit = client
        .timed(
            &format!("/guilds/{guild}/audit"),
            AUDIT_RUNS,
            "id=\"audit\"",
        )
        .await?;
    running.shutdown().await?;
    emu.shutdown();
    Ok(json!({
        "members": MEMBERS,
        "overview_p50_ms": percentile(&overview, 50.0),
        "overview_p99_ms": percentile(&overview, 99.0),
        "timemachine_p50_ms": percentile(&timemachine, 50.0),
        "timemachine_p99_ms": percentile(&timemachine, 99.0),
        "timemachine_changes": changes,
        "audit_p50_ms": percentile(&audit, 50.0),
        "audit_p99_ms": percentile(&audit, 99.0),
        "audit_events": AUDIT_EVENTS,
    }))
}
