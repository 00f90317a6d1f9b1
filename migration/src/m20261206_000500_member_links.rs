//! Purpose: the columns member re-join needs (issue 15), within the seed's tables —
//! `guild.guild_configs.web_join_role_id` (the "verified" role a member gets when they link, per
//! guild; NULL = none) and the token-refresh queue's lease on `identity.users` (`lease_owner`,
//! `lease_until`, `fencing`: a user's `guilds.join` grant is refreshed by one worker at a time,
//! before it expires; Discord's refresh tokens are single-use).

use crate::sql::SqlMigration;

pub(crate) const MIGRATION: SqlMigration = SqlMigration {
    name: "m20261206_000500_member_links",
    up: UP,
    down: DOWN,
};

const UP: &str = r#"
ALTER TABLE guild.guild_configs ADD COLUMN web_join_role_id bigint;
COMMENT ON COLUMN guild.guild_configs.web_join_role_id IS
    'Role given to a member when they link through the web re-join page ("verified"); NULL = none.';

ALTER TABLE identity.users
    ADD COLUMN lease_owner text,
    ADD COLUMN lease_until timestamptz,
    ADD COLUMN fencing     bigint NOT NULL DEFAULT 0,
    ADD CONSTRAINT users_lease_check CHECK ((lease_owner IS NULL) = (lease_until IS NULL)),
    ADD CONSTRAINT users_fencing_check CHECK (fencing >= 0);
COMMENT ON COLUMN identity.users.lease_owner IS
    'Token-refresh worker holding the row (lease): the guilds.join grant is refreshed by one worker at a time.';
COMMENT ON COLUMN identity.users.fencing IS 'Bumped on every claim; a refreshed pair is written only if it still matches.';
CREATE INDEX users_oauth_due_idx ON identity.users (oauth_expires_at)
    WHERE oauth_refresh_token_enc IS NOT NULL AND oauth_revoked_at IS NULL;
"#;

const DOWN: &str = r#"
DROP INDEX identity.users_oauth_due_idx;
ALTER TABLE identity.users DROP CONSTRAINT users_fencing_check, DROP CONSTRAINT users_lease_check,
    DROP COLUMN fencing, DROP COLUMN lease_until, DROP COLUMN lease_owner;
ALTER TABLE guild.guild_configs DROP COLUMN web_join_role_id;
"#;
