//! Purpose: the `scale` benchmark scenario (issue 17) — memory at the seed's MVP estimate:
//! 1,000 guilds of 100 members each, synced by one Umbra, then an hour of ordinary background
//! activity compressed into a minute (~500 actions a second over all guilds: members joining,
//! renames, messages, overwrite edits, an admin's deletion, kick, timeout and emoji change).
//!
//! The emulator runs in this process too, so Umbra's memory is measured as the resident set
//! above what the process held before Umbra started (the emulator's world built, the database
//! up): sampled every 100 ms, its peak is `peak_rss_mb`. The emulator keeps growing with the
//! activity's messages, so the figure is an upper bound for Umbra.
//!
//! Last line: `{"guilds", "members_per_guild", "sync_seconds", "activity_seconds", "actions",
//! "peak_rss_mb", "rss_per_guild_kb", "baseline_rss_mb", "process_peak_rss_mb"}`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use discord_emulator::{Emulator, EmulatorConfig, FixtureSpec};
use serde_json::json;
use umbra::config::Config;

use super::antinuke::{background, many_guilds, start_synced};

const GUILDS: usize = 1000;
const MEMBERS: usize = 100;
/// An hour of activity, compressed.
const ACTIVITY: Duration = Duration::from_secs(60);

/// The resident set of this process now, in KB.
fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse().ok())
        })
        .unwrap_or(0)
}

pub async fn run() -> anyhow::Result<serde_json::Value> {
    let mut config = Config::default();
    config.http.bind = "127.0.0.1:0".parse()?;
    config.log.level = "error".into();
    // 1,000 owners would each get a welcome DM: not what is measured.
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
    let fixtures = many_guilds(
        &emu,
        GUILDS,
        FixtureSpec {
            members: MEMBERS,
            ..FixtureSpec::small()
        },
    );
    let baseline = rss_kb();
    let peak = Arc::new(AtomicU64::new(baseline));
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (peak, sampling) = (peak.clone(), sampling.clone());
        std::thread::spawn(move || {
            while sampling.load(Ordering::Relaxed) {
                peak.fetch_max(rss_kb(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let started = Instant::now();
    let running = start_synced(config, &emu, &fixtures).await?;
    let sync_seconds = started.elapsed().as_secs_f64();
    eprintln!("{GUILDS} guilds of {MEMBERS} members synced in {sync_seconds:.1} s");
    let after_sync = peak.load(Ordering::Relaxed);
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicUsize::new(0));
    let bg = background(emu.clone(), Arc::new(fixtures), stop.clone(), done.clone());
    tokio::time::sleep(ACTIVITY).await;
    stop.store(true, Ordering::Relaxed);
    let _ = bg.join();
    // Let live sync write what the activity queued.
    tokio::time::sleep(Duration::from_secs(2)).await;
    sampling.store(false, Ordering::Relaxed);
    let _ = sampler.join();
    running.shutdown().await?;
    let mb = |kb: u64| super::round(kb as f64 / 1024.0, 1);
    let umbra_peak = peak.load(Ordering::Relaxed).saturating_sub(baseline);
    Ok(json!({
        "guilds": GUILDS,
        "members_per_guild": MEMBERS,
        "sync_seconds": super::round(sync_seconds, 2),
        "activity_seconds": ACTIVITY.as_secs(),
        "actions": done.load(Ordering::Relaxed),
        "peak_rss_mb": mb(umbra_peak),
        "rss_after_sync_mb": mb(after_sync.saturating_sub(baseline)),
        "rss_per_guild_kb": super::round(umbra_peak as f64 / GUILDS as f64, 1),
        "baseline_rss_mb": mb(baseline),
        "process_peak_rss_mb": super::peak_rss_mb(),
    }))
}
