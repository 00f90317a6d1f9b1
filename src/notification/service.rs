//! Purpose: notification use cases — reading and changing a user's preferences (recording the
//! user in the identity domain first), enqueueing requests, and inspecting the queue.

use sea_orm::DatabaseConnection;
use sqlx::PgPool;
use uuid::Uuid;

use super::model::{NewRequest, PreferenceChange, Preferences, RequestView};
use super::persistence;
use crate::identity::{IdentityService, UserProfile, UserReader, UserRecorder};

#[derive(Debug, thiserror::Error)]
pub enum NotificationError {
    #[error(transparent)]
    Database(#[from] sea_orm::DbErr),
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
}

/// The notification domain's entry point for commands, the consumer and the sender. Cheap to
/// clone and to build from the shared connections.
#[derive(Clone)]
pub struct NotificationService {
    db: DatabaseConnection,
    pool: PgPool,
    users: IdentityService,
}

impl NotificationService {
    /// `users`: who the preferences belong to (read, and recorded on a first change).
    pub fn new(db: DatabaseConnection, pool: PgPool, users: IdentityService) -> Self {
        Self { db, pool, users }
    }

    /// The connection the sender's upkeep uses.
    pub(super) fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// The pool the sender's claims use.
    pub(super) fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The user's preferences (defaults when they never changed any).
    pub async fn preferences(&self, discord_id: u64) -> Result<Preferences, NotificationError> {
        let Some(user) = self.users.user_row(discord_id).await? else {
            return Ok(Preferences::default());
        };
        Ok(persistence::preferences(&self.db, user)
            .await?
            .unwrap_or_default())
    }

    /// Applies a change the user made; works for anyone (a DM user Umbra never met included:
    /// they are recorded in the identity domain first).
    pub async fn change(
        &self,
        user: &UserProfile,
        change: PreferenceChange,
    ) -> Result<Preferences, NotificationError> {
        let txn = crate::db::Tx::begin_on(&self.db).await?;
        let user_id = self.users.ensure(&txn, user).await?;
        let preferences = persistence::change_preferences(&txn, user_id, change).await?;
        txn.commit().await?;
        Ok(preferences)
    }

    /// Enqueues a request; false when one with its dedupe key already exists.
    pub async fn enqueue(&self, request: &NewRequest) -> Result<bool, NotificationError> {
        Ok(persistence::insert_request(&self.db, request).await?)
    }

    /// Every request to `recipient`, oldest first.
    pub async fn requests_to(&self, recipient: u64) -> Result<Vec<RequestView>, NotificationError> {
        Ok(persistence::requests_to(&self.db, recipient).await?)
    }

    /// One request.
    pub async fn request(&self, id: Uuid) -> Result<Option<RequestView>, NotificationError> {
        Ok(persistence::request(&self.db, id).await?)
    }
}
