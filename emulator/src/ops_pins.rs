//! Purpose: pinned messages as Discord has them — pin and unpin with Manage Messages or Pin
//! Messages in the channel (at most 50 pins per channel: 30003), each leaving an audit entry
//! (MESSAGE_PIN / MESSAGE_UNPIN) and a CHANNEL_PINS_UPDATE; listed newest pin first, by the
//! deprecated `/channels/{c}/pins` (an array) and by `/channels/{c}/messages/pins` (pages).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::model::*;
use crate::permissions as perm;
use crate::state::{Audience, State, World};

/// Discord's cap on pins per channel.
pub const MAX_PINS: usize = 50;

impl State {
    /// `PUT` (`pin`) or `DELETE` `/channels/{c}/pins/{m}`: pins or unpins a message of the
    /// channel; pinning a pinned one (or unpinning one that is not) changes nothing.
    pub fn set_pinned(
        &mut self,
        actor: UserId,
        cid: ChannelId,
        mid: MessageId,
        pin: bool,
        reason: Option<&str>,
    ) -> Result<(), ApiError> {
        let gid = self.world.channel_guild_id(cid)?;
        let g = self.world.guild(gid)?;
        let parent = g.threads.get(&cid).map_or(cid, |t| t.parent_id);
        let ch = g
            .channels
            .get(&parent)
            .ok_or_else(ApiError::unknown_channel)?;
        let p = World::require_in_channel(g, ch, actor, perm::VIEW_CHANNEL)?;
        if p & (perm::MANAGE_MESSAGES | perm::PIN_MESSAGES) == 0 {
            return Err(ApiError::missing_permissions());
        }
        let m = self
            .world
            .messages
            .get(&mid)
            .filter(|m| m.channel_id == cid && !m.deleted && !m.ephemeral())
            .ok_or_else(ApiError::unknown_message)?;
        if m.pinned_at.is_some() == pin {
            return Ok(());
        }
        if pin && self.pinned(cid).len() >= MAX_PINS {
            return Err(ApiError::new(
                400,
                30003,
                "Maximum number of pins reached (50)",
            ));
        }
        if let Some(m) = self.world.messages.get_mut(&mid) {
            m.pinned_at = pin.then(Utc::now);
        }
        let last = self.pinned(cid).first().map(|(at, _)| ts(at));
        self.emit(
            Audience::Guild(gid),
            "CHANNEL_PINS_UPDATE",
            &json!({ "guild_id": gid.to_string(), "channel_id": cid.to_string(), "last_pin_timestamp": last }),
            Some(cid),
        );
        self.audit(
            gid,
            actor,
            Some(actor),
            if pin {
                audit_action::MESSAGE_PIN
            } else {
                audit_action::MESSAGE_UNPIN
            },
            Vec::new(),
            Some(json!({ "channel_id": cid.to_string(), "message_id": mid.to_string() })),
            reason,
        );
        Ok(())
    }

    /// The channel's pinned messages, newest pin first: (pinned at, message id).
    pub fn pinned(&self, cid: ChannelId) -> Vec<(DateTime<Utc>, MessageId)> {
        let mut out: Vec<(DateTime<Utc>, MessageId)> = self
            .channel_message_ids(cid)
            .iter()
            .filter_map(|id| self.world.messages.get(id))
            .filter_map(|m| Some((m.pinned_at?, m.id)))
            .collect();
        out.sort_by(|a, b| b.cmp(a));
        out
    }

    /// `GET /channels/{c}/pins` (an array) or, with `paged`, `/channels/{c}/messages/pins`
    /// (`{items: [{pinned_at, message}], has_more}`, pins before `before`, `limit` of them).
    pub fn list_pins(
        &self,
        reader: UserId,
        cid: ChannelId,
        paged: Option<(Option<DateTime<Utc>>, usize)>,
    ) -> Result<Value, ApiError> {
        self.check_read(reader, cid)?;
        let pins = self.pinned(cid);
        let message = |id: &MessageId| {
            self.world
                .messages
                .get(id)
                .map(|m| self.message_json_for(reader, m))
        };
        Ok(match paged {
            None => Value::Array(pins.iter().filter_map(|(_, id)| message(id)).collect()),
            Some((before, limit)) => {
                let older: Vec<&(DateTime<Utc>, MessageId)> = pins
                    .iter()
                    .filter(|(at, _)| before.is_none_or(|b| *at < b))
                    .collect();
                let items: Vec<Value> = older
                    .iter()
                    .take(limit)
                    .filter_map(|(at, id)| {
                        Some(json!({ "pinned_at": ts(at), "message": message(id)? }))
                    })
                    .collect();
                json!({ "items": items, "has_more": older.len() > limit })
            }
        })
    }
}
