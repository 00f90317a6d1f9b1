//! Purpose: licenses that follow payments — the outbox consumer that turns the billing
//! domain's events into licenses: `subscription.activated` / `subscription.renewed` give (or
//! extend) the guild's license of the plan until the paid period's end plus the grace
//! (`license_until`), and `subscription.changed` (an upgrade) replaces it with the new plan's; `subscription.canceled` / `subscription.expired` end it. Idempotent (the
//! relay may deliver an event again).

use chrono::{DateTime, Utc};
use futures::FutureExt;
use futures::future::BoxFuture;

use super::LicensingService;
use crate::outbox::OutboxEvent;
use crate::outbox::relay::Consumer;

/// The consumer (named `licensing` in `events.outbox.delivered_to`).
#[derive(Clone)]
pub struct SubscriptionConsumer {
    licensing: LicensingService,
}

impl std::fmt::Debug for SubscriptionConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubscriptionConsumer")
            .finish_non_exhaustive()
    }
}

impl SubscriptionConsumer {
    pub fn new(licensing: LicensingService) -> Self {
        Self { licensing }
    }

    async fn apply(&self, event: &OutboxEvent) -> anyhow::Result<()> {
        use crate::billing::service::events;
        let Some(guild) = event.guild_discord_id.map(crate::ids::from_db) else {
            anyhow::bail!("{} without a guild", event.event_type);
        };
        match event.event_type.as_str() {
            events::SUBSCRIPTION_ACTIVATED
            | events::SUBSCRIPTION_RENEWED
            | events::SUBSCRIPTION_CHANGED => {
                let code = event.payload["plan"].as_str().unwrap_or_default();
                let until: DateTime<Utc> =
                    serde_json::from_value(event.payload["license_until"].clone())?;
                self.licensing.subscription_paid(guild, code, until).await?;
            }
            events::SUBSCRIPTION_CANCELED => {
                self.licensing
                    .subscription_ended(guild, "subscription cancelled")
                    .await?;
            }
            events::SUBSCRIPTION_EXPIRED => {
                self.licensing
                    .subscription_ended(guild, "subscription expired (unpaid)")
                    .await?;
            }
            _ => {}
        }
        Ok(())
    }
}

impl Consumer for SubscriptionConsumer {
    fn name(&self) -> &'static str {
        "licensing"
    }

    fn wants(&self, event_type: &str) -> bool {
        event_type.starts_with("subscription.")
    }

    fn handle<'a>(&'a self, event: &'a OutboxEvent) -> BoxFuture<'a, anyhow::Result<()>> {
        self.apply(event).boxed()
    }
}
