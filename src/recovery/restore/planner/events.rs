//! Purpose: the planner's scheduled events — each event of the snapshot still to come (status
//! scheduled, starting after now) matched to a live one by its original id, else by name and
//! start; missing ones scheduled again (in their restored voice or stage channel, or at their
//! location), changed ones set back; in mirror mode, scheduled events the snapshot lacks are
//! deleted. Events that started or ended are left alone (Discord takes no start in the past).
//! Only from documents that know the events.

use std::collections::HashSet;

use chrono::Utc;

use super::super::model::{Action, Component, EventFields, Mode, Ref};
use super::*;
use crate::recovery::snapshot::service::event_image_key;
use crate::recovery::sync::EventState;

impl<'a> Planner<'a> {
    pub(super) fn events(&mut self) -> Vec<Action> {
        if !self.has(Component::Events) {
            return Vec::new();
        }
        let (Some(then), Some(now)) = (
            self.doc.events.as_ref(),
            self.cur.settings.as_ref().and_then(|s| s.events.clone()),
        ) else {
            return Vec::new();
        };
        // A restore runs for minutes: an event starting sooner is not scheduled again.
        let soon = Utc::now() + chrono::Duration::minutes(10);
        let mut taken: HashSet<u64> = HashSet::new();
        let mut out = Vec::new();
        for e in then.iter().filter(|e| e.status == 1) {
            let live: Option<EventState> = now
                .iter()
                .find(|n| n.id == e.original_id)
                .or_else(|| {
                    now.iter().find(|n| {
                        !taken.contains(&n.id)
                            && n.name == e.name
                            && n.start == e.start
                            && !then.iter().any(|o| o.original_id == n.id)
                    })
                })
                .cloned();
            if let Some(n) = &live {
                taken.insert(n.id);
            }
            if self.input.scope.is_some() {
                // AntiNuke's scope does not cover events.
                continue;
            }
            if e.start <= soon {
                self.counts.events.skip += 1;
                self.skip(Kind::Event, &e.name, SkipReason::NotRestorable);
                continue;
            }
            let channel = match e.channel {
                Some(local) => match self.channel_ref(local) {
                    Some(r) => Some(r),
                    None => {
                        self.counts.events.skip += 1;
                        self.skip(Kind::Event, &e.name, SkipReason::MissingTarget);
                        continue;
                    }
                },
                None => None,
            };
            // The cover image: sent when it differs (an image the snapshot could not keep is
            // left as it is).
            let image = match &live {
                Some(n) if n.image == e.image => None,
                _ => self.picture(&event_image_key(e.original_id), &e.image),
            };
            let image_differs = image.is_some();
            let fields = EventFields {
                image,
                description: e.description.clone(),
                start: e.start,
                end: e.end,
                entity_type: e.entity_type,
                channel,
                location: e.location.clone(),
            };
            match live {
                Some(n) if n.status != 1 => {
                    // Started (or ended) since: left as it is.
                    self.counts.events.keep += 1;
                }
                Some(n) => {
                    let live_channel = |r: &Ref| match r {
                        Ref::L(l) => self.channel_live.get(l).copied(),
                        Ref::D(d) => Some(*d),
                    };
                    let same = n.name == e.name
                        && n.description == e.description
                        && n.start == e.start
                        && n.end == e.end
                        && n.entity_type == e.entity_type
                        && n.location == e.location
                        && !image_differs
                        && fields.channel.as_ref().map(live_channel) == n.channel_id.map(Some);
                    if same {
                        self.counts.events.keep += 1;
                    } else {
                        self.counts.events.update += 1;
                        out.push(Action::EventUpdate {
                            live: n.id,
                            name: e.name.clone(),
                            fields,
                        });
                    }
                }
                None => {
                    self.counts.events.create += 1;
                    out.push(Action::EventCreate {
                        event: e.original_id,
                        name: e.name.clone(),
                        fields,
                    });
                }
            }
        }
        if self.input.mode == Mode::Mirror && self.input.scope.is_none() {
            for n in now.iter().filter(|n| n.status == 1) {
                if taken.contains(&n.id) {
                    continue;
                }
                self.counts.events.delete += 1;
                out.push(Action::EventDelete {
                    live: n.id,
                    name: n.name.clone(),
                });
            }
        }
        out
    }
}
