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
