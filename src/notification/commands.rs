//! Purpose: `/umbra notifications` — each user's notification preferences.

use poise::serenity_prelude as serenity;

use crate::error::Error;
use crate::types::{Context, Data};

/// The custom id prefix of this domain's buttons.
pub const COMPONENT_PREFIX: &str = "umbra:notify:";

/// Your notification preferences.
#[poise::command(slash_command, subcommands("show"), subcommand_required)]
pub async fn notifications(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// Shows your notification preferences.
#[poise::command(slash_command, ephemeral)]
pub async fn show(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// Handles this domain's buttons.
pub async fn on_component(
    _ctx: &serenity::Context,
    _data: &Data,
    _component: &serenity::ComponentInteraction,
    _rest: &str,
) -> Result<(), Error> {
    Ok(())
}
