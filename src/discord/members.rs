//! Purpose: the guild members Umbra keeps in memory — each member's role ids and bot flag, and
//! each guild's role ids — in the gateway's order.
//!
//! serenity's cache keeps no members here (`cache_members = false`, see `vendor/README.md`): its
//! `Member` carries a whole `User`, ~900 bytes a member, most of Umbra's memory at a thousand
//! guilds. What Umbra reads of members on the event path (AntiNuke's actor standing and role
//! strip, the health check, live sync's load completion) is kept here instead, ~60 bytes a
//! member. Live sync feeds it from the shard's collector (`SyncService::on_shard_event`), which
//! sees every gateway event in order before any handler runs; a handler that reads the index
//! sees the guild's members as of its own event or newer, as it did with the cache.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

/// One member, as far as Umbra needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedMember {
    /// Role ids (without `@everyone`), as Discord lists them.
    pub roles: Box<[u64]>,
    pub bot: bool,
}

/// The members and role ids of one guild.
#[derive(Debug, Default)]
pub struct GuildMembers {
    pub members: HashMap<u64, IndexedMember>,
    /// The guild's role ids (members' lists are read against them).
    pub roles: HashSet<u64>,
}

impl GuildMembers {
    /// Records `user` with `roles` (`None`: no longer a member).
    pub fn set(&mut self, user: u64, member: Option<(Vec<u64>, bool)>) {
        match member {
            Some((roles, bot)) => {
                self.members.insert(
                    user,
                    IndexedMember {
                        roles: roles.into_boxed_slice(),
                        bot,
                    },
                );
            }
            None => {
                self.members.remove(&user);
            }
        }
    }

    /// The role's deletion: it leaves the guild's roles and every member's list.
    pub fn role_deleted(&mut self, role: u64) {
        self.roles.remove(&role);
        for m in self.members.values_mut() {
            if m.roles.contains(&role) {
                m.roles = m.roles.iter().copied().filter(|r| *r != role).collect();
            }
        }
    }
}

/// Every followed guild's members. Cheap to clone (one shared map).
#[derive(Debug, Clone, Default)]
pub struct MemberIndex {
    guilds: Arc<RwLock<HashMap<u64, Arc<Mutex<GuildMembers>>>>>,
}

/// One guild's members, locked: whoever holds it sees no gateway change of them until it is
/// dropped (live sync queues a load's completion while holding it).
pub type GuildMembersGuard<'a> = MutexGuard<'a, GuildMembers>;

impl MemberIndex {
    /// The guild's entry (`None`: not followed, or gone).
    pub fn guild(&self, guild: u64) -> Option<Arc<Mutex<GuildMembers>>> {
        self.read().get(&guild).cloned()
    }

    /// The guild's entry, made empty when new.
    pub fn guild_or_new(&self, guild: u64) -> Arc<Mutex<GuildMembers>> {
        if let Some(g) = self.guild(guild) {
            return g;
        }
        self.write().entry(guild).or_default().clone()
    }

    /// The guild left (or is unavailable): its members are forgotten until it is back.
    pub fn forget(&self, guild: u64) {
        self.write().remove(&guild);
    }

    /// One member of the guild (`None`: not known as a member).
    pub fn member(&self, guild: u64, user: u64) -> Option<IndexedMember> {
        let g = self.guild(guild)?;
        let members = lock(&g);
        members.members.get(&user).cloned()
    }

    /// Members held across every guild.
    pub fn len(&self) -> usize {
        self.read().values().map(|g| lock(g).members.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<u64, Arc<Mutex<GuildMembers>>>> {
        // Every writer leaves the map whole (a single insert or remove): keep going after a
        // panic elsewhere.
        self.guilds
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<u64, Arc<Mutex<GuildMembers>>>> {
        self.guilds
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Locks one guild's members (a panic while holding it leaves each member whole).
pub fn lock(g: &Mutex<GuildMembers>) -> GuildMembersGuard<'_> {
    g.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deleted_role_leaves_every_member_list() {
        let index = MemberIndex::default();
        let g = index.guild_or_new(1);
        {
            let mut m = lock(&g);
            m.roles = [10, 11].into_iter().collect();
            m.set(5, Some((vec![10, 11], false)));
            m.set(6, Some((vec![11], true)));
            m.role_deleted(11);
        }
        assert_eq!(index.member(1, 5).map(|m| m.roles.to_vec()), Some(vec![10]));
        assert_eq!(
            index.member(1, 6),
            Some(IndexedMember {
                roles: Box::new([]),
                bot: true
            })
        );
        assert!(!lock(&g).roles.contains(&11));
    }

    #[test]
    fn a_member_who_left_and_a_forgotten_guild_are_unknown() {
        let index = MemberIndex::default();
        let g = index.guild_or_new(1);
        lock(&g).set(5, Some((vec![], false)));
        lock(&g).set(7, Some((vec![], false)));
        lock(&g).set(5, None);
        assert_eq!(index.member(1, 5), None);
        assert_eq!(index.len(), 1);
        index.forget(1);
        assert_eq!(index.member(1, 7), None);
        assert!(index.is_empty());
    }
}
