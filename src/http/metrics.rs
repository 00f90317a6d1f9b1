//! Purpose: `/metrics` — Prometheus text: the outbox backlog, the database pool, and every
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
    if let Ok(Ok((pending, dead))) = tokio::time::timeout(
        std::time::Duration::from_secs(2),
        crate::outbox::backlog(pool),
    )
    .await
    {
        metrics::gauge!("umbra_outbox_pending").set(pending as f64);
        metrics::gauge!("umbra_outbox_dead").set(dead as f64);
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
