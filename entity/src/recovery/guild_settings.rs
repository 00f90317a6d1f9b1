//! Purpose: `recovery.guild_settings`: one version of a guild's settings (one current row per guild).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(schema_name = "recovery", table_name = "guild_settings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub guild_id: Uuid,
    pub name: String,
    pub icon: Option<String>,
    pub description: Option<String>,
    pub verification_level: i16,
    pub default_message_notifications: i16,
    pub explicit_content_filter: i16,
    pub mfa_level: i16,
    pub afk_channel_id: Option<i64>,
    pub afk_timeout: i32,
    pub system_channel_id: Option<i64>,
    pub system_channel_flags: i32,
    pub rules_channel_id: Option<i64>,
    pub public_updates_channel_id: Option<i64>,
    pub safety_alerts_channel_id: Option<i64>,
    pub preferred_locale: String,
    pub premium_progress_bar_enabled: bool,
    pub premium_tier: i16,
    pub features: Vec<String>,
    pub vanity_url_code: Option<String>,
    pub banner: Option<String>,
    pub splash: Option<String>,
    /// Start of this version's validity.
    pub valid_from: DateTimeWithTimeZone,
    /// End of this version's validity; `None` = the current version.
    pub valid_to: Option<DateTimeWithTimeZone>,
    /// Why the version ended: `update` (a newer version follows) or `delete` (tombstone).
    pub ended_by: Option<String>,
    /// Not versioned: last time live sync confirmed this row.
    pub synced_at: DateTimeWithTimeZone,
    pub last_full_sync_at: Option<DateTimeWithTimeZone>,
    pub sync_state: Option<String>,
    /// Not versioned: when the whole ban list was first loaded (earlier bans are unknown).
    pub bans_known_since: Option<DateTimeWithTimeZone>,
    /// Custom emojis `[{id, name, roles, animated}]` by id (versioned with the settings).
    #[sea_orm(column_type = "JsonBinary")]
    pub emojis: Json,
    pub discovery_splash: Option<String>,
    #[sea_orm(column_type = "JsonBinary")]
    pub stickers: Json,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub automod: Option<Json>,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub scheduled_events: Option<Json>,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub welcome_screen: Option<Json>,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub onboarding: Option<Json>,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub webhooks: Option<Json>,
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
