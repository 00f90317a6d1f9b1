//! Purpose: who is asking — the session cookie (`umbra_session`: `HttpOnly`, `SameSite=Lax`,
//! `Path=/`, `Secure` unless the public URL is plain http on loopback), the [`Visitor`] of any
//! page (maybe logged in, with the page's locale) and the [`Viewer`] of pages that need a login
//! (others are sent to `/login`). The CSRF token of a session is derived from its secret token
//! (SHA-256 with a fixed prefix): nothing to store, different from the cookie, and a page can
//! only know it by having been served to the session's owner.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use super::HttpState;
use super::render::Tr;
use crate::i18n::Locale;
use crate::identity::WebSession;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "umbra_session";

/// The value of cookie `name` in `headers`, if any.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// A `Set-Cookie` value: `HttpOnly`, `SameSite=Lax`, `Path=/`, `Secure` when asked. `max_age`
/// `Some(0)` deletes the cookie; `None` makes a browser-session cookie.
pub fn set_cookie(name: &str, value: &str, max_age: Option<u64>, secure: bool) -> String {
    let mut c = format!("{name}={value}; HttpOnly; SameSite=Lax; Path=/");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        c.push_str("; Secure");
    }
    c
}

/// A short-lived value sealed into a cookie with Umbra's key (AES-256-GCM; `purpose` is the
/// associated data, so a cookie of one purpose never opens as another). `None` without a key.
pub fn seal_cookie<T: serde::Serialize>(
    state: &HttpState,
    purpose: uuid::Uuid,
    value: &T,
) -> Option<String> {
    state.web.keyring.as_ref()?.seal_text(purpose, value)
}

/// Opens a cookie sealed by [`seal_cookie`] for `purpose` (`None`: forged, foreign or unreadable).
pub fn open_cookie<T: serde::de::DeserializeOwned>(
    state: &HttpState,
    purpose: uuid::Uuid,
    cookie: &str,
) -> Option<T> {
    state.web.keyring.as_ref()?.open_text(purpose, cookie)
}

/// The CSRF token of a session token.
pub fn csrf_of(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(format!("umbra-csrf:{token}").as_bytes()))
}

/// The first locale Umbra speaks in an `Accept-Language` header.
pub(super) fn accepted(headers: &HeaderMap) -> Option<Locale> {
    let value = headers.get(header::ACCEPT_LANGUAGE)?.to_str().ok()?;
    value.split(',').find_map(|part| {
        let tag = part.split(';').next().unwrap_or("").trim();
        Locale::from_discord(tag).or_else(|| {
            let primary = tag.split('-').next().unwrap_or("");
            Locale::from_discord(primary)
        })
    })
}

/// Anyone: their session when logged in, and the locale pages are shown in (the user's Discord
/// locale, else the browser's, else English).
pub struct Visitor {
    pub session: Option<WebSession>,
    token: Option<String>,
    pub locale: Locale,
}

impl Visitor {
    pub fn tr(&self, state: &HttpState) -> Tr {
        Tr::new(state.app.i18n.clone(), self.locale)
    }
}

impl FromRequestParts<Arc<HttpState>> for Visitor {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<HttpState>,
    ) -> Result<Self, Self::Rejection> {
        let browser = accepted(&parts.headers).unwrap_or(Locale::FALLBACK);
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Ok(Self {
                session: None,
                token: None,
                locale: browser,
            });
        };
        let session = state
            .app
            .identity
            .session(&token, state.web.session_idle)
            .await
            .map_err(|e| {
                super::render::internal(
                    state,
                    browser,
                    anyhow::Error::new(e).context("reading the session"),
                )
            })?;
        let locale = session
            .as_ref()
            .and_then(|s| s.user.locale.as_deref())
            .and_then(Locale::from_discord)
            .unwrap_or(browser);
        let token = session.is_some().then_some(token);
        Ok(Self {
            session,
            token,
            locale,
        })
    }
}

/// A logged-in user (pages that need one send others to `/login`).
pub struct Viewer {
    pub session: WebSession,
    pub locale: Locale,
    pub csrf: String,
    token: String,
}

impl Viewer {
    pub fn tr(&self, state: &HttpState) -> Tr {
        Tr::new(state.app.i18n.clone(), self.locale)
    }

    pub fn discord_id(&self) -> u64 {
        self.session.user.discord_id
    }

    /// Whether a submitted form's `csrf` field is this session's token (constant time).
    pub fn csrf_matches(&self, submitted: &str) -> bool {
        let expected = csrf_of(&self.token);
        expected.len() == submitted.len()
            && expected
                .bytes()
                .zip(submitted.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

impl FromRequestParts<Arc<HttpState>> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<HttpState>,
    ) -> Result<Self, Self::Rejection> {
        let visitor = Visitor::from_request_parts(parts, state).await?;
        match (visitor.session, visitor.token) {
            (Some(session), Some(token)) => Ok(Self {
                csrf: csrf_of(&token),
                session,
                locale: visitor.locale,
                token,
            }),
            // A page opened before logging in (a link from Discord) is where the login returns.
            _ if parts.method == axum::http::Method::GET
                && parts.uri.path() != "/guilds"
                && super::auth::next_path(parts.uri.path()) == parts.uri.path() =>
            {
                Err(Redirect::to(&format!("/login?next={}", parts.uri.path())).into_response())
            }
            _ => Err(Redirect::to("/login").into_response()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; umbra_session=tok; b=2"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("tok"));
        assert_eq!(cookie(&h, "missing"), None);
    }

    #[test]
    fn cookies_are_http_only_and_lax_and_secure_when_asked() {
        let c = set_cookie("n", "v", Some(60), true);
        assert_eq!(c, "n=v; HttpOnly; SameSite=Lax; Path=/; Max-Age=60; Secure");
        assert!(!set_cookie("n", "v", None, false).contains("Secure"));
    }

    #[test]
    fn korean_browsers_get_korean_and_others_english() {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("ko-KR,ko;q=0.9,en;q=0.8"),
        );
        assert_eq!(accepted(&h), Some(Locale::Ko));
        h.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_static("fr-FR"));
        assert_eq!(accepted(&h), None);
    }

    #[test]
    fn the_csrf_token_differs_from_the_session_token_and_per_session() {
        assert_ne!(csrf_of("a"), "a");
        assert_ne!(csrf_of("a"), csrf_of("b"));
    }
}
