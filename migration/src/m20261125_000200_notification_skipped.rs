//! Purpose: a `skipped` status for `notification.requests` — a notification the recipient chose
//! not to get (its category is muted in their preferences). None of the first statuses fit:
//! `failed` means "permanently undeliverable" and `dead` "gave up after N attempts", while a
//! muted notification is neither an error nor something to alert on; an owner looking at their
//! history expects "skipped because you muted it". `last_error` keeps the reason.

use crate::sql::SqlMigration;

pub(crate) const MIGRATION: SqlMigration = SqlMigration {
    name: "m20261125_000200_notification_skipped",
    up: UP,
    down: DOWN,
};

const UP: &str = r#"
ALTER TABLE notification.requests DROP CONSTRAINT requests_status_check;
ALTER TABLE notification.requests ADD CONSTRAINT requests_status_check
    CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'dead', 'skipped'));
COMMENT ON COLUMN notification.requests.status IS
    'pending (waiting, also between retries) -> sending (leased) -> sent; skipped = muted by the recipient (reason in last_error); failed = permanently undeliverable; dead = gave up after N attempts.';
"#;

// Skipped requests become failed (their reason stays in last_error) so the old CHECK holds.
const DOWN: &str = r#"
UPDATE notification.requests SET status = 'failed' WHERE status = 'skipped';
ALTER TABLE notification.requests DROP CONSTRAINT requests_status_check;
ALTER TABLE notification.requests ADD CONSTRAINT requests_status_check
    CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'dead'));
COMMENT ON COLUMN notification.requests.status IS
    'pending (waiting, also between retries) -> sending (leased) -> sent; failed = permanently undeliverable; dead = gave up after N attempts.';
"#;
