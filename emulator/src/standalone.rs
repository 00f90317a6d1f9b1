//! Purpose: what the standalone binary runs: start an emulator with a fixture and describe it
//! as one JSON object (the binary's first stdout line).

use serde_json::Value;

use crate::config::EmulatorConfig;
use crate::control::Emulator;
use crate::fixtures::{Fixture, FixtureSpec};
use crate::ratelimit::RateLimitConfig;

/// Options of the standalone emulator (the binary's flags).
#[derive(Debug, Clone, clap::Args)]
pub struct StandaloneOptions {
    /// Plain HTTP port (REST under /api/v10, gateway under /gateway); 0 = any free port.
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// TLS port serving `discord.com` with the generated CA; 0 = any free port.
    #[arg(long, default_value_t = 0)]
    pub tls_port: u16,
    /// Fixture guild to build: none, small or large.
    #[arg(long, default_value = "small")]
    pub fixture: String,
    /// Members of the fixture guild (default: the fixture's own).
    #[arg(long)]
    pub members: Option<usize>,
    /// Seed of the fixture.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Rate-limit windows are divided by this.
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
    /// Rate limits: discord or unlimited.
    #[arg(long, default_value = "discord")]
    pub rate_limits: String,
}

impl Default for StandaloneOptions {
    fn default() -> Self {
        Self {
            port: 0,
            tls_port: 0,
            fixture: "small".to_string(),
            members: None,
            seed: None,
            time_scale: 1.0,
            rate_limits: "discord".to_string(),
        }
    }
}

/// Starts the emulator and builds the fixture; returns it with the JSON description
/// (`http`, `gateway`, `tls`, `ca_cert`, `bot_token`, `application_id`, `guild_id`,
/// `owner_id`, ...).
pub async fn run_standalone(
    opts: &StandaloneOptions,
) -> anyhow::Result<(Emulator, Option<Fixture>, Value)> {
    let rate_limits = match opts.rate_limits.as_str() {
        "discord" => RateLimitConfig::discord(),
        "unlimited" => RateLimitConfig::unlimited(),
        other => anyhow::bail!("unknown --rate-limits {other:?} (discord or unlimited)"),
    };
    if !(opts.time_scale > 0.0 && opts.time_scale.is_finite()) {
        anyhow::bail!("--time-scale must be a positive number");
    }
    let config = EmulatorConfig {
        rate_limits,
        time_scale: opts.time_scale,
        http_port: opts.port,
        tls_port: opts.tls_port,
        ..EmulatorConfig::default()
    };
    let emu = Emulator::start(config).await?;
    let spec = match opts.fixture.as_str() {
        "none" => None,
        "small" => Some(FixtureSpec::small()),
        "large" => Some(FixtureSpec::large()),
        other => anyhow::bail!("unknown --fixture {other:?} (none, small or large)"),
    };
    let fixture = spec.map(|mut s| {
        if let Some(m) = opts.members {
            s.members = m.min(100_000);
        }
        if let Some(seed) = opts.seed {
            s.seed = seed;
        }
        emu.build_fixture(&s)
    });
    let info = emu.info(fixture.as_ref());
    Ok((emu, fixture, info))
}
