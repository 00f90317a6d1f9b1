//! Purpose: Umbra's database migrations (sea-orm-migration) and a small runner that keeps its
//! bookkeeping table schema-qualified (`public.seaql_migrations`), so nothing depends on the
//! role's `search_path`, and serializes concurrent migrators with a transaction-scoped lock.

pub use sea_orm_migration::prelude::*;

mod m20261125_000001_identity;
mod m20261125_000002_guild;
mod m20261125_000003_member;
mod m20261125_000004_licensing;
mod m20261125_000005_billing;
mod m20261125_000006_recovery;
mod m20261125_000007_notification;
mod m20261125_000008_audit;
mod m20261125_000009_webhook;
mod m20261125_000010_events;
mod m20261125_000100_outbox_wakeup;
mod m20261125_000200_notification_skipped;
mod m20261206_000300_protection;
mod m20261206_000400_plan_change;
mod m20261206_000500_member_links;
mod m20261206_000600_bans;
mod m20261206_000700_automod;
mod m20261206_000800_threads;
mod m20261206_000900_scheduled_events;
mod m20261206_001000_welcome_screen;
mod m20261206_001100_onboarding;
mod m20261206_001200_webhooks;
mod m20261206_001300_message_backup;
mod runner;
mod sql;

pub use runner::{MigrationState, down, fresh, status, up};

/// The ten PostgreSQL schemas of the seed design, in dependency order.
pub const SCHEMAS: [&str; 10] = [
    "identity",
    "guild",
    "member",
    "licensing",
    "billing",
    "recovery",
    "notification",
    "audit",
    "webhook",
    "events",
];

/// Every migration of the project, oldest first.
pub fn migrations() -> Vec<Box<dyn MigrationTrait>> {
    vec![
        Box::new(m20261125_000001_identity::MIGRATION),
        Box::new(m20261125_000002_guild::MIGRATION),
        Box::new(m20261125_000003_member::MIGRATION),
        Box::new(m20261125_000004_licensing::MIGRATION),
        Box::new(m20261125_000005_billing::MIGRATION),
        Box::new(m20261125_000006_recovery::MIGRATION),
        Box::new(m20261125_000007_notification::MIGRATION),
        Box::new(m20261125_000008_audit::MIGRATION),
        Box::new(m20261125_000009_webhook::MIGRATION),
        Box::new(m20261125_000010_events::MIGRATION),
        Box::new(m20261125_000100_outbox_wakeup::MIGRATION),
        Box::new(m20261125_000200_notification_skipped::MIGRATION),
        Box::new(m20261206_000300_protection::MIGRATION),
        Box::new(m20261206_000400_plan_change::MIGRATION),
        Box::new(m20261206_000500_member_links::MIGRATION),
        Box::new(m20261206_000600_bans::MIGRATION),
        Box::new(m20261206_000700_automod::MIGRATION),
        Box::new(m20261206_000800_threads::MIGRATION),
        Box::new(m20261206_000900_scheduled_events::MIGRATION),
        Box::new(m20261206_001000_welcome_screen::MIGRATION),
        Box::new(m20261206_001100_onboarding::MIGRATION),
        Box::new(m20261206_001200_webhooks::MIGRATION),
        Box::new(m20261206_001300_message_backup::MIGRATION),
    ]
}
