//! Purpose: the `billing` schema: card billing keys (Toss Payments), subscriptions and every
//! charge attempt.
//!
//! Writer: the billing domain. Money rows are never removed by a cascade: subscriptions RESTRICT
//! the delete of their user, guild and plan, and payment attempts RESTRICT the delete of their
//! subscription. Billing keys are secrets, not money records: they go with their user.

use crate::sql::SqlMigration;

pub(crate) const MIGRATION: SqlMigration = SqlMigration {
    name: "m20261125_000005_billing",
    up: UP,
    down: DOWN,
};

const UP: &str = r#"
CREATE SCHEMA billing;
COMMENT ON SCHEMA billing IS 'Billing keys, subscriptions and payment attempts (writer: billing domain).';

CREATE TABLE billing.billing_keys (
    id                 uuid        PRIMARY KEY,
    user_id            uuid        NOT NULL REFERENCES identity.users (id) ON DELETE CASCADE,
    provider           text        NOT NULL DEFAULT 'toss',
    customer_key       uuid        NOT NULL,
    billing_key_enc    bytea,
    key_id             text,
    card_company       text,
    card_number_masked text,
    status             text        NOT NULL DEFAULT 'active',
    created_at         timestamptz NOT NULL DEFAULT now(),
    deleted_at         timestamptz,
    CONSTRAINT billing_keys_customer_key_key UNIQUE (customer_key),
    CONSTRAINT billing_keys_provider_check CHECK (provider IN ('toss')),
    CONSTRAINT billing_keys_status_check CHECK (status IN ('active', 'deleted')),
    CONSTRAINT billing_keys_active_secret_check CHECK (
        status <> 'active' OR (billing_key_enc IS NOT NULL AND key_id IS NOT NULL)),
    CONSTRAINT billing_keys_deleted_check CHECK (
        (status = 'deleted') = (deleted_at IS NOT NULL)
        AND (status <> 'deleted' OR billing_key_enc IS NULL))
);
COMMENT ON TABLE billing.billing_keys IS
    'A registered card (ER "owns"). ON DELETE CASCADE with the user: a billing key is a secret, not a payment record.';
COMMENT ON COLUMN billing.billing_keys.customer_key IS 'Toss customerKey: a random UUID issued for this registration (never an email or phone).';
COMMENT ON COLUMN billing.billing_keys.billing_key_enc IS
    'AES-256-GCM(billingKey), AAD = row id, key = key_id. Wiped (NULL) when the key is deleted.';
COMMENT ON COLUMN billing.billing_keys.card_number_masked IS 'Masked card number as returned by the provider (display only).';
CREATE INDEX billing_keys_user_id_idx ON billing.billing_keys (user_id);

CREATE TABLE billing.subscriptions (
    id                   uuid        PRIMARY KEY,
    user_id              uuid        NOT NULL REFERENCES identity.users (id) ON DELETE RESTRICT,
    guild_id             uuid        NOT NULL REFERENCES guild.guilds (id) ON DELETE RESTRICT,
    plan_id              uuid        NOT NULL REFERENCES licensing.plans (id) ON DELETE RESTRICT,
    license_id           uuid        REFERENCES licensing.licenses (id) ON DELETE SET NULL,
    billing_key_id       uuid        REFERENCES billing.billing_keys (id) ON DELETE SET NULL,
    status               text        NOT NULL DEFAULT 'active',
    price_krw            bigint      NOT NULL,
    current_period_start timestamptz NOT NULL,
    current_period_end   timestamptz NOT NULL,
    next_charge_at       timestamptz,
    cancel_at_period_end boolean     NOT NULL DEFAULT false,
    cancelled_at         timestamptz,
    failed_attempts      integer     NOT NULL DEFAULT 0,
    lease_owner          text,
    lease_until          timestamptz,
    fencing              bigint      NOT NULL DEFAULT 0,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT subscriptions_license_id_key UNIQUE (license_id),
    CONSTRAINT subscriptions_status_check CHECK (status IN ('active', 'past_due', 'cancelled', 'expired')),
    CONSTRAINT subscriptions_price_krw_check CHECK (price_krw > 0),
    CONSTRAINT subscriptions_period_check CHECK (current_period_end > current_period_start),
    CONSTRAINT subscriptions_failed_attempts_check CHECK (failed_attempts >= 0),
    CONSTRAINT subscriptions_lease_check CHECK ((lease_owner IS NULL) = (lease_until IS NULL)),
    CONSTRAINT subscriptions_fencing_check CHECK (fencing >= 0)
);
COMMENT ON TABLE billing.subscriptions IS
    'A recurring payment of a user for a guild''s plan. ER: "pays" (user), "subscribes" (guild), "subscribed to" (plan) '
    'all ON DELETE RESTRICT; "paid by" (license, 1:0..1) and "charged via" (billing key) ON DELETE SET NULL. '
    'At most one active/past_due subscription per guild.';
COMMENT ON COLUMN billing.subscriptions.license_id IS
    'The license this subscription pays for; set when licensing reports the license it created for the subscription.';
COMMENT ON COLUMN billing.subscriptions.billing_key_id IS 'Card charged for renewals; NULL after the card is deleted (renewals then fail to past_due).';
COMMENT ON COLUMN billing.subscriptions.price_krw IS 'Price per period agreed at subscription time (plans may be repriced later by a migration).';
COMMENT ON COLUMN billing.subscriptions.next_charge_at IS 'When the renewal worker charges next (including retries); NULL = no further charge.';
COMMENT ON COLUMN billing.subscriptions.failed_attempts IS 'Consecutive failed charges of the current renewal.';
COMMENT ON COLUMN billing.subscriptions.lease_owner IS 'Renewal worker holding the row (lease); lease_until bounds it.';
COMMENT ON COLUMN billing.subscriptions.fencing IS 'Bumped on every claim; results are written only if it still matches.';
CREATE UNIQUE INDEX subscriptions_one_live_per_guild ON billing.subscriptions (guild_id) WHERE status IN ('active', 'past_due');
CREATE INDEX subscriptions_status_next_charge_at_idx ON billing.subscriptions (status, next_charge_at);
CREATE INDEX subscriptions_user_id_idx ON billing.subscriptions (user_id);
CREATE INDEX subscriptions_guild_id_idx ON billing.subscriptions (guild_id);
CREATE INDEX subscriptions_billing_key_id_idx ON billing.subscriptions (billing_key_id) WHERE billing_key_id IS NOT NULL;

CREATE TABLE billing.payment_attempts (
    id              uuid        PRIMARY KEY,
    subscription_id uuid        NOT NULL REFERENCES billing.subscriptions (id) ON DELETE RESTRICT,
    order_id        text        NOT NULL,
    idempotency_key text        NOT NULL,
    amount_krw      bigint      NOT NULL,
    period_start    timestamptz NOT NULL,
    attempt_no      integer     NOT NULL,
    status          text        NOT NULL DEFAULT 'pending',
    payment_key     text,
    failure_code    text,
    failure_message text,
    requested_at    timestamptz NOT NULL DEFAULT now(),
    completed_at    timestamptz,
    response        jsonb,
    CONSTRAINT payment_attempts_order_id_key UNIQUE (order_id),
    CONSTRAINT payment_attempts_idempotency_key_key UNIQUE (idempotency_key),
    CONSTRAINT payment_attempts_payment_key_key UNIQUE (payment_key),
    CONSTRAINT payment_attempts_period_attempt_key UNIQUE (subscription_id, period_start, attempt_no),
    CONSTRAINT payment_attempts_order_id_check CHECK (order_id ~ '^[A-Za-z0-9_=-]{6,64}$'),
    CONSTRAINT payment_attempts_amount_krw_check CHECK (amount_krw > 0),
    CONSTRAINT payment_attempts_attempt_no_check CHECK (attempt_no >= 1),
    CONSTRAINT payment_attempts_status_check CHECK (status IN ('pending', 'done', 'failed', 'cancelled')),
    CONSTRAINT payment_attempts_done_check CHECK (status <> 'done' OR payment_key IS NOT NULL),
    CONSTRAINT payment_attempts_completed_check CHECK ((status = 'pending') = (completed_at IS NULL))
);
COMMENT ON TABLE billing.payment_attempts IS
    'Every charge attempt (ER "has"; ON DELETE RESTRICT: payment records outlive everything). '
    'Written as pending BEFORE calling the provider, so a crash leaves a row to reconcile by order_id.';
COMMENT ON COLUMN billing.payment_attempts.order_id IS 'Toss orderId (6-64 chars of A-Z a-z 0-9 - _ =), unique per attempt.';
COMMENT ON COLUMN billing.payment_attempts.idempotency_key IS 'Idempotency-Key header sent with the charge.';
COMMENT ON COLUMN billing.payment_attempts.period_start IS 'Start of the subscription period this attempt pays for.';
COMMENT ON COLUMN billing.payment_attempts.status IS
    'pending = sent or about to be sent, outcome unknown; done = paid; failed = declined; cancelled = refunded/cancelled.';
COMMENT ON COLUMN billing.payment_attempts.payment_key IS 'Toss paymentKey of the resulting payment (webhooks and refunds refer to it).';
COMMENT ON COLUMN billing.payment_attempts.response IS 'The provider''s last response body (no card numbers beyond the masked form).';
CREATE INDEX payment_attempts_pending_idx ON billing.payment_attempts (requested_at) WHERE status = 'pending';
"#;

const DOWN: &str = r#"
DROP TABLE billing.payment_attempts;
DROP TABLE billing.subscriptions;
DROP TABLE billing.billing_keys;
DROP SCHEMA billing;
"#;
