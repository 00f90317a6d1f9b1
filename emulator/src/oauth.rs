//! Purpose: OAuth2 as Discord does it: authorization codes (with PKCE S256), access tokens,
//! single-use refresh tokens, revocation, Bearer identity, and `PUT /guilds/{g}/members/{u}`
//! with a `guilds.join` access token.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::error::ApiError;
use crate::model::*;
use crate::permissions as perm;
use crate::state::{OAuthCode, OAuthGrant, State, World, body};

/// An OAuth2 error (`{"error": ..., "error_description": ...}`, HTTP 400/401).
#[derive(Debug, Clone, PartialEq)]
pub struct OAuthError {
    pub status: u16,
    pub error: &'static str,
    pub description: String,
}

impl OAuthError {
    fn new(status: u16, error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            error,
            description: description.into(),
        }
    }
    pub fn body(&self) -> Value {
        json!({ "error": self.error, "error_description": self.description })
    }
}

const CODE_TTL: Duration = Duration::from_secs(600);

fn pkce_s256(verifier: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    let digest = sha2::Sha256::digest(verifier.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
}

impl State {
    /// Approves an authorization request as `user`; returns the code.
    #[allow(clippy::too_many_arguments)]
    pub fn oauth_authorize(
        &mut self,
        user: UserId,
        client_id: ApplicationId,
        redirect_uri: &str,
        scopes: &[String],
        code_challenge: Option<&str>,
        code_challenge_method: Option<&str>,
    ) -> Result<String, OAuthError> {
        let app = self
            .world
            .apps
            .get(&client_id)
            .ok_or_else(|| OAuthError::new(400, "invalid_client", "Unknown application"))?;
        if !app.options.redirect_uris.is_empty()
            && !app.options.redirect_uris.iter().any(|u| u == redirect_uri)
        {
            return Err(OAuthError::new(
                400,
                "invalid_request",
                "Invalid \"redirect_uri\" in request.",
            ));
        }
        if !self.world.users.contains_key(&user) {
            return Err(OAuthError::new(400, "invalid_request", "Unknown user"));
        }
        if scopes.is_empty() {
            return Err(OAuthError::new(
                400,
                "invalid_scope",
                "The requested scope is invalid, unknown, or malformed.",
            ));
        }
        if code_challenge.is_some() && code_challenge_method.is_some_and(|m| m != "S256") {
            return Err(OAuthError::new(
                400,
                "invalid_request",
                "Only S256 code challenges are supported.",
            ));
        }
        let code = Self::random_token(15);
        self.world.oauth.codes.insert(
            code.clone(),
            OAuthCode {
                app_id: client_id,
                user_id: user,
                scopes: scopes.to_vec(),
                redirect_uri: redirect_uri.to_string(),
                code_challenge: code_challenge.map(str::to_string),
                created: Instant::now(),
            },
        );
        Ok(code)
    }

    fn issue_grant(
        &mut self,
        app_id: ApplicationId,
        user_id: UserId,
        scopes: Vec<String>,
    ) -> Value {
        let grant = OAuthGrant {
            app_id,
            user_id,
            scopes: scopes.clone(),
            access_token: Self::random_token(15),
            refresh_token: Self::random_token(15),
            expires: Instant::now() + self.config.oauth_access_token_ttl,
        };
        let out = json!({
            "access_token": grant.access_token,
            "token_type": "Bearer",
            "expires_in": self.config.oauth_access_token_ttl.as_secs(),
            "refresh_token": grant.refresh_token,
            "scope": scopes.join(" "),
        });
        self.world
            .oauth
            .access
            .insert(grant.access_token.clone(), grant.clone());
        self.world
            .oauth
            .refresh
            .insert(grant.refresh_token.clone(), grant);
        out
    }

    /// `POST /oauth2/token` (form fields already decoded; client credentials resolved).
    pub fn oauth_token(
        &mut self,
        form: &[(String, String)],
        basic: Option<(String, String)>,
    ) -> Result<Value, OAuthError> {
        let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let (client_id, secret) = match basic {
            Some((id, s)) => (id, Some(s)),
            None => (
                get("client_id").unwrap_or_default().to_string(),
                get("client_secret").map(str::to_string),
            ),
        };
        let client_id = crate::snowflake::parse(&client_id)
            .ok_or_else(|| OAuthError::new(401, "invalid_client", "Unknown client"))?;
        let app = self
            .world
            .apps
            .get(&client_id)
            .ok_or_else(|| OAuthError::new(401, "invalid_client", "Unknown client"))?
            .clone();
        let grant_type = get("grant_type").unwrap_or_default();
        let public_pkce = secret.is_none()
            && grant_type == "authorization_code"
            && get("code_verifier").is_some();
        if !public_pkce && secret.as_deref() != Some(app.client_secret.as_str()) {
            return Err(OAuthError::new(
                401,
                "invalid_client",
                "Invalid client secret",
            ));
        }
        match grant_type {
            "authorization_code" => {
                let code = get("code").unwrap_or_default();
                let c = self.world.oauth.codes.remove(code).ok_or_else(|| {
                    OAuthError::new(
                        400,
                        "invalid_grant",
                        "Invalid \"code\" in request.".to_string(),
                    )
                })?;
                if c.app_id != client_id || c.created.elapsed() > CODE_TTL {
                    return Err(OAuthError::new(
                        400,
                        "invalid_grant",
                        "Invalid \"code\" in request.",
                    ));
                }
                if get("redirect_uri") != Some(c.redirect_uri.as_str()) {
                    return Err(OAuthError::new(
                        400,
                        "invalid_grant",
                        "Invalid \"redirect_uri\" in request.",
                    ));
                }
                if let Some(ch) = &c.code_challenge {
                    let verifier = get("code_verifier").unwrap_or_default();
                    if verifier.len() < 43 || verifier.len() > 128 || pkce_s256(verifier) != *ch {
                        return Err(OAuthError::new(
                            400,
                            "invalid_grant",
                            "Invalid \"code_verifier\" in request.",
                        ));
                    }
                }
                Ok(self.issue_grant(c.app_id, c.user_id, c.scopes))
            }
            "refresh_token" => {
                let rt = get("refresh_token").unwrap_or_default();
                // Single use: the old refresh token dies now.
                let g = self.world.oauth.refresh.remove(rt).ok_or_else(|| {
                    OAuthError::new(
                        400,
                        "invalid_grant",
                        "Invalid \"refresh_token\" in request.",
                    )
                })?;
                if g.app_id != client_id {
                    return Err(OAuthError::new(
                        400,
                        "invalid_grant",
                        "Invalid \"refresh_token\" in request.",
                    ));
                }
                self.world.oauth.refreshes += 1;
                Ok(self.issue_grant(g.app_id, g.user_id, g.scopes))
            }
            "client_credentials" => {
                let scopes: Vec<String> = get("scope")
                    .unwrap_or("identify")
                    .split_whitespace()
                    .map(str::to_string)
                    .collect();
                Ok(self.issue_grant(app.id, app.owner_id, scopes))
            }
            _ => Err(OAuthError::new(
                400,
                "unsupported_grant_type",
                "Unsupported grant type",
            )),
        }
    }

    /// `POST /oauth2/token/revoke`: revokes the grant owning the token (access or refresh).
    pub fn oauth_revoke(&mut self, token: &str) {
        let grant = self
            .world
            .oauth
            .access
            .get(token)
            .or_else(|| self.world.oauth.refresh.get(token))
            .cloned();
        if let Some(g) = grant {
            self.world.oauth.access.remove(&g.access_token);
            self.world.oauth.refresh.remove(&g.refresh_token);
        }
    }

    /// The live grant behind a Bearer access token.
    pub fn bearer(&self, token: &str) -> Option<&OAuthGrant> {
        self.world
            .oauth
            .access
            .get(token)
            .filter(|g| g.expires > Instant::now())
    }

    /// `PUT /guilds/{guild_id}/members/{user_id}` with an OAuth2 `access_token`.
    /// Returns the member JSON when added (201), None when already a member (204).
    pub fn add_member_oauth(
        &mut self,
        actor: UserId,
        gid: GuildId,
        uid: UserId,
        b: &Value,
    ) -> Result<Option<Value>, ApiError> {
        body::require_object(b)?;
        let token = body::string(b, "access_token", 1, 200)?
            .flatten()
            .ok_or_else(|| {
                ApiError::invalid_form(
                    "access_token",
                    "BASE_TYPE_REQUIRED",
                    "This field is required",
                )
            })?;
        let app = self
            .world
            .app_of_bot(actor)
            .ok_or_else(ApiError::only_bots_can_use_endpoint)?
            .id;
        let g = self.world.guild(gid)?;
        World::require(g, actor, perm::CREATE_INSTANT_INVITE)?;
        let grant = self
            .bearer(&token)
            .ok_or_else(ApiError::invalid_oauth_token)?;
        if grant.user_id != uid
            || grant.app_id != app
            || !grant.scopes.iter().any(|s| s == "guilds.join")
        {
            return Err(ApiError::invalid_oauth_token());
        }
        if g.members.contains_key(&uid) {
            return Ok(None);
        }
        if g.bans.contains_key(&uid) {
            return Err(ApiError::user_banned());
        }
        let nick = body::string(b, "nick", 1, 32)?.flatten();
        let roles = crate::ops_members::parse_ids(b.get("roles"));
        let p = World::base_permissions(g, actor);
        if nick.is_some() && p & perm::MANAGE_NICKNAMES == 0 {
            return Err(ApiError::missing_permissions());
        }
        if !roles.is_empty() {
            if p & perm::MANAGE_ROLES == 0 {
                return Err(ApiError::missing_permissions());
            }
            for r in &roles {
                let role = g.roles.get(r).ok_or_else(ApiError::unknown_role)?;
                if role.managed || *r == gid || !World::can_manage_role(g, actor, role) {
                    return Err(ApiError::missing_permissions());
                }
            }
        }
        if self.world.guild_count(uid) >= self.config.max_guilds_per_user {
            return Err(ApiError::max_guilds());
        }
        self.add_member_raw(gid, uid, roles, nick)?;
        let g = self.world.guild(gid)?;
        Ok(self.member_json(g, uid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_matches_the_rfc_7636_example() {
        assert_eq!(
            pkce_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
