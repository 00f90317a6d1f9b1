//! Purpose: the billing domain (seed domain `billing`: billing keys, subscriptions, payment
//! attempts). So far it holds the Toss Payments adapter ([`toss`]): the API calls and the
//! charge protocol that never charges twice. Subscriptions, renewals, dunning, webhooks and the
//! `/billing` commands are not built yet (issue 14 stays open); until they are,
//! `billing.provider = "toss"` is refused at start-up.

pub mod toss;
