//! Purpose: the `umbra` binary as people run it — `migrate up|status|down|fresh` against an
//! external server whose search_path is an empty schema, `migrate up` with no configuration
//! (embedded cluster), `run` without a token, and `config check` with good and bad input.

use std::process::{Command, Output, Stdio};

use super::embedded::data_dir;
use crate::support::db::TestDb;

/// The umbra binary with a clean environment (nothing inherited from the developer's shell).
pub fn umbra(args: &[&str], env: &[(&str, &str)], cwd: &std::path::Path) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_umbra"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn")
        .current_dir(cwd)
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn umbra_tables(db: &TestDb) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT table_schema || '.' || table_name FROM information_schema.tables \
          WHERE table_schema = ANY($1) ORDER BY 1",
    )
    .bind(migration::SCHEMAS.map(String::from).to_vec())
    .fetch_all(&db.pool)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_up_status_down_and_fresh_work_against_an_external_server() {
    let db = TestDb::empty().await;
    let cwd = tempfile::tempdir().unwrap();
    let env = [("DATABASE_URL", db.url.as_str())];

    let up = umbra(&["migrate", "up"], &env, cwd.path());
    assert!(up.status.success(), "{}", text(&up.stderr));
    assert!(text(&up.stdout).contains("applied"));
    assert_eq!(umbra_tables(&db).await.len(), 23);

    let again = umbra(&["migrate", "up"], &env, cwd.path());
    assert!(
        text(&again.stdout).contains("up to date"),
        "{}",
        text(&again.stdout)
    );

    let status = umbra(&["migrate", "status"], &env, cwd.path());
    let listed = text(&status.stdout);
    assert!(status.status.success());
    assert!(!listed.contains("pending"), "{listed}");
    assert_eq!(listed.lines().count(), migration::migrations().len());

    let down = umbra(&["migrate", "down", "--all"], &env, cwd.path());
    assert!(down.status.success(), "{}", text(&down.stderr));
    assert!(umbra_tables(&db).await.is_empty());

    let refused = umbra(&["migrate", "fresh"], &env, cwd.path());
    assert!(!refused.status.success());
    assert!(text(&refused.stderr).contains("--yes"));
    assert!(
        umbra_tables(&db).await.is_empty(),
        "nothing happened without --yes"
    );

    let fresh = umbra(&["migrate", "fresh", "--yes"], &env, cwd.path());
    assert!(fresh.status.success(), "{}", text(&fresh.stderr));
    assert_eq!(umbra_tables(&db).await.len(), 23);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_up_with_no_configuration_creates_the_embedded_cluster_and_all_tables() {
    let dir = data_dir();
    let out = umbra(&["migrate", "up"], &[], dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        dir.path().join("data/postgres/PG_VERSION").exists(),
        "default data_dir is ./data"
    );
    // The cluster was stopped on exit: a second run starts it again and finds everything applied.
    let pid_file = dir.path().join("data/postgres/postmaster.pid");
    assert!(
        !pid_file.exists(),
        "the embedded PostgreSQL was stopped on exit"
    );
    let status = umbra(&["migrate", "status"], &[], dir.path());
    let listed = text(&status.stdout);
    assert!(status.status.success(), "{}", text(&status.stderr));
    assert_eq!(
        listed.matches("applied").count(),
        migration::migrations().len(),
        "{listed}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_postgresql_binaries_make_the_cli_say_what_to_install() {
    let dir = data_dir();
    let out = umbra(
        &["migrate", "up"],
        &[("UMBRA_DATABASE_EMBEDDED_BIN_DIR", "/nonexistent/bin")],
        dir.path(),
    );
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("apt-get install -y postgresql"), "{err}");
}

#[test]
fn run_without_a_token_exits_non_zero_and_says_what_to_set() {
    let dir = data_dir();
    let out = umbra(&["run"], &[], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("DISCORD_TOKEN is not set"), "{err}");
    assert!(!dir.path().join("data").exists(), "nothing was started");
    let default = umbra(&[], &[], dir.path());
    assert_eq!(default.status.code(), Some(1), "run is the default command");
}

#[test]
fn config_check_prints_the_effective_config_with_secrets_redacted() {
    let dir = data_dir();
    let out = umbra(
        &["config", "check"],
        &[
            (
                "DATABASE_URL",
                "postgres://umbra:hunter2@db.example:5432/umbra",
            ),
            ("DISCORD_TOKEN", "token-value-123"),
            ("UMBRA_OUTBOX_BATCH_SIZE", "25"),
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    assert!(
        printed.contains("postgres://umbra:***@db.example:5432/umbra"),
        "{printed}"
    );
    assert!(!printed.contains("hunter2"));
    assert!(!printed.contains("token-value-123"));
    assert!(printed.contains("DISCORD_TOKEN: set"));
    assert!(printed.contains("batch_size = 25"), "env overrides apply");
}

#[test]
fn bad_configuration_is_refused_with_the_key_and_the_fix() {
    let dir = data_dir();
    let file = dir.path().join("config.toml");

    std::fs::write(&file, "[database]\nurll = \"x\"\n").unwrap();
    let out = umbra(&["config", "check"], &[], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("database.urll"), "{err}");

    std::fs::write(&file, "[discord]\ntoken = \"abc\"\n").unwrap();
    let out = umbra(&["config", "check"], &[], dir.path());
    let err = text(&out.stderr);
    assert!(
        err.contains("DISCORD_TOKEN") && err.contains("environment"),
        "{err}"
    );
    assert!(!err.contains("abc"), "the secret is not echoed");

    std::fs::remove_file(&file).unwrap();
    let out = umbra(
        &["config", "check"],
        &[("UMBRA_OUTBOX_BATCH_SIZE", "0")],
        dir.path(),
    );
    let err = text(&out.stderr);
    assert!(err.contains("outbox.batch_size"), "{err}");

    let out = umbra(
        &["config", "check"],
        &[("UMBRA_DATABSE_URL", "x")],
        dir.path(),
    );
    let err = text(&out.stderr);
    assert!(
        err.contains("UMBRA_DATABSE_URL"),
        "typos in variable names are caught: {err}"
    );

    let out = umbra(
        &["config", "check"],
        &[("UMBRA_OUTBOX_BATCH_SIZE", "many")],
        dir.path(),
    );
    let err = text(&out.stderr);
    assert!(err.contains("outbox.batch_size"), "{err}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn postmaster_pid(data: &std::path::Path) -> Option<i32> {
    let text = std::fs::read_to_string(data.join("postgres/postmaster.pid")).ok()?;
    text.lines().next()?.trim().parse().ok()
}

async fn wait_healthy(port: u16, child: &mut std::process::Child) {
    let url = format!("http://127.0.0.1:{port}/healthz");
    for _ in 0..600 {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("umbra exited early with {status}");
        }
        if let Ok(r) = reqwest::get(&url).await
            && r.status() == 200
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("umbra did not become healthy");
}

/// `umbra run` as a child process with the embedded database under `dir/data`, connected to
/// the emulator.
fn spawn_run(
    dir: &std::path::Path,
    port: u16,
    emu: &discord_emulator::Emulator,
    token: &str,
) -> std::process::Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_umbra"));
    cmd.arg("run")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn")
        .env("DISCORD_TOKEN", token)
        .env("UMBRA_DISCORD_API_ADDRESS", emu.tls_addr().to_string())
        .env("UMBRA_DISCORD_CA_CERT", emu.ca_cert_path())
        .env("UMBRA_HTTP_BIND", format!("127.0.0.1:{port}"))
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd.spawn().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn umbra_killed_with_sigkill_restarts_on_its_embedded_cluster_and_stops_it_on_sigterm() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;

    let dir = data_dir();
    let emu = discord_emulator::Emulator::start(discord_emulator::EmulatorConfig::unlimited())
        .await
        .unwrap();
    let fixture = emu.build_fixture(&discord_emulator::FixtureSpec::small());
    let token = fixture.app.bot_token.clone();
    let port = free_port();
    let mut first = spawn_run(dir.path(), port, &emu, &token);
    wait_healthy(port, &mut first).await;
    let data = dir.path().join("data");
    let pg = postmaster_pid(&data).expect("the embedded cluster runs");

    first.kill().unwrap(); // SIGKILL: no clean-up at all
    first.wait().unwrap();
    assert!(
        kill(Pid::from_raw(pg), None).is_ok(),
        "the orphaned postmaster is still up"
    );

    let port = free_port();
    let mut second = spawn_run(dir.path(), port, &emu, &token);
    wait_healthy(port, &mut second).await;
    assert_eq!(
        postmaster_pid(&data),
        Some(pg),
        "the running cluster is adopted, not duplicated"
    );

    kill(Pid::from_raw(second.id() as i32), Signal::SIGTERM).unwrap();
    let status = second.wait().unwrap();
    assert!(status.success(), "a clean shutdown exits 0, got {status}");
    assert!(
        postmaster_pid(&data).is_none(),
        "the embedded PostgreSQL was stopped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_postgresql_killed_under_a_running_umbra_is_started_again() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;

    let dir = data_dir();
    let emu = discord_emulator::Emulator::start(discord_emulator::EmulatorConfig::unlimited())
        .await
        .unwrap();
    let fixture = emu.build_fixture(&discord_emulator::FixtureSpec::small());
    let port = free_port();
    let mut umbra = spawn_run(dir.path(), port, &emu, &fixture.app.bot_token);
    wait_healthy(port, &mut umbra).await;
    let data = dir.path().join("data");
    let pg = postmaster_pid(&data).expect("the embedded cluster runs");

    // The postmaster dies under Umbra (an immediate stop, the OOM killer).
    kill(Pid::from_raw(pg), Signal::SIGKILL).unwrap();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        assert!(
            umbra.try_wait().unwrap().is_none(),
            "Umbra stays up while its database is restarted"
        );
        let alive = postmaster_pid(&data)
            .filter(|p| *p != pg)
            .is_some_and(|p| kill(Pid::from_raw(p), None).is_ok());
        if alive {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the embedded PostgreSQL was not started again"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    wait_healthy(port, &mut umbra).await;

    kill(Pid::from_raw(umbra.id() as i32), Signal::SIGTERM).unwrap();
    let status = umbra.wait().unwrap();
    assert!(status.success(), "a clean shutdown exits 0, got {status}");
    assert!(
        postmaster_pid(&data).is_none(),
        "the restarted PostgreSQL is stopped with Umbra"
    );
}
