//! Purpose: threads and forum posts end to end (issue 16) — the fixture's threads (a pinned
//! forum post with a tag, an archived post, threads of text channels) mirrored as channels
//! (active ones from GUILD_CREATE, archived posts by REST, then THREAD_* events), kept in a
//! snapshot with the posts' starter messages, destroyed (the forum deleted with its posts, a
//! thread deleted, one renamed and archived, an intruder's thread added), and brought back by
//! a mirror restore: names, tags, starter messages, pins, archive states equal to before.

use std::time::Duration;

use serde_json::json;

use super::*;
use crate::recovery::wait_live;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn threads_and_forum_posts_are_kept_and_restored_with_tags_starters_and_archive_state() {
    let world = super::builder().start().await;
    wait_live(&world).await;
    max_plan(&world).await;
    let g = world.guild_id();
    let before = emulator_view(&world);
    assert_eq!(before.threads.len(), 4, "the fixture has threads");
    let posts: Vec<_> = before
        .threads
        .iter()
        .filter(|t| t.starter.is_some())
        .collect();
    assert_eq!(posts.len(), 2);
    assert!(posts.iter().any(|t| t.pinned && !t.applied_tags.is_empty()));
    assert!(posts.iter().any(|t| t.archived));
    let id = snapshot(&world, "with threads").await;
    let (_, doc) = world.data().snapshots.document(g, id).await.expect("doc");
    let kept = doc.threads.clone().expect("the snapshot knows the threads");
    assert_eq!(kept.len(), 4);
    assert_eq!(
        kept.iter().filter(|t| t.starter.is_some()).count(),
        2,
        "both posts' starter messages are kept: {kept:?}"
    );

    // The attack.
    let owner = world.emu.as_user(world.owner_id());
    let forum = before
        .channel_by_name(&posts[0].parent_name)
        .map(|c| c.id)
        .expect("the forum");
    owner.delete_channel(forum).expect("delete the forum");
    let texts: Vec<_> = before
        .threads
        .iter()
        .filter(|t| t.starter.is_none())
        .collect();
    owner.delete_thread(texts[0].id).expect("delete a thread");
    owner
        .update_thread(texts[1].id, json!({ "name": "defaced", "archived": true }))
        .expect("deface a thread");
    let parent = before
        .channel_by_name(&texts[1].parent_name)
        .map(|c| c.id)
        .expect("a text channel");
    owner
        .create_thread(parent, json!({ "name": "intruder", "type": 11 }))
        .expect("a new thread");
    assert_mirror_matches(&world, Duration::from_secs(60), "after the attack").await;
    mirror_restore_brings_back(
        &world,
        id,
        "channels,threads",
        &[
            "Threads and posts: 3 to create again, 1 to update, 1 to delete",
            "intruder",
        ],
        &before,
        &channels_and(|o| o.threads = true),
    )
    .await;
    world.finish().await;
}
