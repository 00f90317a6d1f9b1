//! Purpose: the audit domain — every outbox event lands in `audit.events` exactly once
//! (idempotent on the outbox id) and is kept forever (DESIGN.md §3).

mod persistence;

use futures::FutureExt;
use futures::future::BoxFuture;
use sqlx::PgPool;

use crate::outbox::OutboxEvent;
use crate::outbox::relay::Consumer;

/// The outbox consumer that records every event.
#[derive(Debug, Clone)]
pub struct AuditConsumer {
    pool: PgPool,
}

impl AuditConsumer {
    pub const NAME: &'static str = "audit";

    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

impl Consumer for AuditConsumer {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn wants(&self, _event_type: &str) -> bool {
        true
    }

    fn handle<'a>(&'a self, event: &'a OutboxEvent) -> BoxFuture<'a, anyhow::Result<()>> {
        async move {
            persistence::record(&self.pool, event).await?;
            Ok(())
        }
        .boxed()
    }
}

/// One recorded event as the audit-log page shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub id: uuid::Uuid,
    pub event_type: String,
    pub actor_discord_id: Option<u64>,
    pub payload: serde_json::Value,
    pub occurred_at: chrono::DateTime<chrono::Utc>,
}

/// What the audit-log page asks for: one guild's events, newest first, optionally of one kind
/// (an event type or its prefix, e.g. `snapshot.`), by one actor, within a time range, after
/// a cursor (the last entry of the previous page).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditFilter {
    pub kind: Option<String>,
    pub actor: Option<u64>,
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    pub after: Option<(chrono::DateTime<chrono::Utc>, uuid::Uuid)>,
}

/// Reads `audit.events` (the web's audit-log page).
#[derive(Debug, Clone)]
pub struct AuditReader {
    db: sea_orm::DatabaseConnection,
}

impl AuditReader {
    pub fn new(db: sea_orm::DatabaseConnection) -> Self {
        Self { db }
    }

    /// Up to `limit` events of the guild row `guild` matching `filter`, newest first.
    pub async fn events(
        &self,
        guild: uuid::Uuid,
        filter: &AuditFilter,
        limit: u64,
    ) -> Result<Vec<AuditEntry>, sea_orm::DbErr> {
        persistence::events(&self.db, guild, filter, limit).await
    }
}
