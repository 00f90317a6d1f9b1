//! Purpose: channel mutations (create with overwrites, edit, delete, bulk positions,
//! overwrite PUT/DELETE) with Discord's checks, limits, audit entries and CHANNEL_* dispatches.

use std::collections::VecDeque;

use serde_json::{Value, json};

use crate::error::ApiError;
use crate::model::channel_type::*;
use crate::model::*;
use crate::permissions as perm;
use crate::state::{Audience, State, World, body};

fn overwrites_json(o: &[Overwrite]) -> Value {
    Value::Array(o.iter().map(Overwrite::json).collect())
}

/// Discord lowercases text-like channel names and replaces spaces with dashes.
fn normalize_name(kind: u8, name: &str) -> String {
    if matches!(kind, GUILD_TEXT | GUILD_ANNOUNCEMENT | GUILD_FORUM) {
        name.trim()
            .to_lowercase()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join("-")
    } else {
        name.to_string()
    }
}

fn parse_overwrites(
    g: &Guild,
    world_users: &std::collections::HashMap<UserId, User>,
    v: &Value,
) -> Result<Vec<Overwrite>, ApiError> {
    let Some(arr) = v.as_array() else {
        return Err(ApiError::invalid_form(
            "permission_overwrites",
            "ARRAY_TYPE_CONVERT",
            "Only iterables may be used in a ListType",
        ));
    };
    let mut out: Vec<Overwrite> = Vec::new();
    for item in arr {
        let id = body::snowflake(item, "id")?.flatten().ok_or_else(|| {
            ApiError::invalid_form(
                "permission_overwrites",
                "BASE_TYPE_REQUIRED",
                "This field is required",
            )
        })?;
        let kind = match item.get("type") {
            Some(t) => OverwriteKind::from_value(t).ok_or_else(|| {
                ApiError::invalid_form(
                    "permission_overwrites",
                    "BASE_TYPE_CHOICES",
                    "Value must be one of {0, 1}.",
                )
            })?,
            None => {
                if g.roles.contains_key(&id) {
                    OverwriteKind::Role
                } else {
                    OverwriteKind::Member
                }
            }
        };
        match kind {
            OverwriteKind::Role if !g.roles.contains_key(&id) => {
                return Err(ApiError::invalid_form(
                    "permission_overwrites",
                    "INVALID_OVERWRITE",
                    format!("Unknown role {id}"),
                ));
            }
            OverwriteKind::Member if !world_users.contains_key(&id) => {
                return Err(ApiError::invalid_form(
                    "permission_overwrites",
                    "INVALID_OVERWRITE",
                    format!("Unknown user {id}"),
                ));
            }
            _ => {}
        }
        let allow = body::permissions(item, "allow")?.unwrap_or(0);
        let deny = body::permissions(item, "deny")?.unwrap_or(0);
        out.retain(|o| o.id != id);
        out.push(Overwrite {
            id,
            kind,
            allow,
            deny,
        });
    }
    Ok(out)
}

fn channel_changes(old: Option<&Channel>, new: Option<&Channel>) -> Vec<AuditChange> {
    let get = |c: Option<&Channel>, k: &str| -> Option<Value> {
        c.map(|c| match k {
            "name" => json!(c.name),
            "type" => json!(c.kind),
            "topic" => json!(c.topic),
            "nsfw" => json!(c.nsfw),
            "rate_limit_per_user" => json!(c.rate_limit_per_user),
            "bitrate" => json!(c.bitrate),
            "user_limit" => json!(c.user_limit),
            "position" => json!(c.position),
            "parent_id" => json!(c.parent_id.map(|p| p.to_string())),
            "permission_overwrites" => overwrites_json(&c.overwrites),
            _ => Value::Null,
        })
    };
    let mut out = Vec::new();
    let keys: &[&str] = if old.is_some() && new.is_some() {
        &[
            "name",
            "type",
            "topic",
            "nsfw",
            "rate_limit_per_user",
            "bitrate",
            "user_limit",
            "position",
            "parent_id",
        ]
    } else {
        &[
            "name",
            "type",
            "topic",
            "nsfw",
            "rate_limit_per_user",
            "bitrate",
            "user_limit",
            "permission_overwrites",
        ]
    };
    for k in keys {
        let (o, n) = (
            get(old, k).filter(|v| !v.is_null()),
            get(new, k).filter(|v| !v.is_null()),
        );
        let kind = new.or(old).map_or(0, |c| c.kind);
        let voice = matches!(kind, GUILD_VOICE | GUILD_STAGE_VOICE);
        if (matches!(*k, "bitrate" | "user_limit") && !voice) || o == n {
            continue;
        }
        if old.is_none() && n.as_ref() == Some(&json!(false)) {
            continue;
        }
        out.push(AuditChange::new(k, o, n));
    }
    out
}

impl State {
    fn children_count(g: &Guild, parent: ChannelId) -> usize {
        g.channels
            .values()
            .filter(|c| c.parent_id == Some(parent))
            .count()
    }

    fn check_parent(
        &self,
        g: &Guild,
        kind: u8,
        parent: Option<ChannelId>,
        moving: Option<ChannelId>,
    ) -> Result<(), ApiError> {
        let Some(p) = parent else { return Ok(()) };
        if kind == GUILD_CATEGORY {
            return Err(ApiError::invalid_form(
                "parent_id",
                "CHANNEL_PARENT_INVALID_TYPE",
                "Categories cannot have subcategories",
            ));
        }
        let parent_ch = g
            .channels
            .get(&p)
            .filter(|c| c.kind == GUILD_CATEGORY)
            .ok_or_else(|| {
                ApiError::invalid_form("parent_id", "CHANNEL_PARENT_INVALID", "Not a category")
            })?;
        let already = moving.is_some_and(|m| {
            g.channels
                .get(&m)
                .is_some_and(|c| c.parent_id == Some(parent_ch.id))
        });
        if !already && Self::children_count(g, p) >= self.config.max_channels_per_category {
            return Err(ApiError::invalid_form(
                "parent_id",
                "CHANNEL_PARENT_MAX_CHANNELS",
                format!(
                    "Maximum number of channels in category reached ({})",
                    self.config.max_channels_per_category
                ),
            ));
        }
        Ok(())
    }

    fn check_overwrites_grantable(
        g: &Guild,
        actor: UserId,
        ch: Option<&Channel>,
        overwrites: &[Overwrite],
    ) -> Result<(), ApiError> {
        if overwrites.is_empty() {
            return Ok(());
        }
        let have = match ch {
            Some(c) => World::channel_permissions(g, c, actor),
            None => World::base_permissions(g, actor),
        };
        if World::base_permissions(g, actor) & perm::MANAGE_ROLES == 0
            && have & perm::MANAGE_ROLES == 0
        {
            return Err(ApiError::missing_permissions());
        }
        if have == perm::ALL {
            return Ok(());
        }
        let wanted = overwrites
            .iter()
            .fold(0u64, |acc, o| acc | o.allow | o.deny);
        if wanted & !have != 0 {
            return Err(ApiError::missing_permissions());
        }
        Ok(())
    }

    /// `POST /guilds/{guild_id}/channels`.
    pub fn create_channel(
        &mut self,
        actor: UserId,
        gid: GuildId,
        b: &Value,
        reason: Option<&str>,
    ) -> Result<Value, ApiError> {
        body::require_object(b)?;
        let kind = body::integer(b, "type", 0, 20)?.unwrap_or(0) as u8;
        if !SUPPORTED.contains(&kind) {
            return Err(ApiError::invalid_form(
                "type",
                "BASE_TYPE_CHOICES",
                format!("Value must be one of {SUPPORTED:?}."),
            ));
        }
        let name = body::string(b, "name", 1, 100)?.flatten().ok_or_else(|| {
            ApiError::invalid_form("name", "BASE_TYPE_REQUIRED", "This field is required")
        })?;
        let topic =
            body::string(b, "topic", 0, if kind == GUILD_FORUM { 4096 } else { 1024 })?.flatten();
        let nsfw = body::boolean(b, "nsfw")?.unwrap_or(false);
        let slowmode = body::integer(b, "rate_limit_per_user", 0, 21_600)?.unwrap_or(0);
        let bitrate = body::integer(b, "bitrate", 8000, 384_000)?;
        let user_limit = body::integer(
            b,
            "user_limit",
            0,
            if kind == GUILD_STAGE_VOICE {
                10_000
            } else {
                99
            },
        )?
        .unwrap_or(0);
        let position = body::integer(b, "position", 0, 10_000)?;
        let parent = body::snowflake(b, "parent_id")?.flatten();
        let archive = body::integer(b, "default_auto_archive_duration", 60, 10_080)?;
        let tags_in = b
            .get("available_tags")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if tags_in.len() > 20 {
            return Err(ApiError::invalid_form(
                "available_tags",
                "BASE_TYPE_MAX_LENGTH",
                "Must be 20 or fewer in length.",
            ));
        }
        let mut tags = Vec::new();
        for t in &tags_in {
            let tname = body::string(t, "name", 1, 20)?
                .flatten()
                .unwrap_or_default();
            let moderated = body::boolean(t, "moderated")?.unwrap_or(false);
            let emoji_name = body::string(t, "emoji_name", 0, 100)?.flatten();
            tags.push(ForumTag {
                id: 0,
                name: tname,
                moderated,
                emoji_name,
            });
        }
        for t in &mut tags {
            t.id = self.next_id();
        }
        let id = self.next_id();
        let max_channels = self.config.max_channels;
        let g = self.world.guild(gid)?;
        let overwrites = match b.get("permission_overwrites") {
            None | Some(Value::Null) => Vec::new(),
            Some(v) => parse_overwrites(g, &self.world.users, v)?,
        };
        // MANAGE_CHANNELS in the guild, or on the parent category.
        let can_manage = World::base_permissions(g, actor) & perm::MANAGE_CHANNELS != 0
            || parent.and_then(|p| g.channels.get(&p)).is_some_and(|p| {
                World::channel_permissions(g, p, actor) & perm::MANAGE_CHANNELS != 0
            });
        if !g.members.contains_key(&actor) {
            return Err(ApiError::missing_access());
        }
        if !can_manage {
            return Err(ApiError::missing_permissions());
        }
        Self::check_overwrites_grantable(
            g,
            actor,
            parent.and_then(|p| g.channels.get(&p)),
            &overwrites,
        )?;
        if g.channels.len() >= max_channels {
            return Err(ApiError::max_channels(max_channels));
        }
        self.check_parent(g, kind, parent, None)?;
        let position = position.unwrap_or_else(|| {
            g.channels
                .values()
                .filter(|c| {
                    c.parent_id == parent && (c.kind == GUILD_CATEGORY) == (kind == GUILD_CATEGORY)
                })
                .map(|c| c.position + 1)
                .max()
                .unwrap_or(0)
        });
        let voice = matches!(kind, GUILD_VOICE | GUILD_STAGE_VOICE);
        let ch = Channel {
            id,
            guild_id: gid,
            kind,
            name: normalize_name(kind, &name),
            position,
            parent_id: parent,
            topic: if voice && kind == GUILD_VOICE {
                None
            } else {
                topic
            },
            nsfw,
            rate_limit_per_user: u32::try_from(slowmode).unwrap_or(0),
            bitrate: if voice {
                u32::try_from(bitrate.unwrap_or(64_000)).unwrap_or(64_000)
            } else {
                0
            },
            user_limit: if voice {
                u32::try_from(user_limit).unwrap_or(0)
            } else {
                0
            },
            overwrites,
            available_tags: if kind == GUILD_FORUM {
                tags
            } else {
                Vec::new()
            },
            default_auto_archive_duration: archive.and_then(|a| u32::try_from(a).ok()),
            last_message_id: None,
            renames: VecDeque::new(),
        };
        let cj = ch.json();
        let changes = channel_changes(None, Some(&ch));
        self.world.guild_mut(gid)?.channels.insert(id, ch);
        self.world.channel_guild.insert(id, gid);
        self.emit(Audience::Guild(gid), "CHANNEL_CREATE", &cj, Some(id));
        self.audit(
            gid,
            actor,
            Some(id),
            audit_action::CHANNEL_CREATE,
            changes,
            None,
            reason,
        );
        Ok(cj)
    }

    /// Audits overwrite differences between two overwrite lists of a channel.
    fn audit_overwrite_diff(
        &mut self,
        gid: GuildId,
        actor: UserId,
        cid: ChannelId,
        old: &[Overwrite],
        new: &[Overwrite],
        reason: Option<&str>,
    ) {
        let role_name = |s: &Self, o: &Overwrite| -> Option<String> {
            (o.kind == OverwriteKind::Role)
                .then(|| {
                    s.world
                        .guilds
                        .get(&gid)
                        .and_then(|g| g.roles.get(&o.id))
                        .map(|r| r.name.clone())
                })
                .flatten()
        };
        let mut entries = Vec::new();
        for n in new {
            let opts = {
                let mut o = json!({ "id": n.id.to_string(), "type": n.kind.num().to_string() });
                if let Some(rn) = role_name(self, n) {
                    o["role_name"] = json!(rn);
                }
                o
            };
            match old.iter().find(|o| o.id == n.id) {
                None => entries.push((
                    audit_action::CHANNEL_OVERWRITE_CREATE,
                    vec![
                        AuditChange::new("id", None, Some(json!(n.id.to_string()))),
                        AuditChange::new("type", None, Some(json!(n.kind.num()))),
                        AuditChange::new("allow", None, Some(json!(n.allow.to_string()))),
                        AuditChange::new("deny", None, Some(json!(n.deny.to_string()))),
                    ],
                    opts,
                )),
                Some(o) if o != n => {
                    let mut ch = Vec::new();
                    if o.allow != n.allow {
                        ch.push(AuditChange::new(
                            "allow",
                            Some(json!(o.allow.to_string())),
                            Some(json!(n.allow.to_string())),
                        ));
                    }
                    if o.deny != n.deny {
                        ch.push(AuditChange::new(
                            "deny",
                            Some(json!(o.deny.to_string())),
                            Some(json!(n.deny.to_string())),
                        ));
                    }
                    entries.push((audit_action::CHANNEL_OVERWRITE_UPDATE, ch, opts));
                }
                _ => {}
            }
        }
        for o in old {
            if !new.iter().any(|n| n.id == o.id) {
                let mut opts = json!({ "id": o.id.to_string(), "type": o.kind.num().to_string() });
                if let Some(rn) = role_name(self, o) {
                    opts["role_name"] = json!(rn);
                }
                entries.push((
                    audit_action::CHANNEL_OVERWRITE_DELETE,
                    vec![
                        AuditChange::new("id", Some(json!(o.id.to_string())), None),
                        AuditChange::new("type", Some(json!(o.kind.num())), None),
                        AuditChange::new("allow", Some(json!(o.allow.to_string())), None),
                        AuditChange::new("deny", Some(json!(o.deny.to_string())), None),
                    ],
                    opts,
                ));
            }
        }
        for (action, changes, opts) in entries {
            self.audit(gid, actor, Some(cid), action, changes, Some(opts), reason);
        }
    }

    /// `PATCH /channels/{channel_id}` on a guild channel.
    pub fn update_channel(
        &mut self,
        actor: UserId,
        cid: ChannelId,
        b: &Value,
        reason: Option<&str>,
    ) -> Result<Value, ApiError> {
        body::require_object(b)?;
        let gid = self.world.channel_guild_id(cid)?;
        let g = self.world.guild(gid)?;
        let ch = g.channels.get(&cid).ok_or_else(ApiError::unknown_channel)?;
        World::require_in_channel(g, ch, actor, perm::MANAGE_CHANNELS)?;
        let name = body::string(b, "name", 1, 100)?.flatten();
        let kind = body::integer(b, "type", 0, 20)?.map(|k| k as u8);
        if let Some(k) = kind {
            let ok = k == ch.kind
                || (matches!(ch.kind, GUILD_TEXT | GUILD_ANNOUNCEMENT)
                    && matches!(k, GUILD_TEXT | GUILD_ANNOUNCEMENT));
            if !ok {
                return Err(ApiError::invalid_form(
                    "type",
                    "CHANNEL_TYPE_INVALID",
                    "Cannot convert to this channel type",
                ));
            }
        }
        let topic = body::string(b, "topic", 0, 4096)?;
        let nsfw = body::boolean(b, "nsfw")?;
        let slowmode = body::integer(b, "rate_limit_per_user", 0, 21_600)?;
        let bitrate = body::integer(b, "bitrate", 8000, 384_000)?;
        let user_limit = body::integer(b, "user_limit", 0, 10_000)?;
        let position = body::integer(b, "position", 0, 10_000)?;
        let parent = body::snowflake(b, "parent_id")?;
        let overwrites = match b.get("permission_overwrites") {
            None | Some(Value::Null) => None,
            Some(v) => Some(parse_overwrites(g, &self.world.users, v)?),
        };
        if let Some(ow) = &overwrites {
            let mut changed: Vec<Overwrite> = ow
                .iter()
                .filter(|n| !ch.overwrites.contains(n))
                .cloned()
                .collect();
            changed.extend(
                ch.overwrites
                    .iter()
                    .filter(|o| !ow.iter().any(|n| n.id == o.id))
                    .cloned(),
            );
            if !changed.is_empty() {
                Self::check_overwrites_grantable(g, actor, Some(ch), &changed)?;
            }
        }
        if let Some(p) = parent
            && p != ch.parent_id
        {
            self.check_parent(g, ch.kind, p, Some(cid))?;
        }
        let renames = name
            .as_ref()
            .is_some_and(|n| normalize_name(ch.kind, n) != ch.name)
            || topic.as_ref().is_some_and(|t| t != &ch.topic);
        let budget = self.config.rate_limits.channel_rename_budget.clone();
        let (scale, enabled) = (self.config.time_scale, self.budget_enabled);
        let g = self.world.guild_mut(gid)?;
        let ch = g
            .channels
            .get_mut(&cid)
            .ok_or_else(ApiError::unknown_channel)?;
        if renames {
            Self::take_budget(budget.as_ref(), enabled, scale, &mut ch.renames)?;
        }
        let old = ch.clone();
        if let Some(n) = name {
            ch.name = normalize_name(ch.kind, &n);
        }
        if let Some(k) = kind {
            ch.kind = k;
        }
        if let Some(t) = topic {
            ch.topic = t;
        }
        if let Some(n) = nsfw {
            ch.nsfw = n;
        }
        if let Some(s) = slowmode {
            ch.rate_limit_per_user = u32::try_from(s).unwrap_or(0);
        }
        let voice = matches!(ch.kind, GUILD_VOICE | GUILD_STAGE_VOICE);
        if let (Some(br), true) = (bitrate, voice) {
            ch.bitrate = u32::try_from(br).unwrap_or(64_000);
        }
        if let (Some(ul), true) = (user_limit, voice) {
            ch.user_limit = u32::try_from(ul).unwrap_or(0);
        }
        if let Some(p) = position {
            ch.position = p;
        }
        if let Some(p) = parent {
            ch.parent_id = p;
        }
        if let Some(ow) = overwrites {
            ch.overwrites = ow;
        }
        let new = ch.clone();
        let cj = new.json();
        self.emit(Audience::Guild(gid), "CHANNEL_UPDATE", &cj, Some(cid));
        let changes = channel_changes(Some(&old), Some(&new));
        if !changes.is_empty() {
            self.audit(
                gid,
                actor,
                Some(cid),
                audit_action::CHANNEL_UPDATE,
                changes,
                None,
                reason,
            );
        }
        if old.overwrites != new.overwrites {
            self.audit_overwrite_diff(gid, actor, cid, &old.overwrites, &new.overwrites, reason);
        }
        Ok(cj)
    }

    /// `DELETE /channels/{channel_id}` on a guild channel.
    pub fn delete_channel(
        &mut self,
        actor: UserId,
        cid: ChannelId,
        reason: Option<&str>,
    ) -> Result<Value, ApiError> {
        let gid = self.world.channel_guild_id(cid)?;
        let g = self.world.guild(gid)?;
        let ch = g.channels.get(&cid).ok_or_else(ApiError::unknown_channel)?;
        World::require_in_channel(g, ch, actor, perm::MANAGE_CHANNELS)?;
        // As Discord: a community guild keeps its rules and public-updates channels (the
        // guild's fields stay as they were).
        if g.settings.features.iter().any(|f| f == "COMMUNITY")
            && (g.settings.rules_channel_id == Some(cid)
                || g.settings.public_updates_channel_id == Some(cid))
        {
            return Err(ApiError::community_channel());
        }
        let g = self.world.guild_mut(gid)?;
        let old = g
            .channels
            .remove(&cid)
            .ok_or_else(ApiError::unknown_channel)?;
        let mut orphans = Vec::new();
        for c in g.channels.values_mut() {
            if c.parent_id == Some(cid) {
                c.parent_id = None;
                orphans.push(c.json());
            }
        }
        let s = &mut g.settings;
        for slot in [
            &mut s.afk_channel_id,
            &mut s.system_channel_id,
            &mut s.rules_channel_id,
            &mut s.public_updates_channel_id,
            &mut s.safety_alerts_channel_id,
        ] {
            if *slot == Some(cid) {
                *slot = None;
            }
        }
        // Its threads go with it (Discord sends no THREAD_DELETE for them).
        let dead_threads: Vec<ChannelId> = g
            .threads
            .values()
            .filter(|t| t.parent_id == cid)
            .map(|t| t.id)
            .collect();
        for t in &dead_threads {
            g.threads.remove(t);
        }
        for t in &dead_threads {
            self.world.channel_guild.remove(t);
        }
        self.world.channel_guild.remove(&cid);
        let dead_hooks: Vec<WebhookId> = self
            .world
            .webhooks
            .values()
            .filter(|w| w.channel_id == cid)
            .map(|w| w.id)
            .collect();
        for w in &dead_hooks {
            self.world.webhooks.remove(w);
        }
        let cj = old.json();
        self.emit(Audience::Guild(gid), "CHANNEL_DELETE", &cj, Some(cid));
        for o in orphans {
            let id = o["id"].as_str().and_then(crate::snowflake::parse);
            self.emit(Audience::Guild(gid), "CHANNEL_UPDATE", &o, id);
        }
        if !dead_hooks.is_empty() {
            let d = json!({ "guild_id": gid.to_string(), "channel_id": cid.to_string() });
            self.emit(Audience::Guild(gid), "WEBHOOKS_UPDATE", &d, Some(cid));
        }
        self.audit(
            gid,
            actor,
            Some(cid),
            audit_action::CHANNEL_DELETE,
            channel_changes(Some(&old), None),
            None,
            reason,
        );
        Ok(cj)
    }

    /// `PATCH /guilds/{guild_id}/channels` (bulk positions / parents).
    pub fn update_channel_positions(
        &mut self,
        actor: UserId,
        gid: GuildId,
        b: &Value,
        reason: Option<&str>,
    ) -> Result<(), ApiError> {
        let Some(items) = b.as_array() else {
            return Err(ApiError::invalid_form(
                "_root",
                "ARRAY_TYPE_CONVERT",
                "Only iterables may be used in a ListType",
            ));
        };
        let g = self.world.guild(gid)?;
        World::require(g, actor, perm::MANAGE_CHANNELS)?;
        let mut plan = Vec::new();
        for item in items {
            let id = body::snowflake(item, "id")?.flatten().ok_or_else(|| {
                ApiError::invalid_form("id", "BASE_TYPE_REQUIRED", "This field is required")
            })?;
            let ch = g.channels.get(&id).ok_or_else(ApiError::unknown_channel)?;
            let position = body::integer(item, "position", 0, 10_000)?;
            let parent = body::snowflake(item, "parent_id")?;
            let lock = body::boolean(item, "lock_permissions")?.unwrap_or(false);
            if let Some(p) = parent
                && p != ch.parent_id
            {
                self.check_parent(g, ch.kind, p, Some(id))?;
            }
            plan.push((id, position, parent, lock));
        }
        let mut updated = Vec::new();
        let g = self.world.guild_mut(gid)?;
        for (id, position, parent, lock) in plan {
            let parent_overwrites = parent
                .flatten()
                .and_then(|p| g.channels.get(&p))
                .map(|p| p.overwrites.clone());
            let Some(ch) = g.channels.get_mut(&id) else {
                continue;
            };
            let old = ch.clone();
            if let Some(p) = position {
                ch.position = p;
            }
            if let Some(p) = parent {
                ch.parent_id = p;
                if let (true, Some(ow)) = (lock, parent_overwrites) {
                    ch.overwrites = ow;
                }
            }
            if old.position != ch.position
                || old.parent_id != ch.parent_id
                || old.overwrites != ch.overwrites
            {
                updated.push((old, ch.clone()));
            }
        }
        for (old, new) in updated {
            self.emit(
                Audience::Guild(gid),
                "CHANNEL_UPDATE",
                &new.json(),
                Some(new.id),
            );
            if old.parent_id != new.parent_id {
                let changes = vec![AuditChange::new(
                    "parent_id",
                    old.parent_id.map(|p| json!(p.to_string())),
                    new.parent_id.map(|p| json!(p.to_string())),
                )];
                self.audit(
                    gid,
                    actor,
                    Some(new.id),
                    audit_action::CHANNEL_UPDATE,
                    changes,
                    None,
                    reason,
                );
            }
        }
        Ok(())
    }

    /// `PUT /channels/{channel_id}/permissions/{overwrite_id}`.
    pub fn put_overwrite(
        &mut self,
        actor: UserId,
        cid: ChannelId,
        target: u64,
        b: &Value,
        reason: Option<&str>,
    ) -> Result<(), ApiError> {
        body::require_object(b)?;
        let gid = self.world.channel_guild_id(cid)?;
        let g = self.world.guild(gid)?;
        let ch = g.channels.get(&cid).ok_or_else(ApiError::unknown_channel)?;
        if !g.members.contains_key(&actor) {
            return Err(ApiError::missing_access());
        }
        let kind = match b.get("type") {
            Some(t) => OverwriteKind::from_value(t).ok_or_else(|| {
                ApiError::invalid_form("type", "BASE_TYPE_CHOICES", "Value must be one of {0, 1}.")
            })?,
            None => {
                return Err(ApiError::invalid_form(
                    "type",
                    "BASE_TYPE_REQUIRED",
                    "This field is required",
                ));
            }
        };
        match kind {
            OverwriteKind::Role if !g.roles.contains_key(&target) => {
                return Err(ApiError::unknown_role());
            }
            OverwriteKind::Member if !self.world.users.contains_key(&target) => {
                return Err(ApiError::unknown_user());
            }
            _ => {}
        }
        let allow = body::permissions(b, "allow")?.unwrap_or(0);
        let deny = body::permissions(b, "deny")?.unwrap_or(0);
        let new = Overwrite {
            id: target,
            kind,
            allow,
            deny,
        };
        let p = World::channel_permissions(g, ch, actor);
        if p & perm::VIEW_CHANNEL == 0 && p != perm::ALL {
            return Err(ApiError::missing_access());
        }
        Self::check_overwrites_grantable(g, actor, Some(ch), std::slice::from_ref(&new))?;
        let g = self.world.guild_mut(gid)?;
        let ch = g
            .channels
            .get_mut(&cid)
            .ok_or_else(ApiError::unknown_channel)?;
        let old = ch.overwrites.clone();
        match ch.overwrites.iter_mut().find(|o| o.id == target) {
            Some(o) => *o = new,
            None => ch.overwrites.push(new),
        }
        let newlist = ch.overwrites.clone();
        let cj = ch.json();
        self.emit(Audience::Guild(gid), "CHANNEL_UPDATE", &cj, Some(cid));
        self.audit_overwrite_diff(gid, actor, cid, &old, &newlist, reason);
        Ok(())
    }

    /// `DELETE /channels/{channel_id}/permissions/{overwrite_id}`.
    pub fn delete_overwrite(
        &mut self,
        actor: UserId,
        cid: ChannelId,
        target: u64,
        reason: Option<&str>,
    ) -> Result<(), ApiError> {
        let gid = self.world.channel_guild_id(cid)?;
        let g = self.world.guild(gid)?;
        let ch = g.channels.get(&cid).ok_or_else(ApiError::unknown_channel)?;
        if !g.members.contains_key(&actor) {
            return Err(ApiError::missing_access());
        }
        let existing = ch
            .overwrites
            .iter()
            .find(|o| o.id == target)
            .cloned()
            .ok_or_else(ApiError::unknown_overwrite)?;
        Self::check_overwrites_grantable(g, actor, Some(ch), std::slice::from_ref(&existing))?;
        let g = self.world.guild_mut(gid)?;
        let ch = g
            .channels
            .get_mut(&cid)
            .ok_or_else(ApiError::unknown_channel)?;
        let old = ch.overwrites.clone();
        ch.overwrites.retain(|o| o.id != target);
        let newlist = ch.overwrites.clone();
        let cj = ch.json();
        self.emit(Audience::Guild(gid), "CHANNEL_UPDATE", &cj, Some(cid));
        self.audit_overwrite_diff(gid, actor, cid, &old, &newlist, reason);
        Ok(())
    }
}
