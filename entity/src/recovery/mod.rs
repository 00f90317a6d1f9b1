//! Purpose: entities of the `recovery` schema: the guild-state mirror (versioned), snapshots,
//! restore jobs and AntiNuke incidents.

pub mod antinuke_incidents;
pub mod guild_channels;
pub mod guild_permission_overrides;
pub mod guild_roles;
pub mod guild_settings;
pub mod restore_jobs;
pub mod snapshots;
