//! Purpose: `recovery.guild_channels`: one version of one channel (versioned live-sync mirror).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(schema_name = "recovery", table_name = "guild_channels")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub guild_id: Uuid,
    pub discord_channel_id: i64,
    pub kind: i16,
    pub name: String,
    pub parent_id: Option<i64>,
    pub position: i32,
    pub topic: Option<String>,
    pub nsfw: bool,
    pub rate_limit_per_user: i32,
    pub bitrate: Option<i32>,
    pub user_limit: Option<i32>,
    pub rtc_region: Option<String>,
    pub video_quality_mode: Option<i16>,
    pub default_auto_archive_duration: Option<i32>,
    pub default_thread_rate_limit_per_user: Option<i32>,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub available_tags: Option<Json>,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub default_reaction_emoji: Option<Json>,
    pub default_sort_order: Option<i16>,
    pub default_forum_layout: Option<i16>,
    pub flags: i32,
    /// Threads (kind 10-12) only: archived, locked, auto_archive_duration, invitable,
    /// applied_tags.
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub thread: Option<Json>,
    /// Start of this version's validity.
    pub valid_from: DateTimeWithTimeZone,
    /// End of this version's validity; `None` = the current version.
    pub valid_to: Option<DateTimeWithTimeZone>,
    /// Why the version ended: `update` (a newer version follows) or `delete` (tombstone).
    pub ended_by: Option<String>,
    /// Not versioned: last time live sync confirmed this row.
    pub synced_at: DateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "crate::guild::guilds::Entity",
        from = "Column::GuildId",
        to = "crate::guild::guilds::Column::Id",
        on_delete = "Cascade"
    )]
    Guild,
}

impl Related<crate::guild::guilds::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Guild.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
