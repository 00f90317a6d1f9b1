//! Purpose: the only code that writes `licensing.licenses` (plans are written by migrations).

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, QueryResult, Statement};
use uuid::Uuid;

use super::model::{AntinukeFeatures, LicenseInfo, Plan};
use crate::ids::{from_db, to_db};

fn stmt(sql: &str, values: Vec<sea_orm::Value>) -> Statement {
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

const PLAN_COLUMNS: &str = "p.id, p.code, p.name, p.price_krw, p.billing_period_days, \
     p.snapshot_retention, p.min_snapshot_interval_minutes, p.antinuke_features, p.member_restore_limit";

fn plan(row: &QueryResult) -> Result<Plan, DbErr> {
    let features: serde_json::Value = row.try_get("", "antinuke_features")?;
    Ok(Plan {
        id: row.try_get("", "id")?,
        code: row.try_get("", "code")?,
        name: row.try_get("", "name")?,
        price_krw: row.try_get("", "price_krw")?,
        billing_period_days: row.try_get("", "billing_period_days")?,
        snapshot_retention: u32::try_from(row.try_get::<i32>("", "snapshot_retention")?)
            .unwrap_or(0),
        min_snapshot_interval_minutes: u32::try_from(
            row.try_get::<i32>("", "min_snapshot_interval_minutes")?,
        )
        .unwrap_or(0),
        antinuke: serde_json::from_value::<AntinukeFeatures>(features).unwrap_or_default(),
        member_restore_limit: row
            .try_get::<Option<i32>>("", "member_restore_limit")?
            .and_then(|n| u32::try_from(n).ok()),
    })
}

pub async fn plans<C: ConnectionTrait>(conn: &C) -> Result<Vec<Plan>, DbErr> {
    let sql = format!(
        "SELECT {PLAN_COLUMNS} FROM licensing.plans AS p WHERE p.is_active ORDER BY p.sort_order, p.price_krw"
    );
    let rows = conn.query_all_raw(stmt(&sql, vec![])).await?;
    rows.iter().map(plan).collect()
}

pub async fn plan_by_code<C: ConnectionTrait>(conn: &C, code: &str) -> Result<Option<Plan>, DbErr> {
    let sql = format!("SELECT {PLAN_COLUMNS} FROM licensing.plans AS p WHERE p.code = $1");
    let row = conn.query_one_raw(stmt(&sql, vec![code.into()])).await?;
    row.as_ref().map(plan).transpose()
}

/// The guild's active, unexpired license with its plan (`guild_row_id` is guild.guilds.id).
pub async fn active_license<C: ConnectionTrait>(
    conn: &C,
    guild_row_id: Uuid,
    lock: bool,
) -> Result<Option<(LicenseInfo, Plan)>, DbErr> {
    let sql = format!(
        "SELECT l.id AS license_id, l.source, l.starts_at, l.ends_at, l.granted_by_discord_id, {PLAN_COLUMNS} \
           FROM licensing.licenses AS l JOIN licensing.plans AS p ON p.id = l.plan_id \
          WHERE l.guild_id = $1 AND l.status = 'active' AND (l.ends_at IS NULL OR l.ends_at > now()) {}",
        if lock { "FOR UPDATE OF l" } else { "" }
    );
    let row = conn
        .query_one_raw(stmt(&sql, vec![guild_row_id.into()]))
        .await?;
    let Some(row) = row else { return Ok(None) };
    let info = LicenseInfo {
        id: row.try_get("", "license_id")?,
        source: row.try_get("", "source")?,
        starts_at: row.try_get::<DateTime<Utc>>("", "starts_at")?,
        ends_at: row.try_get::<Option<DateTime<Utc>>>("", "ends_at")?,
        granted_by_discord_id: row
            .try_get::<Option<i64>>("", "granted_by_discord_id")?
            .map(from_db),
    };
    Ok(Some((info, plan(&row)?)))
}

/// Ends every active license of the guild (`revoked`, with a reason). Returns their plan codes.
pub async fn revoke_active<C: ConnectionTrait>(
    txn: &C,
    guild_row_id: Uuid,
    reason: &str,
) -> Result<Vec<String>, DbErr> {
    let rows = txn
        .query_all_raw(stmt(
            "UPDATE licensing.licenses AS l SET status = 'revoked', revoked_at = now(), revoke_reason = $2, updated_at = now() \
               FROM licensing.plans AS p \
              WHERE l.guild_id = $1 AND l.status = 'active' AND p.id = l.plan_id \
             RETURNING p.code",
            vec![guild_row_id.into(), reason.into()],
        ))
        .await?;
    rows.iter().map(|r| r.try_get("", "code")).collect()
}

/// Inserts an active license. Returns its id.
pub async fn insert_grant<C: ConnectionTrait>(
    txn: &C,
    guild_row_id: Uuid,
    plan_id: Uuid,
    ends_at: Option<DateTime<Utc>>,
    granted_by: u64,
) -> Result<Uuid, DbErr> {
    let id = Uuid::now_v7();
    txn.execute_raw(stmt(
        "INSERT INTO licensing.licenses (id, guild_id, plan_id, status, source, starts_at, ends_at, granted_by_discord_id) \
         VALUES ($1, $2, $3, 'active', 'grant', now(), $4, $5)",
        vec![
            id.into(),
            guild_row_id.into(),
            plan_id.into(),
            ends_at.into(),
            to_db(granted_by).into(),
        ],
    ))
    .await?;
    Ok(id)
}

/// Marks active licenses past their end as expired. Returns (guild row id, plan code).
pub async fn expire_due<C: ConnectionTrait>(txn: &C) -> Result<Vec<(Uuid, String)>, DbErr> {
    let rows = txn
        .query_all_raw(stmt(
            "UPDATE licensing.licenses AS l SET status = 'expired', updated_at = now() \
               FROM licensing.plans AS p \
              WHERE l.status = 'active' AND l.ends_at IS NOT NULL AND l.ends_at <= now() \
                AND p.id = l.plan_id \
             RETURNING l.guild_id, p.code",
            vec![],
        ))
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("", "guild_id")?, r.try_get("", "code")?)))
        .collect()
}
