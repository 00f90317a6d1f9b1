//! Purpose: the control API over HTTP (`/_emulator/...`) for the standalone binary: the same
//! operations as the Rust API.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State as AxState};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::diff::GuildView;
use crate::error::ApiError;
use crate::server::Inner;

use super::*;

// ---- HTTP control API (for the standalone binary) ----

type S = AxState<Arc<Inner>>;

fn emu_of(inner: &Arc<Inner>) -> Emulator {
    Emulator {
        inner: inner.clone(),
    }
}

fn jerr(e: ApiError) -> (axum::http::StatusCode, axum::Json<Value>) {
    (
        axum::http::StatusCode::from_u16(e.status).unwrap_or(axum::http::StatusCode::BAD_REQUEST),
        axum::Json(e.body()),
    )
}

type JResult = Result<axum::Json<Value>, (axum::http::StatusCode, axum::Json<Value>)>;

fn vid(v: &Value, key: &str) -> Result<u64, ApiError> {
    match &v[key] {
        Value::String(s) => crate::snowflake::parse(s),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
    .ok_or_else(|| ApiError::invalid_form(key, "BASE_TYPE_REQUIRED", "This field is required"))
}

fn opt_vid(v: &Value, key: &str) -> Option<u64> {
    vid(v, key).ok()
}

/// `POST /_emulator/act`: `{"user_id", "action", ...}` performs one action as that user.
fn act(inner: &Arc<Inner>, b: &Value) -> Result<Value, ApiError> {
    let user = vid(b, "user_id")?;
    let reason = b["reason"].as_str();
    let body = b.get("body").cloned().unwrap_or(json!({}));
    let mut st = inner.state.lock();
    let action = b["action"].as_str().unwrap_or_default();
    match action {
        "create_role" => st.create_role(user, vid(b, "guild_id")?, &body, reason),
        "update_role" => {
            st.update_role(user, vid(b, "guild_id")?, vid(b, "role_id")?, &body, reason)
        }
        "delete_role" => st
            .delete_role(user, vid(b, "guild_id")?, vid(b, "role_id")?, reason)
            .map(|_| Value::Null),
        "create_channel" => st.create_channel(user, vid(b, "guild_id")?, &body, reason),
        "update_channel" => st.update_channel(user, vid(b, "channel_id")?, &body, reason),
        "delete_channel" => st.delete_channel(user, vid(b, "channel_id")?, reason),
        "put_overwrite" => st
            .put_overwrite(
                user,
                vid(b, "channel_id")?,
                vid(b, "target_id")?,
                &body,
                reason,
            )
            .map(|_| Value::Null),
        "delete_overwrite" => st
            .delete_overwrite(user, vid(b, "channel_id")?, vid(b, "target_id")?, reason)
            .map(|_| Value::Null),
        "ban" => st
            .ban(user, vid(b, "guild_id")?, vid(b, "target_id")?, reason)
            .map(|_| Value::Null),
        "unban" => st
            .unban(user, vid(b, "guild_id")?, vid(b, "target_id")?, reason)
            .map(|_| Value::Null),
        "kick" => st
            .kick_member(user, vid(b, "guild_id")?, vid(b, "target_id")?, reason)
            .map(|_| Value::Null),
        "update_member" => st.update_member(
            user,
            vid(b, "guild_id")?,
            vid(b, "target_id")?,
            &body,
            reason,
        ),
        "update_guild" => st.update_guild(user, vid(b, "guild_id")?, &body, reason),
        "create_webhook" => st.create_webhook(user, vid(b, "channel_id")?, &body, reason),
        "add_bot" => {
            let perms = b["permissions"]
                .as_str()
                .and_then(|p| p.parse().ok())
                .or_else(|| b["permissions"].as_u64())
                .unwrap_or(0);
            st.add_bot(user, vid(b, "guild_id")?, vid(b, "application_id")?, perms)
                .map(|r| json!({ "role_id": r.to_string() }))
        }
        "send_message" => {
            let parts = st.parse_message(&body, Vec::new())?;
            st.send_message(user, vid(b, "channel_id")?, parts)
        }
        "grant_permissions" => {
            let (g, role) = (vid(b, "guild_id")?, vid(b, "role_id")?);
            let add = b["permissions"]
                .as_str()
                .and_then(|p| p.parse::<u64>().ok())
                .or_else(|| b["permissions"].as_u64())
                .unwrap_or(0);
            let current = st
                .world
                .guild(g)?
                .roles
                .get(&role)
                .map(|r| r.permissions)
                .ok_or_else(ApiError::unknown_role)?;
            st.update_role(
                user,
                g,
                role,
                &json!({ "permissions": (current | add).to_string() }),
                reason,
            )
        }
        "add_member_role" => st
            .set_member_role(
                user,
                vid(b, "guild_id")?,
                vid(b, "target_id")?,
                vid(b, "role_id")?,
                true,
                reason,
            )
            .map(|_| Value::Null),
        "remove_member_role" => st
            .set_member_role(
                user,
                vid(b, "guild_id")?,
                vid(b, "target_id")?,
                vid(b, "role_id")?,
                false,
                reason,
            )
            .map(|_| Value::Null),
        "bulk_ban" => st.bulk_ban(user, vid(b, "guild_id")?, &body, reason),
        "prune" => st
            .prune(
                user,
                vid(b, "guild_id")?,
                b["days"].as_i64().unwrap_or(7),
                &[],
                reason,
            )
            .map(|n| json!({ "pruned": n })),
        "delete_webhook" => st
            .delete_webhook(Some(user), vid(b, "webhook_id")?, reason)
            .map(|_| Value::Null),
        "create_emoji" => st.create_emoji(user, vid(b, "guild_id")?, &body, reason),
        "set_role_positions" => st.update_role_positions(user, vid(b, "guild_id")?, &body, reason),
        "set_channel_positions" => st
            .update_channel_positions(user, vid(b, "guild_id")?, &body, reason)
            .map(|_| Value::Null),
        other => Err(ApiError::new(400, 0, format!("unknown action {other:?}"))),
    }
}

/// Routes under `/_emulator`.
pub fn control_routes() -> Router<Arc<Inner>> {
    Router::new()
        .route("/_emulator/info", get(|AxState(inner): S| async move { axum::Json(emu_of(&inner).info(None)) }))
        .route(
            "/_emulator/users",
            post(|AxState(inner): S, axum::Json(b): axum::Json<Value>| async move {
                let id = emu_of(&inner).create_user(b["name"].as_str().unwrap_or("user"));
                axum::Json(json!({ "id": id.to_string() }))
            }),
        )
        .route(
            "/_emulator/users/{user_id}/dms",
            post(|AxState(inner): S, Path(user): Path<u64>, axum::Json(b): axum::Json<Value>| async move {
                emu_of(&inner).set_dms_open(user, b["open"].as_bool().unwrap_or(true));
                axum::Json(json!({}))
            }),
        )
        .route(
            "/_emulator/guilds",
            post(|AxState(inner): S, axum::Json(b): axum::Json<Value>| async move {
                let owner = vid(&b, "owner_id").map_err(jerr)?;
                let id = emu_of(&inner).create_guild(owner, b["name"].as_str().unwrap_or("guild"));
                JResult::Ok(axum::Json(json!({ "id": id.to_string() })))
            }),
        )
        .route(
            "/_emulator/guilds/{guild_id}",
            get(|AxState(inner): S, Path(g): Path<u64>| async move {
                match emu_of(&inner).guild_view(g) {
                    Some(v) => Ok(axum::Json(serde_json::to_value(v).unwrap_or(Value::Null))),
                    None => Err(jerr(ApiError::unknown_guild())),
                }
            }),
        )
        .route(
            "/_emulator/guilds/{guild_id}/members",
            post(|AxState(inner): S, Path(g): Path<u64>, axum::Json(b): axum::Json<Value>| async move {
                let user = vid(&b, "user_id").map_err(jerr)?;
                emu_of(&inner).add_member(g, user).map_err(jerr)?;
                JResult::Ok(axum::Json(json!({})))
            }),
        )
        .route(
            "/_emulator/guilds/{guild_id}/audit-log",
            get(|AxState(inner): S, Path(g): Path<u64>| async move { axum::Json(serde_json::to_value(emu_of(&inner).audit_log(g)).unwrap_or(Value::Null)) }),
        )
        .route(
            "/_emulator/act",
            post(|AxState(inner): S, axum::Json(b): axum::Json<Value>| async move { act(&inner, &b).map(axum::Json).map_err(jerr) }),
        )
        .route(
            "/_emulator/interactions/command",
            post(|AxState(inner): S, axum::Json(b): axum::Json<Value>| async move {
                let user = vid(&b, "user_id").map_err(jerr)?;
                let h = emu_of(&inner)
                    .invoke_command(
                        user,
                        opt_vid(&b, "guild_id"),
                        opt_vid(&b, "channel_id"),
                        b["command"].as_str().unwrap_or_default(),
                        b.get("options").cloned().unwrap_or(json!({})),
                        b["locale"].as_str().unwrap_or("en-US"),
                    )
                    .map_err(jerr)?;
                JResult::Ok(axum::Json(json!({ "interaction_id": h.id.to_string() })))
            }),
        )
        .route(
            "/_emulator/interactions/button",
            post(|AxState(inner): S, axum::Json(b): axum::Json<Value>| async move {
                let user = vid(&b, "user_id").map_err(jerr)?;
                let msg = vid(&b, "message_id").map_err(jerr)?;
                let h = emu_of(&inner).click_button(user, msg, b["custom_id"].as_str().unwrap_or_default()).map_err(jerr)?;
                JResult::Ok(axum::Json(json!({ "interaction_id": h.id.to_string() })))
            }),
        )
        .route(
            "/_emulator/interactions/{interaction_id}",
            get(|AxState(inner): S, Path(id): Path<u64>| async move {
                let h = InteractionHandle { emu: emu_of(&inner), id };
                match h.view() {
                    Ok(v) => Ok(axum::Json(serde_json::to_value(v).unwrap_or(Value::Null))),
                    Err(_) => Err(jerr(ApiError::unknown_interaction())),
                }
            }),
        )
        .route(
            "/_emulator/interactions/{interaction_id}/modal",
            post(|AxState(inner): S, Path(id): Path<u64>, axum::Json(b): axum::Json<Value>| async move {
                let user = vid(&b, "user_id").map_err(jerr)?;
                let emu = emu_of(&inner);
                let from = InteractionHandle { emu: emu.clone(), id };
                let values: Vec<(String, String)> = b["values"]
                    .as_object()
                    .map(|o| o.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect())
                    .unwrap_or_default();
                let fields: Vec<(&str, &str)> = values.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                let h = emu.submit_modal(user, &from, &fields).map_err(jerr)?;
                JResult::Ok(axum::Json(json!({ "interaction_id": h.id.to_string() })))
            }),
        )
        .route(
            "/_emulator/channels/{channel_id}/messages",
            get(|AxState(inner): S, Path(c): Path<u64>| async move { axum::Json(serde_json::to_value(emu_of(&inner).messages_in(c)).unwrap_or(Value::Null)) }),
        )
        .route(
            "/_emulator/users/{user_id}/dm-messages",
            get(|AxState(inner): S, Path(u): Path<u64>| async move { axum::Json(serde_json::to_value(emu_of(&inner).dm_messages_to(u)).unwrap_or(Value::Null)) }),
        )
        .route(
            "/_emulator/requests",
            get(|AxState(inner): S| async move {
                let origin = inner.started;
                let log = emu_of(&inner).request_log();
                let v: Vec<Value> = log
                    .iter()
                    .map(|r| {
                        let mut x = serde_json::to_value(r).unwrap_or(Value::Null);
                        x["received_ms"] = json!(r.received.saturating_duration_since(origin).as_secs_f64() * 1000.0);
                        x["answered_ms"] = json!(r.answered.saturating_duration_since(origin).as_secs_f64() * 1000.0);
                        x
                    })
                    .collect();
                axum::Json(Value::Array(v))
            }),
        )
        .route(
            "/_emulator/fixtures",
            post(|AxState(inner): S, axum::Json(b): axum::Json<Value>| async move {
                let spec = match b.get("spec") {
                    Some(s) => serde_json::from_value::<crate::fixtures::FixtureSpec>(s.clone())
                        .map_err(|e| jerr(ApiError::new(400, 50035, format!("bad fixture spec: {e}"))))?,
                    None => match b["preset"].as_str().unwrap_or("small") {
                        "large" => crate::fixtures::FixtureSpec::large(),
                        _ => crate::fixtures::FixtureSpec::small(),
                    },
                };
                let f = emu_of(&inner).build_fixture(&spec);
                JResult::Ok(axum::Json(serde_json::to_value(f).unwrap_or(Value::Null)))
            }),
        )
        .route(
            "/_emulator/diff",
            post(|axum::Json(b): axum::Json<Value>| async move {
                let parse = |k: &str| serde_json::from_value::<GuildView>(b[k].clone());
                let (Ok(before), Ok(after)) = (parse("before"), parse("after")) else {
                    return Err(jerr(ApiError::new(400, 50035, "before and after must be guild views")));
                };
                let opts = serde_json::from_value::<crate::diff::DiffOptions>(b["options"].clone()).unwrap_or_default();
                let entries = crate::diff::diff(&before, &after, &opts);
                Ok(axum::Json(serde_json::to_value(entries).unwrap_or(Value::Null)))
            }),
        )
        .route("/_emulator/counters", get(|AxState(inner): S| async move { axum::Json(serde_json::to_value(emu_of(&inner).counters()).unwrap_or(Value::Null)) }))
        .route(
            "/_emulator/dispatches",
            get(|AxState(inner): S| async move {
                let log = emu_of(&inner).dispatch_log();
                let v: Vec<Value> = log
                    .iter()
                    .map(|d| json!({ "event": d.event, "guild_id": d.guild_id.map(|g| g.to_string()), "target_id": d.target_id.map(|t| t.to_string()), "sessions": d.sessions }))
                    .collect();
                axum::Json(Value::Array(v))
            }),
        )
        .route(
            "/_emulator/gateway/{application_id}/{hook}",
            post(|AxState(inner): S, Path((app, hook)): Path<(u64, String)>| async move {
                let emu = emu_of(&inner);
                let n = match hook.as_str() {
                    "reconnect" => emu.send_reconnect(app),
                    "invalid-session" => emu.send_invalid_session(app, false),
                    "invalid-session-resumable" => emu.send_invalid_session(app, true),
                    "disconnect" => emu.disconnect(app),
                    _ => return Err(jerr(ApiError::not_found())),
                };
                Ok(axum::Json(json!({ "sessions": n })))
            }),
        )
        .route(
            "/_emulator/oauth/authorize",
            post(|AxState(inner): S, axum::Json(b): axum::Json<Value>| async move {
                let user = vid(&b, "user_id").map_err(jerr)?;
                let client = vid(&b, "client_id").map_err(jerr)?;
                let scopes: Vec<String> = b["scopes"].as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect()).unwrap_or_default();
                let scope_refs: Vec<&str> = scopes.iter().map(String::as_str).collect();
                match emu_of(&inner).authorize(user, client, b["redirect_uri"].as_str().unwrap_or_default(), &scope_refs, b["code_challenge"].as_str()) {
                    Ok(code) => Ok(axum::Json(json!({ "code": code }))),
                    Err(e) => Err((axum::http::StatusCode::BAD_REQUEST, axum::Json(e.body()))),
                }
            }),
        )
        .route(
            "/_emulator/oauth/default-user",
            post(|AxState(inner): S, axum::Json(b): axum::Json<Value>| async move {
                emu_of(&inner).set_oauth_user(opt_vid(&b, "user_id"));
                axum::Json(json!({}))
            }),
        )
}
