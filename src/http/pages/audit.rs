//! Purpose: the audit-log page — the guild's `audit.events`, newest first, filtered by kind (an
//! event type or its prefix), actor (a Discord id) and time, 50 a page with a cursor to the
//! next page.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;
use uuid::Uuid;

use super::{chrome, open};
use crate::audit::AuditFilter;
use crate::http::HttpState;
use crate::http::render::{self, Chrome};
use crate::http::session::Viewer;
use crate::ids::Snowflake;

const PER_PAGE: u64 = 50;

#[derive(Deserialize, Default)]
pub struct Filter {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    since: String,
    #[serde(default)]
    until: String,
    /// `<rfc3339>_<uuid>` of the previous page's last entry.
    #[serde(default)]
    after: String,
}

fn time(raw: &str) -> Result<Option<DateTime<Utc>>, ()> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(Some(t.with_timezone(&Utc)));
    }
    NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M")
        .map(|t| Some(t.and_utc()))
        .map_err(|_| ())
}

fn parse(f: &Filter) -> Result<AuditFilter, ()> {
    let actor = match f.actor.trim() {
        "" => None,
        a => Some(Snowflake::parse(a).map_err(|_| ())?.0),
    };
    let after = match f.after.split_once('_') {
        None if f.after.is_empty() => None,
        None => return Err(()),
        Some((at, id)) => Some((time(at)?.ok_or(())?, Uuid::parse_str(id).map_err(|_| ())?)),
    };
    let kind = f.kind.trim();
    if kind.len() > 64 {
        return Err(());
    }
    Ok(AuditFilter {
        kind: (!kind.is_empty()).then(|| kind.to_owned()),
        actor,
        since: time(&f.since)?,
        until: time(&f.until)?,
        after,
    })
}

pub struct Row {
    pub at: String,
    pub kind: String,
    pub actor: String,
    pub details: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct Page {
    c: Chrome,
    base: String,
    kind: String,
    actor: String,
    since: String,
    until: String,
    rows: Vec<Row>,
    next: Option<String>,
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub async fn page(
    State(state): State<Arc<HttpState>>,
    viewer: Viewer,
    Path(raw): Path<String>,
    Query(filter): Query<Filter>,
) -> Response {
    let access = match open(&state, &viewer, &raw).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let tr = viewer.tr(&state);
    let Ok(parsed) = parse(&filter) else {
        return render::bad_request(tr.clone(), tr.t("web-audit-bad-filter"));
    };
    let entries = match state
        .app
        .audit
        .events(access.guild.id, &parsed, PER_PAGE)
        .await
    {
        Ok(e) => e,
        Err(e) => {
            return render::internal(
                &state,
                viewer.locale,
                anyhow::Error::new(e).context("reading the audit log"),
            );
        }
    };
    let next = (entries.len() as u64 == PER_PAGE)
        .then(|| entries.last())
        .flatten()
        .map(|last| {
            let cursor = format!(
                "{}_{}",
                last.occurred_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                last.id
            );
            format!(
                "?kind={}&actor={}&since={}&until={}&after={}",
                encode(&filter.kind),
                encode(&filter.actor),
                encode(&filter.since),
                encode(&filter.until),
                encode(&cursor)
            )
        });
    let rows = entries
        .into_iter()
        .map(|e| {
            let mut details = e.payload.to_string();
            if details.len() > 400 {
                let cut = (0..=400)
                    .rev()
                    .find(|i| details.is_char_boundary(*i))
                    .unwrap_or(0);
                details.truncate(cut);
                details.push('…');
            }
            Row {
                at: e.occurred_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                kind: e.event_type,
                actor: e
                    .actor_discord_id
                    .map(|a| a.to_string())
                    .unwrap_or_else(|| "Umbra".to_owned()),
                details,
            }
        })
        .collect();
    render::html(&Page {
        base: format!("/guilds/{}", access.id()),
        kind: filter.kind.clone(),
        actor: filter.actor.clone(),
        since: filter.since.clone(),
        until: filter.until.clone(),
        rows,
        next,
        c: chrome(&state, &viewer, &access, "web-audit-title", "/audit"),
    })
}
