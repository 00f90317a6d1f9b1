//! Purpose: `/backup create | list | info | delete | pin | unpin | export | import | schedule |
//! messages` —
//! trusted users only (owner and trusted users/roles: in a nuke the attacker is usually an
//! administrator), localized, snapshots offered by label and date in autocomplete.

use chrono::{DateTime, Utc};
use poise::CreateReply;
use poise::serenity_prelude as serenity;

use super::model::{SnapshotMeta, Trigger, clean_label};
use super::service::SnapshotError;
use crate::discord::{checks, reply};
use crate::error::{Error, UserError};
use crate::i18n::{ArgValue, Locale, Msg, arg, msg};
use crate::licensing::LicensingReader;
use crate::types::{Context, Data};

fn guild_of(ctx: Context<'_>) -> Result<u64, Error> {
    ctx.guild_id()
        .map(|g| g.get())
        .ok_or_else(|| Error::user(msg::ERROR_GUILD_ONLY))
}

/// A size for people: `812 B`, `12.3 KB`, `4.1 MB`.
pub fn human_size(bytes: i64) -> String {
    let b = bytes.max(0) as f64;
    if b < 1024.0 {
        format!("{bytes} B")
    } else if b < 1024.0 * 1024.0 {
        format!("{:.1} KB", b / 1024.0)
    } else {
        format!("{:.1} MB", b / (1024.0 * 1024.0))
    }
}

/// A time shown in each reader's own time zone by Discord.
fn when(t: DateTime<Utc>) -> String {
    format!("<t:{}:f>", t.timestamp())
}

pub fn trigger_msg(t: Trigger) -> Msg {
    match t {
        Trigger::Manual => msg::BACKUP_TRIGGER_MANUAL,
        Trigger::Scheduled => msg::BACKUP_TRIGGER_SCHEDULED,
        Trigger::PreRestore => msg::BACKUP_TRIGGER_PRE_RESTORE,
        Trigger::Emergency => msg::BACKUP_TRIGGER_EMERGENCY,
        Trigger::Import => msg::BACKUP_TRIGGER_IMPORT,
    }
}

pub fn map_err(e: SnapshotError, reference: &str) -> Error {
    let user = |m: Msg| Error::User(UserError::new(m));
    match e {
        SnapshotError::NotSynced | SnapshotError::NoStateAt => user(msg::ERROR_BACKUP_NOT_SYNCED),
        SnapshotError::NotFound => {
            Error::User(UserError::new(msg::ERROR_BACKUP_NOT_FOUND).with("snapshot", reference))
        }
        SnapshotError::Pinned => {
            Error::User(UserError::new(msg::ERROR_BACKUP_PINNED).with("snapshot", reference))
        }
        SnapshotError::PinLimit(max) => {
            Error::User(UserError::new(msg::ERROR_BACKUP_PIN_LIMIT).with("max", max))
        }
        SnapshotError::IncidentPin => user(msg::ERROR_INCIDENT_PIN_OWNER_ONLY),
        SnapshotError::FileTooLarge { size, max } => Error::User(
            UserError::new(msg::ERROR_BACKUP_FILE_TOO_LARGE)
                .with("size", human_size(i64::try_from(size).unwrap_or(i64::MAX)))
                .with("max", human_size(i64::try_from(max).unwrap_or(i64::MAX))),
        ),
        SnapshotError::ExportTooLarge { size, max } => Error::User(
            UserError::new(msg::ERROR_BACKUP_EXPORT_TOO_LARGE)
                .with("size", human_size(i64::try_from(size).unwrap_or(i64::MAX)))
                .with("max", human_size(i64::try_from(max).unwrap_or(i64::MAX))),
        ),
        SnapshotError::Corrupt(_) => {
            Error::User(UserError::new(msg::ERROR_BACKUP_CORRUPT).with("snapshot", reference))
        }
        SnapshotError::Import(e) => {
            use super::model::ImportError as I;
            match e {
                I::NotJson(_) | I::NotUmbra => user(msg::ERROR_BACKUP_FILE_NOT_UMBRA),
                I::Version(v) => Error::User(
                    UserError::new(msg::ERROR_BACKUP_FILE_VERSION)
                        .with("version", v)
                        .with("supported", super::model::FORMAT_VERSION),
                ),
                I::Checksum => user(msg::ERROR_BACKUP_FILE_CHECKSUM),
                I::Structure(details) => Error::User(
                    UserError::new(msg::ERROR_BACKUP_FILE_INVALID).with("details", details),
                ),
            }
        }
        other => Error::Internal(anyhow::Error::new(other).context("a backup command failed")),
    }
}

async fn resolve(ctx: Context<'_>, guild: u64, reference: &str) -> Result<SnapshotMeta, Error> {
    ctx.data()
        .snapshots
        .find(guild, reference)
        .await
        .map_err(|e| map_err(e, reference))
}

/// Snapshots matching what the user typed (label, date, trigger or id), newest first.
async fn autocomplete_snapshot(
    ctx: Context<'_>,
    partial: &str,
) -> serenity::CreateAutocompleteResponse {
    let Some(guild) = ctx.guild_id() else {
        return serenity::CreateAutocompleteResponse::new();
    };
    let locale = reply::locale(ctx).await;
    let data = ctx.data();
    let needle = partial.trim().to_lowercase();
    let choices = data
        .snapshots
        .list(guild.get())
        .await
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| {
            let trigger = data.i18n.text(locale, &trigger_msg(m.trigger), &[]);
            let pin = if m.pinned { " 📌" } else { "" };
            let mut name = format!(
                "{} — {} UTC — {trigger}{pin}",
                m.display_name(),
                m.created_at.format("%Y-%m-%d %H:%M")
            );
            let matches = needle.is_empty()
                || name.to_lowercase().contains(&needle)
                || m.id.to_string().contains(&needle);
            if !matches {
                return None;
            }
            name = name.chars().take(100).collect();
            Some(serenity::AutocompleteChoice::new(name, m.id.to_string()))
        })
        .take(25)
        .collect();
    serenity::CreateAutocompleteResponse::new().set_choices(choices)
}

fn counts<'a>(m: &SnapshotMeta) -> Vec<(&'a str, ArgValue)> {
    vec![
        arg("roles", m.role_count),
        arg("channels", m.channel_count),
        arg("overwrites", m.overwrite_count),
        arg("members", m.member_count),
        arg("size", human_size(m.size_bytes)),
    ]
}

/// Backups of this server (owner and trusted users).
#[poise::command(
    slash_command,
    guild_only,
    check = "checks::trusted",
    subcommands(
        "create", "list", "info", "delete", "pin", "unpin", "export", "import", "schedule",
        "messages"
    ),
    subcommand_required
)]
pub async fn backup(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// Takes a snapshot of the server now.
#[poise::command(slash_command, guild_only, ephemeral)]
pub async fn create(ctx: Context<'_>, label: Option<String>) -> Result<(), Error> {
    let guild = guild_of(ctx)?;
    let label = clean_label(label.as_deref()).map_err(|max| {
        Error::User(UserError::new(msg::ERROR_BACKUP_LABEL_TOO_LONG).with("max", max))
    })?;
    ctx.defer_ephemeral().await?;
    let created = ctx
        .data()
        .snapshots
        .create_manual(guild, label, ctx.author().id.get())
        .await
        .map_err(|e| map_err(e, ""))?;
    let locale = reply::locale(ctx).await;
    let data = ctx.data();
    let m = &created.meta;
    let mut args = counts(m);
    args.push(arg("label", m.display_name()));
    args.push(arg("id", m.short_id()));
    let mut text = data.i18n.text(locale, &msg::BACKUP_CREATED, &args);
    if !created.expired.is_empty() {
        text.push('\n');
        text.push_str(&data.i18n.text(
            locale,
            &msg::BACKUP_EXPIRED_NOTE,
            &[
                arg("count", created.expired.len()),
                arg("keep", created.keep),
            ],
        ));
    }
    ctx.send(CreateReply::default().content(text).ephemeral(true))
        .await?;
    Ok(())
}

/// Lists this server's snapshots.
#[poise::command(slash_command, guild_only, ephemeral)]
pub async fn list(ctx: Context<'_>) -> Result<(), Error> {
    let guild = guild_of(ctx)?;
    let data = ctx.data();
    let snapshots = data
        .snapshots
        .list(guild)
        .await
        .map_err(|e| map_err(e, ""))?;
    let keep = data
        .licensing
        .entitlements(guild)
        .await
        .map(|e| e.plan.snapshot_retention)
        .unwrap_or(0);
    let locale = reply::locale(ctx).await;
    if snapshots.is_empty() {
        return reply::say(ctx, msg::BACKUP_LIST_EMPTY, &[], true).await;
    }
    let mut lines = vec![data.i18n.text(
        locale,
        &msg::BACKUP_LIST_TITLE,
        &[arg("count", snapshots.len()), arg("keep", keep)],
    )];
    for m in &snapshots {
        let pinned = if m.pinned {
            data.i18n.text(locale, &msg::BACKUP_PINNED_MARK, &[])
        } else {
            String::new()
        };
        lines.push(data.i18n.text(
            locale,
            &msg::BACKUP_LIST_LINE,
            &[
                arg("label", m.display_name()),
                arg("id", m.short_id()),
                arg("when", when(m.created_at)),
                arg(
                    "trigger",
                    data.i18n.text(locale, &trigger_msg(m.trigger), &[]),
                ),
                arg("members", m.member_count),
                arg("size", human_size(m.size_bytes)),
                arg("pinned", pinned),
            ],
        ));
    }
    let mut text = lines.join("\n");
    if text.chars().count() > 1990 {
        text = text.chars().take(1990).collect();
    }
    ctx.send(CreateReply::default().content(text).ephemeral(true))
        .await?;
    Ok(())
}

/// Shows the details of a snapshot.
#[poise::command(slash_command, guild_only, ephemeral)]
pub async fn info(
    ctx: Context<'_>,
    #[autocomplete = "autocomplete_snapshot"] snapshot: String,
) -> Result<(), Error> {
    let guild = guild_of(ctx)?;
    let m = resolve(ctx, guild, &snapshot).await?;
    let locale = reply::locale(ctx).await;
    let data = ctx.data();
    let none = data.i18n.text(locale, &msg::STATUS_NONE, &[]);
    let mut args = counts(&m);
    args.extend([
        arg("label", m.display_name()),
        arg("id", m.id.to_string()),
        arg(
            "bans",
            match m.ban_count {
                Some(n) => data
                    .i18n
                    .text(locale, &msg::BACKUP_INFO_BANS, &[arg("count", n)]),
                None => data.i18n.text(locale, &msg::BACKUP_INFO_BANS_UNKNOWN, &[]),
            },
        ),
        arg(
            "more",
            // Emojis, stickers and AutoMod rules are counted in the document itself.
            match data.snapshots.document(guild, m.id).await {
                Ok((_, doc)) => data.i18n.text(
                    locale,
                    &msg::BACKUP_INFO_MORE,
                    &[
                        arg("emojis", doc.emojis.as_ref().map_or(0, Vec::len)),
                        arg("stickers", doc.stickers.as_ref().map_or(0, Vec::len)),
                        arg("threads", doc.threads.as_ref().map_or(0, Vec::len)),
                        arg("events", doc.events.as_ref().map_or(0, Vec::len)),
                        arg(
                            "onboarding",
                            doc.onboarding.as_ref().map_or(0, |o| o.prompts.len()),
                        ),
                        arg("webhooks", doc.webhooks.as_ref().map_or(0, Vec::len)),
                        arg(
                            "messages",
                            doc.messages
                                .iter()
                                .flatten()
                                .map(|c| c.messages.len())
                                .sum::<usize>(),
                        ),
                        arg(
                            "automod",
                            match &doc.automod {
                                Some(rules) => data.i18n.text(
                                    locale,
                                    &msg::BACKUP_INFO_AUTOMOD,
                                    &[arg("count", rules.len())],
                                ),
                                None => {
                                    data.i18n
                                        .text(locale, &msg::BACKUP_INFO_AUTOMOD_UNKNOWN, &[])
                                }
                            },
                        ),
                    ],
                ),
                Err(e) => {
                    tracing::warn!(error = %e, "a snapshot's document could not be read for /backup info");
                    data.i18n.text(locale, &msg::BACKUP_INFO_MORE_UNKNOWN, &[])
                }
            },
        ),
        arg(
            "trigger",
            data.i18n.text(locale, &trigger_msg(m.trigger), &[]),
        ),
        arg("created", when(m.created_at)),
        arg("as_of", when(m.as_of)),
        arg("uncompressed", human_size(m.uncompressed_bytes)),
        arg("checksum", hex::encode(&m.checksum)[..16].to_owned()),
        arg(
            "pinned",
            if m.pinned {
                data.i18n.text(locale, &msg::STATUS_ENABLED, &[])
            } else {
                data.i18n.text(locale, &msg::STATUS_DISABLED, &[])
            },
        ),
        arg(
            "creator",
            m.created_by.map(|u| format!("<@{u}>")).unwrap_or(none),
        ),
    ]);
    reply::say(ctx, msg::BACKUP_INFO, &args, true).await
}

/// Deletes a snapshot (unpin it first if it is pinned).
#[poise::command(slash_command, guild_only, ephemeral)]
pub async fn delete(
    ctx: Context<'_>,
    #[autocomplete = "autocomplete_snapshot"] snapshot: String,
) -> Result<(), Error> {
    let guild = guild_of(ctx)?;
    let m = resolve(ctx, guild, &snapshot).await?;
    let deleted = ctx
        .data()
        .snapshots
        .delete(guild, m.id, ctx.author().id.get())
        .await
        .map_err(|e| map_err(e, &m.display_name()))?;
    reply::say(
        ctx,
        msg::BACKUP_DELETED,
        &[arg("label", deleted.display_name())],
        true,
    )
    .await
}

/// Pins a snapshot: it never expires and does not count against your plan's retention.
#[poise::command(slash_command, guild_only, ephemeral)]
pub async fn pin(
    ctx: Context<'_>,
    #[autocomplete = "autocomplete_snapshot"] snapshot: String,
) -> Result<(), Error> {
    let guild = guild_of(ctx)?;
    let m = resolve(ctx, guild, &snapshot).await?;
    let pinned = ctx
        .data()
        .snapshots
        .pin(guild, m.id, ctx.author().id.get())
        .await
        .map_err(|e| map_err(e, &m.display_name()))?;
    reply::say(
        ctx,
        msg::BACKUP_PINNED,
        &[arg("label", pinned.display_name())],
        true,
    )
    .await
}

/// Unpins a snapshot: it counts against your plan's retention again.
#[poise::command(slash_command, guild_only, ephemeral)]
pub async fn unpin(
    ctx: Context<'_>,
    #[autocomplete = "autocomplete_snapshot"] snapshot: String,
) -> Result<(), Error> {
    let guild = guild_of(ctx)?;
    let m = resolve(ctx, guild, &snapshot).await?;
    let by_owner = checks::is_owner(ctx).await?;
    let (unpinned, expired) = ctx
        .data()
        .snapshots
        .unpin(guild, m.id, by_owner)
        .await
        .map_err(|e| map_err(e, &m.display_name()))?;
    let locale = reply::locale(ctx).await;
    let data = ctx.data();
    let mut text = data.i18n.text(
        locale,
        &msg::BACKUP_UNPINNED,
        &[arg("label", unpinned.display_name())],
    );
    if !expired.is_empty() {
        let keep = data
            .licensing
            .entitlements(guild)
            .await
            .map(|e| e.plan.snapshot_retention)
            .unwrap_or(0);
        text.push('\n');
        text.push_str(&data.i18n.text(
            locale,
            &msg::BACKUP_EXPIRED_NOTE,
            &[arg("count", expired.len()), arg("keep", keep)],
        ));
    }
    ctx.send(CreateReply::default().content(text).ephemeral(true))
        .await?;
    Ok(())
}

/// Sends a snapshot as a JSON file.
#[poise::command(slash_command, guild_only, ephemeral)]
pub async fn export(
    ctx: Context<'_>,
    #[autocomplete = "autocomplete_snapshot"] snapshot: String,
) -> Result<(), Error> {
    let guild = guild_of(ctx)?;
    let m = resolve(ctx, guild, &snapshot).await?;
    ctx.defer_ephemeral().await?;
    let (meta, bytes) = ctx
        .data()
        .snapshots
        .export(guild, m.id)
        .await
        .map_err(|e| map_err(e, &m.display_name()))?;
    let filename = format!(
        "umbra-snapshot-{guild}-{}.json",
        meta.created_at.format("%Y%m%d-%H%M%S")
    );
    let text = reply::text(
        ctx,
        msg::BACKUP_EXPORTED,
        &[
            arg("label", meta.display_name()),
            arg("size", human_size(bytes.len() as i64)),
        ],
    )
    .await;
    ctx.send(
        CreateReply::default()
            .content(text)
            .attachment(serenity::CreateAttachment::bytes(bytes, filename))
            .ephemeral(true),
    )
    .await?;
    Ok(())
}

/// Stores a snapshot file (from `/backup export`) as a snapshot of this server.
#[poise::command(slash_command, guild_only, ephemeral)]
pub async fn import(
    ctx: Context<'_>,
    file: serenity::Attachment,
    label: Option<String>,
) -> Result<(), Error> {
    let guild = guild_of(ctx)?;
    let label = clean_label(label.as_deref()).map_err(|max| {
        Error::User(UserError::new(msg::ERROR_BACKUP_LABEL_TOO_LONG).with("max", max))
    })?;
    let data = ctx.data();
    let max = data.snapshots.settings.import_max_bytes;
    if u64::from(file.size) > max {
        return Err(map_err(
            SnapshotError::FileTooLarge {
                size: u64::from(file.size),
                max,
            },
            "",
        ));
    }
    ctx.defer_ephemeral().await?;
    let bytes = data
        .snapshots
        .download(&file.url, max)
        .await
        .map_err(|e| match e {
            SnapshotError::FileTooLarge { .. } => map_err(e, ""),
            other => {
                tracing::info!(error = %other, "downloading an imported snapshot failed");
                Error::user(msg::ERROR_BACKUP_FILE_DOWNLOAD)
            }
        })?;
    let (created, file) = data
        .snapshots
        .import(guild, bytes, label, ctx.author().id.get())
        .await
        .map_err(|e| map_err(e, ""))?;
    let locale = reply::locale(ctx).await;
    let m = &created.meta;
    let mut args = counts(m);
    args.extend([
        arg("label", m.display_name()),
        arg("id", m.short_id()),
        arg("source", file.guild_name.clone()),
        arg("as_of", when(file.document.as_of)),
    ]);
    let mut text = data.i18n.text(locale, &msg::BACKUP_IMPORTED, &args);
    if !created.expired.is_empty() {
        text.push('\n');
        text.push_str(&data.i18n.text(
            locale,
            &msg::BACKUP_EXPIRED_NOTE,
            &[
                arg("count", created.expired.len()),
                arg("keep", created.keep),
            ],
        ));
    }
    ctx.send(CreateReply::default().content(text).ephemeral(true))
        .await?;
    Ok(())
}

/// Takes snapshots automatically every given number of minutes (leave empty to stop).
#[poise::command(slash_command, guild_only, ephemeral)]
pub async fn schedule(
    ctx: Context<'_>,
    #[min = 1]
    #[max = 525600]
    minutes: Option<u32>,
) -> Result<(), Error> {
    let guild = guild_of(ctx)?;
    let data = ctx.data();
    let minimum = data
        .licensing
        .entitlements(guild)
        .await
        .map_err(|e| Error::Internal(anyhow::Error::new(e).context("reading entitlements")))?
        .plan
        .min_snapshot_interval_minutes;
    let interval = minutes.map(|m| m.max(minimum));
    data.guilds
        .change_settings(
            guild,
            ctx.author().id.get(),
            crate::guild::service::SettingsChange::SnapshotInterval(
                interval.and_then(|m| i32::try_from(m).ok()),
            ),
        )
        .await
        .map_err(|e| {
            Error::Internal(anyhow::Error::new(e).context("saving the snapshot interval"))
        })?;
    match (minutes, interval) {
        (Some(asked), Some(set)) if set > asked => {
            reply::say(
                ctx,
                msg::BACKUP_SCHEDULE_RAISED,
                &[arg("minutes", set), arg("requested", asked)],
                true,
            )
            .await
        }
        (_, Some(set)) => {
            reply::say(ctx, msg::BACKUP_SCHEDULE_SET, &[arg("minutes", set)], true).await
        }
        _ => reply::say(ctx, msg::BACKUP_SCHEDULE_OFF, &[], true).await,
    }
}

// Opt-in, bounded by the plan, needs the Message Content intent. No option: shows the
// setting; a channel: keeps its messages (`keep: False` stops); `keep: False` alone turns
// message backups off; `count`: how many per channel. Adding a channel without the intent
// says what to enable and changes nothing.
/// Keeps the last messages of chosen channels in every snapshot.
#[poise::command(slash_command, guild_only, ephemeral)]
pub async fn messages(
    ctx: Context<'_>,
    #[channel_types("Text", "News")] channel: Option<serenity::GuildChannel>,
    keep: Option<bool>,
    #[min = 1]
    #[max = 10000]
    count: Option<u32>,
) -> Result<(), Error> {
    use crate::guild::GuildReader as _;
    let guild = guild_of(ctx)?;
    let data = ctx.data();
    let internal = |what: &'static str| {
        move |e: crate::guild::GuildError| Error::Internal(anyhow::Error::new(e).context(what))
    };
    let settings = data
        .guilds
        .settings(guild)
        .await
        .map_err(internal("reading the guild's settings"))?;
    let plan = data
        .licensing
        .entitlements(guild)
        .await
        .map_err(|e| Error::Internal(anyhow::Error::new(e).context("reading entitlements")))?
        .plan;
    let mut channels = settings.message_channel_ids.clone();
    let mut adds = false;
    match (&channel, keep) {
        (Some(c), Some(false)) => channels.retain(|x| *x != c.id.get()),
        (Some(c), _) => {
            if !channels.contains(&c.id.get()) {
                channels.push(c.id.get());
                adds = true;
            }
        }
        (None, Some(false)) => channels.clear(),
        (None, _) => {}
    }
    let limit = count.or(settings.message_limit);
    let changed = channels != settings.message_channel_ids || limit != settings.message_limit;
    if changed && !channels.is_empty() {
        let user = |m: Msg| Error::User(UserError::new(m));
        if plan.message_channels == 0 || plan.messages_per_channel == 0 {
            return Err(user(msg::ERROR_MESSAGES_PLAN));
        }
        if adds && channels.len() > plan.message_channels as usize {
            return Err(Error::User(
                UserError::new(msg::ERROR_MESSAGES_CHANNELS).with("max", plan.message_channels),
            ));
        }
        if count.is_some_and(|n| n > plan.messages_per_channel) {
            return Err(Error::User(
                UserError::new(msg::ERROR_MESSAGES_COUNT).with("max", plan.messages_per_channel),
            ));
        }
        if adds {
            ctx.defer_ephemeral().await?;
            let allowed = data
                .snapshots
                .message_content_allowed()
                .await
                .map_err(|e| {
                    Error::Internal(
                        anyhow::Error::new(e).context("reading the application's flags"),
                    )
                })?;
            if !allowed {
                return Err(user(msg::ERROR_MESSAGES_INTENT));
            }
        }
    }
    if changed {
        data.guilds
            .change_settings(
                guild,
                ctx.author().id.get(),
                crate::guild::service::SettingsChange::Messages {
                    channels: channels.clone(),
                    limit,
                },
            )
            .await
            .map_err(internal("saving the message backups"))?;
    }
    if channels.is_empty() {
        return reply::say(ctx, msg::BACKUP_MESSAGES_OFF, &[], true).await;
    }
    let list = channels
        .iter()
        .map(|c| format!("<#{c}>"))
        .collect::<Vec<_>>()
        .join(", ");
    let per_channel = limit
        .unwrap_or(plan.messages_per_channel)
        .min(plan.messages_per_channel);
    reply::say(
        ctx,
        msg::BACKUP_MESSAGES_ON,
        &[
            arg("channels", list),
            arg("count", per_channel),
            arg("max_channels", plan.message_channels),
            arg("max_count", plan.messages_per_channel),
        ],
        true,
    )
    .await
}

/// The `/umbra status` values of live sync and the last snapshot, in `locale`.
pub async fn status_values(data: &Data, locale: Locale, guild: u64) -> (String, String) {
    let t = |m: Msg, args: &[(&str, ArgValue)]| data.i18n.text(locale, &m, args);
    let sync = match data.sync.status(guild).await {
        Ok(s) => match s.state {
            Some(crate::recovery::sync::SyncState::Live) => t(
                msg::STATUS_SYNC_LIVE,
                &[
                    arg("roles", s.roles),
                    arg("channels", s.channels),
                    arg("members", s.members),
                    arg("since", s.last_full_sync_at.map(when).unwrap_or_default()),
                ],
            ),
            Some(crate::recovery::sync::SyncState::Loading) => t(msg::STATUS_SYNC_LOADING, &[]),
            Some(crate::recovery::sync::SyncState::Stale) => t(msg::STATUS_SYNC_STALE, &[]),
            None => t(msg::STATUS_NOT_SET_UP, &[]),
        },
        Err(e) => {
            tracing::warn!(guild, error = %e, "reading the sync status failed");
            t(msg::STATUS_NOT_SET_UP, &[])
        }
    };
    let snapshot = match data.snapshots.latest(guild).await {
        Ok(Some(m)) => t(
            msg::STATUS_SNAPSHOT_VALUE,
            &[
                arg("label", m.display_name()),
                arg("when", when(m.created_at)),
                arg("trigger", t(trigger_msg(m.trigger), &[])),
            ],
        ),
        Ok(None) => t(msg::STATUS_NONE, &[]),
        Err(e) => {
            tracing::warn!(guild, error = %e, "reading the last snapshot failed");
            t(msg::STATUS_NONE, &[])
        }
    };
    (sync, snapshot)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_well() {
        assert_eq!(human_size(812), "812 B");
        assert_eq!(human_size(12_600), "12.3 KB");
        assert_eq!(human_size(4_300_000), "4.1 MB");
    }
}
