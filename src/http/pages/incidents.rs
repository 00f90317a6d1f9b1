//! Purpose: AntiNuke incidents on the web — each incident as a timeline (the attacker's first
//! action, the detection, every step of Umbra's response) with what was destroyed, and the
//! same two buttons as in Discord ("restore what was destroyed", "false positive") with the
//! same rights (`may_decide`: the owner or trusted, taint-filtered). An incident of another
//! guild answers 404.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use uuid::Uuid;

use super::{back_to, chrome, csrf_refusal, open, short};
use crate::http::HttpState;
use crate::http::render::{self, Chrome};
use crate::http::session::Viewer;
use crate::recovery::antinuke::IncidentStatus;
use crate::recovery::antinuke::commands::error_text;
use crate::types::Data;

pub struct Step {
    pub at: String,
    pub what: String,
}

pub struct IncidentView {
    pub id: String,
    pub short: String,
    pub actor: String,
    pub class: String,
    pub count: i32,
    pub status: String,
    pub open: bool,
    pub destroyed: usize,
    pub punishment: String,
    pub timeline: Vec<Step>,
}

#[derive(Template)]
#[template(path = "incidents.html")]
struct Page {
    c: Chrome,
    base: String,
    incidents: Vec<IncidentView>,
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
    let incidents = match state.app.antinuke.incidents(access.id(), 50).await {
        Ok(i) => i,
        Err(e) => {
            return render::internal(
                &state,
                viewer.locale,
                anyhow::Error::new(e).context("listing incidents"),
            );
        }
    };
    let views = incidents
        .iter()
        .map(|i| {
            let mut timeline = vec![
                Step {
                    at: tr.time(&i.first_action_at),
                    what: tr.t2(
                        "web-incident-first-action",
                        "class",
                        &i.action_class,
                        "actor",
                        i.actor,
                    ),
                },
                Step {
                    at: tr.time(&i.detected_at),
                    what: tr.t1("web-incident-detected", "count", i.action_count),
                },
            ];
            for step in i.response.as_array().into_iter().flatten() {
                let name = step["step"].as_str().unwrap_or("?");
                let at = step["at"]
                    .as_str()
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                    .map(|t| tr.time(&t.with_timezone(&chrono::Utc)))
                    .unwrap_or_default();
                let outcome = step["outcome"]
                    .as_str()
                    .or_else(|| step["result"].as_str())
                    .unwrap_or("");
                timeline.push(Step {
                    at,
                    what: format!("{name} {outcome}").trim().to_owned(),
                });
            }
            if let Some(resolved) = &i.resolved_at {
                timeline.push(Step {
                    at: tr.time(resolved),
                    what: data.i18n.text(viewer.locale, &i.status.name_msg(), &[]),
                });
            }
            IncidentView {
                id: i.id.to_string(),
                short: short(&i.id),
                actor: i.actor.to_string(),
                class: i.action_class.clone(),
                count: i.action_count,
                status: data.i18n.text(viewer.locale, &i.status.name_msg(), &[]),
                open: i.status == IncidentStatus::Open,
                destroyed: i.destroyed.total(),
                punishment: i.punishment.clone(),
                timeline,
            }
        })
        .collect();
    render::html(&Page {
        base: format!("/guilds/{}", access.id()),
        incidents: views,
        c: chrome(
            &state,
            &viewer,
            &access,
            "web-incidents-title",
            "/incidents",
        ),
    })
}

#[derive(Deserialize)]
pub struct ActForm {
    #[serde(default)]
    csrf: String,
}

pub async fn act(
    State(state): State<Arc<HttpState>>,
    viewer: Viewer,
    Path((raw, incident, action)): Path<(String, String, String)>,
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
    let Ok(id) = Uuid::parse_str(&incident) else {
        return render::not_found(tr);
    };
    let app = &state.app;
    let data = Data(state.app.clone());
    let found = match app.antinuke.incident(id).await {
        Ok(Some(i)) if i.guild_discord_id == access.id() => i,
        Ok(_) => return render::not_found(tr),
        Err(e) => {
            return render::internal(
                &state,
                viewer.locale,
                anyhow::Error::new(e).context("reading an incident"),
            );
        }
    };
    let by = viewer.discord_id();
    match app.antinuke.may_decide(found.guild_discord_id, by).await {
        Ok(true) => {}
        Ok(false) => return render::forbidden(tr, "web-not-allowed"),
        Err(e) => return render::bad_request(tr, error_text(&data, viewer.locale, &e)),
    }
    let outcome = match action.as_str() {
        "restore" => app
            .antinuke
            .restore_destroyed(id, by)
            .await
            .map(|started| started.job),
        "false-positive" => app.antinuke.false_positive(id, by).await.map(|_| None),
        _ => return render::not_found(tr),
    };
    match outcome {
        Ok(Some(job)) => back_to(&access, &format!("/restores/{job}")),
        Ok(None) => back_to(&access, "/incidents"),
        Err(e) => render::bad_request(tr, error_text(&data, viewer.locale, &e)),
    }
}
