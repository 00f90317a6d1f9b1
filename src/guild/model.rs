//! Purpose: guild types and their rules, without I/O.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::i18n::Locale;
use crate::identity::UserProfile;

/// At most this many trusted users, and as many trusted roles, per guild.
pub const MAX_TRUSTED: usize = 25;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuildStatus {
    Active,
    Removed,
}

impl GuildStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            GuildStatus::Active => "active",
            GuildStatus::Removed => "removed",
        }
    }

    pub fn parse(s: &str) -> Self {
        if s == "removed" {
            GuildStatus::Removed
        } else {
            GuildStatus::Active
        }
    }
}

/// A guild as Umbra records it.
#[derive(Debug, Clone, PartialEq)]
pub struct GuildRecord {
    pub id: Uuid,
    pub discord_id: u64,
    pub owner_discord_id: u64,
    pub name: String,
    pub status: GuildStatus,
    pub installed_at: DateTime<Utc>,
    pub removed_at: Option<DateTime<Utc>>,
}

/// A guild's settings. Defaults apply until the owner changes them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GuildSettings {
    /// `None`: replies follow each user's Discord language, falling back to English.
    pub locale: Option<Locale>,
    pub log_channel_id: Option<u64>,
    pub trusted_user_ids: Vec<u64>,
    pub trusted_role_ids: Vec<u64>,
    pub snapshot_interval_minutes: Option<i32>,
    pub antinuke_enabled: bool,
}

impl GuildSettings {
    /// Whether a member with `user` and `roles` is trusted (the owner is checked separately).
    pub fn trusts(&self, user: u64, roles: &[u64]) -> bool {
        self.trusted_user_ids.contains(&user)
            || roles.iter().any(|r| self.trusted_role_ids.contains(r))
    }
}

/// A guild's own threshold for one AntiNuke action class (`guild_configs.antinuke_thresholds`,
/// `{"<class>": {"count": n, "window_seconds": s}}`). The recovery domain validates class names
/// and bounds them by the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ThresholdOverride {
    pub count: u32,
    pub window_seconds: u32,
}

/// A guild's AntiNuke settings as its owner or trusted users configured them (the plan bounds
/// what applies: see `recovery::antinuke`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AntinukeSettings {
    pub enabled: bool,
    /// Class name -> the guild's own threshold (classes missing use the defaults).
    pub thresholds: std::collections::BTreeMap<String, ThresholdOverride>,
    /// `strip_roles`, `quarantine`, `kick` or `ban`.
    pub punishment: String,
    pub quarantine_role_id: Option<u64>,
    pub lockdown: bool,
    pub auto_revert: bool,
    pub whitelist_user_ids: Vec<u64>,
    pub whitelist_role_ids: Vec<u64>,
}

/// A change to a guild's AntiNuke settings (already authorized and validated by the caller).
#[derive(Debug, Clone, PartialEq)]
pub enum AntinukeChange {
    Enabled(bool),
    /// `None`: back to the default for this class.
    Threshold(String, Option<ThresholdOverride>),
    Punishment(String),
    QuarantineRole(Option<u64>),
    Lockdown(bool),
    AutoRevert(bool),
    /// Adds (`true`) or removes a user or a role from the AntiNuke whitelist.
    Whitelist(TrustTarget, bool),
}

/// What the gateway tells about a guild Umbra is in.
#[derive(Debug, Clone, PartialEq)]
pub struct InstalledGuild {
    pub discord_id: u64,
    pub name: String,
    pub icon: Option<String>,
    pub owner: UserProfile,
}

/// Someone or something to trust.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustTarget {
    User(u64),
    Role(u64),
}

impl TrustTarget {
    pub fn mention(self) -> String {
        match self {
            TrustTarget::User(id) => format!("<@{id}>"),
            TrustTarget::Role(id) => format!("<@&{id}>"),
        }
    }
}

/// What changed when a guild was seen on the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstallOutcome {
    /// First time in this guild.
    Installed,
    /// Back in a guild it had been removed from (data kept during the grace period).
    Reinstalled,
    /// Already known and active (start-up, reconnect).
    Refreshed,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_is_trusted_by_user_id_or_by_any_trusted_role() {
        let settings = GuildSettings {
            trusted_user_ids: vec![1],
            trusted_role_ids: vec![10, 11],
            ..Default::default()
        };
        assert!(settings.trusts(1, &[]));
        assert!(settings.trusts(2, &[5, 11]));
        assert!(!settings.trusts(2, &[5]));
    }
}
