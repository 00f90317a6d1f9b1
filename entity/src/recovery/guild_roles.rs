//! Purpose: `recovery.guild_roles`: one version of one role (versioned live-sync mirror).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(schema_name = "recovery", table_name = "guild_roles")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub guild_id: Uuid,
    pub discord_role_id: i64,
    pub name: String,
    pub color: i32,
    pub secondary_color: Option<i32>,
    pub tertiary_color: Option<i32>,
    pub hoist: bool,
    pub position: i32,
    pub permissions: i64,
    pub mentionable: bool,
    pub managed: bool,
    pub icon: Option<String>,
    pub unicode_emoji: Option<String>,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub tags: Option<Json>,
    pub flags: i32,
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
