//! Purpose: `licensing.plans`: a plan and its limits (rows come only from migrations).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(schema_name = "licensing", table_name = "plans")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub price_krw: i64,
    pub billing_period_days: Option<i32>,
    pub snapshot_retention: i32,
    pub min_snapshot_interval_minutes: i32,
    #[sea_orm(column_type = "JsonBinary")]
    pub antinuke_features: Json,
    pub member_restore_limit: Option<i32>,
    pub sort_order: i32,
    pub is_active: bool,
    pub created_at: DateTimeWithTimeZone,
    /// Most channels whose messages snapshots keep (0: not in the plan).
    pub message_channels: i32,
    /// Most messages kept per channel.
    pub messages_per_channel: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "crate::licensing::licenses::Entity")]
    Licenses,
    #[sea_orm(has_many = "crate::billing::subscriptions::Entity")]
    Subscriptions,
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

impl ActiveModelBehavior for ActiveModel {}
