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
