//! Purpose: the web surface end to end — login through the emulator's OAuth2 (`login`), the
//! rights of every page over HTTP (`rights`), the settings forms and their approvals
//! (`forms`), the pages' actions (`pages`), buying a plan with a card (`buy`), and real headless Chromium driving the
//! dashboard (`browser`).

mod browser;
mod buy;
mod forms;
mod login;
mod pages;
mod rights;

use crate::support::world::{Builder, TestWorld};

/// A world with the web login on.
pub fn builder() -> Builder {
    TestWorld::builder().web()
}

/// How many sessions are stored.
pub async fn sessions(world: &TestWorld) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM identity.sessions")
        .fetch_one(&world.db.pool)
        .await
        .unwrap()
}
