//! Purpose: the guild domain — the guilds Umbra is installed in (install, removal with a grace
//! period, owner transfer, purge) and their settings (locale, log channel, trusted users and
//! roles). The only writer of `guild.*`. Other domains read it through [`GuildReader`].

pub mod commands;
pub mod model;
mod persistence;
pub mod ports;
pub mod service;

pub use model::{
    AntinukeChange, AntinukeSettings, Decision, GuildRecord, GuildSettings, GuildStatus,
    InstalledGuild, PendingChange, ProtectionChange, ThresholdOverride, TrustTarget,
};
pub use ports::{GuildError, GuildReader};
pub use service::GuildService;
