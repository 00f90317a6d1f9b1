//! Purpose: `umbra-bench`, benchmark scenarios that print JSON figures (never part of the test
//! suite). Each scenario starts a Discord emulator with a fixture guild and Umbra in-process
//! against a fresh database (its own embedded PostgreSQL, or a new database on the server of
//! `DATABASE_URL`), and prints ONE JSON line as its last line.
//!
//! - `sync [--json] [--members N]`: live sync's full load of a guild with 100,000 members (N in
//!   all), 250 roles and 500 channels (3,000 overwrites): `seconds` from the guild's GUILD_CREATE
//!   reaching Umbra (its shard's event path, or its handler when the request leaves from there)
//!   to the commit that marks it live (member chunks received, parsed and written),
//!   `rows_per_s` = member rows / seconds, `copy_rows_per_s` = a plain COPY of the same member
//!   rows into a scratch table of the same shape in the same database, and their `ratio`.
//! - `snapshot [--json] [--members N]`: after the same load, the time and compressed size of a
//!   snapshot of that guild, with its bans, emojis, stickers and images (their bytes inside).
//!
//! - `scale --json` (issue 17): 1,000 guilds of 100 members synced, then an hour of background
//!   activity compressed into a minute; `peak_rss_mb` there is Umbra's share (see `scale.rs`).
//!
//! - `chaos --json` (issue 17): the real `umbra` binary killed at chosen points (a restore at
//!   20/50/80 %, an outbox delivery, a DM, a first load, one of two shard processes), its
//!   database taken away for 30 s, all again behind PgBouncer (see `chaos.rs`).
//!
//! Elsewhere `peak_rss_mb` is the process's peak resident memory (VmHWM): Umbra, its serenity
//! cache and the in-process emulator together.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod antinuke;
mod billing;
mod chaos;
mod pull;
mod restore;
mod scale;
mod web;

use std::str::FromStr;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use discord_emulator::{Emulator, EmulatorConfig, FixtureSpec};
use serde_json::json;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgPool};
use umbra::config::{Config, Secret, Secrets};

/// The same allocator as the `umbra` binary (see src/main.rs): figures measured here hold for it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// How long the full load may take before the benchmark gives up.
const LOAD_TIMEOUT: Duration = Duration::from_secs(600);

struct Args {
    scenario: String,
    json: bool,
    members: usize,
}

fn args() -> anyhow::Result<Args> {
    let mut it = std::env::args().skip(1);
    let scenario = it.next().unwrap_or_default();
    let mut json = false;
    let mut members = 100_000;
    while let Some(a) = it.next() {
        match a.as_str() {
            "--json" => json = true,
            "--members" => {
                members = it
                    .next()
                    .and_then(|n| n.parse().ok())
                    .context("--members needs a number")?
            }
            other => bail!("unknown argument {other:?}"),
        }
    }
    if !matches!(scenario.as_str(), "sync" | "snapshot") {
        bail!("usage: umbra-bench <sync|snapshot> [--json] [--members N]");
    }
    Ok(Args {
        scenario,
        json,
        members,
    })
}

/// Peak resident memory of this process, in MB.
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| (kb / 1024.0 * 10.0).round() / 10.0)
}

fn round(v: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (v * f).round() / f
}

/// Where the database comes from, and how to drop it afterwards.
enum Db {
    /// A database created on the `DATABASE_URL` server.
    Server {
        admin: Box<PgConnectOptions>,
        name: String,
    },
    /// Umbra's embedded PostgreSQL under a temporary data_dir.
    Embedded { dir: std::path::PathBuf },
}

async fn database(config: &mut Config) -> anyhow::Result<Db> {
    match std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()) {
        Some(url) => {
            let admin =
                PgConnectOptions::from_str(&url).context("DATABASE_URL is not a PostgreSQL URL")?;
            let name = create_database(&admin, "umbra_bench")
                .await
                .context("DATABASE_URL")?;
            config.database.url = admin.clone().database(&name).to_url_lossy().to_string();
            Ok(Db::Server {
                admin: Box::new(admin),
                name,
            })
        }
        None => {
            let dir =
                std::env::temp_dir().join(format!("umbra-bench-{}", uuid::Uuid::now_v7().simple()));
            std::fs::create_dir_all(&dir)?;
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))?;
            config.data_dir = dir.clone();
            config.database.url = String::new();
            Ok(Db::Embedded { dir })
        }
    }
}

/// Creates a database named `prefix_<uuid>` on the server `admin` reaches; its name.
pub(crate) async fn create_database(
    admin: &PgConnectOptions,
    prefix: &str,
) -> anyhow::Result<String> {
    let name = format!("{prefix}_{}", uuid::Uuid::now_v7().simple());
    let mut conn = admin.connect().await.context("connecting to the server")?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .context("creating the benchmark database")?;
    conn.close().await.ok();
    Ok(name)
}

/// Drops the database `name` (made by [`create_database`]), whoever is still connected.
pub(crate) async fn remove_database(admin: &PgConnectOptions, name: &str) {
    if let Ok(mut conn) = admin.connect().await {
        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await;
    }
}

async fn drop_database(db: Db) {
    match db {
        Db::Server { admin, name } => remove_database(&admin, &name).await,
        Db::Embedded { dir } => {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

struct Loaded {
    running: umbra::app::Running,
    guild: u64,
    owner: u64,
    members: usize,
    seconds: f64,
}

/// Moves the bot's role to the top of the fixture guild, as its owner: every role of a
/// snapshot can then be put back.
pub(crate) fn bot_role_on_top(
    emu: &Emulator,
    fixture: &discord_emulator::Fixture,
) -> anyhow::Result<()> {
    let guild = fixture.guild_id;
    let top = emu
        .guild_view(guild)
        .map(|v| v.roles.iter().map(|r| r.position).max().unwrap_or(1))
        .unwrap_or(1);
    emu.as_user(fixture.owner_id)
        .set_role_positions(guild, &[(fixture.bot_role_id, top)])
        .map_err(|e| anyhow::anyhow!("moving the bot's role: {e:?}"))?;
    Ok(())
}

/// Deletes, as `owner`, every channel of `guild` Discord lets them delete (it keeps a community
/// server's rules and updates channels: 50074) and every role but @everyone and the managed
/// ones: (channels deleted, roles deleted).
pub(crate) fn wipe(
    emu: &Emulator,
    guild: &discord_emulator::GuildView,
    owner: u64,
) -> anyhow::Result<(usize, usize)> {
    let owner = emu.as_user(owner);
    let (mut channels, mut roles) = (0, 0);
    for c in &guild.channels {
        match owner.delete_channel(c.id) {
            Ok(_) => channels += 1,
            Err(e) if e.code == 50074 => {}
            Err(e) => bail!("wipe: {e:?}"),
        }
    }
    for r in &guild.roles {
        if r.id != guild.id && !r.managed {
            owner
                .delete_role(guild.id, r.id)
                .map_err(|e| anyhow::anyhow!("wipe: {e:?}"))?;
            roles += 1;
        }
    }
    Ok((channels, roles))
}

/// Members every fixture guild has besides the generated ones: its owner, an administrator, a
/// moderator and the bot.
const FIXTURE_PEOPLE: usize = 4;

/// Starts the emulator with a fixture guild of `members` members in all, and Umbra, and waits
/// for the full load.
async fn load(emu: &Emulator, config: &Config, members: usize) -> anyhow::Result<Loaded> {
    let spec = FixtureSpec::large().with_members(members.saturating_sub(FIXTURE_PEOPLE));
    let fixture = emu.build_fixture(&spec);
    let mut config = config.clone();
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
    let guild = fixture.guild_id;
    let deadline = Instant::now() + LOAD_TIMEOUT;
    let report = loop {
        if let Some(report) = running.data.sync.last_load(guild) {
            break report;
        }
        if Instant::now() > deadline {
            bail!("the guild did not finish loading within {LOAD_TIMEOUT:?}");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let stored: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM member.members WHERE valid_to IS NULL AND NOT banned",
    )
    .fetch_one(&running.data.pool)
    .await?;
    let expected = emu.guild_view(guild).map(|v| v.members.len()).unwrap_or(0);
    if usize::try_from(stored).unwrap_or(0) != expected || report.members != expected {
        bail!(
            "the mirror holds {stored} members (load reported {}), the guild has {expected}",
            report.members
        );
    }
    Ok(Loaded {
        running,
        guild,
        owner: fixture.owner_id,
        members: expected,
        seconds: report.duration.as_secs_f64(),
    })
}

/// COPYs the guild's current member rows (read back from `member.members`) into a fresh
/// scratch table shaped like it (same columns, constraints and indexes) and returns rows/s.
async fn copy_baseline(pool: &PgPool) -> anyhow::Result<(usize, f64)> {
    let mut conn = pool.acquire().await?;
    sqlx::raw_sql(
        "DROP TABLE IF EXISTS member.bench_copy_scratch; \
         CREATE TABLE member.bench_copy_scratch (LIKE member.members INCLUDING ALL)",
    )
    .execute(&mut *conn)
    .await?;
    // The same rows, as COPY text, prepared before the clock starts.
    let text: String = sqlx::query_scalar(
        "SELECT string_agg(concat_ws(E'\\t', gen_random_uuid()::text, guild_id::text, discord_user_id::text, \
                COALESCE(user_id::text, '\\N'), username, COALESCE(global_name, '\\N'), COALESCE(nick, '\\N'), \
                role_ids::text, is_bot::text, COALESCE(joined_at::text, '\\N'), valid_from::text, synced_at::text), \
                E'\\n') || E'\\n' \
           FROM member.members WHERE valid_to IS NULL AND NOT banned",
    )
    .fetch_one(&mut *conn)
    .await?;
    let rows = text.lines().count();
    let started = Instant::now();
    let mut copy = conn
        .copy_in_raw(
            "COPY member.bench_copy_scratch (id, guild_id, discord_user_id, user_id, username, global_name, nick, \
             role_ids, is_bot, joined_at, valid_from, synced_at) FROM STDIN",
        )
        .await?;
    for chunk in text.as_bytes().chunks(1 << 20) {
        copy.send(chunk).await?;
    }
    copy.finish().await?;
    let seconds = started.elapsed().as_secs_f64();
    sqlx::raw_sql("DROP TABLE member.bench_copy_scratch")
        .execute(&mut *conn)
        .await?;
    Ok((rows, rows as f64 / seconds))
}

async fn run(args: Args) -> anyhow::Result<serde_json::Value> {
    let mut config = Config::default();
    config.http.bind = "127.0.0.1:0".parse()?;
    config.log.level = "warn".into();
    let db = database(&mut config).await?;
    let result = async {
        let emu = Emulator::start(EmulatorConfig {
            record_responses: false,
            record_dispatch_payloads: false,
            ..EmulatorConfig::unlimited()
        })
        .await?;
        let loaded = load(&emu, &config, args.members).await?;
        let figures = match args.scenario.as_str() {
            "sync" => {
                let pool = loaded.running.data.pool.clone();
                let (copied, copy_rows_per_s) = copy_baseline(&pool).await?;
                if copied != loaded.members {
                    bail!("copied {copied} rows, expected {}", loaded.members);
                }
                let rows_per_s = loaded.members as f64 / loaded.seconds;
                json!({
                    "members": loaded.members,
                    "seconds": round(loaded.seconds, 3),
                    "rows_per_s": round(rows_per_s, 0),
                    "copy_rows_per_s": round(copy_rows_per_s, 0),
                    "ratio": round(rows_per_s / copy_rows_per_s, 3),
                    "peak_rss_mb": peak_rss_mb(),
                })
            }
            _ => {
                // The ban list, AutoMod rules and archived threads come by REST after the load.
                while !loaded.running.data.sync.is_idle(loaded.guild) {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                let started = Instant::now();
                let created = loaded
                    .running
                    .data
                    .snapshots
                    .create_manual(loaded.guild, Some("benchmark".into()), loaded.owner)
                    .await?;
                let seconds = started.elapsed().as_secs_f64();
                let doc_started = Instant::now();
                let (_, doc) = loaded
                    .running
                    .data
                    .snapshots
                    .document(loaded.guild, created.meta.id)
                    .await?;
                let read_seconds = doc_started.elapsed().as_secs_f64();
                json!({
                    "members": doc.members.len(),
                    "roles": doc.roles.len(),
                    "channels": doc.channels.len(),
                    "overwrites": doc.overwrite_count(),
                    "seconds": round(seconds, 3),
                    "read_seconds": round(read_seconds, 3),
                    "compressed_bytes": created.meta.size_bytes,
                    "uncompressed_bytes": created.meta.uncompressed_bytes,
                    "bans": doc.bans.as_ref().map(Vec::len),
                    "emojis": doc.emojis.as_ref().map(Vec::len),
                    "stickers": doc.stickers.as_ref().map(Vec::len),
                    "automod_rules": doc.automod.as_ref().map(Vec::len),
                    "threads": doc.threads.as_ref().map(Vec::len),
                    "starter_messages": doc.threads.iter().flatten().filter(|t| t.starter.is_some()).count(),
                    "images": doc.images.len(),
                    "image_base64_bytes": doc.images.values().map(String::len).sum::<usize>(),
                    "peak_rss_mb": peak_rss_mb(),
                })
            }
        };
        loaded.running.shutdown().await?;
        emu.shutdown();
        Ok::<_, anyhow::Error>(figures)
    }
    .await;
    drop_database(db).await;
    result
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    if std::env::args().nth(1).as_deref() == Some("antinuke") {
        return finish(antinuke::run().await);
    }
    if std::env::args().nth(1).as_deref() == Some("chaos") {
        return match chaos::run().await {
            Ok(line) => {
                println!("{line}");
                std::process::ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("benchmark failed: {e:#}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    if std::env::args().nth(1).as_deref() == Some("scale") {
        return finish(scale::run().await);
    }
    if std::env::args().nth(1).as_deref() == Some("restore") {
        return finish(restore::run().await);
    }
    if std::env::args().nth(1).as_deref() == Some("pull") {
        return finish(pull::run().await);
    }
    if std::env::args().nth(1).as_deref() == Some("billing") {
        return finish(billing::run().await);
    }
    if std::env::args().nth(1).as_deref() == Some("web") {
        return finish(web::run().await);
    }
    let args = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e:#}");
            return std::process::ExitCode::from(2);
        }
    };
    let json = args.json;
    // RUST_LOG=umbra=debug shows what happens (on stderr); nothing by default.
    if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_default_env() {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    }
    match run(args).await {
        Ok(figures) => {
            if !json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&figures).unwrap_or_default()
                );
            }
            println!("{figures}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("benchmark failed: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Prints a scenario's figures as the last line (`restore` has its own argument handling:
/// `--json` is accepted and the figures are always printed as one JSON line).
fn finish(result: anyhow::Result<serde_json::Value>) -> std::process::ExitCode {
    match result {
        Ok(figures) => {
            println!("{figures}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("benchmark failed: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
