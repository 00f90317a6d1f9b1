//! Purpose: AntiNuke's rules without I/O — the action classes and how Discord audit-log entries
//! map to them, dangerous permissions, thresholds (defaults from `[antinuke]`, a guild's own
//! bounded by its plan), punishments, the per-actor sliding windows, the role hierarchy, the
//! lockdown edits, and the record of what an incident destroyed.

use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::{AntinukeConfig, AntinukeThresholds};
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
    pub const MANAGE_ROLES: u64 = 1 << 28;
    pub const MANAGE_WEBHOOKS: u64 = 1 << 29;
    /// Granting any of these is a "dangerous permission grant".
    pub const DANGEROUS: u64 = ADMINISTRATOR
        | MANAGE_GUILD
        | MANAGE_ROLES
        | MANAGE_CHANNELS
        | BAN_MEMBERS
        | KICK_MEMBERS
        | MANAGE_WEBHOOKS;
}

/// Discord audit-log action types AntiNuke reads.
pub mod audit {
    pub const GUILD_UPDATE: u8 = 1;
    pub const CHANNEL_CREATE: u8 = 10;
    pub const CHANNEL_DELETE: u8 = 12;
    pub const MEMBER_KICK: u8 = 20;
    pub const MEMBER_PRUNE: u8 = 21;
    pub const MEMBER_BAN_ADD: u8 = 22;
    pub const MEMBER_ROLE_UPDATE: u8 = 25;
    pub const BOT_ADD: u8 = 28;
    pub const ROLE_CREATE: u8 = 30;
    pub const ROLE_UPDATE: u8 = 31;
    pub const ROLE_DELETE: u8 = 32;
    pub const WEBHOOK_CREATE: u8 = 50;
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
}

impl ActionClass {
    pub const COUNT: usize = 11;
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
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn index(self) -> usize {
        self as usize
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
        }
    }
}

/// The part of an audit-log change AntiNuke reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditChange {
    Permissions { old: Option<u64>, new: Option<u64> },
    RolesAdded(Vec<u64>),
    Name,
    VanityUrlCode,
    Other,
}

/// The action classes one audit-log entry counts for (usually none or one; a role created with
/// dangerous permissions counts as a creation and as a grant). `role_permissions` looks up a
/// role's current permissions (for roles given to a member).
pub fn classify(
    action_type: u8,
    changes: &[AuditChange],
    role_permissions: impl Fn(u64) -> Option<u64>,
) -> Vec<ActionClass> {
    let grants = |old: Option<u64>, new: Option<u64>| {
        new.unwrap_or(0) & !old.unwrap_or(0) & perm::DANGEROUS != 0
    };
    let permission_grant = changes.iter().any(|c| match c {
        AuditChange::Permissions { old, new } => grants(*old, *new),
        _ => false,
    });
    match action_type {
        audit::GUILD_UPDATE
            if changes
                .iter()
                .any(|c| matches!(c, AuditChange::Name | AuditChange::VanityUrlCode)) =>
        {
            vec![ActionClass::GuildUpdate]
        }
        audit::CHANNEL_CREATE => vec![ActionClass::ChannelCreate],
        audit::CHANNEL_DELETE => vec![ActionClass::ChannelDelete],
        audit::MEMBER_KICK => vec![ActionClass::Kick],
        audit::MEMBER_PRUNE => vec![ActionClass::Prune],
        audit::MEMBER_BAN_ADD => vec![ActionClass::Ban],
        audit::MEMBER_ROLE_UPDATE => {
            let dangerous = changes.iter().any(|c| match c {
                AuditChange::RolesAdded(roles) => roles
                    .iter()
                    .any(|r| role_permissions(*r).unwrap_or(0) & perm::DANGEROUS != 0),
                _ => false,
            });
            if dangerous {
                vec![ActionClass::PermissionGrant]
            } else {
                vec![]
            }
        }
        audit::BOT_ADD => vec![ActionClass::BotAdd],
        audit::ROLE_CREATE if permission_grant => {
            vec![ActionClass::RoleCreate, ActionClass::PermissionGrant]
        }
        audit::ROLE_CREATE => vec![ActionClass::RoleCreate],
        audit::ROLE_UPDATE if permission_grant => vec![ActionClass::PermissionGrant],
        audit::ROLE_DELETE => vec![ActionClass::RoleDelete],
        audit::WEBHOOK_CREATE => vec![ActionClass::WebhookCreate],
        _ => vec![],
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
}

/// A threshold per action class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thresholds([Threshold; ActionClass::COUNT]);

impl Thresholds {
    /// The built-in defaults (`[antinuke.thresholds]`).
    pub fn defaults(config: &AntinukeThresholds) -> Self {
        let mut out = [Threshold::new(1, 1); ActionClass::COUNT];
        for (name, t) in config.entries() {
            if let Some(class) = ActionClass::parse(name) {
                out[class.index()] = Threshold::new(t.count, t.window_seconds);
            }
        }
        Self(out)
    }

    /// The defaults with a guild's own thresholds applied where they are valid; unknown
    /// classes and out-of-bounds values are ignored (they never pass the command's validation).
    pub fn with_overrides(
        mut self,
        overrides: &BTreeMap<String, ThresholdOverride>,
        bounds: &Bounds,
    ) -> Self {
        for (name, o) in overrides {
            if let Some(class) = ActionClass::parse(name)
                && bounds.validate(o.count, o.window_seconds).is_ok()
            {
                self.0[class.index()] = Threshold::new(o.count, o.window_seconds);
            }
        }
        self
    }

    pub fn get(&self, class: ActionClass) -> Threshold {
        self.0[class.index()]
    }

    /// The longest window of any class (how long an actor's actions are remembered).
    pub fn longest_window(&self) -> Duration {
        self.0
            .iter()
            .map(|t| t.window)
            .max()
            .unwrap_or(Duration::from_secs(1))
    }
}

/// What a guild may set as its own threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    pub max_count: u32,
    pub max_window_seconds: u32,
}

impl Bounds {
    pub fn of(config: &AntinukeConfig) -> Self {
        Self {
            max_count: config.max_count,
            max_window_seconds: config.max_window_seconds,
        }
    }

    /// A threshold a person typed, checked against the bounds.
    pub fn validate(
        &self,
        count: u32,
        window_seconds: u32,
    ) -> Result<ThresholdOverride, UserError> {
        if (1..=self.max_count).contains(&count)
            && (1..=self.max_window_seconds).contains(&window_seconds)
        {
            Ok(ThresholdOverride {
                count,
                window_seconds,
            })
        } else {
            Err(UserError::new(msg::ERROR_ANTINUKE_THRESHOLD_BOUNDS)
                .with("max_count", self.max_count)
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
    /// Trusted roles and whitelisted roles.
    pub exempt_roles: HashSet<u64>,
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
        let defaults = Thresholds::defaults(&config.thresholds);
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
            limited,
        }
    }

    /// Whether `user` with `roles` is never counted. (Umbra itself is checked by the caller.)
    pub fn exempts(&self, user: u64, roles: &[u64]) -> bool {
        user == self.owner_id
            || self.exempt_users.contains(&user)
            || roles.iter().any(|r| self.exempt_roles.contains(r))
    }
}

/// One actor's recent actions per class (sliding windows of arrival times).
#[derive(Debug, Default)]
pub struct Windows {
    hits: [VecDeque<Instant>; ActionClass::COUNT],
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
        self.hits.iter().all(VecDeque::is_empty)
    }
}

/// One counted action of an actor.
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    pub class: ActionClass,
    pub target: Option<u64>,
    pub at: DateTime<Utc>,
}

/// What an actor destroyed or changed, by kind (`antinuke_incidents.destroyed`): what "Restore
/// what was destroyed" brings back.
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
}

impl Destroyed {
    /// Adds one action (`role_target`: for a grant, whether the target is a role or a member).
    pub fn add(&mut self, action: &Action, role_target: bool) {
        let Some(t) = action.target else {
            match action.class {
                ActionClass::Prune => self.prunes += 1,
                ActionClass::GuildUpdate => self.guild_changed = true,
                _ => {}
            }
            return;
        };
        let set = match action.class {
            ActionClass::ChannelDelete => &mut self.channels_deleted,
            ActionClass::ChannelCreate => &mut self.channels_created,
            ActionClass::RoleDelete => &mut self.roles_deleted,
            ActionClass::RoleCreate => &mut self.roles_created,
            ActionClass::PermissionGrant if role_target => &mut self.roles_granted,
            ActionClass::PermissionGrant => &mut self.members_granted,
            ActionClass::Ban => &mut self.banned,
            ActionClass::Kick => &mut self.kicked,
            ActionClass::WebhookCreate => &mut self.webhooks_created,
            ActionClass::BotAdd => &mut self.bots_added,
            ActionClass::Prune => {
                self.prunes += 1;
                return;
            }
            ActionClass::GuildUpdate => {
                self.guild_changed = true;
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
    }

    /// Objects destroyed (deleted, banned, kicked, pruned).
    pub fn destroyed_count(&self) -> usize {
        self.channels_deleted.len()
            + self.roles_deleted.len()
            + self.banned.len()
            + self.kicked.len()
            + usize::try_from(self.prunes).unwrap_or(0)
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

/// The audit-log reason of a punishment: names the incident and the roles taken, so the
/// owner (and Umbra after a crash) can see what was done in Discord's own audit log.
pub fn punishment_reason(
    incident: uuid::Uuid,
    class: ActionClass,
    count: u32,
    stripped: &[u64],
) -> String {
    let mut reason = format!(
        "{REASON_PREFIX}: incident {incident}: {count} x {} ",
        class.as_str()
    );
    if !stripped.is_empty() {
        reason.push_str("; roles taken: ");
        let ids: Vec<String> = stripped.iter().map(u64::to_string).collect();
        reason.push_str(&ids.join(","));
    }
    // Discord keeps at most 512 characters.
    reason.chars().take(512).collect()
}

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
            assert!(names.contains(&class.as_str()), "{class:?} has no default");
        }
        assert_eq!(names.len(), ActionClass::COUNT);
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

    #[test]
    fn audit_entries_map_to_their_classes() {
        let none = |_| None;
        assert_eq!(classify(12, &[], none), vec![ActionClass::ChannelDelete]);
        assert_eq!(classify(22, &[], none), vec![ActionClass::Ban]);
        assert_eq!(classify(11, &[], none), vec![]);
        assert_eq!(classify(1, &[AuditChange::Other], none), vec![]);
        assert_eq!(
            classify(1, &[AuditChange::VanityUrlCode], none),
            vec![ActionClass::GuildUpdate]
        );
        let admin = AuditChange::Permissions {
            old: Some(perm::KICK_MEMBERS),
            new: Some(perm::KICK_MEMBERS | perm::ADMINISTRATOR),
        };
        assert_eq!(
            classify(31, std::slice::from_ref(&admin), none),
            vec![ActionClass::PermissionGrant]
        );
        let harmless = AuditChange::Permissions {
            old: Some(perm::ADMINISTRATOR),
            new: Some(perm::ADMINISTRATOR | 1 << 10),
        };
        assert_eq!(
            classify(31, &[harmless], none),
            vec![],
            "admin already held: no grant"
        );
        assert_eq!(
            classify(30, &[admin], none),
            vec![ActionClass::RoleCreate, ActionClass::PermissionGrant]
        );
        let given = [AuditChange::RolesAdded(vec![5, 6])];
        assert_eq!(
            classify(25, &given, |r| (r == 6).then_some(perm::BAN_MEMBERS)),
            vec![ActionClass::PermissionGrant]
        );
        assert_eq!(classify(25, &given, |_| Some(1 << 10)), vec![]);
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
            d.add(&Action { class, target, at }, false);
        }
        d.add(
            &Action {
                class: ActionClass::PermissionGrant,
                target: Some(7),
                at,
            },
            true,
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
        let reason = punishment_reason(uuid::Uuid::nil(), ActionClass::RoleDelete, 3, &[1, 2]);
        assert!(reason.starts_with(REASON_PREFIX));
        assert!(reason.ends_with("1,2"));
        assert!(
            punishment_reason(uuid::Uuid::nil(), ActionClass::Ban, 3, &vec![u64::MAX; 200])
                .chars()
                .count()
                <= 512
        );
    }
}
