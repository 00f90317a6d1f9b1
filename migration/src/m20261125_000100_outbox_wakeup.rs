//! Purpose: a statement-level trigger that sends `NOTIFY umbra_outbox` when events are appended,
//! so relays listening on a direct connection wake up at commit instead of at their next poll.
//! The notification is only a hint: relays always poll too (DESIGN.md §8), and NOTIFY inside a
//! transaction is delivered at commit only (never for a rolled-back append).

use crate::sql::SqlMigration;

pub(crate) const MIGRATION: SqlMigration = SqlMigration {
    name: "m20261125_000100_outbox_wakeup",
    up: UP,
    down: DOWN,
};

const UP: &str = r#"
CREATE FUNCTION events.notify_outbox() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('umbra_outbox', '');
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION events.notify_outbox() IS 'Wakes outbox relays (LISTEN umbra_outbox) when events are appended.';
CREATE TRIGGER outbox_wakeup
    AFTER INSERT ON events.outbox
    FOR EACH STATEMENT EXECUTE FUNCTION events.notify_outbox();
"#;

const DOWN: &str = r#"
DROP TRIGGER outbox_wakeup ON events.outbox;
DROP FUNCTION events.notify_outbox();
"#;
