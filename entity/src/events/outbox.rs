//! Purpose: `events.outbox`: an event written in the same transaction as the change that caused it.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(schema_name = "events", table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub event_type: String,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub guild_discord_id: Option<i64>,
    #[sea_orm(column_type = "JsonBinary")]
    pub payload: Json,
    pub occurred_at: DateTimeWithTimeZone,
    pub available_at: DateTimeWithTimeZone,
    pub published_at: Option<DateTimeWithTimeZone>,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub dead_at: Option<DateTimeWithTimeZone>,
    /// Consumers that already handled the event.
    pub delivered_to: Vec<String>,
    pub lease_owner: Option<String>,
    pub lease_until: Option<DateTimeWithTimeZone>,
    pub fencing: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
