//! Purpose: the columns a plan change and a single-use subscribe link need (issue 14), within
//! the seed's tables — `billing.subscriptions.next_plan_id` (the plan a subscription moves to:
//! at its period's end for a downgrade, at once for an upgrade whose pro-rated charge is
//! pending), `billing.payment_attempts.kind` / `plan_id` (an upgrade's charge and the plan it
//! pays for, so a crash between the charge and its record is reconciled as an upgrade), and
//! `identity.users.subscribe_link_nonce` (the one open `/billing subscribe` link of a user;
//! cleared when it is used, so a link opens the card page once).

use crate::sql::SqlMigration;

pub(crate) const MIGRATION: SqlMigration = SqlMigration {
    name: "m20261206_000400_plan_change",
    up: UP,
    down: DOWN,
};

const UP: &str = r#"
ALTER TABLE billing.subscriptions
    ADD COLUMN next_plan_id uuid REFERENCES licensing.plans (id) ON DELETE SET NULL;
COMMENT ON COLUMN billing.subscriptions.next_plan_id IS
    'The plan this subscription changes to: a cheaper one from the next period (a downgrade), or a dearer one '
    'as soon as its pro-rated charge (a pending payment attempt of kind upgrade) is paid. NULL = no change '
    '(ON DELETE SET NULL: a plan that is deleted drops the change).';

ALTER TABLE billing.payment_attempts
    ADD COLUMN kind text NOT NULL DEFAULT 'period',
    ADD COLUMN plan_id uuid REFERENCES licensing.plans (id) ON DELETE SET NULL,
    ADD CONSTRAINT payment_attempts_kind_check CHECK (kind IN ('period', 'upgrade')),
    ADD CONSTRAINT payment_attempts_upgrade_plan_check CHECK (
        (kind = 'upgrade' OR plan_id IS NULL)
        AND (kind <> 'upgrade' OR status <> 'pending' OR plan_id IS NOT NULL));
COMMENT ON COLUMN billing.payment_attempts.kind IS
    'period = pays a billing period; upgrade = the pro-rated difference of a plan upgrade within a period.';
COMMENT ON COLUMN billing.payment_attempts.plan_id IS
    'The plan an upgrade charge pays for (NULL for period charges). A pending upgrade always names it; '
    'ON DELETE SET NULL keeps a settled attempt (money history) if the plan is ever deleted.';
CREATE UNIQUE INDEX payment_attempts_one_pending_upgrade ON billing.payment_attempts (subscription_id)
    WHERE kind = 'upgrade' AND status = 'pending';

ALTER TABLE identity.users ADD COLUMN subscribe_link_nonce uuid;
COMMENT ON COLUMN identity.users.subscribe_link_nonce IS
    'Nonce of the user''s one open /billing subscribe link (the link itself is sealed, short-lived); set to NULL when used.';
"#;

const DOWN: &str = r#"
ALTER TABLE identity.users DROP COLUMN subscribe_link_nonce;
DROP INDEX billing.payment_attempts_one_pending_upgrade;
ALTER TABLE billing.payment_attempts DROP CONSTRAINT payment_attempts_upgrade_plan_check,
    DROP CONSTRAINT payment_attempts_kind_check, DROP COLUMN plan_id, DROP COLUMN kind;
ALTER TABLE billing.subscriptions DROP COLUMN next_plan_id;
"#;
