//! Purpose: the planner's AutoMod rules — each rule of the snapshot matched to a live one by
//! its original id, else by name and trigger; missing ones created again, changed ones given
//! their trigger metadata, actions, exempt roles and channels back (mapped to the restored
//! ones); in mirror mode, rules the snapshot lacks are deleted. Only when both the snapshot and
//! the mirror know the rules (read with Manage Server): otherwise AutoMod is left alone.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::super::model::{Action, AutoModActionSpec, AutoModBody, Component, Mode, Ref, Warning};
use super::*;
use crate::recovery::snapshot::model::AutoModDoc;
use crate::recovery::sync::AutoModRuleState;

impl<'a> Planner<'a> {
    fn in_scope_rule(&self, id: u64) -> bool {
        self.input
            .scope
            .as_ref()
            .is_none_or(|s| s.automod.contains(&id))
    }

    /// The rule's body with references to the roles and channels that will exist (the
    /// others are left out and counted as missing).
    fn automod_body(&mut self, r: &AutoModDoc) -> AutoModBody {
        let mut exempt_roles = Vec::new();
        for local in &r.exempt_roles {
            match self.role_ref(*local) {
                Some(x) => exempt_roles.push(x),
                None => self.missing_targets += 1,
            }
        }
        let mut exempt_channels = Vec::new();
        for local in &r.exempt_channels {
            match self.channel_ref(*local) {
                Some(x) => exempt_channels.push(x),
                None => self.missing_targets += 1,
            }
        }
        let mut actions = Vec::new();
        for a in &r.actions {
            let channel = match a.channel {
                Some(local) => match self.channel_ref(local) {
                    Some(x) => Some(x),
                    None => {
                        self.missing_targets += 1;
                        continue;
                    }
                },
                None if a.kind == 2 => continue,
                None => None,
            };
            actions.push(AutoModActionSpec {
                kind: a.kind,
                metadata: a.metadata.clone(),
                channel,
            });
        }
        AutoModBody {
            event_type: r.event_type,
            trigger_type: r.trigger_type,
            trigger_metadata: r.trigger_metadata.clone(),
            actions,
            enabled: r.enabled,
            exempt_roles,
            exempt_channels,
        }
    }

    /// Whether `live` already is what `body` describes (references resolved at plan time).
    fn automod_same(&self, name: &str, body: &AutoModBody, live: &AutoModRuleState) -> bool {
        let role = |r: &Ref| match r {
            Ref::L(l) => self.role_live.get(l).copied(),
            Ref::D(d) => Some(*d),
        };
        let channel = |r: &Ref| match r {
            Ref::L(l) => self.channel_live.get(l).copied(),
            Ref::D(d) => Some(*d),
        };
        let roles: Option<BTreeSet<u64>> = body.exempt_roles.iter().map(role).collect();
        let channels: Option<BTreeSet<u64>> = body.exempt_channels.iter().map(channel).collect();
        let actions: Option<Vec<serde_json::Value>> = body
            .actions
            .iter()
            .map(|a| {
                let mut metadata = a.metadata.clone();
                if let Some(c) = &a.channel {
                    let live = channel(c)?;
                    if let Some(m) = metadata.as_object_mut() {
                        m.insert("channel_id".into(), serde_json::json!(live.to_string()));
                    }
                }
                Some(serde_json::json!({ "type": a.kind, "metadata": metadata }))
            })
            .collect();
        live.name == name
            && live.event_type == body.event_type
            && live.enabled == body.enabled
            && live.trigger_metadata == body.trigger_metadata
            && actions.as_ref() == Some(&live.actions)
            && roles == Some(live.exempt_roles.iter().copied().collect())
            && channels == Some(live.exempt_channels.iter().copied().collect())
    }

    /// When the snapshot does not know the rules: the live rules that name a role or channel
    /// this restore creates again (deleted since) are pointed at the new one; references to
    /// objects gone for good are dropped. Nothing else about them changes.
    fn automod_repointed(&mut self) -> Vec<Action> {
        let Some(now) = self.cur.settings.as_ref().and_then(|s| s.automod.clone()) else {
            return Vec::new();
        };
        let roles: HashMap<u64, u32> = self
            .doc
            .roles
            .iter()
            .filter(|r| self.role_created.contains(&r.id))
            .map(|r| (r.original_id, r.id))
            .collect();
        let channels: HashMap<u64, u32> = self
            .doc
            .channels
            .iter()
            .filter(|c| self.channel_created.contains(&c.id))
            .map(|c| (c.original_id, c.id))
            .collect();
        let live_roles: HashSet<u64> = self.cur.roles.iter().map(|r| r.discord_role_id).collect();
        let live_channels: HashSet<u64> = self
            .cur
            .channels
            .iter()
            .map(|c| c.discord_channel_id)
            .collect();
        let map = |id: u64, created: &HashMap<u64, u32>, live: &HashSet<u64>| {
            created
                .get(&id)
                .map(|l| Ref::L(*l))
                .or_else(|| live.contains(&id).then_some(Ref::D(id)))
        };
        let mut out = Vec::new();
        for r in now {
            let named = r.exempt_roles.iter().any(|x| roles.contains_key(x))
                || r.exempt_channels
                    .iter()
                    .chain(r.alert_channels().iter())
                    .any(|x| channels.contains_key(x));
            if !named {
                continue;
            }
            let actions: Vec<AutoModActionSpec> = r
                .actions
                .iter()
                .filter_map(|a| {
                    let kind = a
                        .get("type")
                        .and_then(serde_json::Value::as_i64)
                        .and_then(|k| i16::try_from(k).ok())?;
                    let mut metadata = a
                        .get("metadata")
                        .cloned()
                        .filter(serde_json::Value::is_object)
                        .unwrap_or_else(|| serde_json::json!({}));
                    let channel = match metadata
                        .as_object_mut()
                        .and_then(|m| m.remove("channel_id"))
                        .and_then(|c| c.as_str().and_then(|c| c.parse::<u64>().ok()))
                    {
                        Some(c) => Some(map(c, &channels, &live_channels)?),
                        None => None,
                    };
                    Some(AutoModActionSpec {
                        kind,
                        metadata,
                        channel,
                    })
                })
                .collect();
            if actions.is_empty() {
                continue;
            }
            self.counts.automod.update += 1;
            out.push(Action::AutoModUpdate {
                live: r.id,
                name: r.name.clone(),
                body: AutoModBody {
                    event_type: r.event_type,
                    trigger_type: r.trigger_type,
                    trigger_metadata: r.trigger_metadata.clone(),
                    actions,
                    enabled: r.enabled,
                    exempt_roles: r
                        .exempt_roles
                        .iter()
                        .filter_map(|x| map(*x, &roles, &live_roles))
                        .collect(),
                    exempt_channels: r
                        .exempt_channels
                        .iter()
                        .filter_map(|x| map(*x, &channels, &live_channels))
                        .collect(),
                },
            });
        }
        out
    }

    pub(super) fn automod(&mut self) -> Vec<Action> {
        if !self.has(Component::AutoMod) {
            return Vec::new();
        }
        let Some(then) = self.doc.automod.as_ref() else {
            self.warnings
                .push(Warning::AutoModUnknown { snapshot: false });
            return self.automod_repointed();
        };
        let Some(now) = self.cur.settings.as_ref().and_then(|s| s.automod.clone()) else {
            self.warnings
                .push(Warning::AutoModUnknown { snapshot: true });
            return Vec::new();
        };
        let mut taken: HashSet<u64> = HashSet::new();
        let mut out = Vec::new();
        for r in then {
            let live = now
                .iter()
                .find(|n| n.id == r.original_id)
                .or_else(|| {
                    now.iter().find(|n| {
                        !taken.contains(&n.id)
                            && n.name == r.name
                            && n.trigger_type == r.trigger_type
                            && !then.iter().any(|o| o.original_id == n.id)
                    })
                })
                .or_else(|| {
                    // A guild has one rule of each other trigger: that one, renamed.
                    now.iter().find(|n| {
                        r.trigger_type != 1
                            && !taken.contains(&n.id)
                            && n.trigger_type == r.trigger_type
                            && !then.iter().any(|o| o.original_id == n.id)
                    })
                })
                .cloned();
            if let Some(n) = &live {
                taken.insert(n.id);
            }
            if !self.in_scope_rule(r.original_id)
                && live.as_ref().is_none_or(|n| !self.in_scope_rule(n.id))
            {
                continue;
            }
            let body = self.automod_body(r);
            if body.actions.is_empty() {
                // Every action was an alert to a channel that will not exist.
                self.counts.automod.skip += 1;
                self.skip(Kind::AutoMod, &r.name, SkipReason::MissingTarget);
                continue;
            }
            match live {
                Some(n) if self.automod_same(&r.name, &body, &n) => {
                    self.counts.automod.keep += 1;
                }
                Some(n) => {
                    self.counts.automod.update += 1;
                    out.push(Action::AutoModUpdate {
                        live: n.id,
                        name: r.name.clone(),
                        body,
                    });
                }
                None => {
                    self.counts.automod.create += 1;
                    out.push(Action::AutoModCreate {
                        rule: r.original_id,
                        name: r.name.clone(),
                        body,
                    });
                }
            }
        }
        // Deletes first: a rule created again may need the place (6 keyword rules, one of
        // each other trigger).
        let mut deletes = Vec::new();
        if self.input.mode == Mode::Mirror {
            for n in now {
                if taken.contains(&n.id) || !self.in_scope_rule(n.id) {
                    continue;
                }
                self.counts.automod.delete += 1;
                deletes.push(Action::AutoModDelete {
                    live: n.id,
                    name: n.name.clone(),
                });
            }
        }
        deletes.extend(out);
        deletes
    }
}
