//! Purpose: the operator page, for the operators in config (and the application's owners) only
//! — anyone else gets the same 404 as for an unknown page: instance health (the gateway and its
//! shards, every lease queue's depth and dead letters, the database's answer time and pool),
//! how many guilds Umbra serves, license grant / revoke (the same service as
//! `/license grant|revoke`), and with billing on: failing subscriptions and refunds (full or
//! partial; a repeated refund refunds once).

use std::sync::Arc;
use std::time::Instant;

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use poise::serenity_prelude::UserId;
use serde::Deserialize;

use super::csrf_refusal;
use crate::guild::GuildReader;
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
    /// Billing is on (the refund form and failing subscriptions are shown).
    selling: bool,
    /// A fresh nonce for the refund form.
    refund_request: String,
    /// (server, plan, failures, next retry, last decline code).
    failing: Vec<(String, String, i32, String, String)>,
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
    let mut failing = Vec::new();
    if let Some(billing) = &app.billing {
        let rows = match billing.failing(20).await {
            Ok(r) => r,
            Err(e) => {
                return render::internal(
                    &state,
                    viewer.locale,
                    anyhow::Error::new(e).context("failing subscriptions"),
                );
            }
        };
        for f in rows {
            let name = app
                .guilds
                .guild_by_row(f.guild_row)
                .await
                .ok()
                .flatten()
                .map(|g| format!("{} ({})", g.name, g.discord_id))
                .unwrap_or_else(|| f.guild_row.to_string());
            failing.push((
                name,
                f.plan_code,
                f.failed_attempts,
                f.next_charge_at.map(|t| tr.time(&t)).unwrap_or_default(),
                f.last_failure.unwrap_or_default(),
            ));
        }
    }
    let page = Page {
        selling: app.billing.is_some(),
        refund_request: crate::discord::oauth::random_token(16),
        failing,
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
    #[serde(default)]
    order: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    reason: String,
    /// The refund form's nonce: the same form sent twice refunds once.
    #[serde(default)]
    request: String,
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
    if form.action == "refund" {
        return refund(&state, &viewer, &form).await;
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

async fn refund(state: &HttpState, viewer: &Viewer, form: &LicenseForm) -> Response {
    let tr = viewer.tr(state);
    let Some(billing) = &state.app.billing else {
        return render::not_found(tr);
    };
    let amount = match form.amount.trim() {
        "" => None,
        a => match a.parse::<i64>() {
            Ok(n) if n > 0 => Some(n),
            _ => return render::bad_request(tr.clone(), tr.t("web-operator-bad-amount")),
        },
    };
    let reason = match form.reason.trim() {
        "" => "refund by the operator",
        r => r,
    };
    let reason: String = reason.chars().take(200).collect();
    match billing
        .refund(
            form.order.trim(),
            amount,
            &reason,
            &form.request,
            viewer.discord_id(),
        )
        .await
    {
        Ok(_) => Redirect::to("/operator").into_response(),
        Err(crate::billing::BillingError::UnknownOrder(_)) => {
            render::bad_request(tr.clone(), tr.t("web-operator-bad-order"))
        }
        Err(crate::billing::BillingError::Toss(e)) if !e.is_transient() => render::bad_request(
            tr.clone(),
            tr.t1(
                "web-operator-refund-refused",
                "code",
                e.code().unwrap_or("?"),
            ),
        ),
        Err(e) => render::internal(
            state,
            viewer.locale,
            anyhow::Error::new(e).context("refunding"),
        ),
    }
}
