//! Purpose: `/metrics` — Prometheus text: every lease queue's counts (`umbra_queue_items`), the
//! outbox backlog, the database pool, and every
//! counter and histogram the rest of Umbra records.

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use super::HttpState;

static RECORDER: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process-wide Prometheus recorder (installed on first use; tests that build several apps
/// in one process share it). `None` only if another recorder was installed first.
pub fn metrics_handle() -> Option<PrometheusHandle> {
    RECORDER
        .get_or_init(|| PrometheusBuilder::new().install_recorder().ok())
        .clone()
}

pub fn routes() -> Router<Arc<HttpState>> {
    Router::new().route("/metrics", get(metrics))
}

async fn metrics(State(state): State<Arc<HttpState>>) -> impl IntoResponse {
    let pool = &state.app.pool;
    for queue in state.app.queues() {
        let Ok(Ok(c)) =
            tokio::time::timeout(std::time::Duration::from_secs(2), queue.counts(pool)).await
        else {
            continue;
        };
        for (s, n) in [
            ("waiting", c.waiting),
            ("leased", c.leased),
            ("dead", c.dead),
        ] {
            metrics::gauge!("umbra_queue_items", "queue" => queue.name, "state" => s).set(n as f64);
        }
        if queue.name == crate::outbox::QUEUE.name {
            metrics::gauge!("umbra_outbox_pending").set((c.waiting + c.leased) as f64);
            metrics::gauge!("umbra_outbox_dead").set(c.dead as f64);
        }
    }
    metrics::gauge!("umbra_database_pool_connections").set(f64::from(pool.size()));
    state.metrics.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
}
