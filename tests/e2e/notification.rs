//! Purpose: issue 4, notifications end to end — owner-facing events become durable requests
//! (idempotently), the sender DMs the owner in their language, falls back to the guild's log
//! channel when DMs are closed (Discord error 50007) or turned off, skips muted categories,
//! retries and ends dead, never sends twice after a crash or with two senders, and
//! `/umbra notifications` works in a DM with its toggle button.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use umbra::notification::model::{ClaimedRequest, NewRequest, RequestView};
use umbra::notification::{
    Category, NotificationConsumer, NotificationService, Outcome, Recorded, RequestStatus, Sender,
    SenderSettings, Via,
};
use umbra::outbox::OutboxEvent;

use crate::support::world::{PATIENCE, TestWorld};

/// A sender over the world's services (as `umbra run` builds it).
fn sender(world: &TestWorld, settings: umbra::notification::SenderSettings) -> Sender {
    let app = world.data();
    Sender::new(
        app.notifications.clone(),
        Arc::new(app.guilds.clone()),
        app.bot.clone(),
        app.i18n.clone(),
        settings,
        Default::default(),
    )
}

fn service(world: &TestWorld) -> NotificationService {
    NotificationService::new(
        world.db.db.clone(),
        world.db.pool.clone(),
        umbra::identity::IdentityService::new(world.db.db.clone()),
    )
}

async fn requests(world: &TestWorld) -> Vec<RequestView> {
    service(world).requests_to(world.owner_id()).await.unwrap()
}

/// Waits until the owner has a request of `kind` for which `done` holds, and returns it.
async fn wait_request(
    world: &TestWorld,
    kind: &str,
    what: &str,
    done: impl Fn(&RequestView) -> bool,
) -> RequestView {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let all = requests(world).await;
        if let Some(r) = all.iter().find(|r| r.kind == kind && done(r)) {
            return r.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}; requests: {all:#?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn sent(r: &RequestView) -> bool {
    r.status == "sent"
}

/// Waits for the welcome DM every owner gets when Umbra is installed.
async fn welcomed(world: &TestWorld) {
    let dms = world.emu.wait_for_dms(world.owner_id(), 1, PATIENCE).await;
    assert_eq!(dms.len(), 1, "the welcome DM");
    assert!(
        dms[0].content.contains("Thanks for adding Umbra"),
        "{}",
        dms[0].content
    );
    wait_request(world, "welcome", "the welcome is recorded as sent", sent).await;
}

/// `/admin license <sub>` as the operator, in their DM with the bot (operators need not be
/// members of the guild).
async fn admin_license(world: &TestWorld, sub: &str, options: serde_json::Value) -> String {
    let mut options = options;
    options["guild"] = json!(world.guild_id().to_string());
    world
        .command_with(
            world.operator_id,
            None,
            &format!("admin license {sub}"),
            options,
            "en-US",
        )
        .await
        .text
}

async fn grant_pro(world: &TestWorld) {
    let granted = admin_license(world, "grant", json!({ "plan": "pro", "days": 30 })).await;
    assert!(granted.contains("**Pro** plan"), "{granted}");
}

async fn revoke(world: &TestWorld) {
    let revoked = admin_license(world, "revoke", json!({})).await;
    assert!(revoked.contains("back on the default plan"), "{revoked}");
}

async fn set_log_channel(world: &TestWorld) {
    let general = world.fixture.general_channel_id;
    let set = world
        .command(
            world.owner_id(),
            "umbra settings log-channel",
            json!({ "channel": general.to_string() }),
        )
        .await;
    assert!(set.text.contains(&format!("<#{general}>")), "{}", set.text);
}

/// Bot messages in the guild's #general that mention the owner.
fn log_channel_posts(world: &TestWorld) -> Vec<discord_emulator::BotMessage> {
    let bot = world.fixture.app.bot_user_id;
    let mention = format!("<@{}>", world.owner_id());
    world
        .emu
        .messages_in(world.fixture.general_channel_id)
        .into_iter()
        .filter(|m| m.author_id == bot && m.content.contains(&mention))
        .collect()
}

fn settings(world: &TestWorld, lease: Duration) -> SenderSettings {
    SenderSettings {
        lease,
        ..SenderSettings::from(&world.config.notification)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_grants_a_plan_and_the_owner_gets_a_dm_in_their_language() {
    let world = TestWorld::start().await;
    let owner = world.owner_id();
    welcomed(&world).await;

    let set = world
        .command(
            owner,
            "umbra notifications locale",
            json!({ "language": 2 }),
        )
        .await;
    assert!(set.text.contains("`ko`"), "{}", set.text);
    grant_pro(&world).await;
    let dms = world.emu.wait_for_dms(owner, 2, PATIENCE).await;
    assert_eq!(dms.len(), 2, "welcome + the grant");
    let text = &dms[1].content;
    assert!(
        text.contains("**Small Fixture** 에 **Pro** 요금제가")
            && text.contains("까지 적용되었습니다"),
        "the grant in Korean, the owner's chosen language: {text}"
    );
    let request = wait_request(
        &world,
        "license_granted",
        "the grant is recorded as sent",
        sent,
    )
    .await;
    assert_eq!(request.delivered_via.as_deref(), Some("dm"));
    assert_eq!(request.sent_message_id, Some(dms[1].id));
    assert_eq!(request.category, "billing");
    assert_eq!(request.attempts, 1);

    // Back to automatic: the server's language applies when the owner has none.
    world
        .command(
            owner,
            "umbra notifications locale",
            json!({ "language": 0 }),
        )
        .await;
    world
        .command(owner, "umbra settings locale", json!({ "language": 2 }))
        .await;
    revoke(&world).await;
    // The revocation, and the warning that Pro's extra snapshots are kept a while.
    let dms = world.emu.wait_for_dms(owner, 4, PATIENCE).await;
    let texts: Vec<&str> = dms[2..].iter().map(|d| d.content.as_str()).collect();
    assert!(
        texts.iter().any(|t| t.contains("요금제가 회수되어")),
        "the revocation in the server's Korean: {texts:?}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t.contains("스냅샷은") && t.contains("까지 그대로 남고")),
        "the snapshot warning in Korean: {texts:?}"
    );
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_with_closed_dms_gets_the_notification_in_the_log_channel() {
    let world = TestWorld::start().await;
    let owner = world.owner_id();
    welcomed(&world).await;
    set_log_channel(&world).await;
    world.emu.set_dms_open(owner, false);

    grant_pro(&world).await;
    let request = wait_request(
        &world,
        "license_granted",
        "the grant is posted in the log channel",
        sent,
    )
    .await;
    assert_eq!(request.delivered_via.as_deref(), Some("log_channel"));
    assert_eq!(
        request.sent_channel_id,
        Some(world.fixture.general_channel_id)
    );
    let posts = log_channel_posts(&world);
    assert_eq!(posts.len(), 1, "{posts:#?}");
    assert_eq!(Some(posts[0].id), request.sent_message_id);
    assert!(
        posts[0]
            .content
            .contains("cannot reach you by direct message")
            && posts[0]
                .content
                .contains("**Small Fixture** now has the **Pro** plan until"),
        "{}",
        posts[0].content
    );
    assert_eq!(
        world.emu.dm_messages_to(owner).len(),
        1,
        "only the welcome came by DM"
    );
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turning_dms_off_sends_notifications_to_the_log_channel_instead() {
    let world = TestWorld::start().await;
    let owner = world.owner_id();
    welcomed(&world).await;
    set_log_channel(&world).await;
    let off = world
        .command(
            owner,
            "umbra notifications dms",
            json!({ "enabled": false }),
        )
        .await;
    assert!(
        off.text.contains("will not send you direct messages"),
        "{}",
        off.text
    );

    grant_pro(&world).await;
    let request = wait_request(
        &world,
        "license_granted",
        "the grant is posted in the log channel",
        sent,
    )
    .await;
    assert_eq!(request.delivered_via.as_deref(), Some("log_channel"));
    assert_eq!(log_channel_posts(&world).len(), 1);
    assert_eq!(
        world.emu.dm_messages_to(owner).len(),
        1,
        "DMs are off: only the welcome"
    );
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_muted_category_is_skipped_and_unmuting_brings_it_back() {
    let world = TestWorld::start().await;
    let owner = world.owner_id();
    welcomed(&world).await;
    let muted = world
        .command(owner, "umbra notifications mute", json!({ "category": 1 }))
        .await;
    assert!(muted.text.contains("plans and billing"), "{}", muted.text);

    grant_pro(&world).await;
    let skipped = wait_request(&world, "license_granted", "the grant is skipped", |r| {
        r.status == "skipped"
    })
    .await;
    assert!(
        skipped
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("muted")),
        "{skipped:?}"
    );
    assert_eq!(skipped.delivered_via, None);

    world
        .command(
            owner,
            "umbra notifications unmute",
            json!({ "category": 1 }),
        )
        .await;
    revoke(&world).await;
    wait_request(&world, "license_revoked", "the revocation is sent", sent).await;
    let dms: Vec<_> = world
        .emu
        .dm_messages_to(owner)
        .into_iter()
        .filter(|d| !d.content.contains("snapshots"))
        .collect();
    assert_eq!(dms.len(), 2, "welcome + revocation, never the muted grant");
    assert!(dms[1].content.contains("was revoked"), "{}", dms[1].content);
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_closed_dms_and_no_log_channel_a_notification_retries_then_ends_dead() {
    let mut world = TestWorld::builder()
        .configure(|c| {
            c.notification.max_attempts = 3;
            c.notification.backoff_base_ms = 20;
            c.notification.backoff_max_seconds = 1;
            c.notification.poll_interval_ms = 20;
        })
        .without_bot()
        .start()
        .await;
    let owner = world.owner_id();
    world.emu.set_dms_open(owner, false);
    world.start_bot().await;

    let dead = wait_request(&world, "welcome", "the welcome is dead", |r| {
        r.status == "dead"
    })
    .await;
    assert_eq!(dead.attempts, 3, "exactly max_attempts attempts");
    let error = dead.last_error.clone().unwrap_or_default();
    assert!(
        error.contains("50007") && error.contains("no log channel"),
        "the reason is clear: {error}"
    );
    assert_eq!(dead.delivered_via, None);
    assert!(world.emu.dm_messages_to(owner).is_empty());
    assert!(log_channel_posts(&world).is_empty());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let again = service(&world).request(dead.id).await.unwrap().unwrap();
    assert_eq!(
        (again.status.as_str(), again.attempts),
        ("dead", 3),
        "dead stays dead"
    );
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_that_crashed_after_sending_is_taken_over_without_a_second_message() {
    let world = TestWorld::builder()
        .configure(|c| c.notification.sender_enabled = false)
        .start()
        .await;
    let owner = world.owner_id();
    wait_request(&world, "welcome", "the welcome is queued", |r| {
        r.status == "pending"
    })
    .await;
    let lease = Duration::from_millis(1500);
    let crashed = sender(&world, settings(&world, lease));
    let survivor = sender(&world, settings(&world, lease));

    let claimed: Vec<ClaimedRequest> = crashed.claim().await.unwrap();
    assert_eq!(claimed.len(), 1);
    let first = &claimed[0];
    let sent_before_the_crash = crashed.attempt(first).await;
    let Outcome::Sent {
        via, message_id, ..
    } = sent_before_the_crash.clone()
    else {
        panic!("the first attempt sends: {sent_before_the_crash:?}");
    };
    assert_eq!(via, Via::Dm);
    assert_eq!(world.emu.dm_messages_to(owner).len(), 1);
    // ... and the process dies before recording it.

    assert!(
        survivor.claim().await.unwrap().is_empty(),
        "the lease still holds"
    );
    tokio::time::sleep(lease + Duration::from_millis(300)).await;
    let retaken = survivor.claim().await.unwrap();
    assert_eq!(retaken.len(), 1, "the expired lease is claimed again");
    let second = &retaken[0];
    assert_eq!(second.id, first.id);
    assert_eq!(second.fencing, first.fencing + 1);
    assert_eq!(second.attempts, 2);
    let outcome = survivor.attempt(second).await;
    let Outcome::Sent {
        message_id: resent, ..
    } = outcome.clone()
    else {
        panic!("the takeover sends: {outcome:?}");
    };
    assert_eq!(
        resent, message_id,
        "the nonce makes Discord return the message already sent"
    );
    assert_eq!(
        survivor.record(second, &outcome).await.unwrap(),
        Recorded::Now(RequestStatus::Sent)
    );
    assert_eq!(
        crashed.record(first, &sent_before_the_crash).await.unwrap(),
        Recorded::LeaseLost,
        "a stale sender cannot write over the new owner's result"
    );
    let dms = world.emu.dm_messages_to(owner);
    assert_eq!(dms.len(), 1, "one DM, not two: {dms:#?}");
    let stored = service(&world).request(first.id).await.unwrap().unwrap();
    assert_eq!(stored.status, "sent");
    assert_eq!(stored.sent_message_id, Some(message_id));
    assert_eq!(stored.fencing, second.fencing);
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_senders_at_once_never_claim_or_send_the_same_request() {
    let world = TestWorld::builder()
        .configure(|c| c.notification.sender_enabled = false)
        .start()
        .await;
    let owner = world.owner_id();
    wait_request(&world, "welcome", "the welcome is queued", |r| {
        r.status == "pending"
    })
    .await;
    let svc = service(&world);
    let guild_row = umbra::guild::GuildReader::guild(&world.data().guilds, world.guild_id())
        .await
        .unwrap()
        .unwrap()
        .id;
    for n in 0..11 {
        let request = NewRequest {
            guild_id: Some(guild_row),
            recipient_discord_id: owner,
            kind: "welcome".into(),
            category: Category::Lifecycle,
            template_key: "notify-welcome".into(),
            args: json!({ "guild": { "type": "text", "value": format!("Server {n}") } }),
            locale: None,
            dedupe_key: format!("test-{n}"),
        };
        assert!(svc.enqueue(&request).await.unwrap());
    }
    let a = sender(&world, settings(&world, Duration::from_secs(60)));
    let b = sender(&world, settings(&world, Duration::from_secs(60)));
    let (_tx, shutdown) = tokio::sync::watch::channel(false);
    let mut handled = 0;
    while handled < 12 {
        let (x, y) = tokio::join!(a.run_once(&shutdown), b.run_once(&shutdown));
        let (x, y) = (x.unwrap(), y.unwrap());
        assert!(x + y > 0, "work remains but nobody claimed it");
        handled += x + y;
    }
    assert_eq!(handled, 12, "each request claimed exactly once");
    let dms = world.emu.dm_messages_to(owner);
    assert_eq!(dms.len(), 12, "one DM per request");
    let all = requests(&world).await;
    assert!(
        all.iter().all(|r| r.status == "sent" && r.attempts == 1),
        "{all:#?}"
    );
    let mut messages: Vec<u64> = all.iter().filter_map(|r| r.sent_message_id).collect();
    messages.sort_unstable();
    messages.dedup();
    assert_eq!(messages.len(), 12);
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_outbox_event_delivered_twice_makes_one_request() {
    let world = TestWorld::builder()
        .configure(|c| c.notification.sender_enabled = false)
        .start()
        .await;
    let installed = wait_request(&world, "welcome", "the welcome is queued", |_| true).await;
    let consumer = NotificationConsumer::new(
        service(&world),
        Arc::new(world.data().guilds.clone()),
        Default::default(),
    );
    // The real guild.installed event, delivered again (at-least-once delivery).
    let row: (uuid::Uuid, String, String, String, Option<i64>, serde_json::Value, chrono::DateTime<chrono::Utc>) =
        sqlx::query_as(
            "SELECT id, event_type, aggregate_type, aggregate_id, guild_discord_id, payload, occurred_at \
               FROM events.outbox WHERE event_type = 'guild.installed'",
        )
        .fetch_one(&world.db.pool)
        .await
        .unwrap();
    let event = OutboxEvent {
        id: row.0,
        event_type: row.1,
        aggregate_type: row.2,
        aggregate_id: row.3,
        guild_discord_id: row.4,
        payload: row.5,
        occurred_at: row.6,
        attempts: 2,
        fencing: 2,
        delivered_to: vec![],
    };
    assert_eq!(installed.dedupe_key, format!("{}:welcome", event.id));
    assert_eq!(
        consumer.consume(&event).await.unwrap(),
        0,
        "already queued by the relay"
    );
    assert_eq!(consumer.consume(&event).await.unwrap(), 0);

    let fresh = OutboxEvent {
        id: uuid::Uuid::now_v7(),
        event_type: "licensing.license_granted".into(),
        payload: json!({
            "plan": "max", "ends_at": null, "guild_name": "Small Fixture",
            "owner_discord_id": world.owner_id().to_string(),
        }),
        ..event.clone()
    };
    assert_eq!(consumer.consume(&fresh).await.unwrap(), 1);
    assert_eq!(
        consumer.consume(&fresh).await.unwrap(),
        0,
        "a redelivery changes nothing"
    );
    let all = requests(&world).await;
    assert_eq!(all.len(), 2, "{all:#?}");
    assert_eq!(
        all.iter().filter(|r| r.kind == "license_granted").count(),
        1
    );
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_work_in_a_dm_and_the_toggle_button_updates_the_preferences() {
    let world = TestWorld::start().await;
    let user = world.fixture.trusted_user_id;
    let svc = service(&world);

    let panel = world
        .command_with(user, None, "umbra notifications show", json!({}), "en-US")
        .await;
    assert!(
        panel.text.contains("Direct messages: enabled"),
        "{}",
        panel.text
    );
    assert!(panel.text.contains("Muted: none"), "{}", panel.text);
    let message = panel.message.clone().expect("a panel message");
    assert!(message.in_dm, "answered in the DM");
    let buttons = message.buttons();
    assert_eq!(buttons.len(), 1);
    assert_eq!(
        buttons[0].custom_id.as_deref(),
        Some("umbra:notify:dms:off")
    );

    let clicked = world.click(user, &message, "umbra:notify:dms:off").await;
    assert_eq!(clicked.response.kind, 7, "the panel is updated in place");
    let updated = world.emu.message(message.id).unwrap();
    assert!(
        updated.text().contains("Direct messages: disabled"),
        "{}",
        updated.text()
    );
    assert_eq!(
        updated.buttons()[0].custom_id.as_deref(),
        Some("umbra:notify:dms:on")
    );
    assert!(!svc.preferences(user).await.unwrap().dm_enabled);

    let clicked = world.click(user, &updated, "umbra:notify:dms:on").await;
    assert_eq!(clicked.response.kind, 7);
    assert!(svc.preferences(user).await.unwrap().dm_enabled);

    // The other subcommands in a DM, in Korean.
    let muted = world
        .command_with(
            user,
            None,
            "umbra notifications mute",
            json!({ "category": 3 }),
            "ko",
        )
        .await;
    assert!(muted.text.contains("보안 사고"), "{}", muted.text);
    let panel = world
        .command_with(user, None, "umbra notifications show", json!({}), "ko")
        .await;
    assert!(panel.text.contains("끈 분류: 보안 사고"), "{}", panel.text);
    let prefs = svc.preferences(user).await.unwrap();
    assert_eq!(prefs.muted, vec![Category::Security]);
    world.finish().await;
}
