//! Purpose: the one outbound Discord REST port — every Discord read and write Umbra makes
//! outside the gateway and the interaction replies (roles, channels, overwrites, members, bans,
//! messages and DMs, the audit log, webhooks) goes through [`DiscordRest`]. The production
//! adapter ([`SerenityRest`]) sends through serenity's `Http` (its rate limiter keeps each
//! bucket at its limit and retries 429s) after the process-wide [`Pacer`] (the global limit,
//! `discord.global_requests_per_second`; AntiNuke punishments jump the queue). Answers carry
//! their rate-limit headers, so callers that schedule many calls (a restore) know each bucket.
//! [`Rest`] wraps the port with typed calls.

mod pacer;
mod serenity_adapter;

use std::sync::Arc;

use async_trait::async_trait;
use poise::serenity_prelude as serenity;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

pub use pacer::Pacer;
pub use serenity_adapter::SerenityRest;

/// How urgent a call is: AntiNuke's punishments go before everything waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// Stops an attack now (punishment, lockdown).
    Urgent,
    /// Everything else.
    Normal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

/// What a call is about (Discord's REST routes Umbra uses, ids as snowflakes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Guild(u64),
    GuildRoles(u64),
    GuildRole(u64, u64),
    GuildChannels(u64),
    Channel(u64),
    GuildMembers(u64),
    GuildMember(u64, u64),
    GuildMemberRole(u64, u64, u64),
    GuildBans(u64),
    GuildBan(u64, u64),
    GuildEmojis(u64),
    GuildEmoji(u64, u64),
    GuildStickers(u64),
    GuildSticker(u64, u64),
    GuildWelcomeScreen(u64),
    /// `/guilds/{g}/onboarding` (serenity 0.12 has no route: sent raw, same pacer).
    GuildOnboarding(u64),
    GuildWebhooks(u64),
    ChannelWebhooks(u64),
    GuildScheduledEvents(u64),
    GuildScheduledEvent(u64, u64),
    GuildAutoModRules(u64),
    GuildAutoModRule(u64, u64),
    /// `/channels/{c}/threads` (create a thread or a forum post).
    ChannelThreads(u64),
    ChannelArchivedThreads(u64),
    GuildActiveThreads(u64),
    GuildAuditLogs(u64),
    GuildIncidentActions(u64),
    Webhook(u64),
    /// `POST /users/@me/channels` (open a DM).
    DmChannels,
    ChannelMessages(u64),
    ChannelMessage(u64, u64),
    /// `/channels/{c}/pins/{m}` (pin or unpin a message).
    ChannelPin(u64, u64),
    /// `/webhooks/{w}/{token}` (execute: a message as the webhook; the token is never stored).
    WebhookExecute(u64, String),
    /// `/oauth2/applications/@me`: Umbra's own application (its flags).
    CurrentApplication,
    /// The original response of one of Umbra's interactions (by its token, 15 minutes).
    OriginalResponse(String),
}

/// One request.
#[derive(Debug, Clone)]
pub struct RestCall {
    pub method: Method,
    pub endpoint: Endpoint,
    pub query: Vec<(&'static str, String)>,
    pub body: Option<Value>,
    /// The audit-log reason (sent percent-encoded).
    pub reason: Option<String>,
    pub priority: Priority,
    /// A file upload (multipart form: the file plus plain fields; `body` is then unused).
    pub file: Option<RestFile>,
    /// A message's attachments (multipart: `files[n]` beside `body` as `payload_json`, whose
    /// `attachments` names them by index).
    pub attachments: Vec<RestFile>,
}

/// A file sent as `multipart/form-data` (a sticker upload).
#[derive(Clone)]
pub struct RestFile {
    /// The form field of the file (`file`) and its file name.
    pub filename: String,
    pub bytes: Vec<u8>,
    /// Plain form fields beside the file.
    pub fields: Vec<(String, String)>,
}

impl std::fmt::Debug for RestFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestFile")
            .field("filename", &self.filename)
            .field("bytes", &self.bytes.len())
            .field("fields", &self.fields)
            .finish()
    }
}

impl RestCall {
    pub fn new(method: Method, endpoint: Endpoint) -> Self {
        Self {
            method,
            endpoint,
            query: Vec::new(),
            body: None,
            reason: None,
            priority: Priority::Normal,
            file: None,
            attachments: Vec::new(),
        }
    }

    pub fn attachments(mut self, files: Vec<RestFile>) -> Self {
        self.attachments = files;
        self
    }

    pub fn file(mut self, file: RestFile) -> Self {
        self.file = Some(file);
        self
    }

    pub fn body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    pub fn reason(mut self, reason: Option<&str>) -> Self {
        self.reason = reason.map(str::to_owned);
        self
    }

    pub fn query(mut self, key: &'static str, value: impl ToString) -> Self {
        self.query.push((key, value.to_string()));
        self
    }

    pub fn priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }
}

/// A response's rate-limit headers.
#[derive(Debug, Clone, PartialEq)]
pub struct RateHeaders {
    /// `X-RateLimit-Bucket`.
    pub bucket: Option<String>,
    /// `X-RateLimit-Remaining`.
    pub remaining: u32,
    /// `X-RateLimit-Reset` (epoch seconds).
    pub reset: f64,
    /// `X-RateLimit-Reset-After` (seconds).
    pub reset_after: f64,
}

/// A successful answer: its body (JSON; `Null` for no content) and its bucket's state.
#[derive(Debug, Clone)]
pub struct RestAnswer {
    pub status: u16,
    pub body: Value,
    pub rate: Option<RateHeaders>,
}

/// Why a call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RestError {
    /// Discord answered with an error (4xx): `code` is Discord's JSON error code (0: none).
    #[error("Discord refused ({status}, code {code}): {message}")]
    Refused {
        status: u16,
        code: isize,
        message: String,
    },
    /// No usable answer (5xx, network, an unreadable body): worth retrying.
    #[error("Discord did not answer usefully: {0}")]
    Transient(String),
    /// This process has no Discord client (no token).
    #[error("not connected to Discord")]
    NotConnected,
}

impl RestError {
    /// The HTTP status of a refusal.
    pub fn status(&self) -> Option<u16> {
        match self {
            RestError::Refused { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Discord's JSON error code of a refusal.
    pub fn code(&self) -> Option<isize> {
        match self {
            RestError::Refused { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// The outbound port.
#[async_trait]
pub trait DiscordRest: Send + Sync {
    /// Sends `call` once it is its turn under the global pacing. Returns the answer (body and
    /// rate-limit headers), `Refused` for a Discord error, `Transient` when there was no usable
    /// answer, `NotConnected` without a Discord client. Never retries a refusal.
    async fn send(&self, call: RestCall) -> Result<RestAnswer, RestError>;
}

/// The port for a process without a Discord client: every call fails with `NotConnected`.
pub struct Disconnected;

#[async_trait]
impl DiscordRest for Disconnected {
    async fn send(&self, _call: RestCall) -> Result<RestAnswer, RestError> {
        Err(RestError::NotConnected)
    }
}

/// The port with typed calls. Cheap to clone.
#[derive(Clone)]
pub struct Rest(Arc<dyn DiscordRest>);

impl std::fmt::Debug for Rest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Rest")
    }
}

fn parse<T: DeserializeOwned>(v: Value) -> Result<T, RestError> {
    serde_json::from_value(v).map_err(|e| RestError::Transient(format!("unreadable answer: {e}")))
}

impl Rest {
    pub fn new(port: Arc<dyn DiscordRest>) -> Self {
        Self(port)
    }

    /// A port that is not connected (no token): every call fails.
    pub fn disconnected() -> Self {
        Self(Arc::new(Disconnected))
    }

    /// Any call.
    pub async fn send(&self, call: RestCall) -> Result<RestAnswer, RestError> {
        self.0.send(call).await
    }

    async fn body(&self, call: RestCall) -> Result<Value, RestError> {
        Ok(self.0.send(call).await?.body)
    }

    /// `PATCH /guilds/{g}/members/{u}`.
    pub async fn edit_member(
        &self,
        guild: u64,
        user: u64,
        body: Value,
        reason: Option<&str>,
        priority: Priority,
    ) -> Result<(), RestError> {
        self.body(
            RestCall::new(Method::Patch, Endpoint::GuildMember(guild, user))
                .body(body)
                .reason(reason)
                .priority(priority),
        )
        .await
        .map(|_| ())
    }

    /// `GET /guilds/{g}/members/{u}`: the member's role ids.
    pub async fn member_roles(&self, guild: u64, user: u64) -> Result<Vec<u64>, RestError> {
        let v = self
            .body(RestCall::new(
                Method::Get,
                Endpoint::GuildMember(guild, user),
            ))
            .await?;
        Ok(v.get("roles")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| r.as_str().and_then(|s| s.parse().ok()))
            .collect())
    }

    /// `DELETE /guilds/{g}/members/{u}` (kick).
    pub async fn kick(
        &self,
        guild: u64,
        user: u64,
        reason: Option<&str>,
        priority: Priority,
    ) -> Result<(), RestError> {
        self.body(
            RestCall::new(Method::Delete, Endpoint::GuildMember(guild, user))
                .reason(reason)
                .priority(priority),
        )
        .await
        .map(|_| ())
    }

    /// `PUT /guilds/{g}/bans/{u}`.
    pub async fn ban(
        &self,
        guild: u64,
        user: u64,
        reason: Option<&str>,
        priority: Priority,
    ) -> Result<(), RestError> {
        self.body(
            RestCall::new(Method::Put, Endpoint::GuildBan(guild, user))
                .body(json!({ "delete_message_seconds": 0 }))
                .reason(reason)
                .priority(priority),
        )
        .await
        .map(|_| ())
    }

    /// `GET /guilds/{g}/bans`, every page (1,000 per call, by user id): (user, username,
    /// reason) of each ban.
    pub async fn bans(&self, guild: u64) -> Result<Vec<(u64, String, Option<String>)>, RestError> {
        const PAGE: usize = 1000;
        let mut out = Vec::new();
        let mut after = 0u64;
        loop {
            let mut call =
                RestCall::new(Method::Get, Endpoint::GuildBans(guild)).query("limit", PAGE);
            if after > 0 {
                call = call.query("after", after);
            }
            let page = self.body(call).await?;
            let items = page.as_array().cloned().unwrap_or_default();
            let n = items.len();
            for b in items {
                let user = b.get("user");
                let id = user
                    .and_then(|u| u.get("id"))
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse::<u64>().ok());
                let Some(id) = id else {
                    return Err(RestError::Transient("a ban without a user id".into()));
                };
                let name = user
                    .and_then(|u| u.get("username"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let reason = b.get("reason").and_then(Value::as_str).map(str::to_owned);
                after = after.max(id);
                out.push((id, name, reason));
            }
            if n < PAGE {
                return Ok(out);
            }
        }
    }

    /// `GET /channels/{c}/threads/archived/public`, newest archive first, page by page (by
    /// the last one's archive time) up to `max`: the channel's archived public threads.
    pub async fn archived_threads(
        &self,
        channel: u64,
        max: usize,
    ) -> Result<Vec<crate::recovery::sync::ThreadState>, RestError> {
        let mut out = Vec::new();
        let mut before: Option<String> = None;
        loop {
            let mut call = RestCall::new(Method::Get, Endpoint::ChannelArchivedThreads(channel))
                .query("limit", 100);
            if let Some(b) = &before {
                call = call.query("before", b);
            }
            let page = self.body(call).await?;
            let threads = page
                .get("threads")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for t in &threads {
                let parsed: serenity::all::GuildChannel = serde_json::from_value(t.clone())
                    .map_err(|e| {
                        RestError::Transient(format!("a thread that does not read: {e}"))
                    })?;
                if let Some(state) = crate::recovery::sync::convert::thread(&parsed) {
                    out.push(state);
                }
            }
            before = threads
                .last()
                .and_then(|t| t.pointer("/thread_metadata/archive_timestamp"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            let more = page
                .get("has_more")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            if !more || before.is_none() || out.len() >= max {
                return Ok(out);
            }
        }
    }

    /// `GET /channels/{c}/messages/{m}`: the message's text (`None`: no such message).
    pub async fn message_content(
        &self,
        channel: u64,
        message: u64,
    ) -> Result<Option<String>, RestError> {
        match self
            .body(RestCall::new(
                Method::Get,
                Endpoint::ChannelMessage(channel, message),
            ))
            .await
        {
            Ok(m) => Ok(m.get("content").and_then(Value::as_str).map(str::to_owned)),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `GET /oauth2/applications/@me`: Umbra's application flags (the privileged intents it
    /// may use: 1<<18 / 1<<19 the Message Content intent).
    pub async fn application_flags(&self) -> Result<u64, RestError> {
        let app = self
            .body(RestCall::new(Method::Get, Endpoint::CurrentApplication))
            .await?;
        Ok(app.get("flags").and_then(Value::as_u64).unwrap_or(0))
    }

    /// `GET /channels/{c}/messages`, newest first, by pages of 100: up to `max` messages.
    pub async fn recent_messages(&self, channel: u64, max: usize) -> Result<Vec<Value>, RestError> {
        let mut out: Vec<Value> = Vec::new();
        let mut before: Option<String> = None;
        while out.len() < max {
            let mut call = RestCall::new(Method::Get, Endpoint::ChannelMessages(channel))
                .query("limit", (max - out.len()).min(100));
            if let Some(b) = &before {
                call = call.query("before", b);
            }
            let page = match self.body(call).await? {
                Value::Array(page) => page,
                _ => return Err(RestError::Transient("messages: not a list".into())),
            };
            let full = page.len() >= 100;
            before = page
                .last()
                .and_then(|m| m.get("id"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            out.extend(page);
            if !full || before.is_none() {
                break;
            }
        }
        out.truncate(max);
        Ok(out)
    }

    /// `GET /guilds/{g}/welcome-screen` (a guild without one: an empty, disabled screen).
    pub async fn welcome_screen(
        &self,
        guild: u64,
    ) -> Result<crate::recovery::sync::WelcomeState, RestError> {
        match self
            .body(RestCall::new(
                Method::Get,
                Endpoint::GuildWelcomeScreen(guild),
            ))
            .await
        {
            Ok(v) => crate::recovery::sync::WelcomeState::from_discord(&v)
                .ok_or_else(|| RestError::Transient("a welcome screen that does not read".into())),
            Err(e) if e.code() == Some(10069) => Ok(crate::recovery::sync::WelcomeState {
                enabled: false,
                description: None,
                channels: Vec::new(),
            }),
            Err(e) => Err(e),
        }
    }

    /// `GET /guilds/{g}/onboarding`: the onboarding as it is (a guild that never set one has
    /// a disabled, empty one).
    pub async fn onboarding(
        &self,
        guild: u64,
    ) -> Result<crate::recovery::sync::OnboardingState, RestError> {
        let v = self
            .body(RestCall::new(Method::Get, Endpoint::GuildOnboarding(guild)))
            .await?;
        crate::recovery::sync::OnboardingState::from_discord(&v)
            .ok_or_else(|| RestError::Transient("an onboarding that does not read".into()))
    }

    /// `GET /guilds/{g}/webhooks`: the webhooks people made and those of `own_application`
    /// (see [`crate::recovery::sync::WebhookState`]), sorted by id.
    pub async fn webhooks(
        &self,
        guild: u64,
        own_application: u64,
    ) -> Result<Vec<crate::recovery::sync::WebhookState>, RestError> {
        let v = self
            .body(RestCall::new(Method::Get, Endpoint::GuildWebhooks(guild)))
            .await?;
        crate::recovery::sync::WebhookState::kept_from_discord(&v, own_application)
            .ok_or_else(|| RestError::Transient("a webhook list that does not read".into()))
    }

    /// `GET /guilds/{g}/scheduled-events`: every event that reads (one that does not is an
    /// error).
    pub async fn scheduled_events(
        &self,
        guild: u64,
    ) -> Result<Vec<crate::recovery::sync::EventState>, RestError> {
        let list = self
            .body(RestCall::new(
                Method::Get,
                Endpoint::GuildScheduledEvents(guild),
            ))
            .await?;
        list.as_array()
            .into_iter()
            .flatten()
            .map(|e| {
                crate::recovery::sync::EventState::from_json(e).ok_or_else(|| {
                    RestError::Transient("a scheduled event that does not read".into())
                })
            })
            .collect()
    }

    /// `GET /guilds/{g}/auto-moderation/rules`: every rule that reads (see
    /// `AutoModRuleState::from_json`; one that does not is an error, never silently dropped).
    pub async fn automod_rules(
        &self,
        guild: u64,
    ) -> Result<Vec<crate::recovery::sync::AutoModRuleState>, RestError> {
        let list = self
            .body(RestCall::new(
                Method::Get,
                Endpoint::GuildAutoModRules(guild),
            ))
            .await?;
        list.as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                crate::recovery::sync::AutoModRuleState::from_json(r).ok_or_else(|| {
                    RestError::Transient("an AutoMod rule that does not read".into())
                })
            })
            .collect()
    }

    /// `DELETE /guilds/{g}/bans/{u}`.
    pub async fn unban(
        &self,
        guild: u64,
        user: u64,
        reason: Option<&str>,
    ) -> Result<(), RestError> {
        self.body(RestCall::new(Method::Delete, Endpoint::GuildBan(guild, user)).reason(reason))
            .await
            .map(|_| ())
    }

    /// `PUT` or `DELETE /guilds/{g}/members/{u}/roles/{r}`.
    pub async fn member_role(
        &self,
        guild: u64,
        user: u64,
        role: u64,
        add: bool,
        reason: Option<&str>,
    ) -> Result<(), RestError> {
        let method = if add { Method::Put } else { Method::Delete };
        self.body(
            RestCall::new(method, Endpoint::GuildMemberRole(guild, user, role)).reason(reason),
        )
        .await
        .map(|_| ())
    }

    /// `PATCH /guilds/{g}/roles/{r}`.
    pub async fn edit_role(
        &self,
        guild: u64,
        role: u64,
        body: Value,
        reason: Option<&str>,
        priority: Priority,
    ) -> Result<(), RestError> {
        self.body(
            RestCall::new(Method::Patch, Endpoint::GuildRole(guild, role))
                .body(body)
                .reason(reason)
                .priority(priority),
        )
        .await
        .map(|_| ())
    }

    /// `GET /guilds/{g}/roles`: the role ids.
    pub async fn role_ids(&self, guild: u64) -> Result<Vec<u64>, RestError> {
        let v = self
            .body(RestCall::new(Method::Get, Endpoint::GuildRoles(guild)))
            .await?;
        Ok(v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r.get("id")?.as_str()?.parse().ok())
            .collect())
    }

    /// `PUT /guilds/{g}/incident-actions`.
    pub async fn incident_actions(
        &self,
        guild: u64,
        body: Value,
        priority: Priority,
    ) -> Result<(), RestError> {
        self.body(
            RestCall::new(Method::Put, Endpoint::GuildIncidentActions(guild))
                .body(body)
                .priority(priority),
        )
        .await
        .map(|_| ())
    }

    /// `GET /webhooks/{w}`: its URL (it holds the webhook's token: never store or log it).
    pub async fn webhook_url(&self, webhook: u64) -> Result<String, RestError> {
        let v = self
            .body(RestCall::new(Method::Get, Endpoint::Webhook(webhook)))
            .await?;
        if let Some(url) = v.get("url").and_then(Value::as_str) {
            return Ok(url.to_owned());
        }
        v.get("token")
            .and_then(Value::as_str)
            .map(|t| format!("https://discord.com/api/webhooks/{webhook}/{t}"))
            .ok_or_else(|| RestError::Transient("the webhook came without its token".into()))
    }

    /// `DELETE /webhooks/{w}`.
    pub async fn delete_webhook(
        &self,
        webhook: u64,
        reason: Option<&str>,
    ) -> Result<(), RestError> {
        self.body(RestCall::new(Method::Delete, Endpoint::Webhook(webhook)).reason(reason))
            .await
            .map(|_| ())
    }

    /// `GET /guilds/{g}/audit-logs`, newest first (`user`: only their entries).
    pub async fn audit_logs(
        &self,
        guild: u64,
        user: Option<u64>,
        limit: u8,
    ) -> Result<serenity::AuditLogs, RestError> {
        let mut call = RestCall::new(Method::Get, Endpoint::GuildAuditLogs(guild))
            .query("limit", limit.clamp(1, 100));
        if let Some(user) = user {
            call = call.query("user_id", user);
        }
        parse(self.body(call).await?)
    }

    /// Opens the DM with `user` and sends `message` there (`CreateMessage` as JSON).
    pub async fn dm(&self, user: u64, message: Value) -> Result<serenity::Message, RestError> {
        let channel = self
            .body(
                RestCall::new(Method::Post, Endpoint::DmChannels)
                    .body(json!({ "recipient_id": user.to_string() })),
            )
            .await?;
        let channel: u64 = channel
            .get("id")
            .and_then(Value::as_str)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| RestError::Transient("the DM channel has no id".into()))?;
        self.send_message(channel, message).await
    }

    /// `POST /channels/{c}/messages`.
    pub async fn send_message(
        &self,
        channel: u64,
        message: Value,
    ) -> Result<serenity::Message, RestError> {
        parse(
            self.body(
                RestCall::new(Method::Post, Endpoint::ChannelMessages(channel)).body(message),
            )
            .await?,
        )
    }

    /// `PATCH /webhooks/{app}/{token}/messages/@original`: edits an interaction's answer.
    pub async fn edit_original(&self, token: &str, body: Value) -> Result<(), RestError> {
        self.body(
            RestCall::new(Method::Patch, Endpoint::OriginalResponse(token.to_owned())).body(body),
        )
        .await
        .map(|_| ())
    }

    /// `PATCH /channels/{c}/messages/{m}`.
    pub async fn edit_message(
        &self,
        channel: u64,
        message: u64,
        body: Value,
    ) -> Result<(), RestError> {
        self.body(
            RestCall::new(Method::Patch, Endpoint::ChannelMessage(channel, message)).body(body),
        )
        .await
        .map(|_| ())
    }
}

/// Encodes a serenity builder (a message, an edit) as the JSON body of a call.
pub fn json_of<T: serde::Serialize>(builder: &T) -> Value {
    serde_json::to_value(builder).unwrap_or(Value::Null)
}
