//! Purpose: the `restore` benchmark scenario — restore a wiped guild (250 roles, 500 channels in
//! 50 categories, 3,000 overwrites, 2,000 members, 500 bans lifted, 50 emojis, 5 stickers,
//! 10 AutoMod rules and 50 threads (25 forum posts) deleted by the attacker) from its snapshot against the emulator with
//! Discord-shaped rate limits (time-scaled), compare the time with the critical-path minimum
//! the emulator's own configuration implies, and with the same restore done one call at a time.
//!
//! Last line: `{"calls", "seconds", "lower_bound_s", "ratio", "diff_after", "naive_seconds", ..}`.
//! `seconds` runs from the first Discord call of the restore to the answer of the last one (the
//! pre-restore snapshot and planning come before and are reported as `job_seconds`; the owner's
//! "started" / "completed" DMs are not restore calls). Diagnostics on stderr: the plan's steps
//! against the calls sent, per route; every rate-limit bucket the calls fell into as the
//! emulator keys it (calls, first/last, floor, most calls per window, calls per second); the
//! emulator's counters. A bucket that went faster than its limit voids the run (error).

use std::collections::{BTreeMap, HashMap, HashSet};
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
const BANS: usize = 500;
const EMOJIS: usize = 50;
const STICKERS: usize = 5;
/// Every kind of rule Discord allows, each as often as it allows (6 keyword rules).
const AUTOMOD: usize = 10;
/// Half of them forum posts (starter message, tags; every other one archived).
const THREADS: usize = 50;
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
    bans: usize,
    emojis: usize,
    stickers: usize,
    automod: usize,
    threads: usize,
}

/// Everything the restore brings back, images included (emojis and stickers by their bytes).
fn options() -> DiffOptions {
    DiffOptions {
        webhooks: false,
        ..DiffOptions::structural()
    }
}

/// The critical-path minimum of the restore's calls under `limits` (the emulator's own
/// configuration) at `scale` (its time scale), in real seconds.
///
/// `theoretical_minimum` (emulator/src/ratelimit.rs) gives, for a set of calls issued by one
/// token, the start time of the last call when every bucket runs at its floor and nothing else
/// holds it back: max over buckets, keyed as the emulator keys them (rule + major parameter:
/// `member_edit` and `role_edit` per guild, `channel_edit` per channel, ..), of
/// `floor((n - 1) / limit) * window`, and the same for the global limit (50/s) and the
/// role-creation budget. The restore's dependencies add to that only where they make one
/// bucket wait for another to finish:
///
/// - dangerous permissions are granted last: every grant (`PATCH /guilds/{g}/roles/{r}`,
///   `role_edit`) waits for the LAST member PATCH (`member_edit`), so that chain is
///   `min(member PATCHes) + min(grants)`;
/// - roles before member roles and overwrites: left out (leaving a dependency out can only
///   lower the bound). They cost little: the first member PATCH and the first channel create
///   can go out once the first role create is answered (a member with one role, a channel
///   without role overwrites), and each window of role creates makes more members ready than
///   one `member_edit` window takes;
/// - the position calls wait for every create of their kind, but they are single calls in
///   their own buckets and finish before the grants' chain does.
///
/// So `lower_bound = max(theoretical_minimum(all calls), theoretical_minimum(member PATCHes)
/// + theoretical_minimum(grants))`. No latency is counted, so no real run can reach it.
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

/// The route a plan step's call goes to.
fn planned_route(action: &Action) -> &'static str {
    match action {
        Action::RoleCreate { .. } => "POST /guilds/{guild_id}/roles",
        Action::RoleUpdate { .. } | Action::RoleGrant { .. } => {
            "PATCH /guilds/{guild_id}/roles/{role_id}"
        }
        Action::RoleDelete { .. } => "DELETE /guilds/{guild_id}/roles/{role_id}",
        Action::RolePositions { .. } => "PATCH /guilds/{guild_id}/roles",
        Action::ChannelCreate { .. } => "POST /guilds/{guild_id}/channels",
        Action::ChannelUpdate { .. } => "PATCH /channels/{channel_id}",
        Action::ChannelDelete { .. } => "DELETE /channels/{channel_id}",
        Action::ChannelPositions { .. } => "PATCH /guilds/{guild_id}/channels",
        Action::Settings { .. } => "PATCH /guilds/{guild_id}",
        Action::Member { .. } => "PATCH /guilds/{guild_id}/members/{user_id}",
        Action::Ban { .. } => "PUT /guilds/{guild_id}/bans/{user_id}",
        Action::Unban { .. } => "DELETE /guilds/{guild_id}/bans/{user_id}",
        Action::EmojiCreate { .. } => "POST /guilds/{guild_id}/emojis",
        Action::EmojiUpdate { .. } => "PATCH /guilds/{guild_id}/emojis/{emoji_id}",
        Action::EmojiDelete { .. } => "DELETE /guilds/{guild_id}/emojis/{emoji_id}",
        Action::StickerCreate { .. } => "POST /guilds/{guild_id}/stickers",
        Action::StickerUpdate { .. } => "PATCH /guilds/{guild_id}/stickers/{sticker_id}",
        Action::StickerDelete { .. } => "DELETE /guilds/{guild_id}/stickers/{sticker_id}",
        Action::AutoModCreate { .. } => "POST /guilds/{guild_id}/auto-moderation/rules",
        Action::AutoModUpdate { .. } => "PATCH /guilds/{guild_id}/auto-moderation/rules/{rule_id}",
        Action::AutoModDelete { .. } => "DELETE /guilds/{guild_id}/auto-moderation/rules/{rule_id}",
        Action::ThreadCreate { .. } => "POST /channels/{channel_id}/threads",
        Action::ThreadEdit { .. } => "PATCH /channels/{channel_id}",
        Action::ThreadDelete { .. } => "DELETE /channels/{channel_id}",
        Action::EventCreate { .. } => "POST /guilds/{guild_id}/scheduled-events",
        Action::WelcomeScreen { .. } => "PATCH /guilds/{guild_id}/welcome-screen",
        Action::Onboarding { .. } => "PUT /guilds/{guild_id}/onboarding",
        Action::WebhookCreate { .. } => "POST /channels/{channel_id}/webhooks",
        Action::WebhookUpdate { .. } => "PATCH /webhooks/{webhook_id}",
        Action::WebhookDelete { .. } => "DELETE /webhooks/{webhook_id}",
        Action::MessageReplay { .. } => "POST /webhooks/{webhook_id}/{webhook_token}",
        Action::ReplayEnd { .. } => "DELETE /webhooks/{webhook_id}",
        Action::EventUpdate { .. } => {
            "PATCH /guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}"
        }
        Action::EventDelete { .. } => {
            "DELETE /guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}"
        }
    }
}

/// How one rate-limit bucket (rule and major parameter, as the emulator keys it) was used by
/// the restore, read back from the emulator's request log.
struct BucketUse {
    name: String,
    major: String,
    limit: u32,
    /// The rule's window at the time scale.
    window: Duration,
    calls: usize,
    /// Receipt of the first and the last call, from the restore's first call.
    first: Duration,
    last: Duration,
    /// Most calls in one window, replaying the emulator's fixed windows (a window opens at the
    /// first call after the previous one closed).
    max_per_window: usize,
    /// Most calls in any sliding interval of one window (up to twice the limit is legal: the
    /// end of one window and the start of the next).
    max_sliding: usize,
    /// Calls per real second from the restore's first call.
    per_second: Vec<usize>,
}

impl BucketUse {
    /// The earliest the bucket's last call can start after its first:
    /// `floor((calls - 1) / limit)` full windows.
    fn floor(&self) -> Duration {
        let waits = self.calls.saturating_sub(1) / (self.limit.max(1) as usize);
        self.window.mul_f64(waits as f64)
    }

    /// The calls went out faster than the bucket allows (a tenth of a window of slack for the
    /// order in which concurrent receipts reach the limiter).
    fn overrun(&self) -> bool {
        self.last.saturating_sub(self.first) + self.window / 10 < self.floor()
    }
}

/// Groups `calls` (received times, method, route template, path) by the bucket the emulator's
/// configuration puts them in.
fn bucket_usage(
    limits: &RateLimitConfig,
    scale: f64,
    calls: &[(Instant, &str, &str, &str)],
) -> Vec<BucketUse> {
    let Some(origin) = calls.iter().map(|c| c.0).min() else {
        return Vec::new();
    };
    let mut groups: HashMap<(String, String), (u32, Duration, Vec<Instant>)> = HashMap::new();
    for (at, method, route, path) in calls {
        let (name, limit, window) = match limits.rule_for(method, route) {
            Some(rule) => (rule.name.clone(), rule.limit, rule.window),
            None => match &limits.fallback {
                Some(f) => (format!("{method} {route}"), f.limit, f.window),
                None => continue,
            },
        };
        groups
            .entry((name, major(path)))
            .or_insert_with(|| (limit, window.div_f64(scale), Vec::new()))
            .2
            .push(*at);
    }
    let mut out: Vec<BucketUse> = groups
        .into_iter()
        .map(|((name, major), (limit, window, mut times))| {
            times.sort();
            let mut max_per_window = 0;
            let mut opened: Option<(Instant, usize)> = None;
            for t in &times {
                let (start, n) = match opened {
                    Some((start, n)) if *t < start + window => (start, n + 1),
                    _ => (*t, 1),
                };
                opened = Some((start, n));
                max_per_window = max_per_window.max(n);
            }
            let mut max_sliding = 0;
            let mut j = 0;
            for (i, t) in times.iter().enumerate() {
                while j < times.len() && times[j] < *t + window {
                    j += 1;
                }
                max_sliding = max_sliding.max(j - i);
            }
            let mut per_second = Vec::new();
            for t in &times {
                let bin = (*t - origin).as_secs() as usize;
                if per_second.len() <= bin {
                    per_second.resize(bin + 1, 0);
                }
                per_second[bin] += 1;
            }
            BucketUse {
                per_second,
                name,
                major,
                limit,
                window,
                calls: times.len(),
                first: times.first().map_or(Duration::ZERO, |t| *t - origin),
                last: times.last().map_or(Duration::ZERO, |t| *t - origin),
                max_per_window,
                max_sliding,
            }
        })
        .collect();
    out.sort_by(|a, b| b.calls.cmp(&a.calls).then(a.name.cmp(&b.name)));
    out
}

fn print_buckets(label: &str, buckets: &[BucketUse]) {
    eprintln!(
        "{label}: bucket (major)  calls  first_ms  last_ms  floor_ms  max/window  max/sliding  limit/window_ms"
    );
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    for b in buckets.iter().filter(|b| b.calls > 1) {
        eprintln!(
            "  {} ({})  {}  {:.1}  {:.1}  {:.1}  {}  {}  {}/{:.0}{}",
            b.name,
            b.major,
            b.calls,
            ms(b.first),
            ms(b.last),
            ms(b.floor()),
            b.max_per_window,
            b.max_sliding,
            b.limit,
            ms(b.window),
            if b.overrun() { "  OVERRUN" } else { "" }
        );
    }
    for b in buckets.iter().filter(|b| b.calls >= 50) {
        eprintln!("  {} calls per second: {:?}", b.name, b.per_second);
    }
    let singles = buckets.iter().filter(|b| b.calls == 1).count();
    eprintln!("  (+ {singles} bucket(s) with one call)");
}

async fn run_once(sequential: bool) -> anyhow::Result<Run> {
    let label = if sequential {
        "one call at a time"
    } else {
        "parallel"
    };
    let mut config = Config::default();
    config.http.bind = "127.0.0.1:0".parse()?;
    config.log.level = "warn".into();
    config.restore.sequential = sequential;
    // Umbra's own global pacing, at the emulated scale.
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
        let fixture = emu.build_fixture(&FixtureSpec {
            bans: BANS,
            emojis: EMOJIS,
            stickers: STICKERS,
            automod_rules: AUTOMOD,
            threads: THREADS,
            ..FixtureSpec::large().with_members(MEMBERS)
        });
        let guild = fixture.guild_id;
        let owner = emu.as_user(fixture.owner_id);
        super::bot_role_on_top(&emu, &fixture)?;
        config.discord.api_address = emu.tls_addr().to_string();
        config.discord.ca_cert = emu.ca_cert_path().display().to_string();
        let secrets = Secrets {
            toss_security_key: None,
            discord_token: Some(Secret::new(fixture.app.bot_token.clone())),
            secret_key: None,
            client_secret: None,
            toss_secret_key: None,
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
        // The AutoMod rules and archived threads are read by REST after the load: wait for
        // them too.
        while data.sync.state_as_of(guild, None).await?.is_none_or(|s| {
            s.threads.len() != THREADS
                || s.settings
                    .and_then(|s| s.automod)
                    .is_none_or(|r| r.len() != AUTOMOD)
        }) {
            if Instant::now() > deadline {
                bail!("the mirror did not read the AutoMod rules");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let snapshot = data
            .snapshots
            .create_manual(guild, Some("benchmark".into()), fixture.owner_id)
            .await?
            .meta;
        if snapshot.ban_count != Some(BANS as i32) {
            bail!(
                "the snapshot holds {:?} bans, not {BANS}",
                snapshot.ban_count
            );
        }
        let before = emu.guild_view(guild).context("the guild")?;
        // The wipe: every channel and every role the owner can delete (Discord keeps a
        // community server's rules and updates channel: 50074), and every ban lifted.
        let (channels, _) = super::wipe(&emu, &before, fixture.owner_id)?;
        let kept = before.channels.len() - channels;
        for b in &before.bans {
            owner
                .unban(guild, b.user_id)
                .map_err(|e| anyhow::anyhow!("wipe: {e:?}"))?;
        }
        for e in &before.emojis {
            owner
                .delete_emoji(guild, e.id)
                .map_err(|e| anyhow::anyhow!("wipe: {e:?}"))?;
        }
        for s in &before.stickers {
            owner
                .delete_sticker(guild, s.id)
                .map_err(|e| anyhow::anyhow!("wipe: {e:?}"))?;
        }
        if before.automod.len() != AUTOMOD {
            bail!(
                "the guild has {} AutoMod rules, not {AUTOMOD}",
                before.automod.len()
            );
        }
        for r in &before.automod {
            owner
                .delete_automod_rule(guild, r.id)
                .map_err(|e| anyhow::anyhow!("wipe: {e:?}"))?;
        }
        // The mirror follows the wipe.
        loop {
            let state = data.sync.state_as_of(guild, None).await?;
            let done = state.is_some_and(|s| {
                s.channels.len() == kept
                    && s.threads.iter().all(|t| {
                        s.channels
                            .iter()
                            .any(|c| c.discord_channel_id == t.parent_id)
                    })
                    && s.roles.len() <= 2
                    && s.bans.as_ref().is_some_and(Vec::is_empty)
                    && s.settings.as_ref().is_some_and(|s| {
                        s.emojis.is_empty()
                            && s.stickers.is_empty()
                            && s.automod.as_ref().is_some_and(Vec::is_empty)
                    })
            }) && data.sync.is_idle(guild);
            if done {
                break;
            }
            if Instant::now() > deadline {
                bail!("the mirror did not follow the wipe");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let log_start = emu.request_log().len();
        let counters_before = emu.counters();
        let limited_before = counters_before.total.rate_limited;
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
        let plan = data
            .restores
            .job(guild, job)
            .await?
            .plan
            .context("the plan")?;
        // The restore's calls: the requests to the routes its steps go to. Other requests of
        // the job (the owner's "started" / "completed" DMs) are not the restore's work and are
        // left out of the window; 429 answers are retried and counted apart.
        let routes: HashSet<&str> = plan
            .steps
            .iter()
            .map(|s| planned_route(&s.action))
            .collect();
        let (calls, others): (Vec<_>, Vec<_>) = log
            .iter()
            .filter(|r| r.status != 429)
            .partition(|r| routes.contains(format!("{} {}", r.method, r.route).as_str()));
        for r in &others {
            eprintln!(
                "{label}: not a restore call: {} {} ({})",
                r.method, r.route, r.status
            );
        }
        let first = calls.iter().map(|r| r.received).min().context("no calls")?;
        let last = calls.iter().map(|r| r.answered).max().context("no calls")?;
        let seconds = last.duration_since(first).as_secs_f64();
        let limits = emu.rate_limit_config();
        let scale = emu.config().time_scale;
        let triples: Vec<(String, String, String)> = calls
            .iter()
            .map(|r| (r.method.clone(), r.route.clone(), major(&r.path)))
            .collect();
        let lb = lower_bound(&limits, scale, &triples, &plan, &guild.to_string());
        let after = emu.guild_view(guild).context("the guild")?;
        let diff_after = diff(&before, &after, &options()).len();
        // What the restore sent against what the plan says it would send.
        let mut per_route: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        for r in &calls {
            per_route
                .entry(format!("{} {}", r.method, r.route))
                .or_default()
                .1 += 1;
        }
        for s in &plan.steps {
            per_route
                .entry(planned_route(&s.action).into())
                .or_default()
                .0 += 1;
        }
        eprintln!("{label}: route  plan steps  calls");
        for (route, (steps, sent)) in &per_route {
            let mark = if steps == sent { "" } else { "  MISMATCH" };
            eprintln!("  {route}  {steps}  {sent}{mark}");
        }
        // Every bucket the calls fell into, as the emulator keys it.
        let timed: Vec<(Instant, &str, &str, &str)> = calls
            .iter()
            .map(|r| {
                (
                    r.received,
                    r.method.as_str(),
                    r.route.as_str(),
                    r.path.as_str(),
                )
            })
            .collect();
        let buckets = bucket_usage(&limits, scale, &timed);
        print_buckets(label, &buckets);
        let counters = emu.counters();
        for (name, c) in &counters.by_bucket {
            let b = counters_before
                .by_bucket
                .get(name)
                .copied()
                .unwrap_or_default();
            if c.requests > b.requests {
                eprintln!(
                    "  counters {name}: {} requests, {} answered 429",
                    c.requests - b.requests,
                    c.rate_limited - b.rate_limited
                );
            }
        }
        let overruns: Vec<String> = buckets
            .iter()
            .filter(|b| b.overrun())
            .map(|b| {
                format!(
                    "{} ({}): {} calls in {:?}",
                    b.name,
                    b.major,
                    b.calls,
                    b.last - b.first
                )
            })
            .collect();
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
            bans: plan
                .steps
                .iter()
                .filter(|s| matches!(s.action, Action::Ban { .. }))
                .count(),
            emojis: plan
                .steps
                .iter()
                .filter(|s| matches!(s.action, Action::EmojiCreate { .. }))
                .count(),
            stickers: plan
                .steps
                .iter()
                .filter(|s| matches!(s.action, Action::StickerCreate { .. }))
                .count(),
            automod: plan
                .steps
                .iter()
                .filter(|s| matches!(s.action, Action::AutoModCreate { .. }))
                .count(),
            threads: plan
                .steps
                .iter()
                .filter(|s| matches!(s.action, Action::ThreadCreate { .. }))
                .count(),
        };
        running.shutdown().await?;
        emu.shutdown();
        if !overruns.is_empty() {
            bail!(
                "the emulator let calls through faster than its own buckets allow, so the \
                 measurement is void: {}",
                overruns.join("; ")
            );
        }
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
        "bans": fast.bans,
        "emojis": fast.emojis,
        "stickers": fast.stickers,
        "automod_rules": fast.automod,
        "threads": fast.threads,
        "naive_diff_after": naive.diff_after,
        "time_scale": TIME_SCALE,
    }))
}
