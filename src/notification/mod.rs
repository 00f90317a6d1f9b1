//! Purpose: the notification domain — a durable queue of messages to guild owners
//! (`notification.requests`), built from outbox events ([`NotificationConsumer`]), delivered by
//! the [`Sender`] worker by DM with a fallback to the guild's log channel, and each user's
//! preferences (`notification.preferences`, `/umbra notifications`). Nothing else writes
//! `notification.*`; the guild domain is read through its `GuildReader` port.

pub mod commands;
pub mod events;
pub mod model;
mod persistence;
pub mod sender;
pub mod service;

pub use events::NotificationConsumer;
pub use model::{
    Category, Outcome, PreferenceChange, Preferences, RequestStatus, StoredArg, StoredMessage, Via,
};
pub use persistence::QUEUE;
pub use sender::{Recorded, Sender, SenderSettings};
pub use service::{NotificationError, NotificationService};
