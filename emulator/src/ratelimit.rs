//! Purpose: Discord-shaped REST rate limits: per-route buckets keyed by major parameter and
//! token, a global per-token limit, the invalid-request limit, their headers, and per-route
//! counters. Pure data in [`RateLimitConfig`] so benchmarks can compute theoretical minima.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Serde helper: a `Duration` as fractional seconds.
pub mod duration_secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let secs = f64::deserialize(d)?;
        Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom)
    }
}

/// One per-route bucket rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BucketRule {
    /// Bucket name (also hashed into `X-RateLimit-Bucket`).
    pub name: String,
    /// HTTP methods the rule applies to (upper case); empty = every method.
    pub methods: Vec<String>,
    /// Route templates as in Discord's OpenAPI spec, relative to `/api/v10`
    /// (e.g. `/guilds/{guild_id}/roles`). Several routes may share one bucket.
    pub routes: Vec<String>,
    /// The path parameter that keys the bucket (Discord's "major parameter"): `guild_id`,
    /// `channel_id`, `webhook_id`, `application_id`; None = one bucket per token.
    pub major: Option<String>,
    /// Requests allowed per window.
    pub limit: u32,
    /// Window length (before time scaling).
    #[serde(with = "duration_secs")]
    pub window: Duration,
    /// Where the number comes from ("documented", "observed", "assumed").
    pub source: String,
}

impl BucketRule {
    fn new(
        name: &str,
        methods: &[&str],
        routes: &[&str],
        major: Option<&str>,
        limit: u32,
        window_secs: u64,
        source: &str,
    ) -> Self {
        Self {
            name: name.to_string(),
            methods: methods.iter().map(|m| m.to_string()).collect(),
            routes: routes.iter().map(|r| r.to_string()).collect(),
            major: major.map(str::to_string),
            limit,
            window: Duration::from_secs(window_secs),
            source: source.to_string(),
        }
    }

    fn matches(&self, method: &str, route: &str) -> bool {
        (self.methods.is_empty() || self.methods.iter().any(|m| m.eq_ignore_ascii_case(method)))
            && self.routes.iter().any(|r| r == route)
    }
}

/// A budget: at most `limit` events per sliding `window`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    pub limit: u32,
    #[serde(with = "duration_secs")]
    pub window: Duration,
    pub source: String,
}

/// The fallback bucket for routes without a rule (per route, method and major parameter).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FallbackRule {
    pub limit: u32,
    #[serde(with = "duration_secs")]
    pub window: Duration,
}

/// Every rate-limit number the emulator enforces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateLimitConfig {
    /// Master switch: false = no 429s at all (headers are still sent).
    pub enabled: bool,
    /// Requests per second per token across all routes (Discord: 50).
    pub global_per_second: Option<u32>,
    /// Routes not counted against the global limit (interaction callbacks).
    pub global_exempt_routes: Vec<String>,
    /// Per-route buckets; the first matching rule wins.
    pub rules: Vec<BucketRule>,
    /// Bucket for routes no rule matches; None = no bucket (no headers) for them.
    pub fallback: Option<FallbackRule>,
    /// Role creations per guild (observed ≈ 250 per 48 h).
    pub role_create_budget: Option<Budget>,
    /// Channel name/topic edits per channel (observed 2 per 10 min).
    pub channel_rename_budget: Option<Budget>,
    /// Invalid (401/403/429) responses per address before a temporary block
    /// (documented: 10,000 per 10 min).
    pub invalid_request_limit: Option<Budget>,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self::discord()
    }
}

const INTERACTION_CALLBACK: &str = "/interactions/{interaction_id}/{interaction_token}/callback";

impl RateLimitConfig {
    /// Discord-shaped limits (see the crate README for every number's source).
    pub fn discord() -> Self {
        let r = BucketRule::new;
        let member = "/guilds/{guild_id}/members/{user_id}";
        let member_role = "/guilds/{guild_id}/members/{user_id}/roles/{role_id}";
        Self {
            enabled: true,
            global_per_second: Some(50),
            global_exempt_routes: vec![INTERACTION_CALLBACK.to_string()],
            rules: vec![
                r(
                    "role_create",
                    &["POST"],
                    &["/guilds/{guild_id}/roles"],
                    Some("guild_id"),
                    10,
                    10,
                    "assumed",
                ),
                r(
                    "role_edit",
                    &["PATCH"],
                    &["/guilds/{guild_id}/roles/{role_id}"],
                    Some("guild_id"),
                    10,
                    10,
                    "assumed",
                ),
                r(
                    "role_delete",
                    &["DELETE"],
                    &["/guilds/{guild_id}/roles/{role_id}"],
                    Some("guild_id"),
                    10,
                    10,
                    "assumed",
                ),
                r(
                    "role_positions",
                    &["PATCH"],
                    &["/guilds/{guild_id}/roles"],
                    Some("guild_id"),
                    10,
                    10,
                    "assumed",
                ),
                r(
                    "channel_create",
                    &["POST"],
                    &["/guilds/{guild_id}/channels"],
                    Some("guild_id"),
                    10,
                    10,
                    "assumed",
                ),
                r(
                    "channel_positions",
                    &["PATCH"],
                    &["/guilds/{guild_id}/channels"],
                    Some("guild_id"),
                    10,
                    10,
                    "assumed",
                ),
                r(
                    "channel_edit",
                    &["PATCH"],
                    &["/channels/{channel_id}"],
                    Some("channel_id"),
                    5,
                    5,
                    "observed",
                ),
                r(
                    "channel_delete",
                    &["DELETE"],
                    &["/channels/{channel_id}"],
                    Some("channel_id"),
                    5,
                    5,
                    "observed",
                ),
                r(
                    "overwrite_edit",
                    &["PUT", "DELETE"],
                    &["/channels/{channel_id}/permissions/{overwrite_id}"],
                    Some("channel_id"),
                    5,
                    5,
                    "assumed",
                ),
                r(
                    "member_edit",
                    &[],
                    &[member, member_role],
                    Some("guild_id"),
                    10,
                    10,
                    "observed",
                ),
                r(
                    "ban",
                    &["PUT", "DELETE"],
                    &["/guilds/{guild_id}/bans/{user_id}"],
                    Some("guild_id"),
                    5,
                    5,
                    "assumed",
                ),
                r(
                    "bulk_ban",
                    &["POST"],
                    &["/guilds/{guild_id}/bulk-ban"],
                    Some("guild_id"),
                    1,
                    10,
                    "assumed",
                ),
                r(
                    "guild_edit",
                    &["PATCH"],
                    &["/guilds/{guild_id}"],
                    Some("guild_id"),
                    5,
                    5,
                    "assumed",
                ),
                r(
                    "member_list",
                    &["GET"],
                    &["/guilds/{guild_id}/members"],
                    Some("guild_id"),
                    10,
                    10,
                    "observed",
                ),
                r(
                    "audit_log",
                    &["GET"],
                    &["/guilds/{guild_id}/audit-logs"],
                    Some("guild_id"),
                    5,
                    5,
                    "assumed",
                ),
                r(
                    "message_create",
                    &["POST"],
                    &["/channels/{channel_id}/messages"],
                    Some("channel_id"),
                    5,
                    5,
                    "documented example",
                ),
                r(
                    "dm_create",
                    &["POST"],
                    &["/users/@me/channels"],
                    None,
                    10,
                    10,
                    "assumed",
                ),
                r(
                    "webhook_execute",
                    &["POST"],
                    &["/webhooks/{webhook_id}/{webhook_token}"],
                    Some("webhook_id"),
                    5,
                    2,
                    "observed",
                ),
                r(
                    "webhook_create",
                    &["POST"],
                    &["/channels/{channel_id}/webhooks"],
                    Some("channel_id"),
                    5,
                    5,
                    "assumed",
                ),
                r(
                    "thread_create",
                    &["POST"],
                    &["/channels/{channel_id}/threads"],
                    Some("channel_id"),
                    5,
                    5,
                    "assumed",
                ),
                r(
                    "event_edit",
                    &["POST", "PATCH", "DELETE"],
                    &[
                        "/guilds/{guild_id}/scheduled-events",
                        "/guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}",
                    ],
                    Some("guild_id"),
                    5,
                    5,
                    "assumed",
                ),
                r(
                    "automod_edit",
                    &["POST", "PATCH", "DELETE"],
                    &[
                        "/guilds/{guild_id}/auto-moderation/rules",
                        "/guilds/{guild_id}/auto-moderation/rules/{rule_id}",
                    ],
                    Some("guild_id"),
                    5,
                    5,
                    "assumed",
                ),
                r(
                    "sticker_edit",
                    &["POST", "PATCH", "DELETE"],
                    &[
                        "/guilds/{guild_id}/stickers",
                        "/guilds/{guild_id}/stickers/{sticker_id}",
                    ],
                    Some("guild_id"),
                    5,
                    5,
                    "assumed",
                ),
                r(
                    "emoji_edit",
                    &["POST", "PATCH", "DELETE"],
                    &[
                        "/guilds/{guild_id}/emojis",
                        "/guilds/{guild_id}/emojis/{emoji_id}",
                    ],
                    Some("guild_id"),
                    5,
                    5,
                    "assumed",
                ),
                r(
                    "commands_bulk",
                    &["PUT"],
                    &[
                        "/applications/{application_id}/commands",
                        "/applications/{application_id}/guilds/{guild_id}/commands",
                    ],
                    Some("application_id"),
                    2,
                    60,
                    "assumed",
                ),
                r(
                    "incident_actions",
                    &["PUT"],
                    &["/guilds/{guild_id}/incident-actions"],
                    Some("guild_id"),
                    5,
                    5,
                    "assumed",
                ),
            ],
            fallback: Some(FallbackRule {
                limit: 50,
                window: Duration::from_secs(1),
            }),
            role_create_budget: Some(Budget {
                limit: 250,
                window: Duration::from_secs(48 * 3600),
                source: "observed".to_string(),
            }),
            channel_rename_budget: Some(Budget {
                limit: 2,
                window: Duration::from_secs(600),
                source: "observed (Discord staff statements)".to_string(),
            }),
            invalid_request_limit: Some(Budget {
                limit: 10_000,
                window: Duration::from_secs(600),
                source: "documented".to_string(),
            }),
        }
    }

    /// No limits at all (functional tests); headers are still sent.
    pub fn unlimited() -> Self {
        Self {
            enabled: false,
            global_per_second: None,
            global_exempt_routes: vec![INTERACTION_CALLBACK.to_string()],
            rules: Self::discord().rules,
            fallback: Some(FallbackRule {
                limit: 50,
                window: Duration::from_secs(1),
            }),
            role_create_budget: None,
            channel_rename_budget: None,
            invalid_request_limit: None,
        }
    }

    /// The rule that applies to a request (first match).
    pub fn rule_for(&self, method: &str, route: &str) -> Option<&BucketRule> {
        self.rules.iter().find(|r| r.matches(method, route))
    }

    /// Theoretical minimum wall time of a set of calls `(method, route template, major value)`
    /// issued by one token at the rate-limit floor, given a time scale.
    pub fn theoretical_minimum<'a>(
        &self,
        calls: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>,
        time_scale: f64,
    ) -> Duration {
        let scale = if time_scale > 0.0 { time_scale } else { 1.0 };
        let mut groups: HashMap<(String, String), (u32, Duration, u64)> = HashMap::new();
        let mut global_calls = 0u64;
        let mut role_creates: HashMap<String, u64> = HashMap::new();
        for (method, route, major) in calls {
            if !self.global_exempt_routes.iter().any(|r| r == route) {
                global_calls += 1;
            }
            let (key, limit, window) = match self.rule_for(method, route) {
                Some(rule) => (rule.name.clone(), rule.limit, rule.window),
                None => match &self.fallback {
                    Some(f) => (format!("{method} {route}"), f.limit, f.window),
                    None => continue,
                },
            };
            let entry = groups
                .entry((key, major.to_string()))
                .or_insert((limit, window, 0));
            entry.2 += 1;
            if method.eq_ignore_ascii_case("POST") && route == "/guilds/{guild_id}/roles" {
                *role_creates.entry(major.to_string()).or_default() += 1;
            }
        }
        let mut worst = Duration::ZERO;
        for (limit, window, n) in groups.values() {
            let waits = (n.saturating_sub(1)) / u64::from((*limit).max(1));
            worst = worst.max(window.mul_f64(waits as f64));
        }
        if let Some(g) = self.global_per_second {
            let waits = global_calls.saturating_sub(1) / u64::from(g.max(1));
            worst = worst.max(Duration::from_secs(waits));
        }
        if let Some(b) = &self.role_create_budget {
            for n in role_creates.values() {
                let waits = n.saturating_sub(1) / u64::from(b.limit.max(1));
                worst = worst.max(b.window.mul_f64(waits as f64));
            }
        }
        worst.div_f64(scale)
    }
}

/// Requests and 429s of one route or bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counter {
    pub requests: u64,
    pub rate_limited: u64,
}

/// Request counters, readable by tests and benchmarks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Keyed by `"METHOD /route/{template}"`.
    pub by_route: BTreeMap<String, Counter>,
    /// Keyed by bucket name (`global` for global 429s).
    pub by_bucket: BTreeMap<String, Counter>,
    pub total: Counter,
    /// 401/403/429 responses.
    pub invalid: u64,
}

impl Counters {
    /// The counter of one route, e.g. `route("POST", "/guilds/{guild_id}/roles")`.
    pub fn route(&self, method: &str, route: &str) -> Counter {
        self.by_route
            .get(&format!("{method} {route}"))
            .copied()
            .unwrap_or_default()
    }
}

/// Rate-limit headers of an answered request.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketHeaders {
    pub limit: u32,
    pub remaining: u32,
    /// Unix time (seconds) when the bucket resets.
    pub reset: f64,
    /// Seconds until the bucket resets.
    pub reset_after: f64,
    /// Opaque bucket id.
    pub bucket: String,
}

/// Why a request was refused with 429.
#[derive(Debug, Clone, PartialEq)]
pub struct Limited {
    pub retry_after: f64,
    pub global: bool,
    /// `X-RateLimit-Scope`: `user`, `global` or `shared`.
    pub scope: &'static str,
    pub headers: Option<BucketHeaders>,
    pub message: &'static str,
}

/// The limiter's answer for one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Allowed(Option<BucketHeaders>),
    Limited(Limited),
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    count: u32,
}

/// The mutable limiter (one per emulator).
#[derive(Debug)]
pub struct RateLimiter {
    config: RateLimitConfig,
    scale: f64,
    buckets: HashMap<(String, String, u64), Window>,
    global: HashMap<u64, Window>,
    invalid: Option<Window>,
    pub counters: Counters,
}

/// The bucket key of a major parameter. A webhook is keyed by id and token together (as
/// Discord does), so interaction follow-ups of different interactions do not share a bucket.
fn major_value(major: &str, params: &[(String, String)]) -> String {
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    match (major, get(major), get("webhook_token")) {
        ("webhook_id", Some(id), Some(token)) => format!("{id}/{token}"),
        (_, Some(v), _) => v.to_string(),
        _ => String::new(),
    }
}

/// `t + d` without overflow (a huge configured window means "never").
pub(crate) fn later(t: Instant, d: Duration) -> Instant {
    t.checked_add(d)
        .or_else(|| t.checked_add(Duration::from_secs(100 * 365 * 24 * 3600)))
        .unwrap_or(t)
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).ceil() / 1000.0
}

fn hash_str(s: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

impl RateLimiter {
    pub fn new(config: RateLimitConfig, time_scale: f64) -> Self {
        let scale = if time_scale > 0.0 && time_scale.is_finite() {
            time_scale
        } else {
            1.0
        };
        Self {
            config,
            scale,
            buckets: HashMap::new(),
            global: HashMap::new(),
            invalid: None,
            counters: Counters::default(),
        }
    }

    pub fn config(&self) -> &RateLimitConfig {
        &self.config
    }

    fn scaled(&self, d: Duration) -> Duration {
        d.div_f64(self.scale)
    }

    /// Decides on one request. `params` are the path parameters by name; `token` identifies
    /// the caller (Authorization header).
    pub fn check(
        &mut self,
        method: &str,
        route: &str,
        params: &[(String, String)],
        token: &str,
        now: Instant,
    ) -> Decision {
        let token_key = hash_str(token);
        // Temporary block after too many invalid requests.
        if let (Some(b), Some(w)) = (&self.config.invalid_request_limit, self.invalid) {
            let window = self.scaled(b.window);
            if now < later(w.start, window) && w.count >= b.limit && self.config.enabled {
                let retry = (later(w.start, window))
                    .saturating_duration_since(now)
                    .as_secs_f64();
                return Decision::Limited(Limited {
                    retry_after: round3(retry),
                    global: false,
                    scope: "shared",
                    headers: None,
                    message: "You are being blocked from accessing our API temporarily due to exceeding our rate limits frequently.",
                });
            }
        }
        // Global limit.
        if let Some(per_sec) = self.config.global_per_second
            && !self.config.global_exempt_routes.iter().any(|r| r == route)
        {
            let window = self.scaled(Duration::from_secs(1));
            let w = self.global.entry(token_key).or_insert(Window {
                start: now,
                count: 0,
            });
            if now >= later(w.start, window) {
                *w = Window {
                    start: now,
                    count: 0,
                };
            }
            if w.count >= per_sec && self.config.enabled {
                let retry = (later(w.start, window))
                    .saturating_duration_since(now)
                    .as_secs_f64();
                return Decision::Limited(Limited {
                    retry_after: round3(retry.max(0.001)),
                    global: true,
                    scope: "global",
                    headers: None,
                    message: "You are being rate limited.",
                });
            }
            w.count += 1;
        }
        // Per-route bucket.
        let (bucket_name, limit, window, major) = match self.config.rule_for(method, route) {
            Some(rule) => {
                let major = rule
                    .major
                    .as_deref()
                    .map(|m| major_value(m, params))
                    .unwrap_or_default();
                (rule.name.clone(), rule.limit, rule.window, major)
            }
            None => match &self.config.fallback {
                Some(f) => {
                    let major = [
                        "guild_id",
                        "channel_id",
                        "webhook_id",
                        "application_id",
                        "interaction_id",
                    ]
                    .iter()
                    .find(|m| params.iter().any(|(k, _)| k == *m))
                    .map(|m| major_value(m, params))
                    .unwrap_or_default();
                    (format!("{method} {route}"), f.limit, f.window, major)
                }
                None => return Decision::Allowed(None),
            },
        };
        let window = self.scaled(window);
        let key = (bucket_name.clone(), major.clone(), token_key);
        let w = self.buckets.entry(key).or_insert(Window {
            start: now,
            count: 0,
        });
        if now >= later(w.start, window) {
            *w = Window {
                start: now,
                count: 0,
            };
        }
        let reset_at = later(w.start, window);
        let reset_after = reset_at.saturating_duration_since(now).as_secs_f64();
        // Unix time of `now` (not of this line: a request may have waited for the limiter's
        // lock since it was received), so that `X-RateLimit-Reset` is the same in every answer
        // of one window, as Discord's is.
        let unix_now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .saturating_sub(Instant::now().saturating_duration_since(now))
            .as_secs_f64();
        let bucket_id = format!("{:016x}", hash_str(&format!("{bucket_name}:{major}")));
        if w.count >= limit && self.config.enabled {
            let headers = BucketHeaders {
                limit,
                remaining: 0,
                reset: round3(unix_now + reset_after),
                reset_after: round3(reset_after),
                bucket: bucket_id,
            };
            return Decision::Limited(Limited {
                retry_after: round3(reset_after.max(0.001)),
                global: false,
                scope: "user",
                headers: Some(headers),
                message: "You are being rate limited.",
            });
        }
        w.count += 1;
        Decision::Allowed(Some(BucketHeaders {
            limit,
            remaining: limit.saturating_sub(w.count),
            reset: round3(unix_now + reset_after),
            reset_after: round3(reset_after),
            bucket: bucket_id,
        }))
    }

    /// Records the outcome of a request in the counters and the invalid-request window.
    pub fn record(
        &mut self,
        method: &str,
        route: &str,
        bucket: Option<&str>,
        status: u16,
        global: bool,
        now: Instant,
    ) {
        let limited = status == 429;
        let bump = |c: &mut Counter| {
            c.requests += 1;
            if limited {
                c.rate_limited += 1;
            }
        };
        bump(
            self.counters
                .by_route
                .entry(format!("{method} {route}"))
                .or_default(),
        );
        if global && limited {
            bump(
                self.counters
                    .by_bucket
                    .entry("global".to_string())
                    .or_default(),
            );
        } else if let Some(b) = bucket {
            bump(self.counters.by_bucket.entry(b.to_string()).or_default());
        }
        bump(&mut self.counters.total);
        if matches!(status, 401 | 403 | 429) {
            self.counters.invalid += 1;
            if let Some(b) = &self.config.invalid_request_limit {
                let window = b.window.div_f64(self.scale);
                let w = self.invalid.get_or_insert(Window {
                    start: now,
                    count: 0,
                });
                if now >= later(w.start, window) {
                    *w = Window {
                        start: now,
                        count: 0,
                    };
                }
                w.count += 1;
            }
        }
    }

    /// The bucket name a request falls into (for counters).
    pub fn bucket_name(&self, method: &str, route: &str) -> Option<String> {
        match self.config.rule_for(method, route) {
            Some(r) => Some(r.name.clone()),
            None => self
                .config
                .fallback
                .as_ref()
                .map(|_| format!("{method} {route}")),
        }
    }

    /// Checks a sliding-window budget given the event times; returns seconds to wait if full.
    pub fn budget_wait(
        &self,
        budget: &Budget,
        times: &mut std::collections::VecDeque<Instant>,
        now: Instant,
    ) -> Option<f64> {
        if !self.config.enabled {
            return None;
        }
        let window = self.scaled(budget.window);
        while times
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= window)
        {
            times.pop_front();
        }
        if times.len() >= budget.limit as usize {
            let oldest = times.front().copied().unwrap_or(now);
            Some(round3(
                later(oldest, window)
                    .saturating_duration_since(now)
                    .as_secs_f64()
                    .max(0.001),
            ))
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(g: &str) -> Vec<(String, String)> {
        vec![("guild_id".to_string(), g.to_string())]
    }

    #[test]
    fn a_bucket_allows_its_limit_then_answers_429_until_the_window_resets() {
        let mut cfg = RateLimitConfig::discord();
        cfg.global_per_second = None;
        let mut rl = RateLimiter::new(cfg, 1.0);
        let now = Instant::now();
        for i in 0..10 {
            match rl.check("POST", "/guilds/{guild_id}/roles", &params("1"), "t", now) {
                Decision::Allowed(Some(h)) => assert_eq!(h.remaining, 9 - i),
                other => panic!("expected allowed, got {other:?}"),
            }
        }
        let Decision::Limited(l) =
            rl.check("POST", "/guilds/{guild_id}/roles", &params("1"), "t", now)
        else {
            panic!("expected a 429");
        };
        assert!(!l.global);
        assert!(l.retry_after > 9.0 && l.retry_after <= 10.0);
        // Another guild is another bucket.
        assert!(matches!(
            rl.check("POST", "/guilds/{guild_id}/roles", &params("2"), "t", now),
            Decision::Allowed(_)
        ));
        // After the window the bucket is fresh.
        let later = now + Duration::from_secs(11);
        assert!(matches!(
            rl.check("POST", "/guilds/{guild_id}/roles", &params("1"), "t", later),
            Decision::Allowed(_)
        ));
    }

    #[test]
    fn the_global_limit_counts_every_route_of_a_token_but_not_interaction_callbacks() {
        let mut rl = RateLimiter::new(RateLimitConfig::discord(), 1.0);
        let now = Instant::now();
        for i in 0..50 {
            let g = i.to_string();
            assert!(matches!(
                rl.check("GET", "/guilds/{guild_id}", &params(&g), "t", now),
                Decision::Allowed(_)
            ));
        }
        let Decision::Limited(l) = rl.check("GET", "/guilds/{guild_id}", &params("99"), "t", now)
        else {
            panic!("expected a global 429");
        };
        assert!(l.global);
        assert_eq!(l.scope, "global");
        assert!(matches!(
            rl.check("POST", INTERACTION_CALLBACK, &[], "t", now),
            Decision::Allowed(_)
        ));
        // Another token has its own global budget.
        assert!(matches!(
            rl.check("GET", "/guilds/{guild_id}", &params("1"), "u", now),
            Decision::Allowed(_)
        ));
    }

    #[test]
    fn follow_ups_of_different_interactions_do_not_share_a_bucket() {
        let mut cfg = RateLimitConfig::discord();
        cfg.global_per_second = None;
        let mut rl = RateLimiter::new(cfg, 1.0);
        let now = Instant::now();
        let route = "/webhooks/{webhook_id}/{webhook_token}";
        let p = |t: &str| {
            vec![
                ("webhook_id".to_string(), "1".to_string()),
                ("webhook_token".to_string(), t.to_string()),
            ]
        };
        for _ in 0..5 {
            assert!(matches!(
                rl.check("POST", route, &p("a"), "", now),
                Decision::Allowed(_)
            ));
        }
        assert!(matches!(
            rl.check("POST", route, &p("a"), "", now),
            Decision::Limited(_)
        ));
        assert!(matches!(
            rl.check("POST", route, &p("b"), "", now),
            Decision::Allowed(_)
        ));
    }

    #[test]
    fn every_answer_of_a_window_names_the_same_reset_time() {
        let mut cfg = RateLimitConfig::discord();
        cfg.global_per_second = None;
        let mut rl = RateLimiter::new(cfg, 1.0);
        let start = Instant::now();
        let mut resets = Vec::new();
        for i in 0..5u64 {
            // Received at different moments, checked later (after waiting for the lock).
            let received = start + Duration::from_millis(i);
            std::thread::sleep(Duration::from_millis(3));
            match rl.check(
                "POST",
                "/guilds/{guild_id}/roles",
                &params("1"),
                "t",
                received,
            ) {
                Decision::Allowed(Some(h)) => resets.push(h.reset),
                other => panic!("expected allowed, got {other:?}"),
            }
        }
        let spread = resets.iter().copied().fold(f64::MIN, f64::max)
            - resets.iter().copied().fold(f64::MAX, f64::min);
        assert!(spread <= 0.0015, "{resets:?}");
    }

    #[test]
    fn time_scale_divides_windows() {
        let mut cfg = RateLimitConfig::discord();
        cfg.global_per_second = None;
        let mut rl = RateLimiter::new(cfg, 100.0);
        let now = Instant::now();
        for _ in 0..10 {
            let _ = rl.check("POST", "/guilds/{guild_id}/roles", &params("1"), "t", now);
        }
        let Decision::Limited(l) =
            rl.check("POST", "/guilds/{guild_id}/roles", &params("1"), "t", now)
        else {
            panic!("expected a 429");
        };
        assert!(l.retry_after <= 0.1 + 1e-9, "{}", l.retry_after);
    }

    #[test]
    fn theoretical_minimum_is_bound_by_the_slowest_bucket() {
        let cfg = RateLimitConfig::discord();
        let calls: Vec<(&str, &str, &str)> = (0..21)
            .map(|_| ("POST", "/guilds/{guild_id}/roles", "1"))
            .collect();
        // 21 creates at 10 per 10 s = two full waits.
        assert_eq!(
            cfg.theoretical_minimum(calls.clone(), 1.0),
            Duration::from_secs(20)
        );
        assert_eq!(cfg.theoretical_minimum(calls, 10.0), Duration::from_secs(2));
    }

    #[test]
    fn a_budget_refuses_beyond_its_limit_inside_the_window() {
        let rl = RateLimiter::new(RateLimitConfig::discord(), 1.0);
        let b = Budget {
            limit: 2,
            window: Duration::from_secs(600),
            source: String::new(),
        };
        let now = Instant::now();
        let mut times = std::collections::VecDeque::from(vec![now, now]);
        let wait = rl.budget_wait(&b, &mut times, now).expect("full budget");
        assert!(wait > 599.0);
        assert!(
            rl.budget_wait(&b, &mut times, now + Duration::from_secs(601))
                .is_none()
        );
    }
}
