//! Purpose: `recovery.restore_jobs`: a restore, from preview to its per-item report.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(schema_name = "recovery", table_name = "restore_jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub guild_id: Uuid,
    pub snapshot_id: Option<Uuid>,
    pub pre_restore_snapshot_id: Option<Uuid>,
    pub incident_id: Option<Uuid>,
    pub requested_by_discord_id: i64,
    pub confirmed_by_discord_id: Option<i64>,
    pub status: String,
    pub mode: String,
    pub components: Vec<String>,
    #[sea_orm(column_type = "JsonBinary")]
    pub plan: Json,
    /// SHA-256 of `plan`: what runs is what was previewed.
    pub plan_hash: Vec<u8>,
    #[sea_orm(column_type = "JsonBinary")]
    /// Snapshot Discord id -> live Discord id of every object created or matched.
    pub id_map: Json,
    #[sea_orm(column_type = "JsonBinary")]
    pub progress: Json,
    pub total_steps: i32,
    pub done_steps: i32,
    pub failed_steps: i32,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub error_report: Option<Json>,
    pub cancel_requested: bool,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub progress_message: Option<Json>,
    pub lease_owner: Option<String>,
    pub lease_until: Option<DateTimeWithTimeZone>,
    /// Bumped on every claim; step results are written only if it still matches.
    pub fencing: i64,
    pub heartbeat_at: Option<DateTimeWithTimeZone>,
    pub created_at: DateTimeWithTimeZone,
    pub expires_at: DateTimeWithTimeZone,
    pub confirmed_at: Option<DateTimeWithTimeZone>,
    pub started_at: Option<DateTimeWithTimeZone>,
    pub finished_at: Option<DateTimeWithTimeZone>,
    /// A risky restore confirmed by someone other than the owner: the owner's approval.
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub approval: Option<Json>,
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
        from = "Column::SnapshotId",
        to = "crate::recovery::snapshots::Column::Id",
        on_delete = "SetNull"
    )]
    Snapshot,
    #[sea_orm(
        belongs_to = "crate::recovery::snapshots::Entity",
        from = "Column::PreRestoreSnapshotId",
        to = "crate::recovery::snapshots::Column::Id",
        on_delete = "SetNull"
    )]
    PreRestoreSnapshot,
    #[sea_orm(
        belongs_to = "crate::recovery::antinuke_incidents::Entity",
        from = "Column::IncidentId",
        to = "crate::recovery::antinuke_incidents::Column::Id",
        on_delete = "SetNull"
    )]
    Incident,
}

impl Related<crate::guild::guilds::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Guild.def()
    }
}

impl Related<crate::recovery::snapshots::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Snapshot.def()
    }
}

impl Related<crate::recovery::antinuke_incidents::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Incident.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
