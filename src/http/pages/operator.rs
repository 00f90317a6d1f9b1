//! Purpose: the operator page, for the operators in config (and the application's owners) only
//! — anyone else gets the same 404 as for an unknown page: instance health (the gateway and its
//! shards, every lease queue's depth and dead letters, the database's answer time and pool),
//! how many guilds Umbra serves, and license grant / revoke (the same service as
//! `/license grant|revoke`).

use std::sync::Arc;
use std::time::Instant;

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use poise::serenity_prelude::UserId;
use serde::Deserialize;

use super::csrf_refusal;
use crate::http::HttpState;
use crate::http::render::{self, Chrome};
use crate::http::session::Viewer;
use crate::ids::Snowflake;
use crate::licensing::{LicensingError, PlanCode};

pub struct QueueLine {
    pub name: &'static str,
    pub waiting: i64,
    pub leased: i64,
    pub dead: i64,
}

#[derive(Template)]
#[template(path = "operator.html")]
struct Page {
    c: Chrome,
    gateway: String,
    shards: String,
    cached_guilds: usize,
    guilds: u64,
    queues: Vec<QueueLine>,
    database_ms: String,
    pool: u32,
}

fn operator(state: &HttpState, viewer: &Viewer) -> bool {
    let id = viewer.discord_id();
    id != 0 && state.app.is_operator(UserId::new(id))
}

pub async fn page(State(state): State<Arc<HttpState>>, viewer: Viewer) -> Response {
    let tr = viewer.tr(&state);
    if !operator(&state, &viewer) {
        return render::not_found(tr);
    }
    let app = &state.app;
    let mut queues = Vec::new();
    for q in app.queues() {
        match q.counts(&app.pool).await {
            Ok(c) => queues.push(QueueLine {
                name: q.name,
                waiting: c.waiting,
                leased: c.leased,
                dead: c.dead,
            }),
            Err(e) => {
                return render::internal(
                    &state,
                    viewer.locale,
                    anyhow::Error::new(e).context("counting a queue"),
                );
            }
        }
    }
    let started = Instant::now();
    let database_ms = match sqlx::query("SELECT 1").execute(&app.pool).await {
        Ok(_) => format!("{:.1} ms", started.elapsed().as_secs_f64() * 1000.0),
        Err(e) => format!("{}: {e}", tr.t("web-operator-db-down")),
    };
    let guilds = match app.guilds.active_count().await {
        Ok(n) => n,
        Err(e) => {
            return render::internal(
                &state,
                viewer.locale,
                anyhow::Error::new(e).context("counting guilds"),
            );
        }
    };
    let discord = &app.config.discord;
    let gateway = match app.bot.user_id() {
        Some(id) => tr.t1("web-operator-connected", "id", id),
        None => tr.t("web-operator-disconnected"),
    };
    let page = Page {
        gateway,
        shards: format!(
            "{}–{} / {}",
            discord.shard_range[0],
            discord.shard_range[1],
            discord.total_shards.max(1)
        ),
        cached_guilds: app.bot.cache().map(|c| c.guild_count()).unwrap_or(0),
        guilds,
        queues,
        database_ms,
        pool: app.pool.size(),
        c: Chrome::new(tr, "web-operator-title").viewer(&viewer),
    };
    render::html(&page)
}

#[derive(Deserialize)]
pub struct LicenseForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    guild: String,
    #[serde(default)]
    plan: String,
    #[serde(default)]
    days: String,
}

pub async fn license(
    State(state): State<Arc<HttpState>>,
    viewer: Viewer,
    Form(form): Form<LicenseForm>,
) -> Response {
    let tr = viewer.tr(&state);
    if !operator(&state, &viewer) {
        return render::not_found(tr);
    }
    if let Some(r) = csrf_refusal(&state, &viewer, &form.csrf) {
        return r;
    }
    let Ok(guild) = Snowflake::parse(form.guild.trim()) else {
        return render::bad_request(tr.clone(), tr.t("web-operator-bad-guild"));
    };
    let licensing = &state.app.licensing;
    let result = match form.action.as_str() {
        "grant" => {
            let code = match PlanCode::parse(&form.plan) {
                Ok(c) => c,
                Err(e) => {
                    return render::failure(&state, viewer.locale, crate::error::Error::User(e));
                }
            };
            let days = match form.days.trim() {
                "" => None,
                d => match d.parse::<i64>() {
                    Ok(n) if (1..=3650).contains(&n) => Some(n),
                    _ => return render::bad_request(tr.clone(), tr.t("web-operator-bad-days")),
                },
            };
            licensing
                .grant(guild.0, &code, days, viewer.discord_id())
                .await
                .map(|_| ())
        }
        "revoke" => licensing
            .revoke(guild.0, viewer.discord_id())
            .await
            .map(|_| ()),
        _ => return render::not_found(tr),
    };
    match result {
        Ok(()) => Redirect::to("/operator").into_response(),
        Err(LicensingError::UnknownGuild(_)) => {
            render::bad_request(tr.clone(), tr.t("web-operator-bad-guild"))
        }
        Err(LicensingError::UnknownPlan(_)) => {
            render::bad_request(tr.clone(), tr.t("web-operator-bad-plan"))
        }
        Err(LicensingError::NoLicense) => {
            render::bad_request(tr.clone(), tr.t("web-operator-no-license"))
        }
        Err(e) => render::internal(
            &state,
            viewer.locale,
            anyhow::Error::new(e).context("changing a license"),
        ),
    }
}
