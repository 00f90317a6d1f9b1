//! Purpose: what other domains may ask the identity domain: [`UserReader`] (read-only) and
//! [`UserRecorder`] (record a user inside the caller's transaction, so a guild and its owner,
//! or preferences and their user, are written together).

use async_trait::async_trait;
use sea_orm::DbErr;
use uuid::Uuid;

use super::model::{User, UserProfile};
use crate::db::Tx;

/// Read-only access to users.
#[async_trait]
pub trait UserReader: Send + Sync {
    /// The row id of a Discord user; `None` when Umbra never met them.
    async fn user_row(&self, discord_id: u64) -> Result<Option<Uuid>, DbErr>;

    /// The stored user; `None` when Umbra never met them.
    async fn user(&self, discord_id: u64) -> Result<Option<User>, DbErr>;
}

/// Records users on behalf of other domains.
#[async_trait]
pub trait UserRecorder: Send + Sync {
    /// Inserts or refreshes the user inside `tx` and returns its row id. A known username is
    /// never replaced by an unknown one.
    async fn ensure(&self, tx: &Tx, profile: &UserProfile) -> Result<Uuid, DbErr>;
}
