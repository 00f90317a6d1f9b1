//! Purpose: `guild.guild_configs`: per-guild settings (1:1 with the guild).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(schema_name = "guild", table_name = "guild_configs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub guild_id: Uuid,
    pub locale: Option<String>,
    pub log_channel_id: Option<i64>,
    pub trusted_user_ids: Vec<i64>,
    pub trusted_role_ids: Vec<i64>,
    pub snapshot_interval_minutes: Option<i32>,
    pub web_join_enabled: bool,
    pub antinuke_enabled: bool,
    #[sea_orm(column_type = "JsonBinary")]
    pub antinuke_thresholds: Json,
    pub antinuke_punishment: String,
    pub antinuke_quarantine_role_id: Option<i64>,
    pub antinuke_lockdown: bool,
    pub antinuke_auto_revert: bool,
    pub antinuke_whitelist_user_ids: Vec<i64>,
    pub antinuke_whitelist_role_ids: Vec<i64>,
    pub version: i32,
    #[sea_orm(column_type = "JsonBinary")]
    pub pending_changes: Json,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub protection_health: Option<Json>,
    pub created_at: DateTimeWithTimeZone,
    pub updated_at: DateTimeWithTimeZone,
    /// The role given to members who link on the re-join page ("verified").
    pub web_join_role_id: Option<i64>,
    /// Channels whose last messages snapshots keep (empty: off).
    pub message_channel_ids: Vec<i64>,
    /// Messages kept per channel; `None`: the plan's most.
    pub message_limit: Option<i32>,
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
