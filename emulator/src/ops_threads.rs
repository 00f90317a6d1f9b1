//! Purpose: threads as Discord has them — created in a text or announcement channel, or as a
//! forum post (with its starter message, whose id is the thread's, and tags of the forum),
//! edited (name, archive state, lock, auto-archive, slowmode, tags, pin), deleted, listed
//! (active of a guild; archived public of a channel, newest first, by `before`), with the
//! permissions, THREAD_* dispatches and audit entries 110-112. An archived thread takes no
//! change but being unarchived (50083), a locked one none without Manage Threads.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::model::channel_type::*;
use crate::model::*;
use crate::ops_members::parse_ids;
use crate::ops_messages::MessageOrigin;
use crate::permissions as perm;
use crate::state::{Audience, State, World, body};

const DURATIONS: [i64; 4] = [60, 1440, 4320, 10080];
const GUILD_MEDIA: u8 = 16;

fn duration(b: &Value) -> Result<Option<u32>, ApiError> {
    match body::integer(b, "auto_archive_duration", 60, 10080)? {
        None => Ok(None),
        Some(d) if DURATIONS.contains(&d) => Ok(u32::try_from(d).ok()),
        Some(_) => Err(ApiError::invalid_form(
            "auto_archive_duration",
            "BASE_TYPE_CHOICES",
            "Value must be one of {60, 1440, 4320, 10080}.",
        )),
    }
}

/// Tags of the parent forum named by `b.applied_tags` (at most 5, each one of the forum's).
fn tags(parent: &Channel, b: &Value) -> Result<Option<Vec<u64>>, ApiError> {
    if b.get("applied_tags").is_none_or(Value::is_null) {
        return Ok(None);
    }
    let ids = parse_ids(b.get("applied_tags"));
    if ids.len() > 5
        || ids
            .iter()
            .any(|t| !parent.available_tags.iter().any(|x| x.id == *t))
    {
        return Err(ApiError::invalid_form(
            "applied_tags",
            "BASE_TYPE_INVALID",
            "Unknown tag or more than 5 tags.",
        ));
    }
    Ok(Some(ids))
}

impl State {
    /// The guild and thread of `id` if it is a thread.
    pub fn thread_of(&self, id: ChannelId) -> Option<(&Guild, &Thread)> {
        let gid = self.world.channel_guild.get(&id)?;
        let g = self.world.guilds.get(gid)?;
        Some((g, g.threads.get(&id)?))
    }

    /// `POST /channels/{channel_id}/threads`: a thread without a message in a text or
    /// announcement channel, or a post (with `message`) in a forum or media channel.
    pub fn create_thread(
        &mut self,
        actor: UserId,
        parent_id: ChannelId,
        b: &Value,
        reason: Option<&str>,
    ) -> Result<Value, ApiError> {
        body::require_object(b)?;
        let gid = self.world.channel_guild_id(parent_id)?;
        let name = body::string(b, "name", 1, 100)?.flatten().ok_or_else(|| {
            ApiError::invalid_form("name", "BASE_TYPE_REQUIRED", "This field is required")
        })?;
        let auto_archive = duration(b)?;
        let slowmode = body::integer(b, "rate_limit_per_user", 0, 21600)?;
        let invitable = body::boolean(b, "invitable")?.unwrap_or(true);
        let g = self.world.guild(gid)?;
        let parent = g
            .channels
            .get(&parent_id)
            .ok_or_else(ApiError::unknown_channel)?;
        let forum = matches!(parent.kind, GUILD_FORUM | GUILD_MEDIA);
        let kind = match (parent.kind, body::integer(b, "type", 10, 12)?) {
            (GUILD_FORUM | GUILD_MEDIA, _) => 11,
            (GUILD_ANNOUNCEMENT, None | Some(10)) => 10,
            (GUILD_TEXT, None | Some(11)) => 11,
            (GUILD_TEXT, Some(12)) => 12,
            _ => {
                return Err(ApiError::new(
                    400,
                    50024,
                    "Cannot execute action on this channel type",
                ));
            }
        };
        let needed = match kind {
            12 => perm::CREATE_PRIVATE_THREADS,
            _ if forum => perm::SEND_MESSAGES,
            _ => perm::CREATE_PUBLIC_THREADS,
        };
        World::require_in_channel(g, parent, actor, needed)?;
        let applied = if forum { tags(parent, b)? } else { None };
        let default_archive = parent.default_auto_archive_duration.unwrap_or(4320);
        let message = match (forum, b.get("message")) {
            (true, Some(m)) if m.is_object() => Some(self.parse_message(m, Vec::new())?),
            (true, _) => {
                return Err(ApiError::invalid_form(
                    "message",
                    "BASE_TYPE_REQUIRED",
                    "This field is required",
                ));
            }
            (false, _) => None,
        };
        let id = self.next_id();
        let thread = Thread {
            id,
            guild_id: gid,
            parent_id,
            kind,
            name,
            owner_id: actor,
            archived: false,
            archive_timestamp: None,
            locked: false,
            auto_archive_duration: auto_archive.unwrap_or(default_archive),
            invitable,
            rate_limit_per_user: slowmode.and_then(|s| u32::try_from(s).ok()).unwrap_or(0),
            applied_tags: applied.unwrap_or_default(),
            flags: 0,
            message_count: u32::from(message.is_some()),
            created_at: Utc::now(),
        };
        self.world.channel_guild.insert(id, gid);
        self.world
            .guild_mut(gid)?
            .threads
            .insert(id, thread.clone());
        let mut out = thread.json();
        if let Some(parts) = message {
            let origin = MessageOrigin {
                author_id: actor,
                application_id: self.world.app_by_bot.get(&actor).copied(),
                ..Default::default()
            };
            let m = self.insert_message_with_id(id, id, origin, parts)?;
            out["message"] = m;
        }
        let mut d = thread.json();
        d["newly_created"] = json!(true);
        self.emit(Audience::Guild(gid), "THREAD_CREATE", &d, Some(id));
        self.audit(
            gid,
            actor,
            Some(id),
            audit_action::THREAD_CREATE,
            vec![AuditChange::new("name", None, Some(json!(thread.name)))],
            None,
            reason,
        );
        Ok(out)
    }

    /// `PATCH /channels/{thread_id}`.
    pub fn update_thread(
        &mut self,
        actor: UserId,
        id: ChannelId,
        b: &Value,
        reason: Option<&str>,
    ) -> Result<Value, ApiError> {
        body::require_object(b)?;
        let gid = self.world.channel_guild_id(id)?;
        let name = body::string(b, "name", 1, 100)?.flatten();
        let archived = body::boolean(b, "archived")?;
        let locked = body::boolean(b, "locked")?;
        let auto_archive = duration(b)?;
        let slowmode = body::integer(b, "rate_limit_per_user", 0, 21600)?;
        let invitable = body::boolean(b, "invitable")?;
        let flags = body::integer(b, "flags", 0, 1 << 20)?;
        let g = self.world.guild(gid)?;
        let t = g.threads.get(&id).ok_or_else(ApiError::unknown_channel)?;
        let parent = g
            .channels
            .get(&t.parent_id)
            .ok_or_else(ApiError::unknown_channel)?;
        let p = World::channel_permissions(g, parent, actor);
        let manage = p & (perm::MANAGE_THREADS | perm::ADMINISTRATOR) != 0;
        // A moderator may change any thread; its owner one that is not locked.
        if !manage && (t.owner_id != actor || t.locked) {
            return Err(ApiError::missing_permissions());
        }
        let others = name.is_some()
            || auto_archive.is_some()
            || slowmode.is_some()
            || invitable.is_some()
            || flags.is_some()
            || b.get("applied_tags").is_some_and(|v| !v.is_null());
        if t.archived && archived != Some(false) && (others || locked.is_some()) {
            return Err(ApiError::new(400, 50083, "Thread is archived"));
        }
        let applied = tags(parent, b)?;
        let g = self.world.guild_mut(gid)?;
        let Some(t) = g.threads.get_mut(&id) else {
            return Err(ApiError::unknown_channel());
        };
        let mut changes = Vec::new();
        if let Some(n) = name
            && n != t.name
        {
            changes.push(AuditChange::new(
                "name",
                Some(json!(t.name)),
                Some(json!(n)),
            ));
            t.name = n;
        }
        if let Some(a) = archived
            && a != t.archived
        {
            changes.push(AuditChange::new(
                "archived",
                Some(json!(t.archived)),
                Some(json!(a)),
            ));
            t.archived = a;
            t.archive_timestamp = Some(Utc::now());
        }
        if let Some(l) = locked {
            t.locked = l;
        }
        if let Some(d) = auto_archive {
            t.auto_archive_duration = d;
        }
        if let Some(s) = slowmode {
            t.rate_limit_per_user = u32::try_from(s).unwrap_or(0);
        }
        if let Some(i) = invitable {
            t.invitable = i;
        }
        if let Some(f) = flags {
            t.flags = u32::try_from(f).unwrap_or(0) & 2;
        }
        if let Some(a) = applied {
            t.applied_tags = a;
        }
        let out = t.json();
        self.emit(Audience::Guild(gid), "THREAD_UPDATE", &out, Some(id));
        self.audit(
            gid,
            actor,
            Some(id),
            audit_action::THREAD_UPDATE,
            changes,
            None,
            reason,
        );
        Ok(out)
    }

    /// `DELETE /channels/{thread_id}` (Manage Threads).
    pub fn delete_thread(
        &mut self,
        actor: UserId,
        id: ChannelId,
        reason: Option<&str>,
    ) -> Result<Value, ApiError> {
        let gid = self.world.channel_guild_id(id)?;
        let g = self.world.guild(gid)?;
        let t = g.threads.get(&id).ok_or_else(ApiError::unknown_channel)?;
        let parent = g
            .channels
            .get(&t.parent_id)
            .ok_or_else(ApiError::unknown_channel)?;
        World::require_in_channel(g, parent, actor, perm::MANAGE_THREADS)?;
        let g = self.world.guild_mut(gid)?;
        let t = g
            .threads
            .remove(&id)
            .ok_or_else(ApiError::unknown_channel)?;
        self.world.channel_guild.remove(&id);
        let out = t.json();
        self.emit(
            Audience::Guild(gid),
            "THREAD_DELETE",
            &json!({
                "id": id.to_string(),
                "guild_id": gid.to_string(),
                "parent_id": t.parent_id.to_string(),
                "type": t.kind,
            }),
            Some(id),
        );
        self.audit(
            gid,
            actor,
            Some(id),
            audit_action::THREAD_DELETE,
            vec![AuditChange::new("name", Some(json!(t.name)), None)],
            None,
            reason,
        );
        Ok(out)
    }

    /// `GET /guilds/{guild_id}/threads/active`.
    pub fn active_threads(&self, actor: UserId, gid: GuildId) -> Result<Value, ApiError> {
        let g = self.world.guild(gid)?;
        World::require(g, actor, 0)?;
        Ok(json!({
            "threads": g.threads.values().filter(|t| !t.archived).map(Thread::json).collect::<Vec<_>>(),
            "members": [],
            "has_more": false,
        }))
    }

    /// `GET /channels/{channel_id}/threads/archived/public`: newest archive first, those
    /// archived before `before`, `limit` (2 to 100, default 50) at a time.
    pub fn archived_threads(
        &self,
        actor: UserId,
        parent_id: ChannelId,
        before: Option<DateTime<Utc>>,
        limit: usize,
    ) -> Result<Value, ApiError> {
        let gid = self.world.channel_guild_id(parent_id)?;
        let g = self.world.guild(gid)?;
        let parent = g
            .channels
            .get(&parent_id)
            .ok_or_else(ApiError::unknown_channel)?;
        World::require_in_channel(g, parent, actor, perm::READ_MESSAGE_HISTORY)?;
        let mut list: Vec<&Thread> = g
            .threads
            .values()
            .filter(|t| t.parent_id == parent_id && t.archived && t.kind != 12)
            .filter(|t| before.is_none_or(|b| t.archive_timestamp.is_some_and(|a| a < b)))
            .collect();
        list.sort_by(|a, b| {
            b.archive_timestamp
                .cmp(&a.archive_timestamp)
                .then(b.id.cmp(&a.id))
        });
        let limit = limit.clamp(2, 100);
        let has_more = list.len() > limit;
        Ok(json!({
            "threads": list.iter().take(limit).map(|t| t.json()).collect::<Vec<_>>(),
            "members": [],
            "has_more": has_more,
        }))
    }
}
