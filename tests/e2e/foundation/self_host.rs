//! Purpose: self-hosting without billing — every server without a license gets the top plan
//! (`licensing.default_plan` empty, `billing.provider = "none"`), a configured default plan
//! applies instead, and an unknown plan code refuses to start and names the key.

use serde_json::json;
use umbra::licensing::LicensingReader;

use crate::support::world::TestWorld;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_self_hosted_server_without_a_license_gets_the_top_plan() {
    let world = TestWorld::builder()
        .configure(|c| c.licensing.default_plan = String::new())
        .start()
        .await;
    let g = world.guild_id();
    let e = world.data().licensing.entitlements(g).await.unwrap();
    assert_eq!(e.plan.code, "max");
    assert!(e.license.is_none());
    assert!(e.plan.antinuke.custom_thresholds && e.plan.member_restore_limit.is_none());
    let shown = world
        .command(
            world.owner_id(),
            "admin license show",
            json!({ "guild": g.to_string() }),
        )
        .await;
    assert!(
        shown.text.contains("default plan applies"),
        "{}",
        shown.text
    );
    let status = world
        .command(world.owner_id(), "umbra status", json!({}))
        .await;
    assert!(status.text.contains("Max"), "{}", status.text);
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_default_plan_applies_and_an_unknown_one_refuses_to_start() {
    let world = TestWorld::builder()
        .configure(|c| c.licensing.default_plan = "pro".into())
        .start()
        .await;
    let e = world
        .data()
        .licensing
        .entitlements(world.guild_id())
        .await
        .unwrap();
    assert_eq!(e.plan.code, "pro");
    world.finish().await;

    let mut world = TestWorld::builder().without_bot().start().await;
    world.config.licensing.default_plan = "gold".into();
    let refused = umbra::app::start(&world.config, &world.secrets)
        .await
        .err()
        .expect("an unknown default plan refuses to start");
    let message = format!("{refused:#}");
    assert!(message.contains("licensing.default_plan"), "{message}");
    assert!(message.contains("gold"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_a_paid_plan_ends_its_extra_snapshots_are_kept_through_the_grace_then_expire() {
    let world = TestWorld::start().await;
    crate::recovery::wait_live(&world).await;
    let g = world.guild_id();
    let data = world.data();
    let max = umbra::licensing::PlanCode::parse("max").unwrap();
    data.licensing
        .grant(g, &max, None, world.operator_id)
        .await
        .unwrap();
    for i in 0..5 {
        data.snapshots
            .create_manual(g, Some(format!("s{i}")), world.owner_id())
            .await
            .unwrap();
    }
    let count = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM recovery.snapshots")
            .fetch_one(&world.db.pool)
            .await
            .unwrap()
    };
    assert_eq!(count().await, 5);
    // The plan ends: the free plan keeps 3, but not at once.
    data.licensing.revoke(g, world.operator_id).await.unwrap();
    data.snapshots.apply_retention(g).await.unwrap();
    assert_eq!(count().await, 5, "kept through the grace");
    let e = data.licensing.entitlements(g).await.unwrap();
    assert_eq!(e.plan.code, "free", "features drop at once");
    // The owner is told before anything is deleted: how many are kept, and until when.
    world
        .eventually("the owner is warned about the snapshots", || async {
            world.emu.dm_messages_to(world.owner_id()).iter().any(|m| {
                m.text().contains("which keeps 3 snapshots") && m.text().contains("stay until")
            })
        })
        .await;
    // Fifteen days later (the grace is 14): the extra ones expire, the newest stay.
    sqlx::query(
        "UPDATE licensing.licenses SET revoked_at = now() - interval '15 days', \
                updated_at = now() - interval '15 days'",
    )
    .execute(&world.db.pool)
    .await
    .unwrap();
    data.snapshots.apply_retention(g).await.unwrap();
    assert_eq!(count().await, 3);
    world.finish().await;
}
