//! Purpose: the planner's stickers — each sticker of the snapshot matched to a live one by its
//! original id, else by name; missing ones uploaded again from the snapshot's file, changed
//! ones given their name, description and tags back; in mirror mode, stickers the snapshot
//! lacks are deleted. Only from documents that know stickers (format v2); a sticker whose file
//! was not kept is reported, not re-created.

use std::collections::HashSet;

use super::super::model::{Action, Component, Kind, Mode, SkipReason, Warning};
use super::*;

impl<'a> Planner<'a> {
    fn in_scope_sticker(&self, id: u64) -> bool {
        self.input
            .scope
            .as_ref()
            .is_none_or(|s| s.stickers.contains(&id))
    }

    pub(super) fn stickers(&mut self) -> Vec<Action> {
        if !self.has(Component::Stickers) {
            return Vec::new();
        }
        let Some(then) = self.doc.stickers.as_ref() else {
            return Vec::new();
        };
        let now: Vec<&crate::recovery::sync::StickerState> = self
            .cur
            .settings
            .as_ref()
            .map(|s| s.stickers.iter().collect())
            .unwrap_or_default();
        let mut taken: HashSet<u64> = HashSet::new();
        let mut out = Vec::new();
        let mut no_file = Vec::new();
        for s in then {
            let live = now
                .iter()
                .find(|n| n.id == s.original_id)
                .or_else(|| {
                    now.iter().find(|n| {
                        !taken.contains(&n.id)
                            && n.name == s.name
                            && !then.iter().any(|o| o.original_id == n.id)
                    })
                })
                .copied();
            if let Some(n) = live {
                taken.insert(n.id);
            }
            if !self.in_scope_sticker(s.original_id)
                && live.is_none_or(|n| !self.in_scope_sticker(n.id))
            {
                continue;
            }
            match live {
                Some(n)
                    if n.name == s.name && n.description == s.description && n.tags == s.tags =>
                {
                    self.counts.stickers.keep += 1;
                }
                Some(n) => {
                    self.counts.stickers.update += 1;
                    out.push(Action::StickerUpdate {
                        live: n.id,
                        name: s.name.clone(),
                        description: s.description.clone(),
                        tags: s.tags.clone(),
                    });
                }
                None => {
                    let Some(file) = s.image.as_ref().and_then(|h| self.doc.images.get(h)) else {
                        self.counts.stickers.skip += 1;
                        self.skip(Kind::Sticker, &s.name, SkipReason::NotRestorable);
                        no_file.push(s.name.clone());
                        continue;
                    };
                    self.counts.stickers.create += 1;
                    out.push(Action::StickerCreate {
                        sticker: s.original_id,
                        name: s.name.clone(),
                        description: s.description.clone(),
                        tags: s.tags.clone(),
                        format_type: s.format_type,
                        file: file.clone(),
                    });
                }
            }
        }
        if !no_file.is_empty() {
            self.warnings.push(Warning::EmojiImages {
                count: no_file.len(),
                names: no_file.into_iter().take(NAMES_SHOWN).collect(),
            });
        }
        if self.input.mode == Mode::Mirror {
            for n in now {
                if taken.contains(&n.id) || !self.in_scope_sticker(n.id) {
                    continue;
                }
                self.counts.stickers.delete += 1;
                out.push(Action::StickerDelete {
                    live: n.id,
                    name: n.name.clone(),
                });
            }
        }
        out
    }
}
