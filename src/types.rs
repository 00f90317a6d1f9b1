//! Purpose: the bot's shared types — [`Data`] (what every command, check, event handler and
//! worker shares), [`Context`] and [`Error`] — in one place, as poise expects.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use poise::serenity_prelude as serenity;
use sea_orm::DatabaseConnection;
use sqlx::PgPool;

use crate::config::Config;
use crate::db::crypto::Keyring;
use crate::guild::GuildService;
use crate::i18n::I18n;
use crate::licensing::LicensingService;

pub use crate::error::Error;

/// The context of a command invocation.
pub type Context<'a> = poise::Context<'a, Data, Error>;
/// A command as the framework holds it.
pub type Command = poise::Command<Data, Error>;

/// What the bot's handlers share: cheap to clone (an `Arc`).
#[derive(Clone)]
pub struct Data(pub Arc<Services>);

impl std::ops::Deref for Data {
    type Target = Services;
    fn deref(&self) -> &Services {
        &self.0
    }
}

/// The application's services, built once in `app::start`.
pub struct Services {
    pub config: Arc<Config>,
    pub db: DatabaseConnection,
    pub pool: PgPool,
    pub i18n: Arc<I18n>,
    pub keyring: Option<Arc<Keyring>>,
    pub guilds: GuildService,
    pub licensing: LicensingService,
    /// Guild members (the member domain).
    pub members: crate::member::MemberService,
    /// Live sync of every guild into PostgreSQL.
    pub sync: crate::recovery::sync::SyncService,
    /// Snapshots (triggers, retention, export/import).
    pub snapshots: crate::recovery::snapshot::SnapshotService,
    /// AntiNuke: in-memory detection on the event path, incidents, buttons.
    pub antinuke: crate::recovery::antinuke::AntinukeService,
    /// Restores (previews, jobs; the runner is a task).
    pub restores: crate::recovery::restore::RestoreService,
    /// Discord user ids allowed to run operator commands: `discord.operators` plus the
    /// application's owners (learned at start-up).
    pub operators: RwLock<HashSet<u64>>,
    /// The bot's own user id, known once the gateway is ready.
    pub bot_user_id: OnceLock<serenity::UserId>,
    /// The REST client, once the Discord client exists (workers use it).
    pub http: OnceLock<Arc<serenity::Http>>,
    /// The gateway cache, once the Discord client exists (periodic checks read it).
    pub cache: OnceLock<Arc<serenity::Cache>>,
    /// Gateway dispatches serenity could not parse (it would otherwise drop them silently).
    pub unknown_events: Mutex<Vec<String>>,
}

impl Services {
    pub fn is_operator(&self, user: serenity::UserId) -> bool {
        self.operators
            .read()
            .map(|ops| ops.contains(&user.get()))
            .unwrap_or(false)
    }
}
