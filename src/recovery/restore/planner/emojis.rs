//! Purpose: the planner's emojis — each emoji of the snapshot matched to a live one by its
//! original id, else by name and kind; missing ones uploaded again from the snapshot's image
//! (with their allowed roles mapped), changed ones renamed or given their roles back; in
//! mirror mode, emojis the snapshot lacks are deleted. Only from documents that know emojis
//! (format v2); an emoji whose image was not kept is reported, not re-created.

use std::collections::{BTreeSet, HashSet};

use super::super::model::{Action, Component, Kind, Mode, Ref, SkipReason, Warning};
use super::*;

impl<'a> Planner<'a> {
    fn in_scope_emoji(&self, id: u64) -> bool {
        self.input
            .scope
            .as_ref()
            .is_none_or(|s| s.emojis.contains(&id))
    }

    pub(super) fn emojis(&mut self) -> Vec<Action> {
        if !self.has(Component::Emojis) {
            return Vec::new();
        }
        let Some(then) = self.doc.emojis.as_ref() else {
            return Vec::new();
        };
        let now: Vec<&crate::recovery::sync::EmojiState> = self
            .cur
            .settings
            .as_ref()
            .map(|s| s.emojis.iter().collect())
            .unwrap_or_default();
        let mut taken: HashSet<u64> = HashSet::new();
        let mut out = Vec::new();
        let mut no_image = Vec::new();
        for e in then {
            let live = now
                .iter()
                .find(|n| n.id == e.original_id)
                .or_else(|| {
                    now.iter().find(|n| {
                        !taken.contains(&n.id)
                            && n.name == e.name
                            && n.animated == e.animated
                            && !then.iter().any(|o| o.original_id == n.id)
                    })
                })
                .copied();
            if let Some(n) = live {
                taken.insert(n.id);
            }
            if !self.in_scope_emoji(e.original_id)
                && live.is_none_or(|n| !self.in_scope_emoji(n.id))
            {
                continue;
            }
            // The roles that will exist; the others are left out (counted as missing).
            let mut roles: Vec<Ref> = Vec::new();
            for local in &e.roles {
                match self.role_ref(*local) {
                    Some(r) => roles.push(r),
                    None => self.missing_targets += 1,
                }
            }
            match live {
                Some(n) => {
                    let wanted: Option<BTreeSet<u64>> = roles
                        .iter()
                        .map(|r| match r {
                            Ref::L(l) => self.role_live.get(l).copied(),
                            Ref::D(d) => Some(*d),
                        })
                        .collect();
                    let have: BTreeSet<u64> = n.roles.iter().copied().collect();
                    if n.name == e.name && wanted.as_ref() == Some(&have) {
                        self.counts.emojis.keep += 1;
                        continue;
                    }
                    self.counts.emojis.update += 1;
                    out.push(Action::EmojiUpdate {
                        live: n.id,
                        name: e.name.clone(),
                        roles,
                    });
                }
                None => {
                    let Some(data) = e.image.as_ref().and_then(|h| self.doc.images.get(h)) else {
                        self.counts.emojis.skip += 1;
                        self.skip(Kind::Emoji, &e.name, SkipReason::NotRestorable);
                        no_image.push(e.name.clone());
                        continue;
                    };
                    let kind = if e.animated { "gif" } else { "png" };
                    self.counts.emojis.create += 1;
                    out.push(Action::EmojiCreate {
                        emoji: e.original_id,
                        name: e.name.clone(),
                        roles,
                        image: format!("data:image/{kind};base64,{data}"),
                    });
                }
            }
        }
        if !no_image.is_empty() {
            self.warnings.push(Warning::EmojiImages {
                count: no_image.len(),
                names: no_image.into_iter().take(NAMES_SHOWN).collect(),
            });
        }
        if self.input.mode == Mode::Mirror {
            for n in now {
                if taken.contains(&n.id) || !self.in_scope_emoji(n.id) {
                    continue;
                }
                self.counts.emojis.delete += 1;
                out.push(Action::EmojiDelete {
                    live: n.id,
                    name: n.name.clone(),
                });
            }
        }
        out
    }
}
