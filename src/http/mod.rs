//! Purpose: the HTTP server, one room per area — `health` (`/healthz`), `metrics`
//! (`/metrics`); later issues add `auth`, `pages` and `webhooks` as their own modules. The
//! router ([`router`]) assembles the areas over one [`HttpState`] (the application the bot
//! shares) and the layers every request passes: a request id, tracing, a timeout and the
//! security headers.

mod health;
mod layers;
mod metrics;

use std::sync::Arc;

use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::app::App;

pub use metrics::metrics_handle;

/// What handlers share: the application (its services) and the Prometheus recorder.
#[derive(Clone)]
pub struct HttpState {
    pub app: Arc<App>,
    pub metrics: PrometheusHandle,
}

/// Every area's routes with the shared layers.
pub fn router(state: HttpState) -> Router {
    let state = Arc::new(state);
    let routes = Router::new()
        .merge(health::routes())
        .merge(metrics::routes())
        .with_state(state);
    layers::apply(routes)
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
