//! Purpose: the only code that writes `identity.users` (and, with the web login, its
//! sessions): the recording upsert and the reads, through the `entity` crate where SeaORM can
//! say it.

use entity::identity::users;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter, Statement,
};
use uuid::Uuid;

use super::model::{User, UserProfile};
use crate::ids::{from_db, to_db};

/// Inserts or refreshes the user and returns its row id.
///
/// Raw SQL: the upsert keeps a stored username over an unknown one and leaves `updated_at`
/// alone then (`COALESCE` against the stored row), which SeaORM's `OnConflict` cannot say
/// without the same SQL as custom expressions.
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

/// The stored user with this Discord id.
pub async fn user<C: ConnectionTrait>(conn: &C, discord_id: u64) -> Result<Option<User>, DbErr> {
    let found = users::Entity::find()
        .filter(users::Column::DiscordUserId.eq(to_db(discord_id)))
        .one(conn)
        .await?;
    Ok(found.map(|m| User {
        id: m.id,
        discord_id: from_db(m.discord_user_id),
        username: m.username,
        global_name: m.global_name,
        locale: m.locale,
        is_bot: m.is_bot,
    }))
}
