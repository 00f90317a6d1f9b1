//! Purpose: guild and role images end to end (issue 16) — the fixture guild's icon, banner,
//! splash and discovery splash and two role icons kept in a snapshot with their bytes (from the
//! emulator's CDN), changed or removed by an "attacker" (and a role with an icon deleted), and
//! brought back by a restore: the same bytes (the emulator names an image by its bytes).

use std::time::Duration;

use base64::Engine as _;
use serde_json::json;

use super::*;
use crate::recovery::wait_live;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guild_and_role_images_are_kept_and_put_back_by_a_restore() {
    let world = super::builder().start().await;
    wait_live(&world).await;
    max_plan(&world).await;
    bot_on_top(&world);
    let g = world.guild_id();
    let before = emulator_view(&world);
    let s = &before.settings;
    assert!(s.icon.is_some() && s.banner.is_some() && s.splash.is_some());
    assert!(s.discovery_splash.is_some());
    let with_icons: Vec<_> = before.roles.iter().filter(|r| r.icon.is_some()).collect();
    assert_eq!(with_icons.len(), 2, "the fixture has role icons");
    let id = snapshot(&world, "with images").await;
    let (_, doc) = world.data().snapshots.document(g, id).await.expect("doc");
    // The guild's four and the two role icons (beside a webhook's avatar and an event's cover).
    let mut kinds: Vec<&str> = doc
        .pictures
        .keys()
        .map(|k| k.split('.').next().unwrap_or_default())
        .collect();
    kinds.sort_unstable();
    assert_eq!(
        kinds,
        [
            "event", "guild", "guild", "guild", "guild", "role", "role", "webhook"
        ],
        "{:?}",
        doc.pictures.keys()
    );
    assert!(doc.pictures.values().all(|h| doc.images.contains_key(h)));

    // The attack: another icon, no banner, no discovery splash, a role icon removed, a role
    // with an icon deleted.
    let owner = world.emu.as_user(world.owner_id());
    let other = format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(b"\x89PNG\r\n\x1a\nnot the guild icon")
    );
    owner
        .update_guild(
            g,
            json!({ "icon": other, "banner": null, "discovery_splash": null }),
        )
        .expect("changing the images");
    owner
        .update_role(g, with_icons[0].id, json!({ "icon": null }))
        .expect("removing a role icon");
    owner
        .delete_role(g, with_icons[1].id)
        .expect("deleting a role with an icon");
    assert_mirror_matches(&world, Duration::from_secs(60), "after the attack").await;
    assert!(!differences(&world, &before).is_empty());

    let p = preview(&world, world.owner_id(), id, json!({})).await;
    assert!(
        !p.text.contains("cannot restore these settings"),
        "{}",
        p.text
    );
    confirm(&world, world.owner_id(), &p).await;
    wait_completed(&world, Duration::from_secs(120)).await;
    assert_no_diff(&world, &before, "after the restore");
    world.finish().await;
}
