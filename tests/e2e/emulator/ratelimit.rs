//! Purpose: Discord-shaped rate limits: bucket headers, per-route and global 429s with
//! Retry-After and scope, the role-creation budget compressed by the time scale, and a real
//! serenity rate limiter that is retried on 429 and paced by the headers.

use std::time::{Duration, Instant};

use discord_emulator::{BucketRule, EmulatorConfig, FixtureSpec, RateLimitConfig};
use serde_json::json;
use serenity::all::{EditRole, GuildId};

use super::harness::*;

fn recorded(mut config: EmulatorConfig) -> EmulatorConfig {
    config.record_responses = true;
    config
}

#[tokio::test]
async fn bucket_headers_count_down_and_the_next_request_gets_429_with_retry_after_and_user_scope() {
    let emu = start_with(recorded(EmulatorConfig::default())).await;
    let f = emu.build_fixture(&FixtureSpec::small());
    let bot = Rest::bot(&emu, &f.app.bot_token);
    let path = format!("/guilds/{}/roles", f.guild_id);
    let mut bucket = None;
    for i in 0..10 {
        let r = bot.post(&path, json!({ "name": format!("r{i}") })).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(r.header("x-ratelimit-limit").as_deref(), Some("10"));
        assert_eq!(
            r.header("x-ratelimit-remaining").unwrap(),
            (9 - i).to_string()
        );
        let after: f64 = r
            .header("x-ratelimit-reset-after")
            .unwrap()
            .parse()
            .unwrap();
        assert!(after > 0.0 && after <= 10.0, "{after}");
        let reset: f64 = r.header("x-ratelimit-reset").unwrap().parse().unwrap();
        assert!(reset > 1.6e9);
        let b = r.header("x-ratelimit-bucket").unwrap();
        assert_eq!(
            bucket.get_or_insert(b.clone()),
            &b,
            "one bucket for one route and guild"
        );
    }
    let r = bot.post(&path, json!({ "name": "one too many" })).await;
    assert_eq!(r.status, 429);
    let retry: f64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!(retry > 0.0 && retry <= 10.0);
    assert_eq!(r.header("x-ratelimit-scope").as_deref(), Some("user"));
    assert_eq!(r.header("x-ratelimit-global"), None);
    assert_eq!(r.json()["global"], false);
    assert_eq!(r.json()["code"], 0);
    assert!(r.json()["retry_after"].as_f64().unwrap() > 0.0);
    assert_eq!(
        emu.guild_view(f.guild_id)
            .unwrap()
            .roles
            .iter()
            .filter(|r| r.name == "one too many")
            .count(),
        0
    );
    // Another guild's bucket is untouched; so is another route.
    assert_eq!(bot.get(&path).await.status, 200);
    let c = emu.counters();
    let route = c.route("POST", "/guilds/{guild_id}/roles");
    assert_eq!((route.requests, route.rate_limited), (11, 1));
    assert_eq!(c.by_bucket["role_create"].rate_limited, 1);
    assert_responses_match_spec(&emu);
}

#[tokio::test]
async fn the_global_limit_of_50_per_second_answers_429_with_the_global_scope() {
    let emu = start_with(recorded(EmulatorConfig::default())).await;
    let f = emu.build_fixture(&FixtureSpec::small());
    let bot = Rest::bot(&emu, &f.app.bot_token);
    let mut statuses = Vec::new();
    let started = Instant::now();
    for i in 0..51 {
        let path = if i % 2 == 0 {
            format!("/guilds/{}", f.guild_id)
        } else {
            "/users/@me".to_string()
        };
        statuses.push(bot.get(&path).await);
    }
    if started.elapsed() < Duration::from_millis(900) {
        let last = statuses.last().unwrap();
        assert_eq!(last.status, 429, "51 requests inside one second");
        assert_eq!(last.header("x-ratelimit-global").as_deref(), Some("true"));
        assert_eq!(last.header("x-ratelimit-scope").as_deref(), Some("global"));
        assert_eq!(last.json()["global"], true);
        assert!(statuses[..50].iter().all(|r| r.status == 200));
        assert_eq!(emu.counters().by_bucket["global"].rate_limited, 1);
    }
    // Another token has its own global budget.
    let other = emu.create_application("Other", Default::default());
    assert_eq!(
        Rest::bot(&emu, &other.bot_token)
            .get("/users/@me")
            .await
            .status,
        200
    );
    assert_responses_match_spec(&emu);
}

#[tokio::test]
async fn the_role_creation_budget_refuses_the_251st_role_in_48_hours_and_the_time_scale_compresses_the_window()
 {
    // 48 h become 2 s.
    let config = EmulatorConfig {
        time_scale: 48.0 * 3600.0 / 2.0,
        ..recorded(EmulatorConfig::default())
    };
    let emu = start_with(config).await;
    let app = emu.create_application("Umbra", discord_emulator::ApplicationOptions::privileged());
    let owner = emu.create_user("owner");
    let g = emu.create_guild(owner, "Budget");
    emu.add_bot(
        g,
        app.application_id,
        discord_emulator::permissions::ADMINISTRATOR,
        owner,
    )
    .unwrap();
    let actor = emu.as_user(owner);
    let mut ids = Vec::new();
    for i in 0..249 {
        ids.push(
            actor
                .create_role(g, json!({ "name": format!("r{i}") }))
                .unwrap(),
        );
    }
    for id in &ids[..10] {
        actor.delete_role(g, *id).unwrap();
    }
    // The bot's managed role was not created through the budget: one more is allowed.
    let bot = Rest::bot(&emu, &app.bot_token);
    let path = format!("/guilds/{g}/roles");
    assert_eq!(
        bot.post(&path, json!({ "name": "250th" })).await.status,
        200
    );
    let r = bot.post(&path, json!({ "name": "251st" })).await;
    assert_eq!(r.status, 429, "{:?}", r.body);
    let retry: f64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!(
        retry <= 2.0,
        "the 48 h window is scaled to 2 s, got {retry}"
    );
    assert_eq!(
        emu.guild_view(g).unwrap().roles.len(),
        242,
        "no role was created"
    );
    tokio::time::sleep(Duration::from_secs_f64(retry + 0.05)).await;
    assert_eq!(
        bot.post(&path, json!({ "name": "after the window" }))
            .await
            .status,
        200
    );
    assert_responses_match_spec(&emu);
}

fn tiny_limits() -> RateLimitConfig {
    let mut rl = RateLimitConfig::discord();
    rl.global_per_second = None;
    rl.rules.insert(
        0,
        BucketRule {
            name: "role_create".into(),
            methods: vec!["POST".into()],
            routes: vec!["/guilds/{guild_id}/roles".into()],
            major: Some("guild_id".into()),
            limit: 2,
            window: Duration::from_secs(1),
            source: "test".into(),
        },
    );
    rl
}

#[tokio::test]
async fn serenity_retries_a_request_that_got_429_and_every_call_succeeds() {
    let emu = start_with(recorded(EmulatorConfig {
        rate_limits: tiny_limits(),
        ..EmulatorConfig::default()
    }))
    .await;
    let f = emu.build_fixture(&FixtureSpec::small());
    let http = std::sync::Arc::new(serenity_http(&emu, &f.app.bot_token));
    let g = GuildId::new(f.guild_id);
    let mut tasks = Vec::new();
    for i in 0..3 {
        let http = http.clone();
        tasks.push(tokio::spawn(async move {
            g.create_role(&*http, EditRole::new().name(format!("c{i}")))
                .await
        }));
    }
    for t in tasks {
        t.await.unwrap().expect("serenity retried and succeeded");
    }
    let route = emu.counters().route("POST", "/guilds/{guild_id}/roles");
    assert!(
        route.rate_limited >= 1,
        "three concurrent requests into a bucket of two: {route:?}"
    );
    assert_eq!(
        route.requests,
        3 + route.rate_limited,
        "every 429 was retried exactly once"
    );
    assert_responses_match_spec(&emu);
}

#[tokio::test]
async fn serenity_waits_out_a_global_429_and_retries() {
    let mut rl = RateLimitConfig::discord();
    rl.global_per_second = Some(2);
    let emu = start_with(recorded(EmulatorConfig {
        rate_limits: rl,
        ..EmulatorConfig::default()
    }))
    .await;
    let f = emu.build_fixture(&FixtureSpec::small());
    let http = std::sync::Arc::new(serenity_http(&emu, &f.app.bot_token));
    let g = GuildId::new(f.guild_id);
    let (a, b, c) = tokio::join!(
        http.get_current_user(),
        http.get_guild(g),
        http.get_guild_roles(g)
    );
    a.unwrap();
    b.unwrap();
    c.unwrap();
    let global = emu
        .counters()
        .by_bucket
        .get("global")
        .copied()
        .unwrap_or_default();
    assert!(
        global.rate_limited >= 1,
        "three requests against a global limit of 2/s"
    );
}

#[tokio::test]
async fn serenity_paced_by_the_headers_never_hits_429_and_cannot_beat_the_theoretical_minimum() {
    // 10 role creations per second (10 s scaled by 10).
    let config = EmulatorConfig {
        time_scale: 10.0,
        ..recorded(EmulatorConfig::default())
    };
    let emu = start_with(config).await;
    let f = emu.build_fixture(&FixtureSpec::small());
    let http = serenity_http(&emu, &f.app.bot_token);
    let g = GuildId::new(f.guild_id);
    let calls: Vec<(&str, &str, String)> = (0..21)
        .map(|_| ("POST", "/guilds/{guild_id}/roles", f.guild_id.to_string()))
        .collect();
    let floor = emu.rate_limit_config().theoretical_minimum(
        calls.iter().map(|(m, r, g)| (*m, *r, g.as_str())),
        emu.config().time_scale,
    );
    assert_eq!(floor, Duration::from_secs(2));
    let started = Instant::now();
    for i in 0..21 {
        g.create_role(&http, EditRole::new().name(format!("paced {i}")))
            .await
            .unwrap();
    }
    let took = started.elapsed();
    assert!(
        took + Duration::from_millis(150) >= floor,
        "took {took:?}, floor {floor:?}"
    );
    // No upper bound: a slow machine is not a failure (benchmarks measure speed).
    assert_eq!(
        emu.counters().total.rate_limited,
        0,
        "serenity's limiter read the headers"
    );
}
