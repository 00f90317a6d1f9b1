//! Purpose: the identity domain — Umbra's users (one row per Discord user Umbra deals with:
//! guild owners, people who log in or re-join through the web). The only writer of
//! `identity.*`. Other domains record users through [`ensure_user`], inside their own
//! transaction when they need the row to exist.

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};
use uuid::Uuid;

use crate::ids::to_db;

/// What Umbra knows of a Discord user when it meets them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserProfile {
    pub discord_id: u64,
    /// `None` when only the id is known (e.g. a large guild's owner not in the member list).
    pub username: Option<String>,
    pub global_name: Option<String>,
    pub is_bot: bool,
}

impl From<&poise::serenity_prelude::User> for UserProfile {
    fn from(user: &poise::serenity_prelude::User) -> Self {
        Self {
            discord_id: user.id.get(),
            username: Some(user.name.clone()),
            global_name: user.global_name.clone(),
            is_bot: user.bot,
        }
    }
}

/// Inserts or refreshes the user and returns its row id. A known username is never replaced
/// by an unknown one.
pub async fn ensure_user<C: ConnectionTrait>(
    conn: &C,
    profile: &UserProfile,
) -> Result<Uuid, DbErr> {
    let placeholder = profile.discord_id.to_string();
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO identity.users (id, discord_user_id, username, global_name, is_bot) \
             VALUES ($1, $2, COALESCE($3, $4), $5, $6) \
             ON CONFLICT (discord_user_id) DO UPDATE SET \
                username = COALESCE($3, identity.users.username), \
                global_name = COALESCE($5, identity.users.global_name), \
                is_bot = EXCLUDED.is_bot, \
                updated_at = CASE WHEN $3 IS NULL THEN identity.users.updated_at ELSE now() END \
             RETURNING id",
            [
                Uuid::now_v7().into(),
                to_db(profile.discord_id).into(),
                profile.username.clone().into(),
                placeholder.into(),
                profile.global_name.clone().into(),
                profile.is_bot.into(),
            ],
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotInserted)?;
    row.try_get("", "id")
}

/// The row id of a Discord user, if Umbra knows them.
pub async fn user_id<C: ConnectionTrait>(conn: &C, discord_id: u64) -> Result<Option<Uuid>, DbErr> {
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT id FROM identity.users WHERE discord_user_id = $1",
            [to_db(discord_id).into()],
        ))
        .await?;
    row.map(|r| r.try_get("", "id")).transpose()
}
