//! Purpose: what other domains may ask the member domain: [`MemberWriter`] for live sync (bulk
//! writes inside the caller's transaction) and [`MemberReader`] for Core domains (read-only).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::model::{BanChanges, BanState, MemberState, WriteStats};
use crate::db::Tx;

#[derive(Debug, thiserror::Error)]
pub enum MemberError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Versioned bulk writes of `member.members`, run inside the caller's [`Tx`] so they commit or
/// roll back with the caller's other writes (live sync's batch, its outbox events). `guild` is `guild.guilds.id`.
/// Unchanged members are skipped; a change closes the current version (`ended_by = 'update'`)
/// and writes a new one; removals leave tombstones (`ended_by = 'delete'`).
#[async_trait]
pub trait MemberWriter: Send + Sync {
    /// Writes these members' states (new or changed ones only).
    async fn upsert(
        &self,
        tx: &Tx,
        guild: Uuid,
        members: &[MemberState],
    ) -> Result<WriteStats, MemberError>;

    /// Writes members that have no current version (a first load of a guild: no need to read
    /// what is stored; large sets go by `COPY`). A member that does have one makes the write
    /// fail on the one-current-row index: callers only pass members they know to be new.
    async fn insert_new(
        &self,
        tx: &Tx,
        guild: Uuid,
        members: &[MemberState],
    ) -> Result<WriteStats, MemberError>;

    /// Whether the guild has any current member.
    async fn has_current(&self, tx: &Tx, guild: Uuid) -> Result<bool, MemberError>;

    /// Tombstones these members (they left, were kicked or banned).
    async fn remove(&self, tx: &Tx, guild: Uuid, users: &[u64]) -> Result<WriteStats, MemberError>;

    /// Tombstones every current member not in `present` (the end of a full load).
    async fn retain_only(
        &self,
        tx: &Tx,
        guild: Uuid,
        present: &[u64],
    ) -> Result<WriteStats, MemberError>;

    /// A role was deleted: members holding it get a new version without it.
    async fn strip_role(&self, tx: &Tx, guild: Uuid, role: u64) -> Result<WriteStats, MemberError>;

    /// Writes a batch's ban changes (see [`BanChanges`] for the order).
    async fn write_bans(
        &self,
        tx: &Tx,
        guild: Uuid,
        changes: &BanChanges,
    ) -> Result<WriteStats, MemberError>;

    /// Deletes history (closed versions) that ended before `before`. Current rows are kept.
    async fn purge_history(
        &self,
        tx: &Tx,
        guild: Uuid,
        before: DateTime<Utc>,
    ) -> Result<u64, MemberError>;
}

/// Read-only access to members.
#[async_trait]
pub trait MemberReader: Send + Sync {
    /// The guild's members as they were at `at` (current rows when `at` is now), by user id.
    async fn members_as_of(
        &self,
        guild: Uuid,
        at: DateTime<Utc>,
    ) -> Result<Vec<MemberState>, MemberError>;

    /// The guild's bans as they were at `at` (as live sync saw them), by user id.
    async fn bans_as_of(
        &self,
        guild: Uuid,
        at: DateTime<Utc>,
    ) -> Result<Vec<BanState>, MemberError>;

    /// How many current members the guild has.
    async fn current_count(&self, guild: Uuid) -> Result<u64, MemberError>;

    /// One member's current state, if they are a member.
    async fn member(&self, guild: Uuid, user: u64) -> Result<Option<MemberState>, MemberError>;

    /// The guilds (row ids) the Discord user is a current member of.
    async fn guilds_of(&self, user: u64) -> Result<Vec<Uuid>, MemberError>;
}
