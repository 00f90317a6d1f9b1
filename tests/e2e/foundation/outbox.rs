//! Purpose: the outbox's guarantees on a real PostgreSQL — a rolled-back append is never
//! published, committed events reach `audit.events` exactly once with two relays running, a
//! failing consumer retries and ends dead without re-running the consumers that succeeded,
//! and a relay that lost its lease cannot overwrite the new owner's progress.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::json;
use tokio::sync::watch;
use umbra::audit::AuditConsumer;
use umbra::db::Tx;
use umbra::outbox::relay::{Consumer, Relay, RelaySettings};
use umbra::outbox::{self, NewEvent, OutboxEvent, event_types};

use crate::support::db::TestDb;

fn settings() -> RelaySettings {
    RelaySettings {
        poll_interval: Duration::from_millis(20),
        batch_size: 10,
        lease: Duration::from_secs(30),
        max_attempts: 3,
        backoff_base: Duration::from_millis(1),
        backoff_max: Duration::from_millis(5),
        retention_days: 30,
    }
}

/// Wraps a consumer and counts the calls per event.
struct Counting {
    inner: Arc<dyn Consumer>,
    calls: Arc<AtomicUsize>,
}

impl Consumer for Counting {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    fn wants(&self, event_type: &str) -> bool {
        self.inner.wants(event_type)
    }
    fn handle<'a>(&'a self, event: &'a OutboxEvent) -> BoxFuture<'a, anyhow::Result<()>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.handle(event)
    }
}

struct AlwaysFails;

impl Consumer for AlwaysFails {
    fn name(&self) -> &'static str {
        "always-fails"
    }
    fn wants(&self, _event_type: &str) -> bool {
        true
    }
    fn handle<'a>(&'a self, _event: &'a OutboxEvent) -> BoxFuture<'a, anyhow::Result<()>> {
        async { Err(anyhow::anyhow!("the downstream is broken")) }.boxed()
    }
}

fn event(n: usize) -> NewEvent {
    NewEvent::new(
        event_types::GUILD_INSTALLED,
        "guild",
        format!("{}", 1000 + n),
        json!({ "n": n, "actor_discord_id": 42 }),
    )
    .in_guild(1000 + n as i64)
}

async fn count(db: &TestDb, sql: &'static str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_appended_in_a_rolled_back_transaction_is_never_published() {
    let db = TestDb::migrated().await;
    let txn = Tx::begin_on(&db.db).await.unwrap();
    outbox::append(&txn, event(1)).await.unwrap();
    txn.rollback().await.unwrap();
    let txn = Tx::begin_on(&db.db).await.unwrap();
    outbox::append(&txn, event(2)).await.unwrap();
    txn.commit().await.unwrap();

    let relay = Relay::new(
        db.pool.clone(),
        None,
        vec![Arc::new(AuditConsumer::new(db.pool.clone()))],
        settings(),
    );
    assert_eq!(
        relay.run_once().await.unwrap(),
        1,
        "only the committed event is claimed"
    );
    assert_eq!(relay.run_once().await.unwrap(), 0);
    let recorded: Vec<String> =
        sqlx::query_scalar("SELECT aggregate_id FROM audit.events ORDER BY recorded_at")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(recorded, vec!["1002".to_owned()]);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM events.outbox WHERE published_at IS NOT NULL"
        )
        .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_events_reach_audit_exactly_once_with_two_relays_running() {
    let db = TestDb::migrated().await;
    const EVENTS: usize = 300;
    for chunk in (0..EVENTS).collect::<Vec<_>>().chunks(50) {
        let txn = Tx::begin_on(&db.db).await.unwrap();
        for n in chunk {
            outbox::append(&txn, event(*n)).await.unwrap();
        }
        txn.commit().await.unwrap();
    }
    let calls = Arc::new(AtomicUsize::new(0));
    let (stop, stop_rx) = watch::channel(false);
    let mut relays = Vec::new();
    for _ in 0..2 {
        let pool = db.new_pool(4).await;
        let consumer: Arc<dyn Consumer> = Arc::new(Counting {
            inner: Arc::new(AuditConsumer::new(pool.clone())),
            calls: calls.clone(),
        });
        let relay = Relay::new(pool, None, vec![consumer], settings());
        relays.push(tokio::spawn(relay.run(stop_rx.clone())));
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while count(
        &db,
        "SELECT count(*) FROM events.outbox WHERE published_at IS NULL",
    )
    .await
        > 0
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "events not published in time"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.send(true).unwrap();
    for relay in relays {
        relay.await.unwrap().unwrap();
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        EVENTS,
        "each event handled once across both relays"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM audit.events").await,
        EVENTS as i64
    );
    assert_eq!(
        count(&db, "SELECT count(DISTINCT outbox_id) FROM audit.events").await,
        EVENTS as i64
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM audit.events WHERE actor_discord_id = 42 AND guild_discord_id >= 1000").await,
        EVENTS as i64,
        "actor and guild context are recorded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_consumer_retries_and_ends_dead_without_rerunning_the_others() {
    let db = TestDb::migrated().await;
    let txn = Tx::begin_on(&db.db).await.unwrap();
    let id = outbox::append(&txn, event(7)).await.unwrap();
    txn.commit().await.unwrap();

    let audit_calls = Arc::new(AtomicUsize::new(0));
    let audit: Arc<dyn Consumer> = Arc::new(Counting {
        inner: Arc::new(AuditConsumer::new(db.pool.clone())),
        calls: audit_calls.clone(),
    });
    let relay = Relay::new(
        db.pool.clone(),
        None,
        vec![audit, Arc::new(AlwaysFails)],
        settings(),
    );
    let mut rounds = 0;
    loop {
        relay.run_once().await.unwrap();
        rounds += 1;
        let dead: bool =
            sqlx::query_scalar("SELECT dead_at IS NOT NULL FROM events.outbox WHERE id = $1")
                .bind(id)
                .fetch_one(&db.pool)
                .await
                .unwrap();
        if dead {
            break;
        }
        assert!(rounds < 200, "the event never died");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (attempts, error, published): (i32, Option<String>, bool) = sqlx::query_as(
        "SELECT attempts, last_error, published_at IS NOT NULL FROM events.outbox WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(attempts, 3, "max_attempts");
    assert!(
        error
            .unwrap_or_default()
            .contains("the downstream is broken")
    );
    assert!(!published, "a dead event is not published");
    assert_eq!(
        audit_calls.load(Ordering::SeqCst),
        1,
        "the audit consumer ran once"
    );
    assert_eq!(count(&db, "SELECT count(*) FROM audit.events").await, 1);
    assert_eq!(
        relay.run_once().await.unwrap(),
        0,
        "a dead event is not claimed again"
    );
    let (_, dead) = outbox::backlog(&db.pool).await.unwrap();
    assert_eq!(dead, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_whose_lease_expired_cannot_overwrite_the_new_owner() {
    let db = TestDb::migrated().await;
    let txn = Tx::begin_on(&db.db).await.unwrap();
    outbox::append(&txn, event(1)).await.unwrap();
    txn.commit().await.unwrap();

    let first = outbox::claim(&db.pool, "relay-a", Duration::from_millis(200), 10)
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    let again = outbox::claim(&db.pool, "relay-b", Duration::from_secs(30), 10)
        .await
        .unwrap();
    assert!(again.is_empty(), "a leased event is not claimed twice");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = outbox::claim(&db.pool, "relay-b", Duration::from_secs(30), 10)
        .await
        .unwrap();
    assert_eq!(second.len(), 1, "an expired lease is taken over");
    assert!(second[0].fencing > first[0].fencing);
    let stale = &first[0];
    assert!(
        !outbox::mark_delivered(&db.pool, stale.lease(), "audit")
            .await
            .unwrap()
    );
    assert!(
        !outbox::mark_published(&db.pool, stale.lease())
            .await
            .unwrap()
    );
    let fresh = &second[0];
    assert!(
        outbox::mark_published(&db.pool, fresh.lease())
            .await
            .unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_wakes_a_listening_relay_long_before_its_next_poll() {
    let db = TestDb::migrated().await;
    let mut slow = settings();
    slow.poll_interval = Duration::from_secs(120);
    let relay = Relay::new(
        db.pool.clone(),
        Some(db.options.clone()),
        vec![Arc::new(AuditConsumer::new(db.pool.clone()))],
        slow,
    );
    let (stop, stop_rx) = watch::channel(false);
    let task = tokio::spawn(relay.run(stop_rx));
    // Let the relay's first (empty) round and its LISTEN happen.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let txn = Tx::begin_on(&db.db).await.unwrap();
    outbox::append(&txn, event(9)).await.unwrap();
    txn.commit().await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while count(&db, "SELECT count(*) FROM audit.events").await == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the NOTIFY wake-up did not arrive; the relay would have waited for its 120 s poll"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.send(true).unwrap();
    task.await.unwrap().unwrap();
}
