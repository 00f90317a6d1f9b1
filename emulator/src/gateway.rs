//! Purpose: the Gateway (WebSocket, JSON text frames): HELLO, heartbeats and ACKs, IDENTIFY
//! (token and intent checks), READY + GUILD_CREATE, RESUME with replay, REQUEST_GUILD_MEMBERS
//! in chunks, and hooks to send op 7 / op 9 or drop connections.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message as WsMessage, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{RawQuery, State as AxState};
use axum::response::{IntoResponse, Response};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

use crate::model::*;
use crate::server::Inner;
use crate::state::{Conn, Outbound, Session, State, intents};

/// Close codes.
pub mod close {
    pub const UNKNOWN_ERROR: u16 = 4000;
    pub const UNKNOWN_OPCODE: u16 = 4001;
    pub const DECODE_ERROR: u16 = 4002;
    pub const NOT_AUTHENTICATED: u16 = 4003;
    pub const AUTHENTICATION_FAILED: u16 = 4004;
    pub const ALREADY_AUTHENTICATED: u16 = 4005;
    pub const SESSION_TIMED_OUT: u16 = 4009;
    pub const INVALID_SHARD: u16 = 4010;
    pub const INVALID_INTENTS: u16 = 4013;
    pub const DISALLOWED_INTENTS: u16 = 4014;
}

/// `GET /gateway` (WebSocket upgrade). Accepts `?v=10&encoding=json`.
pub async fn ws_handler(
    AxState(inner): AxState<Arc<Inner>>,
    RawQuery(q): RawQuery,
    ws: WebSocketUpgrade,
) -> Response {
    let q = q.unwrap_or_default();
    if q.split('&').any(|kv| kv == "encoding=etf") {
        return (
            axum::http::StatusCode::BAD_REQUEST,
            "encoding=etf is not supported by the emulator",
        )
            .into_response();
    }
    ws.max_message_size(16 << 20)
        .on_upgrade(move |socket| run_connection(inner, socket))
}

fn frame(o: &Outbound) -> Option<WsMessage> {
    match o {
        Outbound::Dispatch { seq, event, d } => Some(WsMessage::Text(Utf8Bytes::from(format!(
            "{{\"op\":0,\"s\":{seq},\"t\":\"{event}\",\"d\":{d}}}"
        )))),
        Outbound::Raw(s) => Some(WsMessage::Text(Utf8Bytes::from(s.clone()))),
        Outbound::Close { code, reason } if *code != 0 => {
            Some(WsMessage::Close(Some(CloseFrame {
                code: *code,
                reason: Utf8Bytes::from(reason.clone()),
            })))
        }
        Outbound::Close { .. } => None,
    }
}

async fn run_connection(inner: Arc<Inner>, socket: WebSocket) {
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Outbound>();
    let (done_tx, mut done_rx) = oneshot::channel::<()>();
    let conn_id = {
        let mut st = inner.state.lock();
        st.next_conn += 1;
        st.next_conn
    };
    let interval = inner.config.heartbeat_interval;
    let _ = tx.send(Outbound::Raw(
        json!({ "op": 10, "s": null, "t": null, "d": { "heartbeat_interval": interval.as_millis() as u64, "_trace": ["discord-emulator"] } }).to_string(),
    ));
    let writer = tokio::spawn(async move {
        while let Some(o) = rx.recv().await {
            let is_close = matches!(o, Outbound::Close { .. });
            if let Some(msg) = frame(&o)
                && sink.send(msg).await.is_err()
            {
                break;
            }
            if is_close {
                break;
            }
        }
        let _ = done_tx.send(());
    });
    let mut session: Option<String> = None;
    let timeout = interval * 2 + Duration::from_secs(5);
    let mut shutdown = inner.shutdown.subscribe();
    loop {
        let msg = tokio::select! {
            _ = &mut done_rx => break,
            _ = shutdown.changed() => break,
            m = tokio::time::timeout(timeout, stream.next()) => m,
        };
        match msg {
            Err(_) => {
                let _ = tx.send(Outbound::Close {
                    code: close::SESSION_TIMED_OUT,
                    reason: "Session timed out".into(),
                });
                break;
            }
            Ok(None) | Ok(Some(Err(_))) => break,
            Ok(Some(Ok(WsMessage::Text(t)))) => {
                if !handle_payload(&inner, &tx, conn_id, &mut session, t.as_str()).await {
                    break;
                }
            }
            Ok(Some(Ok(WsMessage::Binary(_)))) => {
                let _ = tx.send(Outbound::Close {
                    code: close::DECODE_ERROR,
                    reason: "Error while decoding payload.".into(),
                });
                break;
            }
            Ok(Some(Ok(WsMessage::Close(frame)))) => {
                // Echo the close frame, as RFC 6455 (and Discord) do: clients wait for it.
                let (code, reason) = frame
                    .map(|f| (f.code, f.reason.to_string()))
                    .unwrap_or((1000, String::new()));
                let _ = tx.send(Outbound::Close {
                    code: if code == 0 { 1000 } else { code },
                    reason,
                });
                break;
            }
            Ok(Some(Ok(_))) => {}
        }
    }
    if let Some(sid) = session {
        let mut st = inner.state.lock();
        if let Some(s) = st.sessions.get_mut(&sid)
            && s.conn.as_ref().is_some_and(|c| c.id == conn_id)
        {
            s.conn = None;
            s.disconnected_at = Some(Instant::now());
        }
    }
    drop(tx);
    // Give the writer a moment to flush a close frame, then drop everything.
    let _ = tokio::time::timeout(Duration::from_secs(2), writer).await;
}

fn close_with(tx: &mpsc::UnboundedSender<Outbound>, code: u16, reason: &str) -> bool {
    let _ = tx.send(Outbound::Close {
        code,
        reason: reason.to_string(),
    });
    false
}

/// Handles one client payload; false = the connection must end.
async fn handle_payload(
    inner: &Arc<Inner>,
    tx: &mpsc::UnboundedSender<Outbound>,
    conn_id: u64,
    session: &mut Option<String>,
    text: &str,
) -> bool {
    let Ok(p) = serde_json::from_str::<Value>(text) else {
        return close_with(tx, close::DECODE_ERROR, "Error while decoding payload.");
    };
    let op = p.get("op").and_then(Value::as_u64);
    let d = p.get("d").cloned().unwrap_or(Value::Null);
    match op {
        Some(1) => {
            let _ = tx.send(Outbound::Raw(
                "{\"op\":11,\"s\":null,\"t\":null,\"d\":null}".to_string(),
            ));
            true
        }
        Some(2) => {
            if session.is_some() {
                return close_with(
                    tx,
                    close::ALREADY_AUTHENTICATED,
                    "You sent more than one identify payload.",
                );
            }
            match identify(inner, tx, conn_id, &d) {
                Ok(sid) => {
                    *session = Some(sid);
                    true
                }
                Err((code, reason)) => close_with(tx, code, reason),
            }
        }
        Some(6) => match resume(inner, tx, conn_id, &d) {
            Some(sid) => {
                *session = Some(sid);
                true
            }
            None => {
                let _ = tx.send(Outbound::Raw(
                    "{\"op\":9,\"s\":null,\"t\":null,\"d\":false}".to_string(),
                ));
                true
            }
        },
        Some(8) => {
            let Some(sid) = session.clone() else {
                return close_with(
                    tx,
                    close::NOT_AUTHENTICATED,
                    "You sent a payload prior to identifying.",
                );
            };
            request_members(inner, &sid, &d).await;
            true
        }
        Some(3 | 4 | 31) => {
            if session.is_none() {
                return close_with(
                    tx,
                    close::NOT_AUTHENTICATED,
                    "You sent a payload prior to identifying.",
                );
            }
            true
        }
        _ => close_with(tx, close::UNKNOWN_OPCODE, "Unknown opcode."),
    }
}

fn identify(
    inner: &Arc<Inner>,
    tx: &mpsc::UnboundedSender<Outbound>,
    conn_id: u64,
    d: &Value,
) -> Result<String, (u16, &'static str)> {
    let token = d.get("token").and_then(Value::as_str).unwrap_or_default();
    let wanted = d.get("intents").and_then(Value::as_u64).unwrap_or(0);
    let shard = d
        .get("shard")
        .and_then(Value::as_array)
        .and_then(|a| Some((a.first()?.as_u64()?, a.get(1)?.as_u64()?)))
        .unwrap_or((0, 1));
    let mut st = inner.state.lock();
    st.expire_sessions();
    let app = st
        .world
        .app_by_token(token)
        .cloned()
        .ok_or((close::AUTHENTICATION_FAILED, "Authentication failed."))?;
    if wanted & !intents::ALL_KNOWN != 0 {
        return Err((close::INVALID_INTENTS, "Invalid intent(s)."));
    }
    let disallowed = (wanted & intents::GUILD_MEMBERS != 0 && !app.options.guild_members_intent)
        || (wanted & intents::GUILD_PRESENCES != 0 && !app.options.presence_intent)
        || (wanted & intents::MESSAGE_CONTENT != 0 && !app.options.message_content_intent);
    if disallowed {
        return Err((close::DISALLOWED_INTENTS, "Disallowed intent(s)."));
    }
    if shard.1 == 0 || shard.0 >= shard.1 {
        return Err((close::INVALID_SHARD, "Invalid shard."));
    }
    let sid = State::random_token(16);
    st.sessions.insert(
        sid.clone(),
        Session {
            id: sid.clone(),
            app_id: app.id,
            bot_user_id: app.bot_user_id,
            token: app.bot_token.clone(),
            intents: wanted,
            shard,
            seq: 0,
            buffer: Default::default(),
            conn: Some(Conn {
                id: conn_id,
                tx: tx.clone(),
            }),
            disconnected_at: None,
        },
    );
    let mut guilds: Vec<GuildId> = st
        .world
        .guilds
        .values()
        .filter(|g| g.members.contains_key(&app.bot_user_id))
        .map(|g| g.id)
        .filter(|g| shard.1 <= 1 || (g >> 22) % shard.1 == shard.0)
        .collect();
    guilds.sort_unstable();
    let bot = st
        .world
        .users
        .get(&app.bot_user_id)
        .map(|u| u.pii_json(false))
        .unwrap_or(Value::Null);
    let ready = json!({
        "v": 10,
        "user": bot,
        "user_settings": {},
        "guilds": guilds.iter().map(|g| json!({ "id": g.to_string(), "unavailable": true })).collect::<Vec<_>>(),
        "guild_join_requests": [],
        "relationships": [],
        "private_channels": [],
        "presences": [],
        "session_id": sid,
        "session_type": "normal",
        "resume_gateway_url": st.gateway_url,
        "shard": [shard.0, shard.1],
        "application": { "id": app.id.to_string(), "flags": app.flags() },
        "geo_ordered_rtc_regions": [],
        "auth": {},
        "_trace": ["discord-emulator"],
    });
    st.emit_session(&sid, "READY", &ready, None);
    for gid in guilds {
        let Some(g) = st.world.guilds.get(&gid) else {
            continue;
        };
        let gc = st.guild_create_json(g, app.bot_user_id);
        st.emit_session(&sid, "GUILD_CREATE", &gc, Some(gid));
    }
    Ok(sid)
}

fn resume(
    inner: &Arc<Inner>,
    tx: &mpsc::UnboundedSender<Outbound>,
    conn_id: u64,
    d: &Value,
) -> Option<String> {
    let token = d.get("token").and_then(Value::as_str).unwrap_or_default();
    let sid = d.get("session_id").and_then(Value::as_str)?.to_string();
    let seq = d.get("seq").and_then(Value::as_u64).unwrap_or(0);
    let mut st = inner.state.lock();
    st.expire_sessions();
    let app_token = st.world.app_by_token(token).map(|a| a.bot_token.clone())?;
    let limit = st.config.resume_buffer_limit;
    let s = st.sessions.get_mut(&sid)?;
    if s.token != app_token {
        return None;
    }
    let oldest = s.buffer.front().map_or(s.seq + 1, |(n, _, _)| *n);
    if seq + 1 < oldest && seq < s.seq {
        st.sessions.remove(&sid);
        return None;
    }
    if let Some(old) = s.conn.take() {
        let _ = old.tx.send(Outbound::Close {
            code: close::UNKNOWN_ERROR,
            reason: "Session resumed elsewhere".into(),
        });
    }
    for (n, event, payload) in s.buffer.iter().filter(|(n, _, _)| *n > seq) {
        let _ = tx.send(Outbound::Dispatch {
            seq: *n,
            event,
            d: payload.clone(),
        });
    }
    s.conn = Some(Conn {
        id: conn_id,
        tx: tx.clone(),
    });
    s.disconnected_at = None;
    let payload: Arc<str> = Arc::from("{\"_trace\":[\"discord-emulator\"]}");
    s.push("RESUMED", &payload, limit);
    Some(sid)
}

fn parse_guild_ids(v: &Value) -> Vec<GuildId> {
    match v {
        Value::Array(a) => a
            .iter()
            .filter_map(|x| {
                x.as_str()
                    .and_then(crate::snowflake::parse)
                    .or_else(|| x.as_u64())
            })
            .collect(),
        Value::String(s) => crate::snowflake::parse(s).into_iter().collect(),
        Value::Number(n) => n.as_u64().into_iter().collect(),
        _ => Vec::new(),
    }
}

/// REQUEST_GUILD_MEMBERS (op 8): chunks of `member_chunk_size`; a full list at most once per
/// guild per `member_chunk_cooldown` (else a RATE_LIMITED dispatch). Members are copied under
/// the lock and serialized outside it.
async fn request_members(inner: &Arc<Inner>, sid: &str, d: &Value) {
    let guilds = parse_guild_ids(d.get("guild_id").unwrap_or(&Value::Null));
    let query = d
        .get("query")
        .and_then(Value::as_str)
        .map(str::to_lowercase);
    let limit = d.get("limit").and_then(Value::as_u64).unwrap_or(0) as usize;
    let nonce = d
        .get("nonce")
        .and_then(Value::as_str)
        .map(str::to_string)
        .filter(|n| !n.is_empty());
    let presences = d.get("presences").and_then(Value::as_bool).unwrap_or(false);
    let user_ids: Option<Vec<UserId>> = d.get("user_ids").map(parse_guild_ids);
    let chunk_size = inner.config.member_chunk_size.max(1);
    for gid in guilds {
        // Copy what is needed under the lock.
        let (members, not_found) = {
            let mut st = inner.state.lock();
            let cooldown = st.config.scaled(st.config.member_chunk_cooldown);
            let Some(s) = st.sessions.get(sid) else {
                return;
            };
            let (bot, session_intents, app) = (s.bot_user_id, s.intents, s.app_id);
            let Some(g) = st.world.guilds.get(&gid) else {
                continue;
            };
            if !g.members.contains_key(&bot) {
                continue;
            }
            let full = user_ids.is_none()
                && query.as_deref().is_none_or(str::is_empty)
                && (limit == 0 || limit > 100);
            if full && session_intents & intents::GUILD_MEMBERS == 0 {
                tracing::warn!(
                    "REQUEST_GUILD_MEMBERS for the whole list without the GUILD_MEMBERS intent: ignored"
                );
                continue;
            }
            if full {
                let now = Instant::now();
                if let Some(last) = g.last_full_member_request.get(&app).copied() {
                    let elapsed = now.saturating_duration_since(last);
                    if elapsed < cooldown && st.budget_enabled {
                        let retry = (cooldown - elapsed).as_secs_f64();
                        let mut meta = json!({ "guild_id": gid.to_string() });
                        if let Some(n) = &nonce {
                            meta["nonce"] = json!(n);
                        }
                        let rl = json!({ "opcode": 8, "retry_after": (retry * 1000.0).ceil() / 1000.0, "meta": meta });
                        st.emit_session(sid, "RATE_LIMITED", &rl, Some(gid));
                        continue;
                    }
                }
                if let Some(g) = st.world.guilds.get_mut(&gid) {
                    g.last_full_member_request.insert(app, now);
                }
            }
            let Some(g) = st.world.guilds.get(&gid) else {
                continue;
            };
            let mut not_found = Vec::new();
            let picked: Vec<(Member, User)> = match &user_ids {
                Some(ids) => ids
                    .iter()
                    .take(100)
                    .filter_map(|u| {
                        let found = g.members.get(u).zip(st.world.users.get(u));
                        if found.is_none() {
                            not_found.push(*u);
                        }
                        found.map(|(m, u)| (m.clone(), u.clone()))
                    })
                    .collect(),
                None => {
                    let q = query.clone().unwrap_or_default();
                    let max = if full {
                        usize::MAX
                    } else {
                        limit.clamp(1, 100)
                    };
                    g.members
                        .values()
                        .filter_map(|m| st.world.users.get(&m.user_id).map(|u| (m, u)))
                        .filter(|(m, u)| {
                            q.is_empty()
                                || u.username.to_lowercase().starts_with(&q)
                                || m.nick
                                    .as_ref()
                                    .is_some_and(|n| n.to_lowercase().starts_with(&q))
                        })
                        .take(max)
                        .map(|(m, u)| (m.clone(), u.clone()))
                        .collect()
                }
            };
            (picked, not_found)
        };
        let count = members.len().div_ceil(chunk_size).max(1);
        // Each chunk goes out as soon as it is serialized (as Discord streams them): the first
        // arrives while the rest are still being written.
        let slices = members
            .chunks(chunk_size)
            .map(Some)
            .chain(members.is_empty().then_some(None));
        for (i, slice) in slices.enumerate() {
            {
                use std::fmt::Write as _;
                let slice = slice.unwrap_or_default();
                let mut d = String::with_capacity(chunk_size.min(members.len()) * 520 + 128);
                let _ = write!(d, "{{\"guild_id\":\"{gid}\",\"members\":[");
                for (n, (m, u)) in slice.iter().enumerate() {
                    if n > 0 {
                        d.push(',');
                    }
                    m.write_json(u, &mut d);
                }
                let _ = write!(d, "],\"chunk_index\":{i},\"chunk_count\":{count}");
                if i == 0 && !not_found.is_empty() {
                    let ids: Vec<String> = not_found.iter().map(|u| format!("\"{u}\"")).collect();
                    let _ = write!(d, ",\"not_found\":[{}]", ids.join(","));
                }
                if presences {
                    d.push_str(",\"presences\":[]");
                }
                if let Some(n) = &nonce {
                    d.push_str(",\"nonce\":");
                    push_json_str(&mut d, n);
                }
                d.push('}');
                inner.state.lock().emit_session_raw(
                    sid,
                    "GUILD_MEMBERS_CHUNK",
                    Arc::from(d),
                    Some(gid),
                );
            }
            // Let the connection's writer send it while the next one is written.
            tokio::task::yield_now().await;
        }
    }
}

impl State {
    /// Sends op 7 RECONNECT to every connected session of `app` and detaches them: later
    /// dispatches are buffered for the RESUME.
    pub fn send_reconnect(&mut self, app: ApplicationId) -> usize {
        let mut n = 0;
        for s in self.sessions.values_mut().filter(|s| s.app_id == app) {
            if let Some(c) = s.conn.take() {
                let _ = c.tx.send(Outbound::Raw(
                    "{\"op\":7,\"s\":null,\"t\":null,\"d\":null}".to_string(),
                ));
                s.disconnected_at = Some(Instant::now());
                n += 1;
            }
        }
        n
    }

    /// Sends op 9 INVALID_SESSION; a non-resumable session is forgotten.
    pub fn send_invalid_session(&mut self, app: ApplicationId, resumable: bool) -> usize {
        let mut n = 0;
        let mut dead = Vec::new();
        for s in self.sessions.values_mut().filter(|s| s.app_id == app) {
            if let Some(c) = s.conn.take() {
                let _ = c.tx.send(Outbound::Raw(format!(
                    "{{\"op\":9,\"s\":null,\"t\":null,\"d\":{resumable}}}"
                )));
                s.disconnected_at = Some(Instant::now());
                n += 1;
            }
            if !resumable {
                dead.push(s.id.clone());
            }
        }
        for d in dead {
            self.sessions.remove(&d);
        }
        n
    }

    /// Drops the connections of `app` without a close frame (sessions stay resumable), or
    /// with a close frame when `code` is given.
    pub fn disconnect(&mut self, app: ApplicationId, code: Option<u16>) -> usize {
        let mut n = 0;
        for s in self.sessions.values_mut().filter(|s| s.app_id == app) {
            if let Some(c) = s.conn.take() {
                let _ = c.tx.send(Outbound::Close {
                    code: code.unwrap_or(0),
                    reason: "disconnected by the emulator".into(),
                });
                s.disconnected_at = Some(Instant::now());
                n += 1;
            }
        }
        n
    }
}
