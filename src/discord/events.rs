//! Purpose: the gateway event router — guild lifecycle to the guild domain, component
//! interactions (buttons, modals) to their handlers by `custom_id` prefix. Handlers answer
//! from durable state, so buttons keep working across restarts.

use poise::serenity_prelude as serenity;
use serenity::FullEvent;

use crate::error::Error;
use crate::guild::InstalledGuild;
use crate::identity::UserProfile;
use crate::types::Data;

fn profile(user: &serenity::User) -> UserProfile {
    UserProfile::from(user)
}

/// The owner's profile from the guild's member list or the cache; only the id otherwise.
fn owner_profile(ctx: &serenity::Context, guild: &serenity::Guild) -> UserProfile {
    if let Some(member) = guild.members.get(&guild.owner_id) {
        return profile(&member.user);
    }
    if let Some(user) = ctx.cache.user(guild.owner_id) {
        return profile(&user);
    }
    UserProfile {
        discord_id: guild.owner_id.get(),
        username: None,
        global_name: None,
        is_bot: false,
    }
}

pub async fn handle(
    framework: poise::FrameworkContext<'_, Data, Error>,
    event: &FullEvent,
) -> Result<(), Error> {
    let ctx = framework.serenity_context;
    let data = framework.user_data;
    // AntiNuke first: on a crossed threshold the punishment request leaves before this returns.
    data.antinuke.on_event(ctx, event).await;
    if !matches!(event, FullEvent::GuildCreate { .. }) {
        data.sync.on_event(ctx, event);
    }
    match event {
        FullEvent::GuildCreate { guild, .. } => {
            let installed = InstalledGuild {
                discord_id: guild.id.get(),
                name: guild.name.clone(),
                icon: guild.icon.map(|h| h.to_string()),
                owner: owner_profile(ctx, guild),
            };
            let (_, outcome) = data.guilds.installed(&installed).await.map_err(|e| {
                Error::Internal(
                    anyhow::Error::new(e).context("recording a guild from GUILD_CREATE"),
                )
            })?;
            tracing::debug!(guild = %guild.id, ?outcome, "guild available");
            data.sync.on_event(ctx, event);
        }
        FullEvent::GuildDelete { incomplete, .. } if !incomplete.unavailable => {
            data.guilds
                .removed(incomplete.id.get())
                .await
                .map_err(|e| {
                    Error::Internal(anyhow::Error::new(e).context("recording a guild removal"))
                })?;
            tracing::info!(guild = %incomplete.id, "removed from a guild");
        }
        FullEvent::GuildUpdate { new_data, .. } => {
            let owner = ctx
                .cache
                .user(new_data.owner_id)
                .map(|u| profile(&u))
                .unwrap_or(UserProfile {
                    discord_id: new_data.owner_id.get(),
                    username: None,
                    global_name: None,
                    is_bot: false,
                });
            data.guilds
                .updated(new_data.id.get(), &new_data.name, &owner)
                .await
                .map_err(|e| {
                    Error::Internal(anyhow::Error::new(e).context("recording a guild update"))
                })?;
        }
        FullEvent::InteractionCreate {
            interaction: serenity::Interaction::Component(component),
        } => crate::commands::on_component(ctx, data, component).await?,
        _ => {}
    }
    Ok(())
}
