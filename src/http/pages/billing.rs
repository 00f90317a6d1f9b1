//! Purpose: buying a plan on the web — the Plan page (the guild's plan and limits, the plans
//! on sale with Subscribe, the subscription: status, next charge, card, receipts, Cancel at
//! the period's end / Resume; buying and cancelling are the owner's), and card registration:
//! a fresh random `customerKey` sealed into a 30-minute `umbra_billing` cookie with the owner's
//! user, guild and plan; the card page loading Toss's JS SDK (from `billing.toss.sdk_url`,
//! allowed by this page's CSP only); the success redirect checked against the cookie (the same
//! logged-in user, the same `customerKey`) before the billing key is issued, stored and the
//! first charge made; the fail redirect showing Toss's message.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::guilds::{PlanView, plan_view};
use super::{back_to, chrome, csrf_refusal, open};
use crate::billing::model::won;
use crate::billing::{BillingError, BillingService, Charged, PlanChange, Status};
use crate::http::HttpState;
use crate::http::render::{self, Chrome, Tr};
use crate::http::session::{self, Viewer};
use crate::licensing::{LicensingReader, PlanReader};

const CARD_COOKIE: &str = "umbra_billing";
const CARD_SECONDS: i64 = 1800;
/// The associated data the registration cookie is sealed with.
const CARD_AAD: Uuid = Uuid::from_u128(0x756d_6272_612d_6269_6c6c_696e_672d_6364);

/// A card registration in progress.
#[derive(Serialize, Deserialize)]
struct Registration {
    customer_key: Uuid,
    user_row: Uuid,
    guild: u64,
    plan: String,
    expires: i64,
}

pub struct ForSale {
    pub code: String,
    pub name: String,
    pub price: String,
    pub current: bool,
}

pub struct SubscriptionView {
    pub plan: String,
    pub plan_code: String,
    /// The plan it changes to at the period's end (display name).
    pub next_plan: Option<String>,
    /// Plan changes are possible (active, not past due).
    pub changeable: bool,
    /// Paid for, but the license is not there yet (licensing follows within seconds).
    pub activating: bool,
    pub status: String,
    pub live: bool,
    pub next_charge: Option<String>,
    pub period_end: String,
    pub cancel_at_period_end: bool,
    pub card: Option<String>,
    pub payments: Vec<(String, String, String, Option<String>)>,
}

#[derive(Template)]
#[template(path = "plan.html")]
struct PlanPage {
    c: Chrome,
    base: String,
    plan: PlanView,
    owner: bool,
    selling: bool,
    /// The guild has a live subscription (one per guild: nothing more to buy).
    subscribed: bool,
    for_sale: Vec<ForSale>,
    subscription: Option<SubscriptionView>,
    paid: bool,
    card_changed: bool,
    /// What a plan change just did (a message key).
    changed: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct PlanQuery {
    #[serde(default)]
    paid: bool,
    #[serde(default)]
    card: bool,
    #[serde(default)]
    changed: String,
}

fn status_key(s: Status) -> &'static str {
    match s {
        Status::Active => "web-billing-status-active",
        Status::PastDue => "web-billing-status-past-due",
        Status::Cancelled => "web-billing-status-cancelled",
        Status::Expired => "web-billing-status-expired",
    }
}

pub async fn plan(
    State(state): State<Arc<HttpState>>,
    viewer: Viewer,
    Path(raw): Path<String>,
    Query(query): Query<PlanQuery>,
) -> Response {
    let access = match open(&state, &viewer, &raw).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let tr = viewer.tr(&state);
    let app = &state.app;
    let loaded = async {
        let e = app.licensing.entitlements(access.id()).await?;
        let plans = app.licensing.plans().await?;
        let sub = match &app.billing {
            Some(b) => b.subscription(access.id()).await?,
            None => None,
        };
        Ok::<_, anyhow::Error>((e, plans, sub))
    }
    .await;
    let (entitlements, plans, sub) = match loaded {
        Ok(v) => v,
        Err(e) => return render::internal(&state, viewer.locale, e.context("reading the plan")),
    };
    let for_sale = plans
        .iter()
        .filter(|p| p.price_krw > 0 && p.billing_period_days.is_some())
        .map(|p| ForSale {
            code: p.code.clone(),
            name: p.display_name(&app.i18n, viewer.locale),
            price: tr.t2(
                "web-billing-price",
                "price",
                won(p.price_krw),
                "days",
                p.billing_period_days.unwrap_or(30),
            ),
            current: p.code == entitlements.plan.code,
        })
        .collect();
    let name_of = |code: &str| {
        plans
            .iter()
            .find(|p| p.code == code)
            .map(|p| p.display_name(&app.i18n, viewer.locale))
            .unwrap_or_else(|| code.to_owned())
    };
    let subscription = sub.map(|(s, attempts)| SubscriptionView {
        activating: s.status == Status::Active && s.plan_code != entitlements.plan.code,
        plan: name_of(&s.plan_code),
        plan_code: s.plan_code.clone(),
        next_plan: s.next_plan.as_deref().map(name_of),
        changeable: s.status == Status::Active,
        status: tr.t(status_key(s.status)),
        live: matches!(s.status, Status::Active | Status::PastDue),
        next_charge: s.next_charge_at.map(|t| tr.time(&t)),
        period_end: tr.time(&s.current_period_end),
        cancel_at_period_end: s.cancel_at_period_end,
        card: s
            .card
            .map(|(company, number)| format!("{company} {number}")),
        payments: attempts
            .into_iter()
            .map(|a| {
                (
                    tr.time(&a.requested_at),
                    won(a.amount_krw),
                    match (a.status.as_str(), a.failure_code) {
                        ("failed", Some(code)) => {
                            format!("{} ({code})", tr.t("web-billing-failed"))
                        }
                        ("done", _) => tr.t("web-billing-paid"),
                        (other, _) => other.to_owned(),
                    },
                    a.receipt_url,
                )
            })
            .collect(),
    });
    let subscribed = subscription.as_ref().is_some_and(|s| s.live);
    render::html(&PlanPage {
        base: format!("/guilds/{}", access.id()),
        subscribed,
        plan: plan_view(&state, &viewer, &entitlements),
        owner: access.is_owner(),
        selling: app.billing.is_some(),
        for_sale,
        subscription,
        paid: query.paid,
        card_changed: query.card,
        changed: match query.changed.as_str() {
            "upgraded" => Some("web-billing-upgraded".into()),
            "scheduled" => Some("web-billing-change-scheduled".into()),
            "kept" => Some("web-billing-change-kept".into()),
            _ => None,
        },
        c: chrome(&state, &viewer, &access, "web-plan-title", "/plan"),
    })
}

#[derive(Deserialize)]
pub struct ActForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    plan: String,
}

fn billing_error(state: &HttpState, tr: &Tr, e: BillingError) -> Response {
    let key = match &e {
        BillingError::AlreadySubscribed => "web-billing-already",
        BillingError::NotForSale(_) => "web-billing-not-for-sale",
        BillingError::CustomerMismatch => "web-billing-mismatch",
        BillingError::Declined(_) => "web-billing-declined",
        BillingError::Toss(t) if !t.is_transient() => "web-billing-refused",
        BillingError::NoSubscription => "web-billing-no-subscription",
        BillingError::PastDue => "web-billing-change-past-due",
        BillingError::SamePlan => "web-billing-same-plan",
        BillingError::Busy => "web-billing-busy",
        BillingError::LinkInvalid => "web-billing-link-invalid",
        _ => {
            return render::internal(state, tr.locale, anyhow::Error::new(e).context("billing"));
        }
    };
    render::bad_request(tr.clone(), tr.t(key))
}

pub async fn act(
    State(state): State<Arc<HttpState>>,
    viewer: Viewer,
    Path((raw, action)): Path<(String, String)>,
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
    let Some(billing) = &state.app.billing else {
        return render::not_found(tr);
    };
    if !access.is_owner() {
        return render::forbidden(tr, "web-billing-owner-only");
    }
    match action.as_str() {
        "cancel" | "resume" => {
            match billing
                .cancel_at_period_end(access.id(), action == "cancel")
                .await
            {
                Ok(_) => back_to(&access, "/plan"),
                Err(e) => billing_error(&state, &tr, e),
            }
        }
        "card" => registration_started(&state, &viewer, access.id(), String::new()),
        "subscribe" => {
            let user_row = viewer.session.user.id;
            // A registered card is charged at once; otherwise the card page comes first.
            match billing.subscribe(user_row, access.id(), &form.plan).await {
                Ok(charged) => after_charge(&tr, access.id(), charged),
                Err(BillingError::NoCard) => {
                    registration_started(&state, &viewer, access.id(), form.plan.clone())
                }
                Err(e) => billing_error(&state, &tr, e),
            }
        }
        "change" => match billing.change_plan(access.id(), &form.plan).await {
            Ok(PlanChange::Upgraded { .. }) => back_to(&access, "/plan?changed=upgraded"),
            Ok(PlanChange::Scheduled { .. }) => back_to(&access, "/plan?changed=scheduled"),
            Ok(PlanChange::Kept) => back_to(&access, "/plan?changed=kept"),
            Ok(PlanChange::NotUpgraded(charged)) => after_charge(&tr, access.id(), charged),
            Err(e) => billing_error(&state, &tr, e),
        },
        _ => render::not_found(tr),
    }
}

/// Starts a card registration for `guild` (then subscribes to `plan`; empty: only the card
/// changes) and sends the browser to the card page.
fn registration_started(state: &HttpState, viewer: &Viewer, guild: u64, plan: String) -> Response {
    let registration = Registration {
        customer_key: BillingService::new_customer_key(),
        user_row: viewer.session.user.id,
        guild,
        plan,
        expires: Utc::now().timestamp() + CARD_SECONDS,
    };
    let Some(sealed) = session::seal_cookie(state, CARD_AAD, &registration) else {
        return render::internal(
            state,
            viewer.locale,
            anyhow::anyhow!("sealing the registration cookie"),
        );
    };
    let cookie = session::set_cookie(
        CARD_COOKIE,
        &sealed,
        Some(CARD_SECONDS as u64),
        state.web.secure_cookies,
    );
    (
        [(header::SET_COOKIE, cookie)],
        Redirect::to("/billing/card"),
    )
        .into_response()
}

fn after_charge(tr: &Tr, guild: u64, charged: Charged) -> Response {
    match charged {
        Charged::Paid { .. } => {
            Redirect::to(&format!("/guilds/{guild}/plan?paid=true")).into_response()
        }
        Charged::Declined { code } => {
            render::bad_request(tr.clone(), tr.t1("web-billing-declined-code", "code", code))
        }
        Charged::Pending | Charged::Ended | Charged::LostLease => render::error_page(
            tr.clone(),
            StatusCode::ACCEPTED,
            "web-plan-title",
            tr.t("web-billing-pending"),
        ),
    }
}

#[derive(Template)]
#[template(path = "billing_card.html")]
struct CardPage {
    c: Chrome,
    sdk_url: String,
    client_key: String,
    customer_key: String,
    success_url: String,
    fail_url: String,
}

fn registration(state: &HttpState, headers: &HeaderMap, viewer: &Viewer) -> Option<Registration> {
    let cookie = session::cookie(headers, CARD_COOKIE)?;
    let r: Registration = session::open_cookie(state, CARD_AAD, &cookie)?;
    (r.expires > Utc::now().timestamp() && r.user_row == viewer.session.user.id).then_some(r)
}

/// `GET /billing/card`: the page that hands the browser to Toss's card registration.
pub async fn card(
    State(state): State<Arc<HttpState>>,
    viewer: Viewer,
    headers: HeaderMap,
) -> Response {
    let tr = viewer.tr(&state);
    let Some(r) = registration(&state, &headers, &viewer) else {
        return render::bad_request(tr.clone(), tr.t("web-billing-expired"));
    };
    let config = &state.app.config.billing.toss;
    let origin = reqwest::Url::parse(&config.sdk_url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default();
    let page = CardPage {
        sdk_url: config.sdk_url.clone(),
        client_key: config.client_key.clone(),
        customer_key: r.customer_key.to_string(),
        success_url: format!("{}/billing/success", state.web.public_url),
        fail_url: format!("{}/billing/fail", state.web.public_url),
        c: Chrome::new(tr, "web-billing-card-title").viewer(&viewer),
    };
    let csp = format!(
        "default-src 'self'; script-src 'self' {origin}; style-src 'self'; img-src 'self' data:; \
         object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    );
    let mut response = render::html(&page);
    if let Ok(v) = csp.parse() {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, v);
    }
    response
}

#[derive(Deserialize)]
pub struct Success {
    #[serde(rename = "customerKey", default)]
    customer_key: String,
    #[serde(rename = "authKey", default)]
    auth_key: String,
}

/// `GET /billing/success`: Toss's redirect after a card was registered.
pub async fn success(
    State(state): State<Arc<HttpState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Query(q): Query<Success>,
) -> Response {
    let tr = viewer.tr(&state);
    let clear = session::set_cookie(CARD_COOKIE, "", Some(0), state.web.secure_cookies);
    let refuse = |tr: &Tr, key: &str| {
        (
            [(header::SET_COOKIE, clear.clone())],
            render::bad_request(tr.clone(), tr.t(key)),
        )
            .into_response()
    };
    let Some(billing) = &state.app.billing else {
        return render::not_found(tr);
    };
    let Some(r) = registration(&state, &headers, &viewer) else {
        return refuse(&tr, "web-billing-expired");
    };
    // The card page came back for the customer this registration started with, or nothing.
    if Uuid::parse_str(&q.customer_key).ok() != Some(r.customer_key) || q.auth_key.is_empty() {
        tracing::warn!("a card registration came back for another customerKey");
        return refuse(&tr, "web-billing-mismatch");
    }
    // The viewer must still own the guild.
    match crate::http::rights::access(&state.app, viewer.discord_id(), &r.guild.to_string()).await {
        Ok(Some(a)) if a.is_owner() => {}
        Ok(_) => return refuse(&tr, "web-billing-owner-only"),
        Err(e) => return render::internal(&state, viewer.locale, e),
    }
    if let Err(e) = billing
        .register_card(r.user_row, r.customer_key, &q.auth_key)
        .await
    {
        let page = billing_error(&state, &tr, e);
        return ([(header::SET_COOKIE, clear)], page).into_response();
    }
    if r.plan.is_empty() {
        // Only the card changed.
        billing.wake();
        let back = Redirect::to(&format!("/guilds/{}/plan?card=true", r.guild));
        return ([(header::SET_COOKIE, clear)], back).into_response();
    }
    let outcome = billing.subscribe(r.user_row, r.guild, &r.plan).await;
    let page = match outcome {
        Ok(charged) => after_charge(&tr, r.guild, charged),
        Err(e) => billing_error(&state, &tr, e),
    };
    ([(header::SET_COOKIE, clear)], page).into_response()
}

/// `GET /billing/start/{token}`: a `/billing subscribe` link — for the logged-in Discord user it
/// was made for, once, within its minutes, while they own the server — starts the card
/// registration for its plan.
pub async fn start(
    State(state): State<Arc<HttpState>>,
    viewer: Viewer,
    Path(token): Path<String>,
) -> Response {
    let tr = viewer.tr(&state);
    let Some(billing) = &state.app.billing else {
        return render::not_found(tr);
    };
    let link = match billing
        .use_subscribe_link(viewer.discord_id(), &token)
        .await
    {
        Ok(l) => l,
        Err(e) => return billing_error(&state, &tr, e),
    };
    match crate::http::rights::access(&state.app, viewer.discord_id(), &link.guild.to_string())
        .await
    {
        Ok(Some(a)) if a.is_owner() => {}
        Ok(_) => return render::forbidden(tr, "web-billing-owner-only"),
        Err(e) => return render::internal(&state, viewer.locale, e),
    }
    registration_started(&state, &viewer, link.guild, link.plan)
}

#[derive(Deserialize)]
pub struct Failure {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// `GET /billing/fail`: Toss's redirect when the registration failed or was cancelled.
pub async fn fail(
    State(state): State<Arc<HttpState>>,
    viewer: Viewer,
    Query(q): Query<Failure>,
) -> Response {
    let tr = viewer.tr(&state);
    let clear = session::set_cookie(CARD_COOKIE, "", Some(0), state.web.secure_cookies);
    let message: String = q.message.chars().take(300).collect();
    let code: String = q.code.chars().take(64).collect();
    let body = tr.t2("web-billing-toss-failed", "message", message, "code", code);
    ([(header::SET_COOKIE, clear)], render::bad_request(tr, body)).into_response()
}
