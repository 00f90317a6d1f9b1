//! Purpose: AutoMod rules as Discord has them — create, edit, delete with Manage Server, the
//! per-trigger limits (6 keyword rules, one of each other kind), checked trigger metadata and
//! actions (an alert channel must be a text channel of the guild; exempt roles and channels
//! must exist), AUTO_MODERATION_RULE_* dispatches and audit entries 140-142.

use serde_json::{Value, json};

use crate::error::ApiError;
use crate::model::*;
use crate::ops_members::parse_ids;
use crate::permissions as perm;
use crate::state::{Audience, State, World, body};

/// Rules of one trigger type a guild may have (keyword: 6; every other kind: 1).
fn max_of(trigger_type: u8) -> usize {
    if trigger_type == 1 { 6 } else { 1 }
}

fn strings(
    v: Option<&Value>,
    field: &str,
    max: usize,
    len: usize,
) -> Result<Vec<String>, ApiError> {
    let items = match v {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(a)) => a,
        Some(_) => return Err(body::invalid(field, "Must be a list of strings.")),
    };
    if items.len() > max {
        return Err(body::invalid(
            field,
            &format!("Must have at most {max} items."),
        ));
    }
    items
        .iter()
        .map(|i| match i.as_str() {
            Some(s) if !s.is_empty() && s.chars().count() <= len => Ok(s.to_owned()),
            _ => Err(body::invalid(
                field,
                &format!("Each item must be 1 to {len} characters."),
            )),
        })
        .collect()
}

/// The trigger metadata in Discord's response shape for `trigger_type`.
fn trigger_metadata(trigger_type: u8, v: Option<&Value>) -> Result<Value, ApiError> {
    let empty = json!({});
    let m = match v {
        None | Some(Value::Null) => &empty,
        Some(m @ Value::Object(_)) => m,
        Some(_) => return Err(body::invalid("trigger_metadata", "Must be an object.")),
    };
    Ok(match trigger_type {
        1 | 6 => json!({
            "keyword_filter": strings(m.get("keyword_filter"), "trigger_metadata.keyword_filter", 1000, 60)?,
            "regex_patterns": strings(m.get("regex_patterns"), "trigger_metadata.regex_patterns", 10, 260)?,
            "allow_list": strings(m.get("allow_list"), "trigger_metadata.allow_list", 100, 60)?,
        }),
        4 => {
            let mut presets: Vec<u64> = match m.get("presets") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|p| match p.as_u64() {
                        Some(p @ 1..=3) => Ok(p),
                        _ => Err(body::invalid(
                            "trigger_metadata.presets",
                            "Unknown keyword preset.",
                        )),
                    })
                    .collect::<Result<_, _>>()?,
                Some(_) => {
                    return Err(body::invalid("trigger_metadata.presets", "Must be a list."));
                }
            };
            presets.sort_unstable();
            presets.dedup();
            json!({
                "presets": presets,
                "allow_list": strings(m.get("allow_list"), "trigger_metadata.allow_list", 1000, 60)?,
            })
        }
        5 => json!({
            "mention_total_limit": body::integer(m, "mention_total_limit", 1, 50)?.unwrap_or(20),
            "mention_raid_protection_enabled":
                body::boolean(m, "mention_raid_protection_enabled")?.unwrap_or(false),
        }),
        _ => json!({}),
    })
}

/// The actions in Discord's response shape; an alert channel must be a text channel here.
fn actions(g: &Guild, trigger_type: u8, v: Option<&Value>) -> Result<Vec<Value>, ApiError> {
    let items = match v {
        Some(Value::Array(a)) if !a.is_empty() && a.len() <= 5 => a,
        _ => return Err(body::invalid("actions", "Must have 1 to 5 actions.")),
    };
    items
        .iter()
        .map(|a| {
            let m = a.get("metadata").cloned().unwrap_or(Value::Null);
            let m = if m.is_object() { m } else { json!({}) };
            match a.get("type").and_then(Value::as_u64) {
                Some(1) => {
                    let custom = body::string(&m, "custom_message", 0, 300)?.flatten();
                    Ok(match custom {
                        Some(c) => json!({ "type": 1, "metadata": { "custom_message": c } }),
                        None => json!({ "type": 1, "metadata": {} }),
                    })
                }
                Some(2) => {
                    let channel = body::snowflake(&m, "channel_id")?
                        .flatten()
                        .filter(|c| g.channels.get(c).is_some_and(|ch| matches!(ch.kind, 0 | 5)))
                        .ok_or_else(|| {
                            body::invalid(
                                "actions.metadata.channel_id",
                                "Unknown or unsuitable channel.",
                            )
                        })?;
                    Ok(json!({ "type": 2, "metadata": { "channel_id": channel.to_string() } }))
                }
                Some(3) if matches!(trigger_type, 1 | 5) => {
                    let secs = body::integer(&m, "duration_seconds", 0, 2_419_200)?.unwrap_or(60);
                    Ok(json!({ "type": 3, "metadata": { "duration_seconds": secs } }))
                }
                Some(4) if trigger_type == 6 => Ok(json!({ "type": 4, "metadata": {} })),
                _ => Err(body::invalid(
                    "actions.type",
                    "Action not allowed for this trigger.",
                )),
            }
        })
        .collect()
}

/// Exempt roles and channels given in a body (`None`: not given).
type Exempt = (Option<Vec<u64>>, Option<Vec<u64>>);

fn exempt(g: &Guild, b: &Value) -> Result<Exempt, ApiError> {
    let roles = match b.get("exempt_roles") {
        None | Some(Value::Null) => None,
        v => {
            let ids = parse_ids(v);
            if ids.len() > 20 || ids.iter().any(|r| !g.roles.contains_key(r)) {
                return Err(body::invalid(
                    "exempt_roles",
                    "Unknown role or more than 20 roles.",
                ));
            }
            Some(ids)
        }
    };
    let channels = match b.get("exempt_channels") {
        None | Some(Value::Null) => None,
        v => {
            let ids = parse_ids(v);
            if ids.len() > 50 || ids.iter().any(|c| !g.channels.contains_key(c)) {
                return Err(body::invalid(
                    "exempt_channels",
                    "Unknown channel or more than 50 channels.",
                ));
            }
            Some(ids)
        }
    };
    Ok((roles, channels))
}

fn event_type(b: &Value, trigger_type: u8) -> Result<Option<u8>, ApiError> {
    match body::integer(b, "event_type", 1, 2)? {
        None => Ok(None),
        Some(1) if trigger_type != 6 => Ok(Some(1)),
        Some(2) if trigger_type == 6 => Ok(Some(2)),
        Some(_) => Err(body::invalid(
            "event_type",
            "Event type not allowed for this trigger.",
        )),
    }
}

impl State {
    /// `POST /guilds/{guild_id}/auto-moderation/rules`.
    pub fn create_automod_rule(
        &mut self,
        actor: UserId,
        gid: GuildId,
        b: &Value,
        reason: Option<&str>,
    ) -> Result<Value, ApiError> {
        body::require_object(b)?;
        let id = self.next_id();
        let g = self.world.guild_mut(gid)?;
        World::require(g, actor, perm::MANAGE_GUILD)?;
        let name = body::string(b, "name", 1, 100)?.flatten().ok_or_else(|| {
            ApiError::invalid_form("name", "BASE_TYPE_REQUIRED", "This field is required")
        })?;
        let trigger_type = match body::integer(b, "trigger_type", 1, 6)? {
            Some(t @ (1 | 3 | 4 | 5 | 6)) => t as u8,
            Some(_) => return Err(body::invalid("trigger_type", "Unknown trigger type.")),
            None => {
                return Err(ApiError::invalid_form(
                    "trigger_type",
                    "BASE_TYPE_REQUIRED",
                    "This field is required",
                ));
            }
        };
        let event_type = event_type(b, trigger_type)?.ok_or_else(|| {
            ApiError::invalid_form("event_type", "BASE_TYPE_REQUIRED", "This field is required")
        })?;
        let trigger_metadata = trigger_metadata(trigger_type, b.get("trigger_metadata"))?;
        let actions = actions(g, trigger_type, b.get("actions"))?;
        let (roles, channels) = exempt(g, b)?;
        if g.automod
            .iter()
            .filter(|r| r.trigger_type == trigger_type)
            .count()
            >= max_of(trigger_type)
        {
            return Err(ApiError::invalid_form(
                "trigger_type",
                "AUTO_MODERATION_MAX_RULES_OF_TYPE_EXCEEDED",
                "Maximum number of rules of this type reached",
            ));
        }
        let rule = AutoModRule {
            id,
            name,
            creator_id: actor,
            event_type,
            trigger_type,
            trigger_metadata,
            actions,
            enabled: body::boolean(b, "enabled")?.unwrap_or(false),
            exempt_roles: roles.unwrap_or_default(),
            exempt_channels: channels.unwrap_or_default(),
        };
        g.automod.push(rule.clone());
        let out = rule.json(gid);
        self.emit(
            Audience::Guild(gid),
            "AUTO_MODERATION_RULE_CREATE",
            &out,
            Some(gid),
        );
        self.audit(
            gid,
            actor,
            Some(id),
            audit_action::AUTO_MODERATION_RULE_CREATE,
            vec![AuditChange::new("name", None, Some(json!(rule.name)))],
            None,
            reason,
        );
        Ok(out)
    }

    /// `PATCH /guilds/{guild_id}/auto-moderation/rules/{rule_id}` (the trigger type stays).
    pub fn update_automod_rule(
        &mut self,
        actor: UserId,
        gid: GuildId,
        rid: u64,
        b: &Value,
        reason: Option<&str>,
    ) -> Result<Value, ApiError> {
        body::require_object(b)?;
        let g = self.world.guild_mut(gid)?;
        World::require(g, actor, perm::MANAGE_GUILD)?;
        let index = g
            .automod
            .iter()
            .position(|r| r.id == rid)
            .ok_or_else(|| ApiError::new(404, 10066, "Unknown auto moderation rule"))?;
        let trigger_type = g.automod[index].trigger_type;
        let name = body::string(b, "name", 1, 100)?.flatten();
        let event_type = event_type(b, trigger_type)?;
        let metadata = match b.get("trigger_metadata") {
            None => None,
            v => Some(trigger_metadata(trigger_type, v)?),
        };
        let new_actions = match b.get("actions") {
            None | Some(Value::Null) => None,
            v => Some(actions(g, trigger_type, v)?),
        };
        let (roles, channels) = exempt(g, b)?;
        let enabled = body::boolean(b, "enabled")?;
        let r = &mut g.automod[index];
        let mut changes = Vec::new();
        if let Some(n) = name
            && n != r.name
        {
            changes.push(AuditChange::new(
                "name",
                Some(json!(r.name)),
                Some(json!(n)),
            ));
            r.name = n;
        }
        if let Some(e) = enabled
            && e != r.enabled
        {
            changes.push(AuditChange::new(
                "enabled",
                Some(json!(r.enabled)),
                Some(json!(e)),
            ));
            r.enabled = e;
        }
        if let Some(e) = event_type {
            r.event_type = e;
        }
        if let Some(m) = metadata {
            r.trigger_metadata = m;
        }
        if let Some(a) = new_actions {
            r.actions = a;
        }
        if let Some(roles) = roles {
            r.exempt_roles = roles;
        }
        if let Some(channels) = channels {
            r.exempt_channels = channels;
        }
        let out = r.json(gid);
        self.emit(
            Audience::Guild(gid),
            "AUTO_MODERATION_RULE_UPDATE",
            &out,
            Some(gid),
        );
        self.audit(
            gid,
            actor,
            Some(rid),
            audit_action::AUTO_MODERATION_RULE_UPDATE,
            changes,
            None,
            reason,
        );
        Ok(out)
    }

    /// `DELETE /guilds/{guild_id}/auto-moderation/rules/{rule_id}`.
    pub fn delete_automod_rule(
        &mut self,
        actor: UserId,
        gid: GuildId,
        rid: u64,
        reason: Option<&str>,
    ) -> Result<(), ApiError> {
        let g = self.world.guild_mut(gid)?;
        World::require(g, actor, perm::MANAGE_GUILD)?;
        let index = g
            .automod
            .iter()
            .position(|r| r.id == rid)
            .ok_or_else(|| ApiError::new(404, 10066, "Unknown auto moderation rule"))?;
        let rule = g.automod.remove(index);
        self.emit(
            Audience::Guild(gid),
            "AUTO_MODERATION_RULE_DELETE",
            &rule.json(gid),
            Some(gid),
        );
        self.audit(
            gid,
            actor,
            Some(rid),
            audit_action::AUTO_MODERATION_RULE_DELETE,
            vec![AuditChange::new("name", Some(json!(rule.name)), None)],
            None,
            reason,
        );
        Ok(())
    }
}
