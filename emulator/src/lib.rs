//! Purpose: `discord-emulator`, a local Discord (REST v10 + Gateway + Discord-shaped rate
//! limits) that real serenity/poise and discord.js clients talk to in tests, benchmarks and
//! the `umbra sandbox` demo. Start one with [`Emulator::start`]; see the crate README.

pub mod config;
pub mod control;
pub mod diff;
pub mod error;
pub mod fixtures;
pub mod gateway;
pub mod interactions;
pub mod model;
pub mod oauth;
pub mod ops_automod;
pub mod ops_channels;
pub mod ops_events;
pub mod ops_guild;
pub mod ops_members;
pub mod ops_messages;
pub mod ops_onboarding;
pub mod ops_pins;
pub mod ops_roles;
pub mod ops_stickers;
pub mod ops_threads;
pub mod permissions;
pub mod ratelimit;
pub mod rest;
pub mod server;
pub mod snowflake;
pub mod spec;
pub mod standalone;
pub mod state;
pub mod testing;
pub mod tls;

pub use config::EmulatorConfig;
pub use control::{
    Actor, App, AttachmentView, BotMessage, Button, Emulator, InteractionError, InteractionHandle,
    InteractionResponse, InteractionView,
};
pub use diff::{DiffEntry, DiffKind, DiffOptions, GuildView, diff};
pub use error::ApiError;
pub use fixtures::{Fixture, FixtureSpec};
pub use model::{ApplicationOptions, AuditChange, AuditEntry, OverwriteKind};
pub use ratelimit::{BucketRule, Budget, Counter, Counters, RateLimitConfig};
pub use server::{RecordedResponse, RequestRecord};
pub use spec::{SpecError, SpecValidator};
pub use standalone::{StandaloneOptions, run_standalone};
pub use state::{DispatchRecord, intents};
