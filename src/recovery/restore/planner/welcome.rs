//! Purpose: the planner's welcome screen — set back as a whole (on/off, description, channels
//! mapped to the restored ones; channels not restored are left out) when it differs from the
//! live one. Only when both the snapshot and the mirror know it; with a scope (AntiNuke), only
//! when it named a channel the scope brings back.

use super::super::model::{Action, Component, Ref};
use super::*;

impl<'a> Planner<'a> {
    pub(super) fn welcome(&mut self) -> Vec<Action> {
        if !self.has(Component::Welcome) {
            return Vec::new();
        }
        let (Some(then), Some(now)) = (
            self.doc.welcome.clone(),
            self.cur.settings.as_ref().and_then(|s| s.welcome.clone()),
        ) else {
            return Vec::new();
        };
        // A scope (AntiNuke) covers the screen when it named a channel the scope brings back.
        if let Some(scope) = &self.input.scope {
            let names_one = then.channels.iter().any(|(local, ..)| {
                self.doc
                    .channels
                    .iter()
                    .any(|c| c.id == *local && scope.channels.contains(&c.original_id))
            });
            if !names_one {
                return Vec::new();
            }
        }
        let mut channels: Vec<(Ref, String, Option<String>)> = Vec::new();
        for (local, d, e) in &then.channels {
            match self.channel_ref(*local) {
                Some(r) => channels.push((r, d.clone(), e.clone())),
                None => self.missing_targets += 1,
            }
        }
        let resolved: Option<Vec<(u64, String, Option<String>)>> = channels
            .iter()
            .map(|(r, d, e)| {
                let id = match r {
                    Ref::L(l) => self.channel_live.get(l).copied(),
                    Ref::D(d) => Some(*d),
                };
                id.map(|id| (id, d.clone(), e.clone()))
            })
            .collect();
        let same = now.enabled == then.enabled
            && now.description == then.description
            && resolved.as_ref() == Some(&now.channels);
        if same {
            self.counts.welcome.keep += 1;
            return Vec::new();
        }
        self.counts.welcome.update += 1;
        vec![Action::WelcomeScreen {
            enabled: then.enabled,
            description: then.description,
            channels,
        }]
    }
}
