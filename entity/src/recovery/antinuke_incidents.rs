//! Purpose: `recovery.antinuke_incidents`: a detected nuke and Umbra's response to it.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(schema_name = "recovery", table_name = "antinuke_incidents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub guild_id: Uuid,
    pub emergency_snapshot_id: Option<Uuid>,
    pub pinned_snapshot_id: Option<Uuid>,
    pub actor_discord_id: i64,
    pub actor_is_bot: bool,
    pub action_class: String,
    pub action_count: i32,
    pub first_action_at: DateTimeWithTimeZone,
    pub detected_at: DateTimeWithTimeZone,
    /// Unique per (guild, actor): one punishment per actor and slot across processes.
    pub dedupe_slot: i64,
    pub punishment: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub response: Json,
    pub stripped_role_ids: Vec<i64>,
    #[sea_orm(column_type = "JsonBinary")]
    pub destroyed: Json,
    pub status: String,
    pub resolved_at: Option<DateTimeWithTimeZone>,
    pub resolved_by_discord_id: Option<i64>,
    pub created_at: DateTimeWithTimeZone,
    pub updated_at: DateTimeWithTimeZone,
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
        belongs_to = "crate::recovery::snapshots::Entity",
        from = "Column::EmergencySnapshotId",
        to = "crate::recovery::snapshots::Column::Id",
        on_delete = "SetNull"
    )]
    EmergencySnapshot,
    #[sea_orm(
        belongs_to = "crate::recovery::snapshots::Entity",
        from = "Column::PinnedSnapshotId",
        to = "crate::recovery::snapshots::Column::Id",
        on_delete = "SetNull"
    )]
    PinnedSnapshot,
    #[sea_orm(has_many = "crate::recovery::restore_jobs::Entity")]
    RestoreJobs,
}

impl Related<crate::guild::guilds::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Guild.def()
    }
}

impl Related<crate::recovery::snapshots::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::EmergencySnapshot.def()
    }
}

impl Related<crate::recovery::restore_jobs::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::RestoreJobs.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
