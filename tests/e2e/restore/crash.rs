//! Purpose: crash safety — the runner of a large restore is stopped like a killed process at
//! several points (a create sent but its id not recorded; after N recorded results), Umbra is
//! restarted, another runner takes the job over when the lease expires, reconciles what was
//! created but not recorded, and the restore ends at zero diff with no duplicate roles or
//! channels and every step counted once.

use std::time::Duration;

use serde_json::json;
use umbra::recovery::restore::CrashPoint;

use super::*;
use crate::recovery::{issue_fixture, wait_live};

/// A live world on the max plan whose restore leases are short (a crashed runner's job is
/// claimed again within seconds).
pub(super) async fn crash_world(builder: crate::support::world::Builder) -> TestWorld {
    let world = builder
        .configure(|c| {
            c.restore.lease_seconds = 2;
            c.restore.heartbeat_ms = 300;
            c.restore.poll_interval_ms = 100;
        })
        .start()
        .await;
    wait_live(&world).await;
    max_plan(&world).await;
    world
}

pub(super) async fn wait_crash(world: &TestWorld) {
    world
        .eventually("the runner stops at the crash point", || async {
            world.data().restores.crashed()
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runner_killed_at_several_points_resumes_without_duplicates() {
    let mut world = Box::pin(crash_world(super::builder().fixture(issue_fixture()))).await;
    bot_on_top(&world);
    let id = snapshot(&world, "before").await;
    let before = emulator_view(&world);
    let recovery = wipe(&world);
    assert_mirror_matches(&world, Duration::from_secs(60), "after the wipe").await;
    let p = preview(&world, world.owner_id(), id, json!({})).await;

    // 1. The 7th create reaches Discord, the process dies before recording its id.
    world
        .data()
        .restores
        .crash_at(Some(CrashPoint::BeforeRecording(7)));
    confirm(&world, world.owner_id(), &p).await;
    wait_crash(&world).await;
    let (status, done, ..) = job(&world).await;
    assert_eq!(status, "running");
    assert!(done < 50, "{done}");
    world.restart_bot().await;

    // 2. The next runner takes over after the lease, adopts the unrecorded object, and dies
    //    after 60 more results.
    world
        .data()
        .restores
        .crash_at(Some(CrashPoint::AfterRecorded(60)));
    wait_crash(&world).await;
    let (_, done2, ..) = job(&world).await;
    assert!(done2 > done, "{done2} > {done}");
    world.restart_bot().await;

    // 3. Again a create sent but not recorded, later in the restore.
    world
        .data()
        .restores
        .crash_at(Some(CrashPoint::BeforeRecording(20)));
    wait_crash(&world).await;
    world.restart_bot().await;

    let (status, done, failed, total, job_id) =
        wait_job(&world, &["completed", "failed"], Duration::from_secs(120)).await;
    assert_eq!(
        (status.as_str(), failed),
        ("completed", 0),
        "{:?}",
        report(&world, job_id).await
    );
    assert_eq!(done, total, "every step counted once");
    assert_no_duplicates(&world);
    drop_recovery_channel(&world, recovery);
    assert_no_diff(&world, &before, "after the resumed restore");
    let progress: serde_json::Value =
        sqlx::query_scalar("SELECT progress FROM recovery.restore_jobs WHERE id = $1")
            .bind(job_id)
            .fetch_one(&world.db.pool)
            .await
            .unwrap();
    assert!(
        progress.to_string().contains("adopted"),
        "the unrecorded creates were adopted: {progress}"
    );
    let fencing: i64 =
        sqlx::query_scalar("SELECT fencing FROM recovery.restore_jobs WHERE id = $1")
            .bind(job_id)
            .fetch_one(&world.db.pool)
            .await
            .unwrap();
    assert!(fencing >= 4, "claimed by four runners: {fencing}");
    assert_eq!(events(&world, "recovery.restore_started").await, 1);
    assert_eq!(events(&world, "recovery.restore_completed").await, 1);
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_that_takes_its_own_job_over_never_cancels_it() {
    // A heartbeat that came too late (a database outage, a stalled process) lets the lease
    // lapse while the run goes on; this process's runner claims the job again. The old run
    // must stop quietly and the new one finish: nobody cancelled anything.
    let world = Box::pin(crash_world(super::builder().fixture(issue_fixture()))).await;
    bot_on_top(&world);
    let id = snapshot(&world, "before").await;
    let before = emulator_view(&world);
    let recovery = wipe(&world);
    assert_mirror_matches(&world, Duration::from_secs(60), "after the wipe").await;
    let p = preview(&world, world.owner_id(), id, json!({})).await;
    confirm(&world, world.owner_id(), &p).await;
    world
        .eventually("the restore is under way", || async {
            let (status, done, ..) = job(&world).await;
            status == "running" && done > 20
        })
        .await;
    // The lease lapses under the running run (as if its heartbeats had not got through), until
    // this process's poller has claimed the job again: a heartbeat of the old run that comes
    // first renews the lease, so it is made to lapse again (else the test would depend on which
    // of the two comes first).
    world
        .eventually("the job is claimed again", || async {
            sqlx::query(
                "UPDATE recovery.restore_jobs SET lease_until = now() - interval '1 second' \
                  WHERE status = 'running' AND fencing < 2",
            )
            .execute(&world.db.pool)
            .await
            .unwrap();
            tokio::time::sleep(Duration::from_millis(50)).await;
            let fencing: Option<i64> = sqlx::query_scalar(
                "SELECT max(fencing) FROM recovery.restore_jobs WHERE status IN ('running', 'completed')",
            )
            .fetch_one(&world.db.pool)
            .await
            .unwrap();
            fencing.unwrap_or(0) >= 2
        })
        .await;
    let job_id = wait_completed(&world, Duration::from_secs(120)).await;
    let fencing: i64 =
        sqlx::query_scalar("SELECT fencing FROM recovery.restore_jobs WHERE id = $1")
            .bind(job_id)
            .fetch_one(&world.db.pool)
            .await
            .unwrap();
    assert!(fencing >= 2, "taken over once: {fencing}");
    assert_eq!(events(&world, "recovery.restore_cancelled").await, 0);
    assert_eq!(events(&world, "recovery.restore_completed").await, 1);
    assert_no_duplicates(&world);
    drop_recovery_channel(&world, recovery);
    assert_no_diff(&world, &before, "after the taken-over restore");
    world.finish().await;
}

/// What one crash test destroys and expects made again.
struct MadeAgain {
    /// The restore's components.
    components: &'static str,
    /// The create's route as the emulator logs it.
    route: &'static str,
    /// The diff options that compare what the restore brings back.
    compare: fn(&mut DiffOptions),
}

/// Two objects of one kind are destroyed by `destroy`; the restore's first create reaches
/// Discord and the process dies before recording it. After a restart the next runner finds it
/// (write-ahead, then a look-up) instead of sending it again: `route` is POSTed exactly twice
/// and the guild equals the snapshot again; then `after` checks what else it must.
async fn a_create_just_before_a_crash_is_not_sent_again(
    what: MadeAgain,
    prepare: impl AsyncFnOnce(&TestWorld),
    destroy: impl AsyncFnOnce(&TestWorld),
    after: impl AsyncFnOnce(&TestWorld),
) {
    let mut world = Box::pin(crash_world(super::builder())).await;
    prepare(&world).await;
    assert_mirror_matches(&world, Duration::from_secs(60), "before the snapshot").await;
    let id = snapshot(&world, "before").await;
    let before = emulator_view(&world);
    destroy(&world).await;
    assert_mirror_matches(&world, Duration::from_secs(60), "after the deletions").await;
    let p = preview(
        &world,
        world.owner_id(),
        id,
        json!({ "components": what.components }),
    )
    .await;
    world
        .data()
        .restores
        .crash_at(Some(CrashPoint::BeforeRecording(1)));
    confirm(&world, world.owner_id(), &p).await;
    wait_crash(&world).await;
    world.restart_bot().await;
    wait_completed(&world, Duration::from_secs(60)).await;
    let creates = world
        .emu
        .request_log()
        .iter()
        .filter(|r| r.method == "POST" && r.route == what.route)
        .count();
    assert_eq!(creates, 2, "two objects, two creates: none sent twice");
    let options = super::nothing_but(what.compare);
    let d = discord_emulator::diff(&before, &emulator_view(&world), &options);
    assert!(d.is_empty(), "{d:?}");
    after(&world).await;
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emoji_uploaded_just_before_a_crash_is_not_uploaded_again() {
    a_create_just_before_a_crash_is_not_sent_again(
        MadeAgain {
            components: "emojis",
            route: "/guilds/{guild_id}/emojis",
            compare: |o| o.emojis = true,
        },
        async |_| {},
        async |world| {
            let g = world.guild_id();
            let before = emulator_view(world);
            let owner = world.emu.as_user(world.owner_id());
            for e in before.emojis.iter().take(2) {
                owner.delete_emoji(g, e.id).expect("delete");
            }
            let left: Vec<&str> = before
                .emojis
                .iter()
                .skip(2)
                .map(|e| e.name.as_str())
                .collect();
            super::emojis::mirror_has(world, super::emojis::Expressions::Emojis, &left).await;
        },
        async |_| {},
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_automod_rule_created_just_before_a_crash_is_not_created_again() {
    a_create_just_before_a_crash_is_not_sent_again(
        MadeAgain {
            components: "automod",
            route: "/guilds/{guild_id}/auto-moderation/rules",
            compare: |o| o.automod = true,
        },
        async |_| {},
        async |world| {
            let g = world.guild_id();
            let owner = world.emu.as_user(world.owner_id());
            for r in emulator_view(world).automod.iter().take(2) {
                owner.delete_automod_rule(g, r.id).expect("delete");
            }
        },
        async |_| {},
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_event_created_just_before_a_crash_is_not_scheduled_again() {
    a_create_just_before_a_crash_is_not_sent_again(
        MadeAgain {
            components: "events",
            route: "/guilds/{guild_id}/scheduled-events",
            compare: |o| o.events = true,
        },
        async |_| {},
        async |world| {
            let g = world.guild_id();
            let owner = world.emu.as_user(world.owner_id());
            let events = emulator_view(world).events;
            assert_eq!(events.len(), 2, "the fixture's events");
            for e in &events {
                owner.delete_scheduled_event(g, e.id).expect("delete");
            }
        },
        async |_| {},
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_made_just_before_a_crash_is_not_made_again_and_its_url_is_sent() {
    a_create_just_before_a_crash_is_not_sent_again(
        MadeAgain {
            components: "webhooks",
            route: "/channels/{channel_id}/webhooks",
            compare: |o| o.webhooks = true,
        },
        async |world| {
            let first = emulator_view(world).webhooks[0].channel_id;
            world
                .emu
                .as_user(world.owner_id())
                .create_webhook(first, "Deploys")
                .expect("a second webhook");
        },
        async |world| {
            let owner = world.emu.as_user(world.owner_id());
            for w in emulator_view(world).webhooks {
                owner.delete_webhook(w.id).expect("delete");
            }
        },
        // Both new URLs reach who confirmed, the one found after the restart included.
        async |world| {
            let hooks = emulator_view(world).webhooks;
            world
                .eventually("both new URLs are sent", || async {
                    let dms = world.emu.dm_messages_to(world.owner_id());
                    hooks.iter().all(|h| {
                        dms.iter()
                            .any(|m| m.content.contains(&format!("/api/webhooks/{}/", h.id)))
                    })
                })
                .await;
        },
    )
    .await;
}
