//! Purpose: the time machine — choose a moment within live sync's history (or a snapshot) and
//! see the guild then: settings, roles with permissions, channels in their categories with
//! overwrites, members with roles and nicknames (paged), and what differs from now (created /
//! deleted / changed, field by field). "Restore this" goes through the same preview -> confirm
//! flow as `/restore` (same planner, checks and approvals): a moment is first frozen as a
//! manual snapshot (labelled with the moment; it counts toward retention like `/backup
//! create`), a snapshot is previewed as it is.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use serde::Deserialize;
use uuid::Uuid;

use super::{chrome, csrf_refusal, fail, open};
use crate::http::HttpState;
use crate::http::render::{self, Chrome, Tr};
use crate::http::session::Viewer;
use crate::recovery::restore::{Components, Mode};
use crate::recovery::snapshot::SnapshotError;
use crate::recovery::snapshot::commands::map_err;
use crate::recovery::timemachine::{self, Change, Picture};

/// Members shown per page.
const MEMBERS_PER_PAGE: usize = 50;
/// Member changes shown (the rest are counted).
const MEMBER_CHANGES_SHOWN: usize = 200;

#[derive(Deserialize, Default)]
pub struct Moment {
    /// `YYYY-MM-DDTHH:MM` (a browser's datetime-local, read as UTC) or RFC 3339.
    #[serde(default)]
    at: String,
    /// Minutes back from now (a shortcut: `?ago=60`).
    #[serde(default)]
    ago: Option<i64>,
    #[serde(default)]
    snapshot: String,
    #[serde(default)]
    page: usize,
}

/// When `moment` points, if it names a time.
fn parse_at(moment: &Moment, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, ()> {
    if let Some(minutes) = moment.ago {
        if !(0..=60 * 24 * 3650).contains(&minutes) {
            return Err(());
        }
        return Ok(Some(now - TimeDelta::minutes(minutes)));
    }
    let raw = moment.at.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(Some(t.with_timezone(&Utc)));
    }
    for format in ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(raw, format) {
            return Ok(Some(t.and_utc()));
        }
    }
    Err(())
}

pub struct ChangeView {
    pub subject: String,
    pub kind: &'static str,
    pub kind_label: String,
    pub name: String,
    pub fields: Vec<(String, String, String)>,
}

fn change_view(tr: &Tr, c: &Change) -> ChangeView {
    ChangeView {
        subject: tr.t(&format!("web-subject-{}", c.subject.as_str())),
        kind: c.kind.as_str(),
        kind_label: tr.t(&format!("web-change-{}", c.kind.as_str())),
        name: c.name.clone(),
        fields: c
            .fields
            .iter()
            .map(|f| (f.field.clone(), f.then.clone(), f.now.clone()))
            .collect(),
    }
}

pub struct SnapshotChoice {
    pub id: String,
    pub name: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "timemachine.html")]
struct Page {
    c: Chrome,
    base: String,
    history_start: String,
    at_value: String,
    snapshots: Vec<SnapshotChoice>,
    /// What is shown: "then" as a title, its picture and the diff.
    shown: Option<Shown>,
    /// The chosen moment or snapshot, for the restore form.
    restore_at: String,
    restore_snapshot: String,
}

struct Shown {
    title: String,
    picture: Picture,
    changes: Vec<ChangeView>,
    more_member_changes: usize,
    page: usize,
    pages: usize,
    query: String,
}

impl Shown {
    fn members(&self) -> &[timemachine::MemberView] {
        let start = (self.page * MEMBERS_PER_PAGE).min(self.picture.members.len());
        let end = (start + MEMBERS_PER_PAGE).min(self.picture.members.len());
        &self.picture.members[start..end]
    }
}

pub async fn page(
    State(state): State<Arc<HttpState>>,
    viewer: Viewer,
    Path(raw): Path<String>,
    Query(moment): Query<Moment>,
) -> Response {
    let access = match open(&state, &viewer, &raw).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let tr = viewer.tr(&state);
    let app = &state.app;
    let guild = access.id();
    let now = Utc::now();
    let Ok(at) = parse_at(&moment, now) else {
        return render::bad_request(tr.clone(), tr.t("web-tm-bad-moment"));
    };
    let snapshot = match moment.snapshot.trim() {
        "" => None,
        s => match Uuid::parse_str(s) {
            Ok(id) => Some(id),
            Err(_) => return render::not_found(tr),
        },
    };
    let metas = match app.snapshots.list(guild).await {
        Ok(m) => m,
        Err(e) => return fail(&state, &tr, map_err(e, "")),
    };
    let history_start = match app.sync.history_start(guild).await {
        Ok(t) => t,
        Err(e) => {
            return render::internal(
                &state,
                viewer.locale,
                anyhow::Error::new(e).context("history start"),
            );
        }
    };
    let then = match (snapshot, at) {
        (Some(id), _) => match app.snapshots.document(guild, id).await {
            Ok((meta, doc)) => Some((
                tr.t2(
                    "web-tm-then-snapshot",
                    "label",
                    meta.display_name(),
                    "at",
                    tr.time(&meta.as_of),
                ),
                doc,
            )),
            Err(SnapshotError::NotFound) => return render::not_found(tr),
            Err(e) => return fail(&state, &tr, map_err(e, "")),
        },
        (None, Some(at)) => {
            if history_start.is_none_or(|start| at < start) || at > now {
                return render::bad_request(tr.clone(), tr.t("web-tm-out-of-history"));
            }
            match app.snapshots.frozen(guild, Some(at)).await {
                Ok((doc, _)) => Some((tr.t1("web-tm-then-moment", "at", tr.time(&at)), doc)),
                Err(SnapshotError::NoStateAt) => {
                    return render::bad_request(tr.clone(), tr.t("web-tm-out-of-history"));
                }
                Err(e) => return fail(&state, &tr, map_err(e, "")),
            }
        }
        (None, None) => None,
    };
    let shown = match then {
        None => None,
        Some((title, then_doc)) => {
            let (now_doc, names) = match app.snapshots.frozen(guild, None).await {
                Ok(v) => v,
                Err(e) => return fail(&state, &tr, map_err(e, "")),
            };
            let page = moment.page;
            let computed = tokio::task::spawn_blocking(move || {
                let picture = timemachine::picture(&then_doc, &names);
                let changes = timemachine::diff(&then_doc, &now_doc);
                (picture, changes)
            })
            .await;
            let Ok((picture, changes)) = computed else {
                return render::internal(
                    &state,
                    viewer.locale,
                    anyhow::anyhow!("the time machine's task failed"),
                );
            };
            let mut shown_changes = Vec::new();
            let mut member_changes = 0usize;
            for c in &changes {
                if c.subject == timemachine::Subject::Member {
                    member_changes += 1;
                    if member_changes > MEMBER_CHANGES_SHOWN {
                        continue;
                    }
                }
                shown_changes.push(change_view(&tr, c));
            }
            let pages = picture.members.len().div_ceil(MEMBERS_PER_PAGE).max(1);
            let query = match (snapshot, at) {
                (Some(id), _) => format!("snapshot={id}"),
                (None, Some(at)) => format!(
                    "at={}",
                    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ),
                _ => String::new(),
            };
            Some(Shown {
                title,
                picture,
                changes: shown_changes,
                more_member_changes: member_changes.saturating_sub(MEMBER_CHANGES_SHOWN),
                page: page.min(pages - 1),
                pages,
                query,
            })
        }
    };
    render::html(&Page {
        base: format!("/guilds/{guild}"),
        history_start: history_start
            .map(|t| tr.time(&t))
            .unwrap_or_else(|| tr.t("web-never")),
        at_value: at
            .map(|t| t.format("%Y-%m-%dT%H:%M").to_string())
            .unwrap_or_default(),
        snapshots: metas
            .iter()
            .map(|m| SnapshotChoice {
                id: m.id.to_string(),
                name: format!("{} · {}", m.display_name(), tr.time(&m.as_of)),
                selected: Some(m.id) == snapshot,
            })
            .collect(),
        restore_at: match (snapshot, at) {
            (None, Some(at)) => at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            _ => String::new(),
        },
        restore_snapshot: snapshot.map(|s| s.to_string()).unwrap_or_default(),
        shown,
        c: chrome(&state, &viewer, &access, "web-tm-title", "/timemachine"),
    })
}

#[derive(Deserialize)]
pub struct RestoreForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    at: String,
    #[serde(default)]
    snapshot: String,
    #[serde(default)]
    mode: String,
}

/// "Restore this": a preview of the chosen snapshot or moment, shown on the job's page.
pub async fn restore_this(
    State(state): State<Arc<HttpState>>,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(form): Form<RestoreForm>,
) -> Response {
    let access = match open(&state, &viewer, &raw).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    if let Some(r) = csrf_refusal(&state, &viewer, &form.csrf) {
        return r;
    }
    let tr = viewer.tr(&state);
    let app = &state.app;
    let guild = access.id();
    let mode = match form.mode.as_str() {
        "" | "merge" => Mode::Merge,
        "mirror" => Mode::Mirror,
        _ => return render::bad_request(tr.clone(), tr.t("web-tm-bad-mode")),
    };
    let snapshot = if !form.snapshot.trim().is_empty() {
        match Uuid::parse_str(form.snapshot.trim()) {
            Ok(id) => id,
            Err(_) => return render::not_found(tr),
        }
    } else {
        let moment = Moment {
            at: form.at.clone(),
            ..Moment::default()
        };
        let Ok(Some(at)) = parse_at(&moment, Utc::now()) else {
            return render::bad_request(tr.clone(), tr.t("web-tm-bad-moment"));
        };
        let label = tr.t1("web-tm-snapshot-label", "at", tr.time(&at));
        let label: String = label.chars().take(100).collect();
        match app
            .snapshots
            .create_as_of(guild, at, Some(label), viewer.discord_id())
            .await
        {
            Ok(created) => created.meta.id,
            Err(SnapshotError::NoStateAt) => {
                return render::bad_request(tr.clone(), tr.t("web-tm-out-of-history"));
            }
            Err(e) => return fail(&state, &tr, map_err(e, "")),
        }
    };
    let bot = app.bot.user_id().unwrap_or(0);
    match app
        .restores
        .preview(
            guild,
            &snapshot.to_string(),
            mode,
            Components::all(),
            viewer.discord_id(),
            bot,
        )
        .await
    {
        Ok(preview) => {
            Redirect::to(&format!("/guilds/{guild}/restores/{}", preview.job_id)).into_response()
        }
        Err(crate::recovery::restore::RestoreError::SnapshotNotFound) => render::not_found(tr),
        Err(e) => fail(
            &state,
            &tr,
            crate::recovery::restore::commands::map_err(e, ""),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_browser_moment_is_read_as_utc_and_nonsense_is_refused() {
        let now = Utc::now();
        let m = Moment {
            at: "2026-12-06T04:30".into(),
            ..Moment::default()
        };
        let at = parse_at(&m, now).expect("parses").expect("a time");
        assert_eq!(at.to_rfc3339(), "2026-12-06T04:30:00+00:00");
        let bad = Moment {
            at: "yesterday".into(),
            ..Moment::default()
        };
        assert!(parse_at(&bad, now).is_err());
        let ago = Moment {
            ago: Some(60),
            ..Moment::default()
        };
        assert_eq!(parse_at(&ago, now), Ok(Some(now - TimeDelta::minutes(60))));
        assert_eq!(parse_at(&Moment::default(), now), Ok(None));
    }
}
