//! Purpose: the restore plan and its execution state, without I/O — modes and components, the
//! steps (create / update / delete of roles and channels, one bulk position call per kind,
//! guild settings, one PATCH per member, the final grant of dangerous role permissions), their
//! dependency graph and rate-limit lanes, counts and warnings for the preview, the ETA from
//! Discord's known limits, the plan hash, and the durable progress + id map of a running job.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The plan format this build writes and reads.
pub const PLAN_VERSION: u32 = 1;

/// Permission bits Umbra treats as dangerous: Discord's "elevated" permissions (those that
/// need two-factor authentication for moderators). A restored role gets them only at the very
/// end, after positions and every member's roles are in place.
pub mod perms {
    pub const KICK_MEMBERS: u64 = 1 << 1;
    pub const BAN_MEMBERS: u64 = 1 << 2;
    pub const ADMINISTRATOR: u64 = 1 << 3;
    pub const MANAGE_CHANNELS: u64 = 1 << 4;
    pub const MANAGE_GUILD: u64 = 1 << 5;
    pub const MANAGE_MESSAGES: u64 = 1 << 13;
    pub const MANAGE_ROLES: u64 = 1 << 28;
    pub const MANAGE_WEBHOOKS: u64 = 1 << 29;
    pub const MANAGE_GUILD_EXPRESSIONS: u64 = 1 << 30;
    pub const MANAGE_EVENTS: u64 = 1 << 33;
    pub const MANAGE_THREADS: u64 = 1 << 34;
    pub const MODERATE_MEMBERS: u64 = 1 << 40;
    pub const DANGEROUS: u64 = KICK_MEMBERS
        | BAN_MEMBERS
        | ADMINISTRATOR
        | MANAGE_CHANNELS
        | MANAGE_GUILD
        | MANAGE_MESSAGES
        | MANAGE_ROLES
        | MANAGE_WEBHOOKS
        | MANAGE_GUILD_EXPRESSIONS
        | MANAGE_EVENTS
        | MANAGE_THREADS
        | MODERATE_MEMBERS;
}

/// Discord's limits the ETA is computed from (discord-notes: documented, observed or assumed;
/// the same numbers the emulator uses by default): `(requests, window)` per bucket.
pub mod limits {
    use std::time::Duration;

    pub const ROLE_CREATE: (u32, Duration) = (10, Duration::from_secs(10));
    pub const ROLE_EDIT: (u32, Duration) = (10, Duration::from_secs(10));
    pub const CHANNEL_CREATE: (u32, Duration) = (10, Duration::from_secs(10));
    pub const CHANNEL_EDIT: (u32, Duration) = (5, Duration::from_secs(5));
    pub const MEMBER_EDIT: (u32, Duration) = (10, Duration::from_secs(10));
    pub const GUILD_EDIT: (u32, Duration) = (5, Duration::from_secs(5));
    /// `PUT`/`DELETE /guilds/{g}/bans/{u}` (assumed, as the emulator).
    pub const BAN: (u32, Duration) = (5, Duration::from_secs(5));
    /// Emoji uploads, edits and deletes share a small bucket (assumed, as the emulator).
    pub const EMOJI: (u32, Duration) = (5, Duration::from_secs(5));
    /// Sticker uploads, edits and deletes (assumed, as the emulator).
    pub const STICKER: (u32, Duration) = (5, Duration::from_secs(5));
    /// AutoMod rule creates, edits and deletes (assumed, as the emulator).
    pub const AUTOMOD: (u32, Duration) = (5, Duration::from_secs(5));
    /// Scheduled event creates, edits and deletes (assumed, as the emulator).
    pub const EVENT: (u32, Duration) = (5, Duration::from_secs(5));
    /// `POST /channels/{c}/webhooks` (assumed, as the emulator; edits and deletes are fewer).
    pub const WEBHOOK: (u32, Duration) = (5, Duration::from_secs(5));
    /// `POST /webhooks/{w}/{token}`, per webhook (observed, as the emulator): a channel's
    /// replayed messages.
    pub const WEBHOOK_EXECUTE: (u32, Duration) = (5, Duration::from_secs(2));
    /// `POST /channels/{c}/threads`, per parent channel (assumed, as the emulator).
    pub const THREAD_CREATE: (u32, Duration) = (5, Duration::from_secs(5));
    pub const GLOBAL_PER_SECOND: u32 = 50;
    /// Observed: about 250 role creations per guild per 48 hours.
    pub const ROLE_CREATE_BUDGET: usize = 250;
    pub const MAX_ROLES: usize = 250;
    pub const MAX_CHANNELS: usize = 500;
    pub const MAX_PER_CATEGORY: usize = 50;
}

/// merge: create what is missing and fix what changed, delete nothing; mirror: also delete
/// what the snapshot lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Merge,
    Mirror,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Merge => "merge",
            Mode::Mirror => "mirror",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "merge" => Some(Mode::Merge),
            "mirror" => Some(Mode::Mirror),
            _ => None,
        }
    }
}

/// What a restore touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Component {
    Roles,
    Channels,
    Settings,
    Members,
    /// Bans: who is missing is banned again; in mirror mode, who was not banned then is
    /// unbanned. Only from snapshots that know the ban list (format v2).
    Bans,
    /// Custom emojis (name, roles, image): re-uploaded from the snapshot's images.
    Emojis,
    /// Guild stickers (name, description, tags, file): re-uploaded from the snapshot.
    Stickers,
    /// AutoMod rules (trigger, actions, exempt roles and channels mapped to the restored ones).
    /// Only from snapshots that know the rules (format v2, read with Manage Server).
    #[serde(rename = "automod")]
    AutoMod,
    /// Threads and forum posts (name, tags, starter message, archive state, lock), in their
    /// restored channels. Only from snapshots that know them (format v2).
    Threads,
    /// The welcome screen (description and channels, mapped to the restored ones).
    Welcome,
    /// The onboarding (prompts, their options' roles and channels, default channels; mapped
    /// to the restored ones).
    Onboarding,
    /// Channel webhooks people made (name, avatar, channel): made again get new URLs, which
    /// the report lists.
    Webhooks,
    /// Scheduled events still to come (name, description, times, channel or location); past,
    /// active and finished ones are left alone.
    Events,
    /// Kept messages (`/backup messages`), posted again in order through a webhook with their
    /// authors' names and avatars — only in channels the restore makes again (a channel that
    /// survived still has its own).
    Messages,
    /// Members who left but linked their account are added back (`/members pull`). Never part
    /// of "all": a restore does not add people unless asked.
    Pull,
}

impl Component {
    pub const ALL: [Component; 14] = [
        Component::Roles,
        Component::Channels,
        Component::Settings,
        Component::Members,
        Component::Bans,
        Component::Emojis,
        Component::Stickers,
        Component::AutoMod,
        Component::Threads,
        Component::Events,
        Component::Welcome,
        Component::Onboarding,
        Component::Webhooks,
        Component::Messages,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Component::Roles => "roles",
            Component::Channels => "channels",
            Component::Settings => "settings",
            Component::Members => "members",
            Component::Bans => "bans",
            Component::Emojis => "emojis",
            Component::Stickers => "stickers",
            Component::AutoMod => "automod",
            Component::Threads => "threads",
            Component::Events => "events",
            Component::Welcome => "welcome",
            Component::Onboarding => "onboarding",
            Component::Webhooks => "webhooks",
            Component::Messages => "messages",
            Component::Pull => "pull",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .chain([Component::Pull])
            .find(|c| c.as_str() == s)
    }
}

/// A set of components (never empty).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Components(BTreeSet<Component>);

impl Components {
    pub fn all() -> Self {
        Self(Component::ALL.into_iter().collect())
    }

    pub fn of(list: &[Component]) -> Option<Self> {
        (!list.is_empty()).then(|| Self(list.iter().copied().collect()))
    }

    /// Parses `roles, channels`, `all`, `roles+members`... `None` when empty or unknown.
    pub fn parse(input: &str) -> Option<Self> {
        let mut set = BTreeSet::new();
        for word in input
            .split(|c: char| c == ',' || c == '+' || c.is_whitespace())
            .map(|w| w.trim().to_ascii_lowercase())
            .filter(|w| !w.is_empty())
        {
            match word.as_str() {
                "all" => set.extend(Component::ALL),
                "structure" => {
                    set.extend([Component::Roles, Component::Channels, Component::Settings])
                }
                w => {
                    set.insert(Component::parse(w)?);
                }
            }
        }
        (!set.is_empty()).then_some(Self(set))
    }

    pub fn has(&self, c: Component) -> bool {
        self.0.contains(&c)
    }

    pub fn names(&self) -> Vec<String> {
        self.0.iter().map(|c| c.as_str().to_owned()).collect()
    }

    pub fn from_names(names: &[String]) -> Option<Self> {
        let list: Option<Vec<Component>> = names.iter().map(|n| Component::parse(n)).collect();
        Self::of(&list?)
    }
}

/// Only these objects (AntiNuke: what an incident destroyed). Role and channel ids are the
/// snapshot's original ids, or live ids of objects the snapshot lacks (mirror deletes).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    pub roles: BTreeSet<u64>,
    pub channels: BTreeSet<u64>,
    pub members: BTreeSet<u64>,
    /// Users whose ban state is made the snapshot's (banned by the attacker: unbanned; unbanned
    /// by the attacker: banned again).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub bans: BTreeSet<u64>,
    /// Emojis (original ids; live ids of those the snapshot lacks).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub emojis: BTreeSet<u64>,
    /// Stickers (original ids; live ids of those the snapshot lacks).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub stickers: BTreeSet<u64>,
    /// AutoMod rules (original ids; live ids of those the snapshot lacks).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub automod: BTreeSet<u64>,
    /// Webhooks (original ids; live ids of those the snapshot lacks). The webhooks of a
    /// channel in `channels` are in scope too.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub webhooks: BTreeSet<u64>,
    /// Threads (original ids; live ids of those the snapshot lacks). The threads of a channel
    /// in `channels` are in scope too.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub threads: BTreeSet<u64>,
}

/// A reference to a role or channel: `L` = the snapshot's local id (resolved through the id
/// map: matched at plan time or created by the job), `D` = a live Discord id the snapshot
/// does not know (kept as is).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Ref {
    L(u32),
    D(#[serde(with = "snowflake")] u64),
}

/// Snowflakes as strings (JSON numbers lose precision beyond 2^53).
pub(crate) mod snowflake {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(id: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&id.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let text = String::deserialize(d)?;
        text.parse::<u64>()
            .map_err(|_| serde::de::Error::custom(format!("`{text}` is not a snowflake")))
    }
}

/// Permission sets as strings.
pub(crate) mod bits {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let text = String::deserialize(d)?;
        text.parse::<u64>()
            .map_err(|_| serde::de::Error::custom(format!("`{text}` is not a permission set")))
    }

    pub mod option {
        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
            match v {
                Some(v) => s.serialize_some(&v.to_string()),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
            Option::<String>::deserialize(d)?
                .map(|t| {
                    t.parse::<u64>().map_err(|_| {
                        serde::de::Error::custom(format!("`{t}` is not a permission set"))
                    })
                })
                .transpose()
        }
    }
}

/// Who an overwrite applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum OverwriteFor {
    Role(Ref),
    Member(#[serde(with = "snowflake")] u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OverwriteSpec {
    pub target: OverwriteFor,
    #[serde(with = "bits")]
    pub allow: u64,
    #[serde(with = "bits")]
    pub deny: u64,
}

/// A role's fields (a create carries all, an update only the changed ones).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleFields {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub color: Option<i32>,
    /// Gradient colours (`Some(None)`: clear).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub secondary_color: Option<Option<i32>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tertiary_color: Option<Option<i32>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub hoist: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub mentionable: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub unicode_emoji: Option<Option<String>>,
    /// Without dangerous bits (those come with the final grant).
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        with = "bits::option"
    )]
    pub permissions: Option<u64>,
    /// The role icon as a data URI (`Some(None)`: removed).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub icon: Option<Option<String>>,
}

impl RoleFields {
    pub fn is_empty(&self) -> bool {
        *self == RoleFields::default()
    }
}

/// A channel's fields (a create carries all that are set, an update only the changed ones).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChannelFields {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub kind: Option<i16>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub topic: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub nsfw: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub rate_limit_per_user: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub bitrate: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub user_limit: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub rtc_region: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub video_quality_mode: Option<i16>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub default_auto_archive_duration: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub default_thread_rate_limit_per_user: Option<i32>,
    /// Forum/media tags as `{name, moderated, emoji_id, emoji_name}` objects.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub available_tags: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub default_reaction_emoji: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub default_sort_order: Option<i16>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub default_forum_layout: Option<i16>,
    /// The full overwrite list (replaces the channel's).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub overwrites: Option<Vec<OverwriteSpec>>,
}

impl ChannelFields {
    pub fn is_empty(&self) -> bool {
        *self == ChannelFields::default()
    }
}

/// Guild settings to change (channel references resolved at execution).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsFields {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub description: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub verification_level: Option<i16>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub default_message_notifications: Option<i16>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub explicit_content_filter: Option<i16>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub afk_channel: Option<Option<Ref>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub afk_timeout: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub system_channel: Option<Option<Ref>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub system_channel_flags: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub rules_channel: Option<Option<Ref>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub public_updates_channel: Option<Option<Ref>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub safety_alerts_channel: Option<Option<Ref>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub preferred_locale: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub premium_progress_bar_enabled: Option<bool>,
    /// Pictures as data URIs (`Some(None)`: removed).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub icon: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub banner: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub splash: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub discovery_splash: Option<Option<String>>,
}

impl SettingsFields {
    pub fn is_empty(&self) -> bool {
        *self == SettingsFields::default()
    }

    /// The channel references (for dependencies).
    pub fn channel_refs(&self) -> Vec<Ref> {
        [
            self.afk_channel,
            self.system_channel,
            self.rules_channel,
            self.public_updates_channel,
            self.safety_alerts_channel,
        ]
        .into_iter()
        .flatten()
        .flatten()
        .collect()
    }
}

/// One Discord call (or one bulk call) of a restore.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Action {
    RoleCreate {
        role: u32,
        fields: RoleFields,
    },
    RoleUpdate {
        role: u32,
        #[serde(with = "snowflake")]
        live: u64,
        fields: RoleFields,
    },
    RoleDelete {
        #[serde(with = "snowflake")]
        live: u64,
        name: String,
    },
    /// Every manageable role, bottom to top: positions 1..n in one call.
    RolePositions {
        order: Vec<Ref>,
    },
    /// The role's final permissions, dangerous bits included: the very last steps.
    RoleGrant {
        role: u32,
        #[serde(with = "bits")]
        permissions: u64,
    },
    ChannelCreate {
        channel: u32,
        parent: Option<Ref>,
        position: i32,
        fields: ChannelFields,
    },
    ChannelUpdate {
        channel: u32,
        #[serde(with = "snowflake")]
        live: u64,
        fields: ChannelFields,
    },
    ChannelDelete {
        #[serde(with = "snowflake")]
        live: u64,
        name: String,
    },
    /// Surviving channels whose position or parent changed, in one call.
    ChannelPositions {
        items: Vec<ChannelPosition>,
    },
    Settings {
        fields: SettingsFields,
    },
    /// A member's whole role list and nickname in one PATCH. With `add` (a member pull: the
    /// member left but linked their account), one `PUT` with their grant adds them back with
    /// the roles and nickname (a member already there gets the PATCH instead).
    Member {
        #[serde(with = "snowflake")]
        user: u64,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        roles: Option<Vec<Ref>>,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        nick: Option<Option<String>>,
        #[serde(skip_serializing_if = "std::ops::Not::not", default)]
        add: bool,
    },
    /// `PUT /guilds/{g}/bans/{u}` with the snapshot's reason.
    Ban {
        #[serde(with = "snowflake")]
        user: u64,
        name: String,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        reason: Option<String>,
    },
    /// `DELETE /guilds/{g}/bans/{u}` (mirror: not banned in the snapshot).
    Unban {
        #[serde(with = "snowflake")]
        user: u64,
        name: String,
    },
    /// `POST /guilds/{g}/emojis` with the snapshot's image (a data URI).
    EmojiCreate {
        #[serde(with = "snowflake")]
        emoji: u64,
        name: String,
        roles: Vec<Ref>,
        image: String,
    },
    /// `PATCH /guilds/{g}/emojis/{e}`: name and allowed roles.
    EmojiUpdate {
        #[serde(with = "snowflake")]
        live: u64,
        name: String,
        roles: Vec<Ref>,
    },
    /// `DELETE /guilds/{g}/emojis/{e}` (mirror).
    EmojiDelete {
        #[serde(with = "snowflake")]
        live: u64,
        name: String,
    },
    /// `POST /guilds/{g}/stickers` (multipart) with the snapshot's file (base64).
    StickerCreate {
        #[serde(with = "snowflake")]
        sticker: u64,
        name: String,
        description: Option<String>,
        tags: String,
        format_type: i16,
        file: String,
    },
    /// `PATCH /guilds/{g}/stickers/{s}`: name, description, tags.
    StickerUpdate {
        #[serde(with = "snowflake")]
        live: u64,
        name: String,
        description: Option<String>,
        tags: String,
    },
    /// `DELETE /guilds/{g}/stickers/{s}` (mirror).
    StickerDelete {
        #[serde(with = "snowflake")]
        live: u64,
        name: String,
    },
    /// `POST /guilds/{g}/auto-moderation/rules`.
    AutoModCreate {
        #[serde(with = "snowflake")]
        rule: u64,
        name: String,
        body: AutoModBody,
    },
    /// `PATCH /guilds/{g}/auto-moderation/rules/{r}`: everything but the trigger type.
    AutoModUpdate {
        #[serde(with = "snowflake")]
        live: u64,
        name: String,
        body: AutoModBody,
    },
    /// `DELETE /guilds/{g}/auto-moderation/rules/{r}` (mirror).
    AutoModDelete {
        #[serde(with = "snowflake")]
        live: u64,
        name: String,
    },
    /// `POST /channels/{parent}/threads` (a forum post with its starter message), then one
    /// `PATCH` for its archive state, lock and pin when it has any.
    ThreadCreate {
        #[serde(with = "snowflake")]
        thread: u64,
        parent: Ref,
        /// In a forum or media channel: a post.
        post: bool,
        name: String,
        fields: ThreadFields,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        starter: Option<String>,
    },
    /// `PATCH /channels/{t}`; `reopen`: the thread is archived now, so the change unarchives
    /// it and a second `PATCH` archives it again when it should be.
    ThreadEdit {
        #[serde(with = "snowflake")]
        live: u64,
        parent: Ref,
        name: String,
        fields: ThreadFields,
        reopen: bool,
    },
    /// `DELETE /channels/{t}` (mirror).
    ThreadDelete {
        #[serde(with = "snowflake")]
        live: u64,
        name: String,
    },
    /// `PATCH /guilds/{g}/welcome-screen`: the whole screen.
    WelcomeScreen {
        enabled: bool,
        description: Option<String>,
        /// (channel, description, emoji name).
        channels: Vec<(Ref, String, Option<String>)>,
    },
    /// `POST /channels/{c}/webhooks` (a new URL: the report lists it).
    WebhookCreate {
        #[serde(with = "snowflake")]
        webhook: u64,
        name: String,
        channel: Ref,
        /// A data URI.
        avatar: Option<String>,
    },
    /// `PATCH /webhooks/{w}`: name, channel and (when it changed) avatar.
    WebhookUpdate {
        #[serde(with = "snowflake")]
        live: u64,
        name: String,
        channel: Ref,
        /// `None`: unchanged; `Some(None)`: removed; `Some(Some(data URI))`: set.
        avatar: Option<Option<String>>,
    },
    /// `DELETE /webhooks/{w}` (mirror).
    WebhookDelete {
        #[serde(with = "snowflake")]
        live: u64,
        name: String,
    },
    /// One kept message posted again as its author through the channel's replay webhook
    /// (`POST /webhooks/{w}/{token}?wait=true`; the webhook is made by the channel's first
    /// message and found again by name after a restart), then pinned when it was. A channel's
    /// messages go one after the other, in their order.
    MessageReplay {
        channel: Ref,
        #[serde(with = "snowflake")]
        original: u64,
        author: String,
        avatar: String,
        content: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        embeds: Vec<serde_json::Value>,
        /// (file name, base64 bytes).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        files: Vec<(String, String)>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        pinned: bool,
    },
    /// `DELETE /webhooks/{w}`: the channel's replay webhook, once its messages are posted.
    ReplayEnd {
        channel: Ref,
    },
    /// `PUT /guilds/{g}/onboarding`: the whole onboarding.
    Onboarding {
        onboarding: crate::recovery::sync::model::Onboarding<Ref>,
    },
    /// `POST /guilds/{g}/scheduled-events`.
    EventCreate {
        #[serde(with = "snowflake")]
        event: u64,
        name: String,
        fields: EventFields,
    },
    /// `PATCH /guilds/{g}/scheduled-events/{e}`.
    EventUpdate {
        #[serde(with = "snowflake")]
        live: u64,
        name: String,
        fields: EventFields,
    },
    /// `DELETE /guilds/{g}/scheduled-events/{e}` (mirror).
    EventDelete {
        #[serde(with = "snowflake")]
        live: u64,
        name: String,
    },
}

/// What a scheduled event is made of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventFields {
    /// The cover image: `None` left as it is, `Some(None)` removed, `Some(Some(data URI))`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<Option<String>>,
    pub description: Option<String>,
    pub start: chrono::DateTime<chrono::Utc>,
    pub end: Option<chrono::DateTime<chrono::Utc>>,
    pub entity_type: i16,
    pub channel: Option<Ref>,
    pub location: Option<String>,
}

/// What a thread is made of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadFields {
    /// 10 announcement, 11 public, 12 private.
    pub kind: i16,
    pub archived: bool,
    pub locked: bool,
    pub auto_archive_duration: i32,
    pub invitable: bool,
    pub rate_limit_per_user: i32,
    pub pinned: bool,
    /// Tag names of the parent forum.
    pub tags: Vec<String>,
}

/// What an AutoMod rule is made of, its roles and channels as references.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutoModBody {
    pub event_type: i16,
    pub trigger_type: i16,
    pub trigger_metadata: serde_json::Value,
    pub actions: Vec<AutoModActionSpec>,
    pub enabled: bool,
    pub exempt_roles: Vec<Ref>,
    pub exempt_channels: Vec<Ref>,
}

/// One action of a rule: its kind, its metadata, and an alert's channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutoModActionSpec {
    pub kind: i16,
    pub metadata: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub channel: Option<Ref>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelPosition {
    pub channel: Ref,
    pub position: i32,
    pub parent: Option<Ref>,
}

/// What kind of object a step is about (counts, reports).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Role,
    Channel,
    Settings,
    Member,
    Ban,
    Emoji,
    Sticker,
    #[serde(rename = "automod")]
    AutoMod,
    Thread,
    Event,
    Welcome,
    Onboarding,
    Webhook,
    Message,
}

/// The rate-limit lane a step runs in: one per bucket as serenity keys them (route kind +
/// major id, no method), so calls of one lane share one bucket and lanes run concurrently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Lane {
    /// `POST` and bulk `PATCH /guilds/{g}/roles`.
    Roles,
    /// `PATCH`/`DELETE /guilds/{g}/roles/{r}`.
    RoleEdits,
    /// `POST` and bulk `PATCH /guilds/{g}/channels`.
    Channels,
    /// `PATCH`/`DELETE /channels/{c}`: one bucket per channel.
    Channel(u64),
    /// `PATCH /guilds/{g}/members/{u}`.
    Members,
    /// `PATCH /guilds/{g}`.
    Guild,
    /// `PUT`/`DELETE /guilds/{g}/bans/{u}`.
    Bans,
    /// `POST /guilds/{g}/emojis`, `PATCH`/`DELETE /guilds/{g}/emojis/{e}`.
    Emojis,
    /// `POST /guilds/{g}/stickers`, `PATCH`/`DELETE /guilds/{g}/stickers/{s}`.
    Stickers,
    /// `POST /guilds/{g}/auto-moderation/rules`, `PATCH`/`DELETE` of one rule.
    AutoMod,
    /// `POST /channels/{c}/threads` (thread edits and deletes go by `Channel`).
    Threads,
    /// `POST /guilds/{g}/scheduled-events`, `PATCH`/`DELETE` of one event.
    Events,
    /// `POST /channels/{c}/webhooks`, `PATCH`/`DELETE /webhooks/{w}` (few: one lane).
    Webhooks,
    /// A channel's replay webhook (its executions: one bucket per webhook), in message order.
    Replay(Ref),
}

pub type StepId = u32;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub id: StepId,
    #[serde(flatten)]
    pub action: Action,
}

impl Step {
    pub fn kind(&self) -> Kind {
        match &self.action {
            Action::RoleCreate { .. }
            | Action::RoleUpdate { .. }
            | Action::RoleDelete { .. }
            | Action::RolePositions { .. }
            | Action::RoleGrant { .. } => Kind::Role,
            Action::ChannelCreate { .. }
            | Action::ChannelUpdate { .. }
            | Action::ChannelDelete { .. }
            | Action::ChannelPositions { .. } => Kind::Channel,
            Action::Settings { .. } => Kind::Settings,
            Action::Member { .. } => Kind::Member,
            Action::Ban { .. } | Action::Unban { .. } => Kind::Ban,
            Action::EmojiCreate { .. }
            | Action::EmojiUpdate { .. }
            | Action::EmojiDelete { .. } => Kind::Emoji,
            Action::StickerCreate { .. }
            | Action::StickerUpdate { .. }
            | Action::StickerDelete { .. } => Kind::Sticker,
            Action::AutoModCreate { .. }
            | Action::AutoModUpdate { .. }
            | Action::AutoModDelete { .. } => Kind::AutoMod,
            Action::ThreadCreate { .. }
            | Action::ThreadEdit { .. }
            | Action::ThreadDelete { .. } => Kind::Thread,
            Action::EventCreate { .. }
            | Action::EventUpdate { .. }
            | Action::EventDelete { .. } => Kind::Event,
            Action::WelcomeScreen { .. } => Kind::Welcome,
            Action::Onboarding { .. } => Kind::Onboarding,
            Action::WebhookCreate { .. }
            | Action::WebhookUpdate { .. }
            | Action::WebhookDelete { .. } => Kind::Webhook,
            Action::MessageReplay { .. } | Action::ReplayEnd { .. } => Kind::Message,
        }
    }

    pub fn lane(&self) -> Lane {
        match &self.action {
            Action::RoleCreate { .. } | Action::RolePositions { .. } => Lane::Roles,
            Action::RoleUpdate { .. } | Action::RoleDelete { .. } | Action::RoleGrant { .. } => {
                Lane::RoleEdits
            }
            Action::ChannelCreate { .. } | Action::ChannelPositions { .. } => Lane::Channels,
            Action::ChannelUpdate { live, .. } | Action::ChannelDelete { live, .. } => {
                Lane::Channel(*live)
            }
            Action::Settings { .. } => Lane::Guild,
            Action::Member { .. } => Lane::Members,
            Action::Ban { .. } | Action::Unban { .. } => Lane::Bans,
            Action::EmojiCreate { .. }
            | Action::EmojiUpdate { .. }
            | Action::EmojiDelete { .. } => Lane::Emojis,
            Action::StickerCreate { .. }
            | Action::StickerUpdate { .. }
            | Action::StickerDelete { .. } => Lane::Stickers,
            Action::AutoModCreate { .. }
            | Action::AutoModUpdate { .. }
            | Action::AutoModDelete { .. } => Lane::AutoMod,
            Action::ThreadCreate { .. } => Lane::Threads,
            Action::ThreadEdit { live, .. } | Action::ThreadDelete { live, .. } => {
                Lane::Channel(*live)
            }
            Action::EventCreate { .. }
            | Action::EventUpdate { .. }
            | Action::EventDelete { .. } => Lane::Events,
            // Their own buckets, one call each: beside the guild's.
            Action::WelcomeScreen { .. } | Action::Onboarding { .. } => Lane::Guild,
            Action::WebhookCreate { .. }
            | Action::WebhookUpdate { .. }
            | Action::WebhookDelete { .. } => Lane::Webhooks,
            Action::MessageReplay { channel, .. } | Action::ReplayEnd { channel } => {
                Lane::Replay(*channel)
            }
        }
    }

    /// Whether the step creates an object (its result must reach the id map).
    pub fn creates(&self) -> bool {
        matches!(
            self.action,
            Action::RoleCreate { .. } | Action::ChannelCreate { .. }
        )
    }

    /// Whether the step adds a member back (recorded at once: never sent twice).
    pub fn adds_member(&self) -> bool {
        matches!(self.action, Action::Member { add: true, .. })
    }

    /// Whether the step must be marked as being sent before it is (a member add, an emoji
    /// upload): after a crash it is looked up instead of sent again.
    pub fn write_ahead(&self) -> bool {
        self.adds_member()
            || matches!(
                self.action,
                Action::EmojiCreate { .. }
                    | Action::StickerCreate { .. }
                    | Action::AutoModCreate { .. }
                    | Action::ThreadCreate { .. }
                    | Action::EventCreate { .. }
                    | Action::WebhookCreate { .. }
                    | Action::MessageReplay { .. }
            )
    }

    /// The role and channel references the step's body needs resolved.
    fn refs(&self) -> (Vec<Ref>, Vec<Ref>) {
        let mut roles = Vec::new();
        let mut channels = Vec::new();
        let overwrites = |ows: &Option<Vec<OverwriteSpec>>, roles: &mut Vec<Ref>| {
            for o in ows.iter().flatten() {
                if let OverwriteFor::Role(r) = o.target {
                    roles.push(r);
                }
            }
        };
        match &self.action {
            Action::ChannelCreate { parent, fields, .. } => {
                channels.extend(*parent);
                overwrites(&fields.overwrites, &mut roles);
            }
            Action::ChannelUpdate { fields, .. } => overwrites(&fields.overwrites, &mut roles),
            Action::ChannelPositions { items } => {
                for i in items {
                    channels.push(i.channel);
                    channels.extend(i.parent);
                }
            }
            Action::Settings { fields } => channels.extend(fields.channel_refs()),
            Action::Member { roles: Some(r), .. } => roles.extend(r.iter().copied()),
            Action::EmojiCreate { roles: r, .. } | Action::EmojiUpdate { roles: r, .. } => {
                roles.extend(r.iter().copied())
            }
            Action::RolePositions { order } => roles.extend(order.iter().copied()),
            Action::ThreadCreate { parent, .. } | Action::ThreadEdit { parent, .. } => {
                channels.push(*parent)
            }
            Action::EventCreate { fields, .. } | Action::EventUpdate { fields, .. } => {
                channels.extend(fields.channel)
            }
            Action::WelcomeScreen { channels: c, .. } => {
                channels.extend(c.iter().map(|(r, ..)| *r))
            }
            Action::Onboarding { onboarding } => {
                let (r, c) = onboarding.ids();
                roles.extend(r);
                channels.extend(c);
            }
            Action::WebhookCreate { channel, .. }
            | Action::WebhookUpdate { channel, .. }
            | Action::MessageReplay { channel, .. }
            | Action::ReplayEnd { channel } => channels.push(*channel),
            Action::AutoModCreate { body, .. } | Action::AutoModUpdate { body, .. } => {
                roles.extend(body.exempt_roles.iter().copied());
                channels.extend(body.exempt_channels.iter().copied());
                channels.extend(body.actions.iter().filter_map(|a| a.channel));
            }
            _ => {}
        }
        (roles, channels)
    }
}

/// A planned object that will not be restored, and why (shown in the preview and the report).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    pub kind: Kind,
    pub name: String,
    pub reason: SkipReason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// At or above Umbra's highest role: Discord does not let the bot manage it.
    AboveBot,
    /// Managed by a bot or integration: never created, only mapped.
    Managed,
    /// The member is no longer in the server.
    NotInServer,
    /// The plan's member restore limit.
    PlanLimit,
    /// The guild owner (nobody can change the owner's roles or nickname but the owner).
    Owner,
    /// Discord's caps (250 roles, 500 channels, 50 per category).
    Cap,
    /// Not something a bot can set (icon, banner, features, 2FA level...).
    NotRestorable,
    /// Refers to something the restore does not create (another component, or skipped).
    MissingTarget,
    /// The punished attacker of an open AntiNuke incident: their punishment stays.
    Punished,
    /// The rules or public-updates channel of a community server: Discord refuses to delete
    /// it (50074).
    CommunityChannel,
}

impl SkipReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::AboveBot => "above_bot",
            SkipReason::Managed => "managed",
            SkipReason::NotInServer => "not_in_server",
            SkipReason::PlanLimit => "plan_limit",
            SkipReason::Owner => "owner",
            SkipReason::Cap => "cap",
            SkipReason::NotRestorable => "not_restorable",
            SkipReason::MissingTarget => "missing_target",
            SkipReason::Punished => "punished",
            SkipReason::CommunityChannel => "community_channel",
        }
    }
}

/// Preview warnings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Warning {
    /// Objects at or above the bot's highest role (skipped).
    AboveBot { count: usize, names: Vec<String> },
    /// More role creations than Discord's observed budget (~250 per 48 h).
    RoleBudget { creates: usize, budget: usize },
    /// Managed (bot/integration) roles are mapped, never created.
    Managed { count: usize, names: Vec<String> },
    /// The result would exceed a Discord cap.
    Cap {
        what: String,
        total: usize,
        max: usize,
    },
    /// Members of the snapshot who are no longer in the server.
    NotInServer { count: usize },
    /// The plan's member restore limit cuts the member steps.
    MemberLimit { limit: u32, skipped: usize },
    /// Settings a bot cannot restore.
    NotRestorable { fields: Vec<String> },
    /// The snapshot was taken in another server (imported): objects match by name.
    ForeignSnapshot,
    /// Permission overwrites or member roles that refer to something not restored.
    MissingTargets { count: usize },
    /// Punished attackers of open AntiNuke incidents, left as they are.
    Punished { count: usize, names: Vec<String> },
    /// Bans are left as they are: the snapshot (`snapshot: false`, taken before Umbra knew
    /// the ban list) or the mirror (`snapshot: true`: the ban list is not loaded yet) lacks
    /// them.
    BansUnknown { snapshot: bool },
    /// AutoMod rules are left as they are: the snapshot (`snapshot: false`) or the mirror
    /// (`snapshot: true`) does not know them (they need Manage Server to be read).
    AutoModUnknown { snapshot: bool },
    /// Role icons the snapshot could not keep (the roles' names): left as they are.
    PicturesMissing { names: Vec<String> },
    /// Emojis whose image the snapshot could not keep: not re-created.
    EmojiImages { count: usize, names: Vec<String> },
}

/// What a restore would do that an attacker could abuse (listed by name in the preview; a
/// restore with grants needs the owner's approval unless the owner asked for it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Risks {
    /// Roles that would gain a dangerous permission.
    pub roles: Vec<String>,
    /// Members who would receive a role with dangerous permissions: "name (role, role)".
    pub members: Vec<String>,
    /// Channels whose overwrites would allow a dangerous permission.
    pub channels: Vec<String>,
    /// Roles and channels that would be deleted.
    pub deletions: Vec<String>,
    /// Emojis that would be deleted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emoji_deletions: Vec<String>,
    /// Stickers that would be deleted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sticker_deletions: Vec<String>,
    /// AutoMod rules that would be deleted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub automod_deletions: Vec<String>,
    /// Threads that would be deleted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thread_deletions: Vec<String>,
    /// Scheduled events that would be deleted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub event_deletions: Vec<String>,
    /// Webhooks that would be deleted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub webhook_deletions: Vec<String>,
    /// Users who would be unbanned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unbans: Vec<String>,
    /// Members left as they are because they are the punished attacker of an open incident.
    pub punished: Vec<String>,
}

impl Risks {
    /// Whether the restore grants dangerous permissions to anyone.
    pub fn grants(&self) -> bool {
        !self.roles.is_empty() || !self.members.is_empty() || !self.channels.is_empty()
    }

    /// Every grant as one list (roles, then members, then channels).
    pub fn grant_items(&self) -> Vec<String> {
        self.roles
            .iter()
            .chain(&self.members)
            .chain(&self.channels)
            .cloned()
            .collect()
    }
}

/// Per kind and action.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionCounts {
    pub create: usize,
    pub update: usize,
    pub delete: usize,
    pub keep: usize,
    pub skip: usize,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub roles: ActionCounts,
    pub channels: ActionCounts,
    pub settings: ActionCounts,
    pub members: ActionCounts,
    /// create = ban again, delete = unban.
    #[serde(default)]
    pub bans: ActionCounts,
    #[serde(default)]
    pub emojis: ActionCounts,
    #[serde(default)]
    pub stickers: ActionCounts,
    #[serde(default)]
    pub automod: ActionCounts,
    #[serde(default)]
    pub threads: ActionCounts,
    #[serde(default)]
    pub events: ActionCounts,
    #[serde(default)]
    pub welcome: ActionCounts,
    #[serde(default)]
    pub onboarding: ActionCounts,
    #[serde(default)]
    pub webhooks: ActionCounts,
    /// create = posted again; keep = left in a channel that survived; skip = not postable.
    #[serde(default)]
    pub messages: ActionCounts,
    /// Permission overwrites sent inside channel creates and updates.
    pub overwrites: usize,
}

/// One object of the snapshot and its original id (the id map's key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Object {
    pub local: u32,
    #[serde(with = "snowflake")]
    pub original: u64,
    pub name: String,
}

/// A restore plan: what the preview shows and what the runner executes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub version: u32,
    #[serde(with = "snowflake")]
    pub guild_id: u64,
    pub snapshot_id: Uuid,
    #[serde(with = "snowflake")]
    pub snapshot_guild_id: u64,
    pub mode: Mode,
    pub components: Components,
    pub scope: Option<Scope>,
    /// The snapshot's roles and channels (local id, original id, name).
    pub roles: Vec<Object>,
    pub channels: Vec<Object>,
    /// Objects matched to live ones at plan time (local -> live id): the id map's seed.
    pub matched_roles: BTreeMap<u32, String>,
    pub matched_channels: BTreeMap<u32, String>,
    pub steps: Vec<Step>,
    pub counts: Counts,
    pub warnings: Vec<Warning>,
    pub skipped: Vec<Skipped>,
    /// What the owner must see before a restore runs: dangerous grants and deletions.
    #[serde(default)]
    pub risks: Risks,
    /// Role creates must wait for deletes (the result would exceed the role cap otherwise).
    pub roles_delete_first: bool,
    pub channels_delete_first: bool,
    pub eta_seconds: u64,
}

impl Plan {
    /// SHA-256 of the plan's canonical JSON (deterministic: same inputs, same bytes).
    pub fn hash(&self) -> Result<[u8; 32], serde_json::Error> {
        Ok(Sha256::digest(serde_json::to_vec(self)?).into())
    }

    pub fn total_steps(&self) -> usize {
        self.steps.len()
    }

    /// For every step, the steps that must finish first.
    pub fn dependencies(&self) -> Vec<Vec<StepId>> {
        let mut role_create: HashMap<u32, StepId> = HashMap::new();
        let mut channel_create: HashMap<u32, StepId> = HashMap::new();
        let mut role_update: HashMap<u32, StepId> = HashMap::new();
        let mut all_role_creates = Vec::new();
        let mut all_role_deletes = Vec::new();
        let mut all_channel_writes = Vec::new();
        let mut all_channel_deletes = Vec::new();
        let mut members = Vec::new();
        let mut role_positions = None;
        // A channel's replayed messages (and its replay's end) wait for the one before.
        let mut previous_replay: HashMap<StepId, StepId> = HashMap::new();
        let mut last_replay: HashMap<Ref, StepId> = HashMap::new();
        for s in &self.steps {
            if let Action::MessageReplay { channel, .. } | Action::ReplayEnd { channel } = &s.action
                && let Some(before) = last_replay.insert(*channel, s.id)
            {
                previous_replay.insert(s.id, before);
            }
            match &s.action {
                Action::RoleCreate { role, .. } => {
                    role_create.insert(*role, s.id);
                    all_role_creates.push(s.id);
                }
                Action::RoleUpdate { role, .. } => {
                    role_update.insert(*role, s.id);
                }
                Action::RoleDelete { .. } => all_role_deletes.push(s.id),
                Action::ChannelCreate { channel, .. } => {
                    channel_create.insert(*channel, s.id);
                    all_channel_writes.push(s.id);
                }
                Action::ChannelUpdate { .. } => all_channel_writes.push(s.id),
                Action::ChannelDelete { .. } => all_channel_deletes.push(s.id),
                Action::Member { .. } => members.push(s.id),
                Action::RolePositions { .. } => role_positions = Some(s.id),
                _ => {}
            }
        }
        self.steps
            .iter()
            .map(|s| {
                let mut deps: BTreeSet<StepId> = BTreeSet::new();
                let (roles, channels) = s.refs();
                for r in roles {
                    if let Ref::L(l) = r
                        && let Some(id) = role_create.get(&l)
                    {
                        deps.insert(*id);
                    }
                }
                for c in channels {
                    if let Ref::L(l) = c
                        && let Some(id) = channel_create.get(&l)
                    {
                        deps.insert(*id);
                    }
                }
                match &s.action {
                    Action::RoleCreate { .. } if self.roles_delete_first => {
                        deps.extend(&all_role_deletes)
                    }
                    Action::ChannelCreate { .. } if self.channels_delete_first => {
                        deps.extend(&all_channel_deletes)
                    }
                    Action::RolePositions { .. } => {
                        deps.extend(&all_role_creates);
                        deps.extend(&all_role_deletes);
                    }
                    Action::ChannelPositions { .. } => {
                        deps.extend(&all_channel_writes);
                        deps.extend(&all_channel_deletes);
                    }
                    Action::RoleGrant { role, .. } => {
                        deps.extend(role_create.get(role));
                        deps.extend(role_update.get(role));
                        deps.extend(role_positions);
                        deps.extend(&members);
                        deps.extend(&all_channel_writes);
                    }
                    Action::MessageReplay { .. } | Action::ReplayEnd { .. } => {
                        deps.extend(previous_replay.get(&s.id))
                    }
                    _ => {}
                }
                deps.remove(&s.id);
                deps.into_iter().collect()
            })
            .collect()
    }

    /// The snapshot object of a local role id.
    pub fn role(&self, local: u32) -> Option<&Object> {
        self.roles.iter().find(|o| o.local == local)
    }

    pub fn channel(&self, local: u32) -> Option<&Object> {
        self.channels.iter().find(|o| o.local == local)
    }

    /// A step's object name for reports.
    pub fn describe(&self, step: &Step) -> (Kind, String) {
        let role = |l: &u32| {
            self.role(*l)
                .map_or_else(|| format!("role {l}"), |o| o.name.clone())
        };
        let channel = |l: &u32| {
            self.channel(*l)
                .map_or_else(|| format!("channel {l}"), |o| o.name.clone())
        };
        let name = match &step.action {
            Action::RoleCreate { role: l, .. }
            | Action::RoleUpdate { role: l, .. }
            | Action::RoleGrant { role: l, .. } => role(l),
            Action::RoleDelete { name, .. } | Action::ChannelDelete { name, .. } => name.clone(),
            Action::RolePositions { .. } => "role positions".into(),
            Action::ChannelCreate { channel: l, .. } | Action::ChannelUpdate { channel: l, .. } => {
                channel(l)
            }
            Action::ChannelPositions { .. } => "channel positions".into(),
            Action::Settings { .. } => "server settings".into(),
            Action::Member { user, .. } => format!("<@{user}>"),
            Action::Ban { name, .. } | Action::Unban { name, .. } => name.clone(),
            Action::EmojiCreate { name, .. }
            | Action::EmojiUpdate { name, .. }
            | Action::EmojiDelete { name, .. } => format!(":{name}:"),
            Action::StickerCreate { name, .. }
            | Action::StickerUpdate { name, .. }
            | Action::StickerDelete { name, .. } => format!("sticker {name}"),
            Action::AutoModCreate { name, .. }
            | Action::AutoModUpdate { name, .. }
            | Action::AutoModDelete { name, .. } => format!("AutoMod rule {name}"),
            Action::ThreadCreate { name, .. }
            | Action::ThreadEdit { name, .. }
            | Action::ThreadDelete { name, .. } => format!("thread {name}"),
            Action::EventCreate { name, .. }
            | Action::EventUpdate { name, .. }
            | Action::EventDelete { name, .. } => format!("event {name}"),
            Action::WelcomeScreen { .. } => "welcome screen".into(),
            Action::Onboarding { .. } => "onboarding".into(),
            Action::WebhookCreate { name, .. }
            | Action::WebhookUpdate { name, .. }
            | Action::WebhookDelete { name, .. } => format!("webhook {name}"),
            Action::MessageReplay {
                channel: c, author, ..
            } => match c {
                Ref::L(l) => format!("message by {author} in #{}", channel(l)),
                Ref::D(d) => format!("message by {author} in <#{d}>"),
            },
            Action::ReplayEnd { channel: c } => match c {
                Ref::L(l) => format!("replay webhook of #{}", channel(l)),
                Ref::D(d) => format!("replay webhook of <#{d}>"),
            },
        };
        (step.kind(), name)
    }

    /// Requests per lane kind of the steps `include` accepts, for the ETA.
    fn lane_counts(&self, include: &dyn Fn(StepId) -> bool) -> LaneCounts {
        let mut c = LaneCounts::default();
        for s in self.steps.iter().filter(|s| include(s.id)) {
            match &s.action {
                Action::RoleCreate { .. } => c.role_creates += 1,
                Action::RoleGrant { .. } => c.grants += 1,
                Action::RoleUpdate { .. } | Action::RoleDelete { .. } => c.role_edits += 1,
                Action::ChannelCreate { .. } => c.channel_creates += 1,
                Action::ChannelUpdate { live, .. } | Action::ChannelDelete { live, .. } => {
                    *c.per_channel.entry(*live).or_default() += 1
                }
                Action::Member { .. } => c.members += 1,
                Action::Settings { .. } => c.guild += 1,
                Action::Ban { .. } | Action::Unban { .. } => c.bans += 1,
                Action::EmojiCreate { .. }
                | Action::EmojiUpdate { .. }
                | Action::EmojiDelete { .. } => c.emojis += 1,
                Action::StickerCreate { .. }
                | Action::StickerUpdate { .. }
                | Action::StickerDelete { .. } => c.stickers += 1,
                Action::AutoModCreate { .. }
                | Action::AutoModUpdate { .. }
                | Action::AutoModDelete { .. } => c.automod += 1,
                Action::ThreadCreate { parent, .. } => {
                    *c.thread_creates.entry(*parent).or_default() += 1
                }
                Action::ThreadEdit { live, .. } | Action::ThreadDelete { live, .. } => {
                    *c.per_channel.entry(*live).or_default() += 1
                }
                Action::EventCreate { .. }
                | Action::EventUpdate { .. }
                | Action::EventDelete { .. } => c.events += 1,
                Action::WebhookCreate { .. }
                | Action::WebhookUpdate { .. }
                | Action::WebhookDelete { .. } => c.webhooks += 1,
                Action::MessageReplay { channel, .. } | Action::ReplayEnd { channel } => {
                    *c.replays.entry(*channel).or_default() += 1
                }
                Action::WelcomeScreen { .. } | Action::Onboarding { .. } => c.guild += 1,
                Action::RolePositions { .. } | Action::ChannelPositions { .. } => c.bulk += 1,
            }
        }
        c
    }

    /// How long the restore takes at Discord's limits ([`limits`]), along the critical path.
    pub fn estimate(&self) -> Duration {
        self.estimate_of(&|_| true)
    }

    /// The time left for the steps not finished yet.
    pub fn estimate_remaining(&self, state: &RunState) -> Duration {
        if self.steps.iter().all(|s| state.finished(s.id)) {
            return Duration::ZERO;
        }
        self.estimate_of(&|id| !state.finished(id))
    }

    fn estimate_of(&self, include: &dyn Fn(StepId) -> bool) -> Duration {
        let c = self.lane_counts(include);
        let t = |n: usize, (limit, window): (u32, Duration)| floor_time(n, limit, window);
        let roles = t(c.role_creates, limits::ROLE_CREATE);
        let channels = t(c.channel_creates, limits::CHANNEL_CREATE);
        let members = t(c.members, limits::MEMBER_EDIT);
        let bans = t(c.bans, limits::BAN);
        let emojis = t(c.emojis, limits::EMOJI);
        let stickers = t(c.stickers, limits::STICKER);
        let automod = t(c.automod, limits::AUTOMOD);
        let events = t(c.events, limits::EVENT);
        let webhooks = t(c.webhooks, limits::WEBHOOK);
        // Each channel's messages go through its own webhook, one after the other (one call
        // each, plus the webhook's creation).
        let replays = c
            .replays
            .values()
            .map(|n| t(*n, limits::WEBHOOK_EXECUTE))
            .max()
            .unwrap_or_default();
        // Threads are created per parent channel (its own bucket), after the channels.
        let threads = c
            .thread_creates
            .values()
            .map(|n| t(*n, limits::THREAD_CREATE))
            .max()
            .unwrap_or_default();
        let edits = t(c.role_edits, limits::ROLE_EDIT);
        let per_channel = c
            .per_channel
            .values()
            .map(|n| t(*n, limits::CHANNEL_EDIT))
            .max()
            .unwrap_or_default();
        let total = c.role_creates
            + c.grants
            + c.role_edits
            + c.channel_creates
            + c.per_channel.values().sum::<usize>()
            + c.members
            + c.guild
            + c.bans
            + c.emojis
            + c.stickers
            + c.automod
            + c.events
            + c.webhooks
            + c.replays.values().sum::<usize>()
            + c.thread_creates.values().sum::<usize>()
            + c.bulk;
        let global = Duration::from_secs_f64(total as f64 / f64::from(limits::GLOBAL_PER_SECOND));
        // The grants come after every member and the role positions (after the role creates).
        let before_grants = members.max(roles).max(channels).max(edits).max(per_channel);
        let grants = t(c.grants, limits::ROLE_EDIT);
        // Bans depend on nothing and run in their own lane, beside everything else.
        // (Emojis wait at most for the role creates their roles need.)
        (before_grants + grants)
            .max(bans)
            .max(roles + emojis)
            .max(stickers)
            // AutoMod rules wait for the roles and channels they name.
            .max(roles.max(channels) + automod)
            .max(channels + threads)
            // Events in a voice or stage channel wait for it.
            .max(channels + events)
            // Webhooks wait for their channels.
            .max(channels + webhooks)
            // Messages wait for their channels.
            .max(channels + replays)
            .max(global)
            + Duration::from_secs(1)
    }
}

/// Start of the last of `n` calls through a bucket of `limit` per `window` starting fresh.
pub fn floor_time(n: usize, limit: u32, window: Duration) -> Duration {
    if n == 0 {
        return Duration::ZERO;
    }
    let waits = (n - 1) / usize::try_from(limit.max(1)).unwrap_or(1);
    window.mul_f64(waits as f64)
}

#[derive(Debug, Default)]
struct LaneCounts {
    role_creates: usize,
    role_edits: usize,
    grants: usize,
    channel_creates: usize,
    per_channel: HashMap<u64, usize>,
    members: usize,
    guild: usize,
    bans: usize,
    emojis: usize,
    stickers: usize,
    automod: usize,
    events: usize,
    webhooks: usize,
    replays: HashMap<Ref, usize>,
    thread_creates: HashMap<Ref, usize>,
    bulk: usize,
}

/// How a step ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub code: Option<i64>,
}

/// What a member pull did, member by member: joined / already there / roles set (members who
/// never left) / dead link / at the guild cap (30001) / banned (40007) / failed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullReport {
    pub joined: usize,
    pub already: usize,
    pub roles_set: usize,
    pub dead: usize,
    pub at_cap: usize,
    pub banned: usize,
    pub failed: usize,
}

impl PullReport {
    /// The report of `plan`'s member steps as `state` has them (`None`: not a pull).
    pub fn of(plan: &Plan, state: &RunState) -> Option<Self> {
        if !plan.components.has(Component::Pull) {
            return None;
        }
        let mut r = Self::default();
        for s in &plan.steps {
            let Action::Member { add, .. } = &s.action else {
                continue;
            };
            if let Some(f) = state.failed.get(&s.id) {
                match f.code {
                    Some(50025) => r.dead += 1,
                    Some(30001) => r.at_cap += 1,
                    Some(40007) => r.banned += 1,
                    _ => r.failed += 1,
                }
            } else if state.done.contains(&s.id) {
                let already = state.notes.get(&s.id).is_some_and(|n| {
                    n.iter()
                        .any(|n| n == crate::recovery::restore::executor::NOTE_ALREADY)
                });
                match (add, already) {
                    (true, false) => r.joined += 1,
                    (true, true) => r.already += 1,
                    (false, _) => r.roles_set += 1,
                }
            }
        }
        Some(r)
    }
}

/// Snapshot ids -> live ids of everything matched or created (local ids in memory; stored by
/// original id, see [`RunState::id_map_json`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdMap {
    pub roles: BTreeMap<u32, u64>,
    pub channels: BTreeMap<u32, u64>,
}

impl IdMap {
    pub fn role(&self, r: Ref) -> Option<u64> {
        match r {
            Ref::L(l) => self.roles.get(&l).copied(),
            Ref::D(id) => Some(id),
        }
    }

    pub fn channel(&self, r: Ref) -> Option<u64> {
        match r {
            Ref::L(l) => self.channels.get(&l).copied(),
            Ref::D(id) => Some(id),
        }
    }
}

/// The durable state of a running restore: which steps are done or failed (each counted once)
/// and the id map. Written with the job's fencing counter (see persistence).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunState {
    pub done: BTreeSet<StepId>,
    pub failed: BTreeMap<StepId, Failure>,
    /// Things a done step could not include (an overwrite whose role failed...).
    pub notes: BTreeMap<StepId, Vec<String>>,
    pub ids: IdMap,
    /// Member adds written down before they were sent and not finished yet: after a crash,
    /// each is looked up before it is sent again (never added twice).
    pub sending: BTreeSet<StepId>,
    /// The webhooks made again, by step: their new URLs are read from Discord when the job
    /// ends and sent to who confirmed it (the ids only are kept, never a token).
    pub webhooks: BTreeMap<StepId, u64>,
    /// The last message posted again in each channel (live channel id -> message id): a
    /// message written ahead and not recorded is looked for after it, from the replay webhook.
    pub replayed: BTreeMap<u64, u64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct ProgressJson {
    #[serde(default)]
    done: Vec<(StepId, StepId)>,
    #[serde(default)]
    failed: BTreeMap<String, Failure>,
    #[serde(default)]
    notes: BTreeMap<String, Vec<String>>,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    sending: BTreeSet<StepId>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    webhooks: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    replayed: BTreeMap<String, String>,
}

impl RunState {
    /// The state a fresh job starts from: the plan's matches.
    pub fn initial(plan: &Plan) -> Self {
        let parse = |m: &BTreeMap<u32, String>| {
            m.iter()
                .filter_map(|(k, v)| v.parse::<u64>().ok().map(|v| (*k, v)))
                .collect()
        };
        Self {
            ids: IdMap {
                roles: parse(&plan.matched_roles),
                channels: parse(&plan.matched_channels),
            },
            ..Self::default()
        }
    }

    pub fn finished(&self, step: StepId) -> bool {
        self.done.contains(&step) || self.failed.contains_key(&step)
    }

    /// Records a step's end (a step is counted once: the first result wins).
    pub fn finish(&mut self, step: StepId, result: Result<Vec<String>, Failure>) -> bool {
        if self.finished(step) {
            return false;
        }
        self.sending.remove(&step);
        match result {
            Ok(notes) => {
                self.done.insert(step);
                if !notes.is_empty() {
                    self.notes.insert(step, notes);
                }
            }
            Err(f) => {
                self.failed.insert(step, f);
            }
        }
        true
    }

    /// `progress` as stored: done steps as ranges, failures and notes by step.
    pub fn progress_json(&self) -> serde_json::Value {
        let mut ranges: Vec<(StepId, StepId)> = Vec::new();
        for s in &self.done {
            match ranges.last_mut() {
                Some((_, end)) if *end + 1 == *s => *end = *s,
                _ => ranges.push((*s, *s)),
            }
        }
        let p = ProgressJson {
            done: ranges,
            failed: self
                .failed
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            notes: self
                .notes
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            sending: self.sending.clone(),
            webhooks: self
                .webhooks
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            replayed: self
                .replayed
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        serde_json::to_value(p).unwrap_or_else(|_| serde_json::json!({}))
    }

    /// `id_map` as stored: `{"roles": {"<original id>": "<live id>"}, "channels": {..}}`.
    pub fn id_map_json(&self, plan: &Plan) -> serde_json::Value {
        let original = |objects: &[Object], local: u32| {
            objects
                .iter()
                .find(|o| o.local == local)
                .map_or_else(|| format!("local:{local}"), |o| o.original.to_string())
        };
        let roles: BTreeMap<String, String> = self
            .ids
            .roles
            .iter()
            .map(|(l, v)| (original(&plan.roles, *l), v.to_string()))
            .collect();
        let channels: BTreeMap<String, String> = self
            .ids
            .channels
            .iter()
            .map(|(l, v)| (original(&plan.channels, *l), v.to_string()))
            .collect();
        serde_json::json!({ "roles": roles, "channels": channels })
    }

    /// Reads the stored state back (unknown entries are ignored).
    pub fn load(plan: &Plan, progress: &serde_json::Value, id_map: &serde_json::Value) -> Self {
        let mut state = Self::initial(plan);
        let p: ProgressJson = serde_json::from_value(progress.clone()).unwrap_or_default();
        for (a, b) in p.done {
            for s in a..=b.min(a.saturating_add(1_000_000)) {
                state.done.insert(s);
            }
        }
        for (k, v) in p.failed {
            if let Ok(s) = k.parse::<StepId>()
                && !state.done.contains(&s)
            {
                state.failed.insert(s, v);
            }
        }
        for (k, v) in p.notes {
            if let Ok(s) = k.parse::<StepId>() {
                state.notes.insert(s, v);
            }
        }
        state.sending = p
            .sending
            .into_iter()
            .filter(|s| !state.finished(*s))
            .collect();
        state.webhooks = p
            .webhooks
            .iter()
            .filter_map(|(k, v)| Some((k.parse().ok()?, v.parse().ok()?)))
            .collect();
        state.replayed = p
            .replayed
            .iter()
            .filter_map(|(k, v)| Some((k.parse().ok()?, v.parse().ok()?)))
            .collect();
        let local = |objects: &[Object], original: &str| {
            original
                .parse::<u64>()
                .ok()
                .and_then(|o| objects.iter().find(|x| x.original == o).map(|x| x.local))
        };
        let read =
            |v: Option<&serde_json::Value>, objects: &[Object], out: &mut BTreeMap<u32, u64>| {
                if let Some(map) = v.and_then(|v| v.as_object()) {
                    for (k, v) in map {
                        if let (Some(l), Some(live)) = (
                            local(objects, k),
                            v.as_str().and_then(|s| s.parse::<u64>().ok()),
                        ) {
                            out.insert(l, live);
                        }
                    }
                }
            };
        read(id_map.get("roles"), &plan.roles, &mut state.ids.roles);
        read(
            id_map.get("channels"),
            &plan.channels,
            &mut state.ids.channels,
        );
        state
    }
}

/// A per-item line of the final report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportItem {
    pub kind: Kind,
    pub name: String,
    /// `failed`, `skipped` or `note`.
    pub outcome: String,
    pub reason: String,
}

/// The final per-item report (`restore_jobs.error_report`).
pub fn report(plan: &Plan, state: &RunState) -> Vec<ReportItem> {
    let mut out = Vec::new();
    for s in &plan.steps {
        if let Some(f) = state.failed.get(&s.id) {
            let (kind, name) = plan.describe(s);
            out.push(ReportItem {
                kind,
                name,
                outcome: "failed".into(),
                reason: match f.code {
                    Some(code) => format!("{} (Discord error {code})", f.reason),
                    None => f.reason.clone(),
                },
            });
        }
        if let Some(notes) = state.notes.get(&s.id) {
            let (kind, name) = plan.describe(s);
            for n in notes {
                out.push(ReportItem {
                    kind,
                    name: name.clone(),
                    outcome: "note".into(),
                    reason: n.clone(),
                });
            }
        }
    }
    for sk in &plan.skipped {
        out.push(ReportItem {
            kind: sk.kind,
            name: sk.name.clone(),
            outcome: "skipped".into(),
            reason: sk.reason.as_str().into(),
        });
    }
    out
}

/// A text progress bar: `[#####.....] 50%`.
pub fn progress_bar(done: usize, total: usize, width: usize) -> String {
    let ratio = if total == 0 {
        1.0
    } else {
        (done as f64 / total as f64).clamp(0.0, 1.0)
    };
    let filled = ((ratio * width as f64).round() as usize).min(width);
    format!(
        "`[{}{}]` {}%",
        "█".repeat(filled),
        "░".repeat(width - filled),
        (ratio * 100.0).floor() as u32
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(steps: Vec<Action>) -> Plan {
        Plan {
            version: PLAN_VERSION,
            guild_id: 1,
            snapshot_id: Uuid::nil(),
            snapshot_guild_id: 1,
            mode: Mode::Merge,
            components: Components::all(),
            scope: None,
            roles: vec![
                Object {
                    local: 1,
                    original: 1,
                    name: "@everyone".into(),
                },
                Object {
                    local: 2,
                    original: 20,
                    name: "Mod".into(),
                },
            ],
            channels: vec![Object {
                local: 1,
                original: 30,
                name: "cat".into(),
            }],
            matched_roles: BTreeMap::from([(1, "1".into())]),
            matched_channels: BTreeMap::new(),
            steps: steps
                .into_iter()
                .zip(0u32..)
                .map(|(action, id)| Step { id, action })
                .collect(),
            counts: Counts::default(),
            warnings: vec![],
            skipped: vec![],
            risks: Risks::default(),
            roles_delete_first: false,
            channels_delete_first: false,
            eta_seconds: 0,
        }
    }

    #[test]
    fn dependencies_follow_references_and_the_grants_come_last() {
        let p = plan(vec![
            Action::RoleCreate {
                role: 2,
                fields: RoleFields::default(),
            },
            Action::ChannelCreate {
                channel: 1,
                parent: None,
                position: 0,
                fields: ChannelFields {
                    overwrites: Some(vec![OverwriteSpec {
                        target: OverwriteFor::Role(Ref::L(2)),
                        allow: 1,
                        deny: 0,
                    }]),
                    ..ChannelFields::default()
                },
            },
            Action::Member {
                user: 5,
                roles: Some(vec![Ref::L(2), Ref::D(77)]),
                nick: None,
                add: false,
            },
            Action::RolePositions {
                order: vec![Ref::L(2)],
            },
            Action::RoleGrant {
                role: 2,
                permissions: perms::ADMINISTRATOR,
            },
            Action::Member {
                user: 6,
                roles: Some(vec![Ref::L(1)]),
                nick: None,
                add: false,
            },
        ]);
        let deps = p.dependencies();
        assert_eq!(deps[0], Vec::<StepId>::new());
        assert_eq!(deps[1], vec![0], "overwrites need the role");
        assert_eq!(deps[2], vec![0], "member roles need the role");
        assert_eq!(deps[3], vec![0], "positions after every create");
        assert_eq!(deps[4], vec![0, 1, 2, 3, 5], "the grant is last");
        assert_eq!(deps[5], Vec::<StepId>::new(), "matched roles need nothing");
    }

    #[test]
    fn progress_and_the_id_map_round_trip_and_count_each_step_once() {
        let p = plan(vec![
            Action::RoleCreate {
                role: 2,
                fields: RoleFields::default(),
            },
            Action::Member {
                user: 5,
                roles: None,
                nick: Some(None),
                add: false,
            },
            Action::Member {
                user: 6,
                roles: None,
                nick: Some(None),
                add: false,
            },
        ]);
        let mut s = RunState::initial(&p);
        assert_eq!(s.ids.roles.get(&1), Some(&1));
        s.ids.roles.insert(2, 999);
        assert!(s.finish(0, Ok(vec![])));
        assert!(s.finish(
            2,
            Err(Failure {
                reason: "gone".into(),
                code: Some(10007)
            })
        ));
        assert!(!s.finish(2, Ok(vec![])), "a step is counted once");
        assert!(s.finish(1, Ok(vec!["note".into()])));
        let back = RunState::load(&p, &s.progress_json(), &s.id_map_json(&p));
        assert_eq!(back, s);
        assert_eq!(s.id_map_json(&p)["roles"]["20"], "999");
        assert_eq!(s.progress_json()["done"], serde_json::json!([[0, 1]]));
    }

    #[test]
    fn components_parse_lists_and_presets() {
        assert_eq!(Components::parse("all"), Some(Components::all()));
        let c = Components::parse("roles, members").expect("valid");
        assert!(c.has(Component::Roles) && c.has(Component::Members));
        assert!(!c.has(Component::Channels));
        assert_eq!(Components::parse("roles,bananas"), None);
        assert_eq!(Components::parse(" "), None);
        assert_eq!(
            Components::from_names(&c.names()),
            Some(c),
            "stored names read back"
        );
    }

    #[test]
    fn the_hash_is_stable_and_changes_with_the_plan() {
        let a = plan(vec![Action::Member {
            user: 5,
            roles: None,
            nick: Some(Some("x".into())),
            add: false,
        }]);
        let mut b = a.clone();
        assert_eq!(a.hash().ok(), b.hash().ok());
        b.mode = Mode::Mirror;
        assert_ne!(a.hash().ok(), b.hash().ok());
        let text = serde_json::to_string(&a).expect("serializes");
        let back: Plan = serde_json::from_str(&text).expect("parses");
        assert_eq!(back, a);
    }

    #[test]
    fn the_estimate_follows_the_slowest_bucket_then_the_grants() {
        let mut steps = Vec::new();
        for u in 0..101 {
            steps.push(Action::Member {
                user: u + 10,
                roles: None,
                nick: Some(None),
                add: false,
            });
        }
        steps.push(Action::RoleGrant {
            role: 2,
            permissions: 8,
        });
        let p = plan(steps);
        // 101 member edits at 10 per 10 s: the last starts after 100 s; the grant follows.
        assert_eq!(p.estimate(), Duration::from_secs(101));
        assert_eq!(floor_time(0, 10, Duration::from_secs(10)), Duration::ZERO);
        assert_eq!(floor_time(10, 10, Duration::from_secs(10)), Duration::ZERO);
        assert_eq!(
            floor_time(11, 10, Duration::from_secs(10)),
            Duration::from_secs(10)
        );
    }

    #[test]
    fn the_progress_bar_is_bounded() {
        assert!(progress_bar(5, 10, 10).contains("50%"));
        assert!(progress_bar(20, 10, 10).contains("100%"));
        assert!(progress_bar(0, 0, 4).contains("100%"));
    }
}
