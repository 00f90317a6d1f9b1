//! Purpose: forms — AntiNuke settings (on/off, punishment, lockdown, auto-revert; the plan's
//! limits apply as in `/antinuke`) and the viewer's notification preferences (DMs, muted
//! categories). As in Discord, an AntiNuke change by anyone but the owner is not applied: it
//! waits for the owner's approval (a DM with Approve / Refuse), and the page says so.
//! Thresholds, the whitelist and the quarantine role are shown and changed with `/antinuke`.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::{back_to, chrome, csrf_refusal, fail, open};
use crate::guild::{AntinukeChange, GuildReader};
use crate::http::HttpState;
use crate::http::render::{self, Chrome};
use crate::http::session::Viewer;
use crate::identity::UserProfile;
use crate::licensing::LicensingReader;
use crate::notification::{Category, PreferenceChange};
use crate::recovery::antinuke::Punishment;
use crate::recovery::antinuke::commands::{guild_err, plan_lacks};

pub struct Choice {
    pub value: &'static str,
    pub label: String,
    pub selected: bool,
    pub allowed: bool,
}

#[derive(Template)]
#[template(path = "antinuke.html")]
struct AntinukePage {
    c: Chrome,
    base: String,
    owner: bool,
    enabled: bool,
    lockdown: bool,
    auto_revert: bool,
    punishments: Vec<Choice>,
    thresholds: Vec<(String, String)>,
    whitelist: String,
    pending: usize,
    requested: bool,
}

#[derive(Deserialize, Default)]
pub struct Notice {
    #[serde(default)]
    requested: bool,
}

pub async fn antinuke(
    State(state): State<Arc<HttpState>>,
    viewer: Viewer,
    Path(raw): Path<String>,
    Query(notice): Query<Notice>,
) -> Response {
    let access = match open(&state, &viewer, &raw).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let tr = viewer.tr(&state);
    let app = &state.app;
    let guild = access.id();
    let loaded = async {
        let settings = app.guilds.antinuke(guild).await?;
        let plan = app.licensing.entitlements(guild).await?.plan;
        let pending = app.guilds.pending(guild).await?.len();
        Ok::<_, anyhow::Error>((settings, plan, pending))
    }
    .await;
    let (settings, plan, pending) = match loaded {
        Ok(v) => v,
        Err(e) => {
            return render::internal(
                &state,
                viewer.locale,
                e.context("reading AntiNuke settings"),
            );
        }
    };
    let data = crate::types::Data(state.app.clone());
    let punishments = Punishment::ALL
        .into_iter()
        .map(|p| Choice {
            value: p.as_str(),
            label: data.i18n.text(viewer.locale, &p.name_msg(), &[]),
            selected: settings.punishment == p.as_str(),
            allowed: plan.antinuke.punishments.iter().any(|x| x == p.as_str()),
        })
        .collect();
    let mut whitelist: Vec<String> = settings
        .whitelist_user_ids
        .iter()
        .map(|u| format!("user {u}"))
        .collect();
    whitelist.extend(
        settings
            .whitelist_role_ids
            .iter()
            .map(|r| format!("role {r}")),
    );
    render::html(&AntinukePage {
        base: format!("/guilds/{guild}"),
        owner: access.is_owner(),
        enabled: settings.enabled,
        lockdown: settings.lockdown,
        auto_revert: settings.auto_revert,
        punishments,
        thresholds: settings
            .thresholds
            .iter()
            .map(|(class, t)| (class.clone(), format!("{t:?}")))
            .collect(),
        whitelist: if whitelist.is_empty() {
            tr.t("web-none")
        } else {
            whitelist.join(", ")
        },
        pending,
        requested: notice.requested,
        c: chrome(&state, &viewer, &access, "web-antinuke-title", "/antinuke"),
    })
}

#[derive(Deserialize)]
pub struct AntinukeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    enabled: Option<String>,
    #[serde(default)]
    punishment: String,
    #[serde(default)]
    lockdown: Option<String>,
    #[serde(default)]
    auto_revert: Option<String>,
}

pub async fn change_antinuke(
    State(state): State<Arc<HttpState>>,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(form): Form<AntinukeForm>,
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
    let (settings, plan) = match async {
        let s = app.guilds.antinuke(guild).await?;
        let p = app.licensing.entitlements(guild).await?.plan.antinuke;
        Ok::<_, anyhow::Error>((s, p))
    }
    .await
    {
        Ok(v) => v,
        Err(e) => {
            return render::internal(
                &state,
                viewer.locale,
                e.context("reading AntiNuke settings"),
            );
        }
    };
    let Some(punishment) = Punishment::parse(&form.punishment) else {
        return render::bad_request(tr.clone(), tr.t("web-antinuke-bad-punishment"));
    };
    let (enabled, lockdown, auto_revert) = (
        form.enabled.is_some(),
        form.lockdown.is_some(),
        form.auto_revert.is_some(),
    );
    if enabled && !settings.enabled && !plan.detection {
        return fail(&state, &tr, plan_lacks("detection"));
    }
    if punishment.as_str() != settings.punishment
        && !plan.punishments.iter().any(|p| p == punishment.as_str())
    {
        return fail(&state, &tr, plan_lacks("punishment"));
    }
    if punishment == Punishment::Quarantine && settings.quarantine_role_id.is_none() {
        return render::bad_request(tr.clone(), tr.t("web-antinuke-quarantine-role"));
    }
    if lockdown && !settings.lockdown && !plan.lockdown {
        return fail(&state, &tr, plan_lacks("lockdown"));
    }
    if auto_revert && !settings.auto_revert && !plan.auto_revert {
        return fail(&state, &tr, plan_lacks("auto_revert"));
    }
    let mut changes = Vec::new();
    if enabled != settings.enabled {
        changes.push(AntinukeChange::Enabled(enabled));
    }
    if punishment.as_str() != settings.punishment {
        changes.push(AntinukeChange::Punishment(punishment.as_str().to_owned()));
    }
    if lockdown != settings.lockdown {
        changes.push(AntinukeChange::Lockdown(lockdown));
    }
    if auto_revert != settings.auto_revert {
        changes.push(AntinukeChange::AutoRevert(auto_revert));
    }
    let actor = viewer.discord_id();
    let hours = app.config.antinuke.approval_hours;
    let requested = !access.is_owner() && !changes.is_empty();
    for change in changes {
        let result = if access.is_owner() {
            app.guilds
                .change_antinuke(guild, actor, change)
                .await
                .map(|_| ())
        } else {
            app.guilds
                .request_antinuke_change(guild, actor, change, hours)
                .await
                .map(|_| ())
        };
        if let Err(e) = result {
            return fail(&state, &tr, guild_err(e));
        }
    }
    if access.is_owner()
        && let Err(e) = app.antinuke.reload(guild).await
    {
        return render::internal(
            &state,
            viewer.locale,
            anyhow::Error::new(e).context("applying AntiNuke settings"),
        );
    }
    back_to(
        &access,
        if requested {
            "/antinuke?requested=true"
        } else {
            "/antinuke"
        },
    )
}

#[derive(Template)]
#[template(path = "notifications.html")]
struct NotificationsPage {
    c: Chrome,
    base: String,
    dms: bool,
    categories: Vec<(&'static str, String, bool)>,
}

pub async fn notifications(
    State(state): State<Arc<HttpState>>,
    viewer: Viewer,
    Path(raw): Path<String>,
) -> Response {
    let access = match open(&state, &viewer, &raw).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let tr = viewer.tr(&state);
    let prefs = match state
        .app
        .notifications
        .preferences(viewer.discord_id())
        .await
    {
        Ok(p) => p,
        Err(e) => {
            return render::internal(
                &state,
                viewer.locale,
                anyhow::Error::new(e).context("reading preferences"),
            );
        }
    };
    render::html(&NotificationsPage {
        base: format!("/guilds/{}", access.id()),
        dms: prefs.dm_enabled,
        categories: Category::ALL
            .into_iter()
            .map(|c| {
                (
                    c.as_str(),
                    tr.t(&format!("web-category-{}", c.as_str())),
                    prefs.muted.contains(&c),
                )
            })
            .collect(),
        c: chrome(
            &state,
            &viewer,
            &access,
            "web-notifications-title",
            "/notifications",
        ),
    })
}

pub async fn change_notifications(
    State(state): State<Arc<HttpState>>,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let access = match open(&state, &viewer, &raw).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if let Some(r) = csrf_refusal(&state, &viewer, field("csrf").unwrap_or_default()) {
        return r;
    }
    let service = &state.app.notifications;
    let current = match service.preferences(viewer.discord_id()).await {
        Ok(p) => p,
        Err(e) => {
            return render::internal(
                &state,
                viewer.locale,
                anyhow::Error::new(e).context("reading preferences"),
            );
        }
    };
    let user = &viewer.session.user;
    let profile = UserProfile {
        discord_id: user.discord_id,
        username: user.username.clone(),
        global_name: user.global_name.clone(),
        is_bot: false,
    };
    let mut changes = Vec::new();
    let dms = field("dms").is_some();
    if dms != current.dm_enabled {
        changes.push(PreferenceChange::Dms(dms));
    }
    for category in Category::ALL {
        let muted = form
            .iter()
            .any(|(k, v)| k == "muted" && v == category.as_str());
        match (muted, current.muted.contains(&category)) {
            (true, false) => changes.push(PreferenceChange::Mute(category)),
            (false, true) => changes.push(PreferenceChange::Unmute(category)),
            _ => {}
        }
    }
    for change in changes {
        if let Err(e) = service.change(&profile, change).await {
            return render::internal(
                &state,
                viewer.locale,
                anyhow::Error::new(e).context("changing preferences"),
            );
        }
    }
    back_to(&access, "/notifications")
}
