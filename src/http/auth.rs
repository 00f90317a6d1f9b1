//! Purpose: logging in and out with Discord — `/login` (the button, or "login is not
//! configured"), `GET /auth/login` (a fresh `state` and PKCE verifier sealed into a 10-minute
//! `umbra_oauth` cookie with Umbra's key, then Discord's consent page), `GET /auth/callback`
//! (the cookie is spent whatever happens; the state must match in constant time; a denied
//! consent, a forged or replayed state, or a code Discord refuses shows a localized page and
//! creates nothing; else the user is recorded and a session opens), `POST /auth/logout` and
//! `POST /auth/logout-all` (every session of the user).

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::HttpState;
use super::render::{self, Chrome, Tr};
use super::session::{self, SESSION_COOKIE, Viewer, Visitor};
use crate::discord::oauth::{self, OAuthError};

/// The short-lived cookie that carries a login attempt.
const OAUTH_COOKIE: &str = "umbra_oauth";
/// How long a login attempt may take.
const ATTEMPT_SECONDS: i64 = 600;
/// The associated data the login cookie is sealed with (it belongs to no row).
const OAUTH_AAD: uuid::Uuid = uuid::Uuid::from_u128(0x756d_6272_612d_6f61_7574_682d_7374_6174);

pub fn routes() -> Router<Arc<HttpState>> {
    Router::new()
        .route("/login", get(login_page))
        .route("/auth/login", get(start))
        .route("/auth/callback", get(callback))
        .route("/auth/logout", post(logout))
        .route("/auth/logout-all", post(logout_all))
}

#[derive(Serialize, Deserialize)]
struct Attempt {
    state: String,
    verifier: String,
    expires: i64,
    /// Where to go once logged in (a path of this site, checked by [`next_path`]).
    #[serde(default)]
    next: String,
}

#[derive(Deserialize, Default)]
struct Next {
    #[serde(default)]
    next: String,
}

/// `next` if it is a plain path of this site (`/` then letters, digits, `/ _ - .`; no `//`, no
/// query): a login returns there, and nothing else (no open redirect). Else `/guilds`.
pub fn next_path(next: &str) -> &str {
    let plain = next.starts_with('/')
        && !next.starts_with("//")
        && next.len() <= 512
        && next
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-' | b'.'));
    if plain { next } else { "/guilds" }
}

fn seal(state: &HttpState, attempt: &Attempt) -> Option<String> {
    session::seal_cookie(state, OAUTH_AAD, attempt)
}

fn open(state: &HttpState, cookie: &str) -> Option<Attempt> {
    let attempt: Attempt = session::open_cookie(state, OAUTH_AAD, cookie)?;
    (attempt.expires > Utc::now().timestamp()).then_some(attempt)
}

fn equal(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    c: Chrome,
    configured: bool,
    /// The login link (with where to go afterwards).
    href: String,
}

async fn login_page(
    State(state): State<Arc<HttpState>>,
    visitor: Visitor,
    Query(next): Query<Next>,
) -> Response {
    let next = next_path(&next.next);
    if visitor.session.is_some() {
        return Redirect::to(next).into_response();
    }
    let tr = visitor.tr(&state);
    render::html(&LoginPage {
        c: Chrome::new(tr, "web-login-title"),
        configured: state.web.oauth.is_some(),
        href: match next {
            "/guilds" => "/auth/login".to_owned(),
            path => format!("/auth/login?next={path}"),
        },
    })
}

async fn start(
    State(state): State<Arc<HttpState>>,
    visitor: Visitor,
    Query(next): Query<Next>,
) -> Response {
    let tr = visitor.tr(&state);
    let Some(client) = &state.web.oauth else {
        return render::error_page(
            tr.clone(),
            StatusCode::SERVICE_UNAVAILABLE,
            "web-login-title",
            tr.t("web-login-not-configured"),
        );
    };
    let client_id = match state.web.client_id {
        0 => state.app.bot.application_id().unwrap_or(0),
        id => id,
    };
    if client_id == 0 {
        return render::error_page(
            tr.clone(),
            StatusCode::SERVICE_UNAVAILABLE,
            "web-login-title",
            tr.t("web-login-not-ready"),
        );
    }
    let attempt = Attempt {
        state: oauth::random_token(32),
        verifier: oauth::random_token(48),
        expires: Utc::now().timestamp() + ATTEMPT_SECONDS,
        next: next_path(&next.next).to_owned(),
    };
    let Some(sealed) = seal(&state, &attempt) else {
        return render::internal(
            &state,
            tr.locale,
            anyhow::anyhow!("sealing the login cookie"),
        );
    };
    let url = client.authorize_url(
        client_id,
        &attempt.state,
        &oauth::challenge(&attempt.verifier),
    );
    let cookie = session::set_cookie(
        OAUTH_COOKIE,
        &sealed,
        Some(ATTEMPT_SECONDS as u64),
        state.web.secure_cookies,
    );
    ([(header::SET_COOKIE, cookie)], Redirect::to(&url)).into_response()
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

async fn callback(
    State(state): State<Arc<HttpState>>,
    visitor: Visitor,
    headers: HeaderMap,
    Query(query): Query<CallbackQuery>,
) -> Response {
    let tr = visitor.tr(&state);
    // A member's re-join consent comes back here too: its state is this browser's join cookie.
    if let Some(given) = query.state.as_deref()
        && super::join::is_join(&headers, given)
    {
        let code = query.code.as_deref().filter(|_| query.error.is_none());
        return super::join::callback(&state, tr, given, code).await;
    }
    // The attempt is spent whatever happens next.
    let clear = session::set_cookie(OAUTH_COOKIE, "", Some(0), state.web.secure_cookies);
    let refuse = |tr: Tr, key: &str| {
        let body = tr.t(key);
        (
            [(header::SET_COOKIE, clear.clone())],
            render::error_page(tr, StatusCode::BAD_REQUEST, "web-login-failed-title", body),
        )
            .into_response()
    };
    let Some(client) = &state.web.oauth else {
        return refuse(tr, "web-login-not-configured");
    };
    let Some(attempt) = session::cookie(&headers, OAUTH_COOKIE).and_then(|c| open(&state, &c))
    else {
        return refuse(tr, "web-login-expired");
    };
    let Some(given) = query.state.as_deref() else {
        return refuse(tr, "web-login-state");
    };
    if !equal(given, &attempt.state) {
        tracing::warn!("a login callback came with a state that does not match its cookie");
        return refuse(tr, "web-login-state");
    }
    if query.error.is_some() {
        return refuse(tr, "web-login-denied");
    }
    let Some(code) = query.code.as_deref() else {
        return refuse(tr, "web-login-denied");
    };
    let client_id = match state.web.client_id {
        0 => state.app.bot.application_id().unwrap_or(0),
        id => id,
    };
    let profile = match client.user_of(client_id, code, &attempt.verifier).await {
        Ok(p) => p,
        Err(OAuthError::Rejected(why)) => {
            tracing::info!(why, "Discord refused a login code");
            return refuse(tr, "web-login-code");
        }
        Err(e) => {
            tracing::warn!(error = %e, "a login could not reach Discord");
            let body = tr.t("web-login-discord-down");
            return (
                [(header::SET_COOKIE, clear.clone())],
                render::error_page(tr, StatusCode::BAD_GATEWAY, "web-login-failed-title", body),
            )
                .into_response();
        }
    };
    let (token, _) = match state
        .app
        .identity
        .login(&profile, state.web.session_lifetime)
        .await
    {
        Ok(s) => s,
        Err(e) => {
            return render::internal(
                &state,
                tr.locale,
                anyhow::Error::new(e).context("opening a web session"),
            );
        }
    };
    let session_cookie = session::set_cookie(
        SESSION_COOKIE,
        &token,
        Some(state.web.session_lifetime.as_secs()),
        state.web.secure_cookies,
    );
    let mut response = Redirect::to(next_path(&attempt.next)).into_response();
    let headers = response.headers_mut();
    for c in [clear, session_cookie] {
        if let Ok(v) = c.parse() {
            headers.append(header::SET_COOKIE, v);
        }
    }
    response
}

/// A form that carries nothing but its CSRF token.
#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

fn logged_out(state: &HttpState) -> Response {
    let clear = session::set_cookie(SESSION_COOKIE, "", Some(0), state.web.secure_cookies);
    ([(header::SET_COOKIE, clear)], Redirect::to("/login")).into_response()
}

async fn logout(
    State(state): State<Arc<HttpState>>,
    viewer: Viewer,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !viewer.csrf_matches(&form.csrf) {
        return render::forbidden(viewer.tr(&state), "web-csrf-refused");
    }
    if let Err(e) = state.app.identity.logout(viewer.session.session_id).await {
        return render::internal(
            &state,
            viewer.locale,
            anyhow::Error::new(e).context("ending a session"),
        );
    }
    logged_out(&state)
}

async fn logout_all(
    State(state): State<Arc<HttpState>>,
    viewer: Viewer,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !viewer.csrf_matches(&form.csrf) {
        return render::forbidden(viewer.tr(&state), "web-csrf-refused");
    }
    match state
        .app
        .identity
        .logout_everywhere(viewer.session.user.id)
        .await
    {
        Ok(n) => {
            tracing::info!(sessions = n, "a user logged out everywhere");
            logged_out(&state)
        }
        Err(e) => render::internal(
            &state,
            viewer.locale,
            anyhow::Error::new(e).context("ending every session"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::next_path;

    #[test]
    fn a_login_returns_only_to_a_plain_path_of_this_site() {
        assert_eq!(
            next_path("/billing/start/a1.b-2_c"),
            "/billing/start/a1.b-2_c"
        );
        assert_eq!(next_path("/guilds/123/plan"), "/guilds/123/plan");
        for evil in [
            "//evil.example/x",
            "https://evil.example",
            "/a?b=c",
            "/a\\b",
            "",
            "guilds",
            "/%2F%2Fevil",
        ] {
            assert_eq!(next_path(evil), "/guilds", "{evil}");
        }
    }
}
