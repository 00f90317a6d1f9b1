//! Purpose: what the restore engine asks of other domains beyond the guild and licensing
//! readers: [`PunishedActors`] (AntiNuke's punished attackers, never given their roles back)
//! and [`MemberGrants`] (members' re-join grants, for a member pull).

use async_trait::async_trait;
use sea_orm::DbErr;
use uuid::Uuid;

/// Who a restore must leave punished.
#[async_trait]
pub trait PunishedActors: Send + Sync {
    /// The Discord ids of the actors punished by the guild's (row id `guild_row`) incidents that
    /// are still open or restoring.
    async fn punished_actors(&self, guild_row: Uuid) -> Result<Vec<u64>, DbErr>;
}

/// Members' re-join grants (the member domain's links), as a member pull uses them.
#[async_trait]
pub trait MemberGrants: Send + Sync {
    /// The Discord ids of the members with a live link to the guild (row id `guild_row`).
    async fn linked(&self, guild_row: Uuid) -> Result<Vec<u64>, String>;
    /// When the first of the linked members who are not in the guild now left it (the mirror's
    /// history); `None`: none of them is known to have left.
    async fn first_left(
        &self,
        guild_row: Uuid,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, String>;
    /// The member's access token and its version. `None`: no live grant (a dead link).
    async fn access(
        &self,
        user: u64,
    ) -> Result<Option<(crate::config::Secret<String>, i64)>, String>;
    /// A fresh token after Discord refused the one of version `seen` (one refresh per user at
    /// a time). `None`: the grant is dead now.
    async fn refreshed(
        &self,
        user: u64,
        seen: i64,
    ) -> Result<Option<crate::config::Secret<String>>, String>;
    /// Discord refused even a fresh token: the grant is dead (its links are marked).
    async fn dead(&self, user: u64);
}
