//! Purpose: every mutation emits the dispatches Discord would send and an audit-log entry
//! (GUILD_AUDIT_LOG_ENTRY_CREATE with actor, target, action type, changes and decoded reason),
//! filtered by the session's intents and the bot's VIEW_AUDIT_LOG.

use std::time::Duration;

use discord_emulator::permissions as p;
use discord_emulator::testing::RawGateway;
use discord_emulator::{FixtureSpec, OverwriteKind, intents};
use serde_json::{Value, json};
use serenity::all::{Change, Event, GatewayIntents};

use super::harness::*;

const T: Duration = Duration::from_secs(10);

fn all_intents() -> GatewayIntents {
    GatewayIntents::GUILDS
        | GatewayIntents::GUILD_MEMBERS
        | GatewayIntents::GUILD_MODERATION
        | GatewayIntents::GUILD_EMOJIS_AND_STICKERS
        | GatewayIntents::GUILD_WEBHOOKS
}

/// Waits for the audit entry of `action` and returns (entry, events seen before it).
async fn audit_entry(bot: &mut SerenityBot, action: u8) -> serenity::all::AuditLogEntry {
    let ev = bot
        .wait_for(
            T,
            |e| matches!(e, Event::GuildAuditLogEntryCreate(a) if a.entry.action.num() == action),
        )
        .await;
    let Event::GuildAuditLogEntryCreate(a) = ev else {
        unreachable!()
    };
    a.entry
}

#[tokio::test]
async fn scripted_destructive_actions_emit_their_dispatches_and_audit_entries_with_actor_and_reason()
 {
    let emu = start().await;
    let f = emu.build_fixture(&FixtureSpec::small());
    let mut bot = serenity_bot(&emu, &f.app.bot_token, all_intents()).await;
    bot.wait_for(T, |e| matches!(e, Event::GuildCreate(_)))
        .await;
    let rogue = emu.as_user(f.rogue_admin_id).with_reason("nuke it");
    let actor = f.rogue_admin_id;

    rogue.delete_channel(f.channel_ids[1]).unwrap();
    bot.wait_for(
        T,
        |e| matches!(e, Event::ChannelDelete(c) if c.channel.id.get() == f.channel_ids[1]),
    )
    .await;
    let e = audit_entry(&mut bot, 12).await;
    assert_eq!(e.user_id.get(), actor);
    assert_eq!(e.target_id.map(|t| t.get()), Some(f.channel_ids[1]));
    assert_eq!(e.reason.as_deref(), Some("nuke it"));
    assert!(
        e.changes
            .unwrap()
            .iter()
            .any(|c| matches!(c, Change::Name { old: Some(_), .. }))
    );

    let role = rogue.create_role_named(f.guild_id, "Evil", 0).unwrap();
    bot.wait_for(
        T,
        |e| matches!(e, Event::GuildRoleCreate(r) if r.role.id.get() == role),
    )
    .await;
    assert_eq!(
        audit_entry(&mut bot, 30).await.target_id.map(|t| t.get()),
        Some(role)
    );

    rogue
        .grant_permissions(f.guild_id, role, p::ADMINISTRATOR)
        .unwrap();
    bot.wait_for(
        T,
        |e| matches!(e, Event::GuildRoleUpdate(r) if r.role.id.get() == role),
    )
    .await;
    let e = audit_entry(&mut bot, 31).await;
    let grant = e.changes.unwrap().into_iter().find_map(|c| match c {
        Change::Permissions { new, .. } => new,
        _ => None,
    });
    assert!(
        grant.unwrap().administrator(),
        "the dangerous grant is visible in the changes"
    );

    rogue
        .add_member_role(f.guild_id, f.member_ids[0], role)
        .unwrap();
    bot.wait_for(
        T,
        |e| matches!(e, Event::GuildMemberUpdate(m) if m.user.id.get() == f.member_ids[0]),
    )
    .await;
    let e = audit_entry(&mut bot, 25).await;
    assert!(
        e.changes
            .unwrap()
            .iter()
            .any(|c| matches!(c, Change::RolesAdded { new: Some(r), .. } if r[0].name == "Evil"))
    );

    rogue.ban(f.guild_id, f.member_ids[1]).unwrap();
    bot.wait_for(
        T,
        |e| matches!(e, Event::GuildBanAdd(b) if b.user.id.get() == f.member_ids[1]),
    )
    .await;
    bot.wait_for(
        T,
        |e| matches!(e, Event::GuildMemberRemove(m) if m.user.id.get() == f.member_ids[1]),
    )
    .await;
    assert_eq!(audit_entry(&mut bot, 22).await.user_id.get(), actor);

    rogue.kick(f.guild_id, f.member_ids[2]).unwrap();
    assert_eq!(
        audit_entry(&mut bot, 20).await.target_id.map(|t| t.get()),
        Some(f.member_ids[2])
    );

    rogue
        .update_guild(f.guild_id, json!({ "name": "Pwned" }))
        .unwrap();
    bot.wait_for(
        T,
        |e| matches!(e, Event::GuildUpdate(g) if g.guild.name == "Pwned"),
    )
    .await;
    audit_entry(&mut bot, 1).await;

    rogue.create_webhook(f.general_channel_id, "spam").unwrap();
    bot.wait_for(T, |e| matches!(e, Event::WebhookUpdate(_)))
        .await;
    audit_entry(&mut bot, 50).await;

    rogue.create_emoji(f.guild_id, "evil").unwrap();
    bot.wait_for(T, |e| matches!(e, Event::GuildEmojisUpdate(_)))
        .await;
    audit_entry(&mut bot, 60).await;

    rogue
        .put_overwrite(
            f.general_channel_id,
            f.guild_id,
            OverwriteKind::Role,
            0,
            p::VIEW_CHANNEL,
        )
        .unwrap();
    bot.wait_for(
        T,
        |e| matches!(e, Event::ChannelUpdate(c) if c.channel.id.get() == f.general_channel_id),
    )
    .await;
    audit_entry(&mut bot, 13).await;

    let other = emu.create_application("Nuker", discord_emulator::ApplicationOptions::default());
    rogue
        .add_bot(f.guild_id, other.application_id, p::ADMINISTRATOR)
        .unwrap();
    bot.wait_for(
        T,
        |e| matches!(e, Event::GuildMemberAdd(m) if m.member.user.id.get() == other.bot_user_id),
    )
    .await;
    assert_eq!(
        audit_entry(&mut bot, 28).await.target_id.map(|t| t.get()),
        Some(other.bot_user_id)
    );

    // The log the AntiNuke benchmark reads.
    let log = emu.dispatch_log();
    let delete = log.iter().find(|d| d.event == "CHANNEL_DELETE").unwrap();
    assert_eq!(
        (delete.guild_id, delete.target_id, delete.sessions),
        (Some(f.guild_id), Some(f.channel_ids[1]), 1)
    );
    assert_eq!(emu.audit_log(f.guild_id).len(), 11);
    bot.assert_no_unknown_events();
    bot.stop().await;
    assert_all_shapes(&emu);
}

#[tokio::test]
async fn the_bot_through_rest_is_audited_with_its_percent_encoded_reason_decoded() {
    let emu = start().await;
    let f = emu.build_fixture(&FixtureSpec::small());
    let bot = Rest::bot(&emu, &f.app.bot_token).with_reason("Umbra: 복구 (restore)");
    let r = bot
        .post(
            &format!("/guilds/{}/roles", f.guild_id),
            json!({ "name": "Restored" }),
        )
        .await;
    let audit = Rest::bot(&emu, &f.app.bot_token)
        .get(&format!(
            "/guilds/{}/audit-logs?action_type=30&limit=1",
            f.guild_id
        ))
        .await;
    let entry = &audit.json()["audit_log_entries"][0];
    assert_eq!(entry["reason"], "Umbra: 복구 (restore)");
    assert_eq!(entry["user_id"], f.app.bot_user_id.to_string());
    assert_eq!(entry["target_id"], r.json()["id"]);
    assert!(
        audit.json()["users"]
            .as_array()
            .unwrap()
            .iter()
            .any(
                |u| u["id"].as_str().and_then(|s| s.parse::<u64>().ok()) == Some(f.app.bot_user_id)
            )
    );
    let filtered = Rest::bot(&emu, &f.app.bot_token)
        .get(&format!(
            "/guilds/{}/audit-logs?user_id={}",
            f.guild_id, f.owner_id
        ))
        .await;
    assert!(
        filtered.json()["audit_log_entries"]
            .as_array()
            .unwrap()
            .is_empty(),
        "the owner did nothing"
    );
    assert_all_shapes(&emu);
}

fn sessions_of(emu: &discord_emulator::Emulator, event: &str) -> Vec<usize> {
    emu.dispatch_log()
        .iter()
        .filter(|d| d.event == event)
        .map(|d| d.sessions)
        .collect()
}

#[tokio::test]
async fn dispatches_are_filtered_by_intents_and_audit_entries_by_view_audit_log() {
    let emu = start().await;
    let mut spec = FixtureSpec::small();
    spec.bot_permissions = p::MANAGE_ROLES | p::MANAGE_CHANNELS;
    let f = emu.build_fixture(&spec);
    let owner = emu.as_user(f.owner_id);

    // GUILDS only: channel events yes, bans and audit entries no.
    let mut ws = RawGateway::connect(&emu.gateway_url()).await.unwrap();
    ws.recv(T).await.unwrap();
    ws.identify(&f.app.bot_token, intents::GUILDS)
        .await
        .unwrap();
    ws.wait_for("GUILD_CREATE", T).await.unwrap();
    owner.ban(f.guild_id, f.member_ids[0]).unwrap();
    owner.delete_channel(f.channel_ids[1]).unwrap();
    let next = ws.recv(T).await.unwrap();
    assert_eq!(
        next["t"], "CHANNEL_DELETE",
        "GUILD_BAN_ADD needs GUILD_MODERATION: {next}"
    );
    assert_eq!(sessions_of(&emu, "GUILD_BAN_ADD"), vec![0]);
    ws.close().await;
    tokio::time::sleep(Duration::from_millis(100)).await;

    // GUILD_MODERATION but no VIEW_AUDIT_LOG: bans yes, audit entries no.
    let mut ws = RawGateway::connect(&emu.gateway_url()).await.unwrap();
    ws.recv(T).await.unwrap();
    ws.identify(
        &f.app.bot_token,
        intents::GUILDS | intents::GUILD_MODERATION,
    )
    .await
    .unwrap();
    ws.wait_for("GUILD_CREATE", T).await.unwrap();
    emu.clear_logs();
    owner.ban(f.guild_id, f.member_ids[1]).unwrap();
    assert_eq!(
        ws.wait_for("GUILD_BAN_ADD", T).await.unwrap()["d"]["user"]["id"],
        f.member_ids[1].to_string()
    );
    assert_eq!(sessions_of(&emu, "GUILD_AUDIT_LOG_ENTRY_CREATE"), vec![0]);
    // Granting VIEW_AUDIT_LOG to the bot's role turns audit entries on.
    owner
        .grant_permissions(f.guild_id, f.bot_role_id, p::VIEW_AUDIT_LOG)
        .unwrap();
    owner.ban(f.guild_id, f.member_ids[2]).unwrap();
    let grant: Value = ws
        .wait_for("GUILD_AUDIT_LOG_ENTRY_CREATE", T)
        .await
        .unwrap();
    assert_eq!(
        grant["d"]["action_type"], 31,
        "the grant itself is the first entry the bot may see"
    );
    let entry: Value = ws
        .wait_for("GUILD_AUDIT_LOG_ENTRY_CREATE", T)
        .await
        .unwrap();
    assert_eq!(entry["d"]["action_type"], 22);
    assert_eq!(entry["d"]["user_id"], f.owner_id.to_string());
    assert_eq!(entry["d"]["guild_id"], f.guild_id.to_string());
    assert_dispatches_are_typed(&emu);
}
