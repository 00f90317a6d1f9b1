//! Purpose: `/healthz` — 200 when the database answers within 2 s, 503 otherwise.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;

use super::HttpState;

pub fn routes() -> Router<Arc<HttpState>> {
    Router::new().route("/healthz", get(healthz))
}

async fn healthz(State(state): State<Arc<HttpState>>) -> impl IntoResponse {
    let probe = sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&state.app.pool);
    match tokio::time::timeout(std::time::Duration::from_secs(2), probe).await {
        Ok(Ok(1)) => (StatusCode::OK, "ok\n"),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n"),
    }
}
