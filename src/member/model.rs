//! Purpose: a guild member as Umbra mirrors it (the content of one version of a
//! `member.members` row), without I/O.

use chrono::{DateTime, SubsecRound, Utc};

/// One member's state: what a version of `member.members` holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MemberState {
    pub discord_user_id: u64,
    pub username: String,
    pub global_name: Option<String>,
    pub nick: Option<String>,
    /// Role snowflakes without @everyone, sorted and without duplicates.
    pub role_ids: Vec<u64>,
    pub is_bot: bool,
    /// Microsecond precision (what PostgreSQL stores), so unchanged members compare equal.
    pub joined_at: Option<DateTime<Utc>>,
}

impl MemberState {
    /// Puts the fields in their canonical form: roles sorted and deduplicated, @everyone
    /// (`guild_id`) removed, `joined_at` truncated to microseconds.
    pub fn normalized(mut self, guild_id: u64) -> Self {
        self.role_ids.retain(|r| *r != guild_id && *r != 0);
        self.role_ids.sort_unstable();
        self.role_ids.dedup();
        self.joined_at = self.joined_at.map(|t| t.trunc_subsecs(6));
        self
    }

    /// The role list as a PostgreSQL array literal (`{1,2,3}`), how bulk statements pass a
    /// per-row array inside `UNNEST`.
    pub fn roles_literal(&self) -> String {
        let mut out = String::with_capacity(2 + self.role_ids.len() * 20);
        out.push('{');
        for (i, r) in self.role_ids.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&r.to_string());
        }
        out.push('}');
        out
    }
}

/// One ban: what a `member.members` version with `banned = true` holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BanState {
    pub discord_user_id: u64,
    /// The banned user's name when the ban was seen.
    pub username: String,
    /// The ban's reason (Discord: the audit-log reason of the ban), if any.
    pub reason: Option<String>,
}

/// Ban changes of one live-sync batch, applied in this order: `upsert`, `removed`, `complete`
/// (every current ban not in it is closed), then `reasons` (filled in where still unknown).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BanChanges {
    pub upsert: Vec<BanState>,
    pub removed: Vec<u64>,
    pub complete: Option<std::collections::HashSet<u64>>,
    pub reasons: Vec<(u64, String)>,
}

impl BanChanges {
    pub fn is_empty(&self) -> bool {
        self.upsert.is_empty()
            && self.removed.is_empty()
            && self.complete.is_none()
            && self.reasons.is_empty()
    }
}

/// What a bulk write did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteStats {
    /// New current versions written (new objects and changed ones).
    pub written: u64,
    /// Current versions closed (replaced by a newer version, or tombstoned).
    pub closed: u64,
}

impl std::ops::AddAssign for WriteStats {
    fn add_assign(&mut self, other: Self) {
        self.written += other.written;
        self.closed += other.closed;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizing_sorts_dedupes_and_drops_everyone_and_sub_microseconds() {
        let joined = DateTime::parse_from_rfc3339("2024-01-02T03:04:05.123456789Z")
            .map(|t| t.with_timezone(&Utc))
            .ok();
        let m = MemberState {
            discord_user_id: 5,
            username: "a".into(),
            global_name: None,
            nick: None,
            role_ids: vec![30, 10, 99, 10],
            is_bot: false,
            joined_at: joined,
        }
        .normalized(99);
        assert_eq!(m.role_ids, vec![10, 30]);
        assert_eq!(m.roles_literal(), "{10,30}");
        assert_eq!(
            m.joined_at.map(|t| t.timestamp_subsec_nanos()),
            Some(123_456_000)
        );
    }

    #[test]
    fn an_empty_role_list_is_an_empty_array_literal() {
        let m = MemberState {
            discord_user_id: 5,
            username: "a".into(),
            global_name: None,
            nick: None,
            role_ids: vec![],
            is_bot: false,
            joined_at: None,
        };
        assert_eq!(m.roles_literal(), "{}");
    }
}
