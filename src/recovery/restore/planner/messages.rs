//! Purpose: the planner's messages — a snapshot's kept messages (`/backup messages`) are posted
//! again, in order, in the channels the restore makes again (a channel that survived still has
//! its own: nothing is posted twice there), each through the channel's replay webhook with its
//! author's name and avatar, its embeds, its files and its pin; then the replay webhook goes.
//! With a scope (AntiNuke), only in the channels the attacker deleted.

use super::super::model::{Action, Component, Ref};
use super::*;

impl<'a> Planner<'a> {
    pub(super) fn messages(&mut self) -> Vec<Action> {
        if !self.has(Component::Messages) {
            return Vec::new();
        }
        let Some(kept) = self.doc.messages.as_ref() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for c in kept {
            let Some(original) = self.doc.channel_original(c.channel) else {
                continue;
            };
            if c.messages.is_empty() || !self.in_scope_channel(original) {
                continue;
            }
            if !self.channel_created.contains(&c.channel) {
                self.counts.messages.keep += c.messages.len();
                continue;
            }
            let channel = Ref::L(c.channel);
            for m in &c.messages {
                let mut files = Vec::new();
                let mut missing = Vec::new();
                for f in &m.files {
                    match f.data.as_ref().and_then(|h| self.doc.images.get(h)) {
                        Some(data) => files.push((f.filename.clone(), data.clone())),
                        None => missing.push(f.filename.clone()),
                    }
                }
                let mut content = m.content.clone();
                // A file the snapshot did not keep is named where it was.
                for name in missing {
                    let line = format!("\n-# 📎 {name} (not kept)");
                    if content.chars().count() + line.chars().count() <= 2000 {
                        content.push_str(&line);
                    }
                }
                let content = content.trim_start_matches('\n').to_owned();
                if content.is_empty() && m.embeds.is_empty() && files.is_empty() {
                    self.counts.messages.skip += 1;
                    continue;
                }
                self.counts.messages.create += 1;
                out.push(Action::MessageReplay {
                    channel,
                    original: m.original_id,
                    author: m.author.clone(),
                    avatar: m.avatar.clone(),
                    content,
                    embeds: m.embeds.clone(),
                    files,
                    pinned: m.pinned,
                });
            }
            out.push(Action::ReplayEnd { channel });
        }
        out
    }
}
