//! Purpose: outbox event types and the shape of an event, independent of storage.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// The event names every domain publishes. Stable strings: stored and consumed by name.
pub mod event_types {
    pub const GUILD_INSTALLED: &str = "guild.installed";
    pub const GUILD_REMOVED: &str = "guild.removed";
    pub const GUILD_OWNER_CHANGED: &str = "guild.owner_changed";
    pub const GUILD_PURGED: &str = "guild.purged";
    pub const GUILD_CONFIG_CHANGED: &str = "guild.config_changed";
    /// AntiNuke settings, whitelist or trust changed (the owner's DM, with Undo).
    pub const GUILD_PROTECTION_CHANGED: &str = "guild.protection_changed";
    /// Someone other than the owner asked for an AntiNuke change (the owner's approval DM).
    pub const GUILD_CHANGE_REQUESTED: &str = "guild.change_requested";
    /// Umbra lacks a permission it needs, or its role is below members it would punish.
    pub const GUILD_PROTECTION_DEGRADED: &str = "guild.protection_degraded";
    pub const GUILD_PROTECTION_RESTORED: &str = "guild.protection_restored";
    pub const LICENSE_GRANTED: &str = "licensing.license_granted";
    pub const LICENSE_REVOKED: &str = "licensing.license_revoked";
    pub const LICENSE_EXPIRED: &str = "licensing.license_expired";
    /// A license ended for a plan that keeps fewer snapshots: the extra ones are kept until
    /// `until` (the owner is told before any is deleted).
    pub const RETENTION_REDUCED: &str = "licensing.retention_reduced";
    pub const SNAPSHOT_CREATED: &str = "recovery.snapshot_created";
    pub const SNAPSHOT_DELETED: &str = "recovery.snapshot_deleted";
    pub const SNAPSHOT_EXPIRED: &str = "recovery.snapshot_expired";
    pub const SNAPSHOT_FAILED: &str = "recovery.snapshot_failed";
    pub const RESTORE_STARTED: &str = "recovery.restore_started";
    pub const RESTORE_COMPLETED: &str = "recovery.restore_completed";
    pub const RESTORE_FAILED: &str = "recovery.restore_failed";
    pub const RESTORE_CANCELLED: &str = "recovery.restore_cancelled";
    pub const INCIDENT_DETECTED: &str = "recovery.incident_detected";
    pub const INCIDENT_RESOLVED: &str = "recovery.incident_resolved";
    /// A risky restore confirmed by someone other than the owner waits for the owner.
    pub const RESTORE_APPROVAL_REQUESTED: &str = "recovery.restore_approval_requested";
}

/// An event to append. `aggregate_type`/`aggregate_id` name the thing that changed (e.g.
/// `guild` / its snowflake); `payload` carries what consumers need, including
/// `actor_discord_id` when a person caused it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub event_type: &'static str,
    pub aggregate_type: &'static str,
    pub aggregate_id: String,
    pub guild_discord_id: Option<i64>,
    pub payload: serde_json::Value,
}

impl NewEvent {
    pub fn new(
        event_type: &'static str,
        aggregate_type: &'static str,
        aggregate_id: impl Into<String>,
        payload: serde_json::Value,
    ) -> Self {
        Self {
            event_type,
            aggregate_type,
            aggregate_id: aggregate_id.into(),
            guild_discord_id: None,
            payload,
        }
    }

    pub fn in_guild(mut self, guild_discord_id: i64) -> Self {
        self.guild_discord_id = Some(guild_discord_id);
        self
    }
}

/// A stored event as the relay hands it to consumers.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEvent {
    pub id: Uuid,
    pub event_type: String,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub guild_discord_id: Option<i64>,
    pub payload: serde_json::Value,
    pub occurred_at: DateTime<Utc>,
    pub attempts: i32,
    pub fencing: i64,
    pub delivered_to: Vec<String>,
}

impl OutboxEvent {
    /// The claim this copy of the event was read under.
    pub fn lease(&self) -> crate::queue::Lease {
        crate::queue::Lease {
            id: self.id,
            fencing: self.fencing,
        }
    }

    /// The Discord user who caused the event, when the payload names one.
    pub fn actor_discord_id(&self) -> Option<i64> {
        match self.payload.get("actor_discord_id") {
            Some(serde_json::Value::Number(n)) => n.as_i64(),
            Some(serde_json::Value::String(s)) => s.parse().ok(),
            _ => None,
        }
    }
}
