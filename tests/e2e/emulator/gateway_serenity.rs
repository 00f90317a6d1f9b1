//! Purpose: a real serenity 0.12 client (rate limiter on, TLS as discord.com) against the
//! emulator: identify, READY, GUILD_CREATE, RESUME after op 7 / op 9 / a dropped connection
//! with replay of the events missed meanwhile, and member chunks.

use std::time::Duration;

use discord_emulator::FixtureSpec;
use serde_json::json;
use serenity::all::{ChunkGuildFilter, Event, GatewayIntents, GuildId};

use super::harness::*;

const T: Duration = Duration::from_secs(10);

fn intents() -> GatewayIntents {
    GatewayIntents::GUILDS
        | GatewayIntents::GUILD_MEMBERS
        | GatewayIntents::GUILD_MODERATION
        | GatewayIntents::GUILD_EMOJIS_AND_STICKERS
        | GatewayIntents::GUILD_WEBHOOKS
        | GatewayIntents::DIRECT_MESSAGES
        | GatewayIntents::GUILD_MESSAGES
}

#[tokio::test]
async fn a_serenity_client_with_its_rate_limiter_connects_identifies_and_receives_guild_create() {
    let emu = start().await;
    let f = emu.build_fixture(&FixtureSpec::small());
    let mut bot = serenity_bot(&emu, &f.app.bot_token, intents()).await;
    let ready = bot.wait_for(T, |e| matches!(e, Event::Ready(_))).await;
    let Event::Ready(r) = ready else {
        unreachable!()
    };
    assert_eq!(r.ready.user.id.get(), f.app.bot_user_id);
    assert_eq!(r.ready.application.id.get(), f.app.application_id);
    assert_eq!(r.ready.guilds.len(), 1);
    let gc = bot
        .wait_for(T, |e| matches!(e, Event::GuildCreate(_)))
        .await;
    let Event::GuildCreate(gc) = gc else {
        unreachable!()
    };
    let view = emu.guild_view(f.guild_id).unwrap();
    assert_eq!(gc.guild.id.get(), f.guild_id);
    assert_eq!(gc.guild.roles.len(), view.roles.len());
    assert_eq!(gc.guild.channels.len(), view.channels.len());
    assert_eq!(gc.guild.member_count as usize, view.members.len());
    assert!(
        gc.guild
            .roles
            .values()
            .any(|r| r.managed && r.tags.bot_id.map(|b| b.get()) == Some(f.app.bot_user_id))
    );
    // serenity fetched the gateway URL over TLS as discord.com.
    assert!(
        emu.request_log()
            .iter()
            .any(|r| r.route == "/gateway" && r.status == 200)
    );
    assert_eq!(emu.connected_sessions(f.app.application_id), 1);
    bot.assert_no_unknown_events();
    bot.stop().await;
    assert_all_shapes(&emu);
}

#[tokio::test]
async fn a_serenity_client_resumes_after_op_7_and_receives_the_events_missed_meanwhile() {
    let emu = start().await;
    let f = emu.build_fixture(&FixtureSpec::small());
    let mut bot = serenity_bot(&emu, &f.app.bot_token, intents()).await;
    bot.wait_for(T, |e| matches!(e, Event::GuildCreate(_)))
        .await;
    assert_eq!(emu.send_reconnect(f.app.application_id), 1);
    // Happens while the client is reconnecting: must be replayed on RESUME.
    let owner = emu.as_user(f.owner_id);
    let role = owner
        .create_role(f.guild_id, json!({ "name": "Made while away" }))
        .unwrap();
    owner.delete_channel(f.channel_ids[1]).unwrap();
    let mut got_role = false;
    let mut got_delete = false;
    let mut got_resumed = false;
    while !(got_role && got_delete && got_resumed) {
        match bot.wait_for(T, |_| true).await {
            Event::GuildRoleCreate(e) if e.role.id.get() == role => got_role = true,
            Event::ChannelDelete(e) if e.channel.id.get() == f.channel_ids[1] => got_delete = true,
            Event::Resumed(_) => got_resumed = true,
            Event::Ready(_) => panic!("the client re-identified instead of resuming"),
            _ => {}
        }
    }
    assert_eq!(
        emu.dispatch_log()
            .iter()
            .filter(|d| d.event == "READY")
            .count(),
        1
    );
    assert_eq!(emu.connected_sessions(f.app.application_id), 1);
    bot.assert_no_unknown_events();
    bot.stop().await;
    assert_all_shapes(&emu);
}

#[tokio::test]
async fn a_dropped_connection_is_resumed_and_a_non_resumable_invalid_session_is_reidentified() {
    let emu = start().await;
    let f = emu.build_fixture(&FixtureSpec::small());
    let app = f.app.application_id;
    let mut bot = serenity_bot(&emu, &f.app.bot_token, intents()).await;
    bot.wait_for(T, |e| matches!(e, Event::GuildCreate(_)))
        .await;

    assert_eq!(emu.disconnect(app), 1);
    let role = emu
        .as_user(f.owner_id)
        .create_role(f.guild_id, json!({ "name": "After drop" }))
        .unwrap();
    bot.wait_for(
        T,
        |e| matches!(e, Event::GuildRoleCreate(r) if r.role.id.get() == role),
    )
    .await;

    assert!(emu.wait_for_sessions(app, 1, T).await);
    assert_eq!(emu.send_invalid_session(app, false), 1);
    bot.wait_for(T, |e| matches!(e, Event::Ready(_))).await;
    bot.wait_for(T, |e| matches!(e, Event::GuildCreate(_)))
        .await;
    assert_eq!(
        emu.dispatch_log()
            .iter()
            .filter(|d| d.event == "READY")
            .count(),
        2
    );
    bot.assert_no_unknown_events();
    bot.stop().await;
}

#[tokio::test]
async fn request_guild_members_is_answered_in_chunks_of_1000() {
    let emu = start().await;
    let f = emu.build_fixture(&FixtureSpec::small().with_members(2_500));
    let mut bot = serenity_bot(&emu, &f.app.bot_token, intents()).await;
    let gc = bot
        .wait_for(T, |e| matches!(e, Event::GuildCreate(_)))
        .await;
    let Event::GuildCreate(gc) = gc else {
        unreachable!()
    };
    assert!(gc.guild.large, "2,504 members is a large guild");
    assert!(
        gc.guild.members.len() <= 250,
        "a large guild's GUILD_CREATE does not carry every member"
    );
    let runners = bot.shard_manager.runners.lock().await;
    let runner = runners.values().next().unwrap();
    runner.runner_tx.chunk_guild(
        GuildId::new(f.guild_id),
        None,
        false,
        ChunkGuildFilter::None,
        Some("n1".to_string()),
    );
    drop(runners);
    let mut seen = 0;
    let mut chunks = Vec::new();
    while chunks.len() < 3 {
        if let Event::GuildMembersChunk(c) = bot
            .wait_for(T, |e| matches!(e, Event::GuildMembersChunk(_)))
            .await
        {
            assert_eq!(c.chunk_count, 3);
            assert_eq!(c.nonce.as_deref(), Some("n1"));
            assert!(c.members.len() <= 1000);
            seen += c.members.len();
            chunks.push(c.chunk_index);
        }
    }
    chunks.sort_unstable();
    assert_eq!(chunks, vec![0, 1, 2]);
    assert_eq!(seen, 2_504);
    bot.assert_no_unknown_events();
    bot.stop().await;
}

#[tokio::test]
async fn a_connected_bot_added_to_a_guild_receives_its_guild_create() {
    let emu = start().await;
    let app = emu.create_application("Umbra", discord_emulator::ApplicationOptions::privileged());
    let mut bot = serenity_bot(&emu, &app.bot_token, intents()).await;
    bot.wait_for(
        T,
        |e| matches!(e, Event::Ready(r) if r.ready.guilds.is_empty()),
    )
    .await;
    let owner = emu.create_user("owner");
    let g = emu.create_guild(owner, "Later");
    let role = emu
        .as_user(owner)
        .add_bot(
            g,
            app.application_id,
            discord_emulator::permissions::ADMINISTRATOR,
        )
        .unwrap();
    let gc = bot
        .wait_for(T, |e| matches!(e, Event::GuildCreate(_)))
        .await;
    let Event::GuildCreate(gc) = gc else {
        unreachable!()
    };
    assert_eq!(gc.guild.id.get(), g);
    assert!(gc.guild.roles.keys().any(|r| r.get() == role));
    // Kicked: GUILD_DELETE.
    emu.as_user(owner).kick(g, app.bot_user_id).unwrap();
    bot.wait_for(
        T,
        |e| matches!(e, Event::GuildDelete(d) if d.guild.id.get() == g),
    )
    .await;
    bot.assert_no_unknown_events();
    bot.stop().await;
    assert_all_shapes(&emu);
}
