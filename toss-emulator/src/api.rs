//! Purpose: Toss's billing API as Umbra calls it — `POST /v1/billing/authorizations/issue`,
//! `POST /v1/billing/{billingKey}` (a charge), `GET /v1/payments/{paymentKey}`,
//! `GET /v1/payments/orders/{orderId}`, `POST /v1/payments/{paymentKey}/cancel` — with Basic
//! auth (`secretKey:`), `Idempotency-Key` on POSTs (a repeat gets the first answer; a repeat
//! while the first is still being answered gets 409 `IDEMPOTENT_REQUEST_PROCESSING`), Toss's
//! error body and codes, and an `X-TossPayments-Trace-Id` on every answer.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde_json::Value;

use crate::model::{self, Behaviour, BillingKey, Cancel, Payment, TossError};
use crate::{Idem, TossEmulator, random};

pub fn routes() -> Router<TossEmulator> {
    Router::new()
        .route("/v1/billing/authorizations/issue", post(issue))
        .route("/v1/billing/{billing_key}", post(charge))
        .route("/v1/payments/{payment_key}", get(payment))
        .route("/v1/payments/orders/{order_id}", get(payment_by_order))
        .route("/v1/payments/{payment_key}/cancel", post(cancel))
}

fn answer(status: u16, body: Value) -> Response {
    let mut response = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        axum::Json(body),
    )
        .into_response();
    if let Ok(v) = random("trace_", 12).parse() {
        response.headers_mut().insert("x-tosspayments-trace-id", v);
    }
    response
}

fn error(e: &TossError) -> Response {
    answer(e.status, e.body())
}

/// Checks `Authorization: Basic base64("<secretKey>:")`.
fn authorized(emu: &TossEmulator, headers: &HeaderMap) -> Result<(), TossError> {
    let Some(value) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return Err(TossError::new(
            401,
            "UNAUTHORIZED_KEY",
            "인증되지 않은 시크릿 키 혹은 클라이언트 키 입니다.",
        ));
    };
    let Some(encoded) = value.strip_prefix("Basic ") else {
        return Err(TossError::new(
            401,
            "INCORRECT_BASIC_AUTH_FORMAT",
            "잘못된 요청입니다. ':' 를 포함해 인코딩해주세요.",
        ));
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok());
    match decoded {
        Some(d) if d == format!("{}:", emu.inner.config.secret_key) => Ok(()),
        Some(d) if !d.ends_with(':') => Err(TossError::new(
            401,
            "INCORRECT_BASIC_AUTH_FORMAT",
            "잘못된 요청입니다. ':' 를 포함해 인코딩해주세요.",
        )),
        _ => Err(TossError::new(
            401,
            "UNAUTHORIZED_KEY",
            "인증되지 않은 시크릿 키 혹은 클라이언트 키 입니다.",
        )),
    }
}

fn invalid(message: &str) -> TossError {
    TossError::new(400, "INVALID_REQUEST", message)
}

fn body_of(raw: &[u8]) -> Result<Value, TossError> {
    serde_json::from_slice(raw).map_err(|_| invalid("잘못된 요청입니다."))
}

fn text<'a>(body: &'a Value, field: &str) -> Result<&'a str, TossError> {
    body[field]
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| invalid(&format!("{field} 값이 필요합니다.")))
}

/// The idempotency key of a POST: `Ok(None)` without one.
fn idempotency_key(path: &str, headers: &HeaderMap) -> Result<Option<String>, TossError> {
    match headers.get("idempotency-key").and_then(|v| v.to_str().ok()) {
        None => Ok(None),
        Some(k) if k.is_empty() || k.len() > 300 => Err(invalid("멱등키는 300자 이하여야 합니다.")),
        Some(k) => Ok(Some(format!("{path}\n{k}"))),
    }
}

/// Runs `work` once per idempotency key: a repeat gets the stored answer, a concurrent one 409.
/// The work runs on its own task, so a client that hangs up does not cancel it (Toss finishes
/// what it started; the client learns the outcome by repeating or by looking it up).
async fn idempotent<Fut>(emu: &TossEmulator, key: Option<String>, work: Fut) -> Response
where
    Fut: std::future::Future<Output = (u16, Value)> + Send + 'static,
{
    if let Some(k) = &key {
        let mut state = emu.inner.state.lock();
        match state.idempotency.get(k) {
            Some(Idem::Processing) => {
                return error(&TossError::new(
                    409,
                    "IDEMPOTENT_REQUEST_PROCESSING",
                    "이전 멱등 요청이 처리중입니다.",
                ));
            }
            Some(Idem::Done(status, body)) => return answer(*status, body.clone()),
            None => {
                state.idempotency.insert(k.clone(), Idem::Processing);
            }
        }
    }
    let emu = emu.clone();
    let task = tokio::spawn(async move {
        let (status, body) = work.await;
        if let Some(k) = key {
            // Transient failures are not remembered: the client retries with the same key.
            let mut state = emu.inner.state.lock();
            if status >= 500 {
                state.idempotency.remove(&k);
            } else {
                state
                    .idempotency
                    .insert(k, Idem::Done(status, body.clone()));
            }
        }
        (status, body)
    });
    match task.await {
        Ok((status, body)) => answer(status, body),
        Err(_) => error(&TossError::card("FAILED_INTERNAL_SYSTEM_PROCESSING")),
    }
}

async fn issue(
    State(emu): State<TossEmulator>,
    headers: HeaderMap,
    raw: axum::body::Bytes,
) -> Response {
    if let Err(e) = authorized(&emu, &headers) {
        return error(&e);
    }
    let key = match idempotency_key("issue", &headers) {
        Ok(k) => k,
        Err(e) => return error(&e),
    };
    let emu2 = emu.clone();
    let work = async move {
        let emu = emu2;
        let result = (|| {
            let body = body_of(&raw)?;
            let auth_key = text(&body, "authKey")?;
            let customer_key = text(&body, "customerKey")?;
            let mut state = emu.inner.state.lock();
            let Some((owner, card)) = state.auth_keys.get(auth_key).cloned() else {
                return Err(TossError::new(
                    404,
                    "NOT_FOUND_AUTH_KEY",
                    "존재하지 않는 인증 키입니다.",
                ));
            };
            if owner != customer_key {
                return Err(TossError::new(
                    400,
                    "NOT_MATCHES_CUSTOMER_KEY",
                    "빌링 인증 고객키와 결제 요청 고객키가 일치하지 않습니다.",
                ));
            }
            state.auth_keys.remove(auth_key);
            let behaviour = state
                .card_scripts
                .get(&card)
                .cloned()
                .unwrap_or_else(|| Behaviour::of_card(&card));
            let billing = BillingKey {
                billing_key: random("bk_", 24),
                customer_key: owner,
                card_number: card,
                authenticated_at: TossEmulator::now(),
                behaviour,
                failures: 0,
            };
            let json = billing.json(&emu.inner.mid);
            state
                .billing_keys
                .insert(billing.billing_key.clone(), billing);
            Ok(json)
        })();
        match result {
            Ok(json) => (200, json),
            Err(e) => (e.status, e.body()),
        }
    };
    idempotent(&emu, key, work).await
}

/// What a charge request decided, before its answer is sent: the answer, how long to hold it
/// back, and the payment it made.
type Charged = (u16, Value, Option<std::time::Duration>, Option<String>);

fn decide_charge(emu: &TossEmulator, billing_key: &str, raw: &[u8]) -> Charged {
    let result = (|| {
        let body = body_of(raw)?;
        let customer_key = text(&body, "customerKey")?.to_owned();
        let order_id = text(&body, "orderId")?.to_owned();
        let order_name = text(&body, "orderName")?.to_owned();
        let amount = body["amount"]
            .as_i64()
            .filter(|a| *a > 0)
            .ok_or_else(|| invalid("amount 값이 올바르지 않습니다."))?;
        if !model::valid_order_id(&order_id) {
            return Err(invalid(
                "orderId는 영문 대소문자, 숫자, 특수문자 -, _ 로 이루어진 6자 이상 64자 이하의 문자열이어야 합니다.",
            ));
        }
        let mut state = emu.inner.state.lock();
        let Some(key) = state.billing_keys.get_mut(billing_key) else {
            return Err(TossError::new(
                404,
                "NOT_FOUND_BILLING",
                "존재하지 않는 빌링 키입니다.",
            ));
        };
        if key.customer_key != customer_key {
            return Err(TossError::new(
                400,
                "NOT_MATCHES_CUSTOMER_KEY",
                "빌링 인증 고객키와 결제 요청 고객키가 일치하지 않습니다.",
            ));
        }
        let (card, behaviour) = (key.card_number.clone(), key.behaviour.clone());
        let mut delay = None;
        let refusal = match &behaviour {
            Behaviour::Approve => None,
            Behaviour::Decline(code) => Some(TossError::card(code)),
            Behaviour::FailTimes(n) => {
                if key.failures < *n {
                    key.failures += 1;
                    return Err(TossError::card("PROVIDER_ERROR"));
                }
                None
            }
            Behaviour::AnswerLate(d) => {
                delay = Some(*d);
                None
            }
        };
        if state
            .payments
            .iter()
            .any(|p| p.order_id == order_id && p.status != "ABORTED")
        {
            return Err(TossError::new(
                400,
                "DUPLICATED_ORDER_ID",
                "이미 승인 및 취소가 진행된 중복된 주문번호 입니다. 다른 주문번호로 진행해주세요.",
            ));
        }
        let now = TossEmulator::now();
        let payment = Payment {
            payment_key: random("tbill_", 18),
            order_id,
            order_name,
            customer_key,
            billing_key: billing_key.to_owned(),
            card_number: card,
            total_amount: amount,
            balance_amount: if refusal.is_some() { 0 } else { amount },
            status: if refusal.is_some() { "ABORTED" } else { "DONE" }.into(),
            requested_at: now,
            approved_at: refusal.is_none().then_some(now),
            cancels: Vec::new(),
            failure: refusal.clone(),
        };
        let json = payment.json(&emu.inner.mid, &emu.base_url());
        let key = payment.payment_key.clone();
        state.payments.push(payment);
        match refusal {
            Some(e) => Err(e),
            None => Ok((json, delay, key)),
        }
    })();
    match result {
        Ok((json, delay, key)) => (200, json, delay, Some(key)),
        Err(e) => (e.status, e.body(), None, None),
    }
}

async fn charge(
    State(emu): State<TossEmulator>,
    Path(billing_key): Path<String>,
    headers: HeaderMap,
    raw: axum::body::Bytes,
) -> Response {
    emu.inner.state.lock().charge_requests += 1;
    if let Err(e) = authorized(&emu, &headers) {
        return error(&e);
    }
    let key = match idempotency_key(&format!("charge/{billing_key}"), &headers) {
        Ok(k) => k,
        Err(e) => return error(&e),
    };
    let emu2 = emu.clone();
    let work = async move {
        let emu = emu2;
        let (status, json, delay, payment) = decide_charge(&emu, &billing_key, &raw);
        if let Some(d) = delay {
            tokio::time::sleep(d).await;
        }
        if let Some(p) = payment {
            emu.payment_changed(&p);
        }
        (status, json)
    };
    idempotent(&emu, key, work).await
}

fn not_found_payment() -> TossError {
    TossError::new(404, "NOT_FOUND_PAYMENT", "존재하지 않는 결제 정보 입니다.")
}

/// Answers the newest payment matching `pick` (Basic auth first).
fn look_up(emu: &TossEmulator, headers: &HeaderMap, pick: impl Fn(&Payment) -> bool) -> Response {
    if let Err(e) = authorized(emu, headers) {
        return error(&e);
    }
    let found = emu
        .inner
        .state
        .lock()
        .payments
        .iter()
        .rev()
        .find(|p| pick(p))
        .map(|p| p.json(&emu.inner.mid, &emu.base_url()));
    match found {
        Some(json) => answer(200, json),
        None => error(&not_found_payment()),
    }
}

async fn payment(
    State(emu): State<TossEmulator>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Response {
    look_up(&emu, &headers, |p| p.payment_key == key)
}

async fn payment_by_order(
    State(emu): State<TossEmulator>,
    Path(order_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    look_up(&emu, &headers, |p| p.order_id == order_id)
}

async fn cancel(
    State(emu): State<TossEmulator>,
    Path(key): Path<String>,
    headers: HeaderMap,
    raw: axum::body::Bytes,
) -> Response {
    if let Err(e) = authorized(&emu, &headers) {
        return error(&e);
    }
    let idem = match idempotency_key(&format!("cancel/{key}"), &headers) {
        Ok(k) => k,
        Err(e) => return error(&e),
    };
    let emu2 = emu.clone();
    let work = async move {
        let emu = emu2;
        let result = (|| {
            let body = body_of(&raw)?;
            let reason = text(&body, "cancelReason")?.to_owned();
            let mut state = emu.inner.state.lock();
            let Some(p) = state.payments.iter_mut().find(|p| p.payment_key == key) else {
                return Err(not_found_payment());
            };
            if p.status == "CANCELED" {
                return Err(TossError::new(
                    400,
                    "ALREADY_CANCELED_PAYMENT",
                    "이미 취소된 결제 입니다.",
                ));
            }
            if p.status != "DONE" && p.status != "PARTIAL_CANCELED" {
                return Err(TossError::new(
                    403,
                    "NOT_CANCELABLE_PAYMENT",
                    "취소 할 수 없는 결제 입니다.",
                ));
            }
            let amount = match &body["cancelAmount"] {
                Value::Null => p.balance_amount,
                v => v
                    .as_i64()
                    .filter(|a| *a > 0)
                    .ok_or_else(|| invalid("cancelAmount 값이 올바르지 않습니다."))?,
            };
            if amount > p.balance_amount {
                return Err(TossError::new(
                    403,
                    "NOT_CANCELABLE_AMOUNT",
                    "취소 할 수 없는 금액 입니다.",
                ));
            }
            p.balance_amount -= amount;
            p.status = if p.balance_amount == 0 {
                "CANCELED"
            } else {
                "PARTIAL_CANCELED"
            }
            .into();
            p.cancels.push(Cancel {
                amount,
                reason,
                at: TossEmulator::now(),
                transaction_key: random("txrd_", 12),
            });
            Ok(p.json(&emu.inner.mid, &emu.base_url()))
        })();
        match result {
            Ok(json) => {
                emu.payment_changed(&key);
                (200, json)
            }
            Err(e) => (e.status, e.body()),
        }
    };
    idempotent(&emu, idem, work).await
}
