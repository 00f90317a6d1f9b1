//! Purpose: test helpers: a raw JSON gateway client (what discord.js does: `/gateway/bot`,
//! `?v=10&encoding=json`, bare token) for tests that want to see frames as they are.

use std::time::Duration;

use anyhow::{Context as _, bail};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A raw gateway connection.
pub struct RawGateway {
    ws: Ws,
    /// The last dispatch sequence number received.
    pub seq: Option<u64>,
    /// The close code, once the server closed the connection.
    pub closed: Option<u16>,
}

impl RawGateway {
    /// Connects to `url` (query parameters are appended as given).
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .with_context(|| format!("connecting to {url}"))?;
        Ok(Self {
            ws,
            seq: None,
            closed: None,
        })
    }

    pub async fn send(&mut self, v: Value) -> anyhow::Result<()> {
        self.ws
            .send(Message::Text(v.to_string().into()))
            .await
            .context("sending a gateway payload")
    }

    /// The next JSON payload; Err on timeout or close (`closed` holds the code).
    pub async fn recv(&mut self, timeout: Duration) -> anyhow::Result<Value> {
        loop {
            let msg = tokio::time::timeout(timeout, self.ws.next())
                .await
                .context("timed out waiting for a gateway payload")?;
            match msg {
                Some(Ok(Message::Text(t))) => {
                    let v: Value =
                        serde_json::from_str(t.as_str()).context("gateway payload is not JSON")?;
                    if let Some(s) = v["s"].as_u64() {
                        self.seq = Some(s);
                    }
                    return Ok(v);
                }
                Some(Ok(Message::Close(frame))) => {
                    self.closed = Some(frame.map_or(1005, |f| u16::from(f.code)));
                    bail!("connection closed with {:?}", self.closed);
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => bail!("websocket error: {e}"),
                None => bail!("connection ended"),
            }
        }
    }

    /// Receives until a dispatch named `event` (returns the whole payload).
    pub async fn wait_for(&mut self, event: &str, timeout: Duration) -> anyhow::Result<Value> {
        let end = tokio::time::Instant::now() + timeout;
        loop {
            let left = end.saturating_duration_since(tokio::time::Instant::now());
            let v = self.recv(left).await?;
            if v["t"].as_str() == Some(event) {
                return Ok(v);
            }
        }
    }

    /// IDENTIFY like discord.js (bare token).
    pub async fn identify(&mut self, token: &str, intents: u64) -> anyhow::Result<()> {
        self.send(json!({
            "op": 2,
            "d": {
                "token": token,
                "intents": intents,
                "properties": { "os": "linux", "browser": "discord.js", "device": "discord.js" },
                "large_threshold": 50,
                "shard": [0, 1],
            }
        }))
        .await
    }

    pub async fn heartbeat(&mut self) -> anyhow::Result<()> {
        let seq = self.seq;
        self.send(json!({ "op": 1, "d": seq })).await
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}
