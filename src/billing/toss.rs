//! Purpose: the Toss Payments adapter — the billing API calls Umbra makes (issue a billing key,
//! charge it, look a payment up by key or by order id, cancel), with Basic auth from the secret
//! key, Toss's error body parsed (unknown codes kept as text), and the charge protocol that
//! never charges twice: one `Idempotency-Key` per order, transient failures (timeouts, 5xx,
//! 409 "still processing") retried with the same key, and when the answer stays unknown, the
//! truth read back with `GET /v1/payments/orders/{orderId}`.

use std::time::Duration;

use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::config::Secret;

/// A Toss error as answered (`{code, message}`), or a transport failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TossError {
    /// Toss answered with an error body.
    #[error("Toss refused ({status} {code}): {message}")]
    Refused {
        status: u16,
        code: String,
        message: String,
    },
    /// No answer (timeout, connection) or an answer that is not Toss's.
    #[error("Toss could not be reached or answered oddly: {0}")]
    Unreachable(String),
}

impl TossError {
    /// The Toss error code (`None` for transport failures).
    pub fn code(&self) -> Option<&str> {
        match self {
            TossError::Refused { code, .. } => Some(code),
            TossError::Unreachable(_) => None,
        }
    }

    /// Whether repeating the same request (same idempotency key) may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            TossError::Unreachable(_) => true,
            TossError::Refused { status, code, .. } => {
                *status >= 500
                    || matches!(
                        code.as_str(),
                        "IDEMPOTENT_REQUEST_PROCESSING"
                            | "PROVIDER_ERROR"
                            | "FAILED_INTERNAL_SYSTEM_PROCESSING"
                            | "FAILED_CARD_COMPANY_RESPONSE"
                    )
            }
        }
    }

    /// Whether the card itself is unusable (the owner must register another one).
    pub fn needs_new_card(&self) -> bool {
        matches!(
            self.code(),
            Some(
                "INVALID_CARD_EXPIRATION"
                    | "INVALID_STOPPED_CARD"
                    | "INVALID_CARD_LOST_OR_STOLEN"
                    | "NOT_FOUND_BILLING"
                    | "NOT_MATCHES_CUSTOMER_KEY"
            )
        )
    }
}

/// A registered card (the answer to `POST /v1/billing/authorizations/issue`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedKey {
    pub customer_key: String,
    /// The billing key itself: a secret (stored encrypted, never logged).
    pub billing_key: Secret<String>,
    pub card_company: Option<String>,
    /// As Toss masks it (`43301234****123*`).
    pub card_number: Option<String>,
}

/// A payment as Umbra keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub payment_key: String,
    pub order_id: String,
    /// `DONE`, `CANCELED`, `PARTIAL_CANCELED`, `ABORTED`, ...
    pub status: String,
    pub total_amount: i64,
    pub balance_amount: i64,
    pub receipt_url: Option<String>,
    /// Toss's error of an aborted payment.
    pub failure_code: Option<String>,
    /// The whole answer, for `payment_attempts.response` (no full card number: Toss masks it).
    pub raw: Value,
}

impl Payment {
    fn parse(raw: Value) -> Result<Self, TossError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Shape {
            payment_key: String,
            order_id: String,
            status: String,
            total_amount: i64,
            balance_amount: i64,
        }
        let s: Shape = serde_json::from_value(raw.clone())
            .map_err(|e| TossError::Unreachable(format!("a payment Umbra cannot read: {e}")))?;
        Ok(Self {
            payment_key: s.payment_key,
            order_id: s.order_id,
            status: s.status,
            total_amount: s.total_amount,
            balance_amount: s.balance_amount,
            receipt_url: raw["receipt"]["url"].as_str().map(str::to_owned),
            failure_code: raw["failure"]["code"].as_str().map(str::to_owned),
            raw,
        })
    }

    pub fn is_paid(&self) -> bool {
        self.status == "DONE"
    }
}

/// What to charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub customer_key: String,
    /// Deterministic per (subscription, period): Toss refuses a second payment for it.
    pub order_id: String,
    pub order_name: String,
    pub amount: i64,
}

/// How a charge ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Charge {
    /// Paid (possibly learned by looking the order up after an unknown answer).
    Paid(Payment),
    /// Declined or refused for good (the card, the key, the amount): no money moved.
    Declined(TossError),
    /// Still unknown after every retry and look-up (Toss unreachable): try again later with the
    /// same order id and idempotency key; never with new ones.
    Unknown(TossError),
}

/// The Toss client.
#[derive(Clone)]
pub struct TossClient {
    http: reqwest::Client,
    api: String,
    auth: Secret<String>,
    /// Attempts of one request on transient failures (the first included).
    attempts: u32,
    backoff: Duration,
}

impl std::fmt::Debug for TossClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TossClient")
            .field("api", &self.api)
            .finish()
    }
}

impl TossClient {
    /// `api`: `https://api.tosspayments.com` (or the emulator's URL); `timeout`: per request.
    pub fn new(api: &str, secret_key: &Secret<String>, timeout: Duration) -> anyhow::Result<Self> {
        let auth = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{}:", secret_key.expose()))
        );
        Ok(Self {
            http: reqwest::Client::builder()
                .use_rustls_tls()
                .timeout(timeout)
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
            api: api.trim_end_matches('/').to_owned(),
            auth: Secret::new(auth),
            attempts: 3,
            backoff: Duration::from_millis(200),
        })
    }

    /// Sets how many times a transient failure is retried, and the first pause.
    pub fn with_retries(mut self, attempts: u32, backoff: Duration) -> Self {
        self.attempts = attempts.max(1);
        self.backoff = backoff;
        self
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        idempotency_key: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Value, TossError> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.api))
            .header("Authorization", self.auth.expose());
        if let Some(k) = idempotency_key {
            request = request.header("Idempotency-Key", k);
        }
        if let Some(b) = body {
            request = request.json(b);
        }
        let answer = request
            .send()
            .await
            .map_err(|e| TossError::Unreachable(e.without_url().to_string()))?;
        let status = answer.status().as_u16();
        let body: Value = answer
            .json()
            .await
            .map_err(|e| TossError::Unreachable(format!("HTTP {status}: {}", e.without_url())))?;
        if (200..300).contains(&status) {
            return Ok(body);
        }
        Err(TossError::Refused {
            status,
            code: body["code"].as_str().unwrap_or("UNKNOWN").to_owned(),
            message: body["message"].as_str().unwrap_or_default().to_owned(),
        })
    }

    /// `send`, repeated (same idempotency key) while the failure is transient.
    async fn send_retrying(
        &self,
        method: reqwest::Method,
        path: &str,
        idempotency_key: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Value, TossError> {
        let mut pause = self.backoff;
        let mut attempt = 1;
        loop {
            match self.send(method.clone(), path, idempotency_key, body).await {
                Err(e) if e.is_transient() && attempt < self.attempts => {
                    // Not the path: a charge's path holds the billing key.
                    tracing::info!(
                        attempt,
                        code = e.code(),
                        "Toss: transient failure, retrying"
                    );
                    tokio::time::sleep(pause).await;
                    pause = pause.saturating_mul(2);
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// Exchanges the card page's `authKey` for a billing key of `customer_key`.
    pub async fn issue(&self, auth_key: &str, customer_key: &str) -> Result<IssuedKey, TossError> {
        let body = json!({ "authKey": auth_key, "customerKey": customer_key });
        let answer = self
            .send_retrying(
                reqwest::Method::POST,
                "/v1/billing/authorizations/issue",
                Some(&format!("issue-{auth_key}")),
                Some(&body),
            )
            .await?;
        let billing_key = answer["billingKey"]
            .as_str()
            .ok_or_else(|| TossError::Unreachable("no billingKey in the answer".into()))?;
        Ok(IssuedKey {
            customer_key: answer["customerKey"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            billing_key: Secret::new(billing_key.to_owned()),
            card_company: answer["cardCompany"].as_str().map(str::to_owned),
            card_number: answer["cardNumber"].as_str().map(str::to_owned),
        })
    }

    /// Charges `billing_key` for `order` exactly once: the idempotency key is derived from the
    /// order id, transient failures are retried with it, and an answer that stays unknown is
    /// settled by looking the order up.
    pub async fn charge(&self, billing_key: &Secret<String>, order: &Order) -> Charge {
        let body = json!({
            "customerKey": order.customer_key,
            "amount": order.amount,
            "orderId": order.order_id,
            "orderName": order.order_name,
        });
        let path = format!("/v1/billing/{}", billing_key.expose());
        let key = idempotency_key(&order.order_id);
        match self
            .send_retrying(reqwest::Method::POST, &path, Some(&key), Some(&body))
            .await
        {
            Ok(answer) => match Payment::parse(answer) {
                Ok(p) if p.is_paid() => Charge::Paid(p),
                Ok(p) => Charge::Declined(TossError::Refused {
                    status: 200,
                    code: p.failure_code.clone().unwrap_or_else(|| p.status.clone()),
                    message: format!("payment status {}", p.status),
                }),
                Err(e) => self.settle(order, e).await,
            },
            Err(e) if e.is_transient() => self.settle(order, e).await,
            Err(TossError::Refused { code, .. })
                if matches!(
                    code.as_str(),
                    "DUPLICATED_ORDER_ID" | "ALREADY_PROCESSED_PAYMENT"
                ) =>
            {
                // Paid before (an earlier process, or an answer lost): the order tells.
                self.settle(order, TossError::Unreachable(code)).await
            }
            Err(e) => Charge::Declined(e),
        }
    }

    /// The truth about `order` after an unknown answer.
    async fn settle(&self, order: &Order, why: TossError) -> Charge {
        match self.payment_by_order(&order.order_id).await {
            Ok(Some(p)) if p.is_paid() && p.total_amount == order.amount => Charge::Paid(p),
            Ok(Some(p)) if p.status == "ABORTED" => Charge::Declined(TossError::Refused {
                status: 200,
                code: p.failure_code.unwrap_or_else(|| "ABORTED".into()),
                message: "the payment was aborted".into(),
            }),
            Ok(Some(p)) => Charge::Unknown(TossError::Unreachable(format!(
                "order {} is {} for {} KRW",
                order.order_id, p.status, p.total_amount
            ))),
            // No payment at all: the charge never happened; the same order may be retried.
            Ok(None) => Charge::Unknown(why),
            Err(e) => Charge::Unknown(e),
        }
    }

    /// `GET /v1/payments/orders/{orderId}` (`None`: no payment for it).
    pub async fn payment_by_order(&self, order_id: &str) -> Result<Option<Payment>, TossError> {
        let path = format!("/v1/payments/orders/{}", encode(order_id));
        match self
            .send_retrying(reqwest::Method::GET, &path, None, None)
            .await
        {
            Ok(answer) => Payment::parse(answer).map(Some),
            Err(TossError::Refused { code, .. }) if code == "NOT_FOUND_PAYMENT" => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `GET /v1/payments/{paymentKey}`.
    pub async fn payment(&self, payment_key: &str) -> Result<Payment, TossError> {
        let answer = self
            .send_retrying(
                reqwest::Method::GET,
                &format!("/v1/payments/{}", encode(payment_key)),
                None,
                None,
            )
            .await?;
        Payment::parse(answer)
    }

    /// Refunds `amount` (all of it when `None`) of a payment. `request_id` makes a repeat of
    /// the same refund a no-op.
    pub async fn cancel(
        &self,
        payment_key: &str,
        reason: &str,
        amount: Option<i64>,
        request_id: &str,
    ) -> Result<Payment, TossError> {
        let mut body = json!({ "cancelReason": reason });
        if let Some(a) = amount {
            body["cancelAmount"] = json!(a);
        }
        let answer = self
            .send_retrying(
                reqwest::Method::POST,
                &format!("/v1/payments/{}/cancel", encode(payment_key)),
                Some(&format!("cancel-{request_id}")),
                Some(&body),
            )
            .await?;
        Payment::parse(answer)
    }
}

/// The idempotency key of an order's charge (the same for every retry, in every process).
/// HMAC-SHA256 (RFC 2104) of `message` with `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.map(|b| b ^ byte);
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

/// Whether `header` (`tosspayments-webhook-signature`: `v1:<base64>,v1:<base64>`) signs `body`
/// sent at `time` (`tosspayments-webhook-transmission-time`) with the security key: HMAC-SHA256
/// over `"{body}:{time}"`; either value may match. Compared in constant time.
pub fn signature_matches(
    security_key: &Secret<String>,
    body: &[u8],
    time: &str,
    header: &str,
) -> bool {
    let mut message = body.to_vec();
    message.push(b':');
    message.extend_from_slice(time.as_bytes());
    let expected = hmac_sha256(security_key.expose().as_bytes(), &message);
    header
        .split(',')
        .filter_map(|v| v.trim().strip_prefix("v1:"))
        .filter_map(|v| base64::engine::general_purpose::STANDARD.decode(v).ok())
        .any(|given| {
            given.len() == expected.len()
                && given
                    .iter()
                    .zip(expected.iter())
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                    == 0
        })
}

pub fn idempotency_key(order_id: &str) -> String {
    format!("charge-{order_id}")
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {

    #[test]
    fn hmac_sha256_matches_rfc_4231() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let long = hmac_sha256(
            &[0xaa; 131],
            b"Test Using Larger Than Block-Size Key - Hash Key First",
        );
        let hex: String = long.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn a_webhook_signature_matches_only_its_body_time_and_key() {
        let key = Secret::new("umbra-test-security-key".to_owned());
        let body = br#"{"eventType":"payout.changed","createdAt":"2026-12-06T00:00:00.000000","data":{"payoutId":"FPA_1","status":"COMPLETED"}}"#;
        let time = "2026-12-06T00:00:00.000+09:00";
        let good = "v1:h8++B9kxIZCYkiBljxT1FD+fGKqeR8ALc//PyLI7TFI=";
        assert!(signature_matches(&key, body, time, good));
        assert!(
            signature_matches(&key, body, time, &format!("v1:AAAA,{good}")),
            "either value"
        );
        assert!(!signature_matches(
            &key,
            body,
            "2026-12-06T00:00:01.000+09:00",
            good
        ));
        assert!(!signature_matches(&key, &body[1..], time, good));
        let other = Secret::new("another-key".to_owned());
        assert!(!signature_matches(&other, body, time, good));
        assert!(!signature_matches(
            &key,
            body,
            time,
            "h8++B9kxIZCYkiBljxT1FD+fGKqeR8ALc//PyLI7TFI="
        ));
    }

    use super::*;

    #[test]
    fn transient_failures_are_told_from_declines() {
        let refused = |status: u16, code: &str| TossError::Refused {
            status,
            code: code.into(),
            message: String::new(),
        };
        assert!(refused(500, "PROVIDER_ERROR").is_transient());
        assert!(refused(409, "IDEMPOTENT_REQUEST_PROCESSING").is_transient());
        assert!(TossError::Unreachable("timeout".into()).is_transient());
        assert!(!refused(403, "REJECT_CARD_PAYMENT").is_transient());
        assert!(refused(400, "INVALID_CARD_EXPIRATION").needs_new_card());
        assert!(!refused(403, "REJECT_CARD_PAYMENT").needs_new_card());
    }

    #[test]
    fn the_client_never_prints_its_secret() {
        let client = TossClient::new(
            "http://127.0.0.1:1",
            &Secret::new("test_sk_very_secret".into()),
            Duration::from_secs(1),
        )
        .expect("a client");
        assert!(!format!("{client:?}").contains("very_secret"));
        assert_eq!(idempotency_key("sub-1-2026-12"), "charge-sub-1-2026-12");
    }
}
