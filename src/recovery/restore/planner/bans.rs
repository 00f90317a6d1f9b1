//! Purpose: the planner's bans — who the snapshot has banned and is not banned now is banned
//! again (with the snapshot's reason); in mirror mode, who is banned now and was not then is
//! unbanned. Only when both ban lists are known (a format-v2 snapshot, a mirror that has
//! loaded the ban list): otherwise bans are left alone, with a warning. Never unbans the
//! punished attacker of an open incident, never bans the owner or Umbra.

use std::collections::HashMap;

use super::super::model::{Action, Component, Kind, Mode, SkipReason, Skipped, Warning};
use super::*;

impl<'a> Planner<'a> {
    fn in_scope_ban(&self, user: u64) -> bool {
        self.input
            .scope
            .as_ref()
            .is_none_or(|s| s.bans.contains(&user))
    }

    pub(super) fn bans(&mut self) -> Vec<Action> {
        if !self.has(Component::Bans) {
            return Vec::new();
        }
        let (Some(then), Some(now)) = (self.doc.bans.as_ref(), self.cur.bans.as_ref()) else {
            // Say why bans are left alone.
            self.warnings.push(Warning::BansUnknown {
                snapshot: self.doc.bans.is_some(),
            });
            return Vec::new();
        };
        let current: HashMap<u64, &crate::member::BanState> =
            now.iter().map(|b| (b.discord_user_id, b)).collect();
        let mut out = Vec::new();
        for b in then {
            if !self.in_scope_ban(b.user_id) {
                continue;
            }
            if b.user_id == self.input.owner_id || b.user_id == self.input.bot_user_id {
                self.counts.bans.skip += 1;
                continue;
            }
            if current.contains_key(&b.user_id) {
                self.counts.bans.keep += 1;
                continue;
            }
            self.counts.bans.create += 1;
            out.push(Action::Ban {
                user: b.user_id,
                name: b.username.clone(),
                reason: b.reason.clone(),
            });
        }
        let unban = self.input.mode == Mode::Mirror
            || self
                .input
                .scope
                .as_ref()
                .is_some_and(|s| !s.bans.is_empty());
        if unban {
            let banned_then: std::collections::HashSet<u64> =
                then.iter().map(|b| b.user_id).collect();
            for c in now {
                if banned_then.contains(&c.discord_user_id) || !self.in_scope_ban(c.discord_user_id)
                {
                    continue;
                }
                if self.input.excluded_members.contains(&c.discord_user_id) {
                    self.counts.bans.skip += 1;
                    self.skipped.push(Skipped {
                        kind: Kind::Ban,
                        name: c.username.clone(),
                        reason: SkipReason::Punished,
                    });
                    self.punished.push(c.username.clone());
                    continue;
                }
                self.counts.bans.delete += 1;
                out.push(Action::Unban {
                    user: c.discord_user_id,
                    name: c.username.clone(),
                });
            }
        }
        out
    }
}
