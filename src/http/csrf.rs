//! Purpose: the first CSRF wall, in front of every route — a request that can change something
//! (any method but GET, HEAD and OPTIONS) coming from another site is refused with a localized
//! 403 before any handler runs: the browser's `Sec-Fetch-Site` must say `same-origin` (or
//! `none`, typed by the user), and without it an `Origin` header must be the public URL's
//! origin. Requests with neither header (other servers: payment webhooks) pass this wall and
//! verify themselves. The second wall is per form: every POST handler compares the form's
//! `csrf` field with the session's token ([`super::session::Viewer::csrf_matches`]).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

use super::HttpState;
use super::render::{self, Tr};

/// Whether a state-changing request's headers say it comes from this site.
pub fn same_site(method: &Method, headers: &axum::http::HeaderMap, origin: &str) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return true;
    }
    if let Some(site) = headers.get("sec-fetch-site") {
        return matches!(site.to_str(), Ok("same-origin" | "none"));
    }
    match headers.get(axum::http::header::ORIGIN) {
        Some(o) => o.to_str().is_ok_and(|o| o == origin),
        None => true,
    }
}

pub async fn guard(State(state): State<Arc<HttpState>>, request: Request, next: Next) -> Response {
    if same_site(request.method(), request.headers(), &state.web.origin) {
        return next.run(request).await;
    }
    tracing::warn!(
        method = %request.method(),
        path = %request.uri().path(),
        "refused a cross-site request"
    );
    let locale =
        super::session::accepted(request.headers()).unwrap_or(crate::i18n::Locale::FALLBACK);
    render::forbidden(Tr::new(state.app.i18n.clone(), locale), "web-csrf-refused")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue};

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn a_cross_site_post_is_refused_and_a_same_origin_one_passes() {
        let o = "https://umbra.example.com";
        assert!(!same_site(
            &Method::POST,
            &headers(&[("sec-fetch-site", "cross-site")]),
            o
        ));
        assert!(!same_site(
            &Method::POST,
            &headers(&[("sec-fetch-site", "same-site")]),
            o
        ));
        assert!(same_site(
            &Method::POST,
            &headers(&[("sec-fetch-site", "same-origin")]),
            o
        ));
        assert!(!same_site(
            &Method::POST,
            &headers(&[("origin", "https://evil.example")]),
            o
        ));
        assert!(same_site(
            &Method::POST,
            &headers(&[("origin", "https://umbra.example.com")]),
            o
        ));
        assert!(same_site(
            &Method::GET,
            &headers(&[("sec-fetch-site", "cross-site")]),
            o
        ));
    }
}
