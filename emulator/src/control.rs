//! Purpose: the Rust control API (`Emulator`): start/stop, addresses and CA, world building,
//! acting as any user (`Actor`), scripted interactions (`InteractionHandle`), inspection and
//! logs, gateway hooks; plus the same operations over HTTP under `/_emulator/...`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State as AxState};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::config::EmulatorConfig;
use crate::diff::GuildView;
use crate::error::ApiError;
use crate::model::*;
use crate::oauth::OAuthError;
use crate::ratelimit::{Counters, RateLimitConfig};
use crate::server::{Inner, RecordedResponse, RequestRecord};
use crate::state::{DispatchRecord, World};

/// An application created in the emulator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct App {
    pub application_id: ApplicationId,
    pub bot_user_id: UserId,
    /// The bot token without the `Bot ` prefix.
    pub bot_token: String,
    /// Same as `application_id` (as on Discord).
    pub client_id: u64,
    pub client_secret: String,
    pub owner_id: UserId,
}

impl From<&Application> for App {
    fn from(a: &Application) -> Self {
        Self {
            application_id: a.id,
            bot_user_id: a.bot_user_id,
            bot_token: a.bot_token.clone(),
            client_id: a.id,
            client_secret: a.client_secret.clone(),
            owner_id: a.owner_id,
        }
    }
}

/// A running emulator (cheap to clone; all clones share one world).
#[derive(Clone)]
pub struct Emulator {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("http", &self.inner.http_addr)
            .field("tls", &self.inner.tls_addr)
            .finish()
    }
}

fn id_in(v: &Value) -> Result<u64, ApiError> {
    v["id"]
        .as_str()
        .and_then(crate::snowflake::parse)
        .ok_or_else(|| ApiError::new(500, 0, "response without id"))
}

impl Emulator {
    /// Binds both listeners on `config.bind_ip` (port 0 by default) and starts serving.
    pub async fn start(config: EmulatorConfig) -> anyhow::Result<Self> {
        Ok(Self {
            inner: crate::server::start(config).await?,
        })
    }

    pub fn config(&self) -> &EmulatorConfig {
        &self.inner.config
    }

    /// `http://127.0.0.1:PORT` (plain HTTP: REST under `/api/v10`, gateway under `/gateway`).
    pub fn http_base(&self) -> String {
        format!("http://{}", self.inner.http_addr)
    }

    /// `http://127.0.0.1:PORT/api/v10`.
    pub fn api_base(&self) -> String {
        format!("{}/api/v10", self.http_base())
    }

    /// `ws://127.0.0.1:PORT/gateway` (what `GET /gateway` returns).
    pub fn gateway_url(&self) -> String {
        format!("ws://{}/gateway", self.inner.http_addr)
    }

    pub fn http_addr(&self) -> SocketAddr {
        self.inner.http_addr
    }

    /// The TLS listener presenting a `discord.com` certificate signed by the test CA.
    pub fn tls_addr(&self) -> SocketAddr {
        self.inner.tls_addr
    }

    pub fn ca_cert_pem(&self) -> String {
        self.inner.ca_pem.clone()
    }

    /// The CA certificate written to a temporary file (removed when the emulator is dropped).
    pub fn ca_cert_path(&self) -> PathBuf {
        self.inner.ca_path.clone()
    }

    /// Stops the listeners and closes gateway connections.
    pub fn shutdown(&self) {
        let _ = self.inner.shutdown.send(true);
    }

    /// Read-only access to the world (escape hatch for tests).
    pub fn with_world<R>(&self, f: impl FnOnce(&World) -> R) -> R {
        f(&self.inner.state.lock().world)
    }

    // ---- world building ----

    /// Creates an application and its bot user.
    pub fn create_application(&self, name: &str, options: ApplicationOptions) -> App {
        App::from(&self.inner.state.lock().create_application(name, options))
    }

    /// Creates a human user.
    pub fn create_user(&self, name: &str) -> UserId {
        self.inner.state.lock().create_user(name, false)
    }

    /// Creates a guild with @everyone and #general.
    pub fn create_guild(&self, owner: UserId, name: &str) -> GuildId {
        self.inner.state.lock().create_guild(owner, name)
    }

    /// Adds a user as a member (GUILD_MEMBER_ADD); Ok(false) if already a member.
    pub fn add_member(&self, guild: GuildId, user: UserId) -> Result<bool, ApiError> {
        self.inner
            .state
            .lock()
            .add_member_raw(guild, user, Vec::new(), None)
    }

    /// Adds a bot as `actor` would (managed role with `permissions`, GUILD_CREATE, BOT_ADD).
    pub fn add_bot(
        &self,
        guild: GuildId,
        app: ApplicationId,
        permissions: u64,
        actor: UserId,
    ) -> Result<RoleId, ApiError> {
        self.inner
            .state
            .lock()
            .add_bot(actor, guild, app, permissions)
    }

    /// Builds a fixture guild (deterministic from `spec.seed`).
    pub fn build_fixture(&self, spec: &crate::fixtures::FixtureSpec) -> crate::fixtures::Fixture {
        crate::fixtures::build(&mut self.inner.state.lock(), spec)
    }

    /// Acts as `user` with Discord's rules (same code path as REST).
    pub fn as_user(&self, user: UserId) -> Actor {
        Actor {
            emu: self.clone(),
            user,
            reason: None,
        }
    }

    /// Closed DMs make bot DMs fail with 50007.
    pub fn set_dms_open(&self, user: UserId, open: bool) {
        if let Some(u) = self.inner.state.lock().world.users.get_mut(&user) {
            u.dms_open = open;
        }
    }

    /// Stores a file a user can pass as an attachment command option; returns its id.
    pub fn upload_attachment(&self, filename: &str, data: Vec<u8>) -> AttachmentId {
        let mut st = self.inner.state.lock();
        let id = st.next_id();
        let content_type = Some(crate::ops_messages::guess_content_type(filename));
        st.world.uploads.insert(
            id,
            Attachment {
                id,
                filename: filename.to_string(),
                content_type,
                description: None,
                data: Arc::new(data),
            },
        );
        id
    }

    pub fn user(&self, id: UserId) -> Option<User> {
        self.inner.state.lock().world.users.get(&id).cloned()
    }

    // ---- interactions ----

    /// Invokes a slash command as `user`: `command` is the path (`"umbra backup create"`),
    /// `options` a JSON object of option name -> value (snowflakes as strings). `guild` None =
    /// in the DM with the bot; `channel` None = the guild's system or first text channel.
    pub fn invoke_command(
        &self,
        user: UserId,
        guild: Option<GuildId>,
        channel: Option<ChannelId>,
        command: &str,
        options: Value,
        locale: &str,
    ) -> Result<InteractionHandle, ApiError> {
        let id = self
            .inner
            .state
            .lock()
            .invoke_command(None, user, guild, channel, command, &options, locale, None)?;
        Ok(InteractionHandle {
            emu: self.clone(),
            id,
        })
    }

    /// Like [`Emulator::invoke_command`] for one application (when several register the name).
    #[allow(clippy::too_many_arguments)]
    pub fn invoke_command_of(
        &self,
        app: ApplicationId,
        user: UserId,
        guild: Option<GuildId>,
        channel: Option<ChannelId>,
        command: &str,
        options: Value,
        locale: &str,
    ) -> Result<InteractionHandle, ApiError> {
        let id = self.inner.state.lock().invoke_command(
            Some(app),
            user,
            guild,
            channel,
            command,
            &options,
            locale,
            None,
        )?;
        Ok(InteractionHandle {
            emu: self.clone(),
            id,
        })
    }

    /// An autocomplete interaction with `focused` as the focused option.
    pub fn autocomplete(
        &self,
        user: UserId,
        guild: Option<GuildId>,
        channel: Option<ChannelId>,
        command: &str,
        options: Value,
        focused: &str,
    ) -> Result<InteractionHandle, ApiError> {
        let id = self.inner.state.lock().invoke_command(
            None,
            user,
            guild,
            channel,
            command,
            &options,
            "en-US",
            Some(focused),
        )?;
        Ok(InteractionHandle {
            emu: self.clone(),
            id,
        })
    }

    /// Clicks a button (by custom_id) on a message as `user`.
    pub fn click_button(
        &self,
        user: UserId,
        message: MessageId,
        custom_id: &str,
    ) -> Result<InteractionHandle, ApiError> {
        let id = self
            .inner
            .state
            .lock()
            .click_component(user, message, custom_id, None, "en-US")?;
        Ok(InteractionHandle {
            emu: self.clone(),
            id,
        })
    }

    /// Chooses values in a select menu of a message as `user`.
    pub fn select_menu(
        &self,
        user: UserId,
        message: MessageId,
        custom_id: &str,
        values: &[&str],
    ) -> Result<InteractionHandle, ApiError> {
        let values = values.iter().map(|s| s.to_string()).collect();
        let id = self.inner.state.lock().click_component(
            user,
            message,
            custom_id,
            Some(values),
            "en-US",
        )?;
        Ok(InteractionHandle {
            emu: self.clone(),
            id,
        })
    }

    /// Submits the modal the bot answered `to` with; `fields` are (custom_id, value).
    pub fn submit_modal(
        &self,
        user: UserId,
        to: &InteractionHandle,
        fields: &[(&str, &str)],
    ) -> Result<InteractionHandle, ApiError> {
        let values: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let id = self
            .inner
            .state
            .lock()
            .submit_modal(user, to.id, &values, "en-US")?;
        Ok(InteractionHandle {
            emu: self.clone(),
            id,
        })
    }

    // ---- inspection ----

    fn bot_message(&self, st: &crate::state::State, m: &Message) -> BotMessage {
        BotMessage::from_message(m, st.world.dms.contains_key(&m.channel_id))
    }

    /// Messages of a channel (oldest first), ephemeral ones included (flagged).
    pub fn messages_in(&self, channel: ChannelId) -> Vec<BotMessage> {
        let st = self.inner.state.lock();
        st.world
            .channel_messages
            .get(&channel)
            .map(|ids| {
                ids.iter()
                    .filter_map(|i| st.world.messages.get(i))
                    .filter(|m| !m.deleted)
                    .map(|m| self.bot_message(&st, m))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Messages others sent to `user` in DMs (oldest first).
    pub fn dm_messages_to(&self, user: UserId) -> Vec<BotMessage> {
        let st = self.inner.state.lock();
        let mut chans: Vec<ChannelId> = st
            .world
            .dms
            .values()
            .filter(|d| d.recipients.contains(&user))
            .map(|d| d.id)
            .collect();
        chans.sort_unstable();
        let mut out: Vec<BotMessage> = chans
            .iter()
            .flat_map(|c| {
                st.world
                    .channel_messages
                    .get(c)
                    .cloned()
                    .unwrap_or_default()
            })
            .filter_map(|i| st.world.messages.get(&i))
            .filter(|m| !m.deleted && m.author_id != user)
            .map(|m| self.bot_message(&st, m))
            .collect();
        out.sort_by_key(|m| m.id);
        out
    }

    /// Waits until `user` has received at least `n` DMs.
    pub async fn wait_for_dms(&self, user: UserId, n: usize, timeout: Duration) -> Vec<BotMessage> {
        let end = Instant::now() + timeout;
        loop {
            let dms = self.dm_messages_to(user);
            if dms.len() >= n || Instant::now() >= end {
                return dms;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub fn message(&self, id: MessageId) -> Option<BotMessage> {
        let st = self.inner.state.lock();
        st.world.messages.get(&id).map(|m| self.bot_message(&st, m))
    }

    /// The guild's structure (None if it does not exist).
    pub fn guild_view(&self, guild: GuildId) -> Option<GuildView> {
        let st = self.inner.state.lock();
        st.world
            .guilds
            .get(&guild)
            .map(|g| GuildView::build(&st.world, g))
    }

    /// The audit log, oldest first.
    pub fn audit_log(&self, guild: GuildId) -> Vec<AuditEntry> {
        self.inner
            .state
            .lock()
            .world
            .guilds
            .get(&guild)
            .map(|g| g.audit_log.clone())
            .unwrap_or_default()
    }

    pub fn request_log(&self) -> Vec<RequestRecord> {
        self.inner.http.lock().requests.clone()
    }

    pub fn counters(&self) -> Counters {
        self.inner.http.lock().limiter.counters.clone()
    }

    pub fn dispatch_log(&self) -> Vec<DispatchRecord> {
        self.inner.state.lock().dispatches.clone()
    }

    /// REST responses recorded when `record_responses` is on.
    pub fn recorded_responses(&self) -> Vec<RecordedResponse> {
        self.inner.http.lock().responses.clone()
    }

    /// Clears request, response and dispatch logs and counters (not the limiter windows).
    pub fn clear_logs(&self) {
        let mut http = self.inner.http.lock();
        http.requests.clear();
        http.responses.clear();
        http.limiter.counters = Counters::default();
        drop(http);
        self.inner.state.lock().dispatches.clear();
    }

    /// Holds the answer of every `method` request whose route template contains
    /// `route_contains` (and whose audit-log reason contains `reason_contains`) for `delay`
    /// after it took effect: "the call landed, the caller did not hear back yet".
    pub fn hold_responses(
        &self,
        method: &str,
        route_contains: &str,
        reason_contains: Option<&str>,
        delay: Duration,
    ) {
        self.inner.http.lock().holds.push(crate::server::Hold {
            method: method.to_string(),
            route_contains: route_contains.to_string(),
            reason_contains: reason_contains.map(str::to_string),
            delay,
            fail: None,
        });
    }

    /// Fails the next `count` `method` requests whose route template contains
    /// `route_contains` with `status` (they take no effect), like a Discord outage.
    pub fn fail_requests(&self, method: &str, route_contains: &str, status: u16, count: usize) {
        self.inner.http.lock().holds.push(crate::server::Hold {
            method: method.to_string(),
            route_contains: route_contains.to_string(),
            reason_contains: None,
            delay: Duration::ZERO,
            fail: Some((status, count)),
        });
    }

    /// Answers every request at once again.
    pub fn release_holds(&self) {
        self.inner.http.lock().holds.clear();
    }

    /// Logs an audit entry as Discord would for an action the emulator does not model yet
    /// (sticker, integration, AutoMod, bulk message deletes): appended to the guild's audit log
    /// and dispatched as GUILD_AUDIT_LOG_ENTRY_CREATE.
    pub fn log_audit_entry(
        &self,
        guild: GuildId,
        actor: UserId,
        action_type: u16,
        target: Option<u64>,
        changes: Vec<AuditChange>,
    ) {
        self.inner
            .state
            .lock()
            .audit(guild, actor, target, action_type, changes, None, None);
    }

    pub fn rate_limit_config(&self) -> RateLimitConfig {
        self.inner.config.rate_limits.clone()
    }

    /// Waits for a dispatch matching `pred` (searching the whole log).
    pub async fn wait_for_dispatch(
        &self,
        timeout: Duration,
        pred: impl Fn(&DispatchRecord) -> bool,
    ) -> Option<DispatchRecord> {
        let end = Instant::now() + timeout;
        loop {
            if let Some(d) = self
                .inner
                .state
                .lock()
                .dispatches
                .iter()
                .find(|d| pred(d))
                .cloned()
            {
                return Some(d);
            }
            if Instant::now() >= end {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Waits for a REST request matching `pred`.
    pub async fn wait_for_request(
        &self,
        timeout: Duration,
        pred: impl Fn(&RequestRecord) -> bool,
    ) -> Option<RequestRecord> {
        let end = Instant::now() + timeout;
        loop {
            if let Some(r) = self
                .inner
                .http
                .lock()
                .requests
                .iter()
                .find(|r| pred(r))
                .cloned()
            {
                return Some(r);
            }
            if Instant::now() >= end {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    // ---- gateway hooks ----

    /// Connected gateway sessions of an application.
    pub fn connected_sessions(&self, app: ApplicationId) -> usize {
        self.inner
            .state
            .lock()
            .sessions
            .values()
            .filter(|s| s.app_id == app && s.conn.is_some())
            .count()
    }

    /// Waits until `app` has `n` connected sessions that received READY.
    pub async fn wait_for_sessions(&self, app: ApplicationId, n: usize, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if self.connected_sessions(app) >= n {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        false
    }

    /// op 7 RECONNECT; later dispatches are buffered for the RESUME.
    pub fn send_reconnect(&self, app: ApplicationId) -> usize {
        self.inner.state.lock().send_reconnect(app)
    }

    /// op 9 INVALID_SESSION.
    pub fn send_invalid_session(&self, app: ApplicationId, resumable: bool) -> usize {
        self.inner.state.lock().send_invalid_session(app, resumable)
    }

    /// Drops the connections without a close frame (sessions stay resumable).
    pub fn disconnect(&self, app: ApplicationId) -> usize {
        self.inner.state.lock().disconnect(app, None)
    }

    // ---- OAuth2 ----

    /// Approves an authorization request as `user` (what the browser flow does).
    pub fn authorize(
        &self,
        user: UserId,
        client_id: ApplicationId,
        redirect_uri: &str,
        scopes: &[&str],
        code_challenge: Option<&str>,
    ) -> Result<String, OAuthError> {
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        self.inner.state.lock().oauth_authorize(
            user,
            client_id,
            redirect_uri,
            &scopes,
            code_challenge,
            code_challenge.map(|_| "S256"),
        )
    }

    /// The user `GET /oauth2/authorize` auto-approves as (None = show a user picker).
    pub fn set_oauth_user(&self, user: Option<UserId>) {
        self.inner.state.lock().world.oauth.default_user = user;
    }

    /// The JSON line the standalone binary prints.
    pub fn info(&self, fixture: Option<&crate::fixtures::Fixture>) -> Value {
        let mut v = json!({
            "http": self.http_base(),
            "api": self.api_base(),
            "gateway": self.gateway_url(),
            "tls": self.tls_addr().to_string(),
            "ca_cert": self.ca_cert_path().display().to_string(),
        });
        if let Some(f) = fixture {
            v["bot_token"] = json!(f.app.bot_token);
            v["application_id"] = json!(f.app.application_id.to_string());
            v["client_id"] = json!(f.app.client_id.to_string());
            v["client_secret"] = json!(f.app.client_secret);
            v["bot_user_id"] = json!(f.app.bot_user_id.to_string());
            v["guild_id"] = json!(f.guild_id.to_string());
            v["owner_id"] = json!(f.owner_id.to_string());
            v["rogue_admin_id"] = json!(f.rogue_admin_id.to_string());
            v["trusted_user_id"] = json!(f.trusted_user_id.to_string());
        }
        v
    }
}

/// A user acting through the same rules as REST (permissions, hierarchy, limits, audit
/// log, dispatches).
#[derive(Clone, Debug)]
pub struct Actor {
    emu: Emulator,
    user: UserId,
    reason: Option<String>,
}

macro_rules! st {
    ($s:ident) => {
        $s.emu.inner.state.lock()
    };
}

impl Actor {
    pub fn user_id(&self) -> UserId {
        self.user
    }

    /// Attaches an audit-log reason to the following actions.
    pub fn with_reason(mut self, reason: &str) -> Self {
        self.reason = Some(reason.to_string());
        self
    }

    fn r(&self) -> Option<&str> {
        self.reason.as_deref()
    }

    /// `POST /guilds/{g}/roles` with a JSON body; returns the role id.
    pub fn create_role(&self, guild: GuildId, body: Value) -> Result<RoleId, ApiError> {
        id_in(&st!(self).create_role(self.user, guild, &body, self.r())?)
    }

    pub fn create_role_named(
        &self,
        guild: GuildId,
        name: &str,
        permissions: u64,
    ) -> Result<RoleId, ApiError> {
        self.create_role(
            guild,
            json!({ "name": name, "permissions": permissions.to_string() }),
        )
    }

    pub fn update_role(
        &self,
        guild: GuildId,
        role: RoleId,
        body: Value,
    ) -> Result<Value, ApiError> {
        st!(self).update_role(self.user, guild, role, &body, self.r())
    }

    /// Adds permission bits to a role (a "dangerous grant" when they are).
    pub fn grant_permissions(
        &self,
        guild: GuildId,
        role: RoleId,
        permissions: u64,
    ) -> Result<Value, ApiError> {
        let current = st!(self)
            .world
            .guild(guild)?
            .roles
            .get(&role)
            .map(|r| r.permissions)
            .ok_or_else(ApiError::unknown_role)?;
        self.update_role(
            guild,
            role,
            json!({ "permissions": (current | permissions).to_string() }),
        )
    }

    pub fn delete_role(&self, guild: GuildId, role: RoleId) -> Result<(), ApiError> {
        st!(self).delete_role(self.user, guild, role, self.r())
    }

    pub fn set_role_positions(
        &self,
        guild: GuildId,
        positions: &[(RoleId, i64)],
    ) -> Result<Value, ApiError> {
        let body = Value::Array(
            positions
                .iter()
                .map(|(id, p)| json!({ "id": id.to_string(), "position": p }))
                .collect(),
        );
        st!(self).update_role_positions(self.user, guild, &body, self.r())
    }

    /// `POST /guilds/{g}/channels`; returns the channel id.
    pub fn create_channel(&self, guild: GuildId, body: Value) -> Result<ChannelId, ApiError> {
        id_in(&st!(self).create_channel(self.user, guild, &body, self.r())?)
    }

    pub fn update_channel(&self, channel: ChannelId, body: Value) -> Result<Value, ApiError> {
        st!(self).update_channel(self.user, channel, &body, self.r())
    }

    pub fn delete_channel(&self, channel: ChannelId) -> Result<(), ApiError> {
        st!(self)
            .delete_channel(self.user, channel, self.r())
            .map(|_| ())
    }

    pub fn set_channel_positions(&self, guild: GuildId, body: Value) -> Result<(), ApiError> {
        st!(self).update_channel_positions(self.user, guild, &body, self.r())
    }

    pub fn put_overwrite(
        &self,
        channel: ChannelId,
        target: u64,
        kind: OverwriteKind,
        allow: u64,
        deny: u64,
    ) -> Result<(), ApiError> {
        let body =
            json!({ "type": kind.num(), "allow": allow.to_string(), "deny": deny.to_string() });
        st!(self).put_overwrite(self.user, channel, target, &body, self.r())
    }

    pub fn delete_overwrite(&self, channel: ChannelId, target: u64) -> Result<(), ApiError> {
        st!(self).delete_overwrite(self.user, channel, target, self.r())
    }

    pub fn ban(&self, guild: GuildId, user: UserId) -> Result<(), ApiError> {
        st!(self).ban(self.user, guild, user, self.r())
    }

    pub fn unban(&self, guild: GuildId, user: UserId) -> Result<(), ApiError> {
        st!(self).unban(self.user, guild, user, self.r())
    }

    /// Returns (banned, failed) user ids.
    pub fn bulk_ban(
        &self,
        guild: GuildId,
        users: &[UserId],
    ) -> Result<(Vec<UserId>, Vec<UserId>), ApiError> {
        let body = json!({ "user_ids": users.iter().map(|u| u.to_string()).collect::<Vec<_>>() });
        let v = st!(self).bulk_ban(self.user, guild, &body, self.r())?;
        let ids = |k: &str| crate::ops_members::parse_ids(v.get(k));
        Ok((ids("banned_users"), ids("failed_users")))
    }

    /// Prunes members without roles who joined more than `days` ago; returns how many.
    pub fn prune(&self, guild: GuildId, days: i64) -> Result<usize, ApiError> {
        st!(self).prune(self.user, guild, days, &[], self.r())
    }

    pub fn kick(&self, guild: GuildId, user: UserId) -> Result<(), ApiError> {
        st!(self).kick_member(self.user, guild, user, self.r())
    }

    pub fn update_member(
        &self,
        guild: GuildId,
        user: UserId,
        body: Value,
    ) -> Result<Value, ApiError> {
        st!(self).update_member(self.user, guild, user, &body, self.r())
    }

    pub fn add_member_role(
        &self,
        guild: GuildId,
        user: UserId,
        role: RoleId,
    ) -> Result<(), ApiError> {
        st!(self).set_member_role(self.user, guild, user, role, true, self.r())
    }

    pub fn remove_member_role(
        &self,
        guild: GuildId,
        user: UserId,
        role: RoleId,
    ) -> Result<(), ApiError> {
        st!(self).set_member_role(self.user, guild, user, role, false, self.r())
    }

    pub fn update_guild(&self, guild: GuildId, body: Value) -> Result<Value, ApiError> {
        st!(self).update_guild(self.user, guild, &body, self.r())
    }

    pub fn incident_actions(&self, guild: GuildId, body: Value) -> Result<Value, ApiError> {
        st!(self).update_incident_actions(self.user, guild, &body, self.r())
    }

    pub fn create_webhook(&self, channel: ChannelId, name: &str) -> Result<WebhookId, ApiError> {
        id_in(&st!(self).create_webhook(self.user, channel, &json!({ "name": name }), self.r())?)
    }

    pub fn delete_webhook(&self, webhook: WebhookId) -> Result<(), ApiError> {
        st!(self).delete_webhook(Some(self.user), webhook, self.r())
    }

    pub fn create_emoji(&self, guild: GuildId, name: &str) -> Result<EmojiId, ApiError> {
        let body = json!({ "name": name, "image": "data:image/png;base64,iVBORw0KGgo=" });
        id_in(&st!(self).create_emoji(self.user, guild, &body, self.r())?)
    }

    pub fn delete_emoji(&self, guild: GuildId, emoji: EmojiId) -> Result<(), ApiError> {
        st!(self).delete_emoji(self.user, guild, emoji, self.r())
    }

    /// Adds a bot (managed role with `permissions`) as this user.
    pub fn add_bot(
        &self,
        guild: GuildId,
        app: ApplicationId,
        permissions: u64,
    ) -> Result<RoleId, ApiError> {
        st!(self).add_bot(self.user, guild, app, permissions)
    }

    /// Sends a message to a guild channel or DM channel.
    pub fn send_message(&self, channel: ChannelId, content: &str) -> Result<MessageId, ApiError> {
        let mut st = st!(self);
        let parts = st.parse_message(&json!({ "content": content }), Vec::new())?;
        id_in(&st.send_message(self.user, channel, parts)?)
    }

    /// Opens the DM with another user (e.g. a bot); returns the channel id.
    pub fn open_dm(&self, other: UserId) -> Result<ChannelId, ApiError> {
        id_in(&st!(self).create_dm(self.user, other)?)
    }
}

/// A file attached to a message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttachmentView {
    pub id: AttachmentId,
    pub filename: String,
    pub content_type: Option<String>,
    #[serde(skip)]
    pub data: Arc<Vec<u8>>,
}

impl AttachmentView {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }
}

/// A button found in a message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Button {
    pub custom_id: Option<String>,
    pub label: Option<String>,
    pub style: u64,
    pub disabled: bool,
    pub url: Option<String>,
}

/// A message as tests see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BotMessage {
    pub id: MessageId,
    pub channel_id: ChannelId,
    pub guild_id: Option<GuildId>,
    pub author_id: UserId,
    pub content: String,
    pub embeds: Vec<Value>,
    pub components: Vec<Value>,
    pub attachments: Vec<AttachmentView>,
    pub flags: u64,
    pub ephemeral: bool,
    /// A deferred ("thinking") response not yet edited.
    pub loading: bool,
    pub edited: bool,
    pub in_dm: bool,
}

impl BotMessage {
    fn from_message(m: &Message, in_dm: bool) -> Self {
        Self {
            id: m.id,
            channel_id: m.channel_id,
            guild_id: m.guild_id,
            author_id: m.author_id,
            content: m.content.clone(),
            embeds: m.embeds.clone(),
            components: m.components.clone(),
            attachments: m
                .attachments
                .iter()
                .map(|a| AttachmentView {
                    id: a.id,
                    filename: a.filename.clone(),
                    content_type: a.content_type.clone(),
                    data: a.data.clone(),
                })
                .collect(),
            flags: m.flags,
            ephemeral: m.ephemeral(),
            loading: m.flags & 128 != 0,
            edited: m.edited_timestamp.is_some(),
            in_dm,
        }
    }

    /// Content plus embed titles, descriptions, field names/values and footers.
    pub fn text(&self) -> String {
        let mut out = vec![self.content.clone()];
        for e in &self.embeds {
            for k in ["title", "description"] {
                if let Some(s) = e[k].as_str() {
                    out.push(s.to_string());
                }
            }
            for f in e["fields"].as_array().into_iter().flatten() {
                out.push(format!(
                    "{}: {}",
                    f["name"].as_str().unwrap_or_default(),
                    f["value"].as_str().unwrap_or_default()
                ));
            }
            if let Some(s) = e["footer"]["text"].as_str() {
                out.push(s.to_string());
            }
        }
        out.retain(|s| !s.is_empty());
        out.join("\n")
    }

    /// Every button (any depth).
    pub fn buttons(&self) -> Vec<Button> {
        fn walk(cs: &[Value], out: &mut Vec<Button>) {
            for c in cs {
                if c["type"].as_u64() == Some(2) {
                    out.push(Button {
                        custom_id: c["custom_id"].as_str().map(str::to_string),
                        label: c["label"].as_str().map(str::to_string),
                        style: c["style"].as_u64().unwrap_or(1),
                        disabled: c["disabled"].as_bool().unwrap_or(false),
                        url: c["url"].as_str().map(str::to_string),
                    });
                }
                if let Some(children) = c["components"].as_array() {
                    walk(children, out);
                }
                if c["accessory"].is_object() {
                    walk(std::slice::from_ref(&c["accessory"]), out);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.components, &mut out);
        out
    }

    /// Every custom_id in the components.
    pub fn custom_ids(&self) -> Vec<String> {
        fn walk(cs: &[Value], out: &mut Vec<String>) {
            for c in cs {
                if let Some(id) = c["custom_id"].as_str() {
                    out.push(id.to_string());
                }
                if let Some(children) = c["components"].as_array() {
                    walk(children, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.components, &mut out);
        out
    }

    pub fn attachment(&self, filename: &str) -> Option<&AttachmentView> {
        self.attachments.iter().find(|a| a.filename == filename)
    }
}

/// The bot's initial answer to an interaction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InteractionResponse {
    /// Callback type: 4 message, 5 deferred, 6 deferred update, 7 update, 8 autocomplete, 9 modal.
    pub kind: u8,
    pub data: Value,
}

/// Why waiting on an interaction failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InteractionError {
    #[error("the application did not respond within the initial-response deadline")]
    DeadlineMissed,
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),
    #[error("unknown interaction")]
    Unknown,
}

/// Everything known about an interaction now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InteractionView {
    pub id: InteractionId,
    pub response: Option<InteractionResponse>,
    pub expired: bool,
    pub original: Option<BotMessage>,
    pub followups: Vec<BotMessage>,
}

/// A scripted interaction: await the bot's answer, follow-ups and edits.
#[derive(Clone)]
pub struct InteractionHandle {
    emu: Emulator,
    pub id: InteractionId,
}

impl std::fmt::Debug for InteractionHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InteractionHandle")
            .field("id", &self.id)
            .finish()
    }
}

impl InteractionHandle {
    /// The INTERACTION_CREATE payload that was dispatched.
    pub fn payload(&self) -> Value {
        self.emu
            .inner
            .state
            .lock()
            .world
            .interactions
            .get(&self.id)
            .map(|i| i.payload.clone())
            .unwrap_or(Value::Null)
    }

    pub fn view(&self) -> Result<InteractionView, InteractionError> {
        let st = self.emu.inner.state.lock();
        let i = st
            .world
            .interactions
            .get(&self.id)
            .ok_or(InteractionError::Unknown)?;
        let msg = |id: &MessageId| {
            st.world
                .messages
                .get(id)
                .filter(|m| !m.deleted)
                .map(|m| BotMessage::from_message(m, st.world.dms.contains_key(&m.channel_id)))
        };
        Ok(InteractionView {
            id: self.id,
            response: i
                .response
                .clone()
                .map(|(kind, data)| InteractionResponse { kind, data }),
            expired: i.expired,
            original: i.original_message.as_ref().and_then(msg),
            followups: i.followups.iter().filter_map(msg).collect(),
        })
    }

    /// Waits until `pred` holds for the interaction's view or `timeout` passes.
    pub async fn wait_until(
        &self,
        timeout: Duration,
        what: &'static str,
        pred: impl Fn(&InteractionView) -> bool,
    ) -> Result<InteractionView, InteractionError> {
        let mut rx = {
            let st = self.emu.inner.state.lock();
            st.world
                .interactions
                .get(&self.id)
                .ok_or(InteractionError::Unknown)?
                .version
                .subscribe()
        };
        let end = tokio::time::Instant::now() + timeout;
        loop {
            let v = self.view()?;
            if pred(&v) {
                return Ok(v);
            }
            if v.expired && v.response.is_none() {
                return Err(InteractionError::DeadlineMissed);
            }
            match tokio::time::timeout_at(end, rx.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(InteractionError::Unknown),
                Err(_) => return Err(InteractionError::Timeout(what)),
            }
        }
    }

    /// The initial response; fails with `DeadlineMissed` after Discord's 3-second deadline.
    pub async fn response(&self) -> Result<InteractionResponse, InteractionError> {
        let deadline = self.emu.inner.config.interaction_deadline + Duration::from_millis(500);
        let v = self
            .wait_until(deadline, "the initial response", |v| v.response.is_some())
            .await;
        match v {
            Ok(v) => v.response.ok_or(InteractionError::Unknown),
            Err(InteractionError::Timeout(_)) => Err(InteractionError::DeadlineMissed),
            Err(e) => Err(e),
        }
    }

    /// The original response message once it has content (a deferred response must have
    /// been edited or followed up). For a component interaction answered with an update
    /// (type 6/7) it is the message the component is on.
    pub async fn message(&self, timeout: Duration) -> Result<BotMessage, InteractionError> {
        self.response().await?;
        let v = self
            .wait_until(timeout, "the response message", |v| {
                v.original.as_ref().is_some_and(|m| !m.loading)
            })
            .await?;
        v.original.ok_or(InteractionError::Unknown)
    }

    /// Waits for at least `n` follow-up messages.
    pub async fn followups(
        &self,
        n: usize,
        timeout: Duration,
    ) -> Result<Vec<BotMessage>, InteractionError> {
        Ok(self
            .wait_until(timeout, "follow-ups", |v| v.followups.len() >= n)
            .await?
            .followups)
    }

    /// Original (if any) and follow-ups, now.
    pub fn messages(&self) -> Vec<BotMessage> {
        self.view()
            .map(|v| v.original.into_iter().chain(v.followups).collect())
            .unwrap_or_default()
    }

    /// The modal the bot answered with (custom_id, title, components).
    pub fn modal(&self) -> Option<Value> {
        self.view()
            .ok()?
            .response
            .filter(|r| r.kind == 9)
            .map(|r| r.data)
    }
}

// ---- HTTP control API (for the standalone binary) ----

type S = AxState<Arc<Inner>>;

fn emu_of(inner: &Arc<Inner>) -> Emulator {
    Emulator {
        inner: inner.clone(),
    }
}

fn jerr(e: ApiError) -> (axum::http::StatusCode, axum::Json<Value>) {
    (
        axum::http::StatusCode::from_u16(e.status).unwrap_or(axum::http::StatusCode::BAD_REQUEST),
        axum::Json(e.body()),
    )
}

type JResult = Result<axum::Json<Value>, (axum::http::StatusCode, axum::Json<Value>)>;

fn vid(v: &Value, key: &str) -> Result<u64, ApiError> {
    match &v[key] {
        Value::String(s) => crate::snowflake::parse(s),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
    .ok_or_else(|| ApiError::invalid_form(key, "BASE_TYPE_REQUIRED", "This field is required"))
}

fn opt_vid(v: &Value, key: &str) -> Option<u64> {
    vid(v, key).ok()
}

/// `POST /_emulator/act`: `{"user_id", "action", ...}` performs one action as that user.
fn act(inner: &Arc<Inner>, b: &Value) -> Result<Value, ApiError> {
    let user = vid(b, "user_id")?;
    let reason = b["reason"].as_str();
    let body = b.get("body").cloned().unwrap_or(json!({}));
    let mut st = inner.state.lock();
    let action = b["action"].as_str().unwrap_or_default();
    match action {
        "create_role" => st.create_role(user, vid(b, "guild_id")?, &body, reason),
        "update_role" => {
            st.update_role(user, vid(b, "guild_id")?, vid(b, "role_id")?, &body, reason)
        }
        "delete_role" => st
            .delete_role(user, vid(b, "guild_id")?, vid(b, "role_id")?, reason)
            .map(|_| Value::Null),
        "create_channel" => st.create_channel(user, vid(b, "guild_id")?, &body, reason),
        "update_channel" => st.update_channel(user, vid(b, "channel_id")?, &body, reason),
        "delete_channel" => st.delete_channel(user, vid(b, "channel_id")?, reason),
        "put_overwrite" => st
            .put_overwrite(
                user,
                vid(b, "channel_id")?,
                vid(b, "target_id")?,
                &body,
                reason,
            )
            .map(|_| Value::Null),
        "delete_overwrite" => st
            .delete_overwrite(user, vid(b, "channel_id")?, vid(b, "target_id")?, reason)
            .map(|_| Value::Null),
        "ban" => st
            .ban(user, vid(b, "guild_id")?, vid(b, "target_id")?, reason)
            .map(|_| Value::Null),
        "unban" => st
            .unban(user, vid(b, "guild_id")?, vid(b, "target_id")?, reason)
            .map(|_| Value::Null),
        "kick" => st
            .kick_member(user, vid(b, "guild_id")?, vid(b, "target_id")?, reason)
            .map(|_| Value::Null),
        "update_member" => st.update_member(
            user,
            vid(b, "guild_id")?,
            vid(b, "target_id")?,
            &body,
            reason,
        ),
        "update_guild" => st.update_guild(user, vid(b, "guild_id")?, &body, reason),
        "create_webhook" => st.create_webhook(user, vid(b, "channel_id")?, &body, reason),
        "add_bot" => {
            let perms = b["permissions"]
                .as_str()
                .and_then(|p| p.parse().ok())
                .or_else(|| b["permissions"].as_u64())
                .unwrap_or(0);
            st.add_bot(user, vid(b, "guild_id")?, vid(b, "application_id")?, perms)
                .map(|r| json!({ "role_id": r.to_string() }))
        }
        "send_message" => {
            let parts = st.parse_message(&body, Vec::new())?;
            st.send_message(user, vid(b, "channel_id")?, parts)
        }
        "grant_permissions" => {
            let (g, role) = (vid(b, "guild_id")?, vid(b, "role_id")?);
            let add = b["permissions"]
                .as_str()
                .and_then(|p| p.parse::<u64>().ok())
                .or_else(|| b["permissions"].as_u64())
                .unwrap_or(0);
            let current = st
                .world
                .guild(g)?
                .roles
                .get(&role)
                .map(|r| r.permissions)
                .ok_or_else(ApiError::unknown_role)?;
            st.update_role(
                user,
                g,
                role,
                &json!({ "permissions": (current | add).to_string() }),
                reason,
            )
        }
        "add_member_role" => st
            .set_member_role(
                user,
                vid(b, "guild_id")?,
                vid(b, "target_id")?,
                vid(b, "role_id")?,
                true,
                reason,
            )
            .map(|_| Value::Null),
        "remove_member_role" => st
            .set_member_role(
                user,
                vid(b, "guild_id")?,
                vid(b, "target_id")?,
                vid(b, "role_id")?,
                false,
                reason,
            )
            .map(|_| Value::Null),
        "bulk_ban" => st.bulk_ban(user, vid(b, "guild_id")?, &body, reason),
        "prune" => st
            .prune(
                user,
                vid(b, "guild_id")?,
                b["days"].as_i64().unwrap_or(7),
                &[],
                reason,
            )
            .map(|n| json!({ "pruned": n })),
        "delete_webhook" => st
            .delete_webhook(Some(user), vid(b, "webhook_id")?, reason)
            .map(|_| Value::Null),
        "create_emoji" => st.create_emoji(user, vid(b, "guild_id")?, &body, reason),
        "set_role_positions" => st.update_role_positions(user, vid(b, "guild_id")?, &body, reason),
        "set_channel_positions" => st
            .update_channel_positions(user, vid(b, "guild_id")?, &body, reason)
            .map(|_| Value::Null),
        other => Err(ApiError::new(400, 0, format!("unknown action {other:?}"))),
    }
}

/// Routes under `/_emulator`.
pub fn control_routes() -> Router<Arc<Inner>> {
    Router::new()
        .route("/_emulator/info", get(|AxState(inner): S| async move { axum::Json(emu_of(&inner).info(None)) }))
        .route(
            "/_emulator/users",
            post(|AxState(inner): S, axum::Json(b): axum::Json<Value>| async move {
                let id = emu_of(&inner).create_user(b["name"].as_str().unwrap_or("user"));
                axum::Json(json!({ "id": id.to_string() }))
            }),
        )
        .route(
            "/_emulator/users/{user_id}/dms",
            post(|AxState(inner): S, Path(user): Path<u64>, axum::Json(b): axum::Json<Value>| async move {
                emu_of(&inner).set_dms_open(user, b["open"].as_bool().unwrap_or(true));
                axum::Json(json!({}))
            }),
        )
        .route(
            "/_emulator/guilds",
            post(|AxState(inner): S, axum::Json(b): axum::Json<Value>| async move {
                let owner = vid(&b, "owner_id").map_err(jerr)?;
                let id = emu_of(&inner).create_guild(owner, b["name"].as_str().unwrap_or("guild"));
                JResult::Ok(axum::Json(json!({ "id": id.to_string() })))
            }),
        )
        .route(
            "/_emulator/guilds/{guild_id}",
            get(|AxState(inner): S, Path(g): Path<u64>| async move {
                match emu_of(&inner).guild_view(g) {
                    Some(v) => Ok(axum::Json(serde_json::to_value(v).unwrap_or(Value::Null))),
                    None => Err(jerr(ApiError::unknown_guild())),
                }
            }),
        )
        .route(
            "/_emulator/guilds/{guild_id}/members",
            post(|AxState(inner): S, Path(g): Path<u64>, axum::Json(b): axum::Json<Value>| async move {
                let user = vid(&b, "user_id").map_err(jerr)?;
                emu_of(&inner).add_member(g, user).map_err(jerr)?;
                JResult::Ok(axum::Json(json!({})))
            }),
        )
        .route(
            "/_emulator/guilds/{guild_id}/audit-log",
            get(|AxState(inner): S, Path(g): Path<u64>| async move { axum::Json(serde_json::to_value(emu_of(&inner).audit_log(g)).unwrap_or(Value::Null)) }),
        )
        .route(
            "/_emulator/act",
            post(|AxState(inner): S, axum::Json(b): axum::Json<Value>| async move { act(&inner, &b).map(axum::Json).map_err(jerr) }),
        )
        .route(
            "/_emulator/interactions/command",
            post(|AxState(inner): S, axum::Json(b): axum::Json<Value>| async move {
                let user = vid(&b, "user_id").map_err(jerr)?;
                let h = emu_of(&inner)
                    .invoke_command(
                        user,
                        opt_vid(&b, "guild_id"),
                        opt_vid(&b, "channel_id"),
                        b["command"].as_str().unwrap_or_default(),
                        b.get("options").cloned().unwrap_or(json!({})),
                        b["locale"].as_str().unwrap_or("en-US"),
                    )
                    .map_err(jerr)?;
                JResult::Ok(axum::Json(json!({ "interaction_id": h.id.to_string() })))
            }),
        )
        .route(
            "/_emulator/interactions/button",
            post(|AxState(inner): S, axum::Json(b): axum::Json<Value>| async move {
                let user = vid(&b, "user_id").map_err(jerr)?;
                let msg = vid(&b, "message_id").map_err(jerr)?;
                let h = emu_of(&inner).click_button(user, msg, b["custom_id"].as_str().unwrap_or_default()).map_err(jerr)?;
                JResult::Ok(axum::Json(json!({ "interaction_id": h.id.to_string() })))
            }),
        )
        .route(
            "/_emulator/interactions/{interaction_id}",
            get(|AxState(inner): S, Path(id): Path<u64>| async move {
                let h = InteractionHandle { emu: emu_of(&inner), id };
                match h.view() {
                    Ok(v) => Ok(axum::Json(serde_json::to_value(v).unwrap_or(Value::Null))),
                    Err(_) => Err(jerr(ApiError::unknown_interaction())),
                }
            }),
        )
        .route(
            "/_emulator/interactions/{interaction_id}/modal",
            post(|AxState(inner): S, Path(id): Path<u64>, axum::Json(b): axum::Json<Value>| async move {
                let user = vid(&b, "user_id").map_err(jerr)?;
                let emu = emu_of(&inner);
                let from = InteractionHandle { emu: emu.clone(), id };
                let values: Vec<(String, String)> = b["values"]
                    .as_object()
                    .map(|o| o.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect())
                    .unwrap_or_default();
                let fields: Vec<(&str, &str)> = values.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                let h = emu.submit_modal(user, &from, &fields).map_err(jerr)?;
                JResult::Ok(axum::Json(json!({ "interaction_id": h.id.to_string() })))
            }),
        )
        .route(
            "/_emulator/channels/{channel_id}/messages",
            get(|AxState(inner): S, Path(c): Path<u64>| async move { axum::Json(serde_json::to_value(emu_of(&inner).messages_in(c)).unwrap_or(Value::Null)) }),
        )
        .route(
            "/_emulator/users/{user_id}/dm-messages",
            get(|AxState(inner): S, Path(u): Path<u64>| async move { axum::Json(serde_json::to_value(emu_of(&inner).dm_messages_to(u)).unwrap_or(Value::Null)) }),
        )
        .route(
            "/_emulator/requests",
            get(|AxState(inner): S| async move {
                let origin = inner.started;
                let log = emu_of(&inner).request_log();
                let v: Vec<Value> = log
                    .iter()
                    .map(|r| {
                        let mut x = serde_json::to_value(r).unwrap_or(Value::Null);
                        x["received_ms"] = json!(r.received.saturating_duration_since(origin).as_secs_f64() * 1000.0);
                        x["answered_ms"] = json!(r.answered.saturating_duration_since(origin).as_secs_f64() * 1000.0);
                        x
                    })
                    .collect();
                axum::Json(Value::Array(v))
            }),
        )
        .route(
            "/_emulator/fixtures",
            post(|AxState(inner): S, axum::Json(b): axum::Json<Value>| async move {
                let spec = match b.get("spec") {
                    Some(s) => serde_json::from_value::<crate::fixtures::FixtureSpec>(s.clone())
                        .map_err(|e| jerr(ApiError::new(400, 50035, format!("bad fixture spec: {e}"))))?,
                    None => match b["preset"].as_str().unwrap_or("small") {
                        "large" => crate::fixtures::FixtureSpec::large(),
                        _ => crate::fixtures::FixtureSpec::small(),
                    },
                };
                let f = emu_of(&inner).build_fixture(&spec);
                JResult::Ok(axum::Json(serde_json::to_value(f).unwrap_or(Value::Null)))
            }),
        )
        .route(
            "/_emulator/diff",
            post(|axum::Json(b): axum::Json<Value>| async move {
                let parse = |k: &str| serde_json::from_value::<GuildView>(b[k].clone());
                let (Ok(before), Ok(after)) = (parse("before"), parse("after")) else {
                    return Err(jerr(ApiError::new(400, 50035, "before and after must be guild views")));
                };
                let opts = serde_json::from_value::<crate::diff::DiffOptions>(b["options"].clone()).unwrap_or_default();
                let entries = crate::diff::diff(&before, &after, &opts);
                Ok(axum::Json(serde_json::to_value(entries).unwrap_or(Value::Null)))
            }),
        )
        .route("/_emulator/counters", get(|AxState(inner): S| async move { axum::Json(serde_json::to_value(emu_of(&inner).counters()).unwrap_or(Value::Null)) }))
        .route(
            "/_emulator/dispatches",
            get(|AxState(inner): S| async move {
                let log = emu_of(&inner).dispatch_log();
                let v: Vec<Value> = log
                    .iter()
                    .map(|d| json!({ "event": d.event, "guild_id": d.guild_id.map(|g| g.to_string()), "target_id": d.target_id.map(|t| t.to_string()), "sessions": d.sessions }))
                    .collect();
                axum::Json(Value::Array(v))
            }),
        )
        .route(
            "/_emulator/gateway/{application_id}/{hook}",
            post(|AxState(inner): S, Path((app, hook)): Path<(u64, String)>| async move {
                let emu = emu_of(&inner);
                let n = match hook.as_str() {
                    "reconnect" => emu.send_reconnect(app),
                    "invalid-session" => emu.send_invalid_session(app, false),
                    "invalid-session-resumable" => emu.send_invalid_session(app, true),
                    "disconnect" => emu.disconnect(app),
                    _ => return Err(jerr(ApiError::not_found())),
                };
                Ok(axum::Json(json!({ "sessions": n })))
            }),
        )
        .route(
            "/_emulator/oauth/authorize",
            post(|AxState(inner): S, axum::Json(b): axum::Json<Value>| async move {
                let user = vid(&b, "user_id").map_err(jerr)?;
                let client = vid(&b, "client_id").map_err(jerr)?;
                let scopes: Vec<String> = b["scopes"].as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect()).unwrap_or_default();
                let scope_refs: Vec<&str> = scopes.iter().map(String::as_str).collect();
                match emu_of(&inner).authorize(user, client, b["redirect_uri"].as_str().unwrap_or_default(), &scope_refs, b["code_challenge"].as_str()) {
                    Ok(code) => Ok(axum::Json(json!({ "code": code }))),
                    Err(e) => Err((axum::http::StatusCode::BAD_REQUEST, axum::Json(e.body()))),
                }
            }),
        )
        .route(
            "/_emulator/oauth/default-user",
            post(|AxState(inner): S, axum::Json(b): axum::Json<Value>| async move {
                emu_of(&inner).set_oauth_user(opt_vid(&b, "user_id"));
                axum::Json(json!({}))
            }),
        )
}
