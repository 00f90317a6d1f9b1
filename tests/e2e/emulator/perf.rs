//! Purpose: the scale the benchmarks rely on, functionally: a 100,000-member fixture streamed in
//! chunks of 1000, and 1,000 guilds on one session each getting their own dispatches. Times are
//! printed, never asserted (machines are noisy): the `umbra-bench` commands measure speed.

use std::time::{Duration, Instant};

use discord_emulator::testing::RawGateway;
use discord_emulator::{FixtureSpec, intents};
use serde_json::json;

use super::harness::*;

const T: Duration = Duration::from_secs(60);

#[tokio::test]
async fn a_100000_member_guild_is_built_and_streamed_in_100_chunks() {
    let emu = start().await;
    let started = Instant::now();
    let f = emu.build_fixture(&FixtureSpec::large().with_members(100_000));
    let built = started.elapsed();
    let mut ws = RawGateway::connect(&emu.gateway_url()).await.unwrap();
    ws.recv(T).await.unwrap();
    ws.identify(&f.app.bot_token, intents::GUILDS | intents::GUILD_MEMBERS)
        .await
        .unwrap();
    let gc = ws.wait_for("GUILD_CREATE", T).await.unwrap();
    assert_eq!(gc["d"]["member_count"], 100_004);
    assert_eq!(gc["d"]["channels"].as_array().unwrap().len(), 500);
    let started = Instant::now();
    ws.send(
        json!({ "op": 8, "d": { "guild_id": f.guild_id.to_string(), "query": "", "limit": 0 } }),
    )
    .await
    .unwrap();
    let mut members = 0;
    for i in 0..101 {
        let c = ws.wait_for("GUILD_MEMBERS_CHUNK", T).await.unwrap();
        assert_eq!(c["d"]["chunk_index"], i);
        members += c["d"]["members"].as_array().unwrap().len();
    }
    let streamed = started.elapsed();
    assert_eq!(members, 100_004);
    eprintln!("100k fixture built in {built:?}, streamed in {streamed:?}");
}

#[tokio::test]
async fn each_of_1000_guilds_gets_its_own_dispatches_on_one_session() {
    let emu = start().await;
    let app = emu.create_application("Umbra", discord_emulator::ApplicationOptions::privileged());
    let mut guilds = Vec::new();
    for i in 0..1000 {
        let owner = emu.create_user(&format!("owner{i}"));
        let g = emu.create_guild(owner, &format!("g{i}"));
        emu.add_bot(
            g,
            app.application_id,
            discord_emulator::permissions::ADMINISTRATOR,
            owner,
        )
        .unwrap();
        let victim = emu.create_user(&format!("victim{i}"));
        emu.add_member(g, victim).unwrap();
        guilds.push((g, owner, victim));
    }
    let mut ws = RawGateway::connect(&emu.gateway_url()).await.unwrap();
    ws.recv(T).await.unwrap();
    ws.identify(
        &app.bot_token,
        intents::GUILDS | intents::GUILD_MODERATION | intents::GUILD_MEMBERS,
    )
    .await
    .unwrap();
    for _ in 0..1000 {
        ws.wait_for("GUILD_CREATE", T).await.unwrap();
    }
    let mut worst = Duration::ZERO;
    let mut total = Duration::ZERO;
    for (g, owner, victim) in guilds.iter().take(50) {
        let t0 = Instant::now();
        emu.as_user(*owner).ban(*g, *victim).unwrap();
        let got = ws.wait_for("GUILD_BAN_ADD", T).await.unwrap();
        let dt = t0.elapsed();
        assert_eq!(got["d"]["guild_id"], g.to_string());
        worst = worst.max(dt);
        total += dt;
    }
    eprintln!(
        "ban -> GUILD_BAN_ADD: mean {:?}, worst {worst:?}",
        total / 50
    );
}
