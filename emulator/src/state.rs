//! Purpose: the single in-memory world (users, apps, guilds, DMs, messages, interactions,
//! OAuth grants, gateway sessions) behind one lock, plus the helpers every mutation uses:
//! permission and hierarchy checks, audit-log entries and intent-filtered dispatches.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};

use crate::config::EmulatorConfig;
use crate::error::ApiError;
use crate::model::*;
use crate::permissions as perm;
use crate::ratelimit::Budget;
use crate::snowflake::SnowflakeGen;

/// Gateway intents (bits).
pub mod intents {
    pub const GUILDS: u64 = 1 << 0;
    pub const GUILD_MEMBERS: u64 = 1 << 1;
    pub const GUILD_MODERATION: u64 = 1 << 2;
    pub const GUILD_EMOJIS_AND_STICKERS: u64 = 1 << 3;
    pub const GUILD_INTEGRATIONS: u64 = 1 << 4;
    pub const GUILD_WEBHOOKS: u64 = 1 << 5;
    pub const GUILD_INVITES: u64 = 1 << 6;
    pub const GUILD_VOICE_STATES: u64 = 1 << 7;
    pub const GUILD_PRESENCES: u64 = 1 << 8;
    pub const GUILD_MESSAGES: u64 = 1 << 9;
    pub const DIRECT_MESSAGES: u64 = 1 << 12;
    pub const MESSAGE_CONTENT: u64 = 1 << 15;
    pub const GUILD_SCHEDULED_EVENTS: u64 = 1 << 16;
    pub const AUTO_MODERATION_CONFIGURATION: u64 = 1 << 20;
    /// Every intent bit Discord defines (0-9, 10-16, 20, 21, 24, 25).
    pub const ALL_KNOWN: u64 = 0x1FFFF | (1 << 20) | (1 << 21) | (1 << 24) | (1 << 25);
}

/// A frame queued for one gateway connection.
#[derive(Debug, Clone)]
pub enum Outbound {
    Dispatch {
        seq: u64,
        event: &'static str,
        d: Arc<str>,
    },
    Raw(String),
    Close {
        code: u16,
        reason: String,
    },
}

/// The live connection of a session.
#[derive(Debug)]
pub struct Conn {
    pub id: u64,
    pub tx: mpsc::UnboundedSender<Outbound>,
}

/// A gateway session (survives disconnects for RESUME).
#[derive(Debug)]
pub struct Session {
    pub id: String,
    pub app_id: ApplicationId,
    pub bot_user_id: UserId,
    pub token: String,
    pub intents: u64,
    pub shard: (u64, u64),
    pub seq: u64,
    pub buffer: VecDeque<(u64, &'static str, Arc<str>)>,
    pub conn: Option<Conn>,
    pub disconnected_at: Option<Instant>,
}

impl Session {
    pub fn handles_guild(&self, guild_id: GuildId) -> bool {
        self.shard.1 <= 1 || (guild_id >> 22) % self.shard.1 == self.shard.0
    }

    /// Sequences a dispatch, buffers it for resume and sends it if connected.
    pub fn push(&mut self, event: &'static str, d: &Arc<str>, limit: usize) {
        self.seq += 1;
        self.buffer.push_back((self.seq, event, d.clone()));
        while self.buffer.len() > limit {
            self.buffer.pop_front();
        }
        if let Some(conn) = &self.conn {
            let frame = Outbound::Dispatch {
                seq: self.seq,
                event,
                d: d.clone(),
            };
            if conn.tx.send(frame).is_err() {
                self.conn = None;
                self.disconnected_at = Some(Instant::now());
            }
        }
    }
}

/// Who receives a dispatch.
#[derive(Debug, Clone, Copy)]
pub enum Audience {
    /// Every session of every bot that is a member of the guild.
    Guild(GuildId),
    /// Every session of one application (e.g. GUILD_DELETE after the bot was removed).
    App(ApplicationId, Option<GuildId>),
    /// The sessions of the bot(s) among a DM's recipients.
    Dm(ChannelId),
}

/// One dispatch as the emulator sent it.
#[derive(Debug, Clone)]
pub struct DispatchRecord {
    pub event: String,
    pub guild_id: Option<GuildId>,
    pub target_id: Option<u64>,
    pub at: Instant,
    /// Sessions the dispatch was queued for.
    pub sessions: usize,
    pub payload: Option<Arc<str>>,
}

/// An interaction awaiting or having received the bot's answer.
#[derive(Debug)]
pub struct Interaction {
    pub id: InteractionId,
    pub token: String,
    pub app_id: ApplicationId,
    pub kind: u8,
    pub user_id: UserId,
    pub guild_id: Option<GuildId>,
    pub channel_id: ChannelId,
    pub name: String,
    pub created: Instant,
    pub payload: Value,
    pub response: Option<(u8, Value)>,
    pub expired: bool,
    pub original_message: Option<MessageId>,
    pub followups: Vec<MessageId>,
    pub source_message: Option<MessageId>,
    pub version: watch::Sender<u64>,
}

impl Interaction {
    pub fn bump(&self) {
        self.version.send_modify(|v| *v += 1);
    }
}

/// OAuth2 authorization codes and tokens.
#[derive(Debug, Default)]
pub struct OAuthState {
    pub codes: HashMap<String, OAuthCode>,
    pub access: HashMap<String, OAuthGrant>,
    pub refresh: HashMap<String, OAuthGrant>,
    /// The user `GET /oauth2/authorize` approves as when no `emulator_user` is given.
    pub default_user: Option<UserId>,
    /// Successful `refresh_token` grants so far (tests count refreshes).
    pub refreshes: u64,
}

#[derive(Debug, Clone)]
pub struct OAuthCode {
    pub app_id: ApplicationId,
    pub user_id: UserId,
    pub scopes: Vec<String>,
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    pub created: Instant,
}

#[derive(Debug, Clone)]
pub struct OAuthGrant {
    pub app_id: ApplicationId,
    pub user_id: UserId,
    pub scopes: Vec<String>,
    pub access_token: String,
    pub refresh_token: String,
    pub expires: Instant,
}

/// Everything that exists in the emulated Discord.
#[derive(Debug, Default)]
pub struct World {
    pub users: HashMap<UserId, User>,
    pub apps: HashMap<ApplicationId, Application>,
    pub bot_tokens: HashMap<String, ApplicationId>,
    pub app_by_bot: HashMap<UserId, ApplicationId>,
    pub guilds: HashMap<GuildId, Guild>,
    pub channel_guild: HashMap<ChannelId, GuildId>,
    pub dms: HashMap<ChannelId, DmChannel>,
    pub dm_by_pair: HashMap<(UserId, UserId), ChannelId>,
    pub messages: HashMap<MessageId, Message>,
    pub channel_messages: HashMap<ChannelId, Vec<MessageId>>,
    pub nonces: HashMap<(ChannelId, UserId, String), MessageId>,
    pub webhooks: HashMap<WebhookId, Webhook>,
    pub interactions: HashMap<InteractionId, Interaction>,
    pub interaction_tokens: HashMap<String, InteractionId>,
    pub uploads: HashMap<AttachmentId, Attachment>,
    pub attachment_index: HashMap<AttachmentId, (ChannelId, MessageId)>,
    pub oauth: OAuthState,
    /// Uploaded guild and role images by hash (served on the CDN routes while referenced).
    pub images: HashMap<String, Arc<Vec<u8>>>,
}

/// The whole mutable state, behind one `parking_lot::Mutex`.
#[derive(Debug)]
pub struct State {
    pub config: Arc<EmulatorConfig>,
    pub base_url: String,
    pub gateway_url: String,
    pub ids: SnowflakeGen,
    pub world: World,
    pub sessions: HashMap<String, Session>,
    pub next_conn: u64,
    pub dispatches: Vec<DispatchRecord>,
    pub budget_enabled: bool,
}

/// Maps a dispatch name to the intent it needs (None = always delivered).
pub fn intent_for(event: &str, dm: bool) -> Option<u64> {
    use intents::*;
    Some(match event {
        "GUILD_CREATE"
        | "GUILD_UPDATE"
        | "GUILD_DELETE"
        | "GUILD_ROLE_CREATE"
        | "GUILD_ROLE_UPDATE"
        | "GUILD_ROLE_DELETE"
        | "CHANNEL_CREATE"
        | "CHANNEL_UPDATE"
        | "CHANNEL_DELETE"
        | "CHANNEL_PINS_UPDATE"
        | "THREAD_CREATE"
        | "THREAD_UPDATE"
        | "THREAD_DELETE" => GUILDS,
        "GUILD_MEMBER_ADD" | "GUILD_MEMBER_UPDATE" | "GUILD_MEMBER_REMOVE" => GUILD_MEMBERS,
        "GUILD_BAN_ADD" | "GUILD_BAN_REMOVE" | "GUILD_AUDIT_LOG_ENTRY_CREATE" => GUILD_MODERATION,
        "GUILD_EMOJIS_UPDATE" | "GUILD_STICKERS_UPDATE" => GUILD_EMOJIS_AND_STICKERS,
        "GUILD_INTEGRATIONS_UPDATE" => GUILD_INTEGRATIONS,
        "WEBHOOKS_UPDATE" => GUILD_WEBHOOKS,
        "GUILD_SCHEDULED_EVENT_CREATE"
        | "GUILD_SCHEDULED_EVENT_UPDATE"
        | "GUILD_SCHEDULED_EVENT_DELETE" => GUILD_SCHEDULED_EVENTS,
        "AUTO_MODERATION_RULE_CREATE"
        | "AUTO_MODERATION_RULE_UPDATE"
        | "AUTO_MODERATION_RULE_DELETE" => AUTO_MODERATION_CONFIGURATION,
        "MESSAGE_CREATE" | "MESSAGE_UPDATE" | "MESSAGE_DELETE" => {
            if dm {
                DIRECT_MESSAGES
            } else {
                GUILD_MESSAGES
            }
        }
        _ => return None,
    })
}

impl World {
    pub fn user(&self, id: UserId) -> Result<&User, ApiError> {
        self.users.get(&id).ok_or_else(ApiError::unknown_user)
    }

    pub fn guild(&self, id: GuildId) -> Result<&Guild, ApiError> {
        self.guilds.get(&id).ok_or_else(ApiError::unknown_guild)
    }

    pub fn guild_mut(&mut self, id: GuildId) -> Result<&mut Guild, ApiError> {
        self.guilds.get_mut(&id).ok_or_else(ApiError::unknown_guild)
    }

    /// The guild a channel belongs to (Unknown Channel if none).
    pub fn channel_guild_id(&self, channel: ChannelId) -> Result<GuildId, ApiError> {
        self.channel_guild
            .get(&channel)
            .copied()
            .ok_or_else(ApiError::unknown_channel)
    }

    /// A guild member's guild-level permissions (0 for non-members).
    pub fn base_permissions(g: &Guild, user: UserId) -> u64 {
        let Some(m) = g.members.get(&user) else {
            return 0;
        };
        let everyone = g.everyone().map_or(0, |r| r.permissions);
        perm::base_permissions(
            g.owner_id == user,
            everyone,
            m.roles
                .iter()
                .filter_map(|r| g.roles.get(r))
                .map(|r| r.permissions),
        )
    }

    /// A guild member's permissions in a channel.
    pub fn channel_permissions(g: &Guild, ch: &Channel, user: UserId) -> u64 {
        let base = Self::base_permissions(g, user);
        let roles = g
            .members
            .get(&user)
            .map(|m| m.roles.as_slice())
            .unwrap_or(&[]);
        perm::channel_permissions(base, g.id, user, roles, &ch.overwrites)
    }

    /// The highest role position of a member (owner = above everything, non-member = -1).
    pub fn top_position(g: &Guild, user: UserId) -> i64 {
        Self::top_rank(g, user).0
    }

    /// The rank of a member's highest role (see [`Role::rank`]); the owner is above
    /// everything, a member without roles ranks as @everyone, a non-member below that.
    pub fn top_rank(g: &Guild, user: UserId) -> (i64, std::cmp::Reverse<u64>) {
        if g.owner_id == user {
            return (i64::MAX, std::cmp::Reverse(0));
        }
        match g.members.get(&user) {
            None => (-1, std::cmp::Reverse(0)),
            Some(m) => m
                .roles
                .iter()
                .filter_map(|r| g.roles.get(r))
                .map(Role::rank)
                .max()
                .unwrap_or((0, std::cmp::Reverse(g.id))),
        }
    }

    /// Whether `actor` may manage `role` by hierarchy (strictly below the actor's top role).
    pub fn can_manage_role(g: &Guild, actor: UserId, role: &Role) -> bool {
        g.owner_id == actor || role.rank() < Self::top_rank(g, actor)
    }

    /// Whether `actor` outranks `target` (kick, ban, nickname, timeout).
    pub fn outranks(g: &Guild, actor: UserId, target: UserId) -> bool {
        if target == g.owner_id {
            return false;
        }
        g.owner_id == actor || Self::top_rank(g, actor) > Self::top_rank(g, target)
    }

    /// Fails with Missing Permissions unless `actor` has every bit of `needed` in the guild.
    pub fn require(g: &Guild, actor: UserId, needed: u64) -> Result<u64, ApiError> {
        if !g.members.contains_key(&actor) {
            return Err(ApiError::missing_access());
        }
        let p = Self::base_permissions(g, actor);
        if p & needed == needed {
            Ok(p)
        } else {
            Err(ApiError::missing_permissions())
        }
    }

    /// Fails unless `actor` has every bit of `needed` in the channel (Missing Access without
    /// VIEW_CHANNEL).
    pub fn require_in_channel(
        g: &Guild,
        ch: &Channel,
        actor: UserId,
        needed: u64,
    ) -> Result<u64, ApiError> {
        if !g.members.contains_key(&actor) {
            return Err(ApiError::missing_access());
        }
        let p = Self::channel_permissions(g, ch, actor);
        if p & perm::VIEW_CHANNEL == 0 {
            return Err(ApiError::missing_access());
        }
        if p & needed == needed {
            Ok(p)
        } else {
            Err(ApiError::missing_permissions())
        }
    }

    /// Number of guilds a user is a member of.
    pub fn guild_count(&self, user: UserId) -> usize {
        self.guilds
            .values()
            .filter(|g| g.members.contains_key(&user))
            .count()
    }

    pub fn app_of_bot(&self, user: UserId) -> Option<&Application> {
        self.app_by_bot.get(&user).and_then(|a| self.apps.get(a))
    }

    /// Looks up an app by bot token (with or without the `Bot ` prefix).
    pub fn app_by_token(&self, token: &str) -> Option<&Application> {
        let t = token.trim();
        let t = t.strip_prefix("Bot ").unwrap_or(t).trim();
        self.bot_tokens.get(t).and_then(|a| self.apps.get(a))
    }
}

impl State {
    pub fn new(config: Arc<EmulatorConfig>) -> Self {
        let budget_enabled = config.rate_limits.enabled;
        Self {
            config,
            base_url: String::new(),
            gateway_url: String::new(),
            ids: SnowflakeGen::default(),
            world: World::default(),
            sessions: HashMap::new(),
            next_conn: 1,
            dispatches: Vec::new(),
            budget_enabled,
        }
    }

    pub fn next_id(&mut self) -> u64 {
        self.ids.next_id()
    }

    /// A random token of `n` bytes, hex encoded.
    pub fn random_token(n: usize) -> String {
        use rand::RngCore;
        let mut bytes = vec![0u8; n];
        rand::rng().fill_bytes(&mut bytes);
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Sends a dispatch to its audience, filtered by shard, intents and (for audit entries)
    /// the bot's VIEW_AUDIT_LOG permission. The payload is serialized once.
    pub fn emit(
        &mut self,
        audience: Audience,
        event: &'static str,
        d: &Value,
        target: Option<u64>,
    ) {
        let payload: Arc<str> =
            Arc::from(serde_json::to_string(d).unwrap_or_else(|_| "{}".to_string()));
        let limit = self.config.resume_buffer_limit;
        let (guild_id, dm) = match audience {
            Audience::Guild(g) | Audience::App(_, Some(g)) => (Some(g), false),
            Audience::Dm(_) => (None, true),
            _ => (None, false),
        };
        let needed = intent_for(event, dm);
        let mut delivered = 0;
        let world = &self.world;
        for s in self.sessions.values_mut() {
            let eligible = match audience {
                Audience::Guild(gid) => {
                    let Some(g) = world.guilds.get(&gid) else {
                        continue;
                    };
                    if !g.members.contains_key(&s.bot_user_id) || !s.handles_guild(gid) {
                        continue;
                    }
                    if event == "GUILD_AUDIT_LOG_ENTRY_CREATE"
                        && World::base_permissions(g, s.bot_user_id) & perm::VIEW_AUDIT_LOG == 0
                    {
                        continue;
                    }
                    // AutoMod rule events go to bots that may manage the guild (as Discord).
                    if event.starts_with("AUTO_MODERATION_RULE_")
                        && World::base_permissions(g, s.bot_user_id) & perm::MANAGE_GUILD == 0
                    {
                        continue;
                    }
                    true
                }
                // Guild-less dispatches (DM interactions) go to shard 0 only.
                Audience::App(app, gid) => {
                    s.app_id == app
                        && match gid {
                            Some(g) => s.handles_guild(g),
                            None => s.shard.0 == 0,
                        }
                }
                Audience::Dm(ch) => {
                    world
                        .dms
                        .get(&ch)
                        .is_some_and(|dmc| dmc.recipients.contains(&s.bot_user_id))
                        && s.shard.0 == 0
                }
            };
            if !eligible {
                continue;
            }
            if let Some(bit) = needed {
                let own_member_update =
                    event == "GUILD_MEMBER_UPDATE" && target == Some(s.bot_user_id);
                if s.intents & bit == 0 && !own_member_update {
                    continue;
                }
            }
            s.push(event, &payload, limit);
            delivered += 1;
        }
        self.dispatches.push(DispatchRecord {
            event: event.to_string(),
            guild_id,
            target_id: target,
            at: Instant::now(),
            sessions: delivered,
            payload: self.config.record_dispatch_payloads.then_some(payload),
        });
    }

    /// Sends a dispatch to one session (READY, GUILD_CREATE on identify, member chunks),
    /// honouring intents.
    pub fn emit_session(
        &mut self,
        session: &str,
        event: &'static str,
        d: &Value,
        guild: Option<GuildId>,
    ) {
        let payload: Arc<str> =
            Arc::from(serde_json::to_string(d).unwrap_or_else(|_| "{}".to_string()));
        self.emit_session_raw(session, event, payload, guild);
    }

    /// Like [`State::emit_session`] with an already serialized payload.
    pub fn emit_session_raw(
        &mut self,
        session: &str,
        event: &'static str,
        payload: Arc<str>,
        guild: Option<GuildId>,
    ) {
        let limit = self.config.resume_buffer_limit;
        let mut delivered = 0;
        if let Some(s) = self.sessions.get_mut(session) {
            let allowed = intent_for(event, false).is_none_or(|bit| s.intents & bit != 0);
            if allowed {
                s.push(event, &payload, limit);
                delivered = 1;
            }
        }
        self.dispatches.push(DispatchRecord {
            event: event.to_string(),
            guild_id: guild,
            target_id: guild,
            at: Instant::now(),
            sessions: delivered,
            payload: self.config.record_dispatch_payloads.then_some(payload),
        });
    }

    /// Appends an audit-log entry and dispatches GUILD_AUDIT_LOG_ENTRY_CREATE.
    #[allow(clippy::too_many_arguments)]
    pub fn audit(
        &mut self,
        guild_id: GuildId,
        actor: UserId,
        target: Option<u64>,
        action_type: u16,
        changes: Vec<AuditChange>,
        options: Option<Value>,
        reason: Option<&str>,
    ) {
        let entry = AuditEntry {
            id: self.next_id(),
            guild_id,
            user_id: Some(actor),
            target_id: target,
            action_type,
            changes,
            options,
            reason: reason.map(str::to_string),
        };
        let mut d = entry.json();
        d["guild_id"] = json!(guild_id.to_string());
        if let Some(g) = self.world.guilds.get_mut(&guild_id) {
            g.audit_log.push(entry);
        }
        self.emit(
            Audience::Guild(guild_id),
            "GUILD_AUDIT_LOG_ENTRY_CREATE",
            &d,
            target,
        );
    }

    /// Checks and consumes a sliding-window budget (role creations, channel renames).
    pub fn take_budget(
        budget: Option<&Budget>,
        enabled: bool,
        scale: f64,
        times: &mut VecDeque<Instant>,
    ) -> Result<(), ApiError> {
        let Some(b) = budget else { return Ok(()) };
        let now = Instant::now();
        let window = if scale > 0.0 {
            b.window.div_f64(scale)
        } else {
            b.window
        };
        while times
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= window)
        {
            times.pop_front();
        }
        if enabled && times.len() >= b.limit as usize {
            let oldest = times.front().copied().unwrap_or(now);
            let wait = crate::ratelimit::later(oldest, window)
                .saturating_duration_since(now)
                .as_secs_f64();
            return Err(ApiError::rate_limited(wait.max(0.001), "user"));
        }
        times.push_back(now);
        Ok(())
    }

    /// The `member` JSON of a guild member (with `guild_id` for gateway events).
    pub fn member_json(&self, g: &Guild, user: UserId) -> Option<Value> {
        let m = g.members.get(&user)?;
        let u = self.world.users.get(&user)?;
        Some(m.json(u))
    }

    /// The full GUILD_CREATE payload for a guild, as seen by `bot`.
    pub fn guild_create_json(&self, g: &Guild, bot: UserId) -> Value {
        let mut v = g.json();
        let large = g.members.len() > self.config.large_threshold;
        let members: Vec<Value> = if large {
            [bot, g.owner_id]
                .iter()
                .filter_map(|u| self.member_json(g, *u))
                .collect()
        } else {
            g.members
                .keys()
                .filter_map(|u| self.member_json(g, *u))
                .collect()
        };
        let joined = g
            .members
            .get(&bot)
            .map(|m| ts(&m.joined_at))
            .unwrap_or_else(|| ts(&chrono::Utc::now()));
        v["joined_at"] = json!(joined);
        v["large"] = json!(large);
        v["unavailable"] = json!(false);
        v["member_count"] = json!(g.members.len());
        v["voice_states"] = json!([]);
        v["members"] = Value::Array(members);
        v["channels"] = Value::Array(g.sorted_channels().iter().map(|c| c.json()).collect());
        v["threads"] = Value::Array(
            g.threads
                .values()
                .filter(|t| !t.archived)
                .map(Thread::json)
                .collect(),
        );
        v["presences"] = json!([]);
        v["stage_instances"] = json!([]);
        v["guild_scheduled_events"] =
            Value::Array(g.scheduled_events.iter().map(|e| e.json(g.id)).collect());
        v["soundboard_sounds"] = json!([]);
        v
    }

    /// Sends GUILD_CREATE for `guild` to every session of `app`.
    pub fn send_guild_create(&mut self, app: ApplicationId, guild: GuildId) {
        let Some(bot) = self.world.apps.get(&app).map(|a| a.bot_user_id) else {
            return;
        };
        let Some(g) = self.world.guilds.get(&guild) else {
            return;
        };
        let d = self.guild_create_json(g, bot);
        self.emit(
            Audience::App(app, Some(guild)),
            "GUILD_CREATE",
            &d,
            Some(guild),
        );
    }

    /// Creates a user.
    pub fn create_user(&mut self, name: &str, bot: bool) -> UserId {
        let id = self.next_id();
        let username: String = name.chars().take(32).collect();
        self.world.users.insert(
            id,
            User {
                id,
                username: username.clone(),
                global_name: (!bot).then(|| username.clone()),
                bot,
                dms_open: true,
                locale: "en-US".to_string(),
                email: (!bot).then(|| {
                    format!(
                        "{}@users.emulator.invalid",
                        username.to_lowercase().replace(' ', ".")
                    )
                }),
                avatar: None,
            },
        );
        id
    }

    /// Gives `user` an avatar (`png`: the image's bytes); returns its hash.
    pub fn set_user_avatar(&mut self, user: UserId, png: Vec<u8>) -> Result<String, ApiError> {
        use base64::Engine as _;
        let uri = format!(
            "data:image/png;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(&png)
        );
        let hash = self.upload_image(&serde_json::Value::String(uri), "avatar")?;
        let u = self
            .world
            .users
            .get_mut(&user)
            .ok_or_else(ApiError::unknown_user)?;
        u.avatar = Some(hash.clone());
        Ok(hash)
    }

    /// Creates a guild owned by `owner` with @everyone and a #general text channel.
    pub fn create_guild(&mut self, owner: UserId, name: &str) -> GuildId {
        let id = self.next_id();
        let general = self.next_id();
        let mut roles = HashMap::new();
        roles.insert(
            id,
            Role {
                id,
                name: "@everyone".to_string(),
                color: 0,
                hoist: false,
                mentionable: false,
                permissions: perm::DEFAULT_EVERYONE,
                position: 0,
                managed: false,
                bot_id: None,
                unicode_emoji: None,
                icon: None,
            },
        );
        let mut channels = HashMap::new();
        channels.insert(
            general,
            Channel {
                id: general,
                guild_id: id,
                kind: channel_type::GUILD_TEXT,
                name: "general".to_string(),
                position: 0,
                parent_id: None,
                topic: None,
                nsfw: false,
                rate_limit_per_user: 0,
                bitrate: 0,
                user_limit: 0,
                overwrites: Vec::new(),
                available_tags: Vec::new(),
                default_auto_archive_duration: None,
                last_message_id: None,
                renames: VecDeque::new(),
            },
        );
        let mut members = std::collections::BTreeMap::new();
        members.insert(
            owner,
            Member {
                user_id: owner,
                nick: None,
                roles: Vec::new(),
                joined_at: chrono::Utc::now(),
                deaf: false,
                mute: false,
                communication_disabled_until: None,
            },
        );
        let mut settings = GuildSettings::new(name);
        settings.system_channel_id = Some(general);
        self.world.channel_guild.insert(general, id);
        self.world.guilds.insert(
            id,
            Guild {
                id,
                owner_id: owner,
                settings,
                roles,
                channels,
                members,
                bans: Default::default(),
                emojis: Vec::new(),
                stickers: Vec::new(),
                automod: Vec::new(),
                threads: std::collections::BTreeMap::new(),
                scheduled_events: Vec::new(),
                welcome_screen: None,
                onboarding: Onboarding::default(),
                audit_log: Vec::new(),
                role_creations: VecDeque::new(),
                incidents: Incidents::default(),
                last_full_member_request: HashMap::new(),
            },
        );
        id
    }

    /// Creates an application with its bot user.
    pub fn create_application(
        &mut self,
        name: &str,
        mut options: ApplicationOptions,
    ) -> Application {
        let owner = match options.owner_id {
            Some(o) if self.world.users.contains_key(&o) => o,
            _ => self.create_user(&format!("{name} owner"), false),
        };
        options.owner_id = Some(owner);
        let bot_user_id = self.create_user(name, true);
        let id = self.next_id();
        let token = format!(
            "{}.{}.{}",
            base64_url(bot_user_id.to_string().as_bytes()),
            &Self::random_token(3),
            Self::random_token(19)
        );
        let app = Application {
            id,
            name: name.to_string(),
            bot_user_id,
            bot_token: token.clone(),
            client_secret: Self::random_token(16),
            owner_id: owner,
            options,
            global_commands: Vec::new(),
            guild_commands: HashMap::new(),
        };
        self.world.bot_tokens.insert(token, id);
        self.world.app_by_bot.insert(bot_user_id, id);
        self.world.apps.insert(id, app.clone());
        app
    }

    /// Closes sessions whose resume window passed.
    pub fn expire_sessions(&mut self) {
        let window = self.config.resume_window;
        self.sessions.retain(|_, s| {
            s.conn.is_some() || s.disconnected_at.is_none_or(|t| t.elapsed() < window)
        });
    }
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Helpers to read JSON request bodies with Discord-shaped validation errors.
pub mod body {
    use serde_json::Value;

    use crate::error::ApiError;

    /// `None` = absent; `Some(None)` = explicit null.
    pub fn string(
        b: &Value,
        key: &str,
        min: usize,
        max: usize,
    ) -> Result<Option<Option<String>>, ApiError> {
        match b.get(key) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(Value::String(s)) => {
                let n = s.chars().count();
                if n < min || n > max {
                    Err(ApiError::invalid_form(
                        key,
                        "BASE_TYPE_BAD_LENGTH",
                        format!("Must be between {min} and {max} in length."),
                    ))
                } else {
                    Ok(Some(Some(s.clone())))
                }
            }
            Some(_) => Err(ApiError::invalid_form(
                key,
                "STRING_TYPE_CONVERT",
                "Could not interpret the value as string.",
            )),
        }
    }

    pub fn boolean(b: &Value, key: &str) -> Result<Option<bool>, ApiError> {
        match b.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(v)) => Ok(Some(*v)),
            Some(_) => Err(ApiError::invalid_form(
                key,
                "BOOLEAN_TYPE_CONVERT",
                "Must be either true or false.",
            )),
        }
    }

    pub fn integer(b: &Value, key: &str, min: i64, max: i64) -> Result<Option<i64>, ApiError> {
        match b.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => {
                let n = v
                    .as_i64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()));
                match n {
                    Some(n) if n >= min && n <= max => Ok(Some(n)),
                    Some(_) => Err(ApiError::invalid_form(
                        key,
                        "NUMBER_TYPE_MAX",
                        format!("Int value should be between {min} and {max}."),
                    )),
                    None => Err(ApiError::invalid_form(
                        key,
                        "NUMBER_TYPE_COERCE",
                        "Value is not int.",
                    )),
                }
            }
        }
    }

    /// A snowflake field: `None` = absent, `Some(None)` = null.
    pub fn snowflake(b: &Value, key: &str) -> Result<Option<Option<u64>>, ApiError> {
        match b.get(key) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(v) => {
                let parsed = match v {
                    Value::String(s) => crate::snowflake::parse(s),
                    Value::Number(n) => n.as_u64(),
                    _ => None,
                };
                parsed.map(|p| Some(Some(p))).ok_or_else(|| {
                    ApiError::invalid_form(
                        key,
                        "NUMBER_TYPE_COERCE",
                        format!("Value \"{v}\" is not snowflake."),
                    )
                })
            }
        }
    }

    pub fn permissions(b: &Value, key: &str) -> Result<Option<u64>, ApiError> {
        match b.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => crate::permissions::parse(v).map(Some).ok_or_else(|| {
                ApiError::invalid_form(key, "NUMBER_TYPE_COERCE", "Value is not int.")
            }),
        }
    }

    /// A 400 "Invalid Form Body" naming `key` with a free message (BASE_TYPE_INVALID).
    pub fn invalid(key: &str, message: &str) -> ApiError {
        ApiError::invalid_form(key, "BASE_TYPE_INVALID", message.to_owned())
    }

    pub fn require_object(b: &Value) -> Result<(), ApiError> {
        if b.is_object() {
            Ok(())
        } else {
            Err(ApiError::invalid_form(
                "_root",
                "DICT_TYPE_CONVERT",
                "Only dictionaries may be used in a DictType",
            ))
        }
    }
}
