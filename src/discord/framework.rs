//! Purpose: the poise framework — the command list with its localizations, the error replies
//! (user errors translated and ephemeral; internal errors logged with an id and answered
//! generically), the set-up on READY (operators, command registration), and the raw-event
//! guard that makes unparsable gateway dispatches visible.

use std::borrow::Cow;

use poise::serenity_prelude as serenity;
use poise::{CreateReply, FrameworkError};

use crate::commands;
use crate::error::Error;
use crate::i18n::{I18n, Locale, msg};
use crate::types::{Command, Context, Data};

/// Fluent id of a command's localized name; descriptions add `-desc`, options `-opt-<name>`.
pub fn command_key(path: &str) -> String {
    format!("cmd-{}", path.replace(' ', "-"))
}

/// Fluent id of a choice's display name.
pub fn choice_key(command_path: &str, param: &str, index: usize) -> String {
    format!("{}-opt-{param}-choice-{index}", command_key(command_path))
}

/// Every command with its descriptions from en-US and its names/descriptions in every other
/// locale. Command and option names in code are the en-US names.
pub fn localized_commands(i18n: &I18n) -> Vec<Command> {
    let mut all = commands::all();
    for command in &mut all {
        localize(i18n, command, "");
    }
    all
}

fn localize(i18n: &I18n, command: &mut Command, parent: &str) {
    let path = if parent.is_empty() {
        command.name.to_string()
    } else {
        format!("{parent} {}", command.name)
    };
    let key = command_key(&path);
    let get = |locale: Locale, id: &str| i18n.raw(locale, id, None);
    if let Some(desc) = get(Locale::FALLBACK, &format!("{key}-desc")) {
        command.description = Some(desc.into());
    }
    for locale in Locale::ALL.into_iter().filter(|l| *l != Locale::FALLBACK) {
        let code = Cow::Borrowed(locale.code());
        if let Some(name) = get(locale, &key) {
            command
                .name_localizations
                .to_mut()
                .push((code.clone(), name.into()));
        }
        if let Some(desc) = get(locale, &format!("{key}-desc")) {
            command
                .description_localizations
                .to_mut()
                .push((code.clone(), desc.into()));
        }
    }
    for param in &mut command.parameters {
        let pkey = format!("{key}-opt-{}", param.name);
        if let Some(desc) = get(Locale::FALLBACK, &format!("{pkey}-desc")) {
            param.description = Some(desc.into());
        }
        for locale in Locale::ALL.into_iter().filter(|l| *l != Locale::FALLBACK) {
            let code = Cow::Borrowed(locale.code());
            if let Some(name) = get(locale, &pkey) {
                param
                    .name_localizations
                    .to_mut()
                    .push((code.clone(), name.into()));
            }
            if let Some(desc) = get(locale, &format!("{pkey}-desc")) {
                param
                    .description_localizations
                    .to_mut()
                    .push((code.clone(), desc.into()));
            }
        }
        let param_name = param.name.clone();
        for (index, choice) in param.choices.to_mut().iter_mut().enumerate() {
            let ckey = choice_key(&path, &param_name, index);
            if let Some(name) = get(Locale::FALLBACK, &ckey) {
                choice.name = name.into();
            }
            for locale in Locale::ALL.into_iter().filter(|l| *l != Locale::FALLBACK) {
                if let Some(name) = get(locale, &ckey) {
                    choice
                        .localizations
                        .to_mut()
                        .push((Cow::Borrowed(locale.code()), name.into()));
                }
            }
        }
    }
    for sub in &mut command.subcommands {
        localize(i18n, sub, &path);
    }
}

/// Every (path, command) in the tree, depth first.
pub fn walk(commands: &[Command]) -> Vec<(String, &Command)> {
    fn go<'a>(out: &mut Vec<(String, &'a Command)>, command: &'a Command, parent: &str) {
        let path = if parent.is_empty() {
            command.name.to_string()
        } else {
            format!("{parent} {}", command.name)
        };
        out.push((path.clone(), command));
        for sub in &command.subcommands {
            go(out, sub, &path);
        }
    }
    let mut out = Vec::new();
    for c in commands {
        go(&mut out, c, "");
    }
    out
}

/// Answers a failed command: a user error in the user's language (ephemeral); an internal
/// error logged with its context and an id, answered generically with that id.
pub async fn reply_error(ctx: Context<'_>, error: Error) {
    let (content, log) = match error {
        Error::User(user) => {
            let locale = crate::discord::reply::locale(ctx).await;
            (
                ctx.data().i18n.text(locale, &user.msg, &user.fluent_args()),
                None,
            )
        }
        Error::Internal(e) => {
            let error_id = uuid::Uuid::now_v7().simple().to_string()[20..].to_owned();
            let locale = crate::discord::reply::locale(ctx).await;
            let text = ctx.data().i18n.text(
                locale,
                &msg::ERROR_INTERNAL,
                &[crate::i18n::arg("error_id", error_id.clone())],
            );
            (text, Some((error_id, e)))
        }
    };
    if let Some((error_id, e)) = log {
        tracing::error!(%error_id, command = %ctx.command().qualified_name, error = format!("{e:#}"), "command failed");
    }
    if let Err(e) = ctx
        .send(CreateReply::default().content(content).ephemeral(true))
        .await
    {
        tracing::warn!(error = %e, "could not send the error reply");
    }
}

async fn on_error(error: FrameworkError<'_, Data, Error>) {
    match error {
        FrameworkError::Command { error, ctx, .. } => reply_error(ctx, error).await,
        FrameworkError::CommandCheckFailed { error, ctx, .. } => {
            reply_error(
                ctx,
                error.unwrap_or_else(|| Error::user(msg::ERROR_NOT_TRUSTED)),
            )
            .await;
        }
        FrameworkError::ArgumentParse {
            error, input, ctx, ..
        } => {
            let details = match input {
                Some(input) => format!("`{input}`: {error}"),
                None => error.to_string(),
            };
            let user =
                crate::error::UserError::new(msg::ERROR_BAD_ARGUMENT).with("details", details);
            reply_error(ctx, Error::User(user)).await;
        }
        FrameworkError::GuildOnly { ctx, .. } => {
            reply_error(ctx, Error::user(msg::ERROR_GUILD_ONLY)).await
        }
        FrameworkError::CooldownHit {
            remaining_cooldown,
            ctx,
            ..
        } => {
            let user = crate::error::UserError::new(msg::ERROR_COOLDOWN)
                .with("seconds", remaining_cooldown.as_secs().max(1));
            reply_error(ctx, Error::User(user)).await;
        }
        FrameworkError::CommandPanic { payload, ctx, .. } => {
            let e = anyhow::anyhow!("the command panicked: {}", payload.unwrap_or_default());
            reply_error(ctx, Error::Internal(e)).await;
        }
        FrameworkError::EventHandler { error, event, .. } => {
            tracing::error!(event = event.snake_case_name(), error = %error, "handling a gateway event failed");
        }
        FrameworkError::Setup { error, .. } => {
            tracing::error!(error = %error, "bot set-up failed");
        }
        other => {
            if let Err(e) = poise::builtins::on_error(other).await {
                tracing::warn!(error = %e, "could not handle a framework error");
            }
        }
    }
}

/// The collector every shard runner starts with (`ClientBuilder::shard_collector`, Umbra's
/// patch of serenity: `vendor/README.md`). It sees each gateway event in order, inside the
/// runner, before serenity's cache and before any handler: live sync keeps the member index and
/// asks for large guilds' members there (`SyncService::on_shard_event`), and dispatches serenity
/// could not parse are counted (it would otherwise drop them silently). A raw event handler did
/// the latter before, at the cost of a copy of every event (a whole guild for each
/// GUILD_CREATE) and a task.
pub fn shard_collector(
    data: &Data,
) -> impl Fn(serenity::ShardId, &serenity::ShardMessenger) -> serenity::CollectorCallback
+ Send
+ Sync
+ 'static {
    // Weak: the runner's collectors are reachable from the app (through the messenger live
    // sync keeps), so a strong reference would be a cycle.
    let app = std::sync::Arc::downgrade(&data.0);
    move |shard, messenger| {
        let generation = app
            .upgrade()
            .map_or(0, |app| app.sync.hook_shard(messenger, shard));
        let app = app.clone();
        serenity::CollectorCallback(Box::new(move |event| {
            let Some(app) = app.upgrade() else {
                return false;
            };
            app.sync.on_shard_event(shard, generation, event);
            if let serenity::Event::Unknown(unknown) = event {
                unknown_event(&app, unknown);
            }
            true
        }))
    }
}

fn unknown_event(app: &crate::app::App, unknown: &serenity::UnknownEvent) {
    // Discord's answer to a member request made too soon (serenity 0.12 predates it):
    // expected, not a parsing failure. The sync reloads members on its next full load.
    if unknown.kind == "RATE_LIMITED" {
        tracing::info!(payload = %unknown.value, "a gateway request was rate limited by Discord");
        return;
    }
    metrics::counter!("umbra_gateway_unknown_events_total").increment(1);
    tracing::warn!(kind = %unknown.kind, "a gateway event could not be parsed and was dropped");
    if let Ok(mut list) = app.unknown_events.lock() {
        list.push(format!("{}: {}", unknown.kind, unknown.value));
    }
}

/// Runs every gateway event — and so every command, button and modal, which poise dispatches
/// from them — inside a span: `event` (e.g. `interaction_create`, `guild_role_delete`), and for
/// interactions `guild`, `user` and `command` (the slash path, e.g. `restore preview`) or
/// `component` (the custom id). Interactions get an `info` span; the other events, far more
/// numerous, a `debug` one (free unless `RUST_LOG` asks for it).
pub struct Traced<F>(pub F);

#[serenity::async_trait]
impl<F: serenity::Framework> serenity::Framework for Traced<F> {
    async fn init(&mut self, client: &serenity::Client) {
        self.0.init(client).await;
    }

    async fn dispatch(&self, ctx: serenity::Context, event: serenity::FullEvent) {
        use tracing::Instrument as _;
        let span = event_span(&event);
        let interaction = matches!(event, serenity::FullEvent::InteractionCreate { .. });
        async move {
            if interaction {
                tracing::debug!("interaction received");
            }
            self.0.dispatch(ctx, event).await;
        }
        .instrument(span)
        .await;
    }
}

/// The slash path of a command interaction: its name and the subcommand (group) names.
fn command_path(data: &serenity::CommandData) -> String {
    let mut path = data.name.clone();
    let mut options = &data.options;
    while let Some(first) = options.first() {
        match &first.value {
            serenity::CommandDataOptionValue::SubCommand(inner)
            | serenity::CommandDataOptionValue::SubCommandGroup(inner) => {
                path.push(' ');
                path.push_str(&first.name);
                options = inner;
            }
            _ => break,
        }
    }
    path
}

fn event_span(event: &serenity::FullEvent) -> tracing::Span {
    let name = event.snake_case_name();
    let serenity::FullEvent::InteractionCreate { interaction } = event else {
        return tracing::debug_span!("gateway", event = name);
    };
    let guild = interaction.guild_id().map(|g| g.get());
    match interaction {
        serenity::Interaction::Command(c) | serenity::Interaction::Autocomplete(c) => {
            tracing::info_span!("command", event = name, guild, user = c.user.id.get(), command = %command_path(&c.data))
        }
        serenity::Interaction::Component(c) => {
            tracing::info_span!("component", event = name, guild, user = c.user.id.get(), component = %c.data.custom_id)
        }
        serenity::Interaction::Modal(m) => {
            tracing::info_span!("modal", event = name, guild, user = m.user.id.get(), component = %m.data.custom_id)
        }
        _ => tracing::info_span!("interaction", event = name, guild),
    }
}

/// The poise framework with Umbra's commands and handlers; `setup` runs on READY.
pub fn build(data: Data) -> poise::Framework<Data, Error> {
    let commands = localized_commands(&data.i18n);
    poise::Framework::builder()
        .options(poise::FrameworkOptions {
            commands,
            on_error: |error| Box::pin(on_error(error)),
            event_handler: |framework, event| Box::pin(crate::discord::events::handle(framework, event)),
            ..Default::default()
        })
        .setup(move |ctx, ready, framework| {
            Box::pin(async move {
                data.bot.learn_user_id(ready.user.id.get());
                data.bot.learn_application_id(ready.application.id.get());
                if let Ok(mut ops) = data.operators.write() {
                    ops.extend(framework.options().owners.iter().map(|u| u.get()));
                }
                let commands = &framework.options().commands;
                let dev_guild = data.config.discord.dev_guild_id;
                if dev_guild == 0 {
                    poise::builtins::register_globally(ctx, commands).await?;
                } else {
                    poise::builtins::register_in_guild(ctx, commands, serenity::GuildId::new(dev_guild)).await?;
                }
                tracing::info!(user = %ready.user.name, guilds = ready.guilds.len(), "connected to Discord; commands registered");
                Ok(data)
            })
        })
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid_name(name: &str) -> bool {
        let chars = name.chars().count();
        (1..=32).contains(&chars)
            && name
                .chars()
                .all(|c| (c.is_alphanumeric() || c == '-' || c == '_') && c.to_lowercase().eq([c]))
    }

    #[test]
    fn every_command_and_option_is_described_in_english_and_localized_in_korean() {
        let i18n = I18n::load().expect("locales parse");
        let commands = localized_commands(&i18n);
        let mut problems = Vec::new();
        for (path, command) in walk(&commands) {
            let key = command_key(&path);
            match i18n.raw(Locale::FALLBACK, &key, None) {
                Some(name) if name == command.name => {}
                other => problems.push(format!(
                    "{key}: en-US name {other:?} must equal `{}`",
                    command.name
                )),
            }
            let description = command.description.as_deref().unwrap_or_default();
            if i18n
                .raw(Locale::FALLBACK, &format!("{key}-desc"), None)
                .is_none()
                || !(1..=100).contains(&description.chars().count())
            {
                problems.push(format!("{key}-desc: missing or not 1-100 characters"));
            }
            for locale in Locale::ALL.into_iter().filter(|l| *l != Locale::FALLBACK) {
                let code = locale.code();
                let localized = |list: &[(Cow<'static, str>, Cow<'static, str>)]| {
                    list.iter()
                        .find(|(l, _)| l == code)
                        .map(|(_, v)| v.to_string())
                };
                match localized(&command.name_localizations) {
                    Some(name) if valid_name(&name) => {}
                    other => {
                        problems.push(format!("{code} {key}: invalid or missing name {other:?}"))
                    }
                }
                if localized(&command.description_localizations)
                    .is_none_or(|d| !(1..=100).contains(&d.chars().count()))
                {
                    problems.push(format!("{code} {key}-desc: missing or too long"));
                }
                for param in &command.parameters {
                    match localized(&param.name_localizations) {
                        Some(name) if valid_name(&name) => {}
                        other => problems.push(format!(
                            "{code} {key}-opt-{}: invalid or missing {other:?}",
                            param.name
                        )),
                    }
                    if localized(&param.description_localizations).is_none() {
                        problems.push(format!("{code} {key}-opt-{}-desc: missing", param.name));
                    }
                    for choice in param.choices.iter() {
                        if !choice.localizations.iter().any(|(l, _)| l == code) {
                            problems.push(format!(
                                "{code} {key}-opt-{}: choice `{}` not localized",
                                param.name, choice.name
                            ));
                        }
                    }
                }
            }
            for param in &command.parameters {
                if !valid_name(&param.name) {
                    problems.push(format!(
                        "{key}: option name `{}` is not a valid Discord name",
                        param.name
                    ));
                }
                if param
                    .description
                    .as_deref()
                    .is_none_or(|d| !(1..=100).contains(&d.chars().count()))
                {
                    problems.push(format!(
                        "{key}-opt-{}-desc: missing in en-US or not 1-100 characters",
                        param.name
                    ));
                }
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn command_keys_follow_the_path_of_the_command() {
        assert_eq!(
            command_key("umbra settings log-channel"),
            "cmd-umbra-settings-log-channel"
        );
        assert_eq!(
            choice_key("umbra settings locale", "language", 2),
            "cmd-umbra-settings-locale-opt-language-choice-2"
        );
    }
}
