//! Purpose: `notification.requests`: a message to deliver (DM first, log channel as fallback).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(schema_name = "notification", table_name = "requests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub guild_id: Option<Uuid>,
    pub recipient_discord_id: i64,
    pub kind: String,
    pub category: String,
    pub template_key: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub args: Json,
    pub locale: Option<String>,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTimeWithTimeZone,
    pub last_error: Option<String>,
    pub delivered_via: Option<String>,
    pub sent_channel_id: Option<i64>,
    pub sent_message_id: Option<i64>,
    pub sent_at: Option<DateTimeWithTimeZone>,
    pub dedupe_key: String,
    pub lease_owner: Option<String>,
    pub lease_until: Option<DateTimeWithTimeZone>,
    pub fencing: i64,
    pub created_at: DateTimeWithTimeZone,
    pub updated_at: DateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "crate::guild::guilds::Entity",
        from = "Column::GuildId",
        to = "crate::guild::guilds::Column::Id",
        on_delete = "SetNull"
    )]
    Guild,
}

impl Related<crate::guild::guilds::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Guild.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
