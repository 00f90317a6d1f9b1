//! Purpose: turning pages into answers — [`Tr`] (the Fluent catalogue the bot uses, for
//! templates: `tr.t("web-...")`), [`Chrome`] (what every page's frame shows: title, who is
//! logged in, the CSRF token, the guild's navigation), [`html`] (renders an askama template or
//! answers a logged 500), and the localized error pages (404 for anything the viewer may not
//! see, 403, 400, and 500 with an error id).

use std::fmt::Display;
use std::sync::Arc;

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};
use fluent_bundle::{FluentArgs, FluentValue};

use super::HttpState;
use crate::i18n::{I18n, Locale};

/// Translations for one page.
#[derive(Clone)]
pub struct Tr {
    i18n: Arc<I18n>,
    pub locale: Locale,
}

fn value(v: String) -> FluentValue<'static> {
    match v.parse::<i64>() {
        Ok(n) => FluentValue::from(n),
        Err(_) => FluentValue::from(v),
    }
}

impl Tr {
    pub fn new(i18n: Arc<I18n>, locale: Locale) -> Self {
        Self { i18n, locale }
    }

    fn format(&self, key: &str, args: &[(&str, String)]) -> String {
        let mut fluent = FluentArgs::new();
        for (name, v) in args {
            fluent.set(*name, value(v.clone()));
        }
        let args = (!args.is_empty()).then_some(&fluent);
        self.i18n
            .raw(self.locale, key, args)
            .or_else(|| self.i18n.raw(Locale::FALLBACK, key, args))
            .unwrap_or_else(|| {
                tracing::warn!(key, "missing translation");
                key.to_owned()
            })
    }

    /// The message `key`.
    pub fn t(&self, key: &str) -> String {
        self.format(key, &[])
    }

    /// The message `key` with one variable.
    pub fn t1(&self, key: &str, name: &str, v: impl Display) -> String {
        self.format(key, &[(name, v.to_string())])
    }

    /// The message `key` with two variables.
    pub fn t2(&self, key: &str, a: &str, va: impl Display, b: &str, vb: impl Display) -> String {
        self.format(key, &[(a, va.to_string()), (b, vb.to_string())])
    }

    /// The page's `lang` attribute.
    pub fn lang(&self) -> &'static str {
        self.locale.code()
    }

    /// A moment as shown on pages (UTC, to the minute).
    pub fn time(&self, at: &DateTime<Utc>) -> String {
        at.format("%Y-%m-%d %H:%M UTC").to_string()
    }
}

/// Text the bot writes for Discord, for a web page: bold and code marks dropped, Discord
/// timestamps (`<t:1700000000:f>`) written as times.
pub fn plain(tr: &Tr, text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("<t:") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 3..];
        let Some(end) = after.find('>') else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let seconds = after[..end]
            .split(':')
            .next()
            .and_then(|s| s.parse::<i64>().ok());
        match seconds.and_then(|s| DateTime::<Utc>::from_timestamp(s, 0)) {
            Some(t) => out.push_str(&tr.time(&t)),
            None => out.push_str(&rest[start..start + 3 + end + 1]),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out.replace("**", "").replace('`', "")
}

/// A link in the guild's navigation.
pub struct NavLink {
    pub href: String,
    pub label: String,
    pub current: bool,
}

/// A guild page's heading and navigation.
pub struct GuildNav {
    pub name: String,
    pub links: Vec<NavLink>,
}

/// What every page's frame shows.
pub struct Chrome {
    pub tr: Tr,
    pub title: String,
    /// The logged-in user's name.
    pub user: Option<String>,
    pub csrf: String,
    /// The guild's name and navigation, on guild pages.
    pub guild: Option<GuildNav>,
}

impl Chrome {
    pub fn new(tr: Tr, title_key: &str) -> Self {
        Self {
            title: tr.t(title_key),
            tr,
            user: None,
            csrf: String::new(),
            guild: None,
        }
    }

    pub fn viewer(mut self, viewer: &super::session::Viewer) -> Self {
        self.user = Some(viewer.session.display_name());
        self.csrf = viewer.csrf.clone();
        self
    }
}

/// Renders `page` (a logged 500 when the template fails).
pub fn html(page: &impl Template) -> Response {
    match page.render() {
        Ok(body) => Html(body).into_response(),
        Err(e) => {
            let id = error_id();
            tracing::error!(error_id = %id, error = %e, "rendering a page failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("internal error {id}"),
            )
                .into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    c: Chrome,
    body: String,
    back: bool,
}

/// A localized error page: `title_key` as the heading, `body` as the text.
pub fn error_page(tr: Tr, status: StatusCode, title_key: &str, body: String) -> Response {
    let page = ErrorPage {
        c: Chrome::new(tr, title_key),
        body,
        back: status != StatusCode::INTERNAL_SERVER_ERROR,
    };
    (status, html(&page)).into_response()
}

/// 404: unknown, foreign, or not the viewer's to see (the same answer, so ids leak nothing).
pub fn not_found(tr: Tr) -> Response {
    let body = tr.t("web-not-found-body");
    error_page(tr, StatusCode::NOT_FOUND, "web-not-found-title", body)
}

/// 403 with the reason `key`.
pub fn forbidden(tr: Tr, key: &str) -> Response {
    let body = tr.t(key);
    error_page(tr, StatusCode::FORBIDDEN, "web-forbidden-title", body)
}

/// 400 with the reason `body` (already translated).
pub fn bad_request(tr: Tr, body: String) -> Response {
    error_page(tr, StatusCode::BAD_REQUEST, "web-bad-request-title", body)
}

fn error_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()[20..].to_owned()
}

/// 500: logs `error` with an error id and shows the id.
pub fn internal(state: &HttpState, locale: Locale, error: anyhow::Error) -> Response {
    let id = error_id();
    tracing::error!(error_id = %id, error = format!("{error:#}"), "web request failed");
    let tr = Tr::new(state.app.i18n.clone(), locale);
    let body = tr.t1("error-internal", "error_id", &id);
    error_page(
        tr,
        StatusCode::INTERNAL_SERVER_ERROR,
        "web-internal-title",
        body,
    )
}

/// The answer to a domain error: a user error as a 400 page in the viewer's language (the same
/// message the bot shows), anything else as a logged 500.
pub fn failure(state: &HttpState, locale: Locale, error: crate::error::Error) -> Response {
    match error {
        crate::error::Error::User(e) => {
            let tr = Tr::new(state.app.i18n.clone(), locale);
            let body = state.app.i18n.text(locale, &e.msg, &e.fluent_args());
            error_page(tr, StatusCode::BAD_REQUEST, "web-refused-title", body)
        }
        crate::error::Error::Internal(e) => internal(state, locale, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_a_template_uses_exists_in_every_locale() {
        let i18n = I18n::load().expect("locales parse");
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let mut missing = Vec::new();
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).expect("templates/").flatten() {
            let text = std::fs::read_to_string(entry.path()).expect("a template");
            for piece in text.split("tr.t").skip(1) {
                let Some(start) = piece.find("(\"") else {
                    continue;
                };
                let rest = &piece[start + 2..];
                let Some(end) = rest.find('"') else { continue };
                let key = &rest[..end];
                seen += 1;
                for locale in Locale::ALL {
                    if i18n.raw(locale, key, None).is_none() {
                        missing.push(format!("{}: {key}", locale.code()));
                    }
                }
            }
        }
        assert!(seen > 20, "the scan found the templates' keys ({seen})");
        assert!(missing.is_empty(), "{missing:?}");
    }

    #[test]
    fn discord_marks_and_timestamps_become_plain_text() {
        let tr = Tr::new(Arc::new(I18n::load().expect("locales")), Locale::EnUs);
        assert_eq!(
            plain(&tr, "**Done** at <t:0:f>, id `abc` <t:x>"),
            "Done at 1970-01-01 00:00 UTC, id abc <t:x>"
        );
    }

    #[test]
    fn numbers_reach_fluent_as_numbers_for_plurals() {
        let tr = Tr::new(Arc::new(I18n::load().expect("locales")), Locale::EnUs);
        assert_eq!(tr.t1("web-members-count", "count", 1), "1 member");
        assert_eq!(tr.t1("web-members-count", "count", 3), "3 members");
    }
}
