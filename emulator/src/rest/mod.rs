//! Purpose: REST plumbing: the request extractor (auth, audit-log reason, query, JSON or
//! multipart body), Discord-shaped responses and errors, and the route table.

mod handlers;
mod oauth_pages;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde_json::Value;

use crate::error::ApiError;
use crate::model::*;
use crate::ops_messages::UploadedFile;
use crate::server::Inner;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        let mut resp = (status, axum::Json(self.body())).into_response();
        if self.status == 429 {
            let h = resp.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&format!("{:.3}", self.retry_after.unwrap_or(1.0)))
            {
                h.insert("retry-after", v);
            }
            if let Ok(v) = HeaderValue::from_str(self.scope.unwrap_or("user")) {
                h.insert("x-ratelimit-scope", v);
            }
        }
        resp
    }
}

/// A successful answer.
pub enum Reply {
    Json(u16, Value),
    NoContent,
    Raw(Response),
}

impl Reply {
    pub fn ok(v: Value) -> Self {
        Self::Json(200, v)
    }
    pub fn created(v: Value) -> Self {
        Self::Json(201, v)
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        match self {
            Self::Json(s, v) => (
                StatusCode::from_u16(s).unwrap_or(StatusCode::OK),
                axum::Json(v),
            )
                .into_response(),
            Self::NoContent => StatusCode::NO_CONTENT.into_response(),
            Self::Raw(r) => r,
        }
    }
}

pub type ApiResult = Result<Reply, ApiError>;

/// Who is calling.
#[derive(Debug, Clone)]
pub enum Caller {
    Anonymous,
    Bot {
        app: ApplicationId,
        user: UserId,
    },
    Bearer {
        app: ApplicationId,
        user: UserId,
        scopes: Vec<String>,
    },
    Invalid,
}

/// Everything a handler needs from the request.
pub struct ApiRequest {
    pub caller: Caller,
    pub reason: Option<String>,
    pub query: Vec<(String, String)>,
    body: Result<Value, ApiError>,
    pub files: Vec<UploadedFile>,
    pub raw: Bytes,
    pub content_type: String,
    pub headers: axum::http::HeaderMap,
}

impl ApiRequest {
    /// The JSON body (`null` when empty).
    pub fn json(&self) -> Result<Value, ApiError> {
        self.body.clone()
    }

    pub fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }

    pub fn q(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn q_int(&self, key: &str, min: i64, max: i64, default: i64) -> Result<i64, ApiError> {
        match self.q(key) {
            None | Some("") => Ok(default),
            Some(v) => match v.parse::<i64>() {
                Ok(n) if n >= min && n <= max => Ok(n),
                _ => Err(ApiError::invalid_form(
                    key,
                    "NUMBER_TYPE_MAX",
                    format!("Int value should be between {min} and {max}."),
                )),
            },
        }
    }

    pub fn q_id(&self, key: &str) -> Result<Option<u64>, ApiError> {
        match self.q(key) {
            None | Some("") => Ok(None),
            Some(v) => crate::snowflake::parse(v).map(Some).ok_or_else(|| {
                ApiError::invalid_form(
                    key,
                    "NUMBER_TYPE_COERCE",
                    format!("Value \"{v}\" is not snowflake."),
                )
            }),
        }
    }

    /// The bot user (401 otherwise; Bearer tokens get 403 20002).
    pub fn bot(&self) -> Result<UserId, ApiError> {
        match &self.caller {
            Caller::Bot { user, .. } => Ok(*user),
            Caller::Bearer { .. } => Err(ApiError::only_bots_can_use_endpoint()),
            _ => Err(ApiError::unauthorized()),
        }
    }

    pub fn bot_app(&self) -> Result<ApplicationId, ApiError> {
        match &self.caller {
            Caller::Bot { app, .. } => Ok(*app),
            Caller::Bearer { .. } => Err(ApiError::only_bots_can_use_endpoint()),
            _ => Err(ApiError::unauthorized()),
        }
    }
}

pub(crate) fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            let dec = |s: &str| {
                percent_encoding::percent_decode_str(&s.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (dec(k), dec(v))
        })
        .collect()
}

/// Parses `application/x-www-form-urlencoded`.
pub fn parse_form(body: &[u8]) -> Vec<(String, String)> {
    parse_query(&String::from_utf8_lossy(body))
}

/// One multipart part: (name, filename, content type, bytes).
pub type Part = (String, Option<String>, Option<String>, Vec<u8>);

/// Minimal multipart/form-data parser.
pub fn parse_multipart(content_type: &str, body: &[u8]) -> Option<Vec<Part>> {
    let boundary = content_type
        .split(';')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("boundary="))?
        .trim_matches('"');
    let delim = format!("--{boundary}");
    let delim = delim.as_bytes();
    let mut parts = Vec::new();
    let mut pos = find(body, delim, 0)? + delim.len();
    loop {
        if body.get(pos..pos + 2) == Some(b"--") {
            break;
        }
        // Skip the CRLF after the delimiter.
        if body.get(pos..pos + 2) == Some(b"\r\n") {
            pos += 2;
        }
        let header_end = find(body, b"\r\n\r\n", pos)?;
        let headers = String::from_utf8_lossy(&body[pos..header_end]).to_string();
        let data_start = header_end + 4;
        let next = find(body, delim, data_start)?;
        let mut data_end = next;
        if data_end >= data_start + 2 && &body[data_end - 2..data_end] == b"\r\n" {
            data_end -= 2;
        }
        let mut name = String::new();
        let mut filename = None;
        let mut ctype = None;
        for line in headers.split("\r\n") {
            let lower = line.to_ascii_lowercase();
            if lower.starts_with("content-disposition:") {
                for attr in line.split(';').map(str::trim) {
                    if let Some(v) = attr.strip_prefix("name=") {
                        name = v.trim_matches('"').to_string();
                    } else if let Some(v) = attr.strip_prefix("filename=") {
                        filename = Some(v.trim_matches('"').to_string());
                    }
                }
            } else if lower.starts_with("content-type:") {
                ctype = line.split_once(':').map(|(_, v)| v.trim().to_string());
            }
        }
        parts.push((name, filename, ctype, body[data_start..data_end].to_vec()));
        pos = next + delim.len();
    }
    Some(parts)
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > hay.len() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

impl FromRequest<Arc<Inner>> for ApiRequest {
    type Rejection = ApiError;

    async fn from_request(req: Request, inner: &Arc<Inner>) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let headers = parts.headers.clone();
        let auth = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::trim);
        let caller = match auth {
            None | Some("") => Caller::Anonymous,
            Some(a) => {
                let st = inner.state.lock();
                if let Some(t) = a.strip_prefix("Bearer ") {
                    match st.bearer(t.trim()) {
                        Some(g) => Caller::Bearer {
                            app: g.app_id,
                            user: g.user_id,
                            scopes: g.scopes.clone(),
                        },
                        None => Caller::Invalid,
                    }
                } else {
                    match st.world.app_by_token(a) {
                        Some(app) => Caller::Bot {
                            app: app.id,
                            user: app.bot_user_id,
                        },
                        None => Caller::Invalid,
                    }
                }
            }
        };
        if matches!(caller, Caller::Invalid) {
            return Err(ApiError::unauthorized());
        }
        let reason = headers
            .get("x-audit-log-reason")
            .and_then(|v| v.to_str().ok())
            .map(|r| {
                percent_encoding::percent_decode_str(r)
                    .decode_utf8_lossy()
                    .into_owned()
            });
        let query = parse_query(parts.uri.query().unwrap_or(""));
        let raw = axum::body::to_bytes(body, 64 << 20)
            .await
            .map_err(|_| ApiError::new(413, 40005, "Request entity too large"))?;
        let content_type = headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let mut files = Vec::new();
        let body = if content_type.starts_with("multipart/form-data") {
            match parse_multipart(&content_type, &raw) {
                None => Err(ApiError::invalid_json()),
                Some(parts) => {
                    let mut payload = Ok(Value::Null);
                    // Plain form fields (a sticker's name, description, tags) when there is no
                    // payload_json.
                    let mut fields = serde_json::Map::new();
                    for (name, filename, ctype, data) in parts {
                        if name == "payload_json" {
                            payload =
                                serde_json::from_slice(&data).map_err(|_| ApiError::invalid_json());
                        } else if let Some(f) = filename {
                            files.push(UploadedFile {
                                field: name,
                                filename: f,
                                content_type: ctype,
                                data,
                            });
                        } else {
                            fields.insert(
                                name,
                                Value::String(String::from_utf8_lossy(&data).into_owned()),
                            );
                        }
                    }
                    match payload {
                        Ok(Value::Null) if !fields.is_empty() => Ok(Value::Object(fields)),
                        other => other,
                    }
                }
            }
        } else if content_type.starts_with("application/x-www-form-urlencoded") {
            let form = parse_form(&raw);
            Ok(Value::Object(
                form.into_iter()
                    .map(|(k, v)| (k, Value::String(v)))
                    .collect(),
            ))
        } else if raw.iter().all(u8::is_ascii_whitespace) {
            Ok(Value::Null)
        } else {
            serde_json::from_slice(&raw).map_err(|_| ApiError::invalid_json())
        };
        Ok(Self {
            caller,
            reason,
            query,
            body,
            files,
            raw,
            content_type,
            headers,
        })
    }
}

/// Parses a snowflake path parameter (400 50035 when malformed).
pub fn param(p: &HashMap<String, String>, key: &str) -> Result<u64, ApiError> {
    let v = p.get(key).map(String::as_str).unwrap_or_default();
    crate::snowflake::parse(v).ok_or_else(|| {
        ApiError::invalid_form(
            key,
            "NUMBER_TYPE_COERCE",
            format!("Value \"{v}\" is not snowflake."),
        )
    })
}

/// The API routes (relative to `/api/v10`), named like Discord's OpenAPI spec.
pub fn api_routes() -> Router<Arc<Inner>> {
    use handlers::*;
    Router::new()
        .route("/gateway", get(get_gateway))
        .route("/gateway/bot", get(get_gateway_bot))
        .route("/oauth2/applications/@me", get(get_my_application))
        .route("/applications/@me", get(get_my_application))
        .route("/users/@me", get(get_me))
        .route("/users/@me/guilds", get(get_my_guilds))
        .route(
            "/users/@me/guilds/{guild_id}",
            axum::routing::delete(leave_guild),
        )
        .route("/users/@me/channels", post(create_dm))
        .route("/users/{user_id}", get(get_user))
        .route("/oauth2/@me", get(get_oauth2_me))
        .route("/oauth2/token", post(oauth_pages::token))
        .route("/oauth2/token/revoke", post(oauth_pages::revoke))
        .route(
            "/oauth2/authorize",
            get(oauth_pages::authorize_page).post(oauth_pages::authorize_submit),
        )
        .route(
            "/applications/{application_id}/commands",
            get(list_commands).put(put_commands).post(post_command),
        )
        .route(
            "/applications/{application_id}/commands/{command_id}",
            get(get_command).delete(delete_command),
        )
        .route(
            "/applications/{application_id}/guilds/{guild_id}/commands",
            get(list_commands).put(put_commands).post(post_command),
        )
        .route(
            "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}",
            get(get_command).delete(delete_command),
        )
        .route(
            "/interactions/{interaction_id}/{interaction_token}/callback",
            post(interaction_callback),
        )
        .route(
            "/webhooks/{webhook_id}/{webhook_token}",
            post(execute_webhook)
                .get(get_webhook_by_token)
                .patch(update_webhook_by_token)
                .delete(delete_webhook_by_token),
        )
        .route(
            "/webhooks/{webhook_id}/{webhook_token}/messages/@original",
            get(get_webhook_message)
                .patch(edit_webhook_message)
                .delete(delete_webhook_message),
        )
        .route(
            "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
            get(get_webhook_message)
                .patch(edit_webhook_message)
                .delete(delete_webhook_message),
        )
        .route(
            "/webhooks/{webhook_id}",
            get(get_webhook)
                .patch(update_webhook)
                .delete(delete_webhook),
        )
        .route("/guilds/{guild_id}", get(get_guild).patch(update_guild))
        .route(
            "/guilds/{guild_id}/roles",
            get(list_roles)
                .post(create_role)
                .patch(update_role_positions),
        )
        .route(
            "/guilds/{guild_id}/roles/{role_id}",
            get(get_role).patch(update_role).delete(delete_role),
        )
        .route(
            "/guilds/{guild_id}/channels",
            get(list_channels)
                .post(create_channel)
                .patch(update_channel_positions),
        )
        .route("/guilds/{guild_id}/members", get(list_members))
        .route("/guilds/{guild_id}/members/search", get(search_members))
        .route(
            "/guilds/{guild_id}/members/@me",
            axum::routing::patch(update_my_member),
        )
        .route(
            "/guilds/{guild_id}/members/{user_id}",
            get(get_member)
                .put(add_member)
                .patch(update_member)
                .delete(kick_member),
        )
        .route(
            "/guilds/{guild_id}/members/{user_id}/roles/{role_id}",
            put(add_member_role).delete(remove_member_role),
        )
        .route("/guilds/{guild_id}/bans", get(list_bans))
        .route(
            "/guilds/{guild_id}/bans/{user_id}",
            get(get_ban).put(ban_user).delete(unban_user),
        )
        .route("/guilds/{guild_id}/bulk-ban", post(bulk_ban))
        .route("/guilds/{guild_id}/prune", get(prune_count).post(prune))
        .route("/guilds/{guild_id}/audit-logs", get(audit_logs))
        .route(
            "/guilds/{guild_id}/emojis",
            get(list_emojis).post(create_emoji),
        )
        .route(
            "/guilds/{guild_id}/emojis/{emoji_id}",
            get(get_emoji).patch(update_emoji).delete(delete_emoji),
        )
        .route(
            "/guilds/{guild_id}/stickers",
            get(list_stickers).post(create_sticker),
        )
        .route(
            "/guilds/{guild_id}/stickers/{sticker_id}",
            get(get_sticker)
                .patch(update_sticker)
                .delete(delete_sticker),
        )
        .route(
            "/guilds/{guild_id}/welcome-screen",
            get(get_welcome_screen).patch(update_welcome_screen),
        )
        .route(
            "/guilds/{guild_id}/onboarding",
            get(get_onboarding).put(update_onboarding),
        )
        .route(
            "/guilds/{guild_id}/scheduled-events",
            get(list_scheduled_events).post(create_scheduled_event),
        )
        .route(
            "/guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}",
            get(get_scheduled_event)
                .patch(update_scheduled_event)
                .delete(delete_scheduled_event),
        )
        .route("/channels/{channel_id}/threads", post(create_thread))
        .route(
            "/channels/{channel_id}/threads/archived/public",
            get(archived_public_threads),
        )
        .route("/guilds/{guild_id}/threads/active", get(active_threads))
        .route(
            "/guilds/{guild_id}/auto-moderation/rules",
            get(list_automod_rules).post(create_automod_rule),
        )
        .route(
            "/guilds/{guild_id}/auto-moderation/rules/{rule_id}",
            get(get_automod_rule)
                .patch(update_automod_rule)
                .delete(delete_automod_rule),
        )
        .route("/guilds/{guild_id}/webhooks", get(guild_webhooks))
        .route("/guilds/{guild_id}/incident-actions", put(incident_actions))
        .route(
            "/channels/{channel_id}",
            get(get_channel)
                .patch(update_channel)
                .delete(delete_channel),
        )
        .route(
            "/channels/{channel_id}/permissions/{overwrite_id}",
            put(put_overwrite).delete(delete_overwrite),
        )
        .route(
            "/channels/{channel_id}/messages",
            get(list_messages).post(create_message),
        )
        .route(
            "/channels/{channel_id}/messages/{message_id}",
            get(get_message).patch(edit_message).delete(delete_message),
        )
        // Pins: the deprecated routes and their replacements.
        .route("/channels/{channel_id}/pins", get(list_pins_deprecated))
        .route(
            "/channels/{channel_id}/pins/{message_id}",
            put(pin_message).delete(unpin_message),
        )
        .route("/channels/{channel_id}/messages/pins", get(list_pins))
        .route(
            "/channels/{channel_id}/messages/pins/{message_id}",
            put(pin_message).delete(unpin_message),
        )
        .route(
            "/channels/{channel_id}/webhooks",
            get(channel_webhooks).post(create_webhook),
        )
}

/// Non-API pages: the OAuth2 authorize page and attachment downloads.
pub fn site_routes() -> Router<Arc<Inner>> {
    Router::new()
        .route(
            "/oauth2/authorize",
            get(oauth_pages::authorize_page).post(oauth_pages::authorize_submit),
        )
        .route(
            "/attachments/{channel_id}/{attachment_id}/{filename}",
            get(handlers::download_attachment),
        )
        // cdn.discordapp.com: custom emoji images (`{id}.png`, `{id}.gif`, `{id}.webp`).
        .route("/emojis/{file}", get(handlers::emoji_image))
        .route("/stickers/{file}", get(handlers::sticker_image))
        // cdn.discordapp.com: guild and role images (`{hash}.png`), while in use.
        .route(
            "/icons/{owner}/{file}",
            get(|s, p| handlers::cdn_image(s, p, "icons")),
        )
        .route(
            "/banners/{owner}/{file}",
            get(|s, p| handlers::cdn_image(s, p, "banners")),
        )
        .route(
            "/splashes/{owner}/{file}",
            get(|s, p| handlers::cdn_image(s, p, "splashes")),
        )
        .route(
            "/discovery-splashes/{owner}/{file}",
            get(|s, p| handlers::cdn_image(s, p, "discovery-splashes")),
        )
        .route(
            "/role-icons/{owner}/{file}",
            get(|s, p| handlers::cdn_image(s, p, "role-icons")),
        )
        // A scheduled event's cover (`/guild-events/{event_id}/{hash}.png`).
        .route(
            "/guild-events/{owner}/{file}",
            get(|s, p| handlers::cdn_image(s, p, "guild-events")),
        )
        // A webhook's or a user's avatar (`/avatars/{id}/{hash}.png`).
        .route(
            "/avatars/{owner}/{file}",
            get(|s, p| handlers::cdn_image(s, p, "avatars")),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_parts_are_split_with_names_filenames_and_bytes() {
        let body = b"--b\r\nContent-Disposition: form-data; name=\"payload_json\"\r\n\r\n{\"a\":1}\r\n--b\r\nContent-Disposition: form-data; name=\"files[0]\"; filename=\"x.json\"\r\nContent-Type: application/json\r\n\r\n{}\r\n--b--\r\n";
        let parts = parse_multipart("multipart/form-data; boundary=b", body).expect("parsed");
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].0, "payload_json");
        assert_eq!(parts[0].3, b"{\"a\":1}");
        assert_eq!(parts[1].1.as_deref(), Some("x.json"));
        assert_eq!(parts[1].2.as_deref(), Some("application/json"));
        assert_eq!(parts[1].3, b"{}");
    }

    #[test]
    fn malformed_multipart_and_queries_never_panic() {
        let cases: [&[u8]; 7] = [
            b"",
            b"--b",
            b"--b\r\n\r\n--b--",
            b"--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n--b--",
            b"--b\r\nno header end",
            b"garbage --b garbage",
            b"--b\r\nContent-Disposition: form-data\r\n\r\n\r\n--b\r\n",
        ];
        for c in cases {
            let _ = parse_multipart("multipart/form-data; boundary=b", c);
            let _ = parse_multipart("multipart/form-data", c);
        }
        for q in [
            "",
            "&",
            "&&limit=",
            "a=%zz&b=%E0%A4%A",
            "=x&y",
            "limit=1&limit=2",
        ] {
            let _ = parse_query(q);
        }
        assert_eq!(
            parse_query("?&limit=100".trim_start_matches('?')),
            vec![("limit".to_string(), "100".to_string())]
        );
    }
}
