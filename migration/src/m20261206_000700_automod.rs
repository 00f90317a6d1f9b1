//! Purpose: AutoMod rules in the seed's tables (issue 16) — the guild's rules are part of the
//! versioned guild settings (`recovery.guild_settings.automod`), read by REST on a full load
//! and after each AUTO_MODERATION_RULE_* event (rules do not come with GUILD_CREATE). NULL =
//! not read yet (no Manage Server, or before the first load): a snapshot then records no rule
//! list, and a restore leaves AutoMod alone.

use crate::sql::SqlMigration;

pub(crate) const MIGRATION: SqlMigration = SqlMigration {
    name: "m20261206_000700_automod",
    up: UP,
    down: DOWN,
};

const UP: &str = r#"
ALTER TABLE recovery.guild_settings ADD COLUMN automod jsonb;
COMMENT ON COLUMN recovery.guild_settings.automod IS
    'AutoMod rules [{id, name, event_type, trigger_type, trigger_metadata, actions, enabled, exempt_roles, exempt_channels}] by id (versioned with the settings); NULL = not known.';
"#;

const DOWN: &str = r#"
ALTER TABLE recovery.guild_settings DROP COLUMN automod;
"#;
