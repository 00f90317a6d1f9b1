//! Purpose: forms — AntiNuke settings (on/off, punishment, lockdown, auto-revert; the plan's
//! limits apply as in `/antinuke`) and the viewer's notification preferences (DMs, muted
//! categories). As in Discord, an AntiNuke change by anyone but the owner is not applied: it
//! waits for the owner's approval (a DM with Approve / Refuse), and the page says so.
//! Thresholds (within the plan and the configured bounds) and the whitelist have their own
//! forms; the quarantine role is chosen with `/antinuke punishment` (it may have to be created).

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::{back_to, chrome, csrf_refusal, fail, open};
use crate::guild::{AntinukeChange, GuildReader, TrustTarget};
use crate::http::HttpState;
use crate::http::render::{self, Chrome};
use crate::http::session::Viewer;
use crate::identity::UserProfile;
use crate::licensing::LicensingReader;
use crate::notification::{Category, PreferenceChange};
use crate::recovery::antinuke::commands::{guild_err, plan_lacks};
use crate::recovery::antinuke::model::{Bounds, COMBINED, Thresholds};
use crate::recovery::antinuke::{ActionClass, Punishment};

/// One class's threshold as the form shows it.
pub struct ThresholdRow {
    pub key: &'static str,
    pub name: String,
    pub count: u32,
    pub window: u64,
    pub default_count: u32,
    pub default_window: u64,
    pub custom: bool,
}

/// One whitelist entry.
pub struct WhitelistRow {
    pub kind: &'static str,
    pub id: String,
    pub name: String,
}

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
    custom_thresholds: bool,
    thresholds: Vec<ThresholdRow>,
    whitelist: Vec<WhitelistRow>,
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
    if app.antinuke.policy(guild).is_none() {
        let _ = app.antinuke.reload(guild).await;
    }
    let defaults = Thresholds::of(&app.config.antinuke);
    let current = app
        .antinuke
        .policy(guild)
        .map(|p| p.thresholds.clone())
        .unwrap_or_else(|| defaults.clone());
    let mut thresholds: Vec<ThresholdRow> = ActionClass::ALL
        .into_iter()
        .map(|class| {
            let (now, default) = (current.get(class), defaults.get(class));
            ThresholdRow {
                key: class.as_str(),
                name: data.i18n.text(viewer.locale, &class.name_msg(), &[]),
                count: now.count,
                window: now.window_seconds(),
                default_count: default.count,
                default_window: default.window_seconds(),
                custom: settings.thresholds.contains_key(class.as_str()),
            }
        })
        .collect();
    let (now, default) = (current.score(), defaults.score());
    thresholds.push(ThresholdRow {
        key: COMBINED,
        name: data.i18n.text(
            viewer.locale,
            &crate::i18n::msg::ANTINUKE_CLASS_COMBINED,
            &[],
        ),
        count: now.count,
        window: now.window_seconds(),
        default_count: default.count,
        default_window: default.window_seconds(),
        custom: settings.thresholds.contains_key(COMBINED),
    });
    let names = role_names(&state, guild).await;
    let mut whitelist: Vec<WhitelistRow> = settings
        .whitelist_user_ids
        .iter()
        .map(|u| WhitelistRow {
            kind: "user",
            id: u.to_string(),
            name: u.to_string(),
        })
        .collect();
    whitelist.extend(settings.whitelist_role_ids.iter().map(|r| {
        WhitelistRow {
            kind: "role",
            id: r.to_string(),
            name: names
                .get(r)
                .map(|n| format!("@{n}"))
                .unwrap_or_else(|| r.to_string()),
        }
    }));
    render::html(&AntinukePage {
        base: format!("/guilds/{guild}"),
        owner: access.is_owner(),
        enabled: settings.enabled,
        lockdown: settings.lockdown,
        auto_revert: settings.auto_revert,
        punishments,
        custom_thresholds: plan.antinuke.custom_thresholds,
        thresholds,
        whitelist,
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
    let mut requested = false;
    for change in changes {
        match apply(&state, &access, &viewer, change).await {
            Ok((asked, _)) => requested |= asked,
            Err(r) => return r,
        }
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

/// The guild's role names from the mirror (for the whitelist).
async fn role_names(state: &HttpState, guild: u64) -> std::collections::HashMap<u64, String> {
    match state.app.sync.state_as_of(guild, None).await {
        Ok(Some(s)) => s
            .roles
            .into_iter()
            .map(|r| (r.discord_role_id, r.name))
            .collect(),
        _ => std::collections::HashMap::new(),
    }
}

/// Applies `change` for the owner; asks the owner otherwise. `Ok(true)`: it was requested.
async fn apply(
    state: &HttpState,
    access: &crate::http::rights::Access,
    viewer: &Viewer,
    change: AntinukeChange,
) -> Result<(bool, crate::guild::service::TrustChange), Response> {
    let app = &state.app;
    let guild = access.id();
    let (actor, locale) = (viewer.discord_id(), viewer.locale);
    if !access.is_owner() {
        let hours = app.config.antinuke.approval_hours;
        return match app
            .guilds
            .request_antinuke_change(guild, actor, change, hours)
            .await
        {
            Ok(_) => Ok((true, crate::guild::service::TrustChange::Added)),
            Err(e) => Err(render::failure(state, locale, guild_err(e))),
        };
    }
    let result = match app.guilds.change_antinuke(guild, actor, change).await {
        Ok((_, r)) => r,
        Err(e) => return Err(render::failure(state, locale, guild_err(e))),
    };
    if let Err(e) = app.antinuke.reload(guild).await {
        return Err(render::internal(
            state,
            locale,
            anyhow::Error::new(e).context("applying AntiNuke settings"),
        ));
    }
    Ok((false, result))
}

#[derive(Deserialize)]
pub struct ThresholdForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    class: String,
    #[serde(default)]
    count: String,
    #[serde(default)]
    window: String,
    /// `save` or `reset`.
    #[serde(default)]
    action: String,
}

pub async fn change_threshold(
    State(state): State<Arc<HttpState>>,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(form): Form<ThresholdForm>,
) -> Response {
    let access = match open(&state, &viewer, &raw).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    if let Some(r) = csrf_refusal(&state, &viewer, &form.csrf) {
        return r;
    }
    let tr = viewer.tr(&state);
    let class = ActionClass::ALL
        .into_iter()
        .find(|c| c.as_str() == form.class);
    if class.is_none() && form.class != COMBINED {
        return render::bad_request(tr.clone(), tr.t("web-antinuke-bad-class"));
    }
    let key = class.map_or(COMBINED, ActionClass::as_str).to_owned();
    let change = if form.action == "reset" {
        AntinukeChange::Threshold(key, None)
    } else {
        let plan = match state.app.licensing.entitlements(access.id()).await {
            Ok(e) => e.plan.antinuke,
            Err(e) => {
                return render::internal(
                    &state,
                    viewer.locale,
                    anyhow::Error::new(e).context("reading the plan"),
                );
            }
        };
        if !plan.custom_thresholds {
            return fail(&state, &tr, plan_lacks("custom_thresholds"));
        }
        let (Ok(count), Ok(window)) = (
            form.count.trim().parse::<u32>(),
            form.window.trim().parse::<u32>(),
        ) else {
            return render::bad_request(tr.clone(), tr.t("web-antinuke-bad-threshold"));
        };
        let bounds = Bounds::of(&state.app.config.antinuke);
        let valid = match class {
            Some(_) => bounds.validate(count, window),
            None => bounds.validate_score(count, window),
        };
        match valid {
            Ok(v) => AntinukeChange::Threshold(key, Some(v)),
            Err(e) => return fail(&state, &tr, crate::error::Error::User(e)),
        }
    };
    match apply(&state, &access, &viewer, change).await {
        Ok((true, _)) => back_to(&access, "/antinuke?requested=true"),
        Ok((false, _)) => back_to(&access, "/antinuke"),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
pub struct WhitelistForm {
    #[serde(default)]
    csrf: String,
    /// `user` or `role`.
    #[serde(default)]
    kind: String,
    #[serde(default)]
    id: String,
    /// `add` or `remove`.
    #[serde(default)]
    action: String,
}

pub async fn change_whitelist(
    State(state): State<Arc<HttpState>>,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(form): Form<WhitelistForm>,
) -> Response {
    let access = match open(&state, &viewer, &raw).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    if let Some(r) = csrf_refusal(&state, &viewer, &form.csrf) {
        return r;
    }
    let tr = viewer.tr(&state);
    let Ok(id) = crate::ids::Snowflake::parse(form.id.trim()) else {
        return render::bad_request(tr.clone(), tr.t("web-antinuke-bad-target"));
    };
    let target = match form.kind.as_str() {
        "user" => TrustTarget::User(id.0),
        "role" if id.0 != access.id() => TrustTarget::Role(id.0),
        _ => return render::bad_request(tr.clone(), tr.t("web-antinuke-bad-target")),
    };
    let add = match form.action.as_str() {
        "add" => true,
        "remove" => false,
        _ => return render::bad_request(tr.clone(), tr.t("web-antinuke-bad-target")),
    };
    match apply(
        &state,
        &access,
        &viewer,
        AntinukeChange::Whitelist(target, add),
    )
    .await
    {
        Ok((true, _)) => back_to(&access, "/antinuke?requested=true"),
        Ok((false, crate::guild::service::TrustChange::LimitReached)) => fail(
            &state,
            &tr,
            crate::error::Error::User(
                crate::error::UserError::new(crate::i18n::msg::SETTINGS_TRUSTED_LIMIT)
                    .with("max", crate::guild::model::MAX_TRUSTED),
            ),
        ),
        Ok((false, _)) => back_to(&access, "/antinuke"),
        Err(r) => r,
    }
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
