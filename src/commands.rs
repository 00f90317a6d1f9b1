//! Purpose: the one list of every command ([`all`]) and the top-level `/umbra` command with
//! its general subcommands (`status`, `help`); domain subcommands live in their domains.

use poise::CreateReply;
use poise::serenity_prelude as serenity;
use serenity::{
    CreateActionRow, CreateButton, CreateInteractionResponse, CreateInteractionResponseMessage,
};

use crate::discord::reply;
use crate::error::{Error, ResultExt};
use crate::guild::GuildReader;
use crate::i18n::{self, Locale, Msg, arg, msg};
use crate::licensing::LicensingReader;
use crate::types::{Command, Context, Data};

/// Every command Umbra registers.
pub fn all() -> Vec<Command> {
    vec![
        umbra(),
        crate::recovery::snapshot::commands::backup(),
        crate::recovery::restore::commands::restore(),
        crate::recovery::antinuke::commands::antinuke(),
        crate::licensing::commands::admin(),
        crate::billing::commands::billing(),
        crate::member::commands::members(),
    ]
}

/// Umbra: status, settings, notifications and help.
#[poise::command(
    slash_command,
    subcommands(
        "status",
        "help",
        "crate::guild::commands::settings",
        "crate::notification::commands::notifications"
    ),
    subcommand_required
)]
pub async fn umbra(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// Shows this server's plan and the state of Umbra's protections.
#[poise::command(slash_command, guild_only, ephemeral)]
pub async fn status(ctx: Context<'_>) -> Result<(), Error> {
    let Some(guild) = ctx.guild_id() else {
        return Err(Error::user(msg::ERROR_GUILD_ONLY));
    };
    let locale = reply::locale(ctx).await;
    let data = ctx.data();
    // A server Umbra joined a moment ago is recorded when its GUILD_CREATE is handled: until
    // then there is nothing to show, which is not an error.
    let known = data
        .guilds
        .guild(guild.get())
        .await
        .map_err(|e| Error::Internal(anyhow::Error::new(e).context("reading the server")))?;
    if known.is_none() {
        return Err(Error::user(msg::STATUS_LOADING));
    }
    let t = |m: Msg, args: &[(&str, crate::i18n::ArgValue)]| data.i18n.text(locale, &m, args);
    let entitlements = data
        .licensing
        .entitlements(guild.get())
        .await
        .map_err(|e| Error::Internal(anyhow::Error::new(e).context("reading entitlements")))?;
    let settings = data
        .guilds
        .settings(guild.get())
        .await
        .map_err(|e| Error::Internal(anyhow::Error::new(e).context("reading settings")))?;
    let guild_name = ctx
        .guild()
        .map(|g| g.name.clone())
        .unwrap_or_else(|| guild.to_string());
    let plan = entitlements.plan.display_name(&data.i18n, locale);
    let plan_line = match entitlements.license.as_ref().and_then(|l| l.ends_at) {
        Some(until) => t(
            msg::STATUS_PLAN_UNTIL,
            &[
                arg("plan", plan),
                arg("until", until.format("%Y-%m-%d").to_string()),
            ],
        ),
        None => t(msg::STATUS_PLAN, &[arg("plan", plan)]),
    };
    let none = t(msg::STATUS_NONE, &[]);
    let locale_value = settings
        .locale
        .map(|l| l.code().to_owned())
        .unwrap_or_else(|| none.clone());
    let log_value = settings
        .log_channel_id
        .map(|c| format!("<#{c}>"))
        .unwrap_or_else(|| none.clone());
    let (sync_state, last_snapshot) =
        crate::recovery::snapshot::commands::status_values(data, locale, guild.get()).await;
    let lines = [
        t(msg::STATUS_TITLE, &[arg("guild", guild_name)]),
        plan_line,
        t(msg::STATUS_SYNC, &[arg("state", sync_state)]),
        t(msg::STATUS_LAST_SNAPSHOT, &[arg("value", last_snapshot)]),
        t(
            msg::STATUS_ANTINUKE,
            &[arg(
                "state",
                crate::recovery::antinuke::commands::status_value(ctx, locale, guild.get()).await,
            )],
        ),
        t(msg::STATUS_LOCALE, &[arg("locale", locale_value)]),
        t(msg::STATUS_LOG_CHANNEL, &[arg("channel", log_value)]),
    ];
    ctx.send(
        CreateReply::default()
            .content(lines.join("\n"))
            .ephemeral(true),
    )
    .await?;
    Ok(())
}

/// Help topics, each a button on the help message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HelpTopic {
    Overview,
    Settings,
    Notifications,
    Plans,
}

impl HelpTopic {
    const ALL: [HelpTopic; 4] = [
        HelpTopic::Overview,
        HelpTopic::Settings,
        HelpTopic::Notifications,
        HelpTopic::Plans,
    ];

    fn id(self) -> &'static str {
        match self {
            HelpTopic::Overview => "overview",
            HelpTopic::Settings => "settings",
            HelpTopic::Notifications => "notifications",
            HelpTopic::Plans => "plans",
        }
    }

    fn parse(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.id() == id)
    }

    fn text(self) -> Msg {
        match self {
            HelpTopic::Overview => msg::HELP_TOPIC_OVERVIEW,
            HelpTopic::Settings => msg::HELP_TOPIC_SETTINGS,
            HelpTopic::Notifications => msg::HELP_TOPIC_NOTIFICATIONS,
            HelpTopic::Plans => msg::HELP_TOPIC_PLANS,
        }
    }

    fn label(self) -> Msg {
        match self {
            HelpTopic::Overview => msg::HELP_BUTTON_OVERVIEW,
            HelpTopic::Settings => msg::HELP_BUTTON_SETTINGS,
            HelpTopic::Notifications => msg::HELP_BUTTON_NOTIFICATIONS,
            HelpTopic::Plans => msg::HELP_BUTTON_PLANS,
        }
    }
}

/// The custom id prefix of help buttons.
const HELP_PREFIX: &str = "umbra:help:";

fn help_buttons(data: &Data, locale: Locale, current: HelpTopic) -> Vec<CreateActionRow> {
    let buttons = HelpTopic::ALL
        .into_iter()
        .map(|topic| {
            CreateButton::new(format!("{HELP_PREFIX}{}", topic.id()))
                .label(data.i18n.text(locale, &topic.label(), &[]))
                .style(if topic == current {
                    serenity::ButtonStyle::Primary
                } else {
                    serenity::ButtonStyle::Secondary
                })
                .disabled(topic == current)
        })
        .collect();
    vec![CreateActionRow::Buttons(buttons)]
}

/// How Umbra works and what each command does (works in servers and in DMs).
#[poise::command(slash_command, ephemeral)]
pub async fn help(ctx: Context<'_>) -> Result<(), Error> {
    let locale = reply::locale(ctx).await;
    let data = ctx.data();
    let topic = HelpTopic::Overview;
    ctx.send(
        CreateReply::default()
            .content(data.i18n.text(locale, &topic.text(), &[]))
            .components(help_buttons(data, locale, topic))
            .ephemeral(true),
    )
    .await?;
    Ok(())
}

/// A handler of the buttons (and selects) whose custom id starts with its prefix; it gets the
/// rest of the id and checks the clicker's rights itself (a button can be pressed by anyone who
/// sees it, in a guild or in a DM).
pub type ComponentHandler = for<'a> fn(
    &'a serenity::Context,
    &'a Data,
    &'a serenity::ComponentInteraction,
    &'a str,
) -> futures::future::BoxFuture<'a, Result<(), Error>>;

/// Boxes an `async fn (ctx, data, component, rest)` into a [`ComponentHandler`].
macro_rules! handler {
    ($f:path) => {{
        fn handle<'a>(
            ctx: &'a serenity::Context,
            data: &'a Data,
            component: &'a serenity::ComponentInteraction,
            rest: &'a str,
        ) -> futures::future::BoxFuture<'a, Result<(), Error>> {
            Box::pin($f(ctx, data, component, rest))
        }
        handle as ComponentHandler
    }};
}

/// Every family of buttons: custom id prefix -> handler (the one list, like [`all`]).
pub fn components() -> Vec<(&'static str, ComponentHandler)> {
    vec![
        (HELP_PREFIX, handler!(on_help)),
        (
            crate::recovery::antinuke::COMPONENT_PREFIX,
            handler!(crate::recovery::antinuke::commands::on_component),
        ),
        (
            crate::notification::commands::COMPONENT_PREFIX,
            handler!(crate::notification::commands::on_component),
        ),
        (
            crate::guild::service::GUARD_PREFIX,
            handler!(crate::guild::commands::on_guard_component),
        ),
        (
            crate::recovery::restore::view::COMPONENT_PREFIX,
            handler!(crate::recovery::restore::commands::on_component),
        ),
    ]
}

/// A button's custom id as its family's handler reads it, before any right is checked or
/// anything is read (the entry of the `custom_id` fuzz target; a handler answers `None` parts
/// with "unknown" or "expired").
#[derive(Debug)]
pub enum ComponentId<'a> {
    Help(Option<&'static str>),
    Antinuke(&'a str, Option<uuid::Uuid>),
    Notify(Option<crate::notification::PreferenceChange>),
    /// Action, guild, argument, and the argument as an encoded protection change.
    Guard(
        Option<&'a str>,
        Option<u64>,
        Option<&'a str>,
        Option<crate::guild::ProtectionChange>,
    ),
    Restore(Option<(&'a str, uuid::Uuid, Option<&'a str>)>),
}

/// Parses any custom id Umbra makes (`None`: not one of Umbra's).
pub fn parse_component_id(id: &str) -> Option<ComponentId<'_>> {
    use crate::recovery::{antinuke, restore};
    if let Some(rest) = id.strip_prefix(HELP_PREFIX) {
        return Some(ComponentId::Help(HelpTopic::parse(rest).map(HelpTopic::id)));
    }
    if let Some(rest) = id.strip_prefix(antinuke::COMPONENT_PREFIX) {
        let (kind, incident) = antinuke::commands::parse_button(rest);
        return Some(ComponentId::Antinuke(kind, incident));
    }
    if let Some(rest) = id.strip_prefix(crate::notification::commands::COMPONENT_PREFIX) {
        return Some(ComponentId::Notify(
            crate::notification::commands::parse_component(rest),
        ));
    }
    if let Some(rest) = id.strip_prefix(crate::guild::service::GUARD_PREFIX) {
        let (action, guild, arg) = crate::guild::commands::parse_guard(rest);
        let change = arg.and_then(crate::guild::ProtectionChange::decode);
        return Some(ComponentId::Guard(action, guild, arg, change));
    }
    if let Some(rest) = id.strip_prefix(restore::view::COMPONENT_PREFIX) {
        return Some(ComponentId::Restore(restore::commands::parse_id(rest)));
    }
    None
}

/// Routes a button click or select by its `custom_id` (unknown ids are ignored: an old message
/// of a removed feature).
pub async fn on_component(
    ctx: &serenity::Context,
    data: &Data,
    component: &serenity::ComponentInteraction,
) -> Result<(), Error> {
    let id = component.data.custom_id.as_str();
    for (prefix, handle) in components() {
        if let Some(rest) = id.strip_prefix(prefix) {
            return handle(ctx, data, component, rest).await;
        }
    }
    Ok(())
}

/// A help topic button: the help message shows that topic.
async fn on_help(
    ctx: &serenity::Context,
    data: &Data,
    component: &serenity::ComponentInteraction,
    topic: &str,
) -> Result<(), Error> {
    let guild_locale = match component.guild_id {
        Some(g) => reply::guild_locale(data, g).await,
        None => None,
    };
    let locale = i18n::resolve(Some(&component.locale), guild_locale);
    let response = match HelpTopic::parse(topic) {
        Some(topic) => CreateInteractionResponse::UpdateMessage(
            CreateInteractionResponseMessage::new()
                .content(data.i18n.text(locale, &topic.text(), &[]))
                .components(help_buttons(data, locale, topic)),
        ),
        None => CreateInteractionResponse::Message(
            CreateInteractionResponseMessage::new()
                .content(data.i18n.text(locale, &msg::ERROR_EXPIRED_BUTTON, &[]))
                .ephemeral(true),
        ),
    };
    component
        .create_response(&ctx.http, response)
        .await
        .ctx("answering a help button")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_button_prefix_shadows_another() {
        let prefixes: Vec<&str> = components().into_iter().map(|(p, _)| p).collect();
        for (i, a) in prefixes.iter().enumerate() {
            assert!(a.starts_with("umbra:") && a.ends_with(':'), "{a}");
            for (j, b) in prefixes.iter().enumerate() {
                assert!(i == j || !b.starts_with(a), "{a} would take {b}'s buttons");
            }
        }
    }
}
