//! Purpose: `POST /webhooks/toss` — Toss's payment webhooks: the body is stored once and
//! answered 200 at once (Toss retries anything else for days); the billing worker verifies it
//! against Toss afterwards (see `webhook`). Not found when billing is off. A body that is not
//! a payment delivery is refused with 400 and stores nothing. Header-less server-to-server
//! POSTs pass the CSRF wall; these verify themselves.
//!
//! Signatures: Toss signs only `payout.changed` and `seller.changed` (HMAC-SHA256 with the
//! security key, `TOSS_SECURITY_KEY`). A delivery of those kinds, or any delivery carrying a
//! `tosspayments-webhook-signature`, must verify or is refused with 401 and stores nothing. A
//! verified payout or seller delivery is acknowledged and not stored: Umbra sells no payouts.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
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

async fn toss(State(state): State<Arc<HttpState>>, headers: HeaderMap, body: Bytes) -> Response {
    use crate::webhook::TossDelivery;
    let Some(billing) = &state.app.billing else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let signature = header("tosspayments-webhook-signature");
    let time = header("tosspayments-webhook-transmission-time").unwrap_or_default();
    let read = crate::webhook::read_toss_delivery(&body, signature.as_deref(), |s| {
        billing.signed_by_toss(&body, &time, s)
    });
    let payload = match read {
        TossDelivery::NotJson => return (StatusCode::BAD_REQUEST, "not JSON").into_response(),
        TossDelivery::BadSignature => {
            tracing::warn!("a Toss webhook's signature did not verify; refused");
            return (StatusCode::UNAUTHORIZED, "bad signature").into_response();
        }
        TossDelivery::SignedAck => {
            tracing::info!("a signed Toss webhook was acknowledged (no payouts here)");
            return (StatusCode::OK, "ok").into_response();
        }
        TossDelivery::NotPayment => {
            return (StatusCode::BAD_REQUEST, "not a payment delivery").into_response();
        }
        TossDelivery::Payment(payload) => payload,
    };
    match billing.receive_webhook(payload).await {
        Ok(_) => (StatusCode::OK, "ok").into_response(),
        Err(e) => {
            // Not stored: a non-200 answer makes Toss deliver it again later.
            tracing::warn!(error = %e, "storing a Toss webhook failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}
