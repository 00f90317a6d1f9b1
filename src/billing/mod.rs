//! Purpose: the billing domain (seed domain `billing`: billing keys, subscriptions, payment
//! attempts) — the Toss Payments adapter ([`toss`]: the API calls and the charge protocol that
//! never charges twice), the rules ([`model`]: order ids, dunning), the only writer of
//! `billing.*` (`persistence`), and the use cases ([`service`]: register a card, subscribe, the
//! renewal worker with dunning and expiry, cancel at period end). Not built yet (issue 14 stays
//! open): the `/billing` commands, the web card page and Plan page purchases, payment webhooks,
//! refunds from the operator page, owner receipts by DM; until they are,
//! `billing.provider = "toss"` is refused at start-up.

pub mod commands;
pub mod model;
mod persistence;
pub use persistence::Failing;
pub mod service;
pub mod toss;

pub use model::{Attempt, Status, Subscription};
pub use persistence::QUEUE;
pub use service::{BillingError, BillingService, BillingSettings, Charged, PlanChange};

use std::sync::Arc;
use std::time::Duration;

use crate::config::{Config, Secrets};
use crate::db::crypto::Keyring;
use crate::guild::GuildReader;
use crate::licensing::PlanReader;

/// The billing service `billing.provider` asks for (`None`: "none", no payments), built with
/// the ports it uses. With "toss", a missing secret refuses to start and names it.
pub fn from_config(
    config: &Config,
    secrets: &Secrets,
    keyring: Option<&Arc<Keyring>>,
    pool: &sqlx::PgPool,
    plans: Arc<dyn PlanReader>,
    guilds: Arc<dyn GuildReader>,
) -> anyhow::Result<Option<BillingService>> {
    if config.billing.provider != "toss" {
        return Ok(None);
    }
    let Some(secret) = &secrets.toss_secret_key else {
        anyhow::bail!(
            "billing.provider = \"toss\" needs TOSS_SECRET_KEY (Toss's secret key, test_sk_... or \
             live_sk_...) in the environment; set it, or set billing.provider = \"none\""
        );
    };
    let live = config.billing.toss.client_key.starts_with("live_ck_");
    let secret_live = secret.expose().starts_with("live_sk_");
    if !(secret.expose().starts_with("test_sk_") || secret_live) || live != secret_live {
        anyhow::bail!(
            "TOSS_SECRET_KEY must be Toss's secret key of the same mode as \
             billing.toss.client_key (test_sk_ with test_ck_, live_sk_ with live_ck_)"
        );
    }
    let Some(keyring) = keyring else {
        anyhow::bail!(
            "billing.provider = \"toss\" needs UMBRA_SECRET_KEY: billing keys are stored \
             encrypted (`openssl rand -base64 32`)"
        );
    };
    if secrets.client_secret.is_none() {
        anyhow::bail!(
            "billing.provider = \"toss\" needs DISCORD_CLIENT_SECRET: cards are registered on the \
             web, by the logged-in owner"
        );
    }
    let toss = toss::TossClient::new(
        &config.billing.toss.api_url,
        secret,
        Duration::from_secs(config.billing.toss.timeout_seconds),
    )?;
    Ok(Some(BillingService::new(
        pool.clone(),
        keyring.clone(),
        toss,
        plans,
        guilds,
        BillingSettings {
            dunning_days: config.billing.dunning_days.clone(),
            grace_days: config.billing.grace_days,
            poll: Duration::from_secs(config.billing.renewal_poll_seconds.max(1)),
            lease: Duration::from_secs(config.billing.lease_seconds.max(1)),
            security_key: secrets.toss_security_key.clone(),
            ..BillingSettings::default()
        },
    )))
}
