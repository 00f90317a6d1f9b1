//! Purpose: the member domain's service — implements [`MemberWriter`] (bulk versioned writes in
//! the caller's transaction) and [`MemberReader`] over the pool.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::model::{BanChanges, BanState, MemberState, WriteStats};
use super::persistence::{self, BulkLoad};
use super::ports::{MemberError, MemberReader, MemberWriter};
use crate::db::Tx;

#[derive(Clone)]
pub struct MemberService {
    pool: PgPool,
    chunk_rows: usize,
    bulk: Arc<BulkLoad>,
}

impl MemberService {
    /// `chunk_rows`: members per bulk statement.
    pub fn new(pool: PgPool, chunk_rows: usize) -> Self {
        Self {
            pool,
            chunk_rows: chunk_rows.max(1),
            bulk: Arc::default(),
        }
    }

    /// Whether first loads check foreign keys once per batch (`Some(true)`) or row by row
    /// (`Some(false)`); `None` until the first bulk load found out. See
    /// [`persistence::insert_new`].
    pub fn bulk_load_checks_once(&self) -> Option<bool> {
        self.bulk.allowed()
    }
}

#[async_trait]
impl MemberWriter for MemberService {
    async fn upsert(
        &self,
        tx: &Tx,
        guild: Uuid,
        members: &[MemberState],
    ) -> Result<WriteStats, MemberError> {
        Ok(persistence::upsert(&mut **tx.lock().await, guild, members, self.chunk_rows).await?)
    }

    async fn insert_new(
        &self,
        tx: &Tx,
        guild: Uuid,
        members: &[MemberState],
    ) -> Result<WriteStats, MemberError> {
        Ok(persistence::insert_new(
            &mut **tx.lock().await,
            guild,
            members,
            self.chunk_rows,
            &self.bulk,
        )
        .await?)
    }

    async fn has_current(&self, tx: &Tx, guild: Uuid) -> Result<bool, MemberError> {
        Ok(persistence::has_current(&mut **tx.lock().await, guild).await?)
    }

    async fn remove(&self, tx: &Tx, guild: Uuid, users: &[u64]) -> Result<WriteStats, MemberError> {
        Ok(persistence::remove(&mut **tx.lock().await, guild, users).await?)
    }

    async fn retain_only(
        &self,
        tx: &Tx,
        guild: Uuid,
        present: &[u64],
    ) -> Result<WriteStats, MemberError> {
        Ok(persistence::retain_only(&mut **tx.lock().await, guild, present).await?)
    }

    async fn strip_role(&self, tx: &Tx, guild: Uuid, role: u64) -> Result<WriteStats, MemberError> {
        Ok(persistence::strip_role(&mut **tx.lock().await, guild, role, self.chunk_rows).await?)
    }

    async fn write_bans(
        &self,
        tx: &Tx,
        guild: Uuid,
        changes: &BanChanges,
    ) -> Result<WriteStats, MemberError> {
        let mut conn = tx.lock().await;
        let mut stats = persistence::upsert_bans(&mut conn, guild, &changes.upsert).await?;
        stats += persistence::remove_bans(&mut conn, guild, &changes.removed).await?;
        if let Some(present) = &changes.complete {
            stats += persistence::retain_bans(&mut conn, guild, present).await?;
        }
        persistence::set_ban_reasons(&mut conn, guild, &changes.reasons).await?;
        Ok(stats)
    }

    async fn purge_history(
        &self,
        tx: &Tx,
        guild: Uuid,
        before: DateTime<Utc>,
    ) -> Result<u64, MemberError> {
        Ok(persistence::purge_history(&mut **tx.lock().await, guild, before).await?)
    }
}

#[async_trait]
impl MemberReader for MemberService {
    async fn members_as_of(
        &self,
        guild: Uuid,
        at: DateTime<Utc>,
    ) -> Result<Vec<MemberState>, MemberError> {
        Ok(persistence::members_as_of(&self.pool, guild, at).await?)
    }

    async fn bans_as_of(
        &self,
        guild: Uuid,
        at: DateTime<Utc>,
    ) -> Result<Vec<BanState>, MemberError> {
        Ok(persistence::bans_as_of(&self.pool, guild, at).await?)
    }

    async fn current_count(&self, guild: Uuid) -> Result<u64, MemberError> {
        Ok(persistence::current_count(&self.pool, guild).await?)
    }

    async fn member(&self, guild: Uuid, user: u64) -> Result<Option<MemberState>, MemberError> {
        Ok(persistence::member(&self.pool, guild, user).await?)
    }

    async fn guilds_of(&self, user: u64) -> Result<Vec<Uuid>, MemberError> {
        Ok(persistence::guilds_of(&self.pool, user).await?)
    }
}
