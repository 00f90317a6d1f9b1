//! Purpose: the pages' actions over HTTP — snapshots (create, pin, unpin, delete, download the
//! export, upload it back as an import, a crafted file refused), the audit log's filters and
//! paging, a restore job's progress stream, and an AntiNuke incident's timeline and buttons
//! with Discord's rights.

use std::time::Duration;

use super::builder;
use crate::antinuke::{delete_channels, protected, wait_incidents};
use crate::recovery::wait_live;
use crate::support::web::login;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_are_created_pinned_exported_imported_and_deleted_from_the_web() {
    let world = builder().start().await;
    wait_live(&world).await;
    let g = world.guild_id();
    let owner = login(&world, world.owner_id()).await;
    let list = format!("/guilds/{g}/snapshots");
    let csrf = owner.get(&list).await.csrf();
    let created = owner
        .post(&list, &[("csrf", &csrf), ("label", "before")])
        .await;
    assert_eq!(created.status, 303, "{}", created.body);
    let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM recovery.snapshots")
        .fetch_one(&world.db.pool)
        .await
        .unwrap();
    let pinned = owner
        .post(&format!("{list}/{id}/pin"), &[("csrf", &csrf)])
        .await;
    assert_eq!(pinned.status, 303);
    let refused = owner
        .post(&format!("{list}/{id}/delete"), &[("csrf", &csrf)])
        .await;
    assert_eq!(refused.status, 400, "a pinned snapshot is not deleted");
    let unpinned = owner
        .post(&format!("{list}/{id}/unpin"), &[("csrf", &csrf)])
        .await;
    assert_eq!(unpinned.status, 303);

    // Download the export file and upload it back as an import.
    let export = reqwest::Client::new()
        .get(format!("{}{list}/{id}/export", owner.base))
        .header(
            "Cookie",
            format!("umbra_session={}", owner.cookie("umbra_session").unwrap()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(export.status(), 200);
    assert!(
        export.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"umbra-snapshot-")
    );
    let bytes = export.bytes().await.unwrap().to_vec();
    let upload = |file: Vec<u8>| {
        let form = reqwest::multipart::Form::new()
            .text("csrf", csrf.clone())
            .text("label", "uploaded")
            .part(
                "file",
                reqwest::multipart::Part::bytes(file).file_name("s.json"),
            );
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .post(format!("{}{list}/import", owner.base))
            .header("Sec-Fetch-Site", "same-origin")
            .header(
                "Cookie",
                format!("umbra_session={}", owner.cookie("umbra_session").unwrap()),
            )
            .multipart(form)
            .send()
    };
    let mut crafted = bytes.clone();
    let n = crafted.len();
    crafted[n / 2] ^= 0x55;
    let bad = upload(crafted).await.unwrap();
    assert_eq!(bad.status(), 400, "a crafted file is refused");
    let good = upload(bytes).await.unwrap();
    assert_eq!(good.status(), 303);
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM recovery.snapshots")
        .fetch_one(&world.db.pool)
        .await
        .unwrap();
    assert_eq!(
        count, 2,
        "the original and the import, nothing from the crafted file"
    );
    let page = owner.get(&list).await;
    assert!(page.body.contains("uploaded") && page.body.contains("imported"));

    let deleted = owner
        .post(&format!("{list}/{id}/delete"), &[("csrf", &csrf)])
        .await;
    assert_eq!(deleted.status, 303);
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM recovery.snapshots WHERE id = $1")
        .bind(id)
        .fetch_one(&world.db.pool)
        .await
        .unwrap();
    assert_eq!(left, 0);

    // The audit log: filtered by kind, by actor, paged; a malformed filter is refused.
    world
        .eventually("the audit log has the snapshot events", || async {
            let n: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM audit.events WHERE event_type = 'recovery.snapshot_deleted'",
            )
            .fetch_one(&world.db.pool)
            .await
            .unwrap();
            n == 1
        })
        .await;
    let audit = owner
        .get(&format!("/guilds/{g}/audit?kind=recovery.snapshot_"))
        .await;
    assert_eq!(audit.status, 200);
    assert!(
        audit.body.contains("recovery.snapshot_created"),
        "{}",
        audit.body
    );
    assert!(
        audit.body.contains("recovery.snapshot_deleted"),
        "{}",
        audit.body
    );
    assert!(
        !audit.body.contains("guild.installed"),
        "only the kind asked for"
    );
    let mine = owner
        .get(&format!(
            "/guilds/{g}/audit?kind=recovery.snapshot_&actor={}",
            world.owner_id()
        ))
        .await;
    assert!(
        mine.body.contains("recovery.snapshot_created"),
        "{}",
        mine.body
    );
    let nobody = owner
        .get(&format!("/guilds/{g}/audit?kind=recovery.&actor=1"))
        .await;
    assert!(nobody.body.contains("No event matches"), "{}", nobody.body);
    let bad = owner.get(&format!("/guilds/{g}/audit?actor=abc")).await;
    assert_eq!(bad.status, 400);
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_shows_its_timeline_and_its_buttons_follow_discords_rights() {
    let world = protected(builder().start().await).await;
    let g = world.guild_id();
    let rogue = world.fixture.rogue_admin_id;
    let channels: Vec<u64> = world
        .fixture
        .channel_ids
        .iter()
        .skip(1)
        .take(6)
        .copied()
        .collect();
    delete_channels(&world, rogue, &channels, Duration::from_millis(20)).await;
    let incident = wait_incidents(&world, 1).await.remove(0);
    world
        .eventually("the emergency snapshot is stored", || async {
            let ready: Option<uuid::Uuid> = sqlx::query_scalar(
                "SELECT emergency_snapshot_id FROM recovery.antinuke_incidents WHERE id = $1",
            )
            .bind(incident.id)
            .fetch_one(&world.db.pool)
            .await
            .unwrap();
            ready.is_some()
        })
        .await;
    let owner = login(&world, world.owner_id()).await;
    let page = owner.get(&format!("/guilds/{g}/incidents")).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains(&incident.id.to_string()),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("First action"),
        "the timeline: {}",
        page.body
    );
    assert!(page.body.contains("/false-positive"), "the buttons");
    let overview = owner.get(&format!("/guilds/{g}")).await;
    assert!(
        overview.body.contains("channel_delete"),
        "open incident on the overview"
    );

    // The attacker (an admin, not trusted) has no page and no button.
    let attacker = login(&world, rogue).await;
    let csrf = attacker.get("/guilds").await.csrf();
    let pressed = attacker
        .post(
            &format!("/guilds/{g}/incidents/{}/false-positive", incident.id),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(pressed.status, 404);

    // The owner restores what was destroyed: the job's page and its progress stream.
    let csrf = page.csrf();
    let restore = owner
        .post(
            &format!("/guilds/{g}/incidents/{}/restore", incident.id),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(restore.status, 303, "{}", restore.body);
    let job_page = restore.location.expect("the job's page");
    assert!(job_page.starts_with(&format!("/guilds/{g}/restores/")));
    let stream = reqwest::Client::new()
        .get(format!("{}{job_page}/events", owner.base))
        .header(
            "Cookie",
            format!("umbra_session={}", owner.cookie("umbra_session").unwrap()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        stream.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    let body = tokio::time::timeout(Duration::from_secs(60), stream.text())
        .await
        .expect("the stream ends with the job")
        .unwrap();
    assert!(body.contains("event: progress"), "{body}");
    assert!(body.contains("event: done\ndata: completed"), "{body}");
    let done = owner.get(&job_page).await;
    assert!(done.body.contains("100%"), "{}", done.body);
    let again = owner.get(&format!("/guilds/{g}/incidents")).await;
    assert!(
        !again.body.contains("/false-positive"),
        "no buttons once handled"
    );
    world.finish().await;
}
