//! Purpose: AntiNuke tried as an attacker would (issue 11) — an administrator with Manage Roles
//! who is neither the owner nor trusted, and their tools: one test per way in, each written as
//! the attack. The attack is stopped or refused, the owner is told, nothing is lost. (Crashes of
//! the real binary right after a punishment are in `crash.rs`.)

use std::time::Duration;

use discord_emulator::{AuditChange, BotMessage};
use serde_json::json;
use umbra::guild::GuildReader as _;

use super::{
    delete_channels, events, incident_dm, incidents, is_banned, protected, roles_of, wait_incidents,
};
use crate::support::world::{PATIENCE, TestWorld};

/// Waits for a DM to the owner whose text contains `needle` (the newest one).
async fn owner_dm(world: &TestWorld, needle: &str) -> BotMessage {
    owner_dm_with(world, &[needle]).await
}

/// Waits for a DM to the owner whose text contains every one of `needles` (the newest one).
async fn owner_dm_with(world: &TestWorld, needles: &[&str]) -> BotMessage {
    let owner = world.owner_id();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(m) = world
            .emu
            .dm_messages_to(owner)
            .into_iter()
            .rev()
            .find(|m| needles.iter().all(|n| m.text().contains(n)))
        {
            return m;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the owner got no DM containing {needles:?}: {:#?}",
            world
                .emu
                .dm_messages_to(owner)
                .iter()
                .map(BotMessage::text)
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How many DMs to the owner contain `needle`.
fn owner_dms(world: &TestWorld, needle: &str) -> usize {
    world
        .emu
        .dm_messages_to(world.owner_id())
        .iter()
        .filter(|m| m.text().contains(needle))
        .count()
}

/// The custom id of the message's button starting with `prefix`.
fn button(message: &BotMessage, prefix: &str) -> String {
    message
        .custom_ids()
        .into_iter()
        .find(|id| id.starts_with(prefix))
        .unwrap_or_else(|| panic!("no button {prefix} in {:?}", message.custom_ids()))
}

/// The owner trusts a role or a user (`target`: `{"role": ..}` or `{"user": ..}`), and AntiNuke's
/// policy knows it.
async fn owner_trusts(world: &TestWorld, target: serde_json::Value) {
    let reply = world
        .command(world.owner_id(), "umbra settings trust", target.clone())
        .await;
    assert!(reply.text.contains("trust"), "{}", reply.text);
    let guild = world.guild_id();
    world
        .eventually("the trust reaches AntiNuke's policy", || async {
            world.data().antinuke.policy(guild).is_some_and(|p| {
                target["role"]
                    .as_str()
                    .and_then(|r| r.parse().ok())
                    .is_some_and(|r: u64| p.exempt_roles.contains(&r))
                    || target["user"]
                        .as_str()
                        .and_then(|u| u.parse().ok())
                        .is_some_and(|u: u64| p.exempt_users.contains(&u))
            })
        })
        .await;
}

/// The owner makes `members` administrators (the owner is never counted) and waits until
/// Umbra's cache knows.
async fn make_admins(world: &TestWorld, members: &[u64]) {
    let f = &world.fixture;
    let owner = world.emu.as_user(f.owner_id);
    for m in members {
        owner
            .add_member_role(world.guild_id(), *m, f.admin_role_id)
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
}

/// The incident of `actor` (waits for it).
async fn incident_of(world: &TestWorld, actor: u64) -> super::IncidentRow {
    world
        .eventually(&format!("an incident of {actor}"), || async {
            incidents(world)
                .await
                .iter()
                .any(|i| i.actor == actor as i64)
        })
        .await;
    incidents(world)
        .await
        .into_iter()
        .find(|i| i.actor == actor as i64)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn borrowed_trust_a_trusted_role_handed_out_by_an_admin_is_stopped_at_once_and_confers_nothing()
 {
    let world = protected(TestWorld::start().await).await;
    let f = world.fixture.clone();
    let guild = world.guild_id();
    let trusted_role = f.role_ids[0];
    owner_trusts(&world, json!({ "role": trusted_role.to_string() })).await;

    // 1. The rogue admin gives the trusted role to themselves: stopped at the first grant.
    let rogue = f.rogue_admin_id;
    world
        .emu
        .as_user(rogue)
        .add_member_role(guild, rogue, trusted_role)
        .unwrap();
    let incident = incident_of(&world, rogue).await;
    assert_eq!(incident.action_class, "trust_grant");
    assert_eq!(incident.action_count, 1);
    assert_eq!(incident.punishment, "strip_roles");
    assert_eq!(roles_of(&world, rogue).unwrap(), Vec::<u64>::new());
    let dm = incident_dm(&world, incident.id).await;
    assert!(
        dm.text().contains("trusted or whitelisted role"),
        "{}",
        dm.text()
    );
    // Now "trusted"? No: AntiNuke cannot be switched off by them.
    let reply = world.command(rogue, "antinuke disable", json!({})).await;
    assert!(
        reply.text.contains("Only the server owner"),
        "{}",
        reply.text
    );
    assert!(
        world
            .data()
            .antinuke
            .policy(guild)
            .is_some_and(|p| p.enabled)
    );

    // 2. Another admin hands the trusted role to an accomplice: the admin is stopped, the role
    //    is taken back from the accomplice, who gains nothing.
    let second = f.member_ids[1];
    let accomplice = f.member_ids[2];
    make_admins(&world, &[second]).await;
    world
        .emu
        .as_user(second)
        .add_member_role(guild, accomplice, trusted_role)
        .unwrap();
    let incident = incident_of(&world, second).await;
    assert_eq!(incident.action_class, "trust_grant");
    world
        .eventually(
            "the trusted role is taken back from the accomplice",
            || async { roles_of(&world, accomplice).is_some_and(|r| !r.contains(&trusted_role)) },
        )
        .await;
    world
        .eventually("the clean-up is recorded with the incident", || async {
            incidents(&world)
                .await
                .iter()
                .find(|i| i.actor == second as i64)
                .is_some_and(|i| {
                    i.destroyed["cleaned"]["roles_taken_back"][accomplice.to_string()]
                        .as_array()
                        .is_some_and(|r| r.contains(&json!(trusted_role)))
                })
        })
        .await;
    let reply = world
        .command(accomplice, "antinuke disable", json!({}))
        .await;
    assert!(
        reply.text.contains("Only the server owner"),
        "{}",
        reply.text
    );
    let reply = world.command(accomplice, "backup list", json!({})).await;
    assert!(
        reply.text.contains("Only the server owner"),
        "{}",
        reply.text
    );
    assert!(
        world
            .data()
            .antinuke
            .policy(guild)
            .is_some_and(|p| p.enabled)
    );

    // 3. The owner giving the trusted role is fine: no incident, the member is trusted.
    let before = incidents(&world).await.len();
    let friend = f.member_ids[3];
    world
        .emu
        .as_user(f.owner_id)
        .add_member_role(guild, friend, trusted_role)
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(incidents(&world).await.len(), before);
    let reply = world.command(friend, "antinuke status", json!({})).await;
    assert!(reply.text.contains("AntiNuke"), "{}", reply.text);
    assert!(
        !reply.text.contains("Only the server owner"),
        "{}",
        reply.text
    );
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_by_anyone_but_the_owner_wait_for_the_owners_approval_and_every_change_can_be_undone()
 {
    let world = protected(TestWorld::start().await).await;
    let f = world.fixture.clone();
    let guild = world.guild_id();
    let trusted = f.trusted_user_id;
    owner_trusts(&world, json!({ "user": trusted.to_string() })).await;
    // The owner hears of their own trust change, with an Undo button.
    let dm = owner_dm(&world, "is now trusted").await;
    assert!(button(&dm, "umbra:guard:undo:").contains(&trusted.to_string()));

    // A trusted user turns AntiNuke off: nothing changes, the owner is asked.
    let reply = world.command(trusted, "antinuke disable", json!({})).await;
    assert!(
        reply.text.contains("sent to the owner for approval"),
        "{}",
        reply.text
    );
    assert!(
        world
            .data()
            .antinuke
            .policy(guild)
            .is_some_and(|p| p.enabled)
    );
    let ask = owner_dm(&world, "wants to change AntiNuke").await;
    assert!(ask.text().contains("AntiNuke disabled"), "{}", ask.text());
    // Someone else pressing Approve (a forwarded DM) changes nothing.
    let refused = world
        .click(trusted, &ask, &button(&ask, "umbra:guard:approve:"))
        .await;
    assert!(
        refused.text.contains("Only the server owner"),
        "{}",
        refused.text
    );
    assert!(world.data().guilds.antinuke(guild).await.unwrap().enabled);
    // The owner refuses: nothing changes; a second answer finds nothing to decide.
    let no = world
        .click(f.owner_id, &ask, &button(&ask, "umbra:guard:refuse:"))
        .await;
    assert!(no.text.contains("Refused"), "{}", no.text);
    let again = world
        .click(f.owner_id, &ask, &button(&ask, "umbra:guard:approve:"))
        .await;
    assert!(again.text.contains("already decided"), "{}", again.text);
    assert!(world.data().guilds.antinuke(guild).await.unwrap().enabled);

    // The trusted user whitelists themselves: pending until the owner approves.
    let reply = world
        .command(
            trusted,
            "antinuke whitelist",
            json!({ "action": 0, "user": trusted.to_string() }),
        )
        .await;
    assert!(reply.text.contains("approval"), "{}", reply.text);
    assert!(
        world
            .data()
            .guilds
            .antinuke(guild)
            .await
            .unwrap()
            .whitelist_user_ids
            .is_empty()
    );
    let status = world
        .command(f.owner_id, "antinuke status", json!({}))
        .await;
    assert!(
        status.text.contains("waiting for the owner's approval"),
        "{}",
        status.text
    );
    let ask = owner_dm(&world, "added to the AntiNuke whitelist").await;
    let yes = world
        .click(f.owner_id, &ask, &button(&ask, "umbra:guard:approve:"))
        .await;
    assert!(yes.text.contains("Approved and applied"), "{}", yes.text);
    assert_eq!(
        world
            .data()
            .guilds
            .antinuke(guild)
            .await
            .unwrap()
            .whitelist_user_ids,
        vec![trusted]
    );
    // The change reaches the owner as a change of protection, with Undo; Undo puts it back.
    let changed = owner_dm_with(
        &world,
        &["Protection of", "added to the AntiNuke whitelist"],
    )
    .await;
    assert!(
        changed.text().contains(&format!("<@{trusted}>")),
        "{}",
        changed.text()
    );
    let undo = button(&changed, "umbra:guard:undo:");
    // Undo is the owner's too.
    let not_yours = world.click(trusted, &changed, &undo).await;
    assert!(
        not_yours.text.contains("Only the server owner"),
        "{}",
        not_yours.text
    );
    let undone = world.click(f.owner_id, &changed, &undo).await;
    assert!(undone.text.contains("Undone"), "{}", undone.text);
    assert!(
        world
            .data()
            .guilds
            .antinuke(guild)
            .await
            .unwrap()
            .whitelist_user_ids
            .is_empty()
    );

    // A request left unanswered lapses: approving it afterwards changes nothing.
    let reply = world
        .command(
            trusted,
            "antinuke thresholds",
            json!({ "action": 0, "count": 50, "window": 10 }),
        )
        .await;
    assert!(
        reply.text.contains("approval") || reply.text.contains("not included"),
        "{}",
        reply.text
    );
    let reply = world.command(trusted, "antinuke enable", json!({})).await;
    assert!(reply.text.contains("approval"), "{}", reply.text);
    let ask = owner_dm_with(&world, &["wants to change AntiNuke in", "AntiNuke enabled"]).await;
    sqlx::query(
        "UPDATE guild.guild_configs SET pending_changes = \
           (SELECT coalesce(jsonb_agg(jsonb_set(p, '{expires_at}', to_jsonb(now() - interval '1 hour'))), '[]') \
              FROM jsonb_array_elements(pending_changes) AS p)",
    )
    .execute(&world.db.pool)
    .await
    .unwrap();
    let late = world
        .click(f.owner_id, &ask, &button(&ask, "umbra:guard:approve:"))
        .await;
    assert!(late.text.contains("lapsed"), "{}", late.text);
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn umbra_as_a_proxy_a_risky_restore_lists_its_grants_and_deletions_and_waits_for_the_owner() {
    let world = protected(TestWorld::start().await).await;
    let f = world.fixture.clone();
    let guild = world.guild_id();
    crate::restore::max_plan(&world).await;
    let trusted = f.trusted_user_id;
    owner_trusts(&world, json!({ "user": trusted.to_string() })).await;
    // A snapshot from when the accomplice was an administrator (a crafted file would say the
    // same): restoring it would hand them Administrator again.
    let accomplice = f.member_ids[0];
    make_admins(&world, &[accomplice]).await;
    let id = crate::restore::snapshot(&world, "with-admin").await;
    world
        .emu
        .as_user(f.owner_id)
        .remove_member_role(guild, accomplice, f.admin_role_id)
        .unwrap();
    let extra = world
        .emu
        .as_user(f.owner_id)
        .create_channel(guild, json!({ "name": "made-later", "type": 0 }))
        .unwrap();
    crate::recovery::assert_mirror_matches(&world, Duration::from_secs(30), "after the changes")
        .await;

    // The preview names the grant (and, in mirror mode, the deletion).
    let p = crate::restore::preview(&world, trusted, id, json!({ "mode": 1 })).await;
    assert!(p.text.contains("Dangerous grants"), "{}", p.text);
    assert!(p.text.contains("Admin"), "{}", p.text);
    assert!(p.text.contains("Deletions"), "{}", p.text);
    assert!(p.text.contains("made-later"), "{}", p.text);
    // The trusted user confirms: it waits for the owner.
    let c = crate::restore::confirm(&world, trusted, &p).await;
    assert!(
        c.text.contains("needs the server owner's approval"),
        "{}",
        c.text
    );
    assert!(c.text.contains("mirror"), "{}", c.text);
    assert!(c.text.contains("dangerous permissions"), "{}", c.text);
    let (status, ..) = crate::restore::job(&world).await;
    assert_eq!(
        status, "previewed",
        "nothing runs before the owner approves"
    );
    let ask = owner_dm(&world, "needs your approval").await;
    assert!(ask.text().contains("made-later"), "{}", ask.text());
    // Only the owner decides.
    let refused = world
        .click(trusted, &ask, &button(&ask, "umbra:rst:approve:"))
        .await;
    assert!(
        refused.text.contains("Only the server owner"),
        "{}",
        refused.text
    );
    assert_eq!(crate::restore::job(&world).await.0, "previewed");
    let yes = world
        .click(f.owner_id, &ask, &button(&ask, "umbra:rst:approve:"))
        .await;
    assert!(yes.text.contains("Approved by"), "{}", yes.text);
    crate::restore::wait_job(&world, &["completed"], Duration::from_secs(60)).await;
    assert!(
        roles_of(&world, accomplice)
            .unwrap()
            .contains(&f.admin_role_id)
    );
    assert!(
        world
            .emu
            .guild_view(guild)
            .unwrap()
            .channels
            .iter()
            .all(|c| c.id != extra)
    );

    // An imported file (even this server's own export) needs the owner too.
    let (_, bytes) = world.data().snapshots.export(guild, id).await.unwrap();
    let (imported, _) = world
        .data()
        .snapshots
        .import(guild, bytes, Some("imported".into()), trusted)
        .await
        .unwrap();
    world
        .emu
        .as_user(f.owner_id)
        .delete_channel(f.channel_ids[6])
        .unwrap();
    crate::recovery::assert_mirror_matches(&world, Duration::from_secs(30), "after a deletion")
        .await;
    let p = crate::restore::preview(
        &world,
        trusted,
        imported.meta.id,
        json!({ "components": "channels" }),
    )
    .await;
    let c = crate::restore::confirm(&world, trusted, &p).await;
    assert!(c.text.contains("imported file"), "{}", c.text);
    let p = crate::restore::preview(
        &world,
        f.owner_id,
        imported.meta.id,
        json!({ "components": "channels" }),
    )
    .await;
    let c = crate::restore::confirm(&world, f.owner_id, &p).await;
    assert!(
        !c.text.contains("approval"),
        "the owner's own restore runs: {}",
        c.text
    );
    crate::restore::wait_job(&world, &["completed"], Duration::from_secs(60)).await;

    // A plain merge restore by the same trusted user, granting nothing and deleting nothing,
    // needs no approval.
    let quiet = world
        .emu
        .as_user(f.owner_id)
        .create_channel(guild, json!({ "name": "quiet", "type": 0 }))
        .unwrap();
    let id = crate::restore::snapshot(&world, "now").await;
    world.emu.as_user(f.owner_id).delete_channel(quiet).unwrap();
    crate::recovery::assert_mirror_matches(&world, Duration::from_secs(30), "after the deletion")
        .await;
    let p = crate::restore::preview(&world, trusted, id, json!({})).await;
    assert!(!p.text.contains("Dangerous grants"), "{}", p.text);
    let c = crate::restore::confirm(&world, trusted, &p).await;
    assert!(!c.text.contains("approval"), "{}", c.text);
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uncounted_destruction_every_destructive_class_and_a_mix_of_classes_are_stopped() {
    let world = protected(TestWorld::start().await).await;
    let f = world.fixture.clone();
    let guild = world.guild_id();
    let owner = world.emu.as_user(f.owner_id);
    let attackers: Vec<u64> = f.member_ids.iter().skip(12).take(13).copied().collect();
    let victims: Vec<u64> = f.member_ids.iter().take(10).copied().collect();
    // What the attackers will destroy, prepared by the owner (never counted).
    let plain = f.role_ids[1];
    for v in victims.iter().take(5) {
        owner.add_member_role(guild, *v, plain).unwrap();
    }
    let perm_roles: Vec<u64> = f.role_ids.iter().skip(2).take(3).copied().collect();
    for r in &perm_roles {
        owner
            .update_role(
                guild,
                *r,
                json!({ "permissions": ((1u64 << 10) | (1 << 11)).to_string() }),
            )
            .unwrap();
    }
    let hooks: Vec<u64> = (0..3)
        .map(|i| {
            owner
                .create_webhook(f.general_channel_id, &format!("hook{i}"))
                .unwrap()
        })
        .collect();
    let emojis: Vec<u64> = (0..3)
        .map(|i| owner.create_emoji(guild, &format!("emoji{i}")).unwrap())
        .collect();
    for v in victims.iter().skip(5).take(5) {
        owner.ban(guild, *v).unwrap();
    }
    make_admins(&world, &attackers).await;
    let actor = |i: usize| world.emu.as_user(attackers[i]);
    let until = (chrono::Utc::now() + chrono::Duration::minutes(30)).to_rfc3339();

    // Timeouts.
    for v in victims.iter().take(5) {
        actor(0)
            .update_member(guild, *v, json!({ "communication_disabled_until": until }))
            .unwrap();
    }
    // A channel overwrite letting @everyone mention everyone.
    actor(1)
        .put_overwrite(
            f.general_channel_id,
            guild,
            discord_emulator::OverwriteKind::Role,
            1 << 17,
            0,
        )
        .unwrap();
    // Roles taken from members.
    for v in victims.iter().take(5) {
        actor(2).remove_member_role(guild, *v, plain).unwrap();
    }
    // Permissions taken from roles.
    for r in &perm_roles {
        actor(3)
            .update_role(
                guild,
                *r,
                json!({ "permissions": (1u64 << 10).to_string() }),
            )
            .unwrap();
    }
    // Webhooks and emojis deleted, members unbanned, server settings changed.
    for h in &hooks {
        actor(4).delete_webhook(*h).unwrap();
    }
    for e in &emojis {
        actor(5).delete_emoji(guild, *e).unwrap();
    }
    for v in victims.iter().skip(5).take(5) {
        actor(6).unban(guild, *v).unwrap();
    }
    for level in [2, 0] {
        actor(7)
            .update_guild(guild, json!({ "verification_level": level }))
            .unwrap();
    }
    // What the emulator does not model yet, logged as Discord logs it: stickers, integrations,
    // AutoMod rules, bulk message deletes.
    for (i, (action, n)) in [(92u16, 3usize), (82, 2), (142, 2), (73, 3)]
        .iter()
        .enumerate()
    {
        for k in 0..*n {
            world.emu.log_audit_entry(
                guild,
                attackers[8 + i],
                *action,
                Some(9_000_000 + k as u64),
                Vec::<AuditChange>::new(),
            );
        }
    }
    // A mix under every class's own threshold: 2 channel + 2 role deletions.
    let mixer = actor(12);
    let channels: Vec<u64> = f.channel_ids.iter().skip(1).take(2).copied().collect();
    let roles: Vec<u64> = f.role_ids.iter().rev().take(2).copied().collect();
    for (c, r) in channels.iter().zip(&roles) {
        let _ = mixer.delete_channel(*c);
        let _ = mixer.delete_role(guild, *r);
    }

    let expected = [
        (0, "timeout"),
        (1, "permission_grant"),
        (2, "role_remove"),
        (3, "permission_remove"),
        (4, "webhook_change"),
        (5, "expression_delete"),
        (6, "unban"),
        (7, "guild_update"),
        (8, "expression_delete"),
        (9, "integration_delete"),
        (10, "automod_change"),
        (11, "message_bulk_delete"),
        (12, "combined"),
    ];
    for (i, class) in expected {
        let incident = incident_of(&world, attackers[i]).await;
        assert_eq!(incident.action_class, class, "attacker {i}: {incident:?}");
        assert_eq!(incident.punishment, "strip_roles", "attacker {i}");
    }
    assert_eq!(incidents(&world).await.len(), expected.len());
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_incidents_a_database_outage_right_after_the_punishment_still_ends_with_one_incident_and_one_dm()
 {
    let world = protected(TestWorld::start().await).await;
    let f = world.fixture.clone();
    let rogue = f.rogue_admin_id;
    let admin = crate::support::db::admin_pool().await;
    let name = world.db.name.clone();
    // The database goes away (every connection cut, new ones refused)...
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false"
    )))
    .execute(&admin)
    .await
    .unwrap();
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
        .bind(&name)
        .execute(&admin)
        .await
        .unwrap();
    // ...the nuke is stopped from memory all the same...
    let targets: Vec<u64> = f.channel_ids.iter().skip(1).take(6).copied().collect();
    let deleted = delete_channels(&world, rogue, &targets, Duration::from_millis(30)).await;
    assert!((3..=5).contains(&deleted), "{deleted}");
    world
        .eventually(
            "the rogue admin is punished without the database",
            || async { roles_of(&world, rogue).is_some_and(|r| r.is_empty()) },
        )
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    // ...and when it comes back, the incident is recorded, once, and the owner told, once.
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS true"
    )))
    .execute(&admin)
    .await
    .unwrap();
    let list = wait_incidents(&world, 1).await;
    let dm = incident_dm(&world, list[0].id).await;
    assert!(
        dm.text().contains("AntiNuke stopped a nuke"),
        "{}",
        dm.text()
    );
    world
        .eventually("the emergency snapshot is linked", || async {
            incidents(&world).await[0].emergency_snapshot_id.is_some()
        })
        .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(incidents(&world).await.len(), 1);
    assert_eq!(events(&world, "recovery.incident_detected").await, 1);
    assert_eq!(owner_dms(&world, "AntiNuke stopped a nuke"), 1);
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leftovers_bots_and_dangerous_roles_handed_out_by_the_attacker_are_taken_back_and_given_back_on_false_positive()
 {
    let world = protected(TestWorld::start().await).await;
    let f = world.fixture.clone();
    let guild = world.guild_id();
    let rogue = f.rogue_admin_id;
    let accomplice = f.member_ids[0];
    let helper = world
        .emu
        .create_application("Helper", discord_emulator::ApplicationOptions::privileged());
    world
        .emu
        .as_user(rogue)
        .add_bot(guild, helper.application_id, 0)
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Handing a dangerous role (Moderator: kick, ban) to an accomplice is a nuke on its own.
    world
        .emu
        .as_user(rogue)
        .add_member_role(guild, accomplice, f.moderator_role_id)
        .unwrap();
    let incident = incident_of(&world, rogue).await;
    assert_eq!(incident.action_class, "permission_grant");
    world
        .eventually(
            "the bot is removed and the Moderator role taken back",
            || async {
                roles_of(&world, helper.bot_user_id).is_none()
                    && roles_of(&world, accomplice)
                        .is_some_and(|r| !r.contains(&f.moderator_role_id))
            },
        )
        .await;
    let dm = incident_dm(&world, incident.id).await;
    assert!(dm.text().contains("were taken back"), "{}", dm.text());
    // False positive: the rogue's roles and the accomplice's Moderator role come back; the bot
    // must be invited again (a bot cannot add a bot).
    let fp = world
        .click(
            f.owner_id,
            &dm,
            &format!("umbra:antinuke:fp:{}", incident.id),
        )
        .await;
    assert!(fp.text.contains("false positive"), "{}", fp.text);
    assert!(fp.text.contains("invited again"), "{}", fp.text);
    assert!(
        roles_of(&world, accomplice)
            .unwrap()
            .contains(&f.moderator_role_id)
    );
    assert!(roles_of(&world, rogue).unwrap().contains(&f.admin_role_id));
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_attack_after_a_false_positive_is_a_new_incident_with_its_own_dm_and_working_buttons()
{
    let world = protected(TestWorld::start().await).await;
    let f = world.fixture.clone();
    let rogue = f.rogue_admin_id;
    let first: Vec<u64> = f.channel_ids.iter().skip(1).take(3).copied().collect();
    delete_channels(&world, rogue, &first, Duration::ZERO).await;
    let list = wait_incidents(&world, 1).await;
    let dm = incident_dm(&world, list[0].id).await;
    let fp = world
        .click(
            f.owner_id,
            &dm,
            &format!("umbra:antinuke:fp:{}", list[0].id),
        )
        .await;
    assert!(fp.text.contains("false positive"), "{}", fp.text);
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The same admin nukes again within minutes: a new incident, punished, with its own DM.
    let second: Vec<u64> = f.channel_ids.iter().skip(4).take(3).copied().collect();
    delete_channels(&world, rogue, &second, Duration::ZERO).await;
    let list = wait_incidents(&world, 2).await;
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(
        list[0].status, "false_positive",
        "a closed incident stays closed"
    );
    assert_eq!(list[1].status, "open");
    assert_ne!(list[0].id, list[1].id);
    assert_eq!(roles_of(&world, rogue).unwrap(), Vec::<u64>::new());
    let dm = incident_dm(&world, list[1].id).await;
    let fp = world
        .click(
            f.owner_id,
            &dm,
            &format!("umbra:antinuke:fp:{}", list[1].id),
        )
        .await;
    assert!(fp.text.contains("false positive"), "{}", fp.text);
    assert_eq!(events(&world, "recovery.incident_detected").await, 2);
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_bots_a_whitelisted_moderation_bot_is_counted_with_its_own_higher_thresholds() {
    let world = protected(TestWorld::start().await).await;
    let f = world.fixture.clone();
    let guild = world.guild_id();
    let modbot = world
        .emu
        .create_application("ModBot", discord_emulator::ApplicationOptions::privileged());
    let modbot_role = world
        .emu
        .as_user(f.owner_id)
        .add_bot(guild, modbot.application_id, (1 << 2) | (1 << 1))
        .unwrap();
    // Its role just below Umbra's (above the members it moderates).
    let umbra_position = world
        .emu
        .guild_view(guild)
        .unwrap()
        .roles
        .iter()
        .find(|r| r.id == f.bot_role_id)
        .map(|r| r.position)
        .unwrap();
    world
        .emu
        .as_user(f.owner_id)
        .set_role_positions(
            guild,
            &[
                (modbot_role, umbra_position),
                (f.bot_role_id, umbra_position + 1),
            ],
        )
        .unwrap();
    let reply = world
        .command(
            f.owner_id,
            "antinuke whitelist",
            json!({ "action": 0, "user": modbot.bot_user_id.to_string() }),
        )
        .await;
    assert!(reply.text.contains("whitelist"), "{}", reply.text);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let bot = world.emu.as_user(modbot.bot_user_id);
    let victims: Vec<u64> = f.member_ids.iter().take(20).copied().collect();
    // A moderation wave well over a person's threshold of 3 bans, under the bot's 15: fine.
    for v in victims.iter().take(10) {
        bot.ban(guild, *v).unwrap();
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(incidents(&world).await.is_empty());
    // A rogue moderator mass-banning through the bot: stopped at the bot's threshold.
    let mut banned = 10;
    for v in victims.iter().skip(10) {
        if bot.ban(guild, *v).is_ok() {
            banned += 1;
        }
    }
    let incident = incident_of(&world, modbot.bot_user_id).await;
    assert!(incident.actor_is_bot);
    assert_eq!(incident.action_class, "ban");
    assert_eq!(incident.action_count, 15);
    assert_eq!(incident.punishment, "kick");
    assert!(banned >= 15, "{banned} bans");
    world
        .eventually("the bot is kicked", || async {
            roles_of(&world, modbot.bot_user_id).is_none()
        })
        .await;
    assert!(
        bot.ban(guild, f.member_ids[21]).is_err(),
        "a kicked bot bans nobody"
    );
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restoring_the_attacker_a_restore_of_an_earlier_snapshot_leaves_the_punished_attacker_punished()
 {
    let world = protected(TestWorld::start().await).await;
    let f = world.fixture.clone();
    let rogue = f.rogue_admin_id;
    crate::restore::max_plan(&world).await;
    let id = crate::restore::snapshot(&world, "before").await;
    let targets: Vec<u64> = f.channel_ids.iter().skip(1).take(4).copied().collect();
    delete_channels(&world, rogue, &targets, Duration::ZERO).await;
    wait_incidents(&world, 1).await;
    assert_eq!(roles_of(&world, rogue).unwrap(), Vec::<u64>::new());
    crate::recovery::assert_mirror_matches(&world, Duration::from_secs(30), "after the nuke").await;
    // The owner restores the snapshot from before the attack, members included.
    let p = crate::restore::preview(&world, f.owner_id, id, json!({})).await;
    assert!(p.text.contains("punished attacker"), "{}", p.text);
    let c = crate::restore::confirm(&world, f.owner_id, &p).await;
    assert!(!c.text.contains("approval"), "{}", c.text);
    crate::restore::wait_job(&world, &["completed"], Duration::from_secs(60)).await;
    assert_eq!(
        roles_of(&world, rogue).unwrap(),
        Vec::<u64>::new(),
        "the attacker keeps their punishment"
    );
    let v = world.emu.guild_view(world.guild_id()).unwrap();
    assert!(
        v.channels.len() >= f.channel_ids.len() + f.category_ids.len(),
        "the channels are back"
    );
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_the_restored_snapshot_survives_retention_and_an_incident_pin_is_the_owners_to_unpin()
 {
    let world = protected(TestWorld::start().await).await;
    let f = world.fixture.clone();
    let guild = world.guild_id();
    // The free plan keeps 3 unpinned snapshots: restoring the oldest would rotate it out when
    // the restore takes its own pre-restore snapshot.
    let oldest = crate::restore::snapshot(&world, "oldest").await;
    crate::restore::snapshot(&world, "two").await;
    crate::restore::snapshot(&world, "three").await;
    world
        .emu
        .as_user(f.owner_id)
        .delete_channel(f.channel_ids[5])
        .unwrap();
    crate::recovery::assert_mirror_matches(&world, Duration::from_secs(30), "after the deletion")
        .await;
    let p = crate::restore::preview(
        &world,
        f.owner_id,
        oldest,
        json!({ "components": "channels" }),
    )
    .await;
    crate::restore::confirm(&world, f.owner_id, &p).await;
    crate::restore::wait_job(&world, &["completed"], Duration::from_secs(60)).await;
    let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM recovery.snapshots WHERE id = $1")
        .bind(oldest)
        .fetch_one(&world.db.pool)
        .await
        .unwrap();
    assert_eq!(kept, 1, "the snapshot being restored was not rotated out");

    // An incident pins the last snapshot before it; a trusted user cannot unpin it.
    let trusted = f.trusted_user_id;
    owner_trusts(&world, json!({ "user": trusted.to_string() })).await;
    // The pin is the last snapshot taken more than the emergency margin (1 s) before the attack.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let targets: Vec<u64> = f.channel_ids.iter().skip(1).take(3).copied().collect();
    delete_channels(&world, f.rogue_admin_id, &targets, Duration::ZERO).await;
    wait_incidents(&world, 1).await;
    world
        .eventually("the incident pins its snapshots", || async {
            incidents(&world).await[0].emergency_snapshot_id.is_some()
        })
        .await;
    let pinned: uuid::Uuid =
        sqlx::query_scalar("SELECT pinned_snapshot_id FROM recovery.antinuke_incidents")
            .fetch_one(&world.db.pool)
            .await
            .unwrap();
    let refused = world
        .command(
            trusted,
            "backup unpin",
            json!({ "snapshot": pinned.to_string() }),
        )
        .await;
    assert!(
        refused.text.contains("only the server's owner"),
        "{}",
        refused.text
    );
    let still: bool = sqlx::query_scalar("SELECT pinned FROM recovery.snapshots WHERE id = $1")
        .bind(pinned)
        .fetch_one(&world.db.pool)
        .await
        .unwrap();
    assert!(still);
    let ok = world
        .command(
            f.owner_id,
            "backup unpin",
            json!({ "snapshot": pinned.to_string() }),
        )
        .await;
    assert!(!ok.text.contains("only the server's owner"), "{}", ok.text);
    let _ = guild;
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_degradation_the_owner_hears_of_deleted_snapshots_lost_permissions_and_removal() {
    let world = protected(TestWorld::start().await).await;
    let f = world.fixture.clone();
    let guild = world.guild_id();
    let trusted = f.trusted_user_id;
    owner_trusts(&world, json!({ "user": trusted.to_string() })).await;
    // A trusted user deletes a snapshot: the owner is told who.
    let id = crate::restore::snapshot(&world, "to-delete").await;
    let reply = world
        .command(
            trusted,
            "backup delete",
            json!({ "snapshot": id.to_string() }),
        )
        .await;
    assert!(!reply.text.contains("Only"), "{}", reply.text);
    let dm = owner_dm(&world, "was deleted by").await;
    assert!(dm.text().contains("to-delete"), "{}", dm.text());
    assert!(
        dm.text().contains(&format!("<@{trusted}>")),
        "{}",
        dm.text()
    );

    // Umbra loses View Audit Log and Manage Roles: protection is degraded, the owner is told
    // why, and /umbra status says so.
    world
        .emu
        .as_user(f.owner_id)
        .update_role(
            guild,
            f.bot_role_id,
            json!({ "permissions": ((1u64 << 2) | (1 << 1)).to_string() }),
        )
        .unwrap();
    let dm = owner_dm(&world, "cannot fully protect").await;
    assert!(dm.text().contains("View Audit Log"), "{}", dm.text());
    assert!(dm.text().contains("Manage Roles"), "{}", dm.text());
    let status = world.command(f.owner_id, "umbra status", json!({})).await;
    assert!(
        status.text.contains("Protection degraded"),
        "{}",
        status.text
    );
    // Given back: the owner is told it is whole again.
    world
        .emu
        .as_user(f.owner_id)
        .update_role(guild, f.bot_role_id, json!({ "permissions": "8" }))
        .unwrap();
    owner_dm(&world, "can fully protect").await;
    let status = world.command(f.owner_id, "umbra status", json!({})).await;
    assert!(
        !status.text.contains("Protection degraded"),
        "{}",
        status.text
    );

    // Umbra's role below an administrator it would have to stop.
    let top = world
        .emu
        .guild_view(guild)
        .unwrap()
        .roles
        .iter()
        .map(|r| r.position)
        .max()
        .unwrap_or(1);
    world
        .emu
        .as_user(f.owner_id)
        .set_role_positions(guild, &[(f.admin_role_id, top)])
        .unwrap();
    let dm = owner_dm(&world, "below").await;
    assert!(
        dm.text().contains(&format!("<@{}>", f.rogue_admin_id)),
        "{}",
        dm.text()
    );

    // Umbra removed from the server: the owner (who shares another server with Umbra, so that
    // a DM can reach them) is told its backups wait for a while.
    let other = world.emu.create_guild(f.owner_id, "Another server");
    world
        .emu
        .add_bot(other, f.app.application_id, 8, f.owner_id)
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    world
        .emu
        .as_user(f.owner_id)
        .kick(guild, world.fixture.app.bot_user_id)
        .unwrap();
    world
        .eventually("the removal reaches the owner", || async {
            let row: Option<(String, Option<String>)> = sqlx::query_as(
                "SELECT status, last_error FROM notification.requests WHERE kind = 'guild_removed'",
            )
            .fetch_optional(&world.db.pool)
            .await
            .unwrap();
            row.is_some_and(|(s, _)| s == "sent")
        })
        .await;
    owner_dm(&world, "was removed from").await;
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_read_after_a_crash_is_retried_and_never_creates_twice() {
    use umbra::recovery::restore::CrashPoint;
    let mut world = crate::restore::builder()
        .configure(|c| {
            c.restore.lease_seconds = 2;
            c.restore.heartbeat_ms = 300;
            c.restore.poll_interval_ms = 100;
        })
        .start()
        .await;
    crate::recovery::wait_live(&world).await;
    crate::restore::max_plan(&world).await;
    crate::restore::bot_on_top(&world);
    let id = crate::restore::snapshot(&world, "before").await;
    let before = crate::recovery::emulator_view(&world);
    let recovery = crate::restore::wipe(&world);
    crate::recovery::assert_mirror_matches(&world, Duration::from_secs(60), "after the wipe").await;
    let p = crate::restore::preview(&world, world.owner_id(), id, json!({})).await;
    // A create reaches Discord; the process dies before recording it.
    world
        .data()
        .restores
        .crash_at(Some(CrashPoint::BeforeRecording(5)));
    crate::restore::confirm(&world, world.owner_id(), &p).await;
    world
        .eventually("the runner stops at the crash point", || async {
            world.data().restores.crashed()
        })
        .await;
    // The next runner's reads of the roles and channels fail for a while (Discord hiccups):
    // it retries instead of taking "nothing there" and creating everything again.
    world
        .emu
        .fail_requests("GET", "/guilds/{guild_id}/roles", 500, 3);
    world
        .emu
        .fail_requests("GET", "/guilds/{guild_id}/channels", 502, 2);
    world.restart_bot().await;
    let (status, done, failed, total, _) =
        crate::restore::wait_job(&world, &["completed", "failed"], Duration::from_secs(120)).await;
    assert_eq!((status.as_str(), failed), ("completed", 0));
    assert_eq!(done, total);
    let failures = world
        .emu
        .request_log()
        .iter()
        .filter(|r| {
            r.method == "GET" && r.route.starts_with("/guilds/{guild_id}/") && r.status >= 500
        })
        .count();
    assert_eq!(failures, 5, "the failed reads were retried");
    crate::restore::assert_no_duplicates(&world);
    crate::restore::drop_recovery_channel(&world, recovery);
    crate::restore::assert_no_diff(&world, &before, "after the resumed restore");
    assert!(!is_banned(&world, world.owner_id()));
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_role_umbra_cannot_take_back_still_confers_no_trust() {
    let world = protected(TestWorld::start().await).await;
    let f = world.fixture.clone();
    let guild = world.guild_id();
    let trusted_role = f.role_ids[0];
    owner_trusts(&world, json!({ "user": f.trusted_user_id.to_string() })).await;
    owner_trusts(&world, json!({ "role": trusted_role.to_string() })).await;
    // A misconfigured server: the Admin role and the trusted role above Umbra's, so Umbra can
    // neither punish the rogue admin nor take the role back.
    let top = world
        .emu
        .guild_view(guild)
        .unwrap()
        .roles
        .iter()
        .map(|r| r.position)
        .max()
        .unwrap_or(1);
    world
        .emu
        .as_user(f.owner_id)
        .set_role_positions(
            guild,
            &[(f.admin_role_id, top + 2), (trusted_role, top + 1)],
        )
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let accomplice = f.member_ids[4];
    world
        .emu
        .as_user(f.rogue_admin_id)
        .add_member_role(guild, accomplice, trusted_role)
        .unwrap();
    let incident = incident_of(&world, f.rogue_admin_id).await;
    assert_eq!(incident.action_class, "trust_grant");
    assert_eq!(
        incident.punishment, "none",
        "Umbra's role is too low to punish"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        roles_of(&world, accomplice)
            .unwrap()
            .contains(&trusted_role),
        "Umbra could not take the role back"
    );
    // The role confers nothing: not for commands, not for AntiNuke's buttons.
    let reply = world
        .command(accomplice, "antinuke disable", json!({}))
        .await;
    assert!(
        reply.text.contains("Only the server owner"),
        "{}",
        reply.text
    );
    let reply = world
        .command(accomplice, "restore history", json!({}))
        .await;
    assert!(
        reply.text.contains("Only the server owner"),
        "{}",
        reply.text
    );
    let dm = incident_dm(&world, incident.id).await;
    let fp = world
        .click(
            accomplice,
            &dm,
            &format!("umbra:antinuke:fp:{}", incident.id),
        )
        .await;
    assert!(fp.text.contains("trusted"), "{}", fp.text);
    assert!(
        world
            .data()
            .antinuke
            .policy(guild)
            .is_some_and(|p| p.enabled)
    );
    // A real trusted user is still trusted.
    let reply = world
        .command(f.trusted_user_id, "antinuke status", json!({}))
        .await;
    assert!(
        !reply.text.contains("Only the server owner"),
        "{}",
        reply.text
    );
    world.finish().await;
}
