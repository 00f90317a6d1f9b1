//! Purpose: Umbra's own presence on Discord as the domains see it — the REST port (one pacer for
//! the whole process), its user id once the gateway is READY, and the gateway cache once the
//! client exists. Cheap to clone; built before the services that use it.

use std::sync::{Arc, OnceLock};

use poise::serenity_prelude as serenity;

use super::rest::Rest;

#[derive(Clone)]
pub struct Bot {
    rest: Rest,
    user_id: Arc<OnceLock<u64>>,
    application_id: Arc<OnceLock<u64>>,
    cache: Arc<OnceLock<Arc<serenity::Cache>>>,
}

impl std::fmt::Debug for Bot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bot")
            .field("user_id", &self.user_id.get())
            .finish_non_exhaustive()
    }
}

impl Bot {
    pub fn new(rest: Rest) -> Self {
        Self {
            rest,
            user_id: Arc::new(OnceLock::new()),
            application_id: Arc::new(OnceLock::new()),
            cache: Arc::new(OnceLock::new()),
        }
    }

    /// The outbound REST port.
    pub fn rest(&self) -> &Rest {
        &self.rest
    }

    /// Umbra's user id (`None` before the first READY).
    pub fn user_id(&self) -> Option<u64> {
        self.user_id.get().copied()
    }

    pub fn learn_user_id(&self, id: u64) {
        let _ = self.user_id.set(id);
    }

    /// The application's id (the OAuth2 client id), once READY told it.
    pub fn application_id(&self) -> Option<u64> {
        self.application_id.get().copied()
    }

    pub fn learn_application_id(&self, id: u64) {
        let _ = self.application_id.set(id);
    }

    /// The gateway cache (`None` before the client exists).
    pub fn cache(&self) -> Option<&Arc<serenity::Cache>> {
        self.cache.get()
    }

    pub fn learn_cache(&self, cache: Arc<serenity::Cache>) {
        let _ = self.cache.set(cache);
    }
}
