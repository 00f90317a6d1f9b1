//! Purpose: a guild's welcome screen and onboarding as Discord has them — read, and replaced
//! with Manage Server (the onboarding with Manage Roles too; every channel and role they name
//! must be the guild's), each change
//! leaving an audit entry (GUILD_UPDATE for the welcome screen, ONBOARDING_UPDATE for the
//! onboarding), which is how a bot hears of it.

use serde_json::{Value, json};

use crate::error::ApiError;
use crate::model::*;
use crate::ops_members::parse_ids;
use crate::permissions as perm;
use crate::state::{State, World, body};

fn channels_of(g: &Guild, key: &str, v: Option<&Value>) -> Result<Vec<u64>, ApiError> {
    let ids = parse_ids(v);
    if ids.iter().any(|c| !g.channels.contains_key(c)) {
        return Err(body::invalid(key, "Unknown channel."));
    }
    Ok(ids)
}

impl State {
    /// `PATCH /guilds/{guild_id}/welcome-screen`.
    pub fn update_welcome_screen(
        &mut self,
        actor: UserId,
        gid: GuildId,
        b: &Value,
        reason: Option<&str>,
    ) -> Result<Value, ApiError> {
        body::require_object(b)?;
        let g = self.world.guild(gid)?;
        World::require(g, actor, perm::MANAGE_GUILD)?;
        let mut w = g.welcome_screen.clone().unwrap_or_default();
        if let Some(e) = body::boolean(b, "enabled")? {
            w.enabled = e;
        }
        if let Some(d) = body::string(b, "description", 0, 140)? {
            w.description = d;
        }
        if let Some(list) = b.get("welcome_channels").filter(|v| !v.is_null()) {
            let items = list
                .as_array()
                .filter(|a| a.len() <= 5)
                .ok_or_else(|| body::invalid("welcome_channels", "At most 5 channels."))?;
            let mut channels = Vec::new();
            for c in items {
                let id = body::snowflake(c, "channel_id")?
                    .flatten()
                    .filter(|id| g.channels.contains_key(id))
                    .ok_or_else(|| {
                        body::invalid("welcome_channels.channel_id", "Unknown channel.")
                    })?;
                let d = body::string(c, "description", 1, 42)?
                    .flatten()
                    .ok_or_else(|| body::invalid("welcome_channels.description", "Required."))?;
                channels.push((id, d, body::string(c, "emoji_name", 1, 32)?.flatten()));
            }
            w.channels = channels;
        }
        let out = w.json();
        self.world.guild_mut(gid)?.welcome_screen = Some(w);
        self.audit(
            gid,
            actor,
            Some(gid),
            audit_action::GUILD_UPDATE,
            vec![AuditChange::new("welcome_screen", None, Some(out.clone()))],
            None,
            reason,
        );
        Ok(out)
    }

    /// `PUT /guilds/{guild_id}/onboarding`: the prompts given replace the old ones (ids kept
    /// when given and known, new ones otherwise).
    pub fn update_onboarding(
        &mut self,
        actor: UserId,
        gid: GuildId,
        b: &Value,
        reason: Option<&str>,
    ) -> Result<Value, ApiError> {
        body::require_object(b)?;
        let g = self.world.guild(gid)?;
        World::require(g, actor, perm::MANAGE_GUILD | perm::MANAGE_ROLES)?;
        let mut o = g.onboarding.clone();
        if let Some(e) = body::boolean(b, "enabled")? {
            o.enabled = e;
        }
        if let Some(m) = body::integer(b, "mode", 0, 1)? {
            o.mode = m as u8;
        }
        if b.get("default_channel_ids").is_some_and(|v| !v.is_null()) {
            o.default_channel_ids =
                channels_of(g, "default_channel_ids", b.get("default_channel_ids"))?;
        }
        let mut prompts = Vec::new();
        if let Some(list) = b.get("prompts").filter(|v| !v.is_null()) {
            let items = list
                .as_array()
                .filter(|a| a.len() <= 15)
                .ok_or_else(|| body::invalid("prompts", "At most 15 prompts."))?;
            for p in items {
                let title = body::string(p, "title", 1, 100)?
                    .flatten()
                    .ok_or_else(|| body::invalid("prompts.title", "Required."))?;
                let mut options = Vec::new();
                for opt in p
                    .get("options")
                    .and_then(Value::as_array)
                    .filter(|a| !a.is_empty() && a.len() <= 50)
                    .ok_or_else(|| body::invalid("prompts.options", "1 to 50 options."))?
                {
                    let role_ids = parse_ids(opt.get("role_ids"));
                    if role_ids.iter().any(|r| !g.roles.contains_key(r)) {
                        return Err(body::invalid("prompts.options.role_ids", "Unknown role."));
                    }
                    let channel_ids =
                        channels_of(g, "prompts.options.channel_ids", opt.get("channel_ids"))?;
                    options.push(OnboardingOption {
                        id: body::snowflake(opt, "id")?.flatten().unwrap_or(0),
                        title: body::string(opt, "title", 1, 50)?
                            .flatten()
                            .ok_or_else(|| body::invalid("prompts.options.title", "Required."))?,
                        // An empty description is none (as Discord answers it).
                        description: body::string(opt, "description", 0, 100)?
                            .flatten()
                            .filter(|d| !d.is_empty()),
                        emoji_name: body::string(opt, "emoji_name", 1, 32)?.flatten(),
                        role_ids,
                        channel_ids,
                    });
                }
                prompts.push(OnboardingPrompt {
                    id: body::snowflake(p, "id")?.flatten().unwrap_or(0),
                    title,
                    kind: body::integer(p, "type", 0, 1)?.unwrap_or(0) as u8,
                    single_select: body::boolean(p, "single_select")?.unwrap_or(false),
                    required: body::boolean(p, "required")?.unwrap_or(false),
                    in_onboarding: body::boolean(p, "in_onboarding")?.unwrap_or(true),
                    options,
                });
            }
        } else {
            prompts = o.prompts.clone();
        }
        // Ids Discord does not know (or none) are replaced by new ones.
        for p in &mut prompts {
            if p.id == 0 || !o.prompts.iter().any(|x| x.id == p.id) {
                p.id = self.next_id();
            }
            for opt in &mut p.options {
                if opt.id == 0 {
                    opt.id = self.next_id();
                }
            }
        }
        o.prompts = prompts;
        let out = o.json(gid);
        self.world.guild_mut(gid)?.onboarding = o;
        self.audit(
            gid,
            actor,
            Some(gid),
            audit_action::ONBOARDING_UPDATE,
            vec![AuditChange::new("onboarding", None, Some(json!(true)))],
            None,
            reason,
        );
        Ok(out)
    }
}
