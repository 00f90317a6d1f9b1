//! Purpose: the planner's threads — each thread of the snapshot matched to a live one by its
//! original id, else by name in the same channel; missing ones created again in their
//! (restored) channel — a forum post with its tags and starter message — with their archive
//! state, lock and pin; changed ones given their name, tags, slowmode, auto-archive, pin,
//! lock and archive state back; in mirror mode, threads the snapshot lacks in channels it
//! knows are deleted. A scope (AntiNuke) covers the threads it lists and those of the
//! channels it covers. Only from documents that know threads (format v2).

use std::collections::HashSet;

use super::super::model::{Action, Component, Mode, ThreadFields};
use super::*;
use crate::recovery::snapshot::model::ThreadDoc;
use crate::recovery::sync::ThreadState;

impl<'a> Planner<'a> {
    /// Whether a thread (original or live id) of `parent` (original or live id) is in scope:
    /// listed, or its channel is, or it was deleted itself (AntiNuke counts a deleted thread as
    /// a deleted channel).
    fn in_scope_thread(&self, id: u64, parent: u64) -> bool {
        self.input.scope.as_ref().is_none_or(|s| {
            s.threads.contains(&id) || s.channels.contains(&parent) || s.channels.contains(&id)
        })
    }

    /// The names of `tags` among the live channel `parent`'s forum tags.
    fn live_tag_names(&self, parent: u64, tags: &[u64]) -> Vec<String> {
        let available = self
            .cur
            .channels
            .iter()
            .find(|c| c.discord_channel_id == parent)
            .and_then(|c| c.available_tags.as_ref())
            .and_then(|t| t.as_array());
        let mut out: Vec<String> = tags
            .iter()
            .filter_map(|id| {
                available?
                    .iter()
                    .find(|t| {
                        t.get("id").and_then(|v| v.as_str()) == Some(id.to_string().as_str())
                    })?
                    .get("name")?
                    .as_str()
                    .map(str::to_owned)
            })
            .collect();
        out.sort();
        out
    }

    fn thread_fields(t: &ThreadDoc) -> ThreadFields {
        let mut tags = t.tags.clone();
        tags.sort();
        ThreadFields {
            kind: t.kind,
            archived: t.archived,
            locked: t.locked,
            auto_archive_duration: t.auto_archive_duration,
            invitable: t.invitable,
            rate_limit_per_user: t.rate_limit_per_user,
            pinned: t.pinned,
            tags,
        }
    }

    fn live_fields(&self, n: &ThreadState) -> ThreadFields {
        ThreadFields {
            kind: n.kind,
            archived: n.archived,
            locked: n.locked,
            auto_archive_duration: n.auto_archive_duration,
            invitable: n.invitable,
            rate_limit_per_user: n.rate_limit_per_user,
            pinned: n.flags & 2 != 0,
            tags: self.live_tag_names(n.parent_id, &n.applied_tags),
        }
    }

    pub(super) fn threads(&mut self) -> Vec<Action> {
        if !self.has(Component::Threads) {
            return Vec::new();
        }
        let Some(then) = self.doc.threads.as_ref() else {
            return Vec::new();
        };
        let now: Vec<ThreadState> = self.cur.threads.clone();
        let mut taken: HashSet<u64> = HashSet::new();
        let mut out = Vec::new();
        for t in then {
            let Some(parent_doc) = self.doc.channels.iter().find(|c| c.id == t.parent) else {
                continue;
            };
            let parent_live = self.channel_live.get(&t.parent).copied();
            let live = now
                .iter()
                .find(|n| n.id == t.original_id)
                .or_else(|| {
                    now.iter().find(|n| {
                        !taken.contains(&n.id)
                            && n.name == t.name
                            && Some(n.parent_id) == parent_live
                            && !then.iter().any(|o| o.original_id == n.id)
                    })
                })
                .cloned();
            if let Some(n) = &live {
                taken.insert(n.id);
            }
            if !self.in_scope_thread(t.original_id, parent_doc.original_id)
                && live
                    .as_ref()
                    .is_none_or(|n| !self.in_scope_thread(n.id, n.parent_id))
            {
                continue;
            }
            let Some(parent) = self.channel_ref(t.parent) else {
                self.counts.threads.skip += 1;
                self.skip(Kind::Thread, &t.name, SkipReason::MissingTarget);
                continue;
            };
            let fields = Self::thread_fields(t);
            match live {
                Some(n) => {
                    let have = self.live_fields(&n);
                    // The thread's kind cannot change; private threads alone have `invitable`.
                    let same = n.name == t.name
                        && ThreadFields {
                            kind: fields.kind,
                            invitable: if n.kind == 12 {
                                have.invitable
                            } else {
                                fields.invitable
                            },
                            ..have.clone()
                        } == fields;
                    if same {
                        self.counts.threads.keep += 1;
                        continue;
                    }
                    self.counts.threads.update += 1;
                    out.push(Action::ThreadEdit {
                        live: n.id,
                        parent,
                        name: t.name.clone(),
                        fields: ThreadFields {
                            kind: n.kind,
                            ..fields
                        },
                        reopen: n.archived,
                    });
                }
                None => {
                    self.counts.threads.create += 1;
                    out.push(Action::ThreadCreate {
                        thread: t.original_id,
                        parent,
                        post: matches!(parent_doc.kind, 15 | 16),
                        name: t.name.clone(),
                        fields,
                        starter: t.starter.clone(),
                    });
                }
            }
        }
        if self.input.mode == Mode::Mirror {
            // Only in channels the snapshot has (a channel deleted by the restore takes its
            // threads with it).
            let kept_channels: HashSet<u64> = self.channel_live.values().copied().collect();
            for n in &now {
                if taken.contains(&n.id)
                    || !kept_channels.contains(&n.parent_id)
                    || !self.in_scope_thread(n.id, n.parent_id)
                {
                    continue;
                }
                self.counts.threads.delete += 1;
                out.push(Action::ThreadDelete {
                    live: n.id,
                    name: n.name.clone(),
                });
            }
        }
        out
    }
}
