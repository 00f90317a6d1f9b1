//! Purpose: a user's `guilds.join` grant (the member re-join link) — stored on
//! `identity.users`: the access and refresh tokens sealed with AES-256-GCM for their row and
//! column (a ciphertext moved to another row or column does not open), the key id, scopes and
//! expiry. Refreshes are serialized per user across processes by the token-refresh queue's
//! lease on the row (Discord's refresh tokens are single-use: two refreshes at once would kill
//! the grant) and the new pair is written in one fenced statement. A refused refresh
//! (`invalid_grant`) marks the grant revoked and wipes it: it is never retried blindly.
//!
//! Raw SQL: the fenced writes and the claim (`FOR UPDATE SKIP LOCKED`) of the lease queue.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use sqlx::{PgPool, Row};
use uuid::Uuid;

use super::model::LoginProfile;
use crate::config::Secret;
use crate::db::crypto::{Keyring, Sealed};
use crate::discord::oauth::{Grant, OAuthClient, OAuthError};
use crate::queue::{Lease, QueueTable};

/// The columns the tokens are sealed for (the associated data names them).
pub const ACCESS_COLUMN: &str = "oauth_access_token_enc";
pub const REFRESH_COLUMN: &str = "oauth_refresh_token_enc";

/// Token refreshes: live grants that expire within the refresh window, not held by a lease.
/// (`claimable` is completed with the window by [`GrantStore::claim_due`].)
pub static QUEUE: QueueTable = QueueTable {
    name: "token_refresh",
    table: "identity.users",
    claimable: "oauth_refresh_token_enc IS NOT NULL AND oauth_revoked_at IS NULL \
                AND oauth_expires_at <= now() + make_interval(secs => $4) \
                AND (lease_until IS NULL OR lease_until < now())",
    order: "oauth_expires_at, id",
    on_claim: "",
    held: "lease_until >= now()",
    on_release: "",
    retry: None,
    waiting: "oauth_refresh_token_enc IS NOT NULL AND oauth_revoked_at IS NULL \
              AND oauth_expires_at <= now() + interval '1 day' \
              AND (lease_until IS NULL OR lease_until < now())",
    leased: "lease_until >= now()",
    dead: "oauth_revoked_at IS NOT NULL AND deleted_at IS NULL AND oauth_key_id IS NOT NULL",
};

#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    #[error("the user has no live grant")]
    NoGrant,
    /// Discord refused the refresh (`invalid_grant`): the grant is dead, and was wiped.
    #[error("Discord refused the grant: it was revoked")]
    Dead,
    #[error("Discord could not refresh the grant now: {0}")]
    Unavailable(String),
    #[error("the stored grant cannot be read: {0}")]
    Crypto(#[from] crate::db::crypto::CryptoError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// A live grant, opened.
#[derive(Debug, Clone)]
pub struct OpenGrant {
    pub user_row: Uuid,
    pub access_token: Secret<String>,
    pub expires_at: DateTime<Utc>,
    /// Bumped on every write of the pair.
    pub version: i64,
}

/// The grants, with the keyring that seals them and the OAuth2 client that refreshes and
/// revokes them.
#[derive(Clone)]
pub struct GrantStore {
    pool: PgPool,
    keyring: Arc<Keyring>,
    oauth: Arc<OAuthClient>,
    /// The application's id (the OAuth2 client id), learned at start-up when not configured.
    client_id: Arc<dyn Fn() -> u64 + Send + Sync>,
    lease: Duration,
    owner: String,
}

impl std::fmt::Debug for GrantStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrantStore").finish_non_exhaustive()
    }
}

impl GrantStore {
    pub fn new(
        pool: PgPool,
        keyring: Arc<Keyring>,
        oauth: Arc<OAuthClient>,
        client_id: Arc<dyn Fn() -> u64 + Send + Sync>,
    ) -> Self {
        Self {
            pool,
            keyring,
            oauth,
            client_id,
            lease: Duration::from_secs(60),
            owner: format!("grants-{}", Uuid::now_v7().simple()),
        }
    }

    pub fn oauth(&self) -> &OAuthClient {
        &self.oauth
    }

    pub fn client_id(&self) -> u64 {
        (self.client_id)()
    }

    /// Records the user of `profile` and stores `grant` as theirs (replacing any), inside the
    /// caller's transaction. Returns the user's row id.
    pub async fn store(
        &self,
        conn: &mut sqlx::PgConnection,
        profile: &LoginProfile,
        grant: &Grant,
    ) -> Result<Uuid, GrantError> {
        let row: Uuid = sqlx::query_scalar(
            "INSERT INTO identity.users (id, discord_user_id, username, global_name, avatar, locale) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (discord_user_id) DO UPDATE SET username = EXCLUDED.username, \
                global_name = EXCLUDED.global_name, avatar = EXCLUDED.avatar, \
                locale = COALESCE(EXCLUDED.locale, identity.users.locale), updated_at = now() \
             RETURNING id",
        )
        .bind(Uuid::now_v7())
        .bind(crate::ids::to_db(profile.discord_id))
        .bind(&profile.username)
        .bind(&profile.global_name)
        .bind(&profile.avatar)
        .bind(&profile.locale)
        .fetch_one(&mut *conn)
        .await?;
        self.write(&mut *conn, row, grant, None).await?;
        Ok(row)
    }

    /// Writes `grant` as the user's (sealed for their row). With `fenced`, only while that
    /// lease still holds the row (and it ends the lease). Returns whether it was written.
    async fn write(
        &self,
        conn: &mut sqlx::PgConnection,
        row: Uuid,
        grant: &Grant,
        fenced: Option<Lease>,
    ) -> Result<bool, GrantError> {
        let access =
            self.keyring
                .seal_column(row, ACCESS_COLUMN, grant.access_token.expose().as_bytes());
        let refresh =
            self.keyring
                .seal_column(row, REFRESH_COLUMN, grant.refresh_token.expose().as_bytes());
        let expires = Utc::now() + TimeDelta::seconds(grant.expires_in.max(0));
        // Unfenced (`$2` NULL: a new grant from the consent page), or only while the lease holds.
        let done = sqlx::query(
            "UPDATE identity.users SET oauth_access_token_enc = $3, oauth_refresh_token_enc = $4, \
                    oauth_key_id = $5, oauth_scopes = $6, oauth_expires_at = $7, \
                    oauth_revoked_at = NULL, oauth_token_version = oauth_token_version + 1, \
                    lease_owner = NULL, lease_until = NULL, updated_at = now() \
              WHERE id = $1 AND ($2::bigint IS NULL OR (fencing = $2 AND lease_until >= now()))",
        )
        .bind(row)
        .bind(fenced.map(|l| l.fencing))
        .bind(&access.bytes)
        .bind(&refresh.bytes)
        .bind(&access.key_id)
        .bind(&grant.scopes)
        .bind(expires)
        .execute(&mut *conn)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The Discord user's live grant, opened (`None`: none, or revoked).
    pub async fn get(&self, discord_id: u64) -> Result<Option<OpenGrant>, GrantError> {
        let row = sqlx::query(
            "SELECT id, oauth_access_token_enc, oauth_key_id, oauth_expires_at, \
                    oauth_token_version \
               FROM identity.users \
              WHERE discord_user_id = $1 AND oauth_access_token_enc IS NOT NULL \
                AND oauth_revoked_at IS NULL",
        )
        .bind(crate::ids::to_db(discord_id))
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else {
            return Ok(None);
        };
        let user_row: Uuid = r.try_get("id")?;
        let sealed = Sealed {
            key_id: r.try_get("oauth_key_id")?,
            bytes: r.try_get("oauth_access_token_enc")?,
        };
        let plain = self.keyring.open_column(user_row, ACCESS_COLUMN, &sealed)?;
        Ok(Some(OpenGrant {
            user_row,
            access_token: Secret::new(String::from_utf8_lossy(&plain).into_owned()),
            expires_at: r
                .try_get::<Option<DateTime<Utc>>, _>("oauth_expires_at")?
                .unwrap_or_else(Utc::now),
            version: r.try_get("oauth_token_version")?,
        }))
    }

    /// Refreshes the Discord user's grant now, one refresh per user at a time: if another
    /// worker (or process) is refreshing it, waits for it and returns its result instead of
    /// refreshing again. `seen` is the version the caller found stale (`None`: refresh anyway).
    pub async fn refresh(
        &self,
        discord_id: u64,
        mut seen: Option<i64>,
    ) -> Result<OpenGrant, GrantError> {
        let deadline = tokio::time::Instant::now() + self.lease + Duration::from_secs(5);
        let mut first = true;
        loop {
            let Some(current) = self.get(discord_id).await? else {
                // Gone while we waited: whoever held it found it dead.
                return Err(if first {
                    GrantError::NoGrant
                } else {
                    GrantError::Dead
                });
            };
            first = false;
            if seen.is_some_and(|v| v != current.version) {
                // Refreshed by someone else since the caller (or this loop) looked.
                return Ok(current);
            }
            if let Some(lease) = self.take(current.user_row).await? {
                if lease_version(&self.pool, current.user_row).await? != current.version {
                    // Refreshed between our look and our lease.
                    self.release(lease).await?;
                    seen = Some(current.version);
                    continue;
                }
                return self.refresh_held(lease, discord_id).await;
            }
            if tokio::time::Instant::now() > deadline {
                return Err(GrantError::Unavailable(
                    "another refresh of this grant did not finish".into(),
                ));
            }
            // Another worker is refreshing it: its new pair is what we want.
            seen = Some(current.version);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Takes the refresh lease of a user's row, unless another holds it.
    async fn take(&self, row: Uuid) -> Result<Option<Lease>, GrantError> {
        let fencing: Option<i64> = sqlx::query_scalar(
            "UPDATE identity.users SET lease_owner = $2, \
                    lease_until = now() + make_interval(secs => $3), fencing = fencing + 1 \
              WHERE id = $1 AND (lease_until IS NULL OR lease_until < now()) RETURNING fencing",
        )
        .bind(row)
        .bind(&self.owner)
        .bind(self.lease.as_secs_f64())
        .fetch_optional(&self.pool)
        .await?;
        Ok(fencing.map(|fencing| Lease { id: row, fencing }))
    }

    async fn release(&self, lease: Lease) -> Result<(), GrantError> {
        QUEUE.release(&self.pool, lease).await?;
        Ok(())
    }

    /// Refreshes the grant of the row `lease` holds.
    async fn refresh_held(&self, lease: Lease, discord_id: u64) -> Result<OpenGrant, GrantError> {
        let row = sqlx::query(
            "SELECT oauth_refresh_token_enc, oauth_key_id FROM identity.users WHERE id = $1",
        )
        .bind(lease.id)
        .fetch_one(&self.pool)
        .await?;
        let sealed = match (
            row.try_get::<Option<Vec<u8>>, _>("oauth_refresh_token_enc")?,
            row.try_get::<Option<String>, _>("oauth_key_id")?,
        ) {
            (Some(bytes), Some(key_id)) => Sealed { key_id, bytes },
            _ => {
                self.release(lease).await?;
                return Err(GrantError::NoGrant);
            }
        };
        let refresh = Secret::new(
            String::from_utf8_lossy(&self.keyring.open_column(
                lease.id,
                REFRESH_COLUMN,
                &sealed,
            )?)
            .into_owned(),
        );
        match self.oauth.refresh(self.client_id(), &refresh).await {
            Ok(grant) => {
                let mut conn = self.pool.acquire().await?;
                if !self.write(&mut conn, lease.id, &grant, Some(lease)).await? {
                    // Our lease ran out meanwhile: whoever took it owns the grant now.
                    tracing::warn!("a refreshed grant came back after its lease ended");
                }
                drop(conn);
                self.get(discord_id).await?.ok_or(GrantError::Dead)
            }
            Err(OAuthError::Rejected(why)) => {
                tracing::info!(why, "Discord refused a grant's refresh; the link is dead");
                self.kill(lease.id).await?;
                Err(GrantError::Dead)
            }
            Err(e) => {
                self.release(lease).await?;
                Err(GrantError::Unavailable(e.to_string()))
            }
        }
    }

    /// Marks a user's grant dead (revoked at Discord): the tokens are wiped, the time kept.
    pub async fn kill(&self, row: Uuid) -> Result<(), GrantError> {
        sqlx::query(
            "UPDATE identity.users SET oauth_access_token_enc = NULL, \
                    oauth_refresh_token_enc = NULL, oauth_revoked_at = now(), \
                    oauth_token_version = oauth_token_version + 1, lease_owner = NULL, \
                    lease_until = NULL, updated_at = now() WHERE id = $1",
        )
        .bind(row)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Revokes the Discord user's grant at Discord and wipes it here (the person asked).
    pub async fn revoke(&self, discord_id: u64) -> Result<(), GrantError> {
        if let Some(g) = self.get(discord_id).await? {
            if let Err(e) = self.oauth.revoke(self.client_id(), &g.access_token).await {
                return Err(GrantError::Unavailable(e.to_string()));
            }
            self.kill(g.user_row).await?;
        }
        Ok(())
    }

    /// One pass of the background refresh: every grant expiring within `window` (up to
    /// `limit`) is refreshed. Returns (refreshed, dead).
    pub async fn refresh_due(
        &self,
        window: Duration,
        limit: u32,
    ) -> Result<(usize, usize), GrantError> {
        let rows: Vec<(Uuid, i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE identity.users AS q \
                SET lease_owner = $1, lease_until = now() + make_interval(secs => $2), \
                    fencing = q.fencing + 1 \
              WHERE q.id IN (SELECT id FROM identity.users WHERE {} ORDER BY {} LIMIT $3 \
                                FOR UPDATE SKIP LOCKED) \
             RETURNING q.id, q.fencing, q.discord_user_id",
            QUEUE.claimable, QUEUE.order
        )))
        .bind(&self.owner)
        .bind(self.lease.as_secs_f64())
        .bind(i64::from(limit))
        .bind(window.as_secs_f64())
        .fetch_all(&self.pool)
        .await?;
        let (mut refreshed, mut dead) = (0, 0);
        for (id, fencing, discord_id) in rows {
            let lease = Lease { id, fencing };
            match self
                .refresh_held(lease, crate::ids::from_db(discord_id))
                .await
            {
                Ok(_) => refreshed += 1,
                Err(GrantError::Dead) => dead += 1,
                Err(e) => tracing::warn!(error = %e, "a grant's refresh failed; tried again later"),
            }
        }
        Ok((refreshed, dead))
    }
}

/// The grant version of a user's row.
async fn lease_version(pool: &PgPool, row: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT oauth_token_version FROM identity.users WHERE id = $1")
        .bind(row)
        .fetch_one(pool)
        .await
}
