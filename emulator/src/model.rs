//! Purpose: in-memory Discord objects (users, applications, guilds, roles, channels, members,
//! bans, webhooks, emojis, AutoMod rules, audit log, messages) and their JSON shapes as Discord's API returns
//! them (checked against `discord-openapi.json`).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub type UserId = u64;
pub type GuildId = u64;
pub type RoleId = u64;
pub type ChannelId = u64;
pub type MessageId = u64;
pub type ApplicationId = u64;
pub type WebhookId = u64;
pub type EmojiId = u64;
pub type InteractionId = u64;
pub type AttachmentId = u64;

/// Discord's timestamp format (`2015-04-26T06:26:56.936000+00:00`).
pub fn ts(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, false)
}

/// Appends `s` as a JSON string literal.
pub fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn push_opt_str(out: &mut String, s: Option<&str>) {
    match s {
        Some(s) => push_json_str(out, s),
        None => out.push_str("null"),
    }
}

/// A snowflake as a JSON string, `null` when absent.
pub fn id_or_null(id: Option<u64>) -> Value {
    id.map_or(Value::Null, |i| Value::String(i.to_string()))
}

pub mod channel_type {
    pub const GUILD_TEXT: u8 = 0;
    pub const DM: u8 = 1;
    pub const GUILD_VOICE: u8 = 2;
    pub const GUILD_CATEGORY: u8 = 4;
    pub const GUILD_ANNOUNCEMENT: u8 = 5;
    pub const GUILD_STAGE_VOICE: u8 = 13;
    pub const GUILD_FORUM: u8 = 15;

    /// Guild channel types the emulator supports.
    pub const SUPPORTED: [u8; 6] = [
        GUILD_TEXT,
        GUILD_VOICE,
        GUILD_CATEGORY,
        GUILD_ANNOUNCEMENT,
        GUILD_STAGE_VOICE,
        GUILD_FORUM,
    ];
}

/// A user (human or bot).
#[derive(Debug, Clone)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub global_name: Option<String>,
    pub bot: bool,
    pub dms_open: bool,
    pub locale: String,
    pub email: Option<String>,
    /// Their avatar's hash (bytes in the world's images, served by the CDN route).
    pub avatar: Option<String>,
}

impl User {
    pub fn json(&self) -> Value {
        json!({
            "id": self.id.to_string(),
            "username": self.username,
            "avatar": self.avatar,
            "discriminator": "0",
            "public_flags": 0,
            "flags": 0,
            "bot": self.bot,
            "system": false,
            "banner": null,
            "accent_color": null,
            "global_name": self.global_name,
            "avatar_decoration_data": null,
            "collectibles": null,
            "primary_guild": null,
        })
    }

    /// Appends the same JSON as [`User::json`] without building a `Value` (member chunks).
    pub fn write_json(&self, out: &mut String) {
        use std::fmt::Write as _;
        let _ = write!(out, "{{\"id\":\"{}\",\"username\":", self.id);
        push_json_str(out, &self.username);
        out.push_str(",\"avatar\":");
        push_opt_str(out, self.avatar.as_deref());
        let _ = write!(
            out,
            ",\"discriminator\":\"0\",\"public_flags\":0,\"flags\":0,\"bot\":{},\"system\":false,\"banner\":null,\"accent_color\":null,\"global_name\":",
            self.bot
        );
        push_opt_str(out, self.global_name.as_deref());
        out.push_str(
            ",\"avatar_decoration_data\":null,\"collectibles\":null,\"primary_guild\":null}",
        );
    }

    /// `GET /users/@me` shape (UserPIIResponse); `email` only with the `email` scope.
    pub fn pii_json(&self, with_email: bool) -> Value {
        let mut v = self.json();
        v["mfa_enabled"] = json!(self.bot);
        v["locale"] = json!(self.locale);
        v["premium_type"] = json!(0);
        v["verified"] = json!(true);
        v["email"] = if with_email {
            json!(self.email)
        } else {
            Value::Null
        };
        v
    }
}

/// Options chosen when an application is created.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ApplicationOptions {
    /// The GUILD_MEMBERS privileged intent is enabled in the developer portal.
    pub guild_members_intent: bool,
    /// The GUILD_PRESENCES privileged intent is enabled.
    pub presence_intent: bool,
    /// The MESSAGE_CONTENT privileged intent is enabled.
    pub message_content_intent: bool,
    /// Allowed OAuth2 redirect URIs (empty = any URI is accepted).
    pub redirect_uris: Vec<String>,
    /// The application's owner (a human user); None = a fresh owner user is created.
    pub owner_id: Option<UserId>,
}

impl ApplicationOptions {
    /// All privileged intents allowed (what most tests want).
    pub fn privileged() -> Self {
        Self {
            guild_members_intent: true,
            presence_intent: true,
            message_content_intent: true,
            ..Self::default()
        }
    }
}

/// An application with its bot user.
#[derive(Debug, Clone)]
pub struct Application {
    pub id: ApplicationId,
    pub name: String,
    pub bot_user_id: UserId,
    pub bot_token: String,
    pub client_secret: String,
    pub owner_id: UserId,
    pub options: ApplicationOptions,
    pub global_commands: Vec<Value>,
    pub guild_commands: HashMap<GuildId, Vec<Value>>,
}

impl Application {
    /// Application flags: the *_LIMITED gateway intent flags for allowed privileged intents.
    pub fn flags(&self) -> u64 {
        let mut flags = 0;
        if self.options.presence_intent {
            flags |= 1 << 13;
        }
        if self.options.guild_members_intent {
            flags |= 1 << 15;
        }
        if self.options.message_content_intent {
            flags |= 1 << 19;
        }
        flags
    }

    /// PrivateApplicationResponse (`GET /oauth2/applications/@me`, `/applications/@me`).
    pub fn json(&self, bot: &User, owner: &User) -> Value {
        json!({
            "id": self.id.to_string(),
            "name": self.name,
            "icon": null,
            "description": "",
            "type": null,
            "bot": bot.json(),
            "summary": "",
            "rpc_origins": [],
            "bot_public": true,
            "bot_require_code_grant": false,
            "verify_key": format!("{:064x}", self.id),
            "flags": self.flags(),
            "flags_new": self.flags().to_string(),
            "redirect_uris": self.options.redirect_uris,
            "interactions_endpoint_url": null,
            "role_connections_verification_url": null,
            "owner": owner.json(),
            "approximate_guild_count": 0,
            "approximate_user_install_count": 0,
            "approximate_user_authorization_count": 0,
            "explicit_content_filter": 0,
            "team": null,
            "tags": [],
            "install_params": { "scopes": ["applications.commands", "bot"], "permissions": "0" },
            "integration_types_config": { "0": {}, "1": {} },
            "eligible_oauth2_scopes": ["bot", "applications.commands", "identify", "guilds", "guilds.join", "email"],
        })
    }

    /// ApplicationResponse (the public part).
    pub fn public_json(&self, bot: &User) -> Value {
        json!({
            "id": self.id.to_string(),
            "name": self.name,
            "icon": null,
            "description": "",
            "type": null,
            "bot": bot.json(),
            "bot_public": true,
            "bot_require_code_grant": false,
            "verify_key": format!("{:064x}", self.id),
            "flags": self.flags(),
            "flags_new": self.flags().to_string(),
        })
    }
}

/// A guild role.
#[derive(Debug, Clone)]
pub struct Role {
    pub id: RoleId,
    pub name: String,
    pub color: u32,
    pub hoist: bool,
    pub mentionable: bool,
    pub permissions: u64,
    pub position: i64,
    pub managed: bool,
    /// For a bot's managed role: the bot user.
    pub bot_id: Option<UserId>,
    pub unicode_emoji: Option<String>,
    /// The icon's hash (its bytes in `World::images`; CDN `/role-icons/{id}/{hash}.png`).
    pub icon: Option<String>,
}

impl Role {
    /// Hierarchy rank: higher is more powerful (position, then lower id wins a tie).
    pub fn rank(&self) -> (i64, std::cmp::Reverse<u64>) {
        (self.position, std::cmp::Reverse(self.id))
    }

    pub fn json(&self) -> Value {
        let mut v = json!({
            "id": self.id.to_string(),
            "name": self.name,
            "permissions": self.permissions.to_string(),
            "position": self.position,
            "color": self.color,
            "colors": { "primary_color": self.color, "secondary_color": null, "tertiary_color": null },
            "hoist": self.hoist,
            "managed": self.managed,
            "mentionable": self.mentionable,
            "icon": self.icon,
            "unicode_emoji": self.unicode_emoji,
            "flags": 0,
        });
        if let Some(bot) = self.bot_id {
            v["tags"] = json!({ "bot_id": bot.to_string() });
        }
        v
    }
}

/// Who a permission overwrite targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OverwriteKind {
    Role,
    Member,
}

impl OverwriteKind {
    pub fn num(self) -> u8 {
        match self {
            Self::Role => 0,
            Self::Member => 1,
        }
    }
    pub fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Number(n) if n.as_u64() == Some(0) => Some(Self::Role),
            Value::Number(n) if n.as_u64() == Some(1) => Some(Self::Member),
            Value::String(s) if s == "0" || s == "role" => Some(Self::Role),
            Value::String(s) if s == "1" || s == "member" => Some(Self::Member),
            _ => None,
        }
    }
}

/// A channel permission overwrite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overwrite {
    pub id: u64,
    pub kind: OverwriteKind,
    pub allow: u64,
    pub deny: u64,
}

impl Overwrite {
    pub fn json(&self) -> Value {
        json!({
            "id": self.id.to_string(),
            "type": self.kind.num(),
            "allow": self.allow.to_string(),
            "deny": self.deny.to_string(),
        })
    }
}

/// A forum tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForumTag {
    pub id: u64,
    pub name: String,
    pub moderated: bool,
    pub emoji_name: Option<String>,
}

impl ForumTag {
    pub fn json(&self) -> Value {
        json!({
            "id": self.id.to_string(),
            "name": self.name,
            "moderated": self.moderated,
            "emoji_id": null,
            "emoji_name": self.emoji_name,
        })
    }
}

/// A guild channel.
#[derive(Debug, Clone)]
pub struct Channel {
    pub id: ChannelId,
    pub guild_id: GuildId,
    pub kind: u8,
    pub name: String,
    pub position: i64,
    pub parent_id: Option<ChannelId>,
    pub topic: Option<String>,
    pub nsfw: bool,
    pub rate_limit_per_user: u32,
    pub bitrate: u32,
    pub user_limit: u32,
    pub overwrites: Vec<Overwrite>,
    pub available_tags: Vec<ForumTag>,
    pub default_auto_archive_duration: Option<u32>,
    pub last_message_id: Option<MessageId>,
    /// Times of name/topic edits (the per-channel rename budget).
    pub renames: VecDeque<Instant>,
}

impl Channel {
    pub fn json(&self) -> Value {
        use channel_type::*;
        let mut v = json!({
            "id": self.id.to_string(),
            "type": self.kind,
            "flags": 0,
            "guild_id": self.guild_id.to_string(),
            "name": self.name,
            "parent_id": id_or_null(self.parent_id),
            "position": self.position,
            "permission_overwrites": self.overwrites.iter().map(Overwrite::json).collect::<Vec<_>>(),
        });
        if self.kind != GUILD_CATEGORY {
            v["last_message_id"] = id_or_null(self.last_message_id);
            v["nsfw"] = json!(self.nsfw);
            v["rate_limit_per_user"] = json!(self.rate_limit_per_user);
        }
        match self.kind {
            GUILD_TEXT | GUILD_ANNOUNCEMENT => {
                v["topic"] = json!(self.topic);
                if let Some(d) = self.default_auto_archive_duration {
                    v["default_auto_archive_duration"] = json!(d);
                }
                v["default_thread_rate_limit_per_user"] = json!(0);
            }
            GUILD_VOICE | GUILD_STAGE_VOICE => {
                v["bitrate"] = json!(self.bitrate);
                v["user_limit"] = json!(self.user_limit);
                v["rtc_region"] = Value::Null;
                if self.kind == GUILD_VOICE {
                    v["video_quality_mode"] = json!(1);
                } else {
                    v["topic"] = json!(self.topic);
                }
            }
            GUILD_FORUM => {
                v["topic"] = json!(self.topic);
                v["available_tags"] =
                    Value::Array(self.available_tags.iter().map(ForumTag::json).collect());
                v["default_reaction_emoji"] = Value::Null;
                v["default_sort_order"] = Value::Null;
                v["default_forum_layout"] = json!(0);
                v["default_tag_setting"] = json!("match_some");
                v["default_thread_rate_limit_per_user"] = json!(0);
                if let Some(d) = self.default_auto_archive_duration {
                    v["default_auto_archive_duration"] = json!(d);
                }
            }
            _ => {}
        }
        v
    }
}

/// A thread (10 announcement, 11 public, 12 private) of a guild channel; a forum or media
/// channel's thread is a post, whose starter message has the thread's id.
#[derive(Debug, Clone)]
pub struct Thread {
    pub id: ChannelId,
    pub guild_id: GuildId,
    pub parent_id: ChannelId,
    pub kind: u8,
    pub name: String,
    pub owner_id: UserId,
    pub archived: bool,
    pub archive_timestamp: Option<DateTime<Utc>>,
    pub locked: bool,
    /// Minutes: 60, 1440, 4320 or 10080.
    pub auto_archive_duration: u32,
    pub invitable: bool,
    pub rate_limit_per_user: u32,
    /// Tag ids of the parent forum.
    pub applied_tags: Vec<u64>,
    /// 2 = pinned (forum posts).
    pub flags: u32,
    pub message_count: u32,
    pub created_at: DateTime<Utc>,
}

impl Thread {
    /// ThreadResponse.
    pub fn json(&self) -> Value {
        let mut metadata = json!({
            "archived": self.archived,
            "archive_timestamp": self.archive_timestamp.as_ref().map(ts),
            "auto_archive_duration": self.auto_archive_duration,
            "locked": self.locked,
            "create_timestamp": ts(&self.created_at),
        });
        if self.kind == 12 {
            metadata["invitable"] = json!(self.invitable);
        }
        json!({
            "id": self.id.to_string(),
            "type": self.kind,
            "last_message_id": null,
            "flags": self.flags,
            "guild_id": self.guild_id.to_string(),
            "name": self.name,
            "parent_id": self.parent_id.to_string(),
            "rate_limit_per_user": self.rate_limit_per_user,
            "owner_id": self.owner_id.to_string(),
            "thread_metadata": metadata,
            "message_count": self.message_count,
            "member_count": 1,
            "total_message_sent": self.message_count,
            "applied_tags": self.applied_tags.iter().map(|t| t.to_string()).collect::<Vec<_>>(),
        })
    }
}

/// A guild member.
#[derive(Debug, Clone)]
pub struct Member {
    pub user_id: UserId,
    pub nick: Option<String>,
    pub roles: Vec<RoleId>,
    pub joined_at: DateTime<Utc>,
    pub deaf: bool,
    pub mute: bool,
    pub communication_disabled_until: Option<DateTime<Utc>>,
}

impl Member {
    /// Appends the same JSON as [`Member::json`] without building a `Value` (member chunks).
    pub fn write_json(&self, user: &User, out: &mut String) {
        use std::fmt::Write as _;
        out.push_str("{\"avatar\":null,\"banner\":null,\"communication_disabled_until\":");
        push_opt_str(
            out,
            self.communication_disabled_until
                .as_ref()
                .map(ts)
                .as_deref(),
        );
        let _ = write!(
            out,
            ",\"flags\":0,\"joined_at\":\"{}\",\"nick\":",
            ts(&self.joined_at)
        );
        push_opt_str(out, self.nick.as_deref());
        out.push_str(",\"pending\":false,\"premium_since\":null,\"roles\":[");
        for (i, r) in self.roles.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "\"{r}\"");
        }
        out.push_str("],\"user\":");
        user.write_json(out);
        let _ = write!(out, ",\"mute\":{},\"deaf\":{}}}", self.mute, self.deaf);
    }

    pub fn json(&self, user: &User) -> Value {
        json!({
            "avatar": null,
            "banner": null,
            "communication_disabled_until": self.communication_disabled_until.as_ref().map(ts),
            "flags": 0,
            "joined_at": ts(&self.joined_at),
            "nick": self.nick,
            "pending": false,
            "premium_since": null,
            "roles": self.roles.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
            "user": user.json(),
            "mute": self.mute,
            "deaf": self.deaf,
        })
    }
}

/// A ban.
#[derive(Debug, Clone)]
pub struct Ban {
    pub user_id: UserId,
    pub reason: Option<String>,
}

/// A custom emoji.
#[derive(Debug, Clone)]
pub struct Emoji {
    pub id: EmojiId,
    pub name: String,
    pub roles: Vec<RoleId>,
    pub animated: bool,
    pub creator_id: UserId,
    /// The uploaded image (served by the CDN route `/emojis/{id}.png|gif`).
    pub image: std::sync::Arc<Vec<u8>>,
}

impl Emoji {
    /// Bytes of a small, valid-looking PNG unique to `seed` (fixtures).
    pub fn fixture_png(seed: u64) -> Vec<u8> {
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        out.extend_from_slice(format!("umbra-fixture-emoji-{seed}").as_bytes());
        out.extend((0..64u64).map(|i| (seed.wrapping_mul(31).wrapping_add(i) % 251) as u8));
        out
    }

    pub fn json(&self, creator: Option<&User>) -> Value {
        let mut v = json!({
            "id": self.id.to_string(),
            "name": self.name,
            "roles": self.roles.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
            "require_colons": true,
            "managed": false,
            "animated": self.animated,
            "available": true,
        });
        if let Some(u) = creator {
            v["user"] = u.json();
        }
        v
    }
}

/// A guild sticker.
#[derive(Debug, Clone)]
pub struct Sticker {
    pub id: u64,
    pub name: String,
    pub description: Option<String>,
    /// The autocomplete emoji name(s).
    pub tags: String,
    /// 1 PNG, 2 APNG, 3 LOTTIE, 4 GIF.
    pub format_type: u8,
    pub creator_id: UserId,
    /// The uploaded file (CDN `/stickers/{id}.png|gif`).
    pub image: std::sync::Arc<Vec<u8>>,
}

impl Sticker {
    /// GuildStickerResponse.
    pub fn json(&self, guild: GuildId, creator: Option<&User>) -> Value {
        let mut v = json!({
            "id": self.id.to_string(),
            "name": self.name,
            "tags": self.tags,
            "type": 2,
            "format_type": self.format_type,
            "description": self.description,
            "available": true,
            "guild_id": guild.to_string(),
        });
        if let Some(u) = creator {
            v["user"] = u.json();
        }
        v
    }
}

/// An AutoMod rule (trigger metadata and actions kept in Discord's response shape, already
/// checked and filled in by `ops_automod`).
#[derive(Debug, Clone)]
pub struct AutoModRule {
    pub id: u64,
    pub name: String,
    pub creator_id: UserId,
    /// 1 MESSAGE_SEND, 2 MEMBER_UPDATE.
    pub event_type: u8,
    /// 1 KEYWORD, 3 SPAM, 4 KEYWORD_PRESET, 5 MENTION_SPAM, 6 MEMBER_PROFILE.
    pub trigger_type: u8,
    pub trigger_metadata: Value,
    pub actions: Vec<Value>,
    pub enabled: bool,
    pub exempt_roles: Vec<RoleId>,
    pub exempt_channels: Vec<ChannelId>,
}

impl AutoModRule {
    /// The rule as Discord returns it (one of the `*RuleResponse` schemas).
    pub fn json(&self, guild: GuildId) -> Value {
        json!({
            "id": self.id.to_string(),
            "guild_id": guild.to_string(),
            "creator_id": self.creator_id.to_string(),
            "name": self.name,
            "event_type": self.event_type,
            "trigger_type": self.trigger_type,
            "trigger_metadata": self.trigger_metadata,
            "actions": self.actions,
            "enabled": self.enabled,
            "exempt_roles": self.exempt_roles.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
            "exempt_channels": self.exempt_channels.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
        })
    }
}

/// A guild scheduled event (1 stage, 2 voice: in a channel; 3 external: at a location, with an
/// end).
#[derive(Debug, Clone)]
pub struct ScheduledEvent {
    pub id: u64,
    pub name: String,
    pub description: Option<String>,
    pub creator_id: UserId,
    pub start: DateTime<Utc>,
    pub end: Option<DateTime<Utc>>,
    pub entity_type: u8,
    pub channel_id: Option<ChannelId>,
    pub location: Option<String>,
    /// 1 scheduled, 2 active, 3 completed, 4 canceled.
    pub status: u8,
    /// Its cover image's hash (bytes in the world's images, served by the CDN route).
    pub image: Option<String>,
}

impl ScheduledEvent {
    /// One of the `*ScheduledEventResponse` schemas.
    pub fn json(&self, guild: GuildId) -> Value {
        json!({
            "id": self.id.to_string(),
            "guild_id": guild.to_string(),
            "name": self.name,
            "description": self.description,
            "channel_id": id_or_null(self.channel_id),
            "creator_id": self.creator_id.to_string(),
            "image": self.image,
            "scheduled_start_time": ts(&self.start),
            "scheduled_end_time": self.end.as_ref().map(ts),
            "status": self.status,
            "entity_type": self.entity_type,
            "entity_id": null,
            "recurrence_rule": null,
            "privacy_level": 2,
            "guild_scheduled_event_exceptions": [],
            "entity_metadata": match &self.location {
                Some(l) => json!({ "location": l }),
                None => Value::Null,
            },
        })
    }
}

/// A guild's welcome screen (community servers).
#[derive(Debug, Clone, Default)]
pub struct WelcomeScreen {
    pub enabled: bool,
    pub description: Option<String>,
    /// (channel, description, emoji name).
    pub channels: Vec<(ChannelId, String, Option<String>)>,
}

impl WelcomeScreen {
    /// GuildWelcomeScreenResponse.
    pub fn json(&self) -> Value {
        json!({
            "description": self.description,
            "welcome_channels": self.channels.iter().map(|(c, d, e)| json!({
                "channel_id": c.to_string(),
                "description": d,
                "emoji_id": null,
                "emoji_name": e,
            })).collect::<Vec<_>>(),
        })
    }
}

/// One option of an onboarding prompt.
#[derive(Debug, Clone)]
pub struct OnboardingOption {
    pub id: u64,
    pub title: String,
    pub description: Option<String>,
    pub emoji_name: Option<String>,
    pub role_ids: Vec<RoleId>,
    pub channel_ids: Vec<ChannelId>,
}

/// An onboarding prompt.
#[derive(Debug, Clone)]
pub struct OnboardingPrompt {
    pub id: u64,
    pub title: String,
    /// 0 multiple choice, 1 dropdown.
    pub kind: u8,
    pub single_select: bool,
    pub required: bool,
    pub in_onboarding: bool,
    pub options: Vec<OnboardingOption>,
}

/// A guild's onboarding.
#[derive(Debug, Clone, Default)]
pub struct Onboarding {
    pub enabled: bool,
    /// 0 default, 1 advanced.
    pub mode: u8,
    pub default_channel_ids: Vec<ChannelId>,
    pub prompts: Vec<OnboardingPrompt>,
}

impl Onboarding {
    /// GuildOnboardingResponse.
    pub fn json(&self, guild: GuildId) -> Value {
        let ids = |v: &[u64]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        json!({
            "guild_id": guild.to_string(),
            "enabled": self.enabled,
            "mode": self.mode,
            "default_channel_ids": ids(&self.default_channel_ids),
            "prompts": self.prompts.iter().map(|p| json!({
                "id": p.id.to_string(),
                "title": p.title,
                "type": p.kind,
                "single_select": p.single_select,
                "required": p.required,
                "in_onboarding": p.in_onboarding,
                "options": p.options.iter().map(|o| json!({
                    "id": o.id.to_string(),
                    "title": o.title,
                    "description": o.description.clone().unwrap_or_default(),
                    "emoji": { "id": null, "name": o.emoji_name, "animated": false },
                    "role_ids": ids(&o.role_ids),
                    "channel_ids": ids(&o.channel_ids),
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        })
    }
}

/// A channel webhook.
#[derive(Debug, Clone)]
pub struct Webhook {
    pub id: WebhookId,
    pub guild_id: GuildId,
    pub channel_id: ChannelId,
    pub name: String,
    pub token: String,
    pub creator_id: UserId,
    pub application_id: Option<ApplicationId>,
    /// Its avatar's hash (bytes in the world's images, served by the CDN route).
    pub avatar: Option<String>,
}

impl Webhook {
    pub fn json(&self, creator: Option<&User>, base_url: &str, with_token: bool) -> Value {
        let mut v = json!({
            "application_id": id_or_null(self.application_id),
            "avatar": self.avatar,
            "channel_id": self.channel_id.to_string(),
            "guild_id": self.guild_id.to_string(),
            "id": self.id.to_string(),
            "name": self.name,
            "type": 1,
        });
        if let Some(u) = creator {
            v["user"] = u.json();
        }
        if with_token {
            v["token"] = json!(self.token);
            v["url"] = json!(format!(
                "{base_url}/api/webhooks/{}/{}",
                self.id, self.token
            ));
        }
        v
    }
}

/// One `changes` item of an audit log entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditChange {
    pub key: String,
    pub old_value: Option<Value>,
    pub new_value: Option<Value>,
}

impl AuditChange {
    pub fn new(key: &str, old: Option<Value>, new: Option<Value>) -> Self {
        Self {
            key: key.to_string(),
            old_value: old,
            new_value: new,
        }
    }
    pub fn json(&self) -> Value {
        let mut v = json!({ "key": self.key });
        if let Some(o) = &self.old_value {
            v["old_value"] = o.clone();
        }
        if let Some(n) = &self.new_value {
            v["new_value"] = n.clone();
        }
        v
    }
}

/// Audit log action types (Discord's numbers).
pub mod audit_action {
    pub const GUILD_UPDATE: u16 = 1;
    pub const CHANNEL_CREATE: u16 = 10;
    pub const CHANNEL_UPDATE: u16 = 11;
    pub const CHANNEL_DELETE: u16 = 12;
    pub const CHANNEL_OVERWRITE_CREATE: u16 = 13;
    pub const CHANNEL_OVERWRITE_UPDATE: u16 = 14;
    pub const CHANNEL_OVERWRITE_DELETE: u16 = 15;
    pub const MEMBER_KICK: u16 = 20;
    pub const MEMBER_PRUNE: u16 = 21;
    pub const MEMBER_BAN_ADD: u16 = 22;
    pub const MEMBER_BAN_REMOVE: u16 = 23;
    pub const MEMBER_UPDATE: u16 = 24;
    pub const MEMBER_ROLE_UPDATE: u16 = 25;
    pub const BOT_ADD: u16 = 28;
    pub const ROLE_CREATE: u16 = 30;
    pub const ROLE_UPDATE: u16 = 31;
    pub const ROLE_DELETE: u16 = 32;
    pub const WEBHOOK_CREATE: u16 = 50;
    pub const WEBHOOK_UPDATE: u16 = 51;
    pub const WEBHOOK_DELETE: u16 = 52;
    pub const EMOJI_CREATE: u16 = 60;
    pub const EMOJI_UPDATE: u16 = 61;
    pub const EMOJI_DELETE: u16 = 62;
    pub const STICKER_CREATE: u16 = 90;
    pub const STICKER_UPDATE: u16 = 91;
    pub const STICKER_DELETE: u16 = 92;
    pub const ONBOARDING_UPDATE: u16 = 167;
    pub const MESSAGE_PIN: u16 = 74;
    pub const MESSAGE_UNPIN: u16 = 75;
    pub const GUILD_SCHEDULED_EVENT_CREATE: u16 = 100;
    pub const GUILD_SCHEDULED_EVENT_UPDATE: u16 = 101;
    pub const GUILD_SCHEDULED_EVENT_DELETE: u16 = 102;
    pub const THREAD_CREATE: u16 = 110;
    pub const THREAD_UPDATE: u16 = 111;
    pub const THREAD_DELETE: u16 = 112;
    pub const AUTO_MODERATION_RULE_CREATE: u16 = 140;
    pub const AUTO_MODERATION_RULE_UPDATE: u16 = 141;
    pub const AUTO_MODERATION_RULE_DELETE: u16 = 142;
}

/// An audit log entry.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    pub id: u64,
    pub guild_id: GuildId,
    pub user_id: Option<UserId>,
    pub target_id: Option<u64>,
    pub action_type: u16,
    pub changes: Vec<AuditChange>,
    pub options: Option<Value>,
    pub reason: Option<String>,
}

impl AuditEntry {
    pub fn json(&self) -> Value {
        let mut v = json!({
            "id": self.id.to_string(),
            "action_type": self.action_type,
            "user_id": id_or_null(self.user_id),
            "target_id": id_or_null(self.target_id),
        });
        if !self.changes.is_empty() {
            v["changes"] = Value::Array(self.changes.iter().map(AuditChange::json).collect());
        }
        if let Some(o) = &self.options {
            v["options"] = o.clone();
        }
        if let Some(r) = &self.reason {
            v["reason"] = json!(r);
        }
        v
    }
}

/// Guild settings changeable through `PATCH /guilds/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuildSettings {
    pub name: String,
    pub description: Option<String>,
    pub verification_level: u8,
    pub default_message_notifications: u8,
    pub explicit_content_filter: u8,
    pub afk_channel_id: Option<ChannelId>,
    pub afk_timeout: u32,
    pub system_channel_id: Option<ChannelId>,
    pub system_channel_flags: u32,
    pub rules_channel_id: Option<ChannelId>,
    pub public_updates_channel_id: Option<ChannelId>,
    pub safety_alerts_channel_id: Option<ChannelId>,
    pub preferred_locale: String,
    pub premium_progress_bar_enabled: bool,
    pub features: Vec<String>,
    /// Image hashes (bytes in `World::images`; CDN `/icons|banners|splashes|discovery-splashes
    /// /{guild}/{hash}.png`).
    #[serde(default)]
    pub icon: Option<String>,
    #[serde(default)]
    pub banner: Option<String>,
    #[serde(default)]
    pub splash: Option<String>,
    #[serde(default)]
    pub discovery_splash: Option<String>,
}

impl GuildSettings {
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_string(),
            description: None,
            verification_level: 0,
            default_message_notifications: 0,
            explicit_content_filter: 0,
            afk_channel_id: None,
            afk_timeout: 300,
            system_channel_id: None,
            system_channel_flags: 0,
            rules_channel_id: None,
            public_updates_channel_id: None,
            safety_alerts_channel_id: None,
            preferred_locale: "en-US".to_string(),
            premium_progress_bar_enabled: false,
            features: Vec::new(),
            icon: None,
            banner: None,
            splash: None,
            discovery_splash: None,
        }
    }
}

/// An uploaded image (`data:image/png;base64,...`): its bytes and the hash Discord would name
/// it by (the first 32 hex digits of its SHA-256; `a_` first for an animated GIF).
pub fn decode_image(data_uri: &str) -> Option<(String, Vec<u8>)> {
    use base64::Engine as _;
    use sha2::Digest as _;
    let (head, data) = data_uri.split_once(";base64,")?;
    if !head.starts_with("data:image/") {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .ok()?;
    if bytes.is_empty() || bytes.len() > 10 * 1024 * 1024 {
        return None;
    }
    let hex: String = sha2::Sha256::digest(&bytes)
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    let hash = if head == "data:image/gif" {
        format!("a_{hex}")
    } else {
        hex
    };
    Some((hash, bytes))
}

/// `PUT /guilds/{id}/incident-actions` state.
#[derive(Debug, Clone, Default)]
pub struct Incidents {
    pub invites_disabled_until: Option<DateTime<Utc>>,
    pub dms_disabled_until: Option<DateTime<Utc>>,
}

impl Incidents {
    pub fn json(&self) -> Value {
        json!({
            "invites_disabled_until": self.invites_disabled_until.as_ref().map(ts),
            "dms_disabled_until": self.dms_disabled_until.as_ref().map(ts),
        })
    }
}

/// A guild with everything in it.
#[derive(Debug, Clone)]
pub struct Guild {
    pub id: GuildId,
    pub owner_id: UserId,
    pub settings: GuildSettings,
    pub roles: HashMap<RoleId, Role>,
    pub channels: HashMap<ChannelId, Channel>,
    pub members: BTreeMap<UserId, Member>,
    pub bans: BTreeMap<UserId, Ban>,
    pub emojis: Vec<Emoji>,
    pub stickers: Vec<Sticker>,
    pub automod: Vec<AutoModRule>,
    /// Threads by id (not in `channels`: `GET /guilds/{g}/channels` lists no thread).
    pub threads: BTreeMap<ChannelId, Thread>,
    pub scheduled_events: Vec<ScheduledEvent>,
    /// `None`: never set (`GET` answers 404 10069).
    pub welcome_screen: Option<WelcomeScreen>,
    pub onboarding: Onboarding,
    pub audit_log: Vec<AuditEntry>,
    pub role_creations: VecDeque<Instant>,
    pub incidents: Incidents,
    /// Last full REQUEST_GUILD_MEMBERS per application (once per 30 s).
    pub last_full_member_request: HashMap<ApplicationId, Instant>,
}

impl Guild {
    pub fn everyone(&self) -> Option<&Role> {
        self.roles.get(&self.id)
    }

    /// Roles from lowest to highest. Discord orders by position, and among equal positions
    /// the older role (lower id) is higher.
    pub fn sorted_roles(&self) -> Vec<&Role> {
        let mut roles: Vec<&Role> = self.roles.values().collect();
        roles.sort_by_key(|r| r.rank());
        roles
    }

    /// Channels sorted by (position, id).
    pub fn sorted_channels(&self) -> Vec<&Channel> {
        let mut chans: Vec<&Channel> = self.channels.values().collect();
        chans.sort_by_key(|c| (c.position, c.id));
        chans
    }

    /// GuildResponse (without counts).
    pub fn json(&self) -> Value {
        let s = &self.settings;
        json!({
            "id": self.id.to_string(),
            "name": s.name,
            "icon": s.icon,
            "description": s.description,
            "home_header": null,
            "splash": s.splash,
            "discovery_splash": s.discovery_splash,
            "features": s.features,
            "banner": s.banner,
            "owner_id": self.owner_id.to_string(),
            "application_id": null,
            "region": "deprecated",
            "afk_channel_id": id_or_null(s.afk_channel_id),
            "afk_timeout": s.afk_timeout,
            "system_channel_id": id_or_null(s.system_channel_id),
            "system_channel_flags": s.system_channel_flags,
            "widget_enabled": false,
            "widget_channel_id": null,
            "verification_level": s.verification_level,
            "roles": self.sorted_roles().iter().map(|r| r.json()).collect::<Vec<_>>(),
            "default_message_notifications": s.default_message_notifications,
            "mfa_level": 0,
            "explicit_content_filter": s.explicit_content_filter,
            "max_presences": null,
            "max_members": 500_000,
            "max_stage_video_channel_users": 50,
            "max_video_channel_users": 25,
            "vanity_url_code": null,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": s.preferred_locale,
            "rules_channel_id": id_or_null(s.rules_channel_id),
            "safety_alerts_channel_id": id_or_null(s.safety_alerts_channel_id),
            "public_updates_channel_id": id_or_null(s.public_updates_channel_id),
            "premium_progress_bar_enabled": s.premium_progress_bar_enabled,
            "nsfw": false,
            "nsfw_level": 0,
            "emojis": self.emojis.iter().map(|e| e.json(None)).collect::<Vec<_>>(),
            "stickers": self.stickers.iter().map(|s| s.json(self.id, None)).collect::<Vec<_>>(),
            "incidents_data": if self.incidents.invites_disabled_until.is_some() || self.incidents.dms_disabled_until.is_some() { self.incidents.json() } else { Value::Null },
        })
    }
}

/// A file attached to a message (kept in memory, served under `/attachments/...`).
#[derive(Debug, Clone)]
pub struct Attachment {
    pub id: AttachmentId,
    pub filename: String,
    pub content_type: Option<String>,
    pub description: Option<String>,
    pub data: Arc<Vec<u8>>,
}

impl Attachment {
    pub fn json(&self, base_url: &str, channel_id: ChannelId) -> Value {
        let url = format!(
            "{base_url}/attachments/{channel_id}/{}/{}",
            self.id,
            percent_encoding::utf8_percent_encode(
                &self.filename,
                percent_encoding::NON_ALPHANUMERIC
            )
        );
        let mut v = json!({
            "id": self.id.to_string(),
            "filename": self.filename,
            "size": self.data.len(),
            "url": url,
            "proxy_url": url,
        });
        if let Some(ct) = &self.content_type {
            v["content_type"] = json!(ct);
        }
        if let Some(d) = &self.description {
            v["description"] = json!(d);
        }
        v
    }
}

/// Which interaction a message answers.
#[derive(Debug, Clone)]
pub struct MessageInteractionInfo {
    pub id: InteractionId,
    pub kind: u8,
    pub name: String,
    pub user_id: UserId,
    pub interacted_message_id: Option<MessageId>,
}

/// A message in a guild channel or a DM.
#[derive(Debug, Clone)]
pub struct Message {
    pub id: MessageId,
    pub channel_id: ChannelId,
    pub guild_id: Option<GuildId>,
    pub author_id: UserId,
    pub content: String,
    pub embeds: Vec<Value>,
    pub components: Vec<Value>,
    pub attachments: Vec<Attachment>,
    pub flags: u64,
    pub kind: u8,
    pub timestamp: DateTime<Utc>,
    pub edited_timestamp: Option<DateTime<Utc>>,
    pub webhook_id: Option<WebhookId>,
    pub application_id: Option<ApplicationId>,
    pub interaction: Option<MessageInteractionInfo>,
    pub deleted: bool,
    /// When it was pinned (at most 50 per channel).
    pub pinned_at: Option<DateTime<Utc>>,
    /// A webhook message's own author: the `username` and `avatar_url` it was sent with.
    pub webhook_author: Option<WebhookAuthor>,
}

/// The name and avatar a webhook message was sent with (`username`, `avatar_url`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WebhookAuthor {
    pub username: Option<String>,
    pub avatar_url: Option<String>,
}

impl Message {
    /// Whether the message is only visible to the invoking user.
    pub fn ephemeral(&self) -> bool {
        self.flags & 64 != 0
    }

    pub fn json(&self, author: &User, interaction_user: Option<&User>, base_url: &str) -> Value {
        let mut v = json!({
            "type": self.kind,
            "content": self.content,
            "mentions": [],
            "mention_roles": [],
            "attachments": self.attachments.iter().map(|a| a.json(base_url, self.channel_id)).collect::<Vec<_>>(),
            "embeds": self.embeds,
            "timestamp": ts(&self.timestamp),
            "edited_timestamp": self.edited_timestamp.as_ref().map(ts),
            "flags": self.flags,
            "components": self.components,
            "id": self.id.to_string(),
            "channel_id": self.channel_id.to_string(),
            "author": author.json(),
            "pinned": self.pinned_at.is_some(),
            "mention_everyone": false,
            "tts": false,
        });
        if let Some(w) = self.webhook_id {
            v["webhook_id"] = json!(w.to_string());
        }
        if let Some(a) = self.application_id {
            v["application_id"] = json!(a.to_string());
        }
        if let Some(i) = &self.interaction {
            let user = interaction_user.map(User::json);
            let mut meta = json!({
                "id": i.id.to_string(),
                "type": i.kind,
                "authorizing_integration_owners": {},
            });
            if let Some(u) = &user {
                meta["user"] = u.clone();
            }
            if let Some(m) = i.interacted_message_id {
                meta["interacted_message_id"] = json!(m.to_string());
            }
            if i.kind == 2 || i.kind == 3 {
                v["interaction_metadata"] = meta;
            }
            let mut legacy = json!({ "id": i.id.to_string(), "type": i.kind, "name": i.name });
            if let Some(u) = user {
                legacy["user"] = u;
            }
            v["interaction"] = legacy;
        }
        v
    }
}

/// A DM channel between two users.
#[derive(Debug, Clone)]
pub struct DmChannel {
    pub id: ChannelId,
    pub recipients: [UserId; 2],
    pub last_message_id: Option<MessageId>,
}

/// Normalizes message embeds the way Discord echoes them (`type: "rich"`, `inline` set).
pub fn normalize_embeds(embeds: &Value) -> Vec<Value> {
    let Some(arr) = embeds.as_array() else {
        return Vec::new();
    };
    arr.iter()
        .filter(|e| e.is_object())
        .map(|e| {
            let mut e = e.clone();
            if e.get("type").is_none() {
                e["type"] = json!("rich");
            }
            if let Some(fields) = e.get_mut("fields").and_then(Value::as_array_mut) {
                for f in fields {
                    if f.get("inline").is_none_or(Value::is_null) {
                        f["inline"] = json!(false);
                    }
                }
            }
            if let Some(obj) = e.as_object_mut() {
                obj.retain(|_, v| !v.is_null());
            }
            e
        })
        .collect()
}

/// Normalizes message components the way Discord echoes them (numeric `id`s, defaults).
pub fn normalize_components(components: &Value) -> Vec<Value> {
    fn walk(c: &mut Value, next: &mut i64) {
        if !c.is_object() {
            return;
        }
        if c.get("id").is_none_or(Value::is_null) {
            c["id"] = json!(*next);
        }
        *next += 1;
        match c.get("type").and_then(Value::as_u64) {
            Some(3 | 5 | 6 | 7 | 8) => {
                if c.get("min_values").is_none() {
                    c["min_values"] = json!(1);
                }
                if c.get("max_values").is_none() {
                    c["max_values"] = json!(1);
                }
                if c.get("type").and_then(Value::as_u64) == Some(3) && c.get("options").is_none() {
                    c["options"] = json!([]);
                }
            }
            Some(4) => {
                for k in ["min_length", "max_length", "label"] {
                    if c.get(k).is_none() {
                        c[k] = Value::Null;
                    }
                }
            }
            _ => {}
        }
        if let Some(obj) = c.as_object_mut() {
            obj.retain(|k, v| {
                !(v.is_null()
                    && k != "label"
                    && k != "min_length"
                    && k != "max_length"
                    && k != "url")
            });
        }
        if let Some(children) = c.get_mut("components").and_then(Value::as_array_mut) {
            for child in children {
                walk(child, next);
            }
        }
    }
    let Some(arr) = components.as_array() else {
        return Vec::new();
    };
    let mut next = 1;
    arr.iter()
        .map(|c| {
            let mut c = c.clone();
            walk(&mut c, &mut next);
            c
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_json_written_by_hand_equals_the_value_built_one() {
        let user = User {
            id: 42,
            username: "we\"ird\\name\n\u{1}é".to_string(),
            global_name: None,
            bot: false,
            dms_open: true,
            locale: "en-US".to_string(),
            email: None,
            avatar: Some("0123abcd".to_string()),
        };
        let member = Member {
            user_id: 42,
            nick: Some("ni\"ck".to_string()),
            roles: vec![1, 2],
            joined_at: chrono::Utc::now(),
            deaf: true,
            mute: false,
            communication_disabled_until: Some(chrono::Utc::now()),
        };
        let mut s = String::new();
        member.write_json(&user, &mut s);
        let parsed: Value = serde_json::from_str(&s).expect("valid JSON");
        assert_eq!(parsed, member.json(&user));
    }
}
