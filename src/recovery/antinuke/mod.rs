//! Purpose: AntiNuke — catches a nuke while it happens and undoes it. Per guild, per actor
//! sliding windows over destructive actions (from GUILD_AUDIT_LOG_ENTRY_CREATE), decided in
//! memory on the event path; the first response (strip roles, quarantine, kick, ban; a bot is
//! kicked; optional lockdown) leaves before any database write; then the incident row, an
//! emergency snapshot of the state before the attack, the owner's DM with "Restore what was
//! destroyed" / "False positive", and the optional automatic revert. `/antinuke` configures it
//! (owner and trusted users only). The only writer of `recovery.antinuke_incidents`.

mod aftermath;
pub mod commands;
mod decisions;
pub mod detector;
pub mod health;
pub mod model;
mod persistence;
pub mod responder;
pub mod restore;
pub mod service;

pub use decisions::{AntinukeConsumer, outcome_of};
pub use model::{ActionClass, Destroyed, Health, IncidentStatus, Policy, Punishment};
pub use persistence::{Incident, NewIncident};

/// AntiNuke's answer to the restore engine's [`PunishedActors`] port: a reader of incidents,
/// independent of the AntiNuke service (which itself uses the restore engine).
///
/// [`PunishedActors`]: crate::recovery::restore::ports::PunishedActors
#[derive(Clone)]
pub struct Punishments {
    db: sea_orm::DatabaseConnection,
}

impl Punishments {
    pub fn new(db: sea_orm::DatabaseConnection) -> Self {
        Self { db }
    }
}

#[async_trait::async_trait]
impl crate::recovery::restore::ports::PunishedActors for Punishments {
    async fn punished_actors(&self, guild_row: uuid::Uuid) -> Result<Vec<u64>, sea_orm::DbErr> {
        persistence::punished_actors(&self.db, guild_row).await
    }
}
pub use service::{
    AntinukeError, AntinukeService, COMPONENT_PREFIX, Ports, false_positive_button, restore_button,
};
