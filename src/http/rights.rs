//! Purpose: who may see and do what on the web, judged on the server for every request and the
//! same way as in Discord — a guild's pages are for its owner and its trusted users and roles
//! (a trusted role someone other than the owner gave confers nothing: AntiNuke's taint filter),
//! for an active guild Umbra is installed in. Anyone else, and any unknown or malformed id,
//! gets the same 404. What only the owner may do (trust, approving AntiNuke changes) is checked
//! again where it happens.

use crate::app::App;
use crate::guild::{GuildReader, GuildRecord, GuildStatus};
use crate::ids::Snowflake;
use crate::member::MemberReader;

/// The viewer's standing in a guild.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Owner,
    Trusted,
}

/// A guild the viewer may open.
#[derive(Debug, Clone)]
pub struct Access {
    pub guild: GuildRecord,
    pub standing: Standing,
}

impl Access {
    pub fn is_owner(&self) -> bool {
        self.standing == Standing::Owner
    }

    pub fn id(&self) -> u64 {
        self.guild.discord_id
    }
}

/// The viewer's standing in `guild` if they may open it.
pub async fn standing(
    app: &App,
    user: u64,
    guild: &GuildRecord,
) -> anyhow::Result<Option<Standing>> {
    if guild.status != GuildStatus::Active {
        return Ok(None);
    }
    if guild.owner_discord_id == user {
        return Ok(Some(Standing::Owner));
    }
    let settings = app.guilds.settings(guild.discord_id).await?;
    let roles = app
        .members
        .member(guild.id, user)
        .await?
        .map(|m| m.role_ids)
        .unwrap_or_default();
    let roles = app.antinuke.trusted_roles(guild.discord_id, user, &roles);
    Ok(settings.trusts(user, &roles).then_some(Standing::Trusted))
}

/// The guild `raw_id` names, if the viewer may open it (`None`: answer 404).
pub async fn access(app: &App, user: u64, raw_id: &str) -> anyhow::Result<Option<Access>> {
    let Ok(id) = Snowflake::parse(raw_id) else {
        return Ok(None);
    };
    let Some(guild) = app.guilds.guild(id.0).await? else {
        return Ok(None);
    };
    Ok(standing(app, user, &guild)
        .await?
        .map(|standing| Access { guild, standing }))
}

/// Every guild the viewer may open, by name.
pub async fn guilds_of(app: &App, user: u64) -> anyhow::Result<Vec<Access>> {
    let mut candidates = app.guilds.owned_by(user).await?;
    let member_of = app.members.guilds_of(user).await?;
    for g in app.guilds.active_rows(&member_of).await? {
        if !candidates.iter().any(|c| c.id == g.id) {
            candidates.push(g);
        }
    }
    let mut out = Vec::new();
    for guild in candidates {
        if let Some(standing) = standing(app, user, &guild).await? {
            out.push(Access { guild, standing });
        }
    }
    out.sort_by(|a, b| {
        a.guild
            .name
            .to_lowercase()
            .cmp(&b.guild.name.to_lowercase())
    });
    Ok(out)
}
