//! Purpose: `recovery.snapshots`: a checksummed, compressed snapshot document of one guild.
//!
//! The payload is large: list snapshots with a column subset (`select_only`), not `find()`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(schema_name = "recovery", table_name = "snapshots")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub guild_id: Uuid,
    pub trigger: String,
    pub label: Option<String>,
    pub format_version: i32,
    /// zstd-compressed snapshot document.
    pub payload: Vec<u8>,
    /// SHA-256 of `payload`.
    pub checksum: Vec<u8>,
    /// SHA-256 of the canonical document without times (detects unchanged state).
    pub content_hash: Vec<u8>,
    pub size_bytes: i32,
    pub uncompressed_bytes: i32,
    pub role_count: i32,
    pub channel_count: i32,
    pub overwrite_count: i32,
    pub member_count: i32,
    pub pinned: bool,
    pub pin_reason: Option<String>,
    pub as_of: DateTimeWithTimeZone,
    /// Scheduled snapshots only: unique per guild, dedupes a slot across processes.
    pub schedule_slot: Option<i64>,
    pub created_by_discord_id: Option<i64>,
    pub created_at: DateTimeWithTimeZone,
    pub expires_at: Option<DateTimeWithTimeZone>,
    /// Bans in the document; `None` = no ban list (format 1, or bans not known then).
    pub ban_count: Option<i32>,
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
    #[sea_orm(has_many = "crate::recovery::restore_jobs::Entity")]
    RestoreJobs,
    #[sea_orm(
        has_many = "crate::recovery::restore_jobs::Entity",
        via_rel = "Relation::PreRestoreSnapshot"
    )]
    PreRestoreOf,
    #[sea_orm(has_one = "crate::recovery::antinuke_incidents::Entity")]
    EmergencyOf,
    #[sea_orm(
        has_many = "crate::recovery::antinuke_incidents::Entity",
        via_rel = "Relation::PinnedSnapshot"
    )]
    PinnedBy,
}

impl Related<crate::guild::guilds::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Guild.def()
    }
}

impl Related<crate::recovery::restore_jobs::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::RestoreJobs.def()
    }
}

impl Related<crate::recovery::antinuke_incidents::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::EmergencyOf.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
