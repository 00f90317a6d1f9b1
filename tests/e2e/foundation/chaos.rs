//! Purpose: the real `umbra` binary through real failures (issue 17) — killed with SIGKILL
//! after a restore's create reached Discord and before its answer came back, and its
//! database taken away for 30 seconds in the middle of a restore while gateway events arrive.
//! Discord's side (the emulator's guild and request log) and the database are the judges:
//! every deleted channel comes back exactly once, the job completes (nothing but a person
//! cancels it), the mirror catches up with what happened during the outage, and `/healthz`
//! says what is wrong meanwhile.

use std::time::Duration;

use serde_json::json;
use uuid::Uuid;

use super::outage::{proxy, through};
use crate::restore::button;
use crate::support::binary::{Process, live_guilds};
use crate::support::world::{PATIENCE, TestWorld};

/// The route of a restore's channel creates.
const CHANNEL_CREATE: &str = "/guilds/{guild_id}/channels";

/// Restore leases short enough that a dead runner's job is claimed again within seconds.
fn short_leases() -> Vec<(&'static str, String)> {
    vec![
        ("UMBRA_RESTORE_LEASE_SECONDS", "3".into()),
        ("UMBRA_RESTORE_HEARTBEAT_MS", "500".into()),
        ("UMBRA_RESTORE_POLL_INTERVAL_MS", "200".into()),
    ]
}

/// A world whose emulator answers at once (no 429s) and whose bot is the real binary.
async fn world() -> TestWorld {
    TestWorld::builder()
        .emulator(discord_emulator::EmulatorConfig {
            time_scale: 100.0,
            ..discord_emulator::EmulatorConfig::unlimited()
        })
        .without_bot()
        .start()
        .await
}

/// A snapshot taken by `/backup create`, then `n` text or voice channels deleted by the owner
/// (those Discord refuses to delete, like a community's rules channel, are left); returns the
/// snapshot and the deleted channels' names, once the mirror no longer has them.
async fn snapshot_then_delete(world: &TestWorld, n: usize) -> (Uuid, Vec<String>) {
    let owner = world.owner_id();
    let made = world
        .command(owner, "backup create", json!({ "label": "before" }))
        .await;
    assert!(made.text.contains("before"), "{}", made.text);
    let snapshot: Uuid =
        sqlx::query_scalar("SELECT id FROM recovery.snapshots ORDER BY created_at DESC LIMIT 1")
            .fetch_one(&world.db.pool)
            .await
            .expect("the snapshot");
    let view = world.emu.guild_view(world.guild_id()).expect("the guild");
    let as_owner = world.emu.as_user(owner);
    let mut deleted = Vec::new();
    let mut ids = Vec::new();
    for c in view
        .channels
        .iter()
        .filter(|c| matches!(c.kind, 0 | 2) && c.id != world.fixture.general_channel_id)
    {
        if deleted.len() == n {
            break;
        }
        if as_owner.delete_channel(c.id).is_ok() {
            deleted.push(c.name.clone());
            ids.push(c.id as i64);
        }
    }
    assert_eq!(deleted.len(), n, "{n} channels deleted");
    let pool = world.db.pool.clone();
    world
        .eventually("the mirror has seen the deletions", || {
            let (pool, ids) = (pool.clone(), ids.clone());
            async move {
                sqlx::query_scalar::<_, i64>(
                    "SELECT count(*) FROM recovery.guild_channels \
                      WHERE discord_channel_id = ANY($1) AND valid_to IS NULL",
                )
                .bind(&ids)
                .fetch_one(&pool)
                .await
                .is_ok_and(|n| n == 0)
            }
        })
        .await;
    (snapshot, deleted)
}

/// Previews a merge restore of the channels and confirms it, as the owner.
async fn restore_channels(world: &TestWorld, snapshot: Uuid) {
    let owner = world.owner_id();
    let preview = world
        .command(
            owner,
            "restore preview",
            json!({ "snapshot": snapshot.to_string(), "components": "channels" }),
        )
        .await;
    assert!(preview.text.contains("to create"), "{}", preview.text);
    let id = button(&preview, "umbra:rst:confirm:");
    world
        .click(owner, preview.message.as_ref().expect("a message"), &id)
        .await;
}

/// The latest restore job's status.
async fn job_status(world: &TestWorld) -> Option<String> {
    sqlx::query_scalar("SELECT status FROM recovery.restore_jobs ORDER BY created_at DESC LIMIT 1")
        .fetch_optional(&world.db.pool)
        .await
        .ok()
        .flatten()
}

/// Waits until the latest job ends; returns its status.
async fn job_end(world: &TestWorld, umbra: &Process, patience: Duration) -> String {
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        if let Some(s) = job_status(world).await
            && matches!(s.as_str(), "completed" | "failed" | "cancelled")
        {
            return s;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the restore did not end ({:?}):\n{}",
            job_status(world).await,
            umbra.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Each of `names` exists exactly once among the guild's channels now.
fn each_once(world: &TestWorld, names: &[String]) {
    let view = world.emu.guild_view(world.guild_id()).expect("the guild");
    for name in names {
        let n = view.channels.iter().filter(|c| &c.name == name).count();
        assert_eq!(n, 1, "#{name} exists {n} times");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_killed_after_a_create_landed_resumes_without_a_second_create() {
    let world = world().await;
    // One create in flight at a time: the kill comes between two.
    let mut settings = short_leases();
    settings.push(("UMBRA_RESTORE_BUCKET_CONCURRENCY", "1".into()));
    let mut first = Process::start_live(&world, &settings).await;
    let (snapshot, deleted) = snapshot_then_delete(&world, 4).await;
    // Every create lands at once but is answered only 30 s later: the process dies before it
    // hears back, so it never records the id.
    world.emu.hold_responses(
        "POST",
        CHANNEL_CREATE,
        Some("umbra:restore"),
        Duration::from_secs(30),
    );
    restore_channels(&world, snapshot).await;
    let landed = || {
        let view = world.emu.guild_view(world.guild_id()).expect("the guild");
        deleted
            .iter()
            .filter(|n| view.channels.iter().any(|c| &&c.name == n))
            .count()
    };
    world
        .eventually("a create landed", || async { landed() >= 1 })
        .await;
    first.kill();
    world.emu.release_holds();
    let landed_before = landed();
    assert!(landed_before < deleted.len(), "killed mid-restore");

    let second = Process::start_live(&world, &short_leases()).await;
    let status = job_end(&world, &second, PATIENCE * 4).await;
    assert_eq!(status, "completed", "{}", second.log());
    each_once(&world, &deleted);
    // Discord's audit log is the judge: one channel creation per deleted channel.
    let creates = world
        .emu
        .audit_log(world.guild_id())
        .iter()
        .filter(|e| {
            e.action_type == 10
                && e.reason
                    .as_deref()
                    .is_some_and(|r| r.starts_with("umbra:restore"))
        })
        .count();
    assert_eq!(
        creates,
        deleted.len(),
        "one create per channel: those that landed before the kill were found, not sent again"
    );
}

/// `/healthz`'s status at `port`.
async fn healthz(port: u16) -> Option<u16> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .ok()?;
    client
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await
        .ok()
        .map(|r| r.status().as_u16())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_gone_for_30_seconds_mid_restore_leaves_the_job_to_complete_and_the_mirror_to_catch_up()
 {
    let world = world().await;
    let sockets = tempfile::tempdir().expect("a socket directory");
    let (url, real) = through(&world, sockets.path());
    let mut forward = proxy(sockets.path(), real.clone());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let mut umbra = Process::start_live(
        &world,
        &[
            ("DATABASE_URL", url),
            ("UMBRA_HTTP_BIND", format!("127.0.0.1:{port}")),
            ("UMBRA_DATABASE_GIVE_UP_SECONDS", "600".into()),
            // Shorter than the outage: the lease runs out and the process takes its own job
            // over (the case that once cancelled restores).
            ("UMBRA_RESTORE_LEASE_SECONDS", "10".into()),
        ],
    )
    .await;
    assert_eq!(healthz(port).await, Some(200), "{}", umbra.log());
    let (snapshot, deleted) = snapshot_then_delete(&world, 4).await;
    // Each create is answered after 2 s: the restore is still running when the database goes.
    world.emu.hold_responses(
        "POST",
        CHANNEL_CREATE,
        Some("umbra:restore"),
        Duration::from_secs(2),
    );
    restore_channels(&world, snapshot).await;
    world
        .eventually("the job runs", || async {
            job_status(&world).await.is_some_and(|s| s == "running")
        })
        .await;

    // The database goes away: every connection cut, the socket gone, for 30 s.
    forward.abort();
    let _ = (&mut forward).await;
    let _ = std::fs::remove_file(sockets.path().join(".s.PGSQL.5432"));
    let went = tokio::time::Instant::now();
    // Meanwhile the guild changes: a role renamed (a gateway event Umbra cannot write yet).
    let role = world.fixture.role_ids[0];
    world
        .emu
        .as_user(world.owner_id())
        .update_role(
            world.guild_id(),
            role,
            json!({ "name": "renamed during the outage" }),
        )
        .expect("rename a role");
    let mut saw_503 = false;
    while went.elapsed() < Duration::from_secs(30) {
        assert!(umbra.exited().is_none(), "Umbra exited:\n{}", umbra.log());
        saw_503 |= healthz(port).await == Some(503);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(saw_503, "/healthz said 503 while the database was gone");
    // It comes back.
    let _forward = proxy(sockets.path(), real);

    let status = job_end(&world, &umbra, Duration::from_secs(180)).await;
    assert_eq!(
        status,
        "completed",
        "never cancelled by an outage:\n{}",
        umbra.log()
    );
    each_once(&world, &deleted);
    let pool = world.db.pool.clone();
    world
        .eventually("the mirror has the role renamed during the outage", || {
            let pool = pool.clone();
            async move {
                sqlx::query_scalar::<_, String>(
                    "SELECT name FROM recovery.guild_roles WHERE discord_role_id = $1 AND valid_to IS NULL",
                )
                .bind(role as i64)
                .fetch_optional(&pool)
                .await
                .ok()
                .flatten()
                .is_some_and(|n| n == "renamed during the outage")
            }
        })
        .await;
    assert_eq!(healthz(port).await, Some(200));
    let cancelled = world
        .emu
        .dm_messages_to(world.owner_id())
        .iter()
        .any(|m| m.content.to_lowercase().contains("cancelled"));
    assert!(!cancelled, "nobody was told the restore was cancelled");
    assert!(
        umbra.exited().is_none(),
        "Umbra kept running:\n{}",
        umbra.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_load_killed_mid_batch_ends_with_the_mirror_equal_to_discord() {
    let world = TestWorld::builder()
        .fixture(discord_emulator::FixtureSpec {
            members: 30_000,
            ..discord_emulator::FixtureSpec::small()
        })
        .without_bot()
        .start()
        .await;
    let pool = world.db.pool.clone();
    let members_now = || {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM member.members WHERE valid_to IS NULL AND NOT banned",
            )
            .fetch_one(&pool)
            .await
            .unwrap_or(0)
        }
    };
    let mut first = Process::start(&world, &[]);
    // SIGKILL once the load has written some members and not all.
    let deadline = tokio::time::Instant::now() + PATIENCE * 2;
    loop {
        let n = members_now().await;
        if n > 0 {
            assert!(
                live_guilds(&world).await == 0,
                "the load ended before the kill ({n} members):\n{}",
                first.log()
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no member was written:\n{}",
            first.log()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    first.kill();
    let written = members_now().await;
    let expected = world
        .emu
        .guild_view(world.guild_id())
        .expect("the guild")
        .members;
    assert!(
        (written as usize) < expected.len(),
        "killed mid-load: {written} of {}",
        expected.len()
    );

    let second = Process::start_live(&world, &[]).await;
    // The mirror's current members (bans are member rows with `banned`) are Discord's, each
    // once, with their roles and nickname.
    let rows: Vec<(i64, Vec<i64>, Option<String>)> = sqlx::query_as(
        "SELECT discord_user_id, role_ids, nick FROM member.members \
          WHERE valid_to IS NULL AND NOT banned ORDER BY discord_user_id",
    )
    .fetch_all(&world.db.pool)
    .await
    .expect("the mirror's members");
    let mut mirror: Vec<(u64, Vec<u64>, Option<String>)> = rows
        .into_iter()
        .map(|(u, mut r, n)| {
            r.sort_unstable();
            (u as u64, r.into_iter().map(|x| x as u64).collect(), n)
        })
        .collect();
    mirror.sort();
    let mut discord: Vec<(u64, Vec<u64>, Option<String>)> = expected
        .into_iter()
        .map(|m| {
            let mut roles: Vec<u64> = m.roles;
            roles.sort_unstable();
            (m.user_id, roles, m.nick)
        })
        .collect();
    discord.sort();
    assert_eq!(mirror.len(), discord.len(), "{}", second.log());
    assert!(
        mirror == discord,
        "the mirror's members differ from Discord's"
    );
}

/// Waits until the process ends on its own (a failpoint aborted it); returns its log.
async fn aborted(mut umbra: Process) -> String {
    let deadline = tokio::time::Instant::now() + PATIENCE * 2;
    loop {
        if let Some(status) = umbra.exited() {
            let log = umbra.log();
            assert!(!status.success(), "aborted, not a clean exit:\n{log}");
            assert!(log.contains("failpoint"), "{log}");
            return log;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the failpoint was never reached:\n{}",
            umbra.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_and_a_dm_interrupted_by_crashes_reach_the_owner_exactly_once() {
    if !cfg!(feature = "failpoints") {
        panic!(
            "this test needs the crash points: run it with `--features umbra/failpoints` (scripts/test does)"
        );
    }
    let world = world().await;
    let owner = world.owner_id();
    let welcomes = || {
        world
            .emu
            .dm_messages_to(owner)
            .iter()
            .filter(|m| m.content.contains("Thanks for adding Umbra"))
            .count()
    };
    // 1. The guild's install event reaches the notification consumer (its welcome is queued),
    //    and the process dies before the delivery is marked.
    let first = Process::start(
        &world,
        &[(
            "UMBRA_TEST_FAILPOINT",
            "outbox.delivered.notification".into(),
        )],
    );
    aborted(first).await;
    assert_eq!(welcomes(), 0, "nothing was sent yet");
    // 2. The event is delivered again (the consumer queues nothing twice); the welcome DM
    //    goes out and the process dies before recording it.
    let second = Process::start(
        &world,
        &[("UMBRA_TEST_FAILPOINT", "notification.sent".into())],
    );
    aborted(second).await;
    assert_eq!(welcomes(), 1, "the DM went out once");
    // 3. A clean start: the DM is sent again with its nonce (Discord answers with the message
    //    it already has) and recorded.
    let third = Process::start_live(&world, &[]).await;
    let pool = world.db.pool.clone();
    world
        .eventually("the welcome is recorded as sent", || {
            let pool = pool.clone();
            async move {
                sqlx::query_scalar::<_, i64>(
                    "SELECT count(*) FROM notification.requests WHERE status = 'sent'",
                )
                .fetch_one(&pool)
                .await
                .is_ok_and(|n| n >= 1)
            }
        })
        .await;
    let requests: i64 = sqlx::query_scalar("SELECT count(*) FROM notification.requests")
        .fetch_one(&world.db.pool)
        .await
        .expect("requests");
    assert_eq!(requests, 1, "one request for one event:\n{}", third.log());
    assert_eq!(welcomes(), 1, "and one DM");
    let installs: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit.events WHERE event_type = 'guild.installed'",
    )
    .fetch_one(&world.db.pool)
    .await
    .expect("audit");
    assert_eq!(installs, 1, "the audit consumer recorded it once");
}
