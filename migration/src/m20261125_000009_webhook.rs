//! Purpose: the `webhook` schema: every received external webhook (payment provider), deduplicated.
//!
//! Writer: the webhook domain. Toss webhooks are not signed: processing re-fetches the payment
//! before acting. Retention: 90 days.

use crate::sql::SqlMigration;

pub(crate) const MIGRATION: SqlMigration = SqlMigration {
    name: "m20261125_000009_webhook",
    up: UP,
    down: DOWN,
};

const UP: &str = r#"
CREATE SCHEMA webhook;
COMMENT ON SCHEMA webhook IS 'Received external webhooks (writer: webhook domain).';

CREATE TABLE webhook.events (
    id           uuid        PRIMARY KEY,
    provider     text        NOT NULL,
    event_type   text        NOT NULL,
    dedupe_key   text        NOT NULL,
    payload      jsonb       NOT NULL,
    status       text        NOT NULL DEFAULT 'received',
    attempts     integer     NOT NULL DEFAULT 0,
    error        text,
    received_at  timestamptz NOT NULL DEFAULT now(),
    processed_at timestamptz,
    CONSTRAINT events_provider_dedupe_key_key UNIQUE (provider, dedupe_key),
    CONSTRAINT events_provider_check CHECK (provider IN ('toss')),
    CONSTRAINT events_status_check CHECK (status IN ('received', 'processed', 'rejected', 'failed')),
    CONSTRAINT events_attempts_check CHECK (attempts >= 0),
    CONSTRAINT events_processed_check CHECK ((status IN ('processed', 'rejected')) = (processed_at IS NOT NULL))
);
COMMENT ON TABLE webhook.events IS 'One received webhook delivery; UNIQUE (provider, dedupe_key) absorbs the provider''s retries.';
COMMENT ON COLUMN webhook.events.event_type IS 'Provider event type, e.g. PAYMENT_STATUS_CHANGED.';
COMMENT ON COLUMN webhook.events.dedupe_key IS 'Provider-side identity of the delivery (e.g. paymentKey + status + createdAt).';
COMMENT ON COLUMN webhook.events.status IS
    'received = stored, not yet handled; processed = acted on; rejected = did not verify (re-fetch mismatch); failed = handling failed (retried).';
CREATE INDEX events_status_received_at_idx ON webhook.events (status, received_at);
CREATE INDEX events_received_at_idx ON webhook.events (received_at);
"#;

const DOWN: &str = r#"
DROP TABLE webhook.events;
DROP SCHEMA webhook;
"#;
