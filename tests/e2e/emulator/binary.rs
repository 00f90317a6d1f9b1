//! Purpose: the standalone emulator's contract: its first stdout line is one JSON object with
//! the addresses, CA path and fixture ids, and both serenity (TLS) and a plain-HTTP client can
//! use what it describes. Tests the library function the binary runs, and the binary itself
//! when it has been built (`cargo build -p discord-emulator`).

use std::io::BufRead as _;
use std::process::{Command, Stdio};

use discord_emulator::{StandaloneOptions, run_standalone};
use serde_json::Value;
use serenity::all::GuildId;

use super::harness::*;

fn check_info(info: &Value) {
    for key in [
        "http",
        "gateway",
        "tls",
        "ca_cert",
        "bot_token",
        "application_id",
        "guild_id",
        "owner_id",
    ] {
        assert!(info[key].is_string(), "{key} missing from {info}");
    }
    assert!(
        info["http"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    assert!(
        info["gateway"]
            .as_str()
            .unwrap()
            .starts_with("ws://127.0.0.1:")
    );
    let pem = std::fs::read_to_string(info["ca_cert"].as_str().unwrap()).unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
}

#[tokio::test]
async fn run_standalone_describes_an_emulator_that_serenity_and_plain_http_clients_can_use() {
    let (emu, fixture, info) = run_standalone(&StandaloneOptions::default()).await.unwrap();
    check_info(&info);
    let fixture = fixture.unwrap();
    assert_eq!(info["guild_id"], fixture.guild_id.to_string());
    // A discord.js-style client: plain HTTP base URL.
    let rest = Rest::bot(&emu, info["bot_token"].as_str().unwrap())
        .with_base(&format!("{}/api", info["http"].as_str().unwrap()));
    assert_eq!(
        rest.get(&format!(
            "/v10/guilds/{}",
            info["guild_id"].as_str().unwrap()
        ))
        .await
        .status,
        200
    );
    // serenity: TLS address + CA from the JSON line.
    let ca = reqwest::Certificate::from_pem(
        std::fs::read(info["ca_cert"].as_str().unwrap())
            .unwrap()
            .as_slice(),
    )
    .unwrap();
    let client = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(ca)
        .resolve(
            "discord.com",
            info["tls"].as_str().unwrap().parse().unwrap(),
        )
        .build()
        .unwrap();
    let http = serenity::http::HttpBuilder::new(info["bot_token"].as_str().unwrap())
        .client(client)
        .build();
    let guild = http
        .get_guild(GuildId::new(fixture.guild_id))
        .await
        .unwrap();
    assert_eq!(guild.name, "Small Fixture");
    assert_eq!(
        http.get_gateway().await.unwrap().url,
        info["gateway"].as_str().unwrap()
    );
    emu.shutdown();
}

#[tokio::test]
async fn the_built_binary_prints_the_json_line_first_and_serves_until_killed() {
    let exe = std::env::current_exe().unwrap();
    let Some(bin) = exe
        .ancestors()
        .nth(2)
        .map(|d| d.join("discord-emulator"))
        .filter(|p| p.exists())
    else {
        eprintln!(
            "target/debug/discord-emulator is not built; run `cargo build -p discord-emulator` (run_standalone is tested above)"
        );
        return;
    };
    let mut child = Command::new(bin)
        .args(["--port", "0", "--fixture", "small"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .map(|_| line)
    })
    .await
    .unwrap()
    .unwrap();
    let info: Value = serde_json::from_str(&line)
        .unwrap_or_else(|e| panic!("first line is not JSON ({e}): {line}"));
    check_info(&info);
    let resp = reqwest::Client::new()
        .get(format!(
            "{}/api/v10/gateway/bot",
            info["http"].as_str().unwrap()
        ))
        .header(
            "Authorization",
            format!("Bot {}", info["bot_token"].as_str().unwrap()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    child.kill().unwrap();
    let _ = child.wait();
}

#[tokio::test]
async fn the_http_control_api_acts_as_users_inspects_state_and_diffs() {
    let (emu, fixture, info) = run_standalone(&StandaloneOptions {
        rate_limits: "unlimited".into(),
        ..StandaloneOptions::default()
    })
    .await
    .unwrap();
    let f = fixture.unwrap();
    let base = info["http"].as_str().unwrap().to_string();
    let http = reqwest::Client::new();
    let get = |path: String| {
        let http = http.clone();
        let base = base.clone();
        async move {
            http.get(format!("{base}{path}"))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let post = |path: &str, body: Value| {
        let req = http.post(format!("{base}{path}")).json(&body);
        async move {
            let r = req.send().await.unwrap();
            (
                r.status().as_u16(),
                r.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let before = get(format!("/_emulator/guilds/{}", f.guild_id)).await;
    let (status, _) = post("/_emulator/act", serde_json::json!({ "user_id": f.rogue_admin_id.to_string(), "action": "delete_channel", "channel_id": f.channel_ids[1].to_string(), "reason": "nuke" })).await;
    assert_eq!(status, 200);
    let (status, err) = post("/_emulator/act", serde_json::json!({ "user_id": f.rogue_admin_id.to_string(), "action": "ban", "guild_id": f.guild_id.to_string(), "target_id": f.owner_id.to_string() })).await;
    assert_eq!(
        (status, err["code"].as_u64()),
        (403, Some(50013)),
        "same rules as REST"
    );
    let after = get(format!("/_emulator/guilds/{}", f.guild_id)).await;
    let (_, diff) = post(
        "/_emulator/diff",
        serde_json::json!({ "before": before, "after": after, "options": { "ignore_ids": true } }),
    )
    .await;
    let paths: Vec<&str> = diff
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["path"].as_str().unwrap())
        .collect();
    assert!(
        paths.iter().any(|p| p.starts_with("channels[")),
        "{paths:?}"
    );
    let audit = get(format!("/_emulator/guilds/{}/audit-log", f.guild_id)).await;
    assert_eq!(audit[0]["reason"], "nuke");
    let (status, fx) = post(
        "/_emulator/fixtures",
        serde_json::json!({ "spec": { "seed": 9, "members": 3, "guild_name": "Second" } }),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(fx["member_ids"].as_array().unwrap().len(), 3);
    // No bot is connected: the interaction is created and never answered.
    let (status, inv) = post("/_emulator/interactions/command", serde_json::json!({ "user_id": f.owner_id.to_string(), "guild_id": f.guild_id.to_string(), "command": "nothing" })).await;
    assert_eq!(
        (status, inv["code"].as_u64()),
        (404, Some(10063)),
        "unknown command"
    );
    let reqs = get("/_emulator/requests".to_string()).await;
    assert!(reqs.as_array().unwrap().is_empty() || reqs[0]["received_ms"].is_number());
    emu.shutdown();
}
