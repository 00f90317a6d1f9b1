//! Purpose: member, ban, guild-settings, emoji, webhook, incident-action and bot-add
//! mutations with Discord's checks, audit entries and dispatches.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::model::*;
use crate::permissions as perm;
use crate::state::{Audience, State, World, body};

impl State {
    fn member_update_dispatch(&mut self, gid: GuildId, uid: UserId) {
        let Some(g) = self.world.guilds.get(&gid) else {
            return;
        };
        let Some(mut d) = self.member_json(g, uid) else {
            return;
        };
        d["guild_id"] = json!(gid.to_string());
        self.emit(Audience::Guild(gid), "GUILD_MEMBER_UPDATE", &d, Some(uid));
    }

    /// Removes a member (kick, ban, leave): GUILD_MEMBER_REMOVE, and for bots GUILD_DELETE
    /// to the bot plus removal of its managed role.
    fn remove_member(&mut self, gid: GuildId, uid: UserId) {
        let Some(g) = self.world.guilds.get_mut(&gid) else {
            return;
        };
        if g.members.remove(&uid).is_none() {
            return;
        }
        let user = self
            .world
            .users
            .get(&uid)
            .map(User::json)
            .unwrap_or(Value::Null);
        self.emit(
            Audience::Guild(gid),
            "GUILD_MEMBER_REMOVE",
            &json!({ "guild_id": gid.to_string(), "user": user }),
            Some(uid),
        );
        if let Some(app) = self.world.app_by_bot.get(&uid).copied() {
            self.emit(
                Audience::App(app, Some(gid)),
                "GUILD_DELETE",
                &json!({ "id": gid.to_string() }),
                Some(gid),
            );
            let managed: Vec<RoleId> = self
                .world
                .guilds
                .get(&gid)
                .map(|g| {
                    g.roles
                        .values()
                        .filter(|r| r.bot_id == Some(uid))
                        .map(|r| r.id)
                        .collect()
                })
                .unwrap_or_default();
            for rid in managed {
                if let Some(g) = self.world.guilds.get_mut(&gid) {
                    g.roles.remove(&rid);
                    for m in g.members.values_mut() {
                        m.roles.retain(|r| *r != rid);
                    }
                }
                self.emit(
                    Audience::Guild(gid),
                    "GUILD_ROLE_DELETE",
                    &json!({ "guild_id": gid.to_string(), "role_id": rid.to_string() }),
                    Some(rid),
                );
            }
        }
    }

    /// Adds a member without checks (control API): GUILD_MEMBER_ADD.
    pub fn add_member_raw(
        &mut self,
        gid: GuildId,
        uid: UserId,
        roles: Vec<RoleId>,
        nick: Option<String>,
    ) -> Result<bool, ApiError> {
        self.world.user(uid)?;
        let g = self.world.guild_mut(gid)?;
        if g.members.contains_key(&uid) {
            return Ok(false);
        }
        g.members.insert(
            uid,
            Member {
                user_id: uid,
                nick,
                roles,
                joined_at: Utc::now(),
                deaf: false,
                mute: false,
                communication_disabled_until: None,
            },
        );
        let g = self.world.guild(gid)?;
        if let Some(mut d) = self.member_json(g, uid) {
            d["guild_id"] = json!(gid.to_string());
            self.emit(Audience::Guild(gid), "GUILD_MEMBER_ADD", &d, Some(uid));
        }
        Ok(true)
    }

    /// Adds a bot to a guild as `actor` would through the OAuth2 bot flow: managed role with
    /// `permissions` at the top below the actor, member, GUILD_CREATE to the bot, BOT_ADD entry.
    pub fn add_bot(
        &mut self,
        actor: UserId,
        gid: GuildId,
        app_id: ApplicationId,
        permissions: u64,
    ) -> Result<RoleId, ApiError> {
        let app = self
            .world
            .apps
            .get(&app_id)
            .ok_or_else(ApiError::unknown_application)?
            .clone();
        let g = self.world.guild(gid)?;
        World::require(g, actor, perm::MANAGE_GUILD)?;
        if g.bans.contains_key(&app.bot_user_id) {
            return Err(ApiError::user_banned());
        }
        if g.members.contains_key(&app.bot_user_id) {
            return g
                .roles
                .values()
                .find(|r| r.bot_id == Some(app.bot_user_id))
                .map(|r| r.id)
                .ok_or_else(ApiError::unknown_role);
        }
        let actor_perms = World::base_permissions(g, actor);
        if actor_perms != perm::ALL && permissions & !actor_perms != 0 {
            return Err(ApiError::missing_permissions());
        }
        let rid = self.next_id();
        let g = self.world.guild_mut(gid)?;
        let role = Role {
            id: rid,
            name: app.name.chars().take(100).collect(),
            color: 0,
            hoist: false,
            mentionable: false,
            permissions,
            position: 1,
            managed: true,
            bot_id: Some(app.bot_user_id),
            unicode_emoji: None,
        };
        g.roles.insert(rid, role);
        g.members.insert(
            app.bot_user_id,
            Member {
                user_id: app.bot_user_id,
                nick: None,
                roles: vec![rid],
                joined_at: Utc::now(),
                deaf: false,
                mute: false,
                communication_disabled_until: None,
            },
        );
        // Like any new role, the managed role starts at the bottom (position 1).
        let g = self.world.guild_mut(gid)?;
        let rj = g.roles.get(&rid).map(Role::json).unwrap_or(Value::Null);
        self.emit(
            Audience::Guild(gid),
            "GUILD_ROLE_CREATE",
            &json!({ "guild_id": gid.to_string(), "role": rj }),
            Some(rid),
        );
        let g = self.world.guild(gid)?;
        if let Some(mut d) = self.member_json(g, app.bot_user_id) {
            d["guild_id"] = json!(gid.to_string());
            self.emit(
                Audience::Guild(gid),
                "GUILD_MEMBER_ADD",
                &d,
                Some(app.bot_user_id),
            );
        }
        self.send_guild_create(app_id, gid);
        self.audit(
            gid,
            actor,
            Some(app.bot_user_id),
            audit_action::BOT_ADD,
            Vec::new(),
            None,
            None,
        );
        Ok(rid)
    }

    /// `PATCH /guilds/{guild_id}/members/{user_id}`.
    pub fn update_member(
        &mut self,
        actor: UserId,
        gid: GuildId,
        uid: UserId,
        b: &Value,
        reason: Option<&str>,
    ) -> Result<Value, ApiError> {
        body::require_object(b)?;
        let nick = body::string(b, "nick", 0, 32)?;
        let roles: Option<Vec<RoleId>> = match b.get("roles") {
            None | Some(Value::Null) => None,
            Some(Value::Array(arr)) => {
                let mut out = Vec::new();
                for v in arr {
                    let id = match v {
                        Value::String(s) => crate::snowflake::parse(s),
                        Value::Number(n) => n.as_u64(),
                        _ => None,
                    }
                    .ok_or_else(|| {
                        ApiError::invalid_form(
                            "roles",
                            "NUMBER_TYPE_COERCE",
                            "Value is not snowflake.",
                        )
                    })?;
                    if !out.contains(&id) {
                        out.push(id);
                    }
                }
                Some(out)
            }
            Some(_) => {
                return Err(ApiError::invalid_form(
                    "roles",
                    "ARRAY_TYPE_CONVERT",
                    "Only iterables may be used in a ListType",
                ));
            }
        };
        let mute = body::boolean(b, "mute")?;
        let deaf = body::boolean(b, "deaf")?;
        let timeout: Option<Option<DateTime<Utc>>> = match b.get("communication_disabled_until") {
            None => None,
            Some(Value::Null) => Some(None),
            Some(Value::String(s)) => Some(Some(
                DateTime::parse_from_rfc3339(s)
                    .map(|d| d.with_timezone(&Utc))
                    .map_err(|_| {
                        ApiError::invalid_form(
                            "communication_disabled_until",
                            "DATE_TIME_TYPE_PARSE",
                            "Could not parse timestamp.",
                        )
                    })?,
            )),
            Some(_) => {
                return Err(ApiError::invalid_form(
                    "communication_disabled_until",
                    "DATE_TIME_TYPE_PARSE",
                    "Could not parse timestamp.",
                ));
            }
        };
        let g = self.world.guild(gid)?;
        let member = g.members.get(&uid).ok_or_else(ApiError::unknown_member)?;
        if !g.members.contains_key(&actor) {
            return Err(ApiError::missing_access());
        }
        let p = World::base_permissions(g, actor);
        let mut changes = Vec::new();
        let mut role_changes: Vec<AuditChange> = Vec::new();
        if let Some(n) = &nick {
            let n = n.clone().filter(|s| !s.is_empty());
            if n != member.nick {
                let own = actor == uid;
                let allowed = if own {
                    p & (perm::CHANGE_NICKNAME | perm::MANAGE_NICKNAMES) != 0
                } else {
                    p & perm::MANAGE_NICKNAMES != 0
                };
                if !allowed || (!own && !World::outranks(g, actor, uid)) {
                    return Err(ApiError::missing_permissions());
                }
                changes.push(AuditChange::new(
                    "nick",
                    member.nick.as_ref().map(|s| json!(s)),
                    n.as_ref().map(|s| json!(s)),
                ));
            }
        }
        if let Some(new_roles) = &roles {
            let added: Vec<RoleId> = new_roles
                .iter()
                .filter(|r| !member.roles.contains(r))
                .copied()
                .collect();
            let removed: Vec<RoleId> = member
                .roles
                .iter()
                .filter(|r| !new_roles.contains(r))
                .copied()
                .collect();
            if !added.is_empty() || !removed.is_empty() {
                if p & perm::MANAGE_ROLES == 0 {
                    return Err(ApiError::missing_permissions());
                }
                for rid in added.iter().chain(removed.iter()) {
                    let role = g.roles.get(rid).ok_or_else(ApiError::unknown_role)?;
                    if *rid == gid || role.managed || !World::can_manage_role(g, actor, role) {
                        return Err(ApiError::missing_permissions());
                    }
                }
                let named = |ids: &[RoleId]| -> Value {
                    Value::Array(
                        ids.iter()
                            .filter_map(|r| g.roles.get(r))
                            .map(|r| json!({ "id": r.id.to_string(), "name": r.name }))
                            .collect(),
                    )
                };
                if !added.is_empty() {
                    role_changes.push(AuditChange::new("$add", None, Some(named(&added))));
                }
                if !removed.is_empty() {
                    role_changes.push(AuditChange::new("$remove", None, Some(named(&removed))));
                }
            }
        }
        if mute.is_some_and(|m| m != member.mute) {
            if p & perm::MUTE_MEMBERS == 0 {
                return Err(ApiError::missing_permissions());
            }
            changes.push(AuditChange::new(
                "mute",
                Some(json!(member.mute)),
                mute.map(|m| json!(m)),
            ));
        }
        if deaf.is_some_and(|d| d != member.deaf) {
            if p & perm::DEAFEN_MEMBERS == 0 {
                return Err(ApiError::missing_permissions());
            }
            changes.push(AuditChange::new(
                "deaf",
                Some(json!(member.deaf)),
                deaf.map(|d| json!(d)),
            ));
        }
        if let Some(t) = &timeout
            && *t != member.communication_disabled_until
        {
            let target_admin =
                World::base_permissions(g, uid) & perm::ADMINISTRATOR != 0 || g.owner_id == uid;
            if p & perm::MODERATE_MEMBERS == 0
                || !World::outranks(g, actor, uid)
                || (target_admin && t.is_some())
            {
                return Err(ApiError::missing_permissions());
            }
            changes.push(AuditChange::new(
                "communication_disabled_until",
                member
                    .communication_disabled_until
                    .as_ref()
                    .map(|d| json!(ts(d))),
                t.as_ref().map(|d| json!(ts(d))),
            ));
        }
        let g = self.world.guild_mut(gid)?;
        let m = g
            .members
            .get_mut(&uid)
            .ok_or_else(ApiError::unknown_member)?;
        if let Some(n) = nick {
            m.nick = n.filter(|s| !s.is_empty());
        }
        if let Some(r) = roles {
            m.roles = r;
        }
        if let Some(v) = mute {
            m.mute = v;
        }
        if let Some(v) = deaf {
            m.deaf = v;
        }
        if let Some(t) = timeout {
            m.communication_disabled_until = t;
        }
        let changed = !changes.is_empty() || !role_changes.is_empty();
        if changed {
            self.member_update_dispatch(gid, uid);
        }
        if !changes.is_empty() {
            self.audit(
                gid,
                actor,
                Some(uid),
                audit_action::MEMBER_UPDATE,
                changes,
                None,
                reason,
            );
        }
        if !role_changes.is_empty() {
            self.audit(
                gid,
                actor,
                Some(uid),
                audit_action::MEMBER_ROLE_UPDATE,
                role_changes,
                None,
                reason,
            );
        }
        let g = self.world.guild(gid)?;
        self.member_json(g, uid)
            .ok_or_else(ApiError::unknown_member)
    }

    /// `PUT`/`DELETE /guilds/{guild_id}/members/{user_id}/roles/{role_id}`.
    pub fn set_member_role(
        &mut self,
        actor: UserId,
        gid: GuildId,
        uid: UserId,
        rid: RoleId,
        add: bool,
        reason: Option<&str>,
    ) -> Result<(), ApiError> {
        let g = self.world.guild(gid)?;
        let m = g.members.get(&uid).ok_or_else(ApiError::unknown_member)?;
        if !g.roles.contains_key(&rid) {
            return Err(ApiError::unknown_role());
        }
        let mut roles = m.roles.clone();
        if add {
            if !roles.contains(&rid) {
                roles.push(rid);
            }
        } else {
            roles.retain(|r| *r != rid);
        }
        let b = json!({ "roles": roles.iter().map(|r| r.to_string()).collect::<Vec<_>>() });
        self.update_member(actor, gid, uid, &b, reason).map(|_| ())
    }

    /// `DELETE /guilds/{guild_id}/members/{user_id}` (kick).
    pub fn kick_member(
        &mut self,
        actor: UserId,
        gid: GuildId,
        uid: UserId,
        reason: Option<&str>,
    ) -> Result<(), ApiError> {
        let g = self.world.guild(gid)?;
        if !g.members.contains_key(&uid) {
            return Err(ApiError::unknown_member());
        }
        if actor != uid {
            World::require(g, actor, perm::KICK_MEMBERS)?;
            if !World::outranks(g, actor, uid) {
                return Err(ApiError::missing_permissions());
            }
        } else if uid == g.owner_id {
            return Err(ApiError::invalid_form(
                "user_id",
                "OWNER_CANNOT_LEAVE",
                "The owner cannot leave their guild",
            ));
        }
        self.remove_member(gid, uid);
        if actor == uid {
            // Leaving is not audited.
            return Ok(());
        }
        self.audit(
            gid,
            actor,
            Some(uid),
            audit_action::MEMBER_KICK,
            Vec::new(),
            None,
            reason,
        );
        Ok(())
    }

    /// `PUT /guilds/{guild_id}/bans/{user_id}`.
    pub fn ban(
        &mut self,
        actor: UserId,
        gid: GuildId,
        uid: UserId,
        reason: Option<&str>,
    ) -> Result<(), ApiError> {
        self.world.user(uid)?;
        let g = self.world.guild(gid)?;
        World::require(g, actor, perm::BAN_MEMBERS)?;
        if uid == g.owner_id
            || actor == uid
            || (g.members.contains_key(&uid) && !World::outranks(g, actor, uid))
        {
            return Err(ApiError::missing_permissions());
        }
        if g.bans.contains_key(&uid) {
            return Ok(());
        }
        let g = self.world.guild_mut(gid)?;
        g.bans.insert(
            uid,
            Ban {
                user_id: uid,
                reason: reason.map(str::to_string),
            },
        );
        let user = self
            .world
            .users
            .get(&uid)
            .map(User::json)
            .unwrap_or(Value::Null);
        self.emit(
            Audience::Guild(gid),
            "GUILD_BAN_ADD",
            &json!({ "guild_id": gid.to_string(), "user": user }),
            Some(uid),
        );
        self.remove_member(gid, uid);
        self.audit(
            gid,
            actor,
            Some(uid),
            audit_action::MEMBER_BAN_ADD,
            Vec::new(),
            None,
            reason,
        );
        Ok(())
    }

    /// `DELETE /guilds/{guild_id}/bans/{user_id}`.
    pub fn unban(
        &mut self,
        actor: UserId,
        gid: GuildId,
        uid: UserId,
        reason: Option<&str>,
    ) -> Result<(), ApiError> {
        let g = self.world.guild(gid)?;
        World::require(g, actor, perm::BAN_MEMBERS)?;
        if !g.bans.contains_key(&uid) {
            return Err(ApiError::unknown_ban());
        }
        self.world.guild_mut(gid)?.bans.remove(&uid);
        let user = self
            .world
            .users
            .get(&uid)
            .map(User::json)
            .unwrap_or(Value::Null);
        self.emit(
            Audience::Guild(gid),
            "GUILD_BAN_REMOVE",
            &json!({ "guild_id": gid.to_string(), "user": user }),
            Some(uid),
        );
        self.audit(
            gid,
            actor,
            Some(uid),
            audit_action::MEMBER_BAN_REMOVE,
            Vec::new(),
            None,
            reason,
        );
        Ok(())
    }

    /// `POST /guilds/{guild_id}/bulk-ban`.
    pub fn bulk_ban(
        &mut self,
        actor: UserId,
        gid: GuildId,
        b: &Value,
        reason: Option<&str>,
    ) -> Result<Value, ApiError> {
        body::require_object(b)?;
        let Some(ids) = b.get("user_ids").and_then(Value::as_array) else {
            return Err(ApiError::invalid_form(
                "user_ids",
                "BASE_TYPE_REQUIRED",
                "This field is required",
            ));
        };
        if ids.is_empty() || ids.len() > self.config.max_bulk_ban {
            return Err(ApiError::invalid_form(
                "user_ids",
                "BASE_TYPE_BAD_LENGTH",
                format!(
                    "Must be between 1 and {} in length.",
                    self.config.max_bulk_ban
                ),
            ));
        }
        let mut users = Vec::new();
        for v in ids {
            let id = match v {
                Value::String(s) => crate::snowflake::parse(s),
                Value::Number(n) => n.as_u64(),
                _ => None,
            }
            .ok_or_else(|| {
                ApiError::invalid_form("user_ids", "NUMBER_TYPE_COERCE", "Value is not snowflake.")
            })?;
            if !users.contains(&id) {
                users.push(id);
            }
        }
        let g = self.world.guild(gid)?;
        World::require(g, actor, perm::BAN_MEMBERS | perm::MANAGE_GUILD)?;
        let (mut banned, mut failed) = (Vec::new(), Vec::new());
        for uid in users {
            let ok = {
                let g = self.world.guild(gid)?;
                self.world.users.contains_key(&uid)
                    && !g.bans.contains_key(&uid)
                    && uid != g.owner_id
                    && uid != actor
                    && (!g.members.contains_key(&uid) || World::outranks(g, actor, uid))
            };
            if ok && self.ban(actor, gid, uid, reason).is_ok() {
                banned.push(uid.to_string());
            } else {
                failed.push(uid.to_string());
            }
        }
        if banned.is_empty() {
            return Err(ApiError::bulk_ban_failed());
        }
        Ok(json!({ "banned_users": banned, "failed_users": failed }))
    }

    /// `PATCH /guilds/{guild_id}`.
    pub fn update_guild(
        &mut self,
        actor: UserId,
        gid: GuildId,
        b: &Value,
        reason: Option<&str>,
    ) -> Result<Value, ApiError> {
        body::require_object(b)?;
        let g = self.world.guild(gid)?;
        World::require(g, actor, perm::MANAGE_GUILD)?;
        let old = g.settings.clone();
        let old_owner = g.owner_id;
        let mut s = old.clone();
        if let Some(n) = body::string(b, "name", 2, 100)?.flatten() {
            s.name = n;
        }
        if let Some(d) = body::string(b, "description", 0, 120)? {
            s.description = d;
        }
        if let Some(v) = body::integer(b, "verification_level", 0, 4)? {
            s.verification_level = v as u8;
        }
        if let Some(v) = body::integer(b, "default_message_notifications", 0, 1)? {
            s.default_message_notifications = v as u8;
        }
        if let Some(v) = body::integer(b, "explicit_content_filter", 0, 2)? {
            s.explicit_content_filter = v as u8;
        }
        if let Some(v) = body::integer(b, "afk_timeout", 60, 3600)? {
            if ![60, 300, 900, 1800, 3600].contains(&v) {
                return Err(ApiError::invalid_form(
                    "afk_timeout",
                    "BASE_TYPE_CHOICES",
                    "Value must be one of {60, 300, 900, 1800, 3600}.",
                ));
            }
            s.afk_timeout = v as u32;
        }
        if let Some(v) = body::integer(b, "system_channel_flags", 0, 255)? {
            s.system_channel_flags = v as u32;
        }
        if let Some(l) = body::string(b, "preferred_locale", 2, 10)?.flatten() {
            s.preferred_locale = l;
        }
        if let Some(v) = body::boolean(b, "premium_progress_bar_enabled")? {
            s.premium_progress_bar_enabled = v;
        }
        if let Some(Value::Array(f)) = b.get("features") {
            s.features = f
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect();
        }
        for (key, slot, kinds) in [
            (
                "afk_channel_id",
                &mut s.afk_channel_id,
                &[channel_type::GUILD_VOICE][..],
            ),
            (
                "system_channel_id",
                &mut s.system_channel_id,
                &[channel_type::GUILD_TEXT][..],
            ),
            (
                "rules_channel_id",
                &mut s.rules_channel_id,
                &[channel_type::GUILD_TEXT][..],
            ),
            (
                "public_updates_channel_id",
                &mut s.public_updates_channel_id,
                &[channel_type::GUILD_TEXT][..],
            ),
            (
                "safety_alerts_channel_id",
                &mut s.safety_alerts_channel_id,
                &[channel_type::GUILD_TEXT][..],
            ),
        ] {
            if let Some(v) = body::snowflake(b, key)? {
                if let Some(c) = v
                    && !g
                        .channels
                        .get(&c)
                        .is_some_and(|ch| kinds.contains(&ch.kind))
                {
                    return Err(ApiError::invalid_form(
                        key,
                        "CHANNEL_INVALID",
                        "Invalid channel",
                    ));
                }
                *slot = v;
            }
        }
        let new_owner = body::snowflake(b, "owner_id")?.flatten();
        if let Some(o) = new_owner
            && o != old_owner
        {
            if actor != old_owner {
                return Err(ApiError::owner_only());
            }
            if !g.members.contains_key(&o) {
                return Err(ApiError::unknown_member());
            }
        }
        let mut changes = Vec::new();
        let ov = serde_json::to_value(&old).unwrap_or(Value::Null);
        let nv = serde_json::to_value(&s).unwrap_or(Value::Null);
        if let (Some(o), Some(n)) = (ov.as_object(), nv.as_object()) {
            for (k, new) in n {
                let old = o.get(k).cloned().unwrap_or(Value::Null);
                if &old != new {
                    let conv = |v: Value| -> Option<Value> {
                        match v {
                            Value::Null => None,
                            Value::Number(n) if k.ends_with("_id") => Some(json!(n.to_string())),
                            other => Some(other),
                        }
                    };
                    changes.push(AuditChange::new(k, conv(old), conv(new.clone())));
                }
            }
        }
        let g = self.world.guild_mut(gid)?;
        g.settings = s;
        if let Some(o) = new_owner
            && o != old_owner
        {
            g.owner_id = o;
            changes.push(AuditChange::new(
                "owner_id",
                Some(json!(old_owner.to_string())),
                Some(json!(o.to_string())),
            ));
        }
        let gj = g.json();
        self.emit(Audience::Guild(gid), "GUILD_UPDATE", &gj, Some(gid));
        if !changes.is_empty() {
            self.audit(
                gid,
                actor,
                Some(gid),
                audit_action::GUILD_UPDATE,
                changes,
                None,
                reason,
            );
        }
        Ok(gj)
    }

    /// `PUT /guilds/{guild_id}/incident-actions`.
    pub fn update_incident_actions(
        &mut self,
        actor: UserId,
        gid: GuildId,
        b: &Value,
        reason: Option<&str>,
    ) -> Result<Value, ApiError> {
        body::require_object(b)?;
        let parse = |key: &str| -> Result<Option<Option<DateTime<Utc>>>, ApiError> {
            match b.get(key) {
                None => Ok(None),
                Some(Value::Null) => Ok(Some(None)),
                Some(Value::String(s)) => {
                    let t = DateTime::parse_from_rfc3339(s)
                        .map(|d| d.with_timezone(&Utc))
                        .map_err(|_| {
                            ApiError::invalid_form(
                                key,
                                "DATE_TIME_TYPE_PARSE",
                                "Could not parse timestamp.",
                            )
                        })?;
                    if t > Utc::now() + chrono::Duration::hours(24) + chrono::Duration::minutes(1) {
                        return Err(ApiError::invalid_form(
                            key,
                            "DATE_TIME_TOO_FAR",
                            "Cannot be more than 24 hours in the future.",
                        ));
                    }
                    Ok(Some(Some(t)))
                }
                Some(_) => Err(ApiError::invalid_form(
                    key,
                    "DATE_TIME_TYPE_PARSE",
                    "Could not parse timestamp.",
                )),
            }
        };
        let invites = parse("invites_disabled_until")?;
        let dms = parse("dms_disabled_until")?;
        let g = self.world.guild(gid)?;
        World::require(g, actor, perm::MANAGE_GUILD)?;
        let g = self.world.guild_mut(gid)?;
        g.incidents.invites_disabled_until = invites.unwrap_or(None);
        g.incidents.dms_disabled_until = dms.unwrap_or(None);
        let out = g.incidents.json();
        let gj = g.json();
        self.emit(Audience::Guild(gid), "GUILD_UPDATE", &gj, Some(gid));
        let _ = reason;
        Ok(out)
    }

    /// `POST /guilds/{guild_id}/emojis`.
    pub fn create_emoji(
        &mut self,
        actor: UserId,
        gid: GuildId,
        b: &Value,
        reason: Option<&str>,
    ) -> Result<Value, ApiError> {
        body::require_object(b)?;
        let name = body::string(b, "name", 2, 32)?.flatten().ok_or_else(|| {
            ApiError::invalid_form("name", "BASE_TYPE_REQUIRED", "This field is required")
        })?;
        let image = body::string(b, "image", 1, 400_000)?
            .flatten()
            .ok_or_else(|| {
                ApiError::invalid_form("image", "BASE_TYPE_REQUIRED", "This field is required")
            })?;
        if !image.starts_with("data:image/") {
            return Err(ApiError::invalid_form(
                "image",
                "IMAGE_INVALID",
                "Invalid image data",
            ));
        }
        let animated = image.starts_with("data:image/gif");
        let roles = parse_ids(b.get("roles"));
        let id = self.next_id();
        let g = self.world.guild_mut(gid)?;
        let p = World::require(g, actor, 0)?;
        if p & (perm::MANAGE_GUILD_EXPRESSIONS | perm::CREATE_GUILD_EXPRESSIONS) == 0 {
            return Err(ApiError::missing_permissions());
        }
        if g.emojis.iter().filter(|e| e.animated == animated).count() >= 50 {
            return Err(ApiError::max_emojis());
        }
        let e = Emoji {
            id,
            name,
            roles,
            animated,
            creator_id: actor,
        };
        g.emojis.push(e.clone());
        let creator = self.world.users.get(&actor).cloned();
        let ej = e.json(creator.as_ref());
        self.emojis_update(gid);
        self.audit(
            gid,
            actor,
            Some(id),
            audit_action::EMOJI_CREATE,
            vec![AuditChange::new("name", None, Some(json!(e.name)))],
            None,
            reason,
        );
        Ok(ej)
    }

    fn emojis_update(&mut self, gid: GuildId) {
        let Some(g) = self.world.guilds.get(&gid) else {
            return;
        };
        let emojis: Vec<Value> = g
            .emojis
            .iter()
            .map(|e| e.json(self.world.users.get(&e.creator_id)))
            .collect();
        self.emit(
            Audience::Guild(gid),
            "GUILD_EMOJIS_UPDATE",
            &json!({ "guild_id": gid.to_string(), "emojis": emojis }),
            Some(gid),
        );
    }

    /// `PATCH /guilds/{guild_id}/emojis/{emoji_id}`.
    pub fn update_emoji(
        &mut self,
        actor: UserId,
        gid: GuildId,
        eid: EmojiId,
        b: &Value,
        reason: Option<&str>,
    ) -> Result<Value, ApiError> {
        body::require_object(b)?;
        let name = body::string(b, "name", 2, 32)?.flatten();
        let roles = b.get("roles").map(|r| parse_ids(Some(r)));
        let g = self.world.guild_mut(gid)?;
        let p = World::require(g, actor, 0)?;
        let e = g
            .emojis
            .iter_mut()
            .find(|e| e.id == eid)
            .ok_or_else(ApiError::unknown_emoji)?;
        if p & perm::MANAGE_GUILD_EXPRESSIONS == 0
            && !(e.creator_id == actor && p & perm::CREATE_GUILD_EXPRESSIONS != 0)
        {
            return Err(ApiError::missing_permissions());
        }
        let mut changes = Vec::new();
        if let Some(n) = name
            && n != e.name
        {
            changes.push(AuditChange::new(
                "name",
                Some(json!(e.name)),
                Some(json!(n)),
            ));
            e.name = n;
        }
        if let Some(r) = roles {
            e.roles = r;
        }
        let e = e.clone();
        let creator = self.world.users.get(&e.creator_id).cloned();
        self.emojis_update(gid);
        if !changes.is_empty() {
            self.audit(
                gid,
                actor,
                Some(eid),
                audit_action::EMOJI_UPDATE,
                changes,
                None,
                reason,
            );
        }
        Ok(e.json(creator.as_ref()))
    }

    /// `DELETE /guilds/{guild_id}/emojis/{emoji_id}`.
    pub fn delete_emoji(
        &mut self,
        actor: UserId,
        gid: GuildId,
        eid: EmojiId,
        reason: Option<&str>,
    ) -> Result<(), ApiError> {
        let g = self.world.guild_mut(gid)?;
        let p = World::require(g, actor, 0)?;
        let e = g
            .emojis
            .iter()
            .find(|e| e.id == eid)
            .ok_or_else(ApiError::unknown_emoji)?;
        if p & perm::MANAGE_GUILD_EXPRESSIONS == 0
            && !(e.creator_id == actor && p & perm::CREATE_GUILD_EXPRESSIONS != 0)
        {
            return Err(ApiError::missing_permissions());
        }
        let name = e.name.clone();
        g.emojis.retain(|e| e.id != eid);
        self.emojis_update(gid);
        self.audit(
            gid,
            actor,
            Some(eid),
            audit_action::EMOJI_DELETE,
            vec![AuditChange::new("name", Some(json!(name)), None)],
            None,
            reason,
        );
        Ok(())
    }

    /// `POST /channels/{channel_id}/webhooks`.
    pub fn create_webhook(
        &mut self,
        actor: UserId,
        cid: ChannelId,
        b: &Value,
        reason: Option<&str>,
    ) -> Result<Value, ApiError> {
        body::require_object(b)?;
        let name = body::string(b, "name", 1, 80)?.flatten().ok_or_else(|| {
            ApiError::invalid_form("name", "BASE_TYPE_REQUIRED", "This field is required")
        })?;
        if name.to_lowercase().contains("clyde") || name.to_lowercase().contains("discord") {
            return Err(ApiError::invalid_form(
                "name",
                "WEBHOOK_INVALID_NAME",
                "Invalid webhook name",
            ));
        }
        let gid = self.world.channel_guild_id(cid)?;
        let g = self.world.guild(gid)?;
        let ch = g.channels.get(&cid).ok_or_else(ApiError::unknown_channel)?;
        if !matches!(
            ch.kind,
            channel_type::GUILD_TEXT
                | channel_type::GUILD_ANNOUNCEMENT
                | channel_type::GUILD_FORUM
                | channel_type::GUILD_VOICE
                | channel_type::GUILD_STAGE_VOICE
        ) {
            return Err(ApiError::invalid_form(
                "channel_id",
                "CHANNEL_INVALID",
                "Invalid channel type",
            ));
        }
        World::require_in_channel(g, ch, actor, perm::MANAGE_WEBHOOKS)?;
        if self
            .world
            .webhooks
            .values()
            .filter(|w| w.channel_id == cid)
            .count()
            >= self.config.max_webhooks_per_channel
        {
            return Err(ApiError::max_webhooks());
        }
        let id = self.next_id();
        let hook = Webhook {
            id,
            guild_id: gid,
            channel_id: cid,
            name: name.clone(),
            token: Self::random_token(34),
            creator_id: actor,
            application_id: self.world.app_by_bot.get(&actor).copied(),
        };
        let creator = self.world.users.get(&actor).cloned();
        let wj = hook.json(creator.as_ref(), &self.base_url, true);
        self.world.webhooks.insert(id, hook);
        self.emit(
            Audience::Guild(gid),
            "WEBHOOKS_UPDATE",
            &json!({ "guild_id": gid.to_string(), "channel_id": cid.to_string() }),
            Some(cid),
        );
        self.audit(
            gid,
            actor,
            Some(id),
            audit_action::WEBHOOK_CREATE,
            vec![
                AuditChange::new("name", None, Some(json!(name))),
                AuditChange::new("type", None, Some(json!(1))),
                AuditChange::new("channel_id", None, Some(json!(cid.to_string()))),
            ],
            None,
            reason,
        );
        Ok(wj)
    }

    /// `PATCH /webhooks/{webhook_id}` (bot) or with its token (`actor` = None).
    pub fn update_webhook(
        &mut self,
        actor: Option<UserId>,
        wid: WebhookId,
        b: &Value,
        reason: Option<&str>,
    ) -> Result<Value, ApiError> {
        body::require_object(b)?;
        let name = body::string(b, "name", 1, 80)?.flatten();
        let channel = if actor.is_some() {
            body::snowflake(b, "channel_id")?.flatten()
        } else {
            None
        };
        let hook = self
            .world
            .webhooks
            .get(&wid)
            .ok_or_else(ApiError::unknown_webhook)?
            .clone();
        let g = self.world.guild(hook.guild_id)?;
        if let Some(a) = actor {
            let ch = g
                .channels
                .get(&hook.channel_id)
                .ok_or_else(ApiError::unknown_channel)?;
            World::require_in_channel(g, ch, a, perm::MANAGE_WEBHOOKS)?;
            if let Some(c) = channel
                && !g.channels.contains_key(&c)
            {
                return Err(ApiError::unknown_channel());
            }
        }
        let w = self
            .world
            .webhooks
            .get_mut(&wid)
            .ok_or_else(ApiError::unknown_webhook)?;
        let mut changes = Vec::new();
        if let Some(n) = name
            && n != w.name
        {
            changes.push(AuditChange::new(
                "name",
                Some(json!(w.name)),
                Some(json!(n)),
            ));
            w.name = n;
        }
        if let Some(c) = channel
            && c != w.channel_id
        {
            changes.push(AuditChange::new(
                "channel_id",
                Some(json!(w.channel_id.to_string())),
                Some(json!(c.to_string())),
            ));
            w.channel_id = c;
        }
        let w = w.clone();
        let creator = self.world.users.get(&w.creator_id).cloned();
        let wj = w.json(creator.as_ref(), &self.base_url, actor.is_some());
        self.emit(
            Audience::Guild(w.guild_id),
            "WEBHOOKS_UPDATE",
            &json!({ "guild_id": w.guild_id.to_string(), "channel_id": w.channel_id.to_string() }),
            Some(w.channel_id),
        );
        if let (Some(a), false) = (actor, changes.is_empty()) {
            self.audit(
                w.guild_id,
                a,
                Some(wid),
                audit_action::WEBHOOK_UPDATE,
                changes,
                None,
                reason,
            );
        }
        Ok(wj)
    }

    /// `DELETE /webhooks/{webhook_id}` (bot) or with its token (`actor` = None).
    pub fn delete_webhook(
        &mut self,
        actor: Option<UserId>,
        wid: WebhookId,
        reason: Option<&str>,
    ) -> Result<(), ApiError> {
        let hook = self
            .world
            .webhooks
            .get(&wid)
            .ok_or_else(ApiError::unknown_webhook)?
            .clone();
        if let Some(a) = actor {
            let g = self.world.guild(hook.guild_id)?;
            let ch = g
                .channels
                .get(&hook.channel_id)
                .ok_or_else(ApiError::unknown_channel)?;
            World::require_in_channel(g, ch, a, perm::MANAGE_WEBHOOKS)?;
        }
        self.world.webhooks.remove(&wid);
        self.emit(
            Audience::Guild(hook.guild_id),
            "WEBHOOKS_UPDATE",
            &json!({ "guild_id": hook.guild_id.to_string(), "channel_id": hook.channel_id.to_string() }),
            Some(hook.channel_id),
        );
        if let Some(a) = actor {
            self.audit(
                hook.guild_id,
                a,
                Some(wid),
                audit_action::WEBHOOK_DELETE,
                vec![AuditChange::new("name", Some(json!(hook.name)), None)],
                None,
                reason,
            );
        }
        Ok(())
    }
}

/// Parses an optional JSON array of snowflakes (invalid items are skipped).
pub fn parse_ids(v: Option<&Value>) -> Vec<u64> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| match x {
                    Value::String(s) => crate::snowflake::parse(s),
                    Value::Number(n) => n.as_u64(),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

impl State {
    /// Members a prune of `days` would remove: no roles (or only `include_roles`), joined
    /// more than `days` ago, not the owner, not bots. The emulator does not track activity,
    /// so join time stands in for inactivity.
    fn prune_candidates(
        &self,
        gid: GuildId,
        days: i64,
        include_roles: &[RoleId],
    ) -> Result<Vec<UserId>, ApiError> {
        let days = days.clamp(1, 30);
        let g = self.world.guild(gid)?;
        let cutoff = Utc::now() - chrono::Duration::days(days);
        Ok(g.members
            .values()
            .filter(|m| m.user_id != g.owner_id)
            .filter(|m| !self.world.users.get(&m.user_id).is_some_and(|u| u.bot))
            .filter(|m| m.roles.iter().all(|r| include_roles.contains(r)))
            .filter(|m| m.joined_at < cutoff)
            .map(|m| m.user_id)
            .collect())
    }

    /// `GET /guilds/{guild_id}/prune`: how many members a prune would remove.
    pub fn prune_count(
        &self,
        actor: UserId,
        gid: GuildId,
        days: i64,
        include_roles: &[RoleId],
    ) -> Result<usize, ApiError> {
        World::require(
            self.world.guild(gid)?,
            actor,
            perm::KICK_MEMBERS | perm::MANAGE_GUILD,
        )?;
        Ok(self.prune_candidates(gid, days, include_roles)?.len())
    }

    /// `POST /guilds/{guild_id}/prune`: removes the candidates (GUILD_MEMBER_REMOVE each) and
    /// writes one MEMBER_PRUNE audit entry.
    pub fn prune(
        &mut self,
        actor: UserId,
        gid: GuildId,
        days: i64,
        include_roles: &[RoleId],
        reason: Option<&str>,
    ) -> Result<usize, ApiError> {
        let days = days.clamp(1, 30);
        World::require(
            self.world.guild(gid)?,
            actor,
            perm::KICK_MEMBERS | perm::MANAGE_GUILD,
        )?;
        let victims = self.prune_candidates(gid, days, include_roles)?;
        for u in &victims {
            self.remove_member(gid, *u);
        }
        let options = json!({ "delete_member_days": days.to_string(), "members_removed": victims.len().to_string() });
        self.audit(
            gid,
            actor,
            None,
            audit_action::MEMBER_PRUNE,
            Vec::new(),
            Some(options),
            reason,
        );
        Ok(victims.len())
    }
}
