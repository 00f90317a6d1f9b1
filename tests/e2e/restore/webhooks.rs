//! Purpose: channel webhooks end to end (issue 16) — the webhooks people made are read by live
//! sync (REST on load, again after each WEBHOOKS_UPDATE), kept in a snapshot with their avatar's
//! bytes, destroyed (one deleted, one renamed and moved, an intruder's added), and brought back
//! by a mirror restore: made again with name, avatar and channel; the person who confirmed gets
//! the new URL by DM (a URL that works), and no token is ever written to the database.

use std::time::Duration;

use serde_json::json;

use super::*;
use crate::recovery::wait_live;

/// Waits until the mirror's webhooks are named `names` (sorted); returns them.
async fn mirrored_webhooks(
    world: &TestWorld,
    names: &[&str],
) -> Vec<umbra::recovery::sync::WebhookState> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let hooks = world
            .data()
            .sync
            .state_as_of(world.guild_id(), None)
            .await
            .expect("reading the mirror")
            .and_then(|s| s.settings)
            .and_then(|s| s.webhooks)
            .unwrap_or_default();
        let mut have: Vec<&str> = hooks.iter().map(|h| h.name.as_str()).collect();
        have.sort_unstable();
        if have == names {
            return hooks;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the mirror has the webhooks {have:?}, not {names:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_kept_with_their_avatars_and_made_again_with_their_new_urls_sent_by_dm() {
    let world = super::builder().start().await;
    wait_live(&world).await;
    max_plan(&world).await;
    let g = world.guild_id();
    let owner = world.emu.as_user(world.owner_id());
    let first = emulator_view(&world).webhooks[0].clone();
    assert!(
        first.avatar.is_some(),
        "the fixture's webhook has an avatar"
    );
    let second = owner
        .create_webhook(first.channel_id, "Deploys")
        .expect("a second webhook");
    // Another application's webhooks are its own: not kept, never touched.
    let other = world.emu.create_application(
        "Integration",
        discord_emulator::ApplicationOptions::default(),
    );
    world
        .emu
        .add_bot(g, other.application_id, 1 << 29, world.owner_id())
        .expect("another bot joins");
    world
        .emu
        .as_user(other.bot_user_id)
        .create_webhook(first.channel_id, "Integration's own")
        .expect("the other bot's webhook");
    mirrored_webhooks(&world, &["Deploys", &first.name]).await;
    let before = emulator_view(&world);
    let id = snapshot(&world, "with webhooks").await;
    let (_, doc) = world.data().snapshots.document(g, id).await.expect("doc");
    let kept = doc
        .webhooks
        .as_ref()
        .expect("the snapshot keeps the webhooks");
    assert_eq!(kept.len(), 2);
    assert!(
        doc.pictures.keys().any(|k| k.starts_with("webhook.")),
        "the avatar's bytes are kept: {:?}",
        doc.pictures.keys()
    );

    // The attack: the first deleted, the second renamed, an intruder's added.
    owner.delete_webhook(first.id).expect("delete the webhook");
    owner
        .update_webhook(second, json!({ "name": "defaced" }))
        .expect("rename the webhook");
    owner
        .create_webhook(first.channel_id, "Intruder hook")
        .expect("the intruder's webhook");
    mirrored_webhooks(&world, &["Intruder hook", "defaced"]).await;
    let foreign = |v: &discord_emulator::GuildView| {
        v.webhooks
            .iter()
            .filter(|w| w.name == "Integration's own")
            .count()
    };
    mirror_restore_brings_back(
        &world,
        id,
        "webhooks",
        &[
            "Webhooks: 1 to make again",
            "1 to update, 1 to delete",
            "Intruder hook",
        ],
        &before,
        &channels_and(|o| o.webhooks = true),
    )
    .await;
    assert_eq!(
        foreign(&emulator_view(&world)),
        1,
        "another application's is left alone"
    );

    // The new URL reached who confirmed, and it is the webhook's.
    let made = emulator_view(&world)
        .webhooks
        .into_iter()
        .find(|w| w.name == first.name)
        .expect("made again");
    assert_ne!(made.id, first.id);
    assert_eq!(made.avatar, first.avatar, "with the same avatar bytes");
    let token = world
        .emu
        .with_world(|w| w.webhooks.get(&made.id).map(|h| h.token.clone()))
        .expect("its token");
    let dms = world
        .emu
        .wait_for_dms(world.owner_id(), 1, Duration::from_secs(10))
        .await;
    let dm = dms
        .iter()
        .find(|m| m.content.contains("webhook"))
        .unwrap_or_else(|| panic!("a DM with the new URL: {dms:?}"));
    assert!(
        dm.content
            .contains(&format!("/api/webhooks/{}/{token}", made.id)),
        "{}",
        dm.content
    );
    // Never stored: no column of the restore job holds the token.
    let stored: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM recovery.restore_jobs AS j \
          WHERE strpos(concat_ws(' ', j.plan::text, j.progress::text, j.id_map::text, \
                j.error_report::text, j.progress_message::text), $1) > 0",
    )
    .bind(&token)
    .fetch_one(&world.db.pool)
    .await
    .expect("searching the jobs");
    assert_eq!(stored, 0, "a webhook token was written to the database");
    world.finish().await;
}
