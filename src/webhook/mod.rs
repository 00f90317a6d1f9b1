//! Purpose: the webhook domain (seed domain `webhook`: `webhook.events`) — every delivery a
//! payment provider sends is stored once (its raw body; `UNIQUE (provider, dedupe_key)` absorbs
//! the provider's retries and duplicates), answered at once, and processed afterwards: Toss's
//! payment webhooks are unsigned, so nothing in them is believed — the payment is fetched again
//! with the secret key and must match the webhook's order id, amount and status, and an order
//! Umbra issued; anything else is recorded `rejected` and changes nothing. Kept 90 days.

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde_json::Value;
use uuid::Uuid;

use entity::webhook::events;

/// A stored delivery waiting to be processed.
#[derive(Debug, Clone)]
pub struct Received {
    pub id: Uuid,
    pub event_type: String,
    pub payload: Value,
}

/// What processing decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Processed,
    /// Did not verify: kept with the reason, acted on never.
    Rejected(String),
}

/// The kinds of delivery Toss signs (payouts and sellers: nothing Umbra sells).
const SIGNED_KINDS: [&str; 2] = ["payout.changed", "seller.changed"];

/// What a Toss delivery is, read before anything is stored or believed.
#[derive(Debug, Clone, PartialEq)]
pub enum TossDelivery {
    /// Not JSON (400).
    NotJson,
    /// Signed (or a kind Toss signs) and the signature does not verify (401).
    BadSignature,
    /// A signed kind that verified: acknowledged, nothing to do (200).
    SignedAck,
    /// JSON without a payment, its status and event type (400).
    NotPayment,
    /// A payment delivery to store (then verified by fetching the payment again).
    Payment(Value),
}

/// Reads a Toss delivery's body; `verify` checks the `tosspayments-webhook-signature` header
/// (`signature`) against the body. No I/O (the `toss_webhook` fuzz target's entry).
pub fn read_toss_delivery(
    body: &[u8],
    signature: Option<&str>,
    verify: impl FnOnce(&str) -> bool,
) -> TossDelivery {
    let Ok(payload) = serde_json::from_slice::<Value>(body) else {
        return TossDelivery::NotJson;
    };
    let kind = payload["eventType"].as_str().unwrap_or_default();
    let signed_kind = SIGNED_KINDS.contains(&kind);
    if signature.is_some() || signed_kind {
        if !signature.is_some_and(verify) {
            return TossDelivery::BadSignature;
        }
        if signed_kind {
            return TossDelivery::SignedAck;
        }
    }
    if toss_dedupe_key(&payload).is_none() {
        return TossDelivery::NotPayment;
    }
    TossDelivery::Payment(payload)
}

/// What a payment delivery claims (payment key, order id, status, total amount), before it
/// is checked against the payment Toss reports. `Err`: what is missing.
pub fn payment_claim(payload: &Value) -> Result<(&str, &str, &str, i64), &'static str> {
    if payload["eventType"] != "PAYMENT_STATUS_CHANGED" {
        return Err("not a payment status change");
    }
    let data = &payload["data"];
    match (
        data["paymentKey"].as_str(),
        data["orderId"].as_str(),
        data["status"].as_str(),
        data["totalAmount"].as_i64(),
    ) {
        (Some(key), Some(order), Some(status), Some(amount)) => Ok((key, order, status, amount)),
        _ => Err("incomplete payment"),
    }
}

/// The dedupe key of a Toss delivery: the payment, its status and its balance (a refund
/// changes the balance; the same change delivered again keeps the key).
pub fn toss_dedupe_key(payload: &Value) -> Option<String> {
    let data = &payload["data"];
    let key = data["paymentKey"].as_str()?;
    let status = data["status"].as_str()?;
    let balance = data["balanceAmount"].as_i64().unwrap_or(-1);
    let kind = payload["eventType"].as_str()?;
    Some(format!("{kind}:{key}:{status}:{balance}"))
}

#[derive(Debug, Clone)]
pub struct WebhookStore {
    db: DatabaseConnection,
}

impl WebhookStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// Stores a delivery once. Returns its id when it is new (`None`: a duplicate).
    pub async fn store(
        &self,
        provider: &str,
        event_type: &str,
        dedupe_key: &str,
        payload: Value,
    ) -> Result<Option<Uuid>, DbErr> {
        let id = Uuid::now_v7();
        let inserted = events::Entity::insert(events::ActiveModel {
            id: Set(id),
            provider: Set(provider.to_owned()),
            event_type: Set(event_type.to_owned()),
            dedupe_key: Set(dedupe_key.to_owned()),
            payload: Set(payload),
            ..Default::default()
        })
        .on_conflict(
            OnConflict::columns([events::Column::Provider, events::Column::DedupeKey])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&self.db)
        .await?;
        Ok((inserted == 1).then_some(id))
    }

    /// Deliveries still to process (new ones, and failed ones to retry), oldest first.
    pub async fn pending(&self, limit: u64) -> Result<Vec<Received>, DbErr> {
        let rows = events::Entity::find()
            .filter(events::Column::Status.is_in(["received", "failed"]))
            .filter(events::Column::Attempts.lt(10))
            .order_by_asc(events::Column::ReceivedAt)
            .limit(limit)
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|m| Received {
                id: m.id,
                event_type: m.event_type,
                payload: m.payload,
            })
            .collect())
    }

    /// Records what processing decided (or that it failed and will be retried).
    pub async fn finish(&self, id: Uuid, outcome: Result<Verdict, String>) -> Result<(), DbErr> {
        let (status, error) = match outcome {
            Ok(Verdict::Processed) => ("processed", None),
            Ok(Verdict::Rejected(why)) => ("rejected", Some(why)),
            Err(e) => ("failed", Some(e)),
        };
        let done = status != "failed";
        events::Entity::update_many()
            .col_expr(events::Column::Status, Expr::value(status))
            .col_expr(events::Column::Error, Expr::value(error))
            .col_expr(
                events::Column::Attempts,
                Expr::col(events::Column::Attempts).add(1),
            )
            .col_expr(
                events::Column::ProcessedAt,
                if done {
                    Expr::cust("now()")
                } else {
                    Expr::cust("NULL")
                },
            )
            .filter(events::Column::Id.eq(id))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Deletes deliveries older than `days`. Returns how many.
    pub async fn purge(&self, days: i32) -> Result<u64, DbErr> {
        let done = events::Entity::delete_many()
            // `days` is a configuration number, not input.
            .filter(
                Expr::col(events::Column::ReceivedAt)
                    .lt(Expr::cust(format!("now() - make_interval(days => {days})"))),
            )
            .exec(&self.db)
            .await?;
        Ok(done.rows_affected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_same_payment_change_has_the_same_key_and_a_refund_another() {
        let done = json!({"eventType": "PAYMENT_STATUS_CHANGED", "data": {"paymentKey": "p1", "status": "DONE", "balanceAmount": 4900}});
        let refunded = json!({"eventType": "PAYMENT_STATUS_CHANGED", "data": {"paymentKey": "p1", "status": "PARTIAL_CANCELED", "balanceAmount": 4000}});
        assert_eq!(toss_dedupe_key(&done), toss_dedupe_key(&done.clone()));
        assert_ne!(toss_dedupe_key(&done), toss_dedupe_key(&refunded));
        assert_eq!(toss_dedupe_key(&json!({"data": {}})), None);
    }
}
