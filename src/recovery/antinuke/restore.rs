//! Purpose: AntiNuke's use of the restore engine — "Restore what was destroyed" is a restore job
//! from the incident's emergency snapshot (the state just before the first counted action),
//! in mirror mode and scoped to what the incident destroyed or changed: the deleted roles and
//! channels (with their overwrites), the channels whose overwrites named a deleted role, the
//! members who held a deleted role, received a dangerous or trust-conferring one or lost roles,
//! the roles that gained or lost permissions or were locked down, the channels whose overwrites
//! were made dangerous, and what the attacker created (mirror deletes it). The attacker is never
//! in the scope: their punishment stays.

use std::collections::{BTreeSet, HashSet};

use uuid::Uuid;

use super::model::Destroyed;
use super::persistence::Incident;
use super::service::{AntinukeError, RestoreStarted};
use crate::recovery::restore::RestoreService;
use crate::recovery::restore::{Component, Components, Mode, RestoreError, RestoreRequest, Scope};
use crate::recovery::snapshot::SnapshotService;
use crate::recovery::snapshot::model::SnapshotDocument;

/// What the scope needs from the pre-attack document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocView {
    pub guild: u64,
    /// (snapshot-local id, original id) of every role.
    pub roles: Vec<(u32, u64)>,
    /// (original id, local ids of the roles its overwrites name) of every channel.
    pub channels: Vec<(u64, Vec<u32>)>,
    /// (user id, local role ids) of every member.
    pub members: Vec<(u64, Vec<u32>)>,
    /// (original id, local ids of the roles it exempts, original ids of the channels it names)
    /// of every AutoMod rule.
    pub automod: Vec<(u64, Vec<u32>, Vec<u64>)>,
    /// Whether the snapshot knows the ban list (then the job undoes the attacker's bans and
    /// unbans; else the caller does).
    pub bans_known: bool,
}

impl DocView {
    pub fn of(doc: &SnapshotDocument) -> Self {
        Self {
            guild: doc.guild_id,
            bans_known: doc.bans.is_some(),
            roles: doc.roles.iter().map(|r| (r.id, r.original_id)).collect(),
            channels: doc
                .channels
                .iter()
                .map(|c| {
                    (
                        c.original_id,
                        c.overwrites.iter().filter_map(|o| o.role).collect(),
                    )
                })
                .collect(),
            members: doc
                .members
                .iter()
                .map(|m| (m.user_id, m.roles.clone()))
                .collect(),
            automod: doc
                .automod
                .iter()
                .flatten()
                .map(|r| {
                    let original = |local: &u32| doc.channel_original(*local);
                    let channels = r
                        .exempt_channels
                        .iter()
                        .chain(r.actions.iter().filter_map(|a| a.channel.as_ref()))
                        .filter_map(original)
                        .collect();
                    (r.original_id, r.exempt_roles.clone(), channels)
                })
                .collect(),
        }
    }
}

/// The restore's scope and components for what `destroyed` lists, read against the
/// pre-attack document. `actor` is left out of the members.
pub fn scope_of(destroyed: &Destroyed, doc: &DocView, actor: u64) -> (Scope, Vec<Component>) {
    let mut roles: BTreeSet<u64> = destroyed
        .roles_deleted
        .iter()
        .chain(&destroyed.roles_created)
        .chain(&destroyed.roles_granted)
        .copied()
        .collect();
    roles.extend(destroyed.roles_locked.keys());
    roles.extend(&destroyed.permissions_removed);
    let mut channels: BTreeSet<u64> = destroyed
        .channels_deleted
        .iter()
        .chain(&destroyed.channels_created)
        .chain(&destroyed.overwrites_granted)
        .copied()
        .collect();
    let deleted_local: HashSet<u32> = doc
        .roles
        .iter()
        .filter(|(_, original)| destroyed.roles_deleted.contains(original))
        .map(|(local, _)| *local)
        .collect();
    for (channel, role_refs) in &doc.channels {
        if role_refs.iter().any(|r| deleted_local.contains(r)) {
            channels.insert(*channel);
        }
    }
    let mut members: BTreeSet<u64> = destroyed
        .members_granted
        .iter()
        .chain(&destroyed.roles_removed)
        .chain(destroyed.trust_grants.keys())
        .copied()
        .collect();
    for (user, member_roles) in &doc.members {
        if member_roles.iter().any(|r| deleted_local.contains(r)) {
            members.insert(*user);
        }
    }
    members.remove(&actor);
    roles.remove(&doc.guild);
    let mut components = Vec::new();
    if !roles.is_empty() {
        components.push(Component::Roles);
    }
    if !channels.is_empty() {
        components.push(Component::Channels);
    }
    if destroyed.guild_changed {
        components.push(Component::Settings);
    }
    if !members.is_empty() {
        components.push(Component::Members);
    }
    // Deleted emojis (and stickers: their ids match no emoji) are uploaded again.
    let emojis = destroyed.expressions_deleted.clone();
    if !emojis.is_empty() {
        components.push(Component::Emojis);
        components.push(Component::Stickers);
    }
    let stickers = emojis.clone();
    // AutoMod rules the attacker deleted or disabled, and those naming a deleted role or
    // channel (their exempt lists and alerts are pointed at the restored ones).
    let mut automod: BTreeSet<u64> = destroyed.automod_changed.clone();
    for (rule, role_refs, channel_refs) in &doc.automod {
        if role_refs.iter().any(|r| deleted_local.contains(r))
            || channel_refs
                .iter()
                .any(|c| destroyed.channels_deleted.contains(c))
        {
            automod.insert(*rule);
        }
    }
    // Also when a role or channel came back: rules that named it are pointed at the new one
    // (even when the snapshot does not know the rules; see the planner).
    if !automod.is_empty()
        || !destroyed.roles_deleted.is_empty()
        || !destroyed.channels_deleted.is_empty()
    {
        components.push(Component::AutoMod);
    }
    // A deleted channel's threads and forum posts went with it; the welcome screen may have
    // named it.
    if !destroyed.channels_deleted.is_empty() {
        components.push(Component::Threads);
        components.push(Component::Welcome);
    }
    // A deleted channel's kept messages are posted again in the channel made again.
    if !destroyed.channels_deleted.is_empty() {
        components.push(Component::Messages);
    }
    // The onboarding may have named a deleted role or channel (the planner sets it back only
    // when it did).
    if !destroyed.channels_deleted.is_empty() || !destroyed.roles_deleted.is_empty() {
        components.push(Component::Onboarding);
    }
    // Webhooks the attacker deleted or changed, and those that died with a deleted channel
    // (made again: new URLs).
    if !destroyed.webhooks_changed.is_empty() || !destroyed.channels_deleted.is_empty() {
        components.push(Component::Webhooks);
    }
    // The attacker's bans and unbans, by the job (durable: a crash resumes it, nothing is sent
    // twice) when the snapshot knows the ban list.
    let bans: BTreeSet<u64> = if doc.bans_known {
        destroyed
            .banned
            .iter()
            .chain(&destroyed.unbanned)
            .filter(|u| **u != actor)
            .copied()
            .collect()
    } else {
        BTreeSet::new()
    };
    if !bans.is_empty() {
        components.push(Component::Bans);
    }
    (
        Scope {
            roles,
            channels,
            members,
            bans,
            emojis,
            stickers,
            automod,
            // The threads of the channels in scope come with them (see the planner).
            threads: BTreeSet::new(),
            webhooks: destroyed.webhooks_changed.clone(),
        },
        components,
    )
}

/// Starts the restore job of an incident (`by`: who asked). No job when nothing in the
/// snapshot's reach was destroyed (timeouts, the attacker's own webhooks, and bans when the
/// snapshot has no ban list, are handled by the caller).
pub async fn start(
    snapshots: &SnapshotService,
    restores: &RestoreService,
    incident: &Incident,
    snapshot: Uuid,
    by: u64,
) -> Result<RestoreStarted, AntinukeError> {
    let guild = incident.guild_discord_id;
    let (_, doc) = snapshots
        .document(guild, snapshot)
        .await
        .map_err(|e| AntinukeError::Restore(e.to_string()))?;
    let (scope, components) = scope_of(&incident.destroyed, &DocView::of(&doc), incident.actor);
    let items = scope.roles.len() + scope.channels.len() + scope.members.len();
    let bans_by_job = scope.bans.len();
    let Some(components) = Components::of(&components) else {
        return Ok(RestoreStarted {
            job: None,
            items: 0,
            bans_by_job: 0,
            unbanned: 0,
            webhooks_deleted: 0,
            rebanned: 0,
            timeouts_lifted: 0,
        });
    };
    let request = RestoreRequest {
        guild,
        snapshot_id: snapshot,
        mode: Mode::Mirror,
        components,
        scope: Some(scope),
        requested_by: by,
        incident_id: Some(incident.id),
        confirmed: true,
    };
    let job = restores.start(request).await.map_err(|e| match e {
        RestoreError::AlreadyActive => {
            AntinukeError::Restore("a restore is already running in this server".into())
        }
        other => AntinukeError::Restore(other.to_string()),
    })?;
    Ok(RestoreStarted {
        job: Some(job),
        items,
        bans_by_job,
        unbanned: 0,
        webhooks_deleted: 0,
        rebanned: 0,
        timeouts_lifted: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scope_covers_deleted_objects_their_overwrites_holders_and_rules_but_never_the_attacker()
    {
        let doc = DocView {
            guild: 1,
            roles: vec![(1, 1), (2, 20), (3, 30)],
            channels: vec![(100, vec![]), (101, vec![2]), (102, vec![3]), (103, vec![])],
            members: vec![(7, vec![2, 3]), (8, vec![3]), (9, vec![2])],
            // 70 exempts the deleted role, 71 alerts in the deleted channel, 72 neither.
            automod: vec![
                (70, vec![2], vec![]),
                (71, vec![], vec![100]),
                (72, vec![3], vec![101]),
            ],
            bans_known: true,
        };
        let mut d = Destroyed::default();
        // 44 banned and 45 unbanned by the attacker (9), who is never unbanned.
        d.banned.extend([44, 9]);
        d.unbanned.insert(45);
        d.channels_deleted.insert(100);
        d.roles_deleted.insert(20);
        d.channels_created.insert(555);
        d.roles_granted.insert(30);
        d.roles_locked.insert(40, 8);
        d.members_granted.insert(8);
        let (scope, components) = scope_of(&d, &doc, 9);
        assert_eq!(
            scope.roles.into_iter().collect::<Vec<_>>(),
            vec![20, 30, 40]
        );
        // 101 named the deleted role in an overwrite; 555 was created by the attacker.
        assert_eq!(
            scope.channels.into_iter().collect::<Vec<_>>(),
            vec![100, 101, 555]
        );
        // 7 held the deleted role, 8 received a dangerous one; 9 is the attacker.
        assert_eq!(scope.members.into_iter().collect::<Vec<_>>(), vec![7, 8]);
        assert_eq!(scope.automod.into_iter().collect::<Vec<_>>(), vec![70, 71]);
        assert_eq!(scope.bans.into_iter().collect::<Vec<_>>(), vec![44, 45]);
        assert_eq!(
            components,
            vec![
                Component::Roles,
                Component::Channels,
                Component::Members,
                Component::AutoMod,
                Component::Threads,
                Component::Welcome,
                Component::Messages,
                Component::Onboarding,
                Component::Webhooks,
                Component::Bans
            ]
        );
        let (scope, components) = scope_of(&Destroyed::default(), &doc, 9);
        assert!(scope.roles.is_empty() && scope.channels.is_empty() && components.is_empty());
    }
}
