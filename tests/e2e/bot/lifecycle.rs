//! Purpose: the guild lifecycle as recorded from the gateway — install (guild, owner, default
//! config, audit event), owner transfer, and removal.

use serde_json::json;

use crate::support::world::TestWorld;

async fn audit_count(world: &TestWorld, event_type: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM audit.events WHERE event_type = $1 AND guild_discord_id = $2",
    )
    .bind(event_type)
    .bind(world.guild_id() as i64)
    .fetch_one(&world.db.pool)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_connects_registers_its_commands_and_records_the_guild_with_its_owner() {
    let world = TestWorld::start().await;

    let (owner, status): (i64, String) = sqlx::query_as(
        "SELECT u.discord_user_id, g.status FROM guild.guilds g \
           JOIN identity.users u ON u.id = g.owner_user_id WHERE g.discord_guild_id = $1",
    )
    .bind(world.guild_id() as i64)
    .fetch_one(&world.db.pool)
    .await
    .unwrap();
    assert_eq!(owner as u64, world.owner_id());
    assert_eq!(status, "active");
    let configs: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM guild.guild_configs c JOIN guild.guilds g ON g.id = c.guild_id \
          WHERE g.discord_guild_id = $1",
    )
    .bind(world.guild_id() as i64)
    .fetch_one(&world.db.pool)
    .await
    .unwrap();
    assert_eq!(configs, 1, "a default config");

    world
        .eventually("guild.installed reaches audit", || async {
            audit_count(&world, "guild.installed").await == 1
        })
        .await;

    let app = world.fixture.app.application_id;
    let commands = world
        .emu
        .with_world(|w| w.apps[&app].global_commands.clone());
    let names: Vec<&str> = commands.iter().filter_map(|c| c["name"].as_str()).collect();
    assert!(
        names.contains(&"umbra") && names.contains(&"admin"),
        "{names:?}"
    );
    let umbra = commands.iter().find(|c| c["name"] == "umbra").unwrap();
    assert!(
        umbra["name_localizations"]["ko"].is_string(),
        "localized: {umbra}"
    );
    assert!(
        umbra["description_localizations"]["ko"]
            .as_str()
            .unwrap()
            .contains("상태")
    );
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_does_not_record_the_guild_twice_or_publish_a_second_install() {
    let mut world = TestWorld::start().await;
    world
        .eventually("the install event is audited", || async {
            audit_count(&world, "guild.installed").await == 1
        })
        .await;
    world.restart_bot().await;
    let guilds: i64 = sqlx::query_scalar("SELECT count(*) FROM guild.guilds")
        .fetch_one(&world.db.pool)
        .await
        .unwrap();
    assert_eq!(guilds, 1);
    // Give the relay time to publish anything a second GUILD_CREATE would have produced.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let events: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events.outbox WHERE event_type = 'guild.installed'",
    )
    .fetch_one(&world.db.pool)
    .await
    .unwrap();
    assert_eq!(events, 1);
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ownership_transfer_updates_the_owner_and_is_audited() {
    let world = TestWorld::start().await;
    let new_owner = world.fixture.trusted_user_id;
    world
        .emu
        .as_user(world.owner_id())
        .update_guild(
            world.guild_id(),
            json!({ "owner_id": new_owner.to_string() }),
        )
        .unwrap();
    world
        .eventually("the new owner is recorded", || async {
            let owner: i64 = sqlx::query_scalar(
                "SELECT u.discord_user_id FROM guild.guilds g JOIN identity.users u ON u.id = g.owner_user_id \
                  WHERE g.discord_guild_id = $1",
            )
            .bind(world.guild_id() as i64)
            .fetch_one(&world.db.pool)
            .await
            .unwrap();
            owner as u64 == new_owner
        })
        .await;
    world
        .eventually("guild.owner_changed reaches audit", || async {
            audit_count(&world, "guild.owner_changed").await == 1
        })
        .await;
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_the_bot_marks_the_guild_removed_and_keeps_its_data() {
    let world = TestWorld::start().await;
    world
        .emu
        .as_user(world.owner_id())
        .kick(world.guild_id(), world.fixture.app.bot_user_id)
        .unwrap();
    world
        .eventually("the guild is marked removed", || async {
            let status: String =
                sqlx::query_scalar("SELECT status FROM guild.guilds WHERE discord_guild_id = $1")
                    .bind(world.guild_id() as i64)
                    .fetch_one(&world.db.pool)
                    .await
                    .unwrap();
            status == "removed"
        })
        .await;
    let purge_after_days: f64 = sqlx::query_scalar(
        "SELECT (extract(epoch FROM purge_after - removed_at) / 86400)::float8 FROM guild.guilds WHERE discord_guild_id = $1",
    )
    .bind(world.guild_id() as i64)
    .fetch_one(&world.db.pool)
    .await
    .unwrap();
    assert!(
        (purge_after_days - 30.0).abs() < 0.01,
        "the grace period is 30 days: {purge_after_days}"
    );
    world
        .eventually("guild.removed reaches audit", || async {
            audit_count(&world, "guild.removed").await == 1
        })
        .await;
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_guild_with_billing_history_is_kept_and_looked_at_again_later() {
    let world = TestWorld::start().await;
    let g = world.guild_id() as i64;
    // A cancelled subscription of the guild: billing history, which must outlive the guild.
    sqlx::query(
        "INSERT INTO billing.subscriptions (id, user_id, guild_id, plan_id, status, price_krw, \
           current_period_start, current_period_end) \
         SELECT $1, g.owner_user_id, g.id, p.id, 'cancelled', p.price_krw, now(), now() + interval '30 days' \
           FROM guild.guilds g, licensing.plans p WHERE g.discord_guild_id = $2 AND p.code = 'pro'",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(g)
    .execute(&world.db.pool)
    .await
    .unwrap();
    world
        .emu
        .as_user(world.owner_id())
        .kick(world.guild_id(), world.fixture.app.bot_user_id)
        .unwrap();
    world
        .eventually("the guild is marked removed", || async {
            sqlx::query_scalar::<_, String>(
                "SELECT status FROM guild.guilds WHERE discord_guild_id = $1",
            )
            .bind(g)
            .fetch_one(&world.db.pool)
            .await
            .unwrap()
                == "removed"
        })
        .await;
    sqlx::query("UPDATE guild.guilds SET purge_after = now() - interval '1 second' WHERE discord_guild_id = $1")
        .bind(g)
        .execute(&world.db.pool)
        .await
        .unwrap();
    assert_eq!(world.data().guilds.purge_due().await.unwrap(), 0);
    let days: f64 = sqlx::query_scalar(
        "SELECT (extract(epoch FROM purge_after - now()) / 86400)::float8 FROM guild.guilds \
          WHERE discord_guild_id = $1",
    )
    .bind(g)
    .fetch_one(&world.db.pool)
    .await
    .unwrap();
    assert!((days - 30.0).abs() < 0.01, "the purge is postponed: {days}");
    assert_eq!(
        world.data().guilds.purge_due().await.unwrap(),
        0,
        "not due again now"
    );
    assert_eq!(audit_count(&world, "guild.purged").await, 0);
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_guild_is_purged_after_its_grace_period_by_the_retention_job() {
    let world = TestWorld::start().await;
    world
        .emu
        .as_user(world.owner_id())
        .kick(world.guild_id(), world.fixture.app.bot_user_id)
        .unwrap();
    world
        .eventually("the guild is marked removed", || async {
            sqlx::query_scalar::<_, String>(
                "SELECT status FROM guild.guilds WHERE discord_guild_id = $1",
            )
            .bind(world.guild_id() as i64)
            .fetch_one(&world.db.pool)
            .await
            .unwrap()
                == "removed"
        })
        .await;
    // The grace period ends (as if 30 days had passed).
    sqlx::query("UPDATE guild.guilds SET purge_after = now() - interval '1 second' WHERE discord_guild_id = $1")
        .bind(world.guild_id() as i64)
        .execute(&world.db.pool)
        .await
        .unwrap();
    // The job skips rows other transactions hold (FOR UPDATE SKIP LOCKED) and retries on its
    // next round; run rounds until it got the row.
    let data = world.data().clone();
    world
        .eventually("the retention job purges the guild", || {
            let data = data.clone();
            async move { data.guilds.purge_due().await.unwrap() == 1 }
        })
        .await;
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM guild.guilds")
        .fetch_one(&world.db.pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
    world
        .eventually(
            "guild.purged reaches audit and the history is kept",
            || async {
                audit_count(&world, "guild.purged").await == 1
                    && audit_count(&world, "guild.installed").await == 1
            },
        )
        .await;
    world.finish().await;
}
