//! Purpose: the `pull` benchmark scenario — 2,000 members link their account (Discord OAuth2
//! `guilds.join` on the emulator, through Umbra's own consent flow), a snapshot is taken, a
//! nuker kicks them all, and `/members pull` brings them back with their roles and nicknames
//! against the emulator with Discord-shaped rate limits (time-scaled). Compares the time with
//! the floor the emulator's own limits imply for those calls.
//!
//! Last line: `{"members", "seconds", "lower_bound_s", "ratio", "roles_diff", "rate_limited", ..}`.
//! `seconds` runs from the first add (`PUT /guilds/{g}/members/{u}`) to the answer of the last
//! one. `roles_diff` counts members whose roles or nickname differ from before the kick (must
//! be 0).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use discord_emulator::{Emulator, EmulatorConfig, FixtureSpec, RateLimitConfig};
use serde_json::json;
use umbra::config::{Config, Secret, Secrets};
use umbra::recovery::restore::model::Component;
use umbra::recovery::restore::{Components, Mode, RestoreRequest};

/// Emulated seconds per real second: Discord's windows (10 s) become 100 ms.
const TIME_SCALE: f64 = 100.0;
const MEMBERS: usize = 2_000;
const PATIENCE: Duration = Duration::from_secs(900);
const ADD: &str = "/guilds/{guild_id}/members/{user_id}";

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

pub async fn run() -> anyhow::Result<serde_json::Value> {
    let mut config = Config::default();
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    config.http.bind = format!("127.0.0.1:{port}").parse()?;
    config.http.public_url = format!("http://127.0.0.1:{port}");
    config.log.level = "warn".into();
    config.discord.global_requests_per_second = 50 * TIME_SCALE as u32;
    config.restore.poll_interval_ms = 50;
    let db = super::database(&mut config).await?;
    let result = async {
        let emu = Emulator::start(EmulatorConfig {
            rate_limits: RateLimitConfig::discord(),
            time_scale: TIME_SCALE,
            record_responses: false,
            record_dispatch_payloads: false,
            ..EmulatorConfig::default()
        })
        .await?;
        let fixture = emu.build_fixture(&FixtureSpec::large().with_members(MEMBERS));
        let guild = fixture.guild_id;
        let owner = emu.as_user(fixture.owner_id);
        super::bot_role_on_top(&emu, &fixture)?;
        config.discord.api_address = emu.tls_addr().to_string();
        config.discord.ca_cert = emu.ca_cert_path().display().to_string();
        config.discord.client_id = fixture.app.client_id;
        config.discord.authorize_url = format!("{}/oauth2/authorize", emu.http_base());
        let secrets = Secrets {
            discord_token: Some(Secret::new(fixture.app.bot_token.clone())),
            secret_key: Some(Secret::new(umbra::discord::oauth::random_key())),
            client_secret: Some(Secret::new(fixture.app.client_secret.clone())),
            toss_secret_key: None,
            toss_security_key: None,
        };
        let running = umbra::app::start(&config, &secrets).await?;
        let data = running.data.clone();
        let deadline = Instant::now() + PATIENCE;
        while data.sync.last_load(guild).is_none() || !data.sync.is_idle(guild) {
            if Instant::now() > deadline {
                bail!("the guild did not load");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        data.licensing
            .grant(
                guild,
                &umbra::licensing::PlanCode::parse("max")
                    .map_err(|e| anyhow::anyhow!("plan code: {e:?}"))?,
                None,
                fixture.owner_id,
            )
            .await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        while !data.sync.is_idle(guild) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let before = emu.guild_view(guild).context("the guild")?;
        let people: Vec<_> = before
            .members
            .iter()
            .filter(|m| m.user_id != fixture.owner_id && m.user_id != fixture.app.bot_user_id)
            .filter(|m| fixture.member_ids.contains(&m.user_id))
            .cloned()
            .collect();
        // Every member links through Umbra's consent flow (the browser's part done here: the
        // emulator approves as the member).
        let links = data.links.clone().context("re-join links are on")?;
        let linking = Instant::now();
        for m in &people {
            let started = links.start(guild).await?;
            let url = reqwest::Url::parse(&started.url)?;
            let q: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
            let code = emu
                .authorize(
                    m.user_id,
                    fixture.app.client_id,
                    q.get("redirect_uri").map_or("", String::as_str),
                    &["identify", "guilds.join"],
                    q.get("code_challenge").map(String::as_str),
                )
                .map_err(|e| anyhow::anyhow!("authorize: {e:?}"))?;
            links.complete(&started.state, Some(&code)).await?;
        }
        eprintln!(
            "{} members linked in {:.1} s",
            people.len(),
            linking.elapsed().as_secs_f64()
        );
        let snapshot = data
            .snapshots
            .create_manual(guild, Some("before the kicks".into()), fixture.owner_id)
            .await?
            .meta;
        for m in &people {
            owner
                .kick(guild, m.user_id)
                .map_err(|e| anyhow::anyhow!("kick: {e:?}"))?;
        }
        loop {
            let state = data.sync.state_as_of(guild, None).await?;
            let gone =
                state.is_some_and(|s| s.members.len() + people.len() <= before.members.len());
            if gone && data.sync.is_idle(guild) {
                break;
            }
            if Instant::now() > deadline {
                bail!("the mirror did not follow the kicks");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let log_start = emu.request_log().len();
        let limited_before = emu.counters().total.rate_limited;
        let job = data
            .restores
            .start(RestoreRequest {
                guild,
                snapshot_id: snapshot.id,
                mode: Mode::Merge,
                components: Components::of(&[Component::Members, Component::Pull])
                    .context("components")?,
                scope: None,
                requested_by: fixture.owner_id,
                incident_id: None,
                confirmed: true,
            })
            .await?;
        let (status, failed) = loop {
            let view = data.restores.job(guild, job).await?;
            if matches!(
                view.row.status.as_str(),
                "completed" | "failed" | "cancelled"
            ) {
                break (view.row.status.clone(), view.row.failed_steps);
            }
            if Instant::now() > deadline {
                bail!("the pull did not finish");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        if status != "completed" {
            bail!("the pull ended {status}");
        }
        let adds: Vec<_> = emu
            .request_log()
            .into_iter()
            .skip(log_start)
            .filter(|r| r.status != 429 && r.method == "PUT" && r.route == ADD)
            .collect();
        let first = adds.iter().map(|r| r.received).min().context("no adds")?;
        let last = adds.iter().map(|r| r.answered).max().context("no adds")?;
        let seconds = last.duration_since(first).as_secs_f64();
        let limits = emu.rate_limit_config();
        let g = guild.to_string();
        let lower_bound = limits
            .theoretical_minimum(
                adds.iter().map(|_| ("PUT", ADD, g.as_str())),
                emu.config().time_scale,
            )
            .as_secs_f64();
        let after = emu.guild_view(guild).context("the guild")?;
        let roles_diff = people
            .iter()
            .filter(|m| {
                let back = after.members.iter().find(|x| x.user_id == m.user_id);
                back.is_none_or(|b| {
                    let (mut want, mut got) = (m.roles.clone(), b.roles.clone());
                    want.sort_unstable();
                    got.sort_unstable();
                    want != got || b.nick != m.nick
                })
            })
            .count();
        let rate_limited = emu.counters().total.rate_limited - limited_before;
        running.shutdown().await?;
        Ok(json!({
            "scenario": "pull",
            "members": adds.len(),
            "seconds": round(seconds),
            "lower_bound_s": round(lower_bound),
            "ratio": round(seconds / lower_bound.max(1e-9)),
            "roles_diff": roles_diff,
            "rate_limited": rate_limited,
            "failed": failed,
            "time_scale": TIME_SCALE,
        }))
    }
    .await;
    super::drop_database(db).await;
    result
}
