//! Purpose: the HTTP server, one room per area — `health` (`/healthz`), `metrics`
//! (`/metrics`), `auth` (Discord login and logout), `pages` (the owner's dashboard and the
//! operator page), `webhooks` (payment providers), `statics` (CSS and JS); `session`, `rights`, `csrf` and `render` are what
//! every page shares; `web` is the web surface's checked configuration. The
//! router ([`router`]) assembles the areas over one [`HttpState`] (the application the bot
//! shares) and the layers every request passes: a request id, tracing, a timeout and the
//! security headers.

mod auth;
mod csrf;
mod health;
mod join;
mod layers;
mod metrics;
mod pages;
mod render;
mod rights;
mod session;
mod statics;
pub mod web;
mod webhooks;

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
    /// The web surface's configuration (login, origin, cookies, session lifetimes).
    pub web: Arc<web::Web>,
    /// Turns true at shutdown (long-lived answers such as progress streams end).
    pub shutdown: watch::Receiver<bool>,
}

/// Every area's routes with the shared layers.
pub fn router(state: HttpState) -> Router {
    let state = Arc::new(state);
    let import_max = state.app.snapshots.import_max_bytes();
    let routes = Router::new()
        .merge(health::routes())
        .merge(metrics::routes())
        .merge(statics::routes())
        .merge(auth::routes())
        .merge(join::routes())
        .merge(pages::routes(import_max))
        .merge(webhooks::routes())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            csrf::guard,
        ))
        .with_state(state.clone());
    let routes = layers::apply(routes);
    if state.web.secure_cookies {
        // Served over HTTPS (the public URL says so): browsers keep to it.
        routes.layer(
            tower_http::set_header::SetResponseHeaderLayer::if_not_present(
                axum::http::header::STRICT_TRANSPORT_SECURITY,
                axum::http::HeaderValue::from_static("max-age=31536000"),
            ),
        )
    } else {
        routes
    }
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
