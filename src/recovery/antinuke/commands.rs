//! Purpose: `/antinuke status | enable | disable | thresholds | whitelist | punishment |
//! incidents` — owner and trusted users only (in a nuke the attacker is usually an
//! administrator). Settings are written through the guild domain (which owns
//! `guild.guild_configs`), bounded by the plan, and applied to the event path at once — when
//! the owner makes them. A change by anyone else waits for the owner's approval in a DM
//! (refused or unanswered: nothing changes).

use chrono::{DateTime, Utc};
use poise::CreateReply;
use poise::serenity_prelude as serenity;

use super::model::{ActionClass, Bounds, COMBINED, Limit, Punishment, Threshold, Thresholds};
use super::service::AntinukeError;
use crate::discord::{checks, reply};
use crate::error::{Error, UserError};
use crate::guild::service::TrustChange;
use crate::guild::{AntinukeChange, GuildError, GuildReader, TrustTarget};
use crate::i18n::{ArgValue, Locale, Msg, arg, msg};
use crate::licensing::{Entitlements, LicensingReader};
use crate::types::{Context, Data};

/// The action classes, as command choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poise::ChoiceParameter)]
pub enum ClassChoice {
    #[name = "Channel deletions"]
    ChannelDelete,
    #[name = "Channel creations"]
    ChannelCreate,
    #[name = "Role deletions"]
    RoleDelete,
    #[name = "Role creations"]
    RoleCreate,
    #[name = "Bans"]
    Ban,
    #[name = "Kicks"]
    Kick,
    #[name = "Prunes"]
    Prune,
    #[name = "Webhook creations"]
    WebhookCreate,
    #[name = "Dangerous permission grants"]
    PermissionGrant,
    #[name = "Bots added"]
    BotAdd,
    #[name = "Server setting changes"]
    GuildUpdate,
    #[name = "Timeouts"]
    Timeout,
    #[name = "Roles taken from members"]
    RoleRemove,
    #[name = "Permissions removed from roles"]
    PermissionRemove,
    #[name = "Webhooks changed or deleted"]
    WebhookChange,
    #[name = "Emojis and stickers deleted"]
    ExpressionDelete,
    #[name = "Integrations removed"]
    IntegrationDelete,
    #[name = "AutoMod rules deleted or disabled"]
    AutomodChange,
    #[name = "Messages deleted in bulk"]
    MessageBulkDelete,
    #[name = "Unbans"]
    Unban,
    #[name = "Combined score (points)"]
    Combined,
}

impl ClassChoice {
    /// The class (`None`: the combined score).
    fn class(self) -> Option<ActionClass> {
        Some(match self {
            ClassChoice::ChannelDelete => ActionClass::ChannelDelete,
            ClassChoice::ChannelCreate => ActionClass::ChannelCreate,
            ClassChoice::RoleDelete => ActionClass::RoleDelete,
            ClassChoice::RoleCreate => ActionClass::RoleCreate,
            ClassChoice::Ban => ActionClass::Ban,
            ClassChoice::Kick => ActionClass::Kick,
            ClassChoice::Prune => ActionClass::Prune,
            ClassChoice::WebhookCreate => ActionClass::WebhookCreate,
            ClassChoice::PermissionGrant => ActionClass::PermissionGrant,
            ClassChoice::BotAdd => ActionClass::BotAdd,
            ClassChoice::GuildUpdate => ActionClass::GuildUpdate,
            ClassChoice::Timeout => ActionClass::Timeout,
            ClassChoice::RoleRemove => ActionClass::RoleRemove,
            ClassChoice::PermissionRemove => ActionClass::PermissionRemove,
            ClassChoice::WebhookChange => ActionClass::WebhookChange,
            ClassChoice::ExpressionDelete => ActionClass::ExpressionDelete,
            ClassChoice::IntegrationDelete => ActionClass::IntegrationDelete,
            ClassChoice::AutomodChange => ActionClass::AutomodChange,
            ClassChoice::MessageBulkDelete => ActionClass::MessageBulkDelete,
            ClassChoice::Unban => ActionClass::Unban,
            ClassChoice::Combined => return None,
        })
    }
}

/// The punishments, as command choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poise::ChoiceParameter)]
pub enum PunishmentChoice {
    #[name = "Take all their roles (reversible)"]
    StripRoles,
    #[name = "Take all their roles and give the quarantine role"]
    Quarantine,
    #[name = "Kick"]
    Kick,
    #[name = "Ban"]
    Ban,
}

impl PunishmentChoice {
    fn punishment(self) -> Punishment {
        match self {
            PunishmentChoice::StripRoles => Punishment::StripRoles,
            PunishmentChoice::Quarantine => Punishment::Quarantine,
            PunishmentChoice::Kick => Punishment::Kick,
            PunishmentChoice::Ban => Punishment::Ban,
        }
    }
}

/// What to do with the whitelist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poise::ChoiceParameter)]
pub enum WhitelistAction {
    #[name = "Add"]
    Add,
    #[name = "Remove"]
    Remove,
    #[name = "List"]
    List,
}

fn guild_of(ctx: Context<'_>) -> Result<u64, Error> {
    ctx.guild_id()
        .map(|g| g.get())
        .ok_or_else(|| Error::user(msg::ERROR_GUILD_ONLY))
}

fn internal(e: impl Into<anyhow::Error>, what: &'static str) -> Error {
    Error::Internal(e.into().context(what))
}

pub fn guild_err(e: GuildError) -> Error {
    match e {
        GuildError::UnknownGuild(g) => {
            Error::User(UserError::new(msg::ERROR_UNKNOWN_GUILD).with("guild_id", g))
        }
        GuildError::TooManyPending => Error::User(
            UserError::new(msg::ERROR_TOO_MANY_PENDING)
                .with("max", crate::guild::service::MAX_PENDING),
        ),
        other => internal(other, "changing AntiNuke settings"),
    }
}

async fn entitlements(ctx: Context<'_>, guild: u64) -> Result<Entitlements, Error> {
    ctx.data()
        .licensing
        .entitlements(guild)
        .await
        .map_err(|e| internal(e, "reading the plan"))
}

/// The plan does not include `feature` (`detection`, `punishment`, `lockdown`, `auto_revert`,
/// `custom_thresholds`: the message selects its wording by this code).
pub fn plan_lacks(feature: &'static str) -> Error {
    Error::User(UserError::new(msg::ERROR_ANTINUKE_PLAN_FEATURE).with("feature", feature))
}

/// What became of a change.
enum Changed {
    /// The owner's change: applied.
    Applied(TrustChange),
    /// Someone else's: waiting for the owner's approval.
    Requested,
}

/// Applies `change` when the owner makes it; asks the owner to approve it otherwise.
async fn change(ctx: Context<'_>, guild: u64, change: AntinukeChange) -> Result<Changed, Error> {
    let data = ctx.data();
    let actor = ctx.author().id.get();
    if !checks::is_owner(ctx).await? {
        data.guilds
            .request_antinuke_change(guild, actor, change, data.config.antinuke.approval_hours)
            .await
            .map_err(guild_err)?;
        return Ok(Changed::Requested);
    }
    let (_, result) = data
        .guilds
        .change_antinuke(guild, actor, change)
        .await
        .map_err(guild_err)?;
    data.antinuke
        .reload(guild)
        .await
        .map_err(|e| internal(e, "applying AntiNuke settings"))?;
    Ok(Changed::Applied(result))
}

/// The answer to a change that waits for the owner.
async fn requested(ctx: Context<'_>) -> Result<(), Error> {
    let hours = ctx.data().config.antinuke.approval_hours;
    reply::say(
        ctx,
        msg::ANTINUKE_CHANGE_REQUESTED,
        &[arg("hours", hours)],
        true,
    )
    .await
}

fn t(data: &Data, locale: Locale, m: Msg, args: &[(&str, ArgValue)]) -> String {
    data.i18n.text(locale, &m, args)
}

fn on_off(data: &Data, locale: Locale, on: bool) -> String {
    t(
        data,
        locale,
        if on {
            msg::STATUS_ENABLED
        } else {
            msg::STATUS_DISABLED
        },
        &[],
    )
}

fn when(at: DateTime<Utc>) -> String {
    format!("<t:{}:R>", at.timestamp())
}

/// Whether Umbra can see the audit log in `guild` (AntiNuke needs VIEW_AUDIT_LOG).
fn sees_audit_log(ctx: Context<'_>) -> bool {
    let Some(bot) = ctx.data().bot.user_id().map(serenity::UserId::new) else {
        return true;
    };
    let Some(guild) = ctx.guild() else {
        return true;
    };
    match guild.members.get(&bot) {
        Some(member) => {
            let p = guild.member_permissions(member);
            p.administrator() || p.view_audit_log()
        }
        None => true,
    }
}

async fn send(ctx: Context<'_>, text: String) -> Result<(), Error> {
    let text = if text.chars().count() > 1990 {
        text.chars().take(1990).collect()
    } else {
        text
    };
    ctx.send(CreateReply::default().content(text).ephemeral(true))
        .await?;
    Ok(())
}

/// AntiNuke: stops nukes while they happen (owner and trusted users).
#[poise::command(
    slash_command,
    guild_only,
    check = "checks::trusted",
    subcommands(
        "status",
        "enable",
        "disable",
        "thresholds",
        "whitelist",
        "punishment",
        "incidents"
    ),
    subcommand_required
)]
pub async fn antinuke(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// Shows AntiNuke's settings, thresholds and recent incidents.
#[poise::command(slash_command, guild_only, ephemeral)]
pub async fn status(ctx: Context<'_>) -> Result<(), Error> {
    let guild = guild_of(ctx)?;
    let data = ctx.data();
    data.antinuke
        .reload(guild)
        .await
        .map_err(|e| internal(e, "reading AntiNuke settings"))?;
    let locale = reply::locale(ctx).await;
    let Some(policy) = data.antinuke.policy(guild) else {
        return Err(Error::User(
            UserError::new(msg::ERROR_UNKNOWN_GUILD).with("guild_id", guild),
        ));
    };
    let settings = data.guilds.antinuke(guild).await.map_err(guild_err)?;
    let incidents = data
        .antinuke
        .incidents(guild, 100)
        .await
        .map_err(|e| internal(e, "listing incidents"))?;
    let open = incidents
        .iter()
        .filter(|i| i.status == super::IncidentStatus::Open)
        .count();
    let none = t(data, locale, msg::STATUS_NONE, &[]);
    let mentions = |ids: Vec<String>| {
        if ids.is_empty() {
            none.clone()
        } else {
            ids.join(", ")
        }
    };
    let mut lines = vec![
        t(
            data,
            locale,
            msg::ANTINUKE_STATUS_HEADER,
            &[arg("state", on_off(data, locale, policy.enabled))],
        ),
        t(
            data,
            locale,
            msg::ANTINUKE_STATUS_RESPONSE,
            &[
                arg(
                    "punishment",
                    t(data, locale, policy.punishment.name_msg(), &[]),
                ),
                arg("lockdown", on_off(data, locale, policy.lockdown)),
                arg("auto_revert", on_off(data, locale, policy.auto_revert)),
            ],
        ),
        t(
            data,
            locale,
            msg::ANTINUKE_STATUS_EXEMPT,
            &[
                arg(
                    "users",
                    mentions(
                        settings
                            .whitelist_user_ids
                            .iter()
                            .map(|u| format!("<@{u}>"))
                            .collect(),
                    ),
                ),
                arg(
                    "roles",
                    mentions(
                        settings
                            .whitelist_role_ids
                            .iter()
                            .map(|r| format!("<@&{r}>"))
                            .collect(),
                    ),
                ),
            ],
        ),
        t(data, locale, msg::ANTINUKE_THRESHOLDS_TITLE, &[]),
    ];
    lines.extend(threshold_lines(data, locale, &policy.thresholds));
    for limit in &policy.limited {
        let feature = match limit {
            Limit::Detection => msg::ANTINUKE_FEATURE_DETECTION,
            Limit::Punishment(_) => msg::ANTINUKE_FEATURE_PUNISHMENT,
            Limit::Lockdown => msg::ANTINUKE_FEATURE_LOCKDOWN,
            Limit::AutoRevert => msg::ANTINUKE_FEATURE_AUTO_REVERT,
            Limit::CustomThresholds => msg::ANTINUKE_FEATURE_CUSTOM_THRESHOLDS,
        };
        lines.push(t(
            data,
            locale,
            msg::ANTINUKE_PLAN_LIMIT,
            &[arg("feature", t(data, locale, feature, &[]))],
        ));
    }
    lines.push(t(
        data,
        locale,
        msg::ANTINUKE_STATUS_INCIDENTS,
        &[arg("open", open), arg("total", incidents.len())],
    ));
    if !sees_audit_log(ctx) {
        lines.push(t(data, locale, msg::ANTINUKE_WARN_AUDIT_LOG, &[]));
    }
    if let Some(why) = degraded_text(ctx, data, locale, guild) {
        lines.push(why);
    }
    let pending = data.guilds.pending(guild).await.map_err(guild_err)?;
    if !pending.is_empty() {
        lines.push(t(
            data,
            locale,
            msg::ANTINUKE_STATUS_PENDING,
            &[arg("count", pending.len())],
        ));
    }
    send(ctx, lines.join("\n")).await
}

/// "Protection degraded" and why, from the cache (`None`: healthy, or AntiNuke off).
fn degraded_text(ctx: Context<'_>, data: &Data, locale: Locale, guild: u64) -> Option<String> {
    degraded_in(ctx.cache(), data, locale, guild)
}

/// "Protection degraded" and why, when AntiNuke is on in `guild` and cannot fully act (from
/// the gateway cache: the bot's role position and permissions). The web overview shows it too.
pub fn degraded_in(
    cache: &serenity::Cache,
    data: &crate::app::App,
    locale: Locale,
    guild: u64,
) -> Option<String> {
    let health = data.antinuke.health_from_cache(cache, guild)?;
    if !health.degraded() {
        return None;
    }
    let args = crate::notification::StoredArg::from_json(&super::health::reasons(&health));
    let why = args
        .map(|a| match a.render(&data.i18n, locale) {
            ArgValue::Text(t) => t,
            ArgValue::Number(n) => n.to_string(),
        })
        .unwrap_or_default();
    Some(data.i18n.text(
        locale,
        &msg::STATUS_PROTECTION_DEGRADED,
        &[arg("reasons", why)],
    ))
}

fn threshold_lines(data: &Data, locale: Locale, thresholds: &Thresholds) -> Vec<String> {
    let defaults = Thresholds::of(&data.config.antinuke);
    let line = |name: String, th: Threshold, default: Threshold| {
        t(
            data,
            locale,
            msg::ANTINUKE_THRESHOLD_LINE,
            &[
                arg("class", name),
                arg("count", th.count),
                arg("window", th.window_seconds()),
                arg("custom", if th == default { "no" } else { "yes" }),
            ],
        )
    };
    let mut lines: Vec<String> = ActionClass::ALL
        .into_iter()
        .filter(|c| c.configurable())
        .map(|class| {
            line(
                t(data, locale, class.name_msg(), &[]),
                thresholds.get(class),
                defaults.get(class),
            )
        })
        .collect();
    lines.push(line(
        t(data, locale, msg::ANTINUKE_CLASS_COMBINED, &[]),
        thresholds.score(),
        defaults.score(),
    ));
    lines.push(t(data, locale, msg::ANTINUKE_TRUST_GRANT_LINE, &[]));
    lines
}

/// Turns AntiNuke on.
#[poise::command(slash_command, guild_only, ephemeral)]
pub async fn enable(ctx: Context<'_>) -> Result<(), Error> {
    let guild = guild_of(ctx)?;
    if !entitlements(ctx, guild).await?.plan.antinuke.detection {
        return Err(plan_lacks("detection"));
    }
    if let Changed::Requested = change(ctx, guild, AntinukeChange::Enabled(true)).await? {
        return requested(ctx).await;
    }
    let data = ctx.data();
    let locale = reply::locale(ctx).await;
    let punishment = data
        .antinuke
        .policy(guild)
        .map(|p| p.punishment)
        .unwrap_or(Punishment::StripRoles);
    let mut text = t(
        data,
        locale,
        msg::ANTINUKE_ENABLED,
        &[arg(
            "punishment",
            t(data, locale, punishment.name_msg(), &[]),
        )],
    );
    if !sees_audit_log(ctx) {
        text.push('\n');
        text.push_str(&t(data, locale, msg::ANTINUKE_WARN_AUDIT_LOG, &[]));
    }
    send(ctx, text).await
}

/// Turns AntiNuke off.
#[poise::command(slash_command, guild_only, ephemeral)]
pub async fn disable(ctx: Context<'_>) -> Result<(), Error> {
    let guild = guild_of(ctx)?;
    if let Changed::Requested = change(ctx, guild, AntinukeChange::Enabled(false)).await? {
        return requested(ctx).await;
    }
    reply::say(ctx, msg::ANTINUKE_DISABLED, &[], true).await
}

/// Shows the thresholds, or sets (count and window) or resets (neither) one action's.
#[poise::command(slash_command, guild_only, ephemeral)]
pub async fn thresholds(
    ctx: Context<'_>,
    action: Option<ClassChoice>,
    #[min = 1] count: Option<u32>,
    #[min = 1] window: Option<u32>,
) -> Result<(), Error> {
    let guild = guild_of(ctx)?;
    let data = ctx.data();
    let locale = reply::locale(ctx).await;
    let Some(choice) = action else {
        if count.is_some() || window.is_some() {
            return Err(Error::user(msg::ERROR_ANTINUKE_THRESHOLD_NEEDS_ACTION));
        }
        data.antinuke
            .reload(guild)
            .await
            .map_err(|e| internal(e, "reading AntiNuke settings"))?;
        let policy = data.antinuke.policy(guild);
        let thresholds = policy
            .map(|p| p.thresholds.clone())
            .unwrap_or_else(|| Thresholds::defaults(&data.config.antinuke.thresholds));
        let mut lines = vec![t(data, locale, msg::ANTINUKE_THRESHOLDS_TITLE, &[])];
        lines.extend(threshold_lines(data, locale, &thresholds));
        return send(ctx, lines.join("\n")).await;
    };
    let class = choice.class();
    let key = class.map_or(COMBINED, ActionClass::as_str);
    let class_name = match class {
        Some(c) => t(data, locale, c.name_msg(), &[]),
        None => t(data, locale, msg::ANTINUKE_CLASS_COMBINED, &[]),
    };
    let of = |th: &Thresholds| class.map_or(th.score(), |c| th.get(c));
    if count.is_none() && window.is_none() {
        if let Changed::Requested =
            change(ctx, guild, AntinukeChange::Threshold(key.into(), None)).await?
        {
            return requested(ctx).await;
        }
        let th = of(&Thresholds::of(&data.config.antinuke));
        return reply::say(
            ctx,
            msg::ANTINUKE_THRESHOLD_RESET,
            &[
                arg("class", class_name),
                arg("count", th.count),
                arg("window", th.window_seconds()),
            ],
            true,
        )
        .await;
    }
    if !entitlements(ctx, guild)
        .await?
        .plan
        .antinuke
        .custom_thresholds
    {
        return Err(plan_lacks("custom_thresholds"));
    }
    let current = data
        .antinuke
        .policy(guild)
        .map(|p| of(&p.thresholds))
        .unwrap_or_else(|| of(&Thresholds::of(&data.config.antinuke)));
    let count = count.unwrap_or(current.count);
    let window = window.unwrap_or(u32::try_from(current.window_seconds()).unwrap_or(u32::MAX));
    let bounds = Bounds::of(&data.config.antinuke);
    let valid = match class {
        Some(_) => bounds.validate(count, window)?,
        None => bounds.validate_score(count, window)?,
    };
    if let Changed::Requested = change(
        ctx,
        guild,
        AntinukeChange::Threshold(key.into(), Some(valid)),
    )
    .await?
    {
        return requested(ctx).await;
    }
    reply::say(
        ctx,
        msg::ANTINUKE_THRESHOLD_SET,
        &[
            arg("class", class_name),
            arg("count", valid.count),
            arg("window", valid.window_seconds),
        ],
        true,
    )
    .await
}

/// Users and roles AntiNuke never counts (e.g. a trusted moderation bot).
#[poise::command(slash_command, guild_only, ephemeral)]
pub async fn whitelist(
    ctx: Context<'_>,
    action: WhitelistAction,
    user: Option<serenity::User>,
    role: Option<serenity::Role>,
) -> Result<(), Error> {
    let guild = guild_of(ctx)?;
    let data = ctx.data();
    if action == WhitelistAction::List {
        let settings = data.guilds.antinuke(guild).await.map_err(guild_err)?;
        let locale = reply::locale(ctx).await;
        let none = t(data, locale, msg::STATUS_NONE, &[]);
        let mut items: Vec<String> = settings
            .whitelist_user_ids
            .iter()
            .map(|u| format!("<@{u}>"))
            .chain(
                settings
                    .whitelist_role_ids
                    .iter()
                    .map(|r| format!("<@&{r}>")),
            )
            .collect();
        if items.is_empty() {
            items.push(none);
        }
        return reply::say(
            ctx,
            msg::ANTINUKE_WHITELIST_LIST,
            &[arg("items", items.join(", "))],
            true,
        )
        .await;
    }
    let target = match (user, role) {
        (Some(u), None) => TrustTarget::User(u.id.get()),
        (None, Some(r)) => TrustTarget::Role(r.id.get()),
        _ => return Err(Error::user(msg::SETTINGS_TRUSTED_NEEDS_TARGET)),
    };
    let add = action == WhitelistAction::Add;
    let result = match change(ctx, guild, AntinukeChange::Whitelist(target, add)).await? {
        Changed::Applied(r) => r,
        Changed::Requested => return requested(ctx).await,
    };
    let mention = arg("target", target.mention());
    match result {
        TrustChange::AlreadyTrusted => {
            reply::say(ctx, msg::ANTINUKE_WHITELIST_ALREADY, &[mention], true).await
        }
        TrustChange::NotTrusted => {
            reply::say(ctx, msg::ANTINUKE_WHITELIST_NOT_FOUND, &[mention], true).await
        }
        TrustChange::LimitReached => Err(Error::User(
            UserError::new(msg::SETTINGS_TRUSTED_LIMIT)
                .with("max", crate::guild::model::MAX_TRUSTED),
        )),
        TrustChange::Removed => {
            reply::say(ctx, msg::ANTINUKE_WHITELIST_REMOVED, &[mention], true).await
        }
        TrustChange::Added => {
            reply::say(ctx, msg::ANTINUKE_WHITELIST_ADDED, &[mention], true).await
        }
    }
}

/// Sets what happens to a detected nuker, and lockdown and automatic revert.
#[poise::command(slash_command, guild_only, ephemeral)]
pub async fn punishment(
    ctx: Context<'_>,
    kind: PunishmentChoice,
    lockdown: Option<bool>,
    #[rename = "auto-revert"] auto_revert: Option<bool>,
    #[rename = "quarantine-role"] quarantine_role: Option<serenity::Role>,
) -> Result<(), Error> {
    let guild = guild_of(ctx)?;
    let data = ctx.data();
    let plan = entitlements(ctx, guild).await?.plan.antinuke;
    let punishment = kind.punishment();
    if !plan.punishments.iter().any(|p| p == punishment.as_str()) {
        return Err(plan_lacks("punishment"));
    }
    if lockdown == Some(true) && !plan.lockdown {
        return Err(plan_lacks("lockdown"));
    }
    if auto_revert == Some(true) && !plan.auto_revert {
        return Err(plan_lacks("auto_revert"));
    }
    if let Some(role) = &quarantine_role
        && (role.managed || role.id.get() == guild)
    {
        return Err(Error::user(msg::ERROR_ANTINUKE_QUARANTINE_ROLE));
    }
    let settings = data.guilds.antinuke(guild).await.map_err(guild_err)?;
    let mut waiting = false;
    if punishment == Punishment::Quarantine
        && quarantine_role.is_none()
        && settings.quarantine_role_id.is_none()
    {
        let role = guild_id(ctx)?
            .create_role(
                ctx,
                serenity::EditRole::new()
                    .name("Quarantine")
                    .permissions(serenity::Permissions::empty())
                    .audit_log_reason("Umbra AntiNuke: quarantine role"),
            )
            .await?;
        waiting |= matches!(
            change(
                ctx,
                guild,
                AntinukeChange::QuarantineRole(Some(role.id.get())),
            )
            .await?,
            Changed::Requested
        );
    }
    if let Some(role) = &quarantine_role {
        waiting |= matches!(
            change(
                ctx,
                guild,
                AntinukeChange::QuarantineRole(Some(role.id.get())),
            )
            .await?,
            Changed::Requested
        );
    }
    waiting |= matches!(
        change(
            ctx,
            guild,
            AntinukeChange::Punishment(punishment.as_str().into()),
        )
        .await?,
        Changed::Requested
    );
    if let Some(on) = lockdown {
        waiting |= matches!(
            change(ctx, guild, AntinukeChange::Lockdown(on)).await?,
            Changed::Requested
        );
    }
    if let Some(on) = auto_revert {
        waiting |= matches!(
            change(ctx, guild, AntinukeChange::AutoRevert(on)).await?,
            Changed::Requested
        );
    }
    if waiting {
        return requested(ctx).await;
    }
    let locale = reply::locale(ctx).await;
    let settings = data.guilds.antinuke(guild).await.map_err(guild_err)?;
    let text = t(
        data,
        locale,
        msg::ANTINUKE_PUNISHMENT_SET,
        &[
            arg("punishment", t(data, locale, punishment.name_msg(), &[])),
            arg("lockdown", on_off(data, locale, settings.lockdown)),
            arg("auto_revert", on_off(data, locale, settings.auto_revert)),
        ],
    );
    send(ctx, text).await
}

fn guild_id(ctx: Context<'_>) -> Result<serenity::GuildId, Error> {
    ctx.guild_id()
        .ok_or_else(|| Error::user(msg::ERROR_GUILD_ONLY))
}

/// Lists the server's recent AntiNuke incidents.
#[poise::command(slash_command, guild_only, ephemeral)]
pub async fn incidents(ctx: Context<'_>) -> Result<(), Error> {
    let guild = guild_of(ctx)?;
    let data = ctx.data();
    let list = data
        .antinuke
        .incidents(guild, 10)
        .await
        .map_err(|e| internal(e, "listing incidents"))?;
    if list.is_empty() {
        return reply::say(ctx, msg::ANTINUKE_INCIDENTS_EMPTY, &[], true).await;
    }
    let locale = reply::locale(ctx).await;
    let mut lines = vec![t(
        data,
        locale,
        msg::ANTINUKE_INCIDENTS_TITLE,
        &[arg("count", list.len())],
    )];
    for i in &list {
        let class = ActionClass::parse(&i.action_class)
            .map(|c| t(data, locale, c.name_msg(), &[]))
            .unwrap_or_else(|| i.action_class.clone());
        let punishment = Punishment::parse(&i.punishment)
            .map(|p| t(data, locale, p.name_msg(), &[]))
            .unwrap_or_else(|| t(data, locale, msg::ANTINUKE_PUNISHMENT_NONE, &[]));
        lines.push(t(
            data,
            locale,
            msg::ANTINUKE_INCIDENT_LINE,
            &[
                arg("id", i.short_id()),
                arg("when", when(i.detected_at)),
                arg("actor", format!("<@{}>", i.actor)),
                arg("class", class),
                arg("count", i.action_count),
                arg("punishment", punishment),
                arg("status", t(data, locale, i.status.name_msg(), &[])),
                arg("destroyed", i.destroyed.total()),
            ],
        ));
    }
    send(ctx, lines.join("\n")).await
}

/// The AntiNuke value of `/umbra status` (with "protection degraded" and why, when it is).
pub async fn status_value(ctx: Context<'_>, locale: Locale, guild: u64) -> String {
    let data = ctx.data();
    if data.antinuke.policy(guild).is_none() {
        let _ = data.antinuke.reload(guild).await;
    }
    match data.antinuke.policy(guild) {
        Some(p) if p.enabled => {
            let mut text = t(
                data,
                locale,
                msg::ANTINUKE_STATUS_VALUE,
                &[arg(
                    "punishment",
                    t(data, locale, p.punishment.name_msg(), &[]),
                )],
            );
            if let Some(why) = degraded_text(ctx, data, locale, guild) {
                text.push('\n');
                text.push_str(&why);
            }
            text
        }
        // Off (never turned on, or turned off): `/antinuke enable` sets it up.
        _ => t(data, locale, msg::STATUS_NOT_SET_UP, &[]),
    }
}

/// A button's failure, as the person who pressed it reads it.
pub fn error_text(data: &Data, locale: Locale, e: &AntinukeError) -> String {
    match e {
        AntinukeError::UnknownIncident => t(data, locale, msg::ERROR_EXPIRED_BUTTON, &[]),
        AntinukeError::AlreadyHandled(status) => {
            let status = super::IncidentStatus::parse(status)
                .map(|s| t(data, locale, s.name_msg(), &[]))
                .unwrap_or_else(|| (*status).to_owned());
            t(
                data,
                locale,
                msg::ANTINUKE_ALREADY_HANDLED,
                &[arg("status", status)],
            )
        }
        AntinukeError::NotReady => t(data, locale, msg::ANTINUKE_RESTORE_NOT_READY, &[]),
        AntinukeError::NotAllowed => t(data, locale, msg::ERROR_NOT_TRUSTED, &[]),
        other => t(
            data,
            locale,
            msg::ANTINUKE_ACTION_FAILED,
            &[arg("details", other.to_string())],
        ),
    }
}

/// An incident button's custom id (after the prefix): its kind and its incident (`None`: not
/// an id).
pub fn parse_button(rest: &str) -> (&str, Option<uuid::Uuid>) {
    let (kind, id) = rest.split_once(':').unwrap_or((rest, ""));
    (kind, uuid::Uuid::parse_str(id).ok())
}

/// Routes the incident buttons (`umbra:antinuke:<restore|fp>:<incident id>`). Only the owner
/// and trusted users may press them; the state lives in the database, so they keep working
/// after a restart.
pub async fn on_component(
    ctx: &serenity::Context,
    data: &Data,
    component: &serenity::ComponentInteraction,
    rest: &str,
) -> Result<(), Error> {
    use serenity::{CreateInteractionResponse, CreateInteractionResponseMessage};
    let (kind, incident) = parse_button(rest);
    let guild_locale = match component.guild_id {
        Some(g) => reply::guild_locale(data, g).await,
        None => None,
    };
    let locale = crate::i18n::resolve(Some(&component.locale), guild_locale);
    // Answer within Discord's 3 seconds; the work (Discord calls) follows.
    component
        .create_response(
            &ctx.http,
            CreateInteractionResponse::Defer(
                CreateInteractionResponseMessage::new().ephemeral(component.guild_id.is_some()),
            ),
        )
        .await?;
    let by = component.user.id.get();
    let mut job = None;
    let text = async {
        let Some(id) = incident else {
            return Err(AntinukeError::UnknownIncident);
        };
        let found = data
            .antinuke
            .incident(id)
            .await?
            .ok_or(AntinukeError::UnknownIncident)?;
        if !data.antinuke.may_decide(found.guild_discord_id, by).await? {
            return Err(AntinukeError::NotAllowed);
        }
        match kind {
            "restore" => {
                let started = data.antinuke.restore_destroyed(id, by).await?;
                job = started.job;
                Ok(t(
                    data,
                    locale,
                    msg::ANTINUKE_RESTORE_STARTED,
                    &[
                        arg(
                            "job",
                            started
                                .job
                                .map(|j| j.simple().to_string()[24..].to_owned())
                                .unwrap_or_else(|| "-".into()),
                        ),
                        arg("items", started.items),
                        arg(
                            "bans",
                            started.bans_by_job + started.unbanned + started.rebanned,
                        ),
                    ],
                ))
            }
            "fp" => {
                let given = data.antinuke.false_positive(id, by).await?;
                let mut text = t(
                    data,
                    locale,
                    msg::ANTINUKE_FALSE_POSITIVE_DONE,
                    &[
                        arg("actor", format!("<@{}>", found.actor)),
                        arg("roles", given.roles),
                    ],
                );
                if given.kicked {
                    text.push('\n');
                    text.push_str(&t(data, locale, msg::ANTINUKE_FALSE_POSITIVE_KICKED, &[]));
                }
                if given.grants_restored > 0 || given.bots_removed > 0 {
                    text.push('\n');
                    text.push_str(&t(
                        data,
                        locale,
                        msg::ANTINUKE_FALSE_POSITIVE_CLEANUP,
                        &[
                            arg("grants", given.grants_restored),
                            arg("bots", given.bots_removed),
                        ],
                    ));
                }
                Ok(text)
            }
            _ => Err(AntinukeError::UnknownIncident),
        }
    }
    .await;
    let content = match text {
        Ok(t) => t,
        Err(e) => {
            tracing::info!(error = %e, "AntiNuke: a button was refused");
            error_text(data, locale, &e)
        }
    };
    let answer = component
        .create_followup(
            &ctx.http,
            serenity::CreateInteractionResponseFollowup::new()
                .content(content)
                .ephemeral(component.guild_id.is_some()),
        )
        .await?;
    if let Some(job) = job {
        // The restore engine edits this answer with its progress and its final report.
        let message = serde_json::json!({
            "token": component.token,
            "expires_at": Utc::now().timestamp() + 14 * 60,
            "channel_id": answer.channel_id.get().to_string(),
            "message_id": answer.id.get().to_string(),
            "locale": locale.code(),
        });
        if let Err(e) = data.restores.show_progress_in(job, message).await {
            tracing::warn!(%job, error = %e, "AntiNuke: the restore's progress cannot be shown");
        }
    }
    Ok(())
}
