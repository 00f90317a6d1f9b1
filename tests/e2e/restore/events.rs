//! Purpose: scheduled events and the welcome screen end to end (issue 16) — the fixture's events (one in a voice
//! channel, one external with a location and an end) read by live sync (REST on load, again
//! after each GUILD_SCHEDULED_EVENT_* event), kept in a snapshot, destroyed (the voice event and
//! its channel deleted, the other defaced, an intruder's event added), and scheduled again by a
//! mirror restore in the restored channel: the emulator's events equal to before by name.

use std::time::Duration;

use serde_json::json;

use super::*;
use crate::recovery::wait_live;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_events_are_kept_and_scheduled_again_in_their_restored_channel() {
    let world = super::builder().start().await;
    wait_live(&world).await;
    max_plan(&world).await;
    let g = world.guild_id();
    let before = emulator_view(&world);
    assert_eq!(before.events.len(), 2, "the fixture has scheduled events");
    let voice = before
        .events
        .iter()
        .find(|e| e.entity_type == 2)
        .cloned()
        .expect("a voice event");
    let external = before
        .events
        .iter()
        .find(|e| e.entity_type == 3)
        .cloned()
        .expect("an external event");
    let id = snapshot(&world, "with events").await;
    let (_, doc) = world.data().snapshots.document(g, id).await.expect("doc");
    assert_eq!(doc.events.as_ref().map(Vec::len), Some(2));

    let owner = world.emu.as_user(world.owner_id());
    owner
        .delete_scheduled_event(g, voice.id)
        .expect("delete the voice event");
    let channel = voice
        .channel_name
        .as_deref()
        .and_then(|n| before.channel_by_name(n))
        .map(|c| c.id)
        .expect("its voice channel");
    owner.delete_channel(channel).expect("delete its channel");
    owner
        .update_scheduled_event(
            g,
            external.id,
            json!({ "name": "defaced", "description": null }),
        )
        .expect("deface the other");
    let start = (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339();
    let end = (chrono::Utc::now() + chrono::Duration::days(4)).to_rfc3339();
    owner
        .create_scheduled_event(
            g,
            json!({
                "name": "Intruder event", "entity_type": 3, "privacy_level": 2,
                "scheduled_start_time": start, "scheduled_end_time": end,
                "entity_metadata": { "location": "elsewhere" },
            }),
        )
        .expect("a new event");
    assert_mirror_matches(&world, Duration::from_secs(60), "after the attack").await;
    mirror_restore_brings_back(
        &world,
        id,
        "channels,events",
        &[
            "Scheduled events: 1 to schedule again, 1 to update, 1 to delete, 0 unchanged, 0 skipped",
            "Intruder event",
        ],
        &before,
        &channels_and(|o| o.events = true),
    )
    .await;
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_welcome_screen_is_kept_and_set_back_with_its_restored_channels() {
    let world = super::builder().start().await;
    wait_live(&world).await;
    max_plan(&world).await;
    let g = world.guild_id();
    let before = emulator_view(&world);
    let welcome = before
        .onboarding
        .welcome
        .clone()
        .expect("the fixture has a welcome screen");
    let id = snapshot(&world, "with a welcome screen").await;
    let (_, doc) = world.data().snapshots.document(g, id).await.expect("doc");
    assert_eq!(doc.welcome.as_ref().map(|w| w.channels.len()), Some(2));

    // The attack: the screen emptied and one of its channels deleted.
    let owner = world.emu.as_user(world.owner_id());
    owner
        .update_welcome_screen(
            g,
            json!({ "description": "defaced", "welcome_channels": [] }),
        )
        .expect("deface the welcome screen");
    let second = welcome["channels"][1][0]
        .as_str()
        .and_then(|n| before.channel_by_name(n))
        .map(|c| c.id)
        .expect("its second channel");
    owner.delete_channel(second).expect("delete the channel");
    assert_mirror_matches(&world, Duration::from_secs(60), "after the attack").await;
    mirror_restore_brings_back(
        &world,
        id,
        "channels,welcome",
        &["Welcome screen: set back"],
        &before,
        &channels_and(|o| o.welcome = true),
    )
    .await;
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_onboarding_is_kept_and_set_back_with_its_restored_roles_and_channels() {
    let world = super::builder().start().await;
    wait_live(&world).await;
    max_plan(&world).await;
    let g = world.guild_id();
    let before = emulator_view(&world);
    let answer = &before.onboarding.onboarding["prompts"][0]["options"][0];
    let (role, channel) = (
        answer["roles"][0]
            .as_str()
            .and_then(|n| before.role_by_name(n))
            .map(|r| r.id)
            .expect("the fixture's answer gives a role"),
        answer["channels"][0]
            .as_str()
            .and_then(|n| before.channel_by_name(n))
            .map(|c| c.id)
            .expect("the fixture's answer shows a channel"),
    );
    // The mirror reads it by REST (serenity has no route: Umbra's raw one).
    assert_mirror_matches(
        &world,
        Duration::from_secs(60),
        "the onboarding is mirrored",
    )
    .await;
    let id = snapshot(&world, "with an onboarding").await;
    let (_, doc) = world.data().snapshots.document(g, id).await.expect("doc");
    let kept = doc
        .onboarding
        .as_ref()
        .expect("the snapshot keeps the onboarding");
    assert_eq!((kept.prompts.len(), kept.default_channels.len()), (1, 2));

    // The attack: the role and channel of an answer deleted, the questions replaced.
    let owner = world.emu.as_user(world.owner_id());
    owner.delete_role(g, role).expect("delete the role");
    owner.delete_channel(channel).expect("delete the channel");
    owner
        .update_onboarding(
            g,
            json!({ "enabled": false, "default_channel_ids": [],
                    "prompts": [{ "title": "defaced", "options": [{ "title": "x", "channel_ids": [] , "role_ids": [] }] }] }),
        )
        .expect("deface the onboarding");
    assert_mirror_matches(&world, Duration::from_secs(60), "after the attack").await;
    mirror_restore_brings_back(
        &world,
        id,
        "roles,channels,onboarding",
        &["Onboarding: set back"],
        &before,
        &channels_and(|o| {
            o.onboarding = true;
            o.roles = true;
        }),
    )
    .await;
    world.finish().await;
}
