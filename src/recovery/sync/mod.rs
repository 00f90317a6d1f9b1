//! Purpose: live sync — keeps `recovery.guild_*` (and, through the member domain's port,
//! `member.members`) equal to every guild the bot is in: a full load on GUILD_CREATE (members by
//! gateway chunks), then gateway events, written in per-guild batches (one transaction each,
//! unchanged rows skipped), versioned so "the guild as of time T" can be rebuilt.

pub mod convert;
pub mod events;
pub mod model;
mod persistence;
pub mod queue;
pub mod service;

pub use model::{
    AutoModRuleState, ChannelState, EmojiState, EventState, GuildState, OnboardingState,
    OverwriteState, OverwriteTarget, RoleState, SettingsState, StickerState, SyncState, SyncStatus,
    ThreadState, WebhookState, WelcomeState,
};
pub use service::{LoadReport, SyncError, SyncService, SyncSettings};
