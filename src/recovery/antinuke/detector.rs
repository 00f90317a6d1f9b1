//! Purpose: AntiNuke's hot path state — per guild, per actor sliding windows in memory (a
//! `DashMap` of guilds, each with its own short-held lock), and a per-guild [`Policy`] cache kept
//! fresh off the event path (loaded at GUILD_CREATE, after settings and plan changes, and
//! periodically), so deciding never waits on the database. Windows stay per process (guilds
//! are shard-local); punishments are deduplicated in the database afterwards.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use dashmap::DashMap;
use uuid::Uuid;

use super::model::{Action, ActionClass, Destroyed, Policy, Windows};

/// Most recent actions remembered per actor (what an incident lists as destroyed before the
/// detection; later ones are follow-ups).
const MAX_REMEMBERED: usize = 2000;

/// An incident that punished an actor: its later actions are follow-ups of it.
#[derive(Debug, Clone)]
pub struct OpenIncident {
    pub id: Uuid,
    pub since: Instant,
    /// What the actor did (before and after the detection), shared with the incident's task.
    pub destroyed: Arc<Mutex<Destroyed>>,
    /// Woken on every follow-up.
    pub wake: Arc<tokio::sync::Notify>,
    /// When the actor last acted.
    pub last_action: Arc<Mutex<Instant>>,
}

#[derive(Debug, Default)]
struct ActorState {
    windows: Windows,
    actions: VecDeque<(Instant, Action, bool)>,
    incident: Option<OpenIncident>,
}

#[derive(Debug, Default)]
struct GuildGuard {
    policy: RwLock<Option<Arc<Policy>>>,
    actors: Mutex<HashMap<u64, ActorState>>,
}

/// A threshold crossed: who, what, and everything they did within the windows.
#[derive(Debug, Clone)]
pub struct Detection {
    pub incident: OpenIncident,
    pub guild: u64,
    pub actor: u64,
    pub class: ActionClass,
    pub count: u32,
    pub first_action_at: DateTime<Utc>,
    pub detected_at: DateTime<Utc>,
    pub detected: Instant,
    pub policy: Arc<Policy>,
}

/// What one observed action led to.
#[derive(Debug)]
pub enum Verdict {
    /// No policy yet, AntiNuke off.
    Ignored,
    /// Counted, under every threshold.
    Counted,
    /// A threshold was crossed: punish now.
    Detected(Box<Detection>),
    /// The actor was already punished for an open incident: recorded with it.
    FollowUp(Uuid),
}

/// The in-memory detector of one process.
#[derive(Debug)]
pub struct Detector {
    guilds: DashMap<u64, Arc<GuildGuard>>,
    /// How long an incident stays open for its actor's later actions.
    incident_window: Duration,
}

impl Detector {
    pub fn new(incident_window: Duration) -> Self {
        Self {
            guilds: DashMap::new(),
            incident_window,
        }
    }

    fn guard(&self, guild: u64) -> Arc<GuildGuard> {
        if let Some(g) = self.guilds.get(&guild) {
            return g.clone();
        }
        self.guilds.entry(guild).or_default().clone()
    }

    /// The guild's policy, if loaded.
    pub fn policy(&self, guild: u64) -> Option<Arc<Policy>> {
        let g = self.guilds.get(&guild)?.clone();
        g.policy.read().ok().and_then(|p| p.clone())
    }

    /// Installs (or replaces) the guild's policy.
    pub fn set_policy(&self, guild: u64, policy: Policy) {
        let g = self.guard(guild);
        if let Ok(mut p) = g.policy.write() {
            *p = Some(Arc::new(policy));
        }
    }

    /// Forgets a guild (the bot left it).
    pub fn forget(&self, guild: u64) {
        self.guilds.remove(&guild);
    }

    /// The guilds with a policy.
    pub fn guilds(&self) -> Vec<u64> {
        self.guilds.iter().map(|g| *g.key()).collect()
    }

    /// Counts `classes` by `actor` (already known not to be exempt) and decides.
    /// `role_target`: the target of a permission grant is a role (else a member).
    #[allow(clippy::too_many_arguments)]
    pub fn observe(
        &self,
        guild: u64,
        actor: u64,
        classes: &[ActionClass],
        target: Option<u64>,
        role_target: bool,
        now: Instant,
        at: DateTime<Utc>,
    ) -> Verdict {
        let Some(g) = self.guilds.get(&guild).map(|g| g.clone()) else {
            return Verdict::Ignored;
        };
        let Some(policy) = g.policy.read().ok().and_then(|p| p.clone()) else {
            return Verdict::Ignored;
        };
        if !policy.enabled || classes.is_empty() {
            return Verdict::Ignored;
        }
        let Ok(mut actors) = g.actors.lock() else {
            return Verdict::Ignored;
        };
        let state = actors.entry(actor).or_default();
        if let Some(open) = &state.incident {
            if now.saturating_duration_since(open.since) < self.incident_window {
                if let Ok(mut d) = open.destroyed.lock() {
                    for class in classes {
                        d.add(
                            &Action {
                                class: *class,
                                target,
                                at,
                            },
                            role_target,
                        );
                    }
                }
                if let Ok(mut last) = open.last_action.lock() {
                    *last = now;
                }
                open.wake.notify_one();
                return Verdict::FollowUp(open.id);
            }
            state.incident = None;
        }
        let longest = policy.thresholds.longest_window();
        let mut crossed: Option<(ActionClass, u32)> = None;
        for class in classes {
            let action = Action {
                class: *class,
                target,
                at,
            };
            state.actions.push_back((now, action, role_target));
            let threshold = policy.thresholds.get(*class);
            let count = state.windows.hit(*class, now, threshold);
            if count >= threshold.count && crossed.is_none() {
                crossed = Some((*class, count));
            }
        }
        while let Some((t, _, _)) = state.actions.front() {
            if now.saturating_duration_since(*t) >= longest || state.actions.len() > MAX_REMEMBERED
            {
                state.actions.pop_front();
            } else {
                break;
            }
        }
        let Some((class, count)) = crossed else {
            return Verdict::Counted;
        };
        let mut destroyed = Destroyed::default();
        let mut first = at;
        for (_, action, role) in &state.actions {
            destroyed.add(action, *role);
            first = first.min(action.at);
        }
        let incident = OpenIncident {
            id: Uuid::now_v7(),
            since: now,
            destroyed: Arc::new(Mutex::new(destroyed)),
            wake: Arc::new(tokio::sync::Notify::new()),
            last_action: Arc::new(Mutex::new(now)),
        };
        state.incident = Some(incident.clone());
        state.windows = Windows::default();
        state.actions.clear();
        Verdict::Detected(Box::new(Detection {
            incident,
            guild,
            actor,
            class,
            count,
            first_action_at: first,
            detected_at: at,
            detected: now,
            policy,
        }))
    }

    /// Closes the open incident of `actor` (false positive, restored): their next actions are
    /// counted from zero again.
    pub fn close(&self, guild: u64, actor: u64) {
        if let Some(g) = self.guilds.get(&guild).map(|g| g.clone())
            && let Ok(mut actors) = g.actors.lock()
        {
            actors.remove(&actor);
        }
    }

    /// Drops actors with nothing left in their windows and no open incident.
    pub fn sweep(&self, now: Instant) -> usize {
        let mut dropped = 0;
        for entry in self.guilds.iter() {
            let g = entry.value();
            let longest = g
                .policy
                .read()
                .ok()
                .and_then(|p| p.as_ref().map(|p| p.thresholds.longest_window()))
                .unwrap_or(Duration::from_secs(3600));
            if let Ok(mut actors) = g.actors.lock() {
                let before = actors.len();
                actors.retain(|_, s| {
                    let open = s.incident.as_ref().is_some_and(|i| {
                        now.saturating_duration_since(i.since) < self.incident_window
                    });
                    let empty = s.windows.expire(now, longest);
                    open || !empty
                });
                dropped += before - actors.len();
            }
        }
        dropped
    }

    /// Actors tracked in all guilds (memory accounting).
    pub fn tracked_actors(&self) -> usize {
        self.guilds
            .iter()
            .map(|g| g.actors.lock().map(|a| a.len()).unwrap_or(0))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AntinukeConfig;
    use crate::guild::{AntinukeSettings, GuildSettings};
    use crate::licensing::AntinukeFeatures;

    fn detector() -> Detector {
        let d = Detector::new(Duration::from_secs(600));
        let features = AntinukeFeatures {
            detection: true,
            punishments: vec!["strip_roles".into()],
            ..Default::default()
        };
        let settings = AntinukeSettings {
            enabled: true,
            punishment: "strip_roles".into(),
            ..Default::default()
        };
        d.set_policy(
            1,
            Policy::resolve(
                99,
                &GuildSettings::default(),
                &settings,
                &features,
                &AntinukeConfig::default(),
            ),
        );
        d
    }

    #[test]
    fn the_third_deletion_is_detected_with_everything_before_it_and_later_ones_follow_up() {
        let d = detector();
        let start = Instant::now();
        let at = Utc::now();
        let mut verdicts = Vec::new();
        for i in 0..5u64 {
            verdicts.push(d.observe(
                1,
                7,
                &[ActionClass::ChannelDelete],
                Some(100 + i),
                false,
                start + Duration::from_millis(100 * i),
                at + chrono::Duration::milliseconds(i64::try_from(i).unwrap_or(0) * 100),
            ));
        }
        assert!(matches!(verdicts[0], Verdict::Counted));
        assert!(matches!(verdicts[1], Verdict::Counted));
        let Verdict::Detected(detection) = &verdicts[2] else {
            panic!("not detected at the third: {verdicts:?}");
        };
        assert_eq!(detection.count, 3);
        assert_eq!(detection.first_action_at, at);
        assert!(matches!(verdicts[3], Verdict::FollowUp(id) if id == detection.incident.id));
        let destroyed = detection
            .incident
            .destroyed
            .lock()
            .map(|d| d.clone())
            .unwrap_or_default();
        assert_eq!(
            destroyed.channels_deleted.len(),
            5,
            "follow-ups are recorded too"
        );
    }

    #[test]
    fn other_actors_guilds_and_unknown_guilds_are_counted_apart() {
        let d = detector();
        let now = Instant::now();
        let at = Utc::now();
        for actor in 10..15 {
            for _ in 0..2 {
                assert!(matches!(
                    d.observe(
                        1,
                        actor,
                        &[ActionClass::RoleDelete],
                        Some(1),
                        false,
                        now,
                        at
                    ),
                    Verdict::Counted
                ));
            }
        }
        assert!(matches!(
            d.observe(2, 10, &[ActionClass::RoleDelete], Some(1), false, now, at),
            Verdict::Ignored
        ));
        assert_eq!(d.tracked_actors(), 5);
        assert_eq!(d.sweep(now + Duration::from_secs(7200)), 5);
    }

    #[test]
    fn a_closed_incident_counts_the_actor_from_zero() {
        let d = detector();
        let now = Instant::now();
        let at = Utc::now();
        for _ in 0..3 {
            d.observe(1, 7, &[ActionClass::Ban], Some(1), false, now, at);
        }
        d.close(1, 7);
        assert!(matches!(
            d.observe(1, 7, &[ActionClass::Ban], Some(1), false, now, at),
            Verdict::Counted
        ));
    }
}
