//! Purpose: billing use cases — register a card (the billing key issued from the card page's
//! `authKey`, checked against the registration's `customerKey`, sealed to its row and column),
//! subscribe a guild to a plan (one live subscription per guild; the first charge made at
//! once), and the renewal worker (due subscriptions claimed on the lease queue; each charge an
//! attempt row written `pending` before Toss is called, its order id deterministic per
//! subscription, period and attempt, so a crash at any point is reconciled by charging the same
//! order again — Toss answers the first payment — and never charged twice). Declines follow the
//! dunning schedule (`past_due`, then `expired`); a subscription cancelled by its owner ends at
//! its period's end. Every change is an outbox event (`subscription.*`, `payment.*`) that
//! licensing turns into licenses.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use serde_json::json;
use sqlx::PgPool;
use tokio::sync::watch;
use uuid::Uuid;

use super::model::{self, Attempt, Status, Subscription};
use super::persistence::{self, KEY_COLUMN};
use super::toss::{Charge, Order, TossClient, TossError};
use crate::config::Secret;
use crate::db::Tx;
use crate::db::crypto::{Keyring, Sealed};
use crate::guild::{GuildError, GuildReader};
use crate::licensing::{LicensingError, PlanReader};
use crate::outbox::{self, NewEvent};
use crate::queue::Lease;

/// Outbox event types of the billing domain.
pub mod events {
    pub const SUBSCRIPTION_ACTIVATED: &str = "subscription.activated";
    pub const SUBSCRIPTION_RENEWED: &str = "subscription.renewed";
    pub const SUBSCRIPTION_PAST_DUE: &str = "subscription.past_due";
    pub const SUBSCRIPTION_CANCELED: &str = "subscription.canceled";
    pub const SUBSCRIPTION_EXPIRED: &str = "subscription.expired";
    /// The plan changed within a period (an upgrade, paid pro rata).
    pub const SUBSCRIPTION_CHANGED: &str = "subscription.changed";
    pub const PAYMENT_SUCCEEDED: &str = "payment.succeeded";
    pub const PAYMENT_FAILED: &str = "payment.failed";
    pub const PAYMENT_REFUNDED: &str = "payment.refunded";
}

#[derive(Debug, thiserror::Error)]
pub enum BillingError {
    #[error("guild {0} is not known to Umbra")]
    UnknownGuild(u64),
    #[error("the plan `{0}` is not sold")]
    NotForSale(String),
    #[error("no card is registered")]
    NoCard,
    #[error("the guild already has a live subscription")]
    AlreadySubscribed,
    #[error("the card page answered for another customer")]
    CustomerMismatch,
    #[error("the guild has no live subscription")]
    NoSubscription,
    #[error("the last renewal was declined: settle it (change the card) before changing the plan")]
    PastDue,
    #[error("the guild is already on that plan")]
    SamePlan,
    #[error("a charge of this subscription is in flight; try again in a minute")]
    Busy,
    #[error("the subscribe link expired, was used already, or is another account's")]
    LinkInvalid,
    #[error("no paid order `{0}`")]
    UnknownOrder(String),
    #[error("the payment was declined: {0}")]
    Declined(TossError),
    #[error(transparent)]
    Toss(TossError),
    #[error("the stored card cannot be read: {0}")]
    Crypto(#[from] crate::db::crypto::CryptoError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
    #[error(transparent)]
    Plan(#[from] LicensingError),
    #[error(transparent)]
    Guild(#[from] GuildError),
}

/// How the worker and the lifecycle behave (`[billing]`).
#[derive(Debug, Clone)]
pub struct BillingSettings {
    /// Days after a renewal's due date on which a declined charge is tried again.
    pub dunning_days: Vec<u32>,
    /// Days a paid license outlasts its period (covers the dunning retries).
    pub grace_days: u32,
    pub lease: Duration,
    pub poll: Duration,
    pub batch: u32,
    /// Charges in flight at once.
    pub concurrency: usize,
    /// When Toss's answer stays unknown, the charge is tried again (same order) after this.
    pub unknown_retry: Duration,
    /// `TOSS_SECURITY_KEY`: verifies the webhooks Toss signs (none: they are refused).
    pub security_key: Option<Secret<String>>,
}

impl Default for BillingSettings {
    fn default() -> Self {
        Self {
            dunning_days: vec![1, 3, 5],
            grace_days: 7,
            lease: Duration::from_secs(120),
            poll: Duration::from_secs(30),
            batch: 50,
            concurrency: 8,
            unknown_retry: Duration::from_secs(300),
            security_key: None,
        }
    }
}

/// What one charge did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Charged {
    Paid {
        payment_key: String,
    },
    Declined {
        code: String,
    },
    /// The outcome is unknown (Toss unreachable): tried again later with the same order.
    Pending,
    /// The subscription ended (cancelled at its period's end).
    Ended,
    /// Another worker holds the subscription now.
    LostLease,
}

/// What a plan change did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanChange {
    /// The dearer plan applies now; `amount` was charged for what is left of the period (0:
    /// too little was left to charge).
    Upgraded { amount: i64 },
    /// The upgrade's charge did not go through (declined, or its outcome is not known yet: it
    /// is settled by its order id later). The plan stays as it was until then.
    NotUpgraded(Charged),
    /// The cheaper plan applies from the period's end (`at`); nothing is refunded.
    Scheduled { at: chrono::DateTime<Utc> },
    /// A scheduled change was taken back (the current plan was chosen again).
    Kept,
}

/// The outbox event `kind` of subscription `sub` (its guild and owner given), its payload the
/// subscription's facts with `extra`'s keys added (or replacing them).
fn sub_event(
    sub: &Subscription,
    guild_id: u64,
    owner_id: u64,
    kind: &'static str,
    extra: serde_json::Value,
) -> NewEvent {
    let mut p = json!({
        "subscription_id": sub.id,
        "plan": sub.plan_code,
        "guild_discord_id": guild_id.to_string(),
        "owner_discord_id": owner_id.to_string(),
        "amount_krw": sub.price_krw,
    });
    if let (Some(p), Some(e)) = (p.as_object_mut(), extra.as_object()) {
        p.extend(e.clone());
    }
    NewEvent::new(kind, "subscription", sub.id.to_string(), p).in_guild(crate::ids::to_db(guild_id))
}

/// What a `/billing subscribe` link carries, sealed with Umbra's key for [`LINK_AAD`]: who may
/// use it, for which server and plan, until when, and its nonce (one use).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SubscribeLink {
    pub user: u64,
    pub guild: u64,
    pub plan: String,
    pub nonce: Uuid,
    pub expires: i64,
}

/// The associated data subscribe links are sealed with.
const LINK_AAD: Uuid = Uuid::from_u128(0x756d_6272_612d_6c69_6e6b_2d73_7562_7363);
/// How long a subscribe link works.
pub const LINK_MINUTES: i64 = 15;

struct Inner {
    pool: PgPool,
    keyring: Arc<Keyring>,
    toss: TossClient,
    plans: Arc<dyn PlanReader>,
    guilds: Arc<dyn GuildReader>,
    settings: BillingSettings,
    owner: String,
    wake: tokio::sync::Notify,
    webhooks: crate::webhook::WebhookStore,
}

#[derive(Clone)]
pub struct BillingService {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for BillingService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BillingService").finish_non_exhaustive()
    }
}

impl BillingService {
    pub fn new(
        pool: PgPool,
        keyring: Arc<Keyring>,
        toss: TossClient,
        plans: Arc<dyn PlanReader>,
        guilds: Arc<dyn GuildReader>,
        settings: BillingSettings,
    ) -> Self {
        let webhooks = crate::webhook::WebhookStore::new(
            sea_orm::SqlxPostgresConnector::from_sqlx_postgres_pool(pool.clone()),
        );
        Self {
            inner: Arc::new(Inner {
                pool,
                keyring,
                toss,
                plans,
                guilds,
                settings,
                owner: format!("billing-{}", Uuid::now_v7().simple()),
                wake: tokio::sync::Notify::new(),
                webhooks,
            }),
        }
    }

    /// A new registration's `customerKey` (random; never an email or a Discord id).
    pub fn new_customer_key() -> Uuid {
        Uuid::new_v4()
    }

    /// A short-lived, single-use link token for the Discord user `user` to buy `plan` for
    /// `guild` (a newer link replaces an older one). `None`: Umbra has no record of the user.
    pub async fn subscribe_link(
        &self,
        user: u64,
        guild: u64,
        plan: &str,
    ) -> Result<Option<String>, BillingError> {
        let link = SubscribeLink {
            user,
            guild,
            plan: plan.to_owned(),
            nonce: Uuid::new_v4(),
            expires: (Utc::now() + TimeDelta::minutes(LINK_MINUTES)).timestamp(),
        };
        if !persistence::open_link(&self.inner.pool, crate::ids::to_db(user), link.nonce).await? {
            return Ok(None);
        }
        Ok(self.inner.keyring.seal_text(LINK_AAD, &link))
    }

    /// Uses a subscribe link token as the Discord user `user`: what it is for, once; a forged,
    /// expired, used or replaced link, or another user's, is [`BillingError::LinkInvalid`].
    pub async fn use_subscribe_link(
        &self,
        user: u64,
        token: &str,
    ) -> Result<SubscribeLink, BillingError> {
        let link: SubscribeLink = self
            .inner
            .keyring
            .open_text(LINK_AAD, token)
            .ok_or(BillingError::LinkInvalid)?;
        if link.user != user || link.expires <= Utc::now().timestamp() {
            return Err(BillingError::LinkInvalid);
        }
        if !persistence::use_link(&self.inner.pool, crate::ids::to_db(user), link.nonce).await? {
            return Err(BillingError::LinkInvalid);
        }
        Ok(link)
    }

    /// Exchanges the card page's `authKey` for a billing key and stores it as `user_row`'s card
    /// (the previous card is retired). `customer_key` is the one this registration was started
    /// with: Toss must answer for it.
    pub async fn register_card(
        &self,
        user_row: Uuid,
        customer_key: Uuid,
        auth_key: &str,
    ) -> Result<(), BillingError> {
        let issued = self
            .inner
            .toss
            .issue(auth_key, &customer_key.to_string())
            .await
            .map_err(BillingError::Toss)?;
        if issued.customer_key != customer_key.to_string() {
            return Err(BillingError::CustomerMismatch);
        }
        let id = Uuid::now_v7();
        let sealed =
            self.inner
                .keyring
                .seal_column(id, KEY_COLUMN, issued.billing_key.expose().as_bytes());
        let mut tx = self.inner.pool.begin().await?;
        persistence::replace_key(
            &mut tx,
            id,
            user_row,
            customer_key,
            &sealed.key_id,
            &sealed.bytes,
            issued.card_company.as_deref(),
            issued.card_number.as_deref(),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Subscribes `guild` to `plan_code`, paid by `user_row`'s card, and makes the first charge.
    pub async fn subscribe(
        &self,
        user_row: Uuid,
        guild: u64,
        plan_code: &str,
    ) -> Result<Charged, BillingError> {
        let plan = self.inner.plans.plan(plan_code).await?;
        let Some(days) = plan.billing_period_days.filter(|_| plan.price_krw > 0) else {
            return Err(BillingError::NotForSale(plan_code.to_owned()));
        };
        let record = self
            .inner
            .guilds
            .guild(guild)
            .await?
            .ok_or(BillingError::UnknownGuild(guild))?;
        let Some(key) = persistence::active_key(&self.inner.pool, user_row).await? else {
            return Err(BillingError::NoCard);
        };
        let lease = persistence::insert_subscription(
            &self.inner.pool,
            Uuid::now_v7(),
            user_row,
            record.id,
            plan.id,
            key.id,
            plan.price_krw,
            days,
            &self.inner.owner,
            self.inner.settings.lease.as_secs_f64(),
        )
        .await
        .map_err(|e| {
            if persistence::is_live_conflict(&e) {
                BillingError::AlreadySubscribed
            } else {
                BillingError::Database(e)
            }
        })?;
        self.process(lease).await
    }

    /// The guild's live (else latest) subscription and its last attempts.
    pub async fn subscription(
        &self,
        guild: u64,
    ) -> Result<Option<(Subscription, Vec<Attempt>)>, BillingError> {
        let Some(record) = self.inner.guilds.guild(guild).await? else {
            return Ok(None);
        };
        let Some(s) = persistence::of_guild(&self.inner.pool, record.id).await? else {
            return Ok(None);
        };
        let attempts = persistence::attempts(&self.inner.pool, s.id, 10).await?;
        Ok(Some((s, attempts)))
    }

    /// Cancels the guild's subscription at the end of its period (`cancel`), or takes that back.
    /// Returns whether the guild has a live subscription.
    pub async fn cancel_at_period_end(
        &self,
        guild: u64,
        cancel: bool,
    ) -> Result<bool, BillingError> {
        let record = self
            .inner
            .guilds
            .guild(guild)
            .await?
            .ok_or(BillingError::UnknownGuild(guild))?;
        Ok(persistence::set_cancel_at_end(&self.inner.pool, record.id, cancel).await?)
    }

    /// The renewal worker: claims due subscriptions and charges them, and processes stored
    /// payment webhooks, until `shutdown`.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
        while !*shutdown.borrow() {
            let mut busy = false;
            match self.renew_due().await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(renewals = n, "billing: subscriptions processed");
                    // A full batch: more may be due; no pause.
                    busy = n >= self.inner.settings.batch as usize;
                }
                Err(e) => tracing::warn!(error = %e, "billing: a renewal pass failed; will retry"),
            }
            if let Err(e) = self.process_webhooks().await {
                tracing::warn!(error = %e, "billing: processing webhooks failed; will retry");
            }
            if busy {
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(self.inner.settings.poll) => {}
                _ = self.inner.wake.notified() => {}
                _ = shutdown.changed() => {}
            }
        }
        Ok(())
    }

    /// Deletes webhook deliveries older than `days` (kept 90 days). Returns how many.
    pub async fn purge_webhooks(&self, days: i32) -> Result<u64, BillingError> {
        Ok(self.inner.webhooks.purge(days).await?)
    }

    /// Wakes the worker (a webhook was stored, a subscription became due).
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// Whether a delivery's `tosspayments-webhook-signature` is Toss's (false without a
    /// security key configured).
    pub fn signed_by_toss(&self, body: &[u8], time: &str, signature: &str) -> bool {
        self.inner
            .settings
            .security_key
            .as_ref()
            .is_some_and(|key| super::toss::signature_matches(key, body, time, signature))
    }

    /// Stores a Toss webhook delivery once (`false`: a duplicate, or not one to keep).
    pub async fn receive_webhook(&self, payload: serde_json::Value) -> Result<bool, BillingError> {
        let Some(key) = crate::webhook::toss_dedupe_key(&payload) else {
            return Ok(false);
        };
        let kind = payload["eventType"]
            .as_str()
            .unwrap_or("UNKNOWN")
            .to_owned();
        let stored = self
            .inner
            .webhooks
            .store("toss", &kind, &key, payload)
            .await?;
        if stored.is_some() {
            self.wake();
        }
        Ok(stored.is_some())
    }

    /// Verifies and applies every stored webhook not yet processed. Returns how many.
    pub async fn process_webhooks(&self) -> Result<usize, BillingError> {
        let pending = self.inner.webhooks.pending(50).await?;
        let n = pending.len();
        for w in pending {
            let verdict = self.verify_webhook(&w.payload).await;
            if let Ok(crate::webhook::Verdict::Rejected(why)) = &verdict {
                tracing::warn!(webhook = %w.id, why, "billing: a payment webhook did not verify; ignored");
            }
            self.inner.webhooks.finish(w.id, verdict).await?;
        }
        Ok(n)
    }

    /// A `PAYMENT_STATUS_CHANGED` delivery, believed only once Toss says the same: the payment
    /// fetched again must match its order id, amount and status, and be an order of Umbra's.
    /// A refund (made in Toss's console, or by the operator) marks the attempt and is announced.
    async fn verify_webhook(
        &self,
        payload: &serde_json::Value,
    ) -> Result<crate::webhook::Verdict, String> {
        use crate::webhook::Verdict;
        let (key, order, status, amount) = match crate::webhook::payment_claim(payload) {
            Ok(claim) => claim,
            Err(why) => return Ok(Verdict::Rejected(why.into())),
        };
        let fetched = match self.inner.toss.payment(key).await {
            Ok(p) => p,
            Err(e) if e.is_transient() => return Err(e.to_string()),
            Err(e) => return Ok(Verdict::Rejected(format!("Toss does not know it: {e}"))),
        };
        if fetched.order_id != order || fetched.total_amount != amount || fetched.status != status {
            return Ok(Verdict::Rejected(
                "it does not match the payment Toss reports".into(),
            ));
        }
        let attempt = persistence::attempt_by_order(&self.inner.pool, order)
            .await
            .map_err(|e| e.to_string())?;
        let Some((subscription, attempt_status, _, recorded_balance)) = attempt else {
            return Ok(Verdict::Rejected("not an order of this Umbra".into()));
        };
        // A paid order still pending here is settled by the worker with its order id when the
        // charge is retried: the charge's own answer is the truth, a webhook only a second
        // signal (acting on it here could race the charge being recorded). A refund not yet
        // recorded (made in Toss's console) is recorded and announced.
        let refund = matches!(fetched.status.as_str(), "CANCELED" | "PARTIAL_CANCELED")
            && matches!(attempt_status.as_str(), "done" | "cancelled")
            && recorded_balance != Some(fetched.balance_amount);
        if refund {
            self.record_refund(subscription, order, &fetched, None)
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok(Verdict::Processed)
    }

    /// Records a refund and announces it (`payment.refunded`), in one transaction.
    async fn record_refund(
        &self,
        subscription: Uuid,
        order: &str,
        payment: &super::toss::Payment,
        operator: Option<u64>,
    ) -> Result<(), BillingError> {
        let tx = Tx::begin(&self.inner.pool).await?;
        let fresh = persistence::record_refund(
            &mut **tx.lock().await,
            order,
            payment.status == "CANCELED",
            &payment.raw,
        )
        .await?;
        if !fresh {
            // Recorded already (the operator's request and Toss's webhook tell the same refund).
            return Ok(());
        }
        let mut payload = json!({
            "subscription_id": subscription,
            "order_id": order,
            "payment_key": payment.payment_key,
            "refunded_krw": payment.total_amount - payment.balance_amount,
            "status": payment.status,
        });
        if let Some(op) = operator {
            payload["actor_discord_id"] = json!(op.to_string());
        }
        outbox::append(
            &tx,
            NewEvent::new(
                events::PAYMENT_REFUNDED,
                "subscription",
                subscription.to_string(),
                payload,
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// An operator's refund of the payment of `order_id`: all that is left of it, or `amount`.
    /// `request` identifies this refund (the form's nonce): sending it again (a double click, a
    /// retry) refunds once.
    pub async fn refund(
        &self,
        order_id: &str,
        amount: Option<i64>,
        reason: &str,
        request: &str,
        operator: u64,
    ) -> Result<super::toss::Payment, BillingError> {
        let Some((subscription, status, Some(payment_key), _)) =
            persistence::attempt_by_order(&self.inner.pool, order_id).await?
        else {
            return Err(BillingError::UnknownOrder(order_id.to_owned()));
        };
        if status != "done" {
            return Err(BillingError::UnknownOrder(order_id.to_owned()));
        }
        let request: String = request
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .take(64)
            .collect();
        if request.len() < 8 {
            return Err(BillingError::UnknownOrder(order_id.to_owned()));
        }
        let request = format!("{order_id}-{request}");
        let refunded = self
            .inner
            .toss
            .cancel(&payment_key, reason, amount, &request)
            .await
            .map_err(BillingError::Toss)?;
        self.record_refund(subscription, order_id, &refunded, Some(operator))
            .await?;
        Ok(refunded)
    }

    /// Subscriptions whose renewal is failing (the operator page).
    pub async fn failing(&self, limit: i64) -> Result<Vec<persistence::Failing>, BillingError> {
        Ok(persistence::failing(&self.inner.pool, limit).await?)
    }

    /// One pass: every due subscription (up to the batch size) charged or ended.
    pub async fn renew_due(&self) -> Result<usize, BillingError> {
        let leases = persistence::claim(
            &self.inner.pool,
            &self.inner.owner,
            self.inner.settings.lease,
            self.inner.settings.batch,
        )
        .await?;
        let n = leases.len();
        // A few at a time: each waits mostly on Toss.
        use futures::StreamExt as _;
        futures::stream::iter(leases)
            .for_each_concurrent(self.inner.settings.concurrency, |lease| async move {
                if let Err(e) = self.process(lease).await {
                    tracing::warn!(subscription = %lease.id, error = %e, "billing: a renewal failed");
                }
            })
            .await;
        Ok(n)
    }

    /// Charges `amount` for `order_id` on the subscription's card (a missing card is a decline).
    async fn charge(
        &self,
        subscription: Uuid,
        order_id: String,
        order_name: String,
        amount: i64,
    ) -> Result<Charge, BillingError> {
        let inner = &self.inner;
        let Some(key) = persistence::key_of_subscription(&inner.pool, subscription).await? else {
            return Ok(Charge::Declined(TossError::Refused {
                status: 404,
                code: "NOT_FOUND_BILLING".into(),
                message: "no card is registered".into(),
            }));
        };
        let plain = inner.keyring.open_column(
            key.id,
            KEY_COLUMN,
            &Sealed {
                key_id: key.key_id.clone(),
                bytes: key.sealed.clone(),
            },
        )?;
        let billing_key = Secret::new(String::from_utf8_lossy(&plain).into_owned());
        let order = Order {
            customer_key: key.customer_key.to_string(),
            order_id,
            order_name,
            amount,
        };
        Ok(inner.toss.charge(&billing_key, &order).await)
    }

    /// Changes the guild's plan: a dearer plan at once, the rest of the period charged pro rata
    /// (`billing::model::prorated`); a cheaper one (or one at the same price) from the period's
    /// end, with nothing refunded; the current plan again takes a scheduled change back.
    pub async fn change_plan(
        &self,
        guild: u64,
        plan_code: &str,
    ) -> Result<PlanChange, BillingError> {
        let inner = &self.inner;
        let plan = inner.plans.plan(plan_code).await?;
        if plan.price_krw <= 0 || plan.billing_period_days.is_none() {
            return Err(BillingError::NotForSale(plan_code.to_owned()));
        }
        let record = inner
            .guilds
            .guild(guild)
            .await?
            .ok_or(BillingError::UnknownGuild(guild))?;
        let sub = persistence::of_guild(&inner.pool, record.id)
            .await?
            .filter(|s| matches!(s.status, Status::Active | Status::PastDue))
            .ok_or(BillingError::NoSubscription)?;
        if sub.status == Status::PastDue {
            return Err(BillingError::PastDue);
        }
        if plan.code == sub.plan_code {
            if sub.next_plan.is_none() {
                return Err(BillingError::SamePlan);
            }
            if !persistence::schedule_plan(&inner.pool, record.id, None).await? {
                return Err(BillingError::Busy);
            }
            return Ok(PlanChange::Kept);
        }
        if plan.price_krw <= sub.price_krw {
            if !persistence::schedule_plan(&inner.pool, record.id, Some(plan.id)).await? {
                return Err(BillingError::Busy);
            }
            return Ok(PlanChange::Scheduled {
                at: sub.current_period_end,
            });
        }
        let now = Utc::now();
        let amount = model::prorated(
            sub.price_krw,
            plan.price_krw,
            sub.current_period_start,
            sub.current_period_end,
            now,
        );
        let Some(lease) =
            persistence::take(&inner.pool, record.id, &inner.owner, inner.settings.lease).await?
        else {
            return Err(BillingError::Busy);
        };
        if amount < model::MIN_CHARGE_KRW {
            // Too little of the period is left to charge: the plan changes for free.
            let tx = Tx::begin(&inner.pool).await?;
            let held =
                persistence::begin_free_upgrade(&mut **tx.lock().await, lease, plan.id).await?;
            if !held {
                return Err(BillingError::Busy);
            }
            let changed = Subscription {
                plan_code: plan.code.clone(),
                price_krw: plan.price_krw,
                ..sub.clone()
            };
            let until =
                sub.current_period_end + TimeDelta::days(i64::from(inner.settings.grace_days));
            outbox::append(
                &tx,
                sub_event(
                    &changed,
                    record.discord_id,
                    record.owner_discord_id,
                    events::SUBSCRIPTION_CHANGED,
                    json!({ "license_until": until, "charged_krw": 0 }),
                ),
            )
            .await?;
            persistence::settle(
                &mut **tx.lock().await,
                lease,
                Status::Active,
                None,
                Some(sub.current_period_end),
                sub.failed_attempts,
            )
            .await?;
            tx.commit().await?;
            return Ok(PlanChange::Upgraded { amount: 0 });
        }
        {
            let mut tx = inner.pool.begin().await?;
            if persistence::begin_upgrade(&mut tx, lease, plan.id, amount, now)
                .await?
                .is_none()
            {
                return Err(BillingError::Busy);
            }
            tx.commit().await?;
        }
        match self.process(lease).await? {
            Charged::Paid { .. } => Ok(PlanChange::Upgraded { amount }),
            other => Ok(PlanChange::NotUpgraded(other)),
        }
    }

    /// Settles an upgrade's pro-rated charge (`up`): paid -> the plan changes now
    /// (`subscription.changed`, `payment.succeeded`); declined -> the change is dropped and the
    /// plan stays; unknown -> tried again later with the same order.
    async fn settle_upgrade(
        &self,
        lease: Lease,
        sub: &Subscription,
        (guild_id, owner_id): (u64, u64),
        up: persistence::PendingUpgrade,
    ) -> Result<Charged, BillingError> {
        let inner = &self.inner;
        let name = format!("Umbra {} (upgrade)", up.plan_code);
        let charge = self
            .charge(sub.id, up.order_id.clone(), name, up.amount)
            .await?;
        let tx = Tx::begin(&inner.pool).await?;
        if !persistence::holds(&mut **tx.lock().await, lease).await? {
            return Ok(Charged::LostLease);
        }
        let (outcome, next_charge) = match charge {
            Charge::Paid(p) => {
                persistence::finish_attempt(
                    &mut **tx.lock().await,
                    &up.order_id,
                    "done",
                    Some(&p.payment_key),
                    None,
                    Some(&p.raw),
                )
                .await?;
                persistence::switch_plan(&mut **tx.lock().await, sub.id).await?;
                let changed = Subscription {
                    plan_code: up.plan_code.clone(),
                    price_krw: up.plan_price,
                    ..sub.clone()
                };
                let until =
                    sub.current_period_end + TimeDelta::days(i64::from(inner.settings.grace_days));
                let paid = json!({
                    "payment_key": p.payment_key,
                    "order_id": up.order_id,
                    "receipt_url": p.receipt_url,
                    "period_end": sub.current_period_end,
                    "license_until": until,
                    "kind": "upgrade",
                });
                let mut receipt = paid.clone();
                receipt["amount_krw"] = json!(up.amount);
                outbox::append(
                    &tx,
                    sub_event(
                        &changed,
                        guild_id,
                        owner_id,
                        events::PAYMENT_SUCCEEDED,
                        receipt,
                    ),
                )
                .await?;
                let mut change = paid;
                change["charged_krw"] = json!(up.amount);
                outbox::append(
                    &tx,
                    sub_event(
                        &changed,
                        guild_id,
                        owner_id,
                        events::SUBSCRIPTION_CHANGED,
                        change,
                    ),
                )
                .await?;
                (
                    Charged::Paid {
                        payment_key: p.payment_key,
                    },
                    Some(sub.current_period_end),
                )
            }
            Charge::Declined(e) => {
                let code = e.code().unwrap_or("UNKNOWN").to_owned();
                let message = match &e {
                    TossError::Refused { message, .. } => message.clone(),
                    TossError::Unreachable(m) => m.clone(),
                };
                persistence::finish_attempt(
                    &mut **tx.lock().await,
                    &up.order_id,
                    "failed",
                    None,
                    Some((&code, &message)),
                    None,
                )
                .await?;
                // The owner saw the decline where they asked; the plan simply stays (no
                // dunning, no DM about a renewal).
                persistence::clear_next_plan(&mut **tx.lock().await, sub.id).await?;
                (Charged::Declined { code }, Some(sub.current_period_end))
            }
            Charge::Unknown(e) => {
                tracing::warn!(subscription = %sub.id, error = %e, "billing: an upgrade charge's outcome is unknown; it will be settled by its order id");
                let at = Utc::now()
                    + TimeDelta::from_std(inner.settings.unknown_retry)
                        .unwrap_or(TimeDelta::minutes(5));
                (Charged::Pending, Some(at))
            }
        };
        persistence::settle(
            &mut **tx.lock().await,
            lease,
            sub.status,
            None,
            next_charge,
            sub.failed_attempts,
        )
        .await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// Charges (or ends) the subscription `lease` holds.
    async fn process(&self, lease: Lease) -> Result<Charged, BillingError> {
        let inner = &self.inner;
        let Some((mut sub, mut days)) = persistence::get(&inner.pool, lease.id).await? else {
            return Ok(Charged::LostLease);
        };
        let now = Utc::now();
        let guild = inner.guilds.guild_by_row(sub.guild_row).await?;
        let (guild_id, owner_id) = guild
            .as_ref()
            .map(|g| (g.discord_id, g.owner_discord_id))
            .unwrap_or_default();
        // An upgrade's charge is settled first (a crash may have left it).
        if let Some(up) = persistence::pending_upgrade(&inner.pool, sub.id).await? {
            return self
                .settle_upgrade(lease, &sub, (guild_id, owner_id), up)
                .await;
        }
        // Cancelled by its owner, or Umbra was removed from the server: it ends when its period
        // does (a server Umbra is no longer in is not charged for).
        let removed = guild
            .as_ref()
            .is_none_or(|g| g.status != crate::guild::GuildStatus::Active);
        if (sub.cancel_at_period_end || removed) && sub.current_period_end <= now {
            let tx = Tx::begin(&inner.pool).await?;
            let held = persistence::settle(
                &mut **tx.lock().await,
                lease,
                Status::Cancelled,
                None,
                None,
                sub.failed_attempts,
            )
            .await?;
            if !held {
                return Ok(Charged::LostLease);
            }
            let ended = sub_event(
                &sub,
                guild_id,
                owner_id,
                events::SUBSCRIPTION_CANCELED,
                json!({}),
            );
            outbox::append(&tx, ended).await?;
            tx.commit().await?;
            return Ok(Charged::Ended);
        }
        // The first charge pays the period the subscription started with; every later one
        // pays the period after the current one.
        let initial = !persistence::ever_paid(&inner.pool, sub.id).await?;
        let period_start = if initial {
            sub.current_period_start
        } else {
            sub.current_period_end
        };
        // The attempt is recorded before Toss is called; a plan change scheduled for the period's
        // end (a downgrade) takes effect with the first attempt of the new period, in the same
        // transaction (no charge is in flight when one is scheduled).
        let order_id = {
            let mut tx = inner.pool.begin().await?;
            if !persistence::holds(&mut tx, lease).await? {
                return Ok(Charged::LostLease);
            }
            if !initial
                && sub.next_plan.is_some()
                && let Some((code, price, d)) = persistence::switch_plan(&mut tx, sub.id).await?
            {
                sub.plan_code = code;
                sub.price_krw = price;
                days = d;
            }
            let (order_id, _) =
                persistence::attempt_for(&mut tx, sub.id, period_start, sub.price_krw).await?;
            tx.commit().await?;
            order_id
        };
        let period_end = period_start + TimeDelta::days(i64::from(days));
        let name = format!("Umbra {}", sub.plan_code);
        let charge = self
            .charge(sub.id, order_id.clone(), name, sub.price_krw)
            .await?;
        let event = |kind: &'static str, extra: serde_json::Value| {
            sub_event(&sub, guild_id, owner_id, kind, extra)
        };
        let tx = Tx::begin(&inner.pool).await?;
        if !persistence::holds(&mut **tx.lock().await, lease).await? {
            // The attempt stays pending: whoever holds the subscription now reconciles it.
            return Ok(Charged::LostLease);
        }
        let outcome = match charge {
            Charge::Paid(p) => {
                persistence::finish_attempt(
                    &mut **tx.lock().await,
                    &order_id,
                    "done",
                    Some(&p.payment_key),
                    None,
                    Some(&p.raw),
                )
                .await?;
                persistence::settle(
                    &mut **tx.lock().await,
                    lease,
                    Status::Active,
                    Some((period_start, period_end)),
                    Some(period_end),
                    0,
                )
                .await?;
                let paid = json!({
                    "payment_key": p.payment_key,
                    "order_id": order_id,
                    "receipt_url": p.receipt_url,
                    "period_end": period_end,
                    "license_until": period_end + TimeDelta::days(i64::from(inner.settings.grace_days)),
                });
                outbox::append(&tx, event(events::PAYMENT_SUCCEEDED, paid.clone())).await?;
                let kind = if initial {
                    events::SUBSCRIPTION_ACTIVATED
                } else {
                    events::SUBSCRIPTION_RENEWED
                };
                outbox::append(&tx, event(kind, paid)).await?;
                Charged::Paid {
                    payment_key: p.payment_key,
                }
            }
            Charge::Declined(e) => {
                let code = e.code().unwrap_or("UNKNOWN").to_owned();
                let message = match &e {
                    TossError::Refused { message, .. } => message.clone(),
                    TossError::Unreachable(m) => m.clone(),
                };
                persistence::finish_attempt(
                    &mut **tx.lock().await,
                    &order_id,
                    "failed",
                    None,
                    Some((&code, &message)),
                    None,
                )
                .await?;
                let failures = sub.failed_attempts + 1;
                let failed =
                    json!({ "order_id": order_id, "failure_code": code, "failures": failures });
                outbox::append(&tx, event(events::PAYMENT_FAILED, failed.clone())).await?;
                let never_paid = initial && sub.status == Status::Active;
                let retry = if never_paid {
                    None
                } else {
                    model::next_retry(
                        &inner.settings.dunning_days,
                        failures,
                        sub.current_period_end,
                    )
                };
                match retry {
                    Some(at) => {
                        persistence::settle(
                            &mut **tx.lock().await,
                            lease,
                            Status::PastDue,
                            None,
                            Some(at),
                            failures,
                        )
                        .await?;
                        if sub.status == Status::Active {
                            let due = json!({ "next_retry_at": at, "failure_code": code });
                            outbox::append(&tx, event(events::SUBSCRIPTION_PAST_DUE, due)).await?;
                        }
                    }
                    None => {
                        persistence::settle(
                            &mut **tx.lock().await,
                            lease,
                            Status::Expired,
                            None,
                            None,
                            failures,
                        )
                        .await?;
                        if !never_paid {
                            outbox::append(&tx, event(events::SUBSCRIPTION_EXPIRED, failed))
                                .await?;
                        }
                    }
                }
                Charged::Declined { code }
            }
            Charge::Unknown(e) => {
                tracing::warn!(subscription = %sub.id, error = %e, "billing: a charge's outcome is unknown; it will be settled by its order id");
                let at = now
                    + TimeDelta::from_std(inner.settings.unknown_retry)
                        .unwrap_or(TimeDelta::minutes(5));
                persistence::settle(
                    &mut **tx.lock().await,
                    lease,
                    sub.status,
                    None,
                    Some(at),
                    sub.failed_attempts,
                )
                .await?;
                Charged::Pending
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }
}
