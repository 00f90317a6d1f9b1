//! Purpose: entities of the `webhook` schema: received external webhooks.

pub mod events;
