//! Purpose: DM channels and messages (guild channels, DMs, webhooks, interaction replies),
//! including uploaded attachments kept in memory.

use std::sync::Arc;

use chrono::Utc;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::model::*;
use crate::permissions as perm;
use crate::state::{Audience, State, World, body};

/// A file part of a multipart request.
#[derive(Debug, Clone)]
pub struct UploadedFile {
    pub field: String,
    pub filename: String,
    pub content_type: Option<String>,
    pub data: Vec<u8>,
}

/// Who a new message is from and what it answers.
#[derive(Debug, Clone, Default)]
pub struct MessageOrigin {
    pub author_id: UserId,
    pub webhook_id: Option<WebhookId>,
    pub application_id: Option<ApplicationId>,
    pub interaction: Option<MessageInteractionInfo>,
    pub kind: u8,
}

/// The content of a message body.
#[derive(Debug, Clone, Default)]
pub struct MessageParts {
    pub content: Option<String>,
    pub embeds: Option<Vec<Value>>,
    pub components: Option<Vec<Value>>,
    pub flags: Option<u64>,
    /// Attachments to keep (by id) when editing; None = keep all.
    pub keep_attachments: Option<Vec<AttachmentId>>,
    pub new_attachments: Vec<Attachment>,
    pub nonce: Option<String>,
    pub enforce_nonce: bool,
    /// A webhook execution's `username` and `avatar_url`.
    pub webhook_author: Option<WebhookAuthor>,
}

impl MessageParts {
    pub fn is_empty(&self) -> bool {
        self.content.as_deref().is_none_or(str::is_empty)
            && self.embeds.as_ref().is_none_or(Vec::is_empty)
            && self.components.as_ref().is_none_or(Vec::is_empty)
            && self.new_attachments.is_empty()
    }
}

impl State {
    /// Parses a message body (JSON or multipart `payload_json` + files).
    pub fn parse_message(
        &mut self,
        b: &Value,
        files: Vec<UploadedFile>,
    ) -> Result<MessageParts, ApiError> {
        let b = if b.is_null() { &json!({}) } else { b };
        body::require_object(b)?;
        let content = body::string(b, "content", 0, 2000)?.map(Option::unwrap_or_default);
        let embeds = match b.get("embeds") {
            None | Some(Value::Null) => None,
            Some(v @ Value::Array(a)) => {
                if a.len() > 10 {
                    return Err(ApiError::invalid_form(
                        "embeds",
                        "BASE_TYPE_MAX_LENGTH",
                        "Must be 10 or fewer in length.",
                    ));
                }
                Some(normalize_embeds(v))
            }
            Some(_) => {
                return Err(ApiError::invalid_form(
                    "embeds",
                    "ARRAY_TYPE_CONVERT",
                    "Only iterables may be used in a ListType",
                ));
            }
        };
        let components = match b.get("components") {
            None | Some(Value::Null) => None,
            Some(v @ Value::Array(a)) => {
                if a.len() > 5 {
                    return Err(ApiError::invalid_form(
                        "components",
                        "BASE_TYPE_MAX_LENGTH",
                        "Must be 5 or fewer in length.",
                    ));
                }
                Some(normalize_components(v))
            }
            Some(_) => {
                return Err(ApiError::invalid_form(
                    "components",
                    "ARRAY_TYPE_CONVERT",
                    "Only iterables may be used in a ListType",
                ));
            }
        };
        let flags = body::integer(b, "flags", 0, 1 << 20)?.map(|f| f as u64);
        let meta: Vec<Value> = b
            .get("attachments")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut keep = Vec::new();
        let mut new_attachments = Vec::new();
        for (i, f) in files.into_iter().enumerate() {
            // `files[n]` matches the attachment whose `id` is n.
            let idx = f
                .field
                .strip_prefix("files[")
                .and_then(|s| s.strip_suffix(']'))
                .and_then(|s| s.parse::<u64>().ok())
                .unwrap_or(i as u64);
            let m = meta.iter().find(|m| {
                m.get("id").and_then(|v| {
                    v.as_u64()
                        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                }) == Some(idx)
            });
            let filename = m
                .and_then(|m| m.get("filename").and_then(Value::as_str))
                .map(str::to_string)
                .unwrap_or_else(|| f.filename.clone());
            let description = m
                .and_then(|m| m.get("description").and_then(Value::as_str))
                .map(str::to_string);
            let id = self.next_id();
            new_attachments.push(Attachment {
                id,
                filename,
                content_type: f
                    .content_type
                    .clone()
                    .or_else(|| Some(guess_content_type(&f.filename))),
                description,
                data: Arc::new(f.data),
            });
        }
        let keep_attachments = if b.get("attachments").is_some() {
            for m in &meta {
                if let Some(id) = m.get("id").and_then(|v| {
                    v.as_str()
                        .and_then(crate::snowflake::parse)
                        .or_else(|| v.as_u64())
                }) {
                    keep.push(id);
                }
            }
            Some(keep)
        } else {
            None
        };
        let nonce = match b.get("nonce") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        Ok(MessageParts {
            content,
            embeds,
            components,
            flags,
            keep_attachments,
            new_attachments,
            nonce,
            enforce_nonce: body::boolean(b, "enforce_nonce")?.unwrap_or(false),
            webhook_author: None,
        })
    }

    /// Renders a stored message as `reader` reads it: without the Message Content intent a
    /// bot gets no content, embeds, attachments or components of messages that are not its
    /// own, not in a DM and do not mention it (as Discord).
    pub fn message_json_for(&self, reader: UserId, m: &Message) -> Value {
        let mut v = self.message_json(m);
        let allowed = self
            .world
            .app_by_bot
            .get(&reader)
            .and_then(|a| self.world.apps.get(a))
            .is_none_or(|a| a.options.message_content_intent);
        let mentioned = m.content.contains(&format!("<@{reader}>"));
        if !allowed && m.author_id != reader && m.guild_id.is_some() && !mentioned {
            v["content"] = json!("");
            v["embeds"] = json!([]);
            v["attachments"] = json!([]);
            v["components"] = json!([]);
        }
        v
    }

    /// Renders a stored message.
    pub fn message_json(&self, m: &Message) -> Value {
        let author = match m
            .webhook_id
            .filter(|w| Some(*w) != m.application_id)
            .and_then(|w| self.world.webhooks.get(&w))
        {
            Some(w) => User {
                id: w.id,
                username: w.name.clone(),
                global_name: None,
                bot: true,
                dms_open: false,
                locale: "en-US".to_string(),
                email: None,
                avatar: w.avatar.clone(),
            },
            None => self.world.users.get(&m.author_id).cloned().unwrap_or(User {
                id: m.author_id,
                username: "Deleted User".to_string(),
                global_name: None,
                bot: false,
                dms_open: false,
                locale: "en-US".to_string(),
                email: None,
                avatar: None,
            }),
        };
        let iu = m
            .interaction
            .as_ref()
            .and_then(|i| self.world.users.get(&i.user_id));
        let mut v = m.json(&author, iu, &self.base_url);
        // A webhook message shows the name and avatar it was sent with (the avatar as the
        // hash of the copy Discord keeps).
        if let Some(w) = &m.webhook_author {
            if let Some(name) = &w.username {
                v["author"]["username"] = json!(name);
            }
            if let Some(url) = &w.avatar_url {
                use sha2::Digest as _;
                let hash: String = sha2::Sha256::digest(url.as_bytes())
                    .iter()
                    .take(16)
                    .map(|b| format!("{b:02x}"))
                    .collect();
                v["author"]["avatar"] = json!(hash);
            }
        }
        v
    }

    /// Stores a new message and dispatches MESSAGE_CREATE (not for ephemeral messages).
    pub fn insert_message(
        &mut self,
        channel_id: ChannelId,
        origin: MessageOrigin,
        parts: MessageParts,
    ) -> Result<Value, ApiError> {
        if parts.is_empty() {
            return Err(ApiError::new(400, 50006, "Cannot send an empty message"));
        }
        if let (true, Some(n)) = (parts.enforce_nonce, &parts.nonce)
            && let Some(existing) =
                self.world
                    .nonces
                    .get(&(channel_id, origin.author_id, n.clone()))
            && let Some(m) = self.world.messages.get(existing)
        {
            return Ok(self.message_json(m));
        }
        let id = self.next_id();
        self.insert_message_with_id(channel_id, id, origin, parts)
    }

    /// Stores a new message with a given id (a forum post's starter message has its thread's)
    /// and dispatches MESSAGE_CREATE (not for ephemeral messages).
    pub fn insert_message_with_id(
        &mut self,
        channel_id: ChannelId,
        id: MessageId,
        origin: MessageOrigin,
        parts: MessageParts,
    ) -> Result<Value, ApiError> {
        if parts.is_empty() {
            return Err(ApiError::new(400, 50006, "Cannot send an empty message"));
        }
        let guild_id = self.world.channel_guild.get(&channel_id).copied();
        let msg = Message {
            id,
            channel_id,
            guild_id,
            author_id: origin.author_id,
            content: parts.content.unwrap_or_default(),
            embeds: parts.embeds.unwrap_or_default(),
            components: parts.components.unwrap_or_default(),
            attachments: parts.new_attachments,
            flags: parts.flags.unwrap_or(0) & (64 | 4 | 4096 | 32768),
            kind: origin.kind,
            timestamp: Utc::now(),
            edited_timestamp: None,
            webhook_id: origin.webhook_id,
            application_id: origin.application_id,
            interaction: origin.interaction,
            deleted: false,
            pinned_at: None,
            webhook_author: parts.webhook_author,
        };
        for a in &msg.attachments {
            self.world.attachment_index.insert(a.id, (channel_id, id));
        }
        if let Some(n) = parts.nonce {
            self.world
                .nonces
                .insert((channel_id, origin.author_id, n), id);
        }
        let ephemeral = msg.ephemeral();
        let mut mj = self.message_json(&msg);
        self.world
            .channel_messages
            .entry(channel_id)
            .or_default()
            .push(id);
        self.world.messages.insert(id, msg);
        if !ephemeral {
            if let Some(g) = guild_id {
                if let Some(ch) = self
                    .world
                    .guilds
                    .get_mut(&g)
                    .and_then(|g| g.channels.get_mut(&channel_id))
                {
                    ch.last_message_id = Some(id);
                }
                let mut d = mj.clone();
                d["guild_id"] = json!(g.to_string());
                self.emit(Audience::Guild(g), "MESSAGE_CREATE", &d, Some(id));
            } else if let Some(dm) = self.world.dms.get_mut(&channel_id) {
                dm.last_message_id = Some(id);
                self.emit(Audience::Dm(channel_id), "MESSAGE_CREATE", &mj, Some(id));
            }
        }
        if ephemeral {
            mj["flags"] = json!(mj["flags"].as_u64().unwrap_or(0) | 64);
        }
        Ok(mj)
    }

    /// Edits a stored message and dispatches MESSAGE_UPDATE (not for ephemeral messages).
    pub fn edit_message(&mut self, id: MessageId, parts: MessageParts) -> Result<Value, ApiError> {
        let msg = self
            .world
            .messages
            .get_mut(&id)
            .filter(|m| !m.deleted)
            .ok_or_else(ApiError::unknown_message)?;
        if let Some(c) = parts.content {
            msg.content = c;
        }
        if let Some(e) = parts.embeds {
            msg.embeds = e;
        }
        if let Some(c) = parts.components {
            msg.components = c;
        }
        if let Some(f) = parts.flags {
            // Only SUPPRESS_EMBEDS may change on edit; loading (128) clears on the first edit.
            msg.flags = (msg.flags & !4) | (f & 4);
        }
        msg.flags &= !128;
        if let Some(keep) = parts.keep_attachments {
            msg.attachments.retain(|a| keep.contains(&a.id));
        }
        let channel_id = msg.channel_id;
        for a in &parts.new_attachments {
            self.world.attachment_index.insert(a.id, (channel_id, id));
        }
        let msg = self
            .world
            .messages
            .get_mut(&id)
            .ok_or_else(ApiError::unknown_message)?;
        msg.attachments.extend(parts.new_attachments);
        msg.edited_timestamp = Some(Utc::now());
        let msg = msg.clone();
        let mj = self.message_json(&msg);
        if !msg.ephemeral() {
            let mut d = mj.clone();
            match msg.guild_id {
                Some(g) => {
                    d["guild_id"] = json!(g.to_string());
                    self.emit(Audience::Guild(g), "MESSAGE_UPDATE", &d, Some(id));
                }
                None => self.emit(Audience::Dm(msg.channel_id), "MESSAGE_UPDATE", &d, Some(id)),
            }
        }
        Ok(mj)
    }

    /// Deletes a stored message (MESSAGE_DELETE).
    pub fn remove_message(&mut self, id: MessageId) -> Result<(), ApiError> {
        let msg = self
            .world
            .messages
            .get_mut(&id)
            .filter(|m| !m.deleted)
            .ok_or_else(ApiError::unknown_message)?;
        msg.deleted = true;
        let (channel_id, guild_id, ephemeral) = (msg.channel_id, msg.guild_id, msg.ephemeral());
        if !ephemeral {
            let mut d = json!({ "id": id.to_string(), "channel_id": channel_id.to_string() });
            match guild_id {
                Some(g) => {
                    d["guild_id"] = json!(g.to_string());
                    self.emit(Audience::Guild(g), "MESSAGE_DELETE", &d, Some(id));
                }
                None => self.emit(Audience::Dm(channel_id), "MESSAGE_DELETE", &d, Some(id)),
            }
        }
        Ok(())
    }

    /// `POST /users/@me/channels`: opens (or returns) the DM channel between two users.
    pub fn create_dm(&mut self, actor: UserId, recipient: UserId) -> Result<Value, ApiError> {
        self.world.user(recipient)?;
        let key = if actor < recipient {
            (actor, recipient)
        } else {
            (recipient, actor)
        };
        let id = match self.world.dm_by_pair.get(&key) {
            Some(id) => *id,
            None => {
                let id = self.next_id();
                self.world.dms.insert(
                    id,
                    DmChannel {
                        id,
                        recipients: [actor, recipient],
                        last_message_id: None,
                    },
                );
                self.world.dm_by_pair.insert(key, id);
                id
            }
        };
        self.dm_json(id, actor)
    }

    /// PrivateChannelResponse of a DM as seen by `viewer`.
    pub fn dm_json(&self, id: ChannelId, viewer: UserId) -> Result<Value, ApiError> {
        let dm = self
            .world
            .dms
            .get(&id)
            .ok_or_else(ApiError::unknown_channel)?;
        let others: Vec<Value> = dm
            .recipients
            .iter()
            .filter(|u| **u != viewer)
            .filter_map(|u| self.world.users.get(u))
            .map(User::json)
            .collect();
        Ok(json!({
            "id": id.to_string(),
            "type": channel_type::DM,
            "last_message_id": id_or_null(dm.last_message_id),
            "flags": 0,
            "recipients": others,
        }))
    }

    /// `POST /channels/{channel_id}/messages` as `actor`.
    pub fn send_message(
        &mut self,
        actor: UserId,
        channel_id: ChannelId,
        parts: MessageParts,
    ) -> Result<Value, ApiError> {
        if let Some(dm) = self.world.dms.get(&channel_id) {
            if !dm.recipients.contains(&actor) {
                return Err(ApiError::missing_access());
            }
            let other = dm
                .recipients
                .iter()
                .copied()
                .find(|u| *u != actor)
                .unwrap_or(actor);
            let recipient = self.world.user(other)?;
            let author_is_bot = self.world.users.get(&actor).is_some_and(|u| u.bot);
            let mutual = self
                .world
                .guilds
                .values()
                .any(|g| g.members.contains_key(&actor) && g.members.contains_key(&other));
            if !recipient.dms_open || (author_is_bot && recipient.bot) || !mutual {
                return Err(ApiError::cannot_send_to_user());
            }
            let origin = MessageOrigin {
                author_id: actor,
                ..Default::default()
            };
            return self.insert_message(channel_id, origin, parts);
        }
        let gid = self.world.channel_guild_id(channel_id)?;
        let g = self.world.guild(gid)?;
        let ch = g
            .channels
            .get(&channel_id)
            .ok_or_else(ApiError::unknown_channel)?;
        if matches!(
            ch.kind,
            channel_type::GUILD_CATEGORY | channel_type::GUILD_FORUM
        ) {
            return Err(ApiError::new(
                400,
                50008,
                "Cannot send messages in a non-text channel",
            ));
        }
        let mut needed = perm::SEND_MESSAGES;
        if !parts.new_attachments.is_empty() {
            needed |= perm::ATTACH_FILES;
        }
        World::require_in_channel(g, ch, actor, needed)?;
        let origin = MessageOrigin {
            author_id: actor,
            application_id: self.world.app_by_bot.get(&actor).copied(),
            ..Default::default()
        };
        self.insert_message(channel_id, origin, parts)
    }

    /// Checks that `actor` can read a channel's messages; returns the channel kind.
    pub fn check_read(&self, actor: UserId, channel_id: ChannelId) -> Result<(), ApiError> {
        if let Some(dm) = self.world.dms.get(&channel_id) {
            return if dm.recipients.contains(&actor) {
                Ok(())
            } else {
                Err(ApiError::missing_access())
            };
        }
        let gid = self.world.channel_guild_id(channel_id)?;
        let g = self.world.guild(gid)?;
        // A thread's messages are read with its parent's permissions.
        let id = g
            .threads
            .get(&channel_id)
            .map_or(channel_id, |t| t.parent_id);
        let ch = g.channels.get(&id).ok_or_else(ApiError::unknown_channel)?;
        World::require_in_channel(g, ch, actor, perm::READ_MESSAGE_HISTORY).map(|_| ())
    }

    /// Visible (non-ephemeral, not deleted) messages of a channel, oldest first.
    pub fn channel_message_ids(&self, channel_id: ChannelId) -> Vec<MessageId> {
        self.world
            .channel_messages
            .get(&channel_id)
            .map(|ids| {
                ids.iter()
                    .copied()
                    .filter(|id| {
                        self.world
                            .messages
                            .get(id)
                            .is_some_and(|m| !m.deleted && !m.ephemeral())
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A content type from a file name.
pub fn guess_content_type(name: &str) -> String {
    let lower = name.to_lowercase();
    let ext = lower.rsplit('.').next().unwrap_or("");
    match ext {
        "json" => "application/json",
        "txt" | "log" => "text/plain; charset=utf-8",
        "csv" => "text/csv",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "zst" => "application/zstd",
        "gz" => "application/gzip",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    }
    .to_string()
}
