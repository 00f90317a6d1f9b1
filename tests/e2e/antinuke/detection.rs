//! Purpose: who AntiNuke stops and who it leaves alone — the nuke (10 channels in 2 s),
//! actions under the threshold, the owner, trusted users and roles, Umbra's own actions, a
//! nuking bot, dangerous permission grants, and a target above Umbra's role.

use std::time::Duration;

use serde_json::json;

use super::{delete_channels, events, incident_dm, incidents, protected, roles_of, wait_incidents};
use crate::support::world::TestWorld;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rogue_admin_deleting_ten_channels_in_two_seconds_is_stopped_after_the_threshold() {
    let world = protected(TestWorld::start().await).await;
    let f = world.fixture.clone();
    let rogue = f.rogue_admin_id;
    assert!(roles_of(&world, rogue).unwrap().contains(&f.admin_role_id));
    let targets: Vec<u64> = f.channel_ids.iter().skip(1).take(10).copied().collect();
    let deleted = delete_channels(&world, rogue, &targets, Duration::from_millis(200)).await;
    let threshold = 3;
    assert!(
        (threshold..=threshold + 2).contains(&deleted),
        "{deleted} channels were deleted; the threshold is {threshold}"
    );
    assert_eq!(
        roles_of(&world, rogue).unwrap(),
        Vec::<u64>::new(),
        "every role was taken from the rogue admin"
    );

    let list = wait_incidents(&world, 1).await;
    assert_eq!(list.len(), 1, "one incident: {list:?}");
    let incident = &list[0];
    assert_eq!(incident.actor, rogue as i64);
    assert!(!incident.actor_is_bot);
    assert_eq!(incident.action_class, "channel_delete");
    assert_eq!(incident.action_count, 3);
    assert_eq!(incident.punishment, "strip_roles");
    assert_eq!(incident.status, "open");
    assert!(
        incident
            .stripped_role_ids
            .contains(&(f.admin_role_id as i64))
    );
    // What was destroyed: exactly the channels Discord deleted.
    world
        .eventually("every deletion is recorded with the incident", || async {
            incidents(&world).await[0].destroyed["channels_deleted"]
                .as_array()
                .is_some_and(|a| a.len() == deleted)
        })
        .await;
    // The owner's DM, with both buttons; the emergency snapshot and the event.
    let dm = incident_dm(&world, incident.id).await;
    assert!(
        dm.text().contains("AntiNuke stopped a nuke"),
        "{}",
        dm.text()
    );
    assert!(
        dm.text().contains("All their roles were taken away"),
        "{}",
        dm.text()
    );
    assert!(
        dm.custom_ids()
            .contains(&format!("umbra:antinuke:fp:{}", incident.id))
    );
    let incident = &incidents(&world).await[0];
    assert!(
        incident.emergency_snapshot_id.is_some(),
        "{:?}",
        incident.response
    );
    assert_eq!(events(&world, "recovery.incident_detected").await, 1);
    // The punishment is in Discord's audit log, naming the incident.
    let audit = world.emu.audit_log(world.guild_id());
    assert!(audit.iter().any(|e| {
        e.action_type == 25
            && e.target_id == Some(rogue)
            && e.reason
                .as_deref()
                .is_some_and(|r| r.contains(&incident.id.to_string()))
    }));
    // /antinuke incidents lists it.
    let reply = world
        .command(world.owner_id(), "antinuke incidents", json!({}))
        .await;
    assert!(
        reply.text.contains(&format!("<@{rogue}>")),
        "{}",
        reply.text
    );
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_under_the_threshold_by_the_owner_and_by_trusted_users_are_not_punished() {
    let world = protected(TestWorld::start().await).await;
    let f = world.fixture.clone();
    let guild = world.guild_id();
    // Two deletions: under the threshold of three.
    let two: Vec<u64> = f.channel_ids.iter().skip(1).take(2).copied().collect();
    assert_eq!(
        delete_channels(&world, f.rogue_admin_id, &two, Duration::from_millis(50)).await,
        2
    );
    // The owner nukes freely.
    let five: Vec<u64> = f.channel_ids.iter().skip(3).take(5).copied().collect();
    assert_eq!(
        delete_channels(&world, f.owner_id, &five, Duration::ZERO).await,
        5
    );
    // A trusted user (trusted by the owner) bans five members.
    let reply = world
        .command(
            world.owner_id(),
            "umbra settings trust",
            json!({ "user": f.trusted_user_id.to_string() }),
        )
        .await;
    assert!(reply.text.contains("trust"), "{}", reply.text);
    world
        .eventually("the trust reaches AntiNuke's policy", || async {
            world
                .data()
                .antinuke
                .policy(guild)
                .is_some_and(|p| p.exempt_users.contains(&f.trusted_user_id))
        })
        .await;
    let moderator = world.emu.as_user(f.trusted_user_id);
    for m in f.member_ids.iter().take(5) {
        moderator.ban(guild, *m).unwrap();
    }
    // A whitelisted role (the Moderator role of a second moderator) kicks three members.
    let second = f.member_ids[10];
    world
        .emu
        .as_user(f.owner_id)
        .add_member_role(guild, second, f.moderator_role_id)
        .unwrap();
    let reply = world
        .command(
            world.owner_id(),
            "antinuke whitelist",
            json!({ "action": 0, "role": f.moderator_role_id.to_string() }),
        )
        .await;
    assert!(reply.text.contains("whitelist"), "{}", reply.text);
    for m in f.member_ids.iter().skip(5).take(3) {
        world.emu.as_user(second).kick(guild, *m).unwrap();
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        incidents(&world).await.is_empty(),
        "{:?}",
        incidents(&world).await
    );
    assert!(
        roles_of(&world, f.rogue_admin_id)
            .unwrap()
            .contains(&f.admin_role_id)
    );
    assert!(
        roles_of(&world, f.trusted_user_id)
            .unwrap()
            .contains(&f.moderator_role_id)
    );
    // A third deletion by the rogue admin within the window does cross it.
    let third = f.channel_ids[8];
    world
        .emu
        .as_user(f.rogue_admin_id)
        .delete_channel(third)
        .unwrap();
    let list = wait_incidents(&world, 1).await;
    assert_eq!(list[0].actor, f.rogue_admin_id as i64);
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn umbras_own_actions_never_count() {
    let world = protected(TestWorld::start().await).await;
    let f = world.fixture.clone();
    let http = world.data().http.get().cloned().unwrap();
    let guild = poise::serenity_prelude::GuildId::new(world.guild_id());
    // Umbra deletes and creates far more than any threshold (as a restore would).
    for c in f.channel_ids.iter().skip(1).take(6) {
        http.delete_channel(
            poise::serenity_prelude::ChannelId::new(*c),
            Some("Umbra restore"),
        )
        .await
        .unwrap();
    }
    for i in 0..8 {
        guild
            .create_channel(
                &http,
                poise::serenity_prelude::CreateChannel::new(format!("restored-{i}")),
            )
            .await
            .unwrap();
        guild
            .create_role(
                &http,
                poise::serenity_prelude::EditRole::new().name(format!("Restored {i}")),
            )
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(incidents(&world).await.is_empty());
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_added_by_an_admin_that_starts_deleting_is_kicked() {
    let world = protected(TestWorld::start().await).await;
    let f = world.fixture.clone();
    let guild = world.guild_id();
    let nuker = world
        .emu
        .create_application("Nuker", discord_emulator::ApplicationOptions::privileged());
    world
        .emu
        .as_user(f.rogue_admin_id)
        .add_bot(guild, nuker.application_id, 8)
        .unwrap();
    assert!(roles_of(&world, nuker.bot_user_id).is_some());
    // Wait until Umbra's cache knows the bot as a member (as it would within milliseconds).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let targets: Vec<u64> = f.channel_ids.iter().skip(1).take(10).copied().collect();
    let deleted = delete_channels(
        &world,
        nuker.bot_user_id,
        &targets,
        Duration::from_millis(50),
    )
    .await;
    assert!((3..=5).contains(&deleted), "{deleted}");
    assert!(
        roles_of(&world, nuker.bot_user_id).is_none(),
        "the bot was kicked"
    );
    let list = wait_incidents(&world, 1).await;
    assert_eq!(list[0].actor, nuker.bot_user_id as i64);
    assert!(list[0].actor_is_bot);
    assert_eq!(list[0].punishment, "kick");
    // Adding one bot alone is not an incident: the admin kept their roles.
    assert!(
        roles_of(&world, f.rogue_admin_id)
            .unwrap()
            .contains(&f.admin_role_id)
    );
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dangerous_permission_grant_is_caught() {
    let world = protected(TestWorld::start().await).await;
    let f = world.fixture.clone();
    let guild = world.guild_id();
    // A role gaining ADMINISTRATOR.
    let plain = f.role_ids[0];
    world
        .emu
        .as_user(f.rogue_admin_id)
        .grant_permissions(guild, plain, 8)
        .unwrap();
    let list = wait_incidents(&world, 1).await;
    assert_eq!(list[0].action_class, "permission_grant");
    assert_eq!(list[0].actor, f.rogue_admin_id as i64);
    assert_eq!(
        roles_of(&world, f.rogue_admin_id).unwrap(),
        Vec::<u64>::new()
    );
    assert_eq!(list[0].destroyed["roles_granted"], json!([plain]));
    // A member receiving a role with BAN_MEMBERS (the Moderator role) from another admin.
    let admin2 = f.member_ids[0];
    let target = f.member_ids[1];
    world
        .emu
        .as_user(f.owner_id)
        .add_member_role(guild, admin2, f.admin_role_id)
        .unwrap();
    world
        .emu
        .as_user(admin2)
        .add_member_role(guild, target, f.moderator_role_id)
        .unwrap();
    let list = wait_incidents(&world, 2).await;
    assert_eq!(list[1].actor, admin2 as i64);
    assert_eq!(list[1].destroyed["members_granted"], json!([target]));
    assert_eq!(roles_of(&world, admin2).unwrap(), Vec::<u64>::new());
    // A harmless grant is not: the owner made admin2 an admin (exempt), and a plain role given
    // by an admin carries no dangerous permission.
    world
        .emu
        .as_user(f.owner_id)
        .add_member_role(guild, target, f.admin_role_id)
        .unwrap();
    let harmless = f.role_ids[3];
    world
        .emu
        .as_user(target)
        .add_member_role(guild, f.member_ids[2], harmless)
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(incidents(&world).await.len(), 2);
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nuker_above_umbras_role_is_reported_as_cannot_punish_with_what_to_change() {
    let world = protected(TestWorld::start().await).await;
    let f = world.fixture.clone();
    let guild = world.guild_id();
    let founder = f.member_ids[4];
    world
        .emu
        .as_user(f.owner_id)
        .add_member_role(guild, founder, f.founders_role_id)
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let targets: Vec<u64> = f.channel_ids.iter().skip(1).take(4).copied().collect();
    assert_eq!(
        delete_channels(&world, founder, &targets, Duration::from_millis(20)).await,
        4
    );
    let list = wait_incidents(&world, 1).await;
    assert_eq!(list[0].punishment, "none");
    assert!(
        roles_of(&world, founder)
            .unwrap()
            .contains(&f.founders_role_id)
    );
    let dm = incident_dm(&world, list[0].id).await;
    assert!(dm.text().contains("could NOT stop them"), "{}", dm.text());
    assert!(
        dm.text().contains(&format!("<@&{}>", f.founders_role_id)),
        "{}",
        dm.text()
    );
    world.finish().await;
}
