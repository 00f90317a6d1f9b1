//! Purpose: restore jobs on the web — the guild's jobs, one job's page (a preview with the
//! planner's text and Confirm / Discard, a running job's progress that server-sent events keep
//! moving to the end, a finished job's per-item report), and the buttons: confirm (the form
//! carries the plan hash it showed: a plan that changed since is shown again, never run
//! unseen), discard a preview, cancel a queued or running job. Same service, same checks and
//! owner approvals as the buttons in Discord.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::{back_to, chrome, csrf_refusal, fail, open, short};
use crate::http::HttpState;
use crate::http::render::{self, Chrome, Tr};
use crate::http::session::Viewer;
use crate::recovery::restore::RestoreError;
use crate::recovery::restore::commands::{map_err, preview_text, reason_msg, state_name};
use crate::recovery::restore::model::{self as plan_model, RunState};
use crate::recovery::restore::service::{Confirmed, JobView, Preview};
use crate::recovery::restore::view::{final_text, kind_name};
use crate::types::Data;

/// How often the progress stream looks at the job.
const TICK: Duration = Duration::from_millis(500);
/// A progress stream ends after this long (the browser reconnects by itself).
const STREAM_LIFETIME: Duration = Duration::from_secs(600);

pub struct JobLine {
    pub id: String,
    pub short: String,
    pub state: String,
    pub mode: String,
    pub at: String,
    pub steps: String,
}

#[derive(Template)]
#[template(path = "restores.html")]
struct ListPage {
    c: Chrome,
    base: String,
    jobs: Vec<JobLine>,
}

pub async fn list(
    State(state): State<Arc<HttpState>>,
    viewer: Viewer,
    Path(raw): Path<String>,
) -> Response {
    let access = match open(&state, &viewer, &raw).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let tr = viewer.tr(&state);
    let data = Data(state.app.clone());
    let rows = match state.app.restores.history(access.id()).await {
        Ok(r) => r,
        Err(e) => return fail(&state, &tr, map_err(e, "")),
    };
    let jobs = rows
        .iter()
        .map(|r| JobLine {
            id: r.id.to_string(),
            short: short(&r.id),
            state: state_name(&data, viewer.locale, &r.status),
            mode: r.mode.clone(),
            at: tr.time(&r.created_at),
            steps: format!("{}/{}", r.done_steps + r.failed_steps, r.total_steps),
        })
        .collect();
    render::html(&ListPage {
        base: format!("/guilds/{}", access.id()),
        jobs,
        c: chrome(&state, &viewer, &access, "web-restores-title", "/restores"),
    })
}

/// A job's progress as the page and the stream show it.
#[derive(serde::Serialize)]
struct Progress {
    status: String,
    state: String,
    done: i32,
    failed: i32,
    total: i32,
    percent: u32,
    finished: bool,
    text: String,
}

fn progress(data: &Data, tr: &Tr, view: &JobView) -> Progress {
    let row = &view.row;
    let finished_steps = row.done_steps + row.failed_steps;
    let finished = matches!(
        row.status.as_str(),
        "completed" | "failed" | "cancelled" | "expired"
    );
    let percent = if row.total_steps <= 0 {
        if finished { 100 } else { 0 }
    } else {
        u32::try_from(i64::from(finished_steps) * 100 / i64::from(row.total_steps)).unwrap_or(0)
    };
    let text = match (&view.plan, row.status.as_str()) {
        (Some(plan), "completed" | "cancelled" | "failed") => {
            let run = RunState::load(plan, &row.progress, &row.id_map);
            render::plain(
                tr,
                &final_text(&data.i18n, tr.locale, plan, &run, &row.status),
            )
        }
        _ => String::new(),
    };
    Progress {
        status: row.status.clone(),
        state: state_name(data, tr.locale, &row.status),
        done: row.done_steps,
        failed: row.failed_steps,
        total: row.total_steps,
        percent: if finished && row.status == "completed" {
            100
        } else {
            percent.min(100)
        },
        finished,
        text,
    }
}

/// The state of one progress stream.
struct Tail {
    state: Arc<HttpState>,
    data: Data,
    tr: Tr,
    guild: u64,
    id: Uuid,
    started: tokio::time::Instant,
    last: String,
    first: bool,
    /// The job ended: the `done` event is next.
    done: Option<String>,
    ended: bool,
}

pub struct ReportLine {
    pub kind: &'static str,
    pub name: String,
    pub outcome: String,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "restore.html")]
struct JobPage {
    c: Chrome,
    base: String,
    id: String,
    short: String,
    progress: Progress,
    /// The planner's preview text (previews only).
    preview: Option<String>,
    plan_hash: String,
    approval_pending: bool,
    cancellable: bool,
    report: Vec<ReportLine>,
}

async fn preview_of(state: &HttpState, guild: u64, view: &JobView) -> Option<Preview> {
    let plan = view.plan.clone()?;
    let snapshot = view.row.snapshot_id?;
    let meta = state
        .app
        .snapshots
        .find(guild, &snapshot.to_string())
        .await
        .ok()?;
    let hash: [u8; 32] = view.row.plan_hash.as_slice().try_into().ok()?;
    Some(Preview {
        job_id: view.row.id,
        plan,
        plan_hash: hash,
        expires_at: view.row.expires_at,
        snapshot: meta,
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub async fn job(
    State(state): State<Arc<HttpState>>,
    viewer: Viewer,
    Path((raw, job)): Path<(String, String)>,
) -> Response {
    let access = match open(&state, &viewer, &raw).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let tr = viewer.tr(&state);
    let Ok(id) = Uuid::parse_str(&job) else {
        return render::not_found(tr);
    };
    let view = match state.app.restores.job(access.id(), id).await {
        Ok(v) => v,
        Err(RestoreError::NotFound) => return render::not_found(tr),
        Err(e) => return fail(&state, &tr, map_err(e, "")),
    };
    let data = Data(state.app.clone());
    let row = &view.row;
    let preview = if row.status == "previewed" {
        preview_of(&state, access.id(), &view)
            .await
            .map(|p| render::plain(&tr, &preview_text(&data, viewer.locale, &p, false)))
    } else {
        None
    };
    let report = match (&view.plan, row.status.as_str()) {
        (Some(plan), "completed" | "cancelled" | "failed") => {
            let run = RunState::load(plan, &row.progress, &row.id_map);
            plan_model::report(plan, &run)
                .into_iter()
                .map(|i| ReportLine {
                    kind: kind_name(i.kind),
                    outcome: tr.t(&format!("web-outcome-{}", i.outcome)),
                    name: i.name,
                    reason: i.reason,
                })
                .collect()
        }
        _ => Vec::new(),
    };
    render::html(&JobPage {
        base: format!("/guilds/{}", access.id()),
        id: row.id.to_string(),
        short: short(&row.id),
        progress: progress(&data, &tr, &view),
        preview,
        plan_hash: hex(&row.plan_hash),
        approval_pending: row.approval_state() == Some("pending"),
        cancellable: matches!(row.status.as_str(), "queued" | "running"),
        report,
        c: chrome(&state, &viewer, &access, "web-restore-title", "/restores"),
    })
}

/// `GET .../restores/{job}/events`: `progress` events (JSON) until the job ends, then `done`.
pub async fn events(
    State(state): State<Arc<HttpState>>,
    viewer: Viewer,
    Path((raw, job)): Path<(String, String)>,
) -> Response {
    let access = match open(&state, &viewer, &raw).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let tr = viewer.tr(&state);
    let Ok(id) = Uuid::parse_str(&job) else {
        return render::not_found(tr);
    };
    if let Err(e) = state.app.restores.job(access.id(), id).await {
        return match e {
            RestoreError::NotFound => render::not_found(tr),
            e => fail(&state, &tr, map_err(e, "")),
        };
    }
    let tail = Tail {
        data: Data(state.app.clone()),
        state,
        tr,
        guild: access.id(),
        id,
        started: tokio::time::Instant::now(),
        last: String::new(),
        first: true,
        done: None,
        ended: false,
    };
    let stream = futures::stream::unfold(tail, |mut t| async move {
        loop {
            if t.ended {
                return None;
            }
            if let Some(status) = t.done.take() {
                t.ended = true;
                let event = Event::default().event("done").data(status);
                return Some((Ok::<_, Infallible>(event), t));
            }
            if !t.first {
                if t.started.elapsed() > STREAM_LIFETIME {
                    return None;
                }
                let mut shutdown = t.state.shutdown.clone();
                if *shutdown.borrow() {
                    return None;
                }
                tokio::select! {
                    _ = tokio::time::sleep(TICK) => {}
                    _ = shutdown.changed() => return None,
                }
            }
            t.first = false;
            let view = match t.state.app.restores.job(t.guild, t.id).await {
                Ok(v) => v,
                Err(e) => {
                    tracing::warn!(error = %e, "the progress stream could not read its job");
                    return None;
                }
            };
            let p = progress(&t.data, &t.tr, &view);
            if p.finished {
                t.done = Some(p.status.clone());
            }
            let json = serde_json::to_string(&p).unwrap_or_default();
            if json != t.last {
                t.last = json.clone();
                return Some((Ok(Event::default().event("progress").data(json)), t));
            }
        }
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}

#[derive(Deserialize)]
pub struct ActForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    hash: String,
}

pub async fn act(
    State(state): State<Arc<HttpState>>,
    viewer: Viewer,
    Path((raw, job, action)): Path<(String, String, String)>,
    Form(form): Form<ActForm>,
) -> Response {
    let access = match open(&state, &viewer, &raw).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    if let Some(r) = csrf_refusal(&state, &viewer, &form.csrf) {
        return r;
    }
    let tr = viewer.tr(&state);
    let Ok(id) = Uuid::parse_str(&job) else {
        return render::not_found(tr);
    };
    let app = &state.app;
    let guild = access.id();
    let view = match app.restores.job(guild, id).await {
        Ok(v) => v,
        Err(RestoreError::NotFound) => return render::not_found(tr),
        Err(e) => return fail(&state, &tr, map_err(e, "")),
    };
    let here = format!("/restores/{id}");
    match action.as_str() {
        "confirm" => {
            if form.hash != hex(&view.row.plan_hash) {
                // The plan changed since the page was shown: show it again.
                return back_to(&access, &here);
            }
            let bot = app.bot.user_id().unwrap_or(0);
            match app
                .restores
                .confirm(guild, id, viewer.discord_id(), bot)
                .await
            {
                Ok(Confirmed::Queued(job)) => back_to(&access, &format!("/restores/{job}")),
                Ok(Confirmed::Replanned(p)) => back_to(&access, &format!("/restores/{}", p.job_id)),
                Ok(Confirmed::AwaitingApproval(reasons)) => {
                    let data = Data(state.app.clone());
                    let reasons: Vec<String> = reasons
                        .iter()
                        .map(|r| data.i18n.text(viewer.locale, &reason_msg(*r), &[]))
                        .collect();
                    render::error_page(
                        tr.clone(),
                        axum::http::StatusCode::ACCEPTED,
                        "web-restore-title",
                        tr.t1(
                            "web-restore-awaiting-approval",
                            "reasons",
                            reasons.join(", "),
                        ),
                    )
                }
                Err(e) => fail(&state, &tr, map_err(e, "")),
            }
        }
        "discard" => match app.restores.cancel_preview(guild, id).await {
            Ok(()) => back_to(&access, "/restores"),
            Err(e) => fail(&state, &tr, map_err(e, "")),
        },
        "cancel" => {
            if !matches!(view.row.status.as_str(), "queued" | "running") {
                return back_to(&access, &here);
            }
            match app.restores.cancel(guild, Some(id)).await {
                Ok(_) => back_to(&access, &here),
                Err(e) => fail(&state, &tr, map_err(e, "")),
            }
        }
        _ => render::not_found(tr),
    }
}
