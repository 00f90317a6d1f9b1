//! Purpose: entities of the `billing` schema: billing keys, subscriptions and payment attempts.

pub mod billing_keys;
pub mod payment_attempts;
pub mod subscriptions;
