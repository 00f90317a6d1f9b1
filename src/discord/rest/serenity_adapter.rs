//! Purpose: the production adapter of the REST port — serenity's `Http` (its per-bucket rate
//! limiter and 429 retries stay on) behind the process-wide [`Pacer`]. Built before the Discord
//! client (the services are), connected to the client's `Http` once it exists; until then every
//! call answers `NotConnected`. A route serenity 0.12 does not know (the onboarding) is sent by
//! a plain HTTP client with the same token, after the same pacer, its 429s waited out here.

use std::sync::Arc;

use async_trait::async_trait;
use poise::serenity_prelude as serenity;
use serde_json::Value;
use serenity::http::{LightMethod, Request, Route};

use super::{DiscordRest, Endpoint, Method, Pacer, RateHeaders, RestAnswer, RestCall, RestError};

pub struct SerenityRest {
    http: std::sync::OnceLock<Arc<serenity::Http>>,
    pacer: Arc<Pacer>,
    /// For the routes serenity has no `Route` for (see [`raw_path`]); reaches `discord.com`
    /// as serenity's client does (the emulator with its CA in tests).
    raw: reqwest::Client,
}

/// A 429 on a raw route is waited out this many times before the call fails (transient).
const RAW_RETRIES: u32 = 5;

impl SerenityRest {
    pub fn new(pacer: Arc<Pacer>, raw: reqwest::Client) -> Self {
        Self {
            http: std::sync::OnceLock::new(),
            pacer,
            raw,
        }
    }

    /// Uses the Discord client's `Http` from now on (its rate limiter is the client's).
    pub fn connect(&self, http: Arc<serenity::Http>) {
        let _ = self.http.set(http);
    }
}

fn snowflake<T: From<std::num::NonZeroU64>>(id: u64) -> T {
    T::from(std::num::NonZeroU64::new(id).unwrap_or(std::num::NonZeroU64::MIN))
}

/// The path (after `/api/v10/`) of a route serenity 0.12 has no `Route` for.
fn raw_path(endpoint: &Endpoint) -> Option<String> {
    match endpoint {
        Endpoint::GuildOnboarding(g) => Some(format!("guilds/{g}/onboarding")),
        // serenity's multipart names every attachment `files[0]`: a message with several
        // files goes raw (`files[n]`), and so does every webhook execution, for one path.
        Endpoint::WebhookExecute(w, token) => Some(format!("webhooks/{w}/{token}")),
        _ => None,
    }
}

fn route(endpoint: &Endpoint, application: u64) -> Route<'_> {
    use Endpoint as E;
    match *endpoint {
        // Sent by `send_raw` (see `raw_path`); never reaches serenity.
        E::GuildOnboarding(g) => Route::Guild {
            guild_id: snowflake(g),
        },
        E::Guild(g) => Route::Guild {
            guild_id: snowflake(g),
        },
        E::GuildRoles(g) => Route::GuildRoles {
            guild_id: snowflake(g),
        },
        E::GuildRole(g, r) => Route::GuildRole {
            guild_id: snowflake(g),
            role_id: snowflake(r),
        },
        E::GuildChannels(g) => Route::GuildChannels {
            guild_id: snowflake(g),
        },
        E::Channel(c) => Route::Channel {
            channel_id: snowflake(c),
        },
        E::GuildMembers(g) => Route::GuildMembers {
            guild_id: snowflake(g),
        },
        E::GuildMember(g, u) => Route::GuildMember {
            guild_id: snowflake(g),
            user_id: snowflake(u),
        },
        E::GuildMemberRole(g, u, r) => Route::GuildMemberRole {
            guild_id: snowflake(g),
            user_id: snowflake(u),
            role_id: snowflake(r),
        },
        E::GuildBans(g) => Route::GuildBans {
            guild_id: snowflake(g),
        },
        E::GuildBan(g, u) => Route::GuildBan {
            guild_id: snowflake(g),
            user_id: snowflake(u),
        },
        E::GuildEmojis(g) => Route::GuildEmojis {
            guild_id: snowflake(g),
        },
        E::GuildEmoji(g, e) => Route::GuildEmoji {
            guild_id: snowflake(g),
            emoji_id: snowflake(e),
        },
        E::GuildStickers(g) => Route::GuildStickers {
            guild_id: snowflake(g),
        },
        E::GuildSticker(g, s) => Route::GuildSticker {
            guild_id: snowflake(g),
            sticker_id: snowflake(s),
        },
        E::ChannelThreads(c) => Route::ChannelThreads {
            channel_id: snowflake(c),
        },
        E::ChannelArchivedThreads(c) => Route::ChannelArchivedPublicThreads {
            channel_id: snowflake(c),
        },
        E::GuildActiveThreads(g) => Route::GuildThreadsActive {
            guild_id: snowflake(g),
        },
        E::GuildWelcomeScreen(g) => Route::GuildWelcomeScreen {
            guild_id: snowflake(g),
        },
        E::GuildWebhooks(g) => Route::GuildWebhooks {
            guild_id: snowflake(g),
        },
        E::ChannelWebhooks(c) => Route::ChannelWebhooks {
            channel_id: snowflake(c),
        },
        E::GuildScheduledEvents(g) => Route::GuildScheduledEvents {
            guild_id: snowflake(g),
        },
        E::GuildScheduledEvent(g, e) => Route::GuildScheduledEvent {
            guild_id: snowflake(g),
            event_id: snowflake(e),
        },
        E::GuildAutoModRules(g) => Route::GuildAutomodRules {
            guild_id: snowflake(g),
        },
        E::GuildAutoModRule(g, r) => Route::GuildAutomodRule {
            guild_id: snowflake(g),
            rule_id: snowflake(r),
        },
        E::GuildAuditLogs(g) => Route::GuildAuditLogs {
            guild_id: snowflake(g),
        },
        E::GuildIncidentActions(g) => Route::GuildIncidentActions {
            guild_id: snowflake(g),
        },
        E::Webhook(w) => Route::Webhook {
            webhook_id: snowflake(w),
        },
        E::DmChannels => Route::UserMeDmChannels,
        E::ChannelMessages(c) => Route::ChannelMessages {
            channel_id: snowflake(c),
        },
        E::ChannelMessage(c, m) => Route::ChannelMessage {
            channel_id: snowflake(c),
            message_id: snowflake(m),
        },
        E::ChannelPin(c, m) => Route::ChannelPin {
            channel_id: snowflake(c),
            message_id: snowflake(m),
        },
        E::WebhookExecute(w, ref token) => Route::WebhookWithToken {
            webhook_id: snowflake(w),
            token,
        },
        E::CurrentApplication => Route::Oauth2ApplicationCurrent,
        E::OriginalResponse(ref token) => Route::WebhookOriginalInteractionResponse {
            application_id: snowflake(application),
            token,
        },
    }
}

/// The reason header value, percent-encoded as Discord expects.
fn reason_header(reason: &str) -> Option<reqwest::header::HeaderMap> {
    let mut encoded = String::with_capacity(reason.len() * 3);
    for b in reason.bytes() {
        if b.is_ascii_alphanumeric() {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    let value = reqwest::header::HeaderValue::from_str(&encoded).ok()?;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("X-Audit-Log-Reason", value);
    Some(headers)
}

fn rate_of(h: &reqwest::header::HeaderMap) -> Option<RateHeaders> {
    let get = |name: &str| h.get(name).and_then(|v| v.to_str().ok());
    Some(RateHeaders {
        bucket: get("x-ratelimit-bucket").map(str::to_owned),
        remaining: get("x-ratelimit-remaining")?.parse().ok()?,
        reset: get("x-ratelimit-reset")?.parse().ok()?,
        reset_after: get("x-ratelimit-reset-after")?.parse().ok()?,
    })
}

fn error_of(e: serenity::Error) -> RestError {
    match e {
        serenity::Error::Http(serenity::HttpError::UnsuccessfulRequest(r)) => {
            let status = r.status_code.as_u16();
            if status >= 500 {
                RestError::Transient(format!("Discord answered {status}"))
            } else {
                RestError::Refused {
                    status,
                    code: r.error.code,
                    message: r.error.message.clone(),
                }
            }
        }
        serenity::Error::Http(serenity::HttpError::Request(e)) => {
            RestError::Transient(e.without_url().to_string())
        }
        other => RestError::Transient(other.to_string()),
    }
}

/// The body of an answer (`Null` when empty or 204).
fn body_of(status: u16, bytes: &[u8]) -> Result<Value, RestError> {
    if status == 204 || bytes.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(bytes).map_err(|e| RestError::Transient(e.to_string()))
}

impl SerenityRest {
    /// A call on a route serenity does not know: the same token, pacer and audit reason; a 429
    /// is waited out (its `retry_after`) up to [`RAW_RETRIES`] times; a 4xx is `Refused` with
    /// Discord's code, a 5xx or a network failure `Transient`.
    async fn send_raw(
        &self,
        http: &serenity::Http,
        call: &RestCall,
        path: &str,
    ) -> Result<RestAnswer, RestError> {
        let base = http
            .proxy
            .as_deref()
            .unwrap_or("https://discord.com")
            .trim_end_matches('/');
        let url = format!("{base}/api/v10/{path}");
        let method = match call.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut request = self
                .raw
                .request(method.clone(), &url)
                .header(reqwest::header::AUTHORIZATION, http.token())
                .query(&call.query);
            if let Some(headers) = call.reason.as_deref().and_then(reason_header) {
                request = request.headers(headers);
            }
            if !call.attachments.is_empty() {
                let mut form = reqwest::multipart::Form::new().text(
                    "payload_json",
                    call.body
                        .as_ref()
                        .map_or_else(|| "{}".to_owned(), Value::to_string),
                );
                for (i, f) in call.attachments.iter().enumerate() {
                    form = form.part(
                        format!("files[{i}]"),
                        reqwest::multipart::Part::bytes(f.bytes.clone())
                            .file_name(f.filename.clone()),
                    );
                }
                request = request.multipart(form);
            } else if let Some(body) = &call.body {
                request = request.json(body);
            }
            self.pacer.acquire(call.priority).await;
            let response = request
                .send()
                .await
                .map_err(|e| RestError::Transient(e.without_url().to_string()))?;
            let status = response.status().as_u16();
            let rate = rate_of(response.headers());
            let bytes = response
                .bytes()
                .await
                .map_err(|e| RestError::Transient(e.without_url().to_string()))?;
            let body = body_of(status, &bytes).unwrap_or(Value::Null);
            match status {
                200..=299 => {
                    return Ok(RestAnswer {
                        status,
                        body: body_of(status, &bytes)?,
                        rate,
                    });
                }
                429 if attempt < RAW_RETRIES => {
                    let wait = body
                        .get("retry_after")
                        .and_then(Value::as_f64)
                        .unwrap_or(1.0)
                        .clamp(0.0, 60.0);
                    tokio::time::sleep(std::time::Duration::from_secs_f64(wait)).await;
                }
                400..=499 => {
                    return Err(RestError::Refused {
                        status,
                        code: body.get("code").and_then(Value::as_i64).unwrap_or(0) as isize,
                        message: body
                            .get("message")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                    });
                }
                _ => return Err(RestError::Transient(format!("Discord answered {status}"))),
            }
        }
    }
}

#[async_trait]
impl DiscordRest for SerenityRest {
    async fn send(&self, call: RestCall) -> Result<RestAnswer, RestError> {
        let Some(http) = self.http.get() else {
            return Err(RestError::NotConnected);
        };
        if let Some(path) = raw_path(&call.endpoint) {
            return self.send_raw(http, &call, &path).await;
        }
        let bytes = match &call.body {
            Some(b) => {
                Some(serde_json::to_vec(b).map_err(|e| RestError::Transient(e.to_string()))?)
            }
            None => None,
        };
        let method = match call.method {
            Method::Get => LightMethod::Get,
            Method::Post => LightMethod::Post,
            Method::Put => LightMethod::Put,
            Method::Patch => LightMethod::Patch,
            Method::Delete => LightMethod::Delete,
        };
        let application = http.application_id().map_or(0, |a| a.get());
        let mut request = Request::new(route(&call.endpoint, application), method)
            .body(bytes)
            .headers(call.reason.as_deref().and_then(reason_header));
        if !call.query.is_empty() {
            request = request.params(Some(call.query.clone()));
        }
        if let Some(file) = &call.file {
            request = request
                .body(None)
                .multipart(Some(serenity::http::Multipart {
                    upload: serenity::http::MultipartUpload::File(
                        serenity::CreateAttachment::bytes(
                            file.bytes.clone(),
                            file.filename.clone(),
                        ),
                    ),
                    fields: file
                        .fields
                        .iter()
                        .map(|(k, v)| (k.clone().into(), v.clone().into()))
                        .collect(),
                    payload_json: None,
                }));
        }
        self.pacer.acquire(call.priority).await;
        let response = http.request(request).await.map_err(error_of)?;
        let status = response.status().as_u16();
        let rate = rate_of(response.headers());
        if status == 204 {
            return Ok(RestAnswer {
                status,
                body: Value::Null,
                rate,
            });
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| RestError::Transient(e.to_string()))?;
        let body = body_of(status, &bytes)?;
        Ok(RestAnswer { status, body, rate })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_log_reasons_are_percent_encoded_as_discord_expects() {
        let header = reason_header("umbra:restore:0123456789ab:7").expect("a header");
        let value = header
            .get("X-Audit-Log-Reason")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(value.starts_with("umbra%3Arestore%3A"), "{value}");
        assert!(
            reason_header("Umbra AntiNuke: 한국어").is_some(),
            "any UTF-8 is encoded"
        );
    }
}
