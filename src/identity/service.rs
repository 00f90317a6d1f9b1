//! Purpose: the identity domain's service — implements [`UserReader`] over the pool and
//! [`UserRecorder`] inside callers' transactions.

use async_trait::async_trait;
use sea_orm::{DatabaseConnection, DbErr};
use uuid::Uuid;

use super::model::{User, UserProfile};
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
