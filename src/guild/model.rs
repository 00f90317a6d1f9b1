//! Purpose: guild types and their rules, without I/O.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::i18n::Locale;
use crate::identity::UserProfile;

/// At most this many trusted users, and as many trusted roles, per guild.
pub const MAX_TRUSTED: usize = 25;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuildStatus {
    Active,
    Removed,
}

impl GuildStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            GuildStatus::Active => "active",
            GuildStatus::Removed => "removed",
        }
    }

    pub fn parse(s: &str) -> Self {
        if s == "removed" {
            GuildStatus::Removed
        } else {
            GuildStatus::Active
        }
    }
}

/// A guild as Umbra records it.
#[derive(Debug, Clone, PartialEq)]
pub struct GuildRecord {
    pub id: Uuid,
    pub discord_id: u64,
    pub owner_discord_id: u64,
    pub name: String,
    pub status: GuildStatus,
    pub installed_at: DateTime<Utc>,
    pub removed_at: Option<DateTime<Utc>>,
}

/// A guild's settings. Defaults apply until the owner changes them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GuildSettings {
    /// `None`: replies follow each user's Discord language, falling back to English.
    pub locale: Option<Locale>,
    pub log_channel_id: Option<u64>,
    pub trusted_user_ids: Vec<u64>,
    pub trusted_role_ids: Vec<u64>,
    pub snapshot_interval_minutes: Option<i32>,
    pub antinuke_enabled: bool,
    /// The re-join link is open (`/members link`; on by default).
    pub web_join_enabled: bool,
    /// The role a member gets when they link ("verified"); `None`: none.
    pub web_join_role_id: Option<u64>,
    /// Channels whose last messages snapshots keep (`/backup messages`; empty: off).
    pub message_channel_ids: Vec<u64>,
    /// Messages kept per channel; `None`: the plan's most.
    pub message_limit: Option<u32>,
}

impl GuildSettings {
    /// Whether a member with `user` and `roles` is trusted (the owner is checked separately).
    pub fn trusts(&self, user: u64, roles: &[u64]) -> bool {
        self.trusted_user_ids.contains(&user)
            || roles.iter().any(|r| self.trusted_role_ids.contains(r))
    }
}

/// A guild's own threshold for one AntiNuke action class (`guild_configs.antinuke_thresholds`,
/// `{"<class>": {"count": n, "window_seconds": s}}`; `combined`: the combined score's points).
/// The recovery domain validates class names and bounds them by the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ThresholdOverride {
    pub count: u32,
    pub window_seconds: u32,
}

/// A guild's AntiNuke settings as its owner or trusted users configured them (the plan bounds
/// what applies: see `recovery::antinuke`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AntinukeSettings {
    pub enabled: bool,
    /// Class name -> the guild's own threshold (classes missing use the defaults).
    pub thresholds: std::collections::BTreeMap<String, ThresholdOverride>,
    /// `strip_roles`, `quarantine`, `kick` or `ban`.
    pub punishment: String,
    pub quarantine_role_id: Option<u64>,
    pub lockdown: bool,
    pub auto_revert: bool,
    pub whitelist_user_ids: Vec<u64>,
    pub whitelist_role_ids: Vec<u64>,
}

/// A change to a guild's AntiNuke settings (already authorized and validated by the caller).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AntinukeChange {
    Enabled(bool),
    /// `None`: back to the default for this class.
    Threshold(String, Option<ThresholdOverride>),
    Punishment(String),
    QuarantineRole(Option<u64>),
    Lockdown(bool),
    AutoRevert(bool),
    /// Adds (`true`) or removes a user or a role from the AntiNuke whitelist.
    Whitelist(TrustTarget, bool),
}

/// What the gateway tells about a guild Umbra is in.
#[derive(Debug, Clone, PartialEq)]
pub struct InstalledGuild {
    pub discord_id: u64,
    pub name: String,
    pub icon: Option<String>,
    pub owner: UserProfile,
}

/// Someone or something to trust.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrustTarget {
    User(u64),
    Role(u64),
}

impl TrustTarget {
    pub fn mention(self) -> String {
        match self {
            TrustTarget::User(id) => format!("<@{id}>"),
            TrustTarget::Role(id) => format!("<@&{id}>"),
        }
    }
}

/// A change to what protects a guild — its AntiNuke settings, whitelist or trust — as the
/// owner's notification and its Undo button carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtectionChange {
    Antinuke(AntinukeChange),
    /// Trust (`true`) or untrust a user or role.
    Trust(TrustTarget, bool),
}

impl ProtectionChange {
    /// A compact form for a button's custom id (at most ~50 characters).
    pub fn encode(&self) -> String {
        let flag = |b: bool| if b { "1" } else { "0" };
        let target = |t: &TrustTarget, add: bool| match t {
            TrustTarget::User(id) => format!("u:{id}:{}", flag(add)),
            TrustTarget::Role(id) => format!("r:{id}:{}", flag(add)),
        };
        match self {
            ProtectionChange::Antinuke(c) => match c {
                AntinukeChange::Enabled(on) => format!("en:{}", flag(*on)),
                AntinukeChange::Threshold(class, Some(t)) => {
                    format!("th:{class}:{}:{}", t.count, t.window_seconds)
                }
                AntinukeChange::Threshold(class, None) => format!("th:{class}:-"),
                AntinukeChange::Punishment(p) => format!("pu:{p}"),
                AntinukeChange::QuarantineRole(Some(r)) => format!("qr:{r}"),
                AntinukeChange::QuarantineRole(None) => "qr:-".to_owned(),
                AntinukeChange::Lockdown(on) => format!("ld:{}", flag(*on)),
                AntinukeChange::AutoRevert(on) => format!("ar:{}", flag(*on)),
                AntinukeChange::Whitelist(t, add) => format!("wl:{}", target(t, *add)),
            },
            ProtectionChange::Trust(t, add) => format!("tr:{}", target(t, *add)),
        }
    }

    /// Parses [`ProtectionChange::encode`]'s form (`None` for anything else).
    pub fn decode(s: &str) -> Option<Self> {
        let name_ok = |n: &str| {
            !n.is_empty() && n.len() <= 32 && n.chars().all(|c| c.is_ascii_lowercase() || c == '_')
        };
        let flag = |f: &str| match f {
            "1" => Some(true),
            "0" => Some(false),
            _ => None,
        };
        let target = |parts: &[&str]| -> Option<(TrustTarget, bool)> {
            let [kind, id, add] = parts else { return None };
            let id: u64 = id.parse().ok().filter(|i| *i > 0)?;
            let t = match *kind {
                "u" => TrustTarget::User(id),
                "r" => TrustTarget::Role(id),
                _ => return None,
            };
            Some((t, flag(add)?))
        };
        let parts: Vec<&str> = s.split(':').collect();
        let change = match parts.as_slice() {
            ["en", f] => AntinukeChange::Enabled(flag(f)?),
            ["th", class, "-"] if name_ok(class) => {
                AntinukeChange::Threshold((*class).to_owned(), None)
            }
            ["th", class, count, window] if name_ok(class) => AntinukeChange::Threshold(
                (*class).to_owned(),
                Some(ThresholdOverride {
                    count: count.parse().ok()?,
                    window_seconds: window.parse().ok()?,
                }),
            ),
            ["pu", p] if name_ok(p) => AntinukeChange::Punishment((*p).to_owned()),
            ["qr", "-"] => AntinukeChange::QuarantineRole(None),
            ["qr", r] => AntinukeChange::QuarantineRole(Some(r.parse().ok().filter(|r| *r > 0)?)),
            ["ld", f] => AntinukeChange::Lockdown(flag(f)?),
            ["ar", f] => AntinukeChange::AutoRevert(flag(f)?),
            ["wl", rest @ ..] => {
                let (t, add) = target(rest)?;
                AntinukeChange::Whitelist(t, add)
            }
            ["tr", rest @ ..] => {
                let (t, add) = target(rest)?;
                return Some(ProtectionChange::Trust(t, add));
            }
            _ => return None,
        };
        Some(ProtectionChange::Antinuke(change))
    }

    /// The change that puts back what `before` held (AntiNuke settings and trust before it).
    pub fn inverse(&self, before: &AntinukeSettings, trusted: &GuildSettings) -> Self {
        match self {
            ProtectionChange::Antinuke(c) => ProtectionChange::Antinuke(match c {
                AntinukeChange::Enabled(_) => AntinukeChange::Enabled(before.enabled),
                AntinukeChange::Threshold(class, _) => {
                    AntinukeChange::Threshold(class.clone(), before.thresholds.get(class).copied())
                }
                AntinukeChange::Punishment(_) => {
                    AntinukeChange::Punishment(before.punishment.clone())
                }
                AntinukeChange::QuarantineRole(_) => {
                    AntinukeChange::QuarantineRole(before.quarantine_role_id)
                }
                AntinukeChange::Lockdown(_) => AntinukeChange::Lockdown(before.lockdown),
                AntinukeChange::AutoRevert(_) => AntinukeChange::AutoRevert(before.auto_revert),
                AntinukeChange::Whitelist(t, _) => {
                    let listed = match t {
                        TrustTarget::User(id) => before.whitelist_user_ids.contains(id),
                        TrustTarget::Role(id) => before.whitelist_role_ids.contains(id),
                    };
                    AntinukeChange::Whitelist(*t, listed)
                }
            }),
            ProtectionChange::Trust(t, _) => {
                let listed = match t {
                    TrustTarget::User(id) => trusted.trusted_user_ids.contains(id),
                    TrustTarget::Role(id) => trusted.trusted_role_ids.contains(id),
                };
                ProtectionChange::Trust(*t, listed)
            }
        }
    }
}

/// An AntiNuke setting change by someone other than the owner, waiting for the owner's
/// approval (`guild_configs.pending_changes`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PendingChange {
    pub id: Uuid,
    /// Who asked (a Discord user id, as text).
    pub actor_discord_id: String,
    pub change: AntinukeChange,
    pub requested_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// What the owner's Approve / Refuse did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Approved and applied.
    Applied(AntinukeChange),
    Refused(AntinukeChange),
    /// Not answered in time: nothing changed.
    Lapsed,
    /// Already decided (or never requested).
    Unknown,
}

/// What changed when a guild was seen on the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstallOutcome {
    /// First time in this guild.
    Installed,
    /// Back in a guild it had been removed from (data kept during the grace period).
    Reinstalled,
    /// Already known and active (start-up, reconnect).
    Refreshed,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_is_trusted_by_user_id_or_by_any_trusted_role() {
        let settings = GuildSettings {
            trusted_user_ids: vec![1],
            trusted_role_ids: vec![10, 11],
            ..Default::default()
        };
        assert!(settings.trusts(1, &[]));
        assert!(settings.trusts(2, &[5, 11]));
        assert!(!settings.trusts(2, &[5]));
    }

    #[test]
    fn protection_changes_round_trip_through_their_button_form_and_fit_a_custom_id() {
        let changes = [
            ProtectionChange::Antinuke(AntinukeChange::Enabled(false)),
            ProtectionChange::Antinuke(AntinukeChange::Threshold(
                "message_bulk_delete".into(),
                Some(ThresholdOverride {
                    count: 1000,
                    window_seconds: 86_400,
                }),
            )),
            ProtectionChange::Antinuke(AntinukeChange::Threshold("combined".into(), None)),
            ProtectionChange::Antinuke(AntinukeChange::Punishment("strip_roles".into())),
            ProtectionChange::Antinuke(AntinukeChange::QuarantineRole(Some(u64::MAX))),
            ProtectionChange::Antinuke(AntinukeChange::QuarantineRole(None)),
            ProtectionChange::Antinuke(AntinukeChange::Lockdown(true)),
            ProtectionChange::Antinuke(AntinukeChange::AutoRevert(false)),
            ProtectionChange::Antinuke(AntinukeChange::Whitelist(
                TrustTarget::Role(1_180_000_000_000_000_001),
                true,
            )),
            ProtectionChange::Trust(TrustTarget::User(1_180_000_000_000_000_002), false),
        ];
        for c in changes {
            let code = c.encode();
            assert!(code.len() <= 50, "{code}");
            assert_eq!(ProtectionChange::decode(&code), Some(c));
        }
        for bad in [
            "",
            "en:2",
            "th:DROP TABLE:1:1",
            "qr:0",
            "wl:x:1:1",
            "tr:u:1",
            "zz:1",
        ] {
            assert_eq!(ProtectionChange::decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_inverse_of_a_change_puts_back_what_was_there_before() {
        let before = AntinukeSettings {
            enabled: true,
            punishment: "ban".into(),
            whitelist_user_ids: vec![5],
            ..Default::default()
        };
        let trusted = GuildSettings {
            trusted_role_ids: vec![9],
            ..Default::default()
        };
        let inv = |c: ProtectionChange| c.inverse(&before, &trusted);
        assert_eq!(
            inv(ProtectionChange::Antinuke(AntinukeChange::Enabled(false))),
            ProtectionChange::Antinuke(AntinukeChange::Enabled(true))
        );
        assert_eq!(
            inv(ProtectionChange::Antinuke(AntinukeChange::Punishment(
                "kick".into()
            ))),
            ProtectionChange::Antinuke(AntinukeChange::Punishment("ban".into()))
        );
        assert_eq!(
            inv(ProtectionChange::Antinuke(AntinukeChange::Whitelist(
                TrustTarget::User(6),
                true
            ))),
            ProtectionChange::Antinuke(AntinukeChange::Whitelist(TrustTarget::User(6), false))
        );
        assert_eq!(
            inv(ProtectionChange::Antinuke(AntinukeChange::Whitelist(
                TrustTarget::User(5),
                false
            ))),
            ProtectionChange::Antinuke(AntinukeChange::Whitelist(TrustTarget::User(5), true))
        );
        assert_eq!(
            inv(ProtectionChange::Trust(TrustTarget::Role(9), false)),
            ProtectionChange::Trust(TrustTarget::Role(9), true)
        );
        assert_eq!(
            inv(ProtectionChange::Antinuke(AntinukeChange::Threshold(
                "ban".into(),
                None
            ))),
            ProtectionChange::Antinuke(AntinukeChange::Threshold("ban".into(), None))
        );
    }
}
