//! Purpose: the emulator's configuration (limits, time scale, gateway timings, recording).

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use crate::ratelimit::RateLimitConfig;

/// Everything configurable. `Default` = Discord-shaped limits at real time.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// REST rate limits (buckets, global, budgets).
    pub rate_limits: RateLimitConfig,
    /// Rate-limit windows, budgets and the member-chunk cooldown are divided by this
    /// (e.g. 3600 = one hour of Discord limits per emulated second).
    pub time_scale: f64,
    /// How long a bot has for the initial interaction response (Discord: 3 s). Not scaled.
    pub interaction_deadline: Duration,
    /// How long interaction tokens accept follow-ups and edits (Discord: 15 min). Not scaled.
    pub interaction_token_ttl: Duration,
    /// A full REQUEST_GUILD_MEMBERS is allowed once per guild per this (Discord: 30 s). Scaled.
    pub member_chunk_cooldown: Duration,
    /// Members per GUILD_MEMBERS_CHUNK (Discord: 1000).
    pub member_chunk_size: usize,
    /// Gateway heartbeat interval sent in HELLO (Discord: 41.25 s).
    pub heartbeat_interval: Duration,
    /// A disconnected session can be resumed for this long.
    pub resume_window: Duration,
    /// Dispatches kept per session for RESUME replay.
    pub resume_buffer_limit: usize,
    /// Members included in GUILD_CREATE; above it the guild is `large` (Discord: 250 max).
    pub large_threshold: usize,
    /// Record every REST response body (for spec validation).
    pub record_responses: bool,
    /// Keep the JSON payload of every dispatch in the dispatch log.
    pub record_dispatch_payloads: bool,
    /// Address both listeners bind to.
    pub bind_ip: IpAddr,
    /// Plain HTTP (REST + gateway) port; 0 = any free port.
    pub http_port: u16,
    /// TLS (`discord.com`) port; 0 = any free port.
    pub tls_port: u16,
    /// Roles per guild, excluding @everyone (Discord: 250).
    pub max_roles: usize,
    /// Channels per guild including categories (Discord: 500).
    pub max_channels: usize,
    /// Channels per category (Discord: 50).
    pub max_channels_per_category: usize,
    /// Guilds a user can be in (Discord: 200 with Nitro; 100 without).
    pub max_guilds_per_user: usize,
    /// Webhooks per channel (Discord: 15).
    pub max_webhooks_per_channel: usize,
    /// User ids per bulk-ban request (Discord: 200).
    pub max_bulk_ban: usize,
    /// OAuth2 access-token lifetime (Discord: 7 days). Not scaled.
    pub oauth_access_token_ttl: Duration,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            rate_limits: RateLimitConfig::discord(),
            time_scale: 1.0,
            interaction_deadline: Duration::from_secs(3),
            interaction_token_ttl: Duration::from_secs(15 * 60),
            member_chunk_cooldown: Duration::from_secs(30),
            member_chunk_size: 1000,
            heartbeat_interval: Duration::from_millis(41_250),
            resume_window: Duration::from_secs(120),
            resume_buffer_limit: 100_000,
            large_threshold: 250,
            record_responses: false,
            record_dispatch_payloads: true,
            bind_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            http_port: 0,
            tls_port: 0,
            max_roles: 250,
            max_channels: 500,
            max_channels_per_category: 50,
            max_guilds_per_user: 200,
            max_webhooks_per_channel: 15,
            max_bulk_ban: 200,
            oauth_access_token_ttl: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

impl EmulatorConfig {
    /// Functional-test preset: no 429s, responses recorded for spec validation.
    pub fn unlimited() -> Self {
        Self {
            rate_limits: RateLimitConfig::unlimited(),
            record_responses: true,
            ..Self::default()
        }
    }

    /// A duration divided by the time scale.
    pub fn scaled(&self, d: Duration) -> Duration {
        if self.time_scale > 0.0 && self.time_scale.is_finite() {
            d.div_f64(self.time_scale)
        } else {
            d
        }
    }
}
