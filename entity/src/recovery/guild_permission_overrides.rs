//! Purpose: `recovery.guild_permission_overrides`: one version of one channel permission overwrite.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(schema_name = "recovery", table_name = "guild_permission_overrides")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub guild_id: Uuid,
    pub discord_channel_id: i64,
    pub target_id: i64,
    pub target_type: i16,
    pub allow: i64,
    pub deny: i64,
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
