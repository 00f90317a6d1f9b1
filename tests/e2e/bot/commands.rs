//! Purpose: commands as people use them — localized replies, owner/trusted/operator checks that
//! refuse and change nothing, license grants visible in /umbra status, buttons in a guild and
//! in a DM, a modal confirmation, autocomplete, and errors that explain themselves.

use serde_json::json;

use crate::support::world::TestWorld;

async fn config_version(world: &TestWorld) -> (i32, Option<String>) {
    sqlx::query_as(
        "SELECT c.version, c.locale FROM guild.guild_configs c JOIN guild.guilds g ON g.id = c.guild_id \
          WHERE g.discord_guild_id = $1",
    )
    .bind(world.guild_id() as i64)
    .fetch_one(&world.db.pool)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_answers_in_korean_for_a_korean_user_and_in_english_otherwise() {
    let world = TestWorld::start().await;
    let owner = world.owner_id();
    let korean = world
        .command_with(
            owner,
            Some(world.guild_id()),
            "umbra status",
            json!({}),
            "ko",
        )
        .await;
    assert!(korean.text.contains("요금제: **Free**"), "{}", korean.text);
    assert!(korean.text.contains("설정되지 않음"), "{}", korean.text);
    assert!(korean.ephemeral);
    let english = world.command(owner, "umbra status", json!({})).await;
    assert!(english.text.contains("Plan: **Free**"), "{}", english.text);
    assert!(
        english.text.contains("AntiNuke: not set up"),
        "{}",
        english.text
    );
    let french = world
        .command_with(
            owner,
            Some(world.guild_id()),
            "umbra status",
            json!({}),
            "fr",
        )
        .await;
    assert!(
        french.text.contains("Plan: **Free**"),
        "an unsupported locale falls back to English: {}",
        french.text
    );
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guild_locale_applies_when_the_user_locale_is_not_supported() {
    let world = TestWorld::start().await;
    let owner = world.owner_id();
    let set = world
        .command(owner, "umbra settings locale", json!({ "language": 2 }))
        .await;
    assert!(set.text.contains("ko"), "{}", set.text);
    let reply = world
        .command_with(
            owner,
            Some(world.guild_id()),
            "umbra status",
            json!({}),
            "de",
        )
        .await;
    assert!(
        reply.text.contains("요금제"),
        "the guild's Korean applies: {}",
        reply.text
    );
    let english_user = world.command(owner, "umbra status", json!({})).await;
    assert!(
        english_user.text.contains("Plan:"),
        "a supported user locale wins: {}",
        english_user.text
    );
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_owner_administrator_is_refused_settings_in_their_language_and_nothing_changes() {
    let world = TestWorld::start().await;
    let before = config_version(&world).await;
    let admin = world.fixture.rogue_admin_id;
    let refused = world
        .command_with(
            admin,
            Some(world.guild_id()),
            "umbra settings locale",
            json!({ "language": 1 }),
            "ko",
        )
        .await;
    assert!(refused.text.contains("서버 소유자만"), "{}", refused.text);
    assert!(refused.ephemeral);
    let refused_en = world
        .command(
            admin,
            "umbra settings trust",
            json!({ "user": admin.to_string() }),
        )
        .await;
    assert!(
        refused_en.text.contains("Only the server owner"),
        "{}",
        refused_en.text
    );
    assert_eq!(config_version(&world).await, before, "nothing changed");
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_trusts_and_untrusts_users_and_roles() {
    let world = TestWorld::start().await;
    let owner = world.owner_id();
    let user = world.fixture.trusted_user_id;
    let role = world.fixture.moderator_role_id;
    let added = world
        .command(
            owner,
            "umbra settings trust",
            json!({ "user": user.to_string() }),
        )
        .await;
    assert!(
        added.text.contains(&format!("<@{user}> is now trusted")),
        "{}",
        added.text
    );
    let again = world
        .command(
            owner,
            "umbra settings trust",
            json!({ "user": user.to_string() }),
        )
        .await;
    assert!(again.text.contains("already trusted"), "{}", again.text);
    let role_added = world
        .command(
            owner,
            "umbra settings trust",
            json!({ "role": role.to_string() }),
        )
        .await;
    assert!(
        role_added.text.contains(&format!("<@&{role}>")),
        "{}",
        role_added.text
    );
    let neither = world
        .command(owner, "umbra settings trust", json!({}))
        .await;
    assert!(neither.text.contains("exactly one"), "{}", neither.text);
    let shown = world.command(owner, "umbra settings show", json!({})).await;
    assert!(
        shown.text.contains(&format!("<@{user}>")) && shown.text.contains(&format!("<@&{role}>")),
        "{}",
        shown.text
    );
    let removed = world
        .command(
            owner,
            "umbra settings untrust",
            json!({ "user": user.to_string() }),
        )
        .await;
    assert!(
        removed.text.contains("no longer trusted"),
        "{}",
        removed.text
    );
    let (ids, roles): (Vec<i64>, Vec<i64>) = sqlx::query_as(
        "SELECT c.trusted_user_ids, c.trusted_role_ids FROM guild.guild_configs c \
           JOIN guild.guilds g ON g.id = c.guild_id WHERE g.discord_guild_id = $1",
    )
    .bind(world.guild_id() as i64)
    .fetch_one(&world.db.pool)
    .await
    .unwrap();
    assert!(ids.is_empty());
    assert_eq!(roles, vec![role as i64]);
    world
        .eventually("each change is audited with its actor", || async {
            let n: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM audit.events WHERE event_type = 'guild.config_changed' AND actor_discord_id = $1",
            )
            .bind(owner as i64)
            .fetch_one(&world.db.pool)
            .await
            .unwrap();
            n == 3
        })
        .await;
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_grants_a_plan_and_status_shows_it_while_others_are_refused() {
    let world = TestWorld::start().await;
    let guild = world.guild_id().to_string();
    // The fixture's owner also owns the application (an operator); the trusted user is not.
    let refused = world
        .command(
            world.fixture.trusted_user_id,
            "admin license grant",
            json!({ "guild": guild, "plan": "pro", "days": 30 }),
        )
        .await;
    assert!(
        refused.text.contains("Only Umbra's operators"),
        "{}",
        refused.text
    );

    let unknown_plan = world
        .command_with(
            world.operator_id,
            None,
            "admin license grant",
            json!({ "guild": guild, "plan": "gold" }),
            "en-US",
        )
        .await;
    assert!(
        unknown_plan.text.contains("no plan called `gold`"),
        "{}",
        unknown_plan.text
    );
    let bad_guild = world
        .command_with(
            world.operator_id,
            None,
            "admin license grant",
            json!({ "guild": "not-an-id", "plan": "pro" }),
            "en-US",
        )
        .await;
    assert!(
        bad_guild.text.contains("not a Discord id"),
        "{}",
        bad_guild.text
    );
    let licenses: i64 = sqlx::query_scalar("SELECT count(*) FROM licensing.licenses")
        .fetch_one(&world.db.pool)
        .await
        .unwrap();
    assert_eq!(licenses, 0, "refusals and bad input change nothing");

    let granted = world
        .command_with(
            world.operator_id,
            None,
            "admin license grant",
            json!({ "guild": guild, "plan": "pro", "days": 30 }),
            "en-US",
        )
        .await;
    assert!(granted.text.contains("**Pro** plan"), "{}", granted.text);
    let status = world
        .command(world.owner_id(), "umbra status", json!({}))
        .await;
    assert!(
        status.text.contains("Plan: **Pro** (until"),
        "{}",
        status.text
    );
    let entitlements = world.data().licensing.clone();
    let e = umbra::licensing::LicensingReader::entitlements(&entitlements, world.guild_id())
        .await
        .unwrap();
    assert_eq!(e.plan.snapshot_retention, 20);

    let revoked = world
        .command_with(
            world.operator_id,
            None,
            "admin license revoke",
            json!({ "guild": guild }),
            "en-US",
        )
        .await;
    assert!(
        revoked.text.contains("back on the default plan"),
        "{}",
        revoked.text
    );
    let status = world
        .command(world.owner_id(), "umbra status", json!({}))
        .await;
    assert!(status.text.contains("Plan: **Free**"), "{}", status.text);
    world
        .eventually("grant and revoke are audited", || async {
            let n: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM audit.events WHERE event_type IN ('licensing.license_granted', 'licensing.license_revoked')",
            )
            .fetch_one(&world.db.pool)
            .await
            .unwrap();
            n == 2
        })
        .await;
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_autocomplete_lists_the_seeded_plans() {
    let world = TestWorld::start().await;
    let handle = world
        .emu
        .autocomplete(
            world.operator_id,
            None,
            None,
            "admin license grant",
            json!({ "guild": world.guild_id().to_string(), "plan": "" }),
            "plan",
        )
        .unwrap();
    let response = handle.response().await.unwrap();
    assert_eq!(response.kind, 8);
    let values: Vec<&str> = response.data["choices"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["value"].as_str())
        .collect();
    assert_eq!(values, ["free", "pro", "max"]);
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_topic_buttons_work_in_a_guild_and_in_a_dm() {
    let world = TestWorld::start().await;
    let user = world.fixture.trusted_user_id;
    for guild in [Some(world.guild_id()), None] {
        let help = world
            .command_with(user, guild, "umbra help", json!({}), "en-US")
            .await;
        let message = help.message.clone().unwrap();
        assert!(
            help.text.contains("keeps your server recoverable"),
            "{}",
            help.text
        );
        assert_eq!(message.buttons().len(), 4);
        let clicked = world.click(user, &message, "umbra:help:settings").await;
        assert_eq!(clicked.response.kind, 7, "the message is updated in place");
        let updated = world.emu.message(message.id).unwrap();
        assert!(
            updated.text().contains("/umbra settings log-channel"),
            "{}",
            updated.text()
        );
        let disabled: Vec<_> = updated
            .buttons()
            .into_iter()
            .filter(|b| b.disabled)
            .collect();
        assert_eq!(disabled.len(), 1);
        assert_eq!(
            disabled[0].custom_id.as_deref(),
            Some("umbra:help:settings")
        );
    }
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settings_reset_needs_the_server_name_typed_in_a_modal() {
    let world = TestWorld::start().await;
    let owner = world.owner_id();
    world
        .command(owner, "umbra settings locale", json!({ "language": 2 }))
        .await;
    let opened = world
        .command(owner, "umbra settings reset", json!({}))
        .await;
    assert_eq!(opened.response.kind, 9, "a modal");
    let wrong = world
        .submit_modal(owner, &opened, &[("guild_name", "not the name")])
        .await;
    assert!(wrong.text.contains("did not match"), "{}", wrong.text);
    assert_eq!(
        config_version(&world).await.1.as_deref(),
        Some("ko"),
        "nothing changed"
    );

    let opened = world
        .command(owner, "umbra settings reset", json!({}))
        .await;
    let name = world
        .emu
        .guild_view(world.guild_id())
        .unwrap()
        .settings
        .name
        .clone();
    let done = world
        .submit_modal(owner, &opened, &[("guild_name", &name)])
        .await;
    assert!(
        done.text.contains("back to their defaults"),
        "{}",
        done.text
    );
    assert_eq!(config_version(&world).await.1, None);
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guild_only_commands_refuse_in_a_dm_with_a_clear_message() {
    let world = TestWorld::start().await;
    let reply = world
        .command_with(world.owner_id(), None, "umbra status", json!({}), "ko")
        .await;
    assert!(reply.text.contains("서버 안에서만"), "{}", reply.text);
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_in_a_server_umbra_is_still_recording_says_so_instead_of_failing() {
    let world = TestWorld::start().await;
    crate::recovery::wait_live(&world).await;
    let emu = &world.emu;
    let owner = emu.create_user("new owner");
    let guild = emu.create_guild(owner, "Just added");
    // The GUILD_CREATE handler cannot record the server for a while.
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
    let reply = world
        .command_with(owner, Some(guild), "umbra status", json!({}), "en-US")
        .await;
    assert!(
        reply.text.contains("still setting up this server"),
        "{}",
        reply.text
    );
    assert!(!reply.text.contains("went wrong"), "{}", reply.text);
    hold.commit().await.unwrap();
    world
        .eventually("the server is recorded", || async {
            world.data().sync.last_load(guild).is_some()
        })
        .await;
    let reply = world
        .command_with(owner, Some(guild), "umbra status", json!({}), "en-US")
        .await;
    assert!(reply.text.contains("Just added"), "{}", reply.text);
    world.finish().await;
}
