//! Purpose: channel webhooks in the seed's tables (issue 16) — part of the versioned guild
//! settings (`recovery.guild_settings.webhooks`), read by REST on a full load and again after
//! each WEBHOOKS_UPDATE. Only the webhooks people made; never a token or URL. NULL = not read
//! yet (or Umbra lacks Manage Webhooks).

use crate::sql::SqlMigration;

pub(crate) const MIGRATION: SqlMigration = SqlMigration {
    name: "m20261206_001200_webhooks",
    up: UP,
    down: DOWN,
};

const UP: &str = r#"
ALTER TABLE recovery.guild_settings ADD COLUMN webhooks jsonb;
COMMENT ON COLUMN recovery.guild_settings.webhooks IS
    'Channel webhooks made by people [{id, name, channel_id, avatar}] (no token or URL, ever); NULL = not known.';
"#;

const DOWN: &str = r#"
ALTER TABLE recovery.guild_settings DROP COLUMN webhooks;
"#;
