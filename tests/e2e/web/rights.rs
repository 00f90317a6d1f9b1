//! Purpose: every page's rights over HTTP, as an attacker would try them — a non-owner
//! administrator sees nothing and changes nothing; a trusted member opens the guild; another
//! guild's ids (guild, snapshot, job, incident) and malformed ones answer 404 and change
//! nothing; a cross-site or token-less POST is refused; the operator page is the operators'.

use serde_json::json;
use umbra::guild::TrustTarget;
use umbra::guild::service::SettingsChange;

use super::builder;
use crate::recovery::wait_live;
use crate::support::web::login;
use discord_emulator::FixtureSpec;

const GUILD_PAGES: [&str; 9] = [
    "",
    "/snapshots",
    "/timemachine",
    "/restores",
    "/incidents",
    "/antinuke",
    "/notifications",
    "/audit",
    "/plan",
];

async fn snapshots(world: &crate::support::world::TestWorld) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM recovery.snapshots")
        .fetch_one(&world.db.pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_owner_admin_sees_no_guild_and_every_page_and_form_answers_404() {
    let world = builder().start().await;
    wait_live(&world).await;
    let g = world.guild_id();
    let admin = login(&world, world.fixture.rogue_admin_id).await;
    let list = admin.get("/guilds").await;
    assert_eq!(list.status, 200);
    assert!(list.body.contains("No server to show"), "{}", list.body);
    for page in GUILD_PAGES {
        let answer = admin.get(&format!("/guilds/{g}{page}")).await;
        assert_eq!(answer.status, 404, "{page}: {}", answer.body);
        assert!(answer.body.contains("not yours to see"), "{page}");
    }
    let csrf = list.csrf();
    let create = admin
        .post(
            &format!("/guilds/{g}/snapshots"),
            &[("csrf", &csrf), ("label", "x")],
        )
        .await;
    assert_eq!(create.status, 404);
    let off = admin
        .post(
            &format!("/guilds/{g}/antinuke"),
            &[("csrf", &csrf), ("punishment", "strip_roles")],
        )
        .await;
    assert_eq!(off.status, 404);
    assert_eq!(snapshots(&world).await, 0, "nothing was created");
    let pending: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM guild.guild_configs WHERE pending_changes <> '[]'::jsonb",
    )
    .fetch_one(&world.db.pool)
    .await
    .unwrap();
    assert_eq!(pending, 0, "no change was even requested");
    assert_eq!(admin.get("/operator").await.status, 404);

    // Trusted by the owner, the same member opens every page.
    world
        .data()
        .guilds
        .change_settings(
            g,
            world.owner_id(),
            SettingsChange::Trust(TrustTarget::User(world.fixture.rogue_admin_id)),
        )
        .await
        .expect("trusting the admin");
    for page in GUILD_PAGES {
        let answer = admin.get(&format!("/guilds/{g}{page}")).await;
        assert_eq!(answer.status, 200, "{page}: {}", answer.body);
    }
    let list = admin.get("/guilds").await;
    assert!(list.body.contains("trusted"), "{}", list.body);
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_guilds_ids_and_malformed_ids_answer_404_and_change_nothing() {
    let world = builder().start().await;
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
    let theirs = data
        .snapshots
        .create_manual(other.guild_id, Some("theirs".into()), other.owner_id)
        .await
        .expect("their snapshot")
        .meta
        .id;
    let their_job = data
        .restores
        .preview(
            other.guild_id,
            &theirs.to_string(),
            umbra::recovery::restore::Mode::Merge,
            umbra::recovery::restore::Components::all(),
            other.owner_id,
            world.fixture.app.bot_user_id,
        )
        .await
        .expect("their preview")
        .job_id;
    let g = world.guild_id();
    let owner = login(&world, world.owner_id()).await;
    assert_eq!(owner.get(&format!("/guilds/{g}")).await.status, 200);
    let csrf = owner.get(&format!("/guilds/{g}")).await.csrf();
    for path in [
        format!("/guilds/{}", other.guild_id),
        format!("/guilds/{}/snapshots", other.guild_id),
        format!("/guilds/{g}/snapshots/{theirs}/export"),
        format!("/guilds/{g}/timemachine?snapshot={theirs}"),
        format!("/guilds/{g}/restores/{their_job}"),
        format!("/guilds/{g}/restores/{their_job}/events"),
        "/guilds/not-a-number".to_owned(),
        format!("/guilds/{g}/restores/not-a-uuid"),
        format!("/guilds/{g}/snapshots/not-a-uuid/export"),
    ] {
        let answer = owner.get(&path).await;
        assert_eq!(answer.status, 404, "{path}: {}", answer.body);
    }
    for (path, form) in [
        (format!("/guilds/{g}/snapshots/{theirs}/delete"), vec![]),
        (format!("/guilds/{g}/snapshots/{theirs}/pin"), vec![]),
        (format!("/guilds/{g}/restores/{their_job}/confirm"), vec![]),
        (format!("/guilds/{g}/restores/{their_job}/discard"), vec![]),
        (
            format!("/guilds/{g}/incidents/{}/restore", uuid::Uuid::now_v7()),
            vec![],
        ),
        (
            format!("/guilds/{g}/timemachine/restore"),
            vec![("snapshot", theirs.to_string())],
        ),
        (
            format!("/guilds/{}/snapshots", other.guild_id),
            vec![("label", "mine now".to_owned())],
        ),
    ] {
        let mut fields: Vec<(&str, &str)> = vec![("csrf", &csrf)];
        fields.extend(form.iter().map(|(k, v)| (*k, v.as_str())));
        let answer = owner.post(&path, &fields).await;
        assert_eq!(answer.status, 404, "{path}: {}", answer.body);
    }
    let (count, pinned): (i64, bool) =
        sqlx::query_as("SELECT count(*), bool_or(pinned) FROM recovery.snapshots")
            .fetch_one(&world.db.pool)
            .await
            .unwrap();
    assert_eq!(
        (count, pinned),
        (1, false),
        "their snapshot untouched, none added"
    );
    let (status,): (String,) =
        sqlx::query_as("SELECT status FROM recovery.restore_jobs WHERE id = $1")
            .bind(their_job)
            .fetch_one(&world.db.pool)
            .await
            .unwrap();
    assert_eq!(status, "previewed", "their preview untouched");
    let jobs: i64 = sqlx::query_scalar("SELECT count(*) FROM recovery.restore_jobs")
        .fetch_one(&world.db.pool)
        .await
        .unwrap();
    assert_eq!(jobs, 1);
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cross_site_or_token_less_post_is_refused_and_a_genuine_one_works() {
    let world = builder().start().await;
    wait_live(&world).await;
    let g = world.guild_id();
    let owner = login(&world, world.owner_id()).await;
    let page = owner.get(&format!("/guilds/{g}/snapshots")).await;
    let csrf = page.csrf();
    let path = format!("/guilds/{g}/snapshots");
    let cross = owner
        .post_with(
            &path,
            &[("csrf", &csrf), ("label", "cross")],
            &[("Sec-Fetch-Site", "cross-site")],
        )
        .await;
    assert_eq!(cross.status, 403);
    assert!(
        cross.body.contains("did not come from Umbra"),
        "{}",
        cross.body
    );
    let evil = owner
        .post_with(
            &path,
            &[("csrf", &csrf), ("label", "evil")],
            &[("Origin", "http://evil.example")],
        )
        .await;
    assert_eq!(evil.status, 403);
    let no_token = owner.post(&path, &[("label", "no token")]).await;
    assert_eq!(no_token.status, 403);
    let other_token = owner
        .post(
            &path,
            &[
                ("csrf", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
                ("label", "x"),
            ],
        )
        .await;
    assert_eq!(other_token.status, 403);
    assert_eq!(snapshots(&world).await, 0, "nothing was created");

    let genuine = owner
        .post(&path, &[("csrf", &csrf), ("label", "genuine")])
        .await;
    assert_eq!(genuine.status, 303, "{}", genuine.body);
    assert_eq!(snapshots(&world).await, 1);
    let list = owner.get(&path).await;
    assert!(list.body.contains("genuine"), "{}", list.body);
    let _ = json!({});
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_page_is_for_operators_and_grants_licenses() {
    let world = builder().start().await;
    let g = world.guild_id();
    // The guild's owner is also the application's owner (an operator): try a mere member.
    let member = login(&world, world.fixture.trusted_user_id).await;
    assert_eq!(member.get("/operator").await.status, 404);
    let page = member.get("/guilds").await;
    let refused = member
        .post(
            "/operator",
            &[
                ("csrf", &page.csrf()),
                ("action", "grant"),
                ("guild", &g.to_string()),
                ("plan", "max"),
            ],
        )
        .await;
    assert_eq!(refused.status, 404);

    let operator = login(&world, world.operator_id).await;
    let page = operator.get("/operator").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("outbox"), "queue depths: {}", page.body);
    let granted = operator
        .post(
            "/operator",
            &[
                ("csrf", &page.csrf()),
                ("action", "grant"),
                ("guild", &g.to_string()),
                ("plan", "max"),
                ("days", "30"),
            ],
        )
        .await;
    assert_eq!(granted.status, 303, "{}", granted.body);
    let plan: String = sqlx::query_scalar(
        "SELECT p.code FROM licensing.licenses AS l JOIN licensing.plans AS p ON p.id = l.plan_id \
          WHERE l.status = 'active'",
    )
    .fetch_one(&world.db.pool)
    .await
    .unwrap();
    assert_eq!(plan, "max");
    let owner = login(&world, world.owner_id()).await;
    let owner_plan = owner.get(&format!("/guilds/{g}/plan")).await;
    assert!(owner_plan.body.contains("until"), "{}", owner_plan.body);
    world.finish().await;
}
