//! Purpose: the snapshot document (format v2; v1 still read) — its types and canonical form here; building
//! (`build`), validation (`validate`), the stored codec (`codec`) and the export file
//! (`export`) beside it; snapshot metadata and retention helpers. No I/O.
//!
//! A document freezes a guild: settings, roles, channels with their overwrites, and each
//! member's roles and nickname; from format v2 also the bans (when the mirror knew the ban
//! list), the custom emojis and the bytes of every image (emojis, guild icon, banner, splashes,
//! role icons) in `images`, each distinct image once, named by its SHA-256. Roles and channels get snapshot-local ids (1, 2, ... in
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

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::recovery::sync::{GuildState, OverwriteTarget, SettingsState};

mod build;
mod codec;
mod export;
mod validate;

pub use build::{avatar_url, message_doc};
pub use codec::{CodecError, Encoded, decode, encode};
pub use export::{ExportFile, ImportError};
pub use validate::DocumentError;

/// The document format this build writes. Version 2 added `bans` (absent = the ban list was
/// not known); version 1 documents (no `bans`) are still read and restored.
pub const FORMAT_VERSION: u32 = 2;
/// The oldest document format this build reads.
pub const MIN_FORMAT_VERSION: u32 = 1;
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
    pub const BANS: usize = 1_000_000;
    /// Static plus animated at the highest boost tier.
    pub const EMOJIS: usize = 500;
    /// Discord's emoji upload limit.
    pub const IMAGE_BYTES: usize = 256 * 1024;
    /// Guild icons, banners and splashes (Discord takes up to 10 MB).
    pub const PICTURE_BYTES: usize = 10 * 1024 * 1024;
    /// Messages kept per channel (the largest plan's bound is lower).
    pub const MESSAGES_PER_CHANNEL: usize = 10_000;
    /// A message's attachment kept with it (larger ones are listed, not kept).
    pub const FILE_BYTES: usize = 1024 * 1024;
    /// All attachments one snapshot keeps (newest messages' first); beyond, files are listed
    /// without their bytes.
    pub const FILES_TOTAL_BYTES: usize = 32 * 1024 * 1024;
    /// Discord's audit-log reason limit.
    pub const BAN_REASON_CHARS: usize = 512;
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
    /// Format v2 (absent in v1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovery_splash: Option<String>,
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

/// One ban (format v2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BanDoc {
    #[serde(with = "snowflake")]
    pub user_id: u64,
    /// The user's name when the ban was seen (for the preview).
    pub username: String,
    pub reason: Option<String>,
}

/// A custom emoji (format v2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmojiDoc {
    #[serde(with = "snowflake")]
    pub original_id: u64,
    pub name: String,
    /// Snapshot-local ids of the roles allowed to use it (empty: everyone).
    pub roles: Vec<u32>,
    pub animated: bool,
    /// SHA-256 (hex) of its image in the document's `images`; `None`: the image could not be
    /// kept (the emoji cannot be re-created).
    pub image: Option<String>,
}

/// A guild sticker (format v2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StickerDoc {
    #[serde(with = "snowflake")]
    pub original_id: u64,
    pub name: String,
    pub description: Option<String>,
    pub tags: String,
    /// 1 PNG, 2 APNG, 3 LOTTIE, 4 GIF.
    pub format_type: i16,
    /// SHA-256 (hex) of its file in `images`; `None`: not kept (cannot be uploaded again).
    pub image: Option<String>,
}

/// The welcome screen (format v2); its channels by snapshot-local id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WelcomeDoc {
    pub enabled: bool,
    pub description: Option<String>,
    /// (channel, description, emoji name).
    pub channels: Vec<(u32, String, Option<String>)>,
}

/// A channel webhook made by a person (format v2); its channel by snapshot-local id. Its
/// avatar's bytes are in `pictures` under `webhook.{original_id}.avatar`. Never its token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookDoc {
    #[serde(with = "snowflake")]
    pub original_id: u64,
    pub name: String,
    pub channel: u32,
    /// Discord's hash of its avatar.
    pub avatar: Option<String>,
}

/// The onboarding (format v2); its roles and channels by snapshot-local id.
pub type OnboardingDoc = crate::recovery::sync::model::Onboarding<u32>;

/// A scheduled event (format v2); its channel by snapshot-local id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventDoc {
    #[serde(with = "snowflake")]
    pub original_id: u64,
    pub name: String,
    pub description: Option<String>,
    pub start: DateTime<Utc>,
    pub end: Option<DateTime<Utc>>,
    /// 1 stage, 2 voice, 3 external.
    pub entity_type: i16,
    /// Snapshot-local id of its voice or stage channel.
    pub channel: Option<u32>,
    /// Where an external event happens.
    pub location: Option<String>,
    /// 1 scheduled, 2 active, 3 completed, 4 canceled (only scheduled ones are made again).
    pub status: i16,
    /// Discord's hash of its cover image (the bytes are in `pictures` under
    /// `event.{original_id}.image`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}

/// A thread (format v2): active ones and the archived ones of forum, media and announcement
/// channels; a forum post with its starter message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThreadDoc {
    #[serde(with = "snowflake")]
    pub original_id: u64,
    /// 10 announcement, 11 public, 12 private.
    pub kind: i16,
    pub name: String,
    /// Snapshot-local id of its channel.
    pub parent: u32,
    pub archived: bool,
    pub locked: bool,
    /// Minutes (60, 1440, 4320, 10080).
    pub auto_archive_duration: i32,
    pub invitable: bool,
    pub rate_limit_per_user: i32,
    /// A pinned forum post.
    pub pinned: bool,
    /// Names of the parent forum's tags it has (tag ids change when a forum is made again).
    pub tags: Vec<String>,
    /// A forum post's starter message (its text); `None`: not a post, or not kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starter: Option<String>,
}

/// The last messages of one channel (format v2, opt-in: `/backup messages`), oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageChannelDoc {
    /// Snapshot-local channel id.
    pub channel: u32,
    pub messages: Vec<MessageDoc>,
}

/// One kept message: what a webhook can post again as its author.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageDoc {
    #[serde(with = "snowflake")]
    pub original_id: u64,
    #[serde(with = "snowflake")]
    pub author_id: u64,
    /// The name it was shown with (server nickname, else display name, else username).
    pub author: String,
    /// The author's avatar on Discord's CDN (the default avatar when they had none).
    pub avatar: String,
    pub content: String,
    /// Rich embeds as Discord gave them (without the fields a webhook cannot send).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub embeds: Vec<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileDoc>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pinned: bool,
}

/// A message's attachment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileDoc {
    pub filename: String,
    pub size: u64,
    /// Its bytes in `images` by SHA-256 (hex); `None`: over the size limit or unreadable —
    /// the restore says so in the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

/// An AutoMod rule (format v2); the roles and channels it names by snapshot-local id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoModDoc {
    #[serde(with = "snowflake")]
    pub original_id: u64,
    pub name: String,
    /// 1 MESSAGE_SEND, 2 MEMBER_UPDATE.
    pub event_type: i16,
    /// 1 KEYWORD, 3 SPAM, 4 KEYWORD_PRESET, 5 MENTION_SPAM, 6 MEMBER_PROFILE.
    pub trigger_type: i16,
    /// As Discord takes it (keywords, patterns, allow list, presets, mention limit).
    pub trigger_metadata: Value,
    pub actions: Vec<AutoModActionDoc>,
    pub enabled: bool,
    /// Snapshot-local role ids, sorted.
    pub exempt_roles: Vec<u32>,
    /// Snapshot-local channel ids, sorted.
    pub exempt_channels: Vec<u32>,
}

/// One action of an AutoMod rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoModActionDoc {
    /// 1 block the message, 2 alert a channel, 3 time out, 4 block member interactions.
    #[serde(rename = "type")]
    pub kind: i16,
    /// As Discord takes it, without the alert channel (that is `channel`).
    pub metadata: Value,
    /// Snapshot-local id of the alert channel (type 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<u32>,
}

/// A snapshot document (format v2; v1 has no `bans`, `emojis`, `stickers`, `automod` or
/// `images`).
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
    /// By user id; `None` when the ban list was not known (every v1 document): a restore then
    /// leaves bans alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bans: Option<Vec<BanDoc>>,
    /// By original id; `None` in v1 documents (a restore leaves emojis alone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emojis: Option<Vec<EmojiDoc>>,
    /// By original id; `None` in v1 documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stickers: Option<Vec<StickerDoc>>,
    /// `None` when it was not known (v1 documents): a restore leaves it alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub welcome: Option<WelcomeDoc>,
    /// `None` when it was not known (v1 documents, or never read): a restore leaves it alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onboarding: Option<OnboardingDoc>,
    /// By original id; `None` when they were not known (v1 documents, no Manage Webhooks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhooks: Option<Vec<WebhookDoc>>,
    /// By original id; `None` when the events were not known (v1 documents).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<EventDoc>>,
    /// By original id; `None` in v1 documents (a restore then leaves threads alone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<Vec<ThreadDoc>>,
    /// By original id; `None` when the rules were not known (v1 documents; no Manage Server):
    /// a restore then leaves AutoMod alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automod: Option<Vec<AutoModDoc>>,
    /// The last messages of the channels the guild chose (by channel); `None`: message backups
    /// were off (a restore then posts none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<MessageChannelDoc>>,
    /// Image and attachment bytes (base64) by their SHA-256 (hex): identical bytes are stored
    /// once.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub images: BTreeMap<String, String>,
    /// Which image each picture of the guild is, by SHA-256 (hex) in `images`: `guild.icon`,
    /// `guild.banner`, `guild.splash`, `guild.discovery_splash`, `role.{original id}.icon`. A
    /// picture the snapshot could not keep is absent.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pictures: BTreeMap<String, String>,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    bans: Option<&'a [BanDoc]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    emojis: Option<&'a [EmojiDoc]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stickers: Option<&'a [StickerDoc]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    automod: Option<&'a [AutoModDoc]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    threads: Option<&'a [ThreadDoc]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    events: Option<&'a [EventDoc]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    welcome: Option<&'a WelcomeDoc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    onboarding: Option<&'a OnboardingDoc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    webhooks: Option<&'a [WebhookDoc]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    messages: Option<&'a [MessageChannelDoc]>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    images: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pictures: &'a BTreeMap<String, String>,
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
    /// The Discord id a channel had (by its snapshot-local id).
    pub fn channel_original(&self, local: u32) -> Option<u64> {
        self.channels
            .iter()
            .find(|c| c.id == local)
            .map(|c| c.original_id)
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
            bans: self.bans.as_deref(),
            emojis: self.emojis.as_deref(),
            stickers: self.stickers.as_deref(),
            automod: self.automod.as_deref(),
            threads: self.threads.as_deref(),
            events: self.events.as_deref(),
            welcome: self.welcome.as_ref(),
            onboarding: self.onboarding.as_ref(),
            webhooks: self.webhooks.as_deref(),
            messages: self.messages.as_deref(),
            images: &self.images,
            pictures: &self.pictures,
        };
        let bytes = serde_json::to_vec(&content).map_err(|e| CodecError::Json(e.to_string()))?;
        Ok(Sha256::digest(&bytes).into())
    }

    pub fn overwrite_count(&self) -> usize {
        self.channels.iter().map(|c| c.overwrites.len()).sum()
    }
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
    /// `None`: the document has no ban list.
    pub ban_count: Option<i32>,
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
                verification_level: 1,
                explicit_content_filter: 2,
                afk_channel_id: Some(21),
                system_channel_id: Some(22),
                public_updates_channel_id: Some(999),
                features: vec!["COMMUNITY".into()],
                automod: None,
                events: None,
                webhooks: None,
                ..SettingsState::named("Guild")
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
            bans: None,
            threads: Vec::new(),
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
        let future = text.replacen("\"format_version\":2", "\"format_version\":3", 1);
        assert_eq!(
            ExportFile::parse(future.as_bytes()).err(),
            Some(ImportError::Version(3))
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
    fn a_version_1_document_is_still_read_and_bans_are_only_known_from_version_2() {
        let state = state();
        let mut d = SnapshotDocument::from_state(&state).expect("builds");
        assert_eq!((d.format_version, d.bans.as_ref()), (2, None));
        // Without a ban list there is no `bans` key (a restore then leaves bans alone).
        let v2 = String::from_utf8(d.canonical_json().expect("json")).expect("utf-8");
        assert!(!v2.contains("bans"), "{v2}");
        d.format_version = 1;
        assert!(d.validate().is_err(), "emojis need version 2");
        d.emojis = None;
        d.stickers = None;
        assert!(d.validate().is_err(), "threads need version 2");
        d.threads = None;
        d.events = None;
        d.welcome = None;
        d.onboarding = None;
        d.webhooks = None;
        assert_eq!(d.validate(), Ok(()));
        d.bans = Some(vec![]);
        assert!(matches!(d.validate(), Err(DocumentError::Invalid(m)) if m.contains("version 2")));
        d.format_version = 2;
        let ban = |user: u64| BanDoc {
            user_id: user,
            username: "raider".into(),
            reason: Some("spam".into()),
        };
        d.bans = Some(vec![ban(5), ban(6)]);
        assert_eq!(d.validate(), Ok(()));
        let with_bans = d.content_hash().expect("hash");
        d.bans = Some(vec![ban(5)]);
        assert_ne!(d.content_hash().expect("hash"), with_bans);
        d.bans = Some(vec![ban(5), ban(5)]);
        assert!(matches!(d.validate(), Err(DocumentError::Invalid(m)) if m.contains("twice")));
        d.bans = Some(vec![BanDoc {
            reason: Some("x".repeat(513)),
            ..ban(5)
        }]);
        assert!(d.validate().is_err());
        d.format_version = 3;
        d.bans = None;
        assert_eq!(d.validate(), Err(DocumentError::Version(3)));
    }

    /// SHA-256 of `a` (base64 `YQ==`).
    const A_SHA256: &str = "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb";

    #[test]
    fn kept_messages_must_name_a_text_channel_of_the_document_and_files_it_holds() {
        let mut d = doc();
        let text = d
            .channels
            .iter()
            .find(|c| c.kind == 0)
            .map(|c| c.id)
            .expect("a text channel");
        let category = d
            .channels
            .iter()
            .find(|c| c.kind == CATEGORY)
            .map(|c| c.id)
            .expect("a category");
        let message = |id: u64, file: Option<&str>| MessageDoc {
            original_id: id,
            author_id: 7,
            author: "Ann".into(),
            avatar: "https://cdn.discordapp.com/embed/avatars/0.png".into(),
            content: "hello".into(),
            embeds: Vec::new(),
            files: file
                .map(|h| {
                    vec![FileDoc {
                        filename: "a.txt".into(),
                        size: 1,
                        data: Some(h.into()),
                    }]
                })
                .unwrap_or_default(),
            pinned: false,
        };
        let kept = |channel: u32, messages: Vec<MessageDoc>| {
            Some(vec![MessageChannelDoc { channel, messages }])
        };
        d.messages = kept(text, vec![message(1, None), message(2, None)]);
        assert_eq!(d.validate(), Ok(()));
        let hash = d.content_hash().expect("hash");
        d.messages = kept(text, vec![message(1, None)]);
        assert_ne!(
            d.content_hash().expect("hash"),
            hash,
            "messages are content"
        );
        d.messages = kept(category, vec![message(1, None)]);
        assert!(d.validate().is_err(), "a category holds no messages");
        d.messages = kept(999, vec![message(1, None)]);
        assert!(d.validate().is_err(), "an unknown channel");
        d.messages = kept(text, vec![message(1, None), message(1, None)]);
        assert!(d.validate().is_err(), "a message twice");
        d.messages = kept(text, vec![message(1, Some(A_SHA256))]);
        assert!(
            d.validate().is_err(),
            "a file whose bytes are not in the document"
        );
        d.images.insert(A_SHA256.into(), "YQ==".into());
        assert_eq!(d.validate(), Ok(()));
        let mut long = message(3, None);
        long.content = "x".repeat(2001);
        d.messages = kept(text, vec![long]);
        assert!(d.validate().is_err(), "over 2,000 characters");
        d.format_version = 1;
        d.messages = kept(text, Vec::new());
        d.images.clear();
        d.emojis = None;
        d.stickers = None;
        d.threads = None;
        d.events = None;
        d.welcome = None;
        d.onboarding = None;
        d.webhooks = None;
        assert!(d.validate().is_err(), "messages need version 2");
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
