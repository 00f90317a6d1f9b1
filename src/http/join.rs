//! Purpose: the member re-join link on the web (issue 15) — `GET /join/{guild}` (no login: the
//! member sees which server and what linking means before anything happens), `GET
//! /join/{guild}/start` (a consent request; its `state` goes into a 10-minute `umbra_join`
//! cookie, binding it to this browser, and the browser to Discord's consent page with
//! `identify guilds.join` and PKCE), Discord's answer on `/auth/callback` (see `auth`: a state
//! that matches the `umbra_join` cookie is a join), and `/me` (a logged-in member's links, each
//! removable; removing the last revokes the grant at Discord).

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use super::HttpState;
use super::auth::CsrfForm;
use super::render::{self, Chrome, Tr};
use super::session::{self, Viewer, Visitor};
use crate::member::LinkError;
use crate::member::links::Linked;

/// The cookie that binds a consent's `state` to the browser that asked.
pub const JOIN_COOKIE: &str = "umbra_join";
const JOIN_SECONDS: u64 = 600;

pub fn routes() -> Router<Arc<HttpState>> {
    Router::new()
        .route("/join/{guild}", get(page))
        .route("/join/{guild}/start", get(start))
        .route("/me", get(me))
        .route("/me/links/{guild}/remove", post(remove))
}

#[derive(Template)]
#[template(path = "join.html")]
struct JoinPage {
    c: Chrome,
    guild: String,
    start: String,
}

#[derive(Template)]
#[template(path = "joined.html")]
struct JoinedPage {
    c: Chrome,
    guild: String,
    role_given: bool,
}

fn guild_id(raw: &str) -> Option<u64> {
    crate::ids::Snowflake::parse(raw).ok().map(|s| s.0)
}

/// Refusals of the join pages (closed, unknown, forged): a page that changes nothing.
fn refused(tr: Tr, e: &LinkError) -> Response {
    let (status, key) = match e {
        LinkError::UnknownGuild(_) | LinkError::Closed => {
            (StatusCode::NOT_FOUND, "web-join-closed")
        }
        LinkError::UnknownState => (StatusCode::BAD_REQUEST, "web-join-expired"),
        LinkError::Denied => (StatusCode::BAD_REQUEST, "web-join-denied"),
        LinkError::ScopeMissing => (StatusCode::BAD_REQUEST, "web-join-scope"),
        LinkError::Refused(_) => (StatusCode::BAD_REQUEST, "web-join-code"),
        _ => (StatusCode::BAD_GATEWAY, "web-join-discord-down"),
    };
    let body = tr.t(key);
    render::error_page(tr, status, "web-join-title", body)
}

async fn page(
    State(state): State<Arc<HttpState>>,
    visitor: Visitor,
    Path(raw): Path<String>,
) -> Response {
    let tr = visitor.tr(&state);
    let (Some(links), Some(guild)) = (&state.app.links, guild_id(&raw)) else {
        return refused(tr, &LinkError::Closed);
    };
    match links.open_guild(guild).await {
        Ok(record) => render::html(&JoinPage {
            start: format!("/join/{guild}/start"),
            guild: record.name,
            c: Chrome::new(tr, "web-join-title"),
        }),
        Err(e) => refused(tr, &e),
    }
}

async fn start(
    State(state): State<Arc<HttpState>>,
    visitor: Visitor,
    Path(raw): Path<String>,
) -> Response {
    let tr = visitor.tr(&state);
    let (Some(links), Some(guild)) = (&state.app.links, guild_id(&raw)) else {
        return refused(tr, &LinkError::Closed);
    };
    match links.start(guild).await {
        Ok(started) => {
            let cookie = session::set_cookie(
                JOIN_COOKIE,
                &started.state,
                Some(JOIN_SECONDS),
                state.web.secure_cookies,
            );
            ([(header::SET_COOKIE, cookie)], Redirect::to(&started.url)).into_response()
        }
        Err(LinkError::Database(e)) => render::internal(
            &state,
            tr.locale,
            anyhow::Error::new(e).context("opening a consent"),
        ),
        Err(e) => refused(tr, &e),
    }
}

/// Discord's answer to a join consent (called by `auth`'s callback when the state matches the
/// `umbra_join` cookie). The cookie is spent whatever happens.
pub async fn callback(
    state: &HttpState,
    tr: Tr,
    given_state: &str,
    code: Option<&str>,
) -> Response {
    let clear = session::set_cookie(JOIN_COOKIE, "", Some(0), state.web.secure_cookies);
    let Some(links) = &state.app.links else {
        return (
            [(header::SET_COOKIE, clear)],
            refused(tr, &LinkError::Closed),
        )
            .into_response();
    };
    let page = match links.complete(given_state, code).await {
        Ok(Linked {
            guild, role_given, ..
        }) => render::html(&JoinedPage {
            guild: guild.name,
            role_given,
            c: Chrome::new(tr, "web-join-title"),
        }),
        Err(LinkError::Database(e)) => render::internal(
            state,
            tr.locale,
            anyhow::Error::new(e).context("completing a consent"),
        ),
        Err(e) => {
            tracing::info!(error = %e, "a re-join consent did not complete");
            refused(tr, &e)
        }
    };
    ([(header::SET_COOKIE, clear)], page).into_response()
}

/// Whether a callback's `state` is the join consent this browser started.
pub fn is_join(headers: &HeaderMap, given_state: &str) -> bool {
    session::cookie(headers, JOIN_COOKIE).is_some_and(|c| {
        c.len() == given_state.len()
            && c.bytes()
                .zip(given_state.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    })
}

pub struct LinkRow {
    pub guild_id: u64,
    pub guild: String,
    pub live: bool,
    pub since: String,
}

#[derive(Template)]
#[template(path = "me.html")]
struct MePage {
    c: Chrome,
    links: Vec<LinkRow>,
    removed: bool,
}

async fn me(State(state): State<Arc<HttpState>>, viewer: Viewer) -> Response {
    me_page(&state, &viewer, false).await
}

async fn me_page(state: &HttpState, viewer: &Viewer, removed: bool) -> Response {
    let tr = viewer.tr(state);
    let links = match &state.app.links {
        Some(l) => match l.links_of(viewer.discord_id()).await {
            Ok(v) => v,
            Err(e) => {
                return render::internal(
                    state,
                    viewer.locale,
                    anyhow::Error::new(e).context("listing links"),
                );
            }
        },
        None => Vec::new(),
    };
    render::html(&MePage {
        links: links
            .into_iter()
            .map(|l| LinkRow {
                guild_id: l.guild_id,
                guild: l.guild_name,
                live: l.status == "authorized",
                since: tr.time(&l.linked_at),
            })
            .collect(),
        removed,
        c: Chrome::new(tr, "web-me-title").viewer(viewer),
    })
}

async fn remove(
    State(state): State<Arc<HttpState>>,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    let tr = viewer.tr(&state);
    if !viewer.csrf_matches(&form.csrf) {
        return render::forbidden(tr, "web-csrf-refused");
    }
    let (Some(links), Some(guild)) = (&state.app.links, guild_id(&raw)) else {
        return render::not_found(tr);
    };
    match links.unlink(viewer.discord_id(), guild).await {
        Ok(true) => me_page(&state, &viewer, true).await,
        Ok(false) => render::not_found(tr),
        Err(e) => render::internal(
            &state,
            viewer.locale,
            anyhow::Error::new(e).context("removing a link"),
        ),
    }
}
