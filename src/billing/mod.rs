//! Purpose: the billing domain (seed domain `billing`: billing keys, subscriptions, payment
//! attempts) — the Toss Payments adapter ([`toss`]: the API calls and the charge protocol that
//! never charges twice), the rules ([`model`]: order ids, dunning), the only writer of
//! `billing.*` (`persistence`), and the use cases ([`service`]: register a card, subscribe, the
//! renewal worker with dunning and expiry, cancel at period end). Not built yet (issue 14 stays
//! open): the `/billing` commands, the web card page and Plan page purchases, payment webhooks,
//! refunds from the operator page, owner receipts by DM; until they are,
//! `billing.provider = "toss"` is refused at start-up.

pub mod model;
mod persistence;
pub mod service;
pub mod toss;

pub use model::{Attempt, Status, Subscription};
pub use persistence::QUEUE;
pub use service::{BillingError, BillingService, BillingSettings, Charged};
