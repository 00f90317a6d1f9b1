//! Purpose: the `identity` schema: Umbra user accounts (one per Discord user) and web sessions.
//!
//! Writer: the identity domain. Secrets at rest (the OAuth grant used for member re-join) are
//! AES-256-GCM ciphertexts with a key id for rotation and the row id as associated data;
//! session tokens are stored only as SHA-256 hashes. No IP addresses anywhere.

use crate::sql::SqlMigration;

pub(crate) const MIGRATION: SqlMigration = SqlMigration {
    name: "m20261125_000001_identity",
    up: UP,
    down: DOWN,
};

const UP: &str = r#"
CREATE SCHEMA identity;
COMMENT ON SCHEMA identity IS 'Umbra user accounts and web sessions (writer: identity domain).';

CREATE TABLE identity.users (
    id                      uuid        PRIMARY KEY,
    discord_user_id         bigint      NOT NULL,
    username                text,
    global_name             text,
    avatar                  text,
    locale                  text,
    is_bot                  boolean     NOT NULL DEFAULT false,
    oauth_access_token_enc  bytea,
    oauth_refresh_token_enc bytea,
    oauth_key_id            text,
    oauth_scopes            text[]      NOT NULL DEFAULT '{}',
    oauth_expires_at        timestamptz,
    oauth_revoked_at        timestamptz,
    oauth_token_version     bigint      NOT NULL DEFAULT 0,
    last_login_at           timestamptz,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    deleted_at              timestamptz,
    CONSTRAINT users_discord_user_id_key UNIQUE (discord_user_id),
    CONSTRAINT users_discord_user_id_check CHECK (discord_user_id > 0),
    CONSTRAINT users_oauth_key_id_check CHECK (
        (oauth_access_token_enc IS NULL AND oauth_refresh_token_enc IS NULL)
        OR oauth_key_id IS NOT NULL),
    CONSTRAINT users_oauth_token_version_check CHECK (oauth_token_version >= 0),
    CONSTRAINT users_deleted_without_secrets_check CHECK (
        deleted_at IS NULL
        OR (oauth_access_token_enc IS NULL AND oauth_refresh_token_enc IS NULL))
);
COMMENT ON TABLE identity.users IS
    'One row per Discord user known to Umbra (logged in, guild owner, or re-joined member). '
    'Guild owners are created on install, so a row need not mean the person ever logged in.';
COMMENT ON COLUMN identity.users.discord_user_id IS 'Discord user snowflake; identifies the row.';
COMMENT ON COLUMN identity.users.username IS
    'Discord username; NULL until known (a guild owner first seen only as GUILD_CREATE owner_id).';
COMMENT ON COLUMN identity.users.locale IS 'Discord account locale from OAuth (e.g. en-US, ko); NULL = unknown.';
COMMENT ON COLUMN identity.users.oauth_access_token_enc IS
    'AES-256-GCM(access token), AAD = row id; the guilds.join grant for member re-join. NULL = none.';
COMMENT ON COLUMN identity.users.oauth_refresh_token_enc IS
    'AES-256-GCM(refresh token), AAD = row id. Discord refresh tokens are single-use: store the new pair atomically.';
COMMENT ON COLUMN identity.users.oauth_key_id IS 'Id of the encryption key of the oauth_*_enc columns (key rotation).';
COMMENT ON COLUMN identity.users.oauth_scopes IS 'Scopes granted with the stored tokens (e.g. identify, guilds.join).';
COMMENT ON COLUMN identity.users.oauth_expires_at IS 'When the stored access token expires.';
COMMENT ON COLUMN identity.users.oauth_revoked_at IS 'When Discord rejected or the user revoked the grant; tokens are wiped then.';
COMMENT ON COLUMN identity.users.oauth_token_version IS
    'Bumped on every token write: a refresh stores the new pair only if the version it read still matches '
    '(one refresh per user at a time, across processes).';
COMMENT ON COLUMN identity.users.deleted_at IS 'Account deletion (personal data and tokens wiped; the row stays as an anchor).';

CREATE TABLE identity.sessions (
    id           uuid        PRIMARY KEY,
    user_id      uuid        NOT NULL REFERENCES identity.users (id) ON DELETE CASCADE,
    token_hash   bytea       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    CONSTRAINT sessions_token_hash_key UNIQUE (token_hash),
    CONSTRAINT sessions_token_hash_check CHECK (octet_length(token_hash) = 32),
    CONSTRAINT sessions_expiry_check CHECK (expires_at > created_at)
);
COMMENT ON TABLE identity.sessions IS 'Web sessions (cookie) of logged-in users. ON DELETE CASCADE: a session dies with its user.';
COMMENT ON COLUMN identity.sessions.token_hash IS 'SHA-256 of the 32-byte random session token; the token itself is never stored.';
CREATE INDEX sessions_user_id_idx ON identity.sessions (user_id);
CREATE INDEX sessions_expires_at_idx ON identity.sessions (expires_at);
"#;

const DOWN: &str = r#"
DROP TABLE identity.sessions;
DROP TABLE identity.users;
DROP SCHEMA identity;
"#;
