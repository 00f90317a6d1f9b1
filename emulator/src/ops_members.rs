//! Purpose: member, ban, prune and bot-add mutations with Discord's checks, audit entries and
//! dispatches (guild settings, emojis, webhooks and incident actions are in `ops_guild`).

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
            icon: None,
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
