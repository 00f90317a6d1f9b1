//! Purpose: `Actor` — acting on the world as any user (roles, channels, members, bans, guild
//! settings, webhooks, emojis, messages), with Discord's checks and audit entries.

use serde_json::{Value, json};

use crate::error::ApiError;
use crate::model::*;

use super::*;

/// A user acting through the same rules as REST (permissions, hierarchy, limits, audit
/// log, dispatches).
#[derive(Clone, Debug)]
pub struct Actor {
    pub(super) emu: Emulator,
    pub(super) user: UserId,
    pub(super) reason: Option<String>,
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

    /// `PATCH /webhooks/{w}` with `body`.
    pub fn update_webhook(&self, webhook: WebhookId, body: Value) -> Result<(), ApiError> {
        st!(self)
            .update_webhook(Some(self.user), webhook, &body, self.r())
            .map(|_| ())
    }

    pub fn delete_webhook(&self, webhook: WebhookId) -> Result<(), ApiError> {
        st!(self).delete_webhook(Some(self.user), webhook, self.r())
    }

    pub fn create_emoji(&self, guild: GuildId, name: &str) -> Result<EmojiId, ApiError> {
        let body = json!({ "name": name, "image": "data:image/png;base64,iVBORw0KGgo=" });
        id_in(&st!(self).create_emoji(self.user, guild, &body, self.r())?)
    }

    /// `POST /guilds/{g}/stickers` with a small PNG file.
    pub fn create_sticker(&self, guild: GuildId, name: &str, tags: &str) -> Result<u64, ApiError> {
        let file = crate::ops_messages::UploadedFile {
            field: "file".into(),
            filename: "sticker.png".into(),
            content_type: Some("image/png".into()),
            data: Emoji::fixture_png(name.len() as u64 + 7_777),
        };
        let body = json!({ "name": name, "tags": tags });
        id_in(&st!(self).create_sticker(self.user, guild, &body, Some(&file), self.r())?)
    }

    /// `PATCH /guilds/{g}/welcome-screen`.
    pub fn update_welcome_screen(&self, guild: GuildId, body: Value) -> Result<(), ApiError> {
        st!(self)
            .update_welcome_screen(self.user, guild, &body, self.r())
            .map(|_| ())
    }

    /// `PUT /guilds/{g}/onboarding`.
    pub fn update_onboarding(&self, guild: GuildId, body: Value) -> Result<(), ApiError> {
        st!(self)
            .update_onboarding(self.user, guild, &body, self.r())
            .map(|_| ())
    }

    /// `POST /guilds/{g}/scheduled-events` with `body`.
    pub fn create_scheduled_event(&self, guild: GuildId, body: Value) -> Result<u64, ApiError> {
        id_in(&st!(self).create_scheduled_event(self.user, guild, &body, self.r())?)
    }

    /// `PATCH /guilds/{g}/scheduled-events/{e}`.
    pub fn update_scheduled_event(
        &self,
        guild: GuildId,
        event: u64,
        body: Value,
    ) -> Result<(), ApiError> {
        st!(self)
            .update_scheduled_event(self.user, guild, event, &body, self.r())
            .map(|_| ())
    }

    pub fn delete_scheduled_event(&self, guild: GuildId, event: u64) -> Result<(), ApiError> {
        st!(self).delete_scheduled_event(self.user, guild, event, self.r())
    }

    /// `POST /channels/{c}/threads` with `body` (a forum post needs `message`).
    pub fn create_thread(&self, parent: ChannelId, body: Value) -> Result<ChannelId, ApiError> {
        id_in(&st!(self).create_thread(self.user, parent, &body, self.r())?)
    }

    /// `PATCH /channels/{t}` of a thread.
    pub fn update_thread(&self, thread: ChannelId, body: Value) -> Result<(), ApiError> {
        st!(self)
            .update_thread(self.user, thread, &body, self.r())
            .map(|_| ())
    }

    /// `DELETE /channels/{t}` of a thread.
    pub fn delete_thread(&self, thread: ChannelId) -> Result<(), ApiError> {
        st!(self)
            .delete_thread(self.user, thread, self.r())
            .map(|_| ())
    }

    /// `POST /guilds/{g}/auto-moderation/rules` with `body`.
    pub fn create_automod_rule(&self, guild: GuildId, body: Value) -> Result<u64, ApiError> {
        id_in(&st!(self).create_automod_rule(self.user, guild, &body, self.r())?)
    }

    /// `PATCH /guilds/{g}/auto-moderation/rules/{r}`.
    pub fn update_automod_rule(
        &self,
        guild: GuildId,
        rule: u64,
        body: Value,
    ) -> Result<(), ApiError> {
        st!(self)
            .update_automod_rule(self.user, guild, rule, &body, self.r())
            .map(|_| ())
    }

    pub fn delete_automod_rule(&self, guild: GuildId, rule: u64) -> Result<(), ApiError> {
        st!(self).delete_automod_rule(self.user, guild, rule, self.r())
    }

    /// `PATCH /guilds/{g}/stickers/{s}`.
    pub fn update_sticker(
        &self,
        guild: GuildId,
        sticker: u64,
        body: Value,
    ) -> Result<(), ApiError> {
        st!(self)
            .update_sticker(self.user, guild, sticker, &body, self.r())
            .map(|_| ())
    }

    pub fn delete_sticker(&self, guild: GuildId, sticker: u64) -> Result<(), ApiError> {
        st!(self).delete_sticker(self.user, guild, sticker, self.r())
    }

    /// `PATCH /guilds/{g}/emojis/{e}`: a new name and allowed roles.
    pub fn update_emoji(
        &self,
        guild: GuildId,
        emoji: EmojiId,
        name: &str,
        roles: &[RoleId],
    ) -> Result<(), ApiError> {
        let body = json!({
            "name": name,
            "roles": roles.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
        });
        st!(self)
            .update_emoji(self.user, guild, emoji, &body, self.r())
            .map(|_| ())
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

    /// Sends a message with `body` (content, embeds...) and files (name, bytes) as `files[n]`.
    pub fn post_message(
        &self,
        channel: ChannelId,
        body: Value,
        files: Vec<(String, Vec<u8>)>,
    ) -> Result<MessageId, ApiError> {
        let mut st = st!(self);
        let files = files
            .into_iter()
            .enumerate()
            .map(|(i, (filename, data))| crate::ops_messages::UploadedFile {
                field: format!("files[{i}]"),
                filename,
                content_type: None,
                data,
            })
            .collect();
        let parts = st.parse_message(&body, files)?;
        id_in(&st.send_message(self.user, channel, parts)?)
    }

    /// Pins a message (`PUT /channels/{c}/messages/pins/{m}`).
    pub fn pin_message(&self, channel: ChannelId, message: MessageId) -> Result<(), ApiError> {
        st!(self).set_pinned(self.user, channel, message, true, self.r())
    }

    /// Opens the DM with another user (e.g. a bot); returns the channel id.
    pub fn open_dm(&self, other: UserId) -> Result<ChannelId, ApiError> {
        id_in(&st!(self).create_dm(self.user, other)?)
    }
}
