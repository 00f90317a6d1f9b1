//! Purpose: the restore engine (issue 6) — a planned, previewed, resumable restore of a guild
//! from a snapshot, close to Discord's rate-limit floor.
//!
//! - [`planner`]: a pure diff of a snapshot document against live sync's current state into a
//!   [`model::Plan`] (create / update / delete / keep, ids mapped, skips and warnings, ETA).
//! - [`service::RestoreService`]: previews (`/restore preview`), confirmation (trusted users
//!   only; an expired or changed preview is re-planned, never run blindly), cancel, status,
//!   history, events (started / completed / failed / cancelled -> audit + owner notification).
//! - [`runner`]: the worker — claims a queued job (or one whose lease expired) with a fenced
//!   lease, takes the pre-restore snapshot, reconciles unrecorded creates after a crash, and
//!   runs the [`executor`], which issues the Discord calls lane by lane (one lane per rate-limit
//!   bucket) while every result is recorded durably (progress + id map, fenced).
//! - [`commands`]: `/restore preview | status | cancel | history` and the preview's buttons.
//!
//! API for AntiNuke (no preview): [`service::RestoreService::start`] with a
//! [`service::RestoreRequest`] (`confirmed: true`, an optional [`model::Scope`] of original
//! role/channel ids and member ids, an optional incident id) queues a job at once and returns
//! its id. Every Discord action of a restore carries the audit-log reason
//! `umbra:restore:<job short id>:<step>`: actions whose reason starts with [`AUDIT_REASON_PREFIX`]
//! are Umbra's own and must be ignored by AntiNuke.

pub mod commands;
pub mod executor;
pub mod model;
mod persistence;
pub mod planner;
pub mod ports;
pub mod runner;
pub mod service;
pub mod view;

pub use executor::CrashPoint;
pub use model::{Component, Components, Mode, Plan, Scope};
pub use persistence::QUEUE;
pub use runner::Runner;
pub use service::{
    ApprovalDecision, ApprovalReason, RestoreError, RestoreRequest, RestoreService, RestoreSettings,
};

/// Every audit-log reason Umbra's restores set starts with this.
pub const AUDIT_REASON_PREFIX: &str = "umbra:restore:";

/// The restore service, wired to its ports (from `[restore]` in the configuration).
pub fn service(
    config: &crate::config::Config,
    db: &sea_orm::DatabaseConnection,
    sync: &crate::recovery::sync::SyncService,
    snapshots: &crate::recovery::snapshot::SnapshotService,
    guilds: &crate::guild::GuildService,
    licensing: &crate::licensing::LicensingService,
    punished: std::sync::Arc<dyn ports::PunishedActors>,
) -> RestoreService {
    use std::sync::Arc;
    use std::time::Duration;
    let r = &config.restore;
    RestoreService::new(
        db.clone(),
        sync.clone(),
        snapshots.clone(),
        Arc::new(guilds.clone()),
        Arc::new(licensing.clone()),
        punished,
        RestoreSettings {
            preview_ttl: Duration::from_secs(r.preview_ttl_seconds),
            lease: Duration::from_secs(r.lease_seconds),
            heartbeat: Duration::from_millis(r.heartbeat_ms),
            poll_interval: Duration::from_millis(r.poll_interval_ms),
            progress_interval: Duration::from_millis(r.progress_interval_ms),
            record_interval: Duration::from_millis(r.record_interval_ms),
            bucket_concurrency: r.bucket_concurrency,
            max_in_flight: r.max_in_flight,
            retries: r.retries,
            max_jobs: r.max_jobs,
            runner_enabled: r.runner_enabled,
            sequential: r.sequential,
            approval_ttl: Duration::from_secs(u64::from(config.antinuke.approval_hours) * 3600),
        },
    )
}
