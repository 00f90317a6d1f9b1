//! Purpose: `/restore preview | status | cancel | history` (owner and trusted users only: in a
//! nuke the attacker is usually an administrator) and the preview's buttons — Confirm (trusted
//! clicker only; an expired or changed preview is shown again re-planned), Cancel, and Stop on
//! the progress message. Everything localized; bad input changes nothing.

use chrono::Utc;
use poise::CreateReply;
use poise::serenity_prelude as serenity;
use serenity::{
    CreateActionRow, CreateButton, CreateInteractionResponse, CreateInteractionResponseMessage,
};
use uuid::Uuid;

use super::model::{ActionCounts, Components, Mode, Plan, RunState, Warning};
use super::service::{Confirmed, Preview, RestoreError};
use super::view::{COMPONENT_PREFIX, duration_text, final_text, progress_text, stop_id};
use crate::discord::{checks, reply};
use crate::error::{Error, ResultExt, UserError};
use crate::guild::GuildReader;
use crate::i18n::{self, ArgValue, Locale, Msg, arg, msg};
use crate::types::{Context, Data};

/// How long Umbra edits the confirmed message (interaction tokens live 15 minutes).
const TOKEN_LIFETIME_SECS: i64 = 14 * 60;

fn confirm_id(job: Uuid, hash: &[u8]) -> String {
    format!(
        "{COMPONENT_PREFIX}confirm:{}:{}",
        job.simple(),
        hex::encode(hash.get(..4).unwrap_or_default())
    )
}

fn cancel_id(job: Uuid) -> String {
    format!("{COMPONENT_PREFIX}cancel:{}", job.simple())
}

/// A button id's action and job.
pub fn parse_id(rest: &str) -> Option<(&str, Uuid, Option<&str>)> {
    let mut parts = rest.split(':');
    let action = parts.next()?;
    let job = Uuid::parse_str(parts.next()?).ok()?;
    Some((action, job, parts.next()))
}

fn guild_of(ctx: Context<'_>) -> Result<u64, Error> {
    ctx.guild_id()
        .map(|g| g.get())
        .ok_or_else(|| Error::user(msg::ERROR_GUILD_ONLY))
}

pub(crate) fn bot_id(data: &Data) -> u64 {
    data.bot.user_id().unwrap_or(0)
}

/// A restore error in the user's terms.
pub fn map_err(e: RestoreError, reference: &str) -> Error {
    match e {
        RestoreError::NotSynced => Error::user(msg::ERROR_RESTORE_NOT_SYNCED),
        RestoreError::SnapshotNotFound => Error::User(
            UserError::new(msg::ERROR_RESTORE_SNAPSHOT_NOT_FOUND).with("snapshot", reference),
        ),
        RestoreError::SnapshotCorrupt => {
            Error::User(UserError::new(msg::ERROR_RESTORE_CORRUPT).with("snapshot", reference))
        }
        RestoreError::AlreadyActive => Error::user(msg::ERROR_RESTORE_ACTIVE),
        RestoreError::NotFound => Error::user(msg::ERROR_RESTORE_NO_JOB),
        RestoreError::NoLinks => Error::user(msg::MEMBERS_LINK_UNAVAILABLE),
        RestoreError::NotOwnerOfBoth => Error::user(msg::MEMBERS_NOT_OWNER_OF_BOTH),
        RestoreError::NotPreview(state) => {
            Error::User(UserError::new(msg::ERROR_RESTORE_NOT_PREVIEW).with("state", state))
        }
        other => Error::Internal(anyhow::Error::new(other).context("a restore command failed")),
    }
}

/// Snapshots matching what the user typed, newest first.
pub(crate) async fn autocomplete_snapshot(
    ctx: Context<'_>,
    partial: &str,
) -> serenity::CreateAutocompleteResponse {
    let Some(guild) = ctx.guild_id() else {
        return serenity::CreateAutocompleteResponse::new();
    };
    let needle = partial.trim().to_lowercase();
    let choices = ctx
        .data()
        .snapshots
        .list(guild.get())
        .await
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| {
            let name: String = format!(
                "{} — {} UTC — {}",
                m.display_name(),
                m.created_at.format("%Y-%m-%d %H:%M"),
                m.trigger.as_str()
            )
            .chars()
            .take(100)
            .collect();
            (needle.is_empty()
                || name.to_lowercase().contains(&needle)
                || m.id.to_string().contains(&needle))
            .then(|| serenity::AutocompleteChoice::new(name, m.id.to_string()))
        })
        .take(25)
        .collect();
    serenity::CreateAutocompleteResponse::new().set_choices(choices)
}

async fn autocomplete_components(
    _ctx: Context<'_>,
    partial: &str,
) -> serenity::CreateAutocompleteResponse {
    let options = [
        "all",
        "roles",
        "channels",
        "settings",
        "members",
        "bans",
        "emojis",
        "stickers",
        "automod",
        "threads",
        "events",
        "welcome",
        "onboarding",
        "webhooks",
        "messages",
        "roles,channels",
        "roles,channels,settings",
        "roles,members",
    ];
    let needle = partial.trim().to_lowercase();
    serenity::CreateAutocompleteResponse::new().set_choices(
        options
            .iter()
            .filter(|o| needle.is_empty() || o.contains(&needle))
            .map(|o| serenity::AutocompleteChoice::new(*o, *o))
            .collect(),
    )
}

/// Restore modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poise::ChoiceParameter)]
pub enum ModeChoice {
    #[name = "merge"]
    Merge,
    #[name = "mirror"]
    Mirror,
}

/// Restores of this server (owner and trusted users).
#[poise::command(
    slash_command,
    guild_only,
    check = "checks::trusted",
    subcommands("preview", "status", "cancel", "history"),
    subcommand_required
)]
pub async fn restore(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

fn counts_line(
    data: &Data,
    locale: Locale,
    m: Msg,
    c: &ActionCounts,
    extra: Option<(&str, usize)>,
) -> String {
    let mut args: Vec<(&str, ArgValue)> = vec![
        arg("create", c.create),
        arg("update", c.update),
        arg("delete", c.delete),
        arg("keep", c.keep),
        arg("skip", c.skip),
    ];
    if let Some((k, v)) = extra {
        args.push(arg(k, v));
    }
    data.i18n.text(locale, &m, &args)
}

fn mode_name(data: &Data, locale: Locale, mode: Mode) -> String {
    data.i18n.text(
        locale,
        &match mode {
            Mode::Merge => msg::RESTORE_MODE_MERGE,
            Mode::Mirror => msg::RESTORE_MODE_MIRROR,
        },
        &[],
    )
}

fn warning_line(data: &Data, locale: Locale, w: &Warning) -> String {
    let t = |m: Msg, args: &[(&str, ArgValue)]| data.i18n.text(locale, &m, args);
    match w {
        Warning::AboveBot { count, names } => t(
            msg::RESTORE_WARN_ABOVE_BOT,
            &[arg("count", *count), arg("names", names.join(", "))],
        ),
        Warning::RoleBudget { creates, budget } => t(
            msg::RESTORE_WARN_ROLE_BUDGET,
            &[arg("creates", *creates), arg("budget", *budget)],
        ),
        Warning::Managed { count, names } => t(
            msg::RESTORE_WARN_MANAGED,
            &[arg("count", *count), arg("names", names.join(", "))],
        ),
        Warning::Cap { what, total, max } => t(
            msg::RESTORE_WARN_CAP,
            &[
                arg("what", what.as_str()),
                arg("total", *total),
                arg("max", *max),
            ],
        ),
        Warning::NotInServer { count } => {
            t(msg::RESTORE_WARN_NOT_IN_SERVER, &[arg("count", *count)])
        }
        Warning::MemberLimit { limit, skipped } => t(
            msg::RESTORE_WARN_MEMBER_LIMIT,
            &[arg("limit", *limit), arg("skipped", *skipped)],
        ),
        Warning::NotRestorable { fields } => t(
            msg::RESTORE_WARN_NOT_RESTORABLE,
            &[arg("fields", fields.join(", "))],
        ),
        Warning::ForeignSnapshot => t(msg::RESTORE_WARN_FOREIGN, &[]),
        Warning::MissingTargets { count } => {
            t(msg::RESTORE_WARN_MISSING_TARGETS, &[arg("count", *count)])
        }
        Warning::Punished { count, names } => t(
            msg::RESTORE_WARN_PUNISHED,
            &[arg("count", *count), arg("names", names.join(", "))],
        ),
        Warning::BansUnknown { snapshot: false } => t(msg::RESTORE_WARN_BANS_UNKNOWN_SNAPSHOT, &[]),
        Warning::BansUnknown { snapshot: true } => t(msg::RESTORE_WARN_BANS_UNKNOWN_MIRROR, &[]),
        Warning::AutoModUnknown { snapshot: false } => {
            t(msg::RESTORE_WARN_AUTOMOD_UNKNOWN_SNAPSHOT, &[])
        }
        Warning::AutoModUnknown { snapshot: true } => {
            t(msg::RESTORE_WARN_AUTOMOD_UNKNOWN_MIRROR, &[])
        }
        Warning::PicturesMissing { names } => t(
            msg::RESTORE_WARN_PICTURES_MISSING,
            &[arg("names", names.join(", "))],
        ),
        Warning::EmojiImages { count, names } => t(
            msg::RESTORE_WARN_EMOJI_IMAGES,
            &[arg("count", *count), arg("names", names.join(", "))],
        ),
    }
}

/// A list of names that fits a message: the first ones, then "+N".
fn names_list(items: &[String], max: usize) -> String {
    let mut shown: Vec<String> = items.iter().take(max).cloned().collect();
    if items.len() > max {
        shown.push(format!("+{}", items.len() - max));
    }
    shown.join(", ")
}

/// The preview message.
pub fn preview_text(data: &Data, locale: Locale, p: &Preview, changed: bool) -> String {
    let plan: &Plan = &p.plan;
    let t = |m: Msg, args: &[(&str, ArgValue)]| data.i18n.text(locale, &m, args);
    let mut lines = Vec::new();
    if changed {
        lines.push(t(msg::RESTORE_PREVIEW_CHANGED, &[]));
    }
    lines.push(t(
        msg::RESTORE_PREVIEW_TITLE,
        &[
            arg("snapshot", p.snapshot.display_name()),
            arg(
                "when",
                format!("<t:{}:f>", p.snapshot.created_at.timestamp()),
            ),
            arg("mode", mode_name(data, locale, plan.mode)),
            arg("components", plan.components.names().join(", ")),
        ],
    ));
    if plan.steps.is_empty() {
        lines.push(t(msg::RESTORE_PREVIEW_NOTHING, &[]));
    }
    let c = &plan.counts;
    lines.push(counts_line(
        data,
        locale,
        msg::RESTORE_PREVIEW_ROLES,
        &c.roles,
        None,
    ));
    lines.push(counts_line(
        data,
        locale,
        msg::RESTORE_PREVIEW_CHANNELS,
        &c.channels,
        Some(("overwrites", c.overwrites)),
    ));
    lines.push(t(
        msg::RESTORE_PREVIEW_SETTINGS,
        &[arg("update", c.settings.update)],
    ));
    lines.push(t(
        msg::RESTORE_PREVIEW_MEMBERS,
        &[
            arg("update", c.members.update),
            arg("keep", c.members.keep),
            arg("skip", c.members.skip),
        ],
    ));
    if plan
        .components
        .has(crate::recovery::restore::model::Component::Bans)
        && c.bans != Default::default()
    {
        lines.push(t(
            msg::RESTORE_PREVIEW_BANS,
            &[
                arg("ban", c.bans.create),
                arg("unban", c.bans.delete),
                arg("keep", c.bans.keep),
                arg("skip", c.bans.skip),
            ],
        ));
    }
    // Emojis and stickers: a line when the restore covers them and the snapshot has any.
    for (component, m, counts) in [
        (
            crate::recovery::restore::model::Component::Emojis,
            msg::RESTORE_PREVIEW_EMOJIS,
            &c.emojis,
        ),
        (
            crate::recovery::restore::model::Component::Stickers,
            msg::RESTORE_PREVIEW_STICKERS,
            &c.stickers,
        ),
        (
            crate::recovery::restore::model::Component::AutoMod,
            msg::RESTORE_PREVIEW_AUTOMOD,
            &c.automod,
        ),
        (
            crate::recovery::restore::model::Component::Threads,
            msg::RESTORE_PREVIEW_THREADS,
            &c.threads,
        ),
        (
            crate::recovery::restore::model::Component::Events,
            msg::RESTORE_PREVIEW_EVENTS,
            &c.events,
        ),
        (
            crate::recovery::restore::model::Component::Webhooks,
            msg::RESTORE_PREVIEW_WEBHOOKS,
            &c.webhooks,
        ),
    ] {
        if plan.components.has(component) && *counts != ActionCounts::default() {
            lines.push(counts_line(data, locale, m, counts, None));
        }
    }
    if plan
        .components
        .has(crate::recovery::restore::model::Component::Messages)
        && c.messages != ActionCounts::default()
    {
        lines.push(t(
            msg::RESTORE_PREVIEW_MESSAGES,
            &[
                arg("create", c.messages.create),
                arg("keep", c.messages.keep),
                arg("skip", c.messages.skip),
            ],
        ));
    }
    if plan
        .components
        .has(crate::recovery::restore::model::Component::Welcome)
        && c.welcome != ActionCounts::default()
    {
        lines.push(t(
            msg::RESTORE_PREVIEW_WELCOME,
            &[arg("update", c.welcome.update)],
        ));
    }
    if plan
        .components
        .has(crate::recovery::restore::model::Component::Onboarding)
        && c.onboarding != ActionCounts::default()
    {
        lines.push(t(
            msg::RESTORE_PREVIEW_ONBOARDING,
            &[arg("update", c.onboarding.update)],
        ));
    }
    if plan
        .components
        .has(crate::recovery::restore::model::Component::Pull)
    {
        lines.push(t(
            msg::RESTORE_PREVIEW_PULL,
            &[arg("add", c.members.create)],
        ));
    }
    lines.push(t(
        msg::RESTORE_PREVIEW_ETA,
        &[
            arg(
                "eta",
                duration_text(
                    &data.i18n,
                    locale,
                    std::time::Duration::from_secs(plan.eta_seconds),
                ),
            ),
            arg("calls", plan.steps.len()),
        ],
    ));
    // Every dangerous grant and every deletion, by name (what an attacker would hide).
    let grants = plan.risks.grant_items();
    for (m, items) in [
        (msg::RESTORE_PREVIEW_GRANTS, &grants),
        (msg::RESTORE_PREVIEW_DELETIONS, &plan.risks.deletions),
        (
            msg::RESTORE_PREVIEW_EMOJI_DELETIONS,
            &plan.risks.emoji_deletions,
        ),
        (
            msg::RESTORE_PREVIEW_STICKER_DELETIONS,
            &plan.risks.sticker_deletions,
        ),
        (
            msg::RESTORE_PREVIEW_AUTOMOD_DELETIONS,
            &plan.risks.automod_deletions,
        ),
        (
            msg::RESTORE_PREVIEW_THREAD_DELETIONS,
            &plan.risks.thread_deletions,
        ),
        (
            msg::RESTORE_PREVIEW_EVENT_DELETIONS,
            &plan.risks.event_deletions,
        ),
        (
            msg::RESTORE_PREVIEW_WEBHOOK_DELETIONS,
            &plan.risks.webhook_deletions,
        ),
        (msg::RESTORE_PREVIEW_UNBANS, &plan.risks.unbans),
    ] {
        if !items.is_empty() {
            lines.push(t(
                m,
                &[
                    arg("count", items.len()),
                    arg("items", names_list(items, 15)),
                ],
            ));
        }
    }
    for w in &plan.warnings {
        lines.push(format!("⚠️ {}", warning_line(data, locale, w)));
    }
    lines.push(t(
        msg::RESTORE_PREVIEW_FOOTER,
        &[arg(
            "expires",
            format!("<t:{}:R>", p.expires_at.timestamp()),
        )],
    ));
    let mut text = lines.join("\n");
    if text.chars().count() > 1990 {
        text = text.chars().take(1990).collect();
    }
    text
}

pub(crate) fn preview_buttons(data: &Data, locale: Locale, p: &Preview) -> Vec<CreateActionRow> {
    let mut buttons = Vec::new();
    if !p.plan.steps.is_empty() {
        buttons.push(
            CreateButton::new(confirm_id(p.job_id, &p.plan_hash))
                .label(data.i18n.text(locale, &msg::RESTORE_BUTTON_CONFIRM, &[]))
                .style(serenity::ButtonStyle::Danger),
        );
    }
    buttons.push(
        CreateButton::new(cancel_id(p.job_id))
            .label(data.i18n.text(locale, &msg::RESTORE_BUTTON_CANCEL, &[]))
            .style(serenity::ButtonStyle::Secondary),
    );
    vec![CreateActionRow::Buttons(buttons)]
}

/// Shows what restoring a snapshot would change, with Confirm and Cancel buttons.
#[poise::command(slash_command, guild_only)]
pub async fn preview(
    ctx: Context<'_>,
    #[autocomplete = "autocomplete_snapshot"] snapshot: String,
    mode: Option<ModeChoice>,
    #[autocomplete = "autocomplete_components"] components: Option<String>,
) -> Result<(), Error> {
    let guild = guild_of(ctx)?;
    let components = match components
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        None => Components::all(),
        Some(text) => Components::parse(text).ok_or_else(|| {
            Error::User(UserError::new(msg::ERROR_RESTORE_BAD_COMPONENTS).with("value", text))
        })?,
    };
    let mode = match mode {
        Some(ModeChoice::Mirror) => Mode::Mirror,
        _ => Mode::Merge,
    };
    let data = ctx.data();
    // Bad input is refused (ephemerally) before anything is shown.
    let meta = data
        .snapshots
        .find(guild, &snapshot)
        .await
        .map_err(|e| map_err(e.into(), &snapshot))?;
    ctx.defer().await?;
    let preview = data
        .restores
        .preview(
            guild,
            &meta.id.to_string(),
            mode,
            components,
            ctx.author().id.get(),
            bot_id(data),
        )
        .await
        .map_err(|e| map_err(e, &snapshot))?;
    let locale = reply::locale(ctx).await;
    ctx.send(
        CreateReply::default()
            .content(preview_text(data, locale, &preview, false))
            .components(preview_buttons(data, locale, &preview)),
    )
    .await?;
    Ok(())
}

pub fn state_name(data: &Data, locale: Locale, status: &str) -> String {
    let m = match status {
        "previewed" => msg::RESTORE_STATE_PREVIEWED,
        "queued" => msg::RESTORE_STATE_QUEUED,
        "running" => msg::RESTORE_STATE_RUNNING,
        "completed" => msg::RESTORE_STATE_COMPLETED,
        "failed" => msg::RESTORE_STATE_FAILED,
        "cancelled" => msg::RESTORE_STATE_CANCELLED,
        _ => msg::RESTORE_STATE_EXPIRED,
    };
    data.i18n.text(locale, &m, &[])
}

/// Shows the running restore (or the last one) with its progress.
#[poise::command(slash_command, guild_only, ephemeral)]
pub async fn status(ctx: Context<'_>) -> Result<(), Error> {
    let guild = guild_of(ctx)?;
    let data = ctx.data();
    let locale = reply::locale(ctx).await;
    let Some(view) = data
        .restores
        .status(guild)
        .await
        .map_err(|e| map_err(e, ""))?
    else {
        return reply::say(ctx, msg::RESTORE_STATUS_NONE, &[], true).await;
    };
    let row = &view.row;
    let mut text = data.i18n.text(
        locale,
        &msg::RESTORE_STATUS,
        &[
            arg("state", state_name(data, locale, &row.status)),
            arg("id", row.id.simple().to_string()[20..].to_owned()),
            arg("mode", row.mode.as_str()),
            arg("when", format!("<t:{}:f>", row.created_at.timestamp())),
        ],
    );
    if let Some(plan) = &view.plan {
        let state = RunState::load(plan, &row.progress, &row.id_map);
        text.push('\n');
        text.push_str(&match row.status.as_str() {
            "running" | "queued" => progress_text(&data.i18n, locale, plan, &state),
            "completed" | "cancelled" | "failed" => {
                final_text(&data.i18n, locale, plan, &state, &row.status)
            }
            _ => String::new(),
        });
    }
    if let Some(reason) = row
        .error_report
        .as_ref()
        .and_then(|r| r.get("reason"))
        .and_then(|r| r.as_str())
    {
        text.push('\n');
        text.push_str(reason);
    }
    let text: String = text.chars().take(1990).collect();
    ctx.send(CreateReply::default().content(text).ephemeral(true))
        .await?;
    Ok(())
}

/// Stops the running restore: calls in flight finish, nothing new starts.
#[poise::command(slash_command, guild_only, ephemeral)]
pub async fn cancel(ctx: Context<'_>) -> Result<(), Error> {
    let guild = guild_of(ctx)?;
    ctx.data()
        .restores
        .cancel(guild, None)
        .await
        .map_err(|e| map_err(e, ""))?;
    reply::say(ctx, msg::RESTORE_CANCEL_REQUESTED, &[], true).await
}

/// Lists this server's last restores.
#[poise::command(slash_command, guild_only, ephemeral)]
pub async fn history(ctx: Context<'_>) -> Result<(), Error> {
    let guild = guild_of(ctx)?;
    let data = ctx.data();
    let jobs = data
        .restores
        .history(guild)
        .await
        .map_err(|e| map_err(e, ""))?;
    if jobs.is_empty() {
        return reply::say(ctx, msg::RESTORE_HISTORY_EMPTY, &[], true).await;
    }
    let locale = reply::locale(ctx).await;
    let mut lines = vec![data.i18n.text(
        locale,
        &msg::RESTORE_HISTORY_TITLE,
        &[arg("count", jobs.len())],
    )];
    for j in &jobs {
        lines.push(data.i18n.text(
            locale,
            &msg::RESTORE_HISTORY_LINE,
            &[
                arg("when", format!("<t:{}:f>", j.created_at.timestamp())),
                arg("state", state_name(data, locale, &j.status)),
                arg("mode", j.mode.as_str()),
                arg("done", j.done_steps),
                arg("failed", j.failed_steps),
                arg("total", j.total_steps),
                arg("id", j.id.simple().to_string()[20..].to_owned()),
            ],
        ));
    }
    let text: String = lines.join("\n").chars().take(1990).collect();
    ctx.send(CreateReply::default().content(text).ephemeral(true))
        .await?;
    Ok(())
}

/// Whether the clicker is the owner or trusted (Discord permissions are not enough).
async fn clicker_trusted(
    data: &Data,
    guild: u64,
    component: &serenity::ComponentInteraction,
) -> Result<bool, Error> {
    let user = component.user.id.get();
    let record = data
        .guilds
        .guild(guild)
        .await
        .map_err(|e| Error::Internal(anyhow::Error::new(e).context("reading the guild")))?;
    if record.is_some_and(|r| r.owner_discord_id == user) {
        return Ok(true);
    }
    let settings = data
        .guilds
        .settings(guild)
        .await
        .map_err(|e| Error::Internal(anyhow::Error::new(e).context("reading trusted users")))?;
    let roles: Vec<u64> = component
        .member
        .as_ref()
        .map(|m| m.roles.iter().map(|r| r.get()).collect())
        .unwrap_or_default();
    let roles = data.antinuke.trusted_roles(guild, user, &roles);
    Ok(settings.trusts(user, &roles))
}

/// Routes the restore buttons (`umbra:rst:<action>:<job>[:<hash>]`).
pub async fn on_component(
    ctx: &serenity::Context,
    data: &Data,
    component: &serenity::ComponentInteraction,
    rest: &str,
) -> Result<(), Error> {
    let guild_locale = match component.guild_id {
        Some(g) => reply::guild_locale(data, g).await,
        None => None,
    };
    let locale = i18n::resolve(Some(&component.locale), guild_locale);
    let t = |m: Msg, args: &[(&str, ArgValue)]| data.i18n.text(locale, &m, args);
    let ephemeral = |text: String| {
        CreateInteractionResponse::Message(
            CreateInteractionResponseMessage::new()
                .content(text)
                .ephemeral(true),
        )
    };
    let response = match (component.guild_id, parse_id(rest)) {
        // The owner's decision on a risky restore (in a DM: the guild is in the id).
        (_, Some((action @ ("approve" | "refuse"), job, Some(guild)))) => {
            let text = match guild.parse::<u64>() {
                Ok(guild) => approval(data, locale, guild, job, action == "approve", component)
                    .await
                    .unwrap_or_else(|e| match e {
                        Error::User(u) => data.i18n.text(locale, &u.msg, &u.fluent_args()),
                        Error::Internal(e) => {
                            let error_id = Uuid::now_v7().simple().to_string()[20..].to_owned();
                            tracing::error!(%error_id, error = format!("{e:#}"), "a restore approval failed");
                            t(msg::ERROR_INTERNAL, &[arg("error_id", error_id)])
                        }
                    }),
                Err(_) => t(msg::ERROR_EXPIRED_BUTTON, &[]),
            };
            CreateInteractionResponse::Message(
                CreateInteractionResponseMessage::new()
                    .content(text)
                    .ephemeral(component.guild_id.is_some()),
            )
        }
        (Some(guild), Some((action, job, hash))) => {
            let guild = guild.get();
            if !clicker_trusted(data, guild, component).await? {
                ephemeral(t(msg::ERROR_NOT_TRUSTED, &[]))
            } else {
                match handle(data, locale, guild, component, action, job, hash).await {
                    Ok(r) => r,
                    Err(Error::User(u)) => {
                        ephemeral(data.i18n.text(locale, &u.msg, &u.fluent_args()))
                    }
                    Err(Error::Internal(e)) => {
                        let error_id = Uuid::now_v7().simple().to_string()[20..].to_owned();
                        tracing::error!(%error_id, error = format!("{e:#}"), "a restore button failed");
                        ephemeral(t(msg::ERROR_INTERNAL, &[arg("error_id", error_id)]))
                    }
                }
            }
        }
        _ => ephemeral(t(msg::ERROR_EXPIRED_BUTTON, &[])),
    };
    component
        .create_response(&ctx.http, response)
        .await
        .ctx("answering a restore button")?;
    Ok(())
}

async fn handle(
    data: &Data,
    locale: Locale,
    guild: u64,
    component: &serenity::ComponentInteraction,
    action: &str,
    job: Uuid,
    hash: Option<&str>,
) -> Result<CreateInteractionResponse, Error> {
    let t = |m: Msg, args: &[(&str, ArgValue)]| data.i18n.text(locale, &m, args);
    let update = |text: String, rows: Vec<CreateActionRow>| {
        CreateInteractionResponse::UpdateMessage(
            CreateInteractionResponseMessage::new()
                .content(text)
                .components(rows),
        )
    };
    let user = component.user.id.get();
    match action {
        "confirm" => {
            // A button of an older version of this preview shows the current one.
            let view = data
                .restores
                .job(guild, job)
                .await
                .map_err(|e| map_err(e, ""))?;
            let stale = hash.is_some_and(|h| !hex::encode(&view.row.plan_hash).starts_with(h));
            let outcome = if stale {
                None
            } else {
                Some(
                    data.restores
                        .confirm(guild, job, user, bot_id(data))
                        .await
                        .map_err(|e| map_err(e, ""))?,
                )
            };
            match outcome {
                Some(Confirmed::Queued(id)) => {
                    let message = serde_json::json!({
                        "token": component.token,
                        "expires_at": Utc::now().timestamp() + TOKEN_LIFETIME_SECS,
                        "channel_id": component.channel_id.get().to_string(),
                        "message_id": component.message.id.get().to_string(),
                        "locale": locale.code(),
                    });
                    data.restores
                        .show_progress_in(id, message)
                        .await
                        .map_err(|e| map_err(e, ""))?;
                    Ok(update(
                        t(msg::RESTORE_QUEUED, &[arg("user", format!("<@{user}>"))]),
                        vec![CreateActionRow::Buttons(vec![
                            CreateButton::new(stop_id(id))
                                .label(t(msg::RESTORE_BUTTON_STOP, &[]))
                                .style(serenity::ButtonStyle::Danger),
                        ])],
                    ))
                }
                Some(Confirmed::Replanned(p)) => Ok(update(
                    preview_text(data, locale, &p, true),
                    preview_buttons(data, locale, &p),
                )),
                Some(Confirmed::AwaitingApproval(reasons)) => {
                    let reasons: Vec<String> =
                        reasons.iter().map(|r| t(reason_msg(*r), &[])).collect();
                    Ok(CreateInteractionResponse::Message(
                        CreateInteractionResponseMessage::new()
                            .content(t(
                                msg::RESTORE_APPROVAL_WAITING,
                                &[arg("reasons", reasons.join(", "))],
                            ))
                            .ephemeral(true),
                    ))
                }
                None => {
                    let Some(plan) = view.plan else {
                        return Err(Error::user(msg::ERROR_EXPIRED_BUTTON));
                    };
                    let snapshot = data
                        .snapshots
                        .list(guild)
                        .await
                        .unwrap_or_default()
                        .into_iter()
                        .find(|m| Some(m.id) == view.row.snapshot_id);
                    let Some(snapshot) = snapshot else {
                        return Err(Error::user(msg::ERROR_EXPIRED_BUTTON));
                    };
                    let mut h = [0u8; 32];
                    if view.row.plan_hash.len() == 32 {
                        h.copy_from_slice(&view.row.plan_hash);
                    }
                    let p = Preview {
                        job_id: view.row.id,
                        plan,
                        plan_hash: h,
                        expires_at: view.row.expires_at,
                        snapshot,
                    };
                    Ok(update(
                        preview_text(data, locale, &p, true),
                        preview_buttons(data, locale, &p),
                    ))
                }
            }
        }
        "cancel" => {
            data.restores
                .cancel_preview(guild, job)
                .await
                .map_err(|e| map_err(e, ""))?;
            Ok(update(t(msg::RESTORE_PREVIEW_CANCELLED, &[]), vec![]))
        }
        "stop" => {
            data.restores
                .cancel(guild, Some(job))
                .await
                .map_err(|e| map_err(e, ""))?;
            Ok(CreateInteractionResponse::Message(
                CreateInteractionResponseMessage::new()
                    .content(t(msg::RESTORE_CANCEL_REQUESTED, &[]))
                    .ephemeral(true),
            ))
        }
        _ => Err(Error::user(msg::ERROR_EXPIRED_BUTTON)),
    }
}

pub fn reason_msg(r: crate::recovery::restore::ApprovalReason) -> Msg {
    use crate::recovery::restore::ApprovalReason;
    match r {
        ApprovalReason::Import => msg::RESTORE_REASON_IMPORT,
        ApprovalReason::Mirror => msg::RESTORE_REASON_MIRROR,
        ApprovalReason::Grants => msg::RESTORE_REASON_GRANTS,
    }
}

/// The owner's Approve / Refuse of a risky restore: only the guild's recorded owner may decide.
async fn approval(
    data: &Data,
    locale: Locale,
    guild: u64,
    job: Uuid,
    approve: bool,
    component: &serenity::ComponentInteraction,
) -> Result<String, Error> {
    use crate::recovery::restore::ApprovalDecision;
    let t = |m: Msg, args: &[(&str, ArgValue)]| data.i18n.text(locale, &m, args);
    let user = component.user.id.get();
    let owner = data
        .guilds
        .guild(guild)
        .await
        .map_err(|e| Error::Internal(anyhow::Error::new(e).context("reading the guild")))?
        .map(|r| r.owner_discord_id);
    if owner != Some(user) {
        return Ok(t(msg::ERROR_NOT_OWNER, &[]));
    }
    let decision = data
        .restores
        .decide_approval(guild, job, user, approve, bot_id(data))
        .await
        .map_err(|e| map_err(e, ""))?;
    Ok(match decision {
        ApprovalDecision::Queued(_) => {
            t(msg::RESTORE_APPROVED, &[arg("user", format!("<@{user}>"))])
        }
        ApprovalDecision::Refused => t(msg::RESTORE_APPROVAL_REFUSED, &[]),
        ApprovalDecision::Stale => t(msg::RESTORE_APPROVAL_CHANGED, &[]),
        ApprovalDecision::Unknown => t(msg::GUARD_UNKNOWN, &[]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn button_ids_parse_back_and_fit_discord() {
        let job = Uuid::now_v7();
        let id = confirm_id(job, &[0xab; 32]);
        assert!(id.len() <= 100);
        let rest = id.strip_prefix(COMPONENT_PREFIX).expect("prefixed");
        assert_eq!(parse_id(rest), Some(("confirm", job, Some("abababab"))));
        let stop = stop_id(job);
        assert_eq!(
            parse_id(stop.strip_prefix(COMPONENT_PREFIX).expect("prefixed")),
            Some(("stop", job, None))
        );
        assert_eq!(parse_id("confirm:nope"), None);
    }
}
