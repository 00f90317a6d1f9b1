//! Purpose: `member.web_join_requests`: one web re-join attempt (OAuth2 `guilds.join`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(schema_name = "member", table_name = "web_join_requests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub guild_id: Uuid,
    pub user_id: Option<Uuid>,
    pub discord_user_id: Option<i64>,
    /// SHA-256 of the OAuth `state`.
    pub state_hash: Vec<u8>,
    /// AES-256-GCM ciphertext (associated data: the row id; key: `key_id`); wiped after use.
    pub pkce_verifier_enc: Option<Vec<u8>>,
    pub key_id: Option<String>,
    pub status: String,
    pub failure_code: Option<String>,
    pub restored_role_ids: Vec<i64>,
    pub restored_nick: Option<String>,
    pub created_at: DateTimeWithTimeZone,
    pub expires_at: DateTimeWithTimeZone,
    pub completed_at: Option<DateTimeWithTimeZone>,
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
