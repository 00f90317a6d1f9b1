//! Purpose: helpers for emulator tests: start an emulator, a plain-HTTP REST client (what
//! discord.js does), serenity HTTP/gateway clients over the TLS listener (rate limiter on),
//! and checks that every recorded response matches Discord's OpenAPI spec and that every
//! dispatch deserializes into serenity's typed `Event`.

use std::sync::Arc;
use std::time::Duration;

use discord_emulator::{Emulator, EmulatorConfig, SpecValidator};
use serde_json::Value;
use serenity::all::{Context, Event, GatewayIntents, RawEventHandler};
use tokio::sync::mpsc;

/// Routes the emulator serves that Discord's OpenAPI spec does not describe.
pub const NOT_IN_SPEC: &[&str] = &["/oauth2/token", "/oauth2/token/revoke", "/oauth2/authorize"];

/// An emulator without rate limits that records responses.
pub async fn start() -> Emulator {
    Emulator::start(EmulatorConfig::unlimited())
        .await
        .expect("the emulator starts")
}

pub async fn start_with(config: EmulatorConfig) -> Emulator {
    Emulator::start(config).await.expect("the emulator starts")
}

/// A REST answer.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Option<Value>,
}

impl Resp {
    pub fn json(&self) -> &Value {
        self.body.as_ref().unwrap_or(&Value::Null)
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
    pub fn id(&self) -> u64 {
        self.json()["id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no id in {:?}", self.body))
    }
    /// Discord's JSON error code.
    pub fn code(&self) -> u64 {
        self.json()["code"].as_u64().unwrap_or(u64::MAX)
    }
}

/// A plain-HTTP REST client against `http://127.0.0.1:P/api/v10`.
#[derive(Clone)]
pub struct Rest {
    client: reqwest::Client,
    base: String,
    auth: Option<String>,
    reason: Option<String>,
}

impl Rest {
    pub fn bot(emu: &Emulator, token: &str) -> Self {
        Self {
            client: reqwest::Client::new(),
            base: emu.api_base(),
            auth: Some(format!("Bot {token}")),
            reason: None,
        }
    }
    /// A bare token, as some clients send it.
    pub fn bare(emu: &Emulator, token: &str) -> Self {
        Self {
            client: reqwest::Client::new(),
            base: emu.api_base(),
            auth: Some(token.to_string()),
            reason: None,
        }
    }
    pub fn bearer(emu: &Emulator, token: &str) -> Self {
        Self {
            client: reqwest::Client::new(),
            base: emu.api_base(),
            auth: Some(format!("Bearer {token}")),
            reason: None,
        }
    }
    pub fn anonymous(emu: &Emulator) -> Self {
        Self {
            client: reqwest::Client::new(),
            base: emu.api_base(),
            auth: None,
            reason: None,
        }
    }
    pub fn with_base(mut self, base: &str) -> Self {
        self.base = base.to_string();
        self
    }
    pub fn with_reason(mut self, reason: &str) -> Self {
        self.reason = Some(reason.to_string());
        self
    }

    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Resp {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.client.request(m, format!("{}{path}", self.base));
        if let Some(a) = &self.auth {
            req = req.header("Authorization", a);
        }
        if let Some(r) = &self.reason {
            let enc: String = r
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            req = req.header("X-Audit-Log-Reason", enc);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        self.send(req).await
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Resp {
        let resp = req.send().await.expect("the emulator answers");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.expect("a body");
        let body = if bytes.is_empty() {
            None
        } else {
            serde_json::from_slice(&bytes).ok()
        };
        Resp {
            status,
            headers,
            body,
        }
    }

    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(a) = &self.auth {
            req = req.header("Authorization", a);
        }
        req
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.call("GET", path, None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.call("POST", path, Some(body)).await
    }
    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.call("PUT", path, Some(body)).await
    }
    pub async fn patch(&self, path: &str, body: Value) -> Resp {
        self.call("PATCH", path, Some(body)).await
    }
    pub async fn delete(&self, path: &str) -> Resp {
        self.call("DELETE", path, None).await
    }
}

/// A reqwest client that reaches the emulator's TLS listener as `discord.com` (what Umbra
/// hands to serenity).
pub fn discord_com_client(emu: &Emulator) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(emu.ca_cert_pem().as_bytes()).unwrap();
    reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(ca)
        .resolve("discord.com", emu.tls_addr())
        .build()
        .unwrap()
}

/// serenity's HTTP client with its real rate limiter, talking to the emulator over TLS.
pub fn serenity_http(emu: &Emulator, token: &str) -> serenity::http::Http {
    serenity::http::HttpBuilder::new(token)
        .client(discord_com_client(emu))
        .build()
}

/// Records every gateway event a serenity client receives; `Event::Unknown` means the
/// emulator sent something serenity cannot parse (and would silently drop).
#[derive(Clone)]
pub struct Recorder {
    pub tx: mpsc::UnboundedSender<Event>,
    pub unknown: Arc<std::sync::Mutex<Vec<String>>>,
}

#[serenity::async_trait]
impl RawEventHandler for Recorder {
    async fn raw_event(&self, _ctx: Context, ev: Event) {
        if let Event::Unknown(u) = &ev {
            self.unknown
                .lock()
                .unwrap()
                .push(format!("{}: {}", u.kind, u.value));
        }
        let _ = self.tx.send(ev);
    }
}

/// A running serenity client and the events it receives.
pub struct SerenityBot {
    pub events: mpsc::UnboundedReceiver<Event>,
    pub unknown: Arc<std::sync::Mutex<Vec<String>>>,
    pub shard_manager: Arc<serenity::gateway::ShardManager>,
    pub task: tokio::task::JoinHandle<()>,
}

impl SerenityBot {
    /// Waits for the next event matching `pred`.
    pub async fn wait_for(&mut self, timeout: Duration, pred: impl Fn(&Event) -> bool) -> Event {
        let end = tokio::time::Instant::now() + timeout;
        loop {
            let ev = tokio::time::timeout_at(end, self.events.recv())
                .await
                .expect("timed out waiting for a gateway event")
                .expect("client stopped");
            if pred(&ev) {
                return ev;
            }
        }
    }

    pub fn assert_no_unknown_events(&self) {
        let unknown = self.unknown.lock().unwrap();
        assert!(unknown.is_empty(), "serenity could not parse: {unknown:#?}");
    }

    pub async fn stop(self) {
        self.shard_manager.shutdown_all().await;
        self.task.abort();
    }
}

/// Starts a serenity client (rate limiter on, TLS) with a raw event recorder.
pub async fn serenity_bot(emu: &Emulator, token: &str, intents: GatewayIntents) -> SerenityBot {
    let (tx, events) = mpsc::unbounded_channel();
    let unknown = Arc::new(std::sync::Mutex::new(Vec::new()));
    let recorder = Recorder {
        tx,
        unknown: unknown.clone(),
    };
    let mut client =
        serenity::client::ClientBuilder::new_with_http(serenity_http(emu, token), intents)
            .raw_event_handler(recorder)
            .await
            .expect("serenity client builds");
    let shard_manager = client.shard_manager.clone();
    let task = tokio::spawn(async move {
        let _ = client.start().await;
    });
    SerenityBot {
        events,
        unknown,
        shard_manager,
        task,
    }
}

/// Asserts that every recorded REST response validates against Discord's OpenAPI spec.
/// Returns how many were checked.
pub fn assert_responses_match_spec(emu: &Emulator) -> usize {
    let responses = emu.recorded_responses();
    let checked: Vec<_> = responses
        .iter()
        .filter(|r| !NOT_IN_SPEC.contains(&r.route.as_str()))
        .cloned()
        .collect();
    let failures = SpecValidator::bundled().validate_recorded(&checked);
    if !failures.is_empty() {
        let report: Vec<String> = failures
            .iter()
            .take(20)
            .map(|(r, e)| {
                format!(
                    "{} {} -> {}: {}\n  body: {}",
                    r.method,
                    r.route,
                    r.status,
                    e.iter()
                        .take(5)
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; "),
                    r.body
                        .as_ref()
                        .map(|b| b.to_string().chars().take(600).collect::<String>())
                        .unwrap_or_default()
                )
            })
            .collect();
        panic!(
            "{} of {} responses do not match Discord's OpenAPI spec:\n{}",
            failures.len(),
            checked.len(),
            report.join("\n")
        );
    }
    checked.len()
}

/// Asserts that every dispatch the emulator produced deserializes into serenity's typed
/// `Event` (no `Event::Unknown`). Returns how many were checked.
pub fn assert_dispatches_are_typed(emu: &Emulator) -> usize {
    let mut bad = Vec::new();
    let log = emu.dispatch_log();
    for d in &log {
        let Some(p) = &d.payload else { continue };
        let text = format!("{{\"t\":\"{}\",\"d\":{}}}", d.event, p);
        match serde_json::from_str::<Event>(&text) {
            Ok(Event::Unknown(_)) => {
                // Find the actual reason by deserializing into the specific variant.
                bad.push(format!(
                    "{} -> Unknown: {}",
                    d.event,
                    p.chars().take(400).collect::<String>()
                ));
            }
            Ok(_) => {}
            Err(e) => bad.push(format!("{} -> error {e}", d.event)),
        }
    }
    assert!(
        bad.is_empty(),
        "dispatches serenity cannot type:\n{}",
        bad.join("\n")
    );
    log.len()
}

/// Both checks, for the end of a test.
pub fn assert_all_shapes(emu: &Emulator) {
    assert_responses_match_spec(emu);
    assert_dispatches_are_typed(emu);
}

/// A multipart/form-data body with `payload_json` and files (`files[n]`).
pub fn multipart(payload: &Value, files: &[(&str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "emulatorboundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"payload_json\"\r\nContent-Type: application/json\r\n\r\n{payload}\r\n").as_bytes());
    for (i, (name, data)) in files.iter().enumerate() {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"files[{i}]\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Exchanges an authorization code for tokens through `POST /oauth2/token` (form-encoded,
/// client secret in the form); returns the JSON answer.
pub async fn oauth_tokens(
    emu: &Emulator,
    app: &discord_emulator::App,
    user: u64,
    scopes: &[&str],
) -> Value {
    let code = emu
        .authorize(user, app.client_id, "http://localhost/cb", scopes, None)
        .unwrap();
    let form = format!(
        "grant_type=authorization_code&code={code}&redirect_uri=http%3A%2F%2Flocalhost%2Fcb&client_id={}&client_secret={}",
        app.client_id, app.client_secret
    );
    let resp = reqwest::Client::new()
        .post(format!("{}/oauth2/token", emu.api_base()))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    resp.json().await.unwrap()
}
