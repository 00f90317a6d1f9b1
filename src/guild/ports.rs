//! Purpose: what other domains may ask the guild domain (read-only).

use async_trait::async_trait;

use super::model::{AntinukeSettings, GuildRecord, GuildSettings};

#[derive(Debug, thiserror::Error)]
pub enum GuildError {
    #[error("guild {0} is not known to Umbra")]
    UnknownGuild(u64),
    #[error("the guild's settings changed concurrently; try again")]
    Conflict,
    #[error("too many changes are waiting for the owner's approval")]
    TooManyPending,
    #[error(transparent)]
    Database(#[from] sea_orm::DbErr),
}

#[async_trait]
pub trait GuildReader: Send + Sync {
    /// The guild with this Discord id, active or removed; `Ok(None)` if Umbra was never in it.
    async fn guild(&self, discord_id: u64) -> Result<Option<GuildRecord>, GuildError>;

    /// The guild with this row id (`guild.guilds.id`), if it still exists.
    async fn guild_by_row(&self, id: uuid::Uuid) -> Result<Option<GuildRecord>, GuildError>;

    /// Active guilds whose name contains `query` (case-insensitive) or whose id starts with it,
    /// at most `limit`, by name.
    async fn search(&self, query: &str, limit: u32) -> Result<Vec<GuildRecord>, GuildError>;

    /// The guild's settings; `GuildSettings::default()` for a guild without a config row;
    /// `Err(UnknownGuild)` for a guild Umbra was never in.
    async fn settings(&self, discord_id: u64) -> Result<GuildSettings, GuildError>;

    /// Active guilds owned by the Discord user `owner`, by name.
    async fn owned_by(&self, owner: u64) -> Result<Vec<GuildRecord>, GuildError>;

    /// Active guilds among these row ids, by name.
    async fn active_rows(&self, ids: &[uuid::Uuid]) -> Result<Vec<GuildRecord>, GuildError>;

    /// The guild's AntiNuke settings (defaults for a guild without a config row);
    /// `Err(UnknownGuild)` for a guild Umbra was never in.
    async fn antinuke(&self, discord_id: u64) -> Result<AntinukeSettings, GuildError>;
}
