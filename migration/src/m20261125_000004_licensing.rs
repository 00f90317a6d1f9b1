//! Purpose: the `licensing` schema: plans (seeded here, the only writer of plan rows) and the
//! licenses that give a guild a plan's entitlements.
//!
//! Seeded plans (codes are stable identifiers; display names are English and may be localized
//! by the UI through Fluent keys derived from the code):
//!
//! | code | name | KRW / 30 days | snapshots kept | min interval | AntiNuke | member restore |
//! |------|------|---------------|----------------|--------------|----------|----------------|
//! | free | Free | 0 (not billed) | 3 | 1440 min (daily) | detection + strip_roles | 100 |
//! | pro  | Pro  | 4,900 | 20 | 360 min (6 h) | all punishments, lockdown, custom thresholds | 1,000 |
//! | max  | Max  | 9,900 | 100 | 60 min (hourly) | everything incl. auto-revert | unlimited |
//!
//! A guild without an active license is on `free`. The plan ids are fixed UUID v7-shaped literals
//! (generated once for 2026-11-25T00:00:00Z), so every installation has the same ids.

use crate::sql::SqlMigration;

pub(crate) const MIGRATION: SqlMigration = SqlMigration {
    name: "m20261125_000004_licensing",
    up: UP,
    down: DOWN,
};

const UP: &str = r#"
CREATE SCHEMA licensing;
COMMENT ON SCHEMA licensing IS 'Plans and per-guild licenses (writer: licensing domain; plans only by migrations).';

CREATE TABLE licensing.plans (
    id                            uuid        PRIMARY KEY,
    code                          text        NOT NULL,
    name                          text        NOT NULL,
    price_krw                     bigint      NOT NULL,
    billing_period_days           integer,
    snapshot_retention            integer     NOT NULL,
    min_snapshot_interval_minutes integer     NOT NULL,
    antinuke_features             jsonb       NOT NULL,
    member_restore_limit          integer,
    sort_order                    integer     NOT NULL DEFAULT 0,
    is_active                     boolean     NOT NULL DEFAULT true,
    created_at                    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT plans_code_key UNIQUE (code),
    CONSTRAINT plans_code_check CHECK (code ~ '^[a-z][a-z0-9_]*$'),
    CONSTRAINT plans_price_krw_check CHECK (price_krw >= 0),
    CONSTRAINT plans_billing_period_days_check CHECK (billing_period_days > 0),
    CONSTRAINT plans_billed_check CHECK ((price_krw = 0) = (billing_period_days IS NULL)),
    CONSTRAINT plans_snapshot_retention_check CHECK (snapshot_retention > 0),
    CONSTRAINT plans_min_snapshot_interval_check CHECK (min_snapshot_interval_minutes > 0),
    CONSTRAINT plans_antinuke_features_check CHECK (jsonb_typeof(antinuke_features) = 'object'),
    CONSTRAINT plans_member_restore_limit_check CHECK (member_restore_limit >= 0)
);
COMMENT ON TABLE licensing.plans IS 'Sellable plans and their limits. Written only by migrations (seed).';
COMMENT ON COLUMN licensing.plans.code IS 'Stable identifier (free, pro, max); also the base of the UI''s Fluent keys.';
COMMENT ON COLUMN licensing.plans.price_krw IS 'Price per billing period in KRW (integer won). 0 = free.';
COMMENT ON COLUMN licensing.plans.billing_period_days IS 'Length of one billing period; NULL exactly when the plan is free (never billed).';
COMMENT ON COLUMN licensing.plans.snapshot_retention IS 'How many unpinned snapshots a guild keeps (pinned snapshots do not count and never expire automatically).';
COMMENT ON COLUMN licensing.plans.min_snapshot_interval_minutes IS 'Shortest scheduled-snapshot interval a guild may configure.';
COMMENT ON COLUMN licensing.plans.antinuke_features IS
    '{"detection": bool, "punishments": [strip_roles|quarantine|kick|ban...], "lockdown": bool, '
    '"auto_revert": bool, "custom_thresholds": bool}';
COMMENT ON COLUMN licensing.plans.member_restore_limit IS
    'Most members one restore (or one incident''s web re-join wave) brings back: role/nickname re-assignment and '
    're-joins. NULL = unlimited.';
COMMENT ON COLUMN licensing.plans.is_active IS 'false = no longer sold; existing licenses keep working.';

INSERT INTO licensing.plans
    (id, code, name, price_krw, billing_period_days, snapshot_retention,
     min_snapshot_interval_minutes, antinuke_features, member_restore_limit, sort_order)
VALUES
    ('01a21000-8800-75b7-965b-dfbbff276a08', 'free', 'Free', 0, NULL, 3, 1440,
     '{"detection": true, "punishments": ["strip_roles"], "lockdown": false, "auto_revert": false, "custom_thresholds": false}',
     100, 0),
    ('01a21000-8801-7154-9532-4efc322f5860', 'pro', 'Pro', 4900, 30, 20, 360,
     '{"detection": true, "punishments": ["strip_roles", "quarantine", "kick", "ban"], "lockdown": true, "auto_revert": false, "custom_thresholds": true}',
     1000, 1),
    ('01a21000-8802-78e3-816d-582826bd9bcf', 'max', 'Max', 9900, 30, 100, 60,
     '{"detection": true, "punishments": ["strip_roles", "quarantine", "kick", "ban"], "lockdown": true, "auto_revert": true, "custom_thresholds": true}',
     NULL, 2);

CREATE TABLE licensing.licenses (
    id                    uuid        PRIMARY KEY,
    guild_id              uuid        NOT NULL REFERENCES guild.guilds (id) ON DELETE CASCADE,
    plan_id               uuid        NOT NULL REFERENCES licensing.plans (id) ON DELETE RESTRICT,
    status                text        NOT NULL DEFAULT 'active',
    source                text        NOT NULL,
    starts_at             timestamptz NOT NULL DEFAULT now(),
    ends_at               timestamptz,
    granted_by_discord_id bigint,
    revoked_at            timestamptz,
    revoke_reason         text,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT licenses_status_check CHECK (status IN ('active', 'expired', 'revoked')),
    CONSTRAINT licenses_source_check CHECK (source IN ('grant', 'subscription')),
    CONSTRAINT licenses_period_check CHECK (ends_at IS NULL OR ends_at > starts_at),
    CONSTRAINT licenses_subscription_ends_check CHECK (source <> 'subscription' OR ends_at IS NOT NULL),
    CONSTRAINT licenses_revoked_check CHECK ((status = 'revoked') = (revoked_at IS NOT NULL))
);
COMMENT ON TABLE licensing.licenses IS
    'A guild''s right to a plan (ER "licensed": ON DELETE CASCADE with the guild; "plan of": plans are RESTRICTed). '
    'At most one active license per guild; none = free.';
COMMENT ON COLUMN licensing.licenses.source IS
    'grant = given by the operator (billing provider none, or a gift); subscription = paid (billing.subscriptions.license_id points here).';
COMMENT ON COLUMN licensing.licenses.ends_at IS 'End of the entitlement (paid period end, plus any grace); NULL = open-ended grant.';
COMMENT ON COLUMN licensing.licenses.granted_by_discord_id IS 'Operator who granted it (source = grant), when granted from Discord.';
CREATE UNIQUE INDEX licenses_one_active_per_guild ON licensing.licenses (guild_id) WHERE status = 'active';
CREATE INDEX licenses_guild_id_idx ON licensing.licenses (guild_id);
CREATE INDEX licenses_status_ends_at_idx ON licensing.licenses (status, ends_at);
"#;

const DOWN: &str = r#"
DROP TABLE licensing.licenses;
DROP TABLE licensing.plans;
DROP SCHEMA licensing;
"#;
