//! Purpose: the only code that writes `recovery.antinuke_incidents`. An incident is inserted
//! once per (guild, actor, slot): under a transaction-scoped advisory lock on (guild, actor), a
//! detection merges into the actor's OPEN incident of the same slot or of the last `slot`
//! seconds (two processes, or a slot boundary) instead of making a second one. A closed
//! incident (resolved, false positive) is never reopened: a new attack is a new incident, whose
//! key takes the detection's time when the slot is taken. Status changes are conditional
//! (`WHERE status IN (...)`), so a double click or two processes change it once. Raw SQL: the
//! advisory lock and the jsonb operators have no SeaORM form.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, QueryResult, Statement};
use serde_json::Value;
use uuid::Uuid;

use super::model::{Destroyed, IncidentStatus};
use crate::ids::{from_db, to_db};

fn stmt(sql: &str, values: Vec<sea_orm::Value>) -> Statement {
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

/// A detection to record.
#[derive(Debug, Clone)]
pub struct NewIncident {
    pub id: Uuid,
    pub guild_row: Uuid,
    pub actor: u64,
    pub actor_is_bot: bool,
    pub action_class: String,
    pub action_count: i32,
    pub first_action_at: DateTime<Utc>,
    pub detected_at: DateTime<Utc>,
    pub dedupe_slot: i64,
    pub slot_seconds: i64,
    /// `none` when nothing was applied.
    pub punishment: String,
    pub response: Value,
    pub stripped_role_ids: Vec<u64>,
    pub destroyed: Destroyed,
}

/// An incident as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    pub id: Uuid,
    pub guild_row: Uuid,
    pub guild_discord_id: u64,
    pub emergency_snapshot_id: Option<Uuid>,
    pub pinned_snapshot_id: Option<Uuid>,
    pub actor: u64,
    pub actor_is_bot: bool,
    pub action_class: String,
    pub action_count: i32,
    pub first_action_at: DateTime<Utc>,
    pub detected_at: DateTime<Utc>,
    pub punishment: String,
    pub response: Value,
    pub stripped_role_ids: Vec<u64>,
    pub destroyed: Destroyed,
    pub status: IncidentStatus,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolved_by: Option<u64>,
}

impl Incident {
    /// Whether the response already holds a step named `name`.
    pub fn has_step(&self, name: &str) -> bool {
        self.response
            .as_array()
            .is_some_and(|steps| steps.iter().any(|s| s["step"] == name))
    }

    /// The first 8 hex digits people see.
    pub fn short_id(&self) -> String {
        let s = self.id.simple().to_string();
        s[s.len().saturating_sub(8)..].to_owned()
    }
}

const COLUMNS: &str = "i.id, i.guild_id, g.discord_guild_id, i.emergency_snapshot_id, i.pinned_snapshot_id, \
     i.actor_discord_id, i.actor_is_bot, i.action_class, i.action_count, i.first_action_at, \
     i.detected_at, i.punishment, i.response, i.stripped_role_ids, i.destroyed, i.status, \
     i.resolved_at, i.resolved_by_discord_id";

fn incident(row: &QueryResult) -> Result<Incident, DbErr> {
    let destroyed: Value = row.try_get("", "destroyed")?;
    let status: String = row.try_get("", "status")?;
    Ok(Incident {
        id: row.try_get("", "id")?,
        guild_row: row.try_get("", "guild_id")?,
        guild_discord_id: from_db(row.try_get("", "discord_guild_id")?),
        emergency_snapshot_id: row.try_get("", "emergency_snapshot_id")?,
        pinned_snapshot_id: row.try_get("", "pinned_snapshot_id")?,
        actor: from_db(row.try_get("", "actor_discord_id")?),
        actor_is_bot: row.try_get("", "actor_is_bot")?,
        action_class: row.try_get("", "action_class")?,
        action_count: row.try_get("", "action_count")?,
        first_action_at: row.try_get("", "first_action_at")?,
        detected_at: row.try_get("", "detected_at")?,
        punishment: row.try_get("", "punishment")?,
        response: row.try_get("", "response")?,
        stripped_role_ids: row
            .try_get::<Vec<i64>>("", "stripped_role_ids")?
            .into_iter()
            .map(from_db)
            .collect(),
        destroyed: serde_json::from_value(destroyed).unwrap_or_default(),
        status: IncidentStatus::parse(&status).unwrap_or(IncidentStatus::Open),
        resolved_at: row.try_get("", "resolved_at")?,
        resolved_by: row
            .try_get::<Option<i64>>("", "resolved_by_discord_id")?
            .map(from_db),
    })
}

fn json_of(d: &Destroyed) -> Result<Value, DbErr> {
    serde_json::to_value(d).map_err(|e| DbErr::Custom(format!("encoding destroyed: {e}")))
}

/// Records a detection: inserts the incident, or merges it into the actor's incident of the
/// last `slot_seconds` (another process or an earlier detection got there first). Returns the
/// incident's id and whether it was new. Runs its own transaction.
pub async fn record(
    db: &sea_orm::DatabaseConnection,
    new: &NewIncident,
) -> Result<(Uuid, bool), DbErr> {
    let txn = crate::db::Tx::begin_on(&db).await?;
    txn.execute_raw(stmt(
        "SELECT pg_advisory_xact_lock(hashtextextended('antinuke:' || $1::text || ':' || $2::text, 0))",
        vec![new.guild_row.to_string().into(), to_db(new.actor).into()],
    ))
    .await?;
    if let Some(same) = txn
        .query_one_raw(stmt(
            "SELECT id FROM recovery.antinuke_incidents WHERE id = $1",
            vec![new.id.into()],
        ))
        .await?
    {
        // Recorded already (a retry after a lost answer, or a reconciliation).
        txn.commit().await?;
        return Ok((same.try_get("", "id")?, false));
    }
    let existing = txn
        .query_one_raw(stmt(
            "SELECT id, destroyed, stripped_role_ids FROM recovery.antinuke_incidents \
              WHERE guild_id = $1 AND actor_discord_id = $2 AND status IN ('open', 'restoring') \
                AND (dedupe_slot = $3 OR detected_at > $4 - make_interval(secs => $5)) \
              ORDER BY detected_at DESC LIMIT 1 FOR UPDATE",
            vec![
                new.guild_row.into(),
                to_db(new.actor).into(),
                new.dedupe_slot.into(),
                new.detected_at.into(),
                (new.slot_seconds as f64).into(),
            ],
        ))
        .await?;
    let result = if let Some(row) = existing {
        let id: Uuid = row.try_get("", "id")?;
        let stored: Value = row.try_get("", "destroyed")?;
        let mut destroyed: Destroyed = serde_json::from_value(stored).unwrap_or_default();
        destroyed.merge(&new.destroyed);
        let mut stripped: Vec<i64> = row.try_get("", "stripped_role_ids")?;
        for r in &new.stripped_role_ids {
            if !stripped.contains(&to_db(*r)) {
                stripped.push(to_db(*r));
            }
        }
        txn.execute_raw(stmt(
            "UPDATE recovery.antinuke_incidents SET destroyed = $2, stripped_role_ids = $3, \
                    response = response || $4, action_count = GREATEST(action_count, $5), \
                    punishment = CASE WHEN punishment = 'none' THEN $6 ELSE punishment END, \
                    updated_at = now() \
              WHERE id = $1",
            vec![
                id.into(),
                json_of(&destroyed)?.into(),
                stripped.into(),
                new.response.clone().into(),
                new.action_count.into(),
                new.punishment.clone().into(),
            ],
        ))
        .await?;
        (id, false)
    } else {
        // The slot of a closed incident is taken: this one is keyed by its detection time
        // (negative, so it never meets a slot number).
        let slot_taken = txn
            .query_one_raw(stmt(
                "SELECT 1 AS taken FROM recovery.antinuke_incidents \
                  WHERE guild_id = $1 AND actor_discord_id = $2 AND dedupe_slot = $3",
                vec![
                    new.guild_row.into(),
                    to_db(new.actor).into(),
                    new.dedupe_slot.into(),
                ],
            ))
            .await?
            .is_some();
        let slot = if slot_taken {
            -new.detected_at.timestamp_millis()
        } else {
            new.dedupe_slot
        };
        txn.execute_raw(stmt(
            "INSERT INTO recovery.antinuke_incidents \
               (id, guild_id, actor_discord_id, actor_is_bot, action_class, action_count, \
                first_action_at, detected_at, dedupe_slot, punishment, response, stripped_role_ids, destroyed) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            vec![
                new.id.into(),
                new.guild_row.into(),
                to_db(new.actor).into(),
                new.actor_is_bot.into(),
                new.action_class.clone().into(),
                new.action_count.into(),
                new.first_action_at.into(),
                new.detected_at.into(),
                slot.into(),
                new.punishment.clone().into(),
                new.response.clone().into(),
                new.stripped_role_ids
                    .iter()
                    .copied()
                    .map(to_db)
                    .collect::<Vec<i64>>()
                    .into(),
                json_of(&new.destroyed)?.into(),
            ],
        ))
        .await?;
        (new.id, true)
    };
    txn.commit().await?;
    Ok(result)
}

/// Links the emergency snapshot and the pinned pre-incident snapshot.
pub async fn set_snapshots<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    emergency: Option<Uuid>,
    pinned: Option<Uuid>,
) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        "UPDATE recovery.antinuke_incidents \
            SET emergency_snapshot_id = COALESCE($2, emergency_snapshot_id), \
                pinned_snapshot_id = COALESCE($3, pinned_snapshot_id), updated_at = now() \
          WHERE id = $1",
        vec![id.into(), emergency.into(), pinned.into()],
    ))
    .await?;
    Ok(())
}

/// Appends steps (a JSON array) to the incident's response.
pub async fn append_response<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    steps: Value,
) -> Result<(), DbErr> {
    conn.execute_raw(stmt(
        "UPDATE recovery.antinuke_incidents SET response = response || $2, updated_at = now() WHERE id = $1",
        vec![id.into(), steps.into()],
    ))
    .await?;
    Ok(())
}

/// Merges what the actor did after the detection into the incident (inside the caller's
/// transaction when given one).
pub async fn merge_destroyed<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    more: &Destroyed,
) -> Result<Destroyed, DbErr> {
    let row = conn
        .query_one_raw(stmt(
            "SELECT destroyed FROM recovery.antinuke_incidents WHERE id = $1 FOR UPDATE",
            vec![id.into()],
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("incident {id}")))?;
    let stored: Value = row.try_get("", "destroyed")?;
    let mut destroyed: Destroyed = serde_json::from_value(stored).unwrap_or_default();
    let before = destroyed.clone();
    destroyed.merge(more);
    if destroyed != before {
        conn.execute_raw(stmt(
            "UPDATE recovery.antinuke_incidents SET destroyed = $2, updated_at = now() WHERE id = $1",
            vec![id.into(), json_of(&destroyed)?.into()],
        ))
        .await?;
    }
    Ok(destroyed)
}

/// One incident.
pub async fn find<C: ConnectionTrait>(conn: &C, id: Uuid) -> Result<Option<Incident>, DbErr> {
    let sql = format!(
        "SELECT {COLUMNS} FROM recovery.antinuke_incidents AS i \
           JOIN guild.guilds AS g ON g.id = i.guild_id WHERE i.id = $1"
    );
    let row = conn.query_one_raw(stmt(&sql, vec![id.into()])).await?;
    row.as_ref().map(incident).transpose()
}

/// The guild's incidents, newest first.
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    guild_row: Uuid,
    limit: u32,
) -> Result<Vec<Incident>, DbErr> {
    let sql = format!(
        "SELECT {COLUMNS} FROM recovery.antinuke_incidents AS i \
           JOIN guild.guilds AS g ON g.id = i.guild_id \
          WHERE i.guild_id = $1 ORDER BY i.detected_at DESC LIMIT $2"
    );
    let rows = conn
        .query_all_raw(stmt(&sql, vec![guild_row.into(), i64::from(limit).into()]))
        .await?;
    rows.iter().map(incident).collect()
}

/// Open incidents detected since `since` whose owner was not notified yet (a process died
/// between the punishment and the notification): the after-the-fact work is done again.
pub async fn unfinished<C: ConnectionTrait>(
    conn: &C,
    since: DateTime<Utc>,
) -> Result<Vec<Incident>, DbErr> {
    let sql = format!(
        "SELECT {COLUMNS} FROM recovery.antinuke_incidents AS i \
           JOIN guild.guilds AS g ON g.id = i.guild_id \
          WHERE i.status = 'open' AND i.detected_at > $1 \
            AND NOT i.response @> '[{{\"step\": \"notified\"}}]'::jsonb \
          ORDER BY i.detected_at LIMIT 100"
    );
    let rows = conn.query_all_raw(stmt(&sql, vec![since.into()])).await?;
    rows.iter().map(incident).collect()
}

/// Marks the incident notified (inside the caller's transaction, with the event).
pub async fn mark_notified<C: ConnectionTrait>(conn: &C, id: Uuid) -> Result<bool, DbErr> {
    let done = conn
        .execute_raw(stmt(
            "UPDATE recovery.antinuke_incidents \
                SET response = response || '[{\"step\": \"notified\", \"ok\": true}]'::jsonb, updated_at = now() \
              WHERE id = $1 AND NOT response @> '[{\"step\": \"notified\"}]'::jsonb",
            vec![id.into()],
        ))
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Moves the incident from one of `from` to `to` (resolved states record who and when).
/// Returns false when it was not in one of `from` (already handled).
pub async fn set_status<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    from: &[IncidentStatus],
    to: IncidentStatus,
    by: Option<u64>,
) -> Result<bool, DbErr> {
    let from: Vec<String> = from.iter().map(|s| s.as_str().to_owned()).collect();
    let resolved = matches!(to, IncidentStatus::Resolved | IncidentStatus::FalsePositive);
    let done = conn
        .execute_raw(stmt(
            "UPDATE recovery.antinuke_incidents \
                SET status = $3, \
                    resolved_at = CASE WHEN $4 THEN now() ELSE NULL END, \
                    resolved_by_discord_id = CASE WHEN $4 THEN $5 ELSE NULL END, \
                    updated_at = now() \
              WHERE id = $1 AND status = ANY($2)",
            vec![
                id.into(),
                from.into(),
                to.as_str().into(),
                resolved.into(),
                by.map(to_db).into(),
            ],
        ))
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The punished actors of the guild's incidents that are still open or restoring: a restore
/// never gives them their roles back.
pub async fn punished_actors<C: ConnectionTrait>(
    conn: &C,
    guild_row: Uuid,
) -> Result<Vec<u64>, DbErr> {
    let rows = conn
        .query_all_raw(stmt(
            "SELECT DISTINCT actor_discord_id FROM recovery.antinuke_incidents \
              WHERE guild_id = $1 AND status IN ('open', 'restoring') AND punishment <> 'none'",
            vec![guild_row.into()],
        ))
        .await?;
    rows.iter()
        .map(|r| r.try_get::<i64>("", "actor_discord_id").map(from_db))
        .collect()
}
