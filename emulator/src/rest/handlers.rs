//! Purpose: REST v10 handlers; each one resolves the caller and delegates to one `State`
//! operation so REST and the control API share the same rules.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, State as AxState};
use axum::http::{HeaderValue, StatusCode};
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::{ApiRequest, ApiResult, Caller, Reply, param};
use crate::error::ApiError;
use crate::model::*;
use crate::permissions as perm;
use crate::server::Inner;
use crate::state::World;

type P = Path<HashMap<String, String>>;
type S = AxState<Arc<Inner>>;

fn member_of(g: &Guild, user: UserId) -> Result<(), ApiError> {
    if g.members.contains_key(&user) {
        Ok(())
    } else {
        Err(ApiError::missing_access())
    }
}

// ---- gateway, application, users ----

pub async fn get_gateway(AxState(inner): S) -> ApiResult {
    let url = inner.state.lock().gateway_url.clone();
    Ok(Reply::ok(json!({ "url": url })))
}

pub async fn get_gateway_bot(AxState(inner): S, req: ApiRequest) -> ApiResult {
    req.bot()?;
    let url = inner.state.lock().gateway_url.clone();
    Ok(Reply::ok(json!({
        "url": url,
        "shards": 1,
        "session_start_limit": { "total": 1000, "remaining": 999, "reset_after": 86_400_000, "max_concurrency": 1 },
    })))
}

pub async fn get_my_application(AxState(inner): S, req: ApiRequest) -> ApiResult {
    let app = req.bot_app()?;
    let st = inner.state.lock();
    let a = st
        .world
        .apps
        .get(&app)
        .ok_or_else(ApiError::unknown_application)?;
    let bot = st.world.user(a.bot_user_id)?;
    let owner = st.world.user(a.owner_id)?;
    Ok(Reply::ok(a.json(bot, owner)))
}

pub async fn get_me(AxState(inner): S, req: ApiRequest) -> ApiResult {
    let st = inner.state.lock();
    match &req.caller {
        Caller::Bot { user, .. } => Ok(Reply::ok(st.world.user(*user)?.pii_json(true))),
        Caller::Bearer { user, scopes, .. } => {
            if !scopes.iter().any(|s| s == "identify") {
                return Err(ApiError::unauthorized());
            }
            Ok(Reply::ok(
                st.world
                    .user(*user)?
                    .pii_json(scopes.iter().any(|s| s == "email")),
            ))
        }
        _ => Err(ApiError::unauthorized()),
    }
}

pub async fn get_my_guilds(AxState(inner): S, req: ApiRequest) -> ApiResult {
    let st = inner.state.lock();
    let user = match &req.caller {
        Caller::Bot { user, .. } => *user,
        Caller::Bearer { user, scopes, .. } if scopes.iter().any(|s| s == "guilds") => *user,
        Caller::Bearer { .. } => return Err(ApiError::missing_access()),
        _ => return Err(ApiError::unauthorized()),
    };
    let limit = req.q_int("limit", 1, 200, 200)? as usize;
    let after = req.q_id("after")?.unwrap_or(0);
    let mut guilds: Vec<&Guild> = st
        .world
        .guilds
        .values()
        .filter(|g| g.id > after && g.members.contains_key(&user))
        .collect();
    guilds.sort_by_key(|g| g.id);
    let out: Vec<Value> = guilds
        .into_iter()
        .take(limit)
        .map(|g| {
            json!({
                "id": g.id.to_string(),
                "name": g.settings.name,
                "icon": null,
                "banner": null,
                "owner": g.owner_id == user,
                "permissions": World::base_permissions(g, user).to_string(),
                "features": g.settings.features,
            })
        })
        .collect();
    Ok(Reply::ok(Value::Array(out)))
}

pub async fn leave_guild(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let mut st = inner.state.lock();
    let g = st.world.guild(gid)?;
    if !g.members.contains_key(&user) {
        return Err(ApiError::unknown_guild());
    }
    if g.owner_id == user {
        return Err(ApiError::invalid_form(
            "guild_id",
            "OWNER_CANNOT_LEAVE",
            "Owners cannot leave their guild",
        ));
    }
    st.kick_member(user, gid, user, None)?;
    Ok(Reply::NoContent)
}

pub async fn get_user(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    req.bot()?;
    let uid = param(&p, "user_id")?;
    let st = inner.state.lock();
    Ok(Reply::ok(st.world.user(uid)?.json()))
}

pub async fn get_oauth2_me(AxState(inner): S, req: ApiRequest) -> ApiResult {
    let Caller::Bearer { app, user, scopes } = &req.caller else {
        return Err(ApiError::unauthorized());
    };
    let st = inner.state.lock();
    let a = st
        .world
        .apps
        .get(app)
        .ok_or_else(ApiError::unknown_application)?;
    let bot = st.world.user(a.bot_user_id)?;
    let token = req
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let expires = st
        .bearer(token.trim())
        .map(|g| {
            chrono::Utc::now()
                + chrono::Duration::from_std(
                    g.expires
                        .saturating_duration_since(std::time::Instant::now()),
                )
                .unwrap_or_default()
        })
        .unwrap_or_else(chrono::Utc::now);
    let mut out =
        json!({ "application": a.public_json(bot), "expires": ts(&expires), "scopes": scopes });
    if scopes.iter().any(|s| s == "identify") {
        out["user"] = st.world.user(*user)?.json();
    }
    Ok(Reply::ok(out))
}

pub async fn create_dm(AxState(inner): S, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let b = req.json()?;
    let recipient = crate::state::body::snowflake(&b, "recipient_id")?
        .flatten()
        .ok_or_else(|| {
            ApiError::invalid_form(
                "recipient_id",
                "BASE_TYPE_REQUIRED",
                "This field is required",
            )
        })?;
    Ok(Reply::ok(inner.state.lock().create_dm(user, recipient)?))
}

// ---- application commands ----

fn cmd_scope(p: &HashMap<String, String>) -> Result<(ApplicationId, Option<GuildId>), ApiError> {
    let app = param(p, "application_id")?;
    let guild = if p.contains_key("guild_id") {
        Some(param(p, "guild_id")?)
    } else {
        None
    };
    Ok((app, guild))
}

pub async fn list_commands(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let (app, guild) = cmd_scope(&p)?;
    let st = inner.state.lock();
    let a = st
        .world
        .apps
        .get(&app)
        .ok_or_else(ApiError::unknown_application)?;
    if a.bot_user_id != user {
        return Err(ApiError::missing_access());
    }
    Ok(Reply::ok(Value::Array(st.commands(app, guild))))
}

pub async fn put_commands(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let (app, guild) = cmd_scope(&p)?;
    let b = req.json()?;
    Ok(Reply::ok(
        inner.state.lock().put_commands(user, app, guild, &b)?,
    ))
}

pub async fn post_command(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let (app, guild) = cmd_scope(&p)?;
    let b = req.json()?;
    let (cmd, new) = inner.state.lock().post_command(user, app, guild, &b)?;
    Ok(if new {
        Reply::created(cmd)
    } else {
        Reply::ok(cmd)
    })
}

pub async fn get_command(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let (app, guild) = cmd_scope(&p)?;
    let id = param(&p, "command_id")?.to_string();
    let st = inner.state.lock();
    if st
        .world
        .apps
        .get(&app)
        .is_none_or(|a| a.bot_user_id != user)
    {
        return Err(ApiError::missing_access());
    }
    st.commands(app, guild)
        .into_iter()
        .find(|c| c["id"].as_str() == Some(id.as_str()))
        .map(Reply::ok)
        .ok_or_else(ApiError::unknown_command)
}

pub async fn delete_command(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let (app, guild) = cmd_scope(&p)?;
    let id = param(&p, "command_id")?;
    inner.state.lock().delete_command(user, app, guild, id)?;
    Ok(Reply::NoContent)
}

// ---- interactions and webhooks ----

pub async fn interaction_callback(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let id = param(&p, "interaction_id")?;
    let token = p.get("interaction_token").cloned().unwrap_or_default();
    let b = req.json()?;
    let with_response = req.q("with_response") == Some("true");
    let out = inner.state.lock().interaction_callback(
        id,
        &token,
        &b,
        req.files.clone(),
        with_response,
    )?;
    Ok(match out {
        Some(v) => Reply::ok(v),
        None => Reply::NoContent,
    })
}

fn token_webhook(
    inner: &Inner,
    p: &HashMap<String, String>,
) -> Result<(u64, String, Option<InteractionId>), ApiError> {
    let id = param(p, "webhook_id")?;
    let token = p.get("webhook_token").cloned().unwrap_or_default();
    let st = inner.state.lock();
    if let Some(iid) = st.interaction_webhook(id, &token) {
        return Ok((id, token, Some(iid)));
    }
    match st.world.webhooks.get(&id) {
        Some(w) if w.token == token => Ok((id, token, None)),
        _ => Err(ApiError::unknown_webhook()),
    }
}

pub async fn execute_webhook(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let (id, _, interaction) = token_webhook(&inner, &p)?;
    let b = req.json()?;
    let mut st = inner.state.lock();
    if let Some(iid) = interaction {
        return Ok(Reply::ok(st.followup(iid, &b, req.files.clone())?));
    }
    let hook = st
        .world
        .webhooks
        .get(&id)
        .cloned()
        .ok_or_else(ApiError::unknown_webhook)?;
    let mut parts = st.parse_message(&b, req.files.clone())?;
    // The name and avatar this message is sent with (Discord's checks on the name).
    let username = crate::state::body::string(&b, "username", 1, 80)?.flatten();
    if username.as_deref().is_some_and(|n| {
        let n = n.to_lowercase();
        n.contains("clyde") || n.contains("discord")
    }) {
        return Err(ApiError::invalid_form(
            "username",
            "USERNAME_INVALID_CONTAINS",
            "Username cannot contain \"discord\"",
        ));
    }
    let avatar_url = crate::state::body::string(&b, "avatar_url", 1, 2048)?.flatten();
    if avatar_url
        .as_deref()
        .is_some_and(|u| !u.starts_with("https://") && !u.starts_with("http://"))
    {
        return Err(ApiError::invalid_form(
            "avatar_url",
            "URL_TYPE_INVALID_URL",
            "Not a well formed URL.",
        ));
    }
    if username.is_some() || avatar_url.is_some() {
        parts.webhook_author = Some(crate::model::WebhookAuthor {
            username,
            avatar_url,
        });
    }
    let origin = crate::ops_messages::MessageOrigin {
        author_id: hook.creator_id,
        webhook_id: Some(hook.id),
        application_id: hook.application_id,
        interaction: None,
        kind: 0,
    };
    let mj = st.insert_message(hook.channel_id, origin, parts)?;
    Ok(if req.q("wait") == Some("true") {
        Reply::ok(mj)
    } else {
        Reply::NoContent
    })
}

pub async fn get_webhook_by_token(AxState(inner): S, Path(p): P) -> ApiResult {
    let (id, _, interaction) = token_webhook(&inner, &p)?;
    if interaction.is_some() {
        return Err(ApiError::unknown_webhook());
    }
    let st = inner.state.lock();
    let w = st
        .world
        .webhooks
        .get(&id)
        .ok_or_else(ApiError::unknown_webhook)?;
    let mut v = w.json(None, &st.base_url, false);
    v["token"] = json!(w.token);
    v["url"] = json!(format!("{}/api/webhooks/{}/{}", st.base_url, w.id, w.token));
    Ok(Reply::ok(v))
}

pub async fn update_webhook_by_token(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let (id, _, interaction) = token_webhook(&inner, &p)?;
    if interaction.is_some() {
        return Err(ApiError::unknown_webhook());
    }
    let b = req.json()?;
    Ok(Reply::ok(inner.state.lock().update_webhook(
        None,
        id,
        &b,
        req.reason(),
    )?))
}

pub async fn delete_webhook_by_token(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let (id, _, interaction) = token_webhook(&inner, &p)?;
    if interaction.is_some() {
        return Err(ApiError::unknown_webhook());
    }
    inner.state.lock().delete_webhook(None, id, req.reason())?;
    Ok(Reply::NoContent)
}

fn message_param(p: &HashMap<String, String>) -> Result<Option<MessageId>, ApiError> {
    if p.contains_key("message_id") {
        param(p, "message_id").map(Some)
    } else {
        Ok(None)
    }
}

pub async fn get_webhook_message(AxState(inner): S, Path(p): P) -> ApiResult {
    let (id, _, interaction) = token_webhook(&inner, &p)?;
    let mid = message_param(&p)?;
    let st = inner.state.lock();
    let mid = match interaction {
        Some(iid) => st.interaction_message(iid, mid)?,
        None => {
            let mid = mid.ok_or_else(ApiError::unknown_message)?;
            st.world
                .messages
                .get(&mid)
                .filter(|m| m.webhook_id == Some(id))
                .ok_or_else(ApiError::unknown_message)?;
            mid
        }
    };
    let m = st
        .world
        .messages
        .get(&mid)
        .filter(|m| !m.deleted)
        .ok_or_else(ApiError::unknown_message)?;
    Ok(Reply::ok(st.message_json(m)))
}

pub async fn edit_webhook_message(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let (id, _, interaction) = token_webhook(&inner, &p)?;
    let mid = message_param(&p)?;
    let b = req.json()?;
    let mut st = inner.state.lock();
    match interaction {
        Some(iid) => Ok(Reply::ok(st.edit_interaction_message(
            iid,
            mid,
            &b,
            req.files.clone(),
        )?)),
        None => {
            let mid = mid.ok_or_else(ApiError::unknown_message)?;
            st.world
                .messages
                .get(&mid)
                .filter(|m| m.webhook_id == Some(id))
                .ok_or_else(ApiError::unknown_message)?;
            let parts = st.parse_message(&b, req.files.clone())?;
            Ok(Reply::ok(st.edit_message(mid, parts)?))
        }
    }
}

pub async fn delete_webhook_message(AxState(inner): S, Path(p): P) -> ApiResult {
    let (id, _, interaction) = token_webhook(&inner, &p)?;
    let mid = message_param(&p)?;
    let mut st = inner.state.lock();
    match interaction {
        Some(iid) => st.delete_interaction_message(iid, mid)?,
        None => {
            let mid = mid.ok_or_else(ApiError::unknown_message)?;
            st.world
                .messages
                .get(&mid)
                .filter(|m| m.webhook_id == Some(id))
                .ok_or_else(ApiError::unknown_message)?;
            st.remove_message(mid)?;
        }
    }
    Ok(Reply::NoContent)
}

pub async fn get_webhook(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let id = param(&p, "webhook_id")?;
    let st = inner.state.lock();
    let w = st
        .world
        .webhooks
        .get(&id)
        .ok_or_else(ApiError::unknown_webhook)?;
    let g = st.world.guild(w.guild_id)?;
    World::require(g, user, perm::MANAGE_WEBHOOKS)?;
    Ok(Reply::ok(w.json(
        st.world.users.get(&w.creator_id),
        &st.base_url,
        true,
    )))
}

pub async fn update_webhook(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let id = param(&p, "webhook_id")?;
    let b = req.json()?;
    Ok(Reply::ok(inner.state.lock().update_webhook(
        Some(user),
        id,
        &b,
        req.reason(),
    )?))
}

pub async fn delete_webhook(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let id = param(&p, "webhook_id")?;
    inner
        .state
        .lock()
        .delete_webhook(Some(user), id, req.reason())?;
    Ok(Reply::NoContent)
}

pub async fn guild_webhooks(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let st = inner.state.lock();
    let g = st.world.guild(gid)?;
    World::require(g, user, perm::MANAGE_WEBHOOKS)?;
    let mut hooks: Vec<&Webhook> = st
        .world
        .webhooks
        .values()
        .filter(|w| w.guild_id == gid)
        .collect();
    hooks.sort_by_key(|w| w.id);
    Ok(Reply::ok(Value::Array(
        hooks
            .iter()
            .map(|w| w.json(st.world.users.get(&w.creator_id), &st.base_url, true))
            .collect(),
    )))
}

pub async fn channel_webhooks(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let cid = param(&p, "channel_id")?;
    let st = inner.state.lock();
    let gid = st.world.channel_guild_id(cid)?;
    let g = st.world.guild(gid)?;
    let ch = g.channels.get(&cid).ok_or_else(ApiError::unknown_channel)?;
    World::require_in_channel(g, ch, user, perm::MANAGE_WEBHOOKS)?;
    let mut hooks: Vec<&Webhook> = st
        .world
        .webhooks
        .values()
        .filter(|w| w.channel_id == cid)
        .collect();
    hooks.sort_by_key(|w| w.id);
    Ok(Reply::ok(Value::Array(
        hooks
            .iter()
            .map(|w| w.json(st.world.users.get(&w.creator_id), &st.base_url, true))
            .collect(),
    )))
}

pub async fn create_webhook(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let cid = param(&p, "channel_id")?;
    let b = req.json()?;
    Ok(Reply::ok(inner.state.lock().create_webhook(
        user,
        cid,
        &b,
        req.reason(),
    )?))
}

// ---- guilds ----

pub async fn get_guild(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let st = inner.state.lock();
    let g = st.world.guild(gid)?;
    member_of(g, user)?;
    let mut v = g.json();
    if req.q("with_counts") == Some("true") {
        v["approximate_member_count"] = json!(g.members.len());
        v["approximate_presence_count"] = json!(0);
    }
    Ok(Reply::ok(v))
}

pub async fn update_guild(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let b = req.json()?;
    Ok(Reply::ok(inner.state.lock().update_guild(
        user,
        gid,
        &b,
        req.reason(),
    )?))
}

pub async fn incident_actions(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let b = req.json()?;
    Ok(Reply::ok(inner.state.lock().update_incident_actions(
        user,
        gid,
        &b,
        req.reason(),
    )?))
}

pub async fn list_roles(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let st = inner.state.lock();
    let g = st.world.guild(gid)?;
    member_of(g, user)?;
    Ok(Reply::ok(Value::Array(
        g.sorted_roles().iter().map(|r| r.json()).collect(),
    )))
}

pub async fn get_role(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let rid = param(&p, "role_id")?;
    let st = inner.state.lock();
    let g = st.world.guild(gid)?;
    member_of(g, user)?;
    Ok(Reply::ok(
        g.roles.get(&rid).ok_or_else(ApiError::unknown_role)?.json(),
    ))
}

pub async fn create_role(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let b = req.json()?;
    let b = if b.is_null() { json!({}) } else { b };
    Ok(Reply::ok(inner.state.lock().create_role(
        user,
        gid,
        &b,
        req.reason(),
    )?))
}

pub async fn update_role(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let rid = param(&p, "role_id")?;
    let b = req.json()?;
    let b = if b.is_null() { json!({}) } else { b };
    Ok(Reply::ok(inner.state.lock().update_role(
        user,
        gid,
        rid,
        &b,
        req.reason(),
    )?))
}

pub async fn delete_role(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let rid = param(&p, "role_id")?;
    inner
        .state
        .lock()
        .delete_role(user, gid, rid, req.reason())?;
    Ok(Reply::NoContent)
}

pub async fn update_role_positions(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let b = req.json()?;
    Ok(Reply::ok(inner.state.lock().update_role_positions(
        user,
        gid,
        &b,
        req.reason(),
    )?))
}

pub async fn list_channels(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let st = inner.state.lock();
    let g = st.world.guild(gid)?;
    member_of(g, user)?;
    Ok(Reply::ok(Value::Array(
        g.sorted_channels().iter().map(|c| c.json()).collect(),
    )))
}

pub async fn create_channel(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let b = req.json()?;
    Ok(Reply::created(inner.state.lock().create_channel(
        user,
        gid,
        &b,
        req.reason(),
    )?))
}

pub async fn update_channel_positions(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let b = req.json()?;
    inner
        .state
        .lock()
        .update_channel_positions(user, gid, &b, req.reason())?;
    Ok(Reply::NoContent)
}

// ---- members ----

pub async fn list_members(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let app = req.bot_app()?;
    let gid = param(&p, "guild_id")?;
    let limit = req.q_int("limit", 1, 1000, 1)? as usize;
    let after = req.q_id("after")?.unwrap_or(0);
    let st = inner.state.lock();
    if !st
        .world
        .apps
        .get(&app)
        .is_some_and(|a| a.options.guild_members_intent)
    {
        return Err(ApiError::missing_access());
    }
    let g = st.world.guild(gid)?;
    member_of(g, user)?;
    let out: Vec<Value> = g
        .members
        .range(after.saturating_add(1)..)
        .take(limit)
        .filter_map(|(uid, m)| st.world.users.get(uid).map(|u| m.json(u)))
        .collect();
    Ok(Reply::ok(Value::Array(out)))
}

pub async fn search_members(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let query = req.q("query").unwrap_or_default().to_lowercase();
    let limit = req.q_int("limit", 1, 1000, 1)? as usize;
    let st = inner.state.lock();
    let g = st.world.guild(gid)?;
    member_of(g, user)?;
    let out: Vec<Value> = g
        .members
        .values()
        .filter_map(|m| st.world.users.get(&m.user_id).map(|u| (m, u)))
        .filter(|(m, u)| {
            u.username.to_lowercase().starts_with(&query)
                || m.nick
                    .as_ref()
                    .is_some_and(|n| n.to_lowercase().starts_with(&query))
        })
        .take(limit)
        .map(|(m, u)| m.json(u))
        .collect();
    Ok(Reply::ok(Value::Array(out)))
}

pub async fn get_member(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let uid = param(&p, "user_id")?;
    let st = inner.state.lock();
    let g = st.world.guild(gid)?;
    member_of(g, user)?;
    st.member_json(g, uid)
        .map(Reply::ok)
        .ok_or_else(ApiError::unknown_member)
}

pub async fn add_member(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let uid = param(&p, "user_id")?;
    let b = req.json()?;
    Ok(
        match inner.state.lock().add_member_oauth(user, gid, uid, &b)? {
            Some(m) => Reply::created(m),
            None => Reply::NoContent,
        },
    )
}

pub async fn update_member(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let uid = param(&p, "user_id")?;
    let b = req.json()?;
    Ok(Reply::ok(inner.state.lock().update_member(
        user,
        gid,
        uid,
        &b,
        req.reason(),
    )?))
}

pub async fn update_my_member(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let b = req.json()?;
    let nick = b.get("nick").cloned().unwrap_or(Value::Null);
    Ok(Reply::ok(inner.state.lock().update_member(
        user,
        gid,
        user,
        &json!({ "nick": nick }),
        req.reason(),
    )?))
}

pub async fn kick_member(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let uid = param(&p, "user_id")?;
    inner
        .state
        .lock()
        .kick_member(user, gid, uid, req.reason())?;
    Ok(Reply::NoContent)
}

pub async fn add_member_role(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let (gid, uid, rid) = (
        param(&p, "guild_id")?,
        param(&p, "user_id")?,
        param(&p, "role_id")?,
    );
    inner
        .state
        .lock()
        .set_member_role(user, gid, uid, rid, true, req.reason())?;
    Ok(Reply::NoContent)
}

pub async fn remove_member_role(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let (gid, uid, rid) = (
        param(&p, "guild_id")?,
        param(&p, "user_id")?,
        param(&p, "role_id")?,
    );
    inner
        .state
        .lock()
        .set_member_role(user, gid, uid, rid, false, req.reason())?;
    Ok(Reply::NoContent)
}

// ---- bans ----

fn ban_json(st: &crate::state::State, b: &Ban) -> Value {
    json!({ "user": st.world.users.get(&b.user_id).map(User::json), "reason": b.reason })
}

pub async fn list_bans(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let limit = req.q_int("limit", 1, 1000, 1000)? as usize;
    let before = req.q_id("before")?;
    let after = req.q_id("after")?;
    let st = inner.state.lock();
    let g = st.world.guild(gid)?;
    World::require(g, user, perm::BAN_MEMBERS)?;
    let out: Vec<Value> = match (before, after) {
        (Some(b), None) => {
            let mut v: Vec<Value> = g
                .bans
                .range(..b)
                .rev()
                .take(limit)
                .map(|(_, x)| ban_json(&st, x))
                .collect();
            v.reverse();
            v
        }
        _ => g
            .bans
            .range(after.unwrap_or(0).saturating_add(1)..)
            .take(limit)
            .map(|(_, x)| ban_json(&st, x))
            .collect(),
    };
    Ok(Reply::ok(Value::Array(out)))
}

pub async fn get_ban(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let uid = param(&p, "user_id")?;
    let st = inner.state.lock();
    let g = st.world.guild(gid)?;
    World::require(g, user, perm::BAN_MEMBERS)?;
    g.bans
        .get(&uid)
        .map(|b| Reply::ok(ban_json(&st, b)))
        .ok_or_else(ApiError::unknown_ban)
}

pub async fn ban_user(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let uid = param(&p, "user_id")?;
    let b = req.json()?;
    if !b.is_null() {
        crate::state::body::integer(&b, "delete_message_seconds", 0, 604_800)?;
        crate::state::body::integer(&b, "delete_message_days", 0, 7)?;
    }
    inner.state.lock().ban(user, gid, uid, req.reason())?;
    Ok(Reply::NoContent)
}

pub async fn unban_user(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let uid = param(&p, "user_id")?;
    inner.state.lock().unban(user, gid, uid, req.reason())?;
    Ok(Reply::NoContent)
}

pub async fn bulk_ban(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let b = req.json()?;
    Ok(Reply::ok(inner.state.lock().bulk_ban(
        user,
        gid,
        &b,
        req.reason(),
    )?))
}

// ---- prune ----

fn include_roles(v: Option<&Value>, q: Option<&str>) -> Vec<RoleId> {
    match (v, q) {
        (Some(Value::String(s)), _) => s.split(',').filter_map(crate::snowflake::parse).collect(),
        (Some(v @ Value::Array(_)), _) => crate::ops_members::parse_ids(Some(v)),
        (_, Some(q)) => q.split(',').filter_map(crate::snowflake::parse).collect(),
        _ => Vec::new(),
    }
}

pub async fn prune_count(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let days = req.q_int("days", 1, 30, 7)?;
    let roles = include_roles(None, req.q("include_roles"));
    let n = inner.state.lock().prune_count(user, gid, days, &roles)?;
    Ok(Reply::ok(json!({ "pruned": n })))
}

pub async fn prune(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let b = req.json()?;
    let b = if b.is_null() { json!({}) } else { b };
    let days = crate::state::body::integer(&b, "days", 1, 30)?.unwrap_or(7);
    let count = crate::state::body::boolean(&b, "compute_prune_count")?.unwrap_or(true);
    let roles = include_roles(b.get("include_roles"), None);
    let n = inner
        .state
        .lock()
        .prune(user, gid, days, &roles, req.reason())?;
    Ok(Reply::ok(
        json!({ "pruned": if count { json!(n) } else { Value::Null } }),
    ))
}

// ---- audit log ----

pub async fn audit_logs(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let filter_user = req.q_id("user_id")?;
    let target = req.q_id("target_id")?;
    let action = match req.q("action_type") {
        None | Some("") => None,
        Some(v) => Some(v.parse::<u16>().map_err(|_| {
            ApiError::invalid_form("action_type", "NUMBER_TYPE_COERCE", "Value is not int.")
        })?),
    };
    let before = req.q_id("before")?;
    let after = req.q_id("after")?;
    let limit = req.q_int("limit", 1, 100, 50)? as usize;
    let st = inner.state.lock();
    let g = st.world.guild(gid)?;
    World::require(g, user, perm::VIEW_AUDIT_LOG)?;
    let matches = |e: &&AuditEntry| {
        filter_user.is_none_or(|u| e.user_id == Some(u))
            && target.is_none_or(|t| e.target_id == Some(t))
            && action.is_none_or(|a| e.action_type == a)
            && before.is_none_or(|b| e.id < b)
            && after.is_none_or(|a| e.id > a)
    };
    let entries: Vec<&AuditEntry> = if after.is_some() && before.is_none() {
        let mut v: Vec<&AuditEntry> = g.audit_log.iter().filter(matches).take(limit).collect();
        v.reverse();
        v
    } else {
        g.audit_log
            .iter()
            .rev()
            .filter(matches)
            .take(limit)
            .collect()
    };
    let mut user_ids: Vec<UserId> = Vec::new();
    let mut hook_ids: Vec<WebhookId> = Vec::new();
    for e in &entries {
        for id in [e.user_id, e.target_id].into_iter().flatten() {
            if st.world.users.contains_key(&id) && !user_ids.contains(&id) {
                user_ids.push(id);
            }
            if st.world.webhooks.contains_key(&id) && !hook_ids.contains(&id) {
                hook_ids.push(id);
            }
        }
    }
    Ok(Reply::ok(json!({
        "audit_log_entries": entries.iter().map(|e| e.json()).collect::<Vec<_>>(),
        "users": user_ids.iter().filter_map(|u| st.world.users.get(u)).map(User::json).collect::<Vec<_>>(),
        "integrations": [],
        "webhooks": hook_ids.iter().filter_map(|w| st.world.webhooks.get(w)).map(|w| w.json(None, &st.base_url, false)).collect::<Vec<_>>(),
        "guild_scheduled_events": [],
        "threads": [],
        "application_commands": [],
        "auto_moderation_rules": [],
    })))
}

// ---- emojis ----

pub async fn list_emojis(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let st = inner.state.lock();
    let g = st.world.guild(gid)?;
    member_of(g, user)?;
    let can_see_creator = World::base_permissions(g, user)
        & (perm::MANAGE_GUILD_EXPRESSIONS | perm::CREATE_GUILD_EXPRESSIONS)
        != 0;
    Ok(Reply::ok(Value::Array(
        g.emojis
            .iter()
            .map(|e| {
                e.json(
                    can_see_creator
                        .then(|| st.world.users.get(&e.creator_id))
                        .flatten(),
                )
            })
            .collect(),
    )))
}

pub async fn get_emoji(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let eid = param(&p, "emoji_id")?;
    let st = inner.state.lock();
    let g = st.world.guild(gid)?;
    member_of(g, user)?;
    let e = g
        .emojis
        .iter()
        .find(|e| e.id == eid)
        .ok_or_else(ApiError::unknown_emoji)?;
    Ok(Reply::ok(e.json(st.world.users.get(&e.creator_id))))
}

pub async fn create_emoji(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let b = req.json()?;
    Ok(Reply::created(inner.state.lock().create_emoji(
        user,
        gid,
        &b,
        req.reason(),
    )?))
}

pub async fn update_emoji(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let eid = param(&p, "emoji_id")?;
    let b = req.json()?;
    Ok(Reply::ok(inner.state.lock().update_emoji(
        user,
        gid,
        eid,
        &b,
        req.reason(),
    )?))
}

pub async fn delete_emoji(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let eid = param(&p, "emoji_id")?;
    inner
        .state
        .lock()
        .delete_emoji(user, gid, eid, req.reason())?;
    Ok(Reply::NoContent)
}

// ---- welcome screen and onboarding ----

pub async fn get_welcome_screen(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let st = inner.state.lock();
    let g = st.world.guild(gid)?;
    World::require(g, user, perm::MANAGE_GUILD)?;
    let w = g
        .welcome_screen
        .as_ref()
        .ok_or_else(|| ApiError::new(404, 10069, "Unknown Guild Welcome Screen"))?;
    Ok(Reply::ok(w.json()))
}

pub async fn update_welcome_screen(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let b = req.json()?;
    Ok(Reply::ok(inner.state.lock().update_welcome_screen(
        user,
        gid,
        &b,
        req.reason(),
    )?))
}

pub async fn get_onboarding(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let st = inner.state.lock();
    let g = st.world.guild(gid)?;
    member_of(g, user)?;
    Ok(Reply::ok(g.onboarding.json(gid)))
}

pub async fn update_onboarding(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let b = req.json()?;
    Ok(Reply::ok(inner.state.lock().update_onboarding(
        user,
        gid,
        &b,
        req.reason(),
    )?))
}

// ---- scheduled events ----

pub async fn list_scheduled_events(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let st = inner.state.lock();
    let g = st.world.guild(gid)?;
    member_of(g, user)?;
    Ok(Reply::ok(Value::Array(
        g.scheduled_events.iter().map(|e| e.json(gid)).collect(),
    )))
}

pub async fn get_scheduled_event(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let eid = param(&p, "guild_scheduled_event_id")?;
    let st = inner.state.lock();
    let g = st.world.guild(gid)?;
    member_of(g, user)?;
    let e = g
        .scheduled_events
        .iter()
        .find(|e| e.id == eid)
        .ok_or_else(|| ApiError::new(404, 10070, "Unknown Guild Scheduled Event"))?;
    Ok(Reply::ok(e.json(gid)))
}

pub async fn create_scheduled_event(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let b = req.json()?;
    Ok(Reply::ok(inner.state.lock().create_scheduled_event(
        user,
        gid,
        &b,
        req.reason(),
    )?))
}

pub async fn update_scheduled_event(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let eid = param(&p, "guild_scheduled_event_id")?;
    let b = req.json()?;
    Ok(Reply::ok(inner.state.lock().update_scheduled_event(
        user,
        gid,
        eid,
        &b,
        req.reason(),
    )?))
}

pub async fn delete_scheduled_event(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let eid = param(&p, "guild_scheduled_event_id")?;
    inner
        .state
        .lock()
        .delete_scheduled_event(user, gid, eid, req.reason())?;
    Ok(Reply::NoContent)
}

// ---- threads ----

pub async fn create_thread(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let cid = param(&p, "channel_id")?;
    let b = req.json()?;
    Ok(Reply::created(inner.state.lock().create_thread(
        user,
        cid,
        &b,
        req.reason(),
    )?))
}

pub async fn active_threads(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    Ok(Reply::ok(inner.state.lock().active_threads(user, gid)?))
}

pub async fn archived_public_threads(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let cid = param(&p, "channel_id")?;
    let before = match req.q("before") {
        None => None,
        Some(t) => Some(
            chrono::DateTime::parse_from_rfc3339(t)
                .map(|t| t.with_timezone(&chrono::Utc))
                .map_err(|_| {
                    ApiError::invalid_form(
                        "before",
                        "DATE_TIME_TYPE_PARSE",
                        "Not an ISO8601 timestamp.",
                    )
                })?,
        ),
    };
    let limit = req
        .q("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(50);
    Ok(Reply::ok(
        inner
            .state
            .lock()
            .archived_threads(user, cid, before, limit)?,
    ))
}

// ---- AutoMod rules ----

pub async fn list_automod_rules(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let st = inner.state.lock();
    let g = st.world.guild(gid)?;
    World::require(g, user, perm::MANAGE_GUILD)?;
    Ok(Reply::ok(Value::Array(
        g.automod.iter().map(|r| r.json(gid)).collect(),
    )))
}

pub async fn get_automod_rule(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let rid = param(&p, "rule_id")?;
    let st = inner.state.lock();
    let g = st.world.guild(gid)?;
    World::require(g, user, perm::MANAGE_GUILD)?;
    let r = g
        .automod
        .iter()
        .find(|r| r.id == rid)
        .ok_or_else(|| ApiError::new(404, 10066, "Unknown auto moderation rule"))?;
    Ok(Reply::ok(r.json(gid)))
}

pub async fn create_automod_rule(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let b = req.json()?;
    Ok(Reply::ok(inner.state.lock().create_automod_rule(
        user,
        gid,
        &b,
        req.reason(),
    )?))
}

pub async fn update_automod_rule(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let rid = param(&p, "rule_id")?;
    let b = req.json()?;
    Ok(Reply::ok(inner.state.lock().update_automod_rule(
        user,
        gid,
        rid,
        &b,
        req.reason(),
    )?))
}

pub async fn delete_automod_rule(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let rid = param(&p, "rule_id")?;
    inner
        .state
        .lock()
        .delete_automod_rule(user, gid, rid, req.reason())?;
    Ok(Reply::NoContent)
}

// ---- stickers ----

fn sticker_of(g: &Guild, sid: u64) -> Result<&Sticker, ApiError> {
    g.stickers
        .iter()
        .find(|s| s.id == sid)
        .ok_or_else(|| ApiError::new(404, 10060, "Unknown sticker"))
}

pub async fn list_stickers(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let st = inner.state.lock();
    let g = st.world.guild(gid)?;
    member_of(g, user)?;
    Ok(Reply::ok(Value::Array(
        g.stickers
            .iter()
            .map(|s| s.json(gid, st.world.users.get(&s.creator_id)))
            .collect(),
    )))
}

pub async fn get_sticker(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let sid = param(&p, "sticker_id")?;
    let st = inner.state.lock();
    let g = st.world.guild(gid)?;
    member_of(g, user)?;
    let s = sticker_of(g, sid)?;
    Ok(Reply::ok(s.json(gid, st.world.users.get(&s.creator_id))))
}

pub async fn create_sticker(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let b = req.json()?;
    let file = req.files.iter().find(|f| f.field == "file");
    Ok(Reply::created(inner.state.lock().create_sticker(
        user,
        gid,
        &b,
        file,
        req.reason(),
    )?))
}

pub async fn update_sticker(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let sid = param(&p, "sticker_id")?;
    let b = req.json()?;
    Ok(Reply::ok(inner.state.lock().update_sticker(
        user,
        gid,
        sid,
        &b,
        req.reason(),
    )?))
}

pub async fn delete_sticker(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let gid = param(&p, "guild_id")?;
    let sid = param(&p, "sticker_id")?;
    inner
        .state
        .lock()
        .delete_sticker(user, gid, sid, req.reason())?;
    Ok(Reply::NoContent)
}

/// `GET cdn.discordapp.com/stickers/{id}.{ext}`: a sticker's file while it exists.
pub async fn sticker_image(AxState(inner): S, Path(p): P) -> axum::response::Response {
    let id = p
        .get("file")
        .and_then(|f| f.split_once('.'))
        .and_then(|(id, _)| id.parse::<u64>().ok());
    let st = inner.state.lock();
    let found = id.and_then(|id| {
        st.world
            .guilds
            .values()
            .flat_map(|g| g.stickers.iter())
            .find(|s| s.id == id)
    });
    match found {
        Some(s) => {
            let kind = if s.format_type == 4 {
                "image/gif"
            } else {
                "image/png"
            };
            let mut resp = (StatusCode::OK, s.image.as_ref().clone()).into_response();
            resp.headers_mut().insert(
                axum::http::header::CONTENT_TYPE,
                HeaderValue::from_static(kind),
            );
            resp
        }
        None => ApiError::not_found().into_response(),
    }
}

// ---- channels ----

pub async fn get_channel(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let cid = param(&p, "channel_id")?;
    let st = inner.state.lock();
    if st.world.dms.contains_key(&cid) {
        return Ok(Reply::ok(st.dm_json(cid, user)?));
    }
    if let Some((g, t)) = st.thread_of(cid) {
        let parent = g
            .channels
            .get(&t.parent_id)
            .ok_or_else(ApiError::unknown_channel)?;
        World::require_in_channel(g, parent, user, 0)?;
        return Ok(Reply::ok(t.json()));
    }
    let gid = st.world.channel_guild_id(cid)?;
    let g = st.world.guild(gid)?;
    let ch = g.channels.get(&cid).ok_or_else(ApiError::unknown_channel)?;
    World::require_in_channel(g, ch, user, 0)?;
    Ok(Reply::ok(ch.json()))
}

pub async fn update_channel(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let cid = param(&p, "channel_id")?;
    let b = req.json()?;
    let mut st = inner.state.lock();
    if st.world.dms.contains_key(&cid) {
        return Err(ApiError::cannot_execute_on_dm());
    }
    if st.thread_of(cid).is_some() {
        return Ok(Reply::ok(st.update_thread(user, cid, &b, req.reason())?));
    }
    Ok(Reply::ok(st.update_channel(user, cid, &b, req.reason())?))
}

pub async fn delete_channel(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let cid = param(&p, "channel_id")?;
    let mut st = inner.state.lock();
    if st.world.dms.contains_key(&cid) {
        return Ok(Reply::ok(st.dm_json(cid, user)?));
    }
    if st.thread_of(cid).is_some() {
        return Ok(Reply::ok(st.delete_thread(user, cid, req.reason())?));
    }
    Ok(Reply::ok(st.delete_channel(user, cid, req.reason())?))
}

pub async fn put_overwrite(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let cid = param(&p, "channel_id")?;
    let target = param(&p, "overwrite_id")?;
    let b = req.json()?;
    inner
        .state
        .lock()
        .put_overwrite(user, cid, target, &b, req.reason())?;
    Ok(Reply::NoContent)
}

pub async fn delete_overwrite(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let cid = param(&p, "channel_id")?;
    let target = param(&p, "overwrite_id")?;
    inner
        .state
        .lock()
        .delete_overwrite(user, cid, target, req.reason())?;
    Ok(Reply::NoContent)
}

pub async fn list_messages(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let cid = param(&p, "channel_id")?;
    let limit = req.q_int("limit", 1, 100, 50)? as usize;
    let before = req.q_id("before")?;
    let after = req.q_id("after")?;
    let around = req.q_id("around")?;
    let st = inner.state.lock();
    st.check_read(user, cid)?;
    let ids = st.channel_message_ids(cid);
    let picked: Vec<MessageId> = if let Some(a) = after {
        let mut v: Vec<MessageId> = ids.iter().copied().filter(|i| *i > a).take(limit).collect();
        v.reverse();
        v
    } else if let Some(a) = around {
        let idx = ids.iter().position(|i| *i >= a).unwrap_or(ids.len());
        let start = idx.saturating_sub(limit / 2);
        let mut v: Vec<MessageId> = ids.iter().copied().skip(start).take(limit).collect();
        v.reverse();
        v
    } else {
        ids.iter()
            .rev()
            .copied()
            .filter(|i| before.is_none_or(|b| *i < b))
            .take(limit)
            .collect()
    };
    Ok(Reply::ok(Value::Array(
        picked
            .iter()
            .filter_map(|i| st.world.messages.get(i))
            .map(|m| st.message_json_for(user, m))
            .collect(),
    )))
}

pub async fn create_message(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let cid = param(&p, "channel_id")?;
    let b = req.json()?;
    let mut st = inner.state.lock();
    let parts = st.parse_message(&b, req.files.clone())?;
    Ok(Reply::ok(st.send_message(user, cid, parts)?))
}

// ---- pins ----

pub async fn pin_message(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    set_pin(inner, p, req, true)
}

pub async fn unpin_message(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    set_pin(inner, p, req, false)
}

fn set_pin(inner: Arc<Inner>, p: HashMap<String, String>, req: ApiRequest, pin: bool) -> ApiResult {
    let user = req.bot()?;
    let cid = param(&p, "channel_id")?;
    let mid = param(&p, "message_id")?;
    inner
        .state
        .lock()
        .set_pinned(user, cid, mid, pin, req.reason())?;
    Ok(Reply::NoContent)
}

pub async fn list_pins_deprecated(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let cid = param(&p, "channel_id")?;
    Ok(Reply::ok(inner.state.lock().list_pins(user, cid, None)?))
}

pub async fn list_pins(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let cid = param(&p, "channel_id")?;
    let limit = req.q_int("limit", 1, 50, 50)? as usize;
    let before = match req.q("before") {
        None => None,
        Some(t) => Some(
            chrono::DateTime::parse_from_rfc3339(t)
                .map(|t| t.with_timezone(&chrono::Utc))
                .map_err(|_| {
                    crate::state::body::invalid("before", "Not a valid ISO8601 timestamp.")
                })?,
        ),
    };
    Ok(Reply::ok(inner.state.lock().list_pins(
        user,
        cid,
        Some((before, limit)),
    )?))
}

pub async fn get_message(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let cid = param(&p, "channel_id")?;
    let mid = param(&p, "message_id")?;
    let st = inner.state.lock();
    st.check_read(user, cid)?;
    let m = st
        .world
        .messages
        .get(&mid)
        .filter(|m| m.channel_id == cid && !m.deleted && !m.ephemeral())
        .ok_or_else(ApiError::unknown_message)?;
    Ok(Reply::ok(st.message_json_for(user, m)))
}

pub async fn edit_message(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let cid = param(&p, "channel_id")?;
    let mid = param(&p, "message_id")?;
    let b = req.json()?;
    let mut st = inner.state.lock();
    let m = st
        .world
        .messages
        .get(&mid)
        // As Discord: an ephemeral message exists only for its interaction's token.
        .filter(|m| m.channel_id == cid && !m.deleted && !m.ephemeral())
        .ok_or_else(ApiError::unknown_message)?;
    if m.author_id != user || m.webhook_id.is_some_and(|w| Some(w) != m.application_id) {
        return Err(ApiError::new(
            403,
            50005,
            "Cannot edit a message authored by another user",
        ));
    }
    let parts = st.parse_message(&b, req.files.clone())?;
    Ok(Reply::ok(st.edit_message(mid, parts)?))
}

pub async fn delete_message(AxState(inner): S, Path(p): P, req: ApiRequest) -> ApiResult {
    let user = req.bot()?;
    let cid = param(&p, "channel_id")?;
    let mid = param(&p, "message_id")?;
    let mut st = inner.state.lock();
    let m = st
        .world
        .messages
        .get(&mid)
        .filter(|m| m.channel_id == cid && !m.deleted)
        .ok_or_else(ApiError::unknown_message)?;
    if m.author_id != user {
        let gid = st
            .world
            .channel_guild_id(cid)
            .map_err(|_| ApiError::cannot_execute_on_dm())?;
        let g = st.world.guild(gid)?;
        let ch = g.channels.get(&cid).ok_or_else(ApiError::unknown_channel)?;
        World::require_in_channel(g, ch, user, perm::MANAGE_MESSAGES)?;
    }
    st.remove_message(mid)?;
    Ok(Reply::NoContent)
}

/// `GET /attachments/{channel_id}/{attachment_id}/{filename}`: the stored bytes.
/// `GET cdn.discordapp.com/emojis/{id}.{ext}`: the image of an emoji that exists (a deleted
/// emoji's image is gone, 404).
pub async fn emoji_image(AxState(inner): S, Path(p): P) -> axum::response::Response {
    let file = p.get("file").cloned().unwrap_or_default();
    let Some(id) = file
        .split_once('.')
        .and_then(|(id, _)| id.parse::<u64>().ok())
    else {
        return ApiError::not_found().into_response();
    };
    let st = inner.state.lock();
    let found = st
        .world
        .guilds
        .values()
        .flat_map(|g| g.emojis.iter())
        .find(|e| e.id == id);
    match found {
        Some(e) => {
            let kind = if e.animated { "image/gif" } else { "image/png" };
            let mut resp = (StatusCode::OK, e.image.as_ref().clone()).into_response();
            resp.headers_mut().insert(
                axum::http::header::CONTENT_TYPE,
                HeaderValue::from_static(kind),
            );
            resp
        }
        None => ApiError::not_found().into_response(),
    }
}

/// `GET cdn.discordapp.com/{icons|banners|splashes|discovery-splashes}/{guild}/{hash}.{ext}` and
/// `/role-icons/{role}/{hash}.{ext}`: the image while the guild or role still uses it.
pub async fn cdn_image(AxState(inner): S, Path(p): P, kind: &str) -> axum::response::Response {
    let owner = p
        .get("owner")
        .and_then(|o| o.parse::<u64>().ok())
        .unwrap_or(0);
    let hash = p
        .get("file")
        .and_then(|f| f.split_once('.'))
        .map(|(h, _)| h.to_owned())
        .unwrap_or_default();
    let st = inner.state.lock();
    let in_use = match kind {
        "role-icons" => st
            .world
            .guilds
            .values()
            .filter_map(|g| g.roles.get(&owner))
            .any(|r| r.icon.as_deref() == Some(hash.as_str())),
        // A webhook's avatar or a user's.
        "avatars" => {
            st.world
                .webhooks
                .get(&owner)
                .is_some_and(|w| w.avatar.as_deref() == Some(hash.as_str()))
                || st
                    .world
                    .users
                    .get(&owner)
                    .is_some_and(|u| u.avatar.as_deref() == Some(hash.as_str()))
        }
        "guild-events" => st.world.guilds.values().any(|g| {
            g.scheduled_events
                .iter()
                .any(|e| e.id == owner && e.image.as_deref() == Some(hash.as_str()))
        }),
        "icons" | "banners" | "splashes" | "discovery-splashes" => {
            st.world.guilds.get(&owner).is_some_and(|g| {
                let s = &g.settings;
                let slot = match kind {
                    "icons" => &s.icon,
                    "banners" => &s.banner,
                    "splashes" => &s.splash,
                    _ => &s.discovery_splash,
                };
                slot.as_deref() == Some(hash.as_str())
            })
        }
        _ => false,
    };
    match st.world.images.get(&hash).filter(|_| in_use) {
        Some(bytes) => {
            let kind = if hash.starts_with("a_") {
                "image/gif"
            } else {
                "image/png"
            };
            let mut resp = (StatusCode::OK, bytes.as_ref().clone()).into_response();
            resp.headers_mut().insert(
                axum::http::header::CONTENT_TYPE,
                HeaderValue::from_static(kind),
            );
            resp
        }
        None => ApiError::not_found().into_response(),
    }
}

pub async fn download_attachment(AxState(inner): S, Path(p): P) -> axum::response::Response {
    let Ok(aid) = param(&p, "attachment_id") else {
        return ApiError::not_found().into_response();
    };
    let st = inner.state.lock();
    let found = st
        .world
        .attachment_index
        .get(&aid)
        .and_then(|(_, mid)| st.world.messages.get(mid))
        .and_then(|m| m.attachments.iter().find(|a| a.id == aid))
        .or_else(|| st.world.uploads.get(&aid));
    match found {
        Some(a) => {
            let mut resp = (StatusCode::OK, a.data.as_ref().clone()).into_response();
            if let Ok(v) = HeaderValue::from_str(
                a.content_type
                    .as_deref()
                    .unwrap_or("application/octet-stream"),
            ) {
                resp.headers_mut()
                    .insert(axum::http::header::CONTENT_TYPE, v);
            }
            resp
        }
        None => ApiError::not_found().into_response(),
    }
}
