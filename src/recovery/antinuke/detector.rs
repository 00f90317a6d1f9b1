//! Purpose: AntiNuke's hot path state — per guild, per actor sliding windows in memory (a
//! `DashMap` of guilds, each with its own short-held lock), and a per-guild [`Policy`] cache kept
//! fresh off the event path (loaded at GUILD_CREATE, after settings and plan changes, and
//! periodically), so deciding never waits on the database. Windows stay per process (guilds
//! are shard-local); punishments are deduplicated in the database afterwards. Also per guild:
//! the trust-conferring roles people received from anyone but the owner ("tainted": they confer
//! no trust, for AntiNuke and for commands alike, until taken back), and the last protection
//! health.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use dashmap::DashMap;
use uuid::Uuid;

use super::model::{Action, ActionClass, Crossed, Destroyed, Health, Policy, Windows};

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
    actions: VecDeque<(Instant, Action)>,
    incident: Option<OpenIncident>,
}

/// Trust-conferring roles given by someone other than the owner, per guild (bounded).
const MAX_TAINTED: usize = 10_000;

#[derive(Debug, Default)]
struct GuildGuard {
    policy: RwLock<Option<Arc<Policy>>>,
    actors: Mutex<HashMap<u64, ActorState>>,
    /// Member -> trust-conferring roles they received from someone other than the owner.
    tainted: Mutex<HashMap<u64, HashSet<u64>>>,
    health: Mutex<Option<Health>>,
    /// A health check is scheduled.
    health_pending: std::sync::atomic::AtomicBool,
}

/// One audit-log entry's counted part, as the detector sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub classes: Vec<ActionClass>,
    pub target: Option<u64>,
    /// The target is a role.
    pub role_target: bool,
    /// Dangerous or trust-conferring roles given to the target member.
    pub roles: Vec<u64>,
    /// Every threshold is multiplied by this (whitelisted bots; 1 otherwise). A trust grant
    /// stays at 1.
    pub factor: u32,
}

/// A threshold crossed: who, what, and everything they did within the windows.
#[derive(Debug, Clone)]
pub struct Detection {
    pub incident: OpenIncident,
    pub guild: u64,
    pub actor: u64,
    pub crossed: Crossed,
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

    /// Counts what `actor` did (`seen`; the caller decided the actor is counted) and decides.
    pub fn observe(
        &self,
        guild: u64,
        actor: u64,
        seen: &Observation,
        now: Instant,
        at: DateTime<Utc>,
    ) -> Verdict {
        let Some(g) = self.guilds.get(&guild).map(|g| g.clone()) else {
            return Verdict::Ignored;
        };
        let Some(policy) = g.policy.read().ok().and_then(|p| p.clone()) else {
            return Verdict::Ignored;
        };
        if !policy.enabled || seen.classes.is_empty() {
            return Verdict::Ignored;
        }
        let Ok(mut actors) = g.actors.lock() else {
            return Verdict::Ignored;
        };
        let action = |class: ActionClass| Action {
            class,
            target: seen.target,
            at,
            role_target: seen.role_target,
            roles: seen.roles.clone(),
        };
        let state = actors.entry(actor).or_default();
        if let Some(open) = &state.incident {
            if now.saturating_duration_since(open.since) < self.incident_window {
                if let Ok(mut d) = open.destroyed.lock() {
                    for class in &seen.classes {
                        d.add(&action(*class));
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
        let factor = seen.factor.max(1);
        let mut crossed: Option<Crossed> = None;
        let mut points = 0;
        for class in &seen.classes {
            state.actions.push_back((now, action(*class)));
            let threshold = if *class == ActionClass::TrustGrant {
                policy.thresholds.get(*class)
            } else {
                policy.thresholds.get(*class).times(factor)
            };
            let count = state.windows.hit(*class, now, threshold);
            if count >= threshold.count && crossed.is_none() {
                crossed = Some(Crossed::Class(*class, count));
            }
            points += policy.thresholds.weight(*class);
        }
        let score = policy.thresholds.score().times(factor);
        let total = state.windows.add_points(points, now, score.window);
        if crossed.is_none() && points > 0 && total >= score.count {
            crossed = Some(Crossed::Score(total));
        }
        while let Some((t, _)) = state.actions.front() {
            if now.saturating_duration_since(*t) >= longest || state.actions.len() > MAX_REMEMBERED
            {
                state.actions.pop_front();
            } else {
                break;
            }
        }
        let Some(crossed) = crossed else {
            return Verdict::Counted;
        };
        let mut destroyed = Destroyed::default();
        let mut first = at;
        for (_, action) in &state.actions {
            destroyed.add(action);
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
            crossed,
            first_action_at: first,
            detected_at: at,
            detected: now,
            policy,
        }))
    }

    /// Records that `member` received `roles` (which confer trust or a whitelist) from someone
    /// other than the owner: they confer nothing until taken back.
    pub fn taint(&self, guild: u64, member: u64, roles: &[u64]) {
        let g = self.guard(guild);
        if let Ok(mut tainted) = g.tainted.lock()
            && (tainted.len() < MAX_TAINTED || tainted.contains_key(&member))
        {
            tainted.entry(member).or_default().extend(roles);
        }
    }

    /// `member` lost `roles` (or the owner gave them): they are no longer tainted.
    pub fn untaint(&self, guild: u64, member: u64, roles: &[u64]) {
        if let Some(g) = self.guilds.get(&guild).map(|g| g.clone())
            && let Ok(mut tainted) = g.tainted.lock()
            && let Some(set) = tainted.get_mut(&member)
        {
            for r in roles {
                set.remove(r);
            }
            if set.is_empty() {
                tainted.remove(&member);
            }
        }
    }

    /// `roles` without the ones `member` received from someone other than the owner.
    pub fn untainted(&self, guild: u64, member: u64, roles: &[u64]) -> Vec<u64> {
        let tainted = self
            .guilds
            .get(&guild)
            .and_then(|g| g.tainted.lock().ok().and_then(|t| t.get(&member).cloned()))
            .unwrap_or_default();
        roles
            .iter()
            .copied()
            .filter(|r| !tainted.contains(r))
            .collect()
    }

    /// Records the guild's protection health; returns the previous one.
    pub fn set_health(&self, guild: u64, health: Health) -> Option<Health> {
        let g = self.guard(guild);
        g.health.lock().ok().and_then(|mut h| h.replace(health))
    }

    /// Schedules a health check: false when one is already scheduled.
    pub fn schedule_health(&self, guild: u64) -> bool {
        !self
            .guard(guild)
            .health_pending
            .swap(true, std::sync::atomic::Ordering::AcqRel)
    }

    /// The scheduled health check runs now.
    pub fn health_checked(&self, guild: u64) {
        if let Some(g) = self.guilds.get(&guild) {
            g.health_pending
                .store(false, std::sync::atomic::Ordering::Release);
        }
    }

    /// The guild's last protection health.
    pub fn health(&self, guild: u64) -> Option<Health> {
        self.guilds
            .get(&guild)
            .and_then(|g| g.health.lock().ok().and_then(|h| h.clone()))
    }

    /// The open incident of `actor` in `guild`, if any.
    pub fn open_incident(&self, guild: u64, actor: u64) -> Option<OpenIncident> {
        let g = self.guilds.get(&guild).map(|g| g.clone())?;
        let actors = g.actors.lock().ok()?;
        actors
            .get(&actor)?
            .incident
            .clone()
            .filter(|i| i.since.elapsed() < self.incident_window)
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

    fn seen(class: ActionClass, target: u64) -> Observation {
        Observation {
            classes: vec![class],
            target: Some(target),
            role_target: false,
            roles: vec![],
            factor: 1,
        }
    }

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
                &seen(ActionClass::ChannelDelete, 100 + i),
                start + Duration::from_millis(100 * i),
                at + chrono::Duration::milliseconds(i64::try_from(i).unwrap_or(0) * 100),
            ));
        }
        assert!(matches!(verdicts[0], Verdict::Counted));
        assert!(matches!(verdicts[1], Verdict::Counted));
        let Verdict::Detected(detection) = &verdicts[2] else {
            panic!("not detected at the third: {verdicts:?}");
        };
        assert_eq!(
            detection.crossed,
            Crossed::Class(ActionClass::ChannelDelete, 3)
        );
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
                    d.observe(1, actor, &seen(ActionClass::RoleDelete, 1), now, at),
                    Verdict::Counted
                ));
            }
        }
        assert!(matches!(
            d.observe(2, 10, &seen(ActionClass::RoleDelete, 1), now, at),
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
            d.observe(1, 7, &seen(ActionClass::Ban, 1), now, at);
        }
        d.close(1, 7);
        assert!(matches!(
            d.observe(1, 7, &seen(ActionClass::Ban, 1), now, at),
            Verdict::Counted
        ));
    }

    #[test]
    fn a_whitelisted_bot_is_stopped_at_its_own_higher_threshold() {
        let d = detector();
        let now = Instant::now();
        let at = Utc::now();
        let mut bot = seen(ActionClass::Ban, 1);
        bot.factor = 5;
        let verdicts: Vec<bool> = (0..15)
            .map(|i| {
                bot.target = Some(100 + i);
                matches!(d.observe(1, 8, &bot, now, at), Verdict::Detected(_))
            })
            .collect();
        assert_eq!(verdicts.iter().position(|v| *v), Some(14), "the 15th ban");
    }

    #[test]
    fn a_trust_grant_is_detected_at_once_even_for_a_bot_and_taints_are_per_member() {
        let d = detector();
        let now = Instant::now();
        let at = Utc::now();
        let mut grant = seen(ActionClass::TrustGrant, 9);
        grant.roles = vec![30];
        grant.factor = 5;
        let Verdict::Detected(detection) = d.observe(1, 7, &grant, now, at) else {
            panic!("a trust grant is a nuke on its own");
        };
        let destroyed = detection
            .incident
            .destroyed
            .lock()
            .map(|d| d.clone())
            .unwrap_or_default();
        assert_eq!(destroyed.grants_to_take_back().len(), 1);
        d.taint(1, 9, &[30]);
        assert_eq!(d.untainted(1, 9, &[30, 31]), vec![31]);
        assert_eq!(
            d.untainted(1, 10, &[30]),
            vec![30],
            "only the member who received it"
        );
        d.untaint(1, 9, &[30]);
        assert_eq!(d.untainted(1, 9, &[30]), vec![30]);
    }

    #[test]
    fn mixed_actions_under_every_class_threshold_are_stopped_by_the_combined_score() {
        let d = detector();
        let now = Instant::now();
        let at = Utc::now();
        let classes = [
            ActionClass::ChannelDelete,
            ActionClass::RoleDelete,
            ActionClass::ChannelDelete,
            ActionClass::RoleDelete,
        ];
        let mut last = None;
        for (i, class) in classes.iter().enumerate() {
            last = Some(d.observe(1, 7, &seen(*class, i as u64), now, at));
        }
        match last {
            Some(Verdict::Detected(detection)) => {
                assert_eq!(detection.crossed, Crossed::Score(100));
            }
            other => panic!("not detected by the score: {other:?}"),
        }
    }
}
