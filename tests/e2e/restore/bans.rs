//! Purpose: bans end to end (issue 16) — the fixture's bans and later ones mirrored with their
//! reasons (full list on the first load, then ban events and their audit entries), kept in a
//! format-v2 snapshot, destroyed (unbans, a new ban), and brought back by a mirror restore to
//! zero difference (reasons compared); a version-1 export file (no ban list) still imports and
//! restores, leaving bans alone.

use std::time::Duration;

use serde_json::json;

use super::*;
use crate::recovery::wait_live;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bans_are_mirrored_snapshotted_and_brought_back_by_a_restore() {
    let world = super::builder().start().await;
    // The mirror comparison includes bans: live means the ban list was loaded.
    wait_live(&world).await;
    let g = world.guild_id();
    assert_eq!(world.fixture.banned_ids.len(), 2, "the fixture has bans");
    max_plan(&world).await;
    bot_on_top(&world);
    // Later bans, one of a member, with reasons that come by audit-log entry.
    let owner = world.emu.as_user(world.owner_id());
    let member = world.fixture.member_ids[0];
    owner
        .clone()
        .with_reason("spamming invites")
        .ban(g, member)
        .expect("banning a member");
    let outsider = world.emu.create_user("known-raider");
    owner.ban(g, outsider).expect("banning a non-member");
    let id = snapshot(&world, "with bans").await;
    let (meta, doc) = world
        .data()
        .snapshots
        .document(g, id)
        .await
        .expect("the snapshot's document");
    assert_eq!(meta.format_version, 2);
    let bans = doc.bans.clone().expect("the snapshot knows the ban list");
    assert_eq!(bans.len(), 4);
    assert!(
        bans.iter()
            .any(|b| b.user_id == member && b.reason.as_deref() == Some("spamming invites")),
        "{bans:?}"
    );
    let before = emulator_view(&world);
    assert_eq!(before.bans.len(), 4);

    // The "attacker" lifts every ban and bans someone else.
    for b in &before.bans {
        owner.unban(g, b.user_id).expect("unbanning");
    }
    let innocent = world.fixture.member_ids[1];
    owner.ban(g, innocent).expect("banning an innocent member");
    assert_mirror_matches(&world, Duration::from_secs(60), "after the unbans").await;
    assert!(!differences(&world, &before).is_empty());

    let p = preview(&world, world.owner_id(), id, json!({ "mode": 1 })).await;
    assert!(
        p.text.contains("Bans: 4 to ban again, 1 to lift"),
        "{}",
        p.text
    );
    assert!(p.text.contains("Unbans"), "{}", p.text);
    let confirmed = confirm(&world, world.owner_id(), &p).await;
    assert!(
        confirmed.text.contains("Restore confirmed"),
        "{}",
        confirmed.text
    );
    wait_completed(&world, Duration::from_secs(120)).await;
    // The innocent member was unbanned but is no longer a member: compare bans only here.
    let after = emulator_view(&world);
    let d = discord_emulator::diff(
        &before,
        &after,
        &DiffOptions {
            settings: false,
            roles: false,
            channels: false,
            members: false,
            bans: true,
            webhooks: false,
            emojis: false,
            ..DiffOptions::default()
        },
    );
    assert!(d.is_empty(), "bans differ: {d:?}");
    assert_mirror_matches(&world, Duration::from_secs(60), "after the restore").await;
    // Nothing left to do for bans.
    let again = preview(
        &world,
        world.owner_id(),
        id,
        json!({ "mode": 1, "components": "bans" }),
    )
    .await;
    assert!(again.text.contains("Nothing to do"), "{}", again.text);
    world.finish().await;
}

/// An export file written by a build whose documents were format version 1 (no ban list), of
/// the small fixture guild (another guild than any test's: it restores by name).
const V1_FILE: &[u8] = include_bytes!("../../fixtures/snapshot-v1-small.json");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_1_export_file_still_imports_and_restores_leaving_bans_alone() {
    let world = super::builder().start().await;
    wait_live(&world).await;
    max_plan(&world).await;
    bot_on_top(&world);
    let before = emulator_view(&world);
    let (created, _) = world
        .data()
        .snapshots
        .import(
            world.guild_id(),
            V1_FILE.to_vec(),
            Some("old file".into()),
            world.owner_id(),
        )
        .await
        .expect("a version-1 file imports");
    assert_eq!(created.meta.format_version, 1);
    let recovery = wipe(&world);
    assert_mirror_matches(&world, Duration::from_secs(60), "after the wipe").await;
    let p = preview(&world, world.owner_id(), created.meta.id, json!({})).await;
    assert!(p.text.contains("another server"), "{}", p.text);
    assert!(
        p.text.contains("before Umbra knew the server's ban list"),
        "{}",
        p.text
    );
    confirm(&world, world.owner_id(), &p).await;
    wait_completed(&world, Duration::from_secs(120)).await;
    drop_recovery_channel(&world, recovery);
    // Same names, other ids: the structure is back and the bans were never touched. The file's
    // members are other users (not in this server), it has no member overwrites, and it was
    // written before the fixture's roles had icons: those are the only differences.
    let d = discord_emulator::diff(
        &before,
        &emulator_view(&world),
        &DiffOptions {
            members: false,
            // The file predates AutoMod rules, threads and events in snapshots, and names
            // another server's roles and channels: the rules and events are left as they are
            // (pointing at deleted channels), and the wiped channels' threads are not made again.
            automod: false,
            threads: false,
            events: false,
            welcome: false,
            onboarding: false,
            ..restore_options()
        },
    );
    let without_members = |v: &Option<serde_json::Value>| {
        let mut v = v.clone().unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.retain(|k, _| !k.starts_with("member:"));
        }
        v
    };
    assert!(
        d.iter().all(
            |e| (e.path.starts_with("roles[") && e.path.ends_with("].icon"))
                || (e.path.ends_with(".overwrites")
                    && without_members(&e.before) == without_members(&e.after))
        ),
        "{d:?}"
    );
    world.finish().await;
}
