//! Purpose: the settings forms over HTTP — the owner changes AntiNuke (on/off, punishment,
//! thresholds within the plan and bounds, the whitelist) and it applies at once; a trusted
//! member's change only asks the owner; bad input changes nothing; notification preferences
//! are the viewer's own.

use umbra::guild::service::SettingsChange;
use umbra::guild::{GuildReader, TrustTarget};

use super::builder;
use crate::recovery::wait_live;
use crate::restore::max_plan;
use crate::support::web::login;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_changes_antinuke_from_the_web_within_the_plan_and_bounds() {
    let world = builder().start().await;
    wait_live(&world).await;
    let g = world.guild_id();
    let data = world.data();
    let owner = login(&world, world.owner_id()).await;
    let page = owner.get(&format!("/guilds/{g}/antinuke")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = page.csrf();
    let path = format!("/guilds/{g}/antinuke");

    // On, with the free plan's punishment.
    let on = owner
        .post(
            &path,
            &[
                ("csrf", &csrf),
                ("enabled", "on"),
                ("punishment", "strip_roles"),
            ],
        )
        .await;
    assert_eq!(on.status, 303, "{}", on.body);
    assert!(data.guilds.antinuke(g).await.unwrap().enabled);
    assert!(
        data.antinuke.policy(g).is_some_and(|p| p.enabled),
        "the policy is reloaded"
    );

    // The free plan has no ban punishment and no custom thresholds: refused, nothing changes.
    let ban = owner
        .post(
            &path,
            &[("csrf", &csrf), ("enabled", "on"), ("punishment", "ban")],
        )
        .await;
    assert_eq!(ban.status, 400, "{}", ban.body);
    let threshold = format!("{path}/threshold");
    let custom = owner
        .post(
            &threshold,
            &[
                ("csrf", &csrf),
                ("class", "channel_delete"),
                ("count", "5"),
                ("window", "10"),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(custom.status, 400, "{}", custom.body);
    let settings = data.guilds.antinuke(g).await.unwrap();
    assert_eq!(settings.punishment, "strip_roles");
    assert!(settings.thresholds.is_empty());

    // With the max plan: thresholds within bounds, then back to the default.
    max_plan(&world).await;
    let out_of_bounds = owner
        .post(
            &threshold,
            &[
                ("csrf", &csrf),
                ("class", "channel_delete"),
                ("count", "0"),
                ("window", "10"),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(out_of_bounds.status, 400);
    let unknown = owner
        .post(
            &threshold,
            &[
                ("csrf", &csrf),
                ("class", "nonsense"),
                ("count", "5"),
                ("window", "10"),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(unknown.status, 400);
    assert!(data.guilds.antinuke(g).await.unwrap().thresholds.is_empty());
    let saved = owner
        .post(
            &threshold,
            &[
                ("csrf", &csrf),
                ("class", "channel_delete"),
                ("count", "5"),
                ("window", "10"),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let t = data.guilds.antinuke(g).await.unwrap().thresholds;
    assert_eq!(t["channel_delete"].count, 5);
    assert_eq!(t["channel_delete"].window_seconds, 10);
    let shown = owner.get(&path).await;
    assert!(
        shown.body.contains("value=\"5\""),
        "the form shows the new count"
    );
    let reset = owner
        .post(
            &threshold,
            &[
                ("csrf", &csrf),
                ("class", "channel_delete"),
                ("action", "reset"),
            ],
        )
        .await;
    assert_eq!(reset.status, 303);
    assert!(data.guilds.antinuke(g).await.unwrap().thresholds.is_empty());

    // The whitelist: a role, added and removed; a malformed id changes nothing.
    let role = world.fixture.moderator_role_id.to_string();
    let whitelist = format!("{path}/whitelist");
    let bad = owner
        .post(
            &whitelist,
            &[
                ("csrf", &csrf),
                ("kind", "role"),
                ("id", "abc"),
                ("action", "add"),
            ],
        )
        .await;
    assert_eq!(bad.status, 400);
    let added = owner
        .post(
            &whitelist,
            &[
                ("csrf", &csrf),
                ("kind", "role"),
                ("id", &role),
                ("action", "add"),
            ],
        )
        .await;
    assert_eq!(added.status, 303, "{}", added.body);
    assert_eq!(
        data.guilds.antinuke(g).await.unwrap().whitelist_role_ids,
        vec![world.fixture.moderator_role_id]
    );
    let listed = owner.get(&path).await;
    assert!(listed.body.contains("@Moderator"), "shown by name");
    let removed = owner
        .post(
            &whitelist,
            &[
                ("csrf", &csrf),
                ("kind", "role"),
                ("id", &role),
                ("action", "remove"),
            ],
        )
        .await;
    assert_eq!(removed.status, 303);
    assert!(
        data.guilds
            .antinuke(g)
            .await
            .unwrap()
            .whitelist_role_ids
            .is_empty()
    );
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_members_antinuke_change_waits_for_the_owner_and_preferences_are_their_own() {
    let world = builder().start().await;
    wait_live(&world).await;
    let g = world.guild_id();
    let data = world.data();
    let member = world.fixture.trusted_user_id;
    data.guilds
        .change_settings(
            g,
            world.owner_id(),
            SettingsChange::Trust(TrustTarget::User(member)),
        )
        .await
        .expect("trusting the member");
    let trusted = login(&world, member).await;
    let path = format!("/guilds/{g}/antinuke");
    let page = trusted.get(&path).await;
    assert!(page.body.contains("wait for the owner"), "{}", page.body);
    let csrf = page.csrf();
    let asked = trusted
        .post(
            &path,
            &[
                ("csrf", &csrf),
                ("enabled", "on"),
                ("punishment", "strip_roles"),
            ],
        )
        .await;
    assert_eq!(
        asked.location.as_deref(),
        Some(&*format!("/guilds/{g}/antinuke?requested=true"))
    );
    assert!(
        !data.guilds.antinuke(g).await.unwrap().enabled,
        "not applied"
    );
    assert_eq!(
        data.guilds.pending(g).await.unwrap().len(),
        1,
        "the owner is asked"
    );
    let shown = trusted.get(&format!("{path}?requested=true")).await;
    assert!(shown.body.contains("id=\"requested\""));

    // Notification preferences: the viewer's own.
    let prefs = format!("/guilds/{g}/notifications");
    let page = trusted.get(&prefs).await;
    let changed = trusted
        .post(&prefs, &[("csrf", &page.csrf()), ("muted", "security")])
        .await;
    assert_eq!(changed.status, 303, "{}", changed.body);
    let mine = data.notifications.preferences(member).await.unwrap();
    assert!(!mine.dm_enabled);
    assert_eq!(mine.muted, vec![umbra::notification::Category::Security]);
    let owners = data
        .notifications
        .preferences(world.owner_id())
        .await
        .unwrap();
    assert!(
        owners.dm_enabled && owners.muted.is_empty(),
        "the owner's are untouched"
    );
    world.finish().await;
}
