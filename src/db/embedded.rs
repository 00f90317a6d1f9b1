//! Purpose: the embedded PostgreSQL supervisor — with no `database.url`, Umbra initializes,
//! starts and stops a private cluster under `data_dir` (unix socket only, trust auth on a 0700
//! socket directory), running postgres as an unprivileged user when Umbra runs as root.
//!
//! Layout under `data_dir`:
//! - `postgres/`            the cluster (PGDATA), owned by the user postgres runs as
//! - `run/`                 the unix socket directory (or `/tmp/umbra-pg-<hash>` when the path
//!   would exceed the kernel's 107-byte socket path limit)
//! - `postgres.log`         the server's log (appended)
//! - `postgres.init.lock`   serializes start-up between processes sharing the directory
//! - `postgres.owner.lock`  held for its whole life by the process that stops the cluster on exit
//! - `postgres.initializing` marker present only while `initdb` runs (a crash mid-initdb is
//!   detected and the half-made cluster is recreated)
//!
//! A cluster left running by a crashed (kill -9) Umbra is adopted; a stale `postmaster.pid`
//! (its process gone, or its pid reused by an unrelated process) is removed before start.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::{PermissionsExt, chown};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::{Pid, User, geteuid};
use sha2::{Digest, Sha256};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};

/// The superuser `initdb` creates; only reachable through the private socket.
pub const SUPERUSER: &str = "umbra";
/// The port number is only part of the socket file name (`.s.PGSQL.5432`): no TCP listener.
pub const SOCKET_PORT: u16 = 5432;
/// Unprivileged users tried, in order, when Umbra runs as root and `database.embedded.user` is empty.
pub const FALLBACK_USERS: [&str; 3] = ["umbra", "postgres", "nobody"];

/// Why the embedded cluster could not be used. Every message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error(
        "PostgreSQL server binaries (initdb and postgres) were not found in {searched}. Install \
         them (Debian/Ubuntu: `apt-get install -y postgresql`; Alpine: `apk add postgresql`), set \
         `database.embedded.bin_dir` to their directory, or set `database.url` (DATABASE_URL) to \
         use an external PostgreSQL server"
    )]
    BinariesNotFound { searched: String },
    #[error(
        "Umbra runs as root, and postgres refuses to run as root, but none of the users {tried} \
         exists to run it: create one (`useradd --system umbra`) or name an existing one in \
         `database.embedded.user` (UMBRA_DATABASE_EMBEDDED_USER)"
    )]
    NoUnprivilegedUser { tried: String },
    #[error("the user `{0}` named in database.embedded.user does not exist")]
    UnknownUser(String),
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("initdb failed for {pgdata} (exit {status}); its output:\n{output}")]
    Initdb {
        pgdata: PathBuf,
        status: String,
        output: String,
    },
    #[error(
        "the embedded PostgreSQL did not become ready within {seconds} s; last lines of {log}:\n{tail}"
    )]
    StartTimeout {
        seconds: u64,
        log: PathBuf,
        tail: String,
    },
    #[error(
        "the embedded PostgreSQL exited during start-up ({status}); last lines of {log}:\n{tail}"
    )]
    Exited {
        status: String,
        log: PathBuf,
        tail: String,
    },
    #[error(
        "another process is starting the embedded PostgreSQL in {0} and did not finish in time"
    )]
    LockTimeout(PathBuf),
    #[error("creating database `{name}` failed: {source}")]
    CreateDatabase {
        name: String,
        #[source]
        source: sqlx::Error,
    },
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> EmbeddedError {
    let path = path.to_path_buf();
    move |source| EmbeddedError::Io {
        action,
        path,
        source,
    }
}

/// How to find and run the cluster.
#[derive(Debug, Clone)]
pub struct EmbeddedOptions {
    pub data_dir: PathBuf,
    /// User to run postgres as when Umbra runs as root (empty: the first of [`FALLBACK_USERS`]).
    pub user: String,
    /// Directory holding `initdb` and `postgres` (empty: PATH, then /usr/lib/postgresql/*/bin).
    pub bin_dir: Option<PathBuf>,
    /// `max_connections` of the cluster.
    pub max_connections: u32,
    /// How long to wait for the server to accept connections.
    pub start_timeout: Duration,
}

impl EmbeddedOptions {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            user: String::new(),
            bin_dir: None,
            max_connections: 100,
            start_timeout: Duration::from_secs(60),
        }
    }
}

/// The located server binaries.
#[derive(Debug, Clone)]
pub struct PgBinaries {
    pub initdb: PathBuf,
    pub postgres: PathBuf,
}

/// Finds `initdb` and `postgres`: the configured directory, else PATH, else the newest
/// `/usr/lib/postgresql/<version>/bin`.
pub fn find_binaries(bin_dir: Option<&Path>) -> Result<PgBinaries, EmbeddedError> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(dir) = bin_dir {
        candidates.push(dir.to_path_buf());
    } else {
        if let Some(path) = std::env::var_os("PATH") {
            candidates.extend(std::env::split_paths(&path));
        }
        let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let version = e.file_name().to_str()?.parse::<u32>().ok()?;
                Some((version, e.path().join("bin")))
            })
            .collect();
        versions.sort_by_key(|v| std::cmp::Reverse(v.0));
        candidates.extend(versions.into_iter().map(|(_, p)| p));
    }
    for dir in &candidates {
        let initdb = dir.join("initdb");
        let postgres = dir.join("postgres");
        if is_executable(&initdb) && is_executable(&postgres) {
            return Ok(PgBinaries { initdb, postgres });
        }
    }
    let searched = if bin_dir.is_some() {
        format!("database.embedded.bin_dir ({})", candidates[0].display())
    } else {
        "PATH or /usr/lib/postgresql/*/bin".to_owned()
    };
    Err(EmbeddedError::BinariesNotFound { searched })
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// The account postgres runs as (None: the current user, when not root).
#[derive(Debug, Clone)]
struct RunAs {
    name: String,
    uid: u32,
    gid: u32,
}

fn resolve_run_as(configured: &str) -> Result<Option<RunAs>, EmbeddedError> {
    if !geteuid().is_root() {
        return Ok(None);
    }
    let lookup = |name: &str| -> Option<RunAs> {
        User::from_name(name).ok().flatten().map(|u| RunAs {
            name: name.to_owned(),
            uid: u.uid.as_raw(),
            gid: u.gid.as_raw(),
        })
    };
    if !configured.is_empty() {
        return lookup(configured)
            .map(Some)
            .ok_or_else(|| EmbeddedError::UnknownUser(configured.to_owned()));
    }
    FALLBACK_USERS
        .iter()
        .find_map(|name| lookup(name))
        .map(Some)
        .ok_or_else(|| EmbeddedError::NoUnprivilegedUser {
            tried: FALLBACK_USERS.join(", "),
        })
}

/// A running (started or adopted) embedded cluster.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    pgdata: PathBuf,
    socket_dir: PathBuf,
    log_path: PathBuf,
    /// Held while this process is the one that stops the cluster on shutdown.
    owner_lock: Option<File>,
    /// How it was started (to start it again if its postmaster dies).
    options: EmbeddedOptions,
}

/// What starts this process's cluster again if its postmaster dies (an immediate stop, a
/// crash, the OOM killer): cheap to clone, for a watch task.
#[derive(Debug, Clone)]
pub struct Reviver {
    pgdata: PathBuf,
    socket_dir: PathBuf,
    log_path: PathBuf,
    options: EmbeddedOptions,
}

impl Reviver {
    /// When the postmaster is gone, starts PostgreSQL again (it runs its own crash recovery)
    /// and waits until it accepts connections. `Ok(false)`: it was running. An error (say,
    /// orphaned backends still hold the old shared memory) is worth trying again shortly.
    pub async fn revive(&self) -> Result<bool, EmbeddedError> {
        if running_postmaster(&self.pgdata).is_some() {
            return Ok(false);
        }
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let bins = find_binaries(this.options.bin_dir.as_deref())?;
            let run_as = resolve_run_as(&this.options.user)?;
            tracing::warn!(pgdata = %this.pgdata.display(), "the embedded PostgreSQL is gone; starting it again");
            remove_stale_files(&this.pgdata, &this.socket_dir);
            spawn_postgres(
                &bins,
                run_as.as_ref(),
                &this.options,
                &this.pgdata,
                &this.socket_dir,
                &this.log_path,
            )?;
            let pg = EmbeddedPostgres {
                pgdata: this.pgdata.clone(),
                socket_dir: this.socket_dir.clone(),
                log_path: this.log_path.clone(),
                owner_lock: None,
                options: this.options.clone(),
            };
            wait_ready(&pg, this.options.start_timeout)?;
            Ok(true)
        })
        .await
        .map_err(|e| EmbeddedError::Io {
            action: "restarting the embedded PostgreSQL",
            path: PathBuf::new(),
            source: std::io::Error::other(e.to_string()),
        })?
    }
}

impl EmbeddedPostgres {
    /// Initializes (first run), starts or adopts the cluster, and returns once it accepts
    /// connections. The calling process becomes the cluster's owner (it stops it in
    /// [`EmbeddedPostgres::stop`]) unless another live process already owns it.
    pub async fn start(options: &EmbeddedOptions) -> Result<Self, EmbeddedError> {
        let options = options.clone();
        tokio::task::spawn_blocking(move || start_blocking(&options))
            .await
            .map_err(|e| EmbeddedError::Io {
                action: "starting the embedded PostgreSQL",
                path: PathBuf::new(),
                source: std::io::Error::other(e.to_string()),
            })?
    }

    /// Connection options for `database` over the private socket.
    pub fn connect_options(&self, database: &str) -> PgConnectOptions {
        PgConnectOptions::new()
            .socket(&self.socket_dir)
            .port(SOCKET_PORT)
            .username(SUPERUSER)
            .database(database)
            .application_name("umbra")
    }

    /// A `postgres://` URL for `database` (unix socket as the `host` parameter).
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://{SUPERUSER}@localhost:{SOCKET_PORT}/{database}?host={}",
            self.socket_dir.display()
        )
    }

    pub fn pgdata(&self) -> &Path {
        &self.pgdata
    }

    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Whether this process stops the cluster on shutdown.
    pub fn is_owner(&self) -> bool {
        self.owner_lock.is_some()
    }

    /// What starts the cluster again if its postmaster dies (`None`: another process owns it).
    pub fn reviver(&self) -> Option<Reviver> {
        self.is_owner().then(|| Reviver {
            pgdata: self.pgdata.clone(),
            socket_dir: self.socket_dir.clone(),
            log_path: self.log_path.clone(),
            options: self.options.clone(),
        })
    }

    /// Leaves the cluster running after this process ends (used by the test harness, whose
    /// many short processes share one cluster).
    pub fn detach(mut self) {
        self.owner_lock = None;
    }

    /// Creates `name` unless it exists (safe when several processes race).
    pub async fn ensure_database(&self, name: &str) -> Result<(), EmbeddedError> {
        let create = |source| EmbeddedError::CreateDatabase {
            name: name.to_owned(),
            source,
        };
        let mut conn = self
            .connect_options("postgres")
            .connect()
            .await
            .map_err(create)?;
        let exists: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
                .bind(name)
                .fetch_optional(&mut conn)
                .await
                .map_err(create)?;
        if exists.is_none() {
            let sql = format!("CREATE DATABASE \"{}\"", name.replace('"', "\"\""));
            if let Err(e) = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut conn)
                .await
            {
                let duplicate = e
                    .as_database_error()
                    .and_then(|d| d.code())
                    .is_some_and(|c| c == "42P04");
                if !duplicate {
                    return Err(create(e));
                }
            }
        }
        conn.close().await.ok();
        Ok(())
    }

    /// Stops the cluster (fast shutdown: open transactions roll back) if this process owns it,
    /// and waits for it to exit.
    pub async fn stop(self) -> Result<(), EmbeddedError> {
        if self.owner_lock.is_none() {
            return Ok(());
        }
        let pgdata = self.pgdata.clone();
        tokio::task::spawn_blocking(move || stop_blocking(&pgdata))
            .await
            .map_err(|e| EmbeddedError::Io {
                action: "stopping the embedded PostgreSQL",
                path: PathBuf::new(),
                source: std::io::Error::other(e.to_string()),
            })?;
        drop(self.owner_lock);
        Ok(())
    }
}

fn socket_dir_for(data_dir: &Path) -> PathBuf {
    let preferred = data_dir.join("run");
    // sockaddr_un.sun_path holds 108 bytes including the NUL: "/.s.PGSQL.5432" is 14 more.
    if preferred.as_os_str().len() + 14 < 100 {
        return preferred;
    }
    let digest = Sha256::digest(data_dir.as_os_str().as_encoded_bytes());
    PathBuf::from(format!("/tmp/umbra-pg-{}", hex::encode(&digest[..6])))
}

/// Where the cluster lives when Umbra runs as root and the configured directory is not
/// reachable by the unprivileged user (e.g. a checkout under `/root`, mode 0700): a directory
/// derived from the configured one, so every Umbra command finds the same cluster.
fn fallback_data_dir(data_dir: &Path) -> PathBuf {
    let digest = Sha256::digest(data_dir.as_os_str().as_encoded_bytes());
    PathBuf::from(format!(
        "/var/lib/umbra/embedded-{}",
        hex::encode(&digest[..6])
    ))
}

/// Whether `run_as` can traverse to `dir` (every parent searchable). Umbra (root) creates and
/// chowns the cluster's own directories, so traversal is all postgres needs.
fn reachable_by(run_as: &RunAs, dir: &Path) -> bool {
    Command::new("/bin/sh")
        .arg("-c")
        .arg("test -x \"$1\"")
        .arg("sh")
        .arg(dir)
        .uid(run_as.uid)
        .gid(run_as.gid)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn make_dir(path: &Path, run_as: Option<&RunAs>) -> Result<(), EmbeddedError> {
    fs::create_dir_all(path).map_err(io_err("creating", path))?;
    if let Some(user) = run_as {
        chown(path, Some(user.uid), Some(user.gid)).map_err(io_err("changing owner of", path))?;
    }
    fs::set_permissions(path, fs::Permissions::from_mode(0o700))
        .map_err(io_err("setting permissions of", path))?;
    Ok(())
}

fn lock_file(path: &Path) -> Result<File, EmbeddedError> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(io_err("opening", path))
}

fn start_blocking(options: &EmbeddedOptions) -> Result<EmbeddedPostgres, EmbeddedError> {
    let bins = find_binaries(options.bin_dir.as_deref())?;
    let run_as = resolve_run_as(&options.user)?;

    fs::create_dir_all(&options.data_dir).map_err(io_err("creating", &options.data_dir))?;
    let mut base =
        fs::canonicalize(&options.data_dir).map_err(io_err("resolving", &options.data_dir))?;
    if let Some(user) = &run_as
        && !reachable_by(user, &base)
    {
        let fallback = fallback_data_dir(&base);
        tracing::warn!(
            data_dir = %base.display(),
            cluster_dir = %fallback.display(),
            user = %user.name,
            "data_dir is not reachable by the unprivileged user postgres runs as (a parent \
             directory is private); keeping the embedded cluster in the fallback directory \
             instead. Set UMBRA_DATA_DIR to a directory that user can reach to choose the place."
        );
        fs::create_dir_all(&fallback).map_err(io_err("creating", &fallback))?;
        fs::set_permissions(&fallback, fs::Permissions::from_mode(0o755))
            .map_err(io_err("setting permissions of", &fallback))?;
        base = fallback;
    }
    let pgdata = base.join("postgres");
    let socket_dir = socket_dir_for(&base);
    let log_path = base.join("postgres.log");
    let marker = base.join("postgres.initializing");

    // Serialize start-up with other processes sharing the directory.
    let init_lock_path = base.join("postgres.init.lock");
    let init_lock = lock_file(&init_lock_path)?;
    let deadline = Instant::now() + options.start_timeout;
    loop {
        match init_lock.try_lock() {
            Ok(()) => break,
            Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(EmbeddedError::LockTimeout(base));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(io_err("locking", &init_lock_path)(e));
            }
        }
    }

    let owner_lock_path = base.join("postgres.owner.lock");
    let owner_file = lock_file(&owner_lock_path)?;
    let owner_lock = match owner_file.try_lock() {
        Ok(()) => Some(owner_file),
        Err(std::fs::TryLockError::WouldBlock) => None,
        Err(std::fs::TryLockError::Error(e)) => return Err(io_err("locking", &owner_lock_path)(e)),
    };

    if marker.exists() {
        tracing::warn!(pgdata = %pgdata.display(), "a previous initdb did not finish; recreating the cluster");
        if pgdata.exists() {
            fs::remove_dir_all(&pgdata).map_err(io_err("removing", &pgdata))?;
        }
    }
    if !pgdata.join("PG_VERSION").exists() {
        initdb(&bins, run_as.as_ref(), &pgdata, &marker)?;
    }
    make_dir(&socket_dir, run_as.as_ref())?;

    if running_postmaster(&pgdata).is_some() {
        tracing::info!(pgdata = %pgdata.display(), "adopting the running embedded PostgreSQL");
    } else {
        remove_stale_files(&pgdata, &socket_dir);
        spawn_postgres(
            &bins,
            run_as.as_ref(),
            options,
            &pgdata,
            &socket_dir,
            &log_path,
        )?;
    }

    let pg = EmbeddedPostgres {
        pgdata,
        socket_dir,
        log_path,
        owner_lock,
        options: options.clone(),
    };
    wait_ready(&pg, options.start_timeout)?;
    drop(init_lock);
    Ok(pg)
}

fn initdb(
    bins: &PgBinaries,
    run_as: Option<&RunAs>,
    pgdata: &Path,
    marker: &Path,
) -> Result<(), EmbeddedError> {
    File::create(marker).map_err(io_err("creating", marker))?;
    if pgdata.exists() {
        fs::remove_dir_all(pgdata).map_err(io_err("removing", pgdata))?;
    }
    make_dir(pgdata, run_as)?;
    let mut cmd = Command::new(&bins.initdb);
    cmd.arg("-D")
        .arg(pgdata)
        .args([
            "--username",
            SUPERUSER,
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--no-locale",
            "--no-instructions",
        ])
        .stdin(Stdio::null())
        .env_remove("PGDATA");
    if let Some(user) = run_as {
        cmd.uid(user.uid).gid(user.gid).current_dir("/");
    }
    tracing::info!(pgdata = %pgdata.display(), "initializing the embedded PostgreSQL cluster (first run)");
    let out = cmd.output().map_err(io_err("running", &bins.initdb))?;
    if !out.status.success() {
        return Err(EmbeddedError::Initdb {
            pgdata: pgdata.to_path_buf(),
            status: out.status.to_string(),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        });
    }
    fs::remove_file(marker).map_err(io_err("removing", marker))?;
    Ok(())
}

/// The pid of a live postmaster serving `pgdata`, if any. A pid file whose process is gone, or
/// whose pid now belongs to an unrelated process, is stale.
fn running_postmaster(pgdata: &Path) -> Option<i32> {
    let text = fs::read_to_string(pgdata.join("postmaster.pid")).ok()?;
    let pid: i32 = text.lines().next()?.trim().parse().ok()?;
    if pid <= 0 || kill(Pid::from_raw(pid), None).is_err() {
        return None;
    }
    // The postmaster's working directory is its data directory.
    let cwd = fs::read_link(format!("/proc/{pid}/cwd")).ok()?;
    let same = fs::canonicalize(pgdata).ok().is_some_and(|p| p == cwd);
    same.then_some(pid)
}

fn remove_stale_files(pgdata: &Path, socket_dir: &Path) {
    let pid_file = pgdata.join("postmaster.pid");
    if pid_file.exists() {
        tracing::warn!(file = %pid_file.display(), "removing a stale postmaster.pid (PostgreSQL was not shut down cleanly)");
        fs::remove_file(&pid_file).ok();
    }
    for name in [
        format!(".s.PGSQL.{SOCKET_PORT}"),
        format!(".s.PGSQL.{SOCKET_PORT}.lock"),
    ] {
        let path = socket_dir.join(name);
        if path.exists() {
            fs::remove_file(&path).ok();
        }
    }
}

fn spawn_postgres(
    bins: &PgBinaries,
    run_as: Option<&RunAs>,
    options: &EmbeddedOptions,
    pgdata: &Path,
    socket_dir: &Path,
    log_path: &Path,
) -> Result<(), EmbeddedError> {
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path)
        .map_err(io_err("opening", log_path))?;
    if let Some(user) = run_as {
        chown(log_path, Some(user.uid), Some(user.gid))
            .map_err(io_err("changing owner of", log_path))?;
    }
    let log_err = log.try_clone().map_err(io_err("opening", log_path))?;
    let mut cmd = Command::new(&bins.postgres);
    cmd.arg("-D")
        .arg(pgdata)
        .arg("-p")
        .arg(SOCKET_PORT.to_string())
        .arg("-c")
        .arg("listen_addresses=")
        .arg("-c")
        .arg(format!("unix_socket_directories={}", socket_dir.display()))
        .arg("-c")
        .arg("unix_socket_permissions=0700")
        .arg("-c")
        .arg(format!("max_connections={}", options.max_connections))
        .arg("-c")
        .arg("logging_collector=off")
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .env_remove("PGDATA")
        // Its own process group: a Ctrl-C in the terminal reaches Umbra only, which then stops
        // PostgreSQL after its own tasks have finished with the database.
        .process_group(0);
    if let Some(user) = run_as {
        cmd.uid(user.uid).gid(user.gid).current_dir("/");
    }
    let child = cmd.spawn().map_err(io_err("starting", &bins.postgres))?;
    tracing::info!(pid = child.id(), pgdata = %pgdata.display(), "started the embedded PostgreSQL");
    // The postmaster outlives this handle on purpose (it is stopped by pid from postmaster.pid,
    // which also covers a cluster adopted after a crash). Reap it in the background.
    std::thread::spawn(move || {
        let mut child = child;
        let _ = child.wait();
    });
    Ok(())
}

fn log_tail(path: &Path, lines: usize) -> String {
    let mut text = String::new();
    if let Ok(mut f) = File::open(path) {
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        let _ = f.seek(SeekFrom::Start(len.saturating_sub(8192)));
        let _ = f.read_to_string(&mut text);
    }
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn wait_ready(pg: &EmbeddedPostgres, timeout: Duration) -> Result<(), EmbeddedError> {
    let deadline = Instant::now() + timeout;
    // Runs on a `spawn_blocking` thread: `Handle::block_on` is allowed there.
    let runtime = tokio::runtime::Handle::current();
    let options = pg.connect_options("postgres");
    let mut saw_pid = false;
    loop {
        let attempt = runtime.block_on(async {
            tokio::time::timeout(Duration::from_secs(2), options.connect()).await
        });
        if let Ok(Ok(conn)) = attempt {
            runtime.block_on(async { conn.close().await.ok() });
            return Ok(());
        }
        let pid = running_postmaster(&pg.pgdata);
        saw_pid |= pid.is_some();
        if saw_pid && pid.is_none() {
            return Err(EmbeddedError::Exited {
                status: "postmaster is gone".into(),
                log: pg.log_path.clone(),
                tail: log_tail(&pg.log_path, 20),
            });
        }
        if Instant::now() >= deadline {
            return Err(EmbeddedError::StartTimeout {
                seconds: timeout.as_secs(),
                log: pg.log_path.clone(),
                tail: log_tail(&pg.log_path, 20),
            });
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn stop_blocking(pgdata: &Path) {
    let Some(pid) = running_postmaster(pgdata) else {
        return;
    };
    let pid = Pid::from_raw(pid);
    tracing::info!(pid = pid.as_raw(), "stopping the embedded PostgreSQL");
    let _ = kill(pid, Signal::SIGINT);
    let deadline = Instant::now() + Duration::from_secs(30);
    while kill(pid, None).is_ok() {
        if Instant::now() >= deadline {
            tracing::warn!(
                "PostgreSQL did not stop after a fast shutdown request; sending SIGQUIT"
            );
            let _ = kill(pid, Signal::SIGQUIT);
            std::thread::sleep(Duration::from_secs(2));
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_data_dir_keeps_its_socket_inside() {
        assert_eq!(
            socket_dir_for(Path::new("/data")),
            PathBuf::from("/data/run")
        );
    }

    #[test]
    fn a_long_data_dir_moves_the_socket_to_tmp() {
        let long = PathBuf::from(format!("/{}", "x".repeat(120)));
        let dir = socket_dir_for(&long);
        assert!(
            dir.to_string_lossy().starts_with("/tmp/umbra-pg-"),
            "{}",
            dir.display()
        );
        assert_eq!(dir, socket_dir_for(&long), "deterministic");
    }

    #[test]
    fn a_missing_bin_dir_says_what_to_install() {
        let err = find_binaries(Some(Path::new("/nonexistent/bin")))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("apt-get install -y postgresql"), "{err}");
        assert!(err.contains("database.embedded.bin_dir"), "{err}");
    }
}
