//! Purpose: `[antinuke]` — the defaults and thresholds of every guild's protection, the
//! combined score's weights, and the bot factor.

use serde::{Deserialize, Serialize};

/// AntiNuke (`[antinuke]`): the default threshold of each action class, the bounds of what a
/// guild may configure, and the timings of the response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AntinukeConfig {
    /// Highest count a guild may set for an action class.
    pub max_count: u32,
    /// Longest window a guild may set for an action class (seconds).
    pub max_window_seconds: u32,
    /// Detections of one actor within this many seconds are one incident (one punishment),
    /// also across processes.
    pub dedupe_slot_seconds: u64,
    /// The emergency snapshot holds the guild as it was this long before the first counted
    /// action (milliseconds; covers clock skew between Umbra and PostgreSQL).
    pub snapshot_margin_ms: u64,
    /// How often every guild's AntiNuke settings are read again (seconds); changes made through
    /// Umbra apply at once in the process that made them.
    pub config_refresh_seconds: u64,
    /// An automatic revert starts once the punished actor has been quiet this long (seconds).
    pub auto_revert_settle_seconds: u64,
    /// Lockdown pauses invites for this long (minutes; Discord allows at most 24 h).
    pub lockdown_minutes: u32,
    /// Highest combined score a guild may set (`/antinuke thresholds` "combined").
    pub max_score: u32,
    /// A whitelisted (or trusted) bot is counted, never exempt: its thresholds and the combined
    /// score's threshold are multiplied by this.
    pub whitelisted_bot_factor: u32,
    /// A change to AntiNuke settings by someone other than the owner waits this long for the
    /// owner's approval (hours), then lapses (nothing changes).
    pub approval_hours: u32,
    pub thresholds: AntinukeThresholds,
    /// The combined per-actor score over every class.
    pub score: ScoreConfig,
    /// Each class's points in the combined score.
    pub weights: AntinukeWeights,
}

/// The combined score: an actor whose weighted actions of every class add up to `threshold`
/// within `window_seconds` is a nuker even when no single class crossed its own threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScoreConfig {
    pub threshold: u32,
    pub window_seconds: u32,
}

impl Default for ScoreConfig {
    fn default() -> Self {
        Self {
            threshold: 100,
            window_seconds: 10,
        }
    }
}

/// The default threshold of each AntiNuke action class: `count` actions by one actor within
/// `window_seconds` make an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AntinukeThresholds {
    pub channel_delete: ThresholdConfig,
    pub channel_create: ThresholdConfig,
    pub role_delete: ThresholdConfig,
    pub role_create: ThresholdConfig,
    pub ban: ThresholdConfig,
    pub kick: ThresholdConfig,
    pub prune: ThresholdConfig,
    pub webhook_create: ThresholdConfig,
    pub permission_grant: ThresholdConfig,
    pub bot_add: ThresholdConfig,
    pub guild_update: ThresholdConfig,
    pub timeout: ThresholdConfig,
    pub role_remove: ThresholdConfig,
    pub permission_remove: ThresholdConfig,
    pub webhook_change: ThresholdConfig,
    pub expression_delete: ThresholdConfig,
    pub integration_delete: ThresholdConfig,
    pub automod_change: ThresholdConfig,
    pub message_bulk_delete: ThresholdConfig,
    pub unban: ThresholdConfig,
}

/// Each class's points in the combined score (`[antinuke.weights]`; 0 = not in the score).
/// Giving a member a role that confers trust or a whitelist is not listed: it is a nuke on its
/// own (threshold 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AntinukeWeights {
    pub channel_delete: u32,
    pub channel_create: u32,
    pub role_delete: u32,
    pub role_create: u32,
    pub ban: u32,
    pub kick: u32,
    pub prune: u32,
    pub webhook_create: u32,
    pub permission_grant: u32,
    pub bot_add: u32,
    pub guild_update: u32,
    pub timeout: u32,
    pub role_remove: u32,
    pub permission_remove: u32,
    pub webhook_change: u32,
    pub expression_delete: u32,
    pub integration_delete: u32,
    pub automod_change: u32,
    pub message_bulk_delete: u32,
    pub unban: u32,
}

impl Default for AntinukeWeights {
    fn default() -> Self {
        Self {
            channel_delete: 25,
            channel_create: 10,
            role_delete: 25,
            role_create: 10,
            ban: 25,
            kick: 25,
            prune: 100,
            webhook_create: 15,
            permission_grant: 50,
            bot_add: 25,
            guild_update: 20,
            timeout: 10,
            role_remove: 10,
            permission_remove: 20,
            webhook_change: 15,
            expression_delete: 15,
            integration_delete: 25,
            automod_change: 25,
            message_bulk_delete: 15,
            unban: 10,
        }
    }
}

impl AntinukeWeights {
    /// Every class's weight with the class's configuration name.
    pub fn entries(&self) -> [(&'static str, u32); 20] {
        [
            ("channel_delete", self.channel_delete),
            ("channel_create", self.channel_create),
            ("role_delete", self.role_delete),
            ("role_create", self.role_create),
            ("ban", self.ban),
            ("kick", self.kick),
            ("prune", self.prune),
            ("webhook_create", self.webhook_create),
            ("permission_grant", self.permission_grant),
            ("bot_add", self.bot_add),
            ("guild_update", self.guild_update),
            ("timeout", self.timeout),
            ("role_remove", self.role_remove),
            ("permission_remove", self.permission_remove),
            ("webhook_change", self.webhook_change),
            ("expression_delete", self.expression_delete),
            ("integration_delete", self.integration_delete),
            ("automod_change", self.automod_change),
            ("message_bulk_delete", self.message_bulk_delete),
            ("unban", self.unban),
        ]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdConfig {
    pub count: u32,
    pub window_seconds: u32,
}

impl ThresholdConfig {
    pub const fn new(count: u32, window_seconds: u32) -> Self {
        Self {
            count,
            window_seconds,
        }
    }
}

impl Default for AntinukeConfig {
    fn default() -> Self {
        Self {
            max_count: 100,
            max_window_seconds: 3600,
            dedupe_slot_seconds: 600,
            snapshot_margin_ms: 1000,
            config_refresh_seconds: 60,
            auto_revert_settle_seconds: 3,
            lockdown_minutes: 60,
            max_score: 1000,
            whitelisted_bot_factor: 5,
            approval_hours: 24,
            thresholds: AntinukeThresholds::default(),
            score: ScoreConfig::default(),
            weights: AntinukeWeights::default(),
        }
    }
}

impl Default for AntinukeThresholds {
    fn default() -> Self {
        Self {
            channel_delete: ThresholdConfig::new(3, 10),
            channel_create: ThresholdConfig::new(6, 10),
            role_delete: ThresholdConfig::new(3, 10),
            role_create: ThresholdConfig::new(6, 10),
            ban: ThresholdConfig::new(3, 10),
            kick: ThresholdConfig::new(3, 10),
            prune: ThresholdConfig::new(1, 60),
            webhook_create: ThresholdConfig::new(3, 30),
            permission_grant: ThresholdConfig::new(1, 10),
            bot_add: ThresholdConfig::new(2, 600),
            guild_update: ThresholdConfig::new(2, 60),
            timeout: ThresholdConfig::new(5, 10),
            role_remove: ThresholdConfig::new(5, 10),
            permission_remove: ThresholdConfig::new(3, 10),
            webhook_change: ThresholdConfig::new(3, 30),
            expression_delete: ThresholdConfig::new(3, 10),
            integration_delete: ThresholdConfig::new(2, 60),
            automod_change: ThresholdConfig::new(2, 60),
            message_bulk_delete: ThresholdConfig::new(3, 10),
            unban: ThresholdConfig::new(5, 10),
        }
    }
}

impl AntinukeThresholds {
    /// Every class's threshold with the class's configuration name.
    pub fn entries(&self) -> [(&'static str, ThresholdConfig); 20] {
        [
            ("channel_delete", self.channel_delete),
            ("channel_create", self.channel_create),
            ("role_delete", self.role_delete),
            ("role_create", self.role_create),
            ("ban", self.ban),
            ("kick", self.kick),
            ("prune", self.prune),
            ("webhook_create", self.webhook_create),
            ("permission_grant", self.permission_grant),
            ("bot_add", self.bot_add),
            ("guild_update", self.guild_update),
            ("timeout", self.timeout),
            ("role_remove", self.role_remove),
            ("permission_remove", self.permission_remove),
            ("webhook_change", self.webhook_change),
            ("expression_delete", self.expression_delete),
            ("integration_delete", self.integration_delete),
            ("automod_change", self.automod_change),
            ("message_bulk_delete", self.message_bulk_delete),
            ("unban", self.unban),
        ]
    }
}
