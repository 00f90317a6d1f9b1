//! Purpose: a local Toss Payments for Umbra's tests, benchmarks and sandbox — the recurring
//! billing endpoints with Toss's paths, JSON shapes, Basic auth (secret key + `:`), error codes
//! and `Idempotency-Key` semantics (`api`), a stand-in for the JS SDK v2 and the card page the
//! browser goes through (`sdk`), and `PAYMENT_STATUS_CHANGED` webhooks with Toss's retry
//! schedule, time-scalable (`webhook`). [`TossEmulator`] is the control handle: start it, read
//! what was charged, script a card's behaviour, mint an auth key without a browser.
//!
//! Facts it follows: `../shared/reference/toss-notes.md`.

mod api;
pub mod model;
mod sdk;
mod webhook;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use chrono::Utc;
use parking_lot::Mutex;
use tokio::sync::watch;

pub use model::{Behaviour, CARD_DECLINED, CARD_EXPIRED, CARD_FLAKY, Payment, TossError};
pub use webhook::Delivery;

/// Toss's published document test keys (usable without a contract; nothing reaches Toss).
pub const TEST_CLIENT_KEY: &str = "test_ck_D5GePWvyJnrK0W0k6q8gLzN97Eoq";
pub const TEST_SECRET_KEY: &str = "test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R";

/// How the emulator runs.
#[derive(Debug, Clone)]
pub struct TossConfig {
    pub client_key: String,
    pub secret_key: String,
    /// Emulated seconds per real second for webhook retries (Toss waits 1, 4, 16, .. minutes).
    pub time_scale: f64,
    /// Where `PAYMENT_STATUS_CHANGED` webhooks go (none: not sent).
    pub webhook_url: Option<String>,
}

impl Default for TossConfig {
    fn default() -> Self {
        Self {
            client_key: TEST_CLIENT_KEY.into(),
            secret_key: TEST_SECRET_KEY.into(),
            time_scale: 1.0,
            webhook_url: None,
        }
    }
}

/// An idempotency key's state.
#[derive(Debug, Clone)]
enum Idem {
    /// The first request with this key is still being answered.
    Processing,
    /// Its answer, returned again for every repeat.
    Done(u16, serde_json::Value),
}

#[derive(Default)]
struct State {
    /// authKey -> (customerKey, card number), single use.
    auth_keys: HashMap<String, (String, String)>,
    billing_keys: HashMap<String, model::BillingKey>,
    payments: Vec<Payment>,
    /// Behaviours scripted by card number before the billing key exists.
    card_scripts: HashMap<String, Behaviour>,
    idempotency: HashMap<String, Idem>,
    /// Every request to `POST /v1/billing/{billingKey}`, answered or not.
    charge_requests: u64,
    webhook_url: Option<String>,
}

struct Inner {
    config: TossConfig,
    addr: SocketAddr,
    mid: String,
    state: Mutex<State>,
    deliveries: Mutex<Vec<Delivery>>,
    webhooks: tokio::sync::mpsc::UnboundedSender<webhook::Job>,
    shutdown: watch::Sender<bool>,
}

/// The running emulator (cheap to clone).
#[derive(Clone)]
pub struct TossEmulator {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for TossEmulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TossEmulator")
            .field("addr", &self.inner.addr)
            .finish()
    }
}

fn random(prefix: &str, bytes: usize) -> String {
    use base64::Engine as _;
    use rand::RngCore as _;
    let mut raw = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut raw);
    let text = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
    format!("{prefix}{}", text.replace(['-', '_'], "x"))
}

impl TossEmulator {
    /// Starts the emulator on `127.0.0.1` (a free port).
    pub async fn start(config: TossConfig) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        Self::serve(config, listener).await
    }

    /// Starts the emulator on `listener`.
    pub async fn serve(
        config: TossConfig,
        listener: tokio::net::TcpListener,
    ) -> anyhow::Result<Self> {
        let addr = listener.local_addr()?;
        let (shutdown, mut stop) = watch::channel(false);
        let (jobs, queue) = tokio::sync::mpsc::unbounded_channel();
        let emu = Self {
            inner: Arc::new(Inner {
                mid: "tosspayments".into(),
                state: Mutex::new(State {
                    webhook_url: config.webhook_url.clone(),
                    ..State::default()
                }),
                config,
                addr,
                deliveries: Mutex::new(Vec::new()),
                webhooks: jobs,
                shutdown,
            }),
        };
        let router = api::routes().merge(sdk::routes()).with_state(emu.clone());
        let mut stop_server = stop.clone();
        tokio::spawn(async move {
            let served = axum::serve(listener, router).with_graceful_shutdown(async move {
                let _ = stop_server.wait_for(|s| *s).await;
            });
            if let Err(e) = served.await {
                tracing::warn!(error = %e, "the Toss emulator stopped serving");
            }
        });
        let worker = emu.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = webhook::run(worker, queue) => {}
                _ = stop.wait_for(|s| *s) => {}
            }
        });
        Ok(emu)
    }

    /// `http://127.0.0.1:PORT` — what `api.tosspayments.com` and `js.tosspayments.com` are here.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.inner.addr)
    }

    /// The stand-in for `https://js.tosspayments.com/v2/standard`.
    pub fn sdk_url(&self) -> String {
        format!("{}/v2/standard", self.base_url())
    }

    pub fn client_key(&self) -> &str {
        &self.inner.config.client_key
    }

    pub fn secret_key(&self) -> &str {
        &self.inner.config.secret_key
    }

    /// Sends `PAYMENT_STATUS_CHANGED` webhooks to `url` from now on (none: stop sending).
    pub fn set_webhook_url(&self, url: Option<String>) {
        self.inner.state.lock().webhook_url = url;
    }

    /// What the card page does when a person registers `card_number` for `customer_key`: an
    /// `authKey` for `POST /v1/billing/authorizations/issue` (single use).
    pub fn issue_auth_key(&self, customer_key: &str, card_number: &str) -> String {
        let key = random("bln_", 18);
        self.inner.state.lock().auth_keys.insert(
            key.clone(),
            (customer_key.to_owned(), card_number.to_owned()),
        );
        key
    }

    /// Scripts what charges with billing key `billing_key` do.
    pub fn script(&self, billing_key: &str, behaviour: Behaviour) {
        if let Some(k) = self.inner.state.lock().billing_keys.get_mut(billing_key) {
            k.behaviour = behaviour;
            k.failures = 0;
        }
    }

    /// Scripts what charges on `card_number` do (for billing keys issued from now on).
    pub fn script_card(&self, card_number: &str, behaviour: Behaviour) {
        self.inner
            .state
            .lock()
            .card_scripts
            .insert(card_number.to_owned(), behaviour);
    }

    /// The billing keys issued to `customer_key`, oldest first.
    pub fn billing_keys_of(&self, customer_key: &str) -> Vec<String> {
        let state = self.inner.state.lock();
        let mut keys: Vec<&model::BillingKey> = state
            .billing_keys
            .values()
            .filter(|k| k.customer_key == customer_key)
            .collect();
        keys.sort_by_key(|k| k.authenticated_at);
        keys.into_iter().map(|k| k.billing_key.clone()).collect()
    }

    /// Every payment, oldest first (aborted charges included).
    pub fn payments(&self) -> Vec<Payment> {
        self.inner.state.lock().payments.clone()
    }

    /// The payment of `order_id`, if any.
    pub fn payment_by_order(&self, order_id: &str) -> Option<Payment> {
        self.inner
            .state
            .lock()
            .payments
            .iter()
            .find(|p| p.order_id == order_id)
            .cloned()
    }

    /// How many charge requests arrived (repeats included).
    pub fn charge_requests(&self) -> u64 {
        self.inner.state.lock().charge_requests
    }

    /// Every webhook delivery attempt so far.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.inner.deliveries.lock().clone()
    }

    /// Sends the last webhook of `payment_key` again, `times` times, at once (Toss may deliver
    /// one event more than once).
    pub fn redeliver(&self, payment_key: &str, times: usize) {
        let body = self
            .inner
            .deliveries
            .lock()
            .iter()
            .rev()
            .find(|d| d.payment_key == payment_key)
            .map(|d| d.body.clone());
        if let Some(body) = body {
            for _ in 0..times {
                let _ = self
                    .inner
                    .webhooks
                    .send(webhook::Job::once(payment_key, body.clone()));
            }
        }
    }

    /// Stops serving.
    pub fn shutdown(&self) {
        let _ = self.inner.shutdown.send(true);
    }

    fn now() -> chrono::DateTime<Utc> {
        Utc::now()
    }
}
