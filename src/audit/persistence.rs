//! Purpose: the only writer of `audit.events`.

use sqlx::PgPool;
use uuid::Uuid;

use crate::outbox::OutboxEvent;

/// Records `event` once: a second delivery of the same outbox id changes nothing. The guild and
/// actor are linked to their rows when Umbra knows them; their Discord ids are kept as well, so
/// the history survives a guild purge.
///
/// Raw SQL: the guild and actor rows are looked up by Discord id inside the insert (a missing
/// one stays NULL) — the audit log is the one Core table that links to every domain's rows by
/// design, in one statement without a round trip per event.
pub async fn record(pool: &PgPool, event: &OutboxEvent) -> Result<bool, sqlx::Error> {
    let actor = event.actor_discord_id();
    let done = sqlx::query(
        "INSERT INTO audit.events \
           (id, outbox_id, event_type, aggregate_type, aggregate_id, guild_id, guild_discord_id, \
            actor_user_id, actor_discord_id, payload, occurred_at, recorded_at) \
         VALUES ($1, $2, $3, $4, $5, \
            (SELECT g.id FROM guild.guilds AS g WHERE g.discord_guild_id = $6), $6, \
            (SELECT u.id FROM identity.users AS u WHERE u.discord_user_id = $7), $7, \
            $8, $9, now()) \
         ON CONFLICT (outbox_id) DO NOTHING",
    )
    .bind(Uuid::now_v7())
    .bind(event.id)
    .bind(&event.event_type)
    .bind(&event.aggregate_type)
    .bind(&event.aggregate_id)
    .bind(event.guild_discord_id)
    .bind(actor)
    .bind(&event.payload)
    .bind(event.occurred_at)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// One guild's events, newest first, filtered (keyset paging on `(occurred_at, id)`, served by
/// `events_guild_occurred_at_idx`).
pub async fn events(
    db: &sea_orm::DatabaseConnection,
    guild: Uuid,
    filter: &super::AuditFilter,
    limit: u64,
) -> Result<Vec<super::AuditEntry>, sea_orm::DbErr> {
    use entity::audit::events::{Column, Entity};
    use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

    let mut query = Entity::find().filter(Column::GuildId.eq(guild));
    if let Some(kind) = filter.kind.as_deref().filter(|k| !k.is_empty()) {
        let escaped = kind
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        query = query.filter(Column::EventType.like(format!("{escaped}%")));
    }
    if let Some(actor) = filter.actor {
        query = query.filter(Column::ActorDiscordId.eq(actor.cast_signed()));
    }
    if let Some(since) = filter.since {
        query = query.filter(Column::OccurredAt.gte(since));
    }
    if let Some(until) = filter.until {
        query = query.filter(Column::OccurredAt.lt(until));
    }
    if let Some((at, id)) = filter.after {
        query = query.filter(
            Condition::any().add(Column::OccurredAt.lt(at)).add(
                Condition::all()
                    .add(Column::OccurredAt.eq(at))
                    .add(Column::Id.lt(id)),
            ),
        );
    }
    let rows = query
        .order_by_desc(Column::OccurredAt)
        .order_by_desc(Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|m| super::AuditEntry {
            id: m.id,
            event_type: m.event_type,
            actor_discord_id: m.actor_discord_id.map(i64::cast_unsigned),
            payload: m.payload,
            occurred_at: m.occurred_at.with_timezone(&chrono::Utc),
        })
        .collect())
}
