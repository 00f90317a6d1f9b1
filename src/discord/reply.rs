//! Purpose: speaking to users in their language — the reply locale of an invocation, and
//! helpers that format a message and send it (ephemeral when asked).

use poise::CreateReply;
use poise::serenity_prelude as serenity;

use crate::guild::GuildReader;
use crate::i18n::{self, Locale, Msg};
use crate::types::{Context, Data, Error};

/// The reply locale: the interaction's locale when Umbra speaks it, else the guild's configured
/// locale, else en-US.
pub async fn locale(ctx: Context<'_>) -> Locale {
    let guild_locale = match ctx.guild_id() {
        Some(g) => guild_locale(ctx.data(), g).await,
        None => None,
    };
    i18n::resolve(ctx.locale(), guild_locale)
}

/// The guild's configured locale, if any (errors count as none: a reply must still go out).
pub async fn guild_locale(data: &Data, guild: serenity::GuildId) -> Option<Locale> {
    data.guilds
        .settings(guild.get())
        .await
        .ok()
        .and_then(|s| s.locale)
}

/// Formats `msg` in the invocation's locale.
pub async fn text(ctx: Context<'_>, msg: Msg, args: &[(&str, crate::i18n::ArgValue)]) -> String {
    let locale = locale(ctx).await;
    ctx.data().i18n.text(locale, &msg, args)
}

/// Replies with `msg` (ephemeral: only the invoker sees it).
pub async fn say(
    ctx: Context<'_>,
    msg: Msg,
    args: &[(&str, crate::i18n::ArgValue)],
    ephemeral: bool,
) -> Result<(), Error> {
    let content = text(ctx, msg, args).await;
    ctx.send(CreateReply::default().content(content).ephemeral(ephemeral))
        .await?;
    Ok(())
}
