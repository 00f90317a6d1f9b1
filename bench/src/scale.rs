//! Purpose: the `scale` benchmark scenario (issue 17) — memory at the seed's MVP estimate:
//! 1,000 guilds of 100 members each, synced by the real `umbra` binary (a process of its own),
//! then an hour of ordinary background activity compressed into a minute (~400 actions a
//! second over all guilds: members joining, renames, messages, overwrite edits, an admin's
//! deletion, kick, timeout and emoji change). The emulator runs in this process; Umbra's
//! memory is its own process's: `peak_rss_mb` is its VmHWM at the end, `rss_after_sync_mb` its
//! VmRSS once every guild is live. The child runs with the container image's allocator settings
//! unless the caller sets `MIMALLOC_*` itself (see [`allocator_env`]).
//!
//! The binary is `$UMBRA_BIN`, else `umbra` beside `umbra-bench` (build both:
//! `cargo build --release -p umbra -p umbra-bench`). The database is a fresh one on the server
//! of `DATABASE_URL`, else an embedded cluster this scenario starts (the child is given its URL).
//!
//! Last line: `{"guilds", "members_per_guild", "sync_seconds", "activity_seconds", "actions",
//! "peak_rss_mb", "rss_after_sync_mb", "rss_per_guild_kb"}`.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use discord_emulator::{Emulator, EmulatorConfig, FixtureSpec};
use serde_json::json;
use umbra::config::Config;
use umbra::db::embedded::{EmbeddedOptions, EmbeddedPostgres};

use super::antinuke::{background, many_guilds};

const GUILDS: usize = 1000;
const MEMBERS: usize = 100;
/// An hour of activity, compressed.
const ACTIVITY: Duration = Duration::from_secs(60);
const PATIENCE: Duration = Duration::from_secs(900);

/// The allocator settings the child runs with: the caller's `MIMALLOC_*`, or those the
/// container image sets (`MIMALLOC_PURGE_DELAY=0`, `MIMALLOC_ARENA_EAGER_COMMIT=0`: freed memory
/// goes back to the OS at once) when the caller sets none.
fn allocator_env() -> Vec<(String, String)> {
    let own: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| k.starts_with("MIMALLOC_"))
        .collect();
    if !own.is_empty() {
        return own;
    }
    [
        ("MIMALLOC_PURGE_DELAY", "0"),
        ("MIMALLOC_ARENA_EAGER_COMMIT", "0"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// A field of `/proc/{pid}/status` in KB (`VmRSS`, `VmHWM`).
fn status_kb(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse().ok())
        })
        .unwrap_or(0)
}

/// The `umbra` binary the scenarios run: `$UMBRA_BIN`, else `umbra` beside `umbra-bench`.
pub(super) fn binary() -> anyhow::Result<PathBuf> {
    let path = match std::env::var_os("UMBRA_BIN").filter(|p| !p.is_empty()) {
        Some(p) => PathBuf::from(p),
        None => std::env::current_exe()?
            .parent()
            .context("the benchmark's directory")?
            .join("umbra"),
    };
    if !path.exists() {
        bail!(
            "the umbra binary is not at {}: build it (`cargo build --release -p umbra`) or set UMBRA_BIN",
            path.display()
        );
    }
    Ok(path)
}

pub async fn run() -> anyhow::Result<serde_json::Value> {
    let bin = binary()?;
    let mut config = Config::default();
    let db = super::database(&mut config).await?;
    let embedded = if config.database.url.is_empty() {
        let pg = EmbeddedPostgres::start(&EmbeddedOptions::new(&config.data_dir))
            .await
            .context("starting the embedded PostgreSQL")?;
        pg.ensure_database("umbra").await?;
        config.database.url = pg.url("umbra");
        Some(pg)
    } else {
        None
    };
    let result = scenario(&bin, &config).await;
    if let Some(pg) = embedded {
        let _ = pg.stop().await;
    }
    super::drop_database(db).await;
    result
}

/// Kills the child when dropped (a failed run leaves no Umbra behind).
struct Umbra(Child);

impl Drop for Umbra {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn scenario(bin: &PathBuf, config: &Config) -> anyhow::Result<serde_json::Value> {
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
    let dir = std::env::temp_dir().join(format!("umbra-scale-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir)?;
    let result = measure(bin, config, &emu, fixtures, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn measure(
    bin: &PathBuf,
    config: &Config,
    emu: &Emulator,
    fixtures: Vec<discord_emulator::Fixture>,
    dir: &std::path::Path,
) -> anyhow::Result<serde_json::Value> {
    let app = fixtures.first().context("no guild")?.app.clone();
    let pool = sqlx::PgPool::connect(&config.database.url)
        .await
        .context("connecting to the benchmark database")?;
    let started = Instant::now();
    let child = Command::new(bin)
        .arg("run")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        // Umbra allocates with mimalloc, which reads `MIMALLOC_*` at start: the container's
        // settings (Dockerfile) unless the caller sets its own (e.g. `MIMALLOC_PURGE_DELAY=10`
        // for the bare binary's defaults).
        .envs(allocator_env())
        .env("RUST_LOG", "error")
        .env("DATABASE_URL", &config.database.url)
        .env("DISCORD_TOKEN", &app.bot_token)
        .env(
            "UMBRA_SECRET_KEY",
            "YmVuY2gta2V5LWJlbmNoLWtleS1iZW5jaC1rZXktMzI=",
        )
        .env("UMBRA_DATA_DIR", dir)
        .env("UMBRA_HTTP_BIND", "127.0.0.1:0")
        .env("UMBRA_DISCORD_API_ADDRESS", emu.tls_addr().to_string())
        .env(
            "UMBRA_DISCORD_CA_CERT",
            emu.ca_cert_path().display().to_string(),
        )
        // 1,000 owners would each get a welcome DM: not what is measured.
        .env("UMBRA_NOTIFICATION_SENDER_ENABLED", "false")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let umbra = Umbra(child);
    let pid = umbra.0.id();
    let deadline = Instant::now() + PATIENCE;
    loop {
        // Schema-qualified; the table exists once the child has migrated.
        let live: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM recovery.guild_settings WHERE valid_to IS NULL AND sync_state = 'live'",
        )
        .fetch_one(&pool)
        .await
        .unwrap_or(0);
        if live as usize >= GUILDS {
            break;
        }
        if Instant::now() > deadline {
            bail!("only {live} of {GUILDS} guilds were synced within {PATIENCE:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let sync_seconds = started.elapsed().as_secs_f64();
    let after_sync = status_kb(pid, "VmRSS:");
    eprintln!("{GUILDS} guilds of {MEMBERS} members synced in {sync_seconds:.1} s");
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicUsize::new(0));
    let bg = background(emu.clone(), Arc::new(fixtures), stop.clone(), done.clone());
    tokio::time::sleep(ACTIVITY).await;
    stop.store(true, Ordering::Relaxed);
    let _ = bg.join();
    // Let live sync write what the activity queued.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let peak = status_kb(pid, "VmHWM:");
    drop(umbra);
    pool.close().await;
    let mb = |kb: u64| super::round(kb as f64 / 1024.0, 1);
    Ok(json!({
        "guilds": GUILDS,
        "members_per_guild": MEMBERS,
        "sync_seconds": super::round(sync_seconds, 2),
        "activity_seconds": ACTIVITY.as_secs(),
        "actions": done.load(Ordering::Relaxed),
        "peak_rss_mb": mb(peak),
        "rss_after_sync_mb": mb(after_sync),
        "rss_per_guild_kb": super::round(peak as f64 / GUILDS as f64, 1),
    }))
}
