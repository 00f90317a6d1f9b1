//! Purpose: the `chaos` benchmark scenario (issue 17) — the real `umbra` binary (a process of
//! its own, `$UMBRA_BIN` or `umbra` beside `umbra-bench`) against the Discord emulator (in this
//! process) and a PostgreSQL server (`DATABASE_URL`'s, else an embedded cluster this scenario
//! starts), killed at chosen points and restarted; the emulator's guild, request log, audit log
//! and DMs, and the database, are the judges.
//!
//! Crash points (each a SIGKILL or an abort, then a restart):
//! - a restore of ~430 calls under Discord-shaped rate limits (time-scaled 20x) killed at 20%,
//!   50% and 80% of its calls (timing): it must complete with 0 differences against the guild
//!   before the wipe, one create per deleted role and channel (Discord's audit log), and one
//!   "finished" DM to the owner;
//! - the outbox relay between a delivery and its mark (`outbox.delivered.notification`) and the
//!   notification sender after the DM went out (`notification.sent`) — failpoints: the binary
//!   must be built with `--features umbra/failpoints`: one request, one DM, one audit row;
//! - a first load of 30,000 members killed mid-batch (timing): the mirror's members equal
//!   Discord's, each once;
//! - an AntiNuke punishment that took effect in Discord before Umbra heard back: one incident,
//!   one punishment (Discord's audit log), one owner DM;
//! - a Toss renewal charged while Umbra waited for the answer: settled by its order id, two
//!   charges for two periods;
//! - a member pull after 10 of its 14 adds reached Discord: each member added once, all back;
//! - two processes on shard ranges (`total_shards = 2`), one killed and restarted: both guilds
//!   and a guild that joined the dead shard meanwhile are live, each welcome DM once, no
//!   global 429 (`two_process`).
//!
//! Besides: PostgreSQL taken away for 30 s (a socket proxy this scenario controls) during a
//! restore while a role is renamed: Umbra stays up, `/healthz` says 503, the job completes,
//! each channel once, the mirror has the rename, `/healthz` is 200 again
//! (`db_outage_recovered`). Then every crash point runs again with Umbra's `database.url`
//! behind PgBouncer in transaction mode (`scripts/pgbouncer`, or an already running pooler at
//! `UMBRA_BENCH_POOLER_URL`) and `database.direct_url` on the server (`pooler_suite`: "green"
//! when all of them hold there, "skipped" when the server has no unix socket for PgBouncer).
//!
//! Counting: `crash_points` is the number of kills and aborts done in all; `lost` what a
//! judge found missing (a job not completed, a difference, a member or a DM missing — and a
//! scenario that could not finish counts 1); `duplicated` what was done twice (a create, a DM,
//! a request, a member row). Details go to stderr; the last line is
//! `{"crash_points", "lost", "duplicated", "db_outage_recovered", "pooler_suite", "two_process"}`.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use discord_emulator::{
    BotMessage, DiffOptions, Emulator, EmulatorConfig, Fixture, FixtureSpec, InteractionHandle,
    RateLimitConfig, diff,
};
use serde_json::{Value, json};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, PgPool};
use tokio::net::{UnixListener, UnixStream};
use umbra::db::embedded::{EmbeddedOptions, EmbeddedPostgres};

/// `UMBRA_SECRET_KEY` of the processes started here.
const SECRET_KEY: &str = "Y2hhb3Mta2V5LWNoYW9zLWtleS1jaGFvcy1rZXktMzI=";
const PATIENCE: Duration = Duration::from_secs(180);
/// Emulated seconds per real second in the restore crash scenario.
const RESTORE_SCALE: f64 = 20.0;
const WELCOME: &str = "Thanks for adding Umbra";

/// What the judges found over some scenarios.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    crash_points: usize,
    lost: usize,
    duplicated: usize,
    /// Scenarios that could not finish.
    failed: usize,
}

impl Tally {
    fn add(&mut self, o: Tally) {
        self.crash_points += o.crash_points;
        self.lost += o.lost;
        self.duplicated += o.duplicated;
        self.failed += o.failed;
    }

    fn clean(&self) -> bool {
        self.lost == 0 && self.duplicated == 0 && self.failed == 0
    }
}

/// The PostgreSQL server every scenario makes its databases on.
struct Server {
    admin: PgConnectOptions,
    /// The server's unix socket directory, when it listens on one (the outage proxy and
    /// PgBouncer need it).
    socket: Option<PathBuf>,
    port: u16,
    embedded: Option<(EmbeddedPostgres, PathBuf)>,
}

impl Server {
    async fn start() -> anyhow::Result<Self> {
        let (url, embedded) = match std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()) {
            Some(url) => (url, None),
            None => {
                let dir = std::env::temp_dir()
                    .join(format!("umbra-chaos-{}", uuid::Uuid::now_v7().simple()));
                std::fs::create_dir_all(&dir)?;
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))?;
                let pg = EmbeddedPostgres::start(&EmbeddedOptions::new(&dir))
                    .await
                    .context("starting the embedded PostgreSQL")?;
                (pg.url("postgres"), Some((pg, dir)))
            }
        };
        let admin =
            PgConnectOptions::from_str(&url).context("DATABASE_URL is not a PostgreSQL URL")?;
        Ok(Self {
            socket: admin.get_socket().cloned(),
            port: admin.get_port(),
            admin,
            embedded,
        })
    }

    /// A fresh database: its name and URL.
    async fn create(&self) -> anyhow::Result<(String, String)> {
        let name = super::create_database(&self.admin, "umbra_chaos").await?;
        let url = self
            .admin
            .clone()
            .database(&name)
            .to_url_lossy()
            .to_string();
        Ok((name, url))
    }

    async fn drop_database(&self, name: &str) {
        super::remove_database(&self.admin, name).await;
    }

    async fn stop(self) {
        if let Some((pg, dir)) = self.embedded {
            let _ = pg.stop().await;
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// `url` with its unix socket directory set to `dir` (a `host` query parameter wins over the
/// URL's host).
fn with_socket_dir(url: &str, dir: &Path) -> String {
    let encoded: String = dir
        .display()
        .to_string()
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'/' || b == b'-' || b == b'_' || b == b'.' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut params: Vec<String> = query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("host="))
        .map(str::to_owned)
        .collect();
    params.push(format!("host={encoded}"));
    format!("{base}?{}", params.join("&"))
}

/// Where Umbra's database connections go in one pass.
#[derive(Clone)]
enum Route {
    Direct,
    /// PgBouncer's base URL (`postgres://user@host:port`): Umbra's `database.url` is the pooled
    /// one, `database.direct_url` the server.
    Pooled(String),
}

/// One scenario's database: the bench's own pool (direct) and what Umbra is given.
struct Db {
    name: String,
    pool: PgPool,
    url: String,
    direct_url: String,
}

async fn database(server: &Server, route: &Route) -> anyhow::Result<Db> {
    let (name, direct_url) = server.create().await?;
    let pool = PgPool::connect(&direct_url)
        .await
        .context("connecting to the scenario's database")?;
    let url = match route {
        Route::Direct => direct_url.clone(),
        Route::Pooled(base) => format!("{base}/{name}"),
    };
    Ok(Db {
        name,
        pool,
        url,
        direct_url,
    })
}

impl Db {
    async fn drop(self, server: &Server) {
        self.pool.close().await;
        server.drop_database(&self.name).await;
    }
}

/// One scenario's world: a fresh database and a Discord emulator (recording no responses or
/// dispatch payloads); [`Scene::end`] removes both.
struct Scene {
    db: Db,
    emu: Emulator,
}

impl Scene {
    async fn start(server: &Server, route: &Route, config: EmulatorConfig) -> anyhow::Result<Self> {
        let db = database(server, route).await?;
        match Emulator::start(EmulatorConfig {
            record_responses: false,
            record_dispatch_payloads: false,
            ..config
        })
        .await
        {
            Ok(emu) => Ok(Self { db, emu }),
            Err(e) => {
                db.drop(server).await;
                Err(e)
            }
        }
    }

    /// Stops the emulator, drops the database; `result` passes through.
    async fn end<T>(self, server: &Server, result: anyhow::Result<T>) -> anyhow::Result<T> {
        self.emu.shutdown();
        self.db.drop(server).await;
        result
    }
}

/// A running `umbra run` in a directory of its own, its output in `umbra.log` there; SIGKILLed
/// when dropped.
struct Umbra {
    child: Option<Child>,
    dir: PathBuf,
}

impl Umbra {
    fn start(
        bin: &Path,
        db: &Db,
        emu: &Emulator,
        token: &str,
        settings: &[(&str, String)],
    ) -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!("umbra-chaos-run-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir)?;
        let out = std::fs::File::create(dir.join("umbra.log"))?;
        let err = out.try_clone()?;
        let mut command = Command::new(bin);
        command
            .arg("run")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "warn,umbra=info")
            .env("DATABASE_URL", &db.url)
            .env(
                "UMBRA_DATABASE_DIRECT_URL",
                if db.url == db.direct_url {
                    ""
                } else {
                    db.direct_url.as_str()
                },
            )
            .env("DISCORD_TOKEN", token)
            .env("UMBRA_SECRET_KEY", SECRET_KEY)
            .env("UMBRA_DATA_DIR", &dir)
            .env("UMBRA_HTTP_BIND", "127.0.0.1:0")
            .env("UMBRA_DISCORD_API_ADDRESS", emu.tls_addr().to_string())
            .env(
                "UMBRA_DISCORD_CA_CERT",
                emu.ca_cert_path().display().to_string(),
            )
            .env("UMBRA_OUTBOX_POLL_INTERVAL_MS", "50")
            .env("UMBRA_NOTIFICATION_POLL_INTERVAL_MS", "100")
            .env("UMBRA_NOTIFICATION_LEASE_SECONDS", "2")
            .env("UMBRA_RESTORE_LEASE_SECONDS", "3")
            .env("UMBRA_RESTORE_HEARTBEAT_MS", "500")
            .env("UMBRA_RESTORE_POLL_INTERVAL_MS", "200");
        for (k, v) in settings {
            command.env(k, v);
        }
        let child = command
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        Ok(Self {
            child: Some(child),
            dir,
        })
    }

    /// SIGKILL: no clean-up of any kind.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// The end of its log (for error messages).
    fn log(&self) -> String {
        let text = std::fs::read_to_string(self.dir.join("umbra.log")).unwrap_or_default();
        let start = text.len().saturating_sub(4000);
        let start = (start..text.len())
            .find(|i| text.is_char_boundary(*i))
            .unwrap_or(text.len());
        format!("--- umbra.log (end) ---\n{}", &text[start..])
    }
}

impl Drop for Umbra {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Waits until `check` holds, at most `patience`.
async fn until<F, Fut>(what: &str, patience: Duration, mut check: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + patience;
    while !check().await {
        if Instant::now() > deadline {
            bail!("timed out waiting until {what}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    Ok(())
}

async fn scalar(pool: &PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap_or(-1)
}

async fn live_guilds(pool: &PgPool) -> i64 {
    scalar(
        pool,
        "SELECT count(*) FROM recovery.guild_settings WHERE valid_to IS NULL AND sync_state = 'live'",
    )
    .await
}

/// Waits until the application has `sessions` gateway sessions and `live` guilds are live.
async fn connected(
    emu: &Emulator,
    app: u64,
    pool: &PgPool,
    sessions: usize,
    live: i64,
) -> anyhow::Result<()> {
    until(
        "Umbra connects and the guilds are live",
        PATIENCE,
        || async { emu.connected_sessions(app) == sessions && live_guilds(pool).await == live },
    )
    .await
}

/// A slash command as `user` in `guild`: the answer's text and message.
async fn command(
    emu: &Emulator,
    user: u64,
    guild: u64,
    name: &str,
    options: Value,
) -> anyhow::Result<(String, Option<BotMessage>)> {
    let handle = emu
        .invoke_command(user, Some(guild), None, name, options, "en-US")
        .map_err(|e| anyhow::anyhow!("invoking /{name}: {e:?}"))?;
    answer(handle).await
}

/// The bot's answer to an interaction (its final content when deferred).
async fn answer(handle: InteractionHandle) -> anyhow::Result<(String, Option<BotMessage>)> {
    let response = handle
        .response()
        .await
        .map_err(|e| anyhow::anyhow!("no answer: {e}"))?;
    let message = match response.kind {
        4 | 7 => Some(
            handle
                .message(PATIENCE)
                .await
                .map_err(|e| anyhow::anyhow!("no message: {e}"))?,
        ),
        5 => {
            let view = handle
                .wait_until(PATIENCE, "the deferred answer", |v| {
                    v.original.as_ref().is_some_and(|m| !m.loading) || !v.followups.is_empty()
                })
                .await
                .map_err(|e| anyhow::anyhow!("no deferred answer: {e}"))?;
            view.original
                .filter(|m| !m.loading)
                .or_else(|| view.followups.first().cloned())
        }
        _ => None,
    };
    Ok((
        message.as_ref().map(BotMessage::text).unwrap_or_default(),
        message,
    ))
}

/// `/backup create` as the owner; the snapshot's id.
async fn snapshot(emu: &Emulator, db: &Db, fixture: &Fixture) -> anyhow::Result<uuid::Uuid> {
    let (text, _) = command(
        emu,
        fixture.owner_id,
        fixture.guild_id,
        "backup create",
        json!({ "label": "chaos" }),
    )
    .await?;
    if !text.contains("chaos") {
        bail!("/backup create answered: {text}");
    }
    sqlx::query_scalar("SELECT id FROM recovery.snapshots ORDER BY created_at DESC LIMIT 1")
        .fetch_one(&db.pool)
        .await
        .context("the snapshot")
}

/// Previews a merge restore of `components` and confirms it, as the owner.
async fn restore(
    emu: &Emulator,
    fixture: &Fixture,
    snapshot: uuid::Uuid,
    components: &str,
) -> anyhow::Result<()> {
    let (text, message) = command(
        emu,
        fixture.owner_id,
        fixture.guild_id,
        "restore preview",
        json!({ "snapshot": snapshot.to_string(), "components": components }),
    )
    .await?;
    let message = message.with_context(|| format!("a preview: {text}"))?;
    confirm(emu, fixture.owner_id, &message).await
}

/// Clicks the confirm button of a restore or pull preview as `user`.
async fn confirm(emu: &Emulator, user: u64, preview: &BotMessage) -> anyhow::Result<()> {
    let id = preview
        .buttons()
        .into_iter()
        .filter_map(|b| b.custom_id)
        .find(|id| id.starts_with("umbra:rst:confirm:"))
        .with_context(|| format!("no confirm button: {}", preview.text()))?;
    let handle = emu
        .click_button(user, preview.id, &id)
        .map_err(|e| anyhow::anyhow!("confirming: {e:?}"))?;
    answer(handle).await?;
    Ok(())
}

/// The latest restore job: (status, total steps).
async fn job(pool: &PgPool) -> Option<(String, i32)> {
    sqlx::query_as(
        "SELECT status, total_steps FROM recovery.restore_jobs ORDER BY created_at DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await
    .ok()
    .flatten()
}

/// Waits until the latest job ends; its status.
async fn job_end(pool: &PgPool, patience: Duration) -> anyhow::Result<String> {
    let deadline = Instant::now() + patience;
    loop {
        if let Some((s, _)) = job(pool).await
            && matches!(s.as_str(), "completed" | "failed" | "cancelled")
        {
            return Ok(s);
        }
        if Instant::now() > deadline {
            bail!("the restore did not end ({:?})", job(pool).await);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Audit-log creations (`action`: 10 channel, 30 role) made by restores.
fn restore_creates(emu: &Emulator, guild: u64, action: u32) -> usize {
    emu.audit_log(guild)
        .iter()
        .filter(|e| {
            u32::from(e.action_type) == action
                && e.reason
                    .as_deref()
                    .is_some_and(|r| r.starts_with("umbra:restore"))
        })
        .count()
}

/// Runs a scenario; an error counts as one lost (it could not prove anything) and is shown.
async fn judged<F>(name: &str, route: &Route, scenario: F) -> Tally
where
    F: Future<Output = anyhow::Result<Tally>>,
{
    let label = match route {
        Route::Direct => "direct",
        Route::Pooled(_) => "behind PgBouncer",
    };
    let started = Instant::now();
    match scenario.await {
        Ok(t) => {
            eprintln!(
                "chaos: {name} ({label}): {} crash points, {} lost, {} duplicated ({:.1} s)",
                t.crash_points,
                t.lost,
                t.duplicated,
                started.elapsed().as_secs_f64()
            );
            t
        }
        Err(e) => {
            eprintln!("chaos: {name} ({label}) could not finish: {e:#}");
            Tally {
                lost: 1,
                failed: 1,
                ..Tally::default()
            }
        }
    }
}

/// A restore of ~430 calls killed at 20%, 50% and 80% of its calls.
async fn restore_killed_three_times(
    bin: &Path,
    server: &Server,
    route: &Route,
) -> anyhow::Result<Tally> {
    let scene = Scene::start(
        server,
        route,
        EmulatorConfig {
            rate_limits: RateLimitConfig::discord(),
            time_scale: RESTORE_SCALE,
            ..EmulatorConfig::default()
        },
    )
    .await?;
    let (db, emu) = (&scene.db, &scene.emu);
    let result = async {
        let fixture = emu.build_fixture(&FixtureSpec {
            roles: 60,
            categories: 10,
            channels: 150,
            overwrites: 300,
            members: 246,
            emojis: 0,
            webhooks: 0,
            bans: 0,
            stickers: 0,
            automod_rules: 0,
            threads: 0,
            scheduled_events: 0,
            onboarding: false,
            ..FixtureSpec::small()
        });
        let guild = fixture.guild_id;
        super::bot_role_on_top(emu, &fixture)?;
        let app = fixture.app.application_id;
        let token = fixture.app.bot_token.clone();
        let settings = [(
            "UMBRA_DISCORD_GLOBAL_REQUESTS_PER_SECOND",
            format!("{}", 50.0 * RESTORE_SCALE),
        )];
        let mut umbra = Umbra::start(bin, db, emu, &token, &settings)?;
        connected(emu, app, &db.pool, 1, 1)
            .await
            .with_context(|| umbra.log())?;
        // The mirror has the bot's role on top before the snapshot.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let snapshot = snapshot(emu, db, &fixture).await?;
        let before = emu.guild_view(guild).context("the guild")?;
        let (channels, roles) = super::wipe(emu, &before, fixture.owner_id)?;
        let kept = before.channels.len() - channels;
        until("the mirror follows the wipe", PATIENCE, || async {
            sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM recovery.guild_channels WHERE valid_to IS NULL",
            )
            .fetch_one(&db.pool)
            .await
            .is_ok_and(|n| n as usize == kept)
        })
        .await
        .with_context(|| umbra.log())?;
        let log_start = emu.request_log().len();
        restore(emu, &fixture, snapshot, "settings,roles,channels,members").await?;
        let total = std::cell::Cell::new(0);
        until("the job is confirmed", PATIENCE, || async {
            total.set(job(&db.pool).await.map_or(0, |(_, t)| t));
            total.get() > 0
        })
        .await?;
        let total = total.get() as usize;
        let calls = || {
            emu.request_log()
                .iter()
                .skip(log_start)
                .filter(|r| {
                    r.reason
                        .as_deref()
                        .is_some_and(|r| r.starts_with("umbra:restore"))
                })
                .count()
        };
        let mut kills = 0;
        for fraction in [0.2, 0.5, 0.8] {
            let at = (total as f64 * fraction).ceil() as usize;
            let ended = std::cell::Cell::new(false);
            until(
                &format!("{at} of the restore's {total} steps' calls went out"),
                PATIENCE,
                || async {
                    ended.set(
                        job(&db.pool)
                            .await
                            .is_some_and(|(s, _)| !matches!(s.as_str(), "queued" | "running")),
                    );
                    calls() >= at || ended.get()
                },
            )
            .await
            .with_context(|| umbra.log())?;
            if ended.get() {
                bail!(
                    "the restore ended after {} calls, before the kill at {}%",
                    calls(),
                    fraction * 100.0
                );
            }
            umbra.kill();
            kills += 1;
            eprintln!(
                "chaos: restore killed after {} calls ({}% of {total} steps)",
                calls(),
                fraction * 100.0
            );
            umbra = Umbra::start(bin, db, emu, &token, &settings)?;
            until("the new process connects", PATIENCE, || async {
                emu.connected_sessions(app) == 1
            })
            .await
            .with_context(|| umbra.log())?;
        }
        let status = job_end(&db.pool, PATIENCE * 2)
            .await
            .with_context(|| umbra.log())?;
        let mut tally = Tally {
            crash_points: kills,
            ..Tally::default()
        };
        if status != "completed" {
            eprintln!("chaos: the restore ended {status}\n{}", umbra.log());
            tally.lost += 1;
        }
        // The owner's "finished" DM (sent by the notification worker) once.
        let finished = || {
            emu.dm_messages_to(fixture.owner_id)
                .iter()
                .filter(|m| m.content.contains("Restore of") && m.content.contains("finished"))
                .count()
        };
        let _ = until("the owner is told", PATIENCE, || async { finished() >= 1 }).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let dms = finished();
        tally.lost += usize::from(dms == 0);
        tally.duplicated += dms.saturating_sub(1);
        let after = emu.guild_view(guild).context("the guild")?;
        let differences = diff(
            &before,
            &after,
            &DiffOptions {
                webhooks: false,
                ..DiffOptions::structural()
            },
        );
        for d in differences.iter().take(10) {
            eprintln!("chaos: restore difference {d}");
        }
        tally.lost += differences.len();
        // Discord's audit log: one creation per deleted channel and role.
        let (channel_creates, role_creates) = (
            restore_creates(emu, guild, 10),
            restore_creates(emu, guild, 30),
        );
        tally.duplicated +=
            channel_creates.saturating_sub(channels) + role_creates.saturating_sub(roles);
        tally.lost += channels.saturating_sub(channel_creates) + roles.saturating_sub(role_creates);
        eprintln!(
            "chaos: restore of {} calls ({total} steps): {channel_creates}/{channels} channel and \
             {role_creates}/{roles} role creates, {} differences, {dms} finished DMs",
            calls(),
            differences.len()
        );
        Ok(tally)
    }
    .await;
    scene.end(server, result).await
}

/// Waits until the process aborts at its failpoint.
async fn aborted(mut umbra: Umbra, point: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(status) = umbra.exited() {
            let log = umbra.log();
            if status.success() || !log.contains("failpoint") {
                bail!("the process ended without reaching {point}: {status:?}\n{log}");
            }
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "the failpoint {point} was never reached — is the binary built with \
                 `--features umbra/failpoints`? (`cargo build --release -p umbra -p umbra-bench \
                 --features umbra/failpoints`)\n{}",
                umbra.log()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The install event killed between delivery and mark, then its welcome DM killed between
/// sending and recording: one request, one DM, one audit row.
async fn outbox_and_notification(
    bin: &Path,
    server: &Server,
    route: &Route,
) -> anyhow::Result<Tally> {
    let scene = Scene::start(
        server,
        route,
        EmulatorConfig {
            time_scale: 100.0,
            ..EmulatorConfig::unlimited()
        },
    )
    .await?;
    let (db, emu) = (&scene.db, &scene.emu);
    let result = async {
        let fixture = emu.build_fixture(&FixtureSpec::small());
        let token = fixture.app.bot_token.clone();
        let welcomes = || {
            emu.dm_messages_to(fixture.owner_id)
                .iter()
                .filter(|m| m.content.contains(WELCOME))
                .count()
        };
        let first = Umbra::start(
            bin,
            db,
            emu,
            &token,
            &[(
                "UMBRA_TEST_FAILPOINT",
                "outbox.delivered.notification".into(),
            )],
        )?;
        aborted(first, "outbox.delivered.notification").await?;
        let second = Umbra::start(
            bin,
            db,
            emu,
            &token,
            &[("UMBRA_TEST_FAILPOINT", "notification.sent".into())],
        )?;
        aborted(second, "notification.sent").await?;
        let third = Umbra::start(bin, db, emu, &token, &[])?;
        until("the welcome is recorded as sent", PATIENCE, || async {
            scalar(
                &db.pool,
                "SELECT count(*) FROM notification.requests WHERE status = 'sent'",
            )
            .await
                >= 1
        })
        .await
        .with_context(|| third.log())?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let requests = scalar(&db.pool, "SELECT count(*) FROM notification.requests").await;
        let installs = scalar(
            &db.pool,
            "SELECT count(*) FROM audit.events WHERE event_type = 'guild.installed'",
        )
        .await;
        let dms = welcomes();
        let mut tally = Tally {
            crash_points: 2,
            ..Tally::default()
        };
        for n in [requests.max(0) as usize, installs.max(0) as usize, dms] {
            tally.lost += usize::from(n == 0);
            tally.duplicated += n.saturating_sub(1);
        }
        eprintln!(
            "chaos: outbox and notification: {requests} requests, {installs} audit rows, {dms} DMs"
        );
        Ok(tally)
    }
    .await;
    scene.end(server, result).await
}

/// A first load of 30,000 members killed once some are written and not all.
async fn first_load_killed(bin: &Path, server: &Server, route: &Route) -> anyhow::Result<Tally> {
    let scene = Scene::start(server, route, EmulatorConfig::unlimited()).await?;
    let (db, emu) = (&scene.db, &scene.emu);
    let result = async {
        let fixture = emu.build_fixture(&FixtureSpec {
            members: 30_000,
            ..FixtureSpec::small()
        });
        let token = fixture.app.bot_token.clone();
        let members = || {
            scalar(
                &db.pool,
                "SELECT count(*) FROM member.members WHERE valid_to IS NULL AND NOT banned",
            )
        };
        let mut first = Umbra::start(bin, db, emu, &token, &[])?;
        let deadline = Instant::now() + PATIENCE;
        while members().await <= 0 {
            if Instant::now() > deadline {
                bail!("no member was written\n{}", first.log());
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        if live_guilds(&db.pool).await != 0 {
            bail!("the load ended before the kill");
        }
        first.kill();
        let written = members().await;
        let second = Umbra::start(bin, db, emu, &token, &[])?;
        connected(emu, fixture.app.application_id, &db.pool, 1, 1)
            .await
            .with_context(|| second.log())?;
        let rows: Vec<(i64, Vec<i64>, Option<String>)> = sqlx::query_as(
            "SELECT discord_user_id, role_ids, nick FROM member.members \
              WHERE valid_to IS NULL AND NOT banned",
        )
        .fetch_all(&db.pool)
        .await?;
        let mut mirror: Vec<(u64, Vec<u64>, Option<String>)> = rows
            .into_iter()
            .map(|(u, r, n)| {
                let mut r: Vec<u64> = r.into_iter().map(|x| x as u64).collect();
                r.sort_unstable();
                (u as u64, r, n)
            })
            .collect();
        mirror.sort();
        let discord: std::collections::BTreeMap<u64, (Vec<u64>, Option<String>)> = emu
            .guild_view(fixture.guild_id)
            .context("the guild")?
            .members
            .into_iter()
            .map(|m| {
                let mut roles = m.roles;
                roles.sort_unstable();
                (m.user_id, (roles, m.nick))
            })
            .collect();
        let mut tally = Tally {
            crash_points: 1,
            ..Tally::default()
        };
        let mut seen = std::collections::BTreeSet::new();
        for (user, roles, nick) in &mirror {
            if !seen.insert(*user) {
                tally.duplicated += 1;
            } else if discord.get(user) != Some(&(roles.clone(), nick.clone())) {
                tally.lost += 1;
            }
        }
        tally.lost += discord.keys().filter(|u| !seen.contains(u)).count();
        eprintln!(
            "chaos: first load killed at {written} of {} members; mirror {} rows",
            discord.len(),
            mirror.len()
        );
        Ok(tally)
    }
    .await;
    scene.end(server, result).await
}

/// Two processes on shard ranges; the second shard's killed and restarted.
async fn two_processes(bin: &Path, server: &Server, route: &Route) -> anyhow::Result<Tally> {
    let scene = Scene::start(server, route, EmulatorConfig::default()).await?;
    let (db, emu) = (&scene.db, &scene.emu);
    let result = async {
        let fixture = emu.build_fixture(&FixtureSpec::small());
        let app = fixture.app.application_id;
        let token = fixture.app.bot_token.clone();
        let owner = fixture.owner_id;
        let shard_of = |guild: u64| (guild >> 22) % 2;
        let on_shard = |shard: u64| {
            [
                ("UMBRA_DISCORD_TOTAL_SHARDS", "2".to_owned()),
                ("UMBRA_DISCORD_SHARD_RANGE", format!("[{shard}, {shard}]")),
                ("UMBRA_DISCORD_GLOBAL_REQUESTS_PER_SECOND", "25".into()),
            ]
        };
        let guild_on = |shard: u64, name: &str| -> anyhow::Result<u64> {
            let guild = loop {
                let g = emu.create_guild(owner, name);
                if shard_of(g) == shard {
                    break g;
                }
            };
            emu.add_bot(guild, app, 8, owner)
                .map_err(|e| anyhow::anyhow!("the bot joins: {e:?}"))?;
            Ok(guild)
        };
        let welcomes = |name: &str| {
            emu.dm_messages_to(owner)
                .iter()
                .filter(|m| m.content.contains(WELCOME) && m.content.contains(name))
                .count()
        };
        let first = fixture.guild_id;
        let other = 1 - shard_of(first);
        let second = guild_on(other, "Second shard's guild")?;
        let fixture_name = emu.guild_view(first).context("the guild")?.settings.name;
        let mut processes = [
            Some(Umbra::start(bin, db, emu, &token, &on_shard(0))?),
            Some(Umbra::start(bin, db, emu, &token, &on_shard(1))?),
        ];
        let logs = |p: &[Option<Umbra>; 2]| {
            p.iter()
                .flatten()
                .map(Umbra::log)
                .collect::<Vec<_>>()
                .join("\n")
        };
        connected(emu, app, &db.pool, 2, 2)
            .await
            .with_context(|| logs(&processes))?;
        let mut tally = Tally::default();
        for (guild, label) in [(first, "one"), (second, "two")] {
            let (text, _) = command(
                emu,
                owner,
                guild,
                "backup create",
                json!({ "label": label }),
            )
            .await?;
            tally.lost += usize::from(!text.contains(label));
        }
        let _ = until("each welcome is sent", PATIENCE, || async {
            welcomes(&fixture_name) >= 1 && welcomes("Second shard's guild") >= 1
        })
        .await;
        let dead = other as usize;
        if let Some(mut p) = processes[dead].take() {
            p.kill();
            tally.crash_points += 1;
        }
        until("one session left", PATIENCE, || async {
            emu.connected_sessions(app) == 1
        })
        .await?;
        let alive = if shard_of(first) == other {
            second
        } else {
            first
        };
        let (text, _) = command(
            emu,
            owner,
            alive,
            "backup create",
            json!({ "label": "still here" }),
        )
        .await?;
        tally.lost += usize::from(!text.contains("still here"));
        let third = guild_on(other, "Third guild")?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        if live_guilds(&db.pool).await != 2 {
            eprintln!("chaos: a process loaded another's shard");
            tally.duplicated += 1;
        }
        processes[dead] = Some(Umbra::start(bin, db, emu, &token, &on_shard(other))?);
        connected(emu, app, &db.pool, 2, 3)
            .await
            .with_context(|| logs(&processes))?;
        let (text, _) = command(
            emu,
            owner,
            third,
            "backup create",
            json!({ "label": "three" }),
        )
        .await?;
        tally.lost += usize::from(!text.contains("three"));
        let _ = until("the third welcome is sent", PATIENCE, || async {
            welcomes("Third guild") >= 1
        })
        .await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        for name in [fixture_name.as_str(), "Second shard's guild", "Third guild"] {
            let n = welcomes(name);
            tally.lost += usize::from(n == 0);
            tally.duplicated += n.saturating_sub(1);
        }
        let snapshots = scalar(&db.pool, "SELECT count(*) FROM recovery.snapshots").await;
        tally.duplicated += (snapshots.max(0) as usize).saturating_sub(4);
        tally.lost += 4usize.saturating_sub(snapshots.max(0) as usize);
        let global = emu
            .counters()
            .by_bucket
            .get("global")
            .map_or(0, |c| c.rate_limited);
        if global > 0 {
            eprintln!("chaos: {global} global 429s with two processes");
            tally.failed += 1;
        }
        eprintln!("chaos: two processes: {snapshots} snapshots, {global} global 429s");
        Ok(tally)
    }
    .await;
    scene.end(server, result).await
}

/// An AntiNuke punishment that landed in Discord before Umbra heard back (SIGKILL meanwhile):
/// after the restart one incident, one punishment (Discord's audit log), one owner DM.
async fn antinuke_punishment(bin: &Path, server: &Server, route: &Route) -> anyhow::Result<Tally> {
    let scene = Scene::start(server, route, EmulatorConfig::unlimited()).await?;
    let (db, emu) = (&scene.db, &scene.emu);
    let result = async {
        let fixture = emu.build_fixture(&FixtureSpec::small());
        let (guild, owner, actor) = (fixture.guild_id, fixture.owner_id, fixture.rogue_admin_id);
        let app = fixture.app.application_id;
        let token = fixture.app.bot_token.clone();
        let settings = [("UMBRA_ANTINUKE_AUTO_REVERT_SETTLE_SECONDS", "3".to_owned())];
        let mut umbra = Umbra::start(bin, db, emu, &token, &settings)?;
        connected(emu, app, &db.pool, 1, 1)
            .await
            .with_context(|| umbra.log())?;
        let (text, _) = command(emu, owner, guild, "antinuke enable", json!({})).await?;
        if !text.contains("**on**") {
            bail!("/antinuke enable answered: {text}");
        }
        snapshot(emu, db, &fixture).await?;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        // The punishment takes effect at once; its answer comes a minute later.
        emu.hold_responses(
            "PATCH",
            "/members/{user_id}",
            Some("Umbra AntiNuke: incident"),
            Duration::from_secs(60),
        );
        let as_actor = emu.as_user(actor);
        for c in fixture.channel_ids.iter().skip(1).take(4) {
            let _ = as_actor.delete_channel(*c);
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        let stripped = || {
            emu.guild_view(guild).is_some_and(|v| {
                v.members
                    .iter()
                    .any(|m| m.user_id == actor && m.roles.is_empty())
            })
        };
        until("the punishment landed in Discord", PATIENCE, || async {
            stripped()
        })
        .await
        .with_context(|| umbra.log())?;
        umbra.kill();
        emu.release_holds();
        let umbra = Umbra::start(bin, db, emu, &token, &settings)?;
        let punishments = || {
            emu.audit_log(guild)
                .iter()
                .filter(|e| e.target_id == Some(actor))
                .filter(|e| {
                    e.reason.as_deref().is_some_and(|r| {
                        umbra::recovery::antinuke::model::parse_punishment_reason(r).is_some()
                    })
                })
                .count()
        };
        let incidents = || async {
            sqlx::query_as::<_, (uuid::Uuid, bool)>(
                "SELECT id, emergency_snapshot_id IS NOT NULL AND response::text LIKE '%\"notified\"%' \
                   FROM recovery.antinuke_incidents WHERE actor_discord_id = $1",
            )
            .bind(actor as i64)
            .fetch_all(&db.pool)
            .await
            .unwrap_or_default()
        };
        let dms = |incident: uuid::Uuid| {
            let wanted = format!("umbra:antinuke:restore:{incident}");
            emu.dm_messages_to(owner)
                .iter()
                .filter(|m| m.custom_ids().contains(&wanted))
                .count()
        };
        until("the incident is recorded, snapshotted and told", PATIENCE, || async {
            incidents()
                .await
                .first()
                .is_some_and(|(id, done)| *done && dms(*id) >= 1)
        })
        .await
        .with_context(|| umbra.log())?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let rows = incidents().await;
        let told = rows.first().map_or(0, |(id, _)| dms(*id));
        let mut tally = Tally {
            crash_points: 1,
            ..Tally::default()
        };
        for n in [rows.len(), punishments(), told] {
            tally.lost += usize::from(n == 0);
            tally.duplicated += n.saturating_sub(1);
        }
        eprintln!(
            "chaos: antinuke: {} incidents, {} punishments, {told} DMs",
            rows.len(),
            punishments()
        );
        Ok(tally)
    }
    .await;
    scene.end(server, result).await
}

/// A renewal Toss charged while Umbra waited for the answer (SIGKILL meanwhile): after the
/// restart it is settled by its order id, never charged again.
async fn toss_renewal(bin: &Path, server: &Server, route: &Route) -> anyhow::Result<Tally> {
    use std::sync::Arc;
    use toss_emulator::{Behaviour, TossConfig, TossEmulator};
    use umbra::billing::toss::TossClient;
    use umbra::billing::{BillingService, BillingSettings, Charged};
    use umbra::config::Secret;
    use umbra::db::crypto::Keyring;

    let scene = Scene::start(server, route, EmulatorConfig::unlimited()).await?;
    let (db, emu) = (&scene.db, &scene.emu);
    let toss = match TossEmulator::start(TossConfig::default()).await {
        Ok(toss) => toss,
        Err(e) => return scene.end(server, Err(e)).await,
    };
    let result = async {
        let fixture = emu.build_fixture(&FixtureSpec::small());
        let (guild, token) = (fixture.guild_id, fixture.app.bot_token.clone());
        let settings = [
            ("DISCORD_CLIENT_SECRET", "chaos-login-secret".to_owned()),
            ("TOSS_SECRET_KEY", toss.secret_key().to_owned()),
            ("UMBRA_BILLING_PROVIDER", "toss".into()),
            (
                "UMBRA_BILLING_TOSS_CLIENT_KEY",
                toss.client_key().to_owned(),
            ),
            ("UMBRA_BILLING_TOSS_API_URL", toss.base_url()),
            ("UMBRA_BILLING_TOSS_SDK_URL", toss.sdk_url()),
            ("UMBRA_BILLING_RENEWAL_POLL_SECONDS", "1".into()),
            ("UMBRA_BILLING_LEASE_SECONDS", "2".into()),
            ("UMBRA_LICENSING_DEFAULT_PLAN", "free".into()),
        ];
        let mut umbra = Umbra::start(bin, db, emu, &token, &settings)?;
        connected(emu, fixture.app.application_id, &db.pool, 1, 1)
            .await
            .with_context(|| umbra.log())?;
        // The owner subscribes (the first charge, made here with the same key and tables).
        let orm = || sea_orm::SqlxPostgresConnector::from_sqlx_postgres_pool(db.pool.clone());
        let guilds = Arc::new(umbra::guild::GuildService::new(
            orm(),
            Arc::new(umbra::identity::IdentityService::new(orm())),
            30,
        ));
        let here = BillingService::new(
            db.pool.clone(),
            Arc::new(
                Keyring::parse(&Secret::new(SECRET_KEY.into()))
                    .map_err(|e| anyhow::anyhow!("key: {e:?}"))?,
            ),
            TossClient::new(
                &toss.base_url(),
                &Secret::new(toss.secret_key().into()),
                Duration::from_secs(2),
            )?,
            Arc::new(umbra::licensing::LicensingService::new(
                orm(),
                guilds.clone(),
                "free",
            )),
            guilds,
            BillingSettings::default(),
        );
        let owner: uuid::Uuid =
            sqlx::query_scalar("SELECT id FROM identity.users WHERE discord_user_id = $1")
                .bind(fixture.owner_id as i64)
                .fetch_one(&db.pool)
                .await
                .context("the owner's account")?;
        let customer = BillingService::new_customer_key();
        let auth = toss.issue_auth_key(&customer.to_string(), "4330123412341234");
        here.register_card(owner, customer, &auth).await?;
        if !matches!(
            here.subscribe(owner, guild, "pro").await?,
            Charged::Paid { .. }
        ) {
            bail!("the first charge was not paid");
        }
        // The renewal comes due; Toss charges it and answers 3 s later: SIGKILL meanwhile.
        let key = toss
            .billing_keys_of(&customer.to_string())
            .pop()
            .context("the billing key")?;
        toss.script(&key, Behaviour::AnswerLate(Duration::from_secs(3)));
        sqlx::query(
            "UPDATE billing.subscriptions SET next_charge_at = now() - interval '1 second'",
        )
        .execute(&db.pool)
        .await?;
        until("Toss charged the renewal", PATIENCE, || async {
            toss.payments().len() == 2
        })
        .await
        .with_context(|| umbra.log())?;
        umbra.kill();
        let renewal = toss
            .payments()
            .get(1)
            .map(|p| p.order_id.clone())
            .context("the renewal")?;
        let umbra = Umbra::start(bin, db, emu, &token, &settings)?;
        let status = || async {
            sqlx::query_scalar::<_, String>(
                "SELECT status FROM billing.payment_attempts WHERE order_id = $1",
            )
            .bind(&renewal)
            .fetch_one(&db.pool)
            .await
            .unwrap_or_default()
        };
        until("the renewal is recorded", PATIENCE, || async {
            status().await == "done"
        })
        .await
        .with_context(|| umbra.log())?;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let charged = toss
            .payments()
            .iter()
            .filter(|p| p.status == "DONE")
            .count();
        let attempts = scalar(&db.pool, "SELECT count(*) FROM billing.payment_attempts").await;
        let mut tally = Tally {
            crash_points: 1,
            ..Tally::default()
        };
        tally.duplicated +=
            charged.saturating_sub(2) + (attempts.max(0) as usize).saturating_sub(2);
        tally.lost += 2usize.saturating_sub(charged);
        eprintln!("chaos: toss: {charged} charges for 2 periods, {attempts} attempts");
        Ok(tally)
    }
    .await;
    toss.shutdown();
    scene.end(server, result).await
}

/// A GET without redirects that keeps the cookies it is given (the browser's part of the
/// re-join link).
struct Browser {
    http: reqwest::Client,
    cookies: std::sync::Mutex<Vec<(String, String)>>,
}

impl Browser {
    fn new() -> anyhow::Result<Self> {
        Ok(Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
            cookies: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// (status, Location, body).
    async fn get(&self, url: &str) -> anyhow::Result<(u16, Option<String>, String)> {
        let cookie = self
            .cookies
            .lock()
            .map(|c| {
                c.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default();
        let response = self
            .http
            .get(url)
            .header("Cookie", cookie)
            .header("Accept-Language", "en-US")
            .send()
            .await?;
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        for c in response.headers().get_all("set-cookie") {
            let Some((k, v)) = c
                .to_str()
                .ok()
                .and_then(|c| c.split(';').next())
                .and_then(|p| p.split_once('='))
            else {
                continue;
            };
            if let Ok(mut jar) = self.cookies.lock() {
                jar.retain(|(name, _)| name != k);
                if !v.is_empty() {
                    jar.push((k.to_owned(), v.to_owned()));
                }
            }
        }
        Ok((status, location, response.text().await.unwrap_or_default()))
    }
}

/// A member pull killed after 10 of its 14 adds reached Discord: after the restart everyone is
/// back, each added once (the emulator's request log is the judge).
async fn member_pull(bin: &Path, server: &Server, route: &Route) -> anyhow::Result<Tally> {
    const ADD: &str = "/guilds/{guild_id}/members/{user_id}";
    // Discord's member bucket (10 per 10 s): the pull is still running at the kill.
    let scene = Scene::start(server, route, EmulatorConfig::default()).await?;
    let (db, emu) = (&scene.db, &scene.emu);
    let result = async {
        let fixture = emu.build_fixture(&FixtureSpec::small());
        let (guild, owner) = (fixture.guild_id, fixture.owner_id);
        let token = fixture.app.bot_token.clone();
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let base = format!("http://127.0.0.1:{port}");
        let settings = [
            ("DISCORD_CLIENT_SECRET", fixture.app.client_secret.clone()),
            ("UMBRA_HTTP_BIND", format!("127.0.0.1:{port}")),
            ("UMBRA_HTTP_PUBLIC_URL", base.clone()),
            ("UMBRA_DISCORD_CLIENT_ID", fixture.app.client_id.to_string()),
            (
                "UMBRA_DISCORD_AUTHORIZE_URL",
                format!("{}/oauth2/authorize", emu.http_base()),
            ),
            ("UMBRA_RESTORE_LEASE_SECONDS", "2".into()),
            ("UMBRA_RESTORE_HEARTBEAT_MS", "300".into()),
            ("UMBRA_RESTORE_POLL_INTERVAL_MS", "100".into()),
            ("UMBRA_LICENSING_DEFAULT_PLAN", "max".into()),
        ];
        let mut umbra = Umbra::start(bin, db, emu, &token, &settings)?;
        connected(emu, fixture.app.application_id, &db.pool, 1, 1)
            .await
            .with_context(|| umbra.log())?;
        let view = emu.guild_view(guild).context("the guild")?;
        let chosen: Vec<_> = view
            .members
            .iter()
            .filter(|m| fixture.member_ids.contains(&m.user_id))
            .take(14)
            .cloned()
            .collect();
        let users: Vec<i64> = chosen.iter().map(|m| m.user_id as i64).collect();
        let mirrored = || async {
            sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM member.members \
                  WHERE valid_to IS NULL AND NOT banned AND discord_user_id = ANY($1)",
            )
            .bind(&users)
            .fetch_one(&db.pool)
            .await
            .unwrap_or(-1)
        };
        until("the mirror has the members", PATIENCE, || async {
            mirrored().await == users.len() as i64
        })
        .await?;
        // Each links through the consent flow (the emulator approves as the member).
        for m in &chosen {
            let browser = Browser::new()?;
            let (status, to_discord, body) =
                browser.get(&format!("{base}/join/{guild}/start")).await?;
            let to_discord = to_discord.with_context(|| format!("start: {status} {body}"))?;
            let (status, back, body) = browser
                .get(&format!("{to_discord}&emulator_user={}", m.user_id))
                .await?;
            let back = back.with_context(|| format!("consent: {status} {body}"))?;
            let (status, _, body) = browser.get(&back).await?;
            if status != 200 || !body.contains("id=\"joined\"") {
                bail!("the link did not complete: {status}");
            }
        }
        snapshot(emu, db, &fixture).await?;
        let as_owner = emu.as_user(owner);
        for m in &chosen {
            as_owner
                .kick(guild, m.user_id)
                .map_err(|e| anyhow::anyhow!("kick: {e:?}"))?;
        }
        until("the mirror sees them gone", PATIENCE, || async {
            mirrored().await == 0
        })
        .await?;
        let (text, message) = command(emu, owner, guild, "members pull", json!({})).await?;
        let message = message.with_context(|| format!("a preview: {text}"))?;
        if !text.contains(&format!("Members to bring back: {}", chosen.len())) {
            bail!("/members pull previewed: {text}");
        }
        confirm(emu, owner, &message).await?;
        let adds = || {
            let mut per_user = std::collections::BTreeMap::<String, usize>::new();
            for r in emu.request_log() {
                if r.method == "PUT" && r.route == ADD && r.status != 429 {
                    *per_user.entry(r.path).or_default() += 1;
                }
            }
            per_user
        };
        until("ten adds went out", PATIENCE, || async {
            adds().values().sum::<usize>() >= 10
        })
        .await
        .with_context(|| umbra.log())?;
        umbra.kill();
        let at_kill = adds().values().sum::<usize>();
        let umbra = Umbra::start(bin, db, emu, &token, &settings)?;
        let status = job_end(&db.pool, PATIENCE)
            .await
            .with_context(|| umbra.log())?;
        let after = emu.guild_view(guild).context("the guild")?;
        let per_user = adds();
        let mut tally = Tally {
            crash_points: 1,
            ..Tally::default()
        };
        tally.lost += usize::from(status != "completed");
        tally.duplicated += per_user
            .values()
            .map(|n| n.saturating_sub(1))
            .sum::<usize>();
        tally.lost += chosen
            .iter()
            .filter(|m| !after.members.iter().any(|x| x.user_id == m.user_id))
            .count();
        eprintln!(
            "chaos: member pull killed after {at_kill} adds: job {status}, {} adds for {} members",
            per_user.values().sum::<usize>(),
            chosen.len()
        );
        Ok(tally)
    }
    .await;
    scene.end(server, result).await
}

/// Forwards connections on a unix socket in `dir` (named for `port`) to `upstream` until
/// aborted (then every connection through it is cut).
fn proxy(dir: &Path, port: u16, upstream: Upstream) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let path = dir.join(format!(".s.PGSQL.{port}"));
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path).context("the proxy's socket")?;
    Ok(tokio::spawn(async move {
        let mut conns = tokio::task::JoinSet::new();
        while let Ok((mut client, _)) = listener.accept().await {
            let upstream = upstream.clone();
            conns.spawn(async move {
                match upstream {
                    Upstream::Unix(p) => {
                        if let Ok(mut server) = UnixStream::connect(p).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    }
                    Upstream::Tcp(a) => {
                        if let Ok(mut server) = tokio::net::TcpStream::connect(a).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    }
                }
            });
        }
    }))
}

#[derive(Clone)]
enum Upstream {
    Unix(PathBuf),
    Tcp(String),
}

/// `/healthz`'s status at `port`.
async fn healthz(port: u16) -> Option<u16> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .ok()?;
    client
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await
        .ok()
        .map(|r| r.status().as_u16())
}

/// PostgreSQL gone for 30 s during a restore while a role is renamed; whether everything held.
async fn outage(bin: &Path, server: &Server) -> anyhow::Result<bool> {
    let mut scene = Scene::start(
        server,
        &Route::Direct,
        EmulatorConfig {
            time_scale: 100.0,
            ..EmulatorConfig::unlimited()
        },
    )
    .await?;
    let sockets = std::env::temp_dir().join(format!("umbra-chaos-sock-{}", uuid::Uuid::now_v7()));
    let upstream = match &server.socket {
        Some(dir) => Upstream::Unix(dir.join(format!(".s.PGSQL.{}", server.port))),
        None => Upstream::Tcp(format!("{}:{}", server.admin.get_host(), server.port)),
    };
    // Umbra reaches the server through the proxy's socket only.
    scene.db.url = with_socket_dir(&scene.db.direct_url, &sockets);
    let (db, emu) = (&scene.db, &scene.emu);
    let result = async {
        std::fs::create_dir_all(&sockets)?;
        let mut forward = proxy(&sockets, server.port, upstream.clone())?;
        let fixture = emu.build_fixture(&FixtureSpec::small());
        let guild = fixture.guild_id;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let umbra = Umbra::start(
            bin,
            db,
            emu,
            &fixture.app.bot_token,
            &[
                ("UMBRA_HTTP_BIND", format!("127.0.0.1:{port}")),
                ("UMBRA_DATABASE_GIVE_UP_SECONDS", "600".into()),
                // Shorter than the outage: the process takes its own job over.
                ("UMBRA_RESTORE_LEASE_SECONDS", "10".into()),
            ],
        )?;
        connected(emu, fixture.app.application_id, &db.pool, 1, 1)
            .await
            .with_context(|| umbra.log())?;
        let mut ok = healthz(port).await == Some(200);
        let snapshot = snapshot(emu, db, &fixture).await?;
        // Four channels deleted (those Discord refuses to delete are left).
        let view = emu.guild_view(guild).context("the guild")?;
        let as_owner = emu.as_user(fixture.owner_id);
        let (mut deleted, mut ids) = (Vec::new(), Vec::new());
        for c in view
            .channels
            .iter()
            .filter(|c| matches!(c.kind, 0 | 2) && c.id != fixture.general_channel_id)
        {
            if deleted.len() == 4 {
                break;
            }
            if as_owner.delete_channel(c.id).is_ok() {
                deleted.push(c.name.clone());
                ids.push(c.id as i64);
            }
        }
        until("the mirror has seen the deletions", PATIENCE, || async {
            sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM recovery.guild_channels \
                  WHERE discord_channel_id = ANY($1) AND valid_to IS NULL",
            )
            .bind(&ids)
            .fetch_one(&db.pool)
            .await
            .is_ok_and(|n| n == 0)
        })
        .await?;
        // Each create answered after 2 s: the restore still runs when the database goes.
        emu.hold_responses(
            "POST",
            "/guilds/{guild_id}/channels",
            Some("umbra:restore"),
            Duration::from_secs(2),
        );
        restore(emu, &fixture, snapshot, "channels").await?;
        until("the job runs", PATIENCE, || async {
            job(&db.pool).await.is_some_and(|(s, _)| s == "running")
        })
        .await?;
        forward.abort();
        let _ = (&mut forward).await;
        let _ = std::fs::remove_file(sockets.join(format!(".s.PGSQL.{}", server.port)));
        let went = Instant::now();
        let role = fixture.role_ids.first().copied().context("a role")?;
        as_owner
            .update_role(guild, role, json!({ "name": "renamed during the outage" }))
            .map_err(|e| anyhow::anyhow!("rename: {e:?}"))?;
        let mut saw_503 = false;
        let mut umbra = umbra;
        while went.elapsed() < Duration::from_secs(30) {
            if umbra.exited().is_some() {
                bail!("Umbra exited during the outage\n{}", umbra.log());
            }
            saw_503 |= healthz(port).await == Some(503);
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        ok &= saw_503;
        let _forward = proxy(&sockets, server.port, upstream)?;
        let status = job_end(&db.pool, PATIENCE).await?;
        ok &= status == "completed";
        let view = emu.guild_view(guild).context("the guild")?;
        let once = deleted
            .iter()
            .all(|n| view.channels.iter().filter(|c| &c.name == n).count() == 1);
        ok &= once;
        let renamed = until("the mirror has the rename", PATIENCE, || async {
            sqlx::query_scalar::<_, String>(
                "SELECT name FROM recovery.guild_roles WHERE discord_role_id = $1 AND valid_to IS NULL",
            )
            .bind(role as i64)
            .fetch_optional(&db.pool)
            .await
            .ok()
            .flatten()
            .is_some_and(|n| n == "renamed during the outage")
        })
        .await
        .is_ok();
        ok &= renamed;
        let healthy = healthz(port).await == Some(200);
        ok &= healthy;
        let cancelled = emu
            .dm_messages_to(fixture.owner_id)
            .iter()
            .any(|m| m.content.to_lowercase().contains("cancelled"));
        ok &= !cancelled && umbra.exited().is_none();
        eprintln!(
            "chaos: database gone 30 s: 503 seen {saw_503}, job {status}, channels once {once}, \
             rename caught up {renamed}, /healthz 200 again {healthy}, cancelled DM {cancelled}"
        );
        if !ok {
            eprintln!("{}", umbra.log());
        }
        Ok(ok)
    }
    .await;
    let _ = std::fs::remove_dir_all(&sockets);
    scene.end(server, result).await
}

/// PgBouncer in transaction mode in front of the server: `UMBRA_BENCH_POOLER_URL`, else one
/// `scripts/pgbouncer` starts (it needs the server's unix socket). None: no pooler possible.
fn pooler(server: &Server) -> anyhow::Result<Option<(String, bool)>> {
    if let Some(url) = std::env::var("UMBRA_BENCH_POOLER_URL")
        .ok()
        .filter(|u| !u.is_empty())
    {
        return Ok(Some((url.trim_end_matches('/').to_owned(), false)));
    }
    let Some(socket) = &server.socket else {
        return Ok(None);
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/pgbouncer");
    let out = Command::new(&script)
        .arg("start")
        .arg(socket)
        .arg("6433")
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    if !out.status.success() {
        bail!("{} start failed", script.display());
    }
    let url = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    Ok(Some((url, true)))
}

fn stop_pooler() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/pgbouncer");
    let _ = Command::new(script).arg("stop").status();
}

/// A crash-point scenario: (binary, server, route) -> what its judges found.
type Scenario = for<'a> fn(
    &'a Path,
    &'a Server,
    &'a Route,
) -> std::pin::Pin<Box<dyn Future<Output = anyhow::Result<Tally>> + 'a>>;

/// Every crash point once through `route`; (tally, two processes held).
async fn crash_points(bin: &Path, server: &Server, route: &Route) -> (Tally, bool) {
    let scenarios: [(&str, Scenario); 6] = [
        ("restore killed at 20/50/80%", |b, s, r| {
            Box::pin(restore_killed_three_times(b, s, r))
        }),
        ("outbox delivery and notification crashes", |b, s, r| {
            Box::pin(outbox_and_notification(b, s, r))
        }),
        ("first load killed mid-batch", |b, s, r| {
            Box::pin(first_load_killed(b, s, r))
        }),
        ("AntiNuke killed after a punishment", |b, s, r| {
            Box::pin(antinuke_punishment(b, s, r))
        }),
        ("member pull killed mid-way", |b, s, r| {
            Box::pin(member_pull(b, s, r))
        }),
        ("Toss renewal killed before its record", |b, s, r| {
            Box::pin(toss_renewal(b, s, r))
        }),
    ];
    let mut tally = Tally::default();
    for (name, scenario) in scenarios {
        tally.add(judged(name, route, scenario(bin, server, route)).await);
    }
    let two = judged(
        "two processes on shard ranges",
        route,
        Box::pin(two_processes(bin, server, route)),
    )
    .await;
    tally.add(two);
    (tally, two.clean())
}

/// The last line, its keys in the order issue 17 gives them.
pub async fn run() -> anyhow::Result<String> {
    let bin = super::scale::binary()?;
    let server = Server::start().await?;
    let result = async {
        let (mut total, two_process) = crash_points(&bin, &server, &Route::Direct).await;
        let recovered = match Box::pin(outage(&bin, &server)).await {
            Ok(ok) => ok,
            Err(e) => {
                eprintln!("chaos: the database outage could not finish: {e:#}");
                false
            }
        };
        let pooler_suite = match pooler(&server) {
            Ok(Some((url, started))) => {
                let (pooled, two) = crash_points(&bin, &server, &Route::Pooled(url)).await;
                if started {
                    stop_pooler();
                }
                total.add(pooled);
                if pooled.clean() && two { "green" } else { "red" }
            }
            Ok(None) => {
                eprintln!(
                    "chaos: the server has no unix socket for PgBouncer and UMBRA_BENCH_POOLER_URL \
                     is not set: the pooled pass is skipped"
                );
                "skipped"
            }
            Err(e) => {
                eprintln!("chaos: no pooler: {e:#}");
                "red"
            }
        };
        Ok::<_, anyhow::Error>(format!(
            "{{\"crash_points\": {}, \"lost\": {}, \"duplicated\": {}, \"db_outage_recovered\": {recovered}, \
             \"pooler_suite\": \"{pooler_suite}\", \"two_process\": \"{}\"}}",
            total.crash_points,
            total.lost,
            total.duplicated,
            if two_process { "green" } else { "red" },
        ))
    }
    .await;
    server.stop().await;
    result
}
