//! Purpose: guild scheduled events as Discord has them — created (in a voice or stage channel,
//! or external with a location and an end), edited, deleted, with Manage Events, a start in the
//! future, GUILD_SCHEDULED_EVENT_* dispatches and audit entries 100-102.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::model::channel_type::*;
use crate::model::*;
use crate::permissions as perm;
use crate::state::{Audience, State, World, body};

fn time(b: &Value, key: &str) -> Result<Option<Option<DateTime<Utc>>>, ApiError> {
    match b.get(key) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(t)) => DateTime::parse_from_rfc3339(t)
            .map(|t| Some(Some(t.with_timezone(&Utc))))
            .map_err(|_| {
                ApiError::invalid_form(key, "DATE_TIME_TYPE_PARSE", "Not an ISO8601 timestamp.")
            }),
        Some(_) => Err(ApiError::invalid_form(
            key,
            "DATE_TIME_TYPE_PARSE",
            "Not an ISO8601 timestamp.",
        )),
    }
}

/// Checks an event's place: a voice (2) or stage (1) channel of the guild, or an external (3)
/// location with an end.
fn check(g: &Guild, e: &ScheduledEvent) -> Result<(), ApiError> {
    match e.entity_type {
        1 | 2 => {
            let wanted = if e.entity_type == 1 {
                GUILD_STAGE_VOICE
            } else {
                GUILD_VOICE
            };
            if e.channel_id
                .and_then(|c| g.channels.get(&c))
                .is_none_or(|c| c.kind != wanted)
            {
                return Err(body::invalid(
                    "channel_id",
                    "A voice or stage channel of the guild is required.",
                ));
            }
        }
        3 => {
            if e.location.as_deref().is_none_or(str::is_empty) || e.end.is_none() {
                return Err(body::invalid(
                    "entity_metadata",
                    "An external event needs a location and an end.",
                ));
            }
        }
        _ => return Err(body::invalid("entity_type", "Unknown entity type.")),
    }
    if e.end.is_some_and(|end| end <= e.start) {
        return Err(body::invalid(
            "scheduled_end_time",
            "The end must come after the start.",
        ));
    }
    Ok(())
}

impl State {
    /// `POST /guilds/{guild_id}/scheduled-events`.
    pub fn create_scheduled_event(
        &mut self,
        actor: UserId,
        gid: GuildId,
        b: &Value,
        reason: Option<&str>,
    ) -> Result<Value, ApiError> {
        body::require_object(b)?;
        let id = self.next_id();
        let g = self.world.guild(gid)?;
        World::require(g, actor, perm::MANAGE_EVENTS)?;
        let name = body::string(b, "name", 1, 100)?.flatten().ok_or_else(|| {
            ApiError::invalid_form("name", "BASE_TYPE_REQUIRED", "This field is required")
        })?;
        let start = time(b, "scheduled_start_time")?.flatten().ok_or_else(|| {
            ApiError::invalid_form(
                "scheduled_start_time",
                "BASE_TYPE_REQUIRED",
                "This field is required",
            )
        })?;
        if start <= Utc::now() {
            return Err(body::invalid(
                "scheduled_start_time",
                "Cannot schedule event in the past.",
            ));
        }
        let entity_type = body::integer(b, "entity_type", 1, 3)?.unwrap_or(0) as u8;
        let image = match b.get("image").filter(|v| !v.is_null()) {
            Some(v) => Some(self.upload_image(v, "image")?),
            None => None,
        };
        let g = self.world.guild(gid)?;
        let e = ScheduledEvent {
            id,
            name,
            description: body::string(b, "description", 0, 1000)?.flatten(),
            creator_id: actor,
            start,
            end: time(b, "scheduled_end_time")?.flatten(),
            entity_type,
            channel_id: if entity_type == 3 {
                None
            } else {
                body::snowflake(b, "channel_id")?.flatten()
            },
            location: b
                .pointer("/entity_metadata/location")
                .and_then(Value::as_str)
                .map(str::to_owned),
            status: 1,
            image,
        };
        check(g, &e)?;
        self.world.guild_mut(gid)?.scheduled_events.push(e.clone());
        let out = e.json(gid);
        self.emit(
            Audience::Guild(gid),
            "GUILD_SCHEDULED_EVENT_CREATE",
            &out,
            Some(gid),
        );
        self.audit(
            gid,
            actor,
            Some(id),
            audit_action::GUILD_SCHEDULED_EVENT_CREATE,
            vec![AuditChange::new("name", None, Some(json!(e.name)))],
            None,
            reason,
        );
        Ok(out)
    }

    /// `PATCH /guilds/{guild_id}/scheduled-events/{event_id}`.
    pub fn update_scheduled_event(
        &mut self,
        actor: UserId,
        gid: GuildId,
        eid: u64,
        b: &Value,
        reason: Option<&str>,
    ) -> Result<Value, ApiError> {
        body::require_object(b)?;
        World::require(self.world.guild(gid)?, actor, perm::MANAGE_EVENTS)?;
        // A data URI sets the cover image, null removes it.
        let image = match b.get("image") {
            None => None,
            Some(Value::Null) => Some(None),
            Some(v) => Some(Some(self.upload_image(v, "image")?)),
        };
        let g = self.world.guild(gid)?;
        let mut e = g
            .scheduled_events
            .iter()
            .find(|e| e.id == eid)
            .cloned()
            .ok_or_else(|| ApiError::new(404, 10070, "Unknown Guild Scheduled Event"))?;
        if let Some(n) = body::string(b, "name", 1, 100)?.flatten() {
            e.name = n;
        }
        if let Some(d) = body::string(b, "description", 0, 1000)? {
            e.description = d;
        }
        if let Some(Some(t)) = time(b, "scheduled_start_time")? {
            e.start = t;
        }
        if let Some(t) = time(b, "scheduled_end_time")? {
            e.end = t;
        }
        if let Some(t) = body::integer(b, "entity_type", 1, 3)? {
            e.entity_type = t as u8;
        }
        if let Some(c) = body::snowflake(b, "channel_id")? {
            e.channel_id = c;
        }
        if let Some(l) = b
            .pointer("/entity_metadata/location")
            .and_then(Value::as_str)
        {
            e.location = Some(l.to_owned());
        }
        if e.entity_type != 3 {
            e.location = None;
        } else {
            e.channel_id = None;
        }
        if let Some(s) = body::integer(b, "status", 1, 4)? {
            e.status = s as u8;
        }
        if let Some(i) = image {
            e.image = i;
        }
        check(g, &e)?;
        let g = self.world.guild_mut(gid)?;
        if let Some(slot) = g.scheduled_events.iter_mut().find(|x| x.id == eid) {
            *slot = e.clone();
        }
        let out = e.json(gid);
        self.emit(
            Audience::Guild(gid),
            "GUILD_SCHEDULED_EVENT_UPDATE",
            &out,
            Some(gid),
        );
        self.audit(
            gid,
            actor,
            Some(eid),
            audit_action::GUILD_SCHEDULED_EVENT_UPDATE,
            Vec::new(),
            None,
            reason,
        );
        Ok(out)
    }

    /// `DELETE /guilds/{guild_id}/scheduled-events/{event_id}`.
    pub fn delete_scheduled_event(
        &mut self,
        actor: UserId,
        gid: GuildId,
        eid: u64,
        reason: Option<&str>,
    ) -> Result<(), ApiError> {
        let g = self.world.guild_mut(gid)?;
        World::require(g, actor, perm::MANAGE_EVENTS)?;
        let i = g
            .scheduled_events
            .iter()
            .position(|e| e.id == eid)
            .ok_or_else(|| ApiError::new(404, 10070, "Unknown Guild Scheduled Event"))?;
        let e = g.scheduled_events.remove(i);
        self.emit(
            Audience::Guild(gid),
            "GUILD_SCHEDULED_EVENT_DELETE",
            &e.json(gid),
            Some(gid),
        );
        self.audit(
            gid,
            actor,
            Some(eid),
            audit_action::GUILD_SCHEDULED_EVENT_DELETE,
            vec![AuditChange::new("name", Some(json!(e.name)), None)],
            None,
            reason,
        );
        Ok(())
    }
}
