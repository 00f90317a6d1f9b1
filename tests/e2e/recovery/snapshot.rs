//! Purpose: snapshots end to end — /backup create -> export -> import gives an identical
//! document; plan retention and pinning (manual, incident, scheduled runs that never rotate a
//! pinned snapshot out, unchanged scheduled states not stored twice); an emergency snapshot "as
//! of T"; tampered, foreign and oversized files refused with nothing stored; users without
//! rights refused with nothing changed; autocomplete and /umbra status.

use std::time::Duration;

use chrono::Utc;
use serde_json::json;
use umbra::recovery::snapshot::ScheduledOutcome;
use uuid::Uuid;

use super::{assert_mirror_matches, db_now, issue_fixture, wait_live};
use crate::support::world::{Reply, TestWorld};

/// (id, label, trigger, pinned), oldest first.
async fn snapshots(world: &TestWorld) -> Vec<(Uuid, Option<String>, String, bool)> {
    sqlx::query_as(
        "SELECT id, label, trigger, pinned FROM recovery.snapshots ORDER BY created_at, id",
    )
    .fetch_all(&world.db.pool)
    .await
    .unwrap()
}

async fn events(world: &TestWorld, event_type: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM events.outbox WHERE event_type = $1 AND guild_discord_id = $2",
    )
    .bind(event_type)
    .bind(world.guild_id() as i64)
    .fetch_one(&world.db.pool)
    .await
    .unwrap()
}

async fn create(world: &TestWorld, label: &str) -> Reply {
    let reply = world
        .command(world.owner_id(), "backup create", json!({ "label": label }))
        .await;
    assert!(reply.text.contains("created"), "{}", reply.text);
    assert!(reply.ephemeral);
    reply
}

async fn export(world: &TestWorld, id: Uuid) -> Vec<u8> {
    let reply = world
        .command(
            world.owner_id(),
            "backup export",
            json!({ "snapshot": id.to_string() }),
        )
        .await;
    let message = reply.message.expect("a message with the file");
    let file = message.attachments.first().expect("the export is attached");
    assert!(file.filename.ends_with(".json"), "{}", file.filename);
    file.data.as_ref().clone()
}

async fn import(world: &TestWorld, user: u64, bytes: Vec<u8>) -> Reply {
    let attachment = world.emu.upload_attachment("snapshot.json", bytes);
    world
        .command(
            user,
            "backup import",
            json!({ "file": attachment.to_string(), "label": "imported" }),
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_export_import_gives_an_identical_document() {
    let world = TestWorld::builder().fixture(issue_fixture()).start().await;
    wait_live(&world).await;
    create(&world, "before the raid").await;
    let (original, ..) = snapshots(&world).await[0].clone();
    assert_eq!(events(&world, "recovery.snapshot_created").await, 1);

    let bytes = export(&world, original).await;
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(
        text.contains("\"umbra_snapshot\":1") && text.contains("before the raid"),
        "{}",
        &text[..200]
    );

    let reply = import(&world, world.owner_id(), bytes).await;
    assert!(reply.text.contains("Imported"), "{}", reply.text);
    let all = snapshots(&world).await;
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].2, "import");
    let data = world.data();
    let (_, a) = data
        .snapshots
        .document(world.guild_id(), original)
        .await
        .unwrap();
    let (_, b) = data
        .snapshots
        .document(world.guild_id(), all[1].0)
        .await
        .unwrap();
    assert_eq!(a, b, "the imported document is the exported one");
    assert_eq!(a.content_hash().unwrap(), b.content_hash().unwrap());
    assert_eq!(a.members.len(), 1004);
    assert_eq!(a.overwrite_count(), 300);
    let hashes: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT content_hash FROM recovery.snapshots ORDER BY created_at")
            .fetch_all(&world.db.pool)
            .await
            .unwrap();
    assert_eq!(hashes[0], hashes[1]);

    // Shown in /umbra status and offered by autocomplete (by label).
    let status = world
        .command(world.owner_id(), "umbra status", json!({}))
        .await;
    assert!(
        status.text.contains("Last snapshot: **imported**"),
        "{}",
        status.text
    );
    let handle = world
        .emu
        .autocomplete(
            world.owner_id(),
            Some(world.guild_id()),
            None,
            "backup info",
            json!({ "snapshot": "raid" }),
            "snapshot",
        )
        .unwrap();
    let response = handle.response().await.unwrap();
    let choices = response.data["choices"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(choices.len(), 1, "{choices:?}");
    assert_eq!(choices[0]["value"], json!(original.to_string()));
    assert!(
        choices[0]["name"]
            .as_str()
            .unwrap()
            .starts_with("before the raid — ")
    );

    let info = world
        .command(
            world.owner_id(),
            "backup info",
            json!({ "snapshot": original.to_string() }),
        )
        .await;
    assert!(
        info.text.contains("1004 members")
            && info.text.contains("300 permission overwrites")
            && info.text.contains("2 bans"),
        "{}",
        info.text
    );
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_and_pinning_hold_for_every_trigger() {
    let world = TestWorld::start().await;
    wait_live(&world).await;
    let owner = world.owner_id();
    // The free plan keeps 3 unpinned snapshots.
    for label in ["s1", "s2", "s3"] {
        create(&world, label).await;
    }
    let first = snapshots(&world).await[0].0;
    let pinned = world
        .command(owner, "backup pin", json!({ "snapshot": "s1" }))
        .await;
    assert!(pinned.text.contains("pinned"), "{}", pinned.text);
    let refused = world
        .command(owner, "backup delete", json!({ "snapshot": "s1" }))
        .await;
    assert!(refused.text.contains("is pinned"), "{}", refused.text);
    for label in ["s4", "s5"] {
        create(&world, label).await;
    }
    let reply = create(&world, "s6").await;
    assert!(
        reply.text.contains("removed"),
        "the reply says what expired: {}",
        reply.text
    );
    let labels: Vec<String> = snapshots(&world)
        .await
        .into_iter()
        .filter_map(|s| s.1)
        .collect();
    assert_eq!(
        labels,
        ["s1", "s4", "s5", "s6"],
        "oldest unpinned first; the pinned one stays"
    );
    assert_eq!(events(&world, "recovery.snapshot_expired").await, 2);

    // An incident pins the last snapshot taken before it.
    let incident_at = db_now(&world).await;
    let data = world.data();
    let pinned = data
        .snapshots
        .pin_last_before(world.guild_id(), incident_at, "incident")
        .await
        .unwrap()
        .expect("a snapshot before the incident");
    assert_eq!(pinned.label.as_deref(), Some("s6"));

    // Scheduled snapshots: the interval is raised to the plan's minimum (daily on free).
    let set = world
        .command(owner, "backup schedule", json!({ "minutes": 60 }))
        .await;
    assert!(set.text.contains("1440"), "{}", set.text);
    let now = Utc::now();
    let outcome = data.snapshots.scheduled(world.guild_id(), now).await;
    let ScheduledOutcome::Created(scheduled) = outcome else {
        panic!("a scheduled snapshot for the current slot: {outcome:?}");
    };
    assert_eq!(
        data.snapshots.scheduled(world.guild_id(), now).await,
        ScheduledOutcome::NotDue
    );
    // The next day, nothing changed: the same snapshot covers that slot too.
    let tomorrow = now + chrono::Duration::days(1);
    assert_eq!(
        data.snapshots.scheduled(world.guild_id(), tomorrow).await,
        ScheduledOutcome::Unchanged(scheduled)
    );
    // A change, then more scheduled snapshots: the pinned ones are never rotated out.
    world
        .emu
        .as_user(owner)
        .create_role(world.guild_id(), json!({ "name": "changed" }))
        .unwrap();
    assert_mirror_matches(&world, Duration::from_secs(30), "after a change").await;
    for day in 2..6 {
        let at = now + chrono::Duration::days(day);
        let outcome = data.snapshots.scheduled(world.guild_id(), at).await;
        assert!(
            matches!(
                outcome,
                ScheduledOutcome::Created(_) | ScheduledOutcome::Unchanged(_)
            ),
            "{outcome:?}"
        );
        world
            .emu
            .as_user(owner)
            .create_role(
                world.guild_id(),
                json!({ "name": format!("changed {day}") }),
            )
            .unwrap();
        assert_mirror_matches(&world, Duration::from_secs(30), "after a change").await;
    }
    let all = snapshots(&world).await;
    let pinned: Vec<Option<String>> = all.iter().filter(|s| s.3).map(|s| s.1.clone()).collect();
    assert_eq!(pinned, [Some("s1".to_owned()), Some("s6".to_owned())]);
    assert_eq!(
        all.iter().filter(|s| !s.3).count(),
        3,
        "retention holds: {all:?}"
    );
    assert!(all.iter().any(|s| s.0 == first));

    // Unpinning makes it count again: what is over the retention expires at once.
    let unpinned = world
        .command(owner, "backup unpin", json!({ "snapshot": "s1" }))
        .await;
    assert!(
        unpinned.text.contains("unpinned") && unpinned.text.contains("removed"),
        "{}",
        unpinned.text
    );
    assert!(!snapshots(&world).await.iter().any(|s| s.0 == first));
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emergency_snapshot_freezes_the_state_as_of_a_time_before_the_attack() {
    let world = TestWorld::builder().fixture(issue_fixture()).start().await;
    wait_live(&world).await;
    create(&world, "reference").await;
    let reference = snapshots(&world).await[0].0;
    let before_attack = db_now(&world).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let owner = world.emu.as_user(world.fixture.rogue_admin_id);
    for c in world.fixture.channel_ids.iter().skip(1).take(8) {
        owner.delete_channel(*c).unwrap();
    }
    for r in world.fixture.role_ids.iter().take(4) {
        owner.delete_role(world.guild_id(), *r).unwrap();
    }
    assert_mirror_matches(&world, Duration::from_secs(60), "after the attack").await;

    let data = world.data();
    let created = data
        .snapshots
        .create_emergency(world.guild_id(), before_attack, "incident")
        .await
        .unwrap();
    assert!(created.meta.pinned);
    let (_, emergency) = data
        .snapshots
        .document(world.guild_id(), created.meta.id)
        .await
        .unwrap();
    let (_, manual) = data
        .snapshots
        .document(world.guild_id(), reference)
        .await
        .unwrap();
    assert_eq!(
        emergency.content_hash().unwrap(),
        manual.content_hash().unwrap(),
        "the pre-attack state"
    );
    assert_eq!(emergency.as_of, before_attack);

    // A time before the mirror existed cannot be frozen: the failure is an event.
    let long_ago = Utc::now() - chrono::Duration::days(30);
    assert!(
        data.snapshots
            .create_emergency(world.guild_id(), long_ago, "another incident")
            .await
            .is_err()
    );
    assert_eq!(events(&world, "recovery.snapshot_failed").await, 1);
    // ... and the owner hears of it (the notification domain's queue).
    world
        .eventually("the owner is notified of the failed snapshot", || async {
            sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM notification.requests WHERE kind = 'snapshot_failed'",
            )
            .fetch_one(&world.db.pool)
            .await
            .unwrap()
                == 1
        })
        .await;
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_foreign_and_oversized_files_are_refused_and_nothing_is_stored() {
    let world = TestWorld::builder()
        .configure(|c| c.recovery.import_max_bytes = 64 * 1024)
        .start()
        .await;
    wait_live(&world).await;
    create(&world, "good").await;
    let (id, ..) = snapshots(&world).await[0];
    let bytes = export(&world, id).await;
    let text = String::from_utf8(bytes.clone()).unwrap();

    let tampered = text.replacen("\"Moderator\"", "\"Moderat0r\"", 1);
    assert_ne!(tampered, text);
    let reply = import(&world, world.owner_id(), tampered.into_bytes()).await;
    assert!(
        reply.text.contains("changed or damaged") && reply.text.contains("Nothing was imported"),
        "{}",
        reply.text
    );

    let reply = import(&world, world.owner_id(), b"{\"hello\": \"world\"}".to_vec()).await;
    assert!(
        reply.text.contains("not an Umbra snapshot file"),
        "{}",
        reply.text
    );

    let future = text.replacen("\"format_version\":2", "\"format_version\":7", 2);
    let reply = import(&world, world.owner_id(), future.into_bytes()).await;
    assert!(reply.text.contains("format version 7"), "{}", reply.text);

    let mut big = text.clone().into_bytes();
    big.extend(std::iter::repeat_n(b' ', 70 * 1024));
    let reply = import(&world, world.owner_id(), big).await;
    assert!(reply.text.contains("at most 64.0 KB"), "{}", reply.text);

    assert_eq!(snapshots(&world).await.len(), 1, "nothing was stored");
    assert_eq!(events(&world, "recovery.snapshot_created").await, 1);
    // The genuine file still imports.
    let reply = import(&world, world.owner_id(), bytes).await;
    assert!(reply.text.contains("Imported"), "{}", reply.text);
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_without_rights_is_refused_and_nothing_changes() {
    let world = TestWorld::start().await;
    wait_live(&world).await;
    create(&world, "owner's").await;
    let rogue = world.fixture.rogue_admin_id;
    for (command, options) in [
        ("backup create", json!({ "label": "mine" })),
        ("backup list", json!({})),
        ("backup delete", json!({ "snapshot": "owner's" })),
        ("backup export", json!({ "snapshot": "owner's" })),
        ("backup schedule", json!({ "minutes": 1440 })),
    ] {
        let reply = world.command(rogue, command, options).await;
        assert!(
            reply
                .text
                .contains("Only the server owner and the users or roles they trust"),
            "{command}: {}",
            reply.text
        );
        assert!(reply.ephemeral);
        assert!(
            reply
                .message
                .as_ref()
                .is_none_or(|m| m.attachments.is_empty())
        );
    }
    let korean = world
        .command_with(
            rogue,
            Some(world.guild_id()),
            "backup list",
            json!({}),
            "ko",
        )
        .await;
    assert!(korean.text.contains("신뢰"), "{}", korean.text);
    let reply = import(&world, rogue, b"{}".to_vec()).await;
    assert!(
        reply.text.contains("Only the server owner"),
        "{}",
        reply.text
    );
    assert_eq!(snapshots(&world).await.len(), 1);
    assert_eq!(events(&world, "recovery.snapshot_deleted").await, 0);
    let interval: Option<i32> =
        sqlx::query_scalar("SELECT snapshot_interval_minutes FROM guild.guild_configs")
            .fetch_one(&world.db.pool)
            .await
            .unwrap();
    assert_eq!(interval, None);

    // Once trusted, the same user may.
    let trust = world
        .command(
            world.owner_id(),
            "umbra settings trust",
            json!({ "user": rogue.to_string() }),
        )
        .await;
    assert!(trust.text.contains(&rogue.to_string()), "{}", trust.text);
    let reply = world
        .command(rogue, "backup create", json!({ "label": "trusted now" }))
        .await;
    assert!(reply.text.contains("created"), "{}", reply.text);
    let deleted = world
        .command(rogue, "backup delete", json!({ "snapshot": "owner's" }))
        .await;
    assert!(deleted.text.contains("deleted"), "{}", deleted.text);
    assert_eq!(events(&world, "recovery.snapshot_deleted").await, 1);
    world.finish().await;
}
