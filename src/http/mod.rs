//! Purpose: the HTTP server — `/healthz` (200 when the database answers, 503 otherwise) and
//! `/metrics` (Prometheus text). Later issues add OAuth, the join page, billing and webhooks.

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::outbox::persistence::backlog;

/// What handlers share.
#[derive(Clone)]
pub struct HttpState {
    pub pool: PgPool,
    pub metrics: PrometheusHandle,
}

static RECORDER: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process-wide Prometheus recorder (installed on first use; tests that build several apps
/// in one process share it). `None` only if another recorder was installed first.
pub fn metrics_handle() -> Option<PrometheusHandle> {
    RECORDER
        .get_or_init(|| PrometheusBuilder::new().install_recorder().ok())
        .clone()
}

pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(Arc::new(state))
}

async fn healthz(State(state): State<Arc<HttpState>>) -> impl IntoResponse {
    let probe = sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&state.pool);
    match tokio::time::timeout(std::time::Duration::from_secs(2), probe).await {
        Ok(Ok(1)) => (StatusCode::OK, "ok\n"),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n"),
    }
}

async fn metrics(State(state): State<Arc<HttpState>>) -> impl IntoResponse {
    if let Ok(Ok((pending, dead))) =
        tokio::time::timeout(std::time::Duration::from_secs(2), backlog(&state.pool)).await
    {
        metrics::gauge!("umbra_outbox_pending").set(pending as f64);
        metrics::gauge!("umbra_outbox_dead").set(dead as f64);
    }
    metrics::gauge!("umbra_database_pool_connections").set(f64::from(state.pool.size()));
    state.metrics.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
}

/// Serves `router` on `listener` until `shutdown` turns true.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            while !*shutdown.borrow() {
                if shutdown.changed().await.is_err() {
                    break;
                }
            }
        })
        .await?;
    Ok(())
}
