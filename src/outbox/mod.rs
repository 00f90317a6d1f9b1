//! Purpose: the transactional outbox (DESIGN.md §4, §8). A domain appends an event inside its
//! own transaction ([`append`]); the [`relay::Relay`] claims unpublished events in short
//! transactions (`FOR UPDATE SKIP LOCKED`, a lease with a fencing counter), hands each to every
//! subscribed [`relay::Consumer`], and marks it published. Delivery is at-least-once, consumers
//! are idempotent on the event id, failures back off and end in a visible dead state.

pub mod model;
mod persistence;
pub mod relay;

pub use model::{NewEvent, OutboxEvent, event_types};
// The relay's side of the queue is public for relays in other processes and for tests of the
// fencing; only this module writes `events.outbox`.
pub use persistence::{QUEUE, append, backlog, claim, mark_delivered, mark_published};
