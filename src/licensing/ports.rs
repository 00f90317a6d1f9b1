//! Purpose: what other domains may ask the licensing domain.

use async_trait::async_trait;

use super::model::{Entitlements, Plan};

#[derive(Debug, thiserror::Error)]
pub enum LicensingError {
    #[error("guild {0} is not known to Umbra")]
    UnknownGuild(u64),
    #[error("no plan with code `{0}`")]
    UnknownPlan(String),
    #[error("the guild has no active license")]
    NoLicense,
    #[error("no plan is on sale in licensing.plans (migrations not applied?)")]
    NoFreePlan,
    #[error(transparent)]
    Guild(#[from] crate::guild::GuildError),
    #[error(transparent)]
    Database(#[from] sea_orm::DbErr),
}

#[async_trait]
pub trait LicensingReader: Send + Sync {
    /// The guild's entitlements now: its active, unexpired license's plan, or the default plan
    /// (`licensing.default_plan`; `license: None`) without one — also for guilds Umbra does
    /// not know.
    async fn entitlements(&self, guild_discord_id: u64) -> Result<Entitlements, LicensingError>;
}

#[async_trait]
pub trait PlanReader: Send + Sync {
    /// Every active plan, cheapest first.
    async fn plans(&self) -> Result<Vec<Plan>, LicensingError>;
    /// The plan with this code, or `Err(UnknownPlan)`.
    async fn plan(&self, code: &str) -> Result<Plan, LicensingError>;
}
