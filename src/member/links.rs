//! Purpose: the member re-join link (issue 15) — a member authorizes Umbra with Discord
//! OAuth2 (`identify guilds.join`, a `state` bound to their browser, PKCE) so the owner can
//! bring them back after a nuke or a move. The writer of `member.web_join_requests`: a row is
//! written `pending` when the consent page is opened (the state's SHA-256, the PKCE verifier
//! sealed for its row and column, 10 minutes), and becomes the (guild, member) link —
//! `authorized` — when Discord sends the member back; one link per (guild, member). The grant
//! itself is the member's, kept sealed on `identity.users` by [`GrantStore`] and refreshed
//! before it expires by [`LinkService::run`]; a grant Discord refuses marks its links dead
//! (`failed`, `token_revoked`), shown to the owner and never retried. A member sees and removes
//! their links on `/me`; removing the last one revokes the grant at Discord. No IP address,
//! location or email is stored (the scopes do not even give an email).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use tokio::sync::watch;
use uuid::Uuid;

use crate::db::crypto::{Keyring, Sealed};
use crate::discord::bot::Bot;
use crate::discord::oauth::{self, JOIN_SCOPES, OAuthError};
use crate::guild::{GuildReader, GuildRecord, GuildService, GuildStatus};
use crate::identity::{GrantError, GrantStore};

/// The column the PKCE verifier is sealed for.
const VERIFIER_COLUMN: &str = "pkce_verifier_enc";
/// How long a member may take on Discord's consent page.
const CONSENT_MINUTES: i64 = 10;
/// Every Discord action of the re-join link carries this audit-log reason.
pub const AUDIT_REASON: &str = "umbra:join:verified";

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("Umbra does not know guild {0}")]
    UnknownGuild(u64),
    #[error("the guild's re-join link is closed")]
    Closed,
    #[error("the consent came back for no open request (forged, used or expired state)")]
    UnknownState,
    #[error("the member did not consent")]
    Denied,
    #[error("Discord did not grant `guilds.join`")]
    ScopeMissing,
    #[error("Discord refused the code: {0}")]
    Refused(String),
    #[error("Discord could not be reached: {0}")]
    Unreachable(String),
    #[error(transparent)]
    Grant(#[from] GrantError),
    #[error("a stored verifier cannot be read: {0}")]
    Crypto(#[from] crate::db::crypto::CryptoError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Guild(#[from] crate::guild::GuildError),
}

impl From<OAuthError> for LinkError {
    fn from(e: OAuthError) -> Self {
        match e {
            OAuthError::Rejected(why) => LinkError::Refused(why),
            other => LinkError::Unreachable(other.to_string()),
        }
    }
}

/// A consent started: the state for the browser's cookie, and where to send the browser.
#[derive(Debug, Clone)]
pub struct Started {
    pub state: String,
    pub url: String,
}

/// A member linked to a guild.
#[derive(Debug, Clone)]
pub struct Linked {
    pub guild: GuildRecord,
    pub user: u64,
    /// The guild's "verified" role was given (the member is in the guild and Umbra could).
    pub role_given: bool,
}

/// One of a member's links, as `/me` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkView {
    pub guild_id: u64,
    pub guild_name: String,
    /// `authorized` (live) or `failed` (dead: the grant was revoked).
    pub status: String,
    pub linked_at: DateTime<Utc>,
}

/// How many members of a guild are linked (live) and how many links are dead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LinkCounts {
    pub live: i64,
    pub dead: i64,
}

/// How the refresh worker behaves (`[members]`).
#[derive(Debug, Clone)]
pub struct LinkSettings {
    /// Grants expiring within this are refreshed (Discord's access tokens live 7 days).
    pub refresh_before: Duration,
    pub poll: Duration,
}

impl Default for LinkSettings {
    fn default() -> Self {
        Self {
            refresh_before: Duration::from_secs(24 * 3600),
            poll: Duration::from_secs(300),
        }
    }
}

#[derive(Clone)]
pub struct LinkService {
    pool: PgPool,
    keyring: Arc<Keyring>,
    grants: GrantStore,
    guilds: GuildService,
    bot: Bot,
    settings: LinkSettings,
}

impl std::fmt::Debug for LinkService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkService").finish_non_exhaustive()
    }
}

/// An open consent: its id, guild row, and the sealed PKCE verifier with its key id.
type PendingRow = (Uuid, Uuid, Option<Vec<u8>>, Option<String>);

fn state_hash(state: &str) -> Vec<u8> {
    Sha256::digest(state.as_bytes()).to_vec()
}

impl LinkService {
    pub fn new(
        pool: PgPool,
        keyring: Arc<Keyring>,
        grants: GrantStore,
        guilds: GuildService,
        bot: Bot,
        settings: LinkSettings,
    ) -> Self {
        Self {
            pool,
            keyring,
            grants,
            guilds,
            bot,
            settings,
        }
    }

    pub fn grants(&self) -> &GrantStore {
        &self.grants
    }

    /// The guild a re-join page is about, while its link is open.
    pub async fn open_guild(&self, guild: u64) -> Result<GuildRecord, LinkError> {
        let record = self
            .guilds
            .guild(guild)
            .await?
            .filter(|g| g.status == GuildStatus::Active)
            .ok_or(LinkError::UnknownGuild(guild))?;
        if !self.guilds.settings(guild).await?.web_join_enabled {
            return Err(LinkError::Closed);
        }
        Ok(record)
    }

    /// Opens a consent for `guild`: a `pending` request (the state's hash, the PKCE verifier
    /// sealed) and Discord's consent page, which always shows what is granted.
    pub async fn start(&self, guild: u64) -> Result<Started, LinkError> {
        let record = self.open_guild(guild).await?;
        let state = oauth::random_token(32);
        let verifier = oauth::random_token(48);
        let id = Uuid::now_v7();
        let sealed = self
            .keyring
            .seal_column(id, VERIFIER_COLUMN, verifier.as_bytes());
        sqlx::query(
            "INSERT INTO member.web_join_requests \
               (id, guild_id, state_hash, pkce_verifier_enc, key_id, status, expires_at) \
             VALUES ($1, $2, $3, $4, $5, 'pending', now() + make_interval(mins => $6))",
        )
        .bind(id)
        .bind(record.id)
        .bind(state_hash(&state))
        .bind(&sealed.bytes)
        .bind(&sealed.key_id)
        .bind(i32::try_from(CONSENT_MINUTES).unwrap_or(10))
        .execute(&self.pool)
        .await?;
        let url = self.grants.oauth().consent_url(
            self.grants.client_id(),
            &state,
            &oauth::challenge(&verifier),
            JOIN_SCOPES,
            None,
        );
        Ok(Started { state, url })
    }

    /// Discord sent the member back with `state` and `code` (`None`: they refused). The open
    /// request of that state becomes the member's link to its guild; their grant is stored
    /// sealed. A state with no open request (forged, used, expired) changes nothing.
    pub async fn complete(&self, state: &str, code: Option<&str>) -> Result<Linked, LinkError> {
        let mut tx = self.pool.begin().await?;
        let row: Option<PendingRow> = sqlx::query_as(
            "SELECT id, guild_id, pkce_verifier_enc, key_id FROM member.web_join_requests \
              WHERE state_hash = $1 AND status = 'pending' AND expires_at > now() FOR UPDATE",
        )
        .bind(state_hash(state))
        .fetch_optional(&mut *tx)
        .await?;
        let Some((id, guild_row, Some(bytes), Some(key_id))) = row else {
            return Err(LinkError::UnknownState);
        };
        let Some(code) = code else {
            sqlx::query(
                "UPDATE member.web_join_requests SET status = 'failed', \
                        failure_code = 'oauth_denied', pkce_verifier_enc = NULL, \
                        completed_at = now() WHERE id = $1",
            )
            .bind(id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            return Err(LinkError::Denied);
        };
        let verifier = self
            .keyring
            .open_column(id, VERIFIER_COLUMN, &Sealed { key_id, bytes })?;
        let verifier = String::from_utf8_lossy(&verifier).into_owned();
        let grant = self
            .grants
            .oauth()
            .exchange(self.grants.client_id(), code, &verifier)
            .await?;
        if !grant.scopes.iter().any(|s| s == "guilds.join") {
            return Err(LinkError::ScopeMissing);
        }
        let profile = self.grants.oauth().me(&grant.access_token).await?;
        let user_row = self.grants.store(&mut tx, &profile, &grant).await?;
        let user = crate::ids::to_db(profile.discord_id);
        // One link per (guild, member): an earlier one (live or dead) gives way to this one.
        sqlx::query(
            "DELETE FROM member.web_join_requests \
              WHERE guild_id = $1 AND discord_user_id = $2 AND id <> $3",
        )
        .bind(guild_row)
        .bind(user)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE member.web_join_requests SET status = 'authorized', user_id = $2, \
                    discord_user_id = $3, pkce_verifier_enc = NULL WHERE id = $1",
        )
        .bind(id)
        .bind(user_row)
        .bind(user)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        let guild = self
            .guilds
            .guild_by_row(guild_row)
            .await?
            .ok_or(LinkError::UnknownState)?;
        let role_given = self.give_verified_role(&guild, profile.discord_id).await;
        Ok(Linked {
            guild,
            user: profile.discord_id,
            role_given,
        })
    }

    /// Gives a member who just linked the guild's "verified" role, when one is set and they are
    /// in the guild. A failure (Umbra's role too low, the member not there) is logged, not fatal.
    async fn give_verified_role(&self, guild: &GuildRecord, user: u64) -> bool {
        let role = match self.guilds.settings(guild.discord_id).await {
            Ok(s) => s.web_join_role_id,
            Err(_) => None,
        };
        let Some(role) = role else {
            return false;
        };
        match self
            .bot
            .rest()
            .member_role(guild.discord_id, user, role, true, Some(AUDIT_REASON))
            .await
        {
            Ok(()) => true,
            Err(e) => {
                tracing::info!(guild = guild.discord_id, error = %e, "the verified role could not be given");
                false
            }
        }
    }

    /// A member's links, newest first.
    pub async fn links_of(&self, user: u64) -> Result<Vec<LinkView>, LinkError> {
        let rows: Vec<(i64, String, String, DateTime<Utc>)> = sqlx::query_as(
            "SELECT g.discord_guild_id, g.name, r.status, r.created_at \
               FROM member.web_join_requests AS r JOIN guild.guilds AS g ON g.id = r.guild_id \
              WHERE r.discord_user_id = $1 AND r.status IN ('authorized', 'failed') \
                AND r.failure_code IS DISTINCT FROM 'oauth_denied' \
              ORDER BY r.created_at DESC",
        )
        .bind(crate::ids::to_db(user))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(g, name, status, at)| LinkView {
                guild_id: crate::ids::from_db(g),
                guild_name: name,
                status,
                linked_at: at,
            })
            .collect())
    }

    /// Removes a member's link to `guild` (`false`: there was none). Without any live link
    /// left, the grant is revoked at Discord and wiped.
    pub async fn unlink(&self, user: u64, guild: u64) -> Result<bool, LinkError> {
        let user_db = crate::ids::to_db(user);
        let done = sqlx::query(
            "DELETE FROM member.web_join_requests AS r USING guild.guilds AS g \
              WHERE g.id = r.guild_id AND g.discord_guild_id = $2 AND r.discord_user_id = $1 \
                AND r.status IN ('authorized', 'failed')",
        )
        .bind(user_db)
        .bind(crate::ids::to_db(guild))
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        let left: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM member.web_join_requests \
              WHERE discord_user_id = $1 AND status = 'authorized'",
        )
        .bind(user_db)
        .fetch_one(&self.pool)
        .await?;
        if left == 0 {
            self.grants.revoke(user).await?;
        }
        Ok(true)
    }

    /// A guild's links: live and dead.
    pub async fn counts(&self, guild: u64) -> Result<LinkCounts, LinkError> {
        let (live, dead): (i64, i64) = sqlx::query_as(
            "SELECT count(*) FILTER (WHERE r.status = 'authorized'), \
                    count(*) FILTER (WHERE r.status = 'failed' AND r.failure_code = 'token_revoked') \
               FROM member.web_join_requests AS r JOIN guild.guilds AS g ON g.id = r.guild_id \
              WHERE g.discord_guild_id = $1",
        )
        .bind(crate::ids::to_db(guild))
        .fetch_one(&self.pool)
        .await?;
        Ok(LinkCounts { live, dead })
    }

    /// Marks the links of grants Discord refused as dead (`failed`, `token_revoked`), expires
    /// consents nobody finished, and deletes those (and refused ones) a day later. Returns how
    /// many links died.
    pub async fn settle_dead(&self) -> Result<u64, LinkError> {
        let dead = sqlx::query(
            "UPDATE member.web_join_requests AS r SET status = 'failed', \
                    failure_code = 'token_revoked', completed_at = now() \
               FROM identity.users AS u \
              WHERE u.id = r.user_id AND r.status = 'authorized' \
                AND u.oauth_revoked_at IS NOT NULL",
        )
        .execute(&self.pool)
        .await?
        .rows_affected();
        sqlx::query(
            "UPDATE member.web_join_requests SET status = 'expired', pkce_verifier_enc = NULL, \
                    completed_at = now() WHERE status = 'pending' AND expires_at <= now()",
        )
        .execute(&self.pool)
        .await?;
        // Consents nobody finished, or refused, are kept a day (anyone may open one), then go.
        sqlx::query(
            "DELETE FROM member.web_join_requests \
              WHERE expires_at < now() - interval '1 day' \
                AND (status = 'expired' \
                     OR (status = 'failed' AND failure_code = 'oauth_denied'))",
        )
        .execute(&self.pool)
        .await?;
        Ok(dead)
    }

    /// The refresh worker: grants expiring within `members.refresh_before_hours` are refreshed
    /// (one worker per grant, on the token-refresh queue) until `shutdown`.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
        while !*shutdown.borrow() {
            match self
                .grants
                .refresh_due(self.settings.refresh_before, 50)
                .await
            {
                Ok((0, 0)) => {}
                Ok((refreshed, dead)) => {
                    tracing::info!(refreshed, dead, "member links: grants refreshed")
                }
                Err(e) => tracing::warn!(error = %e, "member links: a refresh pass failed"),
            }
            if let Err(e) = self.settle_dead().await {
                tracing::warn!(error = %e, "member links: settling dead links failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(self.settings.poll) => {}
                _ = shutdown.changed() => {}
            }
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl crate::recovery::restore::ports::MemberGrants for LinkService {
    async fn linked(&self, guild_row: Uuid) -> Result<Vec<u64>, String> {
        let users: Vec<i64> = sqlx::query_scalar(
            "SELECT discord_user_id FROM member.web_join_requests \
              WHERE guild_id = $1 AND status = 'authorized' AND discord_user_id IS NOT NULL",
        )
        .bind(guild_row)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| e.to_string())?;
        Ok(users.into_iter().map(crate::ids::from_db).collect())
    }

    async fn first_left(&self, guild_row: Uuid) -> Result<Option<DateTime<Utc>>, String> {
        // Each linked member who is gone: when their last version ended; the earliest of those.
        sqlx::query_scalar(
            "SELECT min(left_at) FROM ( \
               SELECT max(m.valid_to) AS left_at \
                 FROM member.web_join_requests AS r \
                 JOIN member.members AS m \
                   ON m.guild_id = r.guild_id AND m.discord_user_id = r.discord_user_id AND NOT m.banned \
                WHERE r.guild_id = $1 AND r.status = 'authorized' \
                  AND NOT EXISTS (SELECT 1 FROM member.members AS c \
                                   WHERE c.guild_id = r.guild_id \
                                     AND c.discord_user_id = r.discord_user_id \
                                     AND c.valid_to IS NULL AND NOT c.banned) \
                GROUP BY r.discord_user_id) AS gone",
        )
        .bind(guild_row)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| e.to_string())
    }

    async fn access(
        &self,
        user: u64,
    ) -> Result<Option<(crate::config::Secret<String>, i64)>, String> {
        match self.grants.get(user).await {
            Ok(g) => Ok(g.map(|g| (g.access_token, g.version))),
            Err(GrantError::Crypto(e)) => {
                tracing::warn!(error = %e, "a member's stored grant does not open");
                Ok(None)
            }
            Err(e) => Err(e.to_string()),
        }
    }

    async fn refreshed(
        &self,
        user: u64,
        seen: i64,
    ) -> Result<Option<crate::config::Secret<String>>, String> {
        match self.grants.refresh(user, Some(seen)).await {
            Ok(g) => Ok(Some(g.access_token)),
            Err(GrantError::Dead | GrantError::NoGrant) => {
                let _ = self.settle_dead().await;
                Ok(None)
            }
            Err(e) => Err(e.to_string()),
        }
    }

    async fn dead(&self, user: u64) {
        if let Ok(Some(g)) = self.grants.get(user).await {
            let _ = self.grants.kill(g.user_row).await;
        }
        let _ = self.settle_dead().await;
    }
}
