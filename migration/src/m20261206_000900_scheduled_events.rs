//! Purpose: scheduled events in the seed's tables (issue 16) — the guild's scheduled events
//! are part of the versioned guild settings (`recovery.guild_settings.scheduled_events`), read
//! by REST on a full load and after each GUILD_SCHEDULED_EVENT_* event. NULL = not read yet.

use crate::sql::SqlMigration;

pub(crate) const MIGRATION: SqlMigration = SqlMigration {
    name: "m20261206_000900_scheduled_events",
    up: UP,
    down: DOWN,
};

const UP: &str = r#"
ALTER TABLE recovery.guild_settings ADD COLUMN scheduled_events jsonb;
COMMENT ON COLUMN recovery.guild_settings.scheduled_events IS
    'Scheduled events [{id, name, description, start, end, entity_type, channel_id, location, status}] by id (versioned with the settings); NULL = not known.';
"#;

const DOWN: &str = r#"
ALTER TABLE recovery.guild_settings DROP COLUMN scheduled_events;
"#;
