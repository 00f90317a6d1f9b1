//! Purpose: build serenity's HTTP client and gateway from config — discord.com by default, or
//! the local emulator (`discord.api_address` + `discord.ca_cert`) served as `https://discord.com`
//! with a test CA, so serenity's own rate limiter stays ON in both cases — and run the gateway
//! until shutdown, turning fatal closes into messages that say what to fix.

use std::sync::Arc;

use anyhow::Context as _;
use poise::serenity_prelude as serenity;
use serenity::{GatewayError, GatewayIntents};
use tokio::sync::watch;

use crate::config::{Config, Secret};

/// The gateway intents Umbra needs. GUILD_MEMBERS is privileged: enable "Server Members Intent"
/// in the developer portal.
pub fn intents() -> GatewayIntents {
    GatewayIntents::GUILDS
        | GatewayIntents::GUILD_MEMBERS
        | GatewayIntents::GUILD_MODERATION
        | GatewayIntents::GUILD_WEBHOOKS
        | GatewayIntents::GUILD_EMOJIS_AND_STICKERS
        | GatewayIntents::AUTO_MODERATION_CONFIGURATION
        | GatewayIntents::GUILD_SCHEDULED_EVENTS
        | GatewayIntents::DIRECT_MESSAGES
}

/// What serenity's cache keeps: guilds and channels, without the global user list and without
/// members (but the bot's own). serenity's `Member` holds a whole `User`, ~900 bytes a member in
/// the cache: at 100,000 members ~90 MB, most of Umbra's memory. Umbra keeps what it reads of
/// members (role ids, bot flag) in its own index (`discord::members`), live sync takes members'
/// states from the events themselves, and a user is looked up by REST when needed.
/// (`cache_members` is Umbra's patch of serenity: `vendor/README.md`.)
pub fn cache_settings() -> serenity::cache::Settings {
    let mut settings = serenity::cache::Settings::default();
    settings.cache_users = false;
    settings.cache_members = false;
    settings
}

/// serenity's REST client for `token`: its default client for the real Discord, or one that
/// resolves `discord.com` to the emulator and trusts only the emulator's CA.
pub fn http(config: &Config, token: &Secret<String>) -> anyhow::Result<serenity::Http> {
    let mut builder = serenity::HttpBuilder::new(token.expose());
    if !config.discord.api_address.is_empty() {
        builder = builder.client(client_builder(config)?.build()?);
    }
    Ok(builder.build())
}

/// A client for `https://discord.com` outside serenity (the OAuth2 login): the real Discord,
/// or the emulator as `discord.com` with its CA. Never follows redirects.
pub fn reqwest_client(config: &Config) -> anyhow::Result<reqwest::Client> {
    client_builder(config)?
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(15))
        .build()
        .context("building the HTTP client for Discord")
}

fn client_builder(config: &Config) -> anyhow::Result<reqwest::ClientBuilder> {
    if config.discord.api_address.is_empty() {
        return Ok(reqwest::Client::builder().use_rustls_tls());
    }
    let addr: std::net::SocketAddr = config
        .discord
        .api_address
        .parse()
        .context("discord.api_address must be host:port")?;
    let pem = std::fs::read(&config.discord.ca_cert)
        .with_context(|| format!("reading discord.ca_cert {}", config.discord.ca_cert))?;
    let ca =
        reqwest::Certificate::from_pem(&pem).context("discord.ca_cert is not a PEM certificate")?;
    Ok(reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(ca)
        .resolve("discord.com", addr)
        .resolve("cdn.discordapp.com", addr))
}

/// Runs the gateway for this process's shard range until `shutdown` turns true. A fatal close
/// (bad token, disallowed intents) returns an error that says what to fix.
pub async fn run_gateway(
    mut client: serenity::Client,
    config: Arc<Config>,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let manager = client.shard_manager.clone();
    let [first, last] = config.discord.shard_range;
    let total = config.discord.total_shards;
    tokio::select! {
        // serenity's `start_shard_range` treats the range's end as INCLUSIVE (it boots
        // `end - start + 1` shards), matching our inclusive `discord.shard_range`.
        result = client.start_shard_range(first..last, total) => match result {
            Ok(()) => Err(anyhow::anyhow!("the Discord gateway stopped")),
            Err(e) => Err(explain(e)),
        },
        _ = async { while !*shutdown.borrow() { if shutdown.changed().await.is_err() { break; } } } => {
            manager.shutdown_all().await;
            Ok(())
        }
    }
}

/// Turns serenity's start-up and gateway errors into actionable messages.
pub fn explain(error: serenity::Error) -> anyhow::Error {
    match &error {
        serenity::Error::Gateway(GatewayError::InvalidAuthentication) => anyhow::anyhow!(
            "Discord rejected the bot token (gateway close 4004): DISCORD_TOKEN is wrong or was \
             reset. Copy a fresh one from the developer portal (your application -> Bot -> Reset \
             Token) and restart."
        ),
        serenity::Error::Gateway(GatewayError::DisallowedGatewayIntents) => anyhow::anyhow!(
            "Discord refused the privileged intent Umbra needs (gateway close 4014): enable \
             \"Server Members Intent\" in the developer portal (your application -> Bot -> \
             Privileged Gateway Intents) and restart."
        ),
        serenity::Error::Gateway(GatewayError::InvalidGatewayIntents) => anyhow::anyhow!(
            "Discord says the requested intents are invalid (gateway close 4013); this is a bug \
             in Umbra: please report it."
        ),
        serenity::Error::Http(http)
            if http.status_code() == Some(reqwest::StatusCode::UNAUTHORIZED) =>
        {
            anyhow::anyhow!(
                "Discord rejected the bot token (HTTP 401): DISCORD_TOKEN is wrong or was reset. \
                 Copy a fresh one from the developer portal (your application -> Bot -> Reset \
                 Token) and restart."
            )
        }
        _ => anyhow::Error::new(error).context("the Discord gateway failed"),
    }
}
