//! Purpose: lost incidents (issue 11) — the real `umbra` binary, against the emulator and a
//! fresh database, killed with SIGKILL right after a punishment (before it could record
//! anything), after the incident was recorded but before its emergency snapshot, and after the
//! owner's DM went out but before Umbra heard back. After each restart: exactly one incident per
//! attack, one emergency snapshot, the pin, one owner DM, and no second punishment.

use std::time::Duration;

use serde_json::json;
use uuid::Uuid;

use super::{incidents, roles_of};
use crate::support::world::{PATIENCE, TestWorld};

use crate::support::binary::Process as Umbra;

/// Starts the binary and waits until it is connected and has loaded the guild.
async fn start(world: &TestWorld) -> Umbra {
    Umbra::start_live(
        world,
        &[("UMBRA_ANTINUKE_AUTO_REVERT_SETTLE_SECONDS", "3".into())],
    )
    .await
}

/// Runs a command through the emulator (as `user`) and returns the answer's text.
async fn command(world: &TestWorld, user: u64, name: &str, options: serde_json::Value) -> String {
    let handle = world
        .emu
        .invoke_command(user, Some(world.guild_id()), None, name, options, "en-US")
        .unwrap();
    TestWorld::reply(handle).await.text
}

/// The incident id an AntiNuke punishment of `actor` names in Discord's audit log.
fn punished_in(world: &TestWorld, actor: u64) -> Option<Uuid> {
    world
        .emu
        .audit_log(world.guild_id())
        .iter()
        .filter(|e| e.target_id == Some(actor))
        .filter_map(|e| e.reason.as_deref())
        .find_map(|r| {
            umbra::recovery::antinuke::model::parse_punishment_reason(r).map(|p| p.incident)
        })
}

/// How many punishments of `actor` Discord applied (Discord's audit log is the judge).
fn punishments_sent(world: &TestWorld, actor: u64) -> usize {
    world
        .emu
        .audit_log(world.guild_id())
        .iter()
        .filter(|e| e.target_id == Some(actor))
        .filter(|e| {
            e.reason.as_deref().is_some_and(|x| {
                umbra::recovery::antinuke::model::parse_punishment_reason(x).is_some()
            })
        })
        .count()
}

/// The owner's DMs carrying the buttons of `incident`.
fn incident_dms(world: &TestWorld, incident: Uuid) -> usize {
    let wanted = format!("umbra:antinuke:restore:{incident}");
    world
        .emu
        .dm_messages_to(world.owner_id())
        .iter()
        .filter(|m| m.custom_ids().contains(&wanted))
        .count()
}

/// The incident of `id`, once it has its emergency snapshot, its pin and its DM.
async fn finished(world: &TestWorld, id: Uuid, umbra: &Umbra) -> super::IncidentRow {
    let deadline = tokio::time::Instant::now() + PATIENCE * 2;
    loop {
        let done = incidents(world).await.into_iter().find(|i| {
            i.id == id
                && i.emergency_snapshot_id.is_some()
                && i.response.to_string().contains("\"notified\"")
        });
        if let Some(i) = done
            && incident_dms(world, id) == 1
        {
            return i;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "incident {id} was not finished: {:?}\n{}",
            incidents(world).await,
            umbra.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn pinned_snapshot(world: &TestWorld, id: Uuid) -> Option<Uuid> {
    sqlx::query_scalar("SELECT pinned_snapshot_id FROM recovery.antinuke_incidents WHERE id = $1")
        .bind(id)
        .fetch_one(&world.db.pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn umbra_killed_after_a_punishment_and_at_two_later_points_ends_with_one_incident_snapshot_pin_and_dm_each()
 {
    let world = TestWorld::builder().without_bot().start().await;
    let f = world.fixture.clone();
    let guild = world.guild_id();
    let mut umbra = start(&world).await;
    let text = command(&world, f.owner_id, "antinuke enable", json!({})).await;
    assert!(text.contains("AntiNuke is **on**"), "{text}");
    let text = command(
        &world,
        f.owner_id,
        "backup create",
        json!({ "label": "daily" }),
    )
    .await;
    assert!(text.contains("daily"), "{text}");
    let owner = world.emu.as_user(f.owner_id);
    let attackers = [f.rogue_admin_id, f.member_ids[0], f.member_ids[1]];
    for a in &attackers[1..] {
        owner.add_member_role(guild, *a, f.admin_role_id).unwrap();
    }
    // The emergency snapshot holds the guild as of a second before the attack: the daily
    // snapshot is older than that.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let nuke = |actor: u64, skip: usize| {
        let world = &world;
        async move {
            let channels: Vec<u64> = world
                .fixture
                .channel_ids
                .iter()
                .skip(skip)
                .take(4)
                .copied()
                .collect();
            let as_actor = world.emu.as_user(actor);
            for c in channels {
                let _ = as_actor.delete_channel(c);
                tokio::time::sleep(Duration::from_millis(30)).await;
            }
        }
    };

    // 1. Killed right after the punishment: Discord applied it, Umbra never heard back, so it
    //    recorded nothing.
    world.emu.hold_responses(
        "PATCH",
        "/members/{user_id}",
        Some("Umbra AntiNuke: incident"),
        Duration::from_secs(60),
    );
    nuke(attackers[0], 1).await;
    world
        .eventually("the punishment landed in Discord", || async {
            roles_of(&world, attackers[0]).is_some_and(|r| r.is_empty())
        })
        .await;
    umbra.kill();
    world.emu.release_holds();
    assert!(incidents(&world).await.is_empty(), "nothing was recorded");
    let first = punished_in(&world, attackers[0]).expect("the punishment names its incident");
    drop(umbra);
    let mut umbra = start(&world).await;
    let incident = finished(&world, first, &umbra).await;
    assert_eq!(incident.actor, attackers[0] as i64);
    assert_eq!(incident.action_class, "channel_delete");
    assert_eq!(incident.punishment, "strip_roles");
    assert!(incident.response.to_string().contains("reconciled"));
    assert!(
        incident.destroyed["channels_deleted"]
            .as_array()
            .is_some_and(|c| c.len() >= 3),
        "what the attacker did is rebuilt from the audit log: {}",
        incident.destroyed
    );
    assert!(
        pinned_snapshot(&world, first).await.is_some(),
        "the daily snapshot is pinned"
    );
    assert_eq!(punishments_sent(&world, attackers[0]), 1, "punished once");

    // 2. Killed after the incident was recorded, before its emergency snapshot.
    nuke(attackers[1], 5).await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let second = loop {
        if let Some(i) = incidents(&world)
            .await
            .into_iter()
            .find(|i| i.actor == attackers[1] as i64)
        {
            assert!(i.emergency_snapshot_id.is_none(), "killed too late: {i:?}");
            break i.id;
        }
        assert!(tokio::time::Instant::now() < deadline, "{}", umbra.log());
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    umbra.kill();
    drop(umbra);
    let mut umbra = start(&world).await;
    finished(&world, second, &umbra).await;
    assert_eq!(punishments_sent(&world, attackers[1]), 1, "punished once");

    // 3. Killed after the owner's DM went out, before Umbra heard back: the resend is the same
    //    message (its nonce), so the owner gets it once.
    world.emu.hold_responses(
        "POST",
        "/channels/{channel_id}/messages",
        None,
        Duration::from_secs(60),
    );
    nuke(attackers[2], 9).await;
    let deadline = tokio::time::Instant::now() + PATIENCE * 2;
    let third = loop {
        let found = incidents(&world)
            .await
            .into_iter()
            .find(|i| i.actor == attackers[2] as i64)
            .map(|i| i.id);
        if let Some(id) = found
            && incident_dms(&world, id) == 1
        {
            break id;
        }
        assert!(tokio::time::Instant::now() < deadline, "{}", umbra.log());
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    umbra.kill();
    world.emu.release_holds();
    drop(umbra);
    let umbra = start(&world).await;
    world
        .eventually("the DM's request is recorded as sent", || async {
            sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM notification.requests WHERE kind = 'incident_detected' AND status = 'sent'",
            )
            .fetch_one(&world.db.pool)
            .await
            .is_ok_and(|n| n == 3)
        })
        .await;
    finished(&world, third, &umbra).await;

    // One incident, one emergency snapshot, one DM per attack.
    let all = incidents(&world).await;
    assert_eq!(all.len(), 3, "{all:?}");
    let emergency: i64 =
        sqlx::query_scalar("SELECT count(*) FROM recovery.snapshots WHERE trigger = 'emergency'")
            .fetch_one(&world.db.pool)
            .await
            .unwrap();
    assert_eq!(emergency, 3);
    for i in &all {
        assert_eq!(incident_dms(&world, i.id), 1, "{i:?}");
    }
    let detected: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events.outbox WHERE event_type = 'recovery.incident_detected'",
    )
    .fetch_one(&world.db.pool)
    .await
    .unwrap();
    assert_eq!(detected, 3);
    drop(umbra);
    crate::emulator::harness::assert_all_shapes(&world.emu);
}
