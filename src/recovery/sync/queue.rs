//! Purpose: live sync's per-guild in-memory queue — changes coalesced by object (the latest
//! desired state of each role, channel, member wins; `None` = deleted), "complete set" markers
//! of a full load, role strips and sync-state changes — and how a failed batch is put back
//! under newer changes. Pure logic, no I/O.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use chrono::{DateTime, Utc};

use super::model::{
    BanState, ChannelState, MemberState, RoleState, SettingsState, SyncState, ThreadState,
};

/// A change of the guild's sync state, written after the data of its batch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StateChange {
    Loading,
    /// A full load finished (`load_started`: when its GUILD_CREATE was handled, or seen by the
    /// event-path hook when `early_request`).
    Live {
        full_sync_at: DateTime<Utc>,
        load_started: Instant,
        early_request: bool,
    },
    Stale,
}

impl StateChange {
    pub fn state(self) -> SyncState {
        match self {
            StateChange::Loading => SyncState::Loading,
            StateChange::Live { .. } => SyncState::Live,
            StateChange::Stale => SyncState::Stale,
        }
    }
}

/// Changes of one guild waiting to be written, coalesced by object.
#[derive(Debug, Default, Clone)]
pub struct Pending {
    pub settings: Option<SettingsState>,
    pub roles: HashMap<u64, Option<RoleState>>,
    /// `roles` holds every role of the guild: the others are gone.
    pub roles_complete: bool,
    pub channels: HashMap<u64, Option<ChannelState>>,
    pub channels_complete: bool,
    pub members: HashMap<u64, Option<MemberState>>,
    /// Every member of the guild (end of a full load): current rows of others are closed.
    pub members_present: Option<HashSet<u64>>,
    /// Deleted roles to remove from members' role lists.
    pub stripped_roles: Vec<u64>,
    /// Bans by user (`None`: unbanned).
    pub bans: HashMap<u64, Option<BanState>>,
    /// Every ban of the guild (a full ban list): current bans of others are closed, and bans
    /// are known from then on.
    pub bans_present: Option<HashSet<u64>>,
    /// Ban reasons from audit-log entries (filled in where the stored ban has none).
    pub ban_reasons: HashMap<u64, String>,
    /// Threads by id (`None`: deleted).
    pub threads: HashMap<u64, Option<ThreadState>>,
    /// Every thread Umbra follows (active ones and the archived ones of forum, media and
    /// announcement channels, after a load): current rows of others are closed.
    pub threads_present: Option<HashSet<u64>>,
    pub state: Option<StateChange>,
}

impl Pending {
    pub fn is_empty(&self) -> bool {
        self.settings.is_none()
            && self.roles.is_empty()
            && !self.roles_complete
            && self.channels.is_empty()
            && !self.channels_complete
            && self.members.is_empty()
            && self.members_present.is_none()
            && self.stripped_roles.is_empty()
            && self.bans.is_empty()
            && self.bans_present.is_none()
            && self.ban_reasons.is_empty()
            && self.threads.is_empty()
            && self.threads_present.is_none()
            && self.state.is_none()
    }

    /// Rows this batch would write at most (what the size trigger counts).
    pub fn rows(&self) -> usize {
        usize::from(self.settings.is_some())
            + self.roles.len()
            + self.channels.len()
            + self.members.len()
            + self.members_present.as_ref().map_or(0, |_| 1)
            + self.bans.len()
            + self.ban_reasons.len()
            + self.threads.len()
    }

    /// The whole structure (settings, every role, every channel) replaces what is queued.
    pub fn full_structure(
        &mut self,
        settings: SettingsState,
        roles: Vec<RoleState>,
        channels: Vec<ChannelState>,
    ) {
        self.settings = Some(settings);
        self.roles = roles
            .into_iter()
            .map(|r| (r.discord_role_id, Some(r)))
            .collect();
        self.roles_complete = true;
        self.channels = channels
            .into_iter()
            .map(|c| (c.discord_channel_id, Some(c)))
            .collect();
        self.channels_complete = true;
    }

    pub fn role(&mut self, id: u64, state: Option<RoleState>) {
        self.roles.insert(id, state);
    }

    pub fn role_deleted(&mut self, id: u64) {
        self.roles.insert(id, None);
        if !self.stripped_roles.contains(&id) {
            self.stripped_roles.push(id);
        }
        for m in self.members.values_mut().flatten() {
            m.role_ids.retain(|r| *r != id);
        }
        // Discord drops the role's overwrites with it; a channel state queued earlier may
        // still hold one.
        for c in self.channels.values_mut().flatten() {
            c.overwrites.retain(|o| {
                !(o.target == super::model::OverwriteTarget::Role && o.target_id == id)
            });
        }
    }

    pub fn channel(&mut self, id: u64, state: Option<ChannelState>) {
        self.channels.insert(id, state);
    }

    pub fn member(&mut self, id: u64, state: Option<MemberState>) {
        if let Some(present) = &mut self.members_present {
            if state.is_some() {
                present.insert(id);
            } else {
                present.remove(&id);
            }
        }
        self.members.insert(id, state);
    }

    /// Every member of the guild is `present` (queued states are kept).
    pub fn members_complete(&mut self, present: HashSet<u64>) {
        let mut present = present;
        for (id, state) in &self.members {
            if state.is_some() {
                present.insert(*id);
            } else {
                present.remove(id);
            }
        }
        self.members_present = Some(present);
    }

    /// A ban was added (`Some`) or lifted (`None`).
    pub fn ban(&mut self, user: u64, state: Option<BanState>) {
        let state = state.map(|mut b| {
            if b.reason.is_none() {
                b.reason = self.ban_reasons.remove(&user);
            }
            b
        });
        if let Some(present) = &mut self.bans_present {
            if state.is_some() {
                present.insert(user);
            } else {
                present.remove(&user);
            }
        }
        self.bans.insert(user, state);
    }

    /// The reason of a ban (from its audit-log entry, which may come before or after the ban).
    pub fn ban_reason(&mut self, user: u64, reason: String) {
        match self.bans.get_mut(&user) {
            Some(Some(b)) if b.reason.is_none() => b.reason = Some(reason),
            Some(_) => {}
            None => {
                self.ban_reasons.insert(user, reason);
            }
        }
    }

    /// The whole ban list (newer queued changes are kept over it).
    pub fn bans_complete(&mut self, list: Vec<BanState>) {
        let mut present: HashSet<u64> = list.iter().map(|b| b.discord_user_id).collect();
        for (id, state) in &self.bans {
            if state.is_some() {
                present.insert(*id);
            } else {
                present.remove(id);
            }
        }
        for b in list {
            self.bans.entry(b.discord_user_id).or_insert(Some(b));
        }
        self.bans_present = Some(present);
    }

    /// A thread was created or changed (`Some`) or deleted (`None`).
    pub fn thread(&mut self, id: u64, state: Option<ThreadState>) {
        if let Some(present) = &mut self.threads_present {
            if state.is_some() {
                present.insert(id);
            } else {
                present.remove(&id);
            }
        }
        self.threads.insert(id, state);
    }

    /// Every thread Umbra follows (newer queued changes are kept over it).
    pub fn threads_complete(&mut self, list: Vec<ThreadState>) {
        let mut present: HashSet<u64> = list.iter().map(|t| t.id).collect();
        for (id, state) in &self.threads {
            if state.is_some() {
                present.insert(*id);
            } else {
                present.remove(id);
            }
        }
        for t in list {
            self.threads.entry(t.id).or_insert(Some(t));
        }
        self.threads_present = Some(present);
    }

    pub fn state(&mut self, change: StateChange) {
        self.state = Some(change);
    }

    /// Puts a batch that failed to be written back *under* the changes queued since (newer
    /// states win; a newer complete set makes the older entries obsolete).
    pub fn merge_older(&mut self, older: Pending) {
        if self.settings.is_none() {
            self.settings = older.settings;
        }
        if !self.roles_complete {
            for (k, v) in older.roles {
                self.roles.entry(k).or_insert(v);
            }
            self.roles_complete = older.roles_complete;
        }
        if !self.channels_complete {
            for (k, v) in older.channels {
                self.channels.entry(k).or_insert(v);
            }
            self.channels_complete = older.channels_complete;
        }
        if self.members_present.is_none() {
            for (k, v) in older.members {
                self.members.entry(k).or_insert(v);
            }
            if let Some(mut present) = older.members_present {
                for (id, state) in &self.members {
                    if state.is_some() {
                        present.insert(*id);
                    } else {
                        present.remove(id);
                    }
                }
                self.members_present = Some(present);
            }
        }
        if self.bans_present.is_none() {
            for (k, v) in older.bans {
                self.bans.entry(k).or_insert(v);
            }
            if let Some(mut present) = older.bans_present {
                for (id, state) in &self.bans {
                    if state.is_some() {
                        present.insert(*id);
                    } else {
                        present.remove(id);
                    }
                }
                self.bans_present = Some(present);
            }
        }
        for (k, v) in older.ban_reasons {
            self.ban_reasons.entry(k).or_insert(v);
        }
        if self.threads_present.is_none() {
            for (k, v) in older.threads {
                self.threads.entry(k).or_insert(v);
            }
            if let Some(mut present) = older.threads_present {
                for (id, state) in &self.threads {
                    if state.is_some() {
                        present.insert(*id);
                    } else {
                        present.remove(id);
                    }
                }
                self.threads_present = Some(present);
            }
        }
        let mut stripped = older.stripped_roles;
        for r in std::mem::take(&mut self.stripped_roles) {
            if !stripped.contains(&r) {
                stripped.push(r);
            }
        }
        self.stripped_roles = stripped;
        if self.state.is_none() {
            self.state = older.state;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: u64, roles: Vec<u64>) -> MemberState {
        MemberState {
            discord_user_id: id,
            username: format!("u{id}"),
            global_name: None,
            nick: None,
            role_ids: roles,
            is_bot: false,
            joined_at: None,
        }
    }

    fn ban(user: u64) -> BanState {
        BanState {
            discord_user_id: user,
            username: format!("u{user}"),
            reason: None,
        }
    }

    #[test]
    fn a_ban_gets_its_audit_reason_whichever_comes_first_and_a_ban_list_keeps_newer_events() {
        let mut p = Pending::default();
        p.ban_reason(1, "before".into());
        p.ban(1, Some(ban(1)));
        p.ban(2, Some(ban(2)));
        p.ban_reason(2, "after".into());
        let reason = |p: &Pending, u: u64| p.bans[&u].as_ref().and_then(|b| b.reason.clone());
        assert_eq!(reason(&p, 1).as_deref(), Some("before"));
        assert_eq!(reason(&p, 2).as_deref(), Some("after"));
        assert!(p.ban_reasons.is_empty());
        // Unbanned after the list was read: the list's entry does not bring the ban back.
        p.ban(3, None);
        p.bans_complete(vec![ban(3), ban(4)]);
        let present = p.bans_present.clone().unwrap_or_default();
        assert_eq!(present, HashSet::from([1, 2, 4]));
        assert_eq!(p.bans[&3], None);
        p.ban(5, Some(ban(5)));
        assert!(p.bans_present.as_ref().is_some_and(|s| s.contains(&5)));
    }

    #[test]
    fn the_latest_state_of_an_object_wins_and_a_delete_is_kept_as_none() {
        let mut p = Pending::default();
        p.member(1, Some(member(1, vec![5])));
        p.member(1, Some(member(1, vec![6])));
        p.member(2, Some(member(2, vec![])));
        p.member(2, None);
        assert_eq!(
            p.members[&1].as_ref().map(|m| m.role_ids.clone()),
            Some(vec![6])
        );
        assert_eq!(p.members[&2], None);
        assert_eq!(p.rows(), 2);
    }

    #[test]
    fn a_complete_member_set_follows_later_joins_and_leaves() {
        let mut p = Pending::default();
        p.members_complete([1, 2, 3].into_iter().collect());
        p.member(4, Some(member(4, vec![])));
        p.member(2, None);
        let present = p.members_present.clone().unwrap_or_default();
        assert!(present.contains(&4) && !present.contains(&2) && present.contains(&1));
    }

    #[test]
    fn a_deleted_role_is_stripped_from_queued_members_too() {
        let mut p = Pending::default();
        p.member(1, Some(member(1, vec![5, 6])));
        p.role_deleted(5);
        assert_eq!(
            p.members[&1].as_ref().map(|m| m.role_ids.clone()),
            Some(vec![6])
        );
        assert_eq!(p.stripped_roles, vec![5]);
        assert_eq!(p.roles[&5], None);
    }

    #[test]
    fn a_failed_batch_goes_back_under_newer_changes() {
        let mut failed = Pending::default();
        failed.member(1, Some(member(1, vec![1])));
        failed.member(2, Some(member(2, vec![])));
        failed.role_deleted(9);
        failed.state(StateChange::Loading);
        let mut newer = Pending::default();
        newer.member(1, Some(member(1, vec![2])));
        newer.role_deleted(8);
        newer.merge_older(failed);
        assert_eq!(
            newer.members[&1].as_ref().map(|m| m.role_ids.clone()),
            Some(vec![2]),
            "newer wins"
        );
        assert!(newer.members.contains_key(&2), "older entries come back");
        assert_eq!(newer.stripped_roles, vec![9, 8], "older strips first");
        assert_eq!(newer.state, Some(StateChange::Loading));
    }

    #[test]
    fn a_newer_complete_structure_makes_older_entries_obsolete() {
        let mut failed = Pending::default();
        failed.channel(7, None);
        let mut newer = Pending {
            channels_complete: true,
            ..Pending::default()
        };
        newer.merge_older(failed);
        assert!(newer.channels.is_empty());
        assert!(!newer.is_empty());
    }
}
