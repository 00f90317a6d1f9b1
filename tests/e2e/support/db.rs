//! Purpose: a fresh PostgreSQL database per test, on a real server.
//!
//! The server: `UMBRA_TEST_DATABASE_URL` (a superuser URL; `.ci/run` sets it), else
//! `DATABASE_URL`, else a shared cluster that Umbra's own embedded supervisor starts once under
//! `/tmp/umbra-test-cluster` and leaves running for the next test processes. PostgreSQL missing
//! is a loud failure, never a skipped test.
//!
//! Every test database gets `search_path = umbra_empty` (an empty schema), so every test also
//! proves that Umbra's SQL is schema-qualified.

use std::str::FromStr;
use std::time::Duration;

use sea_orm::{DatabaseConnection, SqlxPostgresConnector};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};
use tokio::sync::OnceCell;
use umbra::db::embedded::{EmbeddedOptions, EmbeddedPostgres};

/// Where the shared test cluster lives when no URL is given.
pub const SHARED_CLUSTER_DIR: &str = "/tmp/umbra-test-cluster";

static ADMIN: OnceCell<PgConnectOptions> = OnceCell::const_new();

/// Connection options of a superuser on the test server (database `postgres`).
pub async fn admin_options() -> PgConnectOptions {
    ADMIN
        .get_or_init(|| async {
            let url = std::env::var("UMBRA_TEST_DATABASE_URL")
                .or_else(|_| std::env::var("DATABASE_URL"))
                .ok()
                .filter(|u| !u.is_empty());
            match url {
                Some(url) => PgConnectOptions::from_str(&url).unwrap_or_else(|e| {
                    panic!("UMBRA_TEST_DATABASE_URL/DATABASE_URL is not a PostgreSQL URL: {e}")
                }),
                None => shared_cluster().await,
            }
        })
        .await
        .clone()
}

async fn shared_cluster() -> PgConnectOptions {
    std::fs::create_dir_all(SHARED_CLUSTER_DIR)
        .expect("creating the shared test cluster directory");
    // Reachable by the unprivileged user postgres runs as when the tests run as root.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(SHARED_CLUSTER_DIR, std::fs::Permissions::from_mode(0o755))
        .expect("opening the shared test cluster directory");
    let mut options = EmbeddedOptions::new(SHARED_CLUSTER_DIR);
    options.max_connections = 300;
    let pg = EmbeddedPostgres::start(&options).await.unwrap_or_else(|e| {
        panic!(
            "PostgreSQL is required for these tests and could not be started: {e}\n\
             Set UMBRA_TEST_DATABASE_URL to a superuser URL, or install PostgreSQL server binaries."
        )
    });
    let admin = pg.connect_options("postgres");
    // Shared by many short test processes: leave it running.
    pg.detach();
    admin
}

/// A small pool of a superuser on the test server's `postgres` database (outage simulations).
pub async fn admin_pool() -> PgPool {
    PgPoolOptions::new()
        .max_connections(1)
        .connect_with(admin_options().await)
        .await
        .expect("connecting to the test server as its superuser")
}

/// A database created for one test and dropped when the value is dropped.
pub struct TestDb {
    pub name: String,
    /// A URL for Umbra's `database.url`: the server's (unix sockets as the `host` parameter), or
    /// the pooler's when `UMBRA_TEST_POOLER_URL` is set (`scripts/test`'s second pass: PgBouncer
    /// in transaction mode).
    pub url: String,
    /// The server's own URL (Umbra's `database.direct_url` behind a pooler: migrations, LISTEN).
    pub direct_url: String,
    /// Whether `url` goes through the pooler.
    pub pooled: bool,
    pub options: PgConnectOptions,
    pub db: DatabaseConnection,
    pub pool: PgPool,
}

impl TestDb {
    /// A fresh, empty database (only the empty `umbra_empty` schema that `search_path` names).
    pub async fn empty() -> Self {
        let admin = admin_options().await;
        let name = format!("umbra_t_{}", uuid::Uuid::now_v7().simple());
        let mut conn = admin
            .connect()
            .await
            .unwrap_or_else(|e| panic!("connecting to the test PostgreSQL server failed: {e}"));
        for sql in [
            format!("CREATE DATABASE {name}"),
            format!("ALTER DATABASE {name} SET search_path = umbra_empty"),
        ] {
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut conn)
                .await
                .expect("creating the test database");
        }
        conn.close().await.ok();
        let options = admin.clone().database(&name);
        let pool = PgPoolOptions::new()
            .max_connections(5)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone())
            .await
            .expect("connecting to the test database");
        sqlx::raw_sql("CREATE SCHEMA umbra_empty")
            .execute(&pool)
            .await
            .expect("creating the empty schema");
        let direct_url = options.to_url_lossy().to_string();
        let pooler = std::env::var("UMBRA_TEST_POOLER_URL")
            .ok()
            .filter(|u| !u.is_empty());
        let url = match &pooler {
            Some(base) => format!("{}/{name}", base.trim_end_matches('/')),
            None => direct_url.clone(),
        };
        let db = SqlxPostgresConnector::from_sqlx_postgres_pool(pool.clone());
        Self {
            name,
            url,
            direct_url,
            pooled: pooler.is_some(),
            options,
            db,
            pool,
        }
    }

    /// A fresh database with every migration applied.
    pub async fn migrated() -> Self {
        let test_db = Self::empty().await;
        migration::up(&test_db.db)
            .await
            .expect("applying the migrations to a fresh database");
        test_db
    }

    /// A second, independent pool on the same database.
    pub async fn new_pool(&self, max_connections: u32) -> PgPool {
        PgPoolOptions::new()
            .max_connections(max_connections)
            .connect_with(self.options.clone())
            .await
            .expect("connecting to the test database")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        let admin = ADMIN.get().cloned();
        // Drop runs inside the test's runtime: do the async clean-up on a thread of its own.
        let cleanup = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                // WITH (FORCE) ends the test's own connections too.
                if let Some(admin) = admin
                    && let Ok(mut conn) = admin.connect().await
                {
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut conn)
                    .await;
                }
            });
        });
        let _ = cleanup.join();
    }
}
