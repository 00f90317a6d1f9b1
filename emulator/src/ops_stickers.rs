//! Purpose: guild stickers as Discord has them — upload (multipart: `name`, `description`,
//! `tags`, `file`), edit, delete, with the permission, the limits, GUILD_STICKERS_UPDATE and
//! audit entries; their files are served on the CDN route `/stickers/{id}.png|gif`.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::error::ApiError;
use crate::model::*;
use crate::ops_messages::UploadedFile;
use crate::permissions as perm;
use crate::state::{Audience, State, World, body};

/// Discord's sticker file limit.
const MAX_FILE: usize = 512 * 1024;
/// Stickers per guild (the highest boost tier).
const MAX_STICKERS: usize = 60;

impl State {
    /// `POST /guilds/{guild_id}/stickers`.
    pub fn create_sticker(
        &mut self,
        actor: UserId,
        gid: GuildId,
        b: &Value,
        file: Option<&UploadedFile>,
        reason: Option<&str>,
    ) -> Result<Value, ApiError> {
        body::require_object(b)?;
        let name = body::string(b, "name", 2, 30)?.flatten().ok_or_else(|| {
            ApiError::invalid_form("name", "BASE_TYPE_REQUIRED", "This field is required")
        })?;
        let description = body::string(b, "description", 0, 100)?
            .flatten()
            .filter(|d| !d.is_empty());
        let tags = body::string(b, "tags", 1, 200)?.flatten().ok_or_else(|| {
            ApiError::invalid_form("tags", "BASE_TYPE_REQUIRED", "This field is required")
        })?;
        let file = file.ok_or_else(|| {
            ApiError::invalid_form("file", "BASE_TYPE_REQUIRED", "This field is required")
        })?;
        if file.data.is_empty() || file.data.len() > MAX_FILE {
            return Err(ApiError::invalid_form(
                "file",
                "BINARY_TYPE_MAX_SIZE",
                "Maximum file size exceeded (512 KiB)",
            ));
        }
        let format_type = match file.content_type.as_deref().unwrap_or("image/png") {
            "image/gif" => 4,
            "image/apng" => 2,
            "application/json" => 3,
            _ => 1,
        };
        let id = self.next_id();
        let g = self.world.guild_mut(gid)?;
        let p = World::require(g, actor, 0)?;
        if p & (perm::MANAGE_GUILD_EXPRESSIONS | perm::CREATE_GUILD_EXPRESSIONS) == 0 {
            return Err(ApiError::missing_permissions());
        }
        if g.stickers.len() >= MAX_STICKERS {
            return Err(ApiError::new(
                400,
                30039,
                "Maximum number of stickers reached",
            ));
        }
        let s = Sticker {
            id,
            name,
            description,
            tags,
            format_type,
            creator_id: actor,
            image: Arc::new(file.data.clone()),
        };
        g.stickers.push(s.clone());
        let creator = self.world.users.get(&actor).cloned();
        self.stickers_update(gid);
        self.audit(
            gid,
            actor,
            Some(id),
            audit_action::STICKER_CREATE,
            vec![AuditChange::new("name", None, Some(json!(s.name)))],
            None,
            reason,
        );
        Ok(s.json(gid, creator.as_ref()))
    }

    /// `PATCH /guilds/{guild_id}/stickers/{sticker_id}`: name, description, tags.
    pub fn update_sticker(
        &mut self,
        actor: UserId,
        gid: GuildId,
        sid: u64,
        b: &Value,
        reason: Option<&str>,
    ) -> Result<Value, ApiError> {
        body::require_object(b)?;
        let name = body::string(b, "name", 2, 30)?.flatten();
        let description = body::string(b, "description", 0, 100)?;
        let tags = body::string(b, "tags", 1, 200)?.flatten();
        let g = self.world.guild_mut(gid)?;
        let p = World::require(g, actor, 0)?;
        let s = g
            .stickers
            .iter_mut()
            .find(|s| s.id == sid)
            .ok_or_else(|| ApiError::new(404, 10060, "Unknown sticker"))?;
        if p & perm::MANAGE_GUILD_EXPRESSIONS == 0
            && !(s.creator_id == actor && p & perm::CREATE_GUILD_EXPRESSIONS != 0)
        {
            return Err(ApiError::missing_permissions());
        }
        let mut changes = Vec::new();
        if let Some(n) = name
            && n != s.name
        {
            changes.push(AuditChange::new(
                "name",
                Some(json!(s.name)),
                Some(json!(n)),
            ));
            s.name = n;
        }
        if let Some(d) = description {
            s.description = d.filter(|d| !d.is_empty());
        }
        if let Some(t) = tags {
            s.tags = t;
        }
        let s = s.clone();
        let creator = self.world.users.get(&s.creator_id).cloned();
        self.stickers_update(gid);
        self.audit(
            gid,
            actor,
            Some(sid),
            audit_action::STICKER_UPDATE,
            changes,
            None,
            reason,
        );
        Ok(s.json(gid, creator.as_ref()))
    }

    /// `DELETE /guilds/{guild_id}/stickers/{sticker_id}`.
    pub fn delete_sticker(
        &mut self,
        actor: UserId,
        gid: GuildId,
        sid: u64,
        reason: Option<&str>,
    ) -> Result<(), ApiError> {
        let g = self.world.guild_mut(gid)?;
        let p = World::require(g, actor, 0)?;
        let s = g
            .stickers
            .iter()
            .find(|s| s.id == sid)
            .ok_or_else(|| ApiError::new(404, 10060, "Unknown sticker"))?;
        if p & perm::MANAGE_GUILD_EXPRESSIONS == 0
            && !(s.creator_id == actor && p & perm::CREATE_GUILD_EXPRESSIONS != 0)
        {
            return Err(ApiError::missing_permissions());
        }
        let name = s.name.clone();
        g.stickers.retain(|s| s.id != sid);
        self.stickers_update(gid);
        self.audit(
            gid,
            actor,
            Some(sid),
            audit_action::STICKER_DELETE,
            vec![AuditChange::new("name", Some(json!(name)), None)],
            None,
            reason,
        );
        Ok(())
    }

    fn stickers_update(&mut self, gid: GuildId) {
        let Some(g) = self.world.guilds.get(&gid) else {
            return;
        };
        let stickers: Vec<Value> = g
            .stickers
            .iter()
            .map(|s| s.json(gid, self.world.users.get(&s.creator_id)))
            .collect();
        self.emit(
            Audience::Guild(gid),
            "GUILD_STICKERS_UPDATE",
            &json!({ "guild_id": gid.to_string(), "stickers": stickers }),
            Some(gid),
        );
    }
}
