//! Purpose: the HTTP server of a running Umbra — `/healthz` follows the database (200 / 503),
//! `/metrics` speaks Prometheus text.

use std::time::Duration;

use umbra::config::{Config, Secrets};

use crate::support::db::TestDb;

pub fn config_for(db: &TestDb) -> Config {
    let mut config = Config::default();
    config.database.url = db.url.clone();
    config.http.bind = "127.0.0.1:0".parse().unwrap();
    config.outbox.poll_interval_ms = 50;
    config
}

/// No Discord token: `app::start` runs the database, HTTP server and workers without a gateway.
pub fn secrets() -> Secrets {
    Secrets {
        toss_security_key: None,
        discord_token: None,
        secret_key: None,
        client_secret: None,
        toss_secret_key: None,
    }
}

async fn get(url: &str) -> (u16, String) {
    let response = reqwest::get(url).await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_follows_the_database_and_metrics_speak_prometheus() {
    let db = TestDb::empty().await;
    let running = umbra::app::start(&config_for(&db), &secrets())
        .await
        .unwrap();
    let base = format!("http://{}", running.http_addr);

    assert_eq!(get(&format!("{base}/healthz")).await, (200, "ok\n".into()));
    let (status, body) = get(&format!("{base}/metrics")).await;
    assert_eq!(status, 200);
    assert!(body.contains("umbra_outbox_pending"), "{body}");
    assert!(
        body.contains(r#"umbra_queue_items{queue="restore",state="waiting"} 0"#),
        "{body}"
    );

    // Take the database away: no new connections, existing ones terminated.
    let admin = crate::support::db::admin_options().await;
    let mut conn = sqlx::ConnectOptions::connect(&admin).await.unwrap();
    for sql in [
        format!("ALTER DATABASE {} ALLOW_CONNECTIONS false", db.name),
        format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}'",
            db.name
        ),
    ] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let mut unhealthy = false;
    for _ in 0..50 {
        if get(&format!("{base}/healthz")).await.0 == 503 {
            unhealthy = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        unhealthy,
        "healthz reports 503 while the database is unreachable"
    );

    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "ALTER DATABASE {} ALLOW_CONNECTIONS true",
        db.name
    )))
    .execute(&mut conn)
    .await
    .unwrap();
    let mut healthy = false;
    for _ in 0..100 {
        if get(&format!("{base}/healthz")).await.0 == 200 {
            healthy = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(healthy, "healthz recovers with the database");
    running.shutdown().await.unwrap();
}
