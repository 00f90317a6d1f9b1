//! Purpose: the onboarding in the seed's tables (issue 16) — part of the versioned guild
//! settings (`recovery.guild_settings.onboarding`), read by REST on a full load and again after
//! the audit entries that announce its changes (ONBOARDING_*). NULL = not read yet.

use crate::sql::SqlMigration;

pub(crate) const MIGRATION: SqlMigration = SqlMigration {
    name: "m20261206_001100_onboarding",
    up: UP,
    down: DOWN,
};

const UP: &str = r#"
ALTER TABLE recovery.guild_settings ADD COLUMN onboarding jsonb;
COMMENT ON COLUMN recovery.guild_settings.onboarding IS
    'The onboarding {enabled, mode, default_channels, prompts: [{title, kind, single_select, required, in_onboarding, options: [{title, description, emoji, roles, channels}]}]} (ids of this guild); NULL = not known.';
"#;

const DOWN: &str = r#"
ALTER TABLE recovery.guild_settings DROP COLUMN onboarding;
"#;
