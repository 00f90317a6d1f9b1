//! Purpose: buying a plan on the web, through real Chromium and the Toss emulator's card page —
//! Subscribe, the card page, Toss's SDK stand-in, the card registered, the first charge, the
//! license active; and over HTTP: a registration that comes back for another customerKey is
//! refused and stores nothing, Toss's failure message is shown, a trusted member cannot buy,
//! cancel at the period's end and resume; a `/billing subscribe` link that works once, only for
//! its user, after logging in on the way; plan changes from the Plan page.

use std::time::Duration;

use umbra::guild::TrustTarget;
use umbra::guild::service::SettingsChange;
use umbra::licensing::LicensingReader;

use crate::recovery::wait_live;
use crate::support::browser::Browser;
use crate::support::web::{WebClient, login};
use crate::support::world::TestWorld;

async fn wait_plan(world: &TestWorld, code: &str) {
    world
        .eventually(&format!("the plan is {code}"), || async {
            world
                .data()
                .licensing
                .entitlements(world.guild_id())
                .await
                .is_ok_and(|e| e.plan.code == code)
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_buys_pro_with_a_card_registered_on_tosss_page_in_chromium() {
    let world = TestWorld::builder().billing().start().await;
    wait_live(&world).await;
    let g = world.guild_id();
    let base = world.web_base();
    world.emu.set_oauth_user(Some(world.owner_id()));
    let browser = Browser::start().await;
    browser.goto(&format!("{base}/login")).await;
    browser.click("#login").await;
    browser.find("#guilds").await;
    browser.goto(&format!("{base}/guilds/{g}/plan")).await;
    browser.screenshot("web-10-plan-for-sale").await;
    browser.click("#subscribe-pro").await;
    browser.find("#register-card").await;
    browser.screenshot("web-11-card-page").await;
    browser.click("#register-card").await;
    browser.find("#card-form").await;
    browser.screenshot("web-12-toss-card-page").await;
    browser.click("#register").await;
    browser.find("#paid").await;
    let status = browser.text("#subscription-status").await;
    assert_eq!(status, "active");
    browser.screenshot("web-13-subscribed").await;
    browser.close().await;

    let toss = world.toss.as_ref().expect("billing world");
    assert_eq!(toss.payments().len(), 1);
    assert_eq!(toss.payments()[0].total_amount, 4900);
    wait_plan(&world, "pro").await;
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_registration_is_refused_failures_are_shown_and_only_the_owner_buys() {
    let world = TestWorld::builder().billing().start().await;
    wait_live(&world).await;
    let g = world.guild_id();
    let toss = world.toss.clone().expect("billing world");
    let owner = login(&world, world.owner_id()).await;
    let page = owner.get(&format!("/guilds/{g}/plan")).await;
    assert!(page.body.contains("subscribe-pro"), "{}", page.body);
    let csrf = page.csrf();
    let start = owner
        .post(
            &format!("/guilds/{g}/plan/subscribe"),
            &[("csrf", &csrf), ("plan", "pro")],
        )
        .await;
    assert_eq!(
        start.location.as_deref(),
        Some("/billing/card"),
        "{}",
        start.body
    );
    let card = owner.get("/billing/card").await;
    assert_eq!(card.status, 200);
    assert!(card.body.contains(&toss.sdk_url()), "the SDK is loaded");
    let marker = "data-customer-key=\"";
    let at = card.body.find(marker).expect("the customerKey") + marker.len();
    let customer: String = card.body[at..].chars().take_while(|c| *c != '"').collect();

    // Someone else's registration (another customerKey) is refused: nothing stored, nothing paid.
    let theirs = uuid::Uuid::new_v4().to_string();
    let auth = toss.issue_auth_key(&theirs, "4330123412341234");
    let refused = owner
        .get(&format!(
            "/billing/success?customerKey={theirs}&authKey={auth}"
        ))
        .await;
    assert_eq!(refused.status, 400);
    assert!(
        refused.body.contains("does not belong to your session"),
        "{}",
        refused.body
    );
    let keys: i64 = sqlx::query_scalar("SELECT count(*) FROM billing.billing_keys")
        .fetch_one(&world.db.pool)
        .await
        .unwrap();
    assert_eq!(keys, 0);
    // The registration was spent by the refusal: the genuine answer needs a new one.
    let auth = toss.issue_auth_key(&customer, "4330123412341234");
    let late = owner
        .get(&format!(
            "/billing/success?customerKey={customer}&authKey={auth}"
        ))
        .await;
    assert_eq!(late.status, 400);
    assert!(toss.payments().is_empty());

    // Toss's failure is shown (escaped), and nothing changes.
    let failed = owner
        .get("/billing/fail?code=PAY_PROCESS_CANCELED&message=%3Cb%3Ecancelled%3C%2Fb%3E")
        .await;
    assert_eq!(failed.status, 400);
    assert!(
        failed.body.contains("&#60;b&#62;cancelled"),
        "{}",
        failed.body
    );
    assert!(!failed.body.contains("<b>cancelled"), "escaped");

    // A trusted member sees the plan but cannot buy.
    let member = world.fixture.trusted_user_id;
    world
        .data()
        .guilds
        .change_settings(
            g,
            world.owner_id(),
            SettingsChange::Trust(TrustTarget::User(member)),
        )
        .await
        .unwrap();
    let trusted = login(&world, member).await;
    let page = trusted.get(&format!("/guilds/{g}/plan")).await;
    assert!(!page.body.contains("subscribe-pro"));
    let refused = trusted
        .post(
            &format!("/guilds/{g}/plan/subscribe"),
            &[("csrf", &page.csrf()), ("plan", "pro")],
        )
        .await;
    assert_eq!(refused.status, 403);

    // The owner registers a card for real (the card page's answer, by hand), pays, cancels at
    // the period's end, and resumes.
    let start = owner
        .post(
            &format!("/guilds/{g}/plan/subscribe"),
            &[("csrf", &csrf), ("plan", "pro")],
        )
        .await;
    assert_eq!(start.location.as_deref(), Some("/billing/card"));
    let card = owner.get("/billing/card").await;
    let at = card.body.find(marker).unwrap() + marker.len();
    let customer: String = card.body[at..].chars().take_while(|c| *c != '"').collect();
    let auth = toss.issue_auth_key(&customer, "4330123412341234");
    let done = owner
        .get(&format!(
            "/billing/success?customerKey={customer}&authKey={auth}"
        ))
        .await;
    assert_eq!(
        done.location.as_deref(),
        Some(&*format!("/guilds/{g}/plan?paid=true")),
        "{}",
        done.body
    );
    wait_plan(&world, "pro").await;
    let again = owner
        .post(
            &format!("/guilds/{g}/plan/subscribe"),
            &[("csrf", &csrf), ("plan", "max")],
        )
        .await;
    assert_eq!(again.status, 400, "one subscription per server");
    assert_eq!(toss.payments().len(), 1);
    let cancel = owner
        .post(&format!("/guilds/{g}/plan/cancel"), &[("csrf", &csrf)])
        .await;
    assert_eq!(cancel.status, 303);
    let page = owner.get(&format!("/guilds/{g}/plan")).await;
    assert!(page.body.contains("no further charge"), "{}", page.body);
    let resume = owner
        .post(&format!("/guilds/{g}/plan/resume"), &[("csrf", &csrf)])
        .await;
    assert_eq!(resume.status, 303);
    let page = owner.get(&format!("/guilds/{g}/plan")).await;
    assert!(page.body.contains("Next charge"), "{}", page.body);
    tokio::time::sleep(Duration::from_millis(10)).await;
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_declined_renewal_the_owner_changes_the_card_and_the_renewal_goes_through() {
    let world = TestWorld::builder().billing().start().await;
    wait_live(&world).await;
    let g = world.guild_id();
    let toss = world.toss.clone().expect("billing world");
    let owner = login(&world, world.owner_id()).await;
    let csrf = owner.get(&format!("/guilds/{g}/plan")).await.csrf();
    let marker = "data-customer-key=\"";
    let register = |body: &str| {
        let at = body.find(marker).expect("the customerKey") + marker.len();
        body[at..]
            .chars()
            .take_while(|c| *c != '"')
            .collect::<String>()
    };
    owner
        .post(
            &format!("/guilds/{g}/plan/subscribe"),
            &[("csrf", &csrf), ("plan", "pro")],
        )
        .await;
    let first = register(&owner.get("/billing/card").await.body);
    let auth = toss.issue_auth_key(&first, "4330123412341234");
    owner
        .get(&format!(
            "/billing/success?customerKey={first}&authKey={auth}"
        ))
        .await;
    wait_plan(&world, "pro").await;

    // The card starts declining; the renewal fails and the subscription is past due.
    for key in toss.billing_keys_of(&first) {
        toss.script(
            &key,
            toss_emulator::Behaviour::Decline("REJECT_CARD_PAYMENT".into()),
        );
    }
    sqlx::query("UPDATE billing.subscriptions SET next_charge_at = now() - interval '1 second'")
        .execute(&world.db.pool)
        .await
        .unwrap();
    world
        .eventually("the renewal is declined", || async {
            sqlx::query_scalar::<_, String>("SELECT status FROM billing.subscriptions")
                .fetch_one(&world.db.pool)
                .await
                .is_ok_and(|s| s == "past_due")
        })
        .await;
    let page = owner.get(&format!("/guilds/{g}/plan")).await;
    assert!(page.body.contains("id=\"change-card\""), "{}", page.body);

    // A new card: the renewal is tried again at once, on it.
    let change = owner
        .post(&format!("/guilds/{g}/plan/card"), &[("csrf", &csrf)])
        .await;
    assert_eq!(change.location.as_deref(), Some("/billing/card"));
    let second = register(&owner.get("/billing/card").await.body);
    assert_ne!(second, first, "a new registration, a new customerKey");
    let auth = toss.issue_auth_key(&second, "4330567856781234");
    let done = owner
        .get(&format!(
            "/billing/success?customerKey={second}&authKey={auth}"
        ))
        .await;
    assert_eq!(
        done.location.as_deref(),
        Some(&*format!("/guilds/{g}/plan?card=true"))
    );
    world
        .eventually("the renewal goes through on the new card", || async {
            sqlx::query_scalar::<_, String>("SELECT status FROM billing.subscriptions")
                .fetch_one(&world.db.pool)
                .await
                .is_ok_and(|s| s == "active")
        })
        .await;
    let keys: Vec<(String, bool)> = sqlx::query_as(
        "SELECT status, billing_key_enc IS NULL FROM billing.billing_keys ORDER BY created_at",
    )
    .fetch_all(&world.db.pool)
    .await
    .unwrap();
    assert_eq!(
        keys,
        vec![("deleted".to_owned(), true), ("active".to_owned(), false)],
        "the old card is retired and its key wiped"
    );
    assert_eq!(
        toss.payments()
            .iter()
            .filter(|p| p.status == "DONE")
            .count(),
        2
    );
    world.finish().await;
}

/// The `/billing/start/...` path in a `/billing subscribe` answer.
fn link_path(text: &str) -> String {
    let at = text.find("/billing/start/").expect("a subscribe link");
    text[at..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_discord_subscribe_link_works_once_only_for_its_user_after_logging_in_on_the_way() {
    let world = TestWorld::builder().billing().start().await;
    wait_live(&world).await;
    let owner = world.owner_id();
    let ask = || async {
        let reply = world
            .command(
                owner,
                "billing subscribe",
                serde_json::json!({"plan": "pro"}),
            )
            .await;
        assert!(reply.text.contains("15 minutes"), "{}", reply.text);
        link_path(&reply.text)
    };
    let replaced = ask().await;
    let link = ask().await;

    // Opened before logging in: the login comes back to the link.
    let client = WebClient::new(&world.web_base());
    let first = client.get(&link).await;
    let to_login = first.location.expect("to the login page");
    assert_eq!(to_login, format!("/login?next={link}"));
    let page = client.get(&to_login).await;
    let href = format!("/auth/login?next={link}");
    assert!(page.body.contains(&href), "{}", page.body);
    let start = client.get(&href).await;
    let consent = client
        .get(&format!(
            "{}&emulator_user={owner}",
            start.location.expect("to Discord")
        ))
        .await;
    let back = client.get(&consent.location.expect("back to Umbra")).await;
    assert_eq!(
        back.location.as_deref(),
        Some(link.as_str()),
        "{}",
        back.body
    );
    // An open redirect is not possible through `next`.
    let evil = client.get("/login?next=//evil.example/x").await;
    assert_eq!(evil.location.as_deref(), Some("/guilds"));

    // Another Discord account cannot use it (and does not spend it).
    let rogue = login(&world, world.fixture.rogue_admin_id).await;
    let foreign = rogue.get(&link).await;
    assert_eq!(foreign.status, 400);
    assert!(
        foreign.body.contains("another Discord account"),
        "{}",
        foreign.body
    );

    // The owner's link: the card page once, then never again; the older link was replaced.
    let opened = client.get(&link).await;
    assert_eq!(
        opened.location.as_deref(),
        Some("/billing/card"),
        "{}",
        opened.body
    );
    assert!(client.cookie("umbra_billing").is_some());
    let card = client.get("/billing/card").await;
    assert_eq!(card.status, 200);
    assert_eq!(client.get(&link).await.status, 400, "used once");
    assert_eq!(
        client.get(&replaced).await.status,
        400,
        "replaced by the newer link"
    );
    let forged = format!("{link}x");
    assert_eq!(client.get(&forged).await.status, 400);
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_upgrades_and_schedules_a_downgrade_from_the_plan_page() {
    let world = TestWorld::builder().billing().start().await;
    wait_live(&world).await;
    let g = world.guild_id();
    crate::billing::owner_pays_pro(&world, "4330123412341234").await;
    wait_plan(&world, "pro").await;
    let owner = login(&world, world.owner_id()).await;
    let page = owner.get(&format!("/guilds/{g}/plan")).await;
    assert!(page.body.contains("id=\"change-max\""), "{}", page.body);
    assert!(
        !page.body.contains("id=\"change-pro\""),
        "not to the current plan"
    );
    let csrf = page.csrf();

    // A trusted member cannot change it.
    let member = world.fixture.trusted_user_id;
    world
        .data()
        .guilds
        .change_settings(
            g,
            world.owner_id(),
            SettingsChange::Trust(TrustTarget::User(member)),
        )
        .await
        .unwrap();
    let trusted = login(&world, member).await;
    let theirs = trusted.get(&format!("/guilds/{g}/plan")).await;
    let refused = trusted
        .post(
            &format!("/guilds/{g}/plan/change"),
            &[("csrf", &theirs.csrf()), ("plan", "max")],
        )
        .await;
    assert_eq!(refused.status, 403);

    let up = owner
        .post(
            &format!("/guilds/{g}/plan/change"),
            &[("csrf", &csrf), ("plan", "max")],
        )
        .await;
    assert_eq!(
        up.location,
        Some(format!("/guilds/{g}/plan?changed=upgraded")),
        "{}",
        up.body
    );
    wait_plan(&world, "max").await;
    let toss = world.toss.as_ref().expect("billing world");
    assert_eq!(toss.payments().len(), 2, "the pro-rated difference, once");
    let down = owner
        .post(
            &format!("/guilds/{g}/plan/change"),
            &[("csrf", &csrf), ("plan", "pro")],
        )
        .await;
    assert_eq!(
        down.location,
        Some(format!("/guilds/{g}/plan?changed=scheduled"))
    );
    let page = owner
        .get(&format!("/guilds/{g}/plan?changed=scheduled"))
        .await;
    assert!(page.body.contains("id=\"next-plan\""), "{}", page.body);
    assert!(page.body.contains("id=\"keep-plan\""), "{}", page.body);
    assert_eq!(toss.payments().len(), 2);
    world.finish().await;
}
