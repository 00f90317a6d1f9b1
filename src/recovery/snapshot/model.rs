//! Purpose: the snapshot document (format v1) and its codec, without I/O.
//!
//! A document freezes a guild: settings, roles, channels with their overwrites, and each
//! member's roles and nickname. Roles and channels get snapshot-local ids (1, 2, ... in
//! canonical order) and references inside the document use them: a channel's parent, a role
//! overwrite's role, a member's roles, the settings' channels. Member overwrites name the user
//! by snowflake (users are global). Original Discord ids are kept (`original_id`) so a restore
//! can match surviving objects first. Snowflakes and permission sets are strings (JSON numbers
//! lose precision beyond 2^53).
//!
//! Canonical form: fields in declaration order, lists in canonical order, JSON objects with
//! sorted keys, no whitespace — the same state always gives the same bytes. Stored payload =
//! zstd(canonical JSON); `checksum` = SHA-256(payload), verified on every read;
//! `content_hash` = SHA-256(canonical JSON without `as_of`): equal hashes = same guild state.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::recovery::sync::{GuildState, OverwriteTarget, SettingsState};

/// The document format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// The export file format (the wrapper around a document).
pub const EXPORT_VERSION: u32 = 1;
/// zstd level of stored payloads (fast, and snapshots are mostly ids).
const ZSTD_LEVEL: i32 = 3;

/// Discord's limits a valid document stays within.
pub mod limits {
    /// 250 roles plus @everyone.
    pub const ROLES: usize = 251;
    pub const CHANNELS: usize = 500;
    pub const OVERWRITES_PER_CHANNEL: usize = 500;
    pub const MEMBERS: usize = 1_000_000;
    pub const NAME_CHARS: usize = 100;
    pub const TOPIC_CHARS: usize = 4096;
    pub const NICK_CHARS: usize = 32;
    pub const LABEL_CHARS: usize = 100;
}

/// Channel types a document may hold: text, voice, category, announcement, stage, forum, media.
const CHANNEL_KINDS: [i16; 7] = [0, 2, 4, 5, 13, 15, 16];
const CATEGORY: i16 = 4;

mod snowflake {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(id: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&id.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let text = String::deserialize(d)?;
        text.parse::<u64>()
            .ok()
            .filter(|v| *v > 0 && *v < (1 << 63))
            .ok_or_else(|| serde::de::Error::custom(format!("`{text}` is not a snowflake")))
    }

    pub mod option {
        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(id: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
            match id {
                Some(id) => s.serialize_some(&id.to_string()),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
            match Option::<String>::deserialize(d)? {
                None => Ok(None),
                Some(text) => text
                    .parse::<u64>()
                    .ok()
                    .filter(|v| *v > 0 && *v < (1 << 63))
                    .map(Some)
                    .ok_or_else(|| {
                        serde::de::Error::custom(format!("`{text}` is not a snowflake"))
                    }),
            }
        }
    }
}

mod bits {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let text = String::deserialize(d)?;
        text.parse::<u64>()
            .map_err(|_| serde::de::Error::custom(format!("`{text}` is not a permission set")))
    }
}

/// Guild settings; channels by snapshot-local id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsDoc {
    pub name: String,
    pub description: Option<String>,
    pub icon: Option<String>,
    pub banner: Option<String>,
    pub splash: Option<String>,
    pub verification_level: i16,
    pub default_message_notifications: i16,
    pub explicit_content_filter: i16,
    pub mfa_level: i16,
    pub afk_channel: Option<u32>,
    pub afk_timeout: i32,
    pub system_channel: Option<u32>,
    pub system_channel_flags: i32,
    pub rules_channel: Option<u32>,
    pub public_updates_channel: Option<u32>,
    pub safety_alerts_channel: Option<u32>,
    pub preferred_locale: String,
    pub premium_progress_bar_enabled: bool,
    /// Informational (Discord decides it): bounds bitrates and banners when restoring.
    pub premium_tier: i16,
    /// Informational (e.g. COMMUNITY, which rules/updates channels need).
    pub features: Vec<String>,
    pub vanity_url_code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleDoc {
    /// Snapshot-local id.
    pub id: u32,
    #[serde(with = "snowflake")]
    pub original_id: u64,
    pub name: String,
    pub color: i32,
    pub secondary_color: Option<i32>,
    pub tertiary_color: Option<i32>,
    pub hoist: bool,
    pub mentionable: bool,
    #[serde(with = "bits")]
    pub permissions: u64,
    pub position: i32,
    /// Managed by a bot or integration: a restore maps it, never creates it.
    pub managed: bool,
    /// The @everyone role (its original id is the guild's id).
    pub everyone: bool,
    pub icon: Option<String>,
    pub unicode_emoji: Option<String>,
    pub tags: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverwriteDoc {
    pub target: OverwriteTarget,
    /// Snapshot-local role id (role overwrites).
    pub role: Option<u32>,
    /// The user (member overwrites).
    #[serde(with = "snowflake::option")]
    pub user_id: Option<u64>,
    #[serde(with = "bits")]
    pub allow: u64,
    #[serde(with = "bits")]
    pub deny: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelDoc {
    /// Snapshot-local id.
    pub id: u32,
    #[serde(with = "snowflake")]
    pub original_id: u64,
    /// Discord channel type: 0 text, 2 voice, 4 category, 5 announcement, 13 stage, 15 forum,
    /// 16 media.
    pub kind: i16,
    pub name: String,
    /// Snapshot-local id of the parent category.
    pub parent: Option<u32>,
    pub position: i32,
    pub topic: Option<String>,
    pub nsfw: bool,
    pub rate_limit_per_user: i32,
    pub bitrate: Option<i32>,
    pub user_limit: Option<i32>,
    pub rtc_region: Option<String>,
    pub video_quality_mode: Option<i16>,
    pub default_auto_archive_duration: Option<i32>,
    pub default_thread_rate_limit_per_user: Option<i32>,
    pub available_tags: Option<Value>,
    pub default_reaction_emoji: Option<Value>,
    pub default_sort_order: Option<i16>,
    pub default_forum_layout: Option<i16>,
    pub flags: i32,
    pub overwrites: Vec<OverwriteDoc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberDoc {
    #[serde(with = "snowflake")]
    pub user_id: u64,
    pub nick: Option<String>,
    /// Snapshot-local role ids.
    pub roles: Vec<u32>,
}

/// A snapshot document, format v1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotDocument {
    pub format_version: u32,
    /// The guild the state was taken from.
    #[serde(with = "snowflake")]
    pub guild_id: u64,
    /// The time whose state this is.
    pub as_of: DateTime<Utc>,
    pub settings: SettingsDoc,
    /// By (position, original id).
    pub roles: Vec<RoleDoc>,
    /// By (position, original id).
    pub channels: Vec<ChannelDoc>,
    /// By user id.
    pub members: Vec<MemberDoc>,
}

/// The document without its time: what `content_hash` covers.
#[derive(Serialize)]
struct Content<'a> {
    format_version: u32,
    #[serde(with = "snowflake")]
    guild_id: u64,
    settings: &'a SettingsDoc,
    roles: &'a [RoleDoc],
    channels: &'a [ChannelDoc],
    members: &'a [MemberDoc],
}

/// Object keys sorted at every depth (what `serde_json::Value` does without
/// `preserve_order`; done explicitly so the canonical form never depends on a feature flag).
fn canonical_value(v: Value) -> Value {
    match v {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, canonical_value(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(canonical_value).collect()),
        other => other,
    }
}

impl SnapshotDocument {
    /// Freezes a guild state (`None` when the state has no settings, i.e. nothing synced).
    pub fn from_state(state: &GuildState) -> Option<Self> {
        let settings = state.settings.as_ref()?;
        let state = state.clone().sorted();
        let role_ids: HashMap<u64, u32> = state
            .roles
            .iter()
            .zip(1u32..)
            .map(|(r, local)| (r.discord_role_id, local))
            .collect();
        let channel_ids: HashMap<u64, u32> = state
            .channels
            .iter()
            .zip(1u32..)
            .map(|(c, local)| (c.discord_channel_id, local))
            .collect();
        let local_channel = |id: Option<u64>| id.and_then(|c| channel_ids.get(&c).copied());
        let roles = state
            .roles
            .iter()
            .zip(1u32..)
            .map(|(r, local)| RoleDoc {
                id: local,
                original_id: r.discord_role_id,
                name: r.name.clone(),
                color: r.color,
                secondary_color: r.secondary_color,
                tertiary_color: r.tertiary_color,
                hoist: r.hoist,
                mentionable: r.mentionable,
                permissions: u64::try_from(r.permissions).unwrap_or(0),
                position: r.position,
                managed: r.managed,
                everyone: r.discord_role_id == state.guild_id,
                icon: r.icon.clone(),
                unicode_emoji: r.unicode_emoji.clone(),
                tags: r.tags.clone().map(canonical_value),
            })
            .collect();
        let channels = state
            .channels
            .iter()
            .zip(1u32..)
            .map(|(c, local)| ChannelDoc {
                id: local,
                original_id: c.discord_channel_id,
                kind: c.kind,
                name: c.name.clone(),
                parent: local_channel(c.parent_id),
                position: c.position,
                topic: c.topic.clone(),
                nsfw: c.nsfw,
                rate_limit_per_user: c.rate_limit_per_user,
                bitrate: c.bitrate,
                user_limit: c.user_limit,
                rtc_region: c.rtc_region.clone(),
                video_quality_mode: c.video_quality_mode,
                default_auto_archive_duration: c.default_auto_archive_duration,
                default_thread_rate_limit_per_user: c.default_thread_rate_limit_per_user,
                available_tags: c.available_tags.clone().map(canonical_value),
                default_reaction_emoji: c.default_reaction_emoji.clone().map(canonical_value),
                default_sort_order: c.default_sort_order,
                default_forum_layout: c.default_forum_layout,
                flags: c.flags,
                overwrites: c
                    .overwrites
                    .iter()
                    .filter_map(|o| match o.target {
                        OverwriteTarget::Role => {
                            role_ids.get(&o.target_id).map(|local| OverwriteDoc {
                                target: OverwriteTarget::Role,
                                role: Some(*local),
                                user_id: None,
                                allow: u64::try_from(o.allow).unwrap_or(0),
                                deny: u64::try_from(o.deny).unwrap_or(0),
                            })
                        }
                        OverwriteTarget::Member => Some(OverwriteDoc {
                            target: OverwriteTarget::Member,
                            role: None,
                            user_id: Some(o.target_id),
                            allow: u64::try_from(o.allow).unwrap_or(0),
                            deny: u64::try_from(o.deny).unwrap_or(0),
                        }),
                    })
                    .collect(),
            })
            .collect();
        let members = state
            .members
            .iter()
            .map(|m| {
                let mut roles: Vec<u32> = m
                    .role_ids
                    .iter()
                    .filter_map(|r| role_ids.get(r).copied())
                    .collect();
                roles.sort_unstable();
                MemberDoc {
                    user_id: m.discord_user_id,
                    nick: m.nick.clone(),
                    roles,
                }
            })
            .collect();
        Some(SnapshotDocument {
            format_version: FORMAT_VERSION,
            guild_id: state.guild_id,
            as_of: state.as_of,
            settings: settings_doc(settings, &local_channel),
            roles,
            channels,
            members,
        })
    }

    /// The canonical JSON bytes.
    pub fn canonical_json(&self) -> Result<Vec<u8>, CodecError> {
        serde_json::to_vec(self).map_err(|e| CodecError::Json(e.to_string()))
    }

    /// SHA-256 of the canonical JSON without `as_of`.
    pub fn content_hash(&self) -> Result<[u8; 32], CodecError> {
        let content = Content {
            format_version: self.format_version,
            guild_id: self.guild_id,
            settings: &self.settings,
            roles: &self.roles,
            channels: &self.channels,
            members: &self.members,
        };
        let bytes = serde_json::to_vec(&content).map_err(|e| CodecError::Json(e.to_string()))?;
        Ok(Sha256::digest(&bytes).into())
    }

    pub fn overwrite_count(&self) -> usize {
        self.channels.iter().map(|c| c.overwrites.len()).sum()
    }

    /// Checks that the document is one Umbra can restore: Discord's limits, unique local ids,
    /// every reference resolvable, parents are categories.
    pub fn validate(&self) -> Result<(), DocumentError> {
        use DocumentError as E;
        if self.format_version != FORMAT_VERSION {
            return Err(E::Version(self.format_version));
        }
        check_name("settings.name", &self.settings.name)?;
        if self.roles.len() > limits::ROLES {
            return Err(E::Invalid(format!(
                "{} roles (at most {})",
                self.roles.len(),
                limits::ROLES
            )));
        }
        if self.channels.len() > limits::CHANNELS {
            return Err(E::Invalid(format!(
                "{} channels (at most {})",
                self.channels.len(),
                limits::CHANNELS
            )));
        }
        if self.members.len() > limits::MEMBERS {
            return Err(E::Invalid(format!(
                "{} members (at most {})",
                self.members.len(),
                limits::MEMBERS
            )));
        }
        let mut role_ids = HashSet::new();
        let mut role_originals = HashSet::new();
        let mut everyone = 0;
        for r in &self.roles {
            if r.id == 0 || !role_ids.insert(r.id) {
                return Err(E::Invalid(format!("role id {} is zero or repeated", r.id)));
            }
            if !role_originals.insert(r.original_id) {
                return Err(E::Invalid(format!(
                    "role original_id {} is repeated",
                    r.original_id
                )));
            }
            check_name(&format!("role {}", r.id), &r.name)?;
            for c in std::iter::once(Some(r.color))
                .chain([r.secondary_color, r.tertiary_color])
                .flatten()
            {
                if !(0..=0x00FF_FFFF).contains(&c) {
                    return Err(E::Invalid(format!("role {} has colour {c}", r.id)));
                }
            }
            if r.position < 0 {
                return Err(E::Invalid(format!("role {} has a negative position", r.id)));
            }
            everyone += usize::from(r.everyone);
        }
        if everyone > 1 {
            return Err(E::Invalid("more than one @everyone role".into()));
        }
        let kinds: HashMap<u32, i16> = self.channels.iter().map(|c| (c.id, c.kind)).collect();
        let mut channel_originals = HashSet::new();
        if kinds.len() != self.channels.len() || kinds.contains_key(&0) {
            return Err(E::Invalid("channel ids are zero or repeated".into()));
        }
        for c in &self.channels {
            if !channel_originals.insert(c.original_id) {
                return Err(E::Invalid(format!(
                    "channel original_id {} is repeated",
                    c.original_id
                )));
            }
            check_name(&format!("channel {}", c.id), &c.name)?;
            if !CHANNEL_KINDS.contains(&c.kind) {
                return Err(E::Invalid(format!(
                    "channel {} has unsupported type {}",
                    c.id, c.kind
                )));
            }
            if c.topic
                .as_ref()
                .is_some_and(|t| t.chars().count() > limits::TOPIC_CHARS)
            {
                return Err(E::Invalid(format!(
                    "channel {} has a topic over {} characters",
                    c.id,
                    limits::TOPIC_CHARS
                )));
            }
            if let Some(parent) = c.parent
                && (c.kind == CATEGORY || parent == c.id || kinds.get(&parent) != Some(&CATEGORY))
            {
                return Err(E::Invalid(format!(
                    "channel {} has parent {parent}, which is not a category",
                    c.id
                )));
            }
            if c.position < 0
                || c.rate_limit_per_user < 0
                || c.bitrate.is_some_and(|b| b <= 0)
                || c.user_limit.is_some_and(|u| u < 0)
            {
                return Err(E::Invalid(format!(
                    "channel {} has a negative position, slowmode, bitrate or user limit",
                    c.id
                )));
            }
            if c.overwrites.len() > limits::OVERWRITES_PER_CHANNEL {
                return Err(E::Invalid(format!(
                    "channel {} has {} overwrites",
                    c.id,
                    c.overwrites.len()
                )));
            }
            let mut targets = HashSet::new();
            for o in &c.overwrites {
                let key = match (o.target, o.role, o.user_id) {
                    (OverwriteTarget::Role, Some(role), None) if role_ids.contains(&role) => {
                        (0u8, u64::from(role))
                    }
                    (OverwriteTarget::Member, None, Some(user)) => (1u8, user),
                    _ => {
                        return Err(E::Invalid(format!(
                            "channel {} has an overwrite whose target is missing or unknown",
                            c.id
                        )));
                    }
                };
                if !targets.insert(key) {
                    return Err(E::Invalid(format!(
                        "channel {} has two overwrites for one target",
                        c.id
                    )));
                }
            }
        }
        let s = &self.settings;
        for (field, channel) in [
            ("afk_channel", s.afk_channel),
            ("system_channel", s.system_channel),
            ("rules_channel", s.rules_channel),
            ("public_updates_channel", s.public_updates_channel),
            ("safety_alerts_channel", s.safety_alerts_channel),
        ] {
            if let Some(c) = channel
                && !kinds.contains_key(&c)
            {
                return Err(E::Invalid(format!(
                    "settings.{field} names unknown channel {c}"
                )));
            }
        }
        if s.afk_timeout < 0 {
            return Err(E::Invalid("settings.afk_timeout is negative".into()));
        }
        let mut users = HashSet::new();
        for m in &self.members {
            if !users.insert(m.user_id) {
                return Err(E::Invalid(format!("member {} is listed twice", m.user_id)));
            }
            if m.nick
                .as_ref()
                .is_some_and(|n| n.chars().count() > limits::NICK_CHARS)
            {
                return Err(E::Invalid(format!(
                    "member {} has a nickname over {} characters",
                    m.user_id,
                    limits::NICK_CHARS
                )));
            }
            if let Some(r) = m.roles.iter().find(|r| !role_ids.contains(r)) {
                return Err(E::Invalid(format!(
                    "member {} has unknown role {r}",
                    m.user_id
                )));
            }
        }
        Ok(())
    }
}

fn settings_doc(
    s: &SettingsState,
    local_channel: &impl Fn(Option<u64>) -> Option<u32>,
) -> SettingsDoc {
    SettingsDoc {
        name: s.name.clone(),
        description: s.description.clone(),
        icon: s.icon.clone(),
        banner: s.banner.clone(),
        splash: s.splash.clone(),
        verification_level: s.verification_level,
        default_message_notifications: s.default_message_notifications,
        explicit_content_filter: s.explicit_content_filter,
        mfa_level: s.mfa_level,
        afk_channel: local_channel(s.afk_channel_id),
        afk_timeout: s.afk_timeout,
        system_channel: local_channel(s.system_channel_id),
        system_channel_flags: s.system_channel_flags,
        rules_channel: local_channel(s.rules_channel_id),
        public_updates_channel: local_channel(s.public_updates_channel_id),
        safety_alerts_channel: local_channel(s.safety_alerts_channel_id),
        preferred_locale: s.preferred_locale.clone(),
        premium_progress_bar_enabled: s.premium_progress_bar_enabled,
        premium_tier: s.premium_tier,
        features: s.features.clone(),
        vanity_url_code: s.vanity_url_code.clone(),
    }
}

fn check_name(what: &str, name: &str) -> Result<(), DocumentError> {
    let n = name.chars().count();
    if n == 0 || n > limits::NAME_CHARS {
        return Err(DocumentError::Invalid(format!(
            "{what} has a name of {n} characters (1 to {})",
            limits::NAME_CHARS
        )));
    }
    Ok(())
}

/// Why a document is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    #[error("format version {0} is not supported (this Umbra reads version 1)")]
    Version(u32),
    #[error("{0}")]
    Invalid(String),
}

/// Why a stored or imported snapshot cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    #[error("the checksum does not match: the data was changed or damaged")]
    Checksum,
    #[error("the payload does not decompress: {0}")]
    Compression(String),
    #[error("the document is larger than {0} bytes")]
    TooLarge(usize),
    #[error("the document is not valid JSON of the expected shape: {0}")]
    Json(String),
    #[error(transparent)]
    Document(#[from] DocumentError),
}

/// A document ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    pub payload: Vec<u8>,
    pub checksum: [u8; 32],
    pub content_hash: [u8; 32],
    pub uncompressed_bytes: usize,
    pub roles: usize,
    pub channels: usize,
    pub overwrites: usize,
    pub members: usize,
}

/// Compresses and checksums a document (CPU work: run it off the async threads).
pub fn encode(doc: &SnapshotDocument) -> Result<Encoded, CodecError> {
    let json = doc.canonical_json()?;
    let payload = zstd::bulk::compress(&json, ZSTD_LEVEL)
        .map_err(|e| CodecError::Compression(e.to_string()))?;
    Ok(Encoded {
        checksum: Sha256::digest(&payload).into(),
        content_hash: doc.content_hash()?,
        uncompressed_bytes: json.len(),
        roles: doc.roles.len(),
        channels: doc.channels.len(),
        overwrites: doc.overwrite_count(),
        members: doc.members.len(),
        payload,
    })
}

/// Verifies a stored payload against its checksum, then decompresses (at most `max_bytes`),
/// parses and validates it.
pub fn decode(
    payload: &[u8],
    checksum: &[u8],
    max_bytes: usize,
) -> Result<SnapshotDocument, CodecError> {
    let actual: [u8; 32] = Sha256::digest(payload).into();
    if actual.as_slice() != checksum {
        return Err(CodecError::Checksum);
    }
    let json = zstd::bulk::decompress(payload, max_bytes).map_err(|e| {
        if e.to_string().contains("Destination buffer is too small") {
            CodecError::TooLarge(max_bytes)
        } else {
            CodecError::Compression(e.to_string())
        }
    })?;
    let doc: SnapshotDocument =
        serde_json::from_slice(&json).map_err(|e| CodecError::Json(e.to_string()))?;
    doc.validate()?;
    Ok(doc)
}

/// The export file: a document with what a person needs to recognise it, and the SHA-256 of
/// the document's canonical JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportFile {
    /// Always [`EXPORT_VERSION`]; also what marks the file as Umbra's.
    pub umbra_snapshot: u32,
    pub format_version: u32,
    pub guild_name: String,
    #[serde(with = "snowflake")]
    pub guild_id: u64,
    pub label: Option<String>,
    pub trigger: String,
    pub created_at: DateTime<Utc>,
    /// Hex SHA-256 of `document` in canonical form.
    pub checksum: String,
    pub document: SnapshotDocument,
}

impl ExportFile {
    pub fn new(
        doc: SnapshotDocument,
        label: Option<String>,
        trigger: &str,
        created_at: DateTime<Utc>,
    ) -> Result<Self, CodecError> {
        let checksum = hex::encode(Sha256::digest(doc.canonical_json()?));
        Ok(Self {
            umbra_snapshot: EXPORT_VERSION,
            format_version: doc.format_version,
            guild_name: doc.settings.name.clone(),
            guild_id: doc.guild_id,
            label,
            trigger: trigger.to_owned(),
            created_at,
            checksum,
            document: doc,
        })
    }

    /// The file's bytes: compact JSON (indentation would double a large guild's file, and
    /// Discord limits uploads).
    pub fn to_bytes(&self) -> Result<Vec<u8>, CodecError> {
        serde_json::to_vec(self).map_err(|e| CodecError::Json(e.to_string()))
    }

    /// Reads and checks an export file: its versions, its shape, its checksum (a changed
    /// document fails it), and the document's structure.
    pub fn parse(bytes: &[u8]) -> Result<Self, ImportError> {
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| ImportError::NotJson(e.to_string()))?;
        let Some(object) = value.as_object() else {
            return Err(ImportError::NotJson("the file is not a JSON object".into()));
        };
        let version = |key: &str| object.get(key).and_then(Value::as_u64);
        match (version("umbra_snapshot"), version("format_version")) {
            (Some(v), _) if v != u64::from(EXPORT_VERSION) => return Err(ImportError::Version(v)),
            (_, Some(v)) if v != u64::from(FORMAT_VERSION) => return Err(ImportError::Version(v)),
            (None, _) | (_, None) => return Err(ImportError::NotUmbra),
            _ => {}
        }
        let file: ExportFile =
            serde_json::from_value(value).map_err(|e| ImportError::Structure(e.to_string()))?;
        let expected = hex::encode(Sha256::digest(
            file.document
                .canonical_json()
                .map_err(|e| ImportError::Structure(e.to_string()))?,
        ));
        if !expected.eq_ignore_ascii_case(file.checksum.trim()) {
            return Err(ImportError::Checksum);
        }
        if file.document.format_version != file.format_version {
            return Err(ImportError::Structure(
                "format_version differs from the document's".into(),
            ));
        }
        file.document.validate().map_err(|e| match e {
            DocumentError::Version(v) => ImportError::Version(u64::from(v)),
            DocumentError::Invalid(m) => ImportError::Structure(m),
        })?;
        Ok(file)
    }
}

/// Why an imported file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("the file is not JSON: {0}")]
    NotJson(String),
    #[error("the file is not an Umbra snapshot export")]
    NotUmbra,
    #[error("version {0} is not supported")]
    Version(u64),
    #[error("the checksum does not match the document")]
    Checksum,
    #[error("{0}")]
    Structure(String),
}

/// What started a snapshot (`recovery.snapshots.trigger`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Trigger {
    Manual,
    Scheduled,
    PreRestore,
    Emergency,
    Import,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Manual => "manual",
            Trigger::Scheduled => "scheduled",
            Trigger::PreRestore => "pre_restore",
            Trigger::Emergency => "emergency",
            Trigger::Import => "import",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Trigger::Manual,
            Trigger::Scheduled,
            Trigger::PreRestore,
            Trigger::Emergency,
            Trigger::Import,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
    }
}

/// A stored snapshot without its payload.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotMeta {
    pub id: uuid::Uuid,
    pub trigger: Trigger,
    pub label: Option<String>,
    pub format_version: i32,
    pub checksum: Vec<u8>,
    pub content_hash: Vec<u8>,
    pub size_bytes: i64,
    pub uncompressed_bytes: i64,
    pub role_count: i32,
    pub channel_count: i32,
    pub overwrite_count: i32,
    pub member_count: i32,
    pub pinned: bool,
    pub pin_reason: Option<String>,
    pub as_of: DateTime<Utc>,
    pub schedule_slot: Option<i64>,
    pub created_by: Option<u64>,
    pub created_at: DateTime<Utc>,
}

impl SnapshotMeta {
    /// The label, or the short id when there is none.
    pub fn display_name(&self) -> String {
        match &self.label {
            Some(l) if !l.is_empty() => l.clone(),
            _ => self.short_id(),
        }
    }

    /// The last 8 hex digits of the id (the random part of a UUID v7).
    pub fn short_id(&self) -> String {
        let s = self.id.simple().to_string();
        s[s.len() - 8..].to_owned()
    }
}

/// Plan retention: which unpinned snapshots (newest first in `unpinned`) are over `keep`.
pub fn over_retention<T: Clone>(unpinned_newest_first: &[T], keep: usize) -> Vec<T> {
    unpinned_newest_first.iter().skip(keep).cloned().collect()
}

/// The schedule slot of `at` for an interval (minutes): `floor(epoch / interval)`.
pub fn schedule_slot(at: DateTime<Utc>, interval_minutes: u32) -> i64 {
    at.timestamp()
        .div_euclid(i64::from(interval_minutes.max(1)) * 60)
}

/// A label typed by a person: trimmed, at most 100 characters, `None` when empty.
pub fn clean_label(label: Option<&str>) -> Result<Option<String>, usize> {
    match label.map(str::trim).filter(|l| !l.is_empty()) {
        None => Ok(None),
        Some(l) if l.chars().count() > limits::LABEL_CHARS => Err(limits::LABEL_CHARS),
        Some(l) => Ok(Some(l.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::member::MemberState;
    use crate::recovery::sync::{ChannelState, OverwriteState, RoleState};

    fn role(id: u64, position: i32, name: &str) -> RoleState {
        RoleState {
            discord_role_id: id,
            name: name.into(),
            color: 0x11_2233,
            secondary_color: None,
            tertiary_color: None,
            hoist: false,
            position,
            permissions: 1 << 40,
            mentionable: true,
            managed: false,
            icon: None,
            unicode_emoji: None,
            tags: Some(serde_json::json!({"z": 1, "a": {"y": 2, "b": 3}})),
            flags: 0,
        }
    }

    fn channel(id: u64, kind: i16, parent: Option<u64>, position: i32) -> ChannelState {
        ChannelState {
            discord_channel_id: id,
            kind,
            name: format!("c{id}"),
            parent_id: parent,
            position,
            topic: Some("t".into()),
            nsfw: false,
            rate_limit_per_user: 0,
            bitrate: None,
            user_limit: None,
            rtc_region: None,
            video_quality_mode: None,
            default_auto_archive_duration: None,
            default_thread_rate_limit_per_user: None,
            available_tags: None,
            default_reaction_emoji: None,
            default_sort_order: None,
            default_forum_layout: None,
            flags: 0,
            overwrites: vec![
                OverwriteState {
                    target_id: 10,
                    target: OverwriteTarget::Role,
                    allow: 1024,
                    deny: 0,
                },
                OverwriteState {
                    target_id: 777,
                    target: OverwriteTarget::Member,
                    allow: 0,
                    deny: 2048,
                },
            ],
        }
    }

    pub(crate) fn state() -> GuildState {
        GuildState {
            guild_id: 10,
            as_of: DateTime::parse_from_rfc3339("2026-11-25T10:00:00Z")
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_default(),
            settings: Some(SettingsState {
                name: "Guild".into(),
                icon: None,
                description: None,
                verification_level: 1,
                default_message_notifications: 0,
                explicit_content_filter: 2,
                mfa_level: 0,
                afk_channel_id: Some(21),
                afk_timeout: 300,
                system_channel_id: Some(22),
                system_channel_flags: 0,
                rules_channel_id: None,
                public_updates_channel_id: Some(999),
                safety_alerts_channel_id: None,
                preferred_locale: "en-US".into(),
                premium_progress_bar_enabled: false,
                premium_tier: 0,
                features: vec!["COMMUNITY".into()],
                vanity_url_code: None,
                banner: None,
                splash: None,
            }),
            roles: vec![
                role(11, 2, "Mod"),
                role(10, 0, "@everyone"),
                role(12, 1, "Member"),
            ],
            channels: vec![
                channel(22, 0, Some(20), 1),
                channel(20, 4, None, 0),
                channel(21, 2, Some(20), 2),
            ],
            members: vec![
                MemberState {
                    discord_user_id: 778,
                    username: "b".into(),
                    global_name: None,
                    nick: Some("Bee".into()),
                    role_ids: vec![12, 11],
                    is_bot: false,
                    joined_at: None,
                },
                MemberState {
                    discord_user_id: 777,
                    username: "a".into(),
                    global_name: None,
                    nick: None,
                    role_ids: vec![],
                    is_bot: false,
                    joined_at: None,
                },
            ],
        }
    }

    fn doc() -> SnapshotDocument {
        SnapshotDocument::from_state(&state()).expect("a state with settings")
    }

    #[test]
    fn local_ids_follow_canonical_order_and_references_use_them() {
        let d = doc();
        let roles: Vec<(u32, u64)> = d.roles.iter().map(|r| (r.id, r.original_id)).collect();
        assert_eq!(roles, vec![(1, 10), (2, 12), (3, 11)]);
        assert!(d.roles[0].everyone);
        let category = d
            .channels
            .iter()
            .find(|c| c.original_id == 20)
            .map(|c| c.id);
        assert_eq!(category, Some(1));
        assert!(
            d.channels
                .iter()
                .filter(|c| c.kind != CATEGORY)
                .all(|c| c.parent == category)
        );
        let first = &d.channels[1].overwrites;
        assert_eq!(
            first[0].role,
            Some(1),
            "the @everyone overwrite names local role 1"
        );
        assert_eq!(first[1].user_id, Some(777));
        assert_eq!(d.members[0].user_id, 777, "members by user id");
        assert_eq!(d.members[1].roles, vec![2, 3]);
        assert_eq!(
            d.settings.public_updates_channel, None,
            "a reference to an unknown channel is dropped"
        );
        assert!(d.validate().is_ok());
    }

    #[test]
    fn the_same_state_gives_the_same_bytes_whatever_the_input_order() {
        let mut shuffled = state();
        shuffled.roles.reverse();
        shuffled.channels.reverse();
        shuffled.members.reverse();
        let a = doc().canonical_json().expect("json");
        let b = SnapshotDocument::from_state(&shuffled)
            .expect("doc")
            .canonical_json()
            .expect("json");
        assert_eq!(a, b);
        let text = String::from_utf8(a).expect("utf-8");
        assert!(
            text.contains(r#""tags":{"a":{"b":3,"y":2},"z":1}"#),
            "sorted keys: {text}"
        );
        assert!(
            text.contains(r#""permissions":"1099511627776""#),
            "bits as strings"
        );
    }

    #[test]
    fn the_content_hash_ignores_the_time_but_not_the_content() {
        let a = doc();
        let mut later = a.clone();
        later.as_of += chrono::Duration::hours(3);
        assert_eq!(a.content_hash().ok(), later.content_hash().ok());
        let mut renamed = a.clone();
        renamed.roles[1].name = "Members".into();
        assert_ne!(a.content_hash().ok(), renamed.content_hash().ok());
    }

    #[test]
    fn encode_then_decode_gives_the_document_back_and_detects_tampering() {
        let d = doc();
        let e = encode(&d).expect("encodes");
        assert_eq!((e.roles, e.channels, e.overwrites, e.members), (3, 3, 6, 2));
        assert_eq!(decode(&e.payload, &e.checksum, 1 << 20).ok(), Some(d));
        let mut damaged = e.payload.clone();
        if let Some(b) = damaged.last_mut() {
            *b ^= 1;
        }
        assert_eq!(
            decode(&damaged, &e.checksum, 1 << 20),
            Err(CodecError::Checksum)
        );
        assert_eq!(
            decode(&e.payload, &e.checksum, 16),
            Err(CodecError::TooLarge(16))
        );
    }

    #[test]
    fn an_export_round_trips_and_any_change_to_its_document_is_refused() {
        let d = doc();
        let file = ExportFile::new(d.clone(), Some("before raid".into()), "manual", d.as_of)
            .expect("export");
        let bytes = file.to_bytes().expect("bytes");
        let back = ExportFile::parse(&bytes).expect("parses");
        assert_eq!(back.document, d);
        let text = String::from_utf8(bytes).expect("utf-8");
        let tampered = text.replacen("\"Mod\"", "\"Owner\"", 1);
        assert_eq!(
            ExportFile::parse(tampered.as_bytes()).err(),
            Some(ImportError::Checksum)
        );
        let future = text.replacen("\"format_version\":1", "\"format_version\":2", 1);
        assert_eq!(
            ExportFile::parse(future.as_bytes()).err(),
            Some(ImportError::Version(2))
        );
        assert_eq!(
            ExportFile::parse(b"{\"a\": 1}").err(),
            Some(ImportError::NotUmbra)
        );
        assert!(matches!(
            ExportFile::parse(b"not json"),
            Err(ImportError::NotJson(_))
        ));
    }

    #[test]
    fn structural_problems_are_named() {
        let mut d = doc();
        d.channels[1].parent = Some(d.channels[2].id);
        assert!(
            matches!(d.validate(), Err(DocumentError::Invalid(m)) if m.contains("not a category"))
        );
        let mut d = doc();
        d.members[1].roles.push(99);
        assert!(
            matches!(d.validate(), Err(DocumentError::Invalid(m)) if m.contains("unknown role"))
        );
        let mut d = doc();
        d.channels[0].overwrites[0].role = Some(42);
        assert!(d.validate().is_err());
        let mut d = doc();
        d.roles[2].id = 1;
        assert!(d.validate().is_err());
        let mut d = doc();
        d.channels[0].name = String::new();
        assert!(d.validate().is_err());
    }

    #[test]
    fn retention_keeps_the_newest_unpinned() {
        assert_eq!(over_retention(&[5, 4, 3, 2, 1], 3), vec![2, 1]);
        assert!(over_retention(&[1], 3).is_empty());
    }

    #[test]
    fn schedule_slots_and_labels() {
        let t = DateTime::from_timestamp(3 * 3600 + 59, 0).unwrap_or_default();
        assert_eq!(schedule_slot(t, 60), 3);
        assert_eq!(schedule_slot(t, 1440), 0);
        assert_eq!(clean_label(Some("  x ")), Ok(Some("x".into())));
        assert_eq!(clean_label(Some("   ")), Ok(None));
        assert_eq!(clean_label(Some(&"x".repeat(101))), Err(100));
    }
}
