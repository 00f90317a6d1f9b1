//! Purpose: the owner's pages, one module per page: `guilds` (my guilds, the overview, the
//! plan), `snapshots`, `timemachine`, `restores` (previews, jobs, live progress), `incidents`,
//! `settings` (AntiNuke and notification preferences), `audit`, `operator`. Every guild page
//! starts with [`open`]: a logged-in viewer who may open the guild (else the same 404 for
//! everything), and every POST with [`csrf_refusal`]: the form's CSRF token.

mod audit;
mod billing;
mod guilds;
mod incidents;
mod operator;
mod restores;
mod settings;
mod snapshots;
mod timemachine;

use std::sync::Arc;

use axum::Router;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use super::HttpState;
use super::render::{self, Chrome, GuildNav, NavLink, Tr};
use super::rights::{self, Access};
use super::session::Viewer;

/// The pages' routes; `import_max` bounds the import upload's body.
pub fn routes(import_max: u64) -> Router<Arc<HttpState>> {
    let upload_limit = usize::try_from(import_max)
        .unwrap_or(usize::MAX)
        .saturating_add(64 * 1024);
    Router::new()
        .route("/", get(|| async { Redirect::to("/guilds") }))
        .route("/guilds", get(guilds::list))
        .route("/guilds/{guild}", get(guilds::overview))
        .route("/guilds/{guild}/plan", get(billing::plan))
        .route("/guilds/{guild}/plan/{action}", post(billing::act))
        .route("/billing/card", get(billing::card))
        .route("/billing/start/{token}", get(billing::start))
        .route("/billing/success", get(billing::success))
        .route("/billing/fail", get(billing::fail))
        .route(
            "/guilds/{guild}/snapshots",
            get(snapshots::list).post(snapshots::create),
        )
        .route(
            "/guilds/{guild}/snapshots/import",
            post(snapshots::import).layer(axum::extract::DefaultBodyLimit::max(upload_limit)),
        )
        .route(
            "/guilds/{guild}/snapshots/{snapshot}/{action}",
            post(snapshots::act),
        )
        .route(
            "/guilds/{guild}/snapshots/{snapshot}/export",
            get(snapshots::export),
        )
        .route("/guilds/{guild}/timemachine", get(timemachine::page))
        .route(
            "/guilds/{guild}/timemachine/restore",
            post(timemachine::restore_this),
        )
        .route("/guilds/{guild}/restores", get(restores::list))
        .route("/guilds/{guild}/restores/{job}", get(restores::job))
        .route(
            "/guilds/{guild}/restores/{job}/events",
            get(restores::events),
        )
        .route(
            "/guilds/{guild}/restores/{job}/{action}",
            post(restores::act),
        )
        .route("/guilds/{guild}/incidents", get(incidents::list))
        .route(
            "/guilds/{guild}/incidents/{incident}/{action}",
            post(incidents::act),
        )
        .route(
            "/guilds/{guild}/antinuke",
            get(settings::antinuke).post(settings::change_antinuke),
        )
        .route(
            "/guilds/{guild}/antinuke/threshold",
            post(settings::change_threshold),
        )
        .route(
            "/guilds/{guild}/antinuke/whitelist",
            post(settings::change_whitelist),
        )
        .route(
            "/guilds/{guild}/notifications",
            get(settings::notifications).post(settings::change_notifications),
        )
        .route("/guilds/{guild}/audit", get(audit::page))
        .route("/operator", get(operator::page).post(operator::license))
}

/// The guild `raw` if the viewer may open it; else the 404 page.
pub(super) async fn open(
    state: &HttpState,
    viewer: &Viewer,
    raw: &str,
) -> Result<Access, Response> {
    match rights::access(&state.app, viewer.discord_id(), raw).await {
        Ok(Some(access)) => Ok(access),
        Ok(None) => Err(render::not_found(viewer.tr(state))),
        Err(e) => Err(render::internal(
            state,
            viewer.locale,
            e.context("checking the viewer's rights"),
        )),
    }
}

/// The refusal of a form whose CSRF token is not the session's (`None`: the token is right).
pub(super) fn csrf_refusal(state: &HttpState, viewer: &Viewer, csrf: &str) -> Option<Response> {
    if viewer.csrf_matches(csrf) {
        None
    } else {
        tracing::warn!(
            user = viewer.discord_id(),
            "refused a form with a wrong CSRF token"
        );
        Some(render::forbidden(viewer.tr(state), "web-csrf-refused"))
    }
}

/// The pages of a guild, in navigation order: (path under the guild, label key).
const NAV: [(&str, &str); 9] = [
    ("", "web-nav-overview"),
    ("/snapshots", "web-nav-snapshots"),
    ("/timemachine", "web-nav-timemachine"),
    ("/restores", "web-nav-restores"),
    ("/incidents", "web-nav-incidents"),
    ("/antinuke", "web-nav-antinuke"),
    ("/notifications", "web-nav-notifications"),
    ("/audit", "web-nav-audit"),
    ("/plan", "web-nav-plan"),
];

/// A guild page's frame: title, viewer, navigation with `current` (a path under the guild)
/// marked.
pub(super) fn chrome(
    state: &HttpState,
    viewer: &Viewer,
    access: &Access,
    title_key: &str,
    current: &str,
) -> Chrome {
    let tr = viewer.tr(state);
    let base = format!("/guilds/{}", access.id());
    let nav = NAV
        .iter()
        .map(|(path, key)| NavLink {
            href: format!("{base}{path}"),
            label: tr.t(key),
            current: *path == current,
        })
        .collect();
    let mut c = Chrome::new(tr, title_key).viewer(viewer);
    c.guild = Some(GuildNav {
        name: access.guild.name.clone(),
        links: nav,
    });
    c
}

/// Where to go after a form on a guild page.
pub(super) fn back_to(access: &Access, path: &str) -> Response {
    Redirect::to(&format!("/guilds/{}{path}", access.id())).into_response()
}

/// A short id people read (the last 12 hex digits of a uuid).
pub(super) fn short(id: &uuid::Uuid) -> String {
    let s = id.simple().to_string();
    s[s.len() - 12..].to_owned()
}

/// The translation of a bot-side error into a page.
pub(super) fn fail(state: &HttpState, tr: &Tr, e: crate::error::Error) -> Response {
    render::failure(state, tr.locale, e)
}

#[cfg(test)]
mod tests {
    use crate::i18n::{I18n, Locale};
    use crate::notification::Category;
    use crate::recovery::snapshot::Trigger;
    use crate::recovery::timemachine::{ChangeKind, Subject};

    #[test]
    fn every_key_built_at_run_time_exists_in_every_locale() {
        let i18n = I18n::load().expect("locales parse");
        let mut keys: Vec<String> = [
            Trigger::Manual,
            Trigger::Scheduled,
            Trigger::PreRestore,
            Trigger::Emergency,
            Trigger::Import,
        ]
        .iter()
        .map(|t| format!("web-trigger-{}", t.as_str().replace('_', "-")))
        .collect();
        keys.extend(
            [
                Subject::Setting,
                Subject::Role,
                Subject::Channel,
                Subject::Member,
            ]
            .iter()
            .map(|s| format!("web-subject-{}", s.as_str())),
        );
        keys.extend(
            [
                ChangeKind::Created,
                ChangeKind::Deleted,
                ChangeKind::Changed,
            ]
            .iter()
            .map(|k| format!("web-change-{}", k.as_str())),
        );
        keys.extend(
            ["failed", "skipped", "note"]
                .iter()
                .map(|o| format!("web-outcome-{o}")),
        );
        keys.extend(
            Category::ALL
                .iter()
                .map(|c| format!("web-category-{}", c.as_str())),
        );
        keys.extend(super::NAV.iter().map(|(_, k)| (*k).to_owned()));
        for locale in Locale::ALL {
            for key in &keys {
                assert!(
                    i18n.raw(locale, key, None).is_some(),
                    "{}: {key}",
                    locale.code()
                );
            }
        }
    }
}
