//! Purpose: the snapshots page — the list, create (with a label), pin, unpin, delete, download
//! the export file, and upload an import — through the same snapshot service and rules as
//! `/backup` (pin limits, incident snapshots only the owner may unpin, the import's checks).
//! Another guild's snapshot id answers 404 and changes nothing.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Multipart, Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::{back_to, chrome, csrf_refusal, fail, open};
use crate::http::HttpState;
use crate::http::render::{self, Chrome};
use crate::http::session::Viewer;
use crate::recovery::snapshot::SnapshotError;
use crate::recovery::snapshot::commands::{human_size, map_err};
use crate::recovery::snapshot::model::clean_label;

pub struct Line {
    pub id: String,
    pub name: String,
    pub trigger: String,
    pub at: String,
    pub size: String,
    pub counts: String,
    pub pinned: bool,
}

#[derive(Template)]
#[template(path = "snapshots.html")]
struct Page {
    c: Chrome,
    base: String,
    snapshots: Vec<Line>,
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
    let metas = match state.app.snapshots.list(access.id()).await {
        Ok(m) => m,
        Err(e) => return fail(&state, &tr, map_err(e, "")),
    };
    let snapshots = metas
        .iter()
        .map(|m| Line {
            id: m.id.to_string(),
            name: m.display_name(),
            trigger: tr.t(&format!(
                "web-trigger-{}",
                m.trigger.as_str().replace('_', "-")
            )),
            at: tr.time(&m.as_of),
            size: human_size(m.size_bytes),
            counts: tr.t2(
                "web-snapshot-counts",
                "roles",
                m.role_count,
                "channels",
                m.channel_count,
            ) + " · "
                + &tr.t1("web-members-count", "count", m.member_count),
            pinned: m.pinned,
        })
        .collect();
    render::html(&Page {
        base: format!("/guilds/{}", access.id()),
        snapshots,
        c: chrome(
            &state,
            &viewer,
            &access,
            "web-snapshots-title",
            "/snapshots",
        ),
    })
}

#[derive(Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    label: String,
}

pub async fn create(
    State(state): State<Arc<HttpState>>,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(form): Form<CreateForm>,
) -> Response {
    let access = match open(&state, &viewer, &raw).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    if let Some(r) = csrf_refusal(&state, &viewer, &form.csrf) {
        return r;
    }
    let tr = viewer.tr(&state);
    let label = match clean_label(Some(&form.label)) {
        Ok(l) => l,
        Err(max) => {
            return render::bad_request(tr.clone(), tr.t1("web-label-too-long", "max", max));
        }
    };
    match state
        .app
        .snapshots
        .create_manual(access.id(), label, viewer.discord_id())
        .await
    {
        Ok(_) => back_to(&access, "/snapshots"),
        Err(e) => fail(&state, &tr, map_err(e, "")),
    }
}

#[derive(Deserialize)]
pub struct ActForm {
    #[serde(default)]
    csrf: String,
}

fn snapshot_id(raw: &str) -> Option<Uuid> {
    Uuid::parse_str(raw).ok()
}

pub async fn act(
    State(state): State<Arc<HttpState>>,
    viewer: Viewer,
    Path((raw, snapshot, action)): Path<(String, String, String)>,
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
    let Some(id) = snapshot_id(&snapshot) else {
        return render::not_found(tr);
    };
    let snapshots = &state.app.snapshots;
    let (guild, actor) = (access.id(), viewer.discord_id());
    let result = match action.as_str() {
        "pin" => snapshots.pin(guild, id, actor).await.map(|_| ()),
        "unpin" => snapshots
            .unpin(guild, id, access.is_owner())
            .await
            .map(|_| ()),
        "delete" => snapshots.delete(guild, id, actor).await.map(|_| ()),
        _ => return render::not_found(tr),
    };
    match result {
        Ok(()) => back_to(&access, "/snapshots"),
        Err(SnapshotError::NotFound) => render::not_found(tr),
        Err(e) => fail(&state, &tr, map_err(e, &short_of(&snapshot))),
    }
}

fn short_of(raw: &str) -> String {
    raw.chars()
        .rev()
        .take(8)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect()
}

pub async fn export(
    State(state): State<Arc<HttpState>>,
    viewer: Viewer,
    Path((raw, snapshot)): Path<(String, String)>,
) -> Response {
    let access = match open(&state, &viewer, &raw).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let tr = viewer.tr(&state);
    let Some(id) = snapshot_id(&snapshot) else {
        return render::not_found(tr);
    };
    match state.app.snapshots.export(access.id(), id).await {
        Ok((meta, bytes)) => {
            let name = format!(
                "umbra-snapshot-{}-{}.json",
                access.id(),
                meta.created_at.format("%Y%m%d-%H%M%S")
            );
            (
                [
                    (header::CONTENT_TYPE, "application/json".to_owned()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{name}\""),
                    ),
                ],
                bytes,
            )
                .into_response()
        }
        Err(SnapshotError::NotFound) => render::not_found(tr),
        Err(e) => fail(&state, &tr, map_err(e, &short_of(&snapshot))),
    }
}

/// `POST .../snapshots/import`: a multipart form with `csrf`, `label` and `file`.
pub async fn import(
    State(state): State<Arc<HttpState>>,
    viewer: Viewer,
    Path(raw): Path<String>,
    mut multipart: Multipart,
) -> Response {
    let access = match open(&state, &viewer, &raw).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let tr = viewer.tr(&state);
    let max = state.app.snapshots.import_max_bytes();
    let (mut csrf, mut label, mut file) = (String::new(), String::new(), None::<Vec<u8>>);
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => return render::bad_request(tr.clone(), tr.t("web-import-bad-form")),
        };
        let name = field.name().unwrap_or_default().to_owned();
        let Ok(bytes) = field.bytes().await else {
            return render::bad_request(tr.clone(), tr.t("web-import-bad-form"));
        };
        match name.as_str() {
            "csrf" => csrf = String::from_utf8_lossy(&bytes).into_owned(),
            "label" => label = String::from_utf8_lossy(&bytes).into_owned(),
            "file" => {
                if bytes.len() as u64 > max {
                    return fail(
                        &state,
                        &tr,
                        map_err(
                            SnapshotError::FileTooLarge {
                                size: bytes.len() as u64,
                                max,
                            },
                            "",
                        ),
                    );
                }
                file = Some(bytes.to_vec());
            }
            _ => {}
        }
    }
    if let Some(r) = csrf_refusal(&state, &viewer, &csrf) {
        return r;
    }
    let Some(file) = file.filter(|f| !f.is_empty()) else {
        return render::bad_request(tr.clone(), tr.t("web-import-no-file"));
    };
    let label = match clean_label(Some(&label)) {
        Ok(l) => l,
        Err(max) => {
            return render::bad_request(tr.clone(), tr.t1("web-label-too-long", "max", max));
        }
    };
    match state
        .app
        .snapshots
        .import(access.id(), file, label, viewer.discord_id())
        .await
    {
        Ok(_) => back_to(&access, "/snapshots"),
        Err(e) => fail(&state, &tr, map_err(e, "")),
    }
}
