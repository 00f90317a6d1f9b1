//! Purpose: the bot keeps working across gateway trouble — an op 7 reconnect with RESUME and
//! replay of what happened meanwhile, an invalid session, a storm of 429s — and a fatal close
//! ends Umbra with a message that says what to fix.

use std::time::Duration;

use discord_emulator::{EmulatorConfig, RateLimitConfig};
use serde_json::json;
use umbra::config::Secret;

use crate::support::world::TestWorld;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_resumes_after_an_op7_reconnect_and_gets_what_happened_meanwhile() {
    let world = TestWorld::start().await;
    let app = world.fixture.app.application_id;
    assert_eq!(world.emu.send_reconnect(app), 1);
    // While the bot reconnects, the server changes hands; RESUME replays the GUILD_UPDATE.
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
        .eventually("the bot reconnected and recorded the new owner", || async {
            let owner: i64 = sqlx::query_scalar(
                "SELECT u.discord_user_id FROM guild.guilds g JOIN identity.users u ON u.id = g.owner_user_id \
                  WHERE g.discord_guild_id = $1",
            )
            .bind(world.guild_id() as i64)
            .fetch_one(&world.db.pool)
            .await
            .unwrap();
            owner as u64 == new_owner && world.emu.connected_sessions(app) == 1
        })
        .await;
    let resumed = world.emu.request_log().len();
    let reply = world.command(new_owner, "umbra status", json!({})).await;
    assert!(reply.text.contains("Plan:"), "{}", reply.text);
    assert!(resumed > 0);
    let identifies = world
        .emu
        .dispatch_log()
        .iter()
        .filter(|d| d.event == "READY")
        .count();
    assert_eq!(
        identifies, 1,
        "the session was resumed, not identified again"
    );
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_identifies_again_after_an_invalid_session_and_keeps_answering() {
    let world = TestWorld::start().await;
    let app = world.fixture.app.application_id;
    world.emu.send_invalid_session(app, false);
    world
        .eventually("a second READY", || async {
            world
                .emu
                .dispatch_log()
                .iter()
                .filter(|d| d.event == "READY")
                .count()
                == 2
                && world.emu.connected_sessions(app) == 1
        })
        .await;
    let reply = world
        .command(world.owner_id(), "umbra status", json!({}))
        .await;
    assert!(reply.text.contains("Plan:"), "{}", reply.text);
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_of_429s_slows_the_bot_down_but_does_not_break_it() {
    let mut limits = RateLimitConfig::discord();
    limits.global_per_second = Some(2);
    let emulator = EmulatorConfig {
        rate_limits: limits,
        record_responses: true,
        ..EmulatorConfig::default()
    };
    let world = TestWorld::builder().emulator(emulator).start().await;
    let counters = world.emu.counters();
    assert!(
        counters.total.rate_limited > 0,
        "start-up hit the global limit (got {:?})",
        counters.by_bucket
    );
    // Everything still works: interaction callbacks are exempt, and the retried calls landed.
    let reply = world
        .command(world.owner_id(), "umbra status", json!({}))
        .await;
    assert!(reply.text.contains("Plan:"), "{}", reply.text);
    let app = world.fixture.app.application_id;
    assert!(
        world
            .emu
            .with_world(|w| !w.apps[&app].global_commands.is_empty())
    );
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_token_stops_umbra_with_a_message_that_says_what_to_fix() {
    let mut world = TestWorld::builder().without_bot().start().await;
    world.secrets.discord_token = Some(Secret::new("not-the-token".into()));
    let result = umbra::app::start(&world.config, &world.secrets).await;
    let message = match result {
        Err(e) => format!("{e:#}"),
        Ok(running) => {
            let outcome = tokio::time::timeout(
                Duration::from_secs(30),
                running.run_until(std::future::pending::<()>()),
            )
            .await
            .expect("Umbra stops on its own");
            format!("{:#}", outcome.expect_err("a fatal gateway error"))
        }
    };
    assert!(message.contains("DISCORD_TOKEN"), "{message}");
    assert!(message.contains("Reset Token"), "{message}");
    world.secrets.discord_token = None;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disallowed_members_intent_stops_umbra_and_says_where_to_enable_it() {
    let mut spec = discord_emulator::FixtureSpec::small();
    spec.app_options = discord_emulator::ApplicationOptions::default();
    let world = TestWorld::builder()
        .fixture(spec)
        .without_bot()
        .start()
        .await;
    let running = umbra::app::start(&world.config, &world.secrets)
        .await
        .expect("starts");
    let outcome = tokio::time::timeout(
        Duration::from_secs(30),
        running.run_until(std::future::pending::<()>()),
    )
    .await
    .expect("Umbra stops on its own");
    let message = format!("{:#}", outcome.expect_err("a fatal gateway close"));
    assert!(message.contains("4014"), "{message}");
    assert!(message.contains("Server Members Intent"), "{message}");
}
