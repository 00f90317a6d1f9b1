//! Purpose: the normalized state of a guild as live sync mirrors it — settings, roles, channels
//! with their permission overwrites, members — independent of serenity and of storage, plus
//! the sync state of a guild. Values are canonical (sorted lists, clamped to what the schema
//! accepts) so that "unchanged" is plain equality.

use chrono::{DateTime, Utc};
use serde_json::Value;

pub use crate::member::{BanState, MemberState};

/// Channel types that are part of a guild's structure (threads are not).
pub mod channel_kind {
    pub const TEXT: i16 = 0;
    pub const VOICE: i16 = 2;
    pub const CATEGORY: i16 = 4;
    pub const ANNOUNCEMENT: i16 = 5;
    pub const STAGE: i16 = 13;
    pub const FORUM: i16 = 15;
    pub const MEDIA: i16 = 16;
    /// Announcement, public and private threads.
    pub const THREADS: [i16; 3] = [10, 11, 12];
    pub const PRIVATE_THREAD: i16 = 12;
}

/// The largest colour value Discord uses (0xRRGGBB).
const MAX_COLOR: u32 = 0x00FF_FFFF;

/// Stores a permission bitset (Discord's are far below 2^63).
pub fn bits_to_db(bits: u64) -> i64 {
    i64::try_from(bits).unwrap_or(i64::MAX)
}

/// A colour clamped to 0xRRGGBB (the schema's CHECK).
pub fn color_to_db(color: u32) -> i32 {
    i32::try_from(color.min(MAX_COLOR)).unwrap_or(0)
}

/// A role.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleState {
    pub discord_role_id: u64,
    pub name: String,
    pub color: i32,
    pub secondary_color: Option<i32>,
    pub tertiary_color: Option<i32>,
    pub hoist: bool,
    pub position: i32,
    pub permissions: i64,
    pub mentionable: bool,
    pub managed: bool,
    pub icon: Option<String>,
    pub unicode_emoji: Option<String>,
    /// Discord's role tags as received (`bot_id`, `integration_id`, ...), `None` without tags.
    pub tags: Option<Value>,
    pub flags: i32,
}

impl RoleState {
    /// A plain role: no colour, icon or tags, not hoisted, managed or mentionable.
    pub fn plain(id: u64, name: &str, position: i32, permissions: i64) -> Self {
        Self {
            discord_role_id: id,
            name: name.to_owned(),
            color: 0,
            secondary_color: None,
            tertiary_color: None,
            hoist: false,
            position,
            permissions,
            mentionable: false,
            managed: false,
            icon: None,
            unicode_emoji: None,
            tags: None,
            flags: 0,
        }
    }
}

/// Who a permission overwrite applies to.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum OverwriteTarget {
    Role,
    Member,
}

impl OverwriteTarget {
    /// Discord's (and the schema's) number: 0 = role, 1 = member.
    pub fn num(self) -> i16 {
        match self {
            OverwriteTarget::Role => 0,
            OverwriteTarget::Member => 1,
        }
    }

    pub fn from_num(n: i16) -> Option<Self> {
        match n {
            0 => Some(OverwriteTarget::Role),
            1 => Some(OverwriteTarget::Member),
            _ => None,
        }
    }
}

/// A channel permission overwrite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OverwriteState {
    pub target_id: u64,
    pub target: OverwriteTarget,
    pub allow: i64,
    pub deny: i64,
}

/// A channel (any type but threads) with its overwrites (sorted by target id).
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelState {
    pub discord_channel_id: u64,
    pub kind: i16,
    pub name: String,
    pub parent_id: Option<u64>,
    pub position: i32,
    pub topic: Option<String>,
    pub nsfw: bool,
    pub rate_limit_per_user: i32,
    /// `None` for channels without voice (the schema forbids 0).
    pub bitrate: Option<i32>,
    pub user_limit: Option<i32>,
    pub rtc_region: Option<String>,
    pub video_quality_mode: Option<i16>,
    pub default_auto_archive_duration: Option<i32>,
    pub default_thread_rate_limit_per_user: Option<i32>,
    /// Forum/media tags as received (a JSON array), `None` for other channels.
    pub available_tags: Option<Value>,
    pub default_reaction_emoji: Option<Value>,
    pub default_sort_order: Option<i16>,
    pub default_forum_layout: Option<i16>,
    pub flags: i32,
    pub overwrites: Vec<OverwriteState>,
}

impl ChannelState {
    /// Sorts the overwrites (canonical order) and drops duplicates of a target.
    pub fn normalized(mut self) -> Self {
        self.overwrites.sort_by_key(|o| o.target_id);
        self.overwrites.dedup_by_key(|o| o.target_id);
        if self.bitrate.is_some_and(|b| b <= 0) {
            self.bitrate = None;
        }
        self.user_limit = self.user_limit.map(|u| u.max(0));
        self.rate_limit_per_user = self.rate_limit_per_user.max(0);
        self.position = self.position.max(0);
        self
    }
}

/// Guild-level settings.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingsState {
    pub name: String,
    pub icon: Option<String>,
    pub description: Option<String>,
    pub verification_level: i16,
    pub default_message_notifications: i16,
    pub explicit_content_filter: i16,
    pub mfa_level: i16,
    pub afk_channel_id: Option<u64>,
    pub afk_timeout: i32,
    pub system_channel_id: Option<u64>,
    pub system_channel_flags: i32,
    pub rules_channel_id: Option<u64>,
    pub public_updates_channel_id: Option<u64>,
    pub safety_alerts_channel_id: Option<u64>,
    pub preferred_locale: String,
    pub premium_progress_bar_enabled: bool,
    pub premium_tier: i16,
    /// Sorted.
    pub features: Vec<String>,
    pub vanity_url_code: Option<String>,
    pub banner: Option<String>,
    pub splash: Option<String>,
    /// Custom emojis, by id (versioned with the settings: they change rarely).
    pub emojis: Vec<EmojiState>,
    pub discovery_splash: Option<String>,
    /// Guild stickers, by id (versioned with the settings).
    pub stickers: Vec<StickerState>,
    /// AutoMod rules, by id; `None`: not read yet (they do not come with GUILD_CREATE: live
    /// sync reads them by REST, which needs Manage Server). Writing `None` keeps what is stored.
    pub automod: Option<Vec<AutoModRuleState>>,
    /// Scheduled events, by id; `None`: not read yet (read by REST like AutoMod: serenity's
    /// cache does not follow their events).
    pub events: Option<Vec<EventState>>,
    /// The welcome screen (a guild without one has an empty, disabled one); `None`: not read
    /// yet.
    pub welcome: Option<WelcomeState>,
    /// The onboarding (read by REST on load and after each ONBOARDING_* audit entry);
    /// `None`: not read yet.
    pub onboarding: Option<OnboardingState>,
    /// The channel webhooks people made, by id (read by REST on load and after each
    /// WEBHOOKS_UPDATE; it needs Manage Webhooks); `None`: not read yet.
    pub webhooks: Option<Vec<WebhookState>>,
}

/// A channel webhook of the guild's own: an incoming webhook made by a person, or by Umbra (a
/// restore made it again). Those of other bots and integrations are theirs to make again, and
/// followed-channel webhooks need the followed server: not kept. Its token and URL are never
/// kept. Stored as its serde form.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookState {
    #[serde(with = "crate::recovery::restore::model::snowflake")]
    pub id: u64,
    pub name: String,
    #[serde(with = "crate::recovery::restore::model::snowflake")]
    pub channel_id: u64,
    /// Discord's hash of its avatar.
    pub avatar: Option<String>,
}

/// The name prefix of the webhooks a restore makes to post kept messages again (one per
/// channel and job, deleted when its messages are posted): never mirrored or snapshotted.
pub const REPLAY_WEBHOOK_PREFIX: &str = "Umbra replay ";

impl WebhookState {
    /// The webhooks a list from Discord (`GET /guilds/{g}/webhooks`) has that Umbra keeps
    /// (`own_application`: Umbra's), sorted by id; `None` when the list does not read.
    pub fn kept_from_discord(v: &serde_json::Value, own_application: u64) -> Option<Vec<Self>> {
        // A restore's replay webhooks are Umbra's tools for a few minutes, not the guild's.
        let replay = |w: &serde_json::Value| {
            w.get("name")
                .and_then(|n| n.as_str())
                .is_some_and(|n| n.starts_with(REPLAY_WEBHOOK_PREFIX))
        };
        let mut out = Vec::new();
        for w in v.as_array()? {
            let application = w
                .get("application_id")
                .and_then(|a| a.as_str())
                .and_then(|a| a.parse::<u64>().ok());
            let kept = w.get("type").and_then(|t| t.as_u64()) == Some(1)
                && application.is_none_or(|a| a == own_application)
                && !(application == Some(own_application) && replay(w));
            if !kept {
                continue;
            }
            out.push(Self {
                id: w.get("id")?.as_str()?.parse().ok()?,
                name: w
                    .get("name")
                    .and_then(|n| n.as_str())
                    .unwrap_or_default()
                    .to_owned(),
                channel_id: w.get("channel_id")?.as_str()?.parse().ok()?,
                avatar: w.get("avatar").and_then(|a| a.as_str()).map(str::to_owned),
            });
        }
        out.sort_by_key(|w| w.id);
        Some(out)
    }
}

/// A guild's onboarding as mirrored: roles and channels are ids of this guild.
pub type OnboardingState = Onboarding<u64>;

/// A guild's onboarding, its roles and channels as `I`: guild ids when mirrored, snapshot-local
/// ids in a snapshot, references in a restore step. Prompt and option ids are not kept (Discord
/// gives new ones to prompts it does not know). An option's emoji is kept when it is a Unicode
/// emoji (a custom emoji's id would not survive its own restore). Stored as its serde form.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Onboarding<I> {
    pub enabled: bool,
    /// 0 default, 1 advanced.
    pub mode: u8,
    pub default_channels: Vec<I>,
    pub prompts: Vec<OnboardingPrompt<I>>,
}

/// One onboarding question.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnboardingPrompt<I> {
    pub title: String,
    /// 0 multiple choice, 1 dropdown.
    pub kind: u8,
    pub single_select: bool,
    pub required: bool,
    pub in_onboarding: bool,
    pub options: Vec<OnboardingOption<I>>,
}

/// One answer of a prompt: the roles it gives and the channels it shows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnboardingOption<I> {
    pub title: String,
    pub description: Option<String>,
    /// A Unicode emoji.
    pub emoji: Option<String>,
    pub roles: Vec<I>,
    pub channels: Vec<I>,
}

impl<I> Onboarding<I> {
    /// The same onboarding with its roles and channels mapped; an id that does not map is left
    /// out, then an option left with neither roles nor channels, then a prompt left with no
    /// option (Discord refuses both). Also returns how many ids were left out.
    pub fn map<J>(
        &self,
        role: impl Fn(&I) -> Option<J>,
        channel: impl Fn(&I) -> Option<J>,
    ) -> (Onboarding<J>, usize) {
        let mut dropped = 0;
        let mut list = |ids: &[I], f: &dyn Fn(&I) -> Option<J>| -> Vec<J> {
            let out: Vec<J> = ids.iter().filter_map(f).collect();
            dropped += ids.len() - out.len();
            out
        };
        let default_channels = list(&self.default_channels, &channel);
        let prompts = self
            .prompts
            .iter()
            .map(|p| OnboardingPrompt {
                title: p.title.clone(),
                kind: p.kind,
                single_select: p.single_select,
                required: p.required,
                in_onboarding: p.in_onboarding,
                options: p
                    .options
                    .iter()
                    .map(|o| OnboardingOption {
                        title: o.title.clone(),
                        description: o.description.clone(),
                        emoji: o.emoji.clone(),
                        roles: list(&o.roles, &role),
                        channels: list(&o.channels, &channel),
                    })
                    .filter(|o| !o.roles.is_empty() || !o.channels.is_empty())
                    .collect(),
            })
            .filter(|p: &OnboardingPrompt<J>| !p.options.is_empty())
            .collect();
        (
            Onboarding {
                enabled: self.enabled,
                mode: self.mode,
                default_channels,
                prompts,
            },
            dropped,
        )
    }

    /// Every role and every channel it names (repeats included).
    pub fn ids(&self) -> (Vec<&I>, Vec<&I>) {
        let options = self.prompts.iter().flat_map(|p| &p.options);
        let roles = options.clone().flat_map(|o| &o.roles).collect();
        let channels = self
            .default_channels
            .iter()
            .chain(options.flat_map(|o| &o.channels))
            .collect();
        (roles, channels)
    }
}

impl OnboardingState {
    /// From Discord's answer (GuildOnboardingResponse); `None` when it does not read.
    pub fn from_discord(v: &serde_json::Value) -> Option<Self> {
        let ids = |v: Option<&serde_json::Value>| -> Option<Vec<u64>> {
            v?.as_array()?
                .iter()
                .map(|x| x.as_str()?.parse().ok())
                .collect()
        };
        let text = |v: &serde_json::Value, key: &str| {
            v.get(key)
                .and_then(|d| d.as_str())
                .filter(|d| !d.is_empty())
                .map(str::to_owned)
        };
        let flag = |v: &serde_json::Value, key: &str| v.get(key).and_then(|b| b.as_bool());
        let mut prompts = Vec::new();
        for p in v.get("prompts")?.as_array()? {
            let mut options = Vec::new();
            for o in p.get("options")?.as_array()? {
                let emoji = o
                    .get("emoji")
                    .filter(|e| e.get("id").is_none_or(|id| id.is_null()))
                    .and_then(|e| text(e, "name"))
                    .or_else(|| {
                        o.get("emoji_id")
                            .is_none_or(|id| id.is_null())
                            .then(|| text(o, "emoji_name"))
                            .flatten()
                    });
                options.push(OnboardingOption {
                    title: o.get("title")?.as_str()?.to_owned(),
                    description: text(o, "description"),
                    emoji,
                    roles: ids(o.get("role_ids")).unwrap_or_default(),
                    channels: ids(o.get("channel_ids")).unwrap_or_default(),
                });
            }
            prompts.push(OnboardingPrompt {
                title: p.get("title")?.as_str()?.to_owned(),
                kind: u8::try_from(p.get("type")?.as_u64()?).ok()?,
                single_select: flag(p, "single_select").unwrap_or(false),
                required: flag(p, "required").unwrap_or(false),
                in_onboarding: flag(p, "in_onboarding").unwrap_or(true),
                options,
            });
        }
        Some(Self {
            enabled: flag(v, "enabled")?,
            mode: u8::try_from(v.get("mode").and_then(|m| m.as_u64()).unwrap_or(0)).ok()?,
            default_channels: ids(v.get("default_channel_ids"))?,
            prompts,
        })
    }

    /// Discord's body for `PUT /guilds/{g}/onboarding` (the whole onboarding).
    pub fn to_discord(&self) -> serde_json::Value {
        let ids = |v: &[u64]| v.iter().map(u64::to_string).collect::<Vec<_>>();
        serde_json::json!({
            "enabled": self.enabled,
            "mode": self.mode,
            "default_channel_ids": ids(&self.default_channels),
            "prompts": self.prompts.iter().map(|p| serde_json::json!({
                "title": p.title,
                "type": p.kind,
                "single_select": p.single_select,
                "required": p.required,
                "in_onboarding": p.in_onboarding,
                "options": p.options.iter().map(|o| serde_json::json!({
                    "title": o.title,
                    "description": o.description,
                    "emoji_name": o.emoji,
                    "role_ids": ids(&o.roles),
                    "channel_ids": ids(&o.channels),
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        })
    }
}

/// A guild's welcome screen (its channels are ids of this guild). Stored as its serde form.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WelcomeState {
    pub enabled: bool,
    pub description: Option<String>,
    /// (channel, description, emoji name).
    pub channels: Vec<(u64, String, Option<String>)>,
}

impl WelcomeState {
    /// From Discord's answer (`enabled` is not in it: a screen that answers is taken as on).
    pub fn from_discord(v: &serde_json::Value) -> Option<Self> {
        Some(Self {
            enabled: v.get("enabled").and_then(|e| e.as_bool()).unwrap_or(true),
            description: v
                .get("description")
                .and_then(|d| d.as_str())
                .map(str::to_owned),
            channels: v
                .get("welcome_channels")?
                .as_array()?
                .iter()
                .filter_map(|c| {
                    Some((
                        c.get("channel_id")?.as_str()?.parse().ok()?,
                        c.get("description")?.as_str()?.to_owned(),
                        c.get("emoji_name")
                            .and_then(|e| e.as_str())
                            .map(str::to_owned),
                    ))
                })
                .collect(),
        })
    }
}

/// A guild scheduled event (its cover image by Discord's hash: snapshots keep the bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventState {
    pub id: u64,
    pub name: String,
    pub description: Option<String>,
    pub start: DateTime<Utc>,
    pub end: Option<DateTime<Utc>>,
    /// 1 stage, 2 voice, 3 external.
    pub entity_type: i16,
    pub channel_id: Option<u64>,
    /// Where an external event happens.
    pub location: Option<String>,
    /// 1 scheduled, 2 active, 3 completed, 4 canceled.
    pub status: i16,
    /// Discord's hash of its cover image.
    pub image: Option<String>,
}

impl EventState {
    /// An event from Discord's JSON (a REST answer) or from its stored form (the same fields);
    /// `None` when a required field is missing or malformed.
    pub fn from_json(v: &serde_json::Value) -> Option<Self> {
        let time = |key: &str| {
            v.get(key)?
                .as_str()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc))
        };
        Some(Self {
            id: v.get("id")?.as_str()?.parse().ok()?,
            name: v.get("name")?.as_str()?.to_owned(),
            description: v
                .get("description")
                .and_then(|d| d.as_str())
                .map(str::to_owned),
            start: time("scheduled_start_time")?,
            end: time("scheduled_end_time"),
            entity_type: i16::try_from(v.get("entity_type")?.as_i64()?).ok()?,
            channel_id: v
                .get("channel_id")
                .and_then(|c| c.as_str())
                .and_then(|c| c.parse().ok()),
            location: v
                .pointer("/entity_metadata/location")
                .and_then(|l| l.as_str())
                .map(str::to_owned),
            status: i16::try_from(v.get("status")?.as_i64()?).ok()?,
            image: v.get("image").and_then(|i| i.as_str()).map(str::to_owned),
        })
    }

    /// The stored form (Discord's field names).
    pub fn to_json(&self) -> serde_json::Value {
        let time = |t: &DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, false);
        serde_json::json!({
            "id": self.id.to_string(),
            "name": self.name,
            "description": self.description,
            "scheduled_start_time": time(&self.start),
            "scheduled_end_time": self.end.as_ref().map(time),
            "entity_type": self.entity_type,
            "channel_id": self.channel_id.map(|c| c.to_string()),
            "entity_metadata": self.location.as_ref().map(|l| serde_json::json!({ "location": l })),
            "status": self.status,
            "image": self.image,
        })
    }
}

/// An AutoMod rule. Its trigger metadata and actions are kept in Discord's shape; the roles and
/// channels it names (exempt ones, an alert action's channel) are ids of this guild.
#[derive(Debug, Clone, PartialEq)]
pub struct AutoModRuleState {
    pub id: u64,
    pub name: String,
    /// 1 MESSAGE_SEND, 2 MEMBER_UPDATE.
    pub event_type: i16,
    /// 1 KEYWORD, 3 SPAM, 4 KEYWORD_PRESET, 5 MENTION_SPAM, 6 MEMBER_PROFILE.
    pub trigger_type: i16,
    pub trigger_metadata: serde_json::Value,
    /// `{type, metadata}` each; an alert (type 2) names its channel in `metadata.channel_id`.
    pub actions: Vec<serde_json::Value>,
    pub enabled: bool,
    /// Sorted.
    pub exempt_roles: Vec<u64>,
    /// Sorted.
    pub exempt_channels: Vec<u64>,
}

impl AutoModRuleState {
    /// A rule from Discord's JSON (a REST answer, an event) or from its stored form (the same
    /// fields); `None` when a required field is missing or malformed.
    pub fn from_json(v: &serde_json::Value) -> Option<Self> {
        let id = |v: &serde_json::Value| v.as_str().and_then(|s| s.parse::<u64>().ok());
        let ids = |key: &str| -> Vec<u64> {
            let mut out: Vec<u64> = v
                .get(key)
                .and_then(|a| a.as_array())
                .into_iter()
                .flatten()
                .filter_map(id)
                .collect();
            out.sort_unstable();
            out.dedup();
            out
        };
        Some(Self {
            id: id(v.get("id")?)?,
            name: v.get("name")?.as_str()?.to_owned(),
            event_type: i16::try_from(v.get("event_type")?.as_i64()?).ok()?,
            trigger_type: i16::try_from(v.get("trigger_type")?.as_i64()?).ok()?,
            trigger_metadata: v
                .get("trigger_metadata")
                .cloned()
                .filter(|m| m.is_object())
                .unwrap_or_else(|| serde_json::json!({})),
            actions: v.get("actions")?.as_array()?.clone(),
            enabled: v.get("enabled").and_then(|e| e.as_bool()).unwrap_or(false),
            exempt_roles: ids("exempt_roles"),
            exempt_channels: ids("exempt_channels"),
        })
    }

    /// The stored form (Discord's field names; ids as strings).
    pub fn to_json(&self) -> serde_json::Value {
        let strings = |v: &[u64]| v.iter().map(u64::to_string).collect::<Vec<_>>();
        serde_json::json!({
            "id": self.id.to_string(),
            "name": self.name,
            "event_type": self.event_type,
            "trigger_type": self.trigger_type,
            "trigger_metadata": self.trigger_metadata,
            "actions": self.actions,
            "enabled": self.enabled,
            "exempt_roles": strings(&self.exempt_roles),
            "exempt_channels": strings(&self.exempt_channels),
        })
    }

    /// The channel of each alert action (type 2), in order.
    pub fn alert_channels(&self) -> Vec<u64> {
        self.actions
            .iter()
            .filter_map(|a| a.pointer("/metadata/channel_id")?.as_str()?.parse().ok())
            .collect()
    }
}

/// A guild sticker (its file is not mirrored: snapshots fetch it from Discord's CDN).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StickerState {
    pub id: u64,
    pub name: String,
    pub description: Option<String>,
    /// The autocomplete emoji name(s), comma-separated as Discord takes them.
    pub tags: String,
    /// 1 PNG, 2 APNG, 3 LOTTIE, 4 GIF.
    pub format_type: i16,
}

/// A custom emoji (its image is not mirrored: snapshots fetch it from Discord's CDN).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmojiState {
    pub id: u64,
    pub name: String,
    /// Roles allowed to use it (empty: everyone), sorted.
    pub roles: Vec<u64>,
    pub animated: bool,
}

impl SettingsState {
    /// A guild named `name` with Discord's defaults for a new server and nothing else: no
    /// pictures, channels, emojis or stickers; AutoMod rules, events and webhooks known to be
    /// none; the welcome screen and onboarding not read.
    pub fn named(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            icon: None,
            description: None,
            verification_level: 0,
            default_message_notifications: 0,
            explicit_content_filter: 0,
            mfa_level: 0,
            afk_channel_id: None,
            afk_timeout: 300,
            system_channel_id: None,
            system_channel_flags: 0,
            rules_channel_id: None,
            public_updates_channel_id: None,
            safety_alerts_channel_id: None,
            preferred_locale: "en-US".into(),
            premium_progress_bar_enabled: false,
            premium_tier: 0,
            features: Vec::new(),
            vanity_url_code: None,
            banner: None,
            splash: None,
            emojis: Vec::new(),
            discovery_splash: None,
            stickers: Vec::new(),
            automod: Some(Vec::new()),
            events: Some(Vec::new()),
            welcome: None,
            onboarding: None,
            webhooks: Some(Vec::new()),
        }
    }

    pub fn normalized(mut self) -> Self {
        self.features.sort();
        self.features.dedup();
        for e in &mut self.emojis {
            e.roles.sort_unstable();
            e.roles.dedup();
        }
        self.emojis.sort_by_key(|e| e.id);
        self.stickers.sort_by_key(|s| s.id);
        if let Some(rules) = &mut self.automod {
            rules.sort_by_key(|r| r.id);
        }
        if let Some(events) = &mut self.events {
            events.sort_by_key(|e| e.id);
        }
        self.afk_timeout = self.afk_timeout.max(0);
        self
    }
}

/// Where the mirror of a guild stands (`recovery.guild_settings.sync_state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncState {
    /// A full load (GUILD_CREATE + member chunks) is in progress.
    Loading,
    /// The mirror follows gateway events.
    Live,
    /// Events may have been missed (outage, removal, failed writes): a reload is needed.
    Stale,
}

impl SyncState {
    pub fn as_str(self) -> &'static str {
        match self {
            SyncState::Loading => "loading",
            SyncState::Live => "live",
            SyncState::Stale => "stale",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "loading" => Some(SyncState::Loading),
            "live" => Some(SyncState::Live),
            "stale" => Some(SyncState::Stale),
            _ => None,
        }
    }
}

/// A whole guild at one time: what "as of T" returns and what a snapshot freezes.
#[derive(Debug, Clone, PartialEq)]
pub struct GuildState {
    pub guild_id: u64,
    pub as_of: DateTime<Utc>,
    pub settings: Option<SettingsState>,
    /// Sorted by (position, id).
    pub roles: Vec<RoleState>,
    /// Sorted by (position, id).
    pub channels: Vec<ChannelState>,
    /// Sorted by user id.
    pub members: Vec<MemberState>,
    /// Sorted by user id; `None` when the whole ban list was not known at that time (before
    /// the first full ban load).
    pub bans: Option<Vec<BanState>>,
    /// Sorted by id: the active threads, and the archived ones of forum, media and
    /// announcement channels.
    pub threads: Vec<ThreadState>,
}

/// A thread (10 announcement, 11 public, 12 private) of a channel; in a forum or media
/// channel, a post (its starter message is not mirrored: snapshots fetch it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadState {
    pub id: u64,
    pub kind: i16,
    pub name: String,
    pub parent_id: u64,
    pub archived: bool,
    pub locked: bool,
    /// Minutes (60, 1440, 4320, 10080).
    pub auto_archive_duration: i32,
    pub invitable: bool,
    pub rate_limit_per_user: i32,
    /// 2 = pinned (a forum post).
    pub flags: i32,
    /// Tag ids of the parent forum, sorted.
    pub applied_tags: Vec<u64>,
}

impl ThreadState {
    /// A forum or media channel's thread: a post with a starter message.
    pub fn is_post(&self, parent_kind: i16) -> bool {
        matches!(parent_kind, 15 | 16)
    }

    /// The `thread` column (`recovery.guild_channels.thread`).
    pub fn meta_json(&self) -> serde_json::Value {
        serde_json::json!({
            "archived": self.archived,
            "locked": self.locked,
            "auto_archive_duration": self.auto_archive_duration,
            "invitable": self.invitable,
            "applied_tags": self.applied_tags.iter().map(u64::to_string).collect::<Vec<_>>(),
        })
    }
}

impl GuildState {
    /// Puts every list in its canonical order.
    pub fn sorted(mut self) -> Self {
        self.roles.sort_by_key(|r| (r.position, r.discord_role_id));
        self.channels
            .sort_by_key(|c| (c.position, c.discord_channel_id));
        self.members.sort_by_key(|m| m.discord_user_id);
        if let Some(bans) = &mut self.bans {
            bans.sort_by_key(|b| b.discord_user_id);
        }
        self.threads.sort_by_key(|t| t.id);
        self
    }

    pub fn overwrite_count(&self) -> usize {
        self.channels.iter().map(|c| c.overwrites.len()).sum()
    }
}

/// What `/umbra status` shows about live sync.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncStatus {
    pub state: Option<SyncState>,
    pub last_full_sync_at: Option<DateTime<Utc>>,
    pub roles: u64,
    pub channels: u64,
    pub members: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel() -> ChannelState {
        ChannelState {
            discord_channel_id: 1,
            kind: channel_kind::TEXT,
            name: "general".into(),
            parent_id: None,
            position: -1,
            topic: None,
            nsfw: false,
            rate_limit_per_user: 0,
            bitrate: Some(0),
            user_limit: Some(-3),
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
                    target_id: 9,
                    target: OverwriteTarget::Role,
                    allow: 1,
                    deny: 0,
                },
                OverwriteState {
                    target_id: 3,
                    target: OverwriteTarget::Member,
                    allow: 0,
                    deny: 2,
                },
            ],
        }
    }

    #[test]
    fn a_channel_is_normalized_into_what_the_schema_accepts() {
        let c = channel().normalized();
        assert_eq!(
            c.overwrites.iter().map(|o| o.target_id).collect::<Vec<_>>(),
            vec![3, 9]
        );
        assert_eq!(c.bitrate, None, "bitrate 0 is stored as NULL");
        assert_eq!(c.user_limit, Some(0));
        assert_eq!(c.position, 0);
    }

    #[test]
    fn colours_and_permissions_fit_their_columns() {
        assert_eq!(color_to_db(0x0012_3456), 0x0012_3456);
        assert_eq!(color_to_db(u32::MAX), 0x00FF_FFFF);
        assert_eq!(bits_to_db(u64::MAX), i64::MAX);
    }

    #[test]
    fn sync_states_round_trip_through_their_names() {
        for s in [SyncState::Loading, SyncState::Live, SyncState::Stale] {
            assert_eq!(SyncState::parse(s.as_str()), Some(s));
        }
        assert_eq!(SyncState::parse("weird"), None);
    }
}

#[cfg(test)]
mod webhook_tests {
    use super::*;

    #[test]
    fn the_guilds_own_webhooks_are_kept_but_not_another_apps_or_a_restores_replay_webhook() {
        let list = serde_json::json!([
            { "id": "1", "type": 1, "name": "Deploys", "channel_id": "9", "application_id": null },
            { "id": "2", "type": 1, "name": "Made again", "channel_id": "9", "application_id": "77" },
            { "id": "3", "type": 1, "name": "Umbra replay 0123456789ab", "channel_id": "9", "application_id": "77" },
            { "id": "4", "type": 1, "name": "Theirs", "channel_id": "9", "application_id": "88" },
            { "id": "5", "type": 2, "name": "Followed", "channel_id": "9" }
        ]);
        let kept = WebhookState::kept_from_discord(&list, 77).expect("reads");
        let ids: Vec<u64> = kept.iter().map(|w| w.id).collect();
        assert_eq!(ids, vec![1, 2]);
    }
}
