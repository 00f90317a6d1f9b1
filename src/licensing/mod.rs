//! Purpose: the licensing domain (Core) — plans (seeded by a migration) and each guild's
//! license; a guild's entitlements come from its active license, or the default plan
//! (`licensing.default_plan`; the top plan for self-hosters) without one.
//! The only writer of `licensing.licenses`. Reads guilds only through the guild domain's port.

pub mod commands;
pub mod model;
mod persistence;
pub mod ports;
pub mod service;

mod events;
pub use events::SubscriptionConsumer;
pub use model::{AntinukeFeatures, Entitlements, LicenseInfo, Plan, PlanCode};
pub use ports::{LicensingError, LicensingReader, PlanReader};
pub use service::LicensingService;
