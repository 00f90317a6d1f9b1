//! Purpose: the running emulator: shared `Inner` (state, limiter, logs), the axum router with
//! the rate-limit/recording middleware, and the plain-HTTP and TLS listeners.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State as AxState};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::config::EmulatorConfig;
use crate::ratelimit::{BucketHeaders, Decision, Limited, RateLimiter};
use crate::state::State;

/// One REST request as the emulator saw it.
#[derive(Debug, Clone, Serialize)]
pub struct RequestRecord {
    pub method: String,
    /// Route template relative to `/api/v10` (e.g. `/guilds/{guild_id}/roles`).
    pub route: String,
    pub path: String,
    pub status: u16,
    /// The request's audit-log reason, decoded.
    pub reason: Option<String>,
    pub bucket: Option<String>,
    #[serde(skip)]
    pub received: Instant,
    #[serde(skip)]
    pub answered: Instant,
}

/// One REST response kept for spec validation (`record_responses`).
#[derive(Debug, Clone, Serialize)]
pub struct RecordedResponse {
    pub method: String,
    pub route: String,
    pub path: String,
    pub status: u16,
    pub body: Option<Value>,
}

/// Limiter and logs of the HTTP side (own lock, separate from the world state).
#[derive(Debug)]
pub struct HttpSide {
    pub limiter: RateLimiter,
    pub requests: Vec<RequestRecord>,
    pub responses: Vec<RecordedResponse>,
    /// Answers held back after the request took effect (tests: "the call landed, its answer
    /// did not", e.g. a client killed in between).
    pub holds: Vec<Hold>,
}

/// Holds the answer of matching requests for `delay` after they took effect.
#[derive(Debug, Clone)]
pub struct Hold {
    pub method: String,
    /// A part of the route template (e.g. `/members/{user_id}`).
    pub route_contains: String,
    /// A part of the audit-log reason (`None`: any).
    pub reason_contains: Option<String>,
    pub delay: std::time::Duration,
    /// Instead of answering late: fail this many matching requests with this status (the
    /// request takes no effect), then answer normally.
    pub fail: Option<(u16, usize)>,
}

impl Hold {
    fn matches(&self, method: &str, route: &str, reason: Option<&str>) -> bool {
        self.method.eq_ignore_ascii_case(method)
            && route.contains(&self.route_contains)
            && self
                .reason_contains
                .as_deref()
                .is_none_or(|want| reason.is_some_and(|r| r.contains(want)))
    }
}

/// Everything shared by handlers, the gateway and the control API.
pub struct Inner {
    pub state: Mutex<State>,
    pub http: Mutex<HttpSide>,
    pub config: Arc<EmulatorConfig>,
    pub shutdown: watch::Sender<bool>,
    pub http_addr: SocketAddr,
    pub tls_addr: SocketAddr,
    pub ca_pem: String,
    pub ca_path: PathBuf,
    pub ca_dir: Option<PathBuf>,
    /// When the emulator started (origin of the `*_ms` times of the HTTP control API).
    pub started: Instant,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(dir) = &self.ca_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Strips the API prefix of a route template (`/api/v10`, `/api/v9`, `/api`).
pub fn api_route(template: &str) -> &str {
    for p in ["/api/v10", "/api/v9", "/api"] {
        if let Some(rest) = template.strip_prefix(p)
            && rest.starts_with('/')
        {
            return rest;
        }
    }
    template
}

/// Path parameters by name, from a matched template and the concrete path.
///
/// Both sides are taken relative to the API prefix first: inside the nested `/api/v10` router
/// axum's `MatchedPath` still carries the prefix (`/api/v10/guilds/{guild_id}/...`) while the
/// request URI has it stripped (`/guilds/1/...`). Zipping them as they come shifted every
/// parameter by two segments, so the limiter keyed buckets by the wrong value: a member edit
/// by the user id (one bucket per member instead of per guild), a role edit by the role id,
/// and every `/channels/{channel_id}` route by nothing (one bucket for all channels).
pub fn path_params(template: &str, path: &str) -> Vec<(String, String)> {
    api_route(template)
        .split('/')
        .zip(api_route(path).split('/'))
        .filter_map(|(t, v)| {
            t.strip_prefix('{')
                .and_then(|t| t.strip_suffix('}'))
                .map(|name| {
                    let decoded = percent_encoding::percent_decode_str(v)
                        .decode_utf8_lossy()
                        .into_owned();
                    (name.trim_start_matches('*').to_string(), decoded)
                })
        })
        .collect()
}

fn set_header(h: &mut HeaderMap, name: &'static str, value: String) {
    if let Ok(v) = HeaderValue::from_str(&value) {
        h.insert(name, v);
    }
}

fn add_bucket_headers(h: &mut HeaderMap, b: &BucketHeaders) {
    set_header(h, "x-ratelimit-limit", b.limit.to_string());
    set_header(h, "x-ratelimit-remaining", b.remaining.to_string());
    set_header(h, "x-ratelimit-reset", format!("{:.3}", b.reset));
    set_header(
        h,
        "x-ratelimit-reset-after",
        format!("{:.3}", b.reset_after),
    );
    set_header(h, "x-ratelimit-bucket", b.bucket.clone());
}

fn limited_response(l: &Limited) -> Response {
    let body = json!({ "message": l.message, "retry_after": l.retry_after, "global": l.global, "code": 0 });
    let mut resp = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
    let h = resp.headers_mut();
    set_header(h, "retry-after", format!("{:.3}", l.retry_after));
    set_header(h, "x-ratelimit-scope", l.scope.to_string());
    if l.global {
        set_header(h, "x-ratelimit-global", "true".to_string());
    }
    if let Some(b) = &l.headers {
        add_bucket_headers(h, b);
    }
    resp
}

/// Rate limits, request log, counters and response recording for every API route.
pub async fn api_middleware(
    AxState(inner): AxState<Arc<Inner>>,
    matched: Option<MatchedPath>,
    req: Request,
    next: Next,
) -> Response {
    let received = Instant::now();
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let template = matched
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| path.clone());
    let route = api_route(&template).to_string();
    let params = path_params(&template, &path);
    let token = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|t| t.trim().trim_start_matches("Bot ").trim().to_string())
        .unwrap_or_default();
    let reason = req
        .headers()
        .get("x-audit-log-reason")
        .and_then(|v| v.to_str().ok())
        .map(|r| {
            percent_encoding::percent_decode_str(r)
                .decode_utf8_lossy()
                .into_owned()
        });
    let (decision, bucket) = {
        let mut http = inner.http.lock();
        let d = http
            .limiter
            .check(&method, &route, &params, &token, received);
        let b = http.limiter.bucket_name(&method, &route);
        (d, b)
    };
    let failure = {
        let mut http = inner.http.lock();
        http.holds
            .iter_mut()
            .find(|h| {
                h.fail.is_some_and(|(_, n)| n > 0) && h.matches(&method, &route, reason.as_deref())
            })
            .and_then(|h| {
                let (status, left) = h.fail?;
                h.fail = Some((status, left - 1));
                Some(status)
            })
    };
    let (mut resp, global) = match &decision {
        Decision::Limited(l) => (limited_response(l), l.global),
        Decision::Allowed(_) if failure.is_some() => {
            let status = failure
                .and_then(|s| StatusCode::from_u16(s).ok())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let body = json!({ "message": "Internal Server Error", "code": 0 });
            ((status, axum::Json(body)).into_response(), false)
        }
        Decision::Allowed(h) => {
            let mut r = next.run(req).await;
            if let Some(h) = h {
                add_bucket_headers(r.headers_mut(), h);
            }
            let hold = inner
                .http
                .lock()
                .holds
                .iter()
                .find(|h| h.fail.is_none() && h.matches(&method, &route, reason.as_deref()))
                .map(|h| h.delay);
            if let Some(delay) = hold {
                tokio::time::sleep(delay).await;
            }
            (r, false)
        }
    };
    let status = resp.status().as_u16();
    let mut recorded_body = None;
    // A failure injected by a test is not an answer of Discord's to validate.
    let record = inner.config.record_responses && failure.is_none();
    if record {
        let (parts, body) = resp.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX)
            .await
            .unwrap_or_default();
        let is_json = parts
            .headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.starts_with("application/json"));
        if is_json {
            recorded_body = serde_json::from_slice::<Value>(&bytes).ok();
        }
        resp = Response::from_parts(parts, Body::from(bytes));
    }
    let answered = Instant::now();
    let mut http = inner.http.lock();
    http.limiter
        .record(&method, &route, bucket.as_deref(), status, global, answered);
    if record {
        http.responses.push(RecordedResponse {
            method: method.clone(),
            route: route.clone(),
            path: path.clone(),
            status,
            body: recorded_body,
        });
    }
    http.requests.push(RequestRecord {
        method,
        route,
        path,
        status,
        reason,
        bucket,
        received,
        answered,
    });
    resp
}

/// The full router: API under `/api/v10`, `/api/v9` and `/api`, the gateway, OAuth2 pages,
/// attachments and the control API.
pub fn router(inner: Arc<Inner>) -> Router {
    let api = || {
        crate::rest::api_routes()
            .route_layer(axum::middleware::from_fn_with_state(
                inner.clone(),
                api_middleware,
            ))
            .method_not_allowed_fallback(|| async { crate::error::ApiError::method_not_allowed() })
    };
    Router::new()
        .nest("/api/v10", api())
        .nest("/api/v9", api())
        .nest("/api", api())
        .route("/gateway", axum::routing::get(crate::gateway::ws_handler))
        .route("/", axum::routing::get(crate::gateway::ws_handler))
        .merge(crate::rest::site_routes())
        .merge(crate::control::control_routes())
        .fallback(|| async { crate::error::ApiError::not_found() })
        .with_state(inner)
}

/// Removes CA directories left by emulator processes that no longer run (test processes
/// exit without dropping their emulator). Linux only (`/proc`); best effort.
fn remove_stale_ca_dirs() {
    if !std::path::Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix("discord-emulator-") else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// Binds both listeners, builds `Inner` and serves until shutdown.
pub async fn start(config: EmulatorConfig) -> anyhow::Result<Arc<Inner>> {
    let config = Arc::new(config);
    let http_listener =
        tokio::net::TcpListener::bind(SocketAddr::new(config.bind_ip, config.http_port))
            .await
            .context("binding the HTTP listener")?;
    let tls_tcp = tokio::net::TcpListener::bind(SocketAddr::new(config.bind_ip, config.tls_port))
        .await
        .context("binding the TLS listener")?;
    let http_addr = http_listener.local_addr()?;
    let tls_addr = tls_tcp.local_addr()?;
    let pki = crate::tls::generate()?;
    let dir = std::env::temp_dir().join(format!(
        "discord-emulator-{}-{}",
        std::process::id(),
        http_addr.port()
    ));
    remove_stale_ca_dirs();
    std::fs::create_dir_all(&dir).context("creating the CA directory")?;
    let ca_path = dir.join("ca.pem");
    std::fs::write(&ca_path, &pki.ca_pem).context("writing the CA certificate")?;
    let mut state = State::new(config.clone());
    state.base_url = format!("http://{http_addr}");
    state.gateway_url = format!("ws://{http_addr}/gateway");
    let (shutdown, _) = watch::channel(false);
    let inner = Arc::new(Inner {
        state: Mutex::new(state),
        http: Mutex::new(HttpSide {
            holds: Vec::new(),
            limiter: RateLimiter::new(config.rate_limits.clone(), config.time_scale),
            requests: Vec::new(),
            responses: Vec::new(),
        }),
        config: config.clone(),
        shutdown,
        http_addr,
        tls_addr,
        ca_pem: pki.ca_pem.clone(),
        ca_path,
        ca_dir: Some(dir),
        started: Instant::now(),
    });
    let app = router(inner.clone());
    let mut rx1 = inner.shutdown.subscribe();
    let app1 = app.clone();
    tokio::spawn(async move {
        let _ = axum::serve(http_listener, app1)
            .with_graceful_shutdown(async move {
                let _ = rx1.wait_for(|v| *v).await;
            })
            .await;
    });
    let tls_listener = crate::tls::TlsListener::new(tls_tcp, pki.server_config)?;
    let mut rx2 = inner.shutdown.subscribe();
    tokio::spawn(async move {
        let _ = axum::serve(tls_listener, app)
            .with_graceful_shutdown(async move {
                let _ = rx2.wait_for(|v| *v).await;
            })
            .await;
    });
    // Housekeeping: expire interaction deadlines (wakes waiting handles) and old sessions.
    let weak = Arc::downgrade(&inner);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(100));
        loop {
            tick.tick().await;
            let Some(inner) = weak.upgrade() else { break };
            if *inner.shutdown.borrow() {
                break;
            }
            let mut st = inner.state.lock();
            st.expire_interactions();
            st.expire_sessions();
        }
    });
    Ok(inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn path_params_align_a_prefixed_template_with_a_stripped_path() {
        // What the middleware sees inside the nested `/api/v10` router.
        let p = path_params(
            "/api/v10/guilds/{guild_id}/members/{user_id}",
            "/guilds/1/members/2",
        );
        assert_eq!(get(&p, "guild_id"), Some("1"));
        assert_eq!(get(&p, "user_id"), Some("2"));
        let p = path_params("/api/v10/channels/{channel_id}", "/channels/7");
        assert_eq!(get(&p, "channel_id"), Some("7"));
        let p = path_params(
            "/api/v10/webhooks/{webhook_id}/{webhook_token}",
            "/webhooks/3/tok",
        );
        assert_eq!(
            (get(&p, "webhook_id"), get(&p, "webhook_token")),
            (Some("3"), Some("tok"))
        );
        // Both prefixed, or neither, give the same answer.
        for (t, path) in [
            (
                "/api/v10/guilds/{guild_id}/roles/{role_id}",
                "/api/v10/guilds/1/roles/5",
            ),
            ("/guilds/{guild_id}/roles/{role_id}", "/guilds/1/roles/5"),
            (
                "/api/guilds/{guild_id}/roles/{role_id}",
                "/guilds/1/roles/5",
            ),
        ] {
            let p = path_params(t, path);
            assert_eq!(
                (get(&p, "guild_id"), get(&p, "role_id")),
                (Some("1"), Some("5")),
                "{t}"
            );
        }
    }

    /// One request over plain HTTP/1.1; the answer's status and `x-ratelimit-*` headers.
    async fn send(addr: SocketAddr, method: &str, path: &str, token: &str) -> (u16, String) {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let req = format!(
            "{method} /api/v10{path} HTTP/1.1\r\nHost: discord.com\r\nAuthorization: Bot {token}\r\n\
             Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
        );
        s.write_all(req.as_bytes()).await.expect("write");
        let mut out = String::new();
        s.read_to_string(&mut out).await.expect("read");
        let status = out
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let headers = out
            .lines()
            .filter(|l| l.to_ascii_lowercase().starts_with("x-ratelimit-"))
            .map(|l| l.to_ascii_lowercase())
            .collect::<Vec<_>>()
            .join("\n");
        (status, headers)
    }

    fn remaining(headers: &str) -> Option<u32> {
        headers
            .lines()
            .find_map(|l| l.strip_prefix("x-ratelimit-remaining:"))
            .and_then(|v| v.trim().parse().ok())
    }

    #[tokio::test]
    async fn buckets_are_keyed_by_the_major_parameter_through_the_router() {
        let emu = crate::control::Emulator::start(EmulatorConfig::default())
            .await
            .expect("emulator");
        let f = emu.build_fixture(&crate::fixtures::FixtureSpec::small());
        let (addr, token, g) = (emu.http_addr(), f.app.bot_token.clone(), f.guild_id);
        // Member edits of DIFFERENT members of one guild share the guild's bucket (10 per 10 s).
        let mut statuses = Vec::new();
        for (i, u) in f.member_ids.iter().take(11).enumerate() {
            let (status, h) =
                send(addr, "PATCH", &format!("/guilds/{g}/members/{u}"), &token).await;
            if i < 10 {
                assert_eq!(status, 200, "{h}");
                assert_eq!(remaining(&h), Some(9 - i as u32), "{h}");
            }
            statuses.push(status);
        }
        assert_eq!(
            statuses.last(),
            Some(&429),
            "the 11th member edit of the guild"
        );
        // Edits of different channels do not share a bucket (5 per 5 s per channel).
        for c in f.channel_ids.iter().take(6) {
            let (status, h) = send(addr, "PATCH", &format!("/channels/{c}"), &token).await;
            assert_eq!((status, remaining(&h)), (200, Some(4)), "{h}");
        }
        emu.shutdown();
    }
}
