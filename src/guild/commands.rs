//! Purpose: `/umbra settings` — the owner's settings of the guild: language, log channel,
//! trusted users and roles, and a reset confirmed by typing the server's name (a modal).

use std::time::Duration;

use futures::StreamExt as _;
use poise::serenity_prelude as serenity;
use serenity::{
    CreateActionRow, CreateInputText, CreateInteractionResponse, CreateInteractionResponseMessage,
    CreateModal, InputTextStyle, ModalInteractionCollector,
};

use super::model::TrustTarget;
use super::service::{SettingsChange, TrustChange};
use crate::discord::{checks, reply};
use crate::error::{Error, ResultExt, UserError};
use crate::guild::GuildReader;
use crate::i18n::{Locale, arg, msg};
use crate::types::Context;

/// Language choices for the server's replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poise::ChoiceParameter)]
pub enum LocaleChoice {
    #[name = "Follow each user's Discord language"]
    Auto,
    #[name = "English"]
    English,
    #[name = "Korean"]
    Korean,
}

impl LocaleChoice {
    fn locale(self) -> Option<Locale> {
        match self {
            LocaleChoice::Auto => None,
            LocaleChoice::English => Some(Locale::EnUs),
            LocaleChoice::Korean => Some(Locale::Ko),
        }
    }
}

fn guild_of(ctx: Context<'_>) -> Result<serenity::GuildId, Error> {
    ctx.guild_id()
        .ok_or_else(|| Error::user(msg::ERROR_GUILD_ONLY))
}

async fn change(
    ctx: Context<'_>,
    change: SettingsChange,
) -> Result<(super::GuildSettings, TrustChange), Error> {
    let guild = guild_of(ctx)?;
    ctx.data()
        .guilds
        .change_settings(guild.get(), ctx.author().id.get(), change)
        .await
        .map_err(|e| Error::Internal(anyhow::Error::new(e).context("changing guild settings")))
}

/// The server's settings (owner only).
#[poise::command(
    slash_command,
    guild_only,
    check = "checks::owner",
    subcommands("show", "locale", "log_channel", "trust", "untrust", "reset"),
    subcommand_required
)]
pub async fn settings(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// Shows the current settings.
#[poise::command(slash_command, guild_only, ephemeral)]
pub async fn show(ctx: Context<'_>) -> Result<(), Error> {
    let guild = guild_of(ctx)?;
    let settings = ctx
        .data()
        .guilds
        .settings(guild.get())
        .await
        .map_err(|e| Error::Internal(anyhow::Error::new(e).context("reading settings")))?;
    let none = reply::text(ctx, msg::STATUS_NONE, &[]).await;
    let list = |items: Vec<String>| {
        if items.is_empty() {
            none.clone()
        } else {
            items.join(", ")
        }
    };
    let args: Vec<(&str, crate::i18n::ArgValue)> = vec![
        arg(
            "locale",
            settings
                .locale
                .map(|l| l.code().to_owned())
                .unwrap_or_else(|| none.clone()),
        ),
        arg(
            "log_channel",
            settings
                .log_channel_id
                .map(|c| format!("<#{c}>"))
                .unwrap_or_else(|| none.clone()),
        ),
        arg(
            "users",
            list(
                settings
                    .trusted_user_ids
                    .iter()
                    .map(|u| format!("<@{u}>"))
                    .collect(),
            ),
        ),
        arg(
            "roles",
            list(
                settings
                    .trusted_role_ids
                    .iter()
                    .map(|r| format!("<@&{r}>"))
                    .collect(),
            ),
        ),
    ];
    reply::say(ctx, msg::SETTINGS_SHOW, &args, true).await
}

/// Sets the language of Umbra's messages in this server.
#[poise::command(slash_command, guild_only, ephemeral)]
pub async fn locale(ctx: Context<'_>, language: LocaleChoice) -> Result<(), Error> {
    let chosen = language.locale();
    change(ctx, SettingsChange::Locale(chosen)).await?;
    match chosen {
        Some(l) => {
            reply::say(
                ctx,
                msg::SETTINGS_LOCALE_SET,
                &[arg("locale", l.code())],
                true,
            )
            .await
        }
        None => reply::say(ctx, msg::SETTINGS_LOCALE_CLEARED, &[], true).await,
    }
}

/// Sets (or clears) the channel where Umbra posts reports when the owner's DMs are closed.
#[poise::command(slash_command, guild_only, ephemeral, rename = "log-channel")]
pub async fn log_channel(
    ctx: Context<'_>,
    #[channel_types("Text")] channel: Option<serenity::GuildChannel>,
) -> Result<(), Error> {
    let id = channel.as_ref().map(|c| c.id.get());
    change(ctx, SettingsChange::LogChannel(id)).await?;
    match id {
        Some(c) => {
            reply::say(
                ctx,
                msg::SETTINGS_LOG_CHANNEL_SET,
                &[arg("channel", format!("<#{c}>"))],
                true,
            )
            .await
        }
        None => reply::say(ctx, msg::SETTINGS_LOG_CHANNEL_CLEARED, &[], true).await,
    }
}

fn target(
    user: Option<serenity::User>,
    role: Option<serenity::Role>,
) -> Result<TrustTarget, Error> {
    match (user, role) {
        (Some(u), None) => Ok(TrustTarget::User(u.id.get())),
        (None, Some(r)) => Ok(TrustTarget::Role(r.id.get())),
        _ => Err(Error::user(msg::SETTINGS_TRUSTED_NEEDS_TARGET)),
    }
}

/// Trusts a user or a role: they may run backups, restores and AntiNuke commands.
#[poise::command(slash_command, guild_only, ephemeral)]
pub async fn trust(
    ctx: Context<'_>,
    user: Option<serenity::User>,
    role: Option<serenity::Role>,
) -> Result<(), Error> {
    let target = target(user, role)?;
    let (_, result) = change(ctx, SettingsChange::Trust(target)).await?;
    let mention = arg("target", target.mention());
    match result {
        TrustChange::AlreadyTrusted => {
            reply::say(ctx, msg::SETTINGS_TRUSTED_ALREADY, &[mention], true).await
        }
        TrustChange::LimitReached => Err(Error::User(
            UserError::new(msg::SETTINGS_TRUSTED_LIMIT).with("max", super::model::MAX_TRUSTED),
        )),
        _ => reply::say(ctx, msg::SETTINGS_TRUSTED_ADDED, &[mention], true).await,
    }
}

/// Stops trusting a user or a role.
#[poise::command(slash_command, guild_only, ephemeral)]
pub async fn untrust(
    ctx: Context<'_>,
    user: Option<serenity::User>,
    role: Option<serenity::Role>,
) -> Result<(), Error> {
    let target = target(user, role)?;
    let (_, result) = change(ctx, SettingsChange::Untrust(target)).await?;
    let mention = arg("target", target.mention());
    match result {
        TrustChange::NotTrusted => {
            reply::say(ctx, msg::SETTINGS_TRUSTED_NOT_FOUND, &[mention], true).await
        }
        _ => reply::say(ctx, msg::SETTINGS_TRUSTED_REMOVED, &[mention], true).await,
    }
}

/// Resets the settings to their defaults, after you type the server's name to confirm.
#[poise::command(slash_command, guild_only)]
pub async fn reset(ctx: Context<'_>) -> Result<(), Error> {
    let poise::Context::Application(app) = ctx else {
        return Err(Error::user(msg::ERROR_GUILD_ONLY));
    };
    let guild = guild_of(ctx)?;
    let expected = ctx.guild().map(|g| g.name.clone()).unwrap_or_default();
    let locale = reply::locale(ctx).await;
    let data = ctx.data();
    let custom_id = format!("umbra:settings-reset:{}", app.interaction.id);
    let modal = CreateModal::new(
        &custom_id,
        data.i18n.text(locale, &msg::SETTINGS_RESET_TITLE, &[]),
    )
    .components(vec![CreateActionRow::InputText(
        CreateInputText::new(
            InputTextStyle::Short,
            data.i18n.text(locale, &msg::SETTINGS_RESET_LABEL, &[]),
            "guild_name",
        )
        .required(true)
        .max_length(100),
    )]);
    // The collector is registered before the modal opens: a submission that reaches the gateway
    // before the response call returns would otherwise be missed (and the user left with
    // "the application did not respond").
    let mut submissions = ModalInteractionCollector::new(ctx.serenity_context())
        .filter({
            let custom_id = custom_id.clone();
            move |m| m.data.custom_id == custom_id
        })
        .timeout(Duration::from_secs(300))
        .stream();
    app.interaction
        .create_response(ctx, CreateInteractionResponse::Modal(modal))
        .await
        .ctx("opening the reset modal")?;
    let submitted = submissions.next().await;
    let Some(submitted) = submitted else {
        tracing::debug!(%guild, "settings reset modal not submitted");
        return Ok(());
    };
    let typed = submitted
        .data
        .components
        .iter()
        .flat_map(|row| row.components.iter())
        .find_map(|c| match c {
            serenity::ActionRowComponent::InputText(t) if t.custom_id == "guild_name" => {
                t.value.clone()
            }
            _ => None,
        })
        .unwrap_or_default();
    let confirmed = !expected.is_empty() && typed.trim() == expected.trim();
    let text = if confirmed {
        change(ctx, SettingsChange::Reset).await?;
        data.i18n.text(locale, &msg::SETTINGS_RESET_DONE, &[])
    } else {
        data.i18n.text(locale, &msg::SETTINGS_RESET_MISMATCH, &[])
    };
    submitted
        .create_response(
            ctx,
            CreateInteractionResponse::Message(
                CreateInteractionResponseMessage::new()
                    .content(text)
                    .ephemeral(true),
            ),
        )
        .await
        .ctx("answering the reset modal")?;
    Ok(())
}

/// Routes the protection buttons of the owner's DMs (`umbra:guard:<approve|refuse>:<guild>:<id>`
/// and `umbra:guard:undo:<guild>:<change>`). Only the guild's owner may press them — checked
/// here against Umbra's record, whatever Discord shows the clicker.
/// A guard button's custom id (after the prefix): `<action>:<guild>:<argument>` (the guild
/// `None` when it is not a snowflake).
pub fn parse_guard(rest: &str) -> (Option<&str>, Option<u64>, Option<&str>) {
    let mut parts = rest.splitn(3, ':');
    let (action, guild, arg) = (parts.next(), parts.next(), parts.next());
    (action, guild.and_then(|g| g.parse().ok()), arg)
}

pub async fn on_guard_component(
    ctx: &serenity::Context,
    data: &crate::types::Data,
    component: &serenity::ComponentInteraction,
    rest: &str,
) -> Result<(), Error> {
    use crate::guild::{Decision, ProtectionChange};
    use crate::i18n::{Msg, resolve};
    let (action, guild, arg) = parse_guard(rest);
    let guild_locale = match guild {
        Some(g) => reply::guild_locale(data, serenity::GuildId::new(g.max(1))).await,
        None => None,
    };
    let locale = resolve(Some(&component.locale), guild_locale);
    let t = |m: Msg, args: &[(&str, crate::i18n::ArgValue)]| data.i18n.text(locale, &m, args);
    let describe = |change: &ProtectionChange| {
        crate::notification::StoredArg::from_json(&crate::guild::service::describe(change))
            .map(|a| match a.render(&data.i18n, locale) {
                crate::i18n::ArgValue::Text(t) => t,
                crate::i18n::ArgValue::Number(n) => n.to_string(),
            })
            .unwrap_or_default()
    };
    let user = component.user.id.get();
    let owner = match guild {
        Some(g) => data
            .guilds
            .guild(g)
            .await
            .ctx("reading the guild of a protection button")?
            .map(|r| r.owner_discord_id),
        None => None,
    };
    let text = match (action, guild, arg) {
        (_, Some(_), _) if owner != Some(user) => t(msg::ERROR_NOT_OWNER, &[]),
        (Some(kind @ ("approve" | "refuse")), Some(g), Some(id)) => {
            match uuid::Uuid::parse_str(id) {
                Ok(id) => {
                    let decision = data
                        .guilds
                        .decide_pending(g, id, kind == "approve", user)
                        .await
                        .ctx("deciding a pending AntiNuke change")?;
                    match decision {
                        Decision::Applied(change) => {
                            if let Err(e) = data.antinuke.reload(g).await {
                                tracing::warn!(guild = g, error = %e, "AntiNuke: applying an approved change to the policy failed; the next refresh applies it");
                            }
                            t(
                                msg::GUARD_APPLIED,
                                &[arg_text(
                                    "change",
                                    describe(&ProtectionChange::Antinuke(change)),
                                )],
                            )
                        }
                        Decision::Refused(change) => t(
                            msg::GUARD_REFUSED,
                            &[arg_text(
                                "change",
                                describe(&ProtectionChange::Antinuke(change)),
                            )],
                        ),
                        Decision::Lapsed => t(msg::GUARD_LAPSED, &[]),
                        Decision::Unknown => t(msg::GUARD_UNKNOWN, &[]),
                    }
                }
                Err(_) => t(msg::ERROR_EXPIRED_BUTTON, &[]),
            }
        }
        (Some("undo"), Some(g), Some(code)) => match ProtectionChange::decode(code) {
            Some(change) => {
                data.guilds
                    .undo(g, user, change.clone())
                    .await
                    .ctx("undoing a protection change")?;
                if let Err(e) = data.antinuke.reload(g).await {
                    tracing::warn!(guild = g, error = %e, "AntiNuke: applying an undo to the policy failed; the next refresh applies it");
                }
                t(msg::GUARD_UNDONE, &[arg_text("change", describe(&change))])
            }
            None => t(msg::ERROR_EXPIRED_BUTTON, &[]),
        },
        _ => t(msg::ERROR_EXPIRED_BUTTON, &[]),
    };
    component
        .create_response(
            &ctx.http,
            CreateInteractionResponse::Message(
                CreateInteractionResponseMessage::new()
                    .content(text)
                    .ephemeral(component.guild_id.is_some()),
            ),
        )
        .await
        .ctx("answering a protection button")?;
    Ok(())
}

fn arg_text(name: &'static str, value: String) -> (&'static str, crate::i18n::ArgValue) {
    (name, crate::i18n::ArgValue::Text(value))
}
