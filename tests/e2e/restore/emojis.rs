//! Purpose: emojis and stickers end to end (issue 16) — the fixture's emojis (one limited to a role, one
//! animated) mirrored in the versioned settings, kept in a snapshot with their image bytes
//! (fetched from the emulator's CDN, each distinct image once), destroyed (deleted, renamed,
//! roles cleared, a new one added), and brought back by a mirror restore: names, roles and
//! image bytes equal to before.

use std::time::Duration;

use serde_json::json;

use super::*;
use crate::recovery::wait_live;

fn emojis_only() -> DiffOptions {
    DiffOptions {
        settings: false,
        roles: false,
        channels: false,
        members: false,
        bans: false,
        webhooks: false,
        emojis: true,
        stickers: false,
        ..DiffOptions::structural()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emojis_are_kept_with_their_images_and_brought_back_by_a_restore() {
    let world = super::builder().start().await;
    wait_live(&world).await;
    max_plan(&world).await;
    bot_on_top(&world);
    let g = world.guild_id();
    let before = emulator_view(&world);
    assert_eq!(before.emojis.len(), 3, "the fixture has emojis");
    assert!(before.emojis.iter().any(|e| e.animated));
    assert!(before.emojis.iter().any(|e| !e.role_names.is_empty()));
    let id = snapshot(&world, "with emojis").await;
    let (_, doc) = world
        .data()
        .snapshots
        .document(g, id)
        .await
        .expect("the snapshot's document");
    let emojis = doc.emojis.clone().expect("the snapshot knows the emojis");
    assert_eq!(emojis.len(), 3);
    // Every image kept, under the SHA-256 of the bytes Discord's CDN serves.
    let mut kept: Vec<&str> = emojis.iter().filter_map(|e| e.image.as_deref()).collect();
    kept.sort_unstable();
    let mut served: Vec<&str> = before
        .emojis
        .iter()
        .map(|e| e.image_sha256.as_str())
        .collect();
    served.sort_unstable();
    assert_eq!(kept, served);
    assert!(kept.iter().all(|h| doc.images.contains_key(*h)));

    // The attack: two deleted (the animated one too), one renamed with its roles cleared,
    // a new one added.
    let owner = world.emu.as_user(world.owner_id());
    let by_name = |n: &str| {
        before
            .emojis
            .iter()
            .find(|e| e.name == n)
            .map(|e| e.id)
            .expect("a fixture emoji")
    };
    owner.delete_emoji(g, by_name("emoji_1")).expect("delete");
    owner.delete_emoji(g, by_name("emoji_3")).expect("delete");
    owner
        .update_emoji(g, by_name("emoji_2"), "hacked", &[])
        .expect("rename");
    owner.create_emoji(g, "spam").expect("a new emoji");
    assert_mirror_matches(&world, Duration::from_secs(60), "after the attack").await;
    mirror_has(&world, Expressions::Emojis, &["hacked", "spam"]).await;
    // A later snapshot keeps an image for each emoji there is now: the renamed one's from the
    // earlier snapshot (same id), the new one's from the CDN.
    let later = snapshot(&world, "after").await;
    let (_, after_doc) = world
        .data()
        .snapshots
        .document(g, later)
        .await
        .expect("doc");
    let now = after_doc.emojis.clone().unwrap_or_default();
    assert_eq!(now.len(), 2);
    assert!(now.iter().all(|e| e.image.is_some()), "{now:?}");
    assert!(!discord_emulator::diff(&before, &emulator_view(&world), &emojis_only()).is_empty());

    let p = preview(
        &world,
        world.owner_id(),
        id,
        json!({ "mode": 1, "components": "emojis" }),
    )
    .await;
    assert!(
        p.text
            .contains("Emojis: 2 to upload again, 1 to update, 1 to delete"),
        "{}",
        p.text
    );
    assert!(p.text.contains(":spam:"), "{}", p.text);
    confirm(&world, world.owner_id(), &p).await;
    wait_completed(&world, Duration::from_secs(120)).await;
    let d = discord_emulator::diff(&before, &emulator_view(&world), &emojis_only());
    assert!(d.is_empty(), "emojis differ: {d:?}");
    assert_mirror_matches(&world, Duration::from_secs(60), "after the restore").await;
    mirror_has(
        &world,
        Expressions::Emojis,
        &["emoji_1", "emoji_2", "emoji_3"],
    )
    .await;
    let again = preview(
        &world,
        world.owner_id(),
        id,
        json!({ "mode": 1, "components": "emojis" }),
    )
    .await;
    assert!(again.text.contains("Nothing to do"), "{}", again.text);
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stickers_are_kept_with_their_files_and_brought_back_by_a_restore() {
    let world = super::builder().start().await;
    wait_live(&world).await;
    max_plan(&world).await;
    let g = world.guild_id();
    let owner = world.emu.as_user(world.owner_id());
    // A second sticker, so that one can be deleted and one changed.
    owner
        .create_sticker(g, "wave_hello", "wave")
        .expect("a sticker");
    assert_mirror_matches(&world, Duration::from_secs(60), "with two stickers").await;
    mirror_has(&world, Expressions::Stickers, &["sticker_1", "wave_hello"]).await;
    let before = emulator_view(&world);
    assert_eq!(before.stickers.len(), 2);
    let id = snapshot(&world, "with stickers").await;
    let (_, doc) = world.data().snapshots.document(g, id).await.expect("doc");
    let kept = doc
        .stickers
        .clone()
        .expect("the snapshot knows the stickers");
    assert!(
        kept.iter()
            .all(|s| s.image.as_ref().is_some_and(|h| doc.images.contains_key(h)))
    );

    let (first, second) = (before.stickers[0].id, before.stickers[1].id);
    owner.delete_sticker(g, first).expect("delete");
    owner
        .update_sticker(g, second, json!({ "name": "defaced", "tags": "x" }))
        .expect("rename");
    owner
        .create_sticker(g, "spam_sticker", "spam")
        .expect("new");
    assert_mirror_matches(&world, Duration::from_secs(60), "after the attack").await;
    mirror_has(&world, Expressions::Stickers, &["defaced", "spam_sticker"]).await;
    let stickers_only = DiffOptions {
        emojis: false,
        stickers: true,
        ..emojis_only()
    };
    assert!(!discord_emulator::diff(&before, &emulator_view(&world), &stickers_only).is_empty());

    let p = preview(
        &world,
        world.owner_id(),
        id,
        json!({ "mode": 1, "components": "stickers" }),
    )
    .await;
    assert!(
        p.text
            .contains("Stickers: 1 to upload again, 1 to update, 1 to delete"),
        "{}",
        p.text
    );
    confirm(&world, world.owner_id(), &p).await;
    wait_completed(&world, Duration::from_secs(120)).await;
    let d = discord_emulator::diff(&before, &emulator_view(&world), &stickers_only);
    assert!(d.is_empty(), "stickers differ: {d:?}");
    world.finish().await;
}

pub(super) enum Expressions {
    Emojis,
    Stickers,
}

/// Waits until the mirror's emojis or stickers are named `names` (the mirror comparison
/// leaves them out: their images are only in snapshots).
pub(super) async fn mirror_has(
    world: &crate::support::world::TestWorld,
    kind: Expressions,
    names: &[&str],
) {
    let mut wanted: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    wanted.sort();
    world
        .eventually("the mirror has the emojis or stickers", || async {
            let settings = world
                .data()
                .sync
                .state_as_of(world.guild_id(), None)
                .await
                .ok()
                .flatten()
                .and_then(|s| s.settings);
            let mut now: Vec<String> = match (settings, &kind) {
                (Some(s), Expressions::Emojis) => s.emojis.into_iter().map(|e| e.name).collect(),
                (Some(s), Expressions::Stickers) => {
                    s.stickers.into_iter().map(|x| x.name).collect()
                }
                (None, _) => Vec::new(),
            };
            now.sort();
            now == wanted
        })
        .await;
}
