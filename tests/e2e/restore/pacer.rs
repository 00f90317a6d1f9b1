//! Purpose: the process-wide pacer end to end — two restores in two guilds and a burst of DMs
//! at once share one global rate: with the emulator enforcing Discord's global limit at the
//! rate Umbra is configured for, not one global 429 comes back.

use std::time::Duration;

use discord_emulator::{EmulatorConfig, FixtureSpec, RateLimitConfig};
use serde_json::json;
use umbra::notification::Category;
use umbra::notification::model::NewRequest;
use umbra::recovery::restore::{Components, Mode, RestoreRequest};

use super::*;
use crate::recovery::wait_live;

/// Requests a second for the emulator's global limit and Umbra's share. Real one-second
/// windows (no time scale) keep the test's margin for scheduling jitter at ~20 ms.
const GLOBAL_PER_SECOND: u32 = 20;

fn lean() -> FixtureSpec {
    FixtureSpec {
        roles: 6,
        categories: 2,
        channels: 8,
        overwrites: 8,
        members: 12,
        emojis: 0,
        webhooks: 0,
        ..FixtureSpec::small()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_restores_and_a_dm_burst_never_exceed_the_global_rate() {
    // Only the global limit: per-route buckets would hide the global pacing.
    let limits = RateLimitConfig {
        enabled: true,
        global_per_second: Some(GLOBAL_PER_SECOND),
        rules: vec![],
        fallback: None,
        ..RateLimitConfig::unlimited()
    };
    let mut world = TestWorld::builder()
        .fixture(lean())
        .emulator(EmulatorConfig {
            rate_limits: limits,
            record_responses: true,
            ..EmulatorConfig::default()
        })
        .configure(|c| c.discord.global_requests_per_second = GLOBAL_PER_SECOND)
        .without_bot()
        .start()
        .await;
    let mut other = world.emu.build_fixture(
        &FixtureSpec {
            guild_name: "Second".into(),
            ..lean()
        }
        .with_seed(7)
        .with_app(world.fixture.app.application_id),
    );
    world.start_bot().await;

    // Both guilds: the max plan, the bot on top, a snapshot, then a wipe (the helpers act on
    // `world.fixture`, so the two fixtures take turns there).
    let mut prepared = Vec::new();
    for _ in 0..2 {
        wait_live(&world).await;
        max_plan(&world).await;
        bot_on_top(&world);
        let id = snapshot(&world, "before").await;
        let before = emulator_view(&world);
        let recovery = wipe(&world);
        assert_mirror_matches(&world, Duration::from_secs(60), "after the wipe").await;
        prepared.push((world.guild_id(), world.owner_id(), id, before, recovery));
        std::mem::swap(&mut world.fixture, &mut other);
    }

    let data = world.data();
    let guild_row = umbra::guild::GuildReader::guild(&data.guilds, world.guild_id())
        .await
        .expect("reading the guild")
        .expect("the guild is recorded")
        .id;
    let burst = 30;
    for n in 0..burst {
        let request = NewRequest {
            guild_id: Some(guild_row),
            recipient_discord_id: world.owner_id(),
            kind: "welcome".into(),
            category: Category::Lifecycle,
            template_key: "notify-welcome".into(),
            args: json!({ "guild": { "type": "text", "value": format!("Server {n}") } }),
            locale: None,
            dedupe_key: format!("burst-{n}"),
        };
        assert!(data.notifications.enqueue(&request).await.expect("enqueue"));
    }
    let mut jobs = Vec::new();
    for (guild, owner, snapshot_id, _, _) in &prepared {
        let job = data
            .restores
            .start(RestoreRequest {
                guild: *guild,
                snapshot_id: *snapshot_id,
                mode: Mode::Merge,
                components: Components::all(),
                scope: None,
                requested_by: *owner,
                incident_id: None,
                confirmed: true,
            })
            .await
            .expect("the restore starts");
        jobs.push(job);
    }

    world
        .eventually("both restores finish and every DM is sent", || async {
            let finished: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM recovery.restore_jobs \
                  WHERE id = ANY($1) AND status IN ('completed', 'failed', 'cancelled')",
            )
            .bind(&jobs)
            .fetch_one(&world.db.pool)
            .await
            .unwrap_or(0);
            let sent: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM notification.requests \
                  WHERE dedupe_key LIKE 'burst-%' AND status = 'sent'",
            )
            .fetch_one(&world.db.pool)
            .await
            .unwrap_or(0);
            finished == 2 && sent == i64::try_from(burst).unwrap_or(0)
        })
        .await;
    for job in &jobs {
        let (status, failed): (String, i32) =
            sqlx::query_as("SELECT status, failed_steps FROM recovery.restore_jobs WHERE id = $1")
                .bind(job)
                .fetch_one(&world.db.pool)
                .await
                .expect("the job");
        assert_eq!(
            (status.as_str(), failed),
            ("completed", 0),
            "{:?}",
            report(&world, *job).await
        );
    }
    let dms = world.emu.dm_messages_to(world.owner_id());
    assert!(dms.len() >= burst, "{} DMs", dms.len());

    let counters = world.emu.counters();
    let global = counters
        .by_bucket
        .get("global")
        .map_or(0, |c| c.rate_limited);
    assert_eq!(global, 0, "global 429s: {:?}", counters.by_bucket);
    // The load was real: well over one window's worth of requests went out.
    assert!(
        counters.total.requests > u64::from(GLOBAL_PER_SECOND) * 5,
        "{:?}",
        counters.total
    );

    // Each guild is back as it was (apart from the owner's #recovery).
    for (guild, owner, _, before, recovery) in prepared {
        if guild != world.guild_id() {
            std::mem::swap(&mut world.fixture, &mut other);
        }
        assert_eq!(world.owner_id(), owner);
        drop_recovery_channel(&world, recovery);
        assert_no_diff(&world, &before, "after the paced restore");
    }
    world.finish().await;
}
