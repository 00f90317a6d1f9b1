//! Purpose: the `member` schema: guild members (versioned, kept equal to Discord by live sync)
//! and web re-join requests (OAuth2 `guilds.join`).
//!
//! Writer: the member domain; live sync writes `member.members` through the member domain's port
//! in its own transaction (the seed's one cross-domain write exception).
//!
//! Versioning (shared with `recovery.guild_*`): a row is one version of one member, valid over
//! `[valid_from, valid_to)`; `valid_to IS NULL` marks the current version. An update closes the
//! current row (`valid_to = now`, `ended_by = 'update'`) and inserts the new version; a leave,
//! kick or ban closes it with `ended_by = 'delete'` (the tombstone: its `valid_to` is when the
//! member left). "Members as of T": `valid_from <= T AND (valid_to IS NULL OR valid_to > T)`,
//! served by the partial current index plus the partial history index below.

use crate::sql::SqlMigration;

pub(crate) const MIGRATION: SqlMigration = SqlMigration {
    name: "m20261125_000003_member",
    up: UP,
    down: DOWN,
};

const UP: &str = r#"
CREATE SCHEMA member;
COMMENT ON SCHEMA member IS 'Guild members (versioned live-sync mirror) and web re-join requests (writer: member domain).';

CREATE TABLE member.members (
    id              uuid        PRIMARY KEY,
    guild_id        uuid        NOT NULL REFERENCES guild.guilds (id) ON DELETE CASCADE,
    discord_user_id bigint      NOT NULL,
    user_id         uuid        REFERENCES identity.users (id) ON DELETE SET NULL,
    username        text        NOT NULL,
    global_name     text,
    nick            text,
    role_ids        bigint[]    NOT NULL DEFAULT '{}',
    is_bot          boolean     NOT NULL DEFAULT false,
    joined_at       timestamptz,
    valid_from      timestamptz NOT NULL DEFAULT now(),
    valid_to        timestamptz,
    ended_by        text,
    synced_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT members_discord_user_id_check CHECK (discord_user_id > 0),
    CONSTRAINT members_ended_by_check CHECK (ended_by IN ('update', 'delete')),
    CONSTRAINT members_version_closed_check CHECK ((valid_to IS NULL) = (ended_by IS NULL)),
    CONSTRAINT members_validity_check CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
COMMENT ON TABLE member.members IS
    'Versioned mirror of guild members (ER "contains": ON DELETE CASCADE with the guild). '
    'One current row (valid_to IS NULL) per (guild, user); closed rows are history and tombstones.';
COMMENT ON COLUMN member.members.user_id IS
    'The Umbra account of this Discord user when one exists (ER "linked to"); ON DELETE SET NULL keeps the member row.';
COMMENT ON COLUMN member.members.nick IS 'Guild nickname; restored by a restore and on web re-join.';
COMMENT ON COLUMN member.members.role_ids IS 'Role snowflakes the member holds (without @everyone).';
COMMENT ON COLUMN member.members.joined_at IS 'When the member joined the guild (Discord joined_at); leaving = valid_to of the row ended_by ''delete''.';
COMMENT ON COLUMN member.members.valid_from IS 'Start of this version''s validity.';
COMMENT ON COLUMN member.members.valid_to IS 'End of this version''s validity; NULL = current version.';
COMMENT ON COLUMN member.members.ended_by IS 'Why the version ended: update (a newer version follows) or delete (tombstone: the member left).';
COMMENT ON COLUMN member.members.synced_at IS
    'Not versioned: last time live sync confirmed this row (a full load closes current rows it did not confirm).';
CREATE UNIQUE INDEX members_current_key ON member.members (guild_id, discord_user_id) WHERE valid_to IS NULL;
CREATE INDEX members_history_idx ON member.members (guild_id, valid_to) WHERE valid_to IS NOT NULL;
CREATE INDEX members_current_discord_user_idx ON member.members (discord_user_id) WHERE valid_to IS NULL;
CREATE INDEX members_user_id_idx ON member.members (user_id) WHERE user_id IS NOT NULL;

CREATE TABLE member.web_join_requests (
    id                uuid        PRIMARY KEY,
    guild_id          uuid        NOT NULL REFERENCES guild.guilds (id) ON DELETE CASCADE,
    user_id           uuid        REFERENCES identity.users (id) ON DELETE SET NULL,
    discord_user_id   bigint,
    state_hash        bytea       NOT NULL,
    pkce_verifier_enc bytea,
    key_id            text,
    status            text        NOT NULL DEFAULT 'pending',
    failure_code      text,
    restored_role_ids bigint[]    NOT NULL DEFAULT '{}',
    restored_nick     text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    expires_at        timestamptz NOT NULL,
    completed_at      timestamptz,
    CONSTRAINT web_join_requests_state_hash_key UNIQUE (state_hash),
    CONSTRAINT web_join_requests_state_hash_check CHECK (octet_length(state_hash) = 32),
    CONSTRAINT web_join_requests_status_check CHECK (
        status IN ('pending', 'authorized', 'joined', 'already_member', 'failed', 'expired')),
    CONSTRAINT web_join_requests_verifier_check CHECK (
        status <> 'pending' OR (pkce_verifier_enc IS NOT NULL AND key_id IS NOT NULL)),
    CONSTRAINT web_join_requests_failure_check CHECK (status <> 'failed' OR failure_code IS NOT NULL),
    CONSTRAINT web_join_requests_completed_check CHECK (
        (status IN ('joined', 'already_member', 'failed', 'expired')) = (completed_at IS NOT NULL)),
    CONSTRAINT web_join_requests_expiry_check CHECK (expires_at > created_at)
);
COMMENT ON TABLE member.web_join_requests IS
    'One web re-join attempt (OAuth2 guilds.join): pending -> authorized -> joined | already_member | failed; '
    'pending/authorized -> expired. Failures are the "who could not be brought back" report. ON DELETE CASCADE with the guild.';
COMMENT ON COLUMN member.web_join_requests.user_id IS 'The Umbra account, known after the OAuth callback; ON DELETE SET NULL.';
COMMENT ON COLUMN member.web_join_requests.discord_user_id IS 'Discord user snowflake, known after the OAuth callback.';
COMMENT ON COLUMN member.web_join_requests.state_hash IS 'SHA-256 of the OAuth state parameter; the callback finds the request by it.';
COMMENT ON COLUMN member.web_join_requests.pkce_verifier_enc IS
    'AES-256-GCM(PKCE verifier), AAD = row id, key = key_id; wiped (NULL) once the request leaves pending.';
COMMENT ON COLUMN member.web_join_requests.failure_code IS
    'Why the join failed, e.g. oauth_denied, token_revoked, guild_limit (200 guilds), banned, bot_missing_permission.';
COMMENT ON COLUMN member.web_join_requests.restored_role_ids IS 'Roles handed back in the join call (from the member''s last known state).';
COMMENT ON COLUMN member.web_join_requests.restored_nick IS 'Nickname handed back in the join call.';
CREATE INDEX web_join_requests_guild_status_idx ON member.web_join_requests (guild_id, status, created_at);
CREATE INDEX web_join_requests_open_expiry_idx ON member.web_join_requests (expires_at)
    WHERE status IN ('pending', 'authorized');
CREATE INDEX web_join_requests_user_id_idx ON member.web_join_requests (user_id) WHERE user_id IS NOT NULL;
"#;

const DOWN: &str = r#"
DROP TABLE member.web_join_requests;
DROP TABLE member.members;
DROP SCHEMA member;
"#;
