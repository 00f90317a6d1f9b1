//! Purpose: the only code that writes `recovery.restore_jobs` — previews, confirmation,
//! expiry, cancel requests, the runner's side of the lease queue ([`QUEUE`]: claim, heartbeat,
//! release), and every step
//! result, pre-restore snapshot and final status written only while the fencing counter still
//! matches. Every statement names `recovery.restore_jobs`; events go to the outbox in the same
//! transaction as the status change they describe.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, QueryResult, Statement, Value,
};
use sqlx::Row as _;
use uuid::Uuid;

use crate::db::{Tx, query_err};
use crate::ids::{from_db, to_db};
use crate::queue::{Lease, QueueTable};
use entity::recovery::restore_jobs;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

fn stmt(sql: &str, values: Vec<Value>) -> Statement {
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

fn secs(d: Duration) -> Value {
    d.as_secs_f64().into()
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRow {
    pub id: Uuid,
    pub guild_row: Uuid,
    pub snapshot_id: Option<Uuid>,
    pub pre_restore_snapshot_id: Option<Uuid>,
    pub incident_id: Option<Uuid>,
    pub requested_by: u64,
    pub confirmed_by: Option<u64>,
    pub status: String,
    pub mode: String,
    pub components: Vec<String>,
    pub plan: serde_json::Value,
    pub plan_hash: Vec<u8>,
    pub id_map: serde_json::Value,
    pub progress: serde_json::Value,
    pub total_steps: i32,
    pub done_steps: i32,
    pub failed_steps: i32,
    pub error_report: Option<serde_json::Value>,
    pub cancel_requested: bool,
    pub progress_message: Option<serde_json::Value>,
    pub fencing: i64,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The owner's approval of a risky restore someone else confirmed.
    pub approval: Option<serde_json::Value>,
}

impl JobRow {
    /// The state of the owner's approval (`pending`, `approved`, `refused`), if one was asked.
    pub fn approval_state(&self) -> Option<&str> {
        self.approval
            .as_ref()
            .and_then(|a| a.get("state"))
            .and_then(serde_json::Value::as_str)
    }
}

const COLUMNS: &str = "id, guild_id, snapshot_id, pre_restore_snapshot_id, incident_id, \
    requested_by_discord_id, confirmed_by_discord_id, status, mode, components, plan, plan_hash, \
    id_map, progress, total_steps, done_steps, failed_steps, error_report, cancel_requested, \
    progress_message, fencing, created_at, expires_at, confirmed_at, started_at, finished_at, \
    approval";

fn utc(t: sea_orm::prelude::DateTimeWithTimeZone) -> DateTime<Utc> {
    t.with_timezone(&Utc)
}

impl From<restore_jobs::Model> for JobRow {
    fn from(m: restore_jobs::Model) -> Self {
        JobRow {
            id: m.id,
            guild_row: m.guild_id,
            snapshot_id: m.snapshot_id,
            pre_restore_snapshot_id: m.pre_restore_snapshot_id,
            incident_id: m.incident_id,
            requested_by: from_db(m.requested_by_discord_id),
            confirmed_by: m.confirmed_by_discord_id.map(from_db),
            status: m.status,
            mode: m.mode,
            components: m.components,
            plan: m.plan,
            plan_hash: m.plan_hash,
            id_map: m.id_map,
            progress: m.progress,
            total_steps: m.total_steps,
            done_steps: m.done_steps,
            failed_steps: m.failed_steps,
            error_report: m.error_report,
            cancel_requested: m.cancel_requested,
            progress_message: m.progress_message,
            fencing: m.fencing,
            created_at: utc(m.created_at),
            expires_at: utc(m.expires_at),
            confirmed_at: m.confirmed_at.map(utc),
            started_at: m.started_at.map(utc),
            finished_at: m.finished_at.map(utc),
            approval: m.approval,
        }
    }
}

/// A job as the claim's raw `RETURNING` gives it.
fn job_from(row: &QueryResult) -> Result<JobRow, DbErr> {
    Ok(JobRow {
        id: row.try_get("", "id")?,
        guild_row: row.try_get("", "guild_id")?,
        snapshot_id: row.try_get("", "snapshot_id")?,
        pre_restore_snapshot_id: row.try_get("", "pre_restore_snapshot_id")?,
        incident_id: row.try_get("", "incident_id")?,
        requested_by: from_db(row.try_get("", "requested_by_discord_id")?),
        confirmed_by: row
            .try_get::<Option<i64>>("", "confirmed_by_discord_id")?
            .map(from_db),
        status: row.try_get("", "status")?,
        mode: row.try_get("", "mode")?,
        components: row.try_get("", "components")?,
        plan: row.try_get("", "plan")?,
        plan_hash: row.try_get("", "plan_hash")?,
        id_map: row.try_get("", "id_map")?,
        progress: row.try_get("", "progress")?,
        total_steps: row.try_get("", "total_steps")?,
        done_steps: row.try_get("", "done_steps")?,
        failed_steps: row.try_get("", "failed_steps")?,
        error_report: row.try_get("", "error_report")?,
        cancel_requested: row.try_get("", "cancel_requested")?,
        progress_message: row.try_get("", "progress_message")?,
        fencing: row.try_get("", "fencing")?,
        created_at: row.try_get("", "created_at")?,
        expires_at: row.try_get("", "expires_at")?,
        confirmed_at: row.try_get("", "confirmed_at")?,
        started_at: row.try_get("", "started_at")?,
        finished_at: row.try_get("", "finished_at")?,
        approval: row.try_get("", "approval")?,
    })
}

/// A job to insert (a preview, or a confirmed job from AntiNuke).
#[derive(Debug, Clone)]
pub struct NewJob {
    pub id: Uuid,
    pub guild_row: Uuid,
    pub snapshot_id: Uuid,
    pub incident_id: Option<Uuid>,
    pub requested_by: u64,
    /// `Some`: inserted as `queued` (confirmed) instead of `previewed`.
    pub confirmed_by: Option<u64>,
    pub mode: String,
    pub components: Vec<String>,
    pub plan: serde_json::Value,
    pub plan_hash: Vec<u8>,
    pub total_steps: i32,
    pub ttl: Duration,
}

/// Whether an error is the "one queued/running job per guild" unique index.
pub fn is_active_conflict(e: &DbErr) -> bool {
    e.to_string().contains("restore_jobs_one_active_per_guild")
}

fn in_secs(d: Duration) -> Expr {
    Expr::cust_with_values("now() + make_interval(secs => $1)", [d.as_secs_f64()])
}

fn now() -> Expr {
    Expr::cust("now()")
}

fn now_utc() -> DateTime<Utc> {
    Utc::now()
}

/// Now plus `d` (saturating).
fn later(d: Duration) -> DateTime<Utc> {
    chrono::TimeDelta::from_std(d)
        .ok()
        .and_then(|d| now_utc().checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

pub async fn insert<C: ConnectionTrait>(conn: &C, job: &NewJob) -> Result<(), DbErr> {
    let confirmed = job.confirmed_by.is_some();
    let row = restore_jobs::ActiveModel {
        id: Set(job.id),
        guild_id: Set(job.guild_row),
        snapshot_id: Set(Some(job.snapshot_id)),
        incident_id: Set(job.incident_id),
        requested_by_discord_id: Set(to_db(job.requested_by)),
        confirmed_by_discord_id: Set(job.confirmed_by.map(to_db)),
        status: Set(if confirmed { "queued" } else { "previewed" }.into()),
        mode: Set(job.mode.clone()),
        components: Set(job.components.clone()),
        plan: Set(job.plan.clone()),
        plan_hash: Set(job.plan_hash.clone()),
        total_steps: Set(job.total_steps),
        // The process clock here (a preview's lifetime is minutes; later checks use the
        // database clock, and the two agree far better than that).
        expires_at: Set(later(job.ttl).into()),
        confirmed_at: Set(confirmed.then(|| now_utc().into())),
        ..Default::default()
    };
    restore_jobs::Entity::insert(row)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// A job of this guild.
pub async fn get<C: ConnectionTrait>(
    conn: &C,
    guild_row: Uuid,
    id: Uuid,
) -> Result<Option<JobRow>, DbErr> {
    let row = restore_jobs::Entity::find_by_id(id)
        .filter(restore_jobs::Column::GuildId.eq(guild_row))
        .one(conn)
        .await?;
    Ok(row.map(Into::into))
}

/// A job by id (the runner and buttons, which carry the id).
pub async fn get_any<C: ConnectionTrait>(conn: &C, id: Uuid) -> Result<Option<JobRow>, DbErr> {
    Ok(restore_jobs::Entity::find_by_id(id)
        .one(conn)
        .await?
        .map(Into::into))
}

/// The guild's jobs, newest first.
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    guild_row: Uuid,
    limit: u32,
) -> Result<Vec<JobRow>, DbErr> {
    let rows = restore_jobs::Entity::find()
        .filter(restore_jobs::Column::GuildId.eq(guild_row))
        .order_by_desc(restore_jobs::Column::CreatedAt)
        .order_by_desc(restore_jobs::Column::Id)
        .limit(u64::from(limit))
        .all(conn)
        .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// The guild's queued or running job.
pub async fn active<C: ConnectionTrait>(
    conn: &C,
    guild_row: Uuid,
) -> Result<Option<JobRow>, DbErr> {
    let row = restore_jobs::Entity::find()
        .filter(restore_jobs::Column::GuildId.eq(guild_row))
        .filter(restore_jobs::Column::Status.is_in(["queued", "running"]))
        .one(conn)
        .await?;
    Ok(row.map(Into::into))
}

/// Updates of one job.
fn job(id: Uuid) -> sea_orm::UpdateMany<restore_jobs::Entity> {
    restore_jobs::Entity::update_many().filter(restore_jobs::Column::Id.eq(id))
}

/// Updates of one job while `fencing` still holds its lease.
fn fenced(id: Uuid, fencing: i64) -> sea_orm::UpdateMany<restore_jobs::Entity> {
    job(id)
        .filter(restore_jobs::Column::Fencing.eq(fencing))
        .filter(restore_jobs::Column::Status.eq("running"))
}

/// Replaces a preview's plan (re-planned because it expired or the guild changed).
pub async fn replan<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    plan: serde_json::Value,
    plan_hash: Vec<u8>,
    total_steps: i32,
    ttl: Duration,
) -> Result<bool, DbErr> {
    let done = job(id)
        .col_expr(restore_jobs::Column::Plan, Expr::value(plan))
        .col_expr(restore_jobs::Column::PlanHash, Expr::value(plan_hash))
        .col_expr(restore_jobs::Column::TotalSteps, Expr::value(total_steps))
        .col_expr(restore_jobs::Column::ExpiresAt, in_secs(ttl))
        .filter(restore_jobs::Column::Status.eq("previewed"))
        .exec(conn)
        .await?;
    Ok(done.rows_affected == 1)
}

/// previewed -> queued, if the preview is still the one with `plan_hash` and not expired.
pub async fn confirm<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    actor: u64,
    plan_hash: &[u8],
) -> Result<bool, DbErr> {
    let done = job(id)
        .col_expr(restore_jobs::Column::Status, Expr::value("queued"))
        .col_expr(
            restore_jobs::Column::ConfirmedByDiscordId,
            Expr::value(to_db(actor)),
        )
        .col_expr(restore_jobs::Column::ConfirmedAt, now())
        .filter(restore_jobs::Column::Status.eq("previewed"))
        .filter(restore_jobs::Column::PlanHash.eq(plan_hash.to_vec()))
        .filter(Expr::col(restore_jobs::Column::ExpiresAt).gt(now()))
        .exec(conn)
        .await?;
    Ok(done.rows_affected == 1)
}

/// Marks a preview as waiting for the owner's approval (by `requested_by`, for `reasons`) and
/// keeps it open for `ttl`. False when it is no longer a preview of this plan, or already waits.
///
/// Raw SQL (as `decide_approval`): the guards read inside the `approval` jsonb (`->>`).
pub async fn request_approval<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    requested_by: u64,
    plan_hash: &[u8],
    reasons: &[&str],
    ttl: Duration,
) -> Result<bool, DbErr> {
    let approval = serde_json::json!({
        "state": "pending",
        "requested_by": requested_by.to_string(),
        "requested_at": Utc::now(),
        "reasons": reasons,
    });
    let done = conn
        .execute_raw(stmt(
            "UPDATE recovery.restore_jobs \
                SET approval = $2, expires_at = GREATEST(expires_at, now() + make_interval(secs => $4)) \
              WHERE id = $1 AND status = 'previewed' AND plan_hash = $3 AND expires_at > now() \
                AND (approval IS NULL OR approval->>'state' <> 'pending')",
            vec![id.into(), approval.into(), plan_hash.to_vec().into(), secs(ttl)],
        ))
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The owner's decision on a pending approval: `approved` also queues the job (confirmed by the
/// owner) if the plan is still the one asked about; `refused` closes the preview. False when
/// nothing was pending (decided already, expired, or the plan changed).
pub async fn decide_approval<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    owner: u64,
    approve: bool,
    plan_hash: &[u8],
) -> Result<bool, DbErr> {
    let decided = serde_json::json!({
        "state": if approve { "approved" } else { "refused" },
        "decided_by": owner.to_string(),
        "decided_at": Utc::now(),
    });
    let sql = if approve {
        "UPDATE recovery.restore_jobs \
            SET status = 'queued', confirmed_by_discord_id = $2, confirmed_at = now(), \
                approval = approval || $3 \
          WHERE id = $1 AND status = 'previewed' AND plan_hash = $4 AND expires_at > now() \
            AND approval->>'state' = 'pending'"
    } else {
        "UPDATE recovery.restore_jobs \
            SET status = 'cancelled', finished_at = now(), approval = approval || $3 \
          WHERE id = $1 AND status = 'previewed' AND approval->>'state' = 'pending' \
            AND $2::bigint IS NOT NULL AND $4::bytea IS NOT NULL"
    };
    let done = conn
        .execute_raw(stmt(
            sql,
            vec![
                id.into(),
                to_db(owner).into(),
                decided.into(),
                plan_hash.to_vec().into(),
            ],
        ))
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Ends a preview without running it (`cancelled` by its Cancel button, or `expired`).
pub async fn close_preview<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    status: &str,
) -> Result<bool, DbErr> {
    let done = job(id)
        .col_expr(restore_jobs::Column::Status, Expr::value(status))
        .col_expr(restore_jobs::Column::FinishedAt, now())
        .filter(restore_jobs::Column::Status.eq("previewed"))
        .exec(conn)
        .await?;
    Ok(done.rows_affected == 1)
}

/// Expires every preview past its time.
pub async fn expire_previews<C: ConnectionTrait>(conn: &C) -> Result<u64, DbErr> {
    let done = restore_jobs::Entity::update_many()
        .col_expr(restore_jobs::Column::Status, Expr::value("expired"))
        .col_expr(restore_jobs::Column::FinishedAt, now())
        .filter(restore_jobs::Column::Status.eq("previewed"))
        .filter(Expr::col(restore_jobs::Column::ExpiresAt).lte(now()))
        .exec(conn)
        .await?;
    Ok(done.rows_affected)
}

/// Asks the guild's queued or running job (`job`, or whichever it is) to stop. Returns it.
pub async fn request_cancel<C: ConnectionTrait>(
    conn: &C,
    guild_row: Uuid,
    job: Option<Uuid>,
) -> Result<Option<Uuid>, DbErr> {
    let mut update = restore_jobs::Entity::update_many()
        .col_expr(restore_jobs::Column::CancelRequested, Expr::value(true))
        .filter(restore_jobs::Column::GuildId.eq(guild_row))
        .filter(restore_jobs::Column::Status.is_in(["queued", "running"]));
    if let Some(id) = job {
        update = update.filter(restore_jobs::Column::Id.eq(id));
    }
    let rows = update.exec_with_returning(conn).await?;
    Ok(rows.first().map(|r| r.id))
}

/// `recovery.restore_jobs` as a lease queue: a confirmed job is `queued`, `running` under a
/// lease (heartbeats extend it), and ends `completed`, `failed` or `cancelled` with its report —
/// a job is resumed after a crash, never retried from scratch, so there is no dead state.
pub static QUEUE: QueueTable = QueueTable {
    name: "restore",
    table: "recovery.restore_jobs",
    claimable: "status = 'queued' \
                OR (status = 'running' AND (lease_until IS NULL OR lease_until < now()))",
    order: "created_at, id",
    on_claim: "status = 'running', heartbeat_at = now(), started_at = COALESCE(q.started_at, now())",
    held: "status = 'running'",
    on_release: "",
    retry: None,
    waiting: "status = 'queued' \
              OR (status = 'running' AND (lease_until IS NULL OR lease_until < now()))",
    leased: "status = 'running' AND lease_until >= now()",
    dead: "false",
};

/// Claims one job for `owner`: a queued one, or a running one whose lease expired (its runner
/// died) or was given back. Bumps the fencing counter. `first` = the job had not started
/// before (its `started_at` is this transaction's time).
pub async fn claim(tx: &Tx, owner: &str, lease: Duration) -> Result<Option<(JobRow, bool)>, DbErr> {
    let returning = format!("{COLUMNS}, started_at = now() AS first");
    let rows = QUEUE
        .claim(&mut **tx.lock().await, owner, lease, 1, &returning)
        .await
        .map_err(query_err)?;
    match rows.into_iter().next() {
        Some(row) => {
            let r = QueryResult::from(row);
            let first: bool = r.try_get("", "first")?;
            Ok(Some((job_from(&r)?, first)))
        }
        None => Ok(None),
    }
}

/// Extends the lease; `None` when the job is no longer ours (fenced out or finished), else
/// whether a cancel was requested.
pub async fn heartbeat(
    db: &DatabaseConnection,
    id: Uuid,
    fencing: i64,
    lease: Duration,
) -> Result<Option<bool>, DbErr> {
    let row = QUEUE
        .heartbeat(
            db.get_postgres_connection_pool(),
            Lease { id, fencing },
            lease,
            "heartbeat_at = now()",
            "cancel_requested",
        )
        .await
        .map_err(query_err)?;
    row.map(|r| r.try_get("cancel_requested").map_err(query_err))
        .transpose()
}

/// Writes the job's progress and id map (the whole state: the runner holding the fencing
/// counter is the only writer of these columns). `false` when fenced out.
pub async fn record<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    fencing: i64,
    progress: serde_json::Value,
    id_map: serde_json::Value,
    done: i32,
    failed: i32,
) -> Result<bool, DbErr> {
    let r = fenced(id, fencing)
        .col_expr(restore_jobs::Column::Progress, Expr::value(progress))
        .col_expr(restore_jobs::Column::IdMap, Expr::value(id_map))
        .col_expr(restore_jobs::Column::DoneSteps, Expr::value(done))
        .col_expr(restore_jobs::Column::FailedSteps, Expr::value(failed))
        .exec(conn)
        .await?;
    Ok(r.rows_affected == 1)
}

/// Records the pre-restore snapshot. `false` when fenced out.
pub async fn set_pre_restore<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    fencing: i64,
    snapshot: Uuid,
) -> Result<bool, DbErr> {
    let r = fenced(id, fencing)
        .col_expr(
            restore_jobs::Column::PreRestoreSnapshotId,
            Expr::value(snapshot),
        )
        .exec(conn)
        .await?;
    Ok(r.rows_affected == 1)
}

/// Where the job's progress is shown.
pub async fn set_progress_message<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    message: serde_json::Value,
) -> Result<(), DbErr> {
    job(id)
        .col_expr(restore_jobs::Column::ProgressMessage, Expr::value(message))
        .exec(conn)
        .await?;
    Ok(())
}

/// Ends a running (or queued) job: `completed`, `failed` or `cancelled`, with its report.
/// `fencing = None` for a queued job cancelled before any runner claimed it.
pub async fn finish<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    fencing: Option<i64>,
    status: &str,
    report: serde_json::Value,
) -> Result<bool, DbErr> {
    let mut update = job(id)
        .col_expr(restore_jobs::Column::Status, Expr::value(status))
        .col_expr(restore_jobs::Column::ErrorReport, Expr::value(report))
        .col_expr(restore_jobs::Column::FinishedAt, now())
        .col_expr(
            restore_jobs::Column::StartedAt,
            Expr::cust("COALESCE(started_at, now())"),
        )
        .col_expr(
            restore_jobs::Column::LeaseOwner,
            Expr::value(None::<String>),
        )
        .col_expr(
            restore_jobs::Column::LeaseUntil,
            Expr::value(None::<DateTime<Utc>>),
        )
        .filter(restore_jobs::Column::Status.is_in(["queued", "running"]));
    if let Some(fencing) = fencing {
        update = update.filter(restore_jobs::Column::Fencing.eq(fencing));
    }
    let r = update.exec(conn).await?;
    Ok(r.rows_affected == 1)
}

/// Gives the lease back (a clean shutdown): another runner may take the job at once.
pub async fn release(db: &DatabaseConnection, id: Uuid, fencing: i64) -> Result<(), DbErr> {
    QUEUE
        .release(db.get_postgres_connection_pool(), Lease { id, fencing })
        .await
        .map_err(query_err)?;
    Ok(())
}
