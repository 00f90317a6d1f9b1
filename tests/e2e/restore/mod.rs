//! Purpose: end-to-end tests of the restore engine (issue 6) against the emulator: a full wipe
//! restored to zero structural diff; merge keeps an unrelated channel, mirror deletes it;
//! hierarchy-blocked items reported and skipped; a runner killed at several points (before a
//! create was recorded, after N results) resumes without duplicates; cancel; a storm of 429s;
//! a non-trusted administrator cannot confirm; a changed guild re-plans the preview; another
//! guild's snapshot is refused unless imported.

mod automod;
mod bans;
mod crash;
mod emojis;
mod events;
mod flows;
mod messages;
mod pacer;
mod pictures;
mod threads;
mod webhooks;

use std::collections::HashMap;
use std::time::Duration;

use discord_emulator::{DiffEntry, DiffOptions, GuildView, diff};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::recovery::{assert_mirror_matches, emulator_view};
use crate::support::world::{Reply, TestWorld};

/// What a restore must bring back: structure, settings, members and bans (ids ignored).
pub fn restore_options() -> DiffOptions {
    DiffOptions {
        webhooks: false,
        emojis: false,
        ..DiffOptions::structural()
    }
}

/// The differences between `before` and the emulator's guild now.
pub fn differences(world: &TestWorld, before: &GuildView) -> Vec<DiffEntry> {
    diff(before, &emulator_view(world), &restore_options())
}

pub fn assert_no_diff(world: &TestWorld, before: &GuildView, what: &str) {
    let d = differences(world, before);
    let shown: Vec<String> = d.iter().take(40).map(ToString::to_string).collect();
    assert!(
        d.is_empty(),
        "{what}: {} differences:\n{}",
        d.len(),
        shown.join("\n")
    );
}

/// No two roles, and no two channels of one kind and parent, share a name (no duplicates).
pub fn assert_no_duplicates(world: &TestWorld) {
    let v = emulator_view(world);
    let mut roles: HashMap<&str, usize> = HashMap::new();
    for r in &v.roles {
        *roles.entry(r.name.as_str()).or_default() += 1;
    }
    let dup: Vec<_> = roles.iter().filter(|(_, n)| **n > 1).collect();
    assert!(dup.is_empty(), "duplicate roles: {dup:?}");
    let mut channels: HashMap<(u8, &str, Option<u64>), usize> = HashMap::new();
    for c in &v.channels {
        *channels
            .entry((c.kind, c.name.as_str(), c.parent_id))
            .or_default() += 1;
    }
    let dup: Vec<_> = channels.iter().filter(|(_, n)| **n > 1).collect();
    assert!(dup.is_empty(), "duplicate channels: {dup:?}");
}

/// Gives the guild the plan without a member restore limit.
pub async fn max_plan(world: &TestWorld) {
    let code = umbra::licensing::PlanCode::parse("max").expect("a plan code");
    world
        .data()
        .licensing
        .grant(world.guild_id(), &code, None, world.operator_id)
        .await
        .expect("granting the max plan");
}

/// A world for restore tests: no 429s, but rate-limit headers whose windows are 100x shorter
/// (serenity paces itself by them), and Umbra's own global pacing off.
pub fn builder() -> crate::support::world::Builder {
    TestWorld::builder()
        .emulator(discord_emulator::EmulatorConfig {
            time_scale: 100.0,
            ..discord_emulator::EmulatorConfig::unlimited()
        })
        .configure(|c| c.discord.global_requests_per_second = 0)
}

/// Moves the bot's role to the top, so that every role can be restored.
pub fn bot_on_top(world: &TestWorld) {
    let v = world.emu.guild_view(world.guild_id()).expect("guild");
    let top = v.roles.iter().map(|r| r.position).max().unwrap_or(1);
    world
        .emu
        .as_user(world.owner_id())
        .set_role_positions(world.guild_id(), &[(world.fixture.bot_role_id, top)])
        .expect("moving the bot's role");
}

/// A manual snapshot of the guild now (the mirror must match the emulator first).
pub async fn snapshot(world: &TestWorld, label: &str) -> Uuid {
    assert_mirror_matches(world, Duration::from_secs(60), "before the snapshot").await;
    world
        .data()
        .snapshots
        .create_manual(world.guild_id(), Some(label.into()), world.owner_id())
        .await
        .expect("snapshot")
        .meta
        .id
}

/// Deletes every channel and every role the owner can (not @everyone, not managed roles; not
/// the community's rules channel, #general, which Discord refuses with 50074), then creates
/// `#recovery`, where the owner runs the commands.
pub fn wipe(world: &TestWorld) -> u64 {
    let g = world.guild_id();
    let v = world.emu.guild_view(g).expect("guild");
    let owner = world.emu.as_user(world.owner_id());
    for c in &v.channels {
        match owner.delete_channel(c.id) {
            Err(e) if e.code == 50074 => {
                assert_eq!(
                    c.id, world.fixture.general_channel_id,
                    "only #general is kept"
                );
            }
            other => {
                other.expect("deleting a channel");
            }
        }
    }
    for r in &v.roles {
        if r.id != g && !r.managed {
            owner.delete_role(g, r.id).expect("deleting a role");
        }
    }
    owner
        .create_channel(g, json!({ "name": "recovery", "type": 0 }))
        .expect("the owner's channel")
}

/// Deletes the owner's `#recovery` channel (the restore in merge mode keeps it).
pub fn drop_recovery_channel(world: &TestWorld, channel: u64) {
    world
        .emu
        .as_user(world.owner_id())
        .delete_channel(channel)
        .expect("deleting #recovery");
}

pub async fn preview(world: &TestWorld, user: u64, snapshot: Uuid, options: Value) -> Reply {
    let mut options = options;
    options["snapshot"] = json!(snapshot.to_string());
    world.command(user, "restore preview", options).await
}

/// Compares only what `on` switches on (ids ignored; every part off before).
pub fn nothing_but(on: impl FnOnce(&mut DiffOptions)) -> DiffOptions {
    let mut o = DiffOptions {
        settings: false,
        roles: false,
        channels: false,
        members: false,
        bans: false,
        webhooks: false,
        emojis: false,
        stickers: false,
        automod: false,
        threads: false,
        events: false,
        welcome: false,
        onboarding: false,
        ..DiffOptions::structural()
    };
    on(&mut o);
    o
}

/// Compares the channels and what `on` switches on (ids ignored; everything else off).
pub fn channels_and(on: impl FnOnce(&mut DiffOptions)) -> DiffOptions {
    nothing_but(|o| {
        o.channels = true;
        on(o);
    })
}

/// A mirror restore of `components` from `snapshot`, end to end: the emulator differs from
/// `before` under `options` first; the preview says every one of `says`; once confirmed and
/// finished the emulator equals `before`, the mirror follows, and a second preview has
/// nothing to do.
pub async fn mirror_restore_brings_back(
    world: &TestWorld,
    snapshot: Uuid,
    components: &str,
    says: &[&str],
    before: &GuildView,
    options: &DiffOptions,
) {
    assert!(!diff(before, &emulator_view(world), options).is_empty());
    let owner = world.owner_id();
    let p = preview(
        world,
        owner,
        snapshot,
        json!({ "mode": 1, "components": components }),
    )
    .await;
    for line in says {
        assert!(p.text.contains(line), "{line:?} in {}", p.text);
    }
    confirm(world, owner, &p).await;
    wait_completed(world, Duration::from_secs(120)).await;
    let d = diff(before, &emulator_view(world), options);
    assert!(d.is_empty(), "{components} differ after the restore: {d:?}");
    assert_mirror_matches(world, Duration::from_secs(60), "after the restore").await;
    let again = preview(
        world,
        owner,
        snapshot,
        json!({ "mode": 1, "components": components }),
    )
    .await;
    assert!(again.text.contains("Nothing to do"), "{}", again.text);
}

/// The custom id of the reply's button starting with `prefix`.
pub fn button(reply: &Reply, prefix: &str) -> String {
    let message = reply.message.as_ref().expect("a message");
    message
        .buttons()
        .into_iter()
        .filter_map(|b| b.custom_id)
        .find(|id| id.starts_with(prefix))
        .unwrap_or_else(|| panic!("no button {prefix} in {:?}", message.buttons()))
}

pub async fn confirm(world: &TestWorld, user: u64, preview: &Reply) -> Reply {
    let id = button(preview, "umbra:rst:confirm:");
    world
        .click(user, preview.message.as_ref().expect("a message"), &id)
        .await
}

/// (status, done, failed, total) of the guild's latest job.
pub async fn job(world: &TestWorld) -> (String, i32, i32, i32, Uuid) {
    sqlx::query_as(
        "SELECT status, done_steps, failed_steps, total_steps, id FROM recovery.restore_jobs \
          ORDER BY created_at DESC LIMIT 1",
    )
    .fetch_one(&world.db.pool)
    .await
    .expect("a job")
}

/// Waits until the latest job reaches one of `statuses`.
pub async fn wait_job(
    world: &TestWorld,
    statuses: &[&str],
    patience: Duration,
) -> (String, i32, i32, i32, Uuid) {
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        let j = job(world).await;
        if statuses.contains(&j.0.as_str()) {
            return j;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the job did not reach {statuses:?}: {j:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the latest job ends, checks that it completed without a failed step (its
/// report otherwise), and returns its id.
pub async fn wait_completed(world: &TestWorld, patience: Duration) -> Uuid {
    let (status, _, failed, _, job) =
        wait_job(world, &["completed", "failed", "cancelled"], patience).await;
    assert_eq!(
        (status.as_str(), failed),
        ("completed", 0),
        "{:?}",
        report(world, job).await
    );
    job
}

/// The job's per-item report.
pub async fn report(world: &TestWorld, id: Uuid) -> Vec<Value> {
    let v: Option<Value> =
        sqlx::query_scalar("SELECT error_report FROM recovery.restore_jobs WHERE id = $1")
            .bind(id)
            .fetch_one(&world.db.pool)
            .await
            .expect("the job");
    v.and_then(|v| v.as_array().cloned()).unwrap_or_default()
}

pub async fn events(world: &TestWorld, event_type: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM events.outbox WHERE event_type = $1")
        .bind(event_type)
        .fetch_one(&world.db.pool)
        .await
        .expect("count")
}
