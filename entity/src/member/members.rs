//! Purpose: `member.members`: one version of one guild member (versioned live-sync mirror).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(schema_name = "member", table_name = "members")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub guild_id: Uuid,
    pub discord_user_id: i64,
    pub user_id: Option<Uuid>,
    pub username: String,
    pub global_name: Option<String>,
    pub nick: Option<String>,
    pub role_ids: Vec<i64>,
    pub is_bot: bool,
    pub joined_at: Option<DateTimeWithTimeZone>,
    /// Start of this version's validity.
    pub valid_from: DateTimeWithTimeZone,
    /// End of this version's validity; `None` = the current version.
    pub valid_to: Option<DateTimeWithTimeZone>,
    /// Why the version ended: `update` (a newer version follows) or `delete` (tombstone).
    pub ended_by: Option<String>,
    /// Not versioned: last time live sync confirmed this row.
    pub synced_at: DateTimeWithTimeZone,
    /// This version is a ban (the user is banned, not a member).
    pub banned: bool,
    /// The ban's reason, when banned.
    pub ban_reason: Option<String>,
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
    #[sea_orm(
        belongs_to = "crate::identity::users::Entity",
        from = "Column::UserId",
        to = "crate::identity::users::Column::Id",
        on_delete = "SetNull"
    )]
    User,
}

impl Related<crate::guild::guilds::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Guild.def()
    }
}

impl Related<crate::identity::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
