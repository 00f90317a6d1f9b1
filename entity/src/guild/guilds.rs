//! Purpose: `guild.guilds`: a Discord guild Umbra is (or was) installed in.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(schema_name = "guild", table_name = "guilds")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub discord_guild_id: i64,
    pub owner_user_id: Uuid,
    pub name: String,
    pub icon: Option<String>,
    pub status: String,
    pub installed_at: DateTimeWithTimeZone,
    pub removed_at: Option<DateTimeWithTimeZone>,
    pub purge_after: Option<DateTimeWithTimeZone>,
    pub created_at: DateTimeWithTimeZone,
    pub updated_at: DateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "crate::identity::users::Entity",
        from = "Column::OwnerUserId",
        to = "crate::identity::users::Column::Id",
        on_delete = "Restrict"
    )]
    Owner,
    #[sea_orm(has_one = "crate::guild::guild_configs::Entity")]
    Config,
    #[sea_orm(has_many = "crate::member::members::Entity")]
    Members,
    #[sea_orm(has_many = "crate::member::web_join_requests::Entity")]
    WebJoinRequests,
    #[sea_orm(has_many = "crate::licensing::licenses::Entity")]
    Licenses,
    #[sea_orm(has_many = "crate::billing::subscriptions::Entity")]
    Subscriptions,
    #[sea_orm(has_many = "crate::recovery::guild_roles::Entity")]
    Roles,
    #[sea_orm(has_many = "crate::recovery::guild_channels::Entity")]
    Channels,
    #[sea_orm(has_many = "crate::recovery::guild_permission_overrides::Entity")]
    PermissionOverrides,
    #[sea_orm(has_many = "crate::recovery::guild_settings::Entity")]
    Settings,
    #[sea_orm(has_many = "crate::recovery::snapshots::Entity")]
    Snapshots,
    #[sea_orm(has_many = "crate::recovery::restore_jobs::Entity")]
    RestoreJobs,
    #[sea_orm(has_many = "crate::recovery::antinuke_incidents::Entity")]
    AntinukeIncidents,
    #[sea_orm(has_many = "crate::audit::events::Entity")]
    AuditEvents,
    #[sea_orm(has_many = "crate::notification::requests::Entity")]
    NotificationRequests,
}

impl Related<crate::identity::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Owner.def()
    }
}

impl Related<crate::guild::guild_configs::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Config.def()
    }
}

impl Related<crate::member::members::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Members.def()
    }
}

impl Related<crate::member::web_join_requests::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::WebJoinRequests.def()
    }
}

impl Related<crate::licensing::licenses::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Licenses.def()
    }
}

impl Related<crate::billing::subscriptions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Subscriptions.def()
    }
}

impl Related<crate::recovery::guild_roles::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Roles.def()
    }
}

impl Related<crate::recovery::guild_channels::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Channels.def()
    }
}

impl Related<crate::recovery::guild_permission_overrides::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::PermissionOverrides.def()
    }
}

impl Related<crate::recovery::guild_settings::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Settings.def()
    }
}

impl Related<crate::recovery::snapshots::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Snapshots.def()
    }
}

impl Related<crate::recovery::restore_jobs::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::RestoreJobs.def()
    }
}

impl Related<crate::recovery::antinuke_incidents::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::AntinukeIncidents.def()
    }
}

impl Related<crate::audit::events::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::AuditEvents.def()
    }
}

impl Related<crate::notification::requests::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::NotificationRequests.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
