//! Purpose: `identity.users`: one row per Discord user known to Umbra.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(schema_name = "identity", table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub discord_user_id: i64,
    pub username: Option<String>,
    pub global_name: Option<String>,
    pub avatar: Option<String>,
    pub locale: Option<String>,
    pub is_bot: bool,
    /// AES-256-GCM ciphertext (associated data: the row id; key: `oauth_key_id`).
    pub oauth_access_token_enc: Option<Vec<u8>>,
    /// AES-256-GCM ciphertext (associated data: the row id; key: `oauth_key_id`).
    pub oauth_refresh_token_enc: Option<Vec<u8>>,
    pub oauth_key_id: Option<String>,
    pub oauth_scopes: Vec<String>,
    pub oauth_expires_at: Option<DateTimeWithTimeZone>,
    pub oauth_revoked_at: Option<DateTimeWithTimeZone>,
    /// Compare-and-swap guard: bumped on every token write.
    pub oauth_token_version: i64,
    pub last_login_at: Option<DateTimeWithTimeZone>,
    pub created_at: DateTimeWithTimeZone,
    pub updated_at: DateTimeWithTimeZone,
    pub deleted_at: Option<DateTimeWithTimeZone>,
    /// Nonce of the user's one open subscribe link (cleared when used).
    pub subscribe_link_nonce: Option<Uuid>,
    /// The token-refresh worker holding the row, and until when.
    pub lease_owner: Option<String>,
    pub lease_until: Option<DateTimeWithTimeZone>,
    pub fencing: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "crate::identity::sessions::Entity")]
    Sessions,
    #[sea_orm(has_many = "crate::guild::guilds::Entity")]
    OwnedGuilds,
    #[sea_orm(has_many = "crate::member::members::Entity")]
    Members,
    #[sea_orm(has_many = "crate::member::web_join_requests::Entity")]
    WebJoinRequests,
    #[sea_orm(has_many = "crate::billing::billing_keys::Entity")]
    BillingKeys,
    #[sea_orm(has_many = "crate::billing::subscriptions::Entity")]
    Subscriptions,
    #[sea_orm(has_many = "crate::audit::events::Entity")]
    AuditEvents,
    #[sea_orm(has_one = "crate::notification::preferences::Entity")]
    Preferences,
}

impl Related<crate::identity::sessions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Sessions.def()
    }
}

impl Related<crate::guild::guilds::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::OwnedGuilds.def()
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

impl Related<crate::billing::billing_keys::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::BillingKeys.def()
    }
}

impl Related<crate::billing::subscriptions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Subscriptions.def()
    }
}

impl Related<crate::audit::events::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::AuditEvents.def()
    }
}

impl Related<crate::notification::preferences::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Preferences.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
