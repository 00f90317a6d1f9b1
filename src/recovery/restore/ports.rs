//! Purpose: what the restore engine asks of other domains beyond the guild and licensing
//! readers: [`PunishedActors`] (AntiNuke's punished attackers, never given their roles back).

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
