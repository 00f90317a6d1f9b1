//! Purpose: entities of the `events` schema: the transactional outbox.

pub mod outbox;
