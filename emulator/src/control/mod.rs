//! Purpose: the Rust control API (`Emulator`): start/stop, addresses and CA, world building,
//! acting as any user (`Actor`), scripted interactions (`InteractionHandle`), inspection and
//! logs, gateway hooks; plus the same operations over HTTP under `/_emulator/...`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

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

mod actor;
mod http;
mod interaction;

pub use actor::Actor;
pub use http::control_routes;
pub use interaction::*;

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

    /// Turns an application's Message Content intent on or off (the Developer Portal's
    /// switch): its application flags and what its bot reads of messages follow.
    pub fn set_message_content_intent(&self, app: ApplicationId, on: bool) -> bool {
        match self.inner.state.lock().world.apps.get_mut(&app) {
            Some(a) => {
                a.options.message_content_intent = on;
                true
            }
            None => false,
        }
    }

    /// Gives a user an avatar (PNG bytes); returns its hash (served by the CDN route).
    pub fn set_user_avatar(&self, user: UserId, png: Vec<u8>) -> Result<String, ApiError> {
        self.inner.state.lock().set_user_avatar(user, png)
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

    /// Successful OAuth2 refreshes so far.
    pub fn oauth_refreshes(&self) -> u64 {
        self.inner.state.lock().world.oauth.refreshes
    }

    /// The live grants (by access token) of `user`.
    pub fn oauth_grants_of(&self, user: UserId) -> usize {
        let now = std::time::Instant::now();
        let state = self.inner.state.lock();
        state
            .world
            .oauth
            .access
            .values()
            .filter(|g| g.user_id == user && g.expires > now)
            .count()
    }

    /// Ends `user`'s access tokens now (as if 7 days had passed); refresh tokens stay valid.
    pub fn expire_oauth_access(&self, user: UserId) {
        let now = std::time::Instant::now();
        let mut state = self.inner.state.lock();
        for g in state.world.oauth.access.values_mut() {
            if g.user_id == user {
                g.expires = now;
            }
        }
    }

    /// `user` removes the application in Discord's settings: every grant of theirs dies.
    pub fn deauthorize_oauth(&self, user: UserId) {
        let mut state = self.inner.state.lock();
        state.world.oauth.access.retain(|_, g| g.user_id != user);
        state.world.oauth.refresh.retain(|_, g| g.user_id != user);
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
