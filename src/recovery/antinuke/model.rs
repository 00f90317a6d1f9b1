//! Purpose: AntiNuke's rules without I/O — the action classes and how Discord audit-log entries
//! map to them, dangerous permissions, thresholds (defaults from `[antinuke]`, a guild's own
//! bounded by its plan), the combined per-actor score, who is counted (the owner and Umbra
//! never; trusted and whitelisted people not, judged with their roles before the action;
//! whitelisted bots with higher thresholds), punishments, the per-actor sliding windows, the
//! role hierarchy, the lockdown edits, and the record of what an incident destroyed.

use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::{AntinukeConfig, AntinukeThresholds, AntinukeWeights};
use crate::error::UserError;
use crate::guild::{AntinukeSettings, GuildSettings, ThresholdOverride};
use crate::i18n::{Msg, msg};
use crate::licensing::AntinukeFeatures;

/// Discord permission bits AntiNuke cares about.
pub mod perm {
    pub const KICK_MEMBERS: u64 = 1 << 1;
    pub const BAN_MEMBERS: u64 = 1 << 2;
    pub const ADMINISTRATOR: u64 = 1 << 3;
    pub const MANAGE_CHANNELS: u64 = 1 << 4;
    pub const MANAGE_GUILD: u64 = 1 << 5;
    pub const VIEW_AUDIT_LOG: u64 = 1 << 7;
    pub const MANAGE_MESSAGES: u64 = 1 << 13;
    pub const MENTION_EVERYONE: u64 = 1 << 17;
    pub const MANAGE_ROLES: u64 = 1 << 28;
    pub const MANAGE_WEBHOOKS: u64 = 1 << 29;
    pub const MANAGE_GUILD_EXPRESSIONS: u64 = 1 << 30;
    pub const MANAGE_EVENTS: u64 = 1 << 33;
    pub const MANAGE_THREADS: u64 = 1 << 34;
    pub const MODERATE_MEMBERS: u64 = 1 << 40;
    /// Granting any of these is a "dangerous permission grant".
    pub const DANGEROUS: u64 = ADMINISTRATOR
        | MANAGE_GUILD
        | MANAGE_ROLES
        | MANAGE_CHANNELS
        | BAN_MEMBERS
        | KICK_MEMBERS
        | MANAGE_WEBHOOKS
        | MENTION_EVERYONE
        | MODERATE_MEMBERS
        | MANAGE_MESSAGES
        | MANAGE_GUILD_EXPRESSIONS
        | MANAGE_THREADS
        | MANAGE_EVENTS;
    /// What Umbra itself needs to protect a guild (ADMINISTRATOR implies them all).
    pub const PROTECTION: [(u64, &str); 4] = [
        (VIEW_AUDIT_LOG, "view_audit_log"),
        (BAN_MEMBERS, "ban_members"),
        (KICK_MEMBERS, "kick_members"),
        (MANAGE_ROLES, "manage_roles"),
    ];
}

/// Discord audit-log action types AntiNuke reads.
pub mod audit {
    pub const GUILD_UPDATE: u8 = 1;
    pub const CHANNEL_CREATE: u8 = 10;
    pub const CHANNEL_UPDATE: u8 = 11;
    pub const CHANNEL_DELETE: u8 = 12;
    /// A thread or forum post deleted (counted as a channel deletion).
    pub const THREAD_DELETE: u8 = 112;
    pub const CHANNEL_OVERWRITE_CREATE: u8 = 13;
    pub const CHANNEL_OVERWRITE_UPDATE: u8 = 14;
    pub const MEMBER_KICK: u8 = 20;
    pub const MEMBER_PRUNE: u8 = 21;
    pub const MEMBER_BAN_ADD: u8 = 22;
    pub const MEMBER_BAN_REMOVE: u8 = 23;
    pub const MEMBER_UPDATE: u8 = 24;
    pub const MEMBER_ROLE_UPDATE: u8 = 25;
    pub const BOT_ADD: u8 = 28;
    pub const ROLE_CREATE: u8 = 30;
    pub const ROLE_UPDATE: u8 = 31;
    pub const ROLE_DELETE: u8 = 32;
    pub const WEBHOOK_CREATE: u8 = 50;
    pub const WEBHOOK_UPDATE: u8 = 51;
    pub const WEBHOOK_DELETE: u8 = 52;
    pub const EMOJI_DELETE: u8 = 62;
    pub const MESSAGE_BULK_DELETE: u8 = 73;
    pub const INTEGRATION_DELETE: u8 = 82;
    pub const STICKER_DELETE: u8 = 92;
    pub const AUTO_MODERATION_RULE_UPDATE: u8 = 141;
    pub const AUTO_MODERATION_RULE_DELETE: u8 = 142;
}

/// The audit-log reason prefix of Umbra's own AntiNuke actions.
pub const REASON_PREFIX: &str = "Umbra AntiNuke";

/// A kind of destructive action, counted per actor in its own window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionClass {
    ChannelDelete,
    ChannelCreate,
    RoleDelete,
    RoleCreate,
    Ban,
    Kick,
    Prune,
    WebhookCreate,
    PermissionGrant,
    BotAdd,
    GuildUpdate,
    Timeout,
    RoleRemove,
    PermissionRemove,
    WebhookChange,
    ExpressionDelete,
    IntegrationDelete,
    AutomodChange,
    MessageBulkDelete,
    Unban,
    /// A role that the owner trusts or whitelisted given to someone by anyone but the owner: a
    /// nuke on its own (threshold 1), counted even for trusted and whitelisted actors.
    TrustGrant,
}

impl ActionClass {
    pub const COUNT: usize = 21;
    pub const ALL: [ActionClass; Self::COUNT] = [
        ActionClass::ChannelDelete,
        ActionClass::ChannelCreate,
        ActionClass::RoleDelete,
        ActionClass::RoleCreate,
        ActionClass::Ban,
        ActionClass::Kick,
        ActionClass::Prune,
        ActionClass::WebhookCreate,
        ActionClass::PermissionGrant,
        ActionClass::BotAdd,
        ActionClass::GuildUpdate,
        ActionClass::Timeout,
        ActionClass::RoleRemove,
        ActionClass::PermissionRemove,
        ActionClass::WebhookChange,
        ActionClass::ExpressionDelete,
        ActionClass::IntegrationDelete,
        ActionClass::AutomodChange,
        ActionClass::MessageBulkDelete,
        ActionClass::Unban,
        ActionClass::TrustGrant,
    ];

    /// The stored name (`antinuke_incidents.action_class`, threshold keys, `[antinuke.thresholds]`).
    pub fn as_str(self) -> &'static str {
        match self {
            ActionClass::ChannelDelete => "channel_delete",
            ActionClass::ChannelCreate => "channel_create",
            ActionClass::RoleDelete => "role_delete",
            ActionClass::RoleCreate => "role_create",
            ActionClass::Ban => "ban",
            ActionClass::Kick => "kick",
            ActionClass::Prune => "prune",
            ActionClass::WebhookCreate => "webhook_create",
            ActionClass::PermissionGrant => "permission_grant",
            ActionClass::BotAdd => "bot_add",
            ActionClass::GuildUpdate => "guild_update",
            ActionClass::Timeout => "timeout",
            ActionClass::RoleRemove => "role_remove",
            ActionClass::PermissionRemove => "permission_remove",
            ActionClass::WebhookChange => "webhook_change",
            ActionClass::ExpressionDelete => "expression_delete",
            ActionClass::IntegrationDelete => "integration_delete",
            ActionClass::AutomodChange => "automod_change",
            ActionClass::MessageBulkDelete => "message_bulk_delete",
            ActionClass::Unban => "unban",
            ActionClass::TrustGrant => "trust_grant",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn index(self) -> usize {
        self as usize
    }

    /// Whether a guild may change this class's threshold (a trust grant is always 1).
    pub fn configurable(self) -> bool {
        self != ActionClass::TrustGrant
    }

    /// The class's display name.
    pub fn name_msg(self) -> Msg {
        match self {
            ActionClass::ChannelDelete => msg::ANTINUKE_CLASS_CHANNEL_DELETE,
            ActionClass::ChannelCreate => msg::ANTINUKE_CLASS_CHANNEL_CREATE,
            ActionClass::RoleDelete => msg::ANTINUKE_CLASS_ROLE_DELETE,
            ActionClass::RoleCreate => msg::ANTINUKE_CLASS_ROLE_CREATE,
            ActionClass::Ban => msg::ANTINUKE_CLASS_BAN,
            ActionClass::Kick => msg::ANTINUKE_CLASS_KICK,
            ActionClass::Prune => msg::ANTINUKE_CLASS_PRUNE,
            ActionClass::WebhookCreate => msg::ANTINUKE_CLASS_WEBHOOK_CREATE,
            ActionClass::PermissionGrant => msg::ANTINUKE_CLASS_PERMISSION_GRANT,
            ActionClass::BotAdd => msg::ANTINUKE_CLASS_BOT_ADD,
            ActionClass::GuildUpdate => msg::ANTINUKE_CLASS_GUILD_UPDATE,
            ActionClass::Timeout => msg::ANTINUKE_CLASS_TIMEOUT,
            ActionClass::RoleRemove => msg::ANTINUKE_CLASS_ROLE_REMOVE,
            ActionClass::PermissionRemove => msg::ANTINUKE_CLASS_PERMISSION_REMOVE,
            ActionClass::WebhookChange => msg::ANTINUKE_CLASS_WEBHOOK_CHANGE,
            ActionClass::ExpressionDelete => msg::ANTINUKE_CLASS_EXPRESSION_DELETE,
            ActionClass::IntegrationDelete => msg::ANTINUKE_CLASS_INTEGRATION_DELETE,
            ActionClass::AutomodChange => msg::ANTINUKE_CLASS_AUTOMOD_CHANGE,
            ActionClass::MessageBulkDelete => msg::ANTINUKE_CLASS_MESSAGE_BULK_DELETE,
            ActionClass::Unban => msg::ANTINUKE_CLASS_UNBAN,
            ActionClass::TrustGrant => msg::ANTINUKE_CLASS_TRUST_GRANT,
        }
    }
}

/// The part of an audit-log change AntiNuke reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditChange {
    /// A role's permissions.
    Permissions {
        old: Option<u64>,
        new: Option<u64>,
    },
    /// A channel overwrite's allowed permissions.
    Allow {
        old: Option<u64>,
        new: Option<u64>,
    },
    /// A channel's overwrites (their allowed permissions) after a create or update.
    Overwrites(Vec<u64>),
    RolesAdded(Vec<u64>),
    RolesRemoved(Vec<u64>),
    /// A member's timeout, `None`: lifted.
    TimeoutUntil(Option<DateTime<Utc>>),
    /// An AutoMod rule turned on or off.
    Enabled(Option<bool>),
    Name,
    VanityUrlCode,
    Other,
}

/// What one audit-log entry counts for (usually one class or none; a role created with
/// dangerous permissions counts as a creation and as a grant).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Classified {
    pub classes: Vec<ActionClass>,
    /// Roles given to a member that carry dangerous permissions (a grant to take back).
    pub dangerous_roles: Vec<u64>,
    /// Roles given to a member that confer trust or a whitelist.
    pub trust_roles: Vec<u64>,
}

/// The action classes one audit-log entry counts for. `role_permissions` looks up a role's
/// current permissions (for roles given to a member); `confers_trust` says whether a role is
/// trusted or whitelisted.
pub fn classify(
    action_type: u8,
    changes: &[AuditChange],
    role_permissions: impl Fn(u64) -> Option<u64>,
    confers_trust: impl Fn(u64) -> bool,
) -> Classified {
    let grants = |old: Option<u64>, new: Option<u64>| {
        new.unwrap_or(0) & !old.unwrap_or(0) & perm::DANGEROUS != 0
    };
    let permission_grant = changes.iter().any(|c| match c {
        AuditChange::Permissions { old, new } | AuditChange::Allow { old, new } => {
            grants(*old, *new)
        }
        AuditChange::Overwrites(allows) => allows.iter().any(|a| a & perm::DANGEROUS != 0),
        _ => false,
    });
    let permission_loss = changes.iter().any(|c| match c {
        AuditChange::Permissions {
            old: Some(old),
            new: Some(new),
        } => old & !new != 0,
        _ => false,
    });
    let one = |c: ActionClass| Classified {
        classes: vec![c],
        ..Default::default()
    };
    let some = |classes: Vec<ActionClass>| Classified {
        classes,
        ..Default::default()
    };
    match action_type {
        // Any change of the guild's settings: name, vanity URL, verification level, system
        // channel, community settings, MFA, ...
        audit::GUILD_UPDATE if !changes.is_empty() => one(ActionClass::GuildUpdate),
        audit::CHANNEL_CREATE if permission_grant => some(vec![
            ActionClass::ChannelCreate,
            ActionClass::PermissionGrant,
        ]),
        audit::CHANNEL_CREATE => one(ActionClass::ChannelCreate),
        audit::CHANNEL_UPDATE
        | audit::CHANNEL_OVERWRITE_CREATE
        | audit::CHANNEL_OVERWRITE_UPDATE
            if permission_grant =>
        {
            one(ActionClass::PermissionGrant)
        }
        audit::CHANNEL_DELETE | audit::THREAD_DELETE => one(ActionClass::ChannelDelete),
        audit::MEMBER_KICK => one(ActionClass::Kick),
        audit::MEMBER_PRUNE => one(ActionClass::Prune),
        audit::MEMBER_BAN_ADD => one(ActionClass::Ban),
        audit::MEMBER_BAN_REMOVE => one(ActionClass::Unban),
        audit::MEMBER_UPDATE
            if changes.iter().any(
                |c| matches!(c, AuditChange::TimeoutUntil(Some(until)) if *until > Utc::now()),
            ) =>
        {
            one(ActionClass::Timeout)
        }
        audit::MEMBER_ROLE_UPDATE => {
            let mut out = Classified::default();
            for change in changes {
                match change {
                    AuditChange::RolesAdded(roles) => {
                        for r in roles {
                            if confers_trust(*r) {
                                out.trust_roles.push(*r);
                            }
                            if role_permissions(*r).unwrap_or(0) & perm::DANGEROUS != 0 {
                                out.dangerous_roles.push(*r);
                            }
                        }
                    }
                    AuditChange::RolesRemoved(roles)
                        if !roles.is_empty() && !out.classes.contains(&ActionClass::RoleRemove) =>
                    {
                        out.classes.push(ActionClass::RoleRemove);
                    }
                    _ => {}
                }
            }
            if !out.trust_roles.is_empty() {
                out.classes.push(ActionClass::TrustGrant);
            }
            if !out.dangerous_roles.is_empty() {
                out.classes.push(ActionClass::PermissionGrant);
            }
            out
        }
        audit::BOT_ADD => one(ActionClass::BotAdd),
        audit::ROLE_CREATE if permission_grant => {
            some(vec![ActionClass::RoleCreate, ActionClass::PermissionGrant])
        }
        audit::ROLE_CREATE => one(ActionClass::RoleCreate),
        audit::ROLE_UPDATE => {
            let mut classes = Vec::new();
            if permission_grant {
                classes.push(ActionClass::PermissionGrant);
            }
            if permission_loss {
                classes.push(ActionClass::PermissionRemove);
            }
            some(classes)
        }
        audit::ROLE_DELETE => one(ActionClass::RoleDelete),
        audit::WEBHOOK_CREATE => one(ActionClass::WebhookCreate),
        audit::WEBHOOK_UPDATE | audit::WEBHOOK_DELETE => one(ActionClass::WebhookChange),
        audit::EMOJI_DELETE | audit::STICKER_DELETE => one(ActionClass::ExpressionDelete),
        audit::INTEGRATION_DELETE => one(ActionClass::IntegrationDelete),
        audit::AUTO_MODERATION_RULE_DELETE => one(ActionClass::AutomodChange),
        audit::AUTO_MODERATION_RULE_UPDATE
            if changes
                .iter()
                .any(|c| matches!(c, AuditChange::Enabled(Some(false)))) =>
        {
            one(ActionClass::AutomodChange)
        }
        audit::MESSAGE_BULK_DELETE => one(ActionClass::MessageBulkDelete),
        _ => Classified::default(),
    }
}

/// `count` actions within `window` make an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Threshold {
    pub count: u32,
    pub window: Duration,
}

impl Threshold {
    pub fn new(count: u32, window_seconds: u32) -> Self {
        Self {
            count: count.max(1),
            window: Duration::from_secs(u64::from(window_seconds.max(1))),
        }
    }

    pub fn window_seconds(self) -> u64 {
        self.window.as_secs()
    }

    /// The threshold with its count multiplied by `factor` (whitelisted bots).
    pub fn times(self, factor: u32) -> Self {
        Self {
            count: self.count.saturating_mul(factor.max(1)),
            window: self.window,
        }
    }
}

/// The name a guild's combined-score threshold is stored under (`guild_configs.antinuke_thresholds`).
pub const COMBINED: &str = "combined";

/// A threshold per action class, and the combined score's threshold (points within a window)
/// with each class's weight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thresholds {
    classes: [Threshold; ActionClass::COUNT],
    weights: [u32; ActionClass::COUNT],
    score: Threshold,
}

impl Thresholds {
    /// The built-in defaults (`[antinuke.thresholds]`, `[antinuke.weights]`, `[antinuke.score]`).
    pub fn defaults(config: &AntinukeThresholds) -> Self {
        Self::from_config(config, &AntinukeWeights::default(), 100, 10)
    }

    /// The configured defaults of `[antinuke]`.
    pub fn of(config: &AntinukeConfig) -> Self {
        Self::from_config(
            &config.thresholds,
            &config.weights,
            config.score.threshold,
            config.score.window_seconds,
        )
    }

    fn from_config(
        config: &AntinukeThresholds,
        weights: &AntinukeWeights,
        score: u32,
        score_window: u32,
    ) -> Self {
        // A trust grant is always a nuke on its own.
        let mut classes = [Threshold::new(1, 60); ActionClass::COUNT];
        for (name, t) in config.entries() {
            if let Some(class) = ActionClass::parse(name) {
                classes[class.index()] = Threshold::new(t.count, t.window_seconds);
            }
        }
        let mut w = [0; ActionClass::COUNT];
        for (name, weight) in weights.entries() {
            if let Some(class) = ActionClass::parse(name) {
                w[class.index()] = weight;
            }
        }
        Self {
            classes,
            weights: w,
            score: Threshold::new(score, score_window),
        }
    }

    /// The defaults with a guild's own thresholds applied where they are valid; unknown
    /// classes and out-of-bounds values are ignored (they never pass the command's validation).
    pub fn with_overrides(
        mut self,
        overrides: &BTreeMap<String, ThresholdOverride>,
        bounds: &Bounds,
    ) -> Self {
        for (name, o) in overrides {
            if name == COMBINED {
                if bounds.validate_score(o.count, o.window_seconds).is_ok() {
                    self.score = Threshold::new(o.count, o.window_seconds);
                }
            } else if let Some(class) = ActionClass::parse(name)
                && class.configurable()
                && bounds.validate(o.count, o.window_seconds).is_ok()
            {
                self.classes[class.index()] = Threshold::new(o.count, o.window_seconds);
            }
        }
        self
    }

    pub fn get(&self, class: ActionClass) -> Threshold {
        self.classes[class.index()]
    }

    /// The class's points in the combined score.
    pub fn weight(&self, class: ActionClass) -> u32 {
        self.weights[class.index()]
    }

    /// The combined score's threshold (points) and window.
    pub fn score(&self) -> Threshold {
        self.score
    }

    /// The longest window of any class or of the score (how long actions are remembered).
    pub fn longest_window(&self) -> Duration {
        self.classes
            .iter()
            .map(|t| t.window)
            .chain(std::iter::once(self.score.window))
            .max()
            .unwrap_or(Duration::from_secs(1))
    }
}

/// What a guild may set as its own threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    pub max_count: u32,
    pub max_window_seconds: u32,
    pub max_score: u32,
}

impl Bounds {
    pub fn of(config: &AntinukeConfig) -> Self {
        Self {
            max_count: config.max_count,
            max_window_seconds: config.max_window_seconds,
            max_score: config.max_score,
        }
    }

    /// A threshold a person typed, checked against the bounds.
    pub fn validate(
        &self,
        count: u32,
        window_seconds: u32,
    ) -> Result<ThresholdOverride, UserError> {
        self.check(count, window_seconds, self.max_count)
    }

    /// A combined-score threshold (points) a person typed, checked against the bounds.
    pub fn validate_score(
        &self,
        points: u32,
        window_seconds: u32,
    ) -> Result<ThresholdOverride, UserError> {
        self.check(points, window_seconds, self.max_score)
    }

    fn check(
        &self,
        count: u32,
        window_seconds: u32,
        max: u32,
    ) -> Result<ThresholdOverride, UserError> {
        if (1..=max).contains(&count) && (1..=self.max_window_seconds).contains(&window_seconds) {
            Ok(ThresholdOverride {
                count,
                window_seconds,
            })
        } else {
            Err(UserError::new(msg::ERROR_ANTINUKE_THRESHOLD_BOUNDS)
                .with("max_count", max)
                .with("max_window", self.max_window_seconds))
        }
    }
}

/// The first response to a detected nuker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Punishment {
    /// Take every role away in one member edit (reversible: "False positive" gives them back).
    StripRoles,
    /// Take every role away and give the quarantine role.
    Quarantine,
    Kick,
    Ban,
}

impl Punishment {
    pub const ALL: [Punishment; 4] = [
        Punishment::StripRoles,
        Punishment::Quarantine,
        Punishment::Kick,
        Punishment::Ban,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Punishment::StripRoles => "strip_roles",
            Punishment::Quarantine => "quarantine",
            Punishment::Kick => "kick",
            Punishment::Ban => "ban",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    pub fn name_msg(self) -> Msg {
        match self {
            Punishment::StripRoles => msg::ANTINUKE_PUNISHMENT_STRIP_ROLES,
            Punishment::Quarantine => msg::ANTINUKE_PUNISHMENT_QUARANTINE,
            Punishment::Kick => msg::ANTINUKE_PUNISHMENT_KICK,
            Punishment::Ban => msg::ANTINUKE_PUNISHMENT_BAN,
        }
    }

    /// Whether the actor keeps their membership (their roles can be given back).
    pub fn reversible(self) -> bool {
        matches!(self, Punishment::StripRoles | Punishment::Quarantine)
    }
}

/// What applies in a guild right now: its settings bounded by its plan, with the exempt users
/// and roles. Built off the event path; the detector only reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub enabled: bool,
    pub owner_id: u64,
    pub thresholds: Thresholds,
    pub punishment: Punishment,
    pub quarantine_role_id: Option<u64>,
    pub lockdown: bool,
    pub auto_revert: bool,
    /// Trusted users and whitelisted users.
    pub exempt_users: HashSet<u64>,
    /// Trusted roles and whitelisted roles: the roles that confer trust or a whitelist.
    pub exempt_roles: HashSet<u64>,
    /// Thresholds of a trusted or whitelisted bot are multiplied by this.
    pub bot_factor: u32,
    /// What the plan took away from the settings (shown by `/antinuke status`).
    pub limited: Vec<Limit>,
}

/// A setting the plan does not include (the setting is kept, not applied).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Detection,
    Punishment(Punishment),
    Lockdown,
    AutoRevert,
    CustomThresholds,
}

/// How an actor's actions are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// The owner, a trusted or whitelisted person: not counted (trust grants aside).
    Exempt,
    /// Counted, every threshold multiplied by the factor (1 for everyone; more for a trusted or
    /// whitelisted bot).
    Counted(u32),
}

impl Policy {
    /// The policy of a guild: `settings` (trusted users/roles), `antinuke` (its AntiNuke
    /// settings) and `features` (its plan's AntiNuke features).
    pub fn resolve(
        owner_id: u64,
        settings: &GuildSettings,
        antinuke: &AntinukeSettings,
        features: &AntinukeFeatures,
        config: &AntinukeConfig,
    ) -> Self {
        let mut limited = Vec::new();
        let defaults = Thresholds::of(config);
        let thresholds = if antinuke.thresholds.is_empty() {
            defaults
        } else if features.custom_thresholds {
            defaults.with_overrides(&antinuke.thresholds, &Bounds::of(config))
        } else {
            limited.push(Limit::CustomThresholds);
            defaults
        };
        let wanted = Punishment::parse(&antinuke.punishment).unwrap_or(Punishment::StripRoles);
        let allowed = |p: Punishment| features.punishments.iter().any(|x| x == p.as_str());
        let mut punishment = if allowed(wanted) {
            wanted
        } else {
            limited.push(Limit::Punishment(wanted));
            Punishment::StripRoles
        };
        if punishment == Punishment::Quarantine && antinuke.quarantine_role_id.is_none() {
            punishment = Punishment::StripRoles;
        }
        if !features.detection && antinuke.enabled {
            limited.push(Limit::Detection);
        }
        if antinuke.lockdown && !features.lockdown {
            limited.push(Limit::Lockdown);
        }
        if antinuke.auto_revert && !features.auto_revert {
            limited.push(Limit::AutoRevert);
        }
        Self {
            enabled: antinuke.enabled && features.detection,
            owner_id,
            thresholds,
            punishment,
            quarantine_role_id: antinuke.quarantine_role_id,
            lockdown: antinuke.lockdown && features.lockdown,
            auto_revert: antinuke.auto_revert && features.auto_revert,
            exempt_users: settings
                .trusted_user_ids
                .iter()
                .chain(&antinuke.whitelist_user_ids)
                .copied()
                .collect(),
            exempt_roles: settings
                .trusted_role_ids
                .iter()
                .chain(&antinuke.whitelist_role_ids)
                .copied()
                .collect(),
            bot_factor: config.whitelisted_bot_factor.max(1),
            limited,
        }
    }

    /// Whether `user` with `roles` is never counted (a person; Umbra itself is checked by the
    /// caller). `roles` must be the roles held BEFORE the action being judged.
    pub fn exempts(&self, user: u64, roles: &[u64]) -> bool {
        user == self.owner_id || self.listed(user, roles)
    }

    /// Whether `user` (or one of `roles`) is trusted or whitelisted.
    fn listed(&self, user: u64, roles: &[u64]) -> bool {
        self.exempt_users.contains(&user) || roles.iter().any(|r| self.exempt_roles.contains(r))
    }

    /// How the actions of `user` with `roles` (held before the action) are treated: the owner
    /// and listed people are exempt, listed bots are counted with higher thresholds, everyone
    /// else is counted.
    pub fn standing(&self, user: u64, roles: &[u64], is_bot: bool) -> Standing {
        if user == self.owner_id {
            Standing::Exempt
        } else if !self.listed(user, roles) {
            Standing::Counted(1)
        } else if is_bot {
            Standing::Counted(self.bot_factor)
        } else {
            Standing::Exempt
        }
    }

    /// Whether `role` confers trust or a whitelist.
    pub fn confers_trust(&self, role: u64) -> bool {
        self.exempt_roles.contains(&role)
    }
}

/// One actor's recent actions per class, and their weighted sum (sliding windows of arrival
/// times).
#[derive(Debug, Default)]
pub struct Windows {
    hits: [VecDeque<Instant>; ActionClass::COUNT],
    score: VecDeque<(Instant, u32)>,
}

impl Windows {
    /// Records an action of `class` at `now` and returns how many fall within `threshold`'s
    /// window (this one included).
    pub fn hit(&mut self, class: ActionClass, now: Instant, threshold: Threshold) -> u32 {
        let q = &mut self.hits[class.index()];
        q.push_back(now);
        while let Some(front) = q.front() {
            if now.saturating_duration_since(*front) >= threshold.window {
                q.pop_front();
            } else {
                break;
            }
        }
        // A window never needs more than `count` entries to decide.
        let cap = usize::try_from(threshold.count)
            .unwrap_or(usize::MAX)
            .max(1);
        while q.len() > cap {
            q.pop_front();
        }
        u32::try_from(q.len()).unwrap_or(u32::MAX)
    }

    /// Adds `points` at `now` and returns the points within `window` (these included).
    pub fn add_points(&mut self, points: u32, now: Instant, window: Duration) -> u32 {
        if points > 0 {
            self.score.push_back((now, points));
        }
        while let Some((t, _)) = self.score.front() {
            if now.saturating_duration_since(*t) >= window {
                self.score.pop_front();
            } else {
                break;
            }
        }
        self.score
            .iter()
            .fold(0u32, |sum, (_, p)| sum.saturating_add(*p))
    }

    /// Whether every window is empty after dropping what is older than `longest`.
    pub fn expire(&mut self, now: Instant, longest: Duration) -> bool {
        for q in &mut self.hits {
            while let Some(front) = q.front() {
                if now.saturating_duration_since(*front) >= longest {
                    q.pop_front();
                } else {
                    break;
                }
            }
        }
        while let Some((t, _)) = self.score.front() {
            if now.saturating_duration_since(*t) >= longest {
                self.score.pop_front();
            } else {
                break;
            }
        }
        self.hits.iter().all(VecDeque::is_empty) && self.score.is_empty()
    }
}

/// What crossed a threshold: one class, or the combined score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crossed {
    Class(ActionClass, u32),
    /// The combined score (points).
    Score(u32),
}

impl Crossed {
    /// The stored class name (`combined` for the score).
    pub fn as_str(self) -> &'static str {
        match self {
            Crossed::Class(c, _) => c.as_str(),
            Crossed::Score(_) => COMBINED,
        }
    }

    pub fn count(self) -> u32 {
        match self {
            Crossed::Class(_, n) | Crossed::Score(n) => n,
        }
    }
}

/// One counted action of an actor.
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    pub class: ActionClass,
    pub target: Option<u64>,
    pub at: DateTime<Utc>,
    /// The target is a role (else a member, channel, webhook, ...).
    pub role_target: bool,
    /// For grants to a member: the roles given that are dangerous or confer trust.
    pub roles: Vec<u64>,
}

/// What an actor destroyed or changed, by kind (`antinuke_incidents.destroyed`): what "Restore
/// what was destroyed" brings back, and what the response cleaned up.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Destroyed {
    pub channels_deleted: BTreeSet<u64>,
    pub roles_deleted: BTreeSet<u64>,
    pub channels_created: BTreeSet<u64>,
    pub roles_created: BTreeSet<u64>,
    pub roles_granted: BTreeSet<u64>,
    pub members_granted: BTreeSet<u64>,
    pub banned: BTreeSet<u64>,
    pub kicked: BTreeSet<u64>,
    pub webhooks_created: BTreeSet<u64>,
    pub bots_added: BTreeSet<u64>,
    pub prunes: u32,
    pub guild_changed: bool,
    /// Roles lockdown took dangerous permissions from, with their permissions before.
    pub roles_locked: BTreeMap<u64, u64>,
    /// Member -> the dangerous roles the actor gave them (taken back by the response).
    pub grants: BTreeMap<u64, BTreeSet<u64>>,
    /// Member -> the roles conferring trust or a whitelist the actor gave them (taken back).
    pub trust_grants: BTreeMap<u64, BTreeSet<u64>>,
    /// Channels whose overwrites the actor made grant dangerous permissions.
    pub overwrites_granted: BTreeSet<u64>,
    /// Members timed out.
    pub timed_out: BTreeSet<u64>,
    /// Members who lost roles.
    pub roles_removed: BTreeSet<u64>,
    /// Roles that lost permissions.
    pub permissions_removed: BTreeSet<u64>,
    pub webhooks_changed: BTreeSet<u64>,
    pub expressions_deleted: BTreeSet<u64>,
    pub integrations_deleted: BTreeSet<u64>,
    pub automod_changed: BTreeSet<u64>,
    pub bulk_deletes: u32,
    pub unbanned: BTreeSet<u64>,
    /// What the response cleaned up (given back by "False positive").
    pub cleaned: Cleaned,
}

/// What the response undid of the actor's doing.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Cleaned {
    /// Bots the actor added, removed from the guild.
    pub bots_removed: BTreeSet<u64>,
    /// Member -> roles taken back (dangerous or trust-conferring roles the actor gave).
    pub roles_taken_back: BTreeMap<u64, BTreeSet<u64>>,
}

impl Destroyed {
    /// Adds one action.
    pub fn add(&mut self, action: &Action) {
        let Some(t) = action.target else {
            match action.class {
                ActionClass::Prune => self.prunes += 1,
                ActionClass::GuildUpdate => self.guild_changed = true,
                ActionClass::MessageBulkDelete => self.bulk_deletes += 1,
                _ => {}
            }
            return;
        };
        let set = match action.class {
            ActionClass::ChannelDelete => &mut self.channels_deleted,
            ActionClass::ChannelCreate => &mut self.channels_created,
            ActionClass::RoleDelete => &mut self.roles_deleted,
            ActionClass::RoleCreate => &mut self.roles_created,
            ActionClass::PermissionGrant if action.role_target => &mut self.roles_granted,
            ActionClass::PermissionGrant if !action.roles.is_empty() => {
                self.grants
                    .entry(t)
                    .or_default()
                    .extend(action.roles.iter().copied());
                &mut self.members_granted
            }
            // A channel overwrite (or a channel created with one).
            ActionClass::PermissionGrant => &mut self.overwrites_granted,
            ActionClass::TrustGrant => {
                self.trust_grants
                    .entry(t)
                    .or_default()
                    .extend(action.roles.iter().copied());
                return;
            }
            ActionClass::Ban => &mut self.banned,
            ActionClass::Kick => &mut self.kicked,
            ActionClass::WebhookCreate => &mut self.webhooks_created,
            ActionClass::BotAdd => &mut self.bots_added,
            ActionClass::Timeout => &mut self.timed_out,
            ActionClass::RoleRemove => &mut self.roles_removed,
            ActionClass::PermissionRemove => &mut self.permissions_removed,
            ActionClass::WebhookChange => &mut self.webhooks_changed,
            ActionClass::ExpressionDelete => &mut self.expressions_deleted,
            ActionClass::IntegrationDelete => &mut self.integrations_deleted,
            ActionClass::AutomodChange => &mut self.automod_changed,
            ActionClass::Unban => &mut self.unbanned,
            ActionClass::Prune => {
                self.prunes += 1;
                return;
            }
            ActionClass::GuildUpdate => {
                self.guild_changed = true;
                return;
            }
            ActionClass::MessageBulkDelete => {
                self.bulk_deletes += 1;
                return;
            }
        };
        set.insert(t);
    }

    pub fn merge(&mut self, other: &Destroyed) {
        self.channels_deleted.extend(&other.channels_deleted);
        self.roles_deleted.extend(&other.roles_deleted);
        self.channels_created.extend(&other.channels_created);
        self.roles_created.extend(&other.roles_created);
        self.roles_granted.extend(&other.roles_granted);
        self.members_granted.extend(&other.members_granted);
        self.banned.extend(&other.banned);
        self.kicked.extend(&other.kicked);
        self.webhooks_created.extend(&other.webhooks_created);
        self.bots_added.extend(&other.bots_added);
        self.prunes = self.prunes.max(other.prunes);
        self.guild_changed |= other.guild_changed;
        for (role, permissions) in &other.roles_locked {
            self.roles_locked.entry(*role).or_insert(*permissions);
        }
        merge_map(&mut self.grants, &other.grants);
        merge_map(&mut self.trust_grants, &other.trust_grants);
        self.overwrites_granted.extend(&other.overwrites_granted);
        self.timed_out.extend(&other.timed_out);
        self.roles_removed.extend(&other.roles_removed);
        self.permissions_removed.extend(&other.permissions_removed);
        self.webhooks_changed.extend(&other.webhooks_changed);
        self.expressions_deleted.extend(&other.expressions_deleted);
        self.integrations_deleted
            .extend(&other.integrations_deleted);
        self.automod_changed.extend(&other.automod_changed);
        self.bulk_deletes = self.bulk_deletes.max(other.bulk_deletes);
        self.unbanned.extend(&other.unbanned);
        self.cleaned
            .bots_removed
            .extend(&other.cleaned.bots_removed);
        merge_map(
            &mut self.cleaned.roles_taken_back,
            &other.cleaned.roles_taken_back,
        );
    }

    /// Objects destroyed (deleted, banned, kicked, pruned).
    pub fn destroyed_count(&self) -> usize {
        self.channels_deleted.len()
            + self.roles_deleted.len()
            + self.banned.len()
            + self.kicked.len()
            + usize::try_from(self.prunes).unwrap_or(0)
            + self.expressions_deleted.len()
            + self.integrations_deleted.len()
            + self.automod_changed.len()
            + self.webhooks_changed.len()
            + usize::try_from(self.bulk_deletes).unwrap_or(0)
    }

    /// Everything recorded (destroyed, created or changed).
    pub fn total(&self) -> usize {
        self.destroyed_count()
            + self.channels_created.len()
            + self.roles_created.len()
            + self.roles_granted.len()
            + self.members_granted.len()
            + self.webhooks_created.len()
            + self.bots_added.len()
            + usize::from(self.guild_changed)
            + self.trust_grants.len()
            + self.overwrites_granted.len()
            + self.timed_out.len()
            + self.roles_removed.len()
            + self.permissions_removed.len()
            + self.unbanned.len()
    }

    /// What the response should take back: member -> roles (dangerous or trust-conferring roles
    /// the actor gave), without what was already taken back.
    pub fn grants_to_take_back(&self) -> BTreeMap<u64, BTreeSet<u64>> {
        let mut out: BTreeMap<u64, BTreeSet<u64>> = BTreeMap::new();
        for (member, roles) in self.grants.iter().chain(&self.trust_grants) {
            let done = self.cleaned.roles_taken_back.get(member);
            let left: BTreeSet<u64> = roles
                .iter()
                .filter(|r| done.is_none_or(|d| !d.contains(r)))
                .copied()
                .collect();
            if !left.is_empty() {
                out.entry(*member).or_default().extend(left);
            }
        }
        out
    }

    /// Bots the actor added that the response has not removed yet.
    pub fn bots_to_remove(&self) -> Vec<u64> {
        self.bots_added
            .difference(&self.cleaned.bots_removed)
            .copied()
            .collect()
    }
}

fn merge_map(into: &mut BTreeMap<u64, BTreeSet<u64>>, from: &BTreeMap<u64, BTreeSet<u64>>) {
    for (k, v) in from {
        into.entry(*k).or_default().extend(v.iter().copied());
    }
}

/// An incident's time slot: detections of one actor in one slot are one incident.
pub fn dedupe_slot(at: DateTime<Utc>, slot_seconds: u64) -> i64 {
    let slot = i64::try_from(slot_seconds.max(1)).unwrap_or(i64::MAX);
    at.timestamp().div_euclid(slot)
}

/// A member's or role's place in the hierarchy: (position, then the LOWER id ranks higher).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rank(pub i64, pub std::cmp::Reverse<u64>);

impl Rank {
    pub fn of(position: i64, id: u64) -> Self {
        Rank(position, std::cmp::Reverse(id))
    }
}

/// Whether the bot (highest role `bot`) can act on a member whose highest role is `target`
/// (`None`: no role, i.e. @everyone only).
pub fn outranks(bot: Option<Rank>, target: Option<Rank>) -> bool {
    match (bot, target) {
        (Some(b), Some(t)) => b > t,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

/// A role as lockdown sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleInfo {
    pub id: u64,
    pub permissions: u64,
    pub managed: bool,
    pub rank: Rank,
}

/// Lockdown: the roles (below the bot, not managed, not exempt) that hold dangerous permissions,
/// with their permissions without them.
pub fn lockdown_edits(
    roles: &[RoleInfo],
    bot: Option<Rank>,
    exempt: &HashSet<u64>,
) -> Vec<(u64, u64)> {
    roles
        .iter()
        .filter(|r| {
            !r.managed
                && !exempt.contains(&r.id)
                && r.permissions & perm::DANGEROUS != 0
                && outranks(bot, Some(r.rank))
        })
        .map(|r| (r.id, r.permissions & !perm::DANGEROUS))
        .collect()
}

/// Why AntiNuke cannot fully protect a guild (`/umbra status`, the owner's DM).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Health {
    /// Permissions Umbra lacks (`view_audit_log`, `ban_members`, `kick_members`, `manage_roles`).
    pub missing: Vec<String>,
    /// Members with dangerous permissions whose highest role is at or above Umbra's (they could
    /// not be punished), at most a few listed.
    pub above: Vec<u64>,
    /// How many such members in all.
    pub above_count: usize,
}

impl Health {
    pub fn degraded(&self) -> bool {
        !self.missing.is_empty() || self.above_count > 0
    }
}

/// A member as the health check sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberInfo {
    pub id: u64,
    pub roles: Vec<u64>,
}

/// Protection health: what Umbra (with `bot_roles`) is missing, and the members it would have
/// to punish (not the owner, not exempt, holding dangerous permissions) that rank at or above
/// it. `everyone` is the @everyone role (its id is the guild's).
pub fn health(
    roles: &[RoleInfo],
    everyone: u64,
    bot_roles: &[u64],
    members: &[MemberInfo],
    policy: &Policy,
) -> Health {
    let permissions = |held: &[u64]| {
        roles
            .iter()
            .filter(|r| r.id == everyone || held.contains(&r.id))
            .fold(0u64, |p, r| p | r.permissions)
    };
    let top = |held: &[u64]| {
        roles
            .iter()
            .filter(|r| r.id != everyone && held.contains(&r.id))
            .map(|r| r.rank)
            .max()
    };
    let bot_permissions = permissions(bot_roles);
    let admin = bot_permissions & perm::ADMINISTRATOR != 0;
    let missing = perm::PROTECTION
        .iter()
        .filter(|(bit, _)| !admin && bot_permissions & bit == 0)
        .map(|(_, name)| (*name).to_owned())
        .collect();
    let bot = top(bot_roles);
    let mut above: Vec<u64> = members
        .iter()
        .filter(|m| {
            m.id != policy.owner_id
                && !policy.exempts(m.id, &m.roles)
                && permissions(&m.roles) & perm::DANGEROUS != 0
                && !outranks(bot, top(&m.roles))
        })
        .map(|m| m.id)
        .collect();
    above.sort_unstable();
    let above_count = above.len();
    above.truncate(5);
    Health {
        missing,
        above,
        above_count,
    }
}

/// An incident's state (`antinuke_incidents.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentStatus {
    Open,
    Restoring,
    Resolved,
    FalsePositive,
}

impl IncidentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentStatus::Open => "open",
            IncidentStatus::Restoring => "restoring",
            IncidentStatus::Resolved => "resolved",
            IncidentStatus::FalsePositive => "false_positive",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            IncidentStatus::Open,
            IncidentStatus::Restoring,
            IncidentStatus::Resolved,
            IncidentStatus::FalsePositive,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }

    pub fn name_msg(self) -> Msg {
        match self {
            IncidentStatus::Open => msg::ANTINUKE_STATUS_OPEN,
            IncidentStatus::Restoring => msg::ANTINUKE_STATUS_RESTORING,
            IncidentStatus::Resolved => msg::ANTINUKE_STATUS_RESOLVED,
            IncidentStatus::FalsePositive => msg::ANTINUKE_STATUS_FALSE_POSITIVE,
        }
    }
}

/// The audit-log reason of a punishment: names the incident, what crossed which threshold and
/// the roles taken, so the owner — and Umbra after a crash ([`parse_punishment_reason`]) — can
/// see what was done in Discord's own audit log.
pub fn punishment_reason(
    incident: uuid::Uuid,
    crossed: &str,
    count: u32,
    stripped: &[u64],
) -> String {
    let mut reason = format!("{REASON_PREFIX}: incident {incident}: {count} x {crossed} ");
    if !stripped.is_empty() {
        reason.push_str("; roles taken: ");
        let ids: Vec<String> = stripped.iter().map(u64::to_string).collect();
        reason.push_str(&ids.join(","));
    }
    // Discord keeps at most 512 characters.
    reason.chars().take(512).collect()
}

/// The reason of Umbra's other AntiNuke actions for an incident (lockdown, clean-up): never
/// mistaken for a punishment by [`parse_punishment_reason`].
pub fn action_reason(incident: uuid::Uuid, what: &str) -> String {
    format!("{REASON_PREFIX}: {what} for incident {incident}")
}

/// A punishment read back from Discord's audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PunishmentRecord {
    pub incident: uuid::Uuid,
    pub crossed: String,
    pub count: u32,
    pub stripped: Vec<u64>,
}

/// Parses a reason written by [`punishment_reason`] (`None` for anything else).
pub fn parse_punishment_reason(reason: &str) -> Option<PunishmentRecord> {
    let rest = reason
        .strip_prefix(REASON_PREFIX)?
        .strip_prefix(": incident ")?;
    let (id, rest) = rest.split_once(": ")?;
    let incident = uuid::Uuid::parse_str(id.trim()).ok()?;
    let (head, roles) = match rest.split_once("; roles taken: ") {
        Some((h, r)) => (h, Some(r)),
        None => (rest, None),
    };
    let (count, crossed) = head.trim().split_once(" x ")?;
    let count: u32 = count.trim().parse().ok()?;
    let crossed = crossed.trim();
    if crossed != COMBINED && ActionClass::parse(crossed).is_none() {
        return None;
    }
    let stripped = roles
        .map(|r| {
            r.split(',')
                .filter_map(|id| id.trim().parse::<u64>().ok())
                .collect()
        })
        .unwrap_or_default();
    Some(PunishmentRecord {
        incident,
        crossed: crossed.to_owned(),
        count,
        stripped,
    })
}

#[cfg(test)]
mod props;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AntinukeConfig;

    fn features(punishments: &[&str], custom: bool) -> AntinukeFeatures {
        AntinukeFeatures {
            detection: true,
            punishments: punishments.iter().map(|p| (*p).to_owned()).collect(),
            lockdown: false,
            auto_revert: false,
            custom_thresholds: custom,
        }
    }

    fn antinuke(punishment: &str) -> AntinukeSettings {
        AntinukeSettings {
            enabled: true,
            punishment: punishment.into(),
            ..Default::default()
        }
    }

    #[test]
    fn every_class_round_trips_through_its_name_and_has_a_default() {
        let config = AntinukeConfig::default();
        let names: Vec<&str> = config
            .thresholds
            .entries()
            .iter()
            .map(|(n, _)| *n)
            .collect();
        for class in ActionClass::ALL {
            assert_eq!(ActionClass::parse(class.as_str()), Some(class));
            assert_eq!(
                names.contains(&class.as_str()),
                class.configurable(),
                "{class:?}: every configurable class has a default, a trust grant has none"
            );
        }
        assert_eq!(names.len(), ActionClass::COUNT - 1);
        let weights: Vec<&str> = config.weights.entries().iter().map(|(n, _)| *n).collect();
        assert_eq!(weights, names, "every configurable class has a weight");
        assert!(ActionClass::parse("channel_deleted").is_none());
    }

    #[test]
    fn the_threshold_fires_on_the_nth_action_inside_the_window_only() {
        let t = Threshold::new(3, 10);
        let mut w = Windows::default();
        let start = Instant::now();
        assert_eq!(w.hit(ActionClass::ChannelDelete, start, t), 1);
        assert_eq!(
            w.hit(
                ActionClass::ChannelDelete,
                start + Duration::from_secs(4),
                t
            ),
            2
        );
        // The first falls out of the window: still two.
        assert_eq!(
            w.hit(
                ActionClass::ChannelDelete,
                start + Duration::from_secs(11),
                t
            ),
            2
        );
        assert_eq!(
            w.hit(
                ActionClass::ChannelDelete,
                start + Duration::from_secs(12),
                t
            ),
            3
        );
        // Classes have their own windows.
        assert_eq!(
            w.hit(ActionClass::Ban, start + Duration::from_secs(12), t),
            1
        );
        assert!(!w.expire(start + Duration::from_secs(15), Duration::from_secs(10)));
        assert!(w.expire(start + Duration::from_secs(40), Duration::from_secs(10)));
    }

    #[test]
    fn ten_deletions_in_two_seconds_cross_the_default_channel_threshold_at_the_third() {
        let thresholds = Thresholds::defaults(&AntinukeConfig::default().thresholds);
        let t = thresholds.get(ActionClass::ChannelDelete);
        let mut w = Windows::default();
        let start = Instant::now();
        let fired: Vec<u32> = (0..10)
            .map(|i| {
                w.hit(
                    ActionClass::ChannelDelete,
                    start + Duration::from_millis(200 * i),
                    t,
                )
            })
            .collect();
        assert_eq!(fired.iter().position(|c| *c >= t.count), Some(2));
    }

    fn classes(action: u8, changes: &[AuditChange]) -> Vec<ActionClass> {
        classify(action, changes, |_| None, |_| false).classes
    }

    #[test]
    fn audit_entries_map_to_their_classes() {
        assert_eq!(classes(12, &[]), vec![ActionClass::ChannelDelete]);
        assert_eq!(classes(22, &[]), vec![ActionClass::Ban]);
        assert_eq!(classes(23, &[]), vec![ActionClass::Unban]);
        assert_eq!(classes(11, &[]), vec![]);
        assert_eq!(classes(1, &[]), vec![], "a guild update without changes");
        assert_eq!(
            classes(1, &[AuditChange::VanityUrlCode]),
            vec![ActionClass::GuildUpdate]
        );
        assert_eq!(
            classes(1, &[AuditChange::Other]),
            vec![ActionClass::GuildUpdate],
            "verification level, system channel, MFA, community settings: any guild setting"
        );
        let admin = AuditChange::Permissions {
            old: Some(perm::KICK_MEMBERS),
            new: Some(perm::KICK_MEMBERS | perm::ADMINISTRATOR),
        };
        assert_eq!(
            classes(31, std::slice::from_ref(&admin)),
            vec![ActionClass::PermissionGrant]
        );
        let harmless = AuditChange::Permissions {
            old: Some(perm::ADMINISTRATOR),
            new: Some(perm::ADMINISTRATOR | 1 << 10),
        };
        assert_eq!(
            classes(31, &[harmless]),
            vec![],
            "admin already held: no grant"
        );
        assert_eq!(
            classes(30, &[admin]),
            vec![ActionClass::RoleCreate, ActionClass::PermissionGrant]
        );
        let given = [AuditChange::RolesAdded(vec![5, 6])];
        let c = classify(
            25,
            &given,
            |r| (r == 6).then_some(perm::BAN_MEMBERS),
            |_| false,
        );
        assert_eq!(c.classes, vec![ActionClass::PermissionGrant]);
        assert_eq!(c.dangerous_roles, vec![6]);
        assert_eq!(
            classify(25, &given, |_| Some(1 << 10), |_| false).classes,
            vec![]
        );
    }

    #[test]
    fn every_new_destructive_class_is_counted() {
        let future = Utc::now() + chrono::Duration::minutes(10);
        let past = Utc::now() - chrono::Duration::minutes(10);
        // A channel overwrite allowing a dangerous permission, also inside a channel create.
        let overwrite = AuditChange::Allow {
            old: Some(0),
            new: Some(perm::MENTION_EVERYONE),
        };
        assert_eq!(
            classes(13, std::slice::from_ref(&overwrite)),
            vec![ActionClass::PermissionGrant]
        );
        assert_eq!(
            classes(14, &[overwrite]),
            vec![ActionClass::PermissionGrant]
        );
        assert_eq!(
            classes(
                14,
                &[AuditChange::Allow {
                    old: Some(0),
                    new: Some(1 << 10)
                }]
            ),
            vec![],
            "view channel is not dangerous"
        );
        assert_eq!(
            classes(10, &[AuditChange::Overwrites(vec![0, perm::ADMINISTRATOR])]),
            vec![ActionClass::ChannelCreate, ActionClass::PermissionGrant]
        );
        // Timeouts (a lifted or past timeout is not one).
        assert_eq!(
            classes(24, &[AuditChange::TimeoutUntil(Some(future))]),
            vec![ActionClass::Timeout]
        );
        assert_eq!(classes(24, &[AuditChange::TimeoutUntil(None)]), vec![]);
        assert_eq!(
            classes(24, &[AuditChange::TimeoutUntil(Some(past))]),
            vec![]
        );
        // Role removals from members, and permissions removed from roles.
        assert_eq!(
            classes(25, &[AuditChange::RolesRemoved(vec![4])]),
            vec![ActionClass::RoleRemove]
        );
        assert_eq!(
            classes(
                31,
                &[AuditChange::Permissions {
                    old: Some(1 << 11 | 1 << 10),
                    new: Some(1 << 10)
                }]
            ),
            vec![ActionClass::PermissionRemove]
        );
        // Webhooks, expressions, integrations, AutoMod, bulk deletes.
        assert_eq!(classes(51, &[]), vec![ActionClass::WebhookChange]);
        assert_eq!(classes(52, &[]), vec![ActionClass::WebhookChange]);
        assert_eq!(classes(62, &[]), vec![ActionClass::ExpressionDelete]);
        assert_eq!(classes(92, &[]), vec![ActionClass::ExpressionDelete]);
        assert_eq!(classes(82, &[]), vec![ActionClass::IntegrationDelete]);
        assert_eq!(classes(142, &[]), vec![ActionClass::AutomodChange]);
        assert_eq!(
            classes(141, &[AuditChange::Enabled(Some(false))]),
            vec![ActionClass::AutomodChange]
        );
        assert_eq!(classes(141, &[AuditChange::Enabled(Some(true))]), vec![]);
        assert_eq!(classes(73, &[]), vec![ActionClass::MessageBulkDelete]);
    }

    #[test]
    fn giving_a_trusted_or_whitelisted_role_is_a_trust_grant_with_a_threshold_of_one() {
        let c = classify(
            25,
            &[AuditChange::RolesAdded(vec![7, 8])],
            |_| None,
            |r| r == 8,
        );
        assert_eq!(c.classes, vec![ActionClass::TrustGrant]);
        assert_eq!(c.trust_roles, vec![8]);
        let t = Thresholds::defaults(&AntinukeConfig::default().thresholds)
            .get(ActionClass::TrustGrant);
        assert_eq!(t.count, 1);
        // A guild cannot raise it.
        let mut overrides = BTreeMap::new();
        overrides.insert(
            "trust_grant".to_owned(),
            ThresholdOverride {
                count: 50,
                window_seconds: 10,
            },
        );
        let config = AntinukeConfig::default();
        let custom = Thresholds::of(&config).with_overrides(&overrides, &Bounds::of(&config));
        assert_eq!(custom.get(ActionClass::TrustGrant).count, 1);
    }

    #[test]
    fn the_combined_score_adds_the_weights_of_every_class_within_its_window() {
        let config = AntinukeConfig::default();
        let th = Thresholds::of(&config);
        let score = th.score();
        let mut w = Windows::default();
        let start = Instant::now();
        // 2 channel deletions + 2 role deletions + 2 bans + 2 kicks within 10 s: each class
        // stays under its own threshold of 3, the score crosses 100 at the fourth action.
        let plan = [
            ActionClass::ChannelDelete,
            ActionClass::ChannelDelete,
            ActionClass::RoleDelete,
            ActionClass::RoleDelete,
            ActionClass::Ban,
            ActionClass::Ban,
            ActionClass::Kick,
            ActionClass::Kick,
        ];
        let mut crossed_at = None;
        for (i, class) in plan.iter().enumerate() {
            let now = start + Duration::from_secs(1) * u32::try_from(i).unwrap_or(0);
            assert!(w.hit(*class, now, th.get(*class)) < th.get(*class).count);
            let points = w.add_points(th.weight(*class), now, score.window);
            if points >= score.count && crossed_at.is_none() {
                crossed_at = Some(i);
            }
        }
        assert_eq!(crossed_at, Some(3));
        // Spread over more than the window, the same actions never add up.
        let mut w = Windows::default();
        for (i, class) in plan.iter().enumerate() {
            let now = start + Duration::from_secs(6) * u32::try_from(i).unwrap_or(0);
            assert!(w.add_points(th.weight(*class), now, score.window) < score.count);
        }
    }

    #[test]
    fn whitelisted_bots_are_counted_with_higher_thresholds_and_people_judged_by_roles_before() {
        let settings = GuildSettings {
            trusted_role_ids: vec![20],
            ..Default::default()
        };
        let mut a = antinuke("strip_roles");
        a.whitelist_user_ids = vec![3];
        let p = Policy::resolve(
            1,
            &settings,
            &a,
            &features(&["strip_roles"], false),
            &AntinukeConfig::default(),
        );
        assert_eq!(p.standing(1, &[], false), Standing::Exempt);
        assert_eq!(p.standing(1, &[], true), Standing::Exempt, "the owner");
        assert_eq!(p.standing(3, &[], false), Standing::Exempt);
        assert_eq!(
            p.standing(3, &[], true),
            Standing::Counted(AntinukeConfig::default().whitelisted_bot_factor)
        );
        assert_eq!(p.standing(9, &[20], false), Standing::Exempt);
        assert_eq!(p.standing(9, &[], false), Standing::Counted(1));
        assert!(p.confers_trust(20));
        assert!(!p.confers_trust(21));
        assert_eq!(Threshold::new(3, 10).times(5).count, 15);
    }

    #[test]
    fn punishment_reasons_parse_back_and_other_reasons_do_not() {
        let id = uuid::Uuid::now_v7();
        let r = punishment_reason(id, "channel_delete", 3, &[11, 12]);
        assert_eq!(
            parse_punishment_reason(&r),
            Some(PunishmentRecord {
                incident: id,
                crossed: "channel_delete".into(),
                count: 3,
                stripped: vec![11, 12],
            })
        );
        let r = punishment_reason(id, COMBINED, 120, &[]);
        assert_eq!(
            parse_punishment_reason(&r).map(|p| (p.crossed, p.count, p.stripped)),
            Some((COMBINED.to_owned(), 120, vec![]))
        );
        assert_eq!(
            parse_punishment_reason(&action_reason(id, "lockdown")),
            None
        );
        assert_eq!(parse_punishment_reason("umbra:restore:abc:1"), None);
        assert_eq!(
            parse_punishment_reason(&format!("{REASON_PREFIX}: incident {id}: 3 x nonsense")),
            None
        );
    }

    #[test]
    fn health_names_missing_permissions_and_unpunishable_members() {
        let roles = [
            RoleInfo {
                id: 100,
                permissions: 0,
                managed: false,
                rank: Rank::of(0, 100),
            },
            RoleInfo {
                id: 1,
                permissions: perm::ADMINISTRATOR,
                managed: false,
                rank: Rank::of(5, 1),
            },
            RoleInfo {
                id: 2,
                permissions: perm::BAN_MEMBERS | perm::KICK_MEMBERS,
                managed: true,
                rank: Rank::of(3, 2),
            },
        ];
        let policy = Policy::resolve(
            50,
            &GuildSettings::default(),
            &antinuke("strip_roles"),
            &features(&["strip_roles"], false),
            &AntinukeConfig::default(),
        );
        let members = [
            MemberInfo {
                id: 50,
                roles: vec![1],
            },
            MemberInfo {
                id: 60,
                roles: vec![1],
            },
            MemberInfo {
                id: 70,
                roles: vec![],
            },
        ];
        let h = health(&roles, 100, &[2], &members, &policy);
        assert_eq!(h.missing, vec!["view_audit_log", "manage_roles"]);
        assert_eq!(
            h.above,
            vec![60],
            "the owner is not listed, members without roles are fine"
        );
        assert!(h.degraded());
        let fine = health(&roles, 100, &[1], &members[2..], &policy);
        assert!(!fine.degraded(), "{fine:?}");
    }

    #[test]
    fn the_plan_bounds_punishment_thresholds_and_options() {
        let config = AntinukeConfig::default();
        let owner = 1;
        let mut settings = antinuke("ban");
        settings.thresholds.insert(
            "channel_delete".into(),
            ThresholdOverride {
                count: 10,
                window_seconds: 5,
            },
        );
        settings.lockdown = true;
        let free = Policy::resolve(
            owner,
            &GuildSettings::default(),
            &settings,
            &features(&["strip_roles"], false),
            &config,
        );
        assert_eq!(free.punishment, Punishment::StripRoles);
        assert_eq!(free.thresholds.get(ActionClass::ChannelDelete).count, 3);
        assert!(!free.lockdown);
        assert!(free.limited.contains(&Limit::Punishment(Punishment::Ban)));
        assert!(free.limited.contains(&Limit::CustomThresholds));
        assert!(free.limited.contains(&Limit::Lockdown));
        let pro = Policy::resolve(
            owner,
            &GuildSettings::default(),
            &settings,
            &features(&["strip_roles", "ban"], true),
            &config,
        );
        assert_eq!(pro.punishment, Punishment::Ban);
        assert_eq!(pro.thresholds.get(ActionClass::ChannelDelete).count, 10);
        // Quarantine without a role falls back to stripping roles.
        let q = Policy::resolve(
            owner,
            &GuildSettings::default(),
            &antinuke("quarantine"),
            &features(&["strip_roles", "quarantine"], true),
            &config,
        );
        assert_eq!(q.punishment, Punishment::StripRoles);
    }

    #[test]
    fn the_owner_trusted_and_whitelisted_users_and_roles_are_exempt() {
        let settings = GuildSettings {
            trusted_user_ids: vec![2],
            trusted_role_ids: vec![20],
            ..Default::default()
        };
        let mut a = antinuke("strip_roles");
        a.whitelist_user_ids = vec![3];
        a.whitelist_role_ids = vec![30];
        let p = Policy::resolve(
            1,
            &settings,
            &a,
            &features(&["strip_roles"], false),
            &AntinukeConfig::default(),
        );
        assert!(p.exempts(1, &[]));
        assert!(p.exempts(2, &[]));
        assert!(p.exempts(3, &[]));
        assert!(p.exempts(9, &[5, 30]));
        assert!(p.exempts(9, &[20]));
        assert!(!p.exempts(9, &[5]));
    }

    #[test]
    fn threshold_bounds_refuse_zero_and_too_large_values() {
        let b = Bounds {
            max_count: 100,
            max_window_seconds: 3600,
            max_score: 1000,
        };
        assert!(b.validate(0, 10).is_err());
        assert!(b.validate(3, 0).is_err());
        assert!(b.validate(101, 10).is_err());
        assert!(b.validate(3, 3601).is_err());
        assert_eq!(
            b.validate(5, 60).ok(),
            Some(ThresholdOverride {
                count: 5,
                window_seconds: 60
            })
        );
    }

    #[test]
    fn the_hierarchy_decides_who_can_be_punished() {
        let bot = Some(Rank::of(10, 100));
        assert!(outranks(bot, Some(Rank::of(9, 1))));
        assert!(outranks(bot, None));
        assert!(!outranks(bot, Some(Rank::of(11, 1))));
        // Same position: the lower id ranks higher.
        assert!(outranks(bot, Some(Rank::of(10, 200))));
        assert!(!outranks(bot, Some(Rank::of(10, 50))));
        assert!(!outranks(None, None));
    }

    #[test]
    fn lockdown_removes_dangerous_bits_from_roles_below_the_bot_only() {
        let roles = [
            RoleInfo {
                id: 1,
                permissions: perm::ADMINISTRATOR | 1 << 10,
                managed: false,
                rank: Rank::of(2, 1),
            },
            RoleInfo {
                id: 2,
                permissions: 1 << 10,
                managed: false,
                rank: Rank::of(3, 2),
            },
            RoleInfo {
                id: 3,
                permissions: perm::BAN_MEMBERS,
                managed: true,
                rank: Rank::of(4, 3),
            },
            RoleInfo {
                id: 4,
                permissions: perm::MANAGE_GUILD,
                managed: false,
                rank: Rank::of(20, 4),
            },
            RoleInfo {
                id: 5,
                permissions: perm::MANAGE_ROLES,
                managed: false,
                rank: Rank::of(5, 5),
            },
        ];
        let exempt: HashSet<u64> = [5].into_iter().collect();
        assert_eq!(
            lockdown_edits(&roles, Some(Rank::of(10, 99)), &exempt),
            vec![(1, 1 << 10)]
        );
    }

    #[test]
    fn destroyed_objects_are_recorded_by_kind_and_merged() {
        let at = Utc::now();
        let mut d = Destroyed::default();
        for (class, target) in [
            (ActionClass::ChannelDelete, Some(1)),
            (ActionClass::ChannelDelete, Some(1)),
            (ActionClass::RoleDelete, Some(2)),
            (ActionClass::Ban, Some(3)),
            (ActionClass::Prune, None),
        ] {
            d.add(&Action {
                class,
                target,
                at,
                role_target: false,
                roles: vec![],
            });
        }
        d.add(&Action {
            class: ActionClass::PermissionGrant,
            target: Some(7),
            at,
            role_target: true,
            roles: vec![],
        });
        d.add(&Action {
            class: ActionClass::PermissionGrant,
            target: Some(8),
            at,
            role_target: false,
            roles: vec![40],
        });
        d.add(&Action {
            class: ActionClass::TrustGrant,
            target: Some(8),
            at,
            role_target: false,
            roles: vec![41],
        });
        assert_eq!(
            d.grants_to_take_back()
                .get(&8)
                .map(|r| r.iter().copied().collect::<Vec<_>>()),
            Some(vec![40, 41])
        );
        d.cleaned
            .roles_taken_back
            .insert(8, [40].into_iter().collect());
        assert_eq!(
            d.grants_to_take_back().get(&8).map(|r| r.len()),
            Some(1),
            "what was taken back is not taken again"
        );
        assert_eq!(d.destroyed_count(), 4);
        assert_eq!(d.roles_granted.len(), 1);
        let json = serde_json::to_value(&d).unwrap_or_default();
        let back: Destroyed = serde_json::from_value(json).unwrap_or_default();
        assert_eq!(back, d);
        let mut other = Destroyed::default();
        other.channels_deleted.insert(9);
        d.merge(&other);
        assert_eq!(d.channels_deleted.len(), 2);
    }

    #[test]
    fn slots_and_reasons_are_stable() {
        let at = DateTime::from_timestamp(1_200, 0).unwrap_or_default();
        assert_eq!(dedupe_slot(at, 600), 2);
        assert_eq!(dedupe_slot(at + chrono::Duration::seconds(599), 600), 2);
        let reason = punishment_reason(uuid::Uuid::nil(), "role_delete", 3, &[1, 2]);
        assert!(reason.starts_with(REASON_PREFIX));
        assert!(reason.ends_with("1,2"));
        assert!(
            punishment_reason(uuid::Uuid::nil(), "ban", 3, &vec![u64::MAX; 200])
                .chars()
                .count()
                <= 512
        );
    }
}
