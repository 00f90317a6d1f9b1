//! Purpose: guild-settings, incident-action, emoji and webhook mutations with Discord's
//! checks, audit entries and dispatches.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::model::*;
use crate::ops_members::parse_ids;
use crate::permissions as perm;
use crate::state::{Audience, State, World, body};

impl State {
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
        // Images: a data URI uploads one, null removes it.
        let mut uploads = Vec::new();
        for (key, slot) in [
            ("icon", &mut s.icon),
            ("banner", &mut s.banner),
            ("splash", &mut s.splash),
            ("discovery_splash", &mut s.discovery_splash),
        ] {
            match b.get(key) {
                None => {}
                Some(Value::Null) => *slot = None,
                Some(Value::String(uri)) => {
                    let (hash, bytes) = decode_image(uri).ok_or_else(|| {
                        ApiError::invalid_form(key, "IMAGE_INVALID", "Invalid image data")
                    })?;
                    uploads.push((hash.clone(), bytes));
                    *slot = Some(hash);
                }
                Some(_) => {
                    return Err(ApiError::invalid_form(
                        key,
                        "IMAGE_INVALID",
                        "Invalid image data",
                    ));
                }
            }
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
        for (hash, bytes) in uploads {
            self.world.images.insert(hash, std::sync::Arc::new(bytes));
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
        let bytes = image
            .split_once(";base64,")
            .and_then(|(_, data)| {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD.decode(data).ok()
            })
            .filter(|b| !b.is_empty() && b.len() <= 256 * 1024)
            .ok_or_else(|| {
                ApiError::invalid_form("image", "IMAGE_INVALID", "Invalid image data")
            })?;
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
            image: std::sync::Arc::new(bytes),
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
            avatar: match b.get("avatar").filter(|v| !v.is_null()) {
                None => None,
                Some(v) => Some(self.upload_image(v, "avatar")?),
            },
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

    /// Keeps an uploaded image (`v`: a data URI) and gives its hash; a bad one is refused
    /// as Discord does (`key` names the field).
    pub(crate) fn upload_image(&mut self, v: &Value, key: &str) -> Result<String, ApiError> {
        let (hash, bytes) = v
            .as_str()
            .and_then(decode_image)
            .ok_or_else(|| ApiError::invalid_form(key, "IMAGE_INVALID", "Invalid image data"))?;
        self.world
            .images
            .insert(hash.clone(), std::sync::Arc::new(bytes));
        Ok(hash)
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
        // A data URI uploads an avatar, null removes it (checked before anything changes).
        let avatar = match b.get("avatar") {
            None => None,
            Some(Value::Null) => Some(None),
            Some(v) => Some(Some(self.upload_image(v, "avatar")?)),
        };
        let w = self
            .world
            .webhooks
            .get_mut(&wid)
            .ok_or_else(ApiError::unknown_webhook)?;
        let mut changes = Vec::new();
        if let Some(a) = avatar
            && a != w.avatar
        {
            changes.push(AuditChange::new(
                "avatar_hash",
                Some(json!(w.avatar)),
                Some(json!(a)),
            ));
            w.avatar = a;
        }
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
