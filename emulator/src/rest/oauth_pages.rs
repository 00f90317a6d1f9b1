//! Purpose: OAuth2 HTTP endpoints: the authorize page (auto-approve as a chosen user, or an
//! HTML user picker), `POST /oauth2/token` (form-encoded; Basic or form client auth) and
//! `POST /oauth2/token/revoke`.

use std::sync::Arc;

use axum::extract::{RawQuery, State as AxState};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use serde_json::json;

use super::{parse_form, parse_query};
use crate::server::Inner;

fn oauth_error(status: u16, error: &str, description: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    (
        code,
        axum::Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn redirect(to: &str) -> Response {
    let mut resp = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        resp.headers_mut().insert(axum::http::header::LOCATION, v);
    }
    resp
}

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn authorize(
    inner: &Arc<Inner>,
    params: &[(String, String)],
    explicit_user: Option<u64>,
) -> Response {
    let get = |k: &str| {
        params
            .iter()
            .rev()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    };
    let Some(client_id) = get("client_id").and_then(crate::snowflake::parse) else {
        return oauth_error(400, "invalid_request", "Missing or invalid client_id");
    };
    let redirect_uri = get("redirect_uri").unwrap_or_default().to_string();
    let scopes: Vec<String> = get("scope")
        .unwrap_or_default()
        .split([' ', '+'])
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let state_param = get("state").map(str::to_string);
    let user = explicit_user
        .or_else(|| get("emulator_user").and_then(crate::snowflake::parse))
        .or_else(|| inner.state.lock().world.oauth.default_user);
    let Some(user) = user else {
        // No user chosen: render a picker of human users.
        let st = inner.state.lock();
        let mut humans: Vec<&crate::model::User> =
            st.world.users.values().filter(|u| !u.bot).collect();
        humans.sort_by_key(|u| u.id);
        let hidden: String = params
            .iter()
            .filter(|(k, _)| k != "emulator_user")
            .map(|(k, v)| {
                format!(
                    "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                    html_escape(k),
                    html_escape(v)
                )
            })
            .collect();
        let buttons: String = humans
            .iter()
            .take(200)
            .map(|u| {
                format!(
                    "<button name=\"emulator_user\" value=\"{}\">Authorize as {}</button><br>",
                    u.id,
                    html_escape(&u.username)
                )
            })
            .collect();
        let app = st
            .world
            .apps
            .get(&client_id)
            .map(|a| a.name.clone())
            .unwrap_or_default();
        return Html(format!(
            "<!doctype html><html><head><title>Authorize {app}</title></head><body><h1>{app} wants to access your account</h1>\
             <p>Scopes: {}</p><form method=\"post\" action=\"/oauth2/authorize\">{hidden}{buttons}</form></body></html>",
            html_escape(&scopes.join(", ")),
            app = html_escape(&app)
        ))
        .into_response();
    };
    let mut st = inner.state.lock();
    if scopes.iter().any(|s| s == "bot") {
        if let (Some(g), Some(p)) = (
            get("guild_id").and_then(crate::snowflake::parse),
            get("permissions").and_then(|p| p.parse::<u64>().ok()),
        ) && let Err(e) = st.add_bot(user, g, client_id, p)
        {
            return oauth_error(400, "access_denied", &e.message);
        }
        if !scopes
            .iter()
            .any(|s| s != "bot" && s != "applications.commands")
        {
            drop(st);
            return if redirect_uri.is_empty() {
                Html("<p>Bot added.</p>".to_string()).into_response()
            } else {
                redirect(&redirect_uri)
            };
        }
    }
    let code = match st.oauth_authorize(
        user,
        client_id,
        &redirect_uri,
        &scopes,
        get("code_challenge"),
        get("code_challenge_method"),
    ) {
        Ok(c) => c,
        Err(e) => return oauth_error(e.status, e.error, &e.description),
    };
    let sep = if redirect_uri.contains('?') { '&' } else { '?' };
    let mut to = format!("{redirect_uri}{sep}code={}", enc(&code));
    if let Some(s) = state_param {
        to.push_str(&format!("&state={}", enc(&s)));
    }
    redirect(&to)
}

/// `GET /oauth2/authorize`.
pub async fn authorize_page(
    AxState(inner): AxState<Arc<Inner>>,
    RawQuery(q): RawQuery,
) -> Response {
    authorize(&inner, &parse_query(q.as_deref().unwrap_or("")), None)
}

/// `POST /oauth2/authorize` (the picker's form).
pub async fn authorize_submit(
    AxState(inner): AxState<Arc<Inner>>,
    body: axum::body::Bytes,
) -> Response {
    authorize(&inner, &parse_form(&body), None)
}

fn basic_auth(headers: &axum::http::HeaderMap) -> Option<(String, String)> {
    use base64::Engine;
    let v = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let b64 = v.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let s = String::from_utf8(decoded).ok()?;
    let (id, secret) = s.split_once(':')?;
    let dec = |x: &str| {
        percent_encoding::percent_decode_str(x)
            .decode_utf8_lossy()
            .into_owned()
    };
    Some((dec(id), dec(secret)))
}

/// `POST /oauth2/token` (form-encoded only, as Discord).
pub async fn token(
    AxState(inner): AxState<Arc<Inner>>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let ct = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.starts_with("application/x-www-form-urlencoded") {
        return oauth_error(
            400,
            "invalid_request",
            "Content-Type must be application/x-www-form-urlencoded",
        );
    }
    let form = parse_form(&body);
    let result = inner.state.lock().oauth_token(&form, basic_auth(&headers));
    match result {
        Ok(v) => (StatusCode::OK, axum::Json(v)).into_response(),
        Err(e) => oauth_error(e.status, e.error, &e.description),
    }
}

/// `POST /oauth2/token/revoke`.
pub async fn revoke(AxState(inner): AxState<Arc<Inner>>, body: axum::body::Bytes) -> Response {
    let form = parse_form(&body);
    if let Some((_, t)) = form.iter().find(|(k, _)| k == "token") {
        inner.state.lock().oauth_revoke(t);
    }
    (StatusCode::OK, axum::Json(json!({}))).into_response()
}
