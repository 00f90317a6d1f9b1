//! Purpose: the embedded PostgreSQL supervisor on real binaries — first start (initdb), clean
//! stop and restart with the data kept, recovery after the postmaster is killed (-9), adoption
//! of a cluster left running by a dead owner, a stale pid file whose pid belongs to another
//! process, and a clear refusal when the binaries are missing.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use sqlx::{ConnectOptions, Connection};
use umbra::db::embedded::{EmbeddedOptions, EmbeddedPostgres};

/// A temporary data directory the unprivileged postgres user can reach.
pub fn data_dir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("umbra-embedded-")
        .tempdir_in("/tmp")
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn postmaster_pid(pgdata: &Path) -> Option<i32> {
    let text = std::fs::read_to_string(pgdata.join("postmaster.pid")).ok()?;
    text.lines().next()?.trim().parse().ok()
}

fn alive(pid: i32) -> bool {
    // A zombie still "exists" for kill(0); look at its state too.
    kill(Pid::from_raw(pid), None).is_ok()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| s.split_whitespace().nth(2) == Some("Z"))
            .unwrap_or(true)
}

async fn wait_dead(pid: i32) {
    for _ in 0..200 {
        if !alive(pid) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("process {pid} is still alive");
}

async fn write_and_read(pg: &EmbeddedPostgres, value: Option<&str>) -> Vec<String> {
    pg.ensure_database("umbra").await.unwrap();
    let mut conn = pg.connect_options("umbra").connect().await.unwrap();
    sqlx::raw_sql("CREATE TABLE IF NOT EXISTS public.t (v text)")
        .execute(&mut conn)
        .await
        .unwrap();
    if let Some(v) = value {
        sqlx::query("INSERT INTO public.t (v) VALUES ($1)")
            .bind(v)
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let rows: Vec<String> = sqlx::query_scalar("SELECT v FROM public.t ORDER BY v")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    conn.close().await.ok();
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_cluster_initializes_stops_and_starts_again_with_its_data() {
    let dir = data_dir();
    let options = EmbeddedOptions::new(dir.path());
    let pg = EmbeddedPostgres::start(&options).await.unwrap();
    assert!(pg.is_owner());
    assert!(pg.pgdata().join("PG_VERSION").exists(), "initdb ran");
    assert_eq!(write_and_read(&pg, Some("first")).await, ["first"]);
    let pid = postmaster_pid(pg.pgdata()).unwrap();
    let pgdata = pg.pgdata().to_path_buf();
    pg.stop().await.unwrap();
    wait_dead(pid).await;
    assert!(
        !pgdata.join("postmaster.pid").exists(),
        "clean shutdown removes the pid file"
    );

    let pg = EmbeddedPostgres::start(&options).await.unwrap();
    assert_eq!(
        write_and_read(&pg, None).await,
        ["first"],
        "data survives a restart"
    );
    let settings: String = {
        let mut conn = pg.connect_options("umbra").connect().await.unwrap();
        sqlx::query_scalar("SELECT current_setting('listen_addresses')")
            .fetch_one(&mut conn)
            .await
            .unwrap()
    };
    assert_eq!(settings, "", "unix socket only: no TCP listener");
    pg.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_cluster_starts_again_after_its_postmaster_is_killed() {
    let dir = data_dir();
    let options = EmbeddedOptions::new(dir.path());
    let pg = EmbeddedPostgres::start(&options).await.unwrap();
    write_and_read(&pg, Some("committed")).await;
    let pid = postmaster_pid(pg.pgdata()).unwrap();
    kill(Pid::from_raw(pid), Signal::SIGKILL).unwrap();
    wait_dead(pid).await;
    assert!(
        pg.pgdata().join("postmaster.pid").exists(),
        "a crash leaves the pid file"
    );
    // The crashed postmaster's children may linger briefly; they exit on their own.
    tokio::time::sleep(Duration::from_millis(500)).await;
    pg.detach();

    let pg = EmbeddedPostgres::start(&options).await.unwrap();
    assert_ne!(postmaster_pid(pg.pgdata()), Some(pid));
    assert_eq!(
        write_and_read(&pg, None).await,
        ["committed"],
        "crash recovery keeps committed data"
    );
    pg.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_left_running_by_a_dead_owner_is_adopted_and_stopped_by_the_next_one() {
    let dir = data_dir();
    let options = EmbeddedOptions::new(dir.path());
    let pg = EmbeddedPostgres::start(&options).await.unwrap();
    let pid = postmaster_pid(pg.pgdata()).unwrap();
    // The owner dies without stopping the cluster (its lock is released with it).
    pg.detach();
    assert!(alive(pid));

    let pg = EmbeddedPostgres::start(&options).await.unwrap();
    assert!(pg.is_owner(), "the dead owner's lock is free");
    assert_eq!(
        postmaster_pid(pg.pgdata()),
        Some(pid),
        "the running cluster is adopted"
    );
    write_and_read(&pg, Some("x")).await;
    pg.stop().await.unwrap();
    wait_dead(pid).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_process_shares_a_running_cluster_without_stopping_it() {
    let dir = data_dir();
    let options = EmbeddedOptions::new(dir.path());
    let owner = EmbeddedPostgres::start(&options).await.unwrap();
    let pid = postmaster_pid(owner.pgdata()).unwrap();
    let guest = EmbeddedPostgres::start(&options).await.unwrap();
    assert!(!guest.is_owner());
    guest.stop().await.unwrap();
    assert!(alive(pid), "a guest does not stop the owner's cluster");
    write_and_read(&owner, Some("still up")).await;
    owner.stop().await.unwrap();
    wait_dead(pid).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_pid_file_naming_an_unrelated_live_process_is_ignored() {
    let dir = data_dir();
    let options = EmbeddedOptions::new(dir.path());
    let pg = EmbeddedPostgres::start(&options).await.unwrap();
    let pgdata = pg.pgdata().to_path_buf();
    pg.stop().await.unwrap();
    // Pretend a crash left a pid file whose pid now belongs to another process (pid 1).
    std::fs::write(pgdata.join("postmaster.pid"), "1\n/somewhere\n").unwrap();
    let pg = EmbeddedPostgres::start(&options).await.unwrap();
    assert_ne!(postmaster_pid(pg.pgdata()), Some(1));
    write_and_read(&pg, Some("ok")).await;
    pg.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_binaries_are_refused_with_what_to_install() {
    let dir = data_dir();
    let mut options = EmbeddedOptions::new(dir.path());
    options.bin_dir = Some("/nonexistent/postgresql/bin".into());
    let err = EmbeddedPostgres::start(&options)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("apt-get install -y postgresql"), "{err}");
    assert!(err.contains("database.url"), "{err}");
    assert!(!dir.path().join("postgres").exists(), "nothing was created");
}
