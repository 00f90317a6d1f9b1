//! Purpose: the columns AntiNuke's trust model needs (issue 11), within the seed's tables —
//! `guild.guild_configs.pending_changes` (AntiNuke setting changes made by someone other than
//! the owner, waiting for the owner's approval in a DM; they lapse unanswered),
//! `guild.guild_configs.protection_health` (the last protection health seen: missing
//! permissions, members Umbra could not punish; the owner is told when it changes), and
//! `recovery.restore_jobs.approval` (a risky restore confirmed by someone other than the owner
//! waits for the owner's approval).

use crate::sql::SqlMigration;

pub(crate) const MIGRATION: SqlMigration = SqlMigration {
    name: "m20261206_000300_protection",
    up: UP,
    down: DOWN,
};

const UP: &str = r#"
ALTER TABLE guild.guild_configs
    ADD COLUMN pending_changes jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN protection_health jsonb,
    ADD CONSTRAINT guild_configs_pending_changes_check CHECK (jsonb_typeof(pending_changes) = 'array');
COMMENT ON COLUMN guild.guild_configs.pending_changes IS
    'AntiNuke setting changes requested by someone other than the owner, waiting for the owner''s approval: '
    '[{"id", "actor_discord_id", "change", "requested_at", "expires_at"}]. Refused or lapsed ones are removed (nothing changes).';
COMMENT ON COLUMN guild.guild_configs.protection_health IS
    'Last protection health seen by AntiNuke: {"missing": [permission names], "above": [member ids], "above_count": n}; NULL = never checked.';

ALTER TABLE recovery.restore_jobs
    ADD COLUMN approval jsonb,
    ADD CONSTRAINT restore_jobs_approval_check CHECK (approval IS NULL OR jsonb_typeof(approval) = 'object');
COMMENT ON COLUMN recovery.restore_jobs.approval IS
    'A risky restore (imported snapshot, mirror mode, dangerous grants) confirmed by someone other than the owner: '
    '{"state": "pending" | "approved" | "refused", "requested_by", "requested_at", "reasons", "decided_by", "decided_at"}.';
"#;

const DOWN: &str = r#"
ALTER TABLE recovery.restore_jobs DROP CONSTRAINT restore_jobs_approval_check, DROP COLUMN approval;
ALTER TABLE guild.guild_configs DROP CONSTRAINT guild_configs_pending_changes_check,
    DROP COLUMN protection_health, DROP COLUMN pending_changes;
"#;
