//! Purpose: entities of the `guild` schema: Discord guilds and their configuration.

pub mod guild_configs;
pub mod guilds;
