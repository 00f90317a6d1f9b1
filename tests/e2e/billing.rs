//! Purpose: the billing core against the Toss emulator, with the real database and the real
//! outbox — a subscription's first charge and its license, renewals, cancellation at the
//! period's end, declines through dunning to expiry, a double subscribe, another customer's
//! key refused, the billing key sealed at rest, and a charge whose record was lost to a crash
//! reconciled by its order id without a second charge; plan changes — an upgrade charged pro
//! rata at once, a downgrade at the period's end, a declined upgrade, and an upgrade whose
//! charge was lost to a crash settled by its order.

use std::sync::Arc;
use std::time::Duration;

use toss_emulator::{Behaviour, CARD_DECLINED, TossConfig, TossEmulator};
use umbra::billing::toss::TossClient;
use umbra::billing::{BillingError, BillingService, BillingSettings, Charged, PlanChange, Status};
use umbra::config::Secret;
use umbra::db::crypto::Keyring;
use umbra::identity::UserReader;
use umbra::licensing::LicensingReader;
use uuid::Uuid;

use crate::support::world::TestWorld;

/// In a world that sells plans ([`crate::support::world::Builder::billing`]): the owner
/// registers `card` and subscribes the guild to Pro through Umbra's own billing service.
/// Returns the customerKey and the first payment's key.
pub async fn owner_pays_pro(world: &TestWorld, card: &str) -> (Uuid, String) {
    let data = world.data();
    let billing = data.billing.clone().expect("billing is on");
    let toss = world.toss.clone().expect("a Toss emulator");
    let owner = data
        .identity
        .user_row(world.owner_id())
        .await
        .unwrap()
        .expect("the owner is recorded");
    let customer = BillingService::new_customer_key();
    let auth = toss.issue_auth_key(&customer.to_string(), card);
    billing.register_card(owner, customer, &auth).await.unwrap();
    match billing
        .subscribe(owner, world.guild_id(), "pro")
        .await
        .unwrap()
    {
        Charged::Paid { payment_key } => (customer, payment_key),
        other => panic!("the first charge: {other:?}"),
    }
}

struct Billing {
    world: TestWorld,
    toss: TossEmulator,
    service: BillingService,
    owner_row: Uuid,
}

async fn billing() -> Billing {
    let world = TestWorld::start().await;
    let toss = TossEmulator::start(TossConfig::default()).await.unwrap();
    let data = world.data();
    let keyring = Arc::new(Keyring::parse(world.secrets.secret_key.as_ref().unwrap()).unwrap());
    let client = TossClient::new(
        &toss.base_url(),
        &Secret::new(toss.secret_key().to_owned()),
        Duration::from_secs(2),
    )
    .unwrap()
    .with_retries(3, Duration::from_millis(20));
    let service = BillingService::new(
        world.db.pool.clone(),
        keyring,
        client,
        Arc::new(data.licensing.clone()),
        Arc::new(data.guilds.clone()),
        BillingSettings::default(),
    );
    let owner_row = data
        .identity
        .user_row(world.owner_id())
        .await
        .unwrap()
        .expect("the owner is recorded when the guild is");
    Billing {
        world,
        toss,
        service,
        owner_row,
    }
}

impl Billing {
    async fn card(&self, user: Uuid, number: &str) -> Uuid {
        let customer = BillingService::new_customer_key();
        let auth = self.toss.issue_auth_key(&customer.to_string(), number);
        self.service
            .register_card(user, customer, &auth)
            .await
            .expect("the card is registered");
        customer
    }

    async fn plan(&self) -> (String, Option<chrono::DateTime<chrono::Utc>>) {
        let e = self
            .world
            .data()
            .licensing
            .entitlements(self.world.guild_id())
            .await
            .unwrap();
        (e.plan.code, e.license.and_then(|l| l.ends_at))
    }

    async fn wait_plan(&self, code: &str) -> Option<chrono::DateTime<chrono::Utc>> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let (now, until) = self.plan().await;
            if now == code {
                return until;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the plan stayed {now}, not {code}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Makes the guild's subscription due now; with `period_over`, as if its period had ended
    /// (what a cancellation at the period's end waits for).
    async fn due(&self, period_over: bool) {
        let sql = if period_over {
            "UPDATE billing.subscriptions SET next_charge_at = now() - interval '1 second', \
                    current_period_start = now() - interval '31 days', \
                    current_period_end = now() - interval '1 second' \
              WHERE status IN ('active', 'past_due')"
        } else {
            "UPDATE billing.subscriptions SET next_charge_at = now() - interval '1 second' \
              WHERE status IN ('active', 'past_due')"
        };
        sqlx::query(sql).execute(&self.world.db.pool).await.unwrap();
    }

    /// The active card: its customerKey and the billing key Toss issued for it.
    async fn active_card(&self) -> (Uuid, String) {
        let customer: Uuid = sqlx::query_scalar(
            "SELECT customer_key FROM billing.billing_keys WHERE status = 'active'",
        )
        .fetch_one(&self.world.db.pool)
        .await
        .unwrap();
        let key = self
            .toss
            .billing_keys_of(&customer.to_string())
            .pop()
            .unwrap();
        (customer, key)
    }

    /// A worker that charged `order` at Toss and died before recording the answer.
    async fn charged_by_a_dead_worker(
        &self,
        (customer, key): &(Uuid, String),
        order: &str,
        name: &str,
        amount: i64,
    ) {
        let dead = TossClient::new(
            &self.toss.base_url(),
            &Secret::new(self.toss.secret_key().to_owned()),
            Duration::from_secs(2),
        )
        .unwrap();
        let charged = dead
            .charge(
                &Secret::new(key.clone()),
                &umbra::billing::toss::Order {
                    customer_key: customer.to_string(),
                    order_id: order.to_owned(),
                    order_name: name.into(),
                    amount,
                },
            )
            .await;
        assert!(matches!(charged, umbra::billing::toss::Charge::Paid(_)));
    }

    /// Puts the live subscription halfway through a 30-day period.
    async fn halfway(&self) {
        sqlx::query(
            "UPDATE billing.subscriptions SET current_period_start = now() - interval '15 days', \
                    current_period_end = now() + interval '15 days', \
                    next_charge_at = now() + interval '15 days' \
              WHERE status IN ('active', 'past_due')",
        )
        .execute(&self.world.db.pool)
        .await
        .unwrap();
    }

    async fn status(&self) -> Status {
        self.service
            .subscription(self.world.guild_id())
            .await
            .unwrap()
            .expect("a subscription")
            .0
            .status
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_is_charged_once_its_license_follows_renewals_and_it_ends_when_cancelled() {
    let b = billing().await;
    let g = b.world.guild_id();
    assert_eq!(b.plan().await.0, "free");
    assert!(matches!(
        b.service.subscribe(b.owner_row, g, "pro").await,
        Err(BillingError::NoCard)
    ));
    b.card(b.owner_row, "4330123412341234").await;
    let sealed: Vec<u8> = sqlx::query_scalar(
        "SELECT billing_key_enc FROM billing.billing_keys WHERE status = 'active'",
    )
    .fetch_one(&b.world.db.pool)
    .await
    .unwrap();
    let issued = b.toss.billing_keys_of(
        &sqlx::query_scalar::<_, Uuid>("SELECT customer_key FROM billing.billing_keys")
            .fetch_one(&b.world.db.pool)
            .await
            .unwrap()
            .to_string(),
    );
    assert!(
        !String::from_utf8_lossy(&sealed).contains(&issued[0]),
        "the billing key is sealed at rest"
    );

    let first = b.service.subscribe(b.owner_row, g, "pro").await.unwrap();
    assert!(matches!(first, Charged::Paid { .. }), "{first:?}");
    let until = b.wait_plan("pro").await.expect("a paid license ends");
    assert_eq!(b.toss.payments().len(), 1);
    assert!(matches!(
        b.service.subscribe(b.owner_row, g, "max").await,
        Err(BillingError::AlreadySubscribed)
    ));
    assert_eq!(
        b.toss.payments().len(),
        1,
        "no charge for a refused second subscription"
    );
    assert_eq!(b.service.renew_due().await.unwrap(), 0, "nothing due yet");

    // The renewal comes due: the next period is paid, the license extended.
    b.due(false).await;
    assert_eq!(b.service.renew_due().await.unwrap(), 1);
    assert_eq!(b.toss.payments().len(), 2);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (code, later) = b.plan().await;
        if code == "pro" && later.is_some_and(|l| l > until) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the license was not extended"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (sub, attempts) = b.service.subscription(g).await.unwrap().unwrap();
    assert_eq!(sub.status, Status::Active);
    assert_eq!(attempts.len(), 2);
    assert!(
        attempts
            .iter()
            .all(|a| a.status == "done" && a.receipt_url.is_some())
    );
    assert!(sub.card.as_ref().is_some_and(|(_, n)| n.contains('*')));

    // Cancelled by the owner: nothing more is charged, and it ends with its period.
    assert!(b.service.cancel_at_period_end(g, true).await.unwrap());
    b.due(true).await;
    assert_eq!(b.service.renew_due().await.unwrap(), 1);
    assert_eq!(b.status().await, Status::Cancelled);
    assert_eq!(
        b.toss.payments().len(),
        2,
        "a cancelled subscription is not charged"
    );
    b.wait_plan("free").await;
    b.world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_renewal_goes_through_dunning_to_expiry_and_the_license_ends() {
    let b = billing().await;
    let g = b.world.guild_id();
    // A declined first charge: no subscription, no license.
    b.card(b.owner_row, CARD_DECLINED).await;
    let declined = b.service.subscribe(b.owner_row, g, "pro").await.unwrap();
    assert_eq!(
        declined,
        Charged::Declined {
            code: "REJECT_CARD_PAYMENT".into()
        }
    );
    assert_eq!(b.status().await, Status::Expired);
    assert_eq!(b.plan().await.0, "free");

    // A good card, then the card starts declining at renewal.
    let customer = b.card(b.owner_row, "4330123412341234").await;
    assert!(matches!(
        b.service.subscribe(b.owner_row, g, "pro").await.unwrap(),
        Charged::Paid { .. }
    ));
    b.wait_plan("pro").await;
    for key in b.toss.billing_keys_of(&customer.to_string()) {
        b.toss
            .script(&key, Behaviour::Decline("REJECT_CARD_PAYMENT".into()));
    }
    b.due(true).await;
    b.service.renew_due().await.unwrap();
    let (sub, _) = b.service.subscription(g).await.unwrap().unwrap();
    assert_eq!((sub.status, sub.failed_attempts), (Status::PastDue, 1));
    assert_eq!(
        sub.next_charge_at,
        Some(sub.current_period_end + chrono::TimeDelta::days(1)),
        "retried a day after it was due"
    );
    assert_eq!(
        b.plan().await.0,
        "pro",
        "the grace keeps the plan while dunning"
    );
    for failures in 2..=3 {
        b.due(false).await;
        b.service.renew_due().await.unwrap();
        let (sub, _) = b.service.subscription(g).await.unwrap().unwrap();
        assert_eq!(
            (sub.status, sub.failed_attempts),
            (Status::PastDue, failures)
        );
    }
    b.due(false).await;
    b.service.renew_due().await.unwrap();
    assert_eq!(b.status().await, Status::Expired);
    b.wait_plan("free").await;
    let failed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM billing.payment_attempts WHERE status = 'failed'")
            .fetch_one(&b.world.db.pool)
            .await
            .unwrap();
    assert_eq!(
        failed, 5,
        "the declined first charge and four renewal attempts"
    );
    assert_eq!(
        b.toss
            .payments()
            .iter()
            .filter(|p| p.status == "DONE")
            .count(),
        1
    );
    b.world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_subscribe_makes_one_subscription_and_another_customers_key_is_refused() {
    let b = billing().await;
    let g = b.world.guild_id();
    b.card(b.owner_row, "4330123412341234").await;
    let (one, two) = tokio::join!(
        b.service.subscribe(b.owner_row, g, "pro"),
        b.service.subscribe(b.owner_row, g, "pro")
    );
    let paid = [&one, &two]
        .iter()
        .filter(|r| matches!(r, Ok(Charged::Paid { .. })))
        .count();
    let refused = [&one, &two]
        .iter()
        .filter(|r| matches!(r, Err(BillingError::AlreadySubscribed)))
        .count();
    assert_eq!((paid, refused), (1, 1), "{one:?} {two:?}");
    assert_eq!(b.toss.payments().len(), 1);

    // An authKey minted for another customer: refused, nothing stored.
    let keys_before: i64 = sqlx::query_scalar("SELECT count(*) FROM billing.billing_keys")
        .fetch_one(&b.world.db.pool)
        .await
        .unwrap();
    let theirs = b
        .toss
        .issue_auth_key(&Uuid::new_v4().to_string(), "4330123412341234");
    let refused = b
        .service
        .register_card(b.owner_row, BillingService::new_customer_key(), &theirs)
        .await;
    assert!(
        matches!(refused, Err(BillingError::Toss(ref e)) if e.code() == Some("NOT_MATCHES_CUSTOMER_KEY")),
        "{refused:?}"
    );
    let keys_after: i64 = sqlx::query_scalar("SELECT count(*) FROM billing.billing_keys")
        .fetch_one(&b.world.db.pool)
        .await
        .unwrap();
    assert_eq!(keys_after, keys_before);
    b.world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_charge_whose_record_was_lost_in_a_crash_is_reconciled_by_its_order_id() {
    let b = billing().await;
    let g = b.world.guild_id();
    b.card(b.owner_row, "4330123412341234").await;
    assert!(matches!(
        b.service.subscribe(b.owner_row, g, "pro").await.unwrap(),
        Charged::Paid { .. }
    ));
    b.due(true).await;
    // A worker claimed the renewal, wrote its pending attempt, charged Toss, and died before
    // recording the answer: its lease is still on the row for a while.
    let (sub, period_start): (Uuid, chrono::DateTime<chrono::Utc>) = sqlx::query_as(
        "UPDATE billing.subscriptions SET lease_owner = 'dead-worker', \
                lease_until = now() + interval '1 hour', fencing = fencing + 1 \
          WHERE status = 'active' RETURNING id, current_period_end",
    )
    .fetch_one(&b.world.db.pool)
    .await
    .unwrap();
    let order = umbra::billing::model::order_id(sub, period_start, 1);
    sqlx::query(
        "INSERT INTO billing.payment_attempts \
           (id, subscription_id, order_id, idempotency_key, amount_krw, period_start, attempt_no) \
         VALUES ($1, $2, $3, $4, 4900, $5, 1)",
    )
    .bind(Uuid::now_v7())
    .bind(sub)
    .bind(&order)
    .bind(umbra::billing::toss::idempotency_key(&order))
    .bind(period_start)
    .execute(&b.world.db.pool)
    .await
    .unwrap();
    let card = b.active_card().await;
    b.charged_by_a_dead_worker(&card, &order, "Umbra pro", 4900)
        .await;
    assert_eq!(b.toss.payments().len(), 2);

    // Held by the dead worker: nobody touches it.
    assert_eq!(b.service.renew_due().await.unwrap(), 0);
    // Its lease runs out: the next worker charges the same order and learns it was paid.
    sqlx::query("UPDATE billing.subscriptions SET lease_until = now() - interval '1 second'")
        .execute(&b.world.db.pool)
        .await
        .unwrap();
    assert_eq!(b.service.renew_due().await.unwrap(), 1);
    assert_eq!(b.toss.payments().len(), 2, "never charged twice");
    let (done, pending): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE status = 'done'), count(*) FILTER (WHERE status = 'pending') \
           FROM billing.payment_attempts",
    )
    .fetch_one(&b.world.db.pool)
    .await
    .unwrap();
    assert_eq!((done, pending), (2, 0));
    let (s, _) = b.service.subscription(g).await.unwrap().unwrap();
    assert!(
        s.current_period_start >= period_start,
        "the period moved on"
    );
    b.world.finish().await;
}

mod webhooks {
    //! Payment webhooks through Umbra's HTTP server: stored once, verified against Toss, acted
    //! on only when they match.

    use std::time::Duration;

    use serde_json::json;
    use umbra::billing::toss::TossClient;
    use umbra::config::Secret;

    use crate::support::world::TestWorld;

    async fn webhook_rows(world: &TestWorld, status: &str) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM webhook.events WHERE status = $1")
            .bind(status)
            .fetch_one(&world.db.pool)
            .await
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_webhook_delivered_five_times_is_stored_once_and_forged_ones_change_nothing() {
        let world = TestWorld::builder().billing().start().await;
        let toss = world.toss.clone().unwrap();
        toss.set_webhook_url(Some(format!("{}/webhooks/toss", world.web_base())));
        let (_, payment_key) = super::owner_pays_pro(&world, "4330123412341234").await;
        world
            .eventually("the DONE webhook is processed", || async {
                webhook_rows(&world, "processed").await == 1
            })
            .await;
        // The owner's receipt, by DM.
        world
            .eventually("the owner gets a receipt", || async {
                world
                    .emu
                    .dm_messages_to(world.owner_id())
                    .iter()
                    .any(|m| m.text().contains("Payment received") && m.text().contains("4900"))
            })
            .await;
        toss.redeliver(&payment_key, 5);
        world
            .eventually("the five repeats were delivered", || async {
                toss.deliveries().len() >= 6
            })
            .await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let all: i64 = sqlx::query_scalar("SELECT count(*) FROM webhook.events")
            .fetch_one(&world.db.pool)
            .await
            .unwrap();
        let keys: Vec<(String, String)> =
            sqlx::query_as("SELECT dedupe_key, status FROM webhook.events")
                .fetch_all(&world.db.pool)
                .await
                .unwrap();
        assert_eq!(all, 1, "stored once: {keys:?}");

        // Forged deliveries: an unknown payment, and a real one with another amount.
        let http = reqwest::Client::new();
        let url = format!("{}/webhooks/toss", world.web_base());
        let real = toss.payments().pop().unwrap();
        for data in [
            json!({"paymentKey": "tbill_forged", "orderId": "umb-forged-1", "status": "DONE", "totalAmount": 4900, "balanceAmount": 4900}),
            json!({"paymentKey": real.payment_key, "orderId": real.order_id, "status": "DONE", "totalAmount": 1, "balanceAmount": 1}),
        ] {
            let answer = http
                .post(&url)
                .json(&json!({"eventType": "PAYMENT_STATUS_CHANGED", "createdAt": "2026-12-06T00:00:00+09:00", "data": data}))
                .send()
                .await
                .unwrap();
            assert_eq!(answer.status(), 200, "answered at once");
        }
        world
            .eventually("the forged webhooks are rejected", || async {
                webhook_rows(&world, "rejected").await == 2
            })
            .await;
        let malformed = http.post(&url).body("{not json").send().await.unwrap();
        assert_eq!(malformed.status(), 400);
        let (done, refunds): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM billing.payment_attempts WHERE status = 'done'), \
                    (SELECT count(*) FROM events.outbox WHERE event_type = 'payment.refunded')",
        )
        .fetch_one(&world.db.pool)
        .await
        .unwrap();
        assert_eq!((done, refunds), (1, 0), "nothing changed");

        // A refund made at Toss arrives as a webhook: the attempt is marked, the refund told.
        let client = TossClient::new(
            &toss.base_url(),
            &Secret::new(toss.secret_key().to_owned()),
            Duration::from_secs(2),
        )
        .unwrap();
        client
            .cancel(&payment_key, "goodwill", None, "refund-1")
            .await
            .expect("refunded");
        world
            .eventually("the refund is recorded", || async {
                let cancelled: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM billing.payment_attempts WHERE status = 'cancelled'",
                )
                .fetch_one(&world.db.pool)
                .await
                .unwrap();
                cancelled == 1
            })
            .await;
        world.finish().await;
    }
}

mod signed_webhooks {
    //! The deliveries Toss signs (payouts, sellers): verified with the security key.

    use crate::support::world::TestWorld;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_signed_delivery_must_carry_tosss_signature_and_a_forged_one_stores_nothing() {
        let world = TestWorld::builder().billing().start().await;
        let http = reqwest::Client::new();
        let url = format!("{}/webhooks/toss", world.web_base());
        // Signed with the world's security key (`TOSS_SECURITY_KEY`), computed independently:
        // base64(HMAC-SHA256(key, body + ":" + time)).
        let body = r#"{"eventType":"payout.changed","createdAt":"2026-12-06T00:00:00.000000","data":{"payoutId":"FPA_1","status":"COMPLETED"}}"#;
        let time = "2026-12-06T00:00:00.000+09:00";
        let good = "v1:h8++B9kxIZCYkiBljxT1FD+fGKqeR8ALc//PyLI7TFI=";
        let send = |signature: Option<&'static str>, time: &'static str, body: &'static str| {
            let mut request = http
                .post(&url)
                .header("content-type", "application/json")
                .header("tosspayments-webhook-transmission-time", time)
                .body(body);
            if let Some(s) = signature {
                request = request.header("tosspayments-webhook-signature", s);
            }
            async move { request.send().await.unwrap().status().as_u16() }
        };
        assert_eq!(send(Some(good), time, body).await, 200, "Toss's own");
        assert_eq!(send(None, time, body).await, 401, "unsigned");
        assert_eq!(
            send(Some(good), "2026-12-06T00:00:01.000+09:00", body).await,
            401,
            "replayed with another time"
        );
        assert_eq!(
            send(
                Some("v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
                time,
                body
            )
            .await,
            401,
            "forged"
        );
        // A payment delivery with a signature that does not verify is refused too.
        let payment = r#"{"eventType":"PAYMENT_STATUS_CHANGED","createdAt":"2026-12-06T00:00:00","data":{"paymentKey":"tbill_x","orderId":"umb-x-1","status":"DONE","totalAmount":4900,"balanceAmount":4900}}"#;
        assert_eq!(send(Some(good), time, payment).await, 401);
        let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM webhook.events")
            .fetch_one(&world.db.pool)
            .await
            .unwrap();
        assert_eq!(stored, 0, "nothing stored");
        world.finish().await;
    }
}

mod commands {
    //! `/billing` in Discord: the owner's, localized, honest when plans are not sold.

    use serde_json::json;

    use crate::support::world::TestWorld;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_owner_sees_plans_subscribes_through_the_web_and_cancels_from_discord() {
        let world = TestWorld::builder().billing().start().await;
        let owner = world.owner_id();
        let plans = world.command(owner, "billing plans", json!({})).await;
        assert!(
            plans.text.contains("**Pro** — ₩4,900 every 30 days"),
            "{}",
            plans.text
        );
        let refused = world
            .command(world.fixture.rogue_admin_id, "billing status", json!({}))
            .await;
        assert!(refused.text.contains("owner"), "{}", refused.text);
        let link = world
            .command(owner, "billing subscribe", json!({"plan": "pro"}))
            .await;
        assert!(
            link.text
                .contains(&format!("{}/billing/start/", world.web_base())),
            "a one-time link to the card page: {}",
            link.text
        );
        let card = world.command(owner, "billing card", json!({})).await;
        assert!(card.text.contains("Change the card"), "{}", card.text);
        let none = world.command(owner, "billing status", json!({})).await;
        assert!(none.text.contains("No subscription"), "{}", none.text);

        super::owner_pays_pro(&world, "4330123412341234").await;
        let billing = world.data().billing.clone().unwrap();
        let status = world.command(owner, "billing status", json!({})).await;
        assert!(
            status.text.contains("subscription: active"),
            "{}",
            status.text
        );
        assert!(
            status.text.contains("****"),
            "the masked card: {}",
            status.text
        );
        assert!(status.text.contains("₩4,900"), "{}", status.text);

        // Plan changes: not the rogue admin's; up at once, down at the period's end.
        let rogue = world
            .command(
                world.fixture.rogue_admin_id,
                "billing change",
                json!({"plan": "max"}),
            )
            .await;
        assert!(rogue.text.contains("owner"), "{}", rogue.text);
        let up = world
            .command(owner, "billing change", json!({"plan": "max"}))
            .await;
        assert!(up.text.contains("Upgraded to **Max**"), "{}", up.text);
        assert!(up.text.contains("was charged"), "{}", up.text);
        let down = world
            .command(owner, "billing change", json!({"plan": "pro"}))
            .await;
        assert!(down.text.contains("when this period ends"), "{}", down.text);
        let status = world.command(owner, "billing status", json!({})).await;
        assert!(
            status.text.contains("Changes to **pro**"),
            "{}",
            status.text
        );
        let kept = world
            .command(owner, "billing change", json!({"plan": "max"}))
            .await;
        assert!(kept.text.contains("taken back"), "{}", kept.text);
        let cancelled = world.command(owner, "billing cancel", json!({})).await;
        assert!(
            cancelled.text.contains("nothing more is charged"),
            "{}",
            cancelled.text
        );
        let status = world.command(owner, "billing status", json!({})).await;
        assert!(status.text.contains("no further charge"), "{}", status.text);
        let resumed = world.command(owner, "billing resume", json!({})).await;
        assert!(resumed.text.contains("continues"), "{}", resumed.text);

        // In a DM: the server option names it; only its owner gets an answer about it.
        let g = world.guild_id().to_string();
        let dm = world
            .command_with(owner, None, "billing status", json!({"server": g}), "en-US")
            .await;
        assert!(dm.text.contains("subscription: active"), "{}", dm.text);
        let which = world
            .command_with(owner, None, "billing cancel", json!({}), "en-US")
            .await;
        assert!(which.text.contains("say which server"), "{}", which.text);
        let stranger = world
            .command_with(
                world.fixture.rogue_admin_id,
                None,
                "billing cancel",
                json!({"server": g}),
                "en-US",
            )
            .await;
        assert!(stranger.text.contains("owner"), "{}", stranger.text);
        let (sub, _) = billing
            .subscription(world.guild_id())
            .await
            .unwrap()
            .unwrap();
        assert!(!sub.cancel_at_period_end, "the stranger changed nothing");
        let cancelled = world
            .command_with(owner, None, "billing cancel", json!({"server": g}), "en-US")
            .await;
        assert!(
            cancelled.text.contains("nothing more is charged"),
            "{}",
            cancelled.text
        );
        world.finish().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn without_billing_the_commands_say_plans_are_not_sold() {
        let world = TestWorld::start().await;
        let reply = world
            .command(
                world.owner_id(),
                "billing subscribe",
                json!({"plan": "pro"}),
            )
            .await;
        assert!(reply.text.contains("does not sell plans"), "{}", reply.text);
        let korean = world
            .command_with(
                world.owner_id(),
                Some(world.guild_id()),
                "billing status",
                json!({}),
                "ko",
            )
            .await;
        assert!(korean.text.contains("판매하지 않습니다"), "{}", korean.text);
        world.finish().await;
    }
}

mod logs {
    //! A whole billing flow logged at debug level, searched for secrets.

    use crate::support::logs::Capture;
    use crate::support::world::TestWorld;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_whole_billing_flow_logs_no_secret_key_billing_key_or_card_number() {
        let capture = Capture::install(tracing_subscriber::EnvFilter::new("debug"));
        let world = TestWorld::builder().billing().start().await;
        let toss = world.toss.clone().unwrap();
        toss.set_webhook_url(Some(format!("{}/webhooks/toss", world.web_base())));
        let data = world.data();
        let billing = data.billing.clone().unwrap();
        let card = "4330987654321234";
        let (customer, _) = super::owner_pays_pro(&world, card).await;
        sqlx::query(
            "UPDATE billing.subscriptions SET next_charge_at = now() - interval '1 second'",
        )
        .execute(&world.db.pool)
        .await
        .unwrap();
        billing.renew_due().await.unwrap();
        world
            .eventually("the webhooks are processed", || async {
                let n: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM webhook.events WHERE status = 'processed'",
                )
                .fetch_one(&world.db.pool)
                .await
                .unwrap();
                n == 2
            })
            .await;
        let billing_key = toss.billing_keys_of(&customer.to_string()).pop().unwrap();
        let secret = toss.secret_key().to_owned();
        world.finish().await;
        let log = capture.text();
        assert!(
            log.len() > 10_000,
            "the flow was logged ({} bytes)",
            log.len()
        );
        for (what, needle) in [
            ("the secret key", secret.as_str()),
            ("the billing key", billing_key.as_str()),
            ("the card number", card),
        ] {
            assert!(!log.contains(needle), "{what} is in the log");
        }
    }
}

mod operator {
    //! The operator's refunds and failing subscriptions.

    use crate::support::web::login;
    use crate::support::world::TestWorld;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_operator_refunds_once_despite_a_double_click_and_the_webhook_adds_nothing() {
        let world = TestWorld::builder().billing().start().await;
        let toss = world.toss.clone().unwrap();
        toss.set_webhook_url(Some(format!("{}/webhooks/toss", world.web_base())));
        super::owner_pays_pro(&world, "4330123412341234").await;
        let order = toss.payments()[0].order_id.clone();

        let operator = login(&world, world.operator_id).await;
        let page = operator.get("/operator").await;
        assert!(page.body.contains("id=\"refund\""), "{}", page.body);
        let csrf = page.csrf();
        let marker = "name=\"request\" value=\"";
        let at = page.body.find(marker).expect("the form's nonce") + marker.len();
        let request: String = page.body[at..].chars().take_while(|c| *c != '"').collect();
        let form = [
            ("csrf", csrf.as_str()),
            ("request", request.as_str()),
            ("action", "refund"),
            ("order", order.as_str()),
            ("amount", "900"),
            ("reason", "goodwill"),
        ];
        let (one, two) = tokio::join!(
            operator.post("/operator", &form),
            operator.post("/operator", &form)
        );
        assert_eq!(
            (one.status, two.status),
            (303, 303),
            "{} {}",
            one.body,
            two.body
        );
        let p = toss.payment_by_order(&order).unwrap();
        assert_eq!(
            (p.status.as_str(), p.balance_amount),
            ("PARTIAL_CANCELED", 4000),
            "refunded once"
        );
        let unknown = operator
            .post(
                "/operator",
                &[
                    ("csrf", &csrf),
                    ("action", "refund"),
                    ("order", "umb-nothing-1"),
                    ("request", "abcdefgh12"),
                ],
            )
            .await;
        assert_eq!(unknown.status, 400);

        world
            .eventually("the refund's webhook is processed", || async {
                let n: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM webhook.events WHERE status = 'processed' \
                      AND dedupe_key LIKE '%PARTIAL_CANCELED%'",
                )
                .fetch_one(&world.db.pool)
                .await
                .unwrap();
                n == 1
            })
            .await;
        let refunds: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM events.outbox WHERE event_type = 'payment.refunded'",
        )
        .fetch_one(&world.db.pool)
        .await
        .unwrap();
        assert_eq!(
            refunds, 1,
            "the refund is announced once (form twice, webhook once)"
        );
        world.finish().await;
    }
}

mod crash {
    //! The real `umbra` binary killed with SIGKILL after Toss charged a renewal and before the
    //! answer was recorded; after a restart the renewal is settled by its order id, never
    //! charged twice.

    use std::process::Child;
    use std::sync::Arc;
    use std::time::Duration;

    use toss_emulator::{Behaviour, TossConfig, TossEmulator};
    use umbra::billing::toss::TossClient;
    use umbra::billing::{BillingService, BillingSettings, Charged};
    use umbra::config::Secret;
    use umbra::db::crypto::Keyring;

    use crate::support::binary::{SECRET_KEY as KEY, eventually};
    use crate::support::world::TestWorld;

    fn umbra(world: &TestWorld, toss: &TossEmulator, dir: &std::path::Path) -> Child {
        crate::support::binary::spawn(
            world,
            dir,
            "umbra.log",
            &[
                ("DISCORD_CLIENT_SECRET", "web-login-secret".into()),
                ("TOSS_SECRET_KEY", toss.secret_key().into()),
                ("UMBRA_BILLING_PROVIDER", "toss".into()),
                ("UMBRA_BILLING_TOSS_CLIENT_KEY", toss.client_key().into()),
                ("UMBRA_BILLING_TOSS_API_URL", toss.base_url()),
                ("UMBRA_BILLING_TOSS_SDK_URL", toss.sdk_url()),
                ("UMBRA_BILLING_RENEWAL_POLL_SECONDS", "1".into()),
                ("UMBRA_BILLING_LEASE_SECONDS", "2".into()),
                ("UMBRA_LICENSING_DEFAULT_PLAN", "free".into()),
            ],
        )
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_renewal_charged_by_a_killed_process_is_settled_after_restart_without_a_second_charge()
     {
        let world = TestWorld::builder().without_bot().start().await;
        let toss = TossEmulator::start(TossConfig::default()).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut first = umbra(&world, &toss, dir.path());
        let pool = world.db.pool.clone();
        let guild = world.guild_id();
        eventually(
            "the guild is recorded",
            || {
                let pool = pool.clone();
                async move {
                    sqlx::query_scalar::<_, i64>(
                        "SELECT count(*) FROM guild.guilds WHERE discord_guild_id = $1",
                    )
                    .bind(guild as i64)
                    .fetch_one(&pool)
                    .await
                    .is_ok_and(|n| n == 1)
                }
            },
            dir.path(),
        )
        .await;

        // The owner subscribes (the first charge made here, in the test's own process).
        let here = BillingService::new(
            pool.clone(),
            Arc::new(Keyring::parse(&Secret::new(KEY.into())).unwrap()),
            TossClient::new(
                &toss.base_url(),
                &Secret::new(toss.secret_key().into()),
                Duration::from_secs(2),
            )
            .unwrap(),
            Arc::new(umbra::licensing::LicensingService::new(
                sea_orm::SqlxPostgresConnector::from_sqlx_postgres_pool(pool.clone()),
                Arc::new(umbra::guild::GuildService::new(
                    sea_orm::SqlxPostgresConnector::from_sqlx_postgres_pool(pool.clone()),
                    Arc::new(umbra::identity::IdentityService::new(
                        sea_orm::SqlxPostgresConnector::from_sqlx_postgres_pool(pool.clone()),
                    )),
                    30,
                )),
                "free",
            )),
            Arc::new(umbra::guild::GuildService::new(
                sea_orm::SqlxPostgresConnector::from_sqlx_postgres_pool(pool.clone()),
                Arc::new(umbra::identity::IdentityService::new(
                    sea_orm::SqlxPostgresConnector::from_sqlx_postgres_pool(pool.clone()),
                )),
                30,
            )),
            BillingSettings::default(),
        );
        let owner: uuid::Uuid =
            sqlx::query_scalar("SELECT id FROM identity.users WHERE discord_user_id = $1")
                .bind(world.owner_id() as i64)
                .fetch_one(&pool)
                .await
                .unwrap();
        let customer = BillingService::new_customer_key();
        let auth = toss.issue_auth_key(&customer.to_string(), "4330123412341234");
        here.register_card(owner, customer, &auth).await.unwrap();
        assert!(matches!(
            here.subscribe(owner, guild, "pro").await.unwrap(),
            Charged::Paid { .. }
        ));

        // The renewal comes due; Toss charges it but answers late: SIGKILL meanwhile.
        let key = toss.billing_keys_of(&customer.to_string()).pop().unwrap();
        toss.script(&key, Behaviour::AnswerLate(Duration::from_secs(3)));
        sqlx::query(
            "UPDATE billing.subscriptions SET next_charge_at = now() - interval '1 second'",
        )
        .execute(&pool)
        .await
        .unwrap();
        let toss_watch = toss.clone();
        eventually(
            "Toss charged the renewal",
            || {
                let toss = toss_watch.clone();
                async move { toss.payments().len() == 2 }
            },
            dir.path(),
        )
        .await;
        first.kill().expect("SIGKILL");
        let _ = first.wait();
        let renewal = toss.payments()[1].order_id.clone();
        let pending: String =
            sqlx::query_scalar("SELECT status FROM billing.payment_attempts WHERE order_id = $1")
                .bind(&renewal)
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(pending, "pending", "killed before the answer was recorded");

        // Restarted: the renewal is settled by its order id, not charged again.
        let mut second = umbra(&world, &toss, dir.path());
        eventually(
            "the renewal is recorded",
            || {
                let pool = pool.clone();
                let order = renewal.clone();
                async move {
                    sqlx::query_scalar::<_, String>(
                        "SELECT status FROM billing.payment_attempts WHERE order_id = $1",
                    )
                    .bind(order)
                    .fetch_one(&pool)
                    .await
                    .is_ok_and(|s| s == "done")
                }
            },
            dir.path(),
        )
        .await;
        let _ = second.kill();
        let _ = second.wait();
        let done = toss
            .payments()
            .iter()
            .filter(|p| p.status == "DONE")
            .count();
        assert_eq!(done, 2, "the first period and the renewal, each once");
        let attempts: i64 = sqlx::query_scalar("SELECT count(*) FROM billing.payment_attempts")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(attempts, 2);
        let due: bool = sqlx::query_scalar(
            "SELECT next_charge_at > now() + interval '1 day' FROM billing.subscriptions",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        assert!(due, "the next charge is a period away");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_of_a_server_umbra_was_removed_from_ends_with_its_period_uncharged() {
    let b = billing().await;
    let g = b.world.guild_id();
    b.card(b.owner_row, "4330123412341234").await;
    assert!(matches!(
        b.service.subscribe(b.owner_row, g, "pro").await.unwrap(),
        Charged::Paid { .. }
    ));
    sqlx::query("UPDATE guild.guilds SET status = 'removed', removed_at = now()")
        .execute(&b.world.db.pool)
        .await
        .unwrap();
    b.due(true).await;
    assert_eq!(b.service.renew_due().await.unwrap(), 1);
    assert_eq!(b.status().await, Status::Cancelled);
    assert_eq!(
        b.toss.payments().len(),
        1,
        "not charged for a server Umbra left"
    );
    b.world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgrade_is_charged_pro_rata_at_once_and_a_downgrade_waits_for_the_periods_end() {
    let b = billing().await;
    let g = b.world.guild_id();
    b.card(b.owner_row, "4330123412341234").await;
    assert!(matches!(
        b.service.change_plan(g, "max").await,
        Err(BillingError::NoSubscription)
    ));
    b.service.subscribe(b.owner_row, g, "pro").await.unwrap();
    b.wait_plan("pro").await;
    b.halfway().await;

    // Up: Max applies now; half of the difference (₩9,900 - ₩4,900) is charged.
    let up = b.service.change_plan(g, "max").await.unwrap();
    let PlanChange::Upgraded { amount } = up else {
        panic!("{up:?}")
    };
    assert!((2499..=2501).contains(&amount), "pro rata: {amount}");
    let payments = b.toss.payments();
    assert_eq!(payments.len(), 2);
    assert_eq!(payments[1].total_amount, amount);
    b.wait_plan("max").await;
    let (sub, attempts) = b.service.subscription(g).await.unwrap().unwrap();
    assert_eq!((sub.plan_code.as_str(), sub.price_krw), ("max", 9900));
    assert_eq!(sub.next_plan, None);
    assert_eq!(attempts[0].amount_krw, amount);
    assert!(matches!(
        b.service.change_plan(g, "max").await,
        Err(BillingError::SamePlan)
    ));
    assert!(matches!(
        b.service.change_plan(g, "free").await,
        Err(BillingError::NotForSale(_))
    ));

    // Down: nothing changes until the period ends; choosing Max again takes it back.
    let down = b.service.change_plan(g, "pro").await.unwrap();
    assert_eq!(
        down,
        PlanChange::Scheduled {
            at: sub.current_period_end
        }
    );
    assert_eq!(
        b.service.change_plan(g, "max").await.unwrap(),
        PlanChange::Kept
    );
    let (kept, _) = b.service.subscription(g).await.unwrap().unwrap();
    assert_eq!(kept.next_plan, None);
    b.service.change_plan(g, "pro").await.unwrap();
    let (scheduled, _) = b.service.subscription(g).await.unwrap().unwrap();
    assert_eq!(scheduled.next_plan.as_deref(), Some("pro"));
    assert_eq!(b.plan().await.0, "max", "Max until the period ends");
    assert_eq!(b.toss.payments().len(), 2, "nothing charged or refunded");

    // The period ends: the renewal charges Pro's price, and the license follows.
    b.due(true).await;
    assert_eq!(b.service.renew_due().await.unwrap(), 1);
    let payments = b.toss.payments();
    assert_eq!(payments.len(), 3);
    assert_eq!(payments[2].total_amount, 4900);
    b.wait_plan("pro").await;
    let (renewed, _) = b.service.subscription(g).await.unwrap().unwrap();
    assert_eq!(
        (renewed.plan_code.as_str(), renewed.price_krw),
        ("pro", 4900)
    );
    assert_eq!(renewed.next_plan, None);
    // Max's snapshots are not deleted at once: Pro keeps 20, Max's 100 stay through the grace.
    let e = b.world.data().licensing.entitlements(g).await.unwrap();
    assert_eq!(e.snapshot_keep(chrono::Utc::now()), 100);
    assert_eq!(
        e.snapshot_keep(chrono::Utc::now() + chrono::TimeDelta::days(15)),
        20
    );
    b.world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_upgrade_keeps_the_plan_and_one_whose_record_was_lost_is_settled_by_its_order() {
    let b = billing().await;
    let g = b.world.guild_id();
    b.card(b.owner_row, "4330123412341234").await;
    b.service.subscribe(b.owner_row, g, "pro").await.unwrap();
    b.wait_plan("pro").await;
    b.halfway().await;
    let card = b.active_card().await;
    let key = card.1.clone();

    // Declined: the plan stays, nothing is scheduled, no dunning.
    b.toss
        .script(&key, Behaviour::Decline("REJECT_CARD_PAYMENT".into()));
    let declined = b.service.change_plan(g, "max").await.unwrap();
    assert_eq!(
        declined,
        PlanChange::NotUpgraded(Charged::Declined {
            code: "REJECT_CARD_PAYMENT".into()
        })
    );
    let (sub, _) = b.service.subscription(g).await.unwrap().unwrap();
    assert_eq!(
        (sub.plan_code.as_str(), sub.status, sub.next_plan),
        ("pro", Status::Active, None)
    );
    assert_eq!(sub.next_charge_at, Some(sub.current_period_end));
    b.toss.script(&key, Behaviour::Approve);

    // A worker recorded an upgrade, charged Toss, and died before recording the answer.
    let (id, max): (Uuid, Uuid) = sqlx::query_as(
        "UPDATE billing.subscriptions SET lease_owner = 'dead-worker', \
                lease_until = now() + interval '1 hour', fencing = fencing + 1, \
                next_plan_id = (SELECT id FROM licensing.plans WHERE code = 'max'), \
                next_charge_at = now() \
          WHERE status = 'active' RETURNING id, next_plan_id",
    )
    .fetch_one(&b.world.db.pool)
    .await
    .unwrap();
    let at = chrono::Utc::now();
    let order = umbra::billing::model::upgrade_order_id(id, 2);
    sqlx::query(
        "INSERT INTO billing.payment_attempts \
           (id, subscription_id, order_id, idempotency_key, amount_krw, period_start, attempt_no, \
            kind, plan_id) \
         VALUES ($1, $2, $3, $4, 2500, $5, 2, 'upgrade', $6)",
    )
    .bind(Uuid::now_v7())
    .bind(id)
    .bind(&order)
    .bind(umbra::billing::toss::idempotency_key(&order))
    .bind(at)
    .bind(max)
    .execute(&b.world.db.pool)
    .await
    .unwrap();
    b.charged_by_a_dead_worker(&card, &order, "Umbra max (upgrade)", 2500)
        .await;
    let before = b.toss.payments().len();
    // While it is held, a second change is refused rather than charged.
    assert!(matches!(
        b.service.change_plan(g, "max").await,
        Err(BillingError::Busy)
    ));
    assert_eq!(b.service.renew_due().await.unwrap(), 0);
    sqlx::query("UPDATE billing.subscriptions SET lease_until = now() - interval '1 second'")
        .execute(&b.world.db.pool)
        .await
        .unwrap();
    assert_eq!(b.service.renew_due().await.unwrap(), 1);
    assert_eq!(b.toss.payments().len(), before, "never charged twice");
    b.wait_plan("max").await;
    let (sub, attempts) = b.service.subscription(g).await.unwrap().unwrap();
    assert_eq!((sub.plan_code.as_str(), sub.next_plan), ("max", None));
    assert_eq!(
        sub.next_charge_at,
        Some(sub.current_period_end),
        "the next charge is the renewal again"
    );
    assert_eq!(attempts.iter().filter(|a| a.status == "done").count(), 2);
    b.world.finish().await;
}
