//! Purpose: the planner's members — role sets and nicknames to give back, within the plan's
//! member limit, never to punished attackers. With [`Component::Pull`], members who left but
//! linked their account are added back with the roles (those Umbra can give) and nickname the
//! snapshot has for them.

use std::collections::{BTreeSet, HashMap};

use super::super::model::{Action, Component, Kind, Mode, Ref, SkipReason, Skipped, Warning};
use super::*;

impl<'a> Planner<'a> {
    pub(super) fn members(&mut self) -> Vec<Action> {
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
        let pull = self.has(Component::Pull);
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
                let linked = self.input.linked.contains(&m.user_id);
                if !(pull && linked) || m.user_id == self.input.bot_user_id {
                    not_in_server += 1;
                    self.counts.members.skip += 1;
                    continue;
                }
                if limit.is_some_and(|l| out.len() >= l) {
                    over_limit += 1;
                    self.counts.members.skip += 1;
                    self.skipped.push(Skipped {
                        kind: Kind::Member,
                        name: m.user_id.to_string(),
                        reason: SkipReason::PlanLimit,
                    });
                    continue;
                }
                // Roles given in the add: those Umbra can give (one it cannot would refuse
                // the whole add).
                let mut wanted: BTreeSet<Ref> = BTreeSet::new();
                for local in &m.roles {
                    let Some(d) = doc_role.get(local) else {
                        continue;
                    };
                    if d.everyone {
                        continue;
                    }
                    match self.role_live.get(local) {
                        Some(live)
                            if roles
                                .get(live)
                                .is_none_or(|r| r.managed || !self.manageable(r)) =>
                        {
                            missing += 1;
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
                self.counts.members.create += 1;
                out.push(Action::Member {
                    user: m.user_id,
                    roles: Some(wanted.into_iter().collect()),
                    nick: Some(m.nick.clone()),
                    add: true,
                });
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
                add: false,
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
