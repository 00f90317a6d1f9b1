//! Purpose: the Toss emulator speaks Toss's billing API as the reference notes describe it —
//! the card page and single-use auth keys, Basic auth, billing keys, charges with
//! `Idempotency-Key` (repeat -> the first answer, concurrent -> 409), `DUPLICATED_ORDER_ID`,
//! look-ups by payment key and by order id, full and partial cancels, scripted cards (decline,
//! transient failures, a late answer), and webhooks retried on Toss's schedule.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};
use toss_emulator::{Behaviour, CARD_DECLINED, CARD_FLAKY, TossConfig, TossEmulator};

struct Api {
    http: reqwest::Client,
    base: String,
    auth: String,
}

impl Api {
    fn new(emu: &TossEmulator, secret: &str) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: emu.base_url(),
            auth: format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{secret}:"))
            ),
        }
    }

    async fn post(&self, path: &str, idem: Option<&str>, body: Value) -> (u16, Value) {
        let mut r = self
            .http
            .post(format!("{}{path}", self.base))
            .header("Authorization", &self.auth)
            .json(&body);
        if let Some(k) = idem {
            r = r.header("Idempotency-Key", k);
        }
        let a = r.send().await.unwrap();
        assert!(a.headers().contains_key("x-tosspayments-trace-id"));
        (a.status().as_u16(), a.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let a = self
            .http
            .get(format!("{}{path}", self.base))
            .header("Authorization", &self.auth)
            .send()
            .await
            .unwrap();
        (a.status().as_u16(), a.json().await.unwrap_or(Value::Null))
    }
}

/// Registers `card` for `customer` through the card page; returns the billing key.
async fn billing_key(emu: &TossEmulator, api: &Api, customer: &str, card: &str) -> String {
    let page = api
        .http
        .get(format!(
            "{}/billing-auth?clientKey={}&customerKey={customer}&successUrl=http%3A%2F%2Fshop%2Fok&failUrl=http%3A%2F%2Fshop%2Ffail",
            emu.base_url(),
            emu.client_key()
        ))
        .send()
        .await
        .unwrap();
    assert!(page.text().await.unwrap().contains("card-number"));
    let done = api
        .http
        .post(format!("{}/billing-auth", emu.base_url()))
        .form(&[
            ("clientKey", emu.client_key()),
            ("customerKey", customer),
            ("successUrl", "http://shop/ok"),
            ("failUrl", "http://shop/fail"),
            ("cardNumber", card),
            ("action", "register"),
        ])
        .send()
        .await
        .unwrap();
    let location = done.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(&format!("http://shop/ok?customerKey={customer}&authKey=")),
        "{location}"
    );
    let auth_key = location.split("authKey=").nth(1).unwrap().to_owned();
    let (status, body) = api
        .post(
            "/v1/billing/authorizations/issue",
            None,
            json!({"authKey": auth_key, "customerKey": customer}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["billingKey"].as_str().unwrap().to_owned()
}

fn charge(customer: &str, order: &str, amount: i64) -> Value {
    json!({"customerKey": customer, "amount": amount, "orderId": order, "orderName": "Umbra Pro"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn billing_keys_charges_idempotency_look_ups_and_cancels_follow_toss() {
    let emu = TossEmulator::start(TossConfig::default()).await.unwrap();
    let api = Api::new(&emu, emu.secret_key());
    let customer = "c0ffee00-0000-4000-8000-000000000001";

    // Auth: a wrong secret key, a header without the colon.
    let wrong = Api::new(&emu, "test_sk_wrong");
    let (status, body) = wrong.get("/v1/payments/nothing").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("UNAUTHORIZED_KEY"))
    );
    let mut colonless = Api::new(&emu, emu.secret_key());
    colonless.auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(emu.secret_key())
    );
    let (status, body) = colonless.get("/v1/payments/nothing").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("INCORRECT_BASIC_AUTH_FORMAT"))
    );

    // Auth keys are single use and belong to their customer.
    let auth = emu.issue_auth_key(customer, "4330123412341234");
    let (status, body) = api
        .post(
            "/v1/billing/authorizations/issue",
            None,
            json!({"authKey": auth, "customerKey": "someone-else"}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("NOT_MATCHES_CUSTOMER_KEY"))
    );
    let (status, issued) = api
        .post(
            "/v1/billing/authorizations/issue",
            None,
            json!({"authKey": auth, "customerKey": customer}),
        )
        .await;
    assert_eq!(status, 200, "{issued}");
    assert_eq!(issued["cardNumber"], "43301234****123*");
    assert_eq!(issued["customerKey"], customer);
    let (status, body) = api
        .post(
            "/v1/billing/authorizations/issue",
            None,
            json!({"authKey": auth, "customerKey": customer}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("NOT_FOUND_AUTH_KEY"))
    );
    let key = billing_key(&emu, &api, customer, "4330123412341234").await;

    // One charge per idempotency key; a second key with the same order id is refused.
    let path = format!("/v1/billing/{key}");
    let (status, first) = api
        .post(
            &path,
            Some("sub-1-2026-12"),
            charge(customer, "sub-1-2026-12", 4900),
        )
        .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["status"], "DONE");
    assert_eq!(first["totalAmount"], 4900);
    assert_eq!(first["type"], "BILLING");
    let (status, again) = api
        .post(
            &path,
            Some("sub-1-2026-12"),
            charge(customer, "sub-1-2026-12", 4900),
        )
        .await;
    assert_eq!(
        (status, &again),
        (200, &first),
        "a repeat gets the first answer"
    );
    let (status, dup) = api
        .post(
            &path,
            Some("another-key"),
            charge(customer, "sub-1-2026-12", 4900),
        )
        .await;
    assert_eq!(
        (status, dup["code"].as_str()),
        (400, Some("DUPLICATED_ORDER_ID"))
    );
    assert_eq!(emu.payments().len(), 1);
    let (status, bad) = api
        .post(&path, Some("k3"), charge(customer, "no", 4900))
        .await;
    assert_eq!(
        (status, bad["code"].as_str()),
        (400, Some("INVALID_REQUEST"))
    );
    let (status, bad) = api
        .post(&path, None, charge("stranger", "sub-9-2026-12", 4900))
        .await;
    assert_eq!(
        (status, bad["code"].as_str()),
        (400, Some("NOT_MATCHES_CUSTOMER_KEY"))
    );
    let (status, bad) = api
        .post(
            "/v1/billing/bk_unknown",
            None,
            charge(customer, "sub-8-2026-12", 4900),
        )
        .await;
    assert_eq!(
        (status, bad["code"].as_str()),
        (404, Some("NOT_FOUND_BILLING"))
    );

    // Look-ups.
    let payment_key = first["paymentKey"].as_str().unwrap();
    let (status, by_key) = api.get(&format!("/v1/payments/{payment_key}")).await;
    assert_eq!(
        (status, by_key["orderId"].as_str()),
        (200, Some("sub-1-2026-12"))
    );
    let (status, by_order) = api.get("/v1/payments/orders/sub-1-2026-12").await;
    assert_eq!(
        (status, by_order["paymentKey"].as_str()),
        (200, Some(payment_key))
    );
    let (status, none) = api.get("/v1/payments/orders/sub-404-2026").await;
    assert_eq!(
        (status, none["code"].as_str()),
        (404, Some("NOT_FOUND_PAYMENT"))
    );

    // Cancels: partial, too much, the rest, again.
    let cancel = format!("/v1/payments/{payment_key}/cancel");
    let (status, part) = api
        .post(
            &cancel,
            Some("refund-1"),
            json!({"cancelReason": "goodwill", "cancelAmount": 900}),
        )
        .await;
    assert_eq!(status, 200, "{part}");
    assert_eq!(
        (part["status"].as_str(), part["balanceAmount"].as_i64()),
        (Some("PARTIAL_CANCELED"), Some(4000))
    );
    let (status, too_much) = api
        .post(
            &cancel,
            None,
            json!({"cancelReason": "x", "cancelAmount": 5000}),
        )
        .await;
    assert_eq!(
        (status, too_much["code"].as_str()),
        (403, Some("NOT_CANCELABLE_AMOUNT"))
    );
    let (status, rest) = api
        .post(&cancel, None, json!({"cancelReason": "stop"}))
        .await;
    assert_eq!((status, rest["status"].as_str()), (200, Some("CANCELED")));
    assert_eq!(rest["cancels"].as_array().map(Vec::len), Some(2));
    let (status, again) = api
        .post(&cancel, None, json!({"cancelReason": "stop"}))
        .await;
    assert_eq!(
        (status, again["code"].as_str()),
        (400, Some("ALREADY_CANCELED_PAYMENT"))
    );
    let (status, replay) = api
        .post(
            &cancel,
            Some("refund-1"),
            json!({"cancelReason": "goodwill", "cancelAmount": 900}),
        )
        .await;
    assert_eq!(
        (status, &replay),
        (200, &part),
        "a replayed refund is not refunded twice"
    );
    emu.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripted_cards_decline_fail_transiently_and_answer_after_the_client_gave_up() {
    let emu = TossEmulator::start(TossConfig::default()).await.unwrap();
    let api = Api::new(&emu, emu.secret_key());
    let customer = "c0ffee00-0000-4000-8000-000000000002";

    let declined = billing_key(&emu, &api, customer, CARD_DECLINED).await;
    let (status, body) = api
        .post(
            &format!("/v1/billing/{declined}"),
            Some("o-declined-1"),
            charge(customer, "o-declined-1", 4900),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("REJECT_CARD_PAYMENT"))
    );
    let (_, aborted) = api.get("/v1/payments/orders/o-declined-1").await;
    assert_eq!(aborted["status"], "ABORTED");
    assert_eq!(aborted["failure"]["code"], "REJECT_CARD_PAYMENT");

    // Transient failures: retried with the same key, one payment in the end.
    let flaky = billing_key(&emu, &api, customer, CARD_FLAKY).await;
    let path = format!("/v1/billing/{flaky}");
    for _ in 0..2 {
        let (status, body) = api
            .post(
                &path,
                Some("o-flaky-1"),
                charge(customer, "o-flaky-1", 4900),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (500, Some("PROVIDER_ERROR"))
        );
    }
    let (status, ok) = api
        .post(
            &path,
            Some("o-flaky-1"),
            charge(customer, "o-flaky-1", 4900),
        )
        .await;
    assert_eq!((status, ok["status"].as_str()), (200, Some("DONE")));
    assert_eq!(
        emu.payments()
            .iter()
            .filter(|p| p.order_id == "o-flaky-1")
            .count(),
        1
    );

    // A late answer: the client times out, a repeat meanwhile gets 409, the order id tells
    // the truth, and a repeat afterwards gets the same payment.
    let late = billing_key(&emu, &api, customer, "4330123412349999").await;
    emu.script(&late, Behaviour::AnswerLate(Duration::from_millis(800)));
    let path = format!("/v1/billing/{late}");
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(150))
        .build()
        .unwrap();
    let gave_up = impatient
        .post(format!("{}{path}", api.base))
        .header("Authorization", &api.auth)
        .header("Idempotency-Key", "o-late-1")
        .json(&charge(customer, "o-late-1", 4900))
        .send()
        .await;
    assert!(gave_up.is_err(), "the client timed out");
    let (status, busy) = api
        .post(&path, Some("o-late-1"), charge(customer, "o-late-1", 4900))
        .await;
    assert_eq!(
        (status, busy["code"].as_str()),
        (409, Some("IDEMPOTENT_REQUEST_PROCESSING"))
    );
    let (status, truth) = api.get("/v1/payments/orders/o-late-1").await;
    assert_eq!(
        (status, truth["status"].as_str()),
        (200, Some("DONE")),
        "charged anyway"
    );
    tokio::time::sleep(Duration::from_millis(900)).await;
    let (status, after) = api
        .post(&path, Some("o-late-1"), charge(customer, "o-late-1", 4900))
        .await;
    assert_eq!(status, 200);
    assert_eq!(after["paymentKey"], truth["paymentKey"]);
    assert_eq!(
        emu.payments()
            .iter()
            .filter(|p| p.order_id == "o-late-1")
            .count(),
        1
    );
    emu.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_retried_on_tosss_schedule_until_answered_200() {
    // 6,000x: Toss's 1-minute and 4-minute retries take 10 ms and 40 ms.
    let failures_left = Arc::new(AtomicUsize::new(2));
    let seen = Arc::new(parking_lot_free::Seen::default());
    let receiver = {
        let (failures_left, seen) = (failures_left.clone(), seen.clone());
        axum::Router::new().route(
            "/webhooks/toss",
            axum::routing::post(move |body: String| {
                let (failures_left, seen) = (failures_left.clone(), seen.clone());
                async move {
                    seen.push(body);
                    if failures_left
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok()
                    {
                        axum::http::StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        axum::http::StatusCode::OK
                    }
                }
            }),
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/webhooks/toss", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, receiver).await });
    let emu = TossEmulator::start(TossConfig {
        time_scale: 6000.0,
        webhook_url: Some(url),
        ..TossConfig::default()
    })
    .await
    .unwrap();
    let api = Api::new(&emu, emu.secret_key());
    let customer = "c0ffee00-0000-4000-8000-000000000003";
    let key = billing_key(&emu, &api, customer, "4330123412341234").await;
    let (_, paid) = api
        .post(
            &format!("/v1/billing/{key}"),
            Some("o-hook-1"),
            charge(customer, "o-hook-1", 9900),
        )
        .await;
    let payment_key = paid["paymentKey"].as_str().unwrap().to_owned();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while emu.deliveries().len() < 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{:?}",
            emu.deliveries()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let d = emu.deliveries();
    assert_eq!(d.len(), 3, "two failures, then 200, then nothing more");
    assert_eq!(
        d.iter().map(|x| x.status).collect::<Vec<_>>(),
        vec![Some(500), Some(500), Some(200)]
    );
    assert!(d[1].at - d[0].at >= chrono::TimeDelta::milliseconds(9));
    assert!(d[2].at - d[1].at >= chrono::TimeDelta::milliseconds(39));
    let body: Value = serde_json::from_str(&seen.all()[0]).unwrap();
    assert_eq!(body["eventType"], "PAYMENT_STATUS_CHANGED");
    assert_eq!(body["data"]["orderId"], "o-hook-1");
    assert_eq!(body["data"]["status"], "DONE");

    // The same event delivered again, 5 times.
    emu.redeliver(&payment_key, 5);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while seen.all().len() < 8 {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        seen.all()[3..].iter().all(|b| b == &seen.all()[2]),
        "identical bodies"
    );
    emu.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_stand_in_sends_the_browser_to_the_card_page_and_cancel_goes_to_fail_url() {
    let emu = TossEmulator::start(TossConfig::default()).await.unwrap();
    let js = reqwest::get(emu.sdk_url()).await.unwrap();
    assert!(
        js.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    let js = js.text().await.unwrap();
    assert!(js.contains("requestBillingAuth") && js.contains(&emu.base_url()));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cancelled = http
        .post(format!("{}/billing-auth", emu.base_url()))
        .form(&[
            ("clientKey", emu.client_key()),
            ("customerKey", "c0ffee"),
            ("successUrl", "http://shop/ok"),
            ("failUrl", "http://shop/fail?x=1"),
            ("cardNumber", "4330123412341234"),
            ("action", "cancel"),
        ])
        .send()
        .await
        .unwrap();
    let location = cancelled.headers()["location"].to_str().unwrap();
    assert!(
        location.starts_with("http://shop/fail?x=1&code=PAY_PROCESS_CANCELED&message="),
        "{location}"
    );
    let forged = http
        .post(format!("{}/billing-auth", emu.base_url()))
        .form(&[
            ("clientKey", "test_ck_forged"),
            ("customerKey", "c0ffee"),
            ("successUrl", "http://shop/ok"),
            ("failUrl", "http://shop/fail"),
            ("cardNumber", "4330123412341234"),
            ("action", "register"),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        forged.headers()["location"]
            .to_str()
            .unwrap()
            .contains("code=INVALID_CLIENT_KEY")
    );
    emu.shutdown();
}

/// A list of received bodies shared with the receiver's handler.
mod parking_lot_free {
    use std::sync::Mutex;

    #[derive(Default)]
    pub struct Seen(Mutex<Vec<String>>);

    impl Seen {
        pub fn push(&self, body: String) {
            self.0.lock().unwrap().push(body);
        }

        pub fn all(&self) -> Vec<String> {
            self.0.lock().unwrap().clone()
        }
    }
}

mod client {
    //! Umbra's Toss adapter against the emulator: one payment per order whatever happens.

    use std::time::Duration;

    use toss_emulator::{Behaviour, CARD_DECLINED, CARD_FLAKY, TossConfig, TossEmulator};
    use umbra::billing::toss::{Charge, Order, TossClient};
    use umbra::config::Secret;

    fn client(emu: &TossEmulator, timeout: Duration) -> TossClient {
        TossClient::new(
            &emu.base_url(),
            &Secret::new(emu.secret_key().to_owned()),
            timeout,
        )
        .unwrap()
        .with_retries(4, Duration::from_millis(50))
    }

    fn order(customer: &str, id: &str) -> Order {
        Order {
            customer_key: customer.into(),
            order_id: id.into(),
            order_name: "Umbra Pro".into(),
            amount: 4900,
        }
    }

    async fn key(emu: &TossEmulator, c: &TossClient, customer: &str, card: &str) -> Secret<String> {
        let auth = emu.issue_auth_key(customer, card);
        let issued = c.issue(&auth, customer).await.expect("issued");
        assert_eq!(issued.customer_key, customer);
        assert!(!format!("{issued:?}").contains(issued.billing_key.expose()));
        issued.billing_key
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_charge_is_paid_once_through_transient_failures_late_answers_and_repeats() {
        let emu = TossEmulator::start(TossConfig::default()).await.unwrap();
        let c = client(&emu, Duration::from_millis(300));
        let customer = "7d3c0c1e-0000-4000-8000-00000000000a";

        // Two provider errors, then paid: one payment.
        let flaky = key(&emu, &c, customer, CARD_FLAKY).await;
        let Charge::Paid(p) = c.charge(&flaky, &order(customer, "sub-a-202612")).await else {
            panic!("paid after the transient failures");
        };
        assert_eq!(p.total_amount, 4900);
        // The same order again (a crash before recording it): the same payment, not a second.
        let Charge::Paid(again) = c.charge(&flaky, &order(customer, "sub-a-202612")).await else {
            panic!("the repeat is answered with the first payment");
        };
        assert_eq!(again.payment_key, p.payment_key);

        // An answer later than the client waits: settled by the order id, charged once.
        let late = key(&emu, &c, customer, "4330123412345678").await;
        let newest = emu
            .billing_keys_of(customer)
            .pop()
            .expect("the key just issued");
        emu.script(&newest, Behaviour::AnswerLate(Duration::from_millis(700)));
        let outcome = c.charge(&late, &order(customer, "sub-b-202612")).await;
        assert!(matches!(outcome, Charge::Paid(_)), "{outcome:?}");
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert_eq!(
            emu.payments()
                .iter()
                .filter(|p| p.order_id == "sub-b-202612")
                .count(),
            1,
            "one payment for the order"
        );

        // A declined card: declined, no retry storm.
        let declined = key(&emu, &c, customer, CARD_DECLINED).await;
        let before = emu.charge_requests();
        let outcome = c.charge(&declined, &order(customer, "sub-c-202612")).await;
        let Charge::Declined(e) = outcome else {
            panic!("declined: {outcome:?}");
        };
        assert_eq!(e.code(), Some("REJECT_CARD_PAYMENT"));
        assert_eq!(
            emu.charge_requests() - before,
            1,
            "a decline is not retried"
        );

        // A wrong secret key is a configuration error, not a charge.
        let wrong = TossClient::new(
            &emu.base_url(),
            &Secret::new("test_sk_wrong".into()),
            Duration::from_secs(1),
        )
        .unwrap();
        let Charge::Declined(e) = wrong
            .charge(&declined, &order(customer, "sub-d-202612"))
            .await
        else {
            panic!("refused");
        };
        assert_eq!(e.code(), Some("UNAUTHORIZED_KEY"));

        // Toss unreachable: unknown (to be retried later with the same order), never "paid".
        emu.shutdown();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let outcome = c.charge(&flaky, &order(customer, "sub-e-202612")).await;
        assert!(matches!(outcome, Charge::Unknown(_)), "{outcome:?}");
    }
}
