//! Purpose: the `notification` schema: owner-facing messages to send (DM first, log channel as
//! fallback) and users' notification preferences.
//!
//! Writer: the notification domain (an outbox consumer). Retention: requests 90 days.

use crate::sql::SqlMigration;

pub(crate) const MIGRATION: SqlMigration = SqlMigration {
    name: "m20261125_000007_notification",
    up: UP,
    down: DOWN,
};

const UP: &str = r#"
CREATE SCHEMA notification;
COMMENT ON SCHEMA notification IS 'Notification requests and user preferences (writer: notification domain).';

CREATE TABLE notification.requests (
    id                   uuid        PRIMARY KEY,
    guild_id             uuid        REFERENCES guild.guilds (id) ON DELETE SET NULL,
    recipient_discord_id bigint      NOT NULL,
    kind                 text        NOT NULL,
    category             text        NOT NULL,
    template_key         text        NOT NULL,
    args                 jsonb       NOT NULL DEFAULT '{}',
    locale               text,
    status               text        NOT NULL DEFAULT 'pending',
    attempts             integer     NOT NULL DEFAULT 0,
    next_attempt_at      timestamptz NOT NULL DEFAULT now(),
    last_error           text,
    delivered_via        text,
    sent_channel_id      bigint,
    sent_message_id      bigint,
    sent_at              timestamptz,
    dedupe_key           text        NOT NULL,
    lease_owner          text,
    lease_until          timestamptz,
    fencing              bigint      NOT NULL DEFAULT 0,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT requests_dedupe_key_key UNIQUE (dedupe_key),
    CONSTRAINT requests_recipient_check CHECK (recipient_discord_id > 0),
    CONSTRAINT requests_status_check CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'dead')),
    CONSTRAINT requests_attempts_check CHECK (attempts >= 0),
    CONSTRAINT requests_delivered_via_check CHECK (delivered_via IN ('dm', 'log_channel')),
    CONSTRAINT requests_sent_check CHECK ((status = 'sent') = (delivered_via IS NOT NULL AND sent_at IS NOT NULL)),
    CONSTRAINT requests_lease_check CHECK ((lease_owner IS NULL) = (lease_until IS NULL)),
    CONSTRAINT requests_fencing_check CHECK (fencing >= 0)
);
COMMENT ON TABLE notification.requests IS
    'A message to deliver to a guild owner (or other user). ER "target": guild ON DELETE SET NULL (delivery history survives a purge).';
COMMENT ON COLUMN notification.requests.kind IS 'What happened (e.g. incident_detected, restore_finished, payment_failed).';
COMMENT ON COLUMN notification.requests.category IS 'Preference category the user can mute (notification.preferences.muted_categories).';
COMMENT ON COLUMN notification.requests.template_key IS 'Fluent message id rendered with args (also yields any buttons).';
COMMENT ON COLUMN notification.requests.locale IS 'Locale to render in; NULL = the recipient''s preference, else en-US.';
COMMENT ON COLUMN notification.requests.status IS
    'pending (waiting, also between retries) -> sending (leased) -> sent; failed = permanently undeliverable; dead = gave up after N attempts.';
COMMENT ON COLUMN notification.requests.next_attempt_at IS 'Earliest time of the next attempt (backoff).';
COMMENT ON COLUMN notification.requests.delivered_via IS 'dm, or log_channel when the DM could not be delivered.';
COMMENT ON COLUMN notification.requests.sent_message_id IS 'The Discord message sent (edited later, e.g. to disable buttons).';
COMMENT ON COLUMN notification.requests.dedupe_key IS 'Idempotency key of the producer, e.g. "<outbox id>:<kind>".';
CREATE INDEX requests_status_next_attempt_at_idx ON notification.requests (status, next_attempt_at);
CREATE INDEX requests_created_at_idx ON notification.requests (created_at);
CREATE INDEX requests_guild_id_idx ON notification.requests (guild_id) WHERE guild_id IS NOT NULL;

CREATE TABLE notification.preferences (
    id               uuid        PRIMARY KEY,
    user_id          uuid        NOT NULL REFERENCES identity.users (id) ON DELETE CASCADE,
    locale           text,
    dm_enabled       boolean     NOT NULL DEFAULT true,
    muted_categories text[]      NOT NULL DEFAULT '{}',
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT preferences_user_id_key UNIQUE (user_id)
);
COMMENT ON TABLE notification.preferences IS 'A user''s notification settings (ER "prefers", 1:1; ON DELETE CASCADE with the user).';
COMMENT ON COLUMN notification.preferences.locale IS 'Preferred language; NULL = the Discord account locale, else en-US.';
COMMENT ON COLUMN notification.preferences.dm_enabled IS 'false = deliver to the guild log channel instead of DMs.';
"#;

const DOWN: &str = r#"
DROP TABLE notification.preferences;
DROP TABLE notification.requests;
DROP SCHEMA notification;
"#;
