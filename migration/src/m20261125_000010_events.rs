//! Purpose: the `events` schema: the transactional outbox every Core domain writes its events to,
//! in the same transaction as the change.
//!
//! The relay claims unpublished rows with leases (`lease_owner`, `lease_until`, `fencing`),
//! delivers each to every subscribed consumer (consumers are idempotent, keyed by the outbox
//! id), records the consumers done in `delivered_to`, and marks the row published; after N
//! failed attempts it is dead (visible, not retried). Retention: 30 days after publication.

use crate::sql::SqlMigration;

pub(crate) const MIGRATION: SqlMigration = SqlMigration {
    name: "m20261125_000010_events",
    up: UP,
    down: DOWN,
};

const UP: &str = r#"
CREATE SCHEMA events;
COMMENT ON SCHEMA events IS 'Transactional outbox (writers: every Core domain; relay: the outbox worker).';

CREATE TABLE events.outbox (
    id               uuid        PRIMARY KEY,
    event_type       text        NOT NULL,
    aggregate_type   text        NOT NULL,
    aggregate_id     text        NOT NULL,
    guild_discord_id bigint,
    payload          jsonb       NOT NULL,
    occurred_at      timestamptz NOT NULL DEFAULT now(),
    available_at     timestamptz NOT NULL DEFAULT now(),
    published_at     timestamptz,
    attempts         integer     NOT NULL DEFAULT 0,
    last_error       text,
    dead_at          timestamptz,
    delivered_to     text[]      NOT NULL DEFAULT '{}',
    lease_owner      text,
    lease_until      timestamptz,
    fencing          bigint      NOT NULL DEFAULT 0,
    CONSTRAINT outbox_event_type_check CHECK (event_type <> ''),
    CONSTRAINT outbox_attempts_check CHECK (attempts >= 0),
    CONSTRAINT outbox_final_state_check CHECK (published_at IS NULL OR dead_at IS NULL),
    CONSTRAINT outbox_lease_check CHECK ((lease_owner IS NULL) = (lease_until IS NULL)),
    CONSTRAINT outbox_fencing_check CHECK (fencing >= 0)
);
COMMENT ON TABLE events.outbox IS 'Events written with the change that caused them; delivered at least once to every consumer.';
COMMENT ON COLUMN events.outbox.id IS 'UUID v7 (time-ordered); also every consumer''s idempotency key.';
COMMENT ON COLUMN events.outbox.event_type IS 'e.g. billing.subscription_activated, recovery.incident_detected.';
COMMENT ON COLUMN events.outbox.aggregate_id IS 'Id of the changed aggregate, as text.';
COMMENT ON COLUMN events.outbox.guild_discord_id IS 'Guild the event concerns, if any (consumers route by it; survives purges).';
COMMENT ON COLUMN events.outbox.available_at IS 'Earliest time of the next delivery attempt (backoff after failures).';
COMMENT ON COLUMN events.outbox.published_at IS 'When every consumer had it; the 30-day purge counts from here.';
COMMENT ON COLUMN events.outbox.dead_at IS 'Set after N failed attempts: no more retries, shown to the operator.';
COMMENT ON COLUMN events.outbox.delivered_to IS 'Consumers that already handled the event (a retry skips them).';
COMMENT ON COLUMN events.outbox.fencing IS 'Bumped on every claim; results are written only if it still matches.';
CREATE INDEX outbox_pending_idx ON events.outbox (available_at) WHERE published_at IS NULL AND dead_at IS NULL;
CREATE INDEX outbox_published_at_idx ON events.outbox (published_at) WHERE published_at IS NOT NULL;
CREATE INDEX outbox_dead_at_idx ON events.outbox (dead_at) WHERE dead_at IS NOT NULL;
"#;

const DOWN: &str = r#"
DROP TABLE events.outbox;
DROP SCHEMA events;
"#;
