//! Purpose: apply, revert and report migrations with schema-qualified bookkeeping.
//!
//! sea-orm-migration's own runner creates `seaql_migrations` in whatever schema the session's
//! `search_path` names first; Umbra must not depend on `search_path`, so this runner keeps the
//! same table shape at a fixed place (`public.seaql_migrations`, the one table allowed in
//! `public`). Each migration runs in its own transaction holding `pg_advisory_xact_lock`, so two
//! processes starting together apply every migration exactly once (a transaction-scoped lock
//! works behind transaction-mode poolers too).

use sea_orm_migration::SchemaManager;
use sea_orm_migration::sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement, TransactionTrait,
};

use crate::{SCHEMAS, migrations};

/// Advisory lock key shared by every Umbra migrator ("umbra-mg" in ASCII).
const LOCK_KEY: i64 = 0x756d_6272_612d_6d67;

/// One migration and whether it is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationState {
    pub name: String,
    pub applied: bool,
}

async fn ensure_bookkeeping<C: ConnectionTrait>(db: &C) -> Result<(), DbErr> {
    db.execute_unprepared(
        "CREATE TABLE IF NOT EXISTS public.seaql_migrations (\
           version varchar NOT NULL PRIMARY KEY, \
           applied_at bigint NOT NULL)",
    )
    .await?;
    Ok(())
}

async fn applied_versions<C: ConnectionTrait>(db: &C) -> Result<Vec<String>, DbErr> {
    let rows = db
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT version FROM public.seaql_migrations ORDER BY version",
        ))
        .await?;
    rows.iter()
        .map(|row| row.try_get::<String>("", "version"))
        .collect()
}

async fn lock<C: ConnectionTrait>(txn: &C) -> Result<(), DbErr> {
    txn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_advisory_xact_lock($1)",
        [LOCK_KEY.into()],
    ))
    .await?;
    Ok(())
}

/// Applies every pending migration, oldest first. Returns the names applied now.
pub async fn up(db: &DatabaseConnection) -> Result<Vec<String>, DbErr> {
    {
        let txn = db.begin().await?;
        lock(&txn).await?;
        ensure_bookkeeping(&txn).await?;
        txn.commit().await?;
    }
    let mut applied_now = Vec::new();
    for migration in migrations() {
        let name = migration.name().to_owned();
        let txn = db.begin().await?;
        lock(&txn).await?;
        if applied_versions(&txn).await?.contains(&name) {
            txn.rollback().await?;
            continue;
        }
        migration
            .up(&SchemaManager::new(&txn))
            .await
            .map_err(|e| DbErr::Migration(format!("migration {name} failed: {e}")))?;
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO public.seaql_migrations (version, applied_at) \
             VALUES ($1, extract(epoch from now())::bigint)",
            [name.clone().into()],
        ))
        .await?;
        txn.commit().await?;
        applied_now.push(name);
    }
    Ok(applied_now)
}

/// Reverts the `steps` most recently applied migrations (all of them when `steps` is `None`).
/// Returns the names reverted, newest first.
pub async fn down(db: &DatabaseConnection, steps: Option<u32>) -> Result<Vec<String>, DbErr> {
    ensure_bookkeeping(db).await?;
    let mut reverted = Vec::new();
    let mut all = migrations();
    all.reverse();
    for migration in all {
        if steps.is_some_and(|n| reverted.len() >= n as usize) {
            break;
        }
        let name = migration.name().to_owned();
        let txn = db.begin().await?;
        lock(&txn).await?;
        if !applied_versions(&txn).await?.contains(&name) {
            txn.rollback().await?;
            continue;
        }
        migration
            .down(&SchemaManager::new(&txn))
            .await
            .map_err(|e| DbErr::Migration(format!("reverting {name} failed: {e}")))?;
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "DELETE FROM public.seaql_migrations WHERE version = $1",
            [name.clone().into()],
        ))
        .await?;
        txn.commit().await?;
        reverted.push(name);
    }
    Ok(reverted)
}

/// Every known migration with its state, oldest first. Creates nothing.
pub async fn status(db: &DatabaseConnection) -> Result<Vec<MigrationState>, DbErr> {
    let exists = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT to_regclass('public.seaql_migrations') IS NOT NULL AS present",
        ))
        .await?
        .map(|row| row.try_get::<bool>("", "present"))
        .transpose()?
        .unwrap_or(false);
    let applied = if exists {
        applied_versions(db).await?
    } else {
        Vec::new()
    };
    Ok(migrations()
        .iter()
        .map(|m| MigrationState {
            name: m.name().to_owned(),
            applied: applied.iter().any(|a| a == m.name()),
        })
        .collect())
}

/// Drops Umbra's ten schemas (and everything in them) and the bookkeeping table, then applies
/// every migration. Destroys all data: the CLI asks for confirmation first.
pub async fn fresh(db: &DatabaseConnection) -> Result<Vec<String>, DbErr> {
    {
        let txn = db.begin().await?;
        lock(&txn).await?;
        for schema in SCHEMAS.iter().rev() {
            txn.execute_unprepared(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                .await?;
        }
        txn.execute_unprepared("DROP TABLE IF EXISTS public.seaql_migrations")
            .await?;
        txn.commit().await?;
    }
    up(db).await
}
