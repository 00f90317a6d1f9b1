//! Purpose: `billing.subscriptions`: a user's recurring payment for a guild's plan.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(schema_name = "billing", table_name = "subscriptions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub guild_id: Uuid,
    pub plan_id: Uuid,
    pub license_id: Option<Uuid>,
    pub billing_key_id: Option<Uuid>,
    pub status: String,
    pub price_krw: i64,
    pub current_period_start: DateTimeWithTimeZone,
    pub current_period_end: DateTimeWithTimeZone,
    pub next_charge_at: Option<DateTimeWithTimeZone>,
    pub cancel_at_period_end: bool,
    pub cancelled_at: Option<DateTimeWithTimeZone>,
    pub failed_attempts: i32,
    pub lease_owner: Option<String>,
    pub lease_until: Option<DateTimeWithTimeZone>,
    pub fencing: i64,
    pub created_at: DateTimeWithTimeZone,
    pub updated_at: DateTimeWithTimeZone,
    /// The plan it changes to (a downgrade at the period's end, or an upgrade being paid).
    pub next_plan_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "crate::identity::users::Entity",
        from = "Column::UserId",
        to = "crate::identity::users::Column::Id",
        on_delete = "Restrict"
    )]
    User,
    #[sea_orm(
        belongs_to = "crate::guild::guilds::Entity",
        from = "Column::GuildId",
        to = "crate::guild::guilds::Column::Id",
        on_delete = "Restrict"
    )]
    Guild,
    #[sea_orm(
        belongs_to = "crate::licensing::plans::Entity",
        from = "Column::PlanId",
        to = "crate::licensing::plans::Column::Id",
        on_delete = "Restrict"
    )]
    Plan,
    #[sea_orm(
        belongs_to = "crate::licensing::licenses::Entity",
        from = "Column::LicenseId",
        to = "crate::licensing::licenses::Column::Id",
        on_delete = "SetNull"
    )]
    License,
    #[sea_orm(
        belongs_to = "crate::billing::billing_keys::Entity",
        from = "Column::BillingKeyId",
        to = "crate::billing::billing_keys::Column::Id",
        on_delete = "SetNull"
    )]
    BillingKey,
    #[sea_orm(has_many = "crate::billing::payment_attempts::Entity")]
    PaymentAttempts,
}

impl Related<crate::identity::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl Related<crate::guild::guilds::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Guild.def()
    }
}

impl Related<crate::licensing::plans::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Plan.def()
    }
}

impl Related<crate::licensing::licenses::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::License.def()
    }
}

impl Related<crate::billing::billing_keys::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::BillingKey.def()
    }
}

impl Related<crate::billing::payment_attempts::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::PaymentAttempts.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
