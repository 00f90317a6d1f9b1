//! Purpose: the dashboard in real headless Chromium — log in through the emulator's OAuth2,
//! open the time machine before and after a burst of deletions and see the deleted channels
//! in the diff, restore that moment from the web and watch the live progress reach the end
//! with the emulator's guild equal to before, a cross-site form post refused, and logout.
//! Every step saves a screenshot under `target/screenshots/`.

use std::time::Duration;

use axum::response::Html;
use axum::routing::get;

use super::builder;
use crate::recovery::{assert_mirror_matches, db_now, emulator_view, wait_live};
use crate::restore::{assert_no_diff, bot_on_top};
use crate::support::browser::Browser;

/// A page on another site whose form posts to Umbra (what a CSRF attack looks like).
async fn evil_site(target: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let page = format!(
        "<!doctype html><html><body><form method=\"post\" action=\"{target}\">\
         <input type=\"hidden\" name=\"label\" value=\"evil\">\
         <input type=\"hidden\" name=\"csrf\" value=\"guessed\">\
         <button id=\"go\" type=\"submit\">win a prize</button></form></body></html>"
    );
    let app = axum::Router::new().route("/", get(move || async move { Html(page) }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    // `localhost` is another site than `127.0.0.1` (Umbra's public URL).
    format!("http://localhost:{port}/")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_logs_in_sees_the_deletions_in_the_time_machine_restores_from_the_web_and_logs_out()
 {
    let world = builder()
        .emulator(discord_emulator::EmulatorConfig {
            time_scale: 100.0,
            ..discord_emulator::EmulatorConfig::unlimited()
        })
        .configure(|c| c.discord.global_requests_per_second = 0)
        .start()
        .await;
    bot_on_top(&world);
    wait_live(&world).await;
    let g = world.guild_id();
    let base = world.web_base();
    world.emu.set_oauth_user(Some(world.owner_id()));
    let browser = Browser::start().await;

    // Log in through the emulator's OAuth2.
    browser.goto(&format!("{base}/login")).await;
    browser.screenshot("web-01-login").await;
    browser.click("#login").await;
    browser.find("#guilds").await;
    assert!(browser.url().await.ends_with("/guilds"));
    browser.screenshot("web-02-guilds").await;
    browser
        .click(&format!("#guilds a[href=\"/guilds/{g}\"]"))
        .await;
    browser.find("#sync").await;
    browser.screenshot("web-03-overview").await;

    // The time machine before the deletions: nothing differs.
    let before = emulator_view(&world);
    let moment = db_now(&world).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let at = moment.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let tm = format!(
        "{base}/guilds/{g}/timemachine?at={}",
        at.replace('+', "%2B")
    );
    browser.goto(&tm).await;
    browser.find("#no-changes").await;
    browser.screenshot("web-04-timemachine-before").await;

    // A burst of deletions.
    let owner = world.emu.as_user(world.owner_id());
    let doomed: Vec<_> = before
        .channels
        .iter()
        .filter(|c| c.kind == 0 && c.id != world.fixture.general_channel_id)
        .take(3)
        .cloned()
        .collect();
    assert_eq!(doomed.len(), 3, "the fixture has text channels");
    for c in &doomed {
        owner.delete_channel(c.id).expect("deleting a channel");
    }
    assert_mirror_matches(&world, Duration::from_secs(60), "after the deletions").await;

    // The same moment now: the deleted channels are in the diff.
    browser.goto(&tm).await;
    browser.find("#diff tr[data-kind=\"deleted\"]").await;
    let source = browser.source().await;
    for c in &doomed {
        assert!(
            source.contains(&format!(
                "<strong class=\"change-name\">{}</strong>",
                c.name
            )),
            "#{} is shown as deleted",
            c.name
        );
    }
    // The bans and the expressions of that moment are shown too.
    assert!(source.contains("2 bans"), "the fixture's bans are shown");
    assert!(source.contains(":emoji_1:") && source.contains("sticker_1"));
    // And the threads, scheduled events, welcome screen and AutoMod rules of that moment.
    for shown in [
        "Post 1",
        "Event 1",
        "Welcome! Start here.",
        "Say hello",
        "Rule 1",
    ] {
        assert!(source.contains(shown), "{shown} is shown");
    }
    browser.screenshot("web-05-timemachine-after").await;
    // Readable on a phone: nothing wider than the screen but the tables' own scroll boxes.
    browser.resize(390, 844).await;
    browser.screenshot("web-05b-timemachine-phone").await;
    let overflow = browser
        .run(
            "const w = document.documentElement.clientWidth; \
             const wide = [...document.querySelectorAll('body *')] \
               .filter(e => e.getBoundingClientRect().right > w + 0.5 && !e.closest('.table-wrap')) \
               .map(e => e.tagName + '.' + e.className + '#' + e.id); \
             return [document.documentElement.scrollWidth - w, wide.slice(0, 5)];",
        )
        .await;
    assert_eq!(
        overflow[0].as_i64(),
        Some(0),
        "the page scrolls sideways on a phone: {overflow}"
    );
    browser.resize(1280, 1600).await;

    // Restore that moment from the web: preview, confirm, live progress to the end.
    browser.click("#restore-this button[type=submit]").await;
    browser.find("#preview").await;
    browser.screenshot("web-06-preview").await;
    browser.click("#confirm button").await;
    browser.find("#progress").await;
    browser
        .wait_for(
            "#progress[data-status=\"completed\"]",
            Duration::from_secs(120),
        )
        .await;
    let percent = browser.text("[data-percent]").await;
    assert_eq!(percent, "100%");
    browser.screenshot("web-07-restored").await;
    assert_no_diff(&world, &before, "after the restore from the web");

    // A cross-site form post is refused and creates nothing.
    let evil = evil_site(format!("{base}/guilds/{g}/snapshots")).await;
    browser.goto(&evil).await;
    browser.click("#go").await;
    browser.find("#error").await;
    let text = browser.text("#error").await;
    assert!(text.contains("did not come from Umbra"), "{text}");
    browser.screenshot("web-08-csrf-refused").await;
    let evil_snapshots: i64 =
        sqlx::query_scalar("SELECT count(*) FROM recovery.snapshots WHERE label = 'evil'")
            .fetch_one(&world.db.pool)
            .await
            .unwrap();
    assert_eq!(evil_snapshots, 0);

    // Logout.
    browser.goto(&format!("{base}/guilds")).await;
    browser.click("#logout").await;
    browser.find("#login").await;
    assert!(browser.url().await.ends_with("/login"));
    browser.goto(&format!("{base}/guilds/{g}")).await;
    browser.find("#login").await;
    browser.screenshot("web-09-logged-out").await;
    browser.close().await;
    world.finish().await;
}
