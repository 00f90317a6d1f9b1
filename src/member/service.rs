//! Purpose: the member domain's service — implements [`MemberWriter`] (bulk versioned writes on
//! the caller's connection) and [`MemberReader`] over the pool.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::model::{MemberState, WriteStats};
use super::persistence::{self, BulkLoad};
use super::ports::{MemberError, MemberReader, MemberWriter};

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
        conn: &mut PgConnection,
        guild: Uuid,
        members: &[MemberState],
    ) -> Result<WriteStats, MemberError> {
        Ok(persistence::upsert(conn, guild, members, self.chunk_rows).await?)
    }

    async fn insert_new(
        &self,
        conn: &mut PgConnection,
        guild: Uuid,
        members: &[MemberState],
    ) -> Result<WriteStats, MemberError> {
        Ok(persistence::insert_new(conn, guild, members, self.chunk_rows, &self.bulk).await?)
    }

    async fn has_current(&self, conn: &mut PgConnection, guild: Uuid) -> Result<bool, MemberError> {
        Ok(persistence::has_current(conn, guild).await?)
    }

    async fn remove(
        &self,
        conn: &mut PgConnection,
        guild: Uuid,
        users: &[u64],
    ) -> Result<WriteStats, MemberError> {
        Ok(persistence::remove(conn, guild, users).await?)
    }

    async fn retain_only(
        &self,
        conn: &mut PgConnection,
        guild: Uuid,
        present: &[u64],
    ) -> Result<WriteStats, MemberError> {
        Ok(persistence::retain_only(conn, guild, present).await?)
    }

    async fn strip_role(
        &self,
        conn: &mut PgConnection,
        guild: Uuid,
        role: u64,
    ) -> Result<WriteStats, MemberError> {
        Ok(persistence::strip_role(conn, guild, role, self.chunk_rows).await?)
    }

    async fn purge_history(
        &self,
        conn: &mut PgConnection,
        guild: Uuid,
        before: DateTime<Utc>,
    ) -> Result<u64, MemberError> {
        Ok(persistence::purge_history(conn, guild, before).await?)
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

    async fn current_count(&self, guild: Uuid) -> Result<u64, MemberError> {
        Ok(persistence::current_count(&self.pool, guild).await?)
    }

    async fn member(&self, guild: Uuid, user: u64) -> Result<Option<MemberState>, MemberError> {
        Ok(persistence::member(&self.pool, guild, user).await?)
    }
}
