//! Purpose: the planner's webhooks — the channel webhooks people made, matched by id (then by
//! name in the same restored channel); missing ones are made again in their restored channel
//! with their name and avatar (a new URL, which the report lists), changed ones set back
//! (name, channel, avatar), and in mirror mode the webhooks people made since are deleted.
//! Only when both the snapshot and the mirror know them (Manage Webhooks); with a scope
//! (AntiNuke), only those the attacker deleted or changed and those of deleted channels.

use super::super::model::{Action, Component, Kind, Mode, Ref, SkipReason};
use super::*;
use crate::recovery::snapshot::service::webhook_avatar_key;

impl<'a> Planner<'a> {
    /// Whether a webhook (by id; `channel`: the original id of its channel) is in scope.
    fn in_scope_webhook(&self, id: u64, channel: Option<u64>) -> bool {
        self.input.scope.as_ref().is_none_or(|s| {
            s.webhooks.contains(&id) || channel.is_some_and(|c| s.channels.contains(&c))
        })
    }

    pub(super) fn webhooks(&mut self) -> Vec<Action> {
        if !self.has(Component::Webhooks) {
            return Vec::new();
        }
        let (Some(then), Some(now)) = (
            self.doc.webhooks.clone(),
            self.cur.settings.as_ref().and_then(|s| s.webhooks.clone()),
        ) else {
            return Vec::new();
        };
        let original_channel = |local: u32| self.doc.channel_original(local);
        let mut taken: HashSet<u64> = HashSet::new();
        let mut out = Vec::new();
        for w in &then {
            let channel = self.channel_ref(w.channel);
            let live_channel = channel.and_then(|r| match r {
                Ref::L(l) => self.channel_live.get(&l).copied(),
                Ref::D(d) => Some(d),
            });
            let live = now
                .iter()
                .find(|n| n.id == w.original_id)
                .or_else(|| {
                    now.iter().find(|n| {
                        !taken.contains(&n.id)
                            && n.name == w.name
                            && Some(n.channel_id) == live_channel
                            && !then.iter().any(|o| o.original_id == n.id)
                    })
                })
                .cloned();
            if let Some(n) = &live {
                taken.insert(n.id);
            }
            if !self.in_scope_webhook(w.original_id, original_channel(w.channel))
                && live
                    .as_ref()
                    .is_none_or(|n| !self.in_scope_webhook(n.id, None))
            {
                continue;
            }
            let Some(channel) = channel else {
                self.counts.webhooks.skip += 1;
                self.skip(Kind::Webhook, &w.name, SkipReason::MissingTarget);
                continue;
            };
            let key = webhook_avatar_key(w.original_id);
            match live {
                Some(n) => {
                    let same_avatar = n.avatar == w.avatar;
                    if n.name == w.name && Some(n.channel_id) == live_channel && same_avatar {
                        self.counts.webhooks.keep += 1;
                        continue;
                    }
                    self.counts.webhooks.update += 1;
                    out.push(Action::WebhookUpdate {
                        live: n.id,
                        name: w.name.clone(),
                        channel,
                        // An avatar the snapshot could not keep is left as it is.
                        avatar: if same_avatar {
                            None
                        } else {
                            self.picture(&key, &w.avatar)
                        },
                    });
                }
                None => {
                    self.counts.webhooks.create += 1;
                    out.push(Action::WebhookCreate {
                        webhook: w.original_id,
                        name: w.name.clone(),
                        channel,
                        avatar: self.picture(&key, &w.avatar).flatten(),
                    });
                }
            }
        }
        if self.input.mode == Mode::Mirror {
            for n in &now {
                if taken.contains(&n.id) || !self.in_scope_webhook(n.id, None) {
                    continue;
                }
                self.counts.webhooks.delete += 1;
                out.push(Action::WebhookDelete {
                    live: n.id,
                    name: n.name.clone(),
                });
            }
        }
        out
    }
}
