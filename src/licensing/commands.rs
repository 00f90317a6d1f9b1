//! Purpose: `/admin license grant|revoke|show` — operators give, take back and inspect a
//! guild's plan (the billing provider `none`, for self-hosters, gifts and support).

use poise::serenity_prelude as serenity;

use super::model::{PlanCode, validate_days};
use super::ports::{LicensingError, PlanReader};
use crate::discord::{checks, reply};
use crate::error::{Error, UserError};
use crate::guild::GuildReader;
use crate::i18n::{arg, msg};
use crate::ids::Snowflake;
use crate::types::Context;

/// Operator tools.
#[poise::command(
    slash_command,
    check = "checks::operator",
    subcommands("license"),
    subcommand_required
)]
pub async fn admin(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// A guild's license.
#[poise::command(
    slash_command,
    subcommands("grant", "revoke", "show"),
    subcommand_required
)]
pub async fn license(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

async fn autocomplete_guild(
    ctx: Context<'_>,
    partial: &str,
) -> serenity::CreateAutocompleteResponse {
    if !ctx.data().is_operator(ctx.author().id) {
        return serenity::CreateAutocompleteResponse::new();
    }
    let choices = ctx
        .data()
        .guilds
        .search(partial, 25)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|g| {
            let mut label = format!("{} ({})", g.name, g.discord_id);
            label.truncate(100);
            serenity::AutocompleteChoice::new(label, g.discord_id.to_string())
        })
        .collect();
    serenity::CreateAutocompleteResponse::new().set_choices(choices)
}

async fn autocomplete_plan(
    ctx: Context<'_>,
    partial: &str,
) -> serenity::CreateAutocompleteResponse {
    let locale = reply::locale(ctx).await;
    let partial = partial.to_ascii_lowercase();
    let choices = ctx
        .data()
        .licensing
        .plans()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p.code.contains(&partial))
        .map(|p| {
            let name = p.display_name(&ctx.data().i18n, locale);
            serenity::AutocompleteChoice::new(format!("{name} — {} KRW", p.price_krw), p.code)
        })
        .collect();
    serenity::CreateAutocompleteResponse::new().set_choices(choices)
}

fn map_err(guild: u64, plan: &str, e: LicensingError) -> Error {
    match e {
        LicensingError::UnknownGuild(_) => {
            Error::User(UserError::new(msg::ERROR_UNKNOWN_GUILD).with("guild_id", guild))
        }
        LicensingError::UnknownPlan(_) => {
            Error::User(UserError::new(msg::ERROR_UNKNOWN_PLAN).with("plan", plan))
        }
        LicensingError::NoLicense => Error::user(msg::ERROR_NO_LICENSE),
        other => Error::Internal(anyhow::Error::new(other).context("licensing")),
    }
}

async fn guild_name(ctx: Context<'_>, guild: u64) -> String {
    match ctx.data().guilds.guild(guild).await {
        Ok(Some(g)) => g.name,
        _ => guild.to_string(),
    }
}

/// Gives a guild a plan, for a number of days or without end.
#[poise::command(slash_command, ephemeral)]
pub async fn grant(
    ctx: Context<'_>,
    #[autocomplete = "autocomplete_guild"] guild: String,
    #[autocomplete = "autocomplete_plan"] plan: String,
    #[min = 1]
    #[max = 3650]
    days: Option<i64>,
) -> Result<(), Error> {
    let guild_id = Snowflake::parse(&guild)?.0;
    let code = PlanCode::parse(&plan)?;
    let days = days.map(validate_days).transpose()?;
    let view = ctx
        .data()
        .licensing
        .grant(guild_id, &code, days, ctx.author().id.get())
        .await
        .map_err(|e| map_err(guild_id, &plan, e))?;
    let locale = reply::locale(ctx).await;
    let until = match view.license.ends_at {
        Some(t) => t.format("%Y-%m-%d").to_string(),
        None => ctx.data().i18n.text(locale, &msg::LICENSE_FOREVER, &[]),
    };
    let args = [
        arg("guild", guild_name(ctx, guild_id).await),
        arg("plan", view.plan.display_name(&ctx.data().i18n, locale)),
        arg("until", until),
    ];
    reply::say(ctx, msg::LICENSE_GRANTED, &args, true).await
}

/// Takes a guild's license back (it returns to the free plan).
#[poise::command(slash_command, ephemeral)]
pub async fn revoke(
    ctx: Context<'_>,
    #[autocomplete = "autocomplete_guild"] guild: String,
) -> Result<(), Error> {
    let guild_id = Snowflake::parse(&guild)?.0;
    ctx.data()
        .licensing
        .revoke(guild_id, ctx.author().id.get())
        .await
        .map_err(|e| map_err(guild_id, "", e))?;
    reply::say(
        ctx,
        msg::LICENSE_REVOKED,
        &[arg("guild", guild_name(ctx, guild_id).await)],
        true,
    )
    .await
}

/// Shows a guild's license.
#[poise::command(slash_command, ephemeral)]
pub async fn show(
    ctx: Context<'_>,
    #[autocomplete = "autocomplete_guild"] guild: String,
) -> Result<(), Error> {
    let guild_id = Snowflake::parse(&guild)?.0;
    let view = ctx
        .data()
        .licensing
        .show(guild_id)
        .await
        .map_err(|e| map_err(guild_id, "", e))?;
    let name = guild_name(ctx, guild_id).await;
    let Some(view) = view else {
        return reply::say(ctx, msg::LICENSE_SHOW_FREE, &[arg("guild", name)], true).await;
    };
    let locale = reply::locale(ctx).await;
    let until = match view.license.ends_at {
        Some(t) => t.format("%Y-%m-%d").to_string(),
        None => ctx.data().i18n.text(locale, &msg::LICENSE_FOREVER, &[]),
    };
    let args = [
        arg("guild", name),
        arg("plan", view.plan.display_name(&ctx.data().i18n, locale)),
        arg("status", "active"),
        arg("until", until),
        arg("source", view.license.source.clone()),
    ];
    reply::say(ctx, msg::LICENSE_SHOW, &args, true).await
}
