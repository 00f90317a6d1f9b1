//! Purpose: what the Toss emulator keeps and answers — billing keys, payments (Toss's Payment
//! object, v1, as JSON), the error body (`{code, message}`), and the scripted behaviours a test
//! gives a card or a billing key (approve, decline with a code, fail a few times then approve,
//! answer late).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

/// What a charge with a billing key does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Behaviour {
    /// Approve every charge.
    Approve,
    /// Refuse every charge with this Toss error code (e.g. `REJECT_CARD_PAYMENT`,
    /// `INVALID_CARD_EXPIRATION`).
    Decline(String),
    /// Answer `PROVIDER_ERROR` (500) to the next `n` charges, then approve.
    FailTimes(u32),
    /// Approve, but answer only after this long (a client that timed out must look the
    /// payment up by its `orderId` to learn it was charged).
    AnswerLate(Duration),
}

/// The card numbers the stand-in card page knows (anything else is approved).
pub const CARD_DECLINED: &str = "4000000000000002";
pub const CARD_EXPIRED: &str = "4000000000000069";
pub const CARD_FLAKY: &str = "4000000000000119";

impl Behaviour {
    /// The behaviour of a card registered on the card page.
    pub fn of_card(number: &str) -> Self {
        match number {
            CARD_DECLINED => Behaviour::Decline("REJECT_CARD_PAYMENT".into()),
            CARD_EXPIRED => Behaviour::Decline("INVALID_CARD_EXPIRATION".into()),
            CARD_FLAKY => Behaviour::FailTimes(2),
            _ => Behaviour::Approve,
        }
    }
}

/// A Toss error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TossError {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl TossError {
    pub fn new(status: u16, code: &str, message: &str) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
        }
    }

    pub fn body(&self) -> Value {
        json!({ "code": self.code, "message": self.message })
    }

    /// The HTTP status and message Toss uses for a card error code.
    pub fn card(code: &str) -> Self {
        match code {
            "REJECT_CARD_PAYMENT" => {
                Self::new(403, code, "한도초과 혹은 잔액부족으로 결제에 실패했습니다.")
            }
            "REJECT_CARD_COMPANY" => Self::new(403, code, "결제 승인이 거절되었습니다."),
            "INVALID_CARD_EXPIRATION" => {
                Self::new(400, code, "카드 정보를 다시 확인해주세요. (유효기간)")
            }
            "INVALID_STOPPED_CARD" => Self::new(400, code, "정지된 카드 입니다."),
            "PROVIDER_ERROR" | "FAILED_INTERNAL_SYSTEM_PROCESSING" => Self::new(
                500,
                code,
                "일시적인 오류가 발생했습니다. 잠시 후 다시 시도해주세요.",
            ),
            other => Self::new(400, other, "결제에 실패했습니다."),
        }
    }
}

/// A billing key and the card behind it.
#[derive(Debug, Clone)]
pub struct BillingKey {
    pub billing_key: String,
    pub customer_key: String,
    pub card_number: String,
    pub authenticated_at: DateTime<Utc>,
    pub behaviour: Behaviour,
    /// Charges refused so far under `FailTimes`.
    pub failures: u32,
}

impl BillingKey {
    /// The card number as Toss shows it (`43301234****123*`).
    pub fn masked(&self) -> String {
        let n: Vec<char> = self.card_number.chars().collect();
        n.iter()
            .enumerate()
            .map(|(i, c)| {
                if (8..12).contains(&i) || i == 15 {
                    '*'
                } else {
                    *c
                }
            })
            .collect()
    }

    /// `POST /v1/billing/authorizations/issue`'s answer.
    pub fn json(&self, mid: &str) -> Value {
        json!({
            "mId": mid,
            "customerKey": self.customer_key,
            "authenticatedAt": self.authenticated_at.to_rfc3339(),
            "method": "카드",
            "billingKey": self.billing_key,
            "cardCompany": "국민",
            "cardNumber": self.masked(),
            "card": {
                "issuerCode": "11",
                "acquirerCode": "11",
                "number": self.masked(),
                "cardType": "신용",
                "ownerType": "개인"
            }
        })
    }
}

/// One refund of a payment.
#[derive(Debug, Clone)]
pub struct Cancel {
    pub amount: i64,
    pub reason: String,
    pub at: DateTime<Utc>,
    pub transaction_key: String,
}

/// A payment (only billing charges exist here).
#[derive(Debug, Clone)]
pub struct Payment {
    pub payment_key: String,
    pub order_id: String,
    pub order_name: String,
    pub customer_key: String,
    pub billing_key: String,
    pub card_number: String,
    pub total_amount: i64,
    pub balance_amount: i64,
    /// `DONE`, `CANCELED`, `PARTIAL_CANCELED` or `ABORTED`.
    pub status: String,
    pub requested_at: DateTime<Utc>,
    pub approved_at: Option<DateTime<Utc>>,
    pub cancels: Vec<Cancel>,
    /// The error of an aborted charge.
    pub failure: Option<TossError>,
}

impl Payment {
    /// Toss's Payment object.
    pub fn json(&self, mid: &str, base: &str) -> Value {
        let vat = self.total_amount / 11;
        json!({
            "mId": mid,
            "version": "2022-11-16",
            "lastTransactionKey": self.cancels.last().map(|c| c.transaction_key.clone())
                .unwrap_or_else(|| format!("txrd_{}", &self.payment_key[..12.min(self.payment_key.len())])),
            "paymentKey": self.payment_key,
            "orderId": self.order_id,
            "orderName": self.order_name,
            "taxExemptionAmount": 0,
            "status": self.status,
            "requestedAt": self.requested_at.to_rfc3339(),
            "approvedAt": self.approved_at.map(|t| t.to_rfc3339()),
            "useEscrow": false,
            "cultureExpense": false,
            "card": {
                "issuerCode": "11",
                "acquirerCode": "11",
                "number": mask(&self.card_number),
                "installmentPlanMonths": 0,
                "isInterestFree": false,
                "interestPayer": null,
                "approveNo": "00000000",
                "useCardPoint": false,
                "cardType": "신용",
                "ownerType": "개인",
                "acquireStatus": "READY",
                "amount": self.total_amount
            },
            "virtualAccount": null,
            "transfer": null,
            "mobilePhone": null,
            "giftCertificate": null,
            "cashReceipt": null,
            "cashReceipts": null,
            "discount": null,
            "cancels": if self.cancels.is_empty() { Value::Null } else {
                Value::Array(self.cancels.iter().map(|c| json!({
                    "cancelAmount": c.amount,
                    "cancelReason": c.reason,
                    "taxFreeAmount": 0,
                    "taxExemptionAmount": 0,
                    "refundableAmount": 0,
                    "easyPayDiscountAmount": 0,
                    "canceledAt": c.at.to_rfc3339(),
                    "transactionKey": c.transaction_key,
                    "receiptKey": null,
                    "cancelStatus": "DONE",
                    "cancelRequestId": null
                })).collect())
            },
            "secret": null,
            "type": "BILLING",
            "easyPay": null,
            "country": "KR",
            "failure": self.failure.as_ref().map(TossError::body),
            "isPartialCancelable": true,
            "receipt": { "url": format!("{base}/receipts/{}", self.payment_key) },
            "checkout": { "url": format!("{base}/checkout/{}", self.payment_key) },
            "currency": "KRW",
            "totalAmount": self.total_amount,
            "balanceAmount": self.balance_amount,
            "suppliedAmount": self.total_amount - vat,
            "vat": vat,
            "taxFreeAmount": 0,
            "method": "카드"
        })
    }
}

fn mask(number: &str) -> String {
    number
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if (8..12).contains(&i) || i == 15 {
                '*'
            } else {
                c
            }
        })
        .collect()
}

/// Whether an `orderId` is one Toss accepts: 6-64 letters, digits, `-` or `_`.
pub fn valid_order_id(id: &str) -> bool {
    (6..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_ids_follow_tosss_rule() {
        assert!(valid_order_id("sub-0123-2026-12"));
        assert!(!valid_order_id("short"));
        assert!(!valid_order_id("has space in it"));
        assert!(!valid_order_id(&"x".repeat(65)));
    }

    #[test]
    fn card_numbers_are_masked_like_toss() {
        assert_eq!(mask("4330123412341234"), "43301234****123*");
    }

    #[test]
    fn the_card_page_numbers_script_their_behaviour() {
        assert_eq!(
            Behaviour::of_card(CARD_DECLINED),
            Behaviour::Decline("REJECT_CARD_PAYMENT".into())
        );
        assert_eq!(Behaviour::of_card("4330123412341234"), Behaviour::Approve);
    }
}
