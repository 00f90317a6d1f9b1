//! Purpose: reusable permission checks for commands. `owner`: the guild's owner. `trusted`: the
//! owner or the guild's trusted users/roles (AntiNuke and restore decisions: in a nuke the
//! attacker is usually an administrator, so Discord permissions alone are not trusted).
//! `operator`: Umbra's operators (config) and the application's owners. A failed check answers
//! with a localized refusal (a user error) and the command does not run. A trusted role that
//! someone other than the owner gave the member confers no trust (AntiNuke takes it back).

use poise::serenity_prelude as serenity;

use crate::error::Error;
use crate::guild::GuildReader;
use crate::i18n::msg;
use crate::types::Context;

/// The guild's owner, from the cache, else from Umbra's records.
async fn owner_of(
    ctx: Context<'_>,
    guild: serenity::GuildId,
) -> Result<Option<serenity::UserId>, Error> {
    if let Some(owner) = ctx.guild().map(|g| g.owner_id) {
        return Ok(Some(owner));
    }
    let record =
        ctx.data().guilds.guild(guild.get()).await.map_err(|e| {
            Error::Internal(anyhow::Error::new(e).context("reading the guild's owner"))
        })?;
    Ok(record.map(|r| serenity::UserId::new(r.owner_discord_id)))
}

/// Whether the author is the guild's owner.
pub async fn is_owner(ctx: Context<'_>) -> Result<bool, Error> {
    let Some(guild) = ctx.guild_id() else {
        return Ok(false);
    };
    Ok(owner_of(ctx, guild).await? == Some(ctx.author().id))
}

/// Passes for the guild's owner only.
pub async fn owner(ctx: Context<'_>) -> Result<bool, Error> {
    let Some(guild) = ctx.guild_id() else {
        return Err(Error::user(msg::ERROR_GUILD_ONLY));
    };
    match owner_of(ctx, guild).await? {
        Some(owner) if owner == ctx.author().id => Ok(true),
        _ => Err(Error::user(msg::ERROR_NOT_OWNER)),
    }
}

/// Whether `user` (with `roles`) is trusted in `guild`: the owner or a trusted user/role.
pub async fn is_trusted(
    ctx: Context<'_>,
    guild: serenity::GuildId,
    user: serenity::UserId,
    roles: &[serenity::RoleId],
) -> Result<bool, Error> {
    if owner_of(ctx, guild).await? == Some(user) {
        return Ok(true);
    }
    let settings = ctx
        .data()
        .guilds
        .settings(guild.get())
        .await
        .map_err(|e| Error::Internal(anyhow::Error::new(e).context("reading trusted users")))?;
    let roles: Vec<u64> = roles.iter().map(|r| r.get()).collect();
    let roles = ctx
        .data()
        .antinuke
        .trusted_roles(guild.get(), user.get(), &roles);
    Ok(settings.trusts(user.get(), &roles))
}

/// Passes for the owner and the guild's trusted users and roles.
pub async fn trusted(ctx: Context<'_>) -> Result<bool, Error> {
    let Some(guild) = ctx.guild_id() else {
        return Err(Error::user(msg::ERROR_GUILD_ONLY));
    };
    let roles: Vec<serenity::RoleId> = ctx
        .author_member()
        .await
        .map(|m| m.roles.clone())
        .unwrap_or_default();
    if is_trusted(ctx, guild, ctx.author().id, &roles).await? {
        Ok(true)
    } else {
        Err(Error::user(msg::ERROR_NOT_TRUSTED))
    }
}

/// Passes for Umbra's operators.
pub async fn operator(ctx: Context<'_>) -> Result<bool, Error> {
    if ctx.data().is_operator(ctx.author().id) {
        Ok(true)
    } else {
        Err(Error::user(msg::ERROR_NOT_OPERATOR))
    }
}
