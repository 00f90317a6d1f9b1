//! Purpose: the `audit` schema: the permanent record of every event (one row per outbox event).
//!
//! Writer: the audit domain (an outbox consumer, exactly-once through `outbox_id`). Kept forever:
//! references to guilds and users are SET NULL on purge, and the Discord ids stay.

use crate::sql::SqlMigration;

pub(crate) const MIGRATION: SqlMigration = SqlMigration {
    name: "m20261125_000008_audit",
    up: UP,
    down: DOWN,
};

const UP: &str = r#"
CREATE SCHEMA audit;
COMMENT ON SCHEMA audit IS 'Permanent audit log of every event (writer: audit domain).';

CREATE TABLE audit.events (
    id               uuid        PRIMARY KEY,
    outbox_id        uuid        NOT NULL,
    event_type       text        NOT NULL,
    aggregate_type   text        NOT NULL,
    aggregate_id     text        NOT NULL,
    guild_id         uuid        REFERENCES guild.guilds (id) ON DELETE SET NULL,
    guild_discord_id bigint,
    actor_user_id    uuid        REFERENCES identity.users (id) ON DELETE SET NULL,
    actor_discord_id bigint,
    payload          jsonb       NOT NULL,
    occurred_at      timestamptz NOT NULL,
    recorded_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT events_outbox_id_key UNIQUE (outbox_id)
);
COMMENT ON TABLE audit.events IS
    'One row per outbox event, kept forever. ER "context" (guild) and "actor" (user) are ON DELETE SET NULL: history survives purges.';
COMMENT ON COLUMN audit.events.outbox_id IS 'Id of the events.outbox row (no FK: the outbox is purged after 30 days); UNIQUE = recorded exactly once.';
COMMENT ON COLUMN audit.events.aggregate_id IS 'Id of the changed aggregate, as text (uuid or snowflake).';
COMMENT ON COLUMN audit.events.guild_discord_id IS 'Discord guild id, kept after the guild row is purged.';
COMMENT ON COLUMN audit.events.actor_discord_id IS 'Discord id of who caused the event (NULL = Umbra itself).';
COMMENT ON COLUMN audit.events.occurred_at IS 'When the event happened (the outbox occurred_at).';
CREATE INDEX events_guild_occurred_at_idx ON audit.events (guild_id, occurred_at);
CREATE INDEX events_event_type_idx ON audit.events (event_type);
CREATE INDEX events_actor_user_id_idx ON audit.events (actor_user_id) WHERE actor_user_id IS NOT NULL;
"#;

const DOWN: &str = r#"
DROP TABLE audit.events;
DROP SCHEMA audit;
"#;
