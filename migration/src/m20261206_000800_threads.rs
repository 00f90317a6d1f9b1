//! Purpose: threads in the seed's tables (issue 16) — a thread is a channel: a version of
//! `recovery.guild_channels` with kind 10 (announcement thread), 11 (public) or 12 (private),
//! its parent channel in `parent_id`, its slowmode and flags (2 = a pinned forum post) in the
//! usual columns, and what only threads have in `thread` (archived, locked,
//! auto_archive_duration, invitable, applied_tags). Channel reads filter the thread kinds out.

use crate::sql::SqlMigration;

pub(crate) const MIGRATION: SqlMigration = SqlMigration {
    name: "m20261206_000800_threads",
    up: UP,
    down: DOWN,
};

const UP: &str = r#"
ALTER TABLE recovery.guild_channels ADD COLUMN thread jsonb,
    ADD CONSTRAINT guild_channels_thread_check CHECK ((thread IS NOT NULL) = (kind IN (10, 11, 12)));
COMMENT ON COLUMN recovery.guild_channels.thread IS
    'Threads (kind 10-12) only: {archived, locked, auto_archive_duration, invitable, applied_tags}; parent_id is the parent channel.';
"#;

const DOWN: &str = r#"
DELETE FROM recovery.guild_channels WHERE kind IN (10, 11, 12);
ALTER TABLE recovery.guild_channels DROP CONSTRAINT guild_channels_thread_check, DROP COLUMN thread;
"#;
