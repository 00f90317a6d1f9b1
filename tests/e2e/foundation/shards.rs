//! Purpose: two `umbra` processes on shard ranges (issue 17) — `discord.total_shards = 2`, one
//! process on shard 0 and one on shard 1, one database, one emulator with a guild on each
//! shard: both guilds are synced and answer their commands (each through its own shard's
//! process), every owner notification goes out once although both processes relay the outbox
//! and send notifications, and both together stay under Discord's global limit. One process is
//! killed: the other keeps its shard and keeps answering; a guild that joins the dead shard
//! meanwhile is loaded (and welcomed once) when that process comes back.

use std::time::Duration;

use serde_json::json;

use crate::support::binary::{Process, live_guilds};
use crate::support::world::TestWorld;

/// Settings of a process that runs shard `shard` of 2, with half of the global budget.
fn on_shard(shard: u64) -> Vec<(&'static str, String)> {
    vec![
        ("UMBRA_DISCORD_TOTAL_SHARDS", "2".into()),
        ("UMBRA_DISCORD_SHARD_RANGE", format!("[{shard}, {shard}]")),
        ("UMBRA_DISCORD_GLOBAL_REQUESTS_PER_SECOND", "25".into()),
    ]
}

fn shard_of(guild: u64) -> u64 {
    (guild >> 22) % 2
}

/// A new guild of the owner's on `shard` with the bot in it.
fn guild_on(world: &TestWorld, shard: u64, name: &str) -> u64 {
    let owner = world.owner_id();
    let guild = loop {
        let g = world.emu.create_guild(owner, name);
        if shard_of(g) == shard {
            break g;
        }
    };
    world
        .emu
        .add_bot(guild, world.fixture.app.application_id, 8, owner)
        .expect("the bot joins");
    guild
}

/// The owner's welcome DMs that name `guild_name`.
fn welcomes(world: &TestWorld, guild_name: &str) -> usize {
    world
        .emu
        .dm_messages_to(world.owner_id())
        .iter()
        .filter(|m| m.content.contains("Thanks for adding Umbra") && m.content.contains(guild_name))
        .count()
}

/// `/backup create` in `guild`: the answer's text.
async fn backup(world: &TestWorld, guild: u64, label: &str) -> String {
    world
        .command_with(
            world.owner_id(),
            Some(guild),
            "backup create",
            json!({ "label": label }),
            "en-US",
        )
        .await
        .text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_shard_ranges_share_one_database_and_do_nothing_twice() {
    let world = TestWorld::builder().without_bot().start().await;
    let app = world.fixture.app.application_id;
    let first = world.guild_id();
    let other = 1 - shard_of(first);
    let second = guild_on(&world, other, "Second shard's guild");
    let mut processes = [
        Some(Process::start(&world, &on_shard(0))),
        Some(Process::start(&world, &on_shard(1))),
    ];
    let logs = |processes: &[Option<Process>; 2]| {
        processes
            .iter()
            .flatten()
            .map(Process::log)
            .collect::<Vec<_>>()
            .join("\n----\n")
    };
    world
        .eventually("both shards connect and both guilds are live", || async {
            world.emu.connected_sessions(app) == 2 && live_guilds(&world).await == 2
        })
        .await;

    // Each guild answers through its own shard's process.
    let fixture_name = world
        .emu
        .guild_view(first)
        .map(|v| v.settings.name)
        .expect("the fixture guild");
    for (guild, label) in [(first, "one"), (second, "two")] {
        let text = backup(&world, guild, label).await;
        assert!(text.contains(label), "{text}\n{}", logs(&processes));
    }
    // Both processes relay the outbox and send notifications: each welcome goes out once.
    world
        .eventually("each guild's welcome is sent", || async {
            welcomes(&world, &fixture_name) >= 1 && welcomes(&world, "Second shard's guild") >= 1
        })
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(welcomes(&world, &fixture_name), 1, "{}", logs(&processes));
    assert_eq!(welcomes(&world, "Second shard's guild"), 1);
    let snapshots: i64 = sqlx::query_scalar("SELECT count(*) FROM recovery.snapshots")
        .fetch_one(&world.db.pool)
        .await
        .expect("snapshots");
    assert_eq!(snapshots, 2, "one snapshot per command");

    // The second shard's process dies: the first keeps its shard and keeps answering.
    let dead = other as usize;
    if let Some(mut p) = processes[dead].take() {
        p.kill();
    }
    world
        .eventually("one session left", || async {
            world.emu.connected_sessions(app) == 1
        })
        .await;
    let alive_guild = if shard_of(first) == other {
        second
    } else {
        first
    };
    let text = backup(&world, alive_guild, "still here").await;
    assert!(text.contains("still here"), "{text}");
    // A guild joins the dead shard meanwhile: nobody loads it until its process is back.
    let third = guild_on(&world, other, "Third guild");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        live_guilds(&world).await,
        2,
        "no process loads another's shard"
    );

    processes[dead] = Some(Process::start(&world, &on_shard(other)));
    world
        .eventually("the shard is back and the new guild is live", || async {
            world.emu.connected_sessions(app) == 2 && live_guilds(&world).await == 3
        })
        .await;
    let text = backup(&world, third, "three").await;
    assert!(text.contains("three"), "{text}");
    world
        .eventually("the new guild's welcome is sent", || async {
            welcomes(&world, "Third guild") >= 1
        })
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(welcomes(&world, "Third guild"), 1);
    assert_eq!(
        welcomes(&world, &fixture_name),
        1,
        "a restart sends no welcome again"
    );
    let counters = world.emu.counters();
    let global = counters
        .by_bucket
        .get("global")
        .map_or(0, |c| c.rate_limited);
    assert_eq!(global, 0, "no global 429: each process keeps its share");
}
