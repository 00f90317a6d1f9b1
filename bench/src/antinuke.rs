//! Purpose: the `antinuke` benchmark scenario — 1,000 synced guilds with AntiNuke on, ordinary
//! background activity in all of them (members joining, renames, messages, channel overwrite
//! edits, and an admin's deletion, kick, timeout and emoji change — every class under its
//! threshold and under the combined score), then nukes at ~50 actions a second (one channel deletion every
//! 20 ms by the guild's rogue admin) in 50 guilds, started 20 ms apart. Measured from the
//! emulator's own logs: from the emulator dispatching the destructive event that crossed the
//! threshold (the 3rd CHANNEL_DELETE) to the emulator receiving the punishment request (the
//! member PATCH). Discord's rate limits are on (the emulator's defaults).
//!
//! Last line: `{"detect_p50_ms", "detect_p99_ms", "destroyed_before_stop", "false_positives",
//! "peak_rss_mb", ..}` — `destroyed_before_stop` is the worst guild's count of channels deleted
//! (the threshold is 3), `false_positives` the incidents or punishments of anyone but the 50
//! nukers.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use discord_emulator::{Emulator, EmulatorConfig, Fixture, FixtureSpec};
use serde_json::json;
use umbra::config::{Config, Secret, Secrets};
use umbra::guild::AntinukeChange;

const GUILDS: usize = 1000;
const NUKED: usize = 50;
/// One action every 20 ms: ~50 a second.
const ACTION_GAP: Duration = Duration::from_millis(20);
const NUKE_STAGGER: Duration = Duration::from_millis(20);
const PATIENCE: Duration = Duration::from_secs(900);

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p / 100.0 * (sorted.len() as f64 - 1.0)).round();
    sorted[(rank as usize).min(sorted.len() - 1)]
}

/// Ordinary activity in every guild until `stop`: members join, roles and channels are
/// renamed, messages are sent, channel overwrites are edited, and (in guilds that are not
/// nuked) the guild's admin deletes a channel, kicks a member, times one out and replaces an
/// emoji once — each class under its threshold and, together (25 + 25 + 10 + 15 points), under
/// the combined score of 100.
pub(crate) fn background(
    emu: Emulator,
    fixtures: Arc<Vec<Fixture>>,
    stop: Arc<AtomicBool>,
    done: Arc<AtomicUsize>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut i = 0usize;
        let mut deleted: HashMap<u64, usize> = HashMap::new();
        let mut timed_out: HashSet<u64> = HashSet::new();
        let mut emoji: HashSet<u64> = HashSet::new();
        let until = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
        while !stop.load(Ordering::Relaxed) {
            let f = &fixtures[(i * 7919) % fixtures.len()];
            let g = f.guild_id;
            let nuked = fixtures.iter().take(NUKED).any(|n| n.guild_id == g);
            let r = match i % 9 {
                0 => {
                    let u = emu.create_user(&format!("joiner-{i}"));
                    emu.add_member(g, u).map(|_| ())
                }
                1 => emu
                    .as_user(f.owner_id)
                    .update_role(
                        g,
                        f.role_ids[i % f.role_ids.len()],
                        json!({ "name": format!("Role {i}") }),
                    )
                    .map(|_| ()),
                2 => emu
                    .as_user(f.trusted_user_id)
                    .send_message(f.general_channel_id, "hello")
                    .map(|_| ()),
                3 => emu
                    .as_user(f.owner_id)
                    .update_channel(
                        f.channel_ids[1 + i % (f.channel_ids.len() - 1)],
                        json!({ "topic": format!("topic {i}") }),
                    )
                    .map(|_| ()),
                // Legitimate admin work under the thresholds (1 deletion, 1 kick, 1 timeout,
                // 1 emoji replaced per guild).
                4 if !nuked && deleted.get(&g).copied().unwrap_or(0) < 1 => {
                    let n = deleted.entry(g).or_default();
                    *n += 1;
                    let c = f.channel_ids[f.channel_ids.len() - *n];
                    emu.as_user(f.rogue_admin_id).delete_channel(c)
                }
                5 if !nuked => emu
                    .as_user(f.rogue_admin_id)
                    .kick(g, f.member_ids[f.member_ids.len() - 1]),
                // Overwrite edits that grant nothing dangerous (view and send), never counted.
                6 => emu.as_user(f.rogue_admin_id).put_overwrite(
                    f.channel_ids[1 + i % (f.channel_ids.len() - 1)],
                    f.role_ids[i % f.role_ids.len()],
                    discord_emulator::OverwriteKind::Role,
                    (1 << 10) | (1 << 11),
                    0,
                ),
                7 if !nuked && timed_out.insert(g) => emu
                    .as_user(f.rogue_admin_id)
                    .update_member(
                        g,
                        f.member_ids[f.member_ids.len() - 2],
                        json!({ "communication_disabled_until": until }),
                    )
                    .map(|_| ()),
                8 if !nuked && emoji.insert(g) => {
                    let admin = emu.as_user(f.rogue_admin_id);
                    admin
                        .create_emoji(g, &format!("new{i}"))
                        .and_then(|e| admin.delete_emoji(g, e))
                }
                _ => Ok(()),
            };
            if r.is_ok() {
                done.fetch_add(1, Ordering::Relaxed);
            }
            i += 1;
            // ~500 background actions a second over all guilds.
            std::thread::sleep(Duration::from_millis(2));
        }
    })
}

/// `n` guilds of one application, each built from `spec` (its seed and name made unique).
pub(crate) fn many_guilds(emu: &Emulator, n: usize, spec: FixtureSpec) -> Vec<Fixture> {
    let first = emu.build_fixture(&spec.clone().with_seed(1));
    let app = first.app.clone();
    let mut fixtures = vec![first];
    for i in 1..n {
        fixtures.push(
            emu.build_fixture(&FixtureSpec {
                guild_name: format!("Guild {i}"),
                ..spec
                    .clone()
                    .with_seed(i as u64 + 1)
                    .with_app(app.application_id)
            }),
        );
    }
    fixtures
}

/// Starts Umbra in this process against `emu` (as the guilds' application) and waits until
/// every guild of `fixtures` had its first load.
pub(crate) async fn start_synced(
    config: &mut Config,
    emu: &Emulator,
    fixtures: &[Fixture],
) -> anyhow::Result<umbra::app::Running> {
    let app = fixtures.first().context("no guild")?.app.clone();
    config.discord.api_address = emu.tls_addr().to_string();
    config.discord.ca_cert = emu.ca_cert_path().display().to_string();
    let secrets = Secrets {
        toss_security_key: None,
        discord_token: Some(Secret::new(app.bot_token.clone())),
        secret_key: None,
        client_secret: None,
        toss_secret_key: None,
    };
    let running = umbra::app::start(config, &secrets).await?;
    let data = running.data.clone();
    let deadline = Instant::now() + PATIENCE;
    loop {
        let loaded = fixtures
            .iter()
            .filter(|f| data.sync.last_load(f.guild_id).is_some())
            .count();
        if loaded == fixtures.len() {
            return Ok(running);
        }
        if Instant::now() > deadline {
            bail!(
                "only {loaded} of {} guilds were synced within {PATIENCE:?}",
                fixtures.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn run() -> anyhow::Result<serde_json::Value> {
    let mut config = Config::default();
    config.http.bind = "127.0.0.1:0".parse()?;
    config.log.level = "error".into();
    config.outbox.poll_interval_ms = 200;
    // Turning AntiNuke on in 1,000 guilds tells 1,000 owners by DM; DMs are paced by Discord's
    // DM-channel limits and would share the global rate limit with the punishments for minutes.
    // This scenario measures detection and punishment, so owners' DMs are not sent.
    config.notification.sender_enabled = false;
    let db = super::database(&mut config).await?;
    let result = scenario(&mut config).await;
    super::drop_database(db).await;
    result
}

async fn scenario(config: &mut Config) -> anyhow::Result<serde_json::Value> {
    let emu = Emulator::start(EmulatorConfig {
        record_responses: false,
        record_dispatch_payloads: false,
        ..EmulatorConfig::default()
    })
    .await?;
    let fixtures = many_guilds(&emu, GUILDS, FixtureSpec::small());
    let started = Instant::now();
    let running = start_synced(config, &emu, &fixtures).await?;
    let data = running.data.clone();
    let sync_seconds = started.elapsed().as_secs_f64();
    eprintln!("{GUILDS} guilds synced in {sync_seconds:.1} s");
    // AntiNuke on everywhere (as `/antinuke enable` does: settings, then the policy).
    for f in &fixtures {
        data.guilds
            .change_antinuke(f.guild_id, f.owner_id, AntinukeChange::Enabled(true))
            .await?;
        data.antinuke.reload(f.guild_id).await?;
    }
    let fixtures = Arc::new(fixtures);
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicUsize::new(0));
    let bg = background(emu.clone(), fixtures.clone(), stop.clone(), done.clone());
    tokio::time::sleep(Duration::from_secs(3)).await;
    emu.clear_logs();
    // The nukes: 50 guilds, each its rogue admin deleting a channel every 20 ms.
    let mut nukes = Vec::new();
    for (k, f) in fixtures.iter().take(NUKED).enumerate() {
        let emu = emu.clone();
        let f = f.clone();
        nukes.push(tokio::spawn(async move {
            tokio::time::sleep(NUKE_STAGGER * k as u32).await;
            let actor = emu.as_user(f.rogue_admin_id);
            let mut ok = 0usize;
            let mut tick = tokio::time::interval(ACTION_GAP);
            for c in f.channel_ids.iter().skip(1).take(12) {
                tick.tick().await;
                if actor.delete_channel(*c).is_ok() {
                    ok += 1;
                }
            }
            ok
        }));
    }
    let mut destroyed = Vec::new();
    for n in nukes {
        destroyed.push(n.await?);
    }
    // Every nuke must become an incident.
    let deadline = Instant::now() + Duration::from_secs(60);
    let rows: Vec<(i64, i64)> = loop {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT g.discord_guild_id, i.actor_discord_id FROM recovery.antinuke_incidents AS i \
               JOIN guild.guilds AS g ON g.id = i.guild_id",
        )
        .fetch_all(&data.pool)
        .await?;
        if rows.len() >= NUKED || Instant::now() > deadline {
            break rows;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    tokio::time::sleep(Duration::from_secs(5)).await;
    stop.store(true, Ordering::Relaxed);
    let _ = bg.join();
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT g.discord_guild_id, i.actor_discord_id FROM recovery.antinuke_incidents AS i \
           JOIN guild.guilds AS g ON g.id = i.guild_id",
    )
    .fetch_all(&data.pool)
    .await
    .unwrap_or(rows);
    let nukers: HashSet<(u64, u64)> = fixtures
        .iter()
        .take(NUKED)
        .map(|f| (f.guild_id, f.rogue_admin_id))
        .collect();
    let incidents: HashSet<(u64, u64)> = rows.iter().map(|(g, a)| (*g as u64, *a as u64)).collect();
    let missed = nukers.difference(&incidents).count();
    // Punishment requests: PATCH (strip) / DELETE (kick) / PUT ban of a member, by guild.
    let requests = emu.request_log();
    let dispatches = emu.dispatch_log();
    let mut punished_others = 0usize;
    let mut latencies = Vec::new();
    for r in &requests {
        if r.method == "PATCH" && r.route.ends_with("/members/{user_id}") {
            let parts: Vec<&str> = r.path.split('/').collect();
            let g = parts
                .iter()
                .position(|p| *p == "guilds")
                .and_then(|i| parts.get(i + 1))
                .and_then(|s| s.parse::<u64>().ok());
            let u = parts
                .last()
                .and_then(|s| s.split('?').next())
                .and_then(|s| s.parse::<u64>().ok());
            if let (Some(g), Some(u)) = (g, u)
                && !nukers.contains(&(g, u))
            {
                punished_others += 1;
            }
        }
    }
    let mut by_guild: HashMap<u64, Vec<Instant>> = HashMap::new();
    for d in &dispatches {
        if d.event == "CHANNEL_DELETE"
            && let Some(g) = d.guild_id
        {
            by_guild.entry(g).or_default().push(d.at);
        }
    }
    for f in fixtures.iter().take(NUKED) {
        let path = format!("/guilds/{}/members/{}", f.guild_id, f.rogue_admin_id);
        let Some(punish) = requests
            .iter()
            .filter(|r| r.method == "PATCH" && r.path.contains(&path))
            .min_by_key(|r| r.received)
        else {
            continue;
        };
        let mut deletes = by_guild.get(&f.guild_id).cloned().unwrap_or_default();
        deletes.sort();
        // The 3rd deletion crossed the threshold.
        if let Some(trigger) = deletes.get(2) {
            latencies.push(
                punish
                    .received
                    .saturating_duration_since(*trigger)
                    .as_secs_f64()
                    * 1000.0,
            );
        }
    }
    latencies.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let false_positives = incidents.difference(&nukers).count() + punished_others;
    let figures = json!({
        "detect_p50_ms": super::round(percentile(&latencies, 50.0), 2),
        "detect_p99_ms": super::round(percentile(&latencies, 99.0), 2),
        "detect_max_ms": super::round(latencies.last().copied().unwrap_or(f64::NAN), 2),
        "destroyed_before_stop": destroyed.iter().copied().max().unwrap_or(0),
        "destroyed_mean": super::round(destroyed.iter().sum::<usize>() as f64 / destroyed.len().max(1) as f64, 2),
        "threshold": 3,
        "false_positives": false_positives,
        "missed": missed,
        "measured": latencies.len(),
        "nuked_guilds": NUKED,
        "guilds": GUILDS,
        "background_actions": done.load(Ordering::Relaxed),
        "sync_seconds": super::round(sync_seconds, 1),
        "peak_rss_mb": super::peak_rss_mb(),
    });
    running.shutdown().await.context("stopping Umbra")?;
    emu.shutdown();
    Ok(figures)
}
