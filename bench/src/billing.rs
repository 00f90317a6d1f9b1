//! Purpose: the `billing` benchmark scenario — 10,000 subscriptions due at once, renewed by
//! Umbra's renewal worker against the Toss emulator (one owner's card paying for 10,000
//! servers; every charge a real HTTP call with its idempotency key, its attempt row written
//! before and settled after).
//!
//! Last line: `{"subscriptions", "renewals_per_s", "seconds", "duplicates", "failed",
//! "peak_rss_mb"}`. `duplicates`: orders Toss charged more than once plus periods paid twice
//! (must be 0). Target: >= 100 renewals/s with 0 duplicates.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::json;
use toss_emulator::{TossConfig, TossEmulator};
use umbra::config::{Config, Secret, Secrets};
use umbra::identity::LoginProfile;

const SUBSCRIPTIONS: i64 = 10_000;
const PATIENCE: Duration = Duration::from_secs(900);

pub async fn run() -> anyhow::Result<serde_json::Value> {
    let mut config = Config::default();
    config.log.level = "error".into();
    config.notification.sender_enabled = false;
    let db = super::database(&mut config).await?;
    let result = scenario(&mut config).await;
    super::drop_database(db).await;
    result
}

async fn scenario(config: &mut Config) -> anyhow::Result<serde_json::Value> {
    let toss = TossEmulator::start(TossConfig::default()).await?;
    config.http.bind = "127.0.0.1:0".parse()?;
    config.billing.provider = "toss".into();
    config.billing.toss.client_key = toss.client_key().to_owned();
    config.billing.toss.api_url = toss.base_url();
    config.billing.toss.sdk_url = toss.sdk_url();
    config.billing.renewal_poll_seconds = 1;
    let secrets = Secrets {
        toss_security_key: None,
        discord_token: None,
        secret_key: Some(Secret::new(umbra::discord::oauth::random_key())),
        client_secret: Some(Secret::new("bench".into())),
        toss_secret_key: Some(Secret::new(toss.secret_key().to_owned())),
    };
    let running = umbra::app::start(config, &secrets).await?;
    let data = running.data.clone();
    let billing = data.billing.clone().context("billing is on")?;
    let (_, session) = data
        .identity
        .login(
            &LoginProfile {
                discord_id: 1_000_000_000_000_001,
                username: "owner".into(),
                global_name: None,
                avatar: None,
                locale: None,
            },
            Duration::from_secs(3600),
        )
        .await?;
    let user = session.user.id;
    let customer = umbra::billing::BillingService::new_customer_key();
    let auth = toss.issue_auth_key(&customer.to_string(), "4330123412341234");
    billing.register_card(user, customer, &auth).await?;
    let pool = sqlx::PgPool::connect(&config.database.url).await?;
    // 10,000 servers of one owner, each subscribed to Pro, its current period paid and over.
    sqlx::query(
        "INSERT INTO guild.guilds (id, discord_guild_id, owner_user_id, name) \
         SELECT gen_random_uuid(), 2000000000000000000 + i, $1, 'Bench ' || i \
           FROM generate_series(1, $2) AS i",
    )
    .bind(user)
    .bind(SUBSCRIPTIONS)
    .execute(&pool)
    .await
    .context("servers")?;
    sqlx::query(
        "INSERT INTO billing.subscriptions \
           (id, user_id, guild_id, plan_id, billing_key_id, status, price_krw, \
            current_period_start, current_period_end, next_charge_at) \
         SELECT gen_random_uuid(), $1, g.id, p.id, k.id, 'active', p.price_krw, \
                now() - interval '31 days', now() - interval '1 day', now() + interval '1 hour' \
           FROM guild.guilds AS g, licensing.plans AS p, billing.billing_keys AS k \
          WHERE g.owner_user_id = $1 AND p.code = 'pro' AND k.user_id = $1 AND k.status = 'active'",
    )
    .bind(user)
    .execute(&pool)
    .await
    .context("subscriptions")?;
    sqlx::query(
        "INSERT INTO billing.payment_attempts \
           (id, subscription_id, order_id, idempotency_key, amount_krw, period_start, attempt_no, \
            status, payment_key, completed_at) \
         SELECT gen_random_uuid(), s.id, 'bench-' || s.id, 'bench-' || s.id, s.price_krw, \
                s.current_period_start, 1, 'done', 'bench-pk-' || s.id, now() \
           FROM billing.subscriptions AS s",
    )
    .execute(&pool)
    .await
    .context("paid periods")?;
    // All due at once.
    let started = Instant::now();
    sqlx::query("UPDATE billing.subscriptions SET next_charge_at = now()")
        .execute(&pool)
        .await?;
    billing.wake();
    let deadline = Instant::now() + PATIENCE;
    loop {
        let renewed: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM billing.subscriptions WHERE next_charge_at > now() + interval '1 day'",
        )
        .fetch_one(&pool)
        .await?;
        let failed: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM billing.payment_attempts WHERE status = 'failed'",
        )
        .fetch_one(&pool)
        .await?;
        if renewed + failed >= SUBSCRIPTIONS {
            break;
        }
        if Instant::now() > deadline {
            bail!("only {renewed} of {SUBSCRIPTIONS} renewed within {PATIENCE:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let mut per_order: HashMap<String, u32> = HashMap::new();
    for p in toss.payments().iter().filter(|p| p.status == "DONE") {
        *per_order.entry(p.order_id.clone()).or_default() += 1;
    }
    let charged_twice = per_order.values().filter(|n| **n > 1).count() as i64;
    let paid_twice: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT subscription_id, period_start FROM billing.payment_attempts \
          WHERE status = 'done' GROUP BY 1, 2 HAVING count(*) > 1) AS d",
    )
    .fetch_one(&pool)
    .await?;
    let failed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM billing.payment_attempts WHERE status = 'failed'")
            .fetch_one(&pool)
            .await?;
    pool.close().await;
    running.shutdown().await?;
    toss.shutdown();
    Ok(json!({
        "subscriptions": SUBSCRIPTIONS,
        "renewals_per_s": ((SUBSCRIPTIONS as f64 / seconds) * 10.0).round() / 10.0,
        "seconds": (seconds * 100.0).round() / 100.0,
        "duplicates": charged_twice + paid_twice,
        "failed": failed,
        "peak_rss_mb": super::peak_rss_mb(),
    }))
}
