//! Purpose: `/members link` — the owner or a trusted user posts the re-join panel: a localized
//! message (in the server's language) whose button opens `/join/{guild}` on Umbra's web, where
//! members link their account (Discord OAuth2 `guilds.join`) so they can be brought back after a
//! nuke or a move. It also opens the link and sets the "verified" role members get when they
//! link. A role that grants a dangerous permission, a managed role or `@everyone` is refused: a
//! rogue admin must not turn the panel into a way to hand out power. `/members pull` (the
//! owner) previews and runs bringing linked members back (a restore job with the `pull`
//! component).

use poise::serenity_prelude as serenity;

use crate::discord::{checks, reply};
use crate::error::{Error, UserError};
use crate::guild::GuildReader;
use crate::guild::service::SettingsChange;
use crate::i18n::{arg, msg};
use crate::types::Context;

/// Members: the re-join link.
#[poise::command(
    slash_command,
    guild_only,
    subcommands("link", "pull"),
    subcommand_required
)]
pub async fn members(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// Post the re-join panel: members link their account so they can be brought back
#[poise::command(slash_command, guild_only, check = "checks::trusted")]
pub async fn link(ctx: Context<'_>, role: Option<serenity::Role>) -> Result<(), Error> {
    let Some(guild) = ctx.guild_id() else {
        return Err(Error::user(msg::ERROR_GUILD_ONLY));
    };
    let data = ctx.data();
    let Some(links) = &data.links else {
        return Err(Error::user(msg::MEMBERS_LINK_UNAVAILABLE));
    };
    if let Some(r) = &role {
        let dangerous = r.permissions.bits() & crate::recovery::antinuke::model::perm::DANGEROUS;
        if dangerous != 0 || r.managed || r.id.get() == guild.get() {
            return Err(Error::User(
                UserError::new(msg::MEMBERS_ROLE_REFUSED).with("role", format!("<@&{}>", r.id)),
            ));
        }
    }
    data.guilds
        .change_settings(
            guild.get(),
            ctx.author().id.get(),
            SettingsChange::JoinLink {
                enabled: true,
                role: role.as_ref().map(|r| r.id.get()),
            },
        )
        .await
        .map_err(|e| Error::Internal(anyhow::Error::new(e).context("opening the re-join link")))?;
    let locale = reply::guild_locale(data, guild)
        .await
        .unwrap_or(crate::i18n::Locale::FALLBACK);
    let name = data
        .guilds
        .guild(guild.get())
        .await
        .ok()
        .flatten()
        .map(|g| g.name)
        .unwrap_or_default();
    let url = format!(
        "{}/join/{guild}",
        data.config.http.public_url.trim_end_matches('/')
    );
    let text = data
        .i18n
        .text(locale, &msg::MEMBERS_PANEL, &[arg("guild", name)]);
    let button = serenity::CreateButton::new_link(url).label(data.i18n.text(
        locale,
        &msg::MEMBERS_PANEL_BUTTON,
        &[],
    ));
    ctx.send(
        poise::CreateReply::default()
            .content(text)
            .components(vec![serenity::CreateActionRow::Buttons(vec![button])]),
    )
    .await?;
    // For the one who asked: how many are linked, and how many links died (revoked at Discord).
    let counts = links
        .counts(guild.get())
        .await
        .map_err(|e| Error::Internal(anyhow::Error::new(e).context("counting links")))?;
    let locale = reply::locale(ctx).await;
    let status = data.i18n.text(
        locale,
        &msg::MEMBERS_LINK_COUNTS,
        &[arg("live", counts.live), arg("dead", counts.dead)],
    );
    ctx.send(
        poise::CreateReply::default()
            .content(status)
            .ephemeral(true),
    )
    .await?;
    Ok(())
}

/// Bring linked members back with their roles and nickname (a preview first)
///
/// Members who left but linked their account are added back through their authorization, with
/// the roles and nickname the snapshot (default: the newest taken before they left) has for them; members still
/// there get theirs back too. `source`: the server they come from (a server that moved: its
/// links and snapshot; the owner must own both); `target`: the server they go to — the one
/// the command runs in, where the preview and its buttons are. The preview shows the counts
/// and the time it takes; the pull runs as a restore job (live progress, cancel, a report).
#[poise::command(slash_command, guild_only, check = "checks::owner")]
pub async fn pull(
    ctx: Context<'_>,
    #[autocomplete = "crate::billing::commands::autocomplete_owned"] source: Option<String>,
    #[autocomplete = "crate::billing::commands::autocomplete_owned"] target: Option<String>,
    #[autocomplete = "crate::recovery::restore::commands::autocomplete_snapshot"] snapshot: Option<
        String,
    >,
) -> Result<(), Error> {
    use crate::recovery::restore::commands as restore;
    let Some(guild) = ctx.guild_id() else {
        return Err(Error::user(msg::ERROR_GUILD_ONLY));
    };
    let data = ctx.data();
    let server =
        |raw: &str| -> Result<u64, Error> { Ok(crate::ids::Snowflake::parse(raw.trim())?.0) };
    // The preview and its buttons live in the server the members go to.
    if let Some(t) = target.as_deref().filter(|t| !t.trim().is_empty()) {
        let t = server(t)?;
        if t != guild.get() {
            return Err(Error::User(
                UserError::new(msg::MEMBERS_PULL_IN_TARGET).with("target", t),
            ));
        }
    }
    let source = source
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(server)
        .transpose()?;
    let from = source.unwrap_or(guild.get());
    let reference = snapshot.clone().unwrap_or_default();
    if let Some(s) = snapshot.as_deref().filter(|s| !s.trim().is_empty()) {
        // Bad input is refused (ephemerally) before anything is shown.
        data.snapshots
            .find(from, s)
            .await
            .map_err(|e| restore::map_err(e.into(), s))?;
    }
    ctx.defer().await?;
    let preview = data
        .restores
        .preview_pull(
            guild.get(),
            source,
            snapshot.as_deref(),
            ctx.author().id.get(),
            restore::bot_id(data),
        )
        .await
        .map_err(|e| restore::map_err(e, &reference))?;
    let locale = reply::locale(ctx).await;
    ctx.send(
        poise::CreateReply::default()
            .content(restore::preview_text(data, locale, &preview, false))
            .components(restore::preview_buttons(data, locale, &preview)),
    )
    .await?;
    Ok(())
}
