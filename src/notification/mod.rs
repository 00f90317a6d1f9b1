//! Purpose: the notification domain — a durable queue of messages to guild owners
//! (`notification.requests`), built from outbox events, delivered by a sender worker by DM with
//! a fallback to the guild's log channel, and each user's preferences. Nothing else writes
//! `notification.*`.

pub mod commands;
