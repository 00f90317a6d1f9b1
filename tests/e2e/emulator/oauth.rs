//! Purpose: OAuth2 like Discord: authorization codes with PKCE S256, single-use refresh
//! tokens, revocation, Bearer identity, and member re-join with `guilds.join`
//! (201 added / 204 already a member / 40007 banned / 30001 at the guild limit).

use discord_emulator::{EmulatorConfig, FixtureSpec};
use serde_json::{Value, json};

use super::harness::*;

fn pkce(verifier: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()))
}

async fn token_call(
    emu: &discord_emulator::Emulator,
    basic: Option<(&str, &str)>,
    form: &str,
) -> (u16, Value) {
    use base64::Engine;
    let mut req = reqwest::Client::new()
        .post(format!("{}/oauth2/token", emu.api_base()))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form.to_string());
    if let Some((id, secret)) = basic {
        req = req.header(
            "Authorization",
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
            ),
        );
    }
    let resp = req.send().await.unwrap();
    (
        resp.status().as_u16(),
        resp.json().await.unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn the_authorization_code_flow_checks_pkce_and_refresh_tokens_are_single_use() {
    let emu = start().await;
    let f = emu.build_fixture(&FixtureSpec::small());
    let user = f.member_ids[0];
    let verifier = "a-very-long-code-verifier-of-more-than-forty-three-characters-1234";
    let url = format!(
        "{}/oauth2/authorize?response_type=code&client_id={}&scope=identify%20guilds.join&state=xyz&redirect_uri=http%3A%2F%2Flocalhost%3A9%2Fcb&code_challenge={}&code_challenge_method=S256&emulator_user={user}",
        emu.http_base(),
        f.app.client_id,
        pkce(verifier)
    );
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = no_redirect.get(url).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 302);
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    assert!(
        location.starts_with("http://localhost:9/cb?code="),
        "{location}"
    );
    assert!(location.ends_with("&state=xyz"));
    let code = location
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_string();

    let creds = (f.app.client_id.to_string(), f.app.client_secret.clone());
    let basic = Some((creds.0.as_str(), creds.1.as_str()));
    let form = |v: &str| {
        format!(
            "grant_type=authorization_code&code={code}&redirect_uri=http%3A%2F%2Flocalhost%3A9%2Fcb&code_verifier={v}"
        )
    };
    let (status, body) = token_call(
        &emu,
        basic,
        &form("wrong-verifier-wrong-verifier-wrong-verifier-wrong"),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, _) = token_call(&emu, basic, &form(verifier)).await;
    assert_eq!(status, 400, "a code is spent even by a failed exchange");

    let code = emu
        .authorize(
            user,
            f.app.client_id,
            "http://localhost:9/cb",
            &["identify", "guilds.join"],
            Some(&pkce(verifier)),
        )
        .unwrap();
    let (status, tokens) = token_call(&emu, basic, &format!("grant_type=authorization_code&code={code}&redirect_uri=http%3A%2F%2Flocalhost%3A9%2Fcb&code_verifier={verifier}")).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 604_800);
    assert_eq!(tokens["scope"], "identify guilds.join");
    let me = Rest::bearer(&emu, tokens["access_token"].as_str().unwrap())
        .get("/users/@me")
        .await;
    assert_eq!(me.json()["id"], user.to_string());
    assert!(me.json()["email"].is_null(), "no email scope");

    let refresh = tokens["refresh_token"].as_str().unwrap();
    let refresh_form = format!(
        "grant_type=refresh_token&refresh_token={refresh}&client_id={}&client_secret={}",
        f.app.client_id, f.app.client_secret
    );
    let (status, renewed) = token_call(&emu, None, &refresh_form).await;
    assert_eq!(status, 200);
    assert_ne!(renewed["refresh_token"], tokens["refresh_token"]);
    let (status, body) = token_call(&emu, None, &refresh_form).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "refresh tokens are single use"
    );
    let (status, _) = token_call(&emu, Some((creds.0.as_str(), "wrong")), &refresh_form).await;
    assert_eq!(status, 401);

    let access = renewed["access_token"].as_str().unwrap();
    let revoke = reqwest::Client::new()
        .post(format!("{}/oauth2/token/revoke", emu.api_base()))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("token={access}&token_type_hint=access_token"))
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status().as_u16(), 200);
    assert_eq!(
        Rest::bearer(&emu, access).get("/users/@me").await.status,
        401
    );
    assert_all_shapes(&emu);
}

#[tokio::test]
async fn the_authorize_page_lets_a_browser_pick_the_user() {
    let emu = start().await;
    let f = emu.build_fixture(&FixtureSpec::small());
    let html = reqwest::get(format!("{}/oauth2/authorize?client_id={}&scope=identify&redirect_uri=http%3A%2F%2Flocalhost%2Fcb&response_type=code", emu.http_base(), f.app.client_id))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Authorize as Guild Owner"), "{html}");
    emu.set_oauth_user(Some(f.owner_id));
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = no_redirect
        .get(format!("{}/oauth2/authorize?client_id={}&scope=identify&redirect_uri=http%3A%2F%2Flocalhost%2Fcb&response_type=code", emu.http_base(), f.app.client_id))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status().as_u16(),
        302,
        "auto-approved as the chosen user"
    );
}

#[tokio::test]
async fn members_rejoin_with_a_guilds_join_token_as_discord_answers() {
    let emu = start_with(EmulatorConfig {
        max_guilds_per_user: 3,
        ..EmulatorConfig::unlimited()
    })
    .await;
    let f = emu.build_fixture(&FixtureSpec::small());
    let bot = Rest::bot(&emu, &f.app.bot_token);
    let (g, u) = (f.guild_id, f.member_ids[0]);
    emu.as_user(f.owner_id).kick(g, u).unwrap();
    let tokens = oauth_tokens(&emu, &f.app, u, &["identify", "guilds.join"]).await;
    let access = tokens["access_token"].as_str().unwrap();
    let r = bot
        .put(
            &format!("/guilds/{g}/members/{u}"),
            json!({ "access_token": access, "roles": [f.role_ids[0].to_string()], "nick": "Back" }),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.json()["nick"], "Back");
    assert_eq!(r.json()["roles"], json!([f.role_ids[0].to_string()]));
    assert_eq!(
        bot.put(
            &format!("/guilds/{g}/members/{u}"),
            json!({ "access_token": access })
        )
        .await
        .status,
        204
    );

    let identify_only = oauth_tokens(&emu, &f.app, f.member_ids[1], &["identify"]).await;
    emu.as_user(f.owner_id).kick(g, f.member_ids[1]).unwrap();
    let r = bot
        .put(
            &format!("/guilds/{g}/members/{}", f.member_ids[1]),
            json!({ "access_token": identify_only["access_token"] }),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (403, 50025),
        "guilds.join is required"
    );
    let r = bot
        .put(
            &format!("/guilds/{g}/members/{}", f.member_ids[2]),
            json!({ "access_token": access }),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (403, 50025),
        "the token belongs to another user"
    );

    let banned = f.member_ids[3];
    emu.as_user(f.owner_id).ban(g, banned).unwrap();
    let t = oauth_tokens(&emu, &f.app, banned, &["guilds.join"]).await;
    let r = bot
        .put(
            &format!("/guilds/{g}/members/{banned}"),
            json!({ "access_token": t["access_token"] }),
        )
        .await;
    assert_eq!((r.status, r.code()), (403, 40007));

    // A user already in the maximum number of guilds.
    let busy = f.member_ids[4];
    emu.as_user(f.owner_id).kick(g, busy).unwrap();
    for i in 0..3 {
        let other = emu.create_guild(f.owner_id, &format!("g{i}"));
        emu.add_member(other, busy).unwrap();
    }
    let t = oauth_tokens(&emu, &f.app, busy, &["guilds.join"]).await;
    let r = bot
        .put(
            &format!("/guilds/{g}/members/{busy}"),
            json!({ "access_token": t["access_token"] }),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, 30001));
    assert_all_shapes(&emu);
}
