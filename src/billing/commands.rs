//! Purpose: `/billing plans|subscribe|status|card|cancel|resume` — the server's owner buys and
//! manages the plan from Discord. Paying needs a card, which is registered on the web: `subscribe`
//! answers with the Plan page's link (the owner logs in there with Discord, so the card is
//! registered by that same Discord user). Everything else happens here. In a server or in a DM
//! with Umbra (then the `server` option names which, among the servers the caller owns). The
//! owner's only, checked against Umbra's records of who owns the server; refused with a clear
//! message when this Umbra sells no plans.

use poise::serenity_prelude as serenity;

use crate::billing::model::won;
use crate::billing::{BillingService, Status};
use crate::discord::reply;
use crate::error::{Error, UserError};
use crate::guild::GuildReader;
use crate::i18n::{arg, msg};
use crate::ids::Snowflake;
use crate::licensing::{LicensingReader, PlanReader};
use crate::types::Context;

/// Plans and payments (the server's owner).
#[poise::command(
    slash_command,
    subcommands("plans", "subscribe", "status", "card", "cancel", "resume"),
    subcommand_required
)]
pub async fn billing(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

fn internal(e: impl Into<anyhow::Error>, what: &'static str) -> Error {
    Error::Internal(e.into().context(what))
}

fn service(ctx: Context<'_>) -> Result<&BillingService, Error> {
    ctx.data()
        .billing
        .as_ref()
        .ok_or_else(|| Error::user(msg::BILLING_NOT_SOLD))
}

/// The server the command is about — where it runs, else the `server` option (in DMs) — once
/// the caller is its owner.
async fn owned_guild(ctx: Context<'_>, server: Option<&str>) -> Result<u64, Error> {
    let id = match (ctx.guild_id(), server) {
        (Some(g), _) => g.get(),
        (None, Some(s)) => Snowflake::parse(s.trim())?.0,
        (None, None) => return Err(Error::user(msg::BILLING_WHICH_SERVER)),
    };
    let record = ctx
        .data()
        .guilds
        .guild(id)
        .await
        .map_err(|e| internal(e, "reading the server"))?
        .ok_or_else(|| {
            Error::User(UserError::new(msg::ERROR_UNKNOWN_GUILD).with("guild_id", id))
        })?;
    if record.owner_discord_id != ctx.author().id.get() {
        return Err(Error::not_owner());
    }
    Ok(id)
}

/// The servers the caller owns (for the `server` option in DMs).
async fn autocomplete_owned(
    ctx: Context<'_>,
    partial: &str,
) -> serenity::CreateAutocompleteResponse {
    let partial = partial.to_lowercase();
    let choices = ctx
        .data()
        .guilds
        .owned_by(ctx.author().id.get())
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|g| g.name.to_lowercase().contains(&partial))
        .take(25)
        .map(|g| {
            let mut label = g.name.clone();
            label.truncate(100);
            serenity::AutocompleteChoice::new(label, g.discord_id.to_string())
        })
        .collect();
    serenity::CreateAutocompleteResponse::new().set_choices(choices)
}

/// The plans on sale, with their prices and limits.
#[poise::command(slash_command, ephemeral)]
pub async fn plans(ctx: Context<'_>) -> Result<(), Error> {
    let data = ctx.data();
    let locale = reply::locale(ctx).await;
    let plans = data
        .licensing
        .plans()
        .await
        .map_err(|e| internal(e, "listing plans"))?;
    let mut lines = vec![data.i18n.text(locale, &msg::BILLING_PLANS_TITLE, &[])];
    for p in &plans {
        let price = match p.billing_period_days.filter(|_| p.price_krw > 0) {
            Some(days) => data.i18n.text(
                locale,
                &msg::BILLING_PRICE,
                &[arg("price", won(p.price_krw)), arg("days", days)],
            ),
            None => data.i18n.text(locale, &msg::BILLING_PRICE_FREE, &[]),
        };
        lines.push(
            data.i18n.text(
                locale,
                &msg::BILLING_PLAN_LINE,
                &[
                    arg("plan", p.display_name(&data.i18n, locale)),
                    arg("price", price),
                    arg("snapshots", p.snapshot_retention),
                    arg(
                        "members",
                        p.member_restore_limit
                            .map(|n| n.to_string())
                            .unwrap_or_else(|| "∞".into()),
                    ),
                ],
            ),
        );
    }
    ctx.send(
        poise::CreateReply::default()
            .content(lines.join("\n"))
            .ephemeral(true),
    )
    .await?;
    Ok(())
}

/// Buy a plan: the link to the Plan page, where the card is registered.
#[poise::command(slash_command, ephemeral)]
pub async fn subscribe(
    ctx: Context<'_>,
    plan: String,
    #[autocomplete = "autocomplete_owned"] server: Option<String>,
) -> Result<(), Error> {
    service(ctx)?;
    let guild = owned_guild(ctx, server.as_deref()).await?;
    let data = ctx.data();
    let plan = data.licensing.plan(plan.trim()).await.map_err(|_| {
        Error::User(UserError::new(msg::ERROR_UNKNOWN_PLAN).with("plan", plan.trim()))
    })?;
    if plan.price_krw <= 0 {
        return Err(Error::User(
            UserError::new(msg::ERROR_UNKNOWN_PLAN).with("plan", &plan.code),
        ));
    }
    let link = format!(
        "{}/guilds/{guild}/plan",
        data.config.http.public_url.trim_end_matches('/')
    );
    let locale = reply::locale(ctx).await;
    reply::say(
        ctx,
        msg::BILLING_SUBSCRIBE_LINK,
        &[
            arg("plan", plan.display_name(&data.i18n, locale)),
            arg("link", link),
        ],
        true,
    )
    .await
}

/// The subscription: plan, state, next charge, card and the last payments.
#[poise::command(slash_command, ephemeral)]
pub async fn status(
    ctx: Context<'_>,
    #[autocomplete = "autocomplete_owned"] server: Option<String>,
) -> Result<(), Error> {
    let billing = service(ctx)?;
    let guild = owned_guild(ctx, server.as_deref()).await?;
    let data = ctx.data();
    let locale = reply::locale(ctx).await;
    let Some((sub, attempts)) = billing
        .subscription(guild)
        .await
        .map_err(|e| internal(e, "reading the subscription"))?
    else {
        let plan = data
            .licensing
            .entitlements(guild)
            .await
            .map_err(|e| internal(e, "reading the plan"))?
            .plan;
        return reply::say(
            ctx,
            msg::BILLING_NONE,
            &[arg("plan", plan.display_name(&data.i18n, locale))],
            true,
        )
        .await;
    };
    let state = data.i18n.text(
        locale,
        &match sub.status {
            Status::Active => msg::BILLING_STATE_ACTIVE,
            Status::PastDue => msg::BILLING_STATE_PAST_DUE,
            Status::Cancelled => msg::BILLING_STATE_CANCELLED,
            Status::Expired => msg::BILLING_STATE_EXPIRED,
        },
        &[],
    );
    let next = match (sub.cancel_at_period_end, sub.next_charge_at) {
        (true, _) => data.i18n.text(
            locale,
            &msg::BILLING_ENDS,
            &[arg(
                "at",
                format!("<t:{}:D>", sub.current_period_end.timestamp()),
            )],
        ),
        (false, Some(t)) => data.i18n.text(
            locale,
            &msg::BILLING_NEXT,
            &[arg("at", format!("<t:{}:D>", t.timestamp()))],
        ),
        (false, None) => String::new(),
    };
    let mut lines = vec![
        data.i18n.text(
            locale,
            &msg::BILLING_STATUS,
            &[
                arg("plan", sub.plan_code.clone()),
                arg("state", state),
                arg("next", next),
                arg(
                    "card",
                    sub.card
                        .map(|(c, n)| format!("{c} {n}"))
                        .unwrap_or_else(|| "—".into()),
                ),
            ],
        ),
    ];
    for a in attempts.iter().take(5) {
        lines.push(format!(
            "• <t:{}:d> {} {}{}",
            a.requested_at.timestamp(),
            won(a.amount_krw),
            a.status,
            a.receipt_url
                .as_ref()
                .map(|u| format!(" — <{u}>"))
                .unwrap_or_default()
        ));
    }
    ctx.send(
        poise::CreateReply::default()
            .content(lines.join("\n"))
            .ephemeral(true),
    )
    .await?;
    Ok(())
}

/// Change the card: the link to the Plan page (a failed renewal is retried on the new card).
#[poise::command(slash_command, ephemeral)]
pub async fn card(
    ctx: Context<'_>,
    #[autocomplete = "autocomplete_owned"] server: Option<String>,
) -> Result<(), Error> {
    service(ctx)?;
    let guild = owned_guild(ctx, server.as_deref()).await?;
    let link = format!(
        "{}/guilds/{guild}/plan",
        ctx.data().config.http.public_url.trim_end_matches('/')
    );
    reply::say(ctx, msg::BILLING_CARD_LINK, &[arg("link", link)], true).await
}

async fn set_cancel(ctx: Context<'_>, server: Option<&str>, cancel: bool) -> Result<(), Error> {
    let billing = service(ctx)?;
    let guild = owned_guild(ctx, server).await?;
    let live = billing
        .cancel_at_period_end(guild, cancel)
        .await
        .map_err(|e| internal(e, "changing the subscription"))?;
    let m = match (live, cancel) {
        (false, _) => msg::BILLING_NO_SUBSCRIPTION,
        (true, true) => msg::BILLING_CANCELLED,
        (true, false) => msg::BILLING_RESUMED,
    };
    reply::say(ctx, m, &[], true).await
}

/// Cancel at the end of the paid period (nothing more is charged).
#[poise::command(slash_command, ephemeral)]
pub async fn cancel(
    ctx: Context<'_>,
    #[autocomplete = "autocomplete_owned"] server: Option<String>,
) -> Result<(), Error> {
    set_cancel(ctx, server.as_deref(), true).await
}

/// Keep a subscription you cancelled before its period ends.
#[poise::command(slash_command, ephemeral)]
pub async fn resume(
    ctx: Context<'_>,
    #[autocomplete = "autocomplete_owned"] server: Option<String>,
) -> Result<(), Error> {
    set_cancel(ctx, server.as_deref(), false).await
}
