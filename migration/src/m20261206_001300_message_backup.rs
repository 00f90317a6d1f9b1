//! Purpose: message backups within the seed's tables (issue 16) — which channels' last
//! messages a guild's snapshots keep (`guild.guild_configs.message_channel_ids`, opt-in: empty =
//! off; `message_limit`, NULL = the plan's most) and what each plan allows
//! (`licensing.plans.message_channels`, `messages_per_channel`; 0 = not included). The messages
//! themselves live in the snapshot documents (`recovery.snapshots.payload`), never in a table.

use crate::sql::SqlMigration;

pub(crate) const MIGRATION: SqlMigration = SqlMigration {
    name: "m20261206_001300_message_backup",
    up: UP,
    down: DOWN,
};

const UP: &str = r#"
ALTER TABLE guild.guild_configs
    ADD COLUMN message_channel_ids bigint[] NOT NULL DEFAULT '{}',
    ADD COLUMN message_limit       integer,
    ADD CONSTRAINT guild_configs_message_limit_check CHECK (message_limit > 0);
COMMENT ON COLUMN guild.guild_configs.message_channel_ids IS
    'Channels whose last messages each snapshot keeps (opt-in, /backup messages); empty = message backups off.';
COMMENT ON COLUMN guild.guild_configs.message_limit IS
    'How many of each channel''s last messages a snapshot keeps; NULL = the plan''s messages_per_channel.';

ALTER TABLE licensing.plans
    ADD COLUMN message_channels     integer NOT NULL DEFAULT 0,
    ADD COLUMN messages_per_channel integer NOT NULL DEFAULT 0,
    ADD CONSTRAINT plans_message_channels_check CHECK (message_channels >= 0),
    ADD CONSTRAINT plans_messages_per_channel_check CHECK (messages_per_channel >= 0);
COMMENT ON COLUMN licensing.plans.message_channels IS 'Most channels whose messages a guild''s snapshots keep; 0 = not in the plan.';
COMMENT ON COLUMN licensing.plans.messages_per_channel IS 'Most messages kept per channel and snapshot.';
UPDATE licensing.plans SET message_channels = 2,  messages_per_channel = 50   WHERE code = 'free';
UPDATE licensing.plans SET message_channels = 10, messages_per_channel = 250  WHERE code = 'pro';
UPDATE licensing.plans SET message_channels = 50, messages_per_channel = 1000 WHERE code = 'max';
"#;

const DOWN: &str = r#"
ALTER TABLE licensing.plans DROP CONSTRAINT plans_messages_per_channel_check,
    DROP CONSTRAINT plans_message_channels_check,
    DROP COLUMN messages_per_channel, DROP COLUMN message_channels;
ALTER TABLE guild.guild_configs DROP CONSTRAINT guild_configs_message_limit_check,
    DROP COLUMN message_limit, DROP COLUMN message_channel_ids;
"#;
