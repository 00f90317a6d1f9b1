//! Purpose: scripted interactions and what a test reads back — the bot's messages and buttons,
//! attachments, interaction responses and their handle.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::model::*;

use super::*;

/// A file attached to a message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttachmentView {
    pub id: AttachmentId,
    pub filename: String,
    pub content_type: Option<String>,
    #[serde(skip)]
    pub data: Arc<Vec<u8>>,
}

impl AttachmentView {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }
}

/// A button found in a message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Button {
    pub custom_id: Option<String>,
    pub label: Option<String>,
    pub style: u64,
    pub disabled: bool,
    pub url: Option<String>,
}

/// A message as tests see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BotMessage {
    pub id: MessageId,
    pub channel_id: ChannelId,
    pub guild_id: Option<GuildId>,
    pub author_id: UserId,
    pub content: String,
    pub embeds: Vec<Value>,
    pub components: Vec<Value>,
    pub attachments: Vec<AttachmentView>,
    pub flags: u64,
    pub ephemeral: bool,
    /// A deferred ("thinking") response not yet edited.
    pub loading: bool,
    pub edited: bool,
    pub in_dm: bool,
    pub pinned: bool,
    /// A webhook message's `username` and `avatar_url`.
    pub webhook_username: Option<String>,
    pub webhook_avatar_url: Option<String>,
}

impl BotMessage {
    pub(super) fn from_message(m: &Message, in_dm: bool) -> Self {
        Self {
            id: m.id,
            channel_id: m.channel_id,
            guild_id: m.guild_id,
            author_id: m.author_id,
            content: m.content.clone(),
            embeds: m.embeds.clone(),
            components: m.components.clone(),
            attachments: m
                .attachments
                .iter()
                .map(|a| AttachmentView {
                    id: a.id,
                    filename: a.filename.clone(),
                    content_type: a.content_type.clone(),
                    data: a.data.clone(),
                })
                .collect(),
            flags: m.flags,
            ephemeral: m.ephemeral(),
            loading: m.flags & 128 != 0,
            edited: m.edited_timestamp.is_some(),
            in_dm,
            pinned: m.pinned_at.is_some(),
            webhook_username: m.webhook_author.as_ref().and_then(|w| w.username.clone()),
            webhook_avatar_url: m.webhook_author.as_ref().and_then(|w| w.avatar_url.clone()),
        }
    }

    /// Content plus embed titles, descriptions, field names/values and footers.
    pub fn text(&self) -> String {
        let mut out = vec![self.content.clone()];
        for e in &self.embeds {
            for k in ["title", "description"] {
                if let Some(s) = e[k].as_str() {
                    out.push(s.to_string());
                }
            }
            for f in e["fields"].as_array().into_iter().flatten() {
                out.push(format!(
                    "{}: {}",
                    f["name"].as_str().unwrap_or_default(),
                    f["value"].as_str().unwrap_or_default()
                ));
            }
            if let Some(s) = e["footer"]["text"].as_str() {
                out.push(s.to_string());
            }
        }
        out.retain(|s| !s.is_empty());
        out.join("\n")
    }

    /// Every button (any depth).
    pub fn buttons(&self) -> Vec<Button> {
        fn walk(cs: &[Value], out: &mut Vec<Button>) {
            for c in cs {
                if c["type"].as_u64() == Some(2) {
                    out.push(Button {
                        custom_id: c["custom_id"].as_str().map(str::to_string),
                        label: c["label"].as_str().map(str::to_string),
                        style: c["style"].as_u64().unwrap_or(1),
                        disabled: c["disabled"].as_bool().unwrap_or(false),
                        url: c["url"].as_str().map(str::to_string),
                    });
                }
                if let Some(children) = c["components"].as_array() {
                    walk(children, out);
                }
                if c["accessory"].is_object() {
                    walk(std::slice::from_ref(&c["accessory"]), out);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.components, &mut out);
        out
    }

    /// Every custom_id in the components.
    pub fn custom_ids(&self) -> Vec<String> {
        fn walk(cs: &[Value], out: &mut Vec<String>) {
            for c in cs {
                if let Some(id) = c["custom_id"].as_str() {
                    out.push(id.to_string());
                }
                if let Some(children) = c["components"].as_array() {
                    walk(children, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.components, &mut out);
        out
    }

    pub fn attachment(&self, filename: &str) -> Option<&AttachmentView> {
        self.attachments.iter().find(|a| a.filename == filename)
    }
}

/// The bot's initial answer to an interaction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InteractionResponse {
    /// Callback type: 4 message, 5 deferred, 6 deferred update, 7 update, 8 autocomplete, 9 modal.
    pub kind: u8,
    pub data: Value,
}

/// Why waiting on an interaction failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InteractionError {
    #[error("the application did not respond within the initial-response deadline")]
    DeadlineMissed,
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),
    #[error("unknown interaction")]
    Unknown,
}

/// Everything known about an interaction now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InteractionView {
    pub id: InteractionId,
    pub response: Option<InteractionResponse>,
    pub expired: bool,
    pub original: Option<BotMessage>,
    pub followups: Vec<BotMessage>,
}

/// A scripted interaction: await the bot's answer, follow-ups and edits.
#[derive(Clone)]
pub struct InteractionHandle {
    pub(super) emu: Emulator,
    pub id: InteractionId,
}

impl std::fmt::Debug for InteractionHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InteractionHandle")
            .field("id", &self.id)
            .finish()
    }
}

impl InteractionHandle {
    /// The INTERACTION_CREATE payload that was dispatched.
    pub fn payload(&self) -> Value {
        self.emu
            .inner
            .state
            .lock()
            .world
            .interactions
            .get(&self.id)
            .map(|i| i.payload.clone())
            .unwrap_or(Value::Null)
    }

    pub fn view(&self) -> Result<InteractionView, InteractionError> {
        let st = self.emu.inner.state.lock();
        let i = st
            .world
            .interactions
            .get(&self.id)
            .ok_or(InteractionError::Unknown)?;
        let msg = |id: &MessageId| {
            st.world
                .messages
                .get(id)
                .filter(|m| !m.deleted)
                .map(|m| BotMessage::from_message(m, st.world.dms.contains_key(&m.channel_id)))
        };
        Ok(InteractionView {
            id: self.id,
            response: i
                .response
                .clone()
                .map(|(kind, data)| InteractionResponse { kind, data }),
            expired: i.expired,
            original: i.original_message.as_ref().and_then(msg),
            followups: i.followups.iter().filter_map(msg).collect(),
        })
    }

    /// Waits until `pred` holds for the interaction's view or `timeout` passes.
    pub async fn wait_until(
        &self,
        timeout: Duration,
        what: &'static str,
        pred: impl Fn(&InteractionView) -> bool,
    ) -> Result<InteractionView, InteractionError> {
        let mut rx = {
            let st = self.emu.inner.state.lock();
            st.world
                .interactions
                .get(&self.id)
                .ok_or(InteractionError::Unknown)?
                .version
                .subscribe()
        };
        let end = tokio::time::Instant::now() + timeout;
        loop {
            let v = self.view()?;
            if pred(&v) {
                return Ok(v);
            }
            if v.expired && v.response.is_none() {
                return Err(InteractionError::DeadlineMissed);
            }
            match tokio::time::timeout_at(end, rx.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(InteractionError::Unknown),
                Err(_) => return Err(InteractionError::Timeout(what)),
            }
        }
    }

    /// The initial response; fails with `DeadlineMissed` after Discord's 3-second deadline.
    pub async fn response(&self) -> Result<InteractionResponse, InteractionError> {
        let deadline = self.emu.inner.config.interaction_deadline + Duration::from_millis(500);
        let v = self
            .wait_until(deadline, "the initial response", |v| v.response.is_some())
            .await;
        match v {
            Ok(v) => v.response.ok_or(InteractionError::Unknown),
            Err(InteractionError::Timeout(_)) => Err(InteractionError::DeadlineMissed),
            Err(e) => Err(e),
        }
    }

    /// The original response message once it has content (a deferred response must have
    /// been edited or followed up). For a component interaction answered with an update
    /// (type 6/7) it is the message the component is on.
    pub async fn message(&self, timeout: Duration) -> Result<BotMessage, InteractionError> {
        self.response().await?;
        let v = self
            .wait_until(timeout, "the response message", |v| {
                v.original.as_ref().is_some_and(|m| !m.loading)
            })
            .await?;
        v.original.ok_or(InteractionError::Unknown)
    }

    /// Waits for at least `n` follow-up messages.
    pub async fn followups(
        &self,
        n: usize,
        timeout: Duration,
    ) -> Result<Vec<BotMessage>, InteractionError> {
        Ok(self
            .wait_until(timeout, "follow-ups", |v| v.followups.len() >= n)
            .await?
            .followups)
    }

    /// Original (if any) and follow-ups, now.
    pub fn messages(&self) -> Vec<BotMessage> {
        self.view()
            .map(|v| v.original.into_iter().chain(v.followups).collect())
            .unwrap_or_default()
    }

    /// The modal the bot answered with (custom_id, title, components).
    pub fn modal(&self) -> Option<Value> {
        self.view()
            .ok()?
            .response
            .filter(|r| r.kind == 9)
            .map(|r| r.data)
    }
}
