//! Purpose: what the owner does with an incident: "False positive" gives the roles back (only
//! for the owner and trusted users), commands refuse bad input and people without rights.

use std::time::Duration;

use serde_json::json;

use super::{
    delete_channels, emergency_snapshot_linked, events, incident_dm, incidents, owner_restores,
    protected, resolved, roles_of, wait_incidents,
};
use crate::support::world::TestWorld;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn false_positive_gives_the_roles_back_and_only_the_owner_or_trusted_may_press_it() {
    let world = protected(TestWorld::start().await).await;
    let f = world.fixture.clone();
    let before = roles_of(&world, f.rogue_admin_id).unwrap();
    let targets: Vec<u64> = f.channel_ids.iter().skip(1).take(3).copied().collect();
    delete_channels(&world, f.rogue_admin_id, &targets, Duration::ZERO).await;
    let list = wait_incidents(&world, 1).await;
    assert_eq!(
        roles_of(&world, f.rogue_admin_id).unwrap(),
        Vec::<u64>::new()
    );
    let dm = incident_dm(&world, list[0].id).await;
    let fp = format!("umbra:antinuke:fp:{}", list[0].id);
    // The rogue admin cannot press it (e.g. if the DM were forwarded to a log channel).
    let refused = world.click(f.rogue_admin_id, &dm, &fp).await;
    assert!(refused.text.contains("trusted"), "{}", refused.text);
    assert_eq!(
        roles_of(&world, f.rogue_admin_id).unwrap(),
        Vec::<u64>::new()
    );
    // The owner can.
    let reply = world.click(f.owner_id, &dm, &fp).await;
    assert!(reply.text.contains("false positive"), "{}", reply.text);
    let mut after = roles_of(&world, f.rogue_admin_id).unwrap();
    let mut expected = before.clone();
    after.sort_unstable();
    expected.sort_unstable();
    assert_eq!(after, expected, "the roles are back");
    let incident = &incidents(&world).await[0];
    assert_eq!(incident.status, "false_positive");
    assert_eq!(events(&world, "recovery.incident_resolved").await, 1);
    // A second press changes nothing.
    let again = world.click(f.owner_id, &dm, &fp).await;
    assert!(again.text.contains("already"), "{}", again.text);
    // After the false positive the admin is counted from zero: two more deletions are fine.
    let two: Vec<u64> = f.channel_ids.iter().skip(4).take(2).copied().collect();
    assert_eq!(
        delete_channels(&world, f.rogue_admin_id, &two, Duration::ZERO).await,
        2
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(incidents(&world).await.len(), 1);
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn antinuke_commands_need_trust_validate_input_and_respect_the_plan() {
    let world = TestWorld::start().await;
    let f = world.fixture.clone();
    // The rogue admin (an administrator, not trusted) is refused.
    let reply = world
        .command(f.rogue_admin_id, "antinuke enable", json!({}))
        .await;
    assert!(reply.text.contains("trusted"), "{}", reply.text);
    assert!(
        world
            .data()
            .antinuke
            .policy(world.guild_id())
            .is_none_or(|p| !p.enabled)
    );
    // The free plan has no custom thresholds, kicks, lockdown or automatic revert.
    let reply = world
        .command(
            f.owner_id,
            "antinuke thresholds",
            json!({ "action": 0, "count": 5, "window": 10 }),
        )
        .await;
    assert!(reply.text.contains("not included"), "{}", reply.text);
    let reply = world
        .command(f.owner_id, "antinuke punishment", json!({ "kind": 2 }))
        .await;
    assert!(reply.text.contains("not included"), "{}", reply.text);
    // With a Max plan: bounds are checked, then the threshold applies at once.
    let reply = world
        .command(
            f.owner_id,
            "admin license grant",
            json!({ "guild": world.guild_id().to_string(), "plan": "max", "days": 30 }),
        )
        .await;
    assert!(reply.text.contains("Max"), "{}", reply.text);
    let reply = world
        .command(
            f.owner_id,
            "antinuke thresholds",
            json!({ "action": 0, "count": 0, "window": 10 }),
        )
        .await;
    assert!(reply.text.contains("between 1 and"), "{}", reply.text);
    let reply = world
        .command(
            f.owner_id,
            "antinuke thresholds",
            json!({ "action": 0, "count": 5, "window": 100000 }),
        )
        .await;
    assert!(reply.text.contains("between 1 and"), "{}", reply.text);
    let reply = world
        .command(
            f.owner_id,
            "antinuke thresholds",
            json!({ "action": 0, "count": 5, "window": 20 }),
        )
        .await;
    assert!(reply.text.contains("5 within 20"), "{}", reply.text);
    let reply = world
        .command(f.owner_id, "antinuke status", json!({}))
        .await;
    assert!(
        reply.text.contains("5 in 20 s (this server's own)"),
        "{}",
        reply.text
    );
    let reply = world
        .command(
            f.owner_id,
            "antinuke punishment",
            json!({ "kind": 3, "lockdown": true }),
        )
        .await;
    assert!(reply.text.contains("ban"), "{}", reply.text);
    let reply = world
        .command(f.owner_id, "antinuke status", json!({}))
        .await;
    assert!(
        reply.text.contains("Response to a nuker: ban"),
        "{}",
        reply.text
    );
    // Korean.
    let reply = world
        .command_with(
            f.owner_id,
            Some(world.guild_id()),
            "antinuke status",
            json!({}),
            "ko",
        )
        .await;
    assert!(reply.text.contains("기준"), "{}", reply.text);
    world.finish().await;
}

/// The view without `user` (the punished attacker keeps their punishment after a restore).
fn without_member(mut v: discord_emulator::GuildView, user: u64) -> discord_emulator::GuildView {
    v.members.retain(|m| m.user_id != user);
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_what_was_destroyed_brings_back_exactly_the_deleted_channels_and_roles() {
    let world = protected(TestWorld::start().await).await;
    let f = world.fixture.clone();
    let guild = world.guild_id();
    let rogue = f.rogue_admin_id;
    let before = crate::recovery::emulator_view(&world);
    // The nuke, at ~50 actions a second: channels and roles (held by members, named in
    // overwrites) alternately, until Discord refuses.
    let actor = world.emu.as_user(rogue);
    let mut channels = f.channel_ids.iter().skip(1);
    let mut roles = f.role_ids.iter().rev();
    let (mut deleted_channels, mut deleted_roles) = (0, 0);
    for i in 0..12 {
        let ok = if i % 2 == 0 {
            channels
                .next()
                .is_some_and(|c| actor.delete_channel(*c).is_ok())
        } else {
            roles
                .next()
                .is_some_and(|r| actor.delete_role(guild, *r).is_ok())
        };
        if ok && i % 2 == 0 {
            deleted_channels += 1;
        } else if ok {
            deleted_roles += 1;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Channel and role deletions together cross the combined score (2 + 2 = 100 points) before
    // either class reaches its own threshold of 3.
    assert!((2..=5).contains(&deleted_channels), "{deleted_channels}");
    assert!(deleted_roles >= 2, "{deleted_roles}");
    let list = wait_incidents(&world, 1).await;
    let dm = incident_dm(&world, list[0].id).await;
    emergency_snapshot_linked(&world).await;
    // Only the owner or trusted users can start it.
    let restore = format!("umbra:antinuke:restore:{}", list[0].id);
    let refused = world.click(rogue, &dm, &restore).await;
    assert!(refused.text.contains("trusted"), "{}", refused.text);
    let reply = world.click(f.owner_id, &dm, &restore).await;
    assert!(
        reply.text.contains("Restor") || reply.text.contains("restor"),
        "{}",
        reply.text
    );
    world
        .eventually(
            "the incident is resolved by the finished restore",
            || async { incidents(&world).await[0].status == "resolved" },
        )
        .await;
    let after = crate::recovery::emulator_view(&world);
    let d = discord_emulator::diff(
        &without_member(before, rogue),
        &without_member(after, rogue),
        &crate::restore::restore_options(),
    );
    let shown: Vec<String> = d.iter().take(40).map(ToString::to_string).collect();
    assert!(
        d.is_empty(),
        "{} differences:\n{}",
        d.len(),
        shown.join("\n")
    );
    // The attacker stays punished; Umbra's restore (many creations) was never counted.
    assert_eq!(roles_of(&world, rogue).unwrap(), Vec::<u64>::new());
    assert_eq!(incidents(&world).await.len(), 1);
    assert_eq!(events(&world, "recovery.incident_resolved").await, 1);
    // The restore's progress and report replaced the button's answer.
    let last = reply.handle.messages();
    assert!(!last.is_empty());
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mass_ban_is_stopped_and_restore_what_was_destroyed_lifts_the_bans() {
    let world = protected(TestWorld::start().await).await;
    let f = world.fixture.clone();
    let guild = world.guild_id();
    let victims: Vec<u64> = f.member_ids.iter().take(10).copied().collect();
    // At ~50 bans a second (what Discord lets a nuker do).
    let mut banned = Vec::new();
    for v in &victims {
        if world.emu.as_user(f.rogue_admin_id).ban(guild, *v).is_ok() {
            banned.push(*v);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!((3..=5).contains(&banned.len()), "{banned:?}");
    let list = wait_incidents(&world, 1).await;
    assert_eq!(list[0].action_class, "ban");
    let reply = owner_restores(&world, list[0].id).await;
    assert!(
        reply
            .text
            .contains(&format!("{} bans and unbans undone", banned.len())),
        "{}",
        reply.text
    );
    // By the restore job (durable), with its audit reason.
    resolved(&world).await;
    for v in &banned {
        assert!(!super::is_banned(&world, *v), "{v} is still banned");
    }
    let unbans = world
        .emu
        .request_log()
        .iter()
        .filter(|r| r.method == "DELETE" && r.route == "/guilds/{guild_id}/bans/{user_id}")
        .filter(|r| {
            r.reason
                .as_deref()
                .is_some_and(|x| x.starts_with("umbra:restore:"))
        })
        .count();
    assert_eq!(unbans, banned.len(), "one unban each, by the job");
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_threads_and_forum_posts_count_as_destruction_and_come_back() {
    let world = protected(TestWorld::start().await).await;
    let f = world.fixture.clone();
    let before = crate::recovery::emulator_view(&world);
    assert_eq!(before.threads.len(), 4, "the fixture's threads and posts");
    // The day's scheduled snapshot: the posts' starter messages are kept there (a message
    // deleted before the emergency snapshot is taken cannot be read any more; the emergency
    // snapshot copies them from this one).
    world
        .data()
        .snapshots
        .create_manual(world.guild_id(), Some("daily".into()), f.owner_id)
        .await
        .expect("a snapshot before the attack");
    // At ~50 a second, as a nuker would: each counts as a deleted channel.
    let actor = world.emu.as_user(f.rogue_admin_id);
    let mut deleted = 0;
    for t in &before.threads {
        if actor.delete_thread(t.id).is_ok() {
            deleted += 1;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(deleted >= 3, "{deleted}");
    let list = wait_incidents(&world, 1).await;
    assert_eq!(list[0].action_class, "channel_delete");
    owner_restores(&world, list[0].id).await;
    resolved(&world).await;
    // The posts come back with their tags, starter messages, pin and archive state.
    let options = crate::restore::nothing_but(|o| o.threads = true);
    let d = discord_emulator::diff(&before, &crate::recovery::emulator_view(&world), &options);
    assert!(d.is_empty(), "threads differ: {d:?}");
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_the_attacker_deleted_or_took_with_a_channel_are_made_again() {
    let world = protected(TestWorld::start().await).await;
    let f = world.fixture.clone();
    let owner = world.emu.as_user(f.owner_id);
    let texts: Vec<u64> = crate::recovery::emulator_view(&world)
        .channels
        .iter()
        .filter(|c| c.kind == 0 && c.id != f.general_channel_id)
        .map(|c| c.id)
        .collect();
    assert!(texts.len() >= 4, "{texts:?}");
    let alerts = owner
        .create_webhook(texts[0], "Alerts")
        .expect("a webhook in a channel the attacker deletes");
    let deploys = owner
        .create_webhook(texts[1], "Deploys")
        .expect("a webhook the attacker deletes");
    world
        .eventually("the mirror knows the webhooks", || async {
            let hooks = world
                .data()
                .sync
                .state_as_of(world.guild_id(), None)
                .await
                .ok()
                .flatten()
                .and_then(|s| s.settings)
                .and_then(|s| s.webhooks)
                .unwrap_or_default();
            [alerts, deploys]
                .iter()
                .all(|id| hooks.iter().any(|h| h.id == *id))
        })
        .await;
    let before = crate::recovery::emulator_view(&world);
    // The day's scheduled snapshot keeps the avatars' bytes (the CDN stops serving a deleted
    // webhook's avatar; the emergency snapshot reuses this one's).
    world
        .data()
        .snapshots
        .create_manual(world.guild_id(), Some("daily".into()), f.owner_id)
        .await
        .expect("a snapshot before the attack");
    let actor = world.emu.as_user(f.rogue_admin_id);
    actor
        .delete_webhook(deploys)
        .expect("the attacker deletes a webhook");
    delete_channels(
        &world,
        f.rogue_admin_id,
        &gone_channels(&texts),
        Duration::ZERO,
    )
    .await;
    let list = wait_incidents(&world, 1).await;
    let dms_before = world.emu.dm_messages_to(f.owner_id).len();
    owner_restores(&world, list[0].id).await;
    resolved(&world).await;
    // Both are back by name, channel and avatar (new ids, new URLs).
    let options = crate::restore::nothing_but(|o| o.webhooks = true);
    let d = discord_emulator::diff(&before, &crate::recovery::emulator_view(&world), &options);
    assert!(d.is_empty(), "webhooks differ: {d:?}");
    // Who pressed the button has the new URLs (the fixture's webhook was in a deleted channel
    // too).
    let gone = gone_channels(&texts);
    let expected = before
        .webhooks
        .iter()
        .filter(|w| w.id == deploys || gone.contains(&w.channel_id))
        .count();
    assert!(expected >= 2, "{:?}", before.webhooks);
    world
        .eventually("the new URLs reach who pressed the button", || async {
            world
                .emu
                .dm_messages_to(f.owner_id)
                .iter()
                .skip(dms_before)
                .map(|m| m.content.matches("/api/webhooks/").count())
                .sum::<usize>()
                == expected
        })
        .await;
    world.finish().await;
}

/// The channels the webhook test's attacker deletes.
fn gone_channels(texts: &[u64]) -> [u64; 3] {
    [texts[0], texts[2], texts[3]]
}

/// Gives the guild the Max plan (lockdown, automatic revert, every punishment).
async fn max_plan(world: &TestWorld) {
    let reply = world
        .command(
            world.owner_id(),
            "admin license grant",
            json!({ "guild": world.guild_id().to_string(), "plan": "max", "days": 30 }),
        )
        .await;
    assert!(reply.text.contains("Max"), "{}", reply.text);
}

fn role_permissions(world: &TestWorld, role: u64) -> u64 {
    let guild = world.guild_id();
    world
        .emu
        .with_world(|w| w.guilds[&guild].roles[&role].permissions)
}

fn invites_paused(world: &TestWorld) -> bool {
    let guild = world.guild_id();
    world
        .emu
        .with_world(|w| w.guilds[&guild].incidents.invites_disabled_until.is_some())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lockdown_removes_dangerous_permissions_and_pauses_invites_and_false_positive_lifts_it() {
    let world = protected(TestWorld::start().await).await;
    let f = world.fixture.clone();
    max_plan(&world).await;
    let reply = world
        .command(
            f.owner_id,
            "antinuke punishment",
            json!({ "kind": 0, "lockdown": true }),
        )
        .await;
    assert!(reply.text.contains("lockdown enabled"), "{}", reply.text);
    let moderator_before = role_permissions(&world, f.moderator_role_id);
    let targets: Vec<u64> = f.channel_ids.iter().skip(1).take(4).copied().collect();
    delete_channels(
        &world,
        f.rogue_admin_id,
        &targets,
        Duration::from_millis(20),
    )
    .await;
    let list = wait_incidents(&world, 1).await;
    world
        .eventually("the lockdown is in place", || async {
            role_permissions(&world, f.admin_role_id) & 8 == 0 && invites_paused(&world)
        })
        .await;
    // Dangerous permissions (kick, ban) were taken from the Moderator role too.
    assert_eq!(role_permissions(&world, f.moderator_role_id) & 0b110, 0);
    let dm = incident_dm(&world, list[0].id).await;
    let reply = world
        .click(
            f.owner_id,
            &dm,
            &format!("umbra:antinuke:fp:{}", list[0].id),
        )
        .await;
    assert!(reply.text.contains("false positive"), "{}", reply.text);
    assert_eq!(role_permissions(&world, f.admin_role_id) & 8, 8);
    assert_eq!(
        role_permissions(&world, f.moderator_role_id),
        moderator_before
    );
    assert!(!invites_paused(&world));
    assert!(
        roles_of(&world, f.rogue_admin_id)
            .unwrap()
            .contains(&f.admin_role_id)
    );
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn automatic_revert_restores_without_waiting_for_the_owner() {
    let world = protected(TestWorld::start().await).await;
    let f = world.fixture.clone();
    max_plan(&world).await;
    let reply = world
        .command(
            f.owner_id,
            "antinuke punishment",
            json!({ "kind": 0, "auto-revert": true }),
        )
        .await;
    assert!(
        reply.text.contains("automatic revert enabled"),
        "{}",
        reply.text
    );
    let before = crate::recovery::emulator_view(&world);
    let targets: Vec<u64> = f.channel_ids.iter().skip(1).take(6).copied().collect();
    let deleted = delete_channels(
        &world,
        f.rogue_admin_id,
        &targets,
        Duration::from_millis(20),
    )
    .await;
    assert!((3..=5).contains(&deleted), "{deleted}");
    wait_incidents(&world, 1).await;
    world
        .eventually("the automatic revert resolved the incident", || async {
            incidents(&world).await[0].status == "resolved"
        })
        .await;
    let d = discord_emulator::diff(
        &without_member(before, f.rogue_admin_id),
        &without_member(crate::recovery::emulator_view(&world), f.rogue_admin_id),
        &crate::restore::restore_options(),
    );
    assert!(
        d.is_empty(),
        "{:?}",
        d.iter()
            .take(10)
            .map(ToString::to_string)
            .collect::<Vec<_>>()
    );
    assert_eq!(incidents(&world).await.len(), 1);
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quarantine_takes_every_role_and_gives_the_quarantine_role_umbra_created() {
    let world = protected(TestWorld::start().await).await;
    let f = world.fixture.clone();
    max_plan(&world).await;
    let reply = world
        .command(f.owner_id, "antinuke punishment", json!({ "kind": 1 }))
        .await;
    assert!(reply.text.contains("quarantine"), "{}", reply.text);
    let quarantine = world
        .data()
        .antinuke
        .policy(world.guild_id())
        .and_then(|p| p.quarantine_role_id)
        .expect("a quarantine role was created");
    assert_eq!(role_permissions(&world, quarantine), 0);
    let targets: Vec<u64> = f.channel_ids.iter().skip(1).take(4).copied().collect();
    delete_channels(
        &world,
        f.rogue_admin_id,
        &targets,
        Duration::from_millis(20),
    )
    .await;
    let list = wait_incidents(&world, 1).await;
    assert_eq!(list[0].punishment, "quarantine");
    assert_eq!(
        roles_of(&world, f.rogue_admin_id).unwrap(),
        vec![quarantine]
    );
    // False positive: the roles come back and the quarantine role goes.
    let dm = incident_dm(&world, list[0].id).await;
    world
        .click(
            f.owner_id,
            &dm,
            &format!("umbra:antinuke:fp:{}", list[0].id),
        )
        .await;
    assert_eq!(
        roles_of(&world, f.rogue_admin_id).unwrap(),
        vec![f.admin_role_id]
    );
    world.finish().await;
}
