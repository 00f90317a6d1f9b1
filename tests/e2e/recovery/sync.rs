//! Purpose: live sync end to end — the mirror equals the emulator's guild after the fixture
//! guild joins, after 200 random mutations, and after changes made while the bot was down
//! (reconciled, not wiped); "as of T" rebuilds the state before a burst of deletions; an
//! unchanged reload writes nothing; `/umbra status` shows the live state; a large guild's
//! member request leaves from the shard's event path, once, even when every chunk arrives
//! before the GUILD_CREATE handler runs, and what it brought is written even when that handler
//! fails.

use std::time::Duration;

use discord_emulator::{OverwriteKind, diff};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use super::{
    assert_mirror_matches, database_view, db_now, emulator_view, issue_fixture, options, wait_live,
};
use crate::support::world::TestWorld;

const PATIENCE: Duration = Duration::from_secs(60);

async fn count(world: &TestWorld, sql: impl Into<String>) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.into()))
        .fetch_one(&world.db.pool)
        .await
        .unwrap()
}

/// Rows of the mirror: (all versions, current versions) over the five versioned tables.
async fn row_counts(world: &TestWorld) -> (i64, i64) {
    let mut all = 0;
    let mut current = 0;
    for table in [
        "recovery.guild_roles",
        "recovery.guild_channels",
        "recovery.guild_permission_overrides",
        "recovery.guild_settings",
        "member.members",
    ] {
        all += count(world, format!("SELECT count(*) FROM {table}")).await;
        current += count(
            world,
            format!("SELECT count(*) FROM {table} WHERE valid_to IS NULL"),
        )
        .await;
    }
    (all, current)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fixture_guild_is_mirrored_when_it_joins() {
    let world = TestWorld::builder().fixture(issue_fixture()).start().await;
    wait_live(&world).await;
    let view = emulator_view(&world);
    assert_eq!(view.roles.len(), 51, "50 roles and @everyone");
    assert_eq!(view.channels.len(), 100);
    assert_eq!(
        view.channels
            .iter()
            .map(|c| c.overwrites.len())
            .sum::<usize>(),
        300
    );
    assert!(view.members.len() >= 1000);
    // serenity's cache keeps no member but Umbra's own (`cache_members`, vendor/README.md);
    // Umbra's member index holds every member with the roles Discord lists.
    let data = world.data();
    let cached = data
        .bot
        .cache()
        .and_then(|c| c.guild(poise::serenity_prelude::GuildId::new(world.guild_id())))
        .map(|g| g.members.keys().map(|u| u.get()).collect::<Vec<_>>());
    assert_eq!(cached, Some(vec![data.bot.user_id().expect("connected")]));
    assert_index_matches(&world, &view);
    assert_eq!(
        count(
            &world,
            "SELECT count(*) FROM recovery.guild_roles WHERE valid_to IS NULL"
        )
        .await,
        51
    );
    assert_eq!(
        count(
            &world,
            "SELECT count(*) FROM recovery.guild_channels WHERE valid_to IS NULL AND thread IS NULL"
        )
        .await,
        100
    );
    assert_eq!(
        count(
            &world,
            "SELECT count(*) FROM recovery.guild_permission_overrides WHERE valid_to IS NULL"
        )
        .await,
        300
    );
    assert_eq!(
        count(
            &world,
            "SELECT count(*) FROM member.members WHERE valid_to IS NULL AND NOT banned"
        )
        .await,
        view.members.len() as i64
    );
    // The threads: the active ones from GUILD_CREATE, the archived posts by REST.
    assert_eq!(view.threads.len(), 4);
    assert!(view.threads.iter().any(|t| t.archived));
    assert_eq!(
        count(
            &world,
            "SELECT count(*) FROM recovery.guild_channels WHERE valid_to IS NULL AND thread IS NOT NULL"
        )
        .await,
        4
    );
    // The ban list came with the load (by REST: bans are not in GUILD_CREATE), reasons too.
    assert!(!view.bans.is_empty());
    assert_eq!(
        count(
            &world,
            "SELECT count(*) FROM member.members WHERE valid_to IS NULL AND banned \
               AND (ban_reason IS NOT NULL) = (username LIKE '%1' OR username LIKE '%3')"
        )
        .await,
        view.bans.len() as i64
    );
    // Every kind of channel made it, with its voice and forum settings.
    let kinds: std::collections::BTreeSet<u8> = view.channels.iter().map(|c| c.kind).collect();
    assert!(
        kinds.is_superset(&[0, 2, 4].into_iter().collect()),
        "{kinds:?}"
    );
    let forum_tags = count(
        &world,
        "SELECT count(*) FROM recovery.guild_channels WHERE valid_to IS NULL AND kind = 15 \
           AND jsonb_array_length(available_tags) = 3",
    )
    .await;
    assert!(forum_tags > 0, "forum channels keep their tags");
    let (state, full): (String, Option<chrono::DateTime<chrono::Utc>>) = sqlx::query_as(
        "SELECT sync_state, last_full_sync_at FROM recovery.guild_settings WHERE valid_to IS NULL",
    )
    .fetch_one(&world.db.pool)
    .await
    .unwrap();
    assert_eq!(state, "live");
    assert!(full.is_some());

    let status = world
        .command(world.owner_id(), "umbra status", json!({}))
        .await;
    assert!(
        status
            .text
            .contains("Live sync: live — 51 roles, 100 channels"),
        "{}",
        status.text
    );
    world.finish().await;
}

/// Umbra's member index holds exactly the emulator's members, each with its roles.
fn assert_index_matches(world: &TestWorld, view: &discord_emulator::diff::GuildView) {
    let index = world.data().sync.members();
    assert_eq!(index.len(), view.members.len());
    for m in &view.members {
        let mut roles: Vec<u64> = m
            .roles
            .iter()
            .copied()
            .filter(|r| *r != world.guild_id())
            .collect();
        roles.sort_unstable();
        let mut have = index
            .member(world.guild_id(), m.user_id)
            .map(|i| i.roles.to_vec())
            .unwrap_or_else(|| vec![0]);
        have.sort_unstable();
        assert_eq!(have, roles, "member {} in the index", m.user_id);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_guild_s_members_reach_the_member_index_with_the_guild_create_right_after_ready() {
    // The default fixture is small: its members come in GUILD_CREATE, the session's first
    // event after READY, which the shard's collector must see (it starts with the runner).
    let world = TestWorld::start().await;
    wait_live(&world).await;
    let view = emulator_view(&world);
    assert!(view.members.len() > 2, "{}", view.members.len());
    assert_index_matches(&world, &view);
    world.finish().await;
}

/// One random change as the owner; `Ok(false)` when the emulator refused it (e.g. hierarchy).
fn mutate(world: &TestWorld, rng: &mut StdRng, step: usize) -> bool {
    let g = world.guild_id();
    let owner = world.emu.as_user(world.owner_id());
    let view = world.emu.guild_view(g).expect("guild");
    let plain_roles: Vec<u64> = view
        .roles
        .iter()
        .filter(|r| !r.managed && r.id != g)
        .map(|r| r.id)
        .collect();
    let categories: Vec<u64> = view
        .channels
        .iter()
        .filter(|c| c.kind == 4)
        .map(|c| c.id)
        .collect();
    let channels: Vec<u64> = view.channels.iter().map(|c| c.id).collect();
    let protected = [
        world.owner_id(),
        world.fixture.app.bot_user_id,
        world.fixture.trusted_user_id,
    ];
    let members: Vec<u64> = view
        .members
        .iter()
        .map(|m| m.user_id)
        .filter(|u| !protected.contains(u))
        .collect();
    let pick = |rng: &mut StdRng, v: &[u64]| -> Option<u64> {
        (!v.is_empty()).then(|| v[rng.random_range(0..v.len())])
    };
    let result: Result<(), discord_emulator::ApiError> = match rng.random_range(0..18) {
        16 => match pick(rng, &plain_roles) {
            Some(r) => owner
                .set_role_positions(g, &[(r, rng.random_range(1..plain_roles.len() as i64 + 1))])
                .map(|_| ()),
            None => return false,
        },
        17 => match pick(rng, &channels) {
            Some(c) => owner.set_channel_positions(g, json!([{ "id": c.to_string(), "position": rng.random_range(0..30) }])),
            None => return false,
        },
        0 => owner
            .create_role(g, json!({ "name": format!("New role {step}"), "color": rng.random_range(0..0xFF_FFFF), "hoist": rng.random_bool(0.5), "permissions": (1u64 << rng.random_range(0..20)).to_string() }))
            .map(|_| ()),
        1 | 2 => match pick(rng, &plain_roles) {
            Some(r) => owner
                .update_role(g, r, json!({ "name": format!("Renamed {step}"), "mentionable": rng.random_bool(0.5), "color": rng.random_range(0..0xFF_FFFF) }))
                .map(|_| ()),
            None => return false,
        },
        3 => match pick(rng, &plain_roles) {
            Some(r) => owner.delete_role(g, r),
            None => return false,
        },
        4 => {
            let kind = [0, 0, 2, 4, 5, 15][rng.random_range(0..6)];
            let mut body = json!({ "name": format!("new-{step}"), "type": kind });
            if kind != 4 && let Some(p) = pick(rng, &categories) && rng.random_bool(0.7) {
                body["parent_id"] = json!(p.to_string());
            }
            if kind == 0 {
                body["topic"] = json!(format!("topic {step}"));
            }
            owner.create_channel(g, body).map(|_| ())
        }
        5 | 6 => match pick(rng, &channels) {
            Some(c) => {
                let kind = view.channels.iter().find(|x| x.id == c).map(|x| x.kind).unwrap_or(0);
                let mut body = json!({ "name": format!("edited-{step}") });
                if kind == 0 {
                    body["topic"] = json!(format!("edited topic {step}"));
                    body["nsfw"] = json!(rng.random_bool(0.3));
                    body["rate_limit_per_user"] = json!(([0, 5, 10, 60])[rng.random_range(0..4)]);
                }
                if kind == 2 {
                    body["user_limit"] = json!(rng.random_range(0..50));
                }
                if kind != 4 && rng.random_bool(0.3) {
                    body["parent_id"] = pick(rng, &categories).map(|p| json!(p.to_string())).unwrap_or(json!(null));
                }
                owner.update_channel(c, body).map(|_| ())
            }
            None => return false,
        },
        7 => match pick(rng, &channels) {
            Some(c) => owner.delete_channel(c),
            None => return false,
        },
        8 | 9 => match (pick(rng, &channels), pick(rng, &plain_roles)) {
            (Some(c), Some(r)) => owner.put_overwrite(c, r, OverwriteKind::Role, 1 << rng.random_range(0..12), 1 << rng.random_range(12..20)),
            _ => return false,
        },
        10 => match (pick(rng, &channels), pick(rng, &members)) {
            (Some(c), Some(u)) => owner.put_overwrite(c, u, OverwriteKind::Member, 1 << 10, 0),
            _ => return false,
        },
        11 => match pick(rng, &channels) {
            Some(c) => {
                let targets: Vec<u64> = view.channels.iter().find(|x| x.id == c).map(|x| x.overwrites.iter().map(|o| o.id).collect()).unwrap_or_default();
                match pick(rng, &targets) {
                    Some(t) => owner.delete_overwrite(c, t),
                    None => return false,
                }
            }
            None => return false,
        },
        12 => match pick(rng, &members) {
            Some(u) => owner
                .update_member(g, u, json!({ "nick": if rng.random_bool(0.8) { json!(format!("Nick {step}")) } else { json!(null) } }))
                .map(|_| ()),
            None => return false,
        },
        13 => match (pick(rng, &members), pick(rng, &plain_roles)) {
            (Some(u), Some(r)) if rng.random_bool(0.5) => owner.add_member_role(g, u, r),
            (Some(u), Some(_)) => {
                let held: Vec<u64> = view.members.iter().find(|m| m.user_id == u).map(|m| m.roles.clone()).unwrap_or_default();
                match pick(rng, &held) {
                    Some(r) => owner.remove_member_role(g, u, r),
                    None => return false,
                }
            }
            _ => return false,
        },
        14 => {
            if rng.random_bool(0.5) {
                match pick(rng, &members) {
                    Some(u) => owner.kick(g, u),
                    None => return false,
                }
            } else {
                let user = world.emu.create_user(&format!("joiner-{step}"));
                world.emu.add_member(g, user).map(|_| ())
            }
        }
        _ => {
            let mut body = json!({
                "verification_level": rng.random_range(0..5),
                "system_channel_flags": rng.random_range(0..16),
                "premium_progress_bar_enabled": rng.random_bool(0.5),
                "description": format!("changed at step {step}"),
            });
            // serenity reads afk_timeout only with an AFK channel (a limitation noted in sync).
            if view.settings.afk_channel_id.is_some() {
                body["afk_timeout"] = json!(([60, 300, 900, 1800, 3600])[rng.random_range(0..5)]);
            }
            owner.update_guild(g, body).map(|_| ())
        }
    };
    result.is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_random_mutations_keep_the_mirror_equal() {
    let world = TestWorld::builder().fixture(issue_fixture()).start().await;
    wait_live(&world).await;
    // UMBRA_TEST_MUTATION_SEED replays another sequence.
    let seed = std::env::var("UMBRA_TEST_MUTATION_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(42);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut done = 0;
    let mut step = 0;
    while done < 200 {
        step += 1;
        assert!(step < 2000, "the emulator refused too many mutations");
        if mutate(&world, &mut rng, step) {
            done += 1;
        }
        if step % 50 == 0 {
            // Let some batches go out mid-way too (not only one big batch at the end).
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }
    assert_mirror_matches(&world, PATIENCE, "after 200 random mutations").await;
    assert_index_matches(&world, &emulator_view(&world));
    let versions: i64 = count(
        &world,
        "SELECT count(*) FROM recovery.guild_roles WHERE ended_by = 'update'",
    )
    .await;
    let tombstones: i64 = count(
        &world,
        "SELECT count(*) FROM recovery.guild_channels WHERE ended_by = 'delete'",
    )
    .await;
    assert!(
        versions > 0 && tombstones > 0,
        "updates keep previous versions ({versions}), deletes leave tombstones ({tombstones})"
    );
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_made_while_the_bot_was_down_are_reconciled_after_a_restart() {
    let mut world = TestWorld::builder().fixture(issue_fixture()).start().await;
    wait_live(&world).await;
    let untouched_role = world.fixture.moderator_role_id;
    let row_before: uuid::Uuid = sqlx::query_scalar(
        "SELECT id FROM recovery.guild_roles WHERE discord_role_id = $1 AND valid_to IS NULL",
    )
    .bind(untouched_role as i64)
    .fetch_one(&world.db.pool)
    .await
    .unwrap();

    world.stop_bot().await;
    let g = world.guild_id();
    let owner = world.emu.as_user(world.owner_id());
    for c in world.fixture.channel_ids.iter().skip(1).take(5) {
        owner.delete_channel(*c).unwrap();
    }
    for r in world.fixture.role_ids.iter().take(3) {
        owner.delete_role(g, *r).unwrap();
    }
    for u in world.fixture.member_ids.iter().take(10) {
        owner.kick(g, *u).unwrap();
    }
    for u in world.fixture.member_ids.iter().skip(10).take(10) {
        owner
            .update_member(g, *u, json!({ "nick": "renamed while down" }))
            .unwrap();
    }
    owner
        .create_role(g, json!({ "name": "Created while down" }))
        .unwrap();
    owner
        .create_channel(g, json!({ "name": "created-while-down", "type": 0 }))
        .unwrap();
    owner
        .update_guild(g, json!({ "name": "Renamed Guild" }))
        .unwrap();
    let newcomer = world.emu.create_user("newcomer");
    world.emu.add_member(g, newcomer).unwrap();

    world.start_bot().await;
    assert_mirror_matches(&world, PATIENCE, "after the restart").await;
    let row_after: uuid::Uuid = sqlx::query_scalar(
        "SELECT id FROM recovery.guild_roles WHERE discord_role_id = $1 AND valid_to IS NULL",
    )
    .bind(untouched_role as i64)
    .fetch_one(&world.db.pool)
    .await
    .unwrap();
    assert_eq!(
        row_before, row_after,
        "an unchanged role keeps its row: a reconcile, not a wipe"
    );
    let kicked_tombstones: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM member.members WHERE ended_by = 'delete' AND discord_user_id = ANY($1)",
    )
    .bind(world.fixture.member_ids.iter().take(10).map(|u| *u as i64).collect::<Vec<_>>())
    .fetch_one(&world.db.pool)
    .await
    .unwrap();
    assert_eq!(kicked_tombstones, 10);
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unchanged_reload_writes_no_new_versions() {
    let mut world = TestWorld::builder().fixture(issue_fixture()).start().await;
    wait_live(&world).await;
    let before = row_counts(&world).await;
    world.restart_bot().await;
    assert_mirror_matches(&world, PATIENCE, "after a restart without changes").await;
    let after = row_counts(&world).await;
    assert_eq!(
        before, after,
        "unchanged rows are skipped: (all versions, current) before and after"
    );
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn as_of_a_time_rebuilds_the_state_before_a_burst_of_deletions() {
    let world = TestWorld::builder().fixture(issue_fixture()).start().await;
    wait_live(&world).await;
    let before = emulator_view(&world);
    let t = db_now(&world).await;
    tokio::time::sleep(Duration::from_millis(20)).await;

    let g = world.guild_id();
    let owner = world.emu.as_user(world.owner_id());
    for c in world.fixture.channel_ids.iter().skip(1).take(10) {
        owner.delete_channel(*c).unwrap();
    }
    for c in world.fixture.category_ids.iter().take(2) {
        owner.delete_channel(*c).unwrap();
    }
    for r in world.fixture.role_ids.iter().take(5) {
        owner.delete_role(g, *r).unwrap();
    }
    for u in world.fixture.member_ids.iter().take(20) {
        owner.kick(g, *u).unwrap();
    }
    assert_mirror_matches(&world, PATIENCE, "after the deletions").await;

    let now = database_view(&world, None).await.expect("current state");
    assert!(
        !diff(&before, &now, &options()).is_empty(),
        "the deletions changed the guild"
    );
    let then = database_view(&world, Some(t))
        .await
        .expect("the state as of T");
    let differences = diff(&before, &then, &options());
    assert!(
        differences.is_empty(),
        "as of T: {}",
        differences
            .iter()
            .take(20)
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_with_tabs_backslashes_and_newlines_survive_a_first_load() {
    let mut world = TestWorld::builder()
        .fixture(issue_fixture())
        .without_bot()
        .start()
        .await;
    let g = world.guild_id();
    let odd = [
        "tab\there",
        "back\\slash",
        "new\nline",
        "\\N",
        "quote\"s 'and' ünïcödé 🎉",
    ];
    let mut users = Vec::new();
    for (i, name) in odd.iter().enumerate() {
        let user = world.emu.create_user(name);
        world.emu.add_member(g, user).unwrap();
        world
            .emu
            .as_user(world.owner_id())
            .update_member(g, user, json!({ "nick": format!("{name} {i}") }))
            .unwrap();
        users.push((user, *name));
    }
    world.start_bot().await;
    wait_live(&world).await;
    for (user, name) in users {
        let (username, nick): (String, Option<String>) = sqlx::query_as(
            "SELECT username, nick FROM member.members WHERE discord_user_id = $1 AND valid_to IS NULL",
        )
        .bind(user as i64)
        .fetch_one(&world.db.pool)
        .await
        .unwrap();
        assert_eq!(username, name);
        assert!(nick.is_some_and(|n| n.starts_with(name)));
    }
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_guild_joined_mid_session_asks_for_its_members_once_from_the_event_path_even_when_they_all_arrive_first()
 {
    let world = TestWorld::start().await;
    // The session's READY is long handled: the shard's event-path hook is in place.
    wait_live(&world).await;
    let emu = &world.emu;
    let owner = emu.create_user("late owner");
    let guild = emu.create_guild(owner, "Joined mid-session");
    for i in 0..600 {
        let user = emu.create_user(&format!("late member {i}"));
        emu.add_member(guild, user).unwrap();
    }
    // The GUILD_CREATE handler records the guild before anything else: held up here (guild
    // rows cannot be written for a while), so the member chunks all come in before it runs.
    let mut hold = world.db.pool.begin().await.unwrap();
    sqlx::raw_sql("LOCK TABLE guild.guilds IN SHARE MODE")
        .execute(&mut *hold)
        .await
        .unwrap();
    emu.add_bot(
        guild,
        world.fixture.app.application_id,
        discord_emulator::permissions::ADMINISTRATOR,
        owner,
    )
    .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        world.data().sync.last_load(guild).is_none(),
        "nothing is written before the guild is recorded"
    );
    hold.commit().await.unwrap();
    world
        .eventually("the joined guild is loaded", || async {
            world.data().sync.last_load(guild).is_some()
        })
        .await;
    let report = world.data().sync.last_load(guild).unwrap();
    assert!(
        report.early_request,
        "the member request left from the shard's event path, not from the GUILD_CREATE handler"
    );
    let expected = emu.guild_view(guild).unwrap().members.len();
    assert!(expected > 600, "a large guild: {expected} members");
    assert_eq!(report.members, expected);
    let chunks = emu
        .dispatch_log()
        .iter()
        .filter(|d| d.event == "GUILD_MEMBERS_CHUNK" && d.guild_id == Some(guild))
        .count();
    assert_eq!(chunks, 1, "one request, answered by one chunk");
    let stored = count(
        &world,
        format!(
            "SELECT count(*) FROM member.members m JOIN guild.guilds g ON g.id = m.guild_id \
             WHERE g.discord_guild_id = {guild} AND m.valid_to IS NULL"
        ),
    )
    .await;
    assert_eq!(stored, i64::try_from(expected).unwrap());
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_queued_for_a_guild_create_handler_that_failed_are_written_after_the_load_timeout()
{
    let world = TestWorld::builder()
        .fixture(issue_fixture())
        .configure(|c| c.recovery.member_load_timeout_seconds = 1)
        .start()
        .await;
    wait_live(&world).await;
    let (guild, owner, bot) = (
        world.guild_id(),
        world.owner_id(),
        world.fixture.app.bot_user_id,
    );
    world.emu.as_user(owner).kick(guild, bot).unwrap();
    world
        .eventually("the guild is marked removed", || async {
            count(
                &world,
                format!(
                    "SELECT count(*) FROM guild.guilds WHERE discord_guild_id = {guild} AND status = 'removed'"
                ),
            )
            .await
                == 1
        })
        .await;
    // Made while the bot is out: only the member chunks of its return can tell.
    let member = world.fixture.member_ids[0];
    world
        .emu
        .as_user(owner)
        .update_member(guild, member, json!({ "nick": "renamed while away" }))
        .unwrap();
    // The GUILD_CREATE handler fails (it cannot record the guild), after the member chunks
    // were requested from the event path.
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE FUNCTION umbra_empty.refuse() RETURNS trigger LANGUAGE plpgsql AS \
           $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$; \
         CREATE TRIGGER refuse BEFORE UPDATE ON guild.guilds FOR EACH ROW \
           WHEN (OLD.discord_guild_id = {guild}) EXECUTE FUNCTION umbra_empty.refuse();"
    )))
    .execute(&world.db.pool)
    .await
    .unwrap();
    world
        .emu
        .add_bot(
            guild,
            world.fixture.app.application_id,
            discord_emulator::permissions::ADMINISTRATOR,
            owner,
        )
        .unwrap();
    world
        .eventually("the change reaches the mirror", || async {
            count(
                &world,
                format!(
                    "SELECT count(*) FROM member.members WHERE discord_user_id = {member} \
                     AND valid_to IS NULL AND nick = 'renamed while away'"
                ),
            )
            .await
                == 1
        })
        .await;
    sqlx::raw_sql("DROP TRIGGER refuse ON guild.guilds")
        .execute(&world.db.pool)
        .await
        .unwrap();
    world.finish().await;
}
