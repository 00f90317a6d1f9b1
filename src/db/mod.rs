//! Purpose: the database connection — the pooled connection every domain uses, the optional
//! direct connection (LISTEN wake-ups, migrations), and the embedded cluster when no URL is set.
//!
//! Runtime code must work behind a transaction-mode pooler (Neon, Supabase, PgBouncer): no
//! session advisory locks, no session `SET`, no SQL `PREPARE`; every statement names
//! `schema.table`.

pub mod crypto;
pub mod embedded;
mod tx;

pub use tx::{Tx, TxConn, query_err};

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context as _;
use sea_orm::{DatabaseConnection, SqlxPostgresConnector};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use crate::config::{Config, redact_url};
use embedded::{EmbeddedOptions, EmbeddedPostgres};

/// A connected database.
#[derive(Debug)]
pub struct Database {
    /// SeaORM over the pool: what domains' persistence adapters use.
    pub conn: DatabaseConnection,
    /// The same pool, for raw sqlx where it matters (COPY, bulk UNNEST).
    pub pool: PgPool,
    /// Options for session-level work (LISTEN, migrations); `None` when only a pooled URL is
    /// configured, in which case workers rely on polling alone.
    pub direct: Option<PgConnectOptions>,
    embedded: Option<EmbeddedPostgres>,
}

fn pool_options(config: &Config) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(config.database.max_connections)
        .min_connections(config.database.min_connections)
        .acquire_timeout(Duration::from_secs(config.database.acquire_timeout_seconds))
}

fn parse_url(url: &str, key: &str) -> anyhow::Result<PgConnectOptions> {
    PgConnectOptions::from_str(url)
        .with_context(|| format!("`{key}` is not a valid PostgreSQL URL: {}", redact_url(url)))
}

impl Database {
    /// Connects to `database.url`, or starts the embedded cluster when it is empty.
    pub async fn connect(config: &Config) -> anyhow::Result<Self> {
        let cache = config.database.statement_cache_capacity;
        let (pooled, direct, embedded) = if config.database.url.is_empty() {
            let mut options = EmbeddedOptions::new(&config.data_dir);
            options.user = config.database.embedded.user.clone();
            if !config.database.embedded.bin_dir.is_empty() {
                options.bin_dir = Some(config.database.embedded.bin_dir.clone().into());
            }
            options.max_connections = config.database.embedded.max_connections;
            let pg = EmbeddedPostgres::start(&options)
                .await
                .context("starting the embedded PostgreSQL (database.url is empty)")?;
            let name = &config.database.embedded.database;
            pg.ensure_database(name).await?;
            let opts = pg.connect_options(name);
            (opts.clone(), Some(opts), Some(pg))
        } else {
            let pooled = parse_url(&config.database.url, "database.url")?;
            let direct = if config.database.direct_url.is_empty() {
                None
            } else {
                Some(parse_url(
                    &config.database.direct_url,
                    "database.direct_url",
                )?)
            };
            (pooled, direct, None)
        };
        let pooled = pooled
            .statement_cache_capacity(cache)
            .application_name("umbra");
        let pool = pool_options(config)
            .connect_with(pooled)
            .await
            .with_context(|| match &embedded {
                Some(pg) => format!(
                    "connecting to the embedded PostgreSQL at {}",
                    pg.socket_dir().display()
                ),
                None => format!(
                    "connecting to database.url {}",
                    redact_url(&config.database.url)
                ),
            })?;
        let conn = SqlxPostgresConnector::from_sqlx_postgres_pool(pool.clone());
        Ok(Self {
            conn,
            pool,
            direct,
            embedded,
        })
    }

    /// Applies pending migrations over the direct connection when there is one (poolers in
    /// transaction mode don't keep DDL sessions), else over the pool.
    pub async fn migrate(&self) -> anyhow::Result<Vec<String>> {
        let applied = match &self.direct {
            Some(direct) if self.embedded.is_none() => {
                let pool = PgPoolOptions::new()
                    .max_connections(1)
                    .connect_with(direct.clone())
                    .await
                    .context("connecting to database.direct_url for migrations")?;
                let conn = SqlxPostgresConnector::from_sqlx_postgres_pool(pool.clone());
                let result = migration::up(&conn).await;
                pool.close().await;
                result
            }
            _ => migration::up(&self.conn).await,
        };
        applied.context("applying database migrations")
    }

    /// Whether the database answers within two seconds.
    pub async fn ping(&self) -> bool {
        let probe = sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&self.pool);
        matches!(
            tokio::time::timeout(Duration::from_secs(2), probe).await,
            Ok(Ok(1))
        )
    }

    /// The embedded cluster, when Umbra started it.
    pub fn embedded(&self) -> Option<&EmbeddedPostgres> {
        self.embedded.as_ref()
    }

    /// Closes the pool and stops the embedded cluster (if this process owns it).
    pub async fn close(self) -> anyhow::Result<()> {
        self.pool.close().await;
        if let Some(pg) = self.embedded {
            pg.stop()
                .await
                .context("stopping the embedded PostgreSQL")?;
        }
        Ok(())
    }
}
