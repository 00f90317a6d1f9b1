//! Purpose: `/billing plans|subscribe|change|status|card|cancel|resume` — the server's owner buys
//! and manages the plan from Discord. Paying needs a card, which is registered on the web:
//! `subscribe` answers with a link to the card page that works once, for 15 minutes, for the
//! Discord user who asked (logged in on the web as that user). `change` upgrades at once (the
//! rest of the period charged pro rata on the card) or downgrades at the period's end.
//! Everything else happens here. In a server or in a DM
//! with Umbra (then the `server` option names which, among the servers the caller owns). The
//! owner's only, checked against Umbra's records of who owns the server; refused with a clear
//! message when this Umbra sells no plans.

use poise::serenity_prelude as serenity;

use crate::billing::model::won;
use crate::billing::{BillingError, BillingService, Charged, PlanChange, Status};
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
    subcommands("plans", "subscribe", "change", "status", "card", "cancel", "resume"),
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
pub(crate) async fn autocomplete_owned(
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

/// A plan on sale, by its code (else the user is told which codes exist).
async fn plan_for_sale(ctx: Context<'_>, code: &str) -> Result<crate::licensing::Plan, Error> {
    let unknown =
        |code: &str| Error::User(UserError::new(msg::ERROR_UNKNOWN_PLAN).with("plan", code));
    let plan = ctx
        .data()
        .licensing
        .plan(code.trim())
        .await
        .map_err(|_| unknown(code.trim()))?;
    if plan.price_krw <= 0 || plan.billing_period_days.is_none() {
        return Err(unknown(&plan.code));
    }
    Ok(plan)
}

/// The plan codes on sale, for the `plan` option.
async fn autocomplete_plan(
    ctx: Context<'_>,
    partial: &str,
) -> serenity::CreateAutocompleteResponse {
    let locale = reply::locale(ctx).await;
    let data = ctx.data();
    let choices = data
        .licensing
        .plans()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p.price_krw > 0 && p.code.contains(&partial.to_lowercase()))
        .map(|p| {
            let label = format!(
                "{} — {}",
                p.display_name(&data.i18n, locale),
                won(p.price_krw)
            );
            serenity::AutocompleteChoice::new(label, p.code)
        })
        .collect();
    serenity::CreateAutocompleteResponse::new().set_choices(choices)
}

/// Buy a plan: a single-use, short-lived link to the card page.
#[poise::command(slash_command, ephemeral)]
pub async fn subscribe(
    ctx: Context<'_>,
    #[autocomplete = "autocomplete_plan"] plan: String,
    #[autocomplete = "autocomplete_owned"] server: Option<String>,
) -> Result<(), Error> {
    let billing = service(ctx)?;
    let guild = owned_guild(ctx, server.as_deref()).await?;
    let data = ctx.data();
    let plan = plan_for_sale(ctx, &plan).await?;
    let public = data.config.http.public_url.trim_end_matches('/');
    let token = billing
        .subscribe_link(ctx.author().id.get(), guild, &plan.code)
        .await
        .map_err(|e| internal(e, "opening a subscribe link"))?;
    let Some(token) = token else {
        return Err(Error::User(
            UserError::new(msg::BILLING_UNKNOWN_USER).with("link", format!("{public}/login")),
        ));
    };
    let locale = reply::locale(ctx).await;
    reply::say(
        ctx,
        msg::BILLING_SUBSCRIBE_LINK,
        &[
            arg("plan", plan.display_name(&data.i18n, locale)),
            arg("link", format!("{public}/billing/start/{token}")),
            arg("minutes", crate::billing::service::LINK_MINUTES),
        ],
        true,
    )
    .await
}

/// Change the plan: a dearer one now (pro rata), a cheaper one at the period's end
///
/// The current plan again takes a scheduled change back.
#[poise::command(slash_command, ephemeral)]
pub async fn change(
    ctx: Context<'_>,
    #[autocomplete = "autocomplete_plan"] plan: String,
    #[autocomplete = "autocomplete_owned"] server: Option<String>,
) -> Result<(), Error> {
    let billing = service(ctx)?;
    let guild = owned_guild(ctx, server.as_deref()).await?;
    let data = ctx.data();
    let plan = plan_for_sale(ctx, &plan).await?;
    let locale = reply::locale(ctx).await;
    let name = plan.display_name(&data.i18n, locale);
    let changed = billing.change_plan(guild, &plan.code).await;
    let (m, args) = match changed {
        Ok(PlanChange::Upgraded { amount: 0 }) => {
            (msg::BILLING_UPGRADED_FREE, vec![arg("plan", name)])
        }
        Ok(PlanChange::Upgraded { amount }) => (
            msg::BILLING_UPGRADED,
            vec![arg("plan", name), arg("amount", won(amount))],
        ),
        Ok(PlanChange::Scheduled { at }) => (
            msg::BILLING_CHANGE_SCHEDULED,
            vec![
                arg("plan", name),
                arg("at", format!("<t:{}:D>", at.timestamp())),
            ],
        ),
        Ok(PlanChange::Kept) => (msg::BILLING_CHANGE_KEPT, vec![arg("plan", name)]),
        Ok(PlanChange::NotUpgraded(Charged::Declined { code })) => {
            (msg::BILLING_CHANGE_DECLINED, vec![arg("code", code)])
        }
        Ok(PlanChange::NotUpgraded(_)) => (msg::BILLING_CHANGE_PENDING, vec![]),
        Err(BillingError::NoSubscription) => (msg::BILLING_NO_SUBSCRIPTION, vec![]),
        Err(BillingError::PastDue) => (msg::BILLING_CHANGE_PAST_DUE, vec![]),
        Err(BillingError::SamePlan) => (msg::BILLING_SAME_PLAN, vec![arg("plan", name)]),
        Err(BillingError::Busy) => (msg::BILLING_BUSY, vec![]),
        Err(e) => return Err(internal(e, "changing the plan")),
    };
    reply::say(ctx, m, &args, true).await
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
    if let Some(next) = &sub.next_plan {
        lines.push(data.i18n.text(
            locale,
            &msg::BILLING_CHANGES_TO,
            &[
                arg("plan", next.clone()),
                arg(
                    "at",
                    format!("<t:{}:D>", sub.current_period_end.timestamp()),
                ),
            ],
        ));
    }
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
