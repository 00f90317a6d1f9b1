//! Purpose: the `recovery` schema: the live-sync mirror of each guild's structure (versioned),
//! snapshots, restore jobs and AntiNuke incidents.
//!
//! Writers: recovery's sync (guild_*), snapshot (snapshots), restore (restore_jobs) and AntiNuke
//! (antinuke_incidents) parts. Everything here is operational data of one guild: ON DELETE
//! CASCADE from `guild.guilds`. Links between recovery rows use SET NULL so retention can
//! delete a snapshot without losing the job or incident that referred to it.
//!
//! Versioning of `guild_roles`, `guild_channels`, `guild_permission_overrides` and
//! `guild_settings` is the one of `member.members`: `[valid_from, valid_to)`, `valid_to IS NULL`
//! = current, `ended_by` says whether a newer version follows (`update`) or the object was
//! deleted (`delete`, the tombstone). A partial unique index keeps one current row per Discord
//! object; a partial history index on `(guild_id, valid_to)` serves "as of T" and the purge of
//! old history (done per guild). `guild_permission_overrides` has no FK to `guild_channels`:
//! channel rows are versions, not one row per channel; the Discord channel id is the link.

use crate::sql::SqlMigration;

pub(crate) const MIGRATION: SqlMigration = SqlMigration {
    name: "m20261125_000006_recovery",
    up: UP,
    down: DOWN,
};

const UP: &str = r#"
CREATE SCHEMA recovery;
COMMENT ON SCHEMA recovery IS 'Guild state mirror (versioned), snapshots, restore jobs, AntiNuke incidents (writer: recovery domain).';

-- ---------------------------------------------------------------- live-sync mirror (versioned)

CREATE TABLE recovery.guild_roles (
    id              uuid        PRIMARY KEY,
    guild_id        uuid        NOT NULL REFERENCES guild.guilds (id) ON DELETE CASCADE,
    discord_role_id bigint      NOT NULL,
    name            text        NOT NULL,
    color           integer     NOT NULL DEFAULT 0,
    secondary_color integer,
    tertiary_color  integer,
    hoist           boolean     NOT NULL DEFAULT false,
    position        integer     NOT NULL DEFAULT 0,
    permissions     bigint      NOT NULL DEFAULT 0,
    mentionable     boolean     NOT NULL DEFAULT false,
    managed         boolean     NOT NULL DEFAULT false,
    icon            text,
    unicode_emoji   text,
    tags            jsonb,
    flags           integer     NOT NULL DEFAULT 0,
    valid_from      timestamptz NOT NULL DEFAULT now(),
    valid_to        timestamptz,
    ended_by        text,
    synced_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT guild_roles_discord_role_id_check CHECK (discord_role_id > 0),
    CONSTRAINT guild_roles_color_check CHECK (
        color BETWEEN 0 AND 16777215
        AND (secondary_color IS NULL OR secondary_color BETWEEN 0 AND 16777215)
        AND (tertiary_color IS NULL OR tertiary_color BETWEEN 0 AND 16777215)),
    CONSTRAINT guild_roles_position_check CHECK (position >= 0),
    CONSTRAINT guild_roles_ended_by_check CHECK (ended_by IN ('update', 'delete')),
    CONSTRAINT guild_roles_version_closed_check CHECK ((valid_to IS NULL) = (ended_by IS NULL)),
    CONSTRAINT guild_roles_validity_check CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
COMMENT ON TABLE recovery.guild_roles IS 'Versioned mirror of a guild''s roles (see the versioning rule on member.members).';
COMMENT ON COLUMN recovery.guild_roles.color IS 'Primary colour, 0xRRGGBB (0 = none).';
COMMENT ON COLUMN recovery.guild_roles.secondary_color IS 'Gradient secondary colour (Discord colors.secondary_color), NULL = none.';
COMMENT ON COLUMN recovery.guild_roles.tertiary_color IS 'Holographic tertiary colour (Discord colors.tertiary_color), NULL = none.';
COMMENT ON COLUMN recovery.guild_roles.permissions IS 'Discord permission bitset.';
COMMENT ON COLUMN recovery.guild_roles.managed IS 'Managed by an integration or bot: never created by a restore, only mapped.';
COMMENT ON COLUMN recovery.guild_roles.tags IS 'Discord role tags (bot_id, integration_id, premium_subscriber, ...), as received.';
COMMENT ON COLUMN recovery.guild_roles.synced_at IS 'Not versioned: last time live sync confirmed this row.';
CREATE UNIQUE INDEX guild_roles_current_key ON recovery.guild_roles (guild_id, discord_role_id) WHERE valid_to IS NULL;
CREATE INDEX guild_roles_history_idx ON recovery.guild_roles (guild_id, valid_to) WHERE valid_to IS NOT NULL;

CREATE TABLE recovery.guild_channels (
    id                                 uuid        PRIMARY KEY,
    guild_id                           uuid        NOT NULL REFERENCES guild.guilds (id) ON DELETE CASCADE,
    discord_channel_id                 bigint      NOT NULL,
    kind                               smallint    NOT NULL,
    name                               text        NOT NULL,
    parent_id                          bigint,
    position                           integer     NOT NULL DEFAULT 0,
    topic                              text,
    nsfw                               boolean     NOT NULL DEFAULT false,
    rate_limit_per_user                integer     NOT NULL DEFAULT 0,
    bitrate                            integer,
    user_limit                         integer,
    rtc_region                         text,
    video_quality_mode                 smallint,
    default_auto_archive_duration      integer,
    default_thread_rate_limit_per_user integer,
    available_tags                     jsonb,
    default_reaction_emoji             jsonb,
    default_sort_order                 smallint,
    default_forum_layout               smallint,
    flags                              integer     NOT NULL DEFAULT 0,
    valid_from                         timestamptz NOT NULL DEFAULT now(),
    valid_to                           timestamptz,
    ended_by                           text,
    synced_at                          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT guild_channels_discord_channel_id_check CHECK (discord_channel_id > 0),
    CONSTRAINT guild_channels_kind_check CHECK (kind >= 0),
    CONSTRAINT guild_channels_counts_check CHECK (
        rate_limit_per_user >= 0 AND (bitrate IS NULL OR bitrate > 0) AND (user_limit IS NULL OR user_limit >= 0)),
    CONSTRAINT guild_channels_ended_by_check CHECK (ended_by IN ('update', 'delete')),
    CONSTRAINT guild_channels_version_closed_check CHECK ((valid_to IS NULL) = (ended_by IS NULL)),
    CONSTRAINT guild_channels_validity_check CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
COMMENT ON TABLE recovery.guild_channels IS 'Versioned mirror of a guild''s channels (see the versioning rule on member.members).';
COMMENT ON COLUMN recovery.guild_channels.kind IS
    'Discord channel type: 0 text, 2 voice, 4 category, 5 announcement, 13 stage, 15 forum, 16 media (others as received).';
COMMENT ON COLUMN recovery.guild_channels.parent_id IS 'Discord id of the parent category (no FK: channel rows are versions).';
COMMENT ON COLUMN recovery.guild_channels.available_tags IS 'Forum/media tags as received (restored with the channel).';
COMMENT ON COLUMN recovery.guild_channels.default_reaction_emoji IS 'Forum/media default reaction emoji as received.';
COMMENT ON COLUMN recovery.guild_channels.synced_at IS 'Not versioned: last time live sync confirmed this row.';
CREATE UNIQUE INDEX guild_channels_current_key ON recovery.guild_channels (guild_id, discord_channel_id) WHERE valid_to IS NULL;
CREATE INDEX guild_channels_history_idx ON recovery.guild_channels (guild_id, valid_to) WHERE valid_to IS NOT NULL;

CREATE TABLE recovery.guild_permission_overrides (
    id                 uuid        PRIMARY KEY,
    guild_id           uuid        NOT NULL REFERENCES guild.guilds (id) ON DELETE CASCADE,
    discord_channel_id bigint      NOT NULL,
    target_id          bigint      NOT NULL,
    target_type        smallint    NOT NULL,
    allow              bigint      NOT NULL DEFAULT 0,
    deny               bigint      NOT NULL DEFAULT 0,
    valid_from         timestamptz NOT NULL DEFAULT now(),
    valid_to           timestamptz,
    ended_by           text,
    synced_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT guild_permission_overrides_ids_check CHECK (discord_channel_id > 0 AND target_id > 0),
    CONSTRAINT guild_permission_overrides_target_type_check CHECK (target_type IN (0, 1)),
    CONSTRAINT guild_permission_overrides_ended_by_check CHECK (ended_by IN ('update', 'delete')),
    CONSTRAINT guild_permission_overrides_version_closed_check CHECK ((valid_to IS NULL) = (ended_by IS NULL)),
    CONSTRAINT guild_permission_overrides_validity_check CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
COMMENT ON TABLE recovery.guild_permission_overrides IS
    'Versioned mirror of channel permission overwrites. No FK to guild_channels: channel rows are versions; '
    'discord_channel_id is the link. A channel delete tombstones its overwrites in the same batch.';
COMMENT ON COLUMN recovery.guild_permission_overrides.target_id IS 'Role or member snowflake the overwrite applies to.';
COMMENT ON COLUMN recovery.guild_permission_overrides.target_type IS '0 = role, 1 = member (Discord overwrite type).';
COMMENT ON COLUMN recovery.guild_permission_overrides.allow IS 'Allowed permission bitset.';
COMMENT ON COLUMN recovery.guild_permission_overrides.deny IS 'Denied permission bitset.';
CREATE UNIQUE INDEX guild_permission_overrides_current_key
    ON recovery.guild_permission_overrides (guild_id, discord_channel_id, target_id) WHERE valid_to IS NULL;
CREATE INDEX guild_permission_overrides_history_idx
    ON recovery.guild_permission_overrides (guild_id, valid_to) WHERE valid_to IS NOT NULL;

CREATE TABLE recovery.guild_settings (
    id                            uuid        PRIMARY KEY,
    guild_id                      uuid        NOT NULL REFERENCES guild.guilds (id) ON DELETE CASCADE,
    name                          text        NOT NULL,
    icon                          text,
    description                   text,
    verification_level            smallint    NOT NULL DEFAULT 0,
    default_message_notifications smallint    NOT NULL DEFAULT 0,
    explicit_content_filter       smallint    NOT NULL DEFAULT 0,
    mfa_level                     smallint    NOT NULL DEFAULT 0,
    afk_channel_id                bigint,
    afk_timeout                   integer     NOT NULL DEFAULT 300,
    system_channel_id             bigint,
    system_channel_flags          integer     NOT NULL DEFAULT 0,
    rules_channel_id              bigint,
    public_updates_channel_id     bigint,
    safety_alerts_channel_id      bigint,
    preferred_locale              text        NOT NULL DEFAULT 'en-US',
    premium_progress_bar_enabled  boolean     NOT NULL DEFAULT false,
    premium_tier                  smallint    NOT NULL DEFAULT 0,
    features                      text[]      NOT NULL DEFAULT '{}',
    vanity_url_code               text,
    banner                        text,
    splash                        text,
    valid_from                    timestamptz NOT NULL DEFAULT now(),
    valid_to                      timestamptz,
    ended_by                      text,
    synced_at                     timestamptz NOT NULL DEFAULT now(),
    last_full_sync_at             timestamptz,
    sync_state                    text,
    CONSTRAINT guild_settings_levels_check CHECK (
        verification_level >= 0 AND default_message_notifications >= 0 AND explicit_content_filter >= 0
        AND mfa_level >= 0 AND premium_tier >= 0 AND afk_timeout >= 0),
    CONSTRAINT guild_settings_sync_state_check CHECK (sync_state IN ('loading', 'live', 'stale')),
    CONSTRAINT guild_settings_ended_by_check CHECK (ended_by IN ('update', 'delete')),
    CONSTRAINT guild_settings_version_closed_check CHECK ((valid_to IS NULL) = (ended_by IS NULL)),
    CONSTRAINT guild_settings_validity_check CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
COMMENT ON TABLE recovery.guild_settings IS
    'Versioned mirror of guild-level settings: one current row per guild (see the versioning rule on member.members).';
COMMENT ON COLUMN recovery.guild_settings.premium_tier IS 'Boost tier (read-only in Discord; bounds bitrate/banner when restoring).';
COMMENT ON COLUMN recovery.guild_settings.features IS 'Discord guild features (e.g. COMMUNITY: rules/updates channels need it).';
COMMENT ON COLUMN recovery.guild_settings.synced_at IS 'Not versioned: last time live sync confirmed this row.';
COMMENT ON COLUMN recovery.guild_settings.last_full_sync_at IS
    'Not versioned (carried to each new version): when the last full load (GUILD_CREATE + member chunks) completed.';
COMMENT ON COLUMN recovery.guild_settings.sync_state IS
    'Not versioned: loading = full load in progress; live = mirror follows events; stale = events may have been missed, reload needed.';
CREATE UNIQUE INDEX guild_settings_current_key ON recovery.guild_settings (guild_id) WHERE valid_to IS NULL;
CREATE INDEX guild_settings_history_idx ON recovery.guild_settings (guild_id, valid_to) WHERE valid_to IS NOT NULL;

-- ---------------------------------------------------------------- snapshots

CREATE TABLE recovery.snapshots (
    id                    uuid        PRIMARY KEY,
    guild_id              uuid        NOT NULL REFERENCES guild.guilds (id) ON DELETE CASCADE,
    trigger               text        NOT NULL,
    label                 text,
    format_version        integer     NOT NULL,
    payload               bytea       NOT NULL,
    checksum              bytea       NOT NULL,
    content_hash          bytea       NOT NULL,
    size_bytes            integer     NOT NULL,
    uncompressed_bytes    integer     NOT NULL,
    role_count            integer     NOT NULL DEFAULT 0,
    channel_count         integer     NOT NULL DEFAULT 0,
    overwrite_count       integer     NOT NULL DEFAULT 0,
    member_count          integer     NOT NULL DEFAULT 0,
    pinned                boolean     NOT NULL DEFAULT false,
    pin_reason            text,
    as_of                 timestamptz NOT NULL,
    schedule_slot         bigint,
    created_by_discord_id bigint,
    created_at            timestamptz NOT NULL DEFAULT now(),
    expires_at            timestamptz,
    CONSTRAINT snapshots_schedule_slot_key UNIQUE (guild_id, schedule_slot),
    CONSTRAINT snapshots_trigger_check CHECK (trigger IN ('manual', 'scheduled', 'pre_restore', 'emergency', 'import')),
    CONSTRAINT snapshots_schedule_slot_check CHECK ((trigger = 'scheduled') = (schedule_slot IS NOT NULL)),
    CONSTRAINT snapshots_format_version_check CHECK (format_version > 0),
    CONSTRAINT snapshots_hashes_check CHECK (octet_length(checksum) = 32 AND octet_length(content_hash) = 32),
    CONSTRAINT snapshots_size_check CHECK (size_bytes = octet_length(payload) AND uncompressed_bytes >= 0),
    CONSTRAINT snapshots_counts_check CHECK (
        role_count >= 0 AND channel_count >= 0 AND overwrite_count >= 0 AND member_count >= 0),
    CONSTRAINT snapshots_pinned_check CHECK (NOT pinned OR expires_at IS NULL),
    CONSTRAINT snapshots_pin_reason_check CHECK (pinned OR pin_reason IS NULL)
);
-- The payload is zstd-compressed already: keep TOAST from trying to compress it again.
ALTER TABLE recovery.snapshots ALTER COLUMN payload SET STORAGE EXTERNAL;
COMMENT ON TABLE recovery.snapshots IS
    'A versioned, checksummed, compressed document of a guild''s structure (ER "backed up": ON DELETE CASCADE with the guild). '
    'List snapshots with a column subset: the payload is large.';
COMMENT ON COLUMN recovery.snapshots.trigger IS 'manual, scheduled, pre_restore (taken before a restore runs), emergency (AntiNuke, state as of before the attack), import (from a file).';
COMMENT ON COLUMN recovery.snapshots.format_version IS 'Version of the snapshot document format inside payload.';
COMMENT ON COLUMN recovery.snapshots.payload IS 'zstd-compressed canonical document (roles, channels, overwrites, settings, member roles and nicknames).';
COMMENT ON COLUMN recovery.snapshots.checksum IS 'SHA-256 of payload (integrity check before a restore or export).';
COMMENT ON COLUMN recovery.snapshots.content_hash IS
    'SHA-256 of the canonical document without times: equal hashes = same guild state (skip identical scheduled snapshots).';
COMMENT ON COLUMN recovery.snapshots.size_bytes IS 'octet_length(payload).';
COMMENT ON COLUMN recovery.snapshots.uncompressed_bytes IS 'Size of the document before compression.';
COMMENT ON COLUMN recovery.snapshots.pinned IS 'Pinned snapshots (e.g. the last one before an incident) never expire and do not count against retention.';
COMMENT ON COLUMN recovery.snapshots.as_of IS 'The time whose guild state the document holds (an emergency snapshot is "as of" before the attack).';
COMMENT ON COLUMN recovery.snapshots.schedule_slot IS
    'Scheduled snapshots only: floor(epoch / interval). UNIQUE (guild_id, schedule_slot) dedupes a slot across processes (ON CONFLICT DO NOTHING).';
COMMENT ON COLUMN recovery.snapshots.created_by_discord_id IS 'Who asked for it (manual, import, restore); NULL for automatic triggers.';
COMMENT ON COLUMN recovery.snapshots.expires_at IS 'Optional hard expiry (e.g. after a guild removal); count-based plan retention is applied by the retention job.';
CREATE INDEX snapshots_guild_created_at_idx ON recovery.snapshots (guild_id, created_at DESC);
CREATE INDEX snapshots_expires_at_idx ON recovery.snapshots (expires_at) WHERE expires_at IS NOT NULL;

-- ---------------------------------------------------------------- AntiNuke incidents

CREATE TABLE recovery.antinuke_incidents (
    id                     uuid        PRIMARY KEY,
    guild_id               uuid        NOT NULL REFERENCES guild.guilds (id) ON DELETE CASCADE,
    emergency_snapshot_id  uuid        REFERENCES recovery.snapshots (id) ON DELETE SET NULL,
    pinned_snapshot_id     uuid        REFERENCES recovery.snapshots (id) ON DELETE SET NULL,
    actor_discord_id       bigint      NOT NULL,
    actor_is_bot           boolean     NOT NULL DEFAULT false,
    action_class           text        NOT NULL,
    action_count           integer     NOT NULL,
    first_action_at        timestamptz NOT NULL,
    detected_at            timestamptz NOT NULL,
    dedupe_slot            bigint      NOT NULL,
    punishment             text        NOT NULL,
    response               jsonb       NOT NULL DEFAULT '[]',
    stripped_role_ids      bigint[]    NOT NULL DEFAULT '{}',
    destroyed              jsonb       NOT NULL DEFAULT '{}',
    status                 text        NOT NULL DEFAULT 'open',
    resolved_at            timestamptz,
    resolved_by_discord_id bigint,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT antinuke_incidents_emergency_snapshot_id_key UNIQUE (emergency_snapshot_id),
    CONSTRAINT antinuke_incidents_dedupe_key UNIQUE (guild_id, actor_discord_id, dedupe_slot),
    CONSTRAINT antinuke_incidents_actor_check CHECK (actor_discord_id > 0),
    CONSTRAINT antinuke_incidents_action_class_check CHECK (action_class ~ '^[a-z][a-z0-9_]*$'),
    CONSTRAINT antinuke_incidents_action_count_check CHECK (action_count > 0),
    CONSTRAINT antinuke_incidents_times_check CHECK (first_action_at <= detected_at),
    CONSTRAINT antinuke_incidents_punishment_check
        CHECK (punishment IN ('none', 'strip_roles', 'quarantine', 'kick', 'ban')),
    CONSTRAINT antinuke_incidents_status_check CHECK (status IN ('open', 'restoring', 'resolved', 'false_positive')),
    CONSTRAINT antinuke_incidents_resolved_check CHECK ((status IN ('resolved', 'false_positive')) = (resolved_at IS NOT NULL))
);
COMMENT ON TABLE recovery.antinuke_incidents IS
    'A detected nuke (ER "detected in": ON DELETE CASCADE with the guild; "emergency": 1:0..1 snapshot, SET NULL).';
COMMENT ON COLUMN recovery.antinuke_incidents.emergency_snapshot_id IS 'Snapshot of the pre-attack state (trigger emergency), taken after detection.';
COMMENT ON COLUMN recovery.antinuke_incidents.pinned_snapshot_id IS 'The last snapshot taken before the incident, pinned so scheduled snapshots cannot push it out.';
COMMENT ON COLUMN recovery.antinuke_incidents.actor_discord_id IS 'Who did it (from GUILD_AUDIT_LOG_ENTRY_CREATE).';
COMMENT ON COLUMN recovery.antinuke_incidents.action_class IS
    'Action class that crossed its threshold: channel_delete, channel_create, role_delete, role_create, ban, kick, prune, '
    'webhook_create, permission_grant, bot_add, guild_update, ...';
COMMENT ON COLUMN recovery.antinuke_incidents.action_count IS 'Actions counted in the window when the threshold was crossed.';
COMMENT ON COLUMN recovery.antinuke_incidents.dedupe_slot IS
    'Time bucket of the detection: UNIQUE (guild_id, actor_discord_id, dedupe_slot) punishes an actor once across processes.';
COMMENT ON COLUMN recovery.antinuke_incidents.punishment IS 'First response applied (none = detection only).';
COMMENT ON COLUMN recovery.antinuke_incidents.response IS 'What was done, one entry per step (punish, lockdown, snapshot, DM), with failures.';
COMMENT ON COLUMN recovery.antinuke_incidents.stripped_role_ids IS 'Roles taken from the actor (given back on false_positive).';
COMMENT ON COLUMN recovery.antinuke_incidents.destroyed IS 'Discord ids of what the actor deleted or changed, by kind (what "restore what was destroyed" restores).';
CREATE INDEX antinuke_incidents_guild_detected_at_idx ON recovery.antinuke_incidents (guild_id, detected_at DESC);
CREATE INDEX antinuke_incidents_pinned_snapshot_id_idx ON recovery.antinuke_incidents (pinned_snapshot_id)
    WHERE pinned_snapshot_id IS NOT NULL;

-- ---------------------------------------------------------------- restore jobs

CREATE TABLE recovery.restore_jobs (
    id                      uuid        PRIMARY KEY,
    guild_id                uuid        NOT NULL REFERENCES guild.guilds (id) ON DELETE CASCADE,
    snapshot_id             uuid        REFERENCES recovery.snapshots (id) ON DELETE SET NULL,
    pre_restore_snapshot_id uuid        REFERENCES recovery.snapshots (id) ON DELETE SET NULL,
    incident_id             uuid        REFERENCES recovery.antinuke_incidents (id) ON DELETE SET NULL,
    requested_by_discord_id bigint      NOT NULL,
    confirmed_by_discord_id bigint,
    status                  text        NOT NULL DEFAULT 'previewed',
    mode                    text        NOT NULL,
    components              text[]      NOT NULL,
    plan                    jsonb       NOT NULL,
    plan_hash               bytea       NOT NULL,
    id_map                  jsonb       NOT NULL DEFAULT '{}',
    progress                jsonb       NOT NULL DEFAULT '{}',
    total_steps             integer     NOT NULL DEFAULT 0,
    done_steps              integer     NOT NULL DEFAULT 0,
    failed_steps            integer     NOT NULL DEFAULT 0,
    error_report            jsonb,
    cancel_requested        boolean     NOT NULL DEFAULT false,
    progress_message        jsonb,
    lease_owner             text,
    lease_until             timestamptz,
    fencing                 bigint      NOT NULL DEFAULT 0,
    heartbeat_at            timestamptz,
    created_at              timestamptz NOT NULL DEFAULT now(),
    expires_at              timestamptz NOT NULL,
    confirmed_at            timestamptz,
    started_at              timestamptz,
    finished_at             timestamptz,
    CONSTRAINT restore_jobs_status_check CHECK (
        status IN ('previewed', 'queued', 'running', 'completed', 'failed', 'cancelled', 'expired')),
    CONSTRAINT restore_jobs_mode_check CHECK (mode IN ('merge', 'mirror')),
    CONSTRAINT restore_jobs_components_check CHECK (cardinality(components) > 0),
    CONSTRAINT restore_jobs_plan_hash_check CHECK (octet_length(plan_hash) = 32),
    CONSTRAINT restore_jobs_json_check CHECK (jsonb_typeof(id_map) = 'object' AND jsonb_typeof(progress) = 'object'),
    CONSTRAINT restore_jobs_steps_check CHECK (
        total_steps >= 0 AND done_steps >= 0 AND failed_steps >= 0 AND done_steps + failed_steps <= total_steps),
    CONSTRAINT restore_jobs_finished_check CHECK (
        (status IN ('completed', 'failed', 'cancelled', 'expired')) = (finished_at IS NOT NULL)),
    CONSTRAINT restore_jobs_started_check CHECK (status NOT IN ('running', 'completed') OR started_at IS NOT NULL),
    CONSTRAINT restore_jobs_lease_check CHECK ((lease_owner IS NULL) = (lease_until IS NULL)),
    CONSTRAINT restore_jobs_fencing_check CHECK (fencing >= 0)
);
COMMENT ON TABLE recovery.restore_jobs IS
    'A restore: previewed -> queued (confirmed) -> running -> completed | failed | cancelled; previewed -> expired. '
    'ER "restored": ON DELETE CASCADE with the guild; "source": snapshot SET NULL. At most one queued/running job per guild.';
COMMENT ON COLUMN recovery.restore_jobs.snapshot_id IS 'Snapshot restored from (ER "source"); NULL once retention deleted it (the plan keeps what is needed).';
COMMENT ON COLUMN recovery.restore_jobs.pre_restore_snapshot_id IS 'Snapshot (trigger pre_restore) of the guild taken before this job changed anything.';
COMMENT ON COLUMN recovery.restore_jobs.incident_id IS 'Set when the job restores what an AntiNuke incident destroyed.';
COMMENT ON COLUMN recovery.restore_jobs.requested_by_discord_id IS 'Who asked for the preview.';
COMMENT ON COLUMN recovery.restore_jobs.confirmed_by_discord_id IS 'Who confirmed it (owner or trusted user).';
COMMENT ON COLUMN recovery.restore_jobs.mode IS 'merge = create/update what is missing or different, keep extras; mirror = also delete what the snapshot lacks.';
COMMENT ON COLUMN recovery.restore_jobs.components IS 'What to restore, e.g. settings, roles, channels, overwrites, members (member roles and nicknames).';
COMMENT ON COLUMN recovery.restore_jobs.plan IS 'The diff shown in the preview: ordered steps (create/update/delete/keep), counts, ETA, warnings.';
COMMENT ON COLUMN recovery.restore_jobs.plan_hash IS 'SHA-256 of plan: the confirm button carries it, so what runs is what was previewed.';
COMMENT ON COLUMN recovery.restore_jobs.id_map IS 'Snapshot Discord id -> live Discord id of every object created or matched (recorded before moving on; makes resume duplicate-free).';
COMMENT ON COLUMN recovery.restore_jobs.progress IS 'Per-step durable state (done/failed with reason), written as each step finishes.';
COMMENT ON COLUMN recovery.restore_jobs.error_report IS 'Final per-item report of failed or skipped items.';
COMMENT ON COLUMN recovery.restore_jobs.progress_message IS 'Where progress is shown: {"channel_id": .., "message_id": ..} of the message to edit.';
COMMENT ON COLUMN recovery.restore_jobs.lease_owner IS 'Runner process holding the job; lease_until bounds it, heartbeat_at shows liveness.';
COMMENT ON COLUMN recovery.restore_jobs.fencing IS 'Bumped on every claim; step results are written only if it still matches.';
COMMENT ON COLUMN recovery.restore_jobs.expires_at IS 'A preview not confirmed by then becomes expired.';
CREATE UNIQUE INDEX restore_jobs_one_active_per_guild ON recovery.restore_jobs (guild_id) WHERE status IN ('queued', 'running');
CREATE INDEX restore_jobs_status_lease_until_idx ON recovery.restore_jobs (status, lease_until);
CREATE INDEX restore_jobs_guild_created_at_idx ON recovery.restore_jobs (guild_id, created_at DESC);
CREATE INDEX restore_jobs_snapshot_id_idx ON recovery.restore_jobs (snapshot_id) WHERE snapshot_id IS NOT NULL;
CREATE INDEX restore_jobs_pre_restore_snapshot_id_idx ON recovery.restore_jobs (pre_restore_snapshot_id)
    WHERE pre_restore_snapshot_id IS NOT NULL;
CREATE INDEX restore_jobs_incident_id_idx ON recovery.restore_jobs (incident_id) WHERE incident_id IS NOT NULL;
"#;

const DOWN: &str = r#"
DROP TABLE recovery.restore_jobs;
DROP TABLE recovery.antinuke_incidents;
DROP TABLE recovery.snapshots;
DROP TABLE recovery.guild_settings;
DROP TABLE recovery.guild_permission_overrides;
DROP TABLE recovery.guild_channels;
DROP TABLE recovery.guild_roles;
DROP SCHEMA recovery;
"#;
