//! Purpose: `/umbra notifications` — each user's notification preferences (DMs on/off, language,
//! muted categories), in servers and in DMs alike, and the panel's DM toggle button (handled
//! from durable state, so it keeps working across restarts).

use poise::CreateReply;
use poise::serenity_prelude as serenity;
use serenity::{
    CreateActionRow, CreateButton, CreateInteractionResponse, CreateInteractionResponseMessage,
};

use super::model::{Category, PreferenceChange, Preferences};
use super::service::NotificationError;
use crate::discord::reply;
use crate::error::{Error, ResultExt};
use crate::i18n::{self, Locale, Msg, arg, msg};
use crate::identity::UserProfile;
use crate::types::{Context, Data};

/// The custom id prefix of this domain's buttons.
pub const COMPONENT_PREFIX: &str = "umbra:notify:";

/// The panel's DM toggle: `umbra:notify:dms:on` / `umbra:notify:dms:off` (the state to set, so
/// a double click or a stale panel cannot flip it the wrong way).
fn dms_button_id(enable: bool) -> String {
    format!(
        "{COMPONENT_PREFIX}dms:{}",
        if enable { "on" } else { "off" }
    )
}

/// What a button's custom id (after the prefix) asks for.
pub fn parse_component(rest: &str) -> Option<PreferenceChange> {
    match rest {
        "dms:on" => Some(PreferenceChange::Dms(true)),
        "dms:off" => Some(PreferenceChange::Dms(false)),
        _ => None,
    }
}

/// Language choices for notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poise::ChoiceParameter)]
pub enum LocaleChoice {
    #[name = "Automatic (the server's language, else English)"]
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

/// Categories a user can mute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poise::ChoiceParameter)]
pub enum CategoryChoice {
    #[name = "Server lifecycle"]
    Lifecycle,
    #[name = "Plans and billing"]
    Billing,
    #[name = "Backups and restores"]
    Backups,
    #[name = "Security incidents"]
    Security,
}

impl CategoryChoice {
    fn category(self) -> Category {
        match self {
            CategoryChoice::Lifecycle => Category::Lifecycle,
            CategoryChoice::Billing => Category::Billing,
            CategoryChoice::Backups => Category::Backups,
            CategoryChoice::Security => Category::Security,
        }
    }
}

fn profile(user: &serenity::User) -> UserProfile {
    UserProfile::from(user)
}

fn internal(e: NotificationError, what: &'static str) -> Error {
    Error::Internal(anyhow::Error::new(e).context(what))
}

/// The panel's text in `locale`.
pub fn panel_text(data: &Data, locale: Locale, prefs: &Preferences) -> String {
    let t = |m: &Msg, args: &[(&str, i18n::ArgValue)]| data.i18n.text(locale, m, args);
    let dms = t(
        if prefs.dm_enabled {
            &msg::STATUS_ENABLED
        } else {
            &msg::STATUS_DISABLED
        },
        &[],
    );
    let language = match prefs.locale {
        Some(l) => l.code().to_owned(),
        None => t(&msg::NOTIFICATIONS_LOCALE_AUTO, &[]),
    };
    let muted = if prefs.muted.is_empty() {
        t(&msg::STATUS_NONE, &[])
    } else {
        prefs
            .muted
            .iter()
            .map(|c| t(&c.name_msg(), &[]))
            .collect::<Vec<_>>()
            .join(", ")
    };
    t(
        &msg::NOTIFICATIONS_SHOW,
        &[
            arg("dms", dms),
            arg("locale", language),
            arg("muted", muted),
        ],
    )
}

/// The panel's buttons: one toggle that sets DMs to the opposite of their current state.
pub fn panel_buttons(data: &Data, locale: Locale, prefs: &Preferences) -> Vec<CreateActionRow> {
    let (label, style) = if prefs.dm_enabled {
        (
            &msg::NOTIFICATIONS_BUTTON_DMS_OFF,
            serenity::ButtonStyle::Secondary,
        )
    } else {
        (
            &msg::NOTIFICATIONS_BUTTON_DMS_ON,
            serenity::ButtonStyle::Success,
        )
    };
    vec![CreateActionRow::Buttons(vec![
        CreateButton::new(dms_button_id(!prefs.dm_enabled))
            .label(data.i18n.text(locale, label, &[]))
            .style(style),
    ])]
}

async fn change(ctx: Context<'_>, change: PreferenceChange) -> Result<Preferences, Error> {
    ctx.data()
        .notifications
        .clone()
        .change(&profile(ctx.author()), change)
        .await
        .map_err(|e| internal(e, "changing notification preferences"))
}

/// How Umbra contacts you: DMs, language, muted categories (in servers and in DMs).
#[poise::command(
    slash_command,
    subcommands("show", "dms", "locale", "mute", "unmute"),
    subcommand_required
)]
pub async fn notifications(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// Shows your notification preferences, with a button to turn DMs on or off.
#[poise::command(slash_command, ephemeral)]
pub async fn show(ctx: Context<'_>) -> Result<(), Error> {
    let data = ctx.data();
    let prefs = data
        .notifications
        .clone()
        .preferences(ctx.author().id.get())
        .await
        .map_err(|e| internal(e, "reading notification preferences"))?;
    let locale = reply::locale(ctx).await;
    ctx.send(
        CreateReply::default()
            .content(panel_text(data, locale, &prefs))
            .components(panel_buttons(data, locale, &prefs))
            .ephemeral(true),
    )
    .await?;
    Ok(())
}

/// Turns Umbra's direct messages to you on or off (off: reports go to your servers' log channels).
#[poise::command(slash_command, ephemeral)]
pub async fn dms(ctx: Context<'_>, enabled: bool) -> Result<(), Error> {
    change(ctx, PreferenceChange::Dms(enabled)).await?;
    let m = if enabled {
        msg::NOTIFICATIONS_DMS_ON
    } else {
        msg::NOTIFICATIONS_DMS_OFF
    };
    reply::say(ctx, m, &[], true).await
}

/// The language Umbra writes to you in.
#[poise::command(slash_command, ephemeral)]
pub async fn locale(ctx: Context<'_>, language: LocaleChoice) -> Result<(), Error> {
    let chosen = language.locale();
    change(ctx, PreferenceChange::Locale(chosen)).await?;
    match chosen {
        Some(l) => {
            reply::say(
                ctx,
                msg::NOTIFICATIONS_LOCALE_SET,
                &[arg("locale", l.code())],
                true,
            )
            .await
        }
        None => reply::say(ctx, msg::NOTIFICATIONS_LOCALE_CLEARED, &[], true).await,
    }
}

/// Stops one category of notifications.
#[poise::command(slash_command, ephemeral)]
pub async fn mute(ctx: Context<'_>, category: CategoryChoice) -> Result<(), Error> {
    let category = category.category();
    change(ctx, PreferenceChange::Mute(category)).await?;
    let name = reply::text(ctx, category.name_msg(), &[]).await;
    reply::say(
        ctx,
        msg::NOTIFICATIONS_MUTED,
        &[arg("category", name)],
        true,
    )
    .await
}

/// Receives one category of notifications again.
#[poise::command(slash_command, ephemeral)]
pub async fn unmute(ctx: Context<'_>, category: CategoryChoice) -> Result<(), Error> {
    let category = category.category();
    change(ctx, PreferenceChange::Unmute(category)).await?;
    let name = reply::text(ctx, category.name_msg(), &[]).await;
    reply::say(
        ctx,
        msg::NOTIFICATIONS_UNMUTED,
        &[arg("category", name)],
        true,
    )
    .await
}

/// Handles this domain's buttons (in servers and in DMs): applies the change to the clicking
/// user's preferences and updates the panel in place.
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
    let ephemeral = |text: String| {
        CreateInteractionResponse::Message(
            CreateInteractionResponseMessage::new()
                .content(text)
                .ephemeral(true),
        )
    };
    let response = match parse_component(rest) {
        Some(change) => {
            match data
                .notifications
                .clone()
                .change(&profile(&component.user), change)
                .await
            {
                Ok(prefs) => CreateInteractionResponse::UpdateMessage(
                    CreateInteractionResponseMessage::new()
                        .content(panel_text(data, locale, &prefs))
                        .components(panel_buttons(data, locale, &prefs)),
                ),
                Err(e) => {
                    let error_id = uuid::Uuid::now_v7().simple().to_string()[20..].to_owned();
                    tracing::error!(%error_id, error = %e, "changing notification preferences from a button failed");
                    ephemeral(data.i18n.text(
                        locale,
                        &msg::ERROR_INTERNAL,
                        &[arg("error_id", error_id)],
                    ))
                }
            }
        }
        None => ephemeral(data.i18n.text(locale, &msg::ERROR_EXPIRED_BUTTON, &[])),
    };
    component
        .create_response(&ctx.http, response)
        .await
        .ctx("answering a notification button")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_toggle_button_sets_the_opposite_state_and_its_id_parses_back() {
        for enable in [true, false] {
            let id = dms_button_id(enable);
            let rest = id.strip_prefix(COMPONENT_PREFIX).expect("prefixed");
            assert_eq!(parse_component(rest), Some(PreferenceChange::Dms(enable)));
            assert!(id.len() <= 100, "Discord's custom_id limit");
        }
        assert_eq!(parse_component("dms:maybe"), None);
        assert_eq!(parse_component(""), None);
    }

    #[test]
    fn every_category_has_a_choice() {
        let choices = [
            CategoryChoice::Lifecycle,
            CategoryChoice::Billing,
            CategoryChoice::Backups,
            CategoryChoice::Security,
        ];
        let mut categories: Vec<Category> = choices.iter().map(|c| c.category()).collect();
        categories.sort();
        assert_eq!(categories, Category::ALL.to_vec());
    }
}
