//! Purpose: the `guild` schema: the Discord guilds Umbra is installed in and their configuration.
//!
//! Writer: the guild domain. `guild.guilds` is the anchor most other schemas reference; a guild
//! purge (retention job, after removal) deletes its row, which cascades to operational data and
//! sets history (audit, notifications) to NULL. Money rows (billing) RESTRICT the delete: the
//! purge keeps the guild row of a guild with billing history (its other data is still purged by
//! the cascade-owning domains), because payment records must outlive the guild.

use crate::sql::SqlMigration;

pub(crate) const MIGRATION: SqlMigration = SqlMigration {
    name: "m20261125_000002_guild",
    up: UP,
    down: DOWN,
};

const UP: &str = r#"
CREATE SCHEMA guild;
COMMENT ON SCHEMA guild IS 'Discord guilds Umbra is installed in, and their configuration (writer: guild domain).';

CREATE TABLE guild.guilds (
    id               uuid        PRIMARY KEY,
    discord_guild_id bigint      NOT NULL,
    owner_user_id    uuid        NOT NULL REFERENCES identity.users (id) ON DELETE RESTRICT,
    name             text        NOT NULL,
    icon             text,
    status           text        NOT NULL DEFAULT 'active',
    installed_at     timestamptz NOT NULL DEFAULT now(),
    removed_at       timestamptz,
    purge_after      timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT guilds_discord_guild_id_key UNIQUE (discord_guild_id),
    CONSTRAINT guilds_discord_guild_id_check CHECK (discord_guild_id > 0),
    CONSTRAINT guilds_status_check CHECK (status IN ('active', 'removed')),
    CONSTRAINT guilds_removed_at_check CHECK ((status = 'removed') = (removed_at IS NOT NULL)),
    CONSTRAINT guilds_purge_after_check CHECK (purge_after IS NULL OR status = 'removed')
);
COMMENT ON TABLE guild.guilds IS
    'One row per Discord guild Umbra was installed in. Re-installing reuses the row (status back to active).';
COMMENT ON COLUMN guild.guilds.owner_user_id IS
    'The guild''s Discord owner (ER "owner"). ON DELETE RESTRICT: users are soft-deleted (deleted_at); '
    'a user who owns a guild cannot be hard-deleted.';
COMMENT ON COLUMN guild.guilds.status IS 'active = bot installed; removed = bot kicked/left (data kept until purge_after).';
COMMENT ON COLUMN guild.guilds.purge_after IS 'Set on removal: the retention job purges the guild''s data after this time.';
CREATE INDEX guilds_owner_user_id_idx ON guild.guilds (owner_user_id);
CREATE INDEX guilds_status_purge_after_idx ON guild.guilds (status, purge_after);

CREATE TABLE guild.guild_configs (
    id                          uuid        PRIMARY KEY,
    guild_id                    uuid        NOT NULL REFERENCES guild.guilds (id) ON DELETE CASCADE,
    locale                      text,
    log_channel_id              bigint,
    trusted_user_ids            bigint[]    NOT NULL DEFAULT '{}',
    trusted_role_ids            bigint[]    NOT NULL DEFAULT '{}',
    snapshot_interval_minutes   integer,
    web_join_enabled            boolean     NOT NULL DEFAULT true,
    antinuke_enabled            boolean     NOT NULL DEFAULT false,
    antinuke_thresholds         jsonb       NOT NULL DEFAULT '{}',
    antinuke_punishment         text        NOT NULL DEFAULT 'strip_roles',
    antinuke_quarantine_role_id bigint,
    antinuke_lockdown           boolean     NOT NULL DEFAULT false,
    antinuke_auto_revert        boolean     NOT NULL DEFAULT false,
    antinuke_whitelist_user_ids bigint[]    NOT NULL DEFAULT '{}',
    antinuke_whitelist_role_ids bigint[]    NOT NULL DEFAULT '{}',
    version                     integer     NOT NULL DEFAULT 0,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    updated_at                  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT guild_configs_guild_id_key UNIQUE (guild_id),
    CONSTRAINT guild_configs_snapshot_interval_check CHECK (snapshot_interval_minutes > 0),
    CONSTRAINT guild_configs_antinuke_thresholds_check CHECK (jsonb_typeof(antinuke_thresholds) = 'object'),
    CONSTRAINT guild_configs_antinuke_punishment_check
        CHECK (antinuke_punishment IN ('strip_roles', 'quarantine', 'kick', 'ban')),
    CONSTRAINT guild_configs_version_check CHECK (version >= 0)
);
COMMENT ON TABLE guild.guild_configs IS 'Per-guild settings (ER "config", 1:1). ON DELETE CASCADE with the guild.';
COMMENT ON COLUMN guild.guild_configs.locale IS 'Language of guild-facing messages; NULL = follow the interaction locale, else en-US.';
COMMENT ON COLUMN guild.guild_configs.log_channel_id IS 'Channel for Umbra''s log messages and the fallback of owner DMs.';
COMMENT ON COLUMN guild.guild_configs.trusted_user_ids IS 'Users besides the owner allowed to run restore/configuration commands (exempt from AntiNuke).';
COMMENT ON COLUMN guild.guild_configs.trusted_role_ids IS 'Roles whose holders count as trusted users.';
COMMENT ON COLUMN guild.guild_configs.snapshot_interval_minutes IS
    'Scheduled snapshot interval; NULL = scheduled snapshots off. The plan''s min_snapshot_interval_minutes bounds it (checked by the domain).';
COMMENT ON COLUMN guild.guild_configs.web_join_enabled IS 'Whether the web re-join link (OAuth2 guilds.join) is open for this guild.';
COMMENT ON COLUMN guild.guild_configs.antinuke_thresholds IS
    'Per action class: {"<class>": {"count": n, "window_seconds": s}}; missing classes use the built-in defaults.';
COMMENT ON COLUMN guild.guild_configs.antinuke_punishment IS 'First response to a detected nuker (limited by the plan''s antinuke_features).';
COMMENT ON COLUMN guild.guild_configs.antinuke_quarantine_role_id IS 'Role given by the quarantine punishment (may be created by Umbra on first use).';
COMMENT ON COLUMN guild.guild_configs.antinuke_lockdown IS 'Lock the guild down (@everyone / incident actions) when a nuke is detected.';
COMMENT ON COLUMN guild.guild_configs.antinuke_auto_revert IS 'Start a restore of what the nuker destroyed without waiting for the owner.';
COMMENT ON COLUMN guild.guild_configs.antinuke_whitelist_user_ids IS 'Users (e.g. trusted bots) AntiNuke never counts.';
COMMENT ON COLUMN guild.guild_configs.antinuke_whitelist_role_ids IS 'Roles whose holders AntiNuke never counts.';
COMMENT ON COLUMN guild.guild_configs.version IS 'Optimistic concurrency: UPDATE ... WHERE version = $read, then version + 1.';
"#;

const DOWN: &str = r#"
DROP TABLE guild.guild_configs;
DROP TABLE guild.guilds;
DROP SCHEMA guild;
"#;
