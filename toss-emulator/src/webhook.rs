//! Purpose: Toss's payment webhooks — a `PAYMENT_STATUS_CHANGED` JSON POST (`{eventType,
//! createdAt, data: <Payment>}`, unsigned, as Toss sends payment webhooks) after every charge and
//! cancel, to the configured URL. Any answer but 200 is a failure, retried 7 times after 1, 4,
//! 16, 64, 256, 1024 and 4096 minutes (divided by the time scale), then dropped. Every attempt
//! is recorded for the tests.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedReceiver;

use crate::TossEmulator;

/// Toss's retry delays, in minutes.
pub const RETRY_MINUTES: [u64; 7] = [1, 4, 16, 64, 256, 1024, 4096];

/// One delivery attempt.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub payment_key: String,
    /// 0 for the first attempt of a job.
    pub attempt: usize,
    /// The receiver's status (`None`: unreachable).
    pub status: Option<u16>,
    pub at: DateTime<Utc>,
    pub body: Value,
}

/// A webhook to deliver.
pub struct Job {
    payment_key: String,
    body: Value,
    retries: bool,
}

impl Job {
    /// One attempt, no retries (a redelivery).
    pub fn once(payment_key: &str, body: Value) -> Self {
        Self {
            payment_key: payment_key.to_owned(),
            body,
            retries: false,
        }
    }
}

impl TossEmulator {
    /// Queues the `PAYMENT_STATUS_CHANGED` webhook of `payment_key` (when a URL is set).
    pub(crate) fn payment_changed(&self, payment_key: &str) {
        let (url, payment) = {
            let state = self.inner.state.lock();
            (
                state.webhook_url.clone(),
                state
                    .payments
                    .iter()
                    .find(|p| p.payment_key == payment_key)
                    .map(|p| p.json(&self.inner.mid, &self.base_url())),
            )
        };
        let (Some(_), Some(data)) = (url, payment) else {
            return;
        };
        let body = json!({
            "eventType": "PAYMENT_STATUS_CHANGED",
            "createdAt": Utc::now().to_rfc3339(),
            "data": data,
        });
        let _ = self.inner.webhooks.send(Job {
            payment_key: payment_key.to_owned(),
            body,
            retries: true,
        });
    }
}

/// Delivers queued webhooks until the queue closes (each job on its own task: a slow
/// receiver does not hold the others back).
pub async fn run(emu: TossEmulator, mut queue: UnboundedReceiver<Job>) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_default();
    while let Some(job) = queue.recv().await {
        let (emu, http) = (emu.clone(), http.clone());
        tokio::spawn(async move { deliver(&emu, &http, job).await });
    }
}

async fn deliver(emu: &TossEmulator, http: &reqwest::Client, job: Job) {
    let scale = emu.inner.config.time_scale.max(0.001);
    let attempts = if job.retries {
        RETRY_MINUTES.len() + 1
    } else {
        1
    };
    for attempt in 0..attempts {
        let Some(url) = emu.inner.state.lock().webhook_url.clone() else {
            return;
        };
        let status = http
            .post(&url)
            .header("content-type", "application/json")
            .body(job.body.to_string())
            .send()
            .await
            .ok()
            .map(|r| r.status().as_u16());
        emu.inner.deliveries.lock().push(Delivery {
            payment_key: job.payment_key.clone(),
            attempt,
            status,
            at: Utc::now(),
            body: job.body.clone(),
        });
        if status == Some(200) {
            return;
        }
        if let Some(minutes) = RETRY_MINUTES
            .get(attempt)
            .filter(|_| attempt + 1 < attempts)
        {
            tokio::time::sleep(Duration::from_secs_f64(*minutes as f64 * 60.0 / scale)).await;
        }
    }
}
