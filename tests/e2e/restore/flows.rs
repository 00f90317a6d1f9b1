//! Purpose: restore flows end to end — full wipe to zero diff (with preview, confirm, progress
//! message, events, owner notification, audit-log reasons), merge vs mirror, hierarchy skips,
//! refusals (non-trusted clicker, another guild's snapshot), re-planning a changed preview,
//! cancel, and a storm of 429s.

use std::time::Duration;

use discord_emulator::{EmulatorConfig, FixtureSpec, RateLimitConfig};
use serde_json::json;

use super::*;
use crate::recovery::{issue_fixture, wait_live};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_wipe_is_restored_with_zero_diff() {
    let world = super::builder()
        .fixture(issue_fixture())
        .configure(|c| c.restore.progress_interval_ms = 200)
        .start()
        .await;
    wait_live(&world).await;
    max_plan(&world).await;
    bot_on_top(&world);
    let id = snapshot(&world, "before").await;
    let before = emulator_view(&world);
    let recovery = wipe(&world);
    assert!(!differences(&world, &before).is_empty());
    assert_mirror_matches(&world, Duration::from_secs(60), "after the wipe").await;

    let preview = preview(&world, world.owner_id(), id, json!({})).await;
    assert!(
        preview.text.contains("Roles: 49 to create"),
        "{}",
        preview.text
    );
    assert!(
        // #general is the community's rules channel: Discord refused to delete it (50074).
        preview
            .text
            .contains("Channels: 99 to create, 0 to update, 0 to delete, 1 unchanged"),
        "{}",
        preview.text
    );
    assert!(preview.text.contains("Estimated time"), "{}", preview.text);
    let confirmed = confirm(&world, world.owner_id(), &preview).await;
    assert!(
        confirmed.text.contains("Restore confirmed"),
        "{}",
        confirmed.text
    );
    let (status, done, failed, total, job) = wait_job(
        &world,
        &["completed", "failed", "cancelled"],
        Duration::from_secs(120),
    )
    .await;
    assert_eq!(
        (status.as_str(), failed),
        ("completed", 0),
        "{:?}",
        report(&world, job).await
    );
    assert_eq!(done, total);
    assert_no_duplicates(&world);
    let d = differences(&world, &before);
    assert!(
        d.len() == 1 && d[0].path.contains("recovery"),
        "only #recovery differs: {d:?}"
    );

    // A pre-restore snapshot, events, the owner's notification, the progress message.
    let pre: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM recovery.snapshots s JOIN recovery.restore_jobs j \
           ON j.pre_restore_snapshot_id = s.id WHERE s.trigger = 'pre_restore'",
    )
    .fetch_one(&world.db.pool)
    .await
    .unwrap();
    assert_eq!(pre, 1);
    assert_eq!(events(&world, "recovery.restore_started").await, 1);
    assert_eq!(events(&world, "recovery.restore_completed").await, 1);
    world
        .eventually("the owner is notified of the result", || {
            let pool = world.db.pool.clone();
            async move {
                sqlx::query_scalar::<_, i64>(
                    "SELECT count(*) FROM notification.requests WHERE kind = 'restore_completed'",
                )
                .fetch_one(&pool)
                .await
                .unwrap_or(0)
                    == 1
            }
        })
        .await;
    let message = confirmed.message.clone().expect("the confirmed message");
    world
        .eventually("the progress message shows the end", || {
            let emu = world.emu.clone();
            let id = message.id;
            async move {
                emu.message(id)
                    .is_some_and(|m| m.content.contains("Restore finished"))
            }
        })
        .await;
    // Every action of the bot carries the restore's audit-log reason.
    let bot = world.fixture.app.bot_user_id;
    let entries = world.emu.audit_log(world.guild_id());
    let mine: Vec<_> = entries.iter().filter(|e| e.user_id == Some(bot)).collect();
    assert!(mine.len() > 150, "{}", mine.len());
    assert!(
        mine.iter().all(|e| e
            .reason
            .as_deref()
            .is_some_and(|r| r.starts_with(umbra::recovery::restore::AUDIT_REASON_PREFIX))),
        "an action without the marker"
    );
    drop_recovery_channel(&world, recovery);
    assert_no_diff(&world, &before, "after the restore");
    // Nothing left to do: a second preview plans no step (run from the restored #general).
    assert_mirror_matches(&world, Duration::from_secs(60), "after the restore").await;
    let again = super::preview(&world, world.owner_id(), id, json!({})).await;
    assert!(again.text.contains("Nothing to do"), "{}", again.text);
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_keeps_an_unrelated_channel_and_mirror_deletes_it() {
    let world = super::builder().start().await;
    wait_live(&world).await;
    max_plan(&world).await;
    bot_on_top(&world);
    let id = snapshot(&world, "base").await;
    let before = emulator_view(&world);
    let owner = world.emu.as_user(world.owner_id());
    let g = world.guild_id();
    owner
        .create_channel(g, json!({ "name": "unrelated", "type": 0 }))
        .expect("a new channel");
    owner
        .delete_channel(world.fixture.channel_ids[2])
        .expect("delete");
    assert_mirror_matches(&world, Duration::from_secs(30), "after the changes").await;

    let p = preview(&world, world.owner_id(), id, json!({ "mode": 0 })).await;
    confirm(&world, world.owner_id(), &p).await;
    let (status, _, failed, ..) = wait_job(&world, &["completed"], Duration::from_secs(60)).await;
    assert_eq!((status.as_str(), failed), ("completed", 0));
    let d = differences(&world, &before);
    assert_eq!(d.len(), 1, "only the unrelated channel differs: {d:?}");
    assert!(d[0].path.contains("unrelated"), "{}", d[0]);

    assert_mirror_matches(&world, Duration::from_secs(30), "after the merge").await;
    let p = preview(&world, world.owner_id(), id, json!({ "mode": 1 })).await;
    assert!(p.text.contains("1 to delete"), "{}", p.text);
    confirm(&world, world.owner_id(), &p).await;
    world
        .eventually("the mirror restore ends", || async {
            sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM recovery.restore_jobs WHERE status = 'completed'",
            )
            .fetch_one(&world.db.pool)
            .await
            .unwrap_or(0)
                == 2
        })
        .await;
    assert_no_diff(&world, &before, "after the mirror restore");
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchy_blocked_items_are_reported_and_skipped() {
    // The fixture's "Founders" role is above the bot's role.
    let world = super::builder().start().await;
    wait_live(&world).await;
    max_plan(&world).await;
    let id = snapshot(&world, "base").await;
    let before = emulator_view(&world);
    let owner = world.emu.as_user(world.owner_id());
    let g = world.guild_id();
    owner
        .delete_role(g, world.fixture.founders_role_id)
        .expect("delete Founders");
    owner
        .delete_role(g, world.fixture.role_ids[0])
        .expect("delete a plain role");
    assert_mirror_matches(&world, Duration::from_secs(30), "after the deletions").await;

    let p = preview(&world, world.owner_id(), id, json!({})).await;
    assert!(
        p.text.contains("Founders"),
        "the warning names it: {}",
        p.text
    );
    confirm(&world, world.owner_id(), &p).await;
    let (status, _, failed, _, job) =
        wait_job(&world, &["completed"], Duration::from_secs(60)).await;
    assert_eq!((status.as_str(), failed), ("completed", 0));
    let report = report(&world, job).await;
    assert!(
        report.iter().any(|i| i["name"] == "Founders"
            && i["outcome"] == "skipped"
            && i["reason"] == "above_bot"),
        "{report:?}"
    );
    let d = differences(&world, &before);
    assert!(!d.is_empty());
    assert!(
        d.iter().all(|e| e.path.contains("Founders")
            || e.path.starts_with("roles[")
            || e.path.starts_with("members[")),
        "{d:?}"
    );
    assert!(d.iter().any(|e| e.path.contains("roles[\"Founders\"]")));
    let v = emulator_view(&world);
    assert!(
        v.role_by_name("Founders").is_none(),
        "not created below the bot"
    );
    assert!(v.roles.iter().any(|r| {
        r.name
            == before
                .roles
                .iter()
                .find(|b| b.id == world.fixture.role_ids[0])
                .map(|b| b.name.clone())
                .unwrap_or_default()
    }));
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_trusted_administrator_cannot_confirm_and_nothing_changes() {
    let world = super::builder().start().await;
    wait_live(&world).await;
    max_plan(&world).await;
    bot_on_top(&world);
    let id = snapshot(&world, "base").await;
    world
        .emu
        .as_user(world.owner_id())
        .delete_channel(world.fixture.channel_ids[1])
        .expect("delete");
    assert_mirror_matches(&world, Duration::from_secs(30), "after the deletion").await;
    let rogue = world.fixture.rogue_admin_id;
    let refused = preview(&world, rogue, id, json!({})).await;
    assert!(
        refused.ephemeral
            && refused
                .message
                .as_ref()
                .is_some_and(|m| m.buttons().is_empty()),
        "{}",
        refused.text
    );
    let p = preview(&world, world.owner_id(), id, json!({})).await;
    let requests = world.emu.counters().total.requests;
    let click = confirm(&world, rogue, &p).await;
    assert!(click.ephemeral, "{}", click.text);
    assert!(click.text.contains("trusted"), "{}", click.text);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, ..) = job(&world).await;
    assert_eq!(status, "previewed");
    let changes: Vec<_> = world
        .emu
        .request_log()
        .into_iter()
        .skip(usize::try_from(requests).unwrap_or(0))
        .filter(|r| {
            r.method != "GET"
                && !r.route.starts_with("/interactions")
                && !r.route.starts_with("/webhooks")
        })
        .collect();
    assert!(changes.is_empty(), "{changes:?}");
    // The owner's Cancel closes the preview (its buttons are gone).
    let cancel = button(&p, "umbra:rst:cancel:");
    let closed = world
        .click(world.owner_id(), p.message.as_ref().unwrap(), &cancel)
        .await;
    assert!(closed.text.contains("cancelled"), "{}", closed.text);
    assert!(
        closed
            .message
            .as_ref()
            .is_some_and(|m| m.buttons().is_empty())
    );
    assert_eq!(job(&world).await.0, "cancelled");
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_guild_re_plans_the_preview_instead_of_running_it() {
    let world = super::builder().start().await;
    wait_live(&world).await;
    max_plan(&world).await;
    bot_on_top(&world);
    let id = snapshot(&world, "base").await;
    let before = emulator_view(&world);
    let owner = world.emu.as_user(world.owner_id());
    owner
        .delete_channel(world.fixture.channel_ids[1])
        .expect("delete");
    assert_mirror_matches(&world, Duration::from_secs(30), "after the first deletion").await;
    let p = preview(&world, world.owner_id(), id, json!({})).await;
    assert!(p.text.contains("Channels: 1 to create"), "{}", p.text);
    owner
        .delete_channel(world.fixture.channel_ids[2])
        .expect("delete");
    assert_mirror_matches(&world, Duration::from_secs(30), "after the second deletion").await;
    let again = confirm(&world, world.owner_id(), &p).await;
    assert!(again.text.contains("changed"), "{}", again.text);
    assert!(
        again.text.contains("Channels: 2 to create"),
        "{}",
        again.text
    );
    assert_eq!(job(&world).await.0, "previewed", "not run blindly");
    let ok = confirm(&world, world.owner_id(), &again).await;
    assert!(ok.text.contains("Restore confirmed"), "{}", ok.text);
    wait_job(&world, &["completed"], Duration::from_secs(60)).await;
    assert_no_diff(&world, &before, "after the re-planned restore");
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_guilds_snapshot_is_refused_unless_imported() {
    let world = super::builder().start().await;
    wait_live(&world).await;
    let other = world.emu.build_fixture(
        &FixtureSpec {
            guild_name: "Other".into(),
            ..FixtureSpec::small()
        }
        .with_seed(7)
        .with_app(world.fixture.app.application_id),
    );
    let data = world.data();
    world
        .eventually("the other guild is live", || async {
            data.sync
                .status(other.guild_id)
                .await
                .ok()
                .and_then(|s| s.state)
                == Some(umbra::recovery::sync::SyncState::Live)
        })
        .await;
    let foreign = data
        .snapshots
        .create_manual(other.guild_id, Some("theirs".into()), other.owner_id)
        .await
        .expect("snapshot of the other guild")
        .meta
        .id;
    let refused = preview(&world, world.owner_id(), foreign, json!({})).await;
    assert!(refused.ephemeral, "{}", refused.text);
    assert!(refused.text.contains("import"), "{}", refused.text);
    let jobs: i64 = sqlx::query_scalar("SELECT count(*) FROM recovery.restore_jobs")
        .fetch_one(&world.db.pool)
        .await
        .unwrap();
    assert_eq!(jobs, 0, "nothing stored");
    let (_, bytes) = data
        .snapshots
        .export(other.guild_id, foreign)
        .await
        .expect("export");
    let (created, _) = data
        .snapshots
        .import(
            world.guild_id(),
            bytes,
            Some("imported".into()),
            world.owner_id(),
        )
        .await
        .expect("import");
    let p = preview(
        &world,
        world.owner_id(),
        created.meta.id,
        json!({ "components": "roles,channels" }),
    )
    .await;
    assert!(p.text.contains("another server"), "{}", p.text);
    assert!(!p.ephemeral);
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_the_restore_and_reports() {
    // Discord-shaped limits, 20x faster: the restore takes several seconds.
    let world = super::builder()
        .fixture(issue_fixture())
        .emulator(EmulatorConfig {
            rate_limits: RateLimitConfig::discord(),
            time_scale: 20.0,
            record_responses: true,
            ..EmulatorConfig::default()
        })
        .configure(|c| c.restore.heartbeat_ms = 200)
        .start()
        .await;
    wait_live(&world).await;
    max_plan(&world).await;
    bot_on_top(&world);
    let id = snapshot(&world, "base").await;
    wipe(&world);
    assert_mirror_matches(&world, Duration::from_secs(60), "after the wipe").await;
    let p = preview(&world, world.owner_id(), id, json!({})).await;
    confirm(&world, world.owner_id(), &p).await;
    world
        .eventually("some steps are done", || async {
            job(&world).await.1 >= 20
        })
        .await;
    let reply = world
        .command(world.owner_id(), "restore cancel", json!({}))
        .await;
    assert!(reply.text.contains("Stopping"), "{}", reply.text);
    let (status, done, _, total, _) =
        wait_job(&world, &["cancelled", "completed"], Duration::from_secs(30)).await;
    assert_eq!(status, "cancelled");
    assert!(done < total, "{done}/{total}");
    assert_eq!(events(&world, "recovery.restore_cancelled").await, 1);
    let after = world.emu.request_log().len();
    tokio::time::sleep(Duration::from_millis(800)).await;
    // Changes to the guild (not reads, and not the DM of the new URLs of webhooks it made
    // again before the cancel).
    let writes: Vec<String> = world
        .emu
        .request_log()
        .iter()
        .skip(after)
        .filter(|r| r.method != "GET")
        .filter(|r| {
            !matches!(
                r.route.as_str(),
                "/users/@me/channels" | "/channels/{channel_id}/messages"
            )
        })
        .map(|r| format!("{} {}", r.method, r.route))
        .collect();
    assert!(writes.len() <= 2, "requests after the cancel: {writes:?}");
    let status = world
        .command(world.owner_id(), "restore status", json!({}))
        .await;
    assert!(status.text.contains("cancelled"), "{}", status.text);
    let history = world
        .command(world.owner_id(), "restore history", json!({}))
        .await;
    assert!(history.text.contains("cancelled"), "{}", history.text);
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_of_429s_slows_the_restore_but_does_not_fail_it() {
    // Two requests per window everywhere, and Umbra sending several at once per bucket.
    let mut limits = RateLimitConfig::discord();
    for r in &mut limits.rules {
        r.limit = 2;
    }
    limits.invalid_request_limit = None;
    let world = super::builder()
        .emulator(EmulatorConfig {
            rate_limits: limits,
            time_scale: 20.0,
            record_responses: true,
            ..EmulatorConfig::default()
        })
        .configure(|c| {
            c.restore.bucket_concurrency = 6;
            c.discord.global_requests_per_second = 0;
        })
        .start()
        .await;
    wait_live(&world).await;
    max_plan(&world).await;
    bot_on_top(&world);
    let id = snapshot(&world, "base").await;
    let before = emulator_view(&world);
    let recovery = wipe(&world);
    assert_mirror_matches(&world, Duration::from_secs(60), "after the wipe").await;
    let p = preview(&world, world.owner_id(), id, json!({})).await;
    let limited_before = world.emu.counters().total.rate_limited;
    confirm(&world, world.owner_id(), &p).await;
    let (status, _, failed, _, job) =
        wait_job(&world, &["completed", "failed"], Duration::from_secs(120)).await;
    assert_eq!(
        (status.as_str(), failed),
        ("completed", 0),
        "{:?}",
        report(&world, job).await
    );
    assert!(
        world.emu.counters().total.rate_limited > limited_before,
        "the storm happened"
    );
    drop_recovery_channel(&world, recovery);
    assert_no_diff(&world, &before, "after the storm");
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_outliving_the_interaction_token_keeps_its_progress_and_stop_button() {
    // Discord-shaped limits, 20x faster: the restore takes several seconds.
    let world = super::builder()
        .fixture(issue_fixture())
        .emulator(EmulatorConfig {
            rate_limits: RateLimitConfig::discord(),
            time_scale: 20.0,
            ..EmulatorConfig::default()
        })
        .configure(|c| c.restore.progress_interval_ms = 200)
        .start()
        .await;
    wait_live(&world).await;
    max_plan(&world).await;
    bot_on_top(&world);
    let id = snapshot(&world, "base").await;
    wipe(&world);
    assert_mirror_matches(&world, Duration::from_secs(60), "after the wipe").await;
    let p = preview(&world, world.owner_id(), id, json!({})).await;
    let confirmed = confirm(&world, world.owner_id(), &p).await;
    let message = confirmed.message.clone().expect("the confirmed message");
    // The interaction's 15 minutes are over: from now on only the bot token can edit.
    let (_, _, _, _, job_id) = job(&world).await;
    sqlx::query(
        "UPDATE recovery.restore_jobs \
            SET progress_message = jsonb_set(progress_message, '{expires_at}', '0'::jsonb) \
          WHERE id = $1",
    )
    .bind(job_id)
    .execute(&world.db.pool)
    .await
    .expect("expiring the token");
    world
        .eventually("the progress keeps being shown", || {
            let emu = world.emu.clone();
            async move {
                emu.message(message.id)
                    .is_some_and(|m| m.content.contains("Restoring"))
            }
        })
        .await;
    // The Stop button on that message still stops the restore.
    let stop = crate::restore::button(&confirmed, "umbra:rst:stop:");
    world.click(world.owner_id(), &message, &stop).await;
    let (status, ..) = wait_job(&world, &["cancelled", "completed"], Duration::from_secs(60)).await;
    assert_eq!(status, "cancelled");
    world
        .eventually("the final report replaces the progress", || {
            let emu = world.emu.clone();
            async move {
                // Only the runner's final edit says this, after the token expired.
                emu.message(message.id).is_some_and(|m| {
                    m.content.contains("Restore cancelled") && m.content.contains("steps were done")
                })
            }
        })
        .await;
    world.finish().await;
}
