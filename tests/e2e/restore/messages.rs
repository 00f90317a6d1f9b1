//! Purpose: kept messages end to end (issue 16) — `/backup messages` without the Message
//! Content intent says what to enable and stores nothing; with it, three channels are kept; a
//! snapshot holds their 200 last messages (authors, avatars, an embed, a file's bytes, pins);
//! the channels are deleted; a mirror restore makes them again and posts every message back in
//! order through a webhook with its author's name and avatar, re-pins the pinned ones, uploads
//! the file, and removes its replay webhooks; a second preview has nothing to do.

use serde_json::json;

use super::*;
use crate::recovery::wait_live;

/// (author name, avatar URL, content, pinned, file bytes) of a channel's messages, oldest first.
type Seen = Vec<(String, String, String, bool, Vec<Vec<u8>>)>;

fn messages_of(world: &TestWorld, channel: u64) -> Seen {
    world.emu.with_world(|w| {
        let mut list: Vec<_> = w
            .messages
            .values()
            .filter(|m| m.channel_id == channel && !m.deleted)
            .collect();
        list.sort_by_key(|m| m.id);
        list.into_iter()
            .map(|m| {
                let (name, avatar) = match &m.webhook_author {
                    Some(a) => (
                        a.username.clone().unwrap_or_default(),
                        a.avatar_url.clone().unwrap_or_default(),
                    ),
                    None => {
                        let u = w.users.get(&m.author_id).expect("an author");
                        (
                            u.global_name.clone().unwrap_or_else(|| u.username.clone()),
                            umbra::recovery::snapshot::model::avatar_url(u.id, u.avatar.as_deref()),
                        )
                    }
                };
                let files = m.attachments.iter().map(|a| a.data.to_vec()).collect();
                (
                    name,
                    avatar,
                    m.content.clone(),
                    m.pinned_at.is_some(),
                    files,
                )
            })
            .collect()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kept_messages_are_posted_again_in_order_with_their_authors_names_and_avatars() {
    let world = super::builder().start().await;
    wait_live(&world).await;
    max_plan(&world).await;
    let g = world.guild_id();
    let owner_id = world.owner_id();
    let owner = world.emu.as_user(owner_id);
    let names = ["announcements-archive", "chat-log", "art"];
    let channels: Vec<u64> = names
        .iter()
        .map(|n| {
            owner
                .create_channel(g, json!({ "name": n, "type": 0 }))
                .expect("a channel")
        })
        .collect();
    // Authors: the owner (no avatar), and two members with avatars of their own.
    let ann = world.emu.create_user("Ann");
    let bob = world.emu.create_user("Bob");
    for (u, seed) in [(ann, 1u8), (bob, 2u8)] {
        world.emu.add_member(g, u).expect("a member");
        world
            .emu
            .set_user_avatar(u, vec![seed; 64])
            .expect("an avatar");
    }
    let authors = [owner_id, ann, bob];
    let counts = [90usize, 70, 40];
    for (c, (channel, n)) in channels.iter().zip(counts).enumerate() {
        for i in 0..n {
            let who = world.emu.as_user(authors[(i + c) % 3]);
            let id = match (c, i) {
                // One with an embed, one with a file.
                (0, 10) => who.post_message(
                    *channel,
                    json!({ "content": "with an embed", "embeds": [{ "title": "Rules", "description": "Be kind", "color": 5 }] }),
                    Vec::new(),
                ),
                (1, 20) => who.post_message(
                    *channel,
                    json!({ "content": "with a file" }),
                    vec![("notes.txt".to_owned(), b"the file's own bytes".to_vec())],
                ),
                _ => who.send_message(*channel, &format!("{} #{i}", names[c])),
            }
            .expect("a message");
            if i == 3 || i == n - 1 {
                owner.pin_message(*channel, id).expect("a pin");
            }
        }
    }
    let originals: Vec<Seen> = channels.iter().map(|c| messages_of(&world, *c)).collect();
    assert_eq!(originals.iter().map(Vec::len).sum::<usize>(), 200);

    // Without the Message Content intent: says what to enable, stores nothing.
    let app = world.fixture.app.application_id;
    assert!(world.emu.set_message_content_intent(app, false));
    let refused = world
        .command(
            owner_id,
            "backup messages",
            json!({ "channel": channels[0].to_string() }),
        )
        .await;
    assert!(
        refused.text.contains("Message Content Intent")
            && refused.text.contains("Privileged Gateway Intents"),
        "{}",
        refused.text
    );
    let settings = || async {
        use umbra::guild::GuildReader as _;
        world.data().guilds.settings(g).await.expect("settings")
    };
    assert!(settings().await.message_channel_ids.is_empty());

    // With it: the three channels are kept.
    assert!(world.emu.set_message_content_intent(app, true));
    for c in &channels {
        let on = world
            .command(
                owner_id,
                "backup messages",
                json!({ "channel": c.to_string() }),
            )
            .await;
        assert!(on.text.contains("last 1000 messages"), "{}", on.text);
    }
    assert_eq!(settings().await.message_channel_ids, channels);
    let before = emulator_view(&world);
    let id = snapshot(&world, "with messages").await;
    let (_, doc) = world.data().snapshots.document(g, id).await.expect("doc");
    let kept = doc.messages.as_ref().expect("the snapshot keeps messages");
    assert_eq!(
        kept.iter().map(|c| c.messages.len()).collect::<Vec<_>>(),
        counts.to_vec()
    );
    assert!(
        kept.iter()
            .flat_map(|c| &c.messages)
            .flat_map(|m| &m.files)
            .all(|f| f.data.is_some()),
        "the file's bytes are kept"
    );

    // The nuke: the three channels are deleted.
    for c in &channels {
        owner.delete_channel(*c).expect("delete the channel");
    }
    crate::recovery::assert_mirror_matches(
        &world,
        std::time::Duration::from_secs(60),
        "after the nuke",
    )
    .await;
    mirror_restore_brings_back(
        &world,
        id,
        "channels,messages",
        &["Messages: 200 to post again"],
        &before,
        &channels_and(|_| {}),
    )
    .await;
    let now = emulator_view(&world);
    for (c, name) in names.iter().enumerate() {
        let made = now
            .channels
            .iter()
            .find(|x| x.name == *name)
            .expect("made again");
        let replayed = messages_of(&world, made.id);
        assert_eq!(
            replayed, originals[c],
            "#{name}: every message in order, with its author's name and avatar, its pin and its file"
        );
    }
    let embed = world.emu.with_world(|w| {
        w.messages
            .values()
            .find(|m| m.content == "with an embed" && m.webhook_id.is_some())
            .map(|m| m.embeds.clone())
    });
    assert_eq!(
        embed
            .as_ref()
            .and_then(|e| e.first())
            .map(|e| e["title"].clone()),
        Some(json!("Rules")),
        "the embed comes back"
    );
    assert!(
        !now.webhooks
            .iter()
            .any(|w| w.name.starts_with("Umbra replay")),
        "the replay webhooks are gone: {:?}",
        now.webhooks
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_posted_just_before_a_crash_is_not_posted_again() {
    let mut world = Box::pin(super::crash::crash_world(super::builder())).await;
    let g = world.guild_id();
    let owner_id = world.owner_id();
    let owner = world.emu.as_user(owner_id);
    let channel = owner
        .create_channel(g, json!({ "name": "log", "type": 0 }))
        .expect("a channel");
    for i in 0..3 {
        owner
            .send_message(channel, &format!("entry {i}"))
            .expect("a message");
    }
    let original = messages_of(&world, channel);
    let on = world
        .command(
            owner_id,
            "backup messages",
            json!({ "channel": channel.to_string(), "count": 10 }),
        )
        .await;
    assert!(on.text.contains("last 10 messages"), "{}", on.text);
    let id = snapshot(&world, "before").await;
    owner.delete_channel(channel).expect("delete the channel");
    crate::recovery::assert_mirror_matches(
        &world,
        std::time::Duration::from_secs(60),
        "after the deletion",
    )
    .await;
    let p = preview(
        &world,
        owner_id,
        id,
        json!({ "components": "channels,messages" }),
    )
    .await;
    assert!(p.text.contains("Messages: 3 to post again"), "{}", p.text);
    // The channel's create is the first create recorded; the first message is posted and the
    // process dies before its id is written.
    world
        .data()
        .restores
        .crash_at(Some(umbra::recovery::restore::CrashPoint::BeforeRecording(
            2,
        )));
    confirm(&world, owner_id, &p).await;
    super::crash::wait_crash(&world).await;
    world.restart_bot().await;
    wait_completed(&world, std::time::Duration::from_secs(60)).await;
    let app = world.fixture.app.application_id;
    let posts = world
        .emu
        .request_log()
        .iter()
        .filter(|r| r.method == "POST" && r.route == "/webhooks/{webhook_id}/{webhook_token}")
        // Not the command's own answers (interaction follow-ups share the route).
        .filter(|r| !r.path.contains(&format!("/webhooks/{app}/")))
        .count();
    assert_eq!(posts, 3, "three messages, three posts: none sent twice");
    let made = emulator_view(&world)
        .channels
        .into_iter()
        .find(|c| c.name == "log")
        .expect("made again");
    assert_eq!(messages_of(&world, made.id), original);
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plan_bounds_how_many_channels_and_messages_are_kept() {
    let world = super::builder().start().await;
    wait_live(&world).await;
    let g = world.guild_id();
    let owner_id = world.owner_id();
    let owner = world.emu.as_user(owner_id);
    let channels: Vec<u64> = (0..3)
        .map(|i| {
            owner
                .create_channel(g, json!({ "name": format!("kept-{i}"), "type": 0 }))
                .expect("a channel")
        })
        .collect();
    let settings = || async {
        use umbra::guild::GuildReader as _;
        world.data().guilds.settings(g).await.expect("settings")
    };
    // The free plan: two channels, 50 messages each.
    let ask = |options: serde_json::Value| world.command(owner_id, "backup messages", options);
    let too_many = ask(json!({ "channel": channels[0].to_string(), "count": 51 })).await;
    assert!(
        too_many.text.contains("50 messages per channel"),
        "{}",
        too_many.text
    );
    assert!(
        settings().await.message_channel_ids.is_empty(),
        "nothing stored"
    );
    for c in &channels[..2] {
        let on = ask(json!({ "channel": c.to_string() })).await;
        assert!(on.text.contains("last 50 messages"), "{}", on.text);
    }
    let third = ask(json!({ "channel": channels[2].to_string() })).await;
    assert!(third.text.contains("2 channels at most"), "{}", third.text);
    assert_eq!(settings().await.message_channel_ids, channels[..2].to_vec());
    // Off again: one channel, then all.
    ask(json!({ "channel": channels[0].to_string(), "keep": false })).await;
    assert_eq!(settings().await.message_channel_ids, vec![channels[1]]);
    let off = ask(json!({ "keep": false })).await;
    assert!(off.text.contains("Message backups are off"), "{}", off.text);
    assert!(settings().await.message_channel_ids.is_empty());
}
