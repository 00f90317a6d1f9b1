//! Purpose: the only code that writes `identity.users` and `identity.sessions`: the recording
//! upsert, web logins, sessions (only a token's SHA-256 is stored; touching, revoking, purging),
//! and the reads — through the `entity` crate where SeaORM can say it.

use chrono::{DateTime, Utc};
use entity::identity::{sessions, users};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter,
    Statement,
};
use uuid::Uuid;

use super::model::{LoginProfile, User, UserProfile};
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
    Ok(found.map(user_of))
}

fn user_of(m: users::Model) -> User {
    User {
        id: m.id,
        discord_id: from_db(m.discord_user_id),
        username: m.username,
        global_name: m.global_name,
        avatar: m.avatar,
        locale: m.locale,
        is_bot: m.is_bot,
    }
}

/// Records a web login: the user as Discord describes them now, and the time. Returns the row
/// id.
pub async fn record_login<C: ConnectionTrait>(
    conn: &C,
    profile: &LoginProfile,
) -> Result<Uuid, DbErr> {
    let id = ensure_user(
        conn,
        &UserProfile {
            discord_id: profile.discord_id,
            username: Some(profile.username.clone()),
            global_name: profile.global_name.clone(),
            is_bot: false,
        },
    )
    .await?;
    users::Entity::update_many()
        .col_expr(users::Column::Avatar, Expr::value(profile.avatar.clone()))
        .col_expr(users::Column::Locale, Expr::value(profile.locale.clone()))
        .col_expr(users::Column::LastLoginAt, Expr::cust("now()"))
        .col_expr(users::Column::UpdatedAt, Expr::cust("now()"))
        .filter(users::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(id)
}

/// Stores a new session of user row `user_id` (only the token's SHA-256).
pub async fn create_session<C: ConnectionTrait>(
    conn: &C,
    user_id: Uuid,
    token_hash: [u8; 32],
    expires_at: DateTime<Utc>,
) -> Result<Uuid, DbErr> {
    let id = Uuid::now_v7();
    sessions::Entity::insert(sessions::ActiveModel {
        id: Set(id),
        user_id: Set(user_id),
        token_hash: Set(token_hash.to_vec()),
        expires_at: Set(expires_at.into()),
        ..Default::default()
    })
    .exec_without_returning(conn)
    .await?;
    Ok(id)
}

/// The live session with this token hash, touched (`last_seen_at = now()`): not revoked, not
/// expired, and used within `idle_seconds`. One statement: a session that just went idle or
/// was revoked is never touched back to life.
pub async fn touch_session<C: ConnectionTrait>(
    conn: &C,
    token_hash: [u8; 32],
    idle_seconds: i64,
) -> Result<Option<(Uuid, Uuid)>, DbErr> {
    let now = || Expr::cust("now()");
    let touched = sessions::Entity::update_many()
        .col_expr(sessions::Column::LastSeenAt, now())
        .filter(sessions::Column::TokenHash.eq(token_hash.to_vec()))
        .filter(sessions::Column::RevokedAt.is_null())
        .filter(Expr::col(sessions::Column::ExpiresAt).gt(now()))
        .filter(
            Expr::col(sessions::Column::LastSeenAt).gt(Expr::cust_with_values(
                "now() - make_interval(secs => $1)",
                [idle_seconds as f64],
            )),
        )
        .exec_with_returning(conn)
        .await?;
    Ok(touched.first().map(|s| (s.id, s.user_id)))
}

/// The user with this row id.
pub async fn user_by_row<C: ConnectionTrait>(conn: &C, id: Uuid) -> Result<Option<User>, DbErr> {
    Ok(users::Entity::find_by_id(id).one(conn).await?.map(user_of))
}

/// Ends one session (logout).
pub async fn revoke_session<C: ConnectionTrait>(conn: &C, id: Uuid) -> Result<(), DbErr> {
    sessions::Entity::update_many()
        .col_expr(sessions::Column::RevokedAt, Expr::cust("now()"))
        .filter(sessions::Column::Id.eq(id))
        .filter(sessions::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}

/// Ends every session of user row `user_id` ("log out everywhere"). Returns how many.
pub async fn revoke_all<C: ConnectionTrait>(conn: &C, user_id: Uuid) -> Result<u64, DbErr> {
    let done = sessions::Entity::update_many()
        .col_expr(sessions::Column::RevokedAt, Expr::cust("now()"))
        .filter(sessions::Column::UserId.eq(user_id))
        .filter(sessions::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(done.rows_affected)
}

/// Deletes sessions that ended (expired or revoked) more than `days` ago.
pub async fn purge_sessions<C: ConnectionTrait>(conn: &C, days: i32) -> Result<u64, DbErr> {
    let cutoff = Expr::cust_with_values("now() - make_interval(days => $1)", [days]);
    let done = sessions::Entity::delete_many()
        .filter(
            sea_orm::Condition::any()
                .add(Expr::col(sessions::Column::ExpiresAt).lt(cutoff.clone()))
                .add(Expr::col(sessions::Column::RevokedAt).lt(cutoff)),
        )
        .exec(conn)
        .await?;
    Ok(done.rows_affected)
}
