//! Purpose: the only code that writes `recovery.antinuke_incidents`. An incident is inserted
//! once per (guild, actor, slot): under a transaction-scoped advisory lock on (guild, actor), a
//! detection merges into the actor's OPEN incident of the same slot or of the last `slot`
//! seconds (two processes, or a slot boundary) instead of making a second one. A closed
//! incident (resolved, false positive) is never reopened: a new attack is a new incident, whose
//! key takes the detection's time when the slot is taken. Status changes are conditional
//! (`WHERE status IN (...)`), so a double click or two processes change it once. Reads and plain
//! updates go through the `entity` crate; raw SQL where SeaORM has no form: the advisory lock
//! and the jsonb operators.

use chrono::{DateTime, Utc};
use entity::recovery::antinuke_incidents;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Statement,
};
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

/// An incident as stored, with the Discord id of its guild (which the caller knows or asks
/// the guild domain for: this domain does not read `guild.guilds`).
pub fn incident(m: antinuke_incidents::Model, guild_discord_id: u64) -> Incident {
    Incident {
        id: m.id,
        guild_row: m.guild_id,
        guild_discord_id,
        emergency_snapshot_id: m.emergency_snapshot_id,
        pinned_snapshot_id: m.pinned_snapshot_id,
        actor: from_db(m.actor_discord_id),
        actor_is_bot: m.actor_is_bot,
        action_class: m.action_class,
        action_count: m.action_count,
        first_action_at: m.first_action_at.with_timezone(&Utc),
        detected_at: m.detected_at.with_timezone(&Utc),
        punishment: m.punishment,
        response: m.response,
        stripped_role_ids: m.stripped_role_ids.into_iter().map(from_db).collect(),
        destroyed: serde_json::from_value(m.destroyed).unwrap_or_default(),
        status: IncidentStatus::parse(&m.status).unwrap_or(IncidentStatus::Open),
        resolved_at: m.resolved_at.map(|t| t.with_timezone(&Utc)),
        resolved_by: m.resolved_by_discord_id.map(from_db),
    }
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
    let txn = crate::db::Tx::begin_on(db).await?;
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

/// Links the emergency snapshot and the pinned pre-incident snapshot (a `None` leaves the
/// stored link as it is).
pub async fn set_snapshots<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    emergency: Option<Uuid>,
    pinned: Option<Uuid>,
) -> Result<(), DbErr> {
    let mut update = antinuke_incidents::Entity::update_many()
        .col_expr(antinuke_incidents::Column::UpdatedAt, Expr::cust("now()"))
        .filter(antinuke_incidents::Column::Id.eq(id));
    if let Some(e) = emergency {
        update = update.col_expr(
            antinuke_incidents::Column::EmergencySnapshotId,
            Expr::value(e),
        );
    }
    if let Some(p) = pinned {
        update = update.col_expr(antinuke_incidents::Column::PinnedSnapshotId, Expr::value(p));
    }
    update.exec(conn).await?;
    Ok(())
}

/// Appends steps (a JSON array) to the incident's response (raw SQL: jsonb `||`).
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
    let row = antinuke_incidents::Entity::find_by_id(id)
        .lock_exclusive()
        .one(conn)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("incident {id}")))?;
    let mut destroyed: Destroyed = serde_json::from_value(row.destroyed).unwrap_or_default();
    let before = destroyed.clone();
    destroyed.merge(more);
    if destroyed != before {
        antinuke_incidents::Entity::update_many()
            .col_expr(
                antinuke_incidents::Column::Destroyed,
                Expr::value(json_of(&destroyed)?),
            )
            .col_expr(antinuke_incidents::Column::UpdatedAt, Expr::cust("now()"))
            .filter(antinuke_incidents::Column::Id.eq(id))
            .exec(conn)
            .await?;
    }
    Ok(destroyed)
}

/// One incident.
pub async fn find<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
) -> Result<Option<antinuke_incidents::Model>, DbErr> {
    antinuke_incidents::Entity::find_by_id(id).one(conn).await
}

/// The guild's incidents, newest first.
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    guild_row: Uuid,
    limit: u32,
) -> Result<Vec<antinuke_incidents::Model>, DbErr> {
    antinuke_incidents::Entity::find()
        .filter(antinuke_incidents::Column::GuildId.eq(guild_row))
        .order_by_desc(antinuke_incidents::Column::DetectedAt)
        .limit(u64::from(limit))
        .all(conn)
        .await
}

/// Open incidents detected since `since` whose owner was not notified yet (a process died
/// between the punishment and the notification): the after-the-fact work is done again.
pub async fn unfinished<C: ConnectionTrait>(
    conn: &C,
    since: DateTime<Utc>,
) -> Result<Vec<antinuke_incidents::Model>, DbErr> {
    antinuke_incidents::Entity::find()
        .filter(antinuke_incidents::Column::Status.eq("open"))
        .filter(antinuke_incidents::Column::DetectedAt.gt(since))
        // jsonb containment has no builder form.
        .filter(Expr::cust(
            r#"NOT response @> '[{"step": "notified"}]'::jsonb"#,
        ))
        .order_by_asc(antinuke_incidents::Column::DetectedAt)
        .limit(100)
        .all(conn)
        .await
}

/// Marks the incident notified (inside the caller's transaction, with the event). Raw SQL:
/// jsonb `||` and `@>`.
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
    let resolved = matches!(to, IncidentStatus::Resolved | IncidentStatus::FalsePositive);
    let done = antinuke_incidents::Entity::update_many()
        .col_expr(antinuke_incidents::Column::Status, Expr::value(to.as_str()))
        .col_expr(
            antinuke_incidents::Column::ResolvedAt,
            if resolved {
                Expr::cust("now()")
            } else {
                Expr::value(None::<DateTime<Utc>>)
            },
        )
        .col_expr(
            antinuke_incidents::Column::ResolvedByDiscordId,
            Expr::value(if resolved { by.map(to_db) } else { None }),
        )
        .col_expr(antinuke_incidents::Column::UpdatedAt, Expr::cust("now()"))
        .filter(antinuke_incidents::Column::Id.eq(id))
        .filter(antinuke_incidents::Column::Status.is_in(from.iter().map(|s| s.as_str())))
        .exec(conn)
        .await?;
    Ok(done.rows_affected == 1)
}

/// The punished actors of the guild's incidents that are still open or restoring: a restore
/// never gives them their roles back.
pub async fn punished_actors<C: ConnectionTrait>(
    conn: &C,
    guild_row: Uuid,
) -> Result<Vec<u64>, DbErr> {
    let actors: Vec<i64> = antinuke_incidents::Entity::find()
        .select_only()
        .column(antinuke_incidents::Column::ActorDiscordId)
        .distinct()
        .filter(antinuke_incidents::Column::GuildId.eq(guild_row))
        .filter(antinuke_incidents::Column::Status.is_in(["open", "restoring"]))
        .filter(antinuke_incidents::Column::Punishment.ne("none"))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(actors.into_iter().map(from_db).collect())
}
