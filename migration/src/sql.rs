//! Purpose: one `MigrationTrait` implementation for migrations written as plain SQL scripts.
//!
//! Umbra's schema migrations are readable SQL (CHECKs, partial indexes, arrays and comments are
//! clearer there than in the query builder). Every statement names `schema.table`, so nothing
//! depends on the session's `search_path`. A script may hold several statements: it is sent
//! with the simple query protocol inside the runner's per-migration transaction.

use sea_orm_migration::prelude::*;

/// A migration whose `up` and `down` are SQL scripts.
pub(crate) struct SqlMigration {
    pub(crate) name: &'static str,
    pub(crate) up: &'static str,
    pub(crate) down: &'static str,
}

impl MigrationName for SqlMigration {
    fn name(&self) -> &str {
        self.name
    }
}

// `async_trait` rewrites the signatures; the elided `SchemaManager<'_>` lifetime must stay
// elided to match the trait's late-bound lifetime.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for SqlMigration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared(self.up).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(self.down)
            .await?;
        Ok(())
    }
}
