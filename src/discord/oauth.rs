//! Purpose: Discord's OAuth2 — the authorize URL (authorization code with a `state` and PKCE
//! S256), the code exchange (`POST /api/v10/oauth2/token`, form-encoded, client credentials), the
//! user a token belongs to (`GET /api/v10/users/@me`), refresh (refresh tokens are single-use:
//! the answer's pair replaces the old one) and revocation (`POST /oauth2/token/revoke`). The
//! web login asks for `identify guilds` and drops its token; the re-join link asks for
//! `identify guilds.join` and keeps the grant (sealed at rest by the caller).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::config::Secret;
use crate::identity::LoginProfile;

const API: &str = "https://discord.com/api/v10";
/// What the login asks for: who you are, and which guilds you are in.
pub const SCOPES: &str = "identify guilds";

/// What the re-join link asks for: who you are, and leave to add you to a server.
pub const JOIN_SCOPES: &str = "identify guilds.join";

/// A grant: the tokens of one authorization (secrets: never logged).
#[derive(Debug, Clone)]
pub struct Grant {
    pub access_token: Secret<String>,
    pub refresh_token: Secret<String>,
    /// Seconds the access token lives.
    pub expires_in: i64,
    pub scopes: Vec<String>,
}

/// Why a login could not complete.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// Discord refused the code (expired, used, or not ours): `invalid_grant` and friends.
    #[error("Discord refused the authorization code: {0}")]
    Rejected(String),
    #[error("Discord could not be reached: {0}")]
    Unreachable(String),
    #[error("Discord answered something unexpected: {0}")]
    Unexpected(String),
}

/// A random URL-safe string of `bytes` random bytes (state, PKCE verifier).
pub fn random_token(bytes: usize) -> String {
    let mut raw = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut raw);
    URL_SAFE_NO_PAD.encode(raw)
}

/// A fresh 32-byte key in `UMBRA_SECRET_KEY`'s format (standard base64), for throw-away
/// instances such as `umbra sandbox`.
pub fn random_key() -> String {
    let mut raw = [0u8; 32];
    rand::rng().fill_bytes(&mut raw);
    base64::engine::general_purpose::STANDARD.encode(raw)
}

/// The S256 challenge of a PKCE verifier.
pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// The login's OAuth2 client.
#[derive(Debug)]
pub struct OAuthClient {
    http: reqwest::Client,
    client_secret: Secret<String>,
    redirect_uri: String,
    authorize_url: String,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    refresh_token: String,
    #[serde(default)]
    expires_in: i64,
    #[serde(default)]
    scope: String,
}

impl TokenAnswer {
    fn grant(self) -> Grant {
        Grant {
            access_token: Secret::new(self.access_token),
            refresh_token: Secret::new(self.refresh_token),
            expires_in: self.expires_in,
            scopes: self.scope.split_whitespace().map(str::to_owned).collect(),
        }
    }
}

#[derive(Deserialize)]
struct ErrorAnswer {
    error: Option<String>,
    error_description: Option<String>,
}

#[derive(Deserialize)]
struct Me {
    id: String,
    username: String,
    global_name: Option<String>,
    avatar: Option<String>,
    locale: Option<String>,
}

impl OAuthClient {
    pub fn new(
        http: reqwest::Client,
        client_secret: Secret<String>,
        redirect_uri: String,
        authorize_url: String,
    ) -> Self {
        Self {
            http,
            client_secret,
            redirect_uri,
            authorize_url,
        }
    }

    /// Where to send the browser: Discord's consent page for this `state` and PKCE challenge.
    /// `client_id` is the application's (config, else learned from Discord at start-up).
    pub fn authorize_url(&self, client_id: u64, state: &str, challenge: &str) -> String {
        self.consent_url(client_id, state, challenge, SCOPES, Some("none"))
    }

    /// Discord's consent page for `scopes` (`prompt`: `none` skips it when already granted;
    /// `None`: the person always sees what they grant).
    pub fn consent_url(
        &self,
        client_id: u64,
        state: &str,
        challenge: &str,
        scopes: &str,
        prompt: Option<&str>,
    ) -> String {
        let mut url = match reqwest::Url::parse(&self.authorize_url) {
            Ok(u) => u,
            Err(_) => return self.authorize_url.clone(),
        };
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", &client_id.to_string())
                .append_pair("scope", scopes)
                .append_pair("redirect_uri", &self.redirect_uri)
                .append_pair("state", state)
                .append_pair("code_challenge", challenge)
                .append_pair("code_challenge_method", "S256");
            if let Some(p) = prompt {
                q.append_pair("prompt", p);
            }
        }
        url.to_string()
    }

    /// Exchanges an authorization code (with its PKCE verifier) for the user it was issued to.
    pub async fn user_of(
        &self,
        client_id: u64,
        code: &str,
        verifier: &str,
    ) -> Result<LoginProfile, OAuthError> {
        let grant = self.exchange(client_id, code, verifier).await?;
        self.me(&grant.access_token).await
    }

    /// Exchanges an authorization code (with its PKCE verifier) for its grant.
    pub async fn exchange(
        &self,
        client_id: u64,
        code: &str,
        verifier: &str,
    ) -> Result<Grant, OAuthError> {
        self.token(
            client_id,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &self.redirect_uri),
                ("code_verifier", verifier),
            ],
        )
        .await
    }

    /// A new grant for a refresh token (single-use: the old pair is dead once this answers).
    /// `Rejected` with `invalid_grant`: the grant was revoked or already refreshed elsewhere.
    pub async fn refresh(
        &self,
        client_id: u64,
        refresh_token: &Secret<String>,
    ) -> Result<Grant, OAuthError> {
        self.token(
            client_id,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token.expose()),
            ],
        )
        .await
    }

    /// Revokes a grant by either of its tokens (Discord answers 200 for an unknown token too).
    pub async fn revoke(&self, client_id: u64, token: &Secret<String>) -> Result<(), OAuthError> {
        let answer = self
            .http
            .post(format!("{API}/oauth2/token/revoke"))
            .basic_auth(client_id.to_string(), Some(self.client_secret.expose()))
            .form(&[("token", token.expose().as_str())])
            .send()
            .await
            .map_err(|e| OAuthError::Unreachable(e.without_url().to_string()))?;
        if answer.status().is_success() {
            Ok(())
        } else {
            Err(OAuthError::Unexpected(format!(
                "token/revoke: {}",
                answer.status()
            )))
        }
    }

    async fn token(&self, client_id: u64, form: &[(&str, &str)]) -> Result<Grant, OAuthError> {
        let answer = self
            .http
            .post(format!("{API}/oauth2/token"))
            .basic_auth(client_id.to_string(), Some(self.client_secret.expose()))
            .form(form)
            .send()
            .await
            .map_err(|e| OAuthError::Unreachable(e.without_url().to_string()))?;
        let status = answer.status();
        let body = answer
            .bytes()
            .await
            .map_err(|e| OAuthError::Unreachable(e.without_url().to_string()))?;
        if status.is_client_error() {
            let e: Option<ErrorAnswer> = serde_json::from_slice(&body).ok();
            let what = e
                .map(|e| {
                    format!(
                        "{} {}",
                        e.error.unwrap_or_default(),
                        e.error_description.unwrap_or_default()
                    )
                })
                .unwrap_or_else(|| status.to_string());
            return Err(OAuthError::Rejected(what.trim().to_owned()));
        }
        if !status.is_success() {
            return Err(OAuthError::Unexpected(format!("token endpoint: {status}")));
        }
        let token: TokenAnswer = serde_json::from_slice(&body)
            .map_err(|e| OAuthError::Unexpected(format!("token answer: {e}")))?;
        Ok(token.grant())
    }

    /// The user an access token belongs to.
    pub async fn me(&self, access_token: &Secret<String>) -> Result<LoginProfile, OAuthError> {
        let me = self
            .http
            .get(format!("{API}/users/@me"))
            .bearer_auth(access_token.expose())
            .send()
            .await
            .map_err(|e| OAuthError::Unreachable(e.without_url().to_string()))?;
        if !me.status().is_success() {
            return Err(OAuthError::Unexpected(format!(
                "users/@me: {}",
                me.status()
            )));
        }
        let me: Me = me
            .json()
            .await
            .map_err(|e| OAuthError::Unexpected(format!("users/@me: {}", e.without_url())))?;
        let discord_id = crate::ids::Snowflake::parse(&me.id)
            .ok()
            .map(|s| s.0)
            .ok_or_else(|| OAuthError::Unexpected(format!("user id {}", me.id)))?;
        Ok(LoginProfile {
            discord_id,
            username: me.username,
            global_name: me.global_name,
            avatar: me.avatar,
            locale: me.locale,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pkce_challenge_is_the_rfc_7636_example() {
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn random_tokens_are_long_enough_for_pkce_and_differ() {
        let a = random_token(32);
        assert!(a.len() >= 43, "{a}");
        assert_ne!(a, random_token(32));
    }
}
