//! Purpose: the gateway as a discord.js-style client uses it: plain HTTP `GET /api/v10/gateway/bot`,
//! `?v=10&encoding=json`, a bare token, `resume_gateway_url`; close codes 4004/4014/4003; the
//! once-per-30-s full member request; heartbeats.

use std::time::Duration;

use discord_emulator::testing::RawGateway;
use discord_emulator::{ApplicationOptions, EmulatorConfig, FixtureSpec, intents};
use serde_json::json;

use super::harness::*;

const T: Duration = Duration::from_secs(5);

#[tokio::test]
async fn a_discord_js_style_client_identifies_with_a_bare_token_and_resumes_on_resume_gateway_url()
{
    let emu = start().await;
    let f = emu.build_fixture(&FixtureSpec::small());
    let rest = Rest::bot(&emu, &f.app.bot_token).with_base(&format!("{}/api", emu.http_base()));
    let gw = rest.get("/v10/gateway/bot").await;
    assert_eq!(gw.status, 200);
    assert_eq!(gw.json()["shards"], 1);
    let url = gw.json()["url"].as_str().unwrap().to_string();
    let mut ws = RawGateway::connect(&format!("{url}?v=10&encoding=json"))
        .await
        .unwrap();
    let hello = ws.recv(T).await.unwrap();
    assert_eq!(hello["op"], 10);
    assert!(hello["d"]["heartbeat_interval"].as_u64().unwrap() > 0);
    ws.identify(
        &f.app.bot_token,
        intents::GUILDS | intents::GUILD_MODERATION,
    )
    .await
    .unwrap();
    let ready = ws.wait_for("READY", T).await.unwrap();
    let session = ready["d"]["session_id"].as_str().unwrap().to_string();
    let resume_url = ready["d"]["resume_gateway_url"]
        .as_str()
        .unwrap()
        .to_string();
    ws.wait_for("GUILD_CREATE", T).await.unwrap();
    ws.heartbeat().await.unwrap();
    assert_eq!(
        ws.recv(T).await.unwrap()["op"],
        11,
        "heartbeats are acknowledged"
    );
    let seq = ws.seq.unwrap();
    ws.close().await;

    // Missed while disconnected.
    tokio::time::sleep(Duration::from_millis(100)).await;
    emu.as_user(f.owner_id)
        .ban(f.guild_id, f.member_ids[0])
        .unwrap();

    let mut ws = RawGateway::connect(&format!("{resume_url}?v=10&encoding=json"))
        .await
        .unwrap();
    assert_eq!(ws.recv(T).await.unwrap()["op"], 10);
    ws.send(
        json!({ "op": 6, "d": { "token": f.app.bot_token, "session_id": session, "seq": seq } }),
    )
    .await
    .unwrap();
    let ban = ws.wait_for("GUILD_BAN_ADD", T).await.unwrap();
    assert_eq!(ban["d"]["user"]["id"], f.member_ids[0].to_string());
    assert_eq!(
        ban["s"].as_u64().unwrap(),
        seq + 1,
        "replay continues the sequence"
    );
    ws.wait_for("RESUMED", T).await.unwrap();
    assert_dispatches_are_typed(&emu);
}

#[tokio::test]
async fn a_bad_token_is_closed_with_4004_and_disallowed_intents_with_4014() {
    let emu = start().await;
    let app = emu.create_application("NoPrivileges", ApplicationOptions::default());
    let mut ws = RawGateway::connect(&emu.gateway_url()).await.unwrap();
    ws.recv(T).await.unwrap();
    ws.identify("not-a-token", intents::GUILDS).await.unwrap();
    assert!(ws.recv(T).await.is_err());
    assert_eq!(ws.closed, Some(4004));

    let mut ws = RawGateway::connect(&emu.gateway_url()).await.unwrap();
    ws.recv(T).await.unwrap();
    ws.identify(&app.bot_token, intents::GUILDS | intents::GUILD_MEMBERS)
        .await
        .unwrap();
    assert!(ws.recv(T).await.is_err());
    assert_eq!(
        ws.closed,
        Some(4014),
        "GUILD_MEMBERS is privileged and not enabled for this app"
    );

    let mut ws = RawGateway::connect(&emu.gateway_url()).await.unwrap();
    ws.recv(T).await.unwrap();
    ws.send(json!({ "op": 8, "d": { "guild_id": "1", "query": "", "limit": 0 } }))
        .await
        .unwrap();
    assert!(ws.recv(T).await.is_err());
    assert_eq!(
        ws.closed,
        Some(4003),
        "payloads before IDENTIFY are refused"
    );
}

#[tokio::test]
async fn a_resume_with_an_unknown_session_gets_op_9() {
    let emu = start().await;
    let f = emu.build_fixture(&FixtureSpec::small());
    let mut ws = RawGateway::connect(&emu.gateway_url()).await.unwrap();
    ws.recv(T).await.unwrap();
    ws.send(json!({ "op": 6, "d": { "token": f.app.bot_token, "session_id": "nope", "seq": 3 } }))
        .await
        .unwrap();
    let p = ws.recv(T).await.unwrap();
    assert_eq!((p["op"].as_u64(), p["d"].as_bool()), (Some(9), Some(false)));
}

#[tokio::test]
async fn a_second_full_member_request_within_30_seconds_is_rate_limited() {
    let emu = start_with(EmulatorConfig {
        record_responses: true,
        ..EmulatorConfig::default()
    })
    .await;
    let f = emu.build_fixture(&FixtureSpec::small().with_members(1_500));
    let mut ws = RawGateway::connect(&format!("{}?v=10&encoding=json", emu.gateway_url()))
        .await
        .unwrap();
    ws.recv(T).await.unwrap();
    ws.identify(&f.app.bot_token, intents::GUILDS | intents::GUILD_MEMBERS)
        .await
        .unwrap();
    ws.wait_for("GUILD_CREATE", T).await.unwrap();
    let req = json!({ "op": 8, "d": { "guild_id": f.guild_id.to_string(), "query": "", "limit": 0, "nonce": "a" } });
    ws.send(req.clone()).await.unwrap();
    let c0 = ws.wait_for("GUILD_MEMBERS_CHUNK", T).await.unwrap();
    let c1 = ws.wait_for("GUILD_MEMBERS_CHUNK", T).await.unwrap();
    assert_eq!(c0["d"]["chunk_count"], 2);
    assert_eq!(c0["d"]["members"].as_array().unwrap().len(), 1000);
    assert_eq!(c1["d"]["members"].as_array().unwrap().len(), 504);
    ws.send(req).await.unwrap();
    let rl = ws.wait_for("RATE_LIMITED", T).await.unwrap();
    assert_eq!(rl["d"]["opcode"], 8);
    assert!(rl["d"]["retry_after"].as_f64().unwrap() > 20.0);
    assert_eq!(rl["d"]["meta"]["guild_id"], f.guild_id.to_string());
    // A query for a few members is not the full list: not limited.
    ws.send(json!({ "op": 8, "d": { "guild_id": f.guild_id.to_string(), "query": "user-0000", "limit": 5 } })).await.unwrap();
    let q = ws.wait_for("GUILD_MEMBERS_CHUNK", T).await.unwrap();
    assert_eq!(q["d"]["members"].as_array().unwrap().len(), 5);
    ws.send(json!({ "op": 8, "d": { "guild_id": f.guild_id.to_string(), "user_ids": [f.owner_id.to_string(), "12345"] } })).await.unwrap();
    let q = ws.wait_for("GUILD_MEMBERS_CHUNK", T).await.unwrap();
    assert_eq!(q["d"]["members"].as_array().unwrap().len(), 1);
    assert_eq!(q["d"]["not_found"], json!(["12345"]));
}
