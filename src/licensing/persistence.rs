//! Purpose: the only code that writes `licensing.licenses` (plans are written by migrations),
//! through the `entity` crate.

use chrono::{DateTime, Utc};
use entity::licensing::{licenses, plans};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbErr,
    EntityTrait, QueryFilter, QueryOrder,
};
use uuid::Uuid;

use super::model::{AntinukeFeatures, LicenseInfo, Plan};
use crate::ids::{from_db, to_db};

fn plan(m: plans::Model) -> Plan {
    Plan {
        id: m.id,
        code: m.code,
        name: m.name,
        price_krw: m.price_krw,
        billing_period_days: m.billing_period_days,
        snapshot_retention: u32::try_from(m.snapshot_retention).unwrap_or(0),
        min_snapshot_interval_minutes: u32::try_from(m.min_snapshot_interval_minutes).unwrap_or(0),
        antinuke: serde_json::from_value::<AntinukeFeatures>(m.antinuke_features)
            .unwrap_or_default(),
        member_restore_limit: m.member_restore_limit.and_then(|n| u32::try_from(n).ok()),
        message_channels: u32::try_from(m.message_channels).unwrap_or(0),
        messages_per_channel: u32::try_from(m.messages_per_channel).unwrap_or(0),
    }
}

fn license(m: &licenses::Model) -> LicenseInfo {
    LicenseInfo {
        id: m.id,
        source: m.source.clone(),
        starts_at: m.starts_at.with_timezone(&Utc),
        ends_at: m.ends_at.map(|t| t.with_timezone(&Utc)),
        granted_by_discord_id: m.granted_by_discord_id.map(from_db),
    }
}

/// The plans on sale, in display order.
pub async fn plans<C: ConnectionTrait>(conn: &C) -> Result<Vec<Plan>, DbErr> {
    let rows = plans::Entity::find()
        .filter(plans::Column::IsActive.eq(true))
        .order_by_asc(plans::Column::SortOrder)
        .order_by_asc(plans::Column::PriceKrw)
        .all(conn)
        .await?;
    Ok(rows.into_iter().map(plan).collect())
}

pub async fn plan_by_code<C: ConnectionTrait>(conn: &C, code: &str) -> Result<Option<Plan>, DbErr> {
    let row = plans::Entity::find()
        .filter(plans::Column::Code.eq(code))
        .one(conn)
        .await?;
    Ok(row.map(plan))
}

/// Active licenses that have not ended.
fn current() -> Condition {
    Condition::all()
        .add(licenses::Column::Status.eq("active"))
        .add(
            Condition::any()
                .add(licenses::Column::EndsAt.is_null())
                .add(
                    Expr::col((licenses::Entity, licenses::Column::EndsAt)).gt(Expr::cust("now()")),
                ),
        )
}

/// The guild's active, unexpired license with its plan (`guild_row_id` is guild.guilds.id).
pub async fn active_license<C: ConnectionTrait>(
    conn: &C,
    guild_row_id: Uuid,
) -> Result<Option<(LicenseInfo, Plan)>, DbErr> {
    let row = licenses::Entity::find()
        .filter(licenses::Column::GuildId.eq(guild_row_id))
        .filter(current())
        .find_also_related(plans::Entity)
        .one(conn)
        .await?;
    Ok(match row {
        Some((l, Some(p))) => Some((license(&l), plan(p))),
        _ => None,
    })
}

/// The codes of these plans, in the order of `ids` (for licenses just changed).
async fn codes<C: ConnectionTrait>(conn: &C, ids: &[Uuid]) -> Result<Vec<String>, DbErr> {
    let found = plans::Entity::find()
        .filter(plans::Column::Id.is_in(ids.iter().copied()))
        .all(conn)
        .await?;
    Ok(ids
        .iter()
        .filter_map(|id| found.iter().find(|p| p.id == *id).map(|p| p.code.clone()))
        .collect())
}

/// Ends every active license of the guild (`revoked`, with a reason). Returns their plan codes.
pub async fn revoke_active<C: ConnectionTrait>(
    txn: &C,
    guild_row_id: Uuid,
    reason: &str,
) -> Result<Vec<String>, DbErr> {
    revoke_where(txn, guild_row_id, reason, None).await
}

/// Ends the active licenses of the guild (of `source` only, when given). Returns their plan
/// codes.
async fn revoke_where<C: ConnectionTrait>(
    txn: &C,
    guild_row_id: Uuid,
    reason: &str,
    source: Option<&str>,
) -> Result<Vec<String>, DbErr> {
    let mut update = licenses::Entity::update_many()
        .col_expr(licenses::Column::Status, Expr::value("revoked"))
        .col_expr(licenses::Column::RevokedAt, Expr::cust("now()"))
        .col_expr(licenses::Column::RevokeReason, Expr::value(reason))
        .col_expr(licenses::Column::UpdatedAt, Expr::cust("now()"))
        .filter(licenses::Column::GuildId.eq(guild_row_id))
        .filter(licenses::Column::Status.eq("active"));
    if let Some(source) = source {
        update = update.filter(licenses::Column::Source.eq(source));
    }
    let revoked = update.exec_with_returning(txn).await?;
    let plans: Vec<Uuid> = revoked.iter().map(|l| l.plan_id).collect();
    codes(txn, &plans).await
}

/// Inserts an active license. Returns its id.
pub async fn insert_grant<C: ConnectionTrait>(
    txn: &C,
    guild_row_id: Uuid,
    plan_id: Uuid,
    ends_at: Option<DateTime<Utc>>,
    granted_by: u64,
) -> Result<Uuid, DbErr> {
    let row = licenses::ActiveModel {
        id: Set(Uuid::now_v7()),
        guild_id: Set(guild_row_id),
        plan_id: Set(plan_id),
        status: Set("active".into()),
        source: Set("grant".into()),
        starts_at: Set(Utc::now().into()),
        ends_at: Set(ends_at.map(Into::into)),
        granted_by_discord_id: Set(Some(to_db(granted_by))),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(row.id)
}

/// Marks active licenses past their end as expired. Returns (guild row id, plan code).
pub async fn expire_due<C: ConnectionTrait>(txn: &C) -> Result<Vec<(Uuid, String)>, DbErr> {
    let expired = licenses::Entity::update_many()
        .col_expr(licenses::Column::Status, Expr::value("expired"))
        .col_expr(licenses::Column::UpdatedAt, Expr::cust("now()"))
        .filter(licenses::Column::Status.eq("active"))
        .filter(licenses::Column::EndsAt.is_not_null())
        .filter(Expr::col((licenses::Entity, licenses::Column::EndsAt)).lte(Expr::cust("now()")))
        .exec_with_returning(txn)
        .await?;
    let plans: Vec<Uuid> = expired.iter().map(|l| l.plan_id).collect();
    let codes = codes(txn, &plans).await?;
    Ok(expired.iter().map(|l| l.guild_id).zip(codes).collect())
}

/// The license a paid subscription gives: the guild's active subscription license of `plan_id`
/// is extended to `ends_at` (never shortened); any other active license is replaced by a new
/// one. Idempotent: the same event applied twice changes nothing more. Returns the plan codes
/// of the licenses it replaced.
pub async fn apply_subscription<C: ConnectionTrait>(
    txn: &C,
    guild_row_id: Uuid,
    plan_id: Uuid,
    ends_at: DateTime<Utc>,
) -> Result<Vec<String>, DbErr> {
    let active = licenses::Entity::find()
        .filter(licenses::Column::GuildId.eq(guild_row_id))
        .filter(licenses::Column::Status.eq("active"))
        .one(txn)
        .await?;
    if let Some(l) = &active
        && l.source == "subscription"
        && l.plan_id == plan_id
    {
        if l.ends_at.is_none_or(|e| e.with_timezone(&Utc) < ends_at) {
            licenses::ActiveModel {
                id: Set(l.id),
                ends_at: Set(Some(ends_at.into())),
                updated_at: Set(Utc::now().into()),
                ..Default::default()
            }
            .update(txn)
            .await?;
        }
        return Ok(Vec::new());
    }
    let replaced = if active.is_some() {
        revoke_active(txn, guild_row_id, "replaced by a subscription").await?
    } else {
        Vec::new()
    };
    licenses::ActiveModel {
        id: Set(Uuid::now_v7()),
        guild_id: Set(guild_row_id),
        plan_id: Set(plan_id),
        status: Set("active".into()),
        source: Set("subscription".into()),
        starts_at: Set(Utc::now().into()),
        ends_at: Set(Some(ends_at.into())),
        granted_by_discord_id: Set(None),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(replaced)
}

/// Ends the guild's active license when a subscription gave it (`reason` says why). Returns
/// the plan codes that ended.
pub async fn end_subscription<C: ConnectionTrait>(
    txn: &C,
    guild_row_id: Uuid,
    reason: &str,
) -> Result<Vec<String>, DbErr> {
    revoke_where(txn, guild_row_id, reason, Some("subscription")).await
}

/// The guild's most recently ended license (expired or revoked): its plan and when it ended.
pub async fn last_ended<C: ConnectionTrait>(
    conn: &C,
    guild_row_id: Uuid,
) -> Result<Option<(Plan, DateTime<Utc>)>, DbErr> {
    let rows = licenses::Entity::find()
        .filter(licenses::Column::GuildId.eq(guild_row_id))
        .filter(licenses::Column::Status.is_in(["expired", "revoked"]))
        .order_by_desc(licenses::Column::UpdatedAt)
        .find_also_related(plans::Entity)
        .one(conn)
        .await?;
    Ok(match rows {
        Some((l, Some(p))) => {
            let ended = l
                .revoked_at
                .or(l.ends_at)
                .unwrap_or(l.updated_at)
                .with_timezone(&Utc);
            Some((plan(p), ended))
        }
        _ => None,
    })
}
