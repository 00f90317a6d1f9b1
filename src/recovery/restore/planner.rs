//! Purpose: the restore planner — a pure diff of a snapshot document against the current guild
//! (live sync's state) into a [`Plan`]: objects matched by original id while they exist, else
//! by name + type + parent; create / update / delete / keep per role, channel (overwrites inside
//! the create), guild settings and member (role set + nickname); snapshot ids mapped to live
//! ids everywhere (overwrites, parents, the AFK/system/rules channels, member roles); the role
//! hierarchy, managed roles, Discord's caps and the plan's member limit turned into skips and
//! warnings. No I/O: the same inputs always give the same plan (and plan hash).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde_json::Value;
use uuid::Uuid;

use super::model::{
    Action, ActionCounts, ChannelFields, ChannelPosition, Component, Components, Counts, Kind,
    Mode, Object, OverwriteFor, OverwriteSpec, PLAN_VERSION, Plan, Ref, Risks, RoleFields, Scope,
    SettingsFields, SkipReason, Skipped, Step, Warning, limits, perms,
};
use crate::recovery::snapshot::model::{ChannelDoc, RoleDoc, SnapshotDocument};
use crate::recovery::sync::{ChannelState, GuildState, OverwriteTarget, RoleState};

/// Names listed in a warning at most.
const NAMES_SHOWN: usize = 5;
const CATEGORY: i16 = 4;

/// What the planner needs.
#[derive(Debug, Clone)]
pub struct PlanInput<'a> {
    pub snapshot_id: Uuid,
    pub doc: &'a SnapshotDocument,
    /// The guild now (live sync's mirror).
    pub current: &'a GuildState,
    pub owner_id: u64,
    pub bot_user_id: u64,
    pub mode: Mode,
    pub components: Components,
    pub scope: Option<Scope>,
    /// The plan's member restore limit (`None`: unlimited).
    pub member_limit: Option<u32>,
    /// Members never touched: the punished attackers of open AntiNuke incidents (their
    /// punishment stays whatever the snapshot says).
    pub excluded_members: BTreeSet<u64>,
}

/// A role's place in Discord's hierarchy: higher position first, then lower id.
type Rank = (i32, Reverse<u64>);

fn rank(r: &RoleState) -> Rank {
    (r.position, Reverse(r.discord_role_id))
}

/// Builds the plan.
pub fn plan(input: &PlanInput<'_>) -> Plan {
    Planner::new(input).run()
}

struct Planner<'a> {
    input: &'a PlanInput<'a>,
    /// Members left alone because they are punished attackers (names).
    punished: Vec<String>,
    doc: &'a SnapshotDocument,
    cur: &'a GuildState,
    steps: Vec<Action>,
    counts: Counts,
    warnings: Vec<Warning>,
    skipped: Vec<Skipped>,
    /// Roles the plan makes exist: matched (local -> live) and created (local).
    role_live: BTreeMap<u32, u64>,
    role_created: BTreeSet<u32>,
    channel_live: BTreeMap<u32, u64>,
    channel_created: BTreeSet<u32>,
    /// Live roles the bot cannot manage (at or above its highest role).
    bot_top: Rank,
    above_bot_names: Vec<String>,
    above_bot: usize,
    missing_targets: usize,
    deleted_roles: HashSet<u64>,
}

impl<'a> Planner<'a> {
    fn new(input: &'a PlanInput<'a>) -> Self {
        let cur = input.current;
        let bot_roles: HashSet<u64> = cur
            .members
            .iter()
            .find(|m| m.discord_user_id == input.bot_user_id)
            .map(|m| m.role_ids.iter().copied().collect())
            .unwrap_or_default();
        let bot_top = if cur
            .members
            .iter()
            .any(|m| m.discord_user_id == input.bot_user_id)
        {
            cur.roles
                .iter()
                .filter(|r| bot_roles.contains(&r.discord_role_id))
                .map(rank)
                .max()
                .unwrap_or((0, Reverse(cur.guild_id)))
        } else {
            // The bot's roles are unknown: let Discord decide at execution.
            (i32::MAX, Reverse(0))
        };
        Self {
            input,
            doc: input.doc,
            cur,
            steps: Vec::new(),
            counts: Counts::default(),
            warnings: Vec::new(),
            skipped: Vec::new(),
            punished: Vec::new(),
            role_live: BTreeMap::new(),
            role_created: BTreeSet::new(),
            channel_live: BTreeMap::new(),
            channel_created: BTreeSet::new(),
            bot_top,
            above_bot_names: Vec::new(),
            above_bot: 0,
            missing_targets: 0,
            deleted_roles: HashSet::new(),
        }
    }

    fn has(&self, c: Component) -> bool {
        self.input.components.has(c)
    }

    fn in_scope_role(&self, id: u64) -> bool {
        self.input
            .scope
            .as_ref()
            .is_none_or(|s| s.roles.contains(&id))
    }

    fn in_scope_channel(&self, id: u64) -> bool {
        self.input
            .scope
            .as_ref()
            .is_none_or(|s| s.channels.contains(&id))
    }

    fn in_scope_member(&self, id: u64) -> bool {
        self.input
            .scope
            .as_ref()
            .is_none_or(|s| s.members.contains(&id))
    }

    fn manageable(&self, r: &RoleState) -> bool {
        rank(r) < self.bot_top
    }

    fn skip(&mut self, kind: Kind, name: &str, reason: SkipReason) {
        if reason == SkipReason::AboveBot {
            self.above_bot += 1;
            if self.above_bot_names.len() < NAMES_SHOWN
                && !self.above_bot_names.iter().any(|n| n == name)
            {
                self.above_bot_names.push(name.to_owned());
            }
        }
        self.skipped.push(Skipped {
            kind,
            name: name.to_owned(),
            reason,
        });
    }

    /// A snapshot role as a reference the restore can use, if it will exist.
    fn role_ref(&self, local: u32) -> Option<Ref> {
        (self.role_live.contains_key(&local) || self.role_created.contains(&local))
            .then_some(Ref::L(local))
    }

    fn channel_ref(&self, local: u32) -> Option<Ref> {
        (self.channel_live.contains_key(&local) || self.channel_created.contains(&local))
            .then_some(Ref::L(local))
    }

    fn run(mut self) -> Plan {
        if self.doc.guild_id != self.cur.guild_id {
            self.warnings.push(Warning::ForeignSnapshot);
        }
        let mut role_actions = self.match_roles();
        let (channel_actions, channel_positions) = self.match_channels();
        let settings = self.settings();
        let members = self.members();
        let grants = std::mem::take(&mut role_actions.grants);

        // Step order = priority inside a lane: deletes, creates (most needed first), updates,
        // positions, settings, members, and the grants last.
        self.steps.extend(role_actions.deletes);
        self.steps.extend(channel_actions.deletes);
        self.steps.extend(role_actions.creates);
        self.steps.extend(role_actions.updates);
        self.steps.extend(channel_actions.creates);
        self.steps.extend(channel_actions.updates);
        self.steps.extend(role_actions.positions);
        self.steps.extend(channel_positions);
        self.steps.extend(settings);
        self.steps.extend(members);
        self.steps.extend(grants);
        let risks = self.risks();

        if self.above_bot > 0 {
            self.warnings.push(Warning::AboveBot {
                count: self.above_bot,
                names: self.above_bot_names.clone(),
            });
        }
        if self.missing_targets > 0 {
            self.warnings.push(Warning::MissingTargets {
                count: self.missing_targets,
            });
        }
        let roles = self
            .doc
            .roles
            .iter()
            .map(|r| Object {
                local: r.id,
                original: r.original_id,
                name: r.name.clone(),
            })
            .collect();
        let channels = self
            .doc
            .channels
            .iter()
            .map(|c| Object {
                local: c.id,
                original: c.original_id,
                name: c.name.clone(),
            })
            .collect();
        let mut plan = Plan {
            version: PLAN_VERSION,
            guild_id: self.cur.guild_id,
            snapshot_id: self.input.snapshot_id,
            snapshot_guild_id: self.doc.guild_id,
            mode: self.input.mode,
            components: self.input.components.clone(),
            scope: self.input.scope.clone(),
            roles,
            channels,
            matched_roles: self
                .role_live
                .iter()
                .map(|(k, v)| (*k, v.to_string()))
                .collect(),
            matched_channels: self
                .channel_live
                .iter()
                .map(|(k, v)| (*k, v.to_string()))
                .collect(),
            steps: self
                .steps
                .into_iter()
                .zip(0u32..)
                .map(|(action, id)| Step { id, action })
                .collect(),
            counts: self.counts,
            warnings: self.warnings,
            skipped: self.skipped,
            risks,
            roles_delete_first: role_actions.delete_first,
            channels_delete_first: channel_actions.delete_first,
            eta_seconds: 0,
        };
        plan.eta_seconds = plan.estimate().as_secs();
        plan
    }

    // ------------------------------------------------------------------ risks

    /// What the steps would grant or delete that an attacker could abuse, by name.
    fn risks(&self) -> Risks {
        use crate::recovery::antinuke::model::perm::DANGEROUS;
        let live_perms: HashMap<u64, u64> = self
            .cur
            .roles
            .iter()
            .map(|r| (r.discord_role_id, r.permissions as u64))
            .collect();
        let doc_role: HashMap<u32, &RoleDoc> = self.doc.roles.iter().map(|r| (r.id, r)).collect();
        let role_name = |l: u32| {
            doc_role
                .get(&l)
                .map_or_else(|| l.to_string(), |r| r.name.clone())
        };
        let now_of = |l: u32| {
            self.role_live
                .get(&l)
                .and_then(|live| live_perms.get(live))
                .copied()
                .unwrap_or(0)
        };
        let mut risks = Risks::default();
        let mut gaining: BTreeSet<u32> = BTreeSet::new();
        for step in &self.steps {
            match step {
                Action::RoleGrant { role, permissions }
                    if permissions & DANGEROUS & !now_of(*role) != 0 && gaining.insert(*role) =>
                {
                    risks.roles.push(role_name(*role));
                }
                Action::RoleCreate { role, fields } | Action::RoleUpdate { role, fields, .. }
                    if fields
                        .permissions
                        .is_some_and(|p| p & DANGEROUS & !now_of(*role) != 0)
                        && gaining.insert(*role) =>
                {
                    risks.roles.push(role_name(*role));
                }
                Action::RoleDelete { name, .. } | Action::ChannelDelete { name, .. } => {
                    risks.deletions.push(name.clone());
                }
                Action::ChannelCreate { fields, .. } | Action::ChannelUpdate { fields, .. } => {
                    let live = match step {
                        Action::ChannelUpdate { live, .. } => Some(*live),
                        _ => None,
                    };
                    let before: u64 = live
                        .and_then(|l| self.cur.channels.iter().find(|c| c.discord_channel_id == l))
                        .map(|c| c.overwrites.iter().fold(0u64, |a, o| a | o.allow as u64))
                        .unwrap_or(0);
                    let allows = fields
                        .overwrites
                        .iter()
                        .flatten()
                        .fold(0u64, |a, o| a | o.allow);
                    if allows & DANGEROUS & !before != 0 {
                        risks.channels.push(
                            fields
                                .name
                                .clone()
                                .unwrap_or_else(|| live.map(|l| l.to_string()).unwrap_or_default()),
                        );
                    }
                }
                _ => {}
            }
        }
        // Members receiving a role that is (or becomes) dangerous.
        let dangerous = |r: &Ref| match r {
            Ref::L(l) => doc_role
                .get(l)
                .is_some_and(|d| (d.permissions | now_of(*l)) & DANGEROUS != 0),
            Ref::D(live) => live_perms.get(live).is_some_and(|p| p & DANGEROUS != 0),
        };
        let current: HashMap<u64, &crate::member::MemberState> = self
            .cur
            .members
            .iter()
            .map(|m| (m.discord_user_id, m))
            .collect();
        for step in &self.steps {
            let Action::Member {
                user,
                roles: Some(roles),
                ..
            } = step
            else {
                continue;
            };
            let held: BTreeSet<u64> = current
                .get(user)
                .map(|m| m.role_ids.iter().copied().collect())
                .unwrap_or_default();
            let given: Vec<String> = roles
                .iter()
                .filter(|r| dangerous(r))
                .filter(|r| match r {
                    Ref::L(l) => self
                        .role_live
                        .get(l)
                        .is_none_or(|live| !held.contains(live)),
                    Ref::D(live) => !held.contains(live),
                })
                .map(|r| match r {
                    Ref::L(l) => role_name(*l),
                    Ref::D(live) => self
                        .cur
                        .roles
                        .iter()
                        .find(|x| x.discord_role_id == *live)
                        .map_or_else(|| live.to_string(), |x| x.name.clone()),
                })
                .collect();
            if !given.is_empty() {
                let name = current.get(user).map_or_else(
                    || user.to_string(),
                    |m| m.global_name.clone().unwrap_or_else(|| m.username.clone()),
                );
                risks.members.push(format!("{name} ({})", given.join(", ")));
            }
        }
        risks.punished = self.punished.clone();
        risks
    }

    // ------------------------------------------------------------------ roles

    fn match_roles(&mut self) -> RoleActions {
        let mut out = RoleActions::default();
        let doc_roles = &self.doc.roles;
        let mut used: HashSet<u64> = HashSet::new();
        let current: HashMap<u64, &RoleState> = self
            .cur
            .roles
            .iter()
            .map(|r| (r.discord_role_id, r))
            .collect();
        // 1. @everyone and original ids.
        for r in doc_roles {
            let live = if r.everyone {
                Some(self.cur.guild_id)
            } else {
                current
                    .get(&r.original_id)
                    .filter(|c| c.managed == r.managed)
                    .map(|c| c.discord_role_id)
            };
            if let Some(live) = live
                && used.insert(live)
            {
                self.role_live.insert(r.id, live);
            }
        }
        // 2. Managed roles by their tags (the same bot or integration).
        let unmatched: Vec<&RoleDoc> = doc_roles
            .iter()
            .filter(|r| r.managed && !self.role_live.contains_key(&r.id))
            .collect();
        for r in unmatched {
            let tag = |v: &Option<Value>, k: &str| {
                v.as_ref()
                    .and_then(|t| t.get(k))
                    .filter(|x| !x.is_null())
                    .map(Value::to_string)
            };
            let found = self.cur.roles.iter().find(|c| {
                c.managed
                    && !used.contains(&c.discord_role_id)
                    && ["bot_id", "integration_id"]
                        .iter()
                        .any(|k| tag(&r.tags, k).is_some() && tag(&r.tags, k) == tag(&c.tags, k))
            });
            if let Some(c) = found {
                used.insert(c.discord_role_id);
                self.role_live.insert(r.id, c.discord_role_id);
            }
        }
        // 3. By name (lowest first), same managed flag.
        let unmatched: Vec<&RoleDoc> = doc_roles
            .iter()
            .filter(|r| !r.everyone && !self.role_live.contains_key(&r.id))
            .collect();
        for r in unmatched {
            let found = self.cur.roles.iter().find(|c| {
                c.discord_role_id != self.cur.guild_id
                    && !used.contains(&c.discord_role_id)
                    && c.managed == r.managed
                    && c.name == r.name
            });
            if let Some(c) = found {
                used.insert(c.discord_role_id);
                self.role_live.insert(r.id, c.discord_role_id);
            }
        }

        // Where the bot's role sits in the snapshot: roles above it there cannot be put back
        // above it now.
        let bot_top_live = self
            .cur
            .roles
            .iter()
            .filter(|c| rank(c) == self.bot_top)
            .map(|c| c.discord_role_id)
            .next();
        let snapshot_bot_index = bot_top_live.and_then(|live| {
            doc_roles
                .iter()
                .position(|r| self.role_live.get(&r.id) == Some(&live))
        });

        if !self.has(Component::Roles) {
            // Other components still refer to matched roles.
            return out;
        }
        let mut grants = Vec::new();
        // Member and overwrite references per role: the most needed roles are created first.
        let mut references: HashMap<u32, usize> = HashMap::new();
        for m in &self.doc.members {
            for r in &m.roles {
                *references.entry(*r).or_default() += 1;
            }
        }
        for c in &self.doc.channels {
            for o in &c.overwrites {
                if let Some(r) = o.role {
                    *references.entry(r).or_default() += 1;
                }
            }
        }
        let mut creates: Vec<(usize, usize, Action)> = Vec::new();
        for (index, r) in doc_roles.iter().enumerate() {
            let in_scope = self.in_scope_role(r.original_id);
            let above_in_snapshot = snapshot_bot_index.is_some_and(|b| index > b);
            match self.role_live.get(&r.id).copied() {
                Some(live) => {
                    let Some(c) = current.get(&live).copied() else {
                        continue;
                    };
                    if !in_scope {
                        continue;
                    }
                    if r.managed {
                        self.counts.roles.keep += 1;
                        continue;
                    }
                    let (fields, grant) = role_diff(r, c);
                    if fields.is_empty() && grant.is_none() {
                        self.counts.roles.keep += 1;
                    } else if !self.manageable(c) && !r.everyone {
                        self.counts.roles.skip += 1;
                        self.skip(Kind::Role, &r.name, SkipReason::AboveBot);
                    } else {
                        if !fields.is_empty() {
                            out.updates.push(Action::RoleUpdate {
                                role: r.id,
                                live,
                                fields,
                            });
                        }
                        if let Some(p) = grant {
                            grants.push(Action::RoleGrant {
                                role: r.id,
                                permissions: p,
                            });
                        }
                        self.counts.roles.update += 1;
                    }
                }
                None => {
                    if !in_scope {
                        continue;
                    }
                    if r.managed {
                        self.counts.roles.skip += 1;
                        self.skip(Kind::Role, &r.name, SkipReason::Managed);
                        continue;
                    }
                    if above_in_snapshot {
                        self.counts.roles.skip += 1;
                        self.skip(Kind::Role, &r.name, SkipReason::AboveBot);
                        continue;
                    }
                    self.role_created.insert(r.id);
                    self.counts.roles.create += 1;
                    let fields = RoleFields {
                        name: Some(r.name.clone()),
                        color: Some(r.color),
                        secondary_color: r.secondary_color.map(Some),
                        tertiary_color: r.tertiary_color.map(Some),
                        hoist: Some(r.hoist),
                        mentionable: Some(r.mentionable),
                        unicode_emoji: r.unicode_emoji.clone().map(Some),
                        permissions: Some(r.permissions & !perms::DANGEROUS),
                    };
                    if r.permissions & perms::DANGEROUS != 0 {
                        grants.push(Action::RoleGrant {
                            role: r.id,
                            permissions: r.permissions,
                        });
                    }
                    creates.push((
                        references.get(&r.id).copied().unwrap_or(0),
                        index,
                        Action::RoleCreate { role: r.id, fields },
                    ));
                }
            }
        }
        creates.sort_by_key(|(refs, index, _)| (Reverse(*refs), *index));
        out.creates = creates.into_iter().map(|(_, _, a)| a).collect();
        let managed_skipped: Vec<String> = self
            .skipped
            .iter()
            .filter(|s| s.reason == SkipReason::Managed)
            .map(|s| s.name.clone())
            .collect();
        if !managed_skipped.is_empty() {
            self.warnings.push(Warning::Managed {
                count: managed_skipped.len(),
                names: managed_skipped.into_iter().take(NAMES_SHOWN).collect(),
            });
        }

        // Roles the snapshot lacks.
        let mut deletes = 0usize;
        if self.input.mode == Mode::Mirror {
            let matched: HashSet<u64> = self.role_live.values().copied().collect();
            for c in &self.cur.roles {
                if c.discord_role_id == self.cur.guild_id
                    || matched.contains(&c.discord_role_id)
                    || !self.in_scope_role(c.discord_role_id)
                {
                    continue;
                }
                if c.managed {
                    self.skip(Kind::Role, &c.name, SkipReason::Managed);
                } else if !self.manageable(c) {
                    self.skip(Kind::Role, &c.name, SkipReason::AboveBot);
                } else {
                    out.deletes.push(Action::RoleDelete {
                        live: c.discord_role_id,
                        name: c.name.clone(),
                    });
                    self.deleted_roles.insert(c.discord_role_id);
                    self.counts.roles.delete += 1;
                    deletes += 1;
                }
            }
        }
        let existing = self
            .cur
            .roles
            .iter()
            .filter(|r| r.discord_role_id != self.cur.guild_id)
            .count();
        let total = existing + self.counts.roles.create;
        if total > limits::MAX_ROLES {
            out.delete_first = deletes > 0;
            if total - deletes > limits::MAX_ROLES {
                self.warnings.push(Warning::Cap {
                    what: "roles".into(),
                    total: total - deletes,
                    max: limits::MAX_ROLES,
                });
            }
        }
        if self.counts.roles.create > limits::ROLE_CREATE_BUDGET / 2 {
            self.warnings.push(Warning::RoleBudget {
                creates: self.counts.roles.create,
                budget: limits::ROLE_CREATE_BUDGET,
            });
        }
        out.positions = self.role_positions();
        out.grants = grants;
        out
    }

    /// One bulk call placing every manageable role (bottom to top, positions 1..n) where the
    /// snapshot has it; roles the snapshot lacks (merge) stay above the role they were above.
    fn role_positions(&self) -> Option<Action> {
        let current: HashMap<u64, &RoleState> = self
            .cur
            .roles
            .iter()
            .map(|r| (r.discord_role_id, r))
            .collect();
        let movable = |live: u64| {
            current
                .get(&live)
                .is_some_and(|c| live != self.cur.guild_id && self.manageable(c))
        };
        let mut order: Vec<Ref> = Vec::new();
        let mut live_to_local: HashMap<u64, u32> = HashMap::new();
        for r in self.doc.roles.iter().filter(|r| !r.everyone) {
            match self.role_live.get(&r.id) {
                Some(live) if movable(*live) => {
                    live_to_local.insert(*live, r.id);
                    order.push(Ref::L(r.id));
                }
                Some(_) => {}
                None if self.role_created.contains(&r.id) => order.push(Ref::L(r.id)),
                None => {}
            }
        }
        // Extras kept (merge, or not deletable): anchored above the nearest lower role placed.
        let matched: HashSet<u64> = self.role_live.values().copied().collect();
        let mut anchors: BTreeMap<Option<u32>, Vec<u64>> = BTreeMap::new();
        let mut last: Option<u32> = None;
        for c in &self.cur.roles {
            if let Some(l) = live_to_local.get(&c.discord_role_id) {
                last = Some(*l);
            } else if !matched.contains(&c.discord_role_id)
                && !self.deleted_roles.contains(&c.discord_role_id)
                && movable(c.discord_role_id)
            {
                anchors.entry(last).or_default().push(c.discord_role_id);
            }
        }
        let mut full: Vec<Ref> = anchors
            .get(&None)
            .map(|v| v.iter().map(|id| Ref::D(*id)).collect())
            .unwrap_or_default();
        for r in order {
            full.push(r);
            if let Ref::L(l) = r
                && let Some(extra) = anchors.get(&Some(l))
            {
                full.extend(extra.iter().map(|id| Ref::D(*id)));
            }
        }
        if full.is_empty() {
            return None;
        }
        let needed = full.iter().zip(1i32..).any(|(r, pos)| {
            let live = match r {
                Ref::L(l) => self.role_live.get(l).copied(),
                Ref::D(id) => Some(*id),
            };
            match live.and_then(|l| current.get(&l)) {
                Some(c) => c.position != pos,
                None => true,
            }
        });
        needed.then_some(Action::RolePositions { order: full })
    }

    // ------------------------------------------------------------------ channels

    fn match_channels(&mut self) -> (ChannelActions, Vec<Action>) {
        let mut out = ChannelActions::default();
        let doc = self.doc;
        let current: HashMap<u64, &ChannelState> = self
            .cur
            .channels
            .iter()
            .map(|c| (c.discord_channel_id, c))
            .collect();
        let mut used: HashSet<u64> = HashSet::new();
        let compatible = |a: i16, b: i16| a == b || (matches!(a, 0 | 5) && matches!(b, 0 | 5));
        // Categories first: a child matches by its parent's live id.
        let mut ordered: Vec<&ChannelDoc> = doc.channels.iter().collect();
        ordered.sort_by_key(|c| (c.kind != CATEGORY, c.position, c.id));
        for c in &ordered {
            if let Some(cur) = current.get(&c.original_id)
                && compatible(cur.kind, c.kind)
                && used.insert(cur.discord_channel_id)
            {
                self.channel_live.insert(c.id, cur.discord_channel_id);
            }
        }
        for c in &ordered {
            if self.channel_live.contains_key(&c.id) {
                continue;
            }
            let parent_live = c.parent.and_then(|p| self.channel_live.get(&p).copied());
            if c.parent.is_some() && parent_live.is_none() {
                continue;
            }
            let found = self.cur.channels.iter().find(|x| {
                !used.contains(&x.discord_channel_id)
                    && x.kind == c.kind
                    && x.name == c.name
                    && x.parent_id == parent_live
            });
            if let Some(x) = found {
                used.insert(x.discord_channel_id);
                self.channel_live.insert(c.id, x.discord_channel_id);
            }
        }
        if !self.has(Component::Channels) {
            return (out, Vec::new());
        }
        let mut positions = Vec::new();
        let mut children: HashMap<Option<Ref>, usize> = HashMap::new();
        for c in &ordered {
            if !self.in_scope_channel(c.original_id) {
                continue;
            }
            let parent = c.parent.and_then(|p| self.channel_ref(p));
            if c.parent.is_some() && parent.is_none() {
                // Its category is not restored (out of scope or skipped): keep it top-level.
                self.missing_targets += 1;
            }
            match self.channel_live.get(&c.id).copied() {
                Some(live) => {
                    let Some(cur) = current.get(&live).copied() else {
                        continue;
                    };
                    let fields = self.channel_diff(c, cur);
                    let parent_live = parent.and_then(|p| match p {
                        Ref::L(l) => self.channel_live.get(&l).copied(),
                        Ref::D(d) => Some(d),
                    });
                    let parent_changed = match parent {
                        Some(Ref::L(l)) if self.channel_created.contains(&l) => true,
                        _ => parent_live != cur.parent_id,
                    };
                    let moved = cur.position != c.position || parent_changed;
                    if moved {
                        positions.push(ChannelPosition {
                            channel: Ref::L(c.id),
                            position: c.position,
                            parent,
                        });
                    }
                    if let Some(o) = &fields.overwrites {
                        self.counts.overwrites += o.len();
                    }
                    if fields.is_empty() {
                        if moved {
                            self.counts.channels.update += 1;
                        } else {
                            self.counts.channels.keep += 1;
                        }
                    } else {
                        self.counts.channels.update += 1;
                        out.updates.push(Action::ChannelUpdate {
                            channel: c.id,
                            live,
                            fields,
                        });
                    }
                }
                None => {
                    let slot = children.entry(parent).or_default();
                    *slot += 1;
                    self.channel_created.insert(c.id);
                    self.counts.channels.create += 1;
                    let mut fields = create_fields(c);
                    let overwrites = self.overwrites(c);
                    self.counts.overwrites += overwrites.len();
                    fields.overwrites = Some(overwrites);
                    out.creates.push(Action::ChannelCreate {
                        channel: c.id,
                        parent,
                        position: c.position,
                        fields,
                    });
                }
            }
        }
        let mut deletes = 0usize;
        if self.input.mode == Mode::Mirror {
            let matched: HashSet<u64> = self.channel_live.values().copied().collect();
            for x in &self.cur.channels {
                if matched.contains(&x.discord_channel_id)
                    || !self.in_scope_channel(x.discord_channel_id)
                {
                    continue;
                }
                out.deletes.push(Action::ChannelDelete {
                    live: x.discord_channel_id,
                    name: x.name.clone(),
                });
                self.counts.channels.delete += 1;
                deletes += 1;
            }
        }
        let total = self.cur.channels.len() + self.counts.channels.create;
        if total > limits::MAX_CHANNELS {
            out.delete_first = deletes > 0;
            if total - deletes > limits::MAX_CHANNELS {
                self.warnings.push(Warning::Cap {
                    what: "channels".into(),
                    total: total - deletes,
                    max: limits::MAX_CHANNELS,
                });
            }
        }
        // Children per category (existing ones plus the created ones).
        for (parent, created) in children {
            let Some(parent) = parent else { continue };
            let existing = match parent {
                Ref::L(l) => self
                    .channel_live
                    .get(&l)
                    .map(|live| {
                        self.cur
                            .channels
                            .iter()
                            .filter(|x| x.parent_id == Some(*live))
                            .count()
                    })
                    .unwrap_or(0),
                Ref::D(_) => 0,
            };
            if existing + created > limits::MAX_PER_CATEGORY {
                let name = match parent {
                    Ref::L(l) => doc
                        .channels
                        .iter()
                        .find(|c| c.id == l)
                        .map(|c| c.name.clone())
                        .unwrap_or_default(),
                    Ref::D(d) => d.to_string(),
                };
                self.warnings.push(Warning::Cap {
                    what: format!("category {name}"),
                    total: existing + created,
                    max: limits::MAX_PER_CATEGORY,
                });
            }
        }
        let positions = if positions.is_empty() {
            Vec::new()
        } else {
            vec![Action::ChannelPositions { items: positions }]
        };
        (out, positions)
    }

    /// The snapshot's overwrites of a channel, mapped (unrestorable role targets dropped).
    fn overwrites(&mut self, c: &ChannelDoc) -> Vec<OverwriteSpec> {
        let mut out = Vec::new();
        for o in &c.overwrites {
            let target = match (o.target, o.role, o.user_id) {
                (OverwriteTarget::Role, Some(r), _) => match self.role_ref(r) {
                    Some(r) => OverwriteFor::Role(r),
                    None => {
                        self.missing_targets += 1;
                        continue;
                    }
                },
                (OverwriteTarget::Member, _, Some(u)) => OverwriteFor::Member(u),
                _ => continue,
            };
            out.push(OverwriteSpec {
                target,
                allow: o.allow,
                deny: o.deny,
            });
        }
        out
    }

    /// The fields of a surviving channel that differ from the snapshot.
    fn channel_diff(&mut self, c: &ChannelDoc, cur: &ChannelState) -> ChannelFields {
        let mut f = ChannelFields::default();
        if cur.kind != c.kind {
            f.kind = Some(c.kind);
        }
        if cur.name != c.name {
            f.name = Some(c.name.clone());
        }
        if cur.topic != c.topic {
            f.topic = Some(c.topic.clone());
        }
        if cur.nsfw != c.nsfw {
            f.nsfw = Some(c.nsfw);
        }
        if cur.rate_limit_per_user != c.rate_limit_per_user {
            f.rate_limit_per_user = Some(c.rate_limit_per_user);
        }
        if cur.bitrate != c.bitrate {
            f.bitrate = c.bitrate;
        }
        if cur.user_limit != c.user_limit {
            f.user_limit = c.user_limit;
        }
        if cur.rtc_region != c.rtc_region {
            f.rtc_region = Some(c.rtc_region.clone());
        }
        if cur.video_quality_mode != c.video_quality_mode {
            f.video_quality_mode = c.video_quality_mode;
        }
        if cur.default_auto_archive_duration != c.default_auto_archive_duration {
            f.default_auto_archive_duration = c.default_auto_archive_duration;
        }
        if cur.default_thread_rate_limit_per_user != c.default_thread_rate_limit_per_user {
            f.default_thread_rate_limit_per_user = c.default_thread_rate_limit_per_user;
        }
        if tag_keys(cur.available_tags.as_ref()) != tag_keys(c.available_tags.as_ref()) {
            f.available_tags = c.available_tags.as_ref().map(create_tags);
        }
        if cur.default_reaction_emoji != c.default_reaction_emoji {
            f.default_reaction_emoji = c.default_reaction_emoji.clone();
        }
        if cur.default_sort_order != c.default_sort_order {
            f.default_sort_order = c.default_sort_order;
        }
        if cur.default_forum_layout != c.default_forum_layout {
            f.default_forum_layout = c.default_forum_layout;
        }
        // Overwrites: the snapshot's (mapped), plus in merge mode the current ones on targets
        // the snapshot does not name.
        let wanted = self.overwrites(c);
        let mut named: HashSet<u64> = HashSet::new();
        for o in &wanted {
            match o.target {
                OverwriteFor::Role(Ref::L(l)) => {
                    if let Some(live) = self.role_live.get(&l) {
                        named.insert(*live);
                    }
                }
                OverwriteFor::Role(Ref::D(d)) | OverwriteFor::Member(d) => {
                    named.insert(d);
                }
            }
        }
        let mut full = wanted;
        if self.input.mode == Mode::Merge {
            let local_of: HashMap<u64, u32> =
                self.role_live.iter().map(|(l, live)| (*live, *l)).collect();
            for o in &cur.overwrites {
                if named.contains(&o.target_id) {
                    continue;
                }
                let target = match o.target {
                    OverwriteTarget::Role => OverwriteFor::Role(
                        local_of
                            .get(&o.target_id)
                            .map_or(Ref::D(o.target_id), |l| Ref::L(*l)),
                    ),
                    OverwriteTarget::Member => OverwriteFor::Member(o.target_id),
                };
                full.push(OverwriteSpec {
                    target,
                    allow: u64::try_from(o.allow).unwrap_or(0),
                    deny: u64::try_from(o.deny).unwrap_or(0),
                });
            }
        }
        // Compare in live terms; a role still to be created always differs.
        let as_live = |o: &OverwriteSpec| -> Option<(u8, u64, u64, u64)> {
            match o.target {
                OverwriteFor::Role(Ref::L(l)) => self
                    .role_live
                    .get(&l)
                    .map(|live| (0, *live, o.allow, o.deny)),
                OverwriteFor::Role(Ref::D(d)) => Some((0, d, o.allow, o.deny)),
                OverwriteFor::Member(u) => Some((1, u, o.allow, o.deny)),
            }
        };
        let wanted_live: Option<BTreeSet<(u8, u64, u64, u64)>> = full.iter().map(as_live).collect();
        let current_live: BTreeSet<(u8, u64, u64, u64)> = cur
            .overwrites
            .iter()
            .filter(|o| {
                !(o.target == OverwriteTarget::Role && self.deleted_roles.contains(&o.target_id))
            })
            .map(|o| {
                (
                    u8::try_from(o.target.num()).unwrap_or(0),
                    o.target_id,
                    u64::try_from(o.allow).unwrap_or(0),
                    u64::try_from(o.deny).unwrap_or(0),
                )
            })
            .collect();
        if wanted_live.as_ref() != Some(&current_live) {
            f.overwrites = Some(full);
        }
        f
    }

    // ------------------------------------------------------------------ settings

    fn settings(&mut self) -> Vec<Action> {
        if !self.has(Component::Settings) {
            return Vec::new();
        }
        let Some(cur) = self.cur.settings.as_ref() else {
            return Vec::new();
        };
        let s = &self.doc.settings;
        let mut f = SettingsFields::default();
        if s.name != cur.name {
            f.name = Some(s.name.clone());
        }
        if s.description != cur.description {
            f.description = Some(s.description.clone());
        }
        if s.verification_level != cur.verification_level {
            f.verification_level = Some(s.verification_level);
        }
        if s.default_message_notifications != cur.default_message_notifications {
            f.default_message_notifications = Some(s.default_message_notifications);
        }
        if s.explicit_content_filter != cur.explicit_content_filter {
            f.explicit_content_filter = Some(s.explicit_content_filter);
        }
        if s.afk_timeout != cur.afk_timeout {
            f.afk_timeout = Some(s.afk_timeout);
        }
        if s.system_channel_flags != cur.system_channel_flags {
            f.system_channel_flags = Some(s.system_channel_flags);
        }
        if s.preferred_locale != cur.preferred_locale {
            f.preferred_locale = Some(s.preferred_locale.clone());
        }
        if s.premium_progress_bar_enabled != cur.premium_progress_bar_enabled {
            f.premium_progress_bar_enabled = Some(s.premium_progress_bar_enabled);
        }
        let mut missing = 0usize;
        let mut channel =
            |wanted: Option<u32>, now: Option<u64>, this: &Self| -> Option<Option<Ref>> {
                match wanted {
                    None => now.is_some().then_some(None),
                    Some(l) => match this.channel_ref(l) {
                        None => {
                            missing += 1;
                            None
                        }
                        Some(r) => {
                            let live = this.channel_live.get(&l).copied();
                            (live.is_none() || live != now).then_some(Some(r))
                        }
                    },
                }
            };
        f.afk_channel = channel(s.afk_channel, cur.afk_channel_id, self);
        f.system_channel = channel(s.system_channel, cur.system_channel_id, self);
        f.rules_channel = channel(s.rules_channel, cur.rules_channel_id, self);
        f.public_updates_channel = channel(
            s.public_updates_channel,
            cur.public_updates_channel_id,
            self,
        );
        f.safety_alerts_channel =
            channel(s.safety_alerts_channel, cur.safety_alerts_channel_id, self);
        self.missing_targets += missing;
        let mut not_restorable = Vec::new();
        if s.icon != cur.icon {
            not_restorable.push("icon");
        }
        if s.banner != cur.banner {
            not_restorable.push("banner");
        }
        if s.splash != cur.splash {
            not_restorable.push("splash");
        }
        if s.mfa_level != cur.mfa_level {
            not_restorable.push("mfa_level");
        }
        let mut features = s.features.clone();
        features.sort();
        if features != cur.features {
            not_restorable.push("features");
        }
        if s.vanity_url_code != cur.vanity_url_code {
            not_restorable.push("vanity_url_code");
        }
        for field in &not_restorable {
            self.skipped.push(Skipped {
                kind: Kind::Settings,
                name: (*field).to_owned(),
                reason: SkipReason::NotRestorable,
            });
        }
        if !not_restorable.is_empty() {
            self.warnings.push(Warning::NotRestorable {
                fields: not_restorable.iter().map(|f| (*f).to_owned()).collect(),
            });
        }
        if f.is_empty() {
            self.counts.settings.keep += 1;
            Vec::new()
        } else {
            self.counts.settings.update += 1;
            vec![Action::Settings { fields: f }]
        }
    }

    // ------------------------------------------------------------------ members

    fn members(&mut self) -> Vec<Action> {
        if !self.has(Component::Members) {
            return Vec::new();
        }
        let current: HashMap<u64, &crate::member::MemberState> = self
            .cur
            .members
            .iter()
            .map(|m| (m.discord_user_id, m))
            .collect();
        let roles: HashMap<u64, &RoleState> = self
            .cur
            .roles
            .iter()
            .map(|r| (r.discord_role_id, r))
            .collect();
        let local_of: HashMap<u64, u32> =
            self.role_live.iter().map(|(l, live)| (*live, *l)).collect();
        let doc_role: HashMap<u32, &RoleDoc> = self.doc.roles.iter().map(|r| (r.id, r)).collect();
        let mut out = Vec::new();
        let mut not_in_server = 0usize;
        let mut over_limit = 0usize;
        let mut missing = 0usize;
        let limit = self
            .input
            .member_limit
            .map(|l| usize::try_from(l).unwrap_or(usize::MAX));
        let mut punished = Vec::new();
        for m in &self.doc.members {
            if !self.in_scope_member(m.user_id) {
                continue;
            }
            if self.input.excluded_members.contains(&m.user_id) {
                self.counts.members.skip += 1;
                let name = current
                    .get(&m.user_id)
                    .map(|c| c.global_name.clone().unwrap_or_else(|| c.username.clone()))
                    .unwrap_or_else(|| m.user_id.to_string());
                self.skipped.push(Skipped {
                    kind: Kind::Member,
                    name: name.clone(),
                    reason: SkipReason::Punished,
                });
                punished.push(name);
                continue;
            }
            let Some(cur) = current.get(&m.user_id).copied() else {
                not_in_server += 1;
                self.counts.members.skip += 1;
                continue;
            };
            // Roles the bot can neither add nor remove stay as they are.
            let fixed = |live: u64| {
                roles
                    .get(&live)
                    .is_none_or(|r| r.managed || !self.manageable(r))
            };
            let mut wanted: BTreeSet<Ref> = BTreeSet::new();
            for local in &m.roles {
                let Some(d) = doc_role.get(local) else {
                    continue;
                };
                if d.everyone {
                    continue;
                }
                match self.role_live.get(local) {
                    Some(live) if fixed(*live) => {
                        if !cur.role_ids.contains(live) {
                            missing += 1;
                        }
                    }
                    Some(_) => {
                        wanted.insert(Ref::L(*local));
                    }
                    None if self.role_created.contains(local) => {
                        wanted.insert(Ref::L(*local));
                    }
                    None => missing += 1,
                }
            }
            let as_ref = |live: u64| local_of.get(&live).map_or(Ref::D(live), |l| Ref::L(*l));
            for live in &cur.role_ids {
                let keep = match self.input.mode {
                    Mode::Merge => !self.deleted_roles.contains(live),
                    Mode::Mirror => fixed(*live),
                };
                if keep {
                    wanted.insert(as_ref(*live));
                }
            }
            let wanted_live: Option<BTreeSet<u64>> = wanted
                .iter()
                .map(|r| match r {
                    Ref::L(l) => self.role_live.get(l).copied(),
                    Ref::D(d) => Some(*d),
                })
                .collect();
            let current_set: BTreeSet<u64> = cur.role_ids.iter().copied().collect();
            let roles_change = wanted_live.as_ref() != Some(&current_set);
            let mut nick_change = m.nick != cur.nick;
            let name = cur
                .global_name
                .clone()
                .unwrap_or_else(|| cur.username.clone());
            if nick_change {
                let member_top = cur
                    .role_ids
                    .iter()
                    .filter_map(|r| roles.get(r))
                    .map(|r| rank(r))
                    .max()
                    .unwrap_or((0, Reverse(self.cur.guild_id)));
                if m.user_id == self.input.owner_id {
                    self.skip(Kind::Member, &name, SkipReason::Owner);
                    nick_change = false;
                } else if member_top >= self.bot_top || m.user_id == self.input.bot_user_id {
                    self.skip(Kind::Member, &name, SkipReason::AboveBot);
                    nick_change = false;
                }
            }
            if !roles_change && !nick_change {
                self.counts.members.keep += 1;
                continue;
            }
            if limit.is_some_and(|l| out.len() >= l) {
                over_limit += 1;
                self.counts.members.skip += 1;
                self.skipped.push(Skipped {
                    kind: Kind::Member,
                    name,
                    reason: SkipReason::PlanLimit,
                });
                continue;
            }
            self.counts.members.update += 1;
            out.push(Action::Member {
                user: m.user_id,
                roles: roles_change.then(|| wanted.into_iter().collect()),
                nick: nick_change.then(|| m.nick.clone()),
            });
        }
        self.missing_targets += missing;
        if !punished.is_empty() {
            self.warnings.push(Warning::Punished {
                count: punished.len(),
                names: punished.iter().take(5).cloned().collect(),
            });
            self.punished = punished;
        }
        if not_in_server > 0 {
            self.warnings.push(Warning::NotInServer {
                count: not_in_server,
            });
        }
        if over_limit > 0 {
            self.warnings.push(Warning::MemberLimit {
                limit: self.input.member_limit.unwrap_or(0),
                skipped: over_limit,
            });
        }
        out
    }
}

#[derive(Default)]
struct RoleActions {
    deletes: Vec<Action>,
    creates: Vec<Action>,
    updates: Vec<Action>,
    positions: Option<Action>,
    grants: Vec<Action>,
    delete_first: bool,
}

#[derive(Default)]
struct ChannelActions {
    deletes: Vec<Action>,
    creates: Vec<Action>,
    updates: Vec<Action>,
    delete_first: bool,
}

/// The fields of a surviving role that differ, and the final permissions to grant at the end
/// when the snapshot's role has dangerous bits the live one lacks. Until then the role keeps
/// only the dangerous bits it already had and the snapshot also has.
fn role_diff(r: &RoleDoc, c: &RoleState) -> (RoleFields, Option<u64>) {
    let mut f = RoleFields::default();
    if !r.everyone {
        if r.name != c.name {
            f.name = Some(r.name.clone());
        }
        if r.color != c.color {
            f.color = Some(r.color);
        }
        if r.secondary_color != c.secondary_color {
            f.secondary_color = Some(r.secondary_color);
        }
        if r.tertiary_color != c.tertiary_color {
            f.tertiary_color = Some(r.tertiary_color);
        }
        if r.hoist != c.hoist {
            f.hoist = Some(r.hoist);
        }
        if r.mentionable != c.mentionable {
            f.mentionable = Some(r.mentionable);
        }
        if r.unicode_emoji != c.unicode_emoji {
            f.unicode_emoji = Some(r.unicode_emoji.clone());
        }
    }
    let now = u64::try_from(c.permissions).unwrap_or(0);
    let target = r.permissions;
    let meanwhile = (target & !perms::DANGEROUS) | (now & target & perms::DANGEROUS);
    if meanwhile != now {
        f.permissions = Some(meanwhile);
    }
    let grant = (meanwhile != target).then_some(target);
    (f, grant)
}

/// The fields a channel is created with.
fn create_fields(c: &ChannelDoc) -> ChannelFields {
    let voice = matches!(c.kind, 2 | 13);
    let forum = matches!(c.kind, 15 | 16);
    let category = c.kind == CATEGORY;
    ChannelFields {
        kind: Some(c.kind),
        name: Some(c.name.clone()),
        topic: (!category && !voice && c.topic.is_some()).then(|| c.topic.clone()),
        nsfw: (!category && c.nsfw).then_some(true),
        rate_limit_per_user: (!category && c.rate_limit_per_user > 0)
            .then_some(c.rate_limit_per_user),
        bitrate: if voice { c.bitrate } else { None },
        user_limit: if voice {
            c.user_limit.filter(|u| *u > 0)
        } else {
            None
        },
        rtc_region: (voice && c.rtc_region.is_some()).then(|| c.rtc_region.clone()),
        video_quality_mode: if voice { c.video_quality_mode } else { None },
        default_auto_archive_duration: if category {
            None
        } else {
            c.default_auto_archive_duration
        },
        default_thread_rate_limit_per_user: if category {
            None
        } else {
            c.default_thread_rate_limit_per_user
        },
        available_tags: if forum {
            c.available_tags.as_ref().map(create_tags)
        } else {
            None
        },
        default_reaction_emoji: if forum {
            c.default_reaction_emoji.clone()
        } else {
            None
        },
        default_sort_order: if forum { c.default_sort_order } else { None },
        default_forum_layout: if forum { c.default_forum_layout } else { None },
        overwrites: None,
    }
}

/// Forum tags as a create/edit body takes them (without their old ids).
fn create_tags(tags: &Value) -> Value {
    let list = tags.as_array().cloned().unwrap_or_default();
    Value::Array(
        list.into_iter()
            .map(|t| {
                let mut out = serde_json::Map::new();
                for key in ["name", "moderated", "emoji_id", "emoji_name"] {
                    if let Some(v) = t.get(key).filter(|v| !v.is_null()) {
                        out.insert(key.to_owned(), v.clone());
                    }
                }
                Value::Object(out)
            })
            .collect(),
    )
}

/// What identifies a forum's tags (ids change when recreated).
fn tag_keys(tags: Option<&Value>) -> Vec<String> {
    tags.map(create_tags)
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .map(Value::to_string)
        .collect()
}

/// Totals for a kind (used by the preview).
pub fn total(c: &ActionCounts) -> usize {
    c.create + c.update + c.delete + c.keep + c.skip
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::member::MemberState;
    use crate::recovery::sync::{OverwriteState, SettingsState};

    const GUILD: u64 = 1000;
    const BOT: u64 = 9;
    const OWNER: u64 = 8;

    fn role(id: u64, name: &str, position: i32, permissions: i64) -> RoleState {
        RoleState {
            discord_role_id: id,
            name: name.into(),
            color: 0,
            secondary_color: None,
            tertiary_color: None,
            hoist: false,
            position,
            permissions,
            mentionable: false,
            managed: false,
            icon: None,
            unicode_emoji: None,
            tags: None,
            flags: 0,
        }
    }

    fn channel(id: u64, kind: i16, name: &str, parent: Option<u64>, position: i32) -> ChannelState {
        ChannelState {
            discord_channel_id: id,
            kind,
            name: name.into(),
            parent_id: parent,
            position,
            topic: None,
            nsfw: false,
            rate_limit_per_user: 0,
            bitrate: None,
            user_limit: None,
            rtc_region: None,
            video_quality_mode: None,
            default_auto_archive_duration: None,
            default_thread_rate_limit_per_user: None,
            available_tags: None,
            default_reaction_emoji: None,
            default_sort_order: None,
            default_forum_layout: None,
            flags: 0,
            overwrites: vec![],
        }
    }

    fn member(id: u64, roles: &[u64], nick: Option<&str>) -> MemberState {
        MemberState {
            discord_user_id: id,
            username: format!("user{id}"),
            global_name: None,
            nick: nick.map(str::to_owned),
            role_ids: roles.to_vec(),
            is_bot: id == BOT,
            joined_at: None,
        }
    }

    /// @everyone, Members (1), Mods (2, dangerous), Umbra's managed role (3), Founders (4,
    /// above the bot); a category with a text channel overwriting Members; members.
    fn guild() -> GuildState {
        let mut bot = role(30, "Umbra", 3, 8);
        bot.managed = true;
        bot.tags = Some(serde_json::json!({ "bot_id": BOT.to_string() }));
        let mut text = channel(200, 0, "chat", Some(100), 1);
        text.overwrites = vec![OverwriteState {
            target_id: 10,
            target: OverwriteTarget::Role,
            allow: 1024,
            deny: 0,
        }];
        GuildState {
            guild_id: GUILD,
            as_of: Utc::now(),
            settings: Some(
                SettingsState {
                    name: "G".into(),
                    icon: None,
                    description: None,
                    verification_level: 1,
                    default_message_notifications: 0,
                    explicit_content_filter: 0,
                    mfa_level: 0,
                    afk_channel_id: None,
                    afk_timeout: 300,
                    system_channel_id: Some(200),
                    system_channel_flags: 0,
                    rules_channel_id: None,
                    public_updates_channel_id: None,
                    safety_alerts_channel_id: None,
                    preferred_locale: "en-US".into(),
                    premium_progress_bar_enabled: false,
                    premium_tier: 0,
                    features: vec![],
                    vanity_url_code: None,
                    banner: None,
                    splash: None,
                }
                .normalized(),
            ),
            roles: vec![
                role(GUILD, "@everyone", 0, 1024),
                role(10, "Members", 1, 2048),
                role(20, "Mods", 2, 8192 | 2),
                bot,
                role(40, "Founders", 4, 8),
            ],
            channels: vec![channel(100, 4, "Info", None, 0), text],
            members: vec![
                member(OWNER, &[40], None),
                member(BOT, &[30], None),
                member(51, &[10], Some("one")),
                member(52, &[10, 20], None),
            ],
        }
        .sorted()
    }

    fn doc_of(state: &GuildState) -> SnapshotDocument {
        SnapshotDocument::from_state(state).expect("settings present")
    }

    fn input<'a>(doc: &'a SnapshotDocument, cur: &'a GuildState, mode: Mode) -> PlanInput<'a> {
        PlanInput {
            snapshot_id: Uuid::nil(),
            doc,
            current: cur,
            owner_id: OWNER,
            bot_user_id: BOT,
            mode,
            components: Components::all(),
            scope: None,
            member_limit: None,
            excluded_members: BTreeSet::new(),
        }
    }

    fn actions(p: &Plan) -> Vec<&Action> {
        p.steps.iter().map(|s| &s.action).collect()
    }

    /// Deletes every role and channel a wipe can, as Discord would (members lose the roles).
    fn wiped(mut g: GuildState) -> GuildState {
        g.roles
            .retain(|r| r.discord_role_id == GUILD || r.managed || r.name == "Founders");
        g.channels.clear();
        let kept: HashSet<u64> = g.roles.iter().map(|r| r.discord_role_id).collect();
        for m in &mut g.members {
            m.role_ids.retain(|r| kept.contains(r));
        }
        if let Some(s) = &mut g.settings {
            s.system_channel_id = None;
        }
        g
    }

    #[test]
    fn an_unchanged_guild_plans_nothing_but_keeps() {
        let g = guild();
        let doc = doc_of(&g);
        let p = plan(&input(&doc, &g, Mode::Mirror));
        assert!(p.steps.is_empty(), "{:#?}", p.steps);
        assert_eq!(p.counts.roles.keep, 5);
        assert_eq!(p.counts.channels.keep, 2);
        assert_eq!(p.counts.members.keep, 4);
        assert_eq!(p.counts.settings.keep, 1);
    }

    #[test]
    fn after_a_wipe_everything_is_created_with_mapped_references_and_grants_last() {
        let g = guild();
        let doc = doc_of(&g);
        let cur = wiped(g);
        let p = plan(&input(&doc, &cur, Mode::Merge));
        let a = actions(&p);
        let local = |name: &str| {
            doc.roles
                .iter()
                .find(|r| r.name == name)
                .map(|r| r.id)
                .expect("role")
        };
        let creates: Vec<u32> = a
            .iter()
            .filter_map(|x| match x {
                Action::RoleCreate { role, fields } => {
                    assert_eq!(
                        fields.permissions.map(|p| p & perms::DANGEROUS),
                        Some(0),
                        "created without dangerous permissions"
                    );
                    Some(*role)
                }
                _ => None,
            })
            .collect();
        assert_eq!(
            creates.len(),
            2,
            "Members and Mods; Founders exists, Umbra is managed"
        );
        assert_eq!(
            creates[0],
            local("Members"),
            "the most referenced role first"
        );
        let chat = a
            .iter()
            .find_map(|x| match x {
                Action::ChannelCreate {
                    fields,
                    parent,
                    position,
                    ..
                } if fields.name.as_deref() == Some("chat") => {
                    Some((fields.clone(), *parent, *position))
                }
                _ => None,
            })
            .expect("chat is created");
        let info = doc
            .channels
            .iter()
            .find(|c| c.name == "Info")
            .map(|c| c.id)
            .expect("category");
        assert_eq!(chat.1, Some(Ref::L(info)), "created inside its category");
        assert_eq!(chat.2, 1, "at its final position");
        assert_eq!(
            chat.0.overwrites,
            Some(vec![OverwriteSpec {
                target: OverwriteFor::Role(Ref::L(local("Members"))),
                allow: 1024,
                deny: 0
            }]),
            "overwrites inside the create, on the new role"
        );
        // Members get their whole role set and nickname in one PATCH.
        let m52 = a
            .iter()
            .find_map(|x| match x {
                Action::Member {
                    user: 52, roles, ..
                } => roles.clone(),
                _ => None,
            })
            .expect("member 52 is patched");
        assert_eq!(m52, vec![Ref::L(local("Members")), Ref::L(local("Mods"))]);
        // Settings point at the new channel.
        let settings = a
            .iter()
            .find_map(|x| match x {
                Action::Settings { fields } => Some(fields.clone()),
                _ => None,
            })
            .expect("settings");
        let chat_local = doc.channels.iter().find(|c| c.name == "chat").map(|c| c.id);
        assert_eq!(settings.system_channel, Some(chat_local.map(Ref::L)));
        // One position call; the dangerous permission is granted last.
        assert!(a.iter().any(|x| matches!(x, Action::RolePositions { .. })));
        assert!(matches!(
            a.last(),
            Some(Action::RoleGrant { role, permissions }) if *role == local("Mods") && *permissions == (8192 | 2)
        ));
        let deps = p.dependencies();
        let last = p.steps.len() - 1;
        for s in &p.steps {
            if matches!(
                s.action,
                Action::Member { .. } | Action::RolePositions { .. } | Action::ChannelCreate { .. }
            ) {
                assert!(
                    deps[last].contains(&s.id),
                    "the grant waits for step {}: {deps:?}",
                    s.id
                );
            }
        }
    }

    #[test]
    fn merge_keeps_an_unrelated_channel_and_mirror_deletes_it() {
        let g = guild();
        let doc = doc_of(&g);
        let mut cur = g.clone();
        cur.channels.push(channel(300, 0, "new-stuff", None, 5));
        cur.roles.push(role(60, "Extra", 1, 0));
        let merge = plan(&input(&doc, &cur, Mode::Merge));
        assert!(
            !actions(&merge)
                .iter()
                .any(|a| matches!(a, Action::ChannelDelete { .. } | Action::RoleDelete { .. }))
        );
        let mirror = plan(&input(&doc, &cur, Mode::Mirror));
        let deletes: Vec<String> = actions(&mirror)
            .iter()
            .filter_map(|a| match a {
                Action::ChannelDelete { name, .. } | Action::RoleDelete { name, .. } => {
                    Some(name.clone())
                }
                _ => None,
            })
            .collect();
        assert_eq!(deletes, vec!["Extra".to_owned(), "new-stuff".to_owned()]);
        assert_eq!(mirror.counts.channels.delete, 1);
    }

    #[test]
    fn surviving_objects_are_edited_not_recreated_and_renamed_ones_match_by_id() {
        let g = guild();
        let doc = doc_of(&g);
        let mut cur = g.clone();
        for r in &mut cur.roles {
            if r.discord_role_id == 10 {
                r.name = "Renamed".into();
                r.color = 5;
            }
        }
        for c in &mut cur.channels {
            if c.discord_channel_id == 200 {
                c.topic = Some("spam".into());
                c.overwrites.clear();
            }
        }
        let p = plan(&input(&doc, &cur, Mode::Merge));
        let a = actions(&p);
        assert_eq!(a.len(), 2, "{a:#?}");
        assert!(a.iter().any(|x| matches!(x, Action::RoleUpdate { live: 10, fields, .. } if fields.name.as_deref() == Some("Members") && fields.color == Some(0))));
        assert!(a.iter().any(|x| matches!(x, Action::ChannelUpdate { live: 200, fields, .. } if fields.topic == Some(None) && fields.overwrites.as_ref().is_some_and(|o| o.len() == 1))));
    }

    #[test]
    fn a_deleted_object_is_matched_by_name_type_and_parent() {
        let g = guild();
        let doc = doc_of(&g);
        let mut cur = g.clone();
        // The category and channel were recreated by hand with new ids.
        cur.channels = vec![channel(101, 4, "Info", None, 0), {
            let mut c = channel(201, 0, "chat", Some(101), 1);
            c.overwrites = g.channels[1].overwrites.clone();
            c
        }];
        if let Some(s) = &mut cur.settings {
            s.system_channel_id = Some(201);
        }
        let p = plan(&input(&doc, &cur, Mode::Mirror));
        assert!(p.steps.is_empty(), "{:#?}", p.steps);
        assert_eq!(
            p.matched_channels.values().cloned().collect::<Vec<_>>(),
            vec!["101", "201"]
        );
    }

    #[test]
    fn hierarchy_blocked_and_managed_roles_are_skipped_and_warned() {
        let g = guild();
        let doc = doc_of(&g);
        let mut cur = wiped(g.clone());
        // Founders (above the bot) is gone too, and the owner's nickname changed.
        cur.roles.retain(|r| r.name != "Founders");
        for m in &mut cur.members {
            m.role_ids.retain(|r| *r != 40);
            if m.discord_user_id == OWNER {
                m.nick = Some("boss".into());
            }
        }
        let p = plan(&input(&doc, &cur, Mode::Merge));
        assert!(
            p.skipped
                .iter()
                .any(|s| s.name == "Founders" && s.reason == SkipReason::AboveBot)
        );
        assert!(
            p.skipped
                .iter()
                .any(|s| s.kind == Kind::Member && s.reason == SkipReason::Owner)
        );
        assert!(p.warnings.iter().any(|w| matches!(w, Warning::AboveBot { names, .. } if names.contains(&"Founders".to_owned()))));
        assert!(!actions(&p).iter().any(|a| matches!(a, Action::RoleCreate { fields, .. } if fields.name.as_deref() == Some("Founders"))));
        // An unmanaged role of another bot cannot be created.
        let mut other = g.clone();
        other.roles.retain(|r| !r.managed);
        let doc2 = doc_of(&g);
        let p2 = plan(&input(&doc2, &other, Mode::Merge));
        assert!(p2.skipped.iter().any(|s| s.reason == SkipReason::Managed));
    }

    #[test]
    fn components_and_scope_limit_the_plan_and_the_member_limit_cuts_members() {
        let g = guild();
        let doc = doc_of(&g);
        let cur = wiped(g);
        let mut only_roles = input(&doc, &cur, Mode::Merge);
        only_roles.components = Components::of(&[Component::Roles]).expect("non-empty");
        let p = plan(&only_roles);
        assert!(actions(&p).iter().all(|a| matches!(
            a,
            Action::RoleCreate { .. } | Action::RolePositions { .. } | Action::RoleGrant { .. }
        )));
        let mut limited = input(&doc, &cur, Mode::Merge);
        limited.member_limit = Some(1);
        let p = plan(&limited);
        assert_eq!(
            actions(&p)
                .iter()
                .filter(|a| matches!(a, Action::Member { .. }))
                .count(),
            1
        );
        assert!(
            p.warnings
                .iter()
                .any(|w| matches!(w, Warning::MemberLimit { limit: 1, .. }))
        );
        let mut scoped = input(&doc, &cur, Mode::Mirror);
        scoped.scope = Some(Scope {
            roles: BTreeSet::from([10]),
            channels: BTreeSet::new(),
            members: BTreeSet::new(),
        });
        let p = plan(&scoped);
        let creates: Vec<_> = actions(&p)
            .into_iter()
            .filter(|a| {
                matches!(
                    a,
                    Action::RoleCreate { .. }
                        | Action::ChannelCreate { .. }
                        | Action::Member { .. }
                )
            })
            .collect();
        assert_eq!(creates.len(), 1, "{creates:#?}");
    }

    #[test]
    fn a_foreign_snapshot_is_matched_by_name_and_its_everyone_maps_here() {
        let g = guild();
        let mut doc = doc_of(&g);
        doc.guild_id = 4242;
        for r in &mut doc.roles {
            if r.everyone {
                r.original_id = 4242;
            } else {
                r.original_id += 100_000;
            }
        }
        for c in &mut doc.channels {
            c.original_id += 100_000;
        }
        let p = plan(&input(&doc, &g, Mode::Merge));
        assert!(p.warnings.contains(&Warning::ForeignSnapshot));
        assert!(p.steps.is_empty(), "{:#?}", p.steps);
        assert_eq!(p.matched_roles.get(&1).map(String::as_str), Some("1000"));
    }

    #[test]
    fn the_same_inputs_give_the_same_plan_hash() {
        let g = guild();
        let doc = doc_of(&g);
        let cur = wiped(g);
        let a = plan(&input(&doc, &cur, Mode::Mirror));
        let b = plan(&input(&doc, &cur, Mode::Mirror));
        assert_eq!(a.hash().ok(), b.hash().ok());
        assert!(a.eta_seconds >= 1);
    }
}
