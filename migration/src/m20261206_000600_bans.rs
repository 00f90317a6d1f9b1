//! Purpose: bans in the seed's tables (issue 16) — a ban is member state: a version of
//! `member.members` with `banned = true` (the banned user's name, `ban_reason`), versioned like
//! membership (an unban closes it with `ended_by = 'delete'`). A user has at most one current
//! membership row and one current ban row; every membership read filters `NOT banned`.
//! `recovery.guild_settings.bans_known_since` says from when the mirror holds the whole ban
//! list (the first full ban load): a snapshot of an earlier time records no ban list, so a
//! restore never takes "no bans known" for "nobody banned".

use crate::sql::SqlMigration;

pub(crate) const MIGRATION: SqlMigration = SqlMigration {
    name: "m20261206_000600_bans",
    up: UP,
    down: DOWN,
};

const UP: &str = r#"
ALTER TABLE member.members
    ADD COLUMN banned     boolean NOT NULL DEFAULT false,
    ADD COLUMN ban_reason text,
    ADD CONSTRAINT members_ban_reason_check CHECK (ban_reason IS NULL OR banned);
COMMENT ON COLUMN member.members.banned IS
    'This version is a ban (the user is banned, not a member); membership reads filter NOT banned.';
COMMENT ON COLUMN member.members.ban_reason IS 'The ban''s reason (audit-log reason), when banned.';
DROP INDEX member.members_current_key;
CREATE UNIQUE INDEX members_current_key ON member.members (guild_id, discord_user_id)
    WHERE valid_to IS NULL AND NOT banned;
CREATE UNIQUE INDEX members_current_ban_key ON member.members (guild_id, discord_user_id)
    WHERE valid_to IS NULL AND banned;
DROP INDEX member.members_current_discord_user_idx;
CREATE INDEX members_current_discord_user_idx ON member.members (discord_user_id)
    WHERE valid_to IS NULL AND NOT banned;

ALTER TABLE recovery.snapshots ADD COLUMN ban_count integer,
    ADD CONSTRAINT snapshots_ban_count_check CHECK (ban_count IS NULL OR ban_count >= 0);
COMMENT ON COLUMN recovery.snapshots.ban_count IS 'Bans in the document; NULL = the document has no ban list (format 1, or bans not known then).';

ALTER TABLE recovery.guild_settings ADD COLUMN bans_known_since timestamptz,
    ADD COLUMN emojis jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN discovery_splash text,
    ADD COLUMN stickers jsonb NOT NULL DEFAULT '[]';
COMMENT ON COLUMN recovery.guild_settings.stickers IS
    'Guild stickers [{id, name, description, tags, format_type}] by id (versioned with the settings; files are fetched into snapshots).';
COMMENT ON COLUMN recovery.guild_settings.discovery_splash IS 'Discovery splash image hash (the bytes go into snapshots).';
COMMENT ON COLUMN recovery.guild_settings.emojis IS
    'Custom emojis [{id, name, roles, animated}] by id (versioned with the settings; images are fetched into snapshots).';
COMMENT ON COLUMN recovery.guild_settings.bans_known_since IS
    'Not versioned (carried to each new version): when the whole ban list was first loaded; bans as of an earlier time are unknown.';
"#;

const DOWN: &str = r#"
ALTER TABLE recovery.snapshots DROP CONSTRAINT snapshots_ban_count_check, DROP COLUMN ban_count;
ALTER TABLE recovery.guild_settings DROP COLUMN stickers, DROP COLUMN discovery_splash, DROP COLUMN emojis, DROP COLUMN bans_known_since;
DELETE FROM member.members WHERE banned;
DROP INDEX member.members_current_discord_user_idx;
CREATE INDEX members_current_discord_user_idx ON member.members (discord_user_id) WHERE valid_to IS NULL;
DROP INDEX member.members_current_ban_key;
DROP INDEX member.members_current_key;
CREATE UNIQUE INDEX members_current_key ON member.members (guild_id, discord_user_id) WHERE valid_to IS NULL;
ALTER TABLE member.members DROP CONSTRAINT members_ban_reason_check, DROP COLUMN ban_reason, DROP COLUMN banned;
"#;
