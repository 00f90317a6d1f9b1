//! Purpose: `billing.payment_attempts`: one charge attempt, written before the provider is called.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(schema_name = "billing", table_name = "payment_attempts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub subscription_id: Uuid,
    pub order_id: String,
    pub idempotency_key: String,
    pub amount_krw: i64,
    pub period_start: DateTimeWithTimeZone,
    pub attempt_no: i32,
    pub status: String,
    pub payment_key: Option<String>,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub requested_at: DateTimeWithTimeZone,
    pub completed_at: Option<DateTimeWithTimeZone>,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub response: Option<Json>,
    /// `period` or `upgrade` (the pro-rated charge of a plan upgrade).
    pub kind: String,
    /// The plan an upgrade charge pays for.
    pub plan_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "crate::billing::subscriptions::Entity",
        from = "Column::SubscriptionId",
        to = "crate::billing::subscriptions::Column::Id",
        on_delete = "Restrict"
    )]
    Subscription,
}

impl Related<crate::billing::subscriptions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Subscription.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
