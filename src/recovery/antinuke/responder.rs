//! Purpose: AntiNuke's first response, straight from the event path through the REST port with
//! urgent priority (it jumps the process's queue; no database round-trip before acting): strip every role in ONE member PATCH (managed roles
//! stay; they cannot be removed), quarantine, kick or ban — a bot actor is always kicked — and
//! the optional lockdown (dangerous permissions removed from roles, invites paused through
//! incident actions). A target at or above the bot's highest role is not attempted: it is
//! reported as "cannot punish" with the role that blocks it. Every step is recorded for the
//! incident's `response`. Also the clean-up ([`clean_up`]): the dangerous and trust-conferring
//! roles the attacker gave other members are taken back, the bots they added removed.

use std::collections::HashSet;
use std::time::Instant;

use chrono::Utc;
use serde::Serialize;
use serde_json::json;

use super::model::{self, Cleaned, Crossed, Destroyed, Punishment, Rank, RoleInfo};
use crate::discord::rest::{Priority, Rest};

/// What the cache knows about the actor and the guild when the threshold is crossed.
#[derive(Debug, Clone, Default)]
pub struct Target {
    pub guild: u64,
    pub actor: u64,
    pub actor_is_bot: bool,
    /// The actor's roles (`None`: not in the cache; fetched before acting).
    pub member_roles: Option<Vec<u64>>,
    /// The guild's roles (lockdown, hierarchy, managed roles).
    pub roles: Vec<RoleInfo>,
    /// The bot's own roles.
    pub bot_roles: Vec<u64>,
    pub everyone_role: u64,
}

impl Target {
    fn rank_of(&self, roles: &[u64]) -> Option<(Rank, u64)> {
        self.roles
            .iter()
            .filter(|r| roles.contains(&r.id) && r.id != self.everyone_role)
            .map(|r| (r.rank, r.id))
            .max()
    }

    fn managed(&self) -> HashSet<u64> {
        self.roles
            .iter()
            .filter(|r| r.managed)
            .map(|r| r.id)
            .collect()
    }
}

/// One step of the response, as stored in `antinuke_incidents.response`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    pub step: &'static str,
    pub ok: bool,
    pub detail: String,
    /// Milliseconds since the detection when the step ended.
    pub after_ms: u64,
}

/// Why the actor could not be punished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Blocker {
    /// Their highest role is at or above Umbra's highest role.
    Hierarchy { role: u64 },
    /// Discord refused (missing permission, etc.).
    Refused(String),
}

/// What the first response did.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// What was applied (`None`: nothing).
    pub punishment: Option<Punishment>,
    pub stripped: Vec<u64>,
    pub blocker: Option<Blocker>,
    pub steps: Vec<Step>,
    /// Roles whose dangerous permissions lockdown removed, with their permissions before.
    pub locked_roles: Vec<(u64, u64)>,
}

impl Outcome {
    pub fn steps_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.steps).unwrap_or_else(|_| json!([]))
    }
}

fn step(started: Instant, name: &'static str, ok: bool, detail: String) -> Step {
    Step {
        step: name,
        ok,
        detail,
        after_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    }
}

/// Punishes the actor (and locks the guild down when `lockdown`). `reason` goes to Discord's
/// audit log.
#[allow(clippy::too_many_arguments)]
pub async fn respond(
    rest: &Rest,
    target: &Target,
    punishment: Punishment,
    quarantine_role: Option<u64>,
    lockdown: Option<(HashSet<u64>, u32)>,
    incident: uuid::Uuid,
    crossed: Crossed,
    started: Instant,
) -> Outcome {
    let punish = punish(
        rest,
        target,
        punishment,
        quarantine_role,
        incident,
        crossed,
        started,
    );
    match lockdown {
        Some((exempt, minutes)) => {
            let (mut outcome, (steps, locked)) = tokio::join!(
                punish,
                lock_down(rest, target, &exempt, minutes, incident, started)
            );
            outcome.steps.extend(steps);
            outcome.locked_roles = locked;
            outcome
        }
        None => punish.await,
    }
}

#[allow(clippy::too_many_arguments)]
async fn punish(
    rest: &Rest,
    target: &Target,
    wanted: Punishment,
    quarantine_role: Option<u64>,
    incident: uuid::Uuid,
    crossed: Crossed,
    started: Instant,
) -> Outcome {
    let (class, count) = (crossed.as_str(), crossed.count());
    let (guild, user) = (target.guild, target.actor);
    let mut outcome = Outcome::default();
    let punishment = if target.actor_is_bot {
        Punishment::Kick
    } else {
        wanted
    };
    let roles = match &target.member_roles {
        Some(r) => r.clone(),
        None => match rest.member_roles(guild, user).await {
            Ok(roles) => roles,
            Err(e) => {
                outcome.steps.push(step(
                    started,
                    "punish",
                    false,
                    format!("reading the member failed: {e}"),
                ));
                outcome.blocker = Some(Blocker::Refused(e.to_string()));
                return outcome;
            }
        },
    };
    let bot = target.rank_of(&target.bot_roles).map(|(r, _)| r);
    let actor = target.rank_of(&roles);
    if !model::outranks(bot, actor.map(|(r, _)| r)) {
        let role = actor.map(|(_, id)| id).unwrap_or(0);
        outcome.blocker = Some(Blocker::Hierarchy { role });
        outcome.steps.push(step(
            started,
            "punish",
            false,
            format!("cannot punish: their highest role {role} is at or above Umbra's highest role"),
        ));
        return outcome;
    }
    let managed = target.managed();
    let result = match punishment {
        Punishment::StripRoles | Punishment::Quarantine => {
            let mut keep: Vec<u64> = roles
                .iter()
                .copied()
                .filter(|r| managed.contains(r))
                .collect();
            let stripped: Vec<u64> = roles
                .iter()
                .copied()
                .filter(|r| !managed.contains(r) && *r != target.everyone_role)
                .collect();
            if punishment == Punishment::Quarantine
                && let Some(q) = quarantine_role
            {
                keep.push(q);
            }
            let reason = model::punishment_reason(incident, class, count, &stripped);
            let ids: Vec<String> = keep.iter().map(u64::to_string).collect();
            let r = rest
                .edit_member(
                    guild,
                    user,
                    json!({ "roles": ids }),
                    Some(&reason),
                    Priority::Urgent,
                )
                .await;
            if r.is_ok() {
                outcome.stripped = stripped;
            }
            r
        }
        Punishment::Kick => {
            let reason = model::punishment_reason(incident, class, count, &[]);
            rest.kick(guild, user, Some(&reason), Priority::Urgent)
                .await
        }
        Punishment::Ban => {
            let reason = model::punishment_reason(incident, class, count, &[]);
            rest.ban(guild, user, Some(&reason), Priority::Urgent).await
        }
    };
    match result {
        Ok(()) => {
            outcome.punishment = Some(punishment);
            outcome.steps.push(step(
                started,
                "punish",
                true,
                format!(
                    "{} ({} roles taken)",
                    punishment.as_str(),
                    outcome.stripped.len()
                ),
            ));
        }
        Err(e) => {
            outcome.blocker = Some(Blocker::Refused(e.to_string()));
            outcome.steps.push(step(
                started,
                "punish",
                false,
                format!("{} failed: {e}", punishment.as_str()),
            ));
        }
    }
    outcome
}

async fn lock_down(
    rest: &Rest,
    target: &Target,
    exempt: &HashSet<u64>,
    minutes: u32,
    incident: uuid::Uuid,
    started: Instant,
) -> (Vec<Step>, Vec<(u64, u64)>) {
    let guild = target.guild;
    let bot = target.rank_of(&target.bot_roles).map(|(r, _)| r);
    let edits = model::lockdown_edits(&target.roles, bot, exempt);
    let reason = model::action_reason(incident, "lockdown");
    let before: std::collections::HashMap<u64, u64> =
        target.roles.iter().map(|r| (r.id, r.permissions)).collect();
    let calls = edits.iter().map(|(role, permissions)| {
        let reason = reason.clone();
        async move {
            let r = rest
                .edit_role(
                    guild,
                    *role,
                    json!({ "permissions": permissions.to_string() }),
                    Some(&reason),
                    Priority::Urgent,
                )
                .await;
            (*role, r)
        }
    });
    let mut steps = Vec::new();
    let mut locked = Vec::new();
    for (role, r) in futures::future::join_all(calls).await {
        match r {
            Ok(_) => locked.push((role, before.get(&role).copied().unwrap_or(0))),
            Err(e) => steps.push(step(
                started,
                "lockdown_role",
                false,
                format!("role {role}: {e}"),
            )),
        }
    }
    if !edits.is_empty() {
        steps.push(step(
            started,
            "lockdown_roles",
            locked.len() == edits.len(),
            format!(
                "dangerous permissions removed from {} of {} roles",
                locked.len(),
                edits.len()
            ),
        ));
    }
    let until = Utc::now() + chrono::Duration::minutes(i64::from(minutes));
    let r = rest
        .incident_actions(
            guild,
            json!({ "invites_disabled_until": until.to_rfc3339(), "dms_disabled_until": null }),
            Priority::Urgent,
        )
        .await;
    steps.push(step(
        started,
        "lockdown_invites",
        r.is_ok(),
        match r {
            Ok(_) => format!("invites paused until {}", until.to_rfc3339()),
            Err(e) => format!("pausing invites failed: {e}"),
        },
    ));
    (steps, locked)
}

/// The clean-up of an incident: takes back the dangerous and trust-conferring roles `actor`
/// gave other members, and removes the bots they added (never one in `protect`, e.g. Umbra),
/// leaving out what `destroyed.cleaned` already lists. Returns what was done; failures are
/// logged (the owner sees the rest in the incident).
pub async fn clean_up(
    rest: &Rest,
    guild: u64,
    actor: u64,
    incident: uuid::Uuid,
    destroyed: &Destroyed,
    protect: &HashSet<u64>,
) -> Cleaned {
    let reason = model::action_reason(incident, "clean-up");
    let mut cleaned = Cleaned::default();
    let takes = destroyed
        .grants_to_take_back()
        .into_iter()
        // The actor's own roles go with the punishment.
        .filter(|(member, _)| *member != actor)
        .flat_map(|(member, roles)| roles.into_iter().map(move |r| (member, r)));
    let calls = takes.map(|(member, role)| {
        let reason = reason.clone();
        async move {
            let r = rest
                .member_role(guild, member, role, false, Some(&reason))
                .await;
            (member, role, r)
        }
    });
    for (member, role, r) in futures::future::join_all(calls).await {
        match r {
            Ok(()) => {
                cleaned
                    .roles_taken_back
                    .entry(member)
                    .or_default()
                    .insert(role);
            }
            Err(e) => {
                tracing::warn!(guild, member, role, error = %e, "AntiNuke: taking a granted role back failed")
            }
        }
    }
    for bot in destroyed.bots_to_remove() {
        if protect.contains(&bot) {
            continue;
        }
        match rest.kick(guild, bot, Some(&reason), Priority::Normal).await {
            Ok(()) => {
                cleaned.bots_removed.insert(bot);
            }
            Err(e) => {
                tracing::warn!(guild, bot, error = %e, "AntiNuke: removing a bot the attacker added failed")
            }
        }
    }
    cleaned
}
