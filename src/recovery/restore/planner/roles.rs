//! Purpose: the planner's roles — matching snapshot roles to live ones (by id, then name),
//! creates, updates, deletes, the hierarchy's skips, final grants of dangerous permissions, and
//! the positions.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::Value;

use super::super::model::{
    Action, Component, Kind, Mode, Ref, RoleFields, SkipReason, Warning, limits, perms,
};
use super::*;

#[derive(Default)]
pub(super) struct RoleActions {
    pub(super) deletes: Vec<Action>,
    pub(super) creates: Vec<Action>,
    pub(super) updates: Vec<Action>,
    pub(super) positions: Option<Action>,
    pub(super) grants: Vec<Action>,
    pub(super) delete_first: bool,
}

impl<'a> Planner<'a> {
    pub(super) fn match_roles(&mut self) -> RoleActions {
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
                    let (mut fields, grant) = role_diff(r, c);
                    if !r.everyone && r.icon != c.icon {
                        match self.picture(&format!("role.{}.icon", r.original_id), &r.icon) {
                            Some(icon) => fields.icon = Some(icon),
                            None => self.unrestorable_pictures.push(r.name.clone()),
                        }
                    }
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
                        icon: match self.picture(&format!("role.{}.icon", r.original_id), &r.icon) {
                            Some(Some(icon)) => Some(Some(icon)),
                            Some(None) => None,
                            None => {
                                self.unrestorable_pictures.push(r.name.clone());
                                None
                            }
                        },
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
    pub(super) fn role_positions(&self) -> Option<Action> {
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
}

/// The fields of a surviving role that differ, and the final permissions to grant at the end
/// when the snapshot's role has dangerous bits the live one lacks. Until then the role keeps
/// only the dangerous bits it already had and the snapshot also has.
pub(super) fn role_diff(r: &RoleDoc, c: &RoleState) -> (RoleFields, Option<u64>) {
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
