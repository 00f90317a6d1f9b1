//! Purpose: `POST /webhooks/toss` — Toss's payment webhooks: the body is stored once and
//! answered 200 at once (Toss retries anything else for days); the billing worker verifies it
//! against Toss afterwards (see `webhook`). Not found when billing is off. A body that is not
//! a payment delivery is refused with 400 and stores nothing. Header-less server-to-server
//! POSTs pass the CSRF wall; these verify themselves.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use super::HttpState;

/// Toss's payment deliveries are a few kilobytes.
const MAX_BODY: usize = 256 * 1024;

pub fn routes() -> Router<Arc<HttpState>> {
    Router::new().route(
        "/webhooks/toss",
        post(toss).layer(DefaultBodyLimit::max(MAX_BODY)),
    )
}

async fn toss(State(state): State<Arc<HttpState>>, body: Bytes) -> Response {
    let Some(billing) = &state.app.billing else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Ok(payload) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "not JSON").into_response();
    };
    if crate::webhook::toss_dedupe_key(&payload).is_none() {
        return (StatusCode::BAD_REQUEST, "not a payment delivery").into_response();
    }
    match billing.receive_webhook(payload).await {
        Ok(_) => (StatusCode::OK, "ok").into_response(),
        Err(e) => {
            // Not stored: a non-200 answer makes Toss deliver it again later.
            tracing::warn!(error = %e, "storing a Toss webhook failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}
