//! Purpose: "My guilds" (where the viewer is owner or trusted and Umbra is installed), a
//! guild's overview (live sync, protection health, plan and limits, last snapshots, the running
//! restore, open incidents). The plan page is `billing`'s.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;

use super::{chrome, open, short};
use crate::guild::GuildReader;
use crate::http::HttpState;
use crate::http::render::{self, Chrome};
use crate::http::rights;
use crate::http::session::Viewer;
use crate::licensing::{Entitlements, LicensingReader};
use crate::recovery::antinuke::IncidentStatus;
use crate::recovery::sync::SyncState;

pub struct GuildRow {
    pub id: String,
    pub name: String,
    pub owner: bool,
}

#[derive(Template)]
#[template(path = "guilds.html")]
struct GuildsPage {
    c: Chrome,
    guilds: Vec<GuildRow>,
}

pub async fn list(State(state): State<Arc<HttpState>>, viewer: Viewer) -> Response {
    let guilds = match rights::guilds_of(&state.app, viewer.discord_id()).await {
        Ok(g) => g,
        Err(e) => {
            return render::internal(
                &state,
                viewer.locale,
                e.context("listing the viewer's guilds"),
            );
        }
    };
    render::html(&GuildsPage {
        c: Chrome::new(viewer.tr(&state), "web-guilds-title").viewer(&viewer),
        guilds: guilds
            .into_iter()
            .map(|a| GuildRow {
                id: a.id().to_string(),
                owner: a.is_owner(),
                name: a.guild.name,
            })
            .collect(),
    })
}

/// A snapshot line on the overview.
pub struct SnapshotLine {
    pub id: String,
    pub name: String,
    pub at: String,
    pub pinned: bool,
}

/// The plan as shown.
pub struct PlanView {
    pub name: String,
    pub until: Option<String>,
    pub retention: u32,
    pub min_interval: u32,
    pub member_limit: Option<u32>,
    pub punishments: String,
    pub lockdown: bool,
    pub auto_revert: bool,
    pub custom_thresholds: bool,
}

pub(super) fn plan_view(state: &HttpState, viewer: &Viewer, e: &Entitlements) -> PlanView {
    let tr = viewer.tr(state);
    PlanView {
        name: e.plan.display_name(&state.app.i18n, viewer.locale),
        until: e
            .license
            .as_ref()
            .and_then(|l| l.ends_at.as_ref())
            .map(|t| tr.time(t)),
        retention: e.plan.snapshot_retention,
        min_interval: e.plan.min_snapshot_interval_minutes,
        member_limit: e.plan.member_restore_limit,
        punishments: e.plan.antinuke.punishments.join(", "),
        lockdown: e.plan.antinuke.lockdown,
        auto_revert: e.plan.antinuke.auto_revert,
        custom_thresholds: e.plan.antinuke.custom_thresholds,
    }
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    c: Chrome,
    base: String,
    sync_state: String,
    last_full_sync: String,
    roles: u64,
    channels: u64,
    members: u64,
    antinuke_on: bool,
    degraded: Option<String>,
    plan: PlanView,
    snapshots: Vec<SnapshotLine>,
    restore: Option<(String, String, String)>,
    open_incidents: Vec<(String, String, String)>,
}

pub async fn overview(
    State(state): State<Arc<HttpState>>,
    viewer: Viewer,
    Path(raw): Path<String>,
) -> Response {
    let access = match open(&state, &viewer, &raw).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let app = &state.app;
    let guild = access.id();
    let tr = viewer.tr(&state);
    let loaded = async {
        let sync = app.sync.status(guild).await?;
        let entitlements = app.licensing.entitlements(guild).await?;
        let snapshots = app.snapshots.list(guild).await?;
        let restore = app.restores.status(guild).await?;
        let incidents = app.antinuke.incidents(guild, 20).await?;
        let settings = app.guilds.antinuke(guild).await?;
        Ok::<_, anyhow::Error>((sync, entitlements, snapshots, restore, incidents, settings))
    }
    .await;
    let (sync, entitlements, snapshots, restore, incidents, settings) = match loaded {
        Ok(v) => v,
        Err(e) => {
            return render::internal(&state, viewer.locale, e.context("loading the overview"));
        }
    };
    let sync_state = tr.t(match sync.state {
        Some(SyncState::Live) => "web-sync-live",
        Some(SyncState::Loading) => "web-sync-loading",
        Some(SyncState::Stale) => "web-sync-stale",
        None => "web-sync-none",
    });
    if app.antinuke.policy(guild).is_none() {
        let _ = app.antinuke.reload(guild).await;
    }
    let degraded = app.bot.cache().and_then(|cache| {
        crate::recovery::antinuke::commands::degraded_in(cache, app, viewer.locale, guild)
    });
    let data = crate::types::Data(state.app.clone());
    let page = OverviewPage {
        base: format!("/guilds/{guild}"),
        sync_state,
        last_full_sync: sync
            .last_full_sync_at
            .map(|t| tr.time(&t))
            .unwrap_or_else(|| tr.t("web-never")),
        roles: sync.roles,
        channels: sync.channels,
        members: sync.members,
        antinuke_on: settings.enabled,
        degraded,
        plan: plan_view(&state, &viewer, &entitlements),
        snapshots: snapshots
            .iter()
            .take(5)
            .map(|m| SnapshotLine {
                id: m.id.to_string(),
                name: m.display_name(),
                at: tr.time(&m.as_of),
                pinned: m.pinned,
            })
            .collect(),
        restore: restore.map(|v| {
            (
                v.row.id.to_string(),
                crate::recovery::restore::commands::state_name(&data, viewer.locale, &v.row.status),
                format!(
                    "{}/{}",
                    v.row.done_steps + v.row.failed_steps,
                    v.row.total_steps
                ),
            )
        }),
        open_incidents: incidents
            .iter()
            .filter(|i| matches!(i.status, IncidentStatus::Open | IncidentStatus::Restoring))
            .map(|i| {
                (
                    short(&i.id),
                    i.action_class.clone(),
                    tr.time(&i.detected_at),
                )
            })
            .collect(),
        c: chrome(&state, &viewer, &access, "web-overview-title", ""),
    };
    render::html(&page)
}
