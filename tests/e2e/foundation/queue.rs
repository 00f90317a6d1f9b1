//! Purpose: the one lease queue (`umbra::queue::QueueTable`) on a real server, through the
//! notification table: claims never overlap, a stale claimer's heartbeat and writes are fenced
//! out, a release gives the attempt back, the last failed attempt ends dead, and the counts say
//! where every row is.

use std::time::Duration;

use serde_json::json;
use umbra::notification::model::NewRequest;
use umbra::notification::{Category, QUEUE};
use umbra::queue::{Lease, QueueCounts};
use uuid::Uuid;

use crate::support::db::TestDb;

async fn enqueue(db: &TestDb, n: usize) {
    let service = umbra::notification::NotificationService::new(
        db.db.clone(),
        db.pool.clone(),
        umbra::identity::IdentityService::new(db.db.clone()),
    );
    for i in 0..n {
        let request = NewRequest {
            guild_id: None,
            recipient_discord_id: 42,
            kind: "welcome".into(),
            category: Category::Lifecycle,
            template_key: "notify-welcome".into(),
            args: json!({}),
            locale: None,
            dedupe_key: format!("q-{i}"),
        };
        assert!(service.enqueue(&request).await.expect("enqueue"));
    }
}

async fn claim(db: &TestDb, owner: &str, lease: Duration, limit: u32) -> Vec<Lease> {
    let rows = QUEUE
        .claim(&db.pool, owner, lease, limit, "id, fencing")
        .await
        .expect("claim");
    rows.iter()
        .map(|r| {
            use sqlx::Row;
            Lease {
                id: r.get::<Uuid, _>("id"),
                fencing: r.get::<i64, _>("fencing"),
            }
        })
        .collect()
}

async fn attempts(db: &TestDb, id: Uuid) -> i32 {
    sqlx::query_scalar("SELECT attempts FROM notification.requests WHERE id = $1")
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .expect("attempts")
}

#[tokio::test]
async fn the_lease_queue_claims_once_fences_stale_workers_and_counts_every_state() {
    let db = TestDb::migrated().await;
    enqueue(&db, 3).await;
    assert_eq!(
        QUEUE.counts(&db.pool).await.expect("counts"),
        QueueCounts {
            waiting: 3,
            leased: 0,
            dead: 0
        }
    );
    let (a, b) = tokio::join!(
        claim(&db, "a", Duration::from_millis(300), 2),
        claim(&db, "b", Duration::from_millis(300), 2)
    );
    assert_eq!(a.len() + b.len(), 3, "every row claimed exactly once");
    assert!(a.iter().all(|x| !b.iter().any(|y| y.id == x.id)));
    assert_eq!(
        QUEUE.counts(&db.pool).await.expect("counts"),
        QueueCounts {
            waiting: 0,
            leased: 3,
            dead: 0
        }
    );

    // A's first lease runs out and C takes the row over: A is fenced out from then on.
    let stale = a[0];
    tokio::time::sleep(Duration::from_millis(400)).await;
    let taken = claim(&db, "c", Duration::from_secs(30), 3).await;
    assert_eq!(taken.len(), 3, "expired leases are claimable");
    let fresh = *taken
        .iter()
        .find(|l| l.id == stale.id)
        .expect("the same row");
    assert!(fresh.fencing > stale.fencing);
    let beat = QUEUE
        .heartbeat(&db.pool, stale, Duration::from_secs(30), "", "id")
        .await
        .expect("heartbeat");
    assert!(beat.is_none(), "a stale heartbeat extends nothing");
    assert!(!QUEUE.release(&db.pool, stale).await.expect("release"));
    assert_eq!(
        QUEUE
            .retry(&db.pool, stale, "late", Duration::ZERO, 1)
            .await
            .expect("retry"),
        None
    );
    assert!(
        QUEUE
            .heartbeat(&db.pool, fresh, Duration::from_secs(30), "", "id")
            .await
            .expect("heartbeat")
            .is_some()
    );

    // A release gives the claim's attempt back; a failure on the last attempt ends dead.
    let before = attempts(&db, fresh.id).await;
    assert!(QUEUE.release(&db.pool, fresh).await.expect("release"));
    assert_eq!(attempts(&db, fresh.id).await, before - 1);
    let again = claim(&db, "d", Duration::from_secs(30), 1).await;
    assert_eq!(again.len(), 1);
    let n = attempts(&db, again[0].id).await;
    let dead = QUEUE
        .retry(
            &db.pool,
            again[0],
            "broken",
            Duration::ZERO,
            u32::try_from(n).unwrap_or(0),
        )
        .await
        .expect("retry");
    assert_eq!(dead, Some(true));
    let counts = QUEUE.counts(&db.pool).await.expect("counts");
    assert_eq!((counts.leased, counts.dead), (2, 1), "{counts:?}");
}
