//! Purpose: the planner's channels — matching by id, then name + type + parent; creates with
//! their overwrites, updates, deletes, positions; forum tags.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde_json::Value;

use super::super::model::{
    Action, ChannelFields, ChannelPosition, Component, Mode, OverwriteFor, OverwriteSpec, Ref,
    Warning, limits,
};
use super::*;

#[derive(Default)]
pub(super) struct ChannelActions {
    pub(super) deletes: Vec<Action>,
    pub(super) creates: Vec<Action>,
    pub(super) updates: Vec<Action>,
    pub(super) delete_first: bool,
}

impl<'a> Planner<'a> {
    pub(super) fn match_channels(&mut self) -> (ChannelActions, Vec<Action>) {
        let mut out = ChannelActions::default();
        let doc = self.doc;
        let current: HashMap<u64, &ChannelState> = self
            .cur
            .channels
            .iter()
            .map(|c| (c.discord_channel_id, c))
            .collect();
        let mut used: HashSet<u64> = HashSet::new();
        let compatible = |a: i16, b: i16| a == b || (matches!(a, 0 | 5) && matches!(b, 0 | 5));
        // Categories first: a child matches by its parent's live id.
        let mut ordered: Vec<&ChannelDoc> = doc.channels.iter().collect();
        ordered.sort_by_key(|c| (c.kind != CATEGORY, c.position, c.id));
        for c in &ordered {
            if let Some(cur) = current.get(&c.original_id)
                && compatible(cur.kind, c.kind)
                && used.insert(cur.discord_channel_id)
            {
                self.channel_live.insert(c.id, cur.discord_channel_id);
            }
        }
        for c in &ordered {
            if self.channel_live.contains_key(&c.id) {
                continue;
            }
            let parent_live = c.parent.and_then(|p| self.channel_live.get(&p).copied());
            if c.parent.is_some() && parent_live.is_none() {
                continue;
            }
            let found = self.cur.channels.iter().find(|x| {
                !used.contains(&x.discord_channel_id)
                    && x.kind == c.kind
                    && x.name == c.name
                    && x.parent_id == parent_live
            });
            if let Some(x) = found {
                used.insert(x.discord_channel_id);
                self.channel_live.insert(c.id, x.discord_channel_id);
            }
        }
        if !self.has(Component::Channels) {
            return (out, Vec::new());
        }
        let mut positions = Vec::new();
        let mut children: HashMap<Option<Ref>, usize> = HashMap::new();
        for c in &ordered {
            if !self.in_scope_channel(c.original_id) {
                continue;
            }
            let parent = c.parent.and_then(|p| self.channel_ref(p));
            if c.parent.is_some() && parent.is_none() {
                // Its category is not restored (out of scope or skipped): keep it top-level.
                self.missing_targets += 1;
            }
            match self.channel_live.get(&c.id).copied() {
                Some(live) => {
                    let Some(cur) = current.get(&live).copied() else {
                        continue;
                    };
                    let fields = self.channel_diff(c, cur);
                    let parent_live = parent.and_then(|p| match p {
                        Ref::L(l) => self.channel_live.get(&l).copied(),
                        Ref::D(d) => Some(d),
                    });
                    let parent_changed = match parent {
                        Some(Ref::L(l)) if self.channel_created.contains(&l) => true,
                        _ => parent_live != cur.parent_id,
                    };
                    let moved = cur.position != c.position || parent_changed;
                    if moved {
                        positions.push(ChannelPosition {
                            channel: Ref::L(c.id),
                            position: c.position,
                            parent,
                        });
                    }
                    if let Some(o) = &fields.overwrites {
                        self.counts.overwrites += o.len();
                    }
                    if fields.is_empty() {
                        if moved {
                            self.counts.channels.update += 1;
                        } else {
                            self.counts.channels.keep += 1;
                        }
                    } else {
                        self.counts.channels.update += 1;
                        out.updates.push(Action::ChannelUpdate {
                            channel: c.id,
                            live,
                            fields,
                        });
                    }
                }
                None => {
                    let slot = children.entry(parent).or_default();
                    *slot += 1;
                    self.channel_created.insert(c.id);
                    self.counts.channels.create += 1;
                    let mut fields = create_fields(c);
                    let overwrites = self.overwrites(c);
                    self.counts.overwrites += overwrites.len();
                    fields.overwrites = Some(overwrites);
                    out.creates.push(Action::ChannelCreate {
                        channel: c.id,
                        parent,
                        position: c.position,
                        fields,
                    });
                }
            }
        }
        let mut deletes = 0usize;
        if self.input.mode == Mode::Mirror {
            let matched: HashSet<u64> = self.channel_live.values().copied().collect();
            // Discord refuses to delete a community server's rules and updates channels.
            let kept: HashSet<u64> = self
                .cur
                .settings
                .as_ref()
                .filter(|s| s.features.iter().any(|f| f == "COMMUNITY"))
                .map(|s| {
                    [s.rules_channel_id, s.public_updates_channel_id]
                        .into_iter()
                        .flatten()
                        .collect()
                })
                .unwrap_or_default();
            for x in &self.cur.channels {
                if matched.contains(&x.discord_channel_id)
                    || !self.in_scope_channel(x.discord_channel_id)
                {
                    continue;
                }
                if kept.contains(&x.discord_channel_id) {
                    self.counts.channels.skip += 1;
                    self.skip(Kind::Channel, &x.name, SkipReason::CommunityChannel);
                    continue;
                }
                out.deletes.push(Action::ChannelDelete {
                    live: x.discord_channel_id,
                    name: x.name.clone(),
                });
                self.counts.channels.delete += 1;
                deletes += 1;
            }
        }
        let total = self.cur.channels.len() + self.counts.channels.create;
        if total > limits::MAX_CHANNELS {
            out.delete_first = deletes > 0;
            if total - deletes > limits::MAX_CHANNELS {
                self.warnings.push(Warning::Cap {
                    what: "channels".into(),
                    total: total - deletes,
                    max: limits::MAX_CHANNELS,
                });
            }
        }
        // Children per category (existing ones plus the created ones).
        for (parent, created) in children {
            let Some(parent) = parent else { continue };
            let existing = match parent {
                Ref::L(l) => self
                    .channel_live
                    .get(&l)
                    .map(|live| {
                        self.cur
                            .channels
                            .iter()
                            .filter(|x| x.parent_id == Some(*live))
                            .count()
                    })
                    .unwrap_or(0),
                Ref::D(_) => 0,
            };
            if existing + created > limits::MAX_PER_CATEGORY {
                let name = match parent {
                    Ref::L(l) => doc
                        .channels
                        .iter()
                        .find(|c| c.id == l)
                        .map(|c| c.name.clone())
                        .unwrap_or_default(),
                    Ref::D(d) => d.to_string(),
                };
                self.warnings.push(Warning::Cap {
                    what: format!("category {name}"),
                    total: existing + created,
                    max: limits::MAX_PER_CATEGORY,
                });
            }
        }
        let positions = if positions.is_empty() {
            Vec::new()
        } else {
            vec![Action::ChannelPositions { items: positions }]
        };
        (out, positions)
    }

    /// The snapshot's overwrites of a channel, mapped (unrestorable role targets dropped).
    pub(super) fn overwrites(&mut self, c: &ChannelDoc) -> Vec<OverwriteSpec> {
        let mut out = Vec::new();
        for o in &c.overwrites {
            let target = match (o.target, o.role, o.user_id) {
                (OverwriteTarget::Role, Some(r), _) => match self.role_ref(r) {
                    Some(r) => OverwriteFor::Role(r),
                    None => {
                        self.missing_targets += 1;
                        continue;
                    }
                },
                (OverwriteTarget::Member, _, Some(u)) => OverwriteFor::Member(u),
                _ => continue,
            };
            out.push(OverwriteSpec {
                target,
                allow: o.allow,
                deny: o.deny,
            });
        }
        out
    }

    /// The fields of a surviving channel that differ from the snapshot.
    pub(super) fn channel_diff(&mut self, c: &ChannelDoc, cur: &ChannelState) -> ChannelFields {
        let mut f = ChannelFields::default();
        if cur.kind != c.kind {
            f.kind = Some(c.kind);
        }
        if cur.name != c.name {
            f.name = Some(c.name.clone());
        }
        if cur.topic != c.topic {
            f.topic = Some(c.topic.clone());
        }
        if cur.nsfw != c.nsfw {
            f.nsfw = Some(c.nsfw);
        }
        if cur.rate_limit_per_user != c.rate_limit_per_user {
            f.rate_limit_per_user = Some(c.rate_limit_per_user);
        }
        if cur.bitrate != c.bitrate {
            f.bitrate = c.bitrate;
        }
        if cur.user_limit != c.user_limit {
            f.user_limit = c.user_limit;
        }
        if cur.rtc_region != c.rtc_region {
            f.rtc_region = Some(c.rtc_region.clone());
        }
        if cur.video_quality_mode != c.video_quality_mode {
            f.video_quality_mode = c.video_quality_mode;
        }
        if cur.default_auto_archive_duration != c.default_auto_archive_duration {
            f.default_auto_archive_duration = c.default_auto_archive_duration;
        }
        if cur.default_thread_rate_limit_per_user != c.default_thread_rate_limit_per_user {
            f.default_thread_rate_limit_per_user = c.default_thread_rate_limit_per_user;
        }
        if tag_keys(cur.available_tags.as_ref()) != tag_keys(c.available_tags.as_ref()) {
            f.available_tags = c.available_tags.as_ref().map(create_tags);
        }
        if cur.default_reaction_emoji != c.default_reaction_emoji {
            f.default_reaction_emoji = c.default_reaction_emoji.clone();
        }
        if cur.default_sort_order != c.default_sort_order {
            f.default_sort_order = c.default_sort_order;
        }
        if cur.default_forum_layout != c.default_forum_layout {
            f.default_forum_layout = c.default_forum_layout;
        }
        // Overwrites: the snapshot's (mapped), plus in merge mode the current ones on targets
        // the snapshot does not name.
        let wanted = self.overwrites(c);
        let mut named: HashSet<u64> = HashSet::new();
        for o in &wanted {
            match o.target {
                OverwriteFor::Role(Ref::L(l)) => {
                    if let Some(live) = self.role_live.get(&l) {
                        named.insert(*live);
                    }
                }
                OverwriteFor::Role(Ref::D(d)) | OverwriteFor::Member(d) => {
                    named.insert(d);
                }
            }
        }
        let mut full = wanted;
        if self.input.mode == Mode::Merge {
            let local_of: HashMap<u64, u32> =
                self.role_live.iter().map(|(l, live)| (*live, *l)).collect();
            for o in &cur.overwrites {
                if named.contains(&o.target_id) {
                    continue;
                }
                let target = match o.target {
                    OverwriteTarget::Role => OverwriteFor::Role(
                        local_of
                            .get(&o.target_id)
                            .map_or(Ref::D(o.target_id), |l| Ref::L(*l)),
                    ),
                    OverwriteTarget::Member => OverwriteFor::Member(o.target_id),
                };
                full.push(OverwriteSpec {
                    target,
                    allow: u64::try_from(o.allow).unwrap_or(0),
                    deny: u64::try_from(o.deny).unwrap_or(0),
                });
            }
        }
        // Compare in live terms; a role still to be created always differs.
        let as_live = |o: &OverwriteSpec| -> Option<(u8, u64, u64, u64)> {
            match o.target {
                OverwriteFor::Role(Ref::L(l)) => self
                    .role_live
                    .get(&l)
                    .map(|live| (0, *live, o.allow, o.deny)),
                OverwriteFor::Role(Ref::D(d)) => Some((0, d, o.allow, o.deny)),
                OverwriteFor::Member(u) => Some((1, u, o.allow, o.deny)),
            }
        };
        let wanted_live: Option<BTreeSet<(u8, u64, u64, u64)>> = full.iter().map(as_live).collect();
        let current_live: BTreeSet<(u8, u64, u64, u64)> = cur
            .overwrites
            .iter()
            .filter(|o| {
                !(o.target == OverwriteTarget::Role && self.deleted_roles.contains(&o.target_id))
            })
            .map(|o| {
                (
                    u8::try_from(o.target.num()).unwrap_or(0),
                    o.target_id,
                    u64::try_from(o.allow).unwrap_or(0),
                    u64::try_from(o.deny).unwrap_or(0),
                )
            })
            .collect();
        if wanted_live.as_ref() != Some(&current_live) {
            f.overwrites = Some(full);
        }
        f
    }

    // ------------------------------------------------------------------ settings
}

/// The fields a channel is created with.
pub(super) fn create_fields(c: &ChannelDoc) -> ChannelFields {
    let voice = matches!(c.kind, 2 | 13);
    let forum = matches!(c.kind, 15 | 16);
    let category = c.kind == CATEGORY;
    ChannelFields {
        kind: Some(c.kind),
        name: Some(c.name.clone()),
        topic: (!category && !voice && c.topic.is_some()).then(|| c.topic.clone()),
        nsfw: (!category && c.nsfw).then_some(true),
        rate_limit_per_user: (!category && c.rate_limit_per_user > 0)
            .then_some(c.rate_limit_per_user),
        bitrate: if voice { c.bitrate } else { None },
        user_limit: if voice {
            c.user_limit.filter(|u| *u > 0)
        } else {
            None
        },
        rtc_region: (voice && c.rtc_region.is_some()).then(|| c.rtc_region.clone()),
        video_quality_mode: if voice { c.video_quality_mode } else { None },
        default_auto_archive_duration: if category {
            None
        } else {
            c.default_auto_archive_duration
        },
        default_thread_rate_limit_per_user: if category {
            None
        } else {
            c.default_thread_rate_limit_per_user
        },
        available_tags: if forum {
            c.available_tags.as_ref().map(create_tags)
        } else {
            None
        },
        default_reaction_emoji: if forum {
            c.default_reaction_emoji.clone()
        } else {
            None
        },
        default_sort_order: if forum { c.default_sort_order } else { None },
        default_forum_layout: if forum { c.default_forum_layout } else { None },
        overwrites: None,
    }
}

/// Forum tags as a create/edit body takes them (without their old ids).
pub(super) fn create_tags(tags: &Value) -> Value {
    let list = tags.as_array().cloned().unwrap_or_default();
    Value::Array(
        list.into_iter()
            .map(|t| {
                let mut out = serde_json::Map::new();
                for key in ["name", "moderated", "emoji_id", "emoji_name"] {
                    if let Some(v) = t.get(key).filter(|v| !v.is_null()) {
                        out.insert(key.to_owned(), v.clone());
                    }
                }
                Value::Object(out)
            })
            .collect(),
    )
}

/// What identifies a forum's tags (ids change when recreated).
pub(super) fn tag_keys(tags: Option<&Value>) -> Vec<String> {
    tags.map(create_tags)
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .map(Value::to_string)
        .collect()
}
