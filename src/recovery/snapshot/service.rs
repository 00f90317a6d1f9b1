//! Purpose: snapshot use cases — the four triggers (manual, scheduled, pre-restore for the
//! restore engine, emergency "as of T" for AntiNuke) plus import, plan retention (oldest
//! unpinned first; pinned snapshots never count nor expire), pin/unpin (and the incident pin of
//! the last snapshot before an attack), export/import files, and the scheduler worker. Every
//! change commits with its outbox event. Guild, plan and member data come through ports.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, DbErr};
use serde_json::json;
use tokio::sync::watch;
use uuid::Uuid;

use super::model::{
    self, CodecError, ExportFile, ImportError, SnapshotDocument, SnapshotMeta, Trigger,
};
use super::persistence::{self, NewSnapshot};
use crate::guild::{GuildError, GuildReader, GuildRecord};
use crate::ids::to_db;
use crate::licensing::{LicensingError, LicensingReader};
use crate::outbox::{self, NewEvent, event_types};
use crate::recovery::sync::{SyncError, SyncService, SyncState};

/// Snapshots listed at most (`/backup list`, autocomplete).
pub const LIST_LIMIT: u32 = 25;

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("guild {0} is not known to Umbra")]
    UnknownGuild(u64),
    #[error("the guild's mirror is not live yet")]
    NotSynced,
    #[error("the mirror has no state of the guild at that time")]
    NoStateAt,
    #[error("no such snapshot")]
    NotFound,
    #[error("the snapshot is pinned")]
    Pinned,
    #[error("at most {0} snapshots can be pinned")]
    PinLimit(u32),
    #[error("the snapshot is kept for an AntiNuke incident: only the owner can unpin it")]
    IncidentPin,
    #[error("the file is {size} bytes; at most {max} are accepted")]
    FileTooLarge { size: u64, max: u64 },
    #[error("the export would be {size} bytes; at most {max} can be sent")]
    ExportTooLarge { size: u64, max: u64 },
    #[error("the stored snapshot is damaged: {0}")]
    Corrupt(CodecError),
    #[error("the file was refused: {0}")]
    Import(#[from] ImportError),
    #[error("encoding the snapshot failed: {0}")]
    Encode(CodecError),
    #[error(transparent)]
    Database(#[from] DbErr),
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    Guild(#[from] GuildError),
    #[error(transparent)]
    Licensing(#[from] LicensingError),
    #[error("a background task failed: {0}")]
    Join(String),
    #[error("downloading the file failed: {0}")]
    Download(String),
}

/// Application flags of the Message Content intent: GATEWAY_MESSAGE_CONTENT (verified apps)
/// and GATEWAY_MESSAGE_CONTENT_LIMITED (apps under 100 servers).
pub const MESSAGE_CONTENT_FLAGS: u64 = (1 << 18) | (1 << 19);

/// Snapshot tuning (from `[recovery]` in the configuration).
#[derive(Debug, Clone)]
pub struct SnapshotSettings {
    pub poll_interval: Duration,
    pub import_max_bytes: u64,
    pub export_max_bytes: u64,
    /// Largest document read back (guards decompression).
    pub max_document_bytes: usize,
}

/// A snapshot created, with what retention removed to make room.
#[derive(Debug, Clone)]
pub struct Created {
    pub meta: SnapshotMeta,
    pub expired: Vec<SnapshotMeta>,
    pub keep: u32,
}

/// What a scheduled run did for a guild.
#[derive(Debug, Clone, PartialEq)]
pub enum ScheduledOutcome {
    Off,
    NotDue,
    NotLive,
    Created(Uuid),
    Unchanged(Uuid),
    Failed(String),
}

#[derive(Clone)]
pub struct SnapshotService {
    db: DatabaseConnection,
    sync: SyncService,
    guilds: Arc<dyn GuildReader>,
    licensing: Arc<dyn LicensingReader>,
    pub settings: SnapshotSettings,
    /// Scheduled failures already reported, by guild (one event per slot).
    reported_failures: Arc<Mutex<HashMap<u64, i64>>>,
    /// Downloads imported files (attachment URLs).
    http: reqwest::Client,
    /// Reads forum posts' starter messages.
    rest: crate::discord::rest::Rest,
}

impl SnapshotService {
    pub fn new(
        db: DatabaseConnection,
        sync: SyncService,
        guilds: Arc<dyn GuildReader>,
        licensing: Arc<dyn LicensingReader>,
        settings: SnapshotSettings,
        http: reqwest::Client,
        rest: crate::discord::rest::Rest,
    ) -> Self {
        Self {
            db,
            sync,
            guilds,
            licensing,
            settings,
            reported_failures: Arc::new(Mutex::new(HashMap::new())),
            http,
            rest,
        }
    }

    /// Downloads an attachment, refusing more than `max` bytes (checked while reading).
    pub async fn download(&self, url: &str, max: u64) -> Result<Vec<u8>, SnapshotError> {
        let fail = |e: reqwest::Error| SnapshotError::Download(e.without_url().to_string());
        let mut response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(fail)?
            .error_for_status()
            .map_err(fail)?;
        if let Some(len) = response.content_length()
            && len > max
        {
            return Err(SnapshotError::FileTooLarge { size: len, max });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(fail)? {
            body.extend_from_slice(&chunk);
            if body.len() as u64 > max {
                return Err(SnapshotError::FileTooLarge {
                    size: body.len() as u64,
                    max,
                });
            }
        }
        Ok(body)
    }

    async fn record(&self, guild: u64) -> Result<GuildRecord, SnapshotError> {
        self.guilds
            .guild(guild)
            .await?
            .ok_or(SnapshotError::UnknownGuild(guild))
    }

    /// Deletes the snapshots retention no longer keeps (oldest unpinned first) and records a
    /// `snapshot.expired` event for each, in `txn`.
    async fn expire_beyond<C: sea_orm::ConnectionTrait>(
        txn: &C,
        record: &GuildRecord,
        keep: u32,
    ) -> Result<Vec<SnapshotMeta>, DbErr> {
        let expired = persistence::enforce_retention(txn, record.id, keep).await?;
        for old in &expired {
            outbox::append(
                txn,
                Self::event(
                    event_types::SNAPSHOT_EXPIRED,
                    record,
                    old,
                    None,
                    json!({ "retention": keep }),
                ),
            )
            .await?;
        }
        Ok(expired)
    }

    fn event(
        kind: &'static str,
        record: &GuildRecord,
        meta: &SnapshotMeta,
        actor: Option<u64>,
        extra: serde_json::Value,
    ) -> NewEvent {
        let mut payload = json!({
            "snapshot_id": meta.id,
            "trigger": meta.trigger.as_str(),
            "label": meta.label,
            "as_of": meta.as_of,
            "roles": meta.role_count,
            "channels": meta.channel_count,
            "overwrites": meta.overwrite_count,
            "members": meta.member_count,
            "size_bytes": meta.size_bytes,
            "pinned": meta.pinned,
            "name": meta.display_name(),
            "guild_name": record.name,
            "owner_discord_id": record.owner_discord_id.to_string(),
        });
        if let Some(actor) = actor {
            payload["actor_discord_id"] = json!(actor.to_string());
            payload["actor"] = json!(format!("<@{actor}>"));
        }
        if let (Some(map), Some(extra)) = (payload.as_object_mut(), extra.as_object()) {
            map.extend(extra.clone());
        }
        NewEvent::new(kind, "snapshot", meta.id.to_string(), payload)
            .in_guild(to_db(record.discord_id))
    }

    /// The document of `guild` as of `at` (`None`: now), encoded off the async threads.
    async fn build(
        &self,
        guild: u64,
        at: Option<DateTime<Utc>>,
    ) -> Result<(SnapshotDocument, model::Encoded), SnapshotError> {
        let state = self
            .sync
            .state_as_of(guild, at)
            .await?
            .ok_or(SnapshotError::NoStateAt)?;
        let mut doc = SnapshotDocument::from_state(&state).ok_or(SnapshotError::NoStateAt)?;
        self.keep_images(guild, &mut doc).await;
        self.keep_starters(guild, &mut doc).await;
        self.keep_messages(guild, &mut doc, at.is_none()).await;
        let (doc, encoded) = tokio::task::spawn_blocking(move || {
            let encoded = model::encode(&doc).map_err(SnapshotError::Encode)?;
            Ok::<_, SnapshotError>((doc, encoded))
        })
        .await
        .map_err(|e| SnapshotError::Join(e.to_string()))??;
        Ok((doc, encoded))
    }

    /// Puts the emojis' images in the document (each distinct image once): those the newest
    /// stored snapshot of the guild kept (an emoji's image never changes, so it is fetched
    /// once), the others from Discord's CDN. An image that cannot be had (the emoji is gone,
    /// the CDN does not answer within 10 s) leaves the emoji without one: the restore says it
    /// cannot re-create it.
    async fn keep_images(&self, guild: u64, doc: &mut SnapshotDocument) {
        // What the newest stored snapshot kept: emojis by id, pictures by (key, Discord hash).
        let mut emoji_kept: HashMap<u64, (String, String)> = HashMap::new();
        let mut picture_kept: HashMap<(String, String), (String, String)> = HashMap::new();
        let mut sticker_kept: HashMap<u64, (String, String)> = HashMap::new();
        let wanted = pictures_of(doc);
        let has_emojis = doc.emojis.as_ref().is_some_and(|e| !e.is_empty());
        let has_stickers = doc.stickers.as_ref().is_some_and(|s| !s.is_empty());
        if (has_emojis || has_stickers || !wanted.is_empty())
            && let Ok(Some(latest)) = self.latest(guild).await
            && let Ok((_, previous)) = self.document(guild, latest.id).await
        {
            for e in previous.emojis.iter().flatten() {
                if let Some(hash) = &e.image
                    && let Some(data) = previous.images.get(hash)
                {
                    emoji_kept.insert(e.original_id, (hash.clone(), data.clone()));
                }
            }
            for s in previous.stickers.iter().flatten() {
                if let Some(hash) = &s.image
                    && let Some(data) = previous.images.get(hash)
                {
                    sticker_kept.insert(s.original_id, (hash.clone(), data.clone()));
                }
            }
            for (key, discord_hash, _) in pictures_of(&previous) {
                if let Some(hash) = previous.pictures.get(&key)
                    && let Some(data) = previous.images.get(hash)
                {
                    picture_kept.insert((key, discord_hash), (hash.clone(), data.clone()));
                }
            }
        }
        if let Some(mut emojis) = doc.emojis.take() {
            for e in &mut emojis {
                let ext = if e.animated { "gif" } else { "png" };
                let url = format!("https://cdn.discordapp.com/emojis/{}.{ext}", e.original_id);
                let kept = match emoji_kept.remove(&e.original_id) {
                    Some(kept) => Some(kept),
                    None => {
                        self.fetch_image(guild, &url, model::limits::IMAGE_BYTES)
                            .await
                    }
                };
                if let Some((hash, data)) = kept {
                    e.image = Some(hash.clone());
                    doc.images.insert(hash, data);
                }
            }
            doc.emojis = Some(emojis);
        }
        if let Some(mut stickers) = doc.stickers.take() {
            for s in &mut stickers {
                let ext = if s.format_type == 4 { "gif" } else { "png" };
                let url = format!(
                    "https://cdn.discordapp.com/stickers/{}.{ext}",
                    s.original_id
                );
                let kept = match sticker_kept.remove(&s.original_id) {
                    Some(kept) => Some(kept),
                    None => self.fetch_image(guild, &url, 512 * 1024).await,
                };
                if let Some((hash, data)) = kept {
                    s.image = Some(hash.clone());
                    doc.images.insert(hash, data);
                }
            }
            doc.stickers = Some(stickers);
        }
        for (key, discord_hash, url) in wanted {
            let kept = match picture_kept.remove(&(key.clone(), discord_hash)) {
                Some(kept) => Some(kept),
                None => {
                    self.fetch_image(guild, &url, model::limits::PICTURE_BYTES)
                        .await
                }
            };
            if let Some((hash, data)) = kept {
                doc.pictures.insert(key, hash.clone());
                doc.images.insert(hash, data);
            }
        }
    }

    /// The starter message of each forum post: the newest stored snapshot's copy when it has
    /// one (a post deleted since keeps its text), else read from Discord (it needs the Message
    /// Content intent: without it Discord gives an empty text, and the post is restored with
    /// its title as its message). An edit of a starter message after it was first kept is
    /// not followed.
    async fn keep_starters(&self, guild: u64, doc: &mut SnapshotDocument) {
        let posts: Vec<usize> = doc
            .threads
            .iter()
            .flatten()
            .enumerate()
            .filter(|(_, t)| {
                doc.channels
                    .iter()
                    .any(|c| c.id == t.parent && matches!(c.kind, 15 | 16))
            })
            .map(|(i, _)| i)
            .collect();
        if posts.is_empty() {
            return;
        }
        let mut kept: HashMap<u64, String> = HashMap::new();
        if let Ok(Some(latest)) = self.latest(guild).await
            && let Ok((_, previous)) = self.document(guild, latest.id).await
        {
            for t in previous.threads.iter().flatten() {
                if let Some(s) = &t.starter {
                    kept.insert(t.original_id, s.clone());
                }
            }
        }
        let Some(threads) = doc.threads.as_mut() else {
            return;
        };
        for i in posts {
            let Some(t) = threads.get_mut(i) else {
                continue;
            };
            t.starter = match kept.remove(&t.original_id) {
                Some(s) => Some(s),
                None => {
                    let read = self.rest.message_content(t.original_id, t.original_id);
                    match tokio::time::timeout(Duration::from_secs(10), read).await {
                        Ok(Ok(Some(text))) if !text.is_empty() => {
                            Some(text.chars().take(4000).collect())
                        }
                        Ok(Ok(_)) => None,
                        Ok(Err(e)) => {
                            tracing::debug!(guild, thread = t.original_id, error = %e, "a starter message could not be read");
                            None
                        }
                        Err(_) => None,
                    }
                }
            };
        }
    }

    /// Whether Umbra's application may read message content (the Message Content intent:
    /// application flags 1<<18 or 1<<19). `Err`: Discord could not be asked.
    pub async fn message_content_allowed(&self) -> Result<bool, crate::discord::rest::RestError> {
        let flags = self.rest.application_flags().await?;
        Ok(flags & MESSAGE_CONTENT_FLAGS != 0)
    }

    /// The last messages of the channels the guild chose (`/backup messages`, bounded by the
    /// plan): read from Discord now (`live`) with their attachments' bytes (each up to
    /// [`model::limits::FILE_BYTES`], [`model::limits::FILES_TOTAL_BYTES`] in all, newest
    /// first), or — for a snapshot of a past moment (AntiNuke's, the time machine's) — those
    /// of the newest stored snapshot, the best known. Without the Message Content intent
    /// nothing is read (Discord would give empty texts). A channel that cannot be read is left
    /// out and logged; the snapshot goes on.
    async fn keep_messages(&self, guild: u64, doc: &mut SnapshotDocument, live: bool) {
        let Ok(settings) = self.guilds.settings(guild).await else {
            return;
        };
        if settings.message_channel_ids.is_empty() {
            return;
        }
        let Ok(entitlements) = self.licensing.entitlements(guild).await else {
            return;
        };
        let plan = &entitlements.plan;
        let per_channel = settings
            .message_limit
            .unwrap_or(plan.messages_per_channel)
            .min(plan.messages_per_channel) as usize;
        let chosen: Vec<(u64, u32)> = settings
            .message_channel_ids
            .iter()
            .take(plan.message_channels as usize)
            .filter_map(|c| {
                doc.channels
                    .iter()
                    .find(|x| x.original_id == *c && matches!(x.kind, 0 | 5))
                    .map(|x| (*c, x.id))
            })
            .collect();
        if per_channel == 0 || chosen.is_empty() {
            return;
        }
        if !live {
            self.carry_messages(guild, doc, &chosen).await;
            return;
        }
        match self.message_content_allowed().await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(
                    guild,
                    "message backups are on but the Message Content intent is off: no messages kept"
                );
                return;
            }
            Err(e) => {
                tracing::warn!(guild, error = %e, "the application's intents could not be read: no messages kept");
                return;
            }
        }
        let mut files_left = model::limits::FILES_TOTAL_BYTES;
        let mut kept = Vec::new();
        for (channel, local) in chosen {
            let read = self.rest.recent_messages(channel, per_channel);
            let raw = match tokio::time::timeout(Duration::from_secs(120), read).await {
                Ok(Ok(raw)) => raw,
                Ok(Err(e)) => {
                    tracing::warn!(guild, channel, error = %e, "a channel's messages could not be read");
                    continue;
                }
                Err(_) => {
                    tracing::warn!(guild, channel, "reading a channel's messages timed out");
                    continue;
                }
            };
            let mut messages = Vec::with_capacity(raw.len());
            // Newest first: the latest files are the ones kept when the budget runs out.
            for m in &raw {
                let Some((mut m, urls)) = model::message_doc(m) else {
                    continue;
                };
                for (f, url) in m.files.iter_mut().zip(urls) {
                    let size = usize::try_from(f.size).unwrap_or(usize::MAX);
                    if size > model::limits::FILE_BYTES || size > files_left {
                        continue;
                    }
                    if let Some((hash, data)) = self
                        .fetch_image(guild, &url, model::limits::FILE_BYTES)
                        .await
                    {
                        files_left = files_left.saturating_sub(size.max(data.len() * 3 / 4));
                        f.data = Some(hash.clone());
                        doc.images.insert(hash, data);
                    }
                }
                messages.push(m);
            }
            messages.reverse();
            kept.push(model::MessageChannelDoc {
                channel: local,
                messages,
            });
        }
        kept.sort_by_key(|c| c.channel);
        doc.messages = Some(kept);
    }

    /// A past moment's messages: the newest stored snapshot's, mapped to `doc`'s channels by
    /// their Discord ids, with their files' bytes.
    async fn carry_messages(&self, guild: u64, doc: &mut SnapshotDocument, chosen: &[(u64, u32)]) {
        let Ok(Some(latest)) = self.latest(guild).await else {
            return;
        };
        let Ok((_, previous)) = self.document(guild, latest.id).await else {
            return;
        };
        let Some(then) = previous.messages.clone() else {
            return;
        };
        let mut kept = Vec::new();
        for c in then {
            let Some(original) = previous.channel_original(c.channel) else {
                continue;
            };
            let Some((_, local)) = chosen.iter().find(|(id, _)| *id == original) else {
                continue;
            };
            for f in c.messages.iter().flat_map(|m| &m.files) {
                if let Some(hash) = &f.data
                    && let Some(data) = previous.images.get(hash)
                {
                    doc.images.insert(hash.clone(), data.clone());
                }
            }
            kept.push(model::MessageChannelDoc {
                channel: *local,
                messages: c.messages,
            });
        }
        kept.sort_by_key(|c| c.channel);
        doc.messages = Some(kept);
    }

    /// An image from Discord's CDN: (SHA-256 hex, base64), or `None` (gone, over `max` bytes,
    /// no answer within 10 s).
    async fn fetch_image(&self, guild: u64, url: &str, max: usize) -> Option<(String, String)> {
        use base64::Engine as _;
        use sha2::Digest as _;
        let download = self.download(url, max as u64);
        match tokio::time::timeout(Duration::from_secs(10), download).await {
            Ok(Ok(bytes)) if !bytes.is_empty() => Some((
                hex::encode(sha2::Sha256::digest(&bytes)),
                base64::engine::general_purpose::STANDARD.encode(&bytes),
            )),
            other => {
                let answered = matches!(other, Ok(Ok(_)));
                tracing::info!(
                    guild,
                    url,
                    answered,
                    "an image could not be kept in the snapshot"
                );
                None
            }
        }
    }

    /// Stores an encoded document and applies retention, with their events, in one transaction.
    #[allow(clippy::too_many_arguments)]
    async fn store(
        &self,
        record: &GuildRecord,
        trigger: Trigger,
        label: Option<String>,
        encoded: &model::Encoded,
        as_of: DateTime<Utc>,
        pin_reason: Option<String>,
        slot: Option<i64>,
        actor: Option<u64>,
    ) -> Result<Option<Created>, SnapshotError> {
        let keep = self
            .licensing
            .entitlements(record.discord_id)
            .await?
            .snapshot_keep(Utc::now());
        let txn = crate::db::Tx::begin_on(&self.db).await?;
        persistence::lock_guild(&txn, record.id).await?;
        let inserted = persistence::insert(
            &txn,
            NewSnapshot {
                guild_row: record.id,
                trigger,
                label,
                encoded,
                pinned: pin_reason.is_some(),
                pin_reason,
                as_of,
                schedule_slot: slot,
                created_by: actor,
            },
        )
        .await?;
        let Some(meta) = inserted else {
            txn.rollback().await?;
            return Ok(None);
        };
        outbox::append(
            &txn,
            Self::event(
                event_types::SNAPSHOT_CREATED,
                record,
                &meta,
                actor,
                json!({}),
            ),
        )
        .await?;
        let expired = Self::expire_beyond(&txn, record, keep).await?;
        txn.commit().await?;
        Ok(Some(Created {
            meta,
            expired,
            keep,
        }))
    }

    async fn failed(&self, guild: u64, trigger: Trigger, error: &SnapshotError) {
        let Ok(record) = self.record(guild).await else {
            return;
        };
        let event = NewEvent::new(
            event_types::SNAPSHOT_FAILED,
            "guild",
            guild.to_string(),
            json!({
                "trigger": trigger.as_str(),
                "reason": error.to_string(),
                "guild_name": record.name,
                "owner_discord_id": record.owner_discord_id.to_string(),
            }),
        )
        .in_guild(to_db(guild));
        if let Err(e) = outbox::append(&self.db, event).await {
            tracing::warn!(guild, error = %e, "could not record a snapshot failure");
        }
    }

    /// A snapshot of the guild now (`/backup create`): the mirror must be live.
    pub async fn create_manual(
        &self,
        guild: u64,
        label: Option<String>,
        actor: u64,
    ) -> Result<Created, SnapshotError> {
        if self.sync.status(guild).await?.state != Some(SyncState::Live) {
            return Err(SnapshotError::NotSynced);
        }
        self.create_now(guild, Trigger::Manual, label, Some(actor))
            .await
    }

    /// The guild at `at` (`None`: now) frozen the way a snapshot is, without storing it, and
    /// the display names of its members (the time machine).
    pub async fn frozen(
        &self,
        guild: u64,
        at: Option<DateTime<Utc>>,
    ) -> Result<(SnapshotDocument, HashMap<u64, String>), SnapshotError> {
        let state = self
            .sync
            .state_as_of(guild, at)
            .await?
            .ok_or(SnapshotError::NoStateAt)?;
        tokio::task::spawn_blocking(move || {
            let doc = SnapshotDocument::from_state(&state).ok_or(SnapshotError::NoStateAt)?;
            let names = state
                .members
                .iter()
                .map(|m| {
                    let name = m.global_name.clone().unwrap_or_else(|| m.username.clone());
                    (m.discord_user_id, name)
                })
                .collect();
            Ok((doc, names))
        })
        .await
        .map_err(|e| SnapshotError::Join(e.to_string()))?
    }

    /// A manual snapshot of the guild as it was at `at` (the time machine's "restore this"):
    /// the moment must be within live sync's history.
    pub async fn create_as_of(
        &self,
        guild: u64,
        at: DateTime<Utc>,
        label: Option<String>,
        actor: u64,
    ) -> Result<Created, SnapshotError> {
        let record = self.record(guild).await?;
        let (doc, encoded) = self.build(guild, Some(at)).await?;
        self.store(
            &record,
            Trigger::Manual,
            label,
            &encoded,
            doc.as_of,
            None,
            None,
            Some(actor),
        )
        .await?
        .ok_or(SnapshotError::NotFound)
    }

    /// The snapshot a restore takes before it changes anything (for the restore engine).
    pub async fn create_pre_restore(
        &self,
        guild: u64,
        actor: u64,
    ) -> Result<Created, SnapshotError> {
        self.create_now(guild, Trigger::PreRestore, None, Some(actor))
            .await
    }

    #[tracing::instrument(name = "snapshot", skip_all, fields(guild, trigger = trigger.as_str()))]
    async fn create_now(
        &self,
        guild: u64,
        trigger: Trigger,
        label: Option<String>,
        actor: Option<u64>,
    ) -> Result<Created, SnapshotError> {
        let result = async {
            let record = self.record(guild).await?;
            let (doc, encoded) = self.build(guild, None).await?;
            self.store(
                &record, trigger, label, &encoded, doc.as_of, None, None, actor,
            )
            .await?
            .ok_or(SnapshotError::NotFound)
        }
        .await;
        // A manual snapshot that fails is answered to the person who asked; automatic triggers
        // report failures as events (audit, and the owner for scheduled ones).
        if let Err(e) = &result
            && trigger != Trigger::Manual
        {
            self.failed(guild, trigger, e).await;
        }
        result
    }

    /// An emergency snapshot of the guild as it was at `at` (AntiNuke: the state before the
    /// attack), pinned so that nothing rotates it out. One per `reason` (an incident): made
    /// again after a crash, the one already stored is returned.
    pub async fn create_emergency(
        &self,
        guild: u64,
        at: DateTime<Utc>,
        reason: &str,
    ) -> Result<Created, SnapshotError> {
        let result = async {
            let record = self.record(guild).await?;
            if let Some(meta) = persistence::find_emergency(&self.db, record.id, reason).await? {
                return Ok(Created {
                    meta,
                    expired: Vec::new(),
                    keep: 0,
                });
            }
            let (doc, encoded) = self.build(guild, Some(at)).await?;
            self.store(
                &record,
                Trigger::Emergency,
                None,
                &encoded,
                doc.as_of,
                Some(reason.to_owned()),
                None,
                None,
            )
            .await?
            .ok_or(SnapshotError::NotFound)
        }
        .await;
        if let Err(e) = &result {
            self.failed(guild, Trigger::Emergency, e).await;
        }
        result
    }

    /// Pins the last snapshot taken at or before `at` (an incident at `at`): returns it.
    pub async fn pin_last_before(
        &self,
        guild: u64,
        at: DateTime<Utc>,
        reason: &str,
    ) -> Result<Option<SnapshotMeta>, SnapshotError> {
        let record = self.record(guild).await?;
        let txn = crate::db::Tx::begin_on(&self.db).await?;
        persistence::lock_guild(&txn, record.id).await?;
        let Some(last) = persistence::last_before(&txn, record.id, at).await? else {
            txn.rollback().await?;
            return Ok(None);
        };
        let pinned = persistence::set_pinned(&txn, record.id, last.id, Some(reason)).await?;
        txn.commit().await?;
        Ok(pinned)
    }

    /// The guild's snapshots, newest first.
    pub async fn list(&self, guild: u64) -> Result<Vec<SnapshotMeta>, SnapshotError> {
        let record = self.record(guild).await?;
        Ok(persistence::list(&self.db, record.id, LIST_LIMIT).await?)
    }

    /// The newest snapshot (for `/umbra status`).
    pub async fn latest(&self, guild: u64) -> Result<Option<SnapshotMeta>, SnapshotError> {
        match self.guilds.guild(guild).await? {
            Some(record) => Ok(persistence::latest(&self.db, record.id).await?),
            None => Ok(None),
        }
    }

    /// Finds a snapshot by id, short id (last 8 hex digits) or exact label.
    pub async fn find(&self, guild: u64, reference: &str) -> Result<SnapshotMeta, SnapshotError> {
        let record = self.record(guild).await?;
        let reference = reference.trim();
        if let Ok(id) = Uuid::parse_str(reference)
            && let Some(meta) = persistence::find(&self.db, record.id, id, false).await?
        {
            return Ok(meta);
        }
        let list = persistence::list(&self.db, record.id, 1000).await?;
        if reference.len() == 8
            && let Some(meta) = list
                .iter()
                .find(|m| m.short_id().eq_ignore_ascii_case(reference))
        {
            return Ok(meta.clone());
        }
        persistence::find_by_label(&self.db, record.id, reference)
            .await?
            .ok_or(SnapshotError::NotFound)
    }

    /// A snapshot's document, verified against its checksum (what a restore reads).
    pub async fn document(
        &self,
        guild: u64,
        id: Uuid,
    ) -> Result<(SnapshotMeta, SnapshotDocument), SnapshotError> {
        let record = self.record(guild).await?;
        let (meta, payload) = persistence::with_payload(&self.db, record.id, id)
            .await?
            .ok_or(SnapshotError::NotFound)?;
        let max = self.settings.max_document_bytes;
        let checksum = meta.checksum.clone();
        let doc = tokio::task::spawn_blocking(move || model::decode(&payload, &checksum, max))
            .await
            .map_err(|e| SnapshotError::Join(e.to_string()))?
            .map_err(SnapshotError::Corrupt)?;
        Ok((meta, doc))
    }

    /// Deletes a snapshot (pinned ones must be unpinned first).
    pub async fn delete(
        &self,
        guild: u64,
        id: Uuid,
        actor: u64,
    ) -> Result<SnapshotMeta, SnapshotError> {
        let record = self.record(guild).await?;
        let txn = crate::db::Tx::begin_on(&self.db).await?;
        persistence::lock_guild(&txn, record.id).await?;
        let meta = persistence::find(&txn, record.id, id, true)
            .await?
            .ok_or(SnapshotError::NotFound)?;
        if meta.pinned {
            return Err(SnapshotError::Pinned);
        }
        persistence::delete(&txn, record.id, id).await?;
        outbox::append(
            &txn,
            Self::event(
                event_types::SNAPSHOT_DELETED,
                &record,
                &meta,
                Some(actor),
                json!({}),
            ),
        )
        .await?;
        txn.commit().await?;
        Ok(meta)
    }

    /// Pins a snapshot (at most the plan's retention count of pinned snapshots).
    pub async fn pin(
        &self,
        guild: u64,
        id: Uuid,
        actor: u64,
    ) -> Result<SnapshotMeta, SnapshotError> {
        let record = self.record(guild).await?;
        let max = self
            .licensing
            .entitlements(guild)
            .await?
            .plan
            .snapshot_retention;
        let txn = crate::db::Tx::begin_on(&self.db).await?;
        persistence::lock_guild(&txn, record.id).await?;
        let meta = persistence::find(&txn, record.id, id, true)
            .await?
            .ok_or(SnapshotError::NotFound)?;
        if meta.pinned {
            return Ok(meta);
        }
        if persistence::pinned_count(&txn, record.id).await? >= i64::from(max) {
            return Err(SnapshotError::PinLimit(max));
        }
        let pinned =
            persistence::set_pinned(&txn, record.id, id, Some(&format!("manual by {actor}")))
                .await?
                .ok_or(SnapshotError::NotFound)?;
        txn.commit().await?;
        Ok(pinned)
    }

    /// Unpins a snapshot; it counts against the retention again at once (what is over it
    /// expires now). Returns the snapshot and what expired. An AntiNuke incident's snapshot is
    /// the owner's to unpin (`by_owner`): anyone else is refused.
    pub async fn unpin(
        &self,
        guild: u64,
        id: Uuid,
        by_owner: bool,
    ) -> Result<(SnapshotMeta, Vec<SnapshotMeta>), SnapshotError> {
        let record = self.record(guild).await?;
        if !by_owner && persistence::is_incident_snapshot(&self.db, id).await? {
            return Err(SnapshotError::IncidentPin);
        }
        let keep = self
            .licensing
            .entitlements(guild)
            .await?
            .snapshot_keep(Utc::now());
        let txn = crate::db::Tx::begin_on(&self.db).await?;
        persistence::lock_guild(&txn, record.id).await?;
        let meta = persistence::set_pinned(&txn, record.id, id, None)
            .await?
            .ok_or(SnapshotError::NotFound)?;
        let expired = Self::expire_beyond(&txn, &record, keep).await?;
        txn.commit().await?;
        Ok((meta, expired))
    }

    /// The largest import file accepted (`snapshot.import_max_bytes`).
    pub fn import_max_bytes(&self) -> u64 {
        self.settings.import_max_bytes
    }

    /// The export file of a snapshot.
    pub async fn export(
        &self,
        guild: u64,
        id: Uuid,
    ) -> Result<(SnapshotMeta, Vec<u8>), SnapshotError> {
        let (meta, doc) = self.document(guild, id).await?;
        let label = meta.label.clone();
        let trigger = meta.trigger.as_str();
        let created = meta.created_at;
        let bytes = tokio::task::spawn_blocking(move || {
            ExportFile::new(doc, label, trigger, created)?.to_bytes()
        })
        .await
        .map_err(|e| SnapshotError::Join(e.to_string()))?
        .map_err(SnapshotError::Encode)?;
        let size = bytes.len() as u64;
        if size > self.settings.export_max_bytes {
            return Err(SnapshotError::ExportTooLarge {
                size,
                max: self.settings.export_max_bytes,
            });
        }
        Ok((meta, bytes))
    }

    /// Stores an export file as a snapshot of this guild (trigger `import`): size, versions,
    /// checksum and structure are checked first; nothing is stored when one fails.
    pub async fn import(
        &self,
        guild: u64,
        bytes: Vec<u8>,
        label: Option<String>,
        actor: u64,
    ) -> Result<(Created, ExportFile), SnapshotError> {
        let size = bytes.len() as u64;
        if size > self.settings.import_max_bytes {
            return Err(SnapshotError::FileTooLarge {
                size,
                max: self.settings.import_max_bytes,
            });
        }
        let record = self.record(guild).await?;
        let (file, encoded) = tokio::task::spawn_blocking(move || {
            let file = ExportFile::parse(&bytes)?;
            let encoded = model::encode(&file.document).map_err(SnapshotError::Encode)?;
            Ok::<_, SnapshotError>((file, encoded))
        })
        .await
        .map_err(|e| SnapshotError::Join(e.to_string()))??;
        let label = label.or_else(|| file.label.clone());
        let created = self
            .store(
                &record,
                Trigger::Import,
                label,
                &encoded,
                file.document.as_of,
                None,
                None,
                Some(actor),
            )
            .await?
            .ok_or(SnapshotError::NotFound)?;
        Ok((created, file))
    }

    /// One scheduled run for `guild` at `now`: a snapshot for the current slot of its interval
    /// (never below the plan's minimum) unless the slot has one; an unchanged state moves the
    /// previous scheduled snapshot to this slot instead of storing it twice.
    #[tracing::instrument(name = "scheduled_snapshot", skip_all, fields(guild))]
    pub async fn scheduled(&self, guild: u64, now: DateTime<Utc>) -> ScheduledOutcome {
        let outcome = self.scheduled_inner(guild, now).await;
        match outcome {
            Ok(o) => o,
            Err((slot, e)) => {
                let first = self
                    .reported_failures
                    .lock()
                    .map(|mut m| m.insert(guild, slot) != Some(slot))
                    .unwrap_or(true);
                tracing::warn!(guild, slot, error = %e, "a scheduled snapshot failed");
                if first {
                    self.failed(guild, Trigger::Scheduled, &e).await;
                }
                ScheduledOutcome::Failed(e.to_string())
            }
        }
    }

    async fn scheduled_inner(
        &self,
        guild: u64,
        now: DateTime<Utc>,
    ) -> Result<ScheduledOutcome, (i64, SnapshotError)> {
        let wrap = |slot: i64| move |e: SnapshotError| (slot, e);
        let settings = self
            .guilds
            .settings(guild)
            .await
            .map_err(|e| wrap(-1)(e.into()))?;
        let Some(requested) = settings
            .snapshot_interval_minutes
            .and_then(|m| u32::try_from(m).ok())
        else {
            return Ok(ScheduledOutcome::Off);
        };
        let entitlements = self
            .licensing
            .entitlements(guild)
            .await
            .map_err(|e| wrap(-1)(e.into()))?;
        let interval = entitlements.clamp_interval(requested);
        let slot = model::schedule_slot(now, interval);
        let record = self.record(guild).await.map_err(wrap(slot))?;
        if persistence::slot_taken(&self.db, record.id, slot)
            .await
            .map_err(|e| wrap(slot)(e.into()))?
        {
            return Ok(ScheduledOutcome::NotDue);
        }
        if self
            .sync
            .status(guild)
            .await
            .map_err(|e| wrap(slot)(e.into()))?
            .state
            != Some(SyncState::Live)
        {
            return Ok(ScheduledOutcome::NotLive);
        }
        let (doc, encoded) = self.build(guild, None).await.map_err(wrap(slot))?;
        let previous = persistence::latest_scheduled(&self.db, record.id)
            .await
            .map_err(|e| wrap(slot)(e.into()))?;
        if let Some(prev) = previous
            && prev.content_hash == encoded.content_hash
        {
            let txn = crate::db::Tx::begin_on(&self.db)
                .await
                .map_err(|e| wrap(slot)(e.into()))?;
            persistence::lock_guild(&txn, record.id)
                .await
                .map_err(|e| wrap(slot)(e.into()))?;
            persistence::reslot(&txn, record.id, prev.id, slot)
                .await
                .map_err(|e| wrap(slot)(e.into()))?;
            txn.commit().await.map_err(|e| wrap(slot)(e.into()))?;
            return Ok(ScheduledOutcome::Unchanged(prev.id));
        }
        match self
            .store(
                &record,
                Trigger::Scheduled,
                None,
                &encoded,
                doc.as_of,
                None,
                Some(slot),
                None,
            )
            .await
            .map_err(wrap(slot))?
        {
            Some(created) => Ok(ScheduledOutcome::Created(created.meta.id)),
            None => Ok(ScheduledOutcome::NotDue),
        }
    }

    /// Applies the plan's retention now (after a plan change, the next pass catches up).
    pub async fn apply_retention(&self, guild: u64) -> Result<Vec<SnapshotMeta>, SnapshotError> {
        let record = self.record(guild).await?;
        let keep = self
            .licensing
            .entitlements(guild)
            .await?
            .snapshot_keep(Utc::now());
        let txn = crate::db::Tx::begin_on(&self.db).await?;
        persistence::lock_guild(&txn, record.id).await?;
        let expired = Self::expire_beyond(&txn, &record, keep).await?;
        txn.commit().await?;
        Ok(expired)
    }

    /// The scheduler worker: every poll interval, the retention and a scheduled run for each
    /// guild this process syncs. Safe with several processes (slots are unique per guild,
    /// retention runs under a per-guild transaction lock).
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
        while !*shutdown.borrow() {
            for guild in self.sync.guilds() {
                if *shutdown.borrow() {
                    break;
                }
                if let Err(e) = self.apply_retention(guild).await {
                    tracing::warn!(guild, error = %e, "applying snapshot retention failed; will retry");
                }
                match self.scheduled(guild, Utc::now()).await {
                    ScheduledOutcome::Created(id) => {
                        tracing::info!(guild, %id, "scheduled snapshot stored")
                    }
                    ScheduledOutcome::Unchanged(id) => {
                        tracing::debug!(guild, %id, "guild unchanged since the last scheduled snapshot")
                    }
                    _ => {}
                }
            }
            tokio::select! {
                () = tokio::time::sleep(self.settings.poll_interval) => {}
                _ = shutdown.changed() => {}
            }
        }
        Ok(())
    }
}

/// Where a scheduled event's cover image is in a document's `pictures`.
pub fn event_image_key(event: u64) -> String {
    format!("event.{event}.image")
}

/// Where a webhook's avatar is in a document's `pictures`.
pub fn webhook_avatar_key(webhook: u64) -> String {
    format!("webhook.{webhook}.avatar")
}

/// The guild's pictures a snapshot keeps: (key in `pictures`, Discord's image hash, CDN URL).
fn pictures_of(doc: &SnapshotDocument) -> Vec<(String, String, String)> {
    let cdn = "https://cdn.discordapp.com";
    let ext = |hash: &str| if hash.starts_with("a_") { "gif" } else { "png" };
    let g = doc.guild_id;
    let s = &doc.settings;
    let mut out = Vec::new();
    for (key, kind, hash) in [
        ("guild.icon", "icons", &s.icon),
        ("guild.banner", "banners", &s.banner),
        ("guild.splash", "splashes", &s.splash),
        (
            "guild.discovery_splash",
            "discovery-splashes",
            &s.discovery_splash,
        ),
    ] {
        if let Some(h) = hash {
            out.push((
                key.to_owned(),
                h.clone(),
                format!("{cdn}/{kind}/{g}/{h}.{}", ext(h)),
            ));
        }
    }
    for r in &doc.roles {
        if let Some(h) = &r.icon {
            out.push((
                format!("role.{}.icon", r.original_id),
                h.clone(),
                format!("{cdn}/role-icons/{}/{h}.{}", r.original_id, ext(h)),
            ));
        }
    }
    for e in doc.events.iter().flatten() {
        if let Some(h) = &e.image {
            out.push((
                event_image_key(e.original_id),
                h.clone(),
                format!("{cdn}/guild-events/{}/{h}.png", e.original_id),
            ));
        }
    }
    for w in doc.webhooks.iter().flatten() {
        if let Some(h) = &w.avatar {
            out.push((
                webhook_avatar_key(w.original_id),
                h.clone(),
                format!("{cdn}/avatars/{}/{h}.{}", w.original_id, ext(h)),
            ));
        }
    }
    out
}
