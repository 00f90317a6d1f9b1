//! Purpose: the identity domain's service — implements [`UserReader`] over the pool and
//! [`UserRecorder`] inside callers' transactions, and runs web logins and sessions (a random
//! 32-byte token in the cookie, its SHA-256 in the database).

use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use rand::RngCore as _;
use sea_orm::{DatabaseConnection, DbErr};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::model::{LoginProfile, User, UserProfile, WebSession};
use super::persistence;
use super::ports::{UserReader, UserRecorder};
use crate::db::Tx;

#[derive(Clone)]
pub struct IdentityService {
    db: DatabaseConnection,
}

impl IdentityService {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// Records a login and opens a session lasting `lifetime`. Returns the session token (for
    /// the cookie; only its SHA-256 is stored) and the session.
    pub async fn login(
        &self,
        profile: &LoginProfile,
        lifetime: Duration,
    ) -> Result<(String, WebSession), DbErr> {
        let mut raw = [0u8; 32];
        rand::rng().fill_bytes(&mut raw);
        let token = URL_SAFE_NO_PAD.encode(raw);
        let expires_at = Utc::now()
            + chrono::TimeDelta::from_std(lifetime).unwrap_or(chrono::TimeDelta::days(14));
        let tx = Tx::begin_on(&self.db).await?;
        let user_id = persistence::record_login(&tx, profile).await?;
        let session_id =
            persistence::create_session(&tx, user_id, token_hash(&token), expires_at).await?;
        let user = persistence::user_by_row(&tx, user_id)
            .await?
            .ok_or(DbErr::RecordNotFound("the user just recorded".into()))?;
        tx.commit().await?;
        Ok((token, WebSession { session_id, user }))
    }

    /// The live session of `token` (touched), if any: `None` for an unknown, revoked, expired
    /// or idle one.
    pub async fn session(&self, token: &str, idle: Duration) -> Result<Option<WebSession>, DbErr> {
        let idle = i64::try_from(idle.as_secs()).unwrap_or(i64::MAX);
        let Some((session_id, user_id)) =
            persistence::touch_session(&self.db, token_hash(token), idle).await?
        else {
            return Ok(None);
        };
        let user = persistence::user_by_row(&self.db, user_id).await?;
        Ok(user.map(|user| WebSession { session_id, user }))
    }

    /// Ends one session.
    pub async fn logout(&self, session_id: Uuid) -> Result<(), DbErr> {
        persistence::revoke_session(&self.db, session_id).await
    }

    /// Ends every session of the user. Returns how many.
    pub async fn logout_everywhere(&self, user_id: Uuid) -> Result<u64, DbErr> {
        persistence::revoke_all(&self.db, user_id).await
    }

    /// Deletes sessions that ended more than `days` ago.
    pub async fn purge_sessions(&self, days: i32) -> Result<u64, DbErr> {
        persistence::purge_sessions(&self.db, days).await
    }
}

/// The SHA-256 of a session token (what `identity.sessions` stores).
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[async_trait]
impl UserReader for IdentityService {
    async fn user_row(&self, discord_id: u64) -> Result<Option<Uuid>, DbErr> {
        Ok(persistence::user(&self.db, discord_id).await?.map(|u| u.id))
    }

    async fn user(&self, discord_id: u64) -> Result<Option<User>, DbErr> {
        persistence::user(&self.db, discord_id).await
    }
}

#[async_trait]
impl UserRecorder for IdentityService {
    async fn ensure(&self, tx: &Tx, profile: &UserProfile) -> Result<Uuid, DbErr> {
        persistence::ensure_user(tx, profile).await
    }
}
