//! Purpose: the planner's onboarding — set back as a whole (on/off, mode, default channels,
//! prompts with their options' roles and channels mapped to the restored ones; roles and
//! channels not restored are left out) when it differs from the live one. Only when both the
//! snapshot and the mirror know it; with a scope (AntiNuke), only when it named a role or
//! channel the scope brings back.

use super::super::model::{Action, Component, Ref};
use super::*;

impl<'a> Planner<'a> {
    pub(super) fn onboarding(&mut self) -> Vec<Action> {
        if !self.has(Component::Onboarding) {
            return Vec::new();
        }
        let (Some(then), Some(now)) = (
            self.doc.onboarding.clone(),
            self.cur
                .settings
                .as_ref()
                .and_then(|s| s.onboarding.clone()),
        ) else {
            return Vec::new();
        };
        if let Some(scope) = &self.input.scope {
            let (roles, channels) = then.ids();
            let names_one = roles.iter().any(|l| {
                self.doc
                    .roles
                    .iter()
                    .any(|r| r.id == **l && scope.roles.contains(&r.original_id))
            }) || channels.iter().any(|l| {
                self.doc
                    .channels
                    .iter()
                    .any(|c| c.id == **l && scope.channels.contains(&c.original_id))
            });
            if !names_one {
                return Vec::new();
            }
        }
        let (wanted, dropped) = then.map(|r| self.role_ref(*r), |c| self.channel_ref(*c));
        self.missing_targets += dropped;
        let live = |r: &Ref, map: &BTreeMap<u32, u64>| match r {
            Ref::L(l) => map.get(l).copied(),
            Ref::D(d) => Some(*d),
        };
        let (resolved, unresolved) = wanted.map(
            |r| live(r, &self.role_live),
            |c| live(c, &self.channel_live),
        );
        if unresolved == 0 && resolved == now {
            self.counts.onboarding.keep += 1;
            return Vec::new();
        }
        self.counts.onboarding.update += 1;
        vec![Action::Onboarding { onboarding: wanted }]
    }
}
