//! Purpose: the `restore` benchmark scenario — restore a wiped guild (250 roles, 500 channels in
//! 50 categories, 3,000 overwrites, 2,000 members) from its snapshot against the emulator with
//! Discord-shaped rate limits (time-scaled), compare the time with the critical-path minimum
//! the emulator's own configuration implies, and with the same restore done one call at a time.
//!
//! Last line: `{"calls", "seconds", "lower_bound_s", "ratio", "diff_after", "naive_seconds", ..}`.
//! `seconds` runs from the first Discord call of the restore to the answer of the last one (the
//! pre-restore snapshot and planning come before and are reported as `job_seconds`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use discord_emulator::{DiffOptions, Emulator, EmulatorConfig, FixtureSpec, RateLimitConfig, diff};
use serde_json::json;
use umbra::config::{Config, Secret, Secrets};
use umbra::recovery::restore::model::{Action, Plan};
use umbra::recovery::restore::{Components, Mode, RestoreRequest};

/// Emulated seconds per real second: Discord's windows (10 s) become 100 ms.
const TIME_SCALE: f64 = 100.0;
const MEMBERS: usize = 2_000;
const PATIENCE: Duration = Duration::from_secs(600);

/// One measured restore.
struct Run {
    calls: usize,
    seconds: f64,
    job_seconds: f64,
    lower_bound_s: f64,
    diff_after: usize,
    failed: i32,
    rate_limited: u64,
    members: usize,
    grants: usize,
}

fn options() -> DiffOptions {
    DiffOptions {
        bans: false,
        webhooks: false,
        emojis: false,
        ..DiffOptions::structural()
    }
}

/// The critical-path minimum of the restore's calls under `limits` at `scale`.
///
/// `theoretical_minimum` (emulator/src/ratelimit.rs) gives, for a set of calls issued by one
/// token, the start time of the last call when every bucket and the global limit run at their
/// floor with no dependencies: max over buckets of `floor((n - 1) / limit) * window` (and the
/// same for the global limit and the role-creation budget). A restore also has dependencies;
/// the only ones that add to the total are the ones that force a bucket to wait for another:
/// the grants of dangerous role permissions come after the LAST member PATCH (no moment where
/// members hold dangerous permissions before everything else is in place), so that chain is
/// `min(member PATCHes) + min(grant PATCHes)`. The other dependencies (channel creates need the
/// roles their overwrites name, member PATCHes need their roles, positions need every create)
/// can overlap with the slowest bucket: the first channel without role overwrites and the
/// first member whose roles exist can start within the first window. So:
///
/// `lower_bound = max(theoretical_minimum(all calls), theoretical_minimum(member calls) +
/// theoretical_minimum(grant calls))`, in real seconds (divided by the time scale). Request
/// latency is not counted, so the bound is strict.
fn lower_bound(
    limits: &RateLimitConfig,
    scale: f64,
    calls: &[(String, String, String)],
    plan: &Plan,
    guild: &str,
) -> Duration {
    let all = limits.theoretical_minimum(
        calls
            .iter()
            .map(|(m, r, g)| (m.as_str(), r.as_str(), g.as_str())),
        scale,
    );
    let members = plan
        .steps
        .iter()
        .filter(|s| matches!(s.action, Action::Member { .. }))
        .count();
    let grants = plan
        .steps
        .iter()
        .filter(|s| matches!(s.action, Action::RoleGrant { .. }))
        .count();
    let member_calls = vec![("PATCH", "/guilds/{guild_id}/members/{user_id}", guild); members];
    let grant_calls = vec![("PATCH", "/guilds/{guild_id}/roles/{role_id}", guild); grants];
    let chain = limits.theoretical_minimum(member_calls, scale)
        + limits.theoretical_minimum(grant_calls, scale);
    all.max(chain)
}

/// The major parameter of a request (what keys its bucket): the id after `/guilds/` or
/// `/channels/`.
fn major(path: &str) -> String {
    let parts: Vec<&str> = path.trim_start_matches("/api/v10").split('/').collect();
    for (i, p) in parts.iter().enumerate() {
        if matches!(*p, "guilds" | "channels" | "webhooks" | "applications") {
            return parts
                .get(i + 1)
                .map(|s| (*s).to_owned())
                .unwrap_or_default();
        }
    }
    String::new()
}

async fn run_once(sequential: bool) -> anyhow::Result<Run> {
    let mut config = Config::default();
    config.http.bind = "127.0.0.1:0".parse()?;
    config.log.level = "warn".into();
    config.restore.sequential = sequential;
    // Umbra's own global pacing, at the emulated scale.
    config.restore.global_per_second = 45 * TIME_SCALE as u32;
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
        // Umbra's role on top: every role of the snapshot can be put back.
        let top = emu
            .guild_view(guild)
            .map(|v| v.roles.iter().map(|r| r.position).max().unwrap_or(1))
            .unwrap_or(1);
        owner
            .set_role_positions(guild, &[(fixture.bot_role_id, top)])
            .map_err(|e| anyhow::anyhow!("moving the bot's role: {e:?}"))?;
        config.discord.api_address = emu.tls_addr().to_string();
        config.discord.ca_cert = emu.ca_cert_path().display().to_string();
        let secrets = Secrets {
            discord_token: Some(Secret::new(fixture.app.bot_token.clone())),
            secret_key: None,
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
        let operator = fixture.owner_id;
        data.licensing
            .grant(
                guild,
                &umbra::licensing::PlanCode::parse("max")
                    .map_err(|e| anyhow::anyhow!("plan code: {e:?}"))?,
                None,
                operator,
            )
            .await?;
        // Wait until the mirror has the bot's role on top, then snapshot.
        tokio::time::sleep(Duration::from_millis(500)).await;
        while !data.sync.is_idle(guild) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let snapshot = data
            .snapshots
            .create_manual(guild, Some("benchmark".into()), fixture.owner_id)
            .await?
            .meta;
        let before = emu.guild_view(guild).context("the guild")?;
        // The wipe: every channel and every role the owner can delete.
        for c in &before.channels {
            owner
                .delete_channel(c.id)
                .map_err(|e| anyhow::anyhow!("wipe: {e:?}"))?;
        }
        for r in &before.roles {
            if r.id != guild && !r.managed {
                owner
                    .delete_role(guild, r.id)
                    .map_err(|e| anyhow::anyhow!("wipe: {e:?}"))?;
            }
        }
        // The mirror follows the wipe.
        loop {
            let state = data.sync.state_as_of(guild, None).await?;
            let done = state.is_some_and(|s| s.channels.is_empty() && s.roles.len() <= 2)
                && data.sync.is_idle(guild);
            if done {
                break;
            }
            if Instant::now() > deadline {
                bail!("the mirror did not follow the wipe");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let log_start = emu.request_log().len();
        let limited_before = emu.counters().total.rate_limited;
        let started = Instant::now();
        let job = data
            .restores
            .start(RestoreRequest {
                guild,
                snapshot_id: snapshot.id,
                mode: Mode::Merge,
                components: Components::all(),
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
                bail!("the restore did not finish");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let job_seconds = started.elapsed().as_secs_f64();
        if status != "completed" {
            bail!("the restore ended {status}");
        }
        let log: Vec<_> = emu.request_log().into_iter().skip(log_start).collect();
        // The restore's calls: everything the bot sent to the guild's structure since the start
        // (no progress message exists for a job started through the API).
        let calls: Vec<_> = log
            .iter()
            .filter(|r| r.route.starts_with("/guilds/") || r.route.starts_with("/channels/"))
            .filter(|r| r.status != 429)
            .collect();
        let first = calls.iter().map(|r| r.received).min().context("no calls")?;
        let last = calls.iter().map(|r| r.answered).max().context("no calls")?;
        let seconds = last.duration_since(first).as_secs_f64();
        let plan = data
            .restores
            .job(guild, job)
            .await?
            .plan
            .context("the plan")?;
        let triples: Vec<(String, String, String)> = calls
            .iter()
            .map(|r| (r.method.clone(), r.route.clone(), major(&r.path)))
            .collect();
        let lb = lower_bound(
            &emu.rate_limit_config(),
            TIME_SCALE,
            &triples,
            &plan,
            &guild.to_string(),
        );
        let after = emu.guild_view(guild).context("the guild")?;
        let diff_after = diff(&before, &after, &options()).len();
        let mut per_route: HashMap<String, usize> = HashMap::new();
        for r in &calls {
            *per_route
                .entry(format!("{} {}", r.method, r.route))
                .or_default() += 1;
        }
        eprintln!("restore calls by route: {per_route:?}");
        let run = Run {
            calls: calls.len(),
            seconds,
            job_seconds,
            lower_bound_s: lb.as_secs_f64(),
            diff_after,
            failed,
            rate_limited: emu.counters().total.rate_limited - limited_before,
            members: plan
                .steps
                .iter()
                .filter(|s| matches!(s.action, Action::Member { .. }))
                .count(),
            grants: plan
                .steps
                .iter()
                .filter(|s| matches!(s.action, Action::RoleGrant { .. }))
                .count(),
        };
        running.shutdown().await?;
        emu.shutdown();
        Ok::<_, anyhow::Error>(run)
    }
    .await;
    super::drop_database(db).await;
    result
}

/// The scenario: the restore with Umbra's scheduler, then the same restore one call at a time.
pub async fn run() -> anyhow::Result<serde_json::Value> {
    let fast = run_once(false).await?;
    eprintln!(
        "parallel: {:.3} s for {} calls (lower bound {:.3} s), diff {}",
        fast.seconds, fast.calls, fast.lower_bound_s, fast.diff_after
    );
    let naive = run_once(true).await?;
    eprintln!("one call at a time: {:.3} s", naive.seconds);
    let round = |v: f64| (v * 1000.0).round() / 1000.0;
    Ok(json!({
        "calls": fast.calls,
        "seconds": round(fast.seconds),
        "lower_bound_s": round(fast.lower_bound_s),
        "ratio": round(fast.seconds / fast.lower_bound_s.max(1e-9)),
        "diff_after": fast.diff_after,
        "naive_seconds": round(naive.seconds),
        "job_seconds": round(fast.job_seconds),
        "failed_steps": fast.failed,
        "rate_limited": fast.rate_limited,
        "member_patches": fast.members,
        "permission_grants": fast.grants,
        "naive_diff_after": naive.diff_after,
        "time_scale": TIME_SCALE,
    }))
}
