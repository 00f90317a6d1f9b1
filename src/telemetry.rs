//! Purpose: logging set-up (tracing): human-readable text or JSON lines, filtered by
//! `log.level` (RUST_LOG, when set, wins).

use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat};

/// Never recorded, whatever the filter asks: serenity's HTTP spans may carry a request's body
/// (`#[instrument]` on its request), and a member pull's body holds the member's OAuth2
/// access token. Defence in depth (the pull's log test finds no token either way); serenity's
/// HTTP warnings still show.
const NEVER_RECORDED: &str = "serenity::http=warn";

/// The filter of `level` (a tracing filter such as `info,serenity=warn`), with
/// [`NEVER_RECORDED`] on top. An invalid level falls back to `info`.
pub fn filter(level: &str) -> EnvFilter {
    let filter = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"));
    match NEVER_RECORDED.parse() {
        Ok(d) => filter.add_directive(d),
        Err(_) => filter,
    }
}

/// Installs the global subscriber. Safe to call twice (the second call does nothing).
pub fn init(config: &LogConfig) {
    let level = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| config.level.clone());
    let filter = filter(&level);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match config.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
