//! Purpose: the welcome screen in the seed's tables (issue 16) — part of the versioned guild
//! settings (`recovery.guild_settings.welcome_screen`), read by REST on a full load and again
//! after the audit entries that announce its changes (GUILD_UPDATE). NULL = not read yet.

use crate::sql::SqlMigration;

pub(crate) const MIGRATION: SqlMigration = SqlMigration {
    name: "m20261206_001000_welcome_screen",
    up: UP,
    down: DOWN,
};

const UP: &str = r#"
ALTER TABLE recovery.guild_settings ADD COLUMN welcome_screen jsonb;
COMMENT ON COLUMN recovery.guild_settings.welcome_screen IS
    'The welcome screen {enabled, description, channels: [[channel_id, description, emoji_name]]} (a guild without one: disabled and empty); NULL = not known.';
"#;

const DOWN: &str = r#"
ALTER TABLE recovery.guild_settings DROP COLUMN welcome_screen;
"#;
