//! Purpose: the real `umbra` binary in tests — started in a directory of its own against a
//! world's database and Discord emulator (the fixture's bot token, [`SECRET_KEY`]), with each
//! test's own settings on top (later ones win), its output in a log file there; and waiting
//! with that log in the failure message.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::world::{PATIENCE, TestWorld};

/// `UMBRA_SECRET_KEY` of the binaries tests start (the in-process worlds use the same).
pub const SECRET_KEY: &str = "dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktMzJieXQ=";

/// Starts `umbra run` in `dir`, writing its output to `dir/log`.
pub fn spawn(world: &TestWorld, dir: &Path, log: &str, settings: &[(&str, String)]) -> Child {
    let out = std::fs::File::create(dir.join(log)).expect("the binary's log file");
    let err = out.try_clone().expect("the binary's log file");
    let mut command = Command::new(env!("CARGO_BIN_EXE_umbra"));
    command
        .arg("run")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn,umbra=info")
        .env("DATABASE_URL", &world.db.url)
        .env(
            "UMBRA_DATABASE_DIRECT_URL",
            if world.db.pooled {
                world.db.direct_url.as_str()
            } else {
                ""
            },
        )
        .env("DISCORD_TOKEN", &world.fixture.app.bot_token)
        .env("UMBRA_SECRET_KEY", SECRET_KEY)
        .env("UMBRA_DATA_DIR", dir)
        .env("UMBRA_HTTP_BIND", "127.0.0.1:0")
        .env(
            "UMBRA_DISCORD_API_ADDRESS",
            world.emu.tls_addr().to_string(),
        )
        .env(
            "UMBRA_DISCORD_CA_CERT",
            world.emu.ca_cert_path().display().to_string(),
        );
    for (k, v) in settings {
        command.env(k, v);
    }
    command
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("starting the umbra binary")
}

/// Waits until `check` holds (twice the usual patience); on timeout, fails with `what` and the
/// binary's log (`dir/umbra.log`).
pub async fn eventually<F, Fut>(what: &str, mut check: F, dir: &Path)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE * 2;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}:\n{}",
            std::fs::read_to_string(dir.join("umbra.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// How many guilds are live in the mirror (read from the database: the binary's own state).
pub async fn live_guilds(world: &TestWorld) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM recovery.guild_settings WHERE valid_to IS NULL AND sync_state = 'live'",
    )
    .fetch_one(&world.db.pool)
    .await
    .unwrap_or(0)
}

/// A running `umbra run` in a directory of its own; SIGKILLed when dropped.
pub struct Process {
    child: Option<Child>,
    log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Process {
    /// Starts the binary with `settings` (the world's database and emulator, quick queues).
    pub fn start(world: &TestWorld, settings: &[(&str, String)]) -> Self {
        let dir = tempfile::tempdir().expect("a directory for the binary");
        let log = dir.path().join("umbra.log");
        let mut all: Vec<(&str, String)> = vec![
            ("UMBRA_OUTBOX_POLL_INTERVAL_MS", "50".into()),
            ("UMBRA_NOTIFICATION_POLL_INTERVAL_MS", "100".into()),
            ("UMBRA_NOTIFICATION_LEASE_SECONDS", "2".into()),
        ];
        all.extend(settings.iter().cloned());
        let child = spawn(world, dir.path(), "umbra.log", &all);
        Self {
            child: Some(child),
            log,
            _dir: dir,
        }
    }

    /// Starts the binary and waits until it is connected and the fixture guild is live.
    pub async fn start_live(world: &TestWorld, settings: &[(&str, String)]) -> Self {
        let umbra = Self::start(world, settings);
        let app = world.fixture.app.application_id;
        // A killed process's session is gone; the new one connects.
        let deadline = tokio::time::Instant::now() + PATIENCE * 2;
        while world.emu.connected_sessions(app) != 1 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "umbra did not connect:\n{}",
                umbra.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        world
            .eventually("the guild is live in the mirror", || async {
                live_guilds(world).await == 1
            })
            .await;
        umbra
    }

    /// SIGKILL: no clean-up of any kind.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL");
            let _ = child.wait();
        }
    }

    /// Whether it exited on its own (and how).
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}
